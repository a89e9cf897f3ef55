//! `sluice-load` against a real broker, bounded by `--max-ops` and `--duration`: the workloads
//! that verify delivery must come back clean (the tool's checks are what the benchmarks rely on).

use std::process::Command;

use sluice_tests::Broker;

fn run_load(endpoint: &str, args: &[&str]) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_sluice-load"))
        .args([
            "--endpoint",
            endpoint,
            "--json",
            "--duration",
            "20s",
            "--op-timeout",
            "5s",
        ])
        .args(["--drain-timeout", "10s"])
        .args(args)
        .output()
        .expect("run sluice-load");
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "sluice-load printed no JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_roundtrip_delivers_every_message_once_in_group_order() {
    let broker = Broker::start().await;
    let report = run_load(
        &broker.endpoint(),
        &[
            "--workload",
            "fifo-roundtrip",
            "--concurrency",
            "8",
            "--groups",
            "16",
            "--max-ops",
            "400",
            "--resend-every",
            "5",
        ],
    );
    assert_eq!(report["ok"], true, "{report:#}");
    let v = &report["verification"];
    assert_eq!(v["sent"], 400, "{report:#}");
    assert_eq!(v["missing"], 0);
    assert_eq!(v["duplicates"], 0);
    assert_eq!(v["out_of_order"], 0);
    assert_eq!(v["dedupe_misses"], 0);
    assert_eq!(report["errors"], 0, "{report:#}");
}

