//! [`decode_request`]: from the decoded [`Value`] of a request body (JSON or CBOR) to a typed,
//! shape-validated [`KinesisRequest`], per the service model (botocore
//! `kinesis/2013-12-02/service-2.json`).
//!
//! # Layout
//! - [`decode_request`], one arm per action, and the small parsers its arms share
//!   (`put_entry`, `stream_mode`, `iterator_type`).
//! - `Input`: typed member access over one decoded object (strings, numbers, blobs,
//!   timestamps, lists, nested structures, tag maps, stream and consumer references); a member
//!   of the wrong type answers `SerializationException` in AWS's wording.
//!
//! Members are checked with `validate` (shape violations answer `ValidationException`), ARN
//! members with `arn`.
//!
//! Invariant: a request that decodes has passed every shape constraint of its input; what is
//! left to the core is what depends on state (`InvalidArgumentException`,
//! `ResourceNotFoundException`, ...).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::arn::{check_consumer_arn, check_resource_arn, check_stream_arn};
use super::error::KinesisError;
use super::types::KinesisAction;
use super::types::{
    ConsumerRef, IteratorType, KinesisRequest, PutRecordsEntry, ShardFilter, ShardFilterType, StartingPosition,
    StreamMode, StreamRef, METRIC_NAMES,
};
use super::validate::{
    check_len, check_min, check_range, check_sequence, check_shard_id, check_stream_name, enum_error, hash_key,
    missing, required,
};
use super::value::{Key, Value};

type Result<T> = std::result::Result<T, KinesisError>;

