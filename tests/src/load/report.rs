//! What a run measured, printed as text or as one JSON object (`--json`), and the comparison
//! of a null-server run with an endpoint run (`--compare`).
//!
//! Rates: `ops_per_sec` counts every request (a roundtrip's receives and deletes included);
//! `messages_per_sec` is messages acknowledged by the broker per second for the send
//! workloads, and messages delivered per second, from the start to the last delivery, for
//! `sqs-roundtrip`.

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::cli::Workload;
use super::cpu::CpuUsage;
use super::stats::{Latency, LatencySummary, TaskStats};

/// What a run was pointed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The in-process null server (`--null`, first half of `--compare`).
    Null,
    /// `--endpoint`.
    Endpoint,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Null => "null-server",
            Target::Endpoint => "endpoint",
        }
    }
}

/// The roundtrip delivery check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verification {
    /// Sends the broker acknowledged.
    pub sent: u64,
    /// Acknowledged messages received at least once.
    pub received_unique: u64,
    /// Acknowledged and never received: message loss.
    pub missing: u64,
    /// Deliveries beyond the first of a message.
    pub duplicates: u64,
    /// This run's messages received without an acknowledged send (the send errored or timed
    /// out after the broker stored it).
    pub unexpected: u64,
    /// Messages from another run on the same queue.
    pub foreign: u64,
    /// FIFO: deliveries with a lower SequenceNumber than an earlier delivery of their group.
    pub out_of_order: u64,
    /// FIFO: re-sends inside the deduplication window answered with a new MessageId.
    pub dedupe_misses: u64,
}

pub struct Report {
    pub workload: Workload,
    pub target: Target,
    pub endpoint: String,
    pub concurrency: usize,
    /// sqs-roundtrip: `(producers, consumers)`.
    pub roundtrip_split: Option<(usize, usize)>,
    pub message_size: usize,
    pub attributes: u8,
    pub elapsed: Duration,
    pub delivery_window: Option<Duration>,
    pub stats: TaskStats,
    pub verification: Option<Verification>,
    pub lost_workers: usize,
    pub broker_cpu: Option<CpuUsage>,
    pub client_cpu: Option<CpuUsage>,
}

