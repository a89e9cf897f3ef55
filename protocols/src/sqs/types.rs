//! Typed inputs and outputs of every SQS action, shaped after the botocore model.
//!
//! Serde names are the model's member names, so the JSON 1.0 codec is plain serde;
//! the query codec in [`super::query`] maps the same structs to flattened
//! parameters and XML. Conventions:
//! - `QueueUrl` is `Option<String>` everywhere: query clients (kombu, JS v3, Java
//!   v2) may send it only as the request path, and the server fills it in with
//!   [`SqsRequest::set_default_queue_url`]. A request that still has none is answered
//!   `QueueDoesNotExist`, as AWS does (see [`SqsRequest::require_queue_url`]).
//! - Other required members are plain values (`#[serde(default)]`); the decoders
//!   check presence before building them ([`super::validate`]).
//! - Blobs are `Vec<u8>`, base64 in JSON and in query/XML. Integers are `i32`
//!   (`Integer`/`NullableInteger`), longs `i64`; `StartedTimestamp` is epoch
//!   milliseconds as a long.
//! - Maps are `BTreeMap`, so output order is stable (AWS's own order is unspecified).
//! - Empty output lists and maps are omitted, as AWS does (`ReceiveMessage` with no
//!   messages answers `{}`), except the batch results' `Successful`/`Failed` and
//!   `ListDeadLetterSourceQueues`' `queueUrls`, which the model marks required.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::action::SqsAction;
use super::error::SqsError;

/// Serde adapters for base64 blobs.
pub(crate) mod b64 {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    /// `Option<Vec<u8>>` as an optional base64 string.
    pub mod opt {
        use super::*;

        pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(bytes) => s.serialize_str(&STANDARD.encode(bytes)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
            let text: Option<String> = Option::deserialize(d)?;
            match text {
                Some(t) => STANDARD
                    .decode(t.as_bytes())
                    .map(Some)
                    .map_err(serde::de::Error::custom),
                None => Ok(None),
            }
        }
    }

    /// `Vec<Vec<u8>>` as a list of base64 strings.
    pub mod list {
        use super::*;
        use serde::ser::SerializeSeq;

        pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(v.len()))?;
            for bytes in v {
                seq.serialize_element(&STANDARD.encode(bytes))?;
            }
            seq.end()
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
            let texts: Vec<String> = Vec::deserialize(d)?;
            let mut out = Vec::with_capacity(texts.len());
            for t in texts {
                out.push(STANDARD.decode(t.as_bytes()).map_err(serde::de::Error::custom)?);
            }
            Ok(out)
        }
    }
}

// ---------------------------------------------------------------------------
// Shared shapes

/// A message attribute value (`MessageAttributeValue`), also used for message
/// system attributes (`MessageSystemAttributeValue` has the same members).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageAttributeValue {
    /// `String`, `Number` or `Binary`, optionally with a `.customLabel`.
    #[serde(default)]
    pub data_type: String,
    /// The value of a `String` or `Number` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    /// The value of a `Binary` attribute (base64 on the wire).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "b64::opt")]
    pub binary_value: Option<Vec<u8>>,
    /// Reserved by AWS ("not implemented"); rejected by validation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub string_list_values: Vec<String>,
    /// Reserved by AWS ("not implemented"); rejected by validation.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "b64::list")]
    pub binary_list_values: Vec<Vec<u8>>,
}

impl MessageAttributeValue {
    /// A `String` attribute.
    pub fn string(value: impl Into<String>) -> Self {
        MessageAttributeValue {
            data_type: "String".into(),
            string_value: Some(value.into()),
            ..Default::default()
        }
    }

    /// A `Number` attribute (the value is kept as sent, as AWS does).
    pub fn number(value: impl Into<String>) -> Self {
        MessageAttributeValue {
            data_type: "Number".into(),
            string_value: Some(value.into()),
            ..Default::default()
        }
    }

    /// A `Binary` attribute.
    pub fn binary(value: impl Into<Vec<u8>>) -> Self {
        MessageAttributeValue {
            data_type: "Binary".into(),
            binary_value: Some(value.into()),
            ..Default::default()
        }
    }
}

