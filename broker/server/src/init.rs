//! `--init FILE`: resources declared in a YAML or TOML file, created at start-up before the
//! broker reports ready, so test environments and Kubernetes deployments come up with their
//! queues and streams in place.
//!
//! Applying a file is idempotent and converges: a queue that exists gets the declared
//! attributes and tags, a stream its retention and tags (its shard count and mode are only used
//! to create it: resharding is an operation, not a setting); nothing undeclared is deleted.
//! Dead-letter relationships are applied in a second pass, so a file may list a source queue
//! before its dead-letter queue.
//!
//! ```yaml
//! queues:
//!   - name: orders-dlq
//!   - name: orders
//!     attributes: { VisibilityTimeout: 60 }
//!     dead_letter_queue: { name: orders-dlq, max_receive_count: 5 }
//!     tags: { team: payments }
//!   - name: events.fifo
//!     attributes: { FifoQueue: true, ContentBasedDeduplication: true }
//! streams:
//!   - { name: clicks, shards: 4, retention_hours: 48 }
//!   - { name: audit, mode: on_demand }
//! topics:
//!   - name: order-events
//!     attributes: { DisplayName: Orders }
//!     subscriptions:
//!       - { endpoint: orders, attributes: { RawMessageDelivery: true } }
//!       - { protocol: https, endpoint: "https://hooks.example.com/orders" }
//! ```
//!
//! Topics come after queues, so a subscription may name a queue of the same file. An `sqs`
//! subscription's endpoint is a queue name (same account and region) or a queue ARN.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sluice_broker::queue::QueueError;
use sluice_broker::queue::QueueKey;
use sluice_broker::stream::{CapacityMode, NewStream, StreamError, StreamKey, StreamStatus};
use sluice_broker::topic::{PublishContext, TopicError, TopicKey};
use sluice_broker::Broker;

/// Why an init file could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The file could not be read.
    #[error("cannot read init file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid YAML/TOML of the expected shape.
    #[error("init file {path} is invalid: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A declared resource was refused by the broker.
    #[error("init file {path}: {resource}: {source}")]
    Apply {
        /// The file.
        path: PathBuf,
        /// Which resource.
        resource: String,
        /// The broker's answer.
        source: QueueError,
    },
    /// A declared topic or subscription was refused by the broker.
    #[error("init file {path}: {resource}: {source}")]
    ApplyTopic {
        /// The file.
        path: PathBuf,
        /// Which topic.
        resource: String,
        /// The broker's answer.
        source: TopicError,
    },
    /// A declared stream was refused by the broker.
    #[error("init file {path}: {resource}: {source}")]
    ApplyStream {
        /// The file.
        path: PathBuf,
        /// Which stream.
        resource: String,
        /// The broker's answer.
        source: StreamError,
    },
}

/// The file's content.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitFile {
    /// Queues to create or converge.
    #[serde(default)]
    pub queues: Vec<QueueSpec>,
    /// Kinesis streams to create or converge.
    #[serde(default)]
    pub streams: Vec<StreamSpec>,
    /// SNS topics and their subscriptions to create or converge.
    #[serde(default)]
    pub topics: Vec<TopicSpec>,
}

/// One declared SNS topic.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    /// Topic name (`.fifo` with `FifoTopic: true` for FIFO topics).
    pub name: String,
    /// Owning account; the broker's `--account-id` when absent.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Region; the broker's `--region` when absent.
    #[serde(default)]
    pub region: Option<String>,
    /// Topic attributes as SetTopicAttributes takes them.
    #[serde(default)]
    pub attributes: BTreeMap<String, Scalar>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Subscriptions.
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionSpec>,
}

/// One declared subscription.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionSpec {
    /// `sqs` (the default), `http` or `https`.
    #[serde(default = "default_protocol")]
    pub protocol: String,
    /// A queue name or ARN for `sqs`, a URL for `http`/`https`.
    pub endpoint: String,
    /// Subscription attributes as SetSubscriptionAttributes takes them.
    #[serde(default)]
    pub attributes: BTreeMap<String, Scalar>,
}