/// Decodes and validates the input of `action`.
pub fn decode_request(action: KinesisAction, body: Value) -> Result<KinesisRequest> {
    let mut input = Input::new(body)?;
    use KinesisAction as A;
    let request = match action {
        A::CreateStream => {
            let name = required(input.string("StreamName")?, "streamName")?;
            check_stream_name("streamName", &name)?;
            let shard_count = input.int("ShardCount")?;
            if let Some(n) = shard_count {
                check_min("shardCount", n, 1)?;
            }
            let mode = match input.object("StreamModeDetails")? {
                Some(mut details) => Some(stream_mode(&mut details)?),
                None => None,
            };
            let tags = input.tags("Tags")?.unwrap_or_default();
            let _warm = input.int("WarmThroughputMiBps")?;
            let max_record_size_kib = input.int("MaxRecordSizeInKiB")?;
            if let Some(k) = max_record_size_kib {
                check_range("maxRecordSizeInKiB", k, 1024, 10240)?;
            }
            KinesisRequest::CreateStream {
                name,
                shard_count,
                mode,
                tags,
                max_record_size_kib,
            }
        }
        A::DeleteStream => KinesisRequest::DeleteStream {
            stream: input.stream_ref()?,
            enforce_consumer_deletion: input.bool("EnforceConsumerDeletion")?.unwrap_or(false),
        },
        A::DescribeStream => {
            let stream = input.stream_ref()?;
            let limit = input.int("Limit")?;
            if let Some(l) = limit {
                check_range("limit", l, 1, 10_000)?;
            }
            let exclusive_start_shard_id = input.string("ExclusiveStartShardId")?;
            if let Some(id) = &exclusive_start_shard_id {
                check_shard_id("exclusiveStartShardId", id)?;
            }
            KinesisRequest::DescribeStream {
                stream,
                limit,
                exclusive_start_shard_id,
            }
        }
        A::DescribeStreamSummary => KinesisRequest::DescribeStreamSummary {
            stream: input.stream_ref()?,
        },
        A::ListStreams => {
            let limit = input.int("Limit")?;
            if let Some(l) = limit {
                check_range("limit", l, 1, 10_000)?;
            }
            let exclusive_start_stream_name = input.string("ExclusiveStartStreamName")?;
            if let Some(n) = &exclusive_start_stream_name {
                check_stream_name("exclusiveStartStreamName", n)?;
            }
            let next_token = input.string("NextToken")?;
            if let Some(t) = &next_token {
                check_len("nextToken", t, 1, 1_048_576)?;
            }
            KinesisRequest::ListStreams {
                limit,
                exclusive_start_stream_name,
                next_token,
            }
        }
        A::ListShards => {
            let stream = input.stream_ref_optional()?;
            let next_token = input.string("NextToken")?;
            if let Some(t) = &next_token {
                check_len("nextToken", t, 1, 1_048_576)?;
            }
            let exclusive_start_shard_id = input.string("ExclusiveStartShardId")?;
            if let Some(id) = &exclusive_start_shard_id {
                check_shard_id("exclusiveStartShardId", id)?;
            }
            let max_results = input.int("MaxResults")?;
            if let Some(m) = max_results {
                check_range("maxResults", m, 1, 10_000)?;
            }
            let stream_creation_timestamp_ms = input.timestamp("StreamCreationTimestamp")?;
            let shard_filter = match input.object("ShardFilter")? {
                Some(mut f) => {
                    let kind = required(f.string("Type")?, "shardFilter.type")?;
                    let kind = match kind.as_str() {
                        "AFTER_SHARD_ID" => ShardFilterType::AfterShardId,
                        "AT_TRIM_HORIZON" => ShardFilterType::AtTrimHorizon,
                        "FROM_TRIM_HORIZON" => ShardFilterType::FromTrimHorizon,
                        "AT_LATEST" => ShardFilterType::AtLatest,
                        "AT_TIMESTAMP" => ShardFilterType::AtTimestamp,
                        "FROM_TIMESTAMP" => ShardFilterType::FromTimestamp,
                        other => return Err(enum_error("shardFilter.type", other, "[AFTER_SHARD_ID, AT_TRIM_HORIZON, FROM_TRIM_HORIZON, AT_LATEST, AT_TIMESTAMP, FROM_TIMESTAMP]")),
                    };
                    let shard_id = f.string("ShardId")?;
                    if let Some(id) = &shard_id {
                        check_shard_id("shardFilter.shardId", id)?;
                    }
                    Some(ShardFilter {
                        kind,
                        shard_id,
                        timestamp_ms: f.timestamp("Timestamp")?,
                    })
                }
                None => None,
            };
            KinesisRequest::ListShards {
                stream,
                next_token,
                exclusive_start_shard_id,
                max_results,
                stream_creation_timestamp_ms,
                shard_filter,
            }
        }
        A::PutRecord => {
            let stream = input.stream_ref()?;
            let entry = put_entry(&mut input, "")?;
            let sequence_number_for_ordering = input.string("SequenceNumberForOrdering")?;
            if let Some(s) = &sequence_number_for_ordering {
                check_sequence("sequenceNumberForOrdering", s)?;
            }
            KinesisRequest::PutRecord {
                stream,
                entry,
                sequence_number_for_ordering,
            }
        }
        A::PutRecords => {
            let stream = input.stream_ref()?;
            let items = required(input.list("Records")?, "records")?;
            if items.is_empty() || items.len() > 500 {
                let bound = if items.is_empty() {
                    "Member must have length greater than or equal to 1"
                } else {
                    "Member must have length less than or equal to 500"
                };
                return Err(KinesisError::validation(format!(
                    "Value '[...]' at 'records' failed to satisfy constraint: {bound}"
                )));
            }
            let mut records = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let mut entry = Input::new(item)?;
                records.push(put_entry(&mut entry, &format!("records.{}.member.", i + 1))?);
            }
            KinesisRequest::PutRecords { stream, records }
        }
        A::GetShardIterator => {
            let stream = input.stream_ref()?;
            let shard_id = required(input.string("ShardId")?, "shardId")?;
            check_shard_id("shardId", &shard_id)?;
            let kind = required(input.string("ShardIteratorType")?, "shardIteratorType")?;
            let iterator_type = iterator_type("shardIteratorType", &kind)?;
            let starting_sequence_number = input.string("StartingSequenceNumber")?;
            if let Some(s) = &starting_sequence_number {
                check_sequence("startingSequenceNumber", s)?;
            }
            KinesisRequest::GetShardIterator {
                stream,
                shard_id,
                iterator_type,
                starting_sequence_number,
                timestamp_ms: input.timestamp("Timestamp")?,
            }
        }
        A::GetRecords => {
            let shard_iterator = required(input.string("ShardIterator")?, "shardIterator")?;
            check_len("shardIterator", &shard_iterator, 1, 512)?;
            let limit = input.int("Limit")?;
            if let Some(l) = limit {
                check_range("limit", l, 1, 10_000)?;
            }
            let stream_arn = input.string("StreamARN")?;
            if let Some(arn) = &stream_arn {
                check_stream_arn("streamARN", arn)?;
            }
            KinesisRequest::GetRecords {
                shard_iterator,
                limit,
                stream_arn,
            }
        }
        A::IncreaseStreamRetentionPeriod | A::DecreaseStreamRetentionPeriod => KinesisRequest::ChangeRetention {
            stream: input.stream_ref()?,
            hours: required(input.int("RetentionPeriodHours")?, "retentionPeriodHours")?,
            increase: action == A::IncreaseStreamRetentionPeriod,
        },
        A::SplitShard => {
            let stream = input.stream_ref()?;
            let shard_to_split = required(input.string("ShardToSplit")?, "shardToSplit")?;
            check_shard_id("shardToSplit", &shard_to_split)?;
            let key = required(input.string("NewStartingHashKey")?, "newStartingHashKey")?;
            KinesisRequest::SplitShard {
                stream,
                shard_to_split,
                new_starting_hash_key: hash_key("newStartingHashKey", &key)?,
            }
        }
        A::MergeShards => {
            let stream = input.stream_ref()?;
            let shard_to_merge = required(input.string("ShardToMerge")?, "shardToMerge")?;
            check_shard_id("shardToMerge", &shard_to_merge)?;
            let adjacent = required(input.string("AdjacentShardToMerge")?, "adjacentShardToMerge")?;
            check_shard_id("adjacentShardToMerge", &adjacent)?;
            KinesisRequest::MergeShards {
                stream,
                shard_to_merge,
                adjacent_shard_to_merge: adjacent,
            }
        }
        A::UpdateShardCount => {
            let stream = input.stream_ref()?;
            let target = required(input.int("TargetShardCount")?, "targetShardCount")?;
            check_min("targetShardCount", target, 1)?;
            let scaling = required(input.string("ScalingType")?, "scalingType")?;
            if scaling != "UNIFORM_SCALING" {
                return Err(enum_error("scalingType", &scaling, "[UNIFORM_SCALING]"));
            }
            KinesisRequest::UpdateShardCount {
                stream,
                target_shard_count: target,
            }
        }
        A::UpdateStreamMode => {
            let arn = required(input.string("StreamARN")?, "streamARN")?;
            check_stream_arn("streamARN", &arn)?;
            let mut details = required(input.object("StreamModeDetails")?, "streamModeDetails")?;
            let _warm = input.int("WarmThroughputMiBps")?;
            KinesisRequest::UpdateStreamMode {
                stream: StreamRef {
                    name: None,
                    arn: Some(arn),
                },
                mode: stream_mode(&mut details)?,
            }
        }
        A::UpdateStreamWarmThroughput => {
            let stream = input.stream_ref()?;
            let mibps = required(input.int("WarmThroughputMiBps")?, "warmThroughputMiBps")?;
            check_range("warmThroughputMiBps", mibps, 0, i64::from(i32::MAX))?;
            KinesisRequest::UpdateStreamWarmThroughput { stream, mibps }
        }
        A::UpdateMaxRecordSize => {
            let stream = input.stream_ref_optional()?;
            let kib = required(input.int("MaxRecordSizeInKiB")?, "maxRecordSizeInKiB")?;
            check_range("maxRecordSizeInKiB", kib, 1024, 10240)?;
            if stream.arn.is_none() && stream.name.is_none() {
                return Err(missing("streamARN"));
            }
            KinesisRequest::UpdateMaxRecordSize { stream, kib }
        }
        A::AddTagsToStream => KinesisRequest::AddTagsToStream {
            stream: input.stream_ref()?,
            tags: required(input.tags("Tags")?, "tags")?,
        },
        A::RemoveTagsFromStream => KinesisRequest::RemoveTagsFromStream {
            stream: input.stream_ref()?,
            keys: input.tag_keys()?,
        },
        A::ListTagsForStream => {
            let stream = input.stream_ref()?;
            let exclusive_start_tag_key = input.string("ExclusiveStartTagKey")?;
            if let Some(k) = &exclusive_start_tag_key {
                check_len("exclusiveStartTagKey", k, 1, 128)?;
            }
            let limit = input.int("Limit")?;
            if let Some(l) = limit {
                check_range("limit", l, 1, 50)?;
            }
            KinesisRequest::ListTagsForStream {
                stream,
                exclusive_start_tag_key,
                limit,
            }
        }
        A::TagResource => KinesisRequest::TagResource {
            arn: input.resource_arn()?,
            tags: required(input.tags("Tags")?, "tags")?,
        },
        A::UntagResource => KinesisRequest::UntagResource {
            arn: input.resource_arn()?,
            keys: input.tag_keys()?,
        },
        A::ListTagsForResource => KinesisRequest::ListTagsForResource {
            arn: input.resource_arn()?,
        },
        A::PutResourcePolicy => KinesisRequest::PutResourcePolicy {
            arn: input.resource_arn()?,
            policy: required(input.string("Policy")?, "policy")?,
        },
        A::GetResourcePolicy => KinesisRequest::GetResourcePolicy {
            arn: input.resource_arn()?,
        },
        A::DeleteResourcePolicy => KinesisRequest::DeleteResourcePolicy {
            arn: input.resource_arn()?,
        },
        A::StartStreamEncryption | A::StopStreamEncryption => {
            let stream = input.stream_ref()?;
            let kind = required(input.string("EncryptionType")?, "encryptionType")?;
            if kind != "KMS" && kind != "NONE" {
                return Err(enum_error("encryptionType", &kind, "[KMS, NONE]"));
            }
            if kind != "KMS" {
                return Err(KinesisError::invalid(
                    "Encryption type must be KMS for StartStreamEncryption and StopStreamEncryption.",
                ));
            }
            let key_id = required(input.string("KeyId")?, "keyId")?;
            check_len("keyId", &key_id, 1, 2048)?;
            KinesisRequest::StreamEncryption {
                stream,
                key_id,
                start: action == A::StartStreamEncryption,
            }
        }
        A::EnableEnhancedMonitoring | A::DisableEnhancedMonitoring => {
            let stream = input.stream_ref()?;
            let items = required(input.list("ShardLevelMetrics")?, "shardLevelMetrics")?;
            if items.is_empty() || items.len() > 7 {
                return Err(KinesisError::validation(
                    "Value at 'shardLevelMetrics' failed to satisfy constraint: Member must have length between 1 and 7",
                ));
            }
            let mut metrics = Vec::new();
            for item in items {
                let Value::Str(name) = item else {
                    return Err(KinesisError::serialization("ShardLevelMetrics members must be strings"));
                };
                if !METRIC_NAMES.contains(&name.as_str()) {
                    return Err(enum_error(
                        "shardLevelMetrics.member",
                        &name,
                        &format!("[{}]", METRIC_NAMES.join(", ")),
                    ));
                }
                metrics.push(name);
            }
            KinesisRequest::EnhancedMonitoring {
                stream,
                metrics,
                enable: action == A::EnableEnhancedMonitoring,
            }
        }
        A::DescribeLimits => KinesisRequest::DescribeLimits,
        A::RegisterStreamConsumer => {
            let stream_arn = required(input.string("StreamARN")?, "streamARN")?;
            check_stream_arn("streamARN", &stream_arn)?;
            let consumer_name = required(input.string("ConsumerName")?, "consumerName")?;
            check_stream_name("consumerName", &consumer_name)?;
            let _stream_id = input.string("StreamId")?;
            KinesisRequest::RegisterStreamConsumer {
                stream_arn,
                consumer_name,
                tags: input.tags("Tags")?.unwrap_or_default(),
            }
        }
        A::DescribeStreamConsumer => KinesisRequest::DescribeStreamConsumer {
            consumer: input.consumer_ref()?,
        },
        A::DeregisterStreamConsumer => KinesisRequest::DeregisterStreamConsumer {
            consumer: input.consumer_ref()?,
        },
        A::ListStreamConsumers => {
            let stream_arn = required(input.string("StreamARN")?, "streamARN")?;
            check_stream_arn("streamARN", &stream_arn)?;
            let next_token = input.string("NextToken")?;
            if let Some(t) = &next_token {
                check_len("nextToken", t, 1, 1_048_576)?;
            }
            let max_results = input.int("MaxResults")?;
            if let Some(m) = max_results {
                check_range("maxResults", m, 1, 10_000)?;
            }
            let _stream_id = input.string("StreamId")?;
            KinesisRequest::ListStreamConsumers {
                stream_arn,
                next_token,
                max_results,
                stream_creation_timestamp_ms: input.timestamp("StreamCreationTimestamp")?,
            }
        }
        A::SubscribeToShard => {
            let consumer_arn = required(input.string("ConsumerARN")?, "consumerARN")?;
            check_consumer_arn("consumerARN", &consumer_arn)?;
            let shard_id = required(input.string("ShardId")?, "shardId")?;
            check_shard_id("shardId", &shard_id)?;
            let mut position = required(input.object("StartingPosition")?, "startingPosition")?;
            let kind = required(position.string("Type")?, "startingPosition.type")?;
            let kind = iterator_type("startingPosition.type", &kind)?;
            let sequence_number = position.string("SequenceNumber")?;
            if let Some(s) = &sequence_number {
                check_sequence("startingPosition.sequenceNumber", s)?;
            }
            let _stream_id = input.string("StreamId")?;
            KinesisRequest::SubscribeToShard {
                consumer_arn,
                shard_id,
                starting_position: StartingPosition {
                    kind,
                    sequence_number,
                    timestamp_ms: position.timestamp("Timestamp")?,
                },
            }
        }
        A::DescribeAccountSettings => KinesisRequest::DescribeAccountSettings,
        A::UpdateAccountSettings => {
            let mut commitment = required(
                input.object("MinimumThroughputBillingCommitment")?,
                "minimumThroughputBillingCommitment",
            )?;
            let status = required(
                commitment.string("Status")?,
                "minimumThroughputBillingCommitment.status",
            )?;
            let commitment_enabled = match status.as_str() {
                "ENABLED" => true,
                "DISABLED" => false,
                other => {
                    return Err(enum_error(
                        "minimumThroughputBillingCommitment.status",
                        other,
                        "[ENABLED, DISABLED]",
                    ))
                }
            };
            KinesisRequest::UpdateAccountSettings { commitment_enabled }
        }
    };
    Ok(request)
}

