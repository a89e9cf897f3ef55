//! Subscriptions: Subscribe, ConfirmSubscription, Unsubscribe, ListSubscriptions(ByTopic),
//! Get/SetSubscriptionAttributes, and the lookups authorization needs.
//!
//! # Invariants
//! - Subscribe, confirm, unsubscribe and attribute changes run under the admin lock; each
//!   commits its records in one batch and changes in-memory state only after the commit.
//! - Only confirmed subscriptions receive notifications. A queue subscription is confirmed at
//!   once, except, with accounts enforced, to another account's queue: that one stays pending,
//!   its record committed in the same batch as the SubscriptionConfirmation put into the queue.
//!   HTTP/S subscriptions are confirmed when their token comes back.
//! - The number of filter policies per account and region stays within AWS's quota.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use sluice_storage::Cf;

use super::delivery_policy::TopicDeliveryPolicy;
use super::error::invalid;
use super::outbox::OutboxEntry;
use super::{
    page_after, paginate, subscription_settings, ArnPage, Protocol, PublishContext, Result, SubscribeOutcome,
    Subscription, SubscriptionRecord, SubscriptionSummary, TopicError, TopicKey, Topics, UnsubscribeRule,
    MAX_FILTER_POLICIES, SNS_SENDER_ID,
};
use crate::queue::QueueKey;

impl Topics {
    fn filter_policy_count(&self, account: &str, region: &str) -> usize {
        let subs = self.subscriptions.read().unwrap_or_else(|p| p.into_inner());
        subs.values()
            .filter(|s| {
                let r = s.record();
                r.topic.account == account && r.topic.region == region && r.attributes.contains_key("FilterPolicy")
            })
            .count()
    }