fn per_second(count: u64, window: Duration) -> f64 {
    let seconds = window.as_secs_f64();
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

impl Report {
    pub fn ops_per_sec(&self) -> f64 {
        per_second(self.stats.ops, self.elapsed)
    }

    /// Messages acknowledged (send workloads) or delivered (roundtrip) per second.
    pub fn messages_per_sec(&self) -> f64 {
        match self.workload {
            Workload::SqsRoundtrip | Workload::FifoRoundtrip => {
                let delivered = match self.verification {
                    Some(v) => v.received_unique,
                    // Unverified (null server): deliveries beyond what was sent would only be
                    // leftovers, never throughput.
                    None => self.stats.messages_received.min(self.stats.messages_sent),
                };
                per_second(delivered, self.delivery_span())
            }
            Workload::KinesisRead => per_second(self.stats.messages_received, self.elapsed),
            // Publishes per second; deliveries_per_sec has the fan-out.
            Workload::SnsFanout | Workload::SnsFanoutBatch | Workload::SnsHttp => {
                per_second(self.stats.messages_sent, self.elapsed)
            }
            _ => per_second(self.stats.messages_sent, self.elapsed),
        }
    }

    /// Deliveries to subscribers per second, from the first send to the last delivery (SNS and
    /// kinesis-efo; `None` for the others).
    pub fn deliveries_per_sec(&self) -> Option<f64> {
        self.workload
            .has_deliveries()
            .then(|| per_second(self.stats.messages_received, self.delivery_span()))
    }

    /// From the first send to the last delivery (the run's elapsed time without deliveries).
    fn delivery_span(&self) -> Duration {
        self.delivery_window.unwrap_or(self.elapsed)
    }

    /// Payload megabytes (10^6 bytes) per second: messages per second times the message size.
    pub fn payload_mb_per_sec(&self) -> f64 {
        self.messages_per_sec() * self.message_size as f64 / 1e6
    }

    /// Why the run counts as failed, if it does: lost messages, wrong digests, nothing
    /// succeeded, or workers that had to be aborted.
    pub fn failure(&self) -> Option<String> {
        let mut reasons = Vec::new();
        if let Some(v) = self.verification {
            if v.missing > 0 {
                reasons.push(format!("{} acknowledged messages never received", v.missing));
            }
            if self.workload == Workload::FifoRoundtrip {
                if v.duplicates > 0 {
                    reasons.push(format!("{} duplicate deliveries from a FIFO queue", v.duplicates));
                }
                if v.out_of_order > 0 {
                    reasons.push(format!("{} deliveries out of group order", v.out_of_order));
                }
                if v.dedupe_misses > 0 {
                    reasons.push(format!("{} re-sends not deduplicated", v.dedupe_misses));
                }
            }
            // Set only for a FIFO topic (`--fifo-topic`).
            if matches!(self.workload, Workload::SnsFanout | Workload::SnsFanoutBatch) && v.out_of_order > 0 {
                reasons.push(format!("{} deliveries out of the topic's group order", v.out_of_order));
            }
            if self.workload == Workload::KinesisEfo {
                // Every consumer gets each record once: the shard is a log, not a queue.
                if v.duplicates > 0 {
                    reasons.push(format!("{} duplicate deliveries to a consumer", v.duplicates));
                }
                if v.out_of_order > 0 {
                    reasons.push(format!("{} deliveries out of shard or key order", v.out_of_order));
                }
            }
        }
        if self.stats.checksum_mismatches > 0 {
            reasons.push(format!("{} digest mismatches", self.stats.checksum_mismatches));
        }
        let successes = self.stats.send.count() + self.stats.receive.count();
        if successes == 0 {
            reasons.push("no call succeeded".to_string());
        }
        if self.lost_workers > 0 {
            reasons.push(format!("{} workers aborted at the time bound", self.lost_workers));
        }
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }

    fn latencies(&self) -> Vec<(&'static str, LatencySummary)> {
        let kinds: [(&'static str, &Latency); 3] = [
            ("send", &self.stats.send),
            ("receive", &self.stats.receive),
            ("delete", &self.stats.delete),
        ];
        kinds
            .into_iter()
            .filter(|(_, latency)| latency.count() > 0)
            .map(|(name, latency)| (name, latency.summary()))
            .collect()
    }

    pub fn to_json(&self) -> Value {
        let round = |x: f64| (x * 1000.0).round() / 1000.0;
        let mut latency = Map::new();
        for (name, s) in self.latencies() {
            latency.insert(
                name.to_string(),
                json!({
                    "count": s.count,
                    "mean": round(s.mean_ms),
                    "p50": round(s.p50_ms),
                    "p90": round(s.p90_ms),
                    "p99": round(s.p99_ms),
                    "max": round(s.max_ms),
                }),
            );
        }
        let verification = self.verification.map(|v| {
            json!({
                "sent": v.sent,
                "received_unique": v.received_unique,
                "missing": v.missing,
                "duplicates": v.duplicates,
                "unexpected": v.unexpected,
                "foreign": v.foreign,
                "out_of_order": v.out_of_order,
                "dedupe_misses": v.dedupe_misses,
            })
        });
        let cpu = |usage: Option<CpuUsage>| {
            usage.map(|u| {
                json!({
                    "ms": u.used.as_millis() as u64,
                    "ms_per_1k_ops": u.ms_per_1k_ops.map(round),
                })
            })
        };
        let failure = self.failure();
        json!({
            "workload": self.workload.name(),
            "target": self.target.name(),
            "endpoint": self.endpoint,
            "concurrency": self.concurrency,
            "producers": self.roundtrip_split.map(|(p, _)| p),
            "consumers": self.roundtrip_split.map(|(_, c)| c),
            "message_size": self.message_size,
            "attributes": self.attributes,
            "elapsed_s": round(self.elapsed.as_secs_f64()),
            "ops": self.stats.ops,
            "ops_per_sec": round(self.ops_per_sec()),
            "messages_sent": self.stats.messages_sent,
            "messages_received": self.stats.messages_received,
            "messages_per_sec": round(self.messages_per_sec()),
            "deliveries_per_sec": self.deliveries_per_sec().map(round),
            "empty_receives": self.stats.empty_receives,
            "errors": self.stats.errors.total(),
            "error_kinds": self.stats.errors.by_kind(),
            "error_samples": self.stats.errors.samples(),
            "checksum_mismatches": self.stats.checksum_mismatches,
            "latency_ms": latency,
            "verification": verification,
            "broker_cpu": cpu(self.broker_cpu),
            "client_cpu": cpu(self.client_cpu),
            "lost_workers": self.lost_workers,
            "ok": failure.is_none(),
            "failure": failure,
        })
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        let workers = match self.roundtrip_split {
            Some((producers, consumers)) => format!("{producers} producers + {consumers} consumers"),
            None => format!("concurrency {}", self.concurrency),
        };
        line(format!(
            "{} against {} ({}), {workers}, {} B messages, {} attributes",
            self.workload.name(),
            self.endpoint,
            self.target.name(),
            self.message_size,
            self.attributes
        ));
        line(format!("  elapsed          {:.2} s", self.elapsed.as_secs_f64()));
        line(format!(
            "  operations       {:>10}  {:>10.1} ops/s",
            self.stats.ops,
            self.ops_per_sec()
        ));
        let (label, count) = match self.workload {
            Workload::SqsRoundtrip | Workload::FifoRoundtrip => ("delivered", self.stats.messages_received),
            Workload::KinesisRead => ("read", self.stats.messages_received),
            _ => ("sent", self.stats.messages_sent),
        };
        line(format!(
            "  messages {label:<9} {count:>8}  {:>10.1} msg/s  {:.1} MB/s payload",
            self.messages_per_sec(),
            self.payload_mb_per_sec()
        ));
        if let Some(rate) = self.deliveries_per_sec() {
            let first = if self.workload.is_sns() { "publish" } else { "put" };
            line(format!(
                "  deliveries       {:>10}  {:>10.1} msg/s over {:.2} s ({first} start to last delivery)",
                self.stats.messages_received,
                rate,
                self.delivery_span().as_secs_f64()
            ));
        }
        if self.workload.is_roundtrip() {
            line(format!(
                "  messages sent    {:>10}  ({} empty receives)",
                self.stats.messages_sent, self.stats.empty_receives
            ));
        }
        line(format!(
            "  errors           {:>10}  (digest mismatches {})",
            self.stats.errors.total(),
            self.stats.checksum_mismatches
        ));
        for (kind, count) in self.stats.errors.by_kind() {
            line(format!("    {kind}: {count}"));
        }
        for sample in self.stats.errors.samples() {
            line(format!("    e.g. {sample}"));
        }
        line(format!(
            "  latency ms       {:>10} {:>9} {:>9} {:>9} {:>9}",
            "count", "p50", "p90", "p99", "max"
        ));
        for (name, s) in self.latencies() {
            line(format!(
                "    {name:<14} {:>10} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
                s.count, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms
            ));
        }
        if let Some(v) = self.verification {
            line(format!(
                "  delivery check   sent {}, received {}, missing {}, duplicates {}, unexpected {}, foreign {}",
                v.sent, v.received_unique, v.missing, v.duplicates, v.unexpected, v.foreign
            ));
            if self.workload == Workload::FifoRoundtrip {
                line(format!(
                    "  fifo check       out of group order {}, re-sends not deduplicated {}",
                    v.out_of_order, v.dedupe_misses
                ));
            }
            if self.workload == Workload::KinesisEfo {
                line(format!(
                    "  order check      out of shard or key order {} (receive latency = put to delivery)",
                    v.out_of_order
                ));
            }
        } else if self.workload.is_roundtrip() {
            line("  delivery check   skipped".to_string());
        }
        let cpu = |usage: CpuUsage| match usage.ms_per_1k_ops {
            Some(per_1k) => format!("{} ms, {per_1k:.1} ms per 1,000 ops", usage.used.as_millis()),
            None => format!("{} ms", usage.used.as_millis()),
        };
        if let Some(usage) = self.broker_cpu {
            line(format!("  broker CPU       {}", cpu(usage)));
        }
        if let Some(usage) = self.client_cpu {
            line(format!("  load tool CPU    {}", cpu(usage)));
        }
        match self.failure() {
            Some(reason) => line(format!("  FAILED: {reason}")),
            None => line("  ok".to_string()),
        }
        out
    }
}

/// Endpoint figures as a share of the null server's.
pub struct Comparison<'a> {
    pub null: &'a Report,
    pub target: &'a Report,
}

impl Comparison<'_> {
    fn ratio(target: f64, null: f64) -> Option<f64> {
        (null > 0.0).then(|| target / null)
    }

    pub fn to_json(&self) -> Value {
        let round = |x: f64| (x * 10000.0).round() / 10000.0;
        json!({
            "null": self.null.to_json(),
            "target": self.target.to_json(),
            "ratio": {
                "ops_per_sec": Self::ratio(self.target.ops_per_sec(), self.null.ops_per_sec()).map(round),
                "messages_per_sec": Self::ratio(self.target.messages_per_sec(), self.null.messages_per_sec()).map(round),
            },
        })
    }

    pub fn to_text(&self) -> String {
        let share = |ratio: Option<f64>| match ratio {
            Some(r) => format!("{:.1} %", r * 100.0),
            None => "n/a".to_string(),
        };
        format!(
            "{}\n{}\ncompared with the null server: {} of its ops/s, {} of its messages/s\n",
            self.null.to_text(),
            self.target.to_text(),
            share(Self::ratio(self.target.ops_per_sec(), self.null.ops_per_sec())),
            share(Self::ratio(
                self.target.messages_per_sec(),
                self.null.messages_per_sec()
            )),
        )
    }
}
