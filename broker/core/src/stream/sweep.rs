//! The retention sweeper: removes expired records by range and forgets deleted streams.
//!
//! # Invariants
//! - It sleeps until the oldest remaining record expires or a deleted stream's name frees up
//!   (a deadline on the one clock, at most [`MAX_SWEEP_INTERVAL_MS`] ahead, not a polling
//!   loop), or until a shorter retention or a deletion wakes it.
//! - One batch of range deletes per stream; reads never depend on the sweep having run,
//!   since they start at the trim sequence themselves.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use sluice_storage::key;
use sluice_storage::Cf;

use super::shard::{arrival_ms, record_key, seq_floor, shard_prefix, SEQ_OFFSET};
use super::{Result, Stream, Streams, MAX_SWEEP_INTERVAL_MS};

impl Streams {
    /// Deletes expired records of every stream by range and forgets deleted streams. Returns
    /// when the next record expires or a deleted stream's name frees up (epoch ms), at most
    /// [`MAX_SWEEP_INTERVAL_MS`] ahead.
    pub fn sweep(&self) -> Result<u64> {
        let now = self.now();
        let mut next = now + MAX_SWEEP_INTERVAL_MS;
        let streams: Vec<Arc<Stream>> = self.snapshot();
        for stream in streams {
            let until = stream.deleting_until.load(Ordering::Acquire);
            if until != 0 {
                if now >= until {
                    self.forget(&stream);
                } else {
                    next = next.min(until);
                }
                continue;
            }
            let (retention_ms, shards) = {
                let r = stream.record();
                (r.retention_ms(), r.shards.iter().map(|s| s.index).collect::<Vec<_>>())
            };
            let trim = seq_floor(now.saturating_sub(retention_ms));
            let mut b = self.store.batch();
            for shard in &shards {
                b.delete_range(
                    Cf::StreamRecords,
                    &record_key(stream.id, *shard, 0),
                    &record_key(stream.id, *shard, trim),
                );
            }
            self.store.commit(b)?;
            // The oldest record left in each shard sets the next deadline: one seek per shard.
            for shard in shards {
                let prefix = shard_prefix(stream.id, shard);
                let mut first = None;
                self.store
                    .for_each_from(Cf::StreamRecords, &record_key(stream.id, shard, trim), |k, _| {
                        if k.starts_with(&prefix) {
                            first = key::read_u64(k, SEQ_OFFSET);
                        }
                        false
                    })?;
                if let Some(seq) = first {
                    next = next.min(arrival_ms(seq) + retention_ms + 1);
                }
            }
        }
        Ok(next)
    }

    /// The retention sweeper: sleeps until the next record expires (or retention shrinks, or a
    /// stream is deleted) and range-deletes what expired; runs until dropped.
    pub async fn run_sweeper(self: Arc<Self>) {
        loop {
            let next = match self.sweep() {
                Ok(next) => next,
                Err(e) => {
                    tracing::warn!(error = %e, "stream retention sweep failed");
                    self.now() + 5_000
                }
            };
            tokio::select! {
                _ = self.sweeper.notified() => {}
                _ = tokio::time::sleep_until(self.clock.instant_at(next)) => {}
            }
        }
    }
}
