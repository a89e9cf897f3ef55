//! SQS errors and their two wire renderings.
//!
//! [`SqsErrorCode`] covers every error shape of the botocore model plus the common
//! errors AWS answers for any action. Each code knows its AWS JSON 1.0 `__type`, its
//! legacy query code (the model's `awsQueryError` code, e.g. `QueueDoesNotExist` →
//! `AWS.SimpleQueueService.NonExistentQueue`), its HTTP status and whether the
//! sender is at fault.
//!
//! SQS over JSON is `awsQueryCompatible`: SDKs take the error code from the
//! `x-amzn-query-error: <code>;<Sender|Receiver>` header, not from `__type`. Without
//! that header `except sqs.exceptions.QueueDoesNotExist` in boto3 never matches, so
//! [`render_json_error`] always sends it.
//!
//! Common errors use the `com.amazon.coral.service#` namespace that real SQS
//! answers with (e.g. `com.amazon.coral.service#InvalidParameterValueException`
//! with query code `InvalidParameterValue`); model errors use `com.amazonaws.sqs#`.

use crate::query::{error_document, fault_type};

/// Content type of an AWS JSON 1.0 body.
pub const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.0";
/// Header that carries the legacy query error code on JSON errors.
pub const QUERY_ERROR_HEADER: &str = "x-amzn-query-error";
/// XML namespace of every SQS query response.
pub const XML_NAMESPACE: &str = "http://queue.amazonaws.com/doc/2012-11-05/";

macro_rules! sqs_error_codes {
    ($($variant:ident => ($json:expr, $query:expr, $status:expr)),* $(,)?) => {
        /// An SQS error code: a model error shape or a common AWS error.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum SqsErrorCode {
            $(
                #[doc = concat!("`", $query, "` (HTTP ", stringify!($status), ").")]
                $variant,
            )*
        }

        impl SqsErrorCode {
            /// Every code, for tables and tests.
            pub const ALL: &'static [SqsErrorCode] = &[$(SqsErrorCode::$variant),*];

            /// The AWS JSON 1.0 `__type` (`com.amazonaws.sqs#QueueDoesNotExist`).
            pub fn json_type(self) -> &'static str {
                match self {
                    $(SqsErrorCode::$variant => $json,)*
                }
            }

            /// The query protocol `<Code>` and `x-amzn-query-error` code
            /// (`AWS.SimpleQueueService.NonExistentQueue`).
            pub fn query_code(self) -> &'static str {
                match self {
                    $(SqsErrorCode::$variant => $query,)*
                }
            }

            /// The HTTP status AWS answers with.
            pub fn http_status(self) -> u16 {
                match self {
                    $(SqsErrorCode::$variant => $status,)*
                }
            }
        }
    };
}

