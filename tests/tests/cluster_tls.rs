//! Cluster mode with `--tls-cert`, on a real 3-node JetStream cluster: every node serves HTTPS
//! (the standby too, before it ever writes), advertises an `https://` address, and a standby
//! forwards calls to the writer over HTTPS, verifying the writer's certificate against
//! `--cluster-ca` (the test CA in `tests/fixtures/tls`). A client that knows only the standby
//! creates a queue and sends through it; the writer serves what was sent; after the writer is
//! killed the standby takes over and serves it over HTTPS too.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use sluice_tests::{Broker, NatsCluster};
use tokio_rustls::TlsConnector;

/// Bounds a node's start and the takeover.
const BOUND: Duration = Duration::from_secs(60);

fn fixture(name: &str) -> String {
    sluice_tests::tls_fixture(name)
}

/// A rustls client trusting the test CA only.
fn connector() -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(fixture("ca.pem")).expect("read CA") {
        roots.add(cert.expect("CA cert")).expect("add CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// One HTTPS request to `node` (an SQS JSON call when `target` is given, else a GET of
/// `path`); its status and body, or why it failed.
async fn https(
    node: &Broker,
    method: &str,
    path: &str,
    target: Option<&str>,
    body: &str,
) -> Result<(u16, String), String> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", node.port()))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let stream = connector()
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(conn);
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", format!("localhost:{}", node.port()));
    if let Some(target) = target {
        request = request
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("AmazonSQS.{target}"));
    }
    let request = request
        .body(Full::new(bytes::Bytes::from(body.to_string())))
        .map_err(|e| e.to_string())?;
    let response = tokio::time::timeout(Duration::from_secs(30), sender.send_request(request))
        .await
        .map_err(|_| "no answer in 30 s".to_string())?
        .map_err(|e| format!("request: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// `/ready` over HTTPS, retried (bounded) until the node answers at all.
async fn ready(node: &Broker) -> u16 {
    let deadline = Instant::now() + BOUND;
    loop {
        if let Ok((status, _)) = https(node, "GET", "/ready", None, "").await {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "{} never answered over HTTPS\n{}",
            node.endpoint(),
            node.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An SQS JSON call that must succeed (bounded retries while a takeover settles).
async fn call(node: &Broker, target: &str, body: &str) -> String {
    let deadline = Instant::now() + BOUND;
    loop {
        match https(node, "POST", "/", Some(target), body).await {
            Ok((200, answer)) => return answer,
            other => assert!(
                Instant::now() < deadline,
                "{target} through {}: {other:?}\n{}",
                node.endpoint(),
                node.log()
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_forwards_over_https_and_takes_over_serving_https() {
    let nats = NatsCluster::start(3).await;
    let urls = nats.client_urls();
    let (cert, key, ca) = (fixture("cert.pem"), fixture("key.pem"), fixture("ca.pem"));
    let extra = [
        "--tls-cert",
        cert.as_str(),
        "--tls-key",
        key.as_str(),
        "--cluster-ca",
        ca.as_str(),
    ];
    let mut a = Broker::spawn_cluster_node(&urls, "a", &extra);
    a.wait_serving(BOUND).await.expect("node a writes");
    assert_eq!(ready(&a).await, 200, "the writer is ready, over HTTPS");
    let b = Broker::spawn_cluster_node(&urls, "b", &extra);
    assert_eq!(
        ready(&b).await,
        503,
        "the standby answers over HTTPS, not ready by itself"
    );
    assert!(
        sluice_tests::raw::get_with_timeout(&format!("http://127.0.0.1:{}/ready", b.port()), Duration::from_secs(2))
            .await
            .map_or(true, |r| r.status != 200),
        "the standby does not serve plain HTTP"
    );

    // Through the standby only: forwarded to the writer over HTTPS.
    let created = call(&b, "CreateQueue", r#"{"QueueName":"tls-orders"}"#).await;
    assert!(created.contains("tls-orders"), "{created}");
    let queue_url = format!("https://localhost:{}/000000000000/tls-orders", b.port());
    for i in 0..5 {
        call(
            &b,
            "SendMessage",
            &format!(r#"{{"QueueUrl":"{queue_url}","MessageBody":"over tls {i}"}}"#),
        )
        .await;
    }
    assert_eq!(ready(&b).await, 503, "b was still a standby: it forwarded those calls");

    // The writer dies; the standby takes over and serves what was sent, over HTTPS.
    a.kill9();
    let deadline = Instant::now() + BOUND;
    while ready(&b).await != 200 {
        assert!(Instant::now() < deadline, "b did not take over\n{}", b.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut bodies = Vec::new();
    for _ in 0..20 {
        let got = call(
            &b,
            "ReceiveMessage",
            &format!(
                r#"{{"QueueUrl":"{queue_url}","MaxNumberOfMessages":10,"VisibilityTimeout":600,"WaitTimeSeconds":1}}"#
            ),
        )
        .await;
        let parsed: serde_json::Value = serde_json::from_str(&got).expect("JSON answer");
        let messages = parsed["Messages"].as_array().cloned().unwrap_or_default();
        if messages.is_empty() && bodies.len() >= 5 {
            break;
        }
        bodies.extend(messages.iter().filter_map(|m| m["Body"].as_str().map(str::to_string)));
    }
    bodies.sort();
    let expected: Vec<String> = (0..5).map(|i| format!("over tls {i}")).collect();
    assert_eq!(
        bodies, expected,
        "every message sent through the standby, served by it after the takeover"
    );
}
