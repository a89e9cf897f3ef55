//! Kinesis calls that write and read records.
//!
//! # Layout
//! - Writes: [`put_record`], [`put_records`] (per-record failures are answered in the
//!   response's `Records`, not as an error).
//! - Reads: [`get_shard_iterator`], [`get_records`] (the `Record` and `ChildShards` shapes are
//!   [`crate::api::kinesis_shapes`]'s, shared with SubscribeToShard).
//!
//! Each call counts what it stored, returned or had throttled in the Kinesis metrics.

use sluice_broker::stream::{NewRecord, PutOutcome, StreamError, StreamKey};
use sluice_protocols::kinesis::output::{
    EncryptionType, GetRecordsOutput, GetShardIteratorOutput, PutRecordOutput, PutRecordsOutput, PutRecordsResultEntry,
};
use sluice_protocols::kinesis::types::{IteratorType, PutRecordsEntry};
use sluice_protocols::kinesis::KinesisError;

use super::error::{Failure, Result};
use crate::api::error::kinesis_error;
use crate::api::kinesis_shapes::{child_shards, iterator_start, record, resolve_arn};
use crate::app::App;

/// PutRecord.
pub fn put_record(
    app: &App,
    key: &StreamKey,
    entry: PutRecordsEntry,
    sequence_number_for_ordering: Option<String>,
) -> Result<PutRecordOutput> {
    let record = NewRecord {
        partition_key: entry.partition_key,
        explicit_hash_key: entry.explicit_hash_key,
        data: entry.data,
    };
    let put = app.broker.streams.put(
        key,
        std::slice::from_ref(&record),
        sequence_number_for_ordering.as_deref(),
    );
    let out = match put {
        Ok(out) => out,
        Err(e) => {
            if matches!(e, StreamError::Throughput(_)) {
                app.metrics.kinesis().throttled("in", 1);
            }
            return Err(Failure::from(e));
        }
    };
    app.metrics.kinesis().stored(1, record.data.len() as u64);
    let first = out.results.into_iter().next().ok_or_else(KinesisError::internal)?;
    Ok(PutRecordOutput {
        shard_id: first.shard_id,
        sequence_number: first.sequence_number,
        encryption_type: Some(EncryptionType::from_encrypted(out.encrypted)),
    })
}

/// PutRecords.
pub fn put_records(app: &App, key: &StreamKey, records: Vec<PutRecordsEntry>) -> Result<PutRecordsOutput> {
    let records: Vec<NewRecord> = records
        .into_iter()
        .map(|e| NewRecord {
            partition_key: e.partition_key,
            explicit_hash_key: e.explicit_hash_key,
            data: e.data,
        })
        .collect();
    let PutOutcome {
        results: out,
        encrypted,
    } = app.broker.streams.put_batch(key, &records, None)?;
    let failed = out.iter().filter(|r| r.is_err()).count();
    let stored_bytes: usize = records
        .iter()
        .zip(&out)
        .filter(|(_, r)| r.is_ok())
        .map(|(rec, _)| rec.data.len())
        .sum();
    app.metrics
        .kinesis()
        .stored((out.len() - failed) as u64, stored_bytes as u64);
    if failed > 0 {
        app.metrics.kinesis().throttled("in", failed as u64);
    }
    let results = out
        .into_iter()
        .map(|r| match r {
            Ok(a) => PutRecordsResultEntry {
                sequence_number: Some(a.sequence_number),
                shard_id: Some(a.shard_id),
                ..PutRecordsResultEntry::default()
            },
            Err(e) => {
                let e = kinesis_error(e);
                PutRecordsResultEntry {
                    error_code: Some(e.code.as_str().to_string()),
                    error_message: Some(e.message),
                    ..PutRecordsResultEntry::default()
                }
            }
        })
        .collect();
    Ok(PutRecordsOutput {
        failed_record_count: Some(failed as i64),
        records: results,
        encryption_type: Some(EncryptionType::from_encrypted(encrypted)),
    })
}

/// GetShardIterator.
pub fn get_shard_iterator(
    app: &App,
    key: &StreamKey,
    shard_id: &str,
    iterator_type: IteratorType,
    starting_sequence_number: Option<String>,
    timestamp_ms: Option<i64>,
) -> Result<GetShardIteratorOutput> {
    let start = iterator_start(iterator_type, starting_sequence_number, timestamp_ms);
    let it = app.broker.streams.shard_iterator(key, shard_id, start)?;
    Ok(GetShardIteratorOutput {
        shard_iterator: Some(it),
    })
}

/// GetRecords. A StreamARN, when given, must name the iterator's stream (the core checks).
pub fn get_records(
    app: &App,
    shard_iterator: &str,
    limit: Option<i64>,
    stream_arn: Option<String>,
) -> Result<GetRecordsOutput> {
    let check = match &stream_arn {
        Some(arn) => Some(resolve_arn(arn)?),
        None => None,
    };
    let read = app
        .broker
        .streams
        .get_records(shard_iterator, limit.unwrap_or(10_000) as usize, check.as_ref());
    let batch = match read {
        Ok(batch) => batch,
        Err(e) => {
            if matches!(e, StreamError::Throughput(_)) {
                app.metrics.kinesis().throttled("out", 1);
            }
            return Err(Failure::from(e));
        }
    };
    let bytes: usize = batch.records.iter().map(|r| r.data.len()).sum();
    app.metrics
        .kinesis()
        .returned(batch.records.len() as u64, bytes as u64, batch.millis_behind_latest);
    Ok(GetRecordsOutput {
        records: batch.records.into_iter().map(record).collect(),
        next_shard_iterator: batch.next_iterator,
        millis_behind_latest: Some(batch.millis_behind_latest as i64),
        child_shards: batch.child_shards.map(child_shards),
    })
}
