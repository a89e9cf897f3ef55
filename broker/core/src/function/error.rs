//! [`FunctionError`]: what went wrong with a function, mapping or invocation, in domain terms.
//!
//! The server's `api/error.rs` maps each variant to Lambda's error code; messages are shown to
//! clients as they are, so they carry AWS's wording.

use sluice_storage::StorageError;

/// Errors of function, event-source-mapping and invocation operations.
#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    /// The function or mapping does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The function or mapping already exists (409).
    #[error("{0}")]
    Conflict(String),
    /// A parameter is invalid for this resource or state.
    #[error("{0}")]
    InvalidParameter(String),
    /// The revision id does not match (412 on AWS).
    #[error("{0}")]
    PreconditionFailed(String),
    /// No handler took the invocation in time, or too many wait (429).
    #[error("{0}")]
    TooManyRequests(String),
    /// The payload is larger than an invocation may carry (413).
    #[error("{0}")]
    RequestTooLarge(String),
    /// Storage failed; the request may be retried.
    #[error("internal storage failure: {0}")]
    Storage(#[from] StorageError),
    /// A value could not be encoded.
    #[error("internal failure: {0}")]
    Internal(String),
}

/// Function result type.
pub type Result<T, E = FunctionError> = std::result::Result<T, E>;

/// `InvalidParameterValueException` with AWS's message.
pub fn invalid(what: impl Into<String>) -> FunctionError {
    FunctionError::InvalidParameter(what.into())
}
