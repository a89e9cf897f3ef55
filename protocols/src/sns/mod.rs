//! SNS over the query protocol (the only protocol SNS has): the action enum, typed requests
//! and responses, decoding with SNS's validation rules, XML encoding and the error document.
//!
//! # Layout
//! - [`types`]: [`SnsAction`] and the model's operations Sluice does not serve,
//!   [`SnsRequest`], [`SnsResponse`] and their parts.
//! - [`query`]: [`decode_query`] and [`encode_xml`].
//! - [`validate`]: SNS's shape rules with AWS's error codes and messages, among them
//!   [`check_publish`] (one message, so a PublishBatch entry fails alone).
//! - [`error`]: [`SnsError`], [`SnsErrorCode`] and [`render_query_error`].
//!
//! # Invariants
//! - Decoding never panics on client input; every failure is an [`SnsError`].
//! - A decoded request has passed every shape rule but each PublishBatch entry's own
//!   [`check_publish`], which the server runs per entry.

pub mod error;
pub mod query;
pub mod types;
pub mod validate;

pub use error::{render_query_error, SnsError, SnsErrorCode};
pub use query::{decode_query, encode_xml};
pub use types::SnsAction;
pub use types::*;
pub use validate::{check_publish, message_size, MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES};
