//! Lambda-style functions: their configuration, the event-source mappings that feed them, and
//! the invocation queues their handlers take work from.
//!
//! Sluice never runs a function's uploaded code. A function is a configuration plus an
//! invocation queue: callers (Invoke, the event-source pollers) put invocations in, and the
//! user's handler processes take them out through the Runtime API, the same protocol AWS's
//! runtime interface clients speak, so handlers run unchanged.
//!
//! # Layout
//! - This file: [`Functions`], the registry of functions and mappings persisted in `meta`,
//!   loading at open, the keys, records and views the operations share.
//! - `lifecycle`: CreateFunction, Get, List, UpdateFunctionConfiguration/Code, Delete, tags.
//! - `mapping`: the event-source mapping operations and their per-source rules.
//! - `policy`: the resource-based policy: AddPermission, RemovePermission, GetPolicy (kept,
//!   rendered as AWS does, never evaluated).
//! - [`invocation`]: a function's invocation queue: invoke, next, respond, fail, deadlines.
//! - [`error`]: [`FunctionError`], mapped to Lambda codes by the server.
//!
//! # Invariants
//! - In-memory functions and mappings mirror `meta`; every change commits before it shows.
//! - Invocation queues are memory only: what feeds them durably is the source (a queue's
//!   message stays until its handler succeeded; a stream's checkpoint moves after success).

mod async_invoke;
pub mod error;
pub mod events;
pub mod invocation;
mod lifecycle;
mod mapping;
mod policy;
mod poller;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

use serde::{Deserialize, Serialize};
use sluice_storage::key::KeyBuf;
use sluice_storage::{Cf, Store};

use crate::clock::Clock;
use crate::queue::Queues;
use crate::stream::Streams;
use crate::topic::Topics;
pub use error::{FunctionError, Result};
pub use invocation::{Hub, Invocation, Outcome, Slot};
pub use lifecycle::SettingsUpdate;
pub use mapping::{stream_key, MappingSpec, MappingUpdate, Owner, SourceKind, StartingPosition};
pub use policy::{Permission, Policy, PolicyError, Principal, MAX_POLICY_BYTES};
pub use poller::PollerSettings;

/// Meta key prefix of function records: account | region | name.
const FUNCTION_PREFIX: u8 = 0x80;
/// Meta key prefix of event-source mapping records: uuid.
const MAPPING_PREFIX: u8 = 0x81;
/// Meta key prefix of stream mappings' checkpoints: uuid | shard id.
const CHECKPOINT_PREFIX: u8 = 0x82;

/// Names a function: AWS namespaces functions by account and region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FunctionKey {
    /// Owning account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Function name.
    pub name: String,
}

impl FunctionKey {
    /// Builds a key.
    pub fn new(account: impl Into<String>, region: impl Into<String>, name: impl Into<String>) -> FunctionKey {
        FunctionKey {
            account: account.into(),
            region: region.into(),
            name: name.into(),
        }
    }

    /// Parses `arn:aws:lambda:{region}:{account}:function:{name}`, bare or with the only
    /// qualifier Sluice keeps, `$LATEST`.
    pub fn from_arn(arn: &str) -> Option<FunctionKey> {
        let (region, account, resource) = crate::arn::split(arn, "lambda")?;
        let mut parts = resource.split(':');
        let (kind, name, qualifier, rest) = (parts.next(), parts.next()?, parts.next(), parts.next());
        let valid =
            kind == Some("function") && !name.is_empty() && qualifier.is_none_or(|q| q == "$LATEST") && rest.is_none();
        valid.then(|| FunctionKey::new(account, region, name))
    }

    /// The function's unqualified ARN.
    pub fn arn(&self) -> String {
        format!("arn:aws:lambda:{}:{}:function:{}", self.region, self.account, self.name)
    }

    fn record_key(&self) -> Vec<u8> {
        KeyBuf::new(FUNCTION_PREFIX)
            .str(&self.account)
            .str(&self.region)
            .str(&self.name)
            .finish()
    }
}

/// A deployment package as the client uploaded it (Sluice keeps its digest, not its bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// A zip file.
    Zip(Vec<u8>),
    /// A container image URI.
    Image(String),
}

/// What a client sets of a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionSettings {
    /// Runtime identifier (`python3.12`); `None` for images.
    pub runtime: Option<String>,
    /// Execution role ARN.
    pub role: String,
    /// Handler (`app.handler`); `None` for images.
    pub handler: Option<String>,
    /// Description.
    pub description: String,
    /// Seconds an invocation may run.
    pub timeout_secs: u32,
    /// Memory in MB (reported to handlers as AWS_LAMBDA_FUNCTION_MEMORY_SIZE).
    pub memory_mb: u32,
    /// Environment variables.
    pub environment: BTreeMap<String, String>,
    /// Where failed asynchronous invocations go (an SQS queue or SNS topic ARN).
    pub dead_letter_target: Option<String>,
    /// `x86_64` or `arm64`.
    pub architecture: String,
}

