//! Cluster mode's commit path: every batch goes to a replicated log before it is applied here.
//!
//! The core commits one write batch per change, as in single-node mode; what changes is what
//! [`crate::Store::commit`] does with it once [`crate::Store::replicate_to`] has been called:
//! 1. The batch, in the portable form of [`crate::log_entry`], joins the queue of commits
//!    waiting for a group. Its place in that queue is its place in the log: a caller that holds
//!    a lock while it submits ([`crate::Store::submit`]) may release the lock before waiting, and
//!    the next holder's batch still lands after its own.
//! 2. A committer that finds the sender free and fewer groups in flight than the log's
//!    [`CommitLog::window`] takes the oldest waiting commits as one group and sends it to the
//!    log as one entry, without waiting for the answer; while appends are in flight, newer
//!    commits gather into the next group (RocksDB's own group commit works the same way). Many
//!    client writes share one append, and with a window above one, several appends share one
//!    round trip's wait.
//! 3. Once the log holds a group durably (in cluster mode: on a quorum of JetStream replicas),
//!    its sender applies it to the local database, with the entry's position in the same write,
//!    after every earlier group, and releases its committers. A standby applies the same
//!    entries in the same order with [`crate::Store::apply_entry`], so a takeover is a catch-up.
//!
//! What was replicated is the committed batch, not the command: the core reads clocks and makes
//! ids while it works, so replaying commands on another node would diverge.
//!
//! # Invariants
//! - The local database never holds a change the log does not: apply follows append.
//! - Entries are sent in queue order and applied in log order, one group at a time, on the
//!   writer and on every standby.
//! - After any failure whose outcome the log cannot settle (fenced by a newer writer, log
//!   unreachable, local apply failed), this store refuses every further commit and applies
//!   nothing more: a writer that cannot append stops writing rather than diverge. The node
//!   restarts as a standby and catches up from the log.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::log_entry::Ops;

/// A replicated, durable log of committed batches: cluster mode's engine behind one interface.
pub trait CommitLog: Send + Sync {
    /// The position of the last entry this writer has sent (at first, the entry it follows:
    /// its own epoch marker).
    fn end(&self) -> u64;

    /// Sends `entry` to follow every entry sent before it, without waiting for the log's
    /// answer, and returns the position it takes if the log stores it (1-based, one more than
    /// the previous). Called by one thread at a time. [`LogError::Refused`] means nothing was
    /// sent and no position was used.
    fn send(&self, entry: &[u8]) -> Result<u64, LogError>;

    /// Blocks until the log holds the entry sent at `position` durably. An implementation
    /// retries an append whose answer was lost until it learns the append's fate, and answers
    /// [`LogError::Fenced`] when another writer has appended since this one last did.
    fn wait(&self, position: u64) -> Result<(), LogError>;

    /// The largest entry the log accepts, in bytes.
    fn max_entry_bytes(&self) -> usize;

    /// How many entries may be in flight at once (sent, not yet answered). More overlaps
    /// round trips, which pays while the log's latency bounds throughput; fewer makes larger
    /// groups, which pays while the log's CPU does (docs/benchmarks.md measures both).
    fn window(&self) -> usize;

    /// The least time between two sends while commits keep coming: a sender that finds the
    /// previous send more recent waits out the rest, so more commits share the next entry.
    /// Zero sends as soon as the window has room. Where every append costs the log's servers
    /// CPU that the writer needs too, fewer, larger appends can serve more commits.
    fn linger(&self) -> Duration {
        Duration::ZERO
    }
}

/// Why an append failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// Another node appended after this one's last entry: it is the writer now.
    #[error("another node took over the replicated log: {0}")]
    Fenced(String),
    /// The log did not answer, and whether the entry was appended could not be learned.
    #[error("the replicated log is unavailable: {0}")]
    Unavailable(String),
    /// The log refused the entry before it was sent (too large for it, for one): the group
    /// fails, and the writer goes on.
    #[error("the replicated log refused the entry: {0}")]
    Refused(String),
}

/// Writes a group to the local database at the log position given.
pub(crate) type ApplyGroup<'a> = &'a dyn Fn(&[u8], u64) -> Result<(), crate::StorageError>;

/// The result a group's sender hands to each committer of its group.
type Outcome = Result<(), GroupFailure>;

