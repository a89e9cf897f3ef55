//! SNS handlers: `SnsRequest` → `broker.topics` call → `SnsResponse`, over the query protocol.
//!
//! # Layout
//! - [`handle`]: decode (protocols) → [`authorize`] → [`execute`] → encode (protocols); errors
//!   go through [`crate::api::error::sns_error`] and the protocol crate's renderer.
//! - [`execute`]: one line per action, calling the function that serves it:
//!   - [`topics`]: create, delete, attributes, list, permissions and tags;
//!   - [`subscriptions`]: subscribe, confirm, unsubscribe, attributes and lists;
//!   - [`publish`]: Publish, PublishBatch, [`publish_message`], and the context the core
//!     delivers with.
//! - [`shared`]: the handlers' error type (core errors convert with `?`), their [`Scope`], and
//!   topic keys from ARNs (the ARN's account and region win, as on AWS).
//!
//! # Invariants
//! - Imports point one way: this module → the handler files → [`shared`], a leaf. The handler
//!   files import neither this module nor each other.
//!
//! Shape validation is the protocol decoder's; what depends on state (topic exists, FIFO rules,
//! filter policies) is the core's. This module only translates.

pub mod publish;
pub mod shared;
pub mod subscriptions;
pub mod topics;

use http::StatusCode;
use sluice_broker::topic::TopicKey;
use sluice_protocols::sns::{decode_query, encode_xml, SnsAction, SnsError, SnsErrorCode, SnsRequest, SnsResponse};

use crate::api::context::{query_params, ApiCall, ApiReply, RequestContext};
use crate::api::error::{sns_error_response, XML_CONTENT_TYPE};
use crate::app::App;
use crate::wire::text_response;

pub use publish::publish_message;
use shared::{counts_as_authenticated, Failure, Result, Scope};

/// Serves one SNS call.
pub async fn handle(app: &App, ctx: &RequestContext, call: ApiCall<'_>) -> ApiReply {
    let action_label = SnsAction::from_name(call.action).map_or("unknown", SnsAction::name);
    let params = query_params(&call);
    let result = decode_query(&params).map_err(Failure).and_then(|(action, request)| {
        authorize(app, ctx, action, &request)?;
        execute(app, ctx, request)
    });
    let response = match result {
        Ok(response) => text_response(StatusCode::OK, XML_CONTENT_TYPE, encode_xml(&response, &ctx.request_id)),
        Err(Failure(err)) => sns_error_response(&err, &ctx.request_id),
    };
    ApiReply { response, action_label }
}

/// Runs one decoded request against the core: calls the function that serves its action.
fn execute(app: &App, ctx: &RequestContext, request: SnsRequest) -> Result<SnsResponse> {
    let scope = Scope {
        app,
        ctx,
        publish: publish::context(app, ctx),
    };
    let s = &scope;
    match request {
        SnsRequest::AddPermission {
            topic_arn,
            label,
            account_ids,
            action_names,
        } => topics::add_permission(s, topic_arn, label, account_ids, action_names),
        SnsRequest::ConfirmSubscription {
            topic_arn,
            token,
            authenticate_on_unsubscribe,
        } => subscriptions::confirm(s, topic_arn, token, authenticate_on_unsubscribe),
        SnsRequest::CreateTopic { name, attributes, tags } => topics::create(s, name, attributes, tags),
        SnsRequest::DeleteTopic { topic_arn } => topics::delete(s, topic_arn),
        SnsRequest::GetSubscriptionAttributes { subscription_arn } => {
            subscriptions::get_attributes(s, subscription_arn)
        }
        SnsRequest::GetTopicAttributes { topic_arn } => topics::get_attributes(s, topic_arn),
        SnsRequest::ListSubscriptions { next_token } => subscriptions::list(s, next_token),
        SnsRequest::ListSubscriptionsByTopic { topic_arn, next_token } => {
            subscriptions::list_by_topic(s, topic_arn, next_token)
        }
        SnsRequest::ListTagsForResource { resource_arn } => topics::list_tags(s, resource_arn),
        SnsRequest::ListTopics { next_token } => topics::list(s, next_token),
        SnsRequest::Publish { topic_arn, fields } => publish::publish(s, topic_arn, fields),
        SnsRequest::PublishBatch { topic_arn, entries } => publish::publish_batch(s, topic_arn, entries),
        SnsRequest::RemovePermission { topic_arn, label } => topics::remove_permission(s, topic_arn, label),
        SnsRequest::SetSubscriptionAttributes {
            subscription_arn,
            attribute_name,
            attribute_value,
        } => subscriptions::set_attribute(s, subscription_arn, attribute_name, attribute_value),
        SnsRequest::SetTopicAttributes {
            topic_arn,
            attribute_name,
            attribute_value,
        } => topics::set_attribute(s, topic_arn, attribute_name, attribute_value),
        SnsRequest::Subscribe {
            topic_arn,
            protocol,
            endpoint,
            attributes,
            return_subscription_arn,
        } => subscriptions::subscribe(s, topic_arn, protocol, endpoint, attributes, return_subscription_arn),
        SnsRequest::TagResource { resource_arn, tags } => topics::tag(s, resource_arn, tags),
        SnsRequest::Unsubscribe { subscription_arn } => subscriptions::unsubscribe(s, subscription_arn),
        SnsRequest::UntagResource { resource_arn, tag_keys } => topics::untag(s, resource_arn, tag_keys),
    }
}

