//! `kinesis-efo`: enhanced fan-out under load. Registered consumers are pushed every record of
//! every shard through SubscribeToShard while producers put records at a fixed rate; the run
//! reports put throughput, deliveries per second and put-to-delivery latency, and checks that
//! every consumer got every acknowledged record exactly once, in shard and key order.
//!
//! # Layout
//! - `mod.rs`: set-up, the measured part, clean-up and the report.
//! - `producer.rs`: paced PutRecords producers and the record format (put time embedded).
//! - `subscriber.rs`: one SubscribeToShard reader per consumer and shard, resubscribing from
//!   the last ContinuationSequenceNumber.
//! - `ledger.rs`: per-consumer delivery ledger and the verification.
//!
//! # A run
//! 1. Create a stream of `--shards` shards (or use `--queue-name`), wait until ACTIVE.
//! 2. Register `--consumers` consumers (default 4), wait until each is ACTIVE.
//! 3. Start the subscribers and wait until each has subscribed, so the first puts are not
//!    measured against subscription set-up.
//! 4. Put `--rate` records/s over `--concurrency` producers until `--duration` (or
//!    `--max-ops` PutRecords calls).
//! 5. Wait, at most `--drain-timeout`, until every consumer has every acknowledged record;
//!    abort the subscribers; verify.
//! 6. Unless `--keep-queue`: deregister the consumers and delete a stream the run created.
//!
//! `--no-verify` drops the delivery check from the report (the counts are kept anyway).
//! The report's `receive` latency is put to delivery (as sns-http's is publish to delivery);
//! `send` is the PutRecords call.
//!
//! # Bounds
//! Set-up gets [`SETUP_CALLS`] operation timeouts, the subscription wait one more, producers
//! the duration plus one and a grace, the drain `--drain-timeout`, clean-up
//! [`CLEANUP_CALLS`]; [`time_bound`] is their sum, and every step is cut off at its share.

mod bits;
mod ledger;
mod producer;
mod subscriber;

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, Context, Result};
use aws_sdk_kinesis::error::DisplayErrorContext;
use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::types::ConsumerStatus;
use aws_sdk_kinesis::Client;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::super::cpu::CpuSample;
use super::super::report::{Report, Target, Verification};
use super::super::stats::TaskStats;
use super::kinesis::{client, create_stream, wait_active};
use super::{join_all, Budget, Efo, Plan};
use bits::Bits;
use ledger::{add_verification, ConsumerLedger};
use producer::{produce, split_rate, Producers};
use subscriber::{lock, subscribe, Start, Subscribers};

/// Registered consumers without `--consumers`.
pub const DEFAULT_CONSUMERS: u32 = 4;
/// Kinesis's limit of registered consumers per stream (Kinesis quotas and limits).
const MAX_CONSUMERS: u32 = 20;
/// Partition keys, shared out between the producers.
const KEYS: u32 = 256;
/// Operation timeouts set-up may take: create, wait ACTIVE, register, wait for the consumers,
/// list shards.
const SETUP_CALLS: u32 = 5;
/// Operation timeouts clean-up may take: deregister the consumers, delete the stream.
const CLEANUP_CALLS: u32 = 2;
/// Slack for the producers' last call before they are aborted.
const JOIN_GRACE: Duration = Duration::from_secs(5);
/// How often the drain looks at the ledgers.
const DRAIN_POLL: Duration = Duration::from_millis(20);
/// How often set-up polls a consumer's or the subscribers' state.
const SETUP_POLL: Duration = Duration::from_millis(20);

/// An upper bound on how long [`run`] takes.
pub fn time_bound(plan: &Plan) -> Duration {
    let calls = SETUP_CALLS + 2 + CLEANUP_CALLS;
    plan.op_timeout * calls + plan.duration + JOIN_GRACE + plan.drain_timeout
}

/// What the run created and must clean up.
struct Resources {
    stream: String,
    /// A new stream this run is to create (not `--queue-name`).
    fresh: bool,
    /// CreateStream succeeded: the stream is deleted after the run unless `--keep-queue`.
    created: bool,
    consumer_arns: Vec<String>,
}