/// Why a group failed, and whether the store must stop writing because of it.
#[derive(Debug, Clone)]
struct GroupFailure {
    reason: String,
    stop: bool,
}

/// One commit waiting for its group.
struct Pending {
    ops: Ops,
    slot: Arc<Slot>,
}

/// Where a committer waits for its outcome.
#[derive(Default)]
struct Slot {
    outcome: Mutex<Option<Outcome>>,
}

/// A submitted commit: [`Replication::wait`] learns its outcome.
pub(crate) struct Ticket(Arc<Slot>);

/// Commits waiting for a group, the groups in flight, and how far the local apply got.
struct Queue {
    pending: Vec<Pending>,
    /// A committer is sending a group: sends go one at a time, in queue order.
    sending: bool,
    /// Groups sent and not yet finished.
    in_flight: usize,
    /// When each group being sent or in flight left, oldest first: how long the log has kept
    /// the oldest one waiting tells a stalled writer (cut off, its log leader gone) from a busy
    /// one long before the append gives up.
    sent_at: VecDeque<Instant>,
    /// The position of the last group sent.
    last_sent: u64,
    /// When the last group was sent (for [`CommitLog::linger`]).
    last_sent_at: Option<Instant>,
    /// The log position of the last group applied here.
    applied: u64,
    /// Set once, by the first failure the log cannot settle; every later commit fails with it.
    stopped: Option<String>,
}

/// The replicated commit path of one store.
pub(crate) struct Replication {
    log: Arc<dyn CommitLog>,
    queue: Mutex<Queue>,
    changed: Condvar,
    /// Entries appended and applied here, and the commits they carried.
    appended_entries: AtomicU64,
    appended_commits: AtomicU64,
}

/// What the writer's commit path has done so far, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplicationStats {
    /// Entries this node appended to the log and applied.
    pub entries: u64,
    /// Commits those entries carried (entries share commits: group commit).
    pub commits: u64,
    /// Entries sent and not yet applied.
    pub in_flight: u64,
    /// The position of the last entry sent to the log.
    pub last_sent: u64,
    /// How long the oldest entry sent and not yet settled has been waiting, if any is.
    pub oldest_unsettled: Option<Duration>,
}

impl Replication {
    /// A commit path through `log`, whose entries up to `applied` the store already holds.
    pub(crate) fn new(log: Arc<dyn CommitLog>, applied: u64) -> Replication {
        Replication {
            log,
            queue: Mutex::new(Queue {
                pending: Vec::new(),
                sending: false,
                in_flight: 0,
                sent_at: VecDeque::new(),
                last_sent: applied,
                last_sent_at: None,
                applied,
                stopped: None,
            }),
            changed: Condvar::new(),
            appended_entries: AtomicU64::new(0),
            appended_commits: AtomicU64::new(0),
        }
    }

    /// Counters of the commit path so far.
    pub(crate) fn stats(&self) -> ReplicationStats {
        let queue = self.lock();
        ReplicationStats {
            entries: self.appended_entries.load(Ordering::Relaxed),
            commits: self.appended_commits.load(Ordering::Relaxed),
            in_flight: queue.in_flight as u64,
            last_sent: queue.last_sent,
            oldest_unsettled: queue.sent_at.front().map(Instant::elapsed),
        }
    }

    /// Why this store stopped accepting commits, if it did.
    pub(crate) fn stopped(&self) -> Option<String> {
        self.lock().stopped.clone()
    }

    /// Refuses every later commit (this node is no longer the writer); commits waiting for a
    /// group fail with `reason` too, and no group in flight is applied any more.
    pub(crate) fn stop(&self, reason: &str) {
        let mut queue = self.lock();
        Self::stop_locked(&mut queue, reason);
        self.changed.notify_all();
    }

    /// Queues `ops` for the log; its place in the queue is its place in the log.
    pub(crate) fn submit(&self, ops: Ops) -> Result<Ticket, crate::StorageError> {
        if ops.encoded_len() + 5 > self.log.max_entry_bytes() {
            return Err(crate::StorageError::TooLarge {
                size: ops.encoded_len() + 5,
                limit: self.log.max_entry_bytes(),
            });
        }
        let slot = Arc::new(Slot::default());
        let mut queue = self.lock();
        if let Some(reason) = &queue.stopped {
            return Err(crate::StorageError::NotWriting(reason.clone()));
        }
        queue.pending.push(Pending {
            ops,
            slot: slot.clone(),
        });
        Ok(Ticket(slot))
    }

