//! Unchanged Node.js handlers on AWS's Node.js runtime interface client (`aws-lambda-ric`, an
//! ES module handler as AWS's Node.js runtimes load it): direct invocations and their errors,
//! an SQS mapping with partial batch failures ending in the dead-letter queue, and a Kinesis
//! mapping delivering a shard in order.

use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{EventSourcePosition, FunctionResponseType, InvocationType, Runtime};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use serde_json::Value;
use sluice_tests::kinesis::{create_stream, kinesis_client};
use sluice_tests::lambda::{create_function_in, handled_lines, lambda_client, lambda_node, Handler};
use sluice_tests::sqs::{counts, create_queue_with_dlq, ok, receive};
use sluice_tests::{unique_name, Broker};

const ACCOUNT: &str = "000000000000";

/// A code folder with `index.mjs`, whose handler writes to `handled.txt` beside it (the path
/// is passed in `OUT`, replaced in the source).
fn code(source: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("handled.txt");
    let source = source.replace("OUT", &format!("{:?}", out.display().to_string()));
    std::fs::write(dir.path().join("index.mjs"), source).expect("index.mjs");
    dir
}

/// Waits up to 60 s until `done` holds for the handled lines; returns them.
async fn wait_lines(dir: &Path, what: &str, handler: &Handler, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = handled_lines(dir);
        if done(&got) {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: lines so far {got:?}; handler log:\n{}",
            handler.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_handler_answers_invoke_and_its_errors_reach_the_caller() {
    let launcher = lambda_node();
    let broker = Broker::start().await;
    let lambda = lambda_client(&broker.endpoint()).await;
    let name = unique_name("node");
    let runtime_api = create_function_in(&lambda, &name, Runtime::Nodejs20x, "index.handler", 3).await;
    let dir = code(
        r#"import { appendFileSync } from "node:fs";
export const handler = async (event, context) => {
  if (event.throw) {
    throw new TypeError(`bad order ${event.throw}`);
  }
  if (event.log) {
    appendFileSync(OUT, `${event.log}\n`);
  }
  return {
    echo: event,
    functionName: context.functionName,
    requestId: context.awsRequestId,
    remainingMs: context.getRemainingTimeInMillis(),
  };
};
"#,
    );
    let handler = Handler::node(&launcher, dir.path(), "index.handler", &name, &runtime_api);

    let out = ok(
        lambda
            .invoke()
            .function_name(&name)
            .payload(Blob::new(r#"{"order":7,"items":["a","b"]}"#))
            .send()
            .await,
        "Invoke",
    );
    assert_eq!(out.status_code(), 200);
    assert_eq!(out.function_error(), None, "log:\n{}", handler.log());
    let answer: Value = serde_json::from_slice(out.payload().expect("payload").as_ref()).expect("JSON answer");
    assert_eq!(answer["echo"], serde_json::json!({"order": 7, "items": ["a", "b"]}));
    assert_eq!(answer["functionName"], name.as_str());
    assert!(!answer["requestId"].as_str().unwrap_or_default().is_empty(), "{answer}");
    let remaining = answer["remainingMs"].as_i64().expect("remainingMs");
    assert!(
        (1..=3000).contains(&remaining),
        "the deadline is the function's timeout: {answer}"
    );

    let out = ok(
        lambda
            .invoke()
            .function_name(&name)
            .payload(Blob::new(r#"{"throw":9}"#))
            .send()
            .await,
        "Invoke (throws)",
    );
    assert_eq!(out.status_code(), 200);
    assert_eq!(out.function_error(), Some("Unhandled"));
    let error: Value = serde_json::from_slice(out.payload().expect("payload").as_ref()).expect("JSON error");
    assert_eq!(error["errorType"], "TypeError", "{error}");
    assert_eq!(error["errorMessage"], "bad order 9", "{error}");

    let out = ok(
        lambda
            .invoke()
            .function_name(&name)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(r#"{"log":"queued"}"#))
            .send()
            .await,
        "Invoke (Event)",
    );
    assert_eq!(out.status_code(), 202);
    wait_lines(dir.path(), "the Event invocation", &handler, |l| l == ["queued"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_handler_reports_sqs_item_failures_and_they_end_in_the_dead_letter_queue() {
    let launcher = lambda_node();
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let lambda = lambda_client(&broker.endpoint()).await;
    let queue_name = unique_name("orders");
    let (queue, dlq) = create_queue_with_dlq(&sqs, &queue_name, &unique_name("dlq"), "4", 2).await;
    let name = unique_name("node-orders");
    let runtime_api = create_function_in(&lambda, &name, Runtime::Nodejs20x, "index.handler", 4).await;
    let dir = code(
        r#"import { appendFileSync } from "node:fs";
export const handler = async (event) => {
  const failures = [];
  for (const record of event.Records) {
    appendFileSync(OUT, `${record.body} ${record.attributes.ApproximateReceiveCount} ${record.eventSource}\n`);
    if (record.body.startsWith("fail")) {
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
};
"#,
    );
    let handler = Handler::node(&launcher, dir.path(), "index.handler", &name, &runtime_api);
    let entries: Vec<SendMessageBatchRequestEntry> = (0..10)
        .map(|i| {
            let body = if i == 4 {
                "fail-4".to_string()
            } else {
                format!("ok-{i}")
            };
            SendMessageBatchRequestEntry::builder()
                .id(format!("m{i}"))
                .message_body(body)
                .build()
                .expect("entry")
        })
        .collect();
    let sent = ok(
        sqs.send_message_batch()
            .queue_url(&queue)
            .set_entries(Some(entries))
            .send()
            .await,
        "SendMessageBatch",
    );
    assert_eq!(sent.successful().len(), 10);
    ok(
        lambda
            .create_event_source_mapping()
            .function_name(&name)
            .event_source_arn(format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{queue_name}"))
            .batch_size(10)
            .function_response_types(FunctionResponseType::ReportBatchItemFailures)
            .send()
            .await,
        "CreateEventSourceMapping",
    );

    // The failing message is delivered twice (maxReceiveCount), then moved to the DLQ.
    let deadline = Instant::now() + Duration::from_secs(60);
    let dead = loop {
        let got = receive(&sqs, &dlq, 10, 1, None).await;
        if !got.is_empty() {
            break got;
        }
        assert!(
            Instant::now() < deadline,
            "nothing reached the DLQ; handled {:?}; log:\n{}",
            handled_lines(dir.path()),
            handler.log()
        );
    };
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body(), Some("fail-4"));
    let handled = handled_lines(dir.path());
    for i in (0..10).filter(|i| *i != 4) {
        let seen: Vec<&String> = handled.iter().filter(|l| l.starts_with(&format!("ok-{i} "))).collect();
        assert_eq!(seen, [&format!("ok-{i} 1 aws:sqs")], "ok-{i} handled once: {handled:?}");
    }
    let failed: Vec<&String> = handled.iter().filter(|l| l.starts_with("fail-4 ")).collect();
    assert_eq!(
        failed,
        ["fail-4 1 aws:sqs", "fail-4 2 aws:sqs"],
        "the failure is retried once, then dead-lettered: {handled:?}"
    );
    assert_eq!(counts(&sqs, &queue).await, (0, 0, 0), "the queue is empty");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_handler_gets_a_kinesis_shard_in_order() {
    let launcher = lambda_node();
    let broker = Broker::start().await;
    let kinesis = kinesis_client(&broker.endpoint()).await;
    let lambda = lambda_client(&broker.endpoint()).await;
    let stream = unique_name("clicks");
    create_stream(&kinesis, &stream, 1).await;
    let name = unique_name("node-clicks");
    let runtime_api = create_function_in(&lambda, &name, Runtime::Nodejs20x, "index.handler", 3).await;
    let dir = code(
        r#"import { appendFileSync } from "node:fs";
export const handler = async (event) => {
  let lines = "";
  for (const record of event.Records) {
    const data = Buffer.from(record.kinesis.data, "base64").toString("utf8");
    lines += `${record.kinesis.sequenceNumber} ${data} ${record.eventID} ${record.kinesis.partitionKey}\n`;
  }
  appendFileSync(OUT, lines);
};
"#,
    );
    let handler = Handler::node(&launcher, dir.path(), "index.handler", &name, &runtime_api);
    let mut sequence_numbers = Vec::new();
    for i in 0..30 {
        let put = ok(
            kinesis
                .put_record()
                .stream_name(&stream)
                .partition_key(format!("user-{}", i % 4))
                .data(aws_sdk_kinesis::primitives::Blob::new(format!("click-{i}")))
                .send()
                .await,
            "PutRecord",
        );
        sequence_numbers.push(put.sequence_number().to_string());
    }
    ok(
        lambda
            .create_event_source_mapping()
            .function_name(&name)
            .event_source_arn(format!("arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{stream}"))
            .starting_position(EventSourcePosition::TrimHorizon)
            .batch_size(7)
            .send()
            .await,
        "CreateEventSourceMapping",
    );
    let got = wait_lines(dir.path(), "the shard's 30 records", &handler, |l| l.len() >= 30).await;
    let want: Vec<String> = sequence_numbers
        .iter()
        .enumerate()
        .map(|(i, seq)| format!("{seq} click-{i} shardId-000000000000:{seq} user-{}", i % 4))
        .collect();
    assert_eq!(got, want, "every record once, in the shard's order");
}
