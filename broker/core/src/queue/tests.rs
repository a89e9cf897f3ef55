//! Queue semantics under a paused tokio clock: visibility, delays, long polling, dead-letter
//! moves, retention, purge and recovery after reopening the store.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sluice_storage::{Durability, Store, StoreOptions};

use super::message::NewMessage;
use super::receipt::Receipt;
use super::*;

fn open_store(dir: &std::path::Path) -> Arc<Store> {
    Arc::new(
        Store::open(
            dir,
            StoreOptions {
                durability: Durability::Process,
            },
        )
        .expect("open store"),
    )
}

fn key(name: &str) -> QueueKey {
    QueueKey::new("000000000000", "us-east-1", name)
}

fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn msg(body: &str) -> NewMessage {
    NewMessage {
        body: body.into(),
        sender_id: "000000000000".into(),
        ..NewMessage::default()
    }
}

fn receive_req(max: u32, vt: Option<u32>, wait: u32) -> ReceiveRequest {
    ReceiveRequest {
        max_messages: max,
        visibility_timeout: vt,
        wait_seconds: Some(wait),
        attempt_id: None,
    }
}

async fn count(queues: &Queues, q: &QueueKey, name: &str) -> u64 {
    let got = queues.get_attributes(q, &[name.to_string()]).expect("attributes");
    got[0].1.parse().expect("number")
}

