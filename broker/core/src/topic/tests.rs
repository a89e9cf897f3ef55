//! Topic semantics without a server: fan-out to queues, raw delivery, filtering, FIFO
//! deduplication, the outbox's retries and dead-letter queue, and recovery after a restart.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;
use std::sync::Mutex as StdMutex;
use std::time::Duration;

use sluice_storage::{Durability, Store, StoreOptions};

use super::outbox::{HttpFuture, HttpOutcome, HttpRequest, HttpTransport};
use super::*;
use crate::queue::message::MessageAttribute;
use crate::queue::{QueueKey, ReceiveRequest};

fn open_store(dir: &std::path::Path) -> Arc<Store> {
    Arc::new(
        Store::open(
            dir,
            StoreOptions {
                durability: Durability::Process,
            },
        )
        .expect("open store"),
    )
}

/// Queues and topics on a fresh store in `dir` (shared with the console view's tests).
pub(super) fn open(dir: &std::path::Path) -> (Arc<Queues>, Arc<Topics>) {
    let store = open_store(dir);
    let clock = Clock::new();
    let queues = Arc::new(Queues::open(store.clone(), clock).expect("queues"));
    let topics = Arc::new(Topics::open(store, clock, queues.clone()).expect("topics"));
    (queues, topics)
}

/// Attributes from name-value pairs.
pub(super) fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn topic(name: &str) -> TopicKey {
    TopicKey::new("000000000000", "us-east-1", name)
}

fn queue(name: &str) -> QueueKey {
    QueueKey::new("000000000000", "us-east-1", name)
}

fn ctx() -> PublishContext {
    PublishContext {
        base_url: "http://127.0.0.1:4566".into(),
        cross_account_check: None,
    }
}

fn text(message: &str) -> PublishMessage {
    PublishMessage {
        message: message.into(),
        ..PublishMessage::default()
    }
}

/// A raw-delivery subscription of a new FIFO queue `q.fifo` to the FIFO topic `t`.
fn subscribe_fifo_queue(queues: &Queues, topics: &Topics, t: &TopicKey) {
    queues
        .create_queue(&queue("q.fifo"), &attrs(&[("FifoQueue", "true")]), &BTreeMap::new())
        .expect("queue");
    topics
        .subscribe(
            t,
            "sqs",
            &queue("q.fifo").arn(),
            &attrs(&[("RawMessageDelivery", "true")]),
            "0",
            &ctx(),
        )
        .expect("sub");
}

async fn drain(queues: &Queues, q: &QueueKey) -> Vec<crate::queue::message::ReceivedMessage> {
    let mut all = Vec::new();
    loop {
        let got = queues
            .receive(
                q,
                ReceiveRequest {
                    max_messages: 10,
                    visibility_timeout: Some(30),
                    wait_seconds: Some(0),
                    attempt_id: None,
                },
            )
            .await
            .expect("receive");
        if got.is_empty() {
            return all;
        }
        all.extend(got);
    }
}

#[tokio::test]
async fn publish_fans_out_envelopes_and_raw_bodies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (queues, topics) = open(dir.path());
    let t = topic("orders");
    topics
        .create_topic(&t, &BTreeMap::new(), &BTreeMap::new())
        .expect("create");
    for name in ["a", "b"] {
        queues
            .create_queue(&queue(name), &BTreeMap::new(), &BTreeMap::new())
            .expect("queue");
    }
    let raw = attrs(&[("RawMessageDelivery", "true")]);
    topics
        .subscribe(&t, "sqs", &queue("a").arn(), &BTreeMap::new(), "000000000000", &ctx())
        .expect("sub a");
    topics
        .subscribe(&t, "sqs", &queue("b").arn(), &raw, "000000000000", &ctx())
        .expect("sub b");
    let mut msg = text("hello");
    msg.subject = Some("greeting".into());
    msg.attributes.insert(
        "color".into(),
        MessageAttribute {
            data_type: "String".into(),
            string_value: Some("red".into()),
            binary_value: None,
        },
    );
    let published = topics.publish(&t, vec![msg], &ctx()).expect("publish");
    let id = published[0].as_ref().expect("published").message_id.clone();

    let a = drain(&queues, &queue("a")).await;
    assert_eq!(a.len(), 1);
    let envelope: serde_json::Value = serde_json::from_str(&a[0].body).expect("json envelope");
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["MessageId"], id.as_str());
    assert_eq!(envelope["Message"], "hello");
    assert_eq!(envelope["Subject"], "greeting");
    assert_eq!(envelope["TopicArn"], t.arn());
    assert_eq!(envelope["MessageAttributes"]["color"]["Value"], "red");
    assert_eq!(envelope["SignatureVersion"], "1");
    assert!(envelope["UnsubscribeURL"]
        .as_str()
        .unwrap()
        .contains("Action=Unsubscribe"));
    assert!(a[0].attributes.is_empty());

    let b = drain(&queues, &queue("b")).await;
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].body, "hello");
    assert_eq!(b[0].attributes["color"].string_value.as_deref(), Some("red"));
}

