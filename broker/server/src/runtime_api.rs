//! The Lambda Runtime API: one plain-HTTP listener per function, which the user's handler
//! processes poll for invocations, exactly as AWS's runtime interface clients poll Lambda's.
//!
//! Routes (AWS's, version `2018-06-01`):
//! - `GET /2018-06-01/runtime/invocation/next`: waits for the next invocation; answers its
//!   payload with `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms`,
//!   `Lambda-Runtime-Invoked-Function-Arn`, `Lambda-Runtime-Trace-Id` (and the client context
//!   when the caller sent one).
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `/error`: the handler's result;
//!   202, or 400 `InvalidRequestID` when the id is unknown or timed out.
//! - `POST /2018-06-01/runtime/init/error`: the handler could not start; logged, 202.
//!
//! Why a port per function: the clients build their URLs from `AWS_LAMBDA_RUNTIME_API` as
//! `host:port` and differ in whether a path in it survives, so the port is what names the
//! function. The port is kept in the function's record and bound again at start-up, so
//! handlers started once keep working across broker restarts. The listener is plain HTTP
//! (the clients speak nothing else) and binds the `--runtime-api-host` address.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sluice_broker::function::{FunctionKey, Hub, Outcome};
use sluice_broker::Broker;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::wire::{text_response, ResponseBody};

/// Largest response or error a handler may post: Lambda's synchronous payload limit.
const MAX_RESULT_BYTES: usize = 6 * 1024 * 1024;

/// Prefix of every route.
const PREFIX: &str = "/2018-06-01/runtime/";

/// The Runtime API listeners of every function.
pub struct RuntimeApi {
    host: IpAddr,
    broker: Arc<Broker>,
    listeners: Mutex<HashMap<FunctionKey, (u16, JoinHandle<()>)>>,
}

impl RuntimeApi {
    /// No listeners yet; they bind on `host`.
    pub fn new(host: IpAddr, broker: Arc<Broker>) -> RuntimeApi {
        RuntimeApi {
            host,
            broker,
            listeners: Mutex::new(HashMap::new()),
        }
    }

    /// The `AWS_LAMBDA_RUNTIME_API` value of the listener on `port`: the bound address, or for
    /// a wildcard bind the host name the client reached the API by.
    pub fn address(&self, port: u16, request_host: Option<&str>) -> String {
        if !self.host.is_unspecified() {
            return SocketAddr::new(self.host, port).to_string();
        }
        let name = request_host
            .map(|h| match h.rsplit_once(':') {
                Some((name, p)) if p.bytes().all(|b| b.is_ascii_digit()) => name,
                _ => h,
            })
            .unwrap_or("127.0.0.1");
        format!("{name}:{port}")
    }

    /// Binds a listener for a new function on a free port.
    pub fn reserve(&self) -> std::io::Result<std::net::TcpListener> {
        let listener = std::net::TcpListener::bind(SocketAddr::new(self.host, 0))?;
        listener.set_nonblocking(true)?;
        Ok(listener)
    }

    /// Starts serving `key`'s Runtime API on `listener`.
    pub fn serve(&self, key: &FunctionKey, listener: std::net::TcpListener) -> std::io::Result<u16> {
        let port = listener.local_addr()?.port();
        let listener = TcpListener::from_std(listener)?;
        let task = tokio::spawn(accept_loop(listener, self.broker.clone(), key.clone()));
        let mut listeners = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, old)) = listeners.insert(key.clone(), (port, task)) {
            old.abort();
        }
        tracing::info!(function = %key.name, addr = %SocketAddr::new(self.host, port), "runtime api listening");
        Ok(port)
    }

    /// Stops serving `key` (its function was deleted).
    pub fn close(&self, key: &FunctionKey) {
        let mut listeners = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, task)) = listeners.remove(key) {
            task.abort();
        }
    }

    /// Binds every stored function's port again (or a new one when it is taken, recorded in
    /// the function).
    pub fn start_all(&self) {
        for function in self.broker.functions.all_functions() {
            let port = function.record.runtime_port;
            let bound = std::net::TcpListener::bind(SocketAddr::new(self.host, port))
                .and_then(|l| l.set_nonblocking(true).map(|()| l));
            let listener = match bound {
                Ok(listener) => listener,
                Err(err) => {
                    tracing::warn!(function = %function.key.name, port, error = %err, "runtime api port unavailable; choosing another");
                    match self.reserve() {
                        Ok(listener) => listener,
                        Err(err) => {
                            tracing::error!(function = %function.key.name, error = %err, "runtime api not started");
                            continue;
                        }
                    }
                }
            };
            match self.serve(&function.key, listener) {
                Ok(bound_port) if bound_port != port => {
                    if let Err(err) = self.broker.functions.set_runtime_port(&function.key, bound_port) {
                        tracing::error!(function = %function.key.name, error = %err, "runtime api port not recorded");
                    }
                }
                Ok(_) => {}
                Err(err) => tracing::error!(function = %function.key.name, error = %err, "runtime api not started"),
            }
        }
    }

    /// Stops every listener (shutdown).
    pub fn stop_all(&self) {
        let mut listeners = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        for (_, (_, task)) in listeners.drain() {
            task.abort();
        }
    }
}

