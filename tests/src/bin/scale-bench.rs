//! `scale-bench`: how the broker scales with the number of resources it holds. Memory per idle
//! SQS queue and per idle Kinesis shard, and the latency of a full ListQueues listing, a full
//! ListStreams listing and a Prometheus scrape of `/metrics`, measured at several sizes up to
//! 10,000 queues and 1,000 streams of 10 shards, so a reader sees whether each cost stays flat
//! per resource.
//!
//! # Parts
//! - One broker ([`Broker`], `--auth off`, `--metrics-max-resources` as given, a temporary data
//!   folder, removed when it drops).
//! - Queue phase: `--steps` steps, step k creating queues `sb-q-NNNNN` (CreateQueue,
//!   [`SETUP_IN_FLIGHT`] at a time) up to k/steps of `--queues`. Stream phase after it: as many
//!   steps, step k creating streams `sb-s-NNNN` of `--shards` shards up to k/steps of
//!   `--streams`, each ACTIVE before the step ends. Queues and streams are added in separate
//!   phases so that what each costs in memory can be told apart.
//! - Streams are spread over regions: the broker allows DescribeLimits' ShardLimit (500, AWS's
//!   default quota) open shards per account and region, and a region is a namespace of its own,
//!   as in AWS. Region `us-east-1` holds the first ShardLimit / shards streams, `sb-region-001`
//!   the next as many, and so on (20 regions for 1,000 streams of 10 shards).
//! - Measurement, once at zero resources and after every step: one untimed round, [`SETTLE`]
//!   idle, the broker's resident memory (VmRSS of `/proc/<pid>/status`), then `--rounds` timed
//!   rounds of: a full ListQueues listing (MaxResults [`QUEUE_PAGE`] along NextToken), a full
//!   ListStreams listing (Limit [`STREAM_PAGE`] along NextToken, in every region holding
//!   streams), one `GET /metrics`. The SDK calls are timed around the SDK (signing and parsing
//!   included), the scrape from connect to its body's last byte, on a fresh connection as
//!   Prometheus makes after an idle scrape interval.
//! - Every answer is checked, after its clock stopped: ListQueues lists exactly the queues
//!   made, each once; ListStreams lists exactly the streams made, each once, ACTIVE, in its own
//!   region; `/metrics` answers 200 with [`QUEUE_SERIES`] series naming min(queues made,
//!   `--metrics-max-resources`) of the queues and [`OMITTED_SERIES`]`{kind="queue"}` counting
//!   the rest, and the same for streams with [`STREAM_SERIES`].
//! - Report: a row per measurement (RSS, the memory added per queue or per shard since the row
//!   before, p50 / p99 / max of each request), then memory per idle queue (ΔRSS / Δqueues over
//!   the queue phase), per idle shard (ΔRSS / Δshards over the stream phase), and how each
//!   latency grew against its resource count; a markdown table, or one JSON object with
//!   `--json`. Progress goes to stderr.
//! - RSS is everything the process holds: the resource's own structures, what RocksDB keeps of
//!   its metadata (memtables) and what the allocator keeps after freeing, so a step's delta can
//!   be noisy; the figures over a whole phase are the ones to read.
//!
//! # Invariants
//! - Every wait is bounded: each step's set-up and each measurement [`PHASE_LIMIT`], every SDK
//!   call 30 s (the harness's operation timeout), each scrape [`REQUEST_LIMIT`], each stream's
//!   wait for ACTIVE 10 s (the harness's `create_stream`); every pagination loop stops after
//!   the pages the expected count needs, plus one.
//! - The broker is killed and its data folder removed when its handle drops, also on an error;
//!   `main` returns instead of calling `exit`, so the drops run.

use std::collections::HashSet;
use std::ops::Range;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use aws_sdk_kinesis::config::Region;
use aws_sdk_kinesis::operation::list_streams::ListStreamsOutput;
use aws_sdk_kinesis::types::StreamStatus;
use clap::Parser;
use serde_json::{json, Value};
use sluice_tests::bench::{self, round, thousands};
use sluice_tests::kinesis::{create_stream, kinesis_client};
use sluice_tests::{machine, Broker, REGION};

/// Concurrent CreateQueue or CreateStream calls while setting up.
const SETUP_IN_FLIGHT: usize = 16;
/// Longest set-up of one step, and longest measurement: 20,000 queues or 2,000 streams take
/// well under a minute in a release build (a stream is CREATING for half a second).
const PHASE_LIMIT: Duration = Duration::from_secs(900);
/// Longest scrape of `/metrics`.
const REQUEST_LIMIT: Duration = Duration::from_secs(30);
/// Idle time before RSS is read: lets background work of the set-up (RocksDB flushes, the
/// allocator's deferred frees) finish, so it does not land on one step's figure.
const SETTLE: Duration = Duration::from_secs(2);
/// Untimed rounds before each measurement: the first use of a code path at a new size (a
/// grown buffer, a lazily built table) is not a steady-state figure.
const WARM_UP: usize = 1;
/// ListQueues' MaxResults: its maximum.
const QUEUE_PAGE: usize = 1000;
/// ListStreams' Limit. The model allows up to 10,000, but AWS answers at most 100 streams per
/// call whatever is asked, so clients written against AWS page by 100.
const STREAM_PAGE: usize = 100;
/// Name prefix of the queues made here.
const QUEUE_PREFIX: &str = "sb-q-";
/// Name prefix of the streams made here.
const STREAM_PREFIX: &str = "sb-s-";
/// A per-queue series (one line per queue and message state), labelled `queue`.
const QUEUE_SERIES: &str = "sluice_queue_messages";
/// A per-stream series (one line per stream), labelled `stream`.
const STREAM_SERIES: &str = "sluice_stream_iterator_age_milliseconds";
/// Resources beyond `--metrics-max-resources`, by `kind`.
const OMITTED_SERIES: &str = "sluice_metrics_resources_omitted";

