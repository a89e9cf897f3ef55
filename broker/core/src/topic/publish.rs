//! Publish and PublishBatch: validate against the topic, pick the matching subscriptions,
//! render what each receives, and commit every queue delivery and outbox entry in one batch.

use std::collections::HashMap;
use std::sync::{Arc, MutexGuard};

use sha2::{Digest, Sha256};

use super::envelope::{self, ConfirmationDoc, NotificationDoc, SignatureFields};
use super::error::{invalid, Result};
use super::filter::{AttributeRef, FilterScope};
use super::outbox::OutboxEntry;
use super::signing::{self, MessageKind, SignatureVersion, SignedFields};
use super::{Protocol, Subscription, Topic, TopicError, TopicKey, Topics, SIGNING_CERT_PATH, SNS_SENDER_ID};
use crate::queue::message::{MessageAttributes, NewMessage};
use crate::queue::QueueKey;

/// How long a FIFO topic remembers a deduplication id (five minutes, as SNS).
const DEDUPLICATION_WINDOW_MS: u64 = 300_000;

/// Decides whether SNS may deliver from a topic (first ARN) to another account's queue (second
/// ARN): the queue's policy must allow `sns.amazonaws.com`, as on AWS.
pub type QueueDeliveryCheck = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// How a publish reaches subscribers: where the broker is reachable from them (the base of
/// SigningCertURL, SubscribeURL and UnsubscribeURL: the request's host, or the configured
/// public URL), and who decides deliveries to other accounts' queues.
#[derive(Clone)]
pub struct PublishContext {
    /// `scheme://host[:port]`, without a trailing slash.
    pub base_url: String,
    /// With authentication on: the check for cross-account queue deliveries (`None` delivers).
    pub cross_account_check: Option<QueueDeliveryCheck>,
}

impl std::fmt::Debug for PublishContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishContext")
            .field("base_url", &self.base_url)
            .field("cross_account_check", &self.cross_account_check.is_some())
            .finish()
    }
}

/// One message to publish, shape-validated by the wire layer.
#[derive(Debug, Clone, Default)]
pub struct PublishMessage {
    /// The message, or with `json_structure` a JSON object of per-protocol messages.
    pub message: String,
    /// Subject for the envelope.
    pub subject: Option<String>,
    /// MessageStructure=json.
    pub json_structure: bool,
    /// Message attributes.
    pub attributes: MessageAttributes,
    /// FIFO: the message group.
    pub group_id: Option<String>,
    /// FIFO: the deduplication id.
    pub deduplication_id: Option<String>,
}

/// What a successful publish reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The SNS message id.
    pub message_id: String,
    /// FIFO topics: the publish's sequence number.
    pub sequence_number: Option<String>,
}

/// Key prefix of FIFO topic deduplication entries in `dedupe`: topic id | SHA-256 of the id.
const TOPIC_DEDUPE_PREFIX: u8 = 0x21;

/// Meta key prefix of a FIFO topic's last sequence number: topic id.
const TOPIC_SEQ_PREFIX: u8 = 0x64;

type Digest32 = [u8; 32];

/// A put a FIFO publish adds to its batch: column family, key and value.
type FifoWrite = (sluice_storage::Cf, Vec<u8>, Vec<u8>);

/// The prefix of every deduplication entry of topic `topic_id`.
pub(super) fn dedupe_prefix(topic_id: u64) -> Vec<u8> {
    let mut prefix = Vec::with_capacity(41);
    prefix.push(TOPIC_DEDUPE_PREFIX);
    prefix.extend_from_slice(&topic_id.to_be_bytes());
    prefix
}

/// The Meta key of topic `topic_id`'s last sequence number.
pub(super) fn last_seq_key(topic_id: u64) -> Vec<u8> {
    sluice_storage::key::KeyBuf::new(TOPIC_SEQ_PREFIX)
        .u64(topic_id)
        .finish()
}

fn dedupe_key(topic_id: u64, digest: &Digest32) -> Vec<u8> {
    let mut key = dedupe_prefix(topic_id);
    key.extend_from_slice(digest);
    key
}

