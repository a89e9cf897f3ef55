//! Kinesis error codes and the one renderer of Kinesis error bodies.
//!
//! AWS answers every Kinesis error as `{"__type": "<Code>", "message": "..."}` in the request's
//! encoding, HTTP 400 for client errors and 500 for `InternalFailure`. The codes are the
//! exception shapes of the service model plus the protocol-level ones every AWS JSON service
//! shares (`SerializationException`, `UnknownOperationException`, `ValidationException`).

use super::value::{Encoding, Obj};

/// Every error code Sluice's Kinesis API answers with. Append-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KinesisErrorCode {
    /// The stream (or shard, consumer, policy) does not exist.
    ResourceNotFound,
    /// The resource is not in a state that allows the operation (CREATING, UPDATING, ...).
    ResourceInUse,
    /// A value is semantically invalid.
    InvalidArgument,
    /// A count or rate limit was reached.
    LimitExceeded,
    /// The shard iterator is older than five minutes.
    ExpiredIterator,
    /// A pagination token is older than five minutes.
    ExpiredNextToken,
    /// Per-shard throughput exceeded (only when realism limits are on).
    ProvisionedThroughputExceeded,
    /// A value breaks the model's shape constraints (length, pattern, range, required).
    Validation,
    /// The body is not valid JSON/CBOR or a member has the wrong type.
    Serialization,
    /// The `X-Amz-Target` action is not a Kinesis action.
    UnknownOperation,
    /// The caller may not do this.
    AccessDenied,
    /// Sluice failed; the request may be retried.
    InternalFailure,
    /// The request carries no signature (`--auth verify`).
    MissingAuthenticationToken,
    /// The signature is incomplete or malformed.
    IncompleteSignature,
    /// The access key (or its session token) is unknown.
    UnrecognizedClient,
    /// The signature does not match, has the wrong scope or expired.
    InvalidSignature,
}

impl KinesisErrorCode {
    /// The `__type` on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            KinesisErrorCode::ResourceNotFound => "ResourceNotFoundException",
            KinesisErrorCode::ResourceInUse => "ResourceInUseException",
            KinesisErrorCode::InvalidArgument => "InvalidArgumentException",
            KinesisErrorCode::LimitExceeded => "LimitExceededException",
            KinesisErrorCode::ExpiredIterator => "ExpiredIteratorException",
            KinesisErrorCode::ExpiredNextToken => "ExpiredNextTokenException",
            KinesisErrorCode::ProvisionedThroughputExceeded => "ProvisionedThroughputExceededException",
            KinesisErrorCode::Validation => "ValidationException",
            KinesisErrorCode::Serialization => "SerializationException",
            KinesisErrorCode::UnknownOperation => "UnknownOperationException",
            KinesisErrorCode::AccessDenied => "AccessDeniedException",
            KinesisErrorCode::InternalFailure => "InternalFailure",
            KinesisErrorCode::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            KinesisErrorCode::IncompleteSignature => "IncompleteSignatureException",
            KinesisErrorCode::UnrecognizedClient => "UnrecognizedClientException",
            KinesisErrorCode::InvalidSignature => "InvalidSignatureException",
        }
    }

    /// The HTTP status AWS uses for the code.
    pub fn status(self) -> u16 {
        match self {
            KinesisErrorCode::InternalFailure => 500,
            KinesisErrorCode::MissingAuthenticationToken => 403,
            _ => 400,
        }
    }
}

/// An error as clients see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KinesisError {
    /// The code.
    pub code: KinesisErrorCode,
    /// The message.
    pub message: String,
}

impl KinesisError {
    /// An error with a message.
    pub fn new(code: KinesisErrorCode, message: impl Into<String>) -> KinesisError {
        KinesisError {
            code,
            message: message.into(),
        }
    }

    /// A `ValidationException` in AWS's "1 validation error detected" wording.
    pub fn validation(detail: impl std::fmt::Display) -> KinesisError {
        KinesisError::new(
            KinesisErrorCode::Validation,
            format!("1 validation error detected: {detail}"),
        )
    }

    /// A `SerializationException`.
    pub fn serialization(message: impl Into<String>) -> KinesisError {
        KinesisError::new(KinesisErrorCode::Serialization, message)
    }

    /// An `InvalidArgumentException`.
    pub fn invalid(message: impl Into<String>) -> KinesisError {
        KinesisError::new(KinesisErrorCode::InvalidArgument, message)
    }

    /// The opaque 500 for internal failures.
    pub fn internal() -> KinesisError {
        KinesisError::new(KinesisErrorCode::InternalFailure, "Internal service failure.")
    }
}

/// Renders an error as `(status, content type, body)` in `encoding`.
pub fn render_error(err: &KinesisError, encoding: Encoding) -> (u16, &'static str, Vec<u8>) {
    (err.code.status(), encoding.content_type(), error_body(err, encoding))
}

/// The `{__type, message}` body of an error in `encoding`: an error response's, and the payload
/// of a SubscribeToShard `exception` event (`message` is the modelled member; `__type` lets SDKs
/// that read error metadata from the payload report the code too).
pub fn error_body(err: &KinesisError, encoding: Encoding) -> Vec<u8> {
    let body = Obj::with_capacity(2)
        .s("__type", err.code.as_str())
        .s("message", err.message.clone())
        .build();
    encoding.encode(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_render_in_both_encodings() {
        let err = KinesisError::new(
            KinesisErrorCode::ResourceNotFound,
            "Stream s under account 000000000000 not found.",
        );
        let (status, ct, body) = render_error(&err, Encoding::Json);
        assert_eq!((status, ct), (400, "application/x-amz-json-1.1"));
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(json["__type"], "ResourceNotFoundException");
        let (status, ct, body) = render_error(&KinesisError::internal(), Encoding::Cbor);
        assert_eq!((status, ct), (500, "application/x-amz-cbor-1.1"));
        let cbor: ciborium::Value = ciborium::de::from_reader(&body[..]).expect("cbor");
        let ciborium::Value::Map(entries) = cbor else {
            panic!("map")
        };
        assert_eq!(entries[0].1, ciborium::Value::Text("InternalFailure".into()));
    }
}
