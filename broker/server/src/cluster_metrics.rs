//! Cluster mode's series, the same on the writer and on standbys, read at scrape time: the
//! node's role, how far it applied the replicated log and how far the log goes, its appends
//! (entries, and the commits they carried), and how long its takeover took.
//!
//! In single-node mode every series reads 0, so dashboards need no second shape.

use prometheus::core::Collector;
use prometheus::{Encoder, Gauge, IntCounter, IntGauge, Registry, TextEncoder};
use sluice_cluster::Node;
use sluice_storage::Store;

/// The cluster series' values on one node.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ClusterView {
    /// Whether this node writes through the log.
    pub writer: bool,
    /// The last log position applied here.
    pub position: u64,
    /// The log's last position as this node knows it (the writer: the last entry it sent).
    pub log_end: u64,
    /// Entries this node appended as the writer.
    pub appended_entries: u64,
    /// Commits carried by those entries.
    pub appended_commits: u64,
    /// Entries sent and not yet applied.
    pub appends_in_flight: u64,
    /// How long this node's takeover took, in seconds (0 if it never took over).
    pub takeover_seconds: f64,
    /// The log position of the latest snapshot this node made or restored (0: none).
    pub snapshot_position: u64,
}

impl ClusterView {
    /// Reads the values off the store and, in cluster mode, the node.
    pub fn read(store: &Store, node: Option<&Node>) -> ClusterView {
        let stats = store.replication_stats().unwrap_or_default();
        let seen = node.map(Node::stats).unwrap_or_default();
        let position = store.log_position().unwrap_or(0);
        ClusterView {
            writer: store.is_replicating() && store.stopped_writing().is_none(),
            position,
            log_end: seen.log_end.max(stats.last_sent).max(position),
            appended_entries: stats.entries,
            appended_commits: stats.commits,
            appends_in_flight: stats.in_flight,
            takeover_seconds: seen.takeover.map_or(0.0, |d| d.as_secs_f64()),
            snapshot_position: seen.snapshot,
        }
    }

    /// The series, filled with these values (or zero when `None`, to describe them).
    pub fn families(view: Option<&ClusterView>) -> prometheus::Result<Vec<Box<dyn Collector>>> {
        let v = view.copied().unwrap_or_default();
        let writer = IntGauge::new(
            "sluice_cluster_writer",
            "Cluster mode: 1 on the node that writes through the replicated log, else 0",
        )?;
        writer.set(i64::from(v.writer));
        let position = IntGauge::new(
            "sluice_cluster_log_position",
            "Cluster mode: position of the last replicated-log entry applied here (0 in single-node mode)",
        )?;
        position.set(gauge(v.position));
        let end = IntGauge::new(
            "sluice_cluster_log_end",
            "Cluster mode: the replicated log's last position as this node last saw it (the writer: the last entry it sent)",
        )?;
        end.set(gauge(v.log_end));
        let lag = IntGauge::new(
            "sluice_cluster_log_lag",
            "Cluster mode: log entries this node knows of and has not applied yet",
        )?;
        lag.set(gauge(v.log_end.saturating_sub(v.position)));
        let entries = IntCounter::new(
            "sluice_cluster_appends_total",
            "Cluster mode: entries this node appended to the replicated log as the writer",
        )?;
        entries.inc_by(v.appended_entries);
        let commits = IntCounter::new(
            "sluice_cluster_appended_commits_total",
            "Cluster mode: commits carried by this node's appends (several share one entry)",
        )?;
        commits.inc_by(v.appended_commits);
        let in_flight = IntGauge::new(
            "sluice_cluster_appends_in_flight",
            "Cluster mode: entries sent to the replicated log and not yet applied here",
        )?;
        in_flight.set(gauge(v.appends_in_flight));
        let takeover = Gauge::new(
            "sluice_cluster_takeover_seconds",
            "Cluster mode: how long this node's takeover took, from taking the lease to writing (0 if it did not take over)",
        )?;
        takeover.set(v.takeover_seconds);
        let snapshot = IntGauge::new(
            "sluice_cluster_snapshot_position",
            "Cluster mode: log position of the latest snapshot this node made (as the writer) or restored (0 if none)",
        )?;
        snapshot.set(gauge(v.snapshot_position));
        Ok(vec![
            Box::new(writer),
            Box::new(position),
            Box::new(end),
            Box::new(lag),
            Box::new(entries),
            Box::new(commits),
            Box::new(in_flight),
            Box::new(takeover),
            Box::new(snapshot),
        ])
    }

    /// The series in Prometheus' text format (a standby's whole `/metrics`).
    pub fn text(&self) -> prometheus::Result<String> {
        let registry = Registry::new();
        for family in Self::families(Some(self))? {
            registry.register(family)?;
        }
        let mut out = Vec::new();
        TextEncoder::new().encode(&registry.gather(), &mut out)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

fn gauge(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_carries_every_series_with_its_value() {
        let view = ClusterView {
            writer: false,
            position: 40,
            log_end: 42,
            appended_entries: 0,
            appended_commits: 0,
            appends_in_flight: 0,
            takeover_seconds: 0.0,
            snapshot_position: 7,
        };
        let text = view.text().expect("encode");
        for line in [
            "sluice_cluster_writer 0\n",
            "sluice_cluster_log_position 40\n",
            "sluice_cluster_log_end 42\n",
            "sluice_cluster_log_lag 2\n",
            "sluice_cluster_appends_total 0\n",
            "sluice_cluster_takeover_seconds 0\n",
            "sluice_cluster_snapshot_position 7\n",
        ] {
            assert!(text.contains(line), "{line:?} missing from:\n{text}");
        }
    }
}
