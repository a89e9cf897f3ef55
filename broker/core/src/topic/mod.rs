//! SNS-style topics: subscriptions, filter policies, fan-out to queues and HTTP/S endpoints.
//!
//! # Layout
//! - [`Topics`] (this file): the registry of topics and subscriptions, their attributes, tags
//!   and permissions, persisted in `meta`.
//! - `publish`: Publish and PublishBatch: filter, render, and fan out in one write batch.
//! - [`outbox`]: durable HTTP/S deliveries with AWS's retry phases and dead-letter queues.
//! - [`filter`]: subscription filter policies. [`delivery_policy`]: retry schedules.
//! - [`envelope`]: the JSON documents SNS delivers. [`signing`]: the key that signs them.
//! - [`error`]: [`TopicError`], mapped to SNS codes by the server.
//!
//! # Invariants
//! - A publish's queue deliveries and outbox entries commit in one batch with nothing else:
//!   every matching subscription gets the message or none does.
//! - Only confirmed subscriptions receive notifications; queue subscriptions are confirmed at
//!   once, HTTP/S ones when their token comes back.
//! - In-memory topics and subscriptions mirror `meta`; they are rebuilt at start-up.

pub mod delivery_policy;
pub mod envelope;
pub mod error;
pub mod filter;
pub mod outbox;
mod publish;
pub mod signing;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sluice_storage::key::{self, KeyBuf};
use sluice_storage::{Cf, Store};

use crate::clock::Clock;
use crate::queue::{arn as queue_arn, QueueKey, Queues};
use delivery_policy::{SubscriptionDeliveryPolicy, TopicDeliveryPolicy};
use error::invalid;
pub use error::{Result, TopicError};
use filter::{FilterPolicy, FilterScope};
use outbox::OutboxEntry;
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
        let mut parts = arn.splitn(6, ':');
        let (lit, partition, service) = (parts.next()?, parts.next()?, parts.next()?);
        let (region, account, name) = (parts.next()?, parts.next()?, parts.next()?);
        let valid = lit == "arn"
            && partition.starts_with("aws")
            && service == "sns"
            && !region.is_empty()
            && !account.is_empty()
            && !name.is_empty()
            && !name.contains(':');
        valid.then(|| TopicKey::new(account, region, name))
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
}

