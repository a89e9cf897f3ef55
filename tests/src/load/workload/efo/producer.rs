//! kinesis-efo producers: PutRecords at a fixed share of `--rate`, and the record format.
//!
//! A record's data is `{run}:{key}:{key_seq as 16 hex digits}:{put µs since the epoch}:`
//! padded with `x` to `--message-size`; its partition key is `k{key}`. Each producer owns its
//! own keys and awaits every call before the next, so a key's sequence is its put order. The
//! put time is taken right before the PutRecords call, so a subscriber measures put to
//! delivery, not time spent waiting in the producer's batch.
//!
//! # Pacing
//! Open loop: by `t` seconds into the run a producer of rate `r` should have issued `r * t`
//! records. It waits until [`LINGER`] worth of records is due (like the KPL's
//! RecordMaxBufferedTime, much shorter), then puts everything due, at most [`BATCH_SIZE`] per
//! call, so a stalled broker is caught up with rather than hidden.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use aws_sdk_kinesis::Client;
use tokio::time::Instant;

use super::super::super::client::classify;
use super::super::super::stats::TaskStats;
use super::super::kinesis::BATCH_SIZE;
use super::super::{now_micros, Budget};
use super::bits::Bits;

/// How long records may wait in a producer before they are put.
const LINGER: Duration = Duration::from_millis(10);
/// Bytes of a record's data read back to find its header (the header is at most 63).
const HEADER_MAX: usize = 96;

/// The header of a record made by [`record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    pub run_id: &'a str,
    /// Partition key index.
    pub key: u32,
    /// Sequence within the key: put order.
    pub key_seq: u64,
    /// When the record was put, µs since the epoch.
    pub put_micros: u64,
}

/// A record's partition key and data.
pub fn record(run_id: &str, key: u32, key_seq: u64, put_micros: u64, size: usize) -> (String, Vec<u8>) {
    let mut data = format!("{run_id}:{key}:{key_seq:016x}:{put_micros}:").into_bytes();
    if data.len() < size {
        data.resize(size, b'x');
    }
    (format!("k{key}"), data)
}

/// The header of a record made by [`record`], or `None` for anything else.
pub fn parse_record(data: &[u8]) -> Option<Header<'_>> {
    let prefix = &data[..data.len().min(HEADER_MAX)];
    let text = match std::str::from_utf8(prefix) {
        Ok(text) => text,
        // Cut inside a multi-byte character: the header, if any, is before it.
        Err(e) => std::str::from_utf8(&prefix[..e.valid_up_to()]).ok()?,
    };
    let mut parts = text.splitn(5, ':');
    let run_id = parts.next()?;
    let key = parts.next()?.parse().ok()?;
    let key_seq = u64::from_str_radix(parts.next()?, 16).ok()?;
    let put_micros = parts.next()?.parse().ok()?;
    parts.next()?;
    Some(Header {
        run_id,
        key,
        key_seq,
        put_micros,
    })
}

/// Records of one call for a producer of `rate` records/s: what [`LINGER`] collects, 1 to
/// [`BATCH_SIZE`].
pub fn linger_batch(rate: u64) -> u64 {
    let per_linger = (rate as f64 * LINGER.as_secs_f64()).ceil() as u64;
    per_linger.clamp(1, BATCH_SIZE as u64)
}

/// Splits `rate` records/s over at most `concurrency` producers: one entry per producer, none
/// with a rate of 0.
pub fn split_rate(rate: u64, concurrency: usize) -> Vec<u64> {
    let producers = (concurrency as u64).min(rate).max(1);
    (0..producers)
        .map(|p| rate / producers + u64::from(p < rate % producers))
        .collect()
}

/// What every producer reads.
pub struct Producers {
    pub client: Client,
    pub stream: String,
    pub run_id: String,
    pub message_size: usize,
    /// The pacing schedule's time zero.
    pub started: Instant,
    /// No call starts after this.
    pub deadline: Instant,
    /// `--max-ops`: PutRecords calls in total.
    pub budget: Budget,
}

/// What one producer did: its stats and, per key it owns, the acknowledged key sequences.
pub struct Puts {
    pub keys: Range<u32>,
    pub acked: Vec<Bits>,
    pub stats: TaskStats,
}

