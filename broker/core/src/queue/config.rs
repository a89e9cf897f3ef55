//! Queue names and settable queue attributes: defaults, ranges and validation.
//!
//! Ranges follow the SQS API reference for `SetQueueAttributes`; read-only attributes
//! (counts, timestamps, `QueueArn`) are computed by the queue, never stored here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::{QueueError, Result};

/// Attributes GetQueueAttributes knows, in the order AWS lists them for `All`.
pub const ALL_ATTRIBUTE_NAMES: &[&str] = &[
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "VisibilityTimeout",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "Policy",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

const READ_ONLY: &[&str] = &[
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
];

/// The dead-letter settings of a source queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedrivePolicy {
    /// ARN of the dead-letter queue.
    pub dead_letter_target_arn: String,
    /// Receives after which a message moves to the dead-letter queue.
    pub max_receive_count: u32,
}

/// Which source queues may use a queue as their dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RedriveAllow {
    /// Any queue (the default).
    AllowAll,
    /// No queue.
    DenyAll,
    /// Only the listed source queue ARNs.
    ByQueue(Vec<String>),
}

/// The settable attributes of a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueConfig {
    /// Seconds a new message stays invisible (0-900).
    pub delay_seconds: u32,
    /// Largest accepted message in bytes (1,024-1,048,576).
    pub maximum_message_size: u32,
    /// Seconds a message is kept (60-1,209,600).
    pub message_retention_period: u32,
    /// Default long-poll wait (0-20).
    pub receive_message_wait_time_seconds: u32,
    /// Default visibility timeout (0-43,200).
    pub visibility_timeout: u32,
    /// Dead-letter settings, as parsed.
    pub redrive_policy: Option<RedrivePolicy>,
    /// The RedriveAllowPolicy JSON as given, and its parsed form.
    pub redrive_allow_policy: Option<(String, RedriveAllow)>,
    /// The access policy document.
    pub policy: Option<String>,
    /// KMS key id (kept and reported; Sluice encrypts at rest only through the disk).
    pub kms_master_key_id: Option<String>,
    /// KMS data key reuse period (60-86,400).
    pub kms_data_key_reuse_period_seconds: u32,
    /// SSE-SQS flag (kept and reported).
    pub sqs_managed_sse_enabled: bool,
    /// A FIFO queue (fixed at creation).
    #[serde(default)]
    pub fifo_queue: bool,
    /// FIFO: deduplicate by the SHA-256 of the body when no deduplication id is given.
    #[serde(default)]
    pub content_based_deduplication: bool,
    /// FIFO: whether deduplication ids are unique per queue or per message group.
    #[serde(default)]
    pub deduplication_scope: DeduplicationScope,
    /// FIFO: the throughput quota's unit (kept, reported and validated; Sluice does not throttle).
    #[serde(default)]
    pub fifo_throughput_limit: FifoThroughputLimit,
}

/// FIFO `DeduplicationScope`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeduplicationScope {
    /// One deduplication window for the whole queue (the default).
    #[default]
    Queue,
    /// A deduplication window per message group (high-throughput FIFO).
    MessageGroup,
}

/// FIFO `FifoThroughputLimit`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FifoThroughputLimit {
    /// The quota applies to the whole queue (the default).
    #[default]
    PerQueue,
    /// The quota applies to each message group (high-throughput FIFO).
    PerMessageGroupId,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            delay_seconds: 0,
            maximum_message_size: 1_048_576,
            message_retention_period: 345_600,
            receive_message_wait_time_seconds: 0,
            visibility_timeout: 30,
            redrive_policy: None,
            redrive_allow_policy: None,
            policy: None,
            kms_master_key_id: None,
            kms_data_key_reuse_period_seconds: 300,
            sqs_managed_sse_enabled: true,
            fifo_queue: false,
            content_based_deduplication: false,
            deduplication_scope: DeduplicationScope::Queue,
            fifo_throughput_limit: FifoThroughputLimit::PerQueue,
        }
    }
}

