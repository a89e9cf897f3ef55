//! Request validation shared by both SQS codecs.
//!
//! [`validate`] runs the request-level rules and is called by
//! [`super::json::decode_json`] and [`super::query::decode_query`], so a handler
//! only ever sees requests that pass them:
//! - required members (`MissingParameter`, "The request must contain the parameter X.");
//! - batch shape: 1..=10 entries, ids `[A-Za-z0-9_-]{1,80}`, distinct;
//! - ranges: `MaxNumberOfMessages` 1..=10, `WaitTimeSeconds` 0..=20,
//!   `VisibilityTimeout` 0..=43200, `DelaySeconds` 0..=900, `MaxResults`;
//! - message contents of `SendMessage`: non-empty body of XML-legal characters,
//!   at most 10 well-formed message attributes, only `AWSTraceHeader` as a system
//!   attribute.
//!
//! Batch *entries* are checked separately with [`send_message_batch_entry`],
//! [`change_message_visibility_batch_entry`] and [`delete_message_batch_entry`]
//! (or all at once with [`batch_entry_errors`]): AWS fails a bad entry alone and
//! reports it under `Failed`, while the other entries still run.
//!
//! Limits that depend on the queue (maximum message size, FIFO rules) belong to the
//! core, not here. Messages mirror AWS's wording where it is known.

use std::collections::HashSet;

use crate::number::is_number;

use super::error::{SqsError, SqsErrorCode};
use super::types::*;

/// Most entries in one batch request.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// Longest batch entry id.
pub const MAX_BATCH_ID_LEN: usize = 80;
/// Most message attributes on one message.
pub const MAX_MESSAGE_ATTRIBUTES: usize = 10;
/// Longest message attribute name (and data type).
pub const MAX_ATTRIBUTE_NAME_LEN: usize = 256;
/// Longest visibility timeout, 12 hours.
pub const MAX_VISIBILITY_TIMEOUT: i32 = 43_200;
/// Longest long-poll wait.
pub const MAX_WAIT_TIME_SECONDS: i32 = 20;
/// Longest per-message delay.
pub const MAX_DELAY_SECONDS: i32 = 900;
/// Most messages per receive.
pub const MAX_RECEIVE_MESSAGES: i32 = 10;

const ALLOWED_CHARS: &str = "#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]";

/// Largest total payload of one SendMessageBatch.
pub const MAX_BATCH_PAYLOAD_BYTES: usize = 1_048_576;

