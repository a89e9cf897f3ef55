//! In-process HTTP tests of the server: the real listener, dispatcher and core on a free
//! loopback port with a temporary data folder, driven by raw HTTP/1.1 over TCP.
//!
//! These check the wiring (routing, limits, headers, shutdown); SDK-level behaviour is the
//! job of the `sluice-tests` crate.

use std::net::SocketAddr;
use std::time::Duration;

use sluice_server::config::Settings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), sluice_server::StartupError>>,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(tweak: impl FnOnce(&mut Settings)) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut settings = Settings {
            bind: "127.0.0.1:0".into(),
            data_dir: dir.path().to_path_buf(),
            ..Settings::default()
        };
        settings.shutdown_timeout = Duration::from_secs(10);
        tweak(&mut settings);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (addr_tx, addr_rx) = oneshot::channel();
        let task = tokio::spawn(sluice_server::run(
            settings,
            async move {
                let _ = stop_rx.await;
            },
            move |addr| {
                let _ = addr_tx.send(addr);
            },
        ));
        let addr = addr_rx.await.expect("server bound");
        Server {
            addr,
            stop: Some(stop_tx),
            task,
            _dir: dir,
        }
    }

    async fn request(&self, raw: &str) -> (u16, String, String) {
        let mut stream = TcpStream::connect(self.addr).await.expect("connect");
        stream.write_all(raw.as_bytes()).await.expect("write");
        let mut out = Vec::new();
        stream.read_to_end(&mut out).await.expect("read");
        let text = String::from_utf8_lossy(&out).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        (status, head.to_ascii_lowercase(), body.to_string())
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("stops in time");
        result.expect("task").expect("clean shutdown");
    }
}

