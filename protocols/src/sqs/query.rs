//! SQS over the query protocol: form-encoded `Action=...` requests, XML responses.
//!
//! Parameter names follow how the query protocol serializes the model with SQS's
//! query-compatibility names (the `locationName`s of the former query model):
//! flattened lists are `AttributeName.N`, `MessageAttributeName.N`,
//! `MessageSystemAttributeName.N`, `AWSAccountId.N`, `ActionName.N`, `TagKey.N`;
//! flattened maps are `Attribute.N.Name/Value`, `Tag.N.Key/Value`,
//! `MessageAttribute.N.Name` + `.Value.DataType/StringValue/BinaryValue`,
//! `MessageSystemAttribute.N.*`; batch entries are `SendMessageBatchRequestEntry.N.*`,
//! `DeleteMessageBatchRequestEntry.N.*`, `ChangeMessageVisibilityBatchRequestEntry.N.*`.
//! `N` starts at 1; entries are ordered by `N` and gaps are skipped.
//!
//! `Action` is required, `Version` is optional (kombu omits it), and `QueueUrl` may
//! come from the request path instead (kombu, JS v3 and Java v2 POST to the queue
//! URL): pass it as `path_queue_url`.
//!
//! Responses are `<{Action}Response xmlns="http://queue.amazonaws.com/doc/2012-11-05/">`
//! with a `<{Action}Result>` (absent for actions without output) and
//! `<ResponseMetadata><RequestId>`, the element names and flattening being those
//! botocore's `QueryParser` reads with the same names.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::error::{SqsError, SqsErrorCode, XML_NAMESPACE};
use super::types::SqsAction;
use super::types::*;
use super::validate::validate;
use crate::query::{response_document, QueryParams, XmlWriter};

/// The query API version SQS speaks.
pub const API_VERSION: &str = "2012-11-05";

/// Decodes and validates a query request from its merged URL query and form pairs.
///
/// `path_queue_url` is the queue URL the request was sent to, if its path names a
/// queue; it fills `QueueUrl` when the parameters carry none.
pub fn decode_query(
    params: &[(String, String)],
    path_queue_url: Option<&str>,
) -> Result<(SqsAction, SqsRequest), SqsError> {
    let p = Params::new(params);
    let name = p.action().ok_or_else(|| {
        SqsError::new(
            SqsErrorCode::MissingAction,
            "The request must contain the parameter Action.",
        )
    })?;
    let Some(action) = SqsAction::from_name(name) else {
        return Err(SqsError::new(
            SqsErrorCode::InvalidAction,
            format!("The action {name} is not valid for this endpoint."),
        ));
    };
    let mut req = decode_action(action, &p)?;
    if let Some(url) = path_queue_url {
        req.set_default_queue_url(url);
    }
    validate(&req)?;
    Ok((action, req))
}

