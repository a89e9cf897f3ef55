//! SQS message operations: send, receive, delete and change visibility, one at a time and in
//! batches.
//!
//! # Layout
//! - One function per action, taking the key of the queue the request names and the decoded
//!   input; core errors convert with `?` through [`Failure`](super::shared::Failure).
//! - Batches validate each entry first: an invalid entry fails alone, and the valid ones go to
//!   the core in one call, which answers one result per entry.
//! - Attribute selection for ReceiveMessage: [`system_attribute_selected`],
//!   [`message_attribute_selected`]; the MD5s of returned messages cover exactly the returned
//!   attributes, since the SDKs recompute them over what they received.

use std::collections::BTreeMap;

use sluice_broker::queue::message::{MessageAttribute, MessageAttributes, NewMessage, ReceivedMessage};
use sluice_broker::queue::{QueueKey, ReceiveRequest, VisibilityChange};
use sluice_broker::Queues;
use sluice_protocols::checksum::{md5_hex, md5_of_message_attributes};
use sluice_protocols::sqs::types::*;
use sluice_protocols::sqs::{validate, SqsAction, SqsResponse};

use sluice_broker::queue::QueueError;
use sluice_protocols::sqs::SqsError;

use super::shared::{Failure, Result};
use crate::api::context::RequestContext;
use crate::api::error::sqs_error;

pub fn send(ctx: &RequestContext, queues: &Queues, key: &QueueKey, input: SendMessageInput) -> Result<SqsResponse> {
    let output = SendMessageOutput {
        md5_of_message_body: Some(md5_hex(input.message_body.as_bytes())),
        md5_of_message_attributes: attributes_md5(&input.message_attributes),
        md5_of_message_system_attributes: attributes_md5(&input.message_system_attributes),
        message_id: None,
        sequence_number: None,
    };
    let message = NewMessage {
        group_id: input.message_group_id,
        deduplication_id: input.message_deduplication_id,
        ..new_message(
            ctx,
            input.message_body,
            input.delay_seconds,
            &input.message_attributes,
            &input.message_system_attributes,
        )
    };
    let sent = single(queues.send(key, vec![message])?)?;
    Ok(SqsResponse::SendMessage(SendMessageOutput {
        message_id: Some(sent.message_id),
        sequence_number: sent.sequence_number,
        ..output
    }))
}

pub fn send_batch(
    ctx: &RequestContext,
    queues: &Queues,
    key: &QueueKey,
    input: SendMessageBatchInput,
) -> Result<SqsResponse> {
    let mut output = SendMessageBatchOutput::default();
    let mut accepted = Vec::new();
    let mut messages = Vec::new();
    for entry in input.entries {
        if let Err(err) = validate::send_message_batch_entry(&entry) {
            output.failed.push(BatchResultErrorEntry::from_error(&entry.id, &err));
            continue;
        }
        messages.push(NewMessage {
            group_id: entry.message_group_id.clone(),
            deduplication_id: entry.message_deduplication_id.clone(),
            ..new_message(
                ctx,
                entry.message_body.clone(),
                entry.delay_seconds,
                &entry.message_attributes,
                &entry.message_system_attributes,
            )
        });
        accepted.push(entry);
    }
    if !messages.is_empty() {
        let results = queues.send(key, messages)?;
        for (entry, result) in accepted.into_iter().zip(results) {
            match result {
                Ok(sent) => output.successful.push(SendMessageBatchResultEntry {
                    id: entry.id,
                    message_id: sent.message_id,
                    md5_of_message_body: md5_hex(entry.message_body.as_bytes()),
                    md5_of_message_attributes: attributes_md5(&entry.message_attributes),
                    md5_of_message_system_attributes: attributes_md5(&entry.message_system_attributes),
                    sequence_number: sent.sequence_number,
                }),
                Err(err) => output
                    .failed
                    .push(BatchResultErrorEntry::from_error(entry.id, &sqs_error(err))),
            }
        }
    }
    Ok(SqsResponse::SendMessageBatch(output))
}

