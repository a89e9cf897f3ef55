//! The console's topic view and matcher against a real store: settings as set, delivery state
//! from the outbox's index (kept in step through retries and removals), and matches that agree
//! with what a publish delivers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::super::outbox::{HttpFuture, HttpOutcome, HttpRequest, HttpTransport};
use super::*;
use crate::queue::message::{MessageAttribute, MessageAttributes};
use crate::queue::{QueueKey, Queues};
use crate::topic::tests::{attrs, open};
use crate::topic::PublishContext;

const ACCOUNT: &str = "000000000000";
const REGION: &str = "us-east-1";
/// Retries one second apart, so a test sees an entry retry and then leave the outbox.
const FAST_RETRIES: &str = r#"{"healthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":1,"numRetries":2}}"#;

fn ctx() -> PublishContext {
    PublishContext {
        base_url: "http://127.0.0.1:4566".into(),
        cross_account_check: None,
    }
}

fn queue(queues: &Queues, name: &str) -> QueueKey {
    let key = QueueKey::new(ACCOUNT, REGION, name);
    queues
        .create_queue(&key, &BTreeMap::new(), &BTreeMap::new())
        .expect("queue");
    key
}

fn subscribe(topics: &Topics, t: &TopicKey, protocol: &str, endpoint: &str, a: &[(&str, &str)]) -> String {
    topics
        .subscribe(t, protocol, endpoint, &attrs(a), ACCOUNT, &ctx())
        .expect("subscribe")
        .arn
}

fn message(body: &str, attributes: &[(&str, &str)]) -> PublishMessage {
    let attributes: MessageAttributes = attributes
        .iter()
        .map(|(name, value)| {
            (
                name.to_string(),
                MessageAttribute {
                    data_type: "String".into(),
                    string_value: Some(value.to_string()),
                    binary_value: None,
                },
            )
        })
        .collect();
    PublishMessage {
        message: body.into(),
        attributes,
        ..PublishMessage::default()
    }
}

fn visible(queues: &Queues, name: &str) -> u64 {
    queues
        .overview(ACCOUNT, REGION)
        .into_iter()
        .find(|q| q.key.name == name)
        .map_or(0, |q| q.visible)
}

fn find<'a>(view: &'a TopicView, arn: &str) -> &'a SubscriptionView {
    view.subscriptions
        .iter()
        .find(|s| s.arn == arn)
        .expect("subscription in the view")
}

/// Fails every attempt, as an endpoint nobody listens on.
struct Unreachable;

impl HttpTransport for Unreachable {
    fn post(&self, _request: HttpRequest) -> HttpFuture {
        Box::pin(async { HttpOutcome::Failed("connection refused".into()) })
    }
}

