//! SQS queue management through the official `aws-sdk-sqs` client: CreateQueue (idempotence,
//! name and attribute validation), GetQueueUrl, ListQueues (prefix, pagination), DeleteQueue,
//! Get/SetQueueAttributes (defaults, ARN, timestamps, counters), PurgeQueue, tags and
//! permissions. Expected values come from the SQS API reference (the SDK model's doc strings).
//!
//! Each test starts its own broker, so listings and counters are exact.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName as Q;
use sluice_tests::sqs::{counts, create_queue, expect_code, now_epoch_secs, ok, queue_attributes, receive, send};
use sluice_tests::{Broker, ACCOUNT_ID};

fn url_of(broker: &Broker, name: &str) -> String {
    format!("{}/{}/{}", broker.endpoint(), ACCOUNT_ID, name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_queue_returns_url_and_is_idempotent_with_equal_attributes() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;

    let url = create_queue(&sqs, "orders", &[(Q::VisibilityTimeout, "5"), (Q::DelaySeconds, "1")]).await;
    assert_eq!(url, url_of(&broker, "orders"));

    // Same name, same attributes: the existing queue's URL.
    let again = create_queue(&sqs, "orders", &[(Q::VisibilityTimeout, "5"), (Q::DelaySeconds, "1")]).await;
    assert_eq!(again, url);

    // Same name and a subset of equal attributes is fine too.
    let subset = create_queue(&sqs, "orders", &[(Q::VisibilityTimeout, "5")]).await;
    assert_eq!(subset, url);

    let list = ok(sqs.list_queues().send().await, "ListQueues");
    assert_eq!(list.queue_urls(), [url], "exactly one queue after three creates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_queue_with_different_attributes_is_queue_name_exists() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    create_queue(&sqs, "dup", &[(Q::VisibilityTimeout, "5")]).await;

    let res = sqs
        .create_queue()
        .queue_name("dup")
        .attributes(Q::VisibilityTimeout, "6")
        .send()
        .await;
    let err = expect_code(res, "QueueAlreadyExists");
    assert!(err
        .as_service_error()
        .map(|e| e.is_queue_name_exists())
        .unwrap_or(false));

    // The original is untouched.
    let attrs = queue_attributes(&sqs, &url_of(&broker, "dup"), &[Q::VisibilityTimeout]).await;
    assert_eq!(attrs.get("VisibilityTimeout").map(String::as_str), Some("5"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_queue_rejects_invalid_names() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let too_long = "a".repeat(81);
    // 1-80 characters, alphanumerics, hyphens and underscores (".fifo" only for FIFO queues).
    for name in [
        "",
        "has space",
        "dot.name",
        "slash/name",
        "star*",
        too_long.as_str(),
        "ünïcode",
    ] {
        let res = sqs.create_queue().queue_name(name).send().await;
        expect_code(res, "InvalidParameterValue");
    }
    // The longest valid name and every allowed character class work.
    let longest = "b".repeat(80);
    create_queue(&sqs, &longest, &[]).await;
    create_queue(&sqs, "Az09-_", &[]).await;

    let list = ok(sqs.list_queues().send().await, "ListQueues");
    assert_eq!(
        list.queue_urls().len(),
        2,
        "no invalid queue was created: {:?}",
        list.queue_urls()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_queue_rejects_invalid_attribute_values() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let cases: &[(Q, &str)] = &[
        (Q::VisibilityTimeout, "43201"),
        (Q::VisibilityTimeout, "-1"),
        (Q::VisibilityTimeout, "abc"),
        (Q::DelaySeconds, "901"),
        (Q::MaximumMessageSize, "1023"),
        (Q::MaximumMessageSize, "1048577"),
        (Q::MessageRetentionPeriod, "59"),
        (Q::MessageRetentionPeriod, "1209601"),
        (Q::ReceiveMessageWaitTimeSeconds, "21"),
        (Q::RedrivePolicy, "not json"),
    ];
    for (i, (name, value)) in cases.iter().enumerate() {
        let res = sqs
            .create_queue()
            .queue_name(format!("bad-attr-{i}"))
            .attributes(name.clone(), *value)
            .send()
            .await;
        let err = expect_code(res, "InvalidAttributeValue");
        assert!(
            err.as_service_error()
                .map(|e| e.is_invalid_attribute_value())
                .unwrap_or(false),
            "{name:?}={value} maps to the typed InvalidAttributeValue"
        );
    }
    // Boundary values are accepted.
    let url = create_queue(
        &sqs,
        "edges",
        &[
            (Q::VisibilityTimeout, "43200"),
            (Q::DelaySeconds, "900"),
            (Q::MaximumMessageSize, "1024"),
            (Q::MessageRetentionPeriod, "60"),
            (Q::ReceiveMessageWaitTimeSeconds, "20"),
        ],
    )
    .await;
    let attrs = queue_attributes(&sqs, &url, &[]).await;
    assert_eq!(attrs["VisibilityTimeout"], "43200");
    assert_eq!(attrs["DelaySeconds"], "900");
    assert_eq!(attrs["MaximumMessageSize"], "1024");
    assert_eq!(attrs["MessageRetentionPeriod"], "60");
    assert_eq!(attrs["ReceiveMessageWaitTimeSeconds"], "20");

    let list = ok(sqs.list_queues().send().await, "ListQueues");
    assert_eq!(list.queue_urls(), [url], "rejected creates left no queue behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_queue_rejects_unknown_attribute_name() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let res = sqs
        .create_queue()
        .queue_name("unknown-attr")
        .attributes(Q::from("NoSuchAttribute"), "1")
        .send()
        .await;
    let err = expect_code(res, "InvalidAttributeName");
    assert!(err
        .as_service_error()
        .map(|e| e.is_invalid_attribute_name())
        .unwrap_or(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_queue_url_by_name_and_owner_and_missing() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "lookup", &[]).await;

    let out = ok(sqs.get_queue_url().queue_name("lookup").send().await, "GetQueueUrl");
    assert_eq!(out.queue_url(), Some(url.as_str()));

    let out = ok(
        sqs.get_queue_url()
            .queue_name("lookup")
            .queue_owner_aws_account_id(ACCOUNT_ID)
            .send()
            .await,
        "GetQueueUrl with owner",
    );
    assert_eq!(out.queue_url(), Some(url.as_str()));

    // Another account's namespace does not have this queue.
    let res = sqs
        .get_queue_url()
        .queue_name("lookup")
        .queue_owner_aws_account_id("111122223333")
        .send()
        .await;
    let err = res.expect_err("queue owned by another account");
    assert!(
        err.as_service_error()
            .map(|e| e.is_queue_does_not_exist())
            .unwrap_or(false),
        "{err:?}"
    );

    let res = sqs.get_queue_url().queue_name("nope").send().await;
    let err = expect_code(res, "AWS.SimpleQueueService.NonExistentQueue");
    assert!(
        err.as_service_error()
            .map(|e| e.is_queue_does_not_exist())
            .unwrap_or(false),
        "typed QueueDoesNotExist: {err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_queues_with_prefix_and_pagination() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let mut expected = Vec::new();
    for i in 0..7 {
        expected.push(create_queue(&sqs, &format!("page-{i}"), &[]).await);
    }
    let other = create_queue(&sqs, "other", &[]).await;

    let all = ok(sqs.list_queues().send().await, "ListQueues");
    let mut all_urls = all.queue_urls().to_vec();
    all_urls.sort();
    let mut want_all = expected.clone();
    want_all.push(other.clone());
    want_all.sort();
    assert_eq!(all_urls, want_all);
    assert!(all.next_token().is_none(), "no NextToken without MaxResults");

    let prefixed = ok(
        sqs.list_queues().queue_name_prefix("page-").send().await,
        "ListQueues prefix",
    );
    let mut urls = prefixed.queue_urls().to_vec();
    urls.sort();
    assert_eq!(urls, expected);

    let none = ok(
        sqs.list_queues().queue_name_prefix("zzz").send().await,
        "ListQueues no match",
    );
    assert!(none.queue_urls().is_empty());

    // Pages of 3 over 7 queues: 3 + 3 + 1, the last without NextToken.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = Vec::new();
    for _ in 0..10 {
        let out = ok(
            sqs.list_queues()
                .queue_name_prefix("page-")
                .max_results(3)
                .set_next_token(token.clone())
                .send()
                .await,
            "ListQueues page",
        );
        pages.push(out.queue_urls().len());
        seen.extend(out.queue_urls().iter().cloned());
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, vec![3, 3, 1]);
    seen.sort();
    assert_eq!(seen, expected, "pagination returns every queue exactly once");

    // MaxResults outside 1..=1000 is invalid.
    let res = sqs.list_queues().max_results(0).send().await;
    expect_code(res, "InvalidParameterValue");
    let res = sqs.list_queues().max_results(1001).send().await;
    expect_code(res, "InvalidParameterValue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_queue_then_queue_does_not_exist() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "doomed", &[]).await;
    send(&sqs, &url, "bye").await;
    ok(sqs.delete_queue().queue_url(&url).send().await, "DeleteQueue");

    let err = sqs
        .get_queue_url()
        .queue_name("doomed")
        .send()
        .await
        .expect_err("deleted");
    assert!(
        err.as_service_error()
            .map(|e| e.is_queue_does_not_exist())
            .unwrap_or(false),
        "{err:?}"
    );
    let err = sqs
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .send()
        .await
        .expect_err("deleted");
    assert!(
        err.as_service_error()
            .map(|e| e.is_queue_does_not_exist())
            .unwrap_or(false),
        "{err:?}"
    );
    let err = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(Q::All)
        .send()
        .await
        .expect_err("deleted");
    assert!(
        err.as_service_error()
            .map(|e| e.is_queue_does_not_exist())
            .unwrap_or(false),
        "{err:?}"
    );
    let err = sqs.receive_message().queue_url(&url).send().await.expect_err("deleted");
    assert!(
        err.as_service_error()
            .map(|e| e.is_queue_does_not_exist())
            .unwrap_or(false),
        "{err:?}"
    );
    let err = sqs
        .delete_queue()
        .queue_url(&url)
        .send()
        .await
        .expect_err("deleted twice");
    assert!(
        err.as_service_error()
            .map(|e| e.is_queue_does_not_exist())
            .unwrap_or(false),
        "{err:?}"
    );

    let list = ok(sqs.list_queues().send().await, "ListQueues");
    assert!(list.queue_urls().is_empty(), "{:?}", list.queue_urls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_attributes_defaults_arn_and_timestamps() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let before = now_epoch_secs();
    let url = create_queue(&sqs, "defaults", &[]).await;
    let after = now_epoch_secs();

    let attrs = queue_attributes(&sqs, &url, &[]).await;
    assert_eq!(
        attrs["QueueArn"],
        format!("arn:aws:sqs:us-east-1:{ACCOUNT_ID}:defaults")
    );
    // Defaults from the CreateQueue reference.
    assert_eq!(attrs["VisibilityTimeout"], "30");
    assert_eq!(attrs["DelaySeconds"], "0");
    assert_eq!(attrs["MaximumMessageSize"], "1048576");
    assert_eq!(attrs["MessageRetentionPeriod"], "345600");
    assert_eq!(attrs["ReceiveMessageWaitTimeSeconds"], "0");
    assert_eq!(attrs["ApproximateNumberOfMessages"], "0");
    assert_eq!(attrs["ApproximateNumberOfMessagesNotVisible"], "0");
    assert_eq!(attrs["ApproximateNumberOfMessagesDelayed"], "0");
    assert!(
        !attrs.contains_key("RedrivePolicy"),
        "no RedrivePolicy unless set: {attrs:?}"
    );
    assert!(
        !attrs.contains_key("FifoQueue"),
        "standard queues omit FifoQueue: {attrs:?}"
    );

    let created: i64 = attrs["CreatedTimestamp"]
        .parse()
        .expect("CreatedTimestamp is epoch seconds");
    let modified: i64 = attrs["LastModifiedTimestamp"]
        .parse()
        .expect("LastModifiedTimestamp is epoch seconds");
    assert!(
        created >= before - 1 && created <= after + 1,
        "created {created} not in [{before}, {after}]"
    );
    assert!(
        modified >= created && modified <= after + 1,
        "modified {modified}, created {created}"
    );

    // Specific names return exactly those attributes.
    let some = queue_attributes(&sqs, &url, &[Q::QueueArn, Q::VisibilityTimeout]).await;
    let mut keys: Vec<_> = some.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, vec!["QueueArn".to_string(), "VisibilityTimeout".to_string()]);

    // LastModifiedTimestamp moves on SetQueueAttributes; CreatedTimestamp does not.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    ok(
        sqs.set_queue_attributes()
            .queue_url(&url)
            .attributes(Q::VisibilityTimeout, "7")
            .send()
            .await,
        "SetQueueAttributes",
    );
    let attrs2 = queue_attributes(&sqs, &url, &[Q::CreatedTimestamp, Q::LastModifiedTimestamp]).await;
    assert_eq!(attrs2["CreatedTimestamp"], attrs["CreatedTimestamp"]);
    let modified2: i64 = attrs2["LastModifiedTimestamp"].parse().unwrap();
    assert!(
        modified2 > modified,
        "LastModifiedTimestamp {modified2} did not advance past {modified}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_queue_attributes_roundtrip_and_validation() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "settable", &[]).await;

    let set = [
        (Q::VisibilityTimeout, "45"),
        (Q::DelaySeconds, "2"),
        (Q::MaximumMessageSize, "2048"),
        (Q::ReceiveMessageWaitTimeSeconds, "3"),
        (Q::MessageRetentionPeriod, "120"),
    ];
    let mut req = sqs.set_queue_attributes().queue_url(&url);
    for (k, v) in &set {
        req = req.attributes(k.clone(), *v);
    }
    ok(req.send().await, "SetQueueAttributes");
    let names: Vec<Q> = set.iter().map(|(k, _)| k.clone()).collect();
    let got = queue_attributes(&sqs, &url, &names).await;
    let want: HashMap<String, String> = set
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_string()))
        .collect();
    assert_eq!(got, want);

    let res = sqs
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(Q::VisibilityTimeout, "43201")
        .send()
        .await;
    let err = expect_code(res, "InvalidAttributeValue");
    assert!(err
        .as_service_error()
        .map(|e| e.is_invalid_attribute_value())
        .unwrap_or(false));

    let res = sqs
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(Q::from("Bogus"), "1")
        .send()
        .await;
    let err = expect_code(res, "InvalidAttributeName");
    assert!(err
        .as_service_error()
        .map(|e| e.is_invalid_attribute_name())
        .unwrap_or(false));

    // Read-only attributes can't be set.
    let res = sqs
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(Q::ApproximateNumberOfMessages, "5")
        .send()
        .await;
    expect_code(res, "InvalidAttributeName");

    let res = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(Q::from("Bogus"))
        .send()
        .await;
    let err = expect_code(res, "InvalidAttributeName");
    assert!(err
        .as_service_error()
        .map(|e| e.is_invalid_attribute_name())
        .unwrap_or(false));

    // Failed sets changed nothing.
    let again = queue_attributes(&sqs, &url, &names).await;
    assert_eq!(again, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_retention_period_range() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "retention", &[(Q::MessageRetentionPeriod, "60")]).await;
    for bad in ["59", "0", "1209601", "-60", "6O"] {
        let res = sqs
            .set_queue_attributes()
            .queue_url(&url)
            .attributes(Q::MessageRetentionPeriod, bad)
            .send()
            .await;
        expect_code(res, "InvalidAttributeValue");
    }
    ok(
        sqs.set_queue_attributes()
            .queue_url(&url)
            .attributes(Q::MessageRetentionPeriod, "1209600")
            .send()
            .await,
        "SetQueueAttributes 14 days",
    );
    let attrs = queue_attributes(&sqs, &url, &[Q::MessageRetentionPeriod]).await;
    assert_eq!(attrs["MessageRetentionPeriod"], "1209600");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approximate_counts_track_visible_in_flight_and_delayed() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "counts", &[]).await;
    send(&sqs, &url, "a").await;
    send(&sqs, &url, "b").await;
    ok(
        sqs.send_message()
            .queue_url(&url)
            .message_body("later")
            .delay_seconds(60)
            .send()
            .await,
        "SendMessage delayed",
    );
    assert_eq!(counts(&sqs, &url).await, (2, 0, 1));

    let got = receive(&sqs, &url, 1, 1, Some(30)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(counts(&sqs, &url).await, (1, 1, 1));

    let handle = got[0].receipt_handle().unwrap();
    ok(
        sqs.delete_message().queue_url(&url).receipt_handle(handle).send().await,
        "DeleteMessage",
    );
    assert_eq!(counts(&sqs, &url).await, (1, 0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_queue_removes_everything_and_second_purge_is_in_progress() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "purgeable", &[]).await;
    for i in 0..3 {
        send(&sqs, &url, &format!("m{i}")).await;
    }
    ok(
        sqs.send_message()
            .queue_url(&url)
            .message_body("delayed")
            .delay_seconds(60)
            .send()
            .await,
        "SendMessage delayed",
    );
    let inflight = receive(&sqs, &url, 1, 1, Some(60)).await;
    assert_eq!(inflight.len(), 1);
    assert_eq!(counts(&sqs, &url).await, (2, 1, 1));

    ok(sqs.purge_queue().queue_url(&url).send().await, "PurgeQueue");
    assert_eq!(
        counts(&sqs, &url).await,
        (0, 0, 0),
        "purge removes visible, in-flight and delayed messages"
    );
    assert!(receive(&sqs, &url, 10, 1, None).await.is_empty());

    // "Only one PurgeQueue operation on a queue is allowed every 60 seconds."
    let res = sqs.purge_queue().queue_url(&url).send().await;
    let err = expect_code(res, "AWS.SimpleQueueService.PurgeQueueInProgress");
    assert!(err
        .as_service_error()
        .map(|e| e.is_purge_queue_in_progress())
        .unwrap_or(false));

    let err = sqs
        .purge_queue()
        .queue_url(format!("{}/{}/missing", broker.endpoint(), ACCOUNT_ID))
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
async fn tag_untag_and_list_queue_tags() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let out = ok(
        sqs.create_queue()
            .queue_name("tagged")
            .tags("team", "core")
            .send()
            .await,
        "CreateQueue with tags",
    );
    let url = out.queue_url().unwrap().to_string();

    let tags = |out: aws_sdk_sqs::operation::list_queue_tags::ListQueueTagsOutput| -> HashMap<String, String> {
        out.tags().cloned().unwrap_or_default()
    };
    let t = tags(ok(sqs.list_queue_tags().queue_url(&url).send().await, "ListQueueTags"));
    assert_eq!(t, HashMap::from([("team".to_string(), "core".to_string())]));

    ok(
        sqs.tag_queue()
            .queue_url(&url)
            .tags("env", "test")
            .tags("team", "platform")
            .send()
            .await,
        "TagQueue",
    );
    let t = tags(ok(sqs.list_queue_tags().queue_url(&url).send().await, "ListQueueTags"));
    assert_eq!(
        t,
        HashMap::from([
            ("team".to_string(), "platform".to_string()),
            ("env".to_string(), "test".to_string()),
        ])
    );

    ok(
        sqs.untag_queue()
            .queue_url(&url)
            .tag_keys("team")
            .tag_keys("absent")
            .send()
            .await,
        "UntagQueue",
    );
    let t = tags(ok(sqs.list_queue_tags().queue_url(&url).send().await, "ListQueueTags"));
    assert_eq!(t, HashMap::from([("env".to_string(), "test".to_string())]));

    let err = sqs
        .list_queue_tags()
        .queue_url(format!("{}/{}/missing", broker.endpoint(), ACCOUNT_ID))
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
async fn add_and_remove_permission_reflected_in_policy() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "shared", &[]).await;
    let arn = format!("arn:aws:sqs:us-east-1:{ACCOUNT_ID}:shared");

    ok(
        sqs.add_permission()
            .queue_url(&url)
            .label("AllowSend")
            .aws_account_ids("111122223333")
            .actions("SendMessage")
            .actions("ReceiveMessage")
            .send()
            .await,
        "AddPermission",
    );
    let attrs = queue_attributes(&sqs, &url, &[Q::Policy]).await;
    let policy: serde_json::Value =
        serde_json::from_str(attrs.get("Policy").expect("Policy set after AddPermission")).expect("Policy is JSON");
    let statements = policy["Statement"].as_array().expect("Statement array");
    assert_eq!(statements.len(), 1, "{policy}");
    let st = &statements[0];
    assert_eq!(st["Sid"], "AllowSend");
    assert_eq!(st["Effect"], "Allow");
    assert_eq!(st["Resource"], arn.as_str());
    let principal = st["Principal"]["AWS"].to_string();
    assert!(principal.contains("111122223333"), "principal {principal}");
    let actions = st["Action"].to_string();
    assert!(
        actions.contains("SQS:SendMessage") && actions.contains("SQS:ReceiveMessage"),
        "actions {actions}"
    );

    // Labels are unique per queue.
    let res = sqs
        .add_permission()
        .queue_url(&url)
        .label("AllowSend")
        .aws_account_ids("111122223333")
        .actions("SendMessage")
        .send()
        .await;
    expect_code(res, "InvalidParameterValue");

    ok(
        sqs.remove_permission().queue_url(&url).label("AllowSend").send().await,
        "RemovePermission",
    );
    let attrs = queue_attributes(&sqs, &url, &[Q::Policy]).await;
    if let Some(p) = attrs.get("Policy") {
        assert!(
            !p.contains("AllowSend"),
            "statement still present after RemovePermission: {p}"
        );
    }

    let res = sqs.remove_permission().queue_url(&url).label("AllowSend").send().await;
    expect_code(res, "InvalidParameterValue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_urls_resolve_by_path_and_names_are_case_sensitive() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let lower = create_queue(&sqs, "orders", &[]).await;
    let upper = create_queue(&sqs, "Orders", &[]).await;
    assert_ne!(lower, upper, "queue names are case-sensitive");
    send(&sqs, &lower, "to lower").await;

    // A URL with another host name (copied from a container, a proxy) reaches the same queue.
    let other_host = format!("http://localhost:{}/{}/orders", broker.port(), ACCOUNT_ID);
    let got = receive(&sqs, &other_host, 10, 1, None).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body(), Some("to lower"));
    assert!(receive(&sqs, &upper, 10, 0, None).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreated_queue_starts_empty() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "phoenix", &[(Q::VisibilityTimeout, "7")]).await;
    for i in 0..3 {
        send(&sqs, &url, &format!("old{i}")).await;
    }
    assert_eq!(receive(&sqs, &url, 1, 1, Some(60)).await.len(), 1);
    ok(
        sqs.tag_queue().queue_url(&url).tags("old", "tag").send().await,
        "TagQueue",
    );
    ok(sqs.delete_queue().queue_url(&url).send().await, "DeleteQueue");

    // AWS makes you wait 60 s (QueueDeletedRecently); a broker may allow it at once. Either
    // way, nothing of the old queue may leak into the new one.
    let res = sqs.create_queue().queue_name("phoenix").send().await;
    match res {
        Err(e) => {
            assert!(
                e.as_service_error()
                    .map(|e| e.is_queue_deleted_recently())
                    .unwrap_or(false),
                "recreate failed with {e:?}"
            );
        }
        Ok(out) => {
            let url = out.queue_url().unwrap().to_string();
            assert_eq!(
                counts(&sqs, &url).await,
                (0, 0, 0),
                "old messages leaked into the new queue"
            );
            assert!(receive(&sqs, &url, 10, 1, None).await.is_empty());
            let attrs = queue_attributes(&sqs, &url, &[Q::VisibilityTimeout]).await;
            assert_eq!(attrs["VisibilityTimeout"], "30", "old attributes leaked");
            let tags = ok(sqs.list_queue_tags().queue_url(&url).send().await, "ListQueueTags");
            assert!(
                tags.tags().map(|t| t.is_empty()).unwrap_or(true),
                "old tags leaked: {:?}",
                tags.tags()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_id_flag_and_regions_are_namespaces() {
    let broker = Broker::start_with(&["--account-id", "123456789012"]).await;
    let us = broker.sqs().await;
    let eu = sluice_tests::sqs_client_in_region(&broker.endpoint(), "eu-west-1").await;

    let url = create_queue(&us, "shared-name", &[(Q::VisibilityTimeout, "5")]).await;
    assert_eq!(url, format!("{}/123456789012/shared-name", broker.endpoint()));
    let attrs = queue_attributes(&us, &url, &[Q::QueueArn]).await;
    assert_eq!(attrs["QueueArn"], "arn:aws:sqs:us-east-1:123456789012:shared-name");

    // Another region (from the SigV4 credential scope) is another namespace.
    let list = ok(eu.list_queues().send().await, "ListQueues eu-west-1");
    assert!(
        list.queue_urls().is_empty(),
        "us-east-1 queue visible in eu-west-1: {:?}",
        list.queue_urls()
    );
    let err = eu
        .get_queue_url()
        .queue_name("shared-name")
        .send()
        .await
        .expect_err("not in eu-west-1");
    assert!(
        err.as_service_error()
            .map(|e| e.is_queue_does_not_exist())
            .unwrap_or(false),
        "{err:?}"
    );
    let eu_url = create_queue(&eu, "shared-name", &[(Q::VisibilityTimeout, "9")]).await;
    let attrs = queue_attributes(&eu, &eu_url, &[Q::QueueArn, Q::VisibilityTimeout]).await;
    assert_eq!(attrs["QueueArn"], "arn:aws:sqs:eu-west-1:123456789012:shared-name");
    assert_eq!(attrs["VisibilityTimeout"], "9");

    send(&us, &url, "for us-east-1").await;
    assert!(
        receive(&eu, &eu_url, 10, 0, None).await.is_empty(),
        "message crossed regions"
    );
    let got = receive(&us, &url, 10, 1, None).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body(), Some("for us-east-1"));

    // The default account's namespace is empty on this broker.
    let err = us
        .get_queue_url()
        .queue_name("shared-name")
        .queue_owner_aws_account_id(ACCOUNT_ID)
        .send()
        .await
        .expect_err("not in the default account");
    assert!(
        err.as_service_error()
            .map(|e| e.is_queue_does_not_exist())
            .unwrap_or(false),
        "{err:?}"
    );
}
