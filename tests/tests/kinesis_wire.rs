//! Kinesis on the wire, below the SDK: raw SigV4-signed CBOR requests as the Java SDK sends
//! them (byte-string blobs, tag-1 epoch-millisecond timestamps, CBOR error bodies), JSON 1.1
//! error shapes and statuses, malformed bodies, unknown operations, and HTTP/2 cleartext.

use ciborium::Value as Cbor;
use serde_json::json;
use sluice_tests::kinesis::{cbor, cbor_get, cbor_map, cbor_text, json, request, JSON11};
use sluice_tests::{raw, unique_name, Broker};

fn text(s: &str) -> Cbor {
    Cbor::Text(s.to_string())
}

async fn create_active_json(endpoint: &str, name: &str, shards: i64) {
    let r = json(
        endpoint,
        "CreateStream",
        &json!({"StreamName": name, "ShardCount": shards}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for _ in 0..200 {
        let d = json(endpoint, "DescribeStreamSummary", &json!({"StreamName": name})).await;
        if d.json()["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("stream {name} not ACTIVE after 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cbor_round_trip_of_blobs_and_millisecond_timestamps() {
    let broker = Broker::start().await;
    let ep = broker.endpoint();
    let name = unique_name("cbor");
    let (r, _) = cbor(
        &ep,
        "CreateStream",
        &cbor_map(vec![
            ("StreamName", text(&name)),
            ("ShardCount", Cbor::Integer(1.into())),
        ]),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.header("content-type"), Some("application/x-amz-cbor-1.1"));
    for _ in 0..200 {
        let (_, d) = cbor(
            &ep,
            "DescribeStreamSummary",
            &cbor_map(vec![("StreamName", text(&name))]),
        )
        .await;
        let summary = cbor_get(&d, "StreamDescriptionSummary").expect("summary");
        if cbor_text(summary, "StreamStatus").as_deref() == Some("ACTIVE") {
            // Timestamps come back as tag 1 with integer epoch milliseconds (Java SDK form).
            match cbor_get(summary, "StreamCreationTimestamp") {
                Some(Cbor::Tag(1, inner)) => {
                    let Cbor::Integer(i) = **inner else {
                        panic!("tag 1 must carry an integer: {inner:?}")
                    };
                    let ms: i128 = i.into();
                    assert!(ms > 1_600_000_000_000, "milliseconds, not seconds: {ms}");
                }
                other => panic!("StreamCreationTimestamp is not tag 1: {other:?}"),
            }
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // A binary blob with bytes that are not valid UTF-8.
    let payload: Vec<u8> = vec![0x00, 0xff, 0xfe, 0x80, 0x7f, 0x0a];
    let (r, put) = cbor(
        &ep,
        "PutRecord",
        &cbor_map(vec![
            ("StreamName", text(&name)),
            ("Data", Cbor::Bytes(payload.clone())),
            ("PartitionKey", text("pk")),
        ]),
    )
    .await;
    assert_eq!(r.status, 200, "{put:?}");
    let seq = cbor_text(&put, "SequenceNumber").expect("sequence number");
    assert_eq!(cbor_text(&put, "ShardId").as_deref(), Some("shardId-000000000000"));

    let since_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
        - 60_000;
    // AT_TIMESTAMP with tag-1 integer milliseconds, as the Java SDK sends it.
    let (r, it) = cbor(
        &ep,
        "GetShardIterator",
        &cbor_map(vec![
            ("StreamName", text(&name)),
            ("ShardId", text("shardId-000000000000")),
            ("ShardIteratorType", text("AT_TIMESTAMP")),
            ("Timestamp", Cbor::Tag(1, Box::new(Cbor::Integer(since_ms.into())))),
        ]),
    )
    .await;
    assert_eq!(r.status, 200, "{it:?}");
    let iterator = cbor_text(&it, "ShardIterator").expect("iterator");
    let (r, got) = cbor(&ep, "GetRecords", &cbor_map(vec![("ShardIterator", text(&iterator))])).await;
    assert_eq!(r.status, 200, "{got:?}");
    let Some(Cbor::Array(records)) = cbor_get(&got, "Records") else {
        panic!("Records: {got:?}")
    };
    assert_eq!(records.len(), 1);
    assert_eq!(
        cbor_get(&records[0], "Data"),
        Some(&Cbor::Bytes(payload.clone())),
        "blob is a byte string"
    );
    assert_eq!(cbor_text(&records[0], "SequenceNumber"), Some(seq));
    match cbor_get(&records[0], "ApproximateArrivalTimestamp") {
        Some(Cbor::Tag(1, inner)) => {
            let Cbor::Integer(i) = **inner else {
                panic!("integer millis")
            };
            let ms: i128 = i.into();
            assert!(ms >= since_ms as i128);
        }
        other => panic!("arrival timestamp: {other:?}"),
    }
    assert!(matches!(cbor_get(&got, "MillisBehindLatest"), Some(Cbor::Integer(_))));

    // Tag 1 with a float is epoch seconds (RFC 8949); an hour in the future is refused.
    let future = (since_ms as f64 / 1000.0) + 3_660.0;
    let (r, err) = cbor(
        &ep,
        "GetShardIterator",
        &cbor_map(vec![
            ("StreamName", text(&name)),
            ("ShardId", text("shardId-000000000000")),
            ("ShardIteratorType", text("AT_TIMESTAMP")),
            ("Timestamp", Cbor::Tag(1, Box::new(Cbor::Float(future)))),
        ]),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(cbor_text(&err, "__type").as_deref(), Some("InvalidArgumentException"));

    // JSON reads the same record back with a base64 blob and seconds.
    let it = json(
        &ep,
        "GetShardIterator",
        &json!({"StreamName": name, "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"}),
    )
    .await
    .json();
    let got = json(&ep, "GetRecords", &json!({"ShardIterator": it["ShardIterator"]})).await;
    assert_eq!(got.header("content-type"), Some(JSON11));
    let body = got.json();
    assert_eq!(body["Records"][0]["Data"], "AP/+gH8K");
    let secs = body["Records"][0]["ApproximateArrivalTimestamp"]
        .as_f64()
        .expect("number");
    assert!(secs > 1.6e9 && secs < 1.0e11, "epoch seconds: {secs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_typed_in_the_request_encoding() {
    let broker = Broker::start().await;
    let ep = broker.endpoint();

    let (r, err) = cbor(&ep, "DescribeStream", &cbor_map(vec![("StreamName", text("missing"))])).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.header("content-type"), Some("application/x-amz-cbor-1.1"));
    assert_eq!(cbor_text(&err, "__type").as_deref(), Some("ResourceNotFoundException"));
    assert!(cbor_text(&err, "message").expect("message").contains("missing"));

    let r = json(&ep, "DescribeStream", &json!({"StreamName": "missing"})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["__type"], "ResourceNotFoundException");
    assert_eq!(r.header("x-amzn-errortype"), Some("ResourceNotFoundException"));

    // Wrong member type, missing member, pattern violation.
    let r = json(&ep, "CreateStream", &json!({"StreamName": "s", "ShardCount": "two"})).await;
    assert_eq!(
        (r.status, r.json()["__type"].as_str()),
        (400, Some("SerializationException"))
    );
    let r = json(&ep, "CreateStream", &json!({"ShardCount": 1})).await;
    assert_eq!(
        (r.status, r.json()["__type"].as_str()),
        (400, Some("ValidationException"))
    );
    let (r, err) = cbor(
        &ep,
        "CreateStream",
        &cbor_map(vec![
            ("StreamName", text("has space")),
            ("ShardCount", Cbor::Integer(1.into())),
        ]),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(cbor_text(&err, "__type").as_deref(), Some("ValidationException"));

    // Malformed bodies.
    let bad = raw::send(request(&ep, "ListStreams", JSON11, b"{not json".to_vec()))
        .await
        .expect("answered");
    assert_eq!(
        (bad.status, bad.json()["__type"].as_str()),
        (400, Some("SerializationException"))
    );
    let bad = raw::send(request(
        &ep,
        "ListStreams",
        "application/x-amz-cbor-1.1",
        vec![0xff, 0x13, 0x00],
    ))
    .await
    .expect("answered");
    assert_eq!(bad.status, 400);
    let err: Cbor = ciborium::de::from_reader(&bad.raw[..]).expect("CBOR error body");
    assert_eq!(cbor_text(&err, "__type").as_deref(), Some("SerializationException"));

    // An action Kinesis does not have.
    let r = json(&ep, "DescribeEverything", &json!({})).await;
    assert_eq!(
        (r.status, r.json()["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );

    // Empty body works for actions without input (the CLI sends none).
    let r = raw::send(request(&ep, "ListStreams", JSON11, Vec::new()))
        .await
        .expect("answered");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["HasMoreStreams"], false);

    // A stale iterator of a deleted stream, and hostile values that must not crash anything.
    let name = unique_name("gone");
    create_active_json(&ep, &name, 1).await;
    let huge = format!("49{:010}{}{:024}", 0, u64::MAX, 1);
    let r = json(
        &ep,
        "PutRecord",
        &json!({"StreamName": name, "PartitionKey": "k", "Data": "aGk=", "SequenceNumberForOrdering": huge}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = json(
        &ep,
        "PutRecord",
        &json!({"StreamName": name, "PartitionKey": "k", "Data": "aGk="}),
    )
    .await;
    assert_eq!(r.status, 200, "the shard still takes records: {}", r.body);
    let forged_token = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            r#"{{"a":"000000000000","r":"us-east-1","n":"{name}","x":"","f":null,"t":{}}}"#,
            u64::MAX
        ))
    };
    // Tokens are sealed (issue 14), so a hand-made one is refused before its fields are read.
    let r = json(&ep, "ListShards", &json!({"NextToken": forged_token})).await;
    assert_eq!(
        (r.status, r.json()["__type"].as_str()),
        (400, Some("InvalidArgumentException")),
        "{}",
        r.body
    );
    let r = json(&ep, "ListShards", &json!({"NextToken": "not-a-token"})).await;
    assert_eq!(
        (r.status, r.json()["__type"].as_str()),
        (400, Some("InvalidArgumentException"))
    );
    let r = json(
        &ep,
        "CreateStream",
        &json!({"StreamName": unique_name("big"), "ShardCount": 4_294_967_295u64}),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["__type"].as_str()),
        (400, Some("LimitExceededException"))
    );
    let r = json(
        &ep,
        "UpdateShardCount",
        &json!({"StreamName": name, "TargetShardCount": 2_147_483_647, "ScalingType": "UNIFORM_SCALING"}),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["__type"].as_str()),
        (400, Some("LimitExceededException"))
    );
    let it = json(
        &ep,
        "GetShardIterator",
        &json!({"StreamName": name, "ShardId": "shardId-000000000000", "ShardIteratorType": "LATEST"}),
    )
    .await
    .json();
    assert_eq!(
        json(&ep, "DeleteStream", &json!({"StreamName": name})).await.status,
        200
    );
    let r = json(&ep, "GetRecords", &json!({"ShardIterator": it["ShardIterator"]})).await;
    assert_eq!(
        (r.status, r.json()["__type"].as_str()),
        (400, Some("ResourceNotFoundException"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinesis_works_over_h2c() {
    let broker = Broker::start().await;
    let ep = broker.endpoint();
    let name = unique_name("h2");
    create_active_json(&ep, &name, 1).await;
    let body = serde_json::to_vec(&json!({"StreamName": name, "PartitionKey": "k", "Data": "aGk="})).expect("json");
    let r = raw::send_h2c(request(&ep, "PutRecord", JSON11, body))
        .await
        .expect("h2c PutRecord");
    assert_eq!(r.version, http::Version::HTTP_2);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["ShardId"], "shardId-000000000000");
    let mut bytes = Vec::new();
    ciborium::ser::into_writer(&cbor_map(vec![("StreamName", text(&name))]), &mut bytes).expect("cbor");
    let r = raw::send_h2c(request(
        &ep,
        "DescribeStreamSummary",
        "application/x-amz-cbor-1.1",
        bytes,
    ))
    .await
    .expect("h2c CBOR");
    assert_eq!(r.status, 200);
    let v: Cbor = ciborium::de::from_reader(&r.raw[..]).expect("cbor body");
    assert!(cbor_get(&v, "StreamDescriptionSummary").is_some());

    // The record shows up in the stream traffic metrics (2 bytes of data in).
    let metrics = raw::get_with_timeout(&format!("{ep}/metrics"), std::time::Duration::from_secs(5))
        .await
        .expect("metrics");
    assert!(
        metrics
            .body
            .contains(r#"sluice_kinesis_records_total{direction="in"} 1"#),
        "{}",
        metrics.body
    );
    assert!(metrics.body.contains(r#"sluice_kinesis_bytes_total{direction="in"} 2"#));
}

/// Every action answers malformed input with a 4xx Kinesis error in the request's encoding,
/// never a 500, a hang or a dropped connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_to_every_action_gets_a_client_error() {
    const ACTIONS: &[&str] = &[
        "AddTagsToStream",
        "CreateStream",
        "DecreaseStreamRetentionPeriod",
        "DeleteResourcePolicy",
        "DeleteStream",
        "DescribeAccountSettings",
        "DescribeLimits",
        "DescribeStream",
        "DescribeStreamSummary",
        "DisableEnhancedMonitoring",
        "EnableEnhancedMonitoring",
        "GetRecords",
        "GetResourcePolicy",
        "GetShardIterator",
        "IncreaseStreamRetentionPeriod",
        "ListShards",
        "ListStreams",
        "ListTagsForResource",
        "ListTagsForStream",
        "MergeShards",
        "PutRecord",
        "PutRecords",
        "PutResourcePolicy",
        "RemoveTagsFromStream",
        "SplitShard",
        "StartStreamEncryption",
        "StopStreamEncryption",
        "TagResource",
        "UntagResource",
        "UpdateAccountSettings",
        "UpdateMaxRecordSize",
        "UpdateShardCount",
        "UpdateStreamMode",
        "UpdateStreamWarmThroughput",
    ];
    // Actions whose every member is optional.
    const NO_REQUIRED_INPUT: &[&str] = &["DescribeAccountSettings", "DescribeLimits", "ListStreams"];
    let broker = Broker::start().await;
    let ep = broker.endpoint();
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        (JSON11, b"{}".to_vec()),
        (JSON11, b"[]".to_vec()),
        (
            JSON11,
            b"{\"StreamName\": 5, \"Records\": {}, \"Tags\": [1], \"Limit\": \"x\"}".to_vec(),
        ),
        (
            JSON11,
            b"{\"StreamName\": \"s\", \"ShardIterator\": \"\", \"Records\": [null], \"Limit\": -1}".to_vec(),
        ),
        (JSON11, vec![0xff, 0xfe, 0x00]),
        (
            JSON11,
            format!("{}1{}", "[".repeat(1000), "]".repeat(1000)).into_bytes(),
        ),
        ("application/x-amz-cbor-1.1", vec![0xa1, 0x61, 0x41, 0xc1, 0x61, 0x78]),
        ("application/x-amz-cbor-1.1", vec![0x9f; 600]),
        ("application/x-amz-cbor-1.1", b"{}".to_vec()),
    ];
    for action in ACTIONS {
        for (content_type, body) in &bodies {
            let r = raw::send(request(&ep, action, content_type, body.clone()))
                .await
                .unwrap_or_else(|e| panic!("{action}: connection failed: {e}"));
            // AWS ignores members an action doesn't have, so an action without required
            // members may answer a well-formed object with 200; never with a 5xx.
            if NO_REQUIRED_INPUT.contains(action) && r.status == 200 {
                continue;
            }
            assert!(
                (400..500).contains(&r.status),
                "{action} {:?}: {} {}",
                String::from_utf8_lossy(body),
                r.status,
                r.body
            );
            let code = r.header("x-amzn-errortype").unwrap_or_default().to_string();
            assert!(code.ends_with("Exception"), "{action}: error type {code:?}");
        }
    }
    let health = raw::get_with_timeout(&format!("{ep}/health"), std::time::Duration::from_secs(5))
        .await
        .expect("health");
    assert_eq!(health.status, 200);
}