/// Attributes only FIFO queues have; a standard queue answers `InvalidAttributeName` for them.
const FIFO_ONLY: &[&str] = &[
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// Checks a queue name against the queue type: 1-80 characters of `[A-Za-z0-9_-]`, plus the
/// `.fifo` suffix that FIFO queues must and standard queues must not have.
pub fn validate_queue_name(name: &str, fifo: bool) -> Result<()> {
    let stem = if fifo { name.strip_suffix(".fifo") } else { Some(name) };
    let ok = stem.is_some_and(|stem| {
        !stem.is_empty() && name.len() <= 80 && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    });
    if ok {
        return Ok(());
    }
    if fifo {
        return Err(QueueError::InvalidParameterValue(
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.".into(),
        ));
    }
    Err(QueueError::InvalidParameterValue(
        "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length".into(),
    ))
}

/// Whether CreateQueue asks for a FIFO queue (`FifoQueue=true`).
pub fn requests_fifo(attributes: &BTreeMap<String, String>) -> Result<bool> {
    match attributes.get("FifoQueue") {
        Some(value) => parse_bool("FifoQueue", value),
        None => Ok(false),
    }
}

fn parse_range(name: &str, value: &str, min: u32, max: u32) -> Result<u32> {
    match value.trim().parse::<u64>() {
        Ok(n) if n >= min as u64 && n <= max as u64 => Ok(n as u32),
        _ => Err(invalid_value(name, value)),
    }
}

fn invalid_value(name: &str, value: &str) -> QueueError {
    QueueError::InvalidAttributeValue(format!(
        "Invalid value for the parameter {name}. Reason: {value} is not valid."
    ))
}

fn invalid_value_reason(name: &str, reason: &str) -> QueueError {
    QueueError::InvalidAttributeValue(format!("Invalid value for the parameter {name}. Reason: {reason}"))
}

fn parse_bool(name: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid_value(name, value)),
    }
}

/// Parses a RedrivePolicy JSON document (`maxReceiveCount` as number or string, 1-1000).
pub fn parse_redrive_policy(value: &str) -> Result<RedrivePolicy> {
    let reason = |r: &str| invalid_value_reason("RedrivePolicy", r);
    let json: serde_json::Value =
        serde_json::from_str(value).map_err(|_| reason("Redrive policy is not a valid JSON map."))?;
    let obj = json
        .as_object()
        .ok_or_else(|| reason("Redrive policy is not a valid JSON map."))?;
    for key in obj.keys() {
        if key != "deadLetterTargetArn" && key != "maxReceiveCount" {
            return Err(reason(&format!(
                "Only following attributes are supported: [deadLetterTargetArn, maxReceiveCount], found {key}."
            )));
        }
    }
    let arn = obj
        .get("deadLetterTargetArn")
        .and_then(|v| v.as_str())
        .ok_or_else(|| reason("Redrive policy does not contain mandatory attribute: deadLetterTargetArn."))?;
    let count = match obj.get("maxReceiveCount") {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.trim().parse::<u64>().ok(),
        None => {
            return Err(reason(
                "Redrive policy does not contain mandatory attribute: maxReceiveCount.",
            ))
        }
        _ => None,
    };
    let count = match count {
        Some(n) if (1..=1000).contains(&n) => n as u32,
        _ => {
            return Err(reason(
                "Value for maxReceiveCount must be an integer between 1 and 1000.",
            ))
        }
    };
    if super::QueueKey::from_arn(arn).is_none() {
        return Err(reason(&format!("Invalid value for deadLetterTargetArn: {arn}.")));
    }
    Ok(RedrivePolicy {
        dead_letter_target_arn: arn.to_string(),
        max_receive_count: count,
    })
}

/// Parses a RedriveAllowPolicy JSON document.
pub fn parse_redrive_allow_policy(value: &str) -> Result<RedriveAllow> {
    let reason = |r: &str| invalid_value_reason("RedriveAllowPolicy", r);
    let json: serde_json::Value =
        serde_json::from_str(value).map_err(|_| reason("Redrive allow policy is not a valid JSON map."))?;
    let obj = json
        .as_object()
        .ok_or_else(|| reason("Redrive allow policy is not a valid JSON map."))?;
    let permission = obj
        .get("redrivePermission")
        .and_then(|v| v.as_str())
        .ok_or_else(|| reason("Redrive allow policy does not contain mandatory attribute: redrivePermission."))?;
    let sources: Option<Vec<String>> = match obj.get("sourceQueueArns") {
        None => None,
        Some(serde_json::Value::Array(items)) => {
            let mut arns = Vec::with_capacity(items.len());
            for item in items {
                let arn = item
                    .as_str()
                    .ok_or_else(|| reason("sourceQueueArns must be a list of queue ARNs."))?;
                arns.push(arn.to_string());
            }
            Some(arns)
        }
        Some(_) => return Err(reason("sourceQueueArns must be a list of queue ARNs.")),
    };
    match (permission, sources) {
        ("allowAll", None) => Ok(RedriveAllow::AllowAll),
        ("denyAll", None) => Ok(RedriveAllow::DenyAll),
        ("byQueue", Some(arns)) if !arns.is_empty() && arns.len() <= 10 => Ok(RedriveAllow::ByQueue(arns)),
        ("byQueue", _) => Err(reason(
            "sourceQueueArns must list 1 to 10 queue ARNs when redrivePermission is byQueue.",
        )),
        ("allowAll" | "denyAll", Some(_)) => Err(reason(
            "sourceQueueArns may only be given when redrivePermission is byQueue.",
        )),
        (other, _) => Err(reason(&format!(
            "Invalid redrivePermission {other}: must be allowAll, denyAll or byQueue."
        ))),
    }
}