/// `MessageSystemAttributeValue`: the same members as [`MessageAttributeValue`].
pub type MessageSystemAttributeValue = MessageAttributeValue;

/// Message attributes by name (`MessageBodyAttributeMap`).
pub type MessageAttributeMap = BTreeMap<String, MessageAttributeValue>;

/// One failed entry of a batch (`BatchResultErrorEntry`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResultErrorEntry {
    /// The entry's `Id` from the request.
    pub id: String,
    /// Whether the caller caused the failure.
    pub sender_fault: bool,
    /// The error code (`InvalidParameterValue`, `ReceiptHandleIsInvalid`, ...).
    pub code: String,
    /// A message for the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl BatchResultErrorEntry {
    /// The failed entry for `id` caused by `err`, with the error's query code.
    pub fn from_error(id: impl Into<String>, err: &SqsError) -> Self {
        BatchResultErrorEntry {
            id: id.into(),
            sender_fault: err.code.sender_fault(),
            code: err.code.query_code().to_string(),
            message: Some(err.message.clone()),
        }
    }
}

// ---------------------------------------------------------------------------
// Inputs

/// `AddPermission` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermissionInput {
    /// The queue URL; the server may supply it from the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    /// The permission's label.
    #[serde(default)]
    pub label: String,
    /// Principals (account ids) to grant.
    #[serde(default, rename = "AWSAccountIds")]
    pub aws_account_ids: Vec<String>,
    /// Action names to grant (`SendMessage`, `*`, ...).
    #[serde(default)]
    pub actions: Vec<String>,
}

/// `CancelMessageMoveTask` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelMessageMoveTaskInput {
    /// The task handle from `StartMessageMoveTask`.
    #[serde(default)]
    pub task_handle: String,
}

/// `ChangeMessageVisibility` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeMessageVisibilityInput {
    /// The queue URL; the server may supply it from the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    /// The receipt handle of the received message.
    #[serde(default)]
    pub receipt_handle: String,
    /// The new timeout in seconds (0..=43200), counted from now.
    #[serde(default)]
    pub visibility_timeout: i32,
}

/// One entry of `ChangeMessageVisibilityBatch`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeMessageVisibilityBatchRequestEntry {
    /// The entry's id, unique in the batch.
    #[serde(default)]
    pub id: String,
    /// The receipt handle.
    #[serde(default)]
    pub receipt_handle: String,
    /// The new timeout in seconds; AWS fails the entry when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility_timeout: Option<i32>,
}

/// `ChangeMessageVisibilityBatch` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeMessageVisibilityBatchInput {
    /// The queue URL; the server may supply it from the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    /// 1 to 10 entries.
    #[serde(default)]
    pub entries: Vec<ChangeMessageVisibilityBatchRequestEntry>,
}

/// `CreateQueue` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateQueueInput {
    /// The queue name.
    #[serde(default)]
    pub queue_name: String,
    /// Queue attributes by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Tags (lower-case `tags` in the model).
    #[serde(default, rename = "tags", skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// `DeleteMessage` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMessageInput {
    /// The queue URL; the server may supply it from the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    /// The receipt handle.
    #[serde(default)]
    pub receipt_handle: String,
}

/// One entry of `DeleteMessageBatch`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMessageBatchRequestEntry {
    /// The entry's id, unique in the batch.
    #[serde(default)]
    pub id: String,
    /// The receipt handle.
    #[serde(default)]
    pub receipt_handle: String,
}

/// `DeleteMessageBatch` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMessageBatchInput {
    /// The queue URL; the server may supply it from the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    /// 1 to 10 entries.
    #[serde(default)]
    pub entries: Vec<DeleteMessageBatchRequestEntry>,
}

/// `DeleteQueue` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteQueueInput {
    /// The queue URL; the server may supply it from the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
}

/// `GetQueueAttributes` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueAttributesInput {
    /// The queue URL; the server may supply it from the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    /// Attribute names to return (`All` for every one); none returns none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attribute_names: Vec<String>,
}