/// Most connections to one function's Runtime API (a handler holds one, or two while it
/// posts a result).
const MAX_CONNECTIONS: usize = 1024;

async fn accept_loop(listener: TcpListener, broker: Arc<Broker>, key: FunctionKey) {
    let hub = broker.functions.hub(&key);
    let arn = key.arn();
    // Connections live in this task's set: closing the function (this task aborted) closes
    // every handler's connection with it.
    let mut connections = tokio::task::JoinSet::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        while connections.try_join_next().is_some() {}
        let Ok(permit) = limit.clone().acquire_owned().await else {
            return;
        };
        let (stream, _) = crate::listener::accept_with_backoff("runtime api", || listener.accept()).await;
        let hub = hub.clone();
        let arn = arn.clone();
        connections.spawn(async move {
            let _permit = permit;
            let service = service_fn(move |req: Request<Incoming>| {
                let hub = hub.clone();
                let arn = arn.clone();
                async move { Ok::<_, Infallible>(handle(&hub, &arn, req).await) }
            });
            // No header timeout: `next` is a long poll that may wait for minutes.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// What a route names.
#[derive(Debug, PartialEq, Eq)]
enum RuntimeRoute<'a> {
    Next,
    Response(&'a str),
    Error(&'a str),
    InitError,
}

fn route<'a>(method: &Method, path: &'a str) -> Option<RuntimeRoute<'a>> {
    let rest = path.strip_prefix(PREFIX)?;
    match (method, rest) {
        (&Method::GET, "invocation/next") => Some(RuntimeRoute::Next),
        (&Method::POST, "init/error") => Some(RuntimeRoute::InitError),
        (&Method::POST, rest) => {
            let id_and_kind = rest.strip_prefix("invocation/")?;
            let (id, kind) = id_and_kind.rsplit_once('/')?;
            match kind {
                "response" if !id.is_empty() => Some(RuntimeRoute::Response(id)),
                "error" if !id.is_empty() => Some(RuntimeRoute::Error(id)),
                _ => None,
            }
        }
        _ => None,
    }
}

fn json(status: StatusCode, doc: serde_json::Value) -> Response<ResponseBody> {
    text_response(status, "application/json", doc.to_string())
}

fn accepted() -> Response<ResponseBody> {
    json(StatusCode::ACCEPTED, serde_json::json!({"status": "OK"}))
}

async fn handle(hub: &Hub, arn: &str, req: Request<Incoming>) -> Response<ResponseBody> {
    let (parts, body) = req.into_parts();
    let Some(route) = route(&parts.method, parts.uri.path()) else {
        return json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"errorMessage": "Unknown Runtime API route", "errorType": "InvalidRoute"}),
        );
    };
    if route == RuntimeRoute::Next {
        let invocation = hub.next().await;
        let mut response = Response::new(ResponseBody::full(invocation.payload));
        let headers = response.headers_mut();
        let pairs = [
            ("content-type", "application/json".to_string()),
            ("lambda-runtime-aws-request-id", invocation.request_id.clone()),
            ("lambda-runtime-deadline-ms", invocation.deadline_ms.to_string()),
            ("lambda-runtime-invoked-function-arn", arn.to_string()),
            ("lambda-runtime-trace-id", trace_id(&invocation.request_id)),
        ];
        for (name, value) in pairs {
            if let Ok(value) = http::HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        if let Some(context) = invocation
            .client_context
            .and_then(|c| http::HeaderValue::from_str(&c).ok())
        {
            headers.insert("lambda-runtime-client-context", context);
        }
        return response;
    }
    let payload = match read_limited(body).await {
        Ok(payload) => payload,
        Err(status) => {
            return json(
                status,
                serde_json::json!({"errorMessage": "The handler's result exceeds 6 MB", "errorType": "RequestEntityTooLarge"}),
            )
        }
    };
    match route {
        RuntimeRoute::Response(id) => complete(hub, id, Outcome::Success(payload)),
        RuntimeRoute::Error(id) => complete(hub, id, Outcome::Error(error_document(payload))),
        RuntimeRoute::InitError => {
            let text = String::from_utf8_lossy(&payload);
            tracing::warn!(function = arn, error = %text, "a handler failed to start (runtime init error)");
            accepted()
        }
        RuntimeRoute::Next => accepted(),
    }
}

