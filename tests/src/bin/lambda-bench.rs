//! `lambda-bench`: how fast Sluice's event-source mappings deliver records to handlers, against a
//! consumer loop written by hand with the SDK, in one run on one machine. The target: the
//! mapping delivers at least 80 % of what the hand-written loop does.
//!
//! # Parts
//! - Two modes, each on a fresh broker ([`Broker`], a temporary data folder): **mapping**
//!   (a function, an event-source mapping and K `lambda-test-handler` processes, [`Handler`]) and
//!   **raw** (SDK consumers in this process: K tasks doing ReceiveMessage + DeleteMessageBatch on
//!   SQS; one task per shard doing GetShardIterator TRIM_HORIZON + GetRecords on Kinesis).
//! - Both do the same work per record: the handler and the raw consumer each append one JSON
//!   line per record to an out file of their own, all lines of a batch in one `write`
//!   (`sluice_tests::lambda::HandledRecord`), before the batch is acknowledged (the mapping
//!   deletes or checkpoints after the handler answers; the raw SQS consumer deletes after the
//!   write). A loop that did nothing with its records would measure a consumer nobody runs.
//! - Bulk phase: N records are written before anyone consumes (SendMessageBatch of 10, or
//!   PutRecords of 500 with random partition keys); the clock starts at CreateEventSourceMapping
//!   (the handlers were started just before) or at the raw consumers' spawn, and stops when N
//!   distinct records were seen. Rate = N / elapsed.
//! - Live phase: with the consumers running and idle, M records are sent one call each at a
//!   steady rate; latency is the time from the send (stamped in the body, epoch µs) to the
//!   moment this process saw the record.
//! - How records are seen, in both modes: a thread reads the consumers' out files every 5 ms
//!   ([`TAIL_POLL`]) and stamps new lines when it reads them, so latencies are late by up to
//!   5 ms in both modes alike.
//! - CPU time of the broker, the handler processes and this process over the bulk phase, from
//!   `/proc/PID/stat` (`sluice-load`'s `cpu.rs`, 10 ms ticks), to tell where the time goes.
//! - Report: a table, or one JSON object with `--json`; progress goes to stderr.
//!
//! # Invariants
//! - Every wait is bounded: pre-fill and the bulk phase 10 minutes each, the live phase's
//!   delivery 2 minutes after the last send, every SDK call 30 s (the harness's operation
//!   timeout); a bound exceeded fails the run with the handlers' and the broker's log tails.
//! - Every child stops: brokers and handlers are killed when their handles drop (also on an
//!   error), consumer tasks are aborted at the end of their mode, and the file tailer thread is
//!   stopped and joined when its guard drops. `main` returns instead of calling `exit`, so the
//!   drops run.

use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use aws_sdk_kinesis::primitives::Blob as KinesisBlob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use aws_sdk_lambda::primitives::Blob as LambdaBlob;
use aws_sdk_lambda::types::{EventSourcePosition, FunctionCode, Runtime};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, SendMessageBatchRequestEntry};
use clap::{Parser, ValueEnum};
use serde_json::{json, Value};
use sluice_tests::bench::{self, round};
use sluice_tests::kinesis::{create_stream, kinesis_client};
use sluice_tests::lambda::{append_lines, lambda_client, test_handler_binary, HandledRecord, Handler};
use sluice_tests::{machine, unique_name, Broker, ACCOUNT_ID, REGION};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

// Shared with sluice-load (CONTRIBUTING.md, style rule 20); this tool needs only `cpu_time`.
#[allow(dead_code)]
#[path = "../load/cpu.rs"]
mod cpu;

/// Body size of every record, as the issue asks.
const BODY_BYTES: usize = 100;
/// First character of a pre-filled record's id.
const BULK_TAG: char = 'p';
/// First character of a live-phase record's id.
const LIVE_TAG: char = 'l';
/// How often the consumers' out files are read: the resolution of the timings.
const TAIL_POLL: Duration = Duration::from_millis(5);
/// How often a wait looks at what was seen so far.
const WAIT_POLL: Duration = Duration::from_millis(5);
/// Longest pre-fill, and longest bulk phase: far above what 1,000,000 records (the most
/// `--records` takes) need in a debug build.
const PHASE_LIMIT: Duration = Duration::from_secs(600);
/// How long the live records may take to arrive after the last one was sent.
const LIVE_LIMIT: Duration = Duration::from_secs(120);
/// Concurrent SendMessageBatch or PutRecords calls while pre-filling.
const PREFILL_IN_FLIGHT: usize = 8;
/// PutRecords' maximum entries per call.
const KINESIS_PUT_BATCH: usize = 500;
/// SendMessageBatch's maximum entries per call.
const SQS_SEND_BATCH: usize = 10;
/// Live sends in flight at once: enough that a slow call does not hold the steady rate back.
const LIVE_IN_FLIGHT: usize = 32;
/// Pause after a failed SDK call in a raw consumer, so a broken broker is not hammered.
const ERROR_PAUSE: Duration = Duration::from_millis(100);
/// Pause after an empty GetRecords in a raw Kinesis consumer: a shard serves at most 5
/// GetRecords calls per second (Kinesis Data Streams quotas), so 200 ms is as fast as a
/// well-behaved hand-written loop polls an idle shard.
const EMPTY_READ_PAUSE: Duration = Duration::from_millis(200);
/// The target for mapping rate / raw rate.
const TARGET_RATIO: f64 = 0.8;
/// The function's timeout, seconds: far above any batch of this benchmark.
const FUNCTION_TIMEOUT_SECS: i32 = 30;

