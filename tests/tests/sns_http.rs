//! SNS delivery to HTTP endpoints: the subscription handshake (SubscriptionConfirmation, then
//! ConfirmSubscription or a GET of SubscribeURL), Notification POSTs with AWS's headers and a
//! signature that verifies with the served certificate, retries on the delivery policy against
//! a receiver that fails, the dead-letter queue after the last retry, UnsubscribeURL, and an
//! outbox delivery resumed after a restart.

use std::time::Duration;

use sluice_tests::raw;
use sluice_tests::sns::{
    confirm_authenticated, pending_http_subscription, sns_client, verify_signature, Delivery, Receiver,
};
use sluice_tests::sqs::{create_queue, ok, receive};
use sluice_tests::Broker;

async fn http_topic(sns: &aws_sdk_sns::Client, name: &str) -> String {
    ok(sns.create_topic().name(name).send().await, "CreateTopic")
        .topic_arn()
        .expect("TopicArn")
        .to_string()
}

fn notifications(got: &[Delivery]) -> Vec<&Delivery> {
    got.iter()
        .filter(|d| d.header("x-amz-sns-message-type") == Some("Notification"))
        .collect()
}

/// A retry policy with one-second delays, so retry tests take seconds, not minutes.
const FAST_RETRIES: &str = r#"{"healthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":1,"numRetries":3}}"#;

#[tokio::test]
async fn http_subscription_is_confirmed_then_receives_signed_notifications() {
    let broker = Broker::start().await;
    let sns = sns_client(&broker.endpoint()).await;
    let receiver = Receiver::start(0).await;
    let arn = http_topic(&sns, "web").await;
    let out = ok(
        sns.subscribe()
            .topic_arn(&arn)
            .protocol("http")
            .endpoint(receiver.url("/hook"))
            .send()
            .await,
        "Subscribe",
    );
    assert_eq!(out.subscription_arn(), Some("pending confirmation"));
    let got = receiver
        .wait_for(Duration::from_secs(10), "SubscriptionConfirmation", |d| !d.is_empty())
        .await;
    let confirmation = &got[0];
    assert_eq!(confirmation.path, "/hook");
    assert_eq!(
        confirmation.header("x-amz-sns-message-type"),
        Some("SubscriptionConfirmation")
    );
    assert_eq!(confirmation.header("x-amz-sns-topic-arn"), Some(arn.as_str()));
    assert_eq!(
        confirmation.header("user-agent"),
        Some("Amazon Simple Notification Service Agent")
    );
    let doc = confirmation.json();
    assert_eq!(doc["Type"], "SubscriptionConfirmation");
    verify_signature(&doc).await;
    let listed = ok(sns.list_subscriptions_by_topic().topic_arn(&arn).send().await, "List");
    assert_eq!(
        listed.subscriptions()[0].subscription_arn(),
        Some("PendingConfirmation")
    );

    // Nothing is delivered before confirmation.
    ok(
        sns.publish().topic_arn(&arn).message("too early").send().await,
        "Publish",
    );

    // The subscriber confirms by opening SubscribeURL: an unsigned GET, as AWS allows.
    let subscribe_url = doc["SubscribeURL"].as_str().expect("SubscribeURL");
    let confirmed = raw::get_with_timeout(subscribe_url, Duration::from_secs(10))
        .await
        .expect("GET SubscribeURL");
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert!(confirmed.body.contains("<SubscriptionArn>"), "{}", confirmed.body);
    let listed = ok(sns.list_subscriptions_by_topic().topic_arn(&arn).send().await, "List");
    let sub_arn = listed.subscriptions()[0].subscription_arn().unwrap().to_string();
    assert!(sub_arn.starts_with(&arn));

    let published = ok(
        sns.publish()
            .topic_arn(&arn)
            .message("hello http")
            .subject("S")
            .send()
            .await,
        "Publish",
    );
    let got = receiver
        .wait_for(Duration::from_secs(10), "Notification", |d| {
            !notifications(d).is_empty()
        })
        .await;
    let notes = notifications(&got);
    assert_eq!(notes.len(), 1, "the early publish was not delivered");
    let note = notes[0];
    assert_eq!(note.header("x-amz-sns-message-id"), published.message_id());
    assert_eq!(note.header("x-amz-sns-subscription-arn"), Some(sub_arn.as_str()));
    assert_eq!(note.header("content-type"), Some("text/plain; charset=UTF-8"));
    let doc = note.json();
    assert_eq!(doc["Message"], "hello http");
    assert_eq!(doc["Subject"], "S");
    verify_signature(&doc).await;

    // UnsubscribeURL works unsigned too, and ends deliveries.
    let unsubscribe_url = doc["UnsubscribeURL"].as_str().unwrap();
    let gone = raw::get_with_timeout(unsubscribe_url, Duration::from_secs(10))
        .await
        .expect("GET UnsubscribeURL");
    assert_eq!(gone.status, 200, "{}", gone.body);
    let listed = ok(sns.list_subscriptions_by_topic().topic_arn(&arn).send().await, "List");
    assert!(listed.subscriptions().is_empty());
}

