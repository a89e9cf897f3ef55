//! A queue's life: CreateQueue, DeleteQueue, ListQueues, ListDeadLetterSourceQueues and
//! PurgeQueue, with the page-token codec the two list operations share.
//!
//! # Invariants
//! - Create and delete run under the admin lock, so existence checks, the redrive check and
//!   the commit agree.
//! - Create commits the queue record and the id counter in one batch; delete removes the record,
//!   every stored message, the deduplication entries and the sequence mark in one batch. Queue
//!   ids are never reused.
//! - A deleted name stays taken for sixty seconds, and a queue is purged at most once per sixty
//!   seconds, as SQS does.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sluice_storage::{key, Cf};

use super::config::{self, QueueConfig};
use super::error::{QueueError, Result};
use super::fifo;
use super::index::MessageIndex;
use super::message::{message_key, queue_prefix};
use super::{
    seq_mark_key, validate_tags, Queue, QueueKey, QueuePage, QueueRecord, Queues, MAX_TAGS, QUEUE_ID_COUNTER,
    SIXTY_SECONDS_MS,
};

impl Queues {
    /// Creates a queue, or confirms an existing one with the same attributes.
    pub fn create_queue(
        &self,
        key: &QueueKey,
        attributes: &BTreeMap<String, String>,
        tags: &BTreeMap<String, String>,
    ) -> Result<()> {
        config::validate_queue_name(&key.name, config::requests_fifo(attributes)?)?;
        validate_tags(tags)?;
        if tags.len() > MAX_TAGS {
            return Err(QueueError::InvalidParameterValue(format!(
                "Too many tags: a queue can have at most {MAX_TAGS}."
            )));
        }
        let config = QueueConfig::for_new_queue(attributes)?;
        let _admin = self.admin();
        if let Ok(existing) = self.lookup(key) {
            if let Some(name) = existing.config().first_difference(attributes)? {
                return Err(QueueError::QueueNameExists(name));
            }
            return Ok(());
        }
        let now = self.clock.now_ms();
        {
            let mut deleted = self.recently_deleted.lock().unwrap_or_else(|p| p.into_inner());
            deleted.retain(|_, at| now.saturating_sub(*at) < SIXTY_SECONDS_MS);
            if deleted.contains_key(key) {
                return Err(QueueError::QueueDeletedRecently);
            }
        }
        self.check_redrive(key, &config)?;
        let id = self.next_queue_id.fetch_add(1, Ordering::Relaxed);
        let record = QueueRecord {
            id,
            created_ms: now,
            modified_ms: now,
            config,
            tags: tags.clone(),
        };
        let mut batch = self.store.batch();
        self.persist(key, &record, &mut batch)?;
        batch.put(Cf::Meta, &[QUEUE_ID_COUNTER], &id.to_be_bytes());
        self.store.commit(batch)?;
        let index = MessageIndex::with_hot_limit(record.config.fifo_queue, self.options.hot_messages);
        let queue = Queue::new(id, key.clone(), record, index, 1);
        self.registry
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), Arc::new(queue));
        self.sweeper.notify_one();
        Ok(())
    }

    /// Deletes a queue and every message in it.
    pub fn delete_queue(&self, key: &QueueKey) -> Result<()> {
        let _admin = self.admin();
        let queue = self.lookup(key)?;
        let prefix = queue_prefix(queue.id);
        let end = key::prefix_end(&prefix);
        let mut batch = self.store.batch();
        batch.delete(Cf::Meta, &key.record_key());
        batch.delete_range(Cf::QueueMsgs, &prefix, &end);
        batch.delete_range(Cf::QueueState, &prefix, &end);
        let dedupe = fifo::dedupe_prefix(queue.id);
        batch.delete_range(Cf::Dedupe, &dedupe, &key::prefix_end(&dedupe));
        batch.delete(Cf::Meta, &seq_mark_key(queue.id));
        self.store.commit(batch)?;
        queue.deleted.store(true, Ordering::Release);
        queue.notify.notify_waiters();
        self.registry.write().unwrap_or_else(|p| p.into_inner()).remove(key);
        let now = self.clock.now_ms();
        self.recently_deleted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), now);
        Ok(())
    }

    /// Lists queue names of an account and region, by prefix, in pages.
    pub fn list_queues(
        &self,
        account: &str,
        region: &str,
        prefix: Option<&str>,
        max_results: Option<usize>,
        next_token: Option<&str>,
    ) -> Result<QueuePage> {
        let names: Vec<String> = {
            let registry = self.registry.read().unwrap_or_else(|p| p.into_inner());
            registry
                .keys()
                .filter(|k| k.account == account && k.region == region)
                .filter(|k| prefix.is_none_or(|p| k.name.starts_with(p)))
                .map(|k| k.name.clone())
                .collect()
        };
        paginate(names, max_results, next_token)
    }

    /// Queues whose RedrivePolicy targets `key`.
    pub fn dead_letter_sources(
        &self,
        key: &QueueKey,
        max_results: Option<usize>,
        next_token: Option<&str>,
    ) -> Result<QueuePage> {
        let target = self.lookup(key)?;
        let target_arn = target.key.arn();
        let queues: Vec<Arc<Queue>> = {
            let registry = self.registry.read().unwrap_or_else(|p| p.into_inner());
            registry
                .values()
                .filter(|q| q.key.account == key.account && q.key.region == key.region)
                .cloned()
                .collect()
        };
        let names = queues
            .iter()
            .filter(|q| {
                q.config()
                    .redrive_policy
                    .is_some_and(|p| p.dead_letter_target_arn == target_arn)
            })
            .map(|q| q.key.name.clone())
            .collect();
        paginate(names, max_results, next_token)
    }

    /// PurgeQueue: deletes every message sent before the call.
    pub fn purge(&self, key: &QueueKey) -> Result<()> {
        let queue = self.lookup(key)?;
        let now = self.clock.now_ms();
        {
            let mut meta = queue.meta();
            if meta
                .last_purge_ms
                .is_some_and(|at| now.saturating_sub(at) < SIXTY_SECONDS_MS)
            {
                return Err(QueueError::PurgeQueueInProgress(queue.key.arn()));
            }
            meta.last_purge_ms = Some(now);
        }
        let bound = queue.next_seq.load(Ordering::Acquire);
        let from = message_key(queue.id, 0);
        let to = message_key(queue.id, bound);
        let mut batch = self.store.batch();
        batch.delete_range(Cf::QueueMsgs, &from, &to);
        batch.delete_range(Cf::QueueState, &from, &to);
        self.store.commit(batch)?;
        let mut index = queue.index();
        for seq in index.seqs_below(bound) {
            index.remove(seq);
        }
        if let Some(from) = index.cold_from() {
            self.recount_cold(&queue, &mut index, from.max(bound), now)?;
        }
        Ok(())
    }
}

fn paginate(mut names: Vec<String>, max_results: Option<usize>, next_token: Option<&str>) -> Result<QueuePage> {
    names.sort();
    if let Some(token) = next_token {
        let after = URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| QueueError::InvalidParameterValue("Invalid NextToken value.".into()))?;
        names.retain(|n| *n > after);
    }
    let Some(max) = max_results else {
        names.truncate(1000);
        return Ok(QueuePage {
            names,
            next_token: None,
        });
    };
    if !(1..=1000).contains(&max) {
        return Err(QueueError::InvalidParameterValue(format!(
            "Value {max} for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000."
        )));
    }
    let next_token = if names.len() > max {
        Some(URL_SAFE_NO_PAD.encode(names[max - 1].as_bytes()))
    } else {
        None
    };
    names.truncate(max);
    Ok(QueuePage { names, next_token })
}
