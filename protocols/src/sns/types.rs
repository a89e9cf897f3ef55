//! Typed SNS requests and responses: one variant per served action, fields named after the
//! botocore model's members (snake case), plain Rust types.
//!
//! Requests carry what the core needs: a Publish names its topic by `topic_arn` whether the
//! wire said TopicArn or TargetArn; CreateTopic's DataProtectionPolicy travels in `attributes`.
//! Responses group actions whose results share a shape (`Attributes`, `SubscriptionArn`,
//! `Subscriptions`, `Empty`), tagged with the action so the encoder names the elements.
//!
//! # The action enum
//! [`SnsAction`]: the operations of the botocore model
//! (`sns/2010-03-31/service-2.json`) that Sluice serves, plus [`is_known_unsupported`] for the
//! rest (SMS, mobile push, data protection).
//!
//! A known-but-unsupported operation decodes to `InvalidAction` (400, the code AWS gives an
//! action it does not know) with a message naming the operation as unsupported by Sluice, so
//! an SDK raises a normal client error and the user learns why.

use std::collections::BTreeMap;

use crate::action::action_enum;

action_enum!(
    /// An SNS operation Sluice serves, named exactly as on the wire.
    SnsAction {
        AddPermission,
        ConfirmSubscription,
        CreateTopic,
        DeleteTopic,
        GetSubscriptionAttributes,
        GetTopicAttributes,
        ListSubscriptions,
        ListSubscriptionsByTopic,
        ListTagsForResource,
        ListTopics,
        Publish,
        PublishBatch,
        RemovePermission,
        SetSubscriptionAttributes,
        SetTopicAttributes,
        Subscribe,
        TagResource,
        Unsubscribe,
        UntagResource,
    }
);

impl SnsAction {
    /// Whether the model gives the action an output shape, so its response carries an
    /// `<{Action}Result>` element (present even when empty, as for TagResource). The six
    /// without one answer with `ResponseMetadata` only.
    pub fn has_result(self) -> bool {
        !matches!(
            self,
            SnsAction::AddPermission
                | SnsAction::DeleteTopic
                | SnsAction::RemovePermission
                | SnsAction::SetSubscriptionAttributes
                | SnsAction::SetTopicAttributes
                | SnsAction::Unsubscribe
        )
    }
}

/// SNS operations of the model that Sluice does not serve (SMS, mobile push, data protection).
const UNSUPPORTED: [&str; 23] = [
    "CheckIfPhoneNumberIsOptedOut",
    "CreatePlatformApplication",
    "CreatePlatformEndpoint",
    "CreateSMSSandboxPhoneNumber",
    "DeleteEndpoint",
    "DeletePlatformApplication",
    "DeleteSMSSandboxPhoneNumber",
    "GetDataProtectionPolicy",
    "GetEndpointAttributes",
    "GetPlatformApplicationAttributes",
    "GetSMSAttributes",
    "GetSMSSandboxAccountStatus",
    "ListEndpointsByPlatformApplication",
    "ListOriginationNumbers",
    "ListPhoneNumbersOptedOut",
    "ListPlatformApplications",
    "ListSMSSandboxPhoneNumbers",
    "OptInPhoneNumber",
    "PutDataProtectionPolicy",
    "SetEndpointAttributes",
    "SetPlatformApplicationAttributes",
    "SetSMSAttributes",
    "VerifySMSSandboxPhoneNumber",
];

/// True for an SNS operation that exists on AWS but that Sluice does not serve.
pub fn is_known_unsupported(name: &str) -> bool {
    UNSUPPORTED.contains(&name)
}

#[cfg(test)]
mod action_tests {
    use super::*;

    #[test]
    fn names_round_trip_and_cover_the_model() {
        for action in SnsAction::ALL {
            assert_eq!(SnsAction::from_name(action.name()), Some(*action));
            assert!(!is_known_unsupported(action.name()));
        }
        // 19 served + 23 unsupported = the model's 42 operations.
        assert_eq!(SnsAction::ALL.len() + UNSUPPORTED.len(), 42);
        assert_eq!(SnsAction::from_name("publish"), None);
        assert!(is_known_unsupported("CreatePlatformEndpoint"));
    }

    #[test]
    fn result_wrappers_follow_the_model() {
        let without: Vec<&str> = SnsAction::ALL
            .iter()
            .filter(|a| !a.has_result())
            .map(|a| a.name())
            .collect();
        assert_eq!(
            without,
            [
                "AddPermission",
                "DeleteTopic",
                "RemovePermission",
                "SetSubscriptionAttributes",
                "SetTopicAttributes",
                "Unsubscribe"
            ]
        );
    }
}

