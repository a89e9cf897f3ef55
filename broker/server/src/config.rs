//! Command line, environment and config-file settings for `sluice`.
//!
//! # Layout
//! - [`Cli`] / [`Command`] / [`ServeArgs`]: the clap definition. Every flag of `sluice serve` also
//!   reads an environment variable `SLUICE_<NAME>` (clap does flag > env for us).
//! - [`FileConfig`]: the TOML file given by `--config`, with the same keys in snake_case. Unknown
//!   keys are rejected so that a typo does not silently fall back to a default.
//! - [`Settings`]: the resolved values, after [`Settings::resolve`] applied the precedence
//!   flag > env > file > default and validated every value.
//!
//! # Invariant
//! Clap arguments carry no `default_value`: a default there would be indistinguishable from a
//! flag and would hide the file's value. Defaults live in [`defaults`] and are written into the
//! help text by hand.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;

/// Default values of every setting.
pub mod defaults {
    /// Listen address: the port many AWS-emulator users already configure.
    pub const BIND: &str = "127.0.0.1:4566";
    /// Data folder.
    pub const DATA_DIR: &str = "./sluice-data";
    /// Region used when a request carries no SigV4 credential scope.
    pub const REGION: &str = "us-east-1";
    /// Account id of every resource until access keys map to accounts.
    pub const ACCOUNT_ID: &str = "000000000000";
    /// Concurrent TCP connections.
    pub const MAX_CONNECTIONS: usize = 1024;
    /// Request body limit. The largest legal SQS request is a 1 MiB batch; botocore's JSON
    /// serializer escapes non-ASCII as `\uXXXX` (up to 3x for 2-byte UTF-8) and the query
    /// protocol percent-encodes (3x), so 4 MiB leaves room for the envelope.
    pub const MAX_BODY_BYTES: usize = 4 << 20;
    /// Log level when neither `--log-level` nor `RUST_LOG` is given.
    pub const LOG_LEVEL: &str = "info";
    /// Seconds to let in-flight requests finish at shutdown; long polls last up to 20 s.
    pub const SHUTDOWN_TIMEOUT_SECS: u64 = 30;
    /// Seconds a client has to send a request's headers.
    pub const HEADER_READ_TIMEOUT_SECS: u64 = 30;
    /// Seconds a connection may be idle (no request in progress).
    pub const IDLE_TIMEOUT_SECS: u64 = 120;
    /// Seconds to receive a request body.
    pub const BODY_READ_TIMEOUT_SECS: u64 = 60;
    /// Largest request head; SigV4 headers with a session token fit many times over.
    pub const MAX_HEADER_BYTES: usize = 64 * 1024;
    /// Per-resource metric series cap.
    pub const METRICS_MAX_RESOURCES: usize = 1000;
}

/// Upper bound for `--max-connections` (the semaphore counts in `u32`).
const MAX_CONNECTIONS_LIMIT: usize = 1_000_000;

/// Sluice: a message broker that speaks the AWS SQS, SNS and Kinesis wire protocols.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands of `sluice`.
// Parsed once at start-up: the size difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the broker: listen for SQS/SNS/Kinesis requests over HTTP/1.1 and h2c.
    ///
    /// Every setting is taken from, in order: its flag, its SLUICE_* environment variable, the
    /// --config file (same names in snake_case, e.g. `data_dir = "/var/lib/sluice"`), the
    /// built-in default.
    Serve(ServeArgs),
    /// Run a function's handler processes against its Lambda Runtime API (for example
    /// `sluice handlers --function f -- python3 -m awslambdaric app.handler`), restarting them
    /// when they exit.
    Handlers(crate::handlers::HandlersArgs),
}

/// Flags of `sluice serve`; `None` means "not given on the command line nor in the environment".
#[derive(Debug, Default, Clone, Args)]
pub struct ServeArgs {
    /// TOML config file with the same keys as these flags in snake_case; unknown keys are errors.
    #[arg(long, env = "SLUICE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address to listen on, HTTP/1.1 and cleartext HTTP/2 on the same port
    /// [default: 127.0.0.1:4566]. Use port 0 to pick a free port (logged at start).
    #[arg(long, env = "SLUICE_BIND", value_name = "ADDR")]
    pub bind: Option<String>,

    /// Folder of the RocksDB database; created if missing [default: ./sluice-data].
    #[arg(long, env = "SLUICE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Region for requests whose SigV4 credential scope names none [default: us-east-1].
    #[arg(long, env = "SLUICE_REGION", value_name = "REGION")]
    pub region: Option<String>,

    /// 12-digit account id that owns every resource [default: 000000000000].
    #[arg(long, env = "SLUICE_ACCOUNT_ID", value_name = "ID")]
    pub account_id: Option<String>,

    /// Base URL put in queue URLs, e.g. `https://sqs.example.com`; without it queue URLs use the
    /// request's Host header and scheme http.
    #[arg(long, env = "SLUICE_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// When an acknowledged write is safe: `process` (in the write-ahead log, survives a
    /// process crash) or `fsync` (synced to disk, survives power loss) [default: process].
    #[arg(long, env = "SLUICE_DURABILITY", value_name = "MODE")]
    pub durability: Option<DurabilityMode>,

    /// Maximum number of concurrent client connections [default: 1024].
    #[arg(long, env = "SLUICE_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,

    /// Enforce AWS's per-shard Kinesis throughput (1 MiB/s or 1,000 records/s in, 5 reads and
    /// 2 MiB/s out), answering ProvisionedThroughputExceededException [default: false].
    #[arg(long, env = "SLUICE_KINESIS_LIMITS", value_name = "BOOL")]
    pub kinesis_limits: Option<bool>,

    /// How long Kinesis streams stay CREATING, UPDATING or DELETING, in milliseconds; 0 makes
    /// changes take effect at once [default: 500].
    #[arg(long, env = "SLUICE_KINESIS_TRANSITION_MS", value_name = "MS")]
    pub kinesis_transition_ms: Option<u64>,

