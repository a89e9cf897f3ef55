//! `sns-fanout` (Publish), `sns-fanout-batch` (PublishBatch of 10) and `sns-http` (delivery to
//! a local HTTP receiver).
//!
//! sns-fanout creates a topic with `--subscriptions` queue subscriptions (raw delivery with
//! `--raw`, else the signed JSON envelope), publishes `{run}:{seq}:` bodies until the deadline,
//! then drains every queue and checks that each got every acknowledged publish exactly once.
//! With `--fifo-topic` the topic and its queues are FIFO, publishes go round-robin to
//! `--groups` message groups with a deduplication id each, and every queue must deliver each
//! group in the order of the SequenceNumbers the topic answered.
//! sns-http starts a receiver on 127.0.0.1, subscribes it, confirms through the SubscribeURL,
//! publishes, and waits for every acknowledged publish to arrive; its receive latency is
//! publish-to-delivery.
//!
//! # Bounds
//! Publishing stops at the deadline or budget; draining stops when everything arrived or after
//! `--drain-timeout`; the receiver and every task end with the run.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::PublishBatchRequestEntry;
use aws_sdk_sns::Client as Sns;
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use aws_sdk_sqs::Client as Sqs;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::super::cli::Workload;
use super::super::client::classify;
use super::super::cpu::CpuSample;
use super::super::report::{Report, Verification};
use super::super::stats::TaskStats;
use super::{body, join_all, now_micros, parse_body, Budget, Plan};

/// Entries per PublishBatch: SNS's maximum.
const BATCH_SIZE: usize = 10;

struct Shared {
    sns: Sns,
    topic_arn: String,
    /// A FIFO topic: message groups the publishes go to, round-robin.
    groups: Option<u32>,
    run_id: String,
    message_size: usize,
    deadline: Instant,
    budget: Budget,
    next_seq: std::sync::atomic::AtomicU64,
}

impl Shared {
    fn next(&self) -> (u64, String) {
        let seq = self.next_seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // The publish time rides in the body so sns-http can measure publish-to-delivery.
        let mut text = body(&self.run_id, seq, 0);
        text.push_str(&format!("{}:", now_micros()));
        if text.len() < self.message_size {
            text.extend(std::iter::repeat_n('x', self.message_size - text.len()));
        }
        (seq, text)
    }
}

/// A FIFO publish's message group and deduplication id.
fn fifo_ids(run_id: &str, groups: u32, seq: u64) -> (String, String) {
    (format!("g{}", seq % u64::from(groups)), format!("{run_id}-{seq}"))
}

/// A publish the topic acknowledged: the load tool's sequence, and a FIFO topic's
/// SequenceNumber for it.
type Acked = (u64, Option<u128>);

/// The publish time (µs since the epoch) in a body made by [`Shared::next`].
fn published_at(body: &str) -> Option<u64> {
    body.split(':').nth(2)?.parse().ok()
}

