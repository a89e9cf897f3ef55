//! The disk side of the index's cold tail (see `index`): reading never-received messages back
//! into memory as receives drain the hot part, expiring cold messages past retention, and
//! recounting the tail after a purge.
//!
//! # Invariants
//! - Every read here happens under the queue's index lock, so no receive, send or delete sees
//!   the index between a read and the index change it leads to.
//! - Reads are bounded (a refill chunk, a sweep chunk) except the recount after a purge, which
//!   reads only what was sent since the purge began.

use sluice_storage::{key, Cf};

use super::error::Result;
use super::index::{Loaded, MessageIndex, MsgMeta};
use super::message::{message_key, queue_prefix, StoredPayload};
use super::{Queue, Queues};

/// Most expired cold messages one sweep of one queue deletes; the sweeper comes back at once
/// for the rest (see `sweep`).
pub(super) const EXPIRE_CHUNK: usize = 50_000;

impl Queues {
    /// Tops up the hot part of `queue`'s index from its cold tail when there is room (or, with
    /// `force`, when nothing hot can be delivered); true when it loaded any message.
    pub(super) fn refill(&self, queue: &Queue, index: &mut MessageIndex, force: bool, now: u64) -> Result<bool> {
        let Some(plan) = index.refill_plan(force) else {
            return Ok(false);
        };
        let prefix = queue_prefix(queue.id);
        let mut loaded = Vec::with_capacity(plan.max.min(4096));
        let mut next = None;
        let mut failure = None;
        self.store
            .for_each_from(Cf::QueueMsgs, &message_key(queue.id, plan.from), |k, v| {
                let Some(seq) = k.starts_with(&prefix).then(|| key::read_u64(k, prefix.len())).flatten() else {
                    return false;
                };
                if loaded.len() == plan.max {
                    match StoredPayload::decode_times(v) {
                        Ok((sent_ms, _)) => next = Some((seq, sent_ms)),
                        Err(e) => failure = Some(e),
                    }
                    return false;
                }
                match StoredPayload::decode(v) {
                    Ok(p) => loaded.push(Loaded {
                        seq,
                        meta: MsgMeta::new(p.sent_ms, p.initial_visible_at_ms),
                        group: p.group_id,
                    }),
                    Err(e) => {
                        failure = Some(e);
                        return false;
                    }
                }
                true
            })?;
        if let Some(e) = failure {
            return Err(e.into());
        }
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
        let prefix = queue_prefix(queue.id);
        let mut expired = Vec::new();
        let mut next = None;
        let mut failure = None;
        self.store
            .for_each_from(Cf::QueueMsgs, &message_key(queue.id, from), |k, v| {
                let Some(seq) = k.starts_with(&prefix).then(|| key::read_u64(k, prefix.len())).flatten() else {
                    return false;
                };
                let (sent_ms, visible_at_ms) = match StoredPayload::decode_times(v) {
                    Ok(times) => times,
                    Err(e) => {
                        failure = Some(e);
                        return false;
                    }
                };
                if !index.is_cold(seq) {
                    return true;
                }
                if sent_ms >= cutoff_ms || expired.len() == EXPIRE_CHUNK {
                    next = Some((seq, sent_ms));
                    return false;
                }
                expired.push((seq, visible_at_ms));
                true
            })?;
        if let Some(e) = failure {
            return Err(e.into());
        }
        Ok(index.drop_cold(expired, next))
    }

    /// Recounts `queue`'s cold tail from `from` on after a purge deleted everything below it.
    pub(super) fn recount_cold(&self, queue: &Queue, index: &mut MessageIndex, from: u64, now: u64) -> Result<()> {
        let prefix = queue_prefix(queue.id);
        let mut found = Vec::new();
        let mut failure = None;
        self.store
            .for_each_from(Cf::QueueMsgs, &message_key(queue.id, from), |k, v| {
                let Some(seq) = k.starts_with(&prefix).then(|| key::read_u64(k, prefix.len())).flatten() else {
                    return false;
                };
                match StoredPayload::decode_times(v) {
                    Ok((sent_ms, visible_at_ms)) => found.push((seq, sent_ms, visible_at_ms)),
                    Err(e) => {
                        failure = Some(e);
                        return false;
                    }
                }
                true
            })?;
        if let Some(e) = failure {
            return Err(e.into());
        }
        index.recount_cold(from, &found, now);
        Ok(())
    }
}
