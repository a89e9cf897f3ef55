//! The event documents Lambda hands to handlers, member for member as AWS sends them, and the
//! reading of a handler's partial-batch answer.
//!
//! - SQS: `{"Records": [{messageId, receiptHandle, body, attributes, messageAttributes,
//!   md5OfMessageAttributes, md5OfBody, eventSource: "aws:sqs", eventSourceARN, awsRegion}]}`;
//!   attribute values are strings, FIFO records add `SequenceNumber`, `MessageGroupId` and
//!   `MessageDeduplicationId`.
//! - Kinesis: `{"Records": [{kinesis: {kinesisSchemaVersion, partitionKey, sequenceNumber,
//!   data (base64), approximateArrivalTimestamp (seconds, three decimals)}, eventSource:
//!   "aws:kinesis", eventVersion, eventID: "{shard}:{sequence}", eventName, invokeIdentityArn,
//!   awsRegion, eventSourceARN}]}`. The timestamp is written with exactly three decimals: the
//!   `aws_lambda_events` crate misreads fewer.
//! - Partial failures: `{"batchItemFailures": [{"itemIdentifier": id}]}`, the message id
//!   (SQS) or sequence number (Kinesis) of each failed record.

use std::collections::{BTreeMap, HashSet};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use md5::{Digest, Md5};
use serde_json::{json, Map, Value};

use crate::queue::message::{MessageAttribute, ReceivedMessage};
use crate::stream::ReadRecord;

/// The role AWS reports as `invokeIdentityArn`; Sluice assumes no role.
const INVOKE_IDENTITY: &str = "arn:aws:iam::000000000000:role/sluice-event-source-mapping";

/// One SQS record of an event.
pub fn sqs_record(message: &ReceivedMessage, queue_arn: &str, region: &str) -> Value {
    let mut attributes = Map::new();
    attributes.insert(
        "ApproximateReceiveCount".into(),
        message.receive_count.to_string().into(),
    );
    attributes.insert("SentTimestamp".into(), message.sent_timestamp_ms.to_string().into());
    attributes.insert("SenderId".into(), message.sender_id.clone().into());
    attributes.insert(
        "ApproximateFirstReceiveTimestamp".into(),
        message.first_receive_timestamp_ms.to_string().into(),
    );
    if let Some(seq) = &message.sequence_number {
        attributes.insert("SequenceNumber".into(), seq.clone().into());
    }
    if let Some(group) = &message.group_id {
        attributes.insert("MessageGroupId".into(), group.clone().into());
    }
    if let Some(dedupe) = &message.deduplication_id {
        attributes.insert("MessageDeduplicationId".into(), dedupe.clone().into());
    }
    if let Some(trace) = message
        .system_attributes
        .get("AWSTraceHeader")
        .and_then(|a| a.string_value.clone())
    {
        attributes.insert("AWSTraceHeader".into(), trace.into());
    }
    let message_attributes: Map<String, Value> = message
        .attributes
        .iter()
        .map(|(name, a)| {
            let mut v = Map::new();
            if let Some(s) = &a.string_value {
                v.insert("stringValue".into(), s.clone().into());
            }
            if let Some(b) = &a.binary_value {
                v.insert("binaryValue".into(), STANDARD.encode(b).into());
            }
            v.insert("stringListValues".into(), json!([]));
            v.insert("binaryListValues".into(), json!([]));
            v.insert("dataType".into(), a.data_type.clone().into());
            (name.clone(), Value::Object(v))
        })
        .collect();
    json!({
        "messageId": message.message_id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfMessageAttributes": md5_of_attributes(&message.attributes),
        "md5OfBody": hex::encode(Md5::digest(message.body.as_bytes())),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    })
}

/// One Kinesis record of an event.
pub fn kinesis_record(record: &ReadRecord, shard_id: &str, stream_arn: &str, region: &str) -> KinesisRecord {
    KinesisRecord {
        kinesis: KinesisData {
            kinesis_schema_version: "1.0",
            partition_key: record.partition_key.clone(),
            sequence_number: record.sequence_number.clone(),
            data: STANDARD.encode(&record.data),
            approximate_arrival_timestamp: arrival_seconds(record.arrival_ms),
        },
        event_source: "aws:kinesis",
        event_version: "1.0",
        event_id: format!("{shard_id}:{}", record.sequence_number),
        event_name: "aws:kinesis:record",
        invoke_identity_arn: INVOKE_IDENTITY,
        aws_region: region.to_string(),
        event_source_arn: stream_arn.to_string(),
    }
}

