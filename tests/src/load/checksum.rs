//! The MD5 digests SQS returns with every sent and received message.
//!
//! - `MD5OfMessageBody` / `MD5OfBody`: lowercase hex MD5 of the body's UTF-8 bytes.
//! - `MD5OfMessageAttributes`: attributes sorted by name; for each, a 4-byte big-endian length
//!   and the UTF-8 bytes of the name, then of the data type, then one transport byte (1 for
//!   String and Number, 2 for Binary), then a 4-byte big-endian length and the value bytes.
//!   (AWS SQS Developer Guide, "Calculating the MD5 message digest for message attributes";
//!   `docs/wire-notes.md`.) The field is omitted when no attributes were sent.
//!
//! Both sides of the tool use this module: the null server to answer, the workloads to check
//! what a broker answered, since the Rust SDK does not verify these digests itself.

use md5::{Digest, Md5};

/// One message attribute as it goes into the digest.
#[derive(Debug, Clone)]
pub struct AttributeRef<'a> {
    pub name: &'a str,
    pub data_type: &'a str,
    /// The string value's UTF-8 bytes, or the binary value's decoded bytes.
    pub value: &'a [u8],
}

/// Lowercase hex MD5 of `bytes`.
pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// `MD5OfMessageAttributes` for a set of attributes, or `None` when there are none.
pub fn md5_of_attributes(attributes: &[AttributeRef<'_>]) -> Option<String> {
    if attributes.is_empty() {
        return None;
    }
    let mut sorted: Vec<&AttributeRef<'_>> = attributes.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(b.name));
    let mut hasher = Md5::new();
    for attribute in sorted {
        update_with_length(&mut hasher, attribute.name.as_bytes());
        update_with_length(&mut hasher, attribute.data_type.as_bytes());
        hasher.update([transport_byte(attribute.data_type)]);
        update_with_length(&mut hasher, attribute.value);
    }
    Some(hex::encode(hasher.finalize()))
}

/// 1 for `String` and `Number` (and their custom `String.x` / `Number.x` forms), 2 for
/// `Binary`.
fn transport_byte(data_type: &str) -> u8 {
    if data_type.starts_with("Binary") {
        2
    } else {
        1
    }
}

fn update_with_length(hasher: &mut Md5, bytes: &[u8]) {
    // SQS caps names, types and values far below 4 GiB; saturate rather than wrap if a caller
    // ever passes more.
    let length = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    hasher.update(length.to_be_bytes());
    hasher.update(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_digest_is_lowercase_hex() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"hello"), "5d41402abc4b2a76b9719d911017c592");
    }

    #[test]
    fn no_attributes_means_no_digest() {
        assert_eq!(md5_of_attributes(&[]), None);
    }

    #[test]
    fn attribute_digest_matches_an_independent_implementation() {
        // Expected values computed with a separate Python implementation of the documented
        // algorithm (struct.pack(">I", len) framing, transport byte 1 or 2).
        let single = [AttributeRef {
            name: "attr",
            data_type: "String",
            value: b"value",
        }];
        assert_eq!(md5_of_attributes(&single).as_deref(), Some(SINGLE_STRING_ATTRIBUTE_MD5));
        // Order of the input must not matter: the digest sorts by name.
        let mixed = [
            AttributeRef {
                name: "z-bin",
                data_type: "Binary",
                value: &[0, 1, 2, 255],
            },
            AttributeRef {
                name: "a-num",
                data_type: "Number",
                value: b"42",
            },
        ];
        let reversed = [mixed[1].clone(), mixed[0].clone()];
        assert_eq!(md5_of_attributes(&mixed).as_deref(), Some(MIXED_ATTRIBUTES_MD5));
        assert_eq!(md5_of_attributes(&reversed), md5_of_attributes(&mixed));
    }

    const SINGLE_STRING_ATTRIBUTE_MD5: &str = "0a3eacc505c2c642f442010ddab0e8dc";
    const MIXED_ATTRIBUTES_MD5: &str = "b153b2a42879a5a3a27eb75fa6612fca";
}