#[tokio::test(start_paused = true)]
async fn visibility_timeout_hides_then_redelivers_with_higher_receive_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queues = Queues::open(open_store(dir.path()), Clock::new()).expect("open");
    let q = key("vis");
    queues
        .create_queue(&q, &attrs(&[("VisibilityTimeout", "5")]), &BTreeMap::new())
        .expect("create");
    queues.send(&q, vec![msg("a")]).expect("send")[0]
        .as_ref()
        .expect("sent");

    let first = queues.receive(&q, receive_req(10, None, 0)).await.expect("receive");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].receive_count, 1);
    assert!(queues
        .receive(&q, receive_req(10, None, 0))
        .await
        .expect("receive")
        .is_empty());
    assert_eq!(count(&queues, &q, "ApproximateNumberOfMessagesNotVisible").await, 1);

    tokio::time::advance(Duration::from_millis(5_001)).await;
    let second = queues.receive(&q, receive_req(10, None, 0)).await.expect("receive");
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].receive_count, 2);
    assert_ne!(second[0].receipt_handle, first[0].receipt_handle);
    assert_eq!(
        second[0].first_receive_timestamp_ms,
        first[0].first_receive_timestamp_ms
    );

    // The stale handle deletes nothing; the fresh one deletes.
    queues
        .delete_messages(&q, &[first[0].receipt_handle.clone()])
        .expect("delete")[0]
        .as_ref()
        .expect("ok");
    assert_eq!(count(&queues, &q, "ApproximateNumberOfMessagesNotVisible").await, 1);
    queues
        .delete_messages(&q, &[second[0].receipt_handle.clone()])
        .expect("delete")[0]
        .as_ref()
        .expect("ok");
    assert_eq!(count(&queues, &q, "ApproximateNumberOfMessagesNotVisible").await, 0);
    assert!(matches!(
        queues.delete_messages(&q, &["junk".to_string()]).expect("delete")[0],
        Err(QueueError::ReceiptHandleIsInvalid(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn delay_and_long_poll_wake_exactly_when_due() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queues = Arc::new(Queues::open(open_store(dir.path()), Clock::new()).expect("open"));
    let q = key("delay");
    queues
        .create_queue(&q, &BTreeMap::new(), &BTreeMap::new())
        .expect("create");
    let mut delayed = msg("later");
    delayed.delay_seconds = Some(3);
    queues.send(&q, vec![delayed]).expect("send");
    assert_eq!(count(&queues, &q, "ApproximateNumberOfMessagesDelayed").await, 1);

    let start = tokio::time::Instant::now();
    let got = queues.receive(&q, receive_req(1, None, 10)).await.expect("receive");
    assert_eq!(got.len(), 1);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(3) && waited < Duration::from_secs(4),
        "{waited:?}"
    );

    // A long poll returns as soon as another task sends.
    let poller = {
        let queues = queues.clone();
        let q = q.clone();
        tokio::spawn(async move { queues.receive(&q, receive_req(1, None, 20)).await })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sent_at = tokio::time::Instant::now();
    queues.send(&q, vec![msg("now")]).expect("send");
    let got = poller.await.expect("join").expect("receive");
    assert_eq!(got[0].body, "now");
    assert!(sent_at.elapsed() < Duration::from_millis(10));

    // An empty poll waits the whole wait time.
    let start = tokio::time::Instant::now();
    let none = queues.receive(&q, receive_req(1, None, 2)).await.expect("receive");
    assert!(none.is_empty());
    assert!(start.elapsed() >= Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn change_visibility_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queues = Queues::open(open_store(dir.path()), Clock::new()).expect("open");
    let q = key("cv");
    queues
        .create_queue(&q, &BTreeMap::new(), &BTreeMap::new())
        .expect("create");
    queues.send(&q, vec![msg("a")]).expect("send");
    let got = queues.receive(&q, receive_req(1, Some(30), 0)).await.expect("receive");
    let handle = got[0].receipt_handle.clone();
    let change = |t: u32| {
        vec![VisibilityChange {
            receipt_handle: handle.clone(),
            timeout_seconds: t,
        }]
    };

    assert!(matches!(
        queues.change_visibility(&q, &change(43_201)).expect("cv")[0],
        Err(QueueError::InvalidParameterValue(_))
    ));
    queues.change_visibility(&q, &change(0)).expect("cv")[0]
        .as_ref()
        .expect("ok");
    assert_eq!(count(&queues, &q, "ApproximateNumberOfMessages").await, 1);
    assert!(matches!(
        queues.change_visibility(&q, &change(10)).expect("cv")[0],
        Err(QueueError::MessageNotInflight)
    ));
}

#[tokio::test(start_paused = true)]
async fn messages_move_to_dead_letter_queue_after_max_receives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queues = Queues::open(open_store(dir.path()), Clock::new()).expect("open");
    let dlq = key("dlq");
    let src = key("src");
    queues
        .create_queue(&dlq, &BTreeMap::new(), &BTreeMap::new())
        .expect("dlq");
    let policy = format!(r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":2}}"#, dlq.arn());
    queues
        .create_queue(&src, &attrs(&[("RedrivePolicy", &policy)]), &BTreeMap::new())
        .expect("src");
    queues.send(&src, vec![msg("poison")]).expect("send");
    for _ in 0..2 {
        let got = queues.receive(&src, receive_req(1, Some(0), 0)).await.expect("receive");
        assert_eq!(got.len(), 1);
    }
    assert!(queues
        .receive(&src, receive_req(1, Some(0), 0))
        .await
        .expect("receive")
        .is_empty());
    let moved = queues
        .receive(&dlq, receive_req(1, None, 0))
        .await
        .expect("receive dlq");
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].body, "poison");
    let sources = queues.dead_letter_sources(&dlq, None, None).expect("sources");
    assert_eq!(sources.names, vec!["src".to_string()]);

    // denyAll on the target forbids new sources.
    queues
        .set_attributes(
            &dlq,
            &attrs(&[("RedriveAllowPolicy", r#"{"redrivePermission":"denyAll"}"#)]),
        )
        .expect("set");
    let err = queues.create_queue(&key("src2"), &attrs(&[("RedrivePolicy", &policy)]), &BTreeMap::new());
    assert!(matches!(err, Err(QueueError::InvalidAttributeValue(_))), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn retention_expires_old_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queues = Queues::open(open_store(dir.path()), Clock::new()).expect("open");
    let q = key("ret");
    queues
        .create_queue(&q, &attrs(&[("MessageRetentionPeriod", "60")]), &BTreeMap::new())
        .expect("create");
    queues.send(&q, vec![msg("old")]).expect("send");
    tokio::time::advance(Duration::from_secs(30)).await;
    queues.send(&q, vec![msg("young")]).expect("send");
    tokio::time::advance(Duration::from_secs(31)).await;
    queues.sweep_expired().expect("sweep");
    assert_eq!(count(&queues, &q, "ApproximateNumberOfMessages").await, 1);
    let got = queues.receive(&q, receive_req(10, None, 0)).await.expect("receive");
    assert_eq!(got.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), vec!["young"]);
}

#[tokio::test(start_paused = true)]
async fn purge_and_queue_lifecycle_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queues = Queues::open(open_store(dir.path()), Clock::new()).expect("open");
    let q = key("p");
    queues
        .create_queue(&q, &attrs(&[("DelaySeconds", "1")]), &BTreeMap::new())
        .expect("create");
    queues
        .create_queue(&q, &attrs(&[("DelaySeconds", "1")]), &BTreeMap::new())
        .expect("idempotent");
    assert!(matches!(
        queues.create_queue(&q, &attrs(&[("DelaySeconds", "2")]), &BTreeMap::new()),
        Err(QueueError::QueueNameExists(_))
    ));
    queues.send(&q, vec![msg("a"), msg("b")]).expect("send");
    queues.purge(&q).expect("purge");
    assert!(matches!(queues.purge(&q), Err(QueueError::PurgeQueueInProgress(_))));
    tokio::time::advance(Duration::from_secs(2)).await;
    assert!(queues
        .receive(&q, receive_req(10, None, 0))
        .await
        .expect("receive")
        .is_empty());
    queues.delete_queue(&q).expect("delete");
    assert!(matches!(
        queues.send(&q, vec![msg("x")]),
        Err(QueueError::QueueDoesNotExist)
    ));
    assert!(matches!(
        queues.create_queue(&q, &BTreeMap::new(), &BTreeMap::new()),
        Err(QueueError::QueueDeletedRecently)
    ));
    tokio::time::advance(Duration::from_secs(61)).await;
    queues
        .create_queue(&q, &BTreeMap::new(), &BTreeMap::new())
        .expect("recreate after 60 s");
}

#[tokio::test(start_paused = true)]
async fn list_queues_paginates_in_name_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queues = Queues::open(open_store(dir.path()), Clock::new()).expect("open");
    for name in ["b", "a", "c", "other"] {
        queues
            .create_queue(&key(name), &BTreeMap::new(), &BTreeMap::new())
            .expect("create");
    }
    let page = queues
        .list_queues("000000000000", "us-east-1", None, Some(2), None)
        .expect("list");
    assert_eq!(page.names, vec!["a", "b"]);
    let page2 = queues
        .list_queues("000000000000", "us-east-1", None, Some(2), page.next_token.as_deref())
        .expect("list");
    assert_eq!(page2.names, vec!["c", "other"]);
    assert!(page2.next_token.is_none());
    let filtered = queues
        .list_queues("000000000000", "us-east-1", Some("o"), None, None)
        .expect("list");
    assert_eq!(filtered.names, vec!["other"]);
    assert!(queues
        .list_queues("000000000000", "eu-west-1", None, None, None)
        .expect("list")
        .names
        .is_empty());
}

#[tokio::test]
async fn state_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let q = key("durable");
    let handle;
    {
        let queues = Queues::open(open_store(dir.path()), Clock::new()).expect("open");
        queues
            .create_queue(&q, &attrs(&[("VisibilityTimeout", "600")]), &BTreeMap::new())
            .expect("create");
        queues.tag(&q, &attrs(&[("team", "core")])).expect("tag");
        queues.send(&q, vec![msg("in-flight"), msg("visible")]).expect("send");
        let got = queues.receive(&q, receive_req(1, None, 0)).await.expect("receive");
        assert_eq!(got[0].body, "in-flight");
        handle = got[0].receipt_handle.clone();
    }
    let queues = Queues::open(open_store(dir.path()), Clock::new()).expect("reopen");
    assert_eq!(
        queues.list_tags(&q).expect("tags").get("team").map(String::as_str),
        Some("core")
    );
    assert_eq!(count(&queues, &q, "ApproximateNumberOfMessagesNotVisible").await, 1);
    let got = queues.receive(&q, receive_req(10, None, 0)).await.expect("receive");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "visible");
    // The handle issued before the restart still works.
    queues
        .change_visibility(
            &q,
            &[VisibilityChange {
                receipt_handle: handle,
                timeout_seconds: 0,
            }],
        )
        .expect("cv")[0]
        .as_ref()
        .expect("ok");
    let again = queues.receive(&q, receive_req(10, None, 0)).await.expect("receive");
    assert_eq!(again[0].body, "in-flight");
    assert_eq!(again[0].receive_count, 2);
    // New sends continue after the highest stored sequence.
    queues.send(&q, vec![msg("after")]).expect("send");
    assert_eq!(count(&queues, &q, "ApproximateNumberOfMessages").await, 1);
}

#[tokio::test]
async fn oversized_message_is_rejected_per_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queues = Queues::open(open_store(dir.path()), Clock::new()).expect("open");
    let q = key("size");
    queues
        .create_queue(&q, &attrs(&[("MaximumMessageSize", "1024")]), &BTreeMap::new())
        .expect("create");
    let results = queues.send(&q, vec![msg(&"x".repeat(1025)), msg("ok")]).expect("send");
    assert!(matches!(results[0], Err(QueueError::InvalidParameterValue(_))));
    assert!(results[1].is_ok());
}

