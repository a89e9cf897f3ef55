//! `--tls-cert`/`--tls-key`: the broker serves HTTPS with HTTP/2 or HTTP/1.1 chosen by ALPN, to
//! clients that trust its CA (a test CA in `tests/fixtures/tls`, valid until 2036), and refuses
//! the handshake of clients that do not.

use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use sluice_tests::Broker;
use tokio_rustls::TlsConnector;

fn fixture(name: &str) -> String {
    sluice_tests::tls_fixture(name)
}

async fn tls_broker() -> Broker {
    Broker::start_with(&["--tls-cert", &fixture("cert.pem"), "--tls-key", &fixture("key.pem")]).await
}

/// A rustls client trusting `ca` (or nothing), offering `alpn`.
fn connector(trust_test_ca: bool, alpn: &[&[u8]]) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    if trust_test_ca {
        for cert in CertificateDer::pem_file_iter(fixture("ca.pem")).expect("read CA") {
            roots.add(cert.expect("CA cert")).expect("add CA");
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    TlsConnector::from(Arc::new(config))
}

fn list_queues(version: hyper::Version) -> hyper::Request<Full<bytes::Bytes>> {
    hyper::Request::post("https://localhost/")
        .version(version)
        .header("host", "localhost")
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "AmazonSQS.CreateQueue")
        .body(Full::new(bytes::Bytes::from_static(br#"{"QueueName":"over-tls"}"#)))
        .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_http2_and_http1_by_alpn() {
    let broker = tls_broker().await;
    let addr = format!("127.0.0.1:{}", broker.port());
    let name = ServerName::try_from("localhost").expect("name");

    // HTTP/2 negotiated by ALPN.
    let tcp = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let stream = connector(true, &[b"h2", b"http/1.1"])
        .connect(name.clone(), tcp)
        .await
        .expect("TLS handshake with a client that trusts the test CA");
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
        .await
        .expect("h2 handshake");
    tokio::spawn(conn);
    let resp = sender
        .send_request(list_queues(hyper::Version::HTTP_2))
        .await
        .expect("h2 request");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), hyper::Version::HTTP_2);
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains(r#""QueueUrl":"https://localhost/000000000000/over-tls""#),
        "queue URLs carry the https scheme: {text}"
    );

    // HTTP/1.1 when the client offers only that.
    let tcp = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let stream = connector(true, &[b"http/1.1"])
        .connect(name.clone(), tcp)
        .await
        .expect("TLS handshake");
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("h1 handshake");
    tokio::spawn(conn);
    let resp = sender
        .send_request(list_queues(hyper::Version::HTTP_11))
        .await
        .expect("h1 request");
    assert_eq!(resp.status(), 200);

    // A client that does not trust the CA fails the handshake.
    let tcp = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    assert!(
        connector(false, &[b"h2"]).connect(name, tcp).await.is_err(),
        "an untrusted certificate must fail the handshake"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_broken_certificate_stops_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bogus = dir.path().join("bogus.pem");
    std::fs::write(&bogus, "not a certificate").expect("write");
    let output = tokio::process::Command::new(sluice_tests::broker::binary_path())
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--tls-cert")
        .arg(&bogus)
        .arg("--tls-key")
        .arg(fixture("key.pem"))
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(30), output)
        .await
        .expect("exits in time")
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bogus.pem"), "{stderr}");
}

fn kinesis_call(action: &str, body: serde_json::Value) -> hyper::Request<Full<bytes::Bytes>> {
    hyper::Request::post("https://localhost/")
        .version(hyper::Version::HTTP_2)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("Kinesis_20131202.{action}"))
        .body(Full::new(bytes::Bytes::from(body.to_string())))
        .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_to_shard_streams_events_over_h2_negotiated_by_alpn() {
    let broker = Broker::start_with(&[
        "--tls-cert",
        &fixture("cert.pem"),
        "--tls-key",
        &fixture("key.pem"),
        "--kinesis-transition-ms",
        "0",
    ])
    .await;
    let tcp = tokio::net::TcpStream::connect(format!("127.0.0.1:{}", broker.port()))
        .await
        .expect("connect");
    let stream = connector(true, &[b"h2", b"http/1.1"])
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("TLS handshake");
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
        .await
        .expect("h2 handshake");
    tokio::spawn(conn);
    let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/tls-efo";
    let mut call = async |action: &str, body: serde_json::Value| -> serde_json::Value {
        let resp = sender
            .send_request(kinesis_call(action, body))
            .await
            .expect("h2 request");
        assert_eq!(resp.status(), 200, "{action}");
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        serde_json::from_slice(&bytes).expect("JSON answer")
    };
    call(
        "CreateStream",
        serde_json::json!({"StreamName": "tls-efo", "ShardCount": 1}),
    )
    .await;
    let consumer = call(
        "RegisterStreamConsumer",
        serde_json::json!({"StreamARN": arn, "ConsumerName": "over-tls"}),
    )
    .await;
    let consumer_arn = consumer["Consumer"]["ConsumerARN"].as_str().expect("ARN").to_string();
    call(
        "PutRecord",
        serde_json::json!({"StreamName": "tls-efo", "PartitionKey": "k", "Data": "c2VjdXJl"}),
    )
    .await;
    let resp = sender
        .send_request(kinesis_call(
            "SubscribeToShard",
            serde_json::json!({
                "ConsumerARN": consumer_arn,
                "ShardId": "shardId-000000000000",
                "StartingPosition": {"Type": "TRIM_HORIZON"}
            }),
        ))
        .await
        .expect("subscribe");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), hyper::Version::HTTP_2);
    let mut body = resp.into_body();
    let mut buf = Vec::new();
    let mut messages = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while messages.len() < 2 {
        while let Some((message, used)) = sluice_protocols::eventstream::decode(&buf).expect("valid frames") {
            buf.drain(..used);
            messages.push(message);
        }
        if messages.len() >= 2 {
            break;
        }
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .expect("events within 10 s")
            .expect("the stream stays open")
            .expect("body frame");
        if let Ok(data) = frame.into_data() {
            buf.extend_from_slice(&data);
        }
    }
    assert_eq!(messages[0].header_str(":event-type"), Some("initial-response"));
    assert_eq!(messages[1].header_str(":event-type"), Some("SubscribeToShardEvent"));
    let event: serde_json::Value = serde_json::from_slice(&messages[1].payload).expect("JSON event");
    assert_eq!(event["Records"][0]["Data"], "c2VjdXJl");
}