/// The command line.
#[derive(Parser, Debug)]
#[command(
    name = "scale-bench",
    about = "Memory per idle queue and per idle shard, and the latency of ListQueues, ListStreams \
             and a /metrics scrape, as queues and then streams are added in steps"
)]
struct Cli {
    /// Queues at the end of the queue phase
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(10..=20_000))]
    queues: u64,
    /// Streams at the end of the stream phase (0: no stream phase)
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(0..=2_000))]
    streams: u64,
    /// Shards of every stream
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=50))]
    shards: u64,
    /// Steps of each phase: measure at 1/steps, 2/steps, ... of the totals (and at zero)
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=20))]
    steps: u64,
    /// Timed rounds per measurement
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    rounds: u64,
    /// The broker's --metrics-max-resources (its default is 1000)
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    metrics_max_resources: u64,
    /// Print one JSON object instead of the table
    #[arg(long)]
    json: bool,
}

/// Parses the command line, runs the benchmark on a fresh runtime, and reports an error as
/// exit status 1 after every drop ran.
fn main() -> ExitCode {
    let cli = Cli::parse();
    bench::main_with("scale-bench", run(&cli))
}

/// A progress line on stderr, so stdout holds only the report.
fn progress(message: &str) {
    eprintln!("scale-bench: {message}");
}

/// The whole benchmark: start the broker, the queue phase, the stream phase, the report.
async fn run(cli: &Cli) -> Result<()> {
    let queues = cli.queues as usize;
    let streams = cli.streams as usize;
    let shards = cli.shards as usize;
    let steps = cli.steps as usize;
    let max_resources = cli.metrics_max_resources as usize;
    let broker_binary = sluice_tests::broker::binary_path();
    progress(&format!("broker {}", broker_binary.display()));
    let max_resources_arg = max_resources.to_string();
    let broker = Broker::start_with(&["--auth", "off", "--metrics-max-resources", max_resources_arg.as_str()]).await;
    let pid = broker.pid().context("the broker runs without a process id")?;
    let endpoint = broker.endpoint();
    let home = kinesis_client(&endpoint).await;
    let quota = shard_quota(&home).await?;
    ensure!(
        shards <= quota,
        "--shards {shards}: the broker allows {quota} open shards per account and region"
    );
    let per_region = quota / shards;
    let regions = streams.div_ceil(per_region).max(1);
    let bench = Bench {
        endpoint,
        pid,
        sqs: broker.sqs().await,
        kinesis: (0..regions).map(|r| regional_client(&home, r)).collect(),
        per_region,
        shards,
        rounds: cli.rounds as usize,
        max_resources,
    };
    progress(&format!(
        "{queues} queues, then {streams} streams of {shards} shards ({per_region} streams in each \
         of {regions} regions: the broker allows {quota} shards per region), in {steps} steps each"
    ));

    let mut rows = Vec::with_capacity(1 + 2 * steps);
    rows.push(
        bench
            .measure(Phase::Start, 0, 0, Duration::ZERO)
            .await
            .context("measuring at zero resources")?,
    );
    progress(&row_progress(&rows));

    let mut made_queues = 0;
    for step in 1..=steps {
        let target = queues * step / steps;
        let started = Instant::now();
        bench
            .add_queues(made_queues..target)
            .await
            .with_context(|| format!("queue step {step}"))?;
        let setup = started.elapsed();
        made_queues = target;
        let row = bench
            .measure(Phase::Queues, made_queues, 0, setup)
            .await
            .with_context(|| format!("measuring at {made_queues} queues"))?;
        rows.push(row);
        progress(&row_progress(&rows));
    }

    let mut made_streams = 0;
    // Without streams there is no stream phase: its rows would repeat the last queue row.
    let stream_steps = if streams == 0 { 0 } else { steps };
    for step in 1..=stream_steps {
        let target = streams * step / steps;
        let started = Instant::now();
        bench
            .add_streams(made_streams..target)
            .await
            .with_context(|| format!("stream step {step}"))?;
        let setup = started.elapsed();
        made_streams = target;
        let row = bench
            .measure(Phase::Streams, made_queues, made_streams, setup)
            .await
            .with_context(|| format!("measuring at {made_queues} queues and {made_streams} streams"))?;
        rows.push(row);
        progress(&row_progress(&rows));
    }

    let report = Report {
        queues,
        streams,
        shards,
        steps,
        rounds: bench.rounds,
        max_resources,
        quota,
        per_region,
        regions,
        broker_binary: broker_binary.display().to_string(),
        rows,
    };
    if cli.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.table());
    }
    Ok(())
}

/// One line on the latest row, for stderr.
fn row_progress(rows: &[Row]) -> String {
    let Some(row) = rows.last() else {
        return String::from("no measurement yet");
    };
    format!(
        "{} queues, {} streams ({} shards): RSS {:.1} MB; p50 ListQueues {:.2} ms, ListStreams \
         {:.2} ms, /metrics {:.2} ms ({} bytes); set-up {:.1} s",
        row.queues,
        row.streams,
        row.shards,
        row.rss_mb(),
        row.list_queues.p50_ms(),
        row.list_streams.p50_ms(),
        row.metrics.p50_ms(),
        row.metrics_bytes,
        row.setup.as_secs_f64()
    )
}

// ---------------------------------------------------------------------------------------------
// The broker under test