/// `expires_ms | sequence | message id`.
fn encode_dedupe(expires: u64, published: &Published) -> Vec<u8> {
    let mut value = Vec::with_capacity(52);
    value.extend_from_slice(&expires.to_be_bytes());
    let seq: u64 = published
        .sequence_number
        .as_deref()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    value.extend_from_slice(&seq.to_be_bytes());
    value.extend_from_slice(published.message_id.as_bytes());
    value
}

fn decode_dedupe(value: &[u8]) -> Option<(u64, Published)> {
    let expires = sluice_storage::key::read_u64(value, 0)?;
    let seq = sluice_storage::key::read_u64(value, 8)?;
    let message_id = std::str::from_utf8(value.get(16..)?).ok()?.to_string();
    Some((
        expires,
        Published {
            message_id,
            sequence_number: Some(format!("{seq:020}")),
        },
    ))
}

/// A FIFO topic's sequence, and the deduplication ids of its publishes whose commit is still
/// in flight. Committed ids live in `dedupe` only (one point read per publish; compactions drop
/// expired entries, see `Cf::Dedupe`): the window costs no memory and survives a restart.
#[derive(Debug, Default)]
pub(super) struct FifoState {
    last_seq: u64,
    next_ticket: u64,
    /// Ids taken by publishes in flight, with the ticket of the publish that took them.
    in_flight: HashMap<Digest32, u64>,
}

impl FifoState {
    /// The state of topic `topic_id`: its last sequence, as every publish stores it. Data
    /// written before that key existed has it only in the deduplication entries, read then.
    pub(super) fn load(store: &sluice_storage::Store, topic_id: u64) -> Result<FifoState> {
        let mut state = FifoState::default();
        let stored = store.get(sluice_storage::Cf::Meta, &last_seq_key(topic_id))?;
        if let Some(seq) = stored.and_then(|v| sluice_storage::key::read_u64(&v, 0)) {
            state.last_seq = seq;
            return Ok(state);
        }
        let prefix = dedupe_prefix(topic_id);
        for (_, value) in store.scan_prefix(sluice_storage::Cf::Dedupe, &prefix)? {
            if let Some(seq) = sluice_storage::key::read_u64(&value, 8) {
                state.last_seq = state.last_seq.max(seq);
            }
        }
        Ok(state)
    }

    /// Sequence numbers grow with time so they stay increasing across restarts.
    fn next_seq(&mut self, now: u64) -> u64 {
        self.last_seq = (self.last_seq + 1).max(now.saturating_mul(1_000_000));
        self.last_seq
    }

    /// Whether a publish in flight took id `digest`.
    fn in_flight(&self, digest: &Digest32) -> bool {
        self.in_flight.contains_key(digest)
    }

    /// Marks `ids` taken by a publish about to commit; returns its ticket.
    fn begin(&mut self, ids: &[Digest32]) -> u64 {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        for id in ids {
            self.in_flight.insert(*id, ticket);
        }
        ticket
    }

    /// The publish `ticket` is over: its ids are on disk if it committed, free if not.
    fn finish(&mut self, ticket: u64, ids: &[Digest32]) {
        for id in ids {
            if self.in_flight.get(id) == Some(&ticket) {
                self.in_flight.remove(id);
            }
        }
    }
}

/// The live original of deduplication id `digest` in topic `topic_id` at `now`, as stored.
fn stored_original(
    store: &sluice_storage::Store,
    topic_id: u64,
    digest: &Digest32,
    now: u64,
) -> Result<Option<Published>> {
    let Some(value) = store.get(sluice_storage::Cf::Dedupe, &dedupe_key(topic_id, digest))? else {
        return Ok(None);
    };
    match decode_dedupe(&value) {
        Some((expires, published)) => Ok(Some(published).filter(|_| expires > now)),
        None => {
            // Unreadable, it deduplicates nothing: the publish takes the id and overwrites it.
            tracing::warn!(topic_id, "ignoring an unreadable topic deduplication entry");
            Ok(None)
        }
    }
}

/// The deduplication id of a FIFO publish, when it has one (explicit, or the message's hash).
fn deduplication_id(msg: &PublishMessage, content_dedupe: bool) -> Option<String> {
    match (&msg.deduplication_id, content_dedupe) {
        (Some(id), _) => Some(id.clone()),
        (None, true) => Some(hex::encode(Sha256::digest(msg.message.as_bytes()))),
        (None, false) => None,
    }
}

