//! SNS fan-out to SQS through the official `aws-sdk-sns` and `aws-sdk-sqs` clients: the JSON
//! envelope and its signature, raw delivery, per-protocol messages, every filter-policy operator
//! (a table of policies against messages, including the ones that must not match), FIFO topics
//! into FIFO queues, and PublishBatch with partial failures.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use aws_sdk_sns::Client as Sns;
use aws_sdk_sqs::types::QueueAttributeName as Q;
use aws_sdk_sqs::Client as Sqs;
use sluice_tests::sns::{sns_client, verify_signature};
use sluice_tests::sqs::{create_queue, expect_code, ok, receive};
use sluice_tests::Broker;

fn queue_arn(name: &str) -> String {
    format!("arn:aws:sqs:us-east-1:000000000000:{name}")
}

async fn topic(sns: &Sns, name: &str, attrs: &[(&str, &str)]) -> String {
    let mut req = sns.create_topic().name(name);
    for (k, v) in attrs {
        req = req.attributes(*k, *v);
    }
    ok(req.send().await, "CreateTopic")
        .topic_arn()
        .expect("TopicArn")
        .to_string()
}

async fn subscribe(sns: &Sns, topic_arn: &str, queue: &str, attrs: &[(&str, &str)]) -> String {
    let mut req = sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn(queue));
    for (k, v) in attrs {
        req = req.attributes(*k, *v);
    }
    ok(req.send().await, "Subscribe")
        .subscription_arn()
        .expect("SubscriptionArn")
        .to_string()
}

fn attr(data_type: &str, value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type(data_type)
        .string_value(value)
        .build()
        .expect("attribute")
}

/// Every body currently in the queue (received with a long visibility timeout).
async fn bodies(sqs: &Sqs, url: &str) -> Vec<String> {
    let mut all = Vec::new();
    loop {
        let got = receive(sqs, url, 10, 0, Some(300)).await;
        if got.is_empty() {
            return all;
        }
        all.extend(got.into_iter().map(|m| m.body().unwrap_or_default().to_string()));
    }
}

#[tokio::test]
async fn publish_reaches_every_queue_as_envelope_or_raw_body() {
    let broker = Broker::start().await;
    let sns = sns_client(&broker.endpoint()).await;
    let sqs = broker.sqs().await;
    let arn = topic(&sns, "fanout", &[]).await;
    let mut urls = Vec::new();
    for name in ["env-1", "env-2", "raw"] {
        urls.push(create_queue(&sqs, name, &[]).await);
    }
    subscribe(&sns, &arn, "env-1", &[]).await;
    subscribe(&sns, &arn, "env-2", &[]).await;
    subscribe(&sns, &arn, "raw", &[("RawMessageDelivery", "true")]).await;

    let out = ok(
        sns.publish()
            .topic_arn(&arn)
            .message("hello \"world\"\nline two")
            .subject("Greeting")
            .message_attributes("color", attr("String", "red"))
            .message_attributes("count", attr("Number", "42"))
            .send()
            .await,
        "Publish",
    );
    let message_id = out.message_id().expect("MessageId").to_string();

    for url in &urls[..2] {
        let got = receive(&sqs, url, 10, 0, None).await;
        assert_eq!(got.len(), 1, "{url}");
        let doc: serde_json::Value = serde_json::from_str(got[0].body().unwrap()).expect("envelope JSON");
        assert_eq!(doc["Type"], "Notification");
        assert_eq!(doc["MessageId"], message_id.as_str());
        assert_eq!(doc["TopicArn"], arn.as_str());
        assert_eq!(doc["Subject"], "Greeting");
        assert_eq!(doc["Message"], "hello \"world\"\nline two");
        assert_eq!(doc["MessageAttributes"]["color"]["Type"], "String");
        assert_eq!(doc["MessageAttributes"]["count"]["Value"], "42");
        assert_eq!(doc["SignatureVersion"], "1");
        let ts = doc["Timestamp"].as_str().unwrap();
        assert!(ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes()[19] == b'.', "{ts}");
        assert!(doc["UnsubscribeURL"].as_str().unwrap().contains("Action=Unsubscribe"));
        verify_signature(&doc).await;
    }
    let raw = receive(&sqs, &urls[2], 10, 0, None).await;
    assert_eq!(raw.len(), 1);
    assert_eq!(raw[0].body(), Some("hello \"world\"\nline two"));
    let attrs = raw[0].message_attributes().expect("raw delivery carries attributes");
    assert_eq!(attrs["color"].string_value(), Some("red"));
    assert_eq!(attrs["count"].data_type(), "Number");

    // SignatureVersion 2 signs with SHA256withRSA.
    ok(
        sns.set_topic_attributes()
            .topic_arn(&arn)
            .attribute_name("SignatureVersion")
            .attribute_value("2")
            .send()
            .await,
        "SetTopicAttributes",
    );
    ok(sns.publish().topic_arn(&arn).message("v2").send().await, "Publish v2");
    let got = receive(&sqs, &urls[0], 10, 0, None).await;
    let doc: serde_json::Value = serde_json::from_str(got[0].body().unwrap()).unwrap();
    assert_eq!(doc["SignatureVersion"], "2");
    assert!(doc.get("Subject").is_none());
    verify_signature(&doc).await;
    assert_eq!(bodies(&sqs, &urls[2]).await, vec!["v2".to_string()]);

    // MessageStructure=json: each protocol gets its own message, others the default.
    ok(
        sns.publish()
            .target_arn(&arn)
            .message_structure("json")
            .message(r#"{"default": "for everyone", "sqs": "for queues"}"#)
            .send()
            .await,
        "Publish json",
    );
    assert_eq!(bodies(&sqs, &urls[2]).await, vec!["for queues".to_string()]);
    expect_code(
        sns.publish()
            .topic_arn(&arn)
            .message_structure("json")
            .message(r#"{"sqs": "no default"}"#)
            .send()
            .await,
        "InvalidParameter",
    );
}

/// A message of the filter table: its id (the body of attribute messages), attributes, body.
struct TableMessage {
    id: &'static str,
    attributes: &'static [(&'static str, &'static str, &'static str)],
    body: Option<&'static str>,
}

