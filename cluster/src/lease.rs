//! The writer lease: one key in a JetStream key-value bucket, held by compare-and-set.
//!
//! The bucket keeps one revision per key and drops entries older than the lease's time to live
//! (`max_age`), so a writer that stops renewing (crashed, paused, cut off) loses the key after
//! one TTL and a standby's `create` succeeds. The lease decides who may *try* to write; what
//! keeps an old writer from writing is the log's fence (see [`crate::log`]), so a lease that two
//! nodes believe they hold for a moment can never produce two histories.

use std::time::Duration;

use async_nats::jetstream::context::Context;
use async_nats::jetstream::kv::{self, CreateErrorKind, Operation, UpdateErrorKind};
use async_nats::jetstream::stream::StorageType;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::ClusterError;

/// The key every node competes for.
const WRITER_KEY: &str = "writer";

/// Who holds the lease, as stored in the bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The node's id (`--node-id`).
    pub node_id: String,
    /// Where clients and other nodes reach it (`--advertise`).
    pub advertise: String,
    /// Tells this process from an earlier one of the same node (see [`Holder::instance_id`]):
    /// a node recognizes the lease as its own only when it wrote it itself.
    #[serde(default)]
    pub instance: String,
}

impl Holder {
    /// An id for this process: its pid and start time, unique enough to tell a restarted node
    /// from its earlier run.
    pub fn instance_id() -> String {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        format!("{}-{}", std::process::id(), since_epoch.as_nanos())
    }
}

/// This node's handle on the lease bucket.
pub struct Lease {
    kv: kv::Store,
    me: Holder,
}

impl Lease {
    /// Opens (creating if needed) the lease bucket.
    pub async fn open(
        js: &Context,
        bucket: &str,
        replicas: usize,
        ttl: Duration,
        me: Holder,
    ) -> Result<Lease, ClusterError> {
        let kv = match js.get_key_value(bucket).await {
            Ok(kv) => {
                // The bucket's age limit is what expires a lease: a node renewing on another
                // schedule than the others would be deposed early or block a takeover late.
                let status = kv
                    .status()
                    .await
                    .map_err(|e| ClusterError::Nats(format!("reading the lease bucket {bucket}: {e}")))?;
                if status.max_age() != ttl {
                    return Err(ClusterError::Settings(format!(
                        "the lease bucket {bucket} expires leases after {} ms and this node was started with {} ms; give every node the same --cluster-lease-ttl-ms",
                        status.max_age().as_millis(),
                        ttl.as_millis()
                    )));
                }
                kv
            }
            Err(_) => js
                .create_key_value(kv::Config {
                    bucket: bucket.to_string(),
                    history: 1,
                    max_age: ttl,
                    num_replicas: replicas,
                    storage: StorageType::File,
                    ..Default::default()
                })
                .await
                .map_err(|e| ClusterError::Nats(format!("creating the lease bucket {bucket}: {e}")))?,
        };
        Ok(Lease { kv, me })
    }

    /// Takes the lease if nobody holds it: `Some(revision)` when taken. Losing a race for a
    /// lease that just expired is `None` too: the winner's write makes ours "wrong last
    /// sequence", which async-nats does not sort under `AlreadyExists`.
    ///
    /// A key that exists may be this node's own: a `create` whose answer was lost went through.
    /// Then it is taken, at the stored revision.
    pub async fn try_acquire(&self) -> Result<Option<u64>, ClusterError> {
        match self.kv.create(WRITER_KEY, self.value()?).await {
            Ok(revision) => Ok(Some(revision)),
            Err(e) if e.kind() == CreateErrorKind::AlreadyExists || e.to_string().contains("wrong last sequence") => {
                // Unreadable now: not taken; if it was ours, it expires and is taken again.
                Ok(self.mine().await.unwrap_or(None))
            }
            Err(e) => Err(ClusterError::Nats(format!("taking the writer lease: {e}"))),
        }
    }

    /// Renews the lease held at `revision`: [`ClusterError::LeaseLost`] when another node took
    /// it meanwhile, [`ClusterError::Nats`] when JetStream did not answer (the lease may still
    /// be ours).
    ///
    /// A renewal whose answer was lost may have gone through, and then the next one expects a
    /// revision the key no longer has: if the key still names this very process, nobody wrote
    /// after it, and the lease is still ours at the stored revision.
    pub async fn renew(&self, revision: u64) -> Result<u64, ClusterError> {
        let e = match self.kv.update(WRITER_KEY, self.value()?, revision).await {
            Ok(next) => return Ok(next),
            Err(e) => e,
        };
        let conflict = e.kind() == UpdateErrorKind::WrongLastRevision || e.to_string().contains("wrong last sequence");
        if !conflict {
            return Err(ClusterError::Nats(format!("renewing the writer lease: {e}")));
        }
        match self.mine().await? {
            Some(stored) => {
                tracing::warn!(
                    expected = revision,
                    stored,
                    "cluster: a lease renewal whose answer was lost had gone through; still the writer"
                );
                Ok(stored)
            }
            None => Err(ClusterError::LeaseLost(e.to_string())),
        }
    }

    /// The revision of the lease when this process holds it (the key names it), else `None`.
    async fn mine(&self) -> Result<Option<u64>, ClusterError> {
        let entry = self
            .kv
            .entry(WRITER_KEY)
            .await
            .map_err(|e| ClusterError::Nats(format!("reading the writer lease: {e}")))?;
        Ok(entry
            .filter(|e| e.operation == Operation::Put)
            .filter(|e| serde_json::from_slice::<Holder>(&e.value).is_ok_and(|h| h == self.me))
            .map(|e| e.revision))
    }

    /// Who holds the lease now, if anyone.
    pub async fn holder(&self) -> Result<Option<Holder>, ClusterError> {
        let entry = self
            .kv
            .entry(WRITER_KEY)
            .await
            .map_err(|e| ClusterError::Nats(format!("reading the writer lease: {e}")))?;
        Ok(entry
            .filter(|e| e.operation == Operation::Put)
            .and_then(|e| serde_json::from_slice(&e.value).ok()))
    }

    /// Gives the lease up (a clean shutdown), so a standby need not wait for the TTL.
    pub async fn release(&self, revision: u64) -> Result<(), ClusterError> {
        self.kv
            .delete_expect_revision(WRITER_KEY, Some(revision))
            .await
            .map_err(|e| ClusterError::Nats(format!("releasing the writer lease: {e}")))
    }

    fn value(&self) -> Result<Bytes, ClusterError> {
        serde_json::to_vec(&self.me)
            .map(Bytes::from)
            .map_err(|e| ClusterError::Nats(format!("encoding the lease holder: {e}")))
    }
}
