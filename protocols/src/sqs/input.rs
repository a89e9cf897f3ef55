//! Typed inputs of every SQS action, named after the botocore model. See [`super::types`] for
//! the conventions they follow.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::shapes::{MessageAttributeMap, MessageSystemAttributeValue};

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
