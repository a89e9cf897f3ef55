//! SNS message signing as AWS does it, so that standard SNS message validators accept what Sluice sends.
//!
//! AWS signs every HTTP(S) delivery (`Notification`, `SubscriptionConfirmation`,
//! `UnsubscribeConfirmation`) with RSASSA-PKCS1-v1_5 over a canonical "string to sign": SHA-1 for
//! `SignatureVersion` "1" (AWS's default) and SHA-256 for "2". The `Signature` field is the base64 of
//! that signature, and `SigningCertURL` points at an X.509 certificate (PEM) whose public key checks it.
//!
//! Validators such as the `sns-validator` npm package, the PHP `MessageValidator` and the Python
//! `aws-sns-message-validator` rebuild the string to sign from the JSON fields, fetch the certificate
//! over HTTPS from a host they trust (by default only `sns.<region>.amazonaws.com`, configurable) whose
//! path ends in `.pem`, and verify the signature with the certificate's public key. They do not check a
//! chain of trust, so a self-signed certificate served by Sluice is enough once the host is trusted.
//! The Java SDK v2 `SnsMessageManager` also wants an issuer and subject naming Amazon (a common name of
//! `sns.amazonaws.com` passes) and only fetches from `sns.<region>.amazonaws.com`, which it cannot be told.
//!
//! The string to sign (see [`string_to_sign`]) holds `Name\nValue\n` pairs in byte order of the names:
//! `Message`, `MessageId`, `Subject` (notifications, only when present), `SubscribeURL` (confirmations),
//! `Timestamp`, `Token` (confirmations), `TopicArn`, `Type`. Validators rebuild it from whichever of those
//! keys the JSON carries, so the JSON sent must carry exactly the fields that were signed: no `Subject` in
//! a confirmation, and no empty `Subject` at all (the PHP and npm validators sign an empty one, the Python
//! one drops it), so pass `None` and omit the key when a notification has no or an empty subject.
//!
//! [`SigningKey`] is the broker's persistent identity: a 2048-bit RSA key and a self-signed certificate,
//! stored with [`SigningKey::encode`] and restored with [`SigningKey::decode`]. Both versions sign
//! with OpenSSL (blinded, as OpenSSL always does): `ring` cannot sign SHA-1, and the pure-Rust `rsa`
//! crate signed at a fifth of OpenSSL's speed, which bounded every signed publish (see
//! docs/benchmarks.md). `ring` checks the key once at load, independently of the signer.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use ring::signature::UnparsedPublicKey;
use zeroize::Zeroizing;

/// First byte of [`SigningKey::encode`]'s output.
const ENCODING_VERSION: u8 = 1;
/// Size of the RSA modulus that [`SigningKey::generate`] creates.
const KEY_BITS: u32 = 2048;
/// How long a generated certificate is valid: ten years of 365.25 days.
const CERT_VALIDITY_DAYS: i64 = 3652;
/// How far before "now" a generated certificate becomes valid, to tolerate clock skew.
const CERT_BACKDATE_DAYS: i64 = 1;

/// DER of the AlgorithmIdentifier `rsaEncryption` with NULL parameters.
const ALG_RSA_ENCRYPTION: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];
/// DER of the AlgorithmIdentifier `sha256WithRSAEncryption` with NULL parameters.
const ALG_SHA256_WITH_RSA: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
];

/// Why a signing key could not be made, restored or used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningError {
    /// Generating the RSA key or its certificate failed.
    Generate(String),
    /// The bytes given to [`SigningKey::decode`] are not a valid stored signing key.
    Decode(String),
    /// The cryptographic operation behind a signature failed (e.g. the OS random generator).
    Sign(String),
    /// A `SignatureVersion` other than "1" or "2".
    UnsupportedSignatureVersion(String),
}

impl fmt::Display for SigningError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Generate(why) => write!(f, "cannot generate the SNS signing key: {why}"),
            Self::Decode(why) => write!(f, "invalid stored SNS signing key: {why}"),
            Self::Sign(why) => write!(f, "cannot sign the SNS message: {why}"),
            Self::UnsupportedSignatureVersion(v) => write!(f, "unsupported SignatureVersion {v:?}"),
        }
    }
}

impl std::error::Error for SigningError {}

