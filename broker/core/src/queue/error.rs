//! What went wrong in a queue operation, in domain terms.
//!
//! The server's `api/error.rs` alone decides the AWS error code, HTTP status and wire shape;
//! the messages here are written to be shown to clients as they are.

use sluice_storage::StorageError;

/// Errors of queue operations.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The named queue does not exist (or was deleted).
    #[error("The specified queue does not exist.")]
    QueueDoesNotExist,
    /// CreateQueue named an existing queue with different attributes.
    #[error("A queue already exists with the same name and a different value for attribute {0}")]
    QueueNameExists(String),
    /// The queue name was used by a queue deleted less than 60 seconds ago.
    #[error("You must wait 60 seconds after deleting a queue before you can create another queue with the same name.")]
    QueueDeletedRecently,
    /// An attribute name the action does not know.
    #[error("{0}")]
    InvalidAttributeName(String),
    /// An attribute value out of range or malformed.
    #[error("{0}")]
    InvalidAttributeValue(String),
    /// A request parameter out of range or malformed.
    #[error("{0}")]
    InvalidParameterValue(String),
    /// A receipt handle that is not one Sluice issued for this queue.
    #[error("The input receipt handle \"{0}\" is not a valid receipt handle.")]
    ReceiptHandleIsInvalid(String),
    /// ChangeMessageVisibility on a message that is not in flight.
    #[error("Message does not exist or is not available for visibility timeout change.")]
    MessageNotInflight,
    /// A second PurgeQueue within 60 seconds.
    #[error("Only one PurgeQueue operation on {0} is allowed every 60 seconds.")]
    PurgeQueueInProgress(String),
    /// A feature Sluice does not offer yet.
    #[error("{0}")]
    UnsupportedOperation(String),
    /// A required parameter is missing (one the rules of the queue type require).
    #[error("{0}")]
    MissingParameter(String),
    /// A resource other than a queue (a message move task) does not exist.
    #[error("{0}")]
    ResourceNotFound(String),
    /// A per-resource limit was reached.
    #[error("{0}")]
    OverLimit(String),
    /// Storage failed; the request may be retried.
    #[error("internal storage failure: {0}")]
    Storage(#[from] StorageError),
    /// Neither the request nor the disk is at fault: a value could not be encoded, a key could
    /// not be generated, an internal invariant broke. Kept apart from [`QueueError::Storage`]
    /// so the log never calls the disk corrupt when it is not (issue 14).
    #[error("internal failure: {0}")]
    Internal(String),
}

/// Result of queue operations.
pub type Result<T, E = QueueError> = std::result::Result<T, E>;
