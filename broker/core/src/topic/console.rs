//! The console's view of one topic (docs/console.md, the topic page): its traffic, every
//! subscription with its settings and delivery state, and which subscriptions a message
//! would reach.
//!
//! # Parts
//! - [`Topics::console_view`]: a [`TopicView`] with one [`SubscriptionView`] per subscription
//!   (at most [`MAX_VIEW_SUBSCRIPTIONS`]); HTTP/S and Lambda subscriptions carry their
//!   [`DeliveryBacklog`], read from the outbox's per-subscription index.
//! - [`Topics::match_subscriptions`]: each subscription's [`MatchOutcome`] for a message,
//!   decided by the same filter code a publish runs (`publish::filter_matches`), so the
//!   console can never disagree with a delivery.
//!
//! # Invariants
//! - Read-only: nothing here changes a topic, a subscription or the outbox.
//! - Bounded: the view lists at most [`MAX_VIEW_SUBSCRIPTIONS`] subscriptions and
//!   [`MAX_RETRIES_SHOWN`] retrying deliveries per subscription; counts are exact.

use std::sync::atomic::Ordering;

use super::filter::FilterScope;
use super::publish::{filter_matches, Messages};
use super::{Protocol, PublishMessage, Result, TopicKey, Topics};

/// Most subscriptions a view lists (the page would be unusable with more; the count is exact).
pub const MAX_VIEW_SUBSCRIPTIONS: usize = 1000;
/// Most retrying deliveries a view lists per subscription.
pub const MAX_RETRIES_SHOWN: usize = 20;

/// One topic as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicView {
    /// The topic.
    pub key: TopicKey,
    /// Its ARN.
    pub arn: String,
    /// A FIFO topic.
    pub fifo: bool,
    /// Messages published since the broker started.
    pub published: u64,
    /// Successful deliveries since the broker started, every protocol together.
    pub delivered: u64,
    /// Failed delivery attempts since the broker started.
    pub failed: u64,
    /// Subscriptions in all (confirmed or not), which may exceed `subscriptions.len()`.
    pub subscription_count: usize,
    /// Subscriptions ordered by protocol, then endpoint, at most [`MAX_VIEW_SUBSCRIPTIONS`].
    pub subscriptions: Vec<SubscriptionView>,
}

/// One subscription as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionView {
    /// Its ARN (also while confirmation is pending, when the List actions hide it).
    pub arn: String,
    /// `sqs`, `http`, `https` or `lambda`.
    pub protocol: &'static str,
    /// The queue ARN, URL or function ARN it delivers to.
    pub endpoint: String,
    /// The account that subscribed.
    pub owner: String,
    /// Confirmed: it receives notifications.
    pub confirmed: bool,
    /// RawMessageDelivery.
    pub raw: bool,
    /// The filter policy as it was set, if any.
    pub filter_policy: Option<String>,
    /// `MessageAttributes` or `MessageBody` when there is a filter policy.
    pub filter_policy_scope: Option<&'static str>,
    /// The dead-letter queue its RedrivePolicy names.
    pub dead_letter_arn: Option<String>,
    /// HTTP/S and Lambda: what waits in the outbox. `None` for queues (delivered at publish).
    pub delivery: Option<DeliveryBacklog>,
}

/// A subscription's pending outbox deliveries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryBacklog {
    /// Deliveries waiting (including confirmations and one being attempted).
    pub pending: usize,
    /// Of those, deliveries that failed at least once.
    pub retrying: usize,
    /// Milliseconds since the oldest pending delivery was staged; `None` when nothing is
    /// pending or its age was not recorded.
    pub oldest_age_ms: Option<u64>,
    /// The oldest retrying deliveries, at most [`MAX_RETRIES_SHOWN`].
    pub retries: Vec<RetryingDelivery>,
}

/// A delivery that failed at least once and waits for its next attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryingDelivery {
    /// The SNS message id.
    pub message_id: String,
    /// `Notification`, `SubscriptionConfirmation` or `UnsubscribeConfirmation`.
    pub message_type: String,
    /// Failed attempts so far.
    pub attempts: u64,
    /// When the next attempt is due (epoch ms).
    pub next_attempt_ms: u64,
}

