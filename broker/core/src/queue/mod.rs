//! Standard queues: the registry of queues, each queue's live state, and (in the files below)
//! every queue operation.
//!
//! # Parts
//! - [`Queues`] (here): the registry (per (account, region, name)), opening and loading queues
//!   from the store, lookups, sequence reservation (`Queue::take_seq`), and the helpers the
//!   operation files share; its operations are `impl Queues` blocks in:
//!   - `lifecycle`: create, delete, list, dead-letter sources, purge.
//!   - `attributes`: attributes, policy, tags, permissions.
//!   - `send`: send, send batch, SNS fan-out.
//!   - `receive`: receive, long polling, moves to the dead-letter queue, shutdown of polls.
//!   - `visibility`: delete message, change visibility.
//!   - `sweep`: the retention sweeper.
//!   - `movetask`: message move tasks (dead-letter redrive).
//!   - `peek`: reading messages without receiving them, and deleting one by position (the
//!     console).
//!   - `overview`: every queue of an account and region with its depth and traffic (the
//!     console).
//! - `index`: per-queue visibility index (ready / pending), a cache rebuilt at start-up, with
//!   at most [`QueueOptions::hot_messages`] messages in memory and a cold tail on disk.
//! - `spill`: the disk side of the cold tail (refills, expiry, the start-up count, recounts).
//! - `message`: public message types and their disk encodings.
//! - `config`: settable attributes, names, validation.
//! - `error`: [`QueueError`], what went wrong in a queue operation.
//! - `receipt`: receipt handles.
//!
//! # Invariants
//! - A message is inserted into the index only after its write batch committed, so a consumer
//!   never sees a message that a crash could lose.
//! - Each operation commits one write batch. In-memory state changes for receives happen under the
//!   queue's lock, the commit outside it; a crash before the commit only makes a message visible
//!   again (at-least-once), never loses one.
//! - Queue ids are never reused, so stale keys of a deleted queue can never be read as another's.

pub mod config;
pub mod error;
pub mod fifo;
pub mod index;
pub mod message;
pub mod movetask;
pub mod overview;
pub mod peek;
pub mod receipt;

mod attributes;
mod lifecycle;
mod order;
mod receive;
mod send;
mod spill;
mod sweep;
mod visibility;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sluice_storage::key::{self, KeyBuf};
use sluice_storage::{Cf, Store};
use tokio::sync::Notify;

pub use self::error::QueueError;
use self::error::Result;
use crate::clock::Clock;
use config::{QueueConfig, RedriveAllow};
use fifo::Attempts;
use index::{MessageIndex, MsgMeta};
use message::{message_key, queue_prefix, StoredPayload, StoredState};
use order::FifoSends;

/// Key prefix of queue records in `meta`.
const QUEUE_RECORD_PREFIX: u8 = 0x01;
/// Key of the queue id counter in `meta`.
const QUEUE_ID_COUNTER: u8 = 0x02;
/// Key prefix of per-queue sequence reservations in `meta`.
const SEQ_MARK_PREFIX: u8 = 0x03;
/// Sequences are reserved durably in blocks of this size, so they never repeat after a restart
/// (receipt handles and FIFO sequence numbers rely on that) at one small write per block
/// (see `Queue::take_seq`).
const SEQ_BLOCK: u64 = 1 << 20;

fn seq_mark_key(queue_id: u64) -> Vec<u8> {
    KeyBuf::new(SEQ_MARK_PREFIX).u64(queue_id).finish()
}

/// How many messages of one queue the index keeps in memory by default: about 10 MB.
pub const DEFAULT_HOT_MESSAGES: usize = 65_536;

/// Settings of the queue service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueOptions {
    /// Most messages of one queue held in memory; never-received messages beyond stay on disk
    /// only until receives drain the queue (see `index`).
    pub hot_messages: usize,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            hot_messages: DEFAULT_HOT_MESSAGES,
        }
    }
}

/// Longest total visibility of one receive (12 hours), per the SQS quotas page.
const MAX_VISIBILITY_MS: u64 = 43_200_000;
/// How long a deleted queue's name stays blocked, and the minimum time between purges.
const SIXTY_SECONDS_MS: u64 = 60_000;
/// Most tags per queue.
const MAX_TAGS: usize = 50;

/// Names a queue: AWS namespaces queues by account and region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueKey {
    /// Owning account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Queue name.
    pub name: String,
}

