//! `sluice-server`: the wiring of the `sluice` binary. No domain logic, no wire encoding.
//!
//! # Layout
//! - [`config`]: flags, `SLUICE_*` environment, TOML file → [`config::Settings`].
//! - [`listener`]: TCP accept loop, HTTP/1.1 + h2c, connection bound, graceful drain.
//! - [`dispatch`]: request classification (admin, SQS JSON, query), body limit, request ids.
//! - [`api`]: per-service handlers and the one error mapping (`api::error`).
//! - [`auth`]: access keys and SigV4 checks (`--auth verify`).
//! - [`tls`]: HTTPS with `--tls-cert`/`--tls-key` (rustls, HTTP/2 by ALPN).
//! - [`sns_delivery`]: the HTTP(S) client the SNS outbox posts deliveries with.
//! - [`admin`]: `--admin-bind`, a second listener for the admin routes only.
//! - [`checkpoint`]: `POST /admin/checkpoint`, backups of the running broker.
//! - [`handlers`]: `sluice handlers`, which runs and restarts a function's handler processes.
//! - [`http_targets`]: functions whose handler is a web service (tag `sluice:http-target`).
//! - [`runtime_api`]: the Lambda Runtime API, one plain-HTTP listener per function, which
//!   the user's handler processes poll for invocations.
//! - [`init`]: `--init FILE`, resources declared in YAML or TOML and created at start-up.
//! - [`standby`]: what a cluster node serves before it writes: health, and every API call
//!   forwarded to the writer.
//! - [`metrics`]: the Prometheus registry owned by the [`app::App`].
//! - [`resource_metrics`]: queue depth and RocksDB gauges computed at scrape time.
//! - [`cluster_metrics`]: cluster mode's series (role, log position and lag, appends,
//!   takeover), the same on the writer and on standbys.
//! - [`app`]: the state shared by connections.
//! - [`run`]: start-up and shutdown order, used by `main.rs` and embeddable in tests.
//!
//! # Start-up and shutdown order
//! open storage → build broker → bind → ready → serve until the shutdown future resolves →
//! drain → drop the broker → flush the store. A failure before serving is a [`StartupError`].
//! In cluster mode (`--cluster`): open storage → connect to NATS → bind → serve as a standby
//! (forwarding) while following the log → take over → build broker → serve, until shutdown or
//! until this node stops being the writer (then it exits with an error, to restart as a
//! standby).

pub mod admin;
pub mod api;
pub mod app;
pub mod auth;
pub mod checkpoint;
pub mod cluster_metrics;
pub mod config;
pub mod console;
pub mod dispatch;
pub mod forwarded;
pub mod handlers;
pub mod http_targets;
pub mod init;
pub mod listener;
pub mod metrics;
pub mod policy;
pub mod resource_metrics;
pub mod runtime_api;
pub mod sns_delivery;
pub mod standby;
pub mod tls;
pub mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use sluice_broker::{Broker, BrokerError};
use sluice_cluster::{ClusterError, ClusterOptions, Node, Writer};
use sluice_storage::{StorageError, Store, StoreOptions};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::app::App;
use crate::config::Settings;
use crate::metrics::Metrics;

