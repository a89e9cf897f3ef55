//! The router table of botocore-serialized wire examples, the decoding of every action, the
//! decoder's required-member and batch rules, and the exact bytes of responses. (The rules of
//! one message, attribute or tag at their edges are tested in `validate.rs`.)

use super::*;
use crate::query::parse_form;
use crate::sns::validate::MAX_MESSAGE_BYTES;

fn decode(body: &str) -> Result<SnsRequest, SnsError> {
    decode_query(&parse_form(body.as_bytes())).map(|(_, r)| r)
}

fn error(body: &str) -> SnsError {
    match decode(body) {
        Ok(req) => panic!("{body} must be refused, decoded to {req:?}"),
        Err(err) => err,
    }
}

const TOPIC: &str = "arn:aws:sns:us-east-1:000000000000:t";
const SUBSCRIPTION: &str = "arn:aws:sns:us-east-1:000000000000:t:7f1c2d3e-0000-4000-8000-000000000001";

/// One request of every served action (two for Publish: TopicArn and TargetArn), as botocore
/// 1.43's query serializer writes them (`serialize_to_request` + `urlencode`).
const WIRE_EXAMPLES: &[(&str, &str)] = &[
    (
        "CreateTopic",
        "Action=CreateTopic&Version=2010-03-31&Name=orders.fifo&Attributes.entry.1.key=FifoTopic&Attributes.entry.1.value=true&Attributes.entry.2.key=ContentBasedDeduplication&Attributes.entry.2.value=true&Tags.member.1.Key=team&Tags.member.1.Value=a&Tags.member.2.Key=env&Tags.member.2.Value=&DataProtectionPolicy=%7B%7D",
    ),
    (
        "DeleteTopic",
        "Action=DeleteTopic&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At",
    ),
    ("ListTopics", "Action=ListTopics&Version=2010-03-31&NextToken=tok"),
    (
        "GetTopicAttributes",
        "Action=GetTopicAttributes&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At",
    ),
    (
        "SetTopicAttributes",
        "Action=SetTopicAttributes&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&AttributeName=DisplayName&AttributeValue=Orders+%26+more",
    ),
    (
        "Subscribe",
        "Action=Subscribe&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&Protocol=sqs&Endpoint=arn%3Aaws%3Asqs%3Aus-east-1%3A000000000000%3Aq&Attributes.entry.1.key=RawMessageDelivery&Attributes.entry.1.value=true&Attributes.entry.2.key=FilterPolicy&Attributes.entry.2.value=%7B%22a%22%3A%5B%22b%22%5D%7D&ReturnSubscriptionArn=true",
    ),
    (
        "ConfirmSubscription",
        "Action=ConfirmSubscription&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&Token=abc123&AuthenticateOnUnsubscribe=true",
    ),
    (
        "Unsubscribe",
        "Action=Unsubscribe&Version=2010-03-31&SubscriptionArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At%3A7f1c2d3e-0000-4000-8000-000000000001",
    ),
    ("ListSubscriptions", "Action=ListSubscriptions&Version=2010-03-31&NextToken=tok"),
    (
        "ListSubscriptionsByTopic",
        "Action=ListSubscriptionsByTopic&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&NextToken=tok",
    ),
    (
        "GetSubscriptionAttributes",
        "Action=GetSubscriptionAttributes&Version=2010-03-31&SubscriptionArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At%3A7f1c2d3e-0000-4000-8000-000000000001",
    ),
    (
        "SetSubscriptionAttributes",
        "Action=SetSubscriptionAttributes&Version=2010-03-31&SubscriptionArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At%3A7f1c2d3e-0000-4000-8000-000000000001&AttributeName=RawMessageDelivery&AttributeValue=true",
    ),
    (
        "Publish",
        "Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&Message=hello+world&Subject=Hi&MessageAttributes.entry.1.Name=color&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=red&MessageAttributes.entry.2.Name=blob&MessageAttributes.entry.2.Value.DataType=Binary&MessageAttributes.entry.2.Value.BinaryValue=AQI%3D&MessageAttributes.entry.3.Name=n&MessageAttributes.entry.3.Value.DataType=Number&MessageAttributes.entry.3.Value.StringValue=5&MessageAttributes.entry.4.Name=l&MessageAttributes.entry.4.Value.DataType=String.Array&MessageAttributes.entry.4.Value.StringValue=%5B%22a%22%2C1%5D&MessageGroupId=g&MessageDeduplicationId=d",
    ),
    (
        "Publish",
        "Action=Publish&Version=2010-03-31&TargetArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&Message=%7B%22default%22%3A%22x%22%7D&MessageStructure=json",
    ),
    (
        "PublishBatch",
        "Action=PublishBatch&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&PublishBatchRequestEntries.member.1.Id=a&PublishBatchRequestEntries.member.1.Message=one&PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Name=n&PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Value.DataType=Number&PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Value.StringValue=5&PublishBatchRequestEntries.member.2.Id=b&PublishBatchRequestEntries.member.2.Message=two&PublishBatchRequestEntries.member.2.Subject=x&PublishBatchRequestEntries.member.2.MessageGroupId=g&PublishBatchRequestEntries.member.2.MessageDeduplicationId=d&PublishBatchRequestEntries.member.2.MessageStructure=json",
    ),
    (
        "TagResource",
        "Action=TagResource&Version=2010-03-31&ResourceArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&Tags.member.1.Key=a&Tags.member.1.Value=1&Tags.member.2.Key=b&Tags.member.2.Value=2",
    ),
    (
        "UntagResource",
        "Action=UntagResource&Version=2010-03-31&ResourceArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&TagKeys.member.1=a&TagKeys.member.2=b",
    ),
    (
        "ListTagsForResource",
        "Action=ListTagsForResource&Version=2010-03-31&ResourceArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At",
    ),
    (
        "AddPermission",
        "Action=AddPermission&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&Label=l&AWSAccountId.member.1=111122223333&AWSAccountId.member.2=444455556666&ActionName.member.1=Publish&ActionName.member.2=Subscribe",
    ),
    (
        "RemovePermission",
        "Action=RemovePermission&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&Label=l",
    ),
];