impl QueueKey {
    /// Builds a key.
    pub fn new(account: impl Into<String>, region: impl Into<String>, name: impl Into<String>) -> QueueKey {
        QueueKey {
            account: account.into(),
            region: region.into(),
            name: name.into(),
        }
    }

    /// The queue an ARN names (`arn:aws:sqs:{region}:{account}:{name}`), if it names one.
    pub fn from_arn(arn: &str) -> Option<QueueKey> {
        let (region, account, name) = crate::arn::split(arn, "sqs")?;
        Some(QueueKey::new(account, region, name))
    }

    /// The queue's ARN.
    pub fn arn(&self) -> String {
        format!("arn:aws:sqs:{}:{}:{}", self.region, self.account, self.name)
    }

    fn record_key(&self) -> Vec<u8> {
        KeyBuf::new(QUEUE_RECORD_PREFIX)
            .str(&self.account)
            .str(&self.region)
            .str(&self.name)
            .finish()
    }
}

/// Parameters of one ReceiveMessage call, validated by the wire layer.
#[derive(Debug, Clone, Default)]
pub struct ReceiveRequest {
    /// 1-10.
    pub max_messages: u32,
    /// Overrides the queue's visibility timeout.
    pub visibility_timeout: Option<u32>,
    /// Overrides the queue's ReceiveMessageWaitTimeSeconds.
    pub wait_seconds: Option<u32>,
    /// FIFO: a retry with the same id inside five minutes returns the same messages.
    pub attempt_id: Option<String>,
}

/// One ChangeMessageVisibility entry.
#[derive(Debug, Clone)]
pub struct VisibilityChange {
    /// Receipt handle of the message.
    pub receipt_handle: String,
    /// New timeout in seconds from now.
    pub timeout_seconds: u32,
}

/// One queue's depth, for metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStats {
    /// The queue.
    pub key: QueueKey,
    /// Visible messages.
    pub visible: u64,
    /// Received and not visible again yet.
    pub in_flight: u64,
    /// Delayed, never received.
    pub delayed: u64,
    /// Age of the oldest message, ms (0 when empty).
    pub oldest_age_ms: u64,
    /// Some queue's RedrivePolicy names this queue.
    pub dead_letter: bool,
}

/// A page of queue names.
#[derive(Debug, Clone, Default)]
pub struct QueuePage {
    /// Names in this page.
    pub names: Vec<String>,
    /// Token for the next page.
    pub next_token: Option<String>,
}

/// What is persisted per queue in `meta`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct QueueRecord {
    id: u64,
    created_ms: u64,
    modified_ms: u64,
    config: QueueConfig,
    tags: BTreeMap<String, String>,
}

struct QueueMeta {
    record: QueueRecord,
    last_purge_ms: Option<u64>,
}

/// One live queue.
struct Queue {
    id: u64,
    key: QueueKey,
    fifo: bool,
    meta: Mutex<QueueMeta>,
    index: Mutex<MessageIndex>,
    /// FIFO: the send lock, held from sequence assignment to the batch's submission, over the
    /// commits in flight and the deduplication ids they took (see `order`).
    sends: Mutex<FifoSends>,
    /// FIFO: signalled whenever commits leave `sends`' line.
    settled: Condvar,
    /// FIFO: answered receive attempts.
    attempts: Mutex<Attempts>,
    next_seq: AtomicU64,
    /// Sequences below this are durably reserved: the reservation's commit has returned.
    seq_reserved: AtomicU64,
    /// Held while a block reservation commits, so reservations commit one at a time and in
    /// increasing order.
    seq_reserve: Mutex<()>,
    /// Sequences handed out whose message is not in the index yet: its batch may have
    /// committed, so a read of the cold tail (`spill`) must pass over them rather than take
    /// the message before its sender indexes it. A sequence whose commit failed stays here;
    /// it is on no disk, so it only costs its few bytes.
    unindexed: Mutex<BTreeSet<u64>>,
    notify: Notify,
    deleted: AtomicBool,
    /// Messages sent, received and deleted since the broker started (the console's rates).
    traffic: overview::QueueTraffic,
}

impl Queue {
    fn new(id: u64, key: QueueKey, record: QueueRecord, index: MessageIndex, next_seq: u64) -> Queue {
        Queue {
            id,
            key,
            fifo: record.config.fifo_queue,
            meta: Mutex::new(QueueMeta {
                record,
                last_purge_ms: None,
            }),
            index: Mutex::new(index),
            sends: Mutex::new(FifoSends::default()),
            settled: Condvar::new(),
            attempts: Mutex::new(Attempts::default()),
            next_seq: AtomicU64::new(next_seq),
            seq_reserved: AtomicU64::new(next_seq),
            seq_reserve: Mutex::new(()),
            unindexed: Mutex::new(BTreeSet::new()),
            notify: Notify::new(),
            deleted: AtomicBool::new(false),
            traffic: overview::QueueTraffic::default(),
        }
    }

