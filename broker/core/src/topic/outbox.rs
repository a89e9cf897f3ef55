//! The durable outbox of HTTP/S deliveries.
//!
//! Each pending delivery is one `outbox` entry (delivery id → entry with its retry state),
//! written in the publish's own batch, so a delivery the broker acknowledged is never lost and
//! resumes after a restart. In memory the outbox keeps the entries and a due-time schedule; the
//! worker ([`Topics::run_outbox`]) posts due entries concurrently, at most
//! [`PER_ENDPOINT_CONCURRENCY`] at a time per endpoint so a slow endpoint delays only itself.
//! A failed attempt is retried on the subscription's retry policy; once retries are exhausted
//! the message goes to the subscription's dead-letter queue (RedrivePolicy), else it is dropped.
//! The core knows nothing of HTTP: the server supplies an [`HttpTransport`].

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sluice_storage::{Cf, Store};
use tokio::sync::{Notify, Semaphore};

use super::console::{DeliveryBacklog, RetryingDelivery};
use super::delivery_policy::RetryPolicy;
use super::error::Result;
use super::{decode_json, encode_json, Topics, SNS_SENDER_ID};
use crate::queue::message::{MessageAttributes, NewMessage, SentMessage};
use crate::queue::QueueKey;

/// Concurrent posts to one endpoint.
pub const PER_ENDPOINT_CONCURRENCY: usize = 16;

/// One pending delivery, as persisted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The subscription it is for.
    pub subscription_arn: String,
    /// Its topic.
    pub topic_arn: String,
    /// The URL to POST to.
    pub endpoint: String,
    /// `Notification`, `SubscriptionConfirmation` or `UnsubscribeConfirmation`.
    pub message_type: String,
    /// The SNS message id.
    pub message_id: String,
    /// The request body (JSON document, or the raw message).
    pub body: String,
    /// The Content-Type header.
    pub content_type: String,
    /// Raw message delivery.
    pub raw: bool,
    /// The retry schedule in effect when it was published.
    pub retry: RetryPolicy,
    /// Failed attempts so far.
    pub failures: u64,
    /// When the next attempt is due (epoch ms).
    pub due_ms: u64,
    /// Where the message goes when retries are exhausted.
    pub dead_letter_arn: Option<String>,
    /// The subscription's throttle: deliveries per second to the endpoint.
    #[serde(default)]
    pub max_per_second: Option<u32>,
    /// When it was staged (epoch ms), for the console's oldest pending age; 0 in entries
    /// stored before this was kept.
    #[serde(default)]
    pub created_ms: u64,
}

impl OutboxEntry {
    /// The HTTP request that delivers this entry, with AWS's `x-amz-sns-*` headers.
    pub fn request(&self) -> HttpRequest {
        let mut headers = vec![
            ("x-amz-sns-message-type", self.message_type.clone()),
            ("x-amz-sns-message-id", self.message_id.clone()),
            ("x-amz-sns-topic-arn", self.topic_arn.clone()),
            ("content-type", self.content_type.clone()),
            ("user-agent", "Amazon Simple Notification Service Agent".to_string()),
        ];
        if self.message_type != "SubscriptionConfirmation" {
            headers.push(("x-amz-sns-subscription-arn", self.subscription_arn.clone()));
        }
        if self.raw {
            headers.push(("x-amz-sns-rawdelivery", "true".to_string()));
        }
        HttpRequest {
            url: self.endpoint.clone(),
            headers,
            body: self.body.clone(),
        }
    }
}

/// An HTTP POST to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Absolute http:// or https:// URL.
    pub url: String,
    /// Header names (lowercase) and values.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: String,
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpOutcome {
    /// A 2xx or 3xx answer.
    Delivered,
    /// A 4xx answer: the endpoint refused the message, which a retry would not change.
    Rejected(u16),
    /// A 5xx answer, a timeout or a connection error: retried.
    Failed(String),
}

/// Boxed future of an attempt.
pub type HttpFuture = Pin<Box<dyn Future<Output = HttpOutcome> + Send>>;

/// Makes HTTP requests for the outbox (implemented by the server).
pub trait HttpTransport: Send + Sync + 'static {
    /// POSTs `request`, with the transport's own timeout (AWS waits 15 seconds).
    fn post(&self, request: HttpRequest) -> HttpFuture;
}

