//! The console's topic page, through its JSON endpoints against a real broker: the view lists
//! every subscription with its filter policy, raw delivery, dead-letter queue and outbox
//! backlog (an HTTP endpoint that went away leaves a delivery in retry); a test publish goes
//! through the API and reports which subscriptions it matched, and only the matching queues
//! receive it; FIFO topics answer with a sequence number; bad input gets clear errors. Under
//! `--auth verify` a key that may read a topic but not publish to it is refused the publish and
//! shown no subscriptions it may not list.

use std::time::Duration;

use http::Method;
use serde_json::{json, Value};
use sluice_tests::console::{error_code, Console};
use sluice_tests::raw::RawResponse;
use sluice_tests::sns::{pending_http_subscription, sns_client, Receiver};
use sluice_tests::sqs::{create_queue, ok, receive};
use sluice_tests::{Broker, ACCESS_KEY, SECRET_KEY};

/// The topic page's test publish, as the page sends it.
trait Publish {
    async fn publish(&self, topic: &str, body: Value) -> RawResponse;
}

impl Publish for Console {
    async fn publish(&self, topic: &str, body: Value) -> RawResponse {
        let path = format!("/console/api/topics/{topic}/publish");
        self.call(Method::POST, &path, Some(body)).await
    }
}

async fn create_topic(sns: &aws_sdk_sns::Client, name: &str, attributes: &[(&str, &str)]) -> String {
    let mut req = sns.create_topic().name(name);
    for (k, v) in attributes {
        req = req.attributes(*k, *v);
    }
    ok(req.send().await, "CreateTopic")
        .topic_arn()
        .expect("TopicArn")
        .to_string()
}

/// Subscribes the queue `queue` (by name) to `topic_arn` with `attributes`; its ARN.
async fn subscribe_queue(
    sns: &aws_sdk_sns::Client,
    topic_arn: &str,
    queue: &str,
    attributes: &[(&str, &str)],
) -> String {
    let mut req = sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(format!("arn:aws:sqs:us-east-1:000000000000:{queue}"))
        .return_subscription_arn(true);
    for (k, v) in attributes {
        req = req.attributes(*k, *v);
    }
    ok(req.send().await, "Subscribe")
        .subscription_arn()
        .expect("SubscriptionArn")
        .to_string()
}

