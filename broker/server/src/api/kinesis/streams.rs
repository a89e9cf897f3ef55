//! Kinesis calls on a stream as a whole, and on the account's streams.
//!
//! # Layout
//! - Lifecycle: [`create_stream`], [`delete_stream`], [`describe_stream`],
//!   [`describe_stream_summary`], [`list_streams`] (its NextToken is the base64url of the last
//!   stream name returned).
//! - Settings: [`change_retention`], [`update_stream_mode`], [`update_warm_throughput`],
//!   [`update_max_record_size`], [`stream_encryption`] (Start/StopStreamEncryption),
//!   [`enhanced_monitoring`] (Enable/DisableEnhancedMonitoring).
//! - Account: [`describe_limits`], [`describe_account_settings`], [`update_account_settings`].
//! - The core-to-wire conversions of the response shapes only these calls answer with
//!   (`StreamModeDetails`, `StreamDescriptionSummary`, `WarmThroughput`,
//!   `MinimumThroughputBillingCommitment`); the shapes are `sluice_protocols`'.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sluice_broker::stream::shard::ShardRecord;
use sluice_broker::stream::{AccountSettings, CapacityMode, NewStream, StreamInfo, StreamKey};
use sluice_protocols::kinesis::output::{
    AccountSettingsOutput, DescribeLimitsOutput, DescribeStreamOutput, DescribeStreamSummaryOutput, EmptyOutput,
    EncryptionType, EnhancedMetrics, EnhancedMonitoringOutput, ListStreamsOutput,
    MinimumThroughputBillingCommitmentOutput, MinimumThroughputBillingCommitmentStatus, StreamDescription,
    StreamDescriptionSummary, StreamModeDetails, StreamSummary, UpdateStreamWarmThroughputOutput, WarmThroughputObject,
};
use sluice_protocols::kinesis::types::StreamMode;
use sluice_protocols::kinesis::{KinesisError, KinesisErrorCode};

use super::error::Result;
use super::shards::shard;
use crate::api::context::RequestContext;
use crate::app::App;

/// CreateStream, in the caller's account and region.
pub fn create_stream(
    app: &App,
    ctx: &RequestContext,
    name: String,
    shard_count: Option<i64>,
    mode: Option<StreamMode>,
    tags: Vec<(String, String)>,
    max_record_size_kib: Option<i64>,
) -> Result<EmptyOutput> {
    let key = StreamKey::new(ctx.account_id.clone(), ctx.region.clone(), name);
    let mode = match mode {
        Some(StreamMode::OnDemand) => CapacityMode::OnDemand,
        _ => CapacityMode::Provisioned,
    };
    let shard_count = match shard_count {
        Some(n) => Some(u32::try_from(n).map_err(|_| {
            KinesisError::new(
                KinesisErrorCode::LimitExceeded,
                format!("ShardCount {n} exceeds the shard limit."),
            )
        })?),
        None => None,
    };
    app.broker.streams.create(
        &key,
        NewStream {
            shard_count,
            mode,
            tags,
            max_record_kib: max_record_size_kib.map(|k| k as u32),
        },
    )?;
    Ok(EmptyOutput)
}

/// DeleteStream.
pub fn delete_stream(app: &App, key: &StreamKey, enforce_consumer_deletion: bool) -> Result<EmptyOutput> {
    app.broker.streams.delete(key, enforce_consumer_deletion)?;
    Ok(EmptyOutput)
}

/// DescribeStream: the stream and a page of its shards.
pub fn describe_stream(
    app: &App,
    key: &StreamKey,
    limit: Option<i64>,
    exclusive_start_shard_id: Option<String>,
) -> Result<DescribeStreamOutput> {
    let info = app.broker.streams.describe(key)?;
    let limit = limit.unwrap_or(100) as usize;
    let after: Vec<&ShardRecord> = info
        .shards
        .iter()
        .filter(|s| exclusive_start_shard_id.as_ref().is_none_or(|x| s.id() > *x))
        .collect();
    let has_more = after.len() > limit;
    let shards = after.iter().take(limit).map(|s| shard(info.id, s)).collect();
    Ok(DescribeStreamOutput {
        stream_description: StreamDescription {
            stream_name: info.key.name.clone(),
            stream_arn: info.key.arn(),
            stream_status: info.status.as_str(),
            stream_mode_details: Some(mode_details(info.mode)),
            shards,
            has_more_shards: has_more,
            retention_period_hours: info.retention_hours as i64,
            stream_creation_timestamp: info.created_ms as i64,
            enhanced_monitoring: enhanced_monitoring_list(&info.metrics),
            encryption_type: Some(encryption_type(&info)),
            key_id: info.encryption_key.clone(),
        },
    })
}

