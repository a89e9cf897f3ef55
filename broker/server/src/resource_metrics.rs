//! Per-resource and storage series, computed when Prometheus scrapes rather than kept up to
//! date on every write: queue depths, oldest-message age, dead-letter depth, per-stream traffic
//! and iterator age, per-topic publishes and deliveries, RocksDB size and compaction backlog,
//! and cluster mode's series ([`crate::cluster_metrics`]).
//!
//! Series are built fresh at each scrape, so a deleted queue's, stream's or topic's series
//! disappear with it. At most `max_resources` queues, and as many streams and topics, get their
//! own series (ordered by
//! account, region, name); the number left out is reported in
//! `sluice_metrics_resources_omitted{kind}`, so a million queues cost one line, not a million.
//! Stream counters count since the broker started, as Prometheus counters do.

use std::sync::Arc;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{GaugeVec, IntCounterVec, IntGauge, IntGaugeVec, Opts};
use sluice_broker::Broker;
use sluice_cluster::Node;
use sluice_storage::Store;

use crate::cluster_metrics::ClusterView;

/// Labels that name a queue uniquely.
const QUEUE_LABELS: &[&str] = &["account", "region", "queue"];
/// Labels that name a stream uniquely.
const STREAM_LABELS: &[&str] = &["account", "region", "stream"];
const TOPIC_LABELS: &[&str] = &["account", "region", "topic"];
const DELIVERY_LABELS: &[&str] = &["account", "region", "topic", "protocol"];
/// Labels that name an event-source mapping (its UUID) with its function and source kind.
const MAPPING_LABELS: &[&str] = &["account", "region", "function", "mapping", "source"];

/// Collects the gauges at scrape time.
pub struct ResourceCollector {
    broker: Arc<Broker>,
    store: Arc<Store>,
    /// The cluster node, in cluster mode.
    node: Option<Arc<Node>>,
    max_resources: usize,
    descs: Vec<Desc>,
}

impl ResourceCollector {
    /// A collector over `broker`, `store` and, in cluster mode, `node`, with a per-kind series
    /// cap.
    pub fn new(
        broker: Arc<Broker>,
        store: Arc<Store>,
        node: Option<Arc<Node>>,
        max_resources: usize,
    ) -> prometheus::Result<Self> {
        let mut descs = Vec::new();
        for family in Self::families(None, None, None)? {
            descs.extend(family.desc().into_iter().cloned());
        }
        Ok(ResourceCollector {
            broker,
            store,
            node,
            max_resources,
            descs,
        })
    }

