//! FIFO sends over a replicated log (cluster mode's commit path, with an in-memory log): many
//! senders share appends, and still every message enters the index in sequence order, every
//! deduplicated resend is answered like its original, and a resend of an original that never
//! committed is not answered as sent.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sluice_storage::{Durability, Store, StoreOptions};

use super::message::{NewMessage, SentMessage};
use super::*;
use crate::memory_log::MemoryLog;

fn replicated(dir: &std::path::Path, log: Arc<MemoryLog>) -> Queues {
    let store = Arc::new(
        Store::open(
            dir,
            StoreOptions {
                durability: Durability::Process,
            },
        )
        .expect("open store"),
    );
    let queues = Queues::open(store.clone(), Clock::new()).expect("open queues");
    store.replicate_to(log).expect("attach the log");
    queues
}

fn create_fifo(queues: &Queues, name: &str) -> QueueKey {
    let q = QueueKey::new("000000000000", "us-east-1", name);
    let attrs: BTreeMap<String, String> = [("FifoQueue", "true")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    queues.create_queue(&q, &attrs, &BTreeMap::new()).expect("create fifo");
    q
}

fn fifo_msg(body: &str, group: &str) -> NewMessage {
    NewMessage {
        body: body.into(),
        sender_id: "000000000000".into(),
        group_id: Some(group.into()),
        deduplication_id: Some(body.into()),
        ..NewMessage::default()
    }
}

fn send_one(queues: &Queues, q: &QueueKey, msg: NewMessage) -> Result<SentMessage> {
    queues.send(q, vec![msg]).and_then(|mut r| r.remove(0))
}

/// One receive of up to 10 messages, deleted at once; (group, body, sequence) in the order received.
async fn take(queues: &Queues, q: &QueueKey) -> Vec<(String, String, u128)> {
    let request = ReceiveRequest {
        max_messages: 10,
        visibility_timeout: Some(30),
        wait_seconds: Some(0),
        attempt_id: None,
    };
    let got = queues.receive(q, request).await.expect("receive");
    let handles: Vec<String> = got.iter().map(|m| m.receipt_handle.clone()).collect();
    for deleted in queues.delete_messages(q, &handles).expect("delete") {
        deleted.expect("deleted");
    }
    got.into_iter()
        .map(|m| {
            let seq = m
                .sequence_number
                .as_deref()
                .and_then(|s| s.parse().ok())
                .expect("a FIFO message has a sequence number");
            (m.group_id.unwrap_or_default(), m.body, seq)
        })
        .collect()
}

/// Receives and deletes everything visible; (group, body, sequence) in the order received
/// (the topic tests' too).
pub(crate) async fn drain(queues: &Queues, q: &QueueKey) -> Vec<(String, String, u128)> {
    let mut out = Vec::new();
    // Bounded: each round takes up to 10 of the few hundred messages sent.
    for _ in 0..1_000 {
        let got = take(queues, q).await;
        if got.is_empty() {
            break;
        }
        out.extend(got);
    }
    out
}

/// Eight senders in pairs: both of a pair send the same messages (same deduplication ids) to
/// four groups, so every message races its own resend, and appends finish out of order; a
/// consumer receives meanwhile. Several rounds, since what goes wrong here is a race.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_share_appends_and_keep_group_order_and_deduplication() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(MemoryLog::default());
    log.jitter.store(true, Ordering::SeqCst);
    let queues = replicated(dir.path(), log.clone());
    for round in 0..4 {
        let q = create_fifo(&queues, &format!("line-{round}.fifo"));
        concurrent_round(&queues, &q).await;
    }
    let stats = queues.store.replication_stats().expect("replicating");
    assert!(
        stats.entries < stats.commits,
        "sends shared appends: {} entries for {} commits",
        stats.entries,
        stats.commits
    );
}

