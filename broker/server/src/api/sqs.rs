//! SQS handlers: `SqsRequest` → `broker.queues()` call → `SqsResponse`, for JSON 1.0 and query.
//!
//! # Layout
//! - [`handle`]: decode (protocols) → call the core → encode (protocols); errors go through
//!   [`crate::api::error`].
//! - Queue URLs: [`queue_url`] builds `{public_url or scheme://host}/{account}/{name}`;
//!   [`parse_queue_url`] reads the last two path segments and accepts any host, because clients
//!   reach us through Docker, Kubernetes and proxies under many names (docs/design.md "Identity").
//! - Attribute selection for ReceiveMessage: [`system_attribute_selected`],
//!   [`message_attribute_selected`]; the MD5s of returned messages cover exactly the returned
//!   attributes, since the SDKs recompute them over what they received.
//!
//! Validation of shapes and ranges is the protocol decoder's; what depends on state (queue
//! exists, queue limits, receipt handles) is the core's. This module only translates.

use std::collections::BTreeMap;

use http::header::{HeaderValue, CONTENT_TYPE};
use http::Response;
use sluice_broker::queue::message::{MessageAttribute, MessageAttributes, NewMessage, ReceivedMessage};
use sluice_broker::queue::movetask::{self, MoveTask, TaskStatus};
use sluice_broker::queue::{QueueKey, ReceiveRequest, VisibilityChange};
use sluice_broker::BrokerError;
use sluice_protocols::checksum::{md5_hex, md5_of_message_attributes};
use sluice_protocols::sqs::types::*;
use sluice_protocols::sqs::{
    decode_json, decode_query, encode_json, encode_xml, validate, SqsAction, SqsError, SqsErrorCode, SqsRequest,
    SqsResponse,
};

use crate::api::context::{ApiCall, ApiReply, RequestContext};
use crate::api::error::{sqs_error, sqs_error_response, XML_CONTENT_TYPE};
use crate::app::App;
use crate::wire::{is_queue_path, Protocol, ResponseBody};

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
        Err(err) => reply(sqs_error_response(protocol, &err, &ctx.request_id)),
    }
}

