//! A stream's poller: one reader per shard, parents before children, with durable
//! checkpoints.
//!
//! # Rules (AWS's)
//! - One batch in flight per shard, so a shard's records reach the handler in order; with
//!   ParallelizationFactor N, up to N batches per shard, the records split by partition key
//!   (a key always goes to the same lane), so each key's records stay in order. The shard's
//!   checkpoint then moves only once every lane is done with what was read.
//! - A shard is read from its checkpoint (the last record handled), else from the mapping's
//!   starting position: TRIM_HORIZON, AT_TIMESTAMP, or LATEST, which is the mapping's
//!   creation time, so records written between the create and the first poll are not missed.
//! - A child shard (split or merge) is read only once its parents are finished.
//! - A failed batch is retried, split in two first with BisectBatchOnFunctionError (a split
//!   does not count as a retry); after MaximumRetryAttempts, or once its records are older
//!   than MaximumRecordAgeInSeconds, a description of the batch goes to the on-failure
//!   destination and the shard moves on. With ReportBatchItemFailures, the checkpoint moves
//!   to just before the lowest failed record and the rest is retried.
//! - The checkpoint is written after each batch, so a restart resumes after the last record
//!   handled: nothing is skipped; a batch cut off by the restart is delivered again.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;

use super::super::events::{self, BatchAnswer};
use super::super::{stream_key, Checkpoint, Functions, MappingRecord, Outcome, StartingPosition};
use super::{filters, passes, send_failure, PollerSettings, PICKUP, PROBLEM_PAUSE};
use crate::stream::{IteratorStart, ReadRecord, StreamKey};

/// Longest wait on an idle shard before it is read again. A reader wakes as soon as a record
/// is committed to its shard, so records reach the handler in milliseconds, not after Lambda's
/// once-a-second poll; the bound only covers changes that wake nobody.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// With `--kinesis-limits` on, the least time between an empty read and the next: a shard
/// serves five GetRecords calls a second, shared with every other reader.
const LIMITED_READ_GAP: Duration = Duration::from_millis(200);
/// How often the shard list is read for new shards.
const SHARD_SCAN: Duration = Duration::from_secs(2);
/// Longest pause between retries of a failing batch.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

pub(super) async fn run(functions: Arc<Functions>, mapping: MappingRecord, settings: PollerSettings) {
    let Some(stream) = stream_key(&mapping.source_arn) else {
        return;
    };
    // Dropping the set (this task aborted: the mapping changed) aborts every reader.
    let mut set = tokio::task::JoinSet::new();
    let mut readers: HashMap<String, tokio::task::AbortHandle> = HashMap::new();
    loop {
        match functions.streams.list_shards(&stream, None) {
            Ok(shards) => {
                let ids: HashMap<u32, String> = shards
                    .iter()
                    .map(|s| (s.index, crate::stream::shard::shard_id(s.index)))
                    .collect();
                for shard in &shards {
                    let id = crate::stream::shard::shard_id(shard.index);
                    if readers.contains_key(&id) {
                        continue;
                    }
                    match functions.checkpoint(&mapping.uuid, &id) {
                        Ok(Some(Checkpoint::Done)) => continue,
                        Ok(_) => {}
                        Err(e) => {
                            functions.set_last_result(&mapping.uuid, format!("PROBLEM: {e}"));
                            continue;
                        }
                    }
                    // Parents that are still listed must be finished first; a parent trimmed
                    // away by retention is finished by definition.
                    let parents_done = [shard.parent, shard.adjacent_parent]
                        .into_iter()
                        .flatten()
                        .filter_map(|p| ids.get(&p))
                        .all(|p| matches!(functions.checkpoint(&mapping.uuid, p), Ok(Some(Checkpoint::Done))));
                    if !parents_done {
                        continue;
                    }
                    let reader = ShardReader {
                        functions: functions.clone(),
                        mapping: mapping.clone(),
                        settings: settings.clone(),
                        stream: stream.clone(),
                        shard: id.clone(),
                    };
                    readers.insert(id, set.spawn(reader.run()));
                }
                while set.try_join_next().is_some() {}
                readers.retain(|_, task| !task.is_finished());
            }
            Err(e) => {
                functions.set_last_result(&mapping.uuid, format!("PROBLEM: {e}"));
            }
        }
        tokio::time::sleep(SHARD_SCAN).await;
    }
}

