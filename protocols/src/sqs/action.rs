//! The SQS action enum: one variant per operation of the botocore model
//! (`sqs/2012-11-05/service-2.json`, 23 operations).
//!
//! Both protocols route on it: AWS JSON 1.0 takes the name after `AmazonSQS.` in
//! `X-Amz-Target`, the query protocol takes the `Action` parameter. Wire names are
//! case-sensitive, as on AWS.

use std::fmt;

use crate::action::action_enum;

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
mod tests {
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