#[tokio::test]
async fn view_shows_each_subscription_as_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (queues, topics) = open(dir.path());
    let t = TopicKey::new(ACCOUNT, REGION, "orders");
    topics
        .create_topic(&t, &BTreeMap::new(), &BTreeMap::new())
        .expect("topic");
    let dlq = queue(&queues, "dlq");
    let filtered = queue(&queues, "filtered");
    let body = queue(&queues, "body");
    let raw = queue(&queues, "raw");
    let policy = r#"{"kind":["order"]}"#;
    let filtered_arn = subscribe(&topics, &t, "sqs", &filtered.arn(), &[("FilterPolicy", policy)]);
    let body_arn = subscribe(
        &topics,
        &t,
        "sqs",
        &body.arn(),
        &[
            ("FilterPolicy", r#"{"type":["x"]}"#),
            ("FilterPolicyScope", "MessageBody"),
        ],
    );
    let redrive = format!(r#"{{"deadLetterTargetArn":"{}"}}"#, dlq.arn());
    let raw_arn = subscribe(
        &topics,
        &t,
        "sqs",
        &raw.arn(),
        &[("RawMessageDelivery", "true"), ("RedrivePolicy", &redrive)],
    );
    let http_arn = subscribe(&topics, &t, "http", "http://127.0.0.1:9/hook", &[]);

    let view = topics.console_view(&t).expect("view");
    assert_eq!((view.arn.as_str(), view.fifo), (t.arn().as_str(), false));
    assert_eq!(view.subscription_count, 4);
    let protocols: Vec<&str> = view.subscriptions.iter().map(|s| s.protocol).collect();
    assert_eq!(
        protocols,
        ["http", "sqs", "sqs", "sqs"],
        "ordered by protocol, then endpoint"
    );

    let f = find(&view, &filtered_arn);
    assert_eq!(f.filter_policy.as_deref(), Some(policy));
    assert_eq!(f.filter_policy_scope, Some("MessageAttributes"));
    assert!(f.confirmed && !f.raw && f.dead_letter_arn.is_none() && f.delivery.is_none());
    assert_eq!(find(&view, &body_arn).filter_policy_scope, Some("MessageBody"));
    let r = find(&view, &raw_arn);
    assert!(r.raw && r.filter_policy.is_none() && r.filter_policy_scope.is_none());
    assert_eq!(r.dead_letter_arn.as_deref(), Some(dlq.arn().as_str()));

    // The HTTP subscription waits for its confirmation, which waits in the outbox.
    let h = find(&view, &http_arn);
    assert!(!h.confirmed);
    assert_eq!(h.endpoint, "http://127.0.0.1:9/hook");
    let delivery = h.delivery.as_ref().expect("an outbox backlog");
    assert_eq!((delivery.pending, delivery.retrying), (1, 0));
    assert!(delivery.oldest_age_ms.is_some() && delivery.retries.is_empty());

    assert!(topics.console_view(&TopicKey::new(ACCOUNT, REGION, "nope")).is_err());
}

#[tokio::test]
async fn matches_agree_with_what_a_publish_delivers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (queues, topics) = open(dir.path());
    let t = TopicKey::new(ACCOUNT, REGION, "events");
    topics
        .create_topic(&t, &BTreeMap::new(), &BTreeMap::new())
        .expect("topic");
    let orders = queue(&queues, "orders");
    let refunds = queue(&queues, "refunds");
    let everything = queue(&queues, "everything");
    let by_body = queue(&queues, "by-body");
    let orders_arn = subscribe(
        &topics,
        &t,
        "sqs",
        &orders.arn(),
        &[("FilterPolicy", r#"{"kind":["order"]}"#)],
    );
    let refunds_arn = subscribe(
        &topics,
        &t,
        "sqs",
        &refunds.arn(),
        &[("FilterPolicy", r#"{"kind":["refund"]}"#)],
    );
    let everything_arn = subscribe(&topics, &t, "sqs", &everything.arn(), &[("RawMessageDelivery", "true")]);
    let body_arn = subscribe(
        &topics,
        &t,
        "sqs",
        &by_body.arn(),
        &[
            ("FilterPolicy", r#"{"total":[{"numeric":[">",100]}]}"#),
            ("FilterPolicyScope", "MessageBody"),
        ],
    );
    let pending_arn = subscribe(&topics, &t, "http", "http://127.0.0.1:9/", &[]);

    let msg = message(r#"{"total":250}"#, &[("kind", "order")]);
    let matches = topics.match_subscriptions(&t, &msg).expect("match");
    let outcome = |arn: &str| matches.iter().find(|m| m.arn == arn).map(|m| m.outcome);
    assert_eq!(outcome(&orders_arn), Some(MatchOutcome::Matched));
    assert_eq!(outcome(&refunds_arn), Some(MatchOutcome::FilteredOut));
    assert_eq!(outcome(&everything_arn), Some(MatchOutcome::Matched));
    assert_eq!(outcome(&body_arn), Some(MatchOutcome::Matched));
    assert_eq!(outcome(&pending_arn), Some(MatchOutcome::PendingConfirmation));
    assert!(matches.windows(2).all(|w| w[0].arn <= w[1].arn), "ordered by ARN");

    // The publish delivers to exactly the matched queues.
    topics.publish(&t, vec![msg], &ctx()).expect("publish");
    let depths: Vec<u64> = ["orders", "refunds", "everything", "by-body"]
        .iter()
        .map(|q| visible(&queues, q))
        .collect();
    assert_eq!(depths, [1, 0, 1, 1]);

    // A body that is not JSON matches no body-scoped policy, as in a publish.
    let plain = topics
        .match_subscriptions(&t, &message("not json", &[]))
        .expect("match");
    let outcome = |arn: &str| plain.iter().find(|m| m.arn == arn).map(|m| m.outcome);
    assert_eq!(outcome(&body_arn), Some(MatchOutcome::FilteredOut));
    assert_eq!(outcome(&orders_arn), Some(MatchOutcome::FilteredOut));
    assert_eq!(outcome(&everything_arn), Some(MatchOutcome::Matched));
}

#[tokio::test]
async fn backlog_follows_retries_and_removals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_queues, topics) = open(dir.path());
    let t = TopicKey::new(ACCOUNT, REGION, "hooks");
    topics
        .create_topic(&t, &BTreeMap::new(), &BTreeMap::new())
        .expect("topic");
    let arn = subscribe(
        &topics,
        &t,
        "http",
        "http://127.0.0.1:9/",
        &[("DeliveryPolicy", FAST_RETRIES)],
    );
    let token = topics
        .lookup_subscription(&arn)
        .expect("subscription")
        .record()
        .token
        .clone()
        .expect("a token");
    topics.confirm_subscription(&t, &token, false).expect("confirm");
    topics
        .publish(&t, vec![message("a", &[]), message("b", &[])], &ctx())
        .expect("publish");
    let backlog = |topics: &Topics| {
        topics.console_view(&t).expect("view").subscriptions[0]
            .delivery
            .clone()
            .expect("delivery state")
    };
    let before = backlog(&topics);
    assert_eq!(
        (before.pending, before.retrying),
        (3, 0),
        "the confirmation and two notifications"
    );

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(topics.clone().run_outbox(Arc::new(Unreachable), async {
        let _ = stop_rx.await;
    }));
    // Every entry fails its first attempt and waits a second for the next.
    let mut retrying = DeliveryBacklog::default();
    for _ in 0..200 {
        retrying = backlog(&topics);
        if retrying.retrying == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!((retrying.pending, retrying.retrying), (3, 3), "{retrying:?}");
    assert_eq!(retrying.retries.len(), 3);
    assert!(retrying
        .retries
        .iter()
        .all(|r| r.attempts >= 1 && r.next_attempt_ms > 0));
    assert_eq!(
        retrying.retries[0].message_type, "SubscriptionConfirmation",
        "oldest first"
    );

    // After the last retry the entries are dropped (no dead-letter queue): nothing is left.
    let mut after = retrying;
    for _ in 0..100 {
        after = backlog(&topics);
        if after.pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(after, DeliveryBacklog::default());
    let _ = stop_tx.send(());
    worker.await.expect("worker");
}
