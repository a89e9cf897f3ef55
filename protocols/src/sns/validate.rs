//! SNS's shape rules: what the model and AWS's documentation define for one request, checked
//! before the core sees it. Whatever depends on state (the topic exists, FIFO needs a group id,
//! filter policies, a JSON `MessageStructure` body) is the core's.
//!
//! # Where the rules and messages come from
//! - The botocore model (`sns/2010-03-31/service-2.json`): required members, tag key and value
//!   lengths, the 256 KiB message and batch limits, 10 batch entries, batch Id rules, Subject.
//! - AWS's answers as recorded by AWS-validated emulator tests (LocalStack's snapshot tests,
//!   aws-sdk-ruby and aws-mock fixtures): `Invalid parameter: TopicArn Reason: no value for
//!   required parameter`, `Value null at 'message'`, `Invalid parameter: Empty message`,
//!   `Message too long`, `Topic Name`, the message attribute messages (`ParameterValueInvalid`)
//!   and the batch messages.
//! - Where no AWS answer is on record the message follows SNS's `Invalid parameter: X Reason: Y`
//!   form; those are marked "(Sluice's wording)" below.
//!
//! # Rules
//! - Required members: see [`SnsError::no_value`] and [`SnsError::null_member`].
//! - ARNs (TopicArn, TargetArn, SubscriptionArn): [`check_arn`].
//! - Topic names: [`check_topic_name`]; permission labels: [`check_label`].
//! - One message (Publish, each PublishBatch entry): [`check_publish`]; its attributes:
//!   [`check_message_attributes`]; its size: [`message_size`].
//! - PublishBatch as a whole: [`check_batch`]; tags: [`check_tags`], [`check_tag_keys`].

use std::collections::BTreeSet;

use crate::number::is_number;

use super::error::{SnsError, SnsErrorCode};
use super::types::{MessageAttributeMap, MessageAttributeValue, PublishBatchEntry, PublishFields};

/// Largest message, attributes included, and largest PublishBatch in total: 256 KiB (the
/// model's Publish and PublishBatch documentation: "262,144 bytes, not 262,144 characters").
pub const MAX_MESSAGE_BYTES: usize = 262_144;
/// Most entries in a PublishBatch.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// Longest PublishBatch entry Id.
pub const MAX_BATCH_ID_CHARS: usize = 80;
/// Longest Subject (the model says "less than 100 characters"; 100 itself is accepted, as moto
/// does, since no AWS answer for 100 is on record).
pub const MAX_SUBJECT_CHARS: usize = 100;
/// Longest topic name, `.fifo` included.
pub const MAX_TOPIC_NAME_CHARS: usize = 256;
/// Longest MessageGroupId or MessageDeduplicationId.
pub const MAX_MESSAGE_ID_CHARS: usize = 128;
/// Most tags on one resource (AWS's tagging quota).
pub const MAX_TAGS: usize = 50;
/// Longest tag key (the model's `TagKey`).
pub const MAX_TAG_KEY_CHARS: usize = 128;
/// Longest tag value (the model's `TagValue`).
pub const MAX_TAG_VALUE_CHARS: usize = 256;
/// Longest ResourceArn (the model's `AmazonResourceName`).
pub const MAX_RESOURCE_ARN_CHARS: usize = 1011;
/// Longest message attribute name.
pub const MAX_ATTRIBUTE_NAME_BYTES: usize = 256;
/// Longest AddPermission label.
pub const MAX_LABEL_CHARS: usize = 80;

/// The front end's length constraint message (`ValidationError`), as for any model member
/// with `min`/`max`.
pub fn length_error(path: &str, value: &str, min: usize, max: usize) -> Option<SnsError> {
    let len = value.chars().count();
    let constraint = if len < min {
        format!("greater than or equal to {min}")
    } else if len > max {
        format!("less than or equal to {max}")
    } else {
        return None;
    };
    Some(SnsError::new(
        SnsErrorCode::ValidationError,
        format!(
            "1 validation error detected: Value '{value}' at '{path}' failed to satisfy constraint: Member must have length {constraint}"
        ),
    ))
}

