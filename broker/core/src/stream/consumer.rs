//! Registered stream consumers (enhanced fan-out): Register/Describe/List/DeregisterStreamConsumer.
//!
//! Consumers are part of their stream's persisted record, so they are stored, and deleted, with
//! the stream in the same commit. Status changes (CREATING → ACTIVE, DELETING → gone) are
//! deadlines against the one clock, like the stream's own.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Result, StreamError, StreamKey, Streams};

/// Consumers allowed per stream (AWS's quota for enhanced fan-out consumers).
pub const MAX_CONSUMERS_PER_STREAM: usize = 20;

/// A consumer's status as Kinesis reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerStatus {
    /// Just registered.
    Creating,
    /// Can subscribe.
    Active,
    /// Being deregistered.
    Deleting,
}

impl ConsumerStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsumerStatus::Creating => "CREATING",
            ConsumerStatus::Active => "ACTIVE",
            ConsumerStatus::Deleting => "DELETING",
        }
    }
}

/// Persisted per consumer, inside its stream's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ConsumerRecord {
    pub(super) name: String,
    pub(super) created_ms: u64,
    /// When CREATING becomes ACTIVE.
    pub(super) active_at_ms: u64,
    /// Set by DeregisterStreamConsumer: when the consumer is gone.
    pub(super) gone_at_ms: Option<u64>,
    pub(super) tags: BTreeMap<String, String>,
    /// PutResourcePolicy on the consumer's ARN.
    #[serde(default)]
    pub(super) policy: Option<String>,
}

impl ConsumerRecord {
    /// Status at `now`; `None` once deregistration finished.
    pub(super) fn status(&self, now: u64) -> Option<ConsumerStatus> {
        match self.gone_at_ms {
            Some(gone) if now >= gone => None,
            Some(_) => Some(ConsumerStatus::Deleting),
            None if now < self.active_at_ms => Some(ConsumerStatus::Creating),
            None => Some(ConsumerStatus::Active),
        }
    }

    /// The creation second that makes the consumer's ARN unique across re-registrations.
    pub(super) fn created_secs(&self) -> u64 {
        self.created_ms / 1000
    }
}

/// A consumer as Describe/List report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerInfo {
    /// Name.
    pub name: String,
    /// ARN: `{stream ARN}/consumer/{name}:{creation epoch seconds}`.
    pub arn: String,
    /// Status now.
    pub status: ConsumerStatus,
    /// Registration time, epoch ms.
    pub created_ms: u64,
    /// The stream's ARN.
    pub stream_arn: String,
}

/// Which consumer a request names: its name, and for a consumer ARN the creation second the
/// ARN carries (an ARN of an earlier consumer with the same name names nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerName {
    /// Consumer name.
    pub name: String,
    /// Creation second from a consumer ARN.
    pub created_secs: Option<u64>,
}

impl ConsumerName {
    /// Whether `c` is the consumer this names (by name, and by creation second for an ARN).
    fn names(&self, c: &ConsumerRecord) -> bool {
        c.name == self.name && self.created_secs.is_none_or(|s| s == c.created_secs())
    }
}

/// The ARN of consumer `name` created at `created_secs` on `stream`.
pub fn consumer_arn(stream: &StreamKey, name: &str, created_secs: u64) -> String {
    format!("{}/consumer/{name}:{created_secs}", stream.arn())
}

fn info(stream: &StreamKey, c: &ConsumerRecord, status: ConsumerStatus) -> ConsumerInfo {
    ConsumerInfo {
        name: c.name.clone(),
        arn: consumer_arn(stream, &c.name, c.created_secs()),
        status,
        created_ms: c.created_ms,
        stream_arn: stream.arn(),
    }
}

pub(super) fn consumer_not_found(stream: &StreamKey, name: &str) -> StreamError {
    StreamError::NotFound(format!(
        "Consumer {name}, account {}, stream {} not found.",
        stream.account,
        stream.arn()
    ))
}

