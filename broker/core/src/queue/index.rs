//! The in-memory visibility index of one queue: a cache of what `queue_msgs`/`queue_state`
//! hold, rebuilt at start-up.
//!
//! Every message is either *ready* (visible now) or *pending* (invisible until a deadline:
//! delayed, or in flight after a receive). `promote` moves due messages from pending to ready;
//! nothing polls.
//!
//! Messages belong to message groups (standard queues without group ids use one unnamed group),
//! and delivery picks a group first:
//! - FIFO: a group can be served only when none of its messages is in flight and its oldest
//!   message is visible; groups are served oldest head first, and one receive continues within
//!   a group in order before it moves on ([`Cursor`]).
//! - Standard (fair queues): the group with the fewest messages in flight goes first, ties by
//!   oldest visible message, so a tenant holding many in-flight messages cannot starve the rest.
//!
//! `order` holds exactly the groups that can be served now, keyed by that priority, so picking
//! the next message is a logarithmic lookup however many messages wait in blocked groups.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

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

impl MsgMeta {
    /// A message never received yet.
    pub(crate) fn new(sent_ms: u64, visible_at_ms: u64) -> MsgMeta {
        MsgMeta {
            sent_ms,
            visible_at_ms,
            receive_count: 0,
            first_receive_ms: 0,
            last_receive_ms: 0,
            nonce: 0,
        }
    }
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

/// Where a receive is within a FIFO group, so it continues with that group's next message.
#[derive(Debug, Default)]
pub struct Cursor {
    group: Option<(Arc<str>, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Ready,
    Pending { in_flight: bool },
}

#[derive(Debug)]
struct Entry {
    meta: MsgMeta,
    group: Arc<str>,
    place: Place,
}

#[derive(Debug, Default)]
struct GroupState {
    msgs: BTreeSet<u64>,
    ready: BTreeSet<u64>,
    in_flight: u64,
    slot: Option<(u64, u64)>,
}

/// The visibility index of one queue.
#[derive(Debug, Default)]
pub struct MessageIndex {
    fifo: bool,
    metas: BTreeMap<u64, Entry>,
    pending: BTreeSet<(u64, u64)>,
    by_sent: BTreeSet<(u64, u64)>,
    groups: HashMap<Arc<str>, GroupState>,
    order: BTreeSet<(u64, u64, Arc<str>)>,
    ready_len: usize,
}

impl MessageIndex {
    /// An empty index for a FIFO (`true`) or standard queue.
    pub fn new(fifo: bool) -> MessageIndex {
        MessageIndex {
            fifo,
            ..MessageIndex::default()
        }
    }

    /// Adds a message of `group` (`None`: the unnamed group), or replaces one with the same
    /// sequence.
    pub fn insert(&mut self, seq: u64, meta: MsgMeta, group: Option<&str>, now_ms: u64) {
        self.remove(seq);
        let group: Arc<str> = match self.groups.get_key_value(group.unwrap_or("")) {
            Some((name, _)) => name.clone(),
            None => Arc::from(group.unwrap_or("")),
        };
        self.groups.entry(group.clone()).or_default().msgs.insert(seq);
        self.by_sent.insert((meta.sent_ms, seq));
        let place = self.place(seq, &meta, &group, now_ms);
        self.metas.insert(
            seq,
            Entry {
                meta,
                group: group.clone(),
                place,
            },
        );
        self.refresh(&group);
    }

    /// Puts a message in ready or pending by its visibility; returns where.
    fn place(&mut self, seq: u64, meta: &MsgMeta, group: &Arc<str>, now_ms: u64) -> Place {
        let state = self.groups.entry(group.clone()).or_default();
        if meta.visible_at_ms <= now_ms {
            state.ready.insert(seq);
            self.ready_len += 1;
            Place::Ready
        } else {
            let in_flight = meta.receive_count > 0;
            if in_flight {
                state.in_flight += 1;
            }
            self.pending.insert((meta.visible_at_ms, seq));
            Place::Pending { in_flight }
        }
    }

    /// Takes a message out of ready or pending.
    fn unplace(&mut self, seq: u64, meta: &MsgMeta, group: &Arc<str>, place: Place) {
        let state = self.groups.entry(group.clone()).or_default();
        match place {
            Place::Ready => {
                state.ready.remove(&seq);
                self.ready_len -= 1;
            }
            Place::Pending { in_flight } => {
                if in_flight {
                    state.in_flight -= 1;
                }
                self.pending.remove(&(meta.visible_at_ms, seq));
            }
        }
    }

