//! TLS with a client certificate, on rustls with the ring provider.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};

/// A client's TLS identity: the CA that signed the broker's certificate, and the client's own
/// certificate chain and private key, all PEM.
#[derive(Clone)]
pub struct TlsIdentity {
    ca_pem: Vec<u8>,
    // None: no client certificate (a broker that requires one refuses the handshake).
    client: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("TlsIdentity").finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// From PEM bytes (checked when the connection is made).
    pub fn from_pem(ca_pem: Vec<u8>, cert_pem: Vec<u8>, key_pem: Vec<u8>) -> Self {
        Self {
            ca_pem,
            client: Some((cert_pem, key_pem)),
        }
    }

    /// TLS that checks the broker's certificate against `ca_pem` but presents no client
    /// certificate (for brokers that authenticate clients otherwise; ours refuses it).
    pub fn without_client_certificate(ca_pem: Vec<u8>) -> Self {
        Self {
            ca_pem,
            client: None,
        }
    }

    /// From PEM files.
    ///
    /// # Errors
    /// [`Error::Tls`] naming the file that cannot be read.
    pub fn from_files(
        ca: &std::path::Path,
        cert: &std::path::Path,
        key: &std::path::Path,
    ) -> Result<Self> {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|e| Error::Tls(format!("{}: {e}", p.display())))
        };
        Ok(Self::from_pem(read(ca)?, read(cert)?, read(key)?))
    }

    pub(crate) fn client_config(&self) -> Result<Arc<rustls::ClientConfig>> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&self.ca_pem) {
            let cert = cert.map_err(|e| Error::Tls(format!("CA certificate: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| Error::Tls(format!("CA certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(Error::Tls("no CA certificate in the PEM".into()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_root_certificates(roots);
        let Some((cert_pem, key_pem)) = &self.client else {
            return Ok(Arc::new(builder.with_no_client_auth()));
        };
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::Tls(format!("client certificate: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| Error::Tls(format!("client key: {e}")))?;
        let config = builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| Error::Tls(format!("client certificate or key: {e}")))?;
        Ok(Arc::new(config))
    }
}
