//! The command line: a workload run (the default) or the `null-server` subcommand.
//!
//! Every run is bounded twice: by `--duration` and, optionally, by `--max-ops`; on top of that
//! the process has a hard deadline (see `mod.rs`), so a stuck broker cannot keep it running.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Longest `--duration` accepted: a load run is a measurement, not a soak.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);

/// Smallest `--message-size`: the body must hold the run id and sequence number that the
/// roundtrip check reads back (`workload::body`).
pub const MIN_MESSAGE_SIZE: usize = 32;

/// SQS's maximum message size (1 MiB since August 2025, docs/wire-notes.md).
pub const MAX_MESSAGE_SIZE: usize = 1_048_576;

#[derive(Parser, Debug)]
#[command(
    name = "sluice-load",
    version,
    about = "Bounded SQS load generator for Sluice (aws-sdk-sqs client), with a built-in null server",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve a null SQS endpoint (AWS JSON 1.0 over HTTP/1.1 and h2c) that answers every call
    /// validly and stores nothing: the load tool's own ceiling on this machine
    NullServer(NullServerArgs),
}

#[derive(Args, Debug, Clone)]
pub struct NullServerArgs {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:4567")]
    pub bind: SocketAddr,
    /// Stop by itself after this long (e.g. 90s, 30m)
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub exit_after: Duration,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// SQS endpoint of the broker under test
    #[arg(long, default_value = "http://127.0.0.1:4566")]
    pub endpoint: String,
    /// What to run
    #[arg(long, value_enum, default_value_t = Workload::SqsSend)]
    pub workload: Workload,
    /// Concurrent workers (for sqs-roundtrip: producers plus consumers, see --consumers)
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,
    /// How long to send (e.g. 10s, 500ms, 2m)
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Stop after this many send calls (SendMessage or SendMessageBatch), whichever comes first
    #[arg(long)]
    pub max_ops: Option<u64>,
    /// Message body size in bytes
    #[arg(long, default_value_t = 256, value_parser = parse_message_size)]
    pub message_size: usize,
    /// Message attributes per message (String, Number and Binary in turn), 0 to 10
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=10))]
    pub attributes: u8,
    /// Queue to use (created if missing, kept afterwards); default: a fresh queue, deleted after
    #[arg(long)]
    pub queue_name: Option<String>,
    /// Keep the fresh queue after the run
    #[arg(long)]
    pub keep_queue: bool,
    /// Linux: report this broker process's CPU time per 1,000 operations
    #[arg(long)]
    pub broker_pid: Option<u32>,
    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,
    /// Run against an in-process null server on a free port instead of --endpoint
    #[arg(long, conflicts_with = "compare")]
    pub null: bool,
    /// Run against an in-process null server first, then --endpoint, and print the ratio
    #[arg(long)]
    pub compare: bool,
    /// Skip the sqs-roundtrip delivery check (needed against a standalone null server, which
    /// hands back synthetic messages)
    #[arg(long)]
    pub no_verify: bool,
    /// sqs-roundtrip: how long consumers keep draining after producers stop
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub drain_timeout: Duration,
    /// Per-call timeout (the SDK's operation timeout)
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub op_timeout: Duration,
    /// sqs-roundtrip: ReceiveMessage WaitTimeSeconds (0 to 20)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(0..=20))]
    pub wait_time_seconds: i32,
    /// sqs-roundtrip: how many of the --concurrency workers consume [default: a quarter, at
    /// least 1]; kinesis-efo: registered stream consumers, each reading every shard [default: 4,
    /// at most 20]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub consumers: Option<u32>,
    /// Kinesis workloads: shards of the stream a run creates
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(i32).range(1..=256))]
    pub shards: i32,
    /// kinesis-efo: records per second put in total, spread over the --concurrency producers
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rate: u32,
    /// fifo-roundtrip, and sqs-send / sqs-send-batch to a --queue-name ending in .fifo: message
    /// groups the sends are spread over (round-robin by message sequence)
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub groups: u32,
    /// fifo-roundtrip (and sqs-send to a FIFO queue): re-send every Nth message with the same
    /// deduplication id (the broker must answer with the original MessageId and never deliver
    /// it twice); 0 turns this off
    #[arg(long, default_value_t = 10)]
    pub resend_every: u64,
    /// sns-fanout: queue subscriptions of the topic
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub subscriptions: u32,
    /// sns-fanout: raw message delivery (no JSON envelope, no signature)
    #[arg(long)]
    pub raw: bool,
    /// sns-fanout(-batch): a FIFO topic with FIFO queue subscriptions, publishes spread over
    /// --groups message groups; every queue must get each group in the topic's order
    #[arg(long)]
    pub fifo_topic: bool,
    /// sns workloads: the topic's SignatureVersion (1 = SHA1withRSA, 2 = SHA256withRSA)
    #[arg(long, default_value = "1", value_parser = ["1", "2"])]
    pub signature_version: String,
}

