//! The NATS JetStream cluster the replicated mode builds on, run for real: the pinned
//! nats-server with the settings of `scripts/nats-cluster` (`sync_interval: always`), through
//! the harness in `tests/src/nats.rs` and through the script itself.
//!
//! What is checked is what the replicated mode will rely on: an acknowledged publish to an R3
//! file stream survives a SIGKILL of the stream's leader, a restarted node catches up, a publish
//! with a stale `Nats-Expected-Last-Sequence` is refused, and a publish repeated with the same
//! `Nats-Msg-Id` is stored once (including a repeated fenced publish: a client retrying a
//! write whose acknowledgement it lost must be told "duplicate", not "wrong sequence"), and
//! publishes sent back to back, each expecting the one before, are stored in order.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream::context::{Context, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::publish::PublishAck;
use async_nats::jetstream::stream::{Config, StorageType, Stream};
use sluice_tests::NatsCluster;

/// Bounds each wait for a new stream leader (NATS's Raft elections take a few seconds) and for
/// a restarted node to catch up.
const FAILOVER: Duration = Duration::from_secs(30);
/// Bounds one publish or API request; the retry loops around them are bounded by [`FAILOVER`].
/// An R3 stream's creation can take seconds while the test's other clusters start beside it.
const REQUEST: Duration = Duration::from_secs(5);

async fn jetstream(cluster: &NatsCluster, i: usize) -> Context {
    let mut js = async_nats::jetstream::new(cluster.client(i).await);
    js.set_timeout(REQUEST);
    js
}

/// Creates an R3 file stream, retrying (bounded) while the cluster settles; get-or-create, so a
/// retry after a creation whose answer timed out finds the stream instead of failing.
async fn create_r3_stream(js: &Context, name: &str, subjects: &str) -> Stream {
    let config = Config {
        name: name.to_string(),
        subjects: vec![subjects.to_string()],
        num_replicas: 3,
        storage: StorageType::File,
        ..Default::default()
    };
    within(&format!("create the R3 stream {name}"), FAILOVER, || {
        js.get_or_create_stream(config.clone())
    })
    .await
}