/// `GetQueueUrl` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueUrlInput {
    /// The queue name.
    #[serde(default)]
    pub queue_name: String,
    /// The owning account, when not the caller's.
    #[serde(default, rename = "QueueOwnerAWSAccountId", skip_serializing_if = "Option::is_none")]
    pub queue_owner_aws_account_id: Option<String>,
}

/// `ListDeadLetterSourceQueues` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDeadLetterSourceQueuesInput {
    /// The dead-letter queue's URL; the server may supply it from the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    /// Pagination token from a previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// Page size (1..=1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i32>,
}

/// `ListMessageMoveTasks` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMessageMoveTasksInput {
    /// The ARN of the source queue.
    #[serde(default)]
    pub source_arn: String,
    /// How many tasks to return (1..=10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i32>,
}

/// `ListQueueTags` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueueTagsInput {
    /// The queue URL; the server may supply it from the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
}

/// `ListQueues` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesInput {
    /// Only queues whose name starts with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_name_prefix: Option<String>,
    /// Pagination token from a previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// Page size (1..=1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i32>,
}

/// `PurgeQueue` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PurgeQueueInput {
    /// The queue URL; the server may supply it from the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
}

/// `ReceiveMessage` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveMessageInput {
    /// The queue URL; the server may supply it from the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    /// Deprecated name of `MessageSystemAttributeNames`; both are honoured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attribute_names: Vec<String>,
    /// System attributes to return (`All`, `SentTimestamp`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub message_system_attribute_names: Vec<String>,
    /// Message attributes to return (`All`, `.*`, a name, or `prefix.*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub message_attribute_names: Vec<String>,
    /// At most this many messages (1..=10; AWS's default is 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_number_of_messages: Option<i32>,
    /// Visibility timeout for the received messages (0..=43200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility_timeout: Option<i32>,
    /// Long-poll wait in seconds (0..=20); the queue's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_time_seconds: Option<i32>,
    /// FIFO receive deduplication token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receive_request_attempt_id: Option<String>,
}

impl ReceiveMessageInput {
    /// The requested system attribute names: `MessageSystemAttributeNames` plus the
    /// deprecated `AttributeNames` (older SDKs and kombu send only the latter).
    pub fn system_attribute_names(&self) -> impl Iterator<Item = &str> {
        self.message_system_attribute_names
            .iter()
            .chain(self.attribute_names.iter())
            .map(String::as_str)
    }
}

/// `RemovePermission` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemovePermissionInput {
    /// The queue URL; the server may supply it from the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    /// The label given to `AddPermission`.
    #[serde(default)]
    pub label: String,
}

/// `SendMessage` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageInput {
    /// The queue URL; the server may supply it from the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    /// The message body (non-empty, XML-legal characters only).
    #[serde(default)]
    pub message_body: String,
    /// Per-message delay in seconds (0..=900).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<i32>,
    /// Message attributes (at most 10).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub message_attributes: MessageAttributeMap,
    /// Message system attributes (only `AWSTraceHeader`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub message_system_attributes: BTreeMap<String, MessageSystemAttributeValue>,
    /// FIFO deduplication id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_deduplication_id: Option<String>,
    /// FIFO (or fair queue) message group id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_group_id: Option<String>,
}

/// One entry of `SendMessageBatch`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageBatchRequestEntry {
    /// The entry's id, unique in the batch.
    #[serde(default)]
    pub id: String,
    /// The message body.
    #[serde(default)]
    pub message_body: String,
    /// Per-message delay in seconds (0..=900).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<i32>,
    /// Message attributes (at most 10).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub message_attributes: MessageAttributeMap,
    /// Message system attributes (only `AWSTraceHeader`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub message_system_attributes: BTreeMap<String, MessageSystemAttributeValue>,
    /// FIFO deduplication id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_deduplication_id: Option<String>,
    /// FIFO (or fair queue) message group id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_group_id: Option<String>,
}

/// `SendMessageBatch` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageBatchInput {
    /// The queue URL; the server may supply it from the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    /// 1 to 10 entries.
    #[serde(default)]
    pub entries: Vec<SendMessageBatchRequestEntry>,
}