    /// Takes the next sequence. It is returned only once a durable reservation covers it, so
    /// a restart after a crash at any point starts above every sequence ever handed out.
    ///
    /// Why the reservation is its own commit, made before any sequence of its block is used,
    /// rather than riding in the batch of the message that enters the block (issue 14): sends
    /// run concurrently and their batches commit in any order. Sender A takes the block's
    /// first sequence (its batch carries the reservation), sender B the next one; B commits,
    /// its message is received and deleted, and the process dies before A's batch lands. No
    /// trace of B's sequence is left, the restart begins below it, and B's old receipt handle
    /// names the next message that gets that sequence. Here no sequence exists before the
    /// mark covering it is in the write-ahead log; the WAL is replayed in order, so any
    /// message batch that survives a crash has its (earlier) reservation with it. Marks are
    /// committed one at a time under `seq_reserve` and only grow, so the stored mark is the
    /// highest. The cost is one small synchronous write per `SEQ_BLOCK` (2^20) sequences; the
    /// hot path is an atomic add and a load.
    fn take_seq(&self, store: &Store) -> Result<u64> {
        let seq = self.reserve_seq(store)?;
        self.unindexed().insert(seq);
        Ok(seq)
    }

    /// Marks sequences from `take_seq` as indexed (or given up): cold-tail reads may see them.
    fn indexed(&self, seqs: impl IntoIterator<Item = u64>) {
        let mut unindexed = self.unindexed();
        for seq in seqs {
            unindexed.remove(&seq);
        }
    }

    fn unindexed(&self) -> MutexGuard<'_, BTreeSet<u64>> {
        self.unindexed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `take_seq` without the registration in `unindexed`.
    fn reserve_seq(&self, store: &Store) -> Result<u64> {
        let seq = self.next_seq.fetch_add(1, Ordering::AcqRel);
        if seq < self.seq_reserved.load(Ordering::Acquire) {
            return Ok(seq);
        }
        let _reserving = self.seq_reserve.lock().unwrap_or_else(|p| p.into_inner());
        // Another sender may have reserved past `seq` while this one waited for the lock.
        if seq < self.seq_reserved.load(Ordering::Acquire) {
            return Ok(seq);
        }
        // Blocks end on the grid of SEQ_BLOCK from 1, whatever sequence triggers the
        // reservation (a burnt one, a race for the lock), so that start-up's estimate of a
        // backlog (`stored_between`) finds one run per block.
        let upto = (seq.saturating_sub(1) / SEQ_BLOCK + 1).saturating_mul(SEQ_BLOCK) + 1;
        let mut batch = store.batch();
        batch.put(Cf::Meta, &seq_mark_key(self.id), &upto.to_be_bytes());
        // On failure `seq` is burnt (never stored) and the next caller tries to reserve again.
        store.commit(batch)?;
        self.seq_reserved.store(upto, Ordering::Release);
        Ok(seq)
    }

    fn fifo_sends(&self) -> MutexGuard<'_, FifoSends> {
        self.sends.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn attempts(&self) -> MutexGuard<'_, Attempts> {
        self.attempts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn meta(&self) -> MutexGuard<'_, QueueMeta> {
        self.meta.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn index(&self) -> MutexGuard<'_, MessageIndex> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn config(&self) -> QueueConfig {
        self.meta().record.config.clone()
    }
}

/// The queue registry and operations.
pub struct Queues {
    store: Arc<Store>,
    clock: Clock,
    registry: RwLock<HashMap<QueueKey, Arc<Queue>>>,
    next_queue_id: AtomicU64,
    recently_deleted: Mutex<HashMap<QueueKey, u64>>,
    /// Serialises create/delete/attribute changes so existence checks and commits agree.
    admin: Mutex<()>,
    /// Wakes the retention sweeper when retention settings change.
    sweeper: Notify,
    /// Set at shutdown: open long polls answer at once (empty) so the drain is quick.
    shutting_down: AtomicBool,
    /// Message move tasks (dead-letter redrive).
    move_tasks: Mutex<movetask::MoveTasks>,
    options: QueueOptions,
}

