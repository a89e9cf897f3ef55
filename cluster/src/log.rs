//! The replicated commit log on a JetStream stream: [`JetStreamLog`] is the writer's
//! [`CommitLog`], and [`LogReader`] is how a standby follows it.
//!
//! One stream (`SLUICE_LOG` by default, 3 replicas, file storage) on one subject holds every
//! entry; an entry's JetStream sequence is its log position. Every append states the position
//! it expects to follow (`Nats-Expected-Last-Sequence`) and carries an id unique to this writer
//! (`Nats-Msg-Id`): a retry after a lost answer is recognised as the duplicate it is and tells
//! the writer where its entry went, and an append after another node's epoch marker is refused,
//! so a paused or partitioned old writer cannot get a single write through.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_nats::jetstream::context::{Context, PublishErrorKind};
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
}

impl LogLocation {
    /// Creates the stream if it does not exist yet, and returns it.
    pub async fn ensure(&self, js: &Context) -> Result<Stream, ClusterError> {
        let config = Config {
            name: self.stream.clone(),
            subjects: vec![self.subject.clone()],
            num_replicas: self.replicas,
            storage: StorageType::File,
            max_message_size: i32::try_from(self.max_entry_bytes).unwrap_or(i32::MAX),
            // Long enough for a writer to learn the fate of an append across a leader election.
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        };
        js.get_or_create_stream(config)
            .await
            .map_err(|e| ClusterError::Nats(format!("creating the log stream {}: {e}", self.stream)))
    }
}

/// The writer's side of the log: appends entries, fenced by the position it expects.
pub struct JetStreamLog {
    js: Context,
    location: LogLocation,
    runtime: Handle,
    /// Bounds how long an append keeps retrying before its fate is declared unknown.
    append_timeout: Duration,
    /// Ids are `{node}-{epoch}-{counter}`: unique across writers and terms.
    id_prefix: String,
    state: Mutex<AppendState>,
    /// Set when this node stops being the writer: an append still retrying gives up.
    abandoned: AtomicBool,
}

/// What the writer knows of the log's end.
struct AppendState {
    /// The position of the last entry this writer knows the log holds.
    last: u64,
    /// Appends made in this term.
    counter: u64,
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
            state: Mutex::new(AppendState { last, counter: 0 }),
            abandoned: AtomicBool::new(false),
        }
    }

    /// This node is no longer the writer: appends stop retrying and fail.
    pub fn abandon(&self) {
        self.abandoned.store(true, Ordering::SeqCst);
    }

    /// One publish of `payload` under `id`, expecting the log to end at `expected`.
    async fn publish_once(&self, payload: Bytes, id: &str, expected: u64) -> Result<u64, Attempt> {
        let message = PublishMessage::build()
            .payload(payload)
            .message_id(id)
            .expected_last_sequence(expected);
        let attempt = async {
            let ack = self
                .js
                .send_publish(self.location.subject.clone(), message)
                .await
                .map_err(|e| classify(e.kind(), e.to_string()))?;
            ack.await
                .map(|ack| ack.sequence)
                .map_err(|e| classify(e.kind(), e.to_string()))
        };
        match tokio::time::timeout(PUBLISH_TIMEOUT, attempt).await {
            Ok(result) => result,
            Err(_) => Err(Attempt::Retry("no acknowledgement in time".into())),
        }
    }
}

/// How one publish ended, when it did not store the entry.
enum Attempt {
    /// Another writer appended: stop.
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
    fn append(&self, entry: &[u8]) -> Result<u64, LogError> {
        // Handle::block_on would panic inside a current-thread runtime's task; the server runs
        // the multi-thread runtime, and commits there block in place first.
        if Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::CurrentThread) {
            return Err(LogError::Unavailable(
                "cluster mode needs the multi-thread runtime".into(),
            ));
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.counter += 1;
        let id = format!("{}-{}", self.id_prefix, state.counter);
        let expected = state.last;
        let payload = Bytes::copy_from_slice(entry);
        let deadline = Instant::now() + self.append_timeout;
        loop {
            // A retry carries the same id and expectation: if the first try was stored, the
            // log answers it as a duplicate with the entry's position.
            match self.runtime.block_on(self.publish_once(payload.clone(), &id, expected)) {
                Ok(position) => {
                    state.last = position;
                    return Ok(position);
                }
                Err(Attempt::Fenced(why)) => return Err(LogError::Fenced(why)),
                Err(Attempt::Refused(why)) => return Err(LogError::Refused(why)),
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

    fn max_entry_bytes(&self) -> usize {
        self.location.max_entry_bytes
    }
}
