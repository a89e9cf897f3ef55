//! SNS helpers for the end-to-end tests: the official `aws-sdk-sns` client configured like
//! [`crate::sqs_client`], and [`Receiver`], a local HTTP endpoint that records every delivery
//! and answers 500 to the first `fail_first` of them (retry tests).
//!
//! Every wait is bounded: [`Receiver::wait_for`] gives up after its timeout.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_sdk_sns::config::retry::RetryConfig;
use aws_sdk_sns::Client;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::client::{ACCESS_KEY, REGION, SECRET_KEY};

/// An SNS client for `endpoint` with the SDK's standard retries.
pub async fn sns_client(endpoint: &str) -> Client {
    build(endpoint, RetryConfig::standard()).await
}

/// An SNS client without retries (load generation, error tests).
pub async fn sns_client_no_retry(endpoint: &str) -> Client {
    build(endpoint, RetryConfig::disabled()).await
}

/// An SNS client signing with the given key, without retries (authentication tests).
pub async fn sns_client_with_key(endpoint: &str, access_key: &str, secret: &str) -> Client {
    build_with(
        endpoint,
        RetryConfig::disabled(),
        Credentials::new(access_key, secret, None, None, "sluice-tests"),
    )
    .await
}

async fn build(endpoint: &str, retry: RetryConfig) -> Client {
    build_with(
        endpoint,
        retry,
        Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "sluice-tests"),
    )
    .await
}

async fn build_with(endpoint: &str, retry: RetryConfig, credentials: Credentials) -> Client {
    Client::new(&crate::client::sdk_config(endpoint, REGION, retry, credentials).await)
}

/// Confirms a pending subscription with `AuthenticateOnUnsubscribe=true` (by `sns`'s signed
/// request) and returns its `ConfirmationWasAuthenticated` attribute afterwards.
pub async fn confirm_authenticated(sns: &Client, topic_arn: &str, subscription_arn: &str, token: &str) -> String {
    crate::sqs::ok(
        sns.confirm_subscription()
            .topic_arn(topic_arn)
            .token(token)
            .authenticate_on_unsubscribe("true")
            .send()
            .await,
        "ConfirmSubscription with AuthenticateOnUnsubscribe",
    );
    let attributes = crate::sqs::ok(
        sns.get_subscription_attributes()
            .subscription_arn(subscription_arn)
            .send()
            .await,
        "GetSubscriptionAttributes",
    );
    attributes
        .attributes()
        .and_then(|a| a.get("ConfirmationWasAuthenticated"))
        .cloned()
        .unwrap_or_default()
}

/// Subscribes `receiver`'s `path` over HTTP to `topic_arn` and waits (15 s at most) for the
/// SubscriptionConfirmation; returns the subscription ARN and that document (`Token`,
/// `SubscribeURL`), leaving the subscription pending.
pub async fn pending_http_subscription(
    sns: &Client,
    topic_arn: &str,
    receiver: &Receiver,
    path: &str,
) -> (String, serde_json::Value) {
    let subscribed = sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("http")
        .endpoint(receiver.url(path))
        .return_subscription_arn(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("Subscribe {path}: {}", aws_sdk_sns::error::DisplayErrorContext(&e)));
    let arn = subscribed.subscription_arn().expect("SubscriptionArn").to_string();
    let is_confirmation =
        |d: &Delivery| d.path == path && d.status == 200 && d.json()["Type"] == "SubscriptionConfirmation";
    let got = receiver
        .wait_for(Duration::from_secs(15), "SubscriptionConfirmation", |d| {
            d.iter().any(is_confirmation)
        })
        .await;
    let doc = got
        .iter()
        .find(|d| is_confirmation(d))
        .map(Delivery::json)
        .expect("a SubscriptionConfirmation");
    (arn, doc)
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Request path and query.
    pub path: String,
    /// Headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub body: String,
    /// The status the receiver answered.
    pub status: u16,
}

impl Delivery {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("delivery body is JSON")
    }
}

