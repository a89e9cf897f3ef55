//! The workloads and what they share.
//!
//! # Layout
//! - `mod.rs`: [`Plan`] (one run's settings), [`run`] (create the queue, sample CPU, run the
//!   workers, clean up, build the [`Report`]), and the pieces every worker uses: [`Shared`],
//!   the op [`Budget`], message bodies and attributes, [`join_all`].
//! - `send.rs`: `sqs-send` and `sqs-send-batch` workers, and the one-message send used by the
//!   roundtrip producers.
//! - `roundtrip.rs`: `sqs-roundtrip` and `fifo-roundtrip` producers and consumers and the
//!   delivery ledger (with the FIFO order and deduplication checks).
//! - `kinesis.rs`: `kinesis-put`, `kinesis-put-batch` and `kinesis-read`, with their own stream
//!   set-up.
//! - `efo/`: `kinesis-efo` (enhanced fan-out: registered consumers, SubscribeToShard, paced
//!   producers, the per-consumer delivery ledger).
//! - `sns.rs`: `sns-fanout`, `sns-fanout-batch` (a topic with `--subscriptions` queues, every
//!   queue checked for every publish) and `sns-http` (a local HTTP subscriber).
//!
//! # Bounds
//! A worker starts no call after the run's deadline or once the op budget is spent; every call
//! has the SDK's operation timeout; [`join_all`] aborts any worker still running at the
//! plan's time bound. So [`Plan::time_bound`] is a true upper bound on [`run`].

mod efo;
pub mod kinesis;
mod roundtrip;
mod send;
mod sns;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context, Result};
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use aws_sdk_sqs::Client;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::checksum::{md5_of_attributes, AttributeRef};
use super::cli::{RunArgs, Workload};
use super::client;
use super::cpu::CpuSample;
use super::report::{Report, Target};
use super::stats::TaskStats;

/// Time allowed for queue creation and deletion around the measured part of a run.
const SETUP_CALLS: u32 = 2;
/// Slack on top of all the per-call timeouts before workers are aborted.
const JOIN_GRACE: Duration = Duration::from_secs(5);

/// One run's settings.
#[derive(Debug, Clone)]
pub struct Plan {
    pub workload: Workload,
    pub target: Target,
    pub endpoint: String,
    pub concurrency: usize,
    pub duration: Duration,
    pub max_ops: Option<u64>,
    pub message_size: usize,
    pub attributes: u8,
    pub queue_name: Option<String>,
    pub keep_queue: bool,
    /// Check roundtrip delivery (off against the null server, whose messages are synthetic).
    pub verify: bool,
    pub drain_timeout: Duration,
    pub op_timeout: Duration,
    pub wait_time_seconds: i32,
    /// sqs-roundtrip: `(producers, consumers)`.
    pub roundtrip_split: (usize, usize),
    pub broker_pid: Option<u32>,
    /// FIFO queue sends, fifo-roundtrip, and sns-fanout to a FIFO topic: the FIFO settings.
    pub fifo: Option<Fifo>,
    /// sns-fanout: queue subscriptions of the topic.
    pub subscriptions: u32,
    /// sns-fanout: raw message delivery instead of the signed envelope.
    pub raw: bool,
    /// sns workloads: the topic's SignatureVersion.
    pub signature_version: String,
    /// Kinesis workloads: shards of the stream a run creates.
    pub shards: i32,
    /// kinesis-efo: the fan-out settings.
    pub efo: Option<Efo>,
}

/// kinesis-efo settings.
#[derive(Debug, Clone, Copy)]
pub struct Efo {
    /// Registered stream consumers, each subscribed to every shard.
    pub consumers: u32,
    /// Records per second put in total.
    pub rate: u32,
}

/// fifo-roundtrip settings.
#[derive(Debug, Clone, Copy)]
pub struct Fifo {
    /// Message groups, assigned round-robin by message sequence.
    pub groups: u32,
    /// Re-send every Nth message with its deduplication id (0: never).
    pub resend_every: u64,
}