/// An ARN member's shape: `Invalid parameter: TopicArn Reason: fake_topic does not start with
/// arn` (AWS's answer in the SDKs' integration tests) and `... Reason: An ARN must have at
/// least 6 elements, not 3`.
pub fn check_arn(member: &str, arn: &str) -> Result<(), SnsError> {
    if !arn.starts_with("arn:") {
        return Err(SnsError::invalid(format!(
            "{member} Reason: {arn} does not start with arn"
        )));
    }
    let elements = arn.split(':').count();
    if elements < 6 {
        return Err(SnsError::invalid(format!(
            "{member} Reason: An ARN must have at least 6 elements, not {elements}"
        )));
    }
    Ok(())
}

/// Topic names: 1-256 ASCII letters, digits, hyphens and underscores, `.fifo` included for a
/// FIFO topic (the model's CreateTopic `Name`); `Invalid parameter: Topic Name`. Whether a
/// `.fifo` name asks for `FifoTopic=true` is the core's question.
pub fn check_topic_name(name: &str) -> Result<(), SnsError> {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    let valid = !base.is_empty()
        && name.len() <= MAX_TOPIC_NAME_CHARS
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(SnsError::invalid("Topic Name"))
    }
}

/// AddPermission labels (policy statement ids): 1-80 letters, digits, hyphens and
/// underscores, as for SQS's AddPermission (Sluice's wording: `Invalid parameter: Label`).
pub fn check_label(label: &str) -> Result<(), SnsError> {
    let valid = !label.is_empty()
        && label.len() <= MAX_LABEL_CHARS
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(SnsError::invalid("Label"))
    }
}

/// A PublishBatch entry Id: up to 80 letters, digits, hyphens and underscores (the model's
/// `PublishBatchRequestEntry.Id`); `InvalidBatchEntryId` with AWS's messages.
pub fn check_batch_id(id: &str) -> Result<(), SnsError> {
    if id.chars().count() > MAX_BATCH_ID_CHARS {
        return Err(SnsError::new(
            SnsErrorCode::InvalidBatchEntryId,
            format!("The Id of a batch entry in the batch request is too long: {id}"),
        ));
    }
    let valid = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(SnsError::new(
            SnsErrorCode::InvalidBatchEntryId,
            format!("The Id of a batch entry in the batch request contains an impermissible character: {id}"),
        ));
    }
    Ok(())
}

/// PublishBatch as a whole, in AWS's order: entry count (`EmptyBatchRequest`,
/// `TooManyEntriesInBatchRequest`), distinct Ids (`BatchEntryIdsNotDistinct`), each Id
/// (`InvalidBatchEntryId`), every entry's message attributes (one bad attribute fails the whole
/// request, as on AWS), then the total size (`BatchRequestTooLong`). Each entry's own message
/// rules ([`check_publish`]) are left to the caller so a bad entry fails alone.
pub fn check_batch(entries: &[PublishBatchEntry]) -> Result<(), SnsError> {
    if entries.is_empty() {
        return Err(SnsError::new(
            SnsErrorCode::EmptyBatchRequest,
            "The batch request doesn't contain any entries.",
        ));
    }
    if entries.len() > MAX_BATCH_ENTRIES {
        return Err(SnsError::new(
            SnsErrorCode::TooManyEntriesInBatchRequest,
            "The batch request contains more entries than permissible.",
        ));
    }
    let mut ids = BTreeSet::new();
    for entry in entries {
        if !ids.insert(entry.id.as_str()) {
            return Err(SnsError::new(
                SnsErrorCode::BatchEntryIdsNotDistinct,
                "Two or more batch entries in the request have the same Id.",
            ));
        }
    }
    for entry in entries {
        check_batch_id(&entry.id)?;
    }
    for entry in entries {
        check_message_attributes(&entry.fields.message_attributes)?;
    }
    let total: usize = entries.iter().map(|e| message_size(&e.fields)).sum();
    if total > MAX_MESSAGE_BYTES {
        return Err(SnsError::new(
            SnsErrorCode::BatchRequestTooLong,
            "The length of all the messages put together is more than the limit.",
        ));
    }
    Ok(())
}

