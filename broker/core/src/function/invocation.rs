//! A function's invocation queue: callers put invocations in, handlers take them out.
//!
//! Callers are Invoke and the event-source pollers; handlers are the user's processes polling
//! the Runtime API (`/invocation/next`). An invocation waits in the queue until a handler
//! takes it (at most `pickup` long), then the function's timeout runs from the moment it was
//! taken, as on AWS, where the timeout covers the handler's run and not a cold start.
//!
//! # Invariants
//! - Every invocation ends exactly once: with the handler's response or error, or with a
//!   timeout decided by the caller, which then forgets it, so a late answer finds nothing
//!   (the Runtime API tells that handler its request id is unknown).
//! - A handler that went away while waiting takes nothing: invocations are handed out only
//!   to a handler whose `next` call is still being awaited.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{oneshot, Notify};

use crate::clock::Clock;

/// How often waiting handlers and pollers re-check, so a wake-up lost to a cancelled waiter
/// delays work by at most this long.
const RECHECK: Duration = Duration::from_secs(1);

/// One invocation as a handler receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// The event.
    pub payload: Bytes,
    /// `Lambda-Runtime-Deadline-Ms`: epoch ms by which the handler must answer.
    pub deadline_ms: u64,
    /// `Lambda-Runtime-Client-Context`, base64 JSON, when the caller sent one.
    pub client_context: Option<String>,
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The handler returned this payload.
    Success(Bytes),
    /// The handler reported an error: its JSON (`errorMessage`, `errorType`, `stackTrace`).
    Error(Bytes),
    /// A handler took it and did not answer within the function's timeout.
    TimedOut {
        /// The timeout, seconds.
        after_secs: u32,
    },
    /// No handler took it in time.
    NoHandler,
}

impl Outcome {
    /// The error document Lambda returns for a timeout.
    pub fn timeout_document(after_secs: u32) -> Bytes {
        let doc = serde_json::json!({
            "errorMessage": format!("Task timed out after {after_secs}.00 seconds"),
            "errorType": "Sandbox.Timedout",
        });
        Bytes::from(doc.to_string())
    }
}

struct Queued {
    invocation: Invocation,
    timeout_secs: u32,
    taken: oneshot::Sender<()>,
    reply: oneshot::Sender<Outcome>,
}

/// A function's invocation queue.
pub struct Hub {
    clock: Clock,
    queued: Mutex<VecDeque<Queued>>,
    in_flight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    /// Wakes a handler waiting in `next`.
    work: Notify,
    /// Wakes callers waiting for a handler (pollers do, so they never take messages that no
    /// handler can run).
    handler_waiting: Notify,
    waiting: AtomicUsize,
    /// Idle handlers promised to pollers ([`Hub::reserve`]).
    reserved: Mutex<usize>,
}

/// An idle handler promised to one poller; given back when its invocation is taken or when
/// dropped unused.
pub struct Slot<'a> {
    hub: &'a Hub,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.hub.release();
    }
}

/// Removes an invocation from the queue and the in-flight table when its caller is done.
struct Forget<'a> {
    hub: &'a Hub,
    request_id: &'a str,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.hub
            .queued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|q| q.invocation.request_id != self.request_id);
        self.hub
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(self.request_id);
    }
}

/// Decrements the waiting-handler count when a `next` call ends, however it ends.
struct WaitingGuard<'a>(&'a AtomicUsize);

impl Drop for WaitingGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Hub {
    /// An empty queue.
    pub fn new(clock: Clock) -> Hub {
        Hub {
            clock,
            queued: Mutex::new(VecDeque::new()),
            in_flight: Mutex::new(HashMap::new()),
            work: Notify::new(),
            handler_waiting: Notify::new(),
            waiting: AtomicUsize::new(0),
            reserved: Mutex::new(0),
        }
    }

