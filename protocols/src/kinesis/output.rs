//! Typed Kinesis responses: one struct per output shape the server answers with, named and
//! membered after the service model (botocore `kinesis/2013-12-02/service-2.json`).
//!
//! Handlers fill these in and convert once, through [`ToValue`], into the [`Value`] tree that
//! [`super::Encoding::encode`] writes as JSON 1.1 or CBOR, so member names are spelled only here.
//! Conventions:
//! - Members the model marks optional are `Option`s and are omitted when `None`; the one
//!   exception is noted on [`SubscribeToShardEvent::continuation_sequence_number`].
//! - Members are encoded in the model's order (one exception, on `StreamDescriptionSummary`).
//! - Blobs are `Vec<u8>` (moved into [`Value::Bytes`], never copied); timestamps are epoch
//!   milliseconds ([`Value::Time`]); integers and longs are `i64`, [`Value::Int`]'s width.
//! - Status names the core owns (`StreamStatus`, `ConsumerStatus`) are its `&'static str`
//!   wire names: this crate does not depend on the core.
//! - Members the server never sends (`StreamId`, `EarliestAllowedEndAt`) are left out.

use super::types::StreamMode;
use super::value::{Obj, Value};

/// Converts a response shape into the document tree both encodings write.
pub trait ToValue {
    /// The shape as a document; consumes it so blobs and strings move instead of copying.
    fn to_value(self) -> Value;
}

impl ToValue for String {
    fn to_value(self) -> Value {
        Value::Str(self)
    }
}

impl<T: ToValue> ToValue for Vec<T> {
    fn to_value(self) -> Value {
        // `collect` over a `vec::IntoIter` allocates the exact length once.
        Value::List(self.into_iter().map(ToValue::to_value).collect())
    }
}

/// Adds an optional member of any typed shape.
fn opt<T: ToValue>(obj: Obj, key: &'static str, value: Option<T>) -> Obj {
    obj.opt(key, value.map(ToValue::to_value))
}

/// The `{}` answer of calls whose model output has no members (or no output shape at all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmptyOutput;

impl ToValue for EmptyOutput {
    fn to_value(self) -> Value {
        Obj::new().build()
    }
}

/// `EncryptionType`: the server-side encryption a stream or record has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncryptionType {
    /// Not encrypted.
    None,
    /// Encrypted with a KMS key.
    Kms,
}

impl EncryptionType {
    /// `Kms` when `encrypted`, so callers holding a flag need no `if`.
    pub fn from_encrypted(encrypted: bool) -> EncryptionType {
        if encrypted {
            EncryptionType::Kms
        } else {
            EncryptionType::None
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EncryptionType::None => "NONE",
            EncryptionType::Kms => "KMS",
        }
    }
}

impl ToValue for EncryptionType {
    fn to_value(self) -> Value {
        Value::Str(self.as_str().to_string())
    }
}

// ---------------------------------------------------------------------------
// Records

/// The answer of PutRecord.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutRecordOutput {
    /// `ShardId`.
    pub shard_id: String,
    /// `SequenceNumber`.
    pub sequence_number: String,
    /// `EncryptionType`.
    pub encryption_type: Option<EncryptionType>,
}

impl ToValue for PutRecordOutput {
    fn to_value(self) -> Value {
        let obj = Obj::with_capacity(3)
            .s("ShardId", self.shard_id)
            .s("SequenceNumber", self.sequence_number);
        opt(obj, "EncryptionType", self.encryption_type).build()
    }
}

/// The answer of PutRecords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutRecordsOutput {
    /// `FailedRecordCount`.
    pub failed_record_count: Option<i64>,
    /// `Records`, one per request entry, in request order.
    pub records: Vec<PutRecordsResultEntry>,
    /// `EncryptionType`.
    pub encryption_type: Option<EncryptionType>,
}

impl ToValue for PutRecordsOutput {
    fn to_value(self) -> Value {
        let obj = Obj::with_capacity(3).opt("FailedRecordCount", self.failed_record_count.map(Value::Int));
        let obj = obj.set("Records", self.records.to_value());
        opt(obj, "EncryptionType", self.encryption_type).build()
    }
}