fn complete(hub: &Hub, id: &str, outcome: Outcome) -> Response<ResponseBody> {
    if hub.complete(id, outcome) {
        return accepted();
    }
    json(
        StatusCode::BAD_REQUEST,
        serde_json::json!({"errorMessage": format!("Invalid request ID: {id} (unknown, already answered, or timed out)"), "errorType": "InvalidRequestID"}),
    )
}

/// A handler's error body as Lambda returns it: the JSON it posted, or, when that is not a
/// JSON object, an `errorMessage` holding its text.
fn error_document(payload: Bytes) -> Bytes {
    let is_object = serde_json::from_slice::<serde_json::Value>(&payload).is_ok_and(|v| v.is_object());
    if is_object {
        return payload;
    }
    let doc = serde_json::json!({
        "errorMessage": String::from_utf8_lossy(&payload),
        "errorType": "Unhandled",
    });
    Bytes::from(doc.to_string())
}

async fn read_limited(body: Incoming) -> Result<Bytes, StatusCode> {
    let limited = http_body_util::Limited::new(body, MAX_RESULT_BYTES);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(_) => Err(StatusCode::PAYLOAD_TOO_LARGE),
    }
}

/// An X-Ray style trace header; Sluice traces nothing, but handlers expect one to exist.
fn trace_id(request_id: &str) -> String {
    let hex: String = request_id.chars().filter(char::is_ascii_hexdigit).collect();
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "Root=1-{secs:08x}-{};Parent={};Sampled=0",
        &hex.get(..24).unwrap_or("000000000000000000000000"),
        &hex.get(..16).unwrap_or("0000000000000000")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let p = |m: Method, path: &'static str| route(&m, path);
        assert_eq!(
            p(Method::GET, "/2018-06-01/runtime/invocation/next"),
            Some(RuntimeRoute::Next)
        );
        assert_eq!(
            p(Method::POST, "/2018-06-01/runtime/invocation/abc/response"),
            Some(RuntimeRoute::Response("abc"))
        );
        assert_eq!(
            p(Method::POST, "/2018-06-01/runtime/invocation/abc/error"),
            Some(RuntimeRoute::Error("abc"))
        );
        assert_eq!(
            p(Method::POST, "/2018-06-01/runtime/init/error"),
            Some(RuntimeRoute::InitError)
        );
        assert_eq!(p(Method::POST, "/2018-06-01/runtime/invocation//response"), None);
        assert_eq!(p(Method::GET, "/2018-06-01/runtime/invocation/abc/response"), None);
        assert_eq!(p(Method::GET, "/other"), None);
    }

    #[test]
    fn error_documents() {
        let doc = error_document(Bytes::from_static(b"{\"errorMessage\":\"x\"}"));
        assert_eq!(doc, Bytes::from_static(b"{\"errorMessage\":\"x\"}"));
        let doc: serde_json::Value = serde_json::from_slice(&error_document(Bytes::from_static(b"boom"))).unwrap();
        assert_eq!(doc["errorMessage"], "boom");
    }

    #[test]
    fn trace_ids_have_the_xray_shape() {
        let id = trace_id("8476a536-e9f4-11e8-9739-2dfe598c3fcd");
        assert!(
            id.starts_with("Root=1-") && id.contains(";Parent=") && id.ends_with(";Sampled=0"),
            "{id}"
        );
    }
}
