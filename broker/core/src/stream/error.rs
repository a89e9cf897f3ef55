//! What went wrong in a stream operation, in domain terms. The server's `api/error.rs` maps
//! each variant to a Kinesis error code; the messages follow AWS's wording.

use sluice_storage::StorageError;

/// Errors of stream operations.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The stream, shard or policy does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The stream exists but is not in a state that allows the operation, or the name is taken.
    #[error("{0}")]
    InUse(String),
    /// A value is semantically invalid for this stream.
    #[error("{0}")]
    InvalidArgument(String),
    /// A count limit was reached.
    #[error("{0}")]
    LimitExceeded(String),
    /// A shard iterator is older than five minutes.
    #[error("{0}")]
    ExpiredIterator(String),
    /// A pagination token is older than five minutes.
    #[error("{0}")]
    ExpiredNextToken(String),
    /// A value violates a documented bound that AWS reports as a validation error.
    #[error("{0}")]
    Validation(String),
    /// A shard's throughput limit was exceeded (only with limits on).
    #[error("{0}")]
    Throughput(String),
    /// Storage failed; the request may be retried.
    #[error("internal storage failure: {0}")]
    Storage(#[from] StorageError),
    /// Neither the request nor the disk is at fault: a value could not be encoded, an
    /// in-memory invariant broke. Kept apart from [`StreamError::Storage`] so the log never
    /// calls the disk corrupt when it is not (issue 14).
    #[error("internal failure: {0}")]
    Internal(String),
}

/// Stream result type.
pub type Result<T, E = StreamError> = std::result::Result<T, E>;
