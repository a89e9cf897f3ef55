//! Messages: the public types and their versioned binary encodings on disk.
//!
//! A message is stored as two values under the same (queue id, sequence) key:
//! an immutable payload in `queue_msgs` written once at send, and a small mutable state in
//! `queue_state` written at each receive or visibility change. Encodings start with a version
//! byte; versions are append-only.

use std::collections::BTreeMap;

use sluice_storage::key::KeyBuf;
use sluice_storage::StorageError;

/// Key prefix of message payloads in `queue_msgs` and states in `queue_state`.
pub const MSG_PREFIX: u8 = 0x10;

/// A message attribute as clients send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAttribute {
    /// `String`, `Number` or `Binary`, optionally with a `.label` suffix.
    pub data_type: String,
    /// Value of String and Number attributes.
    pub string_value: Option<String>,
    /// Value of Binary attributes.
    pub binary_value: Option<Vec<u8>>,
}

impl MessageAttribute {
    /// The bytes AWS counts toward the message size: name, type and value.
    pub fn size(&self, name: &str) -> usize {
        name.len()
            + self.data_type.len()
            + self.string_value.as_ref().map_or(0, |s| s.len())
            + self.binary_value.as_ref().map_or(0, |b| b.len())
    }
}

/// Message attributes by name.
pub type MessageAttributes = BTreeMap<String, MessageAttribute>;

/// One message to enqueue.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    /// The body.
    pub body: String,
    /// Per-message delay; the queue's DelaySeconds when `None`.
    pub delay_seconds: Option<u32>,
    /// User attributes.
    pub attributes: MessageAttributes,
    /// System attributes (AWSTraceHeader).
    pub system_attributes: MessageAttributes,
    /// Who sent it (account or access key), reported as SenderId.
    pub sender_id: String,
    /// Message group: FIFO order unit, or the tenant of a fair standard queue.
    pub group_id: Option<String>,
    /// FIFO deduplication id as sent.
    pub deduplication_id: Option<String>,
}

/// What a successful send reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The new message's id (the original's, for a FIFO duplicate).
    pub message_id: String,
    /// FIFO sequence number.
    pub sequence_number: Option<String>,
}

/// A message handed to a consumer.
#[derive(Debug, Clone)]
pub struct ReceivedMessage {
    /// The message id.
    pub message_id: String,
    /// The handle for this receive.
    pub receipt_handle: String,
    /// The body.
    pub body: String,
    /// User attributes.
    pub attributes: MessageAttributes,
    /// System attributes as sent (AWSTraceHeader).
    pub system_attributes: MessageAttributes,
    /// When it was sent, epoch ms.
    pub sent_timestamp_ms: u64,
    /// Receives including this one.
    pub receive_count: u32,
    /// When it was first received, epoch ms.
    pub first_receive_timestamp_ms: u64,
    /// Who sent it.
    pub sender_id: String,
    /// Message group id.
    pub group_id: Option<String>,
    /// FIFO deduplication id (explicit or content-based).
    pub deduplication_id: Option<String>,
    /// FIFO sequence number.
    pub sequence_number: Option<String>,
}

/// The immutable part of a stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPayload {
    /// The message id (UUID text).
    pub message_id: String,
    /// Epoch ms of the original send.
    pub sent_ms: u64,
    /// When it first becomes visible, epoch ms.
    pub initial_visible_at_ms: u64,
    /// Who sent it.
    pub sender_id: String,
    /// The body.
    pub body: String,
    /// User attributes.
    pub attributes: MessageAttributes,
    /// System attributes.
    pub system_attributes: MessageAttributes,
    /// Message group id.
    pub group_id: Option<String>,
    /// FIFO deduplication id (explicit or content-based).
    pub deduplication_id: Option<String>,
    /// ARN of the queue a dead-lettered message came from (the default redrive destination).
    pub dead_letter_source_arn: Option<String>,
}

/// The mutable part of a stored message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoredState {
    /// When it becomes visible again, epoch ms.
    pub visible_at_ms: u64,
    /// Receives so far.
    pub receive_count: u32,
    /// First receive, epoch ms (0 when never received).
    pub first_receive_ms: u64,
    /// Last receive, epoch ms (0 when never received).
    pub last_receive_ms: u64,
    /// Nonce of the newest receipt handle.
    pub nonce: u64,
}

/// Key of a message in `queue_msgs` and `queue_state`.
pub fn message_key(queue_id: u64, seq: u64) -> Vec<u8> {
    KeyBuf::new(MSG_PREFIX).u64(queue_id).u64(seq).finish()
}

/// Prefix of every message key of a queue.
pub fn queue_prefix(queue_id: u64) -> Vec<u8> {
    KeyBuf::new(MSG_PREFIX).u64(queue_id).finish()
}

