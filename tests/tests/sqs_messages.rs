//! SQS standard-queue messaging through the official `aws-sdk-sqs` client: SendMessage (MD5s,
//! message attributes of every data type, system attributes, delays, size and content limits),
//! ReceiveMessage (batch size, long polling, attribute selection), visibility timeouts and
//! redelivery, DeleteMessage and ChangeMessageVisibility.
//!
//! The Rust SDK does not verify the MD5 fields (the Java SDK does), so the tests compare them
//! against digests computed here (`sluice_tests::md5`). Timing assertions use short timeouts
//! (1-2 s) with generous upper bounds so a loaded 2-core CI machine does not flake.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeName as M, MessageSystemAttributeNameForSends,
    MessageSystemAttributeValue, QueueAttributeName as Q,
};
use sluice_tests::md5::{md5_hex, md5_of_message_attributes, md5_of_system_attributes};
use sluice_tests::sqs::{
    counts, create_queue, expect_code, now_epoch_millis, ok, receive, receive_count, send, sys_attr,
};
use sluice_tests::{Broker, ACCOUNT_ID};

fn string_attr(data_type: &str, value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type(data_type)
        .string_value(value)
        .build()
        .unwrap()
}

fn binary_attr(data_type: &str, value: &[u8]) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type(data_type)
        .binary_value(Blob::new(value.to_vec()))
        .build()
        .unwrap()
}

