//! A queue's poller: receive a batch, drop what the filters reject, invoke, delete what
//! succeeded.
//!
//! # Rules (AWS's)
//! - A batch is up to BatchSize messages, gathered for up to MaximumBatchingWindowInSeconds
//!   after the first one arrives (no window: what one long poll returns, at most 10).
//! - Messages the filters reject are deleted unseen.
//! - Success deletes the batch; with ReportBatchItemFailures only the messages not listed
//!   (an answer naming an unknown id fails the whole batch). A failed or timed-out invocation
//!   deletes nothing: the messages come back after the queue's visibility timeout, and the
//!   queue's redrive policy moves them to its dead-letter queue after maxReceiveCount.
//! - FIFO queues keep each group in order: of a group, only messages before its first failure
//!   are deleted, so a failed message is never overtaken by a later one of its group.
//! - Up to ScalingConfig.MaximumConcurrency batches run at once (default 5; one handler runs
//!   one batch at a time, so connected handlers bound it too).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::super::events::{self, BatchAnswer};
use super::super::{Functions, MappingRecord, Outcome};
use super::{filters, passes, PICKUP, PROBLEM_PAUSE};
use crate::queue::message::ReceivedMessage;
use crate::queue::{QueueKey, ReceiveRequest, VisibilityChange};

/// Concurrent batches without a ScalingConfig.
const DEFAULT_CONCURRENCY: u32 = 5;
/// A batch stops growing at this many body bytes, under Lambda's 6 MB payload limit.
const MAX_BATCH_BYTES: usize = 5 * 1024 * 1024;
/// Longest single receive wait (SQS's long-poll maximum).
const LONG_POLL_SECS: u32 = 20;

pub(super) async fn run(functions: Arc<Functions>, mapping: MappingRecord) {
    let Some(queue) = QueueKey::from_arn(&mapping.source_arn) else {
        return;
    };
    let workers = mapping.max_concurrency.unwrap_or(DEFAULT_CONCURRENCY).max(1);
    // Dropping the set (this task aborted: the mapping changed) aborts every worker.
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers {
        set.spawn(worker(functions.clone(), mapping.clone(), queue.clone()));
    }
    while set.join_next().await.is_some() {}
}

