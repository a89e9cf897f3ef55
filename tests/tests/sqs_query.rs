//! The SQS query protocol (form-encoded `Action=...`, XML responses) with hand-built, SigV4-signed
//! requests, as older SDKs, kombu/celery and curl users send them: POSTs to `/` and to the queue
//! URL's path, kombu's ReceiveMessage with no Version and no QueueUrl, flattened lists
//! (`Attribute.1.Name`, `MessageAttribute.1.Value.StringValue`, batch entries), GET with a query
//! string, and `<ErrorResponse>` errors. XML bodies are checked element by element, and every
//! MD5 is recomputed here.

use sluice_tests::md5::{md5_hex, md5_of_attributes, Value};
use sluice_tests::raw::{self, RawResponse};
use sluice_tests::xml;
use sluice_tests::{Broker, ACCOUNT_ID};

const VERSION: &str = "2012-11-05";

fn assert_ok(resp: &RawResponse, root: &str) {
    assert_eq!(resp.status, 200, "{root}: {}", resp.body);
    assert!(
        resp.body.contains(&format!("<{root}")),
        "missing <{root}>: {}",
        resp.body
    );
    let ct = resp.header("content-type").unwrap_or("");
    assert!(
        ct.starts_with("text/xml") || ct.starts_with("application/xml"),
        "content-type {ct:?}"
    );
    let request_id = xml::value(&resp.body, "RequestId").unwrap_or_default();
    assert!(!request_id.is_empty(), "no RequestId: {}", resp.body);
}

fn assert_error(resp: &RawResponse, status: u16, code: &str) {
    assert_eq!(resp.status, status, "{}", resp.body);
    assert!(
        resp.body.contains("<ErrorResponse"),
        "not an ErrorResponse: {}",
        resp.body
    );
    let error = xml::blocks(&resp.body, "Error");
    assert_eq!(error.len(), 1, "{}", resp.body);
    assert_eq!(xml::value(error[0], "Code").as_deref(), Some(code), "{}", resp.body);
    assert_eq!(xml::value(error[0], "Type").as_deref(), Some("Sender"), "{}", resp.body);
    assert!(
        !xml::value(error[0], "Message").unwrap_or_default().is_empty(),
        "{}",
        resp.body
    );
    assert!(
        !xml::value(&resp.body, "RequestId").unwrap_or_default().is_empty(),
        "{}",
        resp.body
    );
}