pub async fn receive(queues: &Queues, key: &QueueKey, input: ReceiveMessageInput) -> Result<SqsResponse> {
    let request = ReceiveRequest {
        max_messages: non_negative(input.max_number_of_messages).unwrap_or(1),
        visibility_timeout: non_negative(input.visibility_timeout),
        wait_seconds: non_negative(input.wait_time_seconds),
        attempt_id: input.receive_request_attempt_id.clone().filter(|a| !a.is_empty()),
    };
    let received = queues.receive(key, request).await?;
    let system_names: Vec<String> = input.system_attribute_names().map(str::to_string).collect();
    let messages = received
        .into_iter()
        .map(|m| received_message(&system_names, &input.message_attribute_names, m))
        .collect();
    Ok(SqsResponse::ReceiveMessage(ReceiveMessageOutput { messages }))
}

pub fn delete(queues: &Queues, key: &QueueKey, input: DeleteMessageInput) -> Result<SqsResponse> {
    single(queues.delete_messages(key, &[input.receipt_handle])?)?;
    Ok(SqsResponse::Empty(SqsAction::DeleteMessage))
}

pub fn delete_batch(queues: &Queues, key: &QueueKey, input: DeleteMessageBatchInput) -> Result<SqsResponse> {
    let mut output = DeleteMessageBatchOutput::default();
    let mut ids = Vec::new();
    let mut handles = Vec::new();
    for entry in input.entries {
        match validate::delete_message_batch_entry(&entry) {
            Err(err) => output.failed.push(BatchResultErrorEntry::from_error(entry.id, &err)),
            Ok(()) => {
                ids.push(entry.id);
                handles.push(entry.receipt_handle);
            }
        }
    }
    if !handles.is_empty() {
        let results = queues.delete_messages(key, &handles)?;
        for (id, result) in ids.into_iter().zip(results) {
            match result {
                Ok(()) => output.successful.push(DeleteMessageBatchResultEntry { id }),
                Err(err) => output
                    .failed
                    .push(BatchResultErrorEntry::from_error(id, &sqs_error(err))),
            }
        }
    }
    Ok(SqsResponse::DeleteMessageBatch(output))
}

pub fn change_visibility(queues: &Queues, key: &QueueKey, input: ChangeMessageVisibilityInput) -> Result<SqsResponse> {
    let change = VisibilityChange {
        receipt_handle: input.receipt_handle,
        timeout_seconds: non_negative(Some(input.visibility_timeout)).unwrap_or(0),
    };
    single(queues.change_visibility(key, &[change])?)?;
    Ok(SqsResponse::Empty(SqsAction::ChangeMessageVisibility))
}

pub fn change_visibility_batch(
    queues: &Queues,
    key: &QueueKey,
    input: ChangeMessageVisibilityBatchInput,
) -> Result<SqsResponse> {
    let mut output = ChangeMessageVisibilityBatchOutput::default();
    let mut ids = Vec::new();
    let mut changes = Vec::new();
    for entry in input.entries {
        match validate::change_message_visibility_batch_entry(&entry) {
            Err(err) => output.failed.push(BatchResultErrorEntry::from_error(entry.id, &err)),
            Ok(()) => {
                ids.push(entry.id);
                changes.push(VisibilityChange {
                    receipt_handle: entry.receipt_handle,
                    timeout_seconds: non_negative(entry.visibility_timeout).unwrap_or(0),
                });
            }
        }
    }
    if !changes.is_empty() {
        let results = queues.change_visibility(key, &changes)?;
        for (id, result) in ids.into_iter().zip(results) {
            match result {
                Ok(()) => output.successful.push(ChangeMessageVisibilityBatchResultEntry { id }),
                Err(err) => output
                    .failed
                    .push(BatchResultErrorEntry::from_error(id, &sqs_error(err))),
            }
        }
    }
    Ok(SqsResponse::ChangeMessageVisibilityBatch(output))
}

fn new_message(
    ctx: &RequestContext,
    body: String,
    delay_seconds: Option<i32>,
    attributes: &MessageAttributeMap,
    system_attributes: &BTreeMap<String, MessageSystemAttributeValue>,
) -> NewMessage {
    NewMessage {
        body,
        delay_seconds: non_negative(delay_seconds),
        attributes: to_core_attributes(attributes),
        system_attributes: to_core_attributes(system_attributes),
        // AWS reports the caller's principal id; the account id until access keys map to users.
        sender_id: ctx.account_id.clone(),
        group_id: None,
        deduplication_id: None,
    }
}

