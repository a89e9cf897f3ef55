//! Cluster mode with `--auth verify`: a policy with `aws:SourceIp` judges the client's address,
//! not the forwarding standby's. The standby vouches for the address it saw (an HMAC under a
//! key derived from the broker's replicated secret, bound to the request's signature); the
//! writer believes only a valid proof. Clients connect from 127.0.0.2 or 127.0.0.1 (loopback
//! holds all of 127/8 on Linux); the standby always forwards from 127.0.0.1.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use aws_sigv4::http_request::SigningSettings;
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use sluice_tests::{Broker, NatsCluster, ACCESS_KEY, SECRET_KEY};

/// Bounds a node's start.
const BOUND: Duration = Duration::from_secs(60);
const NEAR_KEY: &str = "AKIDFROMTWO";
const NEAR_SECRET: &str = "from-two-secret";

/// A signed SQS JSON call by `NEAR_KEY` to `node`, sent from `source`, with `extra` headers
/// added after signing (unsigned, as a forger would).
async fn call_from(node: &Broker, source: Ipv4Addr, body: &str, extra: &[(&str, &str)]) -> (u16, String) {
    let url = format!("http://127.0.0.1:{}/", node.port());
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(&url)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "AmazonSQS.SendMessage")
        .body(body.as_bytes().to_vec())
        .expect("request");
    sluice_tests::raw::sign_as(
        &mut req,
        "sqs",
        NEAR_KEY,
        NEAR_SECRET,
        SystemTime::now(),
        SigningSettings::default(),
    );
    for (name, value) in extra {
        let name = http::HeaderName::from_bytes(name.as_bytes()).expect("header name");
        req.headers_mut()
            .insert(name, http::HeaderValue::from_str(value).expect("header"));
    }
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from((source, 0)))
        .expect("bind the source address");
    let stream = socket
        .connect(SocketAddr::from(([127, 0, 0, 1], node.port())))
        .await
        .expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let (mut parts, body) = req.into_parts();
    parts.uri = "/".parse().expect("origin form");
    if !parts.headers.contains_key(http::header::HOST) {
        let host = http::HeaderValue::from_str(&format!("127.0.0.1:{}", node.port())).expect("host");
        parts.headers.insert(http::header::HOST, host);
    }
    let response = tokio::time::timeout(
        Duration::from_secs(30),
        sender.send_request(Request::from_parts(parts, Full::new(Bytes::from(body)))),
    )
    .await
    .expect("an answer within 30 s")
    .expect("response");
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_on_the_source_address_sees_the_client_through_a_standby_and_no_forged_claim() {
    let keys_dir = tempfile::tempdir().expect("dir");
    let keys = keys_dir.path().join("keys.yaml");
    std::fs::write(
        &keys,
        format!(
            "keys:\n\
             \x20 - {{ access_key_id: {ACCESS_KEY}, secret_access_key: {SECRET_KEY}, account_id: \"000000000000\" }}\n\
             \x20 - access_key_id: {NEAR_KEY}\n\
             \x20   secret_access_key: {NEAR_SECRET}\n\
             \x20   account_id: \"000000000000\"\n\
             \x20   policy:\n\
             \x20     Statement:\n\
             \x20       - {{ Effect: Allow, Action: \"sqs:SendMessage\", Resource: \"*\", Condition: {{ IpAddress: {{ \"aws:SourceIp\": \"127.0.0.2/32\" }} }} }}\n"
        ),
    )
    .expect("write keys");
    let keys = keys.to_string_lossy().into_owned();
    let nats = NatsCluster::start(3).await;
    let urls = nats.client_urls();
    let extra = ["--auth", "verify", "--credentials", keys.as_str()];
    let mut a = Broker::spawn_cluster_node(&urls, "a", &extra);
    a.wait_serving(BOUND).await.expect("node a writes");
    let b = Broker::spawn_cluster_node(&urls, "b", &extra);
    let ready = format!("{}/ready", b.endpoint());
    let deadline = Instant::now() + BOUND;
    while sluice_tests::raw::get_with_timeout(&ready, Duration::from_millis(500))
        .await
        .map_or(true, |r| r.status != 503)
    {
        assert!(Instant::now() < deadline, "b never followed as a standby\n{}", b.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let admin = sluice_tests::sqs_client_with_key(&a.endpoint(), ACCESS_KEY, SECRET_KEY, None).await;
    let url = admin
        .create_queue()
        .queue_name("near")
        .send()
        .await
        .expect("CreateQueue")
        .queue_url()
        .unwrap_or_default()
        .to_string();
    let body = format!(r#"{{"QueueUrl":"{url}","MessageBody":"from two"}}"#);

    // Wait (bounded) until b follows, holding the secret the proof is keyed with.
    let deadline = Instant::now() + BOUND;
    let two = Ipv4Addr::new(127, 0, 0, 2);
    let through_b = loop {
        let answer = call_from(&b, two, &body, &[]).await;
        if answer.0 == 200 || Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        through_b.0,
        200,
        "from 127.0.0.2 through the standby: {through_b:?}\n{}",
        b.log()
    );

    let one = Ipv4Addr::LOCALHOST;
    let denied = call_from(&b, one, &body, &[]).await;
    assert_eq!(denied.0, 403, "from 127.0.0.1 through the standby: {denied:?}");
    assert!(denied.1.contains("AccessDenied"), "{denied:?}");
    let direct = call_from(&a, two, &body, &[]).await;
    assert_eq!(direct.0, 200, "from 127.0.0.2 straight to the writer: {direct:?}");
    // A client that claims another address itself is not believed, with or without a proof.
    let forged = call_from(
        &a,
        one,
        &body,
        &[
            ("x-sluice-forwarded-for", "127.0.0.2"),
            ("x-sluice-forwarded-proof", "bm90IGEgcHJvb2Y="),
        ],
    )
    .await;
    assert_eq!(forged.0, 403, "a forged claim: {forged:?}");
    let forged_to_b = call_from(&b, one, &body, &[("x-sluice-forwarded-for", "127.0.0.2")]).await;
    assert_eq!(
        forged_to_b.0, 403,
        "a forged claim through the standby: {forged_to_b:?}"
    );
}