/// A message attribute as a publisher sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAttributeValue {
    /// `String`, `Number`, `Binary` (optionally `.label`-suffixed) or `String.Array`.
    pub data_type: String,
    /// Value of String, Number and String.Array attributes.
    pub string_value: Option<String>,
    /// Value of Binary attributes (base64 on the wire).
    pub binary_value: Option<Vec<u8>>,
}

/// Message attributes by name.
pub type MessageAttributeMap = BTreeMap<String, MessageAttributeValue>;

/// The fields of one message to publish (Publish, or a PublishBatch entry).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishFields {
    /// The message (or per-protocol JSON with `message_structure`).
    pub message: String,
    /// Subject.
    pub subject: Option<String>,
    /// `json` when set.
    pub message_structure: Option<String>,
    /// Message attributes.
    pub message_attributes: MessageAttributeMap,
    /// FIFO deduplication id.
    pub message_deduplication_id: Option<String>,
    /// FIFO message group.
    pub message_group_id: Option<String>,
}

/// One PublishBatch entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishBatchEntry {
    /// Caller's id of the entry.
    pub id: String,
    /// The message.
    pub fields: PublishFields,
}

/// A decoded SNS request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnsRequest {
    /// AddPermission.
    AddPermission {
        /// Topic.
        topic_arn: String,
        /// Statement id.
        label: String,
        /// Accounts allowed.
        account_ids: Vec<String>,
        /// Actions allowed (without the `SNS:` prefix).
        action_names: Vec<String>,
    },
    /// ConfirmSubscription.
    ConfirmSubscription {
        /// Topic.
        topic_arn: String,
        /// The token sent to the endpoint.
        token: String,
        /// `true` when only signed Unsubscribe calls may remove the subscription.
        authenticate_on_unsubscribe: bool,
    },
    /// CreateTopic.
    CreateTopic {
        /// Topic name.
        name: String,
        /// Attributes.
        attributes: BTreeMap<String, String>,
        /// Tags.
        tags: BTreeMap<String, String>,
    },
    /// DeleteTopic.
    DeleteTopic {
        /// Topic.
        topic_arn: String,
    },
    /// GetSubscriptionAttributes.
    GetSubscriptionAttributes {
        /// Subscription.
        subscription_arn: String,
    },
    /// GetTopicAttributes.
    GetTopicAttributes {
        /// Topic.
        topic_arn: String,
    },
    /// ListSubscriptions.
    ListSubscriptions {
        /// Page token.
        next_token: Option<String>,
    },
    /// ListSubscriptionsByTopic.
    ListSubscriptionsByTopic {
        /// Topic.
        topic_arn: String,
        /// Page token.
        next_token: Option<String>,
    },
    /// ListTagsForResource.
    ListTagsForResource {
        /// Topic.
        resource_arn: String,
    },
    /// ListTopics.
    ListTopics {
        /// Page token.
        next_token: Option<String>,
    },
    /// Publish.
    Publish {
        /// Topic (TopicArn or TargetArn, whichever was given).
        topic_arn: String,
        /// The message.
        fields: PublishFields,
    },
    /// PublishBatch.
    PublishBatch {
        /// Topic.
        topic_arn: String,
        /// 1 to 10 entries with distinct, valid ids, valid message attributes and at most
        /// 256 KiB in total; each entry's own fields are checked with [`super::check_publish`]
        /// by the server so one bad entry fails alone.
        entries: Vec<PublishBatchEntry>,
    },
    /// RemovePermission.
    RemovePermission {
        /// Topic.
        topic_arn: String,
        /// Statement id.
        label: String,
    },
    /// SetSubscriptionAttributes.
    SetSubscriptionAttributes {
        /// Subscription.
        subscription_arn: String,
        /// Attribute.
        attribute_name: String,
        /// New value (empty when absent).
        attribute_value: String,
    },
    /// SetTopicAttributes.
    SetTopicAttributes {
        /// Topic.
        topic_arn: String,
        /// Attribute.
        attribute_name: String,
        /// New value (empty when absent).
        attribute_value: String,
    },
    /// Subscribe.
    Subscribe {
        /// Topic.
        topic_arn: String,
        /// Protocol (`sqs`, `http`, `https`, ...).
        protocol: String,
        /// Endpoint.
        endpoint: String,
        /// Attributes.
        attributes: BTreeMap<String, String>,
        /// Return the ARN even while confirmation is pending.
        return_subscription_arn: bool,
    },
    /// TagResource.
    TagResource {
        /// Topic.
        resource_arn: String,
        /// Tags.
        tags: BTreeMap<String, String>,
    },
    /// Unsubscribe.
    Unsubscribe {
        /// Subscription.
        subscription_arn: String,
    },
    /// UntagResource.
    UntagResource {
        /// Topic.
        resource_arn: String,
        /// Keys to remove.
        tag_keys: Vec<String>,
    },
}

