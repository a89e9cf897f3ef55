//! kinesis-efo subscribers: one task per consumer and shard, reading SubscribeToShard's event
//! stream and booking every pushed record in the consumer's ledger.
//!
//! A subscription ends after at most 5 minutes (the broker may end it sooner); the task then
//! subscribes again from AFTER_SEQUENCE_NUMBER = the last event's ContinuationSequenceNumber, as
//! the Kinesis developer guide's enhanced fan-out example does. Calls are at least
//! [`RESUBSCRIBE_GAP`] apart per consumer and shard (Kinesis allows one SubscribeToShard per
//! second per consumer and shard, and answers ResourceInUseException to a second subscription
//! too soon), so an error or an empty subscription cannot spin.
//!
//! # Bounds
//! Nothing is awaited past `stop_at`; the run aborts these tasks anyway once it has what it
//! needs. The ledger lives behind a mutex outside the task, so aborting loses nothing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::types::{ShardIteratorType, StartingPosition, SubscribeToShardEventStream};
use aws_sdk_kinesis::Client;
use tokio::time::Instant;

use super::super::super::client::classify;
use super::super::now_micros;
use super::ledger::ConsumerLedger;

/// Least time between two SubscribeToShard calls of one consumer on one shard.
const RESUBSCRIBE_GAP: Duration = Duration::from_secs(1);

/// Where a consumer's first subscription to a shard starts.
#[derive(Debug, Clone, Copy)]
pub enum Start {
    /// A fresh stream: everything.
    TrimHorizon,
    /// A reused stream (`--queue-name`): from just before this run's first put.
    AtTimestamp(DateTime),
}

/// What every subscriber task reads.
pub struct Subscribers {
    pub client: Client,
    pub start: Start,
    /// Subscriber tasks whose first SubscribeToShard succeeded.
    pub subscribed: AtomicUsize,
    /// No call or read is awaited past this.
    pub stop_at: Instant,
}

/// Locks a ledger, even one a panicking task left poisoned: its counts are still the best
/// record of what arrived.
pub fn lock(ledger: &Mutex<ConsumerLedger>) -> MutexGuard<'_, ConsumerLedger> {
    match ledger.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Reads `shard_id` for `consumer_arn` until `stop_at` or the shard closes.
pub async fn subscribe(
    shared: Arc<Subscribers>,
    consumer_arn: String,
    shard_id: String,
    ledger: Arc<Mutex<ConsumerLedger>>,
) {
    let mut after: Option<String> = None;
    let mut established = false;
    let mut last_call: Option<Instant> = None;
    while Instant::now() < shared.stop_at {
        if let Some(at) = last_call {
            tokio::time::sleep_until((at + RESUBSCRIBE_GAP).min(shared.stop_at)).await;
        }
        last_call = Some(Instant::now());
        let position = match starting_position(shared.start, after.as_deref()) {
            Ok(position) => position,
            Err(message) => {
                lock(&ledger).stats.errors.add("ConstructionFailure", || message);
                return;
            }
        };
        let call = shared
            .client
            .subscribe_to_shard()
            .consumer_arn(&consumer_arn)
            .shard_id(&shard_id)
            .starting_position(position)
            .send();
        let result = match tokio::time::timeout_at(shared.stop_at, call).await {
            Ok(result) => result,
            Err(_) => return,
        };
        lock(&ledger).stats.ops += 1;
        let mut output = match result {
            Ok(output) => output,
            Err(error) => {
                // ResourceInUseException included: the gap above is the retry pause.
                let (kind, message) = classify(&error);
                lock(&ledger).stats.errors.add(&kind, || message);
                continue;
            }
        };
        if !established {
            established = true;
            shared.subscribed.fetch_add(1, Ordering::Relaxed);
        }
        loop {
            let event = match tokio::time::timeout_at(shared.stop_at, output.event_stream.recv()).await {
                Ok(event) => event,
                Err(_) => return,
            };
            let event = match event {
                Ok(Some(SubscribeToShardEventStream::SubscribeToShardEvent(event))) => event,
                Ok(Some(other)) => {
                    lock(&ledger)
                        .stats
                        .errors
                        .add("UnknownEvent", || format!("unknown event stream member {other:?}"));
                    continue;
                }
                // The subscription's time is up: subscribe again where it left off.
                Ok(None) => break,
                Err(error) => {
                    let (kind, message) = classify(&error);
                    lock(&ledger).stats.errors.add(&kind, || message);
                    break;
                }
            };
            let arrived = now_micros();
            {
                let mut ledger = lock(&ledger);
                if event.records().is_empty() {
                    // Kinesis pushes an event at least every 5 s, records or not.
                    ledger.stats.empty_receives += 1;
                }
                for record in event.records() {
                    ledger.deliver(&shard_id, record.sequence_number(), record.data().as_ref(), arrived);
                }
            }
            if !event.continuation_sequence_number().is_empty() {
                after = Some(event.continuation_sequence_number().to_string());
            }
            // Child shards come with the closed shard's last event; this run never reshards.
            if !event.child_shards().is_empty() {
                return;
            }
        }
    }
}

/// TRIM_HORIZON or AT_TIMESTAMP the first time, AFTER_SEQUENCE_NUMBER after that.
fn starting_position(start: Start, after: Option<&str>) -> Result<StartingPosition, String> {
    let builder = match (after, start) {
        (Some(sequence_number), _) => StartingPosition::builder()
            .r#type(ShardIteratorType::AfterSequenceNumber)
            .sequence_number(sequence_number),
        (None, Start::TrimHorizon) => StartingPosition::builder().r#type(ShardIteratorType::TrimHorizon),
        (None, Start::AtTimestamp(at)) => StartingPosition::builder()
            .r#type(ShardIteratorType::AtTimestamp)
            .timestamp(at),
    };
    builder.build().map_err(|e| e.to_string())
}
