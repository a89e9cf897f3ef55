//! Kinesis handlers: `KinesisRequest` → `broker.streams` call → response document, in the
//! request's encoding (AWS JSON 1.1 or CBOR 1.1).
//!
//! # Layout
//! - This file: [`handle`] decodes (protocols), checks [`authorize`], runs [`execute`] and
//!   encodes (protocols); errors are rendered by [`crate::api::error::kinesis_error_response`].
//!   [`execute`] is the table of calls: one call per request, naming the function that serves
//!   it; each answers with its typed output (`sluice_protocols::kinesis::output`), converted to
//!   a document there, once. Stream names: [`resolve`] turns `StreamName`/`StreamARN` into the
//!   core's `StreamKey` (the ARN's account and region win; a name alone lives in the caller's
//!   account and region); [`execute`] resolves it and hands the handler the key, so handlers
//!   do not come back here for it (ListShards excepted, see below).
//! - [`streams`]: Create/Delete/Describe/DescribeSummary/ListStreams, retention, capacity mode,
//!   warm throughput, maximum record size, encryption, enhanced monitoring, limits and account
//!   settings.
//! - [`records`]: PutRecord, PutRecords, GetShardIterator, GetRecords.
//! - [`shards`]: ListShards and its sealed NextTokens, SplitShard, MergeShards,
//!   UpdateShardCount, and the `Shard` shape DescribeStream shares.
//! - [`tags`]: stream and consumer tags, and resource policies.
//! - [`error`]: the handlers' [`error::Result`], so a core `StreamError` converts with `?`.
//! - Consumers and SubscribeToShard are [`crate::api::kinesis_efo`]'s; what both share
//!   (record shapes, stream ARNs, token lifetime) is [`crate::api::kinesis_shapes`]'s.
//!
//! Imports point one way: this file uses the operation files; they use the leaf [`error`] and
//! `kinesis_shapes`; `streams` uses `shards` for the `Shard` shape and `tags` uses
//! `kinesis_efo` for consumer ARNs, and none is imported back (docs/design.md, "Layering
//! rules"). The one call back up is ListShards' [`resolve`]: a page after the first names its
//! stream only in its NextToken, so `shards::list_shards` resolves a StreamName itself, and
//! only on a first page.
//!
//! Shape validation is the protocol decoder's; state rules are the core's. This module only
//! translates.

mod error;
mod records;
mod shards;
mod streams;
mod tags;

use http::{Response, StatusCode};
use sluice_broker::stream::StreamKey;
use sluice_protocols::kinesis::types::{parse_stream_arn, StreamRef};
use sluice_protocols::kinesis::{
    decode_request, Encoding, KinesisAction, KinesisError, KinesisErrorCode, KinesisRequest, ToValue,
};

use self::error::{Failure, Result};
use crate::api::context::{ApiCall, ApiReply, RequestContext};
use crate::api::error::kinesis_error_response;
use crate::api::kinesis_efo;
use crate::app::App;
use crate::wire::{text_response, ResponseBody};

/// Serves one Kinesis call.
pub async fn handle(app: &App, ctx: &RequestContext, call: ApiCall<'_>) -> ApiReply {
    let encoding = call.protocol.kinesis_encoding();
    let action = KinesisAction::from_name(call.action);
    let action_label = action.map_or("unknown", KinesisAction::name);
    let response = match serve(app, ctx, encoding, action, &call) {
        Ok(response) => response,
        Err(Failure(err)) => kinesis_error_response(encoding, &err),
    };
    ApiReply { response, action_label }
}

/// Decode → authorize → execute, stopping at the first error.
fn serve(
    app: &App,
    ctx: &RequestContext,
    encoding: Encoding,
    action: Option<KinesisAction>,
    call: &ApiCall<'_>,
) -> Result<Response<ResponseBody>> {
    let action = action.ok_or_else(|| {
        KinesisError::new(
            KinesisErrorCode::UnknownOperation,
            format!("The action {} is not valid for this endpoint.", call.action),
        )
    })?;
    let value = encoding
        .decode(&call.body)
        .map_err(|e| KinesisError::serialization(e.0))?;
    let request = decode_request(action, value)?;
    authorize(ctx, &app.broker.streams, action, &request)?;
    execute(app, ctx, encoding, request)
}

