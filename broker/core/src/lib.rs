//! Sluice's domain core: queues now; streams and topics follow the same shape.
//!
//! # Layout
//! - [`Broker`]: owns the store, the clock and every service; built once at start-up.
//! - [`queue`]: standard SQS-style queues (visibility, delays, retention, dead-letter queues).
//! - [`clock`]: the one clock (tokio time), so tests can pause and advance it.
//! - [`error`]: [`BrokerError`], what went wrong in domain terms; the server maps it to the wire.
//!
//! The core knows nothing of HTTP or wire encodings; inputs arrive validated for shape by the
//! protocol layer, and the core validates domain rules (ranges that depend on queue settings,
//! existence, receipt handles).

pub mod clock;
pub mod error;
pub mod queue;

use std::sync::Arc;

use sluice_storage::Store;

pub use clock::Clock;
pub use error::{BrokerError, Result};
pub use queue::Queues;

/// The broker: every service over one store.
pub struct Broker {
    store: Arc<Store>,
    queues: Arc<Queues>,
}

impl Broker {
    /// Loads every resource from `store` and rebuilds in-memory indexes.
    pub fn open(store: Arc<Store>) -> Result<Broker> {
        let clock = Clock::new();
        let queues = Arc::new(Queues::open(store.clone(), clock)?);
        Ok(Broker { store, queues })
    }

    /// The queue service.
    pub fn queues(&self) -> &Arc<Queues> {
        &self.queues
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Starts background work (retention sweeps, message move tasks left running at the last
    /// stop) until `shutdown` resolves.
    pub fn spawn_background(
        &self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        self.queues.resume_move_tasks();
        tokio::spawn(self.queues.clone().run_sweeper(shutdown))
    }
}
