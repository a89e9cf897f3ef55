//! The TCP listener: HTTP/1.1 keep-alive and cleartext HTTP/2 (h2c, prior knowledge) on one
//! port, bounded and drainable.
//!
//! # Layout
//! - [`bind`]: binds the socket (a separate step so start-up can report "port in use" and the
//!   real address when the port is 0).
//! - [`serve`]: the accept loop. A semaphore bounds open connections (`--max-connections`);
//!   each connection is a task in a `JoinSet` so that none outlives the drain deadline.
//! - [`accept_with_backoff`]: one accept, pausing after failures; shared with the admin
//!   listener ([`crate::admin`]) so neither spins on a persistent accept error.
//!
//! # Shutdown (CONTRIBUTING.md, style rule 4)
//! When `shutdown` resolves: stop accepting, mark the app not ready, ask every connection to
//! finish gracefully (HTTP/1: close after the in-flight request; HTTP/2: GOAWAY, finish open
//! streams), wait up to `--shutdown-timeout` for them (long polls last up to 20 s), then abort
//! what is left. Only then does the caller flush the store.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use crate::app::App;
use crate::dispatch;

/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Binds the listening socket.
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Accepts the next connection with `accept`. A failed accept (out of file descriptors, say) is
/// logged and retried after [`ACCEPT_BACKOFF`]: such errors last until connections close, and
/// retrying at once would spin a core and flood the log meanwhile. `listener` names the
/// listener in the log line.
pub async fn accept_with_backoff<T, F, Fut>(listener: &'static str, mut accept: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::io::Result<T>>,
{
    loop {
        match accept().await {
            Ok(accepted) => return accepted,
            Err(e) => {
                warn!(listener, error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// Serves connections (over TLS when `tls` is given) until `shutdown` resolves, then drains
/// them within the shutdown timeout.
pub async fn serve(listener: TcpListener, app: Arc<App>, tls: Option<TlsAcceptor>, shutdown: impl Future<Output = ()>) {
    let max_connections = app.settings.max_connections;
    let limit = Arc::new(Semaphore::new(max_connections));
    let (drain_tx, drain_rx) = watch::channel(false);
    let builder = Arc::new(http_builder(&app));
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);

    loop {
        // Reap finished connection tasks so the set stays as small as the open connections.
        while connections.try_join_next().is_some() {}

        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = limit.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_closed) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = accept_with_backoff("api", || listener.accept()) => accepted,
        };
        // Small request/response exchanges: Nagle's algorithm would add up to 40 ms of latency.
        if let Err(e) = stream.set_nodelay(true) {
            debug!(error = %e, %peer, "set TCP_NODELAY failed");
        }
        let app = app.clone();
        let builder = builder.clone();
        let drain = drain_rx.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            let _permit = permit;
            app.metrics.open_connections().inc();
            match tls {
                None => {
                    // hyper's header timer starts with the first byte (and between requests on a
                    // kept-alive connection); a client that connects and sends nothing would
                    // otherwise hold a connection slot forever.
                    let mut first = [0u8; 1];
                    let first_byte = tokio::time::timeout(app.settings.header_read_timeout, stream.peek(&mut first));
                    match first_byte.await {
                        Ok(Ok(n)) if n > 0 => serve_connection(stream, peer, false, &app, &builder, drain).await,
                        _ => debug!(%peer, "closed a connection that sent nothing"),
                    }
                }
                Some(acceptor) => {
                    // The handshake gets the same deadline as a request's headers.
                    let handshake = tokio::time::timeout(app.settings.header_read_timeout, acceptor.accept(stream));
                    match handshake.await {
                        Ok(Ok(tls_stream)) => serve_connection(tls_stream, peer, true, &app, &builder, drain).await,
                        Ok(Err(e)) => debug!(error = %e, %peer, "TLS handshake failed"),
                        Err(_) => debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
            app.metrics.open_connections().dec();
        });
    }

    drop(listener);
    app.set_ready(false);
    app.begin_shutdown();
    while connections.try_join_next().is_some() {}
    let open = connections.len();
    info!(open_connections = open, "shutting down, draining connections");
    // Receivers only see the change; an error means no connection is left to tell.
    let _ = drain_tx.send(true);
    let deadline = app.settings.shutdown_timeout;
    let drained = tokio::time::timeout(deadline, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        warn!(
            open_connections = connections.len(),
            timeout_secs = deadline.as_secs(),
            "drain deadline reached, closing connections"
        );
        connections.shutdown().await;
    }
}

fn http_builder(app: &App) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(app.settings.header_read_timeout)
        // Bounds the request head: hyper answers 431 when the headers do not fit.
        .max_buf_size(app.settings.max_header_bytes)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(app.settings.max_header_bytes).unwrap_or(u32::MAX));
    builder
}

/// Requests in progress on one connection and when the last one ended.
struct Activity {
    in_flight: std::sync::atomic::AtomicUsize,
    last: std::sync::Mutex<tokio::time::Instant>,
}

/// Marks a request in progress until dropped.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        *self.0.last.lock().unwrap_or_else(|p| p.into_inner()) = tokio::time::Instant::now();
        self.0.in_flight.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl Activity {
    fn new() -> Activity {
        Activity {
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            last: std::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Busy(self.clone())
    }

    fn last(&self) -> tokio::time::Instant {
        *self.last.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When to check for idleness next: `timeout` after the last request ended, or, while a
    /// request is in progress (a long poll), `timeout` from now.
    fn idle_deadline(&self, timeout: Duration) -> tokio::time::Instant {
        if self.in_flight.load(std::sync::atomic::Ordering::Acquire) > 0 {
            tokio::time::Instant::now() + timeout
        } else {
            self.last() + timeout
        }
    }

    fn is_idle(&self, timeout: Duration) -> bool {
        self.in_flight.load(std::sync::atomic::Ordering::Acquire) == 0 && self.last().elapsed() >= timeout
    }
}

async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    tls: bool,
    app: &Arc<App>,
    builder: &auto::Builder<TokioExecutor>,
    mut drain: watch::Receiver<bool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let idle_timeout = app.settings.idle_timeout;
    let app = app.clone();
    let tracker = activity.clone();
    let service = service_fn(move |mut req: Request<Incoming>| {
        let app = app.clone();
        let tracker = tracker.clone();
        req.extensions_mut().insert(dispatch::Connection { peer, tls });
        async move {
            let busy = tracker.begin();
            let response = dispatch::handle(&app, req).await;
            // An event stream is a request in progress until its last byte is sent.
            Ok::<_, std::convert::Infallible>(response.map(|body| body.keep_while_streaming(busy)))
        }
    });
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = loop {
        tokio::select! {
            result = conn.as_mut() => break result,
            _ = drain.changed() => {
                conn.as_mut().graceful_shutdown();
                break conn.await;
            }
            // An HTTP/2 connection can stay open forever without a request; so could an
            // HTTP/1.1 one between keep-alive requests. Close either once idle for too long.
            () = tokio::time::sleep_until(activity.idle_deadline(idle_timeout)) => {
                if activity.is_idle(idle_timeout) {
                    debug!(%peer, "closing idle connection");
                    conn.as_mut().graceful_shutdown();
                    break conn.await;
                }
            }
        }
    };
    if let Err(e) = result {
        // Clients resetting or timing out on headers: routine, not an operator's problem.
        debug!(error = %e, %peer, "connection ended with an error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A persistent accept error must not turn the loop into a busy spin (issue 14: the admin
    /// listener retried at once).
    #[tokio::test(start_paused = true)]
    async fn failed_accepts_pause_before_retrying() {
        let mut failures_left = 3;
        let started = tokio::time::Instant::now();
        let accepted = accept_with_backoff("test", || {
            let fail = failures_left > 0;
            failures_left -= usize::from(fail);
            async move {
                if fail {
                    Err(std::io::Error::other("too many open files"))
                } else {
                    Ok("connection")
                }
            }
        })
        .await;
        assert_eq!(accepted, "connection");
        assert_eq!(failures_left, 0);
        assert!(
            started.elapsed() >= ACCEPT_BACKOFF * 3,
            "three failures, three pauses: {:?}",
            started.elapsed()
        );
    }
}