// Model shapes: codes and statuses from the model's `awsQueryError` traits (as
// carried by aws-sdk-sqs and the SDKs' generated deserializers). Common errors:
// the SQS API reference "Common Errors" page and recorded AWS answers.
sqs_error_codes!(
    // --- model error shapes ---
    BatchEntryIdsNotDistinct => ("com.amazonaws.sqs#BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400),
    BatchRequestTooLong => ("com.amazonaws.sqs#BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", 400),
    EmptyBatchRequest => ("com.amazonaws.sqs#EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", 400),
    InvalidAddress => ("com.amazonaws.sqs#InvalidAddress", "InvalidAddress", 404),
    InvalidAttributeName => ("com.amazonaws.sqs#InvalidAttributeName", "InvalidAttributeName", 400),
    InvalidAttributeValue => ("com.amazonaws.sqs#InvalidAttributeValue", "InvalidAttributeValue", 400),
    InvalidBatchEntryId => ("com.amazonaws.sqs#InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", 400),
    InvalidIdFormat => ("com.amazonaws.sqs#InvalidIdFormat", "InvalidIdFormat", 400),
    InvalidMessageContents => ("com.amazonaws.sqs#InvalidMessageContents", "InvalidMessageContents", 400),
    InvalidSecurity => ("com.amazonaws.sqs#InvalidSecurity", "InvalidSecurity", 403),
    KmsAccessDenied => ("com.amazonaws.sqs#KmsAccessDenied", "KMS.AccessDeniedException", 400),
    KmsDisabled => ("com.amazonaws.sqs#KmsDisabled", "KMS.DisabledException", 400),
    KmsInvalidKeyUsage => ("com.amazonaws.sqs#KmsInvalidKeyUsage", "KMS.InvalidKeyUsageException", 400),
    KmsInvalidState => ("com.amazonaws.sqs#KmsInvalidState", "KMS.InvalidStateException", 400),
    KmsNotFound => ("com.amazonaws.sqs#KmsNotFound", "KMS.NotFoundException", 400),
    KmsOptInRequired => ("com.amazonaws.sqs#KmsOptInRequired", "KMS.OptInRequired", 403),
    KmsThrottled => ("com.amazonaws.sqs#KmsThrottled", "KMS.ThrottlingException", 400),
    MessageNotInflight => ("com.amazonaws.sqs#MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", 400),
    OverLimit => ("com.amazonaws.sqs#OverLimit", "OverLimit", 403),
    PurgeQueueInProgress => ("com.amazonaws.sqs#PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress", 403),
    QueueDeletedRecently => ("com.amazonaws.sqs#QueueDeletedRecently", "AWS.SimpleQueueService.QueueDeletedRecently", 400),
    QueueDoesNotExist => ("com.amazonaws.sqs#QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", 400),
    QueueNameExists => ("com.amazonaws.sqs#QueueNameExists", "QueueAlreadyExists", 400),
    ReceiptHandleIsInvalid => ("com.amazonaws.sqs#ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", 404),
    RequestThrottled => ("com.amazonaws.sqs#RequestThrottled", "RequestThrottled", 403),
    ResourceNotFoundException => ("com.amazonaws.sqs#ResourceNotFoundException", "ResourceNotFoundException", 404),
    TooManyEntriesInBatchRequest => ("com.amazonaws.sqs#TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400),
    UnsupportedOperation => ("com.amazonaws.sqs#UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", 400),
    // --- common errors ---
    AccessDenied => ("com.amazon.coral.service#AccessDeniedException", "AccessDenied", 403),
    IncompleteSignature => ("com.amazon.coral.service#IncompleteSignatureException", "IncompleteSignature", 400),
    InternalFailure => ("com.amazon.coral.service#InternalFailure", "InternalFailure", 500),
    InvalidAction => ("com.amazon.coral.service#UnknownOperationException", "InvalidAction", 400),
    InvalidClientTokenId => ("com.amazon.coral.service#UnrecognizedClientException", "InvalidClientTokenId", 403),
    InvalidParameterCombination => ("com.amazon.coral.service#InvalidParameterCombinationException", "InvalidParameterCombination", 400),
    InvalidParameterValue => ("com.amazon.coral.service#InvalidParameterValueException", "InvalidParameterValue", 400),
    InvalidQueryParameter => ("com.amazon.coral.service#InvalidQueryParameterException", "InvalidQueryParameter", 400),
    MalformedQueryString => ("com.amazon.coral.service#MalformedQueryStringException", "MalformedQueryString", 404),
    // A JSON body that does not parse, or a member of the wrong type. Coral's
    // deserializer answers `SerializationException`; over the query-compatible
    // header that is `MalformedInput`. Clients treat it as a plain 400 client
    // error, which is what it is: the request never reached the operation.
    MalformedInput => ("com.amazon.coral.service#SerializationException", "MalformedInput", 400),
    MissingAction => ("com.amazon.coral.service#MissingActionException", "MissingAction", 400),
    MissingAuthenticationToken => ("com.amazon.coral.service#MissingAuthenticationTokenException", "MissingAuthenticationToken", 403),
    MissingParameter => ("com.amazon.coral.service#MissingRequiredParameterException", "MissingParameter", 400),
    OptInRequired => ("com.amazon.coral.service#OptInRequired", "OptInRequired", 403),
    RequestExpired => ("com.amazon.coral.service#RequestExpired", "RequestExpired", 400),
    ServiceUnavailable => ("com.amazon.coral.service#ServiceUnavailableException", "ServiceUnavailable", 503),
    SignatureDoesNotMatch => ("com.amazon.coral.service#InvalidSignatureException", "SignatureDoesNotMatch", 403),
    ThrottlingException => ("com.amazon.coral.service#ThrottlingException", "ThrottlingException", 400),
);

impl SqsErrorCode {
    /// Whether the client is at fault (`Sender`) rather than the service
    /// (`Receiver`): every 5xx is the service's fault.
    pub fn sender_fault(self) -> bool {
        self.http_status() < 500
    }

    /// `Sender` or `Receiver`, as in `<Type>` and `x-amzn-query-error`.
    pub fn fault_type(self) -> &'static str {
        fault_type(self.http_status())
    }

    /// Finds a code by its query code or by the name after `#` in its JSON type.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.query_code() == code || c.json_type().rsplit('#').next() == Some(code))
    }
}

/// An SQS error: a code and the human-readable message sent with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.query_code())]
pub struct SqsError {
    /// What went wrong, as AWS names it.
    pub code: SqsErrorCode,
    /// The message sent to the client.
    pub message: String,
}

impl SqsError {
    /// An error with a code and a message.
    pub fn new(code: SqsErrorCode, message: impl Into<String>) -> Self {
        SqsError {
            code,
            message: message.into(),
        }
    }