impl Protocol {
    /// The protocol's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Sqs => "sqs",
            Protocol::Http => "http",
            Protocol::Https => "https",
        }
    }

    /// Parses a Subscribe protocol; protocols SNS has but Sluice does not deliver to are
    /// refused with a message that says so.
    pub fn parse(name: &str) -> Result<Protocol> {
        match name {
            "sqs" => Ok(Protocol::Sqs),
            "http" => Ok(Protocol::Http),
            "https" => Ok(Protocol::Https),
            "email" | "email-json" | "sms" | "application" | "lambda" | "firehose" => Err(invalid(format!(
                "Protocol Reason: Sluice does not deliver to {name} endpoints; the supported protocols are sqs, http and https"
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
    /// Indexed by [`protocol_index`]: sqs, http, https.
    delivered: [AtomicU64; 3],
    failed: [AtomicU64; 3],
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
    /// FIFO topics: publishes are serialised so queues receive them in sequence order.
    fifo_state: Mutex<publish::FifoState>,
    deleted: AtomicBool,
    counters: TopicCounters,
}

impl Topic {
    fn record(&self) -> MutexGuard<'_, TopicRecord> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
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
fn check_topic_attribute(name: &str, value: &str, fifo: bool) -> Result<()> {
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
                if queue_arn::parse_queue_arn(arn).is_none() {
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
                publish::FifoState::load(&store, record.id, clock.now_ms())?
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

    /// Creates a topic, or returns the existing one's ARN when attributes and tags agree.
    pub fn create_topic(
        &self,
        key: &TopicKey,
        attributes: &BTreeMap<String, String>,
        tags: &BTreeMap<String, String>,
    ) -> Result<String> {
        let fifo_attr = match attributes.get("FifoTopic").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(invalid("Attributes Reason: FifoTopic: Invalid value")),
        };
        if fifo_attr != key.name.ends_with(".fifo") {
            return Err(invalid(
                "Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.",
            ));
        }
        let mut settable = BTreeMap::new();
        for (name, value) in attributes {
            if name == "FifoTopic" {
                continue;
            }
            check_topic_attribute(name, value, fifo_attr)?;
            settable.insert(name.clone(), value.clone());
        }
        if tags.len() > MAX_TAGS {
            return Err(TopicError::TagLimitExceeded(
                "Could not complete request: tag quota of per resource exceeded".into(),
            ));
        }
        let _admin = self.admin();
        if let Ok(existing) = self.lookup(key) {
            let record = existing.record();
            let differs = settable.iter().any(|(n, v)| record.attributes.get(n) != Some(v));
            if differs {
                return Err(invalid(
                    "Attributes Reason: Topic already exists with different attributes",
                ));
            }
            if !tags.is_empty() && &record.tags != tags {
                return Err(invalid("Tags Reason: Topic already exists with different tags"));
            }
            return Ok(existing.arn.clone());
        }
        let id = self.next_topic_id.fetch_add(1, Ordering::AcqRel);
        let record = TopicRecord {
            id,
            created_ms: self.clock.now_ms(),
            fifo: fifo_attr,
            attributes: settable,
            tags: tags.clone(),
            deleted_subscriptions: 0,
        };
        let mut batch = self.store.batch();
        self.persist_topic(key, &record, &mut batch)?;
        batch.put(Cf::Meta, &[TOPIC_ID_COUNTER], &id.to_be_bytes());
        self.store.commit(batch)?;
        let topic = Arc::new(Topic {
            arn: key.arn(),
            fifo: fifo_attr,
            key: key.clone(),
            record: Mutex::new(record),
            subscriptions: RwLock::new(Vec::new()),
            fifo_state: Mutex::new(publish::FifoState::default()),
            deleted: AtomicBool::new(false),
            counters: TopicCounters::default(),
        });
        let arn = topic.arn.clone();
        self.topics
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), topic);
        Ok(arn)
    }

    /// Deletes a topic and its subscriptions; deleting a missing topic succeeds, as on AWS.
    pub fn delete_topic(&self, key: &TopicKey) -> Result<()> {
        let _admin = self.admin();
        let Ok(topic) = self.lookup(key) else {
            return Ok(());
        };
        let subs = topic.subscriptions();
        let mut batch = self.store.batch();
        batch.delete(Cf::Meta, &key.record_key());
        let dedupe = publish::dedupe_prefix(topic.record().id);
        batch.delete_range(Cf::Dedupe, &dedupe, &key::prefix_end(&dedupe));
        for sub in &subs {
            batch.delete(Cf::Meta, &key.subscription_key(&sub.record().id));
        }
        self.store.commit(batch)?;
        topic.deleted.store(true, Ordering::Release);
        self.topics.write().unwrap_or_else(|p| p.into_inner()).remove(key);
        let mut registry = self.subscriptions.write().unwrap_or_else(|p| p.into_inner());
        for sub in subs {
            registry.remove(&sub.arn);
        }
        Ok(())
    }

    /// ListTopics for one account and region, 100 per page.
    pub fn list_topics(&self, account: &str, region: &str, next_token: Option<&str>) -> Result<ArnPage<String>> {
        let after = page_after(next_token)?;
        let mut arns: Vec<(String, String)> = {
            let topics = self.topics.read().unwrap_or_else(|p| p.into_inner());
            topics
                .values()
                .filter(|t| t.key.account == account && t.key.region == region)
                .map(|t| (t.arn.clone(), t.arn.clone()))
                .collect()
        };
        arns.sort();
        Ok(paginate(&arns, after))
    }

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

    fn filter_policy_count(&self, account: &str, region: &str) -> usize {
        let subs = self.subscriptions.read().unwrap_or_else(|p| p.into_inner());
        subs.values()
            .filter(|s| {
                let r = s.record();
                r.topic.account == account && r.topic.region == region && r.attributes.contains_key("FilterPolicy")
            })
            .count()
    }

    /// Subscribes an endpoint. Queue subscriptions are confirmed at once; HTTP/S ones get a
    /// SubscriptionConfirmation through the outbox. Subscribing the same endpoint again returns
    /// the existing subscription when the attributes agree.
    pub fn subscribe(
        &self,
        key: &TopicKey,
        protocol: &str,
        endpoint: &str,
        attributes: &BTreeMap<String, String>,
        owner: &str,
        ctx: &PublishContext,
    ) -> Result<SubscribeOutcome> {
        let topic = self.lookup(key)?;
        let protocol = Protocol::parse(protocol)?;
        match protocol {
            Protocol::Sqs => {
                let Some((_, _, name)) = queue_arn::parse_queue_arn(endpoint) else {
                    return Err(invalid("SQS endpoint ARN"));
                };
                if name.ends_with(".fifo") && !topic.fifo {
                    return Err(invalid(
                        "Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics",
                    ));
                }
            }
            Protocol::Http | Protocol::Https => {
                if topic.fifo {
                    return Err(invalid(format!(
                        "Invalid protocol type: {} for FIFO topic; FIFO topics deliver to SQS queues",
                        protocol.as_str()
                    )));
                }
                let scheme = format!("{}://", protocol.as_str());
                if !endpoint.to_ascii_lowercase().starts_with(&scheme) || endpoint.len() <= scheme.len() {
                    return Err(invalid("Endpoint must match the specified protocol"));
                }
            }
        }
        let settings = subscription_settings(protocol, attributes)?;
        let _admin = self.admin();
        for existing in topic.subscriptions() {
            let record = existing.record();
            if record.protocol == protocol && record.endpoint == endpoint {
                if attributes.iter().any(|(n, v)| record.attributes.get(n) != Some(v)) {
                    return Err(invalid(
                        "Attributes Reason: Subscription already exists with different attributes",
                    ));
                }
                return Ok(SubscribeOutcome {
                    arn: existing.arn.clone(),
                    pending: !record.confirmed,
                });
            }
        }
        if settings.filter.is_some() && self.filter_policy_count(&key.account, &key.region) >= MAX_FILTER_POLICIES {
            return Err(TopicError::FilterPolicyLimitExceeded(
                "Filter policy limit exceeded".into(),
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        // With accounts enforced (authentication on), a queue of another account than the
        // subscriber's must confirm, as on AWS: the queue gets a SubscriptionConfirmation and its
        // owner calls ConfirmSubscription with the token.
        let foreign_queue = match protocol {
            Protocol::Sqs => queue_arn::parse_queue_arn(endpoint)
                .filter(|(_, account, _)| ctx.cross_account_check.is_some() && *account != owner)
                .map(|(region, account, name)| QueueKey::new(account, region, name)),
            Protocol::Http | Protocol::Https => None,
        };
        let confirmed = protocol == Protocol::Sqs && foreign_queue.is_none();
        let token = (!confirmed).then(confirmation_token);
        let record = SubscriptionRecord {
            id: id.clone(),
            topic: key.clone(),
            protocol,
            endpoint: endpoint.to_string(),
            owner: owner.to_string(),
            attributes: attributes.clone(),
            confirmed,
            token: token.clone(),
            authenticated: false,
        };
        let sub = Arc::new(Subscription {
            arn: format!("{}:{id}", topic.arn),
            record: Mutex::new(record.clone()),
            settings: RwLock::new(Arc::new(settings)),
        });
        let pending_entry = match &token {
            Some(token) => Some(self.confirmation_entry(&topic, &sub, "SubscriptionConfirmation", token, ctx)?),
            None => None,
        };
        let staged = match (foreign_queue, pending_entry) {
            (Some(queue), Some(entry)) => {
                self.send_queue_confirmation(&record, queue, entry)?;
                None
            }
            (_, pending_entry) => {
                let mut batch = self.store.batch();
                Self::persist_subscription(&record, &mut batch)?;
                let staged = self.outbox.stage_optional(pending_entry, &mut batch)?;
                self.store.commit(batch)?;
                staged
            }
        };
        topic
            .subscriptions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(sub.clone());
        self.subscriptions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(sub.arn.clone(), sub.clone());
        self.outbox.schedule_optional(staged);
        Ok(SubscribeOutcome {
            arn: sub.arn.clone(),
            pending: !confirmed,
        })
    }

    /// Stores a pending queue subscription and puts its SubscriptionConfirmation into the queue
    /// in one commit. A queue that cannot take it (gone, say) leaves the subscription pending.
    fn send_queue_confirmation(&self, record: &SubscriptionRecord, queue: QueueKey, entry: OutboxEntry) -> Result<()> {
        let fifo = queue.name.ends_with(".fifo");
        let message = crate::queue::message::NewMessage {
            body: entry.body,
            delay_seconds: None,
            attributes: Default::default(),
            system_attributes: Default::default(),
            sender_id: SNS_SENDER_ID.to_string(),
            group_id: fifo.then(|| record.topic.arn()),
            deduplication_id: fifo.then(|| entry.message_id.clone()),
        };
        let results = self.queues.send_fanout(vec![(queue, message)], |batch| {
            Self::persist_subscription(record, batch)
        })?;
        if let Some(Err(err)) = results.first() {
            tracing::warn!(subscription = %entry.subscription_arn, error = %err, "subscription confirmation could not be put into the queue");
        }
        Ok(())
    }

    /// Confirms a pending HTTP/S subscription with the token it was sent.
    pub fn confirm_subscription(&self, key: &TopicKey, token: &str, authenticated: bool) -> Result<String> {
        let topic = self.lookup(key)?;
        let _admin = self.admin();
        for sub in topic.subscriptions() {
            let mut record = sub.record();
            if record.token.as_deref() != Some(token) {
                continue;
            }
            if !record.confirmed {
                let mut updated = record.clone();
                updated.confirmed = true;
                updated.authenticated = authenticated;
                let mut batch = self.store.batch();
                Self::persist_subscription(&updated, &mut batch)?;
                self.store.commit(batch)?;
                *record = updated;
            }
            return Ok(sub.arn.clone());
        }
        Err(invalid("Token"))
    }

    /// Deletes a subscription; HTTP/S endpoints get an UnsubscribeConfirmation.
    pub fn unsubscribe(&self, arn: &str, ctx: &PublishContext) -> Result<()> {
        let sub = self.lookup_subscription(arn)?;
        let topic_key = sub.record().topic.clone();
        let topic = self.lookup(&topic_key)?;
        let _admin = self.admin();
        let record = sub.record().clone();
        let mut batch = self.store.batch();
        batch.delete(Cf::Meta, &topic_key.subscription_key(&record.id));
        let mut topic_record = topic.record().clone();
        topic_record.deleted_subscriptions += 1;
        self.persist_topic(&topic_key, &topic_record, &mut batch)?;
        let goodbye = match (record.protocol, &record.token, record.confirmed) {
            (Protocol::Http | Protocol::Https, Some(token), true) => {
                Some(self.confirmation_entry(&topic, &sub, "UnsubscribeConfirmation", token, ctx)?)
            }
            _ => None,
        };
        let staged = self.outbox.stage_optional(goodbye, &mut batch)?;
        self.store.commit(batch)?;
        *topic.record() = topic_record;
        topic
            .subscriptions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|s| s.arn != arn);
        self.subscriptions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(arn);
        self.outbox.schedule_optional(staged);
        Ok(())
    }

    fn summary(sub: &Subscription) -> SubscriptionSummary {
        let record = sub.record();
        SubscriptionSummary {
            subscription_arn: if record.confirmed {
                sub.arn.clone()
            } else {
                "PendingConfirmation".into()
            },
            owner: record.owner.clone(),
            protocol: record.protocol.as_str().into(),
            endpoint: record.endpoint.clone(),
            topic_arn: record.topic.arn(),
        }
    }

    /// ListSubscriptions for one account and region, 100 per page.
    pub fn list_subscriptions(
        &self,
        account: &str,
        region: &str,
        next_token: Option<&str>,
    ) -> Result<ArnPage<SubscriptionSummary>> {
        let after = page_after(next_token)?;
        let mut items: Vec<(String, SubscriptionSummary)> = {
            let subs = self.subscriptions.read().unwrap_or_else(|p| p.into_inner());
            subs.values()
                .filter(|s| {
                    let r = s.record();
                    r.topic.account == account && r.topic.region == region
                })
                .map(|s| (s.arn.clone(), Self::summary(s)))
                .collect()
        };
        items.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(paginate(&items, after))
    }

    /// ListSubscriptionsByTopic, 100 per page.
    pub fn list_subscriptions_by_topic(
        &self,
        key: &TopicKey,
        next_token: Option<&str>,
    ) -> Result<ArnPage<SubscriptionSummary>> {
        let topic = self.lookup(key)?;
        let after = page_after(next_token)?;
        let mut items: Vec<(String, SubscriptionSummary)> = topic
            .subscriptions()
            .iter()
            .map(|s| (s.arn.clone(), Self::summary(s)))
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(paginate(&items, after))
    }

    /// The topic a subscription belongs to, for authorization.
    pub fn subscription_topic(&self, arn: &str) -> Result<TopicKey> {
        Ok(self.lookup_subscription(arn)?.record().topic.clone())
    }

    /// Who may delete a subscription, for authorization of Unsubscribe.
    pub fn unsubscribe_rule(&self, arn: &str) -> Result<UnsubscribeRule> {
        let sub = self.lookup_subscription(arn)?;
        let record = sub.record();
        Ok(UnsubscribeRule {
            topic: record.topic.clone(),
            owner: record.owner.clone(),
            requires_authentication: record.authenticated || record.protocol == Protocol::Sqs,
        })
    }

    /// Every subscription attribute, with AWS's defaults.
    pub fn get_subscription_attributes(&self, arn: &str) -> Result<BTreeMap<String, String>> {
        let sub = self.lookup_subscription(arn)?;
        let record = sub.record().clone();
        let mut out = record.attributes.clone();
        out.insert("SubscriptionArn".into(), sub.arn.clone());
        out.insert("TopicArn".into(), record.topic.arn());
        out.insert("Owner".into(), record.owner.clone());
        out.insert("Protocol".into(), record.protocol.as_str().into());
        out.insert("Endpoint".into(), record.endpoint.clone());
        out.insert("PendingConfirmation".into(), (!record.confirmed).to_string());
        out.insert("ConfirmationWasAuthenticated".into(), record.authenticated.to_string());
        out.entry("RawMessageDelivery".into()).or_insert_with(|| "false".into());
        if out.contains_key("FilterPolicy") {
            out.entry("FilterPolicyScope".into())
                .or_insert_with(|| "MessageAttributes".into());
        }
        if record.protocol != Protocol::Sqs {
            let topic_policy = self
                .lookup(&record.topic)
                .ok()
                .and_then(|t| t.record().attributes.get("DeliveryPolicy").cloned())
                .unwrap_or_default();
            let topic_policy = TopicDeliveryPolicy::parse(&topic_policy).unwrap_or_default();
            let effective = sub.settings().delivery.effective(&topic_policy);
            let mut doc = serde_json::json!({
                "healthyRetryPolicy": effective.retry.to_json(),
                "requestPolicy": {"headerContentType": effective.content_type},
            });
            if let (Some(rate), Some(object)) = (effective.max_receives_per_second, doc.as_object_mut()) {
                object.insert(
                    "throttlePolicy".into(),
                    serde_json::json!({ "maxReceivesPerSecond": rate }),
                );
            }
            out.insert("EffectiveDeliveryPolicy".into(), doc.to_string());
        }
        Ok(out)
    }

    /// Sets one subscription attribute.
    pub fn set_subscription_attribute(&self, arn: &str, name: &str, value: &str) -> Result<()> {
        let sub = self.lookup_subscription(arn)?;
        let _admin = self.admin();
        let mut record = sub.record();
        let mut updated = record.clone();
        let clearable = matches!(name, "FilterPolicy" | "RedrivePolicy" | "DeliveryPolicy");
        if value.is_empty() && clearable {
            updated.attributes.remove(name);
        } else {
            updated.attributes.insert(name.to_string(), value.to_string());
        }
        let settings = subscription_settings(updated.protocol, &updated.attributes)?;
        let adds_filter = name == "FilterPolicy" && !value.is_empty() && !record.attributes.contains_key(name);
        if adds_filter {
            let (account, region) = (record.topic.account.clone(), record.topic.region.clone());
            drop(record);
            if self.filter_policy_count(&account, &region) >= MAX_FILTER_POLICIES {
                return Err(TopicError::FilterPolicyLimitExceeded(
                    "Filter policy limit exceeded".into(),
                ));
            }
            record = sub.record();
        }
        let mut batch = self.store.batch();
        Self::persist_subscription(&updated, &mut batch)?;
        self.store.commit(batch)?;
        *record = updated;
        *sub.settings.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(settings);
        Ok(())
    }

    /// The owner account of a topic, for authorization; `None` when it does not exist.
    pub fn topic_policy(&self, key: &TopicKey) -> Option<String> {
        let topic = self.lookup(key).ok()?;
        let policy = topic.record().attributes.get("Policy").cloned();
        Some(policy.unwrap_or_else(|| default_policy(&topic.arn, &key.account)))
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
                    deliveries: [Protocol::Sqs, Protocol::Http, Protocol::Https]
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

fn not_found_resource() -> TopicError {
    TopicError::ResourceNotFound("Resource does not exist".into())
}

/// A confirmation token: 128 random bits, hex, like AWS's long hex tokens.
fn confirmation_token() -> String {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    format!("{}{}", a.simple(), b.simple())
}

#[cfg(test)]
mod tests;
