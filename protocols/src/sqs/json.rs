//! SQS over AWS JSON 1.0: `POST /`, `X-Amz-Target: AmazonSQS.<Action>`,
//! `Content-Type: application/x-amz-json-1.0`.
//!
//! Decoding is serde over the model-named types in [`super::types`], then the shared
//! [`super::validate::validate`]. Encoding omits absent members; actions without an
//! output answer `{}`.
//!
//! A body that is not JSON, is not an object, or has a member of the wrong type is
//! answered `MalformedInput` (`com.amazon.coral.service#SerializationException`,
//! HTTP 400): that is what SQS's coral front end answers before the operation runs,
//! and every SDK surfaces it as an ordinary, non-retryable client error. Unknown
//! members are ignored, as AWS does, so newer SDKs keep working.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{SqsError, SqsErrorCode};
use super::types::SqsAction;
use super::types::*;
use super::validate::validate;

/// Decodes and validates the JSON body of `action` (an empty body reads as `{}`).
pub fn decode_json(action: SqsAction, body: &[u8]) -> Result<SqsRequest, SqsError> {
    let body = match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => &b"{}"[..],
        // serde also reads a struct from a JSON array; SQS wants an object.
        Some(b'{') => body,
        Some(_) => {
            return Err(SqsError::new(
                SqsErrorCode::MalformedInput,
                "The request body must be a JSON object.",
            ))
        }
    };
    // The one required member whose type has no "empty" value to check later.
    if action == SqsAction::ChangeMessageVisibility && !parse::<VisibilityTimeoutGiven>(body)?.given() {
        return Err(SqsError::missing_parameter("VisibilityTimeout"));
    }
    // Straight into the action's type: no intermediate JSON tree to build and drop on the
    // hottest path of every send and receive.
    let req = match action {
        SqsAction::AddPermission => SqsRequest::AddPermission(parse(body)?),
        SqsAction::CancelMessageMoveTask => SqsRequest::CancelMessageMoveTask(parse(body)?),
        SqsAction::ChangeMessageVisibility => SqsRequest::ChangeMessageVisibility(parse(body)?),
        SqsAction::ChangeMessageVisibilityBatch => SqsRequest::ChangeMessageVisibilityBatch(parse(body)?),
        SqsAction::CreateQueue => SqsRequest::CreateQueue(parse(body)?),
        SqsAction::DeleteMessage => SqsRequest::DeleteMessage(parse(body)?),
        SqsAction::DeleteMessageBatch => SqsRequest::DeleteMessageBatch(parse(body)?),
        SqsAction::DeleteQueue => SqsRequest::DeleteQueue(parse(body)?),
        SqsAction::GetQueueAttributes => SqsRequest::GetQueueAttributes(parse(body)?),
        SqsAction::GetQueueUrl => SqsRequest::GetQueueUrl(parse(body)?),
        SqsAction::ListDeadLetterSourceQueues => SqsRequest::ListDeadLetterSourceQueues(parse(body)?),
        SqsAction::ListMessageMoveTasks => SqsRequest::ListMessageMoveTasks(parse(body)?),
        SqsAction::ListQueueTags => SqsRequest::ListQueueTags(parse(body)?),
        SqsAction::ListQueues => SqsRequest::ListQueues(parse(body)?),
        SqsAction::PurgeQueue => SqsRequest::PurgeQueue(parse(body)?),
        SqsAction::ReceiveMessage => SqsRequest::ReceiveMessage(parse(body)?),
        SqsAction::RemovePermission => SqsRequest::RemovePermission(parse(body)?),
        SqsAction::SendMessage => SqsRequest::SendMessage(parse(body)?),
        SqsAction::SendMessageBatch => SqsRequest::SendMessageBatch(parse(body)?),
        SqsAction::SetQueueAttributes => SqsRequest::SetQueueAttributes(parse(body)?),
        SqsAction::StartMessageMoveTask => SqsRequest::StartMessageMoveTask(parse(body)?),
        SqsAction::TagQueue => SqsRequest::TagQueue(parse(body)?),
        SqsAction::UntagQueue => SqsRequest::UntagQueue(parse(body)?),
    };
    validate(&req)?;
    Ok(req)
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, SqsError> {
    serde_json::from_slice(body).map_err(|e| {
        let message = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("The request body is not valid JSON: {e}")
            }
            serde_json::error::Category::Data | serde_json::error::Category::Io => {
                format!("The request body could not be read: {e}")
            }
        };
        SqsError::new(SqsErrorCode::MalformedInput, message)
    })
}

