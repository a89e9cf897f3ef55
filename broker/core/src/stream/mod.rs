//! Kinesis-style data streams: sharded, durable, replayable logs.
//!
//! # Parts
//! - [`Streams`]: the registry (per (account, region, name)) and every stream operation.
//! - [`shard`]: hash ranges, shard ids, the sequence-number layout and record keys.
//! - [`iterator`]: signed, expiring shard iterators.
//! - [`consumer`]: registered stream consumers (enhanced fan-out).
//! - [`subscription`]: SubscribeToShard's push subscriptions, woken by each shard commit.
//! - [`error`]: [`StreamError`], mapped to Kinesis codes by the server.
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
pub mod shard;
pub mod subscription;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sluice_storage::key::{self, KeyBuf};
use sluice_storage::{Cf, StorageError, Store};
use tokio::sync::Notify;

use crate::clock::Clock;
pub use consumer::{ConsumerInfo, ConsumerName, ConsumerStatus, MAX_CONSUMERS_PER_STREAM};
pub use error::{Result, StreamError};
use iterator::{IteratorCodec, IteratorPos, ITERATOR_TTL_MS};
use shard::{
    arrival_ms, decode_record, encode_record, format_sequence, hash_of, parse_sequence, parse_shard_id, record_key,
    seq_floor, shard_id, shard_prefix, stream_prefix, uniform_range, ShardRecord, SEQ_OFFSET,
};
pub use subscription::{ShardEvent, Subscription};

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
/// Per-shard quotas enforced when throughput limits are on (AWS Kinesis Data Streams quotas).
const WRITE_BYTES_PER_SEC: f64 = 1_048_576.0;
const WRITE_RECORDS_PER_SEC: f64 = 1_000.0;
const READ_CALLS_PER_SEC: f64 = 5.0;
const READ_BYTES_PER_SEC: f64 = 2_097_152.0;
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

/// A token bucket refilled at `rate` per second up to one second's worth.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    level: f64,
    last_ms: u64,
}

impl Bucket {
    fn full(rate: f64, now: u64) -> Bucket {
        Bucket {
            level: rate,
            last_ms: now,
        }
    }

    fn refill(&mut self, rate: f64, now: u64) {
        let elapsed = now.saturating_sub(self.last_ms) as f64 / 1000.0;
        self.level = (self.level + elapsed * rate).min(rate);
        self.last_ms = now;
    }
}

/// One shard's throughput buckets.
#[derive(Debug, Clone, Copy)]
struct Throughput {
    write_bytes: Bucket,
    write_records: Bucket,
    read_calls: Bucket,
    read_bytes: Bucket,
}

impl Throughput {
    fn new(now: u64) -> Throughput {
        Throughput {
            write_bytes: Bucket::full(WRITE_BYTES_PER_SEC, now),
            write_records: Bucket::full(WRITE_RECORDS_PER_SEC, now),
            read_calls: Bucket::full(READ_CALLS_PER_SEC, now),
            read_bytes: Bucket::full(READ_BYTES_PER_SEC, now),
        }
    }

    fn refill(&mut self, now: u64) {
        self.write_bytes.refill(WRITE_BYTES_PER_SEC, now);
        self.write_records.refill(WRITE_RECORDS_PER_SEC, now);
        self.read_calls.refill(READ_CALLS_PER_SEC, now);
        self.read_bytes.refill(READ_BYTES_PER_SEC, now);
    }
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

    /// Runs `f` on the shard's buckets, refilled to `now`.
    fn with_throughput<T>(&self, now: u64, f: impl FnOnce(&mut Throughput) -> T) -> T {
        let mut guard = self.throughput.lock().unwrap_or_else(|p| p.into_inner());
        let t = guard.get_or_insert_with(|| Throughput::new(now));
        t.refill(now);
        f(t)
    }
}