/// One entry of PutRecords' `Records`: a sequence number and shard, or an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutRecordsResultEntry {
    /// `SequenceNumber`, when stored.
    pub sequence_number: Option<String>,
    /// `ShardId`, when stored.
    pub shard_id: Option<String>,
    /// `ErrorCode`, when refused.
    pub error_code: Option<String>,
    /// `ErrorMessage`, when refused.
    pub error_message: Option<String>,
}

impl ToValue for PutRecordsResultEntry {
    fn to_value(self) -> Value {
        Obj::with_capacity(2)
            .opt_s("SequenceNumber", self.sequence_number)
            .opt_s("ShardId", self.shard_id)
            .opt_s("ErrorCode", self.error_code)
            .opt_s("ErrorMessage", self.error_message)
            .build()
    }
}

/// The answer of GetShardIterator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetShardIteratorOutput {
    /// `ShardIterator`.
    pub shard_iterator: Option<String>,
}

impl ToValue for GetShardIteratorOutput {
    fn to_value(self) -> Value {
        Obj::with_capacity(1)
            .opt_s("ShardIterator", self.shard_iterator)
            .build()
    }
}

/// The answer of GetRecords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetRecordsOutput {
    /// `Records`.
    pub records: Vec<Record>,
    /// `NextShardIterator`; absent once a closed shard is fully read.
    pub next_shard_iterator: Option<String>,
    /// `MillisBehindLatest`.
    pub millis_behind_latest: Option<i64>,
    /// `ChildShards`, at the end of a closed shard.
    pub child_shards: Option<Vec<ChildShard>>,
}

impl ToValue for GetRecordsOutput {
    fn to_value(self) -> Value {
        let obj = Obj::with_capacity(4)
            .set("Records", self.records.to_value())
            .opt_s("NextShardIterator", self.next_shard_iterator)
            .opt("MillisBehindLatest", self.millis_behind_latest.map(Value::Int));
        opt(obj, "ChildShards", self.child_shards).build()
    }
}

/// A `Record` of GetRecords and of SubscribeToShard events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// `SequenceNumber`.
    pub sequence_number: String,
    /// `ApproximateArrivalTimestamp`, epoch milliseconds.
    pub approximate_arrival_timestamp: Option<i64>,
    /// `Data`.
    pub data: Vec<u8>,
    /// `PartitionKey`.
    pub partition_key: String,
    /// `EncryptionType`.
    pub encryption_type: Option<EncryptionType>,
}

impl ToValue for Record {
    fn to_value(self) -> Value {
        let obj = Obj::with_capacity(5)
            .s("SequenceNumber", self.sequence_number)
            .opt(
                "ApproximateArrivalTimestamp",
                self.approximate_arrival_timestamp.map(Value::Time),
            )
            .set("Data", Value::Bytes(self.data))
            .s("PartitionKey", self.partition_key);
        opt(obj, "EncryptionType", self.encryption_type).build()
    }
}

/// A `ChildShard`: a shard to read after a closed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildShard {
    /// `ShardId`.
    pub shard_id: String,
    /// `ParentShards`.
    pub parent_shards: Vec<String>,
    /// `HashKeyRange`.
    pub hash_key_range: HashKeyRange,
}

impl ToValue for ChildShard {
    fn to_value(self) -> Value {
        Obj::with_capacity(3)
            .s("ShardId", self.shard_id)
            .set("ParentShards", self.parent_shards.to_value())
            .set("HashKeyRange", self.hash_key_range.to_value())
            .build()
    }
}

/// A `SubscribeToShardEvent`: the payload of each event of SubscribeToShard's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeToShardEvent {
    /// `Records`.
    pub records: Vec<Record>,
    /// `ContinuationSequenceNumber`. Required by the model, yet absent once a closed shard is
    /// fully read: there is nowhere to continue from, and `ChildShards` says where to go.
    pub continuation_sequence_number: Option<String>,
    /// `MillisBehindLatest`.
    pub millis_behind_latest: i64,
    /// `ChildShards`, at the end of a closed shard.
    pub child_shards: Option<Vec<ChildShard>>,
}

impl ToValue for SubscribeToShardEvent {
    fn to_value(self) -> Value {
        let obj = Obj::with_capacity(4)
            .set("Records", self.records.to_value())
            .opt_s("ContinuationSequenceNumber", self.continuation_sequence_number)
            .i("MillisBehindLatest", self.millis_behind_latest);
        opt(obj, "ChildShards", self.child_shards).build()
    }
}

