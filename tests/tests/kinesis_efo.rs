//! Kinesis enhanced fan-out through the unchanged `aws-sdk-kinesis`: stream consumers
//! (register, describe, list with pagination, deregister, the per-stream limit, deletion with
//! the stream) and SubscribeToShard's event stream (every starting position, records pushed as
//! they are put, heartbeats, takeover, resharding while subscribed, deletion, the subscription
//! lifetime); plus raw HTTP/2 (h2c) CBOR and HTTP/1.1 JSON subscriptions read frame by frame.
//!
//! Every wait is bounded; the longest test waits for two 5-second AWS rules (heartbeat and
//! takeover).

use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::{Blob, DateTime};
use aws_sdk_kinesis::types::{ConsumerStatus, ShardIteratorType};
use aws_sdk_kinesis::Client;
use sluice_protocols::eventstream::Message;
use sluice_tests::eventstream::{open, EventStreamReader};
use sluice_tests::kinesis::{
    cbor_get, cbor_map, cbor_text, collect_records, create_stream, kinesis_client, next_event, position,
    register_consumer, request, subscribe, Next, CBOR11, JSON11,
};
use sluice_tests::sqs::{expect_code, ok};
use sluice_tests::{unique_name, Broker};

const SHARD0: &str = "shardId-000000000000";
/// Generous bound for "records reach subscribers within milliseconds" on a loaded CI machine.
const PUSH_BOUND: Duration = Duration::from_secs(3);

fn stream_arn(name: &str) -> String {
    format!("arn:aws:kinesis:us-east-1:000000000000:stream/{name}")
}

/// A broker whose status changes are instant, with a fresh one-shard stream.
struct Setup {
    broker: Broker,
    client: Client,
    name: String,
    arn: String,
}

async fn setup(prefix: &str) -> Setup {
    let broker = Broker::start_with(&["--kinesis-transition-ms", "0"]).await;
    let client = kinesis_client(&broker.endpoint()).await;
    let name = unique_name(prefix);
    create_stream(&client, &name, 1).await;
    let arn = stream_arn(&name);
    Setup {
        broker,
        client,
        name,
        arn,
    }
}

async fn put(client: &Client, stream: &str, key: &str, data: &[u8]) -> String {
    let out = ok(
        client
            .put_record()
            .stream_name(stream)
            .partition_key(key)
            .data(Blob::new(data.to_vec()))
            .send()
            .await,
        "PutRecord",
    );
    out.sequence_number().to_string()
}

