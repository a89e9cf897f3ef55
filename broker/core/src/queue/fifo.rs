//! FIFO bookkeeping: deduplication windows, sequence numbers and receive-attempt replay.
//!
//! The deduplication window is durable and lives on disk only: each accepted id is written to
//! the `dedupe` column family in the same batch as its message, looked up there by the next
//! send of the same id (one point read), and dropped by RocksDB's compactions once it expired.
//! A restart inside the five minutes still drops a resend, and memory does not grow with the
//! send rate. Receive attempts are only remembered in memory: their purpose is a client retrying a
//! request whose answer was lost a moment ago, which a broker restart already answers by making
//! the messages visible again after their visibility timeout.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use sluice_storage::key::{self, KeyBuf};
use sluice_storage::StorageError;

use super::error::{QueueError, Result};

/// How long a deduplication id, and a receive attempt id, is remembered.
pub const DEDUPLICATION_WINDOW_MS: u64 = 300_000;
/// Most receive attempts remembered per queue; the oldest are forgotten first.
const MAX_ATTEMPTS: usize = 10_000;
/// Key prefix of deduplication entries in `dedupe`.
const DEDUPE_PREFIX: u8 = 0x20;
/// Sequence numbers are `SEQUENCE_BASE + internal sequence`: 20 digits, like AWS's.
const SEQUENCE_BASE: u128 = 10_000_000_000_000_000_000;

/// The SequenceNumber clients see for internal sequence `seq`.
pub fn sequence_number(seq: u64) -> String {
    (SEQUENCE_BASE + seq as u128).to_string()
}

/// The content-based deduplication id: hex SHA-256 of the body.
pub fn content_deduplication_id(body: &str) -> String {
    hex::encode(Sha256::digest(body.as_bytes()))
}

/// Checks a MessageGroupId or MessageDeduplicationId: 1-128 characters, each alphanumeric or
/// ASCII punctuation.
pub fn validate_id(parameter: &str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b.is_ascii_punctuation());
    if ok {
        Ok(())
    } else {
        Err(QueueError::InvalidParameterValue(format!(
            "Value {value} for parameter {parameter} is invalid. Reason: {parameter} can only include alphanumeric and punctuation characters. 1 to 128 in length."
        )))
    }
}

/// A deduplication id as remembered: the first 16 bytes of SHA-256 over (scope, id). Keeping
/// a digest instead of the strings bounds memory per entry whatever the id's length; a 128-bit
/// collision between two live ids of one queue is not a practical concern.
pub type DedupKey = [u8; 16];

/// The key of deduplication id `id` in `scope` (the message group, or empty for the queue).
pub fn dedup_key(scope: &str, id: &str) -> DedupKey {
    let mut hasher = Sha256::new();
    hasher.update((scope.len() as u64).to_be_bytes());
    hasher.update(scope.as_bytes());
    hasher.update(id.as_bytes());
    let digest = hasher.finalize();
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// A remembered deduplication id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DedupEntry {
    /// When the window closes, epoch ms.
    pub expires_ms: u64,
    /// Internal sequence of the original message.
    pub seq: u64,
    /// The original message id.
    pub message_id: uuid::Uuid,
}

/// The live original of deduplication id `key` in queue `queue_id` at `now_ms`, as stored. The
/// window lives on disk, not in memory: a queue sending 50,000 messages a second holds 15
/// million ids at any time, and an expired entry left behind counts for nothing (compactions
/// drop it, see `Cf::Dedupe`).
pub fn stored_original(
    store: &sluice_storage::Store,
    queue_id: u64,
    key: &DedupKey,
    now_ms: u64,
) -> std::result::Result<Option<DedupEntry>, StorageError> {
    let storage_key = dedupe_key(queue_id, key);
    let Some(value) = store.get(sluice_storage::Cf::Dedupe, &storage_key)? else {
        return Ok(None);
    };
    match decode_entry(&storage_key, &value) {
        Ok((_, entry)) => Ok(Some(entry).filter(|e| e.expires_ms > now_ms)),
        Err(err) => {
            // Unreadable, it deduplicates nothing: the send takes the id and overwrites it.
            tracing::warn!(queue_id, error = %err, "ignoring an unreadable deduplication entry");
            Ok(None)
        }
    }
}

/// Prefix of every deduplication key of a queue.
pub fn dedupe_prefix(queue_id: u64) -> Vec<u8> {
    KeyBuf::new(DEDUPE_PREFIX).u64(queue_id).finish()
}

/// Storage key of one deduplication entry.
pub fn dedupe_key(queue_id: u64, key: &DedupKey) -> Vec<u8> {
    KeyBuf::new(DEDUPE_PREFIX).u64(queue_id).raw(key).finish()
}

/// Encodes a deduplication entry's value.
pub fn encode_entry(entry: &DedupEntry) -> Vec<u8> {
    let mut out = Vec::with_capacity(32);
    out.extend_from_slice(&entry.expires_ms.to_be_bytes());
    out.extend_from_slice(&entry.seq.to_be_bytes());
    out.extend_from_slice(entry.message_id.as_bytes());
    out
}