/// Runs kinesis-efo as planned.
pub async fn run(plan: &Plan) -> Result<Report> {
    let Some(efo) = plan.efo else {
        return Err(anyhow!("kinesis-efo needs its settings in the plan"));
    };
    if plan.target == Target::Null {
        return Err(anyhow!(
            "kinesis-efo has no null-server counterpart (SubscribeToShard pushes an event stream); \
             run it against --endpoint"
        ));
    }
    if efo.consumers > MAX_CONSUMERS {
        return Err(anyhow!(
            "kinesis-efo: --consumers is at most {MAX_CONSUMERS}, Kinesis's limit per stream"
        ));
    }
    let client = client(&plan.endpoint, plan.op_timeout);
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let mut resources = match &plan.queue_name {
        Some(name) => Resources {
            stream: name.clone(),
            fresh: false,
            created: false,
            consumer_arns: Vec::new(),
        },
        None => Resources {
            stream: format!("sluice-load-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            fresh: true,
            created: false,
            consumer_arns: Vec::new(),
        },
    };
    let setup_bound = plan.op_timeout * SETUP_CALLS;
    let outcome = match tokio::time::timeout(setup_bound, set_up(&client, plan, efo, &run_id, &mut resources)).await {
        Ok(Ok(shards)) => measure(&client, plan, efo, &run_id, &resources, shards).await,
        Ok(Err(error)) => Err(error),
        Err(_) => Err(anyhow!("kinesis-efo set-up took longer than {setup_bound:?}")),
    };
    tear_down(&client, plan, &resources).await;
    outcome
}

/// Creates the stream and registers the consumers; returns the open shards' ids.
async fn set_up(
    client: &Client,
    plan: &Plan,
    efo: Efo,
    run_id: &str,
    resources: &mut Resources,
) -> Result<Vec<String>> {
    let stream = resources.stream.clone();
    if resources.fresh {
        create_stream(client, plan, &stream).await?;
        resources.created = true;
    }
    let stream_arn = wait_active(client, &stream, plan.op_timeout).await?;
    for i in 0..efo.consumers {
        let name = format!("sluice-load-{run_id}-{i}");
        let out = client
            .register_stream_consumer()
            .stream_arn(&stream_arn)
            .consumer_name(&name)
            .send()
            .await
            .map_err(|e| anyhow!("registering consumer {name}: {}", DisplayErrorContext(&e)))?;
        let arn = out
            .consumer()
            .map(|c| c.consumer_arn().to_string())
            .context("RegisterStreamConsumer answered without a Consumer")?;
        resources.consumer_arns.push(arn);
    }
    for arn in &resources.consumer_arns {
        wait_consumer_active(client, arn, plan.op_timeout).await?;
    }
    let listed = client
        .list_shards()
        .stream_name(&stream)
        .send()
        .await
        .map_err(|e| anyhow!("ListShards: {}", DisplayErrorContext(&e)))?;
    // Closed shards (a reused, resharded stream) take no new records.
    let shards: Vec<String> = listed
        .shards()
        .iter()
        .filter(|s| {
            s.sequence_number_range()
                .and_then(|r| r.ending_sequence_number())
                .is_none()
        })
        .map(|s| s.shard_id().to_string())
        .collect();
    if shards.is_empty() {
        return Err(anyhow!("stream {stream} has no open shard"));
    }
    Ok(shards)
}

/// Polls DescribeStreamConsumer until the consumer is ACTIVE, for at most `bound`.
async fn wait_consumer_active(client: &Client, consumer_arn: &str, bound: Duration) -> Result<()> {
    let deadline = Instant::now() + bound;
    loop {
        let out = client
            .describe_stream_consumer()
            .consumer_arn(consumer_arn)
            .send()
            .await
            .map_err(|e| anyhow!("describing consumer {consumer_arn}: {}", DisplayErrorContext(&e)))?;
        let status = out.consumer_description().map(|d| d.consumer_status());
        if status == Some(&ConsumerStatus::Active) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(anyhow!(
                "consumer {consumer_arn} not ACTIVE after {bound:?} ({status:?})"
            ));
        }
        tokio::time::sleep(SETUP_POLL).await;
    }
}

/// Deregisters the consumers and deletes a fresh stream, unless `--keep-queue`; logs failures.
async fn tear_down(client: &Client, plan: &Plan, resources: &Resources) {
    if plan.keep_queue {
        return;
    }
    let work = async {
        for arn in &resources.consumer_arns {
            if let Err(e) = client.deregister_stream_consumer().consumer_arn(arn).send().await {
                eprintln!(
                    "sluice-load: deregistering consumer {arn} failed: {}",
                    DisplayErrorContext(&e)
                );
            }
        }
        if resources.created {
            // Deregistration may still be in progress (DELETING): delete its consumers too.
            let result = client
                .delete_stream()
                .stream_name(&resources.stream)
                .enforce_consumer_deletion(true)
                .send()
                .await;
            if let Err(e) = result {
                eprintln!(
                    "sluice-load: deleting stream {} failed: {}",
                    resources.stream,
                    DisplayErrorContext(&e)
                );
            }
        }
    };
    let bound = plan.op_timeout * CLEANUP_CALLS;
    if tokio::time::timeout(bound, work).await.is_err() {
        eprintln!(
            "sluice-load: clean-up of stream {} took longer than {bound:?}",
            resources.stream
        );
    }
}