/// The ARN a request acts on, for authorization.
fn resource(app: &App, ctx: &RequestContext, request: &SnsRequest) -> String {
    match request {
        SnsRequest::CreateTopic { name, .. } => TopicKey::new(ctx.account_id.clone(), ctx.region.clone(), name).arn(),
        SnsRequest::ListTopics { .. } | SnsRequest::ListSubscriptions { .. } => "*".to_string(),
        SnsRequest::GetSubscriptionAttributes { subscription_arn }
        | SnsRequest::SetSubscriptionAttributes { subscription_arn, .. }
        | SnsRequest::Unsubscribe { subscription_arn } => app
            .broker
            .topics
            .subscription_topic(subscription_arn)
            .map(|t| t.arn())
            .unwrap_or_else(|_| subscription_arn.clone()),
        SnsRequest::AddPermission { topic_arn, .. }
        | SnsRequest::ConfirmSubscription { topic_arn, .. }
        | SnsRequest::DeleteTopic { topic_arn }
        | SnsRequest::GetTopicAttributes { topic_arn }
        | SnsRequest::ListSubscriptionsByTopic { topic_arn, .. }
        | SnsRequest::Publish { topic_arn, .. }
        | SnsRequest::PublishBatch { topic_arn, .. }
        | SnsRequest::RemovePermission { topic_arn, .. }
        | SnsRequest::SetTopicAttributes { topic_arn, .. }
        | SnsRequest::Subscribe { topic_arn, .. } => topic_arn.clone(),
        SnsRequest::ListTagsForResource { resource_arn }
        | SnsRequest::TagResource { resource_arn, .. }
        | SnsRequest::UntagResource { resource_arn, .. } => resource_arn.clone(),
    }
}

/// AWS's rule for deleting a subscription that requires authentication (confirmed with
/// AuthenticateOnUnsubscribe, or a queue subscription): the request must be signed, by the
/// topic's or the subscription's owner. Under `--auth verify` an Unsubscribe may arrive
/// unsigned (a GET of the UnsubscribeURL), so this is where such a request is refused.
/// `Ok(true)` when a signed caller is the subscription's owner, who may unsubscribe it even
/// from another account's topic.
fn authorize_unsubscribe(app: &App, ctx: &RequestContext, subscription_arn: &str) -> Result<bool> {
    if app.keys.is_none() {
        return Ok(false);
    }
    let rule = app.broker.topics.unsubscribe_rule(subscription_arn)?;
    let subscriber = ctx.principal.is_some() && ctx.account_id == rule.owner;
    if !rule.requires_authentication {
        return Ok(subscriber);
    }
    if !counts_as_authenticated(app, ctx) {
        tracing::info!(
            subscription = subscription_arn,
            "request refused: unauthenticated unsubscribe"
        );
        return Err(Failure(SnsError::new(
            SnsErrorCode::AuthorizationError,
            "This subscription requires authentication to unsubscribe: sign the request with a key of the topic's or the subscription's owner.",
        )));
    }
    if ctx.account_id != rule.topic.account && ctx.account_id != rule.owner {
        tracing::info!(subscription = subscription_arn, account = %ctx.account_id, "request refused: unsubscribe by neither owner");
        return Err(Failure(SnsError::new(
            SnsErrorCode::AuthorizationError,
            format!(
                "Only the topic owner ({}) or the subscription owner ({}) can unsubscribe this subscription.",
                rule.topic.account, rule.owner
            ),
        )));
    }
    Ok(subscriber)
}

/// Checks the caller's identity policy, and for another account's topic that topic's policy;
/// nothing is computed when authentication is off.
fn authorize(app: &App, ctx: &RequestContext, action: SnsAction, request: &SnsRequest) -> Result<()> {
    // The token a subscription's endpoint received is what authorizes ConfirmSubscription (it
    // may even come unsigned), so the owner of another account's queue can confirm.
    if action == SnsAction::ConfirmSubscription {
        return Ok(());
    }
    let mut subscriber = false;
    if let SnsRequest::Unsubscribe { subscription_arn } = request {
        subscriber = authorize_unsubscribe(app, ctx, subscription_arn)?;
    }
    if ctx.principal.is_none() {
        return Ok(());
    }
    let resource = resource(app, ctx, request);
    let iam_action = format!("sns:{}", action.name());
    let denied = |message: String| Failure(SnsError::new(SnsErrorCode::AuthorizationError, message));
    // AWS lets a subscription's owner unsubscribe it without the topic's policy granting that.
    ctx.authorize_with(&iam_action, &resource, subscriber, || {
        app.broker.topics.topic_policy(&TopicKey::from_arn(&resource)?)
    })
    .map_err(denied)
}