/// A local HTTP endpoint on 127.0.0.1 that records deliveries; it stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Delivery>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Starts a receiver that answers 500 to its first `fail_first` requests, then 200.
    pub async fn start(fail_first: usize) -> Receiver {
        Receiver::start_at("127.0.0.1:0", fail_first).await
    }

    /// Like [`Receiver::start`] on a given address (an endpoint coming back after an outage);
    /// retries the bind for up to 5 s while the previous listener on it closes.
    pub async fn start_at(addr: &str, fail_first: usize) -> Receiver {
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match TcpListener::bind(addr).await {
                Ok(listener) => break listener,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("bind receiver on {addr}: {e}"),
            }
        };
        let addr = listener.local_addr().expect("receiver address");
        let seen: Arc<Mutex<Vec<Delivery>>> = Arc::default();
        let count = Arc::new(AtomicUsize::new(0));
        let task_seen = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let seen = task_seen.clone();
                let count = count.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let seen = seen.clone();
                        let count = count.clone();
                        async move {
                            let path = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
                            let headers = req
                                .headers()
                                .iter()
                                .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
                                .collect();
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let n = count.fetch_add(1, Ordering::SeqCst);
                            let status = if n < fail_first { 500 } else { 200 };
                            seen.lock().expect("receiver log").push(Delivery {
                                path,
                                headers,
                                body: String::from_utf8_lossy(&body).into_owned(),
                                status,
                            });
                            let mut response = hyper::Response::new(Full::new(Bytes::new()));
                            *response.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver { addr, seen, task }
    }

    /// The endpoint URL to subscribe.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Everything received so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.seen.lock().expect("receiver log").clone()
    }

    /// Waits until `done` holds for the deliveries so far, or panics after `timeout`.
    pub async fn wait_for(&self, timeout: Duration, what: &str, done: impl Fn(&[Delivery]) -> bool) -> Vec<Delivery> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.deliveries();
            if done(&got) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "receiver: {what} not seen within {timeout:?}; got {} deliveries",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// AWS's string to sign for an SNS document (the JSON as delivered), rebuilt independently of
/// the broker from the SNS developer guide ("Verifying the signatures of Amazon SNS messages").
pub fn string_to_sign(doc: &serde_json::Value) -> String {
    let kind = doc["Type"].as_str().unwrap_or_default();
    let names: &[&str] = if kind == "Notification" {
        &["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    } else {
        &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]
    };
    let mut out = String::new();
    for name in names {
        if let Some(value) = doc.get(*name).and_then(|v| v.as_str()) {
            out.push_str(name);
            out.push('\n');
            out.push_str(value);
            out.push('\n');
        }
    }
    out
}

/// Verifies a delivered document's `Signature` with the certificate fetched from its
/// `SigningCertURL`, as a standard validator does: SHA1withRSA for SignatureVersion 1,
/// SHA256withRSA for 2. Panics with the reason when it does not verify.
pub async fn verify_signature(doc: &serde_json::Value) {
    let url = doc["SigningCertURL"].as_str().expect("SigningCertURL");
    let pem = crate::raw::get_with_timeout(url, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(pem.status, 200, "GET {url}: {}", pem.body);
    let b64: String = pem.body.lines().filter(|l| !l.starts_with("-----")).collect();
    use base64::Engine as _;
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .expect("certificate PEM is base64");
    let public_key = rsa_public_key(&der).expect("an RSA public key in the certificate");
    let signature = base64::engine::general_purpose::STANDARD
        .decode(doc["Signature"].as_str().expect("Signature"))
        .expect("Signature is base64");
    let algorithm: &dyn ring::signature::VerificationAlgorithm = match doc["SignatureVersion"].as_str() {
        Some("1") => &ring::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        Some("2") => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        other => panic!("unexpected SignatureVersion {other:?}"),
    };
    ring::signature::UnparsedPublicKey::new(algorithm, public_key)
        .verify(string_to_sign(doc).as_bytes(), &signature)
        .unwrap_or_else(|_| panic!("signature does not verify: {doc}"));
}

/// One DER element: (tag, contents, rest).
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        let (bytes, rest) = rest.split_at_checked(n)?;
        (bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize), rest)
    };
    let (contents, rest) = rest.split_at_checked(len)?;
    Some((tag, contents, rest))
}

fn der_children(mut input: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (tag, contents, rest) = der_element(input)?;
        out.push((tag, contents));
        input = rest;
    }
    Some(out)
}

/// The PKCS#1 RSAPublicKey inside an X.509 certificate's SubjectPublicKeyInfo.
fn rsa_public_key(cert: &[u8]) -> Option<&[u8]> {
    let (_, certificate, _) = der_element(cert)?;
    let (_, tbs) = *der_children(certificate)?.first()?;
    let mut fields = der_children(tbs)?;
    if fields.first()?.0 == 0xa0 {
        fields.remove(0);
    }
    // serial, signature, issuer, validity, subject, subjectPublicKeyInfo
    let (_, spki) = *fields.get(5)?;
    let (tag, bits) = *der_children(spki)?.get(1)?;
    (tag == 0x03).then(|| bits.get(1..)).flatten()
}
