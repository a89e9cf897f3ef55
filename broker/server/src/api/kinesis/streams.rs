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
//! - The response shapes only these calls answer with (`StreamModeDetails`,
//!   `StreamDescriptionSummary`, `WarmThroughput`, `MinimumThroughputBillingCommitment`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sluice_broker::stream::shard::ShardRecord;
use sluice_broker::stream::{AccountSettings, CapacityMode, NewStream, StreamInfo, StreamKey};
use sluice_protocols::kinesis::types::{StreamMode, StreamRef};
use sluice_protocols::kinesis::{KinesisError, KinesisErrorCode, Obj, Value};

use super::error::Result;
use super::shards::shard_value;
use super::{empty, resolve};
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
) -> Result<Value> {
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
    app.broker.streams().create(
        &key,
        NewStream {
            shard_count,
            mode,
            tags,
            max_record_kib: max_record_size_kib.map(|k| k as u32),
        },
    )?;
    Ok(empty())
}

/// DeleteStream.
pub fn delete_stream(
    app: &App,
    ctx: &RequestContext,
    stream: &StreamRef,
    enforce_consumer_deletion: bool,
) -> Result<Value> {
    app.broker
        .streams()
        .delete(&resolve(ctx, stream)?, enforce_consumer_deletion)?;
    Ok(empty())
}

/// DescribeStream: the stream and a page of its shards.
pub fn describe_stream(
    app: &App,
    ctx: &RequestContext,
    stream: &StreamRef,
    limit: Option<i64>,
    exclusive_start_shard_id: Option<String>,
) -> Result<Value> {
    let info = app.broker.streams().describe(&resolve(ctx, stream)?)?;
    let limit = limit.unwrap_or(100) as usize;
    let after: Vec<&ShardRecord> = info
        .shards
        .iter()
        .filter(|s| exclusive_start_shard_id.as_ref().is_none_or(|x| s.id() > *x))
        .collect();
    let has_more = after.len() > limit;
    let shards = after.iter().take(limit).map(|s| shard_value(info.id, s)).collect();
    let description = Obj::new()
        .s("StreamName", info.key.name.clone())
        .s("StreamARN", info.key.arn())
        .s("StreamStatus", info.status.as_str())
        .set("StreamModeDetails", mode_details(info.mode))
        .set("Shards", Value::List(shards))
        .b("HasMoreShards", has_more)
        .i("RetentionPeriodHours", info.retention_hours as i64)
        .t("StreamCreationTimestamp", info.created_ms as i64)
        .set("EnhancedMonitoring", monitoring_value(&info.metrics))
        .s("EncryptionType", encryption_type(&info))
        .opt_s("KeyId", info.encryption_key.clone())
        .build();
    Ok(Obj::new().set("StreamDescription", description).build())
}

/// DescribeStreamSummary.
pub fn describe_stream_summary(app: &App, ctx: &RequestContext, stream: &StreamRef) -> Result<Value> {
    let streams = app.broker.streams();
    let info = streams.describe(&resolve(ctx, stream)?)?;
    let consumers = streams.consumer_count(&info.key);
    Ok(Obj::new()
        .set("StreamDescriptionSummary", summary_value(&info, consumers))
        .build())
}

/// ListStreams: a page of the caller's streams in its region, by name.
pub fn list_streams(
    app: &App,
    ctx: &RequestContext,
    limit: Option<i64>,
    exclusive_start_stream_name: Option<String>,
    next_token: Option<String>,
) -> Result<Value> {
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
    let all = app.broker.streams().list(&ctx.account_id, &ctx.region);
    let after: Vec<&StreamInfo> = all
        .iter()
        .filter(|s| start.as_ref().is_none_or(|x| s.key.name > *x))
        .collect();
    let has_more = after.len() > limit;
    let page: Vec<&StreamInfo> = after.into_iter().take(limit).collect();
    let next = if has_more {
        page.last().map(|s| URL_SAFE_NO_PAD.encode(s.key.name.as_bytes()))
    } else {
        None
    };
    Ok(Obj::new()
        .set("StreamNames", Value::str_list(page.iter().map(|s| s.key.name.clone())))
        .b("HasMoreStreams", has_more)
        .opt_s("NextToken", next)
        .set(
            "StreamSummaries",
            Value::List(
                page.iter()
                    .map(|s| {
                        Obj::new()
                            .s("StreamName", s.key.name.clone())
                            .s("StreamARN", s.key.arn())
                            .s("StreamStatus", s.status.as_str())
                            .set("StreamModeDetails", mode_details(s.mode))
                            .t("StreamCreationTimestamp", s.created_ms as i64)
                            .build()
                    })
                    .collect(),
            ),
        )
        .build())
}

/// Increase/DecreaseStreamRetentionPeriod.
pub fn change_retention(
    app: &App,
    ctx: &RequestContext,
    stream: &StreamRef,
    hours: i64,
    increase: bool,
) -> Result<Value> {
    app.broker
        .streams()
        .set_retention(&resolve(ctx, stream)?, hours, increase)?;
    Ok(empty())
}

/// UpdateStreamMode.
pub fn update_stream_mode(app: &App, ctx: &RequestContext, stream: &StreamRef, mode: StreamMode) -> Result<Value> {
    let mode = match mode {
        StreamMode::OnDemand => CapacityMode::OnDemand,
        StreamMode::Provisioned => CapacityMode::Provisioned,
    };
    app.broker.streams().update_mode(&resolve(ctx, stream)?, mode)?;
    Ok(empty())
}