fn decode_action(action: SqsAction, p: &Params<'_>) -> Result<SqsRequest, SqsError> {
    let req = match action {
        SqsAction::AddPermission => SqsRequest::AddPermission(AddPermissionInput {
            queue_url: p.string("QueueUrl"),
            label: p.string("Label").unwrap_or_default(),
            aws_account_ids: p.list("AWSAccountId"),
            actions: p.list("ActionName"),
        }),
        SqsAction::CancelMessageMoveTask => SqsRequest::CancelMessageMoveTask(CancelMessageMoveTaskInput {
            task_handle: p.string("TaskHandle").unwrap_or_default(),
        }),
        SqsAction::ChangeMessageVisibility => {
            let Some(visibility_timeout) = p.int("VisibilityTimeout")? else {
                return Err(SqsError::missing_parameter("VisibilityTimeout"));
            };
            SqsRequest::ChangeMessageVisibility(ChangeMessageVisibilityInput {
                queue_url: p.string("QueueUrl"),
                receipt_handle: p.string("ReceiptHandle").unwrap_or_default(),
                visibility_timeout,
            })
        }
        SqsAction::ChangeMessageVisibilityBatch => {
            let prefix = "ChangeMessageVisibilityBatchRequestEntry";
            let mut entries = Vec::new();
            for n in p.indices(prefix) {
                let e = format!("{prefix}.{n}");
                entries.push(ChangeMessageVisibilityBatchRequestEntry {
                    id: p.string(&format!("{e}.Id")).unwrap_or_default(),
                    receipt_handle: p.string(&format!("{e}.ReceiptHandle")).unwrap_or_default(),
                    visibility_timeout: p.int(&format!("{e}.VisibilityTimeout"))?,
                });
            }
            SqsRequest::ChangeMessageVisibilityBatch(ChangeMessageVisibilityBatchInput {
                queue_url: p.string("QueueUrl"),
                entries,
            })
        }
        SqsAction::CreateQueue => SqsRequest::CreateQueue(CreateQueueInput {
            queue_name: p.string("QueueName").unwrap_or_default(),
            attributes: p.map("Attribute", "Name", "Value")?,
            tags: p.map("Tag", "Key", "Value")?,
        }),
        SqsAction::DeleteMessage => SqsRequest::DeleteMessage(DeleteMessageInput {
            queue_url: p.string("QueueUrl"),
            receipt_handle: p.string("ReceiptHandle").unwrap_or_default(),
        }),
        SqsAction::DeleteMessageBatch => {
            let prefix = "DeleteMessageBatchRequestEntry";
            let mut entries = Vec::new();
            for n in p.indices(prefix) {
                let e = format!("{prefix}.{n}");
                entries.push(DeleteMessageBatchRequestEntry {
                    id: p.string(&format!("{e}.Id")).unwrap_or_default(),
                    receipt_handle: p.string(&format!("{e}.ReceiptHandle")).unwrap_or_default(),
                });
            }
            SqsRequest::DeleteMessageBatch(DeleteMessageBatchInput {
                queue_url: p.string("QueueUrl"),
                entries,
            })
        }
        SqsAction::DeleteQueue => SqsRequest::DeleteQueue(DeleteQueueInput {
            queue_url: p.string("QueueUrl"),
        }),
        SqsAction::GetQueueAttributes => SqsRequest::GetQueueAttributes(GetQueueAttributesInput {
            queue_url: p.string("QueueUrl"),
            attribute_names: p.list("AttributeName"),
        }),
        SqsAction::GetQueueUrl => SqsRequest::GetQueueUrl(GetQueueUrlInput {
            queue_name: p.string("QueueName").unwrap_or_default(),
            queue_owner_aws_account_id: p.string("QueueOwnerAWSAccountId"),
        }),
        SqsAction::ListDeadLetterSourceQueues => {
            SqsRequest::ListDeadLetterSourceQueues(ListDeadLetterSourceQueuesInput {
                queue_url: p.string("QueueUrl"),
                next_token: p.string("NextToken"),
                max_results: p.int("MaxResults")?,
            })
        }
        SqsAction::ListMessageMoveTasks => SqsRequest::ListMessageMoveTasks(ListMessageMoveTasksInput {
            source_arn: p.string("SourceArn").unwrap_or_default(),
            max_results: p.int("MaxResults")?,
        }),
        SqsAction::ListQueueTags => SqsRequest::ListQueueTags(ListQueueTagsInput {
            queue_url: p.string("QueueUrl"),
        }),
        SqsAction::ListQueues => SqsRequest::ListQueues(ListQueuesInput {
            queue_name_prefix: p.string("QueueNamePrefix"),
            next_token: p.string("NextToken"),
            max_results: p.int("MaxResults")?,
        }),
        SqsAction::PurgeQueue => SqsRequest::PurgeQueue(PurgeQueueInput {
            queue_url: p.string("QueueUrl"),
        }),
        SqsAction::ReceiveMessage => SqsRequest::ReceiveMessage(ReceiveMessageInput {
            queue_url: p.string("QueueUrl"),
            attribute_names: p.list("AttributeName"),
            // `MessageSystemAttributeName.N` is what kombu sends; the member has no
            // query-compatibility name in the model (it came after the switch to
            // JSON), so a model-driven serializer writes `MessageSystemAttributeNames.N`.
            message_system_attribute_names: {
                let mut names = p.list("MessageSystemAttributeName");
                names.extend(p.list("MessageSystemAttributeNames"));
                names
            },
            message_attribute_names: p.list("MessageAttributeName"),
            max_number_of_messages: p.int("MaxNumberOfMessages")?,
            visibility_timeout: p.int("VisibilityTimeout")?,
            wait_time_seconds: p.int("WaitTimeSeconds")?,
            receive_request_attempt_id: p.string("ReceiveRequestAttemptId"),
        }),
        SqsAction::RemovePermission => SqsRequest::RemovePermission(RemovePermissionInput {
            queue_url: p.string("QueueUrl"),
            label: p.string("Label").unwrap_or_default(),
        }),
        SqsAction::SendMessage => SqsRequest::SendMessage(SendMessageInput {
            queue_url: p.string("QueueUrl"),
            message_body: p.string("MessageBody").unwrap_or_default(),
            delay_seconds: p.int("DelaySeconds")?,
            message_attributes: p.message_attributes("MessageAttribute")?,
            message_system_attributes: p.message_attributes("MessageSystemAttribute")?,
            message_deduplication_id: p.string("MessageDeduplicationId"),
            message_group_id: p.string("MessageGroupId"),
        }),
        SqsAction::SendMessageBatch => {
            let prefix = "SendMessageBatchRequestEntry";
            let mut entries = Vec::new();
            for n in p.indices(prefix) {
                let e = format!("{prefix}.{n}");
                entries.push(SendMessageBatchRequestEntry {
                    id: p.string(&format!("{e}.Id")).unwrap_or_default(),
                    message_body: p.string(&format!("{e}.MessageBody")).unwrap_or_default(),
                    delay_seconds: p.int(&format!("{e}.DelaySeconds"))?,
                    message_attributes: p.message_attributes(&format!("{e}.MessageAttribute"))?,
                    message_system_attributes: p.message_attributes(&format!("{e}.MessageSystemAttribute"))?,
                    message_deduplication_id: p.string(&format!("{e}.MessageDeduplicationId")),
                    message_group_id: p.string(&format!("{e}.MessageGroupId")),
                });
            }
            SqsRequest::SendMessageBatch(SendMessageBatchInput {
                queue_url: p.string("QueueUrl"),
                entries,
            })
        }
        SqsAction::SetQueueAttributes => SqsRequest::SetQueueAttributes(SetQueueAttributesInput {
            queue_url: p.string("QueueUrl"),
            attributes: p.map("Attribute", "Name", "Value")?,
        }),
        SqsAction::StartMessageMoveTask => SqsRequest::StartMessageMoveTask(StartMessageMoveTaskInput {
            source_arn: p.string("SourceArn").unwrap_or_default(),
            destination_arn: p.string("DestinationArn"),
            max_number_of_messages_per_second: p.int("MaxNumberOfMessagesPerSecond")?,
        }),
        SqsAction::TagQueue => SqsRequest::TagQueue(TagQueueInput {
            queue_url: p.string("QueueUrl"),
            tags: p.map("Tag", "Key", "Value")?,
        }),
        SqsAction::UntagQueue => SqsRequest::UntagQueue(UntagQueueInput {
            queue_url: p.string("QueueUrl"),
            tag_keys: p.list("TagKey"),
        }),
    };
    Ok(req)
}

