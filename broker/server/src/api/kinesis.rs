//! Kinesis handlers: `KinesisRequest` → `broker.streams()` call → response document, in the
//! request's encoding (AWS JSON 1.1 or CBOR 1.1).
//!
//! # Layout
//! - [`handle`]: decode (protocols) → [`execute`] → encode (protocols); errors go through
//!   [`crate::api::error::kinesis_error`] and the protocol crate's renderer.
//! - Stream names: [`resolve`] turns `StreamName`/`StreamARN` into the core's `StreamKey`
//!   (the ARN's account and region win; a name alone lives in the caller's account and region).
//! - Pagination tokens of ListShards and ListStreams are base64url JSON; ListShards tokens
//!   expire after 300 s like AWS's (`ExpiredNextTokenException`), and are sealed with the data
//!   folder's secret ([`sluice_broker::Streams::seal_token`]): a ListShards call with a
//!   NextToken names its stream only through the token, so authorization reads the stream from
//!   the opened token, and an edited token is refused before anything else.
//!
//! Shape validation is the protocol decoder's; state rules are the core's. This module only
//! translates.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::StatusCode;
use sluice_broker::stream::shard::{format_sequence, parse_shard_id, ShardRecord};
use sluice_broker::stream::{
    CapacityMode, IteratorStart, NewRecord, NewStream, ShardFilter, StreamError, StreamInfo, StreamKey,
};
use sluice_protocols::kinesis::types::{parse_stream_arn, IteratorType, ShardFilterType, StreamMode, StreamRef};
use sluice_protocols::kinesis::{
    decode_request, KinesisAction, KinesisError, KinesisErrorCode, KinesisRequest, Obj, Value,
};

use crate::api::context::{ApiCall, ApiReply, RequestContext};
use crate::api::error::{encoding_of, kinesis_error, kinesis_error_response};
use crate::api::kinesis_efo;
use crate::api::kinesis_shapes::{child_shards_value, now_ms, record_value, resolve_arn, NEXT_TOKEN_TTL_MS};
use crate::app::App;
use crate::wire::text_response;

type Result<T> = std::result::Result<T, KinesisError>;

/// Serves one Kinesis call.
pub async fn handle(app: &App, ctx: &RequestContext, call: ApiCall<'_>) -> ApiReply {
    let encoding = encoding_of(call.protocol);
    let action = KinesisAction::from_name(call.action);
    let action_label = action.map_or("unknown", KinesisAction::name);
    let result = match action {
        None => Err(KinesisError::new(
            KinesisErrorCode::UnknownOperation,
            format!("The action {} is not valid for this endpoint.", call.action),
        )),
        Some(action) => match encoding.decode(&call.body) {
            Err(e) => Err(KinesisError::serialization(e.0)),
            Ok(value) => match decode_request(action, value) {
                Ok(request) => match authorize(ctx, app.broker.streams(), action, &request) {
                    Err(e) => Err(e),
                    Ok(()) => match request {
                        KinesisRequest::SubscribeToShard {
                            consumer_arn,
                            shard_id,
                            starting_position,
                        } => {
                            let response =
                                kinesis_efo::subscribe(app, encoding, &consumer_arn, &shard_id, starting_position)
                                    .unwrap_or_else(|err| kinesis_error_response(encoding, &err));
                            return ApiReply { response, action_label };
                        }
                        request => execute(app, ctx, request),
                    },
                },
                Err(e) => Err(e),
            },
        },
    };
    let response = match result {
        Ok(value) => text_response(StatusCode::OK, encoding.content_type(), encoding.encode(&value)),
        Err(err) => kinesis_error_response(encoding, &err),
    };
    ApiReply { response, action_label }
}

