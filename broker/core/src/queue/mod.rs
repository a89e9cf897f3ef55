//! Standard queues: the registry of queues and every queue operation.
//!
//! # Parts
//! - [`Queues`]: the registry (per (account, region, name)) and the operations.
//! - `index`: per-queue visibility index (ready / pending), a cache rebuilt at start-up.
//! - `message`: public message types and their disk encodings.
//! - `config`: settable attributes, names, validation.
//! - `receipt`: receipt handles.
//!
//! # Invariants
//! - A message is inserted into the index only after its write batch committed, so a consumer
//!   never sees a message that a crash could lose.
//! - Each operation commits one write batch. In-memory state changes for receives happen under the
//!   queue's lock, the commit outside it; a crash before the commit only makes a message visible
//!   again (at-least-once), never loses one.
//! - Queue ids are never reused, so stale keys of a deleted queue can never be read as another's.

pub mod arn;
pub mod config;
pub mod fifo;
pub mod index;
pub mod message;
pub mod movetask;
pub mod receipt;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sluice_storage::key::{self, KeyBuf};
use sluice_storage::{Cf, Store};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::error::{BrokerError, Result};
use config::{DeduplicationScope, QueueConfig, RedriveAllow};
use fifo::{Attempt, Attempts, DedupEntry, DedupWindow};
use index::{Cursor, MessageIndex, MsgMeta};
use message::{message_key, queue_prefix, NewMessage, ReceivedMessage, SentMessage, StoredPayload, StoredState};
use receipt::Receipt;

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

    /// The queue's ARN.
    pub fn arn(&self) -> String {
        arn::queue_arn(&self.region, &self.account, &self.name)
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
    /// FIFO: the deduplication window. Its lock is also held from sequence assignment to index
    /// insertion of a send, so messages enter the index in sequence order (group order).
    dedupe: Mutex<DedupWindow>,
    /// FIFO: answered receive attempts.
    attempts: Mutex<Attempts>,
    next_seq: AtomicU64,
    /// Sequences below this are durably reserved: the reservation's commit has returned.
    seq_reserved: AtomicU64,
    /// Held while a block reservation commits, so reservations commit one at a time and in
    /// increasing order.
    seq_reserve: Mutex<()>,
    notify: Notify,
    deleted: AtomicBool,
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
            dedupe: Mutex::new(DedupWindow::default()),
            attempts: Mutex::new(Attempts::default()),
            next_seq: AtomicU64::new(next_seq),
            seq_reserved: AtomicU64::new(next_seq),
            seq_reserve: Mutex::new(()),
            notify: Notify::new(),
            deleted: AtomicBool::new(false),
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
        let seq = self.next_seq.fetch_add(1, Ordering::AcqRel);
        if seq < self.seq_reserved.load(Ordering::Acquire) {
            return Ok(seq);
        }
        let _reserving = self.seq_reserve.lock().unwrap_or_else(|p| p.into_inner());
        // Another sender may have reserved past `seq` while this one waited for the lock.
        if seq < self.seq_reserved.load(Ordering::Acquire) {
            return Ok(seq);
        }
        let upto = seq + SEQ_BLOCK;
        let mut batch = store.batch();
        batch.put(Cf::Meta, &seq_mark_key(self.id), &upto.to_be_bytes());
        // On failure `seq` is burnt (never stored) and the next caller tries to reserve again.
        store.commit(batch)?;
        self.seq_reserved.store(upto, Ordering::Release);
        Ok(seq)
    }

    fn dedupe(&self) -> MutexGuard<'_, DedupWindow> {
        self.dedupe.lock().unwrap_or_else(|p| p.into_inner())
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
}

/// A message handed out by one receive, with what a retry of the same attempt must match.
struct Delivered {
    message: ReceivedMessage,
    seq: u64,
    nonce: u64,
}

/// Builds the consumer's view of a stored message as of `meta`.
fn received_message(queue: &Queue, seq: u64, meta: &MsgMeta, payload: StoredPayload) -> Delivered {
    let message = ReceivedMessage {
        message_id: payload.message_id,
        receipt_handle: Receipt {
            queue_id: queue.id,
            seq,
            nonce: meta.nonce,
        }
        .encode(),
        body: payload.body,
        attributes: payload.attributes,
        system_attributes: payload.system_attributes,
        sent_timestamp_ms: payload.sent_ms,
        receive_count: meta.receive_count,
        first_receive_timestamp_ms: meta.first_receive_ms,
        sender_id: payload.sender_id,
        group_id: payload.group_id,
        deduplication_id: payload.deduplication_id,
        sequence_number: queue.fifo.then(|| fifo::sequence_number(seq)),
    };
    Delivered {
        message,
        seq,
        nonce: meta.nonce,
    }
}

/// The per-message rules that depend on the queue: size, delay, and the FIFO parameters.
fn check_message(config: &QueueConfig, msg: &NewMessage) -> Result<()> {
    let size = msg.body.len() + msg.attributes.iter().map(|(n, a)| a.size(n)).sum::<usize>();
    if size > config.maximum_message_size as usize {
        return Err(BrokerError::InvalidParameterValue(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {} bytes.",
            config.maximum_message_size
        )));
    }
    let not_for_this_type = |parameter: &str, value: &dyn std::fmt::Display| {
        BrokerError::InvalidParameterValue(format!(
            "Value {value} for parameter {parameter} is invalid. Reason: The request include parameter that is not valid for this queue type."
        ))
    };
    if let Some(group) = &msg.group_id {
        fifo::validate_id("MessageGroupId", group)?;
    }
    if let Some(id) = &msg.deduplication_id {
        if !config.fifo_queue {
            return Err(not_for_this_type("MessageDeduplicationId", id));
        }
        fifo::validate_id("MessageDeduplicationId", id)?;
    }
    if config.fifo_queue {
        // A per-message delay of 0 is accepted, any other is not (queue-level delay only).
        if let Some(delay) = msg.delay_seconds.filter(|d| *d != 0) {
            return Err(not_for_this_type("DelaySeconds", &delay));
        }
        if msg.group_id.is_none() {
            return Err(BrokerError::MissingParameter(
                "The request must contain the parameter MessageGroupId.".into(),
            ));
        }
        if msg.deduplication_id.is_none() && !config.content_based_deduplication {
            return Err(BrokerError::InvalidParameterValue(
                "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly".into(),
            ));
        }
    }
    let delay = msg.delay_seconds.unwrap_or(config.delay_seconds);
    if delay > 900 {
        return Err(BrokerError::InvalidParameterValue(format!(
            "Value {delay} for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided."
        )));
    }
    Ok(())
}

