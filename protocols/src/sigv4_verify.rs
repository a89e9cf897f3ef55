//! SigV4 verification, sans-IO: rebuilds the canonical request from what arrived, derives the
//! signing key from the caller's secret, and compares signatures in constant time.
//!
//! Covers the `Authorization` header and presigned query strings (`X-Amz-Algorithm`,
//! `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`,
//! `X-Amz-Signature`), and the session token (`X-Amz-Security-Token`). The canonical URI uses
//! the double URI encoding of every service but S3: the path as sent, encoded once more. The
//! payload hash is computed here from the body, never taken on trust from a header.
//!
//! What the errors mean on the wire is the server's business; [`SignatureError`] only says
//! what went wrong, with AWS's wording.

use hmac::{Hmac, Mac};
use http::{HeaderMap, Method};
use sha2::{Digest, Sha256};

use crate::sigv4::{parse_credential_param, CredentialScope, ALGORITHM};

type HmacSha256 = Hmac<Sha256>;

/// Signatures more than this far from the server's clock are refused (AWS's 15 minutes).
pub const MAX_CLOCK_SKEW_SECS: i64 = 15 * 60;
/// Longest `X-Amz-Expires` of a presigned request (7 days).
pub const MAX_PRESIGN_EXPIRES_SECS: i64 = 604_800;
/// The payload hash clients may send instead of the body's.
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Why a request's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `Authorization` header and no presigned query string.
    #[error("Request is missing Authentication Token")]
    MissingAuthenticationToken,
    /// The signature's parts are incomplete or malformed.
    #[error("{0}")]
    IncompleteSignature(String),
    /// The access key (or its session token) is unknown.
    #[error("The security token included in the request is invalid.")]
    InvalidClientTokenId,
    /// The signature does not match, or the credential scope is wrong.
    #[error("{0}")]
    SignatureDoesNotMatch(String),
    /// The signature is too old or too new, or a presigned URL expired.
    #[error("{0}")]
    RequestExpired(String),
}

fn mismatch() -> SignatureError {
    SignatureError::SignatureDoesNotMatch(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".into(),
    )
}

/// A known access key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySecret {
    /// The secret access key.
    pub secret: String,
    /// A session token the request must carry, for temporary credentials.
    pub session_token: Option<String>,
}

/// The request as it arrived.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// Method.
    pub method: &'a Method,
    /// Path as sent, still percent-encoded.
    pub path: &'a str,
    /// Query string as sent, without `?`.
    pub query: Option<&'a str>,
    /// Headers.
    pub headers: &'a HeaderMap,
    /// The request-target's authority, for HTTP/2 requests that carry no `Host` header.
    pub authority: Option<&'a str>,
    /// Body.
    pub body: &'a [u8],
}

/// Who signed a verified request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The credential scope (access key, date, region, service).
    pub scope: CredentialScope,
}

/// Everything the signature covers, parsed from the header or the query string.
#[derive(Debug)]
struct Claimed {
    scope: CredentialScope,
    amz_date: String,
    signed_headers: Vec<String>,
    signature: Vec<u8>,
    session_token: Option<String>,
    /// Presigned: the validity in seconds.
    expires: Option<i64>,
}