/// The broker's address and process, and the clients that call it.
struct Bench {
    endpoint: String,
    /// The broker's process, whose RSS is read.
    pid: u32,
    sqs: aws_sdk_sqs::Client,
    /// One Kinesis client per region, region number 0 (`us-east-1`) first.
    kinesis: Vec<aws_sdk_kinesis::Client>,
    /// Streams per region: the shard quota over the shards of a stream.
    per_region: usize,
    /// Shards of every stream.
    shards: usize,
    rounds: usize,
    /// The broker's `--metrics-max-resources`.
    max_resources: usize,
}

impl Bench {
    /// Regions holding `streams` streams (at least the home region, listed even when empty).
    fn regions_for(&self, streams: usize) -> usize {
        streams.div_ceil(self.per_region).max(1)
    }

    /// Creates queues `range` (by number), [`SETUP_IN_FLIGHT`] at a time.
    async fn add_queues(&self, range: Range<usize>) -> Result<()> {
        bench::bounded(range, SETUP_IN_FLIGHT, PHASE_LIMIT, "creating queues", |i| {
            let sqs = self.sqs.clone();
            async move {
                let name = queue_name(i);
                let out = sqs
                    .create_queue()
                    .queue_name(name.as_str())
                    .send()
                    .await
                    .map_err(|e| anyhow!("CreateQueue {name}: {}", aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
                let url = out.queue_url().context("CreateQueue answered no QueueUrl")?;
                ensure!(
                    url.ends_with(&format!("/{name}")),
                    "CreateQueue {name} answered the URL {url}"
                );
                Ok::<(), anyhow::Error>(())
            }
        })
        .await
    }

    /// Creates streams `range` (by number) in their regions, [`SETUP_IN_FLIGHT`] at a time,
    /// each ACTIVE before this returns.
    async fn add_streams(&self, range: Range<usize>) -> Result<()> {
        let shards = i32::try_from(self.shards).context("--shards")?;
        let per_region = self.per_region;
        bench::bounded(range, SETUP_IN_FLIGHT, PHASE_LIMIT, "creating streams", |i| {
            let client = self.kinesis.get(i / per_region).cloned();
            async move {
                let client = client.with_context(|| format!("no client for the region of stream {i}"))?;
                // The harness's helper panics on a failure (a panicked task is an error here)
                // and waits for ACTIVE, 10 s at most.
                create_stream(&client, &stream_name(i), shards).await;
                Ok::<(), anyhow::Error>(())
            }
        })
        .await
    }

    /// One row: a warm-up round, [`SETTLE`], RSS, then the timed rounds, within
    /// [`PHASE_LIMIT`].
    async fn measure(&self, phase: Phase, queues: usize, streams: usize, setup: Duration) -> Result<Row> {
        let work = async {
            for _ in 0..WARM_UP {
                self.list_queues(queues).await.context("warm-up ListQueues")?;
                self.list_streams(streams).await.context("warm-up ListStreams")?;
                self.scrape(queues, streams).await.context("warm-up GET /metrics")?;
            }
            tokio::time::sleep(SETTLE).await;
            let rss_kb = rss_kb(self.pid)?;
            let mut list_queues = Vec::with_capacity(self.rounds);
            let mut list_streams = Vec::with_capacity(self.rounds);
            let mut metrics = Vec::with_capacity(self.rounds);
            let mut metrics_bytes = 0;
            // Interleaved, so a background flush or compaction lands on all three alike.
            for round in 0..self.rounds {
                list_queues.push(
                    self.list_queues(queues)
                        .await
                        .with_context(|| format!("ListQueues, round {round}"))?,
                );
                list_streams.push(
                    self.list_streams(streams)
                        .await
                        .with_context(|| format!("ListStreams, round {round}"))?,
                );
                let (elapsed, bytes) = self
                    .scrape(queues, streams)
                    .await
                    .with_context(|| format!("GET /metrics, round {round}"))?;
                metrics.push(elapsed);
                metrics_bytes = bytes;
            }
            Ok::<Row, anyhow::Error>(Row {
                phase,
                queues,
                streams,
                shards: streams * self.shards,
                regions: if streams == 0 { 0 } else { self.regions_for(streams) },
                rss_kb,
                setup,
                list_queues: Timing::new(list_queues),
                list_streams: Timing::new(list_streams),
                metrics: Timing::new(metrics),
                metrics_bytes,
            })
        };
        tokio::time::timeout(PHASE_LIMIT, work)
            .await
            .with_context(|| format!("the measurement took over {PHASE_LIMIT:?}"))?
    }

    /// One full ListQueues listing along NextToken; its time, once its answers are checked to
    /// list queues 0..`want`, each once.
    async fn list_queues(&self, want: usize) -> Result<Duration> {
        let max_pages = want / QUEUE_PAGE + 2;
        let started = Instant::now();
        let mut pages = Vec::with_capacity(max_pages);
        let mut token: Option<String> = None;
        let mut done = false;
        for _ in 0..max_pages {
            let out = self
                .sqs
                .list_queues()
                .max_results(QUEUE_PAGE as i32)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| anyhow!("ListQueues: {}", aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
            token = out.next_token().map(str::to_string);
            pages.push(out);
            if token.is_none() {
                done = true;
                break;
            }
        }
        let elapsed = started.elapsed();
        ensure!(
            done,
            "ListQueues still answered a NextToken after {max_pages} pages for {want} queues"
        );
        let mut seen = HashSet::with_capacity(want);
        for page in &pages {
            ensure!(
                page.queue_urls().len() <= QUEUE_PAGE,
                "a ListQueues page of {} URLs, above MaxResults {QUEUE_PAGE}",
                page.queue_urls().len()
            );
            for url in page.queue_urls() {
                let index = url
                    .rsplit('/')
                    .next()
                    .and_then(queue_index)
                    .with_context(|| format!("ListQueues listed a queue this benchmark did not make: {url}"))?;
                ensure!(index < want, "ListQueues listed {url}, beyond the {want} queues made");
                ensure!(seen.insert(index), "ListQueues listed {url} twice");
            }
        }
        ensure!(
            seen.len() == want,
            "ListQueues listed {} queues, not {want}",
            seen.len()
        );
        Ok(elapsed)
    }

    /// One full ListStreams listing along NextToken in every region holding streams; its time,
    /// once its answers are checked to list streams 0..`want`, each once, ACTIVE, in its region.
    async fn list_streams(&self, want: usize) -> Result<Duration> {
        let regions = self.regions_for(want);
        ensure!(
            regions <= self.kinesis.len(),
            "{want} streams need {regions} regions, more than the {} set up",
            self.kinesis.len()
        );
        let max_pages = self.per_region / STREAM_PAGE + 2;
        let started = Instant::now();
        let mut pages = Vec::with_capacity(regions);
        for (region, client) in self.kinesis.iter().enumerate().take(regions) {
            let mut token: Option<String> = None;
            let mut more = true;
            for _ in 0..max_pages {
                let out = client
                    .list_streams()
                    .limit(STREAM_PAGE as i32)
                    .set_next_token(token.take())
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow!(
                            "ListStreams in {}: {}",
                            region_name(region),
                            aws_sdk_kinesis::error::DisplayErrorContext(&e)
                        )
                    })?;
                more = out.has_more_streams();
                token = out.next_token().map(str::to_string);
                pages.push((region, out));
                if !more {
                    break;
                }
                ensure!(
                    token.is_some(),
                    "ListStreams in {} answered HasMoreStreams without a NextToken",
                    region_name(region)
                );
            }
            ensure!(
                !more,
                "ListStreams in {} still had more streams after {max_pages} pages",
                region_name(region)
            );
        }
        let elapsed = started.elapsed();
        check_stream_pages(&pages, want, self.per_region)?;
        Ok(elapsed)
    }

    /// One `GET /metrics`; its time and size, once it is checked to name the resources made.
    async fn scrape(&self, queues: usize, streams: usize) -> Result<(Duration, usize)> {
        let url = format!("{}/metrics", self.endpoint);
        let started = Instant::now();
        let reply = sluice_tests::raw::get_with_timeout(&url, REQUEST_LIMIT)
            .await
            .map_err(|e| anyhow!("GET /metrics: {e}"))?;
        let elapsed = started.elapsed();
        if reply.status != 200 {
            bail!(
                "GET /metrics answered {}: {}",
                reply.status,
                reply.body.chars().take(200).collect::<String>()
            );
        }
        check_metrics(&reply.body, queues, streams, self.max_resources)?;
        Ok((elapsed, reply.raw.len()))
    }
}

/// The broker's open-shard quota per account and region (DescribeLimits' ShardLimit).
async fn shard_quota(kinesis: &aws_sdk_kinesis::Client) -> Result<usize> {
    let out = kinesis
        .describe_limits()
        .send()
        .await
        .map_err(|e| anyhow!("DescribeLimits: {}", aws_sdk_kinesis::error::DisplayErrorContext(&e)))?;
    let limit = out.shard_limit();
    ensure!(limit > 0, "DescribeLimits answered ShardLimit {limit}");
    usize::try_from(limit).context("ShardLimit")
}

/// A Kinesis client like `home` that signs for region number `region`: the broker takes the
/// region from the signature's credential scope, so each is a namespace with a quota of its own.
fn regional_client(home: &aws_sdk_kinesis::Client, region: usize) -> aws_sdk_kinesis::Client {
    if region == 0 {
        return home.clone();
    }
    let config = home
        .config()
        .to_builder()
        .region(Region::new(region_name(region)))
        .build();
    aws_sdk_kinesis::Client::from_conf(config)
}

/// The name of region number `region`: the harness's region first, then made-up ones in AWS's
/// form (lowercase, digits, dashes), which the broker accepts as any other.
fn region_name(region: usize) -> String {
    if region == 0 {
        REGION.to_string()
    } else {
        format!("sb-region-{region:03}")
    }
}

/// The name of queue number `i`.
fn queue_name(i: usize) -> String {
    format!("{QUEUE_PREFIX}{i:05}")
}

/// The name of stream number `i`.
fn stream_name(i: usize) -> String {
    format!("{STREAM_PREFIX}{i:04}")
}

/// The number of a queue made here, from its name.
fn queue_index(name: &str) -> Option<usize> {
    name.strip_prefix(QUEUE_PREFIX)?.parse().ok()
}

/// The number of a stream made here, from its name.
fn stream_index(name: &str) -> Option<usize> {
    name.strip_prefix(STREAM_PREFIX)?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Checks

/// ListStreams pages (by region number) list streams 0..`want`, each once, ACTIVE, each in
/// region `number / per_region`, with a summary for every name.
fn check_stream_pages(pages: &[(usize, ListStreamsOutput)], want: usize, per_region: usize) -> Result<()> {
    let mut seen = HashSet::with_capacity(want);
    for (region, page) in pages {
        let names = page.stream_names();
        let summaries = page.stream_summaries();
        ensure!(
            names.len() <= STREAM_PAGE,
            "a ListStreams page of {} names, above Limit {STREAM_PAGE}",
            names.len()
        );
        ensure!(
            summaries.len() == names.len(),
            "ListStreams in {} answered {} names and {} summaries",
            region_name(*region),
            names.len(),
            summaries.len()
        );
        for (name, summary) in names.iter().zip(summaries) {
            ensure!(
                summary.stream_name() == name.as_str(),
                "ListStreams answered the name {name} beside a summary of {}",
                summary.stream_name()
            );
            ensure!(
                *summary.stream_status() == StreamStatus::Active,
                "ListStreams lists {name} as {:?}",
                summary.stream_status()
            );
            let index = stream_index(name)
                .with_context(|| format!("ListStreams listed a stream this benchmark did not make: {name}"))?;
            ensure!(
                index < want,
                "ListStreams listed {name}, beyond the {want} streams made"
            );
            ensure!(
                index / per_region == *region,
                "ListStreams in {} listed {name}, which was made in {}",
                region_name(*region),
                region_name(index / per_region)
            );
            ensure!(seen.insert(index), "ListStreams listed {name} twice");
        }
    }
    ensure!(
        seen.len() == want,
        "ListStreams listed {} streams, not {want}",
        seen.len()
    );
    Ok(())
}

/// A scrape names, with a series of its own, min(made, `max_resources`) of the queues and of
/// the streams made here, and counts the rest as omitted.
fn check_metrics(text: &str, queues: usize, streams: usize, max_resources: usize) -> Result<()> {
    for (kind, series, prefix, made) in [
        ("queue", QUEUE_SERIES, QUEUE_PREFIX, queues),
        ("stream", STREAM_SERIES, STREAM_PREFIX, streams),
    ] {
        let shown = named_in(text, series, kind, prefix);
        let want = made.min(max_resources);
        ensure!(
            shown == want,
            "/metrics has {series} series for {shown} {kind}s, not {want} ({made} made, \
             --metrics-max-resources {max_resources})"
        );
        let omitted =
            omitted(text, kind).with_context(|| format!("/metrics has no {OMITTED_SERIES}{{kind=\"{kind}\"}} line"))?;
        ensure!(
            omitted == (made - want) as u64,
            "/metrics counts {omitted} {kind}s omitted, not {}",
            made - want
        );
    }
    Ok(())
}

/// How many distinct names starting with `prefix` the lines of `series` carry in `label`.
fn named_in(text: &str, series: &str, label: &str, prefix: &str) -> usize {
    let mut names = HashSet::new();
    for line in text.lines() {
        let Some(labels) = line.strip_prefix(series).and_then(|rest| rest.strip_prefix('{')) else {
            continue;
        };
        if let Some(name) = label_value(labels, label).filter(|n| n.starts_with(prefix)) {
            names.insert(name);
        }
    }
    names.len()
}

/// The value of `sluice_metrics_resources_omitted{kind="<kind>"}`.
fn omitted(text: &str, kind: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let labels = line.strip_prefix(OMITTED_SERIES)?.strip_prefix('{')?;
        if label_value(labels, "kind")? != kind {
            return None;
        }
        let value = labels.split_once("} ")?.1.split_whitespace().next()?;
        value.parse::<f64>().ok().map(|v| v as u64)
    })
}

