//! SNS handlers: `SnsRequest` → `broker.topics()` call → `SnsResponse`, over the query protocol.
//!
//! # Layout
//! - [`handle`]: decode (protocols) → authorize → [`execute`] → encode (protocols); errors go
//!   through [`crate::api::error::sns_error`] and the protocol crate's renderer.
//! - Topics are named by ARN; the ARN's account and region win, as on AWS.
//! - [`publish_message`]: the wire's message fields as the core takes them.
//!
//! Shape validation is the protocol decoder's; what depends on state (topic exists, FIFO rules,
//! filter policies) is the core's. This module only translates.

use http::StatusCode;
use sluice_broker::queue::message::{MessageAttribute, MessageAttributes};
use sluice_broker::topic::{PublishContext, PublishMessage, QueueDeliveryCheck, SubscriptionSummary, TopicKey};
use sluice_protocols::sns::{
    check_publish, decode_query, encode_xml, BatchFailure, BatchSuccess, PublishFields, SnsAction, SnsError,
    SnsErrorCode, SnsRequest, SnsResponse, SubscriptionEntry,
};

use crate::api::context::{query_params, ApiCall, ApiReply, RequestContext};
use crate::api::error::{sns_error, sns_error_response, XML_CONTENT_TYPE};
use crate::app::App;
use crate::wire::text_response;

type Result<T> = std::result::Result<T, SnsError>;

/// Serves one SNS call.
pub async fn handle(app: &App, ctx: &RequestContext, call: ApiCall<'_>) -> ApiReply {
    let action_label = SnsAction::from_name(call.action).map_or("unknown", SnsAction::name);
    let params = query_params(&call);
    let result = decode_query(&params).and_then(|(action, request)| {
        authorize(app, ctx, action, &request)?;
        execute(app, ctx, request)
    });
    let response = match result {
        Ok(response) => text_response(StatusCode::OK, XML_CONTENT_TYPE, encode_xml(&response, &ctx.request_id)),
        Err(err) => sns_error_response(&err, &ctx.request_id),
    };
    ApiReply { response, action_label }
}

/// The topic an ARN names.
fn topic_key(arn: &str, member: &str) -> Result<TopicKey> {
    TopicKey::from_arn(arn).ok_or_else(|| SnsError::invalid(member))
}

/// The wire's message fields as the core takes them.
pub fn publish_message(fields: PublishFields) -> PublishMessage {
    let attributes: MessageAttributes = fields
        .message_attributes
        .into_iter()
        .map(|(name, value)| {
            (
                name,
                MessageAttribute {
                    data_type: value.data_type,
                    string_value: value.string_value,
                    binary_value: value.binary_value,
                },
            )
        })
        .collect();
    PublishMessage {
        message: fields.message,
        subject: fields.subject,
        json_structure: fields.message_structure.is_some(),
        attributes,
        group_id: fields.message_group_id,
        deduplication_id: fields.message_deduplication_id,
    }
}

