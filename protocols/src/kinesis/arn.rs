//! Stream and consumer ARNs: [`parse_stream_arn`] and [`parse_consumer_arn`], and the
//! constraints of the ARN members of requests (`StreamARN`, `ConsumerARN`, `ResourceARN`).
//!
//! Builds on `validate` (lengths, and the character set of names, which a consumer ARN's
//! stream and consumer names share with the request fields); `types` re-exports the parsers
//! and `decode` checks ARN members here. `validate` imports nothing from here (no import
//! circle).

use super::error::KinesisError;
use super::validate::{check_len, is_name_char};

type Result<T> = std::result::Result<T, KinesisError>;

/// The parts of a consumer ARN
/// (`arn:aws:kinesis:{region}:{account}:stream/{stream}/consumer/{name}:{created epoch s}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerArn {
    /// Region.
    pub region: String,
    /// Account id.
    pub account: String,
    /// Stream name.
    pub stream: String,
    /// Consumer name.
    pub consumer: String,
    /// Creation time, epoch seconds.
    pub created_secs: u64,
}

/// Parses a consumer ARN.
pub fn parse_consumer_arn(arn: &str) -> Option<ConsumerArn> {
    let (region, account, stream) = parse_stream_arn(arn)?;
    let resource = arn.splitn(6, ':').nth(5)?;
    let rest = resource.strip_prefix("stream/")?.strip_prefix(stream.as_str())?;
    let rest = rest.strip_prefix("/consumer/")?;
    let (consumer, created) = rest.split_once(':')?;
    let valid_name = |n: &str| !n.is_empty() && n.len() <= 128 && n.chars().all(is_name_char);
    if !valid_name(&stream)
        || !valid_name(consumer)
        || created.is_empty()
        || !created.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some(ConsumerArn {
        region,
        account,
        stream,
        consumer: consumer.to_string(),
        created_secs: created.parse().ok()?,
    })
}

/// The parts of a stream ARN: `(region, account, stream name)`.
pub fn parse_stream_arn(arn: &str) -> Option<(String, String, String)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("kinesis"), Some(region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if !partition.starts_with("aws") || account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let name = resource.strip_prefix("stream/")?;
    // A consumer ARN (`stream/<name>/consumer/...`) names its stream first.
    let name = name.split('/').next()?;
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return None;
    }
    Some((region.to_string(), account.to_string(), name.to_string()))
}

/// `^(arn):aws.*:kinesis:.*:\d{12}:.*stream\/[a-zA-Z0-9_.-]+\/consumer\/[a-zA-Z0-9_.-]+:[0-9]+`.
pub(super) fn check_consumer_arn(field: &str, s: &str) -> Result<()> {
    check_len(field, s, 1, 2048)?;
    if parse_consumer_arn(s).is_none() {
        return Err(KinesisError::validation(format!(
            "Value '{s}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(arn):aws.*:kinesis:.*:\\d{{12}}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+"
        )));
    }
    Ok(())
}

/// `arn:aws.*:kinesis:.*:\d{12}:stream/\S+`.
pub(super) fn check_stream_arn(field: &str, s: &str) -> Result<()> {
    check_len(field, s, 1, 2048)?;
    if parse_stream_arn(s).is_none() {
        return Err(KinesisError::validation(format!(
            "Value '{s}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{{12}}:stream/\\S+"
        )));
    }
    Ok(())
}

/// A `ResourceARN` (of a stream or a consumer): `arn:aws.*:kinesis:.*:\d{12}:.*stream/\S+`.
pub(super) fn check_resource_arn(field: &str, s: &str) -> Result<()> {
    check_len(field, s, 1, 2048)?;
    if parse_stream_arn(s).is_none() {
        return Err(KinesisError::validation(format!(
            "Value '{s}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{{12}}:.*stream/\\S+"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_arns_parse() {
        assert_eq!(
            parse_stream_arn("arn:aws:kinesis:eu-west-1:123456789012:stream/orders"),
            Some(("eu-west-1".into(), "123456789012".into(), "orders".into()))
        );
        assert_eq!(parse_stream_arn("arn:aws:kinesis:eu-west-1:1234:stream/orders"), None);
        assert_eq!(parse_stream_arn("arn:aws:kinesis:eu-west-1:123456789012:stream/"), None);
    }
}