impl QueueConfig {
    /// Applies `attributes` to a copy of this config, validating every name and value.
    ///
    /// Relationship checks that need other queues (the dead-letter target) are done by the caller.
    pub fn with_attributes(&self, attributes: &BTreeMap<String, String>) -> Result<QueueConfig> {
        let mut next = self.clone();
        for (name, value) in attributes {
            next.apply(name, value)?;
        }
        next.check_fifo_combination()?;
        Ok(next)
    }

    /// The config of a new queue: defaults, the queue type, then `attributes`.
    pub fn for_new_queue(attributes: &BTreeMap<String, String>) -> Result<QueueConfig> {
        let fifo = requests_fifo(attributes)?;
        let base = QueueConfig {
            fifo_queue: fifo,
            ..QueueConfig::default()
        };
        let rest: BTreeMap<String, String> = attributes
            .iter()
            .filter(|(name, _)| name.as_str() != "FifoQueue")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        base.with_attributes(&rest)
    }

    /// High-throughput FIFO needs both settings: a per-group quota only makes sense when
    /// deduplication is per group too (AWS rejects the other combination).
    fn check_fifo_combination(&self) -> Result<()> {
        if self.fifo_throughput_limit == FifoThroughputLimit::PerMessageGroupId
            && self.deduplication_scope == DeduplicationScope::Queue
        {
            return Err(invalid_value_reason(
                "FifoThroughputLimit",
                "You can specify perMessageGroupId only when DeduplicationScope is messageGroup.",
            ));
        }
        Ok(())
    }

    fn apply(&mut self, name: &str, value: &str) -> Result<()> {
        match name {
            "DelaySeconds" => self.delay_seconds = parse_range(name, value, 0, 900)?,
            "MaximumMessageSize" => self.maximum_message_size = parse_range(name, value, 1024, 1_048_576)?,
            "MessageRetentionPeriod" => self.message_retention_period = parse_range(name, value, 60, 1_209_600)?,
            "ReceiveMessageWaitTimeSeconds" => {
                self.receive_message_wait_time_seconds = parse_range(name, value, 0, 20)?
            }
            "VisibilityTimeout" => self.visibility_timeout = parse_range(name, value, 0, 43_200)?,
            "KmsDataKeyReusePeriodSeconds" => {
                self.kms_data_key_reuse_period_seconds = parse_range(name, value, 60, 86_400)?
            }
            "SqsManagedSseEnabled" => self.sqs_managed_sse_enabled = parse_bool(name, value)?,
            "KmsMasterKeyId" => {
                self.kms_master_key_id = if value.is_empty() {
                    None
                } else {
                    Some(value.to_string())
                };
                if self.kms_master_key_id.is_some() {
                    self.sqs_managed_sse_enabled = false;
                }
            }
            "Policy" => {
                if value.is_empty() {
                    self.policy = None;
                } else {
                    let parsed: serde_json::Value = serde_json::from_str(value)
                        .map_err(|_| invalid_value_reason(name, "Policy is not a valid JSON document."))?;
                    if !parsed.is_object() {
                        return Err(invalid_value_reason(name, "Policy is not a valid JSON document."));
                    }
                    self.policy = Some(value.to_string());
                }
            }
            "RedrivePolicy" => {
                self.redrive_policy = if value.is_empty() {
                    None
                } else {
                    Some(parse_redrive_policy(value)?)
                };
            }
            "RedriveAllowPolicy" => {
                self.redrive_allow_policy = if value.is_empty() {
                    None
                } else {
                    Some((value.to_string(), parse_redrive_allow_policy(value)?))
                };
            }
            "FifoQueue" => {
                // Fixed at creation: `for_new_queue` reads it; SetQueueAttributes cannot change it.
                return Err(QueueError::InvalidAttributeName(format!("Unknown Attribute {name}.")));
            }
            _ if FIFO_ONLY.contains(&name) && !self.fifo_queue => {
                return Err(QueueError::InvalidAttributeName(format!("Unknown Attribute {name}.")));
            }
            "ContentBasedDeduplication" => self.content_based_deduplication = parse_bool(name, value)?,
            "DeduplicationScope" => {
                self.deduplication_scope = match value {
                    "queue" => DeduplicationScope::Queue,
                    "messageGroup" => DeduplicationScope::MessageGroup,
                    _ => return Err(invalid_value(name, value)),
                }
            }
            "FifoThroughputLimit" => {
                self.fifo_throughput_limit = match value {
                    "perQueue" => FifoThroughputLimit::PerQueue,
                    "perMessageGroupId" => FifoThroughputLimit::PerMessageGroupId,
                    _ => return Err(invalid_value(name, value)),
                }
            }
            _ if READ_ONLY.contains(&name) => {
                return Err(QueueError::InvalidAttributeName(format!("Unknown Attribute {name}.")));
            }
            _ => return Err(QueueError::InvalidAttributeName(format!("Unknown Attribute {name}."))),
        }
        Ok(())
    }

