//! SendMessage(Batch) and the SNS fan-out into queues: per-message checks, staging into one
//! batch, and applying committed messages to the index.
//!
//! # Invariants
//! - One command, one commit: every accepted message of a send (or of a fan-out, with the
//!   caller's extra writes) is in one batch; a refused message fails its own entry only.
//! - Messages enter the index only after their batch committed (with their FIFO
//!   deduplication ids, which are on disk from then on). FIFO sends hold the queue's send lock
//!   from sequence assignment until their batch is submitted, not while the log or the fsync
//!   answers (see `Store::submit`); they enter the index through the queue's
//!   line (`order`), in sequence order.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};

use sluice_storage::{Cf, StorageError, Store};

use super::config::{DeduplicationScope, QueueConfig};
use super::error::{QueueError, Result};
use super::fifo::{self, DedupEntry, DedupKey};
use super::index::MsgMeta;
use super::message::{message_key, NewMessage, SentMessage, StoredPayload};
use super::order::{FifoSends, Staged};
use super::{Queue, QueueKey, Queues};

impl Queues {
    /// Sends messages; one commit for all valid entries. The outer error is queue-level.
    pub fn send(&self, key: &QueueKey, messages: Vec<NewMessage>) -> Result<Vec<Result<SentMessage>>> {
        let queue = self.lookup(key)?;
        // FIFO sends stage one at a time per queue (see `order`); the clock is read under the
        // lock, so a FIFO queue's sequences and send times grow together.
        let lock = queue.fifo.then(|| queue.fifo_sends());
        let now = self.clock.now_ms();
        let mut batch = self.store.batch();
        let (mut results, staged, waits) = self.stage_send(&queue, lock.as_deref(), messages, &mut batch, now)?;
        if staged.accepted.is_empty() && waits.is_empty() {
            return Ok(results);
        }
        let sent = staged.accepted.len();
        let part = Part {
            queue: &queue,
            lock,
            staged,
            waits,
        };
        let unsent = self.commit_parts(batch, vec![part], now, ())?;
        if queue.deleted.load(Ordering::Acquire) {
            return Err(QueueError::QueueDoesNotExist);
        }
        for entry in unsent.into_iter().flatten() {
            results[entry] = Err(original_not_committed());
        }
        queue.traffic.count_sent(sent);
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
        self.send_fanout_holding(deliveries, extra, ())
    }

