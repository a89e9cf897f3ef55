//! FIFO topic publishes over a replicated log (cluster mode's commit path, with an in-memory
//! log): publishes to one topic share appends, their FIFO queues still receive every group in
//! the topic's sequence order, a resend is answered like its original, and a resend of an
//! original that never committed is published, not answered as sent.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use sluice_storage::{Durability, Store, StoreOptions};

use super::*;
use crate::memory_log::MemoryLog;
use crate::queue::QueueKey;

fn replicated(dir: &std::path::Path, log: Arc<MemoryLog>) -> (Arc<Queues>, Topics, Arc<Store>) {
    let store = Arc::new(
        Store::open(
            dir,
            StoreOptions {
                durability: Durability::Process,
            },
        )
        .expect("open store"),
    );
    let clock = Clock::new();
    let queues = Arc::new(Queues::open(store.clone(), clock).expect("open queues"));
    let topics = Topics::open(store.clone(), clock, queues.clone()).expect("open topics");
    store.replicate_to(log).expect("attach the log");
    (queues, topics, store)
}

fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn queue(name: &str) -> QueueKey {
    QueueKey::new("000000000000", "us-east-1", name)
}

/// A FIFO topic `name` with raw-delivery subscriptions of new FIFO queues `queue_names`.
fn fifo_topic(queues: &Queues, topics: &Topics, name: &str, queue_names: &[&str]) -> TopicKey {
    let t = TopicKey::new("000000000000", "us-east-1", name);
    topics
        .create_topic(&t, &attrs(&[("FifoTopic", "true")]), &BTreeMap::new())
        .expect("create topic");
    let ctx = ctx();
    for q in queue_names {
        queues
            .create_queue(&queue(q), &attrs(&[("FifoQueue", "true")]), &BTreeMap::new())
            .expect("create queue");
        topics
            .subscribe(
                &t,
                "sqs",
                &queue(q).arn(),
                &attrs(&[("RawMessageDelivery", "true")]),
                "0",
                &ctx,
            )
            .expect("subscribe");
    }
    t
}

/// FIFO topic `name` over a fresh replicated store in `dir`, with FIFO queues `queue_names`
/// subscribed and warmed up: each queue's first delivery reserves its sequences (a commit of its
/// own), done here so that a test's holds and counts concern its own publishes.
fn warm_topic(
    dir: &std::path::Path,
    log: Arc<MemoryLog>,
    name: &str,
    queue_names: &[&str],
) -> (Arc<Queues>, Topics, Arc<Store>, TopicKey) {
    let (queues, topics, store) = replicated(dir, log);
    let t = fifo_topic(&queues, &topics, name, queue_names);
    publish_one(&topics, &t, grouped("warm", "w", "warm")).expect("warm-up");
    (queues, topics, store, t)
}

fn ctx() -> PublishContext {
    PublishContext {
        base_url: "http://127.0.0.1:4566".into(),
        cross_account_check: None,
    }
}

fn grouped(body: &str, group: &str, dedup: &str) -> PublishMessage {
    PublishMessage {
        message: body.into(),
        group_id: Some(group.into()),
        deduplication_id: Some(dedup.into()),
        ..PublishMessage::default()
    }
}

fn publish_one(topics: &Topics, t: &TopicKey, msg: PublishMessage) -> Result<Published> {
    topics.publish(t, vec![msg], &ctx()).and_then(|mut r| r.remove(0))
}

/// Receives and deletes everything visible; (group, body) in the order received.
async fn drain(queues: &Queues, q: &QueueKey) -> Vec<(String, String)> {
    crate::queue::fifo_log_tests::drain(queues, q)
        .await
        .into_iter()
        .map(|(group, body, _)| (group, body))
        .collect()
}

/// The bodies queue `name` holds, drained and sorted.
async fn sorted_bodies(queues: &Queues, name: &str) -> Vec<String> {
    let mut bodies: Vec<String> = drain(queues, &queue(name))
        .await
        .into_iter()
        .map(|(_, body)| body)
        .collect();
    bodies.sort();
    bodies
}

