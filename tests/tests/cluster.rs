//! Cluster mode on a real 3-node JetStream cluster: two `sluice` nodes, one writer and one
//! standby.
//! - The writer is killed with SIGKILL; the standby takes over with every write the killed node
//!   acknowledged, and no acknowledged delete comes back; then the first node, restarted,
//!   follows as a standby and takes over in turn with the second node's writes.
//! - The writer is frozen (SIGSTOP) until the standby took over; woken up, it gets no write
//!   through and exits.
//!
//! - A client that knows only the standby works through it (its calls are forwarded) and
//!   through the takeover, on its SDK's retries.
//! - Both nodes start with the same `--init` file; each applies it when it takes over, and the
//!   declared queue exists once, with its settings and its messages.
//! - Each node's `/metrics` carries its own cluster series: role, log position, end and lag,
//!   appends, takeover time.
//! - Event-source mappings (SQS and Kinesis, fed to `sluice handlers`) carry on after the
//!   writer is killed mid-batch: the new writer binds the functions' Runtime API ports and
//!   resumes from the replicated checkpoints.
//! - A node's own NATS server goes silent (frozen, its connections open): a standby moves to
//!   another server and takes over from a killed writer; a writer's clients go on within
//!   seconds, through it or through the standby that took over, and lose nothing.
//!
//! Covered elsewhere (docs/cluster.md): kills under concurrent load from many clients and the
//! JetStream leader killed under Sluice (`cluster_failover.rs`), network partitions
//! (`cluster_partition.rs`, as root).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob;
use sluice_tests::kinesis::{create_stream, kinesis_client, read_shard, shard_ids};
use sluice_tests::{Broker, NatsCluster};

/// One test at a time: each starts 3 NATS servers and 2 Sluice nodes, and two such clusters on
/// a 2-core machine stretch every timing the tests bound.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Bounds a node's start and a takeover (the lease lasts 4 s; catch-up and loading follow).
const TAKEOVER: Duration = Duration::from_secs(30);

/// Receives every visible message of `queue_url` (bounded), with a visibility timeout long
/// enough that none comes back during the test; returns bodies and receipt handles.
async fn receive_all(sqs: &aws_sdk_sqs::Client, queue_url: &str, expect: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for _ in 0..100 {
        let got = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("ReceiveMessage");
        let batch: Vec<(String, String)> = got
            .messages()
            .iter()
            .map(|m| {
                (
                    m.body().unwrap_or_default().to_string(),
                    m.receipt_handle().unwrap_or_default().to_string(),
                )
            })
            .collect();
        if batch.is_empty() && out.len() >= expect {
            return out;
        }
        out.extend(batch);
    }
    out
}

/// Creates a queue and returns its URL.
async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    sqs.create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateQueue {name}: {e:?}"))
        .queue_url()
        .expect("queue url")
        .to_string()
}

async fn send_bodies(sqs: &aws_sdk_sqs::Client, queue_url: &str, bodies: &[String]) {
    for body in bodies {
        sqs.send_message()
            .queue_url(queue_url)
            .message_body(body)
            .send()
            .await
            .expect("SendMessage acknowledged");
    }
}

/// The URL of the queue the init file declares, after checking its declared attribute.
async fn declared_queue(sqs: &aws_sdk_sqs::Client) -> String {
    let url = sqs
        .get_queue_url()
        .queue_name("declared")
        .send()
        .await
        .expect("the init file's queue exists")
        .queue_url()
        .unwrap_or_default()
        .to_string();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
        .send()
        .await
        .expect("GetQueueAttributes");
    let timeout = attributes
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout))
        .cloned();
    assert_eq!(timeout.as_deref(), Some("45"), "the declared attribute");
    url
}

/// The value of an unlabelled series in a Prometheus text scrape (panics when missing).
fn series(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no series {name} in:\n{text}"))
}

/// The bodies of every visible message of `queue_url` (see [`receive_all`]).
async fn visible_bodies(sqs: &aws_sdk_sqs::Client, queue_url: &str, expect: usize) -> BTreeSet<String> {
    receive_all(sqs, queue_url, expect)
        .await
        .into_iter()
        .map(|(body, _)| body)
        .collect()
}