/// `SignatureVersion` of an SNS topic: "1" signs with SHA1withRSA (AWS's default), "2" with SHA256withRSA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignatureVersion {
    /// SignatureVersion "1": SHA1withRSA.
    #[default]
    V1,
    /// SignatureVersion "2": SHA256withRSA.
    V2,
}

impl SignatureVersion {
    /// Parses AWS's attribute value "1" or "2"; anything else is `None`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "1" => Some(Self::V1),
            "2" => Some(Self::V2),
            _ => None,
        }
    }

    /// The attribute value as AWS writes it: "1" or "2".
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "1",
            Self::V2 => "2",
        }
    }
}

impl FromStr for SignatureVersion {
    type Err = SigningError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value).ok_or_else(|| SigningError::UnsupportedSignatureVersion(value.to_owned()))
    }
}

impl fmt::Display for SignatureVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `Type` of an SNS message delivered over HTTP(S).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// A published message.
    Notification,
    /// Sent when an endpoint subscribes; carries `SubscribeURL` and `Token`.
    SubscriptionConfirmation,
    /// Sent when an endpoint unsubscribes; carries `SubscribeURL` and `Token`.
    UnsubscribeConfirmation,
}

impl MessageKind {
    /// AWS's `Type` value for this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notification => "Notification",
            Self::SubscriptionConfirmation => "SubscriptionConfirmation",
            Self::UnsubscribeConfirmation => "UnsubscribeConfirmation",
        }
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fields of an SNS message that take part in its signature, exactly as they appear in its JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedFields<'a> {
    /// The message's `Type`.
    pub kind: MessageKind,
    /// `Message`.
    pub message: &'a str,
    /// `MessageId`.
    pub message_id: &'a str,
    /// `Subject`, signed for notifications only.
    pub subject: Option<&'a str>,
    /// `SubscribeURL`, signed for confirmations only.
    pub subscribe_url: Option<&'a str>,
    /// `Timestamp`, e.g. `2012-05-02T00:54:06.655Z`.
    pub timestamp: &'a str,
    /// `Token`, signed for confirmations only.
    pub token: Option<&'a str>,
    /// `TopicArn`.
    pub topic_arn: &'a str,
}

/// AWS's canonical string to sign for these fields: `Name\nValue\n` pairs in byte order of the names.
#[must_use]
pub fn string_to_sign(fields: &SignedFields) -> String {
    let (subject, subscribe_url, token) = match fields.kind {
        MessageKind::Notification => (fields.subject, None, None),
        MessageKind::SubscriptionConfirmation | MessageKind::UnsubscribeConfirmation => {
            (None, fields.subscribe_url, fields.token)
        }
    };
    let pairs = [
        ("Message", Some(fields.message)),
        ("MessageId", Some(fields.message_id)),
        ("Subject", subject),
        ("SubscribeURL", subscribe_url),
        ("Timestamp", Some(fields.timestamp)),
        ("Token", token),
        ("TopicArn", Some(fields.topic_arn)),
        ("Type", Some(fields.kind.as_str())),
    ];
    let len = pairs
        .iter()
        .filter_map(|(name, value)| value.map(|v| name.len() + v.len() + 2))
        .sum();
    let mut out = String::with_capacity(len);
    for (name, value) in pairs {
        if let Some(value) = value {
            out.push_str(name);
            out.push('\n');
            out.push_str(value);
            out.push('\n');
        }
    }
    out
}