/// Runs one SNS workload as planned.
pub async fn run(plan: &Plan) -> Result<Report> {
    let config = super::super::client::sdk_config(&plan.endpoint, plan.op_timeout);
    let sns = Sns::new(&config);
    let sqs = Sqs::new(&config);
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let fifo = plan.fifo.is_some();
    let suffix = if fifo { ".fifo" } else { "" };
    let topic = format!("sluice-load-{id}{suffix}");
    let mut create = sns
        .create_topic()
        .name(&topic)
        .attributes("SignatureVersion", &plan.signature_version);
    if fifo {
        create = create.attributes("FifoTopic", "true");
    }
    let topic_arn = create
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "creating topic {topic} at {} failed (is the broker running?): {}",
                plan.endpoint,
                DisplayErrorContext(&e)
            )
        })?
        .topic_arn()
        .context("CreateTopic answered without a TopicArn")?
        .to_string();
    let mut queues = Vec::new();
    let mut receiver = None;
    if plan.workload == Workload::SnsHttp {
        let r = Receiver::start().await?;
        subscribe_http(&sns, &topic_arn, &r, plan.op_timeout).await?;
        receiver = Some(r);
    } else {
        for i in 0..plan.subscriptions {
            let name = format!("sluice-load-{id}-{i}{suffix}");
            let mut create = sqs.create_queue().queue_name(&name);
            if fifo {
                create = create.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
            }
            let url = create
                .send()
                .await
                .map_err(|e| anyhow!("creating queue {name}: {}", DisplayErrorContext(&e)))?
                .queue_url()
                .context("CreateQueue answered without a QueueUrl")?
                .to_string();
            sns.subscribe()
                .topic_arn(&topic_arn)
                .protocol("sqs")
                .endpoint(format!("arn:aws:sqs:us-east-1:000000000000:{name}"))
                .attributes("RawMessageDelivery", if plan.raw { "true" } else { "false" })
                .send()
                .await
                .map_err(|e| anyhow!("subscribing queue {name}: {}", DisplayErrorContext(&e)))?;
            queues.push(url);
        }
    }
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let cpu_before = CpuSample::take(plan.broker_pid)?;
    let started = Instant::now();
    let shared = Arc::new(Shared {
        sns: sns.clone(),
        topic_arn: topic_arn.clone(),
        groups: plan.fifo.map(|f| f.groups),
        run_id: run_id.clone(),
        message_size: plan.message_size,
        deadline: started + plan.duration,
        budget: Budget::new(plan.max_ops),
        next_seq: std::sync::atomic::AtomicU64::new(0),
    });
    let bound = started + plan.duration + plan.op_timeout + Duration::from_secs(5);
    let batch = plan.workload == Workload::SnsFanoutBatch;
    let mut tasks = JoinSet::new();
    for _ in 0..plan.concurrency {
        let shared = Arc::clone(&shared);
        tasks.spawn(async move {
            let mut stats = TaskStats::new();
            let mut acked = Vec::new();
            while Instant::now() < shared.deadline && shared.budget.take() {
                if batch {
                    publish_batch(&shared, &mut stats, &mut acked).await;
                } else {
                    publish_one(&shared, &mut stats, &mut acked).await;
                }
            }
            (stats, acked)
        });
    }
    let (results, lost_workers) = join_all(tasks, bound).await;
    let publish_elapsed = started.elapsed();
    let mut stats = TaskStats::new();
    let mut acked: Vec<u64> = Vec::new();
    // A FIFO topic's SequenceNumber of each acknowledged publish.
    let mut sequenced: HashMap<u64, u128> = HashMap::new();
    for (s, a) in &results {
        stats.merge(s);
        for (seq, sequence) in a {
            acked.push(*seq);
            sequenced.extend(sequence.map(|n| (*seq, n)));
        }
    }
    let drain_bound = Instant::now() + plan.drain_timeout;
    let (deliveries, verification) = match &receiver {
        Some(r) => r.wait_for(&run_id, &acked, drain_bound, &mut stats).await,
        None => {
            let expect = Expected {
                run_id: &run_id,
                acked: &acked,
                sequenced: &sequenced,
                groups: plan.fifo.map(|f| f.groups),
            };
            drain_queues(&sqs, &queues, &expect, plan.raw, drain_bound, &mut stats).await
        }
    };
    let delivery_window = started.elapsed();
    let (broker_cpu, client_cpu) = cpu_before.usage(stats.ops)?;
    stats.messages_received = deliveries;
    if !plan.keep_queue {
        let _ = sns.delete_topic().topic_arn(&topic_arn).send().await;
        for url in &queues {
            let _ = sqs.delete_queue().queue_url(url).send().await;
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
        elapsed: publish_elapsed,
        delivery_window: Some(delivery_window),
        stats,
        verification: Some(verification),
        lost_workers,
        broker_cpu,
        client_cpu,
    })
}

async fn publish_one(shared: &Shared, stats: &mut TaskStats, acked: &mut Vec<Acked>) {
    let (seq, text) = shared.next();
    let mut request = shared.sns.publish().topic_arn(&shared.topic_arn).message(text);
    if let Some(groups) = shared.groups {
        let (group, dedup) = fifo_ids(&shared.run_id, groups, seq);
        request = request.message_group_id(group).message_deduplication_id(dedup);
    }
    let started = Instant::now();
    let result = request.send().await;
    stats.ops += 1;
    match result {
        Ok(out) => {
            stats.send.record(started.elapsed());
            stats.messages_sent += 1;
            acked.push((seq, out.sequence_number().and_then(|n| n.parse().ok())));
        }
        Err(error) => {
            let (kind, message) = classify(&error);
            stats.errors.add(&kind, || message);
        }
    }
}