/// A FIFO publish's deduplication ids while its commit is in flight: a resend of one waits for
/// the outcome ([`lock_settled`]). Dropped when the publish returns (after its commit and the
/// dead letters it sends, or on any way out), it frees them at topic level: if the commit went
/// through, they are on disk by then.
struct InFlightIds<'t> {
    topic: &'t Topic,
    ticket: u64,
    ids: Vec<Digest32>,
    /// The topic's lock until [`InFlightIds::hand_over`]: kept here so that dropping this
    /// early, on any way out, never waits for a lock this thread holds.
    lock: Option<MutexGuard<'t, FifoState>>,
}

impl<'t> InFlightIds<'t> {
    /// Marks `ids` taken by a publish about to commit, under the topic's `lock`.
    fn begin(topic: &'t Topic, mut lock: MutexGuard<'t, FifoState>, ids: Vec<Digest32>) -> InFlightIds<'t> {
        let ticket = lock.begin(&ids);
        InFlightIds {
            topic,
            ticket,
            ids,
            lock: Some(lock),
        }
    }

    /// The topic's lock, for the commit to let go once it has its place in the log.
    fn hand_over(&mut self) -> Option<MutexGuard<'t, FifoState>> {
        self.lock.take()
    }
}

impl Drop for InFlightIds<'_> {
    fn drop(&mut self) {
        let mut state = self.lock.take().unwrap_or_else(|| self.topic.fifo_state());
        state.finish(self.ticket, &self.ids);
        drop(state);
        self.topic.fifo_settled.notify_all();
    }
}

/// Takes FIFO topic `topic`'s lock once no publish in flight holds one of the deduplication ids
/// of `messages`: the answer to a resend depends on whether its original committed, so a
/// resend waits for that before it takes a sequence (publishes with other ids may go first).
fn lock_settled<'t>(topic: &'t Topic, messages: &[PublishMessage], content_dedupe: bool) -> MutexGuard<'t, FifoState> {
    let ids: Vec<Digest32> = messages
        .iter()
        .filter_map(|m| deduplication_id(m, content_dedupe))
        .map(|id| digest(&id))
        .collect();
    let mut state = topic.fifo_state();
    // Bounded by the publishes in flight, whose waits for the log end in an outcome.
    while ids.iter().any(|id| state.in_flight(id)) {
        state = sluice_storage::wait_blocking(|| topic.fifo_settled.wait(state).unwrap_or_else(|p| p.into_inner()));
    }
    state
}

fn digest(id: &str) -> Digest32 {
    Sha256::digest(id.as_bytes()).into()
}

/// The per-protocol messages of one publish.
pub(super) struct Messages {
    default: String,
    by_protocol: HashMap<String, String>,
}

impl Messages {
    pub(super) fn parse(msg: &PublishMessage) -> Result<Messages> {
        if !msg.json_structure {
            return Ok(Messages {
                default: msg.message.clone(),
                by_protocol: HashMap::new(),
            });
        }
        let parsed: serde_json::Value = serde_json::from_str(&msg.message)
            .map_err(|_| invalid("Message Structure - JSON message body failed to parse"))?;
        let Some(object) = parsed.as_object() else {
            return Err(invalid("Message Structure - JSON message body failed to parse"));
        };
        let Some(default) = object.get("default") else {
            return Err(invalid("Message Structure - No default entry in JSON message body"));
        };
        let text = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Ok(Messages {
            default: text(default),
            by_protocol: object.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        })
    }

    pub(super) fn for_protocol(&self, protocol: Protocol) -> &str {
        self.by_protocol
            .get(protocol.as_str())
            .map_or(self.default.as_str(), String::as_str)
    }
}

/// Percent-encodes a query-string value (RFC 3986 unreserved characters pass).
pub(super) fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn unsubscribe_url(ctx: &PublishContext, sub_arn: &str) -> String {
    format!(
        "{}/?Action=Unsubscribe&SubscriptionArn={}",
        ctx.base_url,
        query_escape(sub_arn)
    )
}

fn signing_cert_url(ctx: &PublishContext) -> String {
    format!("{}{SIGNING_CERT_PATH}", ctx.base_url)
}

