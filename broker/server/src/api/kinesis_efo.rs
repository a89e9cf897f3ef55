//! Kinesis enhanced fan-out: stream consumers and SubscribeToShard's event stream.
//!
//! # Layout
//! - [`execute`]: Register/Describe/List/DeregisterStreamConsumer, translated like every other
//!   Kinesis call.
//! - [`subscribe`]: starts a core [`Subscription`] and answers 200 with an
//!   `application/vnd.amazon.eventstream` body fed by [`pump`]: an `initial-response` event
//!   first, then a `SubscribeToShardEvent` per batch of committed records (or per 5 s of
//!   silence), in the request's encoding (JSON 1.1 or CBOR). Errors before the stream starts are
//!   ordinary error responses; errors after it are `exception` events, after which the stream
//!   ends. The stream also ends after `--subscription-lifetime` (AWS: 5 minutes), at the end
//!   of a closed shard, at shutdown, or when the client goes away.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};
use serde::{Deserialize, Serialize};
use sluice_broker::stream::{ConsumerInfo, ConsumerName, ShardEvent, StreamKey, Subscription};
use sluice_protocols::eventstream::{self, HeaderValue as FrameHeader, Message};
use sluice_protocols::kinesis::output::{
    Consumer, ConsumerDescription, DescribeStreamConsumerOutput, EmptyOutput, ListStreamConsumersOutput,
    RegisterStreamConsumerOutput, SubscribeToShardEvent,
};
use sluice_protocols::kinesis::types::{parse_consumer_arn, ConsumerRef, StartingPosition};
use sluice_protocols::kinesis::{error_body, Encoding, KinesisError, KinesisErrorCode, KinesisRequest, ToValue, Value};
use tokio::sync::mpsc;

use super::kinesis_shapes::{child_shards, iterator_start, now_ms, record, resolve_arn, NEXT_TOKEN_TTL_MS};
use crate::api::error::kinesis_error;
use crate::app::App;
use crate::wire::ResponseBody;

type Result<T> = std::result::Result<T, KinesisError>;

/// An event at least this often, records or not (AWS: every 5 seconds).
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// Frames buffered between the subscription and a slow reader; beyond it the subscription
/// waits (backpressure) instead of reading ahead.
const FRAME_BUFFER: usize = 4;

/// The stream and consumer a consumer ARN names.
pub fn resolve_consumer_arn(arn: &str) -> Result<(StreamKey, ConsumerName)> {
    let parsed = parse_consumer_arn(arn).ok_or_else(|| KinesisError::invalid(format!("Invalid ConsumerARN {arn}.")))?;
    Ok((
        StreamKey::new(parsed.account, parsed.region, parsed.stream),
        ConsumerName {
            name: parsed.consumer,
            created_secs: Some(parsed.created_secs),
        },
    ))
}

fn resolve_consumer(consumer: &ConsumerRef) -> Result<(StreamKey, ConsumerName)> {
    match consumer {
        ConsumerRef::Arn(arn) => resolve_consumer_arn(arn),
        ConsumerRef::Name {
            stream_arn,
            consumer_name,
        } => Ok((
            resolve_arn(stream_arn)?,
            ConsumerName {
                name: consumer_name.clone(),
                created_secs: None,
            },
        )),
    }
}

/// The ARN authorization checks for a consumer request.
pub fn consumer_resource(consumer: &ConsumerRef) -> String {
    match consumer {
        ConsumerRef::Arn(arn) => arn.clone(),
        ConsumerRef::Name {
            stream_arn,
            consumer_name,
        } => format!("{stream_arn}/consumer/{consumer_name}:*"),
    }
}

fn consumer_of(c: &ConsumerInfo) -> Consumer {
    Consumer {
        consumer_name: c.name.clone(),
        consumer_arn: c.arn.clone(),
        consumer_status: c.status.as_str(),
        consumer_creation_timestamp: c.created_ms as i64,
    }
}

/// ListStreamConsumers' NextToken: where the page ended and when it was issued.
#[derive(Serialize, Deserialize)]
struct ConsumerToken {
    /// Last consumer name returned.
    x: String,
    /// Issued at, epoch ms.
    t: u64,
}