/// With `--auth off` nothing is verified and every request counts as authenticated:
/// AuthenticateOnUnsubscribe is recorded as asked, and the UnsubscribeURL keeps working
/// (docs/security.md, "Unsubscribing"; `tests/tests/auth.rs` checks the refusal under
/// `--auth verify`).
#[tokio::test]
async fn with_auth_off_authenticate_on_unsubscribe_is_recorded_but_not_enforced() {
    let broker = Broker::start().await;
    let sns = sns_client(&broker.endpoint()).await;
    let receiver = Receiver::start(0).await;
    let arn = http_topic(&sns, "flagged").await;
    let (sub_arn, doc) = pending_http_subscription(&sns, &arn, &receiver, "/flagged").await;
    let token = doc["Token"].as_str().expect("Token");
    assert_eq!(confirm_authenticated(&sns, &arn, &sub_arn, token).await, "true");
    let url = format!(
        "{}/?{}",
        broker.endpoint(),
        raw::form_encode(&[("Action", "Unsubscribe"), ("SubscriptionArn", &sub_arn)])
    );
    let gone = raw::get_with_timeout(&url, Duration::from_secs(10))
        .await
        .expect("GET UnsubscribeURL");
    assert_eq!(gone.status, 200, "{}", gone.body);
    let listed = ok(sns.list_subscriptions_by_topic().topic_arn(&arn).send().await, "List");
    assert!(listed.subscriptions().is_empty());
}

/// Subscribes `receiver` with the fast retry policy (and `extra` attributes) and confirms it
/// with ConfirmSubscription, as an application does after reading the token.
async fn confirmed_http_subscription(
    sns: &aws_sdk_sns::Client,
    arn: &str,
    receiver: &Receiver,
    extra: &[(&str, &str)],
) -> String {
    let mut req = sns
        .subscribe()
        .topic_arn(arn)
        .protocol("http")
        .endpoint(receiver.url("/"))
        .attributes("DeliveryPolicy", FAST_RETRIES)
        .return_subscription_arn(true);
    for (k, v) in extra {
        req = req.attributes(*k, *v);
    }
    let sub_arn = ok(req.send().await, "Subscribe")
        .subscription_arn()
        .unwrap()
        .to_string();
    let got = receiver
        .wait_for(Duration::from_secs(15), "SubscriptionConfirmation", |d| {
            d.iter()
                .any(|d| d.status == 200 && d.json()["Type"] == "SubscriptionConfirmation")
        })
        .await;
    let token = got
        .iter()
        .find(|d| d.status == 200)
        .map(|d| d.json()["Token"].as_str().unwrap().to_string())
        .unwrap();
    let confirmed = ok(
        sns.confirm_subscription().topic_arn(arn).token(token).send().await,
        "ConfirmSubscription",
    );
    assert_eq!(confirmed.subscription_arn(), Some(sub_arn.as_str()));
    sub_arn
}