/// Verifies `request`'s signature at `now_epoch_secs`. `service` is the signing name the
/// endpoint expects (`sqs`, `sns`, `kinesis`); `secret_of` looks up an access key.
pub fn verify(
    request: &SignedRequest<'_>,
    service: &str,
    now_epoch_secs: i64,
    secret_of: impl Fn(&str) -> Option<KeySecret>,
) -> Result<Verified, SignatureError> {
    let claimed = claimed(request)?;
    if claimed.scope.service != service {
        return Err(SignatureError::SignatureDoesNotMatch(format!(
            "Credential should be scoped to correct service: '{service}'."
        )));
    }
    if !valid_region(&claimed.scope.region) {
        return Err(SignatureError::SignatureDoesNotMatch(format!(
            "Credential should be scoped to a valid region, not '{}'.",
            claimed.scope.region
        )));
    }
    let signed_at = parse_amz_date(&claimed.amz_date).ok_or_else(|| {
        SignatureError::IncompleteSignature(format!(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\", not {}",
            claimed.amz_date
        ))
    })?;
    if !claimed.amz_date.starts_with(&claimed.scope.date) {
        return Err(SignatureError::SignatureDoesNotMatch(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{}'.",
            claimed.scope.date,
            &claimed.amz_date[..8],
            claimed.amz_date
        )));
    }
    match claimed.expires {
        Some(expires) => {
            if now_epoch_secs > signed_at + expires {
                return Err(SignatureError::RequestExpired("Request has expired".into()));
            }
            if signed_at > now_epoch_secs + MAX_CLOCK_SKEW_SECS {
                return Err(SignatureError::RequestExpired(
                    "Request is not yet valid: its signing date is in the future".into(),
                ));
            }
        }
        None if (now_epoch_secs - signed_at).abs() > MAX_CLOCK_SKEW_SECS => {
            return Err(SignatureError::RequestExpired(format!(
                "Signature expired or not yet current: {} is more than 15 minutes from the server's time {}.",
                claimed.amz_date,
                format_amz_date(now_epoch_secs)
            )));
        }
        None => {}
    }
    let key = secret_of(&claimed.scope.access_key).ok_or(SignatureError::InvalidClientTokenId)?;
    if let Some(required) = &key.session_token {
        if claimed.session_token.as_deref() != Some(required.as_str()) {
            return Err(SignatureError::InvalidClientTokenId);
        }
    }
    if !claimed.signed_headers.iter().any(|h| h == "host") {
        return Err(SignatureError::IncompleteSignature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    let signing_key = signing_key(&key.secret, &claimed.scope);
    let body_hash = hex::encode(Sha256::digest(request.body));
    let declared = header(request.headers, "x-amz-content-sha256");
    // The body's own hash; UNSIGNED-PAYLOAD only where a client may use it (presigned URLs, or
    // declared in the signed x-amz-content-sha256 header).
    let mut payload_hashes = vec![body_hash.as_str()];
    if claimed.expires.is_some() || declared.as_deref() == Some(UNSIGNED_PAYLOAD) {
        payload_hashes.push(UNSIGNED_PAYLOAD);
    }
    for payload_hash in payload_hashes {
        let canonical = canonical_request(request, &claimed, payload_hash)?;
        let string_to_sign = format!(
            "{ALGORITHM}\n{}\n{}/{}/{}/aws4_request\n{}",
            claimed.amz_date,
            claimed.scope.date,
            claimed.scope.region,
            claimed.scope.service,
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let mut mac = HmacSha256::new_from_slice(&signing_key).map_err(|_| mismatch())?;
        mac.update(string_to_sign.as_bytes());
        // verify_slice compares in constant time.
        if mac.verify_slice(&claimed.signature).is_ok() {
            return Ok(Verified { scope: claimed.scope });
        }
    }
    Err(mismatch())
}

/// A region name as AWS forms them: lowercase letters, digits and dashes, with a dash.
fn valid_region(region: &str) -> bool {
    region.len() <= 32
        && region.contains('-')
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn claimed(request: &SignedRequest<'_>) -> Result<Claimed, SignatureError> {
    if let Some(auth) = header(request.headers, "authorization") {
        return from_header(&auth, request.headers);
    }
    let params = query_params(request.query.unwrap_or(""));
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if get("X-Amz-Signature").is_none() && get("X-Amz-Credential").is_none() {
        return Err(SignatureError::MissingAuthenticationToken);
    }
    let missing = |name: &str| {
        SignatureError::IncompleteSignature(format!(
            "AWS query-string parameters must include '{name}'. Re-examine the query-string parameters."
        ))
    };
    if get("X-Amz-Algorithm").as_deref() != Some(ALGORITHM) {
        return Err(missing("X-Amz-Algorithm"));
    }
    let credential = get("X-Amz-Credential").ok_or_else(|| missing("X-Amz-Credential"))?;
    let scope = parse_credential_param(&credential)
        .ok_or_else(|| SignatureError::IncompleteSignature(format!("Invalid credential: {credential}")))?;
    let amz_date = get("X-Amz-Date").ok_or_else(|| missing("X-Amz-Date"))?;
    let expires: i64 = get("X-Amz-Expires")
        .ok_or_else(|| missing("X-Amz-Expires"))?
        .parse()
        .map_err(|_| SignatureError::IncompleteSignature("X-Amz-Expires must be a number of seconds.".into()))?;
    if !(1..=MAX_PRESIGN_EXPIRES_SECS).contains(&expires) {
        return Err(SignatureError::IncompleteSignature(format!(
            "X-Amz-Expires must be between 1 and {MAX_PRESIGN_EXPIRES_SECS} seconds."
        )));
    }
    let signed_headers = get("X-Amz-SignedHeaders").ok_or_else(|| missing("X-Amz-SignedHeaders"))?;
    let signature = get("X-Amz-Signature").ok_or_else(|| missing("X-Amz-Signature"))?;
    Ok(Claimed {
        scope,
        amz_date,
        signed_headers: split_signed_headers(&signed_headers),
        signature: decode_signature(&signature)?,
        session_token: get("X-Amz-Security-Token").or_else(|| header(request.headers, "x-amz-security-token")),
        expires: Some(expires),
    })
}

fn from_header(auth: &str, headers: &HeaderMap) -> Result<Claimed, SignatureError> {
    let rest = auth
        .trim()
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with(char::is_whitespace))
        .ok_or_else(|| {
            SignatureError::IncompleteSignature(format!("Authorization header requires the {ALGORITHM} algorithm."))
        })?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        if let Some((key, value)) = part.trim().split_once('=') {
            match key.trim() {
                "Credential" => credential = Some(value.trim().to_string()),
                "SignedHeaders" => signed_headers = Some(value.trim().to_string()),
                "Signature" => signature = Some(value.trim().to_string()),
                _ => {}
            }
        }
    }
    let missing = |name: &str| {
        SignatureError::IncompleteSignature(format!(
            "Authorization header requires '{name}' parameter. Authorization={auth}"
        ))
    };
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let scope = parse_credential_param(&credential)
        .ok_or_else(|| SignatureError::IncompleteSignature(format!("Invalid credential: {credential}")))?;
    let signed_headers = signed_headers.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;
    let amz_date = header(headers, "x-amz-date").ok_or_else(|| {
        SignatureError::IncompleteSignature(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.".into(),
        )
    })?;
    Ok(Claimed {
        scope,
        amz_date,
        signed_headers: split_signed_headers(&signed_headers),
        signature: decode_signature(&signature)?,
        session_token: header(headers, "x-amz-security-token"),
        expires: None,
    })
}

fn split_signed_headers(list: &str) -> Vec<String> {
    list.split(';')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect()
}

fn decode_signature(signature: &str) -> Result<Vec<u8>, SignatureError> {
    match hex::decode(signature) {
        Ok(bytes) if bytes.len() == 32 => Ok(bytes),
        _ => Err(SignatureError::IncompleteSignature(
            "The signature must be 64 hexadecimal characters.".into(),
        )),
    }
}

/// The canonical request of SigV4 for `payload_hash`.
fn canonical_request(
    request: &SignedRequest<'_>,
    claimed: &Claimed,
    payload_hash: &str,
) -> Result<String, SignatureError> {
    let mut out = String::with_capacity(256);
    out.push_str(request.method.as_str());
    out.push('\n');
    out.push_str(&canonical_uri(request.path));
    out.push('\n');
    out.push_str(&canonical_query(request.query.unwrap_or(""), claimed.expires.is_some()));
    out.push('\n');
    for name in &claimed.signed_headers {
        let value = if name == "host" {
            header(request.headers, "host")
                .or_else(|| request.authority.map(str::to_string))
                .ok_or_else(mismatch)?
        } else {
            let values: Vec<String> = request
                .headers
                .get_all(name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(collapse_spaces)
                .collect();
            if values.is_empty() {
                return Err(mismatch());
            }
            values.join(",")
        };
        out.push_str(name);
        out.push(':');
        out.push_str(&collapse_spaces(&value));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&claimed.signed_headers.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    Ok(out)
}

fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The path encoded once more (non-S3 services), after removing dot segments; `/` when empty.
fn canonical_uri(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let normalized = segments.join("/");
    let normalized = if normalized.is_empty() {
        "/".to_string()
    } else {
        normalized
    };
    let normalized = if normalized.starts_with('/') {
        normalized
    } else {
        format!("/{normalized}")
    };
    uri_encode(&normalized, false)
}

/// Query parameters sorted by encoded name, then value; each decoded and encoded again, since
/// clients may have encoded them differently. The signature itself is left out.
fn canonical_query(query: &str, presigned: bool) -> String {
    let mut pairs: Vec<(String, String)> = query_params(query)
        .into_iter()
        .filter(|(k, _)| !(presigned && k == "X-Amz-Signature"))
        .map(|(k, v)| (uri_encode(&k, true), uri_encode(&v, true)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-decoded query parameters in order (`+` stays `+`, as in SigV4).
fn query_params(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let hex_digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex_digit(bytes[i + 1]), hex_digit(bytes[i + 2])) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// SigV4's URI encoding: unreserved characters kept, everything else `%XX` (uppercase).
fn uri_encode(text: &str, encode_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let keep = byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'_' | b'.' | b'~')
            || (byte == b'/' && !encode_slash);
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn signing_key(secret: &str, scope: &CredentialScope) -> Vec<u8> {
    let step = |key: &[u8], data: &str| -> Vec<u8> {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(data.as_bytes());
        mac.finalize().into_bytes().to_vec()
    };
    let k_date = step(format!("AWS4{secret}").as_bytes(), &scope.date);
    let k_region = step(&k_date, &scope.region);
    let k_service = step(&k_region, &scope.service);
    step(&k_service, "aws4_request")
}

/// `YYYYMMDDTHHMMSSZ` as epoch seconds.
fn parse_amz_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> { text.get(range)?.parse().ok() };
    let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hour, minute, second) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

fn format_amz_date(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings};
    use aws_sigv4::sign::v4;
    use http::Request;

    use super::*;

    const KEY: &str = "AKIDSLUICE";
    const SECRET: &str = "secret/with+special=chars";

    fn now() -> SystemTime {
        SystemTime::now()
    }

    fn epoch(t: SystemTime) -> i64 {
        t.duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
    }

    /// Signs like the AWS SDKs do (aws-sigv4 is the SDKs' own signer).
    fn signed(
        mut req: Request<Vec<u8>>,
        service: &str,
        at: SystemTime,
        token: Option<&str>,
        presign_for: Option<Duration>,
    ) -> Request<Vec<u8>> {
        let identity = Credentials::new(KEY, SECRET, token.map(str::to_string), None, "test").into();
        let mut settings = SigningSettings::default();
        if let Some(expires) = presign_for {
            settings.signature_location = SignatureLocation::QueryParams;
            settings.expires_in = Some(expires);
        }
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name(service)
            .time(at)
            .settings(settings)
            .build()
            .expect("params")
            .into();
        let uri = req.uri().to_string();
        let headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
            .collect();
        let signable = SignableRequest::new(
            req.method().as_str(),
            &uri,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(req.body()),
        )
        .expect("signable");
        let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
        instructions.apply_to_request_http1x(&mut req);
        req
    }

    fn check(req: &Request<Vec<u8>>, service: &str, at: i64) -> Result<Verified, SignatureError> {
        check_with(req, service, at, |k| {
            (k == KEY).then(|| KeySecret {
                secret: SECRET.into(),
                session_token: None,
            })
        })
    }

    fn check_with(
        req: &Request<Vec<u8>>,
        service: &str,
        at: i64,
        secret_of: impl Fn(&str) -> Option<KeySecret>,
    ) -> Result<Verified, SignatureError> {
        let signed = SignedRequest {
            method: req.method(),
            path: req.uri().path(),
            query: req.uri().query(),
            headers: req.headers(),
            authority: req.uri().authority().map(|a| a.as_str()),
            body: req.body(),
        };
        verify(&signed, service, at, secret_of)
    }

    fn json_post(body: &str) -> Request<Vec<u8>> {
        Request::post("http://localhost:4566/")
            .header("host", "localhost:4566")
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", "AmazonSQS.SendMessage")
            .body(body.as_bytes().to_vec())
            .expect("request")
    }

    #[test]
    fn sdk_signed_requests_verify_and_any_change_breaks_them() {
        let at = now();
        let req = signed(json_post(r#"{"MessageBody":"hi"}"#), "sqs", at, None, None);
        let verified = check(&req, "sqs", epoch(at)).expect("valid");
        assert_eq!(verified.scope.access_key, KEY);
        assert_eq!(verified.scope.region, "us-east-1");

        let mut body_changed = req.clone();
        *body_changed.body_mut() = br#"{"MessageBody":"ho"}"#.to_vec();
        assert!(matches!(
            check(&body_changed, "sqs", epoch(at)),
            Err(SignatureError::SignatureDoesNotMatch(_))
        ));
        let mut header_changed = req.clone();
        header_changed
            .headers_mut()
            .insert("x-amz-target", "AmazonSQS.DeleteQueue".parse().expect("value"));
        assert!(matches!(
            check(&header_changed, "sqs", epoch(at)),
            Err(SignatureError::SignatureDoesNotMatch(_))
        ));
        let wrong_secret = check_with(&req, "sqs", epoch(at), |_| {
            Some(KeySecret {
                secret: "other".into(),
                session_token: None,
            })
        });
        assert!(matches!(wrong_secret, Err(SignatureError::SignatureDoesNotMatch(_))));
        assert_eq!(
            check_with(&req, "sqs", epoch(at), |_| None),
            Err(SignatureError::InvalidClientTokenId)
        );
        assert!(matches!(
            check(&req, "kinesis", epoch(at)),
            Err(SignatureError::SignatureDoesNotMatch(m)) if m.contains("correct service")
        ));
    }

    #[test]
    fn clock_skew_beyond_fifteen_minutes_is_refused() {
        let at = now();
        let req = signed(json_post("{}"), "sqs", at, None, None);
        assert!(check(&req, "sqs", epoch(at) + 14 * 60).is_ok());
        assert!(check(&req, "sqs", epoch(at) - 14 * 60).is_ok());
        assert!(matches!(
            check(&req, "sqs", epoch(at) + 16 * 60),
            Err(SignatureError::RequestExpired(_))
        ));
        assert!(matches!(
            check(&req, "sqs", epoch(at) - 16 * 60),
            Err(SignatureError::RequestExpired(_))
        ));
    }

    #[test]
    fn query_strings_and_paths_are_canonicalised_like_the_sdk() {
        let at = now();
        let url = "http://localhost:4566/000000000000/q%20name?Action=SendMessage&MessageBody=a%20b%2Bc%2F%C3%A9&Version=2012-11-05&Attr.1=x";
        let req = Request::get(url)
            .header("host", "localhost:4566")
            .body(Vec::new())
            .expect("request");
        let req = signed(req, "sqs", at, None, None);
        check(&req, "sqs", epoch(at)).expect("valid");
    }

    #[test]
    fn presigned_urls_verify_until_they_expire() {
        let at = now();
        let req = Request::get("http://localhost:4566/?Action=ListQueues&Version=2012-11-05")
            .header("host", "localhost:4566")
            .body(Vec::new())
            .expect("request");
        let req = signed(req, "sqs", at, None, Some(Duration::from_secs(60)));
        assert!(req.headers().get("authorization").is_none(), "signed in the query");
        check(&req, "sqs", epoch(at) + 30).expect("valid within its expiry");
        assert!(matches!(
            check(&req, "sqs", epoch(at) + 61),
            Err(SignatureError::RequestExpired(_))
        ));
    }

    #[test]
    fn session_tokens_must_match_the_key() {
        let at = now();
        let req = signed(json_post("{}"), "sqs", at, Some("token-1"), None);
        let with_token = |token: &'static str| {
            move |k: &str| {
                (k == KEY).then(|| KeySecret {
                    secret: SECRET.into(),
                    session_token: Some(token.into()),
                })
            }
        };
        assert!(check_with(&req, "sqs", epoch(at), with_token("token-1")).is_ok());
        assert_eq!(
            check_with(&req, "sqs", epoch(at), with_token("token-2")),
            Err(SignatureError::InvalidClientTokenId)
        );
        let no_token = signed(json_post("{}"), "sqs", at, None, None);
        assert_eq!(
            check_with(&no_token, "sqs", epoch(at), with_token("token-1")),
            Err(SignatureError::InvalidClientTokenId)
        );
    }

    #[test]
    fn missing_and_malformed_signatures() {
        let plain = json_post("{}");
        assert_eq!(check(&plain, "sqs", 0), Err(SignatureError::MissingAuthenticationToken));
        let mut truncated = plain.clone();
        truncated.headers_mut().insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDSLUICE/20260101/us-east-1/sqs/aws4_request"
                .parse()
                .expect("value"),
        );
        assert!(matches!(
            check(&truncated, "sqs", 0),
            Err(SignatureError::IncompleteSignature(_))
        ));
    }

    /// The "get-vanilla" case of AWS's SigV4 test suite, independent of aws-sigv4.
    #[test]
    fn aws_test_suite_get_vanilla() {
        let req = Request::get("/")
            .header("host", "example.amazonaws.com")
            .header("x-amz-date", "20150830T123600Z")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            )
            .body(Vec::new())
            .expect("request");
        let at = parse_amz_date("20150830T123600Z").expect("date");
        let verified = check_with(&req, "service", at, |_| {
            Some(KeySecret {
                secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
                session_token: None,
            })
        });
        assert!(verified.is_ok(), "{verified:?}");
    }

    #[test]
    fn dates_round_trip() {
        for text in [
            "19700101T000000Z",
            "20150830T123600Z",
            "20260228T235959Z",
            "20240229T120000Z",
        ] {
            let epoch = parse_amz_date(text).expect(text);
            assert_eq!(format_amz_date(epoch), text);
        }
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(parse_amz_date("2015-08-30T12:36:00Z"), None);
        assert_eq!(parse_amz_date("20151330T123600Z"), None);
    }
}
