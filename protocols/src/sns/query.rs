//! SNS over the query protocol: form-encoded `Action=...` requests, XML responses.
//!
//! Parameter layout (the plain query serializer of botocore, SNS having no compatibility
//! names): lists are `Name.member.N` (`Tags.member.1.Key`, `TagKeys.member.1`,
//! `AWSAccountId.member.1`, `PublishBatchRequestEntries.member.1.Id`), an empty list is a bare
//! `Name=`, string maps are `Attributes.entry.N.key` / `.value`, message attributes are
//! `MessageAttributes.entry.N.Name` with `.Value.DataType` / `.Value.StringValue` /
//! `.Value.BinaryValue` (base64), following the model's `locationName`s `Name` and `Value`.
//! `Version` is optional and not checked (kombu-style clients omit it).
//!
//! Decoding validates as [`super::validate`] describes; a decoded request has passed every
//! shape rule except each PublishBatch entry's own message rules, which the server applies per
//! entry with [`super::validate::check_publish`] so a bad entry fails alone.
//!
//! Responses are `<{Action}Response xmlns="http://sns.amazonaws.com/doc/2010-03-31/">` with a
//! `<{Action}Result>` for actions whose model has an output shape ([`SnsAction::has_result`]),
//! then `<ResponseMetadata><RequestId>`; lists are `<member>` items and maps
//! `<entry><key>`/`<value>`, the element names botocore's `QueryParser` reads.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::error::{SnsError, SnsErrorCode, XML_NAMESPACE};
use super::types::*;
use super::types::{is_known_unsupported, SnsAction};
use super::validate::{
    check_arn, check_batch, check_label, check_message_attributes, check_publish, check_tag_keys, check_tags,
    check_topic_name, length_error, MAX_RESOURCE_ARN_CHARS,
};
use crate::query::{response_document, QueryParams, XmlWriter};