    /// Recomputes whether (and with which priority) `group` can be served.
    fn refresh(&mut self, group: &Arc<str>) {
        let Some(state) = self.groups.get_mut(group) else {
            return;
        };
        if let Some((a, b)) = state.slot.take() {
            self.order.remove(&(a, b, group.clone()));
        }
        if state.msgs.is_empty() {
            self.groups.remove(group);
            return;
        }
        let slot = if self.fifo {
            match state.msgs.first() {
                Some(head) if state.in_flight == 0 && state.ready.contains(head) => Some((0, *head)),
                _ => None,
            }
        } else {
            state.ready.first().map(|first| (state.in_flight, *first))
        };
        if let Some((a, b)) = slot {
            state.slot = slot;
            self.order.insert((a, b, group.clone()));
        }
    }

    /// Removes a message; returns what was kept for it.
    pub fn remove(&mut self, seq: u64) -> Option<MsgMeta> {
        let entry = self.metas.remove(&seq)?;
        self.unplace(seq, &entry.meta, &entry.group, entry.place);
        self.by_sent.remove(&(entry.meta.sent_ms, seq));
        if let Some(state) = self.groups.get_mut(&entry.group) {
            state.msgs.remove(&seq);
        }
        self.refresh(&entry.group);
        Some(entry.meta)
    }

    /// The meta of a message.
    pub fn get(&self, seq: u64) -> Option<&MsgMeta> {
        self.metas.get(&seq).map(|e| &e.meta)
    }

    /// The group of a message (`""` for the unnamed group).
    pub fn group_of(&self, seq: u64) -> Option<&str> {
        self.metas.get(&seq).map(|e| &*e.group)
    }

    /// Moves every message due at `now_ms` from pending to ready.
    pub fn promote(&mut self, now_ms: u64) {
        while let Some(&(at, seq)) = self.pending.first() {
            if at > now_ms {
                break;
            }
            let Some(entry) = self.metas.get(&seq) else {
                self.pending.pop_first();
                continue;
            };
            let (meta, group, place) = (entry.meta, entry.group.clone(), entry.place);
            self.unplace(seq, &meta, &group, place);
            let place = self.place(seq, &meta, &group, now_ms);
            if let Some(entry) = self.metas.get_mut(&seq) {
                entry.place = place;
            }
            self.refresh(&group);
        }
    }

    /// The next message a receive should hand out (already promoted to `now`), continuing the
    /// FIFO group `cursor` is in; `None` when nothing can be delivered. The caller re-places or
    /// removes the message before asking again.
    pub fn next_deliverable(&mut self, cursor: &mut Cursor) -> Option<u64> {
        if let Some((group, last)) = cursor.group.take() {
            if let Some(state) = self.groups.get(&group) {
                if let Some(&next) = state.msgs.range(last + 1..).next() {
                    if state.ready.contains(&next) {
                        cursor.group = Some((group, next));
                        return Some(next);
                    }
                }
            }
        }
        let (_, _, group) = self.order.first()?.clone();
        let state = self.groups.get(&group)?;
        let seq = if self.fifo {
            *state.msgs.first()?
        } else {
            *state.ready.first()?
        };
        if self.fifo {
            cursor.group = Some((group, seq));
        }
        Some(seq)
    }

