//! SNS over the query protocol: form-encoded `Action=...` requests, XML responses.
//!
//! Parameter layout (the plain query serializer of botocore, SNS having no compatibility
//! names): lists are `Name.member.N` (`Tags.member.1.Key`, `TagKeys.member.1`,
//! `AWSAccountId.member.1`, `PublishBatchRequestEntries.member.1.Id`), string maps are
//! `Attributes.entry.N.key` / `.value`, message attributes are `MessageAttributes.entry.N.Name`
//! with `.Value.DataType` / `.Value.StringValue` / `.Value.BinaryValue`.
//!
//! Responses are `<{Action}Response xmlns="http://sns.amazonaws.com/doc/2010-03-31/">` with a
//! `<{Action}Result>` for actions whose model has an output shape, then
//! `<ResponseMetadata><RequestId>`; lists are `<member>` items and maps `<entry><key>`/`<value>`.

use std::collections::{BTreeMap, BTreeSet};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::action::{is_known_unsupported, SnsAction};
use super::error::{SnsError, SnsErrorCode, XML_NAMESPACE};
use super::types::*;
use crate::query::{QueryParams, XmlWriter};

/// Largest message, attributes included (256 KiB), and largest PublishBatch in total.
pub const MAX_MESSAGE_BYTES: usize = 262_144;
/// Most entries in a PublishBatch.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// Longest Subject.
const MAX_SUBJECT_CHARS: usize = 100;

/// Decodes and validates a query request from its merged URL query and form pairs.
pub fn decode_query(params: &[(String, String)]) -> Result<(SnsAction, SnsRequest), SnsError> {
    let p = QueryParams::new(params);
    let name = match p.get("Action") {
        Some(n) if !n.is_empty() => n,
        _ => {
            return Err(SnsError::new(
                SnsErrorCode::MissingAction,
                "The request must contain the parameter Action.",
            ))
        }
    };
    let Some(action) = SnsAction::from_name(name) else {
        let message = if is_known_unsupported(name) {
            format!("The action {name} (SMS, mobile push or data protection) is not supported by Sluice.")
        } else {
            format!("The action {name} is not valid for this endpoint.")
        };
        return Err(SnsError::new(SnsErrorCode::InvalidAction, message));
    };
    Ok((action, decode_action(action, &p)?))
}

fn required(p: &QueryParams<'_>, name: &str) -> Result<String, SnsError> {
    p.string(name).ok_or_else(|| SnsError::missing(&lower_first(name)))
}

/// botocore's validation messages name members in lower camel case (`topicArn`).
fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => c.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

