//! Kinesis-style data streams: sharded, durable, replayable logs.
//!
//! # Parts
//! - This file: [`Streams`], the registry (per (account, region, name)): its fields, loading
//!   at open, the lookups and `update`, the one-batch helper control-plane changes go through;
//!   the public types the operations take and return; helpers several files share.
//! - `lifecycle`: CreateStream, DeleteStream, DescribeStream(Summary), ListStreams, ListShards.
//! - `records`: PutRecord(s), GetShardIterator, GetRecords.
//! - `resharding`: SplitShard, MergeShards, UpdateShardCount.
//! - `settings`: retention, capacity mode, warm throughput, record size, tags, resource
//!   policies, encryption, enhanced monitoring, DescribeLimits, account settings.
//! - `throughput`: the per-shard token buckets behind ProvisionedThroughputExceeded (the switch
//!   that turns them on is here, beside the clock).
//! - `sweep`: the retention sweeper.
//! - [`shard`]: hash ranges, shard ids, the sequence-number layout and record keys.
//! - [`iterator`]: signed, expiring shard iterators.
//! - [`consumer`]: registered stream consumers (enhanced fan-out).
//! - [`subscription`]: SubscribeToShard's push subscriptions, woken by each shard commit, and
//!   which of them run now (the console).
//! - [`error`]: [`StreamError`], mapped to Kinesis codes by the server.
//! - [`overview`]: a region's streams with status, shards, consumers and traffic (the console).
//!
//! # Storage layout
//! - `meta` `0x40 | account | region | name` → the stream's JSON record (settings, status,
//!   every shard with its hash range and lineage, tags, policy).
//! - `meta` `0x41` → the stream id counter; ids are never reused, so stale records and
//!   iterators of a deleted stream can never be read as a new stream's.
//! - `meta` `0x42` → the 32-byte iterator secret of this data folder.
//! - `meta` `0x43 | stream id | shard` → the shard's last assigned sequence, written in the same
//!   batch as the records, so sequences keep increasing across restarts even after retention
//!   removed every record.
//! - `meta` `0x44 | account` → account settings.
//! - `stream_records` `0x01 | stream id | shard | sequence` → partition key and data.
//!
//! # Invariants
//! - Writes to one shard are serialised by the shard's writer lock, held across the commit, so
//!   a shard's records become visible in sequence order and a reader never skips one.
//! - A closed shard never takes another record: resharding closes parents under their writer
//!   locks and swaps the routing table before releasing them; a writer that finds its shard
//!   closed routes again.
//! - Records older than the retention period are never returned (reads start at the trim
//!   sequence) and are removed by range deletes in the background sweep, which sleeps until
//!   the oldest remaining record expires (a deadline, not a polling loop).
//! - Status transitions (CREATING, UPDATING → ACTIVE; DELETING → gone) are deadlines evaluated
//!   against the one clock, so paused-clock tests can step through them.

pub mod consumer;
pub mod error;
pub mod iterator;
mod lifecycle;
pub mod overview;
mod records;
mod resharding;
mod settings;
pub mod shard;
pub mod subscription;
mod sweep;
mod throughput;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sluice_storage::key::{self, KeyBuf};
use sluice_storage::{Cf, StorageError, Store};
use tokio::sync::Notify;

use crate::clock::Clock;
pub use consumer::{ConsumerInfo, ConsumerName, ConsumerStatus, MAX_CONSUMERS_PER_STREAM};
pub use error::{Result, StreamError};
use iterator::IteratorCodec;
use shard::{arrival_ms, seq_floor, ShardRecord};
pub use subscription::{ActiveSubscription, ShardEvent, Subscription};
use throughput::Throughput;

const STREAM_RECORD_PREFIX: u8 = 0x40;
const STREAM_ID_COUNTER: u8 = 0x41;
const ITERATOR_SECRET: u8 = 0x42;
const SHARD_HIGH_WATER: u8 = 0x43;
const ACCOUNT_SETTINGS: u8 = 0x44;

