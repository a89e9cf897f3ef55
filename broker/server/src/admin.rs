//! `--admin-bind`: a second, plain-HTTP listener that answers only the admin routes (`/health`,
//! `/ready`, `/metrics`, `POST /admin/checkpoint`) and the console (`/console`), so probes,
//! scrapes and operators can live on a port that is not exposed to clients. The main port keeps
//! answering them too.
//!
//! HTTP/1.1 only, no authentication (the port is meant for the operator's network only; on the
//! main port `POST /admin/checkpoint` needs a signed, authorized key under `--auth verify`), a
//! connection bound ([`MAX_ADMIN_CONNECTIONS`]), the same header timeout and the same pause
//! after a failed accept as the main listener; it stops accepting when the server shuts down.

use std::future::Future;
use std::sync::Arc;

use crate::app::App;
use crate::dispatch::{admin_response, classify, RequestHead, Route};
use crate::listener;
use crate::wire::{text_response, ResponseBody};
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Probes and scrapers need few connections.
pub const MAX_ADMIN_CONNECTIONS: usize = 64;

/// Serves admin routes on `listener` until `shutdown` resolves.
pub async fn serve(listener: TcpListener, app: Arc<App>, shutdown: impl Future<Output = ()>) {
    let limit = Arc::new(Semaphore::new(MAX_ADMIN_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => return,
            permit = limit.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        // The same pause after a failed accept as the API listener, or an error such as
        // EMFILE, which lasts until connections close, would spin this loop.
        let (stream, _peer) = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener::accept_with_backoff("admin", || listener.accept()) => accepted,
        };
        let app = app.clone();
        tokio::spawn(async move {
            let header_timeout = app.settings.header_read_timeout;
            let service = service_fn(move |req: Request<Incoming>| {
                let app = app.clone();
                async move {
                    if crate::console::is_console_path(req.uri().path()) {
                        return Ok::<_, std::convert::Infallible>(crate::dispatch::handle(&app, req).await);
                    }
                    // Only the route crosses the await, not the request and its body.
                    let route = route_of(&req);
                    drop(req);
                    Ok(handle(&app, &route).await)
                }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout);
            let _ = builder.serve_connection(TokioIo::new(stream), service).await;
            drop(permit);
        });
    }
}

/// Where an admin-port request goes (its body is never read).
fn route_of<B>(req: &Request<B>) -> Route {
    let head = RequestHead {
        method: req.method(),
        path: req.uri().path(),
        query: req.uri().query(),
        headers: req.headers(),
    };
    classify(head, &[])
}

/// Answers one admin request; everything that is not an admin route is 404. This port is the
/// operator's (keep it off client networks): its checkpoint needs no signature, unlike the API
/// port's under `--auth verify`.
async fn handle(app: &App, route: &Route) -> Response<ResponseBody> {
    admin_response(app, route).await.unwrap_or_else(|| {
        text_response(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "the admin port serves /health, /ready, /metrics, POST /admin/checkpoint and /console",
        )
    })
}
