//! The event-source pollers: one task per enabled mapping, started, restarted and stopped as
//! mappings change.
//!
//! # Layout
//! - This file: [`Functions::spawn_pollers`], the supervisor, and what the pollers share
//!   (the failure destination, the record filters).
//! - `sqs`: a queue's poller: receive, filter, invoke, delete what succeeded.
//! - `kinesis`: a stream's poller: one reader per shard, in parent-before-child order, with
//!   durable checkpoints, retries, bisection and an on-failure destination.
//!
//! # Invariants
//! - Pollers run only where the broker writes (one node of a cluster), and only while a
//!   handler is connected: nothing is taken from a source that no handler can run.
//! - A change of a mapping restarts its poller with the new settings; a batch in flight is
//!   abandoned, and its records come back (the queue's visibility timeout, the stream's
//!   checkpoint), as AWS promises: at least once.

mod kinesis;
mod sqs;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinHandle;

use super::{Functions, MappingRecord};
use crate::queue::message::NewMessage;
use crate::queue::QueueKey;
use crate::topic::filter::{FilterPolicy, FilterScope};
use crate::topic::{PublishContext, PublishMessage, TopicKey};

/// How long a poller waits for a handler to take a batch before it gives the records back.
const PICKUP: Duration = Duration::from_secs(30);
/// How long a poller pauses when its source or function is missing, before it looks again.
const PROBLEM_PAUSE: Duration = Duration::from_secs(2);

/// What the pollers need from the server.
#[derive(Debug, Clone)]
pub struct PollerSettings {
    /// The base URL SNS envelopes name (failure records published to a topic).
    pub base_url: String,
}

impl Functions {
    /// Runs the pollers of every enabled mapping until `shutdown` resolves.
    pub fn spawn_pollers(
        self: &Arc<Self>,
        settings: PollerSettings,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        let functions = self.clone();
        tokio::spawn(async move {
            let mut changes = functions.watch_mappings();
            let mut running: HashMap<String, (MappingRecord, JoinHandle<()>)> = HashMap::new();
            tokio::pin!(shutdown);
            loop {
                let wanted: HashMap<String, MappingRecord> = functions
                    .all_mappings()
                    .into_iter()
                    .filter(|m| m.enabled)
                    .map(|m| (m.uuid.clone(), m))
                    .collect();
                let stale: Vec<String> = running
                    .iter()
                    .filter(|(uuid, (record, _))| wanted.get(*uuid) != Some(record))
                    .map(|(uuid, _)| uuid.clone())
                    .collect();
                for uuid in stale {
                    if let Some((_, task)) = running.remove(&uuid) {
                        task.abort();
                        // Ends once the poller is dropped (its workers with it).
                        let _ = task.await;
                    }
                }
                for (uuid, record) in wanted {
                    if running.contains_key(&uuid) {
                        continue;
                    }
                    let task = tokio::spawn(poll(functions.clone(), record.clone(), settings.clone()));
                    running.insert(uuid, (record, task));
                }
                functions.set_polling(running.keys().cloned().collect());
                tokio::select! {
                    () = &mut shutdown => break,
                    changed = changes.changed() => if changed.is_err() { break },
                }
            }
            for (_, (_, task)) in running {
                task.abort();
            }
            functions.set_polling(Default::default());
        })
    }
}

async fn poll(functions: Arc<Functions>, mapping: MappingRecord, settings: PollerSettings) {
    match mapping.kind {
        super::SourceKind::Sqs => sqs::run(functions, mapping).await,
        super::SourceKind::Kinesis => kinesis::run(functions, mapping, settings).await,
    }
}

/// A mapping's filters, parsed (they were checked when the mapping was saved).
fn filters(mapping: &MappingRecord) -> Vec<FilterPolicy> {
    mapping
        .filters
        .iter()
        .filter_map(|p| FilterPolicy::parse(p, FilterScope::MessageBody).ok())
        .collect()
}

/// Whether a record passes: no filters, or any matches. `data` is the record's payload as the
/// filter sees it (`body` for SQS, `data` for Kinesis): parsed JSON when it is JSON, else text.
fn passes(filters: &[FilterPolicy], record: &Value, payload_member: &str, payload: &[u8]) -> bool {
    if filters.is_empty() {
        return true;
    }
    let mut doc = record.clone();
    let decoded = serde_json::from_slice::<Value>(payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into_owned()));
    if let Some(obj) = doc.as_object_mut() {
        obj.insert(payload_member.to_string(), decoded);
    }
    filters.iter().any(|f| f.matches_body(&doc))
}

/// Sends a failure record to a mapping's on-failure destination (an SQS queue or SNS topic).
fn send_failure(functions: &Functions, destination: &str, settings: &PollerSettings, record: &Value) -> bool {
    let body = record.to_string();
    if let Some(queue) = QueueKey::from_arn(destination) {
        let message = NewMessage {
            body,
            sender_id: crate::topic::SNS_SENDER_ID.to_string(),
            ..NewMessage::default()
        };
        return match functions.queues.send(&queue, vec![message]) {
            Ok(results) => results.into_iter().all(|r| r.is_ok()),
            Err(e) => {
                tracing::warn!(destination, error = %e, "failure record not sent");
                false
            }
        };
    }
    if let Some(topic) = TopicKey::from_arn(destination) {
        let message = PublishMessage {
            message: body,
            subject: None,
            json_structure: false,
            attributes: Default::default(),
            group_id: None,
            deduplication_id: None,
        };
        let ctx = PublishContext {
            base_url: settings.base_url.clone(),
            cross_account_check: None,
        };
        return match functions.topics.publish(&topic, vec![message], &ctx) {
            Ok(results) => results.into_iter().all(|r| r.is_ok()),
            Err(e) => {
                tracing::warn!(destination, error = %e, "failure record not published");
                false
            }
        };
    }
    false
}
