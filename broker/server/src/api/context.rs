//! What every handler works with: the [`RequestContext`] of a request (who, where, and the
//! authorization check), the [`ApiCall`] the dispatcher classified, the [`ApiReply`] a handler
//! returns, and [`query_params`]. A leaf of `api`: the service modules import it, and it
//! imports none of them (issue 15: no import circle).

use bytes::Bytes;
use http::{HeaderMap, Response};

use sluice_protocols::query::parse_form;

use crate::policy::{combine, Decision, Policy, RequestFacts, ResourcePolicy};
use crate::wire::{Protocol, ResponseBody, Service};

/// Per-request facts every handler may need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// Unique id, echoed in `x-amzn-RequestId` and query-protocol `ResponseMetadata`.
    pub request_id: String,
    /// The caller's account: the signing key's with `--auth verify`, else `--account-id`.
    /// Names without an account (a queue or stream name) resolve in it; queue URLs and ARNs
    /// carry their own.
    pub account_id: String,
    /// Region: from the SigV4 credential scope, else the configured default (`--region`).
    pub region: String,
    /// `Host` header (or HTTP/2 `:authority`), used in queue URLs.
    pub host: Option<String>,
    /// Scheme of the connection the request came on: `https` on the TLS listener
    /// (`--tls-cert`), `http` on a plain one (no TLS configured, or `--plain-bind`). Queue URLs
    /// and `aws:SecureTransport` follow it.
    pub scheme: &'static str,
    /// Request path (query requests are often sent to a queue URL's path).
    pub path: String,
    /// Configured public base URL, which replaces `scheme://host` in queue URLs.
    pub public_url: Option<String>,
    /// The verified caller (`--auth verify`); `None` when authentication is off.
    pub principal: Option<Principal>,
    /// The client's address (`aws:SourceIp` in policy conditions).
    pub source_ip: Option<std::net::IpAddr>,
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
    /// Decides a call of `action` (`sqs:SendMessage`) on `resource` (an ARN, or `*` for actions
    /// without one) as IAM does, from the caller's identity policy and the resource's own
    /// policy (`policy` fetches it): an explicit deny in either refuses; within the resource's
    /// account either may allow; across accounts both must (see [`crate::policy`]). Everything
    /// passes, and nothing is fetched, when authentication is off. `Err` carries AWS's
    /// explanation for an `AccessDenied`.
    pub fn authorize(
        &self,
        action: &str,
        resource: &str,
        policy: impl FnOnce() -> Option<String>,
    ) -> Result<(), String> {
        self.authorize_with(action, resource, false, policy)
    }

    /// [`RequestContext::authorize`] for a caller that owns what the call acts on although the
    /// resource is another account's (the owner of a subscription to another account's topic
    /// unsubscribing it): decided as within one account, so the identity policy suffices
    /// unless the resource policy denies.
    pub fn authorize_with(
        &self,
        action: &str,
        resource: &str,
        caller_owns: bool,
        policy: impl FnOnce() -> Option<String>,
    ) -> Result<(), String> {
        let Some(principal) = &self.principal else {
            return Ok(());
        };
        let principal_arn = format!("arn:aws:iam::{}:user/{}", self.account_id, principal.access_key_id);
        let facts = RequestFacts {
            account: &self.account_id,
            principal_arn: &principal_arn,
            user: &principal.access_key_id,
            secure_transport: self.scheme == "https",
            source_ip: self.source_ip,
            region: &self.region,
            epoch_secs: crate::auth::now_epoch_secs().max(0) as u64,
            service: None,
            source_arn: None,
            source_account: None,
        };
        let identity = principal.policy.as_ref().map(|p| p.decide(action, resource, &facts));
        let owner = resource.split(':').nth(4).unwrap_or_default();
        let same_account = caller_owns || resource == "*" || owner.is_empty() || owner == self.account_id;
        let resource_decision = if resource == "*" {
            Decision::NotApplicable
        } else {
            policy()
                .filter(|text| !text.trim().is_empty())
                .and_then(|text| match ResourcePolicy::parse(&text) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        tracing::debug!(resource, error = %e, "resource policy not evaluated");
                        None
                    }
                })
                .map_or(Decision::NotApplicable, |p| p.decide(action, resource, &facts))
        };
        combine(identity, resource_decision, same_account).map_err(|refusal| {
            // The audit line for a refusal; the request span adds the request id.
            tracing::info!(access_key = %principal.access_key_id, action, resource, reason = ?refusal, "request refused: policy");
            format!(
                "User: {principal_arn} is not authorized to perform: {action} on resource: {resource} {}",
                refusal.explain(action)
            )
        })
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
    /// Action name as sent (REST services: the operation the method and path name).
    pub action: &'a str,
    /// HTTP method (REST services route on it).
    pub method: &'a http::Method,
    /// URI path, undecoded (REST services take resources from it).
    pub path: &'a str,
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

/// A context for unit tests: no principal, the default account and region, plain HTTP.
#[cfg(test)]
pub(crate) fn test_context(path: &str, host: Option<&str>, public_url: Option<&str>) -> RequestContext {
    RequestContext {
        principal: None,
        source_ip: None,
        request_id: "r".into(),
        account_id: "000000000000".into(),
        region: "us-east-1".into(),
        host: host.map(str::to_string),
        scheme: "http",
        path: path.into(),
        public_url: public_url.map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(host: Option<&str>, public_url: Option<&str>) -> RequestContext {
        test_context("/", host, public_url)
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
