//! Cluster mode under a network partition, end to end (the writer cut off; the same with every
//! node's NATS connection crossing the cut; a standby cut off): three hosts (Linux network
//! namespaces, see `sluice_tests::netns`), each running one NATS JetStream server and one Sluice
//! node, on a cluster network the test can cut per host and a client network it never cuts.
//! Needs root and iproute2; without them the test fails and says why (it never skips).
//!
//! The scenario: clients of all three nodes send standard and FIFO messages (with deduplication
//! ids) while the writer's host is cut off the cluster network, so its NATS server and its
//! Sluice node form a minority of one, and after, for a while; then the partition heals, the old
//! writer is restarted as a standby and catches up, and everything is received from the new
//! writer. Checked:
//! - a node of the majority becomes the writer within [`TAKEOVER_BOUND`] of the cut (the time is
//!   printed); the isolated writer's `/ready` stops answering 200 within [`READY_LOST_BOUND`],
//!   never while a node of the majority answers 200 (probed majority first, then the old
//!   writer), and it stops serving within [`STEP_DOWN_BOUND`], acknowledging no write through
//!   it once deposed;
//! - every send acknowledged by any node at any time, the isolated one included, is received
//!   at the end; FIFO groups come in send order, and no deduplicated send twice;
//! - the old writer, restarted after the heal, follows as a standby and reaches the writer's
//!   log position.
//!
//! In the second test every node talks to the writer's host's NATS server, so the standbys'
//! connections go silent at the cut and the same checks hold only if a standby notices and
//! moves to a server of the majority by itself.
//!
//! Bookkeeping: only acknowledged sends count; a call that returned an error is *unknown* (its
//! message may be there or not, but never twice where deduplication promises once).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_sqs::config::retry::RetryConfig;
use aws_sdk_sqs::config::timeout::TimeoutConfig;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName};
use aws_sdk_sqs::Client as Sqs;
use sluice_tests::{Broker, NatsCluster, Netns, ACCESS_KEY, REGION, SECRET_KEY};

/// One test at a time: the hosts of a test are named after its process (two at once would
/// collide), and two clusters under load on a 2-core machine stretch every timing bounded here.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Node names, one per host.
const NAMES: [&str; 3] = ["a", "b", "c"];
/// Bounds the cluster's start (NATS elections, three nodes racing for the lease) and the old
/// writer's restart after the heal.
const START: Duration = Duration::from_secs(30);
/// Bounds the takeover after the cut: the lease expires 4 s after the isolated writer's last
/// renewal; if the JetStream leader of the lease bucket or of the log was on the cut host, the
/// majority's servers elect another once 4 to 9 s pass without its heartbeats (NATS's Raft
/// election timeout), in parallel; the standby tries every 0.5 s, then catches up and appends
/// its epoch marker in well under a second. So at most about 10 s; 20 leaves room for a loaded
/// 2-core machine. Measured: see docs/cluster.md.
const TAKEOVER_BOUND: Duration = Duration::from_secs(20);
/// Bounds how long the isolated writer serves: its first append after the cut gives up after
/// 10 s (the append timeout), the lease loop notices within its 1 s period, possibly after a
/// renewal request that waits out its 5 s timeout, and the listeners drain. 25 s leaves room.
const STEP_DOWN_BOUND: Duration = Duration::from_secs(25);
/// Bounds how long the isolated writer's `/ready` stays 200: it turns 503 once an append has
/// waited 2 s, or its lease went 4 s (the TTL) without a renewal, whichever comes first; the
/// probes themselves take up to 0.5 s each.
const READY_LOST_BOUND: Duration = Duration::from_secs(8);
/// Load before the cut.
const LOAD_BEFORE: Duration = Duration::from_secs(3);
/// Load after the cut, at least (it also goes on 3 s past the takeover).
const LOAD_DURING: Duration = Duration::from_secs(20);
/// One worker's pause between operations: the load stays bounded on a 2-core machine.
const PACE: Duration = Duration::from_millis(20);
/// Upper bound of any worker's operations (the stop flag ends them long before).
const MAX_OPS: usize = 5_000;
/// SDK attempts per call, with backoff capped at 2 s, as in `cluster_failover.rs`.
const ATTEMPTS: u32 = 10;
/// One attempt's bound: a request forwarded to the writer just before the cut never gets an
/// answer (the standby's connection to it hangs), so the SDK must give up on it and retry.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// One call's bound, retries included.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the workers get to finish their last call after the stop.
const WIND_DOWN: Duration = Duration::from_secs(30);
/// Bounds a node's catch-up after the heal (NATS routes that stalled during the cut resume on
/// TCP's retransmission backoff: up to 25 s measured when the cut host had led a stream).
const CATCH_UP: Duration = Duration::from_secs(60);
/// Bounds every read-everything loop of the checks.
const MAX_RECEIVES: usize = 2_000;
/// Tries per call while reading back, each through the next node (see [`Readers`]).
const READ_TRIES: usize = 6;
/// The visibility timeout of the reads: short enough that a batch whose answer was lost comes
/// back within the reads, long enough that none comes back while they go well.
const READ_VISIBILITY: i32 = 20;
/// Bounds the reads of one queue (a lost batch needs [`READ_VISIBILITY`] to come back).
const READ_DEADLINE: Duration = Duration::from_secs(90);

// ---------------------------------------------------------------------------------------------
// Clients and probes
// ---------------------------------------------------------------------------------------------

/// An SQS client for `endpoint` that rides out a takeover: the standard retries, with a bound
/// per attempt (see [`ATTEMPT_TIMEOUT`]).
async fn patient_sqs(endpoint: &str) -> Sqs {
    let retry = RetryConfig::standard()
        .with_max_attempts(ATTEMPTS)
        .with_max_backoff(Duration::from_secs(2));
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "sluice-tests"))
        .endpoint_url(endpoint)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(retry)
        .timeout_config(timeouts)
        .load()
        .await;
    Sqs::new(&config)
}