/// While the log holds one append, the publishes to a topic that come meanwhile are staged and
/// wait together for the next: the topic's lock is not held while the log answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_to_one_topic_share_an_append() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(MemoryLog::default());
    // One append in flight at a time.
    log.narrow.store(true, Ordering::SeqCst);
    let (queues, topics, store, t) = warm_topic(dir.path(), log.clone(), "shared.fifo", &["q.fifo"]);
    let before = store.replication_stats().expect("replicating");
    log.hold.store(true, Ordering::SeqCst);
    let published: Vec<Published> = std::thread::scope(|s| {
        let publishers: Vec<_> = (0..8)
            .map(|p| {
                let (topics, t) = (&topics, &t);
                s.spawn(move || {
                    let body = format!("m{p}");
                    publish_one(topics, t, grouped(&body, &format!("g{}", p % 2), &body)).expect("publish")
                })
            })
            .collect();
        // Time for all eight to stage; with the lock held across the wait, only the first can.
        std::thread::sleep(Duration::from_millis(200));
        log.hold.store(false, Ordering::SeqCst);
        publishers.into_iter().map(|h| h.join().expect("publisher")).collect()
    });
    let after = store.replication_stats().expect("replicating");
    let (entries, commits) = (after.entries - before.entries, after.commits - before.commits);
    assert_eq!(commits, 8, "one commit per publish");
    assert!(
        entries <= 2,
        "{entries} appends for 8 publishes: the one held and one for the rest"
    );
    // Each group in the topic's order.
    let sequence: HashMap<String, String> = published
        .iter()
        .enumerate()
        .map(|(p, pb)| (format!("m{p}"), pb.sequence_number.clone().expect("a sequence number")))
        .collect();
    let mut last: HashMap<String, &str> = HashMap::new();
    for (group, body) in drain(&queues, &queue("q.fifo")).await {
        if body == "warm" {
            continue;
        }
        let seq = sequence[&body].as_str();
        if let Some(before) = last.insert(group.clone(), seq) {
            assert!(before < seq, "group {group}: {seq} delivered after {before}");
        }
    }
}

/// Eight publishers in pairs: both of a pair publish the same messages (same deduplication
/// ids) to four groups, so every publish races its own resend, and appends finish out of
/// order. Two FIFO queues subscribe; each must receive every group in topic sequence order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishes_keep_group_order_and_deduplication() {
    const PER_PUBLISHER: usize = 30;
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(MemoryLog::default());
    log.jitter.store(true, Ordering::SeqCst);
    let (queues, topics, _store, t) = warm_topic(dir.path(), log.clone(), "line.fifo", &["a.fifo", "b.fifo"]);
    let answers: Vec<Vec<(String, Published)>> = std::thread::scope(|s| {
        let publishers: Vec<_> = (0..8)
            .map(|p| {
                let (topics, t) = (&topics, &t);
                s.spawn(move || {
                    let pair = p % 4;
                    (0..PER_PUBLISHER)
                        .map(|i| {
                            let body = format!("p{pair}-{i:03}");
                            let group = format!("g{}", (pair + i) % 4);
                            let published = publish_one(topics, t, grouped(&body, &group, &body)).expect("publish");
                            (body, published)
                        })
                        .collect()
                })
            })
            .collect();
        publishers.into_iter().map(|h| h.join().expect("publisher")).collect()
    });
    // Both publishers of a pair were answered alike: one message, one sequence, per id.
    let mut by_body: HashMap<String, Published> = HashMap::new();
    for (body, published) in answers.iter().flatten() {
        let first = by_body.entry(body.clone()).or_insert_with(|| published.clone());
        assert_eq!(first, published, "{body} answered differently to its resend");
    }
    assert_eq!(by_body.len(), 4 * PER_PUBLISHER);
    for q in ["a.fifo", "b.fifo"] {
        // Every publish returned, so every delivery is visible.
        let received = drain(&queues, &queue(q)).await;
        assert_eq!(received.len(), 4 * PER_PUBLISHER + 1, "{q}: each message once");
        let mut last: HashMap<&str, &str> = HashMap::new();
        for (group, body) in &received {
            if body == "warm" {
                continue;
            }
            let seq = by_body[body].sequence_number.as_deref().expect("a sequence number");
            if let Some(before) = last.insert(group, seq) {
                assert!(
                    before < seq,
                    "{q}, group {group}: topic sequence {seq} delivered after {before}"
                );
            }
        }
    }
}