/// Puts `rate` records/s over `keys` (round robin) until the deadline or the budget is spent.
pub async fn produce(shared: Arc<Producers>, keys: Range<u32>, rate: u64) -> Puts {
    let key_count = keys.len().max(1);
    let mut puts = Puts {
        acked: vec![Bits::default(); key_count],
        keys,
        stats: TaskStats::new(),
    };
    let mut next_seq = vec![0u64; key_count];
    let mut issued = 0u64;
    let batch = linger_batch(rate);
    loop {
        let now = Instant::now();
        if now >= shared.deadline {
            break;
        }
        let due = (now.saturating_duration_since(shared.started).as_secs_f64() * rate as f64) as u64;
        let backlog = due.saturating_sub(issued);
        if backlog < batch {
            let at = Duration::try_from_secs_f64((issued + batch) as f64 / rate as f64).unwrap_or(Duration::MAX);
            let wake = shared.started.checked_add(at).unwrap_or(shared.deadline);
            tokio::time::sleep_until(wake.min(shared.deadline)).await;
            continue;
        }
        if !shared.budget.take() {
            break;
        }
        let count = backlog.min(BATCH_SIZE as u64);
        put(&shared, &mut puts, &mut next_seq, issued, count).await;
        issued += count;
    }
    puts
}

/// One PutRecords of `count` records, the first being the producer's record number `first`.
async fn put(shared: &Producers, puts: &mut Puts, next_seq: &mut [u64], first: u64, count: u64) {
    let key_count = next_seq.len() as u64;
    let put_micros = now_micros();
    let mut entries = Vec::new();
    let mut slots = Vec::new();
    for n in first..first + count {
        // Below key_count, itself a usize.
        let slot = (n % key_count) as usize;
        let key_seq = next_seq[slot];
        next_seq[slot] += 1;
        let key = puts.keys.start + slot as u32;
        let (partition_key, data) = record(&shared.run_id, key, key_seq, put_micros, shared.message_size);
        let entry = PutRecordsRequestEntry::builder()
            .partition_key(partition_key)
            .data(Blob::new(data))
            .build();
        match entry {
            Ok(entry) => entries.push(entry),
            Err(error) => {
                puts.stats.errors.add("ConstructionFailure", || error.to_string());
                return;
            }
        }
        slots.push((slot, key_seq));
    }
    let started = Instant::now();
    let result = shared
        .client
        .put_records()
        .stream_name(&shared.stream)
        .set_records(Some(entries))
        .send()
        .await;
    puts.stats.ops += 1;
    let out = match result {
        Ok(out) => out,
        Err(error) => {
            let (kind, message) = classify(&error);
            puts.stats.errors.add(&kind, || message);
            return;
        }
    };
    puts.stats.send.record(started.elapsed());
    if out.records().len() != slots.len() {
        puts.stats.errors.add("ResponseMismatch", || {
            format!("{} records put, {} results", slots.len(), out.records().len())
        });
    }
    // Results are in request order (PutRecords API reference).
    for (result, (slot, key_seq)) in out.records().iter().zip(&slots) {
        match result.error_code() {
            None => {
                puts.acked[*slot].insert(*key_seq);
                puts.stats.messages_sent += 1;
            }
            Some(code) => puts
                .stats
                .errors
                .add(code, || result.error_message().unwrap_or("(no message)").to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_have_the_requested_size() {
        let (key, data) = record("abcd1234", 17, 0x2a, 1_700_000_000_123_456, 256);
        assert_eq!(key, "k17");
        assert_eq!(data.len(), 256);
        let header = parse_record(&data);
        assert_eq!(
            header,
            Some(Header {
                run_id: "abcd1234",
                key: 17,
                key_seq: 0x2a,
                put_micros: 1_700_000_000_123_456,
            })
        );
        // The largest header still fits what parse_record reads.
        let (_, big) = record("abcd1234", u32::MAX, u64::MAX, u64::MAX, 0);
        assert!(big.len() < HEADER_MAX);
        assert!(parse_record(&big).is_some());
        assert_eq!(parse_record(b"abcd1234:1:zz:5:"), None);
        assert_eq!(parse_record("é".repeat(100).as_bytes()), None);
    }

    #[test]
    fn batches_and_rate_shares() {
        assert_eq!(linger_batch(1), 1);
        assert_eq!(linger_batch(312), 4);
        assert_eq!(linger_batch(5000), 50);
        assert_eq!(linger_batch(1_000_000), 500);
        assert_eq!(
            split_rate(5000, 16),
            vec![313, 313, 313, 313, 313, 313, 313, 313, 312, 312, 312, 312, 312, 312, 312, 312]
        );
        assert_eq!(split_rate(3, 16), vec![1, 1, 1]);
        assert_eq!(split_rate(10, 1), vec![10]);
        assert_eq!(split_rate(5000, 16).iter().sum::<u64>(), 5000);
    }
}
