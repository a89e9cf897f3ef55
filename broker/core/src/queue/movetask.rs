//! Message move tasks (dead-letter queue redrive): StartMessageMoveTask, CancelMessageMoveTask
//! and ListMessageMoveTasks.
//!
//! A task moves the messages that were in its source queue when it started (sequences below
//! `bound`) to an explicit destination, or back to the queue each message was dead-lettered
//! from. Each chunk is one write batch that deletes the messages from the source, writes them to
//! their destinations and updates the task's progress, so a crash never duplicates or loses a
//! message and the count stays exact. Task records live in `meta`; a task still `Running` when
//! the broker stops resumes at the next start.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sluice_storage::key::{self, KeyBuf};
use sluice_storage::{Cf, StorageError};

use super::error::{QueueError, Result};
use super::message::{message_key, StoredPayload};
use super::order::Staged;
use super::send::Part;
use super::{MsgMeta, Queue, Queues};

/// Key prefix of task records in `meta`.
const TASK_PREFIX: u8 = 0x04;
/// Messages per write batch when no rate is set.
const CHUNK: usize = 100;
/// Most tasks ListMessageMoveTasks returns.
const MAX_LISTED: usize = 10;
/// Finished tasks kept per source queue (ListMessageMoveTasks shows at most 10).
const KEEP_FINISHED: usize = 10;

/// The life cycle of a task, as ListMessageMoveTasks reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskStatus {
    /// Moving messages.
    Running,
    /// Every message present at the start was moved.
    Completed,
    /// Cancelled by CancelMessageMoveTask.
    Cancelled,
    /// Stopped by an error (see the failure reason).
    Failed,
}

impl TaskStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Running => "RUNNING",
            TaskStatus::Completed => "COMPLETED",
            TaskStatus::Cancelled => "CANCELLED",
            TaskStatus::Failed => "FAILED",
        }
    }
}

/// A task as stored and listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveTask {
    /// Order of creation (per broker), also the storage key.
    pub number: u64,
    /// Random id inside the handle.
    pub task_id: String,
    /// The dead-letter queue messages move out of.
    pub source_arn: String,
    /// Explicit destination; `None` sends each message back to its original source.
    pub destination_arn: Option<String>,
    /// Rate limit in messages per second.
    pub max_per_second: Option<u32>,
    /// Current status.
    pub status: TaskStatus,
    /// Messages moved so far.
    pub moved: u64,
    /// Messages in the source when the task started.
    pub to_move: u64,
    /// Start time, epoch ms.
    pub started_ms: u64,
    /// Why the task failed.
    pub failure_reason: Option<String>,
    /// Only messages with a sequence below this move (those present at the start).
    pub bound: u64,
}

impl MoveTask {
    /// The opaque handle clients cancel with: base64 of `{"taskId","sourceArn"}`, as AWS's.
    pub fn handle(&self) -> String {
        let doc = serde_json::json!({"taskId": self.task_id, "sourceArn": self.source_arn});
        STANDARD.encode(doc.to_string())
    }

    fn storage_key(&self) -> Vec<u8> {
        KeyBuf::new(TASK_PREFIX).u64(self.number).finish()
    }
}

fn parse_handle(handle: &str) -> Option<(String, String)> {
    let raw = STANDARD.decode(handle.trim()).ok()?;
    let doc: serde_json::Value = serde_json::from_slice(&raw).ok()?;
    Some((
        doc.get("taskId")?.as_str()?.to_string(),
        doc.get("sourceArn")?.as_str()?.to_string(),
    ))
}

/// The source queue ARN a task handle names, so CancelMessageMoveTask can be authorized against
/// that queue as AWS does. A handle Sluice did not issue, or one a client edited into something
/// that names no queue, is `ResourceNotFound` ("Task does not exist."), the answer the cancel
/// itself gives.
pub fn handle_source_arn(handle: &str) -> Result<String> {
    let (_, source_arn) = parse_handle(handle).ok_or_else(|| not_found("Task does not exist."))?;
    if super::QueueKey::from_arn(&source_arn).is_none() {
        return Err(not_found("Task does not exist."));
    }
    Ok(source_arn)
}

