//! Asynchronous invocations (`Invoke` with `InvocationType: Event`), kept durably until a
//! handler ran them, as AWS's asynchronous queue does.
//!
//! # Rules (AWS's)
//! - The caller gets 202 once the event is stored; a restart does not lose it.
//! - A function error or timeout is retried twice, one minute and then two minutes later.
//!   Waiting for a handler is not an attempt.
//! - An event still not handled after its retries, or older than six hours, goes to the
//!   function's DeadLetterConfig target (an SQS queue or SNS topic) with AWS's attributes
//!   (`RequestID`, `ErrorCode`, `ErrorMessage`), else it is dropped and logged.
//!
//! # Invariants
//! - An event is deleted only after a handler succeeded or the dead-letter target took it.
//! - One delivery at a time per event (the worker's in-flight set).

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sluice_storage::key::KeyBuf;
use sluice_storage::Cf;

use super::{encode, FunctionError, FunctionKey, Functions, Outcome, Result};
use crate::queue::message::{MessageAttribute, NewMessage};
use crate::queue::QueueKey;
use crate::topic::{PublishContext, PublishMessage, TopicKey};

/// Meta key prefix of stored asynchronous invocations: sequence (u64).
pub(super) const EVENT_PREFIX: u8 = 0x83;
/// Retries after the first attempt.
const RETRIES: u32 = 2;
/// The longest an event is kept.
const MAX_AGE_MS: u64 = 6 * 3600 * 1000;
/// How long one attempt waits for a handler before the event waits again.
const PICKUP: Duration = Duration::from_secs(10);
/// How often the worker looks for due events besides being woken.
const TICK: Duration = Duration::from_secs(1);
/// Most events kept per function; more are throttled.
pub const MAX_EVENTS_PER_FUNCTION: usize = 100_000;

/// One stored asynchronous invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsyncEvent {
    /// The function.
    pub function: FunctionKey,
    /// The id the caller could see in logs.
    pub request_id: String,
    /// The event, JSON text.
    pub payload: String,
    /// When it was accepted, epoch ms.
    pub enqueued_ms: u64,
    /// Attempts that reached a handler and failed.
    pub failures: u32,
    /// When the next attempt is due, epoch ms.
    pub due_ms: u64,
    /// The last failure, for the dead-letter attributes.
    pub last_error: Option<String>,
}

impl Functions {
    /// Stores an asynchronous invocation of `key` and wakes the worker; its request id.
    pub fn enqueue_event(&self, key: &FunctionKey, payload: &[u8]) -> Result<String> {
        self.get_function(key)?;
        let waiting = self.events_of(key)?;
        if waiting >= MAX_EVENTS_PER_FUNCTION {
            return Err(FunctionError::TooManyRequests(format!(
                "Rate Exceeded. {MAX_EVENTS_PER_FUNCTION} asynchronous invocations already wait for this function"
            )));
        }
        let now = self.clock.now_ms();
        let event = AsyncEvent {
            function: key.clone(),
            request_id: uuid::Uuid::new_v4().to_string(),
            payload: String::from_utf8_lossy(payload).into_owned(),
            enqueued_ms: now,
            failures: 0,
            due_ms: now,
            last_error: None,
        };
        let seq = self.event_seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut batch = self.store.batch();
        batch.put(Cf::Meta, &KeyBuf::new(EVENT_PREFIX).u64(seq).finish(), &encode(&event)?);
        self.store.commit(batch)?;
        self.events_waiting.notify_one();
        Ok(event.request_id)
    }

    fn events_of(&self, key: &FunctionKey) -> Result<usize> {
        Ok(self.stored_events()?.iter().filter(|(_, e)| &e.function == key).count())
    }

    fn stored_events(&self) -> Result<Vec<(Vec<u8>, AsyncEvent)>> {
        let mut events = Vec::new();
        self.store.for_each_prefix(Cf::Meta, &[EVENT_PREFIX], |k, v| {
            if let Ok(event) = serde_json::from_slice::<AsyncEvent>(v) {
                events.push((k.to_vec(), event));
            }
            true
        })?;
        Ok(events)
    }

    /// Delivers stored asynchronous invocations until `shutdown` resolves.
    pub fn spawn_async_invoker(
        self: &Arc<Self>,
        settings: super::PollerSettings,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let functions = self.clone();
        tokio::spawn(async move {
            let in_flight = Arc::new(std::sync::Mutex::new(HashSet::<Vec<u8>>::new()));
            let mut tasks = tokio::task::JoinSet::new();
            tokio::pin!(shutdown);
            loop {
                while tasks.try_join_next().is_some() {}
                let now = functions.clock.now_ms();
                match functions.stored_events() {
                    Ok(events) => {
                        for (key, event) in events {
                            if event.due_ms > now {
                                continue;
                            }
                            if !in_flight.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone()) {
                                continue;
                            }
                            let functions = functions.clone();
                            let in_flight = in_flight.clone();
                            let settings = settings.clone();
                            tasks.spawn(async move {
                                functions.deliver_event(&key, event, &settings).await;
                                in_flight.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
                            });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "asynchronous invocations not read"),
                }
                tokio::select! {
                    () = &mut shutdown => return,
                    () = functions.events_waiting.notified() => {}
                    () = tokio::time::sleep(TICK) => {}
                }
            }
        })
    }