/// Decodes the request body (JSON) or parameters (query) into a validated [`SqsRequest`].
fn decode(ctx: &RequestContext, call: &ApiCall<'_>) -> Result<SqsRequest, SqsError> {
    // Query clients (kombu, JS v3, Java v2) post to the queue URL and may omit QueueUrl.
    let path_queue_url = is_queue_path(&ctx.path).then(|| format!("{}{}", ctx.base_url(), ctx.path));
    match call.protocol {
        Protocol::Query => {
            let params = crate::api::context::query_params(call);
            decode_query(&params, path_queue_url.as_deref()).map(|(_, request)| request)
        }
        Protocol::Json10 | Protocol::Json11 | Protocol::Cbor11 => {
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
        Protocol::Json10 | Protocol::Json11 | Protocol::Cbor11 => (JSON_CONTENT_TYPE, encode_json(response)),
    };
    let mut http_response = Response::new(ResponseBody::full(body));
    http_response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    http_response
}

/// The core key of the queue a request names.
fn queue_key(ctx: &RequestContext, request: &SqsRequest) -> Result<QueueKey, SqsError> {
    let url = request.require_queue_url()?;
    let queue = parse_queue_url(url).ok_or_else(|| {
        SqsError::new(
            SqsErrorCode::InvalidAddress,
            format!("The address {url} is not valid for this endpoint."),
        )
    })?;
    Ok(QueueKey::new(queue.account_id, ctx.region.clone(), queue.name))
}

/// Runs one decoded request against the core.
async fn execute(app: &App, ctx: &RequestContext, request: SqsRequest) -> Result<SqsResponse, SqsError> {
    let queues = app.broker.queues();
    let action = request.action();
    let named_queue = if request.takes_queue_url() {
        Some(queue_key(ctx, &request)?)
    } else {
        None
    };
    authorize(ctx, queues, action, &request, named_queue.as_ref())?;
    // `takes_queue_url` is true for every arm that calls this.
    let key = || named_queue.clone().ok_or_else(SqsError::queue_does_not_exist);
    let empty = Ok(SqsResponse::Empty(action));
    match request {
        SqsRequest::CreateQueue(i) => {
            let key = QueueKey::new(ctx.account_id.clone(), ctx.region.clone(), i.queue_name);
            queues.create_queue(&key, &i.attributes, &i.tags).map_err(sqs_error)?;
            let queue_url = Some(queue_url(ctx, &key.account, &key.name));
            Ok(SqsResponse::CreateQueue(CreateQueueOutput { queue_url }))
        }
        SqsRequest::GetQueueUrl(i) => {
            let account = i
                .queue_owner_aws_account_id
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| ctx.account_id.clone());
            let key = QueueKey::new(account, ctx.region.clone(), i.queue_name);
            queues.ensure_exists(&key).map_err(sqs_error)?;
            Ok(SqsResponse::GetQueueUrl(GetQueueUrlOutput {
                queue_url: Some(queue_url(ctx, &key.account, &key.name)),
            }))
        }
        SqsRequest::DeleteQueue(_) => {
            queues.delete_queue(&key()?).map_err(sqs_error)?;
            empty
        }
        SqsRequest::ListQueues(i) => {
            let page = queues
                .list_queues(
                    &ctx.account_id,
                    &ctx.region,
                    i.queue_name_prefix.as_deref().filter(|p| !p.is_empty()),
                    positive(i.max_results),
                    i.next_token.as_deref().filter(|t| !t.is_empty()),
                )
                .map_err(sqs_error)?;
            let queue_urls = page
                .names
                .iter()
                .map(|name| queue_url(ctx, &ctx.account_id, name))
                .collect();
            Ok(SqsResponse::ListQueues(ListQueuesOutput {
                queue_urls,
                next_token: page.next_token,
            }))
        }
        SqsRequest::ListDeadLetterSourceQueues(i) => {
            let key = key()?;
            let page = queues
                .dead_letter_sources(
                    &key,
                    positive(i.max_results),
                    i.next_token.as_deref().filter(|t| !t.is_empty()),
                )
                .map_err(sqs_error)?;
            let queue_urls = page
                .names
                .iter()
                .map(|name| queue_url(ctx, &key.account, name))
                .collect();
            Ok(SqsResponse::ListDeadLetterSourceQueues(
                ListDeadLetterSourceQueuesOutput {
                    queue_urls,
                    next_token: page.next_token,
                },
            ))
        }
        SqsRequest::GetQueueAttributes(i) => {
            let attributes = queues.get_attributes(&key()?, &i.attribute_names).map_err(sqs_error)?;
            Ok(SqsResponse::GetQueueAttributes(GetQueueAttributesOutput {
                attributes: attributes.into_iter().collect(),
            }))
        }
        SqsRequest::SetQueueAttributes(i) => {
            queues.set_attributes(&key()?, &i.attributes).map_err(sqs_error)?;
            empty
        }
        SqsRequest::TagQueue(i) => {
            queues.tag(&key()?, &i.tags).map_err(sqs_error)?;
            empty
        }
        SqsRequest::UntagQueue(i) => {
            queues.untag(&key()?, &i.tag_keys).map_err(sqs_error)?;
            empty
        }
        SqsRequest::ListQueueTags(_) => {
            let tags = queues.list_tags(&key()?).map_err(sqs_error)?;
            Ok(SqsResponse::ListQueueTags(ListQueueTagsOutput { tags }))
        }
        SqsRequest::AddPermission(i) => {
            queues
                .add_permission(&key()?, &i.label, &i.aws_account_ids, &i.actions)
                .map_err(sqs_error)?;
            empty
        }
        SqsRequest::RemovePermission(i) => {
            queues.remove_permission(&key()?, &i.label).map_err(sqs_error)?;
            empty
        }
        SqsRequest::PurgeQueue(_) => {
            queues.purge(&key()?).map_err(sqs_error)?;
            empty
        }
        SqsRequest::SendMessage(i) => {
            let output = SendMessageOutput {
                md5_of_message_body: Some(md5_hex(i.message_body.as_bytes())),
                md5_of_message_attributes: attributes_md5(&i.message_attributes),
                md5_of_message_system_attributes: attributes_md5(&i.message_system_attributes),
                message_id: None,
                sequence_number: None,
            };
            let message = NewMessage {
                group_id: i.message_group_id,
                deduplication_id: i.message_deduplication_id,
                ..new_message(
                    ctx,
                    i.message_body,
                    i.delay_seconds,
                    &i.message_attributes,
                    &i.message_system_attributes,
                )
            };
            let results = queues.send(&key()?, vec![message]).map_err(sqs_error)?;
            let sent = first_result(results)?.map_err(sqs_error)?;
            Ok(SqsResponse::SendMessage(SendMessageOutput {
                message_id: Some(sent.message_id),
                sequence_number: sent.sequence_number,
                ..output
            }))
        }
        SqsRequest::SendMessageBatch(i) => send_batch(ctx, queues, key()?, i),
        SqsRequest::ReceiveMessage(i) => {
            let request = ReceiveRequest {
                max_messages: non_negative(i.max_number_of_messages).unwrap_or(1),
                visibility_timeout: non_negative(i.visibility_timeout),
                wait_seconds: non_negative(i.wait_time_seconds),
                attempt_id: i.receive_request_attempt_id.clone().filter(|a| !a.is_empty()),
            };
            let received = queues.receive(&key()?, request).await.map_err(sqs_error)?;
            let system_names: Vec<String> = i.system_attribute_names().map(str::to_string).collect();
            let messages = received
                .into_iter()
                .map(|m| received_message(&system_names, &i.message_attribute_names, m))
                .collect();
            Ok(SqsResponse::ReceiveMessage(ReceiveMessageOutput { messages }))
        }
        SqsRequest::DeleteMessage(i) => {
            let results = queues
                .delete_messages(&key()?, &[i.receipt_handle])
                .map_err(sqs_error)?;
            first_result(results)?.map_err(sqs_error)?;
            empty
        }
        SqsRequest::DeleteMessageBatch(i) => delete_batch(queues, key()?, i),
        SqsRequest::ChangeMessageVisibility(i) => {
            let change = VisibilityChange {
                receipt_handle: i.receipt_handle,
                timeout_seconds: non_negative(Some(i.visibility_timeout)).unwrap_or(0),
            };
            let results = queues.change_visibility(&key()?, &[change]).map_err(sqs_error)?;
            first_result(results)?.map_err(sqs_error)?;
            empty
        }
        SqsRequest::ChangeMessageVisibilityBatch(i) => change_visibility_batch(queues, key()?, i),
        SqsRequest::StartMessageMoveTask(i) => {
            let rate = i.max_number_of_messages_per_second.and_then(|r| u32::try_from(r).ok());
            let handle = queues
                .start_move_task(
                    &i.source_arn,
                    i.destination_arn.as_deref().filter(|d| !d.is_empty()),
                    rate,
                )
                .map_err(sqs_error)?;
            Ok(SqsResponse::StartMessageMoveTask(StartMessageMoveTaskOutput {
                task_handle: Some(handle),
            }))
        }
        SqsRequest::CancelMessageMoveTask(i) => {
            let moved = queues.cancel_move_task(&i.task_handle).map_err(sqs_error)?;
            Ok(SqsResponse::CancelMessageMoveTask(CancelMessageMoveTaskOutput {
                approximate_number_of_messages_moved: Some(moved as i64),
            }))
        }
        SqsRequest::ListMessageMoveTasks(i) => {
            let tasks = queues
                .list_move_tasks(&i.source_arn, positive(i.max_results))
                .map_err(sqs_error)?;
            let results = tasks.into_iter().map(move_task_entry).collect();
            Ok(SqsResponse::ListMessageMoveTasks(ListMessageMoveTasksOutput {
                results,
            }))
        }
    }
}

