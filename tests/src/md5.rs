//! The MD5 digests SQS puts in its responses, computed independently for comparison.
//!
//! Attribute digest (AWS "Calculating the MD5 message digest for message attributes"): sort by
//! name; for each attribute append 4-byte big-endian length + UTF-8 name, the same for the data
//! type, one transport byte (1 = String/Number, 2 = Binary), then 4-byte length + value bytes.
//! `MD5OfMessageSystemAttributes` uses the same scheme over the system attributes.

use std::collections::HashMap;

use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeValue};
use md5::{Digest, Md5};

/// Lowercase hex MD5 of `data` (what `MD5OfMessageBody` / `MD5OfBody` carry).
pub fn md5_hex(data: impl AsRef<[u8]>) -> String {
    hex::encode(Md5::digest(data.as_ref()))
}

/// One attribute's value in wire terms.
#[derive(Debug, Clone)]
pub enum Value<'a> {
    /// String and Number types (and their custom `String.x` / `Number.x` forms).
    Text(&'a str),
    /// Binary types.
    Bytes(&'a [u8]),
}

/// The attribute digest over `(name, data_type, value)` triples, in any order.
pub fn md5_of_attributes(attrs: &[(&str, &str, Value<'_>)]) -> String {
    let mut sorted: Vec<&(&str, &str, Value<'_>)> = attrs.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut buf = Vec::new();
    for (name, data_type, value) in sorted {
        push_len_prefixed(&mut buf, name.as_bytes());
        push_len_prefixed(&mut buf, data_type.as_bytes());
        match value {
            Value::Text(s) => {
                buf.push(1);
                push_len_prefixed(&mut buf, s.as_bytes());
            }
            Value::Bytes(b) => {
                buf.push(2);
                push_len_prefixed(&mut buf, b);
            }
        }
    }
    md5_hex(&buf)
}

/// The digest of SDK message attributes (as sent or as received).
pub fn md5_of_message_attributes(attrs: &HashMap<String, MessageAttributeValue>) -> String {
    let triples: Vec<(&str, &str, Value<'_>)> = attrs
        .iter()
        .map(|(name, v)| {
            (
                name.as_str(),
                v.data_type(),
                sdk_value(v.data_type(), v.string_value(), v.binary_value().map(|b| b.as_ref())),
            )
        })
        .collect();
    md5_of_attributes(&triples)
}

/// The digest of SDK message system attributes (e.g. `AWSTraceHeader`) as sent.
pub fn md5_of_system_attributes<K: AsRef<str>>(attrs: &HashMap<K, MessageSystemAttributeValue>) -> String {
    let triples: Vec<(&str, &str, Value<'_>)> = attrs
        .iter()
        .map(|(name, v)| {
            (
                name.as_ref(),
                v.data_type(),
                sdk_value(v.data_type(), v.string_value(), v.binary_value().map(|b| b.as_ref())),
            )
        })
        .collect();
    md5_of_attributes(&triples)
}

fn sdk_value<'a>(data_type: &str, s: Option<&'a str>, b: Option<&'a [u8]>) -> Value<'a> {
    if data_type.starts_with("Binary") {
        Value::Bytes(b.unwrap_or_default())
    } else {
        Value::Text(s.unwrap_or_default())
    }
}

fn push_len_prefixed(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    buf.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_md5_matches_known_value() {
        // md5("hello") from RFC 1321 test tooling
        assert_eq!(md5_hex("hello"), "5d41402abc4b2a76b9719d911017c592");
    }

    #[test]
    fn attribute_md5_is_order_independent() {
        let a = md5_of_attributes(&[
            ("b", "String", Value::Text("x")),
            ("a", "Binary", Value::Bytes(&[1, 2, 3])),
        ]);
        let b = md5_of_attributes(&[
            ("a", "Binary", Value::Bytes(&[1, 2, 3])),
            ("b", "String", Value::Text("x")),
        ]);
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
    }
}