    /// One attempt at an event; stores what happened.
    async fn deliver_event(&self, key: &[u8], mut event: AsyncEvent, settings: &super::PollerSettings) {
        let now = self.clock.now_ms();
        let expired = now.saturating_sub(event.enqueued_ms) > MAX_AGE_MS;
        let function = match self.get_function(&event.function) {
            Ok(f) if !expired => f,
            _ => {
                let reason = if expired {
                    "EventAgeExceeded"
                } else {
                    "FunctionNotFound"
                };
                self.dead_letter(key, &event, None, reason, settings);
                return;
            }
        };
        let hub = self.hub(&event.function);
        let slot = tokio::select! {
            slot = hub.reserve() => slot,
            () = tokio::time::sleep(PICKUP) => return,
        };
        let timeout = function.record.settings.timeout_secs;
        let outcome = hub
            .invoke_reserved(Bytes::from(event.payload.clone()), timeout, PICKUP, slot)
            .await;
        let error = match outcome {
            Outcome::Success(_) => {
                self.forget_event(key);
                return;
            }
            Outcome::NoHandler => return,
            Outcome::Error(doc) => String::from_utf8_lossy(&doc).into_owned(),
            Outcome::TimedOut { after_secs } => {
                String::from_utf8_lossy(&Outcome::timeout_document(after_secs)).into_owned()
            }
        };
        event.failures += 1;
        event.last_error = Some(error);
        if event.failures > RETRIES {
            let target = function.record.settings.dead_letter_target.clone();
            self.dead_letter(key, &event, target.as_deref(), "RetriesExhausted", settings);
            return;
        }
        // AWS waits a minute before the first retry and two before the second.
        event.due_ms = self.clock.now_ms() + u64::from(event.failures) * 60_000;
        match encode(&event) {
            Ok(value) => {
                let mut batch = self.store.batch();
                batch.put(Cf::Meta, key, &value);
                if let Err(e) = self.store.commit(batch) {
                    tracing::warn!(error = %e, "an asynchronous invocation's retry was not stored; it is retried at once");
                }
            }
            Err(e) => tracing::warn!(error = %e, "an asynchronous invocation's retry was not encoded"),
        }
    }

    /// Sends a failed event to `target` (when set) and forgets it once the target took it.
    fn dead_letter(
        &self,
        key: &[u8],
        event: &AsyncEvent,
        target: Option<&str>,
        reason: &str,
        settings: &super::PollerSettings,
    ) {
        let Some(target) = target else {
            tracing::warn!(function = %event.function.name, request = %event.request_id, reason, "an asynchronous invocation was dropped");
            self.forget_event(key);
            return;
        };
        let error = event.last_error.clone().unwrap_or_else(|| reason.to_string());
        let mut attributes = BTreeMap::new();
        for (name, value) in [
            ("RequestID", event.request_id.clone()),
            ("ErrorCode", "200".to_string()),
            ("ErrorMessage", error),
        ] {
            attributes.insert(
                name.to_string(),
                MessageAttribute {
                    data_type: "String".into(),
                    string_value: Some(value),
                    binary_value: None,
                },
            );
        }
        let sent = if let Some(queue) = QueueKey::from_arn(target) {
            let message = NewMessage {
                body: event.payload.clone(),
                attributes,
                sender_id: crate::topic::SNS_SENDER_ID.to_string(),
                ..NewMessage::default()
            };
            self.queues
                .send(&queue, vec![message])
                .is_ok_and(|r| r.iter().all(|m| m.is_ok()))
        } else if let Some(topic) = TopicKey::from_arn(target) {
            let message = PublishMessage {
                message: event.payload.clone(),
                subject: None,
                json_structure: false,
                attributes,
                group_id: None,
                deduplication_id: None,
            };
            let ctx = PublishContext {
                base_url: settings.base_url.clone(),
                cross_account_check: None,
            };
            self.topics
                .publish(&topic, vec![message], &ctx)
                .is_ok_and(|r| r.iter().all(|m| m.is_ok()))
        } else {
            false
        };
        if sent {
            self.forget_event(key);
        } else {
            tracing::warn!(function = %event.function.name, target, "the dead-letter target did not take an asynchronous invocation; it is kept");
        }
    }

    fn forget_event(&self, key: &[u8]) {
        let mut batch = self.store.batch();
        batch.delete(Cf::Meta, key);
        if let Err(e) = self.store.commit(batch) {
            tracing::warn!(error = %e, "a handled asynchronous invocation was not deleted; it may run again");
        }
    }
}
