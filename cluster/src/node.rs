//! One node of a cluster: a standby that follows the log into its store until it takes the
//! writer lease, then the writer that keeps it.
//!
//! Taking over, in order: follow the log; take the lease; catch up to the log's end; append an
//! epoch marker (an entry with no batches) expecting exactly that end, which fences every older
//! writer; apply the marker locally; attach the log to the store. Only then may the broker be
//! opened on the store and serve. A marker refused because something was appended after the
//! catch-up (an old writer still alive) sends the node back to catch up again.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::pull::OrderedConfig;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::context::{Context, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::Stream;
use futures_util::StreamExt;
use sluice_storage::log_entry::encode_entry;
use sluice_storage::{StorageError, Store};

use crate::lease::{Holder, Lease};
use crate::log::{JetStreamLog, LogLocation};
use crate::snapshot::{scratch_dir, swap_in, table_files, Manifest, Published, Snapshots};
use crate::ClusterError;

/// Behind by more than this many entries, a node streams the log instead of reading entries
/// one request at a time.
const STREAMED_CATCH_UP: u64 = 64;
/// How long a streamed catch-up waits for the next entry before reading the rest one by one.
const STREAM_IDLE: Duration = Duration::from_secs(2);

/// How long a node waits for JetStream to accept its log stream and lease bucket at start-up.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Room left in a NATS message for the headers around a log entry.
const ENTRY_HEADROOM: usize = 4096;

/// How long connecting to one NATS server may take before the next is tried: a server that
/// accepts the connection but never greets (frozen, or its machine gone) must not hold a
/// reconnect for long.
const NATS_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The shortest interval between a node's pings to its NATS server when the connection is idle.
const MIN_PING_INTERVAL: Duration = Duration::from_millis(500);

/// How a node connects to NATS, named `name`. A server that goes silent without closing the
/// connection (its machine lost, the network between them cut) is noticed only by unanswered
/// pings: the client pings after an interval without traffic and leaves at the third ping with
/// two unanswered. Its default interval of a minute would leave a standby unable to take over,
/// or a writer unable to renew, for minutes; a quarter lease notices it within about three
/// quarters of one, and the client moves to another server of the cluster. The cost: a link
/// that cannot carry the largest log entry within that time drops healthy connections
/// (docs/cluster.md).
fn nats_options(name: String, lease_ttl: Duration) -> async_nats::ConnectOptions {
    async_nats::ConnectOptions::new()
        .name(name)
        .ping_interval((lease_ttl / 4).max(MIN_PING_INTERVAL))
        .connection_timeout(NATS_CONNECT_TIMEOUT)
}

/// How a node joins the cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// NATS server URLs (any of them; the client finds the rest).
    pub nats_urls: Vec<String>,
    /// This node's id, unique in the cluster.
    pub node_id: String,
    /// Where clients and other nodes reach this node.
    pub advertise: String,
    /// Replicas of the log stream and the lease bucket.
    pub replicas: usize,
    /// How long a lease lasts without renewal: the upper bound of a takeover's wait.
    pub lease_ttl: Duration,
    /// The log stream.
    pub log: LogLocation,
    /// The lease bucket's name.
    pub lease_bucket: String,
    /// How long an append may go unanswered before the writer gives up its term.
    pub append_timeout: Duration,
    /// The snapshot bucket's name.
    pub snapshot_bucket: String,
    /// The writer snapshots its store and trims the log every this many entries (0: never).
    pub snapshot_every: u64,
}

impl ClusterOptions {
    /// The defaults for `urls` and this node: 3 replicas, a 4 s lease, 8 MiB entries, one
    /// append in flight.
    pub fn new(nats_urls: Vec<String>, node_id: String, advertise: String) -> ClusterOptions {
        ClusterOptions {
            nats_urls,
            node_id,
            advertise,
            replicas: 3,
            lease_ttl: Duration::from_secs(4),
            log: LogLocation {
                stream: "SLUICE_LOG".into(),
                subject: "sluice.log".into(),
                replicas: 3,
                max_entry_bytes: 8 << 20,
                // Measured best where the NATS servers share the writer's CPUs (every append
                // costs them CPU, and one at a time makes the largest groups); a window of 2 to
                // 8 overlaps round trips where they have CPUs of their own (docs/benchmarks.md).
                window: 1,
                linger: Duration::ZERO,
            },
            lease_bucket: "sluice_lease".into(),
            append_timeout: Duration::from_secs(10),
            snapshot_bucket: "sluice_snapshots".into(),
            snapshot_every: 100_000,
        }
    }
}