/// What one probe of `path` on `node` found.
#[derive(Debug, Clone, PartialEq)]
enum Probe {
    Status(u16),
    /// Nothing listens (the node exited, or its listeners closed while it drains).
    Refused,
    /// Another failure (a timeout): says nothing either way.
    NoAnswer,
}

async fn probe(node: &Broker, path: &str) -> Probe {
    let url = format!("{}{path}", node.endpoint());
    match sluice_tests::raw::get_with_timeout(&url, Duration::from_millis(500)).await {
        Ok(response) => Probe::Status(response.status),
        Err(e) if e.contains("refused") => Probe::Refused,
        Err(_) => Probe::NoAnswer,
    }
}

/// Waits (at most `limit`) until some node answers `/ready` with 200: the writer.
async fn wait_writer(nodes: &[Broker], limit: Duration) -> Result<usize, String> {
    let deadline = Instant::now() + limit;
    loop {
        for (i, node) in nodes.iter().enumerate() {
            if probe(node, "/ready").await == Probe::Status(200) {
                return Ok(i);
            }
        }
        if Instant::now() > deadline {
            return Err(format!("no node answered /ready with 200 within {limit:?}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (at most `limit`) until `node` answers `path` with `status`.
async fn wait_status(node: &Broker, path: &str, status: u16, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        let last = probe(node, path).await;
        if last == Probe::Status(status) {
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

/// The node's `sluice_cluster_log_position` (the last log entry it applied), if it answers.
async fn log_position(node: &Broker) -> Option<u64> {
    node.metric("sluice_cluster_log_position").await
}

fn logs(nodes: &[Broker]) -> String {
    NAMES.iter().zip(nodes).map(|(n, b)| b.cluster_story(n, 60)).collect()
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

// ---------------------------------------------------------------------------------------------
// The load and its ledger
// ---------------------------------------------------------------------------------------------

/// What one worker saw acknowledged (and how much was unknown).
#[derive(Default)]
struct Ledger {
    /// Acknowledged standard sends: (body, index of the node that answered, when).
    sent: Vec<(String, usize, Instant)>,
    send_unknown: usize,
    /// This worker's FIFO sends in send order: (counter, the node and time of the
    /// acknowledgement, `None` when unknown).
    fifo: Vec<(u64, Option<(usize, Instant)>)>,
    /// Duplicates sent on purpose after an acknowledgement (same deduplication id).
    fifo_resent: usize,
    /// A few of the errors, for the report.
    errors: Vec<String>,
}

impl Ledger {
    fn note<E: std::error::Error>(&mut self, what: &str, node: usize, e: &E) {
        if self.errors.len() < 4 {
            let text = format!("{what} via {}: {}", NAMES[node], DisplayErrorContext(e));
            self.errors.push(text.chars().take(240).collect());
        }
    }
}

/// What the workers send to.
struct Targets {
    standard: String,
    fifo: String,
}

/// Worker `w`: standard sends through node `w`, and FIFO sends of its own group `g<w>` through
/// node `w`, retried (same deduplication id) through the next nodes when unknown, until `stop`.
async fn drive(w: usize, clients: Arc<Vec<Sqs>>, targets: Arc<Targets>, stop: Arc<AtomicBool>) -> Ledger {
    let mut ledger = Ledger::default();
    let nodes = clients.len();
    let mut next_fifo = 0u64;
    for op in 0..MAX_OPS {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if op.is_multiple_of(2) {
            send_standard(w, &clients[w], &targets.standard, op, &mut ledger).await;
        } else {
            let k = next_fifo;
            next_fifo += 1;
            let acked = send_fifo(w, &clients, &targets.fifo, k, &stop, &mut ledger).await;
            ledger.fifo.push((k, acked));
            // A duplicate on purpose through another node, now and then: accepted, never
            // delivered.
            if acked.is_some() && k.is_multiple_of(4) {
                ledger.fifo_resent += 1;
                let _ = fifo_request(&clients[(w + 1) % nodes], &targets.fifo, w, k)
                    .send()
                    .await;
            }
        }
        tokio::time::sleep(PACE).await;
    }
    ledger
}

async fn send_standard(w: usize, sqs: &Sqs, url: &str, op: usize, ledger: &mut Ledger) {
    let body = format!("std w{w} {op}");
    match sqs.send_message().queue_url(url).message_body(&body).send().await {
        Ok(_) => ledger.sent.push((body, w, Instant::now())),
        Err(e) => {
            ledger.send_unknown += 1;
            ledger.note("SendMessage", w, &e);
        }
    }
}

fn fifo_request(
    sqs: &Sqs,
    url: &str,
    w: usize,
    k: u64,
) -> aws_sdk_sqs::operation::send_message::builders::SendMessageFluentBuilder {
    sqs.send_message()
        .queue_url(url)
        .message_body(format!("fifo w{w} {k}"))
        .message_group_id(format!("g{w}"))
        .message_deduplication_id(format!("w{w}-{k}"))
}

/// Sends FIFO message `k` of worker `w`, like a real producer: an unknown send is retried with
/// the same deduplication id (through the next node), at most 3 times.
async fn send_fifo(
    w: usize,
    clients: &[Sqs],
    url: &str,
    k: u64,
    stop: &AtomicBool,
    ledger: &mut Ledger,
) -> Option<(usize, Instant)> {
    for attempt in 0..3 {
        let node = (w + attempt) % clients.len();
        match fifo_request(&clients[node], url, w, k).send().await {
            Ok(_) => return Some((node, Instant::now())),
            Err(e) => ledger.note("SendMessage (FIFO)", node, &e),
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Reading everything back
// ---------------------------------------------------------------------------------------------

/// Reads through every node in turn: a call that fails (the node it went to exited, or a
/// takeover outlasted the SDK's retries) is made again through the next node. After the heal
/// the NATS servers may stall for several seconds while the healed one rejoins (its Raft terms
/// are higher), which can cost the writer its lease, so the writer at the start of the reads
/// may not be the writer at their end.
struct Readers {
    clients: Vec<Sqs>,
    next: usize,
}

impl Readers {
    /// One call through the current node, then through the others, [`READ_TRIES`] tries in all.
    async fn call<T, E, F, Fut>(&mut self, what: &str, f: F) -> Result<T, String>
    where
        E: std::error::Error,
        F: Fn(Sqs) -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let mut errors = Vec::new();
        for _ in 0..READ_TRIES {
            match f(self.clients[self.next].clone()).await {
                Ok(answer) => return Ok(answer),
                Err(e) => {
                    errors.push(format!("via {}: {}", NAMES[self.next], DisplayErrorContext(&e)));
                    self.next = (self.next + 1) % self.clients.len();
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        Err(format!("{what} failed {READ_TRIES} times: {errors:?}"))
    }
}

/// Every body of the standard queue `url` it can find: receives (with a visibility timeout
/// of [`READ_VISIBILITY`]) until every body in `expected` was seen and a long poll came back
/// empty, or [`READ_DEADLINE`] passed. A receive whose answer was lost in a takeover hides its
/// messages for the visibility timeout only: they come back, and the set keeps each body once.
async fn receive_all(readers: &mut Readers, url: &str, expected: &BTreeSet<&str>) -> Result<BTreeSet<String>, String> {
    let mut present = BTreeSet::new();
    let deadline = Instant::now() + READ_DEADLINE;
    for _ in 0..MAX_RECEIVES {
        let got = readers
            .call("ReceiveMessage", |sqs| async move {
                sqs.receive_message()
                    .queue_url(url)
                    .max_number_of_messages(10)
                    .visibility_timeout(READ_VISIBILITY)
                    .wait_time_seconds(1)
                    .send()
                    .await
            })
            .await?;
        let empty = got.messages().is_empty();
        present.extend(got.messages().iter().map(|m| m.body().unwrap_or_default().to_string()));
        let complete = expected.iter().all(|body| present.contains(*body));
        if (empty && complete) || Instant::now() > deadline {
            return Ok(present);
        }
    }
    Err(format!(
        "{url}: {MAX_RECEIVES} receives and still not done ({} bodies)",
        present.len()
    ))
}

/// One message read from the FIFO queue.
struct Delivered {
    group: String,
    dedup: String,
    message_id: String,
}

/// Every message of the FIFO queue `url` in receive order, each batch deleted before the next
/// receive (a group with messages in flight returns no more), until every deduplication id in
/// `expected` was seen and a long poll came back empty, or [`READ_DEADLINE`] passed. A batch
/// whose receive answer was lost comes back after [`READ_VISIBILITY`] under the same message
/// ids: a redelivery, which the check tells from a duplicate send by the id.
async fn drain_fifo(readers: &mut Readers, url: &str, expected: &BTreeSet<String>) -> Result<Vec<Delivered>, String> {
    let mut out: Vec<Delivered> = Vec::new();
    let deadline = Instant::now() + READ_DEADLINE;
    for _ in 0..MAX_RECEIVES {
        let got = readers
            .call("ReceiveMessage (FIFO)", |sqs| async move {
                sqs.receive_message()
                    .queue_url(url)
                    .max_number_of_messages(10)
                    .visibility_timeout(READ_VISIBILITY)
                    .wait_time_seconds(1)
                    .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
                    .message_system_attribute_names(MessageSystemAttributeName::MessageDeduplicationId)
                    .send()
                    .await
            })
            .await?;
        let messages = got.messages();
        let attr = |m: &aws_sdk_sqs::types::Message, name: MessageSystemAttributeName| {
            m.attributes().and_then(|a| a.get(&name)).cloned().unwrap_or_default()
        };
        let mut entries = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            out.push(Delivered {
                group: attr(m, MessageSystemAttributeName::MessageGroupId),
                dedup: attr(m, MessageSystemAttributeName::MessageDeduplicationId),
                message_id: m.message_id().unwrap_or_default().to_string(),
            });
            entries.push(
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .build()
                    .map_err(|e| e.to_string())?,
            );
        }
        if !entries.is_empty() {
            // A delete whose answer was lost is made again; one that failed leaves its message
            // to come back as a redelivery, which the check allows.
            let entries = &entries;
            readers
                .call("DeleteMessageBatch", |sqs| async move {
                    sqs.delete_message_batch()
                        .queue_url(url)
                        .set_entries(Some(entries.clone()))
                        .send()
                        .await
                })
                .await?;
        }
        let complete = expected.iter().all(|id| out.iter().any(|d| &d.dedup == id));
        if (messages.is_empty() && complete) || Instant::now() > deadline {
            return Ok(out);
        }
    }
    Err(format!(
        "{url}: {MAX_RECEIVES} receives and still not done ({} messages)",
        out.len()
    ))
}

/// The standard queue's check: every acknowledged send is there.
fn check_standard(ledgers: &[Ledger], present: &BTreeSet<String>, failures: &mut Vec<String>) {
    let missing: Vec<&String> = ledgers
        .iter()
        .flat_map(|l| &l.sent)
        .map(|(body, _, _)| body)
        .filter(|body| !present.contains(*body))
        .collect();
    if !missing.is_empty() {
        failures.push(format!(
            "standard queue: {} acknowledged sends are missing (first: {:?})",
            missing.len(),
            &missing[..missing.len().min(10)]
        ));
    }
}

/// The FIFO queue's check: each deduplication id under one message id only (a redelivery of
/// the same message is allowed, a second message for the same id is not), every acknowledged
/// one there, and each group's acknowledged sends in send order (first deliveries).
fn check_fifo(ledgers: &[Ledger], delivered: &[Delivered], failures: &mut Vec<String>) {
    let mut seen: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut by_group: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    let mut first_deliveries = BTreeSet::new();
    for d in delivered {
        seen.entry(d.dedup.as_str()).or_default().insert(d.message_id.as_str());
        if !first_deliveries.insert(d.message_id.as_str()) {
            continue;
        }
        match d.dedup.rsplit('-').next().and_then(|k| k.parse::<u64>().ok()) {
            Some(k) => by_group.entry(d.group.as_str()).or_default().push(k),
            None => failures.push(format!("FIFO: an unexpected message, group {} id {}", d.group, d.dedup)),
        }
    }
    let twice: Vec<(&&str, &BTreeSet<&str>)> = seen.iter().filter(|(_, ids)| ids.len() > 1).collect();
    if !twice.is_empty() {
        failures.push(format!(
            "FIFO: {} deduplication ids stored as more than one message (first: {:?})",
            twice.len(),
            &twice[..twice.len().min(10)]
        ));
    }
    for (w, ledger) in ledgers.iter().enumerate() {
        let acked: BTreeSet<u64> = ledger
            .fifo
            .iter()
            .filter(|(_, a)| a.is_some())
            .map(|(k, _)| *k)
            .collect();
        let missing: Vec<&u64> = acked
            .iter()
            .filter(|k| !seen.contains_key(format!("w{w}-{k}").as_str()))
            .collect();
        if !missing.is_empty() {
            failures.push(format!(
                "FIFO group g{w}: {} acknowledged sends missing: {:?}",
                missing.len(),
                &missing[..missing.len().min(20)]
            ));
        }
        // Only acknowledged sends have an order to keep: a send the producer gave up on may
        // still land later (as on AWS).
        let order: Vec<u64> = by_group
            .get(format!("g{w}").as_str())
            .map(|ks| ks.iter().copied().filter(|k| acked.contains(k)).collect())
            .unwrap_or_default();
        if let Some(i) = order.windows(2).position(|p| p[0] >= p[1]) {
            failures.push(format!(
                "FIFO group g{w}: out of send order at position {i}: {} then {} (around: {:?})",
                order[i],
                order[i + 1],
                &order[i.saturating_sub(5)..(i + 6).min(order.len())]
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Set-up, load and read-back shared by the tests
// ---------------------------------------------------------------------------------------------

/// Starts a NATS server and a Sluice node on each host of `net` (each node uses its own host's
/// server, so a node and its server end up on the same side of a cut) and waits for a writer
/// and two standbys; the NATS cluster (kept alive by the caller), the nodes and the writer.
async fn start_cluster(net: &Netns) -> (NatsCluster, Vec<Broker>, usize) {
    let hosts: Vec<_> = (0..net.len()).map(|i| net.host(i)).collect();
    let nats = NatsCluster::start_in(&hosts).await;
    let nodes: Vec<Broker> = hosts
        .iter()
        .enumerate()
        .map(|(i, host)| Broker::spawn_cluster_node_on(host, &[nats.url(i)], NAMES[i], &[]))
        .collect();
    let writer = wait_writer(&nodes, START)
        .await
        .unwrap_or_else(|e| panic!("a writer at the start: {e}\n{}", logs(&nodes)));
    for (i, node) in nodes.iter().enumerate().filter(|(i, _)| *i != writer) {
        wait_status(node, "/ready", 503, START)
            .await
            .unwrap_or_else(|e| panic!("node {} follows as a standby: {e}\n{}", NAMES[i], logs(&nodes)));
    }
    (nats, nodes, writer)
}

/// The workers of [`drive`], one per node, and what they send to.
struct Load {
    clients: Arc<Vec<Sqs>>,
    targets: Arc<Targets>,
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<Ledger>>,
}

impl Load {
    /// Creates the queues through the writer and starts one worker per node.
    async fn start(nodes: &[Broker], writer: usize) -> Load {
        let sqs = patient_sqs(&nodes[writer].endpoint()).await;
        let targets = Arc::new(Targets {
            standard: create_queue(&sqs, "orders", &[]).await,
            fifo: create_queue(
                &sqs,
                "ordered.fifo",
                &[
                    (QueueAttributeName::FifoQueue, "true"),
                    (QueueAttributeName::ContentBasedDeduplication, "false"),
                ],
            )
            .await,
        });
        let mut clients = Vec::new();
        for node in nodes {
            clients.push(patient_sqs(&node.endpoint()).await);
        }
        let clients = Arc::new(clients);
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..nodes.len())
            .map(|w| tokio::spawn(drive(w, clients.clone(), targets.clone(), stop.clone())))
            .collect();
        Load {
            clients,
            targets,
            stop,
            workers,
        }
    }

    /// Stops the workers and collects their ledgers (each within [`WIND_DOWN`]).
    async fn stop(self) -> (Arc<Vec<Sqs>>, Arc<Targets>, Vec<Ledger>) {
        self.stop.store(true, Ordering::SeqCst);
        let mut ledgers = Vec::new();
        for worker in self.workers {
            let ledger = tokio::time::timeout(WIND_DOWN, worker)
                .await
                .expect("a worker ends within its wind-down after the stop")
                .expect("worker");
            ledgers.push(ledger);
        }
        (self.clients, self.targets, ledgers)
    }
}

/// Reads both queues back through every node in turn, starting with `writer`, and checks them
/// against the ledgers; how many standard messages were present and FIFO ones delivered.
async fn read_back(
    nodes: &[Broker],
    clients: Arc<Vec<Sqs>>,
    writer: usize,
    targets: &Targets,
    ledgers: &[Ledger],
    failures: &mut Vec<String>,
) -> (usize, usize) {
    let mut readers = Readers {
        clients: clients.to_vec(),
        next: writer,
    };
    let expected: BTreeSet<&str> = ledgers
        .iter()
        .flat_map(|l| l.sent.iter().map(|(body, _, _)| body.as_str()))
        .collect();
    let present = receive_all(&mut readers, &targets.standard, &expected)
        .await
        .unwrap_or_else(|e| panic!("reading the standard queue back: {e}\n{}", logs(nodes)));
    check_standard(ledgers, &present, failures);
    let expected: BTreeSet<String> = ledgers
        .iter()
        .enumerate()
        .flat_map(|(w, l)| {
            l.fifo
                .iter()
                .filter(|(_, a)| a.is_some())
                .map(move |(k, _)| format!("w{w}-{k}"))
        })
        .collect();
    let delivered = drain_fifo(&mut readers, &targets.fifo, &expected)
        .await
        .unwrap_or_else(|e| panic!("reading the FIFO queue back: {e}\n{}", logs(nodes)));
    check_fifo(ledgers, &delivered, failures);
    (present.len(), delivered.len())
}

// ---------------------------------------------------------------------------------------------
// The partition
// ---------------------------------------------------------------------------------------------

/// What happened after the cut.
struct Partition {
    /// The majority node that took over, and when (since the cut).
    new_writer: usize,
    takeover: Duration,
    /// When the isolated writer's `/ready` last answered 200 (since the cut).
    ready_lost: Duration,
    /// When the isolated writer stopped serving (since the cut), and how.
    step_down: Duration,
    how: String,
}

/// Watches every node after `old`'s host was cut at `cut`: which majority node answers
/// `/ready` 200 first, when `old`'s `/ready` stops answering 200, and when `old` exits or stops
/// answering at all. Each round probes the majority before `old`, so a 200 from `old` after a
/// majority node answered 200 means two writers called themselves ready at once.
async fn watch_partition(nodes: &mut [Broker], old: usize, cut: Instant) -> Result<Partition, String> {
    let deadline = cut + TAKEOVER_BOUND.max(STEP_DOWN_BOUND);
    let mut takeover: Option<(usize, Duration)> = None;
    let mut ready_lost: Option<Duration> = None;
    let mut last_ready = Duration::ZERO;
    let mut step_down: Option<(Duration, String)> = None;
    loop {
        if takeover.is_none() {
            for (i, node) in nodes.iter().enumerate() {
                if i != old && probe(node, "/ready").await == Probe::Status(200) {
                    takeover = Some((i, cut.elapsed()));
                    break;
                }
            }
        }
        if step_down.is_none() {
            let (serving, how) = old_writer_state(&mut nodes[old]).await;
            match serving {
                OldWriter::Ready => {
                    if let Some((new, _)) = takeover {
                        return Err(format!(
                            "{:?} after the cut node {} answered /ready 200 after node {} did: two writers ready",
                            cut.elapsed(),
                            NAMES[old],
                            NAMES[new]
                        ));
                    }
                    last_ready = cut.elapsed();
                }
                OldWriter::Unknown => {}
                OldWriter::NotReady => {
                    ready_lost.get_or_insert(last_ready);
                }
                OldWriter::Gone => {
                    ready_lost.get_or_insert(last_ready);
                    step_down = Some((cut.elapsed(), how));
                }
            }
        }
        if let (Some((new_writer, takeover)), Some(ready_lost), Some((step_down, how))) =
            (&takeover, &ready_lost, &step_down)
        {
            return Ok(Partition {
                new_writer: *new_writer,
                takeover: *takeover,
                ready_lost: *ready_lost,
                step_down: *step_down,
                how: how.clone(),
            });
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{:?} after the cut: takeover {takeover:?}, old writer's /ready lost {ready_lost:?}, its \
                 step-down {step_down:?}",
                cut.elapsed()
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a probe of the isolated writer found.
enum OldWriter {
    /// `/ready` answered 200.
    Ready,
    /// `/ready` answered something else: still running, no longer claiming to write.
    NotReady,
    /// It exited, or its listener closed (draining before exit).
    Gone,
    /// No answer in time: says nothing either way.
    Unknown,
}

async fn old_writer_state(node: &mut Broker) -> (OldWriter, String) {
    if let Some(status) = node.wait_exit(Duration::ZERO).await {
        return (OldWriter::Gone, format!("exited ({status})"));
    }
    match probe(node, "/ready").await {
        Probe::Status(200) => (OldWriter::Ready, String::new()),
        Probe::Status(_) => (OldWriter::NotReady, String::new()),
        Probe::Refused => (OldWriter::Gone, "its listener closed (draining before exit)".into()),
        Probe::NoAnswer => (OldWriter::Unknown, String::new()),
    }
}

/// Waits (at most [`CATCH_UP`]) until node `index` applied the log as far as every other node
/// that answers: the writer is the furthest, whichever node writes by then (the NATS stall of
/// a heal can move the lease again); how long that took.
async fn wait_caught_up(nodes: &[Broker], index: usize) -> Result<(u64, Duration), String> {
    let started = Instant::now();
    let deadline = started + CATCH_UP;
    loop {
        let mine = log_position(&nodes[index]).await;
        let mut end = None;
        for (i, other) in nodes.iter().enumerate() {
            if i != index {
                end = end.max(log_position(other).await);
            }
        }
        if let (Some(mine), Some(end)) = (mine, end) {
            if end > 0 && mine >= end {
                return Ok((end, started.elapsed()));
            }
        }
        if Instant::now() > deadline {
            return Err(format!(
                "log positions: {mine:?} on the node, {end:?} the furthest of the others after {CATCH_UP:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_writer_cut_off_by_a_partition_is_replaced_and_nothing_acknowledged_is_lost() {
    let _serial = SERIAL.lock().await;
    let test_started = Instant::now();
    // Declared first so it is dropped last, after every process running in its namespaces.
    let net = Netns::create(NAMES.len());
    let (_nats, nodes, old) = start_cluster(&net).await;
    eprintln!(
        "cluster up in {:?}: node {} writes ({})",
        test_started.elapsed(),
        NAMES[old],
        net.host(old).namespace
    );
    cut_the_writer_off(&net, nodes, old, test_started).await;
}

/// The same cut, with every node's NATS connection going to the writer's host: the standbys'
/// connections cross the cut and go silent (no reset, the packets are dropped), so a standby
/// takes over only if it notices that on its own and moves to a server of the majority. With
/// the NATS client's default pings (a minute apart) none did for minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn standbys_whose_nats_server_is_cut_off_move_to_the_majority_and_take_over() {
    let _serial = SERIAL.lock().await;
    let test_started = Instant::now();
    let net = Netns::create(NAMES.len());
    let hosts: Vec<_> = (0..net.len()).map(|i| net.host(i)).collect();
    let nats = NatsCluster::start_in(&hosts).await;
    let first = Broker::spawn_cluster_node_on(&hosts[0], &[nats.url(0)], NAMES[0], &[]);
    let mut nodes = vec![first];
    wait_writer(&nodes, START)
        .await
        .unwrap_or_else(|e| panic!("node {} writes at the start: {e}\n{}", NAMES[0], logs(&nodes)));
    for (i, host) in hosts.iter().enumerate().skip(1) {
        nodes.push(Broker::spawn_cluster_node_on(host, &[nats.url(0)], NAMES[i], &[]));
    }
    for (i, node) in nodes.iter().enumerate().skip(1) {
        wait_status(node, "/ready", 503, START)
            .await
            .unwrap_or_else(|e| panic!("node {} follows as a standby: {e}\n{}", NAMES[i], logs(&nodes)));
    }
    eprintln!(
        "cluster up in {:?}: node {} writes, every node connected to {}'s NATS server",
        test_started.elapsed(),
        NAMES[0],
        net.host(0).namespace
    );
    cut_the_writer_off(&net, nodes, 0, test_started).await;
}

/// Cuts the writer `old`'s host off under load from clients of every node, and checks the
/// partition's story (see the module docs): a majority node takes over in time, the old writer
/// stops being ready and serving, restarted after the heal it catches up, and every
/// acknowledged send is there.
async fn cut_the_writer_off(net: &Netns, mut nodes: Vec<Broker>, old: usize, test_started: Instant) {
    let load = Load::start(&nodes, old).await;
    let (targets, stop) = (load.targets.clone(), load.stop.clone());
    tokio::time::sleep(LOAD_BEFORE).await;

    let cut = Instant::now();
    net.cut(old);
    let watched = watch_partition(&mut nodes, old, cut).await;
    let partition = match watched {
        Ok(p) => p,
        Err(e) => {
            stop.store(true, Ordering::SeqCst);
            panic!("after cutting node {}'s host off: {e}\n{}", NAMES[old], logs(&nodes));
        }
    };
    eprintln!(
        "partition: node {} cut off; its /ready last answered 200 {:?} after the cut; node {} answered /ready \
         200 after {:?} (takeover); node {} stopped serving after {:?}: {}",
        NAMES[old],
        partition.ready_lost,
        NAMES[partition.new_writer],
        partition.takeover,
        NAMES[old],
        partition.step_down,
        partition.how
    );
    assert!(
        partition.ready_lost <= READY_LOST_BOUND,
        "the isolated writer answered /ready 200 until {:?} after the cut (bound {READY_LOST_BOUND:?})\n{}",
        partition.ready_lost,
        logs(&nodes)
    );
    let stale = check_deposed(&mut nodes[old], &targets.standard).await;

    // Load on the majority after the takeover, then stop.
    let until = (cut + LOAD_DURING).max(cut + partition.takeover + Duration::from_secs(3));
    tokio::time::sleep(until.saturating_duration_since(Instant::now())).await;
    let (clients, targets, ledgers) = load.stop().await;

    let healed = Instant::now();
    net.heal(old);
    let exit = rejoin(&mut nodes[old], old).await;
    let (end, took) = wait_caught_up(&nodes, old)
        .await
        .unwrap_or_else(|e| panic!("node {} catches up after the heal: {e}\n{}", NAMES[old], logs(&nodes)));
    eprintln!(
        "healed: node {} restarted as a standby ({exit}) and reached log position {end} {:?} after the heal \
         ({took:?} of waiting for it)",
        NAMES[old],
        healed.elapsed()
    );

    let writer = wait_writer(&nodes, START)
        .await
        .unwrap_or_else(|e| panic!("a writer at the end: {e}\n{}", logs(&nodes)));
    let mut failures = Vec::new();
    let (present, delivered) = read_back(&nodes, clients, writer, &targets, &ledgers, &mut failures).await;
    report(&ledgers, old, cut, &partition, present, delivered, &stale);
    check_load_was_real(&ledgers, old, cut, &partition, &mut failures);
    eprintln!("whole test: {:?}", test_started.elapsed());
    // What each node went through, for the record (shown with --nocapture).
    eprintln!("{}", logs(&nodes));
    assert!(failures.is_empty(), "{}\n{}", failures.join("\n"), logs(&nodes));
}

/// After its step-down, the deposed writer takes no write: one send without retries through it
/// must fail (it exited, or refuses). What happened, for the report.
async fn check_deposed(node: &mut Broker, queue_url: &str) -> String {
    if node.is_running() {
        let stale = sluice_tests::sqs_client_no_retry(&node.endpoint())
            .await
            .send_message()
            .queue_url(queue_url)
            .message_body("sent to the deposed writer")
            .send()
            .await;
        assert!(stale.is_err(), "the deposed writer acknowledged a write: {stale:?}");
        let status = node
            .wait_exit(STEP_DOWN_BOUND)
            .await
            .unwrap_or_else(|| panic!("the deposed writer did not exit\n{}", node.log()));
        assert!(!status.success(), "{status}");
    }
    assert!(
        node.log().contains("no longer the writer"),
        "the deposed writer says why it stopped:\n{}",
        node.log()
    );
    node.log()
        .lines()
        .find(|l| l.contains("no longer the writer"))
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect()
}

/// Brings the deposed writer back after the heal as a standby; what its first run ended with.
async fn rejoin(node: &mut Broker, index: usize) -> String {
    let exit = node.wait_exit(Duration::ZERO).await;
    node.kill9();
    node.spawn_again();
    wait_status(node, "/ready", 503, CATCH_UP)
        .await
        .unwrap_or_else(|e| panic!("node {} back as a standby: {e}\n{}", NAMES[index], node.log()));
    match exit {
        Some(status) => format!("its first run had exited with {status}"),
        None => "its first run had exited earlier".into(),
    }
}

/// Prints what the clients saw, per node and around the cut.
fn report(
    ledgers: &[Ledger],
    old: usize,
    cut: Instant,
    partition: &Partition,
    standard_present: usize,
    fifo_delivered: usize,
    stale: &str,
) {
    let sent: Vec<&(String, usize, Instant)> = ledgers.iter().flat_map(|l| &l.sent).collect();
    let by_old_after_cut = sent.iter().filter(|(_, n, at)| *n == old && *at > cut).count();
    let fifo_acked: Vec<(usize, Instant)> = ledgers.iter().flat_map(|l| &l.fifo).filter_map(|(_, a)| *a).collect();
    let fifo_by_old_after_cut = fifo_acked.iter().filter(|(n, at)| *n == old && *at > cut).count();
    let takeover_at = cut + partition.takeover;
    let gap_end = sent
        .iter()
        .map(|(_, _, at)| *at)
        .chain(fifo_acked.iter().map(|(_, at)| *at))
        .filter(|at| *at > cut)
        .min();
    eprintln!(
        "standard: {} sends acknowledged ({} after the cut, {} of them by the isolated node {}), {} unknown; \
         {standard_present} received at the end",
        sent.len(),
        sent.iter().filter(|(_, _, at)| *at > cut).count(),
        by_old_after_cut,
        NAMES[old],
        ledgers.iter().map(|l| l.send_unknown).sum::<usize>()
    );
    eprintln!(
        "FIFO: {} sends acknowledged ({} after the takeover, {} by the isolated node after the cut), {} unknown, \
         {} duplicates sent on purpose; {fifo_delivered} delivered",
        fifo_acked.len(),
        fifo_acked.iter().filter(|(_, at)| *at > takeover_at).count(),
        fifo_by_old_after_cut,
        ledgers
            .iter()
            .flat_map(|l| &l.fifo)
            .filter(|(_, a)| a.is_none())
            .count(),
        ledgers.iter().map(|l| l.fifo_resent).sum::<usize>()
    );
    eprintln!(
        "first acknowledgement after the cut: {:?} after it",
        gap_end.map(|at| at.duration_since(cut))
    );
    eprintln!("the deposed writer: {stale}");
    for (w, l) in ledgers.iter().enumerate() {
        eprintln!("worker {w} (node {}): errors seen: {:?}", NAMES[w], l.errors);
    }
}

/// The checks mean something only if the load ran before the cut and the majority served it
/// after the takeover.
fn check_load_was_real(ledgers: &[Ledger], old: usize, cut: Instant, p: &Partition, failures: &mut Vec<String>) {
    let takeover_at = cut + p.takeover;
    let acks: Vec<(usize, Instant)> = ledgers
        .iter()
        .flat_map(|l| l.sent.iter().map(|(_, n, at)| (*n, *at)))
        .chain(ledgers.iter().flat_map(|l| l.fifo.iter().filter_map(|(_, a)| *a)))
        .collect();
    if !acks.iter().any(|(_, at)| *at < cut) {
        failures.push("no acknowledged send before the cut: the load did not run".into());
    }
    if !acks.iter().any(|(n, at)| *n != old && *at > takeover_at) {
        failures.push("no send acknowledged by the majority after the takeover".into());
    }
}

// ---------------------------------------------------------------------------------------------
// A standby cut off
// ---------------------------------------------------------------------------------------------

/// How long a standby stays cut off, under load.
const STANDBY_CUT: Duration = Duration::from_secs(12);

/// What the nodes did while a standby was cut off.
struct StandbyCut {
    /// The longest stretch in which no node of the majority answered `/ready` 200 (a JetStream
    /// leader on the cut host makes the majority elect another; that can cost the writer its
    /// lease, and the other majority node takes over).
    longest_without_writer: Duration,
    /// Majority nodes seen answering `/ready` 200.
    writers: BTreeSet<usize>,
}

/// Probes every node until `until`: the cut standby `cut_off` must never answer `/ready` 200
/// (it can reach neither the lease nor the log), and the majority's writer is tracked.
async fn watch_standby_cut(nodes: &[Broker], cut_off: usize, until: Instant) -> Result<StandbyCut, String> {
    let mut seen = StandbyCut {
        longest_without_writer: Duration::ZERO,
        writers: BTreeSet::new(),
    };
    let mut without_since: Option<Instant> = None;
    while Instant::now() < until {
        if probe(&nodes[cut_off], "/ready").await == Probe::Status(200) {
            return Err(format!("the cut-off standby {} answered /ready 200", NAMES[cut_off]));
        }
        let mut writer = None;
        for (i, node) in nodes.iter().enumerate() {
            if i != cut_off && probe(node, "/ready").await == Probe::Status(200) {
                writer = Some(i);
                break;
            }
        }
        match writer {
            Some(i) => {
                seen.writers.insert(i);
                if let Some(since) = without_since.take() {
                    seen.longest_without_writer = seen.longest_without_writer.max(since.elapsed());
                }
            }
            None => {
                without_since.get_or_insert_with(Instant::now);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if let Some(since) = without_since {
        seen.longest_without_writer = seen.longest_without_writer.max(since.elapsed());
    }
    Ok(seen)
}

/// A standby's host cut off the cluster network under load: the standby never claims to
/// write, the majority keeps (or elects) a writer and goes on acknowledging, nothing
/// acknowledged is lost, and once the partition heals the same standby process catches up with
/// the log without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_standby_cut_off_stays_a_standby_and_catches_up_when_the_partition_heals() {
    let _serial = SERIAL.lock().await;
    let test_started = Instant::now();
    // Declared first so it is dropped last, after every process running in its namespaces.
    let net = Netns::create(NAMES.len());
    let (_nats, mut nodes, writer) = start_cluster(&net).await;
    let cut_off = (writer + 1) % NAMES.len();
    eprintln!(
        "cluster up in {:?}: node {} writes; node {} will be cut off",
        test_started.elapsed(),
        NAMES[writer],
        NAMES[cut_off]
    );

    let load = Load::start(&nodes, writer).await;
    let stop = load.stop.clone();
    tokio::time::sleep(LOAD_BEFORE).await;

    let cut = Instant::now();
    net.cut(cut_off);
    let watched = watch_standby_cut(&nodes, cut_off, cut + STANDBY_CUT).await;
    let seen = match watched {
        Ok(seen) => seen,
        Err(e) => {
            stop.store(true, Ordering::SeqCst);
            panic!("while node {} was cut off: {e}\n{}", NAMES[cut_off], logs(&nodes));
        }
    };
    // The majority has a writer by the end of the cut, or soon after (an election of a
    // JetStream leader that was on the cut host, then a takeover, can straddle the end).
    let majority: Vec<usize> = (0..nodes.len()).filter(|i| *i != cut_off).collect();
    let mut majority_writer = None;
    let deadline = Instant::now() + TAKEOVER_BOUND;
    while majority_writer.is_none() && Instant::now() < deadline {
        for i in &majority {
            if probe(&nodes[*i], "/ready").await == Probe::Status(200) {
                majority_writer = Some(*i);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some(majority_writer) = majority_writer else {
        stop.store(true, Ordering::SeqCst);
        panic!("no node of the majority writes after the cut\n{}", logs(&nodes));
    };
    let (clients, targets, ledgers) = load.stop().await;

    let healed = Instant::now();
    net.heal(cut_off);
    assert!(
        nodes[cut_off].is_running(),
        "the cut-off standby kept running through the partition\n{}",
        logs(&nodes)
    );
    let (end, took) = wait_caught_up(&nodes, cut_off).await.unwrap_or_else(|e| {
        panic!(
            "node {} catches up after the heal: {e}\n{}",
            NAMES[cut_off],
            logs(&nodes)
        )
    });
    eprintln!(
        "cut: node {} off for {STANDBY_CUT:?}; writers seen on the majority {:?}, longest stretch without one {:?}; \
         node {} writes after the cut; healed: the same standby process reached log position {end} {:?} after the \
         heal ({took:?} of waiting for it)",
        NAMES[cut_off],
        seen.writers.iter().map(|i| NAMES[*i]).collect::<Vec<_>>(),
        seen.longest_without_writer,
        NAMES[majority_writer],
        healed.elapsed()
    );
    wait_status(&nodes[cut_off], "/ready", 503, CATCH_UP)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "node {} is a standby after the heal: {e}\n{}",
                NAMES[cut_off],
                logs(&nodes)
            )
        });

    let writer = wait_writer(&nodes, START)
        .await
        .unwrap_or_else(|e| panic!("a writer at the end: {e}\n{}", logs(&nodes)));
    let mut failures = Vec::new();
    let (present, delivered) = read_back(&nodes, clients, writer, &targets, &ledgers, &mut failures).await;
    // The checks mean something only if the majority acknowledged sends after the cut (an
    // election of a JetStream leader that was on the cut host stalls writes for 4 to 9 s).
    let during: usize = ledgers
        .iter()
        .flat_map(|l| l.sent.iter().map(|(_, n, at)| (*n, *at)))
        .chain(ledgers.iter().flat_map(|l| l.fifo.iter().filter_map(|(_, a)| *a)))
        .filter(|(n, at)| *n != cut_off && *at > cut)
        .count();
    if during == 0 {
        failures.push("no send acknowledged by the majority after the standby was cut off".into());
    }
    eprintln!(
        "sends acknowledged: {} standard, {} FIFO ({during} by the majority after the cut); {} standard received, \
         {} FIFO delivered",
        ledgers.iter().map(|l| l.sent.len()).sum::<usize>(),
        ledgers
            .iter()
            .map(|l| l.fifo.iter().filter(|(_, a)| a.is_some()).count())
            .sum::<usize>(),
        present,
        delivered
    );
    for (w, l) in ledgers.iter().enumerate() {
        eprintln!("worker {w} (node {}): errors seen: {:?}", NAMES[w], l.errors);
    }
    eprintln!("whole test: {:?}", test_started.elapsed());
    assert!(failures.is_empty(), "{}\n{}", failures.join("\n"), logs(&nodes));
}
