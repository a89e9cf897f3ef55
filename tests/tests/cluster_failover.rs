//! Cluster mode under failure, end to end on a real 3-node JetStream cluster, with the official
//! SQS, SNS and Kinesis clients:
//! - Repeated SIGKILLs of the writer of three Sluice nodes while concurrent clients drive mixed
//!   load through every node's endpoint (standard and FIFO sends, receives and deletes,
//!   PutRecords, SNS publishes to a subscribed queue, FIFO SNS publishes to a subscribed FIFO
//!   queue): nothing acknowledged is lost, no acknowledged delete comes back, FIFO
//!   deduplication and group order hold across takeovers (for FIFO topics too),
//!   and Kinesis sequence numbers keep increasing per shard. The load is seeded (`SEED`, or
//!   `SLUICE_FAILOVER_SEED` in hex) and the seed is printed.
//! - The JetStream leader of the log stream killed under a writing Sluice node: writes go on
//!   once JetStream elects another leader, and nothing acknowledged is lost. The writer usually
//!   survives; if the lease bucket's leader died with it and that election outlasted the lease,
//!   another node takes over and the writer steps down cleanly.
//! - A standby that was down while the writer wrote catches up when it comes back and takes
//!   over with every write.
//!
//! Bookkeeping: only acknowledged operations count. A call that returned an error is *unknown*
//! (it may or may not have happened): its message may be there or not, but never twice where
//! deduplication promises once. Every loop is bounded and every wait has a deadline. The tests
//! run one at a time (`SERIAL`): each starts 3 NATS servers and 2-3 Sluice nodes, and takeover
//! times measured on a shared CPU would mean little.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use aws_sdk_kinesis::Client as Kinesis;
use aws_sdk_sns::Client as Sns;
use aws_sdk_sqs::config::retry::RetryConfig;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client as Sqs;
use sluice_tests::kinesis::{create_stream, read_shard, shard_ids};
use sluice_tests::{Broker, NatsCluster, ACCESS_KEY, ACCOUNT_ID, REGION, SECRET_KEY};

/// The load's seed; `SLUICE_FAILOVER_SEED` (hex) replaces it to replay another run.
const SEED: u64 = 0x5EED_C1A5_7E25_0001;
/// Bounds a node's start and a takeover (the lease lasts 4 s; catch-up and loading follow).
const TAKEOVER: Duration = Duration::from_secs(30);
/// Attempts per SDK call (the SDK's standard retries, backoff capped at 2 s): enough to ride a
/// takeover of a few seconds.
const ATTEMPTS: u32 = 10;
/// Kills of the writer in the mixed-load test.
const ROUNDS: usize = 10;
/// Concurrent clients in the mixed-load test.
const WORKERS: usize = 4;
/// Upper bound of any worker's operations (the stop flag ends them long before).
const MAX_OPS_PER_WORKER: usize = 200_000;
/// The visibility timeout of the workers' receives, in seconds.
const WORKER_VISIBILITY: i32 = 10;
/// A delete counts as acknowledged only if it returned this long before its receive's
/// visibility timeout could have run out (so the receipt handle was still the latest one).
const DELETE_MARGIN: Duration = Duration::from_secs(1);
/// Operations slower than this are listed in the report (a takeover takes about 3-5 s).
const SLOW_OP: Duration = Duration::from_secs(8);
/// Bounds every read-everything loop of the checks.
const MAX_RECEIVES: usize = 5_000;

/// One test at a time: each runs its own NATS cluster and Sluice nodes on a small machine.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn seed() -> u64 {
    std::env::var("SLUICE_FAILOVER_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok())
        .unwrap_or(SEED)
}

/// xorshift64*, seeded through splitmix64 so that nearby seeds diverge at once.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn patient_retry() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(ATTEMPTS)
        .with_max_backoff(Duration::from_secs(2))
}

fn credentials() -> Credentials {
    Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "sluice-tests")
}

async fn patient_sqs(endpoint: &str) -> Sqs {
    sluice_tests::sqs_client_patient(endpoint, ATTEMPTS).await
}

async fn patient_kinesis(endpoint: &str) -> Kinesis {
    Kinesis::new(&sluice_tests::client::sdk_config(endpoint, REGION, patient_retry(), credentials()).await)
}

async fn patient_sns(endpoint: &str) -> Sns {
    Sns::new(&sluice_tests::client::sdk_config(endpoint, REGION, patient_retry(), credentials()).await)
}

/// The status of one probe of `path` on `node`, `None` when it did not answer.
async fn probe(node: &Broker, path: &str) -> Option<u16> {
    let url = format!("{}{path}", node.endpoint());
    sluice_tests::raw::get_with_timeout(&url, Duration::from_millis(500))
        .await
        .ok()
        .map(|r| r.status)
}

