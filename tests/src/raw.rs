//! Raw HTTP for wire-level tests: HTTP/1.1 and h2c (prior knowledge) over one fresh loopback
//! connection per request, optional SigV4 signing, and helpers for the two SQS protocols.
//!
//! The SDK can only send what its model allows; these helpers send anything: hand-built
//! query-protocol forms (as kombu, old SDKs and curl users do), JSON with wrong types, garbage.
//! Transport failures are returned as `Err(String)` by the low-level `send*` functions so
//! robustness tests can tell "the broker closed the connection" from "the broker answered".

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign as sigv4_sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, Uri, Version};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::client::{ACCESS_KEY, REGION, SECRET_KEY};

/// How long one raw request may take, connect to last body byte.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Content type of the SQS JSON protocol (AWS JSON 1.0).
pub const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.0";
/// Content type of the query protocol.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// What came back: status, headers, body (lossily decoded as UTF-8) and the HTTP version.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
    pub version: Version,
    /// The body as received (CBOR responses are not text).
    pub raw: Vec<u8>,
}

impl RawResponse {
    /// A header's value as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body parsed as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("response body is not JSON ({e}): {:?}", self.body))
    }
}

/// Sends `req` over HTTP/1.1 on a new connection to the URI's authority.
/// A `Host` header is added from the URI when missing; the URI is sent in origin form.
pub async fn send(req: Request<Vec<u8>>) -> Result<RawResponse, String> {
    send_with_timeout(req, false, REQUEST_TIMEOUT).await
}

/// Sends `req` over HTTP/2 with prior knowledge (h2c), as the JS v3 SDK does against `http://`.
pub async fn send_h2c(req: Request<Vec<u8>>) -> Result<RawResponse, String> {
    send_with_timeout(req, true, REQUEST_TIMEOUT).await
}

/// `GET url` over HTTP/1.1, bounded by `timeout`; used to poll `/health`.
pub async fn get_with_timeout(url: &str, timeout: Duration) -> Result<RawResponse, String> {
    let req = Request::get(url).body(Vec::new()).map_err(|e| e.to_string())?;
    send_with_timeout(req, false, timeout).await
}

async fn send_with_timeout(req: Request<Vec<u8>>, h2: bool, timeout: Duration) -> Result<RawResponse, String> {
    match tokio::time::timeout(timeout, send_inner(req, h2)).await {
        Ok(r) => r,
        Err(_) => Err(format!("request timed out after {timeout:?}")),
    }
}

/// A response whose body is still arriving, and the HTTP/2 request handle that keeps its
/// connection open meanwhile.
pub struct OpenResponse {
    /// Status, headers and the body stream.
    pub response: http::Response<hyper::body::Incoming>,
    /// Held so an HTTP/2 connection stays up while the body is read.
    pub h2: Option<hyper::client::conn::http2::SendRequest<Full<Bytes>>>,
}