/// Checks the caller's identity policy, and for another account's queue that queue's policy;
/// nothing to do (and nothing computed) when authentication is off.
fn authorize(
    ctx: &RequestContext,
    queues: &sluice_broker::Queues,
    action: SqsAction,
    request: &SqsRequest,
    named_queue: Option<&QueueKey>,
) -> Result<(), SqsError> {
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
        SqsRequest::CancelMessageMoveTask(i) => movetask::handle_source_arn(&i.task_handle).map_err(sqs_error)?,
        // ListQueues names no queue: only `Resource: "*"` grants it.
        _ => named_queue.map_or_else(|| "*".to_string(), QueueKey::arn),
    };
    let iam_action = format!("sqs:{}", action.name());
    ctx.authorize(&iam_action, &resource, || queues.policy_by_arn(&resource))
        .map_err(|message| SqsError::new(SqsErrorCode::AccessDenied, message))?;
    if let SqsRequest::StartMessageMoveTask(i) = request {
        authorize_move_task(ctx, queues, i)?;
    }
    Ok(())
}

/// A move task receives, deletes and inspects its source's messages and sends them on, so
/// AWS's StartMessageMoveTask also needs `sqs:ReceiveMessage`, `sqs:DeleteMessage` and
/// `sqs:GetQueueAttributes` on the source and `sqs:SendMessage` on the destination (SQS
/// developer guide, "Configure queue permissions for dead-letter queue redrive"). Without a
/// DestinationArn the messages go back to the queues they were dead-lettered from, which are
/// the queues whose RedrivePolicy names the source (same account and region), so the caller
/// needs `sqs:SendMessage` on each of them.
fn authorize_move_task(
    ctx: &RequestContext,
    queues: &sluice_broker::Queues,
    input: &StartMessageMoveTaskInput,
) -> Result<(), SqsError> {
    let denied = |message: String| SqsError::new(SqsErrorCode::AccessDenied, message);
    let source = input.source_arn.as_str();
    for action in ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"] {
        ctx.authorize(action, source, || queues.policy_by_arn(source))
            .map_err(denied)?;
    }
    let destinations = match input.destination_arn.as_deref().filter(|d| !d.is_empty()) {
        Some(arn) => vec![arn.to_string()],
        None => redrive_sources(queues, source),
    };
    for destination in &destinations {
        ctx.authorize("sqs:SendMessage", destination, || queues.policy_by_arn(destination))
            .map_err(denied)?;
    }
    Ok(())
}