// ---------------------------------------------------------------------------
// Shards

/// A `HashKeyRange`, in decimal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashKeyRange {
    /// `StartingHashKey`.
    pub starting_hash_key: String,
    /// `EndingHashKey`.
    pub ending_hash_key: String,
}

impl ToValue for HashKeyRange {
    fn to_value(self) -> Value {
        Obj::with_capacity(2)
            .s("StartingHashKey", self.starting_hash_key)
            .s("EndingHashKey", self.ending_hash_key)
            .build()
    }
}

/// A `SequenceNumberRange`; open-ended while the shard is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceNumberRange {
    /// `StartingSequenceNumber`.
    pub starting_sequence_number: String,
    /// `EndingSequenceNumber`, once the shard is closed.
    pub ending_sequence_number: Option<String>,
}

impl ToValue for SequenceNumberRange {
    fn to_value(self) -> Value {
        Obj::with_capacity(2)
            .s("StartingSequenceNumber", self.starting_sequence_number)
            .opt_s("EndingSequenceNumber", self.ending_sequence_number)
            .build()
    }
}

/// A `Shard` of ListShards and DescribeStream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// `ShardId`.
    pub shard_id: String,
    /// `ParentShardId`.
    pub parent_shard_id: Option<String>,
    /// `AdjacentParentShardId`, for a shard made by a merge.
    pub adjacent_parent_shard_id: Option<String>,
    /// `HashKeyRange`.
    pub hash_key_range: HashKeyRange,
    /// `SequenceNumberRange`.
    pub sequence_number_range: SequenceNumberRange,
}

impl ToValue for Shard {
    fn to_value(self) -> Value {
        Obj::with_capacity(5)
            .s("ShardId", self.shard_id)
            .opt_s("ParentShardId", self.parent_shard_id)
            .opt_s("AdjacentParentShardId", self.adjacent_parent_shard_id)
            .set("HashKeyRange", self.hash_key_range.to_value())
            .set("SequenceNumberRange", self.sequence_number_range.to_value())
            .build()
    }
}

/// The answer of ListShards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListShardsOutput {
    /// `Shards`.
    pub shards: Option<Vec<Shard>>,
    /// `NextToken`, when more shards follow.
    pub next_token: Option<String>,
}

impl ToValue for ListShardsOutput {
    fn to_value(self) -> Value {
        opt(Obj::with_capacity(2), "Shards", self.shards)
            .opt_s("NextToken", self.next_token)
            .build()
    }
}

/// The answer of UpdateShardCount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateShardCountOutput {
    /// `StreamName`.
    pub stream_name: Option<String>,
    /// `CurrentShardCount`.
    pub current_shard_count: Option<i64>,
    /// `TargetShardCount`.
    pub target_shard_count: Option<i64>,
    /// `StreamARN`.
    pub stream_arn: Option<String>,
}

impl ToValue for UpdateShardCountOutput {
    fn to_value(self) -> Value {
        Obj::with_capacity(4)
            .opt_s("StreamName", self.stream_name)
            .opt("CurrentShardCount", self.current_shard_count.map(Value::Int))
            .opt("TargetShardCount", self.target_shard_count.map(Value::Int))
            .opt_s("StreamARN", self.stream_arn)
            .build()
    }
}

// ---------------------------------------------------------------------------
// Streams

/// `StreamModeDetails`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamModeDetails {
    /// `StreamMode`.
    pub stream_mode: StreamMode,
}

impl ToValue for StreamModeDetails {
    fn to_value(self) -> Value {
        Obj::with_capacity(1).s("StreamMode", self.stream_mode.as_str()).build()
    }
}

/// `EnhancedMetrics`: the shard-level metrics enabled on a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnhancedMetrics {
    /// `ShardLevelMetrics`.
    pub shard_level_metrics: Option<Vec<String>>,
}

impl ToValue for EnhancedMetrics {
    fn to_value(self) -> Value {
        opt(Obj::with_capacity(1), "ShardLevelMetrics", self.shard_level_metrics).build()
    }
}