/// A runtime of its own, on its own thread, with its own NATS connection, for the writer's
/// appends. Commits block the threads that make them (under the core's locks) until the
/// log answers; if the answer had to come through the server's runtime, a few commits
/// waiting on one lock could occupy every worker thread and no thread would be left to read
/// the answer. Made once, when the node connects: the thread lives as long as the process
/// (a writer's term ends with it), and a takeover has its connection ready, one that already
/// knows every server of the cluster in case the configured ones have gone silent.
async fn append_runtime(options: &ClusterOptions) -> Result<(tokio::runtime::Handle, Context), ClusterError> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("sluice-log".into())
        .spawn(
            move || match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => {
                    let _ = sender.send(Ok(runtime.handle().clone()));
                    // Drives the connection's I/O and timers for every append, forever.
                    runtime.block_on(std::future::pending::<()>());
                }
                Err(e) => {
                    let _ = sender.send(Err(e.to_string()));
                }
            },
        )
        .map_err(|e| ClusterError::Nats(format!("starting the log thread: {e}")))?;
    let runtime = receiver
        .await
        .map_err(|_| ClusterError::Nats("the log thread ended at start".into()))?
        .map_err(|e| ClusterError::Nats(format!("starting the log runtime: {e}")))?;
    let urls = options.nats_urls.clone();
    let connect = nats_options(format!("sluice-{}-log", options.node_id), options.lease_ttl);
    let js = runtime
        .spawn(async move {
            let client = connect
                .connect(urls.as_slice())
                .await
                .map_err(|e| ClusterError::Nats(format!("connecting the log to {urls:?}: {e}")))?;
            let mut js = async_nats::jetstream::new(client);
            js.set_timeout(Duration::from_secs(5));
            Ok::<_, ClusterError>(js)
        })
        .await
        .map_err(|e| ClusterError::Nats(format!("connecting the log: {e}")))??;
    Ok((runtime, js))
}

/// A node connected to the cluster.
pub struct Node {
    js: Context,
    /// The writer's appends: their runtime and their connection (see [`append_runtime`]).
    appends: (tokio::runtime::Handle, Context),
    /// This process's id, unique in the cluster's life: the lease's, and the name of the set
    /// of table files its snapshots share.
    process: String,
    stream: Stream,
    lease: Lease,
    snapshots: Snapshots,
    options: ClusterOptions,
    /// The log position of the latest snapshot this node made or restored (0: none).
    snapshot_position: AtomicU64,
    /// The log's last position as this node last read it (following, or taking over).
    log_end: AtomicU64,
    /// How long this node's takeover took, from taking the lease to writing, once it did.
    takeover: Mutex<Option<Duration>>,
    /// When this node last asked for the lease and got it (taken or renewed): it is surely
    /// held until one TTL after that.
    lease_confirmed: Mutex<Option<Instant>>,
}

/// What a node has seen of the cluster, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NodeStats {
    /// The log's last position as this node last read it.
    pub log_end: u64,
    /// This node's takeover, from taking the lease to writing, if it took over.
    pub takeover: Option<Duration>,
    /// The log position of the latest snapshot this node made or restored (0: none).
    pub snapshot: u64,
}

/// What the writer holds while it serves.
pub struct Writer {
    revision: u64,
    log: Arc<JetStreamLog>,
    /// The log position of this writer's epoch marker.
    pub epoch: u64,
}