struct ShardReader {
    functions: Arc<Functions>,
    mapping: MappingRecord,
    settings: PollerSettings,
    stream: StreamKey,
    shard: String,
}

/// How a batch ended.
enum BatchEnd {
    /// Handled (or given up on and described to the destination): move past it.
    Done,
    /// The reader must stop (the function is gone); nothing moves.
    Stop,
}

impl ShardReader {
    async fn run(self) {
        let filters = filters(&self.mapping);
        let arn = self.stream.arn();
        // The iterator after the last batch handled; `None` means "start again from the
        // checkpoint" (at first, and after any error).
        let mut next: Option<String> = None;
        loop {
            let iterator = match next.take() {
                Some(it) => it,
                None => match self.start_iterator() {
                    Ok(Some(it)) => it,
                    Ok(None) => return,
                    Err(e) => {
                        self.functions
                            .set_last_result(&self.mapping.uuid, format!("PROBLEM: {e}"));
                        tokio::time::sleep(PROBLEM_PAUSE).await;
                        continue;
                    }
                },
            };
            let read = self
                .functions
                .streams
                .get_records(&iterator, self.read_size(), Some(&self.stream));
            let batch = match read {
                Ok(batch) => batch,
                // A kept iterator ages out while a batch waits long for a handler: start again
                // from the checkpoint.
                Err(crate::stream::StreamError::ExpiredIterator(_)) => continue,
                Err(e) => {
                    self.functions
                        .set_last_result(&self.mapping.uuid, format!("PROBLEM: {e}"));
                    tokio::time::sleep(PROBLEM_PAUSE).await;
                    continue;
                }
            };
            if batch.records.is_empty() {
                if batch.next_iterator.is_none() {
                    // A closed shard read to its end: its children may start.
                    self.functions
                        .save_checkpoint(&self.mapping.uuid, &self.shard, &Checkpoint::Done);
                    return;
                }
                if let Some(it) = &batch.next_iterator {
                    self.functions.streams.wait_for_records(it, IDLE_POLL).await;
                }
                if self.functions.streams.throughput_limits_on() {
                    // Five reads a second per shard, the quota this reader shares with others.
                    tokio::time::sleep(LIMITED_READ_GAP).await;
                }
                next = batch.next_iterator;
                continue;
            }
            let mut records = batch.records;
            let mut after = batch.next_iterator;
            if self.mapping.batching_window_secs > 0 && records.len() < self.read_size() {
                // Let the batch fill for the window, then read it again from the same place.
                tokio::time::sleep(Duration::from_secs(u64::from(self.mapping.batching_window_secs))).await;
                if let Ok(it) = self.functions.streams.shard_iterator(
                    &self.stream,
                    &self.shard,
                    IteratorStart::AtSequence(Some(records[0].sequence_number.clone())),
                ) {
                    if let Ok(again) = self
                        .functions
                        .streams
                        .get_records(&it, self.read_size(), Some(&self.stream))
                    {
                        if again.records.len() >= records.len() {
                            records = again.records;
                            after = again.next_iterator;
                        }
                    }
                }
            }
            let Some(last) = records.last().map(|r| r.sequence_number.clone()) else {
                continue;
            };
            let passing: Vec<ReadRecord> = if filters.is_empty() {
                records
            } else {
                records
                    .into_iter()
                    .filter(|r| {
                        let doc = events::kinesis_record(r, &self.shard, &arn, &self.stream.region);
                        let doc = serde_json::to_value(&doc.kinesis).unwrap_or_default();
                        passes(&filters, &doc, "data", &r.data)
                    })
                    .collect()
            };
            match self.handle_lanes(passing).await {
                BatchEnd::Done => {
                    self.functions
                        .save_checkpoint(&self.mapping.uuid, &self.shard, &Checkpoint::After(last));
                    next = after;
                }
                BatchEnd::Stop => tokio::time::sleep(PROBLEM_PAUSE).await,
            }
        }
    }

