//! The in-memory visibility index of one queue: a cache of what `queue_msgs`/`queue_state`
//! hold, rebuilt at start-up.
//!
//! Every message is in exactly one of two sets: `ready` (visible now, by sequence, so standard
//! queues hand out oldest first) or `pending` (invisible until a deadline: delayed or in flight).
//! `promote` moves due messages from `pending` to `ready`; nothing polls.

use std::collections::{BTreeMap, BTreeSet};

/// What the index keeps per message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsgMeta {
    /// Epoch ms of the original send (for retention).
    pub sent_ms: u64,
    /// When it is (or becomes) visible.
    pub visible_at_ms: u64,
    /// Receives so far.
    pub receive_count: u32,
    /// First receive (0 = never).
    pub first_receive_ms: u64,
    /// Last receive (0 = never).
    pub last_receive_ms: u64,
    /// Nonce of the newest receipt handle.
    pub nonce: u64,
}

/// Message counts as GetQueueAttributes reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Visible messages.
    pub visible: u64,
    /// Received and not yet visible again.
    pub in_flight: u64,
    /// Never received and still delayed.
    pub delayed: u64,
}

/// The visibility index of one queue.
#[derive(Debug, Default)]
pub struct MessageIndex {
    metas: BTreeMap<u64, MsgMeta>,
    ready: BTreeSet<u64>,
    pending: BTreeSet<(u64, u64)>,
    by_sent: BTreeSet<(u64, u64)>,
}

impl MessageIndex {
    /// Adds a message (or replaces one with the same sequence).
    pub fn insert(&mut self, seq: u64, meta: MsgMeta, now_ms: u64) {
        self.remove(seq);
        self.metas.insert(seq, meta);
        self.by_sent.insert((meta.sent_ms, seq));
        self.place(seq, meta.visible_at_ms, now_ms);
    }

    fn place(&mut self, seq: u64, visible_at_ms: u64, now_ms: u64) {
        if visible_at_ms <= now_ms {
            self.ready.insert(seq);
        } else {
            self.pending.insert((visible_at_ms, seq));
        }
    }

    /// Removes a message; returns what was kept for it.
    pub fn remove(&mut self, seq: u64) -> Option<MsgMeta> {
        let meta = self.metas.remove(&seq)?;
        self.ready.remove(&seq);
        self.pending.remove(&(meta.visible_at_ms, seq));
        self.by_sent.remove(&(meta.sent_ms, seq));
        Some(meta)
    }

    /// The meta of a message.
    pub fn get(&self, seq: u64) -> Option<&MsgMeta> {
        self.metas.get(&seq)
    }

    /// Moves every message due at `now_ms` from pending to ready.
    pub fn promote(&mut self, now_ms: u64) {
        while let Some(&(at, seq)) = self.pending.first() {
            if at > now_ms {
                break;
            }
            self.pending.pop_first();
            self.ready.insert(seq);
        }
    }

    /// Takes the oldest visible message out of `ready` (it stays indexed until re-placed).
    pub fn pop_ready(&mut self) -> Option<(u64, MsgMeta)> {
        let seq = self.ready.pop_first()?;
        let meta = *self.metas.get(&seq)?;
        Some((seq, meta))
    }

    /// Stores a changed meta and places the message by its new visibility.
    pub fn update(&mut self, seq: u64, meta: MsgMeta, now_ms: u64) {
        if let Some(old) = self.metas.get(&seq).copied() {
            self.ready.remove(&seq);
            self.pending.remove(&(old.visible_at_ms, seq));
            self.metas.insert(seq, meta);
            self.place(seq, meta.visible_at_ms, now_ms);
        }
    }

    /// The earliest pending visibility deadline.
    pub fn next_visible_at(&self) -> Option<u64> {
        self.pending.first().map(|(at, _)| *at)
    }

    /// Sequences of messages sent before `cutoff_ms` (retention expiry), oldest first.
    pub fn sent_before(&self, cutoff_ms: u64) -> Vec<u64> {
        self.by_sent
            .iter()
            .take_while(|(sent, _)| *sent < cutoff_ms)
            .map(|(_, seq)| *seq)
            .collect()
    }

    /// Send time of the oldest message.
    pub fn oldest_sent_ms(&self) -> Option<u64> {
        self.by_sent.first().map(|(sent, _)| *sent)
    }

    /// Every sequence below `bound` (for purges).
    pub fn seqs_below(&self, bound: u64) -> Vec<u64> {
        self.metas.range(..bound).map(|(seq, _)| *seq).collect()
    }

    /// Number of messages indexed.
    pub fn len(&self) -> usize {
        self.metas.len()
    }

    /// True when the queue holds no message.
    pub fn is_empty(&self) -> bool {
        self.metas.is_empty()
    }

    /// Counts at `now_ms`.
    pub fn counts(&self, now_ms: u64) -> Counts {
        let mut counts = Counts {
            visible: self.ready.len() as u64,
            ..Counts::default()
        };
        for (at, seq) in &self.pending {
            if *at <= now_ms {
                counts.visible += 1;
            } else if self.metas.get(seq).is_some_and(|m| m.receive_count > 0) {
                counts.in_flight += 1;
            } else {
                counts.delayed += 1;
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(sent: u64, visible: u64) -> MsgMeta {
        MsgMeta {
            sent_ms: sent,
            visible_at_ms: visible,
            receive_count: 0,
            first_receive_ms: 0,
            last_receive_ms: 0,
            nonce: 0,
        }
    }

    #[test]
    fn ready_in_sequence_order_and_pending_promoted_at_deadline() {
        let mut idx = MessageIndex::default();
        idx.insert(2, meta(0, 0), 10);
        idx.insert(1, meta(0, 0), 10);
        idx.insert(3, meta(0, 50), 10);
        assert_eq!(
            idx.counts(10),
            Counts {
                visible: 2,
                in_flight: 0,
                delayed: 1
            }
        );
        assert_eq!(idx.pop_ready().map(|(s, _)| s), Some(1));
        assert_eq!(idx.pop_ready().map(|(s, _)| s), Some(2));
        assert_eq!(idx.pop_ready(), None);
        assert_eq!(idx.next_visible_at(), Some(50));
        idx.promote(49);
        assert_eq!(idx.pop_ready(), None);
        idx.promote(50);
        assert_eq!(idx.pop_ready().map(|(s, _)| s), Some(3));
    }

    #[test]
    fn update_moves_between_sets_and_remove_forgets() {
        let mut idx = MessageIndex::default();
        idx.insert(1, meta(5, 0), 10);
        let (seq, mut m) = idx.pop_ready().expect("ready");
        m.visible_at_ms = 100;
        m.receive_count = 1;
        idx.update(seq, m, 10);
        assert_eq!(
            idx.counts(10),
            Counts {
                visible: 0,
                in_flight: 1,
                delayed: 0
            }
        );
        m.visible_at_ms = 10;
        idx.update(seq, m, 10);
        assert_eq!(idx.counts(10).visible, 1);
        assert_eq!(idx.sent_before(6), vec![1]);
        assert!(idx.remove(1).is_some());
        assert!(idx.is_empty());
        assert_eq!(idx.counts(10), Counts::default());
    }
}