fn not_found(what: &str) -> QueueError {
    QueueError::ResourceNotFound(what.to_string())
}

/// Every task, by number.
#[derive(Debug, Default)]
pub struct MoveTasks {
    tasks: BTreeMap<u64, MoveTask>,
}

impl MoveTasks {
    /// Loads the stored task records.
    pub fn load(store: &sluice_storage::Store) -> Result<MoveTasks> {
        let mut tasks = BTreeMap::new();
        for (k, v) in store.scan_prefix(Cf::Meta, &[TASK_PREFIX])? {
            let task: MoveTask =
                serde_json::from_slice(&v).map_err(|e| StorageError::Corrupt(format!("move task record: {e}")))?;
            if key::read_u64(&k, 1) == Some(task.number) {
                tasks.insert(task.number, task);
            }
        }
        Ok(MoveTasks { tasks })
    }

    fn next_number(&self) -> u64 {
        self.tasks.keys().next_back().map_or(1, |n| n + 1)
    }
}

fn encode(task: &MoveTask) -> Result<Vec<u8>> {
    // Encoding is not a disk read: a failure is internal, not corruption.
    serde_json::to_vec(task).map_err(|e| QueueError::Internal(format!("encode move task: {e}")))
}

impl Queues {
    fn tasks(&self) -> std::sync::MutexGuard<'_, MoveTasks> {
        self.move_tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// StartMessageMoveTask: validates, records and starts a task; returns its handle.
    pub fn start_move_task(
        self: &Arc<Self>,
        source_arn: &str,
        destination_arn: Option<&str>,
        max_per_second: Option<u32>,
    ) -> Result<String> {
        let source = self
            .lookup_arn(source_arn)
            .ok_or_else(|| not_found("The resource that you specified for the SourceArn parameter doesn't exist."))?;
        if self.dead_letter_source_count(&source) == 0 {
            return Err(QueueError::InvalidParameterValue(
                "Source queue must be configured as a Dead Letter Queue.".into(),
            ));
        }
        if let Some(arn) = destination_arn {
            let destination = self.lookup_arn(arn).ok_or_else(|| {
                not_found("The resource that you specified for the DestinationArn parameter doesn't exist.")
            })?;
            if destination.id == source.id {
                return Err(QueueError::InvalidParameterValue(
                    "Source queue arn and destination queue arn cannot be the same.".into(),
                ));
            }
            if destination.fifo != source.fifo {
                return Err(QueueError::InvalidParameterValue(
                    "The destination queue must be of the same type (standard or FIFO) as the source queue.".into(),
                ));
            }
        }
        let task = {
            let mut tasks = self.tasks();
            if tasks
                .tasks
                .values()
                .any(|t| t.source_arn == source_arn && t.status == TaskStatus::Running)
            {
                return Err(QueueError::UnsupportedOperation(
                    "There is already a task running. Only one active task is allowed for each source queue arn at a given time.".into(),
                ));
            }
            let bound = source.next_seq.load(Ordering::Acquire);
            let to_move = {
                let index = source.index();
                let cold = if index.cold_below(bound) { index.cold_len() } else { 0 };
                index.seqs_below(bound).len() as u64 + cold
            };
            let task = MoveTask {
                number: tasks.next_number(),
                task_id: uuid::Uuid::new_v4().to_string(),
                source_arn: source_arn.to_string(),
                destination_arn: destination_arn.map(str::to_string),
                max_per_second,
                status: TaskStatus::Running,
                moved: 0,
                to_move,
                started_ms: self.clock.now_ms(),
                failure_reason: None,
                bound,
            };
            let mut batch = self.store.batch();
            batch.put(Cf::Meta, &task.storage_key(), &encode(&task)?);
            // Old finished tasks of this source beyond what List can show are forgotten.
            let finished: Vec<&MoveTask> = tasks
                .tasks
                .values()
                .filter(|t| t.source_arn == source_arn && t.status != TaskStatus::Running)
                .collect();
            let excess = finished.len().saturating_sub(KEEP_FINISHED - 1);
            let dropped: Vec<u64> = finished.iter().take(excess).map(|t| t.number).collect();
            for number in &dropped {
                if let Some(old) = tasks.tasks.get(number) {
                    batch.delete(Cf::Meta, &old.storage_key());
                }
            }
            self.store.commit(batch)?;
            for number in dropped {
                tasks.tasks.remove(&number);
            }
            tasks.tasks.insert(task.number, task.clone());
            task
        };
        let handle = task.handle();
        tokio::spawn(self.clone().run_move_task(task.number));
        Ok(handle)
    }