/// The SDKs' HTTP client contract, served by a TLS connection that trusts the test CA (rustls
/// with ring; the SDK's own rustls client would pull in aws-lc's C build). One connection per
/// request: enough for a test.
#[derive(Clone)]
struct TestCaClient {
    tls: TlsConnector,
    addr: String,
}

impl std::fmt::Debug for TestCaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCaClient").field("addr", &self.addr).finish()
    }
}

impl aws_smithy_runtime_api::client::http::HttpConnector for TestCaClient {
    fn call(
        &self,
        request: aws_smithy_runtime_api::client::orchestrator::HttpRequest,
    ) -> aws_smithy_runtime_api::client::http::HttpConnectorFuture {
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let this = self.clone();
        aws_smithy_runtime_api::client::http::HttpConnectorFuture::new(async move {
            let other = |e: Box<dyn std::error::Error + Send + Sync>| ConnectorError::other(e, None);
            let mut request = request.try_into_http1x().map_err(|e| other(e.into()))?;
            if !request.headers().contains_key("host") {
                let host = request.uri().authority().map(|a| a.to_string()).unwrap_or_default();
                request.headers_mut().insert(
                    "host",
                    host.parse()
                        .map_err(|e: http::header::InvalidHeaderValue| other(e.into()))?,
                );
            }
            let tcp = tokio::net::TcpStream::connect(&this.addr)
                .await
                .map_err(|e| ConnectorError::io(e.into()))?;
            let name = ServerName::try_from("localhost").map_err(|e| other(e.into()))?;
            let stream = this
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| ConnectorError::io(e.into()))?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| other(e.into()))?;
            tokio::spawn(conn);
            let response = sender.send_request(request).await.map_err(|e| other(e.into()))?;
            let response = response.map(aws_smithy_types::body::SdkBody::from_body_1_x);
            aws_smithy_runtime_api::client::orchestrator::HttpResponse::try_from(response).map_err(|e| other(e.into()))
        })
    }
}

