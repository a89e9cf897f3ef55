//! Wire-facing types that the dispatcher and the service handlers share: which service and
//! protocol a request speaks (and so which Kinesis encoding answers it), the response body,
//! plain responses, and the header tests that tell the services apart.
//!
//! The response body is a whole buffer (almost every call) or a stream of chunks fed by a task
//! (SubscribeToShard's event stream). A streamed body ends when its sender is dropped; dropping
//! the body (the client went away) closes the channel, which ends the feeding task at its next
//! send.
//!
//! A leaf module: it imports nothing of this crate, so `dispatch`, `api/*`,
//! `admin` and `checkpoint` all depend on it and it on none of them (no import circle, issue 15).

use std::any::Any;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};
use hyper::body::{Body, Frame, SizeHint};
use sluice_protocols::kinesis::Encoding;
use tokio::sync::mpsc;

/// `X-Amz-Target` prefix of SQS calls over AWS JSON 1.0.
pub const SQS_TARGET_PREFIX: &str = "AmazonSQS.";

/// `X-Amz-Target` prefix of Kinesis calls (JSON 1.1 or CBOR 1.1).
pub const KINESIS_TARGET_PREFIX: &str = "Kinesis_20131202.";

/// An AWS service served on this port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Simple Queue Service.
    Sqs,
    /// Simple Notification Service.
    Sns,
    /// Kinesis Data Streams.
    Kinesis,
    /// Lambda's control plane: functions, event-source mappings, Invoke.
    Lambda,
}

impl Service {
    /// The metric label and SigV4 service name.
    pub fn label(self) -> &'static str {
        match self {
            Service::Sqs => "sqs",
            Service::Sns => "sns",
            Service::Kinesis => "kinesis",
            Service::Lambda => "lambda",
        }
    }

    /// The service named by a SigV4 credential scope.
    pub fn from_signing_name(name: &str) -> Option<Service> {
        match name {
            "sqs" => Some(Service::Sqs),
            "sns" => Some(Service::Sns),
            "kinesis" => Some(Service::Kinesis),
            "lambda" => Some(Service::Lambda),
            _ => None,
        }
    }
}

/// The wire protocol of a request, which is also the protocol of its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// AWS JSON 1.0 (SQS).
    Json10,
    /// AWS JSON 1.1 (Kinesis).
    Json11,
    /// CBOR 1.1 (Kinesis from the Java SDKs).
    Cbor11,
    /// Query: form-encoded `Action=` request, XML response.
    Query,
    /// REST-JSON: the operation is the method and path (Lambda).
    RestJson,
}

impl Protocol {
    /// The Kinesis encoding of a request in this protocol, which its answer (success or error)
    /// is written in too.
    pub fn kinesis_encoding(self) -> Encoding {
        match self {
            Protocol::Cbor11 => Encoding::Cbor,
            _ => Encoding::Json,
        }
    }
}

/// A header's value as trimmed, non-empty text.
pub fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The Kinesis action a request's `X-Amz-Target` names, if it names one.
pub fn kinesis_action(headers: &HeaderMap) -> Option<&str> {
    header_str(headers, "x-amz-target").and_then(|t| t.strip_prefix(KINESIS_TARGET_PREFIX))
}

/// The protocol of a Kinesis request: CBOR when the body says so (the Java SDKs' default),
/// else JSON 1.1.
pub fn kinesis_protocol(headers: &HeaderMap) -> Protocol {
    let cbor = header_str(headers, CONTENT_TYPE.as_str()).is_some_and(|ct| ct.starts_with("application/x-amz-cbor"));
    if cbor {
        Protocol::Cbor11
    } else {
        Protocol::Json11
    }
}

/// True for a queue-URL path `/<12-digit account>/<queue name>`.
pub fn is_queue_path(path: &str) -> bool {
    let mut segments = path.trim_start_matches('/').split('/');
    match (segments.next(), segments.next(), segments.next()) {
        (Some(account), Some(name), None) => {
            account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty()
        }
        _ => false,
    }
}

