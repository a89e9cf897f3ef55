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
            Ok(kv) => kv,
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
    pub async fn try_acquire(&self) -> Result<Option<u64>, ClusterError> {
        match self.kv.create(WRITER_KEY, self.value()?).await {
            Ok(revision) => Ok(Some(revision)),
            Err(e) if e.kind() == CreateErrorKind::AlreadyExists => Ok(None),
            Err(e) if e.to_string().contains("wrong last sequence") => Ok(None),
            Err(e) => Err(ClusterError::Nats(format!("taking the writer lease: {e}"))),
        }
    }

    /// Renews the lease held at `revision`: [`ClusterError::LeaseLost`] when another node took
    /// it meanwhile, [`ClusterError::Nats`] when JetStream did not answer (the lease may still
    /// be ours).
    pub async fn renew(&self, revision: u64) -> Result<u64, ClusterError> {
        self.kv
            .update(WRITER_KEY, self.value()?, revision)
            .await
            .map_err(|e| match e.kind() {
                UpdateErrorKind::WrongLastRevision => ClusterError::LeaseLost(e.to_string()),
                _ if e.to_string().contains("wrong last sequence") => ClusterError::LeaseLost(e.to_string()),
                _ => ClusterError::Nats(format!("renewing the writer lease: {e}")),
            })
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