/// Parameter lookup over the merged pairs; the first occurrence of a name wins.
/// SQS's view of the request parameters: the shared [`QueryParams`] plus SQS's typed readers.
struct Params<'a>(QueryParams<'a>);

impl<'a> std::ops::Deref for Params<'a> {
    type Target = QueryParams<'a>;

    fn deref(&self) -> &QueryParams<'a> {
        &self.0
    }
}

impl<'a> Params<'a> {
    fn new(params: &'a [(String, String)]) -> Self {
        Params(QueryParams::new(params))
    }

    fn int(&self, name: &str) -> Result<Option<i32>, SqsError> {
        let Some(text) = self.get(name) else {
            return Ok(None);
        };
        match text.trim().parse::<i32>() {
            Ok(n) => Ok(Some(n)),
            Err(_) => Err(SqsError::invalid_value(name, text, "Must be an integer.")),
        }
    }

    /// A flattened map: `prefix.N.<key>` / `prefix.N.<value>`.
    fn map(&self, prefix: &str, key: &str, value: &str) -> Result<BTreeMap<String, String>, SqsError> {
        let mut out = BTreeMap::new();
        for n in self.indices(prefix) {
            let key_name = format!("{prefix}.{n}.{key}");
            let value_name = format!("{prefix}.{n}.{value}");
            let Some(k) = self.get(&key_name) else {
                return Err(SqsError::missing_parameter(&key_name));
            };
            let Some(v) = self.get(&value_name) else {
                return Err(SqsError::missing_parameter(&value_name));
            };
            out.insert(k.to_string(), v.to_string());
        }
        Ok(out)
    }

    /// Flattened message (system) attributes: `prefix.N.Name` and
    /// `prefix.N.Value.{DataType,StringValue,BinaryValue,StringListValue.M,BinaryListValue.M}`.
    fn message_attributes(&self, prefix: &str) -> Result<MessageAttributeMap, SqsError> {
        let mut out = MessageAttributeMap::new();
        for n in self.indices(prefix) {
            let base = format!("{prefix}.{n}");
            let name_key = format!("{base}.Name");
            let Some(name) = self.get(&name_key) else {
                return Err(SqsError::missing_parameter(&name_key));
            };
            let value = format!("{base}.Value");
            let binary_value = match self.get(&format!("{value}.BinaryValue")) {
                Some(text) => Some(decode_base64(&format!("{value}.BinaryValue"), text)?),
                None => None,
            };
            let string_list_values = self.list(&format!("{value}.StringListValue"));
            let mut binary_list_values = Vec::new();
            let list_key = format!("{value}.BinaryListValue");
            for text in self.list(&list_key) {
                binary_list_values.push(decode_base64(&list_key, &text)?);
            }
            if out.contains_key(name) {
                return Err(SqsError::invalid_parameter(format!(
                    "Message attribute name '{name}' is duplicated."
                )));
            }
            out.insert(
                name.to_string(),
                MessageAttributeValue {
                    data_type: self.string(&format!("{value}.DataType")).unwrap_or_default(),
                    string_value: self.string(&format!("{value}.StringValue")),
                    binary_value,
                    string_list_values,
                    binary_list_values,
                },
            );
        }
        Ok(out)
    }
}

fn decode_base64(name: &str, text: &str) -> Result<Vec<u8>, SqsError> {
    STANDARD
        .decode(text.trim().as_bytes())
        .map_err(|_| SqsError::invalid_value(name, text, "Must be base64-encoded binary."))
}