fn example(action: &str, n: usize) -> &'static str {
    WIRE_EXAMPLES
        .iter()
        .filter(|(a, _)| *a == action)
        .nth(n)
        .map(|(_, body)| *body)
        .unwrap_or_else(|| panic!("no example {n} for {action}"))
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn router_table_covers_every_action() {
    for (name, body) in WIRE_EXAMPLES {
        let (action, request) = decode_query(&parse_form(body.as_bytes())).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(action.name(), *name);
        assert_eq!(request.action(), action, "{name}");
    }
    for action in SnsAction::ALL {
        assert!(
            WIRE_EXAMPLES.iter().any(|(name, _)| *name == action.name()),
            "no wire example for {}",
            action.name()
        );
    }
}

#[test]
fn action_parameter() {
    assert_eq!(error("").code, SnsErrorCode::MissingAction);
    assert_eq!(error("Action=").code, SnsErrorCode::MissingAction);
    let err = error("Action=Nope");
    assert_eq!(err.code, SnsErrorCode::InvalidAction);
    assert_eq!(err.message, "The action Nope is not valid for this endpoint.");
    // Names are case-sensitive, as on AWS.
    assert_eq!(
        error("Action=publish&TopicArn=x&Message=m").code,
        SnsErrorCode::InvalidAction
    );
    // The model's other operations are known and refused by name.
    let err = error("Action=CreatePlatformEndpoint&PlatformApplicationArn=x&Token=t");
    assert_eq!(err.code, SnsErrorCode::InvalidAction);
    assert_eq!(
        err.message,
        "The action CreatePlatformEndpoint (SMS, mobile push or data protection) is not supported by Sluice."
    );
    // Version is optional.
    assert!(decode("Action=ListTopics").is_ok());
}

