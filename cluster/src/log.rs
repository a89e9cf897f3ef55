//! The replicated commit log on a JetStream stream: [`JetStreamLog`] is the writer's
//! [`CommitLog`]; a standby follows the same stream (see [`crate::node`]).
//!
//! One stream (`SLUICE_LOG` by default, 3 replicas, file storage) on one subject holds every
//! entry; an entry's JetStream sequence is its log position. Every append states the position
//! it expects to follow (`Nats-Expected-Last-Sequence`) and carries an id unique to this writer
//! (`Nats-Msg-Id`): a retry after a lost answer is recognised as the duplicate it is and tells
//! the writer where its entry went, and an append after another node's epoch marker is refused,
//! so a paused or partitioned old writer cannot get a single write through.
//!
//! Appends are pipelined: the writer knows the position each entry will take (one after the
//! last it sent), so it sends the next before the previous is acknowledged. A refused
//! expectation is then ambiguous: another writer appended, or this writer's previous entry is
//! not stored yet (its publish was lost in a leader change and is being retried). The append
//! waits for its predecessor's fate and is sent again once that entry is confirmed; refused
//! then, it was fenced.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::context::{Context, PublishAckFuture, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{Config, StorageType, Stream};
use bytes::Bytes;
use sluice_storage::{CommitLog, LogError};
use tokio::runtime::{Handle, RuntimeFlavor};

use crate::ClusterError;

/// How long one publish may wait for its acknowledgement before it is retried.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause between retries of an append.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// Where the log lives in JetStream.
#[derive(Debug, Clone)]
pub struct LogLocation {
    /// Stream name.
    pub stream: String,
    /// The one subject the stream holds.
    pub subject: String,
    /// Replicas (3 in production; the stream's Raft group).
    pub replicas: usize,
    /// Largest entry the stream accepts (the servers' `max_payload` must allow it).
    pub max_entry_bytes: usize,
    /// Appends the writer keeps in flight at once (see [`CommitLog::window`]).
    pub window: usize,
    /// The least time between two appends while commits keep coming (see
    /// [`CommitLog::linger`]).
    pub linger: Duration,
}

impl LogLocation {
    /// Creates the stream if it does not exist yet, and returns it.
    pub async fn ensure(&self, js: &Context) -> Result<Stream, ClusterError> {
        let config = Config {
            name: self.stream.clone(),
            subjects: vec![self.subject.clone()],
            num_replicas: self.replicas,
            storage: StorageType::File,
            // An entry of the largest size still carries its headers (id, expected position).
            max_message_size: i32::try_from(self.max_entry_bytes + 1024).unwrap_or(i32::MAX),
            // Long enough for a writer to learn the fate of an append across a leader election.
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        };
        js.get_or_create_stream(config)
            .await
            .map_err(|e| ClusterError::Nats(format!("creating the log stream {}: {e}", self.stream)))
    }
}

/// The writer's side of the log: sends entries one after another without waiting, each
/// fenced by the position it expects to follow, and learns their fates in any order.
pub struct JetStreamLog {
    js: Context,
    location: LogLocation,
    runtime: Handle,
    /// Bounds how long an append keeps retrying before its fate is declared unknown.
    append_timeout: Duration,
    /// Ids are `{node}-{epoch}-{position}`: unique across writers and terms.
    id_prefix: String,
    /// Entries sent and not yet waited for, by position.
    sent: Mutex<Sent>,
    /// What the log is known to hold; appends waiting on an earlier one's fate watch it.
    acks: Mutex<Acks>,
    acked: Condvar,
    /// Set when this node stops being the writer: an append still retrying gives up.
    abandoned: AtomicBool,
}

/// The entries this writer has sent.
struct Sent {
    /// The position of the last entry sent (at first, the epoch marker's).
    last: u64,
    in_flight: HashMap<u64, InFlight>,
}

/// One entry sent and not yet confirmed.
struct InFlight {
    payload: Bytes,
    id: String,
    /// The first publish's acknowledgement; `None` when that publish failed to go out.
    ack: Option<PublishAckFuture>,
    /// Whether the entry before it was confirmed when it was sent: then a refusal of its
    /// expected position can only mean another writer appended.
    after_confirmed: bool,
}