async fn worker(functions: Arc<Functions>, mapping: MappingRecord, queue: QueueKey) {
    let filters = filters(&mapping);
    let queue_arn = queue.arn();
    loop {
        let function = match functions.get_function(&mapping.function) {
            Ok(f) => f,
            Err(e) => {
                functions.set_last_result(&mapping.uuid, format!("PROBLEM: {e}"));
                tokio::time::sleep(PROBLEM_PAUSE).await;
                continue;
            }
        };
        let hub = functions.hub(&mapping.function);
        // An idle handler is promised to this batch before anything is received.
        let slot = hub.reserve().await;
        let batch = match gather(&functions, &mapping, &queue).await {
            Ok(batch) => batch,
            Err(e) => {
                functions.set_last_result(&mapping.uuid, format!("PROBLEM: {e}"));
                tokio::time::sleep(PROBLEM_PAUSE).await;
                continue;
            }
        };
        if batch.is_empty() {
            // An empty long poll took its 20 s; one that returns at once (the broker is
            // stopping) must not spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let mut records = Vec::with_capacity(batch.len());
        let mut kept = Vec::with_capacity(batch.len());
        let mut rejected = Vec::new();
        for message in batch {
            let record = events::sqs_record(&message, &queue_arn, &queue.region);
            if passes(&filters, &record, "body", message.body.as_bytes()) {
                records.push(record);
                kept.push(message);
            } else {
                rejected.push(message.receipt_handle);
            }
        }
        delete(&functions, &queue, &rejected);
        if kept.is_empty() {
            continue;
        }
        let payload = Bytes::from(events::event(&records));
        let timeout = function.record.settings.timeout_secs;
        functions.count_batch(&mapping.uuid, kept.len());
        match hub.invoke_reserved(payload, timeout, PICKUP, slot).await {
            Outcome::Success(answer) => {
                let done = succeeded(&mapping, &kept, &answer);
                if done.len() == kept.len() {
                    functions.set_last_result(&mapping.uuid, "OK");
                } else {
                    functions.count_error(&mapping.uuid);
                    functions.set_last_result(&mapping.uuid, "PROBLEM: Function reported batch item failures");
                }
                delete(&functions, &queue, &done);
            }
            Outcome::Error(_) | Outcome::TimedOut { .. } => {
                functions.count_error(&mapping.uuid);
                functions.set_last_result(&mapping.uuid, "PROBLEM: Function call failed");
            }
            Outcome::NoHandler => {
                // Give the messages back at once rather than after their visibility timeout.
                let changes: Vec<VisibilityChange> = kept
                    .iter()
                    .map(|m| VisibilityChange {
                        receipt_handle: m.receipt_handle.clone(),
                        timeout_seconds: 0,
                    })
                    .collect();
                if let Err(e) = functions.queues.change_visibility(&queue, &changes) {
                    tracing::debug!(error = %e, "messages not given back; they return after their visibility timeout");
                }
            }
        }
    }
}

/// Receives up to the mapping's batch: one long poll, then more receives until the batch is
/// full or the batching window, counted from the first message, has passed.
async fn gather(
    functions: &Functions,
    mapping: &MappingRecord,
    queue: &QueueKey,
) -> crate::queue::error::Result<Vec<ReceivedMessage>> {
    let target = mapping.batch_size as usize;
    let mut batch: Vec<ReceivedMessage> = Vec::new();
    let mut bytes = 0;
    let mut deadline: Option<Instant> = None;
    loop {
        let wait = match deadline {
            None => LONG_POLL_SECS,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(batch);
                }
                left.as_secs().max(1).min(u64::from(LONG_POLL_SECS)) as u32
            }
        };
        let request = ReceiveRequest {
            max_messages: (target - batch.len()).min(10) as u32,
            visibility_timeout: None,
            wait_seconds: Some(wait),
            attempt_id: None,
        };
        let received = functions.queues.receive(queue, request).await?;
        if received.is_empty() {
            // A long poll came back empty: its wait (at most the window's rest) is over, or
            // the broker is stopping; either way the batch is what it is, and the caller
            // looks again, so a deleted function or a shutdown is noticed.
            return Ok(batch);
        }
        bytes += received.iter().map(|m| m.body.len()).sum::<usize>();
        batch.extend(received);
        if mapping.batching_window_secs == 0 || batch.len() >= target || bytes >= MAX_BATCH_BYTES {
            return Ok(batch);
        }
        if deadline.is_none() && !batch.is_empty() {
            deadline = Some(Instant::now() + Duration::from_secs(u64::from(mapping.batching_window_secs)));
        }
    }
}

/// The receipt handles to delete after a successful invocation.
fn succeeded(mapping: &MappingRecord, batch: &[ReceivedMessage], answer: &[u8]) -> Vec<String> {
    let all = || batch.iter().map(|m| m.receipt_handle.clone()).collect();
    if !mapping.report_item_failures {
        return all();
    }
    let ids: HashSet<String> = batch.iter().map(|m| m.message_id.clone()).collect();
    match events::batch_answer(answer, &ids) {
        BatchAnswer::AllSucceeded => all(),
        BatchAnswer::Invalid => Vec::new(),
        BatchAnswer::Failed(failed) => {
            // Per FIFO group: nothing after the group's first failure.
            let mut blocked: HashMap<&str, bool> = HashMap::new();
            batch
                .iter()
                .filter(|m| {
                    let group_blocked = m.group_id.as_deref().map(|g| {
                        let b = blocked.entry(g).or_insert(false);
                        if failed.contains(&m.message_id) {
                            *b = true;
                        }
                        *b
                    });
                    !failed.contains(&m.message_id) && group_blocked != Some(true)
                })
                .map(|m| m.receipt_handle.clone())
                .collect()
        }
    }
}

fn delete(functions: &Functions, queue: &QueueKey, handles: &[String]) {
    if handles.is_empty() {
        return;
    }
    // Deletes go in tens, as DeleteMessageBatch's limit; a failed delete only redelivers.
    for chunk in handles.chunks(10) {
        if let Err(e) = functions.queues.delete_messages(queue, chunk) {
            tracing::warn!(error = %e, "processed messages not deleted; they will be delivered again");
        }
    }
}
