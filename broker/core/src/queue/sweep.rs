//! The retention sweeper: deletes messages past their queue's retention period, and sleeps until
//! the next one is due. (Closed FIFO deduplication ids need no sweep: they count for nothing once
//! expired, and compactions drop them, see `fifo`.)
//!
//! # Invariants
//! - Expired entries leave the index before their deletion commits, so no consumer receives a
//!   message being swept; each queue's sweep is one batch.
//! - Expired messages of a cold tail (see `index`) are read from disk under the index lock, at
//!   most `spill::EXPIRE_CHUNK` per queue and pass; a full chunk brings the next pass at once.
//! - The loop ends when `shutdown` resolves and wakes early when retention settings change.

use std::sync::Arc;

use sluice_storage::Cf;

use super::error::Result;
use super::message::message_key;
use super::spill::EXPIRE_CHUNK;
use super::{Queue, Queues, SIXTY_SECONDS_MS};

impl Queues {
    /// Deletes messages past their queue's retention period; returns the next time to sweep.
    pub fn sweep_expired(&self) -> Result<u64> {
        let now = self.clock.now_ms();
        let queues: Vec<Arc<Queue>> = self.snapshot();
        let mut next = now + SIXTY_SECONDS_MS;
        for queue in queues {
            let retention_ms = queue.config().message_retention_period as u64 * 1000;
            let expired = {
                let mut index = queue.index();
                let cutoff = now.saturating_sub(retention_ms) + 1;
                let mut seqs = index.sent_before(cutoff);
                for seq in &seqs {
                    index.remove(*seq);
                }
                let cold = self.expire_cold(&queue, &mut index, cutoff).unwrap_or_else(|e| {
                    // The hot part's expiry still commits; the cold part is tried next pass.
                    tracing::warn!(queue = %queue.key.name, error = %e, "reading expired messages failed");
                    Vec::new()
                });
                if cold.len() == EXPIRE_CHUNK {
                    next = now;
                }
                seqs.extend(cold);
                if let Some(oldest) = index.oldest_sent_ms() {
                    next = next.min(oldest + retention_ms);
                }
                seqs
            };
            if expired.is_empty() {
                continue;
            }
            let mut batch = self.store.batch();
            for seq in expired {
                let key = message_key(queue.id, seq);
                batch.delete(Cf::QueueMsgs, &key);
                batch.delete(Cf::QueueState, &key);
            }
            self.store.commit(batch)?;
        }
        Ok(next.max(now + 1000))
    }

    /// Runs the retention sweeper until `shutdown` resolves.
    pub async fn run_sweeper(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let next = match self.sweep_expired() {
                Ok(next) => next,
                Err(e) => {
                    tracing::warn!(error = %e, "retention sweep failed");
                    self.clock.now_ms() + 5_000
                }
            };
            tokio::select! {
                _ = &mut shutdown => return,
                _ = self.sweeper.notified() => {}
                _ = tokio::time::sleep_until(self.clock.instant_at(next)) => {}
            }
        }
    }
}