    /// [`Queues::send_fanout`] for a caller that holds its own order lock (`held`, a FIFO
    /// topic's): it is dropped once the batch has its place in the log, after every FIFO queue
    /// of the fan-out has taken its place in line, so fan-outs enter their queues in the
    /// order the caller staged them and the caller's lock is not held while the log answers.
    pub fn send_fanout_holding<E: From<QueueError>>(
        &self,
        deliveries: Vec<(QueueKey, NewMessage)>,
        extra: impl FnOnce(&mut sluice_storage::Batch<'_>) -> std::result::Result<(), E>,
        held: impl Sized,
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
        let mut locks: Vec<Option<MutexGuard<'_, FifoSends>>> =
            queues.iter().map(|q| q.fifo.then(|| q.fifo_sends())).collect();
        let mut batch = self.store.batch();
        let mut parts = Vec::with_capacity(queues.len());
        let mut part_positions = Vec::with_capacity(queues.len());
        for ((queue, lock), (_, (_, entries))) in queues.iter().zip(locks.iter_mut()).zip(targets) {
            let (positions, messages): (Vec<usize>, Vec<NewMessage>) = entries.into_iter().unzip();
            let (sent, staged, waits) = self.stage_send(queue, lock.as_deref(), messages, &mut batch, now)?;
            for (&position, result) in positions.iter().zip(sent) {
                results[position] = Some(result);
            }
            parts.push(Part {
                queue,
                lock: lock.take(),
                staged,
                waits,
            });
            part_positions.push(positions);
        }
        // The batch is dropped uncommitted on failure: no delivery of this fan-out happens.
        extra(&mut batch)?;
        let sent: Vec<usize> = parts.iter().map(|p| p.staged.accepted.len()).collect();
        let unsent = self.commit_parts(batch, parts, now, held)?;
        for ((queue, sent), (unsent, positions)) in queues.iter().zip(sent).zip(unsent.into_iter().zip(&part_positions))
        {
            for entry in unsent {
                results[positions[entry]] = Some(Err(original_not_committed()));
            }
            if !queue.deleted.load(Ordering::Acquire) {
                queue.traffic.count_sent(sent);
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or(Err(QueueError::QueueDoesNotExist)))
            .collect())
    }

    /// Commits `batch` and makes each part's messages visible in its queue once the batch is
    /// in, before returning. A FIFO part comes with its queue's send lock, held since staging:
    /// the batch is submitted (its place in the log fixed) before the locks are released, the
    /// wait for the log happens without them, and the part then goes through its queue's line
    /// so that messages enter the index in sequence order (see `order`). Messages of a failed
    /// commit stay out of the index, their sequences burnt.
    ///
    /// `held` (a caller's own order lock, or `()`) is dropped with the queues' send locks.
    ///
    /// Answers, per part, the entries of resends ([`Wait`]) whose original did not commit
    /// after all: those were not sent.
    pub(super) fn commit_parts(
        &self,
        batch: sluice_storage::Batch<'_>,
        parts: Vec<Part<'_>>,
        now: u64,
        held: impl Sized,
    ) -> Result<Vec<Vec<usize>>> {
        let mut direct = Vec::new();
        let mut lines = Vec::with_capacity(parts.len());
        let mut locks = Vec::new();
        for part in parts {
            match part.lock {
                Some(mut lock) => {
                    let ticket = (!part.staged.accepted.is_empty()).then(|| lock.begin(part.staged));
                    locks.push(lock);
                    lines.push(InLine {
                        queue: part.queue,
                        store: &self.store,
                        ticket,
                        waits: part.waits,
                        now,
                    });
                }
                None => {
                    direct.push((part.queue, part.staged));
                    lines.push(InLine {
                        queue: part.queue,
                        store: &self.store,
                        ticket: None,
                        waits: Vec::new(),
                        now,
                    });
                }
            }
        }
        let submitted = if batch.is_empty() {
            Ok(None)
        } else {
            self.store.submit(batch).map(Some)
        };
        drop(locks);
        drop(held);
        let committed = submitted.and_then(|s| s.map_or(Ok(()), |s| s.wait()));
        if committed.is_ok() {
            for (queue, staged) in direct {
                apply_staged(queue, staged, now);
            }
        }
        // Every part reports before any waits, so no part's wait holds back another's report.
        let waiting: Vec<(InLine<'_>, Option<u64>)> = lines
            .into_iter()
            .map(|mut line| {
                let ticket = line.report(committed.is_ok());
                (line, ticket)
            })
            .collect();
        committed?;
        Ok(waiting.into_iter().map(|(line, ticket)| line.settle(ticket)).collect())
    }

    /// Validates `messages` for `queue` and adds the accepted ones to `batch`; the caller commits
    /// it with the returned [`Staged`] and [`Wait`]s ([`Queues::commit_parts`]). FIFO callers
    /// hold the queue's send lock. A refused message fails its own entry; a storage failure
    /// (reserving sequences) fails the whole command.
    fn stage_send(
        &self,
        queue: &Queue,
        sends: Option<&FifoSends>,
        messages: Vec<NewMessage>,
        batch: &mut sluice_storage::Batch<'_>,
        now: u64,
    ) -> Result<(Vec<Result<SentMessage>>, Staged, Vec<Wait>)> {
        let config = queue.config();
        let mut results = Vec::with_capacity(messages.len());
        let mut staged = Staged::default();
        let mut waits = Vec::new();
        for msg in messages {
            if let Err(err) = check_message(&config, &msg) {
                results.push(Err(err));
                continue;
            }
            let dedup = match sends {
                Some(sends) => {
                    let id = msg
                        .deduplication_id
                        .clone()
                        .unwrap_or_else(|| fifo::content_deduplication_id(&msg.body));
                    let scope = match config.deduplication_scope {
                        DeduplicationScope::Queue => "",
                        DeduplicationScope::MessageGroup => msg.group_id.as_deref().unwrap_or_default(),
                    };
                    let dedup_key = fifo::dedup_key(scope, &id);
                    // In flight (its outcome still to come), earlier in this call, or on disk.
                    let original = match sends.in_flight_id(&dedup_key) {
                        Some((ticket, entry)) => {
                            waits.push(Wait {
                                entry: results.len(),
                                ticket,
                                key: dedup_key,
                                message_id: entry.message_id,
                            });
                            Some(entry)
                        }
                        None => match staged.fresh.iter().find(|(k, _)| *k == dedup_key) {
                            Some((_, entry)) => Some(*entry),
                            None => fifo::stored_original(&self.store, queue.id, &dedup_key, now)?,
                        },
                    };
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
        Ok((results, staged, waits))
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

/// One queue's part of a commit: its staged messages, and for a FIFO queue its send lock.
pub(super) struct Part<'q> {
    /// The queue the messages go to.
    pub queue: &'q Queue,
    /// A FIFO queue's send lock, held since the part was staged.
    pub lock: Option<MutexGuard<'q, FifoSends>>,
    /// The messages to index once the commit is in.
    pub staged: Staged,
    /// Resent deduplication ids answered like originals still in flight.
    pub waits: Vec<Wait>,
}

/// A resend answered like an original whose commit was still in flight: the answer holds only
/// if that commit went through.
pub(super) struct Wait {
    /// The resend's entry in its part's results.
    entry: usize,
    ticket: u64,
    key: DedupKey,
    message_id: uuid::Uuid,
}

/// Makes committed messages visible to receivers (unless the queue was deleted meanwhile).
/// FIFO callers hold the queue's send lock and apply in line order.
fn apply_staged(queue: &Queue, staged: Staged, now: u64) {
    if staged.accepted.is_empty() || queue.deleted.load(Ordering::Acquire) {
        return;
    }
    let seqs: Vec<u64> = staged.seqs().collect();
    {
        let mut index = queue.index();
        for (seq, meta, group) in staged.accepted {
            index.insert(seq, meta, group.as_deref(), now);
        }
    }
    queue.indexed(seqs);
    queue.notify.notify_waiters();
}

/// A FIFO part's place in its queue's line until its sender has reported the commit's outcome;
/// dropped unreported (a panic on the way), it reports a failure so that the line moves on.
struct InLine<'q> {
    queue: &'q Queue,
    /// Where committed deduplication ids are looked up.
    store: &'q Store,
    /// The part's ticket while its outcome is unreported (`None` for a part with no message).
    ticket: Option<u64>,
    waits: Vec<Wait>,
    now: u64,
}

impl InLine<'_> {
    /// Reports the outcome and applies, in line order, every commit that lets through; returns
    /// the ticket reported.
    fn report(&mut self, committed: bool) -> Option<u64> {
        let ticket = self.ticket.take()?;
        let mut lock = self.queue.fifo_sends();
        let ready = lock.finish(ticket, committed);
        // Waiters need the lock to look, so they see the commits below applied; notified
        // first, a panic while applying still wakes them.
        self.queue.settled.notify_all();
        for (staged, ok) in ready {
            if ok {
                apply_staged(self.queue, staged, self.now);
            }
        }
        Some(ticket)
    }

    /// Waits until this part's own commit, and the originals its resends were answered like,
    /// have left the line: the sender's messages are visible when its call returns. Answers the
    /// resends whose original did not commit (their answer named a message that does not
    /// exist).
    fn settle(self, own: Option<u64>) -> Vec<usize> {
        if own.is_none() && self.waits.is_empty() {
            return Vec::new();
        }
        let mut lock = self.queue.fifo_sends();
        let tickets: Vec<u64> = own.into_iter().chain(self.waits.iter().map(|w| w.ticket)).collect();
        // Bounded by the senders ahead in the line, whose own waits for the log end in an outcome.
        while tickets.iter().any(|t| lock.in_flight(*t)) {
            lock = sluice_storage::wait_blocking(|| self.queue.settled.wait(lock).unwrap_or_else(|p| p.into_inner()));
        }
        // Out of the line, an original that committed is on disk; one that cannot be read
        // counts as not committed (the client sends again, and deduplication still holds).
        self.waits
            .iter()
            .filter(|w| {
                fifo::stored_original(self.store, self.queue.id, &w.key, self.now)
                    .ok()
                    .flatten()
                    .is_none_or(|e| e.message_id != w.message_id)
            })
            .map(|w| w.entry)
            .collect()
    }
}

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.report(false);
    }
}

/// The answer to a resend whose original did not commit: the client sends it again.
fn original_not_committed() -> QueueError {
    QueueError::Storage(StorageError::NotWriting(
        "the original of this deduplicated message could not be confirmed as committed; send it again".into(),
    ))
}
