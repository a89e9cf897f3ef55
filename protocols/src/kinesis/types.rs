//! Typed Kinesis requests: [`KinesisRequest`], one variant per action, and the field types its
//! variants carry (stream and consumer references, iterator and shard-filter types, capacity
//! mode, `PutRecords` entries), named after the service model (botocore
//! `kinesis/2013-12-02/service-2.json`).
//!
//! [`KinesisAction`] is here too: one variant per action, parsed once from
//! `X-Amz-Target: Kinesis_20131202.<Action>`.
//!
//! Requests are built by `decode::decode_request`, which checks each field against
//! `validate`; ARNs are parsed in [`super::arn`]. Their public paths stay reachable here
//! too: `types::{parse_stream_arn, parse_consumer_arn, ConsumerArn}`.

use crate::action::action_enum;

pub use super::arn::{parse_consumer_arn, parse_stream_arn, ConsumerArn};

action_enum!(
    /// Every Kinesis action of the 2013-12-02 API that Sluice serves.
    KinesisAction {
        AddTagsToStream,
        CreateStream,
        DecreaseStreamRetentionPeriod,
        DeleteResourcePolicy,
        DeleteStream,
        DeregisterStreamConsumer,
        DescribeAccountSettings,
        DescribeLimits,
        DescribeStream,
        DescribeStreamConsumer,
        DescribeStreamSummary,
        DisableEnhancedMonitoring,
        EnableEnhancedMonitoring,
        GetRecords,
        GetResourcePolicy,
        GetShardIterator,
        IncreaseStreamRetentionPeriod,
        ListShards,
        ListStreamConsumers,
        ListStreams,
        ListTagsForResource,
        ListTagsForStream,
        MergeShards,
        PutRecord,
        PutRecords,
        PutResourcePolicy,
        RegisterStreamConsumer,
        RemoveTagsFromStream,
        SplitShard,
        StartStreamEncryption,
        StopStreamEncryption,
        SubscribeToShard,
        TagResource,
        UntagResource,
        UpdateAccountSettings,
        UpdateMaxRecordSize,
        UpdateShardCount,
        UpdateStreamMode,
        UpdateStreamWarmThroughput,
    }
);

#[cfg(test)]
mod action_tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_is_none() {
        for action in KinesisAction::ALL {
            assert_eq!(KinesisAction::from_name(action.name()), Some(*action));
        }
        assert_eq!(KinesisAction::from_name("PutRecord"), Some(KinesisAction::PutRecord));
        assert_eq!(KinesisAction::from_name("putrecord"), None);
        assert_eq!(
            KinesisAction::from_name("SubscribeToShard"),
            Some(KinesisAction::SubscribeToShard)
        );
        assert_eq!(KinesisAction::from_name("StartStreamConsumer"), None);
    }
}

/// Names a stream by name, ARN or both (AWS accepts either on most actions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamRef {
    /// `StreamName`.
    pub name: Option<String>,
    /// `StreamARN`.
    pub arn: Option<String>,
}

/// Capacity mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamMode {
    /// Shards are managed by the user.
    Provisioned,
    /// Shards are managed by the service.
    OnDemand,
}

impl StreamMode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamMode::Provisioned => "PROVISIONED",
            StreamMode::OnDemand => "ON_DEMAND",
        }
    }
}

/// `ShardIteratorType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IteratorType {
    /// At a given sequence number.
    AtSequenceNumber,
    /// Just after a given sequence number.
    AfterSequenceNumber,
    /// The oldest retained record.
    TrimHorizon,
    /// Just after the newest record at the time of the call.
    Latest,
    /// The first record at or after a time.
    AtTimestamp,
}

/// `ShardFilterType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardFilterType {
    /// Shards whose id sorts after the given one.
    AfterShardId,
    /// Shards open at the trim horizon.
    AtTrimHorizon,
    /// Every shard from the trim horizon on.
    FromTrimHorizon,
    /// Open shards.
    AtLatest,
    /// Shards open at a time.
    AtTimestamp,
    /// Shards open at a time and every later one.
    FromTimestamp,
}

/// `ShardFilter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardFilter {
    /// Type.
    pub kind: ShardFilterType,
    /// For AFTER_SHARD_ID.
    pub shard_id: Option<String>,
    /// For AT_TIMESTAMP / FROM_TIMESTAMP, epoch ms.
    pub timestamp_ms: Option<i64>,
}

