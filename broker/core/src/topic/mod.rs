//! SNS-style topics: subscriptions, filter policies, fan-out to queues and HTTP/S endpoints.
//!
//! # Layout
//! - This file: [`Topics`], the registry of topics and subscriptions persisted in `meta`: its
//!   fields, loading at open, the lookups and persist helpers the operations share, traffic
//!   stats; the public types the operations take and return; helpers several files share.
//! - `lifecycle`: CreateTopic, DeleteTopic, ListTopics.
//! - `settings`: topic attributes, permissions, tags and the access policy.
//! - `subscriptions`: Subscribe, ConfirmSubscription, Unsubscribe, ListSubscriptions(ByTopic),
//!   subscription attributes, and the lookups authorization needs.
//! - `publish`: Publish and PublishBatch: filter, render, and fan out in one write batch.
//! - [`outbox`]: durable HTTP/S deliveries with AWS's retry phases and dead-letter queues.
//! - [`filter`]: subscription filter policies. [`delivery_policy`]: retry schedules.
//! - [`envelope`]: the JSON documents SNS delivers. [`signing`]: the key that signs them.
//! - [`error`]: [`TopicError`], mapped to SNS codes by the server.
//! - [`overview`]: a region's topics with subscriptions and delivery counters (the console).
//! - [`console`]: one topic for the console: subscriptions with their delivery state, and
//!   which subscriptions a message matches.
//!
//! # Invariants
//! - A publish's queue deliveries and outbox entries commit in one batch with nothing else:
//!   every matching subscription gets the message or none does.
//! - Only confirmed subscriptions receive notifications; queue subscriptions are confirmed at
//!   once, HTTP/S ones when their token comes back.
//! - In-memory topics and subscriptions mirror `meta`; they are rebuilt at start-up.

pub mod console;
pub mod delivery_policy;
pub mod envelope;
pub mod error;
pub mod filter;
mod lifecycle;
pub mod outbox;
pub mod overview;
mod publish;
mod settings;
pub mod signing;
mod subscriptions;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sluice_storage::key::{self, KeyBuf};
use sluice_storage::{Cf, Store};

use crate::clock::Clock;
use crate::queue::{QueueKey, Queues};
use delivery_policy::SubscriptionDeliveryPolicy;
use error::invalid;
pub use error::{Result, TopicError};
use filter::{FilterPolicy, FilterScope};
pub use publish::{PublishContext, PublishMessage, Published, QueueDeliveryCheck};

/// Meta key prefix of topic records: account | region | name.
const TOPIC_PREFIX: u8 = 0x60;
/// Meta key prefix of subscription records: account | region | topic | subscription id.
const SUBSCRIPTION_PREFIX: u8 = 0x61;
/// Meta key of the signing key (one per broker).
const SIGNING_KEY: u8 = 0x62;
/// Meta key of the last topic id handed out.
const TOPIC_ID_COUNTER: u8 = 0x63;

/// Most tags per topic.
const MAX_TAGS: usize = 50;
/// Page size of ListTopics, ListSubscriptions and ListSubscriptionsByTopic.
const PAGE_SIZE: usize = 100;
/// Filter policies per account and region (AWS's default quota).
const MAX_FILTER_POLICIES: usize = 200;
/// The principal SNS reports as the sender of messages it delivers to queues.
pub const SNS_SENDER_ID: &str = "AIDAIT2UOQQY3AUEKVGXU";
/// Path at which the server serves the signing certificate.
pub const SIGNING_CERT_PATH: &str = "/SimpleNotificationService-sluice.pem";

/// Names a topic: AWS namespaces topics by account and region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TopicKey {
    /// Owning account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Topic name.
    pub name: String,
}

impl TopicKey {
    /// Builds a key.
    pub fn new(account: impl Into<String>, region: impl Into<String>, name: impl Into<String>) -> TopicKey {
        TopicKey {
            account: account.into(),
            region: region.into(),
            name: name.into(),
        }
    }

    /// Parses `arn:aws:sns:{region}:{account}:{name}`.
    pub fn from_arn(arn: &str) -> Option<TopicKey> {
        let (region, account, name) = crate::arn::split(arn, "sns")?;
        (!name.contains(':')).then(|| TopicKey::new(account, region, name))
    }

    /// The topic's ARN.
    pub fn arn(&self) -> String {
        format!("arn:aws:sns:{}:{}:{}", self.region, self.account, self.name)
    }

    fn record_key(&self) -> Vec<u8> {
        KeyBuf::new(TOPIC_PREFIX)
            .str(&self.account)
            .str(&self.region)
            .str(&self.name)
            .finish()
    }

