//! An in-memory replicated log for tests of cluster mode's commit path: appends are numbered
//! in order, and their waits can be slowed per position (so later appends often finish
//! first), held, failed, or refused.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use sluice_storage::{CommitLog, LogError};

/// An in-memory log whose waits can be slowed per position (so later appends often finish
/// first), held, or failed.
#[derive(Default)]
pub(crate) struct MemoryLog {
    sent: Mutex<u64>,
    /// Slows each wait by up to 2 ms, by position.
    pub(crate) jitter: AtomicBool,
    /// Holds every wait (up to 10 s) until cleared.
    pub(crate) hold: AtomicBool,
    /// Fails every wait: the appends' outcome is unknown.
    pub(crate) fail: AtomicBool,
    /// Refuses (before sending, so the writer goes on) every entry holding the bytes "poison".
    pub(crate) poison: AtomicBool,
    /// One append in flight at a time instead of eight.
    pub(crate) narrow: AtomicBool,
}

impl CommitLog for MemoryLog {
    fn end(&self) -> u64 {
        *self.sent.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn send(&self, entry: &[u8]) -> std::result::Result<u64, LogError> {
        if self.poison.load(Ordering::SeqCst) && entry.windows(6).any(|w| w == b"poison") {
            return Err(LogError::Refused("test".into()));
        }
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        *sent += 1;
        Ok(*sent)
    }

    fn wait(&self, position: u64) -> std::result::Result<(), LogError> {
        // Bounded: the tests that hold the log release it well within this.
        for _ in 0..10_000 {
            if !self.hold.load(Ordering::SeqCst) {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if self.jitter.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_micros(position * 7919 % 2000));
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(LogError::Unavailable("test".into()));
        }
        Ok(())
    }

    fn max_entry_bytes(&self) -> usize {
        // Narrow: two messages of 3,000 bytes never share an entry.
        if self.narrow.load(Ordering::SeqCst) {
            5_000
        } else {
            1 << 20
        }
    }

    fn window(&self) -> usize {
        if self.narrow.load(Ordering::SeqCst) {
            1
        } else {
            8
        }
    }
}
