//! The data plane: PutRecord(s), GetShardIterator and GetRecords, and the shard reader
//! (`read_shard`, `children_of`) that SubscribeToShard shares.
//!
//! # Invariants
//! - A put takes its shards' writer locks in index order and holds them across the one batch
//!   that stores the records and the shards' high-water marks, so a shard's records become
//!   visible in sequence order; a writer that finds a shard closed by resharding routes again.
//! - Sequences increase strictly per shard for the shard's whole life (across restarts and
//!   retention), so SequenceNumberForOrdering holds by construction.
//! - Reads start at the trim sequence: a record older than the retention period is never
//!   returned. An iterator expires [`ITERATOR_TTL_MS`] after it was issued.
//! - A fully read closed shard answers no next iterator and names its children.

use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};

use sluice_storage::key;
use sluice_storage::{Cf, Store};

use super::iterator::{IteratorPos, ITERATOR_TTL_MS};
use super::shard::{
    arrival_ms, decode_record, encode_record, format_sequence, hash_of, parse_sequence, parse_shard_id, record_key,
    seq_floor, shard_id, shard_prefix, ShardRecord, SEQ_OFFSET,
};
use super::{
    corrupt, high_water_key, internal, Appended, ChildShard, IteratorStart, NewRecord, PutOutcome, ReadRecord,
    RecordBatch, Result, ShardState, Stream, StreamError, StreamKey, StreamRecord, Streams, Writer,
    GET_RECORDS_MAX_BYTES, PUT_RECORDS_MAX_BYTES,
};

impl Streams {
    /// PutRecord / PutRecords: appends every record, in request order per shard, in one
    /// write batch. `ordering_floor` (SequenceNumberForOrdering) is satisfied by construction,
    /// see the comment where sequences are assigned.
    pub fn put(
        &self,
        key: &StreamKey,
        records: &[NewRecord],
        ordering_floor: Option<&str>,
    ) -> Result<PutOutcome<Appended>> {
        let batch = self.put_batch(key, records, ordering_floor)?;
        let results = batch.results.into_iter().collect::<Result<Vec<_>>>()?;
        Ok(PutOutcome {
            results,
            encrypted: batch.encrypted,
        })
    }

