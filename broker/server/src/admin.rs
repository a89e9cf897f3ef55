//! `--admin-bind`: a second, plain-HTTP listener that answers only the admin routes (`/health`,
//! `/ready`, `/metrics`, `POST /admin/checkpoint`), so probes and scrapes can live on a port
//! that is not exposed to clients. The main port keeps answering them too.
//!
//! HTTP/1.1 only, no authentication (like the admin routes of the main port), a connection
//! bound ([`MAX_ADMIN_CONNECTIONS`]) and the same header timeout; it stops accepting when the
//! server shuts down.

use std::future::Future;
use std::sync::Arc;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::warn;

use crate::app::App;
use crate::dispatch::{admin_response, classify, text_response, RequestHead, ResponseBody};

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
        let stream = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    warn!(error = %e, "admin accept failed");
                    continue;
                }
            },
        };
        let app = app.clone();
        tokio::spawn(async move {
            let header_timeout = app.settings.header_read_timeout;
            let service = service_fn(move |req: Request<Incoming>| {
                let app = app.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(&app, &req)) }
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

/// Answers one admin request; everything that is not an admin route is 404.
fn handle<B>(app: &App, req: &Request<B>) -> Response<ResponseBody> {
    let head = RequestHead {
        method: req.method(),
        path: req.uri().path(),
        query: req.uri().query(),
        headers: req.headers(),
    };
    admin_response(app, &classify(head, &[])).unwrap_or_else(|| {
        text_response(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "the admin port serves /health, /ready, /metrics and POST /admin/checkpoint".into(),
        )
    })
}