impl Plan {
    pub fn new(args: &RunArgs, target: Target, endpoint: String) -> Self {
        let against_null = target == Target::Null;
        Self {
            workload: args.workload,
            target,
            endpoint,
            // Bounded to 1..=4096 by the command line.
            concurrency: args.concurrency as usize,
            duration: args.duration,
            max_ops: args.max_ops,
            message_size: args.message_size,
            attributes: args.attributes,
            queue_name: args.queue_name.clone(),
            keep_queue: args.keep_queue,
            verify: !args.no_verify && !against_null,
            drain_timeout: args.drain_timeout,
            op_timeout: args.op_timeout,
            wait_time_seconds: args.wait_time_seconds,
            roundtrip_split: roundtrip_split(args.concurrency as usize, args.consumers.map(|c| c as usize)),
            // The null server runs inside this process: there is no separate broker to sample.
            broker_pid: if against_null { None } else { args.broker_pid },
            // Sends go to a FIFO queue when the workload says so or the queue's name does;
            // publishes to a FIFO topic when asked.
            fifo: (args.workload == Workload::FifoRoundtrip
                || (matches!(args.workload, Workload::SqsSend | Workload::SqsSendBatch)
                    && args.queue_name.as_deref().is_some_and(|n| n.ends_with(".fifo")))
                || (matches!(args.workload, Workload::SnsFanout | Workload::SnsFanoutBatch) && args.fifo_topic))
                .then_some(Fifo {
                    groups: args.groups,
                    resend_every: args.resend_every,
                }),
            subscriptions: args.subscriptions,
            raw: args.raw,
            signature_version: args.signature_version.clone(),
            shards: args.shards,
            efo: (args.workload == Workload::KinesisEfo).then_some(Efo {
                consumers: args.consumers.unwrap_or(efo::DEFAULT_CONSUMERS),
                rate: args.rate,
            }),
        }
    }

    /// When workers still running are aborted, counted from the start of the measured part.
    fn worker_bound(&self) -> Duration {
        let drain = if self.workload.is_roundtrip() || self.workload.is_sns() {
            self.drain_timeout + self.op_timeout
        } else {
            Duration::ZERO
        };
        self.duration + self.op_timeout + drain + JOIN_GRACE
    }

    /// An upper bound on how long [`run`] takes, setup and cleanup included.
    pub fn time_bound(&self) -> Duration {
        if self.workload == Workload::KinesisEfo {
            return efo::time_bound(self);
        }
        self.worker_bound() + self.op_timeout * SETUP_CALLS
    }
}

/// How `sqs-roundtrip` divides `concurrency` workers into `(producers, consumers)`.
///
/// Default: a quarter consume. Consumers take up to 10 messages per call and producers one, so
/// with a quarter of the workers consuming, receive batches fill up and the run measures the
/// broker rather than a swarm of nearly empty receives. At least one of each.
pub fn roundtrip_split(concurrency: usize, consumers: Option<usize>) -> (usize, usize) {
    let consumers = consumers
        .unwrap_or(concurrency / 4)
        .clamp(1, concurrency.saturating_sub(1).max(1));
    let producers = concurrency.saturating_sub(consumers).max(1);
    (producers, consumers)
}

/// Stops workers after `max` send calls in total (or never, without a maximum).
pub struct Budget {
    max: Option<u64>,
    issued: AtomicU64,
}

impl Budget {
    fn new(max: Option<u64>) -> Self {
        Self {
            max,
            issued: AtomicU64::new(0),
        }
    }

    /// Claims one call; false once the budget is spent.
    pub fn take(&self) -> bool {
        match self.max {
            None => true,
            Some(max) => self.issued.fetch_add(1, Ordering::Relaxed) < max,
        }
    }
}

/// What every worker of one run reads.
pub struct Shared {
    pub client: Client,
    pub queue_url: String,
    /// Tags this run's message bodies, so a roundtrip ignores leftovers on a reused queue.
    pub run_id: String,
    pub message_size: usize,
    pub attributes: Option<Attributes>,
    /// `MD5OfMessageAttributes` every send and receive must carry (`None`: must be absent).
    pub attributes_md5: Option<String>,
    /// fifo-roundtrip settings; `None` for standard queues.
    pub fifo: Option<Fifo>,
    /// Whether answers are checked for delivery, order and deduplication.
    pub verify: bool,
    /// No call starts after this.
    pub deadline: Instant,
    pub budget: Budget,
    next_seq: AtomicU64,
}

impl Shared {
    /// A new message body: `{run_id}:{seq as 16 hex digits}:` padded with `x` to the size.
    pub fn next_body(&self) -> (u64, String) {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        (seq, body(&self.run_id, seq, self.message_size))
    }

    /// Whether there is time and budget for another send.
    pub fn may_send(&self) -> bool {
        Instant::now() < self.deadline && self.budget.take()
    }
}

