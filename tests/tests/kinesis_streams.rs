//! Kinesis control plane through the unchanged `aws-sdk-kinesis`: stream lifecycle and status
//! transitions, Describe/List pagination, ListShards filters and NextToken, retention, tags
//! (stream and resource APIs), resource policies, encryption, enhanced monitoring, stream mode,
//! record size, limits and account settings, and the errors AWS gives for each.

use aws_sdk_kinesis::primitives::{Blob, DateTime};
use aws_sdk_kinesis::types::{
    MetricsName, MinimumThroughputBillingCommitmentInput, MinimumThroughputBillingCommitmentInputStatus,
    MinimumThroughputBillingCommitmentOutputStatus, ShardFilter, ShardFilterType, StreamMode, StreamModeDetails,
    StreamStatus,
};
use sluice_tests::kinesis::{create_stream, kinesis_client, wait_active};
use sluice_tests::sqs::{expect_code, ok};
use sluice_tests::{unique_name, Broker};

fn arn(name: &str) -> String {
    format!("arn:aws:kinesis:us-east-1:000000000000:stream/{name}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_status_transitions_and_listing() {
    let broker = Broker::start().await;
    let client = kinesis_client(&broker.endpoint()).await;
    let name = unique_name("life");
    ok(
        client.create_stream().stream_name(&name).shard_count(3).send().await,
        "CreateStream",
    );
    let summary = ok(
        client.describe_stream_summary().stream_name(&name).send().await,
        "summary",
    );
    let s = summary.stream_description_summary().expect("summary");
    assert_eq!(s.stream_status(), &StreamStatus::Creating);
    expect_code(
        client.create_stream().stream_name(&name).shard_count(1).send().await,
        "ResourceInUseException",
    );
    expect_code(
        client
            .put_record()
            .stream_name(&name)
            .partition_key("k")
            .data(Blob::new("x"))
            .send()
            .await,
        "ResourceNotFoundException",
    );
    wait_active(&client, &name).await;
    let summary = ok(
        client.describe_stream_summary().stream_arn(arn(&name)).send().await,
        "summary by ARN",
    );
    let s = summary.stream_description_summary().expect("summary");
    assert_eq!(s.stream_arn(), arn(&name));
    assert_eq!(s.open_shard_count(), 3);
    assert_eq!(s.retention_period_hours(), 24);
    assert_eq!(
        s.stream_mode_details().map(|m| m.stream_mode()),
        Some(&StreamMode::Provisioned)
    );
    assert_eq!(s.max_record_size_in_kib(), Some(1024));

    // DescribeStream pages shards.
    let page = ok(
        client.describe_stream().stream_name(&name).limit(2).send().await,
        "DescribeStream",
    );
    let d = page.stream_description().expect("description");
    assert_eq!(d.shards().len(), 2);
    assert!(d.has_more_shards());
    let rest = ok(
        client
            .describe_stream()
            .stream_name(&name)
            .exclusive_start_shard_id(d.shards()[1].shard_id())
            .send()
            .await,
        "DescribeStream page 2",
    );
    let d2 = rest.stream_description().expect("description");
    assert_eq!(d2.shards().len(), 1);
    assert!(!d2.has_more_shards());
    assert_eq!(
        d2.shards()[0].hash_key_range().map(|r| r.ending_hash_key()),
        Some("340282366920938463463374607431768211455")
    );

    // ListStreams pagination with summaries.
    let others: Vec<String> = (0..3).map(|i| format!("{name}-{i}")).collect();
    for o in &others {
        ok(
            client.create_stream().stream_name(o).shard_count(1).send().await,
            "create",
        );
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let mut req = client.list_streams().limit(2);
        if let Some(t) = &token {
            req = req.next_token(t);
        }
        let out = ok(req.send().await, "ListStreams");
        assert_eq!(out.stream_names().len(), out.stream_summaries().len());
        seen.extend(out.stream_names().iter().cloned());
        if !out.has_more_streams() {
            break;
        }
        token = Some(out.next_token().expect("token with more streams").to_string());
    }
    let mut want = vec![name.clone()];
    want.extend(others.iter().cloned());
    assert_eq!(seen, want);

    // Delete: DELETING, then gone; the name is refused while deleting.
    ok(
        client
            .delete_stream()
            .stream_name(&name)
            .enforce_consumer_deletion(true)
            .send()
            .await,
        "DeleteStream",
    );
    let during = client.describe_stream_summary().stream_name(&name).send().await;
    if let Ok(out) = during {
        assert_eq!(
            out.stream_description_summary().expect("s").stream_status(),
            &StreamStatus::Deleting
        );
    }
    let mut gone = false;
    for _ in 0..200 {
        match client.describe_stream_summary().stream_name(&name).send().await {
            Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            Err(e) => {
                assert_eq!(
                    sluice_tests::sqs::error_code(&e).as_deref(),
                    Some("ResourceNotFoundException")
                );
                gone = true;
                break;
            }
        }
    }
    assert!(gone, "deleted stream still described after 10 s");
    expect_code(
        client.delete_stream().stream_name(&name).send().await,
        "ResourceNotFoundException",
    );
    expect_code(
        client
            .create_stream()
            .stream_name("bad name!")
            .shard_count(1)
            .send()
            .await,
        "ValidationException",
    );
    expect_code(
        client
            .create_stream()
            .stream_name(unique_name("zero"))
            .shard_count(0)
            .send()
            .await,
        "ValidationException",
    );
    expect_code(
        client
            .create_stream()
            .stream_name(unique_name("huge"))
            .shard_count(100_000)
            .send()
            .await,
        "LimitExceededException",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_shards_filters_and_next_token() {
    let broker = Broker::start().await;
    let client = kinesis_client(&broker.endpoint()).await;
    let name = unique_name("ls");
    create_stream(&client, &name, 2).await;
    let created = ok(client.describe_stream_summary().stream_name(&name).send().await, "s")
        .stream_description_summary()
        .expect("s")
        .stream_creation_timestamp()
        .to_millis()
        .expect("ms");
    ok(
        client
            .split_shard()
            .stream_name(&name)
            .shard_to_split("shardId-000000000000")
            .new_starting_hash_key("1000")
            .send()
            .await,
        "split",
    );
    wait_active(&client, &name).await;

    let ids = |out: &aws_sdk_kinesis::operation::list_shards::ListShardsOutput| -> Vec<String> {
        out.shards().iter().map(|s| s.shard_id().to_string()).collect()
    };
    let filtered = |kind: ShardFilterType, shard: Option<&str>, ts: Option<i64>| {
        let mut f = ShardFilter::builder().r#type(kind);
        if let Some(s) = shard {
            f = f.shard_id(s);
        }
        if let Some(t) = ts {
            f = f.timestamp(DateTime::from_millis(t));
        }
        client
            .list_shards()
            .stream_name(&name)
            .shard_filter(f.build().expect("filter"))
    };
    let all = ok(client.list_shards().stream_name(&name).send().await, "all");
    assert_eq!(
        ids(&all),
        [
            "shardId-000000000000",
            "shardId-000000000001",
            "shardId-000000000002",
            "shardId-000000000003"
        ]
    );
    let latest = ok(
        filtered(ShardFilterType::AtLatest, None, None).send().await,
        "AT_LATEST",
    );
    assert_eq!(
        ids(&latest),
        ["shardId-000000000001", "shardId-000000000002", "shardId-000000000003"]
    );
    let horizon = ok(
        filtered(ShardFilterType::AtTrimHorizon, None, None).send().await,
        "AT_TRIM_HORIZON",
    );
    assert_eq!(ids(&horizon), ["shardId-000000000000", "shardId-000000000001"]);
    let from_horizon = ok(
        filtered(ShardFilterType::FromTrimHorizon, None, None).send().await,
        "FROM_TRIM_HORIZON",
    );
    assert_eq!(ids(&from_horizon).len(), 4);
    let after = ok(
        filtered(ShardFilterType::AfterShardId, Some("shardId-000000000001"), None)
            .send()
            .await,
        "AFTER_SHARD_ID",
    );
    assert_eq!(ids(&after), ["shardId-000000000002", "shardId-000000000003"]);
    let at_creation = ok(
        filtered(ShardFilterType::AtTimestamp, None, Some(created)).send().await,
        "AT_TIMESTAMP",
    );
    assert_eq!(ids(&at_creation), ["shardId-000000000000", "shardId-000000000001"]);
    let from_creation = ok(
        filtered(ShardFilterType::FromTimestamp, None, Some(created))
            .send()
            .await,
        "FROM_TIMESTAMP",
    );
    assert_eq!(ids(&from_creation).len(), 4);
    expect_code(
        filtered(ShardFilterType::AfterShardId, None, None).send().await,
        "InvalidArgumentException",
    );

    // NextToken pages and must not be combined with StreamName.
    let first = ok(
        client.list_shards().stream_name(&name).max_results(3).send().await,
        "page 1",
    );
    assert_eq!(first.shards().len(), 3);
    let token = first.next_token().expect("next token").to_string();
    let second = ok(client.list_shards().next_token(&token).send().await, "page 2");
    assert_eq!(ids(&second), ["shardId-000000000003"]);
    assert!(second.next_token().is_none());
    expect_code(
        client.list_shards().stream_name(&name).next_token(&token).send().await,
        "InvalidArgumentException",
    );
    // A StreamARN may come with every page (an endpoint parameter of the SDKs), as long as it
    // names the token's stream.
    let again = ok(
        client
            .list_shards()
            .stream_arn(arn(&name))
            .next_token(&token)
            .send()
            .await,
        "page 2 with the StreamARN",
    );
    assert_eq!(ids(&again), ["shardId-000000000003"]);
    expect_code(
        client
            .list_shards()
            .stream_arn(arn(&format!("{name}-other")))
            .next_token(&token)
            .send()
            .await,
        "InvalidArgumentException",
    );
    expect_code(
        client.list_shards().stream_name("nope").send().await,
        "ResourceNotFoundException",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_tags_policies_encryption_monitoring_and_limits() {
    let broker = Broker::start().await;
    let client = kinesis_client(&broker.endpoint()).await;
    let name = unique_name("cfg");
    create_stream(&client, &name, 1).await;

    // Retention: 24 h - 8760 h, increase only up, decrease only down.
    ok(
        client
            .increase_stream_retention_period()
            .stream_name(&name)
            .retention_period_hours(48)
            .send()
            .await,
        "increase",
    );
    expect_code(
        client
            .increase_stream_retention_period()
            .stream_name(&name)
            .retention_period_hours(72)
            .send()
            .await,
        "ResourceInUseException",
    );
    wait_active(&client, &name).await;
    expect_code(
        client
            .increase_stream_retention_period()
            .stream_name(&name)
            .retention_period_hours(24)
            .send()
            .await,
        "InvalidArgumentException",
    );
    expect_code(
        client
            .increase_stream_retention_period()
            .stream_name(&name)
            .retention_period_hours(8761)
            .send()
            .await,
        "InvalidArgumentException",
    );
    expect_code(
        client
            .decrease_stream_retention_period()
            .stream_name(&name)
            .retention_period_hours(23)
            .send()
            .await,
        "InvalidArgumentException",
    );
    ok(
        client
            .decrease_stream_retention_period()
            .stream_name(&name)
            .retention_period_hours(24)
            .send()
            .await,
        "decrease",
    );
    wait_active(&client, &name).await;

    // Tags through both APIs.
    ok(
        client
            .add_tags_to_stream()
            .stream_name(&name)
            .tags("team", "data")
            .tags("env", "dev")
            .send()
            .await,
        "AddTagsToStream",
    );
    ok(
        client
            .tag_resource()
            .resource_arn(arn(&name))
            .tags("owner", "me")
            .send()
            .await,
        "TagResource",
    );
    let tags = ok(
        client.list_tags_for_stream().stream_name(&name).limit(2).send().await,
        "ListTagsForStream",
    );
    assert_eq!(
        tags.tags().iter().map(|t| t.key()).collect::<Vec<_>>(),
        ["env", "owner"]
    );
    assert!(tags.has_more_tags());
    ok(
        client
            .remove_tags_from_stream()
            .stream_name(&name)
            .tag_keys("env")
            .send()
            .await,
        "RemoveTags",
    );
    ok(
        client
            .untag_resource()
            .resource_arn(arn(&name))
            .tag_keys("owner")
            .send()
            .await,
        "UntagResource",
    );
    let tags = ok(
        client.list_tags_for_resource().resource_arn(arn(&name)).send().await,
        "ListTagsForResource",
    );
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags()[0].key(), "team");
    assert_eq!(tags.tags()[0].value(), Some("data"));
    let mut many = client.add_tags_to_stream().stream_name(&name);
    for i in 0..60 {
        many = many.tags(format!("k{i}"), "v");
    }
    expect_code(many.send().await, "InvalidArgumentException");

    // Resource policies.
    let policy = r#"{"Version":"2012-10-17","Statement":[]}"#;
    ok(
        client
            .put_resource_policy()
            .resource_arn(arn(&name))
            .policy(policy)
            .send()
            .await,
        "PutResourcePolicy",
    );
    let got = ok(
        client.get_resource_policy().resource_arn(arn(&name)).send().await,
        "GetResourcePolicy",
    );
    assert_eq!(got.policy(), policy);
    ok(
        client.delete_resource_policy().resource_arn(arn(&name)).send().await,
        "DeleteResourcePolicy",
    );
    expect_code(
        client.delete_resource_policy().resource_arn(arn(&name)).send().await,
        "ResourceNotFoundException",
    );
    expect_code(
        client
            .put_resource_policy()
            .resource_arn(arn(&name))
            .policy("not json")
            .send()
            .await,
        "InvalidArgumentException",
    );

    // Encryption state is kept and reported.
    ok(
        client
            .start_stream_encryption()
            .stream_name(&name)
            .encryption_type(aws_sdk_kinesis::types::EncryptionType::Kms)
            .key_id("alias/aws/kinesis")
            .send()
            .await,
        "StartStreamEncryption",
    );
    wait_active(&client, &name).await;
    let s = ok(
        client.describe_stream_summary().stream_name(&name).send().await,
        "summary",
    );
    let s = s.stream_description_summary().expect("s");
    assert_eq!(s.encryption_type(), Some(&aws_sdk_kinesis::types::EncryptionType::Kms));
    assert_eq!(s.key_id(), Some("alias/aws/kinesis"));
    let put = ok(
        client
            .put_record()
            .stream_name(&name)
            .partition_key("k")
            .data(Blob::new("x"))
            .send()
            .await,
        "put",
    );
    assert_eq!(
        put.encryption_type(),
        Some(&aws_sdk_kinesis::types::EncryptionType::Kms)
    );
    ok(
        client
            .stop_stream_encryption()
            .stream_name(&name)
            .encryption_type(aws_sdk_kinesis::types::EncryptionType::Kms)
            .key_id("alias/aws/kinesis")
            .send()
            .await,
        "StopStreamEncryption",
    );
    wait_active(&client, &name).await;

    // Enhanced monitoring.
    let on = ok(
        client
            .enable_enhanced_monitoring()
            .stream_name(&name)
            .shard_level_metrics(MetricsName::IncomingBytes)
            .shard_level_metrics(MetricsName::OutgoingRecords)
            .send()
            .await,
        "EnableEnhancedMonitoring",
    );
    assert!(on.current_shard_level_metrics().is_empty());
    assert_eq!(on.desired_shard_level_metrics().len(), 2);
    let off = ok(
        client
            .disable_enhanced_monitoring()
            .stream_name(&name)
            .shard_level_metrics(MetricsName::IncomingBytes)
            .send()
            .await,
        "DisableEnhancedMonitoring",
    );
    assert_eq!(off.desired_shard_level_metrics(), [MetricsName::OutgoingRecords]);
    let s = ok(
        client.describe_stream_summary().stream_name(&name).send().await,
        "summary",
    );
    let metrics = s.stream_description_summary().expect("s").enhanced_monitoring()[0]
        .shard_level_metrics()
        .to_vec();
    assert_eq!(metrics, [MetricsName::OutgoingRecords]);

    // Record size limit and stream mode.
    ok(
        client
            .update_max_record_size()
            .stream_arn(arn(&name))
            .max_record_size_in_kib(2048)
            .send()
            .await,
        "UpdateMaxRecordSize",
    );
    wait_active(&client, &name).await;
    ok(
        client
            .put_record()
            .stream_name(&name)
            .partition_key("k")
            .data(Blob::new(vec![1u8; 1536 * 1024]))
            .send()
            .await,
        "a 1.5 MiB record after raising the limit",
    );
    ok(
        client
            .update_stream_mode()
            .stream_arn(arn(&name))
            .stream_mode_details(
                StreamModeDetails::builder()
                    .stream_mode(StreamMode::OnDemand)
                    .build()
                    .expect("mode"),
            )
            .send()
            .await,
        "UpdateStreamMode",
    );
    wait_active(&client, &name).await;
    expect_code(
        client
            .update_shard_count()
            .stream_name(&name)
            .target_shard_count(2)
            .scaling_type(aws_sdk_kinesis::types::ScalingType::UniformScaling)
            .send()
            .await,
        "InvalidArgumentException",
    );

    // Limits and account settings.
    let limits = ok(client.describe_limits().send().await, "DescribeLimits");
    assert_eq!(limits.open_shard_count(), 1);
    assert_eq!(limits.on_demand_stream_count(), 1);
    assert!(limits.shard_limit() >= 1);
    let settings = ok(
        client.describe_account_settings().send().await,
        "DescribeAccountSettings",
    );
    assert_eq!(
        settings.minimum_throughput_billing_commitment().map(|c| c.status()),
        Some(&MinimumThroughputBillingCommitmentOutputStatus::Disabled)
    );
    let updated = ok(
        client
            .update_account_settings()
            .minimum_throughput_billing_commitment(
                MinimumThroughputBillingCommitmentInput::builder()
                    .status(MinimumThroughputBillingCommitmentInputStatus::Enabled)
                    .build()
                    .expect("input"),
            )
            .send()
            .await,
        "UpdateAccountSettings",
    );
    let c = updated.minimum_throughput_billing_commitment().expect("commitment");
    assert_eq!(c.status(), &MinimumThroughputBillingCommitmentOutputStatus::Enabled);
    assert!(c.started_at().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_transition_time_makes_streams_active_at_once() {
    let broker = Broker::start_with(&["--kinesis-transition-ms", "0"]).await;
    let client = kinesis_client(&broker.endpoint()).await;
    let name = unique_name("instant");
    ok(
        client.create_stream().stream_name(&name).shard_count(1).send().await,
        "CreateStream",
    );
    // No waiting: the stream takes records right away.
    ok(
        client
            .put_record()
            .stream_name(&name)
            .partition_key("k")
            .data(Blob::new("x"))
            .send()
            .await,
        "PutRecord right after CreateStream",
    );
    ok(
        client
            .split_shard()
            .stream_name(&name)
            .shard_to_split("shardId-000000000000")
            .new_starting_hash_key("1000")
            .send()
            .await,
        "split",
    );
    ok(
        client
            .merge_shards()
            .stream_name(&name)
            .shard_to_merge("shardId-000000000001")
            .adjacent_shard_to_merge("shardId-000000000002")
            .send()
            .await,
        "merge right after the split",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_throughput_is_set_on_on_demand_streams_only() {
    let broker = Broker::start_with(&["--kinesis-transition-ms", "0"]).await;
    let client = kinesis_client(&broker.endpoint()).await;
    let provisioned = unique_name("prov");
    create_stream(&client, &provisioned, 1).await;
    expect_code(
        client
            .update_stream_warm_throughput()
            .stream_name(&provisioned)
            .warm_throughput_mibps(100)
            .send()
            .await,
        "InvalidArgumentException",
    );
    let on_demand = unique_name("ondemand");
    ok(
        client
            .create_stream()
            .stream_name(&on_demand)
            .stream_mode_details(
                StreamModeDetails::builder()
                    .stream_mode(StreamMode::OnDemand)
                    .build()
                    .expect("mode"),
            )
            .send()
            .await,
        "CreateStream on-demand",
    );
    wait_active(&client, &on_demand).await;
    let out = ok(
        client
            .update_stream_warm_throughput()
            .stream_name(&on_demand)
            .warm_throughput_mibps(250)
            .send()
            .await,
        "UpdateStreamWarmThroughput",
    );
    assert_eq!(out.stream_name(), Some(on_demand.as_str()));
    let warm = out.warm_throughput().expect("WarmThroughput");
    assert_eq!((warm.target_mibps(), warm.current_mibps()), (Some(250), Some(250)));
    wait_active(&client, &on_demand).await;
    let summary = ok(
        client.describe_stream_summary().stream_name(&on_demand).send().await,
        "DescribeStreamSummary",
    );
    let reported = summary
        .stream_description_summary()
        .and_then(|s| s.warm_throughput())
        .and_then(|w| w.target_mibps());
    assert_eq!(reported, Some(250));
    expect_code(
        client
            .update_stream_warm_throughput()
            .stream_name(&on_demand)
            .warm_throughput_mibps(20_000)
            .send()
            .await,
        "InvalidArgumentException",
    );
    expect_code(
        client
            .update_stream_warm_throughput()
            .stream_name("missing-stream")
            .warm_throughput_mibps(1)
            .send()
            .await,
        "ResourceNotFoundException",
    );
}