impl Queues {
    /// Loads every queue and rebuilds the in-memory indexes from storage, with default options.
    pub fn open(store: Arc<Store>, clock: Clock) -> Result<Queues> {
        Queues::open_with(store, clock, QueueOptions::default())
    }

    /// Loads every queue and rebuilds the in-memory indexes from storage.
    pub fn open_with(store: Arc<Store>, clock: Clock, options: QueueOptions) -> Result<Queues> {
        let now = clock.now_ms();
        let mut registry = HashMap::new();
        let mut max_id = store
            .get(Cf::Meta, &[QUEUE_ID_COUNTER])?
            .and_then(|v| key::read_u64(&v, 0))
            .unwrap_or(0);
        for (k, v) in store.scan_prefix(Cf::Meta, &[QUEUE_RECORD_PREFIX])? {
            let qkey = decode_record_key(&k)
                .ok_or_else(|| sluice_storage::StorageError::Corrupt("bad queue record key".into()))?;
            let record: QueueRecord = serde_json::from_slice(&v)
                .map_err(|e| sluice_storage::StorageError::Corrupt(format!("queue record {}: {e}", qkey.name)))?;
            max_id = max_id.max(record.id);
            let queue = load_queue(&store, qkey.clone(), record, options.hot_messages, now)?;
            registry.insert(qkey, Arc::new(queue));
        }
        let move_tasks = movetask::MoveTasks::load(&store)?;
        Ok(Queues {
            store,
            clock,
            registry: RwLock::new(registry),
            next_queue_id: AtomicU64::new(max_id + 1),
            recently_deleted: Mutex::new(HashMap::new()),
            admin: Mutex::new(()),
            sweeper: Notify::new(),
            shutting_down: AtomicBool::new(false),
            move_tasks: Mutex::new(move_tasks),
            options,
        })
    }

    fn admin(&self) -> MutexGuard<'_, ()> {
        self.admin.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lookup(&self, key: &QueueKey) -> Result<Arc<Queue>> {
        let registry = self.registry.read().unwrap_or_else(|p| p.into_inner());
        registry.get(key).cloned().ok_or(QueueError::QueueDoesNotExist)
    }

    fn lookup_arn(&self, arn: &str) -> Option<Arc<Queue>> {
        self.lookup(&QueueKey::from_arn(arn)?).ok()
    }

    /// Fails with QueueDoesNotExist unless the queue exists.
    pub fn ensure_exists(&self, key: &QueueKey) -> Result<()> {
        self.lookup(key).map(|_| ())
    }

    /// Checks the dead-letter relationships of `config` for the queue `source`.
    fn check_redrive(&self, source: &QueueKey, config: &QueueConfig) -> Result<()> {
        let Some(policy) = &config.redrive_policy else {
            return Ok(());
        };
        let reason = |r: &str| {
            QueueError::InvalidAttributeValue(format!("Invalid value for the parameter RedrivePolicy. Reason: {r}"))
        };
        let target = self
            .lookup_arn(&policy.dead_letter_target_arn)
            .ok_or_else(|| reason("Dead letter target does not exist."))?;
        if target.key.account != source.account || target.key.region != source.region {
            return Err(reason(
                "Dead-letter target must be in the same account and region as the source queue.",
            ));
        }
        if target.fifo != config.fifo_queue {
            return Err(reason(
                "Dead-letter queue must be of the same type as the source queue: FIFO for a FIFO queue, standard for a standard queue.",
            ));
        }
        let source_arn = source.arn();
        let allow = target.config().redrive_allow_policy.map(|(_, allow)| allow);
        match allow {
            Some(RedriveAllow::DenyAll) => Err(reason(
                "Dead-letter target's RedriveAllowPolicy does not allow this source queue.",
            )),
            Some(RedriveAllow::ByQueue(arns)) if !arns.contains(&source_arn) => Err(reason(
                "Dead-letter target's RedriveAllowPolicy does not allow this source queue.",
            )),
            _ => Ok(()),
        }
    }

    fn persist(&self, key: &QueueKey, record: &QueueRecord, batch: &mut sluice_storage::Batch<'_>) -> Result<()> {
        // Encoding is not a disk read: a failure is internal, not corruption.
        let value =
            serde_json::to_vec(record).map_err(|e| QueueError::Internal(format!("encode queue record: {e}")))?;
        batch.put(Cf::Meta, &key.record_key(), &value);
        Ok(())
    }