/// Which positions the log is known to hold, and the first that failed.
struct Acks {
    /// Every position up to this one is confirmed.
    through: u64,
    /// Confirmed positions beyond `through` (answers come back in any order).
    ahead: BTreeSet<u64>,
    /// The first position whose append failed: nothing at or after it will be confirmed.
    failed_from: Option<u64>,
}

impl Acks {
    fn confirmed(&self, position: u64) -> bool {
        position <= self.through || self.ahead.contains(&position)
    }

    fn confirm(&mut self, position: u64) {
        self.ahead.insert(position);
        while self.ahead.remove(&(self.through + 1)) {
            self.through += 1;
        }
    }
}

/// The fate of the entry before one whose expected position was refused.
enum Predecessor {
    Confirmed,
    Failed,
    Unknown,
}

impl JetStreamLog {
    /// A writer that takes over after position `last` (its own epoch marker), in `runtime`.
    pub fn new(
        js: Context,
        location: LogLocation,
        runtime: Handle,
        node_id: &str,
        last: u64,
        append_timeout: Duration,
    ) -> JetStreamLog {
        JetStreamLog {
            js,
            location,
            runtime,
            append_timeout,
            id_prefix: format!("{node_id}-{last}"),
            sent: Mutex::new(Sent {
                last,
                in_flight: HashMap::new(),
            }),
            acks: Mutex::new(Acks {
                through: last,
                ahead: BTreeSet::new(),
                failed_from: None,
            }),
            acked: Condvar::new(),
            abandoned: AtomicBool::new(false),
        }
    }

    /// This node is no longer the writer: appends stop retrying and fail.
    pub fn abandon(&self) {
        self.abandoned.store(true, Ordering::SeqCst);
        self.acked.notify_all();
    }

    /// The publish of `payload` under `id`, expecting the log to end at `expected`; resolves
    /// once the publish is on its way, to its acknowledgement.
    async fn send_once(&self, payload: Bytes, id: &str, expected: u64) -> Result<PublishAckFuture, Attempt> {
        let message = PublishMessage::build()
            .payload(payload)
            .message_id(id)
            .expected_last_sequence(expected);
        self.js
            .send_publish(self.location.subject.clone(), message)
            .await
            .map_err(|e| classify(e.kind(), e.to_string()))
    }

    /// Waits (bounded) for one publish's acknowledgement: the position it was stored at.
    async fn acknowledged(ack: PublishAckFuture) -> Result<u64, Attempt> {
        match tokio::time::timeout(PUBLISH_TIMEOUT, ack).await {
            Ok(result) => result
                .map(|ack| ack.sequence)
                .map_err(|e| classify(e.kind(), e.to_string())),
            Err(_) => Err(Attempt::Retry("no acknowledgement in time".into())),
        }
    }

    fn locked_acks(&self) -> std::sync::MutexGuard<'_, Acks> {
        self.acks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the fate of the append at `position` for the appends behind it.
    fn settle(&self, position: u64, stored: bool) {
        let mut acks = self.locked_acks();
        match stored {
            true => acks.confirm(position),
            false => {
                acks.failed_from = Some(acks.failed_from.map_or(position, |f| f.min(position)));
            }
        }
        self.acked.notify_all();
    }

