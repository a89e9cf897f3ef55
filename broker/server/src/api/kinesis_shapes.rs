//! What the Kinesis handlers of [`super::kinesis`] and [`super::kinesis_efo`] both need: the
//! core-to-wire conversions of the `Record` and `ChildShard` shapes that GetRecords and
//! SubscribeToShard events share, stream ARNs, the token lifetime and the wall clock of tokens. A leaf, so neither handler module
//! imports the other's internals (issue 15: no import circle).

use std::time::{SystemTime, UNIX_EPOCH};

use sluice_broker::stream::{ChildShard as CoreChildShard, IteratorStart, ReadRecord, StreamKey};
use sluice_protocols::kinesis::output::{ChildShard, EncryptionType, HashKeyRange, Record};
use sluice_protocols::kinesis::types::parse_stream_arn;
use sluice_protocols::kinesis::types::IteratorType;
use sluice_protocols::kinesis::KinesisError;

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
pub fn record(r: ReadRecord) -> Record {
    Record {
        sequence_number: r.sequence_number,
        approximate_arrival_timestamp: Some(r.arrival_ms as i64),
        data: r.data,
        partition_key: r.partition_key,
        encryption_type: r.encrypted.then_some(EncryptionType::Kms),
    }
}

/// A `ChildShardList`.
pub fn child_shards(children: Vec<CoreChildShard>) -> Vec<ChildShard> {
    children
        .into_iter()
        .map(|c| ChildShard {
            shard_id: c.shard_id,
            parent_shards: c.parent_shards,
            hash_key_range: HashKeyRange {
                starting_hash_key: c.hash_range.0,
                ending_hash_key: c.hash_range.1,
            },
        })
        .collect()
}

/// Where an iterator or a subscription starts, from the wire's iterator type and the sequence
/// number or timestamp that goes with it (GetShardIterator and SubscribeToShard alike).
pub fn iterator_start(kind: IteratorType, sequence_number: Option<String>, timestamp_ms: Option<i64>) -> IteratorStart {
    match kind {
        IteratorType::AtSequenceNumber => IteratorStart::AtSequence(sequence_number),
        IteratorType::AfterSequenceNumber => IteratorStart::AfterSequence(sequence_number),
        IteratorType::TrimHorizon => IteratorStart::TrimHorizon,
        IteratorType::Latest => IteratorStart::Latest,
        IteratorType::AtTimestamp => IteratorStart::AtTimestamp(timestamp_ms),
    }
}
