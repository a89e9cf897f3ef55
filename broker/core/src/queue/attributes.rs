//! What is set on a queue rather than sent to it: Get/SetQueueAttributes, the policy (also by
//! ARN, for SNS subscriptions), tags, and Add/RemovePermission.
//!
//! # Invariants
//! - Every change runs under the admin lock and commits the new queue record (one batch)
//!   before the in-memory copy changes.
//! - A redrive policy is checked against the registry before it is stored; a queue has at most
//!   `MAX_TAGS` tags.

use std::collections::BTreeMap;

use super::error::{QueueError, Result};
use super::{config, validate_tags, Queue, QueueKey, QueueRecord, Queues, MAX_TAGS};

impl Queues {
    /// Attribute values for GetQueueAttributes (names already include expansions of `All`).
    pub fn get_attributes(&self, key: &QueueKey, names: &[String]) -> Result<Vec<(String, String)>> {
        let resolved = config::resolve_attribute_names(names)?;
        let queue = self.lookup(key)?;
        let now = self.clock.now_ms();
        let counts = queue.index().counts(now);
        let meta = queue.meta();
        let mut out = Vec::with_capacity(resolved.len());
        for name in resolved {
            let value = match name {
                "QueueArn" => Some(queue.key.arn()),
                "ApproximateNumberOfMessages" => Some(counts.visible.to_string()),
                "ApproximateNumberOfMessagesNotVisible" => Some(counts.in_flight.to_string()),
                "ApproximateNumberOfMessagesDelayed" => Some(counts.delayed.to_string()),
                "CreatedTimestamp" => Some((meta.record.created_ms / 1000).to_string()),
                "LastModifiedTimestamp" => Some((meta.record.modified_ms / 1000).to_string()),
                other => meta.record.config.get(other),
            };
            if let Some(value) = value {
                out.push((name.to_string(), value));
            }
        }
        Ok(out)
    }

    /// The queue's `Policy` attribute, if set: read on every authorized call, so without the
    /// message counts GetQueueAttributes computes.
    pub fn policy(&self, key: &QueueKey) -> Option<String> {
        let queue = self.lookup(key).ok()?;
        let meta = queue.meta();
        meta.record.config.get("Policy")
    }

    /// The `Policy` attribute of the queue an ARN names, if both exist: what authorization
    /// reads for SQS calls and for SNS deliveries to another account's queue.
    pub fn policy_by_arn(&self, arn: &str) -> Option<String> {
        self.policy(&QueueKey::from_arn(arn)?)
    }

    /// SetQueueAttributes.
    pub fn set_attributes(&self, key: &QueueKey, attributes: &BTreeMap<String, String>) -> Result<()> {
        let _admin = self.admin();
        let queue = self.lookup(key)?;
        let current = queue.config();
        let next = current.with_attributes(attributes)?;
        self.check_redrive(key, &next)?;
        self.update_record(&queue, |record| record.config = next)?;
        self.sweeper.notify_one();
        queue.notify.notify_waiters();
        Ok(())
    }

    fn update_record(&self, queue: &Queue, change: impl FnOnce(&mut QueueRecord)) -> Result<()> {
        let mut meta = queue.meta();
        let mut record = meta.record.clone();
        change(&mut record);
        record.modified_ms = self.clock.now_ms();
        let mut batch = self.store.batch();
        self.persist(&queue.key, &record, &mut batch)?;
        self.store.commit(batch)?;
        meta.record = record;
        Ok(())
    }

    /// Adds or replaces tags.
    pub fn tag(&self, key: &QueueKey, tags: &BTreeMap<String, String>) -> Result<()> {
        validate_tags(tags)?;
        let _admin = self.admin();
        let queue = self.lookup(key)?;
        let mut merged = queue.meta().record.tags.clone();
        merged.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        if merged.len() > MAX_TAGS {
            return Err(QueueError::InvalidParameterValue(format!(
                "Too many tags: a queue can have at most {MAX_TAGS}."
            )));
        }
        let mut meta = queue.meta();
        let mut record = meta.record.clone();
        record.tags = merged;
        let mut batch = self.store.batch();
        self.persist(&queue.key, &record, &mut batch)?;
        self.store.commit(batch)?;
        meta.record = record;
        Ok(())
    }

    /// Removes tags by key.
    pub fn untag(&self, key: &QueueKey, tag_keys: &[String]) -> Result<()> {
        let _admin = self.admin();
        let queue = self.lookup(key)?;
        let mut meta = queue.meta();
        let mut record = meta.record.clone();
        for k in tag_keys {
            record.tags.remove(k);
        }
        let mut batch = self.store.batch();
        self.persist(&queue.key, &record, &mut batch)?;
        self.store.commit(batch)?;
        meta.record = record;
        Ok(())
    }

