//! AWS event-stream framing (`application/vnd.amazon.eventstream`), the binary message format
//! of SubscribeToShard's response.
//!
//! # Layout of one message (docs/wire-notes.md "Kinesis")
//! ```text
//! total length u32 BE | headers length u32 BE | CRC-32 of those 8 bytes
//! headers: name length u8, name, type u8, value (by type)
//! payload
//! CRC-32 of everything before
//! ```
//! Header value types: 0 true, 1 false, 2 i8, 3 i16 BE, 4 i32 BE, 5 i64 BE, 6 bytes (u16 BE
//! length), 7 UTF-8 string (u16 BE length), 8 timestamp (i64 BE epoch ms), 9 UUID (16 bytes).
//!
//! # Invariants
//! - [`decode`] never panics: every malformed input is a [`FrameError`], and a prefix of a valid
//!   message is `Ok(None)` (read more).
//! - [`encode`] refuses what a decoder would refuse (oversized names, values or payloads).

use thiserror::Error;

/// Bytes of the prelude (two lengths and their CRC).
const PRELUDE_LEN: usize = 12;
/// Bytes a message has besides headers and payload (prelude and message CRC).
const OVERHEAD: usize = PRELUDE_LEN + 4;
/// Largest headers section AWS's decoders accept (botocore, aws-c-event-stream).
pub const MAX_HEADERS_LEN: usize = 128 * 1024;
/// Largest payload AWS's decoders accept.
pub const MAX_PAYLOAD_LEN: usize = 16 * 1024 * 1024;

/// One header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    /// Type 0 or 1.
    Bool(bool),
    /// Type 2.
    Byte(i8),
    /// Type 3.
    Short(i16),
    /// Type 4.
    Int(i32),
    /// Type 5.
    Long(i64),
    /// Type 6.
    Bytes(Vec<u8>),
    /// Type 7.
    String(String),
    /// Type 8: epoch milliseconds.
    Timestamp(i64),
    /// Type 9.
    Uuid([u8; 16]),
}

/// One event-stream message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Headers in wire order; names are unique.
    pub headers: Vec<(String, HeaderValue)>,
    /// Payload bytes.
    pub payload: Vec<u8>,
}

impl Message {
    /// The value of a string header.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|(n, v)| match v {
            HeaderValue::String(s) if n == name => Some(s.as_str()),
            _ => None,
        })
    }
}