    /// Seconds a SubscribeToShard event stream lasts before the broker ends it and the client
    /// resubscribes (AWS: 300) [default: 300].
    #[arg(long, env = "SLUICE_SUBSCRIPTION_LIFETIME", value_name = "SECS")]
    pub subscription_lifetime: Option<u64>,

    /// Maximum request body size in bytes; larger requests get 413 [default: 4194304].
    #[arg(long, env = "SLUICE_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,

    /// Log output format [default: human].
    #[arg(long, env = "SLUICE_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,

    /// Log filter, e.g. `info` or `sluice_server=debug,info` [default: info]. `RUST_LOG`, when
    /// set, overrides it.
    #[arg(long, env = "SLUICE_LOG_LEVEL", value_name = "FILTER")]
    pub log_level: Option<String>,

    /// Seconds to let in-flight requests (including 20 s long polls) finish after SIGINT or
    /// SIGTERM [default: 30].
    #[arg(long, env = "SLUICE_SHUTDOWN_TIMEOUT", value_name = "SECS")]
    pub shutdown_timeout: Option<u64>,

    /// Seconds a client has to send the headers of a request [default: 30].
    #[arg(long, env = "SLUICE_HEADER_READ_TIMEOUT", value_name = "SECS")]
    pub header_read_timeout: Option<u64>,

    /// Seconds a connection may stay open with no request in progress before it is closed
    /// (HTTP/2 included) [default: 120].
    #[arg(long, env = "SLUICE_IDLE_TIMEOUT", value_name = "SECS")]
    pub idle_timeout: Option<u64>,

    /// Seconds a client has to send a request's body once its headers arrived [default: 60].
    #[arg(long, env = "SLUICE_BODY_READ_TIMEOUT", value_name = "SECS")]
    pub body_read_timeout: Option<u64>,

    /// Largest request head (request line and headers) in bytes [default: 65536].
    #[arg(long, env = "SLUICE_MAX_HEADER_BYTES", value_name = "BYTES")]
    pub max_header_bytes: Option<usize>,

    /// PEM certificate chain: serve HTTPS (HTTP/2 via ALPN, or HTTP/1.1) instead of plain HTTP.
    #[arg(long, env = "SLUICE_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(long, env = "SLUICE_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Most queues (likewise streams, topics) with their own series on /metrics; the rest are
    /// counted in `sluice_metrics_resources_omitted` [default: 1000].
    #[arg(long, env = "SLUICE_METRICS_MAX_RESOURCES", value_name = "N")]
    pub metrics_max_resources: Option<usize>,

    /// Most messages of one queue kept in memory (about 160 bytes each); never-received
    /// messages beyond stay on disk only and are read back as receives drain the queue
    /// [default: 65536].
    #[arg(long, env = "SLUICE_QUEUE_HOT_MESSAGES", value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    pub queue_hot_messages: Option<u64>,

    /// YAML (or `.toml`) file declaring queues to create or update at start-up, before the
    /// broker reports ready.
    #[arg(long, env = "SLUICE_INIT", value_name = "FILE")]
    pub init: Option<PathBuf>,

    /// `off`: any signature is accepted; `verify`: requests must be signed by a key from
    /// --credentials [default: off].
    #[arg(long, env = "SLUICE_AUTH", value_name = "MODE")]
    pub auth: Option<AuthMode>,

    /// YAML (or `.toml`) file of access keys: access_key_id, secret_access_key, account_id and
    /// an optional session_token each.
    #[arg(long, env = "SLUICE_CREDENTIALS", value_name = "FILE")]
    pub credentials: Option<PathBuf>,

    /// Folder where `POST /admin/checkpoint` writes consistent copies of the data folder
    /// (backups); the endpoint is off without it.
    #[arg(long, env = "SLUICE_CHECKPOINT_DIR", value_name = "DIR")]
    pub checkpoint_dir: Option<PathBuf>,

    /// Also serve /health, /ready, /metrics and POST /admin/checkpoint on this address
    /// (plain HTTP), e.g. a port that is not exposed to clients; they stay on --bind too.
    #[arg(long, env = "SLUICE_ADMIN_BIND", value_name = "HOST:PORT")]
    pub admin_bind: Option<String>,

    /// With --tls-cert: also serve the whole API over plain HTTP on this address (e.g. for
    /// clients inside the cluster), beside HTTPS on --bind.
    #[arg(long, env = "SLUICE_PLAIN_BIND", value_name = "HOST:PORT")]
    pub plain_bind: Option<String>,

    /// IP address the functions' Runtime API listeners bind (one port per function, reported
    /// by GetFunction as Code.Location) [default: 127.0.0.1]; handlers on other hosts need an
    /// address they can reach, such as 0.0.0.0.
    #[arg(long, env = "SLUICE_RUNTIME_API_HOST", value_name = "IP")]
    pub runtime_api_host: Option<String>,

    /// PEM file of CA certificates trusted for SNS deliveries to https endpoints, besides the
    /// system's CA bundle (for receivers with a private CA).
    #[arg(long, env = "SLUICE_SNS_HTTPS_CA", value_name = "FILE")]
    pub sns_https_ca: Option<PathBuf>,

    /// Cluster mode (in progress, see docs/design.md): NATS server URLs, comma-separated, of the
    /// JetStream cluster that replicates every commit. Needs --node-id and --advertise.
    #[arg(long, env = "SLUICE_CLUSTER", value_name = "URLS")]
    pub cluster: Option<String>,

    /// Cluster mode: this node's id, unique in the cluster.
    #[arg(long, env = "SLUICE_NODE_ID", value_name = "ID")]
    pub node_id: Option<String>,

    /// Cluster mode: the URL clients and other nodes reach this node at.
    #[arg(long, env = "SLUICE_ADVERTISE", value_name = "URL")]
    pub advertise: Option<String>,