/// Whether a ChangeMessageVisibility body names its `VisibilityTimeout` (of any type: a wrong
/// type is reported when the whole input is read).
#[derive(serde::Deserialize)]
struct VisibilityTimeoutGiven {
    #[serde(rename = "VisibilityTimeout", default)]
    value: Option<serde::de::IgnoredAny>,
}

impl VisibilityTimeoutGiven {
    fn given(&self) -> bool {
        self.value.is_some()
    }
}

/// Encodes a response body for AWS JSON 1.0.
pub fn encode_json(resp: &SqsResponse) -> Vec<u8> {
    match resp {
        SqsResponse::CancelMessageMoveTask(o) => to_vec(o),
        SqsResponse::ChangeMessageVisibilityBatch(o) => to_vec(o),
        SqsResponse::CreateQueue(o) => to_vec(o),
        SqsResponse::DeleteMessageBatch(o) => to_vec(o),
        SqsResponse::GetQueueAttributes(o) => to_vec(o),
        SqsResponse::GetQueueUrl(o) => to_vec(o),
        SqsResponse::ListDeadLetterSourceQueues(o) => to_vec(o),
        SqsResponse::ListMessageMoveTasks(o) => to_vec(o),
        SqsResponse::ListQueueTags(o) => to_vec(o),
        SqsResponse::ListQueues(o) => to_vec(o),
        SqsResponse::ReceiveMessage(o) => to_vec(o),
        SqsResponse::SendMessage(o) => to_vec(o),
        SqsResponse::SendMessageBatch(o) => to_vec(o),
        SqsResponse::StartMessageMoveTask(o) => to_vec(o),
        SqsResponse::Empty(_) => b"{}".to_vec(),
    }
}