/// Whether a message reaches a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOutcome {
    /// Delivered: confirmed, and its filter policy (if any) lets the message through.
    Matched,
    /// Its filter policy keeps the message out.
    FilteredOut,
    /// Not confirmed yet: it receives nothing, whatever its filter policy says.
    PendingConfirmation,
}

/// One subscription's outcome for a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionMatch {
    /// The subscription's ARN.
    pub arn: String,
    /// What a publish of the message does for it.
    pub outcome: MatchOutcome,
}

impl Topics {
    /// The console's view of topic `key`.
    pub fn console_view(&self, key: &TopicKey) -> Result<TopicView> {
        let topic = self.lookup(key)?;
        let now = self.clock.now_ms();
        let mut rows: Vec<(Protocol, String, std::sync::Arc<super::Subscription>)> = topic
            .subscriptions()
            .into_iter()
            .map(|s| {
                let (protocol, endpoint) = {
                    let record = s.record();
                    (record.protocol, record.endpoint.clone())
                };
                (protocol, endpoint, s)
            })
            .collect();
        rows.sort_by(|a, b| (a.0.as_str(), &a.1, &a.2.arn).cmp(&(b.0.as_str(), &b.1, &b.2.arn)));
        let subscription_count = rows.len();
        let subscriptions = rows
            .into_iter()
            .take(MAX_VIEW_SUBSCRIPTIONS)
            .map(|(protocol, endpoint, sub)| {
                let record = sub.record().clone();
                let settings = sub.settings();
                let filter_policy = record
                    .attributes
                    .get("FilterPolicy")
                    .filter(|p| !p.trim().is_empty())
                    .cloned();
                // The stored text decides the scope shown: a policy that no longer parses
                // (dropped at start-up) still shows what was set.
                let filter_policy_scope =
                    filter_policy
                        .as_ref()
                        .map(|_| match settings.filter.as_ref().map(|f| f.scope()) {
                            Some(FilterScope::MessageBody) => "MessageBody",
                            Some(FilterScope::MessageAttributes) => "MessageAttributes",
                            None => match record.attributes.get("FilterPolicyScope").map(String::as_str) {
                                Some("MessageBody") => "MessageBody",
                                _ => "MessageAttributes",
                            },
                        });
                let delivery =
                    (protocol != Protocol::Sqs).then(|| self.outbox.backlog(&sub.arn, now, MAX_RETRIES_SHOWN));
                SubscriptionView {
                    arn: sub.arn.clone(),
                    protocol: protocol.as_str(),
                    endpoint,
                    owner: record.owner,
                    confirmed: record.confirmed,
                    raw: settings.raw,
                    filter_policy,
                    filter_policy_scope,
                    dead_letter_arn: settings.dead_letter_arn.clone(),
                    delivery,
                }
            })
            .collect();
        let c = &topic.counters;
        Ok(TopicView {
            key: topic.key.clone(),
            arn: topic.arn.clone(),
            fifo: topic.fifo,
            published: c.publishes.load(Ordering::Relaxed),
            delivered: c.delivered.iter().map(|n| n.load(Ordering::Relaxed)).sum(),
            failed: c.failed.iter().map(|n| n.load(Ordering::Relaxed)).sum(),
            subscription_count,
            subscriptions,
        })
    }

    /// Which of topic `key`'s subscriptions a publish of `msg` delivers to, as the publish
    /// decides it: confirmed subscriptions whose filter policy matches the text their
    /// protocol receives. Ordered by ARN.
    pub fn match_subscriptions(&self, key: &TopicKey, msg: &PublishMessage) -> Result<Vec<SubscriptionMatch>> {
        let topic = self.lookup(key)?;
        let texts = Messages::parse(msg)?;
        let mut out: Vec<SubscriptionMatch> = topic
            .subscriptions()
            .iter()
            .map(|sub| {
                let (protocol, confirmed) = {
                    let record = sub.record();
                    (record.protocol, record.confirmed)
                };
                let settings = sub.settings();
                let outcome = if !confirmed {
                    MatchOutcome::PendingConfirmation
                } else if filter_matches(settings.filter.as_ref(), texts.for_protocol(protocol), msg) {
                    MatchOutcome::Matched
                } else {
                    MatchOutcome::FilteredOut
                };
                SubscriptionMatch {
                    arn: sub.arn.clone(),
                    outcome,
                }
            })
            .collect();
        out.sort_by(|a, b| a.arn.cmp(&b.arn));
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
