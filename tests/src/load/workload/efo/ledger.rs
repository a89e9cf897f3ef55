//! What kinesis-efo checks: the records producers got acknowledged, what each consumer was
//! pushed, and the comparison of the two.
//!
//! Records are identified by partition key index and a per-key sequence (`record` in
//! `producer.rs`): each key belongs to one producer, which puts its records in sequence order,
//! so the key sequence is the put order. Both sides keep one [`Bits`] per key (bit `n` = key
//! sequence `n`), which keeps an hour at full rate to a few megabytes per consumer.
//!
//! Per consumer, a delivery is counted once, as the first of these that applies:
//! - a duplicate: its bit was already set;
//! - out of order: its key sequence is below the key's last one, or its Kinesis sequence number
//!   is not above the last one delivered from its shard (numbers are decimal strings of up to
//!   128 digits, compared by [`cmp_sequence_numbers`]).

use std::cmp::Ordering;
use std::collections::HashMap;

use tokio::time::Instant;

use super::super::super::report::Verification;
use super::super::super::stats::TaskStats;
use super::bits::Bits;
use super::producer::parse_record;

/// Highest key sequence a delivery may carry: far above anything a run puts (an hour at the
/// maximum `--rate` on one key), low enough that a corrupt record cannot make a [`Bits`]
/// allocate more than 32 MiB.
const MAX_KEY_SEQ: u64 = 1 << 28;