/// Issue 14: a sender that entered a new sequence block and had not committed yet when the
/// process died must not let the restart hand out a sequence another sender already used. The
/// old code put the block's reservation in that sender's batch only, so the later sender's
/// message (received and deleted, leaving no trace) had its sequence, and its receipt handle,
/// reused after the restart.
#[tokio::test]
async fn sequences_never_repeat_when_the_reserving_send_dies_uncommitted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let q = key("crash-seq");
    let (used, old_handle) = {
        let queues = Queues::open(open_store(dir.path()), Clock::new()).expect("open");
        queues
            .create_queue(&q, &BTreeMap::new(), &BTreeMap::new())
            .expect("create");
        let queue = queues.lookup(&q).expect("queue");
        // Sender A takes the first sequence of the queue's first block and is then killed
        // before its own batch commits.
        let reserving = queue.take_seq(&queues.store).expect("sequence");
        // Sender B sends, and its message is received and deleted before the crash.
        queues.send(&q, vec![msg("b")]).expect("send")[0]
            .as_ref()
            .expect("sent");
        let got = queues.receive(&q, receive_req(1, None, 0)).await.expect("receive");
        let handle = got[0].receipt_handle.clone();
        let used = Receipt::decode(&handle).expect("our handle").seq;
        assert!(used > reserving);
        queues
            .delete_messages(&q, std::slice::from_ref(&handle))
            .expect("delete")[0]
            .as_ref()
            .expect("deleted");
        (used, handle)
        // Dropped without shutdown: what is committed is what a kill -9 leaves.
    };
    let queues = Queues::open(open_store(dir.path()), Clock::new()).expect("reopen");
    let fresh: Vec<NewMessage> = (0..4).map(|i| msg(&format!("after-{i}"))).collect();
    queues.send(&q, fresh).expect("send");
    let got = queues
        .receive(&q, receive_req(10, Some(600), 0))
        .await
        .expect("receive");
    assert_eq!(got.len(), 4);
    for m in &got {
        let seq = Receipt::decode(&m.receipt_handle).expect("our handle").seq;
        assert!(
            seq > used,
            "sequence {seq} handed out again after the restart (was used: {used})"
        );
    }
    // The handle of the deleted message names none of the new ones.
    queues.delete_messages(&q, &[old_handle]).expect("delete")[0]
        .as_ref()
        .expect("an old handle succeeds without deleting");
    assert_eq!(count(&queues, &q, "ApproximateNumberOfMessagesNotVisible").await, 4);
}