fn put_entry(input: &mut Input, prefix: &str) -> Result<PutRecordsEntry> {
    let data = required(input.blob("Data")?, &format!("{prefix}data"))?;
    if data.len() > 10_485_760 {
        return Err(KinesisError::validation(format!(
            "Value at '{prefix}data' failed to satisfy constraint: Member must have length less than or equal to 10485760"
        )));
    }
    let partition_key = required(input.string("PartitionKey")?, &format!("{prefix}partitionKey"))?;
    // AWS counts the key's length in characters (the limit is "256 characters").
    let chars = partition_key.chars().count();
    if chars == 0 || chars > 256 {
        let bound = if chars == 0 {
            "Member must have length greater than or equal to 1"
        } else {
            "Member must have length less than or equal to 256"
        };
        return Err(KinesisError::validation(format!(
            "Value '{partition_key}' at '{prefix}partitionKey' failed to satisfy constraint: {bound}"
        )));
    }
    let explicit_hash_key = match input.string("ExplicitHashKey")? {
        Some(k) => Some(hash_key(&format!("{prefix}explicitHashKey"), &k)?),
        None => None,
    };
    Ok(PutRecordsEntry {
        data,
        partition_key,
        explicit_hash_key,
    })
}

fn stream_mode(details: &mut Input) -> Result<StreamMode> {
    let mode = required(details.string("StreamMode")?, "streamModeDetails.streamMode")?;
    match mode.as_str() {
        "PROVISIONED" => Ok(StreamMode::Provisioned),
        "ON_DEMAND" => Ok(StreamMode::OnDemand),
        other => Err(enum_error(
            "streamModeDetails.streamMode",
            other,
            "[PROVISIONED, ON_DEMAND]",
        )),
    }
}