/// The value of label `name` in a sample line's labels (the text after `{`). Label values here
/// are resource names and fixed words, never holding an escaped quote.
fn label_value<'a>(labels: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = labels;
    loop {
        let (key, after) = rest.split_once("=\"")?;
        let end = after.find('"')?;
        if key.trim_start_matches(',').trim() == name {
            return Some(&after[..end]);
        }
        rest = &after[end + 1..];
    }
}

/// The resident memory of process `pid`, kB (VmRSS of `/proc/<pid>/status`).
fn rss_kb(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    vm_rss_kb(&status).with_context(|| format!("no VmRSS in kB in {path}"))
}

/// VmRSS of a `/proc/<pid>/status` text, kB.
fn vm_rss_kb(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let mut fields = line.split_whitespace();
    let kb = fields.next()?.parse().ok()?;
    (fields.next()? == "kB").then_some(kb)
}

// ---------------------------------------------------------------------------------------------
// Timings and rows

/// The timed requests of one measurement, sorted.
#[derive(Debug)]
struct Timing {
    sorted_us: Vec<u64>,
}

impl Timing {
    /// The samples, sorted once so percentiles read them directly.
    fn new(samples: Vec<Duration>) -> Timing {
        let mut sorted_us: Vec<u64> = samples.iter().map(|d| d.as_micros() as u64).collect();
        sorted_us.sort_unstable();
        Timing { sorted_us }
    }

