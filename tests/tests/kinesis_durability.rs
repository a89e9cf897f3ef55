//! Kinesis durability: records, shards with their lineage, settings and iterators survive a
//! graceful restart; every acknowledged record survives a `kill -9` under concurrent load, and
//! sequence numbers keep increasing per shard after both.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use sluice_tests::kinesis::{
    create_stream, iterator, kinesis_client, kinesis_client_no_retry, read_from, read_shard, shard_ids, wait_active,
};
use sluice_tests::sqs::ok;
use sluice_tests::Broker;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_restart_keeps_records_lineage_settings_and_iterators() {
    let mut broker = Broker::start().await;
    let client = kinesis_client(&broker.endpoint()).await;
    let name = "durable-stream";
    create_stream(&client, name, 1).await;
    let mut last_seq = String::new();
    for i in 0..20 {
        let out = ok(
            client
                .put_record()
                .stream_name(name)
                .partition_key(format!("k{}", i % 4))
                .data(Blob::new(format!("v{i}")))
                .send()
                .await,
            "put",
        );
        last_seq = out.sequence_number().to_string();
    }
    let pre_restart_it = iterator(&client, name, "shardId-000000000000", ShardIteratorType::TrimHorizon).await;
    ok(
        client
            .split_shard()
            .stream_name(name)
            .shard_to_split("shardId-000000000000")
            .new_starting_hash_key("170141183460469231731687303715884105728")
            .send()
            .await,
        "split",
    );
    wait_active(&client, name).await;
    ok(
        client
            .add_tags_to_stream()
            .stream_name(name)
            .tags("team", "core")
            .send()
            .await,
        "tags",
    );
    ok(
        client
            .increase_stream_retention_period()
            .stream_name(name)
            .retention_period_hours(72)
            .send()
            .await,
        "retention",
    );
    wait_active(&client, name).await;
    let child_seq = ok(
        client
            .put_record()
            .stream_name(name)
            .partition_key("x")
            .explicit_hash_key("0")
            .data(Blob::new("child"))
            .send()
            .await,
        "put child",
    )
    .sequence_number()
    .to_string();

    broker.restart().await;
    let client = kinesis_client(&broker.endpoint()).await;
    let summary = ok(
        client.describe_stream_summary().stream_name(name).send().await,
        "summary",
    );
    let s = summary.stream_description_summary().expect("summary");
    assert_eq!(s.retention_period_hours(), 72);
    assert_eq!(s.open_shard_count(), 2);
    let tags = ok(client.list_tags_for_stream().stream_name(name).send().await, "tags");
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(shard_ids(&client, name).await.len(), 3);

    // The iterator issued before the restart still reads (the signing secret is persisted).
    let read = read_from(&client, pre_restart_it, 7).await;
    assert!(read.closed);
    assert_eq!(read.records.len(), 20);
    assert_eq!(
        read.records.last().map(|r| r.sequence_number().to_string()),
        Some(last_seq)
    );
    let out = ok(
        client
            .put_record()
            .stream_name(name)
            .partition_key("x")
            .explicit_hash_key("0")
            .data(Blob::new("child-2"))
            .send()
            .await,
        "put after restart",
    );
    assert!(
        out.sequence_number() > child_seq.as_str(),
        "sequence numbers keep increasing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_under_load_keeps_every_acknowledged_record() {
    crash_and_verify(&[]).await;
}

/// In fsync mode a put writes under its shards' locks and waits for a shared fsync after them
/// (`storage/src/wal_sync.rs`), and readers see records only once committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_under_load_keeps_every_acknowledged_record_fsync() {
    crash_and_verify(&["--durability", "fsync"]).await;
}