    /// CancelMessageMoveTask: stops a running task; returns how many messages it moved.
    pub fn cancel_move_task(&self, handle: &str) -> Result<u64> {
        let (task_id, source_arn) = parse_handle(handle).ok_or_else(|| not_found("Task does not exist."))?;
        let mut tasks = self.tasks();
        let task = tasks
            .tasks
            .values_mut()
            .find(|t| t.task_id == task_id && t.source_arn == source_arn)
            .ok_or_else(|| not_found("Task does not exist."))?;
        if task.status != TaskStatus::Running {
            return Err(not_found(&format!(
                "Task is not running (it is {}); only running tasks can be cancelled.",
                task.status.as_str()
            )));
        }
        let mut updated = task.clone();
        updated.status = TaskStatus::Cancelled;
        let mut batch = self.store.batch();
        batch.put(Cf::Meta, &updated.storage_key(), &encode(&updated)?);
        self.store.commit(batch)?;
        *task = updated;
        Ok(task.moved)
    }

    /// ListMessageMoveTasks: the most recent tasks of a source queue, newest first.
    pub fn list_move_tasks(&self, source_arn: &str, max_results: Option<usize>) -> Result<Vec<MoveTask>> {
        if self.lookup_arn(source_arn).is_none() {
            return Err(not_found(
                "The resource that you specified for the SourceArn parameter doesn't exist.",
            ));
        }
        let max = max_results.unwrap_or(1).clamp(1, MAX_LISTED);
        let tasks = self.tasks();
        Ok(tasks
            .tasks
            .values()
            .rev()
            .filter(|t| t.source_arn == source_arn)
            .take(max)
            .cloned()
            .collect())
    }

    /// Restarts the tasks that were running when the broker stopped.
    pub fn resume_move_tasks(self: &Arc<Self>) {
        let running: Vec<u64> = self
            .tasks()
            .tasks
            .values()
            .filter(|t| t.status == TaskStatus::Running)
            .map(|t| t.number)
            .collect();
        for number in running {
            tokio::spawn(self.clone().run_move_task(number));
        }
    }

    fn dead_letter_source_count(&self, dlq: &Queue) -> usize {
        let arn = dlq.key.arn();
        let registry = self.registry.read().unwrap_or_else(|p| p.into_inner());
        registry
            .values()
            .filter(|q| {
                q.config()
                    .redrive_policy
                    .is_some_and(|p| p.dead_letter_target_arn == arn)
            })
            .count()
    }

    fn task(&self, number: u64) -> Option<MoveTask> {
        self.tasks().tasks.get(&number).cloned()
    }

    /// Moves chunks until the task completes, fails, is cancelled or the broker shuts down.
    async fn run_move_task(self: Arc<Self>, number: u64) {
        loop {
            if self.shutting_down.load(Ordering::Acquire) {
                // Left `Running` on disk: resumes at the next start.
                return;
            }
            let Some(task) = self.task(number).filter(|t| t.status == TaskStatus::Running) else {
                return;
            };
            let chunk = task.max_per_second.map_or(CHUNK, |r| (r as usize).clamp(1, CHUNK));
            let outcome = self.move_chunk(&task, chunk);
            let pause = match outcome {
                Ok(ChunkOutcome::Moved(moved)) => match task.max_per_second {
                    // Pace to the rate: this chunk's share of a second.
                    Some(rate) => Duration::from_millis(moved.max(1) as u64 * 1000 / rate.max(1) as u64),
                    None => Duration::ZERO,
                },
                Ok(ChunkOutcome::Waiting) => Duration::from_millis(200),
                Ok(ChunkOutcome::Done) => {
                    self.finish(number, TaskStatus::Completed, None);
                    return;
                }
                Err(reason) => {
                    self.finish(number, TaskStatus::Failed, Some(reason));
                    return;
                }
            };
            if pause.is_zero() {
                tokio::task::yield_now().await;
            } else {
                tokio::time::sleep(pause).await;
            }
        }
    }

