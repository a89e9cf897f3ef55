//! `sqs-roundtrip`: producers send one message per call; consumers receive up to 10 at a time
//! (with a short long poll) and delete what they got with DeleteMessageBatch. At the end every
//! acknowledged send must have been received.
//!
//! # The ledger
//! One mutex-guarded [`Ledger`] holds the sequence numbers the broker acknowledged and how
//! often each was delivered. It keeps `outstanding` (acknowledged, not yet delivered) exact
//! whichever happens first, the ack reaching the producer or the delivery reaching a consumer,
//! so consumers can stop the moment producers are done and nothing is outstanding. The lock is
//! taken once per call, never across an `.await`.
//!
//! Standard queues are at-least-once, so duplicates are reported but are not a failure; a
//! missing message is. On a FIFO queue (`fifo-roundtrip`) duplicates fail the run too, and the
//! ledger also checks that each group's deliveries come in increasing SequenceNumber order:
//! consumers record a message before deleting it, and its group stays locked until the delete,
//! so the ledger sees each group's deliveries in the order the broker handed them out. A message whose send timed out may still have arrived: it is counted as
//! `unexpected`, not as a duplicate. Bodies from another run (a reused `--queue-name`) are
//! `foreign`, deleted and otherwise ignored.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::super::checksum::md5_hex;
use super::super::client::classify;
use super::super::report::Verification;
use super::super::stats::TaskStats;
use super::send::send_one;
use super::{join_all, parse_body, Outcome, Plan, Shared};

/// Messages per ReceiveMessage: SQS's maximum.
const RECEIVE_BATCH: i32 = 10;

#[derive(Default)]
struct Ledger {
    acked: HashSet<u64>,
    deliveries: HashMap<u64, u32>,
    /// Acknowledged and not yet delivered.
    outstanding: u64,
    foreign: u64,
    /// Every delivery, this run's or not (the only count that means anything against the
    /// null server).
    delivered_total: u64,
    last_delivery: Option<Instant>,
    /// FIFO: the highest SequenceNumber delivered per group.
    last_by_group: HashMap<String, u128>,
    out_of_order: u64,
    dedupe_misses: u64,
}

struct Tracker {
    ledger: Mutex<Ledger>,
    producers_done: AtomicBool,
    acked_total: AtomicU64,
    verify: bool,
}

impl Tracker {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // A worker that panicked mid-update leaves counts that are still usable for a report.
        self.ledger.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn acked(&self, seq: u64) {
        self.acked_total.fetch_add(1, Ordering::AcqRel);
        if !self.verify {
            return;
        }
        let mut ledger = self.ledger();
        ledger.acked.insert(seq);
        if !ledger.deliveries.contains_key(&seq) {
            ledger.outstanding += 1;
        }
    }

    fn delivered(&self, seqs: &[u64], foreign: u64, total: u64, ordered: &[(String, u128)]) {
        let mut ledger = self.ledger();
        for (group, sequence) in ordered {
            match ledger.last_by_group.get_mut(group) {
                Some(last) if *sequence <= *last => ledger.out_of_order += 1,
                Some(last) => *last = *sequence,
                None => {
                    ledger.last_by_group.insert(group.clone(), *sequence);
                }
            }
        }
        ledger.foreign += foreign;
        ledger.delivered_total += total;
        ledger.last_delivery = Some(Instant::now());
        for &seq in seqs {
            let count = ledger.deliveries.entry(seq).or_insert(0);
            *count += 1;
            let first = *count == 1;
            if first && ledger.acked.contains(&seq) {
                ledger.outstanding -= 1;
            }
        }
    }

    /// Producers are done and everything they got acknowledged has come back.
    fn finished(&self) -> bool {
        if !self.producers_done.load(Ordering::Acquire) {
            return false;
        }
        let ledger = self.ledger();
        if self.verify {
            ledger.outstanding == 0
        } else {
            ledger.delivered_total >= self.acked_total.load(Ordering::Acquire)
        }
    }