/// `SetQueueAttributes` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetQueueAttributesInput {
    /// The queue URL; the server may supply it from the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    /// Attributes to set.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// `StartMessageMoveTask` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartMessageMoveTaskInput {
    /// ARN of the dead-letter queue to move messages from.
    #[serde(default)]
    pub source_arn: String,
    /// ARN of the destination; the original source queues when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_arn: Option<String>,
    /// Rate limit (1..=500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_number_of_messages_per_second: Option<i32>,
}

/// `TagQueue` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagQueueInput {
    /// The queue URL; the server may supply it from the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    /// Tags to add or overwrite.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// `UntagQueue` input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagQueueInput {
    /// The queue URL; the server may supply it from the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    /// Tag keys to remove.
    #[serde(default)]
    pub tag_keys: Vec<String>,
}

// ---------------------------------------------------------------------------
// Outputs

/// `CancelMessageMoveTask` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelMessageMoveTaskOutput {
    /// Messages moved before the cancellation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_number_of_messages_moved: Option<i64>,
}

/// One successful entry of `ChangeMessageVisibilityBatch`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeMessageVisibilityBatchResultEntry {
    /// The entry's id.
    pub id: String,
}

/// `ChangeMessageVisibilityBatch` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeMessageVisibilityBatchOutput {
    /// Entries that succeeded.
    #[serde(default)]
    pub successful: Vec<ChangeMessageVisibilityBatchResultEntry>,
    /// Entries that failed.
    #[serde(default)]
    pub failed: Vec<BatchResultErrorEntry>,
}

/// `CreateQueue` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateQueueOutput {
    /// The new (or existing, identical) queue's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
}

/// One successful entry of `DeleteMessageBatch`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMessageBatchResultEntry {
    /// The entry's id.
    pub id: String,
}

/// `DeleteMessageBatch` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMessageBatchOutput {
    /// Entries that succeeded.
    #[serde(default)]
    pub successful: Vec<DeleteMessageBatchResultEntry>,
    /// Entries that failed.
    #[serde(default)]
    pub failed: Vec<BatchResultErrorEntry>,
}

/// `GetQueueAttributes` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueAttributesOutput {
    /// Attribute values by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// `GetQueueUrl` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueUrlOutput {
    /// The queue's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
}

/// `ListDeadLetterSourceQueues` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDeadLetterSourceQueuesOutput {
    /// Source queue URLs (lower-case `queueUrls` in the model).
    #[serde(default, rename = "queueUrls")]
    pub queue_urls: Vec<String>,
    /// Token for the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// One task of `ListMessageMoveTasks`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMessageMoveTasksResultEntry {
    /// Handle of a running task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_handle: Option<String>,
    /// `RUNNING`, `COMPLETED`, `CANCELLING`, `CANCELLED` or `FAILED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Source queue ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_arn: Option<String>,
    /// Destination ARN, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_arn: Option<String>,
    /// Rate limit, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_number_of_messages_per_second: Option<i32>,
    /// Messages moved so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_number_of_messages_moved: Option<i64>,
    /// Messages to move in total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_number_of_messages_to_move: Option<i64>,
    /// Why a task failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// Start time, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_timestamp: Option<i64>,
}

/// `ListMessageMoveTasks` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMessageMoveTasksOutput {
    /// The most recent tasks, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<ListMessageMoveTasksResultEntry>,
}

/// `ListQueueTags` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueueTagsOutput {
    /// The queue's tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// `ListQueues` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesOutput {
    /// Queue URLs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queue_urls: Vec<String>,
    /// Token for the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// A received message (`Message`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Message {
    /// The message id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The receipt handle of this receive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_handle: Option<String>,
    /// MD5 hex of the body.
    #[serde(default, rename = "MD5OfBody", skip_serializing_if = "Option::is_none")]
    pub md5_of_body: Option<String>,
    /// The body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Requested system attributes (values are strings, e.g. epoch-ms timestamps).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// MD5 of the returned message attributes; omitted when none are returned.
    #[serde(default, rename = "MD5OfMessageAttributes", skip_serializing_if = "Option::is_none")]
    pub md5_of_message_attributes: Option<String>,
    /// Requested message attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub message_attributes: MessageAttributeMap,
}