/// Reads a shard's records from sequence `from` on: at most `limit` records and, past the
/// first, `max_bytes` of keys and data, each with its sequence. Also says whether it stopped
/// before the end.
fn read_shard(
    store: &Store,
    stream: &Stream,
    shard: u32,
    from: u64,
    limit: usize,
    max_bytes: usize,
) -> Result<(Vec<(u64, ReadRecord)>, bool)> {
    // Records stored before their encryption type was (RECORD_V1) report the stream's current
    // setting, which is what they reported before the upgrade: readers see no change for old
    // data, and it is right for the common case of a stream encrypted from its start or never.
    let legacy_encrypted = stream.record().encryption_key.is_some();
    let prefix = shard_prefix(stream.id, shard);
    let start = record_key(stream.id, shard, from);
    let mut records = Vec::new();
    let mut bytes = 0usize;
    let mut stopped_early = false;
    let mut bad = None;
    store.for_each_from(Cf::StreamRecords, &start, |k, v| {
        if !k.starts_with(&prefix) {
            return false;
        }
        if records.len() >= limit {
            stopped_early = true;
            return false;
        }
        let Some(seq) = key::read_u64(k, SEQ_OFFSET) else {
            bad = Some("record key");
            return false;
        };
        let Some(stored) = decode_record(v) else {
            bad = Some("record value");
            return false;
        };
        let size = stored.data.len() + stored.partition_key.len();
        if !records.is_empty() && bytes + size > max_bytes {
            stopped_early = true;
            return false;
        }
        bytes += size;
        records.push((
            seq,
            ReadRecord {
                sequence_number: format_sequence(stream.id, shard, seq),
                arrival_ms: arrival_ms(seq),
                partition_key: stored.partition_key.to_string(),
                data: stored.data.to_vec(),
                encrypted: stored.encrypted.unwrap_or(legacy_encrypted),
            },
        ));
        true
    })?;
    if let Some(what) = bad {
        return Err(corrupt(format!("stream {} {what}", stream.key.name)));
    }
    Ok((records, stopped_early))
}

