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
//!
//! # Bounded memory: the cold tail
//! Each indexed message costs about 160 bytes, so a backlog of tens of millions would cost
//! gigabytes. The index therefore holds at most `hot_limit` messages ("hot"). When it is full,
//! a newly sent message that was never received stays on disk only ("cold"): the index keeps
//! the first cold sequence (`ColdTail::from`), how many there are, when the oldest was sent,
//! and when delayed ones become visible, a few bytes in all. The invariant: every live message
//! with a sequence at or above `from` that is not hot and not in `skip` is cold, and nothing
//! else is. The queue refills the hot part from disk in sequence order (`refill_plan`, `fill`)
//! as receives drain it, so the oldest messages are always the ones in memory; FIFO group
//! order holds because a group's cold messages all follow its hot ones. The tail ends when a
//! refill reaches the end of the queue on disk.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// Most messages one refill reads from disk. Small, because receives wait for the queue's
/// lock meanwhile: 4,096 made the receive p99 a third higher with a 20-million backlog.
const REFILL_CHUNK: usize = 512;
/// A refill forced because nothing hot can be delivered (every hot FIFO group is blocked) may
/// grow the hot part up to this many times its limit, so blocked groups cannot hide the rest
/// of the queue for long, nor grow memory without bound.
const FORCED_HOT_FACTOR: usize = 4;

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

/// Never-received messages kept on disk only, beyond the index's hot part.
#[derive(Debug, Default)]
struct ColdTail {
    /// First sequence that may be cold; `None` while every live message is hot.
    from: Option<u64>,
    /// How many messages are cold (approximate while a send races a refill, exact otherwise).
    count: u64,
    /// Cold messages still delayed: how many become visible at each time.
    delayed: BTreeMap<u64, u64>,
    /// Send time of the first cold message.
    oldest_sent_ms: u64,
    /// Sequences at or above `from` that are hot or were removed: refills skip them.
    skip: BTreeSet<u64>,
    /// Sequences `lo..=hi` whose messages start-up left on disk without counting them (see
    /// `MessageIndex::count_chunk`): `count`, `delayed` and `oldest_sent_ms` leave them out,
    /// and a message of this range leaving the tail does not change them either.
    uncounted: Option<(u64, u64)>,
    /// How many cold messages the uncounted range holds, at most: start-up's estimate, less
    /// every message of the range counted or taken out of the tail since.
    uncounted_estimate: u64,
}

impl ColdTail {
    fn add(&mut self, seq: u64, meta: &MsgMeta, now_ms: u64) {
        if self.from.is_none() {
            self.from = Some(seq);
            self.oldest_sent_ms = meta.sent_ms;
        }
        self.count += 1;
        self.oldest_sent_ms = self.oldest_sent_ms.min(meta.sent_ms);
        // Due entries only ever count as visible: dropping them bounds the map by the delays
        // still running (at most 900 s of distinct milliseconds), not by the backlog.
        while self.delayed.first_key_value().is_some_and(|(at, _)| *at <= now_ms) {
            self.delayed.pop_first();
        }
        if meta.visible_at_ms > now_ms {
            *self.delayed.entry(meta.visible_at_ms).or_default() += 1;
        }
    }

    /// Whether `seq` lies in the range start-up has not counted yet.
    fn is_uncounted(&self, seq: u64) -> bool {
        self.uncounted.is_some_and(|(lo, hi)| (lo..=hi).contains(&seq))
    }

    /// Forgets cold message `seq`, which became visible at `visible_at_ms` (it left the tail).
    fn take(&mut self, seq: u64, visible_at_ms: u64) {
        if self.is_uncounted(seq) {
            self.uncounted_estimate = self.uncounted_estimate.saturating_sub(1);
            return;
        }
        self.count = self.count.saturating_sub(1);
        if let Some(n) = self.delayed.get_mut(&visible_at_ms) {
            *n -= 1;
            if *n == 0 {
                self.delayed.remove(&visible_at_ms);
            }
        }
    }

