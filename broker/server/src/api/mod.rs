//! AWS API handlers: decoded request → core call → encoded response.
//!
//! # Layout
//! - [`RequestContext`]: who and where a request is for (request id, account, region, the host
//!   and scheme that queue URLs echo).
//! - [`call`]: routes an API call to its service module.
//! - [`sqs`]: SQS (JSON 1.0 and query); [`sns`]: SNS (query); [`kinesis`]: Kinesis (JSON 1.1
//!   and CBOR), [`kinesis_efo`]: its enhanced fan-out (consumers, SubscribeToShard);
//!   [`error`]: the one mapping from core errors to AWS error codes, and the
//!   rendering of errors raised before a service codec is involved.
//! - [`query_params`]: a query-protocol request's parameters (URL query, then form body).
//!
//! Handlers see no hyper types: the dispatcher hands them an [`ApiCall`].

pub mod error;
pub mod kinesis;
pub mod kinesis_efo;
pub mod sns;
pub mod sqs;

use bytes::Bytes;
use http::{HeaderMap, Response};

use sluice_protocols::query::parse_form;

use crate::app::App;
use crate::dispatch::{Protocol, ResponseBody, Service};
use crate::policy::{Policy, ResourcePolicy};

/// Per-request facts every handler may need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// Unique id, echoed in `x-amzn-RequestId` and query-protocol `ResponseMetadata`.
    pub request_id: String,
    /// Account that owns the resources named by the request.
    pub account_id: String,
    /// Region: from the SigV4 credential scope, else the configured default.
    pub region: String,
    /// `Host` header (or HTTP/2 `:authority`), used in queue URLs.
    pub host: Option<String>,
    /// Scheme of the connection (`http`; TLS terminates in front of Sluice).
    pub scheme: &'static str,
    /// Request path (query requests are often sent to a queue URL's path).
    pub path: String,
    /// Configured public base URL, which replaces `scheme://host` in queue URLs.
    pub public_url: Option<String>,
    /// The verified caller (`--auth verify`); `None` when authentication is off.
    pub principal: Option<Principal>,
}

/// A verified caller and what its key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The access key that signed the request.
    pub access_key_id: String,
    /// Its identity policy; `None` allows everything in its account.
    pub policy: Option<std::sync::Arc<Policy>>,
}

impl RequestContext {
    /// For a call on `resource` (an ARN) owned by another account than the caller's: the
    /// resource's own policy (`policy` fetches it) must allow the caller's account, as on AWS.
    /// Calls within the caller's account, and everything with authentication off, pass.
    pub fn authorize_cross_account(
        &self,
        action: &str,
        resource: &str,
        policy: impl FnOnce() -> Option<String>,
    ) -> Result<(), String> {
        let Some(principal) = &self.principal else {
            return Ok(());
        };
        let owner = resource.split(':').nth(4).unwrap_or_default();
        if resource == "*" || owner.is_empty() || owner == self.account_id {
            return Ok(());
        }
        let allowed = policy()
            .and_then(|text| ResourcePolicy::parse(&text).ok())
            .and_then(|p| p.decide(&self.account_id, action, resource))
            == Some(true);
        if allowed {
            return Ok(());
        }
        tracing::info!(access_key = %principal.access_key_id, action, resource, "request refused: cross-account");
        Err(format!(
            "User: arn:aws:iam::{}:user/{} is not authorized to perform: {action} on resource: {resource} because no resource-based policy allows the {action} action",
            self.account_id, principal.access_key_id
        ))
    }

    /// Checks the caller's identity policy for `action` (`sqs:SendMessage`) on `resource`;
    /// `Err` carries AWS's explanation for an `AccessDenied`.
    pub fn authorize(&self, action: &str, resource: &str) -> Result<(), String> {
        let Some(principal) = &self.principal else {
            return Ok(());
        };
        match &principal.policy {
            Some(policy) if !policy.allows(action, resource) => {
                // The audit line for a refusal; the request span adds the request id.
                tracing::info!(access_key = %principal.access_key_id, action, resource, "request refused: policy");
                Err(format!(
                    "User: arn:aws:iam::{}:user/{} is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action",
                    self.account_id, principal.access_key_id
                ))
            }
            _ => Ok(()),
        }
    }

    /// Base of URLs handed to clients: the public URL, else `scheme://host`.
    pub fn base_url(&self) -> String {
        match (&self.public_url, &self.host) {
            (Some(url), _) => url.clone(),
            (None, Some(host)) => format!("{}://{}", self.scheme, host),
            // HTTP/1.0 without Host: nothing better to offer than the loopback default.
            (None, None) => format!("{}://localhost:4566", self.scheme),
        }
    }
}

/// An API call as the dispatcher classified it.
#[derive(Debug)]
pub struct ApiCall<'a> {
    /// Service.
    pub service: Service,
    /// Wire protocol of request and response.
    pub protocol: Protocol,
    /// Action name as sent.
    pub action: &'a str,
    /// Request headers (for `Content-Type`, `x-amzn-query-mode`, etc.).
    pub headers: &'a HeaderMap,
    /// URI query string (query-protocol GET requests carry their parameters there).
    pub query: Option<&'a str>,
    /// Request body, already bounded by `--max-body-bytes`.
    pub body: Bytes,
}

/// A handler's answer: the response and the bounded action label for metrics.
#[derive(Debug)]
pub struct ApiReply {
    /// The encoded response.
    pub response: Response<ResponseBody>,
    /// Action name from the service's action enum, or `"unknown"`.
    pub action_label: &'static str,
}

/// Routes an API call to its service.
pub async fn call(app: &App, ctx: &RequestContext, call: ApiCall<'_>) -> ApiReply {
    match call.service {
        Service::Sqs => sqs::handle(app, ctx, call).await,
        Service::Kinesis => kinesis::handle(app, ctx, call).await,
        Service::Sns => sns::handle(app, ctx, call).await,
    }
}

/// A query-protocol request's parameters: the URL query's, then the form body's (when the body
/// is a form, or carries no content type, as some hand-built clients send).
pub fn query_params(call: &ApiCall<'_>) -> Vec<(String, String)> {
    let mut params = call.query.map(|q| parse_form(q.as_bytes())).unwrap_or_default();
    let is_form = call
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if is_form {
        params.extend(parse_form(&call.body));
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(host: Option<&str>, public_url: Option<&str>) -> RequestContext {
        RequestContext {
            principal: None,
            request_id: "r".into(),
            account_id: "000000000000".into(),
            region: "us-east-1".into(),
            host: host.map(str::to_string),
            scheme: "http",
            path: "/".into(),
            public_url: public_url.map(str::to_string),
        }
    }

    #[test]
    fn base_url_prefers_public_url_then_host() {
        assert_eq!(
            ctx(Some("sluice:4566"), Some("https://sqs.example.com")).base_url(),
            "https://sqs.example.com"
        );
        assert_eq!(ctx(Some("sluice:4566"), None).base_url(), "http://sluice:4566");
        assert_eq!(ctx(None, None).base_url(), "http://localhost:4566");
    }
}
