//! Resharding: SplitShard, MergeShards and UpdateShardCount.
//!
//! # Invariants
//! - Parents are closed under their writer locks (taken in index order, like writers take
//!   them), the record is persisted, and the routing table is swapped before the locks are
//!   released: a closed shard never takes another record.
//! - Every child has at most two parents, like the splits and merges AWS performs.
//! - The account's shard quota and UpdateShardCount's rolling daily limit are checked before
//!   anything changes; each operation commits once, through [`Streams::update`].

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};

use super::shard::{parse_shard_id, ShardRecord};
use super::{
    build_routing, new_shard, CapacityMode, Result, ShardState, Stream, StreamError, StreamKey, StreamRecord, Streams,
    Writer, DAY_MS, MAX_SCALINGS_PER_DAY, SHARD_LIMIT,
};

impl Streams {
    /// Closes `parents` and opens `children` (already in `record.shards`) atomically with
    /// respect to writers. Called with the admin lock held.
    fn reshard(&self, stream: &Stream, record: &mut StreamRecord, parents: &[u32], now: u64) -> Result<()> {
        let routing = stream.routing();
        // Lock in index order, like writers do, so a merge and a PutRecords spanning the same
        // two shards cannot deadlock.
        let mut ordered = parents.to_vec();
        ordered.sort_unstable();
        let states: Vec<Arc<ShardState>> = ordered.iter().filter_map(|p| routing.all.get(p).cloned()).collect();
        let mut guards: Vec<MutexGuard<'_, Writer>> = states.iter().map(|s| s.writer()).collect();
        for (state, guard) in states.iter().zip(guards.iter_mut()) {
            if let Some(shard) = record.shards.iter_mut().find(|s| s.index == state.index) {
                shard.ending_seq = Some(guard.last_seq.max(shard.starting_seq));
                shard.closed_ms = Some(now);
            }
        }
        self.persist(stream, record)?;
        for (state, g) in states.iter().zip(guards.iter_mut()) {
            g.closed = true;
            // A put may still wait for its commit, which this one (later in the log) has
            // just covered: readers of a closed shard must get every record before they
            // move on to the children, so its committed mark reaches its end now.
            state.committed.fetch_max(g.last_seq, Ordering::Release);
            state.changed.notify_waiters();
        }
        let next = build_routing(record, Some(&routing), &HashMap::new());
        *stream.routing.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
        drop(guards);
        Ok(())
    }

    fn open_shard(stream: &Stream, record: &StreamRecord, id: &str) -> Result<ShardRecord> {
        let shard = parse_shard_id(id)
            .and_then(|i| record.shards.iter().find(|s| s.index == i))
            .ok_or_else(|| {
                StreamError::NotFound(format!(
                    "Could not find shard {id} in stream {} under account {}.",
                    stream.key.name, stream.key.account
                ))
            })?;
        if !shard.is_open() {
            return Err(StreamError::InUse(format!(
                "Shard {id} in stream {} under account {} has already been merged or split, and thus is not eligible for merging or splitting.",
                stream.key.name, stream.key.account
            )));
        }
        Ok(shard.clone())
    }

    fn check_shard_limit(&self, key: &StreamKey, extra: u32) -> Result<()> {
        let open = self.open_shards_in(&key.account, &key.region);
        if open.saturating_add(extra) > SHARD_LIMIT {
            return Err(StreamError::LimitExceeded(format!(
                "This request would exceed the shard limit for the account {} in {}. Current shard count for the account: {open}. Limit: {SHARD_LIMIT}.",
                key.account, key.region
            )));
        }
        Ok(())
    }

    /// SplitShard.
    pub fn split(&self, key: &StreamKey, shard: &str, new_start: u128) -> Result<()> {
        self.check_shard_limit(key, 1)?;
        self.update(key, |stream, record, now| {
            Self::require_active(stream, record, now)?;
            let parent = Self::open_shard(stream, record, shard)?;
            let (start, end) = parent.range();
            if new_start <= start || new_start > end {
                return Err(StreamError::InvalidArgument(format!(
                    "NewStartingHashKey {new_start} used in SplitShard() on shard {shard} in stream {} under account {} is not both greater than the shard's StartingHashKey {start} and less than or equal to its EndingHashKey {end}.",
                    key.name, key.account
                )));
            }
            self.split_in(stream, record, &parent, new_start, now)?;
            self.set_updating(record, now);
            Ok(())
        })
    }