/// Encodes a response as the query protocol's XML document.
pub fn encode_xml(resp: &SqsResponse, request_id: &str) -> Vec<u8> {
    let write = |w: &mut XmlWriter| write_result(w, resp);
    let result: Option<&dyn Fn(&mut XmlWriter)> = match resp {
        SqsResponse::Empty(_) => None,
        _ => Some(&write),
    };
    response_document(resp.action().name(), XML_NAMESPACE, request_id, result)
}

fn write_result(w: &mut XmlWriter, resp: &SqsResponse) {
    match resp {
        SqsResponse::CancelMessageMoveTask(o) => {
            if let Some(n) = o.approximate_number_of_messages_moved {
                w.text("ApproximateNumberOfMessagesMoved", &n.to_string());
            }
        }
        SqsResponse::ChangeMessageVisibilityBatch(o) => {
            for e in &o.successful {
                w.open("ChangeMessageVisibilityBatchResultEntry");
                w.text("Id", &e.id);
                w.close("ChangeMessageVisibilityBatchResultEntry");
            }
            write_failed(w, &o.failed);
        }
        SqsResponse::CreateQueue(o) => w.opt_text("QueueUrl", o.queue_url.as_deref()),
        SqsResponse::DeleteMessageBatch(o) => {
            for e in &o.successful {
                w.open("DeleteMessageBatchResultEntry");
                w.text("Id", &e.id);
                w.close("DeleteMessageBatchResultEntry");
            }
            write_failed(w, &o.failed);
        }
        SqsResponse::GetQueueAttributes(o) => write_pairs(w, "Attribute", "Name", "Value", &o.attributes),
        SqsResponse::GetQueueUrl(o) => w.opt_text("QueueUrl", o.queue_url.as_deref()),
        SqsResponse::ListDeadLetterSourceQueues(o) => {
            for url in &o.queue_urls {
                w.text("QueueUrl", url);
            }
            w.opt_text("NextToken", o.next_token.as_deref());
        }
        SqsResponse::ListMessageMoveTasks(o) => {
            // The model names no element for this flattened list, so each entry is
            // the member name, `Results` (what botocore's QueryParser reads).
            for e in &o.results {
                w.open("Results");
                w.opt_text("TaskHandle", e.task_handle.as_deref());
                w.opt_text("Status", e.status.as_deref());
                w.opt_text("SourceArn", e.source_arn.as_deref());
                w.opt_text("DestinationArn", e.destination_arn.as_deref());
                opt_num(
                    w,
                    "MaxNumberOfMessagesPerSecond",
                    e.max_number_of_messages_per_second.map(i64::from),
                );
                opt_num(
                    w,
                    "ApproximateNumberOfMessagesMoved",
                    e.approximate_number_of_messages_moved,
                );
                opt_num(
                    w,
                    "ApproximateNumberOfMessagesToMove",
                    e.approximate_number_of_messages_to_move,
                );
                w.opt_text("FailureReason", e.failure_reason.as_deref());
                opt_num(w, "StartedTimestamp", e.started_timestamp);
                w.close("Results");
            }
        }
        SqsResponse::ListQueueTags(o) => write_pairs(w, "Tag", "Key", "Value", &o.tags),
        SqsResponse::ListQueues(o) => {
            for url in &o.queue_urls {
                w.text("QueueUrl", url);
            }
            w.opt_text("NextToken", o.next_token.as_deref());
        }
        SqsResponse::ReceiveMessage(o) => {
            for m in &o.messages {
                write_message(w, m);
            }
        }
        SqsResponse::SendMessage(o) => {
            w.opt_text("MD5OfMessageBody", o.md5_of_message_body.as_deref());
            w.opt_text("MD5OfMessageAttributes", o.md5_of_message_attributes.as_deref());
            w.opt_text(
                "MD5OfMessageSystemAttributes",
                o.md5_of_message_system_attributes.as_deref(),
            );
            w.opt_text("MessageId", o.message_id.as_deref());
            w.opt_text("SequenceNumber", o.sequence_number.as_deref());
        }
        SqsResponse::SendMessageBatch(o) => {
            for e in &o.successful {
                w.open("SendMessageBatchResultEntry");
                w.text("Id", &e.id);
                w.text("MessageId", &e.message_id);
                w.text("MD5OfMessageBody", &e.md5_of_message_body);
                w.opt_text("MD5OfMessageAttributes", e.md5_of_message_attributes.as_deref());
                w.opt_text(
                    "MD5OfMessageSystemAttributes",
                    e.md5_of_message_system_attributes.as_deref(),
                );
                w.opt_text("SequenceNumber", e.sequence_number.as_deref());
                w.close("SendMessageBatchResultEntry");
            }
            write_failed(w, &o.failed);
        }
        SqsResponse::StartMessageMoveTask(o) => w.opt_text("TaskHandle", o.task_handle.as_deref()),
        SqsResponse::Empty(_) => {}
    }
}