    /// Every registered queue, taken out of the registry lock so callers can work on each
    /// without holding it.
    fn snapshot(&self) -> Vec<Arc<Queue>> {
        let registry = self.registry.read().unwrap_or_else(|p| p.into_inner());
        registry.values().cloned().collect()
    }

    /// Depth figures of up to `limit` queues (by account, region and name) for metrics, and how
    /// many queues were left out.
    pub fn stats(&self, limit: usize) -> (Vec<QueueStats>, usize) {
        let mut queues: Vec<Arc<Queue>> = self.snapshot();
        let dead_letter_targets: std::collections::HashSet<String> = queues
            .iter()
            .filter_map(|q| q.config().redrive_policy.map(|p| p.dead_letter_target_arn))
            .collect();
        queues.sort_by(|a, b| a.key.cmp(&b.key));
        let omitted = queues.len().saturating_sub(limit);
        let now = self.clock.now_ms();
        let stats = queues
            .iter()
            .take(limit)
            .map(|q| {
                let index = q.index();
                let counts = index.counts(now);
                QueueStats {
                    key: q.key.clone(),
                    visible: counts.visible,
                    in_flight: counts.in_flight,
                    delayed: counts.delayed,
                    oldest_age_ms: index.oldest_sent_ms().map_or(0, |sent| now.saturating_sub(sent)),
                    dead_letter: dead_letter_targets.contains(&q.key.arn()),
                }
            })
            .collect();
        (stats, omitted)
    }

    /// Number of queues.
    pub fn len(&self) -> usize {
        self.registry.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// True when there is no queue.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Longest a long poll may take (used by the server's shutdown drain).
    pub const MAX_WAIT: Duration = Duration::from_secs(20);
}

impl StoredState {
    fn from_meta(meta: &MsgMeta) -> StoredState {
        StoredState {
            visible_at_ms: meta.visible_at_ms,
            receive_count: meta.receive_count,
            first_receive_ms: meta.first_receive_ms,
            last_receive_ms: meta.last_receive_ms,
            nonce: meta.nonce,
        }
    }
}

fn validate_tags(tags: &BTreeMap<String, String>) -> Result<()> {
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 {
            return Err(QueueError::InvalidParameterValue(format!(
                "Tag keys must be between 1 and 128 characters: {k}"
            )));
        }
        if v.chars().count() > 256 {
            return Err(QueueError::InvalidParameterValue(format!(
                "Tag values must be at most 256 characters: {k}"
            )));
        }
        if k.starts_with("aws:") {
            return Err(QueueError::InvalidParameterValue(
                "Tag keys must not start with aws:".into(),
            ));
        }
    }
    Ok(())
}

fn decode_record_key(k: &[u8]) -> Option<QueueKey> {
    let mut rest = k.get(1..)?;
    let mut field = || -> Option<String> {
        let len = u16::from_be_bytes(rest.get(..2)?.try_into().ok()?) as usize;
        let s = String::from_utf8(rest.get(2..2 + len)?.to_vec()).ok()?;
        rest = &rest[2 + len..];
        Some(s)
    };
    let account = field()?;
    let region = field()?;
    let name = field()?;
    Some(QueueKey { account, region, name })
}

/// The highest sequence of queue `id` stored at or below `seq`: one seek.
fn last_stored_at_or_before(store: &Store, id: u64, seq: u64) -> Result<Option<u64>> {
    let prefix = queue_prefix(id);
    let found = store.last_key_at_or_before(Cf::QueueMsgs, &message_key(id, seq))?;
    Ok(found
        .filter(|k| k.starts_with(&prefix))
        .and_then(|k| key::read_u64(&k, prefix.len())))
}

/// The lowest sequence of queue `id` stored at or above `seq`: one seek.
fn first_stored_at_or_after(store: &Store, id: u64, seq: u64) -> Result<Option<u64>> {
    let prefix = queue_prefix(id);
    let mut found = None;
    store.for_each_near(Cf::QueueMsgs, &message_key(id, seq), |k, _| {
        found = k.starts_with(&prefix).then(|| key::read_u64(k, prefix.len())).flatten();
        false
    })?;
    Ok(found)
}