/// Waits (bounded, 30 s) until `node` runs as a standby: its `/ready` answers 503, not 200
/// and not "down".
async fn wait_standby(node: &Broker) {
    let mut status = 0;
    for _ in 0..300 {
        status = ready(node).await;
        if status == 503 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not a standby (/ready {status}):\n{}", node.log());
}

/// The status of a node's `/ready` (200: it writes; 503: a standby), once it answers at all.
async fn ready(node: &Broker) -> u16 {
    let url = format!("{}/ready", node.endpoint());
    for _ in 0..200 {
        if let Ok(response) = sluice_tests::raw::get_with_timeout(&url, Duration::from_millis(500)).await {
            return response.status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} never answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_takes_over_with_every_acknowledged_write_when_the_writer_is_killed() {
    let _serial = SERIAL.lock().await;
    let nats = NatsCluster::start(3).await;
    let urls = nats.client_urls();
    // Both nodes get the same --init file: each applies it when it takes over.
    let init_dir = tempfile::tempdir().expect("temp dir");
    let init = init_dir.path().join("init.yaml");
    std::fs::write(
        &init,
        "queues:\n  - name: declared\n    attributes: { VisibilityTimeout: 45 }\n",
    )
    .expect("write the init file");
    let init = init.to_string_lossy().into_owned();
    let extra = ["--kinesis-transition-ms", "0", "--init", init.as_str()];

    let mut a = Broker::spawn_cluster_node(&urls, "a", &extra);
    a.wait_serving(TAKEOVER).await.expect("node a becomes the writer");
    let mut b = Broker::spawn_cluster_node(&urls, "b", &extra);
    let declared = declared_queue(&a.sqs().await).await;
    a.sqs()
        .await
        .send_message()
        .queue_url(&declared)
        .message_body("kept across takeovers")
        .send()
        .await
        .expect("send to the declared queue");

    // Writes acknowledged by a: 60 messages, 20 of them received and deleted; 30 records.
    let sqs = a.sqs().await;
    let queue_url = create_queue(&sqs, "orders").await;
    let first: Vec<String> = (0..60).map(|i| format!("order {i}")).collect();
    send_bodies(&sqs, &queue_url, &first).await;
    let received = receive_all(&sqs, &queue_url, 20).await;
    let mut deleted = BTreeSet::new();
    for (body, handle) in received.iter().take(20) {
        sqs.delete_message()
            .queue_url(&queue_url)
            .receipt_handle(handle)
            .send()
            .await
            .expect("DeleteMessage acknowledged");
        deleted.insert(body.clone());
    }
    // The ones received but not deleted are invisible for 10 minutes on any node.
    let in_flight: BTreeSet<String> = received.iter().skip(20).map(|(b, _)| b.clone()).collect();

    let kinesis = kinesis_client(&a.endpoint()).await;
    create_stream(&kinesis, "events", 1).await;
    let mut last_sequence = String::new();
    for i in 0..30 {
        let put = kinesis
            .put_record()
            .stream_name("events")
            .partition_key(format!("k{i}"))
            .data(Blob::new(format!("event {i}")))
            .send()
            .await
            .expect("PutRecord acknowledged");
        last_sequence = put.sequence_number().to_string();
    }
    assert_eq!(ready(&b).await, 503, "a standby is not ready by itself");
    // Each node reports its own role and how far it applied the log (the standby's figures are
    // not the writer's, forwarded).
    let scrape = |node: &Broker| {
        let url = format!("{}/metrics", node.endpoint());
        async move {
            sluice_tests::raw::get_with_timeout(&url, Duration::from_secs(5))
                .await
                .expect("GET /metrics")
                .body
        }
    };
    assert!(scrape(&a).await.contains("\nsluice_cluster_writer 1\n"));
    let mut standby_metrics = scrape(&b).await;
    for _ in 0..100 {
        if !standby_metrics.contains("sluice_cluster_log_position 0\n") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        standby_metrics = scrape(&b).await;
    }
    assert!(
        standby_metrics.contains("\nsluice_cluster_writer 0\n"),
        "{standby_metrics}"
    );
    assert!(
        !standby_metrics.contains("sluice_cluster_log_position 0\n"),
        "the standby follows the log: {standby_metrics}"
    );
    // The writer counts its appends (group commit: at least one commit per entry) and its
    // takeover; the standby sees the log's end and catches up to it.
    let writer_metrics = scrape(&a).await;
    let appends = series(&writer_metrics, "sluice_cluster_appends_total");
    let commits = series(&writer_metrics, "sluice_cluster_appended_commits_total");
    assert!(appends >= 10.0 && commits >= appends, "{writer_metrics}");
    assert!(
        series(&writer_metrics, "sluice_cluster_takeover_seconds") > 0.0,
        "{writer_metrics}"
    );
    let caught_up =
        |text: &str| series(text, "sluice_cluster_log_lag") == 0.0 && series(text, "sluice_cluster_log_end") >= appends;
    for _ in 0..100 {
        standby_metrics = scrape(&b).await;
        if caught_up(&standby_metrics) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        caught_up(&standby_metrics),
        "the standby saw the writer's appends and applied them: {standby_metrics}"
    );

    // A client that only knows the standby: its calls are forwarded to a, and go on through
    // the takeover on the SDK's retries.
    let via_b = sluice_tests::sqs_client_patient(&b.endpoint(), 10).await;
    let side_queue = create_queue(&via_b, "side").await;
    let sender = {
        let (client, url) = (via_b.clone(), side_queue.clone());
        tokio::spawn(async move {
            let mut acknowledged = BTreeSet::new();
            for i in 0..100 {
                let body = format!("side {i}");
                client
                    .send_message()
                    .queue_url(&url)
                    .message_body(&body)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("send {i} through the standby failed: {e:?}"));
                acknowledged.insert(body);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            acknowledged
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;

    let killed = Instant::now();
    a.kill9();
    b.wait_serving(TAKEOVER).await.expect("node b takes over");
    eprintln!("takeover: {:?} from SIGKILL to b answering /ready", killed.elapsed());
    let acknowledged = sender.await.expect("the sender through the standby");

    let sqs = b.sqs().await;
    let visible: BTreeSet<String> = visible_bodies(&sqs, &queue_url, 40 - in_flight.len()).await;
    let expected: BTreeSet<String> = first
        .iter()
        .filter(|b| !deleted.contains(*b) && !in_flight.contains(*b))
        .cloned()
        .collect();
    assert_eq!(
        visible, expected,
        "b must hold every acknowledged send, no deleted message and no in-flight one"
    );
    // At least once: a send retried after the killed writer stored it may be there twice.
    let side: BTreeSet<String> = visible_bodies(&sqs, &side_queue, 100).await;
    assert_eq!(
        side, acknowledged,
        "every send acknowledged through the standby is kept"
    );

    let kinesis = kinesis_client(&b.endpoint()).await;
    let shard = shard_ids(&kinesis, "events").await.remove(0);
    let read = read_shard(&kinesis, "events", &shard).await;
    let data: Vec<String> = read
        .records
        .iter()
        .map(|r| String::from_utf8_lossy(r.data().as_ref()).into_owned())
        .collect();
    assert_eq!(data, (0..30).map(|i| format!("event {i}")).collect::<Vec<_>>());
    let put = kinesis
        .put_record()
        .stream_name("events")
        .partition_key("after")
        .data(Blob::new("after the takeover"))
        .send()
        .await
        .expect("PutRecord on b");
    // Sequence numbers are decimal strings longer than any integer type: compare by length,
    // then digit by digit.
    let (before, after) = (last_sequence.as_str(), put.sequence_number());
    assert!(
        (after.len(), after) > (before.len(), before),
        "sequence numbers keep increasing across the takeover: {before} then {after}"
    );

    // b applied the init file again when it took over: the queue is there, once, with its
    // message.
    // (Queue URLs echo the host the client called, so b's carries b's port.)
    let declared_on_b = declared_queue(&sqs).await;
    let path = |url: &str| url.splitn(4, '/').nth(3).map(str::to_string);
    assert_eq!(path(&declared_on_b), path(&declared), "{declared_on_b} and {declared}");
    let kept = receive_all(&sqs, &declared_on_b, 1).await;
    assert_eq!(kept.len(), 1, "the declared queue keeps its message: {kept:?}");

    // b's own writes, then a back as a standby, then b killed: a takes over with them.
    let second: Vec<String> = (0..10).map(|i| format!("late order {i}")).collect();
    send_bodies(&sqs, &queue_url, &second).await;
    a.spawn_again();
    assert_eq!(
        ready(&a).await,
        503,
        "a restarted follows as a standby while b holds the lease"
    );
    assert!(a.is_running(), "a standby keeps running:\n{}", a.log());
    b.kill9();
    a.wait_serving(TAKEOVER).await.expect("node a takes over again");
    let sqs = a.sqs().await;
    let visible: BTreeSet<String> = visible_bodies(&sqs, &queue_url, 10).await;
    assert_eq!(visible, second.into_iter().collect::<BTreeSet<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_writer_is_fenced_and_steps_down_when_it_wakes() {
    let _serial = SERIAL.lock().await;
    let nats = NatsCluster::start(3).await;
    let urls = nats.client_urls();
    let mut a = Broker::spawn_cluster_node(&urls, "a", &[]);
    a.wait_serving(TAKEOVER).await.expect("node a becomes the writer");
    let mut b = Broker::spawn_cluster_node(&urls, "b", &[]);

    let sqs = a.sqs().await;
    let queue_url = create_queue(&sqs, "jobs").await;
    let before: Vec<String> = (0..10).map(|i| format!("before {i}")).collect();
    send_bodies(&sqs, &queue_url, &before).await;

    // A frozen writer: its lease runs out and b takes over while a still believes it writes.
    a.pause();
    b.wait_serving(TAKEOVER)
        .await
        .expect("node b takes over from the paused writer");
    let on_b = b.sqs().await;
    let after: Vec<String> = (0..10).map(|i| format!("after {i}")).collect();
    send_bodies(&on_b, &queue_url, &after).await;

    // Woken up, a must not get a single write through: b's epoch marker fenced it.
    a.resume();
    let stale = sluice_tests::sqs_client_no_retry(&a.endpoint())
        .await
        .send_message()
        .queue_url(&queue_url)
        .message_body("written by the old writer")
        .send()
        .await;
    assert!(stale.is_err(), "the fenced writer acknowledged a write: {stale:?}");
    let status = a
        .wait_exit(Duration::from_secs(30))
        .await
        .expect("the old writer exits once it finds it lost the lease");
    assert!(!status.success(), "{status}");
    assert!(a.log().contains("no longer the writer"), "{}", a.log());

    let visible: BTreeSet<String> = visible_bodies(&on_b, &queue_url, 20).await;
    let expected: BTreeSet<String> = before.into_iter().chain(after).collect();
    assert_eq!(visible, expected);
}

/// Event-source mappings survive the writer: node a runs an SQS and a Kinesis mapping feeding
/// `sluice handlers`, and is killed while both handlers hold a batch; node b takes over, binds
/// the functions' Runtime API ports (their numbers are replicated), and the mappings go on from
/// the replicated checkpoints: every record is handled, the batches cut off are delivered again,
/// first deliveries keep each shard's order, and no shard starts over from its beginning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mappings_carry_on_from_their_checkpoints_after_a_takeover() {
    use aws_sdk_lambda::types::EventSourcePosition;
    use sluice_tests::lambda::{
        create_function, distinct_bodies, handled, lambda_client, wait_for_handled, Supervisor,
    };
    use std::collections::{HashMap, HashSet};

    const MESSAGES: usize = 200;
    const RECORDS: usize = 200;
    const BATCH: i32 = 10;
    const SLOW: usize = 120;

    let _serial = SERIAL.lock().await;
    let nats = NatsCluster::start(3).await;
    let urls = nats.client_urls();
    let mut a = Broker::spawn_cluster_node(&urls, "a", &[]);
    a.wait_serving(TAKEOVER)
        .await
        .unwrap_or_else(|e| panic!("node a becomes the writer: {e}\n{}", a.log()));
    let mut b = Broker::spawn_cluster_node(&urls, "b", &[]);
    assert_eq!(ready(&b).await, 503, "b follows as a standby");

    let sqs = sluice_tests::sqs_client_patient(&a.endpoint(), 10).await;
    let kinesis = kinesis_client(&a.endpoint()).await;
    let lambda = lambda_client(&a.endpoint()).await;
    let queue = sqs
        .create_queue()
        .queue_name("work")
        .attributes(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout, "6")
        .send()
        .await
        .expect("CreateQueue")
        .queue_url()
        .unwrap_or_default()
        .to_string();
    let bodies: Vec<String> = (0..MESSAGES)
        .map(|i| {
            if i == SLOW {
                format!("m-{i:04} SLEEP-3")
            } else {
                format!("m-{i:04}")
            }
        })
        .collect();
    send_bodies(&sqs, &queue, &bodies).await;
    create_stream(&kinesis, "events", 2).await;
    let mut records = Vec::new();
    for i in 0..RECORDS {
        let data = if i == SLOW {
            format!("r-{i:04} SLEEP-3")
        } else {
            format!("r-{i:04}")
        };
        kinesis
            .put_record()
            .stream_name("events")
            .partition_key(format!("k{}", i % 5))
            .data(Blob::new(data.clone()))
            .send()
            .await
            .expect("PutRecord");
        records.push(data);
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let mut runs = Vec::new();
    for (kind, source) in [
        ("sqs", "arn:aws:sqs:us-east-1:000000000000:work"),
        ("kinesis", "arn:aws:kinesis:us-east-1:000000000000:stream/events"),
    ] {
        let function = format!("on-{kind}");
        let runtime_api = create_function(&lambda, &function, "bootstrap", 5).await;
        let out = dir.path().join(format!("{kind}.jsonl"));
        let log = dir.path().join(format!("{kind}.log"));
        let supervisor = Supervisor::start(&function, &runtime_api, kind, &out, &log);
        let mut create = lambda
            .create_event_source_mapping()
            .function_name(&function)
            .event_source_arn(source)
            .batch_size(BATCH);
        if kind == "kinesis" {
            create = create.starting_position(EventSourcePosition::TrimHorizon);
        }
        create.send().await.expect("CreateEventSourceMapping");
        runs.push((kind, out, log, supervisor));
    }
    let read_log = |path: &std::path::Path| std::fs::read_to_string(path).unwrap_or_default();

    // Both handlers hold the batch with the SLEEP-3 record when the writer dies.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !runs.iter().all(|(_, _, log, _)| read_log(log).contains("sleeping 3 s")) {
        assert!(
            Instant::now() < deadline,
            "the slow batches never reached the handlers:\n{}\n{}",
            read_log(&runs[0].2),
            read_log(&runs[1].2)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before_kill: Vec<usize> = runs.iter().map(|(_, out, _, _)| handled(out).len()).collect();
    a.kill9();
    b.wait_serving(TAKEOVER)
        .await
        .unwrap_or_else(|e| panic!("node b takes over: {e}\n{}", b.cluster_story("b", 40)));

    for ((kind, out, log, _), expected) in runs.iter().zip([&bodies, &records]) {
        let expected: HashSet<String> = expected.iter().cloned().collect();
        wait_for_handled(
            out,
            Duration::from_secs(120),
            &format!("every {kind} record handled after the takeover"),
            || format!("{}\n{}", read_log(log), b.cluster_story("b", 40)),
            // The batch cut off by the kill comes again: on SQS once its visibility timeout
            // passes, on Kinesis at once (its checkpoint did not move).
            |r| {
                distinct_bodies(r).is_superset(&expected)
                    && r.iter().filter(|r| r.body.contains("SLEEP-3")).count() >= 2
            },
        )
        .await;
    }

    // Kinesis: first deliveries in sequence order per shard, and only the batches in flight
    // at the kill delivered twice (one per shard at most): the checkpoints were replicated.
    let kinesis_handled = handled(&runs[1].1);
    let mut per_shard: HashMap<String, Vec<String>> = HashMap::new();
    let mut first = HashSet::new();
    for r in &kinesis_handled {
        if first.insert(r.id.clone()) {
            per_shard
                .entry(r.shard.clone().unwrap_or_default())
                .or_default()
                .push(r.id.clone());
        }
    }
    assert_eq!(per_shard.len(), 2, "both shards were read");
    for (shard, seqs) in &per_shard {
        let mut sorted = seqs.clone();
        sorted.sort();
        assert_eq!(&sorted, seqs, "shard {shard} out of order across the takeover");
    }
    let again = kinesis_handled.len() - first.len();
    eprintln!(
        "handled before the kill: {before_kill:?}; Kinesis records delivered again: {again} of {}",
        first.len()
    );
    assert!(
        again <= 2 * BATCH as usize,
        "{again} Kinesis records delivered again (handled before the kill: {}): a shard started over",
        before_kill[1]
    );

    // SQS: the queue drains on b, nothing in flight is left behind.
    let on_b = sluice_tests::sqs_client_patient(&b.endpoint(), 10).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (visible, in_flight, _) = sluice_tests::sqs::counts(&on_b, &queue).await;
        if (visible, in_flight) == (0, 0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "queue on b after the takeover: {visible} visible, {in_flight} in flight"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(runs);
}

/// `--cluster-lease-ttl-ms`: every node of a cluster must give the same one (a node with
/// another is refused at start, with the setting named), and with a short lease the standby
/// takes over after the writer's kill with every acknowledged send (the time is printed:
/// benchmarks, not assertions, judge it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_agree_on_the_lease_and_a_short_one_still_keeps_every_acknowledged_write() {
    let _serial = SERIAL.lock().await;
    let nats = NatsCluster::start(3).await;
    let urls = nats.client_urls();
    let short = ["--cluster-lease-ttl-ms", "1500"];
    let mut a = Broker::spawn_cluster_node(&urls, "a", &short);
    a.wait_serving(TAKEOVER).await.expect("node a becomes the writer");

    let mut other = Broker::spawn_cluster_node(&urls, "c", &[]);
    let status = other.wait_exit(TAKEOVER).await;
    assert!(
        status.is_some_and(|s| !s.success()),
        "a node with the default lease joining a cluster of 1.5 s leases must stop: {status:?}\n{}",
        other.log()
    );
    assert!(
        other.log().contains("--cluster-lease-ttl-ms"),
        "the refusal names the setting:\n{}",
        other.log()
    );

    let mut b = Broker::spawn_cluster_node(&urls, "b", &short);
    let sqs = a.sqs().await;
    let queue_url = create_queue(&sqs, "short-lease").await;
    let bodies: Vec<String> = (0..20).map(|i| format!("kept {i}")).collect();
    send_bodies(&sqs, &queue_url, &bodies).await;
    // b follows the log before the kill (its /ready says 503: a standby, not down).
    wait_standby(&b).await;

    let killed = Instant::now();
    a.kill9();
    b.wait_serving(TAKEOVER).await.expect("node b takes over");
    eprintln!(
        "takeover with a 1.5 s lease: {:?} from SIGKILL to b answering /ready",
        killed.elapsed()
    );
    let kept: BTreeSet<String> = visible_bodies(&b.sqs().await, &queue_url, bodies.len()).await;
    assert_eq!(kept, bodies.into_iter().collect::<BTreeSet<_>>());
}

/// A standby whose NATS server goes silent (frozen: its sockets stay open, nothing answers, as
/// when that server's machine loses power or the network between them fails) notices within
/// seconds, moves to another server and takes over from a killed writer. Without its own
/// heartbeat the NATS client would notice only after minutes of missed pings (the crate's
/// default: every 60 s, three missed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_whose_nats_server_goes_silent_moves_to_another_and_takes_over() {
    let _serial = SERIAL.lock().await;
    let mut nats = NatsCluster::start(3).await;
    // Each node is given one server; the client learns the others from it.
    let mut a = Broker::spawn_cluster_node(&[nats.url(0)], "a", &[]);
    a.wait_serving(TAKEOVER).await.expect("node a becomes the writer");
    let b = Broker::spawn_cluster_node(&[nats.url(1)], "b", &[]);
    let sqs = a.sqs().await;
    let queue_url = create_queue(&sqs, "silent").await;
    let bodies: Vec<String> = (0..20).map(|i| format!("kept {i}")).collect();
    send_bodies(&sqs, &queue_url, &bodies).await;
    wait_standby(&b).await;

    let frozen = Instant::now();
    nats.stop(1);
    a.kill9();
    let mut b = b;
    let took_over = b.wait_serving(TAKEOVER).await;
    let elapsed = frozen.elapsed();
    nats.cont(1);
    took_over.unwrap_or_else(|e| panic!("b takes over without its server: {e}\n{}", b.log()));
    eprintln!("takeover with the standby's NATS server frozen: {elapsed:?} from the freeze to b serving");
    let kept: BTreeSet<String> = visible_bodies(&b.sqs().await, &queue_url, bodies.len()).await;
    assert_eq!(kept, bodies.into_iter().collect::<BTreeSet<_>>());
}

/// The writer's NATS server goes silent under load: the writer moves to another server and
/// keeps its lease, or loses it to the standby; either way clients of the standby go on
/// through it within seconds and every acknowledged send is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writers_nats_server_going_silent_costs_seconds_and_nothing_acknowledged() {
    let _serial = SERIAL.lock().await;
    let mut nats = NatsCluster::start(3).await;
    let mut a = Broker::spawn_cluster_node(&[nats.url(0)], "a", &[]);
    a.wait_serving(TAKEOVER).await.expect("node a becomes the writer");
    let b = Broker::spawn_cluster_node(&[nats.url(1)], "b", &[]);
    let via_b = sluice_tests::sqs_client_patient(&b.endpoint(), 10).await;
    let queue_url = create_queue(&via_b, "writer-silent").await;

    let mut acknowledged = BTreeSet::new();
    let mut unknown = BTreeSet::new();
    let mut frozen: Option<Instant> = None;
    let mut first_after: Option<Duration> = None;
    let deadline = Instant::now() + Duration::from_secs(90);
    for i in 0..60 {
        if i == 20 {
            nats.stop(0);
            frozen = Some(Instant::now());
        }
        assert!(
            Instant::now() < deadline,
            "sends took too long:\n{}\n{}",
            a.log(),
            b.log()
        );
        let body = format!("sent {i}");
        match via_b
            .send_message()
            .queue_url(&queue_url)
            .message_body(&body)
            .send()
            .await
        {
            Ok(_) => {
                if let (Some(at), None) = (frozen, first_after) {
                    first_after = Some(at.elapsed());
                }
                acknowledged.insert(body);
            }
            Err(_) => {
                unknown.insert(body);
            }
        }
    }
    nats.cont(0);
    let first_after = first_after.expect("a send acknowledged after the freeze");
    let writer = if ready(&b).await == 200 {
        "b took over"
    } else {
        "a kept writing"
    };
    eprintln!(
        "writer's NATS server frozen: first acknowledged send {first_after:?} after the freeze \
         ({writer}); {} acknowledged, {} unknown",
        acknowledged.len(),
        unknown.len()
    );
    assert!(acknowledged.len() >= 40, "{acknowledged:?}\n{}\n{}", a.log(), b.log());
    let received: BTreeSet<String> = visible_bodies(&via_b, &queue_url, acknowledged.len()).await;
    let missing: Vec<&String> = acknowledged.difference(&received).collect();
    assert!(
        missing.is_empty(),
        "acknowledged sends lost: {missing:?}\n{}\n{}",
        a.log(),
        b.log()
    );
    let foreign: Vec<&String> = received
        .difference(&acknowledged)
        .filter(|b| !unknown.contains(*b))
        .collect();
    assert!(foreign.is_empty(), "received what nobody sent: {foreign:?}");
    drop(a);
}