/// Sequence reservations survive restarts in every order: each restart starts above the
/// stored mark, and the first send after it reserves again before using a sequence.
#[tokio::test]
async fn every_handed_out_sequence_is_below_the_stored_reservation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let q = key("marks");
    let mut highest = 0;
    for round in 0..3 {
        let queues = Queues::open(open_store(dir.path()), Clock::new()).expect("open");
        if round == 0 {
            queues
                .create_queue(&q, &BTreeMap::new(), &BTreeMap::new())
                .expect("create");
        }
        let queue = queues.lookup(&q).expect("queue");
        for _ in 0..3 {
            let seq = queue.take_seq(&queues.store).expect("sequence");
            assert!(seq > highest, "round {round}: {seq} after {highest}");
            highest = seq;
            let mark = queues
                .store
                .get(Cf::Meta, &seq_mark_key(queue.id))
                .expect("read")
                .and_then(|v| key::read_u64(&v, 0))
                .expect("a reservation is stored before the sequence is returned");
            assert!(seq < mark, "round {round}: {seq} not below the stored mark {mark}");
            assert_eq!(
                (mark - 1) % SEQ_BLOCK,
                0,
                "round {round}: mark {mark} off the block grid"
            );
        }
    }
}

#[test]
fn queue_keys_round_trip_through_their_arns() {
    let key = QueueKey::new("123456789012", "eu-west-1", "q");
    assert_eq!(key.arn(), "arn:aws:sqs:eu-west-1:123456789012:q");
    assert_eq!(QueueKey::from_arn(&key.arn()), Some(key));
    assert_eq!(QueueKey::from_arn("arn:aws:sns:eu-west-1:1:q"), None);
    assert_eq!(QueueKey::from_arn("nonsense"), None);
}