/// The broker's persistent signing identity: RSA private key + self-signed certificate.
pub struct SigningKey {
    /// The key as PKCS#8 DER (zeroed on drop), what [`SigningKey::encode`] stores.
    pkcs8: Zeroizing<Vec<u8>>,
    /// The same key as OpenSSL holds it, for both signature versions.
    key: PKey<Private>,
    /// The public key as PKCS#1 `RSAPublicKey` DER, what the certificate names.
    public_key: Vec<u8>,
    certificate_der: Vec<u8>,
    certificate_pem: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("certificate_der_len", &self.certificate_der.len())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a fresh 2048-bit key and a self-signed certificate for `common_name` valid for 10 years.
    pub fn generate(common_name: &str) -> Result<SigningKey, SigningError> {
        let generate = |what: &str, why: &dyn fmt::Display| SigningError::Generate(format!("{what}: {why}"));
        let key = openssl::rsa::Rsa::generate(KEY_BITS)
            .and_then(PKey::from_rsa)
            .map_err(|e| generate("RSA key generation", &e))?;
        let pkcs8 = Zeroizing::new(
            key.private_key_to_pkcs8()
                .map_err(|e| generate("PKCS#8 encoding", &e))?,
        );
        let cert_key = rcgen::KeyPair::try_from(pkcs8.as_slice())
            .map_err(|e| generate("loading the key for the certificate", &e))?;

        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|since| i64::try_from(since.as_secs()).ok())
            .and_then(|secs| time::OffsetDateTime::from_unix_timestamp(secs).ok())
            .ok_or_else(|| SigningError::Generate("the system clock is out of range".to_owned()))?;
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
        params.not_before = now - time::Duration::days(CERT_BACKDATE_DAYS);
        params.not_after = now + time::Duration::days(CERT_VALIDITY_DAYS);
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        let certificate = params
            .self_signed(&cert_key)
            .map_err(|e| generate("self-signing", &e))?;

        Self::from_parts(pkcs8, certificate.der().to_vec()).map_err(|e| match e {
            SigningError::Decode(why) => SigningError::Generate(why),
            other => other,
        })
    }

    /// Serialises key + certificate (secret!) as byte 1, then u32-BE-length-prefixed PKCS#8 and cert DER.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let key = self.pkcs8.as_slice();
        let cert = &self.certificate_der;
        let mut out = Vec::with_capacity(1 + 4 + key.len() + 4 + cert.len());
        out.push(ENCODING_VERSION);
        for field in [key, cert.as_slice()] {
            // Both are a few kilobytes at most: a 2048..=4096-bit key and its certificate.
            let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(field);
        }
        out
    }

    /// Restores what `encode` wrote; refuses anything else with an error (never panics).
    pub fn decode(bytes: &[u8]) -> Result<SigningKey, SigningError> {
        let decode = |why: &str| SigningError::Decode(why.to_owned());
        let (&version, rest) = bytes.split_first().ok_or_else(|| decode("empty"))?;
        if version != ENCODING_VERSION {
            return Err(SigningError::Decode(format!("unknown encoding version {version}")));
        }
        let (key, rest) = take_field(rest).ok_or_else(|| decode("truncated private key"))?;
        let (cert, rest) = take_field(rest).ok_or_else(|| decode("truncated certificate"))?;
        if !rest.is_empty() {
            return Err(decode("trailing bytes"));
        }
        Self::from_parts(Zeroizing::new(key.to_vec()), cert.to_vec())
    }

    /// Checks that key and certificate belong together and sign correctly, then builds the key.
    fn from_parts(pkcs8: Zeroizing<Vec<u8>>, certificate_der: Vec<u8>) -> Result<Self, SigningError> {
        let decode = |why: &str| SigningError::Decode(why.to_owned());
        let private = |e: &dyn fmt::Display| SigningError::Decode(format!("private key: {e}"));
        let key = PKey::private_key_from_pkcs8(&pkcs8).map_err(|e| private(&e))?;
        let rsa = key.rsa().map_err(|_| decode("private key is not an RSA key"))?;
        let bits = rsa.n().num_bits();
        if !(2048..=4096).contains(&bits) {
            return Err(SigningError::Decode(format!(
                "private key has {bits} bits; SNS signatures need 2048 to 4096"
            )));
        }
        rsa.check_key().map_err(|e| private(&e))?;
        let public_key = rsa.public_key_to_der_pkcs1().map_err(|e| private(&e))?;
        let cert = parse_certificate(&certificate_der).ok_or_else(|| decode("malformed certificate"))?;
        if cert.public_key != public_key.as_slice() {
            return Err(decode("certificate does not match the private key"));
        }
        UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, cert.public_key)
            .verify(cert.tbs, cert.signature)
            .map_err(|_| decode("certificate is not self-signed by the private key"))?;
        let certificate_pem = pem_certificate(&certificate_der);
        let key = SigningKey {
            pkcs8,
            key,
            public_key,
            certificate_der,
            certificate_pem,
        };
        // A key whose CRT values disagree with its modulus would sign wrongly: try both versions once.
        for version in [SignatureVersion::V1, SignatureVersion::V2] {
            let probe = "Sluice SNS signing key self-test\n";
            let signature = key
                .sign(version, probe)
                .map_err(|e| SigningError::Decode(e.to_string()))?;
            if !key.verify(version, probe, &signature) {
                return Err(decode("private key produces invalid signatures"));
            }
        }
        Ok(key)
    }

    /// The certificate as PEM, what SigningCertURL serves.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The certificate as DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// Signs `string_to_sign` for SignatureVersion "1" (SHA1withRSA) or "2" (SHA256withRSA); base64.
    pub fn sign(&self, version: SignatureVersion, string_to_sign: &str) -> Result<String, SigningError> {
        let digest = match version {
            SignatureVersion::V1 => MessageDigest::sha1(),
            SignatureVersion::V2 => MessageDigest::sha256(),
        };
        // PKCS#1 v1.5 is the signer's default padding for an RSA key.
        let signature = openssl::sign::Signer::new(digest, &self.key)
            .and_then(|mut signer| signer.sign_oneshot_to_vec(string_to_sign.as_bytes()))
            .map_err(|e| SigningError::Sign(e.to_string()))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(signature))
    }

    /// Whether `signature` (base64) is this key's signature of `string_to_sign`, as a validator checks it.
    #[must_use]
    pub fn verify(&self, version: SignatureVersion, string_to_sign: &str, signature: &str) -> bool {
        let Ok(signature) = base64::engine::general_purpose::STANDARD.decode(signature) else {
            return false;
        };
        let algorithm = match version {
            SignatureVersion::V1 => &ring::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            SignatureVersion::V2 => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        };
        UnparsedPublicKey::new(algorithm, &self.public_key)
            .verify(string_to_sign.as_bytes(), &signature)
            .is_ok()
    }
}