/// What is persisted per function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionRecord {
    /// The client's settings.
    pub settings: FunctionSettings,
    /// `Zip` or `Image`.
    pub package_type: String,
    /// Base64 SHA-256 of the package (of the image URI for images).
    pub code_sha256: String,
    /// Bytes in the package.
    pub code_size: u64,
    /// The image, for `Image` functions.
    pub image_uri: Option<String>,
    /// Epoch ms of the last change.
    pub last_modified_ms: u64,
    /// Changes with every change; UpdateFunctionConfiguration may require it.
    pub revision_id: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// The port of the function's Runtime API listener (the server picks it at creation and
    /// keeps it across restarts, so handlers started with it reconnect).
    #[serde(default)]
    pub runtime_port: u16,
    /// The resource-based policy's grants, in the order they were added (`policy`). Kept in
    /// the record so the policy persists, replicates and is deleted with the function; records
    /// written before policies existed read as having none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<Permission>,
}

/// A function as reads report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionView {
    /// Its key.
    pub key: FunctionKey,
    /// Its record.
    pub record: FunctionRecord,
}

/// What is persisted per event-source mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MappingRecord {
    /// Identifier (lowercase UUID).
    pub uuid: String,
    /// The mapping's own account and region (the function's).
    pub function: FunctionKey,
    /// The source's ARN.
    pub source_arn: String,
    /// Queue or stream.
    pub kind: SourceKind,
    /// Whether its poller runs.
    pub enabled: bool,
    /// Most records per batch.
    pub batch_size: u32,
    /// Seconds to gather a batch.
    pub batching_window_secs: u32,
    /// Streams: concurrent batches per shard.
    pub parallelization: u32,
    /// Streams: where reading starts.
    pub starting_position: Option<StartingPosition>,
    /// Streams: failure destination ARN.
    pub on_failure: Option<String>,
    /// Streams: oldest record still sent, -1 for no limit.
    pub max_record_age_secs: i64,
    /// Streams: split a failing batch.
    pub bisect_on_error: bool,
    /// Streams: retries of a failing batch, -1 until the records expire.
    pub max_retries: i64,
    /// `ReportBatchItemFailures`.
    pub report_item_failures: bool,
    /// Event patterns, JSON text; a record passes when any matches.
    pub filters: Vec<String>,
    /// SQS: concurrency cap.
    pub max_concurrency: Option<u32>,
    /// Epoch ms of the last change.
    pub last_modified_ms: u64,
    /// Epoch ms of the creation (where `LATEST` starts).
    #[serde(default)]
    pub created_ms: u64,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// Where a stream mapping stands in one shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Checkpoint {
    /// Every record up to and including this sequence number is handled.
    After(String),
    /// The shard is closed and read to its end.
    Done,
}

/// A mapping's traffic since the broker started, for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingStats {
    /// Invocations made.
    pub invocations: u64,
    /// Invocations that failed (an error, a timeout, reported item failures).
    pub errors: u64,
    /// Records delivered (retries counted again).
    pub records: u64,
    /// Streams: how old the newest record of the last batch was when it was delivered, ms.
    pub iterator_age_ms: u64,
}

impl MappingRecord {
    /// The mapping's ARN.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{}:event-source-mapping:{}",
            self.function.region, self.function.account, self.uuid
        )
    }

    fn record_key(uuid: &str) -> Vec<u8> {
        KeyBuf::new(MAPPING_PREFIX).str(uuid).finish()
    }
}

/// A mapping as reads report it: the record and its live state.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingView {
    /// The record.
    pub record: MappingRecord,
    /// `Creating`, `Enabled`, `Disabled`, `Updating`, `Enabling`, `Disabling`, `Deleting`.
    pub state: &'static str,
    /// The outcome of the last batch, when one ran.
    pub last_result: Option<String>,
}

/// A page of a list.
#[derive(Debug, Clone, Default)]
pub struct Page<T> {
    /// Items in this page.
    pub items: Vec<T>,
    /// Marker of the next page.
    pub next_marker: Option<String>,
}