/// DescribeStreamSummary.
pub fn describe_stream_summary(app: &App, key: &StreamKey) -> Result<DescribeStreamSummaryOutput> {
    let streams = &app.broker.streams;
    let info = streams.describe(key)?;
    let consumers = streams.consumer_count(&info.key);
    Ok(DescribeStreamSummaryOutput {
        stream_description_summary: summary(&info, consumers),
    })
}

/// ListStreams: a page of the caller's streams in its region, by name.
pub fn list_streams(
    app: &App,
    ctx: &RequestContext,
    limit: Option<i64>,
    exclusive_start_stream_name: Option<String>,
    next_token: Option<String>,
) -> Result<ListStreamsOutput> {
    let start = match next_token {
        Some(token) => Some(
            URL_SAFE_NO_PAD
                .decode(token.as_bytes())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| KinesisError::invalid("Invalid NextToken."))?,
        ),
        None => exclusive_start_stream_name,
    };
    let limit = limit.unwrap_or(100) as usize;
    let (page, has_more) = app
        .broker
        .streams
        .list_page(&ctx.account_id, &ctx.region, start.as_deref(), limit);
    let next = if has_more {
        page.last().map(|s| URL_SAFE_NO_PAD.encode(s.key.name.as_bytes()))
    } else {
        None
    };
    Ok(ListStreamsOutput {
        stream_names: page.iter().map(|s| s.key.name.clone()).collect(),
        has_more_streams: has_more,
        next_token: next,
        stream_summaries: Some(
            page.iter()
                .map(|s| StreamSummary {
                    stream_name: s.key.name.clone(),
                    stream_arn: s.key.arn(),
                    stream_status: s.status.as_str(),
                    stream_mode_details: Some(mode_details(s.mode)),
                    stream_creation_timestamp: Some(s.created_ms as i64),
                })
                .collect(),
        ),
    })
}

/// Increase/DecreaseStreamRetentionPeriod.
pub fn change_retention(app: &App, key: &StreamKey, hours: i64, increase: bool) -> Result<EmptyOutput> {
    app.broker.streams.set_retention(key, hours, increase)?;
    Ok(EmptyOutput)
}

/// UpdateStreamMode.
pub fn update_stream_mode(app: &App, key: &StreamKey, mode: StreamMode) -> Result<EmptyOutput> {
    let mode = match mode {
        StreamMode::OnDemand => CapacityMode::OnDemand,
        StreamMode::Provisioned => CapacityMode::Provisioned,
    };
    app.broker.streams.update_mode(key, mode)?;
    Ok(EmptyOutput)
}

/// UpdateStreamWarmThroughput.
pub fn update_warm_throughput(app: &App, key: &StreamKey, mibps: i64) -> Result<UpdateStreamWarmThroughputOutput> {
    let mibps = u32::try_from(mibps).map_err(|_| KinesisError::invalid("WarmThroughputMiBps is too large."))?;
    app.broker.streams.update_warm_throughput(key, mibps)?;
    Ok(UpdateStreamWarmThroughputOutput {
        stream_arn: Some(key.arn()),
        stream_name: Some(key.name.clone()),
        warm_throughput: Some(warm_throughput(mibps)),
    })
}

/// UpdateMaxRecordSize.
pub fn update_max_record_size(app: &App, key: &StreamKey, kib: i64) -> Result<EmptyOutput> {
    app.broker.streams.update_max_record_size(key, kib as u32)?;
    Ok(EmptyOutput)
}

/// StartStreamEncryption (`start`) or StopStreamEncryption.
pub fn stream_encryption(app: &App, key: &StreamKey, key_id: String, start: bool) -> Result<EmptyOutput> {
    app.broker.streams.set_encryption(key, start.then_some(key_id))?;
    Ok(EmptyOutput)
}