    /// Handlers currently waiting for work.
    pub fn handlers_waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Invocations waiting for a handler.
    pub fn queued(&self) -> usize {
        self.queued.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Returns once at least one handler waits for work.
    pub async fn handler_ready(&self) {
        loop {
            if self.handlers_waiting() > 0 {
                return;
            }
            let _ = tokio::time::timeout(RECHECK, self.handler_waiting.notified()).await;
        }
    }

    /// Waits until a handler is idle and not promised to another poller, and promises it to
    /// the caller until the caller's invocation is taken (or the slot is dropped unused). A
    /// poller takes records from its source only with a slot, so records never wait for a
    /// handler that is busy with someone else's batch.
    pub async fn reserve(&self) -> Slot<'_> {
        loop {
            {
                let mut reserved = self.reserved.lock().unwrap_or_else(|p| p.into_inner());
                let queued = self.queued();
                if self.handlers_waiting() > *reserved + queued {
                    *reserved += 1;
                    return Slot { hub: self };
                }
            }
            let _ = tokio::time::timeout(RECHECK, self.handler_waiting.notified()).await;
        }
    }

    fn release(&self) {
        let mut reserved = self.reserved.lock().unwrap_or_else(|p| p.into_inner());
        *reserved = reserved.saturating_sub(1);
        drop(reserved);
        // Another poller may now have its turn.
        self.handler_waiting.notify_waiters();
    }

    /// Runs one invocation: queues it, waits up to `pickup` for a handler to take it and then
    /// up to `timeout_secs` for its answer. A `slot` from [`Hub::reserve`] is given back as
    /// soon as a handler takes the invocation.
    pub async fn invoke(
        &self,
        payload: Bytes,
        timeout_secs: u32,
        client_context: Option<String>,
        pickup: Duration,
    ) -> Outcome {
        self.invoke_with(payload, timeout_secs, client_context, pickup, None)
            .await
    }

    /// [`Hub::invoke`] holding `slot` until the invocation is taken.
    pub async fn invoke_reserved(
        &self,
        payload: Bytes,
        timeout_secs: u32,
        pickup: Duration,
        slot: Slot<'_>,
    ) -> Outcome {
        self.invoke_with(payload, timeout_secs, None, pickup, Some(slot)).await
    }