/// One `PutRecords` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutRecordsEntry {
    /// Payload.
    pub data: Vec<u8>,
    /// Partition key.
    pub partition_key: String,
    /// Explicit hash key.
    pub explicit_hash_key: Option<u128>,
}

/// Names a stream consumer: by `ConsumerARN`, or by `StreamARN` and `ConsumerName`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerRef {
    /// `ConsumerARN`.
    Arn(String),
    /// `StreamARN` and `ConsumerName`.
    Name {
        /// StreamARN.
        stream_arn: String,
        /// ConsumerName.
        consumer_name: String,
    },
}

/// SubscribeToShard's `StartingPosition`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartingPosition {
    /// Type.
    pub kind: IteratorType,
    /// SequenceNumber, for AT_ and AFTER_SEQUENCE_NUMBER.
    pub sequence_number: Option<String>,
    /// Timestamp (epoch ms), for AT_TIMESTAMP.
    pub timestamp_ms: Option<i64>,
}

/// A decoded, shape-validated Kinesis request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KinesisRequest {
    /// CreateStream.
    CreateStream {
        /// Name.
        name: String,
        /// ShardCount (required for provisioned streams, checked by the core).
        shard_count: Option<i64>,
        /// StreamModeDetails.StreamMode.
        mode: Option<StreamMode>,
        /// Tags.
        tags: Vec<(String, String)>,
        /// MaxRecordSizeInKiB.
        max_record_size_kib: Option<i64>,
    },
    /// DeleteStream.
    DeleteStream {
        /// Stream.
        stream: StreamRef,
        /// EnforceConsumerDeletion.
        enforce_consumer_deletion: bool,
    },
    /// DescribeStream.
    DescribeStream {
        /// Stream.
        stream: StreamRef,
        /// Limit (1-10000, default 100).
        limit: Option<i64>,
        /// ExclusiveStartShardId.
        exclusive_start_shard_id: Option<String>,
    },
    /// DescribeStreamSummary.
    DescribeStreamSummary {
        /// Stream.
        stream: StreamRef,
    },
    /// ListStreams.
    ListStreams {
        /// Limit (1-10000).
        limit: Option<i64>,
        /// ExclusiveStartStreamName.
        exclusive_start_stream_name: Option<String>,
        /// NextToken.
        next_token: Option<String>,
    },
    /// ListShards.
    ListShards {
        /// Stream (absent when NextToken carries it).
        stream: StreamRef,
        /// NextToken.
        next_token: Option<String>,
        /// ExclusiveStartShardId.
        exclusive_start_shard_id: Option<String>,
        /// MaxResults (1-10000).
        max_results: Option<i64>,
        /// StreamCreationTimestamp (epoch ms).
        stream_creation_timestamp_ms: Option<i64>,
        /// ShardFilter.
        shard_filter: Option<ShardFilter>,
    },
    /// PutRecord.
    PutRecord {
        /// Stream.
        stream: StreamRef,
        /// The record.
        entry: PutRecordsEntry,
        /// SequenceNumberForOrdering.
        sequence_number_for_ordering: Option<String>,
    },
    /// PutRecords.
    PutRecords {
        /// Stream.
        stream: StreamRef,
        /// 1-500 records.
        records: Vec<PutRecordsEntry>,
    },
    /// GetShardIterator.
    GetShardIterator {
        /// Stream.
        stream: StreamRef,
        /// ShardId.
        shard_id: String,
        /// ShardIteratorType.
        iterator_type: IteratorType,
        /// StartingSequenceNumber.
        starting_sequence_number: Option<String>,
        /// Timestamp (epoch ms).
        timestamp_ms: Option<i64>,
    },
    /// GetRecords.
    GetRecords {
        /// ShardIterator.
        shard_iterator: String,
        /// Limit (1-10000).
        limit: Option<i64>,
        /// StreamARN (checked against the iterator's stream when given).
        stream_arn: Option<String>,
    },
    /// IncreaseStreamRetentionPeriod / DecreaseStreamRetentionPeriod.
    ChangeRetention {
        /// Stream.
        stream: StreamRef,
        /// RetentionPeriodHours.
        hours: i64,
        /// True for Increase.
        increase: bool,
    },
    /// SplitShard.
    SplitShard {
        /// Stream.
        stream: StreamRef,
        /// ShardToSplit.
        shard_to_split: String,
        /// NewStartingHashKey.
        new_starting_hash_key: u128,
    },
    /// MergeShards.
    MergeShards {
        /// Stream.
        stream: StreamRef,
        /// ShardToMerge.
        shard_to_merge: String,
        /// AdjacentShardToMerge.
        adjacent_shard_to_merge: String,
    },
    /// UpdateShardCount.
    UpdateShardCount {
        /// Stream.
        stream: StreamRef,
        /// TargetShardCount.
        target_shard_count: i64,
    },
    /// UpdateStreamMode.
    UpdateStreamMode {
        /// Stream (by ARN).
        stream: StreamRef,
        /// New mode.
        mode: StreamMode,
    },
    /// UpdateStreamWarmThroughput.
    UpdateStreamWarmThroughput {
        /// Stream.
        stream: StreamRef,
        /// WarmThroughputMiBps.
        mibps: i64,
    },
    /// UpdateMaxRecordSize.
    UpdateMaxRecordSize {
        /// Stream.
        stream: StreamRef,
        /// MaxRecordSizeInKiB.
        kib: i64,
    },
    /// AddTagsToStream.
    AddTagsToStream {
        /// Stream.
        stream: StreamRef,
        /// Tags.
        tags: Vec<(String, String)>,
    },
    /// RemoveTagsFromStream.
    RemoveTagsFromStream {
        /// Stream.
        stream: StreamRef,
        /// TagKeys.
        keys: Vec<String>,
    },
    /// ListTagsForStream.
    ListTagsForStream {
        /// Stream.
        stream: StreamRef,
        /// ExclusiveStartTagKey.
        exclusive_start_tag_key: Option<String>,
        /// Limit (1-50).
        limit: Option<i64>,
    },
    /// TagResource.
    TagResource {
        /// ResourceARN.
        arn: String,
        /// Tags.
        tags: Vec<(String, String)>,
    },
    /// UntagResource.
    UntagResource {
        /// ResourceARN.
        arn: String,
        /// TagKeys.
        keys: Vec<String>,
    },
    /// ListTagsForResource.
    ListTagsForResource {
        /// ResourceARN.
        arn: String,
    },
    /// PutResourcePolicy.
    PutResourcePolicy {
        /// ResourceARN.
        arn: String,
        /// Policy document.
        policy: String,
    },
    /// GetResourcePolicy.
    GetResourcePolicy {
        /// ResourceARN.
        arn: String,
    },
    /// DeleteResourcePolicy.
    DeleteResourcePolicy {
        /// ResourceARN.
        arn: String,
    },
    /// StartStreamEncryption / StopStreamEncryption.
    StreamEncryption {
        /// Stream.
        stream: StreamRef,
        /// KeyId.
        key_id: String,
        /// True for Start.
        start: bool,
    },
    /// EnableEnhancedMonitoring / DisableEnhancedMonitoring.
    EnhancedMonitoring {
        /// Stream.
        stream: StreamRef,
        /// ShardLevelMetrics.
        metrics: Vec<String>,
        /// True for Enable.
        enable: bool,
    },
    /// DescribeLimits.
    DescribeLimits,
    /// RegisterStreamConsumer.
    RegisterStreamConsumer {
        /// StreamARN.
        stream_arn: String,
        /// ConsumerName.
        consumer_name: String,
        /// Tags.
        tags: Vec<(String, String)>,
    },
    /// DescribeStreamConsumer.
    DescribeStreamConsumer {
        /// The consumer.
        consumer: ConsumerRef,
    },
    /// DeregisterStreamConsumer.
    DeregisterStreamConsumer {
        /// The consumer.
        consumer: ConsumerRef,
    },
    /// ListStreamConsumers.
    ListStreamConsumers {
        /// StreamARN.
        stream_arn: String,
        /// NextToken.
        next_token: Option<String>,
        /// MaxResults (1-10000, default 100).
        max_results: Option<i64>,
        /// StreamCreationTimestamp, epoch ms.
        stream_creation_timestamp_ms: Option<i64>,
    },
    /// SubscribeToShard.
    SubscribeToShard {
        /// ConsumerARN.
        consumer_arn: String,
        /// ShardId.
        shard_id: String,
        /// StartingPosition.
        starting_position: StartingPosition,
    },
    /// DescribeAccountSettings.
    DescribeAccountSettings,
    /// UpdateAccountSettings.
    UpdateAccountSettings {
        /// MinimumThroughputBillingCommitment.Status == ENABLED.
        commitment_enabled: bool,
    },
}

/// The shard-level metric names EnableEnhancedMonitoring accepts.
pub const METRIC_NAMES: &[&str] = &[
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
    "ALL",
];
