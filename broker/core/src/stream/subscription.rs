//! SubscribeToShard's core: a consumer's push subscription to one shard.
//!
//! A [`Subscription`] reads the shard from its starting position and then waits on the shard's
//! change signal, which every commit to the shard (and every close, delete or takeover) fires,
//! so records reach subscribers as soon as they are committed, never by polling.
//!
//! # Takeover (AWS SubscribeToShard)
//! One subscription per (consumer, shard): a new call within 5 seconds of the previous
//! successful one is refused (`InUse`); a later call takes over, and the previous subscription
//! ends with `InUse` at its next step.
//!
//! # Running subscriptions
//! [`Streams::active_subscriptions`] lists the leases whose subscription still runs: not
//! revoked, and still held by its [`Subscription`] (the event stream drops it when it ends).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sluice_storage::Store;

use super::consumer::{consumer_not_found, ConsumerName};
use super::records::{children_of, read_shard};
use super::shard::{arrival_ms, format_sequence, shard_id};
use super::throughput::Bucket;
use super::{ChildShard, IteratorStart, ReadRecord, Result, ShardState, Stream, StreamError, StreamKey, Streams};
use crate::clock::Clock;

/// How soon after a successful SubscribeToShard another one for the same consumer and shard
/// is refused (AWS: 5 seconds).
pub const TAKEOVER_AFTER_MS: u64 = 5_000;
/// Most records one event carries.
const EVENT_MAX_RECORDS: usize = 10_000;
/// Record bytes after which an event is cut (one record always fits: base64 of a 10 MiB
/// record stays below the event-stream payload limit). Small events keep what a slow reader
/// makes the broker buffer small: at most this times the server's frame buffer.
const EVENT_MAX_BYTES: usize = 1 << 20;
/// With throughput limits on: what one consumer may read from one shard per second (AWS:
/// 2 MiB/s per consumer per shard for enhanced fan-out).
const EFO_READ_BYTES_PER_SEC: f64 = 2_097_152.0;

/// The current subscription of one (consumer, shard).
pub(super) struct Lease {
    started_ms: u64,
    token: Arc<LeaseToken>,
}

/// Shared between a subscription and the lease table: set when the subscription must end.
#[derive(Default)]
pub(super) struct LeaseToken {
    revoked: AtomicBool,
}

impl Stream {
    /// Ends every subscription to the stream (it is being deleted) and wakes them.
    pub(super) fn revoke_subscriptions(&self) {
        let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        for lease in leases.values() {
            lease.token.revoked.store(true, Ordering::Release);
        }
        leases.clear();
        drop(leases);
        self.wake_all();
    }

    /// Drops the takeover records of `consumer` (deregistered).
    pub(super) fn forget_leases(&self, consumer: &str) {
        let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        leases.retain(|(name, _), _| name != consumer);
    }

    /// Wakes every subscriber of every shard, to re-check the stream's state.
    pub(super) fn wake_all(&self) {
        for state in self.routing().all.values() {
            state.changed.notify_waiters();
        }
    }
}

impl Lease {
    /// True while the subscription runs: not taken over, and its [`Subscription`] (which holds
    /// the token's other reference) not yet dropped by the event stream that carried it.
    fn is_running(&self) -> bool {
        !self.token.revoked.load(Ordering::Acquire) && Arc::strong_count(&self.token) > 1
    }
}

/// A SubscribeToShard subscription running now (the console lists them per consumer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSubscription {
    /// The consumer's name.
    pub consumer: String,
    /// The shard it reads.
    pub shard_id: String,
    /// When it started, epoch ms.
    pub started_ms: u64,
}

impl Streams {
    /// The stream's subscriptions running now, by consumer and shard. Read-only: the lease
    /// table is what takeover checks use, and this only looks at it.
    pub fn active_subscriptions(&self, key: &StreamKey) -> Result<Vec<ActiveSubscription>> {
        let stream = self.lookup(key)?;
        let leases = stream.leases.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<(String, u32, u64)> = leases
            .iter()
            .filter(|(_, lease)| lease.is_running())
            .map(|((consumer, shard), lease)| (consumer.clone(), *shard, lease.started_ms))
            .collect();
        drop(leases);
        out.sort();
        Ok(out
            .into_iter()
            .map(|(consumer, shard, started_ms)| ActiveSubscription {
                consumer,
                shard_id: shard_id(shard),
                started_ms,
            })
            .collect())
    }
}