    fn subscription_key(&self, id: &str) -> Vec<u8> {
        KeyBuf::new(SUBSCRIPTION_PREFIX)
            .str(&self.account)
            .str(&self.region)
            .str(&self.name)
            .str(id)
            .finish()
    }
}

/// Where a subscription delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Protocol {
    /// An SQS queue, by ARN.
    Sqs,
    /// An HTTP URL.
    Http,
    /// An HTTPS URL.
    Https,
    /// A Lambda function, by ARN: its handlers get AWS's SNS event, through the outbox.
    Lambda,
}

impl Protocol {
    /// The protocol's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Sqs => "sqs",
            Protocol::Http => "http",
            Protocol::Https => "https",
            Protocol::Lambda => "lambda",
        }
    }

    /// Parses a Subscribe protocol; protocols SNS has but Sluice does not deliver to are
    /// refused with a message that says so.
    pub fn parse(name: &str) -> Result<Protocol> {
        match name {
            "sqs" => Ok(Protocol::Sqs),
            "http" => Ok(Protocol::Http),
            "https" => Ok(Protocol::Https),
            "lambda" => Ok(Protocol::Lambda),
            "email" | "email-json" | "sms" | "application" | "firehose" => Err(invalid(format!(
                "Protocol Reason: Sluice does not deliver to {name} endpoints; the supported protocols are sqs, http, https and lambda"
            ))),
            other => Err(invalid(format!(
                "Amazon SNS does not support this protocol string: {other}"
            ))),
        }
    }
}

/// What is persisted per topic.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TopicRecord {
    id: u64,
    created_ms: u64,
    fifo: bool,
    /// Settable attributes as the client set them (absent ones take defaults when read).
    attributes: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
    /// The number of subscriptions deleted so far (SubscriptionsDeleted).
    #[serde(default)]
    deleted_subscriptions: u64,
}

/// What is persisted per subscription.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SubscriptionRecord {
    id: String,
    topic: TopicKey,
    protocol: Protocol,
    endpoint: String,
    owner: String,
    attributes: BTreeMap<String, String>,
    confirmed: bool,
    /// HTTP/S: the token ConfirmSubscription must present.
    token: Option<String>,
    /// Whether the confirmation was authenticated (signed ConfirmSubscription).
    authenticated: bool,
}

/// A subscription's parsed settings, derived from its attributes.
#[derive(Debug, Clone)]
struct SubscriptionSettings {
    raw: bool,
    filter: Option<FilterPolicy>,
    delivery: SubscriptionDeliveryPolicy,
    dead_letter_arn: Option<String>,
}

/// One live subscription.
struct Subscription {
    arn: String,
    record: Mutex<SubscriptionRecord>,
    /// Shared so a publish takes a reference, not a copy of the parsed filter policy.
    settings: RwLock<Arc<SubscriptionSettings>>,
}