    /// The stored value of a settable attribute, `None` when unset.
    pub fn get(&self, name: &str) -> Option<String> {
        match name {
            "DelaySeconds" => Some(self.delay_seconds.to_string()),
            "MaximumMessageSize" => Some(self.maximum_message_size.to_string()),
            "MessageRetentionPeriod" => Some(self.message_retention_period.to_string()),
            "ReceiveMessageWaitTimeSeconds" => Some(self.receive_message_wait_time_seconds.to_string()),
            "VisibilityTimeout" => Some(self.visibility_timeout.to_string()),
            "Policy" => self.policy.clone(),
            "RedrivePolicy" => self.redrive_policy.as_ref().map(|p| {
                serde_json::json!({"deadLetterTargetArn": p.dead_letter_target_arn, "maxReceiveCount": p.max_receive_count})
                    .to_string()
            }),
            "RedriveAllowPolicy" => self.redrive_allow_policy.as_ref().map(|(raw, _)| raw.clone()),
            "KmsMasterKeyId" => self.kms_master_key_id.clone(),
            "KmsDataKeyReusePeriodSeconds" => {
                self.kms_master_key_id.as_ref().map(|_| self.kms_data_key_reuse_period_seconds.to_string())
            }
            "SqsManagedSseEnabled" => Some(self.sqs_managed_sse_enabled.to_string()),
            "FifoQueue" => self.fifo_queue.then(|| "true".to_string()),
            "ContentBasedDeduplication" => self.fifo_queue.then(|| self.content_based_deduplication.to_string()),
            "DeduplicationScope" => self.fifo_queue.then(|| {
                match self.deduplication_scope {
                    DeduplicationScope::Queue => "queue",
                    DeduplicationScope::MessageGroup => "messageGroup",
                }
                .to_string()
            }),
            "FifoThroughputLimit" => self.fifo_queue.then(|| {
                match self.fifo_throughput_limit {
                    FifoThroughputLimit::PerQueue => "perQueue",
                    FifoThroughputLimit::PerMessageGroupId => "perMessageGroupId",
                }
                .to_string()
            }),
            _ => None,
        }
    }

    /// For CreateQueue on an existing queue: the first requested attribute whose value differs.
    pub fn first_difference(&self, attributes: &BTreeMap<String, String>) -> Result<Option<String>> {
        let wanted = QueueConfig::for_new_queue(attributes)?;
        for name in attributes.keys() {
            if wanted.get(name) != self.get(name) {
                return Ok(Some(name.clone()));
            }
        }
        Ok(None)
    }
}

