//! A topic's page: its attributes (GetTopicAttributes, through the API's handler), its
//! subscriptions with their filter policies and delivery state, and a test publish that says
//! which subscriptions the message matched.
//!
//! The subscriptions and their outbox backlog have no SNS call of their own: they come from
//! the core's view ([`sluice_broker::topic::console`]), authorized here as
//! `sns:ListSubscriptionsByTopic` on the topic. The publish itself runs through the API's
//! handler ([`super::calls::sns`]), so it is validated and authorized as `sns:Publish`; the
//! matches are then computed by the publish's own filter code.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Map, Value};
use sluice_broker::queue::message::{MessageAttribute, MessageAttributes};
use sluice_broker::topic::console::{MatchOutcome, SubscriptionView};
use sluice_broker::topic::{PublishMessage, TopicError, TopicKey};

use super::calls;
use super::error::ConsoleError;
use super::AttributeInput;
use crate::api::context::RequestContext;
use crate::app::App;

/// A test publish's body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishInput {
    message: String,
    subject: Option<String>,
    message_group_id: Option<String>,
    message_deduplication_id: Option<String>,
    attributes: Option<BTreeMap<String, AttributeInput>>,
}

/// `GET /console/api/topics/{name}`.
pub async fn detail(app: &App, ctx: &RequestContext, name: &str) -> Result<Value, ConsoleError> {
    let key = key(ctx, name);
    let arn = key.arn();
    let xml = calls::sns(app, ctx, "GetTopicAttributes", &[("TopicArn", arn.as_str())])
        .await
        .map_err(|e| missing_topic(e, name))?;
    let attributes: Map<String, Value> = calls::xml_entries(&xml)
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let view = app.broker.topics.console_view(&key).map_err(|e| topic_error(e, name))?;
    // The subscriptions are an extra, as on the queue page: a key that may read the topic's
    // attributes but not list its subscriptions still gets the page, without them.
    let subscriptions =
        may_list(app, ctx, &key).then(|| view.subscriptions.iter().map(subscription_json).collect::<Vec<_>>());
    Ok(json!({
        "name": name,
        "arn": arn,
        "fifo": view.fifo,
        "attributes": attributes,
        "published": view.published,
        "delivered": view.delivered,
        "failed": view.failed,
        "subscriptionCount": view.subscription_count,
        "subscriptions": subscriptions,
    }))
}

