//! Peeking: reading a queue's messages without receiving them, and deleting one by its
//! position, for the console.
//!
//! SQS has no such operation: ReceiveMessage hides what it returns and counts a receive, so a
//! look at a queue changes it. A peek reads the stored payloads in send order and joins each
//! with its state in the visibility index; it writes nothing and takes the queue's index lock
//! only once per page, so consumers are not held up.
//!
//! # Invariants
//! - Nothing changes: no visibility, no receive count, no receipt handle, no commit.
//! - A page costs what it returns: the read starts at the page's first sequence (a key seek),
//!   however many messages the queue holds.
//! - A message is shown only while the index holds it, so a deleted message whose payload is
//!   still being removed never appears.
//! - A deletion by position names the message id it expects there too, so a stale page can
//!   never delete another message (positions are never reused within a queue).

use sluice_storage::Cf;

use super::error::Result;
use super::fifo;
use super::index::MsgMeta;
use super::message::{message_key, queue_prefix, MessageAttributes, StoredPayload};
use super::{QueueKey, Queues};

/// Most messages one peek returns.
pub const MAX_PEEK: usize = 1000;

/// Where a peeked message stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeekState {
    /// A receive would return it now.
    Visible,
    /// Received, and not visible again until `visible_at_ms`.
    InFlight,
    /// Never received and delayed until `visible_at_ms`.
    Delayed,
}

impl PeekState {
    /// The name the console shows.
    pub fn as_str(self) -> &'static str {
        match self {
            PeekState::Visible => "visible",
            PeekState::InFlight => "in flight",
            PeekState::Delayed => "delayed",
        }
    }
}

/// One message as a peek sees it: its payload and its state now, without a receipt handle.
#[derive(Debug, Clone)]
pub struct PeekedMessage {
    /// Its position in the queue (a peek continues after it).
    pub position: u64,
    /// The message id.
    pub message_id: String,
    /// The body.
    pub body: String,
    /// User attributes.
    pub attributes: MessageAttributes,
    /// System attributes as sent (AWSTraceHeader).
    pub system_attributes: MessageAttributes,
    /// Who sent it.
    pub sender_id: String,
    /// When it was sent, epoch ms.
    pub sent_ms: u64,
    /// Receives so far.
    pub receive_count: u32,
    /// First receive, epoch ms (0 when never received).
    pub first_receive_ms: u64,
    /// When it is or becomes visible, epoch ms.
    pub visible_at_ms: u64,
    /// Visible, in flight or delayed.
    pub state: PeekState,
    /// Message group id.
    pub group_id: Option<String>,
    /// FIFO deduplication id.
    pub deduplication_id: Option<String>,
    /// FIFO sequence number.
    pub sequence_number: Option<String>,
    /// The queue a dead-lettered message came from.
    pub dead_letter_source_arn: Option<String>,
}

/// One page of a peek.
#[derive(Debug, Clone, Default)]
pub struct PeekPage {
    /// Messages in send order.
    pub messages: Vec<PeekedMessage>,
    /// Where the next page starts; `None` at the end of the queue.
    pub next: Option<u64>,
}

impl Queues {
    /// Up to `limit` (at most [`MAX_PEEK`]) messages of `key` in send order, from position
    /// `from` on, read without receiving them.
    pub fn peek(&self, key: &QueueKey, from: u64, limit: usize) -> Result<PeekPage> {
        let queue = self.lookup(key)?;
        let limit = limit.clamp(1, MAX_PEEK);
        let prefix = queue_prefix(queue.id);
        let mut payloads: Vec<(u64, StoredPayload)> = Vec::with_capacity(limit);
        let mut more = false;
        let mut corrupt = None;
        self.store
            .for_each_from(Cf::QueueMsgs, &message_key(queue.id, from), |k, v| {
                if !k.starts_with(&prefix) {
                    return false;
                }
                if payloads.len() == limit {
                    more = true;
                    return false;
                }
                let Some(seq) = sluice_storage::key::read_u64(k, prefix.len()) else {
                    return true;
                };
                match StoredPayload::decode(v) {
                    Ok(payload) => payloads.push((seq, payload)),
                    Err(e) => {
                        corrupt = Some(e);
                        return false;
                    }
                }
                true
            })?;
        if let Some(e) = corrupt {
            return Err(e.into());
        }
        let next = more.then(|| payloads.last().map_or(from, |(seq, _)| seq + 1));
        let now = self.clock.now_ms();
        let index = queue.index();
        // A message its send has not indexed yet (its commit may still be waiting for an
        // fsync or the log) is not in the queue yet, hot or cold.
        let unindexed = queue.unindexed();
        let messages = payloads
            .into_iter()
            .filter_map(|(seq, p)| {
                let meta = match index.get(seq) {
                    Some(meta) => *meta,
                    None if index.is_cold(seq) && !unindexed.contains(&seq) => {
                        MsgMeta::new(p.sent_ms, p.initial_visible_at_ms)
                    }
                    None => return None,
                };
                let state = if meta.visible_at_ms <= now {
                    PeekState::Visible
                } else if meta.receive_count > 0 {
                    PeekState::InFlight
                } else {
                    PeekState::Delayed
                };
                Some(PeekedMessage {
                    position: seq,
                    message_id: p.message_id,
                    body: p.body,
                    attributes: p.attributes,
                    system_attributes: p.system_attributes,
                    sender_id: p.sender_id,
                    sent_ms: p.sent_ms,
                    receive_count: meta.receive_count,
                    first_receive_ms: meta.first_receive_ms,
                    visible_at_ms: meta.visible_at_ms,
                    state,
                    group_id: p.group_id,
                    deduplication_id: p.deduplication_id,
                    sequence_number: queue.fifo.then(|| fifo::sequence_number(seq)),
                    dead_letter_source_arn: p.dead_letter_source_arn,
                })
            })
            .collect();
        Ok(PeekPage { messages, next })
    }

    /// Deletes the message at `position` if it is still there and is `message_id`, whether it is
    /// in flight or not (the console's delete: no receipt handle needed). `Ok(false)` when
    /// there is no such message (already deleted, or another id).
    pub fn delete_at(&self, key: &QueueKey, position: u64, message_id: &str) -> Result<bool> {
        let queue = self.lookup(key)?;
        let msg_key = message_key(queue.id, position);
        let Some(raw) = self.store.get(Cf::QueueMsgs, &msg_key)? else {
            return Ok(false);
        };
        let payload = StoredPayload::decode(&raw)?;
        if payload.message_id != message_id {
            return Ok(false);
        }
        let mut batch = self.store.batch();
        {
            let mut index = queue.index();
            // A message its send has not indexed yet is not in the queue yet, hot or cold.
            let indexed = !queue.unindexed().contains(&position);
            if index.remove(position).is_none()
                && !(indexed && index.remove_cold(position, payload.initial_visible_at_ms))
            {
                return Ok(false);
            }
            batch.delete(Cf::QueueMsgs, &msg_key);
            batch.delete(Cf::QueueState, &msg_key);
        }
        self.store.commit(batch)?;
        queue.traffic.count_deleted(1);
        if queue.fifo {
            // A delete can unlock the message's group for a waiting consumer.
            queue.notify.notify_waiters();
        }
        Ok(true)
    }
}
