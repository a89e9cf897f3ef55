//! Sluice's storage layer: the only crate that talks to RocksDB.
//!
//! # Layout
//! - [`Store`]: opens the database with every column family of [`Cf`], commits write batches
//!   with the configured [`Durability`], reads points and prefixes.
//! - [`Batch`]: one atomic write; every broker command commits exactly one.
//! - [`key`]: order-preserving key encoding (big-endian fixed-width integers, length-prefixed
//!   strings) so that range scans follow numeric order.
//! - [`replication`]: cluster mode's commit path: with a [`CommitLog`] attached
//!   ([`Store::replicate_to`]), every commit is appended to the replicated log before it is
//!   applied here, and a standby applies the log's entries with [`Store::apply_entry`].
//! - [`log_entry`]: the portable form of batches that the log carries.
//!
//! # Invariants
//! Column family names and key prefixes are append-only: never rename or renumber one, or data
//! written by an older Sluice becomes unreadable.

pub mod key;
pub mod log_entry;
pub mod replication;
mod wal_sync;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rocksdb::{ColumnFamilyDescriptor, Options, WriteBatch, WriteOptions, DB};

use log_entry::{Op, Ops};
use replication::Replication;
pub use replication::{CommitLog, LogError, ReplicationStats};

/// Runs `wait`, which blocks its thread for milliseconds (an fsync, a round trip to the log, a
/// condition variable), telling a multi-threaded tokio runtime first so that it moves this
/// worker's other tasks elsewhere; elsewhere (tests, a current-thread runtime) it just runs.
pub fn wait_blocking<T>(wait: impl FnOnce() -> T) -> T {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(wait)
    } else {
        wait()
    }
}

/// One stored entry: key and value.
pub type KeyValue = (Box<[u8]>, Box<[u8]>);

/// Column families, one per access pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cf {
    /// Resource metadata: queues, topics, streams, subscriptions, tags, counters.
    Meta,
    /// Immutable message payloads: queue id | message sequence → body and attributes.
    QueueMsgs,
    /// Mutable per-message state: queue id | message sequence → visibility, receive count.
    QueueState,
    /// Deduplication ids with their expiry. Every value begins with the entry's expiry (epoch
    /// ms, big-endian u64); readers ignore an expired entry, and compactions drop it a minute
    /// later (a compaction filter on a clock that wall-time jumps do not move, and at least one
    /// compaction a day of every file), so ids of a busy FIFO queue need disk only for their
    /// five minutes and no sweep.
    Dedupe,
    /// Kinesis records: stream id | shard index | sequence → partition key and data. A
    /// sequence's high bits are the arrival millisecond, so time seeks and retention are
    /// range operations.
    StreamRecords,
    /// Pending SNS deliveries to HTTP/S endpoints: delivery id → entry with its retry state.
    Outbox,
    /// Cluster mode's bookkeeping: the position of the last replicated-log entry applied here.
    Replication,
}

impl Cf {
    /// Every column family, in creation order.
    pub const ALL: [Cf; 7] = [
        Cf::Meta,
        Cf::QueueMsgs,
        Cf::QueueState,
        Cf::Dedupe,
        Cf::StreamRecords,
        Cf::Outbox,
        Cf::Replication,
    ];

    /// The on-disk name of the column family.
    pub fn name(self) -> &'static str {
        match self {
            Cf::Meta => "meta",
            Cf::QueueMsgs => "queue_msgs",
            Cf::QueueState => "queue_state",
            Cf::Dedupe => "dedupe",
            Cf::StreamRecords => "stream_records",
            Cf::Outbox => "outbox",
            Cf::Replication => "replication",
        }
    }
}

