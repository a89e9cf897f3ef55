//! Kinesis Data Streams wire codecs: AWS JSON 1.1 and CBOR 1.1.
//!
//! # Layout
//! - [`value`]: the document tree both encodings decode to and encode from, with the blob and
//!   timestamp rules of each encoding, and the [`value::Obj`] response builder.
//! - [`action`]: [`KinesisAction`], parsed once from `X-Amz-Target`.
//! - [`types`]: [`KinesisRequest`], decoded and shape-validated per the service model.
//! - [`error`]: error codes and the one renderer of `{__type, message}` bodies.
//!
//! # Invariants
//! - A response is encoded in its request's encoding; so is an error.
//! - Nothing here panics on client input.

pub mod action;
pub mod error;
pub mod types;
pub mod value;

pub use action::KinesisAction;
pub use error::{render_error, KinesisError, KinesisErrorCode};
pub use types::{decode_request, KinesisRequest};
pub use value::{Encoding, Obj, Value};
