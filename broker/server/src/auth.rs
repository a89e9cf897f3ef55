//! Authentication: which access keys exist, their secrets and accounts, and the check of each
//! API request's SigV4 signature when `--auth verify` is on.
//!
//! With `--auth off` (the default, meant for a laptop or CI) any signature, or none, is
//! accepted and every request acts for `--account-id`, as before. With `verify`, a request must
//! be signed by a key from `--credentials`; it then acts for that key's account, in the region
//! of its credential scope.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use sluice_protocols::sigv4_verify::{self, KeySecret, SignatureError, SignedRequest};

use crate::policy::Policy;

/// One declared access key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// The access key id clients sign with.
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// The 12-digit account it acts for.
    pub account_id: String,
    /// For temporary credentials: the token requests must carry.
    #[serde(default)]
    pub session_token: Option<String>,
    /// IAM-style identity policy (a structure, or a JSON document as a string); without one the
    /// key may do everything in its account.
    #[serde(default)]
    pub policy: Option<serde_json::Value>,
}

/// The `--credentials` file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    #[serde(default)]
    keys: Vec<KeySpec>,
}

/// Why the credentials file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// Unreadable.
    #[error("cannot read credentials file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not valid YAML/TOML of the expected shape, or a key that breaks a rule.
    #[error("credentials file {path} is invalid: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Known access keys.
#[derive(Debug, Default, Clone)]
pub struct Keys {
    by_id: HashMap<String, (KeySpec, Option<Arc<Policy>>)>,
}

/// Who a verified request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The key's account.
    pub account_id: String,
    /// The region of the credential scope.
    pub region: String,
    /// The access key id.
    pub access_key_id: String,
    /// The key's identity policy.
    pub policy: Option<Arc<Policy>>,
}

impl Keys {
    /// Loads a credentials file: TOML for `.toml`, YAML otherwise.
    pub fn load(path: &Path) -> Result<Keys, CredentialsError> {
        let text = std::fs::read_to_string(path).map_err(|source| CredentialsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Keys::parse(&text, path)
    }

    /// Parses credentials text; `path` picks the format and names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Keys, CredentialsError> {
        let invalid = |message: String| CredentialsError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let is_toml = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        let file: CredentialsFile = if is_toml {
            toml::from_str(text).map_err(|e| invalid(e.message().to_string()))?
        } else {
            serde_saphyr::from_str(text).map_err(|e| invalid(e.to_string()))?
        };
        let mut by_id = HashMap::new();
        for key in file.keys {
            if key.access_key_id.is_empty() || key.secret_access_key.is_empty() {
                return Err(invalid(
                    "every key needs an access_key_id and a secret_access_key".into(),
                ));
            }
            if key.account_id.len() != 12 || !key.account_id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(format!(
                    "account_id of {} must be 12 digits, not {:?}",
                    key.access_key_id, key.account_id
                )));
            }
            if by_id.contains_key(&key.access_key_id) {
                return Err(invalid(format!("access key {} is declared twice", key.access_key_id)));
            }
            let policy = match &key.policy {
                Some(doc) => Some(Arc::new(
                    Policy::parse(doc).map_err(|e| invalid(format!("policy of {}: {e}", key.access_key_id)))?,
                )),
                None => None,
            };
            by_id.insert(key.access_key_id.clone(), (key, policy));
        }
        if by_id.is_empty() {
            return Err(invalid("no keys declared: with --auth verify nobody could call".into()));
        }
        Ok(Keys { by_id })
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when no key is declared.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The identity of `access_key_id` in `region` when `secret` is its secret (the console's
    /// sign-in); `None` for an unknown key and a wrong secret alike.
    pub fn sign_in(&self, access_key_id: &str, secret: &str, region: &str) -> Option<Identity> {
        let (key, policy) = self.by_id.get(access_key_id)?;
        secrets_match(secret, &key.secret_access_key).then(|| Identity {
            account_id: key.account_id.clone(),
            region: region.to_string(),
            access_key_id: access_key_id.to_string(),
            policy: policy.clone(),
        })
    }

    /// Verifies a request's signature for `service` (`sqs`, `sns`, `kinesis`) at `now`.
    pub fn verify(
        &self,
        request: &SignedRequest<'_>,
        service: &str,
        now_epoch_secs: i64,
    ) -> Result<Identity, SignatureError> {
        let verified = sigv4_verify::verify(request, service, now_epoch_secs, |id| {
            self.by_id.get(id).map(|(k, _)| KeySecret {
                secret: k.secret_access_key.clone(),
                session_token: k.session_token.clone(),
            })
        })?;
        let (key, policy) = self
            .by_id
            .get(&verified.scope.access_key)
            .ok_or(SignatureError::InvalidClientTokenId)?;
        Ok(Identity {
            account_id: key.account_id.clone(),
            region: verified.scope.region,
            access_key_id: verified.scope.access_key,
            policy: policy.clone(),
        })
    }
}