/// UpdateStreamWarmThroughput.
pub fn update_warm_throughput(app: &App, ctx: &RequestContext, stream: &StreamRef, mibps: i64) -> Result<Value> {
    let key = resolve(ctx, stream)?;
    let mibps = u32::try_from(mibps).map_err(|_| KinesisError::invalid("WarmThroughputMiBps is too large."))?;
    app.broker.streams().update_warm_throughput(&key, mibps)?;
    Ok(Obj::new()
        .s("StreamARN", key.arn())
        .s("StreamName", key.name.clone())
        .set("WarmThroughput", warm_throughput(mibps))
        .build())
}

/// UpdateMaxRecordSize.
pub fn update_max_record_size(app: &App, ctx: &RequestContext, stream: &StreamRef, kib: i64) -> Result<Value> {
    app.broker
        .streams()
        .update_max_record_size(&resolve(ctx, stream)?, kib as u32)?;
    Ok(empty())
}

/// StartStreamEncryption (`start`) or StopStreamEncryption.
pub fn stream_encryption(
    app: &App,
    ctx: &RequestContext,
    stream: &StreamRef,
    key_id: String,
    start: bool,
) -> Result<Value> {
    app.broker
        .streams()
        .set_encryption(&resolve(ctx, stream)?, start.then_some(key_id))?;
    Ok(empty())
}

/// EnableEnhancedMonitoring (`enable`) or DisableEnhancedMonitoring.
pub fn enhanced_monitoring(
    app: &App,
    ctx: &RequestContext,
    stream: &StreamRef,
    metrics: &[String],
    enable: bool,
) -> Result<Value> {
    let key = resolve(ctx, stream)?;
    let change = app.broker.streams().set_monitoring(&key, metrics, enable)?;
    Ok(Obj::new()
        .s("StreamName", key.name.clone())
        .set("CurrentShardLevelMetrics", Value::str_list(change.current))
        .set("DesiredShardLevelMetrics", Value::str_list(change.desired))
        .s("StreamARN", key.arn())
        .build())
}

/// DescribeLimits, for the caller's account and region.
pub fn describe_limits(app: &App, ctx: &RequestContext) -> Value {
    let limits = app.broker.streams().limits(&ctx.account_id, &ctx.region);
    Obj::new()
        .i("ShardLimit", limits.shard_limit as i64)
        .i("OpenShardCount", limits.open_shards as i64)
        .i("OnDemandStreamCount", limits.on_demand_streams as i64)
        .i("OnDemandStreamCountLimit", limits.on_demand_limit as i64)
        .build()
}

/// DescribeAccountSettings.
pub fn describe_account_settings(app: &App, ctx: &RequestContext) -> Result<Value> {
    let settings = app.broker.streams().account_settings(&ctx.account_id)?;
    Ok(Obj::new()
        .set("MinimumThroughputBillingCommitment", commitment_value(settings))
        .build())
}

/// UpdateAccountSettings.
pub fn update_account_settings(app: &App, ctx: &RequestContext, commitment_enabled: bool) -> Result<Value> {
    let settings = app
        .broker
        .streams()
        .update_account_settings(&ctx.account_id, commitment_enabled)?;
    Ok(Obj::new()
        .set("MinimumThroughputBillingCommitment", commitment_value(settings))
        .build())
}

fn mode_details(mode: CapacityMode) -> Value {
    let name = match mode {
        CapacityMode::Provisioned => StreamMode::Provisioned.as_str(),
        CapacityMode::OnDemand => StreamMode::OnDemand.as_str(),
    };
    Obj::new().s("StreamMode", name).build()
}

fn monitoring_value(metrics: &[String]) -> Value {
    Value::List(vec![Obj::new()
        .set("ShardLevelMetrics", Value::str_list(metrics.iter().cloned()))
        .build()])
}

fn encryption_type(info: &StreamInfo) -> &'static str {
    if info.encryption_key.is_some() {
        "KMS"
    } else {
        "NONE"
    }
}

fn summary_value(info: &StreamInfo, consumers: usize) -> Value {
    Obj::new()
        .s("StreamName", info.key.name.clone())
        .s("StreamARN", info.key.arn())
        .s("StreamStatus", info.status.as_str())
        .set("StreamModeDetails", mode_details(info.mode))
        .i("RetentionPeriodHours", info.retention_hours as i64)
        .t("StreamCreationTimestamp", info.created_ms as i64)
        .set("EnhancedMonitoring", monitoring_value(&info.metrics))
        .s("EncryptionType", encryption_type(info))
        .opt_s("KeyId", info.encryption_key.clone())
        .i("OpenShardCount", info.open_shards as i64)
        .i("ConsumerCount", consumers as i64)
        .i("MaxRecordSizeInKiB", info.max_record_kib as i64)
        .opt("WarmThroughput", info.warm_throughput_mibps.map(warm_throughput))
        .build()
}

/// A WarmThroughputObject: Sluice reaches any target at once.
fn warm_throughput(mibps: u32) -> Value {
    Obj::new()
        .i("TargetMiBps", i64::from(mibps))
        .i("CurrentMiBps", i64::from(mibps))
        .build()
}

fn commitment_value(settings: AccountSettings) -> Value {
    Obj::new()
        .s("Status", if settings.enabled { "ENABLED" } else { "DISABLED" })
        .opt("StartedAt", settings.started_ms.map(|t| Value::Time(t as i64)))
        .opt("EndedAt", settings.ended_ms.map(|t| Value::Time(t as i64)))
        .build()
}