    async fn invoke_with(
        &self,
        payload: Bytes,
        timeout_secs: u32,
        client_context: Option<String>,
        pickup: Duration,
        slot: Option<Slot<'_>>,
    ) -> Outcome {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (taken_tx, mut taken_rx) = oneshot::channel();
        let (reply_tx, mut reply_rx) = oneshot::channel();
        let invocation = Invocation {
            request_id: request_id.clone(),
            payload,
            deadline_ms: 0,
            client_context,
        };
        self.queued.lock().unwrap_or_else(|p| p.into_inner()).push_back(Queued {
            invocation,
            timeout_secs,
            taken: taken_tx,
            reply: reply_tx,
        });
        // Whatever ends this call (an answer, a timeout, the caller dropping the future), the
        // invocation leaves the queue and the in-flight table with it.
        let _forget = Forget {
            hub: self,
            request_id: &request_id,
        };
        self.work.notify_one();
        // The receiver is borrowed, not consumed, so a handler taking it during the timeout
        // still sees a live caller; the queue's lock then decides who won.
        if tokio::time::timeout(pickup, &mut taken_rx).await.is_err() {
            let mut queued = self.queued.lock().unwrap_or_else(|p| p.into_inner());
            let before = queued.len();
            queued.retain(|q| q.invocation.request_id != request_id);
            if queued.len() < before {
                return Outcome::NoHandler;
            }
            // Taken between the timeout and the lock: wait for its answer as usual.
        }
        drop(slot);
        let limit = Duration::from_secs(u64::from(timeout_secs));
        match tokio::time::timeout(limit, &mut reply_rx).await {
            Ok(Ok(outcome)) => outcome,
            // The reply was dropped unanswered: nobody ran it.
            Ok(Err(_)) => Outcome::NoHandler,
            Err(_) => {
                self.in_flight
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&request_id);
                // An answer may have landed between the timeout and the removal.
                reply_rx.try_recv().unwrap_or(Outcome::TimedOut {
                    after_secs: timeout_secs,
                })
            }
        }
    }

    /// Waits for the next invocation (a handler's `/invocation/next`).
    pub async fn next(&self) -> Invocation {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _guard = WaitingGuard(&self.waiting);
        self.handler_waiting.notify_waiters();
        loop {
            if let Some(invocation) = self.take() {
                return invocation;
            }
            let _ = tokio::time::timeout(RECHECK, self.work.notified()).await;
        }
    }

    /// Takes the oldest invocation whose caller still waits, and marks it in flight.
    fn take(&self) -> Option<Invocation> {
        let mut queued = self.queued.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(q) = queued.pop_front() {
            if q.reply.is_closed() || q.taken.send(()).is_err() {
                continue;
            }
            let mut invocation = q.invocation;
            invocation.deadline_ms = self.clock.now_ms() + u64::from(q.timeout_secs) * 1000;
            self.in_flight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(invocation.request_id.clone(), q.reply);
            return Some(invocation);
        }
        None
    }

    /// Ends an in-flight invocation with `outcome`; false when the request id is unknown
    /// (never issued, already answered, or timed out).
    pub fn complete(&self, request_id: &str, outcome: Outcome) -> bool {
        let reply = self
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(request_id);
        match reply {
            Some(reply) => reply.send(outcome).is_ok(),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_handler_answers_an_invocation() {
        let hub = Arc::new(Hub::new(Clock::new()));
        let handler = {
            let hub = hub.clone();
            tokio::spawn(async move {
                let inv = hub.next().await;
                assert!(hub.complete(&inv.request_id, Outcome::Success(Bytes::from("ok"))));
                // A second answer for the same id finds nothing.
                assert!(!hub.complete(&inv.request_id, Outcome::Success(Bytes::from("again"))));
                inv
            })
        };
        let outcome = hub.invoke(Bytes::from("{}"), 3, None, Duration::from_secs(5)).await;
        assert_eq!(outcome, Outcome::Success(Bytes::from("ok")));
        let inv = handler.await.unwrap();
        assert_eq!(inv.payload, Bytes::from("{}"));
        assert!(inv.deadline_ms > 0);
    }

    #[tokio::test(start_paused = true)]
    async fn nobody_takes_it() {
        let hub = Hub::new(Clock::new());
        let outcome = hub.invoke(Bytes::from("{}"), 3, None, Duration::from_secs(2)).await;
        assert_eq!(outcome, Outcome::NoHandler);
        assert_eq!(hub.queued(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_handler_times_out_and_its_late_answer_is_refused() {
        let hub = Arc::new(Hub::new(Clock::new()));
        let taker = {
            let hub = hub.clone();
            tokio::spawn(async move { hub.next().await })
        };
        let outcome = hub.invoke(Bytes::from("{}"), 1, None, Duration::from_secs(5)).await;
        assert_eq!(outcome, Outcome::TimedOut { after_secs: 1 });
        let inv = taker.await.unwrap();
        assert!(!hub.complete(&inv.request_id, Outcome::Success(Bytes::new())));
    }

    #[tokio::test(start_paused = true)]
    async fn slots_promise_each_idle_handler_once() {
        let hub = Arc::new(Hub::new(Clock::new()));
        let waiter = {
            let hub = hub.clone();
            tokio::spawn(async move { hub.next().await })
        };
        let slot = hub.reserve().await;
        // One idle handler, promised: a second reservation waits.
        let second = tokio::time::timeout(Duration::from_secs(3), hub.reserve()).await;
        assert!(second.is_err(), "one idle handler is promised once");
        drop(slot);
        let again = tokio::time::timeout(Duration::from_secs(3), hub.reserve()).await;
        assert!(again.is_ok(), "a dropped slot frees the handler");
        waiter.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_call_leaves_nothing_behind() {
        let hub = Arc::new(Hub::new(Clock::new()));
        let call = {
            let hub = hub.clone();
            tokio::spawn(async move { hub.invoke(Bytes::from("{}"), 3, None, Duration::from_secs(60)).await })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(hub.queued(), 1);
        call.abort();
        let _ = call.await;
        assert_eq!(hub.queued(), 0, "the caller went away: the invocation is forgotten");
    }

    #[tokio::test(start_paused = true)]
    async fn handler_ready_waits_for_a_handler() {
        let hub = Arc::new(Hub::new(Clock::new()));
        let ready = {
            let hub = hub.clone();
            tokio::spawn(async move { hub.handler_ready().await })
        };
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(!ready.is_finished());
        let waiter = {
            let hub = hub.clone();
            tokio::spawn(async move { hub.next().await })
        };
        ready.await.unwrap();
        assert_eq!(hub.handlers_waiting(), 1);
        waiter.abort();
        let _ = waiter.await;
        assert_eq!(hub.handlers_waiting(), 0);
    }
}