/// Equality of two secrets without an early exit: their SHA-256 digests are compared in full,
/// so the time taken says nothing about how much of a guess was right.
fn secrets_match(given: &str, stored: &str) -> bool {
    use sha2::Digest;
    let a = sha2::Sha256::digest(given.as_bytes());
    let b = sha2::Sha256::digest(stored.as_bytes());
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Seconds since the Unix epoch, from the system clock (signatures carry wall-clock time).
pub fn now_epoch_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_needs_the_right_secret_and_answers_alike_otherwise() {
        let yaml = "keys:\n  - access_key_id: AK1\n    secret_access_key: s1\n    account_id: \"111111111111\"\n";
        let keys = Keys::parse(yaml, Path::new("keys.yaml")).expect("yaml");
        let identity = keys.sign_in("AK1", "s1", "eu-west-1").expect("signed in");
        assert_eq!(
            (identity.account_id.as_str(), identity.region.as_str()),
            ("111111111111", "eu-west-1")
        );
        assert_eq!(keys.sign_in("AK1", "s2", "eu-west-1"), None);
        assert_eq!(keys.sign_in("AK9", "s1", "eu-west-1"), None);
        assert!(secrets_match("s3cret", "s3cret"));
        assert!(!secrets_match("s3cret", "s3creT"));
        assert!(!secrets_match("", "s3cret"));
    }

    #[test]
    fn credentials_files_in_yaml_and_toml() {
        let yaml = "keys:\n  - access_key_id: AK1\n    secret_access_key: s1\n    account_id: \"111111111111\"\n  - access_key_id: AK2\n    secret_access_key: s2\n    account_id: \"222222222222\"\n    session_token: tok\n";
        let keys = Keys::parse(yaml, Path::new("keys.yaml")).expect("yaml");
        assert_eq!(keys.len(), 2);
        let toml = "[[keys]]\naccess_key_id = \"AK1\"\nsecret_access_key = \"s1\"\naccount_id = \"111111111111\"\n";
        assert_eq!(Keys::parse(toml, Path::new("keys.toml")).expect("toml").len(), 1);
    }

    #[test]
    fn bad_credentials_files_are_refused() {
        for text in [
            "keys: []\n",
            "keys:\n  - access_key_id: AK1\n    secret_access_key: s1\n    account_id: \"12\"\n",
            "keys:\n  - access_key_id: AK1\n    secret_access_key: \"\"\n    account_id: \"111111111111\"\n",
            "keys:\n  - access_key_id: AK1\n    secret_access_key: s\n    account_id: \"111111111111\"\n  - access_key_id: AK1\n    secret_access_key: t\n    account_id: \"111111111111\"\n",
            "keys:\n  - access_key_id: AK1\n    secret: s\n    account_id: \"111111111111\"\n",
        ] {
            assert!(Keys::parse(text, Path::new("keys.yaml")).is_err(), "{text}");
        }
    }
}