/// Decodes a stored deduplication entry.
pub fn decode_entry(k: &[u8], v: &[u8]) -> std::result::Result<(DedupKey, DedupEntry), StorageError> {
    let corrupt = || StorageError::Corrupt("bad deduplication entry".into());
    // Prefix byte and queue id, then the digest.
    let key: DedupKey = k.get(9..25).and_then(|d| d.try_into().ok()).ok_or_else(corrupt)?;
    let expires_ms = key::read_u64(v, 0).ok_or_else(corrupt)?;
    let seq = key::read_u64(v, 8).ok_or_else(corrupt)?;
    let message_id = v
        .get(16..32)
        .and_then(|b| uuid::Uuid::from_slice(b).ok())
        .ok_or_else(corrupt)?;
    Ok((
        key,
        DedupEntry {
            expires_ms,
            seq,
            message_id,
        },
    ))
}

/// One remembered ReceiveMessage answer: the messages and the receipt nonces it handed out.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// When the attempt was answered, epoch ms.
    pub at_ms: u64,
    /// (sequence, nonce) of each message returned.
    pub messages: Vec<(u64, u64)>,
}

/// Receive attempts of one queue by ReceiveRequestAttemptId.
#[derive(Debug, Default)]
pub struct Attempts {
    by_id: HashMap<String, Attempt>,
}

impl Attempts {
    /// The attempt `id` if it is inside the window.
    pub fn get(&self, id: &str, now_ms: u64) -> Option<&Attempt> {
        self.by_id
            .get(id)
            .filter(|a| now_ms.saturating_sub(a.at_ms) < DEDUPLICATION_WINDOW_MS)
    }

    /// Remembers an answered attempt, forgetting expired ones and, past the cap, the oldest.
    pub fn insert(&mut self, id: String, attempt: Attempt) {
        let now = attempt.at_ms;
        self.by_id
            .retain(|_, a| now.saturating_sub(a.at_ms) < DEDUPLICATION_WINDOW_MS);
        if self.by_id.len() >= MAX_ATTEMPTS {
            if let Some(oldest) = self.by_id.iter().min_by_key(|(_, a)| a.at_ms).map(|(k, _)| k.clone()) {
                self.by_id.remove(&oldest);
            }
        }
        self.by_id.insert(id, attempt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_are_20_digits_and_increase() {
        assert_eq!(sequence_number(1).len(), 20);
        assert_eq!(sequence_number(u64::MAX).len(), 20);
        assert!(
            sequence_number(9) < sequence_number(10),
            "same length, so text order is numeric"
        );
    }

    #[test]
    fn ids_allow_punctuation_only() {
        assert!(validate_id("MessageGroupId", "a-b_c.d!~{}").is_ok());
        assert!(validate_id("MessageGroupId", &"x".repeat(128)).is_ok());
        assert!(validate_id("MessageGroupId", &"x".repeat(129)).is_err());
        assert!(validate_id("MessageGroupId", "").is_err());
        assert!(validate_id("MessageGroupId", "with space").is_err());
        assert!(validate_id("MessageGroupId", "é").is_err());
    }

    #[test]
    fn entries_round_trip_and_expire() {
        let e = DedupEntry {
            expires_ms: 500,
            seq: 7,
            message_id: uuid::Uuid::new_v4(),
        };
        let key = dedup_key("g", "id");
        assert_ne!(key, dedup_key("", "id"), "scopes are separate");
        assert_ne!(
            dedup_key("a", "bc"),
            dedup_key("ab", "c"),
            "the scope is length-prefixed"
        );
        let k = dedupe_key(3, &key);
        assert!(k.starts_with(&dedupe_prefix(3)));
        assert_eq!(decode_entry(&k, &encode_entry(&e)).expect("decode"), (key, e));
        // Looked up on disk, live until its expiry, and only in its own queue.
        let dir = tempfile::tempdir().expect("tempdir");
        let store = sluice_storage::Store::open(
            dir.path(),
            sluice_storage::StoreOptions {
                durability: sluice_storage::Durability::Process,
            },
        )
        .expect("open");
        let mut batch = store.batch();
        batch.put(sluice_storage::Cf::Dedupe, &k, &encode_entry(&e));
        store.commit(batch).expect("commit");
        assert_eq!(stored_original(&store, 3, &key, 499).expect("read"), Some(e));
        assert_eq!(stored_original(&store, 3, &key, 500).expect("read"), None, "expired");
        assert_eq!(
            stored_original(&store, 4, &key, 0).expect("read"),
            None,
            "another queue"
        );
        assert_eq!(stored_original(&store, 3, &dedup_key("", "id"), 0).expect("read"), None);
        let mut batch = store.batch();
        batch.put(sluice_storage::Cf::Dedupe, &k, b"short");
        store.commit(batch).expect("commit");
        assert_eq!(
            stored_original(&store, 3, &key, 0).expect("read"),
            None,
            "unreadable: no original"
        );
    }

    #[test]
    fn content_ids_hash_the_body() {
        assert_eq!(
            content_deduplication_id("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