/// A `WarmThroughputObject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WarmThroughputObject {
    /// `TargetMiBps`.
    pub target_mi_bps: Option<i64>,
    /// `CurrentMiBps`.
    pub current_mi_bps: Option<i64>,
}

impl ToValue for WarmThroughputObject {
    fn to_value(self) -> Value {
        Obj::with_capacity(2)
            .opt("TargetMiBps", self.target_mi_bps.map(Value::Int))
            .opt("CurrentMiBps", self.current_mi_bps.map(Value::Int))
            .build()
    }
}

/// A `StreamDescription`: a stream and one page of its shards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamDescription {
    /// `StreamName`.
    pub stream_name: String,
    /// `StreamARN`.
    pub stream_arn: String,
    /// `StreamStatus`.
    pub stream_status: &'static str,
    /// `StreamModeDetails`.
    pub stream_mode_details: Option<StreamModeDetails>,
    /// `Shards`.
    pub shards: Vec<Shard>,
    /// `HasMoreShards`.
    pub has_more_shards: bool,
    /// `RetentionPeriodHours`.
    pub retention_period_hours: i64,
    /// `StreamCreationTimestamp`, epoch milliseconds.
    pub stream_creation_timestamp: i64,
    /// `EnhancedMonitoring`.
    pub enhanced_monitoring: Vec<EnhancedMetrics>,
    /// `EncryptionType`.
    pub encryption_type: Option<EncryptionType>,
    /// `KeyId`, when encrypted.
    pub key_id: Option<String>,
}

impl ToValue for StreamDescription {
    fn to_value(self) -> Value {
        let obj = Obj::with_capacity(11)
            .s("StreamName", self.stream_name)
            .s("StreamARN", self.stream_arn)
            .s("StreamStatus", self.stream_status);
        let obj = opt(obj, "StreamModeDetails", self.stream_mode_details)
            .set("Shards", self.shards.to_value())
            .b("HasMoreShards", self.has_more_shards)
            .i("RetentionPeriodHours", self.retention_period_hours)
            .t("StreamCreationTimestamp", self.stream_creation_timestamp)
            .set("EnhancedMonitoring", self.enhanced_monitoring.to_value());
        opt(obj, "EncryptionType", self.encryption_type)
            .opt_s("KeyId", self.key_id)
            .build()
    }
}

/// The answer of DescribeStream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeStreamOutput {
    /// `StreamDescription`.
    pub stream_description: StreamDescription,
}

impl ToValue for DescribeStreamOutput {
    fn to_value(self) -> Value {
        Obj::with_capacity(1)
            .set("StreamDescription", self.stream_description.to_value())
            .build()
    }
}

/// A `StreamDescriptionSummary`: a stream without its shards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamDescriptionSummary {
    /// `StreamName`.
    pub stream_name: String,
    /// `StreamARN`.
    pub stream_arn: String,
    /// `StreamStatus`.
    pub stream_status: &'static str,
    /// `StreamModeDetails`.
    pub stream_mode_details: Option<StreamModeDetails>,
    /// `RetentionPeriodHours`.
    pub retention_period_hours: i64,
    /// `StreamCreationTimestamp`, epoch milliseconds.
    pub stream_creation_timestamp: i64,
    /// `EnhancedMonitoring`.
    pub enhanced_monitoring: Vec<EnhancedMetrics>,
    /// `EncryptionType`.
    pub encryption_type: Option<EncryptionType>,
    /// `KeyId`, when encrypted.
    pub key_id: Option<String>,
    /// `OpenShardCount`.
    pub open_shard_count: i64,
    /// `ConsumerCount`.
    pub consumer_count: Option<i64>,
    /// `WarmThroughput`, once one was asked for.
    pub warm_throughput: Option<WarmThroughputObject>,
    /// `MaxRecordSizeInKiB`.
    pub max_record_size_in_kib: Option<i64>,
}

