//! Dead-letter queue redrive through the official `aws-sdk-sqs` client: StartMessageMoveTask to
//! the original source queues and to an explicit destination, rate limits, ListMessageMoveTasks
//! status and counts, CancelMessageMoveTask, a task resumed after a restart, and the errors for
//! bad requests.

use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName as Q;
use aws_sdk_sqs::Client;
use sluice_tests::sqs::{counts, create_queue, dead_letter, expect_code, ok, receive};
use sluice_tests::{Broker, ACCOUNT_ID};

fn arn(name: &str) -> String {
    format!("arn:aws:sqs:us-east-1:{ACCOUNT_ID}:{name}")
}

fn redrive(dlq: &str) -> String {
    serde_json::json!({ "deadLetterTargetArn": arn(dlq), "maxReceiveCount": 1 }).to_string()
}

async fn list(sqs: &Client, dlq: &str, max: i32) -> Vec<aws_sdk_sqs::types::ListMessageMoveTasksResultEntry> {
    ok(
        sqs.list_message_move_tasks()
            .source_arn(arn(dlq))
            .max_results(max)
            .send()
            .await,
        "ListMessageMoveTasks",
    )
    .results()
    .to_vec()
}

/// Polls until the newest task of `dlq` has `status`, or 30 s pass.
async fn wait_for_status(sqs: &Client, dlq: &str, status: &str) -> aws_sdk_sqs::types::ListMessageMoveTasksResultEntry {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let tasks = list(sqs, dlq, 1).await;
        if let Some(t) = tasks.first() {
            if t.status() == Some(status) || Instant::now() > deadline {
                return t.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redrive_returns_messages_to_their_original_source_queues() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let dlq = create_queue(&sqs, "dlq", &[]).await;
    let src_a = create_queue(&sqs, "src-a", &[(Q::RedrivePolicy, &redrive("dlq"))]).await;
    let src_b = create_queue(&sqs, "src-b", &[(Q::RedrivePolicy, &redrive("dlq"))]).await;
    dead_letter(&sqs, &src_a, &dlq, 3).await;
    dead_letter(&sqs, &src_b, &dlq, 2).await;

    let handle = ok(
        sqs.start_message_move_task().source_arn(arn("dlq")).send().await,
        "StartMessageMoveTask",
    )
    .task_handle()
    .expect("TaskHandle")
    .to_string();
    assert!(!handle.is_empty());
    let done = wait_for_status(&sqs, "dlq", "COMPLETED").await;
    assert_eq!(done.status(), Some("COMPLETED"), "{done:?}");
    assert_eq!(done.approximate_number_of_messages_moved(), 5);
    assert_eq!(done.approximate_number_of_messages_to_move(), Some(5));
    assert_eq!(done.source_arn(), Some(arn("dlq").as_str()));
    assert!(done.task_handle().is_none(), "only running tasks carry a handle");
    assert!(done.started_timestamp() > 1_600_000_000_000, "epoch milliseconds");

    assert_eq!(counts(&sqs, &dlq).await.0, 0);
    assert_eq!(counts(&sqs, &src_a).await.0, 3);
    assert_eq!(counts(&sqs, &src_b).await.0, 2);
    let back = receive(&sqs, &src_a, 10, 1, None).await;
    let mut bodies: Vec<&str> = back.iter().filter_map(|m| m.body()).collect();
    bodies.sort();
    assert_eq!(bodies, vec!["m0", "m1", "m2"]);
    // A completed task cannot be cancelled.
    expect_code(
        sqs.cancel_message_move_task().task_handle(handle).send().await,
        "ResourceNotFoundException",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_task_to_a_destination_can_be_cancelled() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let dlq = create_queue(&sqs, "dlq", &[]).await;
    let src = create_queue(&sqs, "src", &[(Q::RedrivePolicy, &redrive("dlq"))]).await;
    let dest = create_queue(&sqs, "elsewhere", &[]).await;
    dead_letter(&sqs, &src, &dlq, 6).await;

    let handle = ok(
        sqs.start_message_move_task()
            .source_arn(arn("dlq"))
            .destination_arn(arn("elsewhere"))
            .max_number_of_messages_per_second(1)
            .send()
            .await,
        "StartMessageMoveTask",
    )
    .task_handle()
    .expect("TaskHandle")
    .to_string();
    // Only one running task per source.
    expect_code(
        sqs.start_message_move_task().source_arn(arn("dlq")).send().await,
        "AWS.SimpleQueueService.UnsupportedOperation",
    );
    let running = list(&sqs, "dlq", 10).await;
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].status(), Some("RUNNING"));
    assert_eq!(running[0].task_handle(), Some(handle.as_str()));
    assert_eq!(running[0].destination_arn(), Some(arn("elsewhere").as_str()));
    assert_eq!(running[0].max_number_of_messages_per_second(), Some(1));

    // At one message per second, wait for the first moves, then cancel.
    let deadline = Instant::now() + Duration::from_secs(10);
    while counts(&sqs, &dest).await.0 < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cancelled = ok(
        sqs.cancel_message_move_task().task_handle(&handle).send().await,
        "CancelMessageMoveTask",
    );
    let moved = cancelled.approximate_number_of_messages_moved();
    assert!((2..6).contains(&moved), "moved {moved} before the cancel");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let listed = list(&sqs, "dlq", 1).await;
    assert_eq!(listed[0].status(), Some("CANCELLED"));
    let in_dest = counts(&sqs, &dest).await.0;
    let in_dlq = counts(&sqs, &dlq).await.0;
    assert_eq!(in_dest + in_dlq, 6, "nothing lost or duplicated");
    assert!(
        in_dest <= moved + 1,
        "the task stopped: {in_dest} moved vs {moved} at cancel"
    );
    assert_eq!(
        counts(&sqs, &src).await.0,
        0,
        "an explicit destination wins over the source"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_task_resumes_after_a_restart() {
    let mut broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let dlq = create_queue(&sqs, "dlq", &[]).await;
    let src = create_queue(&sqs, "src", &[(Q::RedrivePolicy, &redrive("dlq"))]).await;
    dead_letter(&sqs, &src, &dlq, 5).await;
    ok(
        sqs.start_message_move_task()
            .source_arn(arn("dlq"))
            .max_number_of_messages_per_second(1)
            .send()
            .await,
        "StartMessageMoveTask",
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while counts(&sqs, &src).await.0 < 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    broker.restart().await;
    let sqs = broker.sqs().await;
    let before = list(&sqs, "dlq", 1).await;
    assert_eq!(before[0].status(), Some("RUNNING"), "{before:?}");
    assert!(before[0].approximate_number_of_messages_moved() < 5);
    let done = wait_for_status(&sqs, "dlq", "COMPLETED").await;
    assert_eq!(done.status(), Some("COMPLETED"), "{done:?}");
    assert_eq!(done.approximate_number_of_messages_moved(), 5);
    assert_eq!(counts(&sqs, &src).await.0, 5);
    assert_eq!(counts(&sqs, &dlq).await.0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_move_task_requests_get_aws_errors() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    create_queue(&sqs, "plain", &[]).await;
    create_queue(&sqs, "dlq", &[]).await;
    create_queue(&sqs, "src", &[(Q::RedrivePolicy, &redrive("dlq"))]).await;
    expect_code(
        sqs.start_message_move_task().source_arn(arn("missing")).send().await,
        "ResourceNotFoundException",
    );
    expect_code(
        sqs.start_message_move_task().source_arn(arn("plain")).send().await,
        "InvalidParameterValue",
    );
    expect_code(
        sqs.start_message_move_task()
            .source_arn(arn("dlq"))
            .destination_arn(arn("missing"))
            .send()
            .await,
        "ResourceNotFoundException",
    );
    expect_code(
        sqs.start_message_move_task()
            .source_arn(arn("dlq"))
            .max_number_of_messages_per_second(501)
            .send()
            .await,
        "InvalidParameterValue",
    );
    expect_code(
        sqs.cancel_message_move_task().task_handle("bogus").send().await,
        "ResourceNotFoundException",
    );
    expect_code(
        sqs.list_message_move_tasks().source_arn(arn("missing")).send().await,
        "ResourceNotFoundException",
    );
    assert!(list(&sqs, "dlq", 10).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_tasks_over_the_query_protocol() {
    use sluice_tests::{raw, xml};
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let dlq = create_queue(&sqs, "dlq", &[]).await;
    let src = create_queue(&sqs, "src", &[(Q::RedrivePolicy, &redrive("dlq"))]).await;
    dead_letter(&sqs, &src, &dlq, 2).await;
    let dlq_arn = arn("dlq");
    let started = raw::query(
        &broker.endpoint(),
        "/",
        &[
            ("Action", "StartMessageMoveTask"),
            ("Version", "2012-11-05"),
            ("SourceArn", &dlq_arn),
        ],
    )
    .await;
    assert_eq!(started.status, 200, "{}", started.body);
    assert!(
        xml::value(&started.body, "TaskHandle").is_some_and(|h| !h.is_empty()),
        "{}",
        started.body
    );
    wait_for_status(&sqs, "dlq", "COMPLETED").await;
    let listed = raw::query(
        &broker.endpoint(),
        "/",
        &[
            ("Action", "ListMessageMoveTasks"),
            ("Version", "2012-11-05"),
            ("SourceArn", &dlq_arn),
            ("MaxResults", "10"),
        ],
    )
    .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(
        xml::value(&listed.body, "Status").as_deref(),
        Some("COMPLETED"),
        "{}",
        listed.body
    );
    assert_eq!(
        xml::value(&listed.body, "ApproximateNumberOfMessagesMoved").as_deref(),
        Some("2"),
        "{}",
        listed.body
    );
    assert_eq!(counts(&sqs, &src).await.0, 2);
}
