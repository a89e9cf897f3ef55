//! The application state shared by every connection: settings, storage, broker, metrics.
//!
//! One [`App`] per server, behind an `Arc`; it holds no lock on the request path.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sluice_broker::Broker;
use sluice_storage::Store;

use crate::auth::Keys;
use crate::config::Settings;
use crate::metrics::Metrics;

/// Everything a request handler may reach.
pub struct App {
    /// Resolved settings.
    pub settings: Settings,
    /// The server's metrics registry.
    pub metrics: Metrics,
    /// The open store (the broker holds it too; the server flushes it at shutdown).
    pub store: Arc<Store>,
    /// The domain core.
    pub broker: Arc<Broker>,
    /// Access keys, when `--auth verify` checks signatures.
    pub keys: Option<Keys>,
    /// Held while a checkpoint is written; shared with the blocking task that writes it.
    pub checkpoint_lock: Arc<tokio::sync::Mutex<()>>,
    ready: AtomicBool,
    /// Flips to true when shutdown starts, so long-lived responses (event streams) end.
    shutting_down: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("settings", &self.settings)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Assembles the state; not ready until [`App::set_ready`] says so.
    pub fn new(settings: Settings, metrics: Metrics, store: Arc<Store>, broker: Arc<Broker>) -> App {
        App {
            settings,
            metrics,
            store,
            broker,
            keys: None,
            checkpoint_lock: Arc::new(tokio::sync::Mutex::new(())),
            ready: AtomicBool::new(false),
            shutting_down: tokio::sync::watch::Sender::new(false),
        }
    }

    /// Turns signature checking on with these keys.
    pub fn with_keys(mut self, keys: Keys) -> App {
        self.keys = Some(keys);
        self
    }

    /// True while storage is open and the listener accepts (`GET /ready`).
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Flips readiness: on once bound, off when shutdown starts so load balancers drain us.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// Tells long-lived responses that shutdown started.
    pub fn begin_shutdown(&self) {
        self.shutting_down.send_replace(true);
    }

    /// Resolves once shutdown started (at once if it already has).
    pub fn shutdown_started(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.shutting_down.subscribe();
        async move {
            // An error means the App is gone, which is a shutdown too.
            let _ = rx.wait_for(|down| *down).await;
        }
    }
}