    /// Moves the tail's start to `next` (sequence, send time), or ends it when `None`.
    fn advance(&mut self, next: Option<(u64, u64)>) {
        match next {
            Some((seq, sent_ms)) => {
                self.from = Some(seq);
                self.oldest_sent_ms = sent_ms;
                self.skip = self.skip.split_off(&seq);
                if self.uncounted.is_some_and(|(_, hi)| seq > hi) {
                    self.end_count();
                }
            }
            None => *self = ColdTail::default(),
        }
    }

    /// The tail's start, if it has one, and otherwise `u64::MAX`.
    fn start(&self) -> u64 {
        self.from.unwrap_or(u64::MAX)
    }

    /// How many cold messages the uncounted range may still hold.
    fn uncounted_estimate(&self) -> u64 {
        if self.uncounted.is_some() {
            self.uncounted_estimate
        } else {
            0
        }
    }

    /// Ends the deferred count: everything still cold is counted.
    fn end_count(&mut self) {
        self.uncounted = None;
        self.uncounted_estimate = 0;
    }

    /// Cold messages still delayed at `now_ms`.
    fn delayed_at(&self, now_ms: u64) -> u64 {
        let delayed: u64 = self.delayed.range(now_ms + 1..).map(|(_, n)| n).sum();
        delayed.min(self.count)
    }
}

/// What a refill should read from disk: up to `max` messages from sequence `from` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefillPlan {
    /// First sequence to read.
    pub from: u64,
    /// Most messages to read.
    pub max: usize,
}

/// One message read back from disk into the hot part.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Its meta as a never-received message.
    pub meta: MsgMeta,
    /// Its group.
    pub group: Option<String>,
}

/// The visibility index of one queue.
#[derive(Debug)]
pub struct MessageIndex {
    fifo: bool,
    metas: BTreeMap<u64, Entry>,
    pending: BTreeSet<(u64, u64)>,
    by_sent: BTreeSet<(u64, u64)>,
    groups: HashMap<Arc<str>, GroupState>,
    order: BTreeSet<(u64, u64, Arc<str>)>,
    ready_len: usize,
    /// Most messages held in memory before new ones stay cold.
    hot_limit: usize,
    cold: ColdTail,
    /// Highest sequence ever held hot. A tail starts only past it, so no message whose delete
    /// has not committed yet can lie in a new tail's range.
    hot_high: u64,
}

impl MessageIndex {
    /// An empty index for a FIFO (`true`) or standard queue that keeps every message in memory.
    pub fn new(fifo: bool) -> MessageIndex {
        MessageIndex::with_hot_limit(fifo, usize::MAX)
    }

    /// An empty index that keeps at most `hot_limit` (at least 1) messages in memory.
    pub fn with_hot_limit(fifo: bool, hot_limit: usize) -> MessageIndex {
        MessageIndex {
            fifo,
            metas: BTreeMap::new(),
            pending: BTreeSet::new(),
            by_sent: BTreeSet::new(),
            groups: HashMap::new(),
            order: BTreeSet::new(),
            ready_len: 0,
            hot_limit: hot_limit.max(1),
            cold: ColdTail::default(),
            hot_high: 0,
        }
    }

    /// Adds a message of `group` (`None`: the unnamed group), or replaces one with the same
    /// sequence by a received `meta` (a never-received one leaves it as it is). A
    /// never-received message joins the cold tail when the hot part is full.
    pub fn insert(&mut self, seq: u64, meta: MsgMeta, group: Option<&str>, now_ms: u64) {
        let present = self.metas.contains_key(&seq);
        if meta.receive_count == 0 && present {
            // Already hot, perhaps in flight: a never-received meta must not reset it.
            return;
        }
        if meta.receive_count == 0 {
            let cold = match self.cold.from {
                Some(from) => seq >= from,
                // Only past every sequence ever hot, so the hot part stays the oldest messages.
                None => self.metas.len() >= self.hot_limit && seq > self.hot_high,
            };
            if cold {
                self.cold.add(seq, &meta, now_ms);
                return;
            }
        }
        if seq >= self.cold.start() {
            self.cold.skip.insert(seq);
        }
        self.insert_hot(seq, meta, group, now_ms);
    }

