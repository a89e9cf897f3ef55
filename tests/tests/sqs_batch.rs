//! SQS batch actions through the official `aws-sdk-sqs` client: SendMessageBatch (per-entry MD5s,
//! partial failure, request-level errors: duplicate ids, too many entries, empty batch, total
//! size over 1 MiB, invalid ids), DeleteMessageBatch and ChangeMessageVisibilityBatch.
//!
//! AWS distinguishes request-level errors (the whole call fails with a typed error) from entry
//! failures (the call succeeds and lists the entry under `Failed` with `SenderFault = true`).

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, MessageAttributeValue,
    QueueAttributeName as Q, SendMessageBatchRequestEntry,
};
use sluice_tests::md5::{md5_hex, md5_of_message_attributes};
use sluice_tests::sqs::{counts, create_queue, expect_code, ok, receive, receive_count, receive_n};
use sluice_tests::Broker;

fn entry(id: &str, body: &str) -> SendMessageBatchRequestEntry {
    SendMessageBatchRequestEntry::builder()
        .id(id)
        .message_body(body)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_message_batch_sends_all_with_md5s() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "batch", &[]).await;
    let attr = MessageAttributeValue::builder()
        .data_type("String")
        .string_value("v")
        .build()
        .unwrap();
    let with_attr = SendMessageBatchRequestEntry::builder()
        .id("attr")
        .message_body("has attribute")
        .message_attributes("k", attr.clone())
        .build()
        .unwrap();
    let delayed = SendMessageBatchRequestEntry::builder()
        .id("delayed")
        .message_body("later")
        .delay_seconds(60)
        .build()
        .unwrap();
    let out = ok(
        sqs.send_message_batch()
            .queue_url(&url)
            .entries(entry("a", "first"))
            .entries(entry("b-2_", "second"))
            .entries(with_attr)
            .entries(delayed)
            .send()
            .await,
        "SendMessageBatch",
    );
    assert!(out.failed().is_empty(), "{:?}", out.failed());
    assert_eq!(out.successful().len(), 4);
    let ids: HashSet<&str> = out.successful().iter().map(|e| e.id()).collect();
    assert_eq!(ids, HashSet::from(["a", "b-2_", "attr", "delayed"]));
    let message_ids: HashSet<&str> = out.successful().iter().map(|e| e.message_id()).collect();
    assert_eq!(message_ids.len(), 4, "distinct MessageIds");
    for e in out.successful() {
        let body = match e.id() {
            "a" => "first",
            "b-2_" => "second",
            "attr" => "has attribute",
            _ => "later",
        };
        assert_eq!(e.md5_of_message_body(), md5_hex(body), "entry {}", e.id());
        if e.id() == "attr" {
            let want = md5_of_message_attributes(&[("k".to_string(), attr.clone())].into_iter().collect());
            assert_eq!(e.md5_of_message_attributes(), Some(want.as_str()));
        } else {
            assert!(e.md5_of_message_attributes().is_none(), "entry {}", e.id());
        }
    }
    assert_eq!(counts(&sqs, &url).await, (3, 0, 1), "per-entry DelaySeconds honoured");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_message_batch_partial_failure() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "partial", &[(Q::MaximumMessageSize, "1024")]).await;
    let out = ok(
        sqs.send_message_batch()
            .queue_url(&url)
            .entries(entry("ok1", "fine"))
            .entries(entry("toobig", &"x".repeat(2000)))
            .entries(entry("badchars", "nul \u{0} here"))
            .entries(entry("ok2", "also fine"))
            .send()
            .await,
        "SendMessageBatch",
    );
    let ok_ids: HashSet<&str> = out.successful().iter().map(|e| e.id()).collect();
    assert_eq!(ok_ids, HashSet::from(["ok1", "ok2"]));
    let failed: Vec<_> = out
        .failed()
        .iter()
        .map(|f| (f.id(), f.sender_fault(), f.code()))
        .collect();
    assert_eq!(failed.len(), 2, "{:?}", out.failed());
    for f in out.failed() {
        assert!(f.sender_fault(), "{f:?}");
        assert!(!f.code().is_empty(), "{f:?}");
        match f.id() {
            "badchars" => assert_eq!(f.code(), "InvalidMessageContents", "{f:?}"),
            "toobig" => assert_eq!(f.code(), "InvalidParameterValue", "{f:?}"),
            other => panic!("unexpected failed entry {other}"),
        }
    }
    let got = receive_n(&sqs, &url, 2, 30, Duration::from_secs(5)).await;
    let mut bodies: Vec<_> = got.iter().filter_map(|m| m.body()).collect();
    bodies.sort();
    assert_eq!(bodies, vec!["also fine", "fine"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_message_batch_request_level_errors() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "batch-errors", &[]).await;

    let res = sqs
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("same", "1"))
        .entries(entry("same", "2"))
        .send()
        .await;
    let err = expect_code(res, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct");
    assert!(err
        .as_service_error()
        .map(|e| e.is_batch_entry_ids_not_distinct())
        .unwrap_or(false));

    let mut req = sqs.send_message_batch().queue_url(&url);
    for i in 0..11 {
        req = req.entries(entry(&format!("e{i}"), "x"));
    }
    let err = expect_code(req.send().await, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest");
    assert!(err
        .as_service_error()
        .map(|e| e.is_too_many_entries_in_batch_request())
        .unwrap_or(false));

    let res = sqs
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(Vec::new()))
        .send()
        .await;
    let err = expect_code(res, "AWS.SimpleQueueService.EmptyBatchRequest");
    assert!(err
        .as_service_error()
        .map(|e| e.is_empty_batch_request())
        .unwrap_or(false));

    // Ids: alphanumerics, hyphens and underscores, at most 80 characters.
    for bad_id in ["has space", "dot.id", &"i".repeat(81)] {
        let res = sqs
            .send_message_batch()
            .queue_url(&url)
            .entries(entry(bad_id, "x"))
            .send()
            .await;
        let err = expect_code(res, "AWS.SimpleQueueService.InvalidBatchEntryId");
        assert!(
            err.as_service_error()
                .map(|e| e.is_invalid_batch_entry_id())
                .unwrap_or(false),
            "{bad_id}"
        );
    }

    assert_eq!(counts(&sqs, &url).await, (0, 0, 0), "failed batches stored nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_message_batch_total_over_1_mib_is_batch_request_too_long() {
    // "The maximum allowed individual message size and the maximum total payload size (the sum
    // of the individual lengths of all of the batched messages) are both 1 MiB" (SendMessageBatch).
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "batch-too-long", &[]).await;
    // 10 × 200 KiB: every entry is under 1 MiB, the total is not.
    let big = "y".repeat(200 * 1024);
    let mut req = sqs.send_message_batch().queue_url(&url);
    for i in 0..10 {
        req = req.entries(entry(&format!("big{i}"), &big));
    }
    let err = expect_code(req.send().await, "AWS.SimpleQueueService.BatchRequestTooLong");
    assert!(err
        .as_service_error()
        .map(|e| e.is_batch_request_too_long())
        .unwrap_or(false));

    assert_eq!(
        counts(&sqs, &url).await,
        (0, 0, 0),
        "an oversized batch stored messages"
    );

    // Exactly 1 MiB in total is allowed: 4 × 256 KiB.
    let quarter = "z".repeat(256 * 1024);
    let mut req = sqs.send_message_batch().queue_url(&url);
    for i in 0..4 {
        req = req.entries(entry(&format!("q{i}"), &quarter));
    }
    let out = ok(req.send().await, "SendMessageBatch of exactly 1 MiB");
    assert_eq!(out.successful().len(), 4, "{:?}", out.failed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_message_batch_with_one_bad_handle() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "delbatch", &[]).await;
    let mut req = sqs.send_message_batch().queue_url(&url);
    for i in 0..3 {
        req = req.entries(entry(&format!("m{i}"), &format!("body{i}")));
    }
    ok(req.send().await, "SendMessageBatch");
    let got = receive_n(&sqs, &url, 3, 30, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 3);

    let mut req = sqs.delete_message_batch().queue_url(&url);
    for (i, m) in got.iter().enumerate() {
        req = req.entries(
            DeleteMessageBatchRequestEntry::builder()
                .id(format!("d{i}"))
                .receipt_handle(m.receipt_handle().unwrap())
                .build()
                .unwrap(),
        );
    }
    req = req.entries(
        DeleteMessageBatchRequestEntry::builder()
            .id("bad")
            .receipt_handle("garbage")
            .build()
            .unwrap(),
    );
    let out = ok(req.send().await, "DeleteMessageBatch");
    let ok_ids: HashSet<&str> = out.successful().iter().map(|e| e.id()).collect();
    assert_eq!(ok_ids, HashSet::from(["d0", "d1", "d2"]));
    assert_eq!(out.failed().len(), 1);
    assert_eq!(out.failed()[0].id(), "bad");
    assert_eq!(out.failed()[0].code(), "ReceiptHandleIsInvalid");
    assert!(out.failed()[0].sender_fault());
    assert_eq!(counts(&sqs, &url).await, (0, 0, 0));

    let res = sqs
        .delete_message_batch()
        .queue_url(&url)
        .set_entries(Some(Vec::new()))
        .send()
        .await;
    let err = expect_code(res, "AWS.SimpleQueueService.EmptyBatchRequest");
    assert!(err
        .as_service_error()
        .map(|e| e.is_empty_batch_request())
        .unwrap_or(false));

    let res = sqs
        .delete_message_batch()
        .queue_url(&url)
        .entries(
            DeleteMessageBatchRequestEntry::builder()
                .id("x")
                .receipt_handle("a")
                .build()
                .unwrap(),
        )
        .entries(
            DeleteMessageBatchRequestEntry::builder()
                .id("x")
                .receipt_handle("b")
                .build()
                .unwrap(),
        )
        .send()
        .await;
    let err = expect_code(res, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct");
    assert!(err
        .as_service_error()
        .map(|e| e.is_batch_entry_ids_not_distinct())
        .unwrap_or(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_message_visibility_batch() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "visbatch", &[]).await;
    let mut req = sqs.send_message_batch().queue_url(&url);
    for i in 0..2 {
        req = req.entries(entry(&format!("m{i}"), &format!("body{i}")));
    }
    ok(req.send().await, "SendMessageBatch");
    let got = receive_n(&sqs, &url, 2, 60, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 2);
    assert_eq!(counts(&sqs, &url).await, (0, 2, 0));

    let mut req = sqs.change_message_visibility_batch().queue_url(&url);
    for (i, m) in got.iter().enumerate() {
        req = req.entries(
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id(format!("c{i}"))
                .receipt_handle(m.receipt_handle().unwrap())
                .visibility_timeout(0)
                .build()
                .unwrap(),
        );
    }
    req = req.entries(
        ChangeMessageVisibilityBatchRequestEntry::builder()
            .id("bad")
            .receipt_handle("garbage")
            .visibility_timeout(0)
            .build()
            .unwrap(),
    );
    let out = ok(req.send().await, "ChangeMessageVisibilityBatch");
    let ok_ids: HashSet<&str> = out.successful().iter().map(|e| e.id()).collect();
    assert_eq!(ok_ids, HashSet::from(["c0", "c1"]));
    assert_eq!(out.failed().len(), 1);
    assert_eq!(out.failed()[0].id(), "bad");
    assert_eq!(out.failed()[0].code(), "ReceiptHandleIsInvalid");

    // Both visible at once, with a second receive count.
    let again = receive(&sqs, &url, 10, 1, Some(60)).await;
    assert_eq!(again.len(), 2, "visibility 0 did not make both visible");
    for m in &again {
        assert_eq!(receive_count(m), 2);
    }

    let mut req = sqs.change_message_visibility_batch().queue_url(&url);
    for i in 0..11 {
        req = req.entries(
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id(format!("c{i}"))
                .receipt_handle(again[0].receipt_handle().unwrap())
                .visibility_timeout(1)
                .build()
                .unwrap(),
        );
    }
    let err = expect_code(req.send().await, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest");
    assert!(err
        .as_service_error()
        .map(|e| e.is_too_many_entries_in_batch_request())
        .unwrap_or(false));
}
