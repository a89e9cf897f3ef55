//! SendMessage(Batch) and the SNS fan-out into queues: per-message checks, staging into one
//! batch, and applying committed messages to the index.
//!
//! # Invariants
//! - One command, one commit: every accepted message of a send (or of a fan-out, with the
//!   caller's extra writes) is in one batch; a refused message fails its own entry only.
//! - Messages enter the index and the FIFO deduplication window only after their batch
//!   committed; FIFO sends hold the window's lock from sequence assignment to index insertion,
//!   so messages enter the index in sequence order.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};

use sluice_storage::Cf;

use super::config::{DeduplicationScope, QueueConfig};
use super::error::{QueueError, Result};
use super::fifo::{self, DedupEntry, DedupWindow};
use super::index::MsgMeta;
use super::message::{message_key, NewMessage, SentMessage, StoredPayload};
use super::{Queue, QueueKey, Queues};

impl Queues {
    /// Sends messages; one commit for all valid entries. The outer error is queue-level.
    pub fn send(&self, key: &QueueKey, messages: Vec<NewMessage>) -> Result<Vec<Result<SentMessage>>> {
        let queue = self.lookup(key)?;
        // FIFO sends are serialised per queue (see `Queue::dedupe`).
        let mut window = queue.fifo.then(|| queue.dedupe());
        let now = self.clock.now_ms();
        let mut batch = self.store.batch();
        let (results, staged) = self.stage_send(&queue, window.as_deref(), messages, &mut batch, now)?;
        if staged.accepted.is_empty() {
            return Ok(results);
        }
        self.store.commit(batch)?;
        if queue.deleted.load(Ordering::Acquire) {
            return Err(QueueError::QueueDoesNotExist);
        }
        apply_staged(&queue, window.as_deref_mut(), staged, now);
        Ok(results)
    }

