//! Group fsync of the write-ahead log for batches written without one (single-node
//! `Durability::Fsync`, [`crate::Store::submit`]).
//!
//! A caller that holds a lock (a FIFO queue's send order, a shard's sequence) writes its batch
//! unsynced, which fixes its place in the log, lets go of the lock, and only then waits here
//! for an fsync. Whoever waits while no fsync is running runs the next one for everybody;
//! the others wait for it. So writers that came one after another under a lock still share
//! fsyncs, which RocksDB's own group commit cannot do for them: it groups only writers that
//! reach it at the same time.
//!
//! # Invariants
//! - A write's mark is taken after RocksDB has put the write in the log, and an fsync covers
//!   the marks taken before it started: the log is appended in order, so syncing it syncs
//!   every earlier write.
//! - At most one fsync runs at a time (a second one would find nothing new to sync).
//! - A failed fsync advances nothing: its leader gets the error, and its other waiters run
//!   the next one (the store stops the process on the first failure, see `Store::submit`).

use std::sync::{Condvar, Mutex, MutexGuard};

/// Marks of unsynced writes and how far the log is known to be synced.
#[derive(Debug, Default)]
pub(crate) struct WalSync {
    state: Mutex<State>,
    settled: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// The mark of the last write recorded.
    written: u64,
    /// Every mark up to this one is synced.
    synced: u64,
    /// An fsync is running.
    syncing: bool,
    /// Fsyncs run so far (tests count them).
    syncs: u64,
}

impl WalSync {
    /// Records a write RocksDB has just put in its log, unsynced; answers its mark.
    pub(crate) fn written(&self) -> u64 {
        let mut state = self.lock();
        state.written += 1;
        state.written
    }

    /// Returns once the write with `mark` is synced, running `sync` (which fsyncs the log) when
    /// no other waiter is: one fsync covers every write marked before it started.
    pub(crate) fn sync_through<E>(&self, mark: u64, sync: impl FnOnce() -> Result<(), E>) -> Result<(), E> {
        let mut state = self.lock();
        loop {
            if state.synced >= mark {
                return Ok(());
            }
            if !state.syncing {
                break;
            }
            state = self.settled.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        let target = state.written;
        state.syncing = true;
        drop(state);
        // Resets `syncing` even if `sync` unwinds, so other waiters never wait forever.
        let running = Running { sync: self, target };
        let result = sync();
        running.finish(result.is_ok());
        result
    }

    /// Fsyncs run so far.
    #[cfg(test)]
    pub(crate) fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The fsync under way, covering marks up to `target`.
struct Running<'a> {
    sync: &'a WalSync,
    target: u64,
}

impl Running<'_> {
    fn finish(self, ok: bool) {
        if ok {
            let mut state = self.sync.lock();
            state.synced = state.synced.max(self.target);
            state.syncs += 1;
        }
        // `Drop` clears `syncing` and wakes the waiters.
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.sync.lock().syncing = false;
        self.sync.settled.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Barrier};

    #[test]
    fn one_fsync_covers_every_write_marked_before_it() {
        let wal = WalSync::default();
        let first = wal.written();
        let second = wal.written();
        let calls = AtomicU64::new(0);
        let sync = || {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<(), ()>(())
        };
        wal.sync_through(second, sync).unwrap();
        wal.sync_through(first, sync).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(wal.syncs(), 1);
        // A write marked after the fsync needs one of its own.
        let third = wal.written();
        wal.sync_through(third, sync).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_failed_fsync_advances_nothing_and_the_next_waiter_tries_again() {
        let wal = WalSync::default();
        let mark = wal.written();
        assert_eq!(wal.sync_through(mark, || Err("disk")), Err("disk"));
        assert_eq!(wal.syncs(), 0);
        let calls = AtomicU64::new(0);
        wal.sync_through(mark, || {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<(), &str>(())
        })
        .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn waiters_during_an_fsync_share_the_next_one() {
        let wal = Arc::new(WalSync::default());
        let first = wal.written();
        // The first fsync starts (its target taken), then every other writer marks its write
        // and starts waiting while it runs: those need exactly one more fsync between them.
        let waiters = 6;
        let started = Arc::new(Barrier::new(waiters + 1));
        let marked = Arc::new(Barrier::new(waiters + 1));
        let holder = {
            let (wal, started, marked) = (wal.clone(), started.clone(), marked.clone());
            std::thread::spawn(move || {
                wal.sync_through(first, || {
                    started.wait();
                    marked.wait();
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    Ok::<(), ()>(())
                })
            })
        };
        let others: Vec<_> = (0..waiters)
            .map(|_| {
                let (wal, started, marked) = (wal.clone(), started.clone(), marked.clone());
                std::thread::spawn(move || {
                    started.wait();
                    let mark = wal.written();
                    marked.wait();
                    wal.sync_through(mark, || Ok::<(), ()>(()))
                })
            })
            .collect();
        holder.join().unwrap().unwrap();
        for other in others {
            other.join().unwrap().unwrap();
        }
        assert_eq!(wal.syncs(), 2);
    }
}