/// Serves the consumer-management calls, each answer converted to a document here, once.
pub fn execute(app: &App, request: KinesisRequest) -> Result<Value> {
    let streams = &app.broker.streams;
    Ok(match request {
        KinesisRequest::RegisterStreamConsumer {
            stream_arn,
            consumer_name,
            tags,
        } => {
            let key = resolve_arn(&stream_arn)?;
            let info = streams
                .register_consumer(&key, &consumer_name, &tags)
                .map_err(kinesis_error)?;
            RegisterStreamConsumerOutput {
                consumer: consumer_of(&info),
            }
            .to_value()
        }
        KinesisRequest::DescribeStreamConsumer { consumer } => {
            let (key, name) = resolve_consumer(&consumer)?;
            let info = streams.describe_consumer(&key, &name).map_err(kinesis_error)?;
            DescribeStreamConsumerOutput {
                consumer_description: ConsumerDescription {
                    consumer: consumer_of(&info),
                    stream_arn: info.stream_arn,
                },
            }
            .to_value()
        }
        KinesisRequest::DeregisterStreamConsumer { consumer } => {
            let (key, name) = resolve_consumer(&consumer)?;
            streams.deregister_consumer(&key, &name).map_err(kinesis_error)?;
            EmptyOutput.to_value()
        }
        KinesisRequest::ListStreamConsumers {
            stream_arn,
            next_token,
            max_results,
            stream_creation_timestamp_ms: _,
        } => {
            let key = resolve_arn(&stream_arn)?;
            let after = match next_token {
                Some(token) => {
                    let t: ConsumerToken = URL_SAFE_NO_PAD
                        .decode(token.as_bytes())
                        .ok()
                        .and_then(|b| serde_json::from_slice(&b).ok())
                        .ok_or_else(|| KinesisError::invalid("Invalid NextToken."))?;
                    let now = now_ms();
                    if now > t.t.saturating_add(NEXT_TOKEN_TTL_MS) {
                        return Err(KinesisError::new(
                            KinesisErrorCode::ExpiredNextToken,
                            format!(
                                "The NextToken was issued at {} ms, more than {NEXT_TOKEN_TTL_MS} ms ago.",
                                t.t
                            ),
                        ));
                    }
                    Some(t.x)
                }
                None => None,
            };
            let limit = max_results.unwrap_or(100) as usize;
            let all = streams.list_consumers(&key).map_err(kinesis_error)?;
            let rest: Vec<&ConsumerInfo> = all
                .iter()
                .filter(|c| after.as_ref().is_none_or(|a| c.name > *a))
                .collect();
            let page: Vec<&ConsumerInfo> = rest.iter().take(limit).copied().collect();
            let next = match page.last() {
                Some(last) if rest.len() > limit => {
                    let token = ConsumerToken {
                        x: last.name.clone(),
                        t: now_ms(),
                    };
                    let json = serde_json::to_vec(&token).map_err(|_| KinesisError::internal())?;
                    Some(URL_SAFE_NO_PAD.encode(json))
                }
                _ => None,
            };
            ListStreamConsumersOutput {
                consumers: Some(page.iter().map(|c| consumer_of(c)).collect()),
                next_token: next,
            }
            .to_value()
        }
        other => {
            tracing::error!(request = ?other, "not a consumer request");
            return Err(KinesisError::internal());
        }
    })
}

/// SubscribeToShard: a 200 event-stream response, or an error before any event.
pub fn subscribe(
    app: &App,
    encoding: Encoding,
    consumer_arn: &str,
    shard_id: &str,
    starting_position: StartingPosition,
) -> Result<Response<ResponseBody>> {
    let streams = &app.broker.streams;
    let (key, consumer) = resolve_consumer_arn(consumer_arn)?;
    let subscription = streams
        .subscribe(
            &key,
            &consumer,
            shard_id,
            iterator_start(
                starting_position.kind,
                starting_position.sequence_number,
                starting_position.timestamp_ms,
            ),
        )
        .map_err(kinesis_error)?;
    let (tx, rx) = mpsc::channel(FRAME_BUFFER);
    let lifetime = app.settings.subscription_lifetime;
    let shutdown = app.shutdown_started();
    let metrics = app.metrics.kinesis().clone();
    let open = metrics.subscription_opened();
    tokio::spawn(async move {
        let _open = open;
        tokio::select! {
            () = pump(subscription, &tx, encoding, &metrics) => {}
            () = tokio::time::sleep(lifetime) => {}
            () = shutdown => {}
            () = tx.closed() => {}
        }
    });
    let mut response = Response::new(ResponseBody::stream(rx));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    Ok(response)
}

