//! The one place that decides AWS error codes, HTTP statuses and messages (CONTRIBUTING.md, style rule 2).
//!
//! # Layout
//! - [`Failure`]: the error of every handler, a wire error with one `From` per core error type
//!   (through [`sqs_error`], [`sns_error`], [`kinesis_error`]), so handlers use `?`.
//! - [`sqs_error`]: the core's [`QueueError`] → `sluice_protocols::sqs::SqsError`. The match is
//!   exhaustive on purpose: a new core error must be mapped here, not fall into a 500.
//! - [`DispatchError`]: errors raised by the server before a service codec is involved (body
//!   too large, unknown operation, unrecognized request), and [`dispatch_error_response`], which
//!   answers in the shape of the service the request was for (an SNS client gets SNS's XML
//!   namespace and codes, a Kinesis client its JSON or CBOR, everything else SQS's).
//! - [`sqs_error_response`], [`sns_error_response`], [`kinesis_error_response`]: every error
//!   response of every service is rendered here, through the protocol crate's renderers; this
//!   module never writes an error body itself, and no handler renders one.
//!
//! Internal failures stay opaque on the wire (`InternalFailure`, 500) and are logged here with
//! their cause.

use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};
use sluice_broker::function::FunctionError;
use sluice_broker::queue::QueueError;
use sluice_broker::stream::StreamError;
use sluice_broker::topic::TopicError;
use sluice_protocols::kinesis::{render_error, Encoding, KinesisError, KinesisErrorCode};
use sluice_protocols::lambda::{LambdaError, LambdaErrorCode};
use sluice_protocols::sigv4_verify::SignatureError;
use sluice_protocols::sns::{render_query_error as render_sns_error, SnsError, SnsErrorCode};
use sluice_protocols::sqs::{render_json_error, render_query_error, SqsError, SqsErrorCode};

use crate::wire::{text_response, Protocol, ResponseBody, Service};

/// A handler's failure: the wire error `W` its client is answered with (`SqsError`,
/// `SnsError`, `KinesisError`). Both sides of a `From<QueueError> for SqsError` would be
/// foreign to this crate (orphan rule), so this local wrapper carries the one conversion per
/// service and handlers use `?` on core calls.
#[derive(Debug)]
pub struct Failure<W>(pub W);

impl<W> From<W> for Failure<W> {
    fn from(err: W) -> Self {
        Failure(err)
    }
}

impl From<QueueError> for Failure<SqsError> {
    fn from(err: QueueError) -> Self {
        Failure(sqs_error(err))
    }
}

impl From<TopicError> for Failure<SnsError> {
    fn from(err: TopicError) -> Self {
        Failure(sns_error(err))
    }
}

impl From<StreamError> for Failure<KinesisError> {
    fn from(err: StreamError) -> Self {
        Failure(kinesis_error(err))
    }
}

impl From<FunctionError> for Failure<LambdaError> {
    fn from(err: FunctionError) -> Self {
        Failure(lambda_error(err))
    }
}

/// Maps a function error to the Lambda error clients see. Exhaustive on purpose, like
/// [`sqs_error`].
pub fn lambda_error(err: FunctionError) -> LambdaError {
    let code = match &err {
        FunctionError::NotFound(_) => LambdaErrorCode::ResourceNotFound,
        FunctionError::Conflict(_) => LambdaErrorCode::ResourceConflict,
        FunctionError::InvalidParameter(_) => LambdaErrorCode::InvalidParameterValue,
        FunctionError::PreconditionFailed(_) => LambdaErrorCode::PreconditionFailed,
        FunctionError::TooManyRequests(_) => LambdaErrorCode::TooManyRequests,
        FunctionError::RequestTooLarge(_) => LambdaErrorCode::RequestTooLarge,
        FunctionError::Storage(cause) => {
            tracing::error!(error = %cause, "storage failure while serving a lambda request");
            return LambdaError::internal();
        }
        FunctionError::Internal(cause) => {
            tracing::error!(error = %cause, "internal failure while serving a lambda request");
            return LambdaError::internal();
        }
    };
    LambdaError::new(code, err.to_string())
}

