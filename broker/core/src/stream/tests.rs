//! Stream semantics under a paused tokio clock: status transitions, ordering, every iterator
//! type, expiry and forgery, retention, resharding lineage and recovery after reopening.

use std::sync::Arc;
use std::time::Duration;

use sluice_storage::{Durability, Store, StoreOptions};

use super::shard::{parse_sequence, record_key, shard_prefix};
use super::*;

const T: Duration = Duration::from_millis(500);

fn open_store(dir: &std::path::Path) -> Arc<Store> {
    Arc::new(
        Store::open(
            dir,
            StoreOptions {
                durability: Durability::Process,
            },
        )
        .expect("open store"),
    )
}

fn key(name: &str) -> StreamKey {
    StreamKey::new("000000000000", "us-east-1", name)
}

fn provisioned(n: u32) -> NewStream {
    NewStream {
        shard_count: Some(n),
        mode: CapacityMode::Provisioned,
        tags: Vec::new(),
        max_record_kib: None,
    }
}

fn rec(pk: &str, data: &str) -> NewRecord {
    NewRecord {
        partition_key: pk.into(),
        explicit_hash_key: None,
        data: data.as_bytes().to_vec(),
    }
}

async fn active(streams: &Streams, k: &StreamKey, n: u32) {
    streams.create(k, provisioned(n)).expect("create");
    tokio::time::advance(T).await;
    assert_eq!(streams.describe(k).expect("describe").status, StreamStatus::Active);
}

fn read_all(streams: &Streams, it: &str) -> (Vec<String>, RecordBatch) {
    let batch = streams.get_records(it, 10_000, None).expect("get records");
    let data = batch
        .records
        .iter()
        .map(|r| String::from_utf8(r.data.clone()).expect("utf8"))
        .collect();
    (data, batch)
}

#[tokio::test(start_paused = true)]
async fn creating_becomes_active_and_refuses_data_until_then() {
    let dir = tempfile::tempdir().expect("tempdir");
    let streams = Streams::open(open_store(dir.path()), Clock::new(), T).expect("open");
    let k = key("s");
    streams.create(&k, provisioned(2)).expect("create");
    assert_eq!(streams.describe(&k).expect("d").status, StreamStatus::Creating);
    assert!(matches!(
        streams.put(&k, &[rec("a", "x")], None),
        Err(StreamError::NotFound(_))
    ));
    assert!(matches!(streams.create(&k, provisioned(1)), Err(StreamError::InUse(_))));
    assert!(matches!(
        streams.split(&k, "shardId-000000000000", 5),
        Err(StreamError::InUse(_))
    ));
    assert!(matches!(streams.list_shards(&k, None), Err(StreamError::InUse(_))));
    tokio::time::advance(T).await;
    assert_eq!(streams.describe(&k).expect("d").status, StreamStatus::Active);
    streams.put(&k, &[rec("a", "x")], None).expect("put");
    streams.delete(&k, false).expect("delete");
    assert_eq!(streams.describe(&k).expect("d").status, StreamStatus::Deleting);
    assert!(matches!(streams.create(&k, provisioned(1)), Err(StreamError::InUse(_))));
    tokio::time::advance(T).await;
    assert!(matches!(streams.describe(&k), Err(StreamError::NotFound(_))));
    streams.create(&k, provisioned(1)).expect("name is free again");
}

