//! SNS publishing: Publish, PublishBatch, the wire's message fields as the core takes them, and
//! the context the core delivers with.
//!
//! # Layout
//! - [`publish`], [`publish_batch`]: one function per action; core errors convert with `?`
//!   through [`Failure`](super::shared::Failure). A batch checks each entry first: an invalid
//!   entry fails alone, the valid ones go to the core in one call.
//! - [`publish_message`]: the wire's message fields as the core takes them.
//! - [`context`]: the [`PublishContext`] of a request, with the cross-account delivery check
//!   when authentication is on.

use sluice_broker::queue::message::{MessageAttribute, MessageAttributes};
use sluice_broker::topic::{PublishContext, PublishMessage, QueueDeliveryCheck};
use sluice_protocols::sns::{
    check_publish, BatchFailure, BatchSuccess, PublishBatchEntry, PublishFields, SnsError, SnsResponse,
};

use super::shared::{topic_key, Result, Scope};
use crate::api::context::RequestContext;
use crate::api::error::sns_error;
use crate::app::App;

pub fn publish(scope: &Scope<'_>, topic_arn: String, fields: PublishFields) -> Result<SnsResponse> {
    let key = topic_key(&topic_arn, "TopicArn")?;
    let mut results = scope
        .topics()
        .publish(&key, vec![publish_message(fields)], &scope.publish)?;
    let published = results
        .pop()
        .unwrap_or_else(|| Err(sluice_broker::topic::error::invalid("Message")))?;
    Ok(SnsResponse::Publish {
        message_id: published.message_id,
        sequence_number: published.sequence_number,
    })
}

pub fn publish_batch(scope: &Scope<'_>, topic_arn: String, entries: Vec<PublishBatchEntry>) -> Result<SnsResponse> {
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
    let results = scope.topics().publish(&key, messages, &scope.publish)?;
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
    Ok(SnsResponse::PublishBatch { successful, failed })
}

fn batch_failure(id: String, err: SnsError) -> BatchFailure {
    BatchFailure {
        id,
        code: err.code.code().to_string(),
        sender_fault: err.code.http_status() < 500,
        message: err.message,
    }
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

/// The context the core publishes, subscribes and unsubscribes with for this request.
pub fn context(app: &App, ctx: &RequestContext) -> PublishContext {
    PublishContext {
        base_url: ctx.base_url(),
        cross_account_check: cross_account_check(app),
    }
}

/// With authentication on, SNS delivers to another account's queue only when that queue's
/// policy allows the service `sns.amazonaws.com` to `sqs:SendMessage` (usually with an
/// `aws:SourceArn` condition naming the topic), as on AWS.
fn cross_account_check(app: &App) -> Option<QueueDeliveryCheck> {
    app.keys.as_ref()?;
    let broker = app.broker.clone();
    Some(std::sync::Arc::new(move |topic_arn: &str, queue_arn: &str| {
        let Some(policy) = broker
            .queues
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