/// A `ShardIteratorType` value.
fn iterator_type(field: &str, kind: &str) -> Result<IteratorType> {
    Ok(match kind {
        "AT_SEQUENCE_NUMBER" => IteratorType::AtSequenceNumber,
        "AFTER_SEQUENCE_NUMBER" => IteratorType::AfterSequenceNumber,
        "TRIM_HORIZON" => IteratorType::TrimHorizon,
        "LATEST" => IteratorType::Latest,
        "AT_TIMESTAMP" => IteratorType::AtTimestamp,
        other => {
            return Err(enum_error(
                field,
                other,
                "[AFTER_SEQUENCE_NUMBER, AT_SEQUENCE_NUMBER, AT_TIMESTAMP, TRIM_HORIZON, LATEST]",
            ))
        }
    })
}

/// Member access over one decoded object, with AWS's type errors.
struct Input {
    fields: Vec<(Key, Value)>,
}

impl Input {
    fn new(value: Value) -> Result<Input> {
        match value {
            Value::Map(fields) => Ok(Input { fields }),
            _ => Err(KinesisError::serialization(
                "Start of structure or map found where not expected.",
            )),
        }
    }

    fn take(&mut self, name: &str) -> Option<Value> {
        let pos = self.fields.iter().position(|(k, _)| k.as_ref() == name)?;
        match self.fields.swap_remove(pos).1 {
            Value::Null => None,
            v => Some(v),
        }
    }