#[tokio::test(start_paused = true)]
async fn every_iterator_type_reads_the_right_records_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let streams = Streams::open(open_store(dir.path()), Clock::new(), T).expect("open");
    let k = key("s");
    active(&streams, &k, 1).await;
    let shard = "shardId-000000000000";
    let latest = streams
        .shard_iterator(&k, shard, IteratorStart::Latest)
        .expect("latest");
    let mut seqs = Vec::new();
    for i in 0..5 {
        let out = streams
            .put(&k, &[rec("pk", &format!("r{i}"))], None)
            .expect("put")
            .results;
        seqs.push(out[0].sequence_number.clone());
        tokio::time::advance(Duration::from_millis(10)).await;
    }
    let mut sorted = seqs.clone();
    sorted.sort();
    assert_eq!(seqs, sorted, "sequence numbers increase");

    let trim = streams
        .shard_iterator(&k, shard, IteratorStart::TrimHorizon)
        .expect("trim");
    assert_eq!(read_all(&streams, &trim).0, vec!["r0", "r1", "r2", "r3", "r4"]);
    assert_eq!(read_all(&streams, &latest).0, vec!["r0", "r1", "r2", "r3", "r4"]);
    let at = streams
        .shard_iterator(&k, shard, IteratorStart::AtSequence(Some(seqs[2].clone())))
        .expect("at");
    assert_eq!(read_all(&streams, &at).0, vec!["r2", "r3", "r4"]);
    let after = streams
        .shard_iterator(&k, shard, IteratorStart::AfterSequence(Some(seqs[2].clone())))
        .expect("after");
    assert_eq!(read_all(&streams, &after).0, vec!["r3", "r4"]);
    let arrival = read_all(&streams, &at).1.records[1].arrival_ms as i64;
    let ts = streams
        .shard_iterator(&k, shard, IteratorStart::AtTimestamp(Some(arrival)))
        .expect("ts");
    assert_eq!(read_all(&streams, &ts).0, vec!["r3", "r4"]);
    let now_latest = streams
        .shard_iterator(&k, shard, IteratorStart::Latest)
        .expect("latest");
    let (data, batch) = read_all(&streams, &now_latest);
    assert!(data.is_empty());
    assert_eq!(batch.millis_behind_latest, 0);
    assert!(
        batch.next_iterator.is_some(),
        "an open shard always has a next iterator"
    );

    // Limit pages through with fresh iterators.
    let page = streams.get_records(&trim, 2, None).expect("page");
    assert_eq!(page.records.len(), 2);
    assert!(page.millis_behind_latest > 0);
    let rest = streams
        .get_records(page.next_iterator.as_deref().expect("next"), 10, None)
        .expect("rest");
    assert_eq!(rest.records.len(), 3);

    // Wrong shard's sequence number.
    assert!(matches!(
        streams.shard_iterator(&k, shard, IteratorStart::AtSequence(Some("1".into()))),
        Err(StreamError::InvalidArgument(_))
    ));
    assert!(matches!(
        streams.shard_iterator(&k, "shardId-000000000009", IteratorStart::TrimHorizon),
        Err(StreamError::NotFound(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn iterators_expire_after_five_minutes_and_forgeries_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let streams = Streams::open(open_store(dir.path()), Clock::new(), T).expect("open");
    let k = key("s");
    active(&streams, &k, 1).await;
    let it = streams
        .shard_iterator(&k, "shardId-000000000000", IteratorStart::TrimHorizon)
        .expect("it");
    let mut forged = it.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    assert!(matches!(
        streams.get_records(&String::from_utf8(forged).expect("ascii"), 10, None),
        Err(StreamError::InvalidArgument(_))
    ));
    tokio::time::advance(Duration::from_secs(299)).await;
    streams.get_records(&it, 10, None).expect("still valid");
    tokio::time::advance(Duration::from_secs(2)).await;
    assert!(matches!(
        streams.get_records(&it, 10, None),
        Err(StreamError::ExpiredIterator(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn retention_hides_then_range_deletes_old_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(dir.path());
    let streams = Streams::open(store.clone(), Clock::new(), T).expect("open");
    let k = key("s");
    active(&streams, &k, 1).await;
    streams.put(&k, &[rec("a", "old")], None).expect("put");
    tokio::time::advance(Duration::from_secs(23 * 3600)).await;
    streams.put(&k, &[rec("a", "new")], None).expect("put");
    let shard = "shardId-000000000000";
    let it = streams
        .shard_iterator(&k, shard, IteratorStart::TrimHorizon)
        .expect("it");
    assert_eq!(read_all(&streams, &it).0, vec!["old", "new"]);
    tokio::time::advance(Duration::from_secs(2 * 3600)).await;
    let it = streams
        .shard_iterator(&k, shard, IteratorStart::TrimHorizon)
        .expect("it");
    assert_eq!(read_all(&streams, &it).0, vec!["new"], "expired record never returned");
    let id = streams.lookup(&k).expect("stream").id;
    assert_eq!(
        store
            .scan_prefix(Cf::StreamRecords, &shard_prefix(id, 0))
            .expect("scan")
            .len(),
        2
    );
    let next = streams.sweep().expect("sweep");
    let new_arrival = read_all(&streams, &it).1.records[0].arrival_ms;
    assert_eq!(
        next,
        (streams.now() + MAX_SWEEP_INTERVAL_MS).min(new_arrival + 24 * 3_600_000 + 1),
        "next wake-up is the next expiry, at most an hour ahead"
    );
    // With a shorter retention the next expiry comes first.
    tokio::time::advance(Duration::from_secs(21 * 3600 + 30 * 60)).await;
    assert_eq!(streams.sweep().expect("sweep"), new_arrival + 24 * 3_600_000 + 1);
    let fresh = streams
        .shard_iterator(&k, shard, IteratorStart::TrimHorizon)
        .expect("it");
    assert_eq!(read_all(&streams, &fresh).0, vec!["new"], "not expired yet");
    assert_eq!(
        store
            .scan_prefix(Cf::StreamRecords, &shard_prefix(id, 0))
            .expect("scan")
            .len(),
        1,
        "sweep range-deleted the expired record"
    );
    // Retention bounds.
    assert!(matches!(
        streams.set_retention(&k, 23, false),
        Err(StreamError::InvalidArgument(_))
    ));
    assert!(matches!(
        streams.set_retention(&k, 8761, true),
        Err(StreamError::InvalidArgument(_))
    ));
    streams.set_retention(&k, 48, true).expect("increase");
    assert!(
        matches!(streams.set_retention(&k, 72, true), Err(StreamError::InUse(_))),
        "UPDATING"
    );
    tokio::time::advance(T).await;
    assert!(matches!(
        streams.set_retention(&k, 24, true),
        Err(StreamError::InvalidArgument(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn split_closes_parent_which_reads_to_its_end_then_children() {
    let dir = tempfile::tempdir().expect("tempdir");
    let streams = Streams::open(open_store(dir.path()), Clock::new(), T).expect("open");
    let k = key("s");
    active(&streams, &k, 1).await;
    let parent = "shardId-000000000000";
    let it = streams
        .shard_iterator(&k, parent, IteratorStart::TrimHorizon)
        .expect("it");
    streams.put(&k, &[rec("a", "before")], None).expect("put");
    streams.split(&k, parent, 1u128 << 127).expect("split");
    assert_eq!(streams.describe(&k).expect("d").status, StreamStatus::Updating);
    let out = streams
        .put(&k, &[rec("a", "after")], None)
        .expect("put during UPDATING")
        .results;
    assert_ne!(out[0].shard_id, parent);
    let (data, batch) = read_all(&streams, &it);
    assert_eq!(data, vec!["before"]);
    assert_eq!(batch.next_iterator, None, "closed shard fully read");
    let children = batch.child_shards.expect("child shards");
    assert_eq!(children.len(), 2);
    assert!(children.iter().all(|c| c.parent_shards == vec![parent.to_string()]));
    let info = streams.describe(&k).expect("d");
    assert_eq!(info.shards.len(), 3);
    assert!(info.shards[0].ending_seq.is_some());
    assert_eq!(info.open_shards, 2);
    // Lineage-aware listing.
    let at_latest = streams.list_shards(&k, Some(ShardFilter::AtLatest)).expect("list");
    assert_eq!(at_latest.len(), 2);
    let horizon = streams.list_shards(&k, Some(ShardFilter::AtTrimHorizon)).expect("list");
    assert_eq!(horizon.iter().map(|s| s.index).collect::<Vec<_>>(), vec![0]);
    // The parent can't be split again; out-of-range keys are refused.
    tokio::time::advance(T).await;
    assert!(matches!(streams.split(&k, parent, 5), Err(StreamError::InUse(_))));
    assert!(matches!(
        streams.split(&k, "shardId-000000000001", 0),
        Err(StreamError::InvalidArgument(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn merge_and_uniform_scaling_keep_at_most_two_parents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let streams = Streams::open(open_store(dir.path()), Clock::new(), T).expect("open");
    let k = key("s");
    active(&streams, &k, 3).await;
    assert!(matches!(
        streams.merge(&k, "shardId-000000000000", "shardId-000000000002"),
        Err(StreamError::InvalidArgument(_))
    ));
    streams
        .merge(&k, "shardId-000000000000", "shardId-000000000001")
        .expect("merge");
    tokio::time::advance(T).await;
    assert_eq!(streams.describe(&k).expect("d").open_shards, 2);
    assert!(matches!(
        streams.update_shard_count(&k, 5),
        Err(StreamError::LimitExceeded(_))
    ));
    assert_eq!(streams.update_shard_count(&k, 4).expect("scale up"), (2, 4));
    tokio::time::advance(T).await;
    streams.update_shard_count(&k, 3).expect("scale down");
    tokio::time::advance(T).await;
    let info = streams.describe(&k).expect("d");
    assert_eq!(info.open_shards, 3);
    // Open shards tile the key space.
    let mut open: Vec<(u128, u128)> = info.shards.iter().filter(|s| s.is_open()).map(|s| s.range()).collect();
    open.sort();
    assert_eq!(open[0].0, 0);
    assert_eq!(open[2].1, u128::MAX);
    assert_eq!(open[0].1 + 1, open[1].0);
    assert_eq!(open[1].1 + 1, open[2].0);
    // Every key still routes, and per-key order holds across the reshards.
    for i in 0..30 {
        streams
            .put(&k, &[rec(&format!("k{}", i % 3), &i.to_string())], None)
            .expect("put");
    }
}

#[tokio::test(start_paused = true)]
async fn sequences_keep_increasing_across_reopen_and_records_survive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let k = key("s");
    let last = {
        let streams = Streams::open(open_store(dir.path()), Clock::new(), T).expect("open");
        active(&streams, &k, 2).await;
        let batch: Vec<NewRecord> = (0..10).map(|i| rec(&format!("k{i}"), &format!("v{i}"))).collect();
        let out = streams.put(&k, &batch, None).expect("put").results;
        out.into_iter()
            .filter(|a| a.shard_id == "shardId-000000000000")
            .map(|a| a.sequence_number)
            .max()
            .expect("some record on shard 0")
    };
    let streams = Streams::open(open_store(dir.path()), Clock::new(), T).expect("reopen");
    // A new clock re-anchors to the system time, which the paused clock had run ahead of.
    tokio::time::advance(T).await;
    let out = streams
        .put(
            &k,
            &[NewRecord {
                partition_key: "x".into(),
                explicit_hash_key: Some(0),
                data: b"after".to_vec(),
            }],
            None,
        )
        .expect("put")
        .results;
    assert_eq!(out[0].shard_id, "shardId-000000000000");
    assert!(out[0].sequence_number > last);
    let mut total = 0;
    for shard in ["shardId-000000000000", "shardId-000000000001"] {
        let it = streams
            .shard_iterator(&k, shard, IteratorStart::TrimHorizon)
            .expect("it");
        total += read_all(&streams, &it).0.len();
    }
    assert_eq!(total, 11);
}

#[tokio::test(start_paused = true)]
async fn oversized_records_and_batches_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let streams = Streams::open(open_store(dir.path()), Clock::new(), T).expect("open");
    let k = key("s");
    active(&streams, &k, 1).await;
    let big = NewRecord {
        partition_key: "k".into(),
        explicit_hash_key: None,
        data: vec![0; 1 << 20],
    };
    assert!(matches!(streams.put(&k, &[big], None), Err(StreamError::Validation(_))));
    let many: Vec<NewRecord> = (0..11)
        .map(|_| NewRecord {
            partition_key: "k".into(),
            explicit_hash_key: None,
            data: vec![0; 1_000_000],
        })
        .collect();
    assert!(matches!(
        streams.put(&k, &many, None),
        Err(StreamError::InvalidArgument(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn throughput_limits_throttle_writes_per_record_and_reads_per_call() {
    let dir = tempfile::tempdir().expect("tempdir");
    let streams = Streams::open(open_store(dir.path()), Clock::new(), T).expect("open");
    let k = key("s");
    active(&streams, &k, 1).await;
    // Off by default: 2,000 records in one second are fine.
    let many: Vec<NewRecord> = (0..500).map(|i| rec("k", &i.to_string())).collect();
    for _ in 0..4 {
        streams.put(&k, &many, None).expect("no limits");
    }
    streams.set_throughput_limits(true);
    tokio::time::advance(Duration::from_secs(1)).await;
    // 1,000 records a second per shard: the first two batches fit, the third fails per record.
    for _ in 0..2 {
        let out = streams.put_batch(&k, &many, None).expect("put").results;
        assert!(out.iter().all(|r| r.is_ok()));
    }
    let out = streams.put_batch(&k, &many, None).expect("put").results;
    assert!(out.iter().all(|r| matches!(r, Err(StreamError::Throughput(_)))));
    assert!(matches!(
        streams.put(&k, &many[..1], None),
        Err(StreamError::Throughput(_))
    ));
    tokio::time::advance(Duration::from_millis(100)).await;
    let out = streams.put_batch(&k, &many, None).expect("put").results;
    let ok = out.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 100, "a tenth of a second refills 100 records");
    // 1 MiB a second: two 600 KB records can't both go at once.
    tokio::time::advance(Duration::from_secs(1)).await;
    let big = NewRecord {
        partition_key: "k".into(),
        explicit_hash_key: None,
        data: vec![0; 600_000],
    };
    let out = streams.put_batch(&k, &[big.clone(), big], None).expect("put").results;
    assert!(out[0].is_ok());
    assert!(matches!(out[1], Err(StreamError::Throughput(_))));

    // Five GetRecords a second per shard.
    let it = streams
        .shard_iterator(&k, "shardId-000000000000", IteratorStart::Latest)
        .expect("it");
    for _ in 0..5 {
        streams.get_records(&it, 1, None).expect("within 5/s");
    }
    assert!(matches!(
        streams.get_records(&it, 1, None),
        Err(StreamError::Throughput(_))
    ));
    tokio::time::advance(Duration::from_millis(200)).await;
    streams.get_records(&it, 1, None).expect("refilled");
}

#[test]
fn resharding_under_concurrent_writes_loses_nothing_and_keeps_key_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No transition time: every reshard leaves the stream ACTIVE at once.
    let streams = Arc::new(Streams::open(open_store(dir.path()), Clock::new(), Duration::ZERO).expect("open"));
    let k = key("s");
    streams.create(&k, provisioned(2)).expect("create");
    let writer = {
        let streams = streams.clone();
        let k = k.clone();
        std::thread::spawn(move || {
            for i in 0..300 {
                let batch: Vec<NewRecord> = (0..4).map(|j| rec(&format!("k{j}"), &format!("k{j}:{i}"))).collect();
                let out = streams.put_batch(&k, &batch, None).expect("put").results;
                assert!(out.iter().all(|r| r.is_ok()));
            }
        })
    };
    for _ in 0..20 {
        let info = streams.describe(&k).expect("describe");
        let mut open: Vec<&ShardRecord> = info.shards.iter().filter(|s| s.is_open()).collect();
        open.sort_by_key(|s| s.range().0);
        // The higher index first: the reverse of the order writers lock in.
        let (a, b) = (open[1].id(), open[0].id());
        streams.merge(&k, &a, &b).expect("merge");
        let info = streams.describe(&k).expect("describe");
        let child = info.shards.iter().find(|s| s.is_open()).expect("merged shard").id();
        streams.split(&k, &child, 1u128 << 127).expect("split");
    }
    writer.join().expect("writer thread");
    let info = streams.describe(&k).expect("describe");
    let mut per_key: std::collections::HashMap<String, Vec<u32>> = std::collections::HashMap::new();
    // Parents have lower indexes than their children, so index order is lineage order.
    for shard in &info.shards {
        let it = streams
            .shard_iterator(&k, &shard.id(), IteratorStart::TrimHorizon)
            .expect("iterator");
        let batch = streams.get_records(&it, 10_000, None).expect("read");
        assert_eq!(batch.next_iterator.is_none(), !shard.is_open());
        for r in batch.records {
            let text = String::from_utf8(r.data).expect("utf8");
            let (key, i) = text.split_once(':').expect("key:i");
            per_key.entry(key.to_string()).or_default().push(i.parse().expect("i"));
        }
    }
    assert_eq!(per_key.len(), 4);
    for (key, seen) in per_key {
        assert_eq!(seen, (0..300).collect::<Vec<u32>>(), "key {key}");
    }
}

#[tokio::test(start_paused = true)]
async fn background_sweeper_wakes_when_the_oldest_record_expires() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(dir.path());
    let streams = Arc::new(Streams::open(store.clone(), Clock::new(), T).expect("open"));
    let k = key("s");
    active(&streams, &k, 1).await;
    streams.put(&k, &[rec("a", "x")], None).expect("put");
    let id = streams.lookup(&k).expect("stream").id;
    let sweeper = tokio::spawn(streams.clone().run_sweeper());
    tokio::time::sleep(Duration::from_secs(23 * 3600)).await;
    assert_eq!(
        store
            .scan_prefix(Cf::StreamRecords, &shard_prefix(id, 0))
            .expect("scan")
            .len(),
        1
    );
    tokio::time::sleep(Duration::from_secs(3600 + 1)).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(
        store
            .scan_prefix(Cf::StreamRecords, &shard_prefix(id, 0))
            .expect("scan")
            .is_empty(),
        "the sweeper removed the expired record on its own"
    );
    sweeper.abort();
}

fn consumer(name: &str) -> ConsumerName {
    ConsumerName {
        name: name.into(),
        created_secs: None,
    }
}

/// A one-shard stream `s` with the ACTIVE consumer `c`.
async fn stream_with_consumer() -> (tempfile::TempDir, Streams, StreamKey) {
    let dir = tempfile::tempdir().expect("tempdir");
    let streams = Streams::open(open_store(dir.path()), Clock::new(), T).expect("open");
    let k = key("s");
    active(&streams, &k, 1).await;
    streams.register_consumer(&k, "c", &[]).expect("register");
    tokio::time::advance(T).await;
    (dir, streams, k)
}

fn event_data(event: &ShardEvent) -> Vec<String> {
    event
        .records
        .iter()
        .map(|r| String::from_utf8(r.data.clone()).expect("utf8"))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn consumers_go_creating_active_deleting_gone_within_the_stream_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let streams = Streams::open(open_store(dir.path()), Clock::new(), T).expect("open");
    let k = key("s");
    active(&streams, &k, 1).await;
    let info = streams.register_consumer(&k, "c", &[]).expect("register");
    assert_eq!(info.status, ConsumerStatus::Creating);
    assert!(info.arn.starts_with(&format!("{}/consumer/c:", k.arn())));
    assert!(matches!(
        streams.subscribe(&k, &consumer("c"), "shardId-000000000000", IteratorStart::Latest),
        Err(StreamError::InUse(_))
    ));
    tokio::time::advance(T).await;
    assert_eq!(
        streams.describe_consumer(&k, &consumer("c")).expect("describe").status,
        ConsumerStatus::Active
    );
    for i in 1..MAX_CONSUMERS_PER_STREAM {
        streams.register_consumer(&k, &format!("c{i}"), &[]).expect("register");
    }
    assert!(matches!(
        streams.register_consumer(&k, "one-too-many", &[]),
        Err(StreamError::LimitExceeded(_))
    ));
    assert!(matches!(streams.delete(&k, false), Err(StreamError::InUse(_))));
    streams.deregister_consumer(&k, &consumer("c")).expect("deregister");
    assert_eq!(
        streams.describe_consumer(&k, &consumer("c")).expect("describe").status,
        ConsumerStatus::Deleting
    );
    tokio::time::advance(T).await;
    assert!(matches!(
        streams.describe_consumer(&k, &consumer("c")),
        Err(StreamError::NotFound(_))
    ));
    assert_eq!(
        streams.list_consumers(&k).expect("list").len(),
        MAX_CONSUMERS_PER_STREAM - 1
    );
    // Consumers are part of the stream's record: they survive a reopen.
    drop(streams);
    let streams = Streams::open(open_store(dir.path()), Clock::new(), T).expect("reopen");
    // (The reopened clock re-anchors to the system time, behind the paused one, so only the
    // consumers that were never deregistered are compared.)
    for i in 1..MAX_CONSUMERS_PER_STREAM {
        assert!(streams.describe_consumer(&k, &consumer(&format!("c{i}"))).is_ok());
    }
    streams.delete(&k, true).expect("delete with its consumers");
}

#[tokio::test(start_paused = true)]
async fn a_subscription_is_woken_by_commits_and_sends_heartbeats_when_idle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let streams = Arc::new(Streams::open(open_store(dir.path()), Clock::new(), T).expect("open"));
    let k = key("s");
    active(&streams, &k, 1).await;
    streams.register_consumer(&k, "c", &[]).expect("register");
    tokio::time::advance(T).await;
    streams.put(&k, &[rec("a", "old")], None).expect("put");
    let mut sub = streams
        .subscribe(&k, &consumer("c"), "shardId-000000000000", IteratorStart::TrimHorizon)
        .expect("subscribe");
    let heartbeat = Duration::from_secs(5);
    let first = sub.next_event(heartbeat).await.expect("event").expect("open");
    assert_eq!(event_data(&first), vec!["old"]);
    assert_eq!(
        first.continuation.as_deref(),
        Some(first.records[0].sequence_number.as_str())
    );

    // A put from another task wakes the waiting subscription; no time needs to pass.
    let writer = {
        let streams = streams.clone();
        let k = k.clone();
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            streams.put(&k, &[rec("a", "new")], None).expect("put");
        })
    };
    let started = tokio::time::Instant::now();
    let pushed = sub.next_event(heartbeat).await.expect("event").expect("open");
    writer.await.expect("writer");
    assert_eq!(event_data(&pushed), vec!["new"]);
    assert!(started.elapsed() < heartbeat, "woken by the commit, not the heartbeat");

    // Idle: an empty event after the heartbeat interval, continuing after the last record.
    let idle = sub.next_event(heartbeat).await.expect("event").expect("open");
    assert!(idle.records.is_empty());
    assert_eq!(idle.continuation, pushed.continuation);
    assert!(started.elapsed() >= heartbeat);
}

#[tokio::test(start_paused = true)]
async fn takeover_waits_five_seconds_and_ends_the_previous_subscription() {
    let (_dir, streams, k) = stream_with_consumer().await;
    let shard = "shardId-000000000000";
    let mut first = streams
        .subscribe(&k, &consumer("c"), shard, IteratorStart::Latest)
        .expect("subscribe");
    assert!(matches!(
        streams.subscribe(&k, &consumer("c"), shard, IteratorStart::Latest),
        Err(StreamError::InUse(_))
    ));
    tokio::time::advance(Duration::from_millis(subscription::TAKEOVER_AFTER_MS)).await;
    let _second = streams
        .subscribe(&k, &consumer("c"), shard, IteratorStart::Latest)
        .expect("takes over");
    assert!(matches!(
        first.next_event(Duration::from_secs(5)).await,
        Err(StreamError::InUse(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn a_closed_shard_ends_with_its_children_and_a_deleted_stream_with_not_found() {
    let (_dir, streams, k) = stream_with_consumer().await;
    streams.put(&k, &[rec("a", "x")], None).expect("put");
    let mut sub = streams
        .subscribe(&k, &consumer("c"), "shardId-000000000000", IteratorStart::TrimHorizon)
        .expect("subscribe");
    assert_eq!(
        event_data(&sub.next_event(Duration::from_secs(5)).await.expect("e").expect("open")),
        vec!["x"]
    );
    streams.split(&k, "shardId-000000000000", u128::MAX / 2).expect("split");
    let last = sub.next_event(Duration::from_secs(5)).await.expect("e").expect("last");
    assert!(last.records.is_empty() && last.continuation.is_none());
    let children: Vec<String> = last
        .child_shards
        .expect("children")
        .into_iter()
        .map(|c| c.shard_id)
        .collect();
    assert_eq!(children, vec!["shardId-000000000001", "shardId-000000000002"]);
    assert!(sub.is_finished());
    assert!(sub.next_event(Duration::from_secs(5)).await.expect("end").is_none());

    tokio::time::advance(T).await;
    let mut child = streams
        .subscribe(&k, &consumer("c"), "shardId-000000000001", IteratorStart::TrimHorizon)
        .expect("subscribe to a child");
    streams.delete(&k, true).expect("delete");
    assert!(matches!(
        child.next_event(Duration::from_secs(5)).await,
        Err(StreamError::NotFound(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn with_limits_on_a_subscription_reads_at_most_two_mib_per_second() {
    let (_dir, streams, k) = stream_with_consumer().await;
    let record = NewRecord {
        partition_key: "a".into(),
        explicit_hash_key: None,
        data: vec![7; 1_000_000],
    };
    for _ in 0..6 {
        streams.put(&k, std::slice::from_ref(&record), None).expect("put");
    }
    let read_all = |limits: bool| {
        streams.set_throughput_limits(limits);
        let mut sub = streams
            .subscribe(&k, &consumer("c"), "shardId-000000000000", IteratorStart::TrimHorizon)
            .expect("subscribe");
        async move {
            let started = tokio::time::Instant::now();
            let mut records = 0;
            while records < 6 {
                let event = sub
                    .next_event(Duration::from_secs(5))
                    .await
                    .expect("event")
                    .expect("open");
                records += event.records.len();
            }
            started.elapsed()
        }
    };
    assert_eq!(read_all(false).await, Duration::ZERO, "unlimited: at once");
    tokio::time::advance(Duration::from_millis(subscription::TAKEOVER_AFTER_MS)).await;
    let paced = read_all(true).await;
    // 6 MB at 2 MiB/s with a full first second's budget: at least one more second.
    assert!(paced >= Duration::from_millis(900), "paced: {paced:?}");
}

/// Issue 14: a record's encryption type is the stream's setting when it was written, in
/// GetRecords and in SubscribeToShard events alike; records stored before the type was kept
/// (`RECORD_V1`) report the stream's current setting, as they always did.
#[tokio::test(start_paused = true)]
async fn records_keep_their_encryption_type_and_old_records_follow_the_stream() {
    let (_dir, streams, k) = stream_with_consumer().await;
    let shard = "shardId-000000000000";
    streams.put(&k, &[rec("pk", "plain")], None).expect("put");
    streams
        .set_encryption(&k, Some("alias/aws/kinesis".into()))
        .expect("start encryption");
    tokio::time::advance(T).await;
    let out = streams.put(&k, &[rec("pk", "kms")], None).expect("put").results;
    // A record as an older Sluice stored it, after the others.
    let (_, _, last) = parse_sequence(&out[0].sequence_number).expect("our sequence");
    let stream = streams.lookup(&k).expect("stream");
    let mut b = streams.store.batch();
    b.put(
        Cf::StreamRecords,
        &record_key(stream.id, 0, last + 1),
        &[&[shard::RECORD_V1, 0, 2][..], b"pk", b"legacy"].concat(),
    );
    // Committed as a put commits: the shard's high-water mark with it, then its reader mark.
    b.put(Cf::Meta, &high_water_key(stream.id, 0), &(last + 1).to_be_bytes());
    streams.store.commit(b).expect("commit");
    stream.routing().all[&0]
        .committed
        .fetch_max(last + 1, Ordering::Release);

    let read = |streams: &Streams| -> Vec<(String, bool)> {
        let it = streams
            .shard_iterator(&k, shard, IteratorStart::TrimHorizon)
            .expect("iterator");
        let (data, batch) = read_all(streams, &it);
        data.into_iter()
            .zip(batch.records.iter().map(|r| r.encrypted))
            .collect()
    };
    let pairs =
        |list: &[(&str, bool)]| -> Vec<(String, bool)> { list.iter().map(|(d, e)| (d.to_string(), *e)).collect() };
    assert_eq!(
        read(&streams),
        pairs(&[("plain", false), ("kms", true), ("legacy", true)])
    );
    let mut sub = streams
        .subscribe(&k, &consumer("c"), shard, IteratorStart::TrimHorizon)
        .expect("subscribe");
    let event = sub
        .next_event(Duration::from_secs(5))
        .await
        .expect("event")
        .expect("open");
    let pushed: Vec<(String, bool)> = event_data(&event)
        .into_iter()
        .zip(event.records.iter().map(|r| r.encrypted))
        .collect();
    assert_eq!(pushed, pairs(&[("plain", false), ("kms", true), ("legacy", true)]));

    streams.set_encryption(&k, None).expect("stop encryption");
    tokio::time::advance(T).await;
    assert_eq!(
        read(&streams),
        pairs(&[("plain", false), ("kms", true), ("legacy", false)])
    );
}

/// Puts "committed" to shard 0 of `k`, then stores "in flight" after it as a put does before
/// its wait (record and high-water mark written, committed mark not raised); answers the
/// stream and the committed record's sequence.
fn put_one_and_write_one_uncommitted(streams: &Streams, k: &StreamKey) -> (Arc<Stream>, u64) {
    let out = streams.put(k, &[rec("pk", "committed")], None).expect("put").results;
    let (_, _, last) = parse_sequence(&out[0].sequence_number).expect("our sequence");
    let stream = streams.lookup(k).expect("stream");
    let mut b = streams.store.batch();
    b.put(
        Cf::StreamRecords,
        &record_key(stream.id, 0, last + 1),
        &shard::encode_record("pk", b"in flight", false),
    );
    b.put(Cf::Meta, &high_water_key(stream.id, 0), &(last + 1).to_be_bytes());
    streams.store.commit(b).expect("commit");
    (stream, last)
}

/// A put's records are in the store before its commit is known (an fsync or the log still to
/// answer): GetRecords and SubscribeToShard show them only once the shard's mark passes them.
#[tokio::test(start_paused = true)]
async fn readers_see_a_put_only_once_it_committed() {
    let (_dir, streams, k) = stream_with_consumer().await;
    let shard = "shardId-000000000000";
    let (stream, last) = put_one_and_write_one_uncommitted(&streams, &k);
    let it = streams
        .shard_iterator(&k, shard, IteratorStart::TrimHorizon)
        .expect("iterator");
    let (data, batch) = read_all(&streams, &it);
    assert_eq!(data, ["committed"]);
    let mut sub = streams
        .subscribe(&k, &consumer("c"), shard, IteratorStart::TrimHorizon)
        .expect("subscribe");
    let event = sub.next_event(T).await.expect("event").expect("open");
    assert_eq!(event_data(&event), ["committed"]);
    // The put's wait succeeded.
    stream.routing().all[&0]
        .committed
        .fetch_max(last + 1, Ordering::Release);
    let next = batch.next_iterator.expect("open shard");
    assert_eq!(read_all(&streams, &next).0, ["in flight"]);
    let event = sub.next_event(T).await.expect("event").expect("open");
    assert_eq!(event_data(&event), ["in flight"]);
}

/// A split that closes a shard while a put to it still waits for its commit covers that put
/// (its own commit comes later): readers of the parent get the put's records before the
/// children, and never move on without them.
#[tokio::test(start_paused = true)]
async fn a_split_during_a_put_s_wait_leaves_its_records_to_the_parent_s_readers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let streams = Streams::open(open_store(dir.path()), Clock::new(), T).expect("open");
    let k = key("s");
    active(&streams, &k, 1).await;
    let parent = "shardId-000000000000";
    let (stream, last) = put_one_and_write_one_uncommitted(&streams, &k);
    stream.routing().all[&0].writer().last_seq = last + 1;
    streams.split(&k, parent, 1u128 << 127).expect("split");
    let it = streams
        .shard_iterator(&k, parent, IteratorStart::TrimHorizon)
        .expect("iterator");
    let (data, batch) = read_all(&streams, &it);
    assert_eq!(data, ["committed", "in flight"]);
    assert_eq!(batch.next_iterator, None, "closed shard fully read");
    assert!(batch.child_shards.is_some());
}

/// A put answers with the encryption type it stored its records under, read in the same step
/// as the write, so the answer's `EncryptionType` cannot disagree with the records.
#[tokio::test(start_paused = true)]
async fn puts_answer_the_encryption_type_they_stored_under() {
    let dir = tempfile::tempdir().expect("tempdir");
    let streams = Streams::open(open_store(dir.path()), Clock::new(), T).expect("open");
    let k = key("s");
    active(&streams, &k, 1).await;
    assert!(!streams.put(&k, &[rec("pk", "plain")], None).expect("put").encrypted);
    assert!(
        !streams
            .put_batch(&k, &[rec("pk", "plain")], None)
            .expect("put")
            .encrypted
    );
    streams
        .set_encryption(&k, Some("alias/aws/kinesis".into()))
        .expect("start encryption");
    tokio::time::advance(T).await;
    assert!(streams.put(&k, &[rec("pk", "kms")], None).expect("put").encrypted);
    let batch = streams.put_batch(&k, &[rec("pk", "kms")], None).expect("put");
    assert!(batch.encrypted);
    assert!(batch.results.iter().all(|r| r.is_ok()));
}

#[tokio::test(start_paused = true)]
async fn a_reader_waiting_on_an_idle_shard_wakes_at_the_first_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let streams = Streams::open(open_store(dir.path()), Clock::new(), T).expect("open");
    let k = key("s");
    active(&streams, &k, 1).await;
    let shard = "shardId-000000000000";
    let latest = streams
        .shard_iterator(&k, shard, IteratorStart::Latest)
        .expect("latest");
    let limit = Duration::from_secs(1);

    // Nothing committed: the wait lasts its whole bound.
    let started = tokio::time::Instant::now();
    streams.wait_for_records(&latest, limit).await;
    assert_eq!(started.elapsed(), limit);

    // A commit 100 ms in ends the wait then, not at the bound.
    let started = tokio::time::Instant::now();
    let put_later = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        streams.put(&k, &[rec("pk", "r0")], None).expect("put");
    };
    tokio::join!(streams.wait_for_records(&latest, limit), put_later);
    assert_eq!(started.elapsed(), Duration::from_millis(100));

    // A record already there at or after the iterator: no wait at all.
    let started = tokio::time::Instant::now();
    streams.wait_for_records(&latest, limit).await;
    assert_eq!(started.elapsed(), Duration::ZERO);
    let (data, batch) = read_all(&streams, &latest);
    assert_eq!(data, vec!["r0"]);

    // Past the last record, waiting again lasts the bound.
    let next = batch.next_iterator.expect("an open shard's next iterator");
    let started = tokio::time::Instant::now();
    streams.wait_for_records(&next, limit).await;
    assert_eq!(started.elapsed(), limit);
}

#[tokio::test(start_paused = true)]
async fn active_subscriptions_list_running_ones_until_dropped_or_taken_over() {
    let (_dir, streams, k) = stream_with_consumer().await;
    assert_eq!(streams.active_subscriptions(&k).expect("list"), Vec::new());
    let shard = "shardId-000000000000";
    let first = streams
        .subscribe(&k, &consumer("c"), shard, IteratorStart::Latest)
        .expect("subscribe");
    let running = streams.active_subscriptions(&k).expect("list");
    assert_eq!(running.len(), 1);
    assert_eq!(
        (running[0].consumer.as_str(), running[0].shard_id.as_str()),
        ("c", shard)
    );

    // Taken over: only the new subscription runs, although the old one is not dropped yet.
    tokio::time::advance(Duration::from_millis(subscription::TAKEOVER_AFTER_MS)).await;
    let second = streams
        .subscribe(&k, &consumer("c"), shard, IteratorStart::Latest)
        .expect("takes over");
    let running = streams.active_subscriptions(&k).expect("list");
    assert_eq!(running.len(), 1);
    assert!(running[0].started_ms > 0);
    drop(first);
    assert_eq!(streams.active_subscriptions(&k).expect("list").len(), 1);

    // Its event stream ended (the subscription dropped): the lease stays for takeover checks,
    // but nothing runs.
    drop(second);
    assert_eq!(streams.active_subscriptions(&k).expect("list"), Vec::new());
    assert!(matches!(
        streams.active_subscriptions(&key("missing")),
        Err(StreamError::NotFound(_))
    ));
}
