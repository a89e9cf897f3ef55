//! The HTTP client behind SNS deliveries to `http`/`https` subscriptions, and the invoker
//! behind `lambda` ones.
//!
//! A delivery to a function (its endpoint is the function's ARN) is an invocation through the
//! function's queue: it counts as delivered once a handler returned, and as a failed attempt
//! (retried on the subscription's policy, then dead-lettered) when the handler failed, timed
//! out, or none took it within [`LAMBDA_PICKUP`].
//!
//! One connection per attempt (HTTP/1.1, `Connection: close`): deliveries go to many endpoints
//! and each attempt must stand alone for retries, so there is no pool to keep healthy. HTTPS
//! endpoints are verified against the system's CA bundle plus any `--sns-https-ca` file, so a
//! self-hosted receiver with its own CA works. Every attempt ends within [`ATTEMPT_TIMEOUT`],
//! the 15 seconds AWS waits before counting an attempt as failed.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use sluice_broker::function::{FunctionKey, Outcome};
use sluice_broker::topic::outbox::{HttpFuture, HttpOutcome, HttpRequest, HttpTransport};
use sluice_broker::Functions;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// How long one delivery attempt may take, connection included (AWS: 15 seconds).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a delivery to a function waits for a handler to take it.
pub const LAMBDA_PICKUP: Duration = Duration::from_secs(10);

/// Posts SNS deliveries with hyper, and invokes subscribed functions.
pub struct HyperTransport {
    tls: TlsConnector,
    functions: Arc<Functions>,
}

impl HyperTransport {
    /// A transport trusting the system CAs and the certificates in `extra_ca` (PEM), invoking
    /// `functions` for `lambda` subscriptions.
    pub fn new(extra_ca: Option<&Path>, functions: Arc<Functions>) -> Result<HyperTransport, String> {
        let config = crate::tls::client_config(extra_ca, "--sns-https-ca")?;
        Ok(HyperTransport {
            tls: TlsConnector::from(Arc::new(config)),
            functions,
        })
    }
}

/// Invokes the function an `arn:aws:lambda:...:function:name` names with an SNS event.
async fn invoke(functions: Arc<Functions>, request: HttpRequest) -> HttpOutcome {
    let Some(key) = FunctionKey::from_arn(&request.url) else {
        return HttpOutcome::Failed(format!("not a function ARN: {}", request.url));
    };
    let function = match functions.get_function(&key) {
        Ok(f) => f,
        Err(e) => return HttpOutcome::Failed(e.to_string()),
    };
    let hub = functions.hub(&key);
    let timeout = function.record.settings.timeout_secs;
    let subscription = request
        .headers
        .iter()
        .find(|(name, _)| *name == "x-amz-sns-subscription-arn")
        .map_or("", |(_, value)| value.as_str());
    // The outbox keeps the notification (what a dead-letter queue gets); the function gets it
    // wrapped in AWS's SNS event.
    let event = sluice_broker::topic::envelope::lambda_event(&request.body, subscription);
    match hub.invoke(Bytes::from(event), timeout, None, LAMBDA_PICKUP).await {
        Outcome::Success(_) => HttpOutcome::Delivered,
        Outcome::Error(doc) => HttpOutcome::Failed(format!("the function failed: {}", String::from_utf8_lossy(&doc))),
        Outcome::TimedOut { after_secs } => HttpOutcome::Failed(format!("the function timed out after {after_secs} s")),
        Outcome::NoHandler => HttpOutcome::Failed("no handler took the invocation".into()),
    }
}

impl HttpTransport for HyperTransport {
    fn post(&self, request: HttpRequest) -> HttpFuture {
        if request.url.starts_with("arn:") {
            // The function's own timeout bounds the attempt, not the HTTP one.
            return Box::pin(invoke(self.functions.clone(), request));
        }
        let tls = self.tls.clone();
        Box::pin(async move {
            match tokio::time::timeout(ATTEMPT_TIMEOUT, post(tls, request)).await {
                Ok(outcome) => outcome,
                Err(_) => HttpOutcome::Failed("timed out after 15 seconds".into()),
            }
        })
    }
}

async fn post(tls: TlsConnector, request: HttpRequest) -> HttpOutcome {
    let uri: Uri = match request.url.parse() {
        Ok(uri) => uri,
        Err(e) => return HttpOutcome::Failed(format!("bad endpoint URL: {e}")),
    };
    let https = uri.scheme_str() == Some("https");
    let Some(host) = uri
        .host()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string())
    else {
        return HttpOutcome::Failed("endpoint URL has no host".into());
    };
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_string())
        .unwrap_or_else(|| host.clone());
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let tcp = match TcpStream::connect((host.as_str(), port)).await {
        Ok(tcp) => tcp,
        Err(e) => return HttpOutcome::Failed(format!("connect: {e}")),
    };
    let _ = tcp.set_nodelay(true);
    let mut builder = Request::post(path).header(http::header::HOST, authority);
    for (name, value) in &request.headers {
        builder = builder.header(*name, value);
    }
    let req = match builder
        .header(http::header::CONNECTION, "close")
        .body(Full::new(Bytes::from(request.body)))
    {
        Ok(req) => req,
        Err(e) => return HttpOutcome::Failed(format!("request: {e}")),
    };
    let status = if https {
        let name = match ServerName::try_from(host.clone()) {
            Ok(name) => name,
            Err(e) => return HttpOutcome::Failed(format!("server name: {e}")),
        };
        match tls.connect(name, tcp).await {
            Ok(stream) => send(TokioIo::new(stream), req).await,
            Err(e) => Err(format!("tls: {e}")),
        }
    } else {
        send(TokioIo::new(tcp), req).await
    };
    match status {
        Ok(code) if code < 400 => HttpOutcome::Delivered,
        Ok(code) if code < 500 => HttpOutcome::Rejected(code),
        Ok(code) => HttpOutcome::Failed(format!("status {code}")),
        Err(e) => HttpOutcome::Failed(e),
    }
}

async fn send<T>(io: TokioIo<T>, req: Request<Full<Bytes>>) -> Result<u16, String>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let response = sender.send_request(req).await.map_err(|e| format!("send: {e}"))?;
    Ok(response.status().as_u16())
}