/// Feeds the event stream until the subscription ends or the reader goes away.
async fn pump(
    mut subscription: Subscription,
    tx: &mpsc::Sender<Bytes>,
    encoding: Encoding,
    metrics: &crate::metrics::KinesisMetrics,
) {
    let empty = encoding.encode(&EmptyOutput.to_value());
    if !send(tx, event_frame(encoding, "initial-response", empty)).await {
        return;
    }
    loop {
        match subscription.next_event(HEARTBEAT).await {
            Ok(Some(event)) => {
                let bytes: u64 = event.records.iter().map(|r| r.data.len() as u64).sum();
                metrics.returned(event.records.len() as u64, bytes, event.millis_behind_latest);
                let payload = encoding.encode(&event_output(event).to_value());
                if !send(tx, event_frame(encoding, "SubscribeToShardEvent", payload)).await {
                    return;
                }
            }
            Ok(None) => return,
            Err(err) => {
                let err = kinesis_error(err);
                tracing::debug!(code = err.code.as_str(), message = %err.message, "subscription ended with an exception event");
                send(tx, exception_frame(encoding, &err)).await;
                return;
            }
        }
    }
}

async fn send(tx: &mpsc::Sender<Bytes>, frame: Option<Bytes>) -> bool {
    match frame {
        Some(frame) => tx.send(frame).await.is_ok(),
        None => false,
    }
}

fn event_output(event: ShardEvent) -> SubscribeToShardEvent {
    SubscribeToShardEvent {
        records: event.records.into_iter().map(record).collect(),
        continuation_sequence_number: event.continuation,
        millis_behind_latest: event.millis_behind_latest as i64,
        child_shards: event.child_shards.map(child_shards),
    }
}

fn frame(headers: Vec<(&str, &str)>, payload: Vec<u8>) -> Option<Bytes> {
    let message = Message {
        headers: headers
            .into_iter()
            .map(|(n, v)| (n.to_string(), FrameHeader::String(v.to_string())))
            .collect(),
        payload,
    };
    match eventstream::encode(&message) {
        Ok(frame) => Some(Bytes::from(frame)),
        Err(err) => {
            // Only an event over 16 MiB can fail; the subscription ends rather than skip it.
            tracing::warn!(error = %err, "event-stream frame could not be encoded");
            None
        }
    }
}

fn event_frame(encoding: Encoding, event_type: &str, payload: Vec<u8>) -> Option<Bytes> {
    frame(
        vec![
            (":event-type", event_type),
            (":content-type", encoding.content_type()),
            (":message-type", "event"),
        ],
        payload,
    )
}

fn exception_frame(encoding: Encoding, err: &KinesisError) -> Option<Bytes> {
    // The same `{__type, message}` body as an error response: `message` is the modelled
    // member, and `__type` lets SDKs that read error metadata from the payload (the Rust SDK)
    // report the code too.
    let payload = error_body(err, encoding);
    frame(
        vec![
            (":exception-type", err.code.as_str()),
            (":content-type", encoding.content_type()),
            (":message-type", "exception"),
        ],
        payload,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_framed_with_aws_headers_in_the_request_encoding() {
        let frame = event_frame(Encoding::Cbor, "SubscribeToShardEvent", vec![0xa0]).expect("small frame");
        let (message, used) = eventstream::decode(&frame).expect("valid").expect("complete");
        assert_eq!(used, frame.len());
        assert_eq!(message.header_str(":message-type"), Some("event"));
        assert_eq!(message.header_str(":event-type"), Some("SubscribeToShardEvent"));
        assert_eq!(message.header_str(":content-type"), Some("application/x-amz-cbor-1.1"));
        assert_eq!(message.payload, vec![0xa0]);

        let err = KinesisError::new(KinesisErrorCode::ResourceInUse, "taken over");
        let frame = exception_frame(Encoding::Json, &err).expect("small frame");
        let (message, _) = eventstream::decode(&frame).expect("valid").expect("complete");
        assert_eq!(message.header_str(":message-type"), Some("exception"));
        assert_eq!(message.header_str(":exception-type"), Some("ResourceInUseException"));
        assert_eq!(
            message.payload,
            br#"{"__type":"ResourceInUseException","message":"taken over"}"#
        );
    }

    #[test]
    fn consumer_arns_resolve_to_stream_and_creation_second() {
        let (key, name) =
            resolve_consumer_arn("arn:aws:kinesis:eu-west-1:123456789012:stream/orders/consumer/app-1:1700000000")
                .expect("valid ARN");
        assert_eq!(key, StreamKey::new("123456789012", "eu-west-1", "orders"));
        assert_eq!(name.name, "app-1");
        assert_eq!(name.created_secs, Some(1_700_000_000));
        assert!(resolve_consumer_arn("arn:aws:kinesis:eu-west-1:123456789012:stream/orders").is_err());
    }
}
