//! A topic's settings: GetTopicAttributes, SetTopicAttributes, AddPermission,
//! RemovePermission, ListTagsForResource, TagResource, UntagResource, and the topic's access
//! policy for authorization.
//!
//! # Invariants
//! - Every change validates the value first, then, under the admin lock, commits the whole
//!   topic record in one batch and updates the in-memory record only after the commit
//!   succeeded.
//! - A topic without a `Policy` attribute answers with AWS's default policy (built here, not
//!   stored); AddPermission and RemovePermission edit the policy the topic answers with and
//!   store the result as its `Policy` attribute.
//! - `FifoTopic` is fixed at creation; `ContentBasedDeduplication` and `FifoThroughputScope`
//!   are refused on standard topics.

use std::collections::BTreeMap;

use super::delivery_policy::TopicDeliveryPolicy;
use super::error::invalid;
use super::{Result, TopicError, TopicKey, Topics, MAX_TAGS};

impl Topics {
    /// Every topic attribute, with AWS's defaults and the subscription counts.
    pub fn get_topic_attributes(&self, key: &TopicKey) -> Result<BTreeMap<String, String>> {
        let topic = self.lookup(key)?;
        let subs = topic.subscriptions();
        let confirmed = subs.iter().filter(|s| s.record().confirmed).count();
        let record = topic.record();
        let mut out = record.attributes.clone();
        out.insert("TopicArn".into(), topic.arn.clone());
        out.insert("Owner".into(), key.account.clone());
        out.entry("Policy".into())
            .or_insert_with(|| default_policy(&topic.arn, &key.account));
        out.entry("DisplayName".into()).or_default();
        out.insert("SubscriptionsConfirmed".into(), confirmed.to_string());
        out.insert("SubscriptionsPending".into(), (subs.len() - confirmed).to_string());
        out.insert("SubscriptionsDeleted".into(), record.deleted_subscriptions.to_string());
        let delivery = TopicDeliveryPolicy::parse(record.attributes.get("DeliveryPolicy").map_or("", String::as_str))
            .unwrap_or_default();
        out.insert("EffectiveDeliveryPolicy".into(), delivery.to_json());
        if topic.fifo {
            out.insert("FifoTopic".into(), "true".into());
            out.entry("ContentBasedDeduplication".into())
                .or_insert_with(|| "false".into());
            out.entry("FifoThroughputScope".into())
                .or_insert_with(|| "Topic".into());
        }
        Ok(out)
    }

    /// Sets one topic attribute.
    pub fn set_topic_attribute(&self, key: &TopicKey, name: &str, value: &str) -> Result<()> {
        let topic = self.lookup(key)?;
        if name == "FifoTopic" {
            return Err(invalid(
                "AttributeName: FifoTopic can only be set when the topic is created",
            ));
        }
        check_topic_attribute(name, value, topic.fifo)?;
        let _admin = self.admin();
        let mut record = topic.record();
        let mut updated = record.clone();
        if value.is_empty() && matches!(name, "Policy" | "DeliveryPolicy" | "KmsMasterKeyId") {
            updated.attributes.remove(name);
        } else {
            updated.attributes.insert(name.to_string(), value.to_string());
        }
        let mut batch = self.store.batch();
        self.persist_topic(key, &updated, &mut batch)?;
        self.store.commit(batch)?;
        *record = updated;
        Ok(())
    }

    /// Adds a statement allowing `accounts` the `actions` on the topic (AddPermission).
    pub fn add_permission(&self, key: &TopicKey, label: &str, accounts: &[String], actions: &[String]) -> Result<()> {
        let topic = self.lookup(key)?;
        let current = self.get_topic_attributes(key)?.remove("Policy").unwrap_or_default();
        let mut policy: serde_json::Value =
            serde_json::from_str(&current).unwrap_or_else(|_| serde_json::json!({"Version": "2008-10-17"}));
        let statements = policy
            .as_object_mut()
            .map(|o| o.entry("Statement").or_insert_with(|| serde_json::json!([])));
        let Some(serde_json::Value::Array(statements)) = statements else {
            return Err(invalid("Policy: the topic's policy has no statement list"));
        };
        if statements
            .iter()
            .any(|s| s.get("Sid").and_then(|v| v.as_str()) == Some(label))
        {
            return Err(invalid("Statement already exists"));
        }
        let principals: Vec<String> = accounts.iter().map(|a| format!("arn:aws:iam::{a}:root")).collect();
        let actions: Vec<String> = actions.iter().map(|a| format!("SNS:{a}")).collect();
        statements.push(serde_json::json!({
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": principals},
            "Action": actions,
            "Resource": topic.arn,
        }));
        self.set_topic_attribute(key, "Policy", &policy.to_string())
    }

    /// Removes the statement added with `label` (RemovePermission).
    pub fn remove_permission(&self, key: &TopicKey, label: &str) -> Result<()> {
        let current = self.get_topic_attributes(key)?.remove("Policy").unwrap_or_default();
        let mut policy: serde_json::Value = serde_json::from_str(&current).unwrap_or_default();
        let Some(serde_json::Value::Array(statements)) = policy.get_mut("Statement") else {
            return Err(invalid("Label"));
        };
        let before = statements.len();
        statements.retain(|s| s.get("Sid").and_then(|v| v.as_str()) != Some(label));
        if statements.len() == before {
            return Err(invalid("Label"));
        }
        self.set_topic_attribute(key, "Policy", &policy.to_string())
    }