/// Whether `sub`'s filter policy lets `msg` through (also the console's "which subscriptions
/// match", so both answer alike).
pub(super) fn filter_matches(
    sub_filter: Option<&super::filter::FilterPolicy>,
    scope_body: &str,
    msg: &PublishMessage,
) -> bool {
    let Some(policy) = sub_filter else {
        return true;
    };
    match policy.scope() {
        FilterScope::MessageAttributes => {
            let lookup = |name: &str| {
                msg.attributes.get(name).map(|a| AttributeRef {
                    data_type: a.data_type.as_str(),
                    string_value: a.string_value.as_deref(),
                })
            };
            policy.matches_attributes(&lookup)
        }
        FilterScope::MessageBody => match serde_json::from_str::<serde_json::Value>(scope_body) {
            Ok(body) => policy.matches_body(&body),
            Err(_) => false,
        },
    }
}

/// Signing is computation, not a disk read: a failure is internal.
fn signing_failed(err: signing::SigningError) -> TopicError {
    TopicError::Internal(format!("sns message signing: {err}"))
}

impl Topics {
    /// Publishes `messages` to the topic: one commit for every delivery of every message.
    /// The outer error is topic-level; each message has its own result.
    pub fn publish(
        &self,
        key: &TopicKey,
        messages: Vec<PublishMessage>,
        ctx: &PublishContext,
    ) -> Result<Vec<Result<Published>>> {
        let topic = self.lookup(key)?;
        let (version, delivery_policy, content_dedupe) = {
            let record = topic.record();
            let (version, policy) = delivery_settings(&record.attributes);
            let content = record.attributes.get("ContentBasedDeduplication").map(String::as_str) == Some("true");
            (version, policy, content)
        };
        // FIFO publishes stage one at a time per topic, so that its queues receive them in
        // sequence order; the lock is let go once the commit has its place in the log
        // (`send_fanout_holding`), not held while the log answers.
        let mut fifo = topic.fifo.then(|| lock_settled(&topic, &messages, content_dedupe));
        // Deleted while this waited: nothing may be written under the topic's id any more.
        if fifo.is_some() && topic.deleted.load(std::sync::atomic::Ordering::Acquire) {
            return Err(TopicError::NotFound("Topic does not exist".into()));
        }
        let now = self.clock.now_ms();
        let timestamp = envelope::iso8601_ms(now);
        let subscriptions: Vec<Arc<Subscription>> = topic
            .subscriptions()
            .into_iter()
            .filter(|s| s.record().confirmed)
            .collect();
        let topic_id = topic.record().id;
        let cert_url = signing_cert_url(ctx);
        let mut results = Vec::with_capacity(messages.len());
        let mut deliveries: Vec<(QueueKey, NewMessage)> = Vec::new();
        // For each queue delivery: the subscription, for its dead-letter queue if it fails.
        let mut delivery_subs: Vec<Arc<Subscription>> = Vec::new();
        // Deliveries another account's queue policy refuses: failed deliveries, as on AWS.
        let mut refused: Vec<(Arc<Subscription>, NewMessage)> = Vec::new();
        let topic_account = topic.arn.split(':').nth(4).unwrap_or_default().to_string();
        let mut cross_account_allowed: HashMap<String, bool> = HashMap::new();
        let mut outbox_entries: Vec<OutboxEntry> = Vec::new();
        let mut fresh: Vec<(String, Published)> = Vec::new();
        for msg in messages {
            let published = match self.publish_one(topic_id, fifo.as_deref_mut(), &fresh, &msg, content_dedupe, now) {
                Ok(Ok(published)) => published,
                Ok(Err(duplicate)) => {
                    results.push(Ok(duplicate));
                    continue;
                }
                Err(err) => {
                    results.push(Err(err));
                    continue;
                }
            };
            let texts = match Messages::parse(&msg) {
                Ok(t) => t,
                Err(err) => {
                    results.push(Err(err));
                    continue;
                }
            };
            // A FIFO publish that got this far has an id (`publish_one`).
            let dedup_id = topic.fifo.then(|| deduplication_id(&msg, true)).flatten();
            // Signatures depend only on the message text, so one per distinct text.
            let mut signatures: HashMap<String, String> = HashMap::new();
            for sub in &subscriptions {
                let settings = sub.settings();
                let (protocol, endpoint) = {
                    let record = sub.record();
                    (record.protocol, record.endpoint.clone())
                };
                let text = texts.for_protocol(protocol);
                if !filter_matches(settings.filter.as_ref(), text, &msg) {
                    continue;
                }
                let body = if settings.raw {
                    text.to_string()
                } else {
                    let signature = match signatures.get(text) {
                        Some(s) => s.clone(),
                        None => {
                            let key = self.signing_key()?;
                            let fields = SignedFields {
                                kind: MessageKind::Notification,
                                message: text,
                                message_id: &published.message_id,
                                subject: msg.subject.as_deref(),
                                subscribe_url: None,
                                timestamp: &timestamp,
                                token: None,
                                topic_arn: &topic.arn,
                            };
                            let s = key
                                .sign(version, &signing::string_to_sign(&fields))
                                .map_err(signing_failed)?;
                            signatures.insert(text.to_string(), s.clone());
                            s
                        }
                    };
                    envelope::notification_json(&NotificationDoc {
                        message_id: &published.message_id,
                        sequence_number: published.sequence_number.as_deref(),
                        topic_arn: &topic.arn,
                        subject: msg.subject.as_deref(),
                        message: text,
                        timestamp: &timestamp,
                        signature: SignatureFields {
                            version: version.as_str(),
                            signature: &signature,
                            signing_cert_url: &cert_url,
                        },
                        unsubscribe_url: &unsubscribe_url(ctx, &sub.arn),
                        attributes: &msg.attributes,
                    })
                };
                match protocol {
                    Protocol::Sqs => {
                        let Some(queue) = QueueKey::from_arn(&endpoint) else {
                            continue;
                        };
                        // Asked once per queue per publish call, not once per message of a batch.
                        let allowed = queue.account == topic_account
                            || *cross_account_allowed.entry(endpoint.clone()).or_insert_with(|| {
                                ctx.cross_account_check
                                    .as_ref()
                                    .is_none_or(|check| check(&topic.arn, &endpoint))
                            });
                        let message = NewMessage {
                            body,
                            delay_seconds: None,
                            attributes: if settings.raw {
                                msg.attributes.clone()
                            } else {
                                MessageAttributes::new()
                            },
                            system_attributes: MessageAttributes::new(),
                            sender_id: SNS_SENDER_ID.to_string(),
                            group_id: msg.group_id.clone(),
                            deduplication_id: if queue.name.ends_with(".fifo") {
                                dedup_id.clone()
                            } else {
                                None
                            },
                        };
                        if allowed {
                            deliveries.push((queue, message));
                            delivery_subs.push(sub.clone());
                        } else {
                            refused.push((sub.clone(), message));
                        }
                    }
                    Protocol::Http | Protocol::Https | Protocol::Lambda => {
                        let effective = settings.delivery.effective(&delivery_policy);
                        // A function gets the notification wrapped in AWS's SNS event when it is
                        // invoked; the outbox keeps the notification itself, which is what a
                        // dead-letter queue receives.
                        let (content_type, retry) = if protocol == Protocol::Lambda {
                            (
                                "application/json".to_string(),
                                super::delivery_policy::RetryPolicy::managed_endpoint(),
                            )
                        } else {
                            (effective.content_type, effective.retry)
                        };
                        outbox_entries.push(OutboxEntry {
                            subscription_arn: sub.arn.clone(),
                            topic_arn: topic.arn.clone(),
                            endpoint,
                            message_type: "Notification".into(),
                            message_id: published.message_id.clone(),
                            body,
                            content_type,
                            raw: settings.raw,
                            retry,
                            max_per_second: effective.max_receives_per_second,
                            failures: 0,
                            due_ms: now,
                            created_ms: now,
                            dead_letter_arn: settings.dead_letter_arn.clone(),
                        });
                    }
                }
            }
            if let Some(id) = dedup_id {
                fresh.push((id, published.clone()));
            }
            topic
                .counters
                .publishes
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            results.push(Ok(published));
        }
        let expires = now + DEDUPLICATION_WINDOW_MS;
        let ids: Vec<Digest32> = fresh.iter().map(|(id, _)| digest(id)).collect();
        let mut fifo_writes: Vec<FifoWrite> = ids
            .iter()
            .zip(&fresh)
            .map(|(id, (_, published))| {
                let key = dedupe_key(topic_id, id);
                (sluice_storage::Cf::Dedupe, key, encode_dedupe(expires, published))
            })
            .collect();
        // The last sequence, so that a restart need not read every deduplication entry. Batches
        // reach the log in the order they were staged under the lock, and a failed one never
        // reaches it (or the store stops writing), so the stored value only grows.
        if let Some(state) = fifo.as_deref().filter(|_| !fresh.is_empty()) {
            let value = state.last_seq.to_be_bytes().to_vec();
            fifo_writes.push((sluice_storage::Cf::Meta, last_seq_key(topic_id), value));
        }
        // Taken until the commit is over, whatever its outcome.
        let mut in_flight = fifo.map(|lock| InFlightIds::begin(&topic, lock, ids));
        let held = in_flight.as_mut().and_then(InFlightIds::hand_over);
        self.commit_fanout(&topic, deliveries, delivery_subs, outbox_entries, fifo_writes, held)?;
        self.refuse_deliveries(&topic, refused);
        if topic.deleted.load(std::sync::atomic::Ordering::Acquire) {
            return Err(TopicError::NotFound("Topic does not exist".into()));
        }
        Ok(results)
    }