/// When an acknowledged write is considered safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// The write is in RocksDB's write-ahead log (the OS page cache) before commit returns:
    /// it survives a crash of the process, not of the machine.
    #[default]
    Process,
    /// The write-ahead log is fsynced before commit returns. RocksDB groups concurrent
    /// writers, so one fsync covers every batch that arrived while the previous one ran.
    Fsync,
}

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Another process (or another open store in this one) holds the database lock.
    #[error("the data folder {path} is in use by another process (RocksDB lock held): {source}")]
    Locked {
        /// The data folder.
        path: PathBuf,
        /// RocksDB's own error.
        source: rocksdb::Error,
    },
    /// RocksDB found corrupt files while opening the data folder (a checksum mismatch, a
    /// truncated or missing file); restore from a checkpoint.
    #[error("the data folder {path} is corrupt: {source}")]
    CorruptFolder {
        /// The data folder.
        path: PathBuf,
        /// RocksDB's own error.
        source: rocksdb::Error,
    },
    /// The data folder could not be created or opened.
    #[error("cannot open the data folder {path}: {reason}")]
    Open {
        /// The data folder.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A read or write failed in RocksDB.
    #[error("storage failure: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// A stored value could not be decoded.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// Cluster mode: one write batch is larger than the replicated log accepts.
    #[error("a write of {size} bytes exceeds the replicated log's limit of {limit} bytes")]
    TooLarge {
        /// The encoded batch.
        size: usize,
        /// The log's largest entry.
        limit: usize,
    },
    /// Cluster mode: this node stopped accepting writes (another node took over, or the log's
    /// answer could not be learned); it must restart as a standby.
    #[error("this node no longer accepts writes: {0}")]
    NotWriting(String),
    /// Cluster mode: the replicated log refused one group of writes; later writes may succeed.
    #[error("the replicated log refused the write: {0}")]
    Replication(String),
    /// Cluster mode: a log entry arrived out of order (a gap or a step back).
    #[error("replicated log entry {got} arrived, but {expected} was next")]
    OutOfOrder {
        /// The entry that arrived.
        got: u64,
        /// The entry this store needs next.
        expected: u64,
    },
}

/// Storage result type.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Options for opening a [`Store`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// When commits are acknowledged.
    pub durability: Durability,
}

/// The opened RocksDB database.
pub struct Store {
    db: DB,
    path: PathBuf,
    durability: Durability,
    /// Set once, when this node becomes cluster mode's writer.
    replication: OnceLock<Replication>,
    /// Fsyncs of single-node writes that [`Store::submit`] made unsynced.
    wal_sync: wal_sync::WalSync,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("durability", &self.durability)
            .finish()
    }
}

/// Every file of [`Cf::Dedupe`] is compacted at least this often, so expired ids leave the disk
/// even when no write pushes a compaction.
const DEDUPE_COMPACTION_PERIOD_SECONDS: u64 = 24 * 60 * 60;

/// How long past its expiry a [`Cf::Dedupe`] entry is kept at least: room for the difference
/// between this clock and the core's (both run from the wall time at start-up on a monotonic
/// timer, anchored a moment apart).
const DEDUPE_EXPIRY_SLACK_MS: u64 = 60_000;

/// The compaction filter's decision for a [`Cf::Dedupe`] value at `now_ms`: garbage once its
/// leading expiry is [`DEDUPE_EXPIRY_SLACK_MS`] in the past. A value too short to carry one is
/// kept, for its reader to overwrite.
fn drop_expired(value: &[u8], now_ms: u64) -> rocksdb::compaction_filter::Decision {
    match key::read_u64(value, 0) {
        Some(expires_ms) if expires_ms.saturating_add(DEDUPE_EXPIRY_SLACK_MS) <= now_ms => {
            rocksdb::compaction_filter::Decision::Remove
        }
        _ => rocksdb::compaction_filter::Decision::Keep,
    }
}

/// Epoch milliseconds as the core's clock counts them: the wall time once, then a monotonic
/// timer, so a later jump of the wall clock (a correction, a suspended machine) cannot make
/// the compaction filter drop entries the core still holds live.
#[derive(Debug, Clone, Copy)]
struct MonotonicClock {
    base: Instant,
    base_epoch_ms: u64,
}

