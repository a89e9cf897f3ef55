//! Receipt handles: opaque to clients, they name (queue id, message sequence, receive nonce).
//!
//! The nonce changes with every receive, so only the newest handle can change visibility; an
//! older one still "succeeds" at DeleteMessage without deleting, as the SQS guide documents.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

const VERSION: u8 = 1;

/// The decoded content of a receipt handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// Internal queue id.
    pub queue_id: u64,
    /// Message sequence within the queue.
    pub seq: u64,
    /// Which receive issued the handle.
    pub nonce: u64,
}

impl Receipt {
    /// Encodes the handle.
    pub fn encode(&self) -> String {
        let mut buf = Vec::with_capacity(25);
        buf.push(VERSION);
        buf.extend_from_slice(&self.queue_id.to_be_bytes());
        buf.extend_from_slice(&self.seq.to_be_bytes());
        buf.extend_from_slice(&self.nonce.to_be_bytes());
        URL_SAFE_NO_PAD.encode(buf)
    }

    /// Decodes a handle, `None` when it is not one Sluice issued.
    pub fn decode(handle: &str) -> Option<Receipt> {
        let bytes = URL_SAFE_NO_PAD.decode(handle.trim()).ok()?;
        if bytes.len() != 25 || bytes[0] != VERSION {
            return None;
        }
        let word = |i: usize| -> Option<u64> { Some(u64::from_be_bytes(bytes.get(i..i + 8)?.try_into().ok()?)) };
        Some(Receipt {
            queue_id: word(1)?,
            seq: word(9)?,
            nonce: word(17)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let r = Receipt {
            queue_id: 7,
            seq: 1 << 40,
            nonce: 3,
        };
        assert_eq!(Receipt::decode(&r.encode()), Some(r));
        assert_eq!(Receipt::decode("garbage"), None);
        assert_eq!(Receipt::decode(""), None);
    }
}
