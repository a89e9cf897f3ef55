//! The Lambda control plane and Invoke through the unchanged `aws-sdk-lambda`, with real
//! handlers: Python's `awslambdaric` and the Rust `lambda_runtime` client, started against the
//! function's Runtime API (GetFunction's `Code.Location`).

use std::time::Duration;

use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, InvocationType, Runtime};
use sluice_tests::lambda::{create_function, lambda_client, lambda_python, Handler, ROLE};
use sluice_tests::{unique_name, Broker};

/// A zip holding nothing: Sluice keeps the package's digest, never runs it.
fn empty_zip() -> Blob {
    Blob::new(vec![
        0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ])
}

fn code<T, E: ProvideErrorMetadata, R>(result: Result<T, aws_sdk_lambda::error::SdkError<E, R>>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => sluice_tests::sqs::error_code(&e).unwrap_or_else(|| "none".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_are_created_read_updated_listed_and_deleted() {
    let broker = Broker::start().await;
    let client = lambda_client(&broker.endpoint()).await;
    let name = unique_name("fn");
    let created = client
        .create_function()
        .function_name(&name)
        .runtime(Runtime::Python312)
        .role(ROLE)
        .handler("app.handler")
        .environment(Environment::builder().variables("STAGE", "test").build())
        .code(FunctionCode::builder().zip_file(empty_zip()).build())
        .tags("team", "a")
        .send()
        .await
        .expect("CreateFunction");
    assert_eq!(created.function_name(), Some(name.as_str()));
    assert_eq!(created.timeout(), Some(3), "AWS's default timeout");
    assert_eq!(created.memory_size(), Some(128));
    assert_eq!(created.code_size(), 22);
    assert_eq!(
        created.function_arn(),
        Some(format!("arn:aws:lambda:us-east-1:000000000000:function:{name}").as_str())
    );
    let revision = created.revision_id().expect("RevisionId").to_string();

    // The same name again is a conflict; a missing one is not found.
    let again = client
        .create_function()
        .function_name(&name)
        .runtime(Runtime::Python312)
        .role(ROLE)
        .handler("app.handler")
        .code(FunctionCode::builder().zip_file(empty_zip()).build())
        .send()
        .await;
    assert_eq!(code(again), "ResourceConflictException");
    assert_eq!(
        code(client.get_function().function_name("missing-fn").send().await),
        "ResourceNotFoundException"
    );
    // Model constraints are ValidationException, with AWS's wording.
    let bad = client
        .create_function()
        .function_name(unique_name("fn"))
        .runtime(Runtime::Python312)
        .role(ROLE)
        .handler("app.handler")
        .timeout(901)
        .code(FunctionCode::builder().zip_file(empty_zip()).build())
        .send()
        .await;
    let err = bad.expect_err("a timeout over 900 s").into_service_error();
    assert_eq!(err.code(), Some("ValidationException"));
    assert!(
        err.message().unwrap_or_default().contains("less than or equal to 900"),
        "{err:?}"
    );

    // Read by name and by ARN.
    let by_arn = client
        .get_function()
        .function_name(created.function_arn().expect("arn"))
        .send()
        .await
        .expect("GetFunction by ARN");
    let config = by_arn.configuration().expect("Configuration");
    assert_eq!(
        config
            .environment()
            .and_then(|e| e.variables())
            .and_then(|v| v.get("STAGE")),
        Some(&"test".to_string())
    );
    assert_eq!(by_arn.tags().and_then(|t| t.get("team")), Some(&"a".to_string()));
    let location = by_arn.code().and_then(|c| c.location()).expect("location");
    assert!(location.starts_with("127.0.0.1:"), "{location}");

    // Updates check the revision id.
    let updated = client
        .update_function_configuration()
        .function_name(&name)
        .timeout(30)
        .revision_id(&revision)
        .send()
        .await
        .expect("UpdateFunctionConfiguration");
    assert_eq!(updated.timeout(), Some(30));
    let stale = client
        .update_function_configuration()
        .function_name(&name)
        .timeout(31)
        .revision_id(&revision)
        .send()
        .await;
    assert_eq!(code(stale), "PreconditionFailedException");

    // Lists page with MaxItems and Marker.
    for _ in 0..2 {
        create_function(&client, &unique_name("fn"), "app.handler", 3).await;
    }
    let mut names = Vec::new();
    let mut marker = None;
    loop {
        let page = client
            .list_functions()
            .max_items(2)
            .set_marker(marker.clone())
            .send()
            .await
            .expect("ListFunctions");
        names.extend(
            page.functions()
                .iter()
                .filter_map(|f| f.function_name().map(str::to_string)),
        );
        marker = page.next_marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    assert_eq!(names.len(), 3, "{names:?}");

    client
        .delete_function()
        .function_name(&name)
        .send()
        .await
        .expect("DeleteFunction");
    assert_eq!(
        code(client.get_function().function_name(&name).send().await),
        "ResourceNotFoundException"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_runs_an_unchanged_awslambdaric_handler() {
    let python = lambda_python();
    let broker = Broker::start().await;
    let client = lambda_client(&broker.endpoint()).await;
    let code_dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        code_dir.path().join("app.py"),
        "import time\n\
         def handler(event, context):\n\
         \x20   if event.get('fail'):\n\
         \x20       raise ValueError('asked to fail')\n\
         \x20   if event.get('sleep'):\n\
         \x20       time.sleep(event['sleep'])\n\
         \x20   return {'echo': event, 'function': context.function_name, 'left_ms': context.get_remaining_time_in_millis()}\n",
    )
    .expect("write handler");
    let name = unique_name("py");
    let runtime_api = create_function(&client, &name, "app.handler", 2).await;
    let handler = Handler::python(&python, code_dir.path(), "app.handler", &name, &runtime_api);

    let out = client
        .invoke()
        .function_name(&name)
        .payload(Blob::new(r#"{"a": 1}"#))
        .send()
        .await
        .expect("Invoke");
    assert_eq!(out.status_code(), 200);
    assert_eq!(out.function_error(), None, "log: {}", handler.log());
    let body: serde_json::Value = serde_json::from_slice(out.payload().expect("payload").as_ref()).expect("JSON");
    assert_eq!(body["echo"]["a"], 1);
    assert_eq!(body["function"], name.as_str());
    let left = body["left_ms"].as_i64().expect("remaining time");
    assert!(
        left > 0 && left <= 2000,
        "the deadline is the function's 2 s timeout: {left}"
    );

    // A raised error is a 200 with X-Amz-Function-Error and the runtime's error document.
    let failed = client
        .invoke()
        .function_name(&name)
        .payload(Blob::new(r#"{"fail": true}"#))
        .send()
        .await
        .expect("Invoke");
    assert_eq!(failed.function_error(), Some("Unhandled"));
    let err: serde_json::Value = serde_json::from_slice(failed.payload().expect("payload").as_ref()).expect("JSON");
    assert_eq!(err["errorMessage"], "asked to fail");
    assert_eq!(err["errorType"], "ValueError");

    // A handler slower than the timeout: AWS's timeout document.
    let slow = client
        .invoke()
        .function_name(&name)
        .payload(Blob::new(r#"{"sleep": 4}"#))
        .send()
        .await
        .expect("Invoke");
    assert_eq!(slow.function_error(), Some("Unhandled"));
    let err: serde_json::Value = serde_json::from_slice(slow.payload().expect("payload").as_ref()).expect("JSON");
    assert_eq!(err["errorMessage"], "Task timed out after 2.00 seconds");

    // Event answers at once; DryRun checks only.
    let event = client
        .invoke()
        .function_name(&name)
        .invocation_type(InvocationType::Event)
        .payload(Blob::new("{}"))
        .send()
        .await
        .expect("Invoke Event");
    assert_eq!(event.status_code(), 202);
    let dry = client
        .invoke()
        .function_name(&name)
        .invocation_type(InvocationType::DryRun)
        .send()
        .await
        .expect("Invoke DryRun");
    assert_eq!(dry.status_code(), 204);
    // A payload that is not JSON is refused before any handler sees it.
    assert_eq!(
        code(
            client
                .invoke()
                .function_name(&name)
                .payload(Blob::new("not json"))
                .send()
                .await
        ),
        "InvalidRequestContentException"
    );
    drop(handler);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_without_a_handler_is_throttled_and_a_rust_handler_answers() {
    let broker = Broker::start().await;
    let client = lambda_client(&broker.endpoint()).await;
    let name = unique_name("rs");
    let runtime_api = create_function(&client, &name, "bootstrap", 3).await;

    // No handler: the SDK sees TooManyRequestsException once its retries are spent.
    let no_retry = aws_sdk_lambda::Client::from_conf(
        client
            .config()
            .to_builder()
            .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled())
            .build(),
    );
    let started = std::time::Instant::now();
    assert_eq!(
        code(
            no_retry
                .invoke()
                .function_name(&name)
                .payload(Blob::new("{}"))
                .send()
                .await
        ),
        "TooManyRequestsException"
    );
    assert!(started.elapsed() < Duration::from_secs(30));

    // The Rust runtime client parses Sluice's SQS event document with aws_lambda_events.
    let out_dir = tempfile::tempdir().expect("temp dir");
    let out_file = out_dir.path().join("handled.jsonl");
    let handler = Handler::rust(
        &name,
        &runtime_api,
        [
            ("TEST_HANDLER_EVENT", "sqs".to_string()),
            ("TEST_HANDLER_OUT", out_file.display().to_string()),
        ],
    );
    let event = serde_json::json!({"Records": [{
        "messageId": "m-1", "receiptHandle": "rh", "body": "hello",
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183",
                       "SenderId": "AIDA", "ApproximateFirstReceiveTimestamp": "1545082649185"},
        "messageAttributes": {}, "md5OfBody": "5d41402abc4b2a76b9719d911017c592",
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:q", "awsRegion": "us-east-1"
    }]});
    let out = client
        .invoke()
        .function_name(&name)
        .payload(Blob::new(event.to_string()))
        .send()
        .await
        .expect("Invoke");
    assert_eq!(out.function_error(), None, "log: {}", handler.log());
    let handled = std::fs::read_to_string(&out_file).expect("out file");
    assert!(handled.contains("\"m-1\""), "{handled}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_invocations_are_stored_and_survive_a_kill_9() {
    let python = lambda_python();
    let mut broker = Broker::start().await;
    let client = lambda_client(&broker.endpoint()).await;
    let name = unique_name("ev");
    let runtime_api = create_function(&client, &name, "app.handler", 3).await;
    // Accepted with no handler running: the event is stored, not held by a connection.
    for n in 0..3 {
        let out = client
            .invoke()
            .function_name(&name)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(format!(r#"{{"n": {n}}}"#)))
            .send()
            .await
            .expect("Invoke Event");
        assert_eq!(out.status_code(), 202);
    }
    broker.kill9();
    broker.start_again().await;
    let code_dir = tempfile::tempdir().expect("temp dir");
    let out = code_dir.path().join("events.txt");
    std::fs::write(
        code_dir.path().join("app.py"),
        format!(
            "def handler(event, context):\n\
             \x20   with open({:?}, 'a') as f:\n\
             \x20       f.write(str(event['n']) + '\\n')\n",
            out.display().to_string()
        ),
    )
    .expect("write handler");
    let handler = Handler::python(&python, code_dir.path(), "app.handler", &name, &runtime_api);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut got: Vec<String> = std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        got.sort();
        got.dedup();
        if got == ["0", "1", "2"] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "events after the restart: {got:?}; log:\n{}",
            handler.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