    /// `MissingParameter`: "The request must contain the parameter X."
    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            SqsErrorCode::MissingParameter,
            format!("The request must contain the parameter {name}."),
        )
    }

    /// `InvalidParameterValue` with the given message.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(SqsErrorCode::InvalidParameterValue, message)
    }

    /// `InvalidParameterValue` in AWS's "Value V for parameter P is invalid. Reason: R." form.
    pub fn invalid_value(name: &str, value: impl std::fmt::Display, reason: &str) -> Self {
        Self::invalid_parameter(format!(
            "Value {value} for parameter {name} is invalid. Reason: {reason}"
        ))
    }

    /// `QueueDoesNotExist` with AWS's message.
    pub fn queue_does_not_exist() -> Self {
        // The model's messageForQueryCompatibility for this shape.
        Self::new(SqsErrorCode::QueueDoesNotExist, "The specified queue does not exist.")
    }

    /// `InternalFailure` (500) with an opaque message.
    pub fn internal() -> Self {
        Self::new(
            SqsErrorCode::InternalFailure,
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    }
}

/// Renders an error for AWS JSON 1.0: `(status, headers, body)`.
///
/// Body `{"__type": "...", "message": "..."}`, headers `content-type` and
/// `x-amzn-query-error: <query code>;<Sender|Receiver>`.
pub fn render_json_error(err: &SqsError) -> (u16, Vec<(&'static str, String)>, Vec<u8>) {
    let body = serde_json::json!({
        "__type": err.code.json_type(),
        "message": err.message,
    });
    let headers = vec![
        ("content-type", JSON_CONTENT_TYPE.to_string()),
        (
            QUERY_ERROR_HEADER,
            format!("{};{}", err.code.query_code(), err.code.fault_type()),
        ),
    ];
    (err.code.http_status(), headers, body.to_string().into_bytes())
}

/// Renders an error for the query protocol: `(status, body)` with `text/xml` body.
pub fn render_query_error(err: &SqsError, request_id: &str) -> (u16, Vec<u8>) {
    let status = err.code.http_status();
    let body = error_document(
        XML_NAMESPACE,
        status,
        err.code.query_code(),
        &err.message,
        request_id,
        true,
    );
    (status, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_codes() {
        let table = [
            (
                SqsErrorCode::QueueDoesNotExist,
                "com.amazonaws.sqs#QueueDoesNotExist",
                "AWS.SimpleQueueService.NonExistentQueue",
                400,
            ),
            (
                SqsErrorCode::QueueNameExists,
                "com.amazonaws.sqs#QueueNameExists",
                "QueueAlreadyExists",
                400,
            ),
            (
                SqsErrorCode::InvalidParameterValue,
                "com.amazon.coral.service#InvalidParameterValueException",
                "InvalidParameterValue",
                400,
            ),
            (
                SqsErrorCode::PurgeQueueInProgress,
                "com.amazonaws.sqs#PurgeQueueInProgress",
                "AWS.SimpleQueueService.PurgeQueueInProgress",
                403,
            ),
            (
                SqsErrorCode::ReceiptHandleIsInvalid,
                "com.amazonaws.sqs#ReceiptHandleIsInvalid",
                "ReceiptHandleIsInvalid",
                404,
            ),
            (
                SqsErrorCode::KmsThrottled,
                "com.amazonaws.sqs#KmsThrottled",
                "KMS.ThrottlingException",
                400,
            ),
            (
                SqsErrorCode::InternalFailure,
                "com.amazon.coral.service#InternalFailure",
                "InternalFailure",
                500,
            ),
        ];
        for (code, json, query, status) in table {
            assert_eq!(code.json_type(), json);
            assert_eq!(code.query_code(), query);
            assert_eq!(code.http_status(), status);
            assert_eq!(SqsErrorCode::from_code(query), Some(code));
        }
        assert!(!SqsErrorCode::InternalFailure.sender_fault());
        assert!(SqsErrorCode::RequestThrottled.sender_fault());
    }

    #[test]
    fn codes_are_distinct() {
        let all = SqsErrorCode::ALL;
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a.query_code(), b.query_code());
                assert_ne!(a.json_type(), b.json_type());
            }
        }
    }

    #[test]
    fn json_rendering() {
        let err = SqsError::queue_does_not_exist();
        let (status, headers, body) = render_json_error(&err);
        assert_eq!(status, 400);
        assert!(headers.contains(&(
            "x-amzn-query-error",
            "AWS.SimpleQueueService.NonExistentQueue;Sender".to_string()
        )));
        assert!(headers.contains(&("content-type", "application/x-amz-json-1.0".to_string())));
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(v["__type"], "com.amazonaws.sqs#QueueDoesNotExist");
        assert_eq!(v["message"], "The specified queue does not exist.");

        let (status, headers, _) = render_json_error(&SqsError::internal());
        assert_eq!(status, 500);
        assert!(headers.contains(&("x-amzn-query-error", "InternalFailure;Receiver".to_string())));
    }

    #[test]
    fn query_rendering() {
        let err = SqsError::invalid_parameter("a < b & \"c\"");
        let (status, body) = render_query_error(&err, "req-1");
        assert_eq!(status, 400);
        assert_eq!(
            String::from_utf8_lossy(&body),
            "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><Error><Type>Sender</Type><Code>InvalidParameterValue</Code><Message>a &lt; b &amp; &quot;c&quot;</Message><Detail/></Error><RequestId>req-1</RequestId></ErrorResponse>"
        );
    }
}