    /// The queue's tags.
    pub fn list_tags(&self, key: &QueueKey) -> Result<BTreeMap<String, String>> {
        Ok(self.lookup(key)?.meta().record.tags.clone())
    }

    /// AddPermission: adds a statement labelled `label` to the queue's policy.
    pub fn add_permission(
        &self,
        key: &QueueKey,
        label: &str,
        account_ids: &[String],
        actions: &[String],
    ) -> Result<()> {
        validate_label(label)?;
        if account_ids.is_empty() {
            return Err(QueueError::InvalidParameterValue(
                "The request must contain the parameter AWSAccountIds.".into(),
            ));
        }
        if actions.is_empty() {
            return Err(QueueError::InvalidParameterValue(
                "The request must contain the parameter Actions.".into(),
            ));
        }
        for action in actions {
            if !PERMISSION_ACTIONS.contains(&action.as_str()) && action != "*" {
                return Err(QueueError::InvalidParameterValue(format!(
                    "Value SQS:{action} for parameter ActionName is invalid. Reason: Please refer to the appropriate WSDL for a list of valid actions."
                )));
            }
        }
        let _admin = self.admin();
        let queue = self.lookup(key)?;
        let mut policy = policy_document(&queue);
        let statements = policy_statements(&mut policy);
        if statements
            .iter()
            .any(|s| s.get("Sid").and_then(|v| v.as_str()) == Some(label))
        {
            return Err(QueueError::InvalidParameterValue(format!(
                "Value {label} for parameter Label is invalid. Reason: Already exists."
            )));
        }
        let principals: Vec<String> = account_ids.iter().map(|a| format!("arn:aws:iam::{a}:root")).collect();
        let actions: Vec<String> = actions.iter().map(|a| format!("SQS:{a}")).collect();
        statements.push(serde_json::json!({
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": if principals.len() == 1 { serde_json::json!(principals[0]) } else { serde_json::json!(principals) }},
            "Action": if actions.len() == 1 { serde_json::json!(actions[0]) } else { serde_json::json!(actions) },
            "Resource": queue.key.arn(),
        }));
        let text = policy.to_string();
        self.update_record(&queue, |record| record.config.policy = Some(text))
    }

    /// RemovePermission: drops the statement labelled `label`.
    pub fn remove_permission(&self, key: &QueueKey, label: &str) -> Result<()> {
        let _admin = self.admin();
        let queue = self.lookup(key)?;
        let mut policy = policy_document(&queue);
        let statements = policy_statements(&mut policy);
        let before = statements.len();
        statements.retain(|s| s.get("Sid").and_then(|v| v.as_str()) != Some(label));
        if statements.len() == before {
            return Err(QueueError::InvalidParameterValue(format!(
                "Value {label} for parameter Label is invalid. Reason: can't find label on existing policy."
            )));
        }
        let text = if statements.is_empty() {
            None
        } else {
            Some(policy.to_string())
        };
        self.update_record(&queue, |record| record.config.policy = text)
    }
}

/// Actions AddPermission accepts (the SQS API reference's list of shareable actions).
const PERMISSION_ACTIONS: &[&str] = &[
    "SendMessage",
    "ReceiveMessage",
    "DeleteMessage",
    "ChangeMessageVisibility",
    "GetQueueAttributes",
    "GetQueueUrl",
    "ListDeadLetterSourceQueues",
    "PurgeQueue",
    "ListQueueTags",
];

fn validate_label(label: &str) -> Result<()> {
    let ok = !label.is_empty()
        && label.len() <= 80
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(QueueError::InvalidParameterValue(format!(
            "Value {label} for parameter Label is invalid. Reason: Must be 1 to 80 alphanumeric characters, hyphens or underscores."
        )))
    }
}

fn policy_document(queue: &Queue) -> serde_json::Value {
    let existing = queue
        .config()
        .policy
        .and_then(|p| serde_json::from_str::<serde_json::Value>(&p).ok());
    match existing {
        Some(doc) if doc.is_object() => doc,
        _ => serde_json::json!({
            "Version": "2012-10-17",
            "Id": format!("{}/SQSDefaultPolicy", queue.key.arn()),
            "Statement": [],
        }),
    }
}

fn policy_statements(policy: &mut serde_json::Value) -> &mut Vec<serde_json::Value> {
    let obj = match policy {
        serde_json::Value::Object(obj) => obj,
        other => {
            *other = serde_json::json!({});
            match other {
                serde_json::Value::Object(obj) => obj,
                _ => unreachable!("just assigned an object"),
            }
        }
    };
    let entry = obj.entry("Statement").or_insert_with(|| serde_json::json!([]));
    if !entry.is_array() {
        let single = entry.take();
        *entry = serde_json::Value::Array(if single.is_null() { vec![] } else { vec![single] });
    }
    match entry {
        serde_json::Value::Array(items) => items,
        _ => unreachable!("normalised to an array above"),
    }
}
