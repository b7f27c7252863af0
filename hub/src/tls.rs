//! TLS for `tally-hub serve --tls-cert --tls-key`: the rustls server configuration the hub's
//! accept loop ([`crate::server`]) shakes hands with, on the rustls and ring the terminals'
//! client already uses.
//!
//! Handshakes run in the hub's own connection tasks through tokio-rustls, each under a
//! timeout, so a client that stalls mid-handshake holds only its own connection. The hub sees
//! every client's own address.

use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why a certificate and key cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("the certificate file holds no PEM certificate: {0}")]
    Certificate(String),
    #[error("the key file holds no PEM private key: {0}")]
    Key(String),
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Config(String),
}

/// A TLS server configuration from PEM text: the certificate chain (the hub's certificate
/// first, then any intermediates) and its private key (PKCS#8, PKCS#1 or SEC1).
pub fn server_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Certificate(e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::Certificate("no CERTIFICATE block".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Key(e.to_string()))?;
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| TlsError::Config(e.to_string()))?;
    Ok(Arc::new(config))
}