fn default_protocol() -> String {
    "sqs".to_string()
}

/// One declared queue.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    /// Queue name (`.fifo` for FIFO queues).
    pub name: String,
    /// Owning account; the broker's `--account-id` when absent.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Region; the broker's `--region` when absent.
    #[serde(default)]
    pub region: Option<String>,
    /// SQS attributes as SetQueueAttributes takes them; numbers and booleans are accepted too.
    #[serde(default)]
    pub attributes: BTreeMap<String, Scalar>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Shorthand for a RedrivePolicy naming a queue of the same account and region.
    #[serde(default)]
    pub dead_letter_queue: Option<DeadLetterSpec>,
}

/// One declared Kinesis stream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSpec {
    /// Stream name.
    pub name: String,
    /// Owning account; the broker's `--account-id` when absent.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Region; the broker's `--region` when absent.
    #[serde(default)]
    pub region: Option<String>,
    /// `provisioned` (the default) or `on_demand`.
    #[serde(default)]
    pub mode: StreamMode,
    /// Shards of a provisioned stream (default 1), at creation.
    #[serde(default)]
    pub shards: Option<u32>,
    /// Retention in hours (24-8760); AWS's 24 when absent.
    #[serde(default)]
    pub retention_hours: Option<u32>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A stream's capacity mode as written in the file.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamMode {
    /// User-managed shard count.
    #[default]
    Provisioned,
    /// Service-managed shards.
    OnDemand,
}

/// A queue's dead-letter queue.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterSpec {
    /// Name of the dead-letter queue.
    pub name: String,
    /// Receives before a message moves there (1-1000).
    pub max_receive_count: u32,
}

/// An attribute value written as a string, number or boolean.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(n) => n.to_string(),
            Scalar::Text(s) => s.clone(),
        }
    }
}

