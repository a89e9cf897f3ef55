//! The console's errors and the one place they become HTTP answers:
//! `{"error": {"code", "message"}}` with a status that says who is at fault.

use http::{HeaderValue, Response, StatusCode};

use crate::wire::ResponseBody;

/// Why a console request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsoleError {
    /// No live session: sign in (or, with `--auth off`, load the page again).
    #[error("Sign in to use the console.")]
    SignInRequired,
    /// An unknown access key or a wrong secret (one answer for both).
    #[error("The access key id or the secret access key is not valid.")]
    InvalidCredentials,
    /// A change without the session's CSRF token: not sent by the console's page.
    #[error("The request does not carry this session's X-Sluice-Csrf token.")]
    Csrf,
    /// The request itself is wrong (a bad parameter, a body that is not JSON).
    #[error("{0}")]
    BadRequest(String),
    /// No console endpoint has this method and path.
    #[error("The console has no {method} {path}.")]
    NoRoute {
        /// The method asked for.
        method: String,
        /// The path asked for.
        path: String,
    },
    /// The queue, topic, stream or message does not exist.
    #[error("{message}")]
    NotFound {
        /// AWS's code for it (`QueueDoesNotExist`), or `MessageNotFound`.
        code: String,
        /// What is missing.
        message: String,
    },
    /// The signed-in key may not do this.
    #[error("{0}")]
    AccessDenied(String),
    /// An API call the console made on the user's behalf failed: its code, message, status.
    #[error("{message}")]
    Api {
        /// The HTTP status the API answered.
        status: u16,
        /// AWS's error code.
        code: String,
        /// AWS's message.
        message: String,
    },
    /// Something broke inside the broker.
    #[error("{0}")]
    Internal(String),
}

impl ConsoleError {
    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            ConsoleError::SignInRequired | ConsoleError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ConsoleError::Csrf | ConsoleError::AccessDenied(_) => StatusCode::FORBIDDEN,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::NoRoute { .. } | ConsoleError::NotFound { .. } => StatusCode::NOT_FOUND,
            ConsoleError::Api { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error's code.
    pub fn code(&self) -> &str {
        match self {
            ConsoleError::SignInRequired => "SignInRequired",
            ConsoleError::InvalidCredentials => "InvalidCredentials",
            ConsoleError::Csrf => "InvalidCsrfToken",
            ConsoleError::BadRequest(_) => "InvalidParameterValue",
            ConsoleError::NoRoute { .. } => "NotFound",
            ConsoleError::NotFound { code, .. } | ConsoleError::Api { code, .. } => code,
            ConsoleError::AccessDenied(_) => "AccessDenied",
            ConsoleError::Internal(_) => "InternalError",
        }
    }

    /// A missing queue, as SQS names it.
    pub fn no_queue(name: &str) -> ConsoleError {
        ConsoleError::NotFound {
            code: "QueueDoesNotExist".into(),
            message: format!("The queue {name} does not exist."),
        }
    }
}

/// The JSON answer for `err`.
pub fn error_response(err: &ConsoleError) -> Response<ResponseBody> {
    if matches!(err, ConsoleError::Internal(_)) {
        tracing::warn!(error = %err, "console request failed");
    }
    let body = serde_json::json!({ "error": { "code": err.code(), "message": err.to_string() } });
    json_response(err.status(), &body)
}

/// A JSON answer with the console's headers (never cached: it is live data).
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::full(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_answer_with_their_status_and_code() {
        let cases = [
            (ConsoleError::SignInRequired, 401, "SignInRequired"),
            (ConsoleError::Csrf, 403, "InvalidCsrfToken"),
            (ConsoleError::no_queue("q"), 404, "QueueDoesNotExist"),
            (
                ConsoleError::Api {
                    status: 400,
                    code: "PurgeQueueInProgress".into(),
                    message: "m".into(),
                },
                400,
                "PurgeQueueInProgress",
            ),
        ];
        for (err, status, code) in cases {
            let response = error_response(&err);
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(err.code(), code);
            assert_eq!(
                response.headers().get(http::header::CONTENT_TYPE).map(|v| v.as_bytes()),
                Some(&b"application/json"[..])
            );
        }
    }
}