    fn finish(&self, number: u64, status: TaskStatus, reason: Option<String>) {
        let mut tasks = self.tasks();
        let Some(task) = tasks.tasks.get_mut(&number) else {
            return;
        };
        if task.status != TaskStatus::Running {
            return;
        }
        let mut updated = task.clone();
        updated.status = status;
        updated.failure_reason = reason;
        let committed = encode(&updated).and_then(|value| {
            let mut batch = self.store.batch();
            batch.put(Cf::Meta, &updated.storage_key(), &value);
            Ok(self.store.commit(batch)?)
        });
        match committed {
            Ok(()) => *task = updated,
            Err(e) => tracing::warn!(error = %e, task = number, "could not record the end of a move task"),
        }
    }

    /// Moves up to `limit` visible messages of the task's source; `Err` is a failure reason.
    fn move_chunk(&self, task: &MoveTask, limit: usize) -> std::result::Result<ChunkOutcome, String> {
        let source = self
            .lookup_arn(&task.source_arn)
            .ok_or_else(|| "The source queue was deleted.".to_string())?;
        let explicit = match &task.destination_arn {
            Some(arn) => Some(
                self.lookup_arn(arn)
                    .ok_or_else(|| format!("The destination queue {arn} does not exist."))?,
            ),
            None => None,
        };
        let now = self.clock.now_ms();
        // Take the messages out of the source's index under its lock, so no receive races us.
        let taken: Vec<(u64, MsgMeta)> = {
            let mut index = source.index();
            index.promote(now);
            let mut seqs = index.ready_below(task.bound, limit);
            if seqs.is_empty() && index.cold_below(task.bound) {
                self.refill(&source, &mut index, true, now)
                    .map_err(|e| format!("reading the source queue failed: {e}"))?;
                seqs = index.ready_below(task.bound, limit);
            }
            if seqs.is_empty() {
                let remaining = !index.seqs_below(task.bound).is_empty() || index.cold_below(task.bound);
                return Ok(if remaining {
                    ChunkOutcome::Waiting
                } else {
                    ChunkOutcome::Done
                });
            }
            seqs.into_iter()
                .filter_map(|seq| index.remove(seq).map(|meta| (seq, meta)))
                .collect()
        };
        let result = self.commit_moves(task, &source, explicit.as_ref(), &taken, now);
        if let Err(reason) = &result {
            // Put the messages back so they stay receivable in the source.
            let mut index = source.index();
            for (seq, meta) in &taken {
                if let Ok(Some(raw)) = self.store.get(Cf::QueueMsgs, &message_key(source.id, *seq)) {
                    let group = StoredPayload::decode(&raw).ok().and_then(|p| p.group_id);
                    index.insert(*seq, *meta, group.as_deref(), now);
                }
            }
            tracing::warn!(task = task.number, %reason, "move task failed");
        }
        result.map(ChunkOutcome::Moved)
    }

