//! The error every Kinesis handler returns, so that handlers convert with `?` alone.
//!
//! # Parts
//! - [`Result`]: fails with a [`Failure`] holding the [`KinesisError`] clients will see;
//!   `From<StreamError>` goes through `kinesis_error`, the one mapping from the core's stream
//!   errors to AWS codes (CONTRIBUTING.md, style rule 2), and a `KinesisError` (shape
//!   validation, argument checks) converts as it is. The same wrapper serves SQS and SNS.
//!
//! A leaf: it imports no handler module.

use sluice_protocols::kinesis::KinesisError;

pub use crate::api::error::Failure;

/// What every Kinesis handler returns: its error is the one the client is answered with.
pub type Result<T> = std::result::Result<T, Failure<KinesisError>>;