/// Runs the request-level rules for `req`.
pub fn validate(req: &SqsRequest) -> Result<(), SqsError> {
    match req {
        SqsRequest::AddPermission(i) => {
            require_str("Label", &i.label)?;
            if i.aws_account_ids.is_empty() {
                return Err(SqsError::missing_parameter("AWSAccountIds"));
            }
            if i.actions.is_empty() {
                return Err(SqsError::missing_parameter("Actions"));
            }
            Ok(())
        }
        SqsRequest::CancelMessageMoveTask(i) => require_str("TaskHandle", &i.task_handle),
        SqsRequest::ChangeMessageVisibility(i) => {
            require_str("ReceiptHandle", &i.receipt_handle)?;
            visibility_timeout(i.visibility_timeout)
        }
        SqsRequest::ChangeMessageVisibilityBatch(i) => batch_ids(
            "ChangeMessageVisibilityBatchRequestEntry",
            i.entries.iter().map(|e| e.id.as_str()),
        ),
        SqsRequest::CreateQueue(i) => queue_name(&i.queue_name),
        SqsRequest::DeleteMessage(i) => require_str("ReceiptHandle", &i.receipt_handle),
        SqsRequest::DeleteMessageBatch(i) => batch_ids(
            "DeleteMessageBatchRequestEntry",
            i.entries.iter().map(|e| e.id.as_str()),
        ),
        SqsRequest::DeleteQueue(_)
        | SqsRequest::GetQueueAttributes(_)
        | SqsRequest::ListQueueTags(_)
        | SqsRequest::PurgeQueue(_) => Ok(()),
        SqsRequest::GetQueueUrl(i) => queue_name(&i.queue_name),
        SqsRequest::ListDeadLetterSourceQueues(i) => max_results(i.max_results, 1000),
        SqsRequest::ListMessageMoveTasks(i) => {
            require_str("SourceArn", &i.source_arn)?;
            max_results(i.max_results, 10)
        }
        SqsRequest::ListQueues(i) => max_results(i.max_results, 1000),
        SqsRequest::ReceiveMessage(i) => receive_message(i),
        SqsRequest::RemovePermission(i) => require_str("Label", &i.label),
        SqsRequest::SendMessage(i) => {
            message_body(&i.message_body)?;
            if let Some(d) = i.delay_seconds {
                delay_seconds(d)?;
            }
            message_attributes(&i.message_attributes)?;
            message_system_attributes(&i.message_system_attributes)
        }
        SqsRequest::SendMessageBatch(i) => {
            batch_ids("SendMessageBatchRequestEntry", i.entries.iter().map(|e| e.id.as_str()))?;
            // The whole batch counts against the same 1 MiB as one message (SendMessageBatch
            // API reference: "the total size of all the messages ... is 1,048,576 bytes").
            let total: usize = i
                .entries
                .iter()
                .map(|e| message_size(&e.message_body, &e.message_attributes))
                .sum();
            if total > MAX_BATCH_PAYLOAD_BYTES {
                return Err(SqsError::new(
                    SqsErrorCode::BatchRequestTooLong,
                    format!(
                        "Batch requests cannot be longer than {MAX_BATCH_PAYLOAD_BYTES} bytes. You have sent {total} bytes."
                    ),
                ));
            }
            Ok(())
        }
        SqsRequest::SetQueueAttributes(i) => {
            if i.attributes.is_empty() {
                return Err(SqsError::missing_parameter("Attributes"));
            }
            Ok(())
        }
        SqsRequest::StartMessageMoveTask(i) => {
            require_str("SourceArn", &i.source_arn)?;
            match i.max_number_of_messages_per_second {
                Some(n) if !(1..=500).contains(&n) => Err(SqsError::invalid_value(
                    "MaxNumberOfMessagesPerSecond",
                    n,
                    "Must be between 1 and 500, if provided.",
                )),
                _ => Ok(()),
            }
        }
        SqsRequest::TagQueue(i) => {
            if i.tags.is_empty() {
                return Err(SqsError::missing_parameter("Tags"));
            }
            Ok(())
        }
        SqsRequest::UntagQueue(i) => {
            if i.tag_keys.is_empty() {
                return Err(SqsError::missing_parameter("TagKeys"));
            }
            Ok(())
        }
    }
}

/// Checks one `SendMessageBatch` entry; an error fails only this entry.
pub fn send_message_batch_entry(entry: &SendMessageBatchRequestEntry) -> Result<(), SqsError> {
    message_body(&entry.message_body)?;
    if let Some(d) = entry.delay_seconds {
        delay_seconds(d)?;
    }
    message_attributes(&entry.message_attributes)?;
    message_system_attributes(&entry.message_system_attributes)
}

/// Checks one `ChangeMessageVisibilityBatch` entry; an error fails only this entry.
pub fn change_message_visibility_batch_entry(entry: &ChangeMessageVisibilityBatchRequestEntry) -> Result<(), SqsError> {
    require_str("ReceiptHandle", &entry.receipt_handle)?;
    match entry.visibility_timeout {
        Some(v) => visibility_timeout(v),
        None => Err(SqsError::missing_parameter("VisibilityTimeout")),
    }
}

/// Checks one `DeleteMessageBatch` entry; an error fails only this entry.
pub fn delete_message_batch_entry(entry: &DeleteMessageBatchRequestEntry) -> Result<(), SqsError> {
    require_str("ReceiptHandle", &entry.receipt_handle)
}

/// Entry-level errors of a batch request, by entry index; empty for other actions.
pub fn batch_entry_errors(req: &SqsRequest) -> Vec<(usize, SqsError)> {
    let mut out = Vec::new();
    match req {
        SqsRequest::SendMessageBatch(i) => {
            for (n, e) in i.entries.iter().enumerate() {
                if let Err(err) = send_message_batch_entry(e) {
                    out.push((n, err));
                }
            }
        }
        SqsRequest::ChangeMessageVisibilityBatch(i) => {
            for (n, e) in i.entries.iter().enumerate() {
                if let Err(err) = change_message_visibility_batch_entry(e) {
                    out.push((n, err));
                }
            }
        }
        SqsRequest::DeleteMessageBatch(i) => {
            for (n, e) in i.entries.iter().enumerate() {
                if let Err(err) = delete_message_batch_entry(e) {
                    out.push((n, err));
                }
            }
        }
        _ => {}
    }
    out
}

