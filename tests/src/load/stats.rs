//! Counters and latency histograms, one set per worker task, merged once at the end.
//!
//! Workers never share a histogram: each owns a [`TaskStats`] and hands it back when it stops,
//! so the hot loop takes no lock. Latencies are recorded in microseconds in an HDR histogram
//! with 3 significant digits (0.1 % relative error), which is what the percentiles report.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Highest latency a histogram tracks exactly: one hour in microseconds. Longer values are
/// clamped (`saturating_record`); no operation of the tool can take that long anyway.
const MAX_TRACKABLE_MICROS: u64 = 3_600_000_000;

/// How many distinct error messages are kept as examples for the report.
const ERROR_SAMPLES: usize = 5;

/// Latency of one kind of operation.
#[derive(Debug, Clone)]
pub struct Latency {
    histogram: Histogram<u64>,
}

impl Latency {
    pub fn new() -> Self {
        // The bounds are constants that hdrhistogram accepts (low >= 1, high >= 2 * low,
        // sigfig <= 5), so this cannot fail at run time.
        let histogram =
            Histogram::new_with_bounds(1, MAX_TRACKABLE_MICROS, 3).expect("constant histogram bounds are valid");
        Self { histogram }
    }

    pub fn record(&mut self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        // A sub-microsecond operation still counts, as 1 µs.
        self.histogram.saturating_record(micros.max(1));
    }

    pub fn merge(&mut self, other: &Latency) {
        // Both histograms have the same bounds, so `add` cannot fail; saturate if it ever did.
        if self.histogram.add(&other.histogram).is_err() {
            for value in other.histogram.iter_recorded() {
                self.histogram
                    .saturating_record_n(value.value_iterated_to(), value.count_at_value());
            }
        }
    }

    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    pub fn summary(&self) -> LatencySummary {
        let ms = |micros: u64| micros as f64 / 1000.0;
        if self.histogram.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: self.histogram.len(),
            mean_ms: self.histogram.mean() / 1000.0,
            p50_ms: ms(self.histogram.value_at_quantile(0.50)),
            p90_ms: ms(self.histogram.value_at_quantile(0.90)),
            p99_ms: ms(self.histogram.value_at_quantile(0.99)),
            max_ms: ms(self.histogram.max()),
        }
    }
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

/// Percentiles of one operation kind, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatencySummary {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Errors by kind (an AWS error code such as `QueueDoesNotExist`, or a transport failure such
/// as `Timeout`), with a few full messages kept as examples.
#[derive(Debug, Clone, Default)]
pub struct ErrorTally {
    by_kind: BTreeMap<String, u64>,
    /// `(kind, message)`, at most one per kind.
    samples: Vec<(String, String)>,
}

impl ErrorTally {
    pub fn add(&mut self, kind: &str, message: impl FnOnce() -> String) {
        let count = self.by_kind.entry(kind.to_string()).or_insert(0);
        *count += 1;
        // Keep the first message of each kind only, so one noisy kind cannot crowd out others.
        if *count == 1 && self.samples.len() < ERROR_SAMPLES {
            self.samples.push((kind.to_string(), message()));
        }
    }

    pub fn merge(&mut self, other: &ErrorTally) {
        for (kind, count) in &other.by_kind {
            *self.by_kind.entry(kind.clone()).or_insert(0) += count;
        }
        for (kind, message) in &other.samples {
            let known = self.samples.iter().any(|(k, _)| k == kind);
            if self.samples.len() < ERROR_SAMPLES && !known {
                self.samples.push((kind.clone(), message.clone()));
            }
        }
    }

    pub fn total(&self) -> u64 {
        self.by_kind.values().sum()
    }

    pub fn by_kind(&self) -> &BTreeMap<String, u64> {
        &self.by_kind
    }

    /// One example message per error kind, as `kind: message`.
    pub fn samples(&self) -> Vec<String> {
        self.samples
            .iter()
            .map(|(kind, message)| format!("{kind}: {message}"))
            .collect::<Vec<_>>()
    }
}

/// Everything one worker task measured.
#[derive(Debug, Clone)]
pub struct TaskStats {
    /// Requests issued, successful or not.
    pub ops: u64,
    /// Messages the broker acknowledged (a batch counts its successful entries).
    pub messages_sent: u64,
    /// Messages received (each delivery counts, duplicates included).
    pub messages_received: u64,
    /// ReceiveMessage calls that returned no message.
    pub empty_receives: u64,
    /// Digests that did not match what was sent or received.
    pub checksum_mismatches: u64,
    pub send: Latency,
    pub receive: Latency,
    pub delete: Latency,
    pub errors: ErrorTally,
}

