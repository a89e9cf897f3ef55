//! `kinesis-put` (PutRecord per call), `kinesis-put-batch` (PutRecords of 500 per call) and
//! `kinesis-read` (preload, then read every shard from TRIM_HORIZON, verifying the count and
//! per-partition-key order).
//!
//! Each run creates its own stream (`--shards`, default 4; or uses `--queue-name`), waits for
//! ACTIVE and deletes it afterwards unless `--keep-queue`. Records are `{run}:{key}:{seq}:`
//! padded to `--message-size`; 64 partition keys spread them over the shards.
//!
//! # Bounds
//! Workers stop at the deadline or budget; kinesis-read preloads at most `--max-ops` batches
//! (default 20, i.e. 10,000 records) within the run's duration, and its readers stop after
//! 10,000 GetRecords calls per shard or the worker bound.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Result};
use aws_sdk_kinesis::error::DisplayErrorContext;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType, StreamStatus};
use aws_sdk_kinesis::Client;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::super::cli::Workload;
use super::super::client::classify;
use super::super::cpu::CpuSample;
use super::super::report::{Report, Verification};
use super::super::stats::TaskStats;
use super::{join_all, Budget, Plan};

/// Records per PutRecords: Kinesis's maximum.
pub const BATCH_SIZE: usize = 500;
/// Distinct partition keys.
const KEYS: u64 = 64;
/// Batches kinesis-read preloads without `--max-ops`.
const DEFAULT_PRELOAD_BATCHES: u64 = 20;

/// Builds a Kinesis client like the SQS one: no retries, an operation timeout.
pub fn client(endpoint: &str, op_timeout: Duration) -> Client {
    Client::new(&super::super::client::sdk_config(endpoint, op_timeout))
}

struct Shared {
    client: Client,
    stream: String,
    run_id: String,
    message_size: usize,
    deadline: Instant,
    budget: Budget,
    next_seq: std::sync::atomic::AtomicU64,
}

impl Shared {
    fn next_record(&self) -> (String, Vec<u8>) {
        let seq = self.next_seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        record(&self.run_id, seq, self.message_size)
    }
}

/// A record: partition key and `{run}:{key}:{seq}:` padded with `x`.
fn record(run_id: &str, seq: u64, size: usize) -> (String, Vec<u8>) {
    let key = format!("k{}", seq % KEYS);
    let mut data = format!("{run_id}:{key}:{seq:016x}:").into_bytes();
    if data.len() < size {
        data.resize(size, b'x');
    }
    (key, data)
}

/// The run, key and sequence of a record made by [`record`].
fn parse_record(data: &[u8]) -> Option<(&str, &str, u64)> {
    let text = std::str::from_utf8(data.get(..data.len().min(64))?).ok()?;
    let mut parts = text.splitn(4, ':');
    let run = parts.next()?;
    let key = parts.next()?;
    let seq = u64::from_str_radix(parts.next()?, 16).ok()?;
    parts.next()?;
    Some((run, key, seq))
}