/// Renders a Lambda error: its status, `x-amzn-ErrorType`, and the JSON body.
pub fn lambda_error_response(err: &LambdaError) -> Response<ResponseBody> {
    let (status, code, body) = sluice_protocols::lambda::render_error(err);
    let mut response = text_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        "application/json",
        body,
    );
    response
        .headers_mut()
        .insert("x-amzn-errortype", HeaderValue::from_static(code));
    response
}

/// Content type of query-protocol (XML) responses.
pub const XML_CONTENT_TYPE: &str = "text/xml";

/// Renders a Kinesis error in `encoding`.
pub fn kinesis_error_response(encoding: Encoding, err: &KinesisError) -> Response<ResponseBody> {
    let (status, content_type, body) = render_error(err, encoding);
    let mut response = text_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        content_type,
        body,
    );
    // AWS also names the code in a header, which some SDKs read before the body.
    response
        .headers_mut()
        .insert("x-amzn-errortype", HeaderValue::from_static(err.code.as_str()));
    response
}

/// Renders an SNS error document.
pub fn sns_error_response(err: &SnsError, request_id: &str) -> Response<ResponseBody> {
    let (status, body) = render_sns_error(err, request_id);
    text_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        XML_CONTENT_TYPE,
        body,
    )
}

/// Maps a core error to the SQS error clients see.
pub fn sqs_error(err: QueueError) -> SqsError {
    let code = match &err {
        QueueError::QueueDoesNotExist => return SqsError::queue_does_not_exist(),
        QueueError::QueueNameExists(_) => SqsErrorCode::QueueNameExists,
        QueueError::QueueDeletedRecently => SqsErrorCode::QueueDeletedRecently,
        QueueError::InvalidAttributeName(_) => SqsErrorCode::InvalidAttributeName,
        QueueError::InvalidAttributeValue(_) => SqsErrorCode::InvalidAttributeValue,
        QueueError::InvalidParameterValue(_) => SqsErrorCode::InvalidParameterValue,
        QueueError::ReceiptHandleIsInvalid(_) => SqsErrorCode::ReceiptHandleIsInvalid,
        QueueError::MessageNotInflight => SqsErrorCode::MessageNotInflight,
        QueueError::PurgeQueueInProgress(_) => SqsErrorCode::PurgeQueueInProgress,
        QueueError::UnsupportedOperation(_) => SqsErrorCode::UnsupportedOperation,
        QueueError::OverLimit(_) => SqsErrorCode::OverLimit,
        QueueError::MissingParameter(_) => SqsErrorCode::MissingParameter,
        QueueError::ResourceNotFound(_) => SqsErrorCode::ResourceNotFoundException,
        QueueError::Storage(cause) => {
            tracing::error!(error = %cause, "storage failure while serving a request");
            return SqsError::internal();
        }
        QueueError::Internal(cause) => {
            tracing::error!(error = %cause, "internal failure while serving a request");
            return SqsError::internal();
        }
    };
    SqsError::new(code, err.to_string())
}

/// Maps a topic error to the SNS error clients see. Exhaustive on purpose, like [`sqs_error`].
pub fn sns_error(err: TopicError) -> SnsError {
    let code = match &err {
        TopicError::NotFound(_) => SnsErrorCode::NotFound,
        TopicError::ResourceNotFound(_) => SnsErrorCode::ResourceNotFound,
        TopicError::InvalidParameter(_) => SnsErrorCode::InvalidParameter,
        TopicError::Authorization(_) => SnsErrorCode::AuthorizationError,
        TopicError::FilterPolicyLimitExceeded(_) => SnsErrorCode::FilterPolicyLimitExceeded,
        TopicError::TagLimitExceeded(_) => SnsErrorCode::TagLimitExceeded,
        TopicError::Storage(cause) => {
            tracing::error!(error = %cause, "storage failure while serving a request");
            return SnsError::internal();
        }
        TopicError::Internal(cause) => {
            tracing::error!(error = %cause, "internal failure while serving a request");
            return SnsError::internal();
        }
    };
    SnsError::new(code, err.to_string())
}