#[tokio::test]
async fn failed_deliveries_are_retried_on_the_delivery_policy() {
    let broker = Broker::start().await;
    let sns = sns_client(&broker.endpoint()).await;
    // The confirmation fails twice too, and is retried like any delivery.
    let receiver = Receiver::start(2).await;
    let arn = http_topic(&sns, "retry").await;
    confirmed_http_subscription(&sns, &arn, &receiver, &[]).await;
    ok(
        sns.publish().topic_arn(&arn).message("eventually").send().await,
        "Publish",
    );
    let got = receiver
        .wait_for(Duration::from_secs(15), "the notification", |d| {
            notifications(d).iter().any(|n| n.status == 200)
        })
        .await;
    let attempts: Vec<u16> = got.iter().map(|d| d.status).collect();
    assert_eq!(
        attempts,
        vec![500, 500, 200, 200],
        "confirmation retried twice, then the notification"
    );
}

#[tokio::test]
async fn exhausted_retries_go_to_the_dead_letter_queue() {
    let broker = Broker::start().await;
    let sns = sns_client(&broker.endpoint()).await;
    let sqs = broker.sqs().await;
    let dlq = create_queue(&sqs, "sns-dlq", &[]).await;
    let receiver = Receiver::start(0).await;
    let arn = http_topic(&sns, "doomed").await;
    let sub_arn = confirmed_http_subscription(&sns, &arn, &receiver, &[]).await;
    ok(
        sns.set_subscription_attributes()
            .subscription_arn(&sub_arn)
            .attribute_name("RedrivePolicy")
            .attribute_value(r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:sns-dlq"}"#)
            .send()
            .await,
        "SetSubscriptionAttributes",
    );
    // From now on the endpoint is down.
    drop(receiver);
    ok(
        sns.publish().topic_arn(&arn).message("lost cause").send().await,
        "Publish",
    );
    let mut dead = Vec::new();
    for _ in 0..20 {
        dead = receive(&sqs, &dlq, 10, 1, None).await;
        if !dead.is_empty() {
            break;
        }
    }
    assert_eq!(
        dead.len(),
        1,
        "the message reached the dead-letter queue after 1 + 3 attempts"
    );
    let doc: serde_json::Value = serde_json::from_str(dead[0].body().unwrap()).unwrap();
    assert_eq!(doc["Message"], "lost cause");
}

#[tokio::test]
async fn pending_deliveries_resume_after_a_restart() {
    let mut broker = Broker::start().await;
    let sns = sns_client(&broker.endpoint()).await;
    let receiver = Receiver::start(0).await;
    let arn = http_topic(&sns, "durable").await;
    let slow = r#"{"healthyRetryPolicy":{"minDelayTarget":2,"maxDelayTarget":2,"numRetries":5}}"#;
    let sub_arn = confirmed_http_subscription(&sns, &arn, &receiver, &[]).await;
    ok(
        sns.set_subscription_attributes()
            .subscription_arn(&sub_arn)
            .attribute_name("DeliveryPolicy")
            .attribute_value(slow)
            .send()
            .await,
        "SetSubscriptionAttributes",
    );
    // The endpoint goes away; the publish is acknowledged and waits in the outbox.
    let port_url = receiver.url("/");
    drop(receiver);
    ok(
        sns.publish().topic_arn(&arn).message("survives restarts").send().await,
        "Publish",
    );
    broker.kill9();
    broker.start_again().await;
    // The endpoint comes back on the same address; the resumed outbox delivers to it.
    let addr = port_url.trim_start_matches("http://").trim_end_matches('/').to_string();
    let receiver = Receiver::start_at(&addr, 0).await;
    let got = receiver
        .wait_for(Duration::from_secs(20), "the resumed notification", |d| {
            !notifications(d).is_empty()
        })
        .await;
    assert_eq!(notifications(&got)[0].json()["Message"], "survives restarts");
}

fn fixture(name: &str) -> String {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/tls")
        .join(name)
        .to_string_lossy()
        .to_string()
}

/// An HTTPS endpoint with the test CA's certificate for localhost/127.0.0.1 that records the
/// bodies it gets; it stops when the task is dropped.
async fn tls_receiver() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    tokio::task::JoinHandle<()>,
) {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};

    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(fixture("cert.pem"))
        .expect("read cert")
        .collect::<Result<_, _>>()
        .expect("parse cert");
    let key = PrivateKeyDer::from_pem_file(fixture("key.pem")).expect("read key");
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!(
        "https://localhost:{}/secure",
        listener.local_addr().expect("addr").port()
    );
    let bodies: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let seen = bodies.clone();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, seen) = (acceptor.clone(), seen.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let seen = seen.clone();
                    async move {
                        use http_body_util::BodyExt;
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        seen.lock().unwrap().push(String::from_utf8_lossy(&body).into_owned());
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(http_body_util::Full::new(
                            bytes::Bytes::new(),
                        )))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (url, bodies, task)
}