/// Splits a big-endian u32 length and that many bytes off the front of `input`.
fn take_field(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = input.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
    rest.split_at_checked(len)
}

/// PEM text of a certificate: base64 in lines of 64 characters between the BEGIN/END lines.
fn pem_certificate(der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::with_capacity(body.len() + body.len() / 64 + 64);
    pem.push_str("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// The parts of an X.509 certificate that tie it to its key.
struct CertificateParts<'a> {
    /// The whole DER of `tbsCertificate`, what the certificate's signature covers.
    tbs: &'a [u8],
    /// The certificate's signature (sha256WithRSAEncryption).
    signature: &'a [u8],
    /// The subject's `RSAPublicKey` DER.
    public_key: &'a [u8],
}

/// One DER element.
struct Der<'a> {
    tag: u8,
    /// Tag, length and contents.
    whole: &'a [u8],
    contents: &'a [u8],
}

const TAG_SEQUENCE: u8 = 0x30;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_INTEGER: u8 = 0x02;
const TAG_VERSION: u8 = 0xa0;

/// Reads one DER element (single-byte tag, length of at most 4 bytes) off the front of `input`.
fn der_next(input: &[u8]) -> Option<(Der<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let (len_bytes, after) = rest.split_at_checked(usize::from(first & 0x7f))?;
        if len_bytes.is_empty() || len_bytes.len() > 4 {
            return None;
        }
        rest = after;
        len_bytes
            .iter()
            .try_fold(0usize, |acc, &b| acc.checked_mul(256).map(|acc| acc + usize::from(b)))?
    };
    let header = input.len() - rest.len();
    let (contents, after) = rest.split_at_checked(len)?;
    let whole = input.get(..header.checked_add(len)?)?;
    Some((Der { tag, whole, contents }, after))
}

/// Reads one DER element with the given tag.
fn der_expect(input: &[u8], tag: u8) -> Option<(Der<'_>, &[u8])> {
    der_next(input).filter(|(der, _)| der.tag == tag)
}

/// The contents of a BIT STRING without unused bits.
fn bit_string_bytes<'a>(der: &Der<'a>) -> Option<&'a [u8]> {
    match der.contents.split_first() {
        Some((0, bytes)) => Some(bytes),
        _ => None,
    }
}

