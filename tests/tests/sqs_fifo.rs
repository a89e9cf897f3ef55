//! FIFO queues, high-throughput FIFO and fair queues through the official `aws-sdk-sqs` client
//! (AWS JSON 1.0), plus one FIFO send over the query protocol: creation rules, send rules and
//! their error codes, deduplication (also across a restart), sequence numbers, strict per-group
//! order with concurrent consumers, receive-attempt retries and tenant fairness.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{MessageSystemAttributeName as S, QueueAttributeName as Q, SendMessageBatchRequestEntry};
use aws_sdk_sqs::Client;
use sluice_tests::raw;
use sluice_tests::sqs::{create_queue, expect_code, ok, queue_attributes, receive, sys_attr};
use sluice_tests::{xml, Broker};

async fn create_fifo(sqs: &Client, name: &str, extra: &[(Q, &str)]) -> String {
    let mut attrs = vec![(Q::FifoQueue, "true")];
    attrs.extend(extra.iter().cloned());
    create_queue(sqs, name, &attrs).await
}

async fn send_fifo(sqs: &Client, url: &str, body: &str, group: &str, dedup: Option<&str>) -> (String, String) {
    let out = ok(
        sqs.send_message()
            .queue_url(url)
            .message_body(body)
            .message_group_id(group)
            .set_message_deduplication_id(dedup.map(str::to_string))
            .send()
            .await,
        "SendMessage",
    );
    (
        out.message_id().expect("MessageId").to_string(),
        out.sequence_number()
            .expect("SequenceNumber on a FIFO send")
            .to_string(),
    )
}