/// Decodes and validates a query request from its merged URL query and form pairs.
pub fn decode_query(params: &[(String, String)]) -> Result<(SnsAction, SnsRequest), SnsError> {
    let p = QueryParams::new(params);
    let name = p.action().ok_or_else(|| {
        SnsError::new(
            SnsErrorCode::MissingAction,
            "The request must contain the parameter Action.",
        )
    })?;
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

/// A member SNS's own code requires: absent or empty gives [`SnsError::no_value`]
/// (`Invalid parameter: TopicArn Reason: no value for required parameter`).
///
/// AWS answers so for an absent TopicArn (DeleteTopic, Publish's `TopicArn or TargetArn`) and
/// SubscriptionArn (Unsubscribe); Sluice gives the same answer for the other required members
/// of the original actions (Protocol, Token, Label, AttributeName, AWSAccountId, ActionName),
/// for which no AWS answer is on record. CreateTopic's Name and Publish's Message, on record
/// as the front end's `ValidationError`, and the tagging actions' members, whose model carries
/// the length constraints the front end checks, use [`SnsError::null_member`] instead.
fn required(p: &QueryParams<'_>, member: &str) -> Result<String, SnsError> {
    match p.get(member) {
        Some(v) if !v.is_empty() => Ok(v.to_string()),
        _ => Err(SnsError::no_value(member)),
    }
}

/// A required ARN member, with its shape checked.
fn required_arn(p: &QueryParams<'_>, member: &str) -> Result<String, SnsError> {
    let arn = required(p, member)?;
    check_arn(member, &arn)?;
    Ok(arn)
}

/// The tagging actions' ResourceArn, which the front end validates against the model
/// (`ValidationError`: required, 1-1011 characters).
fn resource_arn(p: &QueryParams<'_>) -> Result<String, SnsError> {
    let Some(arn) = p.get("ResourceArn") else {
        return Err(SnsError::null_member("resourceArn"));
    };
    if let Some(err) = length_error("resourceArn", arn, 1, MAX_RESOURCE_ARN_CHARS) {
        return Err(err);
    }
    Ok(arn.to_string())
}

/// A flag sent as `true`/`false` (any case); anything else is false.
fn flag(p: &QueryParams<'_>, member: &str) -> bool {
    p.get(member).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn decode_action(action: SnsAction, p: &QueryParams<'_>) -> Result<SnsRequest, SnsError> {
    let req = match action {
        SnsAction::AddPermission => {
            let topic_arn = required_arn(p, "TopicArn")?;
            let label = required(p, "Label")?;
            check_label(&label)?;
            let account_ids = p.list("AWSAccountId.member");
            if account_ids.is_empty() {
                return Err(SnsError::no_value("AWSAccountId"));
            }
            let action_names = p.list("ActionName.member");
            if action_names.is_empty() {
                return Err(SnsError::no_value("ActionName"));
            }
            SnsRequest::AddPermission {
                topic_arn,
                label,
                account_ids,
                action_names,
            }
        }
        SnsAction::ConfirmSubscription => SnsRequest::ConfirmSubscription {
            topic_arn: required_arn(p, "TopicArn")?,
            token: required(p, "Token")?,
            authenticate_on_unsubscribe: flag(p, "AuthenticateOnUnsubscribe"),
        },
        SnsAction::CreateTopic => {
            let Some(name) = p.string("Name") else {
                return Err(SnsError::null_member("name"));
            };
            check_topic_name(&name)?;
            let mut attributes = string_map(p, "Attributes")?;
            let tags = tags(p)?;
            if let Some(policy) = p.string("DataProtectionPolicy") {
                attributes.insert("DataProtectionPolicy".into(), policy);
            }
            SnsRequest::CreateTopic { name, attributes, tags }
        }
        SnsAction::DeleteTopic => SnsRequest::DeleteTopic {
            topic_arn: required_arn(p, "TopicArn")?,
        },
        SnsAction::GetSubscriptionAttributes => SnsRequest::GetSubscriptionAttributes {
            subscription_arn: required_arn(p, "SubscriptionArn")?,
        },
        SnsAction::GetTopicAttributes => SnsRequest::GetTopicAttributes {
            topic_arn: required_arn(p, "TopicArn")?,
        },
        SnsAction::ListSubscriptions => SnsRequest::ListSubscriptions {
            next_token: p.string("NextToken"),
        },
        SnsAction::ListSubscriptionsByTopic => SnsRequest::ListSubscriptionsByTopic {
            topic_arn: required_arn(p, "TopicArn")?,
            next_token: p.string("NextToken"),
        },
        SnsAction::ListTagsForResource => SnsRequest::ListTagsForResource {
            resource_arn: resource_arn(p)?,
        },
        SnsAction::ListTopics => SnsRequest::ListTopics {
            next_token: p.string("NextToken"),
        },
        SnsAction::Publish => decode_publish(p)?,
        SnsAction::PublishBatch => decode_publish_batch(p)?,
        SnsAction::RemovePermission => SnsRequest::RemovePermission {
            topic_arn: required_arn(p, "TopicArn")?,
            label: required(p, "Label")?,
        },
        SnsAction::SetSubscriptionAttributes => SnsRequest::SetSubscriptionAttributes {
            subscription_arn: required_arn(p, "SubscriptionArn")?,
            attribute_name: required(p, "AttributeName")?,
            attribute_value: p.string("AttributeValue").unwrap_or_default(),
        },
        SnsAction::SetTopicAttributes => SnsRequest::SetTopicAttributes {
            topic_arn: required_arn(p, "TopicArn")?,
            attribute_name: required(p, "AttributeName")?,
            attribute_value: p.string("AttributeValue").unwrap_or_default(),
        },
        SnsAction::Subscribe => SnsRequest::Subscribe {
            topic_arn: required_arn(p, "TopicArn")?,
            protocol: required(p, "Protocol")?,
            endpoint: p.string("Endpoint").unwrap_or_default(),
            attributes: string_map(p, "Attributes")?,
            return_subscription_arn: flag(p, "ReturnSubscriptionArn"),
        },
        SnsAction::TagResource => {
            let resource_arn = resource_arn(p)?;
            if !p.has("Tags") {
                return Err(SnsError::null_member("tags"));
            }
            SnsRequest::TagResource {
                resource_arn,
                tags: tags(p)?,
            }
        }
        SnsAction::Unsubscribe => SnsRequest::Unsubscribe {
            subscription_arn: required_arn(p, "SubscriptionArn")?,
        },
        SnsAction::UntagResource => {
            let resource_arn = resource_arn(p)?;
            if !p.has("TagKeys") {
                return Err(SnsError::null_member("tagKeys"));
            }
            let tag_keys = p.list("TagKeys.member");
            check_tag_keys(&tag_keys)?;
            SnsRequest::UntagResource { resource_arn, tag_keys }
        }
    };
    Ok(req)
}

/// Publish: TopicArn or TargetArn (one of them), then the message and its attributes.
fn decode_publish(p: &QueryParams<'_>) -> Result<SnsRequest, SnsError> {
    let nonempty = |member: &str| p.get(member).filter(|v| !v.is_empty());
    if nonempty("PhoneNumber").is_some() {
        return Err(SnsError::invalid(
            "PhoneNumber Reason: Sluice does not deliver SMS; publish to a topic",
        ));
    }
    let (member, topic_arn) = match (nonempty("TopicArn"), nonempty("TargetArn")) {
        (Some(t), None) => ("TopicArn", t),
        (None, Some(t)) => ("TargetArn", t),
        // AWS documents each as the alternative to the other; Sluice refuses the ambiguity
        // (Sluice's wording).
        (Some(_), Some(_)) => {
            return Err(SnsError::invalid(
                "TopicArn or TargetArn Reason: Only one of TopicArn or TargetArn may be specified",
            ))
        }
        (None, None) => return Err(SnsError::no_value("TopicArn or TargetArn")),
    };
    check_arn(member, topic_arn)?;
    let fields = publish_fields(p, "", "")?;
    check_publish(&fields)?;
    check_message_attributes(&fields.message_attributes)?;
    Ok(SnsRequest::Publish {
        topic_arn: topic_arn.to_string(),
        fields,
    })
}

/// PublishBatch: the topic and its entries, checked as a whole ([`check_batch`]); each entry's
/// own message rules are the server's to apply per entry.
fn decode_publish_batch(p: &QueryParams<'_>) -> Result<SnsRequest, SnsError> {
    let topic_arn = required_arn(p, "TopicArn")?;
    let prefix = "PublishBatchRequestEntries.member";
    let mut entries = Vec::new();
    for n in p.indices(prefix) {
        let base = format!("{prefix}.{n}.");
        let path = format!("publishBatchRequestEntries.{n}.member.");
        let Some(id) = p.string(&format!("{base}Id")) else {
            return Err(SnsError::null_member(&format!("{path}id")));
        };
        let fields = publish_fields(p, &base, &path)?;
        entries.push(PublishBatchEntry { id, fields });
    }
    check_batch(&entries)?;
    Ok(SnsRequest::PublishBatch { topic_arn, entries })
}

/// `prefix.entry.N.key` / `.value` pairs.
fn string_map(p: &QueryParams<'_>, prefix: &str) -> Result<BTreeMap<String, String>, SnsError> {
    let base = format!("{prefix}.entry");
    let mut out = BTreeMap::new();
    for n in p.indices(&base) {
        let Some(key) = p.get(&format!("{base}.{n}.key")) else {
            return Err(SnsError::null_member(&format!("attributes.entry.{n}.member.key")));
        };
        let value = p.get(&format!("{base}.{n}.value")).unwrap_or_default();
        out.insert(key.to_string(), value.to_string());
    }
    Ok(out)
}

/// `Tags.member.N.Key` / `.Value` (both required by the model's `Tag`), checked with
/// [`check_tags`].
fn tags(p: &QueryParams<'_>) -> Result<BTreeMap<String, String>, SnsError> {
    let mut listed = Vec::new();
    for n in p.indices("Tags.member") {
        let Some(key) = p.string(&format!("Tags.member.{n}.Key")) else {
            return Err(SnsError::null_member(&format!("tags.{n}.member.key")));
        };
        let Some(value) = p.string(&format!("Tags.member.{n}.Value")) else {
            return Err(SnsError::null_member(&format!("tags.{n}.member.value")));
        };
        listed.push((key, value));
    }
    check_tags(&listed)?;
    Ok(listed.into_iter().collect())
}

/// The fields of one message under `base` (`""` for Publish, `...member.N.` for a batch
/// entry); `path` is the same place as the front end's validation messages name it.
fn publish_fields(p: &QueryParams<'_>, base: &str, path: &str) -> Result<PublishFields, SnsError> {
    let Some(message) = p.string(&format!("{base}Message")) else {
        return Err(SnsError::null_member(&format!("{path}message")));
    };
    let mut attributes = MessageAttributeMap::new();
    let prefix = format!("{base}MessageAttributes.entry");
    for n in p.indices(&prefix) {
        let entry = format!("{prefix}.{n}");
        let name = p.get(&format!("{entry}.Name")).unwrap_or_default();
        let Some(data_type) = p.string(&format!("{entry}.Value.DataType")) else {
            return Err(SnsError::null_member(&format!(
                "{path}messageAttributes.{name}.member.dataType"
            )));
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
                data_type,
                string_value: p.string(&format!("{entry}.Value.StringValue")),
                binary_value,
            },
        );
    }
    Ok(PublishFields {
        message,
        subject: p.string(&format!("{base}Subject")),
        message_structure: p.string(&format!("{base}MessageStructure")),
        message_attributes: attributes,
        message_deduplication_id: p.string(&format!("{base}MessageDeduplicationId")),
        message_group_id: p.string(&format!("{base}MessageGroupId")),
    })
}

/// Encodes a response as the query protocol's XML document.
pub fn encode_xml(resp: &SnsResponse, request_id: &str) -> Vec<u8> {
    let action = resp.action();
    let write = |w: &mut XmlWriter| write_result(w, resp);
    let result: Option<&dyn Fn(&mut XmlWriter)> = if action.has_result() { Some(&write) } else { None };
    response_document(action.name(), XML_NAMESPACE, request_id, result)
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
