//! Kinesis helpers for the end-to-end tests: the official `aws-sdk-kinesis` client configured
//! like [`crate::sqs_client`], stream set-up that waits for ACTIVE, shard readers, and raw
//! SigV4-signed JSON 1.1 and CBOR requests for wire-level tests.
//!
//! Every wait is bounded (10 s for a status change, 2,000 GetRecords calls per shard read).

use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_sdk_kinesis::config::retry::RetryConfig;
use aws_sdk_kinesis::primitives::event_stream::EventReceiver;
use aws_sdk_kinesis::types::error::SubscribeToShardEventStreamError;
use aws_sdk_kinesis::types::{
    ConsumerStatus, Record, ShardIteratorType, StartingPosition, StreamStatus, SubscribeToShardEvent,
    SubscribeToShardEventStream,
};
use aws_sdk_kinesis::Client;
use http::{Method, Request};

use crate::client::{ACCESS_KEY, REGION, SECRET_KEY};
use crate::raw::{self, RawResponse};
use crate::sqs::ok;

/// Content type of Kinesis's JSON protocol.
pub const JSON11: &str = "application/x-amz-json-1.1";
/// Content type of Kinesis's CBOR protocol (the Java SDKs' default).
pub const CBOR11: &str = "application/x-amz-cbor-1.1";

/// A Kinesis client for `endpoint` with the SDK's standard retries.
pub async fn kinesis_client(endpoint: &str) -> Client {
    build(endpoint, RetryConfig::standard()).await
}

/// A Kinesis client without retries (crash tests and load generation).
pub async fn kinesis_client_no_retry(endpoint: &str) -> Client {
    build(endpoint, RetryConfig::disabled()).await
}

async fn build(endpoint: &str, retry: RetryConfig) -> Client {
    let credentials = Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "sluice-tests");
    Client::new(&crate::client::sdk_config(endpoint, REGION, retry, credentials).await)
}

/// Waits (at most 10 s) until the stream is ACTIVE.
pub async fn wait_active(client: &Client, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let summary = ok(
            client.describe_stream_summary().stream_name(name).send().await,
            "DescribeStreamSummary",
        );
        let status = summary.stream_description_summary().map(|s| s.stream_status().clone());
        if status == Some(StreamStatus::Active) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "stream {name} not ACTIVE after 10 s: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Creates a provisioned stream with `shards` shards and waits until it is ACTIVE.
pub async fn create_stream(client: &Client, name: &str, shards: i32) {
    ok(
        client
            .create_stream()
            .stream_name(name)
            .shard_count(shards)
            .send()
            .await,
        "CreateStream",
    );
    wait_active(client, name).await;
}

/// Every shard id of the stream (all listed shards, open and closed), in id order.
pub async fn shard_ids(client: &Client, name: &str) -> Vec<String> {
    let out = ok(client.list_shards().stream_name(name).send().await, "ListShards");
    out.shards().iter().map(|s| s.shard_id().to_string()).collect()
}

/// A shard iterator of `kind` (TRIM_HORIZON, LATEST, ...).
pub async fn iterator(client: &Client, name: &str, shard: &str, kind: ShardIteratorType) -> String {
    let out = ok(
        client
            .get_shard_iterator()
            .stream_name(name)
            .shard_id(shard)
            .shard_iterator_type(kind)
            .send()
            .await,
        "GetShardIterator",
    );
    out.shard_iterator().expect("an iterator").to_string()
}

/// What reading a shard to its current end found.
#[derive(Debug, Default)]
pub struct ShardRead {
    /// Records in order.
    pub records: Vec<Record>,
    /// True when the shard is closed and was read to its end (NextShardIterator was null).
    pub closed: bool,
    /// ChildShards of the final response of a closed shard.
    pub children: Vec<String>,
}

/// Reads from `it` until caught up (empty page with MillisBehindLatest 0) or the shard ends.
pub async fn read_from(client: &Client, mut it: String, limit: i32) -> ShardRead {
    let mut read = ShardRead::default();
    for _ in 0..2_000 {
        let out = ok(
            client.get_records().shard_iterator(&it).limit(limit).send().await,
            "GetRecords",
        );
        let n = out.records().len();
        read.records.extend(out.records().iter().cloned());
        match out.next_shard_iterator() {
            None => {
                read.closed = true;
                read.children = out.child_shards().iter().map(|c| c.shard_id().to_string()).collect();
                return read;
            }
            Some(next) => it = next.to_string(),
        }
        if n == 0 && out.millis_behind_latest() == Some(0) {
            return read;
        }
    }
    panic!("shard not read to its end within 2,000 GetRecords calls");
}

/// Reads one shard from TRIM_HORIZON to its current end.
pub async fn read_shard(client: &Client, name: &str, shard: &str) -> ShardRead {
    let it = iterator(client, name, shard, ShardIteratorType::TrimHorizon).await;
    read_from(client, it, 10_000).await
}

/// A signed Kinesis request: `POST /`, `X-Amz-Target: Kinesis_20131202.<action>`.
pub fn request(endpoint: &str, action: &str, content_type: &str, body: Vec<u8>) -> Request<Vec<u8>> {
    let target = format!("Kinesis_20131202.{action}");
    let mut req = raw::build(
        Method::POST,
        &format!("{endpoint}/"),
        &[("content-type", content_type), ("x-amz-target", &target)],
        body,
        false,
    );
    raw::sign(&mut req, "kinesis");
    req
}

/// A signed JSON 1.1 call over HTTP/1.1.
pub async fn json(endpoint: &str, action: &str, body: &serde_json::Value) -> RawResponse {
    let bytes = serde_json::to_vec(body).expect("json");
    raw::send(request(endpoint, action, JSON11, bytes))
        .await
        .unwrap_or_else(|e| panic!("JSON {action}: {e}"))
}

/// A signed CBOR call over HTTP/1.1; returns the status and the decoded CBOR body.
pub async fn cbor(endpoint: &str, action: &str, body: &ciborium::Value) -> (RawResponse, ciborium::Value) {
    let mut bytes = Vec::new();
    ciborium::ser::into_writer(body, &mut bytes).expect("encode cbor");
    let response = raw::send(request(endpoint, action, CBOR11, bytes))
        .await
        .unwrap_or_else(|e| panic!("CBOR {action}: {e}"));
    let value = ciborium::de::from_reader(&response.raw[..])
        .unwrap_or_else(|e| panic!("CBOR {action} answered non-CBOR ({e}): {:?}", response.body));
    (response, value)
}

/// A CBOR map with text keys.
pub fn cbor_map(entries: Vec<(&str, ciborium::Value)>) -> ciborium::Value {
    ciborium::Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (ciborium::Value::Text(k.to_string()), v))
            .collect(),
    )
}

