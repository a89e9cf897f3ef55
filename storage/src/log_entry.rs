//! The portable form of committed write batches: what cluster mode appends to the replicated
//! log and what every node applies to its own RocksDB.
//!
//! RocksDB's own batch format names column families by numeric ids that each database assigns
//! for itself; this form names them by [`Cf::ALL`]'s order, which is append-only (see the
//! crate's invariants), so any node of any later version reads it the same way.
//!
//! # Format (all integers little-endian)
//! ```text
//! entry := version:u8 (= 1) | batch_count:u32 | batch*
//! batch := op_count:u32 | op*
//! op    := tag:u8 | cf:u8 | key_len:u32 | key | (put: value_len:u32 | value)
//!                                               (delete_range: end_len:u32 | end)
//! ```
//! One entry holds every batch of one group commit, in commit order.

use crate::{Cf, StorageError};

const VERSION: u8 = 1;
const PUT: u8 = 1;
const DELETE: u8 = 2;
const DELETE_RANGE: u8 = 3;

/// The operations of one write batch, in the portable form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ops {
    bytes: Vec<u8>,
    count: u32,
}

impl Ops {
    /// Records `key = value`.
    pub fn put(&mut self, cf: Cf, key: &[u8], value: &[u8]) {
        self.op(PUT, cf, key);
        push_bytes(&mut self.bytes, value);
    }

    /// Records the removal of `key`.
    pub fn delete(&mut self, cf: Cf, key: &[u8]) {
        self.op(DELETE, cf, key);
    }

    /// Records the removal of every key in `[from, to)`.
    pub fn delete_range(&mut self, cf: Cf, from: &[u8], to: &[u8]) {
        self.op(DELETE_RANGE, cf, from);
        push_bytes(&mut self.bytes, to);
    }

    /// Number of operations recorded.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        self.bytes.len() + 4
    }

    fn op(&mut self, tag: u8, cf: Cf, key: &[u8]) {
        self.bytes.push(tag);
        self.bytes.push(cf_index(cf));
        push_bytes(&mut self.bytes, key);
        self.count += 1;
    }
}

/// One decoded operation, borrowing from the entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op<'a> {
    /// Set a key.
    Put(Cf, &'a [u8], &'a [u8]),
    /// Remove a key.
    Delete(Cf, &'a [u8]),
    /// Remove `[from, to)`.
    DeleteRange(Cf, &'a [u8], &'a [u8]),
}

/// Encodes the batches of one group commit as one log entry.
pub fn encode_entry<'a>(batches: impl IntoIterator<Item = &'a Ops>) -> Vec<u8> {
    let batches: Vec<&Ops> = batches.into_iter().collect();
    let size = 5 + batches.iter().map(|b| b.encoded_len()).sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.push(VERSION);
    out.extend_from_slice(&(batches.len() as u32).to_le_bytes());
    for batch in batches {
        out.extend_from_slice(&batch.count.to_le_bytes());
        out.extend_from_slice(&batch.bytes);
    }
    out
}

/// Decodes a log entry into its operations, in order, batch boundaries flattened (a group's
/// batches are applied together, so their boundaries do not matter to a replica).
pub fn decode_entry(entry: &[u8]) -> Result<Vec<Op<'_>>, StorageError> {
    let mut r = Reader { rest: entry };
    let version = r.u8()?;
    if version != VERSION {
        return Err(corrupt(format!("unknown log entry version {version}")));
    }
    let batches = r.u32()?;
    let mut ops = Vec::new();
    for _ in 0..batches {
        let count = r.u32()?;
        for _ in 0..count {
            let tag = r.u8()?;
            let cf = cf_at(r.u8()?)?;
            let key = r.bytes()?;
            ops.push(match tag {
                PUT => Op::Put(cf, key, r.bytes()?),
                DELETE => Op::Delete(cf, key),
                DELETE_RANGE => Op::DeleteRange(cf, key, r.bytes()?),
                other => return Err(corrupt(format!("unknown log operation {other}"))),
            });
        }
    }
    if !r.rest.is_empty() {
        return Err(corrupt(format!("{} bytes after the last operation", r.rest.len())));
    }
    Ok(ops)
}

fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn cf_index(cf: Cf) -> u8 {
    Cf::ALL.iter().position(|c| *c == cf).unwrap_or(0) as u8
}

fn cf_at(index: u8) -> Result<Cf, StorageError> {
    Cf::ALL
        .get(index as usize)
        .copied()
        .ok_or_else(|| corrupt(format!("unknown column family {index}")))
}

fn corrupt(what: String) -> StorageError {
    StorageError::Corrupt(format!("log entry: {what}"))
}

/// A bounds-checked cursor: a truncated entry is an error, never a panic.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StorageError> {
        if self.rest.len() < n {
            return Err(corrupt("truncated".into()));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, StorageError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, StorageError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn bytes(&mut self) -> Result<&'a [u8], StorageError> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_order_across_batches() {
        let mut a = Ops::default();
        a.put(Cf::Meta, b"k", b"v");
        a.delete(Cf::QueueState, b"gone");
        let mut b = Ops::default();
        b.delete_range(Cf::StreamRecords, b"a", b"z");
        b.put(Cf::Outbox, b"", b"");
        let entry = encode_entry([&a, &b]);
        assert_eq!(
            decode_entry(&entry).expect("decodes"),
            vec![
                Op::Put(Cf::Meta, b"k", b"v"),
                Op::Delete(Cf::QueueState, b"gone"),
                Op::DeleteRange(Cf::StreamRecords, b"a", b"z"),
                Op::Put(Cf::Outbox, b"", b""),
            ]
        );
        assert_eq!((a.len(), b.len()), (2, 2));
    }

    #[test]
    fn every_column_family_keeps_its_name() {
        for cf in Cf::ALL {
            let mut ops = Ops::default();
            ops.delete(cf, b"x");
            assert_eq!(
                decode_entry(&encode_entry([&ops])).expect("decodes"),
                vec![Op::Delete(cf, b"x")]
            );
        }
    }

    #[test]
    fn damaged_entries_are_errors_not_panics() {
        let mut ops = Ops::default();
        ops.put(Cf::Meta, b"key", b"value");
        let entry = encode_entry([&ops]);
        for cut in 0..entry.len() {
            assert!(decode_entry(&entry[..cut]).is_err(), "truncated at {cut}");
        }
        let mut extra = entry.clone();
        extra.push(0);
        assert!(decode_entry(&extra).is_err());
        let mut bad_cf = entry.clone();
        bad_cf[10] = 200;
        assert!(decode_entry(&bad_cf).is_err());
        let mut bad_version = entry;
        bad_version[0] = 9;
        assert!(decode_entry(&bad_version).is_err());
    }
}