/// Bytes that count toward the 256 KiB limit: the message and every attribute's name, type
/// and value (the model's `MessageAttributeValue`: "All parts of the message attribute,
/// including name, type, and value, are included in the message size restriction").
pub fn message_size(fields: &PublishFields) -> usize {
    let attributes: usize = fields
        .message_attributes
        .iter()
        .map(|(name, a)| {
            name.len()
                + a.data_type.len()
                + a.string_value.as_ref().map_or(0, String::len)
                + a.binary_value.as_ref().map_or(0, Vec::len)
        })
        .sum();
    fields.message.len() + attributes
}

/// One message's own rules (Publish, and each PublishBatch entry on its own so a bad entry
/// fails alone):
/// - Message non-empty: `Invalid parameter: Empty message`;
/// - size ≤ 256 KiB ([`message_size`]): `Invalid parameter: Message too long`;
/// - Subject, when given: 1-100 characters with no line breaks or control characters (the
///   model: "UTF-8 text with no line breaks or control characters"): `Invalid parameter:
///   Subject`;
/// - MessageStructure, when given, is `json` (Sluice's wording: `Invalid parameter:
///   MessageStructure`);
/// - MessageGroupId and MessageDeduplicationId: 1-128 characters of `!`..`~` (the model:
///   "alphanumeric characters and punctuation"; Sluice's wording).
///
/// Message attributes are checked for the whole request by [`check_message_attributes`].
pub fn check_publish(fields: &PublishFields) -> Result<(), SnsError> {
    if fields.message.is_empty() {
        return Err(SnsError::invalid("Empty message"));
    }
    if message_size(fields) > MAX_MESSAGE_BYTES {
        return Err(SnsError::invalid("Message too long"));
    }
    if let Some(subject) = &fields.subject {
        let valid = !subject.is_empty()
            && subject.chars().count() <= MAX_SUBJECT_CHARS
            && !subject.chars().any(char::is_control);
        if !valid {
            return Err(SnsError::invalid("Subject"));
        }
    }
    match fields.message_structure.as_deref() {
        None | Some("json") => {}
        Some(_) => return Err(SnsError::invalid("MessageStructure")),
    }
    for (member, id) in [
        ("MessageDeduplicationId", &fields.message_deduplication_id),
        ("MessageGroupId", &fields.message_group_id),
    ] {
        let Some(id) = id else { continue };
        let valid =
            !id.is_empty() && id.len() <= MAX_MESSAGE_ID_CHARS && id.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if !valid {
            return Err(SnsError::invalid(format!(
                "{member} Reason: must be 1 to 128 alphanumeric or punctuation characters"
            )));
        }
    }
    Ok(())
}

fn attribute_error(message: String) -> SnsError {
    SnsError::new(SnsErrorCode::ParameterValueInvalid, message)
}

/// A message attribute name (the SNS developer guide's "Message attribute items and
/// validation": letters, digits, `_`, `-` and `.`, not starting or ending with `.`, no `..`, at
/// most 256 bytes), with AWS's `ParameterValueInvalid` messages. Names starting with `AWS.` are
/// allowed: SNS reserves them for SMS and mobile push settings that publishers do send.
pub fn check_attribute_name(name: &str) -> Result<(), SnsError> {
    if name.is_empty() {
        return Err(attribute_error(
            "The request must contain non-empty message attribute name.".to_string(),
        ));
    }
    if name.len() > MAX_ATTRIBUTE_NAME_BYTES {
        return Err(attribute_error(
            "Length of message attribute name must be less than 256 bytes.".to_string(),
        ));
    }
    if name.starts_with('.') {
        return Err(attribute_error(
            "Invalid message attribute name starting with character '.' was found.".to_string(),
        ));
    }
    if name.ends_with('.') {
        return Err(attribute_error(
            "Invalid message attribute name ending with character '.' was found.".to_string(),
        ));
    }
    let mut previous = '\0';
    for c in name.chars() {
        if !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            return Err(attribute_error(format!(
                "Invalid non-alphanumeric character '#x{:X}' was found in the message attribute name. Can only include alphanumeric characters, hyphens, underscores, or dots.",
                c as u32
            )));
        }
        if c == '.' && previous == '.' {
            return Err(attribute_error(
                "Message attribute name can not have successive '.' character.".to_string(),
            ));
        }
        previous = c;
    }
    Ok(())
}