    /// An iterator from the checkpoint, else from the mapping's starting position; `None`
    /// once the shard is finished.
    fn start_iterator(&self) -> Result<Option<String>, String> {
        let checkpoint = self
            .functions
            .checkpoint(&self.mapping.uuid, &self.shard)
            .map_err(|e| e.to_string())?;
        let start = match checkpoint {
            Some(Checkpoint::Done) => return Ok(None),
            Some(Checkpoint::After(seq)) => IteratorStart::AfterSequence(Some(seq)),
            None => match self.mapping.starting_position {
                Some(StartingPosition::TrimHorizon) => IteratorStart::TrimHorizon,
                Some(StartingPosition::AtTimestamp(ms)) => IteratorStart::AtTimestamp(Some(ms as i64)),
                Some(StartingPosition::Latest) | None => {
                    IteratorStart::AtTimestamp(Some(self.mapping.created_ms as i64))
                }
            },
        };
        self.functions
            .streams
            .shard_iterator(&self.stream, &self.shard, start)
            .map(Some)
            .map_err(|e| e.to_string())
    }

    /// Records read at once: a batch for each lane.
    fn read_size(&self) -> usize {
        (self.mapping.batch_size as usize).saturating_mul(self.mapping.parallelization.max(1) as usize)
    }

    /// Splits what was read into lanes by partition key and delivers them concurrently, in
    /// batches of at most BatchSize, each lane in order; done when every lane is.
    async fn handle_lanes(&self, records: Vec<ReadRecord>) -> BatchEnd {
        let lanes = self.mapping.parallelization.max(1) as usize;
        let split: Vec<Vec<ReadRecord>> = if lanes == 1 {
            vec![records]
        } else {
            let mut split = vec![Vec::new(); lanes];
            for r in records {
                split[lane(&r.partition_key, lanes)].push(r);
            }
            split
        };
        let size = self.mapping.batch_size.max(1) as usize;
        let runs = split.into_iter().filter(|l| !l.is_empty()).map(|lane| async move {
            for chunk in into_chunks(lane, size) {
                if let BatchEnd::Stop = self.handle(chunk).await {
                    return BatchEnd::Stop;
                }
            }
            BatchEnd::Done
        });
        let ends = futures_util::future::join_all(runs).await;
        if ends.iter().any(|e| matches!(e, BatchEnd::Stop)) {
            BatchEnd::Stop
        } else {
            BatchEnd::Done
        }
    }

    /// Delivers `records` until they are handled or given up on; bisects on failure.
    async fn handle(&self, records: Vec<ReadRecord>) -> BatchEnd {
        let mut pending: Vec<Vec<ReadRecord>> = vec![records];
        let mut attempts: u32 = 0;
        while let Some(batch) = pending.pop() {
            match self.attempt(&batch).await {
                Attempt::Succeeded => {
                    attempts = 0;
                    self.functions.set_last_result(&self.mapping.uuid, "OK");
                }
                Attempt::Stop => return BatchEnd::Stop,
                Attempt::Failed { remaining } => {
                    self.functions.count_error(&self.mapping.uuid);
                    self.functions
                        .set_last_result(&self.mapping.uuid, "PROBLEM: Function call failed");
                    let remaining = remaining.unwrap_or(batch);
                    if self.expired(&remaining) {
                        self.give_up(&remaining, "RecordAgeExceeded", attempts + 1).await;
                        attempts = 0;
                        continue;
                    }
                    if self.mapping.bisect_on_error && remaining.len() > 1 {
                        let mut first = remaining;
                        let second = first.split_off(first.len() / 2);
                        pending.push(second);
                        pending.push(first);
                        continue;
                    }
                    attempts += 1;
                    let max = self.mapping.max_retries;
                    if max >= 0 && i64::from(attempts) > max {
                        self.give_up(&remaining, "RetryAttemptsExhausted", attempts).await;
                        attempts = 0;
                        continue;
                    }
                    let backoff = Duration::from_millis(500 * 2u64.saturating_pow(attempts.min(5))).min(MAX_BACKOFF);
                    tokio::time::sleep(backoff).await;
                    pending.push(remaining);
                }
            }
        }
        BatchEnd::Done
    }