/// Maps a stream error to the Kinesis error clients see. Exhaustive on purpose, like
/// [`sqs_error`].
pub fn kinesis_error(err: StreamError) -> KinesisError {
    let code = match &err {
        StreamError::NotFound(_) => KinesisErrorCode::ResourceNotFound,
        StreamError::InUse(_) => KinesisErrorCode::ResourceInUse,
        StreamError::InvalidArgument(_) => KinesisErrorCode::InvalidArgument,
        StreamError::LimitExceeded(_) => KinesisErrorCode::LimitExceeded,
        StreamError::ExpiredIterator(_) => KinesisErrorCode::ExpiredIterator,
        StreamError::ExpiredNextToken(_) => KinesisErrorCode::ExpiredNextToken,
        StreamError::Validation(_) => KinesisErrorCode::Validation,
        StreamError::Throughput(_) => KinesisErrorCode::ProvisionedThroughputExceeded,
        StreamError::Storage(cause) => {
            tracing::error!(error = %cause, "storage failure while serving a kinesis request");
            return KinesisError::internal();
        }
        StreamError::Internal(cause) => {
            tracing::error!(error = %cause, "internal failure while serving a kinesis request");
            return KinesisError::internal();
        }
    };
    KinesisError::new(code, err.to_string())
}

/// Renders an SQS error in the request's protocol (AWS JSON 1.0 or query/XML).
pub fn sqs_error_response(protocol: Protocol, err: &SqsError, request_id: &str) -> Response<ResponseBody> {
    match protocol {
        Protocol::Query => {
            let (status, body) = render_query_error(err, request_id);
            let mut response = with_status(Response::new(ResponseBody::full(body)), status);
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(XML_CONTENT_TYPE));
            response
        }
        // Kinesis has no renderer yet; its callers get the JSON shape, which every JSON
        // client parses (`__type`, `message`).
        Protocol::Json10 | Protocol::Json11 | Protocol::Cbor11 | Protocol::RestJson => {
            let (status, headers, body) = render_json_error(err);
            let mut response = with_status(Response::new(ResponseBody::full(body)), status);
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
    }
}

fn with_status(mut response: Response<ResponseBody>, status: u16) -> Response<ResponseBody> {
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
}

/// A request the server refuses before any service codec sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    /// The body exceeds `--max-body-bytes`.
    #[error("The request body exceeds the limit of {limit} bytes.")]
    BodyTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// The body did not arrive within `--body-read-timeout`.
    #[error("The request body was not received in time.")]
    BodyTimeout,
    /// The body could not be read (client went away, malformed chunking).
    #[error("The request body could not be read: {0}")]
    BodyRead(String),
    /// `X-Amz-Target` names no service of ours.
    #[error("The operation named by X-Amz-Target is not supported by this endpoint.")]
    UnknownOperation,
    /// Neither a target, an `Action=`, nor an admin path.
    #[error("The request must contain the parameter Action.")]
    Unrecognized,
    /// The request's signature was refused (`--auth verify`).
    #[error("{0}")]
    Auth(SignatureError),
}

