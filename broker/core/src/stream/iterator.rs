//! Shard iterators: opaque, tamper-evident, expiring after five minutes.
//!
//! An iterator is `base64url(version | stream id | shard | position | issued ms | tag)` where the
//! tag is the first 16 bytes of HMAC-SHA256 over the rest, keyed by a secret generated once per
//! data folder and kept in storage (so iterators survive a restart, and a forged or edited one
//! is refused with `InvalidArgumentException`, never read).
//!
//! The same secret seals pagination tokens ([`IteratorCodec::seal`]): `base64url(state | tag)`,
//! the tag over a label and the state, so a token is never mistaken for an iterator or the
//! reverse, and a client cannot edit the stream a ListShards token names.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const VERSION: u8 = 1;
const BODY_LEN: usize = 1 + 8 + 4 + 8 + 8;
const TAG_LEN: usize = 16;
/// Prefix of what a token's tag covers; an iterator's body starts with [`VERSION`] instead.
const TOKEN_LABEL: &[u8] = b"sluice next token\0";

/// How long an iterator stays valid (AWS: 300 s).
pub const ITERATOR_TTL_MS: u64 = 300_000;

/// What an iterator points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IteratorPos {
    /// Stream id (never reused, so a recreated stream refuses old iterators).
    pub stream_id: u64,
    /// Shard index.
    pub shard: u32,
    /// First sequence to return.
    pub position: u64,
    /// When it was issued, epoch ms.
    pub issued_ms: u64,
}

/// Signs and checks iterators.
#[derive(Clone)]
pub struct IteratorCodec {
    secret: [u8; 32],
}

impl std::fmt::Debug for IteratorCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IteratorCodec")
    }
}

impl IteratorCodec {
    /// A codec keyed by `secret`.
    pub fn new(secret: [u8; 32]) -> IteratorCodec {
        IteratorCodec { secret }
    }

    fn tag(&self, body: &[u8]) -> [u8; TAG_LEN] {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret).unwrap_or_else(|_| unreachable!());
        mac.update(body);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(&full[..TAG_LEN]);
        out
    }

    /// Encodes an iterator.
    pub fn encode(&self, pos: IteratorPos) -> String {
        let mut raw = Vec::with_capacity(BODY_LEN + TAG_LEN);
        raw.push(VERSION);
        raw.extend_from_slice(&pos.stream_id.to_be_bytes());
        raw.extend_from_slice(&pos.shard.to_be_bytes());
        raw.extend_from_slice(&pos.position.to_be_bytes());
        raw.extend_from_slice(&pos.issued_ms.to_be_bytes());
        let tag = self.tag(&raw);
        raw.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Seals a pagination token's state (opaque bytes) so that [`IteratorCodec::open`] refuses
    /// any edited or forged token.
    pub fn seal(&self, state: &[u8]) -> String {
        let mut raw = Vec::with_capacity(state.len() + TAG_LEN);
        raw.extend_from_slice(state);
        let tag = self.token_tag(state);
        raw.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The state of a token [`IteratorCodec::seal`] made with this secret; `None` for anything
    /// else.
    pub fn open(&self, text: &str) -> Option<Vec<u8>> {
        let raw = URL_SAFE_NO_PAD.decode(text.as_bytes()).ok()?;
        let split = raw.len().checked_sub(TAG_LEN)?;
        let (state, tag) = raw.split_at(split);
        let want = self.token_tag(state);
        let diff = want.iter().zip(tag).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        (diff == 0).then(|| state.to_vec())
    }

    fn token_tag(&self, state: &[u8]) -> [u8; TAG_LEN] {
        let mut body = Vec::with_capacity(TOKEN_LABEL.len() + state.len());
        body.extend_from_slice(TOKEN_LABEL);
        body.extend_from_slice(state);
        self.tag(&body)
    }

    /// Decodes an iterator Sluice issued; `None` for anything else.
    pub fn decode(&self, text: &str) -> Option<IteratorPos> {
        let raw = URL_SAFE_NO_PAD.decode(text.as_bytes()).ok()?;
        if raw.len() != BODY_LEN + TAG_LEN || raw[0] != VERSION {
            return None;
        }
        let (body, tag) = raw.split_at(BODY_LEN);
        let want = self.tag(body);
        // Constant-time comparison: a forger learns nothing from timing.
        let diff = want.iter().zip(tag).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff != 0 {
            return None;
        }
        Some(IteratorPos {
            stream_id: u64::from_be_bytes(body[1..9].try_into().ok()?),
            shard: u32::from_be_bytes(body[9..13].try_into().ok()?),
            position: u64::from_be_bytes(body[13..21].try_into().ok()?),
            issued_ms: u64::from_be_bytes(body[21..29].try_into().ok()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper_evidence() {
        let codec = IteratorCodec::new([7; 32]);
        let pos = IteratorPos {
            stream_id: 1,
            shard: 2,
            position: 3,
            issued_ms: 4,
        };
        let text = codec.encode(pos);
        assert!(text.len() <= 512);
        assert_eq!(codec.decode(&text), Some(pos));
        // Flip one character of the body.
        let mut bytes = text.clone().into_bytes();
        bytes[5] = if bytes[5] == b'A' { b'B' } else { b'A' };
        assert_eq!(codec.decode(&String::from_utf8(bytes).expect("ascii")), None);
        assert_eq!(IteratorCodec::new([8; 32]).decode(&text), None, "other secret");
        assert_eq!(codec.decode("not-an-iterator"), None);
    }

    #[test]
    fn sealed_tokens_round_trip_and_refuse_edits() {
        let codec = IteratorCodec::new([7; 32]);
        let state = br#"{"a":"111111111111","n":"s"}"#;
        let token = codec.seal(state);
        assert_eq!(codec.open(&token).as_deref(), Some(&state[..]));
        // The same state with another account in it, base64url-encoded by a client: refused.
        let forged = URL_SAFE_NO_PAD.encode(br#"{"a":"222222222222","n":"s"}"#);
        assert_eq!(codec.open(&forged), None);
        let mut raw = URL_SAFE_NO_PAD.decode(token.as_bytes()).expect("base64");
        raw[7] ^= 1;
        assert_eq!(codec.open(&URL_SAFE_NO_PAD.encode(&raw)), None, "one bit changed");
        assert_eq!(IteratorCodec::new([8; 32]).open(&token), None, "other secret");
        assert_eq!(codec.open(""), None);
        assert_eq!(codec.open("short"), None);
        // Tokens and iterators are not interchangeable.
        let iterator = codec.encode(IteratorPos {
            stream_id: 1,
            shard: 2,
            position: 3,
            issued_ms: 4,
        });
        assert_eq!(codec.open(&iterator), None);
        assert_eq!(codec.decode(&token), None);
    }
}