    /// Waits, until `deadline` at most, for the fate of the append at `position`.
    fn predecessor(&self, position: u64, deadline: Instant) -> Predecessor {
        let mut acks = self.locked_acks();
        loop {
            if acks.confirmed(position) {
                return Predecessor::Confirmed;
            }
            if acks.failed_from.is_some_and(|f| f <= position) || self.abandoned.load(Ordering::SeqCst) {
                return Predecessor::Failed;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Predecessor::Unknown;
            }
            acks = self.acked.wait_timeout(acks, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// Follows one sent entry until the log holds it at `position`, or its fate is settled
    /// otherwise (see [`CommitLog::wait`]).
    fn follow(&self, position: u64, flight: InFlight) -> Result<(), LogError> {
        let InFlight {
            payload,
            id,
            mut ack,
            mut after_confirmed,
        } = flight;
        let expected = position - 1;
        let deadline = Instant::now() + self.append_timeout;
        loop {
            // A retry carries the same id and expectation: if an earlier try was stored, the
            // log answers it as a duplicate with the entry's position.
            let attempt = self.runtime.block_on(async {
                let pending = match ack.take() {
                    Some(pending) => pending,
                    None => self.send_once(payload.clone(), &id, expected).await?,
                };
                Self::acknowledged(pending).await
            });
            match attempt {
                Ok(stored) if stored == position => return Ok(()),
                Ok(stored) => {
                    return Err(LogError::Unavailable(format!(
                        "append {id} was stored at {stored}, not at {position}"
                    )))
                }
                Err(Attempt::Fenced(why)) if after_confirmed => return Err(LogError::Fenced(why)),
                // The entry before this one may not be stored yet (its publish was lost, or is
                // being retried): once it is, this one is sent again.
                Err(Attempt::Fenced(why)) => match self.predecessor(expected, deadline) {
                    Predecessor::Confirmed => after_confirmed = true,
                    Predecessor::Failed => {
                        return Err(LogError::Unavailable(format!(
                            "append {id}: an earlier append failed ({why})"
                        )))
                    }
                    Predecessor::Unknown => {
                        return Err(LogError::Unavailable(format!(
                            "append {id}: the append before it went unanswered for {:?}",
                            self.append_timeout
                        )))
                    }
                },
                Err(Attempt::Refused(why)) => return Err(LogError::Unavailable(format!("append {id}: {why}"))),
                Err(Attempt::Retry(why)) if self.abandoned.load(Ordering::SeqCst) => {
                    return Err(LogError::Unavailable(format!(
                        "append {id} abandoned: this node is no longer the writer ({why})"
                    )))
                }
                Err(Attempt::Retry(why)) if Instant::now() >= deadline => {
                    return Err(LogError::Unavailable(format!(
                        "append {id} unanswered for {:?}: {why}",
                        self.append_timeout
                    )))
                }
                Err(Attempt::Retry(why)) => {
                    tracing::warn!(id = %id, error = %why, "log append not acknowledged; retrying");
                    std::thread::sleep(RETRY_PAUSE);
                }
            }
        }
    }
}

/// How one publish ended, when it did not store the entry.
enum Attempt {
    /// The log does not end where the publish expected: another writer appended, or an
    /// earlier entry of this writer is not stored yet.
    Fenced(String),
    /// Not stored, and retrying cannot help (too large for the servers).
    Refused(String),
    /// No answer or a transient error: the same publish may be retried.
    Retry(String),
}

/// Sorts a publish error by what the writer must do about it.
fn classify(kind: PublishErrorKind, why: String) -> Attempt {
    match kind {
        PublishErrorKind::WrongLastSequence => Attempt::Fenced(why),
        PublishErrorKind::MaxPayloadExceeded => Attempt::Refused(why),
        _ => Attempt::Retry(why),
    }
}

impl CommitLog for JetStreamLog {
    fn end(&self) -> u64 {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).last
    }

    fn send(&self, entry: &[u8]) -> Result<u64, LogError> {
        // Handle::block_on would panic inside a current-thread runtime's task; the server runs
        // the multi-thread runtime, and commits there block in place first.
        if Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::CurrentThread) {
            return Err(LogError::Unavailable(
                "cluster mode needs the multi-thread runtime".into(),
            ));
        }
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        let position = sent.last + 1;
        let id = format!("{}-{}", self.id_prefix, position);
        let payload = Bytes::copy_from_slice(entry);
        let after_confirmed = self.locked_acks().confirmed(position - 1);
        // Publishes leave on one connection in the order they are made: each entry reaches
        // the log after the one it expects to follow.
        let ack = match self
            .runtime
            .block_on(self.send_once(payload.clone(), &id, position - 1))
        {
            Ok(ack) => Some(ack),
            // The client refused it before it left: no position is used.
            Err(Attempt::Refused(why)) => return Err(LogError::Refused(why)),
            // It may or may not have left: `wait` sends it again under the same id.
            Err(_) => None,
        };
        sent.last = position;
        sent.in_flight.insert(
            position,
            InFlight {
                payload,
                id,
                ack,
                after_confirmed,
            },
        );
        Ok(position)
    }

    fn wait(&self, position: u64) -> Result<(), LogError> {
        let flight = self
            .sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .in_flight
            .remove(&position);
        let Some(flight) = flight else {
            return Err(LogError::Unavailable(format!(
                "no append in flight at position {position}"
            )));
        };
        let result = self.follow(position, flight);
        self.settle(position, result.is_ok());
        result
    }

    fn max_entry_bytes(&self) -> usize {
        self.location.max_entry_bytes
    }

    fn window(&self) -> usize {
        self.location.window
    }

    fn linger(&self) -> Duration {
        self.location.linger
    }
}
