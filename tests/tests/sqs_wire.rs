//! AWS JSON 1.0 wire details for SQS with raw HTTP, the things SDKs depend on but don't let a
//! test see: `x-amzn-query-error` (botocore picks the exception class from it), `__type`,
//! `x-amzn-RequestId`, the response content type, and HTTP/2 with prior knowledge (h2c).

use http::Method;
use sluice_tests::raw::{self, JSON_CONTENT_TYPE};
use sluice_tests::{Broker, ACCOUNT_ID};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_errors_carry_query_error_header_and_type() {
    let broker = Broker::start().await;
    let ep = broker.endpoint();

    let resp = raw::json(&ep, "GetQueueUrl", r#"{"QueueName":"missing"}"#).await;
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(
        resp.header("x-amzn-query-error"),
        Some("AWS.SimpleQueueService.NonExistentQueue;Sender"),
        "headers: {:?}",
        resp.headers
    );
    let body = resp.json();
    let ty = body["__type"].as_str().expect("__type");
    assert!(
        ty == "com.amazonaws.sqs#QueueDoesNotExist" || ty == "QueueDoesNotExist",
        "__type {ty}"
    );
    assert!(!body["message"].as_str().unwrap_or("").is_empty(), "{body}");
    assert!(
        resp.header("x-amzn-requestid").map(|v| !v.is_empty()).unwrap_or(false),
        "{:?}",
        resp.headers
    );
    assert!(
        resp.header("content-type").unwrap_or("").starts_with(JSON_CONTENT_TYPE),
        "{:?}",
        resp.header("content-type")
    );

    // The legacy names from the query protocol, per error (docs/wire-notes.md).
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "CreateQueue",
            r#"{"QueueName":"bad name!"}"#,
            "InvalidParameterValue;Sender",
            "InvalidParameterValue",
        ),
        (
            "CreateQueue",
            r#"{"QueueName":"q","Attributes":{"VisibilityTimeout":"99999"}}"#,
            "InvalidAttributeValue;Sender",
            "InvalidAttributeValue",
        ),
        (
            "CreateQueue",
            r#"{"QueueName":"q2","Attributes":{"Nope":"1"}}"#,
            "InvalidAttributeName;Sender",
            "InvalidAttributeName",
        ),
    ];
    for (action, body, header, type_suffix) in cases {
        let resp = raw::json(&ep, action, body).await;
        assert_eq!(resp.status, 400, "{action} {body}: {}", resp.body);
        assert_eq!(
            resp.header("x-amzn-query-error"),
            Some(*header),
            "{action} {body}: {}",
            resp.body
        );
        let ty = resp.json()["__type"].as_str().unwrap_or("").to_string();
        assert!(
            ty.ends_with(type_suffix) || ty.ends_with(&format!("{type_suffix}Exception")),
            "__type {ty}"
        );
    }

    // QueueNameExists is QueueAlreadyExists in the legacy code.
    let ok = raw::json(
        &ep,
        "CreateQueue",
        r#"{"QueueName":"exists","Attributes":{"DelaySeconds":"1"}}"#,
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let resp = raw::json(
        &ep,
        "CreateQueue",
        r#"{"QueueName":"exists","Attributes":{"DelaySeconds":"2"}}"#,
    )
    .await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.header("x-amzn-query-error"), Some("QueueAlreadyExists;Sender"));
    assert!(
        resp.json()["__type"]
            .as_str()
            .unwrap_or("")
            .ends_with("QueueNameExists"),
        "{}",
        resp.body
    );

    // Batch errors keep the AWS.SimpleQueueService prefix.
    let url = ok.json()["QueueUrl"].as_str().unwrap().to_string();
    let resp = raw::json(
        &ep,
        "SendMessageBatch",
        &serde_json::json!({"QueueUrl": url, "Entries": []}).to_string(),
    )
    .await;
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.header("x-amzn-query-error"),
        Some("AWS.SimpleQueueService.EmptyBatchRequest;Sender")
    );
    assert!(
        resp.json()["__type"]
            .as_str()
            .unwrap_or("")
            .ends_with("EmptyBatchRequest"),
        "{}",
        resp.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_success_shapes_and_request_id() {
    let broker = Broker::start().await;
    let ep = broker.endpoint();
    let resp = raw::json(&ep, "CreateQueue", r#"{"QueueName":"shapes"}"#).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(resp.header("x-amzn-requestid").map(|v| !v.is_empty()).unwrap_or(false));
    assert!(resp.header("content-type").unwrap_or("").starts_with(JSON_CONTENT_TYPE));
    let url = resp.json()["QueueUrl"].as_str().expect("QueueUrl").to_string();
    assert_eq!(url, format!("{ep}/{ACCOUNT_ID}/shapes"));

    // The queue URL echoes the Host header, so clients behind proxies get a reachable URL.
    let req = raw::build(
        Method::POST,
        &format!("{ep}/"),
        &[
            ("host", "sqs.example.test:9324"),
            ("content-type", JSON_CONTENT_TYPE),
            ("x-amz-target", "AmazonSQS.GetQueueUrl"),
        ],
        br#"{"QueueName":"shapes"}"#.to_vec(),
        true,
    );
    let resp = raw::send(req).await.expect("GetQueueUrl with a custom Host");
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(
        resp.json()["QueueUrl"].as_str(),
        Some(format!("http://sqs.example.test:9324/{ACCOUNT_ID}/shapes").as_str())
    );

    let resp = raw::json(
        &ep,
        "SendMessage",
        &serde_json::json!({"QueueUrl": url, "MessageBody": "hi"}).to_string(),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let v = resp.json();
    assert_eq!(v["MD5OfMessageBody"], sluice_tests::md5::md5_hex("hi"));
    assert!(
        v.get("MD5OfMessageAttributes").is_none(),
        "omit attribute MD5 when none were sent: {v}"
    );

    // Binary attributes travel base64 in JSON.
    let resp = raw::json(
        &ep,
        "SendMessage",
        &serde_json::json!({
            "QueueUrl": url,
            "MessageBody": "bin",
            "MessageAttributes": {"b": {"DataType": "Binary", "BinaryValue": "AAEC/w=="}}
        })
        .to_string(),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let want =
        sluice_tests::md5::md5_of_attributes(&[("b", "Binary", sluice_tests::md5::Value::Bytes(&[0, 1, 2, 255]))]);
    assert_eq!(resp.json()["MD5OfMessageAttributes"], want.as_str());

    let resp = raw::json(
        &ep,
        "ReceiveMessage",
        &serde_json::json!({"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1, "MessageAttributeNames": ["All"]}).to_string(),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let v = resp.json();
    let msgs = v["Messages"].as_array().expect("Messages");
    assert_eq!(msgs.len(), 2, "{v}");
    let bin = msgs.iter().find(|m| m["Body"] == "bin").expect("bin message");
    assert_eq!(bin["MessageAttributes"]["b"]["BinaryValue"], "AAEC/w==");
    assert_eq!(bin["MessageAttributes"]["b"]["DataType"], "Binary");

    // An empty receive is an object without messages.
    let resp = raw::json(&ep, "ReceiveMessage", &serde_json::json!({"QueueUrl": url}).to_string()).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let v = resp.json();
    assert!(v.is_object());
    assert!(
        v.get("Messages")
            .map(|m| m.as_array().map(|a| a.is_empty()).unwrap_or(false))
            .unwrap_or(true),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_prior_knowledge_requests_work() {
    let broker = Broker::start().await;
    let ep = broker.endpoint();
    let sqs = broker.sqs().await;
    let url = sluice_tests::sqs::create_queue(&sqs, "over-h2", &[]).await;

    let req = raw::json_request(
        &ep,
        "SendMessage",
        &serde_json::json!({"QueueUrl": url, "MessageBody": "h2"}).to_string(),
    );
    let resp = raw::send_h2c(req).await.expect("h2c SendMessage");
    assert_eq!(resp.version, http::Version::HTTP_2);
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.json()["MD5OfMessageBody"], sluice_tests::md5::md5_hex("h2"));
    assert!(resp.header("x-amzn-requestid").is_some());

    let req = raw::json_request(
        &ep,
        "ReceiveMessage",
        &serde_json::json!({"QueueUrl": url, "WaitTimeSeconds": 1}).to_string(),
    );
    let resp = raw::send_h2c(req).await.expect("h2c ReceiveMessage");
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.json()["Messages"][0]["Body"], "h2");

    // Errors over h2 carry the same header.
    let req = raw::json_request(&ep, "GetQueueUrl", r#"{"QueueName":"missing"}"#);
    let resp = raw::send_h2c(req).await.expect("h2c GetQueueUrl");
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.header("x-amzn-query-error"),
        Some("AWS.SimpleQueueService.NonExistentQueue;Sender")
    );

    // Health over h2 as well.
    let req = http::Request::get(format!("{ep}/health")).body(Vec::new()).unwrap();
    let resp = raw::send_h2c(req).await.expect("h2c /health");
    assert_eq!(resp.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_queue_urls_come_from_the_authority() {
    // HTTP/2 clients send `:authority` and no Host header (RFC 9113 8.3.1); the queue URL must
    // still name the host the client used, not a default.
    let broker = Broker::start().await;
    let ep = broker.endpoint();
    let req = raw::json_request(&ep, "CreateQueue", r#"{"QueueName":"over-h2"}"#);
    let resp = raw::send_h2c(req).await.expect("h2c CreateQueue");
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(
        resp.json()["QueueUrl"].as_str(),
        Some(format!("{ep}/{ACCOUNT_ID}/over-h2").as_str())
    );

    let req = raw::json_request(&ep, "ListQueues", "{}");
    let resp = raw::send_h2c(req).await.expect("h2c ListQueues");
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(
        resp.json()["QueueUrls"][0].as_str(),
        Some(format!("{ep}/{ACCOUNT_ID}/over-h2").as_str())
    );
}
