//! A stream's page: its summary, every shard (open and closed) with hash ranges and lineage,
//! its consumers and their running subscriptions, and a record browser.
//!
//! Everything goes through the API's own Kinesis handler ([`super::calls::kinesis`]), so it is
//! validated and authorized as the same calls from an SDK: the page needs
//! `kinesis:DescribeStreamSummary` and `kinesis:ListShards` (consumers need
//! `kinesis:ListStreamConsumers`, and are left out without it), records
//! `kinesis:GetShardIterator` and `kinesis:GetRecords`. Only which subscriptions run now, which
//! no Kinesis call reports, comes from the core, and only beside a consumer list the key may
//! read.

use serde_json::{json, Map, Value};
use sluice_broker::stream::StreamKey;

use super::calls;
use super::error::ConsoleError;
use super::ConsoleRequest;
use crate::api::context::RequestContext;
use crate::app::App;

/// Records a page holds when the request does not say.
const DEFAULT_RECORDS: u32 = 100;
/// Most records one page holds (GetRecords allows 10,000; a page is for reading).
const MAX_RECORDS: u32 = 1_000;
/// ListShards pages read at most (1,000 shards each): far above the open-shard quota of 500
/// plus the closed shards retention keeps listed, and a bound all the same.
const MAX_SHARD_PAGES: usize = 20;
/// Shards per ListShards page.
const SHARD_PAGE: u32 = 1_000;

/// `GET /console/api/streams/{name}`.
pub async fn detail(app: &App, ctx: &RequestContext, name: &str) -> Result<Value, ConsoleError> {
    let key = StreamKey::new(ctx.account_id.clone(), ctx.region.clone(), name);
    let arn = key.arn();
    let summary = calls::kinesis(app, ctx, "DescribeStreamSummary", json!({ "StreamName": name }))
        .await
        .map_err(missing_stream)?;
    let summary = summary.get("StreamDescriptionSummary").cloned().unwrap_or(Value::Null);
    let shards = list_shards(app, ctx, name).await.map_err(missing_stream)?;
    let open = shards
        .iter()
        .filter(|s| s["sequenceNumberRange"]["endingSequenceNumber"].is_null())
        .count();
    // Consumers are an extra: a key that may read the stream but not list its consumers still
    // gets the page, with `consumers: null`.
    let consumers = match optional(
        calls::kinesis(
            app,
            ctx,
            "ListStreamConsumers",
            json!({ "StreamARN": arn, "MaxResults": 100 }),
        )
        .await,
    )? {
        Some(listed) => Value::Array(consumer_list(app, &key, &listed)),
        None => Value::Null,
    };
    Ok(json!({
        "name": name,
        "arn": summary.get("StreamARN").cloned().unwrap_or_else(|| json!(arn)),
        "status": summary.get("StreamStatus").cloned().unwrap_or(Value::Null),
        "mode": summary.pointer("/StreamModeDetails/StreamMode").cloned().unwrap_or_else(|| json!("PROVISIONED")),
        "retentionHours": summary.get("RetentionPeriodHours").cloned().unwrap_or(Value::Null),
        "encryption": summary.get("EncryptionType").cloned().unwrap_or_else(|| json!("NONE")),
        "keyId": summary.get("KeyId").cloned().unwrap_or(Value::Null),
        "createdAtMs": summary.get("StreamCreationTimestamp").and_then(epoch_ms),
        "openShards": open,
        "closedShards": shards.len() - open,
        "shards": shards,
        "consumers": consumers,
    }))
}

