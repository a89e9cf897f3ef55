//! SNS topics and subscriptions through the official `aws-sdk-sns` client (query protocol):
//! creation rules, attributes, pagination, tags, permissions, subscription management and the
//! error codes of bad input.

use std::collections::HashMap;

use aws_sdk_sns::types::Tag;
use aws_sdk_sns::Client;
use sluice_tests::sns::sns_client;
use sluice_tests::sqs::{create_queue, expect_code, ok};
use sluice_tests::Broker;

async fn create_topic(sns: &Client, name: &str, attrs: &[(&str, &str)]) -> String {
    let mut req = sns.create_topic().name(name);
    for (k, v) in attrs {
        req = req.attributes(*k, *v);
    }
    let out = ok(req.send().await, &format!("CreateTopic {name}"));
    out.topic_arn().expect("TopicArn").to_string()
}

async fn topic_attributes(sns: &Client, arn: &str) -> HashMap<String, String> {
    let out = ok(
        sns.get_topic_attributes().topic_arn(arn).send().await,
        "GetTopicAttributes",
    );
    out.attributes().cloned().unwrap_or_default()
}

async fn subscription_attributes(sns: &Client, arn: &str) -> HashMap<String, String> {
    let out = ok(
        sns.get_subscription_attributes().subscription_arn(arn).send().await,
        "GetSubscriptionAttributes",
    );
    out.attributes().cloned().unwrap_or_default()
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().expect("tag")
}

