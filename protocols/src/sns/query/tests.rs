//! Decoding of botocore-serialized wire examples, SNS's validation rules at their edges, and
//! the exact bytes of responses.

use super::*;
use crate::query::parse_form;

fn decode(body: &str) -> Result<SnsRequest, SnsError> {
    decode_query(&parse_form(body.as_bytes())).map(|(_, r)| r)
}

fn code(body: &str) -> SnsErrorCode {
    decode(body).expect_err("must be refused").code
}

/// Wire examples generated with botocore's query serializer (botocore 1.43).
const CREATE_TOPIC: &str = "Action=CreateTopic&Version=2010-03-31&Name=orders.fifo&Attributes.entry.1.key=FifoTopic&Attributes.entry.1.value=true&Attributes.entry.2.key=ContentBasedDeduplication&Attributes.entry.2.value=true&Tags.member.1.Key=team&Tags.member.1.Value=a";
const SUBSCRIBE: &str = "Action=Subscribe&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&Protocol=sqs&Endpoint=arn%3Aaws%3Asqs%3Aus-east-1%3A000000000000%3Aq&Attributes.entry.1.key=RawMessageDelivery&Attributes.entry.1.value=true&ReturnSubscriptionArn=true";
const PUBLISH: &str = "Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&Message=hi&Subject=s&MessageAttributes.entry.1.Name=color&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=red&MessageAttributes.entry.2.Name=blob&MessageAttributes.entry.2.Value.DataType=Binary&MessageAttributes.entry.2.Value.BinaryValue=AQI%3D&MessageGroupId=g&MessageDeduplicationId=d";
const PUBLISH_BATCH: &str = "Action=PublishBatch&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&PublishBatchRequestEntries.member.1.Id=a&PublishBatchRequestEntries.member.1.Message=one&PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Name=n&PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Value.DataType=Number&PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Value.StringValue=5&PublishBatchRequestEntries.member.2.Id=b&PublishBatchRequestEntries.member.2.Message=two&PublishBatchRequestEntries.member.2.Subject=x";
const ADD_PERMISSION: &str = "Action=AddPermission&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&Label=l&AWSAccountId.member.1=111122223333&ActionName.member.1=Publish&ActionName.member.2=Subscribe";
const UNTAG: &str = "Action=UntagResource&Version=2010-03-31&ResourceArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&TagKeys.member.1=a&TagKeys.member.2=b";

const TOPIC: &str = "arn:aws:sns:us-east-1:000000000000:t";

