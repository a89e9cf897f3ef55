//! The console's stream endpoints, driven over HTTP like the page drives them, against a real
//! broker written to by the unchanged `aws-sdk-kinesis`: a stream's shards with their lineage
//! after a split and a merge, its consumers with the subscription running now, and the record
//! browser from TRIM_HORIZON, LATEST, a sequence number and a time, continued with the
//! previous page's iterator (as the live tail polls), with bad input refused clearly.

use std::time::Duration;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::ShardIteratorType;
use base64::Engine;
use http::Method;
use serde_json::Value;
use sluice_tests::console::{error_code, Console};
use sluice_tests::kinesis::{create_stream, kinesis_client, position, register_consumer, subscribe, wait_active};
use sluice_tests::sqs::ok;
use sluice_tests::Broker;

/// The data of the records of a page, decoded from base64 as text.
fn texts(page: &Value) -> Vec<String> {
    page["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            let data = r["data"].as_str().expect("data");
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .expect("base64 data");
            String::from_utf8(bytes).expect("utf-8 data")
        })
        .collect()
}

fn sequences(page: &Value) -> Vec<String> {
    page["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["sequenceNumber"].as_str().expect("sequence number").to_string())
        .collect()
}

fn shard<'a>(view: &'a Value, id: &str) -> &'a Value {
    view["shards"]
        .as_array()
        .and_then(|shards| shards.iter().find(|s| s["shardId"] == id))
        .unwrap_or_else(|| panic!("{id} in {view}"))
}

/// Puts `data` into the shard that owns `hash_key`; its sequence number.
async fn put(client: &aws_sdk_kinesis::Client, stream: &str, hash_key: &str, data: &str) -> String {
    let out = ok(
        client
            .put_record()
            .stream_name(stream)
            .partition_key("pk")
            .explicit_hash_key(hash_key)
            .data(Blob::new(data.as_bytes()))
            .send()
            .await,
        "PutRecord",
    );
    out.sequence_number().to_string()
}

