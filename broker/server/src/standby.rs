//! What a cluster standby serves while it follows the log: `/health` (the process is alive),
//! `/ready` (503: it cannot serve by itself), and every other request forwarded as it came to
//! the writer the lease names, its answer streamed back. Clients so never need to know which
//! node writes: any node's endpoint works, and through a takeover the SDKs' retries carry them.
//!
//! A forwarded request keeps its method, path, query, headers (the `Host` a SigV4 signature
//! covers included) and body, so the writer authorizes it exactly as if the client had called
//! it. It goes over a pool of kept-alive HTTP/1.1 connections to the writer, over HTTPS when the
//! writer advertises an `https://` address (`--tls-cert`), verified against the system CAs and
//! `--cluster-ca`. With `--tls-cert` the standby serves HTTPS itself, like the full server.
//!
//! When this node takes over, [`serve`] stops accepting, lets each open connection finish its
//! request and close, and returns the listener's use to the full server.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_TYPE, HOST};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use sluice_cluster::{Holder, Node};
use sluice_storage::Store;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, warn};

use crate::cluster_metrics::ClusterView;
use crate::forwarded;

/// The body of a standby's answers: the writer's, streamed, or its own few bytes.
type Body = BoxBody<Bytes, hyper::Error>;

/// How long the writer's address is trusted before the lease is read again.
const WRITER_CACHE: Duration = Duration::from_millis(500);
/// Bounds the connection to the writer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the writer may take to start its answer: a long poll answers within 20 s, and a
/// writer silent for longer is gone (cut off, or frozen); the client's retry finds the next.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an idle connection to the writer is kept (a takeover leaves the old writer's to
/// fail and expire).
const POOL_IDLE: Duration = Duration::from_secs(30);
/// How long open connections get to finish their request when this node takes over.
const HANDOVER_DRAIN: Duration = Duration::from_secs(2);
/// Bounds a client's TLS handshake with the standby.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Names the forwarding node in the forwarded request, for the writer's logs.
const FORWARDED_BY: HeaderName = HeaderName::from_static("x-sluice-forwarded-by");

/// A standby's view of the cluster: the node, and who writes.
pub struct Standby {
    node: Arc<Node>,
    store: Arc<Store>,
    node_id: String,
    advertise: String,
    writer: Mutex<Option<(Instant, Holder)>>,
    /// The key this node vouches for its clients' addresses with (see [`crate::forwarded`]),
    /// once the store holds the secret it derives from.
    forwarding_key: Mutex<Option<[u8; 32]>>,
    /// Kept-alive connections to the writer, reused across forwarded calls.
    pool: Client<HttpsConnector<HttpConnector>, Incoming>,
}

impl Standby {
    /// The standby of `node` following the log into `store`, known to others as `advertise`;
    /// `tls` verifies an `https://` writer.
    pub fn new(
        node: Arc<Node>,
        store: Arc<Store>,
        node_id: String,
        advertise: String,
        tls: rustls::ClientConfig,
    ) -> Standby {
        Standby {
            node,
            store,
            node_id,
            advertise,
            writer: Mutex::new(None),
            forwarding_key: Mutex::new(None),
            pool: forwarding_pool(tls),
        }
    }

    /// The writer, from a cache refreshed every [`WRITER_CACHE`].
    async fn writer(&self) -> Option<Holder> {
        if let Some((at, holder)) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            if at.elapsed() < WRITER_CACHE {
                return Some(holder);
            }
        }
        let holder = match self.node.writer().await {
            Ok(holder) => holder,
            Err(e) => {
                warn!(error = %e, "standby: cannot read the writer lease");
                None
            }
        };
        *self.writer.lock().unwrap_or_else(|p| p.into_inner()) = holder.clone().map(|h| (Instant::now(), h));
        holder
    }

    /// The forwarding key, read from the store until it is there.
    fn forwarding_key(&self) -> Option<[u8; 32]> {
        let mut cached = self.forwarding_key.lock().unwrap_or_else(|p| p.into_inner());
        if cached.is_none() {
            *cached = sluice_broker::stream::forwarding_key(&self.store).ok().flatten();
        }
        *cached
    }

    fn forget_writer(&self) {
        *self.writer.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Serves the standby's routes on `listener` until `stop` turns true.
pub async fn serve(
    listener: &TcpListener,
    standby: Arc<Standby>,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    let builder = Arc::new(auto::Builder::new(TokioExecutor::new()));
    let (drain_tx, drain_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            // Only `true` is ever sent; a dropped sender ends the standby too.
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    debug!(error = %e, "standby: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let standby = standby.clone();
        let builder = builder.clone();
        let drain = drain_rx.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            match tls {
                None => serve_connection(stream, peer, standby, &builder, drain).await,
                Some(acceptor) => match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => serve_connection(stream, peer, standby, &builder, drain).await,
                    Ok(Err(e)) => debug!(error = %e, %peer, "standby: TLS handshake failed"),
                    Err(_) => debug!(%peer, "standby: TLS handshake timed out"),
                },
            }
        });
    }
    // This node writes now: close the standby's connections once their request is answered,
    // so clients reconnect to the full server.
    let _ = drain_tx.send(true);
    let drained = tokio::time::timeout(HANDOVER_DRAIN, async {
        while connections.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        connections.shutdown().await;
    }
}

/// One request: the standby's own routes, or forwarded.
async fn route(standby: &Standby, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
    match req.uri().path() {
        "/health" => plain(StatusCode::OK, "ok: standby\n"),
        "/ready" => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: a standby (requests are forwarded to the writer)\n",
        ),
        // This node's own figures: forwarded, a scrape of each pod would count the writer twice.
        "/metrics" => metrics(standby),
        _ => forward(standby, req, peer).await,
    }
}