#[tokio::test]
async fn filter_policies_choose_subscriptions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (queues, topics) = open(dir.path());
    let t = topic("events");
    topics
        .create_topic(&t, &BTreeMap::new(), &BTreeMap::new())
        .expect("create");
    for name in ["red", "body"] {
        queues
            .create_queue(&queue(name), &BTreeMap::new(), &BTreeMap::new())
            .expect("queue");
    }
    topics
        .subscribe(
            &t,
            "sqs",
            &queue("red").arn(),
            &attrs(&[("FilterPolicy", r#"{"color":["red"]}"#)]),
            "000000000000",
            &ctx(),
        )
        .expect("sub");
    topics
        .subscribe(
            &t,
            "sqs",
            &queue("body").arn(),
            &attrs(&[
                ("FilterPolicy", r#"{"order":{"total":[{"numeric":[">",100]}]}}"#),
                ("FilterPolicyScope", "MessageBody"),
            ]),
            "000000000000",
            &ctx(),
        )
        .expect("sub");
    let colored = |c: &str, body: &str| {
        let mut m = text(body);
        m.attributes.insert(
            "color".into(),
            MessageAttribute {
                data_type: "String".into(),
                string_value: Some(c.into()),
                binary_value: None,
            },
        );
        m
    };
    topics
        .publish(
            &t,
            vec![
                colored("red", r#"{"order":{"total":50}}"#),
                colored("blue", r#"{"order":{"total":500}}"#),
                text("not json"),
            ],
            &ctx(),
        )
        .expect("publish");
    let red = drain(&queues, &queue("red")).await;
    assert_eq!(red.len(), 1);
    let body = drain(&queues, &queue("body")).await;
    assert_eq!(body.len(), 1);
    assert!(body[0].body.contains("500"));
}

#[tokio::test]
async fn fifo_topics_deduplicate_and_keep_group_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (queues, topics) = open(dir.path());
    let t = topic("t.fifo");
    let err = topics
        .create_topic(&topic("plain"), &attrs(&[("FifoTopic", "true")]), &BTreeMap::new())
        .unwrap_err();
    assert!(matches!(err, TopicError::InvalidParameter(_)));
    topics
        .create_topic(
            &t,
            &attrs(&[("FifoTopic", "true"), ("ContentBasedDeduplication", "true")]),
            &BTreeMap::new(),
        )
        .expect("create");
    subscribe_fifo_queue(&queues, &topics, &t);
    assert!(topics
        .subscribe(&t, "http", "http://127.0.0.1:1/", &BTreeMap::new(), "0", &ctx())
        .is_err());
    let grouped = |body: &str| PublishMessage {
        group_id: Some("g".into()),
        ..text(body)
    };
    let no_group = topics.publish(&t, vec![text("x")], &ctx()).expect("publish");
    assert!(no_group[0].is_err());
    let first = topics
        .publish(&t, vec![grouped("one"), grouped("two"), grouped("one")], &ctx())
        .expect("publish");
    let ids: Vec<Published> = first.into_iter().map(|r| r.expect("ok")).collect();
    assert_eq!(ids[0], ids[2], "a duplicate is answered like the original");
    assert!(ids[0].sequence_number < ids[1].sequence_number);
    let again = topics.publish(&t, vec![grouped("two")], &ctx()).expect("publish");
    assert_eq!(again[0].as_ref().expect("ok"), &ids[1]);
    let bodies: Vec<String> = drain(&queues, &queue("q.fifo"))
        .await
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(bodies, vec!["one".to_string(), "two".to_string()]);
    assert!(topics
        .publish(
            &topic("t.fifo"),
            vec![PublishMessage {
                deduplication_id: Some("d".into()),
                ..text("y")
            }],
            &ctx()
        )
        .expect("publish")[0]
        .is_err());
}

/// A transport that fails the first `failures` posts, then accepts, recording every request.
struct FlakyTransport {
    failures: usize,
    calls: AtomicUsize,
    seen: StdMutex<Vec<HttpRequest>>,
}

impl HttpTransport for FlakyTransport {
    fn post(&self, request: HttpRequest) -> HttpFuture {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        self.seen.lock().unwrap().push(request);
        let outcome = if n < self.failures {
            HttpOutcome::Failed("503".into())
        } else {
            HttpOutcome::Delivered
        };
        Box::pin(async move { outcome })
    }
}

async fn wait_until(mut done: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached");
}

#[tokio::test(start_paused = true)]
async fn http_deliveries_retry_then_dead_letter_and_survive_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (queues, topics) = open(dir.path());
    let t = topic("web");
    topics
        .create_topic(&t, &BTreeMap::new(), &BTreeMap::new())
        .expect("create");
    queues
        .create_queue(&queue("dlq"), &BTreeMap::new(), &BTreeMap::new())
        .expect("dlq");
    let sub_attrs = attrs(&[
        (
            "DeliveryPolicy",
            r#"{"healthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":1,"numRetries":2}}"#,
        ),
        (
            "RedrivePolicy",
            &format!(r#"{{"deadLetterTargetArn":"{}"}}"#, queue("dlq").arn()),
        ),
    ]);
    let outcome = topics
        .subscribe(&t, "http", "http://127.0.0.1:9/hook", &sub_attrs, "0", &ctx())
        .expect("subscribe");
    assert!(outcome.pending);
    assert_eq!(topics.pending_deliveries(), 1, "the confirmation waits in the outbox");
    // Nothing is delivered before confirmation; a restart keeps the pending confirmation.
    drop(topics);
    drop(queues);
    let (queues, topics) = open(dir.path());
    assert_eq!(topics.pending_deliveries(), 1);
    let transport = Arc::new(FlakyTransport {
        failures: 0,
        calls: AtomicUsize::new(0),
        seen: StdMutex::new(Vec::new()),
    });
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(topics.clone().run_outbox(transport.clone(), async {
        let _ = stop_rx.await;
    }));
    wait_until(|| topics.pending_deliveries() == 0).await;
    let confirmation = transport.seen.lock().unwrap()[0].clone();
    let doc: serde_json::Value = serde_json::from_str(&confirmation.body).expect("json");
    assert_eq!(doc["Type"], "SubscriptionConfirmation");
    let token = doc["Token"].as_str().expect("token").to_string();
    assert!(doc["SubscribeURL"].as_str().unwrap().contains(&token));
    let arn = topics.confirm_subscription(&t, &token, false).expect("confirm");
    assert_eq!(arn, outcome.arn);
    assert!(topics.confirm_subscription(&t, "wrong", false).is_err());
    let _ = stop_tx.send(());
    worker.await.expect("worker");

    // Every attempt fails: two retries a second apart, then the dead-letter queue.
    let failing = Arc::new(FlakyTransport {
        failures: usize::MAX,
        calls: AtomicUsize::new(0),
        seen: StdMutex::new(Vec::new()),
    });
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(topics.clone().run_outbox(failing.clone(), async {
        let _ = stop_rx.await;
    }));
    topics.publish(&t, vec![text("payload")], &ctx()).expect("publish");
    wait_until(|| topics.pending_deliveries() == 0).await;
    assert_eq!(failing.calls.load(Ordering::SeqCst), 3);
    let request = failing.seen.lock().unwrap()[0].clone();
    assert!(request
        .headers
        .iter()
        .any(|(n, v)| *n == "x-amz-sns-message-type" && v == "Notification"));
    assert!(request
        .headers
        .iter()
        .any(|(n, v)| *n == "x-amz-sns-subscription-arn" && *v == arn));
    let dead = drain(&queues, &queue("dlq")).await;
    assert_eq!(dead.len(), 1);
    assert!(dead[0].body.contains("payload"));
    assert_eq!(topics.delivery_counters().dead_lettered.load(Ordering::Relaxed), 1);
    let _ = stop_tx.send(());
    worker.await.expect("worker");
}

#[tokio::test]
async fn subscriptions_and_topics_survive_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (queues, topics) = open(dir.path());
        queues
            .create_queue(&queue("q"), &BTreeMap::new(), &BTreeMap::new())
            .expect("queue");
        topics
            .create_topic(
                &topic("keep"),
                &attrs(&[("DisplayName", "Keep")]),
                &attrs(&[("team", "a")]),
            )
            .expect("create");
        topics
            .subscribe(&topic("keep"), "sqs", &queue("q").arn(), &BTreeMap::new(), "0", &ctx())
            .expect("sub");
    }
    let (queues, topics) = open(dir.path());
    let got = topics.get_topic_attributes(&topic("keep")).expect("attributes");
    assert_eq!(got["DisplayName"], "Keep");
    assert_eq!(got["SubscriptionsConfirmed"], "1");
    assert_eq!(topics.list_tags(&topic("keep")).expect("tags")["team"], "a");
    topics
        .publish(&topic("keep"), vec![text("after restart")], &ctx())
        .expect("publish");
    assert_eq!(drain(&queues, &queue("q")).await.len(), 1);
    topics.delete_topic(&topic("keep")).expect("delete");
    topics.delete_topic(&topic("keep")).expect("deleting twice is fine");
    assert!(matches!(
        topics.get_topic_attributes(&topic("keep")),
        Err(TopicError::NotFound(_))
    ));
}

#[test]
fn list_topics_paginates_by_hundreds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_queues, topics) = open(dir.path());
    for i in 0..205 {
        topics
            .create_topic(&topic(&format!("t{i:03}")), &BTreeMap::new(), &BTreeMap::new())
            .expect("create");
    }
    let mut token = None;
    let mut all = Vec::new();
    loop {
        let page = topics
            .list_topics("000000000000", "us-east-1", token.as_deref())
            .expect("page");
        assert!(page.items.len() <= 100);
        all.extend(page.items);
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(all.len(), 205);
    assert!(all.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn fifo_topic_deduplication_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = topic("orders.fifo");
    let grouped = |body: &str, dedup: &str| PublishMessage {
        group_id: Some("g".into()),
        deduplication_id: Some(dedup.into()),
        ..text(body)
    };
    let first = {
        let (queues, topics) = open(dir.path());
        topics
            .create_topic(&t, &attrs(&[("FifoTopic", "true")]), &BTreeMap::new())
            .expect("create");
        subscribe_fifo_queue(&queues, &topics, &t);
        let mut results = topics
            .publish(&t, vec![grouped("one", "d-1")], &ctx())
            .expect("publish");
        results.remove(0).expect("published")
    };
    let (queues, topics) = open(dir.path());
    let again = topics
        .publish(&t, vec![grouped("one again", "d-1"), grouped("two", "d-2")], &ctx())
        .expect("publish");
    assert_eq!(
        again[0].as_ref().expect("duplicate"),
        &first,
        "answered like the original after a restart"
    );
    let second = again[1].as_ref().expect("new");
    assert!(
        second.sequence_number > first.sequence_number,
        "sequence numbers keep increasing"
    );
    let bodies: Vec<String> = drain(&queues, &queue("q.fifo"))
        .await
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(bodies, vec!["one".to_string(), "two".to_string()]);
}

/// A transport that accepts everything and records when each request was made.
struct TimedTransport {
    at: StdMutex<Vec<(String, tokio::time::Instant)>>,
}

impl HttpTransport for TimedTransport {
    fn post(&self, request: HttpRequest) -> HttpFuture {
        let kind = request
            .headers
            .iter()
            .find(|(n, _)| *n == "x-amz-sns-message-type")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        self.at.lock().unwrap().push((kind, tokio::time::Instant::now()));
        Box::pin(async { HttpOutcome::Delivered })
    }
}

#[tokio::test(start_paused = true)]
async fn throttle_policy_spaces_http_deliveries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_queues, topics) = open(dir.path());
    let t = topic("throttled");
    topics
        .create_topic(&t, &BTreeMap::new(), &BTreeMap::new())
        .expect("create");
    let policy = attrs(&[("DeliveryPolicy", r#"{"throttlePolicy":{"maxReceivesPerSecond":2}}"#)]);
    topics
        .subscribe(&t, "http", "http://127.0.0.1:9/", &policy, "0", &ctx())
        .expect("subscribe");
    let transport = Arc::new(TimedTransport {
        at: StdMutex::new(Vec::new()),
    });
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(topics.clone().run_outbox(transport.clone(), async {
        let _ = stop_rx.await;
    }));
    wait_until(|| topics.pending_deliveries() == 0).await;
    let token = {
        let keys: Vec<String> = topics.subscriptions.read().unwrap().keys().cloned().collect();
        let sub = topics.lookup_subscription(&keys[0]).expect("sub");
        let record = sub.record();
        record.token.clone().expect("token")
    };
    topics.confirm_subscription(&t, &token, false).expect("confirm");
    let messages = (0..6).map(|i| text(&format!("m{i}"))).collect();
    topics.publish(&t, messages, &ctx()).expect("publish");
    wait_until(|| topics.pending_deliveries() == 0).await;
    let times: Vec<tokio::time::Instant> = transport
        .at
        .lock()
        .unwrap()
        .iter()
        .filter(|(kind, _)| kind == "Notification")
        .map(|(_, at)| *at)
        .collect();
    assert_eq!(times.len(), 6);
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(490),
            "deliveries {gap:?} apart at 2 per second"
        );
    }
    let _ = stop_tx.send(());
    worker.await.expect("worker");
}

/// Issue 14: one publish is one commit or nothing. When the HTTP subscription's outbox entry
/// cannot be staged, the queue deliveries staged before it must not commit either (the old
/// code committed them and answered an error, so the client's retry duplicated them).
#[tokio::test]
async fn publish_whose_outbox_entry_fails_to_stage_delivers_to_no_queue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (queues, topics) = open(dir.path());
    let t = topic("all-or-nothing");
    topics
        .create_topic(&t, &BTreeMap::new(), &BTreeMap::new())
        .expect("create");
    for name in ["a", "b"] {
        queues
            .create_queue(&queue(name), &BTreeMap::new(), &BTreeMap::new())
            .expect("queue");
        topics
            .subscribe(&t, "sqs", &queue(name).arn(), &BTreeMap::new(), "000000000000", &ctx())
            .expect("sub");
    }
    let http = topics
        .subscribe(&t, "http", "http://127.0.0.1:9/hook", &BTreeMap::new(), "0", &ctx())
        .expect("subscribe http");
    let token = topics
        .lookup(&t)
        .expect("topic")
        .subscriptions()
        .iter()
        .find(|s| s.arn == http.arn)
        .and_then(|s| s.record().token.clone())
        .expect("a pending confirmation token");
    topics.confirm_subscription(&t, &token, false).expect("confirm");
    let pending = topics.pending_deliveries();

    topics.outbox.fail_next_stage.store(true, Ordering::SeqCst);
    let err = topics
        .publish(&t, vec![text("once")], &ctx())
        .expect_err("staging failed");
    assert!(matches!(err, TopicError::Internal(_)), "{err:?}");
    for name in ["a", "b"] {
        assert!(
            drain(&queues, &queue(name)).await.is_empty(),
            "queue {name} got a message of a failed publish"
        );
    }
    assert_eq!(topics.pending_deliveries(), pending, "no outbox entry either");

    // The client's retry delivers exactly once everywhere.
    topics.publish(&t, vec![text("once")], &ctx()).expect("publish");
    for name in ["a", "b"] {
        assert_eq!(drain(&queues, &queue(name)).await.len(), 1, "queue {name}");
    }
    assert_eq!(topics.pending_deliveries(), pending + 1);
}
