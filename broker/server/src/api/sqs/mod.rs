//! SQS handlers: `SqsRequest` → `broker.queues` call → `SqsResponse`, for JSON 1.0 and query.
//!
//! # Layout
//! - [`handle`]: decode (protocols) → [`authorize`] → [`execute`] → encode (protocols); errors
//!   go through [`crate::api::error`].
//! - [`execute`]: one line per action, calling the function that serves it:
//!   - [`queues`]: create, delete, get-url, list, attributes, tags, purge, permissions and
//!     dead-letter sources;
//!   - [`messages`]: send, receive, delete and visibility, one at a time and in batches, and
//!     the attribute selection of ReceiveMessage;
//!   - [`move_tasks`]: message move tasks and the permissions a start needs.
//! - [`shared`]: the handlers' error type (core errors convert with `?` through
//!   [`crate::api::error::sqs_error`]), [`queue_url`] and page sizes.
//! - Here too: [`parse_queue_url`], which accepts any host, because clients reach us through
//!   Docker, Kubernetes and proxies under many names (docs/design.md "Identity").
//!
//! # Invariants
//! - Imports point one way: this module → the handler files → [`shared`], a leaf. The handler
//!   files import neither this module nor each other.
//!
//! Validation of shapes and ranges is the protocol decoder's; what depends on state (queue
//! exists, queue limits, receipt handles) is the core's. This module only translates.

pub mod messages;
pub mod move_tasks;
pub mod queues;
pub mod shared;

use std::sync::Arc;

use http::header::{HeaderValue, CONTENT_TYPE};
use http::Response;
use sluice_broker::queue::movetask;
use sluice_broker::queue::QueueKey;
use sluice_broker::Queues;
use sluice_protocols::sqs::{
    decode_json, decode_query, encode_json, encode_xml, SqsAction, SqsError, SqsErrorCode, SqsRequest, SqsResponse,
};

use crate::api::context::{ApiCall, ApiReply, RequestContext};
use crate::api::error::{sqs_error_response, XML_CONTENT_TYPE};
use crate::app::App;
use crate::wire::{is_queue_path, Protocol, ResponseBody};

pub use messages::{message_attribute_selected, system_attribute_selected};
pub use shared::queue_url;
use shared::{Failure, Result};

/// Content type of AWS JSON 1.0 responses.
const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// Serves one SQS call: decode, execute, encode.
pub async fn handle(app: &App, ctx: &RequestContext, call: ApiCall<'_>) -> ApiReply {
    let protocol = call.protocol;
    let action_label = SqsAction::from_name(call.action).map_or("unknown", SqsAction::name);
    let reply = |response| ApiReply { response, action_label };
    let request = match decode(ctx, &call) {
        Ok(request) => request,
        Err(err) => return reply(sqs_error_response(protocol, &err, &ctx.request_id)),
    };
    match execute(app, ctx, request).await {
        Ok(response) => reply(encode(protocol, &response, &ctx.request_id)),
        Err(Failure(err)) => reply(sqs_error_response(protocol, &err, &ctx.request_id)),
    }
}

/// Decodes the request body (JSON) or parameters (query) into a validated [`SqsRequest`].
fn decode(ctx: &RequestContext, call: &ApiCall<'_>) -> std::result::Result<SqsRequest, SqsError> {
    // Query clients (kombu, JS v3, Java v2) post to the queue URL and may omit QueueUrl.
    let path_queue_url = is_queue_path(&ctx.path).then(|| format!("{}{}", ctx.base_url(), ctx.path));
    match call.protocol {
        Protocol::Query => {
            let params = crate::api::context::query_params(call);
            decode_query(&params, path_queue_url.as_deref()).map(|(_, request)| request)
        }
        Protocol::Json10 | Protocol::Json11 | Protocol::Cbor11 | Protocol::RestJson => {
            let Some(action) = SqsAction::from_name(call.action) else {
                return Err(SqsError::new(
                    SqsErrorCode::InvalidAction,
                    format!("The action {} is not valid for this endpoint.", call.action),
                ));
            };
            let mut request = decode_json(action, &call.body)?;
            if let Some(url) = &path_queue_url {
                request.set_default_queue_url(url);
            }
            Ok(request)
        }
    }
}

fn encode(protocol: Protocol, response: &SqsResponse, request_id: &str) -> Response<ResponseBody> {
    let (content_type, body) = match protocol {
        Protocol::Query => (XML_CONTENT_TYPE, encode_xml(response, request_id)),
        Protocol::Json10 | Protocol::Json11 | Protocol::Cbor11 | Protocol::RestJson => {
            (JSON_CONTENT_TYPE, encode_json(response))
        }
    };
    let mut http_response = Response::new(ResponseBody::full(body));
    http_response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    http_response
}

/// The core key of the queue a request names.
fn queue_key(ctx: &RequestContext, request: &SqsRequest) -> Result<QueueKey> {
    let url = request.require_queue_url()?;
    let queue = parse_queue_url(url).ok_or_else(|| {
        SqsError::new(
            SqsErrorCode::InvalidAddress,
            format!("The address {url} is not valid for this endpoint."),
        )
    })?;
    Ok(QueueKey::new(queue.account_id, ctx.region.clone(), queue.name))
}