fn to_core_attributes(attributes: &MessageAttributeMap) -> MessageAttributes {
    attributes
        .iter()
        .map(|(name, value)| {
            let attribute = MessageAttribute {
                data_type: value.data_type.clone(),
                string_value: value.string_value.clone(),
                binary_value: value.binary_value.clone(),
            };
            (name.clone(), attribute)
        })
        .collect()
}

fn to_wire_attribute(attribute: MessageAttribute) -> MessageAttributeValue {
    MessageAttributeValue {
        data_type: attribute.data_type,
        string_value: attribute.string_value,
        binary_value: attribute.binary_value,
        ..MessageAttributeValue::default()
    }
}

fn attributes_md5(attributes: &MessageAttributeMap) -> Option<String> {
    md5_of_message_attributes(attributes.iter().map(|(name, value)| (name.as_str(), value)))
}

/// Builds one returned message with the requested attributes and the MD5s of what is returned.
fn received_message(system_names: &[String], attribute_names: &[String], message: ReceivedMessage) -> Message {
    let mut attributes = BTreeMap::new();
    let system = [
        ("SenderId", Some(message.sender_id.clone())),
        ("SentTimestamp", Some(message.sent_timestamp_ms.to_string())),
        ("ApproximateReceiveCount", Some(message.receive_count.to_string())),
        (
            "ApproximateFirstReceiveTimestamp",
            Some(message.first_receive_timestamp_ms.to_string()),
        ),
        (
            "AWSTraceHeader",
            message
                .system_attributes
                .get("AWSTraceHeader")
                .and_then(|a| a.string_value.clone()),
        ),
        ("MessageGroupId", message.group_id.clone()),
        ("MessageDeduplicationId", message.deduplication_id.clone()),
        ("SequenceNumber", message.sequence_number.clone()),
    ];
    for (name, value) in system {
        if let Some(value) = value.filter(|_| system_attribute_selected(system_names, name)) {
            attributes.insert(name.to_string(), value);
        }
    }
    let message_attributes: MessageAttributeMap = message
        .attributes
        .into_iter()
        .filter(|(name, _)| message_attribute_selected(attribute_names, name))
        .map(|(name, attribute)| (name, to_wire_attribute(attribute)))
        .collect();
    Message {
        md5_of_body: Some(md5_hex(message.body.as_bytes())),
        md5_of_message_attributes: attributes_md5(&message_attributes),
        message_id: Some(message.message_id),
        receipt_handle: Some(message.receipt_handle),
        body: Some(message.body),
        attributes,
        message_attributes,
    }
}

/// True when system attribute `name` was asked for (`All` or the exact name).
pub fn system_attribute_selected(requested: &[String], name: &str) -> bool {
    requested.iter().any(|r| r == "All" || r == name)
}

/// True when message attribute `name` was asked for: `All`, `.*`, a prefix `foo.*` (matching
/// names starting with `foo.`), or the exact name (ReceiveMessage docs, MessageAttributeNames).
pub fn message_attribute_selected(requested: &[String], name: &str) -> bool {
    requested.iter().any(|r| {
        if r == "All" || r == ".*" {
            return true;
        }
        match r.strip_suffix('*') {
            Some(prefix) if prefix.ends_with('.') => name.starts_with(prefix),
            _ => r == name,
        }
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_selection() {
        let v = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(system_attribute_selected(&v(&["All"]), "SentTimestamp"));
        assert!(system_attribute_selected(
            &v(&["ApproximateReceiveCount"]),
            "ApproximateReceiveCount"
        ));
        assert!(!system_attribute_selected(
            &v(&["ApproximateReceiveCount"]),
            "SentTimestamp"
        ));
        assert!(!system_attribute_selected(&[], "SentTimestamp"));

        assert!(message_attribute_selected(&v(&["All"]), "x"));
        assert!(message_attribute_selected(&v(&[".*"]), "x"));
        assert!(message_attribute_selected(&v(&["bar.*"]), "bar.baz"));
        assert!(!message_attribute_selected(&v(&["bar.*"]), "barbaz"));
        assert!(!message_attribute_selected(&v(&["bar.*"]), "bar"));
        assert!(message_attribute_selected(&v(&["color"]), "color"));
        assert!(!message_attribute_selected(&v(&["color"]), "Color"));
        assert!(!message_attribute_selected(&[], "color"));
    }
}