impl MonotonicClock {
    fn new() -> MonotonicClock {
        MonotonicClock {
            base: Instant::now(),
            base_epoch_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    fn now_ms(&self) -> u64 {
        self.base_epoch_ms
            .saturating_add(u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX))
    }
}

/// Read-ahead of a scan: scans read long runs of neighbouring keys.
const SCAN_READAHEAD: usize = 2 << 20;

impl Store {
    /// Opens (creating if needed) the database under `path` with every column family.
    pub fn open(path: &Path, options: StoreOptions) -> Result<Store> {
        std::fs::create_dir_all(path).map_err(|e| StorageError::Open {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_keep_log_file_num(4);
        db_opts.increase_parallelism(2);
        // Many concurrent small commits: let RocksDB pipeline WAL and memtable writes.
        db_opts.set_enable_pipelined_write(true);
        let descriptors = Cf::ALL.iter().map(|cf| {
            let mut cf_opts = Options::default();
            cf_opts.set_write_buffer_size(32 << 20);
            if *cf == Cf::Dedupe {
                let clock = MonotonicClock::new();
                cf_opts.set_compaction_filter(
                    "sluice-expired-dedupe",
                    move |_level: u32, _key: &[u8], value: &[u8]| drop_expired(value, clock.now_ms()),
                );
                cf_opts.set_periodic_compaction_seconds(DEDUPE_COMPACTION_PERIOD_SECONDS);
                // Most lookups are of ids never seen: a whole-key bloom filter answers them
                // without reading the files.
                let mut table = rocksdb::BlockBasedOptions::default();
                table.set_bloom_filter(10.0, false);
                cf_opts.set_block_based_table_factory(&table);
            }
            ColumnFamilyDescriptor::new(cf.name(), cf_opts)
        });
        let db = DB::open_cf_descriptors(&db_opts, path, descriptors).map_err(|e| open_error(path, e))?;
        Ok(Store {
            db,
            path: path.to_path_buf(),
            durability: options.durability,
            replication: OnceLock::new(),
            wal_sync: wal_sync::WalSync::default(),
        })
    }

    /// The data folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn handle(&self, cf: Cf) -> Result<&rocksdb::ColumnFamily> {
        self.db
            .cf_handle(cf.name())
            .ok_or_else(|| StorageError::Corrupt(format!("column family {} missing", cf.name())))
    }

    /// Reads one key.
    pub fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get_cf(self.handle(cf)?, key)?)
    }