/// Which source the mapping (and the raw loop) reads.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Sqs,
    Kinesis,
}

impl Source {
    /// The name `lambda-test-handler` and the report use.
    fn name(self) -> &'static str {
        match self {
            Source::Sqs => "sqs",
            Source::Kinesis => "kinesis",
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "lambda-bench",
    about = "Records per second and put-to-handler latency of Sluice's event-source mappings, \
             against a hand-written SDK consumer loop in the same run"
)]
struct Cli {
    /// Source to read
    #[arg(long, value_enum)]
    source: Source,
    /// Records pre-filled for the throughput phase
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    records: u64,
    /// Handler processes (mapping mode) and SQS consumer tasks (raw mode; Kinesis uses one per shard)
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    handlers: u64,
    /// Batch size of the mapping and of the raw GetRecords (default: 10 for sqs, 100 for kinesis;
    /// raw SQS always receives up to 10)
    #[arg(long)]
    batch_size: Option<u32>,
    /// Shards of the stream (kinesis)
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    shards: u64,
    /// Records sent in the live-latency phase
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    live_records: u64,
    /// Send rate of the live-latency phase, records per second
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    live_rate: u64,
    /// Print one JSON object instead of the table
    #[arg(long)]
    json: bool,
}

/// The validated settings of a run.
#[derive(Debug, Clone, Copy)]
struct Settings {
    source: Source,
    records: usize,
    handlers: usize,
    batch_size: u32,
    shards: usize,
    live_records: usize,
    live_rate: u64,
}

impl Settings {
    fn from_cli(cli: &Cli) -> Result<Settings> {
        let (default_batch, max_batch) = match cli.source {
            // Above 10 AWS requires a batching window, which would measure the window instead.
            Source::Sqs => (10, 10),
            // GetRecords' Limit maximum, and the mapping's.
            Source::Kinesis => (100, 10_000),
        };
        let batch_size = cli.batch_size.unwrap_or(default_batch);
        if batch_size == 0 || batch_size > max_batch {
            bail!("--batch-size for {} must be 1 to {max_batch}", cli.source.name());
        }
        Ok(Settings {
            source: cli.source,
            records: cli.records as usize,
            handlers: cli.handlers as usize,
            batch_size,
            shards: cli.shards as usize,
            live_records: cli.live_records as usize,
            live_rate: cli.live_rate,
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    bench::main_with("lambda-bench", run(&cli))
}

async fn run(cli: &Cli) -> Result<()> {
    let settings = Settings::from_cli(cli)?;
    // Both binaries are looked up before any broker starts, so a missing build fails at once.
    let handler_binary = test_handler_binary();
    let broker_binary = sluice_tests::broker::binary_path();
    progress(&format!(
        "broker {}, handler {}",
        broker_binary.display(),
        handler_binary.display()
    ));
    let mapping = run_mapping(&settings).await.context("mapping mode")?;
    let raw = run_raw(&settings).await.context("raw mode")?;
    let report = Report {
        settings,
        broker_binary: broker_binary.display().to_string(),
        mapping,
        raw,
    };
    if cli.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.table());
    }
    Ok(())
}

fn progress(message: &str) {
    eprintln!("lambda-bench: {message}");
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// A record body: `<tag><seq> <send time, epoch µs> `, padded to [`BODY_BYTES`].
fn body(tag: char, seq: usize) -> String {
    let mut body = format!("{tag}{seq:09} {:016} ", now_us());
    while body.len() < BODY_BYTES {
        body.push('.');
    }
    body
}

/// The id (`<tag><seq>`) and send time of a body made by [`body`].
fn parse_body(body: &str) -> Option<(&str, u64)> {
    let mut parts = body.split(' ');
    let id = parts.next()?;
    let sent_us = parts.next()?.parse().ok()?;
    Some((id, sent_us))
}

/// The records this process has seen, first delivery of each.
struct Seen {
    ids: HashSet<String>,
    bulk: usize,
    bulk_target: usize,
    /// When the bulk phase's last distinct record was seen.
    bulk_done: Option<Instant>,
    live: usize,
    /// Per live record: seen minus sent, µs.
    latencies_us: Vec<u64>,
    duplicates: u64,
    unparsed: u64,
}

type Shared = Arc<Mutex<Seen>>;

impl Seen {
    fn shared(bulk_target: usize) -> Shared {
        Arc::new(Mutex::new(Seen {
            ids: HashSet::with_capacity(bulk_target),
            bulk: 0,
            bulk_target,
            bulk_done: None,
            live: 0,
            latencies_us: Vec::new(),
            duplicates: 0,
            unparsed: 0,
        }))
    }

    fn record(&mut self, body: &str, seen_us: u64, seen: Instant) {
        let Some((id, sent_us)) = parse_body(body) else {
            self.unparsed += 1;
            return;
        };
        if !self.ids.insert(id.to_string()) {
            self.duplicates += 1;
            return;
        }
        if id.starts_with(LIVE_TAG) {
            self.live += 1;
            self.latencies_us.push(seen_us.saturating_sub(sent_us));
            return;
        }
        self.bulk += 1;
        if self.bulk == self.bulk_target {
            self.bulk_done = Some(seen);
        }
    }
}

fn lock(seen: &Shared) -> MutexGuard<'_, Seen> {
    // A panicking consumer task must not hide what the others saw.
    seen.lock().unwrap_or_else(|p| p.into_inner())
}

/// Waits until `done` holds for what was seen, at most `limit`; the error names `what` and
/// carries `logs()` (log tails for the reader).
async fn wait_for(
    seen: &Shared,
    limit: Duration,
    what: &str,
    logs: impl Fn() -> String,
    done: impl Fn(&Seen) -> bool,
) -> Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        let (finished, bulk, live) = {
            let s = lock(seen);
            (done(&s), s.bulk, s.live)
        };
        if finished {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "{what}: not within {limit:?} ({bulk} bulk and {live} live records seen)\n{}",
                logs()
            );
        }
        tokio::time::sleep(WAIT_POLL).await;
    }
}

