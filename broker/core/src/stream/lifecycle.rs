//! A stream's life: CreateStream, DeleteStream, DescribeStream(Summary), ListStreams and
//! ListShards.
//!
//! # Invariants
//! - Create and delete run under the admin lock, so existence checks, the shard and
//!   on-demand quotas and the commit agree.
//! - Create commits the stream record and the id counter in one batch; delete removes the
//!   record, every stored record and the shards' high-water marks in one batch, then closes
//!   every writer, so a put racing with the delete cannot land after it.
//! - A deleted stream's name stays taken (DELETING) for the transition time; its id is never
//!   reused.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use sluice_storage::key;
use sluice_storage::Cf;

use super::shard::{stream_prefix, uniform_range, ShardRecord};
use super::{
    build_routing, high_water_key, internal, new_shard, too_many_tags, CapacityMode, NewStream, Result, ShardFilter,
    Stream, StreamError, StreamInfo, StreamKey, StreamRecord, StreamStatus, Streams, Traffic, DEFAULT_MAX_RECORD_KIB,
    MAX_TAGS, MIN_RETENTION_HOURS, ON_DEMAND_SHARDS, ON_DEMAND_STREAM_LIMIT, SHARD_LIMIT, STREAM_ID_COUNTER,
};

impl Streams {
    /// CreateStream.
    pub fn create(&self, key: &StreamKey, new: NewStream) -> Result<()> {
        let _admin = self.admin();
        if self.lookup_any(key).is_some() {
            return Err(StreamError::InUse(format!(
                "Stream {} under account {} already exists.",
                key.name, key.account
            )));
        }
        let shard_count = match (new.mode, new.shard_count) {
            (CapacityMode::OnDemand, Some(n)) => n,
            (CapacityMode::OnDemand, None) => ON_DEMAND_SHARDS,
            (CapacityMode::Provisioned, Some(n)) => n,
            (CapacityMode::Provisioned, None) => {
                return Err(StreamError::InvalidArgument(
                    "ShardCount is required for streams in PROVISIONED mode.".into(),
                ))
            }
        };
        if shard_count == 0 {
            return Err(StreamError::InvalidArgument("ShardCount must be at least 1.".into()));
        }
        let open = self.open_shards_in(&key.account, &key.region);
        if open.saturating_add(shard_count) > SHARD_LIMIT {
            return Err(StreamError::LimitExceeded(format!(
                "This request would exceed the shard limit for the account {} in {}. Current shard count for the account: {open}. Limit: {SHARD_LIMIT}. Number of additional shards that would have resulted from this request: {shard_count}.",
                key.account, key.region
            )));
        }
        if new.mode == CapacityMode::OnDemand
            && self.on_demand_count(&key.account, &key.region) >= ON_DEMAND_STREAM_LIMIT
        {
            return Err(StreamError::LimitExceeded(format!(
                "This request would exceed the limit of {ON_DEMAND_STREAM_LIMIT} on-demand streams for the account {}.",
                key.account
            )));
        }
        if new.tags.len() > MAX_TAGS {
            return Err(too_many_tags(key));
        }
        let now = self.now();
        let id = self.next_stream_id.fetch_add(1, Ordering::AcqRel);
        let shards: Vec<ShardRecord> = (0..shard_count)
            .map(|i| new_shard(i, uniform_range(i, shard_count), (None, None), now))
            .collect();
        let record = StreamRecord {
            id,
            created_ms: now,
            status: StreamStatus::Creating,
            status_until_ms: now + self.transition_ms(),
            mode: new.mode,
            retention_hours: MIN_RETENTION_HOURS,
            shards,
            next_shard_index: shard_count,
            tags: new.tags.into_iter().collect(),
            encryption_key: None,
            metrics: BTreeSet::new(),
            policy: None,
            max_record_kib: new.max_record_kib.unwrap_or(DEFAULT_MAX_RECORD_KIB),
            scalings_ms: Vec::new(),
            warm_throughput_mibps: None,
            consumers: Vec::new(),
        };
        let value = serde_json::to_vec(&record).map_err(|e| internal(format!("encode stream record: {e}")))?;
        let mut b = self.store.batch();
        b.put(Cf::Meta, &key.record_key(), &value);
        b.put(Cf::Meta, &[STREAM_ID_COUNTER], &id.to_be_bytes());
        self.store.commit(b)?;
        let routing = build_routing(&record, None, &HashMap::new());
        let stream = Arc::new(Stream {
            id,
            key: key.clone(),
            record: Mutex::new(record),
            routing: RwLock::new(Arc::new(routing)),
            deleting_until: AtomicU64::new(0),
            traffic: Traffic::default(),
            leases: Mutex::new(HashMap::new()),
        });
        self.by_id
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, stream.clone());
        self.registry
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), stream);
        Ok(())
    }

    /// DeleteStream: records, metadata and consumers go in one batch; the name stays taken
    /// (DELETING) for the transition time. A stream with registered consumers is deleted only
    /// with `enforce_consumer_deletion`, as on AWS.
    pub fn delete(&self, key: &StreamKey, enforce_consumer_deletion: bool) -> Result<()> {
        let _admin = self.admin();
        let stream = self.lookup(key)?;
        let record = stream.record().clone();
        let now = self.now();
        if !enforce_consumer_deletion && record.consumers.iter().any(|c| c.status(now).is_some()) {
            return Err(StreamError::InUse(format!(
                "Stream {} under account {} has registered consumers; set EnforceConsumerDeletion to delete it with them.",
                key.name, key.account
            )));
        }
        let prefix = stream_prefix(stream.id);
        let mut b = self.store.batch();
        b.delete(Cf::Meta, &key.record_key());
        b.delete_range(Cf::StreamRecords, &prefix, &key::prefix_end(&prefix));
        for shard in &record.shards {
            b.delete(Cf::Meta, &high_water_key(stream.id, shard.index));
        }
        self.store.commit(b)?;
        // Close every writer so a put racing with the delete cannot land after it.
        for state in stream.routing().all.values() {
            state.writer().closed = true;
        }
        stream
            .deleting_until
            .store(self.now() + self.transition_ms().max(1), Ordering::Release);
        self.by_id.write().unwrap_or_else(|p| p.into_inner()).remove(&stream.id);
        stream.revoke_subscriptions();
        self.sweeper.notify_one();
        Ok(())
    }

    /// A snapshot for DescribeStream / DescribeStreamSummary; DELETING streams are reported.
    pub fn describe(&self, key: &StreamKey) -> Result<StreamInfo> {
        let stream = self.lookup_any(key).ok_or_else(|| key.not_found())?;
        Ok(self.info(&stream))
    }

    fn info(&self, stream: &Stream) -> StreamInfo {
        let now = self.now();
        let record = stream.record();
        let status = if stream.deleting_until.load(Ordering::Acquire) != 0 {
            StreamStatus::Deleting
        } else {
            record.status(now)
        };
        StreamInfo {
            id: stream.id,
            key: stream.key.clone(),
            status,
            mode: record.mode,
            created_ms: record.created_ms,
            retention_hours: record.retention_hours,
            shards: record
                .shards
                .iter()
                .filter(|s| record.is_listed(s, now))
                .cloned()
                .collect(),
            open_shards: record.open_count(),
            encryption_key: record.encryption_key.clone(),
            metrics: record.metrics.iter().cloned().collect(),
            max_record_kib: record.max_record_kib,
            warm_throughput_mibps: record.warm_throughput_mibps,
        }
    }

    /// One page of the account and region's streams in name order: at most `limit` named
    /// after `after`, and whether more follow. Only the page's streams are described: a full
    /// listing used to describe every stream of the region for every page.
    pub fn list_page(&self, account: &str, region: &str, after: Option<&str>, limit: usize) -> (Vec<StreamInfo>, bool) {
        let mut streams: Vec<Arc<Stream>> = {
            let reg = self.registry.read().unwrap_or_else(|p| p.into_inner());
            reg.values()
                .filter(|s| s.key.account == account && s.key.region == region)
                .filter(|s| after.is_none_or(|a| s.key.name.as_str() > a))
                .cloned()
                .collect()
        };
        // Outside the registry's lock: `lookup_any` takes it, and forgets a stream whose
        // deletion has run its course.
        streams.retain(|s| self.lookup_any(&s.key).is_some());
        let more = streams.len() > limit;
        if more {
            streams.select_nth_unstable_by(limit, |a, b| a.key.name.cmp(&b.key.name));
            streams.truncate(limit);
        }
        streams.sort_unstable_by(|a, b| a.key.name.cmp(&b.key.name));
        (streams.iter().map(|s| self.info(s)).collect(), more)
    }

    /// The shards ListShards returns for `filter`, by index.
    pub fn list_shards(&self, key: &StreamKey, filter: Option<ShardFilter>) -> Result<Vec<ShardRecord>> {
        let stream = self.lookup(key)?;
        let info = self.info(&stream);
        // The model lists ResourceInUseException for ListShards: a stream still being created
        // has no shards to hand out yet.
        if info.status == StreamStatus::Creating {
            return Err(StreamError::InUse(format!(
                "Stream {} under account {} is in CREATING state, try again later.",
                key.name, key.account
            )));
        }
        let listed: BTreeSet<u32> = info.shards.iter().map(|s| s.index).collect();
        let at_trim_horizon = |s: &ShardRecord| {
            !s.parent.is_some_and(|p| listed.contains(&p)) && !s.adjacent_parent.is_some_and(|p| listed.contains(&p))
        };
        let open_at = |s: &ShardRecord, t: u64| s.created_ms <= t && s.closed_ms.is_none_or(|c| c > t);
        let shards = info.shards.iter().cloned();
        let out = match filter {
            None | Some(ShardFilter::FromTrimHorizon) => shards.collect(),
            Some(ShardFilter::AfterShard(i)) => shards.filter(|s| s.index > i).collect(),
            Some(ShardFilter::AtTrimHorizon) => shards.filter(|s| at_trim_horizon(s)).collect(),
            Some(ShardFilter::AtLatest) => shards.filter(|s| s.is_open()).collect(),
            Some(ShardFilter::AtTimestamp(t)) => {
                let at: Vec<ShardRecord> = shards.filter(|s| open_at(s, t)).collect();
                if at.is_empty() {
                    // Before the stream existed: the shards at the trim horizon.
                    info.shards.iter().filter(|s| at_trim_horizon(s)).cloned().collect()
                } else {
                    at
                }
            }
            Some(ShardFilter::FromTimestamp(t)) => {
                let from: Vec<ShardRecord> = shards.filter(|s| s.closed_ms.is_none_or(|c| c > t)).collect();
                from
            }
        };
        Ok(out)
    }
}
