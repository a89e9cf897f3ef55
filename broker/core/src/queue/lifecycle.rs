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
        let registry = self.registry.read().unwrap_or_else(|p| p.into_inner());
        let names: Vec<&str> = registry
            .keys()
            .filter(|k| k.account == account && k.region == region)
            .filter(|k| prefix.is_none_or(|p| k.name.starts_with(p)))
            .map(|k| k.name.as_str())
            .collect();
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
            .map(|q| q.key.name.as_str())
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

/// One page of `names` in name order. Only the page is sorted and copied: a full listing of
/// 10,000 queues in pages of 1,000 sorted and copied every name for every page.
fn paginate(mut names: Vec<&str>, max_results: Option<usize>, next_token: Option<&str>) -> Result<QueuePage> {
    if let Some(token) = next_token {
        let after = URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| QueueError::InvalidParameterValue("Invalid NextToken value.".into()))?;
        names.retain(|n| *n > after.as_str());
    }
    if let Some(max) = max_results {
        if !(1..=1000).contains(&max) {
            return Err(QueueError::InvalidParameterValue(format!(
                "Value {max} for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000."
            )));
        }
    }
    // Without MaxResults, AWS answers the first 1,000 and no token.
    let max = max_results.unwrap_or(1000);
    let more = names.len() > max;
    if more {
        // The `max` smallest names end up first, in no order.
        names.select_nth_unstable(max);
        names.truncate(max);
    }
    names.sort_unstable();
    let next_token = match (more, max_results) {
        (true, Some(_)) => names.last().map(|last| URL_SAFE_NO_PAD.encode(last.as_bytes())),
        _ => None,
    };
    Ok(QueuePage {
        names: names.into_iter().map(str::to_owned).collect(),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks every page of `names` by `max`; returns the names in page order.
    fn walk(names: &[String], max: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..=names.len() {
            let page = paginate(names.iter().map(String::as_str).collect(), Some(max), token.as_deref()).expect("page");
            assert!(page.names.len() <= max);
            out.extend(page.names);
            token = page.next_token;
            if token.is_none() {
                return out;
            }
        }
        panic!("pagination never ended");
    }

    #[test]
    fn pages_cover_every_name_once_in_order_whatever_the_page_size() {
        // Unsorted input, as the registry hands it out.
        let names: Vec<String> = (0..2345u64).map(|i| format!("q{:05}", (i * 7919) % 2345)).collect();
        let mut sorted = names.clone();
        sorted.sort();
        for max in [1, 7, 1000] {
            assert_eq!(walk(&names, max), sorted, "pages of {max}");
        }
        let first = paginate(names.iter().map(String::as_str).collect(), None, None).expect("page");
        assert_eq!((first.names.as_slice(), first.next_token), (&sorted[..1000], None));
        let exact = paginate(sorted[..5].iter().map(String::as_str).collect(), Some(5), None).expect("page");
        assert_eq!(exact.next_token, None, "no token when the page holds the rest exactly");
        assert!(paginate(Vec::new(), Some(1001), None).is_err());
        assert!(paginate(Vec::new(), Some(0), None).is_err());
        assert!(paginate(Vec::new(), None, Some("%%%")).is_err());
    }
}