/// `ReceiveMessage` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveMessageOutput {
    /// The received messages; omitted on the wire when empty, as AWS does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
}

/// `SendMessage` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageOutput {
    /// MD5 hex of the body.
    #[serde(default, rename = "MD5OfMessageBody", skip_serializing_if = "Option::is_none")]
    pub md5_of_message_body: Option<String>,
    /// MD5 of the message attributes; omitted when none were sent.
    #[serde(default, rename = "MD5OfMessageAttributes", skip_serializing_if = "Option::is_none")]
    pub md5_of_message_attributes: Option<String>,
    /// MD5 of the message system attributes; omitted when none were sent.
    #[serde(
        default,
        rename = "MD5OfMessageSystemAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    pub md5_of_message_system_attributes: Option<String>,
    /// The new message's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// FIFO sequence number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
}

/// One successful entry of `SendMessageBatch`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageBatchResultEntry {
    /// The entry's id.
    pub id: String,
    /// The new message's id.
    pub message_id: String,
    /// MD5 hex of the body.
    #[serde(rename = "MD5OfMessageBody")]
    pub md5_of_message_body: String,
    /// MD5 of the message attributes; omitted when none were sent.
    #[serde(default, rename = "MD5OfMessageAttributes", skip_serializing_if = "Option::is_none")]
    pub md5_of_message_attributes: Option<String>,
    /// MD5 of the message system attributes; omitted when none were sent.
    #[serde(
        default,
        rename = "MD5OfMessageSystemAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    pub md5_of_message_system_attributes: Option<String>,
    /// FIFO sequence number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
}

/// `SendMessageBatch` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageBatchOutput {
    /// Entries that succeeded.
    #[serde(default)]
    pub successful: Vec<SendMessageBatchResultEntry>,
    /// Entries that failed.
    #[serde(default)]
    pub failed: Vec<BatchResultErrorEntry>,
}

/// `StartMessageMoveTask` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartMessageMoveTaskOutput {
    /// Handle to cancel the task with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_handle: Option<String>,
}

// ---------------------------------------------------------------------------
// Request and response enums

/// A decoded, validated SQS request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqsRequest {
    /// `AddPermission`.
    AddPermission(AddPermissionInput),
    /// `CancelMessageMoveTask`.
    CancelMessageMoveTask(CancelMessageMoveTaskInput),
    /// `ChangeMessageVisibility`.
    ChangeMessageVisibility(ChangeMessageVisibilityInput),
    /// `ChangeMessageVisibilityBatch`.
    ChangeMessageVisibilityBatch(ChangeMessageVisibilityBatchInput),
    /// `CreateQueue`.
    CreateQueue(CreateQueueInput),
    /// `DeleteMessage`.
    DeleteMessage(DeleteMessageInput),
    /// `DeleteMessageBatch`.
    DeleteMessageBatch(DeleteMessageBatchInput),
    /// `DeleteQueue`.
    DeleteQueue(DeleteQueueInput),
    /// `GetQueueAttributes`.
    GetQueueAttributes(GetQueueAttributesInput),
    /// `GetQueueUrl`.
    GetQueueUrl(GetQueueUrlInput),
    /// `ListDeadLetterSourceQueues`.
    ListDeadLetterSourceQueues(ListDeadLetterSourceQueuesInput),
    /// `ListMessageMoveTasks`.
    ListMessageMoveTasks(ListMessageMoveTasksInput),
    /// `ListQueueTags`.
    ListQueueTags(ListQueueTagsInput),
    /// `ListQueues`.
    ListQueues(ListQueuesInput),
    /// `PurgeQueue`.
    PurgeQueue(PurgeQueueInput),
    /// `ReceiveMessage`.
    ReceiveMessage(ReceiveMessageInput),
    /// `RemovePermission`.
    RemovePermission(RemovePermissionInput),
    /// `SendMessage`.
    SendMessage(SendMessageInput),
    /// `SendMessageBatch`.
    SendMessageBatch(SendMessageBatchInput),
    /// `SetQueueAttributes`.
    SetQueueAttributes(SetQueueAttributesInput),
    /// `StartMessageMoveTask`.
    StartMessageMoveTask(StartMessageMoveTaskInput),
    /// `TagQueue`.
    TagQueue(TagQueueInput),
    /// `UntagQueue`.
    UntagQueue(UntagQueueInput),
}