    /// Stores a changed meta and places the message by its new visibility.
    pub fn update(&mut self, seq: u64, meta: MsgMeta, now_ms: u64) {
        let Some(entry) = self.metas.get(&seq) else {
            return;
        };
        let (old, group, place) = (entry.meta, entry.group.clone(), entry.place);
        self.unplace(seq, &old, &group, place);
        let place = self.place(seq, &meta, &group, now_ms);
        if let Some(entry) = self.metas.get_mut(&seq) {
            entry.meta = meta;
            entry.place = place;
        }
        self.refresh(&group);
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

    /// Visible sequences below `bound`, oldest first, at most `limit` (for move tasks).
    pub fn ready_below(&self, bound: u64, limit: usize) -> Vec<u64> {
        self.metas
            .range(..bound)
            .filter(|(_, e)| e.place == Place::Ready)
            .map(|(seq, _)| *seq)
            .take(limit)
            .collect()
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
            visible: self.ready_len as u64,
            ..Counts::default()
        };
        for (at, seq) in &self.pending {
            if *at <= now_ms {
                counts.visible += 1;
            } else if self.metas.get(seq).is_some_and(|e| e.meta.receive_count > 0) {
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

    /// Takes the next deliverable message as a receive would, making it in flight until `until`.
    fn take(idx: &mut MessageIndex, cursor: &mut Cursor, now: u64, until: u64) -> Option<u64> {
        let seq = idx.next_deliverable(cursor)?;
        let mut m = *idx.get(seq).expect("indexed");
        m.receive_count += 1;
        m.visible_at_ms = until;
        idx.update(seq, m, now);
        Some(seq)
    }

    #[test]
    fn ready_in_sequence_order_and_pending_promoted_at_deadline() {
        let mut idx = MessageIndex::new(false);
        idx.insert(2, meta(0, 0), None, 10);
        idx.insert(1, meta(0, 0), None, 10);
        idx.insert(3, meta(0, 50), None, 10);
        assert_eq!(
            idx.counts(10),
            Counts {
                visible: 2,
                in_flight: 0,
                delayed: 1
            }
        );
        let mut c = Cursor::default();
        assert_eq!(take(&mut idx, &mut c, 10, 100), Some(1));
        assert_eq!(take(&mut idx, &mut c, 10, 100), Some(2));
        assert_eq!(take(&mut idx, &mut c, 10, 100), None);
        assert_eq!(idx.next_visible_at(), Some(50));
        idx.promote(49);
        assert_eq!(idx.next_deliverable(&mut Cursor::default()), None);
        idx.promote(50);
        assert_eq!(idx.next_deliverable(&mut Cursor::default()), Some(3));
    }

    #[test]
    fn update_moves_between_sets_and_remove_forgets() {
        let mut idx = MessageIndex::new(false);
        idx.insert(1, meta(5, 0), None, 10);
        let seq = take(&mut idx, &mut Cursor::default(), 10, 100).expect("ready");
        assert_eq!(
            idx.counts(10),
            Counts {
                visible: 0,
                in_flight: 1,
                delayed: 0
            }
        );
        let mut m = *idx.get(seq).expect("meta");
        m.visible_at_ms = 10;
        idx.update(seq, m, 10);
        assert_eq!(idx.counts(10).visible, 1);
        assert_eq!(idx.sent_before(6), vec![1]);
        assert!(idx.remove(1).is_some());
        assert!(idx.is_empty());
        assert_eq!(idx.counts(10), Counts::default());
        assert!(
            idx.groups.is_empty() && idx.order.is_empty(),
            "empty groups are dropped"
        );
    }

    #[test]
    fn fifo_groups_lock_while_in_flight_and_continue_in_order() {
        let mut idx = MessageIndex::new(true);
        // a: 1, 3, 4   b: 2, 5
        for (seq, g) in [(1, "a"), (2, "b"), (3, "a"), (4, "a"), (5, "b")] {
            idx.insert(seq, meta(0, 0), Some(g), 0);
        }
        let mut c = Cursor::default();
        // One receive drains group a in order first, then moves to b.
        let got: Vec<u64> = std::iter::from_fn(|| take(&mut idx, &mut c, 0, 100)).collect();
        assert_eq!(got, vec![1, 3, 4, 2, 5]);
        // Everything is in flight: nothing more.
        assert_eq!(idx.next_deliverable(&mut Cursor::default()), None);
        // Delete a's head; a is still locked by 3 and 4 in flight.
        idx.remove(1);
        idx.insert(6, meta(0, 0), Some("a"), 0);
        assert_eq!(idx.next_deliverable(&mut Cursor::default()), None);
        // Making 4 visible does not unlock a: 3 is still in flight and is older.
        let mut m4 = *idx.get(4).expect("4");
        m4.visible_at_ms = 0;
        idx.update(4, m4, 0);
        assert_eq!(idx.next_deliverable(&mut Cursor::default()), None);
        // Once 3 and 4 are deleted, 6 is the head of an unlocked group.
        idx.remove(3);
        idx.remove(4);
        assert_eq!(idx.next_deliverable(&mut Cursor::default()), Some(6));
        // b's messages come back in order when their visibility expires.
        idx.promote(100);
        let mut c = Cursor::default();
        let got: Vec<u64> = std::iter::from_fn(|| take(&mut idx, &mut c, 100, 200)).collect();
        assert_eq!(got, vec![2, 5, 6]);
    }

    #[test]
    fn fifo_delayed_message_blocks_only_what_follows_it() {
        let mut idx = MessageIndex::new(true);
        idx.insert(1, meta(0, 0), Some("g"), 0);
        idx.insert(2, meta(0, 50), Some("g"), 0);
        idx.insert(3, meta(0, 0), Some("g"), 0);
        let mut c = Cursor::default();
        assert_eq!(take(&mut idx, &mut c, 0, 1000), Some(1));
        assert_eq!(
            take(&mut idx, &mut c, 0, 1000),
            None,
            "2 is delayed, 3 must wait behind it"
        );
    }

    #[test]
    fn fair_groups_with_fewer_in_flight_go_first() {
        let mut idx = MessageIndex::new(false);
        // A noisy tenant with a backlog of 20 and a quiet one with 2 messages sent later.
        for seq in 1..=20 {
            idx.insert(seq, meta(0, 0), Some("noisy"), 0);
        }
        idx.insert(21, meta(0, 0), Some("quiet"), 0);
        idx.insert(22, meta(0, 0), Some("quiet"), 0);
        let mut c = Cursor::default();
        for _ in 0..5 {
            take(&mut idx, &mut c, 0, 1000);
        }
        // Both quiet messages are among the first deliveries despite their later sends.
        let quiet_in_flight = idx.groups.get("quiet").map_or(0, |g| g.in_flight);
        assert_eq!(quiet_in_flight, 2);
        assert_eq!(idx.counts(0).in_flight, 5);
    }
}