/// One push event: records, or an empty heartbeat, or the end of a closed shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardEvent {
    /// Records in sequence order (may be empty).
    pub records: Vec<ReadRecord>,
    /// Where to resume (AFTER_SEQUENCE_NUMBER); `None` once a closed shard is fully read.
    pub continuation: Option<String>,
    /// How far the last record of the event is behind the shard's newest.
    pub millis_behind_latest: u64,
    /// At the end of a closed shard: the shards to read next.
    pub child_shards: Option<Vec<ChildShard>>,
}

/// A consumer's subscription to one shard.
pub struct Subscription {
    store: Arc<Store>,
    clock: Clock,
    stream: Arc<Stream>,
    shard: Arc<ShardState>,
    consumer: ConsumerName,
    token: Arc<LeaseToken>,
    /// Next sequence to deliver.
    position: u64,
    finished: bool,
    /// With throughput limits on: the read budget, which a large event may leave in debt.
    budget: Option<Bucket>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("stream", &self.stream.key.name)
            .field("shard", &self.shard.index)
            .field("consumer", &self.consumer.name)
            .field("position", &self.position)
            .finish()
    }
}

impl Streams {
    /// SubscribeToShard: starts `consumer`'s subscription to `shard` at `start`.
    pub fn subscribe(
        &self,
        key: &StreamKey,
        consumer: &ConsumerName,
        shard: &str,
        start: IteratorStart,
    ) -> Result<Subscription> {
        let stream = self.lookup_data(key)?;
        let now = self.now();
        Streams::active_consumer(&stream, consumer, now)?;
        let record = stream.record().clone();
        let shard_rec = self.shard_of(&stream, &record, shard)?;
        let state = stream
            .routing()
            .all
            .get(&shard_rec.index)
            .cloned()
            .ok_or_else(|| super::internal("shard missing from routing"))?;
        let position = self.start_position(&stream, shard_rec, &state, start)?;
        let token = Arc::new(LeaseToken::default());
        {
            let mut leases = stream.leases.lock().unwrap_or_else(|p| p.into_inner());
            let slot = (consumer.name.clone(), shard_rec.index);
            if let Some(previous) = leases.get(&slot) {
                if now < previous.started_ms + TAKEOVER_AFTER_MS {
                    return Err(StreamError::InUse(format!(
                        "Another active subscription exists for consumer {} on shard {}; a new subscription may take over {} ms after the previous one started.",
                        consumer.name,
                        shard_rec.id(),
                        TAKEOVER_AFTER_MS
                    )));
                }
                previous.token.revoked.store(true, Ordering::Release);
            }
            leases.insert(
                slot,
                Lease {
                    started_ms: now,
                    token: token.clone(),
                },
            );
        }
        // Wake a subscription that was just taken over.
        state.changed.notify_waiters();
        Ok(Subscription {
            store: self.store.clone(),
            clock: self.clock,
            stream,
            shard: state,
            consumer: consumer.clone(),
            token,
            position,
            finished: false,
            budget: self.limits_on().then(|| Bucket::full(EFO_READ_BYTES_PER_SEC, now)),
        })
    }
}

impl Subscription {
    /// The next event: records as soon as any are committed, an empty event once `heartbeat`
    /// passes without any, or `None` after a closed shard's last event. Errors end the
    /// subscription: `InUse` when another subscription took over, `NotFound` when the stream or
    /// the consumer is gone.
    pub async fn next_event(&mut self, heartbeat: Duration) -> Result<Option<ShardEvent>> {
        if self.finished {
            return Ok(None);
        }
        self.pace().await;
        let deadline = tokio::time::Instant::now() + heartbeat;
        loop {
            let shard = self.shard.clone();
            let changed = shard.changed.notified();
            tokio::pin!(changed);
            // Registered before reading, so a commit between the read and the wait still wakes us.
            changed.as_mut().enable();
            self.check_alive()?;
            if let Some(event) = self.poll()? {
                return Ok(Some(event));
            }
            tokio::select! {
                () = changed => {}
                () = tokio::time::sleep_until(deadline) => return Ok(Some(self.heartbeat())),
            }
        }
    }

