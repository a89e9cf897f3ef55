//! Shards: hash ranges, shard ids, sequence numbers and record keys.
//!
//! # Sequence numbers
//! Inside Sluice a record's sequence is a u64 per shard whose high 42 bits are the arrival
//! millisecond and low 22 bits a counter: `max(previous + 1, now_ms << 22)`. So sequence order
//! is arrival order, AT_TIMESTAMP is a seek to `ms << 22` and retention is a range delete up to
//! `(now - retention) << 22`, without a separate time index.
//!
//! On the wire a sequence number is 56 decimal digits, like AWS's:
//! `49` + shard index (10) + sequence (20) + stream id (24). Within a shard only the sequence
//! varies, so numeric order is sequence order (KCL compares them as big integers), and a number
//! names its shard and stream, so one from another shard is refused like on AWS.

use serde::{Deserialize, Serialize};
use sluice_storage::key::KeyBuf;

/// Key prefix of records in `stream_records`.
pub const RECORD_PREFIX: u8 = 0x01;
/// Value encoding version of a stored record: partition key and data. Still read; records of
/// this version carry no encryption type (see [`StoredRecord::encrypted`]).
pub const RECORD_V1: u8 = 1;
/// Value encoding version of a stored record: [`RECORD_V1`] plus a flags byte that records
/// whether the stream was KMS-encrypted when the record was written.
pub const RECORD_V2: u8 = 2;
/// [`RECORD_V2`] flag: the record was written while the stream was KMS-encrypted.
const FLAG_KMS: u8 = 0x01;
/// Bits of a sequence below the arrival millisecond.
pub const COUNTER_BITS: u32 = 22;

/// The top of the 128-bit hash key space.
pub const MAX_HASH: u128 = u128::MAX;

/// Persisted description of one shard.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShardRecord {
    /// Index, which names the shard (`shardId-000000000007`); never reused in a stream.
    pub index: u32,
    /// Parent shard (split child, or merge child's first parent).
    pub parent: Option<u32>,
    /// Merge child's second parent.
    pub adjacent_parent: Option<u32>,
    /// First hash key, decimal.
    pub start_hash: String,
    /// Last hash key, decimal.
    pub end_hash: String,
    /// Sequence at creation (StartingSequenceNumber).
    pub starting_seq: u64,
    /// Set when the shard is closed by a split or merge.
    pub ending_seq: Option<u64>,
    /// Creation time, epoch ms.
    pub created_ms: u64,
    /// Closing time, epoch ms.
    pub closed_ms: Option<u64>,
}

impl ShardRecord {
    /// The hash range as integers.
    pub fn range(&self) -> (u128, u128) {
        (
            self.start_hash.parse().unwrap_or(0),
            self.end_hash.parse().unwrap_or(MAX_HASH),
        )
    }

    /// True while the shard accepts records.
    pub fn is_open(&self) -> bool {
        self.ending_seq.is_none()
    }

    /// The AWS-style shard id.
    pub fn id(&self) -> String {
        shard_id(self.index)
    }
}

/// `shardId-` and a 12-digit index.
pub fn shard_id(index: u32) -> String {
    format!("shardId-{index:012}")
}

/// Parses a shard id; AWS also accepts the bare number suffix, Sluice only the full form.
pub fn parse_shard_id(id: &str) -> Option<u32> {
    let digits = id.strip_prefix("shardId-")?;
    if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// MD5 of the partition key as a big-endian 128-bit integer (docs/wire-notes.md "Kinesis").
pub fn hash_of(partition_key: &str) -> u128 {
    use md5::{Digest, Md5};
    let digest = Md5::digest(partition_key.as_bytes());
    u128::from_be_bytes(digest.into())
}

/// The i-th of `n` contiguous ranges covering the whole key space, as AWS lays out a new stream.
pub fn uniform_range(i: u32, n: u32) -> (u128, u128) {
    let start = boundary(i, n);
    let end = if i + 1 == n { MAX_HASH } else { boundary(i + 1, n) - 1 };
    (start, end)
}

/// ceil(i * 2^128 / n) without overflow.
fn boundary(i: u32, n: u32) -> u128 {
    if i == 0 {
        return 0;
    }
    let n = n as u128;
    let i = i as u128;
    // 2^128 = n * q + r.
    let mut q = MAX_HASH / n;
    let mut r = MAX_HASH % n + 1;
    if r == n {
        q += 1;
        r = 0;
    }
    i * q + (i * r).div_ceil(n)
}

/// The wire form of a sequence.
pub fn format_sequence(stream_id: u64, shard: u32, seq: u64) -> String {
    format!("49{shard:010}{seq:020}{:024}", stream_id)
}

/// The shard and sequence a wire sequence number encodes, if it is one of this stream's.
pub fn parse_sequence(text: &str) -> Option<(u64, u32, u64)> {
    if text.len() != 56 || !text.starts_with("49") || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let shard: u32 = text[2..12].parse().ok()?;
    let seq: u64 = text[12..32].parse().ok()?;
    let stream: u64 = text[32..56].parse().ok()?;
    Some((stream, shard, seq))
}

/// The first sequence a record arriving at `ms` may take.
pub fn seq_floor(ms: u64) -> u64 {
    ms << COUNTER_BITS
}

/// The arrival millisecond of a sequence.
pub fn arrival_ms(seq: u64) -> u64 {
    seq >> COUNTER_BITS
}

/// The key prefix of one shard's records.
pub fn shard_prefix(stream_id: u64, shard: u32) -> Vec<u8> {
    KeyBuf::new(RECORD_PREFIX).u64(stream_id).u64(shard as u64).finish()
}

/// The key prefix of a stream's records.
pub fn stream_prefix(stream_id: u64) -> Vec<u8> {
    KeyBuf::new(RECORD_PREFIX).u64(stream_id).finish()
}

/// The key of one record.
pub fn record_key(stream_id: u64, shard: u32, seq: u64) -> Vec<u8> {
    KeyBuf::new(RECORD_PREFIX)
        .u64(stream_id)
        .u64(shard as u64)
        .u64(seq)
        .finish()
}

/// Offset of the sequence in a record key.
pub const SEQ_OFFSET: usize = 17;

/// A stored record as decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredRecord<'a> {
    /// Partition key.
    pub partition_key: &'a str,
    /// Payload.
    pub data: &'a [u8],
    /// Whether the stream was KMS-encrypted when the record was written; `None` for records
    /// written before Sluice stored it ([`RECORD_V1`]).
    pub encrypted: Option<bool>,
}