    fn string(&mut self, name: &str) -> Result<Option<String>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s)),
            Some(other) => Err(type_error(name, &other, "String")),
        }
    }

    fn int(&mut self, name: &str) -> Result<Option<i64>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Int(i)) => Ok(Some(i)),
            Some(other) => Err(type_error(name, &other, "Integer")),
        }
    }

    fn bool(&mut self, name: &str) -> Result<Option<bool>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(type_error(name, &other, "Boolean")),
        }
    }

    /// A blob: a CBOR byte string, or base64 text (JSON).
    fn blob(&mut self, name: &str) -> Result<Option<Vec<u8>>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Bytes(b)) => Ok(Some(b)),
            Some(Value::Str(s)) => STANDARD
                .decode(s.as_bytes())
                .map(Some)
                .map_err(|_| KinesisError::serialization(format!("Base64 encoded {name} is invalid."))),
            Some(other) => Err(type_error(name, &other, "Blob")),
        }
    }

    /// A timestamp as epoch ms: tagged CBOR time, or a number of epoch seconds.
    fn timestamp(&mut self, name: &str) -> Result<Option<i64>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Time(ms)) => Ok(Some(ms)),
            Some(Value::Int(secs)) => Ok(Some(secs.saturating_mul(1000))),
            Some(Value::Float(secs)) if secs.is_finite() => Ok(Some((secs * 1000.0).round() as i64)),
            Some(other) => Err(type_error(name, &other, "Timestamp")),
        }
    }

    fn list(&mut self, name: &str) -> Result<Option<Vec<Value>>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::List(items)) => Ok(Some(items)),
            Some(other) => Err(type_error(name, &other, "List")),
        }
    }

    fn object(&mut self, name: &str) -> Result<Option<Input>> {
        match self.take(name) {
            None => Ok(None),
            Some(v @ Value::Map(_)) => Input::new(v).map(Some),
            Some(other) => Err(type_error(name, &other, "Structure")),
        }
    }

    /// A `TagMap` (1-200 entries; keys 1-128, values 0-256 characters).
    fn tags(&mut self, name: &str) -> Result<Option<Vec<(String, String)>>> {
        let Some(Value::Map(entries)) = self
            .take(name)
            .map(|v| match v {
                m @ Value::Map(_) => Ok(m),
                other => Err(type_error(name, &other, "Map")),
            })
            .transpose()?
        else {
            return Ok(None);
        };
        if entries.is_empty() || entries.len() > 200 {
            return Err(KinesisError::validation(
                "Value at 'tags' failed to satisfy constraint: Member must have length between 1 and 200",
            ));
        }
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let Value::Str(v) = v else {
                return Err(type_error(&k, &v, "String"));
            };
            check_len("tags.key", &k, 1, 128)?;
            check_len("tags.value", &v, 0, 256)?;
            out.push((k.into_owned(), v));
        }
        Ok(Some(out))
    }

    fn tag_keys(&mut self) -> Result<Vec<String>> {
        let items = required(self.list("TagKeys")?, "tagKeys")?;
        if items.is_empty() || items.len() > 50 {
            return Err(KinesisError::validation(
                "Value at 'tagKeys' failed to satisfy constraint: Member must have length between 1 and 50",
            ));
        }
        let mut keys = Vec::with_capacity(items.len());
        for item in items {
            let Value::Str(k) = item else {
                return Err(type_error("TagKeys", &item, "String"));
            };
            check_len("tagKeys.member", &k, 1, 128)?;
            keys.push(k);
        }
        Ok(keys)
    }

    /// `StreamName` and/or `StreamARN`; one of them is required.
    fn stream_ref(&mut self) -> Result<StreamRef> {
        let r = self.stream_ref_optional()?;
        if r.name.is_none() && r.arn.is_none() {
            // AWS names the member it looked for first.
            return Err(missing("streamName"));
        }
        Ok(r)
    }

    fn stream_ref_optional(&mut self) -> Result<StreamRef> {
        let name = self.string("StreamName")?;
        if let Some(n) = &name {
            check_stream_name("streamName", n)?;
        }
        let arn = self.string("StreamARN")?;
        if let Some(a) = &arn {
            check_stream_arn("streamARN", a)?;
        }
        let _stream_id = self.string("StreamId")?;
        Ok(StreamRef { name, arn })
    }

    /// `ConsumerARN`, or `StreamARN` with `ConsumerName`.
    fn consumer_ref(&mut self) -> Result<ConsumerRef> {
        let stream_arn = self.string("StreamARN")?;
        if let Some(a) = &stream_arn {
            check_stream_arn("streamARN", a)?;
        }
        let consumer_name = self.string("ConsumerName")?;
        if let Some(n) = &consumer_name {
            check_stream_name("consumerName", n)?;
        }
        let consumer_arn = self.string("ConsumerARN")?;
        if let Some(a) = &consumer_arn {
            check_consumer_arn("consumerARN", a)?;
        }
        let _stream_id = self.string("StreamId")?;
        match (consumer_arn, stream_arn, consumer_name) {
            (Some(arn), _, _) => Ok(ConsumerRef::Arn(arn)),
            (None, Some(stream_arn), Some(consumer_name)) => Ok(ConsumerRef::Name {
                stream_arn,
                consumer_name,
            }),
            _ => Err(KinesisError::invalid(
                "Either ConsumerARN or both StreamARN and ConsumerName must be provided.",
            )),
        }
    }

    fn resource_arn(&mut self) -> Result<String> {
        let arn = required(self.string("ResourceARN")?, "resourceARN")?;
        check_resource_arn("resourceARN", &arn)?;
        let _stream_id = self.string("StreamId")?;
        Ok(arn)
    }
}