    /// The topic's tags.
    pub fn list_tags(&self, key: &TopicKey) -> Result<BTreeMap<String, String>> {
        let topic = self.lookup(key).map_err(|_| not_found_resource())?;
        let tags = topic.record().tags.clone();
        Ok(tags)
    }

    /// Adds or replaces tags.
    pub fn tag(&self, key: &TopicKey, tags: &BTreeMap<String, String>) -> Result<()> {
        self.update_tags(key, |current| {
            current.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        })
    }

    /// Removes tags.
    pub fn untag(&self, key: &TopicKey, tag_keys: &[String]) -> Result<()> {
        self.update_tags(key, |current| {
            for k in tag_keys {
                current.remove(k);
            }
        })
    }

    fn update_tags(&self, key: &TopicKey, change: impl FnOnce(&mut BTreeMap<String, String>)) -> Result<()> {
        let topic = self.lookup(key).map_err(|_| not_found_resource())?;
        let _admin = self.admin();
        let mut record = topic.record();
        let mut updated = record.clone();
        change(&mut updated.tags);
        if updated.tags.len() > MAX_TAGS {
            return Err(TopicError::TagLimitExceeded(
                "Could not complete request: tag quota of per resource exceeded".into(),
            ));
        }
        let mut batch = self.store.batch();
        self.persist_topic(key, &updated, &mut batch)?;
        self.store.commit(batch)?;
        *record = updated;
        Ok(())
    }

    /// The topic's access policy (its `Policy` attribute, or AWS's default), for authorization;
    /// `None` when the topic does not exist.
    pub fn topic_policy(&self, key: &TopicKey) -> Option<String> {
        let topic = self.lookup(key).ok()?;
        let policy = topic.record().attributes.get("Policy").cloned();
        Some(policy.unwrap_or_else(|| default_policy(&topic.arn, &key.account)))
    }
}

/// Delivery-status logging attributes (`{Protocol}{Success|Failure}Feedback...`), kept as set.
fn is_feedback_attribute(name: &str) -> bool {
    const PROTOCOLS: [&str; 6] = ["HTTP", "Firehose", "Lambda", "SQS", "Application", "SMS"];
    const SUFFIXES: [&str; 3] = [
        "SuccessFeedbackRoleArn",
        "SuccessFeedbackSampleRate",
        "FailureFeedbackRoleArn",
    ];
    PROTOCOLS
        .iter()
        .any(|p| name.strip_prefix(p).is_some_and(|rest| SUFFIXES.contains(&rest)))
}

/// Validates one topic attribute value; `fifo` is the topic's type.
pub(super) fn check_topic_attribute(name: &str, value: &str, fifo: bool) -> Result<()> {
    let bad = |reason: &str| invalid(format!("Attributes Reason: {name}: {reason}"));
    match name {
        "DeliveryPolicy" => TopicDeliveryPolicy::parse(value).map(|_| ()),
        "DisplayName" if value.chars().count() > 100 => Err(bad("must be at most 100 characters")),
        "DisplayName" => Ok(()),
        "Policy" | "DataProtectionPolicy" => {
            if value.is_empty() {
                return Ok(());
            }
            match serde_json::from_str::<serde_json::Value>(value) {
                Ok(v) if v.is_object() => Ok(()),
                _ => Err(invalid(format!("{name}: Policy Error: malformed JSON"))),
            }
        }
        "TracingConfig" if matches!(value, "Active" | "PassThrough") => Ok(()),
        "TracingConfig" => Err(bad("must be Active or PassThrough")),
        "KmsMasterKeyId" => Ok(()),
        "SignatureVersion" if matches!(value, "1" | "2") => Ok(()),
        "SignatureVersion" => Err(invalid(format!(
            "SignatureVersion: Invalid value [{value}] for SignatureVersion. Valid values are 1, 2"
        ))),
        "ContentBasedDeduplication" if !fifo => Err(invalid(
            "Attributes Reason: ContentBasedDeduplication can only be set for FIFO topics",
        )),
        "ContentBasedDeduplication" if matches!(value, "true" | "false") => Ok(()),
        "ContentBasedDeduplication" => Err(bad("must be true or false")),
        "FifoThroughputScope" if !fifo => Err(invalid(
            "Attributes Reason: FifoThroughputScope can only be set for FIFO topics",
        )),
        "FifoThroughputScope" if matches!(value, "Topic" | "MessageGroup") => Ok(()),
        "FifoThroughputScope" => Err(bad("must be Topic or MessageGroup")),
        "ArchivePolicy" => Err(invalid(
            "Attributes Reason: ArchivePolicy: message archiving and replay are not supported by Sluice",
        )),
        n if is_feedback_attribute(n) => Ok(()),
        _ => Err(invalid("AttributeName")),
    }
}

/// The default access policy AWS gives a new topic.
fn default_policy(arn: &str, account: &str) -> String {
    serde_json::json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [
                "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                "SNS:ListSubscriptionsByTopic", "SNS:Publish"
            ],
            "Resource": arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": account}}
        }]
    })
    .to_string()
}

fn not_found_resource() -> TopicError {
    TopicError::ResourceNotFound("Resource does not exist".into())
}