    /// Checks `msg` against the topic's type and assigns its id; `Ok(Err(original))` for a
    /// FIFO duplicate, which is answered like the original and not delivered again.
    fn publish_one(
        &self,
        topic_id: u64,
        fifo: Option<&mut FifoState>,
        fresh: &[(String, Published)],
        msg: &PublishMessage,
        content_dedupe: bool,
        now: u64,
    ) -> Result<std::result::Result<Published, Published>> {
        let message_id = uuid::Uuid::new_v4().to_string();
        let Some(state) = fifo else {
            if let Some(id) = &msg.deduplication_id {
                return Err(invalid(format!(
                    "MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter [{id}] that is not valid for this topic type"
                )));
            }
            return Ok(Ok(Published {
                message_id,
                sequence_number: None,
            }));
        };
        if msg.group_id.is_none() {
            return Err(invalid("The MessageGroupId parameter is required for FIFO topics"));
        }
        let Some(dedup_id) = deduplication_id(msg, content_dedupe) else {
            return Err(invalid(
                "The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
            ));
        };
        // Earlier in this call, or committed (ids in flight were waited for: `lock_settled`).
        let original = match fresh.iter().find(|(id, _)| *id == dedup_id) {
            Some((_, p)) => Some(p.clone()),
            None => stored_original(&self.store, topic_id, &digest(&dedup_id), now)?,
        };
        if let Some(original) = original {
            return Ok(Err(original));
        }
        let seq = state.next_seq(now);
        Ok(Ok(Published {
            message_id,
            sequence_number: Some(format!("{seq:020}")),
        }))
    }