impl TaskStats {
    pub fn new() -> Self {
        Self {
            ops: 0,
            messages_sent: 0,
            messages_received: 0,
            empty_receives: 0,
            checksum_mismatches: 0,
            send: Latency::new(),
            receive: Latency::new(),
            delete: Latency::new(),
            errors: ErrorTally::default(),
        }
    }

    pub fn merge(&mut self, other: &TaskStats) {
        self.ops += other.ops;
        self.messages_sent += other.messages_sent;
        self.messages_received += other.messages_received;
        self.empty_receives += other.empty_receives;
        self.checksum_mismatches += other.checksum_mismatches;
        self.send.merge(&other.send);
        self.receive.merge(&other.receive);
        self.delete.merge(&other.delete);
        self.errors.merge(&other.errors);
    }
}

impl Default for TaskStats {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64) -> bool {
        // HDR histograms with 3 significant digits are within 0.1 % of the true value.
        (actual - expected).abs() <= expected * 0.001 + 1e-9
    }

    #[test]
    fn percentiles_of_a_uniform_spread() {
        let mut latency = Latency::new();
        for ms in 1..=1000u64 {
            latency.record(Duration::from_millis(ms));
        }
        let summary = latency.summary();
        assert_eq!(summary.count, 1000);
        assert!(close(summary.p50_ms, 500.0), "p50 {}", summary.p50_ms);
        assert!(close(summary.p90_ms, 900.0), "p90 {}", summary.p90_ms);
        assert!(close(summary.p99_ms, 990.0), "p99 {}", summary.p99_ms);
        assert!(close(summary.max_ms, 1000.0), "max {}", summary.max_ms);
        assert!(close(summary.mean_ms, 500.5), "mean {}", summary.mean_ms);
    }

    #[test]
    fn one_slow_outlier_shows_in_max_not_p50() {
        let mut latency = Latency::new();
        for _ in 0..999 {
            latency.record(Duration::from_micros(800));
        }
        latency.record(Duration::from_secs(2));
        let summary = latency.summary();
        assert!(close(summary.p50_ms, 0.8));
        assert!(close(summary.p99_ms, 0.8));
        assert!(close(summary.max_ms, 2000.0));
    }

    #[test]
    fn merging_equals_recording_in_one_place() {
        let mut a = Latency::new();
        let mut b = Latency::new();
        let mut both = Latency::new();
        for us in 1..=500u64 {
            a.record(Duration::from_micros(us * 10));
            both.record(Duration::from_micros(us * 10));
        }
        for us in 501..=1000u64 {
            b.record(Duration::from_micros(us * 10));
            both.record(Duration::from_micros(us * 10));
        }
        a.merge(&b);
        assert_eq!(a.summary(), both.summary());
    }

    #[test]
    fn empty_and_extreme_values() {
        let empty = Latency::new().summary();
        assert_eq!(empty, LatencySummary::default());
        let mut latency = Latency::new();
        latency.record(Duration::ZERO);
        latency.record(Duration::from_secs(10 * 3600));
        assert_eq!(latency.count(), 2);
        assert!(latency.summary().max_ms >= 3_600_000.0 * 0.999);
    }

    #[test]
    fn task_stats_and_errors_merge() {
        let mut a = TaskStats::new();
        a.ops = 3;
        a.messages_sent = 2;
        a.errors.add("Timeout", || "first timeout".into());
        a.errors.add("Timeout", || "second timeout".into());
        let mut b = TaskStats::new();
        b.ops = 4;
        b.messages_received = 7;
        b.checksum_mismatches = 1;
        b.errors.add("QueueDoesNotExist", || "gone".into());
        b.errors.add("Timeout", || "third timeout".into());
        a.merge(&b);
        assert_eq!(a.ops, 7);
        assert_eq!(a.messages_sent, 2);
        assert_eq!(a.messages_received, 7);
        assert_eq!(a.checksum_mismatches, 1);
        assert_eq!(a.errors.total(), 4);
        assert_eq!(a.errors.by_kind().get("Timeout"), Some(&3));
        assert_eq!(
            a.errors.samples(),
            ["Timeout: first timeout", "QueueDoesNotExist: gone"]
        );
    }
}