impl ToValue for StreamDescriptionSummary {
    fn to_value(self) -> Value {
        let obj = Obj::with_capacity(13)
            .s("StreamName", self.stream_name)
            .s("StreamARN", self.stream_arn)
            .s("StreamStatus", self.stream_status);
        let obj = opt(obj, "StreamModeDetails", self.stream_mode_details)
            .i("RetentionPeriodHours", self.retention_period_hours)
            .t("StreamCreationTimestamp", self.stream_creation_timestamp)
            .set("EnhancedMonitoring", self.enhanced_monitoring.to_value());
        let obj = opt(obj, "EncryptionType", self.encryption_type)
            .opt_s("KeyId", self.key_id)
            .i("OpenShardCount", self.open_shard_count)
            .opt("ConsumerCount", self.consumer_count.map(Value::Int));
        // MaxRecordSizeInKiB before WarmThroughput, the model's order reversed: the order
        // this answer had before it was typed, kept so bodies stay byte-identical.
        let obj = obj.opt("MaxRecordSizeInKiB", self.max_record_size_in_kib.map(Value::Int));
        opt(obj, "WarmThroughput", self.warm_throughput).build()
    }
}

/// The answer of DescribeStreamSummary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeStreamSummaryOutput {
    /// `StreamDescriptionSummary`.
    pub stream_description_summary: StreamDescriptionSummary,
}

impl ToValue for DescribeStreamSummaryOutput {
    fn to_value(self) -> Value {
        Obj::with_capacity(1)
            .set("StreamDescriptionSummary", self.stream_description_summary.to_value())
            .build()
    }
}

/// A `StreamSummary` of ListStreams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSummary {
    /// `StreamName`.
    pub stream_name: String,
    /// `StreamARN`.
    pub stream_arn: String,
    /// `StreamStatus`.
    pub stream_status: &'static str,
    /// `StreamModeDetails`.
    pub stream_mode_details: Option<StreamModeDetails>,
    /// `StreamCreationTimestamp`, epoch milliseconds.
    pub stream_creation_timestamp: Option<i64>,
}

impl ToValue for StreamSummary {
    fn to_value(self) -> Value {
        let obj = Obj::with_capacity(5)
            .s("StreamName", self.stream_name)
            .s("StreamARN", self.stream_arn)
            .s("StreamStatus", self.stream_status);
        opt(obj, "StreamModeDetails", self.stream_mode_details)
            .opt(
                "StreamCreationTimestamp",
                self.stream_creation_timestamp.map(Value::Time),
            )
            .build()
    }
}

/// The answer of ListStreams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListStreamsOutput {
    /// `StreamNames`.
    pub stream_names: Vec<String>,
    /// `HasMoreStreams`.
    pub has_more_streams: bool,
    /// `NextToken`, when more streams follow.
    pub next_token: Option<String>,
    /// `StreamSummaries`.
    pub stream_summaries: Option<Vec<StreamSummary>>,
}

impl ToValue for ListStreamsOutput {
    fn to_value(self) -> Value {
        let obj = Obj::with_capacity(4)
            .set("StreamNames", self.stream_names.to_value())
            .b("HasMoreStreams", self.has_more_streams)
            .opt_s("NextToken", self.next_token);
        opt(obj, "StreamSummaries", self.stream_summaries).build()
    }
}

/// The answer of UpdateStreamWarmThroughput.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateStreamWarmThroughputOutput {
    /// `StreamARN`.
    pub stream_arn: Option<String>,
    /// `StreamName`.
    pub stream_name: Option<String>,
    /// `WarmThroughput`.
    pub warm_throughput: Option<WarmThroughputObject>,
}

impl ToValue for UpdateStreamWarmThroughputOutput {
    fn to_value(self) -> Value {
        let obj = Obj::with_capacity(3)
            .opt_s("StreamARN", self.stream_arn)
            .opt_s("StreamName", self.stream_name);
        opt(obj, "WarmThroughput", self.warm_throughput).build()
    }
}

/// The answer of Enable/DisableEnhancedMonitoring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnhancedMonitoringOutput {
    /// `StreamName`.
    pub stream_name: Option<String>,
    /// `CurrentShardLevelMetrics`: before the change.
    pub current_shard_level_metrics: Option<Vec<String>>,
    /// `DesiredShardLevelMetrics`: after the change.
    pub desired_shard_level_metrics: Option<Vec<String>>,
    /// `StreamARN`.
    pub stream_arn: Option<String>,
}

impl ToValue for EnhancedMonitoringOutput {
    fn to_value(self) -> Value {
        let obj = Obj::with_capacity(4).opt_s("StreamName", self.stream_name);
        let obj = opt(obj, "CurrentShardLevelMetrics", self.current_shard_level_metrics);
        opt(obj, "DesiredShardLevelMetrics", self.desired_shard_level_metrics)
            .opt_s("StreamARN", self.stream_arn)
            .build()
    }
}

