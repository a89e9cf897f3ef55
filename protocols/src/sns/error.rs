//! SNS errors: every code of the botocore model's error shapes (`"error": {"code",
//! "httpStatusCode", "senderFault"}` in `sns/2010-03-31/service-2.json`), the common query-API
//! errors, and the query protocol's XML error document.
//!
//! The `<Type>` of the document is `Receiver` for 5xx codes and `Sender` otherwise: every SNS
//! error shape but `InternalError` has `senderFault: true`. botocore picks the exception class
//! from `<Code>` (`InvalidParameter` → `InvalidParameterException`), so the code text is the
//! contract; codes are append-only (CONTRIBUTING.md, style rule 3).

use crate::query::{error_document, fault_type};

/// The query API namespace of SNS responses.
pub const XML_NAMESPACE: &str = "http://sns.amazonaws.com/doc/2010-03-31/";

macro_rules! sns_error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident => ($code:literal, $status:literal),)*) => {
        /// An SNS error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum SnsErrorCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl SnsErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [SnsErrorCode] = &[$(SnsErrorCode::$variant),*];

            /// The `<Code>` text.
            pub fn code(self) -> &'static str {
                match self {
                    $(SnsErrorCode::$variant => $code,)*
                }
            }

            /// The HTTP status.
            pub fn http_status(self) -> u16 {
                match self {
                    $(SnsErrorCode::$variant => $status,)*
                }
            }
        }
    };
}