/// Waits (at most `limit`) until some node but `skip` answers `/ready` with 200: the writer.
async fn wait_writer(nodes: &[Broker], skip: Option<usize>, limit: Duration) -> Result<usize, String> {
    let deadline = Instant::now() + limit;
    loop {
        for (i, node) in nodes.iter().enumerate() {
            if Some(i) != skip && probe(node, "/ready").await == Some(200) {
                return Ok(i);
            }
        }
        if Instant::now() > deadline {
            return Err(format!("no node answered /ready with 200 within {limit:?}"));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits (at most `limit`) until `node` answers `path` with `status`.
async fn wait_status(node: &Broker, path: &str, status: u16, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    let mut last = None;
    loop {
        last = probe(node, path).await.or(last);
        if last == Some(status) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{} {path}: {last:?} instead of {status} within {limit:?}",
                node.endpoint()
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn logs(names: &[&str], nodes: &[Broker]) -> String {
    names.iter().zip(nodes).map(|(n, b)| b.cluster_story(n, 40)).collect()
}

/// Kinesis sequence numbers are decimal strings longer than any integer type: by length, then
/// digit by digit.
fn sequence_less(a: &str, b: &str) -> bool {
    (a.len(), a) < (b.len(), b)
}

fn queue_arn(name: &str) -> String {
    format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}")
}

fn summary(times: &[Duration]) -> String {
    let mut sorted = times.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return "none".into();
    }
    format!(
        "min {:?}, median {:?}, max {:?} over {}",
        sorted[0],
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1],
        sorted.len()
    )
}

async fn create_queue(sqs: &Sqs, name: &str, attrs: &[(QueueAttributeName, &str)]) -> String {
    let mut req = sqs.create_queue().queue_name(name);
    for (k, v) in attrs {
        req = req.attributes(k.clone(), *v);
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("CreateQueue {name}: {}", DisplayErrorContext(&e)))
        .queue_url()
        .expect("QueueUrl")
        .to_string()
}

/// Every visible message of `url` as (MessageId, body), received with a long visibility timeout
/// so none comes back; ends after two empty long polls in a row (bounded).
async fn receive_all(sqs: &Sqs, url: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut empty = 0;
    for _ in 0..MAX_RECEIVES {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap_or_else(|e| panic!("ReceiveMessage from {url}: {}", DisplayErrorContext(&e)));
        if got.messages().is_empty() {
            empty += 1;
            if empty >= 2 {
                return out;
            }
            continue;
        }
        empty = 0;
        out.extend(got.messages().iter().map(|m| {
            (
                m.message_id().unwrap_or_default().to_string(),
                m.body().unwrap_or_default().to_string(),
            )
        }));
    }
    panic!(
        "{url} not drained within {MAX_RECEIVES} receives ({} messages)",
        out.len()
    );
}

/// Checks what a FIFO queue delivered (`got`: group, deduplication id) against each worker's
/// FIFO writes (`writes[w]`: counter, acknowledged; id `w{w}-{counter}`, group `g{w}`): each id at
/// most once, every acknowledged one present, each group in write order. Answers the counts of
/// acknowledged and unknown writes.
fn check_fifo(
    what: &str,
    writes: &[&[(u64, bool)]],
    got: &[(String, String)],
    failures: &mut Vec<String>,
) -> (usize, usize) {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_group: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (group, dedup) in got {
        *seen.entry(dedup.as_str()).or_default() += 1;
        let counter = dedup.rsplit('-').next().and_then(|k| k.parse::<u64>().ok());
        match counter {
            Some(k) => by_group.entry(group.as_str()).or_default().push(k),
            None => failures.push(format!("{what}: an unexpected message, group {group} id {dedup}")),
        }
    }
    let twice: Vec<(&&str, &usize)> = seen.iter().filter(|(_, n)| **n > 1).collect();
    if !twice.is_empty() {
        failures.push(format!(
            "{what}: {} deduplication ids delivered more than once (first: {:?})",
            twice.len(),
            &twice[..twice.len().min(10)]
        ));
    }
    let (mut acked_count, mut unknown) = (0, 0);
    for (w, writes) in writes.iter().enumerate() {
        let mut missing = Vec::new();
        for (k, acked) in writes.iter() {
            let present = seen.contains_key(format!("w{w}-{k}").as_str());
            match acked {
                true => {
                    acked_count += 1;
                    if !present {
                        missing.push(*k);
                    }
                }
                false => unknown += 1,
            }
        }
        if !missing.is_empty() {
            failures.push(format!(
                "{what} group g{w}: {} acknowledged writes missing: {:?}",
                missing.len(),
                &missing[..missing.len().min(20)]
            ));
        }
        let order = by_group.get(format!("g{w}").as_str()).cloned().unwrap_or_default();
        if let Some(i) = order.windows(2).position(|p| p[0] >= p[1]) {
            failures.push(format!(
                "{what} group g{w}: out of write order at position {i}: {} then {} (around: {:?})",
                order[i],
                order[i + 1],
                &order[i.saturating_sub(5)..(i + 6).min(order.len())]
            ));
        }
    }
    (acked_count, unknown)
}

/// Every message of the FIFO queue `url` in receive order as (group, deduplication id), each
/// batch deleted before the next receive (a group with messages in flight returns no more).
async fn drain_fifo(sqs: &Sqs, url: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut empty = 0;
    for _ in 0..MAX_RECEIVES {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .message_system_attribute_names(MessageSystemAttributeName::MessageDeduplicationId)
            .send()
            .await
            .unwrap_or_else(|e| panic!("ReceiveMessage from {url}: {}", DisplayErrorContext(&e)));
        let messages = got.messages();
        if messages.is_empty() {
            empty += 1;
            if empty >= 2 {
                return out;
            }
            continue;
        }
        empty = 0;
        let attr = |m: &aws_sdk_sqs::types::Message, name: MessageSystemAttributeName| {
            m.attributes().and_then(|a| a.get(&name)).cloned().unwrap_or_default()
        };
        let mut entries = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            out.push((
                attr(m, MessageSystemAttributeName::MessageGroupId),
                attr(m, MessageSystemAttributeName::MessageDeduplicationId),
            ));
            entries.push(
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .build()
                    .expect("delete entry"),
            );
        }
        let deleted = sqs
            .delete_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .unwrap_or_else(|e| panic!("DeleteMessageBatch on {url}: {}", DisplayErrorContext(&e)));
        assert!(deleted.failed().is_empty(), "{:?}", deleted.failed());
    }
    panic!(
        "{url} not drained within {MAX_RECEIVES} receives ({} messages)",
        out.len()
    );
}

// ---------------------------------------------------------------------------------------------
// 1. Repeated writer kills under mixed load
// ---------------------------------------------------------------------------------------------

/// Clients of every node's endpoint (index = node).
struct Clients {
    sqs: Vec<Sqs>,
    kinesis: Vec<Kinesis>,
    sns: Vec<Sns>,
}

/// What the workers write to.
struct Targets {
    work: String,
    fifo: String,
    stream: String,
    topic: String,
    /// A FIFO topic, and the URL of the FIFO queue subscribed to it.
    fifo_topic: String,
    fifo_sink: String,
}

/// What one worker saw acknowledged (and how much was unknown).
#[derive(Default)]
struct Ledger {
    /// Acknowledged standard sends: (MessageId, body).
    sent: Vec<(String, String)>,
    send_unknown: usize,
    received: usize,
    receive_unknown: usize,
    /// MessageIds deleted by an acknowledged delete while the receipt handle was the latest.
    deleted: BTreeSet<String>,
    /// MessageIds whose delete may or may not have happened (error, or acknowledged late).
    maybe_deleted: BTreeSet<String>,
    /// Entries a DeleteMessageBatch answered as failed.
    delete_refused: usize,
    /// This worker's FIFO sends in send order: (counter, acknowledged).
    fifo: Vec<(u64, bool)>,
    fifo_resent: usize,
    /// Acknowledged Kinesis records: (shard, sequence number, data).
    records: Vec<(String, String, String)>,
    records_unknown: usize,
    /// Acknowledged SNS publishes (messages).
    published: Vec<String>,
    publish_unknown: usize,
    /// This worker's FIFO topic publishes in publish order: (counter, acknowledged).
    fifo_published: Vec<(u64, bool)>,
    fifo_republished: usize,
    /// When this worker's last ReceiveMessage started.
    last_receive: Option<Instant>,
    /// A few of the errors, for the report.
    errors: Vec<String>,
    /// Operations that took longer than [`SLOW_OP`]: what, through which node, when, how long.
    slow: Vec<String>,
    ops: usize,
}

impl Ledger {
    fn note<E: std::error::Error>(&mut self, what: &str, e: &E) {
        if self.errors.len() < 6 {
            let text = format!("{what}: {}", DisplayErrorContext(e));
            self.errors.push(text.chars().take(300).collect());
        }
    }
}

/// Publishes worker `w`'s FIFO message `k` to the FIFO topic (group `g{w}`, deduplication id
/// `w{w}-{k}`) through node `node`, retried with the same id through the next nodes like a real
/// producer; now and then published again on purpose through another node (accepted, never
/// delivered twice).
#[allow(clippy::too_many_arguments)]
async fn publish_fifo(
    w: usize,
    k: u64,
    node: usize,
    sns: &[Sns],
    topic: &str,
    stop: &AtomicBool,
    rng: &mut Rng,
    ledger: &mut Ledger,
) {
    let dedup = format!("w{w}-{k}");
    let message = format!("fifo-topic w{w} {k}");
    let publish = |at: usize| {
        sns[at % sns.len()]
            .publish()
            .topic_arn(topic)
            .message(&message)
            .message_group_id(format!("g{w}"))
            .message_deduplication_id(&dedup)
            .send()
    };
    let mut acked = false;
    for attempt in 0..3 {
        match publish(node + attempt).await {
            Ok(_) => {
                acked = true;
                break;
            }
            Err(e) => ledger.note("Publish (FIFO)", &e),
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
    }
    ledger.fifo_published.push((k, acked));
    if acked && rng.below(4) == 0 {
        ledger.fifo_republished += 1;
        let _ = publish(node + 1).await;
    }
}

async fn drive(
    w: usize,
    seed: u64,
    clients: Arc<Clients>,
    targets: Arc<Targets>,
    stop: Arc<AtomicBool>,
    epoch: Instant,
) -> Ledger {
    let mut rng = Rng::new(seed);
    let mut ledger = Ledger::default();
    let nodes = clients.sqs.len();
    let group = format!("g{w}");
    let mut fifo_next = 0u64;
    let mut fifo_publish_next = 0u64;
    for op in 0..MAX_OPS_PER_WORKER {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        ledger.ops += 1;
        // Round-robin over the nodes: standbys forward to the writer.
        let node = (w + op) % nodes;
        let kind = rng.below(10);
        let began = Instant::now();
        match kind {
            0..=2 => {
                let body = format!("std w{w} {op}");
                let result = clients.sqs[node]
                    .send_message()
                    .queue_url(&targets.work)
                    .message_body(&body)
                    .send()
                    .await;
                match result {
                    Ok(out) => match out.message_id() {
                        Some(id) => ledger.sent.push((id.to_string(), body)),
                        None => ledger.errors.push(format!("SendMessage without a MessageId: {out:?}")),
                    },
                    Err(e) => {
                        ledger.send_unknown += 1;
                        ledger.note("SendMessage", &e);
                    }
                }
            }
            3 | 4 => {
                let max = 1 + rng.below(10) as i32;
                receive_and_delete(&clients.sqs[node], &targets.work, max, &mut ledger).await;
            }
            5 | 6 => {
                let k = fifo_next;
                fifo_next += 1;
                let dedup = format!("w{w}-{k}");
                let body = format!("fifo w{w} {k}");
                // Like a real producer: an unknown send is retried with the same id.
                let mut acked = false;
                for attempt in 0..3 {
                    let result = clients.sqs[(node + attempt) % nodes]
                        .send_message()
                        .queue_url(&targets.fifo)
                        .message_body(&body)
                        .message_group_id(&group)
                        .message_deduplication_id(&dedup)
                        .send()
                        .await;
                    match result {
                        Ok(_) => {
                            acked = true;
                            break;
                        }
                        Err(e) => ledger.note("SendMessage (FIFO)", &e),
                    }
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                }
                ledger.fifo.push((k, acked));
                // A duplicate on purpose, through another node: accepted, never delivered.
                if acked && rng.below(4) == 0 {
                    ledger.fifo_resent += 1;
                    let _ = clients.sqs[(node + 1) % nodes]
                        .send_message()
                        .queue_url(&targets.fifo)
                        .message_body(&body)
                        .message_group_id(&group)
                        .message_deduplication_id(&dedup)
                        .send()
                        .await;
                }
            }
            7 | 8 => {
                let count = 1 + rng.below(10) as usize;
                let data: Vec<String> = (0..count).map(|i| format!("kin w{w} {op} {i}")).collect();
                let entries: Vec<PutRecordsRequestEntry> = data
                    .iter()
                    .map(|d| {
                        PutRecordsRequestEntry::builder()
                            .data(Blob::new(d.clone()))
                            .partition_key(format!("pk{}", rng.below(1_000)))
                            .build()
                            .expect("PutRecords entry")
                    })
                    .collect();
                let result = clients.kinesis[node]
                    .put_records()
                    .stream_name(&targets.stream)
                    .set_records(Some(entries))
                    .send()
                    .await;
                match result {
                    Ok(out) => {
                        for (entry, d) in out.records().iter().zip(&data) {
                            match (entry.shard_id(), entry.sequence_number()) {
                                (Some(shard), Some(seq)) => {
                                    ledger.records.push((shard.to_string(), seq.to_string(), d.clone()))
                                }
                                _ => ledger.records_unknown += 1,
                            }
                        }
                        ledger.records_unknown += data.len().saturating_sub(out.records().len());
                    }
                    Err(e) => {
                        ledger.records_unknown += count;
                        ledger.note("PutRecords", &e);
                    }
                }
            }
            _ if op % 2 == 1 => {
                let k = fifo_publish_next;
                fifo_publish_next += 1;
                publish_fifo(
                    w,
                    k,
                    node,
                    &clients.sns,
                    &targets.fifo_topic,
                    &stop,
                    &mut rng,
                    &mut ledger,
                )
                .await;
            }
            _ => {
                let message = format!("sns w{w} {op}");
                let result = clients.sns[node]
                    .publish()
                    .topic_arn(&targets.topic)
                    .message(&message)
                    .send()
                    .await;
                match result {
                    Ok(_) => ledger.published.push(message),
                    Err(e) => {
                        ledger.publish_unknown += 1;
                        ledger.note("Publish", &e);
                    }
                }
            }
        }
        if began.elapsed() > SLOW_OP && ledger.slow.len() < 20 {
            let what = [
                "send",
                "send",
                "send",
                "receive",
                "receive",
                "fifo",
                "fifo",
                "put",
                "put",
                "publish (or FIFO)",
            ];
            ledger.slow.push(format!(
                "{} via node {node} at {:?} took {:?}",
                what[kind as usize],
                began.duration_since(epoch),
                began.elapsed()
            ));
        }
    }
    ledger
}

/// One receive and a delete of everything it got, recording which deletes count.
async fn receive_and_delete(sqs: &Sqs, url: &str, max: i32, ledger: &mut Ledger) {
    let started = Instant::now();
    ledger.last_receive = Some(started);
    let got = match sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(max)
        .visibility_timeout(WORKER_VISIBILITY)
        .send()
        .await
    {
        Ok(got) => got,
        Err(e) => {
            ledger.receive_unknown += 1;
            ledger.note("ReceiveMessage", &e);
            return;
        }
    };
    let messages = got.messages();
    if messages.is_empty() {
        return;
    }
    ledger.received += messages.len();
    let ids: Vec<String> = messages
        .iter()
        .map(|m| m.message_id().unwrap_or_default().to_string())
        .collect();
    let entries: Vec<DeleteMessageBatchRequestEntry> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .build()
                .expect("delete entry")
        })
        .collect();
    let result = sqs
        .delete_message_batch()
        .queue_url(url)
        .set_entries(Some(entries))
        .send()
        .await;
    // After the visibility timeout another receive may hold a newer receipt handle, and a
    // delete with an older one may be acknowledged without deleting (as on AWS).
    let in_time = started.elapsed() + DELETE_MARGIN < Duration::from_secs(WORKER_VISIBILITY as u64);
    match result {
        Ok(out) => {
            let done: BTreeSet<usize> = out.successful().iter().filter_map(|s| s.id().parse().ok()).collect();
            ledger.delete_refused += out.failed().len();
            for (i, id) in ids.into_iter().enumerate() {
                if done.contains(&i) {
                    match in_time {
                        true => ledger.deleted.insert(id),
                        false => ledger.maybe_deleted.insert(id),
                    };
                }
            }
        }
        Err(e) => {
            ledger.note("DeleteMessageBatch", &e);
            ledger.maybe_deleted.extend(ids);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn repeated_writer_kills_under_mixed_load_lose_nothing_acknowledged() {
    let _serial = SERIAL.lock().await;
    let seed = seed();
    eprintln!("seed: {seed:#x} (replay with SLUICE_FAILOVER_SEED={seed:x})");
    let mut rng = Rng::new(seed);
    let nats = NatsCluster::start(3).await;
    let urls = nats.client_urls();
    let extra = ["--kinesis-transition-ms", "0"];
    let names = ["a", "b", "c"];

    let mut nodes = vec![Broker::spawn_cluster_node(&urls, names[0], &extra)];
    nodes[0]
        .wait_serving(TAKEOVER)
        .await
        .unwrap_or_else(|e| panic!("node a becomes the writer: {e}\n{}", nodes[0].log()));
    for name in &names[1..] {
        nodes.push(Broker::spawn_cluster_node(&urls, name, &extra));
    }
    for (name, node) in names.iter().zip(&nodes).skip(1) {
        wait_status(node, "/ready", 503, TAKEOVER)
            .await
            .unwrap_or_else(|e| panic!("node {name} follows as a standby: {e}\n{}", node.log()));
    }

    // Set-up on the writer.
    let endpoint = nodes[0].endpoint();
    let sqs = patient_sqs(&endpoint).await;
    let work = create_queue(&sqs, "work", &[]).await;
    let fifo = create_queue(
        &sqs,
        "ordered.fifo",
        &[
            (QueueAttributeName::FifoQueue, "true"),
            (QueueAttributeName::ContentBasedDeduplication, "false"),
        ],
    )
    .await;
    let sink = create_queue(&sqs, "sink", &[]).await;
    let kinesis = patient_kinesis(&endpoint).await;
    create_stream(&kinesis, "events", 2).await;
    let sns = patient_sns(&endpoint).await;
    let topic = sns
        .create_topic()
        .name("news")
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateTopic: {}", DisplayErrorContext(&e)))
        .topic_arn()
        .expect("TopicArn")
        .to_string();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(queue_arn("sink"))
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap_or_else(|e| panic!("Subscribe: {}", DisplayErrorContext(&e)));

    let fifo_sink = create_queue(
        &sqs,
        "ordered-sink.fifo",
        &[
            (QueueAttributeName::FifoQueue, "true"),
            (QueueAttributeName::ContentBasedDeduplication, "false"),
        ],
    )
    .await;
    let fifo_topic = sns
        .create_topic()
        .name("ordered-news.fifo")
        .attributes("FifoTopic", "true")
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateTopic (FIFO): {}", DisplayErrorContext(&e)))
        .topic_arn()
        .expect("TopicArn")
        .to_string();
    sns.subscribe()
        .topic_arn(&fifo_topic)
        .protocol("sqs")
        .endpoint(queue_arn("ordered-sink.fifo"))
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap_or_else(|e| panic!("Subscribe (FIFO): {}", DisplayErrorContext(&e)));

    let mut clients = Clients {
        sqs: Vec::new(),
        kinesis: Vec::new(),
        sns: Vec::new(),
    };
    for node in &nodes {
        clients.sqs.push(patient_sqs(&node.endpoint()).await);
        clients.kinesis.push(patient_kinesis(&node.endpoint()).await);
        clients.sns.push(patient_sns(&node.endpoint()).await);
    }
    let clients = Arc::new(clients);
    let targets = Arc::new(Targets {
        work,
        fifo,
        stream: "events".into(),
        topic,
        fifo_topic,
        fifo_sink,
    });
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let worker_seed = rng.next();
            tokio::spawn(drive(
                w,
                worker_seed,
                clients.clone(),
                targets.clone(),
                stop.clone(),
                started,
            ))
        })
        .collect();

    // The rounds: load, kill the writer, wait for another, bring the killed one back.
    let mut takeovers = Vec::new();
    let mut writer = 0;
    for round in 0..ROUNDS {
        tokio::time::sleep(Duration::from_millis(1_000 + rng.below(1_000))).await;
        let killed = Instant::now();
        nodes[writer].kill9();
        let next = match wait_writer(&nodes, Some(writer), TAKEOVER).await {
            Ok(next) => next,
            Err(e) => {
                stop.store(true, Ordering::SeqCst);
                panic!(
                    "round {round}: no node took over after {} was killed (seed {seed:#x}): {e}\n{}",
                    names[writer],
                    logs(&names, &nodes)
                );
            }
        };
        let took = killed.elapsed();
        eprintln!(
            "round {round}: killed writer {} at {:?}; {} took over in {took:?}",
            names[writer],
            killed.duration_since(started),
            names[next]
        );
        takeovers.push(took);
        nodes[writer].spawn_again();
        for (i, node) in nodes.iter_mut().enumerate() {
            if i != writer && !node.is_running() {
                stop.store(true, Ordering::SeqCst);
                panic!("round {round}: node {} exited\n{}", names[i], node.log());
            }
        }
        // The restarted node listens (as a standby) before the next round.
        if let Err(e) = wait_status(&nodes[writer], "/health", 200, TAKEOVER).await {
            stop.store(true, Ordering::SeqCst);
            panic!(
                "round {round}: node {} did not come back: {e}\n{}",
                names[writer],
                nodes[writer].log()
            );
        }
        writer = next;
    }
    // Some load on the last writer, then stop.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    stop.store(true, Ordering::SeqCst);
    let mut ledgers = Vec::new();
    for worker in workers {
        let ledger = tokio::time::timeout(Duration::from_secs(90), worker)
            .await
            .expect("a worker ends within 90 s of the stop")
            .expect("worker");
        ledgers.push(ledger);
    }
    eprintln!(
        "takeovers (SIGKILL of the writer to another node answering /ready 200): {}",
        summary(&takeovers)
    );
    eprintln!("takeover times: {takeovers:?}");

    // Receives in flight come back once their visibility timeout is over.
    let last_receive = ledgers.iter().filter_map(|l| l.last_receive).max();
    if let Some(at) = last_receive {
        let visible = at + Duration::from_secs(WORKER_VISIBILITY as u64 + 1);
        tokio::time::sleep(visible.saturating_duration_since(Instant::now())).await;
    }

    let writer = wait_writer(&nodes, None, TAKEOVER)
        .await
        .unwrap_or_else(|e| panic!("a writer at the end: {e}\n{}", logs(&names, &nodes)));
    eprintln!("checking on the final writer, node {}", names[writer]);
    let endpoint = nodes[writer].endpoint();
    let sqs = patient_sqs(&endpoint).await;
    let kinesis = patient_kinesis(&endpoint).await;
    let mut failures: Vec<String> = Vec::new();

    // Standard queue: every acknowledged send is there unless deleted; no deleted one is.
    let sent: Vec<&(String, String)> = ledgers.iter().flat_map(|l| &l.sent).collect();
    let deleted: BTreeSet<&String> = ledgers.iter().flat_map(|l| &l.deleted).collect();
    let maybe_deleted: BTreeSet<&String> = ledgers.iter().flat_map(|l| &l.maybe_deleted).collect();
    let present = receive_all(&sqs, &targets.work).await;
    let present_ids: BTreeSet<&String> = present.iter().map(|(id, _)| id).collect();
    let missing: Vec<&(String, String)> = sent
        .iter()
        .copied()
        .filter(|(id, _)| !deleted.contains(id) && !maybe_deleted.contains(id) && !present_ids.contains(id))
        .collect();
    if !missing.is_empty() {
        failures.push(format!(
            "standard queue: {} acknowledged sends are missing (first: {:?})",
            missing.len(),
            &missing[..missing.len().min(10)]
        ));
    }
    let back: Vec<&(String, String)> = present.iter().filter(|(id, _)| deleted.contains(id)).collect();
    if !back.is_empty() {
        failures.push(format!(
            "standard queue: {} messages deleted by acknowledged deletes came back (first: {:?})",
            back.len(),
            &back[..back.len().min(10)]
        ));
    }
    eprintln!(
        "standard: {} sends acknowledged, {} unknown; {} received by workers, {} receives unknown; \
         {} deletes acknowledged, {} unknown or late, {} refused; {} messages left",
        sent.len(),
        ledgers.iter().map(|l| l.send_unknown).sum::<usize>(),
        ledgers.iter().map(|l| l.received).sum::<usize>(),
        ledgers.iter().map(|l| l.receive_unknown).sum::<usize>(),
        deleted.len(),
        maybe_deleted.len(),
        ledgers.iter().map(|l| l.delete_refused).sum::<usize>(),
        present.len()
    );

    // FIFO: each deduplication id at most once, every acknowledged one exactly once, and each
    // group in send order; the same for the FIFO topic's publishes in its FIFO queue.
    let fifo_got = drain_fifo(&sqs, &targets.fifo).await;
    let sends: Vec<&[(u64, bool)]> = ledgers.iter().map(|l| l.fifo.as_slice()).collect();
    let (fifo_acked, fifo_unknown) = check_fifo("FIFO", &sends, &fifo_got, &mut failures);
    eprintln!(
        "FIFO: {fifo_acked} sends acknowledged, {fifo_unknown} unknown, {} duplicates sent on purpose; {} delivered",
        ledgers.iter().map(|l| l.fifo_resent).sum::<usize>(),
        fifo_got.len()
    );
    let topic_got = drain_fifo(&sqs, &targets.fifo_sink).await;
    let publishes: Vec<&[(u64, bool)]> = ledgers.iter().map(|l| l.fifo_published.as_slice()).collect();
    let (topic_acked, topic_unknown) = check_fifo("FIFO topic", &publishes, &topic_got, &mut failures);
    eprintln!(
        "FIFO topic: {topic_acked} publishes acknowledged, {topic_unknown} unknown, {} duplicates published on purpose; {} delivered",
        ledgers.iter().map(|l| l.fifo_republished).sum::<usize>(),
        topic_got.len()
    );

    // Kinesis: every acknowledged record in its shard at its sequence number; sequence numbers
    // strictly increasing per shard.
    let mut stored: BTreeMap<(String, String), String> = BTreeMap::new();
    for shard in shard_ids(&kinesis, &targets.stream).await {
        let read = read_shard(&kinesis, &targets.stream, &shard).await;
        let sequences: Vec<&str> = read.records.iter().map(|r| r.sequence_number()).collect();
        if let Some(i) = sequences.windows(2).position(|p| !sequence_less(p[0], p[1])) {
            failures.push(format!(
                "Kinesis {shard}: sequence numbers not increasing at record {i}: {} then {}",
                sequences[i],
                sequences[i + 1]
            ));
        }
        for r in &read.records {
            stored.insert(
                (shard.clone(), r.sequence_number().to_string()),
                String::from_utf8_lossy(r.data().as_ref()).into_owned(),
            );
        }
    }
    let records: Vec<&(String, String, String)> = ledgers.iter().flat_map(|l| &l.records).collect();
    let lost: Vec<&&(String, String, String)> = records
        .iter()
        .filter(|(shard, seq, data)| stored.get(&(shard.clone(), seq.clone())) != Some(data))
        .collect();
    if !lost.is_empty() {
        failures.push(format!(
            "Kinesis: {} acknowledged records not found at their shard and sequence number (first: {:?})",
            lost.len(),
            &lost[..lost.len().min(10)]
        ));
    }
    eprintln!(
        "Kinesis: {} records acknowledged, {} unknown; {} stored",
        records.len(),
        ledgers.iter().map(|l| l.records_unknown).sum::<usize>(),
        stored.len()
    );

    // SNS: every acknowledged publish delivered to the subscribed queue.
    let delivered: BTreeSet<String> = receive_all(&sqs, &sink).await.into_iter().map(|(_, b)| b).collect();
    let published: Vec<&String> = ledgers.iter().flat_map(|l| &l.published).collect();
    let undelivered: Vec<&&String> = published.iter().filter(|m| !delivered.contains(**m)).collect();
    if !undelivered.is_empty() {
        failures.push(format!(
            "SNS: {} acknowledged publishes not delivered to the queue (first: {:?})",
            undelivered.len(),
            &undelivered[..undelivered.len().min(10)]
        ));
    }
    eprintln!(
        "SNS: {} publishes acknowledged, {} unknown; {} delivered",
        published.len(),
        ledgers.iter().map(|l| l.publish_unknown).sum::<usize>(),
        delivered.len()
    );
    for (w, l) in ledgers.iter().enumerate() {
        eprintln!("worker {w}: {} operations; errors seen: {:?}", l.ops, l.errors);
        eprintln!("worker {w}: slow operations: {:?}", l.slow);
    }

    // The load must have been real for the checks to mean anything.
    for (what, n) in [
        ("standard sends", sent.len()),
        ("deletes", deleted.len()),
        ("FIFO sends", fifo_acked),
        ("FIFO topic publishes", topic_acked),
        ("Kinesis records", records.len()),
        ("SNS publishes", published.len()),
    ] {
        if n == 0 {
            failures.push(format!("no acknowledged {what}: the load did not run"));
        }
    }
    assert!(
        failures.is_empty(),
        "seed {seed:#x}:\n{}\n{}",
        failures.join("\n"),
        logs(&names, &nodes)
    );
}

// ---------------------------------------------------------------------------------------------
// 2. The JetStream leader of the log killed under Sluice
// ---------------------------------------------------------------------------------------------

/// Whether a node's log shows its writer role ending by the book: it lost the lease or was
/// fenced and stopped, rather than crashing.
fn stepped_down_cleanly(log: &str) -> bool {
    log.contains("no longer the writer") && !log.contains("panicked")
}

/// The leader of `stream` as some node in `alive` reports it.
async fn stream_leader(nats: &NatsCluster, alive: &[usize], stream: &str) -> Option<String> {
    for &i in alive {
        let js = async_nats::jetstream::new(nats.client(i).await);
        let Ok(Ok(handle)) = tokio::time::timeout(Duration::from_secs(3), js.get_stream(stream)).await else {
            continue;
        };
        let Ok(Ok(info)) = tokio::time::timeout(Duration::from_secs(3), handle.get_info()).await else {
            continue;
        };
        if let Some(leader) = info.cluster.and_then(|c| c.leader).filter(|l| !l.is_empty()) {
            return Some(leader);
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_jetstream_stream_leader_under_sluice_loses_nothing() {
    let _serial = SERIAL.lock().await;
    let mut nats = NatsCluster::start(3).await;
    let urls = nats.client_urls();
    let names = ["a", "b"];
    let mut a = Broker::spawn_cluster_node(&urls, "a", &[]);
    a.wait_serving(TAKEOVER)
        .await
        .unwrap_or_else(|e| panic!("node a becomes the writer: {e}\n{}", a.log()));
    let b = Broker::spawn_cluster_node(&urls, "b", &[]);
    wait_status(&b, "/ready", 503, TAKEOVER)
        .await
        .unwrap_or_else(|e| panic!("node b follows: {e}\n{}", b.log()));

    let queue = create_queue(&patient_sqs(&a.endpoint()).await, "jobs", &[]).await;
    let clients = [patient_sqs(&a.endpoint()).await, patient_sqs(&b.endpoint()).await];
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (stop, queue) = (stop.clone(), queue.clone());
        tokio::spawn(async move {
            // (when acknowledged, MessageId, body), and the unknown count.
            let mut acked: Vec<(Instant, String, String)> = Vec::new();
            let mut unknown = Vec::new();
            for i in 0..100_000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let body = format!("job {i}");
                match clients[i % 2]
                    .send_message()
                    .queue_url(&queue)
                    .message_body(&body)
                    .send()
                    .await
                {
                    Ok(out) => acked.push((Instant::now(), out.message_id().unwrap_or_default().to_string(), body)),
                    Err(e) => unknown.push(format!("{body}: {}", DisplayErrorContext(&e))),
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (acked, unknown)
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;

    let all = [0, 1, 2];
    let leader = stream_leader(&nats, &all, "SLUICE_LOG")
        .await
        .expect("the log stream has a leader");
    let lease_leader = stream_leader(&nats, &all, "KV_sluice_lease").await;
    let index = nats.index_of(&leader).expect("a node of this cluster");
    eprintln!("SLUICE_LOG leader: {leader}; lease bucket (KV_sluice_lease) leader: {lease_leader:?}");
    let killed = Instant::now();
    nats.kill(index);
    let alive: Vec<usize> = all.iter().copied().filter(|&i| i != index).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    let elected = loop {
        if let Some(l) = stream_leader(&nats, &alive, "SLUICE_LOG")
            .await
            .filter(|l| *l != leader)
        {
            break l;
        }
        assert!(Instant::now() < deadline, "no new SLUICE_LOG leader within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let elected_at = Instant::now();
    eprintln!(
        "new SLUICE_LOG leader {elected} reported {:?} after the kill",
        killed.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    nats.restart(index).await;
    eprintln!("{leader} restarted {:?} after its kill", killed.elapsed());
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::SeqCst);
    let (acked, unknown) = tokio::time::timeout(Duration::from_secs(60), sender)
        .await
        .expect("the sender ends within 60 s of the stop")
        .expect("sender");

    let before = acked.iter().filter(|(at, _, _)| *at < killed).count();
    let after = acked.len() - before;
    let after_election = acked.iter().filter(|(at, _, _)| *at > elected_at).count();
    let stall = acked
        .windows(2)
        .map(|p| p[1].0.duration_since(p[0].0))
        .max()
        .unwrap_or_default();
    let a_survived = a.is_running() && probe(&a, "/ready").await == Some(200);
    eprintln!(
        "sends: {} acknowledged ({before} before the kill, {after} after, {after_election} after the \
         election), {} unknown; longest gap between acknowledgements {stall:?}; writer a survived: \
         {a_survived}",
        acked.len(),
        unknown.len()
    );
    if !unknown.is_empty() {
        eprintln!("unknown sends: {:?}", &unknown[..unknown.len().min(5)]);
    }

    // A node that exited is started again, only so that the check can read what the log holds.
    let mut nodes = [a, b];
    let mut exits = Vec::new();
    let mut unclean = Vec::new();
    for (name, node) in names.iter().zip(nodes.iter_mut()) {
        if !node.is_running() {
            let log = node.log();
            exits.push(format!(
                "node {name} exited: {}",
                log.lines().last().unwrap_or_default()
            ));
            if !stepped_down_cleanly(&log) {
                unclean.push(name);
            }
            node.kill9();
            node.spawn_again();
        }
    }
    let writer = wait_writer(&nodes, None, TAKEOVER)
        .await
        .unwrap_or_else(|e| panic!("a writer at the end: {e}\n{exits:?}\n{}", logs(&names, &nodes)));
    let present: BTreeSet<String> = receive_all(&patient_sqs(&nodes[writer].endpoint()).await, &queue)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let missing: Vec<&(Instant, String, String)> = acked.iter().filter(|(_, id, _)| !present.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged sends missing on {} (first: {:?})\n{exits:?}\n{}",
        missing.len(),
        names[writer],
        missing.iter().map(|m| &m.2).take(10).collect::<Vec<_>>(),
        logs(&names, &nodes)
    );
    eprintln!("every acknowledged send is on {}", names[writer]);
    // Availability: JetStream elected another leader, so writes must have gone on. Usually the
    // writer survives; when the lease bucket's leader died too and its election outlasted the
    // 4 s lease, another node may take over instead, and the writer steps down cleanly (it
    // never crashes).
    assert!(
        after_election > 0 && unclean.is_empty(),
        "the Sluice cluster did not ride out the JetStream leader's kill (log leader {leader}, lease \
         bucket leader {lease_leader:?}): writer a survived: {a_survived}; {after_election} sends \
         acknowledged after the new leader was reported; {exits:?}\n{}",
        logs(&names, &nodes)
    );
    if !a_survived {
        eprintln!(
            "the writer was replaced during the JetStream election (lease bucket leader {lease_leader:?}): {exits:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 3. A standby that was down catches up and takes over
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_standby_that_was_down_catches_up_and_takes_over() {
    let _serial = SERIAL.lock().await;
    let nats = NatsCluster::start(3).await;
    let urls = nats.client_urls();
    let extra = ["--kinesis-transition-ms", "0"];
    let mut a = Broker::spawn_cluster_node(&urls, "a", &extra);
    a.wait_serving(TAKEOVER)
        .await
        .unwrap_or_else(|e| panic!("node a becomes the writer: {e}\n{}", a.log()));
    let mut b = Broker::spawn_cluster_node(&urls, "b", &extra);
    wait_status(&b, "/ready", 503, TAKEOVER)
        .await
        .unwrap_or_else(|e| panic!("node b follows: {e}\n{}", b.log()));
    b.kill9();

    let sqs = patient_sqs(&a.endpoint()).await;
    let queue = create_queue(&sqs, "backlog", &[]).await;
    let written = Instant::now();
    let mut bodies = BTreeSet::new();
    for batch in 0..200 {
        let entries: Vec<SendMessageBatchRequestEntry> = (0..10)
            .map(|i| {
                SendMessageBatchRequestEntry::builder()
                    .id(format!("m{i}"))
                    .message_body(format!("backlog {batch} {i}"))
                    .build()
                    .expect("batch entry")
            })
            .collect();
        let out = sqs
            .send_message_batch()
            .queue_url(&queue)
            .set_entries(Some(entries))
            .send()
            .await
            .unwrap_or_else(|e| panic!("SendMessageBatch {batch}: {}", DisplayErrorContext(&e)));
        assert!(out.failed().is_empty(), "batch {batch}: {:?}", out.failed());
        bodies.extend((0..10).map(|i| format!("backlog {batch} {i}")));
    }
    let kinesis = patient_kinesis(&a.endpoint()).await;
    create_stream(&kinesis, "events", 1).await;
    let mut records: Vec<(String, String)> = Vec::new();
    for batch in 0..12 {
        let data: Vec<String> = (0..25).map(|i| format!("record {batch} {i}")).collect();
        let entries: Vec<PutRecordsRequestEntry> = data
            .iter()
            .map(|d| {
                PutRecordsRequestEntry::builder()
                    .data(Blob::new(d.clone()))
                    .partition_key(d.clone())
                    .build()
                    .expect("PutRecords entry")
            })
            .collect();
        let out = kinesis
            .put_records()
            .stream_name("events")
            .set_records(Some(entries))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutRecords {batch}: {}", DisplayErrorContext(&e)));
        assert_eq!(out.failed_record_count(), Some(0), "{out:?}");
        for (entry, d) in out.records().iter().zip(data) {
            records.push((entry.sequence_number().expect("SequenceNumber").to_string(), d));
        }
    }
    eprintln!(
        "written while b was down: {} messages, {} records in {:?}",
        bodies.len(),
        records.len(),
        written.elapsed()
    );

    b.spawn_again();
    let restarted = Instant::now();
    wait_status(&b, "/ready", 503, TAKEOVER)
        .await
        .unwrap_or_else(|e| panic!("node b follows again: {e}\n{}", b.log()));
    eprintln!("b answers as a standby {:?} after its restart", restarted.elapsed());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let killed = Instant::now();
    a.kill9();
    b.wait_serving(TAKEOVER)
        .await
        .unwrap_or_else(|e| panic!("node b takes over: {e}\n{}", b.log()));
    eprintln!(
        "takeover by the standby that was down: {:?} from SIGKILL of a to b answering /ready 200 \
         ({:?} after b's restart)",
        killed.elapsed(),
        restarted.elapsed()
    );

    let on_b = patient_sqs(&b.endpoint()).await;
    let present: BTreeSet<String> = receive_all(&on_b, &queue)
        .await
        .into_iter()
        .map(|(_, body)| body)
        .collect();
    let missing: Vec<&String> = bodies.difference(&present).collect();
    assert!(
        missing.is_empty(),
        "{} of {} messages missing on b (first: {:?})\n{}",
        missing.len(),
        bodies.len(),
        &missing[..missing.len().min(10)],
        b.cluster_story("b", 40)
    );
    assert_eq!(present.len(), bodies.len(), "no other message");

    let kinesis = patient_kinesis(&b.endpoint()).await;
    let shard = shard_ids(&kinesis, "events").await.remove(0);
    let read = read_shard(&kinesis, "events", &shard).await;
    let stored: Vec<(String, String)> = read
        .records
        .iter()
        .map(|r| {
            (
                r.sequence_number().to_string(),
                String::from_utf8_lossy(r.data().as_ref()).into_owned(),
            )
        })
        .collect();
    assert_eq!(stored, records, "b holds every record at its sequence number, in order");
    let put = kinesis
        .put_record()
        .stream_name("events")
        .partition_key("after")
        .data(Blob::new("after the takeover"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutRecord on b: {}", DisplayErrorContext(&e)));
    let last = &records.last().expect("records").0;
    assert!(
        sequence_less(last, put.sequence_number()),
        "sequence numbers keep increasing across the takeover: {last} then {}",
        put.sequence_number()
    );
}
