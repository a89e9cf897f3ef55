//! A null SQS server: answers the AWS JSON 1.0 calls the workloads make, validly, and stores
//! nothing.
//!
//! Its only purpose is to measure the load tool's own ceiling on this machine, so Sluice's
//! figures can be reported as a share of it. It parses every request fully (JSON body,
//! attributes, batch entries) and computes the digests a real broker must return, but keeps no
//! queue and no message:
//!
//! - `CreateQueue` / `GetQueueUrl` answer `http://{Host}/000000000000/{name}`.
//! - `SendMessage` / `SendMessageBatch` answer a fresh `MessageId` (UUID v4),
//!   `MD5OfMessageBody`, and `MD5OfMessageAttributes` / `MD5OfMessageSystemAttributes` only
//!   when such attributes were sent (docs/wire-notes.md: the PHP SDK breaks otherwise).
//! - `ReceiveMessage` returns synthetic messages, as many as were sent and not yet handed out
//!   (one counter for the whole server, not per queue, reset by `CreateQueue`, `PurgeQueue`
//!   and `DeleteQueue` so one run's leftovers don't feed the next), so a roundtrip run is paced
//!   like a real one. The bodies are filler of the last sent size, carrying the last sent message
//!   attributes (when `MessageAttributeNames` asks for any) with their digests; so a
//!   roundtrip's digest checks pass, but its delivery check cannot and is skipped. When the
//!   counter is zero it waits up to `WaitTimeSeconds` for a send.
//! - `DeleteMessage`, `DeleteMessageBatch`, `PurgeQueue`, `DeleteQueue` succeed.
//! - `Kinesis_20131202.*` calls are answered by [`super::null_kinesis`].
//! - Anything else is `UnsupportedOperation`; a malformed call gets an SQS-shaped error with
//!   the `x-amzn-query-error` header.
//!
//! Bounded like the real server (CONTRIBUTING.md, style rule 4): a connection limit, a body size limit, and a
//! stop signal that ends the accept loop and every connection.

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE, HOST};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Notify, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use super::checksum::{md5_hex, md5_of_attributes, AttributeRef};

/// Open connections at once; further ones are closed on accept.
const MAX_CONNECTIONS: usize = 4096;
/// Largest request body: a 1 MiB message plus JSON framing and attributes, with room to spare.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// SQS's batch limit.
const MAX_BATCH_ENTRIES: usize = 10;
/// The account in queue URLs, as Sluice's default.
const ACCOUNT: &str = "000000000000";
const JSON_1_0: &str = "application/x-amz-json-1.0";