/// How long CREATING, UPDATING and DELETING last by default (kinesalite's default too: long
/// enough for clients' status waiters to observe, short enough for tests).
pub const DEFAULT_TRANSITION: Duration = Duration::from_millis(500);
/// Open shards allowed per account and region (AWS's default shard quota in large regions).
pub const SHARD_LIMIT: u32 = 500;
/// On-demand streams allowed per account and region.
pub const ON_DEMAND_STREAM_LIMIT: u32 = 50;
/// Shards an on-demand stream starts with (AWS: 4 MiB/s write capacity).
const ON_DEMAND_SHARDS: u32 = 4;
/// Most tags per stream.
/// Highest WarmThroughputMiBps an on-demand stream accepts (10 GiB/s).
const MAX_WARM_THROUGHPUT_MIBPS: u32 = 10_240;
const MAX_TAGS: usize = 50;
/// Retention bounds in hours.
const MIN_RETENTION_HOURS: u32 = 24;
const MAX_RETENTION_HOURS: u32 = 8760;
/// Default record size limit (1 MiB).
const DEFAULT_MAX_RECORD_KIB: u32 = 1024;
/// Most bytes one PutRecords may carry (data plus partition keys).
pub const PUT_RECORDS_MAX_BYTES: usize = 10 << 20;
/// Most bytes one GetRecords returns.
pub const GET_RECORDS_MAX_BYTES: usize = 10 << 20;
/// UpdateShardCount calls allowed per rolling 24 hours.
const MAX_SCALINGS_PER_DAY: usize = 10;
/// Longest the retention sweeper sleeps; records put meanwhile expire a retention period
/// (at least 24 h) later, so this only bounds the cost of a missed wake-up.
pub const MAX_SWEEP_INTERVAL_MS: u64 = 3_600_000;
const DAY_MS: u64 = 86_400_000;
const HOUR_MS: u64 = 3_600_000;

/// The shard-level metrics `ALL` stands for.
const ALL_METRICS: [&str; 7] = [
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
];

/// Names a stream: AWS namespaces streams by account and region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    /// Owning account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Stream name.
    pub name: String,
}

impl StreamKey {
    /// Builds a key.
    pub fn new(account: impl Into<String>, region: impl Into<String>, name: impl Into<String>) -> StreamKey {
        StreamKey {
            account: account.into(),
            region: region.into(),
            name: name.into(),
        }
    }

    /// The stream's ARN.
    pub fn arn(&self) -> String {
        format!("arn:aws:kinesis:{}:{}:stream/{}", self.region, self.account, self.name)
    }

    fn record_key(&self) -> Vec<u8> {
        KeyBuf::new(STREAM_RECORD_PREFIX)
            .str(&self.account)
            .str(&self.region)
            .str(&self.name)
            .finish()
    }

    fn not_found(&self) -> StreamError {
        StreamError::NotFound(format!(
            "Stream {} under account {} not found.",
            self.name, self.account
        ))
    }
}

/// A stream's status as Kinesis reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamStatus {
    /// Being created; not yet readable or writable.
    Creating,
    /// Being deleted.
    Deleting,
    /// Ready.
    Active,
    /// A change (resharding, retention, encryption, mode) is being applied.
    Updating,
}

impl StreamStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamStatus::Creating => "CREATING",
            StreamStatus::Deleting => "DELETING",
            StreamStatus::Active => "ACTIVE",
            StreamStatus::Updating => "UPDATING",
        }
    }
}

/// Capacity mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CapacityMode {
    /// User-managed shards.
    Provisioned,
    /// Service-managed shards.
    OnDemand,
}

