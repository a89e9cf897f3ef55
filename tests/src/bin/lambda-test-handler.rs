//! `lambda-test-handler`: a real Lambda function for the end-to-end tests of Sluice's event-source
//! mappings, built on AWS's own Rust runtime client (`lambda_runtime`) and event types
//! (`aws_lambda_events`), so it talks to Sluice's Runtime API and reads Sluice's event documents
//! exactly as a user's Rust function would. `sluice_tests::lambda::Handler::rust` starts it.
//!
//! # Parts
//! - Configuration, from the environment (besides the runtime's own `AWS_LAMBDA_*` variables):
//!   `TEST_HANDLER_EVENT` = `sqs` | `kinesis` | `sns` picks the event type, `TEST_HANDLER_OUT`
//!   names the file processed records are appended to. A missing or bad value exits with code 2.
//! - Each invocation is deserialized into `SqsEvent`, `KinesisEvent` or `SnsEvent`; a document that
//!   does not parse fails the invocation with serde's message (and logs it), so a test notices.
//! - Per processed record, one JSON line in the out file:
//!   `{"id", "body", "shard", "group", "pid"}`: `id` is the SQS `messageId`, the Kinesis
//!   `sequenceNumber` or the SNS `MessageId`; `body` the SQS body, the Kinesis data as UTF-8 or the
//!   SNS `Message`; `shard` the Kinesis `eventID` up to its `:` (else null); `group` the SQS
//!   `MessageGroupId` attribute (FIFO queues; else null); `pid` this process.
//! - Failure injection, by markers in record bodies, checked in this order over the whole batch:
//!   `CRASH` exits the process with code 3 at once (a dying handler); `SLEEP-<n>` sleeps `n`
//!   seconds (the largest `n` of the batch, once) before anything is written; `FAIL-BATCH` fails
//!   the invocation (an `Err`) with nothing written; `FAIL-ITEM` leaves that record out of the out
//!   file and reports it in `batchItemFailures` (`SqsBatchResponse`, `KinesisEventResponse`; for
//!   SNS, whose invocations are asynchronous and whose response Lambda ignores, the same JSON).
//!
//! # Invariants
//! - A record is in the out file only if the handler finished it: lines are written after the
//!   sleep and only for batches that succeed at least partially, all lines of an invocation with
//!   one `write` on a file opened for appending, so concurrent handler processes never
//!   interleave within a line.
//! - The process waits on `/runtime/invocation/next` without a timeout, as AWS's clients do (the
//!   Runtime API docs say not to set one); whoever started it kills it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::sns::SnsEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_lambda_events::event::streams::KinesisEventResponse;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use sluice_tests::lambda::{append_lines, HandledRecord};

/// Exit code for a record with `CRASH` in its body.
const CRASH_EXIT: i32 = 3;
/// Exit code for a bad configuration.
const CONFIG_EXIT: i32 = 2;

/// The event type the handler reads.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Sqs,
    Kinesis,
    Sns,
}

/// One record, reduced to what the out file and the failure report need.
struct Record {
    /// What `batchItemFailures` names the record by; `None` when the event left it out.
    id: Option<String>,
    body: String,
    shard: Option<String>,
    group: Option<String>,
    /// Kinesis: `approximateArrivalTimestamp` as the library read it, epoch ms.
    arrival_ms: Option<i64>,
}

impl Record {
    /// The id for messages: the record's id, or a placeholder when the event left it out.
    fn name(&self) -> &str {
        self.id.as_deref().unwrap_or("(no id)")
    }
}

// One thread: a handler runs one invocation at a time, so a multi-threaded runtime only handed
// each one between threads (a quarter of this process's CPU went to the kernel's task switches
// when a Kinesis mapping fed it at full speed; lambda-bench, docs/benchmarks.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // The runtime's own errors (failed posts to the Runtime API) then reach the handler's log.
    lambda_runtime::tracing::init_default_subscriber_with_writer(std::io::stderr);
    let kind = match std::env::var("TEST_HANDLER_EVENT").as_deref() {
        Ok("sqs") => Kind::Sqs,
        Ok("kinesis") => Kind::Kinesis,
        Ok("sns") => Kind::Sns,
        other => config_error(&format!(
            "TEST_HANDLER_EVENT must be sqs, kinesis or sns, got {other:?}"
        )),
    };
    let Some(out) = std::env::var_os("TEST_HANDLER_OUT").map(PathBuf::from) else {
        config_error("TEST_HANDLER_OUT must name the file processed records are appended to");
    };
    // The payload stays raw text until `parse` reads it once into the event's own type.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let out = out.clone();
        async move { handle(kind, &out, event).await }
    }))
    .await
}

fn config_error(message: &str) -> ! {
    eprintln!("lambda-test-handler: {message}");
    std::process::exit(CONFIG_EXIT);
}