    fn verification(&self) -> Verification {
        let ledger = self.ledger();
        let mut received_unique = 0;
        let mut duplicates = 0;
        let mut unexpected = 0;
        for (seq, &count) in &ledger.deliveries {
            if ledger.acked.contains(seq) {
                received_unique += 1;
            } else {
                unexpected += 1;
            }
            duplicates += u64::from(count.saturating_sub(1));
        }
        let sent = ledger.acked.len() as u64;
        Verification {
            sent,
            received_unique,
            missing: sent - received_unique,
            duplicates,
            unexpected,
            foreign: ledger.foreign,
            out_of_order: ledger.out_of_order,
            dedupe_misses: ledger.dedupe_misses,
        }
    }
}

pub async fn run(shared: &Arc<Shared>, plan: &Plan, started: Instant, bound: Instant) -> Outcome {
    let (producers, consumers) = plan.roundtrip_split;
    let tracker = Arc::new(Tracker {
        ledger: Mutex::new(Ledger::default()),
        producers_done: AtomicBool::new(false),
        acked_total: AtomicU64::new(0),
        verify: plan.verify,
    });
    // Consumers keep draining this long after the send deadline, then give up.
    let drain_until = shared.deadline + plan.op_timeout + plan.drain_timeout;

    let mut consumer_tasks = JoinSet::new();
    for _ in 0..consumers {
        let shared = Arc::clone(shared);
        let tracker = Arc::clone(&tracker);
        let wait = plan.wait_time_seconds;
        consumer_tasks.spawn(async move { consume(&shared, &tracker, wait, drain_until).await });
    }
    let mut producer_tasks = JoinSet::new();
    for _ in 0..producers {
        let shared = Arc::clone(shared);
        let tracker = Arc::clone(&tracker);
        producer_tasks.spawn(async move {
            let mut stats = TaskStats::new();
            while shared.may_send() {
                if let Some(sent) = send_one(&shared, &mut stats).await {
                    tracker.acked(sent.seq);
                    if sent.dedupe_miss {
                        tracker.ledger().dedupe_misses += 1;
                    }
                }
            }
            stats
        });
    }

    let (produced, lost_producers) = join_all(producer_tasks, bound).await;
    tracker.producers_done.store(true, Ordering::Release);
    let (consumed, lost_consumers) = join_all(consumer_tasks, bound).await;

    let mut stats = TaskStats::new();
    for result in produced.iter().chain(consumed.iter()) {
        stats.merge(result);
    }
    let delivery_window = tracker
        .ledger()
        .last_delivery
        .map(|last| last.saturating_duration_since(started));
    Outcome {
        stats,
        delivery_window,
        verification: plan.verify.then(|| tracker.verification()),
        lost_workers: lost_producers + lost_consumers,
    }
}

async fn consume(shared: &Shared, tracker: &Tracker, wait: i32, drain_until: Instant) -> TaskStats {
    let mut stats = TaskStats::new();
    while Instant::now() < drain_until && !tracker.finished() {
        let mut request = shared
            .client
            .receive_message()
            .queue_url(&shared.queue_url)
            .max_number_of_messages(RECEIVE_BATCH)
            .wait_time_seconds(wait);
        if shared.attributes.is_some() {
            // Needed for the broker to return the attributes and their digest.
            request = request.message_attribute_names("All");
        }
        if shared.fifo.is_some() {
            request = request
                .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
                .message_system_attribute_names(MessageSystemAttributeName::SequenceNumber);
        }
        let started = Instant::now();
        let result = request.send().await;
        stats.ops += 1;
        let output = match result {
            Ok(output) => output,
            Err(error) => {
                let (kind, message) = classify(&error);
                stats.errors.add(&kind, || message);
                continue;
            }
        };
        stats.receive.record(started.elapsed());
        let messages = output.messages();
        if messages.is_empty() {
            stats.empty_receives += 1;
            continue;
        }

        let mut seqs = Vec::with_capacity(messages.len());
        let mut ordered = Vec::new();
        let mut foreign = 0;
        let mut entries = Vec::with_capacity(messages.len());
        for (i, message) in messages.iter().enumerate() {
            stats.messages_received += 1;
            let body = message.body().unwrap_or_default();
            let body_ok = message.md5_of_body() == Some(md5_hex(body.as_bytes()).as_str());
            let attributes_ok = shared.attributes_md5.is_none()
                || message.md5_of_message_attributes() == shared.attributes_md5.as_deref();
            if !(body_ok && attributes_ok) {
                stats.checksum_mismatches += 1;
            }
            match parse_body(body) {
                Some((run_id, seq)) if run_id == shared.run_id => {
                    seqs.push(seq);
                    if let Some(position) = fifo_position(message) {
                        ordered.push(position);
                    }
                }
                _ => foreign += 1,
            }
            let Some(handle) = message.receipt_handle() else {
                stats
                    .errors
                    .add("NoReceiptHandle", || "a received message had no ReceiptHandle".into());
                continue;
            };
            match DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(handle)
                .build()
            {
                Ok(entry) => entries.push(entry),
                Err(error) => stats.errors.add("ConstructionFailure", || error.to_string()),
            }
        }
        tracker.delivered(&seqs, foreign, messages.len() as u64, &ordered);
        if entries.is_empty() {
            continue;
        }

        let started = Instant::now();
        let result = shared
            .client
            .delete_message_batch()
            .queue_url(&shared.queue_url)
            .set_entries(Some(entries))
            .send()
            .await;
        stats.ops += 1;
        match result {
            Ok(output) => {
                stats.delete.record(started.elapsed());
                for failed in output.failed() {
                    stats.errors.add(failed.code(), || {
                        format!(
                            "delete entry {} failed: {}",
                            failed.id(),
                            failed.message().unwrap_or("(no message)")
                        )
                    });
                }
            }
            Err(error) => {
                let (kind, message) = classify(&error);
                stats.errors.add(&kind, || message);
            }
        }
    }
    stats
}

