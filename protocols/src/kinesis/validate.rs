//! Field constraints of the service model: required members, lengths, patterns, numeric
//! ranges and enum values, each failing with AWS's wording.
//!
//! Shape violations answer `ValidationException` ("Value ... at 'member' failed to satisfy
//! constraint: ..."); a hash key out of the 128-bit range answers `InvalidArgumentException`.
//! Rules that depend on state (a stream's record size limit, retention bounds, shard ranges)
//! belong to the core.
//!
//! A leaf: it imports no sibling module but `error`; `arn` (the ARN members' patterns) and
//! `decode` build on it.

use super::error::KinesisError;

type Result<T> = std::result::Result<T, KinesisError>;

/// A `HashKey`: pattern `0|([1-9]\d{0,38})`, and within 0..2^128-1.
pub(super) fn hash_key(field: &str, s: &str) -> Result<u128> {
    if !is_decimal(s, 39) {
        return Err(KinesisError::validation(format!(
            "Value '{s}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{{0,38}})"
        )));
    }
    s.parse::<u128>().map_err(|_| {
        KinesisError::invalid(format!(
            "Invalid {}. {s} is not within range [0, 340282366920938463463374607431768211455].",
            upper_first(field.rsplit('.').next().unwrap_or(field))
        ))
    })
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `0|([1-9]\d{0,max-1})`.
fn is_decimal(s: &str, max_digits: usize) -> bool {
    !s.is_empty() && s.len() <= max_digits && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
}

pub(super) fn check_sequence(field: &str, s: &str) -> Result<()> {
    if is_decimal(s, 129) {
        return Ok(());
    }
    Err(KinesisError::validation(format!(
        "Value '{s}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{{0,128}})"
    )))
}

pub(super) fn required<T>(value: Option<T>, field: &str) -> Result<T> {
    value.ok_or_else(|| missing(field))
}

pub(super) fn missing(field: &str) -> KinesisError {
    KinesisError::validation(format!(
        "Value null at '{field}' failed to satisfy constraint: Member must not be null"
    ))
}

pub(super) fn enum_error(field: &str, value: &str, set: &str) -> KinesisError {
    KinesisError::validation(format!(
        "Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy enum value set: {set}"
    ))
}

pub(super) fn check_len(field: &str, s: &str, min: usize, max: usize) -> Result<()> {
    let n = s.chars().count();
    if n < min {
        return Err(KinesisError::validation(format!(
            "Value '{s}' at '{field}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
        )));
    }
    if n > max {
        return Err(KinesisError::validation(format!(
            "Value '{s}' at '{field}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        )));
    }
    Ok(())
}

pub(super) fn check_min(field: &str, n: i64, min: i64) -> Result<()> {
    if n < min {
        return Err(KinesisError::validation(format!(
            "Value '{n}' at '{field}' failed to satisfy constraint: Member must have value greater than or equal to {min}"
        )));
    }
    Ok(())
}

pub(super) fn check_range(field: &str, n: i64, min: i64, max: i64) -> Result<()> {
    check_min(field, n, min)?;
    if n > max {
        return Err(KinesisError::validation(format!(
            "Value '{n}' at '{field}' failed to satisfy constraint: Member must have value less than or equal to {max}"
        )));
    }
    Ok(())
}

/// A character of a stream, shard or consumer name: `[a-zA-Z0-9_.-]`.
pub(super) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'
}

/// `StreamName` and `ShardId` share length 1-128 and pattern `[a-zA-Z0-9_.-]+`.
pub(super) fn check_stream_name(field: &str, s: &str) -> Result<()> {
    check_len(field, s, 1, 128)?;
    if !s.chars().all(is_name_char) {
        return Err(KinesisError::validation(format!(
            "Value '{s}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        )));
    }
    Ok(())
}

pub(super) fn check_shard_id(field: &str, s: &str) -> Result<()> {
    check_stream_name(field, s)
}