/// EnableEnhancedMonitoring (`enable`) or DisableEnhancedMonitoring.
pub fn enhanced_monitoring(
    app: &App,
    key: &StreamKey,
    metrics: &[String],
    enable: bool,
) -> Result<EnhancedMonitoringOutput> {
    let change = app.broker.streams.set_monitoring(key, metrics, enable)?;
    Ok(EnhancedMonitoringOutput {
        stream_arn: Some(key.arn()),
        stream_name: Some(key.name.clone()),
        current_shard_level_metrics: Some(change.current),
        desired_shard_level_metrics: Some(change.desired),
    })
}

/// DescribeLimits, for the caller's account and region.
pub fn describe_limits(app: &App, ctx: &RequestContext) -> DescribeLimitsOutput {
    let limits = app.broker.streams.limits(&ctx.account_id, &ctx.region);
    DescribeLimitsOutput {
        shard_limit: limits.shard_limit as i64,
        open_shard_count: limits.open_shards as i64,
        on_demand_stream_count: limits.on_demand_streams as i64,
        on_demand_stream_count_limit: limits.on_demand_limit as i64,
    }
}

/// DescribeAccountSettings.
pub fn describe_account_settings(app: &App, ctx: &RequestContext) -> Result<AccountSettingsOutput> {
    let settings = app.broker.streams.account_settings(&ctx.account_id)?;
    Ok(account_settings(settings))
}

/// UpdateAccountSettings.
pub fn update_account_settings(
    app: &App,
    ctx: &RequestContext,
    commitment_enabled: bool,
) -> Result<AccountSettingsOutput> {
    let settings = app
        .broker
        .streams
        .update_account_settings(&ctx.account_id, commitment_enabled)?;
    Ok(account_settings(settings))
}

fn mode_details(mode: CapacityMode) -> StreamModeDetails {
    let stream_mode = match mode {
        CapacityMode::Provisioned => StreamMode::Provisioned,
        CapacityMode::OnDemand => StreamMode::OnDemand,
    };
    StreamModeDetails { stream_mode }
}

/// The `EnhancedMonitoring` list: AWS answers one entry, whatever the metrics.
fn enhanced_monitoring_list(metrics: &[String]) -> Vec<EnhancedMetrics> {
    vec![EnhancedMetrics {
        shard_level_metrics: Some(metrics.to_vec()),
    }]
}

fn encryption_type(info: &StreamInfo) -> EncryptionType {
    EncryptionType::from_encrypted(info.encryption_key.is_some())
}

fn summary(info: &StreamInfo, consumers: usize) -> StreamDescriptionSummary {
    StreamDescriptionSummary {
        stream_name: info.key.name.clone(),
        stream_arn: info.key.arn(),
        stream_status: info.status.as_str(),
        stream_mode_details: Some(mode_details(info.mode)),
        retention_period_hours: info.retention_hours as i64,
        stream_creation_timestamp: info.created_ms as i64,
        enhanced_monitoring: enhanced_monitoring_list(&info.metrics),
        encryption_type: Some(encryption_type(info)),
        key_id: info.encryption_key.clone(),
        open_shard_count: info.open_shards as i64,
        consumer_count: Some(consumers as i64),
        max_record_size_in_kib: Some(info.max_record_kib as i64),
        warm_throughput: info.warm_throughput_mibps.map(warm_throughput),
    }
}

/// A WarmThroughputObject: Sluice reaches any target at once.
fn warm_throughput(mibps: u32) -> WarmThroughputObject {
    WarmThroughputObject {
        target_mi_bps: Some(i64::from(mibps)),
        current_mi_bps: Some(i64::from(mibps)),
    }
}

fn account_settings(settings: AccountSettings) -> AccountSettingsOutput {
    let status = if settings.enabled {
        MinimumThroughputBillingCommitmentStatus::Enabled
    } else {
        MinimumThroughputBillingCommitmentStatus::Disabled
    };
    AccountSettingsOutput {
        minimum_throughput_billing_commitment: Some(MinimumThroughputBillingCommitmentOutput {
            status,
            started_at: settings.started_ms.map(|t| t as i64),
            ended_at: settings.ended_ms.map(|t| t as i64),
        }),
    }
}
