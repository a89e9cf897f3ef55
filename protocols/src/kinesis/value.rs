//! The document model shared by Kinesis's two encodings (AWS JSON 1.1 and CBOR 1.1).
//!
//! Requests decode into a [`Value`] tree and responses are built as one, so that the typed
//! request/response code is written once. The encodings differ only in three places, all handled
//! here (docs/wire-notes.md "Kinesis"):
//! - blobs: base64 strings in JSON, byte strings in CBOR;
//! - timestamps: epoch seconds as a JSON number; in CBOR, tag 1 carrying **integer epoch
//!   milliseconds** (what the Java SDK sends and expects), and tag 1 with a float is read as
//!   seconds (RFC 8949's meaning);
//! - errors: `{__type, message}` in the request's encoding (see [`super::error`]).

use std::borrow::Cow;
use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};

/// A member name: static for responses (no allocation per field), owned when decoded.
pub type Key = Cow<'static, str>;

/// One decoded or to-be-encoded document node.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// JSON null / CBOR null or undefined.
    Null,
    /// Boolean.
    Bool(bool),
    /// Integer.
    Int(i64),
    /// Floating-point number.
    Float(f64),
    /// Text string (in JSON also a base64 blob; the typed decoder decides).
    Str(String),
    /// Byte string (CBOR blobs; responses' blobs in either encoding).
    Bytes(Vec<u8>),
    /// Array.
    List(Vec<Value>),
    /// Object with text keys, in wire order.
    Map(Vec<(Key, Value)>),
    /// A timestamp in epoch milliseconds (CBOR tag 1; every response timestamp).
    Time(i64),
}

/// Why a body could not be decoded at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

/// The wire encoding of a Kinesis request and of its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-amz-json-1.1`.
    Json,
    /// `application/x-amz-cbor-1.1`.
    Cbor,
}

impl Encoding {
    /// The response `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Json => "application/x-amz-json-1.1",
            Encoding::Cbor => "application/x-amz-cbor-1.1",
        }
    }

    /// Decodes a request body; an empty body is an empty object (the CLI sends none for
    /// actions without input).
    pub fn decode(self, body: &[u8]) -> Result<Value, DecodeError> {
        if body.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(Value::Map(Vec::new()));
        }
        match self {
            Encoding::Json => decode_json(body),
            Encoding::Cbor => decode_cbor(body),
        }
    }

    /// Encodes a response body.
    pub fn encode(self, value: &Value) -> Vec<u8> {
        match self {
            Encoding::Json => encode_json(value),
            Encoding::Cbor => encode_cbor(value),
        }
    }
}

/// Decodes an AWS JSON 1.1 body straight into a [`Value`] (no intermediate tree: PutRecords
/// bodies carry up to 500 objects).
pub fn decode_json(body: &[u8]) -> Result<Value, DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = JsonValue::deserialize(&mut de)
        .map_err(|e| DecodeError(format!("Start of structure or map found where not expected. ({e})")))?;
    de.end()
        .map_err(|e| DecodeError(format!("Unexpected content after the JSON document ({e})")))?;
    Ok(value.0)
}

/// JSON's view of a [`Value`]: numbers, strings, arrays and objects only.
struct JsonValue(Value);

impl<'de> Deserialize<'de> for JsonValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<JsonValue, D::Error> {
        d.deserialize_any(JsonVisitor).map(JsonValue)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(match i64::try_from(u) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(u as f64),
        })
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.to_string()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::Str(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(JsonValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries: Vec<(Key, Value)> = Vec::new();
        while let Some((k, JsonValue(v))) = map.next_entry::<String, JsonValue>()? {
            // A repeated member keeps its last value, as serde_json's own maps do.
            match entries.iter_mut().find(|(e, _)| *e == k) {
                Some(slot) => slot.1 = v,
                None => entries.push((Cow::Owned(k), v)),
            }
        }
        Ok(Value::Map(entries))
    }
}