/// The registry of functions and mappings, and the functions' invocation queues.
pub struct Functions {
    store: Arc<Store>,
    clock: Clock,
    queues: Arc<Queues>,
    streams: Arc<Streams>,
    topics: Arc<Topics>,
    functions: RwLock<BTreeMap<FunctionKey, FunctionRecord>>,
    mappings: RwLock<BTreeMap<String, MappingRecord>>,
    /// Per mapping: the outcome of its last batch (memory only, as on AWS it is advisory).
    last_results: Mutex<HashMap<String, String>>,
    stats: Mutex<HashMap<String, MappingStats>>,
    /// The mappings whose poller runs now, as the supervisor last reported them.
    polling: Mutex<std::collections::HashSet<String>>,
    hubs: Mutex<HashMap<FunctionKey, Arc<Hub>>>,
    /// Serialises changes, so existence checks and commits agree.
    admin: Mutex<()>,
    /// The next sequence of a stored asynchronous invocation.
    event_seq: std::sync::atomic::AtomicU64,
    /// Wakes the asynchronous invoker when an event is stored.
    events_waiting: tokio::sync::Notify,
    /// Bumped on every mapping change, so the pollers' supervisor re-reads them.
    mapping_changes: tokio::sync::watch::Sender<u64>,
}

impl Functions {
    /// Loads every function and mapping from `store`.
    pub fn open(
        store: Arc<Store>,
        clock: Clock,
        queues: Arc<Queues>,
        streams: Arc<Streams>,
        topics: Arc<Topics>,
    ) -> Result<Functions> {
        let mut functions = BTreeMap::new();
        let mut failure = None;
        store.for_each_prefix(Cf::Meta, &[FUNCTION_PREFIX], |_, value| {
            match serde_json::from_slice::<(FunctionKey, FunctionRecord)>(value) {
                Ok((key, record)) => {
                    functions.insert(key, record);
                    true
                }
                Err(e) => {
                    failure = Some(format!("function record: {e}"));
                    false
                }
            }
        })?;
        let mut mappings = BTreeMap::new();
        store.for_each_prefix(Cf::Meta, &[MAPPING_PREFIX], |_, value| {
            match serde_json::from_slice::<MappingRecord>(value) {
                Ok(record) => {
                    mappings.insert(record.uuid.clone(), record);
                    true
                }
                Err(e) => {
                    failure = Some(format!("mapping record: {e}"));
                    false
                }
            }
        })?;
        if let Some(what) = failure {
            return Err(FunctionError::Storage(sluice_storage::StorageError::Corrupt(what)));
        }
        let mut next_event = 0;
        store.for_each_prefix(Cf::Meta, &[async_invoke::EVENT_PREFIX], |key, _| {
            next_event = sluice_storage::key::read_u64(key, 1).map_or(next_event, |seq| seq + 1);
            true
        })?;
        Ok(Functions {
            store,
            clock,
            queues,
            streams,
            topics,
            functions: RwLock::new(functions),
            mappings: RwLock::new(mappings),
            last_results: Mutex::new(HashMap::new()),
            stats: Mutex::new(HashMap::new()),
            polling: Mutex::new(std::collections::HashSet::new()),
            hubs: Mutex::new(HashMap::new()),
            admin: Mutex::new(()),
            mapping_changes: tokio::sync::watch::channel(0).0,
            event_seq: std::sync::atomic::AtomicU64::new(next_event),
            events_waiting: tokio::sync::Notify::new(),
        })
    }