/// The base type (`String`, `Number`, `Binary`) of a data type with its optional custom
/// suffix: `String.Array`, `Number.float`, even `String.  prefixed.` are valid, `String.` and
/// `Stringprefixed` are not (AWS's answers in LocalStack's snapshot tests).
pub fn base_data_type(data_type: &str) -> Option<&'static str> {
    let (base, suffix) = match data_type.split_once('.') {
        Some((base, suffix)) => (base, Some(suffix)),
        None => (data_type, None),
    };
    if suffix.is_some_and(str::is_empty) {
        return None;
    }
    match base {
        "String" => Some("String"),
        "Number" => Some("Number"),
        "Binary" => Some("Binary"),
        _ => None,
    }
}

/// One attribute's type and value, with AWS's `ParameterValueInvalid` messages; Number values
/// per [`is_number`], `String.Array` values a JSON array of strings, numbers, booleans and
/// nulls (the SNS developer guide's "Message attribute data types").
pub fn check_attribute_value(name: &str, attr: &MessageAttributeValue) -> Result<(), SnsError> {
    let data_type = attr.data_type.as_str();
    let Some(base) = base_data_type(data_type) else {
        return Err(attribute_error(format!(
            "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
        )));
    };
    let empty = || {
        attribute_error(format!(
            "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{data_type}'."
        ))
    };
    if attr.string_value.is_none() && attr.binary_value.is_none() {
        return Err(empty());
    }
    let field = if base == "Binary" { "Binary" } else { "String" };
    let wrong_field = || {
        attribute_error(format!(
            "The message attribute '{name}' with type '{data_type}' must use field '{field}'."
        ))
    };
    if base == "Binary" {
        return match &attr.binary_value {
            None => Err(wrong_field()),
            Some(bytes) if bytes.is_empty() => Err(empty()),
            Some(_) => Ok(()),
        };
    }
    let value = match attr.string_value.as_deref() {
        None => return Err(wrong_field()),
        Some("") => return Err(empty()),
        Some(value) => value,
    };
    if base == "Number" && !is_number(value) {
        return Err(attribute_error(format!(
            "Could not cast message attribute '{name}' value to number."
        )));
    }
    if data_type == "String.Array" && !is_string_array(value) {
        return Err(attribute_error(format!(
            "The message attribute '{name}' with type 'String.Array' must be a JSON array of strings, numbers, booleans or nulls."
        )));
    }
    Ok(())
}

/// Every attribute of one message: its name, then its type and value.
pub fn check_message_attributes(attributes: &MessageAttributeMap) -> Result<(), SnsError> {
    for (name, attr) in attributes {
        check_attribute_name(name)?;
        check_attribute_value(name, attr)?;
    }
    Ok(())
}

fn is_string_array(value: &str) -> bool {
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::Array(items)) => items.iter().all(|i| !i.is_array() && !i.is_object()),
        _ => false,
    }
}