fn type_error(name: &str, got: &Value, want: &str) -> KinesisError {
    let kind = match got {
        Value::Null => "NULL_VALUE",
        Value::Bool(_) => "BOOLEAN_VALUE",
        Value::Int(_) | Value::Float(_) => "NUMBER_VALUE",
        Value::Str(_) => "STRING_VALUE",
        Value::Bytes(_) => "BLOB_VALUE",
        Value::List(_) => "START_ARRAY",
        Value::Map(_) => "START_OBJECT",
        Value::Time(_) => "TIMESTAMP_VALUE",
    };
    KinesisError::serialization(format!("{kind} can not be converted to {want} (member {name})"))
}

#[cfg(test)]
mod tests {
    use super::super::arn::{parse_consumer_arn, ConsumerArn};
    use super::super::error::KinesisErrorCode;
    use super::super::types::IteratorType;
    use super::super::value::decode_json;
    use super::*;

    fn decode(action: KinesisAction, json: &str) -> Result<KinesisRequest> {
        decode_request(action, decode_json(json.as_bytes()).expect("json"))
    }

    fn code(r: Result<KinesisRequest>) -> KinesisErrorCode {
        r.expect_err("should fail").code
    }

    #[test]
    fn put_record_decodes_base64_and_hash_key() {
        let r = decode(
            KinesisAction::PutRecord,
            r#"{"StreamName":"s","Data":"aGk=","PartitionKey":"k","ExplicitHashKey":"340282366920938463463374607431768211455"}"#,
        )
        .expect("ok");
        let KinesisRequest::PutRecord { entry, .. } = r else {
            panic!("{r:?}")
        };
        assert_eq!(entry.data, b"hi");
        assert_eq!(entry.explicit_hash_key, Some(u128::MAX));
    }