fn body(run_id: &str, seq: u64, size: usize) -> String {
    let mut body = format!("{run_id}:{seq:016x}:");
    if body.len() < size {
        body.extend(std::iter::repeat_n('x', size - body.len()));
    }
    body
}

/// The run id and sequence number of a body made by [`body`].
pub fn parse_body(body: &str) -> Option<(&str, u64)> {
    let mut parts = body.splitn(3, ':');
    let run_id = parts.next()?;
    let seq = u64::from_str_radix(parts.next()?, 16).ok()?;
    parts.next()?;
    Some((run_id, seq))
}

/// Message attributes as the SDK takes them.
type Attributes = HashMap<String, MessageAttributeValue>;

/// `count` message attributes, String, Number and Binary in turn, and their digest.
fn attributes(count: u8) -> Result<(Option<Attributes>, Option<String>)> {
    if count == 0 {
        return Ok((None, None));
    }
    let mut raw: Vec<(String, &str, Vec<u8>)> = Vec::new();
    for i in 0..count {
        let (data_type, value) = match i % 3 {
            0 => ("String", format!("value-{i}").into_bytes()),
            1 => ("Number", (u32::from(i) * 1000 + 7).to_string().into_bytes()),
            _ => ("Binary", vec![i, 0, 255, i]),
        };
        raw.push((format!("attr-{i:02}"), data_type, value));
    }
    let mut map = HashMap::new();
    for (name, data_type, value) in &raw {
        let builder = MessageAttributeValue::builder().data_type(*data_type);
        let builder = if *data_type == "Binary" {
            builder.binary_value(Blob::new(value.clone()))
        } else {
            builder.string_value(String::from_utf8_lossy(value))
        };
        map.insert(name.clone(), builder.build().context("building a message attribute")?);
    }
    let refs: Vec<AttributeRef<'_>> = raw
        .iter()
        .map(|(name, data_type, value)| AttributeRef { name, data_type, value })
        .collect();
    Ok((Some(map), md5_of_attributes(&refs)))
}

/// Wall-clock time in microseconds since the epoch: what a producer embeds in a message and a
/// receiver subtracts on arrival (both ends run on this host, so they share the clock).
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Waits for every task, aborting those still running at `bound`. Returns the results and the
/// number of tasks that were aborted or panicked.
pub async fn join_all<T: 'static>(mut tasks: JoinSet<T>, bound: Instant) -> (Vec<T>, usize) {
    let mut results = Vec::with_capacity(tasks.len());
    let mut lost = 0;
    loop {
        match tokio::time::timeout_at(bound, tasks.join_next()).await {
            Ok(Some(Ok(result))) => results.push(result),
            Ok(Some(Err(error))) => {
                eprintln!("sluice-load: worker failed: {error}");
                lost += 1;
            }
            Ok(None) => return (results, lost),
            Err(_) => {
                lost += tasks.len();
                tasks.abort_all();
                return (results, lost);
            }
        }
    }
}

