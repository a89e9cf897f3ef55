//! The console's view of a region's topics: subscriptions and delivery counters.

use std::sync::atomic::Ordering;

use super::{TopicKey, Topics};

/// One topic in the overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicOverview {
    /// The topic.
    pub key: TopicKey,
    /// Its ARN.
    pub arn: String,
    /// A FIFO topic.
    pub fifo: bool,
    /// Subscriptions, confirmed or pending.
    pub subscriptions: usize,
    /// Messages published since the broker started.
    pub published: u64,
    /// Deliveries that succeeded since the broker started, every protocol together.
    pub delivered: u64,
    /// Delivery attempts that failed since the broker started.
    pub failed: u64,
}

impl Topics {
    /// Every topic of `account` in `region`, by name.
    pub fn overview(&self, account: &str, region: &str) -> Vec<TopicOverview> {
        let topics: Vec<_> = self
            .topics
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|t| t.key.account == account && t.key.region == region)
            .cloned()
            .collect();
        let mut out: Vec<TopicOverview> = topics
            .iter()
            .map(|t| {
                let c = &t.counters;
                TopicOverview {
                    key: t.key.clone(),
                    arn: t.arn.clone(),
                    fifo: t.fifo,
                    subscriptions: t.subscriptions.read().unwrap_or_else(|p| p.into_inner()).len(),
                    published: c.publishes.load(Ordering::Relaxed),
                    delivered: c.delivered.iter().map(|n| n.load(Ordering::Relaxed)).sum(),
                    failed: c.failed.iter().map(|n| n.load(Ordering::Relaxed)).sum(),
                }
            })
            .collect();
        out.sort_by(|a, b| a.key.name.cmp(&b.key.name));
        out
    }
}
