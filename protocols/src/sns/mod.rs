//! SNS over the query protocol (the only protocol SNS has): the action enum, typed requests
//! and responses, decoding with SNS's validation rules, XML encoding and the error document.
//!
//! # Layout
//! - [`action`]: [`SnsAction`] and the model's operations Sluice does not serve.
//! - [`types`]: [`SnsRequest`], [`SnsResponse`] and their parts.
//! - [`query`]: [`decode_query`], [`check_publish`] (per message, so a PublishBatch entry fails
//!   alone) and [`encode_xml`].
//! - [`error`]: [`SnsError`] and [`render_query_error`].

pub mod action;
pub mod error;
pub mod query;
pub mod types;

pub use action::SnsAction;
pub use error::{render_query_error, SnsError, SnsErrorCode};
pub use query::{check_publish, decode_query, encode_xml};
pub use types::*;
