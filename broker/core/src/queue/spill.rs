//! The disk side of the index's cold tail (see `index`): reading never-received messages back
//! into memory as receives drain the hot part, expiring cold messages past retention,
//! counting the tails start-up left uncounted, and recounting a tail after a purge.
//!
//! # Invariants
//! - Every read here happens under the queue's index lock, so no receive, send or delete sees
//!   the index between a read and the index change it leads to; the one exception, the
//!   start-up count, reads outside it and applies a chunk only if nothing moved the range it
//!   read (see `count_cold_chunk`).
//! - Reads pass over sequences in `Queue::unindexed`: a send's batch commits before its
//!   message enters the index, and a message read in that gap would be indexed twice.
//! - Reads are bounded (a refill chunk, a sweep chunk) except the recount after a purge, which
//!   reads only what was sent since the purge began. Refills read the index's fields only,
//!   never copying bodies.
//! - A message that cannot be decoded is logged and passed over, as at start-up; it never
//!   stops a queue's receives.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use sluice_storage::{key, Cf};

use super::error::Result;
use super::index::{Cursor, Loaded, MessageIndex, MsgMeta};
use super::message::{message_key, queue_prefix, StoredPayload};
use super::{Queue, Queues};

/// Most expired cold messages one sweep of one queue deletes; the sweeper comes back at once
/// for the rest (see `sweep`).
pub(super) const EXPIRE_CHUNK: usize = 50_000;
/// Messages the start-up count reads between two takes of the index lock: about a
/// millisecond of the lock each.
const COUNT_CHUNK: usize = 16_384;

impl Queues {
    /// Calls `f` with each stored message of `queue` from sequence `from` on, in sequence
    /// order, until it returns false; `short` for a read of a few hundred messages.
    fn for_each_message(
        &self,
        queue: &Queue,
        from: u64,
        short: bool,
        mut f: impl FnMut(u64, &[u8]) -> bool,
    ) -> Result<()> {
        let prefix = queue_prefix(queue.id);
        let start = message_key(queue.id, from);
        let each = |k: &[u8], v: &[u8]| match k.starts_with(&prefix).then(|| key::read_u64(k, prefix.len())).flatten() {
            Some(seq) => f(seq, v),
            None => false,
        };
        if short {
            self.store.for_each_near(Cf::QueueMsgs, &start, each)?;
        } else {
            self.store.for_each_from(Cf::QueueMsgs, &start, each)?;
        }
        Ok(())
    }

    /// The next message a receive should take, reading the cold tail when nothing hot can be
    /// delivered (every hot FIFO group blocked, every hot message in flight or delayed).
    pub(super) fn next_or_refill(
        &self,
        queue: &Queue,
        index: &mut MessageIndex,
        cursor: &mut Cursor,
        now: u64,
    ) -> Result<Option<u64>> {
        // A receive drains one FIFO group before it moves on, cold messages of it included.
        while index.group_may_continue_cold(cursor) && self.refill(queue, index, true, now)? {}
        if let Some(seq) = index.next_deliverable(cursor) {
            return Ok(Some(seq));
        }
        // Bounded: forced refills stop when the hot part reaches its forced limit.
        while self.refill(queue, index, true, now)? {
            if let Some(seq) = index.next_deliverable(cursor) {
                return Ok(Some(seq));
            }
        }
        Ok(None)
    }

    /// Tops up the hot part of `queue`'s index from its cold tail when there is room (or, with
    /// `force`, when nothing hot can be delivered); true when it read anything.
    pub(super) fn refill(&self, queue: &Queue, index: &mut MessageIndex, force: bool, now: u64) -> Result<bool> {
        let Some(plan) = index.refill_plan(force) else {
            return Ok(false);
        };
        let unindexed = queue.unindexed();
        let mut loaded = Vec::with_capacity(plan.max.min(4096));
        let mut next = None;
        self.for_each_message(queue, plan.from, true, |seq, v| {
            if unindexed.contains(&seq) {
                return true;
            }
            if loaded.len() == plan.max {
                // The tail's new start; an unreadable one is passed over by the next read.
                next = Some((seq, StoredPayload::decode_times(v).map_or(0, |(sent_ms, _)| sent_ms)));
                return false;
            }
            let message = match StoredPayload::decode_index(v) {
                Ok((sent_ms, visible_at_ms, group)) => Some(Loaded {
                    meta: MsgMeta::new(sent_ms, visible_at_ms),
                    group,
                }),
                Err(e) => {
                    tracing::error!(queue = %queue.key.name, seq, error = %e, "skipping undecodable message");
                    None
                }
            };
            loaded.push((seq, message));
            true
        })?;
        drop(unindexed);
        let any = !loaded.is_empty();
        index.fill(loaded, next, now);
        Ok(any)
    }