#[tokio::test]
async fn topics_are_created_idempotently_listed_and_deleted() {
    let broker = Broker::start().await;
    let sns = sns_client(&broker.endpoint()).await;
    let arn = create_topic(&sns, "orders", &[("DisplayName", "Orders")]).await;
    assert_eq!(arn, "arn:aws:sns:us-east-1:000000000000:orders");
    assert_eq!(create_topic(&sns, "orders", &[("DisplayName", "Orders")]).await, arn);
    expect_code(
        sns.create_topic()
            .name("orders")
            .attributes("DisplayName", "Other")
            .send()
            .await,
        "InvalidParameter",
    );
    let attrs = topic_attributes(&sns, &arn).await;
    assert_eq!(attrs["TopicArn"], arn);
    assert_eq!(attrs["DisplayName"], "Orders");
    assert_eq!(attrs["Owner"], "000000000000");
    assert_eq!(attrs["SubscriptionsConfirmed"], "0");
    assert!(attrs["Policy"].contains("__default_policy_ID"), "{attrs:?}");
    assert!(attrs["EffectiveDeliveryPolicy"].contains("defaultHealthyRetryPolicy"));

    for i in 0..120 {
        create_topic(&sns, &format!("page-{i:03}"), &[]).await;
    }
    let mut token: Option<String> = None;
    let mut all = Vec::new();
    for _ in 0..10 {
        let out = ok(
            sns.list_topics().set_next_token(token.clone()).send().await,
            "ListTopics",
        );
        let page: Vec<String> = out
            .topics()
            .iter()
            .filter_map(|t| t.topic_arn().map(str::to_string))
            .collect();
        assert!(page.len() <= 100);
        all.extend(page);
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(all.len(), 121);

    ok(sns.delete_topic().topic_arn(&arn).send().await, "DeleteTopic");
    ok(sns.delete_topic().topic_arn(&arn).send().await, "DeleteTopic again");
    expect_code(sns.get_topic_attributes().topic_arn(&arn).send().await, "NotFound");
}

#[tokio::test]
async fn bad_topic_input_gets_aws_errors() {
    let broker = Broker::start().await;
    let sns = sns_client(&broker.endpoint()).await;
    expect_code(sns.create_topic().name("bad name").send().await, "InvalidParameter");
    expect_code(
        sns.create_topic().name("x".repeat(257)).send().await,
        "InvalidParameter",
    );
    expect_code(
        sns.create_topic()
            .name("plain")
            .attributes("FifoTopic", "true")
            .send()
            .await,
        "InvalidParameter",
    );
    expect_code(sns.create_topic().name("f.fifo").send().await, "InvalidParameter");
    let arn = create_topic(&sns, "t", &[]).await;
    expect_code(
        sns.set_topic_attributes()
            .topic_arn(&arn)
            .attribute_name("NoSuchAttribute")
            .attribute_value("1")
            .send()
            .await,
        "InvalidParameter",
    );
    expect_code(
        sns.set_topic_attributes()
            .topic_arn(&arn)
            .attribute_name("SignatureVersion")
            .attribute_value("3")
            .send()
            .await,
        "InvalidParameter",
    );
    expect_code(
        sns.get_topic_attributes()
            .topic_arn("arn:aws:sns:us-east-1:000000000000:missing")
            .send()
            .await,
        "NotFound",
    );
    expect_code(
        sns.publish()
            .topic_arn("arn:aws:sns:us-east-1:000000000000:missing")
            .message("m")
            .send()
            .await,
        "NotFound",
    );
    expect_code(
        sns.publish().topic_arn(&arn).message("").send().await,
        "InvalidParameter",
    );
    for protocol in ["email", "sms", "application", "firehose"] {
        let err = expect_code(
            sns.subscribe()
                .topic_arn(&arn)
                .protocol(protocol)
                .endpoint("arn:aws:lambda:us-east-1:000000000000:function:f")
                .send()
                .await,
            "InvalidParameter",
        );
        let message = aws_sdk_sns::error::ProvideErrorMetadata::message(&err)
            .unwrap_or_default()
            .to_string();
        assert!(message.contains("Sluice does not deliver"), "{protocol}: {message}");
    }
    // A lambda endpoint must name a function.
    expect_code(
        sns.subscribe()
            .topic_arn(&arn)
            .protocol("lambda")
            .endpoint("arn:aws:sqs:us-east-1:000000000000:q")
            .send()
            .await,
        "InvalidParameter",
    );
    expect_code(
        sns.subscribe()
            .topic_arn(&arn)
            .protocol("sqs")
            .endpoint("not-an-arn")
            .send()
            .await,
        "InvalidParameter",
    );
    expect_code(
        sns.subscribe()
            .topic_arn(&arn)
            .protocol("http")
            .endpoint("https://example.com")
            .send()
            .await,
        "InvalidParameter",
    );
    expect_code(
        sns.subscribe()
            .topic_arn(&arn)
            .protocol("sqs")
            .endpoint("arn:aws:sqs:us-east-1:000000000000:q")
            .attributes("FilterPolicy", r#"{"a": "not-an-array"}"#)
            .send()
            .await,
        "InvalidParameter",
    );
    // The broker is still healthy after all of that.
    assert_eq!(topic_attributes(&sns, &arn).await["TopicArn"], arn);
}

#[tokio::test]
async fn subscriptions_are_listed_inspected_changed_and_removed() {
    let broker = Broker::start().await;
    let sns = sns_client(&broker.endpoint()).await;
    let sqs = broker.sqs().await;
    create_queue(&sqs, "inbox", &[]).await;
    let queue_arn = "arn:aws:sqs:us-east-1:000000000000:inbox";
    let arn = create_topic(&sns, "news", &[]).await;
    let sub = ok(
        sns.subscribe()
            .topic_arn(&arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await,
        "Subscribe",
    );
    let sub_arn = sub.subscription_arn().expect("SubscriptionArn").to_string();
    assert!(sub_arn.starts_with(&format!("{arn}:")), "{sub_arn}");
    // Subscribing the same endpoint again returns the same subscription.
    let again = ok(
        sns.subscribe()
            .topic_arn(&arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await,
        "Subscribe again",
    );
    assert_eq!(again.subscription_arn(), Some(sub_arn.as_str()));

    let listed = ok(
        sns.list_subscriptions_by_topic().topic_arn(&arn).send().await,
        "ListSubscriptionsByTopic",
    );
    assert_eq!(listed.subscriptions().len(), 1);
    let s = &listed.subscriptions()[0];
    assert_eq!(s.protocol(), Some("sqs"));
    assert_eq!(s.endpoint(), Some(queue_arn));
    assert_eq!(s.subscription_arn(), Some(sub_arn.as_str()));
    let all = ok(sns.list_subscriptions().send().await, "ListSubscriptions");
    assert_eq!(all.subscriptions().len(), 1);

    let attrs = subscription_attributes(&sns, &sub_arn).await;
    assert_eq!(attrs["RawMessageDelivery"], "true");
    assert_eq!(attrs["PendingConfirmation"], "false");
    assert_eq!(attrs["TopicArn"], arn);
    ok(
        sns.set_subscription_attributes()
            .subscription_arn(&sub_arn)
            .attribute_name("FilterPolicy")
            .attribute_value(r#"{"kind": ["a"]}"#)
            .send()
            .await,
        "SetSubscriptionAttributes",
    );
    let attrs = subscription_attributes(&sns, &sub_arn).await;
    assert_eq!(attrs["FilterPolicyScope"], "MessageAttributes");
    assert_eq!(topic_attributes(&sns, &arn).await["SubscriptionsConfirmed"], "1");

    ok(sns.unsubscribe().subscription_arn(&sub_arn).send().await, "Unsubscribe");
    expect_code(
        sns.get_subscription_attributes()
            .subscription_arn(&sub_arn)
            .send()
            .await,
        "NotFound",
    );
    let attrs = topic_attributes(&sns, &arn).await;
    assert_eq!(attrs["SubscriptionsConfirmed"], "0");
    assert_eq!(attrs["SubscriptionsDeleted"], "1");
}

#[tokio::test]
async fn tags_and_permissions() {
    let broker = Broker::start().await;
    let sns = sns_client(&broker.endpoint()).await;
    let arn = create_topic(&sns, "tagged", &[]).await;
    ok(
        sns.tag_resource()
            .resource_arn(&arn)
            .tags(tag("team", "payments"))
            .tags(tag("env", "ci"))
            .send()
            .await,
        "TagResource",
    );
    ok(
        sns.untag_resource().resource_arn(&arn).tag_keys("env").send().await,
        "UntagResource",
    );
    let tags = ok(
        sns.list_tags_for_resource().resource_arn(&arn).send().await,
        "ListTagsForResource",
    );
    let tags: Vec<(String, String)> = tags
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    assert_eq!(tags, vec![("team".to_string(), "payments".to_string())]);
    let mut too_many = sns.tag_resource().resource_arn(&arn);
    for i in 0..51 {
        too_many = too_many.tags(tag(&format!("k{i}"), "v"));
    }
    expect_code(too_many.send().await, "TagLimitExceeded");
    expect_code(
        sns.list_tags_for_resource()
            .resource_arn("arn:aws:sns:us-east-1:000000000000:nope")
            .send()
            .await,
        "ResourceNotFound",
    );

    ok(
        sns.add_permission()
            .topic_arn(&arn)
            .label("partner")
            .aws_account_id("111122223333")
            .action_name("Publish")
            .send()
            .await,
        "AddPermission",
    );
    let policy = topic_attributes(&sns, &arn).await["Policy"].clone();
    assert!(
        policy.contains("partner") && policy.contains("111122223333"),
        "{policy}"
    );
    ok(
        sns.remove_permission().topic_arn(&arn).label("partner").send().await,
        "RemovePermission",
    );
    assert!(!topic_attributes(&sns, &arn).await["Policy"].contains("partner"));
}