    /// Counts deliveries refused by the queue's policy as failures and sends them to their
    /// subscription's dead-letter queue, as SNS does with a client-side delivery error.
    fn refuse_deliveries(&self, topic: &Topic, refused: Vec<(Arc<Subscription>, NewMessage)>) {
        let mut dead_letters = Vec::new();
        for (sub, message) in refused {
            topic.counters.count(Protocol::Sqs, false);
            let dlq = dead_letter_queue(&sub);
            tracing::warn!(subscription = %sub.arn, dead_letter = dlq.is_some(), "sns delivery refused by the queue's policy");
            dead_letters.extend(dlq.map(|key| (key, message)));
        }
        self.send_dead_letters(dead_letters);
    }

    /// Sends failed deliveries to their subscriptions' dead-letter queues, in one batch. A
    /// failure here is logged, not returned: the publish itself has committed.
    fn send_dead_letters(&self, dead_letters: Vec<(QueueKey, NewMessage)>) {
        if dead_letters.is_empty() {
            return;
        }
        if let Err(err) = self
            .queues
            .send_fanout(dead_letters, |_| Ok::<_, crate::queue::QueueError>(()))
        {
            tracing::warn!(error = %err, "sns dead-letter delivery failed");
        }
    }

    /// Commits queue deliveries, outbox entries and a FIFO publish's writes in one batch, or
    /// none of them: when an outbox entry cannot be staged the batch is dropped and the publish
    /// fails, so a retrying client does not duplicate the queue deliveries (issue 14). `held`
    /// (a FIFO topic's lock) is let go once the batch has its place in the log. Queue
    /// deliveries that fail (queue gone, message too large for it) go to their subscription's
    /// dead-letter queue, after that: two concurrent publishes' dead letters may arrive in
    /// either order.
    fn commit_fanout(
        &self,
        topic: &Topic,
        deliveries: Vec<(QueueKey, NewMessage)>,
        delivery_subs: Vec<Arc<Subscription>>,
        outbox_entries: Vec<OutboxEntry>,
        fifo_writes: Vec<FifoWrite>,
        held: impl Sized,
    ) -> Result<()> {
        if deliveries.is_empty() && outbox_entries.is_empty() && fifo_writes.is_empty() {
            return Ok(());
        }
        let bodies: Vec<NewMessage> = deliveries.iter().map(|(_, m)| m.clone()).collect();
        let mut staged = Vec::with_capacity(outbox_entries.len());
        let stage = |batch: &mut sluice_storage::Batch<'_>| {
            for (cf, key, value) in &fifo_writes {
                batch.put(*cf, key, value);
            }
            for entry in &outbox_entries {
                staged.push(self.outbox.stage(entry.clone(), batch)?);
            }
            Ok::<_, TopicError>(())
        };
        let results = self.queues.send_fanout_holding(deliveries, stage, held)?;
        for (s, entry) in staged.into_iter().zip(outbox_entries) {
            self.outbox.schedule(s, entry);
        }
        let mut dead_letters = Vec::new();
        for ((result, sub), message) in results.iter().zip(&delivery_subs).zip(bodies) {
            topic.counters.count(Protocol::Sqs, result.is_ok());
            let Err(err) = result else { continue };
            let dlq = dead_letter_queue(sub);
            tracing::warn!(subscription = %sub.arn, error = %err, dead_letter = dlq.is_some(), "sns delivery to queue failed");
            dead_letters.extend(dlq.map(|key| (key, message)));
        }
        self.send_dead_letters(dead_letters);
        self.outbox.record_queue_deliveries(&results);
        Ok(())
    }

    /// A SubscriptionConfirmation or UnsubscribeConfirmation for an HTTP/S subscription.
    pub(super) fn confirmation_entry(
        &self,
        topic: &Topic,
        sub: &Subscription,
        kind: &str,
        token: &str,
        ctx: &PublishContext,
    ) -> Result<OutboxEntry> {
        let (version, delivery_policy) = delivery_settings(&topic.record().attributes);
        let (message, message_kind) = if kind == "UnsubscribeConfirmation" {
            (
                format!(
                    "You have chosen to deactivate subscription {}.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.",
                    sub.arn
                ),
                MessageKind::UnsubscribeConfirmation,
            )
        } else {
            (
                format!(
                    "You have chosen to subscribe to the topic {}.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
                    topic.arn
                ),
                MessageKind::SubscriptionConfirmation,
            )
        };
        let message_id = uuid::Uuid::new_v4().to_string();
        let timestamp = envelope::iso8601_ms(self.clock.now_ms());
        let subscribe_url = format!(
            "{}/?Action=ConfirmSubscription&TopicArn={}&Token={}",
            ctx.base_url,
            query_escape(&topic.arn),
            query_escape(token)
        );
        let key = self.signing_key()?;
        let signature = key
            .sign(
                version,
                &signing::string_to_sign(&SignedFields {
                    kind: message_kind,
                    message: &message,
                    message_id: &message_id,
                    subject: None,
                    subscribe_url: Some(&subscribe_url),
                    timestamp: &timestamp,
                    token: Some(token),
                    topic_arn: &topic.arn,
                }),
            )
            .map_err(signing_failed)?;
        let body = envelope::confirmation_json(&ConfirmationDoc {
            kind,
            message_id: &message_id,
            token,
            topic_arn: &topic.arn,
            message: &message,
            subscribe_url: &subscribe_url,
            timestamp: &timestamp,
            signature: SignatureFields {
                version: version.as_str(),
                signature: &signature,
                signing_cert_url: &signing_cert_url(ctx),
            },
        });
        let record = sub.record().clone();
        let effective = sub.settings().delivery.effective(&delivery_policy);
        let now = self.clock.now_ms();
        Ok(OutboxEntry {
            subscription_arn: sub.arn.clone(),
            topic_arn: topic.arn.clone(),
            endpoint: record.endpoint,
            message_type: kind.to_string(),
            message_id,
            body,
            content_type: effective.content_type,
            raw: false,
            retry: effective.retry,
            max_per_second: effective.max_receives_per_second,
            failures: 0,
            due_ms: now,
            created_ms: now,
            dead_letter_arn: None,
        })
    }
}