#[tokio::test]
async fn every_filter_operator_selects_exactly_the_matching_messages() {
    let broker = Broker::start().await;
    let sns = sns_client(&broker.endpoint()).await;
    let sqs = broker.sqs().await;
    let arn = topic(&sns, "filters", &[]).await;

    let messages = [
        TableMessage {
            id: "m1",
            attributes: &[
                ("color", "String", "red"),
                ("size", "Number", "5"),
                ("tags", "String.Array", r#"["a", "b"]"#),
                ("ip", "String", "10.0.0.7"),
            ],
            body: None,
        },
        TableMessage {
            id: "m2",
            attributes: &[
                ("color", "String", "Blue"),
                ("size", "Number", "150"),
                ("ip", "String", "192.168.1.1"),
            ],
            body: None,
        },
        TableMessage {
            id: "m3",
            attributes: &[("color", "String", "green-light"), ("size", "Number", "-3")],
            body: None,
        },
        TableMessage {
            id: "m4",
            attributes: &[],
            body: None,
        },
        TableMessage {
            id: "m5",
            attributes: &[("color", "String", "redwood"), ("size", "Number", "100")],
            body: None,
        },
        TableMessage {
            id: "b1",
            attributes: &[],
            body: Some(
                r#"{"id":"b1","order":{"total":120,"status":"paid"},"Records":[{"s3":{"bucket":{"name":"logs"}}},{"s3":{"bucket":{"name":"img"}}}]}"#,
            ),
        },
        TableMessage {
            id: "b2",
            attributes: &[],
            body: Some(r#"{"id":"b2","order":{"total":20,"status":"refunded"}}"#),
        },
    ];
    // (policy, scope, the messages it must deliver; every other message must not arrive)
    let table: &[(&str, &str, &[&str])] = &[
        (r#"{"color":["red"]}"#, "MessageAttributes", &["m1"]),
        (r#"{"color":["red","green-light"]}"#, "MessageAttributes", &["m1", "m3"]),
        (r#"{"color":[{"prefix":"gre"}]}"#, "MessageAttributes", &["m3"]),
        (r#"{"color":[{"suffix":"light"}]}"#, "MessageAttributes", &["m3"]),
        (
            r#"{"color":[{"equals-ignore-case":"BLUE"}]}"#,
            "MessageAttributes",
            &["m2"],
        ),
        (
            r#"{"color":[{"anything-but":["red"]}]}"#,
            "MessageAttributes",
            &["m2", "m3", "m5"],
        ),
        (
            r#"{"color":[{"anything-but":{"prefix":"re"}}]}"#,
            "MessageAttributes",
            &["m2", "m3"],
        ),
        (
            r#"{"size":[{"numeric":[">",0,"<=",100]}]}"#,
            "MessageAttributes",
            &["m1", "m5"],
        ),
        (r#"{"size":[5]}"#, "MessageAttributes", &["m1"]),
        (
            r#"{"size":[{"anything-but":[5,150]}]}"#,
            "MessageAttributes",
            &["m3", "m5"],
        ),
        (
            r#"{"color":[{"exists":false}]}"#,
            "MessageAttributes",
            &["m4", "b1", "b2"],
        ),
        (
            r#"{"size":[{"exists":true}]}"#,
            "MessageAttributes",
            &["m1", "m2", "m3", "m5"],
        ),
        (r#"{"tags":["b"]}"#, "MessageAttributes", &["m1"]),
        (r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, "MessageAttributes", &["m1"]),
        (
            r#"{"$or":[{"color":["Blue"]},{"size":[{"numeric":["<",0]}]}]}"#,
            "MessageAttributes",
            &["m2", "m3"],
        ),
        (
            r#"{"color":["red"],"size":[{"numeric":[">",10]}]}"#,
            "MessageAttributes",
            &[],
        ),
        (r#"{"order":{"status":["paid"]}}"#, "MessageBody", &["b1"]),
        (
            r#"{"Records":{"s3":{"bucket":{"name":[{"prefix":"im"}]}}}}"#,
            "MessageBody",
            &["b1"],
        ),
        (r#"{"order":{"total":[{"numeric":["<",100]}]}}"#, "MessageBody", &["b2"]),
        (
            r#"{"order":{"status":[{"anything-but":"paid"}]}}"#,
            "MessageBody",
            &["b2"],
        ),
    ];
    let mut urls = Vec::new();
    for (i, (policy, scope, _)) in table.iter().enumerate() {
        let name = format!("filter-{i:02}");
        urls.push(create_queue(&sqs, &name, &[]).await);
        subscribe(
            &sns,
            &arn,
            &name,
            &[
                ("RawMessageDelivery", "true"),
                ("FilterPolicy", policy),
                ("FilterPolicyScope", scope),
            ],
        )
        .await;
    }
    for m in &messages {
        let mut req = sns.publish().topic_arn(&arn).message(m.body.unwrap_or(m.id));
        for (name, data_type, value) in m.attributes {
            req = req.message_attributes(*name, attr(data_type, value));
        }
        ok(req.send().await, "Publish");
    }
    for (i, (policy, scope, want)) in table.iter().enumerate() {
        let got: BTreeSet<String> = bodies(&sqs, &urls[i])
            .await
            .into_iter()
            .map(|b| match serde_json::from_str::<serde_json::Value>(&b) {
                Ok(v) if v.is_object() => v["id"].as_str().unwrap_or_default().to_string(),
                _ => b,
            })
            .collect();
        let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
        assert_eq!(got, want, "policy {policy} ({scope})");
    }
}

#[tokio::test]
async fn fifo_topics_keep_group_order_and_deduplicate() {
    let broker = Broker::start().await;
    let sns = sns_client(&broker.endpoint()).await;
    let sqs = broker.sqs().await;
    let arn = topic(
        &sns,
        "orders.fifo",
        &[("FifoTopic", "true"), ("ContentBasedDeduplication", "true")],
    )
    .await;
    let url = create_queue(&sqs, "orders.fifo", &[(Q::FifoQueue, "true")]).await;
    create_queue(&sqs, "standard", &[]).await;
    subscribe(&sns, &arn, "orders.fifo", &[("RawMessageDelivery", "true")]).await;
    // A standard topic cannot feed a FIFO queue.
    let standard = topic(&sns, "plain", &[]).await;
    expect_code(
        sns.subscribe()
            .topic_arn(&standard)
            .protocol("sqs")
            .endpoint(queue_arn("orders.fifo"))
            .send()
            .await,
        "InvalidParameter",
    );
    expect_code(
        sns.publish().topic_arn(&arn).message("no group").send().await,
        "InvalidParameter",
    );

    let mut ids = HashMap::new();
    let mut last_seq = String::new();
    for i in 0..20 {
        let out = ok(
            sns.publish()
                .topic_arn(&arn)
                .message(format!("event-{i}"))
                .message_group_id(if i % 2 == 0 { "even" } else { "odd" })
                .send()
                .await,
            "Publish FIFO",
        );
        let seq = out.sequence_number().expect("SequenceNumber").to_string();
        assert!(seq > last_seq, "sequence numbers increase: {seq} after {last_seq}");
        last_seq = seq;
        ids.insert(i, out.message_id().unwrap().to_string());
    }
    // The same content again inside five minutes: same answer, not delivered twice.
    let again = ok(
        sns.publish()
            .topic_arn(&arn)
            .message("event-3")
            .message_group_id("odd")
            .send()
            .await,
        "Publish duplicate",
    );
    assert_eq!(again.message_id(), Some(ids[&3].as_str()));
    let explicit = |dedup: &str| {
        sns.publish()
            .topic_arn(&arn)
            .message("x")
            .message_group_id("g")
            .message_deduplication_id(dedup)
            .send()
    };
    let first = ok(explicit("d-1").await, "Publish d-1");
    let second = ok(explicit("d-1").await, "Publish d-1 again");
    assert_eq!(first.message_id(), second.message_id());

    let mut order: HashMap<String, Vec<String>> = HashMap::new();
    for _ in 0..20 {
        let got = receive(&sqs, &url, 10, 0, Some(60)).await;
        if got.is_empty() {
            break;
        }
        let mut delete = sqs.delete_message_batch().queue_url(&url);
        for (n, m) in got.iter().enumerate() {
            let body = m.body().unwrap().to_string();
            let group = if body == "x" {
                "g".to_string()
            } else {
                let i: u32 = body.trim_start_matches("event-").parse().unwrap();
                if i.is_multiple_of(2) { "even" } else { "odd" }.to_string()
            };
            order.entry(group).or_default().push(body);
            delete = delete.entries(
                aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(n.to_string())
                    .receipt_handle(m.receipt_handle().unwrap())
                    .build()
                    .unwrap(),
            );
        }
        ok(delete.send().await, "DeleteMessageBatch");
    }
    let expect = |parity: u32| -> Vec<String> {
        (0..20)
            .filter(|i| i % 2 == parity)
            .map(|i| format!("event-{i}"))
            .collect()
    };
    assert_eq!(order["even"], expect(0));
    assert_eq!(order["odd"], expect(1));
    assert_eq!(order["g"], vec!["x".to_string()]);
}

#[tokio::test]
async fn publish_batch_reports_partial_failures() {
    let broker = Broker::start().await;
    let sns = sns_client(&broker.endpoint()).await;
    let sqs = broker.sqs().await;
    let arn = topic(&sns, "batch", &[]).await;
    let url = create_queue(&sqs, "batch-q", &[]).await;
    subscribe(&sns, &arn, "batch-q", &[("RawMessageDelivery", "true")]).await;
    let entry = |id: &str, message: &str| {
        PublishBatchRequestEntry::builder()
            .id(id)
            .message(message)
            .build()
            .unwrap()
    };
    let out = ok(
        sns.publish_batch()
            .topic_arn(&arn)
            .publish_batch_request_entries(entry("a", "one"))
            .publish_batch_request_entries(
                PublishBatchRequestEntry::builder()
                    .id("bad")
                    .message("two")
                    .message_structure("json")
                    .build()
                    .unwrap(),
            )
            .publish_batch_request_entries(entry("c", "three"))
            .send()
            .await,
        "PublishBatch",
    );
    let ok_ids: BTreeSet<&str> = out.successful().iter().filter_map(|s| s.id()).collect();
    assert_eq!(ok_ids, BTreeSet::from(["a", "c"]));
    assert!(out.successful().iter().all(|s| s.message_id().is_some()));
    assert_eq!(out.failed().len(), 1);
    assert_eq!(out.failed()[0].id(), "bad");
    assert_eq!(out.failed()[0].code(), "InvalidParameter");
    assert!(out.failed()[0].sender_fault());
    let mut got = bodies(&sqs, &url).await;
    got.sort();
    assert_eq!(got, vec!["one".to_string(), "three".to_string()]);

    let mut too_many = sns.publish_batch().topic_arn(&arn);
    for i in 0..11 {
        too_many = too_many.publish_batch_request_entries(entry(&format!("e{i}"), "m"));
    }
    expect_code(too_many.send().await, "TooManyEntriesInBatchRequest");
    expect_code(
        sns.publish_batch()
            .topic_arn(&arn)
            .publish_batch_request_entries(entry("same", "1"))
            .publish_batch_request_entries(entry("same", "2"))
            .send()
            .await,
        "BatchEntryIdsNotDistinct",
    );
    expect_code(sns.publish_batch().topic_arn(&arn).send().await, "EmptyBatchRequest");
}
