//! HTTPS: the rustls server configuration built from `--tls-cert` and `--tls-key`.
//!
//! ALPN offers `h2` and `http/1.1`, so HTTP/2 clients (the JavaScript SDK v3, Kinesis
//! SubscribeToShard) negotiate HTTP/2 and everyone else HTTP/1.1. The crypto provider is
//! rustls' `ring` backend: a small C/asm build, unlike aws-lc's CMake one.

use std::path::Path;
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
