//! FIFO queues and fair standard queues under a paused clock: deduplication (also across a
//! reopen), group order and locking, sequence numbers, receive attempts and FIFO rules.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sluice_storage::{Durability, Store, StoreOptions};

use super::message::{NewMessage, ReceivedMessage, SentMessage};
use super::*;

fn open(dir: &std::path::Path, clock: Clock) -> Queues {
    let store = Store::open(
        dir,
        StoreOptions {
            durability: Durability::Process,
        },
    )
    .expect("open store");
    Queues::open(Arc::new(store), clock).expect("open queues")
}

fn key(name: &str) -> QueueKey {
    QueueKey::new("000000000000", "us-east-1", name)
}

fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn fifo_msg(body: &str, group: &str, dedup: Option<&str>) -> NewMessage {
    NewMessage {
        body: body.into(),
        sender_id: "000000000000".into(),
        group_id: Some(group.into()),
        deduplication_id: dedup.map(str::to_string),
        ..NewMessage::default()
    }
}

fn recv(max: u32, vt: Option<u32>) -> ReceiveRequest {
    ReceiveRequest {
        max_messages: max,
        visibility_timeout: vt,
        wait_seconds: Some(0),
        attempt_id: None,
    }
}

fn send_one(queues: &Queues, q: &QueueKey, msg: NewMessage) -> Result<SentMessage> {
    queues.send(q, vec![msg]).expect("queue exists").remove(0)
}

fn bodies(msgs: &[ReceivedMessage]) -> Vec<&str> {
    msgs.iter().map(|m| m.body.as_str()).collect()
}

fn create_fifo(queues: &Queues, name: &str, extra: &[(&str, &str)]) -> QueueKey {
    let q = key(name);
    let mut a = attrs(&[("FifoQueue", "true")]);
    a.extend(attrs(extra));
    queues.create_queue(&q, &a, &BTreeMap::new()).expect("create fifo");
    q
}

#[tokio::test(start_paused = true)]
async fn fifo_names_and_types_must_agree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queues = open(dir.path(), Clock::new());
    let err = queues
        .create_queue(&key("jobs.fifo"), &attrs(&[]), &BTreeMap::new())
        .expect_err("fifo suffix without FifoQueue");
    assert!(matches!(err, QueueError::InvalidParameterValue(_)));
    let err = queues
        .create_queue(&key("jobs"), &attrs(&[("FifoQueue", "true")]), &BTreeMap::new())
        .expect_err("FifoQueue without suffix");
    assert!(matches!(err, QueueError::InvalidParameterValue(_)));
    create_fifo(&queues, "jobs.fifo", &[]);
    let got = queues
        .get_attributes(&key("jobs.fifo"), &["All".into()])
        .expect("attributes");
    let get = |n: &str| got.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    assert_eq!(get("FifoQueue"), Some("true"));
    assert_eq!(get("ContentBasedDeduplication"), Some("false"));
    assert_eq!(get("DeduplicationScope"), Some("queue"));
    assert_eq!(get("FifoThroughputLimit"), Some("perQueue"));

    // A FIFO queue's dead-letter queue must be FIFO, and a standard queue's standard.
    queues
        .create_queue(&key("std-dlq"), &attrs(&[]), &BTreeMap::new())
        .expect("standard");
    let policy = |target: &str| {
        format!(
            r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":2}}"#,
            key(target).arn()
        )
    };
    let err = queues
        .set_attributes(&key("jobs.fifo"), &attrs(&[("RedrivePolicy", &policy("std-dlq"))]))
        .expect_err("standard dlq for fifo");
    assert!(matches!(err, QueueError::InvalidAttributeValue(_)));
    create_fifo(&queues, "dlq.fifo", &[]);
    queues
        .set_attributes(&key("jobs.fifo"), &attrs(&[("RedrivePolicy", &policy("dlq.fifo"))]))
        .expect("fifo dlq");
    let err = queues
        .create_queue(
            &key("std-src"),
            &attrs(&[("RedrivePolicy", &policy("dlq.fifo"))]),
            &BTreeMap::new(),
        )
        .expect_err("fifo dlq for standard");
    assert!(matches!(err, QueueError::InvalidAttributeValue(_)));
}