/// Counters of delivery outcomes, for metrics.
#[derive(Debug, Default)]
pub struct DeliveryCounters {
    /// Messages committed into queues by fan-out.
    pub queue_delivered: AtomicU64,
    /// Fan-out deliveries a queue refused.
    pub queue_failed: AtomicU64,
    /// HTTP/S messages delivered.
    pub http_delivered: AtomicU64,
    /// HTTP/S attempts that failed (each retry counts).
    pub http_failed_attempts: AtomicU64,
    /// HTTP/S messages moved to a dead-letter queue.
    pub dead_lettered: AtomicU64,
    /// HTTP/S messages dropped after their last retry, without a dead-letter queue.
    pub dropped: AtomicU64,
}

/// A staged entry's id; schedule it once its batch committed.
#[derive(Debug)]
pub struct Staged(u64);

#[derive(Default)]
struct OutboxState {
    entries: HashMap<u64, OutboxEntry>,
    schedule: BTreeSet<(u64, u64)>,
    /// Per subscription ARN: its pending entries, and those that failed at least once, so the
    /// console counts a subscription's backlog without scanning every entry.
    by_subscription: HashMap<String, SubscriptionEntries>,
}

/// One subscription's entries in the outbox, by id (ids grow with staging order).
#[derive(Default)]
struct SubscriptionEntries {
    pending: BTreeSet<u64>,
    retrying: BTreeSet<u64>,
}

impl OutboxState {
    /// Adds or replaces entry `id` (a retry reschedules its entry under the same id), keeping
    /// the per-subscription index in step.
    fn insert(&mut self, id: u64, entry: OutboxEntry) {
        self.remove(id);
        let index = self.by_subscription.entry(entry.subscription_arn.clone()).or_default();
        index.pending.insert(id);
        if entry.failures > 0 {
            index.retrying.insert(id);
        }
        self.entries.insert(id, entry);
    }

    /// Removes entry `id` and its index entries.
    fn remove(&mut self, id: u64) -> Option<OutboxEntry> {
        let entry = self.entries.remove(&id)?;
        if let Some(index) = self.by_subscription.get_mut(&entry.subscription_arn) {
            index.pending.remove(&id);
            index.retrying.remove(&id);
            if index.pending.is_empty() {
                self.by_subscription.remove(&entry.subscription_arn);
            }
        }
        Some(entry)
    }
}

/// Pending deliveries and their schedule.
pub struct Outbox {
    next_id: AtomicU64,
    state: Mutex<OutboxState>,
    wake: Notify,
    endpoints: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Per throttled subscription: the earliest time its next delivery may start.
    throttles: Mutex<HashMap<String, tokio::time::Instant>>,
    counters: DeliveryCounters,
    /// Tests: the next [`Outbox::stage`] fails, as an entry that cannot be encoded would.
    #[cfg(test)]
    pub(super) fail_next_stage: std::sync::atomic::AtomicBool,
}