const S0: &str = "shardId-000000000000";
const S1: &str = "shardId-000000000001";
const S2: &str = "shardId-000000000002";
const S3: &str = "shardId-000000000003";
const S4: &str = "shardId-000000000004";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_shows_its_shards_lineage_and_running_subscriptions() {
    let broker = Broker::start().await;
    let kinesis = kinesis_client(&broker.endpoint()).await;
    create_stream(&kinesis, "clicks", 2).await;
    // Two shards split the hash key space in halves: 0 .. 2^127-1 and 2^127 .. 2^128-1.
    let half = 1u128 << 127;
    put(&kinesis, "clicks", "0", "before the split").await;
    put(&kinesis, "clicks", &half.to_string(), r#"{"kind":"json"}"#).await;

    // Split shard 0 at 2^126 (children 2 and 3), then merge 3 with its neighbour 1 (child 4).
    let quarter = 1u128 << 126;
    ok(
        kinesis
            .split_shard()
            .stream_name("clicks")
            .shard_to_split(S0)
            .new_starting_hash_key(quarter.to_string())
            .send()
            .await,
        "SplitShard",
    );
    wait_active(&kinesis, "clicks").await;
    ok(
        kinesis
            .merge_shards()
            .stream_name("clicks")
            .shard_to_merge(S3)
            .adjacent_shard_to_merge(S1)
            .send()
            .await,
        "MergeShards",
    );
    wait_active(&kinesis, "clicks").await;

    // A consumer with a subscription running on the merged shard, and one without any.
    let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/clicks".to_string();
    let reader = register_consumer(&kinesis, &arn, "reader").await;
    register_consumer(&kinesis, &arn, "idle").await;
    let subscription = subscribe(&kinesis, &reader, S4, position(ShardIteratorType::Latest, None)).await;

    let console = Console::open(&broker.endpoint()).await.0;
    let view = console.json("/console/api/streams/clicks").await;
    assert_eq!(view["name"], "clicks");
    assert_eq!(view["arn"], arn);
    assert_eq!(view["status"], "ACTIVE");
    assert_eq!(view["mode"], "PROVISIONED");
    assert_eq!(view["retentionHours"], 24);
    assert_eq!(view["encryption"], "NONE");
    assert!(view["createdAtMs"].as_u64().is_some_and(|ms| ms > 0), "{view}");
    assert_eq!(view["openShards"], 2);
    assert_eq!(view["closedShards"], 3);
    let ids: Vec<&str> = view["shards"]
        .as_array()
        .expect("shards")
        .iter()
        .filter_map(|s| s["shardId"].as_str())
        .collect();
    assert_eq!(ids, vec![S0, S1, S2, S3, S4]);

    // The parents: none for the first two, the split parent for 2 and 3, both for 4.
    for (id, parent, adjacent) in [
        (S0, None, None),
        (S1, None, None),
        (S2, Some(S0), None),
        (S3, Some(S0), None),
        (S4, Some(S3), Some(S1)),
    ] {
        let s = shard(&view, id);
        assert_eq!(s["parentShardId"].as_str(), parent, "{s}");
        assert_eq!(s["adjacentParentShardId"].as_str(), adjacent, "{s}");
    }
    // Hash ranges: the split halves shard 0's range at 2^126; the merge spans 3 and 1.
    let range = |id: &str| {
        let r = &shard(&view, id)["hashKeyRange"];
        (
            r["startingHashKey"].as_str().unwrap_or_default().to_string(),
            r["endingHashKey"].as_str().unwrap_or_default().to_string(),
        )
    };
    assert_eq!(range(S2), ("0".to_string(), (quarter - 1).to_string()));
    assert_eq!(range(S3), (quarter.to_string(), (half - 1).to_string()));
    assert_eq!(range(S4), (quarter.to_string(), u128::MAX.to_string()));
    // Closed shards have an ending sequence number, open ones none.
    for (id, open) in [(S0, false), (S1, false), (S2, true), (S3, false), (S4, true)] {
        let seq = &shard(&view, id)["sequenceNumberRange"];
        assert!(seq["startingSequenceNumber"].is_string(), "{seq}");
        assert_eq!(seq["endingSequenceNumber"].is_null(), open, "{id}: {seq}");
    }

    // Consumers, with the subscription running now.
    let consumers = view["consumers"].as_array().expect("consumers");
    assert_eq!(consumers.len(), 2, "{view}");
    let consumer = |name: &str| {
        consumers
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {view}"))
    };
    assert_eq!(consumer("reader")["arn"], reader.as_str());
    assert_eq!(consumer("reader")["status"], "ACTIVE");
    assert_eq!(consumer("reader")["subscribed"], true);
    assert_eq!(consumer("reader")["subscriptions"][0]["shardId"], S4);
    assert_eq!(consumer("idle")["subscribed"], false);
    assert_eq!(consumer("idle")["subscriptions"], Value::Array(Vec::new()));

    // The subscription's connection ends: nothing runs any more.
    drop(subscription);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let view = console.json("/console/api/streams/clicks").await;
        let reader = view["consumers"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == "reader").cloned())
            .expect("reader");
        if reader["subscribed"] == false {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still subscribed: {reader}");
        // The server drops the subscription when it notices the closed connection, at the
        // latest when its next heartbeat (every 5 s) finds the connection gone.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A missing stream is a 404 with Kinesis's code; the overview links the existing one.
    let missing = console.get("/console/api/streams/nope").await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_eq!(error_code(&missing), "ResourceNotFoundException");
    let overview = console.json("/console/api/overview").await;
    assert!(overview["streams"]
        .as_array()
        .is_some_and(|s| s.iter().any(|s| s["name"] == "clicks")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_browsed_from_every_starting_position_and_bad_input_is_refused() {
    let broker = Broker::start().await;
    let kinesis = kinesis_client(&broker.endpoint()).await;
    create_stream(&kinesis, "events", 2).await;
    let mut early = Vec::new();
    for i in 0..3 {
        early.push(put(&kinesis, "events", "0", &format!("text {i}")).await);
    }
    early.push(put(&kinesis, "events", "0", r#"{"order":1,"items":["a","b"]}"#).await);
    let console = Console::open(&broker.endpoint()).await.0;
    let records = |query: &str| format!("/console/api/streams/events/records?{query}");

    // From TRIM_HORIZON, two at a time, continued with nextIterator.
    let first = console
        .json(&records(&format!("shard={S0}&from=trim_horizon&limit=2")))
        .await;
    assert_eq!(texts(&first), vec!["text 0", "text 1"]);
    assert_eq!(sequences(&first), early[..2].to_vec());
    let record = &first["records"][0];
    assert_eq!(record["partitionKey"], "pk");
    assert!(
        record["approximateArrivalTimestampMs"]
            .as_u64()
            .is_some_and(|ms| ms > 0),
        "{record}"
    );
    let next = first["nextIterator"].as_str().expect("a next iterator").to_string();
    let second = console
        .json(&records(&format!("iterator={}&limit=10", urlencode(&next))))
        .await;
    assert_eq!(texts(&second), vec!["text 2", r#"{"order":1,"items":["a","b"]}"#]);
    assert_eq!(second["millisBehindLatest"], 0);
    // The default starting position is TRIM_HORIZON; the other shard has nothing.
    assert_eq!(texts(&console.json(&records(&format!("shard={S0}"))).await).len(), 4);
    assert!(texts(&console.json(&records(&format!("shard={S1}"))).await).is_empty());

    // At and after a sequence number.
    let at = console
        .json(&records(&format!("shard={S0}&from=at_sequence&sequence={}", early[1])))
        .await;
    assert_eq!(sequences(&at), early[1..].to_vec());
    let after = console
        .json(&records(&format!(
            "shard={S0}&from=after_sequence&sequence={}",
            early[1]
        )))
        .await;
    assert_eq!(sequences(&after), early[2..].to_vec());

    // LATEST answers nothing but an iterator, which then picks up what is put next: the live
    // tail's first step and its polls.
    let latest = console.json(&records(&format!("shard={S0}&from=latest"))).await;
    assert!(texts(&latest).is_empty());
    let tail = latest["nextIterator"].as_str().expect("an iterator").to_string();

    // AT_TIMESTAMP: a time after the last early record arrived, and records put later still
    // (the broker stamps arrival in milliseconds, so a few of them keep the two sets apart).
    let last_arrival = second["records"][1]["approximateArrivalTimestampMs"]
        .as_u64()
        .expect("arrival");
    let since = last_arrival + 1;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let late = put(&kinesis, "events", "0", "late 0").await;
    put(&kinesis, "events", "0", "late 1").await;
    let at_time = console
        .json(&records(&format!("shard={S0}&from=at_timestamp&timestamp={since}")))
        .await;
    assert_eq!(texts(&at_time), vec!["late 0", "late 1"]);
    assert_eq!(sequences(&at_time)[0], late);
    let tailed = console.json(&records(&format!("iterator={}", urlencode(&tail)))).await;
    assert_eq!(texts(&tailed), vec!["late 0", "late 1"]);

    // Bad input: the console's own checks, then what the API refuses, with its code.
    let cases: [(String, &str); 11] = [
        (format!("shard={S0}&limit=0"), "InvalidParameterValue"),
        (format!("shard={S0}&limit=1001"), "InvalidParameterValue"),
        (format!("shard={S0}&limit=ten"), "InvalidParameterValue"),
        (format!("shard={S0}&from=oldest"), "InvalidParameterValue"),
        (format!("shard={S0}&from=at_sequence"), "InvalidParameterValue"),
        (
            format!("shard={S0}&from=at_timestamp&timestamp=yesterday"),
            "InvalidParameterValue",
        ),
        ("from=trim_horizon".to_string(), "InvalidParameterValue"),
        ("shard=shardId-000000000009".to_string(), "ResourceNotFoundException"),
        (
            format!("shard={S0}&from=at_sequence&sequence=abc"),
            "ValidationException",
        ),
        (
            format!("shard={S1}&from=at_sequence&sequence={}", early[0]),
            "InvalidArgumentException",
        ),
        ("iterator=not-an-iterator".to_string(), "InvalidArgumentException"),
    ];
    for (query, code) in cases {
        let r = console.get(&records(&query)).await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert_eq!(error_code(&r), code, "{query}: {}", r.body);
        assert!(
            r.json()["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{query}: {}",
            r.body
        );
    }
    let missing = console
        .get(&format!("/console/api/streams/nope/records?shard={S0}"))
        .await;
    assert_eq!(missing.status, 400, "{}", missing.body);
    assert_eq!(error_code(&missing), "ResourceNotFoundException");
    // An iterator of another stream is refused on this stream's page.
    create_stream(&kinesis, "other", 1).await;
    let foreign = console
        .json(&format!("/console/api/streams/other/records?shard={S0}&from=latest"))
        .await;
    let foreign = foreign["nextIterator"].as_str().expect("an iterator").to_string();
    let r = console
        .get(&records(&format!("iterator={}", urlencode(&foreign))))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // Records are read-only: no other method answers.
    let post = console.call(Method::POST, &records(&format!("shard={S0}")), None).await;
    assert_eq!(post.status, 404, "{}", post.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_auth_verify_a_stream_page_shows_what_the_key_may_read() {
    const LIMITED_KEY: &str = "AKIDCONSOLESTREAMS";
    const LIMITED_SECRET: &str = "limited-streams-secret";
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keys.yaml");
    // The limited key may describe and list the shards of `visible-*` streams, nothing more:
    // no consumers, no records, and nothing of other streams.
    let keys = sluice_tests::console::keys_with_limited(
        LIMITED_KEY,
        LIMITED_SECRET,
        &[
            r#"{ Effect: Allow, Action: ["kinesis:DescribeStreamSummary", "kinesis:ListShards"], Resource: "arn:aws:kinesis:*:000000000000:stream/visible-*" }"#,
        ],
    );
    std::fs::write(&path, keys).expect("keys file");
    let path = path.display().to_string();
    let broker = Broker::start_with(&["--auth", "verify", "--credentials", &path]).await;
    let kinesis = kinesis_client(&broker.endpoint()).await;
    create_stream(&kinesis, "visible-clicks", 1).await;
    create_stream(&kinesis, "hidden-clicks", 1).await;
    put(&kinesis, "visible-clicks", "0", "secret").await;

    let mut console = Console::open(&broker.endpoint()).await.0;
    let refused = console.get("/console/api/streams/visible-clicks").await;
    assert_eq!((refused.status, error_code(&refused).as_str()), (401, "SignInRequired"));
    console.sign_in(LIMITED_KEY, LIMITED_SECRET).await;

    // The page, without the consumers the key may not list.
    let view = console.json("/console/api/streams/visible-clicks").await;
    assert_eq!(view["openShards"], 1);
    assert!(view["consumers"].is_null(), "{view}");
    // No records, and nothing of the other stream: the API's refusal, passed through.
    for path in [
        format!("/console/api/streams/visible-clicks/records?shard={S0}"),
        "/console/api/streams/hidden-clicks".to_string(),
    ] {
        let denied = console.get(&path).await;
        assert_eq!(
            (denied.status, error_code(&denied).as_str()),
            (400, "AccessDeniedException"),
            "{path}: {}",
            denied.body
        );
    }
}

/// Percent-encodes a query value (iterators are base64 with `+`, `/` and `=`).
fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
