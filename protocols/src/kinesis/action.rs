//! The Kinesis action enum, parsed once from `X-Amz-Target: Kinesis_20131202.<Action>`.

use crate::action::action_enum;

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
mod tests {
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
