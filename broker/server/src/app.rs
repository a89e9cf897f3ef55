//! The application state shared by every connection: settings, storage, broker, metrics.
//!
//! One [`App`] per server, behind an `Arc`; it holds no lock on the request path.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sluice_broker::Broker;
use sluice_cluster::Node;
use sluice_storage::Store;

use crate::auth::Keys;
use crate::config::Settings;
use crate::metrics::Metrics;

/// How long an append may wait for the log's answer before the writer stops calling itself
/// ready: appends take milliseconds, and under load on a small machine a few hundred.
pub const STALLED_APPEND: Duration = Duration::from_secs(2);

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
    /// The functions' Runtime API listeners.
    pub runtime: Arc<crate::runtime_api::RuntimeApi>,
    /// Access keys, when `--auth verify` checks signatures.
    pub keys: Option<Keys>,
    /// The console's signed-in sessions.
    pub console: crate::console::Sessions,
    /// Held while a checkpoint is written; shared with the blocking task that writes it.
    pub checkpoint_lock: Arc<tokio::sync::Mutex<()>>,
    /// This node's place in the cluster, when it writes for one.
    cluster: Option<Arc<Node>>,
    /// In cluster mode: the key standbys vouch for their clients' addresses with
    /// ([`crate::forwarded`]).
    pub forwarding_key: Option<[u8; 32]>,
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
        let runtime = Arc::new(crate::runtime_api::RuntimeApi::new(
            settings.runtime_api_host,
            broker.clone(),
        ));
        App {
            runtime,
            settings,
            metrics,
            store,
            broker,
            keys: None,
            console: crate::console::Sessions::default(),
            checkpoint_lock: Arc::new(tokio::sync::Mutex::new(())),
            cluster: None,
            forwarding_key: None,
            ready: AtomicBool::new(false),
            shutting_down: tokio::sync::watch::Sender::new(false),
        }
    }

    /// Turns signature checking on with these keys.
    pub fn with_keys(mut self, keys: Keys) -> App {
        self.keys = Some(keys);
        self
    }

    /// Makes readiness follow the writer's hold on the cluster too, and trusts addresses that
    /// standbys vouch for.
    pub fn with_cluster(mut self, node: Arc<Node>) -> App {
        self.forwarding_key = sluice_broker::stream::forwarding_key(&self.store).ok().flatten();
        self.cluster = Some(node);
        self
    }

    /// `Ok` while this node can serve (`GET /ready`): storage open, the listener accepting, and
    /// in cluster mode the writer still writing: its lease renewed within a TTL and no append
    /// unanswered for [`STALLED_APPEND`]. A writer cut off from the cluster so turns unready
    /// within seconds, long before its appends give up and it steps down.
    pub fn readiness(&self) -> Result<(), String> {
        if !self.ready.load(Ordering::Acquire) {
            return Err("starting or shutting down".into());
        }
        if let Some(reason) = self.store.stopped_writing() {
            return Err(format!("no longer writing: {reason}"));
        }
        if let Some(age) = self.store.replication_stats().and_then(|s| s.oldest_unsettled) {
            if age > STALLED_APPEND {
                return Err(format!(
                    "an append to the replicated log has waited {:.1} s for its answer",
                    age.as_secs_f64()
                ));
            }
        }
        match &self.cluster {
            Some(node) => node.writer_health(),
            None => Ok(()),
        }
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