/// A running null server; dropping the handle without `stop` leaves it running until the
/// runtime ends.
pub struct NullServer {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl NullServer {
    /// Binds `bind` (port 0 picks a free port) and starts serving.
    pub async fn start(bind: SocketAddr) -> Result<Self> {
        let listener = TcpListener::bind(bind)
            .await
            .with_context(|| format!("binding the null server to {bind}"))?;
        let addr = listener.local_addr().context("reading the null server's address")?;
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, Arc::new(State::default()), stopped));
        Ok(Self { addr, stop, task })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.local_addr())
    }

    /// Stops accepting and closes every connection.
    pub async fn stop(self) {
        // The loop may already have ended (it never does on its own); either way, wait for it.
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// What the server remembers: a count, never a message.
#[derive(Default)]
struct State {
    /// Messages sent and not yet handed out by ReceiveMessage.
    pending: AtomicU64,
    /// Body size of the last message sent, for the synthetic messages.
    last_body_len: AtomicUsize,
    /// `MessageAttributes` of the last message sent with any, and their digest.
    last_attributes: Mutex<Option<SentAttributes>>,
    /// Woken on every send, for ReceiveMessage calls that wait.
    arrived: Notify,
    /// The Kinesis side's counters.
    kinesis: super::null_kinesis::NullStreams,
}

impl State {
    fn remember_attributes(&self, attributes: Option<SentAttributes>) {
        if attributes.is_none() {
            return;
        }
        // Poisoning only means another request panicked mid-assignment; the value is whole.
        let mut last = self
            .last_attributes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *last = attributes;
    }

    /// Forgets pending messages (a run's start or end).
    fn reset(&self) {
        self.pending.store(0, Ordering::Release);
    }

    fn sent(&self, count: u64, body_len: usize) {
        self.last_body_len.store(body_len, Ordering::Relaxed);
        self.pending.fetch_add(count, Ordering::AcqRel);
        self.arrived.notify_waiters();
    }

    /// Takes up to `max` pending messages off the counter.
    fn take(&self, max: u64) -> u64 {
        let mut current = self.pending.load(Ordering::Acquire);
        loop {
            if current == 0 {
                return 0;
            }
            let taken = current.min(max);
            match self
                .pending
                .compare_exchange_weak(current, current - taken, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return taken,
                Err(actual) => current = actual,
            }
        }
    }

    /// Like `take`, but waits up to `wait` for a send when nothing is pending (long polling).
    async fn take_or_wait(&self, max: u64, wait: Duration) -> u64 {
        let deadline = Instant::now() + wait;
        loop {
            // Register interest before looking, so a send between the look and the wait still
            // wakes this call (tokio `Notify::notified` docs).
            let notified = self.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let taken = self.take(max);
            if taken > 0 || wait.is_zero() {
                return taken;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.take(max);
            }
        }
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>, mut stop: oneshot::Receiver<()>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(error) => {
                        // Typically EMFILE: back off briefly instead of spinning.
                        eprintln!("null server: accept failed: {error}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                    continue; // over the connection limit: dropping the stream closes it
                };
                // Small request/response pairs: don't let Nagle delay them.
                let _ = stream.set_nodelay(true);
                let state = Arc::clone(&state);
                connections.spawn(async move {
                    let service = service_fn(move |request| handle(Arc::clone(&state), request));
                    // A client closing its connection mid-request is normal at the end of a run.
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                    drop(permit);
                });
            }
        }
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

/// An SQS error as the JSON 1.0 protocol carries it.
#[derive(Debug)]
struct SqsError {
    /// The shape name, the `__type` after `com.amazonaws.sqs#`.
    shape: &'static str,
    /// The legacy query code for `x-amzn-query-error` (docs/wire-notes.md), which botocore uses to
    /// pick the exception class.
    query_code: &'static str,
    message: String,
}

impl SqsError {
    fn invalid(message: impl Into<String>) -> Self {
        Self {
            shape: "InvalidParameterValueException",
            query_code: "InvalidParameterValue",
            message: message.into(),
        }
    }

    fn missing(field: &str) -> Self {
        Self {
            shape: "MissingParameter",
            query_code: "MissingParameter",
            message: format!("The request must contain the parameter {field}."),
        }
    }

    fn batch(shape: &'static str, query_code: &'static str, message: &str) -> Self {
        Self {
            shape,
            query_code,
            message: message.to_string(),
        }
    }
}

async fn handle(state: Arc<State>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let kinesis_action = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix("Kinesis_20131202."))
        .map(str::to_string);
    if let Some(action) = kinesis_action {
        let (status, body) = match Limited::new(request.into_body(), MAX_BODY_BYTES).collect().await {
            Ok(body) => state.kinesis.answer(&action, &body.to_bytes()),
            Err(e) => (
                400,
                json!({"__type": "SerializationException", "message": e.to_string()}),
            ),
        };
        let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
        *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(super::null_kinesis::JSON_1_1));
        return Ok(response);
    }
    let (status, body, query_error) = match answer(&state, request).await {
        Ok(body) => (StatusCode::OK, body, None),
        Err(error) => {
            let body = json!({
                "__type": format!("com.amazonaws.sqs#{}", error.shape),
                "message": error.message,
            });
            let header = format!("{};Sender", error.query_code);
            (StatusCode::BAD_REQUEST, body, Some(header))
        }
    };
    let bytes = Bytes::from(body.to_string());
    let mut response = Response::new(Full::new(bytes));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_1_0));
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-amzn-requestid", value);
    }
    if let Some(value) = query_error.and_then(|q| HeaderValue::from_str(&q).ok()) {
        headers.insert("x-amzn-query-error", value);
    }
    Ok(response)
}