// ---------------------------------------------------------------------------
// Account

/// The answer of DescribeLimits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DescribeLimitsOutput {
    /// `ShardLimit`.
    pub shard_limit: i64,
    /// `OpenShardCount`.
    pub open_shard_count: i64,
    /// `OnDemandStreamCount`.
    pub on_demand_stream_count: i64,
    /// `OnDemandStreamCountLimit`.
    pub on_demand_stream_count_limit: i64,
}

impl ToValue for DescribeLimitsOutput {
    fn to_value(self) -> Value {
        Obj::with_capacity(4)
            .i("ShardLimit", self.shard_limit)
            .i("OpenShardCount", self.open_shard_count)
            .i("OnDemandStreamCount", self.on_demand_stream_count)
            .i("OnDemandStreamCountLimit", self.on_demand_stream_count_limit)
            .build()
    }
}

/// `MinimumThroughputBillingCommitmentOutputStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinimumThroughputBillingCommitmentStatus {
    /// The commitment is on.
    Enabled,
    /// The commitment is off.
    Disabled,
    /// Disabling was asked for, and takes effect at `EarliestAllowedEndAt`.
    EnabledUntilEarliestAllowedEnd,
}

impl MinimumThroughputBillingCommitmentStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            MinimumThroughputBillingCommitmentStatus::Enabled => "ENABLED",
            MinimumThroughputBillingCommitmentStatus::Disabled => "DISABLED",
            MinimumThroughputBillingCommitmentStatus::EnabledUntilEarliestAllowedEnd => {
                "ENABLED_UNTIL_EARLIEST_ALLOWED_END"
            }
        }
    }
}

/// A `MinimumThroughputBillingCommitmentOutput`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinimumThroughputBillingCommitmentOutput {
    /// `Status`.
    pub status: MinimumThroughputBillingCommitmentStatus,
    /// `StartedAt`, epoch milliseconds.
    pub started_at: Option<i64>,
    /// `EndedAt`, epoch milliseconds.
    pub ended_at: Option<i64>,
}

impl ToValue for MinimumThroughputBillingCommitmentOutput {
    fn to_value(self) -> Value {
        Obj::with_capacity(3)
            .s("Status", self.status.as_str())
            .opt("StartedAt", self.started_at.map(Value::Time))
            .opt("EndedAt", self.ended_at.map(Value::Time))
            .build()
    }
}

/// The answer of DescribeAccountSettings and of UpdateAccountSettings (the same shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountSettingsOutput {
    /// `MinimumThroughputBillingCommitment`.
    pub minimum_throughput_billing_commitment: Option<MinimumThroughputBillingCommitmentOutput>,
}

/// The answer of DescribeAccountSettings.
pub type DescribeAccountSettingsOutput = AccountSettingsOutput;
/// The answer of UpdateAccountSettings.
pub type UpdateAccountSettingsOutput = AccountSettingsOutput;

impl ToValue for AccountSettingsOutput {
    fn to_value(self) -> Value {
        opt(
            Obj::with_capacity(1),
            "MinimumThroughputBillingCommitment",
            self.minimum_throughput_billing_commitment,
        )
        .build()
    }
}

// ---------------------------------------------------------------------------
// Tags and policies

/// A `Tag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// `Key`.
    pub key: String,
    /// `Value`.
    pub value: Option<String>,
}

impl ToValue for Tag {
    fn to_value(self) -> Value {
        Obj::with_capacity(2)
            .s("Key", self.key)
            .opt_s("Value", self.value)
            .build()
    }
}

/// The answer of ListTagsForStream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListTagsForStreamOutput {
    /// `Tags`.
    pub tags: Vec<Tag>,
    /// `HasMoreTags`.
    pub has_more_tags: bool,
}

impl ToValue for ListTagsForStreamOutput {
    fn to_value(self) -> Value {
        Obj::with_capacity(2)
            .set("Tags", self.tags.to_value())
            .b("HasMoreTags", self.has_more_tags)
            .build()
    }
}