    /// Waits until the submitted commit is in the log and applied here, sending groups (its
    /// own or others') whenever the sender is free and the window has room. `apply` writes a
    /// group to the local database at the log position given.
    pub(crate) fn wait(&self, ticket: Ticket, apply: ApplyGroup<'_>) -> Result<(), crate::StorageError> {
        let mut queue = self.lock();
        loop {
            if let Some(outcome) = take(&ticket.0) {
                return outcome.map_err(|failure| match failure.stop {
                    true => crate::StorageError::NotWriting(failure.reason),
                    false => crate::StorageError::Replication(failure.reason),
                });
            }
            let may_send = !queue.sending && queue.in_flight < self.log.window().max(1) && !queue.pending.is_empty();
            let lingering = match (may_send, queue.last_sent_at) {
                (true, Some(at)) => self.log.linger().checked_sub(at.elapsed()).filter(|d| !d.is_zero()),
                _ => None,
            };
            if let Some(rest) = lingering {
                // Someone must send once the linger is over: this committer, unless its own
                // outcome arrives first (then the next waiter's timeout does it).
                queue = self
                    .changed
                    .wait_timeout(queue, rest)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
                continue;
            }
            if may_send {
                queue.sending = true;
                queue.last_sent_at = Some(Instant::now());
                queue.sent_at.push_back(Instant::now());
                let group = self.take_group(&mut queue);
                drop(queue);
                // Encoded once: the same bytes go to the log and to the local apply.
                let entry = crate::log_entry::encode_entry(group.iter().map(|p| &p.ops));
                let sent = self.log.send(&entry);
                queue = self.lock();
                queue.sending = false;
                match sent {
                    Ok(position) => {
                        queue.in_flight += 1;
                        queue.last_sent = position;
                        self.changed.notify_all();
                        drop(queue);
                        self.finish(&group, &entry, position, apply);
                        queue = self.lock();
                    }
                    Err(e) => {
                        // The newest: groups in flight went before it.
                        queue.sent_at.pop_back();
                        let failure = GroupFailure {
                            stop: !matches!(e, LogError::Refused(_)),
                            reason: e.to_string(),
                        };
                        self.settle(&mut queue, &group, Err(failure));
                    }
                }
                continue;
            }
            queue = self.changed.wait(queue).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Waits for the log to hold the group sent at `position`, applies it after every earlier
    /// group, and releases its committers.
    fn finish(&self, group: &[Pending], entry: &[u8], position: u64, apply: ApplyGroup<'_>) {
        // Any failure after the entry left is one whose outcome the log did not settle here,
        // and later entries were sent expecting this one: stop.
        let stored = self.log.wait(position).map_err(|e| GroupFailure {
            reason: e.to_string(),
            stop: true,
        });
        let mut queue = self.lock();
        let outcome = match stored {
            Err(failure) => Err(failure),
            Ok(()) => {
                while queue.applied + 1 != position && queue.stopped.is_none() {
                    queue = self.changed.wait(queue).unwrap_or_else(|p| p.into_inner());
                }
                match queue.stopped.clone() {
                    Some(reason) => Err(GroupFailure { reason, stop: true }),
                    None => {
                        // Only this group's turn: the next one waits for `applied` to move.
                        drop(queue);
                        let applied = apply(entry, position);
                        queue = self.lock();
                        match applied {
                            Ok(()) => {
                                queue.applied = position;
                                self.appended_entries.fetch_add(1, Ordering::Relaxed);
                                self.appended_commits.fetch_add(group.len() as u64, Ordering::Relaxed);
                                Ok(())
                            }
                            Err(e) => Err(GroupFailure {
                                reason: format!(
                                    "the local database could not apply log entry {position}, which the log holds: {e}"
                                ),
                                stop: true,
                            }),
                        }
                    }
                }
            }
        };
        queue.in_flight -= 1;
        // Groups finish in log order (each waits for the one before it to be applied), so this
        // one is the oldest still counted.
        queue.sent_at.pop_front();
        self.settle(&mut queue, group, outcome);
    }

    /// Hands `outcome` to every committer of `group`; a failure that stops the store fails
    /// every commit still waiting for a group too.
    fn settle(&self, queue: &mut Queue, group: &[Pending], outcome: Outcome) {
        if let Some(failure) = outcome.as_ref().err().filter(|f| f.stop) {
            Self::stop_locked(queue, &failure.reason);
        }
        for member in group {
            fill(&member.slot, outcome.clone());
        }
        self.changed.notify_all();
    }

    /// Marks the store stopped (the first reason stays) and fails every waiting commit.
    fn stop_locked(queue: &mut Queue, reason: &str) {
        queue.stopped.get_or_insert_with(|| reason.to_string());
        let failure = GroupFailure {
            reason: queue.stopped.clone().unwrap_or_default(),
            stop: true,
        };
        for waiting in queue.pending.drain(..) {
            fill(&waiting.slot, Err(failure.clone()));
        }
    }

    /// Takes the oldest pending commits that fit in one entry (at least one).
    fn take_group(&self, queue: &mut Queue) -> Vec<Pending> {
        let limit = self.log.max_entry_bytes();
        let mut size = 5;
        let mut count = 0;
        for pending in &queue.pending {
            size += pending.ops.encoded_len();
            if count > 0 && size > limit {
                break;
            }
            count += 1;
        }
        queue.pending.drain(..count).collect()
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn take(slot: &Slot) -> Option<Outcome> {
    slot.outcome.lock().unwrap_or_else(|p| p.into_inner()).take()
}

fn fill(slot: &Slot, outcome: Outcome) {
    *slot.outcome.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::{Cf, Durability, KeyValue, StorageError, Store, StoreOptions};

    /// An in-memory log: entries in order, switches that fence the writer or refuse entries,
    /// and answers that may come back out of order.
    #[derive(Default)]
    struct MemoryLog {
        entries: Mutex<Vec<Vec<u8>>>,
        /// Per position sent: whether the log stored it (a fenced writer's entries are not).
        stored: Mutex<Vec<bool>>,
        fenced: AtomicBool,
        refusing: AtomicBool,
        /// Answers each wait after a pause that depends on the position, so later appends
        /// often finish before earlier ones.
        jitter: AtomicBool,
        /// Holds every wait until cleared: a log that stopped answering.
        hold: AtomicBool,
        /// What [`CommitLog::linger`] answers, in milliseconds.
        linger_ms: std::sync::atomic::AtomicU64,
    }

    impl CommitLog for MemoryLog {
        fn end(&self) -> u64 {
            self.stored.lock().unwrap_or_else(|p| p.into_inner()).len() as u64
        }

        fn send(&self, entry: &[u8]) -> Result<u64, LogError> {
            if self.refusing.load(Ordering::SeqCst) {
                return Err(LogError::Refused("test".into()));
            }
            let mut stored = self.stored.lock().unwrap_or_else(|p| p.into_inner());
            let keep = !self.fenced.load(Ordering::SeqCst);
            if keep {
                self.entries
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(entry.to_vec());
            }
            stored.push(keep);
            Ok(stored.len() as u64)
        }

        fn wait(&self, position: u64) -> Result<(), LogError> {
            // Bounded: the test that sets it clears it well within this.
            for _ in 0..10_000 {
                if !self.hold.load(Ordering::SeqCst) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            if self.jitter.load(Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_micros(position * 7919 % 3000));
            }
            let stored = self.stored.lock().unwrap_or_else(|p| p.into_inner());
            match stored.get(position as usize - 1) {
                Some(true) => Ok(()),
                _ => Err(LogError::Fenced("test".into())),
            }
        }

        fn max_entry_bytes(&self) -> usize {
            4096
        }

        fn linger(&self) -> Duration {
            Duration::from_millis(self.linger_ms.load(Ordering::SeqCst))
        }

        fn window(&self) -> usize {
            8
        }
    }

    fn open(dir: &std::path::Path) -> Store {
        Store::open(
            dir,
            StoreOptions {
                durability: Durability::Process,
            },
        )
        .expect("open")
    }

    fn contents(store: &Store) -> Vec<(Cf, KeyValue)> {
        let mut out = Vec::new();
        for cf in Cf::ALL {
            for kv in store.scan_prefix(cf, b"").expect("scan") {
                out.push((cf, kv));
            }
        }
        out
    }

    fn put(store: &Store, key: &str, value: &str) -> Result<(), StorageError> {
        let mut b = store.batch();
        b.put(Cf::Meta, key.as_bytes(), value.as_bytes());
        b.delete(Cf::QueueState, key.as_bytes());
        store.commit(b)
    }

    /// Commits from 8 threads and checks that a standby applying the log ends up identical.
    fn writers_and_standby_agree(jitter: bool) {
        let (dir_a, dir_b) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
        let writer = Arc::new(open(dir_a.path()));
        let log = Arc::new(MemoryLog::default());
        log.jitter.store(jitter, Ordering::SeqCst);
        writer.replicate_to(log.clone()).expect("attach");
        // Concurrent committers: they share appends, and the order must still agree.
        std::thread::scope(|s| {
            for t in 0..8 {
                let writer = writer.clone();
                s.spawn(move || {
                    for i in 0..50 {
                        put(&writer, &format!("k{}", i % 7), &format!("{t}-{i}")).expect("commit");
                    }
                });
            }
        });
        let mut b = writer.batch();
        b.delete_range(Cf::Meta, b"k0", b"k3");
        writer.commit(b).expect("commit");
        let entries = log.entries.lock().expect("lock").clone();
        assert!(entries.len() <= 401, "at most one entry per commit");
        assert_eq!(writer.log_position().expect("position"), entries.len() as u64);
        let stats = writer.replication_stats().expect("a writer");
        assert_eq!(
            (stats.entries, stats.commits, stats.in_flight, stats.last_sent),
            (entries.len() as u64, 401, 0, entries.len() as u64)
        );

        let standby = open(dir_b.path());
        for (i, entry) in entries.iter().enumerate() {
            assert!(standby.apply_entry(i as u64 + 1, entry).expect("apply"));
        }
        assert_eq!(contents(&standby), contents(&writer));
        assert!(
            !standby.apply_entry(1, &entries[0]).expect("replay"),
            "applied entries are skipped"
        );
        let gap = standby.apply_entry(entries.len() as u64 + 2, &entries[0]);
        assert!(matches!(gap, Err(StorageError::OutOfOrder { .. })), "{gap:?}");
    }

    #[test]
    fn a_standby_applying_the_log_ends_up_identical() {
        writers_and_standby_agree(false);
    }

    #[test]
    fn appends_answered_out_of_order_are_applied_in_log_order() {
        writers_and_standby_agree(true);
    }

    #[test]
    fn batches_submitted_under_a_lock_land_in_submission_order() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Arc::new(open(dir.path()));
        let log = Arc::new(MemoryLog::default());
        log.jitter.store(true, Ordering::SeqCst);
        store.replicate_to(log.clone()).expect("attach");
        // Like a Kinesis shard: a counter behind a lock, each value written under the lock and
        // waited for after it is released. The last write in the log must be the last value.
        let counter = Mutex::new(0u64);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..40 {
                        let submitted = {
                            let mut n = counter.lock().expect("lock");
                            *n += 1;
                            let mut b = store.batch();
                            b.put(Cf::Meta, b"last", &n.to_be_bytes());
                            store.submit(b).expect("submit")
                        };
                        submitted.wait().expect("commit");
                    }
                });
            }
        });
        let last = store.get(Cf::Meta, b"last").expect("get").expect("written");
        assert_eq!(last, 320u64.to_be_bytes());
        let entries = log.entries.lock().expect("lock").len() as u64;
        assert!(entries <= 320, "at most one entry per commit: {entries}");
        assert_eq!(store.log_position().expect("position"), entries);
    }

    #[test]
    fn an_unanswered_append_shows_as_the_age_of_the_oldest_unsettled_entry() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Arc::new(open(dir.path()));
        let log = Arc::new(MemoryLog::default());
        store.replicate_to(log.clone()).expect("attach");
        put(&store, "a", "1").expect("commit");
        assert_eq!(store.replication_stats().expect("stats").oldest_unsettled, None);
        log.hold.store(true, Ordering::SeqCst);
        let committer = {
            let store = store.clone();
            std::thread::spawn(move || put(&store, "b", "2"))
        };
        // The committer's thread may start late on a busy machine: wait (bounded) for its send.
        for _ in 0..5_000 {
            if store.replication_stats().expect("stats").in_flight == 1 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let pause = std::time::Duration::from_millis(100);
        std::thread::sleep(pause);
        let stalled = store.replication_stats().expect("stats");
        assert_eq!(stalled.in_flight, 1);
        assert!(stalled.oldest_unsettled.is_some_and(|age| age >= pause), "{stalled:?}");
        log.hold.store(false, Ordering::SeqCst);
        committer.join().expect("committer").expect("commit");
        let settled = store.replication_stats().expect("stats");
        assert_eq!((settled.in_flight, settled.oldest_unsettled), (0, None));
    }

    #[test]
    fn a_linger_gathers_commits_that_come_one_by_one_into_one_entry() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Arc::new(open(dir.path()));
        let log = Arc::new(MemoryLog::default());
        store.replicate_to(log.clone()).expect("attach");
        log.linger_ms.store(300, Ordering::SeqCst);
        put(&store, "first", "1").expect("commit");
        // Eight commits 5 ms apart: without a linger each is sent as it comes (the log answers
        // at once); with it, the sender waits out 300 ms after the first entry.
        let started = std::time::Instant::now();
        let committers: Vec<_> = (0..8)
            .map(|i| {
                std::thread::sleep(Duration::from_millis(5));
                let store = store.clone();
                std::thread::spawn(move || put(&store, &format!("k{i}"), "v"))
            })
            .collect();
        for c in committers {
            c.join().expect("committer").expect("commit");
        }
        let entries = log.entries.lock().expect("lock").len();
        assert!(entries <= 3, "{entries} entries for 1 + 8 commits");
        assert!(
            started.elapsed() >= Duration::from_millis(250),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(store.get(Cf::Meta, b"k7").expect("get").as_deref(), Some(&b"v"[..]));
    }

    #[test]
    fn a_fenced_writer_stops_writing_and_applies_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let store = open(dir.path());
        let log = Arc::new(MemoryLog::default());
        store.replicate_to(log.clone()).expect("attach");
        put(&store, "a", "1").expect("commit");
        log.fenced.store(true, Ordering::SeqCst);
        assert!(matches!(put(&store, "b", "2"), Err(StorageError::NotWriting(_))));
        log.fenced.store(false, Ordering::SeqCst);
        // Even with the log reachable again: only a restart as a standby may write again.
        assert!(matches!(put(&store, "c", "3"), Err(StorageError::NotWriting(_))));
        assert!(store.stopped_writing().is_some());
        assert_eq!(store.get(Cf::Meta, b"b").expect("get"), None);
        assert_eq!(store.get(Cf::Meta, b"c").expect("get"), None);
        assert_eq!(log.entries.lock().expect("lock").len(), 1);
    }

    #[test]
    fn oversized_and_stale_batches_are_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let store = open(dir.path());
        let early = {
            let mut b = store.batch();
            b.put(Cf::Meta, b"early", b"x");
            b
        };
        store.replicate_to(Arc::new(MemoryLog::default())).expect("attach");
        assert!(matches!(store.commit(early), Err(StorageError::NotWriting(_))));
        let mut big = store.batch();
        big.put(Cf::Meta, b"big", &[0u8; 5000]);
        assert!(matches!(store.commit(big), Err(StorageError::TooLarge { .. })));
        // A refused batch does not stop the writer.
        put(&store, "after", "1").expect("commit");
        assert!(store.replicate_to(Arc::new(MemoryLog::default())).is_err());
    }

    #[test]
    fn a_refused_entry_fails_its_writes_only() {
        let dir = tempfile::tempdir().expect("dir");
        let store = open(dir.path());
        let log = Arc::new(MemoryLog::default());
        store.replicate_to(log.clone()).expect("attach");
        log.refusing.store(true, Ordering::SeqCst);
        assert!(matches!(put(&store, "a", "1"), Err(StorageError::Replication(_))));
        log.refusing.store(false, Ordering::SeqCst);
        put(&store, "b", "2").expect("the writer goes on");
        assert!(store.stopped_writing().is_none());
        assert_eq!(store.get(Cf::Meta, b"a").expect("get"), None);
        assert_eq!(store.log_position().expect("position"), 1);
    }
}