/// Invocations (or SDK calls) and the records they carried.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Batches {
    calls: u64,
    records: u64,
}

impl Batches {
    fn mean(self) -> f64 {
        if self.calls == 0 {
            return 0.0;
        }
        self.records as f64 / self.calls as f64
    }

    fn since(self, earlier: Batches) -> Batches {
        Batches {
            calls: self.calls.saturating_sub(earlier.calls),
            records: self.records.saturating_sub(earlier.records),
        }
    }
}

/// What the live phase measured.
#[derive(Debug, Clone, Copy)]
struct Live {
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// The send rate reached, records per second.
    send_rate: f64,
}

/// CPU seconds used by each side of a mode.
#[derive(Debug, Clone, Copy, Default)]
struct CpuSplit {
    broker: f64,
    /// The handler processes together (mapping mode; none in raw mode).
    handlers: f64,
    /// This process: the raw consumers, or the mapping mode's out-file tailer; both also
    /// include the waits' polling.
    bench: f64,
}

impl CpuSplit {
    /// CPU used so far; a process that cannot be read (gone, no procfs) counts 0.
    fn now(broker: Option<u32>, handlers: &[Handler]) -> CpuSplit {
        let secs = |p: cpu::Process| cpu::cpu_time(p).map_or(0.0, |d| d.as_secs_f64());
        CpuSplit {
            broker: broker.map_or(0.0, |pid| secs(cpu::Process::Pid(pid))),
            handlers: handlers
                .iter()
                .filter_map(Handler::id)
                .map(|pid| secs(cpu::Process::Pid(pid)))
                .sum(),
            bench: secs(cpu::Process::Current),
        }
    }

    fn since(self, earlier: CpuSplit) -> CpuSplit {
        CpuSplit {
            broker: (self.broker - earlier.broker).max(0.0),
            handlers: (self.handlers - earlier.handlers).max(0.0),
            bench: (self.bench - earlier.bench).max(0.0),
        }
    }

    fn total(self) -> f64 {
        self.broker + self.handlers + self.bench
    }
}

/// What one mode measured.
#[derive(Debug, Clone)]
struct ModeResult {
    /// Who consumed: "4 handler processes", "4 SDK tasks", ...
    consumers: String,
    elapsed: Duration,
    rate: f64,
    bulk_batches: Batches,
    /// CPU used from the clock's start until the bulk phase's records were seen.
    bulk_cpu: CpuSplit,
    live_batches: Batches,
    live: Live,
    duplicates: u64,
    unparsed: u64,
    /// Failed SDK calls of the raw consumers (retried).
    errors: u64,
    first_error: Option<String>,
}

/// The source as created on one broker: what the pre-fill, the live sender and the raw
/// consumers talk to.
#[derive(Clone)]
enum Target {
    Sqs {
        client: aws_sdk_sqs::Client,
        url: String,
        name: String,
    },
    Kinesis {
        client: aws_sdk_kinesis::Client,
        stream: String,
    },
}

impl Target {
    async fn create(broker: &Broker, settings: &Settings) -> Result<Target> {
        match settings.source {
            Source::Sqs => {
                let client = broker.sqs().await;
                let name = unique_name("bench");
                let out = client
                    .create_queue()
                    .queue_name(&name)
                    .send()
                    .await
                    .context("CreateQueue")?;
                let url = out.queue_url().context("CreateQueue answered no QueueUrl")?.to_string();
                Ok(Target::Sqs { client, url, name })
            }
            Source::Kinesis => {
                let client = kinesis_client(&broker.endpoint()).await;
                let stream = unique_name("bench");
                create_stream(&client, &stream, settings.shards as i32).await;
                Ok(Target::Kinesis { client, stream })
            }
        }
    }

    fn arn(&self) -> String {
        match self {
            Target::Sqs { name, .. } => format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"),
            Target::Kinesis { stream, .. } => format!("arn:aws:kinesis:{REGION}:{ACCOUNT_ID}:stream/{stream}"),
        }
    }

