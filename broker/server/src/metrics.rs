//! Prometheus metrics of the server, declared once and owned by the [`crate::app::App`].
//!
//! # Layout
//! - [`Metrics`]: one `prometheus::Registry` (no global statics, so tests and embedded servers
//!   each get their own) holding the request counter and latency histogram.
//! - [`Outcome`]: the bounded outcome label.
//! - [`KinesisMetrics`]: stream traffic (records and bytes in and out, throttles) and iterator
//!   age (`MillisBehindLatest`), without per-stream labels.
//!
//! # Invariant
//! Label values come from bounded sets: services from [`crate::wire::Service::label`],
//! actions from the protocol crates' action enums or `"unknown"`, outcomes from [`Outcome`].
//! Never put a queue name, request id or client-supplied string into a label.

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

/// Latency buckets in seconds: sub-millisecond hot path up to 20 s long polls.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0,
];

/// How a request ended, as a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Success,
    /// 4xx: the client's fault (validation, missing queue, throttling).
    ClientError,
    /// 5xx: ours.
    ServerError,
}

impl Outcome {
    /// Classifies an HTTP status.
    pub fn from_status(status: http::StatusCode) -> Outcome {
        if status.is_server_error() {
            Outcome::ServerError
        } else if status.is_client_error() {
            Outcome::ClientError
        } else {
            Outcome::Success
        }
    }

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::ClientError => "client_error",
            Outcome::ServerError => "server_error",
        }
    }
}

/// The server's metrics and their registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    open_connections: IntGauge,
    kinesis: KinesisMetrics,
}

/// Metric registration failed; only possible through a programming error (duplicate names).
#[derive(Debug, thiserror::Error)]
#[error("metrics registration failed: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Creates the registry and registers every metric of the server.
    pub fn new() -> Result<Metrics, MetricsError> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("sluice_requests_total", "API requests by service, action and outcome"),
            &["service", "action", "outcome"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "sluice_request_duration_seconds",
                "API request latency by service and action",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["service", "action"],
        )?;
        let open_connections = IntGauge::new("sluice_open_connections", "Client connections currently open")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(open_connections.clone()))?;
        let kinesis = KinesisMetrics::register(&registry)?;
        Ok(Metrics {
            registry,
            requests,
            duration,
            open_connections,
            kinesis,
        })
    }

    /// The registry, for other components (core, storage gauges) to register into.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Records one finished API request.
    pub fn observe_request(&self, service: &'static str, action: &'static str, outcome: Outcome, seconds: f64) {
        self.requests
            .with_label_values(&[service, action, outcome.label()])
            .inc();
        self.duration.with_label_values(&[service, action]).observe(seconds);
    }

    /// The open-connections gauge, moved up and down by the listener.
    pub fn open_connections(&self) -> &IntGauge {
        &self.open_connections
    }

    /// Kinesis stream traffic.
    pub fn kinesis(&self) -> &KinesisMetrics {
        &self.kinesis
    }

    /// Renders every metric in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec only fails on inconsistent metric families, which registration
        // already rejected; an empty page is the harmless fallback.
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "metrics encoding failed");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Buckets of `MillisBehindLatest`: caught up, seconds, minutes, hours, a day.
const ITERATOR_AGE_BUCKETS: &[f64] = &[0.0, 1_000.0, 10_000.0, 60_000.0, 600_000.0, 3_600_000.0, 86_400_000.0];

/// Kinesis traffic; `direction` is `in` (puts) or `out` (GetRecords).
#[derive(Clone)]
pub struct KinesisMetrics {
    records: IntCounterVec,
    bytes: IntCounterVec,
    throttled: IntCounterVec,
    iterator_age: prometheus::Histogram,
    subscriptions: prometheus::IntGauge,
}

/// Decrements the open-subscriptions gauge when dropped.
pub struct SubscriptionGauge(prometheus::IntGauge);

