//! SigV4 credential scope parsing (verification comes later).
//!
//! The scope tells the server who is calling and where: the access key (mapped to
//! an account), the region (namespace of queues and topics) and the service (`sqs`
//! or `sns` for form-encoded `Action=` requests that share a path). It comes from
//! the `Authorization` header or, for presigned URLs, the `X-Amz-Credential` query
//! parameter. Parsing is tolerant of spacing and parameter order.

/// The `Credential=` part of a SigV4 signature: `AKID/20260101/us-east-1/sqs/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    /// The access key id.
    pub access_key: String,
    /// The scope date, `YYYYMMDD`.
    pub date: String,
    /// The region (`us-east-1`).
    pub region: String,
    /// The service (`sqs`, `sns`, `kinesis`).
    pub service: String,
}

/// The algorithm name SigV4 uses.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Parses the credential scope from an `Authorization` header
/// (`AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sqs/aws4_request,
/// SignedHeaders=host;x-amz-date, Signature=...`); `None` if it is not SigV4.
pub fn parse_authorization(header: &str) -> Option<CredentialScope> {
    let rest = header.trim().strip_prefix(ALGORITHM)?;
    // The algorithm must be followed by whitespace, not e.g. `AWS4-HMAC-SHA256X`.
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    for part in rest.split(',') {
        let part = part.trim();
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        if key.trim() == "Credential" {
            return parse_credential_param(value.trim());
        }
    }
    None
}

/// Parses an `X-Amz-Credential` value (`AKID/20260101/us-east-1/sqs/aws4_request`),
/// as sent in presigned query strings (already percent-decoded).
pub fn parse_credential_param(credential: &str) -> Option<CredentialScope> {
    // Split from the right: the four scope parts never contain '/', so an access key
    // with a '/' (not issued by AWS, but harmless) still parses.
    let mut parts = credential.trim().rsplitn(5, '/');
    let terminator = parts.next()?;
    let service = parts.next()?;
    let region = parts.next()?;
    let date = parts.next()?;
    let access_key = parts.next()?;
    if terminator != "aws4_request"
        || access_key.is_empty()
        || date.len() != 8
        || !date.bytes().all(|b| b.is_ascii_digit())
        || region.is_empty()
        || service.is_empty()
    {
        return None;
    }
    Some(CredentialScope {
        access_key: access_key.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(ak: &str, region: &str, service: &str) -> Option<CredentialScope> {
        Some(CredentialScope {
            access_key: ak.into(),
            date: "20260101".into(),
            region: region.into(),
            service: service.into(),
        })
    }

    #[test]
    fn authorization_headers() {
        let h = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=abc123";
        assert_eq!(parse_authorization(h), scope("AKIDEXAMPLE", "us-east-1", "sqs"));
        // No spaces after commas (botocore), extra spaces, other order.
        let h = "AWS4-HMAC-SHA256  SignedHeaders=host,Signature=ff ,  Credential = test/20260101/eu-west-1/sns/aws4_request";
        assert_eq!(parse_authorization(h), scope("test", "eu-west-1", "sns"));
        let h = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sqs/aws4_request,SignedHeaders=host,Signature=x";
        assert_eq!(parse_authorization(h), scope("AKID", "us-east-1", "sqs"));
    }

    #[test]
    fn rejects() {
        for h in [
            "",
            "Bearer abc",
            "AWS AKID:sig",
            "AWS4-HMAC-SHA256",
            "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=x",
            "AWS4-HMAC-SHA256 Credential=AKID/2026/us-east-1/sqs/aws4_request",
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sqs",
            "AWS4-HMAC-SHA256 Credential=/20260101/us-east-1/sqs/aws4_request",
            "AWS4-HMAC-SHA256X Credential=AKID/20260101/us-east-1/sqs/aws4_request",
        ] {
            assert_eq!(parse_authorization(h), None, "{h:?}");
        }
    }

    #[test]
    fn presigned_credential() {
        assert_eq!(
            parse_credential_param("AKID/20260101/ap-south-1/kinesis/aws4_request"),
            scope("AKID", "ap-south-1", "kinesis")
        );
        assert_eq!(parse_credential_param("AKID/20260101/us-east-1/sqs/aws4"), None);
    }
}