/// The stream a request names.
pub fn resolve(ctx: &RequestContext, stream: &StreamRef) -> Result<StreamKey> {
    match (&stream.arn, &stream.name) {
        (Some(arn), name) => {
            let (region, account, arn_name) =
                parse_stream_arn(arn).ok_or_else(|| KinesisError::invalid(format!("Invalid StreamARN {arn}.")))?;
            if name.as_ref().is_some_and(|n| *n != arn_name) {
                return Err(KinesisError::invalid(format!(
                    "StreamARN {arn} and StreamName {} do not refer to the same stream.",
                    name.as_deref().unwrap_or_default()
                )));
            }
            Ok(StreamKey::new(account, region, arn_name))
        }
        (None, Some(name)) => Ok(StreamKey::new(ctx.account_id.clone(), ctx.region.clone(), name.clone())),
        (None, None) => Err(KinesisError::validation(
            "Value null at 'streamName' failed to satisfy constraint: Member must not be null",
        )),
    }
}

fn empty() -> Value {
    Obj::new().build()
}

fn mode_details(mode: CapacityMode) -> Value {
    let name = match mode {
        CapacityMode::Provisioned => StreamMode::Provisioned.as_str(),
        CapacityMode::OnDemand => StreamMode::OnDemand.as_str(),
    };
    Obj::new().s("StreamMode", name).build()
}