/// Parses an init file: TOML for `.toml`, YAML otherwise.
pub fn load(path: &Path) -> Result<InitFile, InitError> {
    let text = std::fs::read_to_string(path).map_err(|source| InitError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Parses init file text; `path` picks the format and names the file in errors.
pub fn parse(text: &str, path: &Path) -> Result<InitFile, InitError> {
    let is_toml = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let parsed = if is_toml {
        toml::from_str::<InitFile>(text).map_err(|e| e.to_string())
    } else if text.trim().is_empty() {
        Ok(InitFile::default())
    } else {
        serde_saphyr::from_str::<InitFile>(text).map_err(|e| e.to_string())
    };
    parsed.map_err(|message| InitError::Parse {
        path: path.to_path_buf(),
        message,
    })
}

/// Creates or converges every declared resource; `base_url` is where HTTP subscribers reach the
/// broker (for their SubscribeURL).
pub async fn apply(
    broker: &Broker,
    file: &InitFile,
    path: &Path,
    account: &str,
    region: &str,
    base_url: &str,
) -> Result<(), InitError> {
    apply_queues(broker, file, path, account, region)?;
    apply_topics(broker, file, path, account, region, base_url)?;
    apply_streams(broker, file, path, account, region).await
}

/// Creates or converges every declared topic and subscription.
fn apply_topics(
    broker: &Broker,
    file: &InitFile,
    path: &Path,
    account: &str,
    region: &str,
    base_url: &str,
) -> Result<(), InitError> {
    let topics = &broker.topics;
    let ctx = PublishContext {
        base_url: base_url.trim_end_matches('/').to_string(),
        cross_account_check: None,
    };
    for spec in &file.topics {
        let fail = |source: TopicError| InitError::ApplyTopic {
            path: path.to_path_buf(),
            resource: format!("topic {}", spec.name),
            source,
        };
        let key = TopicKey::new(
            spec.account_id.as_deref().unwrap_or(account),
            spec.region.as_deref().unwrap_or(region),
            spec.name.as_str(),
        );
        let attributes: BTreeMap<String, String> = spec.attributes.iter().map(|(k, v)| (k.clone(), v.text())).collect();
        if topics.get_topic_attributes(&key).is_ok() {
            for (name, value) in attributes.iter().filter(|(n, _)| *n != "FifoTopic") {
                topics.set_topic_attribute(&key, name, value).map_err(fail)?;
            }
            if !spec.tags.is_empty() {
                topics.tag(&key, &spec.tags).map_err(fail)?;
            }
        } else {
            topics.create_topic(&key, &attributes, &spec.tags).map_err(fail)?;
        }
        for sub in &spec.subscriptions {
            let endpoint = if sub.protocol == "sqs" && !sub.endpoint.starts_with("arn:") {
                QueueKey::new(key.account.clone(), key.region.clone(), sub.endpoint.clone()).arn()
            } else {
                sub.endpoint.clone()
            };
            let wanted: BTreeMap<String, String> = sub.attributes.iter().map(|(k, v)| (k.clone(), v.text())).collect();
            // Subscribe is idempotent for the same attributes; converge changed ones after.
            let outcome = match topics.subscribe(&key, &sub.protocol, &endpoint, &wanted, &key.account, &ctx) {
                Ok(outcome) => outcome,
                Err(TopicError::InvalidParameter(_)) if !wanted.is_empty() => topics
                    .subscribe(&key, &sub.protocol, &endpoint, &BTreeMap::new(), &key.account, &ctx)
                    .map_err(fail)?,
                Err(e) => return Err(fail(e)),
            };
            for (name, value) in &wanted {
                topics
                    .set_subscription_attribute(&outcome.arn, name, value)
                    .map_err(fail)?;
            }
        }
    }
    Ok(())
}

/// Creates missing streams and converges retention and tags of all declared ones.
async fn apply_streams(
    broker: &Broker,
    file: &InitFile,
    path: &Path,
    account: &str,
    region: &str,
) -> Result<(), InitError> {
    let streams = &broker.streams;
    for spec in &file.streams {
        let fail = |source: StreamError| InitError::ApplyStream {
            path: path.to_path_buf(),
            resource: format!("stream {}", spec.name),
            source,
        };
        let key = StreamKey::new(
            spec.account_id.as_deref().unwrap_or(account),
            spec.region.as_deref().unwrap_or(region),
            spec.name.as_str(),
        );
        let tags: Vec<(String, String)> = spec.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if streams.describe(&key).is_err() {
            let (mode, shard_count) = match spec.mode {
                StreamMode::Provisioned => (CapacityMode::Provisioned, Some(spec.shards.unwrap_or(1))),
                StreamMode::OnDemand => (CapacityMode::OnDemand, None),
            };
            let new = NewStream {
                shard_count,
                mode,
                tags: tags.clone(),
                max_record_kib: None,
            };
            streams.create(&key, new).map_err(fail)?;
        } else if !tags.is_empty() {
            streams.add_tags(&key, &tags).map_err(fail)?;
        }
        if let Some(hours) = spec.retention_hours {
            // Retention can only change on an ACTIVE stream; a new one is CREATING for
            // --kinesis-transition-ms.
            wait_active(broker, &key).await.map_err(fail)?;
            let current = streams.describe(&key).map_err(fail)?.retention_hours;
            if current != hours {
                streams
                    .set_retention(&key, i64::from(hours), hours > current)
                    .map_err(fail)?;
            }
        }
    }
    Ok(())
}

/// Waits (bounded) until a stream is ACTIVE.
async fn wait_active(broker: &Broker, key: &StreamKey) -> Result<(), StreamError> {
    for _ in 0..600 {
        if broker.streams.describe(key)?.status == StreamStatus::Active {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Err(StreamError::InUse(format!(
        "stream {} did not become ACTIVE within 30 seconds",
        key.name
    )))
}

/// Creates or converges every declared queue.
fn apply_queues(broker: &Broker, file: &InitFile, path: &Path, account: &str, region: &str) -> Result<(), InitError> {
    let fail = |resource: String| {
        move |source: QueueError| InitError::Apply {
            path: path.to_path_buf(),
            resource,
            source,
        }
    };
    let queues = &broker.queues;
    let key_of = |spec: &QueueSpec| {
        QueueKey::new(
            spec.account_id.as_deref().unwrap_or(account),
            spec.region.as_deref().unwrap_or(region),
            spec.name.as_str(),
        )
    };
    // Pass 1: every queue, without dead-letter relationships (their targets may come later).
    for spec in &file.queues {
        let key = key_of(spec);
        let resource = format!("queue {}", spec.name);
        let mut attributes: BTreeMap<String, String> =
            spec.attributes.iter().map(|(k, v)| (k.clone(), v.text())).collect();
        let redrive = attributes.remove("RedrivePolicy");
        if spec.dead_letter_queue.is_some() && redrive.is_some() {
            return Err(fail(resource)(QueueError::InvalidAttributeValue(
                "give either dead_letter_queue or a RedrivePolicy attribute, not both".into(),
            )));
        }
        if queues.ensure_exists(&key).is_ok() {
            // FifoQueue is fixed at creation; the rest converges.
            attributes.remove("FifoQueue");
            queues
                .set_attributes(&key, &attributes)
                .map_err(fail(resource.clone()))?;
            if !spec.tags.is_empty() {
                queues.tag(&key, &spec.tags).map_err(fail(resource))?;
            }
        } else {
            queues
                .create_queue(&key, &attributes, &spec.tags)
                .map_err(fail(resource))?;
        }
    }
    // Pass 2: dead-letter relationships.
    for spec in &file.queues {
        let key = key_of(spec);
        let policy = match (&spec.dead_letter_queue, spec.attributes.get("RedrivePolicy")) {
            (Some(dlq), _) => {
                let target = QueueKey::new(key.account.clone(), key.region.clone(), dlq.name.clone());
                serde_json::json!({
                    "deadLetterTargetArn": target.arn(),
                    "maxReceiveCount": dlq.max_receive_count,
                })
                .to_string()
            }
            (None, Some(raw)) => raw.text(),
            (None, None) => continue,
        };
        let attributes = BTreeMap::from([("RedrivePolicy".to_string(), policy)]);
        queues
            .set_attributes(&key, &attributes)
            .map_err(fail(format!("queue {}", spec.name)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_toml_declare_the_same_queues() {
        let yaml = r#"
queues:
  - name: orders
    attributes: { VisibilityTimeout: 60, ContentBasedDeduplication: true, Policy: "{}" }
    dead_letter_queue: { name: orders-dlq, max_receive_count: 5 }
  - name: orders-dlq
"#;
        let toml = r#"
[[queues]]
name = "orders"
attributes = { VisibilityTimeout = 60, ContentBasedDeduplication = true, Policy = "{}" }
dead_letter_queue = { name = "orders-dlq", max_receive_count = 5 }

[[queues]]
name = "orders-dlq"
"#;
        for (text, file) in [(yaml, "init.yaml"), (toml, "init.toml")] {
            let parsed = parse(text, Path::new(file)).expect(file);
            assert_eq!(parsed.queues.len(), 2, "{file}");
            let orders = &parsed.queues[0];
            assert_eq!(orders.attributes["VisibilityTimeout"].text(), "60");
            assert_eq!(orders.attributes["ContentBasedDeduplication"].text(), "true");
            assert_eq!(orders.attributes["Policy"].text(), "{}");
            assert_eq!(orders.dead_letter_queue.as_ref().map(|d| d.max_receive_count), Some(5));
        }
    }

    #[test]
    fn unknown_keys_and_bad_shapes_are_errors() {
        for (text, file) in [
            ("queues:\n  - name: q\n    colour: red\n", "init.yaml"),
            ("streams: []\nqueus: []\n", "init.yaml"),
            ("streams:\n  - { name: s, mode: sharded }\n", "init.yaml"),
            ("queues: 5\n", "init.yaml"),
            ("[[queues]]\nnom = \"q\"\n", "init.toml"),
        ] {
            let err = parse(text, Path::new(file)).expect_err(text);
            assert!(matches!(err, InitError::Parse { .. }), "{err}");
        }
        assert!(parse("", Path::new("empty.yaml")).expect("empty").queues.is_empty());
    }
}
