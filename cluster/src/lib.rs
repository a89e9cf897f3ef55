//! Sluice's cluster mode on NATS JetStream: the replicated commit log, the writer lease and the
//! standby that follows the log and takes over.
//!
//! # Layout
//! - [`log`]: [`JetStreamLog`], the writer's [`sluice_storage::CommitLog`] on a 3-replica
//!   JetStream stream, fenced by `Nats-Expected-Last-Sequence` and retried by `Nats-Msg-Id`.
//! - [`lease`]: [`Lease`], one key in a JetStream key-value bucket, taken and renewed by
//!   compare-and-set, expiring one TTL after its holder stops renewing.
//! - [`node`]: [`Node`], a standby that applies the log to its store until it takes the lease,
//!   then takes over ([`Node::become_writer`]) and keeps writing until it loses the lease or its
//!   store stops writing ([`Node::keep_writing`]).
//! - [`snapshot`]: [`Snapshots`], copies of the store in a JetStream object store, so the writer
//!   can trim the log ([`Node::keep_snapshotting`]) and a node behind the trim restores one at
//!   start-up ([`Node::restore_if_behind`]).
//!
//! # Invariants
//! - What the log holds is the committed batches, in the order every node applies them.
//! - A node writes only after appending its epoch marker expecting exactly the log's end it
//!   applied; every append of an older writer after that marker is refused.
//! - A writer that loses its lease or cannot append stops serving writes; it restarts as a
//!   standby and catches up from the log.

pub mod lease;
pub mod log;
pub mod node;
pub mod snapshot;

pub use lease::{Holder, Lease};
pub use log::{JetStreamLog, LogLocation};
pub use node::{ClusterOptions, Node, NodeStats, Writer};
pub use snapshot::{clear_interrupted_restore, Manifest, Snapshots};

/// What can go wrong in cluster mode.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// NATS or JetStream refused or did not answer.
    #[error("nats: {0}")]
    Nats(String),
    /// The local store failed, or stopped writing.
    #[error("store: {0}")]
    Store(String),
    /// Another node took the writer lease.
    #[error("the writer lease was lost: {0}")]
    LeaseLost(String),
    /// This node's settings disagree with the cluster's; retrying cannot help.
    #[error("cluster settings: {0}")]
    Settings(String),
}