    async fn attempt(&self, batch: &[ReadRecord]) -> Attempt {
        let Ok(function) = self.functions.get_function(&self.mapping.function) else {
            self.functions.set_last_result(
                &self.mapping.uuid,
                format!("PROBLEM: Function not found: {}", self.mapping.function.arn()),
            );
            return Attempt::Stop;
        };
        let payload = Bytes::from(events::kinesis_event(
            batch,
            &self.shard,
            &self.stream.arn(),
            &self.stream.region,
        ));
        let hub = self.functions.hub(&self.mapping.function);
        loop {
            let slot = hub.reserve().await;
            self.functions.count_batch(&self.mapping.uuid, batch.len());
            if let Some(newest) = batch.last() {
                let age = self.functions.clock.now_ms().saturating_sub(newest.arrival_ms);
                self.functions.set_iterator_age(&self.mapping.uuid, age);
            }
            let payload = payload.clone();
            let timeout = function.record.settings.timeout_secs;
            return match hub.invoke_reserved(payload, timeout, PICKUP, slot).await {
                Outcome::NoHandler => continue,
                Outcome::Error(_) | Outcome::TimedOut { .. } => Attempt::Failed { remaining: None },
                Outcome::Success(answer) if self.mapping.report_item_failures => {
                    let ids: HashSet<String> = batch.iter().map(|r| r.sequence_number.clone()).collect();
                    match events::batch_answer(&answer, &ids) {
                        BatchAnswer::AllSucceeded => Attempt::Succeeded,
                        BatchAnswer::Invalid => Attempt::Failed { remaining: None },
                        BatchAnswer::Failed(failed) => {
                            // Records before the first failure are done; retry from it on.
                            let first = batch
                                .iter()
                                .position(|r| failed.contains(&r.sequence_number))
                                .unwrap_or(0);
                            // With lanes, other lanes may still hold earlier records: only the
                            // whole read moves the checkpoint then.
                            if first > 0 && self.mapping.parallelization <= 1 {
                                let done = batch[first - 1].sequence_number.clone();
                                self.functions.save_checkpoint(
                                    &self.mapping.uuid,
                                    &self.shard,
                                    &Checkpoint::After(done),
                                );
                            }
                            Attempt::Failed {
                                remaining: Some(batch[first..].to_vec()),
                            }
                        }
                    }
                }
                Outcome::Success(_) => Attempt::Succeeded,
            };
        }
    }

    /// Whether the batch's first record is older than MaximumRecordAgeInSeconds, or, without
    /// one, than the stream's retention (AWS retries "until the record expires").
    fn expired(&self, batch: &[ReadRecord]) -> bool {
        let max_ms = match self.mapping.max_record_age_secs {
            age if age >= 0 => age as u64 * 1000,
            _ => match self.functions.streams.describe(&self.stream) {
                Ok(info) => u64::from(info.retention_hours) * 3_600_000,
                Err(_) => return false,
            },
        };
        let now = self.functions.clock.now_ms();
        batch.first().is_some_and(|r| now.saturating_sub(r.arrival_ms) > max_ms)
    }