/// Settings of a new stream, shape-validated by the wire layer.
#[derive(Debug, Clone)]
pub struct NewStream {
    /// Initial shard count (required for provisioned streams).
    pub shard_count: Option<u32>,
    /// Capacity mode.
    pub mode: CapacityMode,
    /// Tags.
    pub tags: Vec<(String, String)>,
    /// Record size limit in KiB (1024-10240).
    pub max_record_kib: Option<u32>,
}

/// One record to append.
#[derive(Debug, Clone)]
pub struct NewRecord {
    /// Partition key.
    pub partition_key: String,
    /// Overrides the MD5 of the partition key.
    pub explicit_hash_key: Option<u128>,
    /// Payload.
    pub data: Vec<u8>,
}

/// Where an appended record went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Shard id.
    pub shard_id: String,
    /// Wire sequence number.
    pub sequence_number: String,
}

/// What a put answers: one result per record, in request order, and whether the records were
/// stored KMS-encrypted (the `EncryptionType` of the answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOutcome<T> {
    /// One entry per record, in request order.
    pub results: Vec<T>,
    /// The stream's encryption setting the records were stored under: read once with the put,
    /// so the answer agrees with what was stored even if encryption changed meanwhile.
    pub encrypted: bool,
}

/// Where a new iterator starts.
#[derive(Debug, Clone)]
pub enum IteratorStart {
    /// At this wire sequence number.
    AtSequence(Option<String>),
    /// After this wire sequence number.
    AfterSequence(Option<String>),
    /// The oldest retained record.
    TrimHorizon,
    /// After the newest record now.
    Latest,
    /// The first record arriving at or after this epoch ms.
    AtTimestamp(Option<i64>),
}

/// One record read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRecord {
    /// Wire sequence number.
    pub sequence_number: String,
    /// Arrival time, epoch ms.
    pub arrival_ms: u64,
    /// Partition key.
    pub partition_key: String,
    /// Payload.
    pub data: Vec<u8>,
    /// Whether the record was written while the stream was KMS-encrypted (its
    /// `EncryptionType`); fixed at the write, whatever the stream's setting is now.
    pub encrypted: bool,
}

/// A child of a fully read closed shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildShard {
    /// Shard id.
    pub shard_id: String,
    /// Its parents' ids.
    pub parent_shards: Vec<String>,
    /// Hash range (decimal start, end).
    pub hash_range: (String, String),
}

/// The answer of one GetRecords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordBatch {
    /// Records in sequence order.
    pub records: Vec<ReadRecord>,
    /// Next iterator; `None` once a closed shard is fully read.
    pub next_iterator: Option<String>,
    /// How far the reader is behind the newest record.
    pub millis_behind_latest: u64,
    /// Set with a `None` iterator: the shards to read next.
    pub child_shards: Option<Vec<ChildShard>>,
}

/// A snapshot of a stream for Describe/List answers.
#[derive(Debug, Clone)]
pub struct StreamInfo {
    /// Internal id (part of every sequence number).
    pub id: u64,
    /// Key.
    pub key: StreamKey,
    /// Status now.
    pub status: StreamStatus,
    /// Mode.
    pub mode: CapacityMode,
    /// Creation time, epoch ms.
    pub created_ms: u64,
    /// Retention hours.
    pub retention_hours: u32,
    /// Listed shards (closed ones until retention removes them), by index.
    pub shards: Vec<ShardRecord>,
    /// Open shard count.
    pub open_shards: u32,
    /// KMS key when encrypted.
    pub encryption_key: Option<String>,
    /// Enabled shard-level metrics.
    pub metrics: Vec<String>,
    /// Record size limit in KiB.
    pub max_record_kib: u32,
    /// Warm throughput target in MiB/s, once set on an on-demand stream.
    pub warm_throughput_mibps: Option<u32>,
}

/// ListShards filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardFilter {
    /// Shards after this index.
    AfterShard(u32),
    /// Shards open at the trim horizon.
    AtTrimHorizon,
    /// Every retained shard.
    FromTrimHorizon,
    /// Open shards.
    AtLatest,
    /// Shards open at this epoch ms.
    AtTimestamp(u64),
    /// Shards open at or created after this epoch ms.
    FromTimestamp(u64),
}