    /// Cluster mode: appends the writer keeps in flight at once (1 to 64, default 1). 1 makes
    /// the largest groups, best when the NATS servers share the nodes' CPUs; 2 to 8 overlap
    /// round trips, for NATS servers with CPUs of their own (docs/benchmarks.md).
    #[arg(long, env = "SLUICE_CLUSTER_APPEND_WINDOW", value_name = "N", value_parser = clap::value_parser!(u8).range(1..=64))]
    pub cluster_append_window: Option<u8>,

    /// Cluster mode: the least time between two appends while commits keep coming, in
    /// microseconds (0 to 100000, default 0). Longer makes fewer, larger appends, which can
    /// serve more commits where the NATS servers share the nodes' CPUs, at that much latency.
    #[arg(long, env = "SLUICE_CLUSTER_APPEND_LINGER_US", value_name = "MICROSECONDS", value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub cluster_append_linger_us: Option<u32>,

    /// Cluster mode with `--tls-cert`: PEM CA certificates a standby trusts, besides the
    /// system's, for the writer's certificate when it forwards calls to it.
    #[arg(long, env = "SLUICE_CLUSTER_CA", value_name = "FILE")]
    pub cluster_ca: Option<PathBuf>,

    /// Cluster mode: the writer snapshots its store into NATS and trims the log every this
    /// many log entries (default 100000; 0 never trims). A node that was down while the log
    /// was trimmed past it, or a new one, restores the latest snapshot at start-up.
    #[arg(long, env = "SLUICE_CLUSTER_SNAPSHOT_EVERY", value_name = "ENTRIES")]
    pub cluster_snapshot_every: Option<u64>,

    /// Cluster mode: how long the writer's lease lasts without a renewal, in milliseconds (1000
    /// to 60000, default 4000): most of a takeover's wait after the writer dies. Shorter fails
    /// over sooner; longer rides out longer stalls of the writer or of JetStream without a
    /// takeover. Every node of a cluster must use the same value.
    #[arg(long, env = "SLUICE_CLUSTER_LEASE_TTL_MS", value_name = "MILLISECONDS", value_parser = clap::value_parser!(u32).range(1_000..=60_000))]
    pub cluster_lease_ttl_ms: Option<u32>,
}

/// Durability of acknowledged writes, as named on the command line and in the config file.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DurabilityMode {
    /// In the write-ahead log before the response: survives a crash of the process.
    #[default]
    Process,
    /// The write-ahead log is fsynced (group commit): survives power loss.
    Fsync,
}

impl From<DurabilityMode> for sluice_storage::Durability {
    fn from(mode: DurabilityMode) -> Self {
        match mode {
            DurabilityMode::Process => sluice_storage::Durability::Process,
            DurabilityMode::Fsync => sluice_storage::Durability::Fsync,
        }
    }
}

/// Whether requests must carry a valid SigV4 signature.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Any signature, or none, is accepted; every request acts for `--account-id`.
    #[default]
    Off,
    /// Every API request must be signed by a key of `--credentials`.
    Verify,
}

/// Log output format.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Human,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The `--config` TOML file: the keys of [`ServeArgs`] in snake_case, all optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// See `--bind`.
    pub bind: Option<String>,
    /// See `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// See `--region`.
    pub region: Option<String>,
    /// See `--account-id`.
    pub account_id: Option<String>,
    /// See `--public-url`.
    pub public_url: Option<String>,
    /// See `--durability`.
    pub durability: Option<DurabilityMode>,
    /// See `--max-connections`.
    pub max_connections: Option<usize>,
    /// See `--kinesis-limits`.
    pub kinesis_limits: Option<bool>,
    /// See `--kinesis-transition-ms`.
    pub kinesis_transition_ms: Option<u64>,
    /// See `--subscription-lifetime`.
    pub subscription_lifetime: Option<u64>,
    /// See `--max-body-bytes`.
    pub max_body_bytes: Option<usize>,
    /// See `--log-format`.
    pub log_format: Option<LogFormat>,
    /// See `--log-level`.
    pub log_level: Option<String>,
    /// See `--shutdown-timeout`.
    pub shutdown_timeout: Option<u64>,
    /// See `--header-read-timeout`.
    pub header_read_timeout: Option<u64>,
    /// See `--idle-timeout`.
    pub idle_timeout: Option<u64>,
    /// See `--body-read-timeout`.
    pub body_read_timeout: Option<u64>,
    /// See `--max-header-bytes`.
    pub max_header_bytes: Option<usize>,
    /// See `--tls-cert`.
    pub tls_cert: Option<PathBuf>,
    /// See `--tls-key`.
    pub tls_key: Option<PathBuf>,
    /// See `--metrics-max-resources`.
    pub metrics_max_resources: Option<usize>,
    /// See `--queue-hot-messages`.
    pub queue_hot_messages: Option<u64>,
    /// See `--init`.
    pub init: Option<PathBuf>,
    /// See `--auth`.
    pub auth: Option<AuthMode>,
    /// See `--credentials`.
    pub credentials: Option<PathBuf>,
    /// See `--checkpoint-dir`.
    pub checkpoint_dir: Option<PathBuf>,
    /// See `--sns-https-ca`.
    pub sns_https_ca: Option<PathBuf>,
    /// See `--admin-bind`.
    pub admin_bind: Option<String>,
    /// See `--plain-bind`.
    pub plain_bind: Option<String>,
    /// See `--runtime-api-host`.
    pub runtime_api_host: Option<String>,
    /// See `--cluster`.
    pub cluster: Option<String>,
    /// See `--node-id`.
    pub node_id: Option<String>,
    /// See `--advertise`.
    pub advertise: Option<String>,
    /// See `--cluster-append-window`.
    pub cluster_append_window: Option<u8>,
    /// See `--cluster-append-linger-us`.
    pub cluster_append_linger_us: Option<u32>,
    /// See `--cluster-snapshot-every`.
    pub cluster_snapshot_every: Option<u64>,
    /// See `--cluster-lease-ttl-ms`.
    pub cluster_lease_ttl_ms: Option<u32>,
    /// See `--cluster-ca`.
    pub cluster_ca: Option<PathBuf>,
}