// The variants spell the `--workload` values; SNS and Kinesis workloads will join them.
#[allow(clippy::enum_variant_names)]
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// SendMessage in a loop per worker
    SqsSend,
    /// SendMessageBatch of 10 in a loop per worker
    SqsSendBatch,
    /// Producers send, consumers receive (10 at a time) and delete in batches; every sent
    /// message must come back
    SqsRoundtrip,
    /// sqs-roundtrip on a FIFO queue over --groups message groups: every message exactly once,
    /// each group in order, re-sent deduplication ids dropped
    FifoRoundtrip,
    /// PutRecord in a loop per worker (a 4-shard stream)
    KinesisPut,
    /// PutRecords of 500 in a loop per worker
    KinesisPutBatch,
    /// Preload `--max-ops` batches of 500 (default 20), then read every shard from TRIM_HORIZON,
    /// verifying the count and per-key order
    KinesisRead,
    /// Enhanced fan-out: --consumers registered consumers subscribe to every shard while
    /// producers put --rate records/s; every consumer must get every record, in shard and key
    /// order (receive latency = put to delivery)
    KinesisEfo,
    /// Publish to a topic with --subscriptions queue subscriptions; every queue must get every
    /// publish
    SnsFanout,
    /// sns-fanout with PublishBatch of 10
    SnsFanoutBatch,
    /// Publish to a topic with one HTTP subscriber on 127.0.0.1; every publish must arrive
    /// (receive latency = publish to delivery)
    SnsHttp,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::SqsSend => "sqs-send",
            Workload::SqsSendBatch => "sqs-send-batch",
            Workload::SqsRoundtrip => "sqs-roundtrip",
            Workload::FifoRoundtrip => "fifo-roundtrip",
            Workload::KinesisPut => "kinesis-put",
            Workload::KinesisPutBatch => "kinesis-put-batch",
            Workload::KinesisRead => "kinesis-read",
            Workload::KinesisEfo => "kinesis-efo",
            Workload::SnsFanout => "sns-fanout",
            Workload::SnsFanoutBatch => "sns-fanout-batch",
            Workload::SnsHttp => "sns-http",
        }
    }

    /// True for the Kinesis workloads.
    pub fn is_kinesis(self) -> bool {
        matches!(
            self,
            Workload::KinesisPut | Workload::KinesisPutBatch | Workload::KinesisRead | Workload::KinesisEfo
        )
    }

    /// True for the SNS workloads.
    pub fn is_sns(self) -> bool {
        matches!(self, Workload::SnsFanout | Workload::SnsFanoutBatch | Workload::SnsHttp)
    }

    /// Workloads that count deliveries pushed to subscribers (SNS, Kinesis enhanced fan-out).
    pub fn has_deliveries(self) -> bool {
        self.is_sns() || self == Workload::KinesisEfo
    }

    /// Producers and consumers, with a delivery check.
    pub fn is_roundtrip(self) -> bool {
        matches!(self, Workload::SqsRoundtrip | Workload::FifoRoundtrip)
    }
}

/// `10s`, `500ms`, `2m`, `1h`, `1.5s`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 10s, 500ms or 2m"))?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" | "secs" => value,
        "ms" => value / 1000.0,
        "m" | "min" | "mins" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown duration unit `{other}` (use ms, s, m or h)")),
    };
    let duration = Duration::try_from_secs_f64(seconds).map_err(|e| e.to_string())?;
    if duration.is_zero() {
        return Err("duration must be more than zero".into());
    }
    if duration > MAX_DURATION {
        return Err(format!("duration is capped at {}s", MAX_DURATION.as_secs()));
    }
    Ok(duration)
}

fn parse_message_size(text: &str) -> Result<usize, String> {
    let size: usize = text.parse().map_err(|_| format!("`{text}` is not a number of bytes"))?;
    if !(MIN_MESSAGE_SIZE..=MAX_MESSAGE_SIZE).contains(&size) {
        return Err(format!(
            "message size must be {MIN_MESSAGE_SIZE} to {MAX_MESSAGE_SIZE} bytes"
        ));
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("2h").is_err());
        assert!(parse_duration("10 parsecs").is_err());
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn command_lines() {
        let cli = Cli::try_parse_from([
            "sluice-load",
            "--workload",
            "sqs-send-batch",
            "--concurrency",
            "64",
            "--duration",
            "5s",
            "--max-ops",
            "100",
            "--null",
        ])
        .map_err(|e| e.to_string());
        let cli = match cli {
            Ok(cli) => cli,
            Err(e) => panic!("{e}"),
        };
        assert!(cli.command.is_none());
        assert_eq!(cli.run.workload, Workload::SqsSendBatch);
        assert_eq!(cli.run.concurrency, 64);
        assert_eq!(cli.run.max_ops, Some(100));
        assert!(cli.run.null);

        let server = Cli::try_parse_from(["sluice-load", "null-server", "--bind", "127.0.0.1:0"]);
        assert!(matches!(
            server,
            Ok(Cli {
                command: Some(Command::NullServer(_)),
                ..
            })
        ));
        assert!(Cli::try_parse_from(["sluice-load", "--null", "--compare"]).is_err());
        assert!(Cli::try_parse_from(["sluice-load", "--message-size", "8"]).is_err());
        assert!(Cli::try_parse_from(["sluice-load", "--concurrency", "0"]).is_err());
    }
}