/// The children of shard `index` (empty while it is open).
fn children_of(record: &StreamRecord, index: u32) -> Vec<ChildShard> {
    record
        .shards
        .iter()
        .filter(|c| c.parent == Some(index) || c.adjacent_parent == Some(index))
        .map(|c| ChildShard {
            shard_id: c.id(),
            parent_shards: c
                .parent
                .iter()
                .chain(c.adjacent_parent.iter())
                .map(|p| shard_id(*p))
                .collect(),
            hash_range: (c.start_hash.clone(), c.end_hash.clone()),
        })
        .collect()
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

    /// The stream under `key`, including one being deleted (until its name is free).
    /// Traffic of up to `limit` streams (by account, region, name) for metrics, and how many
    /// streams were left out.
    pub fn stats(&self, limit: usize) -> (Vec<StreamStats>, usize) {
        let mut streams: Vec<Arc<Stream>> = self
            .registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
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

    fn on_demand_count(&self, account: &str, region: &str) -> u32 {
        let reg = self.registry.read().unwrap_or_else(|p| p.into_inner());
        reg.values()
            .filter(|s| s.key.account == account && s.key.region == region)
            .filter(|s| s.deleting_until.load(Ordering::Acquire) == 0)
            .filter(|s| s.record().mode == CapacityMode::OnDemand)
            .count() as u32
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

    /// True when the stream is KMS-encrypted (answers carry `EncryptionType`); cheap, for the
    /// put path.
    pub fn is_encrypted(&self, key: &StreamKey) -> bool {
        self.lookup_any(key)
            .is_some_and(|s| s.record().encryption_key.is_some())
    }

    /// Every stream of the account and region, sorted by name.
    pub fn list(&self, account: &str, region: &str) -> Vec<StreamInfo> {
        let streams: Vec<Arc<Stream>> = {
            let reg = self.registry.read().unwrap_or_else(|p| p.into_inner());
            reg.values()
                .filter(|s| s.key.account == account && s.key.region == region)
                .cloned()
                .collect()
        };
        let mut out: Vec<StreamInfo> = streams
            .iter()
            .filter(|s| self.lookup_any(&s.key).is_some())
            .map(|s| self.info(s))
            .collect();
        out.sort_by(|a, b| a.key.name.cmp(&b.key.name));
        out
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

    /// PutRecord / PutRecords: appends every record, in request order per shard, in one
    /// write batch. `ordering_floor` (SequenceNumberForOrdering) is satisfied by construction,
    /// see the comment where sequences are assigned.
    pub fn put(&self, key: &StreamKey, records: &[NewRecord], ordering_floor: Option<&str>) -> Result<Vec<Appended>> {
        let mut out = Vec::with_capacity(records.len());
        for r in self.put_batch(key, records, ordering_floor)? {
            out.push(r?);
        }
        Ok(out)
    }

    /// PutRecords: like [`Streams::put`], but with throughput limits on, a record over its
    /// shard's limit fails alone (`Err(Throughput)`) and the others are stored.
    pub fn put_batch(
        &self,
        key: &StreamKey,
        records: &[NewRecord],
        _ordering_floor: Option<&str>,
    ) -> Result<Vec<Result<Appended>>> {
        let stream = self.lookup_data(key)?;
        // Each record keeps the encryption type in force when it was written (its
        // `EncryptionType` on every later read); read once, before any writer lock, so one
        // batch agrees.
        let (max_bytes, encrypted) = {
            let record = stream.record();
            (record.max_record_kib as usize * 1024, record.encryption_key.is_some())
        };
        let mut total = 0usize;
        for r in records {
            let size = r.data.len() + r.partition_key.len();
            if size > max_bytes {
                return Err(StreamError::Validation(format!(
                    "1 validation error detected: Value at 'data' failed to satisfy constraint: Member must have length less than or equal to {max_bytes}"
                )));
            }
            total += size;
        }
        if total > PUT_RECORDS_MAX_BYTES {
            return Err(StreamError::InvalidArgument(format!(
                "Records size exceeds {} MB limit",
                PUT_RECORDS_MAX_BYTES >> 20
            )));
        }
        let hashes: Vec<u128> = records
            .iter()
            .map(|r| r.explicit_hash_key.unwrap_or_else(|| hash_of(&r.partition_key)))
            .collect();
        // Route, lock the shards in index order, and re-route if a reshard closed one meanwhile.
        for _attempt in 0..16 {
            let routing = stream.routing();
            let mut targets: Vec<Arc<ShardState>> = Vec::with_capacity(records.len());
            for h in &hashes {
                match routing.route(*h) {
                    Some(s) => targets.push(s.clone()),
                    None => return Err(key.not_found()),
                }
            }
            let mut order: Vec<&Arc<ShardState>> = targets.iter().collect();
            order.sort_by_key(|s| s.index);
            order.dedup_by_key(|s| s.index);
            let mut guards: Vec<(u32, MutexGuard<'_, Writer>)> = Vec::with_capacity(order.len());
            let mut closed = false;
            for s in &order {
                let g = s.writer();
                closed |= g.closed;
                guards.push((s.index, g));
            }
            if closed {
                drop(guards);
                if stream.deleting_until.load(Ordering::Acquire) != 0 {
                    return Err(key.not_found());
                }
                continue;
            }
            let now = self.now();
            let limits = self.limits_on();
            let mut b = self.store.batch();
            let mut out = Vec::with_capacity(records.len());
            for (i, r) in records.iter().enumerate() {
                let shard = targets[i].index;
                if limits {
                    let size = (r.data.len() + r.partition_key.len()) as f64;
                    let admitted = targets[i].with_throughput(now, |t| {
                        if t.write_records.level >= 1.0 && t.write_bytes.level >= size {
                            t.write_records.level -= 1.0;
                            t.write_bytes.level -= size;
                            true
                        } else {
                            false
                        }
                    });
                    if !admitted {
                        out.push(Err(StreamError::Throughput(format!(
                            "Rate exceeded for shard {} in stream {} under account {}.",
                            shard_id(shard),
                            key.name,
                            key.account
                        ))));
                        continue;
                    }
                }
                let pos = guards.iter().position(|(idx, _)| *idx == shard).unwrap_or(0);
                let w = &mut guards[pos].1;
                // Sequences already increase strictly per shard for the shard's whole life, so
                // every number this shard handed out is below the next one:
                // SequenceNumberForOrdering (always an earlier answer) holds without work, and a
                // made-up larger value must not push the shard's sequence space forward.
                let seq = (w.last_seq + 1).max(seq_floor(now));
                w.last_seq = seq;
                b.put(
                    Cf::StreamRecords,
                    &record_key(stream.id, shard, seq),
                    &encode_record(&r.partition_key, &r.data, encrypted),
                );
                out.push(Ok(Appended {
                    shard_id: shard_id(shard),
                    sequence_number: format_sequence(stream.id, shard, seq),
                }));
            }
            for (idx, w) in &guards {
                b.put(Cf::Meta, &high_water_key(stream.id, *idx), &w.last_seq.to_be_bytes());
            }
            if let Err(e) = self.store.commit(b) {
                // Sequences handed out above were never stored; later ones stay higher anyway.
                return Err(e.into());
            }
            for (idx, w) in &guards {
                if let Some(s) = routing.all.get(idx) {
                    s.committed.store(w.last_seq, Ordering::Release);
                    s.changed.notify_waiters();
                }
            }
            let stored = out.iter().filter(|r| r.is_ok()).count() as u64;
            let bytes: u64 = records
                .iter()
                .zip(&out)
                .filter(|(_, r)| r.is_ok())
                .map(|(rec, _)| rec.data.len() as u64)
                .sum();
            stream.traffic.records_in.fetch_add(stored, Ordering::Relaxed);
            stream.traffic.bytes_in.fetch_add(bytes, Ordering::Relaxed);
            return Ok(out);
        }
        Err(StreamError::InUse(format!(
            "Stream {} under account {} is being resharded; retry.",
            key.name, key.account
        )))
    }

    fn shard_of<'r>(&self, stream: &Stream, record: &'r StreamRecord, id: &str) -> Result<&'r ShardRecord> {
        let now = self.now();
        parse_shard_id(id)
            .and_then(|i| record.shards.iter().find(|s| s.index == i))
            .filter(|s| record.is_listed(s, now))
            .ok_or_else(|| {
                StreamError::NotFound(format!(
                    "Shard {id} in stream {} under account {} does not exist",
                    stream.key.name, stream.key.account
                ))
            })
    }

    /// GetShardIterator.
    pub fn shard_iterator(&self, key: &StreamKey, shard: &str, start: IteratorStart) -> Result<String> {
        let stream = self.lookup_data(key)?;
        let record = stream.record().clone();
        let shard = self.shard_of(&stream, &record, shard)?;
        let state = stream
            .routing()
            .all
            .get(&shard.index)
            .cloned()
            .ok_or_else(|| internal("shard missing from routing"))?;
        let position = self.start_position(&stream, shard, &state, start)?;
        Ok(self.codec.encode(IteratorPos {
            stream_id: stream.id,
            shard: shard.index,
            position,
            issued_ms: self.now(),
        }))
    }

    /// The first sequence a reader starting at `start` on `shard` may get.
    fn start_position(
        &self,
        stream: &Stream,
        shard: &ShardRecord,
        state: &ShardState,
        start: IteratorStart,
    ) -> Result<u64> {
        let key = &stream.key;
        let parse = |text: Option<String>, kind: &str| -> Result<u64> {
            let text = text.ok_or_else(|| {
                StreamError::InvalidArgument(format!(
                    "The StartingSequenceNumber parameter is required for ShardIteratorType {kind}."
                ))
            })?;
            match parse_sequence(&text) {
                Some((sid, idx, seq)) if sid == stream.id && idx == shard.index => Ok(seq),
                Some((_, idx, _)) if idx != shard.index => Err(StreamError::InvalidArgument(format!(
                    "Invalid StartingSequenceNumber. It encodes {}, while it was used in a call to a shard with {}",
                    shard_id(idx),
                    shard.id()
                ))),
                _ => Err(StreamError::InvalidArgument(format!(
                    "StartingSequenceNumber {text} used in GetShardIterator on shard {} in stream {} under account {} is invalid.",
                    shard.id(),
                    key.name,
                    key.account
                ))),
            }
        };
        let position = match start {
            IteratorStart::TrimHorizon => 0,
            IteratorStart::Latest => state.committed.load(Ordering::Acquire) + 1,
            IteratorStart::AtSequence(s) => parse(s, "AT_SEQUENCE_NUMBER")?,
            IteratorStart::AfterSequence(s) => parse(s, "AFTER_SEQUENCE_NUMBER")?.saturating_add(1),
            IteratorStart::AtTimestamp(t) => {
                let t = t.ok_or_else(|| {
                    StreamError::InvalidArgument(
                        "The timestampInMillis parameter is required for ShardIteratorType AT_TIMESTAMP.".into(),
                    )
                })?;
                if t > self.now() as i64 {
                    return Err(StreamError::InvalidArgument(format!(
                        "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: {t}, currentTimestampInMillis: {}",
                        self.now()
                    )));
                }
                seq_floor(t.max(0) as u64)
            }
        };
        Ok(position)
    }

    /// The stream a shard iterator this data folder issued points into; `None` for anything
    /// else (a forged or garbled iterator, a deleted stream). Authorization reads it, since a
    /// GetRecords names its stream only through the iterator.
    pub fn iterator_stream(&self, iterator: &str) -> Option<StreamKey> {
        let pos = self.codec.decode(iterator)?;
        let by_id = self.by_id.read().unwrap_or_else(|p| p.into_inner());
        by_id.get(&pos.stream_id).map(|stream| stream.key.clone())
    }

    /// GetRecords. `stream_check` is the request's StreamARN, which must name the iterator's
    /// stream when given.
    pub fn get_records(&self, iterator: &str, limit: usize, stream_check: Option<&StreamKey>) -> Result<RecordBatch> {
        let pos = self
            .codec
            .decode(iterator)
            .ok_or_else(|| StreamError::InvalidArgument("Invalid ShardIterator.".into()))?;
        let now = self.now();
        if now > pos.issued_ms + ITERATOR_TTL_MS {
            return Err(StreamError::ExpiredIterator(format!(
                "Iterator expired. The iterator was created at time {} while right now it is {} which is further in the future than the tolerated delay of {ITERATOR_TTL_MS} milliseconds.",
                fmt_ms(pos.issued_ms),
                fmt_ms(now)
            )));
        }
        let stream = self
            .by_id
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&pos.stream_id)
            .cloned()
            .ok_or_else(|| StreamError::NotFound("Shard iterator's stream does not exist.".into()))?;
        if let Some(k) = stream_check {
            if *k != stream.key {
                return Err(StreamError::InvalidArgument(
                    "The StreamARN does not match the stream of the ShardIterator.".into(),
                ));
            }
        }
        let (shard, retention_ms, children) = {
            let record = stream.record();
            let shard = record
                .shards
                .iter()
                .find(|s| s.index == pos.shard)
                .filter(|s| record.is_listed(s, now))
                .cloned()
                .ok_or_else(|| {
                    StreamError::NotFound(format!(
                        "Shard {} in stream {} under account {} does not exist",
                        shard_id(pos.shard),
                        stream.key.name,
                        stream.key.account
                    ))
                })?;
            let children = children_of(&record, pos.shard);
            (shard, record.retention_ms(), children)
        };
        let limits = self.limits_on();
        let state = stream.routing().all.get(&pos.shard).cloned();
        if limits {
            // Five calls a second per shard; a call may read up to 10 MiB, after which the
            // byte bucket is in debt and later calls are refused until it refills (AWS:
            // "subsequent calls made within the next 5 seconds throw").
            let admitted = state.as_ref().is_none_or(|s| {
                s.with_throughput(now, |t| {
                    if t.read_calls.level >= 1.0 && t.read_bytes.level >= 0.0 {
                        t.read_calls.level -= 1.0;
                        true
                    } else {
                        false
                    }
                })
            });
            if !admitted {
                return Err(StreamError::Throughput(format!(
                    "Rate exceeded for shard {} in stream {} under account {}.",
                    shard_id(pos.shard),
                    stream.key.name,
                    stream.key.account
                )));
            }
        }
        let trim = seq_floor(now.saturating_sub(retention_ms));
        let from = pos.position.max(trim);
        let limit = limit.clamp(1, 10_000);
        let (records, stopped_early) = read_shard(&self.store, &stream, pos.shard, from, limit, GET_RECORDS_MAX_BYTES)?;
        let bytes: usize = records.iter().map(|(_, r)| r.partition_key.len() + r.data.len()).sum();
        if let (true, Some(s)) = (limits, &state) {
            s.with_throughput(now, |t| t.read_bytes.level -= bytes as f64);
        }
        let next_pos = records.last().map(|(s, _)| s + 1).unwrap_or(from);
        let millis_behind_latest = match records.last() {
            Some((seq, _)) if stopped_early => now.saturating_sub(arrival_ms(*seq)),
            _ => 0,
        };
        let finished = !shard.is_open() && !stopped_early;
        let traffic = &stream.traffic;
        traffic.records_out.fetch_add(records.len() as u64, Ordering::Relaxed);
        traffic.bytes_out.fetch_add(
            records.iter().map(|(_, r)| r.data.len() as u64).sum(),
            Ordering::Relaxed,
        );
        traffic.iterator_age_ms.store(millis_behind_latest, Ordering::Relaxed);
        let records = records.into_iter().map(|(_, r)| r).collect();
        Ok(RecordBatch {
            records,
            next_iterator: (!finished).then(|| {
                self.codec.encode(IteratorPos {
                    stream_id: stream.id,
                    shard: pos.shard,
                    position: next_pos,
                    issued_ms: now,
                })
            }),
            millis_behind_latest,
            child_shards: finished.then_some(children),
        })
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

    /// Increase/DecreaseStreamRetentionPeriod.
    pub fn set_retention(&self, key: &StreamKey, hours: i64, increase: bool) -> Result<()> {
        self.update(key, |stream, record, now| {
            Self::require_active(stream, record, now)?;
            if hours < MIN_RETENTION_HOURS as i64 {
                return Err(StreamError::InvalidArgument(format!(
                    "Minimum allowed retention period is {MIN_RETENTION_HOURS} hours. Requested retention period ({hours} hours) is too short."
                )));
            }
            if hours > MAX_RETENTION_HOURS as i64 {
                return Err(StreamError::InvalidArgument(format!(
                    "Maximum allowed retention period is {MAX_RETENTION_HOURS} hours. Requested retention period ({hours} hours) is too long."
                )));
            }
            let current = record.retention_hours as i64;
            if increase && hours < current {
                return Err(StreamError::InvalidArgument(format!(
                    "Requested retention period ({hours} hours) for stream {} can not be shorter than existing retention period ({current} hours). Use DecreaseRetentionPeriod API.",
                    key.name
                )));
            }
            if !increase && hours > current {
                return Err(StreamError::InvalidArgument(format!(
                    "Requested retention period ({hours} hours) for stream {} can not be longer than existing retention period ({current} hours). Use IncreaseRetentionPeriod API.",
                    key.name
                )));
            }
            record.retention_hours = hours as u32;
            self.set_updating(record, now);
            Ok(())
        })?;
        self.sweeper.notify_one();
        Ok(())
    }

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
        for g in guards.iter_mut() {
            g.closed = true;
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

    /// UpdateStreamMode.
    pub fn update_mode(&self, key: &StreamKey, mode: CapacityMode) -> Result<()> {
        if mode == CapacityMode::OnDemand {
            let stream = self.lookup(key)?;
            let is_on_demand = stream.record().mode == CapacityMode::OnDemand;
            if !is_on_demand && self.on_demand_count(&key.account, &key.region) >= ON_DEMAND_STREAM_LIMIT {
                return Err(StreamError::LimitExceeded(format!(
                    "This request would exceed the limit of {ON_DEMAND_STREAM_LIMIT} on-demand streams for the account {}.",
                    key.account
                )));
            }
        }
        self.update(key, |stream, record, now| {
            Self::require_active(stream, record, now)?;
            if record.mode == mode {
                return Err(StreamError::InUse(format!(
                    "Stream {} under account {} is already in the requested capacity mode.",
                    key.name, key.account
                )));
            }
            record.mode = mode;
            self.set_updating(record, now);
            Ok(())
        })
    }

    /// UpdateStreamWarmThroughput: on-demand streams only, 0 to 10,240 MiB/s. Sluice does not
    /// throttle on-demand streams, so the target is kept, reported and reached at once.
    pub fn update_warm_throughput(&self, key: &StreamKey, mibps: u32) -> Result<()> {
        self.update(key, |stream, record, now| {
            Self::require_active(stream, record, now)?;
            if record.mode != CapacityMode::OnDemand {
                return Err(StreamError::InvalidArgument(format!(
                    "Warm throughput can only be set on streams in ON_DEMAND capacity mode; stream {} under account {} is PROVISIONED.",
                    key.name, key.account
                )));
            }
            if mibps > MAX_WARM_THROUGHPUT_MIBPS {
                return Err(StreamError::InvalidArgument(format!(
                    "WarmThroughputMiBps must be at most {MAX_WARM_THROUGHPUT_MIBPS}, not {mibps}."
                )));
            }
            record.warm_throughput_mibps = Some(mibps);
            self.set_updating(record, now);
            Ok(())
        })
    }

    /// UpdateMaxRecordSize.
    pub fn update_max_record_size(&self, key: &StreamKey, kib: u32) -> Result<()> {
        self.update(key, |stream, record, now| {
            Self::require_active(stream, record, now)?;
            record.max_record_kib = kib;
            self.set_updating(record, now);
            Ok(())
        })
    }

    /// AddTagsToStream / TagResource.
    pub fn add_tags(&self, key: &StreamKey, tags: &[(String, String)]) -> Result<()> {
        self.update(key, |_, record, _| {
            let mut next = record.tags.clone();
            for (k, v) in tags {
                next.insert(k.clone(), v.clone());
            }
            if next.len() > MAX_TAGS {
                return Err(too_many_tags(key));
            }
            record.tags = next;
            Ok(())
        })
    }

    /// RemoveTagsFromStream / UntagResource.
    pub fn remove_tags(&self, key: &StreamKey, keys: &[String]) -> Result<()> {
        self.update(key, |_, record, _| {
            for k in keys {
                record.tags.remove(k);
            }
            Ok(())
        })
    }

    /// Tags sorted by key.
    pub fn tags(&self, key: &StreamKey) -> Result<Vec<(String, String)>> {
        let stream = self.lookup(key)?;
        let record = stream.record();
        Ok(record.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// PutResourcePolicy: the document must be a JSON object.
    pub fn put_policy(&self, key: &StreamKey, policy: &str) -> Result<()> {
        check_policy_document(policy)?;
        self.update(key, |_, record, _| {
            record.policy = Some(policy.to_string());
            Ok(())
        })
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

    /// GetResourcePolicy: `{}` when none is attached, as AWS answers.
    pub fn policy(&self, key: &StreamKey) -> Result<String> {
        let stream = self.lookup(key)?;
        let policy = stream.record().policy.clone();
        Ok(policy.unwrap_or_else(|| "{}".to_string()))
    }

    /// DeleteResourcePolicy.
    pub fn delete_policy(&self, key: &StreamKey) -> Result<()> {
        self.update(key, |_, record, _| {
            if record.policy.take().is_none() {
                return Err(StreamError::NotFound(format!(
                    "No resource policy found for resource ARN {}.",
                    key.arn()
                )));
            }
            Ok(())
        })
    }

    /// Start/StopStreamEncryption: the key is kept and reported; records are stored as sent.
    pub fn set_encryption(&self, key: &StreamKey, kms_key: Option<String>) -> Result<()> {
        self.update(key, |stream, record, now| {
            Self::require_active(stream, record, now)?;
            record.encryption_key = kms_key;
            self.set_updating(record, now);
            Ok(())
        })
    }

    /// Enable/DisableEnhancedMonitoring.
    pub fn set_monitoring(&self, key: &StreamKey, metrics: &[String], enable: bool) -> Result<MonitoringChange> {
        self.update(key, |stream, record, now| {
            Self::require_active(stream, record, now)?;
            let current: Vec<String> = record.metrics.iter().cloned().collect();
            let names: Vec<String> = if metrics.iter().any(|m| m == "ALL") {
                ALL_METRICS.iter().map(|s| s.to_string()).collect()
            } else {
                metrics.to_vec()
            };
            for m in names {
                if enable {
                    record.metrics.insert(m);
                } else {
                    record.metrics.remove(&m);
                }
            }
            Ok(MonitoringChange {
                current,
                desired: record.metrics.iter().cloned().collect(),
            })
        })
    }

    /// DescribeLimits.
    pub fn limits(&self, account: &str, region: &str) -> Limits {
        Limits {
            shard_limit: SHARD_LIMIT,
            open_shards: self.open_shards_in(account, region),
            on_demand_streams: self.on_demand_count(account, region),
            on_demand_limit: ON_DEMAND_STREAM_LIMIT,
        }
    }

    /// DescribeAccountSettings.
    pub fn account_settings(&self, account: &str) -> Result<AccountSettings> {
        let key = KeyBuf::new(ACCOUNT_SETTINGS).str(account).finish();
        match self.store.get(Cf::Meta, &key)? {
            Some(v) => serde_json::from_slice(&v).map_err(|e| corrupt(format!("account settings: {e}"))),
            None => Ok(AccountSettings::default()),
        }
    }

    /// UpdateAccountSettings.
    pub fn update_account_settings(&self, account: &str, enabled: bool) -> Result<AccountSettings> {
        let _admin = self.admin();
        let mut settings = self.account_settings(account)?;
        let now = self.now();
        if enabled && !settings.enabled {
            settings.started_ms = Some(now);
            settings.ended_ms = None;
        }
        if !enabled && settings.enabled {
            settings.ended_ms = Some(now);
        }
        settings.enabled = enabled;
        let key = KeyBuf::new(ACCOUNT_SETTINGS).str(account).finish();
        let value = serde_json::to_vec(&settings).map_err(|e| internal(format!("encode account settings: {e}")))?;
        let mut b = self.store.batch();
        b.put(Cf::Meta, &key, &value);
        self.store.commit(b)?;
        Ok(settings)
    }

    /// Deletes expired records of every stream by range and forgets deleted streams. Returns
    /// when the next record expires or a deleted stream's name frees up (epoch ms), at most
    /// [`MAX_SWEEP_INTERVAL_MS`] ahead.
    pub fn sweep(&self) -> Result<u64> {
        let now = self.now();
        let mut next = now + MAX_SWEEP_INTERVAL_MS;
        let streams: Vec<Arc<Stream>> = self
            .registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
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

/// Epoch ms as AWS prints it in iterator-expiry messages.
fn fmt_ms(ms: u64) -> String {
    ms.to_string()
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