impl FileConfig {
    /// Parses the TOML text of a config file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<FileConfig, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_path_buf(),
            // toml's Display spans several lines (it quotes the offending line); the message
            // alone ("unknown field `bnd`, expected one of ...") is the useful part.
            message: e.message().to_string(),
        })
    }

    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        FileConfig::parse(&text, path)
    }
}

/// A setting could not be loaded or is invalid.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML or has an unknown key or a wrong type.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, from the TOML parser.
        message: String,
    },
    /// A value is out of range or malformed.
    #[error("invalid {key}: {message}")]
    Invalid {
        /// The setting's flag name.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// Fully resolved and validated settings of `sluice serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Listen address (host:port; host may be a name).
    pub bind: String,
    /// RocksDB folder.
    pub data_dir: PathBuf,
    /// Default region.
    pub region: String,
    /// Account id of every resource.
    pub account_id: String,
    /// Base URL of queue URLs, without trailing slash.
    pub public_url: Option<String>,
    /// Write durability.
    pub durability: DurabilityMode,
    /// Concurrent connection bound.
    pub max_connections: usize,
    /// Per-shard Kinesis throughput limits on.
    pub kinesis_limits: bool,
    /// How long Kinesis status transitions last.
    pub kinesis_transition: Duration,
    /// How long a SubscribeToShard event stream lasts.
    pub subscription_lifetime: Duration,
    /// Request body limit in bytes.
    pub max_body_bytes: usize,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter directive (overridden by `RUST_LOG` at start-up).
    pub log_level: String,
    /// Drain deadline at shutdown.
    pub shutdown_timeout: Duration,
    /// Deadline for a request's headers.
    pub header_read_timeout: Duration,
    /// How long a connection may sit with no request in progress.
    pub idle_timeout: Duration,
    /// Deadline for a request's body.
    pub body_read_timeout: Duration,
    /// Request head size limit.
    pub max_header_bytes: usize,
    /// Certificate chain and key for HTTPS; plain HTTP when `None`.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Per-resource metric series cap, per resource kind.
    pub metrics_max_resources: usize,
    /// Most messages of one queue held in memory.
    pub queue_hot_messages: usize,
    /// Resources to declare at start-up.
    pub init: Option<PathBuf>,
    /// Signature checking.
    pub auth: AuthMode,
    /// Access keys for `verify`.
    pub credentials: Option<PathBuf>,
    /// Where checkpoints go; `None` disables `POST /admin/checkpoint`.
    pub checkpoint_dir: Option<PathBuf>,
    /// Extra CA certificates for SNS https deliveries.
    pub sns_https_ca: Option<PathBuf>,
    /// A second listener for the admin routes only.
    pub admin_bind: Option<String>,
    /// A plain-HTTP listener for the whole API beside the TLS one.
    pub plain_bind: Option<String>,
    /// The address the functions' Runtime API listeners bind.
    pub runtime_api_host: std::net::IpAddr,
    /// Cluster mode, when on.
    pub cluster: Option<ClusterSettings>,
}

/// How this node joins a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    /// NATS server URLs.
    pub nats_urls: Vec<String>,
    /// This node's id.
    pub node_id: String,
    /// Where clients and other nodes reach this node.
    pub advertise: String,
    /// Appends the writer keeps in flight at once.
    pub append_window: usize,
    /// The least time between two appends while commits keep coming.
    pub append_linger: std::time::Duration,
    /// Log entries between two snapshots (0: never).
    pub snapshot_every: u64,
    /// How long the writer's lease lasts without a renewal.
    pub lease_ttl: std::time::Duration,
    /// CA certificates trusted for the writer's HTTPS certificate, besides the system's.
    pub ca: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: defaults::BIND.to_string(),
            data_dir: PathBuf::from(defaults::DATA_DIR),
            region: defaults::REGION.to_string(),
            account_id: defaults::ACCOUNT_ID.to_string(),
            public_url: None,
            durability: DurabilityMode::default(),
            max_connections: defaults::MAX_CONNECTIONS,
            kinesis_limits: false,
            kinesis_transition: Duration::from_millis(500),
            subscription_lifetime: Duration::from_secs(300),
            max_body_bytes: defaults::MAX_BODY_BYTES,
            log_format: LogFormat::default(),
            log_level: defaults::LOG_LEVEL.to_string(),
            shutdown_timeout: Duration::from_secs(defaults::SHUTDOWN_TIMEOUT_SECS),
            header_read_timeout: Duration::from_secs(defaults::HEADER_READ_TIMEOUT_SECS),
            idle_timeout: Duration::from_secs(defaults::IDLE_TIMEOUT_SECS),
            body_read_timeout: Duration::from_secs(defaults::BODY_READ_TIMEOUT_SECS),
            max_header_bytes: defaults::MAX_HEADER_BYTES,
            tls: None,
            metrics_max_resources: defaults::METRICS_MAX_RESOURCES,
            queue_hot_messages: sluice_broker::queue::DEFAULT_HOT_MESSAGES,
            init: None,
            auth: AuthMode::default(),
            credentials: None,
            checkpoint_dir: None,
            sns_https_ca: None,
            admin_bind: None,
            plain_bind: None,
            runtime_api_host: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            cluster: None,
        }
    }
}

impl Settings {
    /// Resolves flags and environment (already merged by clap), then the `--config` file, then
    /// the defaults, and validates the result.
    pub fn resolve(args: ServeArgs) -> Result<Settings, ConfigError> {
        let file = match &args.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        Settings::merge(args, file)
    }