/// At least how many messages of queue `id` are stored in `lo..=hi`, from two seeks per block
/// of [`SEQ_BLOCK`] sequences holding any, instead of a read of each message. Sequences are
/// reserved in such blocks (see `Queue::reserve_seq`), and a restart leaves the rest of its
/// block unused: each block holds one run of sequences, so the span from a block's first
/// stored sequence to its last is exact but for messages deleted inside it.
fn stored_between(store: &Store, id: u64, lo: u64, hi: u64) -> Result<u64> {
    let mut total = 0;
    let mut next = first_stored_at_or_after(store, id, lo.max(1))?;
    while let Some(first) = next.filter(|first| *first <= hi) {
        let end = ((first - 1) / SEQ_BLOCK + 1).saturating_mul(SEQ_BLOCK).min(hi);
        if let Some(last) = last_stored_at_or_before(store, id, end)? {
            total += last.saturating_sub(first) + 1;
        }
        if end >= hi {
            break;
        }
        // Empty blocks cost nothing: the next seek lands on the next stored sequence.
        next = first_stored_at_or_after(store, id, end + 1)?;
    }
    Ok(total)
}

/// Indexes one stored message at start-up, with its receive state if it has one.
fn index_stored(
    index: &mut MessageIndex,
    queue: &QueueKey,
    seq: u64,
    payload: &[u8],
    state: Option<StoredState>,
    now: u64,
) {
    match StoredPayload::decode(payload) {
        Ok(p) => {
            let meta = match state {
                Some(s) => MsgMeta {
                    sent_ms: p.sent_ms,
                    visible_at_ms: s.visible_at_ms,
                    receive_count: s.receive_count,
                    first_receive_ms: s.first_receive_ms,
                    last_receive_ms: s.last_receive_ms,
                    nonce: s.nonce,
                },
                None => MsgMeta::new(p.sent_ms, p.initial_visible_at_ms),
            };
            index.insert(seq, meta, p.group_id.as_deref(), now);
        }
        Err(e) => tracing::error!(queue = %queue.name, seq, error = %e, "skipping undecodable message"),
    }
}

fn load_queue(store: &Store, key: QueueKey, record: QueueRecord, hot_messages: usize, now: u64) -> Result<Queue> {
    let prefix = queue_prefix(record.id);
    let mut states: BTreeMap<u64, StoredState> = BTreeMap::new();
    for (k, v) in store.scan_prefix(Cf::QueueState, &prefix)? {
        if let Some(seq) = key::read_u64(&k, prefix.len()) {
            states.insert(seq, StoredState::decode(&v)?);
        }
    }
    let mut index = MessageIndex::with_hot_limit(record.config.fifo_queue, hot_messages);
    let mut max_seq = 0;
    let mut first_cold = None;
    // The hot part, up to the first cold message; the rest is counted in the background
    // (`Queues::run_cold_count`), so a backlog of millions does not delay start-up.
    store.for_each_prefix(Cf::QueueMsgs, &prefix, |k, v| {
        let Some(seq) = key::read_u64(k, prefix.len()) else {
            return true;
        };
        max_seq = seq;
        index_stored(&mut index, &key, seq, v, states.remove(&seq), now);
        if index.cold_from().is_some() {
            first_cold = Some(seq);
            return false;
        }
        true
    })?;
    if let Some(first) = first_cold {
        // Received messages past the tail's start stay hot; never-received ones are cold
        // like the rest (their state is not stale).
        let beyond: Vec<(u64, StoredState)> = states.split_off(&(first + 1)).into_iter().collect();
        for (seq, state) in beyond {
            if state.receive_count == 0 {
                continue;
            }
            match store.get(Cf::QueueMsgs, &message_key(record.id, seq))? {
                Some(payload) => index_stored(&mut index, &key, seq, &payload, Some(state), now),
                None => {
                    states.insert(seq, state);
                }
            }
        }
        max_seq = last_stored_at_or_before(store, record.id, u64::MAX)?.unwrap_or(first);
        let stored = stored_between(store, record.id, first + 1, max_seq)?;
        index.defer_count(first + 1, max_seq, stored);
    }
    let mut cleanup = store.batch();
    // A state without a payload is left over from a delete racing a receive; drop it.
    for seq in states.keys() {
        cleanup.delete(Cf::QueueState, &message_key(record.id, *seq));
    }
    store.commit(cleanup)?;
    let reserved = store
        .get(Cf::Meta, &seq_mark_key(record.id))?
        .and_then(|v| key::read_u64(&v, 0))
        .unwrap_or(0);
    let queue = Queue::new(record.id, key, record, index, reserved.max(max_seq + 1));
    Ok(queue)
}

#[cfg(test)]
pub(crate) mod fifo_log_tests;
#[cfg(test)]
mod fifo_model_tests;
#[cfg(test)]
mod fifo_tests;
#[cfg(test)]
mod spill_tests;
#[cfg(test)]
mod tests;