fn json(target: &str, body: &str) -> String {
    format!(
        "POST / HTTP/1.1\r\nHost: localhost:4566\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: {target}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn form(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost:4566\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_endpoints() {
    let server = Server::start(|_| {}).await;
    let (status, head, body) = server
        .request("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    assert!(head.contains("x-amzn-requestid: "), "{head}");
    let (status, _, _) = server
        .request("GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!(status, 200);
    server.request(&json("AmazonSQS.ListQueues", "{}")).await;
    let (status, _, body) = server
        .request("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!(status, 200);
    assert!(
        body.contains(r#"sluice_requests_total{action="ListQueues",outcome="success",service="sqs"} 1"#),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_and_storage_gauges_follow_the_queues() {
    let server = Server::start(|s| s.metrics_max_resources = 2).await;
    let url = |name: &str| format!("http://localhost:4566/000000000000/{name}");
    // The RedrivePolicy JSON as a string value inside the request's JSON.
    let redrive = r#"{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:dlq\",\"maxReceiveCount\":\"1\"}"#;
    server
        .request(&json("AmazonSQS.CreateQueue", r#"{"QueueName":"dlq"}"#))
        .await;
    let create = format!(r#"{{"QueueName":"jobs","Attributes":{{"RedrivePolicy":"{redrive}"}}}}"#);
    let (status, _, body) = server.request(&json("AmazonSQS.CreateQueue", &create)).await;
    assert_eq!(status, 200, "{body}");
    server
        .request(&json("AmazonSQS.CreateQueue", r#"{"QueueName":"zzz-over-the-cap"}"#))
        .await;
    for body in ["a", "b", "c"] {
        let send = format!(r#"{{"QueueUrl":"{}","MessageBody":"{body}"}}"#, url("jobs"));
        server.request(&json("AmazonSQS.SendMessage", &send)).await;
    }
    let dlq_send = format!(r#"{{"QueueUrl":"{}","MessageBody":"dead"}}"#, url("dlq"));
    server.request(&json("AmazonSQS.SendMessage", &dlq_send)).await;
    let receive = format!(r#"{{"QueueUrl":"{}","VisibilityTimeout":60}}"#, url("jobs"));
    server.request(&json("AmazonSQS.ReceiveMessage", &receive)).await;

    let (status, _, body) = server
        .request("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!(status, 200);
    let labels = |queue: &str| format!(r#"account="000000000000",queue="{queue}",region="us-east-1""#);
    for line in [
        format!("sluice_queue_messages{{{},state=\"visible\"}} 2", labels("jobs")),
        format!("sluice_queue_messages{{{},state=\"in_flight\"}} 1", labels("jobs")),
        format!("sluice_queue_messages{{{},state=\"delayed\"}} 0", labels("jobs")),
        format!("sluice_dead_letter_queue_messages{{{}}} 1", labels("dlq")),
        r#"sluice_metrics_resources_omitted{kind="queue"} 1"#.to_string(),
    ] {
        assert!(body.contains(&line), "missing {line}: {body}");
    }
    assert!(body.contains(&format!(
        "sluice_queue_oldest_message_age_seconds{{{}}}",
        labels("jobs")
    )));
    assert!(!body.contains("zzz-over-the-cap"), "capped at 2 queues: {body}");
    assert!(!body.contains(&format!("sluice_dead_letter_queue_messages{{{}}}", labels("jobs"))));
    assert!(body.contains("sluice_rocksdb_live_data_bytes "), "{body}");
    assert!(body.contains("sluice_rocksdb_write_stopped 0"), "{body}");

    // A deleted queue's series go with it.
    let delete = format!(r#"{{"QueueUrl":"{}"}}"#, url("jobs"));
    server.request(&json("AmazonSQS.DeleteQueue", &delete)).await;
    let (_, _, body) = server
        .request("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    assert!(!body.contains(r#"queue="jobs""#), "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_json_round_trip() {
    let server = Server::start(|_| {}).await;
    let (status, head, body) = server
        .request(&json("AmazonSQS.CreateQueue", r#"{"QueueName":"q"}"#))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(head.contains("content-type: application/x-amz-json-1.0"), "{head}");
    assert!(
        body.contains(r#""QueueUrl":"http://localhost:4566/000000000000/q""#),
        "{body}"
    );

    let send = r#"{"QueueUrl":"http://localhost:4566/000000000000/q","MessageBody":"hello","MessageAttributes":{"color":{"DataType":"String","StringValue":"red"}}}"#;
    let (status, _, body) = server.request(&json("AmazonSQS.SendMessage", send)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(r#""MD5OfMessageBody":"5d41402abc4b2a76b9719d911017c592""#),
        "{body}"
    );

    let receive = r#"{"QueueUrl":"http://other-host:4566/000000000000/q","MessageAttributeNames":["All"],"MessageSystemAttributeNames":["ApproximateReceiveCount"]}"#;
    let (status, _, body) = server.request(&json("AmazonSQS.ReceiveMessage", receive)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""Body":"hello""#), "{body}");
    assert!(body.contains(r#""ApproximateReceiveCount":"1""#), "{body}");
    assert!(
        !body.contains("SentTimestamp"),
        "only requested system attributes: {body}"
    );
    assert!(body.contains("MD5OfMessageAttributes"), "{body}");

    let missing = r#"{"QueueUrl":"http://localhost:4566/000000000000/nope","MessageBody":"x"}"#;
    let (status, head, body) = server.request(&json("AmazonSQS.SendMessage", missing)).await;
    assert_eq!(status, 400);
    assert!(
        head.contains("x-amzn-query-error: aws.simplequeueservice.nonexistentqueue;sender"),
        "{head}"
    );
    assert!(body.contains("QueueDoesNotExist"), "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_query_to_queue_path() {
    let server = Server::start(|_| {}).await;
    let (status, head, body) = server
        .request(&form("/", "Action=CreateQueue&QueueName=jobs&Version=2012-11-05"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(head.contains("content-type: text/xml"), "{head}");
    assert!(
        body.contains("<QueueUrl>http://localhost:4566/000000000000/jobs</QueueUrl>"),
        "{body}"
    );
    let (status, _, body) = server
        .request(&form("/000000000000/jobs", "Action=SendMessage&MessageBody=hi"))
        .await;
    assert_eq!(status, 200, "{body}");
    // kombu: no QueueUrl, no Version, posted to the queue path.
    let (status, _, body) = server
        .request(&form(
            "/000000000000/jobs",
            "Action=ReceiveMessage&MessageSystemAttributeName.1=ApproximateReceiveCount",
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<Body>hi</Body>"), "{body}");
    let (status, _, body) = server.request(&form("/", "Action=Nope")).await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>InvalidAction</Code>"), "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_target_and_oversized_body() {
    let server = Server::start(|s| s.max_body_bytes = 2048).await;
    let (status, _, body) = server.request(&json("DynamoDB_20120810.ListTables", "{}")).await;
    assert_eq!(status, 400);
    assert!(body.contains("UnknownOperationException"), "{body}");
    let big = format!(r#"{{"QueueName":"{}"}}"#, "x".repeat(4096));
    let (status, head, body) = server.request(&json("AmazonSQS.CreateQueue", &big)).await;
    assert_eq!(status, 413, "{head}\n{body}");
    assert!(head.contains("x-amzn-requestid"), "{head}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_long_poll_finish() {
    let server = Server::start(|_| {}).await;
    server
        .request(&json("AmazonSQS.CreateQueue", r#"{"QueueName":"lp"}"#))
        .await;
    let addr = server.addr;
    let poll = tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let raw = json(
            "AmazonSQS.ReceiveMessage",
            r#"{"QueueUrl":"http://localhost:4566/000000000000/lp","WaitTimeSeconds":2}"#,
        );
        stream.write_all(raw.as_bytes()).await.expect("write");
        let mut out = Vec::new();
        stream.read_to_end(&mut out).await.expect("read");
        String::from_utf8_lossy(&out).into_owned()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.stop().await;
    let response = poll.await.expect("poll task");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}