/// Tags of CreateTopic or TagResource in wire order (`Tags.member.N`, N from 1):
/// at most 50 (`TagLimitExceeded`, `Could not complete request: tag quota of per resource
/// exceeded`, AWS's message), key and value lengths of the model (`ValidationError` at
/// `tags.N.member.key`), no duplicate keys (`Invalid parameter: Duplicated keys are not
/// allowed.`), no `aws:` prefix (AWS's tagging rule; Sluice's wording).
pub fn check_tags(tags: &[(String, String)]) -> Result<(), SnsError> {
    if tags.len() > MAX_TAGS {
        return Err(SnsError::new(
            SnsErrorCode::TagLimitExceeded,
            "Could not complete request: tag quota of per resource exceeded",
        ));
    }
    let mut keys = BTreeSet::new();
    for (i, (key, value)) in tags.iter().enumerate() {
        let n = i + 1;
        if let Some(err) = length_error(&format!("tags.{n}.member.key"), key, 1, MAX_TAG_KEY_CHARS) {
            return Err(err);
        }
        if let Some(err) = length_error(&format!("tags.{n}.member.value"), value, 0, MAX_TAG_VALUE_CHARS) {
            return Err(err);
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(SnsError::invalid("Tags Reason: Tag keys must not start with aws:"));
        }
        if !keys.insert(key.as_str()) {
            return Err(SnsError::invalid("Duplicated keys are not allowed."));
        }
    }
    Ok(())
}

