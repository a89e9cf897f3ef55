//! The pieces the SQS handler files share: the handlers' error type, queue URLs, and page
//! sizes.
//!
//! # Layout
//! - [`Failure`] and [`Result`]: a handler's error. It holds the wire's [`SqsError`] and converts
//!   from the core's [`QueueError`] through [`crate::api::error::sqs_error`], the one mapping,
//!   so handlers use `?` on core calls.
//! - [`queue_url`] builds `{public_url or scheme://host}/{account}/{name}` (the parent module
//!   parses them, where requests are routed).
//! - [`positive`]: a validated page size as the core's type.
//!
//! # Invariants
//! - A leaf: it imports no other module of `api::sqs`, so the handler files import it and
//!   never each other.

use sluice_protocols::sqs::SqsError;

use crate::api::context::RequestContext;

pub use crate::api::error::Failure;

/// A handler's result: its error is the SQS error clients see.
pub type Result<T> = std::result::Result<T, Failure<SqsError>>;

/// A validated positive page size as `usize`.
pub fn positive(value: Option<i32>) -> Option<usize> {
    value.and_then(|v| usize::try_from(v).ok()).filter(|v| *v > 0)
}

/// The URL clients use for queue `name` of `account_id`.
pub fn queue_url(ctx: &RequestContext, account_id: &str, name: &str) -> String {
    format!("{}/{}/{}", ctx.base_url(), account_id, name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::sqs::{parse_queue_url, QueueRef};

    fn ctx(path: &str) -> RequestContext {
        crate::api::context::test_context(path, Some("localhost:4566"), None)
    }

    #[test]
    fn queue_url_round_trips() {
        let c = ctx("/");
        let url = queue_url(&c, "000000000000", "orders");
        assert_eq!(url, "http://localhost:4566/000000000000/orders");
        assert_eq!(
            parse_queue_url(&url),
            Some(QueueRef {
                account_id: "000000000000".into(),
                name: "orders".into()
            })
        );
    }
}
