//! Kinesis Data Streams wire codecs: AWS JSON 1.1 and CBOR 1.1.
//!
//! # Layout
//! - [`value`]: the document tree both encodings decode to and encode from, with the blob and
//!   timestamp rules of each encoding, and the `Obj` builder [`output`] encodes with.
//! - [`types`]: [`KinesisAction`], parsed once from `X-Amz-Target`; [`KinesisRequest`], one
//!   variant per action, and the field types it carries.
//! - [`output`]: one struct per response shape, turned into a [`Value`] by [`ToValue`].
//! - [`decode`]: [`decode_request`], from a decoded [`Value`] to a typed request, and the
//!   typed member access it reads each object through (with AWS's type errors).
//! - `validate`: the service model's field constraints (lengths, patterns, ranges, enums); a
//!   leaf (it imports only [`error`]).
//! - [`arn`]: stream and consumer ARN parsing, and the constraints of ARN members; builds on
//!   `validate`.
//! - [`error`]: error codes and the one renderer of `{__type, message}` bodies.
//!
//! # Invariants
//! - A response is encoded in its request's encoding; so is an error.
//! - Nothing here panics on client input.

pub mod arn;
pub mod decode;
pub mod error;
pub mod output;
pub mod types;
mod validate;
pub mod value;

pub use decode::decode_request;
pub use error::{error_body, render_error, KinesisError, KinesisErrorCode};
pub use output::ToValue;
pub use types::KinesisAction;
pub use types::KinesisRequest;
pub use value::{Encoding, Value};