impl SqsRequest {
    /// The request's action.
    pub fn action(&self) -> SqsAction {
        match self {
            SqsRequest::AddPermission(_) => SqsAction::AddPermission,
            SqsRequest::CancelMessageMoveTask(_) => SqsAction::CancelMessageMoveTask,
            SqsRequest::ChangeMessageVisibility(_) => SqsAction::ChangeMessageVisibility,
            SqsRequest::ChangeMessageVisibilityBatch(_) => SqsAction::ChangeMessageVisibilityBatch,
            SqsRequest::CreateQueue(_) => SqsAction::CreateQueue,
            SqsRequest::DeleteMessage(_) => SqsAction::DeleteMessage,
            SqsRequest::DeleteMessageBatch(_) => SqsAction::DeleteMessageBatch,
            SqsRequest::DeleteQueue(_) => SqsAction::DeleteQueue,
            SqsRequest::GetQueueAttributes(_) => SqsAction::GetQueueAttributes,
            SqsRequest::GetQueueUrl(_) => SqsAction::GetQueueUrl,
            SqsRequest::ListDeadLetterSourceQueues(_) => SqsAction::ListDeadLetterSourceQueues,
            SqsRequest::ListMessageMoveTasks(_) => SqsAction::ListMessageMoveTasks,
            SqsRequest::ListQueueTags(_) => SqsAction::ListQueueTags,
            SqsRequest::ListQueues(_) => SqsAction::ListQueues,
            SqsRequest::PurgeQueue(_) => SqsAction::PurgeQueue,
            SqsRequest::ReceiveMessage(_) => SqsAction::ReceiveMessage,
            SqsRequest::RemovePermission(_) => SqsAction::RemovePermission,
            SqsRequest::SendMessage(_) => SqsAction::SendMessage,
            SqsRequest::SendMessageBatch(_) => SqsAction::SendMessageBatch,
            SqsRequest::SetQueueAttributes(_) => SqsAction::SetQueueAttributes,
            SqsRequest::StartMessageMoveTask(_) => SqsAction::StartMessageMoveTask,
            SqsRequest::TagQueue(_) => SqsAction::TagQueue,
            SqsRequest::UntagQueue(_) => SqsAction::UntagQueue,
        }
    }

    fn queue_url_slot(&mut self) -> Option<&mut Option<String>> {
        match self {
            SqsRequest::AddPermission(i) => Some(&mut i.queue_url),
            SqsRequest::ChangeMessageVisibility(i) => Some(&mut i.queue_url),
            SqsRequest::ChangeMessageVisibilityBatch(i) => Some(&mut i.queue_url),
            SqsRequest::DeleteMessage(i) => Some(&mut i.queue_url),
            SqsRequest::DeleteMessageBatch(i) => Some(&mut i.queue_url),
            SqsRequest::DeleteQueue(i) => Some(&mut i.queue_url),
            SqsRequest::GetQueueAttributes(i) => Some(&mut i.queue_url),
            SqsRequest::ListDeadLetterSourceQueues(i) => Some(&mut i.queue_url),
            SqsRequest::ListQueueTags(i) => Some(&mut i.queue_url),
            SqsRequest::PurgeQueue(i) => Some(&mut i.queue_url),
            SqsRequest::ReceiveMessage(i) => Some(&mut i.queue_url),
            SqsRequest::RemovePermission(i) => Some(&mut i.queue_url),
            SqsRequest::SendMessage(i) => Some(&mut i.queue_url),
            SqsRequest::SendMessageBatch(i) => Some(&mut i.queue_url),
            SqsRequest::SetQueueAttributes(i) => Some(&mut i.queue_url),
            SqsRequest::TagQueue(i) => Some(&mut i.queue_url),
            SqsRequest::UntagQueue(i) => Some(&mut i.queue_url),
            SqsRequest::CancelMessageMoveTask(_)
            | SqsRequest::CreateQueue(_)
            | SqsRequest::GetQueueUrl(_)
            | SqsRequest::ListMessageMoveTasks(_)
            | SqsRequest::ListQueues(_)
            | SqsRequest::StartMessageMoveTask(_) => None,
        }
    }