    /// The median, ms.
    fn p50_ms(&self) -> f64 {
        percentile_ms(&self.sorted_us, 0.50)
    }

    /// The 99th percentile, ms.
    fn p99_ms(&self) -> f64 {
        percentile_ms(&self.sorted_us, 0.99)
    }

    /// The slowest, ms.
    fn max_ms(&self) -> f64 {
        percentile_ms(&self.sorted_us, 1.0)
    }

    /// `p50 / p99 / max` for a table cell.
    fn cell(&self) -> String {
        format!("{:.2} / {:.2} / {:.2}", self.p50_ms(), self.p99_ms(), self.max_ms())
    }

    /// The figures as JSON.
    fn json(&self) -> Value {
        json!({
            "requests": self.sorted_us.len(),
            "p50_ms": round(self.p50_ms(), 3),
            "p99_ms": round(self.p99_ms(), 3),
            "max_ms": round(self.max_ms(), 3),
        })
    }
}

/// The nearest-rank percentile `q` of sorted µs values, in ms.
fn percentile_ms(sorted_us: &[u64], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len());
    sorted_us[rank - 1] as f64 / 1000.0
}

/// Which resources the step before a measurement added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// None: the broker as started.
    Start,
    /// Queues only.
    Queues,
    /// Streams only (all queues made).
    Streams,
}