/// A member of a CBOR map.
pub fn cbor_get<'a>(map: &'a ciborium::Value, key: &str) -> Option<&'a ciborium::Value> {
    match map {
        ciborium::Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| matches!(k, ciborium::Value::Text(t) if t == key))
            .map(|(_, v)| v),
        _ => None,
    }
}

/// A text member of a CBOR map.
pub fn cbor_text(map: &ciborium::Value, key: &str) -> Option<String> {
    match cbor_get(map, key) {
        Some(ciborium::Value::Text(t)) => Some(t.clone()),
        _ => None,
    }
}

/// Registers consumer `name` on the stream and waits (at most 10 s) until it is ACTIVE;
/// returns its ARN.
pub async fn register_consumer(client: &Client, stream_arn: &str, name: &str) -> String {
    let out = ok(
        client
            .register_stream_consumer()
            .stream_arn(stream_arn)
            .consumer_name(name)
            .send()
            .await,
        "RegisterStreamConsumer",
    );
    let arn = out
        .consumer()
        .map(|c| c.consumer_arn().to_string())
        .expect("a consumer");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let described = ok(
            client.describe_stream_consumer().consumer_arn(&arn).send().await,
            "DescribeStreamConsumer",
        );
        let status = described.consumer_description().map(|c| c.consumer_status().clone());
        if status == Some(ConsumerStatus::Active) {
            return arn;
        }
        assert!(
            Instant::now() < deadline,
            "consumer {name} not ACTIVE after 10 s: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The event receiver of a SubscribeToShard call.
pub type Subscription = EventReceiver<SubscribeToShardEventStream, SubscribeToShardEventStreamError>;

/// SubscribeToShard with the SDK; panics unless the call succeeds.
pub async fn subscribe(client: &Client, consumer_arn: &str, shard: &str, position: StartingPosition) -> Subscription {
    ok(
        client
            .subscribe_to_shard()
            .consumer_arn(consumer_arn)
            .shard_id(shard)
            .starting_position(position)
            .send()
            .await,
        "SubscribeToShard",
    )
    .event_stream
}

/// A starting position of `kind` with an optional sequence number.
pub fn position(kind: ShardIteratorType, sequence: Option<&str>) -> StartingPosition {
    StartingPosition::builder()
        .r#type(kind)
        .set_sequence_number(sequence.map(str::to_string))
        .build()
        .expect("a starting position")
}

/// How a subscription's next step went.
#[derive(Debug)]
pub enum Next {
    /// A SubscribeToShardEvent.
    Event(SubscribeToShardEvent),
    /// The stream ended cleanly.
    End,
    /// An exception event (or a transport error), by error code when it has one.
    Error(String),
}

/// The next step of a subscription, within `timeout` (a timeout panics).
pub async fn next_event(rx: &mut Subscription, timeout: Duration) -> Next {
    let Ok(step) = tokio::time::timeout(timeout, rx.recv()).await else {
        panic!("no event within {timeout:?}");
    };
    match step {
        Ok(Some(SubscribeToShardEventStream::SubscribeToShardEvent(event))) => Next::Event(event),
        Ok(Some(other)) => panic!("unexpected event {other:?}"),
        Ok(None) => Next::End,
        Err(err) => {
            use aws_sdk_kinesis::error::ProvideErrorMetadata;
            let code = err
                .as_service_error()
                .and_then(|e| e.code())
                .map(str::to_string)
                .unwrap_or_else(|| format!("{}", aws_sdk_kinesis::error::DisplayErrorContext(&err)));
            Next::Error(code)
        }
    }
}

/// Reads events until `want` records arrived (skipping heartbeats), within `timeout` overall.
pub async fn collect_records(rx: &mut Subscription, want: usize, timeout: Duration) -> Vec<Record> {
    let deadline = Instant::now() + timeout;
    let mut records = Vec::new();
    while records.len() < want {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "only {} of {want} records within {timeout:?}",
            records.len()
        );
        match next_event(rx, left).await {
            Next::Event(event) => records.extend(event.records().iter().cloned()),
            other => panic!("subscription ended early: {other:?} after {} records", records.len()),
        }
    }
    records
}
