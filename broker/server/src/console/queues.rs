//! A queue's page: attributes, dead-letter sources and move tasks; messages peeked, sent and
//! deleted; purge and redrive. Changes go through the API's handlers ([`super::calls`]); a
//! peek and a deletion by position, which SQS has no call for, are authorized here as
//! `sqs:ReceiveMessage` and `sqs:DeleteMessage` on the queue.

use std::collections::BTreeMap;

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sluice_broker::queue::peek::{PeekedMessage, MAX_PEEK};
use sluice_broker::queue::{QueueError, QueueKey};

use super::calls;
use super::error::ConsoleError;
use super::{AttributeInput, ConsoleRequest};
use crate::api::context::RequestContext;
use crate::api::sqs::queue_url;
use crate::app::App;

/// Messages a peek returns when the page does not say.
const DEFAULT_PEEK: usize = 100;

/// A send's body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendInput {
    body: String,
    delay_seconds: Option<u32>,
    message_group_id: Option<String>,
    message_deduplication_id: Option<String>,
    attributes: Option<BTreeMap<String, AttributeInput>>,
}

/// A redrive's body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedriveInput {
    destination_arn: Option<String>,
    max_number_of_messages_per_second: Option<u32>,
}

/// A cancellation's body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelInput {
    task_handle: String,
}

/// `GET /console/api/queues/{name}`.
pub async fn detail(app: &App, ctx: &RequestContext, name: &str) -> Result<Value, ConsoleError> {
    let key = key(ctx, name);
    let url = queue_url(ctx, &key.account, name);
    let attributes = calls::sqs(
        app,
        ctx,
        "GetQueueAttributes",
        json!({ "QueueUrl": url, "AttributeNames": ["All"] }),
    )
    .await
    .map_err(|e| missing_queue(e, name))?;
    // Sources and tasks are extras: a key that may read the queue but not list them still
    // gets the page.
    let sources: Vec<String> =
        optional(calls::sqs(app, ctx, "ListDeadLetterSourceQueues", json!({ "QueueUrl": url })).await)?
            .and_then(|v| v.get("queueUrls").and_then(Value::as_array).cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|u| u.rsplit('/').next())
            .map(str::to_string)
            .collect();
    let tasks = if sources.is_empty() {
        Vec::new()
    } else {
        optional(
            calls::sqs(
                app,
                ctx,
                "ListMessageMoveTasks",
                json!({ "SourceArn": key.arn(), "MaxResults": 10 }),
            )
            .await,
        )?
        .and_then(|v| v.get("Results").and_then(Value::as_array).cloned())
        .unwrap_or_default()
    };
    Ok(json!({
        "name": name,
        "url": url,
        "arn": key.arn(),
        "fifo": name.ends_with(".fifo"),
        "attributes": attributes.get("Attributes").cloned().unwrap_or_else(|| json!({})),
        "deadLetterSources": sources,
        "moveTasks": tasks,
    }))
}

/// `GET /console/api/queues/{name}/messages?from=&limit=`: a page of messages, peeked.
pub fn peek(app: &App, ctx: &RequestContext, name: &str, req: &ConsoleRequest<'_>) -> Result<Value, ConsoleError> {
    let key = key(ctx, name);
    authorize(app, ctx, "sqs:ReceiveMessage", &key)?;
    let from = match req.query("from") {
        Some(v) => v.parse::<u64>().map_err(|_| {
            ConsoleError::BadRequest(format!("from must be a position from a previous page, not {v:?}."))
        })?,
        None => 0,
    };
    let limit = match req.query("limit") {
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PEEK).contains(n))
            .ok_or_else(|| ConsoleError::BadRequest(format!("limit must be 1 to {MAX_PEEK}, not {v:?}.")))?,
        None => DEFAULT_PEEK,
    };
    let page = app
        .broker
        .queues
        .peek(&key, from, limit)
        .map_err(|e| queue_error(e, name))?;
    Ok(json!({
        "messages": page.messages.iter().map(message_json).collect::<Vec<_>>(),
        "next": page.next,
    }))
}

/// `POST /console/api/queues/{name}/messages`: SendMessage.
pub async fn send(app: &App, ctx: &RequestContext, name: &str, input: SendInput) -> Result<Value, ConsoleError> {
    let mut call = Map::new();
    call.insert("QueueUrl".into(), json!(queue_url(ctx, &ctx.account_id, name)));
    call.insert("MessageBody".into(), json!(input.body));
    if let Some(delay) = input.delay_seconds {
        call.insert("DelaySeconds".into(), json!(delay));
    }
    if let Some(group) = input.message_group_id.filter(|g| !g.is_empty()) {
        call.insert("MessageGroupId".into(), json!(group));
    }
    if let Some(dedup) = input.message_deduplication_id.filter(|d| !d.is_empty()) {
        call.insert("MessageDeduplicationId".into(), json!(dedup));
    }
    if let Some(attributes) = input.attributes.filter(|a| !a.is_empty()) {
        let attributes: Map<String, Value> = attributes
            .into_iter()
            .map(|(name, a)| (name, json!({ "DataType": a.data_type, "StringValue": a.string_value })))
            .collect();
        call.insert("MessageAttributes".into(), Value::Object(attributes));
    }
    calls::sqs(app, ctx, "SendMessage", Value::Object(call))
        .await
        .map_err(|e| missing_queue(e, name))
}