async fn make_visible(sqs: &aws_sdk_sqs::Client, url: &str, handle: &str) {
    ok(
        sqs.change_message_visibility()
            .queue_url(url)
            .receipt_handle(handle)
            .visibility_timeout(0)
            .send()
            .await,
        "ChangeMessageVisibility 0",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_and_receive_roundtrip_with_body_md5() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "roundtrip", &[]).await;
    // XML-special characters, CR/LF/tab, BMP and astral characters: all allowed in bodies.
    let body = "héllo ✓ 🦀 <xml attr=\"1\"/> & 'q'\r\n\tend \u{E000}\u{10FFFF}";

    let sent = ok(
        sqs.send_message().queue_url(&url).message_body(body).send().await,
        "SendMessage",
    );
    assert_eq!(sent.md5_of_message_body(), Some(md5_hex(body).as_str()));
    assert!(
        sent.md5_of_message_attributes().is_none(),
        "no attributes sent, so no attribute MD5"
    );
    assert!(sent.md5_of_message_system_attributes().is_none());
    let id = sent.message_id().expect("MessageId").to_string();
    assert!(!id.is_empty());

    let got = receive(&sqs, &url, 10, 1, None).await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.message_id(), Some(id.as_str()));
    assert_eq!(m.body(), Some(body));
    assert_eq!(m.md5_of_body(), Some(md5_hex(body).as_str()));
    assert!(m.receipt_handle().map(|h| !h.is_empty()).unwrap_or(false));
    assert!(m.message_attributes().map(|a| a.is_empty()).unwrap_or(true));

    // Distinct sends get distinct ids.
    let id2 = send(&sqs, &url, body).await;
    assert_ne!(id, id2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_attributes_of_every_data_type_roundtrip_with_md5() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "attrs", &[]).await;

    let attrs: HashMap<String, MessageAttributeValue> = HashMap::from([
        ("str".to_string(), string_attr("String", "hello wörld <&>")),
        ("num".to_string(), string_attr("Number", "-12345.678")),
        ("float".to_string(), string_attr("Number.float", "3.14159")),
        ("bin".to_string(), binary_attr("Binary", &[0, 1, 2, 254, 255])),
        ("jpeg".to_string(), binary_attr("Binary.jpeg", b"\xff\xd8\xff")),
        ("json".to_string(), string_attr("String.json", "{\"a\":1}")),
    ]);
    let sent = ok(
        sqs.send_message()
            .queue_url(&url)
            .message_body("with attributes")
            .set_message_attributes(Some(attrs.clone()))
            .send()
            .await,
        "SendMessage",
    );
    let want_md5 = md5_of_message_attributes(&attrs);
    assert_eq!(sent.md5_of_message_attributes(), Some(want_md5.as_str()));
    assert_eq!(sent.md5_of_message_body(), Some(md5_hex("with attributes").as_str()));

    let got = receive(&sqs, &url, 1, 1, None).await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    let received = m.message_attributes().cloned().unwrap_or_default();
    assert_eq!(received.len(), attrs.len(), "{received:?}");
    for (name, v) in &attrs {
        let r = received.get(name).unwrap_or_else(|| panic!("attribute {name} missing"));
        assert_eq!(r.data_type(), v.data_type(), "{name}");
        assert_eq!(r.string_value(), v.string_value(), "{name}");
        assert_eq!(
            r.binary_value().map(|b| b.as_ref()),
            v.binary_value().map(|b| b.as_ref()),
            "{name}"
        );
    }
    assert_eq!(m.md5_of_message_attributes(), Some(want_md5.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_attribute_names_select_all_specific_and_prefix() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "attr-select", &[]).await;
    let attrs: HashMap<String, MessageAttributeValue> = HashMap::from([
        ("pre.one".to_string(), string_attr("String", "1")),
        ("pre.two".to_string(), string_attr("Number", "2")),
        ("other".to_string(), binary_attr("Binary", b"3")),
    ]);
    ok(
        sqs.send_message()
            .queue_url(&url)
            .message_body("select")
            .set_message_attributes(Some(attrs.clone()))
            .send()
            .await,
        "SendMessage",
    );

    let cases: &[(&[&str], &[&str])] = &[
        (&["All"], &["other", "pre.one", "pre.two"]),
        (&[".*"], &["other", "pre.one", "pre.two"]),
        (&["other"], &["other"]),
        (&["pre.*"], &["pre.one", "pre.two"]),
        (&["pre.two", "missing"], &["pre.two"]),
        (&[], &[]),
    ];
    for (requested, expected) in cases {
        let out = ok(
            sqs.receive_message()
                .queue_url(&url)
                .wait_time_seconds(1)
                .set_message_attribute_names(if requested.is_empty() {
                    None
                } else {
                    Some(requested.iter().map(|s| s.to_string()).collect())
                })
                .send()
                .await,
            "ReceiveMessage",
        );
        assert_eq!(out.messages().len(), 1, "requested {requested:?}");
        let m = &out.messages()[0];
        let got = m.message_attributes().cloned().unwrap_or_default();
        let mut names: Vec<&str> = got.keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(names, *expected, "requested {requested:?}");
        if !got.is_empty() {
            // The digest covers the attributes returned, so clients can verify what they got.
            assert_eq!(
                m.md5_of_message_attributes(),
                Some(md5_of_message_attributes(&got).as_str()),
                "requested {requested:?}"
            );
        }
        make_visible(&sqs, &url, m.receipt_handle().unwrap()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_attributes_and_aws_trace_header() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "sysattrs", &[]).await;
    let trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    let sys = HashMap::from([(
        MessageSystemAttributeNameForSends::AwsTraceHeader,
        MessageSystemAttributeValue::builder()
            .data_type("String")
            .string_value(trace)
            .build()
            .unwrap(),
    )]);
    let before = now_epoch_millis();
    let sent = ok(
        sqs.send_message()
            .queue_url(&url)
            .message_body("traced")
            .set_message_system_attributes(Some(sys.clone()))
            .send()
            .await,
        "SendMessage",
    );
    let after_send = now_epoch_millis();
    assert_eq!(
        sent.md5_of_message_system_attributes(),
        Some(md5_of_system_attributes(&sys).as_str())
    );
    assert!(sent.md5_of_message_attributes().is_none());

    let got = receive(&sqs, &url, 1, 1, Some(1)).await;
    let after_receive = now_epoch_millis();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(sys_attr(m, M::AwsTraceHeader), Some(trace));
    assert_eq!(receive_count(m), 1);
    let sent_ts: i64 = sys_attr(m, M::SentTimestamp).expect("SentTimestamp").parse().unwrap();
    assert!(
        sent_ts >= before - 1000 && sent_ts <= after_send + 1000,
        "SentTimestamp {sent_ts} (ms)"
    );
    let first: i64 = sys_attr(m, M::ApproximateFirstReceiveTimestamp)
        .expect("ApproximateFirstReceiveTimestamp")
        .parse()
        .unwrap();
    assert!(
        first >= sent_ts && first <= after_receive + 1000,
        "first receive {first}"
    );
    assert!(!sys_attr(m, M::SenderId).unwrap_or("").is_empty(), "SenderId present");

    // Redelivery keeps the first-receive time and bumps the count.
    let again = receive(&sqs, &url, 1, 5, None).await;
    assert_eq!(again.len(), 1);
    assert_eq!(receive_count(&again[0]), 2);
    assert_eq!(
        sys_attr(&again[0], M::ApproximateFirstReceiveTimestamp),
        Some(first.to_string().as_str())
    );
    make_visible(&sqs, &url, again[0].receipt_handle().unwrap()).await;

    // The deprecated AttributeNames=All (older SDKs) still selects everything.
    #[allow(deprecated)]
    let out = ok(
        sqs.receive_message()
            .queue_url(&url)
            .wait_time_seconds(1)
            .attribute_names(Q::All)
            .send()
            .await,
        "ReceiveMessage AttributeNames=All",
    );
    let m = &out.messages()[0];
    for name in [
        M::ApproximateReceiveCount,
        M::ApproximateFirstReceiveTimestamp,
        M::SentTimestamp,
        M::SenderId,
    ] {
        assert!(
            sys_attr(m, name.clone()).is_some(),
            "{name:?} missing from {:?}",
            m.attributes()
        );
    }
    make_visible(&sqs, &url, m.receipt_handle().unwrap()).await;

    // A specific name returns only that one.
    let out = ok(
        sqs.receive_message()
            .queue_url(&url)
            .wait_time_seconds(1)
            .message_system_attribute_names(M::ApproximateReceiveCount)
            .send()
            .await,
        "ReceiveMessage one system attribute",
    );
    let m = &out.messages()[0];
    let keys: Vec<&str> = m
        .attributes()
        .map(|a| a.keys().map(|k| k.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(keys, vec!["ApproximateReceiveCount"]);
    assert_eq!(receive_count(m), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_delay_seconds_hides_message_until_due() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "delayed", &[]).await;
    let start = Instant::now();
    ok(
        sqs.send_message()
            .queue_url(&url)
            .message_body("later")
            .delay_seconds(2)
            .send()
            .await,
        "SendMessage DelaySeconds=2",
    );
    assert!(
        receive(&sqs, &url, 10, 0, None).await.is_empty(),
        "delayed message received early"
    );
    assert_eq!(counts(&sqs, &url).await, (0, 0, 1));

    let got = receive(&sqs, &url, 10, 5, None).await;
    let elapsed = start.elapsed();
    assert_eq!(got.len(), 1, "delayed message not delivered within 5 s");
    assert_eq!(got[0].body(), Some("later"));
    assert!(
        elapsed >= Duration::from_millis(1800),
        "delivered after {elapsed:?}, before the 2 s delay"
    );
    assert!(
        elapsed < Duration::from_millis(4500),
        "delivered after {elapsed:?}: long poll not woken"
    );

    for bad in [-1, 901] {
        let res = sqs
            .send_message()
            .queue_url(&url)
            .message_body("x")
            .delay_seconds(bad)
            .send()
            .await;
        expect_code(res, "InvalidParameterValue");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_delay_seconds_applies_unless_message_overrides() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "queue-delay", &[(Q::DelaySeconds, "1")]).await;
    let start = Instant::now();
    send(&sqs, &url, "default delay").await;
    ok(
        sqs.send_message()
            .queue_url(&url)
            .message_body("no delay")
            .delay_seconds(0)
            .send()
            .await,
        "SendMessage DelaySeconds=0",
    );
    let first = receive(&sqs, &url, 10, 0, None).await;
    let bodies: Vec<_> = first.iter().filter_map(|m| m.body()).collect();
    assert_eq!(
        bodies,
        vec!["no delay"],
        "per-message DelaySeconds=0 overrides the queue's delay"
    );

    let later = receive(&sqs, &url, 10, 4, None).await;
    let elapsed = start.elapsed();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].body(), Some("default delay"));
    assert!(
        elapsed >= Duration::from_millis(800),
        "queue delay ignored: {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receive_respects_max_number_of_messages_and_validates_parameters() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "batchsize", &[]).await;
    for i in 0..5 {
        send(&sqs, &url, &format!("m{i}")).await;
    }
    let first = receive(&sqs, &url, 3, 1, Some(30)).await;
    assert_eq!(first.len(), 3);
    let rest = receive(&sqs, &url, 10, 1, Some(30)).await;
    assert_eq!(rest.len(), 2);
    let mut bodies: Vec<_> = first.iter().chain(rest.iter()).filter_map(|m| m.body()).collect();
    bodies.sort();
    assert_eq!(bodies, vec!["m0", "m1", "m2", "m3", "m4"]);
    assert_eq!(counts(&sqs, &url).await, (0, 5, 0));

    // Default MaxNumberOfMessages is 1.
    for m in &first {
        make_visible(&sqs, &url, m.receipt_handle().unwrap()).await;
    }
    let out = ok(
        sqs.receive_message().queue_url(&url).wait_time_seconds(1).send().await,
        "ReceiveMessage",
    );
    assert_eq!(out.messages().len(), 1);

    for bad in [0, 11] {
        let res = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(bad)
            .send()
            .await;
        expect_code(res, "InvalidParameterValue");
    }
    for bad in [-1, 21] {
        let res = sqs
            .receive_message()
            .queue_url(&url)
            .wait_time_seconds(bad)
            .send()
            .await;
        expect_code(res, "InvalidParameterValue");
    }
    let res = sqs
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(43201)
        .send()
        .await;
    expect_code(res, "InvalidParameterValue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_returns_as_soon_as_a_message_arrives() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "longpoll", &[]).await;

    let sender = {
        let sqs = sqs.clone();
        let url = url.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            send(&sqs, &url, "wake up").await
        })
    };
    let start = Instant::now();
    let got = receive(&sqs, &url, 10, 10, None).await;
    let elapsed = start.elapsed();
    let id = sender.await.unwrap();
    assert_eq!(got.len(), 1, "long poll returned nothing");
    assert_eq!(got[0].message_id(), Some(id.as_str()));
    assert!(
        elapsed >= Duration::from_millis(400),
        "returned before the send: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(3),
        "long poll did not return early: {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_long_poll_waits_about_wait_time_seconds() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "emptypoll", &[]).await;

    let start = Instant::now();
    assert!(receive(&sqs, &url, 10, 2, None).await.is_empty());
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1900),
        "returned after {elapsed:?}, before 2 s"
    );
    assert!(elapsed < Duration::from_millis(4000), "returned after {elapsed:?}");

    // Short poll returns at once.
    let start = Instant::now();
    assert!(receive(&sqs, &url, 10, 0, None).await.is_empty());
    assert!(
        start.elapsed() < Duration::from_millis(900),
        "short poll took {:?}",
        start.elapsed()
    );

    // ReceiveMessageWaitTimeSeconds on the queue is the default wait when the request has none.
    let url2 = create_queue(&sqs, "emptypoll-default", &[(Q::ReceiveMessageWaitTimeSeconds, "1")]).await;
    let start = Instant::now();
    let out = ok(sqs.receive_message().queue_url(&url2).send().await, "ReceiveMessage");
    assert!(out.messages().is_empty());
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900),
        "queue default wait ignored: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_millis(3000), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visibility_timeout_expiry_redelivers_with_new_handle_and_count() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "redeliver", &[]).await;
    let id = send(&sqs, &url, "again").await;

    let first = receive(&sqs, &url, 1, 1, Some(1)).await;
    let t0 = Instant::now();
    assert_eq!(first.len(), 1);
    assert_eq!(receive_count(&first[0]), 1);
    assert!(
        receive(&sqs, &url, 10, 0, None).await.is_empty(),
        "in-flight message visible"
    );

    let second = receive(&sqs, &url, 1, 5, Some(30)).await;
    let elapsed = t0.elapsed();
    assert_eq!(second.len(), 1, "not redelivered after the visibility timeout");
    assert_eq!(second[0].message_id(), Some(id.as_str()));
    assert_eq!(receive_count(&second[0]), 2);
    assert_ne!(
        second[0].receipt_handle(),
        first[0].receipt_handle(),
        "each receive gets a new handle"
    );
    assert!(
        elapsed >= Duration::from_millis(800),
        "redelivered after {elapsed:?}, before 1 s"
    );
    assert!(
        elapsed < Duration::from_millis(3500),
        "redelivered after {elapsed:?}: poll not woken"
    );

    // The newest handle deletes it.
    ok(
        sqs.delete_message()
            .queue_url(&url)
            .receipt_handle(second[0].receipt_handle().unwrap())
            .send()
            .await,
        "DeleteMessage",
    );
    assert_eq!(counts(&sqs, &url).await, (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_visibility_timeout_is_the_default() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "qvis", &[(Q::VisibilityTimeout, "1")]).await;
    send(&sqs, &url, "x").await;
    let first = receive(&sqs, &url, 1, 1, None).await;
    assert_eq!(first.len(), 1);
    let t0 = Instant::now();
    let second = receive(&sqs, &url, 1, 5, None).await;
    assert_eq!(second.len(), 1);
    assert_eq!(receive_count(&second[0]), 2);
    assert!(t0.elapsed() < Duration::from_millis(3500), "{:?}", t0.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_message_is_final_and_bad_handles_are_rejected() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "deletes", &[]).await;
    send(&sqs, &url, "gone").await;
    let got = receive(&sqs, &url, 1, 1, Some(1)).await;
    assert_eq!(got.len(), 1);
    ok(
        sqs.delete_message()
            .queue_url(&url)
            .receipt_handle(got[0].receipt_handle().unwrap())
            .send()
            .await,
        "DeleteMessage",
    );
    // Past the old visibility timeout it does not come back.
    assert!(
        receive(&sqs, &url, 10, 2, None).await.is_empty(),
        "deleted message redelivered"
    );
    assert_eq!(counts(&sqs, &url).await, (0, 0, 0));

    let res = sqs
        .delete_message()
        .queue_url(&url)
        .receipt_handle("not-a-receipt-handle")
        .send()
        .await;
    let err = expect_code(res, "ReceiptHandleIsInvalid");
    assert!(err
        .as_service_error()
        .map(|e| e.is_receipt_handle_is_invalid())
        .unwrap_or(false));

    // A receipt handle belongs to its queue: using it on another queue is invalid and leaves
    // the message alone.
    let other = create_queue(&sqs, "deletes-other", &[]).await;
    send(&sqs, &other, "stays").await;
    let held = receive(&sqs, &other, 1, 1, Some(60)).await;
    assert_eq!(held.len(), 1);
    let res = sqs
        .delete_message()
        .queue_url(&url)
        .receipt_handle(held[0].receipt_handle().unwrap())
        .send()
        .await;
    expect_code(res, "ReceiptHandleIsInvalid");
    assert_eq!(counts(&sqs, &other).await, (0, 1, 0));

    let missing = format!("{}/{}/missing", broker.endpoint(), ACCOUNT_ID);
    let err = sqs
        .delete_message()
        .queue_url(missing)
        .receipt_handle(got[0].receipt_handle().unwrap())
        .send()
        .await
        .expect_err("missing queue");
    assert!(
        err.as_service_error()
            .map(|e| e.is_queue_does_not_exist())
            .unwrap_or(false),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_message_visibility_extends_resets_and_rejects() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "chvis", &[]).await;
    send(&sqs, &url, "a").await;

    // To 0: visible at once.
    let got = receive(&sqs, &url, 1, 1, Some(30)).await;
    let handle = got[0].receipt_handle().unwrap().to_string();
    make_visible(&sqs, &url, &handle).await;
    let again = receive(&sqs, &url, 1, 0, Some(1)).await;
    assert_eq!(
        again.len(),
        1,
        "ChangeMessageVisibility 0 did not make the message visible"
    );
    assert_eq!(receive_count(&again[0]), 2);

    // The old handle's message is in flight again under a new handle; a message that is not in
    // flight at all can't have its visibility changed.
    let h2 = again[0].receipt_handle().unwrap().to_string();
    make_visible(&sqs, &url, &h2).await;
    let res = sqs
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&h2)
        .visibility_timeout(10)
        .send()
        .await;
    let err = expect_code(res, "AWS.SimpleQueueService.MessageNotInflight");
    assert!(err
        .as_service_error()
        .map(|e| e.is_message_not_inflight())
        .unwrap_or(false));

    // Extending: received with 1 s, extended to 4 s, still invisible after 2 s.
    let got = receive(&sqs, &url, 1, 1, Some(1)).await;
    assert_eq!(got.len(), 1);
    ok(
        sqs.change_message_visibility()
            .queue_url(&url)
            .receipt_handle(got[0].receipt_handle().unwrap())
            .visibility_timeout(4)
            .send()
            .await,
        "ChangeMessageVisibility extend",
    );
    assert!(receive(&sqs, &url, 1, 2, None).await.is_empty(), "extension ignored");
    assert_eq!(counts(&sqs, &url).await, (0, 1, 0));

    let res = sqs
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(got[0].receipt_handle().unwrap())
        .visibility_timeout(43201)
        .send()
        .await;
    expect_code(res, "InvalidParameterValue");

    let res = sqs
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle("garbage")
        .visibility_timeout(5)
        .send()
        .await;
    let err = expect_code(res, "ReceiptHandleIsInvalid");
    assert!(err
        .as_service_error()
        .map(|e| e.is_receipt_handle_is_invalid())
        .unwrap_or(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maximum_message_size_is_enforced() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "small", &[(Q::MaximumMessageSize, "1024")]).await;
    send(&sqs, &url, &"x".repeat(1024)).await;
    let res = sqs
        .send_message()
        .queue_url(&url)
        .message_body("x".repeat(1025))
        .send()
        .await;
    expect_code(res, "InvalidParameterValue");
    // Multi-byte characters count in bytes: 342 × 3 bytes = 1026 > 1024.
    let res = sqs
        .send_message()
        .queue_url(&url)
        .message_body("€".repeat(342))
        .send()
        .await;
    expect_code(res, "InvalidParameterValue");
    // Attributes count toward the size: a 1000-byte body plus a 100-byte attribute is too big.
    let res = sqs
        .send_message()
        .queue_url(&url)
        .message_body("y".repeat(1000))
        .message_attributes("big", string_attr("String", &"z".repeat(100)))
        .send()
        .await;
    expect_code(res, "InvalidParameterValue");
    assert_eq!(
        counts(&sqs, &url).await,
        (1, 0, 0),
        "only the 1024-byte message was stored"
    );

    // The default (and absolute) limit is 1 MiB.
    let url = create_queue(&sqs, "big", &[]).await;
    send(&sqs, &url, &"b".repeat(1_048_576)).await;
    let res = sqs
        .send_message()
        .queue_url(&url)
        .message_body("b".repeat(1_048_577))
        .send()
        .await;
    expect_code(res, "InvalidParameterValue");
    let got = receive(&sqs, &url, 1, 1, None).await;
    assert_eq!(got[0].body().map(str::len), Some(1_048_576));
    assert_eq!(got[0].md5_of_body(), Some(md5_hex("b".repeat(1_048_576)).as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_message_contents_are_rejected() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "contents", &[]).await;
    // Allowed: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
    for bad in ["\u{0}", "a\u{1}b", "tab\u{8}", "\u{FFFE}", "\u{FFFF}", "x\u{1F}"] {
        let res = sqs.send_message().queue_url(&url).message_body(bad).send().await;
        let err = expect_code(res, "InvalidMessageContents");
        assert!(
            err.as_service_error()
                .map(|e| e.is_invalid_message_contents())
                .unwrap_or(false),
            "{bad:?}"
        );
    }
    send(&sqs, &url, "\t\n\r \u{D7FF}\u{E000}\u{FFFD}\u{10000}").await;
    assert_eq!(counts(&sqs, &url).await, (1, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_message_attributes_are_rejected() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "badattrs", &[]).await;
    let cases: Vec<(&str, MessageAttributeValue)> = vec![
        ("t", string_attr("Bogus", "x")),
        ("n", string_attr("Number", "not-a-number")),
        ("AWS.reserved", string_attr("String", "x")),
        (
            "s",
            MessageAttributeValue::builder().data_type("String").build().unwrap(),
        ),
    ];
    for (name, value) in cases {
        let res = sqs
            .send_message()
            .queue_url(&url)
            .message_body("x")
            .message_attributes(name, value.clone())
            .send()
            .await;
        expect_code(res, "InvalidParameterValue");
    }
    // At most 10 attributes per message.
    let mut req = sqs.send_message().queue_url(&url).message_body("x");
    for i in 0..11 {
        req = req.message_attributes(format!("a{i}"), string_attr("String", "v"));
    }
    expect_code(req.send().await, "InvalidParameterValue");
    assert_eq!(counts(&sqs, &url).await, (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_to_missing_queue_is_queue_does_not_exist() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let err = sqs
        .send_message()
        .queue_url(format!("{}/{}/missing", broker.endpoint(), ACCOUNT_ID))
        .message_body("x")
        .send()
        .await
        .expect_err("missing queue");
    assert!(
        err.as_service_error()
            .map(|e| e.is_queue_does_not_exist())
            .unwrap_or(false),
        "{err:?}"
    );
}

/// Slow (about 62 s): messages older than MessageRetentionPeriod (minimum 60 s) are dropped.
/// Run with `cargo test -p sluice-tests --test sqs_messages -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: waits 62 s for the minimum MessageRetentionPeriod to pass"]
async fn message_retention_period_expires_messages() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "expiring", &[(Q::MessageRetentionPeriod, "60")]).await;
    send(&sqs, &url, "old").await;
    // Received once and left in flight: retention applies to in-flight messages too.
    send(&sqs, &url, "old-inflight").await;
    assert_eq!(receive(&sqs, &url, 1, 1, Some(120)).await.len(), 1);
    tokio::time::sleep(Duration::from_secs(62)).await;
    send(&sqs, &url, "new").await;
    let got = receive(&sqs, &url, 10, 1, None).await;
    let bodies: Vec<_> = got.iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, vec!["new"]);
    assert_eq!(counts(&sqs, &url).await, (0, 1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receive_with_visibility_timeout_zero_leaves_message_visible() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "vis-zero", &[]).await;
    let id = send(&sqs, &url, "peek").await;
    let first = receive(&sqs, &url, 1, 1, Some(0)).await;
    assert_eq!(first.len(), 1);
    let second = receive(&sqs, &url, 1, 0, Some(30)).await;
    assert_eq!(second.len(), 1, "VisibilityTimeout=0 hid the message");
    assert_eq!(second[0].message_id(), Some(id.as_str()));
    assert_eq!(receive_count(&second[0]), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_consumers_each_get_distinct_messages() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "fanin", &[]).await;
    const TOTAL: usize = 200;

    // Four long-polling consumers start first, then the producer sends.
    let mut consumers = Vec::new();
    for _ in 0..4 {
        let sqs = sqs.clone();
        let url = url.clone();
        consumers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut empty = 0;
            while Instant::now() < deadline && empty < 2 {
                let got = receive(&sqs, &url, 10, 1, Some(60)).await;
                if got.is_empty() {
                    if !ids.is_empty() {
                        empty += 1;
                    }
                    continue;
                }
                for m in got {
                    ids.push(m.message_id().unwrap().to_string());
                    ok(
                        sqs.delete_message()
                            .queue_url(&url)
                            .receipt_handle(m.receipt_handle().unwrap())
                            .send()
                            .await,
                        "DeleteMessage",
                    );
                }
            }
            ids
        }));
    }
    let mut sent = std::collections::HashSet::new();
    for i in 0..TOTAL {
        sent.insert(send(&sqs, &url, &format!("n{i}")).await);
    }
    let mut received = Vec::new();
    for c in consumers {
        received.extend(c.await.unwrap());
    }
    let unique: std::collections::HashSet<_> = received.iter().cloned().collect();
    assert_eq!(unique, sent, "every message received");
    assert_eq!(
        received.len(),
        TOTAL,
        "no message delivered twice within its visibility timeout"
    );
    assert_eq!(counts(&sqs, &url).await, (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_wakes_when_a_message_is_made_visible() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "wake-on-visible", &[]).await;
    send(&sqs, &url, "held").await;
    let held = receive(&sqs, &url, 1, 1, Some(60)).await;
    assert_eq!(held.len(), 1);

    let poller = {
        let sqs = sqs.clone();
        let url = url.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            let got = receive(&sqs, &url, 1, 10, Some(60)).await;
            (got, start.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    make_visible(&sqs, &url, held[0].receipt_handle().unwrap()).await;
    let (got, elapsed) = poller.await.unwrap();
    assert_eq!(
        got.len(),
        1,
        "long poll missed the message released by ChangeMessageVisibility 0"
    );
    assert!(
        elapsed < Duration::from_secs(3),
        "long poll woke only after {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_message_goes_to_exactly_one_of_two_long_polls() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "one-winner", &[]).await;
    let mut pollers = Vec::new();
    for _ in 0..2 {
        let sqs = sqs.clone();
        let url = url.clone();
        pollers.push(tokio::spawn(async move {
            let start = Instant::now();
            let got = receive(&sqs, &url, 10, 3, Some(60)).await;
            (got.len(), start.elapsed())
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    send(&sqs, &url, "only one").await;
    let mut results = Vec::new();
    for p in pollers {
        results.push(p.await.unwrap());
    }
    results.sort();
    let (loser, winner) = (results[0], results[1]);
    assert_eq!((loser.0, winner.0), (0, 1), "{results:?}");
    assert!(winner.1 < Duration::from_millis(2500), "winner waited {:?}", winner.1);
    assert!(
        loser.1 >= Duration::from_millis(2800),
        "loser returned early after {:?}",
        loser.1
    );
}