fn shard_value(stream_id: u64, s: &ShardRecord) -> Value {
    Obj::new()
        .s("ShardId", s.id())
        .opt_s("ParentShardId", s.parent.map(sluice_broker::stream::shard::shard_id))
        .opt_s(
            "AdjacentParentShardId",
            s.adjacent_parent.map(sluice_broker::stream::shard::shard_id),
        )
        .set(
            "HashKeyRange",
            Obj::new()
                .s("StartingHashKey", s.start_hash.clone())
                .s("EndingHashKey", s.end_hash.clone())
                .build(),
        )
        .set(
            "SequenceNumberRange",
            Obj::new()
                .s(
                    "StartingSequenceNumber",
                    format_sequence(stream_id, s.index, s.starting_seq),
                )
                .opt_s(
                    "EndingSequenceNumber",
                    s.ending_seq.map(|e| format_sequence(stream_id, s.index, e)),
                )
                .build(),
        )
        .build()
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

fn tag_list(tags: &[(String, String)]) -> Value {
    Value::List(
        tags.iter()
            .map(|(k, v)| Obj::new().s("Key", k.clone()).s("Value", v.clone()).build())
            .collect(),
    )
}

/// Checks the caller's identity policy for `kinesis:<Action>` on the stream the request names.
fn authorize(
    ctx: &RequestContext,
    streams: &sluice_broker::Streams,
    action: KinesisAction,
    request: &KinesisRequest,
) -> Result<()> {
    if ctx.principal.is_none() {
        return Ok(());
    }
    use KinesisRequest as R;
    let resource = match request {
        R::CreateStream { name, .. } => StreamKey::new(ctx.account_id.clone(), ctx.region.clone(), name.clone()).arn(),
        R::DeleteStream { stream, .. }
        | R::DescribeStream { stream, .. }
        | R::DescribeStreamSummary { stream, .. }
        | R::ListShards {
            stream,
            next_token: None,
            ..
        }
        | R::PutRecord { stream, .. }
        | R::PutRecords { stream, .. }
        | R::GetShardIterator { stream, .. }
        | R::ChangeRetention { stream, .. }
        | R::SplitShard { stream, .. }
        | R::MergeShards { stream, .. }
        | R::UpdateShardCount { stream, .. }
        | R::UpdateStreamMode { stream, .. }
        | R::UpdateStreamWarmThroughput { stream, .. }
        | R::UpdateMaxRecordSize { stream, .. }
        | R::AddTagsToStream { stream, .. }
        | R::RemoveTagsFromStream { stream, .. }
        | R::ListTagsForStream { stream, .. }
        | R::StreamEncryption { stream, .. }
        | R::EnhancedMonitoring { stream, .. } => resolve(ctx, stream)?.arn(),
        // A page after the first names its stream only in the token (AWS refuses a StreamName
        // beside a NextToken), so the stream to authorize is the one the token names.
        R::ListShards {
            next_token: Some(token),
            ..
        } => open_shard_token(streams, token)?.key().arn(),
        R::TagResource { arn, .. }
        | R::UntagResource { arn, .. }
        | R::ListTagsForResource { arn, .. }
        | R::PutResourcePolicy { arn, .. }
        | R::GetResourcePolicy { arn, .. }
        | R::DeleteResourcePolicy { arn, .. } => arn.clone(),
        // A GetRecords names its stream through the iterator (sealed, so it cannot be edited to
        // name another), or through a StreamARN that get_records checks against the iterator.
        // An iterator that names no live stream is refused by get_records itself.
        R::GetRecords {
            stream_arn: Some(arn), ..
        } => arn.clone(),
        R::GetRecords {
            shard_iterator,
            stream_arn: None,
            ..
        } => match streams.iterator_stream(shard_iterator) {
            Some(key) => key.arn(),
            None => "*".to_string(),
        },
        R::ListStreams { .. } | R::DescribeLimits | R::DescribeAccountSettings | R::UpdateAccountSettings { .. } => {
            "*".to_string()
        }
        R::RegisterStreamConsumer { stream_arn, .. } | R::ListStreamConsumers { stream_arn, .. } => stream_arn.clone(),
        R::DescribeStreamConsumer { consumer } | R::DeregisterStreamConsumer { consumer } => {
            kinesis_efo::consumer_resource(consumer)
        }
        R::SubscribeToShard { consumer_arn, .. } => consumer_arn.clone(),
    };
    let iam_action = format!("kinesis:{}", action.name());
    ctx.authorize(&iam_action, &resource, || {
        resource_policy(streams, &resource).ok().filter(|p| p != "{}")
    })
    .map_err(|message| KinesisError::new(KinesisErrorCode::AccessDenied, message))
}

/// What a resource ARN of the tagging and policy APIs names.
enum Resource {
    /// A stream.
    Stream(StreamKey),
    /// A registered consumer of a stream.
    Consumer(StreamKey, sluice_broker::stream::ConsumerName),
}

/// A consumer ARN (`.../stream/s/consumer/c:123`) names the consumer; any other stream ARN the
/// stream.
fn resource_of(arn: &str) -> Result<Resource> {
    if sluice_protocols::kinesis::types::parse_consumer_arn(arn).is_some() {
        let (key, consumer) = kinesis_efo::resolve_consumer_arn(arn)?;
        return Ok(Resource::Consumer(key, consumer));
    }
    Ok(Resource::Stream(resolve_arn(arn)?))
}

/// The resource policy of a stream or consumer ARN (`{}` when none is attached).
fn resource_policy(streams: &sluice_broker::Streams, arn: &str) -> Result<String> {
    match resource_of(arn)? {
        Resource::Stream(key) => streams.policy(&key),
        Resource::Consumer(key, consumer) => streams.consumer_policy(&key, &consumer),
    }
    .map_err(kinesis_error)
}

/// Runs a decoded request against the core.
fn execute(app: &App, ctx: &RequestContext, request: KinesisRequest) -> Result<Value> {
    let streams = app.broker.streams();
    let map = kinesis_error;
    Ok(match request {
        KinesisRequest::CreateStream {
            name,
            shard_count,
            mode,
            tags,
            max_record_size_kib,
        } => {
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
            streams
                .create(
                    &key,
                    NewStream {
                        shard_count,
                        mode,
                        tags,
                        max_record_kib: max_record_size_kib.map(|k| k as u32),
                    },
                )
                .map_err(map)?;
            empty()
        }
        KinesisRequest::DeleteStream {
            stream,
            enforce_consumer_deletion,
        } => {
            streams
                .delete(&resolve(ctx, &stream)?, enforce_consumer_deletion)
                .map_err(map)?;
            empty()
        }
        KinesisRequest::DescribeStream {
            stream,
            limit,
            exclusive_start_shard_id,
        } => {
            let info = streams.describe(&resolve(ctx, &stream)?).map_err(map)?;
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
            Obj::new().set("StreamDescription", description).build()
        }
        KinesisRequest::DescribeStreamSummary { stream } => {
            let info = streams.describe(&resolve(ctx, &stream)?).map_err(map)?;
            let consumers = streams.consumer_count(&info.key);
            Obj::new()
                .set("StreamDescriptionSummary", summary_value(&info, consumers))
                .build()
        }
        KinesisRequest::ListStreams {
            limit,
            exclusive_start_stream_name,
            next_token,
        } => {
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
            let all = streams.list(&ctx.account_id, &ctx.region);
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
            Obj::new()
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
                .build()
        }
        KinesisRequest::ListShards {
            stream,
            next_token,
            exclusive_start_shard_id,
            max_results,
            stream_creation_timestamp_ms: _,
            shard_filter,
        } => list_shards(
            app,
            ctx,
            stream,
            next_token,
            exclusive_start_shard_id,
            max_results,
            shard_filter,
        )?,
        KinesisRequest::PutRecord {
            stream,
            entry,
            sequence_number_for_ordering,
        } => {
            let key = resolve(ctx, &stream)?;
            let record = NewRecord {
                partition_key: entry.partition_key,
                explicit_hash_key: entry.explicit_hash_key,
                data: entry.data,
            };
            let put = streams.put(
                &key,
                std::slice::from_ref(&record),
                sequence_number_for_ordering.as_deref(),
            );
            let out = match put {
                Ok(out) => out,
                Err(e) => {
                    if matches!(e, StreamError::Throughput(_)) {
                        app.metrics.kinesis().throttled("in", 1);
                    }
                    return Err(map(e));
                }
            };
            app.metrics.kinesis().stored(1, record.data.len() as u64);
            let encrypted = streams.is_encrypted(&key);
            let first = out.into_iter().next().ok_or_else(KinesisError::internal)?;
            Obj::new()
                .s("ShardId", first.shard_id)
                .s("SequenceNumber", first.sequence_number)
                .s("EncryptionType", if encrypted { "KMS" } else { "NONE" })
                .build()
        }
        KinesisRequest::PutRecords { stream, records } => {
            let key = resolve(ctx, &stream)?;
            let records: Vec<NewRecord> = records
                .into_iter()
                .map(|e| NewRecord {
                    partition_key: e.partition_key,
                    explicit_hash_key: e.explicit_hash_key,
                    data: e.data,
                })
                .collect();
            let out = streams.put_batch(&key, &records, None).map_err(map)?;
            let encrypted = streams.is_encrypted(&key);
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
            Obj::new()
                .i("FailedRecordCount", failed as i64)
                .set(
                    "Records",
                    Value::List(
                        out.into_iter()
                            .map(|r| match r {
                                Ok(a) => Obj::new()
                                    .s("SequenceNumber", a.sequence_number)
                                    .s("ShardId", a.shard_id)
                                    .build(),
                                Err(e) => {
                                    let e = kinesis_error(e);
                                    Obj::new()
                                        .s("ErrorCode", e.code.as_str())
                                        .s("ErrorMessage", e.message)
                                        .build()
                                }
                            })
                            .collect(),
                    ),
                )
                .s("EncryptionType", if encrypted { "KMS" } else { "NONE" })
                .build()
        }
        KinesisRequest::GetShardIterator {
            stream,
            shard_id,
            iterator_type,
            starting_sequence_number,
            timestamp_ms,
        } => {
            let start = match iterator_type {
                IteratorType::AtSequenceNumber => IteratorStart::AtSequence(starting_sequence_number),
                IteratorType::AfterSequenceNumber => IteratorStart::AfterSequence(starting_sequence_number),
                IteratorType::TrimHorizon => IteratorStart::TrimHorizon,
                IteratorType::Latest => IteratorStart::Latest,
                IteratorType::AtTimestamp => IteratorStart::AtTimestamp(timestamp_ms),
            };
            let it = streams
                .shard_iterator(&resolve(ctx, &stream)?, &shard_id, start)
                .map_err(map)?;
            Obj::new().s("ShardIterator", it).build()
        }
        KinesisRequest::GetRecords {
            shard_iterator,
            limit,
            stream_arn,
        } => {
            let check = match &stream_arn {
                Some(arn) => Some(resolve_arn(arn)?),
                None => None,
            };
            let read = streams.get_records(&shard_iterator, limit.unwrap_or(10_000) as usize, check.as_ref());
            let batch = match read {
                Ok(batch) => batch,
                Err(e) => {
                    if matches!(e, StreamError::Throughput(_)) {
                        app.metrics.kinesis().throttled("out", 1);
                    }
                    return Err(map(e));
                }
            };
            let bytes: usize = batch.records.iter().map(|r| r.data.len()).sum();
            app.metrics
                .kinesis()
                .returned(batch.records.len() as u64, bytes as u64, batch.millis_behind_latest);
            let records = batch.records.into_iter().map(record_value).collect();
            Obj::new()
                .set("Records", Value::List(records))
                .opt_s("NextShardIterator", batch.next_iterator)
                .i("MillisBehindLatest", batch.millis_behind_latest as i64)
                .opt("ChildShards", batch.child_shards.map(child_shards_value))
                .build()
        }
        request @ (KinesisRequest::RegisterStreamConsumer { .. }
        | KinesisRequest::DescribeStreamConsumer { .. }
        | KinesisRequest::DeregisterStreamConsumer { .. }
        | KinesisRequest::ListStreamConsumers { .. }
        | KinesisRequest::SubscribeToShard { .. }) => kinesis_efo::execute(app, request)?,
        KinesisRequest::ChangeRetention {
            stream,
            hours,
            increase,
        } => {
            streams
                .set_retention(&resolve(ctx, &stream)?, hours, increase)
                .map_err(map)?;
            empty()
        }
        KinesisRequest::SplitShard {
            stream,
            shard_to_split,
            new_starting_hash_key,
        } => {
            streams
                .split(&resolve(ctx, &stream)?, &shard_to_split, new_starting_hash_key)
                .map_err(map)?;
            empty()
        }
        KinesisRequest::MergeShards {
            stream,
            shard_to_merge,
            adjacent_shard_to_merge,
        } => {
            streams
                .merge(&resolve(ctx, &stream)?, &shard_to_merge, &adjacent_shard_to_merge)
                .map_err(map)?;
            empty()
        }
        KinesisRequest::UpdateShardCount {
            stream,
            target_shard_count,
        } => {
            let key = resolve(ctx, &stream)?;
            let target = u32::try_from(target_shard_count).map_err(|_| {
                KinesisError::new(
                    KinesisErrorCode::LimitExceeded,
                    "TargetShardCount exceeds the shard limit.",
                )
            })?;
            let (current, target) = streams.update_shard_count(&key, target).map_err(map)?;
            Obj::new()
                .s("StreamName", key.name.clone())
                .i("CurrentShardCount", current as i64)
                .i("TargetShardCount", target as i64)
                .s("StreamARN", key.arn())
                .build()
        }
        KinesisRequest::UpdateStreamMode { stream, mode } => {
            let mode = match mode {
                StreamMode::OnDemand => CapacityMode::OnDemand,
                StreamMode::Provisioned => CapacityMode::Provisioned,
            };
            streams.update_mode(&resolve(ctx, &stream)?, mode).map_err(map)?;
            empty()
        }
        KinesisRequest::UpdateStreamWarmThroughput { stream, mibps } => {
            let key = resolve(ctx, &stream)?;
            let mibps = u32::try_from(mibps).map_err(|_| KinesisError::invalid("WarmThroughputMiBps is too large."))?;
            streams.update_warm_throughput(&key, mibps).map_err(map)?;
            Obj::new()
                .s("StreamARN", key.arn())
                .s("StreamName", key.name.clone())
                .set("WarmThroughput", warm_throughput(mibps))
                .build()
        }
        KinesisRequest::UpdateMaxRecordSize { stream, kib } => {
            streams
                .update_max_record_size(&resolve(ctx, &stream)?, kib as u32)
                .map_err(map)?;
            empty()
        }
        KinesisRequest::AddTagsToStream { stream, tags } => {
            streams.add_tags(&resolve(ctx, &stream)?, &tags).map_err(map)?;
            empty()
        }
        KinesisRequest::RemoveTagsFromStream { stream, keys } => {
            streams.remove_tags(&resolve(ctx, &stream)?, &keys).map_err(map)?;
            empty()
        }
        KinesisRequest::ListTagsForStream {
            stream,
            exclusive_start_tag_key,
            limit,
        } => {
            let tags = streams.tags(&resolve(ctx, &stream)?).map_err(map)?;
            let after: Vec<(String, String)> = tags
                .into_iter()
                .filter(|(k, _)| exclusive_start_tag_key.as_ref().is_none_or(|x| k > x))
                .collect();
            let limit = limit.unwrap_or(50) as usize;
            let has_more = after.len() > limit;
            let page: Vec<(String, String)> = after.into_iter().take(limit).collect();
            Obj::new()
                .set("Tags", tag_list(&page))
                .b("HasMoreTags", has_more)
                .build()
        }
        KinesisRequest::TagResource { arn, tags } => {
            match resource_of(&arn)? {
                Resource::Stream(key) => streams.add_tags(&key, &tags),
                Resource::Consumer(key, consumer) => streams.tag_consumer(&key, &consumer, &tags),
            }
            .map_err(map)?;
            empty()
        }
        KinesisRequest::UntagResource { arn, keys } => {
            match resource_of(&arn)? {
                Resource::Stream(key) => streams.remove_tags(&key, &keys),
                Resource::Consumer(key, consumer) => streams.untag_consumer(&key, &consumer, &keys),
            }
            .map_err(map)?;
            empty()
        }
        KinesisRequest::ListTagsForResource { arn } => {
            let tags = match resource_of(&arn)? {
                Resource::Stream(key) => streams.tags(&key),
                Resource::Consumer(key, consumer) => streams.consumer_tags(&key, &consumer),
            }
            .map_err(map)?;
            Obj::new().set("Tags", tag_list(&tags)).build()
        }
        KinesisRequest::PutResourcePolicy { arn, policy } => {
            match resource_of(&arn)? {
                Resource::Stream(key) => streams.put_policy(&key, &policy),
                Resource::Consumer(key, consumer) => streams.put_consumer_policy(&key, &consumer, &policy),
            }
            .map_err(map)?;
            empty()
        }
        KinesisRequest::GetResourcePolicy { arn } => {
            let policy = resource_policy(streams, &arn)?;
            Obj::new().s("Policy", policy).build()
        }
        KinesisRequest::DeleteResourcePolicy { arn } => {
            match resource_of(&arn)? {
                Resource::Stream(key) => streams.delete_policy(&key),
                Resource::Consumer(key, consumer) => streams.delete_consumer_policy(&key, &consumer),
            }
            .map_err(map)?;
            empty()
        }
        KinesisRequest::StreamEncryption { stream, key_id, start } => {
            streams
                .set_encryption(&resolve(ctx, &stream)?, start.then_some(key_id))
                .map_err(map)?;
            empty()
        }
        KinesisRequest::EnhancedMonitoring {
            stream,
            metrics,
            enable,
        } => {
            let key = resolve(ctx, &stream)?;
            let change = streams.set_monitoring(&key, &metrics, enable).map_err(map)?;
            Obj::new()
                .s("StreamName", key.name.clone())
                .set("CurrentShardLevelMetrics", Value::str_list(change.current))
                .set("DesiredShardLevelMetrics", Value::str_list(change.desired))
                .s("StreamARN", key.arn())
                .build()
        }
        KinesisRequest::DescribeLimits => {
            let limits = streams.limits(&ctx.account_id, &ctx.region);
            Obj::new()
                .i("ShardLimit", limits.shard_limit as i64)
                .i("OpenShardCount", limits.open_shards as i64)
                .i("OnDemandStreamCount", limits.on_demand_streams as i64)
                .i("OnDemandStreamCountLimit", limits.on_demand_limit as i64)
                .build()
        }
        KinesisRequest::DescribeAccountSettings => {
            let settings = streams.account_settings(&ctx.account_id).map_err(map)?;
            Obj::new()
                .set("MinimumThroughputBillingCommitment", commitment_value(settings))
                .build()
        }
        KinesisRequest::UpdateAccountSettings { commitment_enabled } => {
            let settings = streams
                .update_account_settings(&ctx.account_id, commitment_enabled)
                .map_err(map)?;
            Obj::new()
                .set("MinimumThroughputBillingCommitment", commitment_value(settings))
                .build()
        }
    })
}

fn commitment_value(settings: sluice_broker::stream::AccountSettings) -> Value {
    Obj::new()
        .s("Status", if settings.enabled { "ENABLED" } else { "DISABLED" })
        .opt("StartedAt", settings.started_ms.map(|t| Value::Time(t as i64)))
        .opt("EndedAt", settings.ended_ms.map(|t| Value::Time(t as i64)))
        .build()
}

/// The state a ListShards NextToken carries.
#[derive(serde::Serialize, serde::Deserialize)]
struct ShardToken {
    a: String,
    r: String,
    n: String,
    /// Last shard id returned.
    x: String,
    /// Filter, as (kind, shard index, timestamp).
    f: Option<(u8, u32, u64)>,
    /// Issued at, epoch ms.
    t: u64,
}

impl ShardToken {
    /// The stream the token pages through.
    fn key(&self) -> StreamKey {
        StreamKey::new(self.a.clone(), self.r.clone(), self.n.clone())
    }
}

/// The state of a ListShards NextToken this data folder issued; `InvalidArgumentException` for
/// anything else (a forged token, or one a client edited to name another stream).
fn open_shard_token(streams: &sluice_broker::Streams, token: &str) -> Result<ShardToken> {
    streams
        .open_token(token)
        .and_then(|state| serde_json::from_slice(&state).ok())
        .ok_or_else(|| KinesisError::invalid("Invalid ShardListToken."))
}

fn filter_code(f: ShardFilter) -> (u8, u32, u64) {
    match f {
        ShardFilter::AfterShard(i) => (0, i, 0),
        ShardFilter::AtTrimHorizon => (1, 0, 0),
        ShardFilter::FromTrimHorizon => (2, 0, 0),
        ShardFilter::AtLatest => (3, 0, 0),
        ShardFilter::AtTimestamp(t) => (4, 0, t),
        ShardFilter::FromTimestamp(t) => (5, 0, t),
    }
}

fn filter_from_code(c: (u8, u32, u64)) -> Option<ShardFilter> {
    Some(match c.0 {
        0 => ShardFilter::AfterShard(c.1),
        1 => ShardFilter::AtTrimHorizon,
        2 => ShardFilter::FromTrimHorizon,
        3 => ShardFilter::AtLatest,
        4 => ShardFilter::AtTimestamp(c.2),
        5 => ShardFilter::FromTimestamp(c.2),
        _ => return None,
    })
}

#[allow(clippy::too_many_arguments)]
fn list_shards(
    app: &App,
    ctx: &RequestContext,
    stream: StreamRef,
    next_token: Option<String>,
    exclusive_start_shard_id: Option<String>,
    max_results: Option<i64>,
    shard_filter: Option<sluice_protocols::kinesis::types::ShardFilter>,
) -> Result<Value> {
    let streams = app.broker.streams();
    let limit = max_results.unwrap_or(1000) as usize;
    let (key, filter, after) = match next_token {
        Some(token) => {
            // botocore forbids only StreamName beside a NextToken: StreamARN is an endpoint
            // parameter an SDK may repeat on every page, so it is accepted when it names the
            // token's stream.
            if stream.name.is_some() {
                return Err(KinesisError::invalid(
                    "NextToken and StreamName cannot be provided together.",
                ));
            }
            if exclusive_start_shard_id.is_some() || shard_filter.is_some() {
                return Err(KinesisError::invalid(
                    "NextToken cannot be provided together with ExclusiveStartShardId or ShardFilter.",
                ));
            }
            let t = open_shard_token(streams, &token)?;
            if let Some(arn) = &stream.arn {
                if resolve_arn(arn)? != t.key() {
                    return Err(KinesisError::invalid(format!(
                        "StreamARN {arn} does not name the stream of the NextToken."
                    )));
                }
            }
            let now = now_ms();
            if now > t.t.saturating_add(NEXT_TOKEN_TTL_MS) {
                return Err(KinesisError::new(
                    KinesisErrorCode::ExpiredNextToken,
                    format!(
                        "The timestampInMillis parameter of the token is {}, which is more than {NEXT_TOKEN_TTL_MS} ms ago (now {now}).",
                        t.t
                    ),
                ));
            }
            let filter = match t.f {
                Some(c) => Some(filter_from_code(c).ok_or_else(|| KinesisError::invalid("Invalid ShardListToken."))?),
                None => None,
            };
            (t.key(), filter, Some(t.x))
        }
        None => {
            let key = resolve(ctx, &stream)?;
            let filter =
                match shard_filter {
                    None => None,
                    Some(f) => Some(match f.kind {
                        ShardFilterType::AfterShardId => {
                            let id = f.shard_id.ok_or_else(|| {
                                KinesisError::invalid("ShardId is required for ShardFilter type AFTER_SHARD_ID.")
                            })?;
                            ShardFilter::AfterShard(parse_shard_id(&id).ok_or_else(|| {
                                KinesisError::invalid(format!("Invalid ShardId {id} in ShardFilter."))
                            })?)
                        }
                        ShardFilterType::AtTrimHorizon => ShardFilter::AtTrimHorizon,
                        ShardFilterType::FromTrimHorizon => ShardFilter::FromTrimHorizon,
                        ShardFilterType::AtLatest => ShardFilter::AtLatest,
                        ShardFilterType::AtTimestamp | ShardFilterType::FromTimestamp => {
                            let t = f.timestamp_ms.ok_or_else(|| {
                                KinesisError::invalid(
                                    "Timestamp is required for ShardFilter types AT_TIMESTAMP and FROM_TIMESTAMP.",
                                )
                            })?;
                            let t = t.max(0) as u64;
                            if f.kind == ShardFilterType::AtTimestamp {
                                ShardFilter::AtTimestamp(t)
                            } else {
                                ShardFilter::FromTimestamp(t)
                            }
                        }
                    }),
                };
            (key, filter, exclusive_start_shard_id)
        }
    };
    let info = streams.describe(&key).map_err(kinesis_error)?;
    let shards = streams.list_shards(&key, filter).map_err(kinesis_error)?;
    let after_filter: Vec<&ShardRecord> = shards
        .iter()
        .filter(|s| after.as_ref().is_none_or(|x| s.id() > *x))
        .collect();
    let has_more = after_filter.len() > limit;
    let page: Vec<&ShardRecord> = after_filter.into_iter().take(limit).collect();
    let next = match (has_more, page.last()) {
        (true, Some(last)) => {
            let token = ShardToken {
                a: key.account.clone(),
                r: key.region.clone(),
                n: key.name.clone(),
                x: last.id(),
                f: filter.map(filter_code),
                t: now_ms(),
            };
            serde_json::to_vec(&token).ok().map(|b| streams.seal_token(&b))
        }
        _ => None,
    };
    Ok(Obj::new()
        .set(
            "Shards",
            Value::List(page.iter().map(|s| shard_value(info.id, s)).collect()),
        )
        .opt_s("NextToken", next)
        .build())
}
