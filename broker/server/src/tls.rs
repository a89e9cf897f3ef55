//! HTTPS: the rustls server configuration built from `--tls-cert` and `--tls-key`, and the
//! client configuration of the broker's own HTTPS calls (SNS deliveries, a standby forwarding
//! to the writer).
//!
//! ALPN offers `h2` and `http/1.1`, so HTTP/2 clients (the JavaScript SDK v3, Kinesis
//! SubscribeToShard) negotiate HTTP/2 and everyone else HTTP/1.1. The crypto provider is
//! rustls' `ring` backend: a small C/asm build, unlike aws-lc's CMake one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Why the certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot use TLS certificate {cert} / key {key}: {message}")]
pub struct TlsError {
    cert: String,
    key: String,
    message: String,
}

/// Builds the acceptor from PEM files.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let fail = |message: String| TlsError {
        cert: cert.display().to_string(),
        key: key.display().to_string(),
        message,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| fail(format!("reading the certificate: {e}")))?
        .collect::<Result<_, _>>()
        .map_err(|e| fail(format!("parsing the certificate: {e}")))?;
    if chain.is_empty() {
        return Err(fail("the certificate file holds no certificate".into()));
    }
    let private_key = PrivateKeyDer::from_pem_file(key).map_err(|e| fail(format!("reading the key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| fail(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Where Debian, Alpine and Red Hat keep the system CA bundle.
const SYSTEM_CA_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/cert.pem",
    "/etc/pki/tls/certs/ca-bundle.crt",
];

/// A client configuration trusting the system CAs and the certificates in `extra_ca` (PEM),
/// given by the flag `flag` (for the error when it holds none).
pub fn client_config(extra_ca: Option<&Path>, flag: &str) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    let mut files: Vec<PathBuf> = SYSTEM_CA_BUNDLES
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .take(1)
        .collect();
    if let Some(extra) = extra_ca {
        files.push(extra.to_path_buf());
    }
    for file in &files {
        let certs = CertificateDer::pem_file_iter(file)
            .map_err(|e| format!("reading CA certificates {}: {e}", file.display()))?;
        for cert in certs.flatten() {
            // A bundle may hold certificates rustls cannot use; skip those, keep the rest.
            let _ = roots.add(cert);
        }
    }
    if extra_ca.is_some() && roots.is_empty() {
        return Err(format!("the {flag} file holds no usable certificate"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