impl Phase {
    /// The phase's name in the report.
    fn as_str(self) -> &'static str {
        match self {
            Phase::Start => "start",
            Phase::Queues => "queues",
            Phase::Streams => "streams",
        }
    }
}

/// One measurement.
#[derive(Debug)]
struct Row {
    phase: Phase,
    queues: usize,
    streams: usize,
    /// Shards of all streams.
    shards: usize,
    /// Regions holding streams.
    regions: usize,
    rss_kb: u64,
    /// How long the step's creations took.
    setup: Duration,
    list_queues: Timing,
    list_streams: Timing,
    metrics: Timing,
    /// Size of the last scrape's body.
    metrics_bytes: usize,
}

impl Row {
    /// RSS in MB (10^6 bytes).
    fn rss_mb(&self) -> f64 {
        self.rss_kb as f64 * 1024.0 / 1e6
    }

    /// The memory this row added per added resource since `before`: per queue in the queue
    /// phase, per shard in the stream phase; with the unit.
    fn added(&self, before: &Row) -> Option<(f64, &'static str)> {
        match self.phase {
            Phase::Start => None,
            Phase::Queues => bytes_per(before, self, |r| r.queues).map(|b| (b, "queue")),
            Phase::Streams => bytes_per(before, self, |r| r.shards).map(|b| (b, "shard")),
        }
    }

    /// The row as JSON, with what it added since `before`.
    fn json(&self, before: Option<&Row>) -> Value {
        let added = before.and_then(|b| self.added(b));
        json!({
            "phase": self.phase.as_str(),
            "queues": self.queues,
            "streams": self.streams,
            "shards": self.shards,
            "regions": self.regions,
            "rss_kb": self.rss_kb,
            "added_bytes_per": added.map(|(bytes, unit)| json!({ "unit": unit, "bytes": round(bytes, 0) })),
            "setup_s": round(self.setup.as_secs_f64(), 2),
            "list_queues": self.list_queues.json(),
            "list_streams": self.list_streams.json(),
            "metrics": self.metrics.json(),
            "metrics_bytes": self.metrics_bytes,
        })
    }
}

/// ΔRSS in bytes per resource added between two rows (`count` says which resources); `None`
/// when none were added.
fn bytes_per(before: &Row, after: &Row, count: fn(&Row) -> usize) -> Option<f64> {
    let added = count(after).checked_sub(count(before)).filter(|&n| n > 0)?;
    let grown = (after.rss_kb as f64 - before.rss_kb as f64) * 1024.0;
    Some(grown / added as f64)
}

/// How one latency's p50 grew over a phase against a resource count.
#[derive(Debug)]
struct Growth {
    /// The request.
    what: &'static str,
    /// The resources counted.
    unit: &'static str,
    from_count: usize,
    to_count: usize,
    from_ms: f64,
    to_ms: f64,
}

impl Growth {
    /// From the phase's first row with a nonzero count to its last; `None` without such rows.
    fn of(
        rows: &[Row],
        phase: Phase,
        what: &'static str,
        unit: &'static str,
        count: fn(&Row) -> usize,
        p50_ms: fn(&Row) -> f64,
    ) -> Option<Growth> {
        let in_phase: Vec<&Row> = rows.iter().filter(|r| r.phase == phase).collect();
        let first = in_phase.iter().find(|r| count(r) > 0)?;
        let last = in_phase.last()?;
        Some(Growth {
            what,
            unit,
            from_count: count(first),
            to_count: count(last),
            from_ms: p50_ms(first),
            to_ms: p50_ms(last),
        })
    }

    /// p50 at the end over p50 at the start.
    fn latency_ratio(&self) -> f64 {
        ratio(self.to_ms, self.from_ms)
    }

    /// The count at the end over the count at the start.
    fn count_ratio(&self) -> f64 {
        ratio(self.to_count as f64, self.from_count as f64)
    }

    /// The latency ratio over the count ratio: 1 when the cost per resource stays flat (time
    /// proportional to the count), below 1 when it falls (fixed costs dominate), above 1 when
    /// each resource costs more the more there are.
    fn per_resource(&self) -> f64 {
        ratio(self.latency_ratio(), self.count_ratio())
    }

    /// The growth as JSON.
    fn json(&self) -> Value {
        json!({
            "request": self.what,
            "against": self.unit,
            "from_count": self.from_count,
            "to_count": self.to_count,
            "from_p50_ms": round(self.from_ms, 3),
            "to_p50_ms": round(self.to_ms, 3),
            "p50_ratio": round(self.latency_ratio(), 3),
            "count_ratio": round(self.count_ratio(), 3),
            "per_resource": round(self.per_resource(), 3),
        })
    }
}

/// `a / b`, 0 when `b` is 0.
fn ratio(a: f64, b: f64) -> f64 {
    if b <= 0.0 {
        return 0.0;
    }
    a / b
}

// ---------------------------------------------------------------------------------------------
// Report

/// What ran and what it measured.
struct Report {
    queues: usize,
    streams: usize,
    /// Shards per stream.
    shards: usize,
    steps: usize,
    rounds: usize,
    max_resources: usize,
    /// The broker's shard quota per region.
    quota: usize,
    per_region: usize,
    regions: usize,
    broker_binary: String,
    rows: Vec<Row>,
}