fn entries(subs: Vec<SubscriptionSummary>) -> Vec<SubscriptionEntry> {
    subs.into_iter()
        .map(|s| SubscriptionEntry {
            subscription_arn: s.subscription_arn,
            owner: s.owner,
            protocol: s.protocol,
            endpoint: s.endpoint,
            topic_arn: s.topic_arn,
        })
        .collect()
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
            .topics()
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

/// True when the request counts as authenticated: it was signed by a verified key, or
/// authentication is off. With `--auth off` nothing is verified and a signature proves nothing
/// (any can be forged), so every request counts, and AuthenticateOnUnsubscribe is recorded as
/// asked but protects nothing until `--auth verify` (docs/security.md).
fn counts_as_authenticated(app: &App, ctx: &RequestContext) -> bool {
    app.keys.is_none() || ctx.principal.is_some()
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
    let rule = app
        .broker
        .topics()
        .unsubscribe_rule(subscription_arn)
        .map_err(sns_error)?;
    let subscriber = ctx.principal.is_some() && ctx.account_id == rule.owner;
    if !rule.requires_authentication {
        return Ok(subscriber);
    }
    if !counts_as_authenticated(app, ctx) {
        tracing::info!(
            subscription = subscription_arn,
            "request refused: unauthenticated unsubscribe"
        );
        return Err(SnsError::new(
            SnsErrorCode::AuthorizationError,
            "This subscription requires authentication to unsubscribe: sign the request with a key of the topic's or the subscription's owner.",
        ));
    }
    if ctx.account_id != rule.topic.account && ctx.account_id != rule.owner {
        tracing::info!(subscription = subscription_arn, account = %ctx.account_id, "request refused: unsubscribe by neither owner");
        return Err(SnsError::new(
            SnsErrorCode::AuthorizationError,
            format!(
                "Only the topic owner ({}) or the subscription owner ({}) can unsubscribe this subscription.",
                rule.topic.account, rule.owner
            ),
        ));
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
    let denied = |message: String| SnsError::new(SnsErrorCode::AuthorizationError, message);
    // AWS lets a subscription's owner unsubscribe it without the topic's policy granting that.
    ctx.authorize_with(&iam_action, &resource, subscriber, || {
        app.broker.topics().topic_policy(&TopicKey::from_arn(&resource)?)
    })
    .map_err(denied)
}

/// With authentication on, SNS delivers to another account's queue only when that queue's
/// policy allows the service `sns.amazonaws.com` to `sqs:SendMessage` (usually with an
/// `aws:SourceArn` condition naming the topic), as on AWS.
fn cross_account_check(app: &App) -> Option<QueueDeliveryCheck> {
    app.keys.as_ref()?;
    let broker = app.broker.clone();
    Some(std::sync::Arc::new(move |topic_arn: &str, queue_arn: &str| {
        let Some(policy) = broker
            .queues()
            .policy_by_arn(queue_arn)
            .and_then(|text| crate::policy::ResourcePolicy::parse(&text).ok())
        else {
            return false;
        };
        let topic_account = topic_arn.split(':').nth(4).unwrap_or_default();
        let region = queue_arn.split(':').nth(3).unwrap_or_default();
        let facts = crate::policy::RequestFacts {
            account: topic_account,
            principal_arn: "",
            user: "",
            secure_transport: true,
            source_ip: None,
            region,
            epoch_secs: crate::auth::now_epoch_secs().max(0) as u64,
            service: Some("sns.amazonaws.com"),
            source_arn: Some(topic_arn),
            source_account: Some(topic_account),
        };
        policy.decide("sqs:SendMessage", queue_arn, &facts) == crate::policy::Decision::Allow
    }))
}

/// Runs one decoded request against the core.
fn execute(app: &App, ctx: &RequestContext, request: SnsRequest) -> Result<SnsResponse> {
    let topics = app.broker.topics();
    let publish_ctx = PublishContext {
        base_url: ctx.base_url(),
        cross_account_check: cross_account_check(app),
    };
    let response = match request {
        SnsRequest::AddPermission {
            topic_arn,
            label,
            account_ids,
            action_names,
        } => {
            let key = topic_key(&topic_arn, "TopicArn")?;
            topics
                .add_permission(&key, &label, &account_ids, &action_names)
                .map_err(sns_error)?;
            SnsResponse::Empty(SnsAction::AddPermission)
        }
        SnsRequest::ConfirmSubscription {
            topic_arn,
            token,
            authenticate_on_unsubscribe,
        } => {
            let key = topic_key(&topic_arn, "TopicArn")?;
            // AWS: the flag counts only on a request with an AWS signature; an unsigned GET of
            // the SubscribeURL leaves the subscription open to unsigned unsubscribes.
            let authenticated = authenticate_on_unsubscribe && counts_as_authenticated(app, ctx);
            let arn = topics
                .confirm_subscription(&key, &token, authenticated)
                .map_err(sns_error)?;
            SnsResponse::SubscriptionArn(SnsAction::ConfirmSubscription, arn)
        }
        SnsRequest::CreateTopic { name, attributes, tags } => {
            let key = TopicKey::new(ctx.account_id.clone(), ctx.region.clone(), name);
            let topic_arn = topics.create_topic(&key, &attributes, &tags).map_err(sns_error)?;
            SnsResponse::CreateTopic { topic_arn }
        }
        SnsRequest::DeleteTopic { topic_arn } => {
            topics
                .delete_topic(&topic_key(&topic_arn, "TopicArn")?)
                .map_err(sns_error)?;
            SnsResponse::Empty(SnsAction::DeleteTopic)
        }
        SnsRequest::GetSubscriptionAttributes { subscription_arn } => SnsResponse::Attributes(
            SnsAction::GetSubscriptionAttributes,
            topics
                .get_subscription_attributes(&subscription_arn)
                .map_err(sns_error)?,
        ),
        SnsRequest::GetTopicAttributes { topic_arn } => SnsResponse::Attributes(
            SnsAction::GetTopicAttributes,
            topics
                .get_topic_attributes(&topic_key(&topic_arn, "TopicArn")?)
                .map_err(sns_error)?,
        ),
        SnsRequest::ListSubscriptions { next_token } => {
            let page = topics
                .list_subscriptions(&ctx.account_id, &ctx.region, next_token.as_deref())
                .map_err(sns_error)?;
            SnsResponse::Subscriptions(SnsAction::ListSubscriptions, entries(page.items), page.next_token)
        }
        SnsRequest::ListSubscriptionsByTopic { topic_arn, next_token } => {
            let page = topics
                .list_subscriptions_by_topic(&topic_key(&topic_arn, "TopicArn")?, next_token.as_deref())
                .map_err(sns_error)?;
            SnsResponse::Subscriptions(
                SnsAction::ListSubscriptionsByTopic,
                entries(page.items),
                page.next_token,
            )
        }
        SnsRequest::ListTagsForResource { resource_arn } => SnsResponse::Tags(
            topics
                .list_tags(&topic_key(&resource_arn, "ResourceArn")?)
                .map_err(sns_error)?,
        ),
        SnsRequest::ListTopics { next_token } => {
            let page = topics
                .list_topics(&ctx.account_id, &ctx.region, next_token.as_deref())
                .map_err(sns_error)?;
            SnsResponse::ListTopics {
                topic_arns: page.items,
                next_token: page.next_token,
            }
        }
        SnsRequest::Publish { topic_arn, fields } => {
            let key = topic_key(&topic_arn, "TopicArn")?;
            let mut results = topics
                .publish(&key, vec![publish_message(fields)], &publish_ctx)
                .map_err(sns_error)?;
            let published = results
                .pop()
                .unwrap_or_else(|| Err(sluice_broker::topic::error::invalid("Message")))
                .map_err(sns_error)?;
            SnsResponse::Publish {
                message_id: published.message_id,
                sequence_number: published.sequence_number,
            }
        }
        SnsRequest::PublishBatch { topic_arn, entries } => {
            let key = topic_key(&topic_arn, "TopicArn")?;
            let mut failed = Vec::new();
            let mut ids = Vec::new();
            let mut messages = Vec::new();
            for entry in entries {
                match check_publish(&entry.fields) {
                    Ok(()) => {
                        ids.push(entry.id);
                        messages.push(publish_message(entry.fields));
                    }
                    Err(err) => failed.push(batch_failure(entry.id, err)),
                }
            }
            let results = topics.publish(&key, messages, &publish_ctx).map_err(sns_error)?;
            let mut successful = Vec::new();
            for (id, result) in ids.into_iter().zip(results) {
                match result {
                    Ok(p) => successful.push(BatchSuccess {
                        id,
                        message_id: p.message_id,
                        sequence_number: p.sequence_number,
                    }),
                    Err(err) => failed.push(batch_failure(id, sns_error(err))),
                }
            }
            SnsResponse::PublishBatch { successful, failed }
        }
        SnsRequest::RemovePermission { topic_arn, label } => {
            topics
                .remove_permission(&topic_key(&topic_arn, "TopicArn")?, &label)
                .map_err(sns_error)?;
            SnsResponse::Empty(SnsAction::RemovePermission)
        }
        SnsRequest::SetSubscriptionAttributes {
            subscription_arn,
            attribute_name,
            attribute_value,
        } => {
            topics
                .set_subscription_attribute(&subscription_arn, &attribute_name, &attribute_value)
                .map_err(sns_error)?;
            SnsResponse::Empty(SnsAction::SetSubscriptionAttributes)
        }
        SnsRequest::SetTopicAttributes {
            topic_arn,
            attribute_name,
            attribute_value,
        } => {
            topics
                .set_topic_attribute(&topic_key(&topic_arn, "TopicArn")?, &attribute_name, &attribute_value)
                .map_err(sns_error)?;
            SnsResponse::Empty(SnsAction::SetTopicAttributes)
        }
        SnsRequest::Subscribe {
            topic_arn,
            protocol,
            endpoint,
            attributes,
            return_subscription_arn,
        } => {
            let key = topic_key(&topic_arn, "TopicArn")?;
            let outcome = topics
                .subscribe(&key, &protocol, &endpoint, &attributes, &ctx.account_id, &publish_ctx)
                .map_err(sns_error)?;
            let arn = if outcome.pending && !return_subscription_arn {
                "pending confirmation".to_string()
            } else {
                outcome.arn
            };
            SnsResponse::SubscriptionArn(SnsAction::Subscribe, arn)
        }
        SnsRequest::TagResource { resource_arn, tags } => {
            topics
                .tag(&topic_key(&resource_arn, "ResourceArn")?, &tags)
                .map_err(sns_error)?;
            SnsResponse::Empty(SnsAction::TagResource)
        }
        SnsRequest::Unsubscribe { subscription_arn } => {
            topics.unsubscribe(&subscription_arn, &publish_ctx).map_err(sns_error)?;
            SnsResponse::Empty(SnsAction::Unsubscribe)
        }
        SnsRequest::UntagResource { resource_arn, tag_keys } => {
            topics
                .untag(&topic_key(&resource_arn, "ResourceArn")?, &tag_keys)
                .map_err(sns_error)?;
            SnsResponse::Empty(SnsAction::UntagResource)
        }
    };
    Ok(response)
}

fn batch_failure(id: String, err: SnsError) -> BatchFailure {
    BatchFailure {
        id,
        code: err.code.code().to_string(),
        sender_fault: err.code.http_status() < 500,
        message: err.message,
    }
}