const PAYLOAD_V1: u8 = 1;
/// V1 plus group id, deduplication id and dead-letter source.
const PAYLOAD_V2: u8 = 2;
const STATE_V1: u8 = 1;

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

fn put_opt(out: &mut Vec<u8>, value: &Option<String>) {
    match value {
        Some(v) => {
            out.push(1);
            put_bytes(out, v.as_bytes());
        }
        None => out.push(0),
    }
}

fn put_attributes(out: &mut Vec<u8>, attrs: &MessageAttributes) {
    out.extend_from_slice(&(attrs.len() as u32).to_be_bytes());
    for (name, attr) in attrs {
        put_bytes(out, name.as_bytes());
        put_bytes(out, attr.data_type.as_bytes());
        match (&attr.string_value, &attr.binary_value) {
            (Some(s), _) => {
                out.push(1);
                put_bytes(out, s.as_bytes());
            }
            (None, Some(b)) => {
                out.push(2);
                put_bytes(out, b);
            }
            (None, None) => out.push(0),
        }
    }
}

/// Reads fields in order from an encoded value.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn corrupt() -> StorageError {
        StorageError::Corrupt("truncated message record".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], StorageError> {
        if self.buf.len() < n {
            return Err(Self::corrupt());
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, StorageError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, StorageError> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().map_err(|_| Self::corrupt())?,
        ))
    }

    fn u64(&mut self) -> Result<u64, StorageError> {
        Ok(u64::from_be_bytes(
            self.take(8)?.try_into().map_err(|_| Self::corrupt())?,
        ))
    }

    fn bytes(&mut self) -> Result<&'a [u8], StorageError> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn string(&mut self) -> Result<String, StorageError> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| StorageError::Corrupt("invalid utf-8 in message".into()))
    }

    fn opt_string(&mut self) -> Result<Option<String>, StorageError> {
        match self.u8()? {
            0 => Ok(None),
            _ => Ok(Some(self.string()?)),
        }
    }

    /// Steps over what `attributes` would read, without copying it.
    fn skip_attributes(&mut self) -> Result<(), StorageError> {
        for _ in 0..self.u32()? {
            self.bytes()?;
            self.bytes()?;
            if matches!(self.u8()?, 1 | 2) {
                self.bytes()?;
            }
        }
        Ok(())
    }

    fn attributes(&mut self) -> Result<MessageAttributes, StorageError> {
        let n = self.u32()?;
        let mut attrs = MessageAttributes::new();
        for _ in 0..n {
            let name = self.string()?;
            let data_type = self.string()?;
            let (string_value, binary_value) = match self.u8()? {
                1 => (Some(self.string()?), None),
                2 => (None, Some(self.bytes()?.to_vec())),
                _ => (None, None),
            };
            attrs.insert(
                name,
                MessageAttribute {
                    data_type,
                    string_value,
                    binary_value,
                },
            );
        }
        Ok(attrs)
    }
}

impl StoredPayload {
    /// Encodes for `queue_msgs`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.body.len());
        out.push(PAYLOAD_V2);
        put_bytes(&mut out, self.message_id.as_bytes());
        out.extend_from_slice(&self.sent_ms.to_be_bytes());
        out.extend_from_slice(&self.initial_visible_at_ms.to_be_bytes());
        put_bytes(&mut out, self.sender_id.as_bytes());
        put_bytes(&mut out, self.body.as_bytes());
        put_attributes(&mut out, &self.attributes);
        put_attributes(&mut out, &self.system_attributes);
        put_opt(&mut out, &self.group_id);
        put_opt(&mut out, &self.deduplication_id);
        put_opt(&mut out, &self.dead_letter_source_arn);
        out
    }

    /// Reads only the send time and first visibility of a `queue_msgs` value: what the index
    /// needs of a message it keeps on disk, without copying its body.
    pub fn decode_times(buf: &[u8]) -> Result<(u64, u64), StorageError> {
        let mut r = Reader { buf };
        let version = r.u8()?;
        if version != PAYLOAD_V1 && version != PAYLOAD_V2 {
            return Err(StorageError::Corrupt("unknown message payload version".into()));
        }
        r.bytes()?;
        Ok((r.u64()?, r.u64()?))
    }

    /// Reads what the index keeps of a `queue_msgs` value (send time, first visibility, group)
    /// without copying its body or attributes.
    pub fn decode_index(buf: &[u8]) -> Result<(u64, u64, Option<String>), StorageError> {
        let mut r = Reader { buf };
        let version = r.u8()?;
        if version != PAYLOAD_V1 && version != PAYLOAD_V2 {
            return Err(StorageError::Corrupt("unknown message payload version".into()));
        }
        r.bytes()?;
        let (sent_ms, visible_at_ms) = (r.u64()?, r.u64()?);
        r.bytes()?;
        r.bytes()?;
        r.skip_attributes()?;
        r.skip_attributes()?;
        let group = if version == PAYLOAD_V2 { r.opt_string()? } else { None };
        Ok((sent_ms, visible_at_ms, group))
    }

    /// Decodes a `queue_msgs` value.
    pub fn decode(buf: &[u8]) -> Result<StoredPayload, StorageError> {
        let mut r = Reader { buf };
        let version = r.u8()?;
        if version != PAYLOAD_V1 && version != PAYLOAD_V2 {
            return Err(StorageError::Corrupt("unknown message payload version".into()));
        }
        let mut payload = StoredPayload {
            message_id: r.string()?,
            sent_ms: r.u64()?,
            initial_visible_at_ms: r.u64()?,
            sender_id: r.string()?,
            body: r.string()?,
            attributes: r.attributes()?,
            system_attributes: r.attributes()?,
            group_id: None,
            deduplication_id: None,
            dead_letter_source_arn: None,
        };
        if version == PAYLOAD_V2 {
            payload.group_id = r.opt_string()?;
            payload.deduplication_id = r.opt_string()?;
            payload.dead_letter_source_arn = r.opt_string()?;
        }
        Ok(payload)
    }
}