impl Report {
    /// The last row of `phase`.
    fn last(&self, phase: Phase) -> Option<&Row> {
        self.rows.iter().rev().find(|r| r.phase == phase)
    }

    /// ΔRSS / Δqueues over the queue phase.
    fn bytes_per_queue(&self) -> Option<f64> {
        bytes_per(self.last(Phase::Start)?, self.last(Phase::Queues)?, |r| r.queues)
    }

    /// ΔRSS / Δshards over the stream phase.
    fn bytes_per_shard(&self) -> Option<f64> {
        bytes_per(self.last(Phase::Queues)?, self.last(Phase::Streams)?, |r| r.shards)
    }

    /// ΔRSS / Δstreams over the stream phase.
    fn bytes_per_stream(&self) -> Option<f64> {
        bytes_per(self.last(Phase::Queues)?, self.last(Phase::Streams)?, |r| r.streams)
    }

    /// Each latency's growth over the phase that adds what it lists.
    fn growths(&self) -> Vec<Growth> {
        [
            Growth::of(
                &self.rows,
                Phase::Queues,
                "ListQueues, full listing",
                "queues",
                |r| r.queues,
                |r| r.list_queues.p50_ms(),
            ),
            Growth::of(
                &self.rows,
                Phase::Streams,
                "ListStreams, full listing",
                "streams",
                |r| r.streams,
                |r| r.list_streams.p50_ms(),
            ),
            Growth::of(
                &self.rows,
                Phase::Queues,
                "GET /metrics",
                "queues",
                |r| r.queues,
                |r| r.metrics.p50_ms(),
            ),
            Growth::of(
                &self.rows,
                Phase::Streams,
                "GET /metrics",
                "streams",
                |r| r.streams,
                |r| r.metrics.p50_ms(),
            ),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The report as one JSON object.
    fn json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, row)| row.json(i.checked_sub(1).and_then(|b| self.rows.get(b))))
            .collect();
        let growth: Vec<Value> = self.growths().iter().map(Growth::json).collect();
        json!({
            "queues": self.queues,
            "streams": self.streams,
            "shards_per_stream": self.shards,
            "steps": self.steps,
            "rounds": self.rounds,
            "metrics_max_resources": self.max_resources,
            "shard_quota_per_region": self.quota,
            "streams_per_region": self.per_region,
            "regions": self.regions,
            "queue_page": QUEUE_PAGE,
            "stream_page": STREAM_PAGE,
            "rows": rows,
            "bytes_per_idle_queue": self.bytes_per_queue().map(|b| round(b, 0)),
            "bytes_per_idle_shard": self.bytes_per_shard().map(|b| round(b, 0)),
            "bytes_per_idle_stream": self.bytes_per_stream().map(|b| round(b, 0)),
            "growth": growth,
            "machine": { "nproc": machine::nproc(), "kernel": machine::kernel(), "cpu": machine::cpu_model() },
            "build": machine::build(),
            "broker_binary": self.broker_binary,
        })
    }

    /// The report as markdown.
    fn table(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "scale-bench: up to {} queues, then up to {} streams of {} shards ({} shards; at most {} \
             streams in each of {} regions, the broker's quota being {} shards per region); {} steps \
             each; {} timed rounds per row; --metrics-max-resources {}\n",
            thousands(self.queues as u64),
            thousands(self.streams as u64),
            self.shards,
            thousands((self.streams * self.shards) as u64),
            self.per_region,
            self.regions,
            self.quota,
            self.steps,
            self.rounds,
            self.max_resources
        ));
        out.push_str(&format!(
            "machine: nproc {}, {}, kernel {}; build: {} (broker {})\n\n",
            machine::nproc(),
            machine::cpu_model(),
            machine::kernel(),
            machine::build(),
            self.broker_binary
        ));
        out.push_str(
            "| phase | queues | streams | shards | RSS MB | added per resource | set-up s \
             | ListQueues ms p50 / p99 / max | ListStreams ms p50 / p99 / max \
             | /metrics ms p50 / p99 / max | /metrics bytes |\n",
        );
        out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        let mut before: Option<&Row> = None;
        for row in &self.rows {
            let added = before
                .and_then(|b| row.added(b))
                .map_or_else(String::new, |(bytes, unit)| {
                    format!("{} B/{unit}", signed_thousands(bytes))
                });
            out.push_str(&format!(
                "| {} | {} | {} | {} | {:.1} | {added} | {:.1} | {} | {} | {} | {} |\n",
                row.phase.as_str(),
                thousands(row.queues as u64),
                thousands(row.streams as u64),
                thousands(row.shards as u64),
                row.rss_mb(),
                row.setup.as_secs_f64(),
                row.list_queues.cell(),
                row.list_streams.cell(),
                row.metrics.cell(),
                thousands(row.metrics_bytes as u64)
            ));
            before = Some(row);
        }
        let per = |bytes: Option<f64>| bytes.map_or_else(|| "n/a".to_string(), signed_thousands);
        out.push_str(&format!(
            "\nmemory: {} bytes per idle queue (ΔRSS / Δqueues over the queue phase); {} bytes per \
             idle shard, {} per idle stream of {} shards (ΔRSS / Δshards over the stream phase)\n\n",
            per(self.bytes_per_queue()),
            per(self.bytes_per_shard()),
            per(self.bytes_per_stream()),
            self.shards
        ));
        out.push_str("| request | against | p50 ms, first → last | p50 ratio | count ratio | per resource |\n");
        out.push_str("|---|---|---:|---:|---:|---:|\n");
        for g in self.growths() {
            out.push_str(&format!(
                "| {} | {} → {} {} | {:.2} → {:.2} | {:.2} | {:.2} | {:.2} |\n",
                g.what,
                thousands(g.from_count as u64),
                thousands(g.to_count as u64),
                g.unit,
                g.from_ms,
                g.to_ms,
                g.latency_ratio(),
                g.count_ratio(),
                g.per_resource()
            ));
        }
        out.push_str(&format!(
            "\nper resource: the p50 ratio over the count ratio, from the phase's first step to its \
             last; 1 means a flat cost per resource, below 1 a falling one. ListQueues pages by \
             {QUEUE_PAGE}, ListStreams by {STREAM_PAGE} in each region holding streams; /metrics \
             gives at most {} queues and {} streams series of their own. SDK calls are timed \
             around the SDK, the scrape on a fresh connection.\n",
            self.max_resources, self.max_resources
        ));
        out
    }
}