fn to_vec<T: Serialize>(value: &T) -> Vec<u8> {
    // Our types hold only strings, numbers, bools, lists and string-keyed maps,
    // which serde_json always serializes; the fallback is unreachable in practice.
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(action: SqsAction, body: &str) -> Result<SqsRequest, SqsError> {
        decode_json(action, body.as_bytes())
    }

    #[test]
    fn send_message_as_botocore_sends_it() {
        let body = r#"{"QueueUrl":"http://localhost:4566/000000000000/q","MessageBody":"hello","DelaySeconds":5,
            "MessageAttributes":{"s":{"DataType":"String","StringValue":"v"},"b":{"DataType":"Binary","BinaryValue":"AQID"}},
            "MessageSystemAttributes":{"AWSTraceHeader":{"DataType":"String","StringValue":"Root=1"}},
            "MessageGroupId":"g","Unknown":1}"#;
        let Ok(SqsRequest::SendMessage(i)) = decode(SqsAction::SendMessage, body) else {
            panic!("decode failed");
        };
        assert_eq!(i.queue_url.as_deref(), Some("http://localhost:4566/000000000000/q"));
        assert_eq!(i.message_body, "hello");
        assert_eq!(i.delay_seconds, Some(5));
        assert_eq!(i.message_attributes["s"], MessageAttributeValue::string("v"));
        assert_eq!(i.message_attributes["b"], MessageAttributeValue::binary(vec![1, 2, 3]));
        assert_eq!(
            i.message_system_attributes["AWSTraceHeader"],
            MessageAttributeValue::string("Root=1")
        );
        assert_eq!(i.message_group_id.as_deref(), Some("g"));
    }

    #[test]
    fn receive_message_integers() {
        let body = r#"{"QueueUrl":"u","MaxNumberOfMessages":10,"WaitTimeSeconds":20,"VisibilityTimeout":30,
            "AttributeNames":["All"],"MessageSystemAttributeNames":["SentTimestamp"],"MessageAttributeNames":["All"]}"#;
        let Ok(SqsRequest::ReceiveMessage(i)) = decode(SqsAction::ReceiveMessage, body) else {
            panic!("decode failed");
        };
        assert_eq!(i.max_number_of_messages, Some(10));
        assert_eq!(i.wait_time_seconds, Some(20));
        assert_eq!(i.visibility_timeout, Some(30));
        assert_eq!(
            i.system_attribute_names().collect::<Vec<_>>(),
            vec!["SentTimestamp", "All"]
        );
        // A string where the model says integer is a serialization error.
        let err = decode(
            SqsAction::ReceiveMessage,
            r#"{"QueueUrl":"u","MaxNumberOfMessages":"10"}"#,
        );
        assert_eq!(err.err().map(|e| e.code), Some(SqsErrorCode::MalformedInput));
        let err = decode(
            SqsAction::ReceiveMessage,
            r#"{"QueueUrl":"u","MaxNumberOfMessages":11}"#,
        );
        assert_eq!(err.err().map(|e| e.code), Some(SqsErrorCode::InvalidParameterValue));
    }

    #[test]
    fn empty_body_is_an_empty_object() {
        assert_eq!(
            decode(SqsAction::ListQueues, ""),
            Ok(SqsRequest::ListQueues(ListQueuesInput::default()))
        );
        // PurgeQueue with no QueueUrl decodes; the server answers QueueDoesNotExist.
        let req = decode(SqsAction::PurgeQueue, "");
        assert_eq!(req.as_ref().map(|r| r.require_queue_url().is_err()), Ok(true));
    }

    #[test]
    fn malformed_bodies() {
        for body in ["{", "[]", "\"x\"", "null", "{\"QueueUrl\": 5}"] {
            let err = decode(SqsAction::DeleteQueue, body).err();
            assert_eq!(err.map(|e| e.code), Some(SqsErrorCode::MalformedInput), "{body}");
        }
    }

    #[test]
    fn missing_members() {
        let err = decode(
            SqsAction::ChangeMessageVisibility,
            r#"{"QueueUrl":"u","ReceiptHandle":"r"}"#,
        );
        assert_eq!(
            err.err().map(|e| e.message),
            Some("The request must contain the parameter VisibilityTimeout.".to_string())
        );
        let err = decode(SqsAction::SendMessage, r#"{"QueueUrl":"u"}"#);
        assert_eq!(err.err().map(|e| e.code), Some(SqsErrorCode::MissingParameter));
        let err = decode(SqsAction::SendMessageBatch, r#"{"QueueUrl":"u","Entries":[]}"#);
        assert_eq!(err.err().map(|e| e.code), Some(SqsErrorCode::EmptyBatchRequest));
    }

    #[test]
    fn every_action_decodes_a_minimal_body() {
        let bodies = [
            (
                SqsAction::AddPermission,
                r#"{"QueueUrl":"u","Label":"l","AWSAccountIds":["1"],"Actions":["SendMessage"]}"#,
            ),
            (SqsAction::CancelMessageMoveTask, r#"{"TaskHandle":"t"}"#),
            (
                SqsAction::ChangeMessageVisibility,
                r#"{"QueueUrl":"u","ReceiptHandle":"r","VisibilityTimeout":0}"#,
            ),
            (
                SqsAction::ChangeMessageVisibilityBatch,
                r#"{"QueueUrl":"u","Entries":[{"Id":"a","ReceiptHandle":"r","VisibilityTimeout":1}]}"#,
            ),
            (
                SqsAction::CreateQueue,
                r#"{"QueueName":"q","Attributes":{"DelaySeconds":"1"},"tags":{"k":"v"}}"#,
            ),
            (SqsAction::DeleteMessage, r#"{"QueueUrl":"u","ReceiptHandle":"r"}"#),
            (
                SqsAction::DeleteMessageBatch,
                r#"{"QueueUrl":"u","Entries":[{"Id":"a","ReceiptHandle":"r"}]}"#,
            ),
            (SqsAction::DeleteQueue, r#"{"QueueUrl":"u"}"#),
            (
                SqsAction::GetQueueAttributes,
                r#"{"QueueUrl":"u","AttributeNames":["All"]}"#,
            ),
            (
                SqsAction::GetQueueUrl,
                r#"{"QueueName":"q","QueueOwnerAWSAccountId":"1"}"#,
            ),
            (
                SqsAction::ListDeadLetterSourceQueues,
                r#"{"QueueUrl":"u","MaxResults":10,"NextToken":"t"}"#,
            ),
            (SqsAction::ListMessageMoveTasks, r#"{"SourceArn":"arn","MaxResults":1}"#),
            (SqsAction::ListQueueTags, r#"{"QueueUrl":"u"}"#),
            (SqsAction::ListQueues, r#"{"QueueNamePrefix":"p"}"#),
            (SqsAction::PurgeQueue, r#"{"QueueUrl":"u"}"#),
            (SqsAction::ReceiveMessage, r#"{"QueueUrl":"u"}"#),
            (SqsAction::RemovePermission, r#"{"QueueUrl":"u","Label":"l"}"#),
            (SqsAction::SendMessage, r#"{"QueueUrl":"u","MessageBody":"b"}"#),
            (
                SqsAction::SendMessageBatch,
                r#"{"QueueUrl":"u","Entries":[{"Id":"a","MessageBody":"b"}]}"#,
            ),
            (
                SqsAction::SetQueueAttributes,
                r#"{"QueueUrl":"u","Attributes":{"VisibilityTimeout":"5"}}"#,
            ),
            (
                SqsAction::StartMessageMoveTask,
                r#"{"SourceArn":"arn","MaxNumberOfMessagesPerSecond":5}"#,
            ),
            (SqsAction::TagQueue, r#"{"QueueUrl":"u","Tags":{"k":"v"}}"#),
            (SqsAction::UntagQueue, r#"{"QueueUrl":"u","TagKeys":["k"]}"#),
        ];
        assert_eq!(bodies.len(), SqsAction::ALL.len());
        for (action, body) in bodies {
            let req = decode(action, body);
            assert_eq!(req.as_ref().map(SqsRequest::action), Ok(action), "{body}");
        }
    }

    #[test]
    fn encodes_outputs() {
        assert_eq!(encode_json(&SqsResponse::Empty(SqsAction::DeleteMessage)), b"{}");
        assert_eq!(
            encode_json(&SqsResponse::ReceiveMessage(ReceiveMessageOutput::default())),
            b"{}"
        );
        let msg = Message {
            message_id: Some("m".into()),
            receipt_handle: Some("r".into()),
            md5_of_body: Some("5d41402abc4b2a76b9719d911017c592".into()),
            body: Some("hello".into()),
            attributes: [("SentTimestamp".to_string(), "1700000000000".to_string())].into(),
            md5_of_message_attributes: None,
            message_attributes: Default::default(),
        };
        let out = encode_json(&SqsResponse::ReceiveMessage(ReceiveMessageOutput {
            messages: vec![msg],
        }));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({"Messages": [{"MessageId": "m", "ReceiptHandle": "r",
                "MD5OfBody": "5d41402abc4b2a76b9719d911017c592", "Body": "hello",
                "Attributes": {"SentTimestamp": "1700000000000"}}]})
        );
        let batch = encode_json(&SqsResponse::DeleteMessageBatch(DeleteMessageBatchOutput {
            successful: vec![DeleteMessageBatchResultEntry { id: "a".into() }],
            failed: vec![],
        }));
        assert_eq!(
            String::from_utf8_lossy(&batch),
            r#"{"Successful":[{"Id":"a"}],"Failed":[]}"#
        );
    }
}
