//! Cluster mode's commit path: every batch goes to a replicated log before it is applied here.
//!
//! The core commits one write batch per change, as in single-node mode; what changes is what
//! [`crate::Store::commit`] does with it once [`crate::Store::replicate_to`] has been called:
//! 1. The batch, in the portable form of [`crate::log_entry`], joins a group of concurrent
//!    commits. The first committer to find no group in flight leads the next one (RocksDB's own
//!    group commit works the same way), so many client writes share one log append.
//! 2. The leader appends the group as one entry to the [`CommitLog`] and waits until the log
//!    holds it durably (in cluster mode: on a quorum of JetStream replicas).
//! 3. Only then does it apply the group to the local database, with the entry's position in the
//!    same write, and release every committer of the group. A standby applies the same entries
//!    in the same order with [`crate::Store::apply_entry`], so a takeover is a catch-up.
//!
//! What was replicated is the committed batch, not the command: the core reads clocks and makes
//! ids while it works, so replaying commands on another node would diverge.
//!
//! # Invariants
//! - The local database never holds a change the log does not: apply follows append.
//! - Entries are applied in log order, on the writer and on every standby, one group at a time.
//! - After any failure whose outcome the log cannot settle (fenced by a newer writer, log
//!   unreachable, local apply failed), this store refuses every further commit: a writer that
//!   cannot append stops writing rather than diverge. The node restarts as a standby and catches
//!   up from the log.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::log_entry::Ops;

/// A replicated, durable log of committed batches: cluster mode's engine behind one interface.
pub trait CommitLog: Send + Sync {
    /// Appends `entry` and returns its position (1-based, increasing) once the log holds it
    /// durably. Blocks; it is called by one committer at a time. An implementation retries an
    /// append whose answer was lost until it learns the append's fate, and answers
    /// [`LogError::Fenced`] when another writer has appended since this one last did.
    fn append(&self, entry: &[u8]) -> Result<u64, LogError>;

    /// The largest entry the log accepts, in bytes.
    fn max_entry_bytes(&self) -> usize;
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
    /// The log answered that it did not store the entry (too large for it, for one): the
    /// group fails, and the writer goes on.
    #[error("the replicated log refused the entry: {0}")]
    Refused(String),
}

/// Writes a group to the local database at the log position given.
type ApplyGroup<'a> = &'a dyn Fn(&[u8], u64) -> Result<(), crate::StorageError>;

/// The result a group leader hands to each committer of its group.
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

/// Commits waiting for the next group, and whether a group is in flight.
#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    leading: bool,
    /// Set once, by the first failure the log cannot settle; every later commit fails with it.
    stopped: Option<String>,
}

/// The replicated commit path of one store.
pub(crate) struct Replication {
    log: Arc<dyn CommitLog>,
    queue: Mutex<Queue>,
    changed: Condvar,
}

impl Replication {
    /// A commit path through `log`.
    pub(crate) fn new(log: Arc<dyn CommitLog>) -> Replication {
        Replication {
            log,
            queue: Mutex::new(Queue::default()),
            changed: Condvar::new(),
        }
    }

    /// Why this store stopped accepting commits, if it did.
    pub(crate) fn stopped(&self) -> Option<String> {
        self.lock().stopped.clone()
    }

    /// Refuses every later commit (this node is no longer the writer); commits waiting for a
    /// group fail with `reason` too.
    pub(crate) fn stop(&self, reason: &str) {
        let mut queue = self.lock();
        queue.stopped.get_or_insert_with(|| reason.to_string());
        let failure = GroupFailure {
            reason: queue.stopped.clone().unwrap_or_default(),
            stop: true,
        };
        for waiting in queue.pending.drain(..) {
            fill(&waiting.slot, Err(failure.clone()));
        }
        self.changed.notify_all();
    }

    /// Commits `ops` through the log: joins the next group and, when no group is in flight,
    /// leads it. `apply` writes a group to the local database at the log position given.
    pub(crate) fn commit(&self, ops: Ops, apply: ApplyGroup<'_>) -> Result<(), crate::StorageError> {
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
        loop {
            if let Some(outcome) = take(&slot) {
                return outcome.map_err(|failure| match failure.stop {
                    true => crate::StorageError::NotWriting(failure.reason),
                    false => crate::StorageError::Replication(failure.reason),
                });
            }
            if !queue.leading {
                queue.leading = true;
                let group = self.take_group(&mut queue);
                drop(queue);
                let outcome = self.run_group(&group, apply);
                queue = self.lock();
                if let Some(failure) = outcome.as_ref().err().filter(|f| f.stop) {
                    queue.stopped.get_or_insert_with(|| failure.reason.clone());
                    // Nothing queued behind a failed group may be appended after it.
                    let stopped = GroupFailure {
                        reason: queue.stopped.clone().unwrap_or_default(),
                        stop: true,
                    };
                    for waiting in queue.pending.drain(..) {
                        fill(&waiting.slot, Err(stopped.clone()));
                    }
                }
                for member in &group {
                    fill(&member.slot, outcome.clone());
                }
                queue.leading = false;
                self.changed.notify_all();
                continue;
            }
            queue = self.changed.wait(queue).unwrap_or_else(|p| p.into_inner());
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

    /// Appends one group and applies it locally.
    fn run_group(&self, group: &[Pending], apply: ApplyGroup<'_>) -> Outcome {
        // Encoded once: the same bytes go to the log and to the local apply.
        let entry = crate::log_entry::encode_entry(group.iter().map(|p| &p.ops));
        let position = self.log.append(&entry).map_err(|e| GroupFailure {
            stop: !matches!(e, LogError::Refused(_)),
            reason: e.to_string(),
        })?;
        apply(&entry, position).map_err(|e| GroupFailure {
            reason: format!("the local database could not apply log entry {position}, which the log holds: {e}"),
            stop: true,
        })
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

    /// An in-memory log: entries in order, and switches that fence the writer or refuse entries.
    #[derive(Default)]
    struct MemoryLog {
        entries: Mutex<Vec<Vec<u8>>>,
        fenced: AtomicBool,
        refusing: AtomicBool,
    }

    impl CommitLog for MemoryLog {
        fn append(&self, entry: &[u8]) -> Result<u64, LogError> {
            if self.fenced.load(Ordering::SeqCst) {
                return Err(LogError::Fenced("test".into()));
            }
            if self.refusing.load(Ordering::SeqCst) {
                return Err(LogError::Refused("test".into()));
            }
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            entries.push(entry.to_vec());
            Ok(entries.len() as u64)
        }

        fn max_entry_bytes(&self) -> usize {
            4096
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

    #[test]
    fn a_standby_applying_the_log_ends_up_identical() {
        let (dir_a, dir_b) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
        let writer = Arc::new(open(dir_a.path()));
        let log = Arc::new(MemoryLog::default());
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