/// Runs one workload as planned and reports what it measured.
pub async fn run(plan: &Plan) -> Result<Report> {
    if plan.workload == Workload::KinesisEfo {
        return efo::run(plan).await;
    }
    if plan.workload.is_kinesis() {
        return kinesis::run(plan).await;
    }
    if plan.workload.is_sns() {
        return sns::run(plan).await;
    }
    let client = client::build(&plan.endpoint, plan.op_timeout);
    let suffix = if plan.fifo.is_some() { ".fifo" } else { "" };
    let (queue_name, fresh) = match &plan.queue_name {
        Some(name) => (name.clone(), false),
        None => {
            let id = uuid::Uuid::new_v4().simple().to_string();
            (format!("sluice-load-{}{suffix}", &id[..12]), true)
        }
    };
    if plan.fifo.is_some() && !queue_name.ends_with(".fifo") {
        return Err(anyhow!("FIFO sends need a FIFO queue: --queue-name must end in .fifo"));
    }
    let mut create = client.create_queue().queue_name(&queue_name);
    if plan.fifo.is_some() {
        // Spread the deduplication window per group, as high-throughput FIFO users do.
        create = create
            .attributes(QueueAttributeName::FifoQueue, "true")
            .attributes(QueueAttributeName::DeduplicationScope, "messageGroup")
            .attributes(QueueAttributeName::FifoThroughputLimit, "perMessageGroupId");
    }
    let created = create.send().await.map_err(|e| {
        anyhow!(
            "creating queue {queue_name} at {} failed (is the broker running?): {}",
            plan.endpoint,
            DisplayErrorContext(&e)
        )
    })?;
    let queue_url = created
        .queue_url()
        .context("CreateQueue answered without a QueueUrl")?
        .to_string();
    let (attributes, attributes_md5) = attributes(plan.attributes)?;

    let cpu_before = CpuSample::take(plan.broker_pid)?;

    let started = Instant::now();
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let shared = Arc::new(Shared {
        client: client.clone(),
        queue_url: queue_url.clone(),
        run_id,
        message_size: plan.message_size,
        attributes,
        attributes_md5,
        fifo: plan.fifo,
        verify: plan.verify,
        deadline: started + plan.duration,
        budget: Budget::new(plan.max_ops),
        next_seq: AtomicU64::new(0),
    });
    let bound = started + plan.worker_bound();
    let outcome = match plan.workload {
        Workload::SqsSend => send::run(&shared, plan.concurrency, false, bound).await,
        Workload::SqsSendBatch => send::run(&shared, plan.concurrency, true, bound).await,
        Workload::SqsRoundtrip | Workload::FifoRoundtrip => roundtrip::run(&shared, plan, started, bound).await,
        Workload::KinesisPut | Workload::KinesisPutBatch | Workload::KinesisRead | Workload::KinesisEfo => {
            return Err(anyhow!("kinesis workloads are run by workload::kinesis"));
        }
        Workload::SnsFanout | Workload::SnsFanoutBatch | Workload::SnsHttp => {
            return Err(anyhow!("sns workloads are run by workload::sns"));
        }
    };
    let elapsed = started.elapsed();

    let ops = outcome.stats.ops;
    let (broker_cpu, client_cpu) = cpu_before.usage(ops)?;

    if fresh && !plan.keep_queue {
        if let Err(error) = client.delete_queue().queue_url(&queue_url).send().await {
            eprintln!(
                "sluice-load: deleting queue {queue_name} failed: {}",
                DisplayErrorContext(&error)
            );
        }
    }

    Ok(Report {
        workload: plan.workload,
        target: plan.target,
        endpoint: plan.endpoint.clone(),
        concurrency: plan.concurrency,
        roundtrip_split: plan.workload.is_roundtrip().then_some(plan.roundtrip_split),
        message_size: plan.message_size,
        attributes: plan.attributes,
        elapsed,
        delivery_window: outcome.delivery_window,
        stats: outcome.stats,
        verification: outcome.verification,
        lost_workers: outcome.lost_workers,
        broker_cpu,
        client_cpu,
    })
}

/// What a workload hands back to [`run`].
pub struct Outcome {
    pub stats: TaskStats,
    /// Roundtrip: from the start to the last delivery.
    pub delivery_window: Option<Duration>,
    pub verification: Option<super::report::Verification>,
    /// Workers aborted at the time bound or that panicked (their figures are missing).
    pub lost_workers: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_and_have_the_requested_size() {
        let made = body("abcd1234", 0x2a, 256);
        assert_eq!(made.len(), 256);
        assert_eq!(parse_body(&made), Some(("abcd1234", 0x2a)));
        let small = body("abcd1234", u64::MAX, 32);
        assert_eq!(small.len(), 32);
        assert_eq!(parse_body(&small), Some(("abcd1234", u64::MAX)));
        assert_eq!(parse_body("null-server synthetic message"), None);
    }

    #[test]
    fn roundtrip_splits() {
        assert_eq!(roundtrip_split(16, None), (12, 4));
        assert_eq!(roundtrip_split(64, None), (48, 16));
        assert_eq!(roundtrip_split(16, Some(8)), (8, 8));
        assert_eq!(roundtrip_split(16, Some(20)), (1, 15));
        assert_eq!(roundtrip_split(2, None), (1, 1));
        assert_eq!(roundtrip_split(1, None), (1, 1));
    }

    #[test]
    fn budget_stops_at_max() {
        let budget = Budget::new(Some(3));
        assert!(budget.take() && budget.take() && budget.take());
        assert!(!budget.take());
        let unbounded = Budget::new(None);
        assert!((0..10_000).all(|_| unbounded.take()));
    }

    #[test]
    fn attribute_sets() {
        let none = attributes(0).map_err(|e| e.to_string());
        assert!(matches!(none, Ok((None, None))));
        let three = attributes(3).map_err(|e| e.to_string());
        let Ok((Some(map), Some(digest))) = three else {
            panic!("expected three attributes and a digest");
        };
        assert_eq!(map.len(), 3);
        assert_eq!(digest.len(), 32);
    }
}