impl Node {
    /// Connects to NATS and makes sure the log stream and the lease bucket exist.
    pub async fn connect(options: ClusterOptions) -> Result<Node, ClusterError> {
        let client = nats_options(format!("sluice-{}", options.node_id), options.lease_ttl)
            .connect(options.nats_urls.as_slice())
            .await
            .map_err(|e| ClusterError::Nats(format!("connecting to {:?}: {e}", options.nats_urls)))?;
        // An entry (and its headers) must fit in one NATS message: the servers' max_payload
        // bounds it (the cluster's servers should set 8 MB, see docs/design.md).
        let mut options = options;
        let max_payload = client.server_info().max_payload;
        options.log.max_entry_bytes = options
            .log
            .max_entry_bytes
            .min(max_payload.saturating_sub(ENTRY_HEADROOM));
        let mut js = async_nats::jetstream::new(client);
        js.set_timeout(Duration::from_secs(5));
        let appends = append_runtime(&options).await?;
        let me = Holder {
            node_id: options.node_id.clone(),
            advertise: options.advertise.clone(),
            instance: Holder::instance_id(),
        };
        // JetStream answers "no responders" until its cluster has a meta leader, and nodes
        // starting together race to create the stream and the bucket: retry, bounded.
        let deadline = Instant::now() + SETUP_TIMEOUT;
        let (stream, lease, snapshots) = loop {
            let attempt = async {
                let stream = options.log.ensure(&js).await?;
                let snapshots = Snapshots::open(&js, &options.snapshot_bucket, options.replicas).await?;
                let lease = Lease::open(
                    &js,
                    &options.lease_bucket,
                    options.replicas,
                    options.lease_ttl,
                    me.clone(),
                )
                .await?;
                Ok::<_, ClusterError>((stream, lease, snapshots))
            };
            match attempt.await {
                Ok(ready) => break ready,
                Err(e @ ClusterError::Settings(_)) => return Err(e),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, "cluster: JetStream not ready yet; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        };
        Ok(Node {
            js,
            appends,
            process: me.instance.clone(),
            stream,
            lease,
            snapshots,
            options,
            snapshot_position: AtomicU64::new(0),
            log_end: AtomicU64::new(0),
            takeover: Mutex::new(None),
            lease_confirmed: Mutex::new(None),
        })
    }

    /// What this node has seen so far.
    pub fn stats(&self) -> NodeStats {
        NodeStats {
            log_end: self.log_end.load(Ordering::Relaxed),
            takeover: *self.takeover.lock().unwrap_or_else(|p| p.into_inner()),
            snapshot: self.snapshot_position.load(Ordering::Relaxed),
        }
    }

    /// `Err` with the reason when this node holds the lease but has not managed to renew it for
    /// a whole TTL: another node may have taken over, so it must not claim to serve.
    pub fn writer_health(&self) -> Result<(), String> {
        let confirmed = *self.lease_confirmed.lock().unwrap_or_else(|p| p.into_inner());
        match confirmed.map(|at| at.elapsed()) {
            Some(age) if age > self.options.lease_ttl => Err(format!(
                "the writer lease was last renewed {:.1} s ago and lasts {:?}: another node may be writing",
                age.as_secs_f64(),
                self.options.lease_ttl
            )),
            _ => Ok(()),
        }
    }

    fn confirm_lease(&self, asked: Instant) {
        *self.lease_confirmed.lock().unwrap_or_else(|p| p.into_inner()) = Some(asked);
    }

    /// Who writes now, if anyone (for forwarding and `/ready`).
    pub async fn writer(&self) -> Result<Option<Holder>, ClusterError> {
        self.lease.holder().await
    }

    /// Follows the log into `store` until this node takes the lease, then takes over (see the
    /// module docs). Returns once the store commits through the log.
    pub async fn become_writer(&self, store: &Arc<Store>) -> Result<Writer, ClusterError> {
        let pause = self.options.lease_ttl / 8;
        // After JetStream trouble (an election of the lease bucket's leader can outlast the
        // lease), the writer may still be alive and retrying its renewal every quarter period:
        // a standby waits one renewal period before it competes for the lease, so a live
        // writer gets it back instead of being deposed by an outage it survived.
        let mut hold_off: Option<Instant> = None;
        loop {
            // NATS trouble while following (a JetStream election, a lost race for the lease)
            // is waited out; only a local store failure ends the standby.
            let may_take = hold_off.is_none_or(|until| Instant::now() >= until);
            let revision = match self.follow_once(store, may_take).await {
                Ok(Some(revision)) => revision,
                Ok(None) => {
                    tokio::time::sleep(pause).await;
                    continue;
                }
                Err(e @ ClusterError::Store(_)) => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, "cluster: following the log; retrying");
                    hold_off = Some(Instant::now() + self.options.lease_ttl / 4);
                    tokio::time::sleep(pause).await;
                    continue;
                }
            };
            tracing::info!(node = %self.options.node_id, "took the writer lease; catching up");
            let started = Instant::now();
            match self.take_over(store, revision).await {
                Ok(writer) => {
                    *self.takeover.lock().unwrap_or_else(|p| p.into_inner()) = Some(started.elapsed());
                    return Ok(writer);
                }
                Err(e @ ClusterError::Store(_)) => return Err(e),
                // The lease expires by itself; whoever takes it next (this node included) starts
                // the takeover over.
                Err(e) => tracing::warn!(error = %e, "cluster: takeover failed; following again"),
            }
        }
    }

