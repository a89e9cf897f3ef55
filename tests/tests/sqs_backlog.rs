//! Backlogs larger than what the broker keeps in memory: started with `--queue-hot-messages`
//! far below the backlog, a queue still counts, delivers and keeps every message, through a
//! crash and a restart, in sequence order for standard queues and in group order for FIFO
//! queues (docs/design.md, "Queue index and its cold tail").

use std::collections::{BTreeMap, HashSet};

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, QueueAttributeName as Q, SendMessageBatchRequestEntry};
use sluice_tests::sqs::{counts, create_queue, ok, receive};
use sluice_tests::Broker;

const HOT: &str = "40";

/// Sends `bodies` in batches of ten, four batches at a time, each with `group` when given.
async fn send_batches(sqs: &aws_sdk_sqs::Client, url: &str, bodies: &[String], group: Option<&str>) {
    for wave in bodies.chunks(40) {
        let mut tasks = Vec::new();
        for chunk in wave.chunks(10) {
            let mut call = sqs.send_message_batch().queue_url(url);
            for (i, body) in chunk.iter().enumerate() {
                let mut entry = SendMessageBatchRequestEntry::builder()
                    .id(format!("e{i}"))
                    .message_body(body);
                if let Some(group) = group {
                    entry = entry.message_group_id(group).message_deduplication_id(body);
                }
                call = call.entries(entry.build().expect("entry"));
            }
            tasks.push(tokio::spawn(async move { call.send().await }));
            if group.is_some() {
                // One group's batches in order: a FIFO group's order is its send order.
                let out = ok(tasks.pop().expect("task").await.expect("join"), "SendMessageBatch");
                assert!(out.failed().is_empty(), "{:?}", out.failed());
            }
        }
        for task in tasks {
            let out = ok(task.await.expect("join"), "SendMessageBatch");
            assert!(out.failed().is_empty(), "{:?}", out.failed());
        }
    }
}

/// Receives and deletes up to `n` messages (all of them when `n` is `usize::MAX`) until a
/// receive comes back empty; bodies in receive order. Bounded by 500 receives.
async fn take(sqs: &aws_sdk_sqs::Client, url: &str, n: usize) -> Vec<String> {
    let mut got = Vec::new();
    for _ in 0..500 {
        if got.len() >= n {
            break;
        }
        let max = (n - got.len()).min(10) as i32;
        let batch = receive(sqs, url, max, 0, Some(60)).await;
        if batch.is_empty() {
            break;
        }
        let mut delete = sqs.delete_message_batch().queue_url(url);
        for (i, m) in batch.iter().enumerate() {
            delete = delete.entries(
                DeleteMessageBatchRequestEntry::builder()
                    .id(format!("d{i}"))
                    .receipt_handle(m.receipt_handle().expect("handle"))
                    .build()
                    .expect("entry"),
            );
            got.push(m.body().expect("body").to_string());
        }
        let out = ok(delete.send().await, "DeleteMessageBatch");
        assert!(out.failed().is_empty(), "{:?}", out.failed());
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_past_the_memory_window_survives_a_crash_and_drains_exactly_once() {
    let mut broker = Broker::start_with(&["--queue-hot-messages", HOT]).await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "backlog", &[]).await;
    let bodies: Vec<String> = (0..800).map(|i| format!("m{i:04}")).collect();
    send_batches(&sqs, &url, &bodies, None).await;
    assert_eq!(counts(&sqs, &url).await, (800, 0, 0));

    let mut got = take(&sqs, &url, 300).await;
    assert_eq!(got.len(), 300);
    broker.kill9();
    broker.start_again().await;
    let sqs = broker.sqs().await;
    assert_eq!(counts(&sqs, &url).await, (500, 0, 0), "the backlog after a crash");

    got.extend(take(&sqs, &url, usize::MAX).await);
    let unique: HashSet<&String> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "no message delivered twice");
    assert_eq!(unique, bodies.iter().collect::<HashSet<_>>(), "every message delivered");
    assert_eq!(counts(&sqs, &url).await, (0, 0, 0));
    assert!(receive(&sqs, &url, 10, 1, None).await.is_empty());
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_groups_keep_their_order_past_the_memory_window_and_through_a_restart() {
    let mut broker = Broker::start_with(&["--queue-hot-messages", HOT]).await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "backlog.fifo", &[(Q::FifoQueue, "true")]).await;
    let groups = ["g0", "g1", "g2", "g3"];
    for group in groups {
        let bodies: Vec<String> = (0..90).map(|i| format!("{group}-{i:03}")).collect();
        send_batches(&sqs, &url, &bodies, Some(group)).await;
    }
    assert_eq!(counts(&sqs, &url).await, (360, 0, 0));

    let mut got = take(&sqs, &url, 150).await;
    broker.restart().await;
    let sqs = broker.sqs().await;
    assert_eq!(counts(&sqs, &url).await, (210, 0, 0), "the backlog after a restart");
    got.extend(take(&sqs, &url, usize::MAX).await);

    let mut by_group: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    for body in &got {
        by_group.entry(&body[..2]).or_default().push(body);
    }
    for group in groups {
        let expected: Vec<String> = (0..90).map(|i| format!("{group}-{i:03}")).collect();
        let seen: Vec<String> = by_group
            .get(group)
            .map(|v| v.iter().map(|b| b.to_string()).collect())
            .unwrap_or_default();
        assert_eq!(seen, expected, "group {group}: every message once, in send order");
    }
    assert_eq!(counts(&sqs, &url).await, (0, 0, 0));
    broker.stop().await;
}