/// A resend that finds its original still waiting for the log waits for the outcome: the
/// same answer once the original committed; published itself when it did not (the log
/// refused the original), never answered like a message that does not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_of_a_publish_in_flight_is_answered_by_its_outcome() {
    for refused in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = Arc::new(MemoryLog::default());
        // One append in flight at a time: the original waits behind the filler.
        log.narrow.store(true, Ordering::SeqCst);
        log.poison.store(true, Ordering::SeqCst);
        let (queues, topics, _store, t) = warm_topic(dir.path(), log.clone(), "held.fifo", &["q.fifo"]);
        log.hold.store(true, Ordering::SeqCst);
        let original_body = if refused { "poison" } else { "once" };
        let (filler, original, resend) = std::thread::scope(|s| {
            let filler = s.spawn(|| publish_one(&topics, &t, grouped("filler", "f", "filler")));
            std::thread::sleep(Duration::from_millis(50));
            let original = s.spawn(|| publish_one(&topics, &t, grouped(original_body, "g", "once")));
            std::thread::sleep(Duration::from_millis(50));
            let resend = s.spawn(|| publish_one(&topics, &t, grouped("again", "g", "once")));
            std::thread::sleep(Duration::from_millis(50));
            log.hold.store(false, Ordering::SeqCst);
            (
                filler.join().expect("filler"),
                original.join().expect("original"),
                resend.join().expect("resend"),
            )
        });
        filler.expect("the filler is published");
        let bodies = sorted_bodies(&queues, "q.fifo").await;
        if refused {
            assert!(original.is_err(), "the refused original: {original:?}");
            resend.expect("the resend of a refused original is published");
            assert_eq!(bodies, vec!["again", "filler", "warm"]);
        } else {
            assert_eq!(original.expect("original"), resend.expect("resend"));
            assert_eq!(bodies, vec!["filler", "once", "warm"]);
        }
    }
}

/// A publish whose commit fails at once (too large for the log) while an earlier publish to the
/// same queue is still waiting: retried at once with its deduplication id, the retry is
/// delivered. (A failed commit's ids used to stay taken in the queue until it left the line,
/// so the retry's delivery was taken for a resend of a message that does not exist, and lost
/// while the publish answered success.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_failed_publish_is_delivered_while_an_earlier_one_waits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(MemoryLog::default());
    // One append in flight at a time, and entries of at most 5,000 bytes.
    log.narrow.store(true, Ordering::SeqCst);
    let (queues, topics, _store, t) = warm_topic(dir.path(), log.clone(), "retry.fifo", &["q.fifo"]);
    log.hold.store(true, Ordering::SeqCst);
    let (waiting, failed, retry) = std::thread::scope(|s| {
        let waiting = s.spawn(|| publish_one(&topics, &t, grouped("waiting", "f", "waiting")));
        std::thread::sleep(Duration::from_millis(50));
        let failed = publish_one(&topics, &t, grouped(&"x".repeat(6_000), "g", "once"));
        let retry = s.spawn(|| publish_one(&topics, &t, grouped("retry", "g", "once")));
        std::thread::sleep(Duration::from_millis(50));
        log.hold.store(false, Ordering::SeqCst);
        (waiting.join().expect("waiting"), failed, retry.join().expect("retry"))
    });
    waiting.expect("the earlier publish");
    assert!(failed.is_err(), "too large for the log: {failed:?}");
    retry.expect("the retry is published");
    let bodies = sorted_bodies(&queues, "q.fifo").await;
    assert_eq!(bodies, vec!["retry", "waiting", "warm"]);
}