/// One invocation: parse, inject failures, write the processed records, report the failed ones.
async fn handle(kind: Kind, out: &Path, event: LambdaEvent<Box<RawValue>>) -> Result<Value, Error> {
    let request_id = event.context.request_id.clone();
    let records = match parse(kind, &event.payload) {
        Ok(records) => records,
        Err(e) => {
            eprintln!("lambda-test-handler: invocation {request_id}: the {kind:?} event does not parse: {e}");
            return Err(format!("the {kind:?} event does not parse: {e}").into());
        }
    };
    eprintln!(
        "lambda-test-handler: invocation {request_id}: {} records",
        records.len()
    );

    if let Some(r) = records.iter().find(|r| r.body.contains("CRASH")) {
        eprintln!(
            "lambda-test-handler: record {} says CRASH, exiting with {CRASH_EXIT}",
            r.name()
        );
        std::process::exit(CRASH_EXIT);
    }
    if let Some(seconds) = records.iter().filter_map(|r| sleep_seconds(&r.body)).max() {
        eprintln!("lambda-test-handler: invocation {request_id}: sleeping {seconds} s");
        tokio::time::sleep(Duration::from_secs(seconds)).await;
    }
    if let Some(r) = records.iter().find(|r| r.body.contains("FAIL-BATCH")) {
        eprintln!(
            "lambda-test-handler: invocation {request_id}: record {} says FAIL-BATCH",
            r.name()
        );
        return Err(format!("FAIL-BATCH in record {}", r.name()).into());
    }

    let mut failed = Vec::new();
    let mut lines = String::new();
    for r in &records {
        if r.body.contains("FAIL-ITEM") {
            // An empty identifier makes Lambda treat the whole batch as failed, as AWS documents
            // for a missing one: the test then sees the event lacked the id.
            failed.push(r.id.clone().unwrap_or_default());
            continue;
        }
        HandledRecord {
            id: r.id.as_deref(),
            body: &r.body,
            shard: r.shard.as_deref(),
            group: r.group.as_deref(),
            arrival_ms: r.arrival_ms,
        }
        .push_line(&mut lines);
    }
    if !lines.is_empty() {
        append_lines(out, &lines).map_err(|e| format!("append to {}: {e}", out.display()))?;
    }
    respond(kind, failed)
}

/// Deserializes the payload into the `aws_lambda_events` type of `kind`.
fn parse(kind: Kind, payload: &RawValue) -> Result<Vec<Record>, serde_json::Error> {
    let records = match kind {
        Kind::Sqs => serde_json::from_str::<SqsEvent>(payload.get())?
            .records
            .into_iter()
            .map(|m| Record {
                group: m.attributes.get("MessageGroupId").cloned(),
                id: m.message_id,
                body: m.body.unwrap_or_default(),
                shard: None,
                arrival_ms: None,
            })
            .collect(),
        Kind::Kinesis => serde_json::from_str::<KinesisEvent>(payload.get())?
            .records
            .into_iter()
            .map(|r| Record {
                shard: r
                    .event_id
                    .as_deref()
                    .and_then(|id| id.split_once(':'))
                    .map(|(shard, _)| shard.to_string()),
                id: Some(r.kinesis.sequence_number),
                body: String::from_utf8_lossy(&r.kinesis.data.0).into_owned(),
                group: None,
                arrival_ms: Some(r.kinesis.approximate_arrival_timestamp.0.timestamp_millis()),
            })
            .collect(),
        Kind::Sns => serde_json::from_str::<SnsEvent>(payload.get())?
            .records
            .into_iter()
            .map(|r| Record {
                id: Some(r.sns.message_id),
                body: r.sns.message,
                shard: None,
                group: None,
                arrival_ms: None,
            })
            .collect(),
    };
    Ok(records)
}

/// `n` from the first `SLEEP-<n>` in `body`, if any.
fn sleep_seconds(body: &str) -> Option<u64> {
    let (_, rest) = body.split_once("SLEEP-")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The partial batch response, through the library's own response types where it has one.
fn respond(kind: Kind, failed: Vec<String>) -> Result<Value, Error> {
    let response = match kind {
        Kind::Sqs => {
            let mut response = SqsBatchResponse::default();
            response.set_failures(failed);
            serde_json::to_value(response)?
        }
        Kind::Kinesis => {
            let mut response = KinesisEventResponse::default();
            response.set_failures(failed);
            serde_json::to_value(response)?
        }
        // aws_lambda_events has no SNS response type: Lambda ignores what asynchronous
        // invocations return.
        Kind::Sns => {
            let failures: Vec<Value> = failed.into_iter().map(|id| json!({ "itemIdentifier": id })).collect();
            json!({ "batchItemFailures": failures })
        }
    };
    Ok(response)
}