/// Why the server could not start or stop cleanly; each renders as one line.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The data folder is locked by another process (most likely another sluice).
    #[error("data folder {} is in use by another process (is another sluice running?)", .0.display())]
    DataDirLocked(std::path::PathBuf),
    /// Storage could not be opened or flushed.
    #[error("{0}")]
    Storage(StorageError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: String,
        /// Why (address in use, permission denied, bad host).
        source: std::io::Error,
    },
    /// The broker could not load its state from storage.
    #[error("cannot load broker state: {0}")]
    Broker(BrokerError),
    /// Metrics registration failed.
    #[error(transparent)]
    Metrics(#[from] metrics::MetricsError),
    /// The `--init` file could not be applied.
    #[error(transparent)]
    Init(#[from] init::InitError),
    /// The `--credentials` file could not be used.
    #[error(transparent)]
    Credentials(#[from] auth::CredentialsError),
    /// The TLS certificate or key could not be used.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The HTTP client for SNS deliveries could not be built (bad `--sns-https-ca`).
    #[error("cannot set up SNS https deliveries: {0}")]
    SnsTransport(String),
    /// The standby's HTTPS client could not be built (bad `--cluster-ca`).
    #[error("cannot set up forwarding to the writer: {0}")]
    ClusterTls(String),
    /// Cluster mode failed: NATS unreachable at start, or this node lost the writer lease or
    /// its store stopped writing (it must restart as a standby).
    #[error("cluster: {0}")]
    Cluster(sluice_cluster::ClusterError),
}

/// Runs the server until `shutdown` resolves; `on_bound` learns the real listen address.
pub async fn run(
    settings: Settings,
    shutdown: impl Future<Output = ()>,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), StartupError> {
    let options = StoreOptions {
        durability: settings.durability.into(),
    };
    let data_dir = settings.data_dir.clone();
    // A snapshot restore that died midway left neither store: start empty, and the log and the
    // snapshots bring the node back.
    if settings.cluster.is_some()
        && sluice_cluster::clear_interrupted_restore(&data_dir).map_err(StartupError::Cluster)?
    {
        warn!(data_dir = %data_dir.display(), "cluster: an interrupted snapshot restore was cleared; restoring again");
    }
    let open = |path: &Path| Store::open(path, options.clone());
    let mut store = match open(&data_dir) {
        Ok(store) => Arc::new(store),
        Err(StorageError::Locked { path, .. }) => return Err(StartupError::DataDirLocked(path)),
        Err(e) => return Err(StartupError::Storage(e)),
    };
    info!(data_dir = %data_dir.display(), durability = ?settings.durability, "storage open");
    tokio::pin!(shutdown);
    let bind_addr = settings.bind.clone();
    let bind = || async {
        listener::bind(&bind_addr).await.map_err(|source| StartupError::Bind {
            addr: bind_addr.clone(),
            source,
        })
    };
    let tls = match &settings.tls {
        Some((cert, key)) => Some(tls::acceptor(cert, key)?),
        None => None,
    };
    // A cluster node listens from the start: as a standby it forwards calls to the writer.
    let mut early_listener = None;
    let cluster = match &settings.cluster {
        Some(c) => {
            if written_without_log(&store).map_err(StartupError::Storage)? {
                return Err(StartupError::Cluster(ClusterError::Store(format!(
                    "the data folder {} holds data written in single-node mode, which the other nodes do not have; start cluster nodes on empty folders",
                    data_dir.display()
                ))));
            }
            let mut options = ClusterOptions::new(c.nats_urls.clone(), c.node_id.clone(), c.advertise.clone());
            options.log.window = c.append_window;
            options.log.linger = c.append_linger;
            options.snapshot_every = c.snapshot_every;
            options.lease_ttl = c.lease_ttl;
            let node = Arc::new(Node::connect(options).await.map_err(StartupError::Cluster)?);
            store = node
                .restore_if_behind(store, open)
                .await
                .map_err(StartupError::Cluster)?;
            let listener = bind().await?;
            info!(node = %c.node_id, "cluster: a standby, following the log and forwarding calls until this node takes the writer lease");
            let client_tls = tls::client_config(c.ca.as_deref(), "--cluster-ca").map_err(StartupError::ClusterTls)?;
            let forwarding = Arc::new(standby::Standby::new(
                node.clone(),
                store.clone(),
                c.node_id.clone(),
                c.advertise.clone(),
                client_tls,
            ));
            let (stop_standby, standby_stopping) = watch::channel(false);
            let writer = {
                let serving = standby::serve(&listener, forwarding, tls.clone(), standby_stopping);
                tokio::pin!(serving);
                // The standby server runs until this node writes; a shutdown meanwhile ends both.
                let writer = tokio::select! {
                    writer = node.become_writer(&store) => writer.map_err(StartupError::Cluster),
                    _ = &mut shutdown => {
                        let _ = stop_standby.send(true);
                        serving.await;
                        store.flush().map_err(StartupError::Storage)?;
                        return Ok(());
                    }
                    () = &mut serving => Err(StartupError::Cluster(ClusterError::Nats("the standby server stopped".into()))),
                };
                let _ = stop_standby.send(true);
                serving.await;
                writer?
            };
            early_listener = Some(listener);
            Some((node, writer))
        }
        None => None,
    };
    let options = sluice_broker::BrokerOptions {
        queues: sluice_broker::queue::QueueOptions {
            hot_messages: settings.queue_hot_messages,
        },
    };
    let broker = Arc::new(Broker::open_with(store.clone(), options).map_err(StartupError::Broker)?);
    broker.streams.set_throughput_limits(settings.kinesis_limits);
    broker.streams.set_transition(settings.kinesis_transition);
    info!(queues = broker.queues.len(), "broker loaded");
    if let Some(path) = &settings.init {
        let file = init::load(path)?;
        // In cluster mode every node that takes over applies the file again (it converges), and
        // the address clients reach this node at is the advertised one.
        let base_url = settings
            .public_url
            .clone()
            .or_else(|| settings.cluster.as_ref().map(|c| c.advertise.clone()))
            .unwrap_or_else(|| format!("http://{}", settings.bind));
        init::apply(&broker, &file, path, &settings.account_id, &settings.region, &base_url).await?;
        info!(
            file = %path.display(),
            queues = file.queues.len(),
            streams = file.streams.len(),
            topics = file.topics.len(),
            "init file applied"
        );
    }
    let (stop_background, mut background_stopped) = watch::channel(());
    let background = broker.spawn_background(async move {
        // Resolves when the sender signals or is dropped.
        let _ = background_stopped.changed().await;
    });

    let transport = sns_delivery::HyperTransport::new(settings.sns_https_ca.as_deref(), broker.functions.clone())
        .map_err(StartupError::SnsTransport)?;
    let (stop_outbox, mut outbox_stopped) = watch::channel(());
    let outbox = tokio::spawn(broker.topics.clone().run_outbox(Arc::new(transport), async move {
        let _ = outbox_stopped.changed().await;
    }));

    let metrics = Metrics::new()?;
    let collector = resource_metrics::ResourceCollector::new(
        broker.clone(),
        store.clone(),
        cluster.as_ref().map(|(node, _)| node.clone()),
        settings.metrics_max_resources,
    )
    .map_err(metrics::MetricsError::from)?;
    if cfg!(not(feature = "bench-no-metrics")) {
        metrics
            .registry()
            .register(Box::new(collector))
            .map_err(metrics::MetricsError::from)?;
    }
    let listener = match early_listener {
        Some(listener) => listener,
        None => bind().await?,
    };
    let local_addr = listener.local_addr().map_err(|source| StartupError::Bind {
        addr: bind_addr.clone(),
        source,
    })?;

    let keys = match (settings.auth, &settings.credentials) {
        (config::AuthMode::Verify, Some(path)) => {
            let keys = auth::Keys::load(path)?;
            info!(keys = keys.len(), "signature verification on");
            Some(keys)
        }
        _ => {
            if !is_loopback_bind(&settings.bind) {
                warn!(
                    bind = %settings.bind,
                    "authentication is OFF on a non-loopback address: anyone who can reach this port can read and write every queue; use --auth verify --credentials FILE"
                );
            }
            None
        }
    };
    let mut app = App::new(settings, metrics, store.clone(), broker.clone());
    if let Some(keys) = keys {
        app = app.with_keys(keys);
    }
    if let Some((node, _)) = &cluster {
        app = app.with_cluster(node.clone());
    }
    let app = Arc::new(app);
    app.runtime.start_all();
    let (stop_pollers, mut pollers_stopped) = watch::channel(());
    let poller_settings = sluice_broker::function::PollerSettings {
        base_url: app
            .settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("{}://{}", if tls.is_some() { "https" } else { "http" }, local_addr)),
    };
    let mut targets_stopped = pollers_stopped.clone();
    let mut events_stopped = pollers_stopped.clone();
    let async_invoker = broker
        .functions
        .spawn_async_invoker(poller_settings.clone(), async move {
            let _ = events_stopped.changed().await;
        });
    let pollers = broker.functions.spawn_pollers(poller_settings, async move {
        let _ = pollers_stopped.changed().await;
    });
    let targets_tls = tls::client_config(app.settings.sns_https_ca.as_deref(), "--sns-https-ca")
        .map_err(StartupError::SnsTransport)?;
    let targets = tokio::spawn(http_targets::run(broker.functions.clone(), targets_tls, async move {
        let _ = targets_stopped.changed().await;
    }));
    let (stop_admin, mut admin_stopped) = watch::channel(());
    let admin = match &app.settings.admin_bind {
        Some(addr) => {
            let admin_listener = listener::bind(addr).await.map_err(|source| StartupError::Bind {
                addr: addr.clone(),
                source,
            })?;
            if let Ok(admin_addr) = admin_listener.local_addr() {
                info!(addr = %admin_addr, "admin endpoints on http://{admin_addr}");
            }
            Some(tokio::spawn(admin::serve(admin_listener, app.clone(), async move {
                let _ = admin_stopped.changed().await;
            })))
        }
        None => None,
    };

    let plain_listener = match &app.settings.plain_bind {
        Some(addr) => {
            let plain = listener::bind(addr).await.map_err(|source| StartupError::Bind {
                addr: addr.clone(),
                source,
            })?;
            if let Ok(plain_addr) = plain.local_addr() {
                info!(addr = %plain_addr, "plain HTTP beside HTTPS on http://{plain_addr}");
            }
            Some(plain)
        }
        None => None,
    };

    app.set_ready(true);
    let scheme = if tls.is_some() { "https" } else { "http" };
    info!(addr = %local_addr, scheme, "listening on {scheme}://{local_addr}");
    on_bound(local_addr);

    let lost_writer = keep_writing(cluster, store.clone());
    let shutdown_queues = broker.clone();
    let (stop_listeners, listeners_stopping) = watch::channel(false);
    let stop_signal = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let main = listener::serve(listener, app.clone(), tls, stop_signal(listeners_stopping.clone()));
    let plain = async {
        if let Some(plain) = plain_listener {
            listener::serve(plain, app.clone(), None, stop_signal(listeners_stopping.clone())).await;
        }
    };
    let mut lost = None;
    let trigger = async {
        tokio::select! {
            _ = &mut shutdown => {}
            reason = lost_writer => {
                tracing::error!(error = %reason, "no longer the writer: stopping; restart this node to rejoin as a standby");
                lost = Some(reason);
            }
        }
        // Pollers first: they hold long polls of their own and would take from the queues
        // while the drain runs.
        let _ = stop_pollers.send(());
        // Open long polls would otherwise hold the drain for up to 20 s.
        shutdown_queues.queues.begin_shutdown();
        let _ = stop_listeners.send(true);
    };
    // Both listeners stop and drain together.
    tokio::join!(main, plain, trigger);

    if let Err(e) = async_invoker.await {
        warn!(error = %e, "the asynchronous invoker ended abnormally");
    }
    if let Err(e) = targets.await {
        warn!(error = %e, "http targets ended abnormally");
    }
    if let Err(e) = pollers.await {
        warn!(error = %e, "event-source pollers ended abnormally");
    }
    app.runtime.stop_all();
    let _ = stop_admin.send(());
    if let Some(admin) = admin {
        let _ = admin.await;
    }
    let _ = stop_background.send(());
    let _ = stop_outbox.send(());
    if let Err(e) = outbox.await {
        warn!(error = %e, "sns outbox task ended abnormally");
    }
    if let Err(e) = background.await {
        warn!(error = %e, "background task ended abnormally");
    }
    drop(app);
    drop(broker);
    info!("flushing storage");
    store.flush().map_err(StartupError::Storage)?;
    info!("shutdown complete");
    match lost {
        Some(reason) => Err(StartupError::Cluster(reason)),
        None => Ok(()),
    }
}

/// Whether the folder holds data but no replicated-log position: written in single-node mode.
fn written_without_log(store: &Store) -> Result<bool, StorageError> {
    if store.log_position()? > 0 {
        return Ok(false);
    }
    let mut found = false;
    store.for_each_prefix(sluice_storage::Cf::Meta, b"", |_, _| {
        found = true;
        false
    })?;
    Ok(found)
}

/// Resolves when this cluster node stops being the writer (never in single-node mode).
async fn keep_writing(cluster: Option<(Arc<Node>, Writer)>, store: Arc<Store>) -> ClusterError {
    match cluster {
        Some((node, writer)) => tokio::select! {
            lost = node.keep_writing(writer, &store) => lost,
            never = node.keep_snapshotting(&store) => match never {},
        },
        None => std::future::pending().await,
    }
}

/// Whether `bind` (host:port) only listens on a loopback address.
fn is_loopback_bind(bind: &str) -> bool {
    let host = bind.rsplit_once(':').map_or(bind, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_binds() {
        for bind in ["127.0.0.1:4566", "localhost:4566", "[::1]:4566", "127.0.0.2:1"] {
            assert!(is_loopback_bind(bind), "{bind}");
        }
        for bind in ["0.0.0.0:4566", "[::]:4566", "10.0.0.5:4566", "sluice.example:4566"] {
            assert!(!is_loopback_bind(bind), "{bind}");
        }
    }
}