async fn answer(state: &State, request: Request<Incoming>) -> Result<Value, SqsError> {
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let Some(action) = target.strip_prefix("AmazonSQS.").map(str::to_string) else {
        return Err(unsupported(&target));
    };
    // HTTP/1.1 carries the host in `Host`, HTTP/2 in the `:authority` pseudo-header.
    let host = request
        .headers()
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "127.0.0.1".to_string());
    let body = Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|e| SqsError::invalid(format!("unreadable request body: {e}")))?
        .to_bytes();
    let input: Value =
        serde_json::from_slice(&body).map_err(|e| SqsError::invalid(format!("request body is not JSON: {e}")))?;
    let Some(input) = input.as_object() else {
        return Err(SqsError::invalid("request body is not a JSON object"));
    };

    match action.as_str() {
        "CreateQueue" | "GetQueueUrl" => {
            let name = required_str(input, "QueueName")?;
            check_queue_name(name)?;
            if action == "CreateQueue" {
                state.reset();
            }
            Ok(json!({ "QueueUrl": format!("http://{host}/{ACCOUNT}/{name}") }))
        }
        "SendMessage" => {
            required_str(input, "QueueUrl")?;
            let body = required_str(input, "MessageBody")?;
            let (result, attributes) = sent_message(input)?;
            state.remember_attributes(attributes);
            state.sent(1, body.len());
            Ok(Value::Object(result))
        }
        "SendMessageBatch" => {
            required_str(input, "QueueUrl")?;
            let entries = batch_entries(input)?;
            let mut successful = Vec::with_capacity(entries.len());
            let mut last_len = 0;
            for entry in entries {
                last_len = required_str(entry, "MessageBody")?.len();
                let (mut result, attributes) = sent_message(entry)?;
                state.remember_attributes(attributes);
                result.insert("Id".into(), json!(required_str(entry, "Id")?));
                successful.push(Value::Object(result));
            }
            state.sent(successful.len() as u64, last_len);
            Ok(json!({ "Successful": successful, "Failed": [] }))
        }
        "ReceiveMessage" => {
            required_str(input, "QueueUrl")?;
            let max = optional_int(input, "MaxNumberOfMessages", 1, 1..=10)?;
            let wait = optional_int(input, "WaitTimeSeconds", 0, 0..=20)?;
            let count = state.take_or_wait(max as u64, Duration::from_secs(wait as u64)).await;
            if count == 0 {
                // AWS leaves `Messages` out entirely when there is nothing to receive.
                return Ok(json!({}));
            }
            let with_attributes = match input.get("MessageAttributeNames") {
                Some(Value::Array(names)) => !names.is_empty(),
                _ => false,
            };
            Ok(json!({ "Messages": synthetic_messages(state, count, with_attributes) }))
        }
        "DeleteMessage" => {
            required_str(input, "QueueUrl")?;
            required_str(input, "ReceiptHandle")?;
            Ok(json!({}))
        }
        "DeleteMessageBatch" => {
            required_str(input, "QueueUrl")?;
            let entries = batch_entries(input)?;
            let mut successful = Vec::with_capacity(entries.len());
            for entry in entries {
                required_str(entry, "ReceiptHandle")?;
                successful.push(json!({ "Id": required_str(entry, "Id")? }));
            }
            Ok(json!({ "Successful": successful, "Failed": [] }))
        }
        "PurgeQueue" | "DeleteQueue" => {
            required_str(input, "QueueUrl")?;
            state.reset();
            Ok(json!({}))
        }
        _ => Err(unsupported(&target)),
    }
}

fn unsupported(target: &str) -> SqsError {
    SqsError {
        shape: "UnsupportedOperation",
        query_code: "AWS.SimpleQueueService.UnsupportedOperation",
        message: format!("the null server does not implement `{target}`"),
    }
}

fn required_str<'a>(input: &'a Map<String, Value>, field: &str) -> Result<&'a str, SqsError> {
    match input.get(field) {
        Some(Value::String(value)) => Ok(value),
        Some(_) => Err(SqsError::invalid(format!("{field} must be a string"))),
        None => Err(SqsError::missing(field)),
    }
}