/// Serves one client connection (plain or TLS) until it ends or `drain` says to close it.
async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    standby: Arc<Standby>,
    builder: &auto::Builder<TokioExecutor>,
    mut drain: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req: Request<Incoming>| {
        let standby = standby.clone();
        async move { Ok::<_, Infallible>(route(&standby, req, peer).await) }
    });
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = drain.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        debug!(error = %e, %peer, "standby: connection ended with an error");
    }
}

/// Forwards `req` to the writer and streams its answer back; 503 when there is no writer to
/// reach (the SDKs retry a 503).
async fn forward(standby: &Standby, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
    // Forwarded once already: the sender's idea of the writer is stale (two standbys naming
    // each other would bounce a request forever). The client retries; the lease settles.
    if req.headers().contains_key(&FORWARDED_BY) {
        standby.forget_writer();
        return unavailable("forwarded to a node that is not the writer; a takeover may be under way");
    }
    let Some(writer) = standby.writer().await else {
        return unavailable("no node holds the writer lease at the moment");
    };
    if writer.node_id == standby.node_id || writer.advertise == standby.advertise {
        return unavailable("this node is taking over as the writer");
    }
    let Some(base) = writer_base(&writer.advertise) else {
        return unavailable("the writer advertises an address that is not http:// or https://");
    };
    let request = match outgoing(req, base, &standby.node_id, peer, standby.forwarding_key()) {
        Ok(request) => request,
        Err(why) => return plain(StatusCode::BAD_REQUEST, why),
    };
    match tokio::time::timeout(ANSWER_TIMEOUT, standby.pool.request(request)).await {
        Ok(Ok(response)) => response.map(|body| body.boxed()),
        Ok(Err(e)) => {
            debug!(error = %e, %peer, "standby: forwarded request failed");
            gone(standby, &writer, &e.to_string())
        }
        Err(_) => gone(standby, &writer, "no answer in time"),
    }
}

/// The writer's advertised URL without a trailing slash, when it is http:// or https://.
fn writer_base(advertise: &str) -> Option<&str> {
    (advertise.starts_with("http://") || advertise.starts_with("https://")).then(|| advertise.trim_end_matches('/'))
}

/// The request as the writer gets it: addressed to `writer` (scheme and authority; the pool
/// picks a connection by it and sends origin-form on the wire), the client's `Host` (an HTTP/2
/// client names it in the URI instead), no hop-by-hop `Connection` header.
fn outgoing(
    req: Request<Incoming>,
    writer: &str,
    node_id: &str,
    peer: SocketAddr,
    key: Option<[u8; 32]>,
) -> Result<Request<Incoming>, &'static str> {
    let (mut parts, body) = req.into_parts();
    let authority = parts.uri.authority().map(|a| a.as_str().to_string());
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = format!("{writer}{path}")
        .parse::<Uri>()
        .map_err(|_| "invalid request target\n")?;
    parts.version = http::Version::HTTP_11;
    if !parts.headers.contains_key(HOST) {
        let host = authority.ok_or("a request needs a Host\n")?;
        let value = HeaderValue::from_str(&host).map_err(|_| "invalid Host\n")?;
        parts.headers.insert(HOST, value);
    }
    parts.headers.remove(CONNECTION);
    if let Ok(value) = HeaderValue::from_str(node_id) {
        parts.headers.insert(FORWARDED_BY, value);
    }
    // The client's address, vouched for; whatever the client sent under these names goes.
    parts.headers.remove(forwarded::FORWARDED_FOR);
    parts.headers.remove(forwarded::FORWARDED_PROOF);
    let ip = peer.ip();
    if let Some(proof) = key.and_then(|key| forwarded::proof(&key, ip, &parts.headers)) {
        if let (Ok(ip), Ok(proof)) = (HeaderValue::from_str(&ip.to_string()), HeaderValue::from_str(&proof)) {
            parts.headers.insert(forwarded::FORWARDED_FOR, ip);
            parts.headers.insert(forwarded::FORWARDED_PROOF, proof);
        }
    }
    Ok(Request::from_parts(parts, body))
}

/// HTTP/1.1 connections to the writer, kept alive between calls: a forwarded call costs no
/// connection set-up, and the writer's answer streams back as it comes (long polls and
/// SubscribeToShard included: no overall timeout, only the connect is bounded).
fn forwarding_pool(tls: rustls::ClientConfig) -> Client<HttpsConnector<HttpConnector>, Incoming> {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    connector.set_nodelay(true);
    connector.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE)
        .build(connector)
}

/// The writer could not be reached: forget it (the lease may name another soon) and say so.
fn gone(standby: &Standby, writer: &Holder, why: &str) -> Response<Body> {
    standby.forget_writer();
    debug!(writer = %writer.node_id, error = %why, "standby: the writer did not answer");
    unavailable("the writer did not answer; a takeover may be under way")
}

/// 503 with a body every AWS SDK reads as a retryable service error.
fn unavailable(why: &str) -> Response<Body> {
    let body = format!("{{\"__type\":\"ServiceUnavailable\",\"message\":\"{why}\"}}");
    let mut response = Response::new(full(body));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/x-amz-json-1.0"));
    response
}

/// The standby's metrics, in Prometheus' text format: the same cluster series the writer
/// exports, with this node's values.
fn metrics(standby: &Standby) -> Response<Body> {
    let text = match ClusterView::read(&standby.store, Some(standby.node.as_ref())).text() {
        Ok(text) => text,
        Err(e) => {
            warn!(error = %e, "standby: encoding metrics failed");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "metrics unavailable\n");
        }
    };
    let mut response = Response::new(full(text));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(full(text));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}