sns_error_codes! {
    // --- Error shapes of the model (code and status from their `error` trait). ---
    /// `AuthorizationError` (403): the caller may not perform the action.
    AuthorizationError => ("AuthorizationError", 403),
    /// `BatchEntryIdsNotDistinct` (400): two PublishBatch entries share an Id.
    BatchEntryIdsNotDistinct => ("BatchEntryIdsNotDistinct", 400),
    /// `BatchRequestTooLong` (400): the PublishBatch messages add up to more than 256 KiB.
    BatchRequestTooLong => ("BatchRequestTooLong", 400),
    /// `ConcurrentAccess` (400): another request is changing the same resource.
    ConcurrentAccess => ("ConcurrentAccess", 400),
    /// `EmptyBatchRequest` (400): a PublishBatch without entries.
    EmptyBatchRequest => ("EmptyBatchRequest", 400),
    /// `EndpointDisabled` (400): a mobile endpoint is disabled.
    EndpointDisabled => ("EndpointDisabled", 400),
    /// `FilterPolicyLimitExceeded` (403): too many filter policies.
    FilterPolicyLimitExceeded => ("FilterPolicyLimitExceeded", 403),
    /// `InternalError` (500): the only Receiver fault of the model.
    InternalError => ("InternalError", 500),
    /// `InvalidBatchEntryId` (400): a PublishBatch entry Id breaks the Id rules.
    InvalidBatchEntryId => ("InvalidBatchEntryId", 400),
    /// `InvalidParameter` (400): SNS's general "bad request" (`Invalid parameter: ...`).
    InvalidParameter => ("InvalidParameter", 400),
    /// `ParameterValueInvalid` (400): a malformed message attribute. This is the code of the
    /// model's `InvalidParameterValueException`; see also [`SnsErrorCode::InvalidParameterValue`].
    ParameterValueInvalid => ("ParameterValueInvalid", 400),
    /// `InvalidSecurity` (403): the request was not made over HTTPS or not signed with SigV4.
    InvalidSecurity => ("InvalidSecurity", 403),
    /// `InvalidState` (400): the topic is being deleted or changed.
    InvalidState => ("InvalidState", 400),
    /// `KMSAccessDenied` (400).
    KmsAccessDenied => ("KMSAccessDenied", 400),
    /// `KMSDisabled` (400).
    KmsDisabled => ("KMSDisabled", 400),
    /// `KMSInvalidState` (400).
    KmsInvalidState => ("KMSInvalidState", 400),
    /// `KMSNotFound` (400).
    KmsNotFound => ("KMSNotFound", 400),
    /// `KMSOptInRequired` (403).
    KmsOptInRequired => ("KMSOptInRequired", 403),
    /// `KMSThrottling` (400).
    KmsThrottling => ("KMSThrottling", 400),
    /// `NotFound` (404): the topic or subscription does not exist.
    NotFound => ("NotFound", 404),
    /// `OptedOut` (400): the phone number opted out of SMS.
    OptedOut => ("OptedOut", 400),
    /// `PlatformApplicationDisabled` (400).
    PlatformApplicationDisabled => ("PlatformApplicationDisabled", 400),
    /// `ReplayLimitExceeded` (403): too many FIFO message replays.
    ReplayLimitExceeded => ("ReplayLimitExceeded", 403),
    /// `ResourceNotFound` (404): the tagged resource does not exist (tagging actions).
    ResourceNotFound => ("ResourceNotFound", 404),
    /// `StaleTag` (400): a tag changed while being read.
    StaleTag => ("StaleTag", 400),
    /// `SubscriptionLimitExceeded` (403): the account has too many subscriptions.
    SubscriptionLimitExceeded => ("SubscriptionLimitExceeded", 403),
    /// `TagLimitExceeded` (400): more than 50 tags on a resource.
    TagLimitExceeded => ("TagLimitExceeded", 400),
    /// `TagPolicy` (400): the tags break an organization tag policy.
    TagPolicy => ("TagPolicy", 400),
    /// `Throttled` (429): the account's request rate is exceeded.
    Throttled => ("Throttled", 429),
    /// `TooManyEntriesInBatchRequest` (400): more than 10 PublishBatch entries.
    TooManyEntriesInBatchRequest => ("TooManyEntriesInBatchRequest", 400),
    /// `TopicLimitExceeded` (403): the account has too many topics.
    TopicLimitExceeded => ("TopicLimitExceeded", 403),
    /// `UserError` (400): an SMS sandbox request is invalid.
    UserError => ("UserError", 400),
    /// `ValidationException` (400): the model's exception of the SMS origination APIs.
    ValidationException => ("ValidationException", 400),

    // --- Errors every query API shares (AWS "Common Errors"). ---
    /// `ValidationError` (400): the query front end's model validation, e.g. `1 validation
    /// error detected: Value null at 'name' failed to satisfy constraint: Member must not be
    /// null`.
    ValidationError => ("ValidationError", 400),
    /// `InvalidParameterValue` (400): the common-errors code; SNS's own shapes use
    /// [`SnsErrorCode::ParameterValueInvalid`] instead.
    InvalidParameterValue => ("InvalidParameterValue", 400),
    /// `MissingParameter` (400): a common-errors code for an absent parameter.
    MissingParameter => ("MissingParameter", 400),
    /// `InvalidAction` (400): not an SNS action, or one Sluice does not serve.
    InvalidAction => ("InvalidAction", 400),
    /// `MissingAction` (400): no `Action` parameter.
    MissingAction => ("MissingAction", 400),
    /// `MalformedQueryString` (404): the query string cannot be parsed.
    MalformedQueryString => ("MalformedQueryString", 404),
    /// `InvalidClientTokenId` (403): unknown access key.
    InvalidClientTokenId => ("InvalidClientTokenId", 403),
    /// `SignatureDoesNotMatch` (403).
    SignatureDoesNotMatch => ("SignatureDoesNotMatch", 403),
    /// `IncompleteSignature` (400).
    IncompleteSignature => ("IncompleteSignature", 400),
    /// `MissingAuthenticationToken` (403): an unsigned request where a signature is required.
    MissingAuthenticationToken => ("MissingAuthenticationToken", 403),
    /// `RequestExpired` (400): the signature's date is too far from now.
    RequestExpired => ("RequestExpired", 400),
    /// `AccessDenied` (403): an identity policy refuses the call.
    AccessDenied => ("AccessDenied", 403),
    /// `RequestEntityTooLarge` (413): the body is over the server's limit.
    RequestEntityTooLarge => ("RequestEntityTooLarge", 413),
    /// `ServiceUnavailable` (503): the server is shutting down or overloaded.
    ServiceUnavailable => ("ServiceUnavailable", 503),
    /// `RequestTimeout` (408): the body did not arrive in time. botocore's retry handler
    /// counts this code as transient, so SDK clients retry it.
    RequestTimeout => ("RequestTimeout", 408),
}

impl SnsErrorCode {
    /// `Receiver` for server errors (5xx), `Sender` for everything else, as the model's
    /// `senderFault` says.
    pub fn fault_type(self) -> &'static str {
        fault_type(self.http_status())
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

    /// A required member SNS's own code checks is absent or empty: `InvalidParameter`,
    /// `Invalid parameter: TopicArn Reason: no value for required parameter` (AWS's answer to
    /// DeleteTopic and Publish without an ARN, as the aws-sdk-ruby fixtures and AWS-tested
    /// mocks record it).
    pub fn no_value(member: &str) -> Self {
        SnsError::invalid(format!("{member} Reason: no value for required parameter"))
    }