/// The answer of ListTagsForResource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListTagsForResourceOutput {
    /// `Tags`.
    pub tags: Option<Vec<Tag>>,
}

impl ToValue for ListTagsForResourceOutput {
    fn to_value(self) -> Value {
        opt(Obj::with_capacity(1), "Tags", self.tags).build()
    }
}

/// The answer of GetResourcePolicy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetResourcePolicyOutput {
    /// `Policy`, `{}` when none is attached.
    pub policy: String,
}

impl ToValue for GetResourcePolicyOutput {
    fn to_value(self) -> Value {
        Obj::with_capacity(1).s("Policy", self.policy).build()
    }
}

// ---------------------------------------------------------------------------
// Consumers

/// A `Consumer` of RegisterStreamConsumer and ListStreamConsumers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    /// `ConsumerName`.
    pub consumer_name: String,
    /// `ConsumerARN`.
    pub consumer_arn: String,
    /// `ConsumerStatus`.
    pub consumer_status: &'static str,
    /// `ConsumerCreationTimestamp`, epoch milliseconds.
    pub consumer_creation_timestamp: i64,
}

impl Consumer {
    /// The members `Consumer` shares with `ConsumerDescription`, which adds one more.
    fn into_obj(self, capacity: usize) -> Obj {
        Obj::with_capacity(capacity)
            .s("ConsumerName", self.consumer_name)
            .s("ConsumerARN", self.consumer_arn)
            .s("ConsumerStatus", self.consumer_status)
            .t("ConsumerCreationTimestamp", self.consumer_creation_timestamp)
    }
}

impl ToValue for Consumer {
    fn to_value(self) -> Value {
        self.into_obj(4).build()
    }
}

/// A `ConsumerDescription` of DescribeStreamConsumer: a `Consumer` and its stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerDescription {
    /// The `Consumer` members.
    pub consumer: Consumer,
    /// `StreamARN`.
    pub stream_arn: String,
}

impl ToValue for ConsumerDescription {
    fn to_value(self) -> Value {
        self.consumer.into_obj(5).s("StreamARN", self.stream_arn).build()
    }
}

/// The answer of RegisterStreamConsumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterStreamConsumerOutput {
    /// `Consumer`.
    pub consumer: Consumer,
}

impl ToValue for RegisterStreamConsumerOutput {
    fn to_value(self) -> Value {
        Obj::with_capacity(1).set("Consumer", self.consumer.to_value()).build()
    }
}

/// The answer of DescribeStreamConsumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeStreamConsumerOutput {
    /// `ConsumerDescription`.
    pub consumer_description: ConsumerDescription,
}

impl ToValue for DescribeStreamConsumerOutput {
    fn to_value(self) -> Value {
        Obj::with_capacity(1)
            .set("ConsumerDescription", self.consumer_description.to_value())
            .build()
    }
}

/// The answer of ListStreamConsumers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListStreamConsumersOutput {
    /// `Consumers`.
    pub consumers: Option<Vec<Consumer>>,
    /// `NextToken`, when more consumers follow.
    pub next_token: Option<String>,
}

impl ToValue for ListStreamConsumersOutput {
    fn to_value(self) -> Value {
        opt(Obj::with_capacity(2), "Consumers", self.consumers)
            .opt_s("NextToken", self.next_token)
            .build()
    }
}