    /// PutRecords: like [`Streams::put`], but with throughput limits on, a record over its
    /// shard's limit fails alone (`Err(Throughput)`) and the others are stored.
    pub fn put_batch(
        &self,
        key: &StreamKey,
        records: &[NewRecord],
        _ordering_floor: Option<&str>,
    ) -> Result<PutOutcome<Result<Appended>>> {
        let stream = self.lookup_data(key)?;
        // Each record keeps the encryption type in force when it was written (its
        // `EncryptionType` on every later read); read once, before any writer lock, so one
        // batch agrees, and answered with the results so the answer agrees too.
        let (max_bytes, encrypted) = {
            let record = stream.record();
            (record.max_record_kib as usize * 1024, record.encryption_key.is_some())
        };
        let mut total = 0usize;
        for r in records {
            let size = r.data.len() + r.partition_key.len();
            if size > max_bytes {
                return Err(StreamError::Validation(format!(
                    "1 validation error detected: Value at 'data' failed to satisfy constraint: Member must have length less than or equal to {max_bytes}"
                )));
            }
            total += size;
        }
        if total > PUT_RECORDS_MAX_BYTES {
            return Err(StreamError::InvalidArgument(format!(
                "Records size exceeds {} MB limit",
                PUT_RECORDS_MAX_BYTES >> 20
            )));
        }
        let hashes: Vec<u128> = records
            .iter()
            .map(|r| r.explicit_hash_key.unwrap_or_else(|| hash_of(&r.partition_key)))
            .collect();
        // Route, lock the shards in index order, and re-route if a reshard closed one meanwhile.
        for _attempt in 0..16 {
            let routing = stream.routing();
            let mut targets: Vec<Arc<ShardState>> = Vec::with_capacity(records.len());
            for h in &hashes {
                match routing.route(*h) {
                    Some(s) => targets.push(s.clone()),
                    None => return Err(key.not_found()),
                }
            }
            let mut order: Vec<&Arc<ShardState>> = targets.iter().collect();
            order.sort_by_key(|s| s.index);
            order.dedup_by_key(|s| s.index);
            let mut guards: Vec<(u32, MutexGuard<'_, Writer>)> = Vec::with_capacity(order.len());
            let mut closed = false;
            for s in &order {
                let g = s.writer();
                closed |= g.closed;
                guards.push((s.index, g));
            }
            if closed {
                drop(guards);
                if stream.deleting_until.load(Ordering::Acquire) != 0 {
                    return Err(key.not_found());
                }
                continue;
            }
            let now = self.now();
            let limits = self.limits_on();
            let mut b = self.store.batch();
            let mut out = Vec::with_capacity(records.len());
            for (i, r) in records.iter().enumerate() {
                let shard = targets[i].index;
                if limits {
                    let size = (r.data.len() + r.partition_key.len()) as f64;
                    let admitted = targets[i].with_throughput(now, |t| t.admit_write(size));
                    if !admitted {
                        out.push(Err(StreamError::Throughput(format!(
                            "Rate exceeded for shard {} in stream {} under account {}.",
                            shard_id(shard),
                            key.name,
                            key.account
                        ))));
                        continue;
                    }
                }
                let pos = guards.iter().position(|(idx, _)| *idx == shard).unwrap_or(0);
                let w = &mut guards[pos].1;
                // Sequences already increase strictly per shard for the shard's whole life, so
                // every number this shard handed out is below the next one:
                // SequenceNumberForOrdering (always an earlier answer) holds without work, and a
                // made-up larger value must not push the shard's sequence space forward.
                let seq = (w.last_seq + 1).max(seq_floor(now));
                w.last_seq = seq;
                b.put(
                    Cf::StreamRecords,
                    &record_key(stream.id, shard, seq),
                    &encode_record(&r.partition_key, &r.data, encrypted),
                );
                out.push(Ok(Appended {
                    shard_id: shard_id(shard),
                    sequence_number: format_sequence(stream.id, shard, seq),
                }));
            }
            for (idx, w) in &guards {
                b.put(Cf::Meta, &high_water_key(stream.id, *idx), &w.last_seq.to_be_bytes());
            }
            let reached: Vec<(u32, u64)> = guards.iter().map(|(idx, w)| (*idx, w.last_seq)).collect();
            // The batch's place among commits is fixed on submission: the shard locks need not
            // be held while cluster mode waits for the log or fsync mode for the disk, and the
            // next put to these shards still lands after this one. Readers see the records
            // once `committed` passes them, below.
            let submitted = self.store.submit(b);
            drop(guards);
            // Sequences handed out above and never stored leave a gap; later ones stay higher.
            submitted.and_then(|s| s.wait())?;
            for (idx, last_seq) in reached {
                if let Some(s) = routing.all.get(&idx) {
                    // Puts finish in any order; entries apply in log order, so the largest
                    // sequence seen is stored with every one below it.
                    s.committed.fetch_max(last_seq, Ordering::Release);
                    s.changed.notify_waiters();
                }
            }
            let stored = out.iter().filter(|r| r.is_ok()).count() as u64;
            let bytes: u64 = records
                .iter()
                .zip(&out)
                .filter(|(_, r)| r.is_ok())
                .map(|(rec, _)| rec.data.len() as u64)
                .sum();
            stream.traffic.records_in.fetch_add(stored, Ordering::Relaxed);
            stream.traffic.bytes_in.fetch_add(bytes, Ordering::Relaxed);
            return Ok(PutOutcome {
                results: out,
                encrypted,
            });
        }
        Err(StreamError::InUse(format!(
            "Stream {} under account {} is being resharded; retry.",
            key.name, key.account
        )))
    }

    pub(super) fn shard_of<'r>(&self, stream: &Stream, record: &'r StreamRecord, id: &str) -> Result<&'r ShardRecord> {
        let now = self.now();
        parse_shard_id(id)
            .and_then(|i| record.shards.iter().find(|s| s.index == i))
            .filter(|s| record.is_listed(s, now))
            .ok_or_else(|| {
                StreamError::NotFound(format!(
                    "Shard {id} in stream {} under account {} does not exist",
                    stream.key.name, stream.key.account
                ))
            })
    }

    /// GetShardIterator.
    pub fn shard_iterator(&self, key: &StreamKey, shard: &str, start: IteratorStart) -> Result<String> {
        let stream = self.lookup_data(key)?;
        let record = stream.record().clone();
        let shard = self.shard_of(&stream, &record, shard)?;
        let state = stream
            .routing()
            .all
            .get(&shard.index)
            .cloned()
            .ok_or_else(|| internal("shard missing from routing"))?;
        let position = self.start_position(&stream, shard, &state, start)?;
        Ok(self.codec.encode(IteratorPos {
            stream_id: stream.id,
            shard: shard.index,
            position,
            issued_ms: self.now(),
        }))
    }

    /// The first sequence a reader starting at `start` on `shard` may get.
    pub(super) fn start_position(
        &self,
        stream: &Stream,
        shard: &ShardRecord,
        state: &ShardState,
        start: IteratorStart,
    ) -> Result<u64> {
        let key = &stream.key;
        let parse = |text: Option<String>, kind: &str| -> Result<u64> {
            let text = text.ok_or_else(|| {
                StreamError::InvalidArgument(format!(
                    "The StartingSequenceNumber parameter is required for ShardIteratorType {kind}."
                ))
            })?;
            match parse_sequence(&text) {
                Some((sid, idx, seq)) if sid == stream.id && idx == shard.index => Ok(seq),
                Some((_, idx, _)) if idx != shard.index => Err(StreamError::InvalidArgument(format!(
                    "Invalid StartingSequenceNumber. It encodes {}, while it was used in a call to a shard with {}",
                    shard_id(idx),
                    shard.id()
                ))),
                _ => Err(StreamError::InvalidArgument(format!(
                    "StartingSequenceNumber {text} used in GetShardIterator on shard {} in stream {} under account {} is invalid.",
                    shard.id(),
                    key.name,
                    key.account
                ))),
            }
        };
        let position = match start {
            IteratorStart::TrimHorizon => 0,
            IteratorStart::Latest => state.committed.load(Ordering::Acquire) + 1,
            IteratorStart::AtSequence(s) => parse(s, "AT_SEQUENCE_NUMBER")?,
            IteratorStart::AfterSequence(s) => parse(s, "AFTER_SEQUENCE_NUMBER")?.saturating_add(1),
            IteratorStart::AtTimestamp(t) => {
                let t = t.ok_or_else(|| {
                    StreamError::InvalidArgument(
                        "The timestampInMillis parameter is required for ShardIteratorType AT_TIMESTAMP.".into(),
                    )
                })?;
                if t > self.now() as i64 {
                    return Err(StreamError::InvalidArgument(format!(
                        "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: {t}, currentTimestampInMillis: {}",
                        self.now()
                    )));
                }
                seq_floor(t.max(0) as u64)
            }
        };
        Ok(position)
    }

    /// The stream a shard iterator this data folder issued points into; `None` for anything
    /// else (a forged or garbled iterator, a deleted stream). Authorization reads it, since a
    /// GetRecords names its stream only through the iterator.
    pub fn iterator_stream(&self, iterator: &str) -> Option<StreamKey> {
        let pos = self.codec.decode(iterator)?;
        let by_id = self.by_id.read().unwrap_or_else(|p| p.into_inner());
        by_id.get(&pos.stream_id).map(|stream| stream.key.clone())
    }

    /// Waits until the shard under `iterator` has a record at or after the iterator's position,
    /// or changes otherwise (closed, resharded, deleted), or `timeout` passes: a reader inside
    /// the broker (an event-source mapping) then reads as soon as a record is committed rather
    /// than polling an idle shard. Returns at once for an iterator that does not decode.
    pub async fn wait_for_records(&self, iterator: &str, timeout: std::time::Duration) {
        let Some(pos) = self.codec.decode(iterator) else {
            return;
        };
        let state = {
            let by_id = self.by_id.read().unwrap_or_else(|p| p.into_inner());
            by_id
                .get(&pos.stream_id)
                .and_then(|s| s.routing().all.get(&pos.shard).cloned())
        };
        let Some(state) = state else {
            return;
        };
        let changed = state.changed.notified();
        tokio::pin!(changed);
        // Registered before the check, so a commit between the check and the wait still wakes.
        changed.as_mut().enable();
        if state.committed.load(Ordering::Acquire) >= pos.position {
            return;
        }
        let _ = tokio::time::timeout(timeout, changed).await;
    }

    /// Whether AWS's per-shard throughput limits are enforced, so readers inside the broker
    /// keep to five reads a second per shard as other readers must.
    pub fn throughput_limits_on(&self) -> bool {
        self.limits_on()
    }

    /// GetRecords. `stream_check` is the request's StreamARN, which must name the iterator's
    /// stream when given.
    pub fn get_records(&self, iterator: &str, limit: usize, stream_check: Option<&StreamKey>) -> Result<RecordBatch> {
        let pos = self
            .codec
            .decode(iterator)
            .ok_or_else(|| StreamError::InvalidArgument("Invalid ShardIterator.".into()))?;
        let now = self.now();
        if now > pos.issued_ms + ITERATOR_TTL_MS {
            return Err(StreamError::ExpiredIterator(format!(
                "Iterator expired. The iterator was created at time {} while right now it is {} which is further in the future than the tolerated delay of {ITERATOR_TTL_MS} milliseconds.",
                fmt_ms(pos.issued_ms),
                fmt_ms(now)
            )));
        }
        let stream = self
            .by_id
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&pos.stream_id)
            .cloned()
            .ok_or_else(|| StreamError::NotFound("Shard iterator's stream does not exist.".into()))?;
        if let Some(k) = stream_check {
            if *k != stream.key {
                return Err(StreamError::InvalidArgument(
                    "The StreamARN does not match the stream of the ShardIterator.".into(),
                ));
            }
        }
        let (shard, retention_ms, children) = {
            let record = stream.record();
            let shard = record
                .shards
                .iter()
                .find(|s| s.index == pos.shard)
                .filter(|s| record.is_listed(s, now))
                .cloned()
                .ok_or_else(|| {
                    StreamError::NotFound(format!(
                        "Shard {} in stream {} under account {} does not exist",
                        shard_id(pos.shard),
                        stream.key.name,
                        stream.key.account
                    ))
                })?;
            let children = children_of(&record, pos.shard);
            (shard, record.retention_ms(), children)
        };
        let limits = self.limits_on();
        let state = stream.routing().all.get(&pos.shard).cloned();
        if limits {
            // Five calls a second per shard, and none while the byte bucket is in debt.
            let admitted = state
                .as_ref()
                .is_none_or(|s| s.with_throughput(now, |t| t.admit_read()));
            if !admitted {
                return Err(StreamError::Throughput(format!(
                    "Rate exceeded for shard {} in stream {} under account {}.",
                    shard_id(pos.shard),
                    stream.key.name,
                    stream.key.account
                )));
            }
        }
        let trim = seq_floor(now.saturating_sub(retention_ms));
        let from = pos.position.max(trim);
        let limit = limit.clamp(1, 10_000);
        // Every listed shard has a state (routing is built from the record it is read from).
        let committed = state.as_ref().map_or(u64::MAX, |s| s.committed.load(Ordering::Acquire));
        let (records, stopped_early) = read_shard(
            &self.store,
            &stream,
            pos.shard,
            (from, committed),
            limit,
            GET_RECORDS_MAX_BYTES,
        )?;
        let bytes: usize = records.iter().map(|(_, r)| r.partition_key.len() + r.data.len()).sum();
        if let (true, Some(s)) = (limits, &state) {
            s.with_throughput(now, |t| t.charge_read(bytes));
        }
        let next_pos = records.last().map(|(s, _)| s + 1).unwrap_or(from);
        let millis_behind_latest = match records.last() {
            Some((seq, _)) if stopped_early => now.saturating_sub(arrival_ms(*seq)),
            _ => 0,
        };
        let finished = !shard.is_open() && !stopped_early;
        let traffic = &stream.traffic;
        traffic.records_out.fetch_add(records.len() as u64, Ordering::Relaxed);
        traffic.bytes_out.fetch_add(
            records.iter().map(|(_, r)| r.data.len() as u64).sum(),
            Ordering::Relaxed,
        );
        traffic.iterator_age_ms.store(millis_behind_latest, Ordering::Relaxed);
        let records = records.into_iter().map(|(_, r)| r).collect();
        Ok(RecordBatch {
            records,
            next_iterator: (!finished).then(|| {
                self.codec.encode(IteratorPos {
                    stream_id: stream.id,
                    shard: pos.shard,
                    position: next_pos,
                    issued_ms: now,
                })
            }),
            millis_behind_latest,
            child_shards: finished.then_some(children),
        })
    }
}