fn opt_num(w: &mut XmlWriter, name: &str, value: Option<i64>) {
    if let Some(n) = value {
        w.text(name, &n.to_string());
    }
}

fn write_pairs(w: &mut XmlWriter, element: &str, key: &str, value: &str, pairs: &BTreeMap<String, String>) {
    for (k, v) in pairs {
        w.open(element);
        w.text(key, k);
        w.text(value, v);
        w.close(element);
    }
}

fn write_failed(w: &mut XmlWriter, failed: &[BatchResultErrorEntry]) {
    for e in failed {
        w.open("BatchResultErrorEntry");
        w.text("Id", &e.id);
        w.text("SenderFault", if e.sender_fault { "true" } else { "false" });
        w.text("Code", &e.code);
        w.opt_text("Message", e.message.as_deref());
        w.close("BatchResultErrorEntry");
    }
}

fn write_message(w: &mut XmlWriter, m: &Message) {
    w.open("Message");
    w.opt_text("MessageId", m.message_id.as_deref());
    w.opt_text("ReceiptHandle", m.receipt_handle.as_deref());
    w.opt_text("MD5OfBody", m.md5_of_body.as_deref());
    w.opt_text("Body", m.body.as_deref());
    write_pairs(w, "Attribute", "Name", "Value", &m.attributes);
    w.opt_text("MD5OfMessageAttributes", m.md5_of_message_attributes.as_deref());
    for (name, value) in &m.message_attributes {
        w.open("MessageAttribute");
        w.text("Name", name);
        w.open("Value");
        w.opt_text("StringValue", value.string_value.as_deref());
        if let Some(b) = &value.binary_value {
            w.text("BinaryValue", &STANDARD.encode(b));
        }
        for s in &value.string_list_values {
            w.text("StringListValue", s);
        }
        for b in &value.binary_list_values {
            w.text("BinaryListValue", &STANDARD.encode(b));
        }
        w.text("DataType", &value.data_type);
        w.close("Value");
        w.close("MessageAttribute");
    }
    w.close("Message");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn decode(list: &[(&str, &str)]) -> Result<(SqsAction, SqsRequest), SqsError> {
        decode_query(&pairs(list), None)
    }

    #[test]
    fn action_is_required_and_known() {
        let err = decode(&[("Version", "2012-11-05")]).err();
        assert_eq!(err.map(|e| e.code), Some(SqsErrorCode::MissingAction));
        let err = decode(&[("Action", "Publish")]).err();
        assert_eq!(
            err.map(|e| (e.code, e.message)),
            Some((
                SqsErrorCode::InvalidAction,
                "The action Publish is not valid for this endpoint.".to_string()
            ))
        );
    }

    #[test]
    fn kombu_receive_without_version_or_queue_url() {
        let params = pairs(&[
            ("Action", "ReceiveMessage"),
            ("MessageSystemAttributeName.1", "ApproximateReceiveCount"),
            ("WaitTimeSeconds", "10"),
            ("MaxNumberOfMessages", "10"),
        ]);
        let url = "http://localhost:4566/000000000000/celery";
        let Ok((action, SqsRequest::ReceiveMessage(i))) = decode_query(&params, Some(url)) else {
            panic!("decode failed");
        };
        assert_eq!(action, SqsAction::ReceiveMessage);
        assert_eq!(i.queue_url.as_deref(), Some(url));
        assert_eq!(i.message_system_attribute_names, vec!["ApproximateReceiveCount"]);
        assert_eq!(i.wait_time_seconds, Some(10));
        assert_eq!(i.max_number_of_messages, Some(10));

        let params = pairs(&[
            ("Action", "ReceiveMessage"),
            ("QueueUrl", "u"),
            ("MessageSystemAttributeNames.1", "SentTimestamp"),
            ("MessageSystemAttributeNames.2", "SenderId"),
        ]);
        let Ok((_, SqsRequest::ReceiveMessage(i))) = decode_query(&params, None) else {
            panic!("decode failed");
        };
        assert_eq!(i.message_system_attribute_names, vec!["SentTimestamp", "SenderId"]);
    }

    #[test]
    fn explicit_queue_url_wins_over_path() {
        let params = pairs(&[("Action", "PurgeQueue"), ("QueueUrl", "http://h/1/a")]);
        let res = decode_query(&params, Some("http://h/1/b"));
        assert_eq!(
            res.map(|(_, r)| r.queue_url().map(str::to_string)),
            Ok(Some("http://h/1/a".into()))
        );
    }

    #[test]
    fn send_message_with_attributes() {
        let Ok((_, SqsRequest::SendMessage(i))) = decode(&[
            ("Action", "SendMessage"),
            ("Version", "2012-11-05"),
            ("QueueUrl", "http://h/1/q"),
            ("MessageBody", "hello"),
            ("DelaySeconds", "3"),
            ("MessageAttribute.1.Name", "s"),
            ("MessageAttribute.1.Value.DataType", "String"),
            ("MessageAttribute.1.Value.StringValue", "v"),
            ("MessageAttribute.2.Name", "b"),
            ("MessageAttribute.2.Value.DataType", "Binary"),
            ("MessageAttribute.2.Value.BinaryValue", "AQID"),
            ("MessageSystemAttribute.1.Name", "AWSTraceHeader"),
            ("MessageSystemAttribute.1.Value.DataType", "String"),
            ("MessageSystemAttribute.1.Value.StringValue", "Root=1"),
        ]) else {
            panic!("decode failed");
        };
        assert_eq!(i.message_body, "hello");
        assert_eq!(i.delay_seconds, Some(3));
        assert_eq!(i.message_attributes["s"], MessageAttributeValue::string("v"));
        assert_eq!(i.message_attributes["b"], MessageAttributeValue::binary(vec![1, 2, 3]));
        assert_eq!(
            i.message_system_attributes["AWSTraceHeader"],
            MessageAttributeValue::string("Root=1")
        );
    }

    #[test]
    fn bad_values() {
        let err = decode(&[
            ("Action", "ReceiveMessage"),
            ("QueueUrl", "u"),
            ("WaitTimeSeconds", "x"),
        ])
        .err();
        assert_eq!(err.map(|e| e.code), Some(SqsErrorCode::InvalidParameterValue));
        let err = decode(&[
            ("Action", "SendMessage"),
            ("QueueUrl", "u"),
            ("MessageBody", "b"),
            ("MessageAttribute.1.Name", "b"),
            ("MessageAttribute.1.Value.DataType", "Binary"),
            ("MessageAttribute.1.Value.BinaryValue", "!!!"),
        ])
        .err();
        assert_eq!(err.map(|e| e.code), Some(SqsErrorCode::InvalidParameterValue));
        let err = decode(&[
            ("Action", "CreateQueue"),
            ("QueueName", "q"),
            ("Attribute.1.Name", "DelaySeconds"),
        ])
        .err();
        assert_eq!(
            err.map(|e| e.message),
            Some("The request must contain the parameter Attribute.1.Value.".to_string())
        );
        let err = decode(&[
            ("Action", "ChangeMessageVisibility"),
            ("QueueUrl", "u"),
            ("ReceiptHandle", "r"),
        ])
        .err();
        assert_eq!(err.map(|e| e.code), Some(SqsErrorCode::MissingParameter));
    }

    #[test]
    fn batches_in_index_order() {
        let Ok((_, SqsRequest::SendMessageBatch(i))) = decode(&[
            ("Action", "SendMessageBatch"),
            ("QueueUrl", "u"),
            ("SendMessageBatchRequestEntry.10.Id", "ten"),
            ("SendMessageBatchRequestEntry.10.MessageBody", "b10"),
            ("SendMessageBatchRequestEntry.2.Id", "two"),
            ("SendMessageBatchRequestEntry.2.MessageBody", "b2"),
            ("SendMessageBatchRequestEntry.2.DelaySeconds", "4"),
            ("SendMessageBatchRequestEntry.2.MessageAttribute.1.Name", "n"),
            (
                "SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.DataType",
                "Number",
            ),
            (
                "SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.StringValue",
                "42",
            ),
            ("SendMessageBatchRequestEntry.2.MessageGroupId", "g"),
        ]) else {
            panic!("decode failed");
        };
        assert_eq!(i.entries.len(), 2);
        assert_eq!(i.entries[0].id, "two");
        assert_eq!(i.entries[0].delay_seconds, Some(4));
        assert_eq!(
            i.entries[0].message_attributes["n"],
            MessageAttributeValue::number("42")
        );
        assert_eq!(i.entries[0].message_group_id.as_deref(), Some("g"));
        assert_eq!(i.entries[1].id, "ten");

        let err = decode(&[("Action", "DeleteMessageBatch"), ("QueueUrl", "u")]).err();
        assert_eq!(
            err.map(|e| (e.code, e.message)),
            Some((
                SqsErrorCode::EmptyBatchRequest,
                "There should be at least one DeleteMessageBatchRequestEntry in the request.".to_string()
            ))
        );
    }

    #[test]
    fn every_action_decodes() {
        let table: Vec<Vec<(&str, &str)>> = vec![
            vec![
                ("Action", "AddPermission"),
                ("QueueUrl", "u"),
                ("Label", "l"),
                ("AWSAccountId.1", "1"),
                ("ActionName.1", "SendMessage"),
            ],
            vec![("Action", "CancelMessageMoveTask"), ("TaskHandle", "t")],
            vec![
                ("Action", "ChangeMessageVisibility"),
                ("QueueUrl", "u"),
                ("ReceiptHandle", "r"),
                ("VisibilityTimeout", "5"),
            ],
            vec![
                ("Action", "ChangeMessageVisibilityBatch"),
                ("QueueUrl", "u"),
                ("ChangeMessageVisibilityBatchRequestEntry.1.Id", "a"),
                ("ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle", "r"),
                ("ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout", "1"),
            ],
            vec![
                ("Action", "CreateQueue"),
                ("QueueName", "q"),
                ("Attribute.1.Name", "VisibilityTimeout"),
                ("Attribute.1.Value", "5"),
                ("Tag.1.Key", "k"),
                ("Tag.1.Value", "v"),
            ],
            vec![("Action", "DeleteMessage"), ("QueueUrl", "u"), ("ReceiptHandle", "r")],
            vec![
                ("Action", "DeleteMessageBatch"),
                ("QueueUrl", "u"),
                ("DeleteMessageBatchRequestEntry.1.Id", "a"),
                ("DeleteMessageBatchRequestEntry.1.ReceiptHandle", "r"),
            ],
            vec![("Action", "DeleteQueue"), ("QueueUrl", "u")],
            vec![
                ("Action", "GetQueueAttributes"),
                ("QueueUrl", "u"),
                ("AttributeName.1", "All"),
            ],
            vec![("Action", "GetQueueUrl"), ("QueueName", "q")],
            vec![("Action", "ListDeadLetterSourceQueues"), ("QueueUrl", "u")],
            vec![("Action", "ListMessageMoveTasks"), ("SourceArn", "arn")],
            vec![("Action", "ListQueueTags"), ("QueueUrl", "u")],
            vec![("Action", "ListQueues")],
            vec![("Action", "PurgeQueue"), ("QueueUrl", "u")],
            vec![("Action", "ReceiveMessage"), ("QueueUrl", "u")],
            vec![("Action", "RemovePermission"), ("QueueUrl", "u"), ("Label", "l")],
            vec![("Action", "SendMessage"), ("QueueUrl", "u"), ("MessageBody", "b")],
            vec![
                ("Action", "SendMessageBatch"),
                ("QueueUrl", "u"),
                ("SendMessageBatchRequestEntry.1.Id", "a"),
                ("SendMessageBatchRequestEntry.1.MessageBody", "b"),
            ],
            vec![
                ("Action", "SetQueueAttributes"),
                ("QueueUrl", "u"),
                ("Attribute.1.Name", "Policy"),
                ("Attribute.1.Value", ""),
            ],
            vec![("Action", "StartMessageMoveTask"), ("SourceArn", "arn")],
            vec![
                ("Action", "TagQueue"),
                ("QueueUrl", "u"),
                ("Tag.1.Key", "k"),
                ("Tag.1.Value", "v"),
            ],
            vec![("Action", "UntagQueue"), ("QueueUrl", "u"), ("TagKey.1", "k")],
        ];
        assert_eq!(table.len(), SqsAction::ALL.len());
        for params in table {
            let res = decode(&params);
            assert!(res.is_ok(), "{params:?}: {res:?}");
            let Ok((action, req)) = res else { continue };
            assert_eq!(action.name(), params[0].1);
            assert_eq!(req.action(), action);
        }
    }

    #[test]
    fn create_queue_maps() {
        let Ok((_, SqsRequest::CreateQueue(i))) = decode(&[
            ("Action", "CreateQueue"),
            ("QueueName", "q.fifo"),
            ("Attribute.1.Name", "FifoQueue"),
            ("Attribute.1.Value", "true"),
            ("Attribute.2.Name", "ContentBasedDeduplication"),
            ("Attribute.2.Value", "false"),
            ("Tag.1.Key", "team"),
            ("Tag.1.Value", "core"),
        ]) else {
            panic!("decode failed");
        };
        assert_eq!(i.attributes.len(), 2);
        assert_eq!(i.attributes["FifoQueue"], "true");
        assert_eq!(i.tags["team"], "core");
    }

    fn xml(resp: &SqsResponse) -> String {
        String::from_utf8_lossy(&encode_xml(resp, "rid")).into_owned()
    }

    /// Every encoded document is well-formed XML (checked with quick-xml's reader).
    #[test]
    fn responses_are_well_formed() {
        let msg = Message {
            body: Some("a\r\n<&>\"'\u{1F600}".into()),
            message_attributes: [("b".to_string(), MessageAttributeValue::binary(vec![0u8, 255]))].into(),
            ..Default::default()
        };
        let resps = [
            SqsResponse::ReceiveMessage(ReceiveMessageOutput { messages: vec![msg] }),
            SqsResponse::ListMessageMoveTasks(ListMessageMoveTasksOutput {
                results: vec![ListMessageMoveTasksResultEntry::default()],
            }),
            SqsResponse::CancelMessageMoveTask(CancelMessageMoveTaskOutput {
                approximate_number_of_messages_moved: Some(1),
            }),
            SqsResponse::Empty(SqsAction::TagQueue),
        ];
        for resp in &resps {
            let doc = encode_xml(resp, "r<1>");
            let mut reader = quick_xml::Reader::from_reader(doc.as_slice());
            let mut buf = Vec::new();
            let mut depth = 0i32;
            loop {
                match reader.read_event_into(&mut buf) {
                    Ok(quick_xml::events::Event::Start(_)) => depth += 1,
                    Ok(quick_xml::events::Event::End(_)) => depth -= 1,
                    Ok(quick_xml::events::Event::Eof) => break,
                    Ok(_) => {}
                    Err(e) => panic!("{resp:?}: {e}"),
                }
                buf.clear();
            }
            assert_eq!(depth, 0, "{resp:?}");
        }
    }

    #[test]
    fn duplicate_attribute_names() {
        let err = decode(&[
            ("Action", "SendMessage"),
            ("QueueUrl", "u"),
            ("MessageBody", "b"),
            ("MessageAttribute.1.Name", "a"),
            ("MessageAttribute.1.Value.DataType", "String"),
            ("MessageAttribute.1.Value.StringValue", "x"),
            ("MessageAttribute.2.Name", "a"),
            ("MessageAttribute.2.Value.DataType", "String"),
            ("MessageAttribute.2.Value.StringValue", "y"),
        ])
        .err();
        assert_eq!(err.map(|e| e.code), Some(SqsErrorCode::InvalidParameterValue));
    }

    #[test]
    fn empty_output() {
        assert_eq!(
            xml(&SqsResponse::Empty(SqsAction::DeleteMessage)),
            "<?xml version=\"1.0\"?><DeleteMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></DeleteMessageResponse>"
        );
    }

    #[test]
    fn receive_message_xml() {
        let mut attrs = MessageAttributeMap::new();
        attrs.insert("s".into(), MessageAttributeValue::string("a&b"));
        attrs.insert("b".into(), MessageAttributeValue::binary(vec![1, 2, 3]));
        let resp = SqsResponse::ReceiveMessage(ReceiveMessageOutput {
            messages: vec![Message {
                message_id: Some("m1".into()),
                receipt_handle: Some("r1".into()),
                md5_of_body: Some("x".into()),
                body: Some("<hi>\r\n".into()),
                attributes: [("SentTimestamp".to_string(), "1".to_string())].into(),
                md5_of_message_attributes: Some("y".into()),
                message_attributes: attrs,
            }],
        });
        assert_eq!(
            xml(&resp),
            "<?xml version=\"1.0\"?><ReceiveMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><ReceiveMessageResult><Message><MessageId>m1</MessageId><ReceiptHandle>r1</ReceiptHandle><MD5OfBody>x</MD5OfBody><Body>&lt;hi&gt;&#xD;\n</Body><Attribute><Name>SentTimestamp</Name><Value>1</Value></Attribute><MD5OfMessageAttributes>y</MD5OfMessageAttributes><MessageAttribute><Name>b</Name><Value><BinaryValue>AQID</BinaryValue><DataType>Binary</DataType></Value></MessageAttribute><MessageAttribute><Name>s</Name><Value><StringValue>a&amp;b</StringValue><DataType>String</DataType></Value></MessageAttribute></Message></ReceiveMessageResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></ReceiveMessageResponse>"
        );
    }

    #[test]
    fn list_and_batch_xml() {
        let resp = SqsResponse::ListQueues(ListQueuesOutput {
            queue_urls: vec!["u1".into(), "u2".into()],
            next_token: None,
        });
        assert!(
            xml(&resp).contains("<ListQueuesResult><QueueUrl>u1</QueueUrl><QueueUrl>u2</QueueUrl></ListQueuesResult>")
        );
        let resp = SqsResponse::SendMessageBatch(SendMessageBatchOutput {
            successful: vec![SendMessageBatchResultEntry {
                id: "a".into(),
                message_id: "m".into(),
                md5_of_message_body: "d".into(),
                ..Default::default()
            }],
            failed: vec![BatchResultErrorEntry {
                id: "b".into(),
                sender_fault: true,
                code: "InvalidMessageContents".into(),
                message: Some("bad".into()),
            }],
        });
        assert!(xml(&resp).contains("<SendMessageBatchResult><SendMessageBatchResultEntry><Id>a</Id><MessageId>m</MessageId><MD5OfMessageBody>d</MD5OfMessageBody></SendMessageBatchResultEntry><BatchResultErrorEntry><Id>b</Id><SenderFault>true</SenderFault><Code>InvalidMessageContents</Code><Message>bad</Message></BatchResultErrorEntry></SendMessageBatchResult>"));
        let resp = SqsResponse::ListQueueTags(ListQueueTagsOutput {
            tags: [("k".to_string(), "v".to_string())].into(),
        });
        assert!(
            xml(&resp).contains("<ListQueueTagsResult><Tag><Key>k</Key><Value>v</Value></Tag></ListQueueTagsResult>")
        );
        let resp = SqsResponse::GetQueueAttributes(GetQueueAttributesOutput {
            attributes: [("DelaySeconds".to_string(), "0".to_string())].into(),
        });
        assert!(xml(&resp).contains("<GetQueueAttributesResult><Attribute><Name>DelaySeconds</Name><Value>0</Value></Attribute></GetQueueAttributesResult>"));
    }
}