fn bodies(msgs: &[aws_sdk_sqs::types::Message]) -> Vec<&str> {
    msgs.iter().map(|m| m.body().unwrap_or_default()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_queue_creation_rules_and_attributes() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    expect_code(
        sqs.create_queue().queue_name("jobs.fifo").send().await,
        "InvalidParameterValue",
    );
    expect_code(
        sqs.create_queue()
            .queue_name("jobs")
            .attributes(Q::FifoQueue, "true")
            .send()
            .await,
        "InvalidParameterValue",
    );
    expect_code(
        sqs.create_queue()
            .queue_name("plain")
            .attributes(Q::ContentBasedDeduplication, "true")
            .send()
            .await,
        "InvalidAttributeName",
    );
    expect_code(
        sqs.create_queue()
            .queue_name("ht.fifo")
            .attributes(Q::FifoQueue, "true")
            .attributes(Q::FifoThroughputLimit, "perMessageGroupId")
            .send()
            .await,
        "InvalidAttributeValue",
    );
    let url = create_fifo(
        &sqs,
        "ht.fifo",
        &[
            (Q::DeduplicationScope, "messageGroup"),
            (Q::FifoThroughputLimit, "perMessageGroupId"),
            (Q::ContentBasedDeduplication, "true"),
        ],
    )
    .await;
    assert!(url.ends_with("/ht.fifo"), "{url}");
    let attrs = queue_attributes(&sqs, &url, &[]).await;
    assert_eq!(attrs["FifoQueue"], "true");
    assert_eq!(attrs["ContentBasedDeduplication"], "true");
    assert_eq!(attrs["DeduplicationScope"], "messageGroup");
    assert_eq!(attrs["FifoThroughputLimit"], "perMessageGroupId");
    // Going back to queue-wide deduplication while the limit is per group is refused.
    expect_code(
        sqs.set_queue_attributes()
            .queue_url(&url)
            .attributes(Q::DeduplicationScope, "queue")
            .send()
            .await,
        "InvalidAttributeValue",
    );
    // Both together are fine.
    ok(
        sqs.set_queue_attributes()
            .queue_url(&url)
            .attributes(Q::DeduplicationScope, "queue")
            .attributes(Q::FifoThroughputLimit, "perQueue")
            .send()
            .await,
        "SetQueueAttributes",
    );
    // Standard queues do not report FIFO attributes.
    let std_url = create_queue(&sqs, "plain", &[]).await;
    let attrs = queue_attributes(&sqs, &std_url, &[]).await;
    assert!(!attrs.contains_key("FifoQueue"), "{attrs:?}");
    // A FIFO queue's dead-letter queue must be FIFO.
    let policy = serde_json::json!({
        "deadLetterTargetArn": format!("arn:aws:sqs:us-east-1:{}:plain", sluice_tests::ACCOUNT_ID),
        "maxReceiveCount": 3
    })
    .to_string();
    expect_code(
        sqs.set_queue_attributes()
            .queue_url(&url)
            .attributes(Q::RedrivePolicy, policy)
            .send()
            .await,
        "InvalidAttributeValue",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_send_rules_get_aws_error_codes() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_fifo(&sqs, "rules.fifo", &[]).await;
    let send = || sqs.send_message().queue_url(&url).message_body("b");
    expect_code(send().message_deduplication_id("d").send().await, "MissingParameter");
    expect_code(send().message_group_id("g").send().await, "InvalidParameterValue");
    expect_code(
        send()
            .message_group_id("g")
            .message_deduplication_id("d")
            .delay_seconds(5)
            .send()
            .await,
        "InvalidParameterValue",
    );
    ok(
        send()
            .message_group_id("g")
            .message_deduplication_id("d")
            .delay_seconds(0)
            .send()
            .await,
        "DelaySeconds=0 is accepted",
    );
    for bad in ["with space", "tab\t", &"x".repeat(129)] {
        expect_code(
            send().message_group_id(bad).message_deduplication_id("d").send().await,
            "InvalidParameterValue",
        );
        expect_code(
            send().message_group_id("g").message_deduplication_id(bad).send().await,
            "InvalidParameterValue",
        );
    }
    ok(
        send()
            .message_group_id("x".repeat(128))
            .message_deduplication_id("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
            .send()
            .await,
        "128-character group id and punctuation dedup id",
    );
    // In a batch the bad entry fails alone.
    let entry = |id: &str, group: Option<&str>| {
        SendMessageBatchRequestEntry::builder()
            .id(id)
            .message_body(format!("batch-{id}"))
            .set_message_group_id(group.map(str::to_string))
            .message_deduplication_id(format!("dedup-{id}"))
            .build()
            .expect("entry")
    };
    let out = ok(
        sqs.send_message_batch()
            .queue_url(&url)
            .entries(entry("a", Some("g")))
            .entries(entry("b", None))
            .send()
            .await,
        "SendMessageBatch",
    );
    assert_eq!(out.successful().len(), 1);
    assert!(out.successful()[0].sequence_number().is_some());
    assert_eq!(out.failed().len(), 1);
    assert_eq!(out.failed()[0].id(), "b");
    assert_eq!(out.failed()[0].code(), "MissingParameter");
    assert!(out.failed()[0].sender_fault());
    // Standard queues refuse a deduplication id.
    let std_url = create_queue(&sqs, "std", &[]).await;
    expect_code(
        sqs.send_message()
            .queue_url(&std_url)
            .message_body("b")
            .message_deduplication_id("d")
            .send()
            .await,
        "InvalidParameterValue",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_are_dropped_inside_the_window_and_across_a_restart() {
    let mut broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_fifo(&sqs, "dedupe.fifo", &[(Q::ContentBasedDeduplication, "true")]).await;
    let first = send_fifo(&sqs, &url, "one", "g", Some("id-1")).await;
    assert_eq!(first.1.len(), 20, "SequenceNumber {}", first.1);
    assert_eq!(send_fifo(&sqs, &url, "changed body", "g", Some("id-1")).await, first);
    let by_content = send_fifo(&sqs, &url, "two", "g", None).await;
    assert!(by_content.1 > first.1, "sequence numbers increase");
    assert_eq!(send_fifo(&sqs, &url, "two", "g", None).await, by_content);

    broker.restart().await;
    let sqs = broker.sqs().await;
    assert_eq!(
        send_fifo(&sqs, &url, "one", "g", Some("id-1")).await,
        first,
        "the window survives a restart"
    );
    let third = send_fifo(&sqs, &url, "three", "g", Some("id-3")).await;
    assert!(
        third.1 > by_content.1,
        "sequence numbers keep increasing after a restart"
    );

    let got = receive(&sqs, &url, 10, 1, Some(30)).await;
    assert_eq!(bodies(&got), vec!["one", "two", "three"], "each message delivered once");
    assert_eq!(sys_attr(&got[0], S::MessageGroupId), Some("g"));
    assert_eq!(sys_attr(&got[0], S::MessageDeduplicationId), Some("id-1"));
    assert_eq!(sys_attr(&got[0], S::SequenceNumber), Some(first.1.as_str()));
    assert_eq!(sys_attr(&got[2], S::SequenceNumber), Some(third.1.as_str()));
    // Deleting the original does not reopen the window.
    let handles: Vec<String> = got
        .iter()
        .filter_map(|m| m.receipt_handle().map(str::to_string))
        .collect();
    for h in handles {
        ok(
            sqs.delete_message().queue_url(&url).receipt_handle(h).send().await,
            "DeleteMessage",
        );
    }
    assert_eq!(send_fifo(&sqs, &url, "one", "g", Some("id-1")).await, first);
    assert!(receive(&sqs, &url, 10, 0, None).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_group_scope_deduplicates_per_group() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_fifo(
        &sqs,
        "scope.fifo",
        &[
            (Q::DeduplicationScope, "messageGroup"),
            (Q::FifoThroughputLimit, "perMessageGroupId"),
        ],
    )
    .await;
    let a = send_fifo(&sqs, &url, "a", "A", Some("same")).await;
    let b = send_fifo(&sqs, &url, "b", "B", Some("same")).await;
    assert_ne!(a.0, b.0);
    assert_eq!(send_fifo(&sqs, &url, "a-again", "A", Some("same")).await, a);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_consumers_never_see_a_group_out_of_order() {
    const GROUPS: usize = 8;
    const PER_GROUP: usize = 25;
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_fifo(&sqs, "order.fifo", &[(Q::VisibilityTimeout, "30")]).await;
    // Interleave groups in the send order.
    for i in 0..PER_GROUP {
        let mut batch = sqs.send_message_batch().queue_url(&url);
        for g in 0..GROUPS {
            batch = batch.entries(
                SendMessageBatchRequestEntry::builder()
                    .id(format!("e{g}"))
                    .message_body(format!("{g}:{i}"))
                    .message_group_id(format!("group-{g}"))
                    .message_deduplication_id(format!("{g}-{i}"))
                    .build()
                    .expect("entry"),
            );
        }
        let out = ok(batch.send().await, "SendMessageBatch");
        assert!(out.failed().is_empty(), "{:?}", out.failed());
    }
    // Each consumer logs a message before deleting it; a group stays locked until the delete,
    // so the shared log is in processing order.
    let log: Arc<Mutex<Vec<(usize, usize)>>> = Arc::new(Mutex::new(Vec::new()));
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut consumers = Vec::new();
    for _ in 0..4 {
        let (sqs, url, log) = (sqs.clone(), url.clone(), log.clone());
        consumers.push(tokio::spawn(async move {
            while Instant::now() < deadline && log.lock().expect("log").len() < GROUPS * PER_GROUP {
                let got = receive(&sqs, &url, 3, 1, None).await;
                for m in &got {
                    let (g, i) = m.body().and_then(|b| b.split_once(':')).expect("body g:i");
                    log.lock()
                        .expect("log")
                        .push((g.parse().expect("g"), i.parse().expect("i")));
                }
                for m in &got {
                    ok(
                        sqs.delete_message()
                            .queue_url(&url)
                            .receipt_handle(m.receipt_handle().expect("handle"))
                            .send()
                            .await,
                        "DeleteMessage",
                    );
                }
            }
        }));
    }
    for c in consumers {
        c.await.expect("consumer");
    }
    let log = log.lock().expect("log").clone();
    assert_eq!(log.len(), GROUPS * PER_GROUP, "every message exactly once");
    let mut next: HashMap<usize, usize> = HashMap::new();
    for (g, i) in log {
        let want = next.entry(g).or_insert(0);
        assert_eq!(i, *want, "group {g} out of order");
        *want += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_receive_attempt_returns_the_same_messages() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_fifo(&sqs, "attempt.fifo", &[(Q::ContentBasedDeduplication, "true")]).await;
    for body in ["1", "2", "3"] {
        send_fifo(&sqs, &url, body, "g", None).await;
    }
    let attempt = || {
        sqs.receive_message()
            .queue_url(&url)
            .max_number_of_messages(2)
            .receive_request_attempt_id("attempt-1")
    };
    let first = ok(attempt().send().await, "ReceiveMessage").messages().to_vec();
    let retry = ok(attempt().send().await, "ReceiveMessage retry").messages().to_vec();
    assert_eq!(bodies(&first), vec!["1", "2"]);
    assert_eq!(bodies(&retry), bodies(&first));
    assert_eq!(retry[0].receipt_handle(), first[0].receipt_handle());
    // A different attempt id finds the group locked.
    let other = ok(
        sqs.receive_message()
            .queue_url(&url)
            .receive_request_attempt_id("attempt-2")
            .send()
            .await,
        "ReceiveMessage",
    );
    assert!(other.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fair_queue_serves_a_quiet_tenant_before_a_noisy_backlog() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "tenants", &[(Q::VisibilityTimeout, "60")]).await;
    for batch in 0..10 {
        let mut req = sqs.send_message_batch().queue_url(&url);
        for i in 0..10 {
            req = req.entries(
                SendMessageBatchRequestEntry::builder()
                    .id(format!("n{i}"))
                    .message_body(format!("noisy-{batch}-{i}"))
                    .message_group_id("noisy")
                    .build()
                    .expect("entry"),
            );
        }
        ok(req.send().await, "SendMessageBatch");
    }
    // The noisy tenant's consumers hold 30 messages in flight.
    for _ in 0..3 {
        assert_eq!(receive(&sqs, &url, 10, 0, None).await.len(), 10);
    }
    ok(
        sqs.send_message()
            .queue_url(&url)
            .message_body("quiet-1")
            .message_group_id("quiet")
            .send()
            .await,
        "SendMessage",
    );
    let got = receive(&sqs, &url, 1, 0, None).await;
    assert_eq!(
        bodies(&got),
        vec!["quiet-1"],
        "the quiet tenant is not stuck behind the backlog"
    );
    assert_eq!(sys_attr(&got[0], S::MessageGroupId), Some("quiet"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_send_over_the_query_protocol() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_fifo(&sqs, "query.fifo", &[]).await;
    let path = url.trim_start_matches(&broker.endpoint()).to_string();
    let params = [
        ("Action", "SendMessage"),
        ("Version", "2012-11-05"),
        ("MessageBody", "hello"),
        ("MessageGroupId", "g"),
        ("MessageDeduplicationId", "d"),
    ];
    let resp = raw::query(&broker.endpoint(), &path, &params).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let seq = xml::value(&resp.body, "SequenceNumber").expect("SequenceNumber element");
    assert_eq!(seq.len(), 20);
    let again = raw::query(&broker.endpoint(), &path, &params).await;
    assert_eq!(
        xml::value(&again.body, "MessageId"),
        xml::value(&resp.body, "MessageId")
    );
    let missing = raw::query(
        &broker.endpoint(),
        &path,
        &[
            ("Action", "SendMessage"),
            ("MessageBody", "x"),
            ("MessageDeduplicationId", "e"),
        ],
    )
    .await;
    assert_eq!(missing.status, 400, "{}", missing.body);
    assert_eq!(xml::value(&missing.body, "Code").as_deref(), Some("MissingParameter"));
}