/// Orders two Kinesis sequence numbers: decimal strings of up to 128 digits, too long for any
/// integer type, so by length (leading zeros ignored) and then digit by digit.
pub fn cmp_sequence_numbers(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Whether `text` looks like a sequence number at all.
fn is_sequence_number(text: &str) -> bool {
    !text.is_empty() && text.len() <= 128 && text.bytes().all(|b| b.is_ascii_digit())
}

/// One key's deliveries to one consumer.
#[derive(Debug, Default)]
struct KeyTrack {
    seen: Bits,
    last: Option<u64>,
}

/// Everything one consumer was pushed, over all its shard subscriptions (they share it behind
/// a mutex, so it survives their tasks being aborted at the end).
#[derive(Debug)]
pub struct ConsumerLedger {
    run_id: String,
    keys: Vec<KeyTrack>,
    /// Last sequence number delivered per shard id.
    shard_last: HashMap<String, String>,
    /// SubscribeToShard calls, errors, and put-to-delivery latency as `receive`.
    pub stats: TaskStats,
    /// This run's records delivered at least once.
    pub unique: u64,
    /// Deliveries of this run's records, duplicates included.
    pub deliveries: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    /// Records of another run (a reused `--queue-name` stream).
    pub foreign: u64,
    /// When the last record of this run arrived.
    pub last_delivery: Option<Instant>,
}

impl ConsumerLedger {
    /// An empty ledger for a run with `keys` partition keys.
    pub fn new(run_id: &str, keys: usize) -> Self {
        let mut tracks = Vec::with_capacity(keys);
        tracks.resize_with(keys, KeyTrack::default);
        Self {
            run_id: run_id.to_string(),
            keys: tracks,
            shard_last: HashMap::new(),
            stats: TaskStats::new(),
            unique: 0,
            deliveries: 0,
            duplicates: 0,
            out_of_order: 0,
            foreign: 0,
            last_delivery: None,
        }
    }

    /// Books one pushed record that arrived at `arrived_micros` (µs since the epoch).
    pub fn deliver(&mut self, shard_id: &str, sequence_number: &str, data: &[u8], arrived_micros: u64) {
        let Some(record) = parse_record(data) else {
            // Neither ours nor another run's: the broker changed the data.
            self.stats.checksum_mismatches += 1;
            return;
        };
        if record.run_id != self.run_id {
            self.foreign += 1;
            return;
        }
        let track = match usize::try_from(record.key).ok().and_then(|k| self.keys.get_mut(k)) {
            Some(track) if record.key_seq <= MAX_KEY_SEQ && is_sequence_number(sequence_number) => track,
            _ => {
                self.stats.checksum_mismatches += 1;
                return;
            }
        };
        self.deliveries += 1;
        self.last_delivery = Some(Instant::now());
        self.stats.receive.record(std::time::Duration::from_micros(
            arrived_micros.saturating_sub(record.put_micros),
        ));
        let shard_in_order = match self.shard_last.get_mut(shard_id) {
            Some(last) => {
                let ordered = cmp_sequence_numbers(sequence_number, last) == Ordering::Greater;
                if ordered {
                    sequence_number.clone_into(last);
                }
                ordered
            }
            None => {
                self.shard_last
                    .insert(shard_id.to_string(), sequence_number.to_string());
                true
            }
        };
        if !track.seen.insert(record.key_seq) {
            self.duplicates += 1;
            return;
        }
        self.unique += 1;
        let key_in_order = track.last.is_none_or(|last| record.key_seq > last);
        if key_in_order {
            track.last = Some(record.key_seq);
        }
        if !(key_in_order && shard_in_order) {
            self.out_of_order += 1;
        }
    }

    /// This consumer's deliveries against the acknowledged records (one [`Bits`] per key).
    pub fn verify(&self, acked: &[Bits]) -> Verification {
        let mut v = Verification {
            duplicates: self.duplicates,
            foreign: self.foreign,
            out_of_order: self.out_of_order,
            ..Verification::default()
        };
        let empty = Bits::default();
        for (key, track) in self.keys.iter().enumerate() {
            let want = acked.get(key).unwrap_or(&empty);
            let common = track.seen.common(want);
            v.sent += want.len();
            v.received_unique += common;
            v.missing += want.len() - common;
            v.unexpected += track.seen.len() - common;
        }
        v
    }
}

/// Adds `other` into `total`, field by field.
pub fn add_verification(total: &mut Verification, other: &Verification) {
    total.sent += other.sent;
    total.received_unique += other.received_unique;
    total.missing += other.missing;
    total.duplicates += other.duplicates;
    total.unexpected += other.unexpected;
    total.foreign += other.foreign;
    total.out_of_order += other.out_of_order;
    total.dedupe_misses += other.dedupe_misses;
}

#[cfg(test)]
mod tests {
    use super::super::producer::record;
    use super::*;

    #[test]
    fn bits_count_and_intersect() {
        let mut a = Bits::default();
        assert!(a.insert(0) && a.insert(63) && a.insert(64) && a.insert(1000));
        assert!(!a.insert(63));
        assert_eq!(a.len(), 4);
        let mut b = Bits::default();
        b.insert(64);
        b.insert(5);
        assert_eq!(a.common(&b), 1);
        assert_eq!(b.common(&a), 1);
        assert_eq!(Bits::default().len(), 0);
    }

    #[test]
    fn sequence_numbers_compare_as_big_decimals() {
        let small = "49590338271490256608559692538361571095921575989136588898";
        let next = "49590338271490256608559692538361571095921575989136588899";
        let longer = "100000000000000000000000000000000000000000000000000000000";
        assert_eq!(cmp_sequence_numbers(small, next), Ordering::Less);
        assert_eq!(cmp_sequence_numbers(next, small), Ordering::Greater);
        assert_eq!(cmp_sequence_numbers(small, longer), Ordering::Less);
        assert_eq!(cmp_sequence_numbers("9", "10"), Ordering::Less);
        assert_eq!(cmp_sequence_numbers("007", "7"), Ordering::Equal);
        let huge = "9".repeat(128);
        assert_eq!(cmp_sequence_numbers(&huge, &"9".repeat(127)), Ordering::Greater);
        assert!(is_sequence_number(&huge));
        assert!(!is_sequence_number(&"9".repeat(129)));
        assert!(!is_sequence_number("12a"));
    }

    fn deliver(ledger: &mut ConsumerLedger, shard: &str, seq: u64, key: u32, key_seq: u64) {
        let (_, data) = record("run1", key, key_seq, 1_000, 64);
        ledger.deliver(shard, &format!("4959{seq:020}"), &data, 1_500);
    }

    #[test]
    fn a_clean_stream_of_deliveries_verifies() {
        let mut ledger = ConsumerLedger::new("run1", 2);
        let mut acked = vec![Bits::default(), Bits::default()];
        for n in 0..10 {
            deliver(&mut ledger, "shard-0", n, 0, n);
            deliver(&mut ledger, "shard-1", n, 1, n);
            acked[0].insert(n);
            acked[1].insert(n);
        }
        let v = ledger.verify(&acked);
        assert_eq!((v.sent, v.received_unique, v.missing), (20, 20, 0));
        assert_eq!((v.duplicates, v.out_of_order, v.unexpected), (0, 0, 0));
        assert_eq!(ledger.deliveries, 20);
        // 500 µs from put to arrival.
        assert_eq!(ledger.stats.receive.count(), 20);
        assert!((ledger.stats.receive.summary().p50_ms - 0.5).abs() < 0.001);
    }

    #[test]
    fn gaps_repeats_and_reordering_are_counted() {
        let mut ledger = ConsumerLedger::new("run1", 1);
        let mut acked = Bits::default();
        for n in 0..5 {
            acked.insert(n);
        }
        deliver(&mut ledger, "s", 1, 0, 0);
        deliver(&mut ledger, "s", 2, 0, 2);
        // Key sequence 1 after 2: out of key order (its shard sequence number is fine).
        deliver(&mut ledger, "s", 3, 0, 1);
        // Sequence 2 again: a duplicate, not also out of order.
        deliver(&mut ledger, "s", 4, 0, 2);
        // A new key sequence with a shard sequence number going backwards.
        deliver(&mut ledger, "s", 3, 0, 3);
        // Put failed but stored anyway.
        deliver(&mut ledger, "s", 9, 0, 7);
        let v = ledger.verify(std::slice::from_ref(&acked));
        assert_eq!(v.sent, 5);
        assert_eq!(v.received_unique, 4);
        assert_eq!(v.missing, 1, "key sequence 4 never came");
        assert_eq!(v.duplicates, 1);
        assert_eq!(v.out_of_order, 2);
        assert_eq!(v.unexpected, 1);
    }

    #[test]
    fn foreign_and_garbled_records_are_kept_apart() {
        let mut ledger = ConsumerLedger::new("run1", 1);
        let (_, other_run) = record("run2", 0, 0, 1, 64);
        ledger.deliver("s", "1", &other_run, 2);
        ledger.deliver("s", "2", b"not a load-tool record", 2);
        let (_, unknown_key) = record("run1", 5, 0, 1, 64);
        ledger.deliver("s", "3", &unknown_key, 2);
        assert_eq!(ledger.foreign, 1);
        assert_eq!(ledger.stats.checksum_mismatches, 2);
        assert_eq!(ledger.deliveries, 0);
    }
}