fn decode_action(action: SnsAction, p: &QueryParams<'_>) -> Result<SnsRequest, SnsError> {
    let req = match action {
        SnsAction::AddPermission => {
            let label = required(p, "Label")?;
            check_label(&label)?;
            let account_ids = p.list("AWSAccountId.member");
            let action_names = p.list("ActionName.member");
            if account_ids.is_empty() {
                return Err(SnsError::missing("aWSAccountId"));
            }
            if action_names.is_empty() {
                return Err(SnsError::missing("actionName"));
            }
            SnsRequest::AddPermission {
                topic_arn: required(p, "TopicArn")?,
                label,
                account_ids,
                action_names,
            }
        }
        SnsAction::ConfirmSubscription => SnsRequest::ConfirmSubscription {
            topic_arn: required(p, "TopicArn")?,
            token: required(p, "Token")?,
            authenticate_on_unsubscribe: p
                .get("AuthenticateOnUnsubscribe")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        },
        SnsAction::CreateTopic => {
            let name = required(p, "Name")?;
            check_topic_name(&name)?;
            let tags = tags(p)?;
            let mut attributes = string_map(p, "Attributes")?;
            if let Some(policy) = p.string("DataProtectionPolicy") {
                attributes.insert("DataProtectionPolicy".into(), policy);
            }
            SnsRequest::CreateTopic { name, attributes, tags }
        }
        SnsAction::DeleteTopic => SnsRequest::DeleteTopic {
            topic_arn: required(p, "TopicArn")?,
        },
        SnsAction::GetSubscriptionAttributes => SnsRequest::GetSubscriptionAttributes {
            subscription_arn: required(p, "SubscriptionArn")?,
        },
        SnsAction::GetTopicAttributes => SnsRequest::GetTopicAttributes {
            topic_arn: required(p, "TopicArn")?,
        },
        SnsAction::ListSubscriptions => SnsRequest::ListSubscriptions {
            next_token: p.string("NextToken"),
        },
        SnsAction::ListSubscriptionsByTopic => SnsRequest::ListSubscriptionsByTopic {
            topic_arn: required(p, "TopicArn")?,
            next_token: p.string("NextToken"),
        },
        SnsAction::ListTagsForResource => SnsRequest::ListTagsForResource {
            resource_arn: required(p, "ResourceArn")?,
        },
        SnsAction::ListTopics => SnsRequest::ListTopics {
            next_token: p.string("NextToken"),
        },
        SnsAction::Publish => {
            if p.get("PhoneNumber").is_some() {
                return Err(SnsError::invalid(
                    "PhoneNumber Reason: Sluice does not deliver SMS; publish to a topic",
                ));
            }
            let topic_arn = match (p.string("TopicArn"), p.string("TargetArn")) {
                (Some(t), None) | (None, Some(t)) => t,
                (Some(_), Some(_)) => {
                    return Err(SnsError::invalid(
                        "TopicArn or TargetArn Reason: Only one of TopicArn or TargetArn may be specified",
                    ))
                }
                (None, None) => {
                    return Err(SnsError::invalid(
                        "TopicArn or TargetArn Reason: no value for required parameter",
                    ))
                }
            };
            let fields = publish_fields(p, "")?;
            check_publish(&fields)?;
            SnsRequest::Publish { topic_arn, fields }
        }
        SnsAction::PublishBatch => {
            let topic_arn = required(p, "TopicArn")?;
            let prefix = "PublishBatchRequestEntries.member";
            let indices = p.indices(prefix);
            if indices.is_empty() {
                return Err(SnsError::new(
                    SnsErrorCode::EmptyBatchRequest,
                    "The batch request doesn't contain any entries.",
                ));
            }
            if indices.len() > MAX_BATCH_ENTRIES {
                return Err(SnsError::new(
                    SnsErrorCode::TooManyEntriesInBatchRequest,
                    "The batch request contains more entries than permissible.",
                ));
            }
            let mut entries = Vec::with_capacity(indices.len());
            let mut ids = BTreeSet::new();
            let mut total = 0;
            for n in indices {
                let base = format!("{prefix}.{n}.");
                let id = p.string(&format!("{base}Id")).unwrap_or_default();
                if !is_batch_id(&id) {
                    return Err(SnsError::new(
                        SnsErrorCode::InvalidBatchEntryId,
                        "The Id of a batch entry in a batch request doesn't abide by the specification.",
                    ));
                }
                if !ids.insert(id.clone()) {
                    return Err(SnsError::new(
                        SnsErrorCode::BatchEntryIdsNotDistinct,
                        "Two or more batch entries in the request have the same Id.",
                    ));
                }
                let fields = publish_fields(p, &base)?;
                total += message_size(&fields);
                entries.push(PublishBatchEntry { id, fields });
            }
            if total > MAX_MESSAGE_BYTES {
                return Err(SnsError::new(
                    SnsErrorCode::BatchRequestTooLong,
                    "The length of all the messages put together is more than the limit.",
                ));
            }
            SnsRequest::PublishBatch { topic_arn, entries }
        }
        SnsAction::RemovePermission => SnsRequest::RemovePermission {
            topic_arn: required(p, "TopicArn")?,
            label: required(p, "Label")?,
        },
        SnsAction::SetSubscriptionAttributes => SnsRequest::SetSubscriptionAttributes {
            subscription_arn: required(p, "SubscriptionArn")?,
            attribute_name: required(p, "AttributeName")?,
            attribute_value: p.string("AttributeValue").unwrap_or_default(),
        },
        SnsAction::SetTopicAttributes => SnsRequest::SetTopicAttributes {
            topic_arn: required(p, "TopicArn")?,
            attribute_name: required(p, "AttributeName")?,
            attribute_value: p.string("AttributeValue").unwrap_or_default(),
        },
        SnsAction::Subscribe => SnsRequest::Subscribe {
            topic_arn: required(p, "TopicArn")?,
            protocol: required(p, "Protocol")?,
            endpoint: p.string("Endpoint").unwrap_or_default(),
            attributes: string_map(p, "Attributes")?,
            return_subscription_arn: p
                .get("ReturnSubscriptionArn")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        },
        SnsAction::TagResource => {
            let tags = tags(p)?;
            if tags.is_empty() {
                return Err(SnsError::missing("tags"));
            }
            SnsRequest::TagResource {
                resource_arn: required(p, "ResourceArn")?,
                tags,
            }
        }
        SnsAction::Unsubscribe => SnsRequest::Unsubscribe {
            subscription_arn: required(p, "SubscriptionArn")?,
        },
        SnsAction::UntagResource => {
            let tag_keys = p.list("TagKeys.member");
            if tag_keys.is_empty() {
                return Err(SnsError::missing("tagKeys"));
            }
            SnsRequest::UntagResource {
                resource_arn: required(p, "ResourceArn")?,
                tag_keys,
            }
        }
    };
    Ok(req)
}