    #[test]
    fn shape_violations_are_validation_and_type_errors_serialization() {
        use KinesisAction as A;
        use KinesisErrorCode as C;
        let table: &[(A, &str, C)] = &[
            (A::CreateStream, r#"{"ShardCount":1}"#, C::Validation),
            (
                A::CreateStream,
                r#"{"StreamName":"bad name","ShardCount":1}"#,
                C::Validation,
            ),
            (A::CreateStream, r#"{"StreamName":"s","ShardCount":0}"#, C::Validation),
            (
                A::CreateStream,
                r#"{"StreamName":"s","ShardCount":"1"}"#,
                C::Serialization,
            ),
            (
                A::PutRecord,
                r#"{"StreamName":"s","Data":"!!!","PartitionKey":"k"}"#,
                C::Serialization,
            ),
            (
                A::PutRecord,
                r#"{"StreamName":"s","Data":"aGk=","PartitionKey":""}"#,
                C::Validation,
            ),
            (
                A::PutRecord,
                r#"{"StreamName":"s","Data":"aGk=","PartitionKey":"k","ExplicitHashKey":"01"}"#,
                C::Validation,
            ),
            (
                A::PutRecord,
                r#"{"StreamName":"s","Data":"aGk=","PartitionKey":"k","ExplicitHashKey":"340282366920938463463374607431768211456"}"#,
                C::InvalidArgument,
            ),
            (A::PutRecord, r#"{"Data":"aGk=","PartitionKey":"k"}"#, C::Validation),
            (A::PutRecords, r#"{"StreamName":"s","Records":[]}"#, C::Validation),
            (
                A::GetShardIterator,
                r#"{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"OLDEST"}"#,
                C::Validation,
            ),
            (A::GetRecords, r#"{"ShardIterator":"x","Limit":10001}"#, C::Validation),
            (
                A::DescribeStream,
                r#"{"StreamARN":"arn:aws:sqs:us-east-1:000000000000:q"}"#,
                C::Validation,
            ),
            (
                A::UpdateShardCount,
                r#"{"StreamName":"s","TargetShardCount":2,"ScalingType":"X"}"#,
                C::Validation,
            ),
            (A::ListStreams, r#"[1]"#, C::Serialization),
            (
                A::RegisterStreamConsumer,
                r#"{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s"}"#,
                C::Validation,
            ),
            (
                A::RegisterStreamConsumer,
                r#"{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s","ConsumerName":"a b"}"#,
                C::Validation,
            ),
            (A::DescribeStreamConsumer, r#"{"ConsumerName":"c"}"#, C::InvalidArgument),
            (
                A::DeregisterStreamConsumer,
                r#"{"ConsumerARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c"}"#,
                C::Validation,
            ),
            (
                A::ListStreamConsumers,
                r#"{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s","MaxResults":0}"#,
                C::Validation,
            ),
            (
                A::SubscribeToShard,
                r#"{"ConsumerARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1","ShardId":"shardId-000000000000"}"#,
                C::Validation,
            ),
            (
                A::SubscribeToShard,
                r#"{"ConsumerARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1","ShardId":"shardId-000000000000","StartingPosition":{"Type":"NEWEST"}}"#,
                C::Validation,
            ),
            (
                A::SubscribeToShard,
                r#"{"ConsumerARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1","ShardId":"shardId-000000000000","StartingPosition":{"Type":"AT_SEQUENCE_NUMBER","SequenceNumber":"01"}}"#,
                C::Validation,
            ),
        ];
        for (action, body, want) in table {
            assert_eq!(code(decode(*action, body)), *want, "{action:?} {body}");
        }
    }

    #[test]
    fn subscribe_to_shard_decodes_its_starting_position_and_consumer_arn() {
        let r = decode(
            KinesisAction::SubscribeToShard,
            r#"{"ConsumerARN":"arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c-1:1700000000","ShardId":"shardId-000000000003","StartingPosition":{"Type":"AT_TIMESTAMP","Timestamp":1700000000.5}}"#,
        )
        .expect("valid");
        let KinesisRequest::SubscribeToShard {
            consumer_arn,
            shard_id,
            starting_position,
        } = r
        else {
            panic!("wrong request: {r:?}");
        };
        assert_eq!(shard_id, "shardId-000000000003");
        assert_eq!(starting_position.kind, IteratorType::AtTimestamp);
        assert_eq!(starting_position.timestamp_ms, Some(1_700_000_000_500));
        let parsed = parse_consumer_arn(&consumer_arn).expect("consumer ARN");
        assert_eq!(
            parsed,
            ConsumerArn {
                region: "us-east-1".into(),
                account: "123456789012".into(),
                stream: "s".into(),
                consumer: "c-1".into(),
                created_secs: 1_700_000_000,
            }
        );
        assert!(parse_consumer_arn("arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:").is_none());
        assert!(parse_consumer_arn("arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c d:1").is_none());
    }
}