    /// Starts an empty write batch.
    pub fn batch(&self) -> Batch<'_> {
        let inner = if self.replication.get().is_some() {
            BatchInner::Portable(Ops::default())
        } else {
            BatchInner::Local(WriteBatch::default())
        };
        Batch {
            store: self,
            inner,
            error: None,
        }
    }

    /// Commits a batch atomically with the store's durability; in cluster mode, through the
    /// replicated log first (see [`replication`]). Nobody reads the batch before it is durable.
    pub fn commit(&self, batch: Batch<'_>) -> Result<()> {
        self.start(batch, false)?.wait()
    }

    /// Starts committing a batch; [`Submitted::wait`] finishes it. Its place among commits is
    /// fixed here, so a caller holding a lock may submit, release the lock, then wait: the
    /// next holder's batch lands after its own, and lock holders do not wait for the disk or
    /// the log one after another. A submitted batch is committed even if nobody waits for it.
    ///
    /// In single-node mode the batch is written before this returns, and with
    /// [`Durability::Fsync`] made durable by `wait` (one fsync shared by every batch written
    /// before it, see `wal_sync`; a failed one stops the process): readers of the store may
    /// see it before then, so a caller shows clients what it wrote only once `wait` returned.
    /// In cluster mode nothing is written here; `wait` appends to the log and then applies.
    pub fn submit(&self, batch: Batch<'_>) -> Result<Submitted<'_>> {
        self.start(batch, true)
    }

    /// [`Store::submit`], with the fsync of a single-node write left to `wait` (`defer_sync`)
    /// or done by RocksDB as it writes.
    fn start(&self, batch: Batch<'_>, defer_sync: bool) -> Result<Submitted<'_>> {
        if let Some(err) = batch.error {
            return Err(err);
        }
        let done = Submitted {
            store: self,
            ticket: None,
            sync_mark: None,
        };
        match batch.inner {
            BatchInner::Local(inner) if inner.is_empty() => Ok(done),
            // Started before the log was attached: writing it here alone would diverge.
            BatchInner::Local(_) if self.replication.get().is_some() => Err(StorageError::NotWriting(
                "a write started before this node became the writer".into(),
            )),
            BatchInner::Local(inner) => {
                let fsync = self.durability == Durability::Fsync;
                if fsync && defer_sync {
                    self.write_local(inner, false)?;
                    Ok(Submitted {
                        sync_mark: Some(self.wal_sync.written()),
                        ..done
                    })
                } else {
                    self.write_local(inner, fsync).map(|()| done)
                }
            }
            BatchInner::Portable(ops) if ops.is_empty() => Ok(done),
            BatchInner::Portable(ops) => {
                let Some(replication) = self.replication.get() else {
                    return Err(StorageError::NotWriting("no replicated log is attached".into()));
                };
                Ok(Submitted {
                    ticket: Some(replication.submit(ops)?),
                    ..done
                })
            }
        }
    }

    /// Fsyncs the write-ahead log up to the unsynced write marked `mark`, sharing the fsync
    /// with every other write marked before it starts.
    ///
    /// A failed fsync stops the process. The batches it was to cover are in RocksDB's memory
    /// already, readable (a FIFO resend would find its original's deduplication id), and
    /// nothing tells which of them reached the disk: the kernel may have dropped the pages it
    /// could not write. Only a restart, which replays what the log really holds, knows; this
    /// is what PostgreSQL does on a failed fsync.
    fn sync_through(&self, mark: u64) -> Result<()> {
        // An fsync takes milliseconds.
        let synced = wait_blocking(|| self.wal_sync.sync_through(mark, || self.db.flush_wal(true)));
        if let Err(err) = synced {
            tracing::error!(error = %err, path = %self.path.display(), "fsync of the write-ahead log failed; stopping so that a restart replays what the disk holds");
            std::process::exit(FSYNC_FAILED_EXIT_CODE);
        }
        Ok(())
    }

    /// Writes one RocksDB batch with the store's options; `sync` asks for an fsync.
    fn write_local(&self, batch: WriteBatch, sync: bool) -> Result<()> {
        let mut opts = WriteOptions::default();
        opts.set_sync(sync);
        let write = || self.db.write_opt(batch, &opts);
        if sync {
            // An fsync takes milliseconds: let concurrent committers reach RocksDB together
            // so one fsync covers the whole group (RocksDB's group commit).
            wait_blocking(write)?;
        } else {
            write()?;
        }
        Ok(())
    }

    /// Attaches cluster mode's replicated log: from now on every commit goes through it.
    /// Batches started before this call fail to commit. Fails when a log is already attached.
    /// The log must end where this store's applied position does.
    pub fn replicate_to(&self, log: Arc<dyn CommitLog>) -> Result<()> {
        let applied = self.log_position()?;
        if log.end() != applied {
            return Err(StorageError::OutOfOrder {
                got: log.end() + 1,
                expected: applied + 1,
            });
        }
        self.replication
            .set(Replication::new(log, applied))
            .map_err(|_| StorageError::NotWriting("a replicated log is already attached".into()))
    }

    /// Whether commits go through a replicated log (this node writes in cluster mode).
    pub fn is_replicating(&self) -> bool {
        self.replication.get().is_some()
    }

    /// Cluster mode: refuses every later commit, because this node is no longer the writer.
    pub fn stop_writing(&self, reason: &str) {
        if let Some(replication) = self.replication.get() {
            replication.stop(reason);
        }
    }

    /// Cluster mode's commit counters, on the writer (`None` elsewhere).
    pub fn replication_stats(&self) -> Option<ReplicationStats> {
        self.replication.get().map(Replication::stats)
    }

    /// Why this store stopped accepting commits, in cluster mode, if it did.
    pub fn stopped_writing(&self) -> Option<String> {
        self.replication.get().and_then(Replication::stopped)
    }

    /// The position of the last replicated-log entry applied here (0: none yet).
    pub fn log_position(&self) -> Result<u64> {
        match self.get(Cf::Replication, POSITION_KEY)? {
            None => Ok(0),
            Some(bytes) => bytes
                .as_slice()
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| StorageError::Corrupt("replicated log position".into())),
        }
    }

    /// Applies the replicated log's entry at `position` (a standby catching up, or a new
    /// writer recording its own marker). Positions must follow each other without a gap; an
    /// entry at or below the current position was applied already and is skipped (`false`).
    pub fn apply_entry(&self, position: u64, entry: &[u8]) -> Result<bool> {
        let current = self.log_position()?;
        if position <= current {
            return Ok(false);
        }
        if position != current + 1 {
            return Err(StorageError::OutOfOrder {
                got: position,
                expected: current + 1,
            });
        }
        let mut batch = WriteBatch::default();
        for op in log_entry::decode_entry(entry)? {
            self.stage(&mut batch, op)?;
        }
        batch.put_cf(self.handle(Cf::Replication)?, POSITION_KEY, position.to_be_bytes());
        // The log holds the entry durably; the local copy need not be fsynced to be safe.
        self.write_local(batch, false)?;
        Ok(true)
    }

    /// Applies the writer's own group, which the log has just accepted at `position`.
    fn apply_own(&self, entry: &[u8], position: u64) -> Result<()> {
        self.apply_entry(position, entry).and_then(|applied| {
            if applied {
                Ok(())
            } else {
                Err(StorageError::OutOfOrder {
                    got: position,
                    expected: self.log_position()? + 1,
                })
            }
        })
    }

    /// Adds one portable operation to a RocksDB batch.
    fn stage(&self, batch: &mut WriteBatch, op: Op<'_>) -> Result<()> {
        match op {
            Op::Put(cf, key, value) => batch.put_cf(self.handle(cf)?, key, value),
            Op::Delete(cf, key) => batch.delete_cf(self.handle(cf)?, key),
            Op::DeleteRange(cf, from, to) => batch.delete_range_cf(self.handle(cf)?, from, to),
        }
        Ok(())
    }

    /// Every key/value pair whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, cf: Cf, prefix: &[u8]) -> Result<Vec<KeyValue>> {
        let mut out = Vec::new();
        self.for_each_prefix(cf, prefix, |k, v| {
            out.push((k.into(), v.into()));
            true
        })?;
        Ok(out)
    }

    /// Calls `f` for each pair under `prefix` in key order until it returns false.
    pub fn for_each_prefix(&self, cf: Cf, prefix: &[u8], mut f: impl FnMut(&[u8], &[u8]) -> bool) -> Result<()> {
        self.for_each_from(cf, prefix, |k, v| k.starts_with(prefix) && f(k, v))
    }

    /// Calls `f` for each pair at or after `start` in key order until it returns false.
    pub fn for_each_from(&self, cf: Cf, start: &[u8], f: impl FnMut(&[u8], &[u8]) -> bool) -> Result<()> {
        self.iterate(cf, start, SCAN_READAHEAD, f)
    }

    /// [`Store::for_each_from`] for a short read (a few hundred keys): without the long
    /// read-ahead of a scan, which would read megabytes to return kilobytes.
    pub fn for_each_near(&self, cf: Cf, start: &[u8], f: impl FnMut(&[u8], &[u8]) -> bool) -> Result<()> {
        self.iterate(cf, start, 0, f)
    }

    /// Calls `f` for each pair from `start` on with `readahead` bytes of read-ahead (0: only
    /// RocksDB's own, which grows as a read goes on).
    fn iterate(&self, cf: Cf, start: &[u8], readahead: usize, mut f: impl FnMut(&[u8], &[u8]) -> bool) -> Result<()> {
        // A raw iterator lends each pair instead of copying it into two fresh allocations:
        // start-up scans every message of every queue through here.
        let mut options = rocksdb::ReadOptions::default();
        if readahead > 0 {
            options.set_readahead_size(readahead);
        }
        let mut iter = self.db.raw_iterator_cf_opt(self.handle(cf)?, options);
        iter.seek(start);
        while let (Some(k), Some(v)) = (iter.key(), iter.value()) {
            if !f(k, v) {
                return Ok(());
            }
            iter.next();
        }
        Ok(iter.status()?)
    }

    /// The last key at or before `key` in key order, if any: one seek.
    pub fn last_key_at_or_before(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let mut iter = self.db.raw_iterator_cf(self.handle(cf)?);
        iter.seek_for_prev(key);
        let found = iter.key().map(<[u8]>::to_vec);
        iter.status()?;
        Ok(found)
    }

    /// Flushes memtables and syncs the WAL; used at shutdown.
    pub fn flush(&self) -> Result<()> {
        self.db.flush_wal(true)?;
        for cf in Cf::ALL {
            self.db.flush_cf(self.handle(cf)?)?;
        }
        Ok(())
    }

    /// Writes a consistent, openable copy of the store into `dir` (which must not exist yet):
    /// SST files are hard-linked where the file system allows, so it is cheap, and the copy is
    /// itself a Sluice data folder (restore = start a broker on it).
    pub fn checkpoint(&self, dir: &Path) -> Result<()> {
        let checkpoint = rocksdb::checkpoint::Checkpoint::new(&self.db)?;
        checkpoint.create_checkpoint(dir)?;
        Ok(())
    }

    /// A RocksDB integer property summed over every column family (e.g. `rocksdb.estimate-num-keys`).
    pub fn property_sum(&self, name: &str) -> u64 {
        Cf::ALL
            .iter()
            .filter_map(|cf| self.handle(*cf).ok())
            .filter_map(|h| self.db.property_int_value_cf(h, name).ok().flatten())
            .sum()
    }
}

