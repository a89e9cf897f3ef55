//! Kinesis calls on a stream's shards: listing them and resharding.
//!
//! # Layout
//! - [`list_shards`]: ListShards, paged by a NextToken that is sealed with the data folder's
//!   secret ([`sluice_broker::Streams::seal_token`]) and expires after 300 s like AWS's
//!   (`ExpiredNextTokenException`). A call with a NextToken names its stream only through the
//!   token, so authorization reads the stream from [`open_shard_token`], and an edited token is
//!   refused before anything else.
//! - Resharding: [`split_shard`], [`merge_shards`], [`update_shard_count`].
//! - [`shard`]: the `Shard` shape, which DescribeStream answers with too.

use sluice_broker::stream::shard::{format_sequence, parse_shard_id, shard_id, ShardRecord};
use sluice_broker::stream::{ShardFilter, StreamKey};
use sluice_protocols::kinesis::output::{
    EmptyOutput, HashKeyRange, ListShardsOutput, SequenceNumberRange, Shard, UpdateShardCountOutput,
};
use sluice_protocols::kinesis::types::{ShardFilter as WireShardFilter, ShardFilterType, StreamRef};
use sluice_protocols::kinesis::{KinesisError, KinesisErrorCode};

use super::error::{Failure, Result};
use super::resolve;
use crate::api::context::RequestContext;
use crate::api::kinesis_shapes::{now_ms, resolve_arn, NEXT_TOKEN_TTL_MS};
use crate::app::App;

/// ListShards: a page of the stream's shards, after a shard id or a filter, or the page a
/// NextToken continues.
pub fn list_shards(
    app: &App,
    ctx: &RequestContext,
    stream: StreamRef,
    next_token: Option<String>,
    exclusive_start_shard_id: Option<String>,
    max_results: Option<i64>,
    shard_filter: Option<WireShardFilter>,
) -> Result<ListShardsOutput> {
    let streams = &app.broker.streams;
    let limit = max_results.unwrap_or(1000) as usize;
    let (key, filter, after) = match next_token {
        Some(token) => {
            // botocore forbids only StreamName beside a NextToken: StreamARN is an endpoint
            // parameter an SDK may repeat on every page, so it is accepted when it names the
            // token's stream.
            if stream.name.is_some() {
                return Err(Failure(KinesisError::invalid(
                    "NextToken and StreamName cannot be provided together.",
                )));
            }
            if exclusive_start_shard_id.is_some() || shard_filter.is_some() {
                return Err(Failure(KinesisError::invalid(
                    "NextToken cannot be provided together with ExclusiveStartShardId or ShardFilter.",
                )));
            }
            let t = open_shard_token(streams, &token)?;
            if let Some(arn) = &stream.arn {
                if resolve_arn(arn)? != t.key() {
                    return Err(Failure(KinesisError::invalid(format!(
                        "StreamARN {arn} does not name the stream of the NextToken."
                    ))));
                }
            }
            let now = now_ms();
            if now > t.t.saturating_add(NEXT_TOKEN_TTL_MS) {
                return Err(Failure(KinesisError::new(
                    KinesisErrorCode::ExpiredNextToken,
                    format!(
                        "The timestampInMillis parameter of the token is {}, which is more than {NEXT_TOKEN_TTL_MS} ms ago (now {now}).",
                        t.t
                    ),
                )));
            }
            let filter = match t.f {
                Some(c) => Some(filter_from_code(c).ok_or_else(|| KinesisError::invalid("Invalid ShardListToken."))?),
                None => None,
            };
            (t.key(), filter, Some(t.x))
        }
        None => {
            let key = resolve(ctx, &stream)?;
            let filter = match shard_filter {
                None => None,
                Some(f) => Some(core_filter(f)?),
            };
            (key, filter, exclusive_start_shard_id)
        }
    };
    let info = streams.describe(&key)?;
    let shards = streams.list_shards(&key, filter)?;
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
    Ok(ListShardsOutput {
        shards: Some(page.iter().map(|s| shard(info.id, s)).collect()),
        next_token: next,
    })
}