/// Answer of Enable/DisableEnhancedMonitoring.
#[derive(Debug, Clone)]
pub struct MonitoringChange {
    /// Metrics before.
    pub current: Vec<String>,
    /// Metrics after.
    pub desired: Vec<String>,
}

/// DescribeLimits numbers.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Shard quota.
    pub shard_limit: u32,
    /// Open shards in the account and region.
    pub open_shards: u32,
    /// On-demand streams.
    pub on_demand_streams: u32,
    /// On-demand stream quota.
    pub on_demand_limit: u32,
}

/// The account's minimum throughput billing commitment (kept and reported).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccountSettings {
    /// ENABLED when true.
    pub enabled: bool,
    /// When it was enabled.
    pub started_ms: Option<u64>,
    /// When it was last disabled.
    pub ended_ms: Option<u64>,
}

/// Persisted per stream in `meta`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StreamRecord {
    id: u64,
    created_ms: u64,
    status: StreamStatus,
    /// When CREATING/UPDATING becomes ACTIVE.
    status_until_ms: u64,
    mode: CapacityMode,
    retention_hours: u32,
    shards: Vec<ShardRecord>,
    next_shard_index: u32,
    tags: BTreeMap<String, String>,
    encryption_key: Option<String>,
    metrics: BTreeSet<String>,
    policy: Option<String>,
    max_record_kib: u32,
    scalings_ms: Vec<u64>,
    /// UpdateStreamWarmThroughput's target, MiB/s (on-demand streams).
    #[serde(default)]
    warm_throughput_mibps: Option<u32>,
    /// Registered consumers (enhanced fan-out).
    #[serde(default)]
    consumers: Vec<consumer::ConsumerRecord>,
}

impl StreamRecord {
    fn status(&self, now: u64) -> StreamStatus {
        match self.status {
            StreamStatus::Creating | StreamStatus::Updating if now >= self.status_until_ms => StreamStatus::Active,
            s => s,
        }
    }

    fn retention_ms(&self) -> u64 {
        self.retention_hours as u64 * HOUR_MS
    }

    /// A closed shard stays listed until its last record has aged out.
    fn is_listed(&self, shard: &ShardRecord, now: u64) -> bool {
        match shard.ending_seq {
            None => true,
            Some(end) => arrival_ms(end).max(shard.closed_ms.unwrap_or(0)) + self.retention_ms() > now,
        }
    }

    fn open_count(&self) -> u32 {
        self.shards.iter().filter(|s| s.is_open()).count() as u32
    }
}

/// Mutable state of one shard's writer.
struct Writer {
    last_seq: u64,
    closed: bool,
}

/// Runtime state of one shard.
struct ShardState {
    index: u32,
    start: u128,
    writer: Mutex<Writer>,
    /// Throughput buckets (used only when limits are on).
    throughput: Mutex<Option<Throughput>>,
    /// Last committed sequence (0 when none): LATEST starts after it.
    committed: AtomicU64,
    /// Fired after each commit to the shard, and when it closes or its stream or a
    /// subscription changes: wakes SubscribeToShard subscribers.
    changed: Notify,
}