impl Streams {
    /// RegisterStreamConsumer: CREATING for the transition time, then ACTIVE.
    pub fn register_consumer(&self, key: &StreamKey, name: &str, tags: &[(String, String)]) -> Result<ConsumerInfo> {
        self.update(key, |stream, record, now| {
            if record.status(now) == super::StreamStatus::Creating {
                return Err(StreamError::InUse(format!(
                    "Stream {} under account {} not ACTIVE, instead in state CREATING",
                    key.name, key.account
                )));
            }
            record.consumers.retain(|c| c.status(now).is_some());
            if record.consumers.iter().any(|c| c.name == name) {
                return Err(StreamError::InUse(format!(
                    "Consumer {name} under stream {} already exists for account {}.",
                    stream.key.name, stream.key.account
                )));
            }
            if record.consumers.len() >= MAX_CONSUMERS_PER_STREAM {
                return Err(StreamError::LimitExceeded(format!(
                    "Consumer limit of {MAX_CONSUMERS_PER_STREAM} exceeded for stream {} under account {}.",
                    stream.key.name, stream.key.account
                )));
            }
            let consumer = ConsumerRecord {
                name: name.to_string(),
                created_ms: now,
                active_at_ms: now + self.transition_ms(),
                gone_at_ms: None,
                tags: tags.iter().cloned().collect(),
                policy: None,
            };
            let status = consumer.status(now).unwrap_or(ConsumerStatus::Creating);
            let out = info(key, &consumer, status);
            record.consumers.push(consumer);
            Ok(out)
        })
    }

    /// DescribeStreamConsumer.
    pub fn describe_consumer(&self, key: &StreamKey, consumer: &ConsumerName) -> Result<ConsumerInfo> {
        let now = self.now();
        self.read_consumer(key, consumer, |c| {
            info(key, c, c.status(now).unwrap_or(ConsumerStatus::Deleting))
        })
    }

