//! Dead-letter queues through the official `aws-sdk-sqs` client: RedrivePolicy moves a message
//! to the DLQ once it was received more than maxReceiveCount times, ListDeadLetterSourceQueues,
//! RedriveAllowPolicy (denyAll, byQueue, allowAll) and RedrivePolicy validation.
//!
//! Receives are made visible again with ChangeMessageVisibility(0) instead of waiting for
//! timeouts, so the tests take well under a second of broker time.

use aws_sdk_sqs::types::QueueAttributeName as Q;
use sluice_tests::sqs::{counts, create_queue, expect_one_of, ok, queue_attributes, receive, receive_count, send};
use sluice_tests::{Broker, ACCOUNT_ID};

fn arn(name: &str) -> String {
    format!("arn:aws:sqs:us-east-1:{ACCOUNT_ID}:{name}")
}

fn redrive(dlq: &str, max: u32) -> String {
    serde_json::json!({ "deadLetterTargetArn": arn(dlq), "maxReceiveCount": max }).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_moves_to_dlq_after_max_receive_count() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let dlq = create_queue(&sqs, "dead", &[]).await;
    let src = create_queue(&sqs, "source", &[(Q::RedrivePolicy, &redrive("dead", 2))]).await;

    let attrs = queue_attributes(&sqs, &src, &[Q::RedrivePolicy]).await;
    let policy: serde_json::Value = serde_json::from_str(&attrs["RedrivePolicy"]).expect("RedrivePolicy JSON");
    assert_eq!(policy["deadLetterTargetArn"], arn("dead").as_str());
    // AWS returns maxReceiveCount as a number.
    assert_eq!(policy["maxReceiveCount"].as_u64(), Some(2), "{policy}");

    let id = send(&sqs, &src, "poison").await;
    let keep = send(&sqs, &src, "healthy").await;
    for expected_count in 1..=2 {
        let got = receive(&sqs, &src, 10, 1, Some(30)).await;
        let poison: Vec<_> = got.iter().filter(|m| m.message_id() == Some(id.as_str())).collect();
        assert_eq!(poison.len(), 1, "receive {expected_count}: {got:?}");
        assert_eq!(receive_count(poison[0]), expected_count);
        for m in &got {
            if m.message_id() == Some(keep.as_str()) {
                // Delete the healthy message on its first receive.
                ok(
                    sqs.delete_message()
                        .queue_url(&src)
                        .receipt_handle(m.receipt_handle().unwrap())
                        .send()
                        .await,
                    "DeleteMessage",
                );
            }
        }
        ok(
            sqs.change_message_visibility()
                .queue_url(&src)
                .receipt_handle(poison[0].receipt_handle().unwrap())
                .visibility_timeout(0)
                .send()
                .await,
            "ChangeMessageVisibility 0",
        );
    }
    // The third receive exceeds maxReceiveCount=2: the message goes to the DLQ instead.
    let third = receive(&sqs, &src, 10, 1, Some(30)).await;
    assert!(
        third.is_empty(),
        "message over maxReceiveCount delivered from the source: {third:?}"
    );
    assert_eq!(counts(&sqs, &src).await, (0, 0, 0));

    let dead = receive(&sqs, &dlq, 10, 2, Some(30)).await;
    assert_eq!(dead.len(), 1, "message not in the DLQ");
    assert_eq!(dead[0].message_id(), Some(id.as_str()), "the DLQ keeps the MessageId");
    assert_eq!(dead[0].body(), Some("poison"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visibility_expiry_also_counts_toward_redrive() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let dlq = create_queue(&sqs, "dead-exp", &[]).await;
    let src = create_queue(&sqs, "source-exp", &[(Q::RedrivePolicy, &redrive("dead-exp", 1))]).await;
    let id = send(&sqs, &src, "expires").await;

    let first = receive(&sqs, &src, 1, 1, Some(1)).await;
    assert_eq!(first.len(), 1);
    // After the 1 s timeout the next receive would be the second: over maxReceiveCount=1.
    let again = receive(&sqs, &src, 1, 3, Some(30)).await;
    assert!(again.is_empty(), "{again:?}");
    let dead = receive(&sqs, &dlq, 1, 3, Some(30)).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message_id(), Some(id.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_dead_letter_source_queues() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let dlq = create_queue(&sqs, "dlq", &[]).await;
    let a = create_queue(&sqs, "src-a", &[(Q::RedrivePolicy, &redrive("dlq", 3))]).await;
    let b = create_queue(&sqs, "src-b", &[]).await;
    ok(
        sqs.set_queue_attributes()
            .queue_url(&b)
            .attributes(Q::RedrivePolicy, redrive("dlq", 5))
            .send()
            .await,
        "SetQueueAttributes RedrivePolicy",
    );
    create_queue(&sqs, "unrelated", &[]).await;

    let out = ok(
        sqs.list_dead_letter_source_queues().queue_url(&dlq).send().await,
        "ListDeadLetterSourceQueues",
    );
    let mut urls = out.queue_urls().to_vec();
    urls.sort();
    assert_eq!(urls, vec![a.clone(), b.clone()]);

    // Removing the policy (empty value) drops the source.
    ok(
        sqs.set_queue_attributes()
            .queue_url(&b)
            .attributes(Q::RedrivePolicy, "")
            .send()
            .await,
        "SetQueueAttributes clear RedrivePolicy",
    );
    let out = ok(
        sqs.list_dead_letter_source_queues().queue_url(&dlq).send().await,
        "ListDeadLetterSourceQueues",
    );
    assert_eq!(out.queue_urls(), [a]);

    let out = ok(
        sqs.list_dead_letter_source_queues().queue_url(&b).send().await,
        "ListDeadLetterSourceQueues",
    );
    assert!(out.queue_urls().is_empty());

    let err = sqs
        .list_dead_letter_source_queues()
        .queue_url(format!("{}/{}/missing", broker.endpoint(), ACCOUNT_ID))
        .send()
        .await
        .expect_err("missing queue");
    // ListDeadLetterSourceQueues has no typed QueueDoesNotExist in the model; check the code.
    assert_eq!(
        sluice_tests::sqs::error_code(&err).as_deref(),
        Some("AWS.SimpleQueueService.NonExistentQueue"),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redrive_allow_policy_controls_which_sources_may_use_a_dlq() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let deny = serde_json::json!({ "redrivePermission": "denyAll" }).to_string();
    create_queue(&sqs, "closed-dlq", &[(Q::RedriveAllowPolicy, &deny)]).await;
    let src = create_queue(&sqs, "wants-dlq", &[]).await;

    let res = sqs
        .set_queue_attributes()
        .queue_url(&src)
        .attributes(Q::RedrivePolicy, redrive("closed-dlq", 3))
        .send()
        .await;
    expect_one_of(res, &["InvalidParameterValue", "InvalidAttributeValue"]);
    let res = sqs
        .create_queue()
        .queue_name("wants-dlq-2")
        .attributes(Q::RedrivePolicy, redrive("closed-dlq", 3))
        .send()
        .await;
    expect_one_of(res, &["InvalidParameterValue", "InvalidAttributeValue"]);
    let attrs = queue_attributes(&sqs, &src, &[]).await;
    assert!(!attrs.contains_key("RedrivePolicy"), "{attrs:?}");

    // byQueue: only the listed sources.
    let by_queue = serde_json::json!({
        "redrivePermission": "byQueue",
        "sourceQueueArns": [arn("allowed-src")],
    })
    .to_string();
    create_queue(&sqs, "picky-dlq", &[(Q::RedriveAllowPolicy, &by_queue)]).await;
    create_queue(&sqs, "allowed-src", &[(Q::RedrivePolicy, &redrive("picky-dlq", 2))]).await;
    let res = sqs
        .create_queue()
        .queue_name("other-src")
        .attributes(Q::RedrivePolicy, redrive("picky-dlq", 2))
        .send()
        .await;
    expect_one_of(res, &["InvalidParameterValue", "InvalidAttributeValue"]);

    // allowAll (the default) lets anyone in.
    let allow = serde_json::json!({ "redrivePermission": "allowAll" }).to_string();
    create_queue(&sqs, "open-dlq", &[(Q::RedriveAllowPolicy, &allow)]).await;
    create_queue(&sqs, "any-src", &[(Q::RedrivePolicy, &redrive("open-dlq", 2))]).await;
    let attrs = queue_attributes(
        &sqs,
        &format!("{}/{}/open-dlq", broker.endpoint(), ACCOUNT_ID),
        &[Q::RedriveAllowPolicy],
    )
    .await;
    let p: serde_json::Value = serde_json::from_str(&attrs["RedriveAllowPolicy"]).unwrap();
    assert_eq!(p["redrivePermission"], "allowAll");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redrive_policy_validation() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    create_queue(&sqs, "target", &[]).await;
    let src = create_queue(&sqs, "validated", &[]).await;
    let bad = [
        serde_json::json!({ "deadLetterTargetArn": arn("target") }).to_string(),
        serde_json::json!({ "maxReceiveCount": 3 }).to_string(),
        serde_json::json!({ "deadLetterTargetArn": arn("target"), "maxReceiveCount": 0 }).to_string(),
        serde_json::json!({ "deadLetterTargetArn": arn("target"), "maxReceiveCount": 1001 }).to_string(),
        serde_json::json!({ "deadLetterTargetArn": "not-an-arn", "maxReceiveCount": 3 }).to_string(),
    ];
    for policy in &bad {
        let res = sqs
            .set_queue_attributes()
            .queue_url(&src)
            .attributes(Q::RedrivePolicy, policy.as_str())
            .send()
            .await;
        expect_one_of(res, &["InvalidParameterValue", "InvalidAttributeValue"]);
    }
    // The target must exist.
    let res = sqs
        .set_queue_attributes()
        .queue_url(&src)
        .attributes(Q::RedrivePolicy, redrive("no-such-queue", 3))
        .send()
        .await;
    expect_one_of(
        res,
        &[
            "InvalidParameterValue",
            "InvalidAttributeValue",
            "AWS.SimpleQueueService.NonExistentQueue",
        ],
    );

    // maxReceiveCount as a string is accepted (the console and CloudFormation send it that way).
    let as_string = serde_json::json!({ "deadLetterTargetArn": arn("target"), "maxReceiveCount": "4" }).to_string();
    ok(
        sqs.set_queue_attributes()
            .queue_url(&src)
            .attributes(Q::RedrivePolicy, as_string)
            .send()
            .await,
        "RedrivePolicy with string maxReceiveCount",
    );
    let attrs = queue_attributes(&sqs, &src, &[Q::RedrivePolicy]).await;
    let p: serde_json::Value = serde_json::from_str(&attrs["RedrivePolicy"]).unwrap();
    assert_eq!(p["maxReceiveCount"].as_u64(), Some(4), "{p}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_on_the_dlq_wakes_when_a_message_is_redriven() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let dlq = create_queue(&sqs, "dlq-wake", &[]).await;
    let src = create_queue(&sqs, "src-wake", &[(Q::RedrivePolicy, &redrive("dlq-wake", 1))]).await;
    let id = send(&sqs, &src, "moves").await;
    let first = receive(&sqs, &src, 1, 1, Some(30)).await;
    assert_eq!(first.len(), 1);
    ok(
        sqs.change_message_visibility()
            .queue_url(&src)
            .receipt_handle(first[0].receipt_handle().unwrap())
            .visibility_timeout(0)
            .send()
            .await,
        "ChangeMessageVisibility 0",
    );

    let poller = {
        let sqs = sqs.clone();
        let dlq = dlq.clone();
        tokio::spawn(async move {
            let start = std::time::Instant::now();
            let got = receive(&sqs, &dlq, 1, 10, Some(30)).await;
            (got, start.elapsed())
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // This receive exceeds maxReceiveCount=1 and moves the message.
    assert!(receive(&sqs, &src, 1, 0, Some(30)).await.is_empty());
    let (got, elapsed) = poller.await.unwrap();
    assert_eq!(got.len(), 1, "DLQ long poll missed the redriven message");
    assert_eq!(got[0].message_id(), Some(id.as_str()));
    assert!(
        elapsed < std::time::Duration::from_secs(3),
        "DLQ long poll woke only after {elapsed:?}"
    );
}