/// Runs one decoded request against the core: authorizes it, then calls the function that
/// serves its action.
async fn execute(app: &App, ctx: &RequestContext, request: SqsRequest) -> Result<SqsResponse> {
    let core = &app.broker.queues;
    let named_queue = if request.takes_queue_url() {
        Some(queue_key(ctx, &request)?)
    } else {
        None
    };
    authorize(ctx, core, &request, named_queue.as_ref())?;
    // `takes_queue_url` is true for every arm that calls this.
    let key = || named_queue.as_ref().ok_or_else(SqsError::queue_does_not_exist);
    match request {
        SqsRequest::CreateQueue(i) => queues::create(ctx, core, i),
        SqsRequest::GetQueueUrl(i) => queues::get_url(ctx, core, i),
        SqsRequest::DeleteQueue(_) => queues::delete(core, key()?),
        SqsRequest::ListQueues(i) => queues::list(ctx, core, i),
        SqsRequest::ListDeadLetterSourceQueues(i) => queues::list_dead_letter_sources(ctx, core, key()?, i),
        SqsRequest::GetQueueAttributes(i) => queues::get_attributes(core, key()?, i),
        SqsRequest::SetQueueAttributes(i) => queues::set_attributes(core, key()?, i),
        SqsRequest::TagQueue(i) => queues::tag(core, key()?, i),
        SqsRequest::UntagQueue(i) => queues::untag(core, key()?, i),
        SqsRequest::ListQueueTags(_) => queues::list_tags(core, key()?),
        SqsRequest::AddPermission(i) => queues::add_permission(core, key()?, i),
        SqsRequest::RemovePermission(i) => queues::remove_permission(core, key()?, i),
        SqsRequest::PurgeQueue(_) => queues::purge(core, key()?),
        SqsRequest::SendMessage(i) => messages::send(ctx, core, key()?, i),
        SqsRequest::SendMessageBatch(i) => messages::send_batch(ctx, core, key()?, i),
        SqsRequest::ReceiveMessage(i) => messages::receive(core, key()?, i).await,
        SqsRequest::DeleteMessage(i) => messages::delete(core, key()?, i),
        SqsRequest::DeleteMessageBatch(i) => messages::delete_batch(core, key()?, i),
        SqsRequest::ChangeMessageVisibility(i) => messages::change_visibility(core, key()?, i),
        SqsRequest::ChangeMessageVisibilityBatch(i) => messages::change_visibility_batch(core, key()?, i),
        SqsRequest::StartMessageMoveTask(i) => move_tasks::start(core, i),
        SqsRequest::CancelMessageMoveTask(i) => move_tasks::cancel(core, i),
        SqsRequest::ListMessageMoveTasks(i) => move_tasks::list(core, i),
    }
}

/// Checks the caller's identity policy, and for another account's queue that queue's policy;
/// nothing to do (and nothing computed) when authentication is off.
fn authorize(
    ctx: &RequestContext,
    core: &Arc<Queues>,
    request: &SqsRequest,
    named_queue: Option<&QueueKey>,
) -> Result<()> {
    if ctx.principal.is_none() {
        return Ok(());
    }
    let resource = match request {
        SqsRequest::CreateQueue(i) => {
            QueueKey::new(ctx.account_id.clone(), ctx.region.clone(), i.queue_name.clone()).arn()
        }
        SqsRequest::GetQueueUrl(i) => {
            let owner = i.queue_owner_aws_account_id.clone().filter(|a| !a.is_empty());
            QueueKey::new(
                owner.unwrap_or_else(|| ctx.account_id.clone()),
                ctx.region.clone(),
                i.queue_name.clone(),
            )
            .arn()
        }
        SqsRequest::StartMessageMoveTask(i) => i.source_arn.clone(),
        SqsRequest::ListMessageMoveTasks(i) => i.source_arn.clone(),
        // The handle names the task's source queue; AWS authorizes the cancel against it. A
        // garbled or edited handle that names no queue is refused as the cancel would refuse it.
        SqsRequest::CancelMessageMoveTask(i) => movetask::handle_source_arn(&i.task_handle)?,
        // ListQueues names no queue: only `Resource: "*"` grants it.
        _ => named_queue.map_or_else(|| "*".to_string(), QueueKey::arn),
    };
    let iam_action = format!("sqs:{}", request.action().name());
    ctx.authorize(&iam_action, &resource, || core.policy_by_arn(&resource))
        .map_err(|message| SqsError::new(SqsErrorCode::AccessDenied, message))?;
    if let SqsRequest::StartMessageMoveTask(i) = request {
        move_tasks::authorize_start(ctx, core, i)?;
    }
    Ok(())
}

/// A queue named by a queue URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRef {
    /// Account id segment.
    pub account_id: String,
    /// Queue name segment.
    pub name: String,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