impl DispatchError {
    fn to_sqs_error(&self) -> SqsError {
        let code = match self {
            // No SQS code has 413; the status is overridden below and the code tells clients
            // that retrying the same request is pointless.
            DispatchError::BodyTooLarge { .. } => SqsErrorCode::InvalidParameterValue,
            DispatchError::BodyRead(_) => SqsErrorCode::MalformedInput,
            DispatchError::BodyTimeout => SqsErrorCode::MalformedInput,
            DispatchError::UnknownOperation => SqsErrorCode::InvalidAction,
            DispatchError::Unrecognized => SqsErrorCode::MissingAction,
            DispatchError::Auth(err) => match err {
                SignatureError::MissingAuthenticationToken => SqsErrorCode::MissingAuthenticationToken,
                SignatureError::IncompleteSignature(_) => SqsErrorCode::IncompleteSignature,
                SignatureError::InvalidClientTokenId => SqsErrorCode::InvalidClientTokenId,
                SignatureError::SignatureDoesNotMatch(_) => SqsErrorCode::SignatureDoesNotMatch,
                SignatureError::RequestExpired(_) => SqsErrorCode::RequestExpired,
            },
        };
        SqsError::new(code, self.to_string())
    }

    fn to_lambda_error(&self) -> LambdaError {
        let code = match self {
            DispatchError::BodyTooLarge { .. } => LambdaErrorCode::RequestTooLarge,
            DispatchError::BodyRead(_) | DispatchError::BodyTimeout => LambdaErrorCode::InvalidRequestContent,
            DispatchError::UnknownOperation | DispatchError::Unrecognized => LambdaErrorCode::UnknownOperation,
            DispatchError::Auth(err) => match err {
                SignatureError::MissingAuthenticationToken => LambdaErrorCode::MissingAuthenticationToken,
                SignatureError::IncompleteSignature(_) => LambdaErrorCode::IncompleteSignature,
                SignatureError::InvalidClientTokenId => LambdaErrorCode::UnrecognizedClient,
                SignatureError::SignatureDoesNotMatch(_) | SignatureError::RequestExpired(_) => {
                    LambdaErrorCode::InvalidSignature
                }
            },
        };
        LambdaError::new(code, self.to_string())
    }

    fn to_sns_error(&self) -> SnsError {
        let code = match self {
            DispatchError::BodyTooLarge { .. } => SnsErrorCode::RequestEntityTooLarge,
            DispatchError::BodyRead(_) => SnsErrorCode::InvalidParameter,
            DispatchError::BodyTimeout => SnsErrorCode::RequestTimeout,
            DispatchError::UnknownOperation => SnsErrorCode::InvalidAction,
            DispatchError::Unrecognized => SnsErrorCode::MissingAction,
            DispatchError::Auth(err) => match err {
                SignatureError::MissingAuthenticationToken => SnsErrorCode::MissingAuthenticationToken,
                SignatureError::IncompleteSignature(_) => SnsErrorCode::IncompleteSignature,
                SignatureError::InvalidClientTokenId => SnsErrorCode::InvalidClientTokenId,
                SignatureError::SignatureDoesNotMatch(_) => SnsErrorCode::SignatureDoesNotMatch,
                SignatureError::RequestExpired(_) => SnsErrorCode::RequestExpired,
            },
        };
        SnsError::new(code, self.to_string())
    }
}

/// Renders a [`DispatchError`] as an AWS error of `service` in `protocol`.
pub fn dispatch_error_response(
    service: Service,
    protocol: Protocol,
    err: &DispatchError,
    request_id: &str,
) -> Response<ResponseBody> {
    let mut response = match (service, protocol) {
        (Service::Lambda, _) => lambda_error_response(&err.to_lambda_error()),
        // Kinesis clients read `{__type, message}` in their own encoding.
        (_, Protocol::Json11 | Protocol::Cbor11) => {
            let code = match err {
                DispatchError::BodyTooLarge { .. } => KinesisErrorCode::InvalidArgument,
                DispatchError::BodyRead(_) | DispatchError::BodyTimeout => KinesisErrorCode::Serialization,
                DispatchError::UnknownOperation | DispatchError::Unrecognized => KinesisErrorCode::UnknownOperation,
                DispatchError::Auth(auth) => match auth {
                    SignatureError::MissingAuthenticationToken => KinesisErrorCode::MissingAuthenticationToken,
                    SignatureError::IncompleteSignature(_) => KinesisErrorCode::IncompleteSignature,
                    SignatureError::InvalidClientTokenId => KinesisErrorCode::UnrecognizedClient,
                    SignatureError::SignatureDoesNotMatch(_) | SignatureError::RequestExpired(_) => {
                        KinesisErrorCode::InvalidSignature
                    }
                },
            };
            kinesis_error_response(protocol.kinesis_encoding(), &KinesisError::new(code, err.to_string()))
        }
        // SNS speaks only the query protocol; its clients parse SNS's namespace and codes.
        (Service::Sns, _) => sns_error_response(&err.to_sns_error(), request_id),
        (Service::Sqs | Service::Kinesis, _) => sqs_error_response(protocol, &err.to_sqs_error(), request_id),
    };
    if matches!(err, DispatchError::BodyTooLarge { .. }) {
        *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    }
    if matches!(err, DispatchError::BodyTimeout) {
        *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
    }
    response
}