    /// Drops up to [`EXPIRE_CHUNK`] cold messages of `queue` sent before `cutoff_ms` from the
    /// index; returns their sequences, for the caller to delete.
    pub(super) fn expire_cold(&self, queue: &Queue, index: &mut MessageIndex, cutoff_ms: u64) -> Result<Vec<u64>> {
        let Some(from) = index.cold_from() else {
            return Ok(Vec::new());
        };
        let unindexed = queue.unindexed();
        let mut expired = Vec::new();
        let mut next = None;
        self.for_each_message(queue, from, false, |seq, v| {
            if unindexed.contains(&seq) || !index.is_cold(seq) {
                return true;
            }
            // An unreadable message counts as expired: retention is its only way out.
            let (sent_ms, visible_at_ms) = StoredPayload::decode_times(v).unwrap_or((0, 0));
            if sent_ms >= cutoff_ms || expired.len() == EXPIRE_CHUNK {
                next = Some((seq, sent_ms));
                return false;
            }
            expired.push((seq, visible_at_ms));
            true
        })?;
        drop(unindexed);
        Ok(index.drop_cold(expired, next))
    }

    /// Counts the cold tails start-up left uncounted (`MessageIndex::defer_count`), queue by
    /// queue, one chunk per blocking task, while the broker serves. A queue whose read fails
    /// keeps its estimate (logged) and the count goes on with the next; the loop ends at
    /// shutdown, or with the runtime between two chunks.
    pub async fn run_cold_count(self: Arc<Self>) {
        for queue in self.snapshot() {
            if self.shutting_down.load(Ordering::Acquire) {
                return;
            }
            let uncounted = queue.index().uncounted();
            if uncounted.is_none() {
                continue;
            }
            let started = Instant::now();
            loop {
                let (queues, counted) = (self.clone(), queue.clone());
                match tokio::task::spawn_blocking(move || queues.count_cold_chunk(&counted)).await {
                    Ok(Ok(true)) => {}
                    Ok(Ok(false)) => break,
                    Ok(Err(e)) => {
                        tracing::warn!(queue = %queue.key.name, error = %e, "counting the backlog failed; its count stays an estimate");
                        break;
                    }
                    Err(e) if e.is_panic() => {
                        tracing::error!(queue = %queue.key.name, error = %e, "counting the backlog panicked; its count stays an estimate");
                        break;
                    }
                    // Cancelled: the runtime is going away.
                    Err(_) => return,
                }
            }
            let (counted, cold) = {
                let index = queue.index();
                (index.uncounted().is_none(), index.cold_len())
            };
            if counted {
                let seconds = started.elapsed().as_secs_f64();
                tracing::info!(queue = %queue.key.name, cold, seconds, "backlog counted");
            }
        }
    }

    /// Counts the next chunk of `queue`'s uncounted range; false when nothing is left to count
    /// (or the broker is shutting down). The read happens outside the index lock: the chunk is
    /// counted only if the uncounted range still starts where it was read from, and then only
    /// the messages still cold.
    fn count_cold_chunk(&self, queue: &Queue) -> Result<bool> {
        if self.shutting_down.load(Ordering::Acquire) {
            return Ok(false);
        }
        let uncounted = queue.index().uncounted();
        let Some((lo, hi)) = uncounted else {
            return Ok(false);
        };
        let mut found = Vec::with_capacity(COUNT_CHUNK);
        let mut next = hi + 1;
        self.for_each_message(queue, lo, false, |seq, v| {
            if seq > hi {
                return false;
            }
            if found.len() == COUNT_CHUNK {
                next = seq;
                return false;
            }
            // An unreadable message is counted with no send time, as a refill takes it out.
            let (sent_ms, visible_at_ms) = StoredPayload::decode_times(v).unwrap_or((0, 0));
            found.push((seq, sent_ms, visible_at_ms));
            true
        })?;
        let now = self.clock.now_ms();
        Ok(queue.index().count_chunk(lo, &found, next, now))
    }

    /// Counts every uncounted cold tail at once (tests; the broker runs `run_cold_count`).
    #[cfg(test)]
    pub(super) fn count_cold_tails(&self) -> Result<()> {
        for queue in self.snapshot() {
            while self.count_cold_chunk(&queue)? {}
        }
        Ok(())
    }

    /// Recounts `queue`'s cold tail from `from` on after a purge deleted everything below it.
    pub(super) fn recount_cold(&self, queue: &Queue, index: &mut MessageIndex, from: u64, now: u64) -> Result<()> {
        let unindexed = queue.unindexed();
        let mut found = Vec::new();
        self.for_each_message(queue, from, false, |seq, v| {
            if !unindexed.contains(&seq) {
                let (sent_ms, visible_at_ms) = StoredPayload::decode_times(v).unwrap_or((0, 0));
                found.push((seq, sent_ms, visible_at_ms));
            }
            true
        })?;
        drop(unindexed);
        index.recount_cold(from, &found, now);
        Ok(())
    }
}