fn optional_int(
    input: &Map<String, Value>,
    field: &str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, SqsError> {
    let Some(value) = input.get(field) else {
        return Ok(default);
    };
    match value.as_i64() {
        Some(number) if range.contains(&number) => Ok(number),
        _ => Err(SqsError::invalid(format!(
            "{field} must be an integer from {} to {}",
            range.start(),
            range.end()
        ))),
    }
}

/// Queue names: 1 to 80 of `[A-Za-z0-9_-]`, plus an optional `.fifo` suffix.
fn check_queue_name(name: &str) -> Result<(), SqsError> {
    let stem = name.strip_suffix(".fifo").unwrap_or(name);
    let valid_chars = stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if stem.is_empty() || name.len() > 80 || !valid_chars {
        return Err(SqsError::invalid(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ));
    }
    Ok(())
}

/// `Entries` of a batch call, checked as SQS does: 1 to 10 entries with distinct ids.
fn batch_entries(input: &Map<String, Value>) -> Result<Vec<&Map<String, Value>>, SqsError> {
    let Some(Value::Array(entries)) = input.get("Entries") else {
        return Err(SqsError::missing("Entries"));
    };
    if entries.is_empty() {
        return Err(SqsError::batch(
            "EmptyBatchRequest",
            "AWS.SimpleQueueService.EmptyBatchRequest",
            "There should be at least one entry in the request.",
        ));
    }
    if entries.len() > MAX_BATCH_ENTRIES {
        return Err(SqsError::batch(
            "TooManyEntriesInBatchRequest",
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            "Maximum number of entries per request are 10.",
        ));
    }
    let mut ids = HashSet::new();
    let mut result = Vec::with_capacity(entries.len());
    for entry in entries {
        let Some(entry) = entry.as_object() else {
            return Err(SqsError::invalid("batch entries must be objects"));
        };
        if !ids.insert(required_str(entry, "Id")?) {
            return Err(SqsError::batch(
                "BatchEntryIdsNotDistinct",
                "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
                "Two or more batch entries in the request have the same Id.",
            ));
        }
        result.push(entry);
    }
    Ok(result)
}

/// A sent message's `MessageAttributes` (as received) and their digest.
type SentAttributes = (Value, String);

/// The result fields of one sent message (id and digests), and its message attributes with
/// their digest when it had any.
fn sent_message(input: &Map<String, Value>) -> Result<(Map<String, Value>, Option<SentAttributes>), SqsError> {
    let body = required_str(input, "MessageBody")?;
    let mut result = Map::new();
    result.insert("MessageId".into(), json!(uuid::Uuid::new_v4().to_string()));
    result.insert("MD5OfMessageBody".into(), json!(md5_hex(body.as_bytes())));
    let mut attributes = None;
    if let Some(digest) = attributes_digest(input, "MessageAttributes")? {
        result.insert("MD5OfMessageAttributes".into(), json!(digest));
        if let Some(value) = input.get("MessageAttributes") {
            attributes = Some((value.clone(), digest));
        }
    }
    if let Some(digest) = attributes_digest(input, "MessageSystemAttributes")? {
        result.insert("MD5OfMessageSystemAttributes".into(), json!(digest));
    }
    Ok((result, attributes))
}

/// Digest of a `{name: {DataType, StringValue | BinaryValue}}` map, `None` when absent or empty.
fn attributes_digest(input: &Map<String, Value>, field: &str) -> Result<Option<String>, SqsError> {
    let Some(attributes) = input.get(field) else {
        return Ok(None);
    };
    let Some(attributes) = attributes.as_object() else {
        return Err(SqsError::invalid(format!("{field} must be a map")));
    };
    // (name, data type, value bytes); binary values are base64 in JSON and hashed decoded.
    let mut owned: Vec<(&str, &str, Vec<u8>)> = Vec::with_capacity(attributes.len());
    for (name, attribute) in attributes {
        let Some(attribute) = attribute.as_object() else {
            return Err(SqsError::invalid(format!("{field}.{name} must be an object")));
        };
        let data_type = required_str(attribute, "DataType")?;
        let value = if data_type.starts_with("Binary") {
            let encoded = required_str(attribute, "BinaryValue")?;
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| SqsError::invalid(format!("{field}.{name}.BinaryValue is not base64")))?
        } else if data_type.starts_with("String") || data_type.starts_with("Number") {
            required_str(attribute, "StringValue")?.as_bytes().to_vec()
        } else {
            return Err(SqsError::invalid(format!(
                "{field}.{name} has an unknown DataType `{data_type}`"
            )));
        };
        owned.push((name, data_type, value));
    }
    let refs: Vec<AttributeRef<'_>> = owned
        .iter()
        .map(|(name, data_type, value)| AttributeRef { name, data_type, value })
        .collect();
    Ok(md5_of_attributes(&refs))
}