#[tokio::test(start_paused = true)]
async fn peek_shows_messages_and_their_state_without_receiving_them() {
    use super::peek::PeekState;
    let dir = tempfile::tempdir().expect("tempdir");
    let queues = Queues::open(open_store(dir.path()), Clock::new()).expect("open");
    let q = key("peek");
    queues
        .create_queue(&q, &attrs(&[("VisibilityTimeout", "30")]), &BTreeMap::new())
        .expect("create");
    let bodies: Vec<String> = (0..5).map(|i| format!("m{i}")).collect();
    for b in &bodies {
        queues.send(&q, vec![msg(b)]).expect("send")[0].as_ref().expect("sent");
    }
    let mut delayed = msg("later");
    delayed.delay_seconds = Some(60);
    queues.send(&q, vec![delayed]).expect("send")[0].as_ref().expect("sent");
    let received = queues.receive(&q, receive_req(1, None, 0)).await.expect("receive");
    assert_eq!(received.len(), 1);

    // Pages of two, in send order, continuing where the last one stopped.
    let mut seen = Vec::new();
    let mut from = 0;
    for _ in 0..10 {
        let page = queues.peek(&q, from, 2).expect("peek");
        assert!(page.messages.len() <= 2);
        seen.extend(page.messages);
        match page.next {
            Some(next) => from = next,
            None => break,
        }
    }
    let seen_bodies: Vec<&str> = seen.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(seen_bodies, ["m0", "m1", "m2", "m3", "m4", "later"]);
    let state_of = |body: &str| seen.iter().find(|m| m.body == body).map(|m| (m.state, m.receive_count));
    assert_eq!(state_of(&received[0].body), Some((PeekState::InFlight, 1)));
    assert_eq!(state_of("later"), Some((PeekState::Delayed, 0)));
    let visible = seen.iter().filter(|m| m.state == PeekState::Visible).count();
    assert_eq!(visible, 4);

    // Peeking changed nothing: the four visible messages are received once each.
    let again = queues.receive(&q, receive_req(10, None, 0)).await.expect("receive");
    assert_eq!(again.len(), 4);
    assert!(again.iter().all(|m| m.receive_count == 1));

    // A deleted message is gone from the next peek.
    queues
        .delete_messages(&q, &[again[0].receipt_handle.clone()])
        .expect("delete")[0]
        .as_ref()
        .expect("ok");
    let page = queues.peek(&q, 0, 100).expect("peek");
    assert_eq!(page.messages.len(), 5);
    assert!(page.next.is_none());
    assert!(page.messages.iter().all(|m| m.body != again[0].body));
    assert!(matches!(
        queues.peek(&key("missing"), 0, 10),
        Err(QueueError::QueueDoesNotExist)
    ));
}