    /// One round of following: catch up, then try to take the lease if `may_take`.
    async fn follow_once(&self, store: &Arc<Store>, may_take: bool) -> Result<Option<u64>, ClusterError> {
        self.catch_up(store).await?;
        if !may_take {
            return Ok(None);
        }
        let asked = Instant::now();
        let taken = self.lease.try_acquire().await?;
        if taken.is_some() {
            self.confirm_lease(asked);
        }
        Ok(taken)
    }

    /// With the lease held at `revision`: catch up, fence with the epoch marker, and attach the
    /// log to the store.
    async fn take_over(&self, store: &Arc<Store>, revision: u64) -> Result<Writer, ClusterError> {
        let deadline = Instant::now() + self.options.lease_ttl;
        loop {
            if Instant::now() >= deadline {
                return Err(ClusterError::Nats("the epoch marker kept losing to appends".into()));
            }
            let end = self.catch_up(store).await?;
            match self.append_marker(end).await? {
                Some(epoch) => {
                    apply(store, epoch, &encode_entry([]))?;
                    self.log_end.fetch_max(epoch, Ordering::Relaxed);
                    let (runtime, js) = self.appends.clone();
                    let log = Arc::new(JetStreamLog::new(
                        js,
                        self.options.log.clone(),
                        runtime,
                        &self.options.node_id,
                        epoch,
                        self.options.append_timeout,
                    ));
                    store
                        .replicate_to(log.clone())
                        .map_err(|e| ClusterError::Store(e.to_string()))?;
                    tracing::info!(node = %self.options.node_id, epoch, "writing");
                    return Ok(Writer { revision, log, epoch });
                }
                // An older writer appended after the catch-up: read it, then fence again.
                None => continue,
            }
        }
    }

    /// Keeps the lease while the store keeps writing; resolves with the reason the moment
    /// either stops, after which this node must not serve writes (the caller exits). Losing
    /// the lease to another node stops the store's commits at once, and an append still
    /// retrying gives up.
    pub async fn keep_writing(&self, writer: Writer, store: &Arc<Store>) -> ClusterError {
        let mut revision = writer.revision;
        let period = self.options.lease_ttl / 4;
        let mut pause = period;
        let reason = loop {
            tokio::time::sleep(pause).await;
            pause = period;
            if let Some(reason) = store.stopped_writing() {
                break ClusterError::Store(reason);
            }
            let asked = Instant::now();
            match self.lease.renew(revision).await {
                Ok(next) => {
                    revision = next;
                    self.confirm_lease(asked);
                }
                // Expired while JetStream could not be reached (a leader election can outlast
                // the lease): take it again if nobody else did. Another node that took it has
                // also fenced the log, so this node's next append would fail anyway.
                Err(ClusterError::LeaseLost(why)) => match self.lease.try_acquire().await {
                    Ok(Some(next)) => {
                        tracing::warn!(reason = %why, "cluster: the writer lease had expired; took it again");
                        revision = next;
                        self.confirm_lease(asked);
                    }
                    _ => break ClusterError::LeaseLost(why),
                },
                // JetStream not answering: the log's fence keeps this safe, and an append that
                // cannot be made stops the store, which ends this loop above.
                // Retried sooner than usual: once JetStream answers again, this node should
                // renew (or retake an expired lease) before a standby competes for it.
                Err(e) => {
                    tracing::warn!(error = %e, "cluster: lease renewal failed; retrying");
                    pause = period / 4;
                }
            }
        };
        writer.log.abandon();
        store.stop_writing(&reason.to_string());
        reason
    }

