//! The SNS action enum: the operations of the botocore model
//! (`sns/2010-03-31/service-2.json`) that Sluice serves, plus [`is_known_unsupported`] for the
//! rest (SMS, mobile push, data protection).
//!
//! A known-but-unsupported operation decodes to `InvalidAction` (400, the code AWS gives an
//! action it does not know) with a message naming the operation as unsupported by Sluice, so
//! an SDK raises a normal client error and the user learns why.

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
mod tests {
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