    /// Writes records `from..to` of the bulk phase in one batch call.
    async fn send_batch(&self, from: usize, to: usize) -> Result<()> {
        match self {
            Target::Sqs { client, url, .. } => {
                let mut entries = Vec::with_capacity(to - from);
                for seq in from..to {
                    entries.push(
                        SendMessageBatchRequestEntry::builder()
                            .id(seq.to_string())
                            .message_body(body(BULK_TAG, seq))
                            .build()
                            .context("a SendMessageBatch entry")?,
                    );
                }
                let out = client
                    .send_message_batch()
                    .queue_url(url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .context("SendMessageBatch")?;
                if let Some(failed) = out.failed().first() {
                    bail!(
                        "SendMessageBatch refused {} entries, e.g. {}: {:?}",
                        out.failed().len(),
                        failed.code(),
                        failed.message()
                    );
                }
            }
            Target::Kinesis { client, stream } => {
                let mut entries = Vec::with_capacity(to - from);
                for seq in from..to {
                    entries.push(
                        PutRecordsRequestEntry::builder()
                            .data(KinesisBlob::new(body(BULK_TAG, seq)))
                            .partition_key(random_key())
                            .build()
                            .context("a PutRecords entry")?,
                    );
                }
                let out = client
                    .put_records()
                    .stream_name(stream)
                    .set_records(Some(entries))
                    .send()
                    .await
                    .context("PutRecords")?;
                let failed = out.failed_record_count().unwrap_or(0);
                if failed > 0 {
                    bail!("PutRecords refused {failed} records");
                }
            }
        }
        Ok(())
    }

    /// Sends live record `seq` in one call (SendMessage or PutRecord), stamped just before.
    async fn send_live(&self, seq: usize) -> Result<()> {
        match self {
            Target::Sqs { client, url, .. } => {
                client
                    .send_message()
                    .queue_url(url)
                    .message_body(body(LIVE_TAG, seq))
                    .send()
                    .await
                    .context("SendMessage")?;
            }
            Target::Kinesis { client, stream } => {
                client
                    .put_record()
                    .stream_name(stream)
                    .partition_key(random_key())
                    .data(KinesisBlob::new(body(LIVE_TAG, seq)))
                    .send()
                    .await
                    .context("PutRecord")?;
            }
        }
        Ok(())
    }

    /// Writes the bulk phase's records, [`PREFILL_IN_FLIGHT`] calls at a time.
    async fn prefill(&self, records: usize) -> Result<()> {
        let per_call = match self {
            Target::Sqs { .. } => SQS_SEND_BATCH,
            Target::Kinesis { .. } => KINESIS_PUT_BATCH,
        };
        let calls = (0..records).step_by(per_call);
        bench::bounded(calls, PREFILL_IN_FLIGHT, PHASE_LIMIT, "pre-fill", |from| {
            let target = self.clone();
            async move { target.send_batch(from, (from + per_call).min(records)).await }
        })
        .await
    }
}

fn random_key() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Sends the live records at the steady rate and waits for all of them to be seen.
async fn live_phase(target: &Target, settings: &Settings, seen: &Shared, logs: impl Fn() -> String) -> Result<Live> {
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / settings.live_rate as f64));
    // A stall (all permits taken) must not be made up by a burst: the phase measures idle
    // consumers receiving a steady trickle.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let permits = Arc::new(Semaphore::new(LIVE_IN_FLIGHT));
    let mut sends = JoinSet::new();
    let started = Instant::now();
    for seq in 0..settings.live_records {
        ticker.tick().await;
        let permit = permits.clone().acquire_owned().await.context("live permits")?;
        let target = target.clone();
        sends.spawn(async move {
            let result = target.send_live(seq).await;
            drop(permit);
            result
        });
        while let Some(done) = sends.try_join_next() {
            done.context("a live send task")??;
        }
    }
    // Bounded by the SDK's operation timeout of each call.
    while let Some(done) = sends.join_next().await {
        done.context("a live send task")??;
    }
    let send_rate = settings.live_records as f64 / started.elapsed().as_secs_f64().max(1e-9);
    let want = settings.live_records;
    wait_for(seen, LIVE_LIMIT, "live records seen", logs, |s| s.live >= want).await?;
    let mut latencies = lock(seen).latencies_us.clone();
    latencies.sort_unstable();
    Ok(Live {
        p50_ms: percentile_ms(&latencies, 0.50),
        p99_ms: percentile_ms(&latencies, 0.99),
        max_ms: percentile_ms(&latencies, 1.0),
        send_rate,
    })
}

/// The nearest-rank percentile `q` of sorted µs values, in ms.
fn percentile_ms(sorted_us: &[u64], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len());
    sorted_us[rank - 1] as f64 / 1000.0
}

/// The last `max` bytes of `text`, cut at a character boundary.
fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

// ---------------------------------------------------------------------------------------------
// Out files, read in both modes

/// Reads the consumers' out files every [`TAIL_POLL`] on a thread of its own (so the timing does
/// not wait for the async runtime, busy with the live sends), and records every new line.
struct Tailer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Tailer {
    fn start(paths: Vec<PathBuf>, seen: Shared) -> Tailer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut files: Vec<TailFile> = paths.into_iter().map(TailFile::new).collect();
            // Ends when the guard drops (end of the mode, or an error).
            while !flag.load(Ordering::Acquire) {
                for file in &mut files {
                    file.poll(&seen);
                }
                std::thread::sleep(TAIL_POLL);
            }
        });
        Tailer {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Tailer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One consumer's out file, read from where the last poll stopped.
struct TailFile {
    path: PathBuf,
    /// Opened once the handler created it; reading on from EOF returns what was appended since.
    file: Option<File>,
    /// The start of a line whose end was not written yet.
    partial: Vec<u8>,
}

impl TailFile {
    fn new(path: PathBuf) -> TailFile {
        TailFile {
            path,
            file: None,
            partial: Vec::new(),
        }
    }

    fn poll(&mut self, seen: &Shared) {
        if self.file.is_none() {
            self.file = File::open(&self.path).ok();
        }
        let Some(file) = self.file.as_mut() else { return };
        let mut fresh = Vec::new();
        if file.read_to_end(&mut fresh).is_err() || fresh.is_empty() {
            return;
        }
        let seen_us = now_us();
        let seen_at = Instant::now();
        self.partial.extend_from_slice(&fresh);
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return;
        };
        let rest = self.partial.split_off(end + 1);
        let lines = std::mem::replace(&mut self.partial, rest);
        let mut s = lock(seen);
        for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            // A `HandledRecord` line, {"id", "body", ...}, per record a consumer finished.
            let body = serde_json::from_slice::<Value>(line)
                .ok()
                .and_then(|v| v.get("body").and_then(Value::as_str).map(str::to_string));
            match body {
                Some(body) => s.record(&body, seen_us, seen_at),
                None => s.unparsed += 1,
            }
        }
    }
}

