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
            sqs.send_message().queue_url(&url).message_body(format!("m{i}")).send().await,
            "SendMessage",
        );
    }
    let metrics = raw::get_with_timeout(&format!("{}/metrics", broker.endpoint()), Duration::from_secs(5))
        .await
        .expect("GET /metrics");
    assert_eq!(metrics.status, 200);
    let want = r#"sluice_queue_messages{account="000000000000",queue="depth",region="us-east-1",state="visible"} 3"#;
    assert!(metrics.body.contains(want), "{}", metrics.body);
}
