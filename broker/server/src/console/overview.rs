//! The overview: every queue, topic and stream of the session's account and region that the
//! signed-in key may describe, with depth and traffic counters (the page turns two samples
//! into rates).

use serde_json::{json, Value};
use sluice_broker::stream::StreamKey;
use sluice_broker::topic::TopicKey;

use crate::api::context::RequestContext;
use crate::api::sqs::queue_url;
use crate::app::App;

/// `GET /console/api/overview`.
pub fn overview(app: &App, ctx: &RequestContext) -> Value {
    let broker = &app.broker;
    let queues: Vec<Value> = broker
        .queues
        .overview(&ctx.account_id, &ctx.region)
        .into_iter()
        .filter(|q| {
            let arn = q.key.arn();
            ctx.authorize("sqs:GetQueueAttributes", &arn, || broker.queues.policy_by_arn(&arn))
                .is_ok()
        })
        .map(|q| {
            json!({
                "name": q.key.name,
                "url": queue_url(ctx, &q.key.account, &q.key.name),
                "arn": q.key.arn(),
                "fifo": q.fifo,
                "visible": q.visible,
                "inFlight": q.in_flight,
                "delayed": q.delayed,
                "oldestAgeSeconds": (q.visible + q.in_flight + q.delayed > 0).then_some(q.oldest_age_ms / 1000),
                "sent": q.sent,
                "received": q.received,
                "deleted": q.deleted,
                "isDeadLetterQueue": q.is_dead_letter_queue,
                "deadLetterTarget": q.dead_letter_target.map(|t| json!({
                    "name": t.name,
                    "arn": t.arn,
                    "maxReceiveCount": t.max_receive_count,
                    "visible": t.visible,
                })),
            })
        })
        .collect();
    let topics: Vec<Value> = broker
        .topics
        .overview(&ctx.account_id, &ctx.region)
        .into_iter()
        .filter(|t| {
            ctx.authorize("sns:GetTopicAttributes", &t.arn, || {
                broker.topics.topic_policy(&TopicKey::from_arn(&t.arn)?)
            })
            .is_ok()
        })
        .map(|t| {
            json!({
                "name": t.key.name,
                "arn": t.arn,
                "fifo": t.fifo,
                "subscriptions": t.subscriptions,
                "published": t.published,
                "delivered": t.delivered,
                "failed": t.failed,
            })
        })
        .collect();
    let streams: Vec<Value> = broker
        .streams
        .overview(&ctx.account_id, &ctx.region)
        .into_iter()
        .filter(|s| {
            let arn = s.key.arn();
            ctx.authorize("kinesis:DescribeStreamSummary", &arn, || stream_policy(app, &s.key))
                .is_ok()
        })
        .map(|s| {
            json!({
                "name": s.key.name,
                "arn": s.key.arn(),
                "status": s.status.as_str(),
                "openShards": s.open_shards,
                "consumers": s.consumers,
                "recordsIn": s.records_in,
                "bytesIn": s.bytes_in,
                "recordsOut": s.records_out,
            })
        })
        .collect();
    json!({
        "account": ctx.account_id,
        "region": ctx.region,
        "queues": queues,
        "topics": topics,
        "streams": streams,
        "generatedAtMs": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
    })
}

/// A stream's resource policy, if one is attached.
fn stream_policy(app: &App, key: &StreamKey) -> Option<String> {
    app.broker.streams.policy(key).ok().filter(|p| p.trim() != "{}")
}
