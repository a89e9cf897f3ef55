//! Wire-facing types that the dispatcher and the service handlers share: which service and
//! protocol a request speaks, the response body, plain responses, and the header tests that
//! tell the services apart.
//!
//! A leaf module: it imports nothing of this crate but the body type, so `dispatch`, `api/*`,
//! `admin` and `checkpoint` all depend on it and it on none of them (no import circle, issue 15).

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};

pub use crate::body::ResponseBody;

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
}

impl Service {
    /// The metric label and SigV4 service name.
    pub fn label(self) -> &'static str {
        match self {
            Service::Sqs => "sqs",
            Service::Sns => "sns",
            Service::Kinesis => "kinesis",
        }
    }

    /// The service named by a SigV4 credential scope.
    pub fn from_signing_name(name: &str) -> Option<Service> {
        match name {
            "sqs" => Some(Service::Sqs),
            "sns" => Some(Service::Sns),
            "kinesis" => Some(Service::Kinesis),
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