/// Topic names: 1-256 ASCII letters, digits, hyphens and underscores, plus `.fifo` for FIFO.
fn check_topic_name(name: &str) -> Result<(), SnsError> {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    let valid = !base.is_empty()
        && name.len() <= 256
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(SnsError::invalid("Topic Name"))
    }
}

fn check_label(label: &str) -> Result<(), SnsError> {
    let valid = !label.is_empty()
        && label.len() <= 80
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(SnsError::invalid("Label"))
    }
}

fn is_batch_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 80 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `prefix.entry.N.key` / `.value` pairs.
fn string_map(p: &QueryParams<'_>, prefix: &str) -> Result<BTreeMap<String, String>, SnsError> {
    let base = format!("{prefix}.entry");
    let mut out = BTreeMap::new();
    for n in p.indices(&base) {
        let Some(key) = p.get(&format!("{base}.{n}.key")) else {
            return Err(SnsError::missing(&format!("{}.entry.{n}.key", lower_first(prefix))));
        };
        let value = p.get(&format!("{base}.{n}.value")).unwrap_or_default();
        out.insert(key.to_string(), value.to_string());
    }
    Ok(out)
}

/// `Tags.member.N.Key` / `.Value`, with AWS's tag rules.
fn tags(p: &QueryParams<'_>) -> Result<BTreeMap<String, String>, SnsError> {
    let mut out = BTreeMap::new();
    for n in p.indices("Tags.member") {
        let key = p.get(&format!("Tags.member.{n}.Key")).unwrap_or_default();
        let value = p.get(&format!("Tags.member.{n}.Value")).unwrap_or_default();
        if key.is_empty() || key.chars().count() > 128 {
            return Err(SnsError::invalid(
                "Tags Reason: tag keys must be 1 to 128 characters long",
            ));
        }
        if value.chars().count() > 256 {
            return Err(SnsError::invalid(
                "Tags Reason: tag values must be at most 256 characters long",
            ));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(SnsError::invalid("Tags Reason: tag keys must not start with aws:"));
        }
        out.insert(key.to_string(), value.to_string());
    }
    Ok(out)
}

/// The fields of one message under `base` (`""` for Publish, `...member.N.` for a batch entry).
fn publish_fields(p: &QueryParams<'_>, base: &str) -> Result<PublishFields, SnsError> {
    let mut attributes = MessageAttributeMap::new();
    let prefix = format!("{base}MessageAttributes.entry");
    for n in p.indices(&prefix) {
        let entry = format!("{prefix}.{n}");
        let Some(name) = p.get(&format!("{entry}.Name")) else {
            return Err(SnsError::missing("messageAttributes.entry.name"));
        };
        let binary_value = match p.get(&format!("{entry}.Value.BinaryValue")) {
            Some(text) => Some(STANDARD.decode(text.trim()).map_err(|_| {
                SnsError::new(
                    SnsErrorCode::ParameterValueInvalid,
                    format!("The message attribute '{name}' has an invalid binary value: it must be base64."),
                )
            })?),
            None => None,
        };
        attributes.insert(
            name.to_string(),
            MessageAttributeValue {
                data_type: p.string(&format!("{entry}.Value.DataType")).unwrap_or_default(),
                string_value: p.string(&format!("{entry}.Value.StringValue")),
                binary_value,
            },
        );
    }
    Ok(PublishFields {
        message: p.string(&format!("{base}Message")).unwrap_or_default(),
        subject: p.string(&format!("{base}Subject")),
        message_structure: p.string(&format!("{base}MessageStructure")),
        message_attributes: attributes,
        message_deduplication_id: p.string(&format!("{base}MessageDeduplicationId")),
        message_group_id: p.string(&format!("{base}MessageGroupId")),
    })
}

