//! The console's view of a region's queues: depth, the dead-letter queue each one feeds, and
//! traffic counters from which the console draws send and receive rates.
//!
//! Counters are relaxed atomics bumped after each commit (one add per call, not per message),
//! so keeping them costs the hot path nothing measurable; they count since the broker started,
//! like Prometheus counters, and a client turns two samples into a rate.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{QueueKey, Queues};

/// Messages sent, received and deleted since the broker started.
#[derive(Debug, Default)]
pub(crate) struct QueueTraffic {
    sent: AtomicU64,
    received: AtomicU64,
    deleted: AtomicU64,
}

impl QueueTraffic {
    /// Counts `n` messages that entered the queue by a send.
    pub(crate) fn count_sent(&self, n: usize) {
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts `n` messages handed to a consumer.
    pub(crate) fn count_received(&self, n: usize) {
        self.received.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts `n` messages deleted by a consumer (or the console).
    pub(crate) fn count_deleted(&self, n: usize) {
        self.deleted.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// The dead-letter queue a queue's redrive policy names, as the overview shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterTarget {
    /// Its ARN.
    pub arn: String,
    /// Its name, when it is a queue of this broker.
    pub name: Option<String>,
    /// Receives after which a message moves there.
    pub max_receive_count: u32,
    /// Messages visible in it now (how full it is); 0 when it does not exist.
    pub visible: u64,
}

/// One queue in the overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueOverview {
    /// The queue.
    pub key: QueueKey,
    /// A FIFO queue.
    pub fifo: bool,
    /// Visible messages.
    pub visible: u64,
    /// Received and not visible again yet.
    pub in_flight: u64,
    /// Delayed, never received.
    pub delayed: u64,
    /// Age of the oldest message, ms (0 when empty).
    pub oldest_age_ms: u64,
    /// Messages sent since the broker started.
    pub sent: u64,
    /// Messages received since the broker started.
    pub received: u64,
    /// Messages deleted since the broker started.
    pub deleted: u64,
    /// Some queue's redrive policy names this one.
    pub is_dead_letter_queue: bool,
    /// Where this queue's redrive policy sends messages.
    pub dead_letter_target: Option<DeadLetterTarget>,
}

impl Queues {
    /// Every queue of `account` in `region`, by name.
    pub fn overview(&self, account: &str, region: &str) -> Vec<QueueOverview> {
        let all = self.snapshot();
        let now = self.clock.now_ms();
        let by_arn: HashMap<String, &super::Queue> = all.iter().map(|q| (q.key.arn(), q.as_ref())).collect();
        let targets: std::collections::HashSet<String> = all
            .iter()
            .filter_map(|q| q.config().redrive_policy.map(|p| p.dead_letter_target_arn))
            .collect();
        let mut out: Vec<QueueOverview> = all
            .iter()
            .filter(|q| q.key.account == account && q.key.region == region)
            .map(|q| {
                let (counts, oldest) = {
                    let index = q.index();
                    (index.counts(now), index.oldest_sent_ms())
                };
                let dead_letter_target = q.config().redrive_policy.map(|p| {
                    let target = by_arn.get(&p.dead_letter_target_arn);
                    DeadLetterTarget {
                        name: target.map(|t| t.key.name.clone()),
                        visible: target.map_or(0, |t| t.index().counts(now).visible),
                        max_receive_count: p.max_receive_count,
                        arn: p.dead_letter_target_arn,
                    }
                });
                QueueOverview {
                    key: q.key.clone(),
                    fifo: q.fifo,
                    visible: counts.visible,
                    in_flight: counts.in_flight,
                    delayed: counts.delayed,
                    oldest_age_ms: oldest.map_or(0, |sent| now.saturating_sub(sent)),
                    sent: q.traffic.sent.load(Ordering::Relaxed),
                    received: q.traffic.received.load(Ordering::Relaxed),
                    deleted: q.traffic.deleted.load(Ordering::Relaxed),
                    is_dead_letter_queue: targets.contains(&q.key.arn()),
                    dead_letter_target,
                }
            })
            .collect();
        out.sort_by(|a, b| a.key.name.cmp(&b.key.name));
        out
    }
}
