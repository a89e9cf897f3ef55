//! [`Input`]: typed member access over one decoded object (strings, numbers, blobs,
//! timestamps, lists, nested structures, tag maps, stream and consumer references), answering
//! `SerializationException` in AWS's wording when a member has the wrong type.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::error::KinesisError;
use super::types::{ConsumerRef, StreamRef};
use super::validate::{
    check_consumer_arn, check_len, check_resource_arn, check_stream_arn, check_stream_name, missing, required,
};
use super::value::{Key, Value};

type Result<T> = std::result::Result<T, KinesisError>;

/// Member access over one decoded object, with AWS's type errors.
pub(super) struct Input {
    fields: Vec<(Key, Value)>,
}

impl Input {
    pub(super) fn new(value: Value) -> Result<Input> {
        match value {
            Value::Map(fields) => Ok(Input { fields }),
            _ => Err(KinesisError::serialization(
                "Start of structure or map found where not expected.",
            )),
        }
    }

    pub(super) fn take(&mut self, name: &str) -> Option<Value> {
        let pos = self.fields.iter().position(|(k, _)| k.as_ref() == name)?;
        match self.fields.swap_remove(pos).1 {
            Value::Null => None,
            v => Some(v),
        }
    }

    pub(super) fn string(&mut self, name: &str) -> Result<Option<String>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s)),
            Some(other) => Err(type_error(name, &other, "String")),
        }
    }

    pub(super) fn int(&mut self, name: &str) -> Result<Option<i64>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Int(i)) => Ok(Some(i)),
            Some(other) => Err(type_error(name, &other, "Integer")),
        }
    }

    pub(super) fn bool(&mut self, name: &str) -> Result<Option<bool>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(type_error(name, &other, "Boolean")),
        }
    }

    /// A blob: a CBOR byte string, or base64 text (JSON).
    pub(super) fn blob(&mut self, name: &str) -> Result<Option<Vec<u8>>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Bytes(b)) => Ok(Some(b)),
            Some(Value::Str(s)) => STANDARD
                .decode(s.as_bytes())
                .map(Some)
                .map_err(|_| KinesisError::serialization(format!("Base64 encoded {name} is invalid."))),
            Some(other) => Err(type_error(name, &other, "Blob")),
        }
    }

    /// A timestamp as epoch ms: tagged CBOR time, or a number of epoch seconds.
    pub(super) fn timestamp(&mut self, name: &str) -> Result<Option<i64>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Time(ms)) => Ok(Some(ms)),
            Some(Value::Int(secs)) => Ok(Some(secs.saturating_mul(1000))),
            Some(Value::Float(secs)) if secs.is_finite() => Ok(Some((secs * 1000.0).round() as i64)),
            Some(other) => Err(type_error(name, &other, "Timestamp")),
        }
    }

    pub(super) fn list(&mut self, name: &str) -> Result<Option<Vec<Value>>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::List(items)) => Ok(Some(items)),
            Some(other) => Err(type_error(name, &other, "List")),
        }
    }

    pub(super) fn object(&mut self, name: &str) -> Result<Option<Input>> {
        match self.take(name) {
            None => Ok(None),
            Some(v @ Value::Map(_)) => Input::new(v).map(Some),
            Some(other) => Err(type_error(name, &other, "Structure")),
        }
    }

    /// A `TagMap` (1-200 entries; keys 1-128, values 0-256 characters).
    pub(super) fn tags(&mut self, name: &str) -> Result<Option<Vec<(String, String)>>> {
        let Some(Value::Map(entries)) = self
            .take(name)
            .map(|v| match v {
                m @ Value::Map(_) => Ok(m),
                other => Err(type_error(name, &other, "Map")),
            })
            .transpose()?
        else {
            return Ok(None);
        };
        if entries.is_empty() || entries.len() > 200 {
            return Err(KinesisError::validation(
                "Value at 'tags' failed to satisfy constraint: Member must have length between 1 and 200",
            ));
        }
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let Value::Str(v) = v else {
                return Err(type_error(&k, &v, "String"));
            };
            check_len("tags.key", &k, 1, 128)?;
            check_len("tags.value", &v, 0, 256)?;
            out.push((k.into_owned(), v));
        }
        Ok(Some(out))
    }

    pub(super) fn tag_keys(&mut self) -> Result<Vec<String>> {
        let items = required(self.list("TagKeys")?, "tagKeys")?;
        if items.is_empty() || items.len() > 50 {
            return Err(KinesisError::validation(
                "Value at 'tagKeys' failed to satisfy constraint: Member must have length between 1 and 50",
            ));
        }
        let mut keys = Vec::with_capacity(items.len());
        for item in items {
            let Value::Str(k) = item else {
                return Err(type_error("TagKeys", &item, "String"));
            };
            check_len("tagKeys.member", &k, 1, 128)?;
            keys.push(k);
        }
        Ok(keys)
    }

    /// `StreamName` and/or `StreamARN`; one of them is required.
    pub(super) fn stream_ref(&mut self) -> Result<StreamRef> {
        let r = self.stream_ref_optional()?;
        if r.name.is_none() && r.arn.is_none() {
            // AWS names the member it looked for first.
            return Err(missing("streamName"));
        }
        Ok(r)
    }

    pub(super) fn stream_ref_optional(&mut self) -> Result<StreamRef> {
        let name = self.string("StreamName")?;
        if let Some(n) = &name {
            check_stream_name("streamName", n)?;
        }
        let arn = self.string("StreamARN")?;
        if let Some(a) = &arn {
            check_stream_arn("streamARN", a)?;
        }
        let _stream_id = self.string("StreamId")?;
        Ok(StreamRef { name, arn })
    }

    /// `ConsumerARN`, or `StreamARN` with `ConsumerName`.
    pub(super) fn consumer_ref(&mut self) -> Result<ConsumerRef> {
        let stream_arn = self.string("StreamARN")?;
        if let Some(a) = &stream_arn {
            check_stream_arn("streamARN", a)?;
        }
        let consumer_name = self.string("ConsumerName")?;
        if let Some(n) = &consumer_name {
            check_stream_name("consumerName", n)?;
        }
        let consumer_arn = self.string("ConsumerARN")?;
        if let Some(a) = &consumer_arn {
            check_consumer_arn("consumerARN", a)?;
        }
        let _stream_id = self.string("StreamId")?;
        match (consumer_arn, stream_arn, consumer_name) {
            (Some(arn), _, _) => Ok(ConsumerRef::Arn(arn)),
            (None, Some(stream_arn), Some(consumer_name)) => Ok(ConsumerRef::Name {
                stream_arn,
                consumer_name,
            }),
            _ => Err(KinesisError::invalid(
                "Either ConsumerARN or both StreamARN and ConsumerName must be provided.",
            )),
        }
    }

    pub(super) fn resource_arn(&mut self) -> Result<String> {
        let arn = required(self.string("ResourceARN")?, "resourceARN")?;
        check_resource_arn("resourceARN", &arn)?;
        let _stream_id = self.string("StreamId")?;
        Ok(arn)
    }
}

fn type_error(name: &str, got: &Value, want: &str) -> KinesisError {
    let kind = match got {
        Value::Null => "NULL_VALUE",
        Value::Bool(_) => "BOOLEAN_VALUE",
        Value::Int(_) | Value::Float(_) => "NUMBER_VALUE",
        Value::Str(_) => "STRING_VALUE",
        Value::Bytes(_) => "BLOB_VALUE",
        Value::List(_) => "START_ARRAY",
        Value::Map(_) => "START_OBJECT",
        Value::Time(_) => "TIMESTAMP_VALUE",
    };
    KinesisError::serialization(format!("{kind} can not be converted to {want} (member {name})"))
}