/// Bytes that count toward the 256 KiB limit: the message and every attribute's name, type
/// and value.
pub fn message_size(fields: &PublishFields) -> usize {
    fields.message.len()
        + fields
            .message_attributes
            .iter()
            .map(|(name, a)| {
                name.len()
                    + a.data_type.len()
                    + a.string_value.as_ref().map_or(0, String::len)
                    + a.binary_value.as_ref().map_or(0, Vec::len)
            })
            .sum::<usize>()
}

/// Checks one message's fields against SNS's rules (Publish, and each PublishBatch entry on its
/// own so a bad entry fails alone).
pub fn check_publish(fields: &PublishFields) -> Result<(), SnsError> {
    if fields.message.is_empty() {
        return Err(SnsError::invalid("Empty message"));
    }
    if message_size(fields) > MAX_MESSAGE_BYTES {
        return Err(SnsError::invalid("Message too long"));
    }
    if let Some(subject) = &fields.subject {
        let printable = subject.chars().all(|c| !c.is_control()) && subject.is_ascii();
        if subject.is_empty() || subject.chars().count() > MAX_SUBJECT_CHARS || !printable {
            return Err(SnsError::invalid("Subject"));
        }
    }
    match fields.message_structure.as_deref() {
        None | Some("json") => {}
        Some(_) => return Err(SnsError::invalid("MessageStructure")),
    }
    for (id_name, id) in [
        ("MessageDeduplicationId", &fields.message_deduplication_id),
        ("MessageGroupId", &fields.message_group_id),
    ] {
        if let Some(id) = id {
            let valid = !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| (0x21..=0x7e).contains(&b));
            if !valid {
                return Err(SnsError::invalid(format!(
                    "{id_name} Reason: must be 1 to 128 printable ASCII characters without spaces"
                )));
            }
        }
    }
    for (name, attr) in &fields.message_attributes {
        check_attribute(name, attr)?;
    }
    Ok(())
}

fn attribute_error(message: String) -> SnsError {
    SnsError::new(SnsErrorCode::ParameterValueInvalid, message)
}

