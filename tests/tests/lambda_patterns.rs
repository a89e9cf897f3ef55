//! The patterns docs/lambda.md shows, run end to end with unchanged Python handlers on
//! `awslambdaric`: SNS -> SQS -> handler, Kinesis -> handler with a replay, and a choreographed
//! saga across two queues whose failures end in a dead-letter queue.

use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_lambda::types::EventSourcePosition;
use sluice_tests::kinesis::{create_stream, kinesis_client};
use sluice_tests::lambda::{create_function, handled_lines, lambda_client, lambda_python, Handler};
use sluice_tests::sqs::{counts, create_queue, create_queue_with_dlq, ok};
use sluice_tests::{unique_name, Broker};

const ACCOUNT: &str = "000000000000";

/// A code folder with `app.py` (the handler) and `settings.py` (where Sluice is, and where to
/// write what was handled).
fn code(app: &str, endpoint: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("handled.txt");
    std::fs::write(
        dir.path().join("settings.py"),
        format!("ENDPOINT = {endpoint:?}\nOUT = {:?}\n", out.display().to_string()),
    )
    .expect("settings.py");
    std::fs::write(dir.path().join("app.py"), app).expect("app.py");
    dir
}

async fn wait_lines(dir: &Path, n: usize, what: &str, log: impl Fn() -> String) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = handled_lines(dir);
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {} of {n}; log:\n{}",
            got.len(),
            log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_to_sqs_to_handler() {
    let python = lambda_python();
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let sns = sluice_tests::sns::sns_client(&broker.endpoint()).await;
    let lambda = lambda_client(&broker.endpoint()).await;
    let topic = ok(
        sns.create_topic().name(unique_name("orders")).send().await,
        "CreateTopic",
    );
    let topic_arn = topic.topic_arn().expect("arn").to_string();
    let queue_name = unique_name("billing");
    create_queue(&sqs, &queue_name, &[]).await;
    let queue_arn = format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{queue_name}");
    ok(
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(&queue_arn)
            .send()
            .await,
        "Subscribe",
    );
    let name = unique_name("billing");
    let runtime_api = create_function(&lambda, &name, "app.handler", 2).await;
    ok(
        lambda
            .create_event_source_mapping()
            .function_name(&name)
            .event_source_arn(&queue_arn)
            .send()
            .await,
        "CreateEventSourceMapping",
    );
    // The queue holds SNS's envelope; the handler reads the notification out of each body.
    let dir = code(
        "import json, settings\n\
         def handler(event, context):\n\
         \x20   with open(settings.OUT, 'a') as out:\n\
         \x20       for record in event['Records']:\n\
         \x20           note = json.loads(record['body'])\n\
         \x20           out.write(note['TopicArn'] + ' ' + note['Message'] + '\\n')\n",
        &broker.endpoint(),
    );
    let handler = Handler::python(&python, dir.path(), "app.handler", &name, &runtime_api);
    for i in 0..3 {
        ok(
            sns.publish()
                .topic_arn(&topic_arn)
                .message(format!("order-{i}"))
                .send()
                .await,
            "Publish",
        );
    }
    let got = wait_lines(dir.path(), 3, "notifications handled", || handler.log()).await;
    for i in 0..3 {
        assert!(got.contains(&format!("{topic_arn} order-{i}")), "{got:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinesis_to_handler_with_a_replay() {
    let python = lambda_python();
    let broker = Broker::start().await;
    let kinesis = kinesis_client(&broker.endpoint()).await;
    let lambda = lambda_client(&broker.endpoint()).await;
    let stream = unique_name("clicks");
    create_stream(&kinesis, &stream, 2).await;
    let stream_arn = format!("arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{stream}");
    let name = unique_name("clicks");
    let runtime_api = create_function(&lambda, &name, "app.handler", 2).await;
    let dir = code(
        "import base64, settings\n\
         def handler(event, context):\n\
         \x20   with open(settings.OUT, 'a') as out:\n\
         \x20       for record in event['Records']:\n\
         \x20           out.write(base64.b64decode(record['kinesis']['data']).decode() + '\\n')\n",
        &broker.endpoint(),
    );
    let handler = Handler::python(&python, dir.path(), "app.handler", &name, &runtime_api);
    let started = aws_sdk_lambda::primitives::DateTime::from_millis(sluice_tests::sqs::now_epoch_millis() - 1000);
    for i in 0..20 {
        ok(
            kinesis
                .put_record()
                .stream_name(&stream)
                .partition_key(format!("user-{}", i % 5))
                .data(aws_sdk_kinesis::primitives::Blob::new(format!("click-{i}")))
                .send()
                .await,
            "PutRecord",
        );
    }
    let mapping = ok(
        lambda
            .create_event_source_mapping()
            .function_name(&name)
            .event_source_arn(&stream_arn)
            .starting_position(EventSourcePosition::TrimHorizon)
            .send()
            .await,
        "CreateEventSourceMapping",
    );
    wait_lines(dir.path(), 20, "first pass", || handler.log()).await;
    // Replay: a new mapping from a timestamp reads the same records again.
    ok(
        lambda
            .delete_event_source_mapping()
            .uuid(mapping.uuid().expect("uuid"))
            .send()
            .await,
        "DeleteEventSourceMapping",
    );
    ok(
        lambda
            .create_event_source_mapping()
            .function_name(&name)
            .event_source_arn(&stream_arn)
            .starting_position(EventSourcePosition::AtTimestamp)
            .starting_position_timestamp(started)
            .send()
            .await,
        "CreateEventSourceMapping (replay)",
    );
    let got = wait_lines(dir.path(), 40, "replay", || handler.log()).await;
    for i in 0..20 {
        let n = got.iter().filter(|l| **l == format!("click-{i}")).count();
        assert_eq!(n, 2, "click-{i} once per pass: {got:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saga_across_two_queues_with_a_dead_letter_queue() {
    let python = lambda_python();
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let lambda = lambda_client(&broker.endpoint()).await;
    let orders_name = unique_name("orders");
    let (orders, dlq) = create_queue_with_dlq(&sqs, &orders_name, &unique_name("orders-dlq"), "2", 2).await;
    let payments_name = unique_name("payments");
    let payments = create_queue(&sqs, &payments_name, &[]).await;

    // Step 1 reserves stock and hands the order on to payments; an order it cannot reserve
    // fails, comes back, and ends in the dead-letter queue.
    let reserve = unique_name("reserve");
    let reserve_api = create_function(&lambda, &reserve, "app.handler", 2).await;
    let reserve_code = code(
        &format!(
            "import json, boto3, settings\n\
             sqs = boto3.client('sqs', endpoint_url=settings.ENDPOINT)\n\
             def handler(event, context):\n\
             \x20   for record in event['Records']:\n\
             \x20       order = json.loads(record['body'])\n\
             \x20       if order['qty'] > 10:\n\
             \x20           raise ValueError('out of stock for ' + order['id'])\n\
             \x20       sqs.send_message(QueueUrl={payments:?}, MessageBody=json.dumps(order))\n"
        ),
        &broker.endpoint(),
    );
    // Step 2 charges and records the order.
    let charge = unique_name("charge");
    let charge_api = create_function(&lambda, &charge, "app.handler", 2).await;
    let charge_code = code(
        "import json, settings\n\
         def handler(event, context):\n\
         \x20   with open(settings.OUT, 'a') as out:\n\
         \x20       for record in event['Records']:\n\
         \x20           out.write(json.loads(record['body'])['id'] + '\\n')\n",
        &broker.endpoint(),
    );
    for (function, queue) in [(&reserve, &orders_name), (&charge, &payments_name)] {
        ok(
            lambda
                .create_event_source_mapping()
                .function_name(function)
                .event_source_arn(format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{queue}"))
                // One order per batch, so a bad order fails only itself.
                .batch_size(1)
                .send()
                .await,
            "CreateEventSourceMapping",
        );
    }
    let reserve_handler = Handler::python(&python, reserve_code.path(), "app.handler", &reserve, &reserve_api);
    let charge_handler = Handler::python(&python, charge_code.path(), "app.handler", &charge, &charge_api);
    for (id, qty) in [("o-1", 1), ("o-2", 50), ("o-3", 2)] {
        let body = serde_json::json!({"id": id, "qty": qty}).to_string();
        ok(
            sqs.send_message().queue_url(&orders).message_body(body).send().await,
            "SendMessage",
        );
    }
    let got = wait_lines(charge_code.path(), 2, "orders charged", || {
        format!("{}\n{}", reserve_handler.log(), charge_handler.log())
    })
    .await;
    assert!(
        got.contains(&"o-1".to_string()) && got.contains(&"o-3".to_string()),
        "{got:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if counts(&sqs, &dlq).await.0 == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the failed order never reached the DLQ");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let dead = ok(sqs.receive_message().queue_url(&dlq).send().await, "ReceiveMessage");
    assert!(dead.messages()[0].body().unwrap_or_default().contains("o-2"));
    assert_eq!(counts(&sqs, &payments).await, (0, 0, 0), "payments drained");
    assert!(!handled_lines(charge_code.path()).contains(&"o-2".to_string()));
}