fn entry_key(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

impl Outbox {
    /// Loads every pending entry from `store`.
    pub fn load(store: &Store) -> Result<Outbox> {
        let mut state = OutboxState::default();
        let mut max_id = 0;
        for (k, v) in store.scan_prefix(Cf::Outbox, &[])? {
            let Some(id) = sluice_storage::key::read_u64(&k, 0) else {
                continue;
            };
            let entry: OutboxEntry = decode_json(&v, "outbox entry")?;
            max_id = max_id.max(id);
            state.schedule.insert((entry.due_ms, id));
            state.insert(id, entry);
        }
        Ok(Outbox {
            next_id: AtomicU64::new(max_id + 1),
            state: Mutex::new(state),
            wake: Notify::new(),
            endpoints: Mutex::new(HashMap::new()),
            throttles: Mutex::new(HashMap::new()),
            counters: DeliveryCounters::default(),
            #[cfg(test)]
            fail_next_stage: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn state(&self) -> MutexGuard<'_, OutboxState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds `entry` to `batch` under a fresh id.
    pub fn stage(&self, entry: OutboxEntry, batch: &mut sluice_storage::Batch<'_>) -> Result<Staged> {
        #[cfg(test)]
        if self.fail_next_stage.swap(false, Ordering::AcqRel) {
            return Err(super::TopicError::Internal("injected staging failure".into()));
        }
        let id = self.next_id.fetch_add(1, Ordering::AcqRel);
        batch.put(Cf::Outbox, &entry_key(id), &encode_json(&entry, "outbox entry")?);
        Ok(Staged(id))
    }

    /// Makes a committed entry due for the worker.
    pub fn schedule(&self, staged: Staged, entry: OutboxEntry) {
        {
            let mut state = self.state();
            state.schedule.insert((entry.due_ms, staged.0));
            state.insert(staged.0, entry);
        }
        self.wake.notify_one();
    }

    /// Stages `entry` when there is one (a confirmation some subscriptions need and others
    /// not); pass the result to [`Outbox::schedule_optional`] after the commit.
    pub fn stage_optional(
        &self,
        entry: Option<OutboxEntry>,
        batch: &mut sluice_storage::Batch<'_>,
    ) -> Result<Option<(Staged, OutboxEntry)>> {
        match entry {
            Some(entry) => Ok(Some((self.stage(entry.clone(), batch)?, entry))),
            None => Ok(None),
        }
    }

    /// Schedules what [`Outbox::stage_optional`] staged, once its batch committed.
    pub fn schedule_optional(&self, staged: Option<(Staged, OutboxEntry)>) {
        if let Some((staged, entry)) = staged {
            self.schedule(staged, entry);
        }
    }

    /// Removes and returns the entries due at `now`, and when the next one is due.
    fn take_due(&self, now: u64) -> (Vec<(u64, OutboxEntry)>, Option<u64>) {
        let mut state = self.state();
        let mut due = Vec::new();
        while let Some(&(at, id)) = state.schedule.first() {
            if at > now {
                return (due, Some(at));
            }
            state.schedule.pop_first();
            if let Some(entry) = state.entries.get(&id) {
                due.push((id, entry.clone()));
            }
        }
        (due, None)
    }

    fn endpoint_limit(&self, endpoint: &str) -> Arc<Semaphore> {
        let mut endpoints = self.endpoints.lock().unwrap_or_else(|p| p.into_inner());
        endpoints
            .entry(endpoint.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(PER_ENDPOINT_CONCURRENCY)))
            .clone()
    }

    /// When a delivery to a subscription throttled to `rate` per second may start: slots are
    /// handed out `1/rate` apart, so deliveries spread evenly (AWS's throttlePolicy).
    fn throttle_slot(&self, subscription: &str, rate: u32) -> tokio::time::Instant {
        let now = tokio::time::Instant::now();
        let mut throttles = self.throttles.lock().unwrap_or_else(|p| p.into_inner());
        let next = throttles.entry(subscription.to_string()).or_insert(now);
        let slot = (*next).max(now);
        *next = slot + Duration::from_secs(1) / rate.max(1);
        slot
    }

    /// Pending deliveries, for metrics and tests.
    pub fn pending(&self) -> usize {
        self.state().entries.len()
    }

    /// Subscription `arn`'s pending deliveries at `now` (epoch ms), with at most `limit` of
    /// those in retry, oldest first: a lookup in the per-subscription index, no scan.
    pub fn backlog(&self, arn: &str, now: u64, limit: usize) -> DeliveryBacklog {
        let state = self.state();
        let Some(index) = state.by_subscription.get(arn) else {
            return DeliveryBacklog::default();
        };
        let oldest_age_ms = index
            .pending
            .first()
            .and_then(|id| state.entries.get(id))
            .filter(|e| e.created_ms > 0)
            .map(|e| now.saturating_sub(e.created_ms));
        let retries = index
            .retrying
            .iter()
            .filter_map(|id| state.entries.get(id))
            .take(limit)
            .map(|e| RetryingDelivery {
                message_id: e.message_id.clone(),
                message_type: e.message_type.clone(),
                attempts: e.failures,
                next_attempt_ms: e.due_ms,
            })
            .collect();
        DeliveryBacklog {
            pending: index.pending.len(),
            retrying: index.retrying.len(),
            oldest_age_ms,
            retries,
        }
    }

    /// Delivery outcome counters.
    pub fn counters(&self) -> &DeliveryCounters {
        &self.counters
    }

    /// Counts a fan-out's queue delivery results.
    pub(super) fn record_queue_deliveries(&self, results: &[crate::queue::error::Result<SentMessage>]) {
        let ok = results.iter().filter(|r| r.is_ok()).count() as u64;
        self.counters.queue_delivered.fetch_add(ok, Ordering::Relaxed);
        self.counters
            .queue_failed
            .fetch_add(results.len() as u64 - ok, Ordering::Relaxed);
    }
}

fn entry_protocol(entry: &OutboxEntry) -> super::Protocol {
    if entry.endpoint.starts_with("arn:") {
        return super::Protocol::Lambda;
    }
    if entry.endpoint.to_ascii_lowercase().starts_with("https:") {
        super::Protocol::Https
    } else {
        super::Protocol::Http
    }
}

impl Topics {
    /// Delivery outcome counters.
    pub fn delivery_counters(&self) -> &DeliveryCounters {
        self.outbox.counters()
    }

    /// Pending HTTP/S deliveries.
    pub fn pending_deliveries(&self) -> usize {
        self.outbox.pending()
    }

    /// Posts due outbox entries until `shutdown` resolves. Entries in flight at shutdown stay
    /// in storage and are delivered again after the restart (at-least-once, as SNS).
    pub async fn run_outbox(self: Arc<Self>, transport: Arc<dyn HttpTransport>, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let now = self.clock.now_ms();
            let (due, next) = self.outbox.take_due(now);
            for (id, entry) in due {
                tokio::spawn(self.clone().deliver(id, entry, transport.clone()));
            }
            let wake_at = match next {
                Some(at) => self.clock.instant_at(at),
                None => tokio::time::Instant::now() + Duration::from_secs(3600),
            };
            tokio::select! {
                _ = &mut shutdown => return,
                _ = self.outbox.wake.notified() => {}
                _ = tokio::time::sleep_until(wake_at) => {}
            }
        }
    }

    async fn deliver(self: Arc<Self>, id: u64, entry: OutboxEntry, transport: Arc<dyn HttpTransport>) {
        // A notification for a subscription deleted since it was published is not sent.
        if entry.message_type == "Notification" && self.lookup_subscription(&entry.subscription_arn).is_err() {
            if let Err(err) = self.remove_entry(id) {
                tracing::warn!(error = %err, "outbox entry removal failed");
            }
            return;
        }
        if let Some(rate) = entry.max_per_second {
            tokio::time::sleep_until(self.outbox.throttle_slot(&entry.subscription_arn, rate)).await;
        }
        let limit = self.outbox.endpoint_limit(&entry.endpoint);
        let outcome = match limit.acquire_owned().await {
            Ok(_permit) => transport.post(entry.request()).await,
            Err(_) => return,
        };
        if let Err(err) = self.finish_attempt(id, entry, outcome) {
            tracing::warn!(error = %err, "outbox bookkeeping failed; the delivery will be retried after a restart");
        }
    }

    fn remove_entry(&self, id: u64) -> Result<()> {
        let mut batch = self.store.batch();
        batch.delete(Cf::Outbox, &entry_key(id));
        self.store.commit(batch)?;
        self.outbox.state().remove(id);
        Ok(())
    }

    fn finish_attempt(&self, id: u64, mut entry: OutboxEntry, outcome: HttpOutcome) -> Result<()> {
        let counters = &self.outbox.counters;
        let retryable = match &outcome {
            HttpOutcome::Delivered => {
                counters.http_delivered.fetch_add(1, Ordering::Relaxed);
                self.count_delivery(&entry.topic_arn, entry_protocol(&entry), true);
                return self.remove_entry(id);
            }
            HttpOutcome::Rejected(status) => {
                tracing::warn!(endpoint = %entry.endpoint, status, "sns http delivery rejected");
                false
            }
            HttpOutcome::Failed(reason) => {
                tracing::debug!(endpoint = %entry.endpoint, %reason, "sns http delivery attempt failed");
                true
            }
        };
        counters.http_failed_attempts.fetch_add(1, Ordering::Relaxed);
        self.count_delivery(&entry.topic_arn, entry_protocol(&entry), false);
        entry.failures += 1;
        if retryable {
            if let Some(delay) = entry.retry.delay_before(entry.failures) {
                entry.due_ms = self.clock.now_ms() + delay * 1000;
                let mut batch = self.store.batch();
                batch.put(Cf::Outbox, &entry_key(id), &encode_json(&entry, "outbox entry")?);
                self.store.commit(batch)?;
                self.outbox.schedule(Staged(id), entry);
                return Ok(());
            }
        }
        let Some(dead_letter) = entry.dead_letter_arn.as_deref().and_then(QueueKey::from_arn) else {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(subscription = %entry.subscription_arn, failures = entry.failures, "sns http delivery given up");
            return self.remove_entry(id);
        };
        let message = NewMessage {
            body: entry.body.clone(),
            delay_seconds: None,
            attributes: MessageAttributes::new(),
            system_attributes: MessageAttributes::new(),
            sender_id: SNS_SENDER_ID.to_string(),
            group_id: None,
            deduplication_id: None,
        };
        // The move to the dead-letter queue and the removal from the outbox are one commit.
        let results = self.queues.send_fanout(vec![(dead_letter, message)], |batch| {
            batch.delete(Cf::Outbox, &entry_key(id));
            Ok::<_, super::TopicError>(())
        })?;
        self.outbox.state().remove(id);
        match results.first() {
            Some(Ok(_)) => {
                counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                counters.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(subscription = %entry.subscription_arn, "sns dead-letter queue refused the message; dropped");
            }
        }
        Ok(())
    }
}
