//! Robustness: malformed input gets a 4xx AWS-shaped error (JSON `{__type, message}` or query
//! `<ErrorResponse>`), never a panic, a hang or a 5xx, and the broker keeps serving afterwards.
//! CONTRIBUTING.md, style rule 13: "No unwrap()/expect() on anything a client or the disk can influence."

use std::time::Duration;

use http::Method;
use sluice_tests::raw::{self, RawResponse, FORM_CONTENT_TYPE, JSON_CONTENT_TYPE};
use sluice_tests::sqs::{create_queue, ok};
use sluice_tests::Broker;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `/health` answers 200 and a real SDK call works.
async fn assert_alive(broker: &Broker) {
    let resp = raw::get_with_timeout(&format!("{}/health", broker.endpoint()), Duration::from_secs(5))
        .await
        .expect("broker stopped answering");
    assert_eq!(resp.status, 200);
    let sqs = broker.sqs().await;
    ok(sqs.list_queues().send().await, "ListQueues after bad input");
}

fn assert_json_error(resp: &RawResponse, what: &str) {
    assert!(
        (400..500).contains(&resp.status),
        "{what}: status {} body {:?}",
        resp.status,
        resp.body
    );
    let v: serde_json::Value = serde_json::from_str(&resp.body)
        .unwrap_or_else(|e| panic!("{what}: error body is not JSON ({e}): {:?}", resp.body));
    assert!(
        !v["__type"].as_str().unwrap_or("").is_empty(),
        "{what}: no __type in {v}"
    );
}

fn assert_xml_error(resp: &RawResponse, what: &str) {
    assert!(
        (400..500).contains(&resp.status),
        "{what}: status {} body {:?}",
        resp.status,
        resp.body
    );
    assert!(
        resp.body.contains("<ErrorResponse"),
        "{what}: not an ErrorResponse: {:?}",
        resp.body
    );
    assert!(resp.body.contains("<Code>"), "{what}: no Code: {:?}", resp.body);
}

