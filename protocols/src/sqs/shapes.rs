//! Shapes that SQS inputs and outputs share: message attribute values, batch error entries,
//! and the base64 serde adapters for blobs. See [`super::types`] for the conventions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::SqsError;

/// Serde adapters for base64 blobs.
pub(crate) mod b64 {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    /// `Option<Vec<u8>>` as an optional base64 string.
    pub mod opt {
        use super::*;

        pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(bytes) => s.serialize_str(&STANDARD.encode(bytes)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
            let text: Option<String> = Option::deserialize(d)?;
            match text {
                Some(t) => STANDARD
                    .decode(t.as_bytes())
                    .map(Some)
                    .map_err(serde::de::Error::custom),
                None => Ok(None),
            }
        }
    }

    /// `Vec<Vec<u8>>` as a list of base64 strings.
    pub mod list {
        use super::*;
        use serde::ser::SerializeSeq;

        pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(v.len()))?;
            for bytes in v {
                seq.serialize_element(&STANDARD.encode(bytes))?;
            }
            seq.end()
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
            let texts: Vec<String> = Vec::deserialize(d)?;
            let mut out = Vec::with_capacity(texts.len());
            for t in texts {
                out.push(STANDARD.decode(t.as_bytes()).map_err(serde::de::Error::custom)?);
            }
            Ok(out)
        }
    }
}

// ---------------------------------------------------------------------------
// Shared shapes

/// A message attribute value (`MessageAttributeValue`), also used for message
/// system attributes (`MessageSystemAttributeValue` has the same members).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageAttributeValue {
    /// `String`, `Number` or `Binary`, optionally with a `.customLabel`.
    #[serde(default)]
    pub data_type: String,
    /// The value of a `String` or `Number` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    /// The value of a `Binary` attribute (base64 on the wire).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "b64::opt")]
    pub binary_value: Option<Vec<u8>>,
    /// Reserved by AWS ("not implemented"); rejected by validation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub string_list_values: Vec<String>,
    /// Reserved by AWS ("not implemented"); rejected by validation.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "b64::list")]
    pub binary_list_values: Vec<Vec<u8>>,
}

impl MessageAttributeValue {
    /// A `String` attribute.
    pub fn string(value: impl Into<String>) -> Self {
        MessageAttributeValue {
            data_type: "String".into(),
            string_value: Some(value.into()),
            ..Default::default()
        }
    }

    /// A `Number` attribute (the value is kept as sent, as AWS does).
    pub fn number(value: impl Into<String>) -> Self {
        MessageAttributeValue {
            data_type: "Number".into(),
            string_value: Some(value.into()),
            ..Default::default()
        }
    }

    /// A `Binary` attribute.
    pub fn binary(value: impl Into<Vec<u8>>) -> Self {
        MessageAttributeValue {
            data_type: "Binary".into(),
            binary_value: Some(value.into()),
            ..Default::default()
        }
    }
}

/// `MessageSystemAttributeValue`: the same members as [`MessageAttributeValue`].
pub type MessageSystemAttributeValue = MessageAttributeValue;

/// Message attributes by name (`MessageBodyAttributeMap`).
pub type MessageAttributeMap = BTreeMap<String, MessageAttributeValue>;

/// One failed entry of a batch (`BatchResultErrorEntry`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResultErrorEntry {
    /// The entry's `Id` from the request.
    pub id: String,
    /// Whether the caller caused the failure.
    pub sender_fault: bool,
    /// The error code (`InvalidParameterValue`, `ReceiptHandleIsInvalid`, ...).
    pub code: String,
    /// A message for the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl BatchResultErrorEntry {
    /// The failed entry for `id` caused by `err`, with the error's query code.
    pub fn from_error(id: impl Into<String>, err: &SqsError) -> Self {
        BatchResultErrorEntry {
            id: id.into(),
            sender_fault: err.code.sender_fault(),
            code: err.code.query_code().to_string(),
            message: Some(err.message.clone()),
        }
    }
}