async fn concurrent_round(queues: &Queues, q: &QueueKey) {
    const PER_SENDER: usize = 40;
    let runtime = tokio::runtime::Handle::current();
    let sending = AtomicBool::new(true);
    let (answers, mut received) = std::thread::scope(|s| {
        // A consumer receives while the senders send: a message entering the index before an
        // earlier one of its group would be delivered first.
        let consumer = s.spawn(|| {
            let mut received = Vec::new();
            // Bounded: the senders end, and then the queue is drained.
            for _ in 0..100_000 {
                let still_sending = sending.load(Ordering::SeqCst);
                let got = runtime.block_on(take(queues, q));
                if got.is_empty() && !still_sending {
                    break;
                }
                received.extend(got);
            }
            received
        });
        let senders: Vec<_> = (0..8)
            .map(|t| {
                s.spawn(move || {
                    let pair = t % 4;
                    (0..PER_SENDER)
                        .map(|i| {
                            let body = format!("p{pair}-{i:03}");
                            let group = format!("g{}", (pair + i) % 4);
                            let sent = send_one(queues, q, fifo_msg(&body, &group)).expect("send");
                            // Answered only once indexed (receivable), resends included.
                            let seq = sent
                                .sequence_number
                                .as_deref()
                                .and_then(|s| s.parse::<u128>().ok())
                                .and_then(|n| u64::try_from(n - 10_000_000_000_000_000_000).ok())
                                .expect("a sequence number");
                            let queue = queues.lookup(q).expect("queue");
                            assert!(!queue.unindexed().contains(&seq), "{body} not indexed when answered");
                            (body, sent)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let answers: Vec<Vec<(String, SentMessage)>> = senders.into_iter().map(|h| h.join().expect("sender")).collect();
        sending.store(false, Ordering::SeqCst);
        (answers, consumer.join().expect("consumer"))
    });
    // Both senders of a pair were answered alike: one message, one sequence, per id.
    let mut by_body: HashMap<String, (String, Option<String>)> = HashMap::new();
    for (body, sent) in answers.iter().flatten() {
        let answer = (sent.message_id.clone(), sent.sequence_number.clone());
        let first = by_body.entry(body.clone()).or_insert_with(|| answer.clone());
        assert_eq!(*first, answer, "{body} answered differently to its resend");
    }
    assert_eq!(by_body.len(), 4 * PER_SENDER);
    // Every send returned, so every message is visible: none is left behind in the line.
    received.extend(drain(queues, q).await);
    assert_eq!(received.len(), 4 * PER_SENDER, "each message once, all visible");
    let mut last: HashMap<String, u128> = HashMap::new();
    let mut last_of_pair: HashMap<(String, String), String> = HashMap::new();
    for (group, body, seq) in &received {
        let expected = by_body[body].1.as_deref().and_then(|s| s.parse::<u128>().ok());
        assert_eq!(Some(*seq), expected, "{body}: the sequence its sender was given");
        if let Some(before) = last.insert(group.clone(), *seq) {
            assert!(before < *seq, "group {group}: {seq} delivered after {before}");
        }
        // A sender's messages to one group arrive in the order it sent them.
        let pair = body[..2].to_string();
        if let Some(before) = last_of_pair.insert((group.clone(), pair), body.clone()) {
            assert!(before < *body, "group {group}: {body} delivered after {before}");
        }
    }
}

/// A resend that finds its original still waiting for the log waits for the original's
/// outcome: the same answer once it committed, an error (never "sent") when it did not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_of_an_original_in_flight_is_answered_by_its_outcome() {
    for fails in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = Arc::new(MemoryLog::default());
        let queues = replicated(dir.path(), log.clone());
        let q = create_fifo(&queues, "held.fifo");
        // The queue's first send reserves its sequences (a commit of its own, under the send
        // lock): done here, so that the resend below finds its original in the line.
        send_one(&queues, &q, fifo_msg("warm", "w")).expect("warm-up");
        log.hold.store(true, Ordering::SeqCst);
        let (first, second) = std::thread::scope(|s| {
            let original = s.spawn(|| send_one(&queues, &q, fifo_msg("once", "g")));
            // Lets the original reach the log's wait; were the resend first, the roles swap
            // and the checks below still hold.
            std::thread::sleep(Duration::from_millis(50));
            let resend = s.spawn(|| send_one(&queues, &q, fifo_msg("once", "g")));
            std::thread::sleep(Duration::from_millis(50));
            log.fail.store(fails, Ordering::SeqCst);
            log.hold.store(false, Ordering::SeqCst);
            (original.join().expect("original"), resend.join().expect("resend"))
        });
        if fails {
            assert!(first.is_err() && second.is_err(), "{first:?} / {second:?}");
        } else {
            let (first, second) = (first.expect("original"), second.expect("resend"));
            assert_eq!(first, second);
            let received = drain(&queues, &q).await;
            assert_eq!(received.len(), 2, "the warm-up and one message: {received:?}");
        }
    }
}

/// The original's entry is refused by the log while the writer goes on, and the resend rode in
/// a later entry with a new message: the new message is sent, the resend is not answered as
/// sent, and nothing else in the queue is held back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_fails_alone_when_its_original_is_refused_and_its_own_batch_commits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(MemoryLog::default());
    log.narrow.store(true, Ordering::SeqCst);
    log.poison.store(true, Ordering::SeqCst);
    let queues = replicated(dir.path(), log.clone());
    let q = create_fifo(&queues, "refused.fifo");
    let pad = "p".repeat(3_000);
    // The queue's first send reserves its sequences (a commit of its own, under the send lock).
    send_one(&queues, &q, fifo_msg("warm", "w")).expect("warm-up");
    log.hold.store(true, Ordering::SeqCst);
    let (filler, original, batch) = std::thread::scope(|s| {
        // Takes the one append in flight, so the next two wait for it in separate entries.
        let filler = s.spawn(|| send_one(&queues, &q, fifo_msg("filler", "f")));
        std::thread::sleep(Duration::from_millis(50));
        let original = s.spawn(|| {
            let mut msg = fifo_msg(&format!("poison{pad}"), "g");
            msg.deduplication_id = Some("once".into());
            send_one(&queues, &q, msg)
        });
        std::thread::sleep(Duration::from_millis(50));
        let batch = s.spawn(|| {
            let mut resend = fifo_msg("again", "g");
            resend.deduplication_id = Some("once".into());
            let mut fresh = fifo_msg(&format!("fine{pad}"), "g");
            fresh.deduplication_id = Some("fine".into());
            queues.send(&q, vec![resend, fresh])
        });
        std::thread::sleep(Duration::from_millis(50));
        log.hold.store(false, Ordering::SeqCst);
        (
            filler.join().expect("filler"),
            original.join().expect("original"),
            batch.join().expect("batch"),
        )
    });
    filler.expect("the filler is sent");
    assert!(original.is_err(), "the refused original: {original:?}");
    let batch = batch.expect("the batch call succeeds");
    assert!(batch[0].is_err(), "the resend of a refused original: {:?}", batch[0]);
    assert!(batch[1].is_ok(), "the new message: {:?}", batch[1]);
    let mut bodies: Vec<String> = drain(&queues, &q)
        .await
        .into_iter()
        .map(|(_, body, _)| body[..body.len().min(6)].to_string())
        .collect();
    bodies.sort();
    assert_eq!(bodies, vec!["filler", "finepp", "warm"]);
}
