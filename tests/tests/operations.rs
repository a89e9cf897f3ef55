//! What an operator sees: request ids that match between clients and logs, message bodies kept
//! out of logs, and per-queue gauges on `/metrics`, against the spawned binary.

use std::time::Duration;

use sluice_tests::raw;
use sluice_tests::sqs::{create_queue, ok, receive};
use sluice_tests::Broker;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_carry_the_request_id_clients_see_and_never_the_body() {
    let broker = Broker::start_with(&["--log-level", "debug", "--log-format", "json"]).await;
    let resp = raw::json(&broker.endpoint(), "ListQueues", "{}").await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let request_id = resp.header("x-amzn-requestid").expect("x-amzn-RequestId").to_string();

    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "ops", &[]).await;
    let secret = "body-that-must-not-be-logged-7f3a";
    ok(
        sqs.send_message().queue_url(&url).message_body(secret).send().await,
        "SendMessage",
    );
    assert_eq!(receive(&sqs, &url, 1, 1, None).await.len(), 1);

    // Logs are written asynchronously to the file; give them a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut log = broker.log();
    while !log.contains(&request_id) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        log = broker.log();
    }
    let line = log
        .lines()
        .find(|l| l.contains(&request_id))
        .unwrap_or_else(|| panic!("no log line with request id {request_id}:\n{log}"));
    let entry: serde_json::Value = serde_json::from_str(line).expect("JSON log line");
    assert_eq!(entry["action"], "ListQueues", "{line}");
    assert_eq!(entry["status"], 200, "{line}");
    assert_eq!(entry["span"]["request_id"], request_id.as_str(), "{line}");
    assert!(!log.contains(secret), "a message body reached the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_queue_depths() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "depth", &[]).await;
    for i in 0..3 {
        ok(
            sqs.send_message()
                .queue_url(&url)
                .message_body(format!("m{i}"))
                .send()
                .await,
            "SendMessage",
        );
    }
    let metrics = raw::get_with_timeout(&format!("{}/metrics", broker.endpoint()), Duration::from_secs(5))
        .await
        .expect("GET /metrics");
    assert_eq!(metrics.status, 200);
    let want = r#"sluice_queue_messages{account="000000000000",queue="depth",region="us-east-1",state="visible"} 3"#;
    assert!(metrics.body.contains(want), "{}", metrics.body);

    // Topic traffic: one publish delivered to one queue subscription.
    let sns = sluice_tests::sns::sns_client(&broker.endpoint()).await;
    let topic = ok(sns.create_topic().name("news").send().await, "CreateTopic");
    let topic_arn = topic.topic_arn().expect("TopicArn");
    ok(
        sns.subscribe()
            .topic_arn(topic_arn)
            .protocol("sqs")
            .endpoint("arn:aws:sqs:us-east-1:000000000000:depth")
            .send()
            .await,
        "Subscribe",
    );
    ok(sns.publish().topic_arn(topic_arn).message("m").send().await, "Publish");
    let metrics = raw::get_with_timeout(&format!("{}/metrics", broker.endpoint()), Duration::from_secs(5))
        .await
        .expect("GET /metrics");
    for want in [
        r#"sluice_topic_publishes_total{account="000000000000",region="us-east-1",topic="news"} 1"#,
        r#"sluice_topic_deliveries_total{account="000000000000",protocol="sqs",region="us-east-1",topic="news"} 1"#,
        r#"sluice_topic_delivery_failures_total{account="000000000000",protocol="sqs",region="us-east-1",topic="news"} 0"#,
    ] {
        assert!(metrics.body.contains(want), "{want} missing:\n{}", metrics.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_file_declares_queues_idempotently_and_converges() {
    use aws_sdk_sqs::types::QueueAttributeName as Q;
    use sluice_tests::sqs::queue_attributes;

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("init.yaml");
    let declare = |visibility: u32, retention: u32| {
        format!(
            "queues:\n\
             \x20 - name: orders\n\
             \x20   attributes: {{ VisibilityTimeout: {visibility} }}\n\
             \x20   dead_letter_queue: {{ name: orders-dlq, max_receive_count: 5 }}\n\
             \x20   tags: {{ team: payments }}\n\
             \x20 - name: orders-dlq\n\
             \x20 - name: events.fifo\n\
             \x20   attributes: {{ FifoQueue: true, ContentBasedDeduplication: true }}\n\
             streams:\n\
             \x20 - {{ name: clicks, shards: 2, retention_hours: {retention}, tags: {{ team: web }} }}\n\
             \x20 - {{ name: audit, mode: on_demand }}\n\
             topics:\n\
             \x20 - name: order-events\n\
             \x20   attributes: {{ DisplayName: Orders-{visibility} }}\n\
             \x20   subscriptions:\n\
             \x20     - {{ endpoint: orders-dlq, attributes: {{ RawMessageDelivery: true }} }}\n"
        )
    };
    std::fs::write(&path, declare(60, 48)).expect("write init file");
    let path_arg = path.to_string_lossy().to_string();
    let mut broker = Broker::start_with(&["--init", &path_arg]).await;
    let sqs = broker.sqs().await;
    let endpoint = broker.endpoint();
    let url = |name: &str| format!("{endpoint}/000000000000/{name}");

    let attrs = queue_attributes(&sqs, &url("orders"), &[]).await;
    assert_eq!(attrs["VisibilityTimeout"], "60");
    let policy: serde_json::Value = serde_json::from_str(&attrs["RedrivePolicy"]).expect("RedrivePolicy");
    assert_eq!(
        policy["deadLetterTargetArn"],
        "arn:aws:sqs:us-east-1:000000000000:orders-dlq"
    );
    assert_eq!(policy["maxReceiveCount"], 5);
    let tags = ok(
        sqs.list_queue_tags().queue_url(url("orders")).send().await,
        "ListQueueTags",
    );
    assert_eq!(
        tags.tags().and_then(|t| t.get("team")).map(String::as_str),
        Some("payments")
    );
    // The declared topic fans out to the declared queue.
    let sns = sluice_tests::sns::sns_client(&broker.endpoint()).await;
    let topic_arn = "arn:aws:sns:us-east-1:000000000000:order-events";
    ok(
        sns.publish()
            .topic_arn(topic_arn)
            .message("declared fan-out")
            .send()
            .await,
        "Publish",
    );
    let fanned = receive(&sqs, &url("orders-dlq"), 10, 1, None).await;
    assert_eq!(fanned.len(), 1);
    assert_eq!(fanned[0].body(), Some("declared fan-out"));
    let fifo = queue_attributes(&sqs, &url("events.fifo"), &[Q::FifoQueue, Q::ContentBasedDeduplication]).await;
    assert_eq!(fifo["FifoQueue"], "true");
    assert_eq!(fifo["ContentBasedDeduplication"], "true");
    ok(
        sqs.send_message()
            .queue_url(url("orders"))
            .message_body("kept")
            .send()
            .await,
        "SendMessage",
    );

    // Same file again: nothing changes, the message stays. A changed file converges.
    broker.restart().await;
    std::fs::write(&path, declare(90, 72)).expect("rewrite init file");
    broker.restart().await;
    let sqs = broker.sqs().await;
    let attrs = queue_attributes(
        &sqs,
        &url("orders"),
        &[Q::VisibilityTimeout, Q::ApproximateNumberOfMessages],
    )
    .await;
    assert_eq!(attrs["VisibilityTimeout"], "90");
    assert_eq!(attrs["ApproximateNumberOfMessages"], "1");
    let sns = sluice_tests::sns::sns_client(&broker.endpoint()).await;
    let topic = ok(
        sns.get_topic_attributes().topic_arn(topic_arn).send().await,
        "GetTopicAttributes",
    );
    let topic = topic.attributes().cloned().unwrap_or_default();
    assert_eq!(topic["DisplayName"], "Orders-90", "topic attributes converged");
    assert_eq!(
        topic["SubscriptionsConfirmed"], "1",
        "the subscription was not duplicated"
    );
    let kinesis = sluice_tests::kinesis::kinesis_client(&broker.endpoint()).await;
    let clicks = ok(
        kinesis.describe_stream_summary().stream_name("clicks").send().await,
        "DescribeStreamSummary",
    );
    let summary = clicks.stream_description_summary().expect("summary");
    assert_eq!(summary.open_shard_count(), 2);
    assert_eq!(
        summary.retention_period_hours(),
        72,
        "retention converged to the new file"
    );
    let audit = ok(
        kinesis.describe_stream_summary().stream_name("audit").send().await,
        "DescribeStreamSummary",
    );
    assert_eq!(
        audit
            .stream_description_summary()
            .and_then(|s| s.stream_mode_details())
            .map(|m| m.stream_mode().as_str().to_string()),
        Some("ON_DEMAND".to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_init_file_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        ("typo.yaml", "queues:\n  - name: q\n    atributes: {}\n", "atributes"),
        (
            "range.yaml",
            "queues:\n  - name: q\n    attributes: { VisibilityTimeout: 99999 }\n",
            "queue q",
        ),
        (
            "topics.toml",
            "[[topics]]\nname = \"t\"\nattributes = { SignatureVersion = 3 }\n",
            "topic t",
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        let data = dir.path().join(format!("data-{name}"));
        let all = serve_refused(&data, &[std::ffi::OsStr::new("--init"), path.as_os_str()]).await;
        assert!(all.contains(name) && all.contains(expected), "{name}: {all}");
    }
}

/// Runs `sluice serve` on `data` with `extra` arguments, expecting it to refuse to start; its
/// stdout and stderr.
async fn serve_refused(data: &std::path::Path, extra: &[&std::ffi::OsStr]) -> String {
    let output = tokio::process::Command::new(sluice_tests::broker::binary_path())
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(extra)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), output)
        .await
        .expect("sluice exits in time")
        .expect("run sluice");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "started anyway: {stdout}{stderr}");
    format!("{stdout}{stderr}")
}

/// Issue 14: a data folder held by another broker and a corrupt data folder are told apart
/// (the lock used to be recognised by the substring "lock", which "block checksum mismatch"
/// contains too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_data_folder_and_a_corrupt_one_get_their_own_start_up_errors() {
    let mut broker = Broker::start().await;
    let data = broker.data_dir();
    let held = serve_refused(&data, &[]).await;
    assert!(held.contains("is in use by another process"), "{held}");
    assert!(!held.contains("corrupt"), "{held}");

    broker.stop().await;
    // CURRENT names the live MANIFEST and must end with a newline; RocksDB reports any other
    // content as corruption.
    std::fs::write(data.join("CURRENT"), b"MANIFEST-garbage").expect("write CURRENT");
    let corrupt = serve_refused(&data, &[]).await;
    assert!(
        corrupt.contains("is corrupt") && corrupt.contains("Corruption"),
        "{corrupt}"
    );
    assert!(!corrupt.contains("in use by another process"), "{corrupt}");
}

/// Copies a folder tree (a checkpoint's files are hard links; a copy is what an operator ships
/// elsewhere).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create target");
    for entry in std::fs::read_dir(from).expect("read checkpoint") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_restores_into_a_working_broker() {
    let backups = tempfile::tempdir().expect("tempdir");
    let backups_arg = backups.path().to_string_lossy().to_string();
    let broker = Broker::start_with(&["--checkpoint-dir", &backups_arg]).await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "precious", &[]).await;
    for i in 0..5 {
        ok(
            sqs.send_message()
                .queue_url(&url)
                .message_body(format!("m{i}"))
                .send()
                .await,
            "SendMessage",
        );
    }
    let post = http::Request::post(format!("{}/admin/checkpoint", broker.endpoint()))
        .body(Vec::new())
        .expect("request");
    let resp = raw::send(post).await.expect("POST /admin/checkpoint");
    assert_eq!(resp.status, 200, "{}", resp.body);
    let path = resp.json()["path"].as_str().expect("path").to_string();
    assert!(path.starts_with(&backups_arg), "{path}");
    // Written after the checkpoint: must not be in it.
    ok(
        sqs.send_message().queue_url(&url).message_body("later").send().await,
        "SendMessage",
    );

    // Restore: a fresh broker whose data folder is a copy of the checkpoint.
    let mut restored = Broker::start().await;
    restored.stop().await;
    std::fs::remove_dir_all(restored.data_dir()).expect("clear data dir");
    copy_dir(std::path::Path::new(&path), &restored.data_dir());
    restored.start_again().await;
    let sqs2 = restored.sqs().await;
    let url2 = format!("{}/000000000000/precious", restored.endpoint());
    let got = receive(&sqs2, &url2, 10, 1, None).await;
    let mut bodies: Vec<&str> = got.iter().filter_map(|m| m.body()).collect();
    bodies.sort();
    assert_eq!(bodies, vec!["m0", "m1", "m2", "m3", "m4"]);

    // Without --checkpoint-dir the endpoint is off.
    let off = http::Request::post(format!("{}/admin/checkpoint", restored.endpoint()))
        .body(Vec::new())
        .expect("request");
    assert_eq!(raw::send(off).await.expect("send").status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_per_stream_traffic() {
    use aws_sdk_kinesis::primitives::Blob;
    use aws_sdk_kinesis::types::ShardIteratorType;
    use sluice_tests::kinesis::{create_stream, iterator, kinesis_client, read_from, shard_ids};

    let broker = Broker::start_with(&["--kinesis-transition-ms", "0"]).await;
    let kinesis = kinesis_client(&broker.endpoint()).await;
    create_stream(&kinesis, "clicks", 1).await;
    for i in 0..4 {
        ok(
            kinesis
                .put_record()
                .stream_name("clicks")
                .partition_key(format!("k{i}"))
                .data(Blob::new(vec![b'x'; 100]))
                .send()
                .await,
            "PutRecord",
        );
    }
    let shard = shard_ids(&kinesis, "clicks").await.remove(0);
    let it = iterator(&kinesis, "clicks", &shard, ShardIteratorType::TrimHorizon).await;
    let read = read_from(&kinesis, it, 10).await;
    assert_eq!(read.records.len(), 4);

    let metrics = raw::get_with_timeout(&format!("{}/metrics", broker.endpoint()), Duration::from_secs(5))
        .await
        .expect("GET /metrics");
    let labels = r#"account="000000000000",region="us-east-1",stream="clicks""#;
    for line in [
        format!("sluice_stream_incoming_records_total{{{labels}}} 4"),
        format!("sluice_stream_incoming_bytes_total{{{labels}}} 400"),
        format!("sluice_stream_outgoing_records_total{{{labels}}} 4"),
        format!("sluice_stream_outgoing_bytes_total{{{labels}}} 400"),
        format!("sluice_stream_iterator_age_milliseconds{{{labels}}} 0"),
        r#"sluice_metrics_resources_omitted{kind="stream"} 0"#.to_string(),
    ] {
        assert!(metrics.body.contains(&line), "missing {line}:\n{}", metrics.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_endpoints_can_have_their_own_port() {
    // A free loopback port for the admin listener.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let admin_addr = format!("127.0.0.1:{port}");
    let broker = Broker::start_with(&["--admin-bind", &admin_addr]).await;
    let admin = format!("http://{admin_addr}");
    for (path, want) in [("/health", "ok"), ("/ready", "ready")] {
        let resp = raw::get_with_timeout(&format!("{admin}{path}"), Duration::from_secs(5))
            .await
            .expect("admin GET");
        assert_eq!((resp.status, resp.body.as_str()), (200, want), "{path}");
    }
    let metrics = raw::get_with_timeout(&format!("{admin}/metrics"), Duration::from_secs(5))
        .await
        .expect("admin GET /metrics");
    assert_eq!(metrics.status, 200);
    assert!(metrics.body.contains("sluice_open_connections"), "{}", metrics.body);
    // The admin port answers nothing else; the main port still answers the probes.
    let api = raw::get_with_timeout(&format!("{admin}/?Action=ListQueues"), Duration::from_secs(5))
        .await
        .expect("admin GET API");
    assert_eq!(api.status, 404);
    let main = raw::get_with_timeout(&format!("{}/health", broker.endpoint()), Duration::from_secs(5))
        .await
        .expect("main GET /health");
    assert_eq!(main.status, 200);
}