/// The ARNs of the queues whose RedrivePolicy targets the dead-letter queue `dlq_arn` (none when
/// it does not exist: the task's own checks refuse it then).
fn redrive_sources(queues: &sluice_broker::Queues, dlq_arn: &str) -> Vec<String> {
    let Some((region, account, name)) = sluice_broker::queue::arn::parse_queue_arn(dlq_arn) else {
        return Vec::new();
    };
    let dlq = QueueKey::new(account, region, name);
    let mut arns = Vec::new();
    let mut next_token: Option<String> = None;
    loop {
        let Ok(page) = queues.dead_letter_sources(&dlq, Some(1000), next_token.as_deref()) else {
            return arns;
        };
        arns.extend(
            page.names
                .into_iter()
                .map(|name| QueueKey::new(account, region, name).arn()),
        );
        match page.next_token {
            Some(token) => next_token = Some(token),
            None => return arns,
        }
    }
}

fn send_batch(
    ctx: &RequestContext,
    queues: &sluice_broker::Queues,
    key: QueueKey,
    input: SendMessageBatchInput,
) -> Result<SqsResponse, SqsError> {
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
        let results = queues.send(&key, messages).map_err(sqs_error)?;
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

fn delete_batch(
    queues: &sluice_broker::Queues,
    key: QueueKey,
    input: DeleteMessageBatchInput,
) -> Result<SqsResponse, SqsError> {
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
        let results = queues.delete_messages(&key, &handles).map_err(sqs_error)?;
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

fn change_visibility_batch(
    queues: &sluice_broker::Queues,
    key: QueueKey,
    input: ChangeMessageVisibilityBatchInput,
) -> Result<SqsResponse, SqsError> {
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
        let results = queues.change_visibility(&key, &changes).map_err(sqs_error)?;
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

fn move_task_entry(task: MoveTask) -> ListMessageMoveTasksResultEntry {
    ListMessageMoveTasksResultEntry {
        task_handle: (task.status == TaskStatus::Running).then(|| task.handle()),
        status: Some(task.status.as_str().to_string()),
        source_arn: Some(task.source_arn),
        destination_arn: task.destination_arn,
        max_number_of_messages_per_second: task.max_per_second.map(|r| r as i32),
        approximate_number_of_messages_moved: Some(task.moved as i64),
        approximate_number_of_messages_to_move: Some(task.to_move as i64),
        failure_reason: task.failure_reason,
        started_timestamp: Some(task.started_ms as i64),
    }
}

/// The one result of a single-entry core call.
fn first_result<T>(results: Vec<Result<T, BrokerError>>) -> Result<Result<T, BrokerError>, SqsError> {
    // The core answers one result per entry; an empty answer would be a core bug.
    results.into_iter().next().ok_or_else(|| {
        tracing::error!("core returned no result for a single-entry call");
        SqsError::internal()
    })
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

/// A validated non-negative wire integer as the core's `u32`.
fn non_negative(value: Option<i32>) -> Option<u32> {
    value.and_then(|v| u32::try_from(v).ok())
}

/// A validated positive page size as `usize`.
fn positive(value: Option<i32>) -> Option<usize> {
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