    /// The metric families, filled from the broker and store when given.
    fn families(
        broker: Option<&Broker>,
        store: Option<(&Store, usize)>,
        node: Option<&Node>,
    ) -> prometheus::Result<Vec<Box<dyn Collector>>> {
        let messages = IntGaugeVec::new(
            Opts::new(
                "sluice_queue_messages",
                "Messages in a queue by state (visible, in_flight, delayed)",
            ),
            &["account", "region", "queue", "state"],
        )?;
        let oldest = GaugeVec::new(
            Opts::new(
                "sluice_queue_oldest_message_age_seconds",
                "Age of the oldest message in a queue (0 when empty)",
            ),
            QUEUE_LABELS,
        )?;
        let dead_letter = IntGaugeVec::new(
            Opts::new(
                "sluice_dead_letter_queue_messages",
                "Messages in queues that some RedrivePolicy names as its dead-letter queue",
            ),
            QUEUE_LABELS,
        )?;
        let omitted = IntGaugeVec::new(
            Opts::new(
                "sluice_metrics_resources_omitted",
                "Resources beyond --metrics-max-resources that have no series of their own",
            ),
            &["kind"],
        )?;
        let stream_counter = |name: &str, help: &str| IntCounterVec::new(Opts::new(name, help), STREAM_LABELS);
        let records_in = stream_counter(
            "sluice_stream_incoming_records_total",
            "Records stored in a Kinesis stream since the broker started",
        )?;
        let bytes_in = stream_counter(
            "sluice_stream_incoming_bytes_total",
            "Record data bytes stored in a Kinesis stream since the broker started",
        )?;
        let records_out = stream_counter(
            "sluice_stream_outgoing_records_total",
            "Records returned by GetRecords since the broker started",
        )?;
        let bytes_out = stream_counter(
            "sluice_stream_outgoing_bytes_total",
            "Record data bytes returned by GetRecords since the broker started",
        )?;
        let iterator_age = IntGaugeVec::new(
            Opts::new(
                "sluice_stream_iterator_age_milliseconds",
                "MillisBehindLatest of the latest GetRecords on the stream",
            ),
            STREAM_LABELS,
        )?;
        let publishes = IntCounterVec::new(
            Opts::new(
                "sluice_topic_publishes_total",
                "Messages published to an SNS topic since the broker started",
            ),
            TOPIC_LABELS,
        )?;
        let deliveries = IntCounterVec::new(
            Opts::new(
                "sluice_topic_deliveries_total",
                "Messages delivered to a topic's subscriptions since the broker started, by protocol",
            ),
            DELIVERY_LABELS,
        )?;
        let delivery_failures = IntCounterVec::new(
            Opts::new(
                "sluice_topic_delivery_failures_total",
                "Failed deliveries to a topic's subscriptions (each failed HTTP attempt counts), by protocol",
            ),
            DELIVERY_LABELS,
        )?;
        let mapping_counter = |name: &str, help: &str| IntCounterVec::new(Opts::new(name, help), MAPPING_LABELS);
        let mapping_invocations = mapping_counter(
            "sluice_lambda_mapping_invocations_total",
            "Invocations an event-source mapping made since the broker started",
        )?;
        let mapping_errors = mapping_counter(
            "sluice_lambda_mapping_errors_total",
            "Invocations of a mapping that failed (error, timeout, reported item failures)",
        )?;
        let mapping_records = mapping_counter(
            "sluice_lambda_mapping_records_total",
            "Records a mapping delivered (retries count again); divided by invocations, the batch size",
        )?;
        let mapping_age = IntGaugeVec::new(
            Opts::new(
                "sluice_lambda_mapping_iterator_age_milliseconds",
                "Stream mappings: age of the last batch's newest record when it was delivered",
            ),
            MAPPING_LABELS,
        )?;
        let live_bytes = IntGauge::new(
            "sluice_rocksdb_live_data_bytes",
            "RocksDB's estimate of live data size, all column families",
        )?;
        let sst_bytes = IntGauge::new("sluice_rocksdb_sst_files_bytes", "Size of all RocksDB SST files")?;
        let pending_compaction = IntGauge::new(
            "sluice_rocksdb_pending_compaction_bytes",
            "Bytes RocksDB estimates compaction still has to rewrite",
        )?;
        let running_compactions = IntGauge::new("sluice_rocksdb_running_compactions", "Compactions running now")?;
        let write_stopped = IntGauge::new(
            "sluice_rocksdb_write_stopped",
            "1 while RocksDB stops writes (a write stall), else 0",
        )?;
        let delayed_write_rate = IntGauge::new(
            "sluice_rocksdb_delayed_write_rate_bytes",
            "Write rate RocksDB slows writers to while stalling (0 when not delayed)",
        )?;
        if let Some(broker) = broker {
            let limit = store.map_or(usize::MAX, |(_, limit)| limit);
            let (queues, left_out) = broker.queues.stats(limit);
            for q in &queues {
                let labels = [q.key.account.as_str(), q.key.region.as_str(), q.key.name.as_str()];
                for (state, value) in [
                    ("visible", q.visible),
                    ("in_flight", q.in_flight),
                    ("delayed", q.delayed),
                ] {
                    messages
                        .with_label_values(&[labels[0], labels[1], labels[2], state])
                        .set(gauge_value(value));
                }
                oldest.with_label_values(&labels).set(q.oldest_age_ms as f64 / 1000.0);
                if q.dead_letter {
                    dead_letter
                        .with_label_values(&labels)
                        .set(gauge_value(q.visible + q.in_flight + q.delayed));
                }
            }
            omitted.with_label_values(&["queue"]).set(gauge_value(left_out as u64));
            let (streams, left_out) = broker.streams.stats(limit);
            for s in &streams {
                let labels = [s.key.account.as_str(), s.key.region.as_str(), s.key.name.as_str()];
                records_in.with_label_values(&labels).inc_by(s.records_in);
                bytes_in.with_label_values(&labels).inc_by(s.bytes_in);
                records_out.with_label_values(&labels).inc_by(s.records_out);
                bytes_out.with_label_values(&labels).inc_by(s.bytes_out);
                iterator_age
                    .with_label_values(&labels)
                    .set(gauge_value(s.iterator_age_ms));
            }
            omitted.with_label_values(&["stream"]).set(gauge_value(left_out as u64));
            let (topics, left_out) = broker.topics.stats(limit);
            for t in &topics {
                let labels = [t.key.account.as_str(), t.key.region.as_str(), t.key.name.as_str()];
                publishes.with_label_values(&labels).inc_by(t.publishes);
                for (protocol, delivered, failed) in &t.deliveries {
                    let labels = [labels[0], labels[1], labels[2], protocol];
                    deliveries.with_label_values(&labels).inc_by(*delivered);
                    delivery_failures.with_label_values(&labels).inc_by(*failed);
                }
            }
            omitted.with_label_values(&["topic"]).set(gauge_value(left_out as u64));
            for (m, s) in broker.functions.mapping_stats().iter().take(limit) {
                let source = match m.kind {
                    sluice_broker::function::SourceKind::Sqs => "sqs",
                    sluice_broker::function::SourceKind::Kinesis => "kinesis",
                };
                let f = &m.function;
                let labels = [
                    f.account.as_str(),
                    f.region.as_str(),
                    f.name.as_str(),
                    m.uuid.as_str(),
                    source,
                ];
                mapping_invocations.with_label_values(&labels).inc_by(s.invocations);
                mapping_errors.with_label_values(&labels).inc_by(s.errors);
                mapping_records.with_label_values(&labels).inc_by(s.records);
                if m.kind == sluice_broker::function::SourceKind::Kinesis {
                    mapping_age
                        .with_label_values(&labels)
                        .set(gauge_value(s.iterator_age_ms));
                }
            }
        }
        if let Some((store, _)) = store {
            live_bytes.set(gauge_value(store.property_sum("rocksdb.estimate-live-data-size")));
            sst_bytes.set(gauge_value(store.property_sum("rocksdb.total-sst-files-size")));
            pending_compaction.set(gauge_value(
                store.property_sum("rocksdb.estimate-pending-compaction-bytes"),
            ));
            running_compactions.set(gauge_value(store.property_sum("rocksdb.num-running-compactions")));
            write_stopped.set(i64::from(store.property_sum("rocksdb.is-write-stopped") > 0));
            delayed_write_rate.set(gauge_value(store.property_sum("rocksdb.actual-delayed-write-rate")));
        }
        let cluster = store.map(|(store, _)| ClusterView::read(store, node));
        let mut families: Vec<Box<dyn Collector>> = vec![
            Box::new(messages),
            Box::new(oldest),
            Box::new(dead_letter),
            Box::new(omitted),
            Box::new(records_in),
            Box::new(bytes_in),
            Box::new(records_out),
            Box::new(bytes_out),
            Box::new(iterator_age),
            Box::new(publishes),
            Box::new(deliveries),
            Box::new(delivery_failures),
            Box::new(mapping_invocations),
            Box::new(mapping_errors),
            Box::new(mapping_records),
            Box::new(mapping_age),
            Box::new(live_bytes),
            Box::new(sst_bytes),
            Box::new(pending_compaction),
            Box::new(running_compactions),
            Box::new(write_stopped),
            Box::new(delayed_write_rate),
        ];
        families.extend(ClusterView::families(cluster.as_ref())?);
        Ok(families)
    }
}

fn gauge_value(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Collector for ResourceCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        match Self::families(
            Some(&self.broker),
            Some((&self.store, self.max_resources)),
            self.node.as_deref(),
        ) {
            Ok(families) => families.iter().flat_map(|f| f.collect()).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "collecting resource metrics failed");
                Vec::new()
            }
        }
    }
}