/// Sorts a failed open by what the operator has to do: stop the other process (the lock is
/// held), restore a checkpoint (RocksDB reports corruption), or fix the folder (anything else).
fn open_error(path: &Path, err: rocksdb::Error) -> StorageError {
    let path = path.to_path_buf();
    match classify_open_error(err.as_ref()) {
        OpenFailure::Locked => StorageError::Locked { path, source: err },
        OpenFailure::Corrupt => StorageError::CorruptFolder { path, source: err },
        OpenFailure::Other => StorageError::Open {
            path,
            reason: err.into_string(),
        },
    }
}

/// What a failed open means for the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenFailure {
    /// Another process (or store) holds the LOCK file.
    Locked,
    /// RocksDB reports corruption.
    Corrupt,
    /// Anything else (permissions, disk full, a missing folder).
    Other,
}

/// Classifies RocksDB's error text (`Status::ToString`: a kind such as `IO error` or
/// `Corruption`, a colon, the detail; rust-rocksdb's `Error::kind` parses the same prefix but
/// offers no public way to build an error, so this works on the text to be testable).
///
/// The lock errors are matched on their full shape, not on the substring "lock", which also
/// matches corruption such as "block checksum mismatch" (issue 14). They come from
/// `PosixFileSystem::LockFile` (`env/fs_posix.cc`):
/// - another process holds it: `IO error: While lock file: <dir>/LOCK: Resource temporarily
///   unavailable` (fcntl's EAGAIN; EACCES, "Permission denied", on some systems);
/// - this process already holds it: `IO error: lock hold by current process, acquire time
///   <t> acquiring thread <id>: <dir>/LOCK: No locks available`.
fn classify_open_error(text: &str) -> OpenFailure {
    if text.starts_with("Corruption:") {
        return OpenFailure::Corrupt;
    }
    let Some(detail) = text.strip_prefix("IO error: ") else {
        return OpenFailure::Other;
    };
    let held_here = detail.starts_with("lock hold by current process") && detail.contains("/LOCK: ");
    let held_elsewhere = detail.strip_prefix("While lock file: ").is_some_and(|rest| {
        ["/LOCK: Resource temporarily unavailable", "/LOCK: Permission denied"]
            .iter()
            .any(|end| rest.ends_with(end))
    });
    if held_here || held_elsewhere {
        OpenFailure::Locked
    } else {
        OpenFailure::Other
    }
}