    /// With throughput limits on, waits until the read budget is out of debt: records are
    /// then pushed at 2 MiB/s per consumer and shard at most, as AWS paces enhanced fan-out.
    async fn pace(&mut self) {
        let Some(budget) = self.budget.as_mut() else {
            return;
        };
        budget.refill(EFO_READ_BYTES_PER_SEC, self.clock.now_ms());
        if budget.level < 0.0 {
            let wait_ms = (-budget.level / EFO_READ_BYTES_PER_SEC * 1000.0).ceil() as u64;
            tokio::time::sleep(Duration::from_millis(wait_ms)).await;
            budget.refill(EFO_READ_BYTES_PER_SEC, self.clock.now_ms());
        }
    }

    fn check_alive(&self) -> Result<()> {
        if self.stream.deleting_until.load(Ordering::Acquire) != 0 {
            return Err(self.stream.key.not_found());
        }
        // A deregistered (DELETING) consumer is gone for its subscribers.
        Streams::active_consumer(&self.stream, &self.consumer, self.clock.now_ms()).map_err(|e| match e {
            StreamError::InUse(_) => consumer_not_found(&self.stream.key, &self.consumer.name),
            other => other,
        })?;
        if self.token.revoked.load(Ordering::Acquire) {
            return Err(StreamError::InUse(format!(
                "Subscription for consumer {} on shard {} was taken over by a newer subscription.",
                self.consumer.name,
                shard_id(self.shard.index)
            )));
        }
        Ok(())
    }

    /// What a read needs of the shard's persisted description now: its starting sequence,
    /// whether it is closed, and the stream's retention.
    fn shard_facts(&self) -> Result<(u64, bool, u64)> {
        let record = self.stream.record();
        let shard = record
            .shards
            .iter()
            .find(|s| s.index == self.shard.index)
            .ok_or_else(|| self.stream.key.not_found())?;
        Ok((shard.starting_seq, shard.ending_seq.is_some(), record.retention_ms()))
    }

    /// Reads what is committed from the position on; `None` when there is nothing to send yet.
    fn poll(&mut self) -> Result<Option<ShardEvent>> {
        let (starting_seq, closed, retention_ms) = self.shard_facts()?;
        let index = self.shard.index;
        let now = self.clock.now_ms();
        let trim = super::shard::seq_floor(now.saturating_sub(retention_ms));
        let from = self.position.max(trim).max(starting_seq);
        let committed = self.shard.committed.load(Ordering::Acquire);
        let (records, _stopped_early) = read_shard(
            &self.store,
            &self.stream,
            index,
            (from, committed),
            EVENT_MAX_RECORDS,
            EVENT_MAX_BYTES,
        )?;
        let stream_id = self.stream.id;
        if let Some(budget) = self.budget.as_mut() {
            budget.level -= records.iter().map(|(_, r)| r.data.len() as f64).sum::<f64>();
        }
        if let Some((last, _)) = records.last() {
            let last = *last;
            self.position = last + 1;
            let millis_behind_latest = if committed > last {
                arrival_ms(committed).saturating_sub(arrival_ms(last))
            } else {
                0
            };
            let records = records.into_iter().map(|(_, r)| r).collect();
            return Ok(Some(ShardEvent {
                records,
                continuation: Some(format_sequence(stream_id, index, last)),
                millis_behind_latest,
                child_shards: None,
            }));
        }
        self.position = from;
        if closed {
            // Closed and fully read: the last event names the children and ends the subscription.
            self.finished = true;
            return Ok(Some(ShardEvent {
                records: Vec::new(),
                continuation: None,
                millis_behind_latest: 0,
                child_shards: Some(children_of(&self.stream.record(), index)),
            }));
        }
        Ok(None)
    }

    fn heartbeat(&self) -> ShardEvent {
        ShardEvent {
            records: Vec::new(),
            continuation: Some(format_sequence(
                self.stream.id,
                self.shard.index,
                self.position.saturating_sub(1),
            )),
            millis_behind_latest: 0,
            child_shards: None,
        }
    }

    /// True once a closed shard's last event was returned.
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}