impl Drop for SubscriptionGauge {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl KinesisMetrics {
    fn register(registry: &Registry) -> Result<KinesisMetrics, MetricsError> {
        let records = IntCounterVec::new(
            Opts::new(
                "sluice_kinesis_records_total",
                "Kinesis records stored (in) and returned (out)",
            ),
            &["direction"],
        )?;
        let bytes = IntCounterVec::new(
            Opts::new(
                "sluice_kinesis_bytes_total",
                "Kinesis record data bytes stored (in) and returned (out)",
            ),
            &["direction"],
        )?;
        let throttled = IntCounterVec::new(
            Opts::new(
                "sluice_kinesis_throttled_total",
                "Kinesis records (in) and GetRecords calls (out) refused by --kinesis-limits",
            ),
            &["direction"],
        )?;
        let iterator_age = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "sluice_kinesis_iterator_age_milliseconds",
                "MillisBehindLatest of GetRecords answers",
            )
            .buckets(ITERATOR_AGE_BUCKETS.to_vec()),
        )?;
        registry.register(Box::new(records.clone()))?;
        registry.register(Box::new(bytes.clone()))?;
        registry.register(Box::new(throttled.clone()))?;
        let subscriptions = prometheus::IntGauge::new(
            "sluice_kinesis_subscriptions",
            "Open SubscribeToShard event streams (enhanced fan-out)",
        )?;
        registry.register(Box::new(iterator_age.clone()))?;
        registry.register(Box::new(subscriptions.clone()))?;
        Ok(KinesisMetrics {
            records,
            bytes,
            throttled,
            iterator_age,
            subscriptions,
        })
    }

    /// Counts an open event stream until the returned guard is dropped.
    pub fn subscription_opened(&self) -> SubscriptionGauge {
        self.subscriptions.inc();
        SubscriptionGauge(self.subscriptions.clone())
    }

    /// Records stored by a put.
    pub fn stored(&self, records: u64, bytes: u64) {
        self.records.with_label_values(&["in"]).inc_by(records);
        self.bytes.with_label_values(&["in"]).inc_by(bytes);
    }

    /// Records returned by a GetRecords, and how far behind the reader is.
    pub fn returned(&self, records: u64, bytes: u64, millis_behind: u64) {
        self.records.with_label_values(&["out"]).inc_by(records);
        self.bytes.with_label_values(&["out"]).inc_by(bytes);
        self.iterator_age.observe(millis_behind as f64);
    }

    /// Records (`in`) or calls (`out`) refused by the throughput limits.
    pub fn throttled(&self, direction: &'static str, count: u64) {
        self.throttled.with_label_values(&[direction]).inc_by(count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_show_up_in_text_output() {
        let m = Metrics::new().expect("metrics");
        m.observe_request("sqs", "SendMessage", Outcome::Success, 0.002);
        m.observe_request(
            "sqs",
            "SendMessage",
            Outcome::from_status(http::StatusCode::BAD_REQUEST),
            0.001,
        );
        let text = m.render();
        assert!(
            text.contains(r#"sluice_requests_total{action="SendMessage",outcome="success",service="sqs"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"outcome="client_error""#), "{text}");
        assert!(text.contains("sluice_request_duration_seconds_bucket"), "{text}");
    }

    #[test]
    fn kinesis_traffic_shows_up() {
        let m = Metrics::new().expect("metrics");
        m.kinesis().stored(3, 300);
        m.kinesis().returned(2, 200, 1500);
        m.kinesis().throttled("in", 1);
        let text = m.render();
        assert!(
            text.contains(r#"sluice_kinesis_records_total{direction="in"} 3"#),
            "{text}"
        );
        assert!(
            text.contains(r#"sluice_kinesis_bytes_total{direction="out"} 200"#),
            "{text}"
        );
        assert!(
            text.contains(r#"sluice_kinesis_throttled_total{direction="in"} 1"#),
            "{text}"
        );
        assert!(
            text.contains("sluice_kinesis_iterator_age_milliseconds_count 1"),
            "{text}"
        );
    }

    #[test]
    fn two_instances_do_not_share_state() {
        let a = Metrics::new().expect("metrics");
        let b = Metrics::new().expect("metrics");
        a.observe_request("sqs", "ListQueues", Outcome::Success, 0.0);
        assert!(!b.render().contains("ListQueues"));
    }
}