#[tokio::test]
async fn https_endpoints_are_verified_against_the_configured_ca() {
    let (url, bodies, _task) = tls_receiver().await;
    let wait_for = |n: usize| {
        let bodies = bodies.clone();
        async move {
            for _ in 0..500 {
                if bodies.lock().unwrap().len() >= n {
                    return bodies.lock().unwrap().clone();
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            panic!("https receiver: {n} deliveries not seen in 10 s");
        }
    };

    // Trusting the test CA: the handshake, confirmation and notification all go through.
    let broker = Broker::start_with(&["--sns-https-ca", &fixture("ca.pem")]).await;
    let sns = sns_client(&broker.endpoint()).await;
    let arn = http_topic(&sns, "secure").await;
    ok(
        sns.subscribe()
            .topic_arn(&arn)
            .protocol("https")
            .endpoint(&url)
            .send()
            .await,
        "Subscribe https",
    );
    let got = wait_for(1).await;
    let confirmation: serde_json::Value = serde_json::from_str(&got[0]).expect("json");
    let token = confirmation["Token"].as_str().expect("Token");
    ok(
        sns.confirm_subscription().topic_arn(&arn).token(token).send().await,
        "ConfirmSubscription",
    );
    ok(
        sns.publish().topic_arn(&arn).message("over tls").send().await,
        "Publish",
    );
    let got = wait_for(2).await;
    let note: serde_json::Value = serde_json::from_str(&got[1]).expect("json");
    assert_eq!(note["Message"], "over tls");

    // Without the CA the endpoint's certificate is refused: the attempt fails, nothing arrives.
    let untrusting = Broker::start().await;
    let sns = sns_client(&untrusting.endpoint()).await;
    let arn = http_topic(&sns, "untrusted").await;
    ok(
        sns.subscribe()
            .topic_arn(&arn)
            .protocol("https")
            .endpoint(&url)
            .send()
            .await,
        "Subscribe https",
    );
    let want = r#"sluice_topic_delivery_failures_total{account="000000000000",protocol="https",region="us-east-1",topic="untrusted"} 1"#;
    let mut metrics = String::new();
    for _ in 0..250 {
        metrics = raw::get_with_timeout(&format!("{}/metrics", untrusting.endpoint()), Duration::from_secs(5))
            .await
            .expect("GET /metrics")
            .body;
        if metrics.contains(want) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(metrics.contains(want), "{want} missing:\n{metrics}");
    assert_eq!(
        bodies.lock().unwrap().len(),
        2,
        "nothing reached the endpoint without trust"
    );
}