/// Why an admin action (`POST /admin/checkpoint`) was refused under `--auth verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRefusal {
    /// No valid signature for the `sluice` signing name.
    Signature(SignatureError),
    /// A valid key that may not perform admin actions; the message says why.
    AccessDenied(String),
}

/// Renders a refused admin action: 403 with the admin routes' JSON, `{"error", "code"}`, the
/// code named as AWS names the same refusal.
pub fn admin_refusal_response(refusal: &AdminRefusal) -> Response<ResponseBody> {
    let (code, message) = match refusal {
        AdminRefusal::Signature(err) => {
            let code = match err {
                SignatureError::MissingAuthenticationToken => "MissingAuthenticationToken",
                SignatureError::IncompleteSignature(_) => "IncompleteSignature",
                SignatureError::InvalidClientTokenId => "InvalidClientTokenId",
                SignatureError::SignatureDoesNotMatch(_) => "SignatureDoesNotMatch",
                SignatureError::RequestExpired(_) => "RequestExpired",
            };
            (code, err.to_string())
        }
        AdminRefusal::AccessDenied(message) => ("AccessDenied", message.clone()),
    };
    let doc = serde_json::json!({"error": message, "code": code});
    let mut response = Response::new(ResponseBody::full(doc.to_string()));
    *response.status_mut() = StatusCode::FORBIDDEN;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_text(response: Response<ResponseBody>) -> String {
        let bytes = response
            .into_body()
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn broker_errors_map_to_sqs_codes() {
        let table = [
            (QueueError::QueueDoesNotExist, SqsErrorCode::QueueDoesNotExist),
            (
                QueueError::QueueNameExists("DelaySeconds".into()),
                SqsErrorCode::QueueNameExists,
            ),
            (QueueError::QueueDeletedRecently, SqsErrorCode::QueueDeletedRecently),
            (
                QueueError::InvalidAttributeName("x".into()),
                SqsErrorCode::InvalidAttributeName,
            ),
            (
                QueueError::InvalidAttributeValue("x".into()),
                SqsErrorCode::InvalidAttributeValue,
            ),
            (
                QueueError::InvalidParameterValue("x".into()),
                SqsErrorCode::InvalidParameterValue,
            ),
            (
                QueueError::ReceiptHandleIsInvalid("h".into()),
                SqsErrorCode::ReceiptHandleIsInvalid,
            ),
            (QueueError::MessageNotInflight, SqsErrorCode::MessageNotInflight),
            (
                QueueError::PurgeQueueInProgress("arn".into()),
                SqsErrorCode::PurgeQueueInProgress,
            ),
            (
                QueueError::UnsupportedOperation("x".into()),
                SqsErrorCode::UnsupportedOperation,
            ),
            (QueueError::OverLimit("x".into()), SqsErrorCode::OverLimit),
            (
                QueueError::Storage(sluice_storage::StorageError::Corrupt("secret detail".into())),
                SqsErrorCode::InternalFailure,
            ),
            (
                QueueError::Internal("secret detail".into()),
                SqsErrorCode::InternalFailure,
            ),
        ];
        for (err, want) in table {
            let text = format!("{err:?}");
            let got = sqs_error(err);
            assert_eq!(got.code, want, "{text}");
            assert!(
                !got.message.contains("secret detail"),
                "internal details stay opaque: {text}"
            );
        }
    }

    /// Internal failures (issue 14's new variants) and storage failures are opaque 500s in
    /// every service, each in its service's own code.
    #[test]
    fn internal_failures_are_opaque_500s_in_every_service() {
        let sns = [
            sns_error(TopicError::Internal("secret detail".into())),
            sns_error(TopicError::Storage(sluice_storage::StorageError::Corrupt(
                "secret detail".into(),
            ))),
        ];
        for err in sns {
            assert_eq!(err.code, SnsErrorCode::InternalError);
            assert!(!err.message.contains("secret detail"));
        }
        let kinesis = [
            kinesis_error(StreamError::Internal("secret detail".into())),
            kinesis_error(StreamError::Storage(sluice_storage::StorageError::Corrupt(
                "secret detail".into(),
            ))),
        ];
        for err in kinesis {
            assert_eq!(err.code, KinesisErrorCode::InternalFailure);
            assert!(!err.message.contains("secret detail"));
        }
    }

    #[tokio::test]
    async fn json_error_has_query_error_header() {
        let response = sqs_error_response(Protocol::Json10, &SqsError::queue_does_not_exist(), "rid");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response
                .headers()
                .get("x-amzn-query-error")
                .and_then(|v| v.to_str().ok()),
            Some("AWS.SimpleQueueService.NonExistentQueue;Sender")
        );
        assert!(body_text(response)
            .await
            .contains("com.amazonaws.sqs#QueueDoesNotExist"));
    }

    #[tokio::test]
    async fn too_large_is_413_in_both_protocols() {
        let err = DispatchError::BodyTooLarge { limit: 1024 };
        let json = dispatch_error_response(Service::Sqs, Protocol::Json10, &err, "rid");
        assert_eq!(json.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let xml = dispatch_error_response(Service::Sqs, Protocol::Query, &err, "rid");
        assert_eq!(xml.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let text = body_text(xml).await;
        assert!(
            text.contains("<ErrorResponse") && text.contains("<RequestId>rid</RequestId>"),
            "{text}"
        );
    }

    /// Errors raised before an SNS request is decoded (issue 14) come in SNS's namespace with
    /// SNS's codes, not SQS's.
    #[tokio::test]
    async fn sns_requests_refused_before_decoding_get_sns_errors() {
        let cases = [
            (
                DispatchError::BodyTooLarge { limit: 1024 },
                413,
                "RequestEntityTooLarge",
            ),
            (DispatchError::BodyTimeout, 408, "RequestTimeout"),
            (
                DispatchError::Auth(SignatureError::MissingAuthenticationToken),
                403,
                "MissingAuthenticationToken",
            ),
            (
                DispatchError::Auth(SignatureError::SignatureDoesNotMatch("x".into())),
                403,
                "SignatureDoesNotMatch",
            ),
        ];
        for (err, status, code) in cases {
            let response = dispatch_error_response(Service::Sns, Protocol::Query, &err, "rid");
            assert_eq!(response.status().as_u16(), status, "{err:?}");
            let text = body_text(response).await;
            assert!(
                text.contains("<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"),
                "{err:?}: {text}"
            );
            assert!(text.contains(&format!("<Code>{code}</Code>")), "{err:?}: {text}");
        }
        let sqs = body_text(dispatch_error_response(
            Service::Sqs,
            Protocol::Query,
            &DispatchError::BodyTimeout,
            "rid",
        ))
        .await;
        assert!(!sqs.contains("sns.amazonaws.com"), "{sqs}");
    }

    #[tokio::test]
    async fn unknown_target_is_unknown_operation() {
        let response = dispatch_error_response(Service::Sqs, Protocol::Json10, &DispatchError::UnknownOperation, "rid");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(body_text(response).await.contains("UnknownOperationException"));
    }
}
