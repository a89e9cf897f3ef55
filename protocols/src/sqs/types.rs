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
//!
//! # The action enum
//! [`SqsAction`]: one variant per operation of the botocore model
//! (`sqs/2012-11-05/service-2.json`, 23 operations).
//!
//! Both protocols route on it: AWS JSON 1.0 takes the name after `AmazonSQS.` in
//! `X-Amz-Target`, the query protocol takes the `Action` parameter. Wire names are
//! case-sensitive, as on AWS.

use std::fmt;

use super::error::SqsError;
use crate::action::action_enum;

pub use super::input::*;
pub use super::output::*;
pub use super::shapes::*;

action_enum!(
    /// An SQS operation, named exactly as on the wire.
    SqsAction {
        AddPermission,
        CancelMessageMoveTask,
        ChangeMessageVisibility,
        ChangeMessageVisibilityBatch,
        CreateQueue,
        DeleteMessage,
        DeleteMessageBatch,
        DeleteQueue,
        GetQueueAttributes,
        GetQueueUrl,
        ListDeadLetterSourceQueues,
        ListMessageMoveTasks,
        ListQueueTags,
        ListQueues,
        PurgeQueue,
        ReceiveMessage,
        RemovePermission,
        SendMessage,
        SendMessageBatch,
        SetQueueAttributes,
        StartMessageMoveTask,
        TagQueue,
        UntagQueue,
    }
);

/// The `X-Amz-Target` prefix of SQS over AWS JSON 1.0 (`AmazonSQS.SendMessage`).
pub const JSON_TARGET_PREFIX: &str = "AmazonSQS.";

impl SqsAction {
    /// Parses an `X-Amz-Target` header value (`AmazonSQS.SendMessage`).
    pub fn from_target(target: &str) -> Option<Self> {
        target.strip_prefix(JSON_TARGET_PREFIX).and_then(Self::from_name)
    }

    /// Whether the model gives this action an output shape; the others answer `{}`
    /// (JSON) or a bare `<{Action}Response>` with only `ResponseMetadata` (query).
    pub fn has_output(self) -> bool {
        !matches!(
            self,
            SqsAction::AddPermission
                | SqsAction::ChangeMessageVisibility
                | SqsAction::DeleteMessage
                | SqsAction::DeleteQueue
                | SqsAction::PurgeQueue
                | SqsAction::RemovePermission
                | SqsAction::SetQueueAttributes
                | SqsAction::TagQueue
                | SqsAction::UntagQueue
        )
    }
}

impl fmt::Display for SqsAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod action_tests {
    use super::*;

    /// Wire names as sent by botocore (`X-Amz-Target: AmazonSQS.<name>`) and by
    /// query clients (`Action=<name>`).
    #[test]
    fn wire_names() {
        let table = [
            ("AddPermission", SqsAction::AddPermission),
            ("CancelMessageMoveTask", SqsAction::CancelMessageMoveTask),
            ("ChangeMessageVisibility", SqsAction::ChangeMessageVisibility),
            ("ChangeMessageVisibilityBatch", SqsAction::ChangeMessageVisibilityBatch),
            ("CreateQueue", SqsAction::CreateQueue),
            ("DeleteMessage", SqsAction::DeleteMessage),
            ("DeleteMessageBatch", SqsAction::DeleteMessageBatch),
            ("DeleteQueue", SqsAction::DeleteQueue),
            ("GetQueueAttributes", SqsAction::GetQueueAttributes),
            ("GetQueueUrl", SqsAction::GetQueueUrl),
            ("ListDeadLetterSourceQueues", SqsAction::ListDeadLetterSourceQueues),
            ("ListMessageMoveTasks", SqsAction::ListMessageMoveTasks),
            ("ListQueueTags", SqsAction::ListQueueTags),
            ("ListQueues", SqsAction::ListQueues),
            ("PurgeQueue", SqsAction::PurgeQueue),
            ("ReceiveMessage", SqsAction::ReceiveMessage),
            ("RemovePermission", SqsAction::RemovePermission),
            ("SendMessage", SqsAction::SendMessage),
            ("SendMessageBatch", SqsAction::SendMessageBatch),
            ("SetQueueAttributes", SqsAction::SetQueueAttributes),
            ("StartMessageMoveTask", SqsAction::StartMessageMoveTask),
            ("TagQueue", SqsAction::TagQueue),
            ("UntagQueue", SqsAction::UntagQueue),
        ];
        assert_eq!(SqsAction::ALL.len(), 23);
        assert_eq!(table.len(), 23);
        for (name, action) in table {
            assert_eq!(SqsAction::from_name(name), Some(action), "{name}");
            assert_eq!(action.name(), name);
            let target = format!("AmazonSQS.{name}");
            assert_eq!(SqsAction::from_target(&target), Some(action));
        }
    }

    #[test]
    fn unknown_names() {
        for name in ["", "sendmessage", "SendMessage ", "AmazonSQS.", "Publish"] {
            assert_eq!(SqsAction::from_name(name), None, "{name:?}");
        }
        assert_eq!(SqsAction::from_target("SendMessage"), None);
        assert_eq!(SqsAction::from_target("Kinesis_20131202.PutRecord"), None);
    }

    #[test]
    fn outputs() {
        assert!(SqsAction::SendMessage.has_output());
        assert!(SqsAction::CancelMessageMoveTask.has_output());
        assert!(!SqsAction::DeleteMessage.has_output());
        assert_eq!(SqsAction::ALL.iter().filter(|a| !a.has_output()).count(), 9);
    }
}

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