#[test]
fn botocore_examples_decode() {
    match decode(CREATE_TOPIC).unwrap() {
        SnsRequest::CreateTopic { name, attributes, tags } => {
            assert_eq!(name, "orders.fifo");
            assert_eq!(attributes["FifoTopic"], "true");
            assert_eq!(attributes["ContentBasedDeduplication"], "true");
            assert_eq!(tags["team"], "a");
        }
        other => panic!("{other:?}"),
    }
    match decode(SUBSCRIBE).unwrap() {
        SnsRequest::Subscribe {
            topic_arn,
            protocol,
            endpoint,
            attributes,
            return_subscription_arn,
        } => {
            assert_eq!(topic_arn, TOPIC);
            assert_eq!(protocol, "sqs");
            assert_eq!(endpoint, "arn:aws:sqs:us-east-1:000000000000:q");
            assert_eq!(attributes["RawMessageDelivery"], "true");
            assert!(return_subscription_arn);
        }
        other => panic!("{other:?}"),
    }
    match decode(PUBLISH).unwrap() {
        SnsRequest::Publish { topic_arn, fields } => {
            assert_eq!(topic_arn, TOPIC);
            assert_eq!(fields.message, "hi");
            assert_eq!(fields.subject.as_deref(), Some("s"));
            assert_eq!(fields.message_group_id.as_deref(), Some("g"));
            assert_eq!(fields.message_deduplication_id.as_deref(), Some("d"));
            assert_eq!(fields.message_attributes["color"].string_value.as_deref(), Some("red"));
            assert_eq!(
                fields.message_attributes["blob"].binary_value.as_deref(),
                Some(&[1u8, 2][..])
            );
        }
        other => panic!("{other:?}"),
    }
    match decode(PUBLISH_BATCH).unwrap() {
        SnsRequest::PublishBatch { entries, .. } => {
            assert_eq!(entries.len(), 2);
            assert_eq!(entries[0].id, "a");
            assert_eq!(entries[0].fields.message_attributes["n"].data_type, "Number");
            assert_eq!(entries[1].fields.subject.as_deref(), Some("x"));
        }
        other => panic!("{other:?}"),
    }
    match decode(ADD_PERMISSION).unwrap() {
        SnsRequest::AddPermission {
            account_ids,
            action_names,
            ..
        } => {
            assert_eq!(account_ids, vec!["111122223333"]);
            assert_eq!(action_names, vec!["Publish", "Subscribe"]);
        }
        other => panic!("{other:?}"),
    }
    match decode(UNTAG).unwrap() {
        SnsRequest::UntagResource { tag_keys, .. } => assert_eq!(tag_keys, vec!["a", "b"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn actions_and_required_members() {
    assert_eq!(code(""), SnsErrorCode::MissingAction);
    assert_eq!(code("Action=Nope"), SnsErrorCode::InvalidAction);
    let err = decode("Action=CreatePlatformEndpoint").unwrap_err();
    assert!(err.message.contains("not supported by Sluice"), "{}", err.message);
    let err = decode("Action=DeleteTopic").unwrap_err();
    assert_eq!(err.code, SnsErrorCode::ValidationError);
    assert!(err.message.contains("'topicArn'"), "{}", err.message);
    assert_eq!(code("Action=Subscribe&TopicArn=x"), SnsErrorCode::ValidationError);
    assert_eq!(code("Action=TagResource&ResourceArn=x"), SnsErrorCode::ValidationError);
}

#[test]
fn topic_names() {
    let name = |n: &str| decode(&format!("Action=CreateTopic&Name={n}"));
    assert!(name(&"a".repeat(256)).is_ok());
    assert!(name(&format!("{}.fifo", "a".repeat(251))).is_ok());
    assert!(name("A-b_9").is_ok());
    for bad in ["", &"a".repeat(257), "a+b", "a.b", ".fifo", "caf%C3%A9"] {
        assert_eq!(name(bad).unwrap_err().code, SnsErrorCode::InvalidParameter, "{bad}");
    }
}

fn publish(extra: &str) -> Result<SnsRequest, SnsError> {
    decode(&format!("Action=Publish&TopicArn={TOPIC}{extra}"))
}

#[test]
fn publish_rules() {
    assert!(publish("&Message=m").is_ok());
    assert!(
        publish("&TargetArn=x&Message=m").is_err(),
        "TopicArn and TargetArn together"
    );
    assert!(decode("Action=Publish&TargetArn=t&Message=m").is_ok());
    assert!(decode("Action=Publish&Message=m").is_err());
    assert!(decode("Action=Publish&PhoneNumber=%2B15555550100&Message=m").is_err());
    assert_eq!(publish("").unwrap_err().message, "Invalid parameter: Empty message");
    let max = "a".repeat(MAX_MESSAGE_BYTES);
    assert!(publish(&format!("&Message={max}")).is_ok());
    assert_eq!(
        publish(&format!("&Message={max}a")).unwrap_err().message,
        "Invalid parameter: Message too long"
    );
    assert!(publish(&format!("&Message=m&Subject={}", "s".repeat(100))).is_ok());
    assert!(publish(&format!("&Message=m&Subject={}", "s".repeat(101))).is_err());
    assert!(publish("&Message=m&Subject=a%0Ab").is_err());
    assert!(publish("&Message=m&MessageStructure=xml").is_err());
    assert!(publish("&Message=m&MessageStructure=json").is_ok());
    assert!(publish(&format!("&Message=m&MessageGroupId={}", "g".repeat(128))).is_ok());
    assert!(publish(&format!("&Message=m&MessageGroupId={}", "g".repeat(129))).is_err());
    assert!(publish("&Message=m&MessageDeduplicationId=a%20b").is_err());
}

fn with_attribute(name: &str, data_type: &str, value: &str) -> Result<SnsRequest, SnsError> {
    publish(&format!(
        "&Message=m&MessageAttributes.entry.1.Name={name}&MessageAttributes.entry.1.Value.DataType={data_type}&MessageAttributes.entry.1.Value.{value}"
    ))
}

#[test]
fn message_attribute_rules() {
    assert!(with_attribute("a.b-c_d", "String", "StringValue=x").is_ok());
    assert!(with_attribute("n", "Number", "StringValue=-1.5e3").is_ok());
    assert!(with_attribute("n", "Number.custom", "StringValue=7").is_ok());
    assert!(with_attribute("b", "Binary", "BinaryValue=AQI%3D").is_ok());
    assert!(with_attribute("l", "String.Array", "StringValue=%5B%22a%22%2C1%2Ctrue%2Cnull%5D").is_ok());
    for (name, data_type, value) in [
        ("a b", "String", "StringValue=x"),
        (".a", "String", "StringValue=x"),
        ("a..b", "String", "StringValue=x"),
        ("AWS.x", "String", "StringValue=x"),
        ("amazon.x", "String", "StringValue=x"),
        ("t", "Text", "StringValue=x"),
        ("s", "String", "StringValue="),
        ("n", "Number", "StringValue=abc"),
        ("b", "Binary", "StringValue=x"),
        ("b", "Binary", "BinaryValue=%25%25"),
        ("l", "String.Array", "StringValue=notjson"),
        ("l", "String.Array", "StringValue=%5B%5B1%5D%5D"),
    ] {
        let err = with_attribute(name, data_type, value).expect_err(name);
        assert_eq!(
            err.code,
            SnsErrorCode::ParameterValueInvalid,
            "{name} {data_type} {value}"
        );
    }
}

#[test]
fn batch_rules() {
    let entries = |n: usize| -> String {
        (1..=n)
            .map(|i| {
                format!(
                    "&PublishBatchRequestEntries.member.{i}.Id=e{i}&PublishBatchRequestEntries.member.{i}.Message=m"
                )
            })
            .collect()
    };
    let batch = |rest: &str| decode(&format!("Action=PublishBatch&TopicArn={TOPIC}{rest}"));
    assert!(batch(&entries(10)).is_ok());
    assert_eq!(batch("").unwrap_err().code, SnsErrorCode::EmptyBatchRequest);
    assert_eq!(
        batch(&entries(11)).unwrap_err().code,
        SnsErrorCode::TooManyEntriesInBatchRequest
    );
    assert_eq!(
        batch("&PublishBatchRequestEntries.member.1.Id=x&PublishBatchRequestEntries.member.1.Message=m&PublishBatchRequestEntries.member.2.Id=x&PublishBatchRequestEntries.member.2.Message=m").unwrap_err().code,
        SnsErrorCode::BatchEntryIdsNotDistinct
    );
    assert_eq!(
        batch("&PublishBatchRequestEntries.member.1.Id=a%20b&PublishBatchRequestEntries.member.1.Message=m")
            .unwrap_err()
            .code,
        SnsErrorCode::InvalidBatchEntryId
    );
    let half = "a".repeat(MAX_MESSAGE_BYTES / 2 + 1);
    let big = format!(
        "&PublishBatchRequestEntries.member.1.Id=a&PublishBatchRequestEntries.member.1.Message={half}&PublishBatchRequestEntries.member.2.Id=b&PublishBatchRequestEntries.member.2.Message={half}"
    );
    assert_eq!(batch(&big).unwrap_err().code, SnsErrorCode::BatchRequestTooLong);
    // A bad entry is not a request error: it fails alone when checked.
    match batch("&PublishBatchRequestEntries.member.1.Id=a&PublishBatchRequestEntries.member.1.Message=").unwrap() {
        SnsRequest::PublishBatch { entries, .. } => assert!(check_publish(&entries[0].fields).is_err()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tag_rules() {
    let tag = |k: &str, v: &str| {
        decode(&format!(
            "Action=TagResource&ResourceArn={TOPIC}&Tags.member.1.Key={k}&Tags.member.1.Value={v}"
        ))
    };
    assert!(tag(&"k".repeat(128), &"v".repeat(256)).is_ok());
    assert!(tag(&"k".repeat(129), "v").is_err());
    assert!(tag("k", &"v".repeat(257)).is_err());
    assert!(tag("aws:x", "v").is_err());
    assert!(tag("", "v").is_err());
}

fn xml(resp: &SnsResponse) -> String {
    String::from_utf8(encode_xml(resp, "req-1")).unwrap()
}

#[test]
fn response_documents() {
    assert_eq!(
        xml(&SnsResponse::Publish {
            message_id: "m-1".into(),
            sequence_number: None
        }),
        "<?xml version=\"1.0\"?><PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></PublishResponse>"
    );
    assert_eq!(
        xml(&SnsResponse::Empty(SnsAction::DeleteTopic)),
        "<?xml version=\"1.0\"?><DeleteTopicResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></DeleteTopicResponse>"
    );
    assert!(xml(&SnsResponse::Empty(SnsAction::TagResource)).contains("<TagResourceResult></TagResourceResult>"));
    let attrs = xml(&SnsResponse::Attributes(
        SnsAction::GetTopicAttributes,
        BTreeMap::from([("DisplayName".to_string(), "a<b".to_string())]),
    ));
    assert!(attrs.contains("<Attributes><entry><key>DisplayName</key><value>a&lt;b</value></entry></Attributes>"));
    let batch = xml(&SnsResponse::PublishBatch {
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
    });
    assert!(batch.contains("<Successful><member><Id>a</Id><MessageId>m</MessageId><SequenceNumber>1</SequenceNumber></member></Successful>"));
    assert!(batch.contains("<Failed><member><Id>b</Id><Code>InvalidParameter</Code><Message>Invalid parameter: Empty message</Message><SenderFault>true</SenderFault></member></Failed>"));
    let subs = xml(&SnsResponse::Subscriptions(
        SnsAction::ListSubscriptions,
        vec![SubscriptionEntry {
            subscription_arn: "PendingConfirmation".into(),
            owner: "0".into(),
            protocol: "http".into(),
            endpoint: "http://h/".into(),
            topic_arn: TOPIC.into(),
        }],
        Some("tok".into()),
    ));
    assert!(subs.contains("<Subscriptions><member><SubscriptionArn>PendingConfirmation</SubscriptionArn>"));
    assert!(subs.contains("</Subscriptions><NextToken>tok</NextToken>"));
}