/// A whole response: status, content type and body (API answers, errors, probes, metrics).
pub fn text_response(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A response body.
pub struct ResponseBody {
    kind: Kind,
}

enum Kind {
    /// The whole body; `None` once sent.
    Full(Option<Bytes>),
    /// Chunks as they are produced, and what must live as long as the stream (the
    /// connection's in-progress mark, so an open event stream never counts as idle).
    Stream {
        chunks: mpsc::Receiver<Bytes>,
        _keep: Option<Box<dyn Any + Send + Sync>>,
    },
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::Full(b) => write!(f, "ResponseBody::Full({} bytes)", b.as_ref().map_or(0, Bytes::len)),
            Kind::Stream { .. } => f.write_str("ResponseBody::Stream"),
        }
    }
}

impl ResponseBody {
    /// A body of these bytes.
    pub fn full(bytes: impl Into<Bytes>) -> ResponseBody {
        ResponseBody {
            kind: Kind::Full(Some(bytes.into())),
        }
    }

    /// A body of the chunks sent on `chunks`, until its sender is dropped.
    pub fn stream(chunks: mpsc::Receiver<Bytes>) -> ResponseBody {
        ResponseBody {
            kind: Kind::Stream { chunks, _keep: None },
        }
    }

    /// Keeps `guard` alive while a streamed body is being sent (a whole body drops it at once).
    pub fn keep_while_streaming(mut self, guard: impl Any + Send + Sync) -> ResponseBody {
        if let Kind::Stream { _keep, .. } = &mut self.kind {
            *_keep = Some(Box::new(guard));
        }
        self
    }

    /// True for a streamed body.
    pub fn is_stream(&self) -> bool {
        matches!(self.kind, Kind::Stream { .. })
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match &mut self.kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().filter(|b| !b.is_empty()).map(|b| Ok(Frame::data(b)))),
            Kind::Stream { chunks, .. } => chunks.poll_recv(cx).map(|chunk| chunk.map(|c| Ok(Frame::data(c)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(bytes) => bytes.as_ref().is_none_or(Bytes::is_empty),
            Kind::Stream { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Stream { .. } => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinesis_requests_are_told_by_target_and_content_type() {
        let mut headers = HeaderMap::new();
        assert_eq!(kinesis_action(&headers), None);
        headers.insert("x-amz-target", HeaderValue::from_static("AmazonSQS.SendMessage"));
        assert_eq!(kinesis_action(&headers), None);
        headers.insert("x-amz-target", HeaderValue::from_static("Kinesis_20131202.PutRecord"));
        assert_eq!(kinesis_action(&headers), Some("PutRecord"));
        assert_eq!(kinesis_protocol(&headers), Protocol::Json11);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-amz-cbor-1.1"));
        assert_eq!(kinesis_protocol(&headers), Protocol::Cbor11);
    }
}

#[cfg(test)]
mod body_tests {
    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test]
    async fn a_full_body_is_sent_once_with_its_exact_length() {
        let body = ResponseBody::full("hello");
        assert_eq!(body.size_hint().exact(), Some(5));
        assert!(!body.is_end_stream());
        let bytes = body.collect().await.expect("infallible").to_bytes();
        assert_eq!(&bytes[..], b"hello");
        assert!(ResponseBody::full(Bytes::new()).is_end_stream());
    }

    #[tokio::test]
    async fn a_streamed_body_yields_chunks_until_the_sender_is_dropped() {
        let (tx, rx) = mpsc::channel(4);
        let body = ResponseBody::stream(rx).keep_while_streaming(());
        assert!(body.is_stream());
        assert_eq!(body.size_hint().exact(), None);
        tx.send(Bytes::from_static(b"a")).await.expect("open");
        tx.send(Bytes::from_static(b"bc")).await.expect("open");
        drop(tx);
        let bytes = body.collect().await.expect("infallible").to_bytes();
        assert_eq!(&bytes[..], b"abc");
    }
}