/// The size AWS counts against a queue's maximum message size: the body plus, for
/// each message attribute, its name, data type and value, all in bytes.
pub fn message_size(body: &str, attributes: &MessageAttributeMap) -> usize {
    let mut size = body.len();
    for (name, value) in attributes {
        size += name.len() + value.data_type.len();
        size += value.string_value.as_ref().map_or(0, String::len);
        size += value.binary_value.as_ref().map_or(0, Vec::len);
    }
    size
}

fn require_str(name: &str, value: &str) -> Result<(), SqsError> {
    if value.is_empty() {
        return Err(SqsError::missing_parameter(name));
    }
    Ok(())
}

fn queue_name(name: &str) -> Result<(), SqsError> {
    // AWS answers a missing QueueName with InvalidParameterValue, not
    // MissingParameter (recorded for GetQueueUrl). The name's own rules (length,
    // characters, `.fifo`) are the core's, next to the FifoQueue attribute.
    if name.is_empty() {
        return Err(SqsError::invalid_parameter(
            "Value for parameter QueueName is invalid. Reason: Must specify a queue name.",
        ));
    }
    Ok(())
}

fn max_results(value: Option<i32>, max: i32) -> Result<(), SqsError> {
    match value {
        Some(n) if n < 1 || n > max => Err(SqsError::invalid_value(
            "MaxResults",
            n,
            &format!("MaxResults must be an integer between 1 and {max}."),
        )),
        _ => Ok(()),
    }
}

fn visibility_timeout(v: i32) -> Result<(), SqsError> {
    if !(0..=MAX_VISIBILITY_TIMEOUT).contains(&v) {
        return Err(SqsError::invalid_value(
            "VisibilityTimeout",
            v,
            "Must be >= 0 and <= 43200, if provided.",
        ));
    }
    Ok(())
}

fn delay_seconds(d: i32) -> Result<(), SqsError> {
    if !(0..=MAX_DELAY_SECONDS).contains(&d) {
        return Err(SqsError::invalid_value(
            "DelaySeconds",
            d,
            "DelaySeconds must be >= 0 and <= 900.",
        ));
    }
    Ok(())
}

fn receive_message(i: &ReceiveMessageInput) -> Result<(), SqsError> {
    if let Some(n) = i.max_number_of_messages {
        if !(1..=MAX_RECEIVE_MESSAGES).contains(&n) {
            return Err(SqsError::invalid_value(
                "MaxNumberOfMessages",
                n,
                "Must be between 1 and 10, if provided.",
            ));
        }
    }
    if let Some(w) = i.wait_time_seconds {
        if !(0..=MAX_WAIT_TIME_SECONDS).contains(&w) {
            return Err(SqsError::invalid_value(
                "WaitTimeSeconds",
                w,
                "Must be >= 0 and <= 20, if provided.",
            ));
        }
    }
    if let Some(v) = i.visibility_timeout {
        visibility_timeout(v)?;
    }
    Ok(())
}

fn batch_ids<'a>(entry_name: &str, ids: impl ExactSizeIterator<Item = &'a str>) -> Result<(), SqsError> {
    let count = ids.len();
    if count == 0 {
        return Err(SqsError::new(
            SqsErrorCode::EmptyBatchRequest,
            format!("There should be at least one {entry_name} in the request."),
        ));
    }
    if count > MAX_BATCH_ENTRIES {
        return Err(SqsError::new(
            SqsErrorCode::TooManyEntriesInBatchRequest,
            format!("Maximum number of entries per request are 10. You have sent {count}."),
        ));
    }
    let mut seen = HashSet::with_capacity(count);
    for id in ids {
        if !valid_batch_id(id) {
            return Err(SqsError::new(
                SqsErrorCode::InvalidBatchEntryId,
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            ));
        }
        if !seen.insert(id) {
            return Err(SqsError::new(
                SqsErrorCode::BatchEntryIdsNotDistinct,
                format!("Id {id} repeated."),
            ));
        }
    }
    Ok(())
}