/// Retries `attempt` every 100 ms until it succeeds, for at most `limit`; panics with the last
/// error after that.
async fn within<T, E, F, Fut>(what: &str, limit: Duration, mut attempt: F) -> T
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = Instant::now() + limit;
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(e) if Instant::now() > deadline => panic!("{what}: still failing after {limit:?}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Publishes and waits for the acknowledgement (both bounded by the context's timeout).
async fn publish(js: &Context, subject: String, message: PublishMessage) -> Result<PublishAck, String> {
    let ack = js.send_publish(subject, message).await.map_err(|e| e.to_string())?;
    ack.await.map_err(|e| e.to_string())
}

/// Publishes order `k` until acknowledged (bounded), with `Nats-Msg-Id` so a retry of a publish
/// that was stored but whose acknowledgement was lost is not stored twice.
async fn publish_order(js: &Context, k: u32) -> (u64, String) {
    let body = format!("order {k}");
    let ack = within(&format!("publish order {k}"), FAILOVER, || {
        let message = PublishMessage::build()
            .payload(body.clone().into())
            .message_id(format!("order-{k}"));
        publish(js, format!("orders.{k}"), message)
    })
    .await;
    assert_eq!(ack.stream, "ORDERS", "{ack:?}");
    (ack.sequence, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_publishes_survive_the_stream_leaders_crash_and_the_node_rejoins() {
    let mut cluster = NatsCluster::start(3).await;
    let js = jetstream(&cluster, 0).await;
    create_r3_stream(&js, "ORDERS", "orders.>").await;

    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    for k in 0..100 {
        let (seq, body) = publish_order(&js, k).await;
        assert_eq!(acked.insert(seq, body), None, "sequence {seq} acknowledged twice");
    }

    let info = within("stream info", FAILOVER, || async {
        js.get_stream("ORDERS")
            .await?
            .get_info()
            .await
            .map_err(async_nats::Error::from)
    })
    .await;
    let leader_name = info.cluster.and_then(|c| c.leader).expect("stream info names a leader");
    let leader = cluster.index_of(&leader_name).expect("the leader is one of the nodes");
    cluster.kill(leader);

    // From here on only through a node that is still up.
    let survivor = (0..cluster.len()).find(|&i| i != leader).expect("another node");
    let js = jetstream(&cluster, survivor).await;
    for k in 100..200 {
        let (seq, body) = publish_order(&js, k).await;
        assert_eq!(acked.insert(seq, body), None, "sequence {seq} acknowledged twice");
    }

    let stream = within("get the stream after the failover", FAILOVER, || {
        js.get_stream("ORDERS")
    })
    .await;
    let info = within("stream info after the failover", FAILOVER, || stream.get_info()).await;
    assert_eq!(acked.len(), 200);
    assert_eq!(
        (info.state.messages, info.state.first_sequence, info.state.last_sequence),
        (200, 1, 200),
        "the stream holds exactly the acknowledged messages: {:?}",
        info.state
    );
    for (&seq, body) in &acked {
        let message = within(&format!("read sequence {seq}"), FAILOVER, || {
            stream.get_raw_message(seq)
        })
        .await;
        assert_eq!(
            std::str::from_utf8(&message.payload).ok(),
            Some(body.as_str()),
            "sequence {seq}"
        );
    }

    cluster.restart(leader).await;
    within(
        "the restarted node to rejoin as a current replica",
        FAILOVER,
        || async {
            let info = stream.get_info().await.map_err(|e| e.to_string())?;
            let c = info.cluster.ok_or("no cluster info")?;
            let mut members: Vec<&str> = c.replicas.iter().map(|p| p.name.as_str()).collect();
            members.extend(c.leader.as_deref());
            let current = c.replicas.iter().all(|p| p.current && !p.offline);
            if c.leader.is_some() && c.replicas.len() == 2 && current && members.contains(&leader_name.as_str()) {
                Ok(())
            } else {
                Err(format!("leader {:?}, replicas {:?}", c.leader, c.replicas))
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_expected_sequence_is_refused_and_a_repeated_message_id_is_stored_once() {
    let cluster = NatsCluster::start(3).await;
    let js = jetstream(&cluster, 0).await;
    let stream = create_r3_stream(&js, "FENCE", "fence.>").await;
    let send = |message: PublishMessage| publish(&js, "fence.a".to_string(), message);

    let first = send(PublishMessage::build().payload("a".into()))
        .await
        .expect("publish a");
    assert_eq!(first.sequence, 1);
    let second = send(PublishMessage::build().payload("b".into()).expected_last_sequence(1))
        .await
        .expect("publish b after sequence 1");
    assert_eq!(second.sequence, 2);

    // A writer that last saw sequence 1 is fenced off: the stream is at 2.
    let stale = js
        .send_publish(
            "fence.a",
            PublishMessage::build().payload("c".into()).expected_last_sequence(1),
        )
        .await
        .expect("send the stale publish")
        .await;
    match stale {
        Err(e) => assert_eq!(e.kind(), PublishErrorKind::WrongLastSequence, "{e}"),
        Ok(ack) => panic!("a publish expecting last sequence 1 was stored at {ack:?}"),
    }
    assert_eq!(stream.get_info().await.expect("stream info").state.last_sequence, 2);

    // The same Nats-Msg-Id again (here with another body) is acknowledged as a duplicate of
    // the first and not stored.
    let once = send(PublishMessage::build().payload("first".into()).message_id("op-7"))
        .await
        .expect("publish op-7");
    assert_eq!((once.sequence, once.duplicate), (3, false));
    let again = send(PublishMessage::build().payload("second".into()).message_id("op-7"))
        .await
        .expect("publish op-7 again");
    assert_eq!((again.sequence, again.duplicate), (3, true), "{again:?}");

    // A fenced publish retried after its acknowledgement was lost: the retry still expects the
    // sequence before the write, which has moved, and must be answered as the duplicate it is.
    let fenced = || {
        PublishMessage::build()
            .payload("fenced".into())
            .message_id("op-8")
            .expected_last_sequence(3)
    };
    let write = send(fenced()).await.expect("fenced publish");
    assert_eq!((write.sequence, write.duplicate), (4, false));
    let retry = send(fenced())
        .await
        .expect("the retried fenced publish is acknowledged");
    assert_eq!((retry.sequence, retry.duplicate), (4, true), "{retry:?}");

    let info = stream.get_info().await.expect("stream info");
    assert_eq!(
        (info.state.messages, info.state.last_sequence),
        (4, 4),
        "{:?}",
        info.state
    );
    let stored = stream.get_raw_message(3).await.expect("read sequence 3");
    assert_eq!(&stored.payload[..], b"first");
}

/// Sluice's writer pipelines its appends: it sends entry n+1, expecting the log to end at n,
/// before n is acknowledged. That only works if JetStream checks the expectation against what
/// it has accepted so far (proposed, not yet applied), in the order the publishes left one
/// connection; and a publish whose predecessor is missing must be refused, not stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_publishes_with_predicted_positions_are_stored_in_order() {
    let cluster = NatsCluster::start(3).await;
    let js = jetstream(&cluster, 0).await;
    let stream = create_r3_stream(&js, "PIPE", "pipe.>").await;
    let first = publish(&js, "pipe.a".into(), PublishMessage::build().payload("0".into()))
        .await
        .expect("publish the first entry");
    assert_eq!(first.sequence, 1);

    // 200 publishes sent back to back, each expecting the one before, acknowledged afterwards.
    let mut acks = Vec::new();
    for n in 2..=201u64 {
        let message = PublishMessage::build()
            .payload(n.to_string().into())
            .message_id(format!("pipe-{n}"))
            .expected_last_sequence(n - 1);
        acks.push((n, js.send_publish("pipe.a", message).await.expect("send")));
    }
    for (n, ack) in acks {
        let ack = ack.await.unwrap_or_else(|e| panic!("publish {n}: {e}"));
        assert_eq!((ack.sequence, ack.duplicate), (n, false));
    }
    for n in [2u64, 100, 201] {
        let stored = stream.get_raw_message(n).await.expect("read");
        assert_eq!(&stored.payload[..], n.to_string().as_bytes());
    }

    // A gap: 203 sent while 202 is missing is refused, and sent again once 202 is stored, it
    // is stored right after it.
    let gap = |n: u64| {
        PublishMessage::build()
            .payload(n.to_string().into())
            .message_id(format!("pipe-{n}"))
            .expected_last_sequence(n - 1)
    };
    let early = js.send_publish("pipe.a", gap(203)).await.expect("send").await;
    match early {
        Err(e) => assert_eq!(e.kind(), PublishErrorKind::WrongLastSequence, "{e}"),
        Ok(ack) => panic!("an entry was stored after a missing one: {ack:?}"),
    }
    let late = publish(&js, "pipe.a".into(), gap(202)).await.expect("publish 202");
    assert_eq!(late.sequence, 202);
    let again = publish(&js, "pipe.a".into(), gap(203))
        .await
        .expect("publish 203 again");
    assert_eq!((again.sequence, again.duplicate), (203, false));
    assert_eq!(stream.get_info().await.expect("info").state.messages, 203);
}

/// A cluster started by `scripts/nats-cluster`, stopped by it when dropped (its nodes are not
/// our children: the script detaches them).
struct ScriptCluster {
    dir: tempfile::TempDir,
    ports: [u16; 3],
}

impl ScriptCluster {
    fn command(&self, action: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(repo_root().join("scripts/nats-cluster"));
        cmd.arg(action)
            .arg(self.dir.path())
            .env("SLUICE_NATS_CLIENT_PORT", self.ports[0].to_string())
            .env("SLUICE_NATS_ROUTE_PORT", self.ports[1].to_string())
            .env("SLUICE_NATS_MONITOR_PORT", self.ports[2].to_string())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// Runs the script with `action`; its own waits are bounded (start 30 s, stop 15 s), and so
    /// is this one, in case they are not.
    async fn run(&self, action: &str) -> Output {
        match tokio::time::timeout(Duration::from_secs(90), self.command(action).output()).await {
            Ok(Ok(output)) => output,
            Ok(Err(e)) => panic!("run scripts/nats-cluster {action}: {e}"),
            Err(_) => panic!("scripts/nats-cluster {action} did not finish within 90 s"),
        }
    }
}

impl Drop for ScriptCluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new(repo_root().join("scripts/nats-cluster"))
            .arg("stop")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The first of 3 consecutive free loopback ports, for each of the script's 3 port ranges (it
/// numbers the nodes' ports up from a base). The listeners are held until all are found, so the
/// ranges do not overlap.
fn free_port_ranges() -> [u16; 3] {
    let mut held: Vec<TcpListener> = Vec::new();
    let mut bases = Vec::new();
    for _ in 0..100 {
        if bases.len() == 3 {
            break;
        }
        let first = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let base = first.local_addr().expect("local addr").port();
        let rest: Vec<TcpListener> = (1..3)
            .filter_map(|k| base.checked_add(k))
            .filter_map(|p| TcpListener::bind(("127.0.0.1", p)).ok())
            .collect();
        if rest.len() == 2 {
            bases.push(base);
            held.push(first);
            held.extend(rest);
        }
    }
    bases
        .try_into()
        .expect("3 ranges of 3 consecutive free ports in 100 tries")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_script_starts_reports_and_stops_a_cluster() {
    let cluster = ScriptCluster {
        dir: tempfile::Builder::new()
            .prefix("sluice-nats-script-")
            .tempdir()
            .expect("temp dir"),
        ports: free_port_ranges(),
    };
    let start = cluster.run("start").await;
    let stderr = String::from_utf8_lossy(&start.stderr);
    assert!(start.status.success(), "start failed: {stderr}");
    let client = cluster.ports[0];
    let urls = format!(
        "nats://127.0.0.1:{client},nats://127.0.0.1:{},nats://127.0.0.1:{}",
        client + 1,
        client + 2
    );
    assert_eq!(String::from_utf8_lossy(&start.stdout).trim(), urls, "{stderr}");

    let status = cluster.run("status").await;
    let report = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "status: {report}");
    assert_eq!(report.lines().count(), 3, "{report}");
    for line in report.lines() {
        assert!(
            line.contains("healthz=200") && line.contains("sync_always=true"),
            "{report}"
        );
    }

    // A real cluster: it takes an R3 stream.
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(REQUEST)
        .connect(urls.split(',').collect::<Vec<_>>())
        .await
        .expect("connect to the script's cluster");
    let mut js = async_nats::jetstream::new(client);
    js.set_timeout(REQUEST);
    create_r3_stream(&js, "SCRIPT", "script.>").await;
    let ack = publish(&js, "script.a".to_string(), PublishMessage::build().payload("x".into()))
        .await
        .expect("publish to the script's cluster");
    assert_eq!(ack.sequence, 1);

    let stop = cluster.run("stop").await;
    assert!(stop.status.success(), "stop: {}", String::from_utf8_lossy(&stop.stderr));
    let after = cluster.run("status").await;
    assert!(
        !after.status.success(),
        "status after stop: {}",
        String::from_utf8_lossy(&after.stdout)
    );
    for i in 1..=3 {
        assert!(
            !cluster.dir.path().join(format!("n{i}.pid")).exists(),
            "n{i}.pid left behind"
        );
    }
}

/// The writer lease (`sluice_cluster::Lease`) on a real 3-node JetStream: a renewal whose answer
/// was lost (here: made but its revision dropped) leaves the next renewal expecting a revision
/// the key no longer has; the process that wrote the key keeps the lease, and only that process:
/// another run of the same node (same id, another instance) is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_renewal_whose_answer_was_lost_keeps_the_lease_for_its_own_process_only() {
    use sluice_cluster::{ClusterError, Holder, Lease};
    let cluster = NatsCluster::start(3).await;
    let js = jetstream(&cluster, 0).await;
    let ttl = Duration::from_secs(60);
    let me = Holder {
        node_id: "n1".into(),
        advertise: "http://127.0.0.1:1".into(),
        instance: Holder::instance_id(),
    };
    let lease = within("open the lease bucket", FAILOVER, || {
        Lease::open(&js, "lease_test", 3, ttl, me.clone())
    })
    .await;
    let first = within("take the lease", FAILOVER, || lease.try_acquire())
        .await
        .expect("nobody holds it yet");
    let lost_answer = lease.renew(first).await.expect("renewed");
    assert!(lost_answer > first);
    // The next renewal still expects `first`: the key names this process, so it is still ours.
    assert_eq!(lease.renew(first).await.expect("still ours"), lost_answer);
    let next = lease.renew(lost_answer).await.expect("renewed again");
    assert!(next > lost_answer);
    // A create whose answer was lost: taking it again finds it ours, at its revision.
    assert_eq!(lease.try_acquire().await.expect("read"), Some(next));

    let restarted = Lease::open(
        &js,
        "lease_test",
        3,
        ttl,
        Holder {
            instance: "another run".into(),
            ..me.clone()
        },
    )
    .await
    .expect("open");
    assert_eq!(restarted.try_acquire().await.expect("read"), None);
    assert!(
        matches!(restarted.renew(first).await, Err(ClusterError::LeaseLost(_))),
        "another process of the same node must not adopt the lease"
    );
    assert_eq!(
        lease.holder().await.expect("holder"),
        Some(me),
        "the key still names the first process"
    );
}