/// One queue of a fan-out and its (position in the call, message) entries.
type FanoutTarget = (Arc<Queue>, Vec<(usize, NewMessage)>);

/// A send's accepted messages, applied to the in-memory index once their batch committed.
#[derive(Default)]
struct StagedSend {
    accepted: Vec<(u64, MsgMeta, Option<String>)>,
    /// Deduplication ids accepted by this send, applied to the window after the commit.
    fresh: Vec<(fifo::DedupKey, DedupEntry)>,
}

/// Makes committed messages visible to receivers and records their deduplication ids.
fn apply_staged(queue: &Queue, window: Option<&mut DedupWindow>, staged: StagedSend, now: u64) {
    if staged.accepted.is_empty() {
        return;
    }
    {
        let mut index = queue.index();
        for (seq, meta, group) in staged.accepted {
            index.insert(seq, meta, group.as_deref(), now);
        }
    }
    if let Some(window) = window {
        for (key, entry) in staged.fresh {
            window.insert(key, entry);
        }
    }
    queue.notify.notify_waiters();
}

fn invalid_receipt(handle: &str) -> BrokerError {
    BrokerError::ReceiptHandleIsInvalid(handle.to_string())
}

fn not_available(handle: &str) -> BrokerError {
    BrokerError::InvalidParameterValue(format!(
        "Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change."
    ))
}

