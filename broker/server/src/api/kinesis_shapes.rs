//! What the Kinesis handlers of [`super::kinesis`] and [`super::kinesis_efo`] both need: the
//! `Record` and `ChildShards` shapes that GetRecords and SubscribeToShard events share, stream
//! ARNs, the token lifetime and the wall clock of tokens. A leaf, so neither handler module
//! imports the other's internals (issue 15: no import circle).

use std::time::{SystemTime, UNIX_EPOCH};

use sluice_broker::stream::{ChildShard, ReadRecord, StreamKey};
use sluice_protocols::kinesis::types::parse_stream_arn;
use sluice_protocols::kinesis::{KinesisError, Obj, Value};

/// How long a ListShards or ListStreamConsumers NextToken stays valid (AWS: 300 s).
pub const NEXT_TOKEN_TTL_MS: u64 = 300_000;

/// The stream a StreamARN (or ResourceARN) names.
pub fn resolve_arn(arn: &str) -> Result<StreamKey, KinesisError> {
    let (region, account, name) =
        parse_stream_arn(arn).ok_or_else(|| KinesisError::invalid(format!("Invalid ResourceARN {arn}.")))?;
    Ok(StreamKey::new(account, region, name))
}

/// Milliseconds since the Unix epoch, the clock of NextTokens.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A `Record` of GetRecords and SubscribeToShardEvent. `EncryptionType` is the record's own,
/// fixed when it was written (issue 14); absent for unencrypted records.
pub fn record_value(r: ReadRecord) -> Value {
    let encrypted = r.encrypted;
    Obj::new()
        .s("SequenceNumber", r.sequence_number)
        .t("ApproximateArrivalTimestamp", r.arrival_ms as i64)
        .set("Data", Value::Bytes(r.data))
        .s("PartitionKey", r.partition_key)
        .opt_s("EncryptionType", encrypted.then_some("KMS"))
        .build()
}

/// A `ChildShardList`.
pub fn child_shards_value(children: Vec<ChildShard>) -> Value {
    Value::List(
        children
            .into_iter()
            .map(|c| {
                Obj::new()
                    .s("ShardId", c.shard_id)
                    .set("ParentShards", Value::str_list(c.parent_shards))
                    .set(
                        "HashKeyRange",
                        Obj::new()
                            .s("StartingHashKey", c.hash_range.0)
                            .s("EndingHashKey", c.hash_range.1)
                            .build(),
                    )
                    .build()
            })
            .collect(),
    )
}