/// Puts under load, kill -9, restart with `args`: every acknowledged record is there, each
/// partition key's records in order, sequence numbers still increasing.
async fn crash_and_verify(args: &[&str]) {
    let mut broker = Broker::start_with(args).await;
    let client = kinesis_client(&broker.endpoint()).await;
    let name = "crash-stream";
    create_stream(&client, name, 2).await;

    let max_records = 3000usize;
    // (sequence number, payload) of every acknowledged record.
    let acked: Arc<Mutex<Vec<(String, String, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut tasks = Vec::new();
    for t in 0..4 {
        // No retries: a retried put after the kill would blur what was acknowledged.
        let client = kinesis_client_no_retry(&broker.endpoint()).await;
        let acked = acked.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                if acked.lock().expect("lock").len() >= max_records {
                    break;
                }
                i += 1;
                let key = format!("t{t}-k{}", i % 5);
                if i.is_multiple_of(2) {
                    let data = format!("{key}:{i}:0");
                    match client
                        .put_record()
                        .stream_name(name)
                        .partition_key(&key)
                        .data(Blob::new(data.clone()))
                        .send()
                        .await
                    {
                        Ok(out) => acked.lock().expect("lock").push((
                            out.shard_id().to_string(),
                            out.sequence_number().to_string(),
                            data,
                        )),
                        Err(_) => break,
                    }
                } else {
                    let datas: Vec<String> = (0..10).map(|j| format!("{key}:{i}:{}", j + 1)).collect();
                    let entries: Vec<PutRecordsRequestEntry> = datas
                        .iter()
                        .map(|d| {
                            PutRecordsRequestEntry::builder()
                                .partition_key(&key)
                                .data(Blob::new(d.clone()))
                                .build()
                                .expect("entry")
                        })
                        .collect();
                    match client
                        .put_records()
                        .stream_name(name)
                        .set_records(Some(entries))
                        .send()
                        .await
                    {
                        Ok(out) => {
                            assert_eq!(out.failed_record_count(), Some(0));
                            let mut a = acked.lock().expect("lock");
                            for (r, d) in out.records().iter().zip(datas) {
                                a.push((
                                    r.shard_id().expect("shard").to_string(),
                                    r.sequence_number().expect("seq").to_string(),
                                    d,
                                ));
                            }
                        }
                        Err(_) => break,
                    }
                }
            }
        }));
    }
    let kill_at = max_records * 2 / 5;
    let wait_deadline = Instant::now() + Duration::from_secs(5);
    while acked.lock().expect("lock").len() < kill_at && Instant::now() < wait_deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    broker.kill9();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(40), t)
            .await
            .expect("load task did not stop after the kill")
            .expect("load task panicked");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(!acked.is_empty(), "nothing acknowledged before the kill");
    eprintln!("kinesis crash: {} records acknowledged before SIGKILL", acked.len());

    broker.start_again().await;
    let client = kinesis_client(&broker.endpoint()).await;
    let mut stored: HashMap<String, String> = HashMap::new();
    let mut max_seq: HashMap<String, String> = HashMap::new();
    for shard in shard_ids(&client, name).await {
        let read = read_shard(&client, name, &shard).await;
        let mut last_per_key: HashMap<String, (usize, usize)> = HashMap::new();
        for r in &read.records {
            let data = String::from_utf8(r.data().as_ref().to_vec()).expect("utf8");
            let mut parts = data.split(':');
            let key = parts.next().expect("key").to_string();
            let i: usize = parts.next().expect("i").parse().expect("i");
            let j: usize = parts.next().expect("j").parse().expect("j");
            if let Some(prev) = last_per_key.insert(key.clone(), (i, j)) {
                assert!(prev < (i, j), "key {key} out of order: {prev:?} then {:?}", (i, j));
            }
            stored.insert(r.sequence_number().to_string(), data);
        }
        if let Some(last) = read.records.last() {
            max_seq.insert(shard.clone(), last.sequence_number().to_string());
        }
    }
    let mut missing = 0;
    for (_, seq, data) in &acked {
        match stored.get(seq) {
            Some(d) => assert_eq!(d, data, "record {seq} changed"),
            None => missing += 1,
        }
    }
    assert_eq!(missing, 0, "{missing} of {} acknowledged records lost", acked.len());
    let shards: HashSet<&String> = acked.iter().map(|(s, _, _)| s).collect();
    assert_eq!(shards.len(), 2, "load reached both shards");

    // New records after the crash sort after everything stored on their shard.
    for (shard, hash) in [
        ("shardId-000000000000", "0"),
        ("shardId-000000000001", "340282366920938463463374607431768211455"),
    ] {
        let out = ok(
            client
                .put_record()
                .stream_name(name)
                .partition_key("after")
                .explicit_hash_key(hash)
                .data(Blob::new("after"))
                .send()
                .await,
            "put after crash",
        );
        assert_eq!(out.shard_id(), shard);
        if let Some(prev) = max_seq.get(shard) {
            assert!(out.sequence_number() > prev.as_str());
        }
    }
}
