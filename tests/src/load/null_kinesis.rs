//! The null server's Kinesis side: answers the AWS JSON 1.1 calls of the `kinesis-*` workloads
//! validly and stores nothing, so Sluice's Kinesis figures can be reported beside the load
//! tool's own ceiling.
//!
//! It parses every body fully and base64-decodes every record's `Data` (work a real server
//! cannot skip), then answers:
//! - `CreateStream`, `DeleteStream`: `{}` (CreateStream resets the record count);
//!   `DescribeStreamSummary`: an ACTIVE 4-shard stream; `ListShards`: four shards tiling the
//!   hash key space; `GetShardIterator`: an opaque `null-<shard>`.
//! - `PutRecord` / `PutRecords`: a shard id and a 56-digit sequence number per record.
//! - `GetRecords`: synthetic records of the last written size, as many as were written and not
//!   yet handed out (one counter for the server), with `MillisBehindLatest` 0 once none are
//!   left, so a read run is paced like a real one.
//! - Anything else: `UnknownOperationException`.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

/// Content type of Kinesis JSON responses.
pub const JSON_1_1: &str = "application/x-amz-json-1.1";
const SHARDS: u64 = 4;

/// What the null Kinesis remembers: counts, never records.
#[derive(Default)]
pub struct NullStreams {
    pending: AtomicU64,
    last_len: AtomicUsize,
    next_seq: AtomicU64,
}

fn error(code: &str, message: impl Into<String>) -> (u16, Value) {
    (400, json!({"__type": code, "message": message.into()}))
}

fn shard_range(i: u64) -> (String, String) {
    let step = u128::MAX / SHARDS as u128;
    let start = step * i as u128 + i as u128;
    let end = if i + 1 == SHARDS {
        u128::MAX
    } else {
        step * (i as u128 + 1) + i as u128
    };
    (start.to_string(), end.to_string())
}

fn str_field<'a>(input: &'a Map<String, Value>, name: &str) -> Result<&'a str, (u16, Value)> {
    input.get(name).and_then(Value::as_str).ok_or_else(|| {
        error(
            "ValidationException",
            format!("Value null at '{name}' failed to satisfy constraint: Member must not be null"),
        )
    })
}

impl NullStreams {
    fn sequence(&self, shard: u64) -> String {
        let n = self.next_seq.fetch_add(1, Ordering::Relaxed);
        format!("49{shard:010}{n:020}{:024}", 0)
    }