    /// Describes a batch given up on to the on-failure destination (AWS's record), and logs it.
    /// The shard moves on only once the destination took the record: until then the send is
    /// retried, so a batch is never skipped without its description stored somewhere.
    async fn give_up(&self, batch: &[ReadRecord], condition: &str, invokes: u32) {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return;
        };
        tracing::warn!(
            mapping = %self.mapping.uuid,
            shard = %self.shard,
            records = batch.len(),
            condition,
            "a batch was given up on"
        );
        let Some(destination) = &self.mapping.on_failure else {
            return;
        };
        let record = json!({
            "requestContext": {
                "requestId": uuid::Uuid::new_v4().to_string(),
                "functionArn": self.mapping.function.arn(),
                "condition": condition,
                "approximateInvokeCount": invokes,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": crate::topic::envelope::iso8601_ms(self.functions.clock.now_ms()),
            "KinesisBatchInfo": {
                "shardId": self.shard,
                "startSequenceNumber": first.sequence_number,
                "endSequenceNumber": last.sequence_number,
                "approximateArrivalOfFirstRecord": crate::topic::envelope::iso8601_ms(first.arrival_ms),
                "approximateArrivalOfLastRecord": crate::topic::envelope::iso8601_ms(last.arrival_ms),
                "batchSize": batch.len(),
                "streamArn": self.stream.arn(),
            },
        });
        let mut pause = Duration::from_secs(1);
        while !send_failure(&self.functions, destination, &self.settings, &record) {
            tracing::warn!(destination = %destination, retry_in = ?pause, "the on-failure destination did not take the batch's description");
            self.functions.set_last_result(
                &self.mapping.uuid,
                format!("PROBLEM: the on-failure destination {destination} does not take failure records"),
            );
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_BACKOFF);
        }
    }
}

/// `records` in runs of at most `size` (at least 1), moved rather than copied.
fn into_chunks(records: Vec<ReadRecord>, size: usize) -> Vec<Vec<ReadRecord>> {
    let size = size.max(1);
    let total = records.len();
    let mut chunks: Vec<Vec<ReadRecord>> = Vec::with_capacity(total.div_ceil(size));
    for (i, r) in records.into_iter().enumerate() {
        match chunks.last_mut() {
            Some(last) if last.len() < size => last.push(r),
            _ => {
                let mut chunk = Vec::with_capacity(size.min(total - i));
                chunk.push(r);
                chunks.push(chunk);
            }
        }
    }
    chunks
}

/// The lane of a partition key: a stable hash (FNV-1a), so a key always takes the same lane.
fn lane(partition_key: &str, lanes: usize) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in partition_key.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % lanes.max(1) as u64) as usize
}

/// How one invocation of a batch went.
enum Attempt {
    Succeeded,
    /// Failed; `remaining` is what is left to retry when the handler reported item failures.
    Failed {
        remaining: Option<Vec<ReadRecord>>,
    },
    Stop,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(n: usize) -> Vec<ReadRecord> {
        (0..n)
            .map(|i| ReadRecord {
                sequence_number: i.to_string(),
                arrival_ms: 0,
                partition_key: "pk".into(),
                data: Vec::new(),
                encrypted: false,
            })
            .collect()
    }

    #[test]
    fn chunks_keep_order_and_size() {
        let sizes = |n, size| -> Vec<usize> { into_chunks(records(n), size).iter().map(Vec::len).collect() };
        assert_eq!(sizes(0, 10), Vec::<usize>::new());
        assert_eq!(sizes(10, 10), vec![10]);
        assert_eq!(sizes(25, 10), vec![10, 10, 5]);
        assert_eq!(sizes(2, 0), vec![1, 1]);
        let order: Vec<String> = into_chunks(records(7), 3)
            .into_iter()
            .flatten()
            .map(|r| r.sequence_number)
            .collect();
        assert_eq!(order, ["0", "1", "2", "3", "4", "5", "6"]);
    }
}