/// Picks a certificate apart far enough to check it: an RSA key, signed with sha256WithRSAEncryption.
fn parse_certificate(der: &[u8]) -> Option<CertificateParts<'_>> {
    let (certificate, rest) = der_expect(der, TAG_SEQUENCE)?;
    if !rest.is_empty() {
        return None;
    }
    let (tbs, rest) = der_expect(certificate.contents, TAG_SEQUENCE)?;
    let (outer_algorithm, rest) = der_expect(rest, TAG_SEQUENCE)?;
    let (signature, rest) = der_expect(rest, TAG_BIT_STRING)?;
    if !rest.is_empty() || outer_algorithm.whole != ALG_SHA256_WITH_RSA {
        return None;
    }

    let mut fields = tbs.contents;
    if fields.first() == Some(&TAG_VERSION) {
        fields = der_next(fields)?.1;
    }
    let (_serial, fields) = der_expect(fields, TAG_INTEGER)?;
    let (inner_algorithm, fields) = der_expect(fields, TAG_SEQUENCE)?;
    let (_issuer, fields) = der_expect(fields, TAG_SEQUENCE)?;
    let (_validity, fields) = der_expect(fields, TAG_SEQUENCE)?;
    let (_subject, fields) = der_expect(fields, TAG_SEQUENCE)?;
    let (spki, _extensions) = der_expect(fields, TAG_SEQUENCE)?;
    if inner_algorithm.whole != ALG_SHA256_WITH_RSA {
        return None;
    }
    let (key_algorithm, rest) = der_expect(spki.contents, TAG_SEQUENCE)?;
    let (public_key, rest) = der_expect(rest, TAG_BIT_STRING)?;
    if !rest.is_empty() || key_algorithm.whole != ALG_RSA_ENCRYPTION {
        return None;
    }
    Some(CertificateParts {
        tbs: tbs.whole,
        signature: bit_string_bytes(&signature)?,
        public_key: bit_string_bytes(&public_key)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// One generated key shared by the tests: generation takes a noticeable time.
    fn key() -> &'static SigningKey {
        static KEY: OnceLock<SigningKey> = OnceLock::new();
        KEY.get_or_init(|| SigningKey::generate("sns.sluice.test").expect("generate"))
    }

    fn notification(subject: Option<&str>) -> SignedFields<'_> {
        SignedFields {
            kind: MessageKind::Notification,
            message: "My Test Message",
            message_id: "4d4dc071-ddbf-465d-bba8-08f81c89da64",
            subject,
            subscribe_url: None,
            timestamp: "2019-01-31T04:37:04.321Z",
            token: None,
            topic_arn: "arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P",
        }
    }

    /// The public key in the certificate as a validator sees it.
    fn cert_public_key(cert_der: &[u8]) -> Vec<u8> {
        parse_certificate(cert_der)
            .expect("certificate parses")
            .public_key
            .to_vec()
    }

    fn verify_with_cert(cert_der: &[u8], version: SignatureVersion, data: &str, sig_b64: &str) -> bool {
        let sig = base64::engine::general_purpose::STANDARD
            .decode(sig_b64)
            .expect("base64");
        let alg: &dyn ring::signature::VerificationAlgorithm = match version {
            SignatureVersion::V1 => &ring::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            SignatureVersion::V2 => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        };
        UnparsedPublicKey::new(alg, cert_public_key(cert_der))
            .verify(data.as_bytes(), &sig)
            .is_ok()
    }

    #[test]
    fn notification_string_to_sign_matches_aws_layout() {
        // AWS's documented example ("Verifying the signatures of Amazon SNS messages").
        let with_subject = "Message\nMy Test Message\nMessageId\n4d4dc071-ddbf-465d-bba8-08f81c89da64\n\
            Subject\nMy subject\nTimestamp\n2019-01-31T04:37:04.321Z\n\
            TopicArn\narn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P\nType\nNotification\n";
        assert_eq!(string_to_sign(&notification(Some("My subject"))), with_subject);
        let without = with_subject.replace("Subject\nMy subject\n", "");
        assert_eq!(string_to_sign(&notification(None)), without);
        // An empty subject is still present, as in the JSON.
        assert!(string_to_sign(&notification(Some(""))).contains("\nSubject\n\nTimestamp\n"));
        // Confirmation-only fields never enter a notification's signature.
        let mut extra = notification(None);
        extra.subscribe_url = Some("https://example.com/?Action=ConfirmSubscription");
        extra.token = Some("233");
        assert_eq!(string_to_sign(&extra), without);
    }

    #[test]
    fn confirmation_string_to_sign_matches_aws_layout() {
        let url = "https://sns.us-east-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:\
            us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P&Token=233...";
        let mut fields = SignedFields {
            kind: MessageKind::SubscriptionConfirmation,
            message: "My Test Message",
            message_id: "3d891288-136d-417f-bc05-901c108273ee",
            subject: Some("never signed for confirmations"),
            subscribe_url: Some(url),
            timestamp: "2019-01-31T19:25:13.719Z",
            token: Some("233..."),
            topic_arn: "arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P",
        };
        let expected = format!(
            "Message\nMy Test Message\nMessageId\n3d891288-136d-417f-bc05-901c108273ee\nSubscribeURL\n{url}\n\
             Timestamp\n2019-01-31T19:25:13.719Z\nToken\n233...\n\
             TopicArn\narn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P\nType\nSubscriptionConfirmation\n"
        );
        assert_eq!(string_to_sign(&fields), expected);
        fields.kind = MessageKind::UnsubscribeConfirmation;
        let expected = expected.replace("Type\nSubscriptionConfirmation\n", "Type\nUnsubscribeConfirmation\n");
        assert_eq!(string_to_sign(&fields), expected);
    }

    #[test]
    fn values_are_signed_raw() {
        let mut fields = notification(None);
        fields.message = "line one\nline \"two\"\t\u{e9}\u{1f600}";
        assert!(string_to_sign(&fields).starts_with("Message\nline one\nline \"two\"\t\u{e9}\u{1f600}\nMessageId\n"));
    }

    #[test]
    fn names_and_versions() {
        assert_eq!(SignatureVersion::parse("1"), Some(SignatureVersion::V1));
        assert_eq!("2".parse::<SignatureVersion>(), Ok(SignatureVersion::V2));
        for bad in ["", "3", " 1", "1 ", "01", "v1"] {
            assert_eq!(SignatureVersion::parse(bad), None, "{bad:?}");
            assert!(bad.parse::<SignatureVersion>().is_err());
        }
        assert_eq!(SignatureVersion::default(), SignatureVersion::V1);
        assert_eq!(SignatureVersion::V2.to_string(), "2");
        assert_eq!(MessageKind::Notification.as_str(), "Notification");
        assert_eq!(
            MessageKind::SubscriptionConfirmation.as_str(),
            "SubscriptionConfirmation"
        );
        assert_eq!(
            MessageKind::UnsubscribeConfirmation.to_string(),
            "UnsubscribeConfirmation"
        );
    }

    #[test]
    fn signatures_verify_with_the_certificate_key() {
        let key = key();
        let data = string_to_sign(&notification(Some("My subject")));
        let tampered = string_to_sign(&notification(Some("My subject!")));
        for version in [SignatureVersion::V1, SignatureVersion::V2] {
            let sig = key.sign(version, &data).expect("sign");
            assert_eq!(
                base64::engine::general_purpose::STANDARD
                    .decode(&sig)
                    .expect("base64")
                    .len(),
                256
            );
            assert!(
                verify_with_cert(key.certificate_der(), version, &data, &sig),
                "{version}"
            );
            assert!(key.verify(version, &data, &sig));
            assert!(
                !verify_with_cert(key.certificate_der(), version, &tampered, &sig),
                "{version}"
            );
            assert!(!key.verify(version, &tampered, &sig));
            // PKCS#1 v1.5 is deterministic: the same input gives the same signature.
            assert_eq!(key.sign(version, &data).expect("sign"), sig);
        }
        let v1 = key.sign(SignatureVersion::V1, &data).expect("sign");
        assert!(!verify_with_cert(
            key.certificate_der(),
            SignatureVersion::V2,
            &data,
            &v1
        ));
        assert!(!key.verify(SignatureVersion::V1, &data, "not base64!"));
    }

    #[test]
    fn certificate_is_self_signed_pem() {
        let key = key();
        let der = key.certificate_der();
        let parts = parse_certificate(der).expect("parses");
        UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, parts.public_key)
            .verify(parts.tbs, parts.signature)
            .expect("self-signature verifies");
        assert!(der.windows(b"sns.sluice.test".len()).any(|w| w == b"sns.sluice.test"));

        let pem = key.certificate_pem();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(pem.ends_with("\n-----END CERTIFICATE-----\n"));
        let body: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(body.iter().all(|l| l.len() <= 64));
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(body.concat())
            .expect("base64");
        assert_eq!(decoded, der);
    }

    #[test]
    fn encode_decode_round_trip() {
        let key = key();
        let bytes = key.encode();
        assert_eq!(bytes[0], 1);
        let back = SigningKey::decode(&bytes).expect("decode");
        assert_eq!(back.certificate_pem(), key.certificate_pem());
        assert_eq!(back.encode(), bytes);
        let data = string_to_sign(&notification(None));
        for version in [SignatureVersion::V1, SignatureVersion::V2] {
            assert_eq!(back.sign(version, &data), key.sign(version, &data));
        }
        assert!(format!("{back:?}").starts_with("SigningKey {"));
    }

    #[test]
    fn decode_refuses_everything_else() {
        let bytes = key().encode();
        for prefix in 0..bytes.len() {
            assert!(SigningKey::decode(&bytes[..prefix]).is_err(), "prefix {prefix}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(SigningKey::decode(&longer).is_err());
        let mut other_version = bytes.clone();
        other_version[0] = 2;
        assert!(SigningKey::decode(&other_version).is_err());
        for garbage in [
            &b""[..],
            b"\x01",
            b"\x01\xff\xff\xff\xff",
            b"\x01\0\0\0\0\0\0\0\0",
            b"-----BEGIN",
        ] {
            assert!(SigningKey::decode(garbage).is_err());
        }
        // A huge length must not allocate or panic.
        let mut huge = vec![1, 0xff, 0xff, 0xff, 0xff];
        huge.extend_from_slice(&bytes[5..]);
        assert!(SigningKey::decode(&huge).is_err());
    }

    #[test]
    fn decode_refuses_a_certificate_of_another_key() {
        let bytes = key().encode();
        let key_len = usize::try_from(u32::from_be_bytes(bytes[1..5].try_into().unwrap())).unwrap();
        let cert_start = 1 + 4 + key_len + 4;
        let cert = &bytes[cert_start..];
        let modulus = parse_certificate(cert).unwrap().public_key;
        let modulus_at = cert.windows(modulus.len()).position(|w| w == modulus).unwrap() + cert_start;
        // One bit of the certificate's modulus, then one bit of its signature.
        for at in [modulus_at + 40, bytes.len() - 10] {
            let mut changed = bytes.clone();
            changed[at] ^= 0x01;
            assert!(SigningKey::decode(&changed).is_err(), "byte {at}");
        }
    }

    #[test]
    fn decode_survives_flipped_bytes() {
        let key = key();
        let bytes = key.encode();
        let data = string_to_sign(&notification(None));
        for at in (0..bytes.len()).step_by(13) {
            let mut changed = bytes.clone();
            changed[at] ^= 0x5a;
            if let Ok(other) = SigningKey::decode(&changed) {
                // Only a change the formats ignore can pass, and then the key must still be sound.
                let sig = other.sign(SignatureVersion::V2, &data).expect("sign");
                assert!(verify_with_cert(
                    other.certificate_der(),
                    SignatureVersion::V2,
                    &data,
                    &sig
                ));
            }
        }
    }

    #[test]
    fn der_reader_rejects_bad_lengths() {
        assert!(der_next(&[]).is_none());
        assert!(der_next(&[0x30]).is_none());
        assert!(der_next(&[0x30, 0x02, 0x00]).is_none());
        assert!(der_next(&[0x30, 0x80]).is_none());
        assert!(der_next(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none());
        assert!(der_next(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        let (der, rest) = der_next(&[0x02, 0x81, 0x01, 0x07, 0x09]).unwrap();
        assert_eq!(
            (der.tag, der.whole, der.contents, rest),
            (0x02, &[0x02, 0x81, 0x01, 0x07][..], &[7][..], &[9][..])
        );
        assert!(parse_certificate(b"").is_none());
        assert!(parse_certificate(&[0x30, 0x00]).is_none());
    }

    #[test]
    fn signing_key_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SigningKey>();
    }
}