impl SnsRequest {
    /// The action this request is for.
    pub fn action(&self) -> SnsAction {
        match self {
            SnsRequest::AddPermission { .. } => SnsAction::AddPermission,
            SnsRequest::ConfirmSubscription { .. } => SnsAction::ConfirmSubscription,
            SnsRequest::CreateTopic { .. } => SnsAction::CreateTopic,
            SnsRequest::DeleteTopic { .. } => SnsAction::DeleteTopic,
            SnsRequest::GetSubscriptionAttributes { .. } => SnsAction::GetSubscriptionAttributes,
            SnsRequest::GetTopicAttributes { .. } => SnsAction::GetTopicAttributes,
            SnsRequest::ListSubscriptions { .. } => SnsAction::ListSubscriptions,
            SnsRequest::ListSubscriptionsByTopic { .. } => SnsAction::ListSubscriptionsByTopic,
            SnsRequest::ListTagsForResource { .. } => SnsAction::ListTagsForResource,
            SnsRequest::ListTopics { .. } => SnsAction::ListTopics,
            SnsRequest::Publish { .. } => SnsAction::Publish,
            SnsRequest::PublishBatch { .. } => SnsAction::PublishBatch,
            SnsRequest::RemovePermission { .. } => SnsAction::RemovePermission,
            SnsRequest::SetSubscriptionAttributes { .. } => SnsAction::SetSubscriptionAttributes,
            SnsRequest::SetTopicAttributes { .. } => SnsAction::SetTopicAttributes,
            SnsRequest::Subscribe { .. } => SnsAction::Subscribe,
            SnsRequest::TagResource { .. } => SnsAction::TagResource,
            SnsRequest::Unsubscribe { .. } => SnsAction::Unsubscribe,
            SnsRequest::UntagResource { .. } => SnsAction::UntagResource,
        }
    }
}

/// One subscription in a List response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionEntry {
    /// ARN, or `PendingConfirmation`.
    pub subscription_arn: String,
    /// Owner account.
    pub owner: String,
    /// Protocol.
    pub protocol: String,
    /// Endpoint.
    pub endpoint: String,
    /// Topic.
    pub topic_arn: String,
}

/// A successful PublishBatch entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchSuccess {
    /// The entry id.
    pub id: String,
    /// The message id.
    pub message_id: String,
    /// FIFO sequence number.
    pub sequence_number: Option<String>,
}

/// A failed PublishBatch entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFailure {
    /// The entry id.
    pub id: String,
    /// Error code.
    pub code: String,
    /// Error message.
    pub message: String,
    /// Whether the caller is at fault.
    pub sender_fault: bool,
}

/// A response to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnsResponse {
    /// Actions whose response has no result (DeleteTopic, Set*Attributes, Unsubscribe,
    /// AddPermission, RemovePermission) or an empty one (TagResource, UntagResource).
    Empty(SnsAction),
    /// CreateTopic.
    CreateTopic {
        /// The topic's ARN.
        topic_arn: String,
    },
    /// ListTopics.
    ListTopics {
        /// ARNs of this page.
        topic_arns: Vec<String>,
        /// Next page.
        next_token: Option<String>,
    },
    /// GetTopicAttributes or GetSubscriptionAttributes.
    Attributes(SnsAction, BTreeMap<String, String>),
    /// Subscribe or ConfirmSubscription.
    SubscriptionArn(SnsAction, String),
    /// ListSubscriptions or ListSubscriptionsByTopic.
    Subscriptions(SnsAction, Vec<SubscriptionEntry>, Option<String>),
    /// Publish.
    Publish {
        /// Message id.
        message_id: String,
        /// FIFO sequence number.
        sequence_number: Option<String>,
    },
    /// PublishBatch.
    PublishBatch {
        /// Published entries.
        successful: Vec<BatchSuccess>,
        /// Failed entries.
        failed: Vec<BatchFailure>,
    },
    /// ListTagsForResource.
    Tags(BTreeMap<String, String>),
}

impl SnsResponse {
    /// The action this answers.
    pub fn action(&self) -> SnsAction {
        match self {
            SnsResponse::Empty(a)
            | SnsResponse::Attributes(a, _)
            | SnsResponse::SubscriptionArn(a, _)
            | SnsResponse::Subscriptions(a, _, _) => *a,
            SnsResponse::CreateTopic { .. } => SnsAction::CreateTopic,
            SnsResponse::ListTopics { .. } => SnsAction::ListTopics,
            SnsResponse::Publish { .. } => SnsAction::Publish,
            SnsResponse::PublishBatch { .. } => SnsAction::PublishBatch,
            SnsResponse::Tags(_) => SnsAction::ListTagsForResource,
        }
    }
}