/// A temporary folder with the paths of `count` consumers' out files (created by their first
/// append); the files go when the folder drops.
fn out_files(count: usize) -> Result<(tempfile::TempDir, Vec<PathBuf>)> {
    let dir = tempfile::Builder::new()
        .prefix("lambda-bench-")
        .tempdir()
        .context("a temporary folder for the consumers' out files")?;
    let outs = (0..count)
        .map(|i| dir.path().join(format!("consumer-{i}.jsonl")))
        .collect();
    Ok((dir, outs))
}

// ---------------------------------------------------------------------------------------------
// Mapping mode

/// Invocations the handlers logged so far (`invocation <id>: <n> records`, one per batch).
fn handler_batches(handlers: &[Handler]) -> Batches {
    let mut batches = Batches::default();
    for handler in handlers {
        for line in handler.log().lines() {
            let Some(rest) = line.strip_prefix("lambda-test-handler: invocation ") else {
                continue;
            };
            let count = rest
                .strip_suffix(" records")
                .and_then(|r| r.rsplit(' ').next())
                .and_then(|n| n.parse::<u64>().ok());
            if let Some(n) = count {
                batches.calls += 1;
                batches.records += n;
            }
        }
    }
    batches
}

/// Log tails of the handlers and the broker, for a failure message.
fn mapping_logs(broker: &Broker, handlers: &[Handler]) -> String {
    let mut out = String::new();
    if let Some(first) = handlers.first() {
        out.push_str(&format!(
            "--- first handler's log tail ---\n{}\n",
            sluice_tests::file_tail(&first.log_path(), 2048)
        ));
    }
    out.push_str(&format!("--- broker log tail ---\n{}", tail(&broker.log(), 4096)));
    out
}

async fn create_function(lambda: &aws_sdk_lambda::Client, name: &str) -> Result<String> {
    lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::Providedal2023)
        .role(format!("arn:aws:iam::{ACCOUNT_ID}:role/lambda-bench"))
        .handler("bootstrap")
        .timeout(FUNCTION_TIMEOUT_SECS)
        // Sluice keeps the package's digest only; handlers are started here. An empty zip.
        .code(
            FunctionCode::builder()
                .zip_file(LambdaBlob::new(vec![0x50, 0x4b, 5, 6]))
                .build(),
        )
        .send()
        .await
        .context("CreateFunction")?;
    let out = lambda
        .get_function()
        .function_name(name)
        .send()
        .await
        .context("GetFunction")?;
    let location = out
        .code()
        .and_then(|c| c.location())
        .context("GetFunction answered no Code.Location (the Runtime API address)")?;
    Ok(location.to_string())
}