fn arns(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn subscription<'a>(view: &'a Value, arn: &str) -> &'a Value {
    view["subscriptions"]
        .as_array()
        .and_then(|subs| subs.iter().find(|s| s["subscriptionArn"] == arn))
        .unwrap_or_else(|| panic!("{arn} in {view}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_page_shows_delivery_state_and_publish_reports_matches() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let sns = sns_client(&broker.endpoint()).await;
    let orders = create_queue(&sqs, "orders", &[]).await;
    let refunds = create_queue(&sqs, "refunds", &[]).await;
    let raw = create_queue(&sqs, "raw-copy", &[]).await;
    create_queue(&sqs, "hook-dlq", &[]).await;
    let topic = create_topic(&sns, "shop", &[]).await;
    let order_policy = r#"{"kind":["order"]}"#;
    let orders_sub = subscribe_queue(&sns, &topic, "orders", &[("FilterPolicy", order_policy)]).await;
    let refunds_sub = subscribe_queue(&sns, &topic, "refunds", &[("FilterPolicy", r#"{"kind":["refund"]}"#)]).await;
    let raw_sub = subscribe_queue(&sns, &topic, "raw-copy", &[("RawMessageDelivery", "true")]).await;

    // An HTTP endpoint that confirms its subscription and then goes away: the notification's
    // first attempt fails and waits 20 s (AWS's default policy) for its retry.
    let receiver = Receiver::start(0).await;
    let (hook_sub, doc) = pending_http_subscription(&sns, &topic, &receiver, "/hook").await;
    let token = doc["Token"].as_str().expect("Token").to_string();
    ok(
        sns.confirm_subscription().topic_arn(&topic).token(token).send().await,
        "ConfirmSubscription",
    );
    let dlq_arn = "arn:aws:sqs:us-east-1:000000000000:hook-dlq";
    ok(
        sns.set_subscription_attributes()
            .subscription_arn(&hook_sub)
            .attribute_name("RedrivePolicy")
            .attribute_value(format!(r#"{{"deadLetterTargetArn":"{dlq_arn}"}}"#))
            .send()
            .await,
        "SetSubscriptionAttributes",
    );
    drop(receiver);

    let console = Console::open(&broker.endpoint()).await.0;
    let published = console
        .publish(
            "shop",
            json!({
                "message": r#"{"total":5}"#,
                "subject": "hello",
                "attributes": {"kind": {"dataType": "String", "stringValue": "order"}},
            }),
        )
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    let published = published.json();
    assert!(published["messageId"].is_string(), "{published}");
    assert!(published["sequenceNumber"].is_null(), "a standard topic has none");
    let mut want = vec![orders_sub.clone(), raw_sub.clone(), hook_sub.clone()];
    want.sort();
    assert_eq!(arns(&published["matched"]), want, "{published}");
    assert_eq!(arns(&published["notMatched"]), [refunds_sub]);
    assert_eq!(published["pendingConfirmation"], json!([]));

    // The message reached the matching queues only, as SNS renders it for each.
    let got = receive(&sqs, &orders, 10, 2, None).await;
    assert_eq!(got.len(), 1);
    let envelope: Value = serde_json::from_str(got[0].body().unwrap_or_default()).expect("envelope");
    assert_eq!(
        (envelope["Message"].as_str(), envelope["Subject"].as_str()),
        (Some(r#"{"total":5}"#), Some("hello"))
    );
    assert_eq!(envelope["MessageId"], published["messageId"]);
    let got = receive(&sqs, &raw, 10, 2, None).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body(), Some(r#"{"total":5}"#), "raw delivery");
    assert!(receive(&sqs, &refunds, 10, 1, None).await.is_empty(), "filtered out");

    // The view: attributes from GetTopicAttributes, each subscription as set, and the HTTP
    // delivery in retry once its first attempt failed.
    let mut view = Value::Null;
    for _ in 0..100 {
        let r = console.get("/console/api/topics/shop").await;
        assert_eq!(r.status, 200, "{}", r.body);
        view = r.json();
        if subscription(&view, &hook_sub)["delivery"]["retrying"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(view["arn"], topic.as_str());
    assert_eq!(view["fifo"], false);
    assert_eq!(view["attributes"]["TopicArn"], topic.as_str());
    assert_eq!(view["attributes"]["SubscriptionsConfirmed"], "4");
    assert_eq!(view["subscriptionCount"], 4);
    assert_eq!(view["published"], 1);
    let o = subscription(&view, &orders_sub);
    assert_eq!(
        (o["protocol"].as_str(), o["endpoint"].as_str()),
        (Some("sqs"), Some("arn:aws:sqs:us-east-1:000000000000:orders"))
    );
    assert_eq!(
        (o["confirmed"].as_bool(), o["rawMessageDelivery"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(o["filterPolicy"], order_policy);
    assert_eq!(o["filterPolicyScope"], "MessageAttributes");
    assert!(o["delivery"].is_null(), "queues are delivered at publish");
    let r = subscription(&view, &raw_sub);
    assert_eq!(r["rawMessageDelivery"], true);
    assert!(r["filterPolicy"].is_null() && r["filterPolicyScope"].is_null());
    let h = subscription(&view, &hook_sub);
    assert_eq!(h["protocol"], "http");
    assert_eq!(h["deadLetterTargetArn"], dlq_arn);
    let delivery = &h["delivery"];
    assert_eq!(
        (delivery["backlog"].as_u64(), delivery["retrying"].as_u64()),
        (Some(1), Some(1)),
        "{h}"
    );
    assert!(delivery["oldestAgeSeconds"].is_u64(), "{h}");
    let retry = &delivery["retries"][0];
    assert_eq!(retry["type"], "Notification");
    assert_eq!(retry["messageId"], published["messageId"]);
    assert_eq!(retry["attempts"], 1);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    assert!(
        retry["nextAttemptMs"].as_u64().unwrap_or_default() > now_ms,
        "the retry waits: {retry}"
    );

    // API validation answers through the console, with SNS's code.
    let dedup = console
        .publish("shop", json!({"message": "x", "messageDeduplicationId": "d"}))
        .await;
    assert_eq!(
        (dedup.status, error_code(&dedup).as_str()),
        (400, "InvalidParameter"),
        "{}",
        dedup.body
    );

    // Bad input.
    let not_json = console
        .raw(
            Method::POST,
            "/console/api/topics/shop/publish",
            Some(b"{not json".to_vec()),
            true,
        )
        .await;
    let no_csrf = console
        .raw(
            Method::POST,
            "/console/api/topics/shop/publish",
            Some(br#"{"message":"x"}"#.to_vec()),
            false,
        )
        .await;
    let cases = [
        (console.get("/console/api/topics/nope").await, 404, "NotFound"),
        (console.publish("nope", json!({"message": "x"})).await, 404, "NotFound"),
        (not_json, 400, "InvalidParameterValue"),
        (
            console.publish("shop", json!({"mesage": "x"})).await,
            400,
            "InvalidParameterValue",
        ),
        (no_csrf, 403, "InvalidCsrfToken"),
    ];
    for (r, status, code) in cases {
        assert_eq!((r.status, error_code(&r).as_str()), (status, code), "{}", r.body);
        assert!(!r.json()["error"]["message"].as_str().unwrap_or_default().is_empty());
    }
    let view = console.get("/console/api/topics/shop").await.json();
    assert_eq!(view["published"], 1, "refused publishes were not published");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_topic_publish_needs_a_group_and_answers_a_sequence_number() {
    let broker = Broker::start().await;
    let sqs = broker.sqs().await;
    let sns = sns_client(&broker.endpoint()).await;
    let queue = create_queue(
        &sqs,
        "ledger.fifo",
        &[(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")],
    )
    .await;
    let topic = create_topic(
        &sns,
        "ledger.fifo",
        &[("FifoTopic", "true"), ("ContentBasedDeduplication", "true")],
    )
    .await;
    let sub = subscribe_queue(&sns, &topic, "ledger.fifo", &[("RawMessageDelivery", "true")]).await;
    let console = Console::open(&broker.endpoint()).await.0;

    let view = console.get("/console/api/topics/ledger.fifo").await.json();
    assert_eq!(view["fifo"], true, "{view}");

    let no_group = console.publish("ledger.fifo", json!({"message": "entry"})).await;
    assert_eq!(
        (no_group.status, error_code(&no_group).as_str()),
        (400, "InvalidParameter"),
        "{}",
        no_group.body
    );

    let published = console
        .publish(
            "ledger.fifo",
            json!({"message": "entry", "messageGroupId": "account-1"}),
        )
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    let published = published.json();
    assert!(
        published["sequenceNumber"].as_str().is_some_and(|s| !s.is_empty()),
        "{published}"
    );
    assert_eq!(arns(&published["matched"]), [sub]);
    let got = receive(&sqs, &queue, 10, 2, None).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body(), Some("entry"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_auth_verify_publish_and_subscriptions_need_their_permissions() {
    const READER_KEY: &str = "AKIDTOPICREADER";
    const READER_SECRET: &str = "topic-reader-secret";
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keys.yaml");
    let keys = sluice_tests::console::keys_with_limited(
        READER_KEY,
        READER_SECRET,
        &[r#"{ Effect: Allow, Action: "sns:GetTopicAttributes", Resource: "arn:aws:sns:*:000000000000:visible-*" }"#],
    );
    std::fs::write(&path, keys).expect("keys file");
    let path = path.display().to_string();
    let broker = Broker::start_with(&["--auth", "verify", "--credentials", &path]).await;
    let sqs = broker.sqs().await;
    let sns = sns_client(&broker.endpoint()).await;
    create_queue(&sqs, "visible-inbox", &[]).await;
    let topic = create_topic(&sns, "visible-news", &[]).await;
    create_topic(&sns, "hidden-news", &[]).await;
    let sub = subscribe_queue(&sns, &topic, "visible-inbox", &[]).await;

    // The reader sees the topic's attributes, but not its subscriptions, and may not publish.
    let mut reader = Console::open(&broker.endpoint()).await.0;
    reader.sign_in(READER_KEY, READER_SECRET).await;
    let view = reader.get("/console/api/topics/visible-news").await;
    assert_eq!(view.status, 200, "{}", view.body);
    let view = view.json();
    assert_eq!(view["attributes"]["TopicArn"], topic.as_str());
    assert!(view["subscriptions"].is_null(), "{view}");
    let hidden = reader.get("/console/api/topics/hidden-news").await;
    assert_eq!(hidden.status, 403, "{}", hidden.body);
    let denied = reader.publish("visible-news", json!({"message": "x"})).await;
    assert_eq!(
        (denied.status, error_code(&denied).as_str()),
        (403, "AuthorizationError"),
        "SNS's code, from the API: {}",
        denied.body
    );

    // The account's full key publishes and sees the matches.
    let mut admin = Console::open(&broker.endpoint()).await.0;
    admin.sign_in(ACCESS_KEY, SECRET_KEY).await;
    let view = admin.get("/console/api/topics/visible-news").await.json();
    assert_eq!(view["subscriptions"][0]["subscriptionArn"], sub.as_str(), "{view}");
    let published = admin.publish("visible-news", json!({"message": "x"})).await;
    assert_eq!(published.status, 200, "{}", published.body);
    assert_eq!(arns(&published.json()["matched"]), [sub]);
}
