//! The Kinesis action enum, parsed once from `X-Amz-Target: Kinesis_20131202.<Action>`.

macro_rules! actions {
    ($($name:ident),* $(,)?) => {
        /// Every Kinesis action of the 2013-12-02 API that Sluice serves.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum KinesisAction {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                $name,
            )*
        }

        impl KinesisAction {
            /// Every action.
            pub const ALL: &'static [KinesisAction] = &[$(KinesisAction::$name),*];

            /// Parses the action name (case-sensitive, as AWS).
            pub fn from_name(name: &str) -> Option<KinesisAction> {
                match name {
                    $(stringify!($name) => Some(KinesisAction::$name),)*
                    _ => None,
                }
            }

            /// The action name, also the bounded metric label.
            pub fn name(self) -> &'static str {
                match self {
                    $(KinesisAction::$name => stringify!($name),)*
                }
            }
        }
    };
}

actions!(
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