/// Subscribes, produces, drains and verifies.
async fn measure(
    client: &Client,
    plan: &Plan,
    efo: Efo,
    run_id: &str,
    resources: &Resources,
    shards: Vec<String>,
) -> Result<Report> {
    let rates = split_rate(u64::from(efo.rate), plan.concurrency);
    let producers = rates.len();
    // At most KEYS / 1 per producer; producers are at most 4096 (the --concurrency cap).
    let keys_per_producer = (KEYS / producers as u32).max(1);
    let total_keys = keys_per_producer as usize * producers;
    let ledgers: Vec<Arc<Mutex<ConsumerLedger>>> = resources
        .consumer_arns
        .iter()
        .map(|_| Arc::new(Mutex::new(ConsumerLedger::new(run_id, total_keys))))
        .collect();

    let cpu_before = CpuSample::take(plan.broker_pid)?;
    let start = if resources.fresh {
        Start::TrimHorizon
    } else {
        Start::AtTimestamp(DateTime::from(SystemTime::now()))
    };
    let subscribed_by = Instant::now() + plan.op_timeout;
    let subscribers = Arc::new(Subscribers {
        client: client.clone(),
        start,
        subscribed: AtomicUsize::new(0),
        stop_at: subscribed_by + plan.duration + plan.op_timeout + JOIN_GRACE + plan.drain_timeout,
    });
    let mut readers = JoinSet::new();
    for (arn, ledger) in resources.consumer_arns.iter().zip(&ledgers) {
        for shard in &shards {
            let task = subscribe(Arc::clone(&subscribers), arn.clone(), shard.clone(), Arc::clone(ledger));
            readers.spawn(task);
        }
    }
    let want = readers.len();
    while subscribers.subscribed.load(std::sync::atomic::Ordering::Relaxed) < want {
        if Instant::now() >= subscribed_by {
            eprintln!(
                "sluice-load: only {} of {want} subscriptions started within {:?}; producing anyway",
                subscribers.subscribed.load(std::sync::atomic::Ordering::Relaxed),
                plan.op_timeout
            );
            break;
        }
        tokio::time::sleep(SETUP_POLL).await;
    }

    let started = Instant::now();
    let shared = Arc::new(Producers {
        client: client.clone(),
        stream: resources.stream.clone(),
        run_id: run_id.to_string(),
        message_size: plan.message_size,
        started,
        deadline: started + plan.duration,
        budget: Budget::new(plan.max_ops),
    });
    let mut tasks = JoinSet::new();
    for (p, rate) in rates.iter().enumerate() {
        let first = p as u32 * keys_per_producer;
        tasks.spawn(produce(Arc::clone(&shared), first..first + keys_per_producer, *rate));
    }
    let (results, lost_producers) = join_all(tasks, started + plan.duration + plan.op_timeout + JOIN_GRACE).await;
    let put_elapsed = started.elapsed();
    let mut stats = TaskStats::new();
    let mut acked = vec![Bits::default(); total_keys];
    for puts in results {
        stats.merge(&puts.stats);
        for (key, bits) in puts.keys.zip(puts.acked) {
            if let Some(slot) = acked.get_mut(key as usize) {
                *slot = bits;
            }
        }
    }
    let acked_total: u64 = acked.iter().map(Bits::len).sum();

    let drain_bound = Instant::now() + plan.drain_timeout;
    while Instant::now() < drain_bound && !ledgers.iter().all(|l| lock(l).unique >= acked_total) {
        tokio::time::sleep(DRAIN_POLL).await;
    }
    readers.abort_all();
    let mut lost_readers = 0;
    while let Some(joined) = readers.join_next().await {
        if let Err(error) = joined {
            if error.is_panic() {
                eprintln!("sluice-load: subscriber failed: {error}");
                lost_readers += 1;
            }
        }
    }

    let mut verification = Verification::default();
    let mut last_delivery: Option<Instant> = None;
    for ledger in &ledgers {
        let ledger = lock(ledger);
        add_verification(&mut verification, &ledger.verify(&acked));
        stats.merge(&ledger.stats);
        stats.messages_received += ledger.deliveries;
        last_delivery = last_delivery.max(ledger.last_delivery);
    }
    let (broker_cpu, client_cpu) = cpu_before.usage(stats.ops)?;
    Ok(Report {
        workload: plan.workload,
        target: plan.target,
        endpoint: plan.endpoint.clone(),
        concurrency: producers,
        roundtrip_split: Some((producers, ledgers.len())),
        message_size: plan.message_size,
        attributes: 0,
        elapsed: put_elapsed,
        delivery_window: last_delivery.map(|at| at.saturating_duration_since(started)),
        stats,
        verification: plan.verify.then_some(verification),
        lost_workers: lost_producers + lost_readers,
        broker_cpu,
        client_cpu,
    })
}