    /// A member the query front end requires is absent: `ValidationError`, `1 validation error
    /// detected: Value null at 'name' failed to satisfy constraint: Member must not be null`
    /// (AWS's answer to CreateTopic without Name and Publish without Message). `path` is the
    /// member's lower-camel-case path.
    pub fn null_member(path: &str) -> Self {
        SnsError::new(
            SnsErrorCode::ValidationError,
            format!("1 validation error detected: Value null at '{path}' failed to satisfy constraint: Member must not be null"),
        )
    }

    /// An opaque server error.
    pub fn internal() -> Self {
        SnsError::new(SnsErrorCode::InternalError, "An internal error occurred.")
    }
}

/// Renders an error as the query protocol's XML document: `(status, body)`.
///
/// The layout is AWS's: `<ErrorResponse xmlns=...><Error><Type/><Code/><Message/></Error>
/// <RequestId/></ErrorResponse>`; botocore's `QueryParser` reads `Error.Code` and
/// `Error.Message` from it and `RequestId` as the response metadata.
pub fn render_query_error(err: &SnsError, request_id: &str) -> (u16, Vec<u8>) {
    let status = err.code.http_status();
    let body = error_document(XML_NAMESPACE, status, err.code.code(), &err.message, request_id, false);
    (status, body)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn error_document() {
        let (status, body) = render_query_error(&SnsError::new(SnsErrorCode::NotFound, "Topic does not exist"), "r-1");
        assert_eq!(status, 404);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
        );
    }

    #[test]
    fn receiver_faults_and_escaping() {
        let (status, body) = render_query_error(&SnsError::internal(), "a&b");
        assert_eq!(status, 500);
        let body = String::from_utf8(body).unwrap();
        assert!(
            body.contains("<Type>Receiver</Type><Code>InternalError</Code>"),
            "{body}"
        );
        assert!(body.contains("<RequestId>a&amp;b</RequestId>"), "{body}");
        let (_, body) = render_query_error(&SnsError::invalid("Subject <x>"), "r");
        assert!(String::from_utf8(body)
            .unwrap()
            .contains("<Message>Invalid parameter: Subject &lt;x&gt;</Message>"));
    }

    /// Every error shape of the model (botocore 1.43), with its `error` trait.
    #[test]
    fn codes_match_the_model() {
        let model = [
            ("AuthorizationError", 403),
            ("BatchEntryIdsNotDistinct", 400),
            ("BatchRequestTooLong", 400),
            ("ConcurrentAccess", 400),
            ("EmptyBatchRequest", 400),
            ("EndpointDisabled", 400),
            ("FilterPolicyLimitExceeded", 403),
            ("InternalError", 500),
            ("InvalidBatchEntryId", 400),
            ("InvalidParameter", 400),
            ("ParameterValueInvalid", 400),
            ("InvalidSecurity", 403),
            ("InvalidState", 400),
            ("KMSAccessDenied", 400),
            ("KMSDisabled", 400),
            ("KMSInvalidState", 400),
            ("KMSNotFound", 400),
            ("KMSOptInRequired", 403),
            ("KMSThrottling", 400),
            ("NotFound", 404),
            ("OptedOut", 400),
            ("PlatformApplicationDisabled", 400),
            ("ReplayLimitExceeded", 403),
            ("ResourceNotFound", 404),
            ("StaleTag", 400),
            ("SubscriptionLimitExceeded", 403),
            ("TagLimitExceeded", 400),
            ("TagPolicy", 400),
            ("Throttled", 429),
            ("TooManyEntriesInBatchRequest", 400),
            ("TopicLimitExceeded", 403),
            ("UserError", 400),
            ("ValidationException", 400),
        ];
        for (code, status) in model {
            let found = SnsErrorCode::ALL.iter().find(|c| c.code() == code);
            assert_eq!(found.map(|c| c.http_status()), Some(status), "{code}");
            assert_eq!(
                found.map(|c| c.fault_type()),
                Some(if status >= 500 { "Receiver" } else { "Sender" })
            );
        }
        let distinct: HashSet<&str> = SnsErrorCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(distinct.len(), SnsErrorCode::ALL.len(), "codes are distinct");
    }

    #[test]
    fn required_member_messages() {
        let err = SnsError::no_value("TopicArn");
        assert_eq!(err.code, SnsErrorCode::InvalidParameter);
        assert_eq!(
            err.message,
            "Invalid parameter: TopicArn Reason: no value for required parameter"
        );
        let err = SnsError::null_member("name");
        assert_eq!(err.code, SnsErrorCode::ValidationError);
        assert_eq!(
            err.message,
            "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"
        );
    }
}
