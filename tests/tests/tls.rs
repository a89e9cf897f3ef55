//! `--tls-cert`/`--tls-key`: the broker serves HTTPS with HTTP/2 or HTTP/1.1 chosen by ALPN, to
//! clients that trust its CA (a test CA in `tests/fixtures/tls`, valid until 2036), and refuses
//! the handshake of clients that do not.

use std::path::PathBuf;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use sluice_tests::Broker;
use tokio_rustls::TlsConnector;

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/tls")
        .join(name)
        .to_string_lossy()
        .to_string()
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