impl ShardState {
    fn writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Which shard takes which hash key, and every shard by index.
struct Routing {
    /// Open shards sorted by start hash.
    open: Vec<Arc<ShardState>>,
    all: HashMap<u32, Arc<ShardState>>,
}

impl Routing {
    fn route(&self, hash: u128) -> Option<&Arc<ShardState>> {
        let i = self.open.partition_point(|s| s.start <= hash);
        i.checked_sub(1).and_then(|i| self.open.get(i))
    }
}

/// One live stream.
struct Stream {
    id: u64,
    key: StreamKey,
    record: Mutex<StreamRecord>,
    routing: RwLock<Arc<Routing>>,
    /// Non-zero once DeleteStream ran: when the name becomes free.
    deleting_until: AtomicU64,
    /// Traffic since the broker started, for per-stream metrics.
    traffic: Traffic,
    /// The current SubscribeToShard subscription per (consumer, shard).
    leases: Mutex<HashMap<(String, u32), subscription::Lease>>,
}

/// Per-stream traffic counters (process lifetime, like any Prometheus counter).
#[derive(Debug, Default)]
struct Traffic {
    records_in: AtomicU64,
    bytes_in: AtomicU64,
    records_out: AtomicU64,
    bytes_out: AtomicU64,
    /// `MillisBehindLatest` of the latest GetRecords.
    iterator_age_ms: AtomicU64,
}

/// One stream's traffic, for metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamStats {
    /// The stream.
    pub key: StreamKey,
    /// Records stored since the broker started.
    pub records_in: u64,
    /// Record data bytes stored since the broker started.
    pub bytes_in: u64,
    /// Records returned by GetRecords since the broker started.
    pub records_out: u64,
    /// Record data bytes returned by GetRecords since the broker started.
    pub bytes_out: u64,
    /// `MillisBehindLatest` of the latest GetRecords.
    pub iterator_age_ms: u64,
}

impl Stream {
    fn record(&self) -> MutexGuard<'_, StreamRecord> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn routing(&self) -> Arc<Routing> {
        self.routing.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The stream registry and operations.
pub struct Streams {
    store: Arc<Store>,
    clock: Clock,
    registry: RwLock<HashMap<StreamKey, Arc<Stream>>>,
    by_id: RwLock<HashMap<u64, Arc<Stream>>>,
    next_stream_id: AtomicU64,
    codec: IteratorCodec,
    /// Serialises control-plane changes so existence checks, limits and commits agree.
    admin: Mutex<()>,
    /// How long CREATING, UPDATING and DELETING last.
    transition_ms: AtomicU64,
    /// Wakes the sweeper when retention shrinks or a stream is deleted.
    sweeper: Notify,
    /// AWS's per-shard throughput limits are enforced (off by default).
    limits: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Streams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streams")
            .field("transition_ms", &self.transition_ms.load(Ordering::Relaxed))
            .finish()
    }
}

/// A stored value that does not decode: the disk's content is wrong.
fn corrupt(what: impl Into<String>) -> StreamError {
    StreamError::Storage(StorageError::Corrupt(what.into()))
}

/// A failure that is neither the request's nor the disk's (encoding a value, an in-memory
/// invariant), so it must not be reported as corruption.
fn internal(what: impl Into<String>) -> StreamError {
    StreamError::Internal(what.into())
}

fn high_water_key(stream_id: u64, shard: u32) -> Vec<u8> {
    KeyBuf::new(SHARD_HIGH_WATER).u64(stream_id).u64(shard as u64).finish()
}

fn new_shard(index: u32, range: (u128, u128), parents: (Option<u32>, Option<u32>), now: u64) -> ShardRecord {
    ShardRecord {
        index,
        parent: parents.0,
        adjacent_parent: parents.1,
        start_hash: range.0.to_string(),
        end_hash: range.1.to_string(),
        starting_seq: seq_floor(now),
        ending_seq: None,
        created_ms: now,
        closed_ms: None,
    }
}

fn shard_state(rec: &ShardRecord, last_seq: u64) -> Arc<ShardState> {
    Arc::new(ShardState {
        index: rec.index,
        start: rec.range().0,
        writer: Mutex::new(Writer {
            last_seq,
            closed: !rec.is_open(),
        }),
        committed: AtomicU64::new(last_seq),
        throughput: Mutex::new(None),
        changed: Notify::new(),
    })
}