async fn publish_batch(shared: &Shared, stats: &mut TaskStats, acked: &mut Vec<Acked>) {
    let mut request = shared.sns.publish_batch().topic_arn(&shared.topic_arn);
    let mut seqs = HashMap::new();
    for i in 0..BATCH_SIZE {
        let (seq, text) = shared.next();
        let id = format!("e{i}");
        seqs.insert(id.clone(), seq);
        let mut entry = PublishBatchRequestEntry::builder().id(id).message(text);
        if let Some(groups) = shared.groups {
            let (group, dedup) = fifo_ids(&shared.run_id, groups, seq);
            entry = entry.message_group_id(group).message_deduplication_id(dedup);
        }
        match entry.build() {
            Ok(entry) => request = request.publish_batch_request_entries(entry),
            Err(error) => {
                stats.errors.add("ConstructionFailure", || error.to_string());
                return;
            }
        }
    }
    let started = Instant::now();
    let result = request.send().await;
    stats.ops += 1;
    match result {
        Ok(out) => {
            stats.send.record(started.elapsed());
            for ok in out.successful() {
                if let Some(seq) = ok.id().and_then(|id| seqs.get(id)) {
                    acked.push((*seq, ok.sequence_number().and_then(|n| n.parse().ok())));
                    stats.messages_sent += 1;
                }
            }
            for failed in out.failed() {
                stats
                    .errors
                    .add(failed.code(), || failed.message().unwrap_or_default().to_string());
            }
        }
        Err(error) => {
            let (kind, message) = classify(&error);
            stats.errors.add(&kind, || message);
        }
    }
}

/// Counts per acknowledged sequence number into a verification.
fn verify(acked: &[u64], seen: &HashMap<u64, u64>, copies: u64, unexpected: u64) -> Verification {
    let mut v = Verification {
        sent: acked.len() as u64 * copies,
        unexpected,
        ..Verification::default()
    };
    for seq in acked {
        let got = seen.get(seq).copied().unwrap_or(0);
        v.received_unique += got.min(copies);
        v.missing += copies.saturating_sub(got);
        v.duplicates += got.saturating_sub(copies);
    }
    v
}

/// What the queues must hold after a run.
struct Expected<'a> {
    run_id: &'a str,
    /// The acknowledged publishes.
    acked: &'a [u64],
    /// A FIFO topic: each acknowledged publish's SequenceNumber.
    sequenced: &'a HashMap<u64, u128>,
    /// A FIFO topic: the message groups, assigned round-robin by sequence.
    groups: Option<u32>,
}

/// What one queue delivered.
#[derive(Default)]
struct Delivered {
    stats: TaskStats,
    /// Deliveries per publish.
    seen: HashMap<u64, u64>,
    unexpected: u64,
    /// FIFO: deliveries whose topic SequenceNumber is not above the last of their group's.
    out_of_order: u64,
}

/// Receives and deletes everything from the queues (concurrently) until every acknowledged
/// publish arrived in each, or the bound passes.
async fn drain_queues(
    sqs: &Sqs,
    queues: &[String],
    expect: &Expected<'_>,
    raw: bool,
    bound: Instant,
    stats: &mut TaskStats,
) -> (u64, Verification) {
    let mut tasks = JoinSet::new();
    let sequenced = Arc::new(expect.sequenced.clone());
    for url in queues {
        let (sqs, url, run_id, want) = (sqs.clone(), url.clone(), expect.run_id.to_string(), expect.acked.len());
        let (sequenced, groups) = (sequenced.clone(), expect.groups);
        tasks.spawn(async move {
            let mut got = Delivered::default();
            // A FIFO topic: the last SequenceNumber delivered per group.
            let mut last: HashMap<u64, u128> = HashMap::new();
            let mut unique = 0;
            while unique < want && Instant::now() < bound {
                let started = Instant::now();
                let out = sqs
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(10)
                    .wait_time_seconds(1)
                    .send()
                    .await;
                got.stats.ops += 1;
                let messages = match out {
                    Ok(out) => {
                        got.stats.receive.record(started.elapsed());
                        out.messages().to_vec()
                    }
                    Err(error) => {
                        let (kind, message) = classify(&error);
                        got.stats.errors.add(&kind, || message);
                        continue;
                    }
                };
                let mut delete = sqs.delete_message_batch().queue_url(&url);
                for (i, m) in messages.iter().enumerate() {
                    let text = m.body().unwrap_or_default();
                    let message = if raw {
                        Some(text.to_string())
                    } else {
                        serde_json::from_str::<serde_json::Value>(text)
                            .ok()
                            .and_then(|v| v["Message"].as_str().map(str::to_string))
                    };
                    match message.as_deref().and_then(parse_body) {
                        Some((run, seq)) if run == run_id => {
                            let count = got.seen.entry(seq).or_insert(0);
                            if *count == 0 {
                                unique += 1;
                            }
                            *count += 1;
                            if let (Some(groups), Some(sequence)) = (groups, sequenced.get(&seq)) {
                                let group = seq % u64::from(groups);
                                match last.insert(group, *sequence) {
                                    Some(before) if before >= *sequence => got.out_of_order += 1,
                                    _ => {}
                                }
                            }
                        }
                        _ => got.unexpected += 1,
                    }
                    let entry = DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle().unwrap_or_default())
                        .build();
                    if let Ok(entry) = entry {
                        delete = delete.entries(entry);
                    }
                }
                if !messages.is_empty() {
                    let _ = delete.send().await;
                }
            }
            got
        });
    }
    let mut total = Verification::default();
    let mut deliveries = 0;
    while let Some(joined) = tasks.join_next().await {
        let Ok(got) = joined else { continue };
        stats.merge(&got.stats);
        deliveries += got.seen.values().sum::<u64>();
        let v = verify(expect.acked, &got.seen, 1, got.unexpected);
        total.sent += v.sent;
        total.received_unique += v.received_unique;
        total.missing += v.missing;
        total.duplicates += v.duplicates;
        total.unexpected += v.unexpected;
        total.out_of_order += got.out_of_order;
    }
    (deliveries, total)
}