    fn split_in(
        &self,
        stream: &Stream,
        record: &mut StreamRecord,
        parent: &ShardRecord,
        at: u128,
        now: u64,
    ) -> Result<()> {
        let (start, end) = parent.range();
        let a = record.next_shard_index;
        record.next_shard_index += 2;
        record
            .shards
            .push(new_shard(a, (start, at - 1), (Some(parent.index), None), now));
        record
            .shards
            .push(new_shard(a + 1, (at, end), (Some(parent.index), None), now));
        self.reshard(stream, record, &[parent.index], now)
    }

    fn merge_in(
        &self,
        stream: &Stream,
        record: &mut StreamRecord,
        first: &ShardRecord,
        second: &ShardRecord,
        now: u64,
    ) -> Result<()> {
        let (a0, a1) = first.range();
        let (b0, b1) = second.range();
        let child = record.next_shard_index;
        record.next_shard_index += 1;
        record.shards.push(new_shard(
            child,
            (a0.min(b0), a1.max(b1)),
            (Some(first.index), Some(second.index)),
            now,
        ));
        self.reshard(stream, record, &[first.index, second.index], now)
    }

    /// MergeShards.
    pub fn merge(&self, key: &StreamKey, shard: &str, adjacent: &str) -> Result<()> {
        self.update(key, |stream, record, now| {
            Self::require_active(stream, record, now)?;
            let first = Self::open_shard(stream, record, shard)?;
            let second = Self::open_shard(stream, record, adjacent)?;
            let (a0, a1) = first.range();
            let (b0, b1) = second.range();
            let adjacent_ranges = a1.checked_add(1) == Some(b0) || b1.checked_add(1) == Some(a0);
            if !adjacent_ranges {
                return Err(StreamError::InvalidArgument(format!(
                    "Shards {shard} and {adjacent} in stream {} under account {} are not an adjacent pair of shards eligible for merging",
                    key.name, key.account
                )));
            }
            self.merge_in(stream, record, &first, &second, now)?;
            self.set_updating(record, now);
            Ok(())
        })
    }

    /// UpdateShardCount (UNIFORM_SCALING): splits the widest or merges the narrowest adjacent
    /// pairs until the open count is the target, so every child has at most two parents, like
    /// the splits and merges AWS performs. Returns (previous count, target).
    pub fn update_shard_count(&self, key: &StreamKey, target: u32) -> Result<(u32, u32)> {
        {
            let stream = self.lookup(key)?;
            let open = stream.record().open_count();
            if target > open {
                self.check_shard_limit(key, target - open)?;
            }
        }
        self.update(key, |stream, record, now| {
            Self::require_active(stream, record, now)?;
            if record.mode == CapacityMode::OnDemand {
                return Err(StreamError::InvalidArgument(
                    "UpdateShardCount is not supported for streams in ON_DEMAND mode.".into(),
                ));
            }
            let current = record.open_count();
            if target > current * 2 {
                return Err(StreamError::LimitExceeded(format!(
                    "UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: {current} Target shard count: {target}"
                )));
            }
            if target * 2 < current {
                return Err(StreamError::LimitExceeded(format!(
                    "UpdateShardCount cannot scale down below half your current open shard count. Current open shard count: {current} Target shard count: {target}"
                )));
            }
            record.scalings_ms.retain(|t| t + DAY_MS > now);
            if record.scalings_ms.len() >= MAX_SCALINGS_PER_DAY {
                return Err(StreamError::LimitExceeded(format!(
                    "Stream {} under account {} has exceeded its limit of {MAX_SCALINGS_PER_DAY} UpdateShardCount calls in a rolling 24-hour period.",
                    key.name, key.account
                )));
            }
            record.scalings_ms.push(now);
            while record.open_count() < target {
                let widest = record
                    .shards
                    .iter()
                    .filter(|s| s.is_open())
                    .filter(|s| {
                        let (a, b) = s.range();
                        b > a
                    })
                    .max_by_key(|s| {
                        let (a, b) = s.range();
                        b - a
                    })
                    .cloned()
                    .ok_or_else(|| StreamError::InvalidArgument("No shard can be split further.".into()))?;
                let (a, b) = widest.range();
                let mid = a + (b - a) / 2 + 1;
                self.split_in(stream, record, &widest, mid, now)?;
            }
            while record.open_count() > target {
                let mut open: Vec<ShardRecord> = record.shards.iter().filter(|s| s.is_open()).cloned().collect();
                open.sort_by_key(|s| s.range().0);
                let pair = open
                    .windows(2)
                    .min_by_key(|w| w[1].range().1 - w[0].range().0)
                    .map(|w| (w[0].clone(), w[1].clone()))
                    .ok_or_else(|| StreamError::InvalidArgument("No shards to merge.".into()))?;
                self.merge_in(stream, record, &pair.0, &pair.1, now)?;
            }
            self.set_updating(record, now);
            Ok((current, target))
        })
    }
}