async fn create(endpoint: &str, name: &str) -> String {
    let resp = raw::query(
        endpoint,
        "/",
        &[
            ("Action", "CreateQueue"),
            ("Version", VERSION),
            ("QueueName", name),
            ("Attribute.1.Name", "VisibilityTimeout"),
            ("Attribute.1.Value", "5"),
        ],
    )
    .await;
    assert_ok(&resp, "CreateQueueResponse");
    xml::value(&resp.body, "QueueUrl").expect("QueueUrl")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_create_send_receive_delete() {
    let broker = Broker::start().await;
    let ep = broker.endpoint();
    let queue_path = format!("/{ACCOUNT_ID}/kombu");
    let url = create(&ep, "kombu").await;
    assert_eq!(url, format!("{ep}{queue_path}"));

    // SendMessage to "/" with QueueUrl, with String and Binary attributes and a trace header.
    let body1 = "<hello & 'world'> \"quoted\" ünïcode";
    let trace = "Root=1-5759e988-bd862e3fe1be46a994272793";
    let resp = raw::query(
        &ep,
        "/",
        &[
            ("Action", "SendMessage"),
            ("Version", VERSION),
            ("QueueUrl", &url),
            ("MessageBody", body1),
            ("MessageAttribute.1.Name", "color"),
            ("MessageAttribute.1.Value.DataType", "String"),
            ("MessageAttribute.1.Value.StringValue", "red"),
            ("MessageAttribute.2.Name", "bin"),
            ("MessageAttribute.2.Value.DataType", "Binary"),
            ("MessageAttribute.2.Value.BinaryValue", "AAEC/w=="),
            ("MessageSystemAttribute.1.Name", "AWSTraceHeader"),
            ("MessageSystemAttribute.1.Value.DataType", "String"),
            ("MessageSystemAttribute.1.Value.StringValue", trace),
        ],
    )
    .await;
    assert_ok(&resp, "SendMessageResponse");
    assert_eq!(xml::value(&resp.body, "MD5OfMessageBody"), Some(md5_hex(body1)));
    let attrs_md5 = md5_of_attributes(&[
        ("color", "String", Value::Text("red")),
        ("bin", "Binary", Value::Bytes(&[0, 1, 2, 255])),
    ]);
    assert_eq!(
        xml::value(&resp.body, "MD5OfMessageAttributes"),
        Some(attrs_md5.clone())
    );
    let sys_md5 = md5_of_attributes(&[("AWSTraceHeader", "String", Value::Text(trace))]);
    assert_eq!(xml::value(&resp.body, "MD5OfMessageSystemAttributes"), Some(sys_md5));
    let id1 = xml::value(&resp.body, "MessageId").expect("MessageId");

    // SendMessage POSTed to the queue's path, no QueueUrl parameter (JS v3, Java v2 style).
    let body2 = "second";
    let resp = raw::query(
        &ep,
        &queue_path,
        &[("Action", "SendMessage"), ("Version", VERSION), ("MessageBody", body2)],
    )
    .await;
    assert_ok(&resp, "SendMessageResponse");
    assert_eq!(xml::value(&resp.body, "MD5OfMessageBody"), Some(md5_hex(body2)));
    assert!(
        xml::value(&resp.body, "MD5OfMessageAttributes").is_none(),
        "no attributes, no digest: {}",
        resp.body
    );
    let id2 = xml::value(&resp.body, "MessageId").expect("MessageId");

    // kombu's async ReceiveMessage: queue path, no Version, no QueueUrl.
    let resp = raw::query(
        &ep,
        &queue_path,
        &[
            ("Action", "ReceiveMessage"),
            ("MaxNumberOfMessages", "10"),
            ("WaitTimeSeconds", "1"),
            ("MessageSystemAttributeName.1", "ApproximateReceiveCount"),
            ("MessageAttributeName.1", "All"),
        ],
    )
    .await;
    assert_ok(&resp, "ReceiveMessageResponse");
    let messages = xml::blocks(&resp.body, "Message");
    assert_eq!(messages.len(), 2, "{}", resp.body);
    let mut handles = Vec::new();
    for m in &messages {
        let id = xml::value(m, "MessageId").expect("MessageId");
        let body = xml::value(m, "Body").expect("Body");
        let want = if id == id1 {
            body1
        } else {
            assert_eq!(id, id2);
            body2
        };
        assert_eq!(body, want, "Body is XML-escaped and round-trips");
        assert_eq!(xml::value(m, "MD5OfBody"), Some(md5_hex(want)));
        let handle = xml::value(m, "ReceiptHandle").expect("ReceiptHandle");
        assert!(!handle.is_empty());
        handles.push((id.clone(), handle));
        let sys = xml::name_value_pairs(m, "Attribute");
        assert_eq!(
            sys,
            vec![("ApproximateReceiveCount".to_string(), "1".to_string())],
            "only what was asked"
        );
        let user = xml::blocks(m, "MessageAttribute");
        if id == id1 {
            assert_eq!(user.len(), 2, "{m}");
            let color = user
                .iter()
                .find(|b| b.contains("<Name>color</Name>"))
                .expect("color attribute");
            assert_eq!(xml::value(color, "DataType").as_deref(), Some("String"));
            assert_eq!(xml::value(color, "StringValue").as_deref(), Some("red"));
            let bin = user
                .iter()
                .find(|b| b.contains("<Name>bin</Name>"))
                .expect("bin attribute");
            assert_eq!(xml::value(bin, "DataType").as_deref(), Some("Binary"));
            assert_eq!(xml::value(bin, "BinaryValue").as_deref(), Some("AAEC/w=="));
            assert_eq!(xml::value(m, "MD5OfMessageAttributes"), Some(attrs_md5.clone()));
        } else {
            assert!(user.is_empty(), "{m}");
        }
    }

    // DeleteMessage with a form-encoded receipt handle; ChangeMessageVisibility on the other.
    let (del_id, del_handle) = &handles[0];
    let resp = raw::query(
        &ep,
        &queue_path,
        &[
            ("Action", "DeleteMessage"),
            ("Version", VERSION),
            ("ReceiptHandle", del_handle),
        ],
    )
    .await;
    assert_ok(&resp, "DeleteMessageResponse");
    let (_, other_handle) = &handles[1];
    let resp = raw::query(
        &ep,
        "/",
        &[
            ("Action", "ChangeMessageVisibility"),
            ("Version", VERSION),
            ("QueueUrl", &url),
            ("ReceiptHandle", other_handle),
            ("VisibilityTimeout", "0"),
        ],
    )
    .await;
    assert_ok(&resp, "ChangeMessageVisibilityResponse");

    let resp = raw::query(
        &ep,
        &queue_path,
        &[
            ("Action", "ReceiveMessage"),
            ("MaxNumberOfMessages", "10"),
            ("WaitTimeSeconds", "1"),
            ("AttributeName.1", "All"),
        ],
    )
    .await;
    assert_ok(&resp, "ReceiveMessageResponse");
    let messages = xml::blocks(&resp.body, "Message");
    assert_eq!(messages.len(), 1, "{}", resp.body);
    assert_ne!(
        xml::value(messages[0], "MessageId").as_deref(),
        Some(del_id.as_str()),
        "deleted message came back"
    );
    let sys = xml::name_value_pairs(messages[0], "Attribute");
    let count = sys
        .iter()
        .find(|(n, _)| n == "ApproximateReceiveCount")
        .map(|(_, v)| v.as_str());
    assert_eq!(count, Some("2"), "{sys:?}");
    for name in ["SentTimestamp", "ApproximateFirstReceiveTimestamp", "SenderId"] {
        assert!(
            sys.iter().any(|(n, _)| n == name),
            "{name} missing with AttributeName.1=All: {sys:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_get_queue_attributes_and_get_with_query_string() {
    let broker = Broker::start().await;
    let ep = broker.endpoint();
    let url = create(&ep, "attrs").await;
    let queue_path = format!("/{ACCOUNT_ID}/attrs");

    let resp = raw::query(
        &ep,
        "/",
        &[
            ("Action", "GetQueueAttributes"),
            ("Version", VERSION),
            ("QueueUrl", &url),
            ("AttributeName.1", "All"),
        ],
    )
    .await;
    assert_ok(&resp, "GetQueueAttributesResponse");
    let attrs = xml::name_value_pairs(&resp.body, "Attribute");
    let get = |n: &str| attrs.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    assert_eq!(
        get("QueueArn"),
        Some(format!("arn:aws:sqs:us-east-1:{ACCOUNT_ID}:attrs"))
    );
    assert_eq!(get("VisibilityTimeout").as_deref(), Some("5"));
    assert_eq!(get("ApproximateNumberOfMessages").as_deref(), Some("0"));

    // Specific names, on the queue path.
    let resp = raw::query(
        &ep,
        &queue_path,
        &[
            ("Action", "GetQueueAttributes"),
            ("Version", VERSION),
            ("AttributeName.1", "VisibilityTimeout"),
            ("AttributeName.2", "DelaySeconds"),
        ],
    )
    .await;
    assert_ok(&resp, "GetQueueAttributesResponse");
    let mut attrs = xml::name_value_pairs(&resp.body, "Attribute");
    attrs.sort();
    assert_eq!(
        attrs,
        vec![
            ("DelaySeconds".to_string(), "0".to_string()),
            ("VisibilityTimeout".to_string(), "5".to_string())
        ]
    );

    // SetQueueAttributes with the flattened Attribute.N form.
    let resp = raw::query(
        &ep,
        &queue_path,
        &[
            ("Action", "SetQueueAttributes"),
            ("Version", VERSION),
            ("Attribute.1.Name", "DelaySeconds"),
            ("Attribute.1.Value", "3"),
        ],
    )
    .await;
    assert_ok(&resp, "SetQueueAttributesResponse");

    // GET with everything in the query string.
    let resp = raw::query_get(&ep, "/", &[("Action", "ListQueues"), ("Version", VERSION)]).await;
    assert_ok(&resp, "ListQueuesResponse");
    assert_eq!(xml::values(&resp.body, "QueueUrl"), vec![url.clone()]);
    let resp = raw::query_get(
        &ep,
        &queue_path,
        &[
            ("Action", "GetQueueAttributes"),
            ("Version", VERSION),
            ("AttributeName.1", "DelaySeconds"),
        ],
    )
    .await;
    assert_ok(&resp, "GetQueueAttributesResponse");
    assert_eq!(
        xml::name_value_pairs(&resp.body, "Attribute"),
        vec![("DelaySeconds".to_string(), "3".to_string())]
    );
    let resp = raw::query_get(
        &ep,
        "/",
        &[("Action", "GetQueueUrl"), ("Version", VERSION), ("QueueName", "attrs")],
    )
    .await;
    assert_ok(&resp, "GetQueueUrlResponse");
    assert_eq!(xml::value(&resp.body, "QueueUrl"), Some(url));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_batches_and_tags() {
    let broker = Broker::start().await;
    let ep = broker.endpoint();
    let url = create(&ep, "batches").await;

    let resp = raw::query(
        &ep,
        "/",
        &[
            ("Action", "SendMessageBatch"),
            ("Version", VERSION),
            ("QueueUrl", &url),
            ("SendMessageBatchRequestEntry.1.Id", "one"),
            ("SendMessageBatchRequestEntry.1.MessageBody", "body one"),
            ("SendMessageBatchRequestEntry.2.Id", "two"),
            ("SendMessageBatchRequestEntry.2.MessageBody", "body two"),
            ("SendMessageBatchRequestEntry.2.DelaySeconds", "0"),
            ("SendMessageBatchRequestEntry.2.MessageAttribute.1.Name", "k"),
            (
                "SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.DataType",
                "Number",
            ),
            (
                "SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.StringValue",
                "7",
            ),
            ("SendMessageBatchRequestEntry.3.Id", "bad"),
            ("SendMessageBatchRequestEntry.3.MessageBody", "nul \u{0}"),
        ],
    )
    .await;
    assert_ok(&resp, "SendMessageBatchResponse");
    let entries = xml::blocks(&resp.body, "SendMessageBatchResultEntry");
    assert_eq!(entries.len(), 2, "{}", resp.body);
    for e in &entries {
        let id = xml::value(e, "Id").unwrap();
        let body = if id == "one" { "body one" } else { "body two" };
        assert_eq!(xml::value(e, "MD5OfMessageBody"), Some(md5_hex(body)), "{e}");
        assert!(xml::value(e, "MessageId").is_some());
        if id == "two" {
            let want = md5_of_attributes(&[("k", "Number", Value::Text("7"))]);
            assert_eq!(xml::value(e, "MD5OfMessageAttributes"), Some(want));
        }
    }
    let failed = xml::blocks(&resp.body, "BatchResultErrorEntry");
    assert_eq!(failed.len(), 1, "{}", resp.body);
    assert_eq!(xml::value(failed[0], "Id").as_deref(), Some("bad"));
    assert_eq!(xml::value(failed[0], "SenderFault").as_deref(), Some("true"));
    assert_eq!(xml::value(failed[0], "Code").as_deref(), Some("InvalidMessageContents"));

    let resp = raw::query(
        &ep,
        "/",
        &[
            ("Action", "ReceiveMessage"),
            ("Version", VERSION),
            ("QueueUrl", &url),
            ("MaxNumberOfMessages", "10"),
            ("WaitTimeSeconds", "1"),
        ],
    )
    .await;
    assert_ok(&resp, "ReceiveMessageResponse");
    let handles = xml::values(&resp.body, "ReceiptHandle");
    assert_eq!(handles.len(), 2);
    let resp = raw::query(
        &ep,
        "/",
        &[
            ("Action", "DeleteMessageBatch"),
            ("Version", VERSION),
            ("QueueUrl", &url),
            ("DeleteMessageBatchRequestEntry.1.Id", "a"),
            ("DeleteMessageBatchRequestEntry.1.ReceiptHandle", &handles[0]),
            ("DeleteMessageBatchRequestEntry.2.Id", "b"),
            ("DeleteMessageBatchRequestEntry.2.ReceiptHandle", &handles[1]),
        ],
    )
    .await;
    assert_ok(&resp, "DeleteMessageBatchResponse");
    let mut ids = xml::values(&resp.body, "Id");
    ids.sort();
    assert_eq!(ids, vec!["a".to_string(), "b".to_string()]);
    assert!(
        xml::blocks(&resp.body, "BatchResultErrorEntry").is_empty(),
        "{}",
        resp.body
    );

    let resp = raw::query(
        &ep,
        "/",
        &[
            ("Action", "TagQueue"),
            ("Version", VERSION),
            ("QueueUrl", &url),
            ("Tag.1.Key", "team"),
            ("Tag.1.Value", "core"),
        ],
    )
    .await;
    assert_ok(&resp, "TagQueueResponse");
    let resp = raw::query(
        &ep,
        "/",
        &[("Action", "ListQueueTags"), ("Version", VERSION), ("QueueUrl", &url)],
    )
    .await;
    assert_ok(&resp, "ListQueueTagsResponse");
    let tags = xml::blocks(&resp.body, "Tag");
    assert_eq!(tags.len(), 1, "{}", resp.body);
    assert_eq!(xml::value(tags[0], "Key").as_deref(), Some("team"));
    assert_eq!(xml::value(tags[0], "Value").as_deref(), Some("core"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_errors_are_error_responses() {
    let broker = Broker::start().await;
    let ep = broker.endpoint();

    let resp = raw::query(
        &ep,
        "/",
        &[("Action", "GetQueueUrl"), ("Version", VERSION), ("QueueName", "nope")],
    )
    .await;
    assert_error(&resp, 400, "AWS.SimpleQueueService.NonExistentQueue");

    let resp = raw::query(
        &ep,
        &format!("/{ACCOUNT_ID}/nope"),
        &[("Action", "SendMessage"), ("Version", VERSION), ("MessageBody", "x")],
    )
    .await;
    assert_error(&resp, 400, "AWS.SimpleQueueService.NonExistentQueue");

    let resp = raw::query(&ep, "/", &[("Action", "FlyToTheMoon"), ("Version", VERSION)]).await;
    assert_error(&resp, 400, "InvalidAction");

    let url = create(&ep, "errs").await;
    let resp = raw::query(
        &ep,
        "/",
        &[("Action", "SendMessage"), ("Version", VERSION), ("QueueUrl", &url)],
    )
    .await;
    assert_error(&resp, 400, "MissingParameter");

    let resp = raw::query(
        &ep,
        "/",
        &[
            ("Action", "ReceiveMessage"),
            ("Version", VERSION),
            ("QueueUrl", &url),
            ("MaxNumberOfMessages", "11"),
        ],
    )
    .await;
    assert_error(&resp, 400, "InvalidParameterValue");

    let resp = raw::query(
        &ep,
        "/",
        &[
            ("Action", "CreateQueue"),
            ("Version", VERSION),
            ("QueueName", "errs"),
            ("Attribute.1.Name", "VisibilityTimeout"),
            ("Attribute.1.Value", "6"),
        ],
    )
    .await;
    assert_error(&resp, 400, "QueueAlreadyExists");

    let resp = raw::query(
        &ep,
        "/",
        &[("Action", "SendMessageBatch"), ("Version", VERSION), ("QueueUrl", &url)],
    )
    .await;
    assert_error(&resp, 400, "AWS.SimpleQueueService.EmptyBatchRequest");

    // The broker still serves normal requests.
    let resp = raw::query(&ep, "/", &[("Action", "ListQueues"), ("Version", VERSION)]).await;
    assert_ok(&resp, "ListQueuesResponse");
    assert_eq!(xml::values(&resp.body, "QueueUrl"), vec![url]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_bodies_with_carriage_returns_survive_xml() {
    // XML parsers turn a literal CR (and CR LF) into LF, so a body with \r must be sent as
    // &#xD; or the client's MD5 check fails (the Java and .NET SDKs verify MD5OfBody).
    let broker = Broker::start().await;
    let ep = broker.endpoint();
    let url = create(&ep, "crlf").await;
    let body = "line1\r\nline2\rline3\n\ttabbed";
    let resp = raw::query(
        &ep,
        "/",
        &[
            ("Action", "SendMessage"),
            ("Version", VERSION),
            ("QueueUrl", &url),
            ("MessageBody", body),
        ],
    )
    .await;
    assert_ok(&resp, "SendMessageResponse");
    assert_eq!(xml::value(&resp.body, "MD5OfMessageBody"), Some(md5_hex(body)));

    let resp = raw::query(
        &ep,
        "/",
        &[
            ("Action", "ReceiveMessage"),
            ("Version", VERSION),
            ("QueueUrl", &url),
            ("WaitTimeSeconds", "1"),
        ],
    )
    .await;
    assert_ok(&resp, "ReceiveMessageResponse");
    let raw_body = xml::blocks(&resp.body, "Body");
    assert_eq!(raw_body.len(), 1, "{}", resp.body);
    assert!(!raw_body[0].contains('\r'), "literal CR in XML body: {:?}", raw_body[0]);
    assert_eq!(xml::unescape(raw_body[0]), body);
    assert_eq!(xml::value(&resp.body, "MD5OfBody"), Some(md5_hex(body)));
}