/// `GET /console/api/streams/{name}/records?shard=&from=&sequence=&timestamp=&limit=&iterator=`:
/// one page of a shard's records, from a starting position or from a previous page's
/// `nextIterator` (which is also how the page's live tail polls).
pub async fn records(
    app: &App,
    ctx: &RequestContext,
    name: &str,
    req: &ConsoleRequest<'_>,
) -> Result<Value, ConsoleError> {
    let limit = page_limit(req.query("limit").as_deref())?;
    let iterator = match req.query("iterator").filter(|i| !i.is_empty()) {
        Some(iterator) => iterator,
        None => {
            let shard = req
                .query("shard")
                .filter(|s| !s.is_empty())
                .ok_or_else(|| ConsoleError::BadRequest("shard is required: the id of the shard to read.".into()))?;
            let mut input = starting_position(
                req.query("from").as_deref(),
                req.query("sequence").as_deref(),
                req.query("timestamp").as_deref(),
            )?;
            input.insert("StreamName".into(), json!(name));
            input.insert("ShardId".into(), json!(shard));
            let out = calls::kinesis(app, ctx, "GetShardIterator", Value::Object(input)).await?;
            out.get("ShardIterator")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| ConsoleError::Internal("GetShardIterator answered no ShardIterator".into()))?
        }
    };
    // The StreamARN makes GetRecords refuse an iterator of another stream (the core checks),
    // so a page of this stream never shows another's records.
    let arn = StreamKey::new(ctx.account_id.clone(), ctx.region.clone(), name).arn();
    let out = calls::kinesis(
        app,
        ctx,
        "GetRecords",
        json!({ "ShardIterator": iterator, "Limit": limit, "StreamARN": arn }),
    )
    .await?;
    let records: Vec<Value> = out
        .get("Records")
        .and_then(Value::as_array)
        .map(|rs| rs.iter().map(record_json).collect())
        .unwrap_or_default();
    let children: Option<Vec<Value>> = out
        .get("ChildShards")
        .and_then(Value::as_array)
        .map(|cs| cs.iter().filter_map(|c| c.get("ShardId").cloned()).collect());
    Ok(json!({
        "records": records,
        "nextIterator": out.get("NextShardIterator").cloned().unwrap_or(Value::Null),
        "millisBehindLatest": out.get("MillisBehindLatest").cloned().unwrap_or(json!(0)),
        "childShards": children,
    }))
}

/// Every listed shard, open and closed, in id order, as the page shows them.
async fn list_shards(app: &App, ctx: &RequestContext, name: &str) -> Result<Vec<Value>, ConsoleError> {
    let mut shards = Vec::new();
    let mut input = json!({ "StreamName": name, "MaxResults": SHARD_PAGE });
    for _ in 0..MAX_SHARD_PAGES {
        let page = calls::kinesis(app, ctx, "ListShards", input).await?;
        for shard in page.get("Shards").and_then(Value::as_array).into_iter().flatten() {
            shards.push(shard_json(shard));
        }
        // A later page names its stream only in the token (AWS refuses both).
        match page.get("NextToken").and_then(Value::as_str) {
            Some(token) => input = json!({ "NextToken": token, "MaxResults": SHARD_PAGE }),
            None => return Ok(shards),
        }
    }
    tracing::warn!(stream = %name, pages = MAX_SHARD_PAGES, "console shard list cut short");
    Ok(shards)
}

/// A ListShards `Shard` with the console's camelCase names; `endingSequenceNumber` is `null`
/// while the shard is open.
fn shard_json(shard: &Value) -> Value {
    let field = |pointer: &str| shard.pointer(pointer).cloned().unwrap_or(Value::Null);
    json!({
        "shardId": field("/ShardId"),
        "parentShardId": field("/ParentShardId"),
        "adjacentParentShardId": field("/AdjacentParentShardId"),
        "hashKeyRange": {
            "startingHashKey": field("/HashKeyRange/StartingHashKey"),
            "endingHashKey": field("/HashKeyRange/EndingHashKey"),
        },
        "sequenceNumberRange": {
            "startingSequenceNumber": field("/SequenceNumberRange/StartingSequenceNumber"),
            "endingSequenceNumber": field("/SequenceNumberRange/EndingSequenceNumber"),
        },
    })
}