fn build_routing(record: &StreamRecord, previous: Option<&Routing>, last_seqs: &HashMap<u32, u64>) -> Routing {
    let mut all = HashMap::new();
    let mut open = Vec::new();
    for rec in &record.shards {
        let state = match previous.and_then(|p| p.all.get(&rec.index)) {
            Some(existing) => existing.clone(),
            None => shard_state(rec, last_seqs.get(&rec.index).copied().unwrap_or(0)),
        };
        if rec.is_open() {
            open.push(state.clone());
        }
        all.insert(rec.index, state);
    }
    open.sort_by_key(|s| s.start);
    Routing { open, all }
}

/// A key for cluster nodes to vouch for what they forward, derived from the broker's stored
/// secret (replicated with the store, so every node that applied it holds the same key);
/// `None` until the writer's first start stored the secret.
pub fn forwarding_key(store: &Store) -> Result<Option<[u8; 32]>> {
    let Some(secret) = store.get(Cf::Meta, &[ITERATOR_SECRET])?.filter(|v| v.len() == 32) else {
        return Ok(None);
    };
    // A key of its own: a forwarding proof never doubles as an iterator's.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&secret)
        .map_err(|e| StreamError::Storage(StorageError::Corrupt(e.to_string())))?;
    mac.update(b"sluice forwarding key v1");
    Ok(Some(mac.finalize().into_bytes().into()))
}

