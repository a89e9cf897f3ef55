//! Order-preserving key encoding.
//!
//! A key is a one-byte type prefix followed by fields: integers big-endian and fixed-width (so
//! byte order equals numeric order), strings as a u16 length then UTF-8 bytes. Prefixes are
//! append-only (see the crate docs).

/// Builds a key field by field.
#[derive(Debug, Clone, Default)]
pub struct KeyBuf(Vec<u8>);

impl KeyBuf {
    /// Starts a key with its type prefix.
    pub fn new(prefix: u8) -> KeyBuf {
        let mut v = Vec::with_capacity(24);
        v.push(prefix);
        KeyBuf(v)
    }

    /// Appends a big-endian u64.
    pub fn u64(mut self, n: u64) -> KeyBuf {
        self.0.extend_from_slice(&n.to_be_bytes());
        self
    }

    /// Appends a length-prefixed string (strings longer than 65,535 bytes are truncated, which
    /// no AWS name can reach).
    pub fn str(mut self, s: &str) -> KeyBuf {
        let bytes = &s.as_bytes()[..s.len().min(u16::MAX as usize)];
        self.0.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    /// Appends raw bytes (only as the last field).
    pub fn raw(mut self, b: &[u8]) -> KeyBuf {
        self.0.extend_from_slice(b);
        self
    }

    /// The finished key.
    pub fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// The smallest key greater than every key starting with `prefix` (for range deletes and scans).
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    // An all-0xFF prefix has no successor of the same length; 0xFF.. repeated covers it.
    vec![u8::MAX; prefix.len() + 1]
}

/// Reads a big-endian u64 at `offset`, if present.
pub fn read_u64(key: &[u8], offset: usize) -> Option<u64> {
    let bytes = key.get(offset..offset + 8)?;
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_sort_numerically() {
        let a = KeyBuf::new(1).u64(255).finish();
        let b = KeyBuf::new(1).u64(256).finish();
        assert!(a < b);
        assert_eq!(read_u64(&b, 1), Some(256));
    }

    #[test]
    fn prefix_end_is_strictly_after_all_prefixed_keys() {
        let p = KeyBuf::new(2).u64(5).finish();
        let end = prefix_end(&p);
        assert!(KeyBuf::new(2).u64(5).u64(u64::MAX).finish() < end);
        assert!(KeyBuf::new(2).u64(6).finish() >= end);
        assert_eq!(prefix_end(&[0xff, 0xff]), vec![0xff, 0xff, 0xff]);
    }
}