/// Checks GetQueueAttributes names; `All` expands to every attribute.
pub fn resolve_attribute_names(names: &[String]) -> Result<Vec<&'static str>> {
    let mut out: Vec<&'static str> = Vec::new();
    for name in names {
        if name == "All" {
            return Ok(ALL_ATTRIBUTE_NAMES.to_vec());
        }
        match ALL_ATTRIBUTE_NAMES.iter().find(|n| **n == name.as_str()) {
            Some(known) => {
                if !out.contains(known) {
                    out.push(known)
                }
            }
            None => return Err(QueueError::InvalidAttributeName(format!("Unknown Attribute {name}."))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn ranges_are_enforced() {
        let base = QueueConfig::default();
        assert!(base.with_attributes(&attrs(&[("VisibilityTimeout", "43200")])).is_ok());
        for (name, bad) in [
            ("VisibilityTimeout", "43201"),
            ("DelaySeconds", "901"),
            ("MessageRetentionPeriod", "59"),
            ("MaximumMessageSize", "1023"),
            ("MaximumMessageSize", "1048577"),
            ("ReceiveMessageWaitTimeSeconds", "21"),
            ("DelaySeconds", "abc"),
        ] {
            let err = base.with_attributes(&attrs(&[(name, bad)])).expect_err(name);
            assert!(
                matches!(err, QueueError::InvalidAttributeValue(_)),
                "{name}={bad}: {err:?}"
            );
        }
    }

    #[test]
    fn unknown_and_read_only_names_are_rejected() {
        let base = QueueConfig::default();
        for name in ["Bogus", "QueueArn", "ApproximateNumberOfMessages"] {
            let err = base.with_attributes(&attrs(&[(name, "1")])).expect_err(name);
            assert!(matches!(err, QueueError::InvalidAttributeName(_)));
        }
        assert!(resolve_attribute_names(&["Nope".into()]).is_err());
        assert_eq!(
            resolve_attribute_names(&["All".into()]).expect("all").len(),
            ALL_ATTRIBUTE_NAMES.len()
        );
    }

    #[test]
    fn redrive_policy_accepts_string_or_number_counts() {
        let arn = "arn:aws:sqs:us-east-1:000000000000:dlq";
        let p =
            parse_redrive_policy(&format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"3"}}"#)).expect("ok");
        assert_eq!(p.max_receive_count, 3);
        let p = parse_redrive_policy(&format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":5}}"#)).expect("ok");
        assert_eq!(p.max_receive_count, 5);
        assert!(parse_redrive_policy(&format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":0}}"#)).is_err());
        assert!(parse_redrive_policy(r#"{"maxReceiveCount":5}"#).is_err());
        assert!(parse_redrive_policy("not json").is_err());
    }

    #[test]
    fn create_queue_comparison_reports_the_differing_attribute() {
        let cfg = QueueConfig::default()
            .with_attributes(&attrs(&[("VisibilityTimeout", "10")]))
            .expect("ok");
        assert_eq!(
            cfg.first_difference(&attrs(&[("VisibilityTimeout", "10")]))
                .expect("ok"),
            None
        );
        assert_eq!(
            cfg.first_difference(&attrs(&[("VisibilityTimeout", "11")]))
                .expect("ok"),
            Some("VisibilityTimeout".to_string())
        );
    }

    #[test]
    fn queue_names() {
        assert!(validate_queue_name("orders-1_a", false).is_ok());
        assert!(validate_queue_name("", false).is_err());
        assert!(validate_queue_name(&"a".repeat(81), false).is_err());
        assert!(validate_queue_name("bad name", false).is_err());
        assert!(validate_queue_name("q.fifo", false).is_err());
        assert!(validate_queue_name("q.fifo", true).is_ok());
        assert!(validate_queue_name(&format!("{}.fifo", "a".repeat(75)), true).is_ok());
        assert!(validate_queue_name(&format!("{}.fifo", "a".repeat(76)), true).is_err());
        assert!(validate_queue_name("q", true).is_err());
        assert!(validate_queue_name(".fifo", true).is_err());
    }

    #[test]
    fn fifo_attributes_only_on_fifo_queues_and_in_valid_combinations() {
        let standard = QueueConfig::for_new_queue(&attrs(&[])).expect("standard");
        assert!(!standard.fifo_queue);
        assert_eq!(standard.get("FifoQueue"), None);
        let err = QueueConfig::for_new_queue(&attrs(&[("ContentBasedDeduplication", "true")])).expect_err("std");
        assert!(matches!(err, QueueError::InvalidAttributeName(_)));

        let fifo = QueueConfig::for_new_queue(&attrs(&[
            ("FifoQueue", "true"),
            ("ContentBasedDeduplication", "true"),
            ("DeduplicationScope", "messageGroup"),
            ("FifoThroughputLimit", "perMessageGroupId"),
        ]))
        .expect("high throughput");
        assert!(fifo.fifo_queue && fifo.content_based_deduplication);
        assert_eq!(fifo.get("DeduplicationScope").as_deref(), Some("messageGroup"));
        assert_eq!(fifo.get("FifoThroughputLimit").as_deref(), Some("perMessageGroupId"));

        let err = QueueConfig::for_new_queue(&attrs(&[
            ("FifoQueue", "true"),
            ("FifoThroughputLimit", "perMessageGroupId"),
        ]))
        .expect_err("needs messageGroup scope");
        assert!(matches!(err, QueueError::InvalidAttributeValue(_)));
        assert!(QueueConfig::for_new_queue(&attrs(&[("FifoQueue", "true"), ("DeduplicationScope", "x")])).is_err());
        assert!(QueueConfig::for_new_queue(&attrs(&[("FifoQueue", "yes")])).is_err());
        // The type cannot change afterwards.
        assert!(matches!(
            fifo.with_attributes(&attrs(&[("FifoQueue", "true")])),
            Err(QueueError::InvalidAttributeName(_))
        ));
    }
}