/// ListStreamConsumers' consumers, each with the shards it has a subscription running on now.
fn consumer_list(app: &App, key: &StreamKey, listed: &Value) -> Vec<Value> {
    // A stream deleted between the two reads has no subscriptions.
    let running = app.broker.streams.active_subscriptions(key).unwrap_or_default();
    listed
        .get("Consumers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            let name = c.get("ConsumerName").and_then(Value::as_str).unwrap_or_default();
            let subscriptions: Vec<Value> = running
                .iter()
                .filter(|s| s.consumer == name)
                .map(|s| json!({ "shardId": s.shard_id, "startedAtMs": s.started_ms }))
                .collect();
            json!({
                "name": name,
                "arn": c.get("ConsumerARN").cloned().unwrap_or(Value::Null),
                "status": c.get("ConsumerStatus").cloned().unwrap_or(Value::Null),
                "createdAtMs": c.get("ConsumerCreationTimestamp").and_then(epoch_ms),
                "subscribed": !subscriptions.is_empty(),
                "subscriptions": subscriptions,
            })
        })
        .collect()
}

/// A GetRecords `Record` with the console's names; `data` stays base64, as on the wire.
fn record_json(record: &Value) -> Value {
    json!({
        "sequenceNumber": record.get("SequenceNumber").cloned().unwrap_or(Value::Null),
        "partitionKey": record.get("PartitionKey").cloned().unwrap_or(Value::Null),
        "approximateArrivalTimestampMs": record.get("ApproximateArrivalTimestamp").and_then(epoch_ms),
        "data": record.get("Data").cloned().unwrap_or_else(|| json!("")),
        "encryptionType": record.get("EncryptionType").cloned().unwrap_or(Value::Null),
    })
}

/// The page size: `limit`, 1 to [`MAX_RECORDS`], or [`DEFAULT_RECORDS`].
fn page_limit(limit: Option<&str>) -> Result<u32, ConsoleError> {
    let Some(v) = limit else {
        return Ok(DEFAULT_RECORDS);
    };
    v.parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_RECORDS).contains(n))
        .ok_or_else(|| ConsoleError::BadRequest(format!("limit must be 1 to {MAX_RECORDS}, not {v:?}.")))
}

/// GetShardIterator's starting position for `from` (default `trim_horizon`), with the
/// sequence number or the epoch-ms timestamp it needs.
fn starting_position(
    from: Option<&str>,
    sequence: Option<&str>,
    timestamp: Option<&str>,
) -> Result<Map<String, Value>, ConsoleError> {
    let sequence = || {
        sequence.filter(|s| !s.is_empty()).ok_or_else(|| {
            ConsoleError::BadRequest("sequence is required: the sequence number to start at or after.".into())
        })
    };
    let mut input = Map::new();
    let kind = match from.unwrap_or("trim_horizon") {
        "trim_horizon" => "TRIM_HORIZON",
        "latest" => "LATEST",
        "at_sequence" => {
            input.insert("StartingSequenceNumber".into(), json!(sequence()?));
            "AT_SEQUENCE_NUMBER"
        }
        "after_sequence" => {
            input.insert("StartingSequenceNumber".into(), json!(sequence()?));
            "AFTER_SEQUENCE_NUMBER"
        }
        "at_timestamp" => {
            let v = timestamp.unwrap_or_default();
            let ms = v.parse::<i64>().ok().filter(|ms| *ms >= 0).ok_or_else(|| {
                ConsoleError::BadRequest(format!(
                    "timestamp must be milliseconds since 1970-01-01T00:00:00Z, not {v:?}."
                ))
            })?;
            // JSON 1.1 carries timestamps as epoch seconds; the decoder rounds back to ms.
            input.insert("Timestamp".into(), json!(ms as f64 / 1000.0));
            "AT_TIMESTAMP"
        }
        other => {
            return Err(ConsoleError::BadRequest(format!(
                "from must be trim_horizon, latest, at_sequence, after_sequence or at_timestamp, not {other:?}."
            )))
        }
    };
    input.insert("ShardIteratorType".into(), json!(kind));
    Ok(input)
}