    /// Sends each message to its queue in one commit together with whatever `extra` adds to the
    /// batch: SNS fan-out, where a publish reaches all its queue subscriptions or none
    /// (docs/design.md, "Storage model"). Results follow `deliveries`' order; a missing queue or a
    /// message its queue refuses fails that entry alone. When `extra` fails, or staging does,
    /// nothing is committed and the error is returned: the caller's client may retry without
    /// creating duplicates.
    pub fn send_fanout<E: From<QueueError>>(
        &self,
        deliveries: Vec<(QueueKey, NewMessage)>,
        extra: impl FnOnce(&mut sluice_storage::Batch<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<Vec<Result<SentMessage>>, E> {
        let now = self.clock.now_ms();
        let mut results: Vec<Option<Result<SentMessage>>> = Vec::with_capacity(deliveries.len());
        // Per target queue: the queue and its (position, message) entries, in queue-id order so
        // FIFO locks are always taken in the same order.
        let mut targets: BTreeMap<u64, FanoutTarget> = BTreeMap::new();
        for (position, (key, message)) in deliveries.into_iter().enumerate() {
            match self.lookup(&key) {
                Ok(queue) => {
                    results.push(None);
                    targets
                        .entry(queue.id)
                        .or_insert_with(|| (queue, Vec::new()))
                        .1
                        .push((position, message));
                }
                Err(err) => results.push(Some(Err(err))),
            }
        }
        let queues: Vec<Arc<Queue>> = targets.values().map(|(q, _)| q.clone()).collect();
        let mut windows: Vec<Option<MutexGuard<'_, DedupWindow>>> =
            queues.iter().map(|q| q.fifo.then(|| q.dedupe())).collect();
        let mut batch = self.store.batch();
        let mut staged_all = Vec::with_capacity(queues.len());
        for (i, (_, (queue, entries))) in targets.into_iter().enumerate() {
            let (positions, messages): (Vec<usize>, Vec<NewMessage>) = entries.into_iter().unzip();
            let (sent, staged) = self.stage_send(&queue, windows[i].as_deref(), messages, &mut batch, now)?;
            for (position, result) in positions.into_iter().zip(sent) {
                results[position] = Some(result);
            }
            staged_all.push(staged);
        }
        // The batch is dropped uncommitted on failure: no delivery of this fan-out happens.
        extra(&mut batch)?;
        if !batch.is_empty() {
            self.store.commit(batch).map_err(QueueError::from)?;
        }
        for ((queue, window), staged) in queues.iter().zip(windows.iter_mut()).zip(staged_all) {
            if !queue.deleted.load(Ordering::Acquire) {
                apply_staged(queue, window.as_deref_mut(), staged, now);
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or(Err(QueueError::QueueDoesNotExist)))
            .collect())
    }

    /// Validates `messages` for `queue` and adds the accepted ones to `batch`; the caller commits
    /// and then applies the returned [`StagedSend`]. FIFO callers hold the queue's dedupe window.
    /// A refused message fails its own entry; a storage failure (reserving sequences) fails the
    /// whole command.
    fn stage_send(
        &self,
        queue: &Queue,
        window: Option<&DedupWindow>,
        messages: Vec<NewMessage>,
        batch: &mut sluice_storage::Batch<'_>,
        now: u64,
    ) -> Result<(Vec<Result<SentMessage>>, StagedSend)> {
        let config = queue.config();
        let mut results = Vec::with_capacity(messages.len());
        let mut staged = StagedSend::default();
        for msg in messages {
            if let Err(err) = check_message(&config, &msg) {
                results.push(Err(err));
                continue;
            }
            let dedup = match window {
                Some(window) => {
                    let id = msg
                        .deduplication_id
                        .clone()
                        .unwrap_or_else(|| fifo::content_deduplication_id(&msg.body));
                    let scope = match config.deduplication_scope {
                        DeduplicationScope::Queue => "",
                        DeduplicationScope::MessageGroup => msg.group_id.as_deref().unwrap_or_default(),
                    };
                    let dedup_key = fifo::dedup_key(scope, &id);
                    let original = window
                        .get(&dedup_key, now)
                        .copied()
                        .or_else(|| staged.fresh.iter().find(|(k, _)| *k == dedup_key).map(|(_, e)| *e));
                    if let Some(original) = original {
                        // Accepted, answered like the original, and not delivered again.
                        results.push(Ok(SentMessage {
                            message_id: original.message_id.to_string(),
                            sequence_number: Some(fifo::sequence_number(original.seq)),
                        }));
                        continue;
                    }
                    Some((dedup_key, id))
                }
                None => None,
            };
            let delay = msg.delay_seconds.unwrap_or(config.delay_seconds);
            let seq = queue.take_seq(&self.store)?;
            let uuid = uuid::Uuid::new_v4();
            let message_id = uuid.to_string();
            let visible_at = now + delay as u64 * 1000;
            if let Some((dedup_key, _)) = &dedup {
                let entry = DedupEntry {
                    expires_ms: now + fifo::DEDUPLICATION_WINDOW_MS,
                    seq,
                    message_id: uuid,
                };
                batch.put(
                    Cf::Dedupe,
                    &fifo::dedupe_key(queue.id, dedup_key),
                    &fifo::encode_entry(&entry),
                );
                staged.fresh.push((*dedup_key, entry));
            }
            let payload = StoredPayload {
                message_id: message_id.clone(),
                sent_ms: now,
                initial_visible_at_ms: visible_at,
                sender_id: msg.sender_id,
                body: msg.body,
                attributes: msg.attributes,
                system_attributes: msg.system_attributes,
                group_id: msg.group_id.clone(),
                deduplication_id: dedup.map(|(_, id)| id),
                dead_letter_source_arn: None,
            };
            batch.put(Cf::QueueMsgs, &message_key(queue.id, seq), &payload.encode());
            staged.accepted.push((seq, MsgMeta::new(now, visible_at), msg.group_id));
            results.push(Ok(SentMessage {
                message_id,
                sequence_number: queue.fifo.then(|| fifo::sequence_number(seq)),
            }));
        }
        Ok((results, staged))
    }
}

/// The per-message rules that depend on the queue: size, delay, and the FIFO parameters.
fn check_message(config: &QueueConfig, msg: &NewMessage) -> Result<()> {
    let size = msg.body.len() + msg.attributes.iter().map(|(n, a)| a.size(n)).sum::<usize>();
    if size > config.maximum_message_size as usize {
        return Err(QueueError::InvalidParameterValue(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {} bytes.",
            config.maximum_message_size
        )));
    }
    let not_for_this_type = |parameter: &str, value: &dyn std::fmt::Display| {
        QueueError::InvalidParameterValue(format!(
            "Value {value} for parameter {parameter} is invalid. Reason: The request include parameter that is not valid for this queue type."
        ))
    };
    if let Some(group) = &msg.group_id {
        fifo::validate_id("MessageGroupId", group)?;
    }
    if let Some(id) = &msg.deduplication_id {
        if !config.fifo_queue {
            return Err(not_for_this_type("MessageDeduplicationId", id));
        }
        fifo::validate_id("MessageDeduplicationId", id)?;
    }
    if config.fifo_queue {
        // A per-message delay of 0 is accepted, any other is not (queue-level delay only).
        if let Some(delay) = msg.delay_seconds.filter(|d| *d != 0) {
            return Err(not_for_this_type("DelaySeconds", &delay));
        }
        if msg.group_id.is_none() {
            return Err(QueueError::MissingParameter(
                "The request must contain the parameter MessageGroupId.".into(),
            ));
        }
        if msg.deduplication_id.is_none() && !config.content_based_deduplication {
            return Err(QueueError::InvalidParameterValue(
                "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly".into(),
            ));
        }
    }
    let delay = msg.delay_seconds.unwrap_or(config.delay_seconds);
    if delay > 900 {
        return Err(QueueError::InvalidParameterValue(format!(
            "Value {delay} for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided."
        )));
    }
    Ok(())
}

/// One queue of a fan-out and its (position in the call, message) entries.
type FanoutTarget = (Arc<Queue>, Vec<(usize, NewMessage)>);

/// A send's accepted messages, applied to the in-memory index once their batch committed.
#[derive(Default)]
struct StagedSend {
    accepted: Vec<(u64, MsgMeta, Option<String>)>,
    /// Deduplication ids accepted by this send, applied to the window after the commit.
    fresh: Vec<(fifo::DedupKey, DedupEntry)>,
}

/// Makes committed messages visible to receivers and records their deduplication ids.
fn apply_staged(queue: &Queue, window: Option<&mut DedupWindow>, staged: StagedSend, now: u64) {
    if staged.accepted.is_empty() {
        return;
    }
    queue.traffic.count_sent(staged.accepted.len());
    let seqs: Vec<u64> = staged.accepted.iter().map(|(seq, _, _)| *seq).collect();
    {
        let mut index = queue.index();
        for (seq, meta, group) in staged.accepted {
            index.insert(seq, meta, group.as_deref(), now);
        }
    }
    queue.indexed(seqs);
    if let Some(window) = window {
        for (key, entry) in staged.fresh {
            window.insert(key, entry);
        }
    }
    queue.notify.notify_waiters();
}