/// Encodes a stored record ([`RECORD_V2`]): version, flags, partition key length (u16 BE),
/// key, data. `encrypted` is the stream's setting at the write, which the record reports for
/// good (a record written before StartStreamEncryption stays `NONE`, as on AWS).
pub fn encode_record(partition_key: &str, data: &[u8], encrypted: bool) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + partition_key.len() + data.len());
    v.push(RECORD_V2);
    v.push(if encrypted { FLAG_KMS } else { 0 });
    v.extend_from_slice(&(partition_key.len() as u16).to_be_bytes());
    v.extend_from_slice(partition_key.as_bytes());
    v.extend_from_slice(data);
    v
}

/// Decodes a stored record of any version; `None` when it is not one (corruption).
pub fn decode_record(v: &[u8]) -> Option<StoredRecord<'_>> {
    let (encrypted, rest) = match *v.first()? {
        RECORD_V1 => (None, v.get(1..)?),
        RECORD_V2 => {
            let flags = *v.get(1)?;
            // Unknown flags mean a newer encoding this build cannot read faithfully.
            if flags & !FLAG_KMS != 0 {
                return None;
            }
            (Some(flags & FLAG_KMS != 0), v.get(2..)?)
        }
        _ => return None,
    };
    let len = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]) as usize;
    let key = rest.get(2..2 + len)?;
    let data = rest.get(2 + len..)?;
    Some(StoredRecord {
        partition_key: std::str::from_utf8(key).ok()?,
        data,
        encrypted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_ranges_match_aws_layout_and_are_contiguous() {
        assert_eq!(uniform_range(0, 1), (0, MAX_HASH));
        assert_eq!(
            uniform_range(1, 2).0,
            170141183460469231731687303715884105728,
            "AWS's second shard of two starts at 2^127"
        );
        for n in [1u32, 2, 3, 5, 7, 64, 500] {
            let mut next = 0u128;
            for i in 0..n {
                let (s, e) = uniform_range(i, n);
                assert_eq!(s, next, "n={n} i={i}");
                assert!(e >= s);
                next = e.wrapping_add(1);
            }
            assert_eq!(uniform_range(n - 1, n).1, MAX_HASH);
        }
    }

    #[test]
    fn sequences_round_trip_and_sort_numerically_within_a_shard() {
        let a = format_sequence(7, 3, seq_floor(1_700_000_000_000));
        let b = format_sequence(7, 3, seq_floor(1_700_000_000_000) + 1);
        assert_eq!(a.len(), 56);
        assert!(a < b);
        assert_eq!(parse_sequence(&b), Some((7, 3, seq_floor(1_700_000_000_000) + 1)));
        assert_eq!(parse_sequence("123"), None);
        assert_eq!(arrival_ms(seq_floor(42) + 5), 42);
    }

    #[test]
    fn md5_hash_of_known_key() {
        // md5("a") = 0cc175b9c0f1b6a831c399e269772661
        assert_eq!(hash_of("a"), 0x0cc175b9c0f1b6a831c399e269772661);
    }

    #[test]
    fn records_round_trip() {
        for encrypted in [false, true] {
            let v = encode_record("pk", b"data", encrypted);
            assert_eq!(
                decode_record(&v),
                Some(StoredRecord {
                    partition_key: "pk",
                    data: b"data",
                    encrypted: Some(encrypted),
                })
            );
        }
        assert_eq!(decode_record(&[9]), None);
        assert_eq!(decode_record(&[RECORD_V2, 0x02, 0, 0]), None, "unknown flag");
        assert_eq!(decode_record(&[RECORD_V2, 0, 0, 5, b'a']), None, "truncated key");
    }

    /// Records stored before the encryption flag existed (version 1, bytes as the old encoder
    /// wrote them) still decode, with no stored encryption type.
    #[test]
    fn version_1_records_still_decode() {
        let v1 = [&[RECORD_V1, 0, 2][..], b"pk", b"data"].concat();
        assert_eq!(
            decode_record(&v1),
            Some(StoredRecord {
                partition_key: "pk",
                data: b"data",
                encrypted: None,
            })
        );
    }
}