#[tokio::test(start_paused = true)]
async fn delete_at_removes_only_the_named_message_and_the_overview_counts_traffic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queues = Queues::open(open_store(dir.path()), Clock::new()).expect("open");
    let dlq = key("dlq");
    queues
        .create_queue(&dlq, &attrs(&[]), &BTreeMap::new())
        .expect("create dlq");
    let q = key("work");
    let redrive = format!(r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":"3"}}"#, dlq.arn());
    queues
        .create_queue(&q, &attrs(&[("RedrivePolicy", &redrive)]), &BTreeMap::new())
        .expect("create");
    queues.send(&q, vec![msg("a"), msg("b"), msg("c")]).expect("send");
    queues.send(&dlq, vec![msg("dead")]).expect("send");
    let got = queues.receive(&q, receive_req(1, None, 0)).await.expect("receive");
    assert_eq!(got.len(), 1);

    let page = queues.peek(&q, 0, 10).expect("peek");
    let in_flight = page
        .messages
        .iter()
        .find(|m| m.message_id == got[0].message_id)
        .expect("the received message is peeked");
    // Another id at that position deletes nothing; the right one deletes it, in flight or not.
    assert!(!queues
        .delete_at(&q, in_flight.position, "another-id")
        .expect("delete_at"));
    assert!(queues
        .delete_at(&q, in_flight.position, &in_flight.message_id)
        .expect("delete_at"));
    assert!(!queues
        .delete_at(&q, in_flight.position, &in_flight.message_id)
        .expect("delete_at again"));
    assert_eq!(queues.peek(&q, 0, 10).expect("peek").messages.len(), 2);
    // Its receipt handle now deletes nothing (and fails nothing).
    queues
        .delete_messages(&q, &[got[0].receipt_handle.clone()])
        .expect("delete")[0]
        .as_ref()
        .expect("ok");

    let overview = queues.overview("000000000000", "us-east-1");
    let names: Vec<&str> = overview.iter().map(|o| o.key.name.as_str()).collect();
    assert_eq!(names, ["dlq", "work"]);
    let work = &overview[1];
    assert_eq!((work.visible, work.in_flight, work.delayed), (2, 0, 0));
    assert_eq!((work.sent, work.received, work.deleted), (3, 1, 1));
    assert!(!work.is_dead_letter_queue);
    let target = work.dead_letter_target.as_ref().expect("redrive target");
    assert_eq!(
        (target.name.as_deref(), target.max_receive_count, target.visible),
        (Some("dlq"), 3, 1)
    );
    assert!(overview[0].is_dead_letter_queue);
    assert!(queues.overview("000000000000", "eu-west-1").is_empty());
}

#[test]
fn start_up_estimates_a_backlog_by_its_runs_of_sequences() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(dir.path());
    let b = SEQ_BLOCK;
    // One run per lifetime: from a block's start; from past a burnt prefix; one run crossing a
    // block's end (reserved before the grid); another queue's keys around them.
    let runs = [
        (1, 100),
        (b + 501, b + 600),
        (2 * b + 1, 2 * b + 100),
        (4 * b - 9, 4 * b + 10),
    ];
    let mut batch = store.batch();
    for (from, to) in runs {
        for seq in from..=to {
            batch.put(Cf::QueueMsgs, &message_key(7, seq), b"m");
        }
    }
    batch.put(Cf::QueueMsgs, &message_key(6, 5 * b), b"other");
    batch.put(Cf::QueueMsgs, &message_key(8, 1), b"other");
    store.commit(batch).expect("commit");
    let last = last_stored_at_or_before(&store, 7, u64::MAX).expect("last");
    assert_eq!(last, Some(4 * b + 10));
    let between = |lo, hi| stored_between(&store, 7, lo, hi).expect("estimate");
    assert_eq!(between(50, 4 * b + 10), 51 + 100 + 100 + 20, "exact: one run per block");
    assert_eq!(between(b + 550, 2 * b + 10), 51 + 10);
    assert_eq!(between(101, b + 500), 0);
    assert_eq!(
        first_stored_at_or_after(&store, 7, 4 * b + 11).expect("first"),
        None,
        "8's key is not 7's"
    );
    // Two runs in one block (written before the grid) make an upper bound, never too low.
    let mut batch = store.batch();
    for seq in 3 * b - 9..=3 * b {
        batch.put(Cf::QueueMsgs, &message_key(7, seq), b"m");
    }
    store.commit(batch).expect("commit");
    assert!(between(2 * b + 1, 3 * b) >= 100 + 10);
}