    fn admin(&self) -> MutexGuard<'_, ()> {
        self.admin.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn functions(&self) -> RwLockReadGuard<'_, BTreeMap<FunctionKey, FunctionRecord>> {
        self.functions.read().unwrap_or_else(|p| p.into_inner())
    }

    fn mappings(&self) -> RwLockReadGuard<'_, BTreeMap<String, MappingRecord>> {
        self.mappings.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The invocation queue of `key`, created on first use (a function's queue outlives its
    /// deletion only as long as someone holds it).
    pub fn hub(&self, key: &FunctionKey) -> Arc<Hub> {
        let mut hubs = self.hubs.lock().unwrap_or_else(|p| p.into_inner());
        hubs.entry(key.clone())
            .or_insert_with(|| Arc::new(Hub::new(self.clock)))
            .clone()
    }

    /// The broker's clock now, epoch ms (deadlines of invocations are on it).
    pub fn clock_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// A receiver that changes whenever a mapping is created, updated or deleted.
    pub fn watch_mappings(&self) -> tokio::sync::watch::Receiver<u64> {
        self.mapping_changes.subscribe()
    }

    /// Every mapping, for the pollers' supervisor.
    pub fn all_mappings(&self) -> Vec<MappingRecord> {
        self.mappings().values().cloned().collect()
    }

    /// Records the outcome of a mapping's last batch (`OK`, `PROBLEM: ...`).
    pub fn set_last_result(&self, uuid: &str, result: impl Into<String>) {
        let mut results = self.last_results.lock().unwrap_or_else(|p| p.into_inner());
        results.insert(uuid.to_string(), result.into());
    }

    /// Records which mappings' pollers run, so reads report `Enabling` and `Disabling` until
    /// a change has taken effect, as AWS does.
    pub fn set_polling(&self, uuids: std::collections::HashSet<String>) {
        *self.polling.lock().unwrap_or_else(|p| p.into_inner()) = uuids;
    }

    fn is_polling(&self, uuid: &str) -> bool {
        self.polling.lock().unwrap_or_else(|p| p.into_inner()).contains(uuid)
    }

    /// Counts one invocation of `records` records by a mapping.
    pub fn count_batch(&self, uuid: &str, records: usize) {
        let mut stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        let s = stats.entry(uuid.to_string()).or_default();
        s.invocations += 1;
        s.records += records as u64;
    }

    /// Records a stream mapping's iterator age: the age of the last batch's newest record.
    pub fn set_iterator_age(&self, uuid: &str, age_ms: u64) {
        let mut stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        stats.entry(uuid.to_string()).or_default().iterator_age_ms = age_ms;
    }

    /// Counts one failed invocation of a mapping.
    pub fn count_error(&self, uuid: &str) {
        let mut stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        stats.entry(uuid.to_string()).or_default().errors += 1;
    }

    /// Every mapping with its function and traffic, for metrics.
    pub fn mapping_stats(&self) -> Vec<(MappingRecord, MappingStats)> {
        let stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        self.mappings()
            .values()
            .map(|m| (m.clone(), stats.get(&m.uuid).cloned().unwrap_or_default()))
            .collect()
    }

    /// A stream mapping's checkpoint in a shard; an unreadable one is an error, never "none"
    /// (which would replay the shard from the starting position).
    pub fn checkpoint(&self, uuid: &str, shard: &str) -> Result<Option<Checkpoint>> {
        let key = KeyBuf::new(CHECKPOINT_PREFIX).str(uuid).str(shard).finish();
        match self.store.get(Cf::Meta, &key)? {
            None => Ok(None),
            Some(value) => serde_json::from_slice(&value)
                .map(Some)
                .map_err(|e| FunctionError::Internal(format!("checkpoint of {uuid} in {shard}: {e}"))),
        }
    }

    /// Records a stream mapping's checkpoint in a shard; a failed write only means the batch
    /// is delivered again after a restart.
    pub fn save_checkpoint(&self, uuid: &str, shard: &str, checkpoint: &Checkpoint) {
        let key = KeyBuf::new(CHECKPOINT_PREFIX).str(uuid).str(shard).finish();
        let Ok(value) = encode(checkpoint) else { return };
        let mut batch = self.store.batch();
        batch.put(Cf::Meta, &key, &value);
        if let Err(e) = self.store.commit(batch) {
            tracing::warn!(mapping = uuid, shard, error = %e, "checkpoint not saved; the batch will be delivered again after a restart");
        }
    }

    /// Deletes a mapping's checkpoints in `batch`.
    fn delete_checkpoints(uuid: &str, batch: &mut sluice_storage::Batch<'_>) {
        let from = KeyBuf::new(CHECKPOINT_PREFIX).str(uuid).finish();
        let mut to = from.clone();
        to.push(0xff);
        batch.delete_range(Cf::Meta, &from, &to);
    }

    fn persist_function(&self, key: &FunctionKey, record: &FunctionRecord) -> Result<()> {
        let value = encode(&(key, record))?;
        let mut batch = self.store.batch();
        batch.put(Cf::Meta, &key.record_key(), &value);
        self.store.commit(batch)?;
        Ok(())
    }

    fn persist_mapping(&self, record: &MappingRecord) -> Result<()> {
        let value = encode(record)?;
        let mut batch = self.store.batch();
        batch.put(Cf::Meta, &MappingRecord::record_key(&record.uuid), &value);
        self.store.commit(batch)?;
        Ok(())
    }

    fn mapping_changed(&self) {
        self.mapping_changes.send_modify(|v| *v += 1);
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| FunctionError::Internal(format!("encode: {e}")))
}

/// Takes the page after `marker` (exclusive) of at most `max` items from `items`, sorted by
/// their marker strings.
fn paginate<T>(items: Vec<(String, T)>, marker: Option<&str>, max: usize) -> Page<T> {
    let mut rest: Vec<(String, T)> = items
        .into_iter()
        .filter(|(k, _)| marker.is_none_or(|m| k.as_str() > m))
        .collect();
    let more = rest.len() > max;
    rest.truncate(max);
    let next_marker = more.then(|| rest.last().map(|(k, _)| k.clone())).flatten();
    Page {
        items: rest.into_iter().map(|(_, v)| v).collect(),
        next_marker,
    }
}

#[cfg(test)]
mod tests;