/// Decodes a CBOR 1.1 body.
pub fn decode_cbor(body: &[u8]) -> Result<Value, DecodeError> {
    let cbor: ciborium::Value =
        ciborium::de::from_reader(body).map_err(|e| DecodeError(format!("Unable to parse CBOR body: {e}")))?;
    from_cbor(cbor)
}

fn from_cbor(cbor: ciborium::Value) -> Result<Value, DecodeError> {
    Ok(match cbor {
        ciborium::Value::Null => Value::Null,
        ciborium::Value::Bool(b) => Value::Bool(b),
        ciborium::Value::Integer(i) => {
            let wide: i128 = i.into();
            Value::Int(i64::try_from(wide).map_err(|_| DecodeError(format!("integer {wide} out of range")))?)
        }
        ciborium::Value::Float(f) => Value::Float(f),
        ciborium::Value::Text(s) => Value::Str(s),
        ciborium::Value::Bytes(b) => Value::Bytes(b),
        ciborium::Value::Array(items) => Value::List(items.into_iter().map(from_cbor).collect::<Result<_, _>>()?),
        ciborium::Value::Map(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let ciborium::Value::Text(key) = k else {
                    return Err(DecodeError("CBOR map keys must be text strings".into()));
                };
                out.push((Cow::Owned(key), from_cbor(v)?));
            }
            Value::Map(out)
        }
        // Tag 1 is an epoch time. The Java SDK writes integer milliseconds; RFC 8949 means
        // seconds, which a float carries (docs/wire-notes.md "Kinesis").
        ciborium::Value::Tag(1, inner) => match *inner {
            ciborium::Value::Integer(i) => {
                let wide: i128 = i.into();
                Value::Time(i64::try_from(wide).map_err(|_| DecodeError("timestamp out of range".into()))?)
            }
            ciborium::Value::Float(f) => Value::Time((f * 1000.0).round() as i64),
            _ => return Err(DecodeError("CBOR tag 1 must carry a number".into())),
        },
        ciborium::Value::Tag(_, inner) => from_cbor(*inner)?,
        _ => return Err(DecodeError("unsupported CBOR value".into())),
    })
}

/// Encodes as AWS JSON 1.1.
pub fn encode_json(value: &Value) -> Vec<u8> {
    // Serializing plain data into a Vec cannot fail.
    serde_json::to_vec(&JsonView(value)).unwrap_or_else(|_| b"{}".to_vec())
}

/// Encodes as CBOR 1.1.
pub fn encode_cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    if ciborium::ser::into_writer(&CborView(value), &mut out).is_err() {
        out.clear();
        out.push(0xa0); // an empty map
    }
    out
}

struct JsonView<'a>(&'a Value);

impl Serialize for JsonView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Str(t) => s.serialize_str(t),
            Value::Bytes(b) => s.serialize_str(&STANDARD.encode(b)),
            Value::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&JsonView(item))?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k.as_ref(), &JsonView(v))?;
                }
                map.end()
            }
            // AWS JSON timestamps are epoch seconds with a fraction.
            Value::Time(ms) => s.serialize_f64(*ms as f64 / 1000.0),
        }
    }
}

struct CborView<'a>(&'a Value);

impl Serialize for CborView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Str(t) => s.serialize_str(t),
            Value::Bytes(b) => s.serialize_bytes(b),
            Value::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&CborView(item))?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k.as_ref(), &CborView(v))?;
                }
                map.end()
            }
            // The Java SDK's CBOR unmarshaller reads tag 1 as integer epoch milliseconds.
            Value::Time(ms) => ciborium::tag::Required::<i64, 1>(*ms).serialize(s),
        }
    }
}

/// Builds a response object field by field, skipping absent optional fields. Crate-private:
/// handlers build the typed shapes of [`super::output`], so member names are spelled there (and
/// in [`super::error`] for error bodies) only.
#[derive(Debug, Default)]
pub(crate) struct Obj(Vec<(Key, Value)>);

impl Obj {
    /// An empty object.
    pub fn new() -> Obj {
        Obj(Vec::new())
    }

    /// An empty object with room for `n` fields, so a typed shape of known size allocates once.
    pub fn with_capacity(n: usize) -> Obj {
        Obj(Vec::with_capacity(n))
    }