/// `x` rounded to a whole number, with thousands separators and its sign (RSS can shrink).
fn signed_thousands(x: f64) -> String {
    let rounded = x.round();
    let digits = thousands(rounded.abs() as u64);
    if rounded < 0.0 {
        format!("-{digits}")
    } else {
        digits
    }
}

/// The pure parts: names, parsing, the checks of a scrape, figures.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(queue_name(42), "sb-q-00042");
        assert_eq!(queue_index(&queue_name(9_999)), Some(9_999));
        assert_eq!(stream_name(7), "sb-s-0007");
        assert_eq!(stream_index(&stream_name(1_999)), Some(1_999));
        assert_eq!(queue_index("other-00001"), None);
        assert_eq!(region_name(0), REGION);
        assert_eq!(region_name(12), "sb-region-012");
    }

    #[test]
    fn vm_rss_is_read() {
        let status = "Name:\tsluice\nVmPeak:\t  200000 kB\nVmRSS:\t   12345 kB\nThreads:\t9\n";
        assert_eq!(vm_rss_kb(status), Some(12_345));
        assert_eq!(vm_rss_kb("Name:\tsluice\n"), None);
        assert_eq!(vm_rss_kb("VmRSS:\t12 MB\n"), None);
    }

    #[test]
    fn labels_are_read() {
        let labels = r#"account="000000000000",queue="sb-q-00001",region="us-east-1",state="visible"} 0"#;
        assert_eq!(label_value(labels, "queue"), Some("sb-q-00001"));
        assert_eq!(label_value(labels, "state"), Some("visible"));
        assert_eq!(label_value(labels, "stream"), None);
    }

    #[test]
    fn metrics_are_checked() {
        let text = "\
# HELP sluice_queue_messages Messages in a queue by state (visible, in_flight, delayed)
# TYPE sluice_queue_messages gauge
sluice_queue_messages{account=\"000000000000\",queue=\"sb-q-00000\",region=\"us-east-1\",state=\"visible\"} 0
sluice_queue_messages{account=\"000000000000\",queue=\"sb-q-00000\",region=\"us-east-1\",state=\"in_flight\"} 0
sluice_queue_messages{account=\"000000000000\",queue=\"sb-q-00001\",region=\"us-east-1\",state=\"visible\"} 0
sluice_metrics_resources_omitted{kind=\"queue\"} 3
sluice_metrics_resources_omitted{kind=\"stream\"} 0
sluice_metrics_resources_omitted{kind=\"topic\"} 0
sluice_stream_iterator_age_milliseconds{account=\"000000000000\",region=\"sb-region-001\",stream=\"sb-s-0000\"} 0
";
        assert_eq!(named_in(text, QUEUE_SERIES, "queue", QUEUE_PREFIX), 2);
        assert_eq!(omitted(text, "queue"), Some(3));
        assert_eq!(omitted(text, "stream"), Some(0));
        assert!(check_metrics(text, 5, 1, 2).is_ok());
        assert!(check_metrics(text, 4, 1, 2).is_err());
        assert!(check_metrics(text, 5, 2, 2).is_err());
        assert!(check_metrics(text, 5, 1, 3).is_err());
    }

    #[test]
    fn percentiles_and_growth() {
        let t = Timing::new((1..=100).map(Duration::from_millis).rev().collect());
        assert_eq!(t.p50_ms(), 50.0);
        assert_eq!(t.p99_ms(), 99.0);
        assert_eq!(t.max_ms(), 100.0);
        let row = |phase, queues, rss_kb, ms: u64| Row {
            phase,
            queues,
            streams: 0,
            shards: 0,
            regions: 0,
            rss_kb,
            setup: Duration::ZERO,
            list_queues: Timing::new(vec![Duration::from_millis(ms)]),
            list_streams: Timing::new(Vec::new()),
            metrics: Timing::new(Vec::new()),
            metrics_bytes: 0,
        };
        let rows = vec![
            row(Phase::Start, 0, 1000, 1),
            row(Phase::Queues, 100, 1100, 2),
            row(Phase::Queues, 400, 1400, 8),
        ];
        assert_eq!(bytes_per(&rows[0], &rows[2], |r| r.queues), Some(1024.0));
        let g = Growth::of(
            &rows,
            Phase::Queues,
            "ListQueues",
            "queues",
            |r| r.queues,
            |r| r.list_queues.p50_ms(),
        );
        let g = g.expect("a growth over the queue rows");
        assert_eq!(g.latency_ratio(), 4.0);
        assert_eq!(g.count_ratio(), 4.0);
        assert_eq!(g.per_resource(), 1.0);
    }

    #[test]
    fn signed_figures() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(signed_thousands(-1234.4), "-1,234");
        assert_eq!(signed_thousands(999.6), "1,000");
    }
}