/// Why bytes are not a valid message (or a message cannot be encoded).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    /// The prelude's CRC does not match its lengths.
    #[error("prelude checksum mismatch")]
    PreludeChecksum,
    /// The message CRC does not match its bytes.
    #[error("message checksum mismatch")]
    MessageChecksum,
    /// Lengths that cannot describe a message.
    #[error("invalid lengths: total {total}, headers {headers}")]
    InvalidLength {
        /// Total length from the prelude.
        total: u32,
        /// Headers length from the prelude.
        headers: u32,
    },
    /// A header that runs past its section or has an unknown type.
    #[error("malformed header: {0}")]
    Header(&'static str),
    /// The same header name twice.
    #[error("duplicate header {0}")]
    DuplicateHeader(String),
    /// A header name, value or payload too long to encode.
    #[error("too long to encode: {0}")]
    TooLong(&'static str),
}

/// Encodes `message`.
pub fn encode(message: &Message) -> Result<Vec<u8>, FrameError> {
    let mut headers = Vec::new();
    for (name, value) in &message.headers {
        let name_len = u8::try_from(name.len()).map_err(|_| FrameError::TooLong("header name"))?;
        headers.push(name_len);
        headers.extend_from_slice(name.as_bytes());
        match value {
            HeaderValue::Bool(true) => headers.push(0),
            HeaderValue::Bool(false) => headers.push(1),
            HeaderValue::Byte(v) => {
                headers.push(2);
                headers.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Short(v) => {
                headers.push(3);
                headers.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Int(v) => {
                headers.push(4);
                headers.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Long(v) => {
                headers.push(5);
                headers.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Bytes(v) => {
                headers.push(6);
                push_array(&mut headers, v)?;
            }
            HeaderValue::String(v) => {
                headers.push(7);
                push_array(&mut headers, v.as_bytes())?;
            }
            HeaderValue::Timestamp(v) => {
                headers.push(8);
                headers.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Uuid(v) => {
                headers.push(9);
                headers.extend_from_slice(v);
            }
        }
    }
    if headers.len() > MAX_HEADERS_LEN {
        return Err(FrameError::TooLong("headers"));
    }
    if message.payload.len() > MAX_PAYLOAD_LEN {
        return Err(FrameError::TooLong("payload"));
    }
    let total = OVERHEAD + headers.len() + message.payload.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(headers.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc32fast::hash(&out).to_be_bytes());
    out.extend_from_slice(&headers);
    out.extend_from_slice(&message.payload);
    out.extend_from_slice(&crc32fast::hash(&out).to_be_bytes());
    Ok(out)
}

fn push_array(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), FrameError> {
    let len = u16::try_from(bytes.len()).map_err(|_| FrameError::TooLong("header value"))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Decodes the first message of `buf`: `Ok(Some((message, bytes used)))`, or `Ok(None)` when
/// `buf` holds only part of a message so far.
pub fn decode(buf: &[u8]) -> Result<Option<(Message, usize)>, FrameError> {
    if buf.len() < PRELUDE_LEN {
        return Ok(None);
    }
    let total = be_u32(&buf[0..4]);
    let headers_len = be_u32(&buf[4..8]);
    if crc32fast::hash(&buf[0..8]) != be_u32(&buf[8..12]) {
        return Err(FrameError::PreludeChecksum);
    }
    let invalid = FrameError::InvalidLength {
        total,
        headers: headers_len,
    };
    let (total_n, headers_n) = (total as usize, headers_len as usize);
    if total_n < OVERHEAD
        || headers_n > MAX_HEADERS_LEN
        || headers_n > total_n - OVERHEAD
        || total_n - OVERHEAD - headers_n > MAX_PAYLOAD_LEN
    {
        return Err(invalid);
    }
    if buf.len() < total_n {
        return Ok(None);
    }
    let body_end = total_n - 4;
    if crc32fast::hash(&buf[..body_end]) != be_u32(&buf[body_end..total_n]) {
        return Err(FrameError::MessageChecksum);
    }
    let headers = decode_headers(&buf[PRELUDE_LEN..PRELUDE_LEN + headers_n])?;
    let payload = buf[PRELUDE_LEN + headers_n..body_end].to_vec();
    Ok(Some((Message { headers, payload }, total_n)))
}

/// Reads `n` bytes at `*at`, advancing it.
fn take<'a>(buf: &'a [u8], at: &mut usize, n: usize) -> Result<&'a [u8], FrameError> {
    let end = at
        .checked_add(n)
        .filter(|end| *end <= buf.len())
        .ok_or(FrameError::Header("truncated"))?;
    let out = &buf[*at..end];
    *at = end;
    Ok(out)
}

fn take_array<'a>(buf: &'a [u8], at: &mut usize) -> Result<&'a [u8], FrameError> {
    let len = take(buf, at, 2)?;
    let len = u16::from_be_bytes([len[0], len[1]]) as usize;
    take(buf, at, len)
}

fn fixed<const N: usize>(buf: &[u8], at: &mut usize) -> Result<[u8; N], FrameError> {
    let mut out = [0u8; N];
    out.copy_from_slice(take(buf, at, N)?);
    Ok(out)
}

fn decode_headers(buf: &[u8]) -> Result<Vec<(String, HeaderValue)>, FrameError> {
    let mut headers: Vec<(String, HeaderValue)> = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let name_len = take(buf, &mut at, 1)?[0] as usize;
        let name = std::str::from_utf8(take(buf, &mut at, name_len)?)
            .map_err(|_| FrameError::Header("name is not UTF-8"))?
            .to_string();
        let value = match take(buf, &mut at, 1)?[0] {
            0 => HeaderValue::Bool(true),
            1 => HeaderValue::Bool(false),
            2 => HeaderValue::Byte(i8::from_be_bytes(fixed(buf, &mut at)?)),
            3 => HeaderValue::Short(i16::from_be_bytes(fixed(buf, &mut at)?)),
            4 => HeaderValue::Int(i32::from_be_bytes(fixed(buf, &mut at)?)),
            5 => HeaderValue::Long(i64::from_be_bytes(fixed(buf, &mut at)?)),
            6 => HeaderValue::Bytes(take_array(buf, &mut at)?.to_vec()),
            7 => HeaderValue::String(
                std::str::from_utf8(take_array(buf, &mut at)?)
                    .map_err(|_| FrameError::Header("string value is not UTF-8"))?
                    .to_string(),
            ),
            8 => HeaderValue::Timestamp(i64::from_be_bytes(fixed(buf, &mut at)?)),
            9 => HeaderValue::Uuid(fixed(buf, &mut at)?),
            _ => return Err(FrameError::Header("unknown value type")),
        };
        if headers.iter().any(|(n, _)| *n == name) {
            return Err(FrameError::DuplicateHeader(name));
        }
        headers.push((name, value));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests;