impl Streams {
    /// Loads every stream; `transition` is how long CREATING/UPDATING/DELETING last.
    pub fn open(store: Arc<Store>, clock: Clock, transition: Duration) -> Result<Streams> {
        let secret = match store.get(Cf::Meta, &[ITERATOR_SECRET])? {
            Some(v) if v.len() == 32 => {
                let mut s = [0u8; 32];
                s.copy_from_slice(&v);
                s
            }
            _ => {
                // Two v4 UUIDs: 244 random bits from the OS generator.
                let mut s = [0u8; 32];
                s[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
                s[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
                let mut b = store.batch();
                b.put(Cf::Meta, &[ITERATOR_SECRET], &s);
                store.commit(b)?;
                s
            }
        };
        let mut max_id = store
            .get(Cf::Meta, &[STREAM_ID_COUNTER])?
            .and_then(|v| key::read_u64(&v, 0))
            .unwrap_or(0);
        let mut registry = HashMap::new();
        let mut by_id = HashMap::new();
        for (k, v) in store.scan_prefix(Cf::Meta, &[STREAM_RECORD_PREFIX])? {
            let skey = decode_stream_key(&k).ok_or_else(|| corrupt("bad stream record key"))?;
            let record: StreamRecord =
                serde_json::from_slice(&v).map_err(|e| corrupt(format!("stream record {}: {e}", skey.name)))?;
            max_id = max_id.max(record.id);
            let mut last_seqs = HashMap::new();
            for shard in &record.shards {
                let hw = store
                    .get(Cf::Meta, &high_water_key(record.id, shard.index))?
                    .and_then(|v| key::read_u64(&v, 0))
                    .unwrap_or(0);
                last_seqs.insert(shard.index, hw.max(shard.ending_seq.unwrap_or(0)));
            }
            let routing = build_routing(&record, None, &last_seqs);
            let stream = Arc::new(Stream {
                id: record.id,
                key: skey.clone(),
                record: Mutex::new(record),
                routing: RwLock::new(Arc::new(routing)),
                deleting_until: AtomicU64::new(0),
                traffic: Traffic::default(),
                leases: Mutex::new(HashMap::new()),
            });
            by_id.insert(stream.id, stream.clone());
            registry.insert(skey, stream);
        }
        Ok(Streams {
            store,
            clock,
            registry: RwLock::new(registry),
            by_id: RwLock::new(by_id),
            next_stream_id: AtomicU64::new(max_id + 1),
            codec: IteratorCodec::new(secret),
            admin: Mutex::new(()),
            transition_ms: AtomicU64::new(transition.as_millis() as u64),
            sweeper: Notify::new(),
            limits: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn now(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Turns AWS's per-shard throughput limits on or off (ProvisionedThroughputExceeded).
    pub fn set_throughput_limits(&self, on: bool) {
        self.limits.store(on, Ordering::Release);
    }

    fn limits_on(&self) -> bool {
        self.limits.load(Ordering::Acquire)
    }

    fn transition_ms(&self) -> u64 {
        self.transition_ms.load(Ordering::Acquire)
    }

    /// Sets how long CREATING, UPDATING and DELETING last from now on (0: changes are
    /// ACTIVE at once, for test suites that don't wait).
    pub fn set_transition(&self, transition: Duration) {
        self.transition_ms
            .store(transition.as_millis() as u64, Ordering::Release);
    }

    fn admin(&self) -> MutexGuard<'_, ()> {
        self.admin.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every registered stream, taken out of the registry lock so callers can work on each
    /// without holding it.
    fn snapshot(&self) -> Vec<Arc<Stream>> {
        let registry = self.registry.read().unwrap_or_else(|p| p.into_inner());
        registry.values().cloned().collect()
    }

    /// Traffic of up to `limit` streams (by account, region, name) for metrics, and how many
    /// streams were left out.
    pub fn stats(&self, limit: usize) -> (Vec<StreamStats>, usize) {
        let mut streams: Vec<Arc<Stream>> = self.snapshot();
        streams.sort_by(|a, b| {
            (&a.key.account, &a.key.region, &a.key.name).cmp(&(&b.key.account, &b.key.region, &b.key.name))
        });
        let omitted = streams.len().saturating_sub(limit);
        let stats = streams
            .iter()
            .take(limit)
            .map(|s| StreamStats {
                key: s.key.clone(),
                records_in: s.traffic.records_in.load(Ordering::Relaxed),
                bytes_in: s.traffic.bytes_in.load(Ordering::Relaxed),
                records_out: s.traffic.records_out.load(Ordering::Relaxed),
                bytes_out: s.traffic.bytes_out.load(Ordering::Relaxed),
                iterator_age_ms: s.traffic.iterator_age_ms.load(Ordering::Relaxed),
            })
            .collect();
        (stats, omitted)
    }

    /// The stream under `key`, including one being deleted (until its name is free).
    fn lookup_any(&self, key: &StreamKey) -> Option<Arc<Stream>> {
        let stream = self
            .registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()?;
        let until = stream.deleting_until.load(Ordering::Acquire);
        if until != 0 && self.now() >= until {
            self.forget(&stream);
            return None;
        }
        Some(stream)
    }

    fn forget(&self, stream: &Arc<Stream>) {
        let mut reg = self.registry.write().unwrap_or_else(|p| p.into_inner());
        if reg.get(&stream.key).is_some_and(|s| Arc::ptr_eq(s, stream)) {
            reg.remove(&stream.key);
        }
        self.by_id.write().unwrap_or_else(|p| p.into_inner()).remove(&stream.id);
    }

    /// A stream that exists and is not being deleted.
    fn lookup(&self, key: &StreamKey) -> Result<Arc<Stream>> {
        match self.lookup_any(key) {
            Some(s) if s.deleting_until.load(Ordering::Acquire) == 0 => Ok(s),
            _ => Err(key.not_found()),
        }
    }

    /// A stream that takes reads and writes (ACTIVE or UPDATING).
    fn lookup_data(&self, key: &StreamKey) -> Result<Arc<Stream>> {
        let stream = self.lookup(key)?;
        if stream.record().status(self.now()) == StreamStatus::Creating {
            return Err(key.not_found());
        }
        Ok(stream)
    }

    fn persist(&self, stream: &Stream, record: &StreamRecord) -> Result<()> {
        let value = serde_json::to_vec(record).map_err(|e| internal(format!("encode stream record: {e}")))?;
        let mut b = self.store.batch();
        b.put(Cf::Meta, &stream.key.record_key(), &value);
        self.store.commit(b)?;
        Ok(())
    }

    fn require_active(stream: &Stream, record: &StreamRecord, now: u64) -> Result<()> {
        let status = record.status(now);
        if status != StreamStatus::Active {
            return Err(StreamError::InUse(format!(
                "Stream {} under account {} not ACTIVE, instead in state {}",
                stream.key.name,
                stream.key.account,
                status.as_str()
            )));
        }
        Ok(())
    }

    fn open_shards_in(&self, account: &str, region: &str) -> u32 {
        let reg = self.registry.read().unwrap_or_else(|p| p.into_inner());
        reg.values()
            .filter(|s| s.key.account == account && s.key.region == region)
            .filter(|s| s.deleting_until.load(Ordering::Acquire) == 0)
            .map(|s| s.record().open_count())
            .sum()
    }

    fn on_demand_count(&self, account: &str, region: &str) -> u32 {
        let reg = self.registry.read().unwrap_or_else(|p| p.into_inner());
        reg.values()
            .filter(|s| s.key.account == account && s.key.region == region)
            .filter(|s| s.deleting_until.load(Ordering::Acquire) == 0)
            .filter(|s| s.record().mode == CapacityMode::OnDemand)
            .count() as u32
    }

    /// Runs `f` on the record of an existing stream and persists the result.
    fn update<T>(&self, key: &StreamKey, f: impl FnOnce(&Stream, &mut StreamRecord, u64) -> Result<T>) -> Result<T> {
        let _admin = self.admin();
        let stream = self.lookup(key)?;
        let now = self.now();
        let mut record = stream.record().clone();
        let out = f(&stream, &mut record, now)?;
        self.persist(&stream, &record)?;
        *stream.record() = record;
        // Subscribers re-check what changed: a closed shard, a deregistered consumer.
        stream.wake_all();
        Ok(out)
    }

    fn set_updating(&self, record: &mut StreamRecord, now: u64) {
        record.status = StreamStatus::Updating;
        record.status_until_ms = now + self.transition_ms();
    }

    /// Seals a pagination token's state with this data folder's secret, so a client cannot
    /// edit what the token names (see [`IteratorCodec::seal`]).
    pub fn seal_token(&self, state: &[u8]) -> String {
        self.codec.seal(state)
    }

    /// The state of a token [`Streams::seal_token`] made; `None` for an edited or foreign one.
    pub fn open_token(&self, token: &str) -> Option<Vec<u8>> {
        self.codec.open(token)
    }

    /// Number of streams (including ones being deleted).
    pub fn len(&self) -> usize {
        self.registry.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// True when there is no stream.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A resource policy must be a JSON object.
fn check_policy_document(policy: &str) -> Result<()> {
    let parsed: serde_json::Value = serde_json::from_str(policy)
        .map_err(|_| StreamError::InvalidArgument("Policy is not a valid JSON document.".into()))?;
    if !parsed.is_object() {
        return Err(StreamError::InvalidArgument("Policy must be a JSON object.".into()));
    }
    Ok(())
}

fn too_many_tags(key: &StreamKey) -> StreamError {
    StreamError::InvalidArgument(format!(
        "Failed to add tags to stream {} under account {} because a given stream cannot have more than {MAX_TAGS} tags associated with it.",
        key.name, key.account
    ))
}

fn decode_stream_key(k: &[u8]) -> Option<StreamKey> {
    let mut rest = k.get(1..)?;
    let mut next = || -> Option<String> {
        let len = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]) as usize;
        let s = std::str::from_utf8(rest.get(2..2 + len)?).ok()?.to_string();
        rest = &rest[2 + len..];
        Some(s)
    };
    let account = next()?;
    let region = next()?;
    let name = next()?;
    Some(StreamKey { account, region, name })
}
