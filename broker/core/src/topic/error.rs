//! [`TopicError`]: what went wrong with a topic operation, in domain terms.
//!
//! The server's `api/error.rs` maps each variant to SNS's error code; messages are shown to
//! clients as they are, so they carry AWS's wording (`Invalid parameter: ...`).

use sluice_storage::StorageError;

/// Errors of topic and subscription operations.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    /// The topic, subscription or endpoint does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A tagged resource does not exist (the tagging actions' own error).
    #[error("{0}")]
    ResourceNotFound(String),
    /// A parameter is malformed or not allowed in this state.
    #[error("{0}")]
    InvalidParameter(String),
    /// The caller may not act on this resource.
    #[error("{0}")]
    Authorization(String),
    /// A filter policy limit of the account was reached.
    #[error("{0}")]
    FilterPolicyLimitExceeded(String),
    /// Too many tags on the resource.
    #[error("{0}")]
    TagLimitExceeded(String),
    /// Storage failed; the request may be retried.
    #[error("internal storage failure: {0}")]
    Storage(#[from] StorageError),
}

/// Topic result type.
pub type Result<T, E = TopicError> = std::result::Result<T, E>;

/// `Invalid parameter: {what}`, SNS's InvalidParameter message shape.
pub fn invalid(what: impl std::fmt::Display) -> TopicError {
    TopicError::InvalidParameter(format!("Invalid parameter: {what}"))
}