impl Queues {
    /// Loads every queue and rebuilds the in-memory indexes from storage.
    pub fn open(store: Arc<Store>, clock: Clock) -> Result<Queues> {
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
            let queue = load_queue(&store, qkey.clone(), record, now)?;
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
        })
    }

    fn admin(&self) -> MutexGuard<'_, ()> {
        self.admin.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lookup(&self, key: &QueueKey) -> Result<Arc<Queue>> {
        let registry = self.registry.read().unwrap_or_else(|p| p.into_inner());
        registry.get(key).cloned().ok_or(BrokerError::QueueDoesNotExist)
    }

    fn lookup_arn(&self, arn: &str) -> Option<Arc<Queue>> {
        let (region, account, name) = arn::parse_queue_arn(arn)?;
        self.lookup(&QueueKey::new(account, region, name)).ok()
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
            BrokerError::InvalidAttributeValue(format!("Invalid value for the parameter RedrivePolicy. Reason: {r}"))
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
            serde_json::to_vec(record).map_err(|e| BrokerError::Internal(format!("encode queue record: {e}")))?;
        batch.put(Cf::Meta, &key.record_key(), &value);
        Ok(())
    }

    /// Creates a queue, or confirms an existing one with the same attributes.
    pub fn create_queue(
        &self,
        key: &QueueKey,
        attributes: &BTreeMap<String, String>,
        tags: &BTreeMap<String, String>,
    ) -> Result<()> {
        config::validate_queue_name(&key.name, config::requests_fifo(attributes)?)?;
        validate_tags(tags)?;
        if tags.len() > MAX_TAGS {
            return Err(BrokerError::InvalidParameterValue(format!(
                "Too many tags: a queue can have at most {MAX_TAGS}."
            )));
        }
        let config = QueueConfig::for_new_queue(attributes)?;
        let _admin = self.admin();
        if let Ok(existing) = self.lookup(key) {
            if let Some(name) = existing.config().first_difference(attributes)? {
                return Err(BrokerError::QueueNameExists(name));
            }
            return Ok(());
        }
        let now = self.clock.now_ms();
        {
            let mut deleted = self.recently_deleted.lock().unwrap_or_else(|p| p.into_inner());
            deleted.retain(|_, at| now.saturating_sub(*at) < SIXTY_SECONDS_MS);
            if deleted.contains_key(key) {
                return Err(BrokerError::QueueDeletedRecently);
            }
        }
        self.check_redrive(key, &config)?;
        let id = self.next_queue_id.fetch_add(1, Ordering::Relaxed);
        let record = QueueRecord {
            id,
            created_ms: now,
            modified_ms: now,
            config,
            tags: tags.clone(),
        };
        let mut batch = self.store.batch();
        self.persist(key, &record, &mut batch)?;
        batch.put(Cf::Meta, &[QUEUE_ID_COUNTER], &id.to_be_bytes());
        self.store.commit(batch)?;
        let index = MessageIndex::new(record.config.fifo_queue);
        let queue = Queue::new(id, key.clone(), record, index, 1);
        self.registry
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), Arc::new(queue));
        self.sweeper.notify_one();
        Ok(())
    }

    /// Deletes a queue and every message in it.
    pub fn delete_queue(&self, key: &QueueKey) -> Result<()> {
        let _admin = self.admin();
        let queue = self.lookup(key)?;
        let prefix = queue_prefix(queue.id);
        let end = key::prefix_end(&prefix);
        let mut batch = self.store.batch();
        batch.delete(Cf::Meta, &key.record_key());
        batch.delete_range(Cf::QueueMsgs, &prefix, &end);
        batch.delete_range(Cf::QueueState, &prefix, &end);
        let dedupe = fifo::dedupe_prefix(queue.id);
        batch.delete_range(Cf::Dedupe, &dedupe, &key::prefix_end(&dedupe));
        batch.delete(Cf::Meta, &seq_mark_key(queue.id));
        self.store.commit(batch)?;
        queue.deleted.store(true, Ordering::Release);
        queue.notify.notify_waiters();
        self.registry.write().unwrap_or_else(|p| p.into_inner()).remove(key);
        let now = self.clock.now_ms();
        self.recently_deleted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), now);
        Ok(())
    }

    /// Lists queue names of an account and region, by prefix, in pages.
    pub fn list_queues(
        &self,
        account: &str,
        region: &str,
        prefix: Option<&str>,
        max_results: Option<usize>,
        next_token: Option<&str>,
    ) -> Result<QueuePage> {
        let names: Vec<String> = {
            let registry = self.registry.read().unwrap_or_else(|p| p.into_inner());
            registry
                .keys()
                .filter(|k| k.account == account && k.region == region)
                .filter(|k| prefix.is_none_or(|p| k.name.starts_with(p)))
                .map(|k| k.name.clone())
                .collect()
        };
        paginate(names, max_results, next_token)
    }

    /// Queues whose RedrivePolicy targets `key`.
    pub fn dead_letter_sources(
        &self,
        key: &QueueKey,
        max_results: Option<usize>,
        next_token: Option<&str>,
    ) -> Result<QueuePage> {
        let target = self.lookup(key)?;
        let target_arn = target.key.arn();
        let queues: Vec<Arc<Queue>> = {
            let registry = self.registry.read().unwrap_or_else(|p| p.into_inner());
            registry
                .values()
                .filter(|q| q.key.account == key.account && q.key.region == key.region)
                .cloned()
                .collect()
        };
        let names = queues
            .iter()
            .filter(|q| {
                q.config()
                    .redrive_policy
                    .is_some_and(|p| p.dead_letter_target_arn == target_arn)
            })
            .map(|q| q.key.name.clone())
            .collect();
        paginate(names, max_results, next_token)
    }

    /// Attribute values for GetQueueAttributes (names already include expansions of `All`).
    pub fn get_attributes(&self, key: &QueueKey, names: &[String]) -> Result<Vec<(String, String)>> {
        let resolved = config::resolve_attribute_names(names)?;
        let queue = self.lookup(key)?;
        let now = self.clock.now_ms();
        let counts = queue.index().counts(now);
        let meta = queue.meta();
        let mut out = Vec::with_capacity(resolved.len());
        for name in resolved {
            let value = match name {
                "QueueArn" => Some(queue.key.arn()),
                "ApproximateNumberOfMessages" => Some(counts.visible.to_string()),
                "ApproximateNumberOfMessagesNotVisible" => Some(counts.in_flight.to_string()),
                "ApproximateNumberOfMessagesDelayed" => Some(counts.delayed.to_string()),
                "CreatedTimestamp" => Some((meta.record.created_ms / 1000).to_string()),
                "LastModifiedTimestamp" => Some((meta.record.modified_ms / 1000).to_string()),
                other => meta.record.config.get(other),
            };
            if let Some(value) = value {
                out.push((name.to_string(), value));
            }
        }
        Ok(out)
    }

    /// The queue's `Policy` attribute, if set: read on every authorized call, so without the
    /// message counts GetQueueAttributes computes.
    pub fn policy(&self, key: &QueueKey) -> Option<String> {
        let queue = self.lookup(key).ok()?;
        let meta = queue.meta();
        meta.record.config.get("Policy")
    }

    /// The `Policy` attribute of the queue an ARN names, if both exist: what authorization
    /// reads for SQS calls and for SNS deliveries to another account's queue.
    pub fn policy_by_arn(&self, arn: &str) -> Option<String> {
        let (region, account, name) = arn::parse_queue_arn(arn)?;
        self.policy(&QueueKey::new(account, region, name))
    }

    /// SetQueueAttributes.
    pub fn set_attributes(&self, key: &QueueKey, attributes: &BTreeMap<String, String>) -> Result<()> {
        let _admin = self.admin();
        let queue = self.lookup(key)?;
        let current = queue.config();
        let next = current.with_attributes(attributes)?;
        self.check_redrive(key, &next)?;
        self.update_record(&queue, |record| record.config = next)?;
        self.sweeper.notify_one();
        queue.notify.notify_waiters();
        Ok(())
    }

    fn update_record(&self, queue: &Queue, change: impl FnOnce(&mut QueueRecord)) -> Result<()> {
        let mut meta = queue.meta();
        let mut record = meta.record.clone();
        change(&mut record);
        record.modified_ms = self.clock.now_ms();
        let mut batch = self.store.batch();
        self.persist(&queue.key, &record, &mut batch)?;
        self.store.commit(batch)?;
        meta.record = record;
        Ok(())
    }

    /// Adds or replaces tags.
    pub fn tag(&self, key: &QueueKey, tags: &BTreeMap<String, String>) -> Result<()> {
        validate_tags(tags)?;
        let _admin = self.admin();
        let queue = self.lookup(key)?;
        let mut merged = queue.meta().record.tags.clone();
        merged.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        if merged.len() > MAX_TAGS {
            return Err(BrokerError::InvalidParameterValue(format!(
                "Too many tags: a queue can have at most {MAX_TAGS}."
            )));
        }
        let mut meta = queue.meta();
        let mut record = meta.record.clone();
        record.tags = merged;
        let mut batch = self.store.batch();
        self.persist(&queue.key, &record, &mut batch)?;
        self.store.commit(batch)?;
        meta.record = record;
        Ok(())
    }

    /// Removes tags by key.
    pub fn untag(&self, key: &QueueKey, tag_keys: &[String]) -> Result<()> {
        let _admin = self.admin();
        let queue = self.lookup(key)?;
        let mut meta = queue.meta();
        let mut record = meta.record.clone();
        for k in tag_keys {
            record.tags.remove(k);
        }
        let mut batch = self.store.batch();
        self.persist(&queue.key, &record, &mut batch)?;
        self.store.commit(batch)?;
        meta.record = record;
        Ok(())
    }

    /// The queue's tags.
    pub fn list_tags(&self, key: &QueueKey) -> Result<BTreeMap<String, String>> {
        Ok(self.lookup(key)?.meta().record.tags.clone())
    }

    /// AddPermission: adds a statement labelled `label` to the queue's policy.
    pub fn add_permission(
        &self,
        key: &QueueKey,
        label: &str,
        account_ids: &[String],
        actions: &[String],
    ) -> Result<()> {
        validate_label(label)?;
        if account_ids.is_empty() {
            return Err(BrokerError::InvalidParameterValue(
                "The request must contain the parameter AWSAccountIds.".into(),
            ));
        }
        if actions.is_empty() {
            return Err(BrokerError::InvalidParameterValue(
                "The request must contain the parameter Actions.".into(),
            ));
        }
        for action in actions {
            if !PERMISSION_ACTIONS.contains(&action.as_str()) && action != "*" {
                return Err(BrokerError::InvalidParameterValue(format!(
                    "Value SQS:{action} for parameter ActionName is invalid. Reason: Please refer to the appropriate WSDL for a list of valid actions."
                )));
            }
        }
        let _admin = self.admin();
        let queue = self.lookup(key)?;
        let mut policy = policy_document(&queue);
        let statements = policy_statements(&mut policy);
        if statements
            .iter()
            .any(|s| s.get("Sid").and_then(|v| v.as_str()) == Some(label))
        {
            return Err(BrokerError::InvalidParameterValue(format!(
                "Value {label} for parameter Label is invalid. Reason: Already exists."
            )));
        }
        let principals: Vec<String> = account_ids.iter().map(|a| format!("arn:aws:iam::{a}:root")).collect();
        let actions: Vec<String> = actions.iter().map(|a| format!("SQS:{a}")).collect();
        statements.push(serde_json::json!({
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": if principals.len() == 1 { serde_json::json!(principals[0]) } else { serde_json::json!(principals) }},
            "Action": if actions.len() == 1 { serde_json::json!(actions[0]) } else { serde_json::json!(actions) },
            "Resource": queue.key.arn(),
        }));
        let text = policy.to_string();
        self.update_record(&queue, |record| record.config.policy = Some(text))
    }

    /// RemovePermission: drops the statement labelled `label`.
    pub fn remove_permission(&self, key: &QueueKey, label: &str) -> Result<()> {
        let _admin = self.admin();
        let queue = self.lookup(key)?;
        let mut policy = policy_document(&queue);
        let statements = policy_statements(&mut policy);
        let before = statements.len();
        statements.retain(|s| s.get("Sid").and_then(|v| v.as_str()) != Some(label));
        if statements.len() == before {
            return Err(BrokerError::InvalidParameterValue(format!(
                "Value {label} for parameter Label is invalid. Reason: can't find label on existing policy."
            )));
        }
        let text = if statements.is_empty() {
            None
        } else {
            Some(policy.to_string())
        };
        self.update_record(&queue, |record| record.config.policy = text)
    }

    /// PurgeQueue: deletes every message sent before the call.
    pub fn purge(&self, key: &QueueKey) -> Result<()> {
        let queue = self.lookup(key)?;
        let now = self.clock.now_ms();
        {
            let mut meta = queue.meta();
            if meta
                .last_purge_ms
                .is_some_and(|at| now.saturating_sub(at) < SIXTY_SECONDS_MS)
            {
                return Err(BrokerError::PurgeQueueInProgress(queue.key.arn()));
            }
            meta.last_purge_ms = Some(now);
        }
        let bound = queue.next_seq.load(Ordering::Acquire);
        let from = message_key(queue.id, 0);
        let to = message_key(queue.id, bound);
        let mut batch = self.store.batch();
        batch.delete_range(Cf::QueueMsgs, &from, &to);
        batch.delete_range(Cf::QueueState, &from, &to);
        self.store.commit(batch)?;
        let mut index = queue.index();
        for seq in index.seqs_below(bound) {
            index.remove(seq);
        }
        Ok(())
    }

    /// Sends messages; one commit for all valid entries. The outer error is queue-level.
    pub fn send(&self, key: &QueueKey, messages: Vec<NewMessage>) -> Result<Vec<Result<SentMessage>>> {
        let queue = self.lookup(key)?;
        // FIFO sends are serialised per queue (see `Queue::dedupe`).
        let mut window = queue.fifo.then(|| queue.dedupe());
        let now = self.clock.now_ms();
        let mut batch = self.store.batch();
        let (results, staged) = self.stage_send(&queue, window.as_deref(), messages, &mut batch, now)?;
        if staged.accepted.is_empty() {
            return Ok(results);
        }
        self.store.commit(batch)?;
        if queue.deleted.load(Ordering::Acquire) {
            return Err(BrokerError::QueueDoesNotExist);
        }
        apply_staged(&queue, window.as_deref_mut(), staged, now);
        Ok(results)
    }

    /// Sends each message to its queue in one commit together with whatever `extra` adds to the
    /// batch: SNS fan-out, where a publish reaches all its queue subscriptions or none
    /// (docs/design.md, "Storage model"). Results follow `deliveries`' order; a missing queue or a
    /// message its queue refuses fails that entry alone. When `extra` fails, or staging does,
    /// nothing is committed and the error is returned: the caller's client may retry without
    /// creating duplicates.
    pub fn send_fanout<E: From<BrokerError>>(
        &self,
        deliveries: Vec<(QueueKey, NewMessage)>,
        extra: impl FnOnce(&mut sluice_storage::Batch<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<Vec<Result<SentMessage>>, E> {
        let now = self.clock.now_ms();
        let mut results: Vec<Option<Result<SentMessage>>> = Vec::with_capacity(deliveries.len());
        // Per target queue: the queue and its (position, message) entries, in queue-id order so
        // FIFO locks are always taken in the same order.
        let mut targets: BTreeMap<u64, FanoutTarget> = BTreeMap::new();
        for (position, (key, message)) in deliveries.into_iter().enumerate() {
            match self.lookup(&key) {
                Ok(queue) => {
                    results.push(None);
                    targets
                        .entry(queue.id)
                        .or_insert_with(|| (queue, Vec::new()))
                        .1
                        .push((position, message));
                }
                Err(err) => results.push(Some(Err(err))),
            }
        }
        let queues: Vec<Arc<Queue>> = targets.values().map(|(q, _)| q.clone()).collect();
        let mut windows: Vec<Option<MutexGuard<'_, DedupWindow>>> =
            queues.iter().map(|q| q.fifo.then(|| q.dedupe())).collect();
        let mut batch = self.store.batch();
        let mut staged_all = Vec::with_capacity(queues.len());
        for (i, (_, (queue, entries))) in targets.into_iter().enumerate() {
            let (positions, messages): (Vec<usize>, Vec<NewMessage>) = entries.into_iter().unzip();
            let (sent, staged) = self.stage_send(&queue, windows[i].as_deref(), messages, &mut batch, now)?;
            for (position, result) in positions.into_iter().zip(sent) {
                results[position] = Some(result);
            }
            staged_all.push(staged);
        }
        // The batch is dropped uncommitted on failure: no delivery of this fan-out happens.
        extra(&mut batch)?;
        if !batch.is_empty() {
            self.store.commit(batch).map_err(BrokerError::from)?;
        }
        for ((queue, window), staged) in queues.iter().zip(windows.iter_mut()).zip(staged_all) {
            if !queue.deleted.load(Ordering::Acquire) {
                apply_staged(queue, window.as_deref_mut(), staged, now);
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or(Err(BrokerError::QueueDoesNotExist)))
            .collect())
    }

    /// Validates `messages` for `queue` and adds the accepted ones to `batch`; the caller commits
    /// and then applies the returned [`StagedSend`]. FIFO callers hold the queue's dedupe window.
    /// A refused message fails its own entry; a storage failure (reserving sequences) fails the
    /// whole command.
    fn stage_send(
        &self,
        queue: &Queue,
        window: Option<&DedupWindow>,
        messages: Vec<NewMessage>,
        batch: &mut sluice_storage::Batch<'_>,
        now: u64,
    ) -> Result<(Vec<Result<SentMessage>>, StagedSend)> {
        let config = queue.config();
        let mut results = Vec::with_capacity(messages.len());
        let mut staged = StagedSend::default();
        for msg in messages {
            if let Err(err) = check_message(&config, &msg) {
                results.push(Err(err));
                continue;
            }
            let dedup = match window {
                Some(window) => {
                    let id = msg
                        .deduplication_id
                        .clone()
                        .unwrap_or_else(|| fifo::content_deduplication_id(&msg.body));
                    let scope = match config.deduplication_scope {
                        DeduplicationScope::Queue => "",
                        DeduplicationScope::MessageGroup => msg.group_id.as_deref().unwrap_or_default(),
                    };
                    let dedup_key = fifo::dedup_key(scope, &id);
                    let original = window
                        .get(&dedup_key, now)
                        .copied()
                        .or_else(|| staged.fresh.iter().find(|(k, _)| *k == dedup_key).map(|(_, e)| *e));
                    if let Some(original) = original {
                        // Accepted, answered like the original, and not delivered again.
                        results.push(Ok(SentMessage {
                            message_id: original.message_id.to_string(),
                            sequence_number: Some(fifo::sequence_number(original.seq)),
                        }));
                        continue;
                    }
                    Some((dedup_key, id))
                }
                None => None,
            };
            let delay = msg.delay_seconds.unwrap_or(config.delay_seconds);
            let seq = queue.take_seq(&self.store)?;
            let uuid = uuid::Uuid::new_v4();
            let message_id = uuid.to_string();
            let visible_at = now + delay as u64 * 1000;
            if let Some((dedup_key, _)) = &dedup {
                let entry = DedupEntry {
                    expires_ms: now + fifo::DEDUPLICATION_WINDOW_MS,
                    seq,
                    message_id: uuid,
                };
                batch.put(
                    Cf::Dedupe,
                    &fifo::dedupe_key(queue.id, dedup_key),
                    &fifo::encode_entry(&entry),
                );
                staged.fresh.push((*dedup_key, entry));
            }
            let payload = StoredPayload {
                message_id: message_id.clone(),
                sent_ms: now,
                initial_visible_at_ms: visible_at,
                sender_id: msg.sender_id,
                body: msg.body,
                attributes: msg.attributes,
                system_attributes: msg.system_attributes,
                group_id: msg.group_id.clone(),
                deduplication_id: dedup.map(|(_, id)| id),
                dead_letter_source_arn: None,
            };
            batch.put(Cf::QueueMsgs, &message_key(queue.id, seq), &payload.encode());
            staged.accepted.push((seq, MsgMeta::new(now, visible_at), msg.group_id));
            results.push(Ok(SentMessage {
                message_id,
                sequence_number: queue.fifo.then(|| fifo::sequence_number(seq)),
            }));
        }
        Ok((results, staged))
    }

    /// ReceiveMessage, long-polling up to the wait time until at least one message is available.
    pub async fn receive(&self, key: &QueueKey, request: ReceiveRequest) -> Result<Vec<ReceivedMessage>> {
        let queue = self.lookup(key)?;
        let attempt_id = request.attempt_id.as_deref().filter(|_| queue.fifo);
        if let Some(id) = attempt_id {
            if let Some(replayed) = self.replay_attempt(&queue, id)? {
                return Ok(replayed);
            }
        }
        let config = queue.config();
        let wait_ms = request.wait_seconds.unwrap_or(config.receive_message_wait_time_seconds) as u64 * 1000;
        let deadline_ms = self.clock.now_ms() + wait_ms;
        loop {
            let notified = queue.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let received = self.receive_now(&queue, &request)?;
            let now = self.clock.now_ms();
            let stopping = queue.deleted.load(Ordering::Acquire) || self.shutting_down.load(Ordering::Acquire);
            if !received.is_empty() || now >= deadline_ms || stopping {
                if let (Some(id), false) = (attempt_id, received.is_empty()) {
                    let messages = received.iter().map(|m| (m.seq, m.nonce)).collect();
                    queue
                        .attempts()
                        .insert(id.to_string(), Attempt { at_ms: now, messages });
                }
                return Ok(received.into_iter().map(|m| m.message).collect());
            }
            let wake_ms = queue
                .index()
                .next_visible_at()
                .map_or(deadline_ms, |at| at.min(deadline_ms));
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep_until(self.clock.instant_at(wake_ms)) => {}
            }
        }
    }

    /// The answer of an earlier receive with the same attempt id, when every message it returned
    /// is still in flight under that receive's handle.
    fn replay_attempt(&self, queue: &Arc<Queue>, attempt_id: &str) -> Result<Option<Vec<ReceivedMessage>>> {
        let now = self.clock.now_ms();
        let Some(attempt) = queue.attempts().get(attempt_id, now).cloned() else {
            return Ok(None);
        };
        let metas: Option<Vec<(u64, MsgMeta)>> = {
            let index = queue.index();
            attempt
                .messages
                .iter()
                .map(|(seq, nonce)| {
                    index
                        .get(*seq)
                        .filter(|m| m.nonce == *nonce && m.visible_at_ms > now)
                        .map(|m| (*seq, *m))
                })
                .collect()
        };
        let Some(metas) = metas else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(metas.len());
        for (seq, meta) in metas {
            let Some(raw) = self.store.get(Cf::QueueMsgs, &message_key(queue.id, seq))? else {
                return Ok(None);
            };
            out.push(received_message(queue, seq, &meta, StoredPayload::decode(&raw)?).message);
        }
        Ok(Some(out))
    }

    fn receive_now(&self, queue: &Arc<Queue>, request: &ReceiveRequest) -> Result<Vec<Delivered>> {
        let config = queue.config();
        let visibility_ms = request.visibility_timeout.unwrap_or(config.visibility_timeout) as u64 * 1000;
        let retention_ms = config.message_retention_period as u64 * 1000;
        let max_receives = config.redrive_policy.as_ref().map(|p| p.max_receive_count);
        let dlq = config
            .redrive_policy
            .as_ref()
            .and_then(|p| self.lookup_arn(&p.dead_letter_target_arn));
        let max = request.max_messages.clamp(1, 10) as usize;
        let now = self.clock.now_ms();

        let mut taken: Vec<(u64, MsgMeta)> = Vec::new();
        let mut to_dlq: Vec<u64> = Vec::new();
        let mut expired: Vec<u64> = Vec::new();
        {
            let mut index = queue.index();
            index.promote(now);
            let mut cursor = Cursor::default();
            while taken.len() < max {
                let Some(seq) = index.next_deliverable(&mut cursor) else {
                    break;
                };
                let Some(mut meta) = index.get(seq).copied() else {
                    break;
                };
                if meta.sent_ms + retention_ms <= now {
                    index.remove(seq);
                    expired.push(seq);
                    continue;
                }
                if let (Some(limit), Some(_)) = (max_receives, &dlq) {
                    if meta.receive_count >= limit {
                        index.remove(seq);
                        to_dlq.push(seq);
                        continue;
                    }
                }
                meta.receive_count += 1;
                meta.nonce += 1;
                if meta.first_receive_ms == 0 {
                    meta.first_receive_ms = now;
                }
                meta.last_receive_ms = now;
                meta.visible_at_ms = now + visibility_ms;
                // Held invisible until the loop ends even with a zero timeout, so one receive
                // never returns a message twice (nor revisits a FIFO group).
                let held = MsgMeta {
                    visible_at_ms: meta.visible_at_ms.max(now + 1),
                    ..meta
                };
                index.update(seq, held, now);
                taken.push((seq, meta));
            }
            if visibility_ms == 0 {
                for (seq, meta) in &taken {
                    index.update(*seq, *meta, now);
                }
            }
        }
        if taken.is_empty() && to_dlq.is_empty() && expired.is_empty() {
            return Ok(Vec::new());
        }

        let mut batch = self.store.batch();
        let mut out = Vec::with_capacity(taken.len());
        for (seq, meta) in &taken {
            let key = message_key(queue.id, *seq);
            let Some(raw) = self.store.get(Cf::QueueMsgs, &key)? else {
                // Purged or deleted between the index and the read.
                queue.index().remove(*seq);
                continue;
            };
            batch.put(Cf::QueueState, &key, &StoredState::from_meta(meta).encode());
            out.push(received_message(queue, *seq, meta, StoredPayload::decode(&raw)?));
        }
        let mut moved: Vec<(u64, MsgMeta, Option<String>)> = Vec::new();
        // A FIFO dead-letter queue takes messages in its send order (see `Queue::dedupe`).
        let dlq_order = dlq
            .as_ref()
            .filter(|d| d.fifo && !to_dlq.is_empty())
            .map(|d| d.dedupe());
        if let Some(dlq) = &dlq {
            for seq in &to_dlq {
                let key = message_key(queue.id, *seq);
                if let Some(raw) = self.store.get(Cf::QueueMsgs, &key)? {
                    let mut payload = StoredPayload::decode(&raw)?;
                    if payload.dead_letter_source_arn.is_none() {
                        payload.dead_letter_source_arn = Some(queue.key.arn());
                    }
                    // FIFO dead-letter queues restart the retention clock; standard ones keep
                    // the original enqueue time (SQS developer guide).
                    if dlq.fifo {
                        payload.sent_ms = now;
                    }
                    let dlq_seq = dlq.take_seq(&self.store)?;
                    let dlq_meta = MsgMeta::new(payload.sent_ms, now);
                    batch.put(Cf::QueueMsgs, &message_key(dlq.id, dlq_seq), &payload.encode());
                    moved.push((dlq_seq, dlq_meta, payload.group_id));
                }
                batch.delete(Cf::QueueMsgs, &key);
                batch.delete(Cf::QueueState, &key);
            }
        }
        for seq in &expired {
            let key = message_key(queue.id, *seq);
            batch.delete(Cf::QueueMsgs, &key);
            batch.delete(Cf::QueueState, &key);
        }
        self.store.commit(batch)?;
        if let (Some(dlq), false) = (&dlq, moved.is_empty()) {
            let mut index = dlq.index();
            for (seq, meta, group) in moved {
                index.insert(seq, meta, group.as_deref(), now);
            }
            drop(index);
            dlq.notify.notify_waiters();
        }
        drop(dlq_order);
        if queue.fifo && !(to_dlq.is_empty() && expired.is_empty()) {
            // Removing a group's head can unlock the group for a waiting consumer.
            queue.notify.notify_waiters();
        }
        Ok(out)
    }

    /// DeleteMessage(Batch): one commit for every valid handle.
    pub fn delete_messages(&self, key: &QueueKey, handles: &[String]) -> Result<Vec<Result<()>>> {
        let queue = self.lookup(key)?;
        let mut results = Vec::with_capacity(handles.len());
        let mut batch = self.store.batch();
        {
            let mut index = queue.index();
            for handle in handles {
                let Some(receipt) = Receipt::decode(handle).filter(|r| r.queue_id == queue.id) else {
                    results.push(Err(invalid_receipt(handle)));
                    continue;
                };
                // A handle of an already deleted message, or an older handle of a message
                // received again since, succeeds without deleting (SQS developer guide).
                if index.get(receipt.seq).is_some_and(|m| m.nonce == receipt.nonce) {
                    index.remove(receipt.seq);
                    let key = message_key(queue.id, receipt.seq);
                    batch.delete(Cf::QueueMsgs, &key);
                    batch.delete(Cf::QueueState, &key);
                }
                results.push(Ok(()));
            }
        }
        self.store.commit(batch)?;
        if queue.fifo {
            // A delete can unlock the message's group for a waiting consumer.
            queue.notify.notify_waiters();
        }
        Ok(results)
    }

    /// ChangeMessageVisibility(Batch): one commit for every valid change.
    pub fn change_visibility(&self, key: &QueueKey, changes: &[VisibilityChange]) -> Result<Vec<Result<()>>> {
        let queue = self.lookup(key)?;
        let now = self.clock.now_ms();
        let mut results = Vec::with_capacity(changes.len());
        let mut batch = self.store.batch();
        let mut made_visible = false;
        {
            let mut index = queue.index();
            for change in changes {
                let handle = &change.receipt_handle;
                let Some(receipt) = Receipt::decode(handle).filter(|r| r.queue_id == queue.id) else {
                    results.push(Err(invalid_receipt(handle)));
                    continue;
                };
                let Some(mut meta) = index.get(receipt.seq).copied().filter(|m| m.nonce == receipt.nonce) else {
                    results.push(Err(not_available(handle)));
                    continue;
                };
                if meta.visible_at_ms <= now {
                    results.push(Err(BrokerError::MessageNotInflight));
                    continue;
                }
                let timeout_ms = change.timeout_seconds as u64 * 1000;
                if change.timeout_seconds > 43_200 || now + timeout_ms > meta.last_receive_ms + MAX_VISIBILITY_MS {
                    results.push(Err(BrokerError::InvalidParameterValue(format!(
                        "Value {} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]",
                        change.timeout_seconds
                    ))));
                    continue;
                }
                meta.visible_at_ms = now + timeout_ms;
                made_visible |= timeout_ms == 0;
                index.update(receipt.seq, meta, now);
                batch.put(
                    Cf::QueueState,
                    &message_key(queue.id, receipt.seq),
                    &StoredState::from_meta(&meta).encode(),
                );
                results.push(Ok(()));
            }
        }
        self.store.commit(batch)?;
        if made_visible {
            queue.notify.notify_waiters();
        }
        Ok(results)
    }

    /// Deletes messages past their queue's retention period and closed FIFO deduplication
    /// windows; returns the next time to sweep.
    pub fn sweep_expired(&self) -> Result<u64> {
        let now = self.clock.now_ms();
        let queues: Vec<Arc<Queue>> = self
            .registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        let mut next = now + SIXTY_SECONDS_MS;
        for queue in queues {
            let retention_ms = queue.config().message_retention_period as u64 * 1000;
            let expired = {
                let mut index = queue.index();
                let seqs = index.sent_before(now.saturating_sub(retention_ms) + 1);
                for seq in &seqs {
                    index.remove(*seq);
                }
                if let Some(oldest) = index.oldest_sent_ms() {
                    next = next.min(oldest + retention_ms);
                }
                seqs
            };
            let closed_windows = if queue.fifo {
                let mut window = queue.dedupe();
                let keys = window.expire(queue.id, now);
                if let Some(at) = window.next_expiry() {
                    next = next.min(at);
                }
                keys
            } else {
                Vec::new()
            };
            if expired.is_empty() && closed_windows.is_empty() {
                continue;
            }
            let mut batch = self.store.batch();
            for seq in expired {
                let key = message_key(queue.id, seq);
                batch.delete(Cf::QueueMsgs, &key);
                batch.delete(Cf::QueueState, &key);
            }
            for key in closed_windows {
                batch.delete(Cf::Dedupe, &key);
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

    /// Ends every open long poll with an empty answer, now and for polls that start later.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
        let queues: Vec<Arc<Queue>> = self
            .registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for queue in queues {
            queue.notify.notify_waiters();
        }
    }

    /// Depth figures of up to `limit` queues (by account, region and name) for metrics, and how
    /// many queues were left out.
    pub fn stats(&self, limit: usize) -> (Vec<QueueStats>, usize) {
        let mut queues: Vec<Arc<Queue>> = self
            .registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
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

impl MsgMeta {
    /// A message never received yet.
    fn new(sent_ms: u64, visible_at_ms: u64) -> MsgMeta {
        MsgMeta {
            sent_ms,
            visible_at_ms,
            receive_count: 0,
            first_receive_ms: 0,
            last_receive_ms: 0,
            nonce: 0,
        }
    }
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

/// Actions AddPermission accepts (the SQS API reference's list of shareable actions).
const PERMISSION_ACTIONS: &[&str] = &[
    "SendMessage",
    "ReceiveMessage",
    "DeleteMessage",
    "ChangeMessageVisibility",
    "GetQueueAttributes",
    "GetQueueUrl",
    "ListDeadLetterSourceQueues",
    "PurgeQueue",
    "ListQueueTags",
];

fn validate_label(label: &str) -> Result<()> {
    let ok = !label.is_empty()
        && label.len() <= 80
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(BrokerError::InvalidParameterValue(format!(
            "Value {label} for parameter Label is invalid. Reason: Must be 1 to 80 alphanumeric characters, hyphens or underscores."
        )))
    }
}

fn validate_tags(tags: &BTreeMap<String, String>) -> Result<()> {
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 {
            return Err(BrokerError::InvalidParameterValue(format!(
                "Tag keys must be between 1 and 128 characters: {k}"
            )));
        }
        if v.chars().count() > 256 {
            return Err(BrokerError::InvalidParameterValue(format!(
                "Tag values must be at most 256 characters: {k}"
            )));
        }
        if k.starts_with("aws:") {
            return Err(BrokerError::InvalidParameterValue(
                "Tag keys must not start with aws:".into(),
            ));
        }
    }
    Ok(())
}

fn policy_document(queue: &Queue) -> serde_json::Value {
    let existing = queue
        .config()
        .policy
        .and_then(|p| serde_json::from_str::<serde_json::Value>(&p).ok());
    match existing {
        Some(doc) if doc.is_object() => doc,
        _ => serde_json::json!({
            "Version": "2012-10-17",
            "Id": format!("{}/SQSDefaultPolicy", queue.key.arn()),
            "Statement": [],
        }),
    }
}

fn policy_statements(policy: &mut serde_json::Value) -> &mut Vec<serde_json::Value> {
    let obj = match policy {
        serde_json::Value::Object(obj) => obj,
        other => {
            *other = serde_json::json!({});
            match other {
                serde_json::Value::Object(obj) => obj,
                _ => unreachable!("just assigned an object"),
            }
        }
    };
    let entry = obj.entry("Statement").or_insert_with(|| serde_json::json!([]));
    if !entry.is_array() {
        let single = entry.take();
        *entry = serde_json::Value::Array(if single.is_null() { vec![] } else { vec![single] });
    }
    match entry {
        serde_json::Value::Array(items) => items,
        _ => unreachable!("normalised to an array above"),
    }
}

fn paginate(mut names: Vec<String>, max_results: Option<usize>, next_token: Option<&str>) -> Result<QueuePage> {
    names.sort();
    if let Some(token) = next_token {
        let after = URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| BrokerError::InvalidParameterValue("Invalid NextToken value.".into()))?;
        names.retain(|n| *n > after);
    }
    let Some(max) = max_results else {
        names.truncate(1000);
        return Ok(QueuePage {
            names,
            next_token: None,
        });
    };
    if !(1..=1000).contains(&max) {
        return Err(BrokerError::InvalidParameterValue(format!(
            "Value {max} for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000."
        )));
    }
    let next_token = if names.len() > max {
        Some(URL_SAFE_NO_PAD.encode(names[max - 1].as_bytes()))
    } else {
        None
    };
    names.truncate(max);
    Ok(QueuePage { names, next_token })
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

fn load_queue(store: &Store, key: QueueKey, record: QueueRecord, now: u64) -> Result<Queue> {
    let prefix = queue_prefix(record.id);
    let mut states: HashMap<u64, StoredState> = HashMap::new();
    for (k, v) in store.scan_prefix(Cf::QueueState, &prefix)? {
        if let Some(seq) = key::read_u64(&k, prefix.len()) {
            states.insert(seq, StoredState::decode(&v)?);
        }
    }
    let mut index = MessageIndex::new(record.config.fifo_queue);
    let mut max_seq = 0;
    store.for_each_prefix(Cf::QueueMsgs, &prefix, |k, v| {
        let Some(seq) = key::read_u64(k, prefix.len()) else {
            return true;
        };
        max_seq = max_seq.max(seq);
        match StoredPayload::decode(v) {
            Ok(p) => {
                let meta = match states.remove(&seq) {
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
            Err(e) => tracing::error!(queue = %key.name, seq, error = %e, "skipping undecodable message"),
        }
        true
    })?;
    let mut cleanup = store.batch();
    // A state without a payload is left over from a delete racing a receive; drop it.
    for seq in states.keys() {
        cleanup.delete(Cf::QueueState, &message_key(record.id, *seq));
    }
    let mut window: Vec<(fifo::DedupKey, DedupEntry)> = Vec::new();
    for (k, v) in store.scan_prefix(Cf::Dedupe, &fifo::dedupe_prefix(record.id))? {
        let (key, entry) = fifo::decode_entry(&k, &v)?;
        if entry.expires_ms > now {
            window.push((key, entry));
        } else {
            cleanup.delete(Cf::Dedupe, &k);
        }
    }
    store.commit(cleanup)?;
    let reserved = store
        .get(Cf::Meta, &seq_mark_key(record.id))?
        .and_then(|v| key::read_u64(&v, 0))
        .unwrap_or(0);
    let queue = Queue::new(record.id, key, record, index, reserved.max(max_seq + 1));
    // The window expects insertions in expiry order.
    window.sort_by_key(|(_, e)| e.expires_ms);
    {
        let mut dedupe = queue.dedupe();
        for (key, entry) in window {
            dedupe.insert(key, entry);
        }
    }
    Ok(queue)
}

#[cfg(test)]
mod fifo_model_tests;
#[cfg(test)]
mod fifo_tests;
#[cfg(test)]
mod tests;