    /// Adds a field.
    pub fn set(mut self, key: &'static str, value: Value) -> Obj {
        self.0.push((Cow::Borrowed(key), value));
        self
    }

    /// Adds a field when `value` is present.
    pub fn opt(self, key: &'static str, value: Option<Value>) -> Obj {
        match value {
            Some(v) => self.set(key, v),
            None => self,
        }
    }

    /// Adds a text field.
    pub fn s(self, key: &'static str, value: impl Into<String>) -> Obj {
        self.set(key, Value::Str(value.into()))
    }

    /// Adds an optional text field.
    pub fn opt_s(self, key: &'static str, value: Option<impl Into<String>>) -> Obj {
        self.opt(key, value.map(|v| Value::Str(v.into())))
    }

    /// Adds an integer field.
    pub fn i(self, key: &'static str, value: i64) -> Obj {
        self.set(key, Value::Int(value))
    }

    /// Adds a boolean field.
    pub fn b(self, key: &'static str, value: bool) -> Obj {
        self.set(key, Value::Bool(value))
    }

    /// Adds a timestamp field (epoch milliseconds).
    pub fn t(self, key: &'static str, ms: i64) -> Obj {
        self.set(key, Value::Time(ms))
    }

    /// The finished object.
    pub fn build(self) -> Value {
        Value::Map(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_blobs_are_base64_and_times_are_seconds() {
        let v = Obj::new()
            .set("Data", Value::Bytes(b"hi".to_vec()))
            .t("T", 1_500)
            .build();
        assert_eq!(
            String::from_utf8(encode_json(&v)).expect("utf8"),
            r#"{"Data":"aGk=","T":1.5}"#
        );
    }

    #[test]
    fn cbor_blobs_are_byte_strings_and_times_are_tagged_millis() {
        let v = Obj::new()
            .set("Data", Value::Bytes(b"hi".to_vec()))
            .t("T", 1_500)
            .build();
        let bytes = encode_cbor(&v);
        let raw: ciborium::Value = ciborium::de::from_reader(&bytes[..]).expect("cbor");
        let ciborium::Value::Map(entries) = raw else {
            panic!("map")
        };
        assert_eq!(entries[0].1, ciborium::Value::Bytes(b"hi".to_vec()));
        assert_eq!(
            entries[1].1,
            ciborium::Value::Tag(1, Box::new(ciborium::Value::Integer(1500.into())))
        );
        // And it decodes back to the same tree.
        assert_eq!(decode_cbor(&bytes).expect("decode"), v);
    }

    #[test]
    fn cbor_tag_one_float_is_seconds() {
        let mut bytes = Vec::new();
        let doc = ciborium::Value::Map(vec![(
            ciborium::Value::Text("Timestamp".into()),
            ciborium::Value::Tag(1, Box::new(ciborium::Value::Float(1.25))),
        )]);
        ciborium::ser::into_writer(&doc, &mut bytes).expect("encode");
        assert_eq!(
            decode_cbor(&bytes).expect("decode"),
            Obj::new().t("Timestamp", 1250).build()
        );
    }

    #[test]
    fn garbage_is_a_decode_error_not_a_panic() {
        assert!(decode_json(b"{\"a\":").is_err());
        assert!(decode_cbor(&[0xff, 0x00, 0x13]).is_err());
        assert!(decode_cbor(&[0xa1, 0x01, 0x02]).is_err(), "integer map key");
        assert_eq!(Encoding::Json.decode(b"").expect("empty"), Value::Map(Vec::new()));
        assert!(decode_json(b"{} {}").is_err(), "trailing content");
        assert_eq!(
            decode_json(br#"{"a":1,"b":[true,null,"x",1.5],"a":2}"#).expect("json"),
            Obj::new()
                .i("a", 2)
                .set(
                    "b",
                    Value::List(vec![
                        Value::Bool(true),
                        Value::Null,
                        Value::Str("x".into()),
                        Value::Float(1.5)
                    ])
                )
                .build()
        );
    }
}