/// `POST /console/api/topics/{name}/publish`: Publish, then which subscriptions it matched.
pub async fn publish(app: &App, ctx: &RequestContext, name: &str, input: PublishInput) -> Result<Value, ConsoleError> {
    let key = key(ctx, name);
    let arn = key.arn();
    let group = input.message_group_id.filter(|g| !g.is_empty());
    let dedup = input.message_deduplication_id.filter(|d| !d.is_empty());
    let subject = input.subject.filter(|s| !s.is_empty());
    let attributes = input.attributes.unwrap_or_default();
    // The query form of Publish: MessageAttributes.entry.N.{Name, Value.DataType, Value.StringValue}.
    let mut params: Vec<(String, String)> = vec![
        ("TopicArn".into(), arn.clone()),
        ("Message".into(), input.message.clone()),
    ];
    let optional = [
        ("Subject", &subject),
        ("MessageGroupId", &group),
        ("MessageDeduplicationId", &dedup),
    ];
    for (param, value) in optional {
        if let Some(v) = value {
            params.push((param.into(), v.clone()));
        }
    }
    for (i, (attr, value)) in attributes.iter().enumerate() {
        let prefix = format!("MessageAttributes.entry.{}", i + 1);
        params.push((format!("{prefix}.Name"), attr.clone()));
        params.push((format!("{prefix}.Value.DataType"), value.data_type.clone()));
        if let Some(s) = &value.string_value {
            params.push((format!("{prefix}.Value.StringValue"), s.clone()));
        }
    }
    let borrowed: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let xml = calls::sns(app, ctx, "Publish", &borrowed)
        .await
        .map_err(|e| missing_topic(e, name))?;
    let message_id = calls::xml_text(&xml, "MessageId");
    let sequence_number = calls::xml_text(&xml, "SequenceNumber");

    // Which subscriptions it reached, decided by the publish's filter code on the same message
    // (as the API validated it). Listing them is ListSubscriptionsByTopic's to allow.
    let (mut matched, mut not_matched, mut pending) = (Vec::new(), Vec::new(), Vec::new());
    let listed = may_list(app, ctx, &key);
    if listed {
        let message = PublishMessage {
            message: input.message,
            subject,
            json_structure: false,
            attributes: attributes
                .into_iter()
                .map(|(name, a)| {
                    let attribute = MessageAttribute {
                        data_type: a.data_type,
                        string_value: a.string_value,
                        binary_value: None,
                    };
                    (name, attribute)
                })
                .collect::<MessageAttributes>(),
            group_id: group,
            deduplication_id: dedup,
        };
        let matches = app
            .broker
            .topics
            .match_subscriptions(&key, &message)
            .map_err(|e| topic_error(e, name))?;
        for m in matches {
            match m.outcome {
                MatchOutcome::Matched => matched.push(m.arn),
                MatchOutcome::FilteredOut => not_matched.push(m.arn),
                MatchOutcome::PendingConfirmation => pending.push(m.arn),
            }
        }
    }
    Ok(json!({
        "messageId": message_id,
        "sequenceNumber": sequence_number,
        "matched": listed.then_some(matched),
        "notMatched": listed.then_some(not_matched),
        "pendingConfirmation": listed.then_some(pending),
    }))
}

fn key(ctx: &RequestContext, name: &str) -> TopicKey {
    TopicKey::new(ctx.account_id.clone(), ctx.region.clone(), name)
}

/// Whether the session's key may list the topic's subscriptions.
fn may_list(app: &App, ctx: &RequestContext, key: &TopicKey) -> bool {
    ctx.authorize("sns:ListSubscriptionsByTopic", &key.arn(), || {
        app.broker.topics.topic_policy(key)
    })
    .is_ok()
}

/// A missing topic, as SNS names it.
fn no_topic(name: &str) -> ConsoleError {
    ConsoleError::NotFound {
        code: "NotFound".into(),
        message: format!("The topic {name} does not exist."),
    }
}

fn topic_error(err: TopicError, name: &str) -> ConsoleError {
    match err {
        TopicError::NotFound(_) => no_topic(name),
        other => ConsoleError::Internal(other.to_string()),
    }
}

/// The API's "no such topic" as the console's 404 with SNS's code.
fn missing_topic(err: ConsoleError, name: &str) -> ConsoleError {
    match &err {
        ConsoleError::Api { code, .. } if code == "NotFound" => no_topic(name),
        _ => err,
    }
}

fn subscription_json(s: &SubscriptionView) -> Value {
    let delivery = s.delivery.as_ref().map(|d| {
        json!({
            "backlog": d.pending,
            "retrying": d.retrying,
            "oldestAgeSeconds": d.oldest_age_ms.map(|ms| ms / 1000),
            "retries": d.retries.iter().map(|r| json!({
                "messageId": r.message_id,
                "type": r.message_type,
                "attempts": r.attempts,
                "nextAttemptMs": r.next_attempt_ms,
            })).collect::<Vec<_>>(),
        })
    });
    json!({
        "subscriptionArn": s.arn,
        "protocol": s.protocol,
        "endpoint": s.endpoint,
        "owner": s.owner,
        "confirmed": s.confirmed,
        "rawMessageDelivery": s.raw,
        "filterPolicy": s.filter_policy,
        "filterPolicyScope": s.filter_policy_scope,
        "deadLetterTargetArn": s.dead_letter_arn,
        "delivery": delivery,
    })
}