impl StoredState {
    /// Encodes for `queue_state`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(37);
        out.push(STATE_V1);
        out.extend_from_slice(&self.visible_at_ms.to_be_bytes());
        out.extend_from_slice(&self.receive_count.to_be_bytes());
        out.extend_from_slice(&self.first_receive_ms.to_be_bytes());
        out.extend_from_slice(&self.last_receive_ms.to_be_bytes());
        out.extend_from_slice(&self.nonce.to_be_bytes());
        out
    }

    /// Decodes a `queue_state` value.
    pub fn decode(buf: &[u8]) -> Result<StoredState, StorageError> {
        let mut r = Reader { buf };
        if r.u8()? != STATE_V1 {
            return Err(StorageError::Corrupt("unknown message state version".into()));
        }
        Ok(StoredState {
            visible_at_ms: r.u64()?,
            receive_count: r.u32()?,
            first_receive_ms: r.u64()?,
            last_receive_ms: r.u64()?,
            nonce: r.u64()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip() {
        let mut attributes = MessageAttributes::new();
        attributes.insert(
            "s".into(),
            MessageAttribute {
                data_type: "String".into(),
                string_value: Some("v".into()),
                binary_value: None,
            },
        );
        attributes.insert(
            "b".into(),
            MessageAttribute {
                data_type: "Binary.x".into(),
                string_value: None,
                binary_value: Some(vec![0, 1, 255]),
            },
        );
        let p = StoredPayload {
            message_id: "id".into(),
            sent_ms: 5,
            initial_visible_at_ms: 6,
            sender_id: "me".into(),
            body: "héllo".into(),
            attributes,
            system_attributes: MessageAttributes::new(),
            group_id: Some("g".into()),
            deduplication_id: None,
            dead_letter_source_arn: Some("arn:aws:sqs:us-east-1:000000000000:src".into()),
        };
        assert_eq!(StoredPayload::decode(&p.encode()).expect("decode"), p);
        assert!(StoredPayload::decode(&p.encode()[..10]).is_err());
        // The index's readers skip body and attributes and land on the same fields.
        assert_eq!(
            StoredPayload::decode_index(&p.encode()).expect("index fields"),
            (p.sent_ms, p.initial_visible_at_ms, p.group_id.clone())
        );
        assert_eq!(
            StoredPayload::decode_times(&p.encode()).expect("times"),
            (p.sent_ms, p.initial_visible_at_ms)
        );
        // A version-1 record (written before groups existed) still decodes.
        let plain = StoredPayload {
            group_id: None,
            deduplication_id: None,
            dead_letter_source_arn: None,
            ..p.clone()
        };
        let mut v1 = plain.encode();
        v1[0] = PAYLOAD_V1;
        v1.truncate(v1.len() - 3);
        let old = StoredPayload::decode(&v1).expect("decode v1");
        assert_eq!(old.body, p.body);
        assert_eq!(old.group_id, None);
    }

    #[test]
    fn state_round_trip() {
        let s = StoredState {
            visible_at_ms: 1,
            receive_count: 2,
            first_receive_ms: 3,
            last_receive_ms: 4,
            nonce: 5,
        };
        assert_eq!(StoredState::decode(&s.encode()).expect("decode"), s);
    }
}