/// A Kinesis record of an event, typed so its timestamp keeps its exact text.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisRecord {
    /// The record itself.
    pub kinesis: KinesisData,
    event_source: &'static str,
    event_version: &'static str,
    #[serde(rename = "eventID")]
    event_id: String,
    event_name: &'static str,
    invoke_identity_arn: &'static str,
    aws_region: String,
    #[serde(rename = "eventSourceARN")]
    event_source_arn: String,
}

/// The `kinesis` member of a record.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisData {
    kinesis_schema_version: &'static str,
    partition_key: String,
    sequence_number: String,
    data: String,
    approximate_arrival_timestamp: Box<serde_json::value::RawValue>,
}

/// `{"Records": records}`, serialized directly (not through a `Value`, which would reformat
/// the Kinesis timestamps).
pub fn event<T: serde::Serialize>(records: &[T]) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Event<'a, T> {
        #[serde(rename = "Records")]
        records: &'a [T],
    }
    serde_json::to_vec(&Event { records }).unwrap_or_default()
}

/// `{"Records": [...]}` of Kinesis records, written straight into one buffer: byte for byte
/// what [`event`] makes of [`kinesis_record`]s, without a `String` per member. A Kinesis event
/// carries up to 10,000 records, and rendering them member by member through serde was a
/// tenth of the broker's CPU when a mapping delivered at full speed.
pub fn kinesis_event(records: &[ReadRecord], shard_id: &str, stream_arn: &str, region: &str) -> Vec<u8> {
    use std::io::Write;
    // What follows the eventID in every record, escaped once per batch.
    let mut tail = Vec::new();
    tail.extend_from_slice(br#","eventName":"aws:kinesis:record","invokeIdentityArn":"#);
    push_json_str(&mut tail, INVOKE_IDENTITY);
    tail.extend_from_slice(br#","awsRegion":"#);
    push_json_str(&mut tail, region);
    tail.extend_from_slice(br#","eventSourceARN":"#);
    push_json_str(&mut tail, stream_arn);
    tail.push(b'}');
    let mut event_id_prefix = Vec::new();
    push_json_str(&mut event_id_prefix, &format!("{shard_id}:"));
    // Without its closing quote, so the sequence number follows inside the string.
    event_id_prefix.pop();
    let per_record: usize = records
        .iter()
        .map(|r| 300 + r.partition_key.len() + 2 * r.sequence_number.len() + r.data.len().div_ceil(3) * 4)
        .sum();
    let mut out = Vec::with_capacity(16 + per_record + records.len() * (tail.len() + event_id_prefix.len()));
    out.extend_from_slice(br#"{"Records":["#);
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(br#"{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"#);
        push_json_str(&mut out, &r.partition_key);
        out.extend_from_slice(br#","sequenceNumber":"#);
        push_json_str(&mut out, &r.sequence_number);
        out.extend_from_slice(br#","data":""#);
        let start = out.len();
        out.resize(start + base64::encoded_len(r.data.len(), true).unwrap_or(0), 0);
        // The slice is exactly the encoded length, so encoding cannot run out of room.
        let written = STANDARD.encode_slice(&r.data, &mut out[start..]).unwrap_or(0);
        out.truncate(start + written);
        let _ = write!(
            out,
            r#"","approximateArrivalTimestamp":{}.{:03}}},"eventSource":"aws:kinesis","eventVersion":"1.0","eventID":"#,
            r.arrival_ms / 1000,
            r.arrival_ms % 1000
        );
        out.extend_from_slice(&event_id_prefix);
        // Sequence numbers are decimal digits, which JSON strings take as they are.
        push_json_str_inner(&mut out, &r.sequence_number);
        out.push(b'"');
        out.extend_from_slice(&tail);
    }
    out.extend_from_slice(b"]}");
    out
}

/// Appends `s` as a JSON string, quoted and escaped as serde_json writes it.
fn push_json_str(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Appends `s` escaped as inside a JSON string, without the quotes.
fn push_json_str_inner(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    let start = out.len();
    push_json_str(out, s);
    // Drop the quotes serde_json put around it.
    out.pop();
    out.remove(start);
}

/// Epoch ms as seconds with exactly three decimals (`1545084650.500`): serde_json prints an
/// f64 in its shortest form (`.5`), which the `aws_lambda_events` crate reads as 5 ms.
fn arrival_seconds(ms: u64) -> Box<serde_json::value::RawValue> {
    let text = format!("{}.{:03}", ms / 1000, ms % 1000);
    // Two integers and a dot always parse; NULL is unreachable.
    serde_json::value::RawValue::from_string(text).unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned())
}

/// AWS's MD5 over message attributes (sorted by name; name and type length-prefixed, a
/// transport byte, 1 for strings and 2 for binaries, then the value length-prefixed); `None`
/// without attributes, as SQS omits it.
fn md5_of_attributes(attributes: &BTreeMap<String, MessageAttribute>) -> Option<String> {
    if attributes.is_empty() {
        return None;
    }
    let mut md5 = Md5::new();
    let put = |md5: &mut Md5, bytes: &[u8]| {
        md5.update(u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
        md5.update(bytes);
    };
    for (name, a) in attributes {
        put(&mut md5, name.as_bytes());
        put(&mut md5, a.data_type.as_bytes());
        if let Some(s) = &a.string_value {
            md5.update([1u8]);
            put(&mut md5, s.as_bytes());
        } else if let Some(b) = &a.binary_value {
            md5.update([2u8]);
            put(&mut md5, b);
        }
    }
    Some(hex::encode(md5.finalize()))
}

/// What a handler's answer says about a batch with `ReportBatchItemFailures`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchAnswer {
    /// Every record succeeded (no failures listed, an empty list, or a null).
    AllSucceeded,
    /// These identifiers failed; the rest succeeded.
    Failed(HashSet<String>),
    /// The answer names an identifier not in the batch, or is malformed: AWS then treats the
    /// whole batch as failed.
    Invalid,
}

/// Reads a handler's answer for a batch whose record identifiers are `ids`.
pub fn batch_answer(payload: &[u8], ids: &HashSet<String>) -> BatchAnswer {
    let Ok(value) = serde_json::from_slice::<Value>(payload) else {
        // A non-JSON answer (a plain string) lists no failures.
        return BatchAnswer::AllSucceeded;
    };
    let failures = match value.get("batchItemFailures") {
        None | Some(Value::Null) => return BatchAnswer::AllSucceeded,
        Some(Value::Array(items)) => items,
        Some(_) => return BatchAnswer::Invalid,
    };
    let mut failed = HashSet::new();
    for item in failures {
        match item.get("itemIdentifier").and_then(Value::as_str) {
            Some(id) if ids.contains(id) => {
                failed.insert(id.to_string());
            }
            _ => return BatchAnswer::Invalid,
        }
    }
    if failed.is_empty() {
        BatchAnswer::AllSucceeded
    } else {
        BatchAnswer::Failed(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(attributes: BTreeMap<String, MessageAttribute>) -> ReceivedMessage {
        ReceivedMessage {
            message_id: "m1".into(),
            receipt_handle: "rh".into(),
            body: "hello".into(),
            attributes,
            system_attributes: BTreeMap::new(),
            sent_timestamp_ms: 1_545_082_649_183,
            receive_count: 1,
            first_receive_timestamp_ms: 1_545_082_649_185,
            sender_id: "AIDA".into(),
            group_id: Some("g".into()),
            deduplication_id: Some("d".into()),
            sequence_number: Some("1".into()),
        }
    }

    #[test]
    fn sqs_records_carry_awss_members() {
        let doc = sqs_record(
            &message(BTreeMap::new()),
            "arn:aws:sqs:us-east-1:000000000000:q",
            "us-east-1",
        );
        assert_eq!(doc["md5OfBody"], "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(doc["attributes"]["MessageGroupId"], "g");
        assert_eq!(doc["attributes"]["SentTimestamp"], "1545082649183");
        assert!(doc["md5OfMessageAttributes"].is_null());
        assert_eq!(doc["eventSource"], "aws:sqs");
    }

    #[test]
    fn attribute_digest_matches_aws() {
        // Recorded from real SQS: one String attribute AtTimestamp.
        let mut attributes = BTreeMap::new();
        attributes.insert(
            "AtTimestamp".to_string(),
            MessageAttribute {
                data_type: "String".into(),
                string_value: Some("2021-02-15T12:00:33+09:00".into()),
                binary_value: None,
            },
        );
        let doc = sqs_record(&message(attributes), "arn", "us-east-1");
        assert_eq!(doc["md5OfMessageAttributes"], "9fd5e217089075be61cd1d67e35e5117");
        assert_eq!(
            doc["messageAttributes"]["AtTimestamp"]["stringValue"],
            "2021-02-15T12:00:33+09:00"
        );
    }

    #[test]
    fn kinesis_event_is_byte_for_byte_the_serde_rendering() {
        let records: Vec<ReadRecord> = [
            (
                "pk",
                "49590338271490256608559692538361571095921575989136588898",
                1_545_084_650_500u64,
                &b"hi"[..],
            ),
            ("k\"ey\\ \u{1}\n é 😀", "1", 7, &b""[..]),
            ("x", "2", 1_000, &[0u8, 255, 1, 2, 3, 4, 5][..]),
        ]
        .into_iter()
        .map(|(pk, seq, ms, data)| ReadRecord {
            sequence_number: seq.into(),
            arrival_ms: ms,
            partition_key: pk.into(),
            data: data.to_vec(),
            encrypted: false,
        })
        .collect();
        let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s\"q";
        for n in 0..=records.len() {
            let docs: Vec<KinesisRecord> = records[..n]
                .iter()
                .map(|r| kinesis_record(r, "shardId-000000000002", arn, "eu-west-1"))
                .collect();
            let direct = kinesis_event(&records[..n], "shardId-000000000002", arn, "eu-west-1");
            assert_eq!(
                String::from_utf8(direct).unwrap(),
                String::from_utf8(event(&docs)).unwrap()
            );
        }
    }

    #[test]
    fn kinesis_arrival_has_three_decimals() {
        let record = ReadRecord {
            sequence_number: "4959".into(),
            arrival_ms: 1_545_084_650_500,
            partition_key: "pk".into(),
            data: b"hi".to_vec(),
            encrypted: false,
        };
        let text = String::from_utf8(event(&[kinesis_record(
            &record,
            "shardId-000000000000",
            "arn",
            "us-east-1",
        )]))
        .unwrap();
        assert!(
            text.contains("\"approximateArrivalTimestamp\":1545084650.500"),
            "{text}"
        );
        assert!(text.contains("\"eventID\":\"shardId-000000000000:4959\""), "{text}");
        assert!(text.contains("\"data\":\"aGk=\""), "{text}");
    }

    #[test]
    fn partial_failures() {
        let ids: HashSet<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        assert_eq!(batch_answer(b"null", &ids), BatchAnswer::AllSucceeded);
        assert_eq!(
            batch_answer(br#"{"batchItemFailures": []}"#, &ids),
            BatchAnswer::AllSucceeded
        );
        assert_eq!(
            batch_answer(br#"{"batchItemFailures": [{"itemIdentifier": "b"}]}"#, &ids),
            BatchAnswer::Failed(["b".to_string()].into_iter().collect())
        );
        assert_eq!(
            batch_answer(br#"{"batchItemFailures": [{"itemIdentifier": "x"}]}"#, &ids),
            BatchAnswer::Invalid
        );
        assert_eq!(
            batch_answer(br#"{"batchItemFailures": [{"itemIdentifier": ""}]}"#, &ids),
            BatchAnswer::Invalid
        );
        assert_eq!(batch_answer(br#"{"batchItemFailures": 3}"#, &ids), BatchAnswer::Invalid);
    }
}