/// Sends `req` (absolute URI) over a fresh loopback connection, HTTP/2 with prior knowledge
/// when `h2`, and returns once the response head arrived.
pub async fn open(req: Request<Vec<u8>>, h2: bool) -> Result<OpenResponse, String> {
    let (mut parts, body) = req.into_parts();
    let authority = parts
        .uri
        .authority()
        .ok_or_else(|| format!("URI without authority: {}", parts.uri))?
        .as_str()
        .to_string();
    let stream = tokio::net::TcpStream::connect(&authority)
        .await
        .map_err(|e| format!("connect {authority}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(stream);
    let body = Full::new(Bytes::from(body));

    if h2 {
        let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .map_err(|e| format!("h2 handshake: {e}"))?;
        tokio::spawn(conn);
        parts.version = Version::HTTP_2;
        let response = sender
            .send_request(Request::from_parts(parts, body))
            .await
            .map_err(|e| format!("h2 request: {e}"))?;
        Ok(OpenResponse {
            response,
            h2: Some(sender),
        })
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| format!("http1 handshake: {e}"))?;
        tokio::spawn(conn);
        if !parts.headers.contains_key(http::header::HOST) {
            let host = http::HeaderValue::from_str(&authority).map_err(|e| e.to_string())?;
            parts.headers.insert(http::header::HOST, host);
        }
        let origin = parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_else(|| "/".to_string());
        parts.uri = origin.parse::<Uri>().map_err(|e| e.to_string())?;
        let response = sender
            .send_request(Request::from_parts(parts, body))
            .await
            .map_err(|e| format!("http1 request: {e}"))?;
        Ok(OpenResponse { response, h2: None })
    }
}

async fn send_inner(req: Request<Vec<u8>>, h2: bool) -> Result<RawResponse, String> {
    let resp = open(req, h2).await?.response;
    let (parts, body) = resp.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(|e| format!("reading response body: {e}"))?
        .to_bytes();
    Ok(RawResponse {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        version: parts.version,
        raw: bytes.to_vec(),
    })
}

/// Signs `req` in place with SigV4 for `service` in us-east-1 with the test credentials.
/// The request's URI must be absolute; `host` is signed from it (or from a Host header).
pub fn sign(req: &mut Request<Vec<u8>>, service: &str) {
    sign_as(
        req,
        service,
        ACCESS_KEY,
        SECRET_KEY,
        SystemTime::now(),
        SigningSettings::default(),
    );
}

/// Signs `req` with the given key, as of `time`, with `settings` (e.g. presigning).
pub fn sign_as(
    req: &mut Request<Vec<u8>>,
    service: &str,
    access_key: &str,
    secret: &str,
    time: SystemTime,
    settings: SigningSettings,
) {
    let identity = Credentials::new(access_key, secret, None, None, "sluice-tests").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .expect("signing params")
        .into();
    let uri = req.uri().to_string();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
        .collect();
    let signable = SignableRequest::new(
        req.method().as_str(),
        &uri,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(req.body()),
    )
    .expect("signable request");
    let (instructions, _signature) = sigv4_sign(signable, &params).expect("sign").into_parts();
    instructions.apply_to_request_http1x(req);
}

/// `application/x-www-form-urlencoded` encoding of `params`, in order.
pub fn form_encode(params: &[(&str, &str)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    ser.finish()
}

/// Builds a request with the given headers and body; `signed` adds SigV4 (service `sqs`).
pub fn build(method: Method, url: &str, headers: &[(&str, &str)], body: Vec<u8>, signed: bool) -> Request<Vec<u8>> {
    let mut b = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let mut req = b.body(body).expect("valid request");
    if signed {
        sign(&mut req, "sqs");
    }
    req
}

/// A signed query-protocol POST of `params` to `endpoint` + `path` (`/` or a queue path).
pub async fn query(endpoint: &str, path: &str, params: &[(&str, &str)]) -> RawResponse {
    let url = format!("{endpoint}{path}");
    let body = form_encode(params).into_bytes();
    let req = build(Method::POST, &url, &[("content-type", FORM_CONTENT_TYPE)], body, true);
    send(req).await.unwrap_or_else(|e| panic!("query POST {url}: {e}"))
}

/// A signed query-protocol GET with `params` in the query string.
pub async fn query_get(endpoint: &str, path: &str, params: &[(&str, &str)]) -> RawResponse {
    let url = format!("{endpoint}{path}?{}", form_encode(params));
    let req = build(Method::GET, &url, &[], Vec::new(), true);
    send(req).await.unwrap_or_else(|e| panic!("query GET {url}: {e}"))
}

/// A signed SQS JSON-protocol request: `POST /`, `X-Amz-Target: AmazonSQS.<action>`.
pub fn json_request(endpoint: &str, action: &str, body: &str) -> Request<Vec<u8>> {
    let target = format!("AmazonSQS.{action}");
    build(
        Method::POST,
        &format!("{endpoint}/"),
        &[("content-type", JSON_CONTENT_TYPE), ("x-amz-target", &target)],
        body.as_bytes().to_vec(),
        true,
    )
}

/// Sends [`json_request`] over HTTP/1.1 and panics on transport errors.
pub async fn json(endpoint: &str, action: &str, body: &str) -> RawResponse {
    send(json_request(endpoint, action, body))
        .await
        .unwrap_or_else(|e| panic!("JSON {action}: {e}"))
}