    fn commit_moves(
        &self,
        task: &MoveTask,
        source: &Arc<Queue>,
        explicit: Option<&Arc<Queue>>,
        taken: &[(u64, MsgMeta)],
        now: u64,
    ) -> std::result::Result<usize, String> {
        // First the messages and where each goes, then the sequences: a FIFO destination hands
        // them out under its send lock, taken in queue-id order as every sender does.
        let mut moving: Vec<(Vec<u8>, StoredPayload, Arc<Queue>)> = Vec::with_capacity(taken.len());
        for (seq, _) in taken {
            let key = message_key(source.id, *seq);
            let raw = self
                .store
                .get(Cf::QueueMsgs, &key)
                .map_err(|e| format!("storage failure: {e}"))?;
            let Some(raw) = raw else {
                continue;
            };
            let mut payload = StoredPayload::decode(&raw).map_err(|e| format!("storage failure: {e}"))?;
            let destination = match explicit {
                Some(d) => d.clone(),
                None => {
                    let arn = payload.dead_letter_source_arn.clone().ok_or_else(|| {
                        "A message has no original source queue; give a DestinationArn to move it.".to_string()
                    })?;
                    self.lookup_arn(&arn)
                        .ok_or_else(|| format!("The original source queue {arn} does not exist."))?
                }
            };
            payload.dead_letter_source_arn = None;
            moving.push((key, payload, destination));
        }
        let mut destinations: BTreeMap<u64, Arc<Queue>> = BTreeMap::new();
        for (_, _, destination) in &moving {
            destinations
                .entry(destination.id)
                .or_insert_with(|| destination.clone());
        }
        // Before the send locks: whoever holds a send lock never waits for `tasks`.
        let mut tasks = self.tasks();
        let mut parts: BTreeMap<u64, Part<'_>> = destinations
            .values()
            .map(|queue| {
                let part = Part {
                    queue,
                    lock: queue.fifo.then(|| queue.fifo_sends()),
                    staged: Staged::default(),
                    waits: Vec::new(),
                };
                (queue.id, part)
            })
            .collect();
        let mut batch = self.store.batch();
        let mut moved = 0;
        for (key, payload, destination) in moving {
            let dest_seq = destination
                .take_seq(&self.store)
                .map_err(|e| format!("storage failure: {e}"))?;
            let meta = MsgMeta::new(payload.sent_ms, now);
            batch.put(Cf::QueueMsgs, &message_key(destination.id, dest_seq), &payload.encode());
            batch.delete(Cf::QueueMsgs, &key);
            batch.delete(Cf::QueueState, &key);
            if let Some(part) = parts.get_mut(&destination.id) {
                part.staged.accepted.push((dest_seq, meta, payload.group_id));
            }
            moved += 1;
        }
        let Some(current) = tasks.tasks.get_mut(&task.number) else {
            return Err("The task record disappeared.".into());
        };
        let mut updated = current.clone();
        updated.moved += moved as u64;
        batch.put(
            Cf::Meta,
            &updated.storage_key(),
            &encode(&updated).map_err(|e| e.to_string())?,
        );
        self.commit_parts(batch, parts.into_values().collect(), now, ())
            .map_err(|e| format!("storage failure: {e}"))?;
        *current = updated;
        drop(tasks);
        Ok(moved)
    }
}

/// What one chunk did.
enum ChunkOutcome {
    /// Moved this many messages.
    Moved(usize),
    /// Nothing visible to move now, but messages from before the start are still in flight.
    Waiting,
    /// Nothing left to move.
    Done,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_round_trip_and_garbage_is_rejected() {
        let task = MoveTask {
            number: 1,
            task_id: "t".into(),
            source_arn: "arn:aws:sqs:us-east-1:000000000000:dlq".into(),
            destination_arn: None,
            max_per_second: None,
            status: TaskStatus::Running,
            moved: 0,
            to_move: 0,
            started_ms: 0,
            failure_reason: None,
            bound: 1,
        };
        assert_eq!(
            parse_handle(&task.handle()),
            Some(("t".to_string(), task.source_arn.clone()))
        );
        assert_eq!(parse_handle("not base64!"), None);
        assert_eq!(
            handle_source_arn(&task.handle()).ok().as_deref(),
            Some(task.source_arn.as_str())
        );
        for garbled in [
            "not base64!".to_string(),
            STANDARD.encode("{}"),
            STANDARD.encode(r#"{"taskId":"t","sourceArn":"*"}"#),
            STANDARD.encode(r#"{"taskId":"t","sourceArn":7}"#),
        ] {
            assert!(
                matches!(handle_source_arn(&garbled), Err(QueueError::ResourceNotFound(_))),
                "{garbled}"
            );
        }
        assert_eq!(parse_handle(&STANDARD.encode("{}")), None);
    }
}