/// Epoch ms as AWS prints it in iterator-expiry messages.
fn fmt_ms(ms: u64) -> String {
    ms.to_string()
}

/// Reads a shard's committed records from sequence `from` on: at most `limit` records and,
/// past the first, `max_bytes` of keys and data, each with its sequence. Also says whether it
/// stopped before the end. Records above `committed` (the shard's mark) are left out: a put's
/// records are in the store before its commit is known (an fsync or the log still to answer,
/// see `Store::submit`), and a reader must not see what a crash could take back.
pub(super) fn read_shard(
    store: &Store,
    stream: &Stream,
    shard: u32,
    range: (u64, u64),
    limit: usize,
    max_bytes: usize,
) -> Result<(Vec<(u64, ReadRecord)>, bool)> {
    let (from, committed) = range;
    // Records stored before their encryption type was (RECORD_V1) report the stream's current
    // setting, which is what they reported before the upgrade: readers see no change for old
    // data, and it is right for the common case of a stream encrypted from its start or never.
    let legacy_encrypted = stream.record().encryption_key.is_some();
    let prefix = shard_prefix(stream.id, shard);
    let start = record_key(stream.id, shard, from);
    let mut records = Vec::new();
    let mut bytes = 0usize;
    let mut stopped_early = false;
    let mut bad = None;
    store.for_each_from(Cf::StreamRecords, &start, |k, v| {
        if !k.starts_with(&prefix) {
            return false;
        }
        if records.len() >= limit {
            stopped_early = true;
            return false;
        }
        let Some(seq) = key::read_u64(k, SEQ_OFFSET) else {
            bad = Some("record key");
            return false;
        };
        if seq > committed {
            return false;
        }
        let Some(stored) = decode_record(v) else {
            bad = Some("record value");
            return false;
        };
        let size = stored.data.len() + stored.partition_key.len();
        if !records.is_empty() && bytes + size > max_bytes {
            stopped_early = true;
            return false;
        }
        bytes += size;
        records.push((
            seq,
            ReadRecord {
                sequence_number: format_sequence(stream.id, shard, seq),
                arrival_ms: arrival_ms(seq),
                partition_key: stored.partition_key.to_string(),
                data: stored.data.to_vec(),
                encrypted: stored.encrypted.unwrap_or(legacy_encrypted),
            },
        ));
        true
    })?;
    if let Some(what) = bad {
        return Err(corrupt(format!("stream {} {what}", stream.key.name)));
    }
    Ok((records, stopped_early))
}

/// The children of shard `index` (empty while it is open).
pub(super) fn children_of(record: &StreamRecord, index: u32) -> Vec<ChildShard> {
    record
        .shards
        .iter()
        .filter(|c| c.parent == Some(index) || c.adjacent_parent == Some(index))
        .map(|c| ChildShard {
            shard_id: c.id(),
            parent_shards: c
                .parent
                .iter()
                .chain(c.adjacent_parent.iter())
                .map(|p| shard_id(*p))
                .collect(),
            hash_range: (c.start_hash.clone(), c.end_hash.clone()),
        })
        .collect()
}