    fn put(&self, entry: &Map<String, Value>) -> Result<Value, (u16, Value)> {
        let key = str_field(entry, "PartitionKey")?;
        let data = STANDARD
            .decode(str_field(entry, "Data")?)
            .map_err(|_| error("SerializationException", "Base64 encoded Data is invalid."))?;
        self.last_len.store(data.len(), Ordering::Relaxed);
        let shard = key.bytes().fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(b as u64)) % SHARDS;
        Ok(json!({"ShardId": format!("shardId-{shard:012}"), "SequenceNumber": self.sequence(shard)}))
    }

    /// Answers one call: (HTTP status, JSON body).
    pub fn answer(&self, action: &str, body: &[u8]) -> (u16, Value) {
        match self.answer_inner(action, body) {
            Ok(v) => (200, v),
            Err(e) => e,
        }
    }

    fn answer_inner(&self, action: &str, body: &[u8]) -> Result<Value, (u16, Value)> {
        let input: Value = if body.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(body).map_err(|e| error("SerializationException", e.to_string()))?
        };
        let Some(input) = input.as_object() else {
            return Err(error("SerializationException", "body is not a JSON object"));
        };
        match action {
            "CreateStream" => {
                str_field(input, "StreamName")?;
                self.pending.store(0, Ordering::Relaxed);
                Ok(json!({}))
            }
            "DeleteStream" => Ok(json!({})),
            "DescribeStreamSummary" => {
                let name = str_field(input, "StreamName")?;
                Ok(json!({"StreamDescriptionSummary": {
                    "StreamName": name,
                    "StreamARN": format!("arn:aws:kinesis:us-east-1:000000000000:stream/{name}"),
                    "StreamStatus": "ACTIVE",
                    "RetentionPeriodHours": 24,
                    "StreamCreationTimestamp": 1.7e9,
                    "EnhancedMonitoring": [],
                    "OpenShardCount": SHARDS,
                }}))
            }
            "ListShards" => {
                let shards: Vec<Value> = (0..SHARDS)
                    .map(|i| {
                        let (start, end) = shard_range(i);
                        json!({
                            "ShardId": format!("shardId-{i:012}"),
                            "HashKeyRange": {"StartingHashKey": start, "EndingHashKey": end},
                            "SequenceNumberRange": {"StartingSequenceNumber": format!("49{i:010}{:044}", 0)},
                        })
                    })
                    .collect();
                Ok(json!({"Shards": shards}))
            }
            "GetShardIterator" => {
                let shard = str_field(input, "ShardId")?;
                Ok(json!({"ShardIterator": format!("null-{shard}")}))
            }
            "PutRecord" => {
                str_field(input, "StreamName")?;
                let out = self.put(input)?;
                self.pending.fetch_add(1, Ordering::Relaxed);
                Ok(out)
            }
            "PutRecords" => {
                str_field(input, "StreamName")?;
                let records = input
                    .get("Records")
                    .and_then(Value::as_array)
                    .ok_or_else(|| error("ValidationException", "Records is required"))?;
                if records.is_empty() || records.len() > 500 {
                    return Err(error("ValidationException", "Records must have 1 to 500 members"));
                }
                let mut out = Vec::with_capacity(records.len());
                for r in records {
                    let entry = r
                        .as_object()
                        .ok_or_else(|| error("SerializationException", "record is not an object"))?;
                    out.push(self.put(entry)?);
                }
                self.pending.fetch_add(out.len() as u64, Ordering::Relaxed);
                Ok(json!({"FailedRecordCount": 0, "Records": out}))
            }
            "GetRecords" => {
                let it = str_field(input, "ShardIterator")?.to_string();
                let limit = input
                    .get("Limit")
                    .and_then(Value::as_u64)
                    .unwrap_or(10_000)
                    .clamp(1, 10_000);
                let mut taken = 0;
                let _ = self.pending.fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
                    taken = p.min(limit);
                    Some(p - taken)
                });
                let len = self.last_len.load(Ordering::Relaxed);
                let data = STANDARD.encode(vec![b'x'; len]);
                let records: Vec<Value> = (0..taken)
                    .map(|_| {
                        json!({
                            "SequenceNumber": self.sequence(0),
                            "ApproximateArrivalTimestamp": 1.7e9,
                            "Data": data,
                            "PartitionKey": "k",
                        })
                    })
                    .collect();
                let behind = if self.pending.load(Ordering::Acquire) > 0 {
                    1000
                } else {
                    0
                };
                Ok(json!({"Records": records, "NextShardIterator": it, "MillisBehindLatest": behind}))
            }
            other => Err(error(
                "UnknownOperationException",
                format!("the null server does not implement Kinesis_20131202.{other}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_counted_and_read_back_once() {
        let s = NullStreams::default();
        let body = json!({"StreamName": "s", "Records": [
            {"PartitionKey": "a", "Data": "aGk="}, {"PartitionKey": "b", "Data": "aGk="}
        ]});
        let (status, out) = s.answer("PutRecords", body.to_string().as_bytes());
        assert_eq!(status, 200);
        assert_eq!(out["Records"].as_array().map(Vec::len), Some(2));
        assert_eq!(out["Records"][0]["SequenceNumber"].as_str().map(str::len), Some(56));
        let (_, got) = s.answer("GetRecords", br#"{"ShardIterator":"null-x","Limit":10}"#);
        assert_eq!(got["Records"].as_array().map(Vec::len), Some(2));
        assert_eq!(got["Records"][0]["Data"], "eHg=");
        assert_eq!(got["MillisBehindLatest"], 0);
        let (_, empty) = s.answer("GetRecords", br#"{"ShardIterator":"null-x"}"#);
        assert_eq!(empty["Records"].as_array().map(Vec::len), Some(0));
        let (status, err) = s.answer("PutRecord", br#"{"StreamName":"s","PartitionKey":"a","Data":"!!"}"#);
        assert_eq!((status, err["__type"].as_str()), (400, Some("SerializationException")));
    }

    #[test]
    fn shard_ranges_tile_the_key_space() {
        assert_eq!(shard_range(0).0, "0");
        assert_eq!(shard_range(SHARDS - 1).1, u128::MAX.to_string());
        for i in 1..SHARDS {
            let prev: u128 = shard_range(i - 1).1.parse().expect("n");
            let start: u128 = shard_range(i).0.parse().expect("n");
            assert_eq!(prev + 1, start);
        }
    }
}