/// `DELETE /console/api/queues/{name}/messages/{position}?messageId=`.
pub fn delete(
    app: &App,
    ctx: &RequestContext,
    name: &str,
    position: u64,
    req: &ConsoleRequest<'_>,
) -> Result<Value, ConsoleError> {
    let key = key(ctx, name);
    authorize(app, ctx, "sqs:DeleteMessage", &key)?;
    let message_id = req
        .query("messageId")
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ConsoleError::BadRequest("messageId is required: the id of the message to delete.".into()))?;
    let deleted = app
        .broker
        .queues
        .delete_at(&key, position, &message_id)
        .map_err(|e| queue_error(e, name))?;
    if !deleted {
        return Err(ConsoleError::NotFound {
            code: "MessageNotFound".into(),
            message: format!("Message {message_id} is no longer in {name}: it was deleted."),
        });
    }
    Ok(json!({ "deleted": message_id }))
}

/// `POST /console/api/queues/{name}/purge`: PurgeQueue.
pub async fn purge(app: &App, ctx: &RequestContext, name: &str) -> Result<Value, ConsoleError> {
    let url = queue_url(ctx, &ctx.account_id, name);
    calls::sqs(app, ctx, "PurgeQueue", json!({ "QueueUrl": url }))
        .await
        .map_err(|e| missing_queue(e, name))?;
    Ok(json!({ "purged": name }))
}

/// `POST /console/api/queues/{name}/redrive`: StartMessageMoveTask from this dead-letter queue.
pub async fn redrive(app: &App, ctx: &RequestContext, name: &str, input: RedriveInput) -> Result<Value, ConsoleError> {
    let mut call = Map::new();
    call.insert("SourceArn".into(), json!(key(ctx, name).arn()));
    if let Some(destination) = input.destination_arn.filter(|d| !d.is_empty()) {
        call.insert("DestinationArn".into(), json!(destination));
    }
    if let Some(rate) = input.max_number_of_messages_per_second {
        call.insert("MaxNumberOfMessagesPerSecond".into(), json!(rate));
    }
    let out = calls::sqs(app, ctx, "StartMessageMoveTask", Value::Object(call))
        .await
        .map_err(|e| missing_queue(e, name))?;
    Ok(json!({ "taskHandle": out.get("TaskHandle").cloned().unwrap_or(Value::Null) }))
}

/// `POST /console/api/queues/{name}/redrive/cancel`: CancelMessageMoveTask.
pub async fn cancel_redrive(
    app: &App,
    ctx: &RequestContext,
    _name: &str,
    input: CancelInput,
) -> Result<Value, ConsoleError> {
    calls::sqs(
        app,
        ctx,
        "CancelMessageMoveTask",
        json!({ "TaskHandle": input.task_handle }),
    )
    .await
}

fn key(ctx: &RequestContext, name: &str) -> QueueKey {
    QueueKey::new(ctx.account_id.clone(), ctx.region.clone(), name)
}

fn authorize(app: &App, ctx: &RequestContext, action: &str, key: &QueueKey) -> Result<(), ConsoleError> {
    let arn = key.arn();
    ctx.authorize(action, &arn, || app.broker.queues.policy_by_arn(&arn))
        .map_err(ConsoleError::AccessDenied)
}

fn queue_error(err: QueueError, name: &str) -> ConsoleError {
    match err {
        QueueError::QueueDoesNotExist => ConsoleError::no_queue(name),
        other => ConsoleError::Internal(other.to_string()),
    }
}

/// The API's "no such queue" (its JSON code, or the query protocol's) as the console's 404.
fn missing_queue(err: ConsoleError, name: &str) -> ConsoleError {
    match &err {
        ConsoleError::Api { code, .. }
            if code == "QueueDoesNotExist" || code == "AWS.SimpleQueueService.NonExistentQueue" =>
        {
            ConsoleError::no_queue(name)
        }
        _ => err,
    }
}

/// An extra the key may not read becomes `None`; other failures stay failures.
fn optional(result: Result<Value, ConsoleError>) -> Result<Option<Value>, ConsoleError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(ConsoleError::Api { code, .. }) if code == "AccessDenied" || code == "AccessDeniedException" => Ok(None),
        Err(e) => Err(e),
    }
}

/// A peeked message with its attributes as ReceiveMessage would report them.
fn message_json(m: &PeekedMessage) -> Value {
    let attributes: Map<String, Value> = m
        .attributes
        .iter()
        .map(|(name, a)| {
            let mut v = Map::new();
            v.insert("dataType".into(), json!(a.data_type));
            if let Some(s) = &a.string_value {
                v.insert("stringValue".into(), json!(s));
            }
            if let Some(b) = &a.binary_value {
                v.insert(
                    "binaryValue".into(),
                    json!(base64::engine::general_purpose::STANDARD.encode(b)),
                );
            }
            (name.clone(), Value::Object(v))
        })
        .collect();
    let mut system = Map::new();
    system.insert("SenderId".into(), json!(m.sender_id));
    system.insert("SentTimestamp".into(), json!(m.sent_ms.to_string()));
    system.insert("ApproximateReceiveCount".into(), json!(m.receive_count.to_string()));
    if m.first_receive_ms > 0 {
        system.insert(
            "ApproximateFirstReceiveTimestamp".into(),
            json!(m.first_receive_ms.to_string()),
        );
    }
    let optional = [
        ("MessageGroupId", &m.group_id),
        ("MessageDeduplicationId", &m.deduplication_id),
        ("SequenceNumber", &m.sequence_number),
        ("DeadLetterQueueSourceArn", &m.dead_letter_source_arn),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            system.insert(name.into(), json!(v));
        }
    }
    if let Some(trace) = m
        .system_attributes
        .get("AWSTraceHeader")
        .and_then(|a| a.string_value.as_ref())
    {
        system.insert("AWSTraceHeader".into(), json!(trace));
    }
    json!({
        "position": m.position,
        "messageId": m.message_id,
        "body": m.body,
        "state": m.state.as_str(),
        "visibleAtMs": m.visible_at_ms,
        "attributes": attributes,
        "systemAttributes": system,
    })
}