/// A FIFO message's group and SequenceNumber, when the broker sent both.
fn fifo_position(message: &aws_sdk_sqs::types::Message) -> Option<(String, u128)> {
    let attributes = message.attributes()?;
    let group = attributes.get(&MessageSystemAttributeName::MessageGroupId)?;
    let sequence = attributes
        .get(&MessageSystemAttributeName::SequenceNumber)?
        .parse()
        .ok()?;
    Some((group.clone(), sequence))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker(verify: bool) -> Tracker {
        Tracker {
            ledger: Mutex::new(Ledger::default()),
            producers_done: AtomicBool::new(false),
            acked_total: AtomicU64::new(0),
            verify,
        }
    }

    #[test]
    fn outstanding_is_exact_whichever_comes_first() {
        let t = tracker(true);
        t.acked(1);
        t.delivered(&[2], 0, 1, &[]); // delivered before its ack reached the producer
        t.acked(2);
        t.acked(3);
        assert!(!t.finished(), "producers still running");
        t.producers_done.store(true, Ordering::Release);
        assert!(!t.finished(), "1 and 3 outstanding");
        t.delivered(&[1, 3, 3], 1, 4, &[]);
        assert!(t.finished());
        let v = t.verification();
        assert_eq!((v.sent, v.received_unique, v.missing), (3, 3, 0));
        assert_eq!((v.duplicates, v.unexpected, v.foreign), (1, 0, 1));
    }

    #[test]
    fn missing_and_unexpected() {
        let t = tracker(true);
        t.acked(1);
        t.acked(2);
        t.delivered(&[1, 9], 0, 2, &[]);
        t.producers_done.store(true, Ordering::Release);
        assert!(!t.finished());
        let v = t.verification();
        assert_eq!((v.sent, v.received_unique, v.missing, v.unexpected), (2, 1, 1, 1));
    }

    #[test]
    fn without_verification_counts_totals() {
        let t = tracker(false);
        t.acked(1);
        t.acked(2);
        t.producers_done.store(true, Ordering::Release);
        t.delivered(&[], 1, 1, &[]);
        assert!(!t.finished());
        t.delivered(&[], 1, 1, &[]);
        assert!(t.finished());
    }

    #[test]
    fn group_order_is_checked_per_group() {
        let t = tracker(true);
        let at = |g: &str, s: u128| (g.to_string(), s);
        t.delivered(&[], 0, 3, &[at("a", 1), at("b", 2), at("a", 3)]);
        assert_eq!(t.verification().out_of_order, 0);
        t.delivered(&[], 0, 2, &[at("b", 1), at("a", 3)]);
        assert_eq!(t.verification().out_of_order, 2, "b went back, a repeated");
    }
}