/// Whether `id` is a valid batch entry id: 1 to 80 of `[A-Za-z0-9_-]`.
pub fn valid_batch_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_BATCH_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The first character outside the XML 1.0 set SQS accepts, if any.
pub fn first_invalid_char(text: &str) -> Option<char> {
    text.chars().find(|&c| {
        let n = c as u32;
        !(n == 0x9
            || n == 0xA
            || n == 0xD
            || (0x20..=0xD7FF).contains(&n)
            || (0xE000..=0xFFFD).contains(&n)
            || (0x10000..=0x10FFFF).contains(&n))
    })
}

fn message_body(body: &str) -> Result<(), SqsError> {
    if body.is_empty() {
        return Err(SqsError::missing_parameter("MessageBody"));
    }
    if let Some(c) = first_invalid_char(body) {
        return Err(SqsError::new(
            SqsErrorCode::InvalidMessageContents,
            format!(
                "Invalid binary character '#x{:X}' was found in the message body, the set of allowed characters is {ALLOWED_CHARS}.",
                c as u32
            ),
        ));
    }
    Ok(())
}

/// Checks message attributes as `SendMessage` does.
pub fn message_attributes(attrs: &MessageAttributeMap) -> Result<(), SqsError> {
    if attrs.len() > MAX_MESSAGE_ATTRIBUTES {
        return Err(SqsError::invalid_parameter(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [{MAX_MESSAGE_ATTRIBUTES}].",
            attrs.len()
        )));
    }
    for (name, value) in attrs {
        attribute_name(name)?;
        attribute_value(name, value)?;
    }
    Ok(())
}

fn attribute_name(name: &str) -> Result<(), SqsError> {
    let invalid = |reason: &str| {
        Err(SqsError::invalid_parameter(format!(
            "The message attribute name '{name}' is invalid. {reason}"
        )))
    };
    if name.is_empty() {
        return Err(SqsError::invalid_parameter(
            "The request must contain non-empty message attribute name.",
        ));
    }
    if name.chars().count() > MAX_ATTRIBUTE_NAME_LEN {
        return invalid("Attribute name must be 256 characters or fewer.");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
    {
        return invalid(
            "Attribute name can contain A-Z, a-z, 0-9, underscore (_), hyphen (-), and period (.) characters.",
        );
    }
    if name.starts_with('.') || name.ends_with('.') || name.contains("..") {
        return invalid(
            "Attribute name cannot start or end with a period (.), or have multiple periods in succession.",
        );
    }
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("aws.") || lower.starts_with("amazon.") {
        return invalid("Attribute name cannot start with the reserved prefixes AWS. or Amazon.");
    }
    Ok(())
}

/// The base type of a data type (`String`, `Number`, `Binary`), if it is valid.
pub fn base_data_type(data_type: &str) -> Option<&'static str> {
    let (base, label) = match data_type.split_once('.') {
        Some((b, l)) => (b, Some(l)),
        None => (data_type, None),
    };
    let base = match base {
        "String" => "String",
        "Number" => "Number",
        "Binary" => "Binary",
        _ => return None,
    };
    if let Some(label) = label {
        let ok = !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
        if !ok {
            return None;
        }
    }
    Some(base)
}

