//! Cluster mode's snapshots and log trimming, on a real 3-node JetStream cluster with
//! `--cluster-snapshot-every 40`:
//! - the writer snapshots its store into the `sluice_snapshots` object store and trims the log
//!   (checked on the JetStream stream itself: its first entry moves past a stopped standby's
//!   position);
//! - that standby, restarted, finds itself behind the log's start, restores the latest
//!   snapshot and follows the log from there; a new node with an empty folder does the same;
//! - after the writer is killed, the node that takes over serves every acknowledged message
//!   and none that was deleted;
//! - uploads are incremental (a later snapshot reuses table files an earlier one stored), and
//!   a manifest put back by a deposed writer is replaced by the writer's own within seconds.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use sluice_tests::{Broker, NatsCluster};

/// Bounds a node's start, a restore and a takeover.
const BOUND: Duration = Duration::from_secs(60);
/// Entries between snapshots: small, so a few hundred sends make several.
const EVERY: &str = "40";
/// Bounds the send rounds while waiting for the log to be trimmed.
const MAX_ROUNDS: usize = 40;

/// One unlabelled series of a node's `/metrics`, if the node answers.
async fn series(node: &Broker, name: &str) -> Option<u64> {
    node.metric(name).await
}

/// Waits until `node` applied the log as far as `writer`; panics with the node's log after
/// [`BOUND`].
async fn wait_caught_up(node: &Broker, writer: &Broker, what: &str) -> u64 {
    let deadline = Instant::now() + BOUND;
    loop {
        let mine = series(node, "sluice_cluster_log_position").await;
        let end = series(writer, "sluice_cluster_log_position").await;
        if let (Some(mine), Some(end)) = (mine, end) {
            if end > 0 && mine >= end {
                return mine;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{what}: log positions {mine:?} against the writer's {end:?}\n{}",
            node.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The status of `node`'s `/ready`, once it answers (bounded).
async fn ready(node: &Broker) -> u16 {
    let url = format!("{}/ready", node.endpoint());
    for _ in 0..600 {
        if let Ok(response) = sluice_tests::raw::get_with_timeout(&url, Duration::from_millis(500)).await {
            return response.status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never answered\n{}", node.log());
}

async fn send(sqs: &aws_sdk_sqs::Client, url: &str, body: &str) {
    sqs.send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("SendMessage {body}: {e:?}"));
}

/// The first entry the log stream still holds.
async fn log_first(nats: &NatsCluster) -> u64 {
    let js = async_nats::jetstream::new(nats.client(0).await);
    let mut stream = js.get_stream("SLUICE_LOG").await.expect("the log stream");
    stream.info().await.expect("stream info").state.first_sequence
}

/// The number after `name=` in a log line (0 when absent).
fn field(line: &str, name: &str) -> u64 {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
        .unwrap_or(0)
}

/// The snapshot manifest, as JSON.
async fn snapshot_manifest(bucket: &async_nats::jetstream::object_store::ObjectStore) -> serde_json::Value {
    use tokio::io::AsyncReadExt as _;
    let mut object = bucket.get("manifest").await.expect("the manifest");
    let mut bytes = Vec::new();
    object.read_to_end(&mut bytes).await.expect("read the manifest");
    serde_json::from_slice(&bytes).expect("a JSON manifest")
}

/// Every object name in the bucket.
async fn object_names(bucket: &async_nats::jetstream::object_store::ObjectStore) -> Vec<String> {
    use futures_util::StreamExt as _;
    let mut list = bucket.list().await.expect("list the bucket");
    let mut names = Vec::new();
    while let Some(info) = list.next().await {
        names.push(info.expect("object info").name);
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_behind_the_trimmed_log_restores_a_snapshot_and_takes_over_with_everything() {
    let nats = NatsCluster::start(3).await;
    let urls = nats.client_urls();
    let extra = ["--cluster-snapshot-every", EVERY];
    let mut a = Broker::spawn_cluster_node(&urls, "a", &extra);
    a.wait_serving(BOUND).await.expect("node a becomes the writer");
    let mut b = Broker::spawn_cluster_node(&urls, "b", &extra);
    assert_eq!(ready(&b).await, 503, "b follows as a standby");

    let sqs = a.sqs().await;
    let url = sqs
        .create_queue()
        .queue_name("orders")
        .send()
        .await
        .expect("CreateQueue")
        .queue_url()
        .unwrap_or_default()
        .to_string();
    let mut sent = Vec::new();
    for i in 0..10 {
        let body = format!("early {i}");
        send(&sqs, &url, &body).await;
        sent.push(body);
    }
    let b_position = wait_caught_up(&b, &a, "b before it stops").await;
    b.kill9();

    // A file of an upload cut short (a writer killed before its manifest): nothing names it.
    let snapshots = async_nats::jetstream::new(nats.client(0).await)
        .get_object_store("sluice_snapshots")
        .await
        .expect("the snapshot bucket");
    snapshots
        .put("1/000001.sst", &mut &b"an upload cut short"[..])
        .await
        .expect("put a stray snapshot file");

    // Rounds of sends (one log entry each) until the writer has trimmed the log past b.
    let mut rounds = 0;
    while log_first(&nats).await <= b_position + 1 {
        assert!(
            rounds < MAX_ROUNDS,
            "the log still starts at {} after {rounds} rounds of 20 sends (b stopped at {b_position})\n{}",
            log_first(&nats).await,
            a.log()
        );
        for i in 0..20 {
            let body = format!("round {rounds} message {i}");
            send(&sqs, &url, &body).await;
            sent.push(body);
        }
        rounds += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let first = log_first(&nats).await;
    let made = series(&a, "sluice_cluster_snapshot_position").await.unwrap_or(0);
    eprintln!(
        "after {rounds} rounds ({} sends): the log starts at {first}, b stopped at {b_position}, a's latest snapshot at {made}",
        sent.len()
    );
    assert!(
        made >= first - 1,
        "the latest snapshot ({made}) reaches the log's start ({first})"
    );

    // Uploads are incremental: a later snapshot found table files of an earlier one stored.
    let published: Vec<(u64, u64)> = a
        .log()
        .lines()
        .filter(|line| line.contains("cluster: snapshot published"))
        .map(|line| (field(line, "uploaded_bytes"), field(line, "reused_bytes")))
        .collect();
    eprintln!("snapshots as (uploaded, reused) bytes: {published:?}");
    assert!(
        published.len() >= 2 && published.iter().skip(1).any(|&(_, reused)| reused > 0),
        "snapshots as (uploaded, reused) bytes: {published:?}"
    );

    // Older snapshots' files go, the stray one with them: what is left is the manifest and
    // the files it names.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let manifest = snapshot_manifest(&snapshots).await;
        let mut names = object_names(&snapshots).await;
        names.sort();
        // A table file is stored once for the snapshots that share it, under the object the
        // manifest's `shared` names; the others under the snapshot's position.
        let object = |file: &str| match manifest["shared"][file].as_str() {
            Some(shared) => shared.to_string(),
            None => format!("{}/{file}", manifest["position"]),
        };
        let mut want: Vec<String> = manifest["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| object(f.as_str().unwrap_or_default()))
            .chain(["manifest".to_string()])
            .collect();
        want.sort();
        if names == want {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the snapshot bucket holds {names:?}, the manifest names {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // A deposed writer putting its older manifest back (the race the writer's check before
    // writing cannot close): the writer finds it and writes its own again within seconds.
    let good = snapshot_manifest(&snapshots).await["position"].as_u64().unwrap_or(0);
    snapshots
        .put("manifest", &mut &br#"{"position":1,"files":[],"node":"deposed"}"#[..])
        .await
        .expect("put an older manifest back");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let now = snapshot_manifest(&snapshots).await["position"].as_u64().unwrap_or(0);
        if now >= good {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the manifest still says {now}, the writer's latest snapshot is {good}\n{}",
            a.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(a.log().contains("the snapshot manifest went back"), "{}", a.log());

    // Some received and deleted: they must not come back on any node.
    let got = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .visibility_timeout(600)
        .send()
        .await
        .expect("ReceiveMessage");
    let mut deleted = BTreeSet::new();
    for m in got.messages() {
        sqs.delete_message()
            .queue_url(&url)
            .receipt_handle(m.receipt_handle().unwrap_or_default())
            .send()
            .await
            .expect("DeleteMessage");
        deleted.insert(m.body().unwrap_or_default().to_string());
    }
    assert!(!deleted.is_empty(), "a receive got messages");

    // b restarts behind the log's start: it restores the snapshot, then follows the log.
    b.spawn_again();
    assert_eq!(ready(&b).await, 503, "b follows again as a standby");
    wait_caught_up(&b, &a, "b after its restore").await;
    assert!(
        b.log().contains("snapshot restored"),
        "b restored a snapshot:\n{}",
        b.log()
    );
    // A new node on an empty folder does the same.
    let c = Broker::spawn_cluster_node(&urls, "c", &extra);
    assert_eq!(ready(&c).await, 503, "c follows as a standby");
    wait_caught_up(&c, &a, "c, new").await;
    assert!(
        c.log().contains("snapshot restored"),
        "c restored a snapshot:\n{}",
        c.log()
    );

    // The writer dies; whoever takes over has every message but the deleted ones.
    a.kill9();
    let deadline = Instant::now() + BOUND;
    let writer = loop {
        if ready(&b).await == 200 {
            break &b;
        }
        if ready(&c).await == 200 {
            break &c;
        }
        assert!(Instant::now() < deadline, "no takeover\n{}\n{}", b.log(), c.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let sqs = writer.sqs().await;
    let mut present = BTreeSet::new();
    for _ in 0..200 {
        let got = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("ReceiveMessage on the new writer");
        if got.messages().is_empty() {
            break;
        }
        present.extend(got.messages().iter().map(|m| m.body().unwrap_or_default().to_string()));
    }
    let expected: BTreeSet<String> = sent.iter().filter(|b| !deleted.contains(*b)).cloned().collect();
    let missing: Vec<&String> = expected.difference(&present).collect();
    let back: Vec<&String> = deleted.intersection(&present).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged messages missing: {missing:?}",
        missing.len()
    );
    assert!(back.is_empty(), "deleted messages came back: {back:?}");
}