    /// Whether this action addresses a queue by `QueueUrl`.
    pub fn takes_queue_url(&self) -> bool {
        !matches!(
            self,
            SqsRequest::CancelMessageMoveTask(_)
                | SqsRequest::CreateQueue(_)
                | SqsRequest::GetQueueUrl(_)
                | SqsRequest::ListMessageMoveTasks(_)
                | SqsRequest::ListQueues(_)
                | SqsRequest::StartMessageMoveTask(_)
        )
    }

    /// The `QueueUrl` member, when the action has one and it was sent (or filled in).
    pub fn queue_url(&self) -> Option<&str> {
        match self {
            SqsRequest::AddPermission(i) => i.queue_url.as_deref(),
            SqsRequest::ChangeMessageVisibility(i) => i.queue_url.as_deref(),
            SqsRequest::ChangeMessageVisibilityBatch(i) => i.queue_url.as_deref(),
            SqsRequest::DeleteMessage(i) => i.queue_url.as_deref(),
            SqsRequest::DeleteMessageBatch(i) => i.queue_url.as_deref(),
            SqsRequest::DeleteQueue(i) => i.queue_url.as_deref(),
            SqsRequest::GetQueueAttributes(i) => i.queue_url.as_deref(),
            SqsRequest::ListDeadLetterSourceQueues(i) => i.queue_url.as_deref(),
            SqsRequest::ListQueueTags(i) => i.queue_url.as_deref(),
            SqsRequest::PurgeQueue(i) => i.queue_url.as_deref(),
            SqsRequest::ReceiveMessage(i) => i.queue_url.as_deref(),
            SqsRequest::RemovePermission(i) => i.queue_url.as_deref(),
            SqsRequest::SendMessage(i) => i.queue_url.as_deref(),
            SqsRequest::SendMessageBatch(i) => i.queue_url.as_deref(),
            SqsRequest::SetQueueAttributes(i) => i.queue_url.as_deref(),
            SqsRequest::TagQueue(i) => i.queue_url.as_deref(),
            SqsRequest::UntagQueue(i) => i.queue_url.as_deref(),
            _ => None,
        }
    }

    /// Fills in `QueueUrl` from the request path when the body did not carry one
    /// (or carried an empty one). No effect on actions without a `QueueUrl`.
    pub fn set_default_queue_url(&mut self, url: &str) {
        if let Some(slot) = self.queue_url_slot() {
            if slot.as_deref().is_none_or(str::is_empty) {
                *slot = Some(url.to_string());
            }
        }
    }

    /// The `QueueUrl` of an action that needs one; `QueueDoesNotExist` when it is
    /// missing or empty, which is what AWS answers (recorded for `SendMessage`).
    pub fn require_queue_url(&self) -> Result<&str, SqsError> {
        match self.queue_url() {
            Some(url) if !url.is_empty() => Ok(url),
            _ => Err(SqsError::queue_does_not_exist()),
        }
    }
}

/// A response to encode; actions without an output shape use `Empty`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqsResponse {
    /// `CancelMessageMoveTask`.
    CancelMessageMoveTask(CancelMessageMoveTaskOutput),
    /// `ChangeMessageVisibilityBatch`.
    ChangeMessageVisibilityBatch(ChangeMessageVisibilityBatchOutput),
    /// `CreateQueue`.
    CreateQueue(CreateQueueOutput),
    /// `DeleteMessageBatch`.
    DeleteMessageBatch(DeleteMessageBatchOutput),
    /// `GetQueueAttributes`.
    GetQueueAttributes(GetQueueAttributesOutput),
    /// `GetQueueUrl`.
    GetQueueUrl(GetQueueUrlOutput),
    /// `ListDeadLetterSourceQueues`.
    ListDeadLetterSourceQueues(ListDeadLetterSourceQueuesOutput),
    /// `ListMessageMoveTasks`.
    ListMessageMoveTasks(ListMessageMoveTasksOutput),
    /// `ListQueueTags`.
    ListQueueTags(ListQueueTagsOutput),
    /// `ListQueues`.
    ListQueues(ListQueuesOutput),
    /// `ReceiveMessage`.
    ReceiveMessage(ReceiveMessageOutput),
    /// `SendMessage`.
    SendMessage(SendMessageOutput),
    /// `SendMessageBatch`.
    SendMessageBatch(SendMessageBatchOutput),
    /// `StartMessageMoveTask`.
    StartMessageMoveTask(StartMessageMoveTaskOutput),
    /// An action with no output (`DeleteMessage`, `TagQueue`, ...).
    Empty(SqsAction),
}

