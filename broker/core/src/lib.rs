//! Sluice's domain core: queues, streams and topics.
//!
//! # Layout
//! - [`Broker`]: owns the store, the clock and every service; built once at start-up.
//! - [`queue`]: standard SQS-style queues (visibility, delays, retention, dead-letter queues),
//!   with their own [`queue::QueueError`].
//! - [`stream`]: Kinesis-style sharded streams (records, iterators, retention, resharding),
//!   with their own [`stream::StreamError`].
//! - [`topic`]: SNS-style topics (subscriptions, filter policies, fan-out to queues in one
//!   batch, a durable outbox for HTTP/S deliveries), with their own [`topic::TopicError`].
//! - [`function`]: Lambda-style functions, their event-source mappings and invocation queues,
//!   with their own [`function::FunctionError`].
//! - [`arn`]: the one ARN parser for queue and topic ARNs.
//! - [`clock`]: the one clock (tokio time), so tests can pause and advance it.
//! - [`error`]: [`BrokerError`], which service failed, wrapping that service's error; the server
//!   maps each service's error to the wire.
//!
//! The core knows nothing of HTTP or wire encodings; inputs arrive validated for shape by the
//! protocol layer, and the core validates domain rules (ranges that depend on queue settings,
//! existence, receipt handles).

pub mod arn;
pub mod clock;
pub mod error;
pub mod function;
#[cfg(test)]
mod memory_log;
pub mod queue;
pub mod stream;
pub mod topic;

use std::sync::Arc;

use sluice_storage::Store;

pub use clock::Clock;
pub use error::BrokerError;
pub use function::Functions;
pub use queue::Queues;
pub use stream::Streams;
pub use topic::Topics;

/// Settings of the services, fixed at start-up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BrokerOptions {
    /// The queue service's settings.
    pub queues: queue::QueueOptions,
}

/// The broker: every service over one store.
/// A plain aggregate: the services are fields, not accessors, as nothing guards them.
pub struct Broker {
    /// The underlying store.
    pub store: Arc<Store>,
    /// The queue service.
    pub queues: Arc<Queues>,
    /// The stream service.
    pub streams: Arc<Streams>,
    /// The topic service.
    pub topics: Arc<Topics>,
    /// Functions, their event-source mappings and invocation queues.
    pub functions: Arc<Functions>,
}

impl Broker {
    /// Loads every resource from `store` and rebuilds in-memory indexes, with default settings.
    pub fn open(store: Arc<Store>) -> Result<Broker, BrokerError> {
        Broker::open_with(store, BrokerOptions::default())
    }

    /// Loads every resource from `store` and rebuilds in-memory indexes.
    pub fn open_with(store: Arc<Store>, options: BrokerOptions) -> Result<Broker, BrokerError> {
        let clock = Clock::new();
        let queues = Arc::new(Queues::open_with(store.clone(), clock, options.queues)?);
        let streams = Streams::open(store.clone(), clock, stream::DEFAULT_TRANSITION)?;
        let streams = Arc::new(streams);
        let topics = Topics::open(store.clone(), clock, queues.clone())?;
        let topics = Arc::new(topics);
        let functions = Functions::open(store.clone(), clock, queues.clone(), streams.clone(), topics.clone())?;
        let functions = Arc::new(functions);
        Ok(Broker {
            store,
            queues,
            streams,
            topics,
            functions,
        })
    }

    /// Starts background work (retention sweeps, message move tasks left running at the last
    /// stop, counting the backlogs start-up left uncounted) until `shutdown` resolves.
    pub fn spawn_background(
        &self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        self.queues.resume_move_tasks();
        // RSA key generation takes a while: do it before the first publish needs the key.
        let topics = self.topics.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(err) = topics.signing_key() {
                tracing::warn!(error = %err, "sns signing key unavailable");
            }
        });
        tokio::spawn(self.queues.clone().run_cold_count());
        let queues = self.queues.clone();
        let streams = self.streams.clone();
        // The stream sweeper loops forever; it stops when the queue sweeper sees shutdown.
        tokio::spawn(async move {
            tokio::select! {
                _ = queues.run_sweeper(shutdown) => {}
                _ = streams.run_sweeper() => {}
            }
        })
    }
}