/// The core's filter for a ListShards `ShardFilter`.
fn core_filter(f: WireShardFilter) -> Result<ShardFilter> {
    Ok(match f.kind {
        ShardFilterType::AfterShardId => {
            let id = f
                .shard_id
                .ok_or_else(|| KinesisError::invalid("ShardId is required for ShardFilter type AFTER_SHARD_ID."))?;
            ShardFilter::AfterShard(
                parse_shard_id(&id)
                    .ok_or_else(|| KinesisError::invalid(format!("Invalid ShardId {id} in ShardFilter.")))?,
            )
        }
        ShardFilterType::AtTrimHorizon => ShardFilter::AtTrimHorizon,
        ShardFilterType::FromTrimHorizon => ShardFilter::FromTrimHorizon,
        ShardFilterType::AtLatest => ShardFilter::AtLatest,
        ShardFilterType::AtTimestamp | ShardFilterType::FromTimestamp => {
            let t = f.timestamp_ms.ok_or_else(|| {
                KinesisError::invalid("Timestamp is required for ShardFilter types AT_TIMESTAMP and FROM_TIMESTAMP.")
            })?;
            let t = t.max(0) as u64;
            if f.kind == ShardFilterType::AtTimestamp {
                ShardFilter::AtTimestamp(t)
            } else {
                ShardFilter::FromTimestamp(t)
            }
        }
    })
}

/// SplitShard.
pub fn split_shard(
    app: &App,
    key: &StreamKey,
    shard_to_split: &str,
    new_starting_hash_key: u128,
) -> Result<EmptyOutput> {
    app.broker.streams.split(key, shard_to_split, new_starting_hash_key)?;
    Ok(EmptyOutput)
}

/// MergeShards.
pub fn merge_shards(
    app: &App,
    key: &StreamKey,
    shard_to_merge: &str,
    adjacent_shard_to_merge: &str,
) -> Result<EmptyOutput> {
    app.broker.streams.merge(key, shard_to_merge, adjacent_shard_to_merge)?;
    Ok(EmptyOutput)
}

/// UpdateShardCount.
pub fn update_shard_count(app: &App, key: &StreamKey, target_shard_count: i64) -> Result<UpdateShardCountOutput> {
    let target = u32::try_from(target_shard_count).map_err(|_| {
        KinesisError::new(
            KinesisErrorCode::LimitExceeded,
            "TargetShardCount exceeds the shard limit.",
        )
    })?;
    let (current, target) = app.broker.streams.update_shard_count(key, target)?;
    Ok(UpdateShardCountOutput {
        stream_arn: Some(key.arn()),
        stream_name: Some(key.name.clone()),
        current_shard_count: Some(current as i64),
        target_shard_count: Some(target as i64),
    })
}

/// A `Shard` of ListShards and DescribeStream.
pub fn shard(stream_id: u64, s: &ShardRecord) -> Shard {
    Shard {
        shard_id: s.id(),
        parent_shard_id: s.parent.map(shard_id),
        adjacent_parent_shard_id: s.adjacent_parent.map(shard_id),
        hash_key_range: HashKeyRange {
            starting_hash_key: s.start_hash.clone(),
            ending_hash_key: s.end_hash.clone(),
        },
        sequence_number_range: SequenceNumberRange {
            starting_sequence_number: format_sequence(stream_id, s.index, s.starting_seq),
            ending_sequence_number: s.ending_seq.map(|e| format_sequence(stream_id, s.index, e)),
        },
    }
}

/// The state a ListShards NextToken carries.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct ShardToken {
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
    pub fn key(&self) -> StreamKey {
        StreamKey::new(self.a.clone(), self.r.clone(), self.n.clone())
    }
}

/// The state of a ListShards NextToken this data folder issued; `InvalidArgumentException` for
/// anything else (a forged token, or one a client edited to name another stream).
pub fn open_shard_token(streams: &sluice_broker::Streams, token: &str) -> Result<ShardToken> {
    streams
        .open_token(token)
        .and_then(|state| serde_json::from_slice(&state).ok())
        .ok_or_else(|| Failure(KinesisError::invalid("Invalid ShardListToken.")))
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
