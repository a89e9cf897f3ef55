//! The one clock of the core.
//!
//! Wall-clock milliseconds are derived from `tokio::time::Instant`, so tests that pause and
//! advance tokio's time move every deadline and timestamp consistently (docs/design.md, "one clock").

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Epoch milliseconds anchored to tokio's monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base_instant: Instant,
    base_epoch_ms: u64,
}

impl Clock {
    /// Anchors the clock at the current system time.
    pub fn new() -> Clock {
        let base_epoch_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Clock {
            base_instant: Instant::now(),
            base_epoch_ms,
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        self.base_epoch_ms + self.base_instant.elapsed().as_millis() as u64
    }

    /// The tokio instant at which the epoch time `ms` is reached.
    pub fn instant_at(&self, ms: u64) -> Instant {
        let now_ms = self.now_ms();
        Instant::now() + Duration::from_millis(ms.saturating_sub(now_ms))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}