/// The exit status after a failed fsync of the write-ahead log (`EX_IOERR`).
const FSYNC_FAILED_EXIT_CODE: i32 = 74;

/// Where the key of the last applied log position lives in [`Cf::Replication`].
const POSITION_KEY: &[u8] = b"position";

/// A batch on its way to being committed; [`Submitted::wait`] learns its fate.
#[must_use = "a submitted batch is only known to be committed once `wait` returns Ok"]
pub struct Submitted<'a> {
    store: &'a Store,
    /// Cluster mode: the batch's place in the replicated log.
    ticket: Option<replication::Ticket>,
    /// Single node, fsync mode: the mark of the batch's unsynced write.
    sync_mark: Option<u64>,
}

impl Submitted<'_> {
    /// Blocks until the batch is committed: in cluster mode appended to the log and applied
    /// here, in single-node fsync mode synced to disk.
    pub fn wait(self) -> Result<()> {
        if let Some(mark) = self.sync_mark {
            return self.store.sync_through(mark);
        }
        let Some(ticket) = self.ticket else {
            return Ok(());
        };
        let Some(replication) = self.store.replication.get() else {
            return Err(StorageError::NotWriting("no replicated log is attached".into()));
        };
        let apply = |entry: &[u8], position: u64| self.store.apply_own(entry, position);
        // Waits for a network round trip.
        wait_blocking(|| replication.wait(ticket, &apply))
    }
}

/// One atomic write.
pub struct Batch<'a> {
    store: &'a Store,
    inner: BatchInner,
    error: Option<StorageError>,
}

/// A batch as RocksDB's own (single node) or in the portable form the log carries (cluster).
enum BatchInner {
    Local(WriteBatch),
    Portable(Ops),
}