fn attribute_value(name: &str, value: &MessageAttributeValue) -> Result<(), SqsError> {
    if !value.string_list_values.is_empty() || !value.binary_list_values.is_empty() {
        // The model carries list values but AWS marks them "not implemented".
        return Err(SqsError::new(
            SqsErrorCode::UnsupportedOperation,
            "Message attribute list values in SendMessage operation are not supported.",
        ));
    }
    let data_type = &value.data_type;
    if data_type.is_empty() {
        return Err(SqsError::invalid_parameter(format!(
            "The message attribute '{name}' must contain non-empty message attribute type."
        )));
    }
    if data_type.chars().count() > MAX_ATTRIBUTE_NAME_LEN {
        return Err(SqsError::invalid_parameter(format!(
            "The message attribute '{name}' has a message attribute type longer than 256 characters."
        )));
    }
    let Some(base) = base_data_type(data_type) else {
        return Err(SqsError::invalid_parameter(format!(
            "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
        )));
    };
    let empty_value = || {
        Err(SqsError::invalid_parameter(format!(
            "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{data_type}'."
        )))
    };
    if base == "Binary" {
        if value.string_value.is_some() {
            return Err(SqsError::invalid_parameter(format!(
                "The message attribute '{name}' with type 'Binary' must use field 'Binary'."
            )));
        }
        return match &value.binary_value {
            Some(b) if !b.is_empty() => Ok(()),
            _ => empty_value(),
        };
    }
    if value.binary_value.is_some() {
        return Err(SqsError::invalid_parameter(format!(
            "The message attribute '{name}' with type '{base}' must use field 'String'."
        )));
    }
    let text = match &value.string_value {
        Some(s) if !s.is_empty() => s,
        _ => return empty_value(),
    };
    if let Some(c) = first_invalid_char(text) {
        return Err(SqsError::new(
            SqsErrorCode::InvalidMessageContents,
            format!(
                "Invalid binary character '#x{:X}' was found in the value of message attribute '{name}', the set of allowed characters is {ALLOWED_CHARS}.",
                c as u32
            ),
        ));
    }
    if base == "Number" && !is_number(text) {
        return Err(SqsError::invalid_parameter(format!(
            "Can't convert '{text}' to a number for message attribute '{name}'."
        )));
    }
    Ok(())
}