    /// At start-up, before the store serves anything: when the log was trimmed past this
    /// node's position (a new node, or one that was down meanwhile), replaces the store's data
    /// folder with the latest snapshot and reopens it with `reopen`; otherwise hands the store
    /// back as it is. `store` must be its only owner.
    pub async fn restore_if_behind(
        &self,
        store: Arc<Store>,
        reopen: impl Fn(&Path) -> Result<Store, StorageError>,
    ) -> Result<Arc<Store>, ClusterError> {
        let position = store.log_position().map_err(|e| ClusterError::Store(e.to_string()))?;
        // JetStream may still be electing the log's leader when nodes start together.
        let deadline = Instant::now() + SETUP_TIMEOUT;
        let first = loop {
            match self.log_first().await {
                Ok(first) => break first,
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, "cluster: reading the log's start; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        };
        if position + 1 >= first {
            return Ok(store);
        }
        let manifest = self.snapshots.latest().await?.ok_or_else(|| {
            ClusterError::Nats(format!(
                "the log starts at entry {first}, after this node's position {position}, and no snapshot holds what came before"
            ))
        })?;
        if manifest.position + 1 < first {
            return Err(ClusterError::Nats(format!(
                "the latest snapshot holds the log up to {}, but the log starts at entry {first}",
                manifest.position
            )));
        }
        let data_dir = store.path().to_path_buf();
        let incoming = scratch_dir(&data_dir, ".restore")?;
        tracing::info!(position, snapshot = manifest.position, from = %manifest.node, "cluster: behind the trimmed log; restoring the latest snapshot");
        self.snapshots.download(&manifest, &incoming).await?;
        let restored = reopen(&incoming).map_err(|e| ClusterError::Store(format!("opening the snapshot: {e}")))?;
        let holds = restored
            .log_position()
            .map_err(|e| ClusterError::Store(e.to_string()))?;
        drop(restored);
        if holds != manifest.position {
            return Err(ClusterError::Store(format!(
                "the snapshot holds log position {holds}, its manifest says {}",
                manifest.position
            )));
        }
        // Closed before its folder moves: RocksDB holds the folder's lock while open.
        let store = Arc::try_unwrap(store)
            .map_err(|_| ClusterError::Store("the store is still in use; cannot restore a snapshot into it".into()))?;
        drop(store);
        swap_in(&data_dir, &incoming)?;
        let store = reopen(&data_dir).map_err(|e| ClusterError::Store(e.to_string()))?;
        self.snapshot_position.store(manifest.position, Ordering::Relaxed);
        tracing::info!(
            position = manifest.position,
            "cluster: snapshot restored; following the log from there"
        );
        Ok(Arc::new(store))
    }

    /// The position of the log's first entry (one past the end when it is empty).
    async fn log_first(&self) -> Result<u64, ClusterError> {
        let info = self
            .stream
            .get_info()
            .await
            .map_err(|e| ClusterError::Nats(format!("reading the log's start: {e}")))?;
        Ok(info.state.first_sequence.max(1))
    }

    /// While this node writes: every [`ClusterOptions::snapshot_every`] entries, snapshots the
    /// store and trims the log (see [`crate::snapshot`]). Never returns; a failed snapshot is
    /// logged and tried again at the next check.
    pub async fn keep_snapshotting(&self, store: &Arc<Store>) -> std::convert::Infallible {
        let every = self.options.snapshot_every;
        if let Ok(Some(latest)) = self.snapshots.latest().await {
            self.snapshot_position.fetch_max(latest.position, Ordering::Relaxed);
        }
        // The latest snapshot this writer published.
        let mut mine: Option<Manifest> = None;
        loop {
            tokio::time::sleep(self.options.lease_ttl / 4).await;
            if let Some(mine) = &mine {
                self.keep_manifest(mine).await;
            }
            let position = store.log_position().unwrap_or(0);
            if every == 0 || position < self.snapshot_position.load(Ordering::Relaxed) + every {
                continue;
            }
            match self.snapshot_and_trim(store).await {
                Ok((manifest, trimmed)) => {
                    tracing::info!(
                        snapshot = manifest.position,
                        trimmed_through = trimmed,
                        "cluster: snapshot made; log trimmed"
                    );
                    mine = Some(manifest);
                }
                Err(e) => tracing::warn!(error = %e, "cluster: snapshot failed; trying again later"),
            }
        }
    }

    /// Puts `mine`, the latest snapshot this writer published, back when the bucket names an
    /// older one: a writer deposed just before it wrote its manifest (see
    /// [`Snapshots::publish`]) may have put its own back after this one, naming files this
    /// writer has deleted since. Logged, not returned: the next check tries again.
    async fn keep_manifest(&self, mine: &Manifest) {
        match self.snapshots.latest().await {
            Ok(Some(latest)) if latest.position >= mine.position => {}
            Ok(latest) => {
                tracing::warn!(
                    found = latest.map(|m| m.position),
                    mine = mine.position,
                    "cluster: the snapshot manifest went back; writing this writer's again"
                );
                if let Err(e) = self.snapshots.write_manifest(mine).await {
                    tracing::warn!(error = %e, "cluster: writing the snapshot manifest again");
                }
            }
            Err(e) => tracing::debug!(error = %e, "cluster: checking the snapshot manifest"),
        }
    }

    /// Makes and publishes one snapshot, then trims the log below the previous one; returns
    /// the new snapshot's manifest and the last position trimmed.
    async fn snapshot_and_trim(&self, store: &Arc<Store>) -> Result<(Manifest, u64), ClusterError> {
        let started = Instant::now();
        let dir = scratch_dir(store.path(), ".snapshot")?;
        let checkpoint = {
            let (store, dir) = (store.clone(), dir.clone());
            tokio::task::spawn_blocking(move || -> Result<(u64, BTreeSet<String>), ClusterError> {
                store
                    .checkpoint(&dir)
                    .map_err(|e| ClusterError::Store(format!("checkpoint: {e}")))?;
                // Before the copy is opened, which may write table files of its own.
                let linked = table_files(&dir)?;
                // The checkpoint's own stored position is the one it holds the log up to.
                let options = sluice_storage::StoreOptions {
                    durability: sluice_storage::Durability::Process,
                };
                let copy = Store::open(&dir, options)
                    .map_err(|e| ClusterError::Store(format!("opening the checkpoint: {e}")))?;
                let position = copy.log_position().map_err(|e| ClusterError::Store(e.to_string()))?;
                Ok((position, linked))
            })
        };
        let (position, linked) = checkpoint
            .await
            .map_err(|e| ClusterError::Store(format!("checkpoint task: {e}")))??;
        let published = self
            .snapshots
            .publish(&dir, position, &linked, &self.options.node_id, &self.process)
            .await;
        let _ = std::fs::remove_dir_all(&dir);
        let (manifest, previous, uploaded) = match published? {
            Published::Latest(manifest, previous, uploaded) => (manifest, previous, uploaded),
            Published::Superseded(later) => {
                // Not again at every check: this writer was deposed and is about to stop.
                self.snapshot_position.fetch_max(later, Ordering::Relaxed);
                return Err(ClusterError::Nats(format!(
                    "another writer published a later snapshot ({later}) than this one ({position})"
                )));
            }
        };
        tracing::info!(
            position,
            uploaded_bytes = uploaded.bytes,
            reused_bytes = uploaded.reused_bytes,
            seconds = started.elapsed().as_secs_f64(),
            "cluster: snapshot published"
        );
        self.snapshot_position.fetch_max(position, Ordering::Relaxed);
        let Some(previous) = previous else {
            self.snapshots
                .remove_older(&manifest, None, &self.options.node_id, &self.process)
                .await;
            return Ok((manifest, 0));
        };
        // Below the previous snapshot only: a standby less than one interval behind still
        // finds every entry it needs.
        if previous.position > 0 && previous.position < position {
            self.stream
                .purge()
                .sequence(previous.position + 1)
                .await
                .map_err(|e| ClusterError::Nats(format!("trimming the log: {e}")))?;
        }
        self.snapshots
            .remove_older(&manifest, Some(&previous), &self.options.node_id, &self.process)
            .await;
        Ok((manifest, previous.position))
    }

    /// Applies every entry after the store's position up to the log's end; returns that end.
    async fn catch_up(&self, store: &Arc<Store>) -> Result<u64, ClusterError> {
        let state = self
            .stream
            .get_info()
            .await
            .map_err(|e| ClusterError::Nats(format!("reading the log's end: {e}")))?
            .state;
        let end = state.last_sequence;
        self.log_end.fetch_max(end, Ordering::Relaxed);
        let mut position = store.log_position().map_err(|e| ClusterError::Store(e.to_string()))?;
        if position + 1 < state.first_sequence {
            return Err(ClusterError::Store(format!(
                "this node applied the log up to {position}, but the log now starts at entry {} (trimmed after a snapshot): restart the node, and it restores the latest snapshot",
                state.first_sequence
            )));
        }
        if end.saturating_sub(position) > STREAMED_CATCH_UP {
            position = self.stream_entries(store, position, end).await?;
        }
        while position < end {
            let next = position + 1;
            let message = self
                .stream
                .get_raw_message(next)
                .await
                .map_err(|e| ClusterError::Nats(format!("reading log entry {next}: {e}")))?;
            apply(store, next, &message.payload)?;
            position = next;
        }
        Ok(end)
    }

    /// Applies entries `position + 1 ..= end` as JetStream streams them to an ordered consumer
    /// (one request per entry would cost a round trip each); returns the position reached.
    async fn stream_entries(&self, store: &Arc<Store>, mut position: u64, end: u64) -> Result<u64, ClusterError> {
        let config = OrderedConfig {
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: position + 1,
            },
            ..Default::default()
        };
        let consumer = self
            .stream
            .create_consumer(config)
            .await
            .map_err(|e| ClusterError::Nats(format!("following the log from {}: {e}", position + 1)))?;
        let mut messages = consumer
            .messages()
            .await
            .map_err(|e| ClusterError::Nats(format!("following the log: {e}")))?;
        while position < end {
            let message = match tokio::time::timeout(STREAM_IDLE, messages.next()).await {
                Ok(Some(Ok(message))) => message,
                Ok(Some(Err(e))) => return Err(ClusterError::Nats(format!("following the log: {e}"))),
                // Idle or ended: what is left is read one entry at a time.
                Ok(None) | Err(_) => break,
            };
            let sequence = message
                .info()
                .map_err(|e| ClusterError::Nats(format!("a log message without its position: {e}")))?
                .stream_sequence;
            if sequence <= position {
                continue;
            }
            apply(store, sequence, &message.payload)?;
            position = sequence;
        }
        Ok(position)
    }

    /// Appends this node's epoch marker after `end`; `None` when the log moved past `end`.
    async fn append_marker(&self, end: u64) -> Result<Option<u64>, ClusterError> {
        let message = PublishMessage::build()
            .payload(encode_entry([]).into())
            .message_id(format!("{}-epoch-after-{end}", self.options.node_id))
            .expected_last_sequence(end);
        let ack = self
            .js
            .send_publish(self.options.log.subject.clone(), message)
            .await
            .map_err(|e| ClusterError::Nats(format!("appending the epoch marker: {e}")))?;
        match ack.await {
            Ok(ack) => Ok(Some(ack.sequence)),
            Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => Ok(None),
            Err(e) => Err(ClusterError::Nats(format!("appending the epoch marker: {e}"))),
        }
    }
}

/// Applies one log entry to the store (no fsync needed: the log holds the entry durably).
fn apply(store: &Arc<Store>, position: u64, entry: &[u8]) -> Result<(), ClusterError> {
    store
        .apply_entry(position, entry)
        .map(|_| ())
        .map_err(|e| ClusterError::Store(format!("applying log entry {position}: {e}")))
}