impl Subscription {
    fn record(&self) -> MutexGuard<'_, SubscriptionRecord> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn settings(&self) -> Arc<SubscriptionSettings> {
        self.settings.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A topic's traffic since the broker started, for metrics.
#[derive(Debug, Default)]
struct TopicCounters {
    publishes: AtomicU64,
    /// Indexed by [`protocol_index`]: sqs, http, https, lambda.
    delivered: [AtomicU64; 4],
    failed: [AtomicU64; 4],
}

impl TopicCounters {
    /// Counts one delivery outcome.
    fn count(&self, protocol: Protocol, delivered: bool) {
        let i = protocol_index(protocol);
        let counter = if delivered { &self.delivered[i] } else { &self.failed[i] };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

fn protocol_index(protocol: Protocol) -> usize {
    match protocol {
        Protocol::Sqs => 0,
        Protocol::Http => 1,
        Protocol::Https => 2,
        Protocol::Lambda => 3,
    }
}

/// One topic's traffic, for metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicStats {
    /// The topic.
    pub key: TopicKey,
    /// Messages published (duplicates of a FIFO topic not counted).
    pub publishes: u64,
    /// Per protocol (`sqs`, `http`, `https`): messages delivered and failed attempts.
    pub deliveries: Vec<(&'static str, u64, u64)>,
}

/// One live topic.
struct Topic {
    key: TopicKey,
    arn: String,
    fifo: bool,
    record: Mutex<TopicRecord>,
    subscriptions: RwLock<Vec<Arc<Subscription>>>,
    /// FIFO topics: publishes are staged one at a time so queues receive them in sequence
    /// order (until each commit has its place in the log, see `publish`).
    fifo_state: Mutex<publish::FifoState>,
    /// Signalled when a FIFO publish's commit is over and its deduplication ids settled.
    fifo_settled: Condvar,
    deleted: AtomicBool,
    counters: TopicCounters,
}

impl Topic {
    fn record(&self) -> MutexGuard<'_, TopicRecord> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fifo_state(&self) -> MutexGuard<'_, publish::FifoState> {
        self.fifo_state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn subscriptions(&self) -> Vec<Arc<Subscription>> {
        self.subscriptions.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A page of ARNs.
#[derive(Debug, Clone, Default)]
pub struct ArnPage<T> {
    /// Items in this page.
    pub items: Vec<T>,
    /// Token for the next page.
    pub next_token: Option<String>,
}

/// Who may delete a subscription (see [`Topics::unsubscribe_rule`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubscribeRule {
    /// The subscription's topic.
    pub topic: TopicKey,
    /// The account that subscribed.
    pub owner: String,
    /// Only a signed request of the topic's or the subscription's owner may delete it: the
    /// subscription was confirmed with `AuthenticateOnUnsubscribe`, or is a queue subscription
    /// (AWS, Unsubscribe: "Amazon SQS queue subscriptions require authentication for
    /// deletion").
    pub requires_authentication: bool,
}

/// A subscription as the List actions report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionSummary {
    /// The subscription ARN, or `PendingConfirmation`.
    pub subscription_arn: String,
    /// Owner account.
    pub owner: String,
    /// Protocol name.
    pub protocol: String,
    /// Endpoint.
    pub endpoint: String,
    /// Topic ARN.
    pub topic_arn: String,
}

/// What Subscribe created or found.
#[derive(Debug, Clone)]
pub struct SubscribeOutcome {
    /// The subscription's ARN.
    pub arn: String,
    /// Whether it still waits for confirmation.
    pub pending: bool,
}

/// The topic registry and operations.
pub struct Topics {
    store: Arc<Store>,
    clock: Clock,
    queues: Arc<Queues>,
    topics: RwLock<HashMap<TopicKey, Arc<Topic>>>,
    subscriptions: RwLock<HashMap<String, Arc<Subscription>>>,
    next_topic_id: AtomicU64,
    /// Serialises create/delete/subscribe so existence checks and commits agree.
    admin: Mutex<()>,
    signing: signing_state::SigningState,
    outbox: outbox::Outbox,
}

mod signing_state {
    //! The broker's signing key, loaded or generated on first use and then kept.

    use std::sync::{Arc, Mutex};

    use sluice_storage::{Cf, Store};

    use super::signing::SigningKey;
    use super::{Result, SIGNING_KEY};

    /// Lazily available signing key.
    #[derive(Default)]
    pub struct SigningState {
        key: Mutex<Option<Arc<SigningKey>>>,
    }

    impl SigningState {
        /// The key, generated and persisted the first time (RSA generation takes a while, so
        /// the broker warms it up in the background at start).
        pub fn get(&self, store: &Store) -> Result<Arc<SigningKey>> {
            let mut slot = self.key.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(key) = slot.as_ref() {
                return Ok(key.clone());
            }
            let key = match store.get(Cf::Meta, &[SIGNING_KEY])? {
                Some(bytes) => SigningKey::decode(&bytes)
                    .map_err(|e| sluice_storage::StorageError::Corrupt(format!("sns signing key: {e}")))?,
                None => {
                    // Generating a key is not reading the disk: a failure is internal.
                    let key = SigningKey::generate("sns.sluice.local")
                        .map_err(|e| super::TopicError::Internal(format!("sns signing key generation: {e}")))?;
                    let mut batch = store.batch();
                    batch.put(Cf::Meta, &[SIGNING_KEY], &key.encode());
                    store.commit(batch)?;
                    key
                }
            };
            let key = Arc::new(key);
            *slot = Some(key.clone());
            Ok(key)
        }
    }
}

/// Encodes a value to store. A failure is internal, not corruption: nothing was read from disk.
fn encode_json<T: Serialize>(value: &T, what: &str) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| TopicError::Internal(format!("encode {what}: {e}")))
}

/// Decodes a stored value; one that does not decode is corruption.
fn decode_json<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| sluice_storage::StorageError::Corrupt(format!("{what}: {e}")).into())
}