/// AWS's message attribute rules (SNS developer guide, "Amazon SNS message attributes").
fn check_attribute(name: &str, attr: &MessageAttributeValue) -> Result<(), SnsError> {
    let name_ok = !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..");
    if !name_ok {
        return Err(attribute_error(format!(
            "Invalid attribute name '{name}': names are 1 to 256 letters, digits, hyphens, underscores and dots, with no leading, trailing or repeated dots."
        )));
    }
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("aws.") || lower.starts_with("amazon.") {
        return Err(attribute_error(format!(
            "Invalid attribute name '{name}': the prefixes AWS. and Amazon. are reserved."
        )));
    }
    let data_type = attr.data_type.as_str();
    let base = data_type.split('.').next().unwrap_or_default();
    let label = data_type.get(base.len() + 1..);
    let type_ok = data_type.len() <= 256
        && matches!(base, "String" | "Number" | "Binary")
        && label.is_none_or(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
    if !type_ok {
        return Err(attribute_error(format!(
            "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
        )));
    }
    let missing_value = || {
        attribute_error(format!(
            "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{base}'."
        ))
    };
    if base == "Binary" {
        return match &attr.binary_value {
            Some(b) if !b.is_empty() => Ok(()),
            _ => Err(missing_value()),
        };
    }
    let Some(value) = attr.string_value.as_deref().filter(|v| !v.is_empty()) else {
        return Err(missing_value());
    };
    if base == "Number" {
        let parsed = value.trim().parse::<f64>();
        if !matches!(parsed, Ok(n) if n.is_finite()) {
            return Err(attribute_error(format!(
                "Could not cast message attribute '{name}' value to number."
            )));
        }
    }
    if data_type == "String.Array" {
        let parsed: Result<serde_json::Value, _> = serde_json::from_str(value);
        let valid = matches!(&parsed, Ok(serde_json::Value::Array(items)) if items.iter().all(|i| !i.is_array() && !i.is_object()));
        if !valid {
            return Err(attribute_error(format!(
                "The message attribute '{name}' with type 'String.Array' must be a JSON array of strings, numbers, booleans or null."
            )));
        }
    }
    Ok(())
}

/// Encodes a response as the query protocol's XML document.
pub fn encode_xml(resp: &SnsResponse, request_id: &str) -> Vec<u8> {
    let action = resp.action();
    let response = format!("{}Response", action.name());
    let result = format!("{}Result", action.name());
    let mut w = XmlWriter::new();
    w.declaration();
    w.open_ns(&response, XML_NAMESPACE);
    let has_result = !matches!(
        resp,
        SnsResponse::Empty(
            SnsAction::DeleteTopic
                | SnsAction::SetTopicAttributes
                | SnsAction::SetSubscriptionAttributes
                | SnsAction::Unsubscribe
                | SnsAction::AddPermission
                | SnsAction::RemovePermission
        )
    );
    if has_result {
        w.open(&result);
        write_result(&mut w, resp);
        w.close(&result);
    }
    w.open("ResponseMetadata");
    w.text("RequestId", request_id);
    w.close("ResponseMetadata");
    w.close(&response);
    w.finish()
}

fn write_result(w: &mut XmlWriter, resp: &SnsResponse) {
    match resp {
        SnsResponse::Empty(_) => {}
        SnsResponse::CreateTopic { topic_arn } => w.text("TopicArn", topic_arn),
        SnsResponse::ListTopics { topic_arns, next_token } => {
            w.open("Topics");
            for arn in topic_arns {
                w.open("member");
                w.text("TopicArn", arn);
                w.close("member");
            }
            w.close("Topics");
            w.opt_text("NextToken", next_token.as_deref());
        }
        SnsResponse::Attributes(_, attributes) => {
            w.open("Attributes");
            for (k, v) in attributes {
                w.open("entry");
                w.text("key", k);
                w.text("value", v);
                w.close("entry");
            }
            w.close("Attributes");
        }
        SnsResponse::SubscriptionArn(_, arn) => w.text("SubscriptionArn", arn),
        SnsResponse::Subscriptions(_, subs, next_token) => {
            w.open("Subscriptions");
            for s in subs {
                w.open("member");
                w.text("SubscriptionArn", &s.subscription_arn);
                w.text("Owner", &s.owner);
                w.text("Protocol", &s.protocol);
                w.text("Endpoint", &s.endpoint);
                w.text("TopicArn", &s.topic_arn);
                w.close("member");
            }
            w.close("Subscriptions");
            w.opt_text("NextToken", next_token.as_deref());
        }
        SnsResponse::Publish {
            message_id,
            sequence_number,
        } => {
            w.text("MessageId", message_id);
            w.opt_text("SequenceNumber", sequence_number.as_deref());
        }
        SnsResponse::PublishBatch { successful, failed } => {
            w.open("Successful");
            for s in successful {
                w.open("member");
                w.text("Id", &s.id);
                w.text("MessageId", &s.message_id);
                w.opt_text("SequenceNumber", s.sequence_number.as_deref());
                w.close("member");
            }
            w.close("Successful");
            w.open("Failed");
            for f in failed {
                w.open("member");
                w.text("Id", &f.id);
                w.text("Code", &f.code);
                w.text("Message", &f.message);
                w.text("SenderFault", if f.sender_fault { "true" } else { "false" });
                w.close("member");
            }
            w.close("Failed");
        }
        SnsResponse::Tags(tags) => {
            w.open("Tags");
            for (k, v) in tags {
                w.open("member");
                w.text("Key", k);
                w.text("Value", v);
                w.close("member");
            }
            w.close("Tags");
        }
    }
}

#[cfg(test)]
mod tests;