async fn post_json(ep: &str, target: Option<&str>, body: Vec<u8>) -> RawResponse {
    let mut headers = vec![("content-type", JSON_CONTENT_TYPE)];
    if let Some(t) = target {
        headers.push(("x-amz-target", t));
    }
    let req = raw::build(Method::POST, &format!("{ep}/"), &headers, body, true);
    raw::send(req).await.expect("broker answered")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_gets_a_json_error() {
    let broker = Broker::start().await;
    let ep = broker.endpoint();
    let bad_bodies: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", br#"{"QueueName": "#.to_vec()),
        ("not json", b"hello".to_vec()),
        ("top-level array", b"[]".to_vec()),
        ("null", b"null".to_vec()),
        ("invalid utf-8", b"{\"QueueName\": \"\xff\xfe\"}".to_vec()),
        ("deep nesting", vec![b'['; 100_000]),
        ("trailing garbage", br#"{"QueueName":"x"} trailing"#.to_vec()),
    ];
    for (what, body) in bad_bodies {
        let resp = post_json(&ep, Some("AmazonSQS.CreateQueue"), body).await;
        assert_json_error(&resp, what);
    }
    assert_alive(&broker).await;
    let list = ok(broker.sqs().await.list_queues().send().await, "ListQueues");
    assert!(
        list.queue_urls().is_empty(),
        "a malformed CreateQueue created a queue: {:?}",
        list.queue_urls()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_typed_fields_get_a_json_error() {
    let broker = Broker::start().await;
    let ep = broker.endpoint();
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "typed", &[]).await;
    let cases: Vec<(&str, String)> = vec![
        ("CreateQueue", r#"{"QueueName": 123}"#.to_string()),
        ("CreateQueue", r#"{"QueueName": "x", "Attributes": ["VisibilityTimeout"]}"#.to_string()),
        ("CreateQueue", r#"{}"#.to_string()),
        ("SendMessage", serde_json::json!({"QueueUrl": url, "MessageBody": ["a"]}).to_string()),
        ("SendMessage", serde_json::json!({"QueueUrl": url}).to_string()),
        ("SendMessage", serde_json::json!({"QueueUrl": url, "MessageBody": "x", "DelaySeconds": "soon"}).to_string()),
        (
            "SendMessage",
            serde_json::json!({"QueueUrl": url, "MessageBody": "x", "MessageAttributes": {"a": {"DataType": "Binary", "BinaryValue": "!!not base64!!"}}})
                .to_string(),
        ),
        ("ReceiveMessage", serde_json::json!({"QueueUrl": url, "MaxNumberOfMessages": "ten"}).to_string()),
        ("ReceiveMessage", serde_json::json!({"QueueUrl": url, "MaxNumberOfMessages": 1e40}).to_string()),
        ("ReceiveMessage", serde_json::json!({"QueueUrl": 42}).to_string()),
        ("DeleteMessageBatch", serde_json::json!({"QueueUrl": url, "Entries": {"Id": "a"}}).to_string()),
        ("SendMessageBatch", serde_json::json!({"QueueUrl": url, "Entries": [{"Id": "a", "MessageBody": 5}]}).to_string()),
        ("ChangeMessageVisibility", serde_json::json!({"QueueUrl": url, "ReceiptHandle": "x", "VisibilityTimeout": -5.5}).to_string()),
    ];
    for (action, body) in &cases {
        let resp = raw::json(&ep, action, body).await;
        assert_json_error(&resp, &format!("{action} {body}"));
    }
    assert_alive(&broker).await;
    let attrs = sluice_tests::sqs::counts(&sqs, &url).await;
    assert_eq!(attrs, (0, 0, 0), "a malformed SendMessage stored a message");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_targets_and_missing_headers_are_rejected() {
    let broker = Broker::start().await;
    let ep = broker.endpoint();

    let resp = post_json(&ep, Some("AmazonSQS.FlyToTheMoon"), b"{}".to_vec()).await;
    assert_json_error(&resp, "unknown SQS action");
    let resp = post_json(&ep, Some("AmazonSQS."), b"{}".to_vec()).await;
    assert_json_error(&resp, "empty SQS action");
    let resp = post_json(&ep, Some("NoSuchService_2020.Op"), b"{}".to_vec()).await;
    assert!(
        (400..500).contains(&resp.status),
        "unknown service: {} {:?}",
        resp.status,
        resp.body
    );
    let resp = post_json(&ep, None, br#"{"QueueName":"x"}"#.to_vec()).await;
    assert!(
        (400..500).contains(&resp.status),
        "JSON without X-Amz-Target: {} {:?}",
        resp.status,
        resp.body
    );

    // Empty POST with no content type, and an unknown path.
    let req = raw::build(Method::POST, &format!("{ep}/"), &[], Vec::new(), false);
    let resp = raw::send(req).await.expect("answer");
    assert!(
        (400..500).contains(&resp.status),
        "empty POST: {} {:?}",
        resp.status,
        resp.body
    );
    let req = raw::build(Method::DELETE, &format!("{ep}/000000000000/q"), &[], Vec::new(), false);
    let resp = raw::send(req).await.expect("answer");
    assert!(
        (400..500).contains(&resp.status),
        "DELETE: {} {:?}",
        resp.status,
        resp.body
    );

    assert_alive(&broker).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_form_bodies_get_query_errors() {
    let broker = Broker::start().await;
    let ep = broker.endpoint();
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("broken escapes", b"Action=SendMessage&%%%&&==&MessageBody=%ZZ".to_vec()),
        ("binary", vec![0xff, 0xfe, 0x00, 0x01, b'=', 0x80]),
        ("empty action", b"Action=&Version=2012-11-05".to_vec()),
        ("no action", b"QueueName=x&Version=2012-11-05".to_vec()),
        ("attribute without value", b"Action=CreateQueue&QueueName=nov&Attribute.1.Name=VisibilityTimeout".to_vec()),
        ("number overflow", b"Action=ReceiveMessage&QueueUrl=http%3A%2F%2Fx%2F000000000000%2Fq&MaxNumberOfMessages=99999999999999999999".to_vec()),
    ];
    for (what, body) in bodies {
        let req = raw::build(
            Method::POST,
            &format!("{ep}/"),
            &[("content-type", FORM_CONTENT_TYPE)],
            body,
            true,
        );
        let resp = raw::send(req).await.expect("broker answered");
        assert_xml_error(&resp, what);
    }
    assert_alive(&broker).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_over_the_server_limit_is_refused() {
    let broker = Broker::start().await;
    let ep = broker.endpoint();
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "huge", &[]).await;
    // 32 MiB: far beyond any SQS request (1 MiB messages) or Kinesis batch (5 MiB).
    let big = "x".repeat(32 * 1024 * 1024);
    let body = serde_json::json!({ "QueueUrl": url, "MessageBody": big })
        .to_string()
        .into_bytes();
    let req = raw::build(
        Method::POST,
        &format!("{ep}/"),
        &[
            ("content-type", JSON_CONTENT_TYPE),
            ("x-amz-target", "AmazonSQS.SendMessage"),
        ],
        body,
        false,
    );
    match raw::send(req).await {
        Ok(resp) => assert!(
            resp.status == 413 || (400..500).contains(&resp.status),
            "oversized body: status {} {:?}",
            resp.status,
            &resp.body[..resp.body.len().min(500)]
        ),
        // Closing the connection after answering 413 early may reset our upload; that's fine
        // as long as the broker lives (checked below).
        Err(e) => eprintln!("oversized body: connection ended without a response: {e}"),
    }
    assert_alive(&broker).await;
    assert_eq!(sluice_tests::sqs::counts(&sqs, &url).await, (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_connections_do_not_hurt_the_broker() {
    let broker = Broker::start().await;
    let addr = format!("127.0.0.1:{}", broker.port());

    // Not HTTP at all.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"\x16\x03\x01\x02\x00garbage that is not http\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    drop(s);

    // Headers promise 1000 bytes, 10 arrive, then the client goes away.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n\
          X-Amz-Target: AmazonSQS.ListQueues\r\nContent-Length: 1000\r\n\r\n{\"Queue",
    )
    .await
    .unwrap();
    drop(s);

    // Half a request line.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"POST / HT").await.unwrap();
    drop(s);

    // A header section that never ends is cut off, not buffered forever (bounded by the
    // server's header limits): send 1 MiB of headers.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut req = b"GET /health HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..16_000 {
        req.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "y".repeat(50)).as_bytes());
    }
    let _ = s.write_all(&req).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    if !buf.is_empty() {
        let head = String::from_utf8_lossy(&buf[..buf.len().min(64)]).to_string();
        assert!(
            head.starts_with("HTTP/1.1 4"),
            "oversized headers answered with {head:?}"
        );
    }
    drop(s);

    assert_alive(&broker).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_bad_requests_then_good_ones() {
    let broker = Broker::start().await;
    let ep = broker.endpoint();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let ep = ep.clone();
        tasks.push(tokio::spawn(async move {
            let body = if i % 2 == 0 {
                b"{not json".to_vec()
            } else {
                vec![b'{'; 10_000]
            };
            let req = raw::build(
                Method::POST,
                &format!("{ep}/"),
                &[
                    ("content-type", JSON_CONTENT_TYPE),
                    ("x-amz-target", "AmazonSQS.SendMessage"),
                ],
                body,
                false,
            );
            raw::send(req).await.map(|r| r.status)
        }));
    }
    for t in tasks {
        let status = t.await.unwrap().expect("broker answered");
        assert!((400..500).contains(&status), "status {status}");
    }
    assert_alive(&broker).await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "after-storm", &[]).await;
    sluice_tests::sqs::send(&sqs, &url, "still works").await;
    assert_eq!(sluice_tests::sqs::counts(&sqs, &url).await, (1, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_heads_and_trickled_bodies_are_cut_off() {
    let broker = Broker::start_with(&["--body-read-timeout", "1", "--max-header-bytes", "16384"]).await;
    let addr = format!("127.0.0.1:{}", broker.port());

    // 32 KiB of headers against a 16 KiB limit: refused with a 4xx, not buffered.
    let mut s = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let mut req = b"GET /health HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..512 {
        req.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "y".repeat(50)).as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    let _ = s.write_all(&req).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    let head = String::from_utf8_lossy(&buf[..buf.len().min(64)]).to_string();
    assert!(
        head.starts_with("HTTP/1.1 431"),
        "oversized head answered with {head:?}"
    );

    // Headers promise 100 bytes, 10 arrive, then nothing: 408 after --body-read-timeout.
    let mut s = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    s.write_all(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n\
          X-Amz-Target: AmazonSQS.ListQueues\r\nContent-Length: 100\r\n\r\n{\"Queue",
    )
    .await
    .expect("write");
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .expect("answered before 10 s")
        .expect("read");
    let answer = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "trickled body answered with {answer:?}"
    );
    assert!(answer.contains("x-amzn-query-error"), "an SQS-shaped error: {answer}");

    // A normal-sized request still works.
    assert_alive(&broker).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_idle_connections_are_closed() {
    let broker = Broker::start_with(&["--header-read-timeout", "1"]).await;
    let addr = format!("127.0.0.1:{}", broker.port());

    // Connects and never sends a byte: closed after the header timeout.
    let mut silent = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(10), silent.read(&mut buf))
        .await
        .expect("the server closed the silent connection")
        .unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");

    // One request, then idle on a kept-alive connection: closed too.
    let mut idle = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let n = idle.read(&mut buf).await.expect("read");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), idle.read_to_end(&mut rest))
        .await
        .expect("the server closed the idle keep-alive connection")
        .expect("read to end");

    assert_alive(&broker).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_but_long_polls_are_not() {
    let broker = Broker::start_with(&["--idle-timeout", "1"]).await;
    let addr = broker.endpoint().trim_start_matches("http://").to_string();

    // HTTP/2 (h2c, prior knowledge): one request, then silence; the broker ends the connection.
    let tcp = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), hyper_util::rt::TokioIo::new(tcp))
            .await
            .expect("h2 handshake");
    let conn = tokio::spawn(conn);
    let req = http::Request::get(format!("http://{addr}/health"))
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .expect("request");
    let resp = sender.send_request(req).await.expect("h2 request");
    assert_eq!(resp.status(), 200);
    tokio::time::timeout(Duration::from_secs(10), conn)
        .await
        .expect("the idle h2 connection was closed within 10 s")
        .expect("connection task")
        .ok();

    // HTTP/1.1 keep-alive: the same.
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    tcp.write_all(b"GET /health HTTP/1.1\r\nHost: sluice\r\n\r\n")
        .await
        .expect("write");
    let mut buf = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut total = 0;
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n,
            }
        }
    })
    .await
    .expect("the idle HTTP/1.1 connection was closed within 10 s");
    assert!(read > 0, "the response came before the close");

    // A long poll longer than the idle timeout is a request in progress, not idleness.
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "patient", &[]).await;
    let started = std::time::Instant::now();
    ok(
        sqs.receive_message().queue_url(&url).wait_time_seconds(3).send().await,
        "ReceiveMessage with a 3 s wait",
    );
    assert!(started.elapsed() >= Duration::from_millis(2900));
}