/// Parses and validates a subscription's settable attributes into its settings.
fn subscription_settings(protocol: Protocol, attributes: &BTreeMap<String, String>) -> Result<SubscriptionSettings> {
    let mut settings = SubscriptionSettings {
        raw: false,
        filter: None,
        delivery: SubscriptionDeliveryPolicy::default(),
        dead_letter_arn: None,
    };
    for (name, value) in attributes {
        match name.as_str() {
            "RawMessageDelivery" if protocol == Protocol::Lambda && value.eq_ignore_ascii_case("true") => {
                return Err(invalid(
                    "Attributes Reason: Delivery protocol [lambda] does not support raw message delivery.",
                ));
            }
            "RawMessageDelivery" => {
                settings.raw = match value.to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(invalid("Attributes Reason: RawMessageDelivery: Invalid value")),
                }
            }
            "FilterPolicy" | "FilterPolicyScope" => {}
            "DeliveryPolicy" => {
                if protocol == Protocol::Sqs && !value.is_empty() {
                    return Err(invalid(
                        "DeliveryPolicy: Delivery protocol [sqs] does not support delivery policies",
                    ));
                }
                settings.delivery = SubscriptionDeliveryPolicy::parse(value)?;
            }
            "RedrivePolicy" => {
                if value.is_empty() {
                    continue;
                }
                let parsed: serde_json::Value = serde_json::from_str(value)
                    .map_err(|_| invalid("RedrivePolicy: Redrive policy is not a valid JSON"))?;
                let arn = parsed
                    .get("deadLetterTargetArn")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| invalid("RedrivePolicy: deadLetterTargetArn is missing"))?;
                if QueueKey::from_arn(arn).is_none() {
                    return Err(invalid("RedrivePolicy: deadLetterTargetArn is an invalid arn"));
                }
                settings.dead_letter_arn = Some(arn.to_string());
            }
            "SubscriptionRoleArn" => {
                return Err(invalid(
                    "Attributes Reason: SubscriptionRoleArn is only used by firehose subscriptions, which Sluice does not deliver to",
                ))
            }
            "ReplayPolicy" => {
                return Err(invalid(
                    "Attributes Reason: ReplayPolicy: message archiving and replay are not supported by Sluice",
                ))
            }
            _ => return Err(invalid("AttributeName")),
        }
    }
    let scope =
        match attributes.get("FilterPolicyScope").map(String::as_str) {
            None | Some("MessageAttributes") => FilterScope::MessageAttributes,
            Some("MessageBody") => FilterScope::MessageBody,
            Some(_) => return Err(invalid(
                "Attributes Reason: FilterPolicyScope: Invalid value. Valid values are MessageAttributes, MessageBody",
            )),
        };
    if let Some(policy) = attributes.get("FilterPolicy").filter(|p| !p.trim().is_empty()) {
        let parsed = FilterPolicy::parse(policy, scope).map_err(|e| invalid(e.parameter_message()))?;
        settings.filter = Some(parsed);
    }
    Ok(settings)
}

fn page_token(last: &str) -> String {
    URL_SAFE_NO_PAD.encode(last)
}

fn page_after(token: Option<&str>) -> Result<Option<String>> {
    match token {
        None => Ok(None),
        Some(t) => URL_SAFE_NO_PAD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .map(Some)
            .ok_or_else(|| invalid("NextToken")),
    }
}

/// Takes the page after `after` (exclusive) from sorted `items`.
fn paginate<T: Clone>(items: &[(String, T)], after: Option<String>) -> ArnPage<T> {
    let start = match &after {
        Some(a) => items.partition_point(|(k, _)| k <= a),
        None => 0,
    };
    let page: Vec<&(String, T)> = items[start..].iter().take(PAGE_SIZE).collect();
    let next_token = (start + page.len() < items.len())
        .then(|| page.last().map(|(k, _)| page_token(k)))
        .flatten();
    ArnPage {
        items: page.into_iter().map(|(_, v)| v.clone()).collect(),
        next_token,
    }
}