    fn insert_hot(&mut self, seq: u64, meta: MsgMeta, group: Option<&str>, now_ms: u64) {
        self.hot_high = self.hot_high.max(seq);
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

    /// Removes a hot message; returns what was kept for it.
    pub fn remove(&mut self, seq: u64) -> Option<MsgMeta> {
        let entry = self.metas.remove(&seq)?;
        if seq >= self.cold.start() {
            // Its delete commits after this: a refill must not read it back meanwhile.
            self.cold.skip.insert(seq);
        }
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

    /// Whether the FIFO group a receive is draining has no hot message left after the one it
    /// took while a cold tail exists: its next message may be cold.
    pub fn group_may_continue_cold(&self, cursor: &Cursor) -> bool {
        let Some((group, last)) = &cursor.group else {
            return false;
        };
        self.cold.from.is_some()
            && self
                .groups
                .get(group)
                .is_none_or(|state| state.msgs.range(last + 1..).next().is_none())
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
        let hot = self.by_sent.first().map(|(sent, _)| *sent);
        let cold = self.cold.from.map(|_| self.cold.oldest_sent_ms);
        match (hot, cold) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
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

    /// Number of messages in memory (the cold tail's are not).
    pub fn len(&self) -> usize {
        self.metas.len()
    }

    /// True when the queue holds no message, in memory or cold.
    pub fn is_empty(&self) -> bool {
        self.metas.is_empty() && self.cold.from.is_none()
    }

    /// Whether a new never-received message past every hot one would stay cold.
    pub fn is_full(&self) -> bool {
        self.cold.from.is_some() || self.metas.len() >= self.hot_limit
    }

    /// Number of cold messages (on disk only); an estimate while start-up's count runs.
    pub fn cold_len(&self) -> u64 {
        self.cold.count + self.cold.uncounted_estimate()
    }

    /// Whether a cold message may have a sequence below `bound`.
    pub fn cold_below(&self, bound: u64) -> bool {
        self.cold.from.is_some_and(|from| from < bound)
    }

    /// Whether `seq`, found on disk, is a cold message.
    pub fn is_cold(&self, seq: u64) -> bool {
        self.cold.from.is_some_and(|from| seq >= from)
            && !self.metas.contains_key(&seq)
            && !self.cold.skip.contains(&seq)
    }

    /// Takes a cold message out of the tail (deleted by position); false if it is not cold.
    pub fn remove_cold(&mut self, seq: u64, visible_at_ms: u64) -> bool {
        if !self.is_cold(seq) {
            return false;
        }
        self.cold.take(seq, visible_at_ms);
        self.cold.skip.insert(seq);
        true
    }

    /// What to read from disk to top up the hot part, if there is a cold tail and room for a
    /// chunk (`force`: at least one chunk, full or not, because nothing can be delivered).
    pub fn refill_plan(&self, force: bool) -> Option<RefillPlan> {
        let from = self.cold.from?;
        let chunk = (self.hot_limit / 8).clamp(1, REFILL_CHUNK);
        let room = self.hot_limit.saturating_sub(self.metas.len());
        if room >= chunk {
            Some(RefillPlan {
                from,
                max: room.min(REFILL_CHUNK),
            })
        } else if force && self.metas.len() < self.hot_limit.saturating_mul(FORCED_HOT_FACTOR) {
            Some(RefillPlan { from, max: chunk })
        } else {
            None
        }
    }

    /// Moves messages read by a refill into the hot part; `next` is the first message after
    /// them on disk (sequence, send time), `None` when the read reached the queue's end. The
    /// reader leaves out messages not indexed yet (see `Queue::unindexed`); a message it could
    /// not decode comes without a meta and only leaves the count.
    pub fn fill(&mut self, loaded: Vec<(u64, Option<Loaded>)>, next: Option<(u64, u64)>, now_ms: u64) -> usize {
        let mut moved = 0;
        for (seq, message) in loaded {
            if !self.is_cold(seq) {
                continue;
            }
            match message {
                Some(message) => {
                    self.cold.take(seq, message.meta.visible_at_ms);
                    self.insert_hot(seq, message.meta, message.group.as_deref(), now_ms);
                    moved += 1;
                }
                None => self.cold.take(seq, 0),
            }
        }
        self.cold.advance(next);
        moved
    }

    /// Drops expired cold messages read from disk, `(sequence, visible at)` in sequence
    /// order, and moves the tail's start to `next` as [`MessageIndex::fill`] does; returns the
    /// sequences to delete.
    pub fn drop_cold(&mut self, expired: Vec<(u64, u64)>, next: Option<(u64, u64)>) -> Vec<u64> {
        let mut dropped = Vec::with_capacity(expired.len());
        for (seq, visible_at_ms) in expired {
            if self.is_cold(seq) {
                self.cold.take(seq, visible_at_ms);
                dropped.push(seq);
            }
        }
        self.cold.advance(next);
        dropped
    }

    /// Restarts the cold tail's accounting at `from` with what a full read of it found:
    /// `(sequence, send time, visible at)` of every message on disk from `from` on.
    pub fn recount_cold(&mut self, from: u64, found: &[(u64, u64, u64)], now_ms: u64) {
        // Hot messages past `from`, and removed ones whose delete may not have committed yet.
        let mut skip: BTreeSet<u64> = self.metas.range(from..).map(|(seq, _)| *seq).collect();
        skip.extend(self.cold.skip.range(from..));
        let mut tail = ColdTail::default();
        for &(seq, sent_ms, visible_at_ms) in found {
            if skip.contains(&seq) {
                continue;
            }
            if tail.from.is_none() {
                tail.from = Some(from);
                tail.oldest_sent_ms = sent_ms;
            }
            tail.add(seq, &MsgMeta::new(sent_ms, visible_at_ms), now_ms);
        }
        if tail.from.is_some() {
            tail.skip = skip;
        }
        self.cold = tail;
    }

    /// The cold tail's start, if there is one.
    pub fn cold_from(&self) -> Option<u64> {
        self.cold.from
    }

    /// Leaves the messages on disk in `lo..=hi` out of the cold tail's counts until
    /// [`MessageIndex::count_chunk`] has read them, so start-up need not read a whole backlog
    /// before it serves; `stored`, at least how many messages the range holds on disk, stands
    /// in for them meanwhile. Every one of them must be cold or hot already (none sent later).
    pub fn defer_count(&mut self, lo: u64, hi: u64, stored: u64) {
        if self.cold.from.is_some() && lo <= hi {
            // Received messages in the range are hot already, not cold.
            let hot = self.cold.skip.range(lo..=hi).count() as u64;
            self.cold.uncounted = Some((lo, hi));
            self.cold.uncounted_estimate = stored.saturating_sub(hot);
        }
    }

    /// The range start-up has not counted yet, if any.
    pub fn uncounted(&self) -> Option<(u64, u64)> {
        self.cold.uncounted
    }

    /// Counts `found`, `(sequence, send time, visible at)` of the messages on disk from `lo`
    /// up to (not including) `next`, into the cold tail, and moves the uncounted range past
    /// them. False, changing nothing, when the range no longer starts at `lo` (a purge
    /// recounted the tail, or receives drained it); the counter then stops.
    pub fn count_chunk(&mut self, lo: u64, found: &[(u64, u64, u64)], next: u64, now_ms: u64) -> bool {
        let Some((start, hi)) = self.cold.uncounted else {
            return false;
        };
        if start != lo {
            return false;
        }
        for &(seq, sent_ms, visible_at_ms) in found {
            // Messages refills or expiry took meanwhile lie before `from`; removed ones in `skip`.
            if seq < next && self.is_cold(seq) {
                let oldest = self.cold.oldest_sent_ms;
                self.cold.add(seq, &MsgMeta::new(sent_ms, visible_at_ms), now_ms);
                if sent_ms == 0 {
                    // Unreadable: counted, but its unknown send time must not age the queue.
                    self.cold.oldest_sent_ms = oldest;
                }
                self.cold.uncounted_estimate = self.cold.uncounted_estimate.saturating_sub(1);
            }
        }
        if next <= hi {
            self.cold.uncounted = Some((next, hi));
        } else {
            self.cold.end_count();
        }
        true
    }

    /// Counts at `now_ms`.
    pub fn counts(&self, now_ms: u64) -> Counts {
        let cold_delayed = self.cold.delayed_at(now_ms);
        let mut counts = Counts {
            // Start-up's uncounted messages count as visible until counted.
            visible: self.ready_len as u64 + (self.cold.count - cold_delayed) + self.cold.uncounted_estimate(),
            delayed: cold_delayed,
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

    /// What a queue's disk holds: sequence -> (meta as sent, group).
    type Disk = BTreeMap<u64, (MsgMeta, Option<String>)>;

    /// Sends as the queue does: to disk first, then to the index.
    fn send(idx: &mut MessageIndex, disk: &mut Disk, seq: u64, meta: MsgMeta, group: Option<&str>, now: u64) {
        disk.insert(seq, (meta, group.map(str::to_owned)));
        idx.insert(seq, meta, group, now);
    }

    /// Refills as `spill` does, from `disk`.
    fn refill(idx: &mut MessageIndex, disk: &Disk, force: bool, now: u64) -> bool {
        let Some(plan) = idx.refill_plan(force) else {
            return false;
        };
        let mut entries = disk.range(plan.from..);
        let loaded: Vec<(u64, Option<Loaded>)> = entries
            .by_ref()
            .take(plan.max)
            .map(|(seq, (meta, group))| {
                let loaded = Loaded {
                    meta: *meta,
                    group: group.clone(),
                };
                (*seq, Some(loaded))
            })
            .collect();
        let next = entries.next().map(|(seq, (meta, _))| (*seq, meta.sent_ms));
        let any = !loaded.is_empty();
        idx.fill(loaded, next, now);
        any
    }

    /// Receives and deletes everything as a consumer would, refilling like `receive`.
    fn drain(idx: &mut MessageIndex, disk: &mut Disk, now: u64) -> Vec<u64> {
        let mut got = Vec::new();
        loop {
            refill(idx, disk, false, now);
            let mut cursor = Cursor::default();
            let seq = match idx.next_deliverable(&mut cursor) {
                Some(seq) => seq,
                None if refill(idx, disk, true, now) => match idx.next_deliverable(&mut cursor) {
                    Some(seq) => seq,
                    None => break,
                },
                None => break,
            };
            idx.remove(seq);
            disk.remove(&seq);
            got.push(seq);
        }
        got
    }

    #[test]
    fn a_full_index_keeps_new_messages_cold_and_counts_them() {
        let mut idx = MessageIndex::with_hot_limit(false, 4);
        let mut disk = Disk::new();
        for seq in 1..=10 {
            send(&mut idx, &mut disk, seq, meta(seq, 0), None, 100);
        }
        assert_eq!((idx.len(), idx.cold_len()), (4, 6));
        assert_eq!(idx.counts(100).visible, 10);
        assert_eq!(idx.oldest_sent_ms(), Some(1));
        assert!(idx.is_cold(5) && !idx.is_cold(4));
        assert!(idx.is_full());
        // Received in sequence order, each exactly once, and the tail ends with the queue.
        assert_eq!(drain(&mut idx, &mut disk, 100), (1..=10).collect::<Vec<_>>());
        assert!(idx.is_empty());
        assert_eq!(idx.counts(100), Counts::default());
        assert!(idx.cold_from().is_none(), "the tail ended");
        // Below the limit again, new messages are hot.
        send(&mut idx, &mut disk, 11, meta(11, 0), None, 100);
        assert_eq!((idx.len(), idx.cold_len()), (1, 0));
    }

    #[test]
    fn cold_delayed_messages_count_as_delayed_until_due() {
        let mut idx = MessageIndex::with_hot_limit(false, 1);
        let mut disk = Disk::new();
        send(&mut idx, &mut disk, 1, meta(0, 0), None, 10);
        send(&mut idx, &mut disk, 2, meta(0, 50), None, 10);
        send(&mut idx, &mut disk, 3, meta(0, 0), None, 10);
        assert_eq!(
            idx.counts(10),
            Counts {
                visible: 2,
                in_flight: 0,
                delayed: 1
            }
        );
        assert_eq!(idx.counts(50).visible, 3);
        // Drained at 10: 2 is still delayed, so it stays and 3 goes first.
        assert_eq!(drain(&mut idx, &mut disk, 10), vec![1, 3]);
        assert_eq!(idx.counts(10).delayed, 1);
        idx.promote(50);
        assert_eq!(drain(&mut idx, &mut disk, 50), vec![2]);
    }

    #[test]
    fn fifo_groups_keep_their_order_across_the_cold_tail() {
        let mut idx = MessageIndex::with_hot_limit(true, 3);
        let mut disk = Disk::new();
        // a: 1 2 3 4 6, b: 5 7 8
        let groups = [
            (1, "a"),
            (2, "a"),
            (3, "a"),
            (4, "a"),
            (5, "b"),
            (6, "a"),
            (7, "b"),
            (8, "b"),
        ];
        for (seq, g) in groups {
            send(&mut idx, &mut disk, seq, meta(seq, 0), Some(g), 0);
        }
        assert_eq!(idx.cold_len(), 5);
        let mut order: HashMap<&str, Vec<u64>> = HashMap::new();
        for seq in drain(&mut idx, &mut disk, 0) {
            let g = groups.iter().find(|(s, _)| *s == seq).map(|(_, g)| *g).expect("sent");
            order.entry(g).or_default().push(seq);
        }
        assert_eq!(order["a"], vec![1, 2, 3, 4, 6]);
        assert_eq!(order["b"], vec![5, 7, 8]);
    }

    #[test]
    fn blocked_fifo_groups_force_a_refill_that_reaches_other_groups() {
        let mut idx = MessageIndex::with_hot_limit(true, 2);
        let mut disk = Disk::new();
        for seq in 1..=6 {
            send(&mut idx, &mut disk, seq, meta(0, 0), Some("a"), 0);
        }
        send(&mut idx, &mut disk, 7, meta(0, 0), Some("b"), 0);
        // a's head goes in flight: group a is blocked, b is cold.
        let mut c = Cursor::default();
        assert_eq!(take(&mut idx, &mut c, 0, 1000), Some(1));
        assert_eq!(take(&mut idx, &mut c, 0, 1000), Some(2));
        let mut c = Cursor::default();
        assert_eq!(idx.next_deliverable(&mut c), None);
        let mut loads = 0;
        while idx.next_deliverable(&mut Cursor::default()).is_none() && refill(&mut idx, &disk, true, 0) {
            loads += 1;
        }
        assert_eq!(
            idx.next_deliverable(&mut Cursor::default()),
            Some(7),
            "b reached after {loads} forced refills"
        );
        assert!(idx.len() <= 2 * FORCED_HOT_FACTOR);
    }

    #[test]
    fn a_refill_racing_a_send_neither_loses_nor_doubles_it() {
        let mut idx = MessageIndex::with_hot_limit(false, 2);
        let mut disk = Disk::new();
        for seq in [1, 2, 3, 5, 6] {
            send(&mut idx, &mut disk, seq, meta(0, 0), None, 0);
        }
        assert_eq!(idx.cold_len(), 3);
        // 4 is committed but not yet indexed when a refill reads the disk: the reader leaves
        // it out (as `spill` does with `Queue::unindexed`).
        disk.insert(4, (meta(0, 0), None));
        for seq in [1, 2] {
            idx.remove(seq);
            disk.remove(&seq);
        }
        let readable: Disk = disk
            .iter()
            .filter(|(seq, _)| **seq != 4)
            .map(|(s, e)| (*s, e.clone()))
            .collect();
        assert!(refill(&mut idx, &readable, false, 0));
        assert_eq!(idx.len(), 2, "3 and 5 hot");
        // 3 goes in flight before 4's send indexes it.
        assert_eq!(take(&mut idx, &mut Cursor::default(), 0, 1000), Some(3));
        idx.insert(4, meta(0, 0), None, 0);
        assert_eq!(
            idx.counts(0),
            Counts {
                visible: 3,
                in_flight: 1,
                delayed: 0
            }
        );
        assert_eq!(
            drain(&mut idx, &mut disk, 0),
            vec![4, 5, 6],
            "3 stays in flight, 4 comes once"
        );
        assert_eq!(idx.counts(0).in_flight, 1);
        // A fresh insert of a message already hot (in flight) never overwrites it.
        idx.insert(3, meta(0, 0), None, 0);
        assert_eq!(idx.get(3).map(|m| m.receive_count), Some(1));
    }

    #[test]
    fn removed_and_received_messages_past_the_start_are_not_read_back() {
        let mut idx = MessageIndex::with_hot_limit(false, 2);
        let mut disk = Disk::new();
        for seq in [1, 2, 3, 5] {
            send(&mut idx, &mut disk, seq, meta(0, 0), None, 0);
        }
        // As at a restart: 4 was in flight, so it is loaded hot although past the tail's start.
        let mut received = meta(0, 500);
        received.receive_count = 1;
        send(&mut idx, &mut disk, 4, received, None, 0);
        assert_eq!((idx.len(), idx.cold_len()), (3, 2));
        // Console delete of cold 5 by position: its disk delete commits later.
        assert!(idx.remove_cold(5, 0));
        assert!(!idx.remove_cold(5, 0));
        assert_eq!(drain(&mut idx, &mut disk, 0), vec![1, 2, 3]);
        assert_eq!(idx.counts(0).in_flight, 1);
        assert_eq!(idx.counts(0).visible, 0);
    }

    #[test]
    fn expired_cold_messages_are_dropped_and_the_tail_moves_on() {
        let mut idx = MessageIndex::with_hot_limit(false, 1);
        let mut disk = Disk::new();
        for seq in 1..=5 {
            send(&mut idx, &mut disk, seq, meta(seq * 10, 0), None, 100);
        }
        assert_eq!(idx.oldest_sent_ms(), Some(10));
        idx.remove(1);
        disk.remove(&1);
        assert_eq!(idx.oldest_sent_ms(), Some(20));
        // 2 and 3 were sent before 35; the scan stops at 4.
        let dropped = idx.drop_cold(vec![(2, 0), (3, 0)], Some((4, 40)));
        assert_eq!(dropped, vec![2, 3]);
        assert_eq!((idx.cold_len(), idx.oldest_sent_ms()), (2, Some(40)));
        // Recount after a purge below 5: only 5 is left.
        idx.recount_cold(5, &[(5, 50, 0)], 100);
        assert_eq!(idx.counts(100).visible, 1);
        idx.recount_cold(6, &[], 100);
        assert!(idx.is_empty());
    }

    #[test]
    fn a_deferred_count_ignores_messages_that_left_the_tail_before_it_read_them() {
        // Hot: 1, 2. Cold: 3 counted at start-up, 4..=9 deferred; 6 and 7 delayed to 500.
        let mut idx = MessageIndex::with_hot_limit(false, 2);
        for seq in 1..=3 {
            idx.insert(seq, meta(seq, 0), None, 100);
        }
        idx.defer_count(4, 9, 6);
        assert_eq!(idx.counts(100).visible, 2 + 1 + 6, "the estimate counts the range");
        // A receive takes 1 and 2; a refill moves 3 and 4 hot; 5 is deleted by position.
        for seq in [1, 2] {
            idx.remove(seq);
        }
        let plan = idx.refill_plan(false).expect("room");
        assert_eq!(plan.from, 3);
        let loaded = |seq: u64, visible: u64| {
            (
                seq,
                Some(Loaded {
                    meta: meta(seq, visible),
                    group: None,
                }),
            )
        };
        idx.fill(vec![loaded(3, 0), loaded(4, 0)], Some((5, 5)), 100);
        assert!(idx.remove_cold(5, 0));
        assert_eq!(idx.counts(100).visible, 2 + 4, "3 and 4 hot; 6..=9 estimated");
        // The counter read 4..=7 before all that, then 8 and 9; then a stale chunk is refused.
        let found = [(4, 4, 0), (5, 5, 0), (6, 6, 500), (7, 7, 500)];
        assert!(idx.count_chunk(4, &found, 8, 100));
        assert_eq!(idx.uncounted(), Some((8, 9)));
        assert_eq!(
            idx.counts(100),
            Counts {
                visible: 2 + 2,
                in_flight: 0,
                delayed: 2
            },
            "3 and 4 hot, 6 and 7 counted delayed, 8 and 9 estimated"
        );
        assert!(!idx.count_chunk(4, &found, 8, 100), "the range moved on");
        assert!(idx.count_chunk(8, &[(8, 8, 0), (9, 9, 0)], 10, 100));
        assert_eq!(idx.uncounted(), None);
        assert_eq!(
            idx.counts(100),
            Counts {
                visible: 4,
                in_flight: 0,
                delayed: 2
            }
        );
        assert_eq!(idx.cold_len(), 4);
        assert_eq!(idx.counts(500).visible, 6);
    }
}