/// UntagResource's keys (`TagKeys.member.N`): the model's key length.
pub fn check_tag_keys(keys: &[String]) -> Result<(), SnsError> {
    for (i, key) in keys.iter().enumerate() {
        let n = i + 1;
        if let Some(err) = length_error(&format!("tagKeys.{n}.member"), key, 1, MAX_TAG_KEY_CHARS) {
            return Err(err);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(message: &str) -> PublishFields {
        PublishFields {
            message: message.to_string(),
            ..PublishFields::default()
        }
    }

    fn message_of(r: Result<(), SnsError>) -> String {
        r.expect_err("must be refused").message
    }

    #[test]
    fn arns() {
        assert!(check_arn("TopicArn", "arn:aws:sns:us-east-1:000000000000:t").is_ok());
        assert!(check_arn("TopicArn", "arn:aws:sns:us-east-1:000000000000:t:sub-id").is_ok());
        assert_eq!(
            message_of(check_arn("TopicArn", "fake_topic")),
            "Invalid parameter: TopicArn Reason: fake_topic does not start with arn"
        );
        assert_eq!(
            message_of(check_arn("SubscriptionArn", "arn:aws:sns:us-east-1:t")),
            "Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not 5"
        );
    }

    #[test]
    fn topic_names() {
        assert!(check_topic_name("a").is_ok());
        assert!(check_topic_name(&"a".repeat(256)).is_ok());
        assert!(check_topic_name(&format!("{}.fifo", "a".repeat(251))).is_ok());
        assert!(check_topic_name("A-b_9.fifo").is_ok());
        for bad in [
            String::new(),
            "a".repeat(257),
            format!("{}.fifo", "a".repeat(252)),
            "a+b".into(),
            "a.b".into(),
            ".fifo".into(),
            "café".into(),
            "a b".into(),
        ] {
            let err = check_topic_name(&bad).expect_err(&bad);
            assert_eq!(
                (err.code, err.message.as_str()),
                (SnsErrorCode::InvalidParameter, "Invalid parameter: Topic Name")
            );
        }
    }

    #[test]
    fn labels_and_batch_ids() {
        assert!(check_label(&"l".repeat(80)).is_ok());
        assert!(check_label(&"l".repeat(81)).is_err());
        assert!(check_label("a b").is_err());
        assert!(check_batch_id(&"i".repeat(80)).is_ok());
        assert!(check_batch_id("A-z_0").is_ok());
        let long = "i".repeat(81);
        assert_eq!(
            message_of(check_batch_id(&long)),
            format!("The Id of a batch entry in the batch request is too long: {long}")
        );
        for bad in ["", "a.b", "a b", "é"] {
            let err = check_batch_id(bad).expect_err(bad);
            assert_eq!(err.code, SnsErrorCode::InvalidBatchEntryId);
            assert!(err.message.contains("impermissible character"), "{}", err.message);
        }
    }

    #[test]
    fn message_rules() {
        assert!(check_publish(&fields("m")).is_ok());
        assert_eq!(
            message_of(check_publish(&fields(""))),
            "Invalid parameter: Empty message"
        );
        // 256 KiB counts bytes, not characters.
        assert!(check_publish(&fields(&"a".repeat(MAX_MESSAGE_BYTES))).is_ok());
        assert_eq!(
            message_of(check_publish(&fields(&"a".repeat(MAX_MESSAGE_BYTES + 1)))),
            "Invalid parameter: Message too long"
        );
        assert!(check_publish(&fields(&"é".repeat(MAX_MESSAGE_BYTES / 2))).is_ok());
        assert!(check_publish(&fields(&format!("a{}", "é".repeat(MAX_MESSAGE_BYTES / 2)))).is_err());
    }

    #[test]
    fn subjects() {
        let subject = |s: &str| {
            check_publish(&PublishFields {
                subject: Some(s.to_string()),
                ..fields("m")
            })
        };
        assert!(subject(&"s".repeat(100)).is_ok());
        assert!(subject(&"é".repeat(100)).is_ok(), "100 characters, UTF-8");
        assert!(subject("Re: [x] ¡ok! ~ punctuation & spaces").is_ok());
        for bad in [
            String::new(),
            "s".repeat(101),
            "a\nb".into(),
            "a\rb".into(),
            "a\tb".into(),
            "a\u{7f}".into(),
        ] {
            assert_eq!(message_of(subject(&bad)), "Invalid parameter: Subject", "{bad:?}");
        }
    }

    #[test]
    fn structure_and_fifo_ids() {
        let with = |f: PublishFields| check_publish(&f);
        assert!(with(PublishFields {
            message_structure: Some("json".into()),
            ..fields("m")
        })
        .is_ok());
        for bad in ["JSON", "xml", ""] {
            assert_eq!(
                message_of(with(PublishFields {
                    message_structure: Some(bad.into()),
                    ..fields("m")
                })),
                "Invalid parameter: MessageStructure"
            );
        }
        let punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
        for ok in ["g".repeat(128), punctuation.to_string(), "a1".into()] {
            assert!(with(PublishFields {
                message_group_id: Some(ok.clone()),
                message_deduplication_id: Some(ok.clone()),
                ..fields("m")
            })
            .is_ok());
        }
        for bad in ["g".repeat(129), String::new(), "a b".into(), "é".into()] {
            let err = with(PublishFields {
                message_group_id: Some(bad.clone()),
                ..fields("m")
            })
            .expect_err(&bad);
            assert!(
                err.message.starts_with("Invalid parameter: MessageGroupId Reason:"),
                "{}",
                err.message
            );
            let err = with(PublishFields {
                message_deduplication_id: Some(bad.clone()),
                ..fields("m")
            })
            .expect_err(&bad);
            assert!(
                err.message.starts_with("Invalid parameter: MessageDeduplicationId"),
                "{}",
                err.message
            );
        }
    }

    #[test]
    fn sizes_count_attributes() {
        let mut f = fields("abc");
        f.message_attributes.insert(
            "name".into(),
            MessageAttributeValue {
                data_type: "String".into(),
                string_value: Some("value".into()),
                binary_value: None,
            },
        );
        f.message_attributes.insert(
            "b".into(),
            MessageAttributeValue {
                data_type: "Binary".into(),
                string_value: None,
                binary_value: Some(vec![0; 7]),
            },
        );
        assert_eq!(message_size(&f), 3 + (4 + 6 + 5) + (1 + 6 + 7));
    }

    fn string_attr(data_type: &str, value: &str) -> MessageAttributeValue {
        MessageAttributeValue {
            data_type: data_type.into(),
            string_value: Some(value.into()),
            binary_value: None,
        }
    }

    fn attr_result(name: &str, attr: MessageAttributeValue) -> Result<(), SnsError> {
        check_message_attributes(&MessageAttributeMap::from([(name.to_string(), attr)]))
    }

    #[test]
    fn attribute_names() {
        for ok in ["a", "a.b-c_D9", &"n".repeat(256), "AWS.SNS.SMS.SMSType", "amazon.x"] {
            assert!(attr_result(ok, string_attr("String", "v")).is_ok(), "{ok}");
        }
        // AWS's messages (LocalStack's AWS-validated snapshot test of wrong attributes).
        for (name, message) in [
            ("", "The request must contain non-empty message attribute name."),
            (&"a".repeat(257), "Length of message attribute name must be less than 256 bytes."),
            (".abc", "Invalid message attribute name starting with character '.' was found."),
            ("abc.", "Invalid message attribute name ending with character '.' was found."),
            ("a..bc", "Message attribute name can not have successive '.' character."),
            (
                "a^*?",
                "Invalid non-alphanumeric character '#x5E' was found in the message attribute name. Can only include alphanumeric characters, hyphens, underscores, or dots.",
            ),
            (
                "a b",
                "Invalid non-alphanumeric character '#x20' was found in the message attribute name. Can only include alphanumeric characters, hyphens, underscores, or dots.",
            ),
        ] {
            let err = attr_result(name, string_attr("String", "v")).expect_err(name);
            assert_eq!((err.code, err.message.as_str()), (SnsErrorCode::ParameterValueInvalid, message));
        }
    }

    #[test]
    fn attribute_types_and_values() {
        let binary = |value: Option<&[u8]>, string: Option<&str>| MessageAttributeValue {
            data_type: "Binary".into(),
            string_value: string.map(str::to_string),
            binary_value: value.map(<[u8]>::to_vec),
        };
        for (data_type, value) in [
            ("String", "x"),
            ("String.Array", r#"["a", 1, 2.5, true, null]"#),
            ("String.Array", "[]"),
            ("String.custom", "anything"),
            ("String.  prefixed.", "x"),
            ("Number", "-1.5e3"),
            ("Number.float", "7"),
        ] {
            assert!(
                attr_result("a", string_attr(data_type, value)).is_ok(),
                "{data_type} {value}"
            );
        }
        assert!(attr_result("b", binary(Some(&[0]), None)).is_ok());
        assert!(attr_result(
            "b",
            MessageAttributeValue {
                data_type: "Binary.jpeg".into(),
                ..binary(Some(&[1, 2]), None)
            }
        )
        .is_ok());
        let cases: [(MessageAttributeValue, &str); 10] = [
            (
                string_attr("InvalidType", "123"),
                "The message attribute 'a' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.",
            ),
            (
                string_attr("String.", "x"),
                "The message attribute 'a' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.",
            ),
            (
                string_attr("Stringprefixed", "x"),
                "The message attribute 'a' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.",
            ),
            (
                string_attr("String", ""),
                "The message attribute 'a' must contain non-empty message attribute value for message attribute type 'String'.",
            ),
            (
                binary(Some(&[]), None),
                "The message attribute 'a' must contain non-empty message attribute value for message attribute type 'Binary'.",
            ),
            (
                binary(None, None),
                "The message attribute 'a' must contain non-empty message attribute value for message attribute type 'Binary'.",
            ),
            (binary(None, Some("123")), "The message attribute 'a' with type 'Binary' must use field 'Binary'."),
            (
                MessageAttributeValue {
                    data_type: "Number".into(),
                    ..binary(Some(b"123"), None)
                },
                "The message attribute 'a' with type 'Number' must use field 'String'.",
            ),
            (string_attr("Number", "abc"), "Could not cast message attribute 'a' value to number."),
            (
                string_attr("String.Array", r#"[["nested"]]"#),
                "The message attribute 'a' with type 'String.Array' must be a JSON array of strings, numbers, booleans or nulls.",
            ),
        ];
        for (attr, message) in cases {
            let err = attr_result("a", attr.clone()).expect_err(message);
            assert_eq!(
                (err.code, err.message.as_str()),
                (SnsErrorCode::ParameterValueInvalid, message),
                "{attr:?}"
            );
        }
        for bad in ["notjson", r#"{"a":1}"#, r#"[{"a":1}]"#, "\"a\""] {
            assert!(attr_result("a", string_attr("String.Array", bad)).is_err(), "{bad}");
        }
    }

    fn entry(id: &str, message: &str) -> PublishBatchEntry {
        PublishBatchEntry {
            id: id.into(),
            fields: fields(message),
        }
    }

    #[test]
    fn batches() {
        let ten: Vec<PublishBatchEntry> = (0..10).map(|i| entry(&format!("e{i}"), "m")).collect();
        assert!(check_batch(&ten).is_ok());
        let code = |entries: &[PublishBatchEntry]| check_batch(entries).expect_err("refused").code;
        assert_eq!(code(&[]), SnsErrorCode::EmptyBatchRequest);
        let eleven: Vec<PublishBatchEntry> = (0..11).map(|i| entry(&format!("e{i}"), "m")).collect();
        assert_eq!(code(&eleven), SnsErrorCode::TooManyEntriesInBatchRequest);
        // Distinct ids are checked before their format, as on AWS.
        assert_eq!(
            code(&[entry("a b", "m"), entry("a b", "m")]),
            SnsErrorCode::BatchEntryIdsNotDistinct
        );
        assert_eq!(
            code(&[entry("ok", "m"), entry("a b", "m")]),
            SnsErrorCode::InvalidBatchEntryId
        );
        // The total counts every entry; each entry's own message rules are not checked here.
        let half = "a".repeat(MAX_MESSAGE_BYTES / 2);
        assert!(check_batch(&[entry("a", &half), entry("b", &half), entry("c", "")]).is_ok());
        assert_eq!(
            code(&[entry("a", &half), entry("b", &half), entry("c", "x")]),
            SnsErrorCode::BatchRequestTooLong
        );
        let mut bad_attribute = entry("c", "m");
        bad_attribute
            .fields
            .message_attributes
            .insert("a".into(), string_attr("Number", "x"));
        assert_eq!(
            code(&[entry("a", "m"), bad_attribute]),
            SnsErrorCode::ParameterValueInvalid
        );
    }

    fn tag(key: &str, value: &str) -> (String, String) {
        (key.to_string(), value.to_string())
    }

    #[test]
    fn tags() {
        assert!(check_tags(&[tag(&"k".repeat(128), &"v".repeat(256)), tag("k2", "")]).is_ok());
        let fifty: Vec<(String, String)> = (0..50).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert!(check_tags(&fifty).is_ok());
        let fifty_one: Vec<(String, String)> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
        let err = check_tags(&fifty_one).unwrap_err();
        assert_eq!(
            (err.code, err.message.as_str()),
            (
                SnsErrorCode::TagLimitExceeded,
                "Could not complete request: tag quota of per resource exceeded"
            )
        );
        let err = check_tags(&[tag("ok", "v"), tag(&"k".repeat(129), "v")]).unwrap_err();
        assert_eq!(err.code, SnsErrorCode::ValidationError);
        assert_eq!(
            err.message,
            format!("1 validation error detected: Value '{}' at 'tags.2.member.key' failed to satisfy constraint: Member must have length less than or equal to 128", "k".repeat(129))
        );
        let err = check_tags(&[tag("", "v")]).unwrap_err();
        assert_eq!(
            err.message,
            "1 validation error detected: Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
        assert!(check_tags(&[tag("k", &"v".repeat(257))])
            .unwrap_err()
            .message
            .contains("'tags.1.member.value'"));
        assert_eq!(
            check_tags(&[tag("aws:x", "v")]).unwrap_err().code,
            SnsErrorCode::InvalidParameter
        );
        assert_eq!(
            check_tags(&[tag("k", "1"), tag("k", "2")]).unwrap_err().message,
            "Invalid parameter: Duplicated keys are not allowed."
        );
        assert!(check_tag_keys(&["k".repeat(128)]).is_ok());
        assert!(check_tag_keys(&[String::new()]).is_err());
    }
}