/// A JSON 1.1 timestamp (epoch seconds, fractional) as epoch ms.
fn epoch_ms(value: &Value) -> Option<Value> {
    let secs = value.as_f64().filter(|s| s.is_finite() && *s >= 0.0)?;
    Some(json!((secs * 1000.0).round() as u64))
}

/// The API's "no such stream" as the console's 404 (the page of a missing stream).
fn missing_stream(err: ConsoleError) -> ConsoleError {
    match err {
        ConsoleError::Api { code, message, .. } if code == "ResourceNotFoundException" => {
            ConsoleError::NotFound { code, message }
        }
        other => other,
    }
}

/// An extra the key may not read becomes `None`; other failures stay failures.
fn optional(result: Result<Value, ConsoleError>) -> Result<Option<Value>, ConsoleError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(ConsoleError::Api { code, .. }) if code == "AccessDeniedException" || code == "AccessDenied" => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starting_positions() {
        let kind = |from: Option<&str>, seq: Option<&str>, ts: Option<&str>| {
            starting_position(from, seq, ts).map(Value::Object)
        };
        assert_eq!(
            kind(None, None, None),
            Ok(json!({ "ShardIteratorType": "TRIM_HORIZON" }))
        );
        assert_eq!(
            kind(Some("latest"), None, None),
            Ok(json!({ "ShardIteratorType": "LATEST" }))
        );
        assert_eq!(
            kind(Some("after_sequence"), Some("495"), None),
            Ok(json!({ "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": "495" }))
        );
        assert_eq!(
            kind(Some("at_timestamp"), None, Some("1700000000123")),
            Ok(json!({ "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": 1_700_000_000.123 }))
        );
        for (from, seq, ts) in [
            (Some("at_sequence"), None, None),
            (Some("at_sequence"), Some(""), None),
            (Some("at_timestamp"), None, None),
            (Some("at_timestamp"), None, Some("yesterday")),
            (Some("at_timestamp"), None, Some("-1")),
            (Some("oldest"), None, None),
        ] {
            assert!(
                matches!(kind(from, seq, ts), Err(ConsoleError::BadRequest(_))),
                "{from:?} {seq:?} {ts:?}"
            );
        }
    }

    #[test]
    fn page_limits() {
        assert_eq!(page_limit(None), Ok(DEFAULT_RECORDS));
        assert_eq!(page_limit(Some("1")), Ok(1));
        assert_eq!(page_limit(Some("1000")), Ok(1000));
        for bad in ["0", "1001", "-1", "ten", ""] {
            assert!(page_limit(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn shapes_take_the_console_names() {
        let shard = shard_json(&json!({
            "ShardId": "shardId-000000000002",
            "ParentShardId": "shardId-000000000000",
            "HashKeyRange": { "StartingHashKey": "0", "EndingHashKey": "99" },
            "SequenceNumberRange": { "StartingSequenceNumber": "1" },
        }));
        assert_eq!(shard["parentShardId"], "shardId-000000000000");
        assert!(shard["adjacentParentShardId"].is_null());
        assert_eq!(shard["hashKeyRange"]["endingHashKey"], "99");
        assert!(shard["sequenceNumberRange"]["endingSequenceNumber"].is_null());
        let record = record_json(&json!({
            "SequenceNumber": "7",
            "PartitionKey": "k",
            "ApproximateArrivalTimestamp": 1_700_000_000.5,
            "Data": "aGk=",
        }));
        assert_eq!(record["approximateArrivalTimestampMs"], 1_700_000_000_500u64);
        assert_eq!(record["data"], "aGk=");
        assert_eq!(epoch_ms(&json!(-1.0)), None);
    }
}