#[tokio::test(start_paused = true)]
async fn fifo_send_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queues = open(dir.path(), Clock::new());
    let q = create_fifo(&queues, "rules.fifo", &[]);
    let no_group = NewMessage {
        group_id: None,
        ..fifo_msg("a", "g", Some("d"))
    };
    assert!(matches!(
        send_one(&queues, &q, no_group),
        Err(QueueError::MissingParameter(_))
    ));
    assert!(matches!(
        send_one(&queues, &q, fifo_msg("a", "g", None)),
        Err(QueueError::InvalidParameterValue(_))
    ));
    let delayed = NewMessage {
        delay_seconds: Some(5),
        ..fifo_msg("a", "g", Some("d"))
    };
    assert!(matches!(
        send_one(&queues, &q, delayed),
        Err(QueueError::InvalidParameterValue(_))
    ));
    let zero_delay = NewMessage {
        delay_seconds: Some(0),
        ..fifo_msg("a", "g", Some("d"))
    };
    assert!(send_one(&queues, &q, zero_delay).is_ok(), "DelaySeconds=0 is accepted");
    for bad in ["has space", "", &"x".repeat(129)] {
        assert!(matches!(
            send_one(&queues, &q, fifo_msg("a", bad, Some("d2"))),
            Err(QueueError::InvalidParameterValue(_))
        ));
        assert!(matches!(
            send_one(&queues, &q, fifo_msg("a", "g", Some(bad))),
            Err(QueueError::InvalidParameterValue(_))
        ));
    }
    // Standard queues take a group id (fair queues) but not a deduplication id.
    queues
        .create_queue(&key("std"), &attrs(&[]), &BTreeMap::new())
        .expect("standard");
    assert!(send_one(&queues, &key("std"), fifo_msg("a", "tenant", None)).is_ok());
    assert!(matches!(
        send_one(&queues, &key("std"), fifo_msg("a", "tenant", Some("d"))),
        Err(QueueError::InvalidParameterValue(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn duplicates_inside_the_window_answer_the_original_and_are_not_delivered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Clock::new();
    let queues = open(dir.path(), clock);
    let q = create_fifo(&queues, "dedupe.fifo", &[("ContentBasedDeduplication", "true")]);
    let first = send_one(&queues, &q, fifo_msg("body-1", "g", Some("id-1"))).expect("sent");
    let seq1 = first.sequence_number.clone().expect("sequence number");
    assert_eq!(seq1.len(), 20);
    // Same explicit id, other body: a duplicate.
    let dup = send_one(&queues, &q, fifo_msg("other", "g", Some("id-1"))).expect("dup accepted");
    assert_eq!(dup, first);
    // Content-based: same body without an id is a duplicate of the first content-based send.
    let c1 = send_one(&queues, &q, fifo_msg("same", "g", None)).expect("sent");
    let c2 = send_one(&queues, &q, fifo_msg("same", "h", None)).expect("dup");
    assert_eq!(c1.message_id, c2.message_id);
    assert!(c1.sequence_number > first.sequence_number);
    // Within one batch too.
    let batch = queues
        .send(
            &q,
            vec![fifo_msg("x", "g", Some("b-1")), fifo_msg("y", "g", Some("b-1"))],
        )
        .expect("batch");
    assert_eq!(
        batch[0].as_ref().expect("ok").message_id,
        batch[1].as_ref().expect("ok").message_id
    );

    // The window survives a reopen.
    drop(queues);
    let queues = open(dir.path(), clock);
    let again = send_one(&queues, &q, fifo_msg("body-1", "g", Some("id-1"))).expect("dup after reopen");
    assert_eq!(again, first);
    let got = queues.receive(&q, recv(10, None)).await.expect("receive");
    assert_eq!(bodies(&got), vec!["body-1", "same", "x"]);
    assert_eq!(got[0].deduplication_id.as_deref(), Some("id-1"));
    assert_eq!(
        got[1].deduplication_id.as_deref(),
        Some(&*fifo::content_deduplication_id("same"))
    );
    assert_eq!(got[0].group_id.as_deref(), Some("g"));
    assert_eq!(got[0].sequence_number.as_deref(), Some(seq1.as_str()));

    // After five minutes the id is free again, even though the original was never deleted.
    tokio::time::advance(Duration::from_millis(fifo::DEDUPLICATION_WINDOW_MS + 1)).await;
    let fresh = send_one(&queues, &q, fifo_msg("body-1", "g", Some("id-1"))).expect("new");
    assert_ne!(fresh.message_id, first.message_id);
    // A closed window's entry left on disk counts for nothing after a reopen either.
    queues.sweep_expired().expect("sweep");
    drop(queues);
    let queues = open(dir.path(), clock);
    let after = send_one(&queues, &q, fifo_msg("z", "g", Some("b-1"))).expect("new");
    assert_ne!(after.message_id, batch[0].as_ref().expect("ok").message_id);
}

#[tokio::test(start_paused = true)]
async fn message_group_scope_deduplicates_per_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queues = open(dir.path(), Clock::new());
    let q = create_fifo(
        &queues,
        "ht.fifo",
        &[
            ("DeduplicationScope", "messageGroup"),
            ("FifoThroughputLimit", "perMessageGroupId"),
        ],
    );
    let a = send_one(&queues, &q, fifo_msg("a", "A", Some("same"))).expect("a");
    let b = send_one(&queues, &q, fifo_msg("b", "B", Some("same"))).expect("b");
    let a2 = send_one(&queues, &q, fifo_msg("a2", "A", Some("same"))).expect("a dup");
    assert_ne!(a.message_id, b.message_id);
    assert_eq!(a2.message_id, a.message_id);
}

#[tokio::test(start_paused = true)]
async fn groups_are_delivered_in_order_and_locked_while_in_flight() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queues = open(dir.path(), Clock::new());
    let q = create_fifo(&queues, "order.fifo", &[("VisibilityTimeout", "10")]);
    for (i, g) in ["A", "B", "A", "B", "A"].iter().enumerate() {
        send_one(&queues, &q, fifo_msg(&format!("{g}{i}"), g, Some(&i.to_string()))).expect("send");
    }
    // One receive takes group A in order first, then B.
    let got = queues.receive(&q, recv(4, None)).await.expect("receive");
    assert_eq!(bodies(&got), vec!["A0", "A2", "A4", "B1"]);
    // B is locked by B1 in flight, so B3 is not handed out.
    assert!(queues.receive(&q, recv(10, None)).await.expect("receive").is_empty());
    // Deleting B1 unlocks B.
    queues
        .delete_messages(&q, &[got[3].receipt_handle.clone()])
        .expect("delete")[0]
        .as_ref()
        .expect("deleted");
    let b = queues.receive(&q, recv(10, None)).await.expect("receive");
    assert_eq!(bodies(&b), vec!["B3"]);
    // A's messages come back in order after the visibility timeout, with higher counts.
    tokio::time::advance(Duration::from_secs(10)).await;
    let again = queues.receive(&q, recv(10, None)).await.expect("receive");
    assert_eq!(bodies(&again)[..3], ["A0", "A2", "A4"]);
    assert!(again.iter().take(3).all(|m| m.receive_count == 2));
    // Sequence numbers increase in send order within the group.
    let seqs: Vec<&String> = again
        .iter()
        .take(3)
        .filter_map(|m| m.sequence_number.as_ref())
        .collect();
    assert_eq!(seqs.len(), 3);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test(start_paused = true)]
async fn a_long_poll_wakes_when_a_delete_unlocks_the_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queues = Arc::new(open(dir.path(), Clock::new()));
    let q = create_fifo(&queues, "wake.fifo", &[]);
    send_one(&queues, &q, fifo_msg("1", "g", Some("1"))).expect("send");
    send_one(&queues, &q, fifo_msg("2", "g", Some("2"))).expect("send");
    let first = queues.receive(&q, recv(1, None)).await.expect("receive");
    let waiter = {
        let (queues, q) = (queues.clone(), q.clone());
        tokio::spawn(async move {
            let req = ReceiveRequest {
                wait_seconds: Some(20),
                ..recv(1, None)
            };
            queues.receive(&q, req).await
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!waiter.is_finished(), "group is locked");
    queues
        .delete_messages(&q, &[first[0].receipt_handle.clone()])
        .expect("delete");
    let got = waiter.await.expect("join").expect("receive");
    assert_eq!(bodies(&got), vec!["2"]);
}

#[tokio::test(start_paused = true)]
async fn a_retried_receive_attempt_returns_the_same_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queues = open(dir.path(), Clock::new());
    let q = create_fifo(&queues, "attempt.fifo", &[("ContentBasedDeduplication", "true")]);
    for body in ["1", "2", "3"] {
        send_one(&queues, &q, fifo_msg(body, "g", None)).expect("send");
    }
    let req = ReceiveRequest {
        attempt_id: Some("try-1".into()),
        ..recv(2, Some(30))
    };
    let first = queues.receive(&q, req.clone()).await.expect("receive");
    assert_eq!(bodies(&first), vec!["1", "2"]);
    tokio::time::advance(Duration::from_secs(5)).await;
    let retry = queues.receive(&q, req.clone()).await.expect("retry");
    assert_eq!(bodies(&retry), vec!["1", "2"]);
    assert_eq!(retry[0].receipt_handle, first[0].receipt_handle);
    // Once a message changed (deleted), the attempt is not replayed: a fresh receive runs,
    // which finds the group locked by message 2.
    queues
        .delete_messages(&q, &[first[0].receipt_handle.clone()])
        .expect("delete");
    assert!(queues.receive(&q, req).await.expect("receive").is_empty());
}

#[tokio::test(start_paused = true)]
async fn sequence_numbers_keep_increasing_across_a_reopen_of_an_emptied_queue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Clock::new();
    let queues = open(dir.path(), clock);
    let q = create_fifo(&queues, "seq.fifo", &[("ContentBasedDeduplication", "true")]);
    let first = send_one(&queues, &q, fifo_msg("1", "g", None)).expect("send");
    let got = queues.receive(&q, recv(1, None)).await.expect("receive");
    queues
        .delete_messages(&q, &[got[0].receipt_handle.clone()])
        .expect("delete");
    drop(queues);
    let queues = open(dir.path(), clock);
    let second = send_one(&queues, &q, fifo_msg("2", "g", None)).expect("send");
    assert!(second.sequence_number > first.sequence_number);
    // The old receipt handle does not touch the new message.
    let old_handle = got[0].receipt_handle.clone();
    queues.delete_messages(&q, &[old_handle]).expect("delete");
    assert_eq!(queues.receive(&q, recv(1, None)).await.expect("receive").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn fifo_messages_move_to_a_fifo_dead_letter_queue_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queues = open(dir.path(), Clock::new());
    let dlq = create_fifo(&queues, "dead.fifo", &[]);
    let policy = format!(r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":1}}"#, dlq.arn());
    let src = create_fifo(&queues, "src.fifo", &[("RedrivePolicy", &policy)]);
    for i in 0..3 {
        send_one(&queues, &src, fifo_msg(&i.to_string(), "g", Some(&i.to_string()))).expect("send");
    }
    let got = queues.receive(&src, recv(10, Some(0))).await.expect("receive");
    assert_eq!(bodies(&got), vec!["0", "1", "2"]);
    // Their second receive moves all three, in order, to the dead-letter queue.
    assert!(queues.receive(&src, recv(10, None)).await.expect("receive").is_empty());
    let dead = queues.receive(&dlq, recv(10, None)).await.expect("receive");
    assert_eq!(bodies(&dead), vec!["0", "1", "2"]);
    assert!(dead.iter().all(|m| m.group_id.as_deref() == Some("g")));
}

#[tokio::test(start_paused = true)]
async fn fair_queue_serves_a_quiet_tenant_despite_a_noisy_backlog() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queues = open(dir.path(), Clock::new());
    let q = key("fair");
    queues.create_queue(&q, &attrs(&[]), &BTreeMap::new()).expect("create");
    let batch: Vec<NewMessage> = (0..10)
        .map(|i| fifo_msg(&format!("noisy-{i}"), "noisy", None))
        .collect();
    for _ in 0..10 {
        queues.send(&q, batch.clone()).expect("send");
    }
    // The noisy tenant already holds many messages in flight.
    for _ in 0..3 {
        assert_eq!(queues.receive(&q, recv(10, None)).await.expect("receive").len(), 10);
    }
    queues.send(&q, vec![fifo_msg("quiet", "quiet", None)]).expect("send");
    let got = queues.receive(&q, recv(1, None)).await.expect("receive");
    assert_eq!(bodies(&got), vec!["quiet"], "the quiet tenant goes first");
    assert_eq!(got[0].group_id.as_deref(), Some("quiet"));
}