/// Checks message system attributes: only `AWSTraceHeader`, of type `String`.
pub fn message_system_attributes(
    attrs: &std::collections::BTreeMap<String, MessageSystemAttributeValue>,
) -> Result<(), SqsError> {
    for (name, value) in attrs {
        if name != "AWSTraceHeader" {
            return Err(SqsError::invalid_parameter(format!(
                "Message system attribute name '{name}' is invalid."
            )));
        }
        if value.data_type != "String" {
            return Err(SqsError::invalid_parameter(format!(
                "Message system attribute '{name}' must have data type String."
            )));
        }
        match &value.string_value {
            Some(s) if !s.is_empty() => {
                if first_invalid_char(s).is_some() {
                    return Err(SqsError::new(
                        SqsErrorCode::InvalidMessageContents,
                        format!("Message system attribute '{name}' contains invalid characters."),
                    ));
                }
            }
            _ => {
                return Err(SqsError::invalid_parameter(format!(
                    "Message system attribute '{name}' must contain a non-empty value of message system attribute type 'String'."
                )))
            }
        }
        if value.binary_value.is_some() || !value.string_list_values.is_empty() || !value.binary_list_values.is_empty()
        {
            return Err(SqsError::invalid_parameter(format!(
                "Message system attribute '{name}' with type 'String' must use field 'String'."
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(body: &str) -> SendMessageInput {
        SendMessageInput {
            queue_url: Some("http://h/0/q".into()),
            message_body: body.into(),
            ..Default::default()
        }
    }

    fn code_of(r: Result<(), SqsError>) -> Option<SqsErrorCode> {
        r.err().map(|e| e.code)
    }

    #[test]
    fn message_body_rules() {
        let ok = validate(&SqsRequest::SendMessage(send("héllo\t\n\r 😀")));
        assert_eq!(ok, Ok(()));
        let err = validate(&SqsRequest::SendMessage(send(""))).err();
        assert_eq!(
            err.map(|e| (e.code, e.message)),
            Some((
                SqsErrorCode::MissingParameter,
                "The request must contain the parameter MessageBody.".to_string()
            ))
        );
        let err = validate(&SqsRequest::SendMessage(send("a\u{7}b"))).err();
        assert_eq!(
            err.map(|e| (e.code, e.message)),
            Some((
                SqsErrorCode::InvalidMessageContents,
                "Invalid binary character '#x7' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].".to_string()
            ))
        );
        for bad in ["\u{0}", "\u{B}", "\u{1F}", "\u{FFFE}", "\u{FFFF}"] {
            assert!(first_invalid_char(bad).is_some(), "{bad:?}");
        }
        for good in ["\u{D7FF}", "\u{E000}", "\u{FFFD}", "\u{10000}", "\u{10FFFF}"] {
            assert_eq!(first_invalid_char(good), None, "{good:?}");
        }
    }

    #[test]
    fn delay_range() {
        let mut i = send("x");
        i.delay_seconds = Some(900);
        assert_eq!(validate(&SqsRequest::SendMessage(i.clone())), Ok(()));
        i.delay_seconds = Some(901);
        assert_eq!(
            code_of(validate(&SqsRequest::SendMessage(i.clone()))),
            Some(SqsErrorCode::InvalidParameterValue)
        );
        i.delay_seconds = Some(-1);
        assert!(validate(&SqsRequest::SendMessage(i)).is_err());
    }

    #[test]
    fn receive_ranges() {
        let rx = |m: Option<i32>, w: Option<i32>, v: Option<i32>| {
            validate(&SqsRequest::ReceiveMessage(ReceiveMessageInput {
                max_number_of_messages: m,
                wait_time_seconds: w,
                visibility_timeout: v,
                ..Default::default()
            }))
        };
        assert_eq!(rx(Some(1), Some(0), Some(0)), Ok(()));
        assert_eq!(rx(Some(10), Some(20), Some(43_200)), Ok(()));
        assert_eq!(rx(None, None, None), Ok(()));
        let err = rx(Some(11), None, None).err();
        assert_eq!(
            err.map(|e| e.message),
            Some(
                "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
                    .to_string()
            )
        );
        assert!(rx(Some(0), None, None).is_err());
        assert!(rx(None, Some(21), None).is_err());
        assert!(rx(None, Some(-1), None).is_err());
        assert!(rx(None, None, Some(43_201)).is_err());
        assert!(rx(None, None, Some(-1)).is_err());
    }

    #[test]
    fn change_visibility_range() {
        let cv = |v| {
            validate(&SqsRequest::ChangeMessageVisibility(ChangeMessageVisibilityInput {
                queue_url: None,
                receipt_handle: "rh".into(),
                visibility_timeout: v,
            }))
        };
        assert_eq!(cv(0), Ok(()));
        assert_eq!(cv(43_200), Ok(()));
        assert_eq!(code_of(cv(43_201)), Some(SqsErrorCode::InvalidParameterValue));
    }

    #[test]
    fn batch_rules() {
        let batch = |ids: &[&str]| {
            validate(&SqsRequest::DeleteMessageBatch(DeleteMessageBatchInput {
                queue_url: None,
                entries: ids
                    .iter()
                    .map(|id| DeleteMessageBatchRequestEntry {
                        id: id.to_string(),
                        receipt_handle: "rh".into(),
                    })
                    .collect(),
            }))
        };
        assert_eq!(batch(&["a", "B-1", "c_2"]), Ok(()));
        assert_eq!(code_of(batch(&[])), Some(SqsErrorCode::EmptyBatchRequest));
        let eleven: Vec<String> = (0..11).map(|n| n.to_string()).collect();
        let eleven: Vec<&str> = eleven.iter().map(String::as_str).collect();
        let err = batch(&eleven).err();
        assert_eq!(
            err.as_ref().map(|e| e.code),
            Some(SqsErrorCode::TooManyEntriesInBatchRequest)
        );
        assert_eq!(
            err.map(|e| e.message),
            Some("Maximum number of entries per request are 10. You have sent 11.".to_string())
        );
        assert_eq!(
            code_of(batch(&["a", "a"])),
            Some(SqsErrorCode::BatchEntryIdsNotDistinct)
        );
        assert_eq!(code_of(batch(&["a b"])), Some(SqsErrorCode::InvalidBatchEntryId));
        assert_eq!(code_of(batch(&[""])), Some(SqsErrorCode::InvalidBatchEntryId));
        let long = "x".repeat(81);
        assert_eq!(code_of(batch(&[&long])), Some(SqsErrorCode::InvalidBatchEntryId));
        assert_eq!(batch(&[&"x".repeat(80)]), Ok(()));
    }

    #[test]
    fn batch_entries_fail_alone() {
        let req = SqsRequest::SendMessageBatch(SendMessageBatchInput {
            queue_url: None,
            entries: vec![
                SendMessageBatchRequestEntry {
                    id: "ok".into(),
                    message_body: "fine".into(),
                    ..Default::default()
                },
                SendMessageBatchRequestEntry {
                    id: "bad".into(),
                    message_body: "\u{1}".into(),
                    ..Default::default()
                },
            ],
        });
        assert_eq!(validate(&req), Ok(()));
        let errs = batch_entry_errors(&req);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].0, 1);
        assert_eq!(errs[0].1.code, SqsErrorCode::InvalidMessageContents);

        let entry = ChangeMessageVisibilityBatchRequestEntry {
            id: "a".into(),
            receipt_handle: "rh".into(),
            visibility_timeout: None,
        };
        assert!(change_message_visibility_batch_entry(&entry).is_err());
    }

    #[test]
    fn attribute_rules() {
        let check = |name: &str, v: MessageAttributeValue| {
            let mut attrs = MessageAttributeMap::new();
            attrs.insert(name.to_string(), v);
            message_attributes(&attrs)
        };
        assert_eq!(check("a.b-c_D9", MessageAttributeValue::string("x")), Ok(()));
        assert_eq!(check("n", MessageAttributeValue::number("-1.5e3")), Ok(()));
        assert_eq!(check("b", MessageAttributeValue::binary(vec![1])), Ok(()));
        let mut custom = MessageAttributeValue::string("{}");
        custom.data_type = "String.json".into();
        assert_eq!(check("c", custom), Ok(()));

        for bad in [
            "",
            ".a",
            "a.",
            "a..b",
            "AWS.x",
            "amazon.x",
            "a b",
            "ä",
            &"x".repeat(257),
        ] {
            assert!(check(bad, MessageAttributeValue::string("x")).is_err(), "{bad:?}");
        }
        let mut t = MessageAttributeValue::string("x");
        t.data_type = "Text".into();
        assert!(check("a", t).is_err());
        let mut t = MessageAttributeValue::string("x");
        t.data_type = "String.".into();
        assert!(check("a", t).is_err());
        assert!(check("a", MessageAttributeValue::number("12abc")).is_err());
        assert!(check("a", MessageAttributeValue::number("")).is_err());
        assert!(check("a", MessageAttributeValue::string("")).is_err());
        assert!(check("a", MessageAttributeValue::binary(Vec::new())).is_err());
        let mut wrong = MessageAttributeValue::binary(vec![1]);
        wrong.string_value = Some("x".into());
        assert!(check("a", wrong).is_err());
        assert_eq!(
            check("a", MessageAttributeValue::string("\u{0}")).err().map(|e| e.code),
            Some(SqsErrorCode::InvalidMessageContents)
        );
        let mut list = MessageAttributeValue::string("x");
        list.string_list_values = vec!["y".into()];
        assert_eq!(
            check("a", list).err().map(|e| e.code),
            Some(SqsErrorCode::UnsupportedOperation)
        );

        let mut many = MessageAttributeMap::new();
        for n in 0..11 {
            many.insert(format!("a{n}"), MessageAttributeValue::string("x"));
        }
        assert!(message_attributes(&many).is_err());
    }

    #[test]
    fn system_attributes() {
        let mut attrs = std::collections::BTreeMap::new();
        attrs.insert(
            "AWSTraceHeader".to_string(),
            MessageAttributeValue::string("Root=1-5759e988-bd862e3fe1be46a994272793"),
        );
        assert_eq!(message_system_attributes(&attrs), Ok(()));
        attrs.insert("Other".to_string(), MessageAttributeValue::string("x"));
        assert!(message_system_attributes(&attrs).is_err());
        let mut attrs = std::collections::BTreeMap::new();
        attrs.insert("AWSTraceHeader".to_string(), MessageAttributeValue::number("1"));
        assert!(message_system_attributes(&attrs).is_err());
    }

    #[test]
    fn required_members() {
        let err = validate(&SqsRequest::DeleteMessage(DeleteMessageInput::default())).err();
        assert_eq!(
            err.map(|e| e.message),
            Some("The request must contain the parameter ReceiptHandle.".to_string())
        );
        assert_eq!(
            code_of(validate(&SqsRequest::GetQueueUrl(GetQueueUrlInput::default()))),
            Some(SqsErrorCode::InvalidParameterValue)
        );
        assert_eq!(
            code_of(validate(&SqsRequest::TagQueue(TagQueueInput::default()))),
            Some(SqsErrorCode::MissingParameter)
        );
        assert_eq!(
            code_of(validate(&SqsRequest::ListQueues(ListQueuesInput {
                max_results: Some(1001),
                ..Default::default()
            }))),
            Some(SqsErrorCode::InvalidParameterValue)
        );
    }
}
