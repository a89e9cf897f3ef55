//! Kinesis data plane through the unchanged `aws-sdk-kinesis`: PutRecord/PutRecords, every
//! iterator type, paging with Limit, per-key ordering, explicit hash keys, size limits, forged
//! iterators, and resharding lineage (a closed parent is read to its end, then its children).

use std::collections::HashMap;

use aws_sdk_kinesis::primitives::{Blob, DateTime};
use aws_sdk_kinesis::types::{EncryptionType, PutRecordsRequestEntry, ShardIteratorType};
use sluice_tests::kinesis::{create_stream, iterator, kinesis_client, read_from, read_shard, shard_ids, wait_active};
use sluice_tests::sqs::{expect_code, ok};
use sluice_tests::{unique_name, Broker};

fn entry(pk: &str, data: &[u8]) -> PutRecordsRequestEntry {
    PutRecordsRequestEntry::builder()
        .partition_key(pk)
        .data(Blob::new(data))
        .build()
        .expect("entry")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_and_read_back_with_every_iterator_type() {
    let broker = Broker::start().await;
    let client = kinesis_client(&broker.endpoint()).await;
    let name = unique_name("rec");
    create_stream(&client, &name, 1).await;
    let shard = "shardId-000000000000";
    let latest = iterator(&client, &name, shard, ShardIteratorType::Latest).await;

    let mut seqs = Vec::new();
    for i in 0..5 {
        let out = ok(
            client
                .put_record()
                .stream_name(&name)
                .partition_key("pk")
                .data(Blob::new(format!("r{i}")))
                .send()
                .await,
            "PutRecord",
        );
        assert_eq!(out.shard_id(), shard);
        assert_eq!(out.sequence_number().len(), 56, "AWS-length sequence number");
        seqs.push(out.sequence_number().to_string());
        // Distinct arrival milliseconds, so AT_TIMESTAMP below has one right answer even
        // though JSON timestamps (float seconds) can lose a millisecond in the SDK's parsing.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let mut sorted = seqs.clone();
    sorted.sort();
    assert_eq!(sorted, seqs, "sequence numbers increase");

    let data = |read: &sluice_tests::kinesis::ShardRead| -> Vec<String> {
        read.records
            .iter()
            .map(|r| String::from_utf8(r.data().as_ref().to_vec()).expect("utf8"))
            .collect()
    };
    let all = read_shard(&client, &name, shard).await;
    assert_eq!(data(&all), vec!["r0", "r1", "r2", "r3", "r4"]);
    assert!(!all.closed);
    assert_eq!(all.records[0].partition_key(), Some("pk"));
    assert!(all.records[0].approximate_arrival_timestamp().is_some());
    assert_eq!(
        data(&read_from(&client, latest, 10).await),
        vec!["r0", "r1", "r2", "r3", "r4"]
    );

    let at = ok(
        client
            .get_shard_iterator()
            .stream_name(&name)
            .shard_id(shard)
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .starting_sequence_number(&seqs[2])
            .send()
            .await,
        "AT_SEQUENCE_NUMBER",
    );
    let at = at.shard_iterator().expect("it").to_string();
    assert_eq!(data(&read_from(&client, at, 10).await), vec!["r2", "r3", "r4"]);
    let after = ok(
        client
            .get_shard_iterator()
            .stream_name(&name)
            .shard_id(shard)
            .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
            .starting_sequence_number(&seqs[2])
            .send()
            .await,
        "AFTER_SEQUENCE_NUMBER",
    );
    let after = after.shard_iterator().expect("it").to_string();
    assert_eq!(data(&read_from(&client, after, 10).await), vec!["r3", "r4"]);

    // AT_TIMESTAMP at the arrival time of the fourth record returns it and what follows.
    let t = all.records[3]
        .approximate_arrival_timestamp()
        .expect("ts")
        .to_millis()
        .expect("ms");
    let ts = ok(
        client
            .get_shard_iterator()
            .stream_name(&name)
            .shard_id(shard)
            .shard_iterator_type(ShardIteratorType::AtTimestamp)
            .timestamp(DateTime::from_millis(t))
            .send()
            .await,
        "AT_TIMESTAMP",
    );
    let got = data(&read_from(&client, ts.shard_iterator().expect("it").to_string(), 10).await);
    assert_eq!(got, vec!["r3", "r4"]);

    // A LATEST iterator taken now sees nothing old.
    let now_latest = iterator(&client, &name, shard, ShardIteratorType::Latest).await;
    let out = ok(
        client.get_records().shard_iterator(&now_latest).send().await,
        "GetRecords",
    );
    assert!(out.records().is_empty());
    assert_eq!(out.millis_behind_latest(), Some(0));
    assert!(out.next_shard_iterator().is_some());

    // Limit pages, each call returning a fresh iterator.
    let trim = iterator(&client, &name, shard, ShardIteratorType::TrimHorizon).await;
    let page = ok(
        client.get_records().shard_iterator(&trim).limit(2).send().await,
        "page 1",
    );
    assert_eq!(page.records().len(), 2);
    let next = page.next_shard_iterator().expect("next").to_string();
    assert_ne!(next, trim);
    let rest = ok(
        client.get_records().shard_iterator(&next).limit(10).send().await,
        "page 2",
    );
    assert_eq!(rest.records().len(), 3);

    // By ARN as well as by name.
    let arn = format!("arn:aws:kinesis:us-east-1:000000000000:stream/{name}");
    ok(
        client
            .put_record()
            .stream_arn(&arn)
            .partition_key("pk")
            .data(Blob::new("by-arn"))
            .send()
            .await,
        "PutRecord by ARN",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_records_keeps_per_key_order_across_shards() {
    let broker = Broker::start().await;
    let client = kinesis_client(&broker.endpoint()).await;
    let name = unique_name("batch");
    create_stream(&client, &name, 4).await;

    let keys = 20;
    for batch in 0..4 {
        let entries: Vec<PutRecordsRequestEntry> = (0..500)
            .map(|i| {
                let n = batch * 500 + i;
                entry(&format!("key-{}", n % keys), format!("{}:{n}", n % keys).as_bytes())
            })
            .collect();
        let out = ok(
            client
                .put_records()
                .stream_name(&name)
                .set_records(Some(entries))
                .send()
                .await,
            "PutRecords",
        );
        assert_eq!(out.failed_record_count(), Some(0));
        assert_eq!(out.records().len(), 500);
        assert!(out
            .records()
            .iter()
            .all(|r| r.sequence_number().is_some() && r.error_code().is_none()));
    }

    let mut per_key: HashMap<String, Vec<u64>> = HashMap::new();
    let mut shard_of_key: HashMap<String, String> = HashMap::new();
    let mut total = 0;
    for shard in shard_ids(&client, &name).await {
        let read = read_shard(&client, &name, &shard).await;
        total += read.records.len();
        for r in read.records {
            let text = String::from_utf8(r.data().as_ref().to_vec()).expect("utf8");
            let (key, n) = text.split_once(':').expect("key:n");
            per_key.entry(key.to_string()).or_default().push(n.parse().expect("n"));
            let prev = shard_of_key.insert(key.to_string(), shard.clone());
            assert!(prev.is_none_or(|p| p == shard), "a key maps to one shard");
        }
    }
    assert_eq!(total, 2000);
    for (key, ns) in per_key {
        let mut sorted = ns.clone();
        sorted.sort();
        assert_eq!(ns, sorted, "key {key} read out of order");
        assert_eq!(ns.len(), 100);
    }
    assert!(
        shard_of_key.values().collect::<std::collections::HashSet<_>>().len() > 1,
        "keys spread over shards"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_hash_keys_route_and_bad_input_gets_aws_codes() {
    let broker = Broker::start().await;
    let client = kinesis_client(&broker.endpoint()).await;
    let name = unique_name("bad");
    create_stream(&client, &name, 2).await;

    let high = ok(
        client
            .put_record()
            .stream_name(&name)
            .partition_key("x")
            .explicit_hash_key("340282366920938463463374607431768211455")
            .data(Blob::new("hi"))
            .send()
            .await,
        "explicit hash key",
    );
    assert_eq!(high.shard_id(), "shardId-000000000001");
    let low = ok(
        client
            .put_record()
            .stream_name(&name)
            .partition_key("x")
            .explicit_hash_key("0")
            .data(Blob::new("hi"))
            .send()
            .await,
        "explicit hash key 0",
    );
    assert_eq!(low.shard_id(), "shardId-000000000000");

    expect_code(
        client
            .put_record()
            .stream_name(&name)
            .partition_key("x")
            .explicit_hash_key("340282366920938463463374607431768211456")
            .data(Blob::new("hi"))
            .send()
            .await,
        "InvalidArgumentException",
    );
    expect_code(
        client
            .put_record()
            .stream_name(&name)
            .partition_key("x")
            .data(Blob::new(vec![0u8; 1024 * 1024]))
            .send()
            .await,
        "ValidationException",
    );
    expect_code(
        client
            .put_record()
            .stream_name("no-such-stream")
            .partition_key("x")
            .data(Blob::new("hi"))
            .send()
            .await,
        "ResourceNotFoundException",
    );
    expect_code(
        client
            .put_record()
            .stream_name(&name)
            .partition_key("k".repeat(257))
            .data(Blob::new("hi"))
            .send()
            .await,
        "ValidationException",
    );
    // A 9.6 MB PutRecords (12.8 MB of JSON) is within Kinesis's 10 MiB; 11 MB is not.
    let payload = vec![3u8; 960_000];
    let big: Vec<PutRecordsRequestEntry> = (0..10).map(|i| entry(&format!("b{i}"), &payload)).collect();
    let out = ok(
        client
            .put_records()
            .stream_name(&name)
            .set_records(Some(big))
            .send()
            .await,
        "a 9.6 MB PutRecords",
    );
    assert_eq!(out.failed_record_count(), Some(0));
    let payload = vec![3u8; 1_000_000];
    let too_big: Vec<PutRecordsRequestEntry> = (0..11).map(|i| entry(&format!("b{i}"), &payload)).collect();
    expect_code(
        client
            .put_records()
            .stream_name(&name)
            .set_records(Some(too_big))
            .send()
            .await,
        "InvalidArgumentException",
    );
    let too_many: Vec<PutRecordsRequestEntry> = (0..501).map(|i| entry(&i.to_string(), b"x")).collect();
    expect_code(
        client
            .put_records()
            .stream_name(&name)
            .set_records(Some(too_many))
            .send()
            .await,
        "ValidationException",
    );
    expect_code(
        client
            .get_shard_iterator()
            .stream_name(&name)
            .shard_id("shardId-000000000099")
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await,
        "ResourceNotFoundException",
    );
    expect_code(
        client
            .get_shard_iterator()
            .stream_name(&name)
            .shard_id("shardId-000000000000")
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .send()
            .await,
        "InvalidArgumentException",
    );
    // A sequence number of shard 1 used on shard 0.
    expect_code(
        client
            .get_shard_iterator()
            .stream_name(&name)
            .shard_id("shardId-000000000000")
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .starting_sequence_number(high.sequence_number())
            .send()
            .await,
        "InvalidArgumentException",
    );
    // A forged iterator: a real one with one character changed.
    let it = iterator(&client, &name, "shardId-000000000000", ShardIteratorType::TrimHorizon).await;
    let mut forged = it.into_bytes();
    forged[10] = if forged[10] == b'A' { b'B' } else { b'A' };
    expect_code(
        client
            .get_records()
            .shard_iterator(String::from_utf8(forged).expect("ascii"))
            .send()
            .await,
        "InvalidArgumentException",
    );
    expect_code(
        client.get_records().shard_iterator("garbage").send().await,
        "InvalidArgumentException",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resharding_closes_parents_and_readers_follow_lineage() {
    let broker = Broker::start().await;
    let client = kinesis_client(&broker.endpoint()).await;
    let name = unique_name("reshard");
    create_stream(&client, &name, 1).await;
    let parent = "shardId-000000000000";
    let before_it = iterator(&client, &name, parent, ShardIteratorType::TrimHorizon).await;
    for i in 0..10 {
        ok(
            client
                .put_record()
                .stream_name(&name)
                .partition_key(format!("k{i}"))
                .data(Blob::new(format!("before-{i}")))
                .send()
                .await,
            "put",
        );
    }
    ok(
        client
            .split_shard()
            .stream_name(&name)
            .shard_to_split(parent)
            .new_starting_hash_key("170141183460469231731687303715884105728")
            .send()
            .await,
        "SplitShard",
    );
    // Writes go on while UPDATING.
    for i in 0..10 {
        let out = ok(
            client
                .put_record()
                .stream_name(&name)
                .partition_key(format!("k{i}"))
                .data(Blob::new(format!("after-{i}")))
                .send()
                .await,
            "put after split",
        );
        assert_ne!(out.shard_id(), parent);
    }
    wait_active(&client, &name).await;

    let described = ok(
        client.describe_stream().stream_name(&name).send().await,
        "DescribeStream",
    );
    let shards = described.stream_description().expect("description").shards().to_vec();
    assert_eq!(shards.len(), 3);
    let parent_shard = &shards[0];
    let range = parent_shard.sequence_number_range().expect("range");
    assert!(
        range.ending_sequence_number().is_some(),
        "closed parent has an EndingSequenceNumber"
    );
    for child in &shards[1..] {
        assert_eq!(child.parent_shard_id(), Some(parent));
        assert!(child
            .sequence_number_range()
            .expect("range")
            .ending_sequence_number()
            .is_none());
    }

    // Read the closed parent to its end from an iterator taken before the split.
    let read = read_from(&client, before_it, 3).await;
    assert!(read.closed, "NextShardIterator is null at the end of a closed shard");
    assert_eq!(read.records.len(), 10);
    let mut children = read.children.clone();
    children.sort();
    assert_eq!(children, vec!["shardId-000000000001", "shardId-000000000002"]);
    let mut after = 0;
    for child in &children {
        let r = read_shard(&client, &name, child).await;
        assert!(!r.closed);
        after += r.records.len();
    }
    assert_eq!(after, 10);

    // Merge the children back; the merged shard has both as parents.
    ok(
        client
            .merge_shards()
            .stream_name(&name)
            .shard_to_merge("shardId-000000000001")
            .adjacent_shard_to_merge("shardId-000000000002")
            .send()
            .await,
        "MergeShards",
    );
    expect_code(
        client
            .merge_shards()
            .stream_name(&name)
            .shard_to_merge("shardId-000000000001")
            .adjacent_shard_to_merge("shardId-000000000002")
            .send()
            .await,
        "ResourceInUseException",
    );
    wait_active(&client, &name).await;
    let shards = ok(client.list_shards().stream_name(&name).send().await, "ListShards");
    let merged = shards.shards().last().expect("merged shard");
    assert_eq!(merged.shard_id(), "shardId-000000000003");
    assert_eq!(merged.parent_shard_id(), Some("shardId-000000000001"));
    assert_eq!(merged.adjacent_parent_shard_id(), Some("shardId-000000000002"));

    // UpdateShardCount doubles the open shards.
    let out = ok(
        client
            .update_shard_count()
            .stream_name(&name)
            .target_shard_count(2)
            .scaling_type(aws_sdk_kinesis::types::ScalingType::UniformScaling)
            .send()
            .await,
        "UpdateShardCount",
    );
    assert_eq!(
        (out.current_shard_count(), out.target_shard_count()),
        (Some(1), Some(2))
    );
    wait_active(&client, &name).await;
    let summary = ok(
        client.describe_stream_summary().stream_name(&name).send().await,
        "summary",
    );
    assert_eq!(summary.stream_description_summary().expect("s").open_shard_count(), 2);
    expect_code(
        client
            .update_shard_count()
            .stream_name(&name)
            .target_shard_count(5)
            .scaling_type(aws_sdk_kinesis::types::ScalingType::UniformScaling)
            .send()
            .await,
        "LimitExceededException",
    );
    expect_code(
        client
            .split_shard()
            .stream_name(&name)
            .shard_to_split(parent)
            .new_starting_hash_key("5")
            .send()
            .await,
        "ResourceInUseException",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_limits_fail_records_individually_when_enabled() {
    let broker = Broker::start_with(&["--kinesis-limits", "true"]).await;
    let client = kinesis_client(&broker.endpoint()).await;
    let name = unique_name("limits");
    create_stream(&client, &name, 1).await;
    // 500 records of 4 KiB is about 2 MiB: twice one shard's 1 MiB/s.
    let payload = vec![7u8; 4096];
    let entries: Vec<PutRecordsRequestEntry> = (0..500).map(|i| entry(&format!("k{i}"), &payload)).collect();
    let out = ok(
        client
            .put_records()
            .stream_name(&name)
            .set_records(Some(entries))
            .send()
            .await,
        "PutRecords",
    );
    let failed = out.failed_record_count().unwrap_or(0) as usize;
    let ok_records = out.records().iter().filter(|r| r.sequence_number().is_some()).count();
    assert!(failed > 0, "some records are over the limit");
    assert!(ok_records > 0, "the records within the limit are stored");
    assert_eq!(failed + ok_records, 500);
    for r in out.records().iter().filter(|r| r.sequence_number().is_none()) {
        assert_eq!(r.error_code(), Some("ProvisionedThroughputExceededException"));
        assert!(r.error_message().is_some_and(|m| m.contains("Rate exceeded")));
    }
    let read = read_shard(&client, &name, "shardId-000000000000").await;
    assert_eq!(
        read.records.len(),
        ok_records,
        "exactly the acknowledged records are stored"
    );
}

/// Issue 14: a record reports the encryption type it was written under, not the stream's
/// setting at the read: none before StartStreamEncryption, KMS after it, and still KMS once
/// encryption is stopped again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_keep_the_encryption_type_they_were_written_with() {
    let broker = Broker::start().await;
    let client = kinesis_client(&broker.endpoint()).await;
    let name = unique_name("enc");
    create_stream(&client, &name, 1).await;
    let shard = "shardId-000000000000";
    let put = |data: &'static str| {
        client
            .put_record()
            .stream_name(&name)
            .partition_key("k")
            .data(Blob::new(data))
            .send()
    };
    let read_types = || async {
        read_shard(&client, &name, shard)
            .await
            .records
            .iter()
            .map(|r| {
                let data = String::from_utf8(r.data().as_ref().to_vec()).expect("utf8");
                (data, r.encryption_type().cloned())
            })
            .collect::<Vec<_>>()
    };
    // An unencrypted record carries no EncryptionType (the SDK's `None`); an explicit NONE
    // would mean the same to clients.
    let unencrypted = |t: &Option<EncryptionType>| t.as_ref().is_none_or(|t| *t == EncryptionType::None);

    ok(put("before").await, "PutRecord");
    ok(
        client
            .start_stream_encryption()
            .stream_name(&name)
            .encryption_type(EncryptionType::Kms)
            .key_id("alias/aws/kinesis")
            .send()
            .await,
        "StartStreamEncryption",
    );
    wait_active(&client, &name).await;
    ok(put("encrypted").await, "PutRecord");
    let got = read_types().await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, "before");
    assert!(unencrypted(&got[0].1), "written before encryption: {got:?}");
    assert_eq!(got[1], ("encrypted".to_string(), Some(EncryptionType::Kms)));

    ok(
        client
            .stop_stream_encryption()
            .stream_name(&name)
            .encryption_type(EncryptionType::Kms)
            .key_id("alias/aws/kinesis")
            .send()
            .await,
        "StopStreamEncryption",
    );
    wait_active(&client, &name).await;
    ok(put("after").await, "PutRecord");
    let got = read_types().await;
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(unencrypted(&got[0].1), "{got:?}");
    assert_eq!(
        got[1],
        ("encrypted".to_string(), Some(EncryptionType::Kms)),
        "still KMS after StopStreamEncryption"
    );
    assert_eq!(got[2].0, "after");
    assert!(unencrypted(&got[2].1), "{got:?}");
}