async fn run_mapping(settings: &Settings) -> Result<ModeResult> {
    let broker = Broker::start().await;
    let target = Target::create(&broker, settings).await?;
    progress(&format!(
        "mapping: pre-filling {} {} records",
        settings.records,
        settings.source.name()
    ));
    target.prefill(settings.records).await?;

    let lambda = lambda_client(&broker.endpoint()).await;
    let function = unique_name("bench");
    let runtime_api = create_function(&lambda, &function).await?;
    let (_dir, outs) = out_files(settings.handlers)?;
    let seen = Seen::shared(settings.records);
    let _tailer = Tailer::start(outs.clone(), seen.clone());
    // Started before the mapping exists, so the clock below covers the pollers and delivery
    // rather than process start-up; they wait in /invocation/next until the first batch.
    let handlers: Vec<Handler> = outs
        .iter()
        .map(|out| {
            Handler::rust(
                &function,
                &runtime_api,
                [
                    ("TEST_HANDLER_EVENT", settings.source.name().to_string()),
                    ("TEST_HANDLER_OUT", out.display().to_string()),
                ],
            )
        })
        .collect();
    let logs = || mapping_logs(&broker, &handlers);

    let cpu_before = CpuSplit::now(broker.pid(), &handlers);
    let started = Instant::now();
    let mut create = lambda
        .create_event_source_mapping()
        .function_name(&function)
        .event_source_arn(target.arn())
        .batch_size(settings.batch_size as i32);
    if settings.source == Source::Kinesis {
        create = create.starting_position(EventSourcePosition::TrimHorizon);
    }
    create.send().await.context("CreateEventSourceMapping")?;
    progress("mapping: mapping created, waiting for the handlers");
    let want = settings.records;
    wait_for(&seen, PHASE_LIMIT, "bulk records handled", logs, |s| s.bulk >= want).await?;
    let bulk_cpu = CpuSplit::now(broker.pid(), &handlers).since(cpu_before);
    let elapsed = lock(&seen)
        .bulk_done
        .map_or_else(|| started.elapsed(), |done| done.saturating_duration_since(started));
    let bulk_batches = handler_batches(&handlers);
    progress(&format!(
        "mapping: {} records handled in {:.2} s; live phase",
        settings.records,
        elapsed.as_secs_f64()
    ));

    let live = live_phase(&target, settings, &seen, logs).await?;
    let live_batches = handler_batches(&handlers).since(bulk_batches);
    let (duplicates, unparsed) = {
        let s = lock(&seen);
        (s.duplicates, s.unparsed)
    };
    Ok(ModeResult {
        consumers: format!("{} handler processes", settings.handlers),
        elapsed,
        rate: settings.records as f64 / elapsed.as_secs_f64().max(1e-9),
        bulk_batches,
        bulk_cpu,
        live_batches,
        live,
        duplicates,
        unparsed,
        errors: 0,
        first_error: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Raw mode

/// What the raw consumers did, besides the records they saw.
#[derive(Default)]
struct Counters {
    calls: AtomicU64,
    records: AtomicU64,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Counters {
    fn batch(&self, records: usize) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.records.fetch_add(records as u64, Ordering::Relaxed);
    }

    fn error(&self, error: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
        if first.is_none() {
            *first = Some(error);
        }
    }

    fn batches(&self) -> Batches {
        Batches {
            calls: self.calls.load(Ordering::Relaxed),
            records: self.records.load(Ordering::Relaxed),
        }
    }

    fn first_error(&self) -> Option<String> {
        self.first_error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn sdk_error<E: std::error::Error>(what: &str, e: &E) -> String {
    format!("{what}: {}", aws_sdk_sqs::error::DisplayErrorContext(e))
}

/// A hand-written SQS consumer: ReceiveMessage (up to 10, 1 s long poll), then
/// DeleteMessageBatch of what came. Runs until its task is aborted at the end of the mode.
async fn sqs_consumer(client: aws_sdk_sqs::Client, url: String, out: PathBuf, counters: Arc<Counters>) {
    loop {
        let received = client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await;
        let received = match received {
            Ok(out) => out,
            Err(e) => {
                counters.error(sdk_error("ReceiveMessage", &e));
                tokio::time::sleep(ERROR_PAUSE).await;
                continue;
            }
        };
        let messages = received.messages();
        if messages.is_empty() {
            continue;
        }
        counters.batch(messages.len());
        let mut lines = String::new();
        for m in messages {
            HandledRecord {
                id: m.message_id(),
                body: m.body().unwrap_or_default(),
                shard: None,
                group: None,
                arrival_ms: None,
            }
            .push_line(&mut lines);
        }
        if let Err(e) = append_lines(&out, &lines) {
            counters.error(format!("append to {}: {e}", out.display()));
            continue;
        }
        let entries: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .set_receipt_handle(m.receipt_handle().map(str::to_string))
                    .build()
                    .ok()
            })
            .collect();
        let deleted = client
            .delete_message_batch()
            .queue_url(&url)
            .set_entries(Some(entries))
            .send()
            .await;
        match deleted {
            Ok(out) if out.failed().is_empty() => {}
            Ok(out) => counters.error(format!("DeleteMessageBatch refused {} entries", out.failed().len())),
            Err(e) => counters.error(sdk_error("DeleteMessageBatch", &e)),
        }
    }
}

/// A hand-written Kinesis shard reader: GetShardIterator TRIM_HORIZON, then GetRecords with
/// `limit` along NextShardIterator, pausing [`EMPTY_READ_PAUSE`] after an empty read. Runs until
/// its task is aborted at the end of the mode (or the shard is closed, which no phase does).
async fn kinesis_consumer(
    client: aws_sdk_kinesis::Client,
    stream: String,
    shard: String,
    limit: i32,
    out: PathBuf,
    counters: Arc<Counters>,
) {
    let mut iterator: Option<String> = None;
    loop {
        let current = match iterator.take() {
            Some(it) => it,
            None => {
                let out = client
                    .get_shard_iterator()
                    .stream_name(&stream)
                    .shard_id(&shard)
                    .shard_iterator_type(ShardIteratorType::TrimHorizon)
                    .send()
                    .await;
                match out.map(|o| o.shard_iterator().map(str::to_string)) {
                    Ok(Some(it)) => it,
                    Ok(None) => {
                        counters.error(format!("GetShardIterator answered no iterator for {shard}"));
                        tokio::time::sleep(ERROR_PAUSE).await;
                        continue;
                    }
                    Err(e) => {
                        counters.error(sdk_error("GetShardIterator", &e));
                        tokio::time::sleep(ERROR_PAUSE).await;
                        continue;
                    }
                }
            }
        };
        let read = match client.get_records().shard_iterator(&current).limit(limit).send().await {
            Ok(read) => read,
            Err(e) => {
                counters.error(sdk_error("GetRecords", &e));
                iterator = Some(current);
                tokio::time::sleep(ERROR_PAUSE).await;
                continue;
            }
        };
        let records = read.records();
        if !records.is_empty() {
            counters.batch(records.len());
            let mut lines = String::new();
            for r in records {
                HandledRecord {
                    id: Some(r.sequence_number()),
                    body: &String::from_utf8_lossy(r.data().as_ref()),
                    shard: Some(&shard),
                    group: None,
                    arrival_ms: r.approximate_arrival_timestamp().and_then(|t| t.to_millis().ok()),
                }
                .push_line(&mut lines);
            }
            if let Err(e) = append_lines(&out, &lines) {
                // Read again from the same place: the records were not handled.
                counters.error(format!("append to {}: {e}", out.display()));
                iterator = Some(current);
                tokio::time::sleep(ERROR_PAUSE).await;
                continue;
            }
        }
        let Some(next) = read.next_shard_iterator() else {
            return;
        };
        iterator = Some(next.to_string());
        if records.is_empty() {
            tokio::time::sleep(EMPTY_READ_PAUSE).await;
        }
    }
}

async fn run_raw(settings: &Settings) -> Result<ModeResult> {
    let broker = Broker::start().await;
    let target = Target::create(&broker, settings).await?;
    progress(&format!(
        "raw: pre-filling {} {} records",
        settings.records,
        settings.source.name()
    ));
    target.prefill(settings.records).await?;
    // Shards are listed before the clock starts: the mapping's poller had its list too.
    let shards = match &target {
        Target::Sqs { .. } => Vec::new(),
        Target::Kinesis { client, stream } => {
            let out = client
                .list_shards()
                .stream_name(stream)
                .send()
                .await
                .context("ListShards")?;
            out.shards().iter().map(|s| s.shard_id().to_string()).collect()
        }
    };

    let consumers_wanted = match &target {
        Target::Sqs { .. } => settings.handlers,
        Target::Kinesis { .. } => shards.len(),
    };
    let (dir, outs) = out_files(consumers_wanted)?;
    let seen = Seen::shared(settings.records);
    let _tailer = Tailer::start(outs.clone(), seen.clone());
    let counters = Arc::new(Counters::default());
    // Dropped (every consumer aborted) when this function returns, however it returns.
    let mut consumers = JoinSet::new();
    let cpu_before = CpuSplit::now(broker.pid(), &[]);
    let started = Instant::now();
    let consumer_count = match &target {
        Target::Sqs { client, url, .. } => {
            for out in &outs {
                consumers.spawn(sqs_consumer(client.clone(), url.clone(), out.clone(), counters.clone()));
            }
            format!("{} SDK tasks", settings.handlers)
        }
        Target::Kinesis { client, stream } => {
            for (shard, out) in shards.iter().zip(&outs) {
                consumers.spawn(kinesis_consumer(
                    client.clone(),
                    stream.clone(),
                    shard.clone(),
                    settings.batch_size as i32,
                    out.clone(),
                    counters.clone(),
                ));
            }
            format!("{} SDK tasks, one per shard (--handlers ignored)", shards.len())
        }
    };
    let logs = || {
        format!(
            "raw consumers: {} failed calls, first: {}\n--- broker log tail ---\n{}",
            counters.errors.load(Ordering::Relaxed),
            counters.first_error().unwrap_or_else(|| "none".to_string()),
            tail(&broker.log(), 4096)
        )
    };
    progress("raw: consumers started");
    let want = settings.records;
    wait_for(&seen, PHASE_LIMIT, "bulk records consumed", logs, |s| s.bulk >= want).await?;
    let bulk_cpu = CpuSplit::now(broker.pid(), &[]).since(cpu_before);
    let elapsed = lock(&seen)
        .bulk_done
        .map_or_else(|| started.elapsed(), |done| done.saturating_duration_since(started));
    let bulk_batches = counters.batches();
    progress(&format!(
        "raw: {} records consumed in {:.2} s; live phase",
        settings.records,
        elapsed.as_secs_f64()
    ));

    let live = live_phase(&target, settings, &seen, logs).await?;
    let live_batches = counters.batches().since(bulk_batches);
    consumers.abort_all();
    while consumers.join_next().await.is_some() {}
    drop(dir);
    let (duplicates, unparsed) = {
        let s = lock(&seen);
        (s.duplicates, s.unparsed)
    };
    Ok(ModeResult {
        consumers: consumer_count,
        elapsed,
        rate: settings.records as f64 / elapsed.as_secs_f64().max(1e-9),
        bulk_batches,
        bulk_cpu,
        live_batches,
        live,
        duplicates,
        unparsed,
        errors: counters.errors.load(Ordering::Relaxed),
        first_error: counters.first_error(),
    })
}

// ---------------------------------------------------------------------------------------------
// Report

struct Report {
    settings: Settings,
    /// The broker that ran: beside this binary (same profile), unless `SLUICE_BIN` named another.
    broker_binary: String,
    mapping: ModeResult,
    raw: ModeResult,
}

impl Report {
    fn ratio(&self) -> f64 {
        if self.raw.rate <= 0.0 {
            return 0.0;
        }
        self.mapping.rate / self.raw.rate
    }

    fn mode_json(m: &ModeResult) -> Value {
        json!({
            "consumers": m.consumers,
            "rate_per_sec": round(m.rate, 1),
            "elapsed_s": round(m.elapsed.as_secs_f64(), 3),
            "mean_batch_bulk": round(m.bulk_batches.mean(), 2),
            "mean_batch_live": round(m.live_batches.mean(), 2),
            "cpu_s_bulk": {
                "broker": round(m.bulk_cpu.broker, 2),
                "handlers": round(m.bulk_cpu.handlers, 2),
                "bench": round(m.bulk_cpu.bench, 2),
            },
            "latency_ms": {
                "p50": round(m.live.p50_ms, 2),
                "p99": round(m.live.p99_ms, 2),
                "max": round(m.live.max_ms, 2),
            },
            "live_send_rate_per_sec": round(m.live.send_rate, 1),
            "duplicates": m.duplicates,
            "unparsed": m.unparsed,
            "failed_calls": m.errors,
            "first_error": m.first_error,
        })
    }

    fn json(&self) -> Value {
        let s = &self.settings;
        json!({
            "source": s.source.name(),
            "records": s.records,
            "handlers": s.handlers,
            "batch_size": s.batch_size,
            "shards": (s.source == Source::Kinesis).then_some(s.shards),
            "live_records": s.live_records,
            "live_rate_per_sec": s.live_rate,
            "mapping": Report::mode_json(&self.mapping),
            "raw": Report::mode_json(&self.raw),
            "ratio_mapping_raw": round(self.ratio(), 3),
            "target_ratio": TARGET_RATIO,
            "target_met": self.ratio() >= TARGET_RATIO,
            "latency_resolution_ms": TAIL_POLL.as_secs_f64() * 1000.0,
            "machine": { "nproc": machine::nproc(), "kernel": machine::kernel() },
            "build": machine::build(),
            "broker_binary": self.broker_binary,
        })
    }

    fn table(&self) -> String {
        let s = &self.settings;
        let (m, r) = (&self.mapping, &self.raw);
        let mut out = String::new();
        let shards = if s.source == Source::Kinesis {
            format!(", {} shards", s.shards)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "lambda-bench: {}, {} records, {} handlers, batch size {}{shards}\n",
            s.source.name(),
            s.records,
            s.handlers,
            s.batch_size
        ));
        out.push_str(&format!(
            "machine: nproc {}, kernel {}; build: {} (broker {})\n\n",
            machine::nproc(),
            machine::kernel(),
            machine::build(),
            self.broker_binary
        ));
        let row = |label: &str, a: String, b: String| format!("{label:<28} {a:>22} {b:>22}\n");
        out.push_str(&row("", "mapping".into(), "raw SDK loop".into()));
        out.push_str(&row(
            "records/s (bulk)",
            format!("{:.1}", m.rate),
            format!("{:.1}", r.rate),
        ));
        out.push_str(&row(
            "time for all records (s)",
            format!("{:.3}", m.elapsed.as_secs_f64()),
            format!("{:.3}", r.elapsed.as_secs_f64()),
        ));
        out.push_str(&row(
            "mean batch (bulk)",
            format!("{:.2}", m.bulk_batches.mean()),
            format!("{:.2}", r.bulk_batches.mean()),
        ));
        let cpu_row = |label: &str, pick: fn(CpuSplit) -> f64| {
            row(
                label,
                format!("{:.2}", pick(m.bulk_cpu)),
                format!("{:.2}", pick(r.bulk_cpu)),
            )
        };
        out.push_str(&cpu_row("CPU s (bulk): broker", |c| c.broker));
        out.push_str(&cpu_row("CPU s (bulk): handlers", |c| c.handlers));
        out.push_str(&cpu_row("CPU s (bulk): this process", |c| c.bench));
        let per_1k = |m: &ModeResult| m.bulk_cpu.total() * 1e6 / s.records as f64;
        out.push_str(&row(
            "CPU ms per 1,000 records",
            format!("{:.1}", per_1k(m)),
            format!("{:.1}", per_1k(r)),
        ));
        out.push_str(&row(
            "latency p50 (ms)",
            format!("{:.1}", m.live.p50_ms),
            format!("{:.1}", r.live.p50_ms),
        ));
        out.push_str(&row(
            "latency p99 (ms)",
            format!("{:.1}", m.live.p99_ms),
            format!("{:.1}", r.live.p99_ms),
        ));
        out.push_str(&row(
            "latency max (ms)",
            format!("{:.1}", m.live.max_ms),
            format!("{:.1}", r.live.max_ms),
        ));
        out.push_str(&row(
            "mean batch (live)",
            format!("{:.2}", m.live_batches.mean()),
            format!("{:.2}", r.live_batches.mean()),
        ));
        out.push_str(&row(
            "live send rate (/s)",
            format!("{:.1}", m.live.send_rate),
            format!("{:.1}", r.live.send_rate),
        ));
        out.push_str(&row("duplicates", m.duplicates.to_string(), r.duplicates.to_string()));
        out.push_str(&row("failed calls", m.errors.to_string(), r.errors.to_string()));
        out.push_str(&format!("\nconsumers: mapping {}; raw {}\n", m.consumers, r.consumers));
        if let Some(e) = &r.first_error {
            out.push_str(&format!("raw mode's first failed call: {e}\n"));
        }
        out.push_str(&format!(
            "live phase: {} records at {}/s per mode, one send call each\n",
            s.live_records, s.live_rate
        ));
        out.push_str(&format!(
            "latency resolution: {} ms in both modes (out files polled; a line is stamped when \
             read)\n",
            TAIL_POLL.as_millis()
        ));
        let verdict = if self.ratio() >= TARGET_RATIO { "met" } else { "NOT met" };
        out.push_str(&format!(
            "ratio mapping/raw: {:.3} (target >= {TARGET_RATIO}: {verdict})\n",
            self.ratio()
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_100_bytes_and_parse_back() {
        let b = body(LIVE_TAG, 42);
        assert_eq!(b.len(), BODY_BYTES);
        let (id, sent) = parse_body(&b).expect("a body made by body() parses");
        assert_eq!(id, "l000000042");
        assert!(sent > 0);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile_ms(&v, 0.50), 50.0);
        assert_eq!(percentile_ms(&v, 0.99), 99.0);
        assert_eq!(percentile_ms(&v, 1.0), 100.0);
        assert_eq!(percentile_ms(&[], 0.5), 0.0);
    }
}