#[test]
fn topics_and_subscriptions_decode() {
    assert_eq!(
        decode(example("CreateTopic", 0)).unwrap(),
        SnsRequest::CreateTopic {
            name: "orders.fifo".into(),
            attributes: map(&[
                ("FifoTopic", "true"),
                ("ContentBasedDeduplication", "true"),
                ("DataProtectionPolicy", "{}")
            ]),
            tags: map(&[("team", "a"), ("env", "")]),
        }
    );
    assert_eq!(
        decode(example("DeleteTopic", 0)).unwrap(),
        SnsRequest::DeleteTopic {
            topic_arn: TOPIC.into()
        }
    );
    assert_eq!(
        decode(example("ListTopics", 0)).unwrap(),
        SnsRequest::ListTopics {
            next_token: Some("tok".into())
        }
    );
    assert_eq!(
        decode(example("GetTopicAttributes", 0)).unwrap(),
        SnsRequest::GetTopicAttributes {
            topic_arn: TOPIC.into()
        }
    );
    assert_eq!(
        decode(example("SetTopicAttributes", 0)).unwrap(),
        SnsRequest::SetTopicAttributes {
            topic_arn: TOPIC.into(),
            attribute_name: "DisplayName".into(),
            attribute_value: "Orders & more".into(),
        }
    );
    assert_eq!(
        decode(example("Subscribe", 0)).unwrap(),
        SnsRequest::Subscribe {
            topic_arn: TOPIC.into(),
            protocol: "sqs".into(),
            endpoint: "arn:aws:sqs:us-east-1:000000000000:q".into(),
            attributes: map(&[("RawMessageDelivery", "true"), ("FilterPolicy", r#"{"a":["b"]}"#)]),
            return_subscription_arn: true,
        }
    );
    assert_eq!(
        decode(example("ConfirmSubscription", 0)).unwrap(),
        SnsRequest::ConfirmSubscription {
            topic_arn: TOPIC.into(),
            token: "abc123".into(),
            authenticate_on_unsubscribe: true,
        }
    );
    assert_eq!(
        decode(example("Unsubscribe", 0)).unwrap(),
        SnsRequest::Unsubscribe {
            subscription_arn: SUBSCRIPTION.into()
        }
    );
    assert_eq!(
        decode(example("ListSubscriptions", 0)).unwrap(),
        SnsRequest::ListSubscriptions {
            next_token: Some("tok".into())
        }
    );
    assert_eq!(
        decode(example("ListSubscriptionsByTopic", 0)).unwrap(),
        SnsRequest::ListSubscriptionsByTopic {
            topic_arn: TOPIC.into(),
            next_token: Some("tok".into())
        }
    );
    assert_eq!(
        decode(example("GetSubscriptionAttributes", 0)).unwrap(),
        SnsRequest::GetSubscriptionAttributes {
            subscription_arn: SUBSCRIPTION.into()
        }
    );
    assert_eq!(
        decode(example("SetSubscriptionAttributes", 0)).unwrap(),
        SnsRequest::SetSubscriptionAttributes {
            subscription_arn: SUBSCRIPTION.into(),
            attribute_name: "RawMessageDelivery".into(),
            attribute_value: "true".into(),
        }
    );
    assert_eq!(
        decode(example("AddPermission", 0)).unwrap(),
        SnsRequest::AddPermission {
            topic_arn: TOPIC.into(),
            label: "l".into(),
            account_ids: vec!["111122223333".into(), "444455556666".into()],
            action_names: vec!["Publish".into(), "Subscribe".into()],
        }
    );
    assert_eq!(
        decode(example("RemovePermission", 0)).unwrap(),
        SnsRequest::RemovePermission {
            topic_arn: TOPIC.into(),
            label: "l".into()
        }
    );
}

#[test]
fn optional_members_default() {
    assert_eq!(
        decode("Action=ListTopics").unwrap(),
        SnsRequest::ListTopics { next_token: None }
    );
    assert_eq!(
        decode(&format!("Action=Subscribe&TopicArn={TOPIC}&Protocol=http")).unwrap(),
        SnsRequest::Subscribe {
            topic_arn: TOPIC.into(),
            protocol: "http".into(),
            endpoint: String::new(),
            attributes: BTreeMap::new(),
            return_subscription_arn: false,
        }
    );
    assert_eq!(
        decode(&format!(
            "Action=SetTopicAttributes&TopicArn={TOPIC}&AttributeName=Policy"
        ))
        .unwrap(),
        SnsRequest::SetTopicAttributes {
            topic_arn: TOPIC.into(),
            attribute_name: "Policy".into(),
            attribute_value: String::new(),
        }
    );
    // Boolean members accept any case; anything but true is false.
    match decode(&format!(
        "Action=ConfirmSubscription&TopicArn={TOPIC}&Token=t&AuthenticateOnUnsubscribe=TRUE"
    ))
    .unwrap()
    {
        SnsRequest::ConfirmSubscription {
            authenticate_on_unsubscribe,
            ..
        } => assert!(authenticate_on_unsubscribe),
        other => panic!("{other:?}"),
    }
    // botocore's empty map and list serializations.
    assert_eq!(
        decode("Action=CreateTopic&Name=a&Tags=&Attributes=").unwrap(),
        SnsRequest::CreateTopic {
            name: "a".into(),
            attributes: BTreeMap::new(),
            tags: BTreeMap::new(),
        }
    );
}

#[test]
fn publish_decodes() {
    let attr = |data_type: &str, s: Option<&str>, b: Option<&[u8]>| MessageAttributeValue {
        data_type: data_type.into(),
        string_value: s.map(str::to_string),
        binary_value: b.map(<[u8]>::to_vec),
    };
    assert_eq!(
        decode(example("Publish", 0)).unwrap(),
        SnsRequest::Publish {
            topic_arn: TOPIC.into(),
            fields: PublishFields {
                message: "hello world".into(),
                subject: Some("Hi".into()),
                message_structure: None,
                message_attributes: MessageAttributeMap::from([
                    ("color".to_string(), attr("String", Some("red"), None)),
                    ("blob".to_string(), attr("Binary", None, Some(&[1, 2]))),
                    ("n".to_string(), attr("Number", Some("5"), None)),
                    ("l".to_string(), attr("String.Array", Some(r#"["a",1]"#), None)),
                ]),
                message_deduplication_id: Some("d".into()),
                message_group_id: Some("g".into()),
            },
        }
    );
    assert_eq!(
        decode(example("Publish", 1)).unwrap(),
        SnsRequest::Publish {
            topic_arn: TOPIC.into(),
            fields: PublishFields {
                message: r#"{"default":"x"}"#.into(),
                message_structure: Some("json".into()),
                ..PublishFields::default()
            },
        }
    );
}

#[test]
fn publish_batch_decodes() {
    let SnsRequest::PublishBatch { topic_arn, entries } = decode(example("PublishBatch", 0)).unwrap() else {
        panic!("not a PublishBatch");
    };
    assert_eq!(topic_arn, TOPIC);
    assert_eq!(
        entries,
        vec![
            PublishBatchEntry {
                id: "a".into(),
                fields: PublishFields {
                    message: "one".into(),
                    message_attributes: MessageAttributeMap::from([(
                        "n".to_string(),
                        MessageAttributeValue {
                            data_type: "Number".into(),
                            string_value: Some("5".into()),
                            binary_value: None,
                        }
                    )]),
                    ..PublishFields::default()
                },
            },
            PublishBatchEntry {
                id: "b".into(),
                fields: PublishFields {
                    message: "two".into(),
                    subject: Some("x".into()),
                    message_structure: Some("json".into()),
                    message_deduplication_id: Some("d".into()),
                    message_group_id: Some("g".into()),
                    ..PublishFields::default()
                },
            },
        ]
    );
}

#[test]
fn tags_decode() {
    assert_eq!(
        decode(example("TagResource", 0)).unwrap(),
        SnsRequest::TagResource {
            resource_arn: TOPIC.into(),
            tags: map(&[("a", "1"), ("b", "2")]),
        }
    );
    assert_eq!(
        decode(example("UntagResource", 0)).unwrap(),
        SnsRequest::UntagResource {
            resource_arn: TOPIC.into(),
            tag_keys: vec!["a".into(), "b".into()],
        }
    );
    assert_eq!(
        decode(example("ListTagsForResource", 0)).unwrap(),
        SnsRequest::ListTagsForResource {
            resource_arn: TOPIC.into()
        }
    );
    // An empty list (botocore's bare `Tags=`) is present, so allowed: nothing to change.
    assert_eq!(
        decode(&format!("Action=UntagResource&ResourceArn={TOPIC}&TagKeys=")).unwrap(),
        SnsRequest::UntagResource {
            resource_arn: TOPIC.into(),
            tag_keys: vec![],
        }
    );
}

/// AWS's two answers to an absent required member: SNS's own `InvalidParameter ... Reason: no
/// value for required parameter`, and the front end's `ValidationError ... Value null at`.
#[test]
fn required_members() {
    let no_value = |body: &str, member: &str| {
        let err = error(body);
        assert_eq!(err.code, SnsErrorCode::InvalidParameter, "{body}");
        assert_eq!(
            err.message,
            format!("Invalid parameter: {member} Reason: no value for required parameter"),
            "{body}"
        );
    };
    let null = |body: &str, path: &str| {
        let err = error(body);
        assert_eq!(err.code, SnsErrorCode::ValidationError, "{body}");
        assert_eq!(
            err.message,
            format!("1 validation error detected: Value null at '{path}' failed to satisfy constraint: Member must not be null"),
            "{body}"
        );
    };
    no_value("Action=DeleteTopic", "TopicArn");
    no_value("Action=DeleteTopic&TopicArn=", "TopicArn");
    no_value("Action=GetTopicAttributes", "TopicArn");
    no_value("Action=ListSubscriptionsByTopic", "TopicArn");
    no_value("Action=SetTopicAttributes&AttributeName=a", "TopicArn");
    no_value(&format!("Action=SetTopicAttributes&TopicArn={TOPIC}"), "AttributeName");
    no_value(&format!("Action=Subscribe&TopicArn={TOPIC}"), "Protocol");
    no_value("Action=Subscribe&Protocol=sqs", "TopicArn");
    no_value(&format!("Action=ConfirmSubscription&TopicArn={TOPIC}"), "Token");
    no_value("Action=Unsubscribe", "SubscriptionArn");
    no_value("Action=GetSubscriptionAttributes", "SubscriptionArn");
    no_value(
        &format!("Action=SetSubscriptionAttributes&SubscriptionArn={SUBSCRIPTION}"),
        "AttributeName",
    );
    no_value("Action=Publish&Message=m", "TopicArn or TargetArn");
    no_value("Action=Publish&TopicArn=&TargetArn=&Message=m", "TopicArn or TargetArn");
    no_value("Action=PublishBatch", "TopicArn");
    no_value(
        &format!("Action=AddPermission&TopicArn={TOPIC}&ActionName.member.1=Publish"),
        "Label",
    );
    no_value(
        &format!("Action=AddPermission&TopicArn={TOPIC}&Label=l&ActionName.member.1=Publish"),
        "AWSAccountId",
    );
    no_value(
        &format!("Action=AddPermission&TopicArn={TOPIC}&Label=l&AWSAccountId.member.1=1"),
        "ActionName",
    );
    no_value(&format!("Action=RemovePermission&TopicArn={TOPIC}"), "Label");
    null("Action=CreateTopic", "name");
    null(&format!("Action=Publish&TopicArn={TOPIC}"), "message");
    null(
        "Action=TagResource&Tags.member.1.Key=k&Tags.member.1.Value=v",
        "resourceArn",
    );
    null(&format!("Action=TagResource&ResourceArn={TOPIC}"), "tags");
    null(&format!("Action=UntagResource&ResourceArn={TOPIC}"), "tagKeys");
    null("Action=ListTagsForResource", "resourceArn");
    null(
        &format!("Action=TagResource&ResourceArn={TOPIC}&Tags.member.1.Value=v"),
        "tags.1.member.key",
    );
    null(
        &format!("Action=TagResource&ResourceArn={TOPIC}&Tags.member.1.Key=k"),
        "tags.1.member.value",
    );
    null(
        &format!("Action=Publish&TopicArn={TOPIC}&Message=m&MessageAttributes.entry.1.Name=a&MessageAttributes.entry.1.Value.StringValue=x"),
        "messageAttributes.a.member.dataType",
    );
    let batch = format!("Action=PublishBatch&TopicArn={TOPIC}");
    null(
        &format!("{batch}&PublishBatchRequestEntries.member.1.Message=m"),
        "publishBatchRequestEntries.1.member.id",
    );
    null(
        &format!("{batch}&PublishBatchRequestEntries.member.1.Id=a"),
        "publishBatchRequestEntries.1.member.message",
    );
    null(
        &format!("{batch}&PublishBatchRequestEntries.member.1.Id=a&PublishBatchRequestEntries.member.1.Message=m&PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Name=k&PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Value.StringValue=v"),
        "publishBatchRequestEntries.1.member.messageAttributes.k.member.dataType",
    );
    null(
        "Action=CreateTopic&Name=a&Attributes.entry.1.value=v",
        "attributes.entry.1.member.key",
    );
}

#[test]
fn arns_are_checked() {
    let err = error("Action=Publish&TopicArn=fake_topic&Message=hello");
    assert_eq!(err.code, SnsErrorCode::InvalidParameter);
    assert_eq!(
        err.message,
        "Invalid parameter: TopicArn Reason: fake_topic does not start with arn"
    );
    let err = error("Action=Publish&TargetArn=arn%3Aaws%3Asns&Message=hello");
    assert_eq!(
        err.message,
        "Invalid parameter: TargetArn Reason: An ARN must have at least 6 elements, not 3"
    );
    let err = error("Action=Unsubscribe&SubscriptionArn=pending+confirmation");
    assert_eq!(
        err.message,
        "Invalid parameter: SubscriptionArn Reason: pending confirmation does not start with arn"
    );
    assert!(decode("Action=DeleteTopic&TopicArn=arn%3Aa%3Ab%3Ac%3Ad%3Ae").is_ok());
    // The tagging actions' ResourceArn has the model's length constraint instead.
    let err = error(&format!("Action=ListTagsForResource&ResourceArn={}", "a".repeat(1012)));
    assert_eq!(err.code, SnsErrorCode::ValidationError);
    assert!(decode(&format!("Action=ListTagsForResource&ResourceArn={}", "a".repeat(1011))).is_ok());
    assert_eq!(
        error("Action=ListTagsForResource&ResourceArn=").code,
        SnsErrorCode::ValidationError
    );
}

#[test]
fn publish_decoding_rules() {
    let publish = |extra: &str| decode(&format!("Action=Publish&TopicArn={TOPIC}{extra}"));
    assert!(publish("&Message=m").is_ok());
    assert_eq!(
        publish("&TargetArn=x&Message=m").unwrap_err().message,
        "Invalid parameter: TopicArn or TargetArn Reason: Only one of TopicArn or TargetArn may be specified"
    );
    let err = error("Action=Publish&PhoneNumber=%2B15555550100&Message=m");
    assert_eq!(err.code, SnsErrorCode::InvalidParameter);
    assert!(
        err.message.starts_with("Invalid parameter: PhoneNumber"),
        "{}",
        err.message
    );
    // One message's rules (validate.rs has them at their edges).
    assert_eq!(
        publish("&Message=").unwrap_err().message,
        "Invalid parameter: Empty message"
    );
    assert_eq!(
        publish("&Message=m&Subject=").unwrap_err().message,
        "Invalid parameter: Subject"
    );
    assert_eq!(
        publish("&Message=m&MessageStructure=xml").unwrap_err().message,
        "Invalid parameter: MessageStructure"
    );
    assert!(publish(&format!("&Message={}", "a".repeat(MAX_MESSAGE_BYTES))).is_ok());
    assert_eq!(
        publish(&format!("&Message={}", "a".repeat(MAX_MESSAGE_BYTES + 1)))
            .unwrap_err()
            .message,
        "Invalid parameter: Message too long"
    );
    // Attribute names, types and values count toward the limit.
    let attr = "&MessageAttributes.entry.1.Name=ab&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=xyz";
    let room = MAX_MESSAGE_BYTES - "ab".len() - "String".len() - "xyz".len();
    assert!(publish(&format!("&Message={}{attr}", "a".repeat(room))).is_ok());
    assert!(publish(&format!("&Message={}{attr}", "a".repeat(room + 1))).is_err());
    // Attributes: the message of AWS for each (validate.rs has the full table).
    let err = publish("&Message=m&MessageAttributes.entry.1.Name=a&MessageAttributes.entry.1.Value.DataType=Number&MessageAttributes.entry.1.Value.StringValue=x").unwrap_err();
    assert_eq!(err.code, SnsErrorCode::ParameterValueInvalid);
    assert_eq!(err.message, "Could not cast message attribute 'a' value to number.");
    let err = publish("&Message=m&MessageAttributes.entry.1.Name=b&MessageAttributes.entry.1.Value.DataType=Binary&MessageAttributes.entry.1.Value.BinaryValue=%25%25").unwrap_err();
    assert_eq!(err.code, SnsErrorCode::ParameterValueInvalid);
    assert_eq!(
        err.message,
        "The message attribute 'b' has an invalid binary value: it must be base64."
    );
}

fn batch_entries(n: usize) -> String {
    (1..=n)
        .map(|i| {
            format!("&PublishBatchRequestEntries.member.{i}.Id=e{i}&PublishBatchRequestEntries.member.{i}.Message=m")
        })
        .collect()
}

fn batch(rest: &str) -> Result<SnsRequest, SnsError> {
    decode(&format!("Action=PublishBatch&TopicArn={TOPIC}{rest}"))
}

#[test]
fn batch_decoding_rules() {
    match batch(&batch_entries(10)).unwrap() {
        SnsRequest::PublishBatch { entries, .. } => assert_eq!(entries.len(), 10),
        other => panic!("{other:?}"),
    }
    for (rest, code, message) in [
        ("", SnsErrorCode::EmptyBatchRequest, "The batch request doesn't contain any entries."),
        (
            "&PublishBatchRequestEntries=",
            SnsErrorCode::EmptyBatchRequest,
            "The batch request doesn't contain any entries.",
        ),
        (
            &batch_entries(11),
            SnsErrorCode::TooManyEntriesInBatchRequest,
            "The batch request contains more entries than permissible.",
        ),
        (
            "&PublishBatchRequestEntries.member.1.Id=x&PublishBatchRequestEntries.member.1.Message=m&PublishBatchRequestEntries.member.2.Id=x&PublishBatchRequestEntries.member.2.Message=m",
            SnsErrorCode::BatchEntryIdsNotDistinct,
            "Two or more batch entries in the request have the same Id.",
        ),
        (
            "&PublishBatchRequestEntries.member.1.Id=a%20b&PublishBatchRequestEntries.member.1.Message=m",
            SnsErrorCode::InvalidBatchEntryId,
            "The Id of a batch entry in the batch request contains an impermissible character: a b",
        ),
    ] {
        let err = batch(rest).unwrap_err();
        assert_eq!((err.code, err.message.as_str()), (code, message), "{rest}");
    }
    let half = "a".repeat(MAX_MESSAGE_BYTES / 2);
    let two = |second: &str| {
        format!("&PublishBatchRequestEntries.member.1.Id=a&PublishBatchRequestEntries.member.1.Message={half}&PublishBatchRequestEntries.member.2.Id=b&PublishBatchRequestEntries.member.2.Message={second}")
    };
    assert!(batch(&two(&half)).is_ok(), "exactly 256 KiB in total");
    let err = batch(&two(&format!("{half}a"))).unwrap_err();
    assert_eq!(err.code, SnsErrorCode::BatchRequestTooLong);
    assert_eq!(
        err.message,
        "The length of all the messages put together is more than the limit."
    );
    // A bad attribute fails the whole batch, as on AWS.
    let err = batch("&PublishBatchRequestEntries.member.1.Id=a&PublishBatchRequestEntries.member.1.Message=m&PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Name=s&PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Value.DataType=String&PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Value.StringValue=").unwrap_err();
    assert_eq!(err.code, SnsErrorCode::ParameterValueInvalid);
    // A bad message is not a request error: it fails alone when the server checks it.
    match batch("&PublishBatchRequestEntries.member.1.Id=a&PublishBatchRequestEntries.member.1.Message=&PublishBatchRequestEntries.member.2.Id=b&PublishBatchRequestEntries.member.2.Message=m&PublishBatchRequestEntries.member.2.Subject=").unwrap() {
        SnsRequest::PublishBatch { entries, .. } => {
            assert_eq!(check_publish(&entries[0].fields).unwrap_err().message, "Invalid parameter: Empty message");
            assert_eq!(check_publish(&entries[1].fields).unwrap_err().message, "Invalid parameter: Subject");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn create_topic_and_tag_rules() {
    let name = |n: &str| decode(&format!("Action=CreateTopic&Name={n}"));
    assert!(name("A-b_9").is_ok());
    assert_eq!(name("a+b").unwrap_err().message, "Invalid parameter: Topic Name");
    assert_eq!(name("").unwrap_err().message, "Invalid parameter: Topic Name");
    let many: String = (1..=51)
        .map(|i| format!("&Tags.member.{i}.Key=k{i}&Tags.member.{i}.Value=v"))
        .collect();
    let err = decode(&format!("Action=TagResource&ResourceArn={TOPIC}{many}")).unwrap_err();
    assert_eq!(err.code, SnsErrorCode::TagLimitExceeded);
    let err = decode(&format!("Action=CreateTopic&Name=t{many}")).unwrap_err();
    assert_eq!(err.code, SnsErrorCode::TagLimitExceeded);
    let err = decode(&format!(
        "Action=TagResource&ResourceArn={TOPIC}&Tags.member.1.Key=k&Tags.member.1.Value=1&Tags.member.2.Key=k&Tags.member.2.Value=2"
    ))
    .unwrap_err();
    assert_eq!(err.message, "Invalid parameter: Duplicated keys are not allowed.");
    let err = decode(&format!(
        "Action=UntagResource&ResourceArn={TOPIC}&TagKeys.member.1=a&TagKeys.member.2={}",
        "k".repeat(129)
    ))
    .unwrap_err();
    assert_eq!(err.code, SnsErrorCode::ValidationError);
    assert!(err.message.contains("at 'tagKeys.2.member'"), "{}", err.message);
    assert_eq!(
        decode(&format!(
            "Action=AddPermission&TopicArn={TOPIC}&Label=a%20b&AWSAccountId.member.1=1&ActionName.member.1=Publish"
        ))
        .unwrap_err()
        .message,
        "Invalid parameter: Label"
    );
}

#[test]
fn repeated_and_odd_parameters() {
    // The first occurrence of a repeated name wins; unknown parameters are ignored.
    assert_eq!(
        decode(&format!(
            "Action=DeleteTopic&TopicArn={TOPIC}&TopicArn=other&Color=blue"
        ))
        .unwrap(),
        SnsRequest::DeleteTopic {
            topic_arn: TOPIC.into()
        }
    );
    // List indices need not be contiguous; they are read in numeric order.
    assert_eq!(
        decode(&format!(
            "Action=UntagResource&ResourceArn={TOPIC}&TagKeys.member.10=b&TagKeys.member.2=a"
        ))
        .unwrap(),
        SnsRequest::UntagResource {
            resource_arn: TOPIC.into(),
            tag_keys: vec!["a".into(), "b".into()],
        }
    );
}

fn xml(resp: &SnsResponse) -> String {
    String::from_utf8(encode_xml(resp, "req-1")).unwrap()
}

const HEAD: &str = "<?xml version=\"1.0\"?>";

/// Exact bytes of responses; the same documents parse with botocore's `QueryParser` to the
/// model's output shapes (checked by hand with botocore 1.43 when this encoder changed).
#[test]
fn response_documents() {
    assert_eq!(
        xml(&SnsResponse::CreateTopic { topic_arn: TOPIC.into() }),
        format!("{HEAD}<CreateTopicResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><CreateTopicResult><TopicArn>{TOPIC}</TopicArn></CreateTopicResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></CreateTopicResponse>")
    );
    assert_eq!(
        xml(&SnsResponse::Publish {
            message_id: "m-1".into(),
            sequence_number: None
        }),
        format!("{HEAD}<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></PublishResponse>")
    );
    assert_eq!(
        xml(&SnsResponse::Empty(SnsAction::DeleteTopic)),
        format!("{HEAD}<DeleteTopicResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></DeleteTopicResponse>")
    );
    // TagResource's output shape is empty, but it exists: the Result element is there.
    assert_eq!(
        xml(&SnsResponse::Empty(SnsAction::TagResource)),
        format!("{HEAD}<TagResourceResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><TagResourceResult></TagResourceResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></TagResourceResponse>")
    );
    assert_eq!(
        xml(&SnsResponse::PublishBatch {
            successful: vec![BatchSuccess {
                id: "a".into(),
                message_id: "m".into(),
                sequence_number: Some("1".into()),
            }],
            failed: vec![BatchFailure {
                id: "b".into(),
                code: "InvalidParameter".into(),
                message: "Invalid parameter: Empty message".into(),
                sender_fault: true,
            }],
        }),
        format!("{HEAD}<PublishBatchResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishBatchResult><Successful><member><Id>a</Id><MessageId>m</MessageId><SequenceNumber>1</SequenceNumber></member></Successful><Failed><member><Id>b</Id><Code>InvalidParameter</Code><Message>Invalid parameter: Empty message</Message><SenderFault>true</SenderFault></member></Failed></PublishBatchResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></PublishBatchResponse>")
    );
    assert_eq!(
        xml(&SnsResponse::Attributes(
            SnsAction::GetTopicAttributes,
            BTreeMap::from([("DisplayName".to_string(), "a<b\r".to_string()), ("Owner".to_string(), "0".to_string())]),
        )),
        format!("{HEAD}<GetTopicAttributesResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><GetTopicAttributesResult><Attributes><entry><key>DisplayName</key><value>a&lt;b&#xD;</value></entry><entry><key>Owner</key><value>0</value></entry></Attributes></GetTopicAttributesResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></GetTopicAttributesResponse>")
    );
    assert_eq!(
        xml(&SnsResponse::Subscriptions(
            SnsAction::ListSubscriptionsByTopic,
            vec![SubscriptionEntry {
                subscription_arn: "PendingConfirmation".into(),
                owner: "0".into(),
                protocol: "http".into(),
                endpoint: "http://h/".into(),
                topic_arn: TOPIC.into(),
            }],
            Some("tok".into()),
        )),
        format!("{HEAD}<ListSubscriptionsByTopicResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><ListSubscriptionsByTopicResult><Subscriptions><member><SubscriptionArn>PendingConfirmation</SubscriptionArn><Owner>0</Owner><Protocol>http</Protocol><Endpoint>http://h/</Endpoint><TopicArn>{TOPIC}</TopicArn></member></Subscriptions><NextToken>tok</NextToken></ListSubscriptionsByTopicResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></ListSubscriptionsByTopicResponse>")
    );
    assert_eq!(
        xml(&SnsResponse::ListTopics {
            topic_arns: vec![TOPIC.into()],
            next_token: None,
        }),
        format!("{HEAD}<ListTopicsResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><ListTopicsResult><Topics><member><TopicArn>{TOPIC}</TopicArn></member></Topics></ListTopicsResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></ListTopicsResponse>")
    );
    assert_eq!(
        xml(&SnsResponse::Tags(BTreeMap::from([("k".to_string(), String::new())]))),
        format!("{HEAD}<ListTagsForResourceResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><ListTagsForResourceResult><Tags><member><Key>k</Key><Value></Value></member></Tags></ListTagsForResourceResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></ListTagsForResourceResponse>")
    );
    assert_eq!(
        xml(&SnsResponse::SubscriptionArn(SnsAction::Subscribe, "pending confirmation".into())),
        format!("{HEAD}<SubscribeResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><SubscribeResult><SubscriptionArn>pending confirmation</SubscriptionArn></SubscribeResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></SubscribeResponse>")
    );
}

#[test]
fn every_action_has_its_response_element() {
    for action in SnsAction::ALL {
        let body = xml(&SnsResponse::Empty(*action));
        let name = action.name();
        assert!(body.starts_with(&format!("{HEAD}<{name}Response xmlns=")), "{body}");
        assert_eq!(body.contains(&format!("<{name}Result>")), action.has_result(), "{name}");
        assert!(body.ends_with(&format!(
            "<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></{name}Response>"
        )));
    }
}
