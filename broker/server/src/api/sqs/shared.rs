//! The pieces every SQS handler file shares: the handlers' error type, queue URLs, and the
//! conversions of wire integers.
//!
//! # Layout
//! - [`Failure`] and [`Result`]: a handler's error. It holds the wire's [`SqsError`] and converts
//!   from the core's [`QueueError`] through [`crate::api::error::sqs_error`], the one mapping,
//!   so handlers use `?` on core calls.
//! - Queue URLs: [`queue_url`] builds `{public_url or scheme://host}/{account}/{name}`;
//!   [`parse_queue_url`] reads the last two path segments and accepts any host, because clients
//!   reach us through Docker, Kubernetes and proxies under many names (docs/design.md "Identity").
//! - [`single`]: the one result of a single-entry core call; [`non_negative`], [`positive`]:
//!   validated wire integers as the core's types.
//!
//! # Invariants
//! - A leaf: it imports no other module of `api::sqs`, so the handler files import it and
//!   never each other.

use sluice_broker::queue::QueueError;
use sluice_protocols::sqs::SqsError;

use crate::api::context::RequestContext;
use crate::wire::is_queue_path;

pub use crate::api::error::Failure;

/// A handler's result: its error is the SQS error clients see.
pub type Result<T> = std::result::Result<T, Failure<SqsError>>;

/// The one result of a single-entry core call, its error mapped like any other.
pub fn single<T>(results: Vec<std::result::Result<T, QueueError>>) -> Result<T> {
    // The core answers one result per entry; an empty answer would be a core bug.
    let Some(result) = results.into_iter().next() else {
        tracing::error!("core returned no result for a single-entry call");
        return Err(Failure(SqsError::internal()));
    };
    Ok(result?)
}

/// A validated non-negative wire integer as the core's `u32`.
pub fn non_negative(value: Option<i32>) -> Option<u32> {
    value.and_then(|v| u32::try_from(v).ok())
}

/// A validated positive page size as `usize`.
pub fn positive(value: Option<i32>) -> Option<usize> {
    value.and_then(|v| usize::try_from(v).ok()).filter(|v| *v > 0)
}

/// A queue named by a queue URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRef {
    /// Account id segment.
    pub account_id: String,
    /// Queue name segment.
    pub name: String,
}

/// The URL clients use for queue `name` of `account_id`.
pub fn queue_url(ctx: &RequestContext, account_id: &str, name: &str) -> String {
    format!("{}/{}/{}", ctx.base_url(), account_id, name)
}

/// Reads account and queue name from a queue URL (`http://any-host/123456789012/name`), from a
/// bare path (`/123456789012/name`), ignoring a query string or fragment; `None` when the URL
/// has fewer than two path segments.
pub fn parse_queue_url(url: &str) -> Option<QueueRef> {
    let url = url.trim();
    let after_scheme = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => url,
    };
    // Drop the authority when a scheme was present or the text does not start with '/'.
    let path = if url.contains("://") || !after_scheme.starts_with('/') {
        match after_scheme.find('/') {
            Some(i) => &after_scheme[i..],
            None => return None,
        }
    } else {
        after_scheme
    };
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let mut segments = path.trim_end_matches('/').rsplit('/');
    let name = segments.next().filter(|s| !s.is_empty())?;
    let account_id = segments.next().filter(|s| !s.is_empty())?;
    Some(QueueRef {
        account_id: account_id.to_string(),
        name: name.to_string(),
    })
}

/// The queue a request names: its `QueueUrl`, else the request path when it is a queue path
/// (kombu's ReceiveMessage sends no QueueUrl and posts to the queue URL, docs/wire-notes.md).
pub fn queue_from_request(queue_url: Option<&str>, ctx: &RequestContext) -> Option<QueueRef> {
    match queue_url {
        Some(url) if !url.trim().is_empty() => parse_queue_url(url),
        _ if is_queue_path(&ctx.path) => parse_queue_url(&ctx.path),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(path: &str) -> RequestContext {
        crate::api::context::test_context(path, Some("localhost:4566"), None)
    }

    fn q(account: &str, name: &str) -> Option<QueueRef> {
        Some(QueueRef {
            account_id: account.into(),
            name: name.into(),
        })
    }

    #[test]
    fn queue_urls_parse_from_any_host() {
        let cases = [
            ("http://localhost:4566/000000000000/q", q("000000000000", "q")),
            (
                "https://sqs.us-east-1.amazonaws.com/123456789012/jobs.fifo",
                q("123456789012", "jobs.fifo"),
            ),
            (
                "http://sluice.default.svc.cluster.local:4566/000000000000/a-b_c",
                q("000000000000", "a-b_c"),
            ),
            ("http://[::1]:4566/000000000000/q/", q("000000000000", "q")),
            ("http://host/000000000000/q?x=1", q("000000000000", "q")),
            ("/000000000000/q", q("000000000000", "q")),
            ("localhost:4566/000000000000/q", q("000000000000", "q")),
            ("http://localhost:4566/q", None),
            ("http://localhost:4566/", None),
            ("http://localhost:4566", None),
            ("q", None),
            ("", None),
        ];
        for (url, want) in cases {
            assert_eq!(parse_queue_url(url), want, "{url}");
        }
    }

    #[test]
    fn queue_url_round_trips() {
        let c = ctx("/");
        let url = queue_url(&c, "000000000000", "orders");
        assert_eq!(url, "http://localhost:4566/000000000000/orders");
        assert_eq!(parse_queue_url(&url), q("000000000000", "orders"));
    }

    #[test]
    fn queue_falls_back_to_the_request_path() {
        assert_eq!(
            queue_from_request(None, &ctx("/000000000000/celery")),
            q("000000000000", "celery")
        );
        assert_eq!(
            queue_from_request(Some(""), &ctx("/000000000000/celery")),
            q("000000000000", "celery")
        );
        assert_eq!(queue_from_request(None, &ctx("/")), None);
        assert_eq!(
            queue_from_request(Some("http://h/111111111111/x"), &ctx("/000000000000/celery")),
            q("111111111111", "x"),
            "an explicit QueueUrl wins"
        );
    }
}
