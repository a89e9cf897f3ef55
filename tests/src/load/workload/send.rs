//! `sqs-send` (SendMessage per call) and `sqs-send-batch` (SendMessageBatch of 10 per call), to
//! a standard queue or, named `*.fifo`, a FIFO queue over `--groups` message groups.
//!
//! Each worker loops until the deadline or the op budget, checking every answer's digests
//! against what it sent: the Rust SDK does not verify `MD5OfMessageBody` itself, and a broker
//! that gets it wrong breaks the SDKs that do (Java, .NET, boto3's sqs extensions).

use std::sync::Arc;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::super::checksum::md5_hex;
use super::super::client::classify;
use super::super::stats::TaskStats;
use super::{join_all, Outcome, Shared};

/// Entries per SendMessageBatch: SQS's maximum.
const BATCH_SIZE: usize = 10;

pub async fn run(shared: &Arc<Shared>, concurrency: usize, batch: bool, bound: Instant) -> Outcome {
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency {
        let shared = Arc::clone(shared);
        tasks.spawn(async move {
            let mut stats = TaskStats::new();
            while shared.may_send() {
                if batch {
                    send_batch(&shared, &mut stats).await;
                } else {
                    send_one(&shared, &mut stats).await;
                }
            }
            stats
        });
    }
    let (results, lost_workers) = join_all(tasks, bound).await;
    let mut stats = TaskStats::new();
    for result in &results {
        stats.merge(result);
    }
    Outcome {
        stats,
        delivery_window: None,
        verification: None,
        lost_workers,
    }
}

/// What one acknowledged send reports.
pub struct Sent {
    /// The load tool's sequence number of the message.
    pub seq: u64,
    /// FIFO: whether a re-send with the same deduplication id was answered with a different
    /// MessageId (it must be answered like the original).
    pub dedupe_miss: bool,
}

/// One SendMessage (on a FIFO queue with a group and a deduplication id, and every Nth
/// message a second time); `None` if the broker did not acknowledge it.
pub async fn send_one(shared: &Shared, stats: &mut TaskStats) -> Option<Sent> {
    let (seq, body) = shared.next_body();
    let first = send_body(shared, stats, seq, &body).await?;
    let mut sent = Sent {
        seq,
        dedupe_miss: false,
    };
    if let Some(fifo) = shared.fifo {
        if fifo.resend_every > 0 && seq % fifo.resend_every == 0 {
            if let Some(again) = send_body(shared, stats, seq, &body).await {
                stats.messages_sent -= 1;
                sent.dedupe_miss = shared.verify && again != first;
            }
        }
    }
    Some(sent)
}

/// Sends one body; returns the MessageId the broker answered with.
async fn send_body(shared: &Shared, stats: &mut TaskStats, seq: u64, body: &str) -> Option<String> {
    let expected_md5 = md5_hex(body.as_bytes());
    let started = Instant::now();
    let mut request = shared
        .client
        .send_message()
        .queue_url(&shared.queue_url)
        .message_body(body)
        .set_message_attributes(shared.attributes.clone());
    if let Some(fifo) = shared.fifo {
        request = request
            .message_group_id(fifo_group(fifo, seq))
            .message_deduplication_id(format!("{}-{seq}", shared.run_id));
    }
    let result = request.send().await;
    stats.ops += 1;
    match result {
        Ok(output) => {
            stats.send.record(started.elapsed());
            stats.messages_sent += 1;
            let body_ok = output.md5_of_message_body() == Some(expected_md5.as_str());
            let attributes_ok = output.md5_of_message_attributes() == shared.attributes_md5.as_deref();
            if !(body_ok && attributes_ok) {
                stats.checksum_mismatches += 1;
            }
            Some(output.message_id().unwrap_or_default().to_string())
        }
        Err(error) => {
            let (kind, message) = classify(&error);
            stats.errors.add(&kind, || message);
            None
        }
    }
}

/// The message group of message `seq`: round-robin over the groups.
fn fifo_group(fifo: super::Fifo, seq: u64) -> String {
    format!("g{}", seq % u64::from(fifo.groups))
}

/// One SendMessageBatch of [`BATCH_SIZE`] messages (on a FIFO queue each with its group and
/// deduplication id).
async fn send_batch(shared: &Shared, stats: &mut TaskStats) {
    let mut entries = Vec::with_capacity(BATCH_SIZE);
    let mut expected_md5 = Vec::with_capacity(BATCH_SIZE);
    for i in 0..BATCH_SIZE {
        let (seq, body) = shared.next_body();
        expected_md5.push(md5_hex(body.as_bytes()));
        let mut entry = SendMessageBatchRequestEntry::builder()
            .id(i.to_string())
            .message_body(body)
            .set_message_attributes(shared.attributes.clone());
        if let Some(fifo) = shared.fifo {
            entry = entry
                .message_group_id(fifo_group(fifo, seq))
                .message_deduplication_id(format!("{}-{seq}", shared.run_id));
        }
        let entry = entry.build();
        match entry {
            Ok(entry) => entries.push(entry),
            Err(error) => {
                stats.errors.add("ConstructionFailure", || error.to_string());
                return;
            }
        }
    }
    let started = Instant::now();
    let result = shared
        .client
        .send_message_batch()
        .queue_url(&shared.queue_url)
        .set_entries(Some(entries))
        .send()
        .await;
    stats.ops += 1;
    let output = match result {
        Ok(output) => output,
        Err(error) => {
            let (kind, message) = classify(&error);
            stats.errors.add(&kind, || message);
            return;
        }
    };
    stats.send.record(started.elapsed());
    for entry in output.successful() {
        stats.messages_sent += 1;
        let expected = entry.id().parse::<usize>().ok().and_then(|i| expected_md5.get(i));
        let body_ok = expected.map(String::as_str) == Some(entry.md5_of_message_body());
        let attributes_ok = entry.md5_of_message_attributes() == shared.attributes_md5.as_deref();
        if !(body_ok && attributes_ok) {
            stats.checksum_mismatches += 1;
        }
    }
    for failed in output.failed() {
        stats.errors.add(failed.code(), || {
            format!(
                "batch entry {} failed: {}",
                failed.id(),
                failed.message().unwrap_or("(no message)")
            )
        });
    }
}