    /// Merges command line/environment values over file values over defaults, then validates.
    pub fn merge(args: ServeArgs, file: FileConfig) -> Result<Settings, ConfigError> {
        let d = Settings::default();
        let settings = Settings {
            bind: args.bind.or(file.bind).unwrap_or(d.bind),
            data_dir: args.data_dir.or(file.data_dir).unwrap_or(d.data_dir),
            region: args.region.or(file.region).unwrap_or(d.region),
            account_id: args.account_id.or(file.account_id).unwrap_or(d.account_id),
            public_url: args.public_url.or(file.public_url),
            durability: args.durability.or(file.durability).unwrap_or(d.durability),
            max_connections: args
                .max_connections
                .or(file.max_connections)
                .unwrap_or(d.max_connections),
            kinesis_limits: args.kinesis_limits.or(file.kinesis_limits).unwrap_or(d.kinesis_limits),
            kinesis_transition: args
                .kinesis_transition_ms
                .or(file.kinesis_transition_ms)
                .map(Duration::from_millis)
                .unwrap_or(d.kinesis_transition),
            subscription_lifetime: args
                .subscription_lifetime
                .or(file.subscription_lifetime)
                .filter(|secs| *secs > 0)
                .map(Duration::from_secs)
                .unwrap_or(d.subscription_lifetime),
            max_body_bytes: args.max_body_bytes.or(file.max_body_bytes).unwrap_or(d.max_body_bytes),
            log_format: args.log_format.or(file.log_format).unwrap_or(d.log_format),
            log_level: args.log_level.or(file.log_level).unwrap_or(d.log_level),
            shutdown_timeout: args
                .shutdown_timeout
                .or(file.shutdown_timeout)
                .map(Duration::from_secs)
                .unwrap_or(d.shutdown_timeout),
            idle_timeout: args
                .idle_timeout
                .or(file.idle_timeout)
                .map(Duration::from_secs)
                .unwrap_or(d.idle_timeout),
            header_read_timeout: args
                .header_read_timeout
                .or(file.header_read_timeout)
                .map(Duration::from_secs)
                .unwrap_or(d.header_read_timeout),
            body_read_timeout: args
                .body_read_timeout
                .or(file.body_read_timeout)
                .map(Duration::from_secs)
                .unwrap_or(d.body_read_timeout),
            max_header_bytes: args
                .max_header_bytes
                .or(file.max_header_bytes)
                .unwrap_or(d.max_header_bytes),
            tls: match (args.tls_cert.or(file.tls_cert), args.tls_key.or(file.tls_key)) {
                (Some(cert), Some(key)) => Some((cert, key)),
                (None, None) => None,
                _ => return Err(invalid("tls-cert", "--tls-cert and --tls-key go together")),
            },
            metrics_max_resources: args
                .metrics_max_resources
                .or(file.metrics_max_resources)
                .unwrap_or(d.metrics_max_resources),
            queue_hot_messages: match args.queue_hot_messages.or(file.queue_hot_messages) {
                Some(0) => return Err(invalid("queue-hot-messages", "must be at least 1")),
                Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
                None => d.queue_hot_messages,
            },
            init: args.init.or(file.init),
            auth: args.auth.or(file.auth).unwrap_or(d.auth),
            credentials: args.credentials.or(file.credentials),
            checkpoint_dir: args.checkpoint_dir.or(file.checkpoint_dir),
            sns_https_ca: args.sns_https_ca.or(file.sns_https_ca),
            admin_bind: args.admin_bind.or(file.admin_bind),
            plain_bind: args.plain_bind.or(file.plain_bind),
            runtime_api_host: match args.runtime_api_host.or(file.runtime_api_host) {
                None => d.runtime_api_host,
                Some(text) => text.parse().map_err(|_| {
                    invalid(
                        "runtime-api-host",
                        format!("{text:?} is not an IP address such as 127.0.0.1"),
                    )
                })?,
            },
            cluster: cluster_settings(
                args.cluster.or(file.cluster),
                args.node_id.or(file.node_id),
                args.advertise.or(file.advertise),
                ClusterTuning {
                    append_window: args.cluster_append_window.or(file.cluster_append_window),
                    append_linger_us: args.cluster_append_linger_us.or(file.cluster_append_linger_us),
                    snapshot_every: args.cluster_snapshot_every.or(file.cluster_snapshot_every),
                    lease_ttl_ms: args.cluster_lease_ttl_ms.or(file.cluster_lease_ttl_ms),
                },
                args.cluster_ca.or(file.cluster_ca),
            )?,
        };
        settings.validated()
    }

    fn validated(mut self) -> Result<Settings, ConfigError> {
        if let (Some(cluster), Some(_)) = (&self.cluster, &self.tls) {
            // Standbys forward to the writer at its advertised URL: plain HTTP to a TLS port
            // would fail every forwarded call.
            if !cluster.advertise.starts_with("https://") {
                return Err(invalid(
                    "advertise",
                    "with --tls-cert every node serves HTTPS: --advertise must be an https:// URL",
                ));
            }
            if self.plain_bind.is_some() {
                return Err(invalid(
                    "plain-bind",
                    "--plain-bind is not supported in cluster mode yet",
                ));
            }
        }
        if self.plain_bind.is_some() && self.tls.is_none() {
            return Err(invalid(
                "plain-bind",
                "--plain-bind adds plain HTTP beside HTTPS; without --tls-cert, --bind already serves plain HTTP",
            ));
        }
        if self.bind.trim().is_empty() {
            return Err(invalid("bind", "must be host:port"));
        }
        if self.region.is_empty()
            || !self
                .region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(invalid(
                "region",
                format!("{:?} is not a region name like us-east-1", self.region),
            ));
        }
        if self.account_id.len() != 12 || !self.account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("account-id", format!("{:?} is not 12 digits", self.account_id)));
        }
        if let Some(url) = self.public_url.take() {
            let trimmed = url.trim_end_matches('/');
            let rest = trimmed
                .strip_prefix("http://")
                .or_else(|| trimmed.strip_prefix("https://"));
            match rest {
                Some(host) if !host.is_empty() => self.public_url = Some(trimmed.to_string()),
                _ => {
                    return Err(invalid(
                        "public-url",
                        format!("{url:?} is not an http:// or https:// URL"),
                    ))
                }
            }
        }
        if self.max_connections == 0 || self.max_connections > MAX_CONNECTIONS_LIMIT {
            return Err(invalid(
                "max-connections",
                format!("must be between 1 and {MAX_CONNECTIONS_LIMIT}"),
            ));
        }
        if self.max_body_bytes < 1024 {
            return Err(invalid("max-body-bytes", "must be at least 1024"));
        }
        if self.idle_timeout.is_zero() {
            return Err(invalid("idle-timeout", "must be at least 1 second"));
        }
        if self.header_read_timeout.is_zero() {
            return Err(invalid("header-read-timeout", "must be at least 1 second"));
        }
        if self.body_read_timeout.is_zero() {
            return Err(invalid("body-read-timeout", "must be at least 1 second"));
        }
        // hyper's HTTP/1 read buffer cannot be smaller than 8 KiB.
        if self.max_header_bytes < 8192 {
            return Err(invalid("max-header-bytes", "must be at least 8192"));
        }
        if self.auth == AuthMode::Verify && self.credentials.is_none() {
            return Err(invalid("auth", "verify needs --credentials FILE with the access keys"));
        }
        Ok(self)
    }
}

