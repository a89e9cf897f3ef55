//! Per-shard throughput limits: AWS's write and read quotas as token buckets, checked by
//! PutRecords and GetRecords when [`super::Streams::set_throughput_limits`] (in `mod.rs`)
//! turned them on.
//!
//! # Parts
//! - [`Bucket`]: one token bucket (SubscribeToShard's read budget uses it too).
//! - [`Throughput`]: one shard's four buckets, created on first use.
//!
//! # Invariants
//! - A bucket never holds more than one second's worth of its rate; a GetRecords may put the
//!   read-bytes bucket in debt, which refuses later reads until it refills.
//! - Buckets live in memory only and start full: a restart forgets past traffic.
//! - With limits off (the default) no bucket is created or read.

use super::ShardState;

/// Per-shard quotas enforced when throughput limits are on (AWS Kinesis Data Streams quotas).
const WRITE_BYTES_PER_SEC: f64 = 1_048_576.0;
const WRITE_RECORDS_PER_SEC: f64 = 1_000.0;
const READ_CALLS_PER_SEC: f64 = 5.0;
const READ_BYTES_PER_SEC: f64 = 2_097_152.0;

/// A token bucket refilled at `rate` per second up to one second's worth.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bucket {
    /// Tokens left; below zero when a read put it in debt.
    pub(super) level: f64,
    last_ms: u64,
}

impl Bucket {
    pub(super) fn full(rate: f64, now: u64) -> Bucket {
        Bucket {
            level: rate,
            last_ms: now,
        }
    }

    pub(super) fn refill(&mut self, rate: f64, now: u64) {
        let elapsed = now.saturating_sub(self.last_ms) as f64 / 1000.0;
        self.level = (self.level + elapsed * rate).min(rate);
        self.last_ms = now;
    }
}

/// One shard's throughput buckets.
#[derive(Debug, Clone, Copy)]
pub(super) struct Throughput {
    write_bytes: Bucket,
    write_records: Bucket,
    read_calls: Bucket,
    read_bytes: Bucket,
}

impl Throughput {
    fn new(now: u64) -> Throughput {
        Throughput {
            write_bytes: Bucket::full(WRITE_BYTES_PER_SEC, now),
            write_records: Bucket::full(WRITE_RECORDS_PER_SEC, now),
            read_calls: Bucket::full(READ_CALLS_PER_SEC, now),
            read_bytes: Bucket::full(READ_BYTES_PER_SEC, now),
        }
    }

    fn refill(&mut self, now: u64) {
        self.write_bytes.refill(WRITE_BYTES_PER_SEC, now);
        self.write_records.refill(WRITE_RECORDS_PER_SEC, now);
        self.read_calls.refill(READ_CALLS_PER_SEC, now);
        self.read_bytes.refill(READ_BYTES_PER_SEC, now);
    }

    /// Takes one record of `size` bytes from the write buckets; false (and nothing taken)
    /// when either is short.
    pub(super) fn admit_write(&mut self, size: f64) -> bool {
        if self.write_records.level >= 1.0 && self.write_bytes.level >= size {
            self.write_records.level -= 1.0;
            self.write_bytes.level -= size;
            true
        } else {
            false
        }
    }

    /// Takes one GetRecords call; false while the calls bucket is empty or the bytes bucket
    /// is in debt. A call may read up to 10 MiB, after which the byte bucket is in debt and
    /// later calls are refused until it refills (AWS: "subsequent calls made within the next
    /// 5 seconds throw").
    pub(super) fn admit_read(&mut self) -> bool {
        if self.read_calls.level >= 1.0 && self.read_bytes.level >= 0.0 {
            self.read_calls.level -= 1.0;
            true
        } else {
            false
        }
    }

    /// Charges the bytes a GetRecords returned, possibly into debt.
    pub(super) fn charge_read(&mut self, bytes: usize) {
        self.read_bytes.level -= bytes as f64;
    }
}

impl ShardState {
    /// Runs `f` on the shard's buckets, refilled to `now`.
    pub(super) fn with_throughput<T>(&self, now: u64, f: impl FnOnce(&mut Throughput) -> T) -> T {
        let mut guard = self.throughput.lock().unwrap_or_else(|p| p.into_inner());
        let t = guard.get_or_insert_with(|| Throughput::new(now));
        t.refill(now);
        f(t)
    }
}