    /// ListStreamConsumers: every consumer of the stream, by name.
    pub fn list_consumers(&self, key: &StreamKey) -> Result<Vec<ConsumerInfo>> {
        let stream = self.lookup(key)?;
        let now = self.now();
        let record = stream.record();
        let mut out: Vec<ConsumerInfo> = record
            .consumers
            .iter()
            .filter_map(|c| c.status(now).map(|status| info(key, c, status)))
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// DeregisterStreamConsumer: DELETING for the transition time, then gone; its subscriptions
    /// end at once.
    pub fn deregister_consumer(&self, key: &StreamKey, consumer: &ConsumerName) -> Result<()> {
        self.update(key, |stream, record, now| {
            let found = record
                .consumers
                .iter_mut()
                .filter(|c| consumer.names(c))
                .find(|c| c.status(now).is_some_and(|s| s != ConsumerStatus::Deleting))
                .ok_or_else(|| consumer_not_found(key, &consumer.name))?;
            found.gone_at_ms = Some(now + self.transition_ms().max(1));
            // Its subscribers end when woken after this update; a consumer registered again
            // under the same name may subscribe at once.
            stream.forget_leases(&consumer.name);
            Ok(())
        })
    }

    /// Runs `f` on a live consumer's record and persists the stream.
    fn update_consumer<T>(
        &self,
        key: &StreamKey,
        consumer: &ConsumerName,
        f: impl FnOnce(&mut ConsumerRecord) -> Result<T>,
    ) -> Result<T> {
        self.update(key, |_, record, now| {
            let found = record
                .consumers
                .iter_mut()
                .filter(|c| consumer.names(c))
                .find(|c| c.status(now).is_some())
                .ok_or_else(|| consumer_not_found(key, &consumer.name))?;
            f(found)
        })
    }

    /// A live consumer's record, read-only.
    fn read_consumer<T>(
        &self,
        key: &StreamKey,
        consumer: &ConsumerName,
        f: impl FnOnce(&ConsumerRecord) -> T,
    ) -> Result<T> {
        let stream = self.lookup(key)?;
        let now = self.now();
        let record = stream.record();
        record
            .consumers
            .iter()
            .filter(|c| consumer.names(c))
            .find(|c| c.status(now).is_some())
            .map(f)
            .ok_or_else(|| consumer_not_found(key, &consumer.name))
    }

    /// TagResource on a consumer ARN (at most 50 tags per consumer, as per stream).
    pub fn tag_consumer(&self, key: &StreamKey, consumer: &ConsumerName, tags: &[(String, String)]) -> Result<()> {
        self.update_consumer(key, consumer, |c| {
            let mut next = c.tags.clone();
            next.extend(tags.iter().cloned());
            if next.len() > super::MAX_TAGS {
                return Err(StreamError::InvalidArgument(format!(
                    "Failed to add tags to consumer {} because a given resource cannot have more than {} tags associated with it.",
                    consumer.name,
                    super::MAX_TAGS
                )));
            }
            c.tags = next;
            Ok(())
        })
    }

    /// UntagResource on a consumer ARN.
    pub fn untag_consumer(&self, key: &StreamKey, consumer: &ConsumerName, keys: &[String]) -> Result<()> {
        self.update_consumer(key, consumer, |c| {
            for k in keys {
                c.tags.remove(k);
            }
            Ok(())
        })
    }

    /// ListTagsForResource on a consumer ARN, sorted by key.
    pub fn consumer_tags(&self, key: &StreamKey, consumer: &ConsumerName) -> Result<Vec<(String, String)>> {
        self.read_consumer(key, consumer, |c| {
            c.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        })
    }

    /// PutResourcePolicy on a consumer ARN; the document must be a JSON object.
    pub fn put_consumer_policy(&self, key: &StreamKey, consumer: &ConsumerName, policy: &str) -> Result<()> {
        super::check_policy_document(policy)?;
        self.update_consumer(key, consumer, |c| {
            c.policy = Some(policy.to_string());
            Ok(())
        })
    }

    /// GetResourcePolicy on a consumer ARN: `{}` when none is attached.
    pub fn consumer_policy(&self, key: &StreamKey, consumer: &ConsumerName) -> Result<String> {
        self.read_consumer(key, consumer, |c| c.policy.clone().unwrap_or_else(|| "{}".to_string()))
    }

    /// DeleteResourcePolicy on a consumer ARN.
    pub fn delete_consumer_policy(&self, key: &StreamKey, consumer: &ConsumerName) -> Result<()> {
        self.update_consumer(key, consumer, |c| {
            if c.policy.take().is_none() {
                return Err(StreamError::NotFound(format!(
                    "No resource policy found for resource ARN {}.",
                    consumer_arn(key, &c.name, c.created_secs())
                )));
            }
            Ok(())
        })
    }

    /// Live consumers of a stream (for ConsumerCount and DeleteStream's check).
    pub fn consumer_count(&self, key: &StreamKey) -> usize {
        self.lookup_any(key).map_or(0, |stream| {
            let now = self.now();
            stream
                .record()
                .consumers
                .iter()
                .filter(|c| c.status(now).is_some())
                .count()
        })
    }

    /// `Ok` when the consumer exists and is ACTIVE (the state SubscribeToShard requires).
    pub(super) fn active_consumer(stream: &Arc<super::Stream>, consumer: &ConsumerName, now: u64) -> Result<()> {
        let record = stream.record();
        let found = record
            .consumers
            .iter()
            .filter(|c| consumer.names(c))
            .find_map(|c| c.status(now));
        match found {
            Some(ConsumerStatus::Active) => Ok(()),
            Some(status) => Err(StreamError::InUse(format!(
                "Consumer {} under stream {} is in {} state and cannot be subscribed to.",
                consumer.name,
                stream.key.arn(),
                status.as_str()
            ))),
            None => Err(consumer_not_found(&stream.key, &consumer.name)),
        }
    }
}