/// Polls DescribeStreamSummary until the stream is ACTIVE, for at most `bound`; returns its ARN.
pub(super) async fn wait_active(client: &Client, stream: &str, bound: Duration) -> Result<String> {
    let deadline = Instant::now() + bound;
    loop {
        let out = client
            .describe_stream_summary()
            .stream_name(stream)
            .send()
            .await
            .map_err(|e| anyhow!("describing stream {stream}: {}", DisplayErrorContext(&e)))?;
        if let Some(summary) = out.stream_description_summary() {
            if summary.stream_status() == &StreamStatus::Active {
                return Ok(summary.stream_arn().to_string());
            }
        }
        if Instant::now() > deadline {
            return Err(anyhow!("stream {stream} not ACTIVE after {bound:?}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Creates the run's stream with `--shards` shards.
pub(super) async fn create_stream(client: &Client, plan: &Plan, stream: &str) -> Result<()> {
    client
        .create_stream()
        .stream_name(stream)
        .shard_count(plan.shards)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "creating stream {stream} at {} failed (is the broker running?): {}",
                plan.endpoint,
                DisplayErrorContext(&e)
            )
        })?;
    Ok(())
}

/// Runs one Kinesis workload as planned.
pub async fn run(plan: &Plan) -> Result<Report> {
    let client = client(&plan.endpoint, plan.op_timeout);
    let (stream, fresh) = match &plan.queue_name {
        Some(name) => (name.clone(), false),
        None => {
            let id = uuid::Uuid::new_v4().simple().to_string();
            (format!("sluice-load-{}", &id[..12]), true)
        }
    };
    if fresh {
        create_stream(&client, plan, &stream).await?;
    }
    wait_active(&client, &stream, plan.op_timeout).await?;
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let shared = Arc::new(Shared {
        client: client.clone(),
        stream: stream.clone(),
        run_id,
        message_size: plan.message_size,
        deadline: Instant::now() + plan.duration,
        budget: Budget::new(plan.max_ops),
        next_seq: std::sync::atomic::AtomicU64::new(0),
    });

    // kinesis-read writes its data set first, unmeasured.
    let mut preloaded = 0u64;
    if plan.workload == Workload::KinesisRead {
        let batches = plan.max_ops.unwrap_or(DEFAULT_PRELOAD_BATCHES);
        let mut scratch = TaskStats::new();
        for _ in 0..batches {
            if Instant::now() >= shared.deadline {
                break;
            }
            preloaded += put_batch(&shared, &mut scratch).await;
        }
        if preloaded == 0 {
            let sample = scratch.errors.samples().first().cloned().unwrap_or_default();
            return Err(anyhow!("kinesis-read could not preload any record: {sample}"));
        }
    }

    let cpu_before = CpuSample::take(plan.broker_pid)?;
    let started = Instant::now();
    let bound = started + plan.duration + plan.op_timeout + Duration::from_secs(5);
    let (stats, lost_workers, verification) = match plan.workload {
        Workload::KinesisRead => {
            let (stats, lost, verification) = read_all(&shared, plan, preloaded, bound).await?;
            (stats, lost, verification)
        }
        _ => {
            let batch = plan.workload == Workload::KinesisPutBatch;
            let mut tasks = JoinSet::new();
            for _ in 0..plan.concurrency {
                let shared = Arc::clone(&shared);
                tasks.spawn(async move {
                    let mut stats = TaskStats::new();
                    while Instant::now() < shared.deadline && shared.budget.take() {
                        if batch {
                            put_batch(&shared, &mut stats).await;
                        } else {
                            put_one(&shared, &mut stats).await;
                        }
                    }
                    stats
                });
            }
            let (results, lost) = join_all(tasks, bound).await;
            let mut stats = TaskStats::new();
            for r in &results {
                stats.merge(r);
            }
            (stats, lost, None)
        }
    };
    let elapsed = started.elapsed();
    let ops = stats.ops;
    let (broker_cpu, client_cpu) = cpu_before.usage(ops)?;
    if fresh && !plan.keep_queue {
        if let Err(e) = client.delete_stream().stream_name(&stream).send().await {
            eprintln!(
                "sluice-load: deleting stream {stream} failed: {}",
                DisplayErrorContext(&e)
            );
        }
    }
    Ok(Report {
        workload: plan.workload,
        target: plan.target,
        endpoint: plan.endpoint.clone(),
        concurrency: plan.concurrency,
        roundtrip_split: None,
        message_size: plan.message_size,
        attributes: 0,
        elapsed,
        delivery_window: None,
        stats,
        verification,
        lost_workers,
        broker_cpu,
        client_cpu,
    })
}

async fn put_one(shared: &Shared, stats: &mut TaskStats) {
    let (key, data) = shared.next_record();
    let started = Instant::now();
    let result = shared
        .client
        .put_record()
        .stream_name(&shared.stream)
        .partition_key(key)
        .data(Blob::new(data))
        .send()
        .await;
    stats.ops += 1;
    match result {
        Ok(_) => {
            stats.send.record(started.elapsed());
            stats.messages_sent += 1;
        }
        Err(error) => {
            let (kind, message) = classify(&error);
            stats.errors.add(&kind, || message);
        }
    }
}

/// One PutRecords of [`BATCH_SIZE`]; returns how many records were acknowledged.
async fn put_batch(shared: &Shared, stats: &mut TaskStats) -> u64 {
    let mut entries = Vec::with_capacity(BATCH_SIZE);
    for _ in 0..BATCH_SIZE {
        let (key, data) = shared.next_record();
        match PutRecordsRequestEntry::builder()
            .partition_key(key)
            .data(Blob::new(data))
            .build()
        {
            Ok(e) => entries.push(e),
            Err(error) => {
                stats.errors.add("ConstructionFailure", || error.to_string());
                return 0;
            }
        }
    }
    let started = Instant::now();
    let result = shared
        .client
        .put_records()
        .stream_name(&shared.stream)
        .set_records(Some(entries))
        .send()
        .await;
    stats.ops += 1;
    match result {
        Ok(out) => {
            stats.send.record(started.elapsed());
            let failed = out.failed_record_count().unwrap_or(0).max(0) as u64;
            let ok = out.records().len() as u64 - failed.min(out.records().len() as u64);
            stats.messages_sent += ok;
            for r in out.records() {
                if let Some(code) = r.error_code() {
                    stats
                        .errors
                        .add(code, || r.error_message().unwrap_or("(no message)").to_string());
                }
            }
            ok
        }
        Err(error) => {
            let (kind, message) = classify(&error);
            stats.errors.add(&kind, || message);
            0
        }
    }
}

/// Reads every shard from TRIM_HORIZON to its end with one reader per shard.
async fn read_all(
    shared: &Arc<Shared>,
    plan: &Plan,
    preloaded: u64,
    bound: Instant,
) -> Result<(TaskStats, usize, Option<Verification>)> {
    let shards = shared
        .client
        .list_shards()
        .stream_name(&shared.stream)
        .send()
        .await
        .map_err(|e| anyhow!("ListShards: {}", DisplayErrorContext(&e)))?;
    let mut tasks = JoinSet::new();
    for shard in shards.shards() {
        let shared = Arc::clone(shared);
        let shard_id = shard.shard_id().to_string();
        let verify = plan.verify;
        tasks.spawn(async move { read_shard(&shared, &shard_id, verify).await });
    }
    let (results, lost) = join_all(tasks, bound).await;
    let mut stats = TaskStats::new();
    let mut out_of_order = 0u64;
    let mut foreign = 0u64;
    for (s, bad, other) in &results {
        stats.merge(s);
        out_of_order += bad;
        foreign += other;
    }
    let ours = stats.messages_received - foreign.min(stats.messages_received);
    // Against the null server records are synthetic: count only.
    let verification = plan.verify.then_some(Verification {
        sent: preloaded,
        received_unique: ours.min(preloaded),
        missing: preloaded.saturating_sub(ours),
        duplicates: ours.saturating_sub(preloaded),
        unexpected: 0,
        foreign,
        out_of_order,
        dedupe_misses: 0,
    });
    if out_of_order > 0 {
        // Counted as digest mismatches so the report marks the run failed.
        eprintln!("sluice-load: {out_of_order} records read out of per-key order");
        stats.checksum_mismatches += out_of_order;
    }
    Ok((stats, lost, verification))
}

/// Reads one shard to its current end; returns stats, the out-of-order count and the number
/// of records another run wrote.
async fn read_shard(shared: &Shared, shard_id: &str, verify: bool) -> (TaskStats, u64, u64) {
    let mut stats = TaskStats::new();
    let mut bad = 0u64;
    let mut foreign = 0u64;
    let mut last: HashMap<String, u64> = HashMap::new();
    let it = shared
        .client
        .get_shard_iterator()
        .stream_name(&shared.stream)
        .shard_id(shard_id)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await;
    stats.ops += 1;
    let mut it = match it {
        Ok(out) => match out.shard_iterator() {
            Some(i) => i.to_string(),
            None => return (stats, bad, foreign),
        },
        Err(error) => {
            let (kind, message) = classify(&error);
            stats.errors.add(&kind, || message);
            return (stats, bad, foreign);
        }
    };
    for _ in 0..10_000 {
        let started = Instant::now();
        let result = shared
            .client
            .get_records()
            .shard_iterator(&it)
            .limit(10_000)
            .send()
            .await;
        stats.ops += 1;
        let out = match result {
            Ok(out) => out,
            Err(error) => {
                let (kind, message) = classify(&error);
                stats.errors.add(&kind, || message);
                return (stats, bad, foreign);
            }
        };
        stats.receive.record(started.elapsed());
        let n = out.records().len() as u64;
        if n == 0 {
            stats.empty_receives += 1;
        }
        stats.messages_received += n;
        if verify {
            for r in out.records() {
                match parse_record(r.data().as_ref()) {
                    Some((run, key, seq)) if run == shared.run_id => {
                        if let Some(prev) = last.insert(key.to_string(), seq) {
                            if prev >= seq {
                                bad += 1;
                            }
                        }
                    }
                    Some(_) => foreign += 1,
                    None => stats.checksum_mismatches += 1,
                }
            }
        }
        match out.next_shard_iterator() {
            Some(next) if !(n == 0 && out.millis_behind_latest() == Some(0)) => it = next.to_string(),
            _ => return (stats, bad, foreign),
        }
    }
    (stats, bad, foreign)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_have_the_requested_size() {
        let (key, data) = record("abcd1234", 70, 1024);
        assert_eq!(data.len(), 1024);
        assert_eq!(key, "k6");
        assert_eq!(parse_record(&data), Some(("abcd1234", "k6", 70)));
        assert_eq!(parse_record(b"null"), None);
    }
}