fn datas(records: &[aws_sdk_kinesis::types::Record]) -> Vec<Vec<u8>> {
    records.iter().map(|r| r.data().as_ref().to_vec()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumers_register_describe_list_deregister_and_respect_limits() {
    let broker = Broker::start_with(&["--kinesis-transition-ms", "300"]).await;
    let client = kinesis_client(&broker.endpoint()).await;
    let name = unique_name("cons");
    create_stream(&client, &name, 1).await;
    let arn = stream_arn(&name);

    let registered = ok(
        client
            .register_stream_consumer()
            .stream_arn(&arn)
            .consumer_name("c00")
            .send()
            .await,
        "RegisterStreamConsumer",
    );
    let consumer = registered.consumer().expect("consumer");
    assert_eq!(consumer.consumer_status(), &ConsumerStatus::Creating);
    let c0 = consumer.consumer_arn().to_string();
    let suffix = c0
        .strip_prefix(&format!("{arn}/consumer/c00:"))
        .unwrap_or_else(|| panic!("consumer ARN in AWS's form: {c0}"));
    assert!(!suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()), "{c0}");
    // A CREATING consumer cannot subscribe yet.
    expect_code(
        client
            .subscribe_to_shard()
            .consumer_arn(&c0)
            .shard_id(SHARD0)
            .starting_position(position(ShardIteratorType::Latest, None))
            .send()
            .await,
        "ResourceInUseException",
    );
    expect_code(
        client
            .register_stream_consumer()
            .stream_arn(&arn)
            .consumer_name("c00")
            .send()
            .await,
        "ResourceInUseException",
    );
    // c00 was registered first, so it is ACTIVE once c01 is.
    register_consumer(&client, &arn, "c01").await;
    for i in 2..20 {
        ok(
            client
                .register_stream_consumer()
                .stream_arn(&arn)
                .consumer_name(format!("c{i:02}"))
                .send()
                .await,
            "RegisterStreamConsumer",
        );
    }
    expect_code(
        client
            .register_stream_consumer()
            .stream_arn(&arn)
            .consumer_name("c20")
            .send()
            .await,
        "LimitExceededException",
    );

    // Pagination: 7 + 7 + 6, by name, every token honoured.
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = ok(
            client
                .list_stream_consumers()
                .stream_arn(&arn)
                .max_results(7)
                .set_next_token(token.clone())
                .send()
                .await,
            "ListStreamConsumers",
        );
        pages += 1;
        names.extend(page.consumers().iter().map(|c| c.consumer_name().to_string()));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    let want: Vec<String> = (0..20).map(|i| format!("c{i:02}")).collect();
    assert_eq!(names, want);

    let summary = ok(
        client.describe_stream_summary().stream_name(&name).send().await,
        "summary",
    );
    assert_eq!(
        summary.stream_description_summary().map(|s| s.consumer_count()),
        Some(Some(20))
    );

    // Describe by stream ARN and name, and by ARN.
    let by_name = ok(
        client
            .describe_stream_consumer()
            .stream_arn(&arn)
            .consumer_name("c00")
            .send()
            .await,
        "DescribeStreamConsumer",
    );
    let description = by_name.consumer_description().expect("description");
    assert_eq!(description.stream_arn(), arn);
    assert_eq!(description.consumer_status(), &ConsumerStatus::Active);
    let c0 = description.consumer_arn().to_string();
    let stale = format!("{arn}/consumer/c00:1");
    expect_code(
        client.describe_stream_consumer().consumer_arn(&stale).send().await,
        "ResourceNotFoundException",
    );
    expect_code(
        client.describe_stream_consumer().stream_arn(&arn).send().await,
        "InvalidArgumentException",
    );
    expect_code(
        client
            .register_stream_consumer()
            .stream_arn(stream_arn("missing-stream"))
            .consumer_name("x")
            .send()
            .await,
        "ResourceNotFoundException",
    );

    // Tags and resource policies on a consumer ARN belong to the consumer, not its stream.
    ok(
        client
            .tag_resource()
            .resource_arn(&c0)
            .tags("team", "payments")
            .send()
            .await,
        "TagResource on a consumer",
    );
    let consumer_tags = ok(
        client.list_tags_for_resource().resource_arn(&c0).send().await,
        "ListTagsForResource on a consumer",
    );
    assert_eq!(
        consumer_tags
            .tags()
            .iter()
            .map(|t| (t.key(), t.value()))
            .collect::<Vec<_>>(),
        vec![("team", Some("payments"))]
    );
    let stream_tags = ok(
        client.list_tags_for_resource().resource_arn(&arn).send().await,
        "ListTagsForResource on the stream",
    );
    assert!(stream_tags.tags().is_empty(), "{stream_tags:?}");
    ok(
        client.untag_resource().resource_arn(&c0).tag_keys("team").send().await,
        "UntagResource on a consumer",
    );
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"kinesis:SubscribeToShard","Resource":"*"}]}"#;
    ok(
        client
            .put_resource_policy()
            .resource_arn(&c0)
            .policy(policy)
            .send()
            .await,
        "PutResourcePolicy on a consumer",
    );
    let got = ok(
        client.get_resource_policy().resource_arn(&c0).send().await,
        "GetResourcePolicy on a consumer",
    );
    assert_eq!(got.policy(), policy);
    let stream_policy = ok(
        client.get_resource_policy().resource_arn(&arn).send().await,
        "GetResourcePolicy on the stream",
    );
    assert_eq!(stream_policy.policy(), "{}");
    ok(
        client.delete_resource_policy().resource_arn(&c0).send().await,
        "DeleteResourcePolicy on a consumer",
    );
    expect_code(
        client.delete_resource_policy().resource_arn(&c0).send().await,
        "ResourceNotFoundException",
    );

    // A stream with consumers is only deleted on purpose.
    expect_code(
        client.delete_stream().stream_name(&name).send().await,
        "ResourceInUseException",
    );

    ok(
        client.deregister_stream_consumer().consumer_arn(&c0).send().await,
        "DeregisterStreamConsumer",
    );
    let deleting = ok(
        client.describe_stream_consumer().consumer_arn(&c0).send().await,
        "DescribeStreamConsumer",
    );
    assert_eq!(
        deleting.consumer_description().map(|d| d.consumer_status().clone()),
        Some(ConsumerStatus::Deleting)
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match client.describe_stream_consumer().consumer_arn(&c0).send().await {
            Ok(_) => {
                assert!(Instant::now() < deadline, "consumer never went away");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => {
                expect_code::<(), _, _>(Err(e), "ResourceNotFoundException");
                break;
            }
        }
    }
    // The freed slot takes a new consumer of the same name, with a new ARN.
    let again = register_consumer(&client, &arn, "c00").await;
    assert_ne!(again, c0);

    ok(
        client
            .delete_stream()
            .stream_name(&name)
            .enforce_consumer_deletion(true)
            .send()
            .await,
        "DeleteStream with EnforceConsumerDeletion",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_pushed_from_every_starting_position_with_heartbeats() {
    let Setup {
        broker: _broker,
        client,
        name,
        arn,
    } = setup("push").await;
    let mut seqs = Vec::new();
    for i in 0..3 {
        seqs.push(put(&client, &name, "k", format!("before-{i}").as_bytes()).await);
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    let after_before = DateTime::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis() as i64,
    );
    tokio::time::sleep(Duration::from_millis(5)).await;

    let trim = register_consumer(&client, &arn, "trim").await;
    let mut rx = subscribe(&client, &trim, SHARD0, position(ShardIteratorType::TrimHorizon, None)).await;
    let first = collect_records(&mut rx, 3, PUSH_BOUND).await;
    assert_eq!(
        datas(&first),
        vec![b"before-0".to_vec(), b"before-1".to_vec(), b"before-2".to_vec()]
    );
    assert_eq!(
        first
            .iter()
            .map(|r| r.sequence_number().to_string())
            .collect::<Vec<_>>(),
        seqs
    );
    assert!(first
        .iter()
        .all(|r| r.partition_key() == Some("k") && r.approximate_arrival_timestamp().is_some()));

    // Records put while subscribed are pushed, in order, with the continuation at the last.
    let started = Instant::now();
    let live = put(&client, &name, "k", b"live-0").await;
    let pushed = collect_records(&mut rx, 1, PUSH_BOUND).await;
    assert_eq!(datas(&pushed), vec![b"live-0".to_vec()]);
    assert!(started.elapsed() < PUSH_BOUND);
    seqs.push(live);

    let at = register_consumer(&client, &arn, "at").await;
    let mut rx_at = subscribe(
        &client,
        &at,
        SHARD0,
        position(ShardIteratorType::AtSequenceNumber, Some(&seqs[1])),
    )
    .await;
    assert_eq!(
        datas(&collect_records(&mut rx_at, 3, PUSH_BOUND).await),
        vec![b"before-1".to_vec(), b"before-2".to_vec(), b"live-0".to_vec()]
    );
    let after = register_consumer(&client, &arn, "after").await;
    let mut rx_after = subscribe(
        &client,
        &after,
        SHARD0,
        position(ShardIteratorType::AfterSequenceNumber, Some(&seqs[1])),
    )
    .await;
    assert_eq!(
        datas(&collect_records(&mut rx_after, 2, PUSH_BOUND).await),
        vec![b"before-2".to_vec(), b"live-0".to_vec()]
    );
    let stamp = register_consumer(&client, &arn, "stamp").await;
    let at_time = aws_sdk_kinesis::types::StartingPosition::builder()
        .r#type(ShardIteratorType::AtTimestamp)
        .timestamp(after_before)
        .build()
        .expect("position");
    let mut rx_time = ok(
        client
            .subscribe_to_shard()
            .consumer_arn(&stamp)
            .shard_id(SHARD0)
            .starting_position(at_time)
            .send()
            .await,
        "SubscribeToShard AT_TIMESTAMP",
    )
    .event_stream;
    assert_eq!(
        datas(&collect_records(&mut rx_time, 1, PUSH_BOUND).await),
        vec![b"live-0".to_vec()]
    );

    // LATEST sees only what comes after; with nothing new, a heartbeat within ~5 s carries
    // the continuation of the last delivered record.
    let latest = register_consumer(&client, &arn, "latest").await;
    let mut rx_latest = subscribe(&client, &latest, SHARD0, position(ShardIteratorType::Latest, None)).await;
    let newest = put(&client, &name, "k", b"latest-0").await;
    assert_eq!(
        datas(&collect_records(&mut rx_latest, 1, PUSH_BOUND).await),
        vec![b"latest-0".to_vec()]
    );
    let waited = Instant::now();
    match next_event(&mut rx_latest, Duration::from_secs(9)).await {
        Next::Event(heartbeat) => {
            assert!(heartbeat.records().is_empty(), "a heartbeat carries no records");
            assert_eq!(heartbeat.continuation_sequence_number(), newest);
            assert_eq!(heartbeat.millis_behind_latest(), 0);
            assert!(
                waited.elapsed() >= Duration::from_secs(4),
                "heartbeat after about 5 s, got {:?}",
                waited.elapsed()
            );
        }
        other => panic!("expected a heartbeat, got {other:?}"),
    }

    // AT_SEQUENCE_NUMBER without a sequence number is refused before any event.
    let bare = register_consumer(&client, &arn, "bare").await;
    expect_code(
        client
            .subscribe_to_shard()
            .consumer_arn(&bare)
            .shard_id(SHARD0)
            .starting_position(position(ShardIteratorType::AtSequenceNumber, None))
            .send()
            .await,
        "InvalidArgumentException",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_subscription_is_refused_for_five_seconds_then_takes_over() {
    let Setup {
        broker: _broker,
        client,
        name,
        arn,
    } = setup("take").await;
    let consumer = register_consumer(&client, &arn, "app").await;

    let mut first = subscribe(&client, &consumer, SHARD0, position(ShardIteratorType::Latest, None)).await;
    let started = Instant::now();
    expect_code(
        client
            .subscribe_to_shard()
            .consumer_arn(&consumer)
            .shard_id(SHARD0)
            .starting_position(position(ShardIteratorType::Latest, None))
            .send()
            .await,
        "ResourceInUseException",
    );
    // Errors for what does not exist, before any event.
    expect_code(
        client
            .subscribe_to_shard()
            .consumer_arn(&consumer)
            .shard_id("shardId-000000000009")
            .starting_position(position(ShardIteratorType::Latest, None))
            .send()
            .await,
        "ResourceNotFoundException",
    );
    expect_code(
        client
            .subscribe_to_shard()
            .consumer_arn(format!("{arn}/consumer/nobody:1"))
            .shard_id(SHARD0)
            .starting_position(position(ShardIteratorType::Latest, None))
            .send()
            .await,
        "ResourceNotFoundException",
    );
    expect_code(
        client
            .subscribe_to_shard()
            .consumer_arn("arn:aws:kinesis:us-east-1:000000000000:stream/x")
            .shard_id(SHARD0)
            .starting_position(position(ShardIteratorType::Latest, None))
            .send()
            .await,
        "ValidationException",
    );

    let wait = Duration::from_millis(5_200).saturating_sub(started.elapsed());
    tokio::time::sleep(wait).await;
    let mut second = subscribe(&client, &consumer, SHARD0, position(ShardIteratorType::Latest, None)).await;
    // The first subscription ends with ResourceInUseException (after any heartbeat).
    let mut ended = None;
    for _ in 0..5 {
        match next_event(&mut first, Duration::from_secs(7)).await {
            Next::Event(e) if e.records().is_empty() => continue,
            other => {
                ended = Some(other);
                break;
            }
        }
    }
    match ended {
        Some(Next::Error(code)) => assert_eq!(code, "ResourceInUseException"),
        other => panic!("first subscription should end with ResourceInUseException, got {other:?}"),
    }
    // The new one gets the records.
    put(&client, &name, "k", b"for-the-second").await;
    assert_eq!(
        datas(&collect_records(&mut second, 1, PUSH_BOUND).await),
        vec![b"for-the-second".to_vec()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resharding_while_subscribed_ends_the_parent_with_its_children() {
    let Setup {
        broker: _broker,
        client,
        name,
        arn,
    } = setup("reshard").await;
    let consumer = register_consumer(&client, &arn, "app").await;
    let mut rx = subscribe(
        &client,
        &consumer,
        SHARD0,
        position(ShardIteratorType::TrimHorizon, None),
    )
    .await;
    put(&client, &name, "k", b"parent-record").await;
    assert_eq!(
        datas(&collect_records(&mut rx, 1, PUSH_BOUND).await),
        vec![b"parent-record".to_vec()]
    );

    let middle = (u128::MAX / 2).to_string();
    ok(
        client
            .split_shard()
            .stream_name(&name)
            .shard_to_split(SHARD0)
            .new_starting_hash_key(&middle)
            .send()
            .await,
        "SplitShard",
    );
    let last = loop {
        match next_event(&mut rx, PUSH_BOUND).await {
            Next::Event(e) if e.child_shards().is_empty() => assert!(e.records().is_empty()),
            Next::Event(e) => break e,
            other => panic!("expected the closing event, got {other:?}"),
        }
    };
    let children: Vec<&str> = last.child_shards().iter().map(|c| c.shard_id()).collect();
    assert_eq!(children, vec!["shardId-000000000001", "shardId-000000000002"]);
    for child in last.child_shards() {
        assert_eq!(child.parent_shards(), [SHARD0.to_string()]);
    }
    assert!(
        matches!(next_event(&mut rx, PUSH_BOUND).await, Next::End),
        "the parent's subscription ends after its last event"
    );

    // Records now go to the children, and a subscription to a child sees them.
    let mut child_rx = subscribe(
        &client,
        &consumer,
        "shardId-000000000001",
        position(ShardIteratorType::TrimHorizon, None),
    )
    .await;
    ok(
        client
            .put_record()
            .stream_name(&name)
            .partition_key("k")
            .explicit_hash_key("1")
            .data(Blob::new(b"child-record".to_vec()))
            .send()
            .await,
        "PutRecord",
    );
    assert_eq!(
        datas(&collect_records(&mut child_rx, 1, PUSH_BOUND).await),
        vec![b"child-record".to_vec()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deregistering_the_consumer_or_deleting_the_stream_ends_subscriptions() {
    let Setup {
        broker: _broker,
        client,
        name,
        arn,
    } = setup("gone").await;
    let leaving = register_consumer(&client, &arn, "leaving").await;
    let staying = register_consumer(&client, &arn, "staying").await;
    let mut rx_leaving = subscribe(&client, &leaving, SHARD0, position(ShardIteratorType::Latest, None)).await;
    let mut rx_staying = subscribe(&client, &staying, SHARD0, position(ShardIteratorType::Latest, None)).await;

    ok(
        client.deregister_stream_consumer().consumer_arn(&leaving).send().await,
        "DeregisterStreamConsumer",
    );
    match next_event(&mut rx_leaving, PUSH_BOUND).await {
        Next::Error(code) => assert_eq!(code, "ResourceNotFoundException"),
        other => panic!("expected ResourceNotFoundException, got {other:?}"),
    }
    ok(
        client
            .delete_stream()
            .stream_name(&name)
            .enforce_consumer_deletion(true)
            .send()
            .await,
        "DeleteStream",
    );
    match next_event(&mut rx_staying, PUSH_BOUND).await {
        Next::Error(code) => assert_eq!(code, "ResourceNotFoundException"),
        other => panic!("expected ResourceNotFoundException, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_outlive_the_idle_timeout_end_after_their_lifetime_and_at_shutdown() {
    let mut broker = Broker::start_with(&[
        "--kinesis-transition-ms",
        "0",
        "--subscription-lifetime",
        "7",
        "--idle-timeout",
        "1",
    ])
    .await;
    let client = kinesis_client(&broker.endpoint()).await;
    let name = unique_name("life");
    create_stream(&client, &name, 1).await;
    let arn = stream_arn(&name);
    let consumer = register_consumer(&client, &arn, "app").await;
    let started = Instant::now();
    let mut rx = subscribe(
        &client,
        &consumer,
        SHARD0,
        position(ShardIteratorType::TrimHorizon, None),
    )
    .await;
    let seq = put(&client, &name, "k", b"one").await;
    assert_eq!(
        datas(&collect_records(&mut rx, 1, PUSH_BOUND).await),
        vec![b"one".to_vec()]
    );
    // A heartbeat at ~5 s: the 1 s idle timeout did not close the open event stream.
    let mut continuation = None;
    loop {
        match next_event(&mut rx, Duration::from_secs(12)).await {
            Next::Event(e) => continuation = Some(e.continuation_sequence_number().to_string()),
            Next::End => break,
            Next::Error(code) => panic!("subscription failed: {code}"),
        }
    }
    let lasted = started.elapsed();
    assert!(
        lasted >= Duration::from_secs(6) && lasted < Duration::from_secs(12),
        "the subscription should last its 7 s lifetime, lasted {lasted:?}"
    );
    assert_eq!(continuation.as_deref(), Some(seq.as_str()));

    // Resume after the continuation: nothing is delivered twice.
    let mut again = subscribe(
        &client,
        &consumer,
        SHARD0,
        position(ShardIteratorType::AfterSequenceNumber, Some(&seq)),
    )
    .await;
    put(&client, &name, "k", b"two").await;
    assert_eq!(
        datas(&collect_records(&mut again, 1, PUSH_BOUND).await),
        vec![b"two".to_vec()]
    );

    // Shutdown ends open subscriptions instead of waiting out the drain deadline.
    let (status, took) = broker.stop_with_status().await.expect("the broker stops");
    assert!(status.success(), "clean exit: {status:?}");
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");
    assert!(matches!(
        next_event(&mut again, Duration::from_secs(5)).await,
        Next::End | Next::Error(_)
    ));
}

/// A SubscribeToShard request in CBOR.
fn cbor_subscribe(endpoint: &str, consumer: &str, shard: &str, kind: &str) -> http::Request<Vec<u8>> {
    let body = cbor_map(vec![
        ("ConsumerARN", ciborium::Value::Text(consumer.to_string())),
        ("ShardId", ciborium::Value::Text(shard.to_string())),
        (
            "StartingPosition",
            cbor_map(vec![("Type", ciborium::Value::Text(kind.to_string()))]),
        ),
    ]);
    let mut bytes = Vec::new();
    ciborium::ser::into_writer(&body, &mut bytes).expect("cbor");
    request(endpoint, "SubscribeToShard", CBOR11, bytes)
}

async fn next_message(reader: &mut EventStreamReader) -> Message {
    reader
        .next(Duration::from_secs(7))
        .await
        .unwrap_or_else(|e| panic!("event stream: {e}"))
        .expect("a message, not the end")
}

fn cbor_payload(message: &Message) -> ciborium::Value {
    ciborium::de::from_reader(&message.payload[..]).expect("CBOR payload")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_http2_cbor_subscription_reads_aws_frames_through_a_reshard() {
    let Setup {
        broker,
        client,
        name,
        arn: _,
    } = setup("h2cbor").await;
    let endpoint = broker.endpoint();
    let arn = stream_arn(&name);
    let consumer = register_consumer(&client, &arn, "java-like").await;
    put(&client, &name, "k", &[0, 159, 255, 1]).await;

    let mut reader = open(cbor_subscribe(&endpoint, &consumer, SHARD0, "TRIM_HORIZON"), true)
        .await
        .expect("h2c request");
    assert_eq!(reader.status, 200);
    assert_eq!(reader.version, http::Version::HTTP_2);
    assert_eq!(
        reader.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/vnd.amazon.eventstream")
    );
    let initial = next_message(&mut reader).await;
    assert_eq!(initial.header_str(":message-type"), Some("event"));
    assert_eq!(initial.header_str(":event-type"), Some("initial-response"));
    assert_eq!(initial.header_str(":content-type"), Some(CBOR11));

    let event = next_message(&mut reader).await;
    assert_eq!(event.header_str(":event-type"), Some("SubscribeToShardEvent"));
    let payload = cbor_payload(&event);
    let Some(ciborium::Value::Array(records)) = cbor_get(&payload, "Records") else {
        panic!("Records array in {payload:?}");
    };
    assert_eq!(records.len(), 1);
    // Blobs are CBOR byte strings; timestamps tag 1 with integer epoch milliseconds.
    assert_eq!(
        cbor_get(&records[0], "Data"),
        Some(&ciborium::Value::Bytes(vec![0, 159, 255, 1]))
    );
    match cbor_get(&records[0], "ApproximateArrivalTimestamp") {
        Some(ciborium::Value::Tag(1, inner)) => {
            assert!(matches!(**inner, ciborium::Value::Integer(_)), "integer ms: {inner:?}")
        }
        other => panic!("tag-1 timestamp expected, got {other:?}"),
    }
    let continuation = cbor_text(&payload, "ContinuationSequenceNumber").expect("continuation");
    assert_eq!(
        cbor_text(&records[0], "SequenceNumber").as_deref(),
        Some(continuation.as_str())
    );
    assert!(matches!(
        cbor_get(&payload, "MillisBehindLatest"),
        Some(ciborium::Value::Integer(_))
    ));

    // Merge-free reshard: the parent's last event names the children, then the stream ends.
    ok(
        client
            .split_shard()
            .stream_name(&name)
            .shard_to_split(SHARD0)
            .new_starting_hash_key((u128::MAX / 4).to_string())
            .send()
            .await,
        "SplitShard",
    );
    let closing = loop {
        let message = next_message(&mut reader).await;
        let payload = cbor_payload(&message);
        if cbor_get(&payload, "ChildShards").is_some() {
            break payload;
        }
    };
    let Some(ciborium::Value::Array(children)) = cbor_get(&closing, "ChildShards") else {
        panic!("ChildShards array");
    };
    assert_eq!(children.len(), 2);
    assert_eq!(
        cbor_text(&children[0], "ShardId").as_deref(),
        Some("shardId-000000000001")
    );
    assert!(cbor_get(&closing, "ContinuationSequenceNumber").is_none());
    assert!(matches!(reader.next(Duration::from_secs(5)).await, Ok(None)));

    // Errors before the stream starts are ordinary CBOR error responses.
    let missing = format!("{arn}/consumer/nobody:1");
    let failed = open(cbor_subscribe(&endpoint, &missing, SHARD0, "LATEST"), true)
        .await
        .expect("h2c request");
    assert_eq!(failed.status, 400);
    let body = failed.rest().await;
    let error: ciborium::Value = ciborium::de::from_reader(&body[..]).unwrap_or(ciborium::Value::Null);
    assert_eq!(
        cbor_text(&error, "__type").as_deref(),
        Some("ResourceNotFoundException")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_http1_json_subscription_is_chunked_with_base64_records_even_when_h2c_upgrade_is_asked() {
    let Setup {
        broker,
        client,
        name,
        arn: _,
    } = setup("h1json").await;
    let endpoint = broker.endpoint();
    let consumer = register_consumer(&client, &stream_arn(&name), "js-like").await;
    let body = serde_json::json!({
        "ConsumerARN": consumer,
        "ShardId": SHARD0,
        "StartingPosition": {"Type": "LATEST"}
    });
    let mut req = request(
        &endpoint,
        "SubscribeToShard",
        JSON11,
        serde_json::to_vec(&body).expect("json"),
    );
    // curl --http2 asks to upgrade a cleartext request to h2c; RFC 9113 deprecated that
    // mechanism and lets a server ignore it, so the answer is the same HTTP/1.1 event stream.
    for (name, value) in [
        ("connection", "Upgrade, HTTP2-Settings"),
        ("upgrade", "h2c"),
        ("http2-settings", "AAMAAABkAARAAAAAAAIAAAAA"),
    ] {
        req.headers_mut().insert(name, http::HeaderValue::from_static(value));
    }
    let mut reader = open(req, false).await.expect("HTTP/1.1 request");
    assert_eq!(reader.status, 200);
    assert_eq!(reader.version, http::Version::HTTP_11);
    assert_eq!(
        reader.headers.get("transfer-encoding").and_then(|v| v.to_str().ok()),
        Some("chunked")
    );
    let initial = next_message(&mut reader).await;
    assert_eq!(initial.header_str(":event-type"), Some("initial-response"));
    assert_eq!(initial.header_str(":content-type"), Some(JSON11));
    let metrics = sluice_tests::raw::get_with_timeout(&format!("{endpoint}/metrics"), Duration::from_secs(5))
        .await
        .expect("metrics");
    assert!(
        metrics.body.lines().any(|l| l == "sluice_kinesis_subscriptions 1"),
        "the open subscription is counted"
    );
    put(&client, &name, "pk", b"hello").await;
    let event = next_message(&mut reader).await;
    let payload: serde_json::Value = serde_json::from_slice(&event.payload).expect("JSON payload");
    assert_eq!(payload["Records"][0]["Data"], "aGVsbG8=");
    assert_eq!(payload["Records"][0]["PartitionKey"], "pk");
    assert!(payload["Records"][0]["ApproximateArrivalTimestamp"].is_number());
    assert_eq!(
        payload["ContinuationSequenceNumber"],
        payload["Records"][0]["SequenceNumber"]
    );
}