    /// Subscribes an endpoint. Queue subscriptions are confirmed at once; HTTP/S ones get a
    /// SubscriptionConfirmation through the outbox. Subscribing the same endpoint again returns
    /// the existing subscription when the attributes agree.
    pub fn subscribe(
        &self,
        key: &TopicKey,
        protocol: &str,
        endpoint: &str,
        attributes: &BTreeMap<String, String>,
        owner: &str,
        ctx: &PublishContext,
    ) -> Result<SubscribeOutcome> {
        let topic = self.lookup(key)?;
        let protocol = Protocol::parse(protocol)?;
        match protocol {
            Protocol::Sqs => {
                let Some(queue) = QueueKey::from_arn(endpoint) else {
                    return Err(invalid("SQS endpoint ARN"));
                };
                if queue.name.ends_with(".fifo") && !topic.fifo {
                    return Err(invalid(
                        "Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics",
                    ));
                }
            }
            Protocol::Lambda => {
                // Sluice keeps only $LATEST: a function, or its $LATEST qualifier.
                if crate::function::FunctionKey::from_arn(endpoint).is_none() {
                    return Err(invalid("Invalid parameter: Lambda endpoint ARN"));
                }
                if topic.fifo {
                    return Err(invalid(
                        "Invalid protocol type: lambda for FIFO topic; FIFO topics deliver to SQS queues",
                    ));
                }
            }
            Protocol::Http | Protocol::Https => {
                if topic.fifo {
                    return Err(invalid(format!(
                        "Invalid protocol type: {} for FIFO topic; FIFO topics deliver to SQS queues",
                        protocol.as_str()
                    )));
                }
                let scheme = format!("{}://", protocol.as_str());
                if !endpoint.to_ascii_lowercase().starts_with(&scheme) || endpoint.len() <= scheme.len() {
                    return Err(invalid("Endpoint must match the specified protocol"));
                }
            }
        }
        let settings = subscription_settings(protocol, attributes)?;
        let _admin = self.admin();
        for existing in topic.subscriptions() {
            let record = existing.record();
            if record.protocol == protocol && record.endpoint == endpoint {
                if attributes.iter().any(|(n, v)| record.attributes.get(n) != Some(v)) {
                    return Err(invalid(
                        "Attributes Reason: Subscription already exists with different attributes",
                    ));
                }
                return Ok(SubscribeOutcome {
                    arn: existing.arn.clone(),
                    pending: !record.confirmed,
                });
            }
        }
        if settings.filter.is_some() && self.filter_policy_count(&key.account, &key.region) >= MAX_FILTER_POLICIES {
            return Err(TopicError::FilterPolicyLimitExceeded(
                "Filter policy limit exceeded".into(),
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        // With accounts enforced (authentication on), a queue of another account than the
        // subscriber's must confirm, as on AWS: the queue gets a SubscriptionConfirmation and its
        // owner calls ConfirmSubscription with the token.
        let foreign_queue = match protocol {
            Protocol::Sqs => {
                QueueKey::from_arn(endpoint).filter(|queue| ctx.cross_account_check.is_some() && queue.account != owner)
            }
            Protocol::Http | Protocol::Https | Protocol::Lambda => None,
        };
        // A function needs no confirmation, as on AWS (the subscriber may invoke it).
        let confirmed = matches!(protocol, Protocol::Sqs | Protocol::Lambda) && foreign_queue.is_none();
        let token = (!confirmed).then(confirmation_token);
        let record = SubscriptionRecord {
            id: id.clone(),
            topic: key.clone(),
            protocol,
            endpoint: endpoint.to_string(),
            owner: owner.to_string(),
            attributes: attributes.clone(),
            confirmed,
            token: token.clone(),
            authenticated: false,
        };
        let sub = Arc::new(Subscription {
            arn: format!("{}:{id}", topic.arn),
            record: Mutex::new(record.clone()),
            settings: RwLock::new(Arc::new(settings)),
        });
        let pending_entry = match &token {
            Some(token) => Some(self.confirmation_entry(&topic, &sub, "SubscriptionConfirmation", token, ctx)?),
            None => None,
        };
        let staged = match (foreign_queue, pending_entry) {
            (Some(queue), Some(entry)) => {
                self.send_queue_confirmation(&record, queue, entry)?;
                None
            }
            (_, pending_entry) => {
                let mut batch = self.store.batch();
                Self::persist_subscription(&record, &mut batch)?;
                let staged = self.outbox.stage_optional(pending_entry, &mut batch)?;
                self.store.commit(batch)?;
                staged
            }
        };
        topic
            .subscriptions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(sub.clone());
        self.subscriptions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(sub.arn.clone(), sub.clone());
        self.outbox.schedule_optional(staged);
        Ok(SubscribeOutcome {
            arn: sub.arn.clone(),
            pending: !confirmed,
        })
    }

    /// Stores a pending queue subscription and puts its SubscriptionConfirmation into the queue
    /// in one commit. A queue that cannot take it (gone, say) leaves the subscription pending.
    fn send_queue_confirmation(&self, record: &SubscriptionRecord, queue: QueueKey, entry: OutboxEntry) -> Result<()> {
        let fifo = queue.name.ends_with(".fifo");
        let message = crate::queue::message::NewMessage {
            body: entry.body,
            delay_seconds: None,
            attributes: Default::default(),
            system_attributes: Default::default(),
            sender_id: SNS_SENDER_ID.to_string(),
            group_id: fifo.then(|| record.topic.arn()),
            deduplication_id: fifo.then(|| entry.message_id.clone()),
        };
        let results = self.queues.send_fanout(vec![(queue, message)], |batch| {
            Self::persist_subscription(record, batch)
        })?;
        if let Some(Err(err)) = results.first() {
            tracing::warn!(subscription = %entry.subscription_arn, error = %err, "subscription confirmation could not be put into the queue");
        }
        Ok(())
    }

    /// Confirms a pending HTTP/S subscription with the token it was sent.
    pub fn confirm_subscription(&self, key: &TopicKey, token: &str, authenticated: bool) -> Result<String> {
        let topic = self.lookup(key)?;
        let _admin = self.admin();
        for sub in topic.subscriptions() {
            let mut record = sub.record();
            if record.token.as_deref() != Some(token) {
                continue;
            }
            if !record.confirmed {
                let mut updated = record.clone();
                updated.confirmed = true;
                updated.authenticated = authenticated;
                let mut batch = self.store.batch();
                Self::persist_subscription(&updated, &mut batch)?;
                self.store.commit(batch)?;
                *record = updated;
            }
            return Ok(sub.arn.clone());
        }
        Err(invalid("Token"))
    }

    /// Deletes a subscription; HTTP/S endpoints get an UnsubscribeConfirmation.
    pub fn unsubscribe(&self, arn: &str, ctx: &PublishContext) -> Result<()> {
        let sub = self.lookup_subscription(arn)?;
        let topic_key = sub.record().topic.clone();
        let topic = self.lookup(&topic_key)?;
        let _admin = self.admin();
        let record = sub.record().clone();
        let mut batch = self.store.batch();
        batch.delete(Cf::Meta, &topic_key.subscription_key(&record.id));
        let mut topic_record = topic.record().clone();
        topic_record.deleted_subscriptions += 1;
        self.persist_topic(&topic_key, &topic_record, &mut batch)?;
        let goodbye = match (record.protocol, &record.token, record.confirmed) {
            (Protocol::Http | Protocol::Https, Some(token), true) => {
                Some(self.confirmation_entry(&topic, &sub, "UnsubscribeConfirmation", token, ctx)?)
            }
            _ => None,
        };
        let staged = self.outbox.stage_optional(goodbye, &mut batch)?;
        self.store.commit(batch)?;
        *topic.record() = topic_record;
        topic
            .subscriptions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|s| s.arn != arn);
        self.subscriptions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(arn);
        self.outbox.schedule_optional(staged);
        Ok(())
    }

    fn summary(sub: &Subscription) -> SubscriptionSummary {
        let record = sub.record();
        SubscriptionSummary {
            subscription_arn: if record.confirmed {
                sub.arn.clone()
            } else {
                "PendingConfirmation".into()
            },
            owner: record.owner.clone(),
            protocol: record.protocol.as_str().into(),
            endpoint: record.endpoint.clone(),
            topic_arn: record.topic.arn(),
        }
    }

    /// ListSubscriptions for one account and region, 100 per page.
    pub fn list_subscriptions(
        &self,
        account: &str,
        region: &str,
        next_token: Option<&str>,
    ) -> Result<ArnPage<SubscriptionSummary>> {
        let after = page_after(next_token)?;
        let mut items: Vec<(String, SubscriptionSummary)> = {
            let subs = self.subscriptions.read().unwrap_or_else(|p| p.into_inner());
            subs.values()
                .filter(|s| {
                    let r = s.record();
                    r.topic.account == account && r.topic.region == region
                })
                .map(|s| (s.arn.clone(), Self::summary(s)))
                .collect()
        };
        items.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(paginate(&items, after))
    }

    /// ListSubscriptionsByTopic, 100 per page.
    pub fn list_subscriptions_by_topic(
        &self,
        key: &TopicKey,
        next_token: Option<&str>,
    ) -> Result<ArnPage<SubscriptionSummary>> {
        let topic = self.lookup(key)?;
        let after = page_after(next_token)?;
        let mut items: Vec<(String, SubscriptionSummary)> = topic
            .subscriptions()
            .iter()
            .map(|s| (s.arn.clone(), Self::summary(s)))
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(paginate(&items, after))
    }

    /// The topic a subscription belongs to, for authorization.
    pub fn subscription_topic(&self, arn: &str) -> Result<TopicKey> {
        Ok(self.lookup_subscription(arn)?.record().topic.clone())
    }

    /// Who may delete a subscription, for authorization of Unsubscribe.
    pub fn unsubscribe_rule(&self, arn: &str) -> Result<UnsubscribeRule> {
        let sub = self.lookup_subscription(arn)?;
        let record = sub.record();
        Ok(UnsubscribeRule {
            topic: record.topic.clone(),
            owner: record.owner.clone(),
            requires_authentication: record.authenticated || record.protocol == Protocol::Sqs,
        })
    }

    /// Every subscription attribute, with AWS's defaults.
    pub fn get_subscription_attributes(&self, arn: &str) -> Result<BTreeMap<String, String>> {
        let sub = self.lookup_subscription(arn)?;
        let record = sub.record().clone();
        let mut out = record.attributes.clone();
        out.insert("SubscriptionArn".into(), sub.arn.clone());
        out.insert("TopicArn".into(), record.topic.arn());
        out.insert("Owner".into(), record.owner.clone());
        out.insert("Protocol".into(), record.protocol.as_str().into());
        out.insert("Endpoint".into(), record.endpoint.clone());
        out.insert("PendingConfirmation".into(), (!record.confirmed).to_string());
        out.insert("ConfirmationWasAuthenticated".into(), record.authenticated.to_string());
        out.entry("RawMessageDelivery".into()).or_insert_with(|| "false".into());
        if out.contains_key("FilterPolicy") {
            out.entry("FilterPolicyScope".into())
                .or_insert_with(|| "MessageAttributes".into());
        }
        if record.protocol != Protocol::Sqs {
            let topic_policy = self
                .lookup(&record.topic)
                .ok()
                .and_then(|t| t.record().attributes.get("DeliveryPolicy").cloned())
                .unwrap_or_default();
            let topic_policy = TopicDeliveryPolicy::parse(&topic_policy).unwrap_or_default();
            let effective = sub.settings().delivery.effective(&topic_policy);
            let mut doc = serde_json::json!({
                "healthyRetryPolicy": effective.retry.to_json(),
                "requestPolicy": {"headerContentType": effective.content_type},
            });
            if let (Some(rate), Some(object)) = (effective.max_receives_per_second, doc.as_object_mut()) {
                object.insert(
                    "throttlePolicy".into(),
                    serde_json::json!({ "maxReceivesPerSecond": rate }),
                );
            }
            out.insert("EffectiveDeliveryPolicy".into(), doc.to_string());
        }
        Ok(out)
    }

    /// Sets one subscription attribute.
    pub fn set_subscription_attribute(&self, arn: &str, name: &str, value: &str) -> Result<()> {
        let sub = self.lookup_subscription(arn)?;
        let _admin = self.admin();
        let mut record = sub.record();
        let mut updated = record.clone();
        let clearable = matches!(name, "FilterPolicy" | "RedrivePolicy" | "DeliveryPolicy");
        if value.is_empty() && clearable {
            updated.attributes.remove(name);
        } else {
            updated.attributes.insert(name.to_string(), value.to_string());
        }
        let settings = subscription_settings(updated.protocol, &updated.attributes)?;
        let adds_filter = name == "FilterPolicy" && !value.is_empty() && !record.attributes.contains_key(name);
        if adds_filter {
            let (account, region) = (record.topic.account.clone(), record.topic.region.clone());
            drop(record);
            if self.filter_policy_count(&account, &region) >= MAX_FILTER_POLICIES {
                return Err(TopicError::FilterPolicyLimitExceeded(
                    "Filter policy limit exceeded".into(),
                ));
            }
            record = sub.record();
        }
        let mut batch = self.store.batch();
        Self::persist_subscription(&updated, &mut batch)?;
        self.store.commit(batch)?;
        *record = updated;
        *sub.settings.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(settings);
        Ok(())
    }
}

/// A confirmation token: 128 random bits, hex, like AWS's long hex tokens.
fn confirmation_token() -> String {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    format!("{}{}", a.simple(), b.simple())
}
