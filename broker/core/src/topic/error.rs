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
    /// Neither the request nor the disk is at fault: a value could not be encoded or signed, a
    /// key could not be generated. Kept apart from [`TopicError::Storage`] so the log never
    /// calls the disk corrupt when it is not (issue 14).
    #[error("internal failure: {0}")]
    Internal(String),
}

/// A queue operation's failure inside a topic operation (fan-out to queues): storage stays
/// storage, internal stays internal. The queue's domain errors (a missing queue, a refused
/// message) arrive as per-delivery results, not here, so any other one is unexpected and
/// internal.
impl From<crate::queue::QueueError> for TopicError {
    fn from(err: crate::queue::QueueError) -> TopicError {
        match err {
            crate::queue::QueueError::Storage(cause) => TopicError::Storage(cause),
            crate::queue::QueueError::Internal(what) => TopicError::Internal(what),
            other => TopicError::Internal(format!("queue delivery: {other}")),
        }
    }
}

/// Topic result type.
pub type Result<T, E = TopicError> = std::result::Result<T, E>;

/// `Invalid parameter: {what}`, SNS's InvalidParameter message shape.
pub fn invalid(what: impl std::fmt::Display) -> TopicError {
    TopicError::InvalidParameter(format!("Invalid parameter: {what}"))
}