// ---------------------------------------------------------------------------
// Tests

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value {
        Value::Str(text.to_string())
    }

    fn map(entries: Vec<(&'static str, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    #[test]
    fn absent_optional_members_are_omitted() {
        let ok = PutRecordsResultEntry {
            sequence_number: Some("1".into()),
            shard_id: Some("shardId-000000000000".into()),
            ..PutRecordsResultEntry::default()
        };
        assert_eq!(
            ok.to_value(),
            map(vec![("SequenceNumber", s("1")), ("ShardId", s("shardId-000000000000"))])
        );
        let out = ListShardsOutput {
            shards: Some(Vec::new()),
            next_token: None,
        };
        assert_eq!(out.to_value(), map(vec![("Shards", Value::List(Vec::new()))]));
        assert_eq!(EmptyOutput.to_value(), Value::Map(Vec::new()));
    }

    #[test]
    fn nested_shapes_are_nested_maps() {
        let shard = Shard {
            shard_id: "shardId-000000000002".into(),
            parent_shard_id: Some("shardId-000000000000".into()),
            adjacent_parent_shard_id: None,
            hash_key_range: HashKeyRange {
                starting_hash_key: "0".into(),
                ending_hash_key: "9".into(),
            },
            sequence_number_range: SequenceNumberRange {
                starting_sequence_number: "100".into(),
                ending_sequence_number: None,
            },
        };
        assert_eq!(
            ListShardsOutput {
                shards: Some(vec![shard]),
                next_token: Some("t".into()),
            }
            .to_value(),
            map(vec![
                (
                    "Shards",
                    Value::List(vec![map(vec![
                        ("ShardId", s("shardId-000000000002")),
                        ("ParentShardId", s("shardId-000000000000")),
                        (
                            "HashKeyRange",
                            map(vec![("StartingHashKey", s("0")), ("EndingHashKey", s("9"))])
                        ),
                        ("SequenceNumberRange", map(vec![("StartingSequenceNumber", s("100"))])),
                    ])])
                ),
                ("NextToken", s("t")),
            ])
        );
    }

    #[test]
    fn records_carry_blobs_as_bytes_and_timestamps_as_time() {
        let out = GetRecordsOutput {
            records: vec![Record {
                sequence_number: "7".into(),
                approximate_arrival_timestamp: Some(1_500),
                data: b"hi".to_vec(),
                partition_key: "pk".into(),
                encryption_type: Some(EncryptionType::from_encrypted(true)),
            }],
            next_shard_iterator: None,
            millis_behind_latest: Some(0),
            child_shards: Some(vec![ChildShard {
                shard_id: "shardId-000000000001".into(),
                parent_shards: vec!["shardId-000000000000".into()],
                hash_key_range: HashKeyRange {
                    starting_hash_key: "0".into(),
                    ending_hash_key: "1".into(),
                },
            }]),
        };
        assert_eq!(
            out.to_value(),
            map(vec![
                (
                    "Records",
                    Value::List(vec![map(vec![
                        ("SequenceNumber", s("7")),
                        ("ApproximateArrivalTimestamp", Value::Time(1_500)),
                        ("Data", Value::Bytes(b"hi".to_vec())),
                        ("PartitionKey", s("pk")),
                        ("EncryptionType", s("KMS")),
                    ])])
                ),
                ("MillisBehindLatest", Value::Int(0)),
                (
                    "ChildShards",
                    Value::List(vec![map(vec![
                        ("ShardId", s("shardId-000000000001")),
                        ("ParentShards", Value::List(vec![s("shardId-000000000000")])),
                        (
                            "HashKeyRange",
                            map(vec![("StartingHashKey", s("0")), ("EndingHashKey", s("1"))])
                        ),
                    ])])
                ),
            ])
        );
    }

    #[test]
    fn account_settings_timestamps_and_status() {
        let out = AccountSettingsOutput {
            minimum_throughput_billing_commitment: Some(MinimumThroughputBillingCommitmentOutput {
                status: MinimumThroughputBillingCommitmentStatus::Enabled,
                started_at: Some(2_000),
                ended_at: None,
            }),
        };
        assert_eq!(
            out.to_value(),
            map(vec![(
                "MinimumThroughputBillingCommitment",
                map(vec![("Status", s("ENABLED")), ("StartedAt", Value::Time(2_000))])
            )])
        );
    }

    #[test]
    fn consumer_description_extends_consumer() {
        let consumer = Consumer {
            consumer_name: "c".into(),
            consumer_arn: "arn:c".into(),
            consumer_status: "ACTIVE",
            consumer_creation_timestamp: 3_000,
        };
        let out = DescribeStreamConsumerOutput {
            consumer_description: ConsumerDescription {
                consumer,
                stream_arn: "arn:s".into(),
            },
        };
        assert_eq!(
            out.to_value(),
            map(vec![(
                "ConsumerDescription",
                map(vec![
                    ("ConsumerName", s("c")),
                    ("ConsumerARN", s("arn:c")),
                    ("ConsumerStatus", s("ACTIVE")),
                    ("ConsumerCreationTimestamp", Value::Time(3_000)),
                    ("StreamARN", s("arn:s")),
                ])
            )])
        );
    }
}
