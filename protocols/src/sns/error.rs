//! SNS errors: the codes of the botocore model's error shapes (HTTP status and fault from
//! their `error` traits), and the query protocol's XML error document.

use crate::query::xml_escape;

/// The query API namespace of SNS responses.
pub const XML_NAMESPACE: &str = "http://sns.amazonaws.com/doc/2010-03-31/";

/// An SNS error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnsErrorCode {
    /// `NotFound` (404): the topic or subscription does not exist.
    NotFound,
    /// `ResourceNotFound` (404): the tagged resource does not exist.
    ResourceNotFound,
    /// `InvalidParameter` (400).
    InvalidParameter,
    /// `ParameterValueInvalid` (400): a message attribute is malformed.
    ParameterValueInvalid,
    /// `ValidationError` (400): a required member is missing.
    ValidationError,
    /// `AuthorizationError` (403).
    AuthorizationError,
    /// `TagLimitExceeded` (400).
    TagLimitExceeded,
    /// `FilterPolicyLimitExceeded` (403).
    FilterPolicyLimitExceeded,
    /// `BatchEntryIdsNotDistinct` (400).
    BatchEntryIdsNotDistinct,
    /// `EmptyBatchRequest` (400).
    EmptyBatchRequest,
    /// `TooManyEntriesInBatchRequest` (400).
    TooManyEntriesInBatchRequest,
    /// `BatchRequestTooLong` (400).
    BatchRequestTooLong,
    /// `InvalidBatchEntryId` (400).
    InvalidBatchEntryId,
    /// `InvalidAction` (400): not an SNS action, or one Sluice does not serve.
    InvalidAction,
    /// `MissingAction` (400).
    MissingAction,
    /// `InvalidClientTokenId` (403): unknown access key.
    InvalidClientTokenId,
    /// `SignatureDoesNotMatch` (403).
    SignatureDoesNotMatch,
    /// `IncompleteSignature` (400).
    IncompleteSignature,
    /// `RequestExpired` (400).
    RequestExpired,
    /// `AccessDenied` (403): an identity policy refuses the call.
    AccessDenied,
    /// `RequestEntityTooLarge` (413): the body is over the limit.
    RequestEntityTooLarge,
    /// `InternalError` (500).
    InternalError,
}

impl SnsErrorCode {
    /// The `<Code>` text.
    pub fn code(self) -> &'static str {
        match self {
            SnsErrorCode::NotFound => "NotFound",
            SnsErrorCode::ResourceNotFound => "ResourceNotFound",
            SnsErrorCode::InvalidParameter => "InvalidParameter",
            SnsErrorCode::ParameterValueInvalid => "ParameterValueInvalid",
            SnsErrorCode::ValidationError => "ValidationError",
            SnsErrorCode::AuthorizationError => "AuthorizationError",
            SnsErrorCode::TagLimitExceeded => "TagLimitExceeded",
            SnsErrorCode::FilterPolicyLimitExceeded => "FilterPolicyLimitExceeded",
            SnsErrorCode::BatchEntryIdsNotDistinct => "BatchEntryIdsNotDistinct",
            SnsErrorCode::EmptyBatchRequest => "EmptyBatchRequest",
            SnsErrorCode::TooManyEntriesInBatchRequest => "TooManyEntriesInBatchRequest",
            SnsErrorCode::BatchRequestTooLong => "BatchRequestTooLong",
            SnsErrorCode::InvalidBatchEntryId => "InvalidBatchEntryId",
            SnsErrorCode::InvalidAction => "InvalidAction",
            SnsErrorCode::MissingAction => "MissingAction",
            SnsErrorCode::InvalidClientTokenId => "InvalidClientTokenId",
            SnsErrorCode::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            SnsErrorCode::IncompleteSignature => "IncompleteSignature",
            SnsErrorCode::RequestExpired => "RequestExpired",
            SnsErrorCode::AccessDenied => "AccessDenied",
            SnsErrorCode::RequestEntityTooLarge => "RequestEntityTooLarge",
            SnsErrorCode::InternalError => "InternalError",
        }
    }

    /// The HTTP status.
    pub fn http_status(self) -> u16 {
        match self {
            SnsErrorCode::NotFound | SnsErrorCode::ResourceNotFound => 404,
            SnsErrorCode::AuthorizationError
            | SnsErrorCode::FilterPolicyLimitExceeded
            | SnsErrorCode::InvalidClientTokenId
            | SnsErrorCode::SignatureDoesNotMatch
            | SnsErrorCode::AccessDenied => 403,
            SnsErrorCode::RequestEntityTooLarge => 413,
            SnsErrorCode::InternalError => 500,
            _ => 400,
        }
    }

    /// `Sender` for client errors, `Receiver` for server errors.
    pub fn fault_type(self) -> &'static str {
        if self.http_status() >= 500 {
            "Receiver"
        } else {
            "Sender"
        }
    }
}

/// An SNS error with its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.code())]
pub struct SnsError {
    /// The code.
    pub code: SnsErrorCode,
    /// The message shown to the client.
    pub message: String,
}

impl SnsError {
    /// An error with `code` and `message`.
    pub fn new(code: SnsErrorCode, message: impl Into<String>) -> Self {
        SnsError {
            code,
            message: message.into(),
        }
    }

    /// `InvalidParameter` with SNS's `Invalid parameter: ...` message.
    pub fn invalid(what: impl std::fmt::Display) -> Self {
        SnsError::new(SnsErrorCode::InvalidParameter, format!("Invalid parameter: {what}"))
    }

    /// A required member is absent (the query protocol's validation message).
    pub fn missing(member: &str) -> Self {
        SnsError::new(
            SnsErrorCode::ValidationError,
            format!("1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"),
        )
    }

    /// An opaque server error.
    pub fn internal() -> Self {
        SnsError::new(SnsErrorCode::InternalError, "An internal error occurred.")
    }
}

/// Renders an error as the query protocol's XML document: `(status, body)`.
pub fn render_query_error(err: &SnsError, request_id: &str) -> (u16, Vec<u8>) {
    let body = format!(
        "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"{XML_NAMESPACE}\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        err.code.fault_type(),
        err.code.code(),
        xml_escape(&err.message),
        xml_escape(request_id),
    );
    (err.code.http_status(), body.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_document() {
        let (status, body) = render_query_error(&SnsError::new(SnsErrorCode::NotFound, "Topic does not exist"), "r-1");
        assert_eq!(status, 404);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
        );
        assert_eq!(SnsErrorCode::InternalError.fault_type(), "Receiver");
        assert_eq!(SnsErrorCode::FilterPolicyLimitExceeded.http_status(), 403);
    }
}