impl SqsResponse {
    /// The action this response answers.
    pub fn action(&self) -> SqsAction {
        match self {
            SqsResponse::CancelMessageMoveTask(_) => SqsAction::CancelMessageMoveTask,
            SqsResponse::ChangeMessageVisibilityBatch(_) => SqsAction::ChangeMessageVisibilityBatch,
            SqsResponse::CreateQueue(_) => SqsAction::CreateQueue,
            SqsResponse::DeleteMessageBatch(_) => SqsAction::DeleteMessageBatch,
            SqsResponse::GetQueueAttributes(_) => SqsAction::GetQueueAttributes,
            SqsResponse::GetQueueUrl(_) => SqsAction::GetQueueUrl,
            SqsResponse::ListDeadLetterSourceQueues(_) => SqsAction::ListDeadLetterSourceQueues,
            SqsResponse::ListMessageMoveTasks(_) => SqsAction::ListMessageMoveTasks,
            SqsResponse::ListQueueTags(_) => SqsAction::ListQueueTags,
            SqsResponse::ListQueues(_) => SqsAction::ListQueues,
            SqsResponse::ReceiveMessage(_) => SqsAction::ReceiveMessage,
            SqsResponse::SendMessage(_) => SqsAction::SendMessage,
            SqsResponse::SendMessageBatch(_) => SqsAction::SendMessageBatch,
            SqsResponse::StartMessageMoveTask(_) => SqsAction::StartMessageMoveTask,
            SqsResponse::Empty(action) => *action,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_follow_the_model() {
        let out = SendMessageOutput {
            md5_of_message_body: Some("a".into()),
            md5_of_message_attributes: Some("b".into()),
            md5_of_message_system_attributes: None,
            message_id: Some("id".into()),
            sequence_number: None,
        };
        let v = serde_json::to_value(&out).unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({"MD5OfMessageBody": "a", "MD5OfMessageAttributes": "b", "MessageId": "id"})
        );

        let dl = ListDeadLetterSourceQueuesOutput::default();
        assert_eq!(
            serde_json::to_value(&dl).unwrap_or_default(),
            serde_json::json!({"queueUrls": []})
        );

        let cq = CreateQueueInput {
            queue_name: "q".into(),
            tags: [("k".to_string(), "v".to_string())].into(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&cq).unwrap_or_default(),
            serde_json::json!({"QueueName": "q", "tags": {"k": "v"}})
        );
    }

    #[test]
    fn binary_values_are_base64() {
        let v = MessageAttributeValue::binary(vec![0u8, 1, 2, 255]);
        let json = serde_json::to_value(&v).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"DataType": "Binary", "BinaryValue": "AAEC/w=="})
        );
        let back: MessageAttributeValue = serde_json::from_value(json).unwrap_or_default();
        assert_eq!(back, v);
    }

    #[test]
    fn default_queue_url() {
        let mut req = SqsRequest::ReceiveMessage(ReceiveMessageInput::default());
        assert!(req.require_queue_url().is_err());
        req.set_default_queue_url("http://h/000000000000/q");
        assert_eq!(req.require_queue_url().ok(), Some("http://h/000000000000/q"));
        req.set_default_queue_url("http://other/1/x");
        assert_eq!(req.queue_url(), Some("http://h/000000000000/q"));

        let mut req = SqsRequest::ListQueues(ListQueuesInput::default());
        req.set_default_queue_url("http://h/000000000000/q");
        assert_eq!(req.queue_url(), None);
        assert!(!req.takes_queue_url());
    }
}