/// Batches to a queue named `*.fifo` are FIFO sends spread over `--groups` groups (the
/// backlog benchmark with many groups relies on it): every message stored, each in its group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_to_a_fifo_queue_spread_over_the_groups() {
    let broker = Broker::start().await;
    let report = run_load(
        &broker.endpoint(),
        &[
            "--workload",
            "sqs-send-batch",
            "--queue-name",
            "many.fifo",
            "--keep-queue",
            "--groups",
            "1000",
            "--concurrency",
            "4",
            "--max-ops",
            "50",
        ],
    );
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["messages_sent"], 500, "{report:#}");
    assert_eq!(report["errors"], 0, "{report:#}");
    let sqs = broker.sqs().await;
    let url = sqs
        .get_queue_url()
        .queue_name("many.fifo")
        .send()
        .await
        .expect("the queue was kept")
        .queue_url()
        .expect("QueueUrl")
        .to_string();
    let count = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .expect("GetQueueAttributes");
    let count = count
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages))
        .cloned();
    assert_eq!(count.as_deref(), Some("500"));
    // 500 messages over 1,000 groups: every group holds at most one, so one receive of 10
    // gets 10 messages of 10 different groups.
    let got = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
        .send()
        .await
        .expect("ReceiveMessage");
    let groups: std::collections::BTreeSet<String> = got
        .messages()
        .iter()
        .filter_map(|m| {
            m.attributes()
                .and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId))
                .cloned()
        })
        .collect();
    assert_eq!(groups.len(), 10, "{groups:?}");
    assert!(groups.iter().all(|g| g.starts_with('g')), "{groups:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_roundtrip_loses_nothing() {
    let broker = Broker::start().await;
    let report = run_load(
        &broker.endpoint(),
        &["--workload", "sqs-roundtrip", "--concurrency", "8", "--max-ops", "400"],
    );
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["verification"]["sent"], 400);
    assert_eq!(report["verification"]["missing"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_fanout_reaches_every_queue_with_every_publish() {
    let broker = Broker::start().await;
    for (workload, ops, delivered) in [("sns-fanout", "200", 600), ("sns-fanout-batch", "20", 600)] {
        let report = run_load(
            &broker.endpoint(),
            &[
                "--workload",
                workload,
                "--subscriptions",
                "3",
                "--concurrency",
                "4",
                "--max-ops",
                ops,
            ],
        );
        assert_eq!(report["ok"], true, "{report:#}");
        let v = &report["verification"];
        assert_eq!(v["sent"], delivered, "{workload}: {report:#}");
        assert_eq!(v["received_unique"], delivered, "{workload}: {report:#}");
        assert_eq!(v["missing"], 0);
        assert_eq!(v["duplicates"], 0);
    }
}

/// `--fifo-topic` publishes to a FIFO topic with FIFO queues (what the cluster benchmark of
/// FIFO topics relies on): every queue gets every publish once, in the topic's group order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_fanout_to_a_fifo_topic_keeps_each_group_in_the_topics_order() {
    let broker = Broker::start().await;
    let sns = sluice_tests::sns::sns_client(&broker.endpoint()).await;
    for (workload, ops) in [("sns-fanout", "200"), ("sns-fanout-batch", "20")] {
        let report = run_load(
            &broker.endpoint(),
            &[
                "--workload",
                workload,
                "--fifo-topic",
                "--groups",
                "8",
                "--subscriptions",
                "2",
                "--concurrency",
                "8",
                "--max-ops",
                ops,
                "--keep-queue",
            ],
        );
        assert_eq!(report["ok"], true, "{report:#}");
        let v = &report["verification"];
        assert_eq!(v["sent"], 400, "{workload}: {report:#}");
        assert_eq!(v["received_unique"], 400, "{workload}: {report:#}");
        assert_eq!(v["duplicates"], 0, "{workload}: {report:#}");
        assert_eq!(v["out_of_order"], 0, "{workload}: {report:#}");
        assert_eq!(report["errors"], 0, "{report:#}");
    }
    let topics = sns.list_topics().send().await.expect("list topics");
    let fifo: Vec<&str> = topics
        .topics()
        .iter()
        .filter_map(|t| t.topic_arn())
        .filter(|arn| arn.ends_with(".fifo"))
        .collect();
    assert_eq!(fifo.len(), 2, "each run made a FIFO topic: {topics:?}");
    for arn in fifo {
        let attributes = sns
            .get_topic_attributes()
            .topic_arn(arn)
            .send()
            .await
            .expect("attributes");
        assert_eq!(
            attributes
                .attributes()
                .and_then(|a| a.get("FifoTopic"))
                .map(String::as_str),
            Some("true")
        );
        let subscriptions = sns
            .list_subscriptions_by_topic()
            .topic_arn(arn)
            .send()
            .await
            .expect("subscriptions");
        assert_eq!(subscriptions.subscriptions().len(), 2);
        assert!(subscriptions
            .subscriptions()
            .iter()
            .all(|s| s.endpoint().is_some_and(|e| e.ends_with(".fifo"))));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_http_delivers_every_publish_to_the_subscriber() {
    let broker = Broker::start().await;
    let report = run_load(
        &broker.endpoint(),
        &["--workload", "sns-http", "--concurrency", "4", "--max-ops", "100"],
    );
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["verification"]["sent"], 100, "{report:#}");
    assert_eq!(report["verification"]["missing"], 0, "{report:#}");
    assert_eq!(report["latency_ms"]["receive"]["count"], 100, "{report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinesis_efo_pushes_every_record_to_every_consumer_in_order() {
    let broker = Broker::start_with(&["--kinesis-transition-ms", "0"]).await;
    let report = run_load(
        &broker.endpoint(),
        &[
            "--workload",
            "kinesis-efo",
            "--consumers",
            "3",
            "--shards",
            "3",
            "--concurrency",
            "4",
            "--rate",
            "2000",
            "--max-ops",
            "100",
        ],
    );
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["errors"], 0, "{report:#}");
    let put = report["messages_sent"].as_u64().unwrap_or(0);
    assert!(put >= 100, "at least one record per PutRecords call: {report:#}");
    let v = &report["verification"];
    // Every consumer got every acknowledged record once, in shard and key order.
    assert_eq!(v["sent"], put * 3, "{report:#}");
    assert_eq!(v["received_unique"], put * 3, "{report:#}");
    assert_eq!(v["missing"], 0);
    assert_eq!(v["duplicates"], 0);
    assert_eq!(v["out_of_order"], 0);
    assert_eq!(v["unexpected"], 0);
    assert_eq!(report["messages_received"], put * 3, "{report:#}");
    // Put-to-delivery latency of every delivery.
    assert_eq!(report["latency_ms"]["receive"]["count"], put * 3, "{report:#}");
    assert!(report["deliveries_per_sec"].as_f64().unwrap_or(0.0) > 0.0, "{report:#}");
}
