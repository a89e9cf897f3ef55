//! A topic's life: CreateTopic, DeleteTopic and ListTopics.
//!
//! # Invariants
//! - Create and delete run under the admin lock, so the existence check, the idempotent
//!   "same attributes and tags" answer and the commit agree.
//! - Create commits the topic record and the id counter in one batch; ids are never reused,
//!   so a deleted topic's deduplication entries can never be read as a new topic's.
//! - Delete removes the topic record, its deduplication window and every subscription record
//!   in one batch, then marks the topic deleted and drops it from the registry.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};

use sluice_storage::key;
use sluice_storage::Cf;

use super::error::invalid;
use super::settings::check_topic_attribute;
use super::{
    page_after, paginate, publish, ArnPage, Result, Topic, TopicCounters, TopicError, TopicKey, TopicRecord, Topics,
    MAX_TAGS, TOPIC_ID_COUNTER,
};

impl Topics {
    /// Creates a topic, or returns the existing one's ARN when attributes and tags agree.
    pub fn create_topic(
        &self,
        key: &TopicKey,
        attributes: &BTreeMap<String, String>,
        tags: &BTreeMap<String, String>,
    ) -> Result<String> {
        let fifo_attr = match attributes.get("FifoTopic").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(invalid("Attributes Reason: FifoTopic: Invalid value")),
        };
        if fifo_attr != key.name.ends_with(".fifo") {
            return Err(invalid(
                "Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.",
            ));
        }
        let mut settable = BTreeMap::new();
        for (name, value) in attributes {
            if name == "FifoTopic" {
                continue;
            }
            check_topic_attribute(name, value, fifo_attr)?;
            settable.insert(name.clone(), value.clone());
        }
        if tags.len() > MAX_TAGS {
            return Err(TopicError::TagLimitExceeded(
                "Could not complete request: tag quota of per resource exceeded".into(),
            ));
        }
        let _admin = self.admin();
        if let Ok(existing) = self.lookup(key) {
            let record = existing.record();
            let differs = settable.iter().any(|(n, v)| record.attributes.get(n) != Some(v));
            if differs {
                return Err(invalid(
                    "Attributes Reason: Topic already exists with different attributes",
                ));
            }
            if !tags.is_empty() && &record.tags != tags {
                return Err(invalid("Tags Reason: Topic already exists with different tags"));
            }
            return Ok(existing.arn.clone());
        }
        let id = self.next_topic_id.fetch_add(1, Ordering::AcqRel);
        let record = TopicRecord {
            id,
            created_ms: self.clock.now_ms(),
            fifo: fifo_attr,
            attributes: settable,
            tags: tags.clone(),
            deleted_subscriptions: 0,
        };
        let mut batch = self.store.batch();
        self.persist_topic(key, &record, &mut batch)?;
        batch.put(Cf::Meta, &[TOPIC_ID_COUNTER], &id.to_be_bytes());
        self.store.commit(batch)?;
        let topic = Arc::new(Topic {
            arn: key.arn(),
            fifo: fifo_attr,
            key: key.clone(),
            record: Mutex::new(record),
            subscriptions: RwLock::new(Vec::new()),
            fifo_state: Mutex::new(publish::FifoState::default()),
            fifo_settled: Condvar::new(),
            deleted: AtomicBool::new(false),
            counters: TopicCounters::default(),
        });
        let arn = topic.arn.clone();
        self.topics
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), topic);
        Ok(arn)
    }

    /// Deletes a topic and its subscriptions; deleting a missing topic succeeds, as on AWS.
    pub fn delete_topic(&self, key: &TopicKey) -> Result<()> {
        let _admin = self.admin();
        let Ok(topic) = self.lookup(key) else {
            return Ok(());
        };
        // A FIFO topic's publishes stage under its lock: taken, no publish staged before the
        // delete writes the topic's keys after it, and none staged after finds it alive.
        let _publishes = topic.fifo.then(|| topic.fifo_state());
        let subs = topic.subscriptions();
        let mut batch = self.store.batch();
        batch.delete(Cf::Meta, &key.record_key());
        let topic_id = topic.record().id;
        let dedupe = publish::dedupe_prefix(topic_id);
        batch.delete_range(Cf::Dedupe, &dedupe, &key::prefix_end(&dedupe));
        batch.delete(Cf::Meta, &publish::last_seq_key(topic_id));
        for sub in &subs {
            batch.delete(Cf::Meta, &key.subscription_key(&sub.record().id));
        }
        self.store.commit(batch)?;
        topic.deleted.store(true, Ordering::Release);
        self.topics.write().unwrap_or_else(|p| p.into_inner()).remove(key);
        let mut registry = self.subscriptions.write().unwrap_or_else(|p| p.into_inner());
        for sub in subs {
            registry.remove(&sub.arn);
        }
        Ok(())
    }

    /// ListTopics for one account and region, 100 per page.
    pub fn list_topics(&self, account: &str, region: &str, next_token: Option<&str>) -> Result<ArnPage<String>> {
        let after = page_after(next_token)?;
        let mut arns: Vec<(String, String)> = {
            let topics = self.topics.read().unwrap_or_else(|p| p.into_inner());
            topics
                .values()
                .filter(|t| t.key.account == account && t.key.region == region)
                .map(|t| (t.arn.clone(), t.arn.clone()))
                .collect()
        };
        arns.sort();
        Ok(paginate(&arns, after))
    }
}