/// How a topic's messages are signed and its HTTP deliveries retried, from its attributes
/// (SignatureVersion 1 unless "2"; the default policy when DeliveryPolicy is absent).
fn delivery_settings(
    attributes: &std::collections::BTreeMap<String, String>,
) -> (SignatureVersion, super::delivery_policy::TopicDeliveryPolicy) {
    let version = match attributes.get("SignatureVersion").map(String::as_str) {
        Some("2") => SignatureVersion::V2,
        _ => SignatureVersion::V1,
    };
    let policy =
        super::delivery_policy::TopicDeliveryPolicy::parse(attributes.get("DeliveryPolicy").map_or("", String::as_str))
            .unwrap_or_default();
    (version, policy)
}

/// The queue a subscription's RedrivePolicy names, if it has one that parses.
fn dead_letter_queue(sub: &Subscription) -> Option<QueueKey> {
    QueueKey::from_arn(sub.settings().dead_letter_arn.as_deref()?)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A restart reads a FIFO topic's last sequence from its own key, not from deduplication
    /// entries that compactions may have dropped; data written before that key still loads it
    /// from the entries.
    #[tokio::test]
    async fn a_fifo_topics_last_sequence_outlives_its_deduplication_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_queues, topics) = super::super::tests::open(dir.path());
        let t = TopicKey::new("000000000000", "us-east-1", "seq.fifo");
        let attrs: BTreeMap<String, String> = [("FifoTopic".to_string(), "true".to_string())].into();
        topics.create_topic(&t, &attrs, &BTreeMap::new()).expect("create");
        let msg = PublishMessage {
            message: "m".into(),
            group_id: Some("g".into()),
            deduplication_id: Some("d".into()),
            ..PublishMessage::default()
        };
        let ctx = PublishContext {
            base_url: "http://127.0.0.1:4566".into(),
            cross_account_check: None,
        };
        let published = topics
            .publish(&t, vec![msg.clone()], &ctx)
            .expect("publish")
            .remove(0)
            .expect("published");
        let last: u64 = published
            .sequence_number
            .as_deref()
            .and_then(|s| s.parse().ok())
            .expect("a sequence");
        let id = topics.lookup(&t).expect("topic").record().id;
        let store = &topics.store;
        let prefix = dedupe_prefix(id);
        let mut batch = store.batch();
        batch.delete_range(
            sluice_storage::Cf::Dedupe,
            &prefix,
            &sluice_storage::key::prefix_end(&prefix),
        );
        store.commit(batch).expect("drop the entries");
        assert_eq!(FifoState::load(store, id).expect("load").last_seq, last);
        // Written before the key existed: the entries are all there is.
        let mut batch = store.batch();
        batch.delete(sluice_storage::Cf::Meta, &last_seq_key(id));
        batch.put(
            sluice_storage::Cf::Dedupe,
            &dedupe_key(id, &digest("d")),
            &encode_dedupe(u64::MAX, &published),
        );
        store.commit(batch).expect("back to the old layout");
        assert_eq!(FifoState::load(store, id).expect("load").last_seq, last);
        // Deleting the topic leaves nothing of it behind.
        topics
            .publish(&t, vec![msg], &ctx)
            .expect("publish")
            .remove(0)
            .expect("published");
        topics.delete_topic(&t).expect("delete");
        assert_eq!(
            store.get(sluice_storage::Cf::Meta, &last_seq_key(id)).expect("get"),
            None
        );
        assert!(store
            .scan_prefix(sluice_storage::Cf::Dedupe, &prefix)
            .expect("scan")
            .is_empty());
        assert!(matches!(
            topics.publish(&t, vec![PublishMessage::default()], &ctx),
            Err(TopicError::NotFound(_))
        ));
    }
}