/// Runs a decoded request against the core: one call per request. SubscribeToShard answers
/// with an event stream; every other call with a document in the request's encoding.
fn execute(
    app: &App,
    ctx: &RequestContext,
    encoding: Encoding,
    request: KinesisRequest,
) -> Result<Response<ResponseBody>> {
    use KinesisRequest as R;
    let value = match request {
        R::SubscribeToShard {
            consumer_arn,
            shard_id,
            starting_position,
        } => {
            return Ok(kinesis_efo::subscribe(
                app,
                encoding,
                &consumer_arn,
                &shard_id,
                starting_position,
            )?)
        }
        R::CreateStream {
            name,
            shard_count,
            mode,
            tags,
            max_record_size_kib,
        } => streams::create_stream(app, ctx, name, shard_count, mode, tags, max_record_size_kib)?.to_value(),
        R::DeleteStream {
            stream,
            enforce_consumer_deletion,
        } => streams::delete_stream(app, &resolve(ctx, &stream)?, enforce_consumer_deletion)?.to_value(),
        R::DescribeStream {
            stream,
            limit,
            exclusive_start_shard_id,
        } => streams::describe_stream(app, &resolve(ctx, &stream)?, limit, exclusive_start_shard_id)?.to_value(),
        R::DescribeStreamSummary { stream } => {
            streams::describe_stream_summary(app, &resolve(ctx, &stream)?)?.to_value()
        }
        R::ListStreams {
            limit,
            exclusive_start_stream_name,
            next_token,
        } => streams::list_streams(app, ctx, limit, exclusive_start_stream_name, next_token)?.to_value(),
        R::ChangeRetention {
            stream,
            hours,
            increase,
        } => streams::change_retention(app, &resolve(ctx, &stream)?, hours, increase)?.to_value(),
        R::UpdateStreamMode { stream, mode } => {
            streams::update_stream_mode(app, &resolve(ctx, &stream)?, mode)?.to_value()
        }
        R::UpdateStreamWarmThroughput { stream, mibps } => {
            streams::update_warm_throughput(app, &resolve(ctx, &stream)?, mibps)?.to_value()
        }
        R::UpdateMaxRecordSize { stream, kib } => {
            streams::update_max_record_size(app, &resolve(ctx, &stream)?, kib)?.to_value()
        }
        R::StreamEncryption { stream, key_id, start } => {
            streams::stream_encryption(app, &resolve(ctx, &stream)?, key_id, start)?.to_value()
        }
        R::EnhancedMonitoring {
            stream,
            metrics,
            enable,
        } => streams::enhanced_monitoring(app, &resolve(ctx, &stream)?, &metrics, enable)?.to_value(),
        R::DescribeLimits => streams::describe_limits(app, ctx).to_value(),
        R::DescribeAccountSettings => streams::describe_account_settings(app, ctx)?.to_value(),
        R::UpdateAccountSettings { commitment_enabled } => {
            streams::update_account_settings(app, ctx, commitment_enabled)?.to_value()
        }
        R::PutRecord {
            stream,
            entry,
            sequence_number_for_ordering,
        } => records::put_record(app, &resolve(ctx, &stream)?, entry, sequence_number_for_ordering)?.to_value(),
        R::PutRecords { stream, records } => records::put_records(app, &resolve(ctx, &stream)?, records)?.to_value(),
        R::GetShardIterator {
            stream,
            shard_id,
            iterator_type,
            starting_sequence_number,
            timestamp_ms,
        } => records::get_shard_iterator(
            app,
            &resolve(ctx, &stream)?,
            &shard_id,
            iterator_type,
            starting_sequence_number,
            timestamp_ms,
        )?
        .to_value(),
        R::GetRecords {
            shard_iterator,
            limit,
            stream_arn,
        } => records::get_records(app, &shard_iterator, limit, stream_arn)?.to_value(),
        R::ListShards {
            stream,
            next_token,
            exclusive_start_shard_id,
            max_results,
            stream_creation_timestamp_ms: _,
            shard_filter,
        } => shards::list_shards(
            app,
            ctx,
            stream,
            next_token,
            exclusive_start_shard_id,
            max_results,
            shard_filter,
        )?
        .to_value(),
        R::SplitShard {
            stream,
            shard_to_split,
            new_starting_hash_key,
        } => shards::split_shard(app, &resolve(ctx, &stream)?, &shard_to_split, new_starting_hash_key)?.to_value(),
        R::MergeShards {
            stream,
            shard_to_merge,
            adjacent_shard_to_merge,
        } => shards::merge_shards(app, &resolve(ctx, &stream)?, &shard_to_merge, &adjacent_shard_to_merge)?.to_value(),
        R::UpdateShardCount {
            stream,
            target_shard_count,
        } => shards::update_shard_count(app, &resolve(ctx, &stream)?, target_shard_count)?.to_value(),
        R::AddTagsToStream { stream, tags } => {
            tags::add_tags_to_stream(app, &resolve(ctx, &stream)?, &tags)?.to_value()
        }
        R::RemoveTagsFromStream { stream, keys } => {
            tags::remove_tags_from_stream(app, &resolve(ctx, &stream)?, &keys)?.to_value()
        }
        R::ListTagsForStream {
            stream,
            exclusive_start_tag_key,
            limit,
        } => tags::list_tags_for_stream(app, &resolve(ctx, &stream)?, exclusive_start_tag_key, limit)?.to_value(),
        R::TagResource { arn, tags } => tags::tag_resource(app, &arn, &tags)?.to_value(),
        R::UntagResource { arn, keys } => tags::untag_resource(app, &arn, &keys)?.to_value(),
        R::ListTagsForResource { arn } => tags::list_tags_for_resource(app, &arn)?.to_value(),
        R::PutResourcePolicy { arn, policy } => tags::put_resource_policy(app, &arn, &policy)?.to_value(),
        R::GetResourcePolicy { arn } => tags::get_resource_policy(app, &arn)?.to_value(),
        R::DeleteResourcePolicy { arn } => tags::delete_resource_policy(app, &arn)?.to_value(),
        request @ (R::RegisterStreamConsumer { .. }
        | R::DescribeStreamConsumer { .. }
        | R::DeregisterStreamConsumer { .. }
        | R::ListStreamConsumers { .. }) => kinesis_efo::execute(app, request)?,
    };
    Ok(text_response(
        StatusCode::OK,
        encoding.content_type(),
        encoding.encode(&value),
    ))
}

/// The stream a request names.
fn resolve(ctx: &RequestContext, stream: &StreamRef) -> Result<StreamKey> {
    match (&stream.arn, &stream.name) {
        (Some(arn), name) => {
            let (region, account, arn_name) =
                parse_stream_arn(arn).ok_or_else(|| KinesisError::invalid(format!("Invalid StreamARN {arn}.")))?;
            if name.as_ref().is_some_and(|n| *n != arn_name) {
                return Err(Failure(KinesisError::invalid(format!(
                    "StreamARN {arn} and StreamName {} do not refer to the same stream.",
                    name.as_deref().unwrap_or_default()
                ))));
            }
            Ok(StreamKey::new(account, region, arn_name))
        }
        (None, Some(name)) => Ok(StreamKey::new(ctx.account_id.clone(), ctx.region.clone(), name.clone())),
        (None, None) => Err(Failure(KinesisError::validation(
            "Value null at 'streamName' failed to satisfy constraint: Member must not be null",
        ))),
    }
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
        } => shards::open_shard_token(streams, token)?.key().arn(),
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
        tags::resource_policy(streams, &resource).ok().filter(|p| p != "{}")
    })
    .map_err(|message| Failure(KinesisError::new(KinesisErrorCode::AccessDenied, message)))
}
