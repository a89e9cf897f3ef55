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

/// The statement AWS writes for `add-permission` with a service principal and a source ARN
/// (the "SNS -> Lambda" tutorial's), and for an account principal with a source account.
fn expected_statements(function_arn: &str, topic_arn: &str) -> [serde_json::Value; 2] {
    [
        serde_json::json!({
            "Sid": "sns",
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": function_arn,
            "Condition": {"ArnLike": {"AWS:SourceArn": topic_arn}},
        }),
        serde_json::json!({
            "Sid": "xaccount",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "lambda:GetFunction",
            "Resource": function_arn,
            "Condition": {"StringEquals": {"AWS:SourceAccount": "123456789012"}},
        }),
    ]
}

fn json_text(text: Option<&str>) -> serde_json::Value {
    serde_json::from_str(text.expect("a JSON string member")).expect("JSON text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_build_awss_policy_survive_a_restart_and_go_with_the_function() {
    let mut broker = Broker::start().await;
    let client = lambda_client(&broker.endpoint()).await;
    let name = unique_name("perm");
    create_function(&client, &name, "app.handler", 3).await;
    let function_arn = format!("arn:aws:lambda:us-east-1:000000000000:function:{name}");
    let topic_arn = "arn:aws:sns:us-east-1:000000000000:orders";
    let [sns_statement, account_statement] = expected_statements(&function_arn, topic_arn);
    let created = client
        .get_function_configuration()
        .function_name(&name)
        .send()
        .await
        .expect("GetFunctionConfiguration");
    let created_revision = created.revision_id().expect("RevisionId").to_string();

    // No statement yet: no policy.
    let none = client.get_policy().function_name(&name).send().await;
    let err = none.expect_err("no policy yet").into_service_error();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    assert_eq!(err.message(), Some("The resource you requested does not exist."));

    // `aws lambda add-permission --statement-id sns --action lambda:InvokeFunction
    //  --principal sns.amazonaws.com --source-arn <topic>`, as the SNS tutorial runs it.
    let added = client
        .add_permission()
        .function_name(&name)
        .statement_id("sns")
        .action("lambda:InvokeFunction")
        .principal("sns.amazonaws.com")
        .source_arn(topic_arn)
        .revision_id(&created_revision)
        .send()
        .await
        .expect("AddPermission for SNS");
    assert_eq!(json_text(added.statement()), sns_statement);
    // Another account, by its id, limited to its own resources; addressed by ARN this time.
    let added = client
        .add_permission()
        .function_name(&function_arn)
        .statement_id("xaccount")
        .action("lambda:GetFunction")
        .principal("123456789012")
        .source_account("123456789012")
        .send()
        .await
        .expect("AddPermission for an account");
    assert_eq!(json_text(added.statement()), account_statement);

    let policy = client
        .get_policy()
        .function_name(&name)
        .send()
        .await
        .expect("GetPolicy");
    let expected_document = serde_json::json!({
        "Version": "2012-10-17",
        "Id": "default",
        "Statement": [sns_statement, account_statement],
    });
    assert_eq!(json_text(policy.policy()), expected_document);
    let revision = policy.revision_id().expect("RevisionId").to_string();
    assert_ne!(revision, created_revision, "each statement is a new revision");
    let config = client
        .get_function_configuration()
        .function_name(&name)
        .send()
        .await
        .expect("GetFunctionConfiguration");
    assert_eq!(
        config.revision_id(),
        Some(revision.as_str()),
        "the policy's revision is the function's"
    );

    // A statement id already in the policy.
    let duplicate = client
        .add_permission()
        .function_name(&name)
        .statement_id("sns")
        .action("lambda:InvokeFunction")
        .principal("events.amazonaws.com")
        .send()
        .await;
    let err = duplicate.expect_err("a duplicate statement id").into_service_error();
    assert_eq!(err.code(), Some("ResourceConflictException"));
    assert_eq!(
        err.message(),
        Some("The statement id (sns) provided already exists. Please provide a new statement id, or remove the existing statement.")
    );
    // Not a principal AWS knows, a malformed statement id, a version, `$LATEST`.
    let refused = [
        (
            "bad principal",
            "ok",
            "not-a-principal",
            None,
            "InvalidParameterValueException",
        ),
        ("bad sid", "a.b", "sns.amazonaws.com", None, "ValidationException"),
        (
            "a version",
            "ok",
            "sns.amazonaws.com",
            Some("1"),
            "ResourceNotFoundException",
        ),
        (
            "$LATEST",
            "ok",
            "sns.amazonaws.com",
            Some("$LATEST"),
            "InvalidParameterValueException",
        ),
    ];
    for (what, sid, principal, qualifier, expected) in refused {
        let out = client
            .add_permission()
            .function_name(&name)
            .statement_id(sid)
            .action("lambda:InvokeFunction")
            .principal(principal)
            .set_qualifier(qualifier.map(str::to_string))
            .send()
            .await;
        assert_eq!(code(out), expected, "{what}");
    }
    // Removing with a stale revision id, or a statement the policy does not have.
    let stale = client
        .remove_permission()
        .function_name(&name)
        .statement_id("sns")
        .revision_id(&created_revision)
        .send()
        .await;
    assert_eq!(code(stale), "PreconditionFailedException");
    let unknown = client
        .remove_permission()
        .function_name(&name)
        .statement_id("nope")
        .send()
        .await;
    let err = unknown.expect_err("an unknown statement").into_service_error();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    assert_eq!(err.message(), Some("Statement nope is not found in resource policy."));
    let missing_function = client
        .remove_permission()
        .function_name("missing-fn")
        .statement_id("sns")
        .send()
        .await;
    assert_eq!(code(missing_function), "ResourceNotFoundException");

    // The policy is in the function's durable record: a kill -9 loses none of it.
    broker.kill9();
    broker.start_again().await;
    let after = client
        .get_policy()
        .function_name(&name)
        .send()
        .await
        .expect("GetPolicy after a restart");
    assert_eq!(json_text(after.policy()), expected_document);
    assert_eq!(after.revision_id(), Some(revision.as_str()));

    // Removing both statements, the first with the current revision, removes the policy.
    client
        .remove_permission()
        .function_name(&name)
        .statement_id("sns")
        .revision_id(&revision)
        .send()
        .await
        .expect("RemovePermission sns");
    let left = client
        .get_policy()
        .function_name(&name)
        .send()
        .await
        .expect("GetPolicy with one statement");
    assert_eq!(
        json_text(left.policy())["Statement"],
        serde_json::json!([account_statement])
    );
    client
        .remove_permission()
        .function_name(&name)
        .statement_id("xaccount")
        .send()
        .await
        .expect("RemovePermission xaccount");
    assert_eq!(
        code(client.get_policy().function_name(&name).send().await),
        "ResourceNotFoundException"
    );

    // A policy goes with its function: the same name created again has none.
    client
        .add_permission()
        .function_name(&name)
        .statement_id("sns")
        .action("lambda:InvokeFunction")
        .principal("sns.amazonaws.com")
        .source_arn(topic_arn)
        .send()
        .await
        .expect("AddPermission again");
    client
        .delete_function()
        .function_name(&name)
        .send()
        .await
        .expect("DeleteFunction");
    assert_eq!(
        code(client.get_policy().function_name(&name).send().await),
        "ResourceNotFoundException"
    );
    create_function(&client, &name, "app.handler", 3).await;
    let fresh = client.get_policy().function_name(&name).send().await;
    let err = fresh.expect_err("a new function has no policy").into_service_error();
    assert_eq!(err.message(), Some("The resource you requested does not exist."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_over_20_kb_is_refused_with_policy_length_exceeded() {
    let broker = Broker::start().await;
    let client = lambda_client(&broker.endpoint()).await;
    let name = unique_name("big");
    create_function(&client, &name, "app.handler", 3).await;
    let long_topic = format!("arn:aws:sns:us-east-1:000000000000:{}", "t".repeat(250));
    let mut added = 0;
    let err = loop {
        let out = client
            .add_permission()
            .function_name(&name)
            .statement_id(format!("s{added}"))
            .action("lambda:InvokeFunction")
            .principal("sns.amazonaws.com")
            .source_arn(&long_topic)
            .send()
            .await;
        match out {
            Ok(_) => added += 1,
            Err(e) => break e.into_service_error(),
        }
        assert!(added < 200, "no limit reached after {added} statements");
    };
    assert_eq!(err.code(), Some("PolicyLengthExceededException"), "{err:?}");
    assert!(
        err.message()
            .unwrap_or_default()
            .ends_with("is bigger than the limit (20480)."),
        "{err:?}"
    );
    let policy = client
        .get_policy()
        .function_name(&name)
        .send()
        .await
        .expect("GetPolicy");
    let document = policy.policy().expect("Policy");
    assert!(document.len() <= 20 * 1024, "{}", document.len());
    assert_eq!(
        json_text(Some(document))["Statement"].as_array().map(Vec::len),
        Some(added),
        "the refused statement is not kept"
    );
}