/// A local HTTP endpoint that confirms its subscription and records deliveries.
struct Receiver {
    addr: SocketAddr,
    /// Each notification's body text and arrival time (µs since the epoch).
    got: Arc<Mutex<Vec<(String, u64)>>>,
    confirmations: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    async fn start() -> Result<Receiver> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the receiver")?;
        let addr = listener.local_addr()?;
        let got: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
        let confirmations: Arc<Mutex<Vec<String>>> = Arc::default();
        let (task_got, task_confirmations) = (got.clone(), confirmations.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (got, confirmations) = (task_got.clone(), task_confirmations.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (got, confirmations) = (got.clone(), confirmations.clone());
                        async move {
                            let kind = req
                                .headers()
                                .get("x-amz-sns-message-type")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_string();
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let text = String::from_utf8_lossy(&body).into_owned();
                            if kind == "SubscriptionConfirmation" {
                                confirmations.lock().map(|mut c| c.push(text)).ok();
                            } else {
                                let at = now_micros();
                                got.lock().map(|mut g| g.push((text, at))).ok();
                            }
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::new())))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Receiver {
            addr,
            got,
            confirmations,
            task,
        })
    }

    /// Waits until every acknowledged publish arrived or the bound passes; records
    /// publish-to-delivery latency as the receive latency.
    async fn wait_for(
        &self,
        run_id: &str,
        acked: &[u64],
        bound: Instant,
        stats: &mut TaskStats,
    ) -> (u64, Verification) {
        loop {
            let count = self.got.lock().map(|g| g.len()).unwrap_or(0);
            if count >= acked.len() || Instant::now() >= bound {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let got = self.got.lock().map(|g| g.clone()).unwrap_or_default();
        let mut seen: HashMap<u64, u64> = HashMap::new();
        let mut unexpected = 0;
        for (text, arrived) in &got {
            let message = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v["Message"].as_str().map(str::to_string));
            match message.as_deref().map(|m| (parse_body(m), published_at(m))) {
                Some((Some((run, seq)), Some(at))) if run == run_id => {
                    *seen.entry(seq).or_insert(0) += 1;
                    stats.receive.record(Duration::from_micros(arrived.saturating_sub(at)));
                }
                _ => unexpected += 1,
            }
        }
        (got.len() as u64, verify(acked, &seen, 1, unexpected))
    }
}

/// Subscribes the receiver and confirms through the SubscribeURL, as an HTTP subscriber does.
async fn subscribe_http(sns: &Sns, topic_arn: &str, receiver: &Receiver, timeout: Duration) -> Result<()> {
    sns.subscribe()
        .topic_arn(topic_arn)
        .protocol("http")
        .endpoint(format!("http://{}/", receiver.addr))
        .send()
        .await
        .map_err(|e| anyhow!("subscribing the receiver: {}", DisplayErrorContext(&e)))?;
    let deadline = Instant::now() + timeout;
    let confirmation = loop {
        if let Some(first) = receiver.confirmations.lock().ok().and_then(|c| c.first().cloned()) {
            break first;
        }
        if Instant::now() > deadline {
            return Err(anyhow!("no SubscriptionConfirmation within {timeout:?}"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let doc: serde_json::Value = serde_json::from_str(&confirmation).context("confirmation is not JSON")?;
    let url = doc["SubscribeURL"].as_str().context("no SubscribeURL")?;
    let response = sluice_tests::raw::get_with_timeout(url, timeout)
        .await
        .map_err(|e| anyhow!("GET SubscribeURL: {e}"))?;
    if response.status != 200 {
        return Err(anyhow!(
            "GET SubscribeURL answered {}: {}",
            response.status,
            response.body
        ));
    }
    Ok(())
}