async fn sdk_config_over_tls(port: u16, trust_test_ca: bool) -> aws_config::SdkConfig {
    let client = TestCaClient {
        tls: connector(trust_test_ca, &[b"http/1.1"]),
        addr: format!("127.0.0.1:{port}"),
    };
    let http_client = aws_smithy_runtime_api::client::http::http_client_fn(move |_, _| {
        aws_smithy_runtime_api::client::http::SharedHttpConnector::new(client.clone())
    });
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "AKID", "secret", None, None, "tls-test",
        ))
        .endpoint_url(format!("https://localhost:{port}"))
        .http_client(http_client)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_sdks_work_over_tls_when_they_trust_the_ca_and_fail_when_they_do_not() {
    let broker = tls_broker().await;
    let config = sdk_config_over_tls(broker.port(), true).await;

    let sqs = aws_sdk_sqs::Client::new(&config);
    let url = sqs
        .create_queue()
        .queue_name("sdk-over-tls")
        .send()
        .await
        .expect("CreateQueue over TLS")
        .queue_url
        .expect("queue URL");
    assert_eq!(
        url,
        format!("https://localhost:{}/000000000000/sdk-over-tls", broker.port())
    );
    sqs.send_message()
        .queue_url(&url)
        .message_body("secret body")
        .send()
        .await
        .expect("SendMessage over TLS (the SDK checks the MD5 it gets back)");
    let received = sqs
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .expect("ReceiveMessage over TLS");
    assert_eq!(received.messages()[0].body(), Some("secret body"));

    let sns = aws_sdk_sns::Client::new(&config);
    let topic = sns
        .create_topic()
        .name("over-tls")
        .send()
        .await
        .expect("CreateTopic over TLS");
    assert!(topic.topic_arn().is_some_and(|a| a.ends_with(":over-tls")));

    let kinesis = aws_sdk_kinesis::Client::new(&config);
    kinesis
        .create_stream()
        .stream_name("over-tls")
        .shard_count(1)
        .send()
        .await
        .expect("CreateStream over TLS");

    // A client that does not trust the CA gets no answer at all.
    let untrusting = aws_sdk_sqs::Client::new(&sdk_config_over_tls(broker.port(), false).await);
    let err = untrusting
        .list_queues()
        .send()
        .await
        .expect_err("the handshake must fail without the CA");
    assert!(
        matches!(err, aws_sdk_sqs::error::SdkError::DispatchFailure(_)),
        "a connection failure, not an answer: {err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_stays_available_beside_https_on_request() {
    let broker = Broker::start_with(&[
        "--tls-cert",
        &fixture("cert.pem"),
        "--tls-key",
        &fixture("key.pem"),
        "--plain-bind",
        "127.0.0.1:0",
    ])
    .await;
    let log = broker.log();
    let plain = log
        .split("plain HTTP beside HTTPS on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .map(|url| url.trim_matches(|c: char| c == '"' || c == ','))
        .unwrap_or_else(|| panic!("the log names the plain address: {log}"))
        .to_string();
    assert!(plain.starts_with("http://127.0.0.1:"), "{plain}");
    let port = plain.rsplit(':').next().expect("port").to_string();

    // The same queue, reached both ways; each answer's URLs follow its own transport.
    let plain_sqs = sluice_tests::sqs_client(&plain).await;
    let url = plain_sqs
        .create_queue()
        .queue_name("both-ways")
        .send()
        .await
        .expect("CreateQueue over plain HTTP")
        .queue_url
        .expect("url");
    assert_eq!(url, format!("http://127.0.0.1:{port}/000000000000/both-ways"));
    plain_sqs
        .send_message()
        .queue_url(&url)
        .message_body("sent in the clear")
        .send()
        .await
        .expect("SendMessage over plain HTTP");
    let tls_sqs = aws_sdk_sqs::Client::new(&sdk_config_over_tls(broker.port(), true).await);
    let tls_url = tls_sqs
        .get_queue_url()
        .queue_name("both-ways")
        .send()
        .await
        .expect("GetQueueUrl over TLS")
        .queue_url
        .expect("url");
    assert_eq!(
        tls_url,
        format!("https://localhost:{}/000000000000/both-ways", broker.port())
    );
    let received = tls_sqs
        .receive_message()
        .queue_url(&tls_url)
        .send()
        .await
        .expect("ReceiveMessage over TLS");
    assert_eq!(received.messages()[0].body(), Some("sent in the clear"));
}
