//! Checksums clients verify: `MD5OfMessageBody`/`MD5OfBody` and
//! `MD5OfMessageAttributes`/`MD5OfMessageSystemAttributes`.
//!
//! The attribute digest is AWS's (SQS developer guide, "Calculating the MD5 message
//! digest for message attributes"): attributes sorted by name; for each, the name
//! and the data type, each as a 4-byte big-endian length plus UTF-8 bytes, then a
//! transport byte (1 for a string value, 2 for a binary one; 3 and 4 for the
//! reserved list values) and the value as length plus bytes. The SDKs (Java, Go,
//! .NET, PHP, Ruby) recompute it and fail the call on a mismatch; when there are no
//! attributes the field is omitted, since the PHP SDK fails on a digest of nothing.

use md5::{Digest, Md5};

use crate::sqs::types::MessageAttributeValue;

/// Lower-case hex MD5 of `bytes` (the message body's `MD5OfMessageBody`).
pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// AWS's MD5 over message (or message system) attributes; `None` when empty.
pub fn md5_of_message_attributes<'a, I>(attributes: I) -> Option<String>
where
    I: IntoIterator<Item = (&'a str, &'a MessageAttributeValue)>,
{
    let mut sorted: Vec<(&str, &MessageAttributeValue)> = attributes.into_iter().collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut md5 = Md5::new();
    for (name, value) in sorted {
        update_len_prefixed(&mut md5, name.as_bytes());
        update_len_prefixed(&mut md5, value.data_type.as_bytes());
        if let Some(s) = &value.string_value {
            md5.update([1u8]);
            update_len_prefixed(&mut md5, s.as_bytes());
        } else if let Some(b) = &value.binary_value {
            md5.update([2u8]);
            update_len_prefixed(&mut md5, b);
        } else if !value.string_list_values.is_empty() {
            md5.update([3u8]);
            for s in &value.string_list_values {
                update_len_prefixed(&mut md5, s.as_bytes());
            }
        } else if !value.binary_list_values.is_empty() {
            md5.update([4u8]);
            for b in &value.binary_list_values {
                update_len_prefixed(&mut md5, b);
            }
        }
    }
    Some(hex::encode(md5.finalize()))
}

fn update_len_prefixed(md5: &mut Md5, bytes: &[u8]) {
    // Lengths beyond u32 cannot occur: bodies and attributes are bounded far below.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    md5.update(len.to_be_bytes());
    md5.update(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn body() {
        assert_eq!(md5_hex(b"hello"), "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn recorded_aws_value() {
        // From a message received from real SQS (body "foobar2").
        let v = MessageAttributeValue::string("2021-02-15T12:00:33+09:00");
        assert_eq!(
            md5_of_message_attributes([("AtTimestamp", &v)]).as_deref(),
            Some("9fd5e217089075be61cd1d67e35e5117")
        );
        assert_eq!(md5_hex(b"foobar2"), "cbac77acf401ef89c3297bd9fc41ec0b");
    }

    #[test]
    fn string_number_binary() {
        // Expected values computed with the algorithm as the SDKs implement it
        // (struct.pack('!I', len) + bytes, transport byte 1 or 2), in Python.
        let mut attrs = BTreeMap::new();
        attrs.insert("s".to_string(), MessageAttributeValue::string("hello"));
        attrs.insert("n".to_string(), MessageAttributeValue::number("42"));
        attrs.insert("b".to_string(), MessageAttributeValue::binary(vec![0u8, 1, 2, 255]));
        let got = md5_of_message_attributes(attrs.iter().map(|(k, v)| (k.as_str(), v)));
        assert_eq!(got.as_deref(), Some("e7a9c13bb3b91de5542b332dbfefab1e"));

        // Order of the input does not matter.
        let s = MessageAttributeValue::string("hello");
        let n = MessageAttributeValue::number("42");
        let b = MessageAttributeValue::binary(vec![0u8, 1, 2, 255]);
        let got = md5_of_message_attributes([("s", &s), ("b", &b), ("n", &n)]);
        assert_eq!(got.as_deref(), Some("e7a9c13bb3b91de5542b332dbfefab1e"));

        let mut custom = MessageAttributeValue::string("{\"x\":1}");
        custom.data_type = "String.json".into();
        assert_eq!(
            md5_of_message_attributes([("a", &custom)]).as_deref(),
            Some("aeb60d95e11ea29855682a83a3adf2bb")
        );
    }

    #[test]
    fn system_attributes_and_empty() {
        let trace =
            MessageAttributeValue::string("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1");
        assert_eq!(
            md5_of_message_attributes([("AWSTraceHeader", &trace)]).as_deref(),
            Some("5ae4d5d7636402d80f4eb6d213245a88")
        );
        let none: [(&str, &MessageAttributeValue); 0] = [];
        assert_eq!(md5_of_message_attributes(none), None);
    }
}
