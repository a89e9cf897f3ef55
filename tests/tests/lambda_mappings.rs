//! Event-source mappings end to end: the broker polls SQS queues and Kinesis shards and feeds
//! real handler processes (the Rust `lambda_runtime` client parsing Sluice's documents with
//! `aws_lambda_events`, and AWS Lambda Powertools' batch processor on `awslambdaric`), with
//! partial batch failures, FIFO order per group, the queue's dead-letter queue, per-shard
//! order, and a kill -9 of the broker mid-batch that skips nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob as KBlob;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, FunctionResponseType, Runtime};
use aws_sdk_sqs::types::QueueAttributeName;
use sluice_tests::kinesis::{create_stream, kinesis_client};
use sluice_tests::lambda::{
    create_function, distinct_bodies, handled, lambda_client, lambda_python, wait_for_handled, Handler, Supervisor,
    ROLE,
};
use sluice_tests::sqs::{counts, create_queue, create_queue_with_dlq, ok};
use sluice_tests::{unique_name, Broker};

const ACCOUNT: &str = "000000000000";

fn out_file(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("handled.jsonl")
}

fn env(kind: &str, out: &Path) -> [(&'static str, String); 2] {
    [
        ("TEST_HANDLER_EVENT", kind.to_string()),
        ("TEST_HANDLER_OUT", out.display().to_string()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_batches_reach_the_handler_and_failures_go_to_the_dead_letter_queue() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let lambda = lambda_client(&broker.endpoint()).await;
    let name = unique_name("work");
    let (queue, dlq) = create_queue_with_dlq(&sqs, &name, &unique_name("dlq"), "2", 2).await;
    // A function that may run longer than the queue hides a message is refused, as on AWS.
    let slow = unique_name("slow");
    create_function(&lambda, &slow, "bootstrap", 10).await;
    let refused = lambda
        .create_event_source_mapping()
        .function_name(&slow)
        .event_source_arn(format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"))
        .send()
        .await
        .expect_err("visibility timeout below the function's timeout");
    let refused = refused.into_service_error();
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::code(&refused),
        Some("InvalidParameterValueException")
    );
    let fname = unique_name("fn");
    let runtime_api = create_function(&lambda, &fname, "bootstrap", 2).await;
    let mapping = ok(
        lambda
            .create_event_source_mapping()
            .function_name(&fname)
            .event_source_arn(format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"))
            .batch_size(10)
            .function_response_types(FunctionResponseType::ReportBatchItemFailures)
            .send()
            .await,
        "CreateEventSourceMapping",
    );
    assert_eq!(mapping.state(), Some("Creating"));
    assert_eq!(mapping.batch_size(), Some(10));

    let dir = tempfile::tempdir().expect("temp dir");
    let out = out_file(&dir);
    let handler = Handler::rust(&fname, &runtime_api, env("sqs", &out));
    let mut expected = HashSet::new();
    for i in 0..60 {
        let body = format!("m-{i}");
        ok(
            sqs.send_message().queue_url(&queue).message_body(&body).send().await,
            "SendMessage",
        );
        expected.insert(body);
    }
    for i in 0..2 {
        ok(
            sqs.send_message()
                .queue_url(&queue)
                .message_body(format!("FAIL-ITEM-{i}"))
                .send()
                .await,
            "SendMessage",
        );
    }
    wait_for_handled(
        &out,
        Duration::from_secs(60),
        "every good message handled",
        || handler.log(),
        |r| distinct_bodies(r).is_superset(&expected),
    )
    .await;
    // The two reported failures are received twice (maxReceiveCount) and moved to the DLQ.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (visible, _, _) = counts(&sqs, &dlq).await;
        if visible == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "failed items in the DLQ: {visible}; log:\n{}",
            handler.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (visible, in_flight, _) = counts(&sqs, &queue).await;
    assert_eq!((visible, in_flight), (0, 0), "the source queue is drained");
    let records = handled(&out);
    assert!(
        records.iter().all(|r| !r.body.contains("FAIL-ITEM")),
        "failed items are not reported handled"
    );

    let got = ok(
        lambda
            .get_event_source_mapping()
            .uuid(mapping.uuid().expect("uuid"))
            .send()
            .await,
        "GetEventSourceMapping",
    );
    assert_eq!(got.state(), Some("Enabled"));
    // Disabling stops the poller: once the mapping says Disabled, a message stays in the queue.
    let disabling = ok(
        lambda
            .update_event_source_mapping()
            .uuid(mapping.uuid().expect("uuid"))
            .enabled(false)
            .send()
            .await,
        "UpdateEventSourceMapping",
    );
    assert_eq!(disabling.state(), Some("Disabling"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = ok(
            lambda
                .get_event_source_mapping()
                .uuid(mapping.uuid().expect("uuid"))
                .send()
                .await,
            "GetEventSourceMapping",
        );
        if got.state() == Some("Disabled") {
            break;
        }
        assert!(Instant::now() < deadline, "still {:?}", got.state());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ok(
        sqs.send_message()
            .queue_url(&queue)
            .message_body("after-disable")
            .send()
            .await,
        "SendMessage",
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(counts(&sqs, &queue).await.0, 1, "a disabled mapping takes nothing");
    assert!(!distinct_bodies(&handled(&out)).contains("after-disable"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_groups_stay_in_order_through_failures() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let lambda = lambda_client(&broker.endpoint()).await;
    let dlq_name = format!("{}.fifo", unique_name("dlq"));
    create_queue(&sqs, &dlq_name, &[(QueueAttributeName::FifoQueue, "true")]).await;
    let redrive =
        format!(r#"{{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:{ACCOUNT}:{dlq_name}","maxReceiveCount":"2"}}"#);
    let name = format!("{}.fifo", unique_name("orders"));
    let queue = create_queue(
        &sqs,
        &name,
        &[
            (QueueAttributeName::FifoQueue, "true"),
            (QueueAttributeName::ContentBasedDeduplication, "true"),
            (QueueAttributeName::VisibilityTimeout, "2"),
            (QueueAttributeName::RedrivePolicy, &redrive),
        ],
    )
    .await;
    let fname = unique_name("fn");
    let runtime_api = create_function(&lambda, &fname, "bootstrap", 2).await;
    ok(
        lambda
            .create_event_source_mapping()
            .function_name(&fname)
            .event_source_arn(format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"))
            .batch_size(5)
            .function_response_types(FunctionResponseType::ReportBatchItemFailures)
            .send()
            .await,
        "CreateEventSourceMapping",
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let out = out_file(&dir);
    let handlers: Vec<Handler> = (0..2)
        .map(|_| Handler::rust(&fname, &runtime_api, env("sqs", &out)))
        .collect();
    let mut expected = HashSet::new();
    for i in 0..40 {
        let group = format!("g{}", i % 4);
        // One poisoned message in g1: the rest of g1 must wait for it, then go on in order.
        let body = if i == 5 {
            format!("FAIL-ITEM-{i:03}")
        } else {
            format!("{group}-{i:03}")
        };
        if i != 5 {
            expected.insert(body.clone());
        }
        ok(
            sqs.send_message()
                .queue_url(&queue)
                .message_body(&body)
                .message_group_id(&group)
                .send()
                .await,
            "SendMessage",
        );
    }
    wait_for_handled(
        &out,
        Duration::from_secs(90),
        "every FIFO message handled",
        || handlers.iter().map(Handler::log).collect::<Vec<_>>().join("\n"),
        |r| distinct_bodies(r).is_superset(&expected),
    )
    .await;
    // Per group, first deliveries come in send order.
    let mut seen: HashMap<String, Vec<String>> = HashMap::new();
    let mut first = HashSet::new();
    for r in handled(&out) {
        if first.insert(r.body.clone()) {
            seen.entry(r.group.clone().expect("FIFO records carry MessageGroupId"))
                .or_default()
                .push(r.body);
        }
    }
    for (group, bodies) in &seen {
        let mut sorted = bodies.clone();
        sorted.sort();
        assert_eq!(&sorted, bodies, "group {group} out of order");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn powertools_batch_processor_reports_item_failures() {
    let python = lambda_python();
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let lambda = lambda_client(&broker.endpoint()).await;
    let name = unique_name("pt");
    let queue = create_queue(&sqs, &name, &[(QueueAttributeName::VisibilityTimeout, "30")]).await;
    let code_dir = tempfile::tempdir().expect("temp dir");
    let out = code_dir.path().join("handled.txt");
    std::fs::write(
        code_dir.path().join("app.py"),
        format!(
            "from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response\n\
             processor = BatchProcessor(event_type=EventType.SQS)\n\
             def record_handler(record):\n\
             \x20   if 'FAIL' in record.body:\n\
             \x20       raise ValueError('bad record')\n\
             \x20   with open({out:?}, 'a') as f:\n\
             \x20       f.write(record.message_id + ' ' + record.body + '\\n')\n\
             def handler(event, context):\n\
             \x20   return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)\n",
            out = out.display().to_string()
        ),
    )
    .expect("write handler");
    let fname = unique_name("fn");
    let runtime_api = create_function(&lambda, &fname, "app.handler", 10).await;
    ok(
        lambda
            .create_event_source_mapping()
            .function_name(&fname)
            .event_source_arn(format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"))
            .batch_size(10)
            .function_response_types(FunctionResponseType::ReportBatchItemFailures)
            .send()
            .await,
        "CreateEventSourceMapping",
    );
    let handler = Handler::python(&python, code_dir.path(), "app.handler", &fname, &runtime_api);
    let entries: Vec<_> = (0..10)
        .map(|i| {
            aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id(format!("e{i}"))
                .message_body(if i == 3 { "FAIL".to_string() } else { format!("ok-{i}") })
                .build()
                .expect("entry")
        })
        .collect();
    ok(
        sqs.send_message_batch()
            .queue_url(&queue)
            .set_entries(Some(entries))
            .send()
            .await,
        "SendMessageBatch",
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        if text.lines().count() >= 9 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "powertools handled {} of 9; log:\n{}",
            text.lines().count(),
            handler.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The failed record is the only one left, in flight until its visibility timeout.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (visible, in_flight, _) = counts(&sqs, &queue).await;
        if (visible, in_flight) == (0, 1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "queue after the batch: {visible} visible, {in_flight} in flight"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinesis_shards_in_order_and_a_kill_9_mid_batch_skips_nothing() {
    let started_ms = sluice_tests::sqs::now_epoch_millis();
    let mut broker = Broker::start().await;
    let kinesis = kinesis_client(&broker.endpoint()).await;
    let lambda = lambda_client(&broker.endpoint()).await;
    let stream = unique_name("events");
    create_stream(&kinesis, &stream, 2).await;
    let fname = unique_name("fn");
    let runtime_api = create_function(&lambda, &fname, "bootstrap", 10).await;
    let mapping = ok(
        lambda
            .create_event_source_mapping()
            .function_name(&fname)
            .event_source_arn(format!("arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{stream}"))
            .starting_position(aws_sdk_lambda::types::EventSourcePosition::TrimHorizon)
            .batch_size(20)
            .send()
            .await,
        "CreateEventSourceMapping",
    );
    assert_eq!(mapping.starting_position().map(|p| p.as_str()), Some("TRIM_HORIZON"));
    let dir = tempfile::tempdir().expect("temp dir");
    let out = out_file(&dir);
    let log_path = dir.path().join("handlers.log");
    let supervisor = Supervisor::start(&fname, &runtime_api, "kinesis", &out, &log_path);
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();

    let put = |from: usize, to: usize, slow: Option<usize>| {
        let kinesis = kinesis.clone();
        let stream = stream.clone();
        async move {
            let mut sequence_of = BTreeMap::new();
            for i in from..to {
                let body = match slow {
                    Some(s) if s == i => format!("r-{i:04} SLEEP-3"),
                    _ => format!("r-{i:04}"),
                };
                let out = ok(
                    kinesis
                        .put_record()
                        .stream_name(&stream)
                        .partition_key(format!("k{}", i % 7))
                        .data(KBlob::new(body.clone()))
                        .send()
                        .await,
                    "PutRecord",
                );
                sequence_of.insert(body, out.sequence_number().to_string());
            }
            sequence_of
        }
    };
    let mut sequences = put(0, 150, None).await;
    wait_for_handled(&out, Duration::from_secs(60), "150 records handled", log, |r| {
        distinct_bodies(r).len() >= 150
    })
    .await;

    // A batch held in the handler (SLEEP-3) when the broker dies: its records are delivered
    // again after the restart, and none after them is skipped.
    sequences.extend(put(150, 200, Some(160)).await);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !log().contains("sleeping 3 s") {
        assert!(
            Instant::now() < deadline,
            "the slow batch never reached a handler; log:\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    broker.kill9();
    broker.start_again().await;
    sequences.extend(put(200, 260, None).await);
    let expected: HashSet<String> = sequences.keys().cloned().collect();
    wait_for_handled(
        &out,
        Duration::from_secs(90),
        "every record handled after the kill -9",
        log,
        |r| distinct_bodies(r).is_superset(&expected),
    )
    .await;

    // The handler's library read each arrival time right (seconds with three decimals).
    let now_ms = sluice_tests::sqs::now_epoch_millis();
    for r in handled(&out) {
        let arrival = r.arrival_ms.expect("Kinesis records carry approximateArrivalTimestamp");
        assert!(
            arrival >= started_ms - 1000 && arrival <= now_ms + 1000,
            "arrival {arrival} outside the test's run ({started_ms}..{now_ms})"
        );
    }

    // The batch in flight at the kill was not checkpointed: it came again.
    let slow = handled(&out).iter().filter(|r| r.body.starts_with("r-0160")).count();
    assert!(
        slow >= 2,
        "the batch cut off by the kill is delivered again ({slow} times)"
    );

    // Per shard, first deliveries come in sequence order.
    // Sequence numbers are 56-digit decimals: as strings of one length they sort numerically.
    let mut per_shard: HashMap<String, Vec<String>> = HashMap::new();
    let mut first = HashSet::new();
    for r in handled(&out) {
        if first.insert(r.id.clone()) {
            assert_eq!(r.id.len(), 56, "an AWS-length sequence number: {}", r.id);
            let seq = r.id.clone();
            per_shard
                .entry(r.shard.clone().expect("eventID names the shard"))
                .or_default()
                .push(seq);
        }
    }
    assert_eq!(per_shard.len(), 2, "both shards were read");
    for (shard, seqs) in &per_shard {
        let mut sorted = seqs.clone();
        sorted.sort();
        assert_eq!(&sorted, seqs, "shard {shard} out of order");
    }
    drop(supervisor);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_invokes_a_subscribed_function_with_awss_sns_event() {
    let broker = Broker::start().await;
    let sns = sluice_tests::sns::sns_client(&broker.endpoint()).await;
    let lambda = lambda_client(&broker.endpoint()).await;
    let topic = ok(sns.create_topic().name(unique_name("news")).send().await, "CreateTopic");
    let topic_arn = topic.topic_arn().expect("arn").to_string();
    let fname = unique_name("fn");
    let runtime_api = create_function(&lambda, &fname, "bootstrap", 10).await;
    let function_arn = format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{fname}");
    let sub = ok(
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("lambda")
            .endpoint(&function_arn)
            .return_subscription_arn(true)
            .send()
            .await,
        "Subscribe",
    );
    let sub_arn = sub.subscription_arn().expect("arn").to_string();
    assert!(sub_arn.starts_with(&topic_arn), "confirmed at once: {sub_arn}");
    // A function subscription takes no raw delivery, as on AWS.
    let raw = sns
        .set_subscription_attributes()
        .subscription_arn(&sub_arn)
        .attribute_name("RawMessageDelivery")
        .attribute_value("true")
        .send()
        .await;
    assert_eq!(
        sluice_tests::sqs::error_code(&raw.expect_err("raw delivery refused")).as_deref(),
        Some("InvalidParameter")
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let out = out_file(&dir);
    let handler = Handler::rust(&fname, &runtime_api, env("sns", &out));
    let mut expected = HashSet::new();
    for i in 0..5 {
        let body = format!("news-{i}");
        ok(
            sns.publish()
                .topic_arn(&topic_arn)
                .message(&body)
                .subject("headline")
                .message_attributes(
                    "kind",
                    aws_sdk_sns::types::MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value("update")
                        .build()
                        .expect("attribute"),
                )
                .send()
                .await,
            "Publish",
        );
        expected.insert(body);
    }
    // The Rust runtime client's SnsEvent is strict (Signature, SigningCertUrl, RFC 3339
    // Timestamp are required): every message parsed and reached the handler.
    wait_for_handled(
        &out,
        Duration::from_secs(30),
        "every publish handled",
        || handler.log(),
        |r| distinct_bodies(r).is_superset(&expected),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallelization_factor_keeps_each_partition_key_in_order() {
    let broker = Broker::start().await;
    let kinesis = kinesis_client(&broker.endpoint()).await;
    let lambda = lambda_client(&broker.endpoint()).await;
    let stream = unique_name("par");
    create_stream(&kinesis, &stream, 1).await;
    let fname = unique_name("fn");
    let runtime_api = create_function(&lambda, &fname, "bootstrap", 10).await;
    let mapping = ok(
        lambda
            .create_event_source_mapping()
            .function_name(&fname)
            .event_source_arn(format!("arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{stream}"))
            .starting_position(aws_sdk_lambda::types::EventSourcePosition::TrimHorizon)
            .batch_size(5)
            .parallelization_factor(4)
            .send()
            .await,
        "CreateEventSourceMapping",
    );
    assert_eq!(mapping.parallelization_factor(), Some(4));
    // Records put before the handlers start, so the first read holds every lane's work.
    let mut expected = HashSet::new();
    for i in 0..120 {
        let key = format!("k{}", i % 12);
        let body = format!("{key}-{i:04}");
        ok(
            kinesis
                .put_record()
                .stream_name(&stream)
                .partition_key(&key)
                .data(KBlob::new(body.clone()))
                .send()
                .await,
            "PutRecord",
        );
        expected.insert(body);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let out = out_file(&dir);
    let handlers: Vec<Handler> = (0..4)
        .map(|_| Handler::rust(&fname, &runtime_api, env("kinesis", &out)))
        .collect();
    wait_for_handled(
        &out,
        Duration::from_secs(60),
        "every record handled",
        || handlers.iter().map(Handler::log).collect::<Vec<_>>().join("\n"),
        |r| distinct_bodies(r).is_superset(&expected),
    )
    .await;
    let records = handled(&out);
    let mut per_key: HashMap<String, Vec<String>> = HashMap::new();
    let mut first = HashSet::new();
    for r in &records {
        if first.insert(r.body.clone()) {
            let key = r.body.split('-').next().unwrap_or_default().to_string();
            per_key.entry(key).or_default().push(r.body.clone());
        }
    }
    for (key, bodies) in &per_key {
        let mut sorted = bodies.clone();
        sorted.sort();
        assert_eq!(&sorted, bodies, "key {key} out of order");
    }
    let pids: HashSet<u64> = records.iter().filter_map(|r| r.pid).collect();
    assert!(pids.len() >= 2, "lanes ran on several handlers at once: {pids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_target_gets_the_event_and_its_failures_come_back() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let lambda = lambda_client(&broker.endpoint()).await;
    // The first answer is a 500: that batch fails and comes back after the visibility timeout.
    let receiver = sluice_tests::sns::Receiver::start(1).await;
    let name = unique_name("web");
    let queue = create_queue(&sqs, &name, &[(QueueAttributeName::VisibilityTimeout, "3")]).await;
    let fname = unique_name("fn");
    ok(
        lambda
            .create_function()
            .function_name(&fname)
            .runtime(Runtime::Python312)
            .role(ROLE)
            .handler("web")
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(vec![0x50, 0x4b, 5, 6]))
                    .build(),
            )
            .tags("sluice:http-target", receiver.url("/invoke"))
            .send()
            .await,
        "CreateFunction",
    );
    ok(
        lambda
            .create_event_source_mapping()
            .function_name(&fname)
            .event_source_arn(format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"))
            .batch_size(10)
            .send()
            .await,
        "CreateEventSourceMapping",
    );
    for i in 0..5 {
        ok(
            sqs.send_message()
                .queue_url(&queue)
                .message_body(format!("w-{i}"))
                .send()
                .await,
            "SendMessage",
        );
    }
    let got = receiver
        .wait_for(Duration::from_secs(30), "the batch again after the 500", |d| {
            d.iter()
                .filter(|d| d.status == 200)
                .flat_map(bodies)
                .collect::<HashSet<_>>()
                .len()
                == 5
        })
        .await;
    let first = &got[0];
    assert_eq!(first.path, "/invoke");
    assert!(first.header("lambda-runtime-aws-request-id").is_some());
    assert_eq!(first.json()["Records"][0]["eventSource"], "aws:sqs");
    let deadline = Instant::now() + Duration::from_secs(10);
    while counts(&sqs, &queue).await != (0, 0, 0) {
        assert!(
            Instant::now() < deadline,
            "the queue drains once the target answers 200"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The message bodies of an SQS event a receiver got.
fn bodies(d: &sluice_tests::sns::Delivery) -> Vec<String> {
    d.json()["Records"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|m| m["body"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sqs_mapping_loses_nothing_to_a_kill_9_mid_batch() {
    let mut broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let lambda = lambda_client(&broker.endpoint()).await;
    let name = unique_name("jobs");
    let queue = create_queue(&sqs, &name, &[(QueueAttributeName::VisibilityTimeout, "5")]).await;
    let fname = unique_name("fn");
    let runtime_api = create_function(&lambda, &fname, "bootstrap", 5).await;
    ok(
        lambda
            .create_event_source_mapping()
            .function_name(&fname)
            .event_source_arn(format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"))
            .batch_size(10)
            .send()
            .await,
        "CreateEventSourceMapping",
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let out = out_file(&dir);
    let log_path = dir.path().join("handlers.log");
    let supervisor = Supervisor::start(&fname, &runtime_api, "sqs", &out, &log_path);
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut expected = HashSet::new();
    for i in 0..40 {
        // One slow message holds a batch in the handler when the broker dies.
        let body = if i == 20 {
            format!("j-{i:03} SLEEP-3")
        } else {
            format!("j-{i:03}")
        };
        ok(
            sqs.send_message().queue_url(&queue).message_body(&body).send().await,
            "SendMessage",
        );
        expected.insert(body);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while !log().contains("sleeping 3 s") {
        assert!(
            Instant::now() < deadline,
            "the slow batch never reached a handler; log:\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    broker.kill9();
    broker.start_again().await;
    for i in 40..60 {
        let body = format!("j-{i:03}");
        ok(
            sqs.send_message().queue_url(&queue).message_body(&body).send().await,
            "SendMessage",
        );
        expected.insert(body);
    }
    wait_for_handled(
        &out,
        Duration::from_secs(90),
        "every message handled after the kill -9",
        log,
        |r| distinct_bodies(r).is_superset(&expected),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while counts(&sqs, &queue).await != (0, 0, 0) {
        assert!(
            Instant::now() < deadline,
            "the queue drains: {:?}",
            counts(&sqs, &queue).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(supervisor);
}
