//! Amazon SQS wire codecs, sans-IO.
//!
//! # Layout
//! - [`shapes`], [`input`], [`output`]: typed shapes, inputs and outputs named after the
//!   botocore model.
//! - [`types`]: the conventions of those types, [`SqsAction`] (one variant per model
//!   operation, parsed from `X-Amz-Target: AmazonSQS.<Action>` or `Action=<Action>`), and the
//!   [`SqsRequest`] / [`SqsResponse`] enums handlers route on.
//! - [`json`]: AWS JSON 1.0 ([`decode_json`], [`encode_json`]).
//! - [`query`]: the query protocol ([`decode_query`], [`encode_xml`]).
//! - [`validate`]: rules both decoders apply, plus per-entry batch checks.
//! - [`error`]: [`SqsErrorCode`], [`SqsError`] and the two error renderers.
//!
//! Invariant: a request that decodes has passed [`validate::validate`]; what is left
//! to the core is what depends on state (queue exists, queue limits, FIFO rules).

pub mod error;
pub mod input;
pub mod json;
pub mod output;
pub mod query;
pub mod shapes;
pub mod types;
pub mod validate;

pub use error::{render_json_error, render_query_error, SqsError, SqsErrorCode};
pub use json::{decode_json, encode_json};
pub use query::{decode_query, encode_xml};
pub use types::SqsAction;
pub use types::{SqsRequest, SqsResponse};