/// `count` messages of filler the size of the last one sent, with the last attributes sent
/// when `with_attributes`.
fn synthetic_messages(state: &State, count: u64, with_attributes: bool) -> Vec<Value> {
    const FILLER: &str = "null-server synthetic message ";
    let len = state.last_body_len.load(Ordering::Relaxed).max(1);
    let body: String = FILLER.chars().cycle().take(len).collect();
    let digest = md5_hex(body.as_bytes());
    let attributes = if with_attributes {
        state
            .last_attributes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    } else {
        None
    };
    (0..count)
        .map(|_| {
            let mut message = json!({
                "MessageId": uuid::Uuid::new_v4().to_string(),
                "ReceiptHandle": format!("null-{}", uuid::Uuid::new_v4().simple()),
                "MD5OfBody": digest,
                "Body": body,
            });
            if let (Some((values, digest)), Some(fields)) = (&attributes, message.as_object_mut()) {
                fields.insert("MessageAttributes".into(), values.clone());
                fields.insert("MD5OfMessageAttributes".into(), json!(digest));
            }
            message
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn send_result_carries_body_and_attribute_digests() {
        let input = object(json!({
            "QueueUrl": "http://h/000000000000/q",
            "MessageBody": "hello",
            "MessageAttributes": {
                "attr": { "DataType": "String", "StringValue": "value" }
            }
        }));
        let result = sent_message(&input).map_err(|e| e.message);
        let (result, attributes) = match result {
            Ok(pair) => pair,
            Err(e) => panic!("{e}"),
        };
        assert!(attributes.is_some());
        assert_eq!(result["MD5OfMessageBody"], "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(result["MD5OfMessageAttributes"], "0a3eacc505c2c642f442010ddab0e8dc");
        assert!(!result.contains_key("MD5OfMessageSystemAttributes"));
        let id = result["MessageId"].as_str().unwrap_or_default();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "MessageId {id}");
    }

    #[test]
    fn no_attributes_no_attribute_digest() {
        let input = object(json!({ "QueueUrl": "u", "MessageBody": "x" }));
        let result = sent_message(&input).map_err(|e| e.message);
        assert!(matches!(result, Ok((r, None)) if !r.contains_key("MD5OfMessageAttributes")));
    }

    #[test]
    fn binary_attributes_are_hashed_decoded() {
        // base64 of [0, 1, 2, 255]
        let input = object(json!({
            "MessageAttributes": {
                "z-bin": { "DataType": "Binary", "BinaryValue": "AAEC/w==" },
                "a-num": { "DataType": "Number", "StringValue": "42" }
            }
        }));
        let digest = attributes_digest(&input, "MessageAttributes").map_err(|e| e.message);
        assert_eq!(digest, Ok(Some("b153b2a42879a5a3a27eb75fa6612fca".to_string())));
    }

    #[test]
    fn batch_limits() {
        let empty = object(json!({ "Entries": [] }));
        assert!(matches!(batch_entries(&empty), Err(e) if e.shape == "EmptyBatchRequest"));
        let many: Vec<Value> = (0..11).map(|i| json!({ "Id": i.to_string() })).collect();
        let many = object(json!({ "Entries": many }));
        assert!(matches!(batch_entries(&many), Err(e) if e.shape == "TooManyEntriesInBatchRequest"));
        let twins = object(json!({ "Entries": [{ "Id": "a" }, { "Id": "a" }] }));
        assert!(matches!(batch_entries(&twins), Err(e) if e.shape == "BatchEntryIdsNotDistinct"));
    }

    #[test]
    fn queue_names() {
        assert!(check_queue_name("load-test_1").is_ok());
        assert!(check_queue_name("orders.fifo").is_ok());
        assert!(check_queue_name("").is_err());
        assert!(check_queue_name("has space").is_err());
        assert!(check_queue_name(&"x".repeat(81)).is_err());
    }

    #[tokio::test]
    async fn receive_hands_out_what_was_sent_and_waits_when_empty() {
        // Real time, not `time::pause()`: the workspace's tokio has no `test-util`, and the
        // wait under test is 50 ms.
        let state = State::default();
        state.sent(25, 100);
        assert_eq!(state.take(10), 10);
        assert_eq!(state.take(10), 10);
        assert_eq!(state.take(10), 5);
        // Empty: waits the full wait time, then gives up.
        let started = Instant::now();
        assert_eq!(state.take_or_wait(10, Duration::from_millis(50)).await, 0);
        assert!(started.elapsed() >= Duration::from_millis(50));
        let messages = synthetic_messages(&state, 3, true);
        assert_eq!(messages.len(), 3);
        let body = messages[0]["Body"].as_str().unwrap_or_default();
        assert_eq!(body.len(), 100);
        assert_eq!(messages[0]["MD5OfBody"], md5_hex(body.as_bytes()));
    }
}
