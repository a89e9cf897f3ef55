//! The pieces every SNS handler file shares: the handlers' error type, topic keys from ARNs,
//! and what counts as an authenticated request.
//!
//! # Layout
//! - [`Failure`] and [`Result`]: a handler's error. It holds the wire's [`SnsError`] and converts
//!   from the core's [`TopicError`] through [`crate::api::error::sns_error`], the one mapping,
//!   so handlers use `?` on core calls.
//! - [`Scope`]: what every handler works with: the app, the request's context, and the
//!   [`PublishContext`] for the calls that deliver or send confirmations.
//! - [`topic_key`]: the topic an ARN names; the ARN's account and region win, as on AWS.
//! - [`counts_as_authenticated`]: signed by a verified key, or authentication off.
//!
//! # Invariants
//! - A leaf: it imports no other module of `api::sns`, so the handler files import it and
//!   never each other.

use sluice_broker::topic::{PublishContext, TopicKey};
use sluice_broker::Topics;
use sluice_protocols::sns::SnsError;

use crate::api::context::RequestContext;
use crate::app::App;

pub use crate::api::error::Failure;

/// A handler's result: its error is the SNS error clients see.
pub type Result<T> = std::result::Result<T, Failure<SnsError>>;

/// What every SNS handler works with.
pub struct Scope<'a> {
    /// The process: the broker and the keys.
    pub app: &'a App,
    /// Who and where the request is for.
    pub ctx: &'a RequestContext,
    /// The base URL and cross-account check the core delivers with.
    pub publish: PublishContext,
}

impl Scope<'_> {
    /// The core's topics.
    pub fn topics(&self) -> &Topics {
        &self.app.broker.topics
    }
}

/// The topic an ARN names; an ARN that names none is an invalid `member`.
pub fn topic_key(arn: &str, member: &str) -> Result<TopicKey> {
    TopicKey::from_arn(arn).ok_or_else(|| Failure(SnsError::invalid(member)))
}

/// True when the request counts as authenticated: it was signed by a verified key, or
/// authentication is off. With `--auth off` nothing is verified and a signature proves nothing
/// (any can be forged), so every request counts, and AuthenticateOnUnsubscribe is recorded as
/// asked but protects nothing until `--auth verify` (docs/security.md).
pub fn counts_as_authenticated(app: &App, ctx: &RequestContext) -> bool {
    app.keys.is_none() || ctx.principal.is_some()
}