impl Batch<'_> {
    /// Sets `key` to `value`.
    pub fn put(&mut self, cf: Cf, key: &[u8], value: &[u8]) {
        match &mut self.inner {
            BatchInner::Portable(ops) => ops.put(cf, key, value),
            BatchInner::Local(batch) => match self.store.handle(cf) {
                Ok(h) => batch.put_cf(h, key, value),
                Err(e) => self.error = Some(e),
            },
        }
    }

    /// Removes `key`.
    pub fn delete(&mut self, cf: Cf, key: &[u8]) {
        match &mut self.inner {
            BatchInner::Portable(ops) => ops.delete(cf, key),
            BatchInner::Local(batch) => match self.store.handle(cf) {
                Ok(h) => batch.delete_cf(h, key),
                Err(e) => self.error = Some(e),
            },
        }
    }

    /// Removes every key in `[from, to)`.
    pub fn delete_range(&mut self, cf: Cf, from: &[u8], to: &[u8]) {
        match &mut self.inner {
            BatchInner::Portable(ops) => ops.delete_range(cf, from, to),
            BatchInner::Local(batch) => match self.store.handle(cf) {
                Ok(h) => batch.delete_range_cf(h, from, to),
                Err(e) => self.error = Some(e),
            },
        }
    }

    /// Number of operations queued.
    pub fn len(&self) -> usize {
        match &self.inner {
            BatchInner::Local(batch) => batch.len(),
            BatchInner::Portable(ops) => ops.len(),
        }
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path) -> Store {
        Store::open(
            dir,
            StoreOptions {
                durability: Durability::Process,
            },
        )
        .expect("open")
    }

    #[test]
    fn fsync_mode_submissions_share_one_fsync_and_commits_sync_as_they_write() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(
            dir.path(),
            StoreOptions {
                durability: Durability::Fsync,
            },
        )
        .expect("open");
        let put = |key: &[u8]| {
            let mut b = store.batch();
            b.put(Cf::Meta, key, b"v");
            b
        };
        let first = store.submit(put(b"a")).expect("submit a");
        let second = store.submit(put(b"b")).expect("submit b");
        assert_eq!(store.wal_sync.syncs(), 0, "submitting writes without an fsync");
        second.wait().expect("wait b");
        first.wait().expect("wait a");
        assert_eq!(
            store.wal_sync.syncs(),
            1,
            "the later wait's fsync covers the earlier write"
        );
        store.commit(put(b"c")).expect("commit c");
        assert_eq!(store.wal_sync.syncs(), 1, "a commit is synced by RocksDB as it writes");
        for key in [b"a", b"b", b"c"] {
            assert_eq!(store.get(Cf::Meta, key).expect("get").as_deref(), Some(&b"v"[..]));
        }
        drop(store);
        let store = open(dir.path());
        assert!(store.get(Cf::Meta, b"b").expect("get").is_some());
    }

    #[test]
    fn process_mode_submissions_need_no_fsync() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        let mut b = store.batch();
        b.put(Cf::Meta, b"a", b"v");
        store.submit(b).expect("submit").wait().expect("wait");
        assert_eq!(store.wal_sync.syncs(), 0);
    }

    #[test]
    fn compactions_drop_expired_deduplication_entries_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        let now_ms = MonotonicClock::new().now_ms();
        let mut b = store.batch();
        b.put(
            Cf::Dedupe,
            b"expired",
            &(now_ms - DEDUPE_EXPIRY_SLACK_MS - 1).to_be_bytes(),
        );
        // Expired by a moment only: kept for the clocks' difference.
        b.put(Cf::Dedupe, b"just-expired", &(now_ms - 1).to_be_bytes());
        b.put(Cf::Dedupe, b"live", &(now_ms + 600_000).to_be_bytes());
        b.put(Cf::Dedupe, b"short", b"abc");
        // Other column families keep whatever their values say.
        b.put(
            Cf::Meta,
            b"expired",
            &(now_ms - DEDUPE_EXPIRY_SLACK_MS - 1).to_be_bytes(),
        );
        store.commit(b).expect("commit");
        store.flush().expect("flush");
        for cf in [Cf::Dedupe, Cf::Meta] {
            let handle = store.handle(cf).expect("handle");
            store.db.compact_range_cf(handle, None::<&[u8]>, None::<&[u8]>);
        }
        assert_eq!(store.get(Cf::Dedupe, b"expired").expect("get"), None);
        assert!(store.get(Cf::Dedupe, b"just-expired").expect("get").is_some());
        assert!(store.get(Cf::Dedupe, b"live").expect("get").is_some());
        assert!(store.get(Cf::Dedupe, b"short").expect("get").is_some());
        assert!(store.get(Cf::Meta, b"expired").expect("get").is_some());
    }

    #[test]
    fn batch_commits_atomically_and_survives_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = open(dir.path());
            let mut b = store.batch();
            b.put(Cf::Meta, b"a", b"1");
            b.put(Cf::QueueMsgs, b"b", b"2");
            store.commit(b).expect("commit");
        }
        let store = open(dir.path());
        assert_eq!(store.get(Cf::Meta, b"a").expect("get"), Some(b"1".to_vec()));
        assert_eq!(store.get(Cf::QueueMsgs, b"b").expect("get"), Some(b"2".to_vec()));
        assert_eq!(store.get(Cf::Meta, b"b").expect("get"), None);
    }

    #[test]
    fn prefix_scan_follows_key_order_and_range_delete_removes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        let mut b = store.batch();
        for i in [3u64, 1, 2, 300] {
            b.put(
                Cf::QueueMsgs,
                &key::KeyBuf::new(1).u64(7).u64(i).finish(),
                &i.to_be_bytes(),
            );
        }
        b.put(Cf::QueueMsgs, &key::KeyBuf::new(1).u64(8).u64(0).finish(), b"x");
        store.commit(b).expect("commit");
        let prefix = key::KeyBuf::new(1).u64(7).finish();
        let got: Vec<u64> = store
            .scan_prefix(Cf::QueueMsgs, &prefix)
            .expect("scan")
            .iter()
            .map(|(_, v)| u64::from_be_bytes(v[..8].try_into().expect("8 bytes")))
            .collect();
        assert_eq!(got, vec![1, 2, 3, 300]);
        let last = |seq: u64| {
            let at = key::KeyBuf::new(1).u64(7).u64(seq).finish();
            store.last_key_at_or_before(Cf::QueueMsgs, &at).expect("last")
        };
        let seq_key = |seq: u64| Some(key::KeyBuf::new(1).u64(7).u64(seq).finish());
        assert_eq!(last(u64::MAX), seq_key(300));
        assert_eq!(last(299), seq_key(3));
        assert_eq!(last(3), seq_key(3), "at or before");
        assert_eq!(last(0), None, "nothing before 7's first key");
        let mut b = store.batch();
        b.delete_range(Cf::QueueMsgs, &prefix, &key::prefix_end(&prefix));
        store.commit(b).expect("commit");
        assert!(store.scan_prefix(Cf::QueueMsgs, &prefix).expect("scan").is_empty());
        assert_eq!(
            last(u64::MAX),
            None,
            "8's key follows, but nothing is at or before 7's end"
        );
        assert_eq!(
            store
                .scan_prefix(Cf::QueueMsgs, &key::KeyBuf::new(1).u64(8).finish())
                .expect("scan")
                .len(),
            1
        );
    }

    #[test]
    fn second_open_of_same_folder_is_a_clear_lock_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _first = open(dir.path());
        let err = Store::open(
            dir.path(),
            StoreOptions {
                durability: Durability::Process,
            },
        )
        .expect_err("locked");
        assert!(matches!(err, StorageError::Locked { .. }), "{err}");
    }

    /// Issue 14: "lock" inside "block checksum mismatch" made corruption look like a second
    /// broker holding the folder.
    #[test]
    fn lock_errors_are_recognised_exactly_and_corruption_is_corruption() {
        let cases = [
            (
                "IO error: While lock file: /var/lib/sluice/LOCK: Resource temporarily unavailable",
                OpenFailure::Locked,
            ),
            (
                "IO error: lock hold by current process, acquire time 1733490000 acquiring thread 140234: /var/lib/sluice/LOCK: No locks available",
                OpenFailure::Locked,
            ),
            (
                "Corruption: block checksum mismatch: stored = 1234, computed = 5678, type = 1  in /var/lib/sluice/000012.sst offset 0 size 4021",
                OpenFailure::Corrupt,
            ),
            (
                "Corruption: CURRENT file does not end with newline",
                OpenFailure::Corrupt,
            ),
            (
                "IO error: while open a file for lock: /var/lib/sluice/LOCK: Permission denied",
                OpenFailure::Other,
            ),
            (
                "IO error: No space left on device: While appending to file: /var/lib/sluice/000014.log",
                OpenFailure::Other,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(classify_open_error(text), want, "{text}");
        }
    }

    #[test]
    fn a_corrupt_folder_opens_as_corruption_not_as_locked() {
        let dir = tempfile::tempdir().expect("tempdir");
        drop(open(dir.path()));
        // CURRENT names the live MANIFEST and must end with a newline; RocksDB reports any
        // other content as corruption.
        std::fs::write(dir.path().join("CURRENT"), b"MANIFEST-garbage").expect("write");
        let err = Store::open(
            dir.path(),
            StoreOptions {
                durability: Durability::Process,
            },
        )
        .expect_err("corrupt");
        assert!(matches!(err, StorageError::CorruptFolder { .. }), "{err}");
        assert!(err.to_string().contains("is corrupt"), "{err}");
    }
}