/// Log entries between two snapshots unless `--cluster-snapshot-every` says otherwise: a
/// standby that lags by less never needs a snapshot, and a node that restores one replays at
/// most twice that.
const DEFAULT_SNAPSHOT_EVERY: u64 = 100_000;

/// The cluster's optional tuning, as given (unset: the defaults).
struct ClusterTuning {
    append_window: Option<u8>,
    append_linger_us: Option<u32>,
    snapshot_every: Option<u64>,
    lease_ttl_ms: Option<u32>,
}

/// The writer's lease unless `--cluster-lease-ttl-ms` says otherwise.
const DEFAULT_LEASE_TTL_MS: u32 = 4_000;

/// Cluster mode's three settings go together: all or none.
fn cluster_settings(
    urls: Option<String>,
    node_id: Option<String>,
    advertise: Option<String>,
    tuning: ClusterTuning,
    ca: Option<PathBuf>,
) -> Result<Option<ClusterSettings>, ConfigError> {
    let ClusterTuning {
        append_window,
        append_linger_us,
        snapshot_every,
        lease_ttl_ms,
    } = tuning;
    let (urls, node_id, advertise) = match (urls, node_id, advertise) {
        (None, None, None) => return Ok(None),
        (Some(urls), Some(node_id), Some(advertise)) => (urls, node_id, advertise),
        _ => return Err(invalid("cluster", "--cluster, --node-id and --advertise go together")),
    };
    let nats_urls: Vec<String> = urls
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .collect();
    if nats_urls.is_empty() {
        return Err(invalid(
            "cluster",
            "needs at least one NATS URL, e.g. nats://127.0.0.1:4222",
        ));
    }
    if node_id.is_empty()
        || !node_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid(
            "node-id",
            format!("{node_id:?} must be letters, digits, - and _"),
        ));
    }
    if !(advertise.starts_with("http://") || advertise.starts_with("https://")) {
        return Err(invalid(
            "advertise",
            format!("{advertise:?} is not an http:// or https:// URL"),
        ));
    }
    Ok(Some(ClusterSettings {
        nats_urls,
        node_id,
        advertise: advertise.trim_end_matches('/').to_string(),
        append_window: match append_window {
            None => 1,
            Some(n @ 1..=64) => usize::from(n),
            Some(n) => return Err(invalid("cluster-append-window", format!("{n} is not between 1 and 64"))),
        },
        append_linger: match append_linger_us {
            None => std::time::Duration::ZERO,
            Some(us @ 0..=100_000) => std::time::Duration::from_micros(u64::from(us)),
            Some(us) => {
                return Err(invalid(
                    "cluster-append-linger-us",
                    format!("{us} is not between 0 and 100000"),
                ))
            }
        },
        snapshot_every: snapshot_every.unwrap_or(DEFAULT_SNAPSHOT_EVERY),
        lease_ttl: match lease_ttl_ms.unwrap_or(DEFAULT_LEASE_TTL_MS) {
            ms @ 1_000..=60_000 => std::time::Duration::from_millis(u64::from(ms)),
            ms => {
                return Err(invalid(
                    "cluster-lease-ttl-ms",
                    format!("{ms} is not between 1000 and 60000"),
                ))
            }
        },
        ca,
    }))
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Tests that parse the command line read the process environment; they take this lock so
    /// that one test's `SLUICE_*` variables never leak into another.
    static ENV_LOCK: Mutex<()> = Mutex::new(());

    fn parse(argv: &[&str]) -> ServeArgs {
        let cli = Cli::try_parse_from(argv).expect("valid command line");
        match cli.command {
            Command::Serve(args) => args,
            Command::Handlers(_) => panic!("not a serve command line"),
        }
    }

    #[test]
    fn handlers_take_a_command_after_the_separator() {
        let cli = Cli::try_parse_from([
            "sluice",
            "handlers",
            "--function",
            "f",
            "--count",
            "2",
            "--",
            "python3",
            "-m",
            "x",
        ])
        .expect("valid command line");
        let Command::Handlers(args) = cli.command else {
            panic!("not a handlers command line");
        };
        assert_eq!((args.function.as_str(), args.count), ("f", 2));
        assert_eq!(args.command, ["python3", "-m", "x"]);
        assert!(Cli::try_parse_from(["sluice", "handlers", "--function", "f"]).is_err());
    }

    #[test]
    fn plain_bind_needs_tls_and_the_subscription_lifetime_is_settable() {
        let _guard = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let err = Settings::merge(
            parse(&["sluice", "serve", "--plain-bind", "127.0.0.1:4567"]),
            FileConfig::default(),
        )
        .expect_err("plain-bind without TLS");
        assert!(err.to_string().contains("plain-bind"), "{err}");
        let s = Settings::merge(
            parse(&[
                "sluice",
                "serve",
                "--tls-cert",
                "c.pem",
                "--tls-key",
                "k.pem",
                "--plain-bind",
                "127.0.0.1:4567",
                "--subscription-lifetime",
                "60",
            ]),
            FileConfig::default(),
        )
        .expect("valid");
        assert_eq!(s.plain_bind.as_deref(), Some("127.0.0.1:4567"));
        assert_eq!(s.subscription_lifetime, Duration::from_secs(60));
        assert_eq!(Settings::default().subscription_lifetime, Duration::from_secs(300));
    }

    #[test]
    fn cluster_settings_go_together_and_are_checked() {
        let _guard = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let merge = |extra: &[&str]| {
            let mut argv = vec!["sluice", "serve"];
            argv.extend_from_slice(extra);
            Settings::merge(parse(&argv), FileConfig::default())
        };
        let s = merge(&[
            "--cluster",
            "nats://127.0.0.1:4222, nats://127.0.0.1:4223",
            "--node-id",
            "node-1",
            "--advertise",
            "http://10.0.0.1:4566/",
        ])
        .expect("valid");
        assert_eq!(
            s.cluster,
            Some(ClusterSettings {
                nats_urls: vec!["nats://127.0.0.1:4222".into(), "nats://127.0.0.1:4223".into()],
                node_id: "node-1".into(),
                advertise: "http://10.0.0.1:4566".into(),
                append_window: 1,
                append_linger: std::time::Duration::ZERO,
                snapshot_every: 100_000,
                lease_ttl: std::time::Duration::from_secs(4),
                ca: None,
            })
        );
        for (args, key) in [
            (&["--cluster", "nats://h:4222"][..], "cluster"),
            (&["--node-id", "n1", "--advertise", "http://h:1"][..], "cluster"),
            (
                &["--cluster", " , ", "--node-id", "n1", "--advertise", "http://h:1"][..],
                "cluster",
            ),
            (
                &[
                    "--cluster",
                    "nats://h:4222",
                    "--node-id",
                    "n 1",
                    "--advertise",
                    "http://h:1",
                ][..],
                "node-id",
            ),
            (
                &["--cluster", "nats://h:4222", "--node-id", "n1", "--advertise", "h:1"][..],
                "advertise",
            ),
        ] {
            let err = merge(args).expect_err("refused");
            assert!(err.to_string().contains(key), "{args:?}: {err}");
        }
        // --init is applied by whichever node takes over; the window is a setting.
        let base = [
            "--cluster",
            "nats://h:4222",
            "--node-id",
            "n1",
            "--advertise",
            "http://h:1",
        ];
        let s = merge(
            &[
                &base[..],
                &[
                    "--init",
                    "i.yaml",
                    "--cluster-append-window",
                    "4",
                    "--cluster-append-linger-us",
                    "1500",
                    "--cluster-snapshot-every",
                    "50",
                    "--cluster-lease-ttl-ms",
                    "2500",
                ][..],
            ]
            .concat(),
        )
        .expect("--init, an append window and a linger are accepted in cluster mode");
        // TLS: every node serves HTTPS, so the address others forward to must say so.
        let tls = ["--tls-cert", "c.pem", "--tls-key", "k.pem", "--node-id", "n1"];
        let err = merge(&[&tls[..], &["--cluster", "nats://h:4222", "--advertise", "http://h:1"]].concat())
            .expect_err("an http:// address with TLS");
        assert!(err.to_string().contains("advertise"), "{err}");
        let with_tls = merge(
            &[
                &tls[..],
                &[
                    "--cluster",
                    "nats://h:4222",
                    "--advertise",
                    "https://h:1",
                    "--cluster-ca",
                    "ca.pem",
                ],
            ]
            .concat(),
        )
        .expect("TLS in cluster mode");
        assert_eq!(with_tls.cluster.and_then(|c| c.ca), Some(PathBuf::from("ca.pem")));
        let c = s.cluster.expect("cluster settings");
        assert_eq!(
            (c.append_window, c.append_linger, c.snapshot_every, c.lease_ttl),
            (
                4,
                std::time::Duration::from_micros(1500),
                50,
                std::time::Duration::from_millis(2500)
            )
        );
        // A lease shorter than a second would expire between renewals of a loaded writer.
        for ttl in ["999", "60001"] {
            let err = Cli::try_parse_from(
                [
                    &["sluice", "serve"][..],
                    &base[..],
                    &["--cluster-lease-ttl-ms", ttl][..],
                ]
                .concat(),
            )
            .err()
            .map(|e| e.to_string());
            assert!(err.is_some_and(|e| e.contains("cluster-lease-ttl-ms")), "{ttl} refused");
        }
    }

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        let _guard = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let s = Settings::merge(parse(&["sluice", "serve"]), FileConfig::default()).expect("valid");
        assert_eq!(s, Settings::default());
        assert_eq!(s.bind, "127.0.0.1:4566");
        assert_eq!(s.data_dir, PathBuf::from("./sluice-data"));
        assert_eq!(s.account_id, "000000000000");
        assert_eq!(s.durability, DurabilityMode::Process);
    }

    #[test]
    fn precedence_is_flag_then_env_then_file_then_default() {
        let _guard = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let file = FileConfig::parse(
            r#"
            bind = "0.0.0.0:1111"
            region = "eu-west-1"
            data_dir = "/from/file"
            max_connections = 7
            "#,
            Path::new("test.toml"),
        )
        .expect("valid toml");
        // SAFETY (edition 2021: safe fn): ENV_LOCK serializes every test that reads SLUICE_*.
        std::env::set_var("SLUICE_REGION", "ap-south-1");
        std::env::set_var("SLUICE_BIND", "127.0.0.1:2222");
        let args = parse(&["sluice", "serve", "--bind", "127.0.0.1:3333"]);
        std::env::remove_var("SLUICE_REGION");
        std::env::remove_var("SLUICE_BIND");
        let s = Settings::merge(args, file).expect("valid");
        assert_eq!(s.bind, "127.0.0.1:3333", "flag beats env and file");
        assert_eq!(s.region, "ap-south-1", "env beats file");
        assert_eq!(s.data_dir, PathBuf::from("/from/file"), "file beats default");
        assert_eq!(s.max_connections, 7);
        assert_eq!(s.max_body_bytes, defaults::MAX_BODY_BYTES, "default last");
    }

    #[test]
    fn every_flag_parses() {
        let _guard = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let args = parse(&[
            "sluice",
            "serve",
            "--bind=0.0.0.0:4566",
            "--data-dir=/tmp/d",
            "--region=eu-central-1",
            "--account-id=123456789012",
            "--public-url=https://sqs.example.com/",
            "--durability=fsync",
            "--max-connections=10",
            "--max-body-bytes=2048",
            "--log-format=json",
            "--log-level=debug",
            "--shutdown-timeout=5",
            "--header-read-timeout=7",
        ]);
        let s = Settings::merge(args, FileConfig::default()).expect("valid");
        assert_eq!(
            s.public_url.as_deref(),
            Some("https://sqs.example.com"),
            "trailing slash trimmed"
        );
        assert_eq!(s.durability, DurabilityMode::Fsync);
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.shutdown_timeout, Duration::from_secs(5));
        assert_eq!(s.header_read_timeout, Duration::from_secs(7));
        assert_eq!(s.account_id, "123456789012");
    }

    #[test]
    fn kinesis_flags_and_file_keys_parse() {
        let _guard = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let defaults = Settings::merge(parse(&["sluice", "serve"]), FileConfig::default()).expect("valid");
        assert!(!defaults.kinesis_limits, "AWS realism is off by default");
        assert_eq!(defaults.kinesis_transition, Duration::from_millis(500));
        let args = parse(&["sluice", "serve", "--kinesis-limits=true", "--kinesis-transition-ms=0"]);
        let s = Settings::merge(args, FileConfig::default()).expect("valid");
        assert!(s.kinesis_limits);
        assert_eq!(s.kinesis_transition, Duration::ZERO);
        let file = FileConfig::parse(
            "kinesis_limits = true\nkinesis_transition_ms = 20\n",
            Path::new("k.toml"),
        )
        .expect("file");
        let s = Settings::merge(parse(&["sluice", "serve"]), file).expect("valid");
        assert!(s.kinesis_limits);
        assert_eq!(s.kinesis_transition, Duration::from_millis(20));
    }

    #[test]
    fn toml_file_with_every_key_parses() {
        let file = FileConfig::parse(
            r#"
            bind = "0.0.0.0:4566"
            data_dir = "/var/lib/sluice"
            region = "us-west-2"
            account_id = "111122223333"
            public_url = "http://sluice:4566"
            durability = "fsync"
            max_connections = 64
            max_body_bytes = 1048576
            log_format = "json"
            log_level = "warn"
            shutdown_timeout = 3
            header_read_timeout = 4
            "#,
            Path::new("full.toml"),
        )
        .expect("valid toml");
        let s = Settings::merge(ServeArgs::default(), file).expect("valid");
        assert_eq!(s.durability, DurabilityMode::Fsync);
        assert_eq!(s.public_url.as_deref(), Some("http://sluice:4566"));
        assert_eq!(s.max_body_bytes, 1 << 20);
    }

    #[test]
    fn toml_unknown_key_is_a_clear_error() {
        let err = FileConfig::parse("bnd = \"0.0.0.0:1\"\n", Path::new("/etc/sluice.toml")).expect_err("unknown key");
        let text = err.to_string();
        assert!(text.contains("/etc/sluice.toml"), "{text}");
        assert!(text.contains("unknown field `bnd`"), "{text}");
        assert!(!text.contains('\n'), "one line: {text}");
    }

    #[test]
    fn toml_wrong_value_is_an_error() {
        let err = FileConfig::parse("durability = \"sometimes\"\n", Path::new("x.toml")).expect_err("bad enum");
        assert!(err.to_string().contains("sometimes"), "{err}");
        FileConfig::parse("max_connections = \"many\"\n", Path::new("x.toml")).expect_err("bad type");
    }

    #[test]
    fn invalid_values_are_rejected() {
        let bad = [
            ServeArgs {
                account_id: Some("123".into()),
                ..ServeArgs::default()
            },
            ServeArgs {
                region: Some("US East".into()),
                ..ServeArgs::default()
            },
            ServeArgs {
                public_url: Some("sluice:4566".into()),
                ..ServeArgs::default()
            },
            ServeArgs {
                max_connections: Some(0),
                ..ServeArgs::default()
            },
            ServeArgs {
                max_body_bytes: Some(10),
                ..ServeArgs::default()
            },
        ];
        for args in bad {
            let debug = format!("{args:?}");
            Settings::merge(args, FileConfig::default()).expect_err(&debug);
        }
    }

    #[test]
    fn verify_needs_a_credentials_file() {
        let args = ServeArgs {
            auth: Some(AuthMode::Verify),
            ..ServeArgs::default()
        };
        assert!(Settings::merge(args, FileConfig::default()).is_err());
        let args = ServeArgs {
            auth: Some(AuthMode::Verify),
            credentials: Some(PathBuf::from("keys.yaml")),
            ..ServeArgs::default()
        };
        assert_eq!(
            Settings::merge(args, FileConfig::default()).map(|s| s.auth).ok(),
            Some(AuthMode::Verify)
        );
    }

    #[test]
    fn missing_config_file_is_a_read_error() {
        let args = ServeArgs {
            config: Some(PathBuf::from("/nonexistent/sluice.toml")),
            ..ServeArgs::default()
        };
        let err = Settings::resolve(args).expect_err("missing file");
        assert!(matches!(err, ConfigError::Read { .. }), "{err}");
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
