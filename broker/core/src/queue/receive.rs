//! ReceiveMessage: long polling, FIFO receive-attempt replay, and the moves to the dead-letter
//! queue (or out, past retention) that a receive makes on its way; also the shutdown signal
//! that ends open polls.
//!
//! # Invariants
//! - Messages are taken under the queue's index lock and committed outside it; a crash before
//!   the commit only makes them visible again (at-least-once), never loses one.
//! - A message over its queue's maxReceiveCount moves to the dead-letter queue in the same batch
//!   that records the receive; it enters the dead-letter queue's index only after that commit,
//!   in sequence order for a FIFO dead-letter queue.
//! - A long poll is bounded by `Queues::MAX_WAIT` and ends at once at shutdown.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use sluice_storage::Cf;

use super::error::Result;
use super::fifo::{self, Attempt};
use super::index::{Cursor, MsgMeta};
use super::message::{message_key, ReceivedMessage, StoredPayload, StoredState};
use super::order::Staged;
use super::receipt::Receipt;
use super::send::Part;
use super::{Queue, QueueKey, Queues, ReceiveRequest};

impl Queues {
    /// ReceiveMessage, long-polling up to the wait time until at least one message is available.
    pub async fn receive(&self, key: &QueueKey, request: ReceiveRequest) -> Result<Vec<ReceivedMessage>> {
        let queue = self.lookup(key)?;
        let attempt_id = request.attempt_id.as_deref().filter(|_| queue.fifo);
        if let Some(id) = attempt_id {
            if let Some(replayed) = self.replay_attempt(&queue, id)? {
                return Ok(replayed);
            }
        }
        let config = queue.config();
        let wait_ms = request.wait_seconds.unwrap_or(config.receive_message_wait_time_seconds) as u64 * 1000;
        let deadline_ms = self.clock.now_ms() + wait_ms;
        loop {
            let notified = queue.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let received = self.receive_now(&queue, &request)?;
            let now = self.clock.now_ms();
            let stopping = queue.deleted.load(Ordering::Acquire) || self.shutting_down.load(Ordering::Acquire);
            if !received.is_empty() || now >= deadline_ms || stopping {
                if let (Some(id), false) = (attempt_id, received.is_empty()) {
                    let messages = received.iter().map(|m| (m.seq, m.nonce)).collect();
                    queue
                        .attempts()
                        .insert(id.to_string(), Attempt { at_ms: now, messages });
                }
                return Ok(received.into_iter().map(|m| m.message).collect());
            }
            let wake_ms = queue
                .index()
                .next_visible_at()
                .map_or(deadline_ms, |at| at.min(deadline_ms));
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep_until(self.clock.instant_at(wake_ms)) => {}
            }
        }
    }

    /// The answer of an earlier receive with the same attempt id, when every message it returned
    /// is still in flight under that receive's handle.
    fn replay_attempt(&self, queue: &Arc<Queue>, attempt_id: &str) -> Result<Option<Vec<ReceivedMessage>>> {
        let now = self.clock.now_ms();
        let Some(attempt) = queue.attempts().get(attempt_id, now).cloned() else {
            return Ok(None);
        };
        let metas: Option<Vec<(u64, MsgMeta)>> = {
            let index = queue.index();
            attempt
                .messages
                .iter()
                .map(|(seq, nonce)| {
                    index
                        .get(*seq)
                        .filter(|m| m.nonce == *nonce && m.visible_at_ms > now)
                        .map(|m| (*seq, *m))
                })
                .collect()
        };
        let Some(metas) = metas else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(metas.len());
        for (seq, meta) in metas {
            let Some(raw) = self.store.get(Cf::QueueMsgs, &message_key(queue.id, seq))? else {
                return Ok(None);
            };
            out.push(received_message(queue, seq, &meta, StoredPayload::decode(&raw)?).message);
        }
        Ok(Some(out))
    }

    fn receive_now(&self, queue: &Arc<Queue>, request: &ReceiveRequest) -> Result<Vec<Delivered>> {
        let config = queue.config();
        let visibility_ms = request.visibility_timeout.unwrap_or(config.visibility_timeout) as u64 * 1000;
        let retention_ms = config.message_retention_period as u64 * 1000;
        let max_receives = config.redrive_policy.as_ref().map(|p| p.max_receive_count);
        let dlq = config
            .redrive_policy
            .as_ref()
            .and_then(|p| self.lookup_arn(&p.dead_letter_target_arn));
        let max = request.max_messages.clamp(1, 10) as usize;
        let now = self.clock.now_ms();

        let mut taken: Vec<(u64, MsgMeta)> = Vec::new();
        let mut to_dlq: Vec<u64> = Vec::new();
        let mut expired: Vec<u64> = Vec::new();
        {
            let mut index = queue.index();
            index.promote(now);
            self.refill(queue, &mut index, false, now)?;
            let mut cursor = Cursor::default();
            while taken.len() < max {
                let Some(seq) = self.next_or_refill(queue, &mut index, &mut cursor, now)? else {
                    break;
                };
                let Some(mut meta) = index.get(seq).copied() else {
                    break;
                };
                if meta.sent_ms + retention_ms <= now {
                    index.remove(seq);
                    expired.push(seq);
                    continue;
                }
                if let (Some(limit), Some(_)) = (max_receives, &dlq) {
                    if meta.receive_count >= limit {
                        index.remove(seq);
                        to_dlq.push(seq);
                        continue;
                    }
                }
                meta.receive_count += 1;
                meta.nonce += 1;
                if meta.first_receive_ms == 0 {
                    meta.first_receive_ms = now;
                }
                meta.last_receive_ms = now;
                meta.visible_at_ms = now + visibility_ms;
                // Held invisible until the loop ends even with a zero timeout, so one receive
                // never returns a message twice (nor revisits a FIFO group).
                let held = MsgMeta {
                    visible_at_ms: meta.visible_at_ms.max(now + 1),
                    ..meta
                };
                index.update(seq, held, now);
                taken.push((seq, meta));
            }
            if visibility_ms == 0 {
                for (seq, meta) in &taken {
                    index.update(*seq, *meta, now);
                }
            }
        }
        if taken.is_empty() && to_dlq.is_empty() && expired.is_empty() {
            return Ok(Vec::new());
        }

        let mut batch = self.store.batch();
        let mut out = Vec::with_capacity(taken.len());
        for (seq, meta) in &taken {
            let key = message_key(queue.id, *seq);
            let Some(raw) = self.store.get(Cf::QueueMsgs, &key)? else {
                // Purged or deleted between the index and the read.
                queue.index().remove(*seq);
                continue;
            };
            batch.put(Cf::QueueState, &key, &StoredState::from_meta(meta).encode());
            out.push(received_message(queue, *seq, meta, StoredPayload::decode(&raw)?));
        }
        let mut moved = Staged::default();
        // A FIFO dead-letter queue takes messages in its send order (see `order`).
        let dlq_lock = dlq
            .as_ref()
            .filter(|d| d.fifo && !to_dlq.is_empty())
            .map(|d| d.fifo_sends());
        if let Some(dlq) = &dlq {
            for seq in &to_dlq {
                let key = message_key(queue.id, *seq);
                if let Some(raw) = self.store.get(Cf::QueueMsgs, &key)? {
                    let mut payload = StoredPayload::decode(&raw)?;
                    if payload.dead_letter_source_arn.is_none() {
                        payload.dead_letter_source_arn = Some(queue.key.arn());
                    }
                    // FIFO dead-letter queues restart the retention clock; standard ones keep
                    // the original enqueue time (SQS developer guide).
                    if dlq.fifo {
                        payload.sent_ms = now;
                    }
                    let dlq_seq = dlq.take_seq(&self.store)?;
                    let dlq_meta = MsgMeta::new(payload.sent_ms, now);
                    batch.put(Cf::QueueMsgs, &message_key(dlq.id, dlq_seq), &payload.encode());
                    moved.accepted.push((dlq_seq, dlq_meta, payload.group_id));
                }
                batch.delete(Cf::QueueMsgs, &key);
                batch.delete(Cf::QueueState, &key);
            }
        }
        for seq in &expired {
            let key = message_key(queue.id, *seq);
            batch.delete(Cf::QueueMsgs, &key);
            batch.delete(Cf::QueueState, &key);
        }
        let parts = match &dlq {
            Some(dlq) if dlq_lock.is_some() || !moved.accepted.is_empty() => vec![Part {
                queue: dlq,
                lock: dlq_lock,
                staged: moved,
                waits: Vec::new(),
            }],
            _ => Vec::new(),
        };
        self.commit_parts(batch, parts, now, ())?;
        if queue.fifo && !(to_dlq.is_empty() && expired.is_empty()) {
            // Removing a group's head can unlock the group for a waiting consumer.
            queue.notify.notify_waiters();
        }
        queue.traffic.count_received(out.len());
        Ok(out)
    }

    /// Ends every open long poll with an empty answer, now and for polls that start later.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
        let queues: Vec<Arc<Queue>> = self.snapshot();
        for queue in queues {
            queue.notify.notify_waiters();
        }
    }
}

/// A message handed out by one receive, with what a retry of the same attempt must match.
struct Delivered {
    message: ReceivedMessage,
    seq: u64,
    nonce: u64,
}

/// Builds the consumer's view of a stored message as of `meta`.
fn received_message(queue: &Queue, seq: u64, meta: &MsgMeta, payload: StoredPayload) -> Delivered {
    let message = ReceivedMessage {
        message_id: payload.message_id,
        receipt_handle: Receipt {
            queue_id: queue.id,
            seq,
            nonce: meta.nonce,
        }
        .encode(),
        body: payload.body,
        attributes: payload.attributes,
        system_attributes: payload.system_attributes,
        sent_timestamp_ms: payload.sent_ms,
        receive_count: meta.receive_count,
        first_receive_timestamp_ms: meta.first_receive_ms,
        sender_id: payload.sender_id,
        group_id: payload.group_id,
        deduplication_id: payload.deduplication_id,
        sequence_number: queue.fifo.then(|| fifo::sequence_number(seq)),
    };
    Delivered {
        message,
        seq,
        nonce: meta.nonce,
    }
}