impl Topics {
    /// Loads every topic, subscription and pending delivery from `store`.
    pub fn open(store: Arc<Store>, clock: Clock, queues: Arc<Queues>) -> Result<Topics> {
        let mut topics = HashMap::new();
        let mut max_id = store
            .get(Cf::Meta, &[TOPIC_ID_COUNTER])?
            .and_then(|v| key::read_u64(&v, 0))
            .unwrap_or(0);
        for (_, v) in store.scan_prefix(Cf::Meta, &[TOPIC_PREFIX])? {
            let (topic_key, record): (TopicKey, TopicRecord) = decode_json(&v, "topic record")?;
            max_id = max_id.max(record.id);
            let fifo_state = if record.fifo {
                publish::FifoState::load(&store, record.id)?
            } else {
                publish::FifoState::default()
            };
            let topic = Topic {
                arn: topic_key.arn(),
                fifo: record.fifo,
                key: topic_key.clone(),
                record: Mutex::new(record),
                subscriptions: RwLock::new(Vec::new()),
                fifo_state: Mutex::new(fifo_state),
                fifo_settled: Condvar::new(),
                deleted: AtomicBool::new(false),
                counters: TopicCounters::default(),
            };
            topics.insert(topic_key, Arc::new(topic));
        }
        let mut subscriptions = HashMap::new();
        for (_, v) in store.scan_prefix(Cf::Meta, &[SUBSCRIPTION_PREFIX])? {
            let record: SubscriptionRecord = decode_json(&v, "subscription record")?;
            let Some(topic) = topics.get(&record.topic) else {
                continue;
            };
            // Settings were validated when set; a policy that no longer parses is dropped
            // rather than blocking start-up.
            let settings = subscription_settings(record.protocol, &record.attributes).unwrap_or(SubscriptionSettings {
                raw: false,
                filter: None,
                delivery: SubscriptionDeliveryPolicy::default(),
                dead_letter_arn: None,
            });
            let sub = Arc::new(Subscription {
                arn: format!("{}:{}", topic.arn, record.id),
                record: Mutex::new(record),
                settings: RwLock::new(Arc::new(settings)),
            });
            topic
                .subscriptions
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .push(sub.clone());
            subscriptions.insert(sub.arn.clone(), sub);
        }
        let outbox = outbox::Outbox::load(&store)?;
        Ok(Topics {
            store,
            clock,
            queues,
            topics: RwLock::new(topics),
            subscriptions: RwLock::new(subscriptions),
            next_topic_id: AtomicU64::new(max_id + 1),
            admin: Mutex::new(()),
            signing: signing_state::SigningState::default(),
            outbox,
        })
    }

    fn admin(&self) -> MutexGuard<'_, ()> {
        self.admin.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lookup(&self, key: &TopicKey) -> Result<Arc<Topic>> {
        let topics = self.topics.read().unwrap_or_else(|p| p.into_inner());
        topics
            .get(key)
            .cloned()
            .ok_or_else(|| TopicError::NotFound("Topic does not exist".into()))
    }

    fn lookup_subscription(&self, arn: &str) -> Result<Arc<Subscription>> {
        let subs = self.subscriptions.read().unwrap_or_else(|p| p.into_inner());
        subs.get(arn)
            .cloned()
            .ok_or_else(|| TopicError::NotFound("Subscription does not exist".into()))
    }

    /// The signing key, generated on first use.
    pub fn signing_key(&self) -> Result<Arc<signing::SigningKey>> {
        self.signing.get(&self.store)
    }

    fn persist_topic(
        &self,
        topic: &TopicKey,
        record: &TopicRecord,
        batch: &mut sluice_storage::Batch<'_>,
    ) -> Result<()> {
        batch.put(
            Cf::Meta,
            &topic.record_key(),
            &encode_json(&(topic, record), "topic record")?,
        );
        Ok(())
    }

    fn persist_subscription(record: &SubscriptionRecord, batch: &mut sluice_storage::Batch<'_>) -> Result<()> {
        batch.put(
            Cf::Meta,
            &record.topic.subscription_key(&record.id),
            &encode_json(record, "subscription record")?,
        );
        Ok(())
    }

    /// Traffic of at most `limit` topics (ordered by account, region, name) and how many were
    /// left out.
    pub fn stats(&self, limit: usize) -> (Vec<TopicStats>, usize) {
        let mut topics: Vec<Arc<Topic>> = self
            .topics
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        topics.sort_by(|a, b| a.key.cmp(&b.key));
        let left_out = topics.len().saturating_sub(limit);
        let stats = topics
            .iter()
            .take(limit)
            .map(|t| {
                let c = &t.counters;
                TopicStats {
                    key: t.key.clone(),
                    publishes: c.publishes.load(Ordering::Relaxed),
                    deliveries: [Protocol::Sqs, Protocol::Http, Protocol::Https, Protocol::Lambda]
                        .into_iter()
                        .map(|p| {
                            let i = protocol_index(p);
                            (
                                p.as_str(),
                                c.delivered[i].load(Ordering::Relaxed),
                                c.failed[i].load(Ordering::Relaxed),
                            )
                        })
                        .collect(),
                }
            })
            .collect();
        (stats, left_out)
    }

    /// Counts one HTTP delivery outcome on the topic named by `topic_arn` (if it still exists).
    fn count_delivery(&self, topic_arn: &str, protocol: Protocol, delivered: bool) {
        let Some(key) = TopicKey::from_arn(topic_arn) else {
            return;
        };
        if let Ok(topic) = self.lookup(&key) {
            topic.counters.count(protocol, delivered);
        }
    }
}

#[cfg(test)]
mod fifo_log_tests;
#[cfg(test)]
mod tests;
