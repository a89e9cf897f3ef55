//! The core's error type: which service failed, wrapping that service's own error.
//!
//! Each service names its failures in its own terms ([`QueueError`], [`StreamError`],
//! [`TopicError`], [`FunctionError`]); the server's `api/error.rs` alone decides the AWS error code, HTTP status and
//! wire shape of each. [`BrokerError`] is what an operation spanning services (loading the broker
//! at start-up) returns.

use sluice_storage::StorageError;

use crate::function::FunctionError;
use crate::queue::QueueError;
use crate::stream::StreamError;
use crate::topic::TopicError;

/// A failure of one of the broker's services.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// A queue operation failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// A stream operation failed.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// A topic operation failed.
    #[error(transparent)]
    Topic(#[from] TopicError),
    /// A function or mapping operation failed.
    #[error(transparent)]
    Function(#[from] FunctionError),
}

impl BrokerError {
    /// The storage failure underneath, if the disk is what failed: start-up must say "the folder
    /// is damaged" only then, never for an encoding or invariant failure (issue 14).
    pub fn storage(&self) -> Option<&StorageError> {
        match self {
            BrokerError::Queue(QueueError::Storage(cause))
            | BrokerError::Stream(StreamError::Storage(cause))
            | BrokerError::Topic(TopicError::Storage(cause))
            | BrokerError::Function(FunctionError::Storage(cause)) => Some(cause),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_failures_keep_their_kind() {
        let corrupt = || StorageError::Corrupt("stream record x: expected value".into());
        for err in [
            BrokerError::from(QueueError::Storage(corrupt())),
            BrokerError::from(StreamError::Storage(corrupt())),
            BrokerError::from(TopicError::Storage(corrupt())),
        ] {
            assert!(matches!(err.storage(), Some(StorageError::Corrupt(_))), "{err:?}");
        }
        for err in [
            BrokerError::from(QueueError::Internal("encode".into())),
            BrokerError::from(StreamError::Internal("encode stream record".into())),
            BrokerError::from(StreamError::InvalidArgument("bad".into())),
            BrokerError::from(TopicError::Internal("sns signing key generation".into())),
            BrokerError::from(TopicError::InvalidParameter("bad".into())),
        ] {
            assert!(err.storage().is_none(), "{err:?} is not a disk failure");
        }
    }
}
