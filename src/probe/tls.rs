//! The TLS handshake of a probe: rustls with a certificate verifier that records the served
//! chain and accepts it without PKIX verification (DANE decides, in [`crate::dane`]), while
//! still verifying the handshake signature against the leaf's key with the crypto
//! provider's algorithms, so that the server proves it holds the key it serves.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::{Algorithms, ProbeError, Probed, Protocol};

/// A verifier that records the chain it is shown and accepts it.
#[derive(Debug)]
pub struct RecordingVerifier {
    chain: Mutex<Option<Vec<Vec<u8>>>>,
    algorithms: WebPkiSupportedAlgorithms,
    /// The schemes offered to the server (the ClientHello's signature_algorithms).
    offer: Algorithms,
}

impl RecordingVerifier {
    pub fn new(provider: &CryptoProvider) -> Self {
        Self::offering(provider, Algorithms::All)
    }

    /// A verifier offering only the schemes of `offer`.
    pub fn offering(provider: &CryptoProvider, offer: Algorithms) -> Self {
        RecordingVerifier {
            chain: Mutex::new(None),
            algorithms: provider.signature_verification_algorithms,
            offer,
        }
    }

    /// The chain the server sent (leaf first), once the handshake got that far.
    pub fn chain(&self) -> Option<Vec<Vec<u8>>> {
        self.chain.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.as_ref().to_vec())
            .collect();
        *self.chain.lock().unwrap_or_else(|e| e.into_inner()) = Some(chain);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        let mut schemes = self.algorithms.supported_schemes();
        schemes.retain(|s| self.offer.offers(*s));
        schemes
    }
}

/// A client configuration around a fresh recording verifier.
pub fn client_config(
    verifier: Arc<RecordingVerifier>,
    provider: Arc<CryptoProvider>,
) -> Result<ClientConfig, rustls::Error> {
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// The TLS handshake over `stream`, SNI = `host` (RFC 7672 8.1: the TLSA base domain).
pub async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    host: &str,
    addr: SocketAddr,
) -> Result<(Probed, TlsStream<S>), ProbeError> {
    handshake_offering(stream, host, addr, Algorithms::All).await
}

/// [`handshake`], offering only the signature schemes of `offer`.
pub async fn handshake_offering<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    host: &str,
    addr: SocketAddr,
    offer: Algorithms,
) -> Result<(Probed, TlsStream<S>), ProbeError> {
    let name = ServerName::try_from(host.trim_end_matches('.').to_string())
        .map_err(|_| ProbeError::ServerName(host.to_string()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(RecordingVerifier::offering(&provider, offer));
    let config = client_config(verifier.clone(), provider).map_err(|e| ProbeError::Tls {
        addr,
        message: e.to_string(),
    })?;
    let connector = TlsConnector::from(Arc::new(config));
    let tls = connector
        .connect(name, stream)
        .await
        .map_err(|e| ProbeError::Tls {
            addr,
            message: match verifier.chain() {
                Some(_) => format!("{e} (after the server sent its certificates)"),
                None => e.to_string(),
            },
        })?;
    let (_, conn) = tls.get_ref();
    let chain = match conn.peer_certificates() {
        Some(certs) if !certs.is_empty() => certs.iter().map(|c| c.as_ref().to_vec()).collect(),
        _ => verifier.chain().unwrap_or_default(),
    };
    if chain.is_empty() {
        return Err(ProbeError::Tls {
            addr,
            message: "the server sent no certificate".to_string(),
        });
    }
    let tls_version = conn.protocol_version().map(|v| format!("{v:?}"));
    Ok((Probed { chain, tls_version }, tls))
}

/// End the session politely: the protocol's quit command, then close_notify.
pub async fn goodbye<S: AsyncRead + AsyncWrite + Unpin>(mut tls: TlsStream<S>, protocol: Protocol) {
    let quit: &[u8] = match protocol {
        Protocol::Smtp | Protocol::Pop3 => b"QUIT\r\n",
        Protocol::Imap => b"a002 LOGOUT\r\n",
        Protocol::Tls => b"",
    };
    if !quit.is_empty() {
        let _ = tls.write_all(quit).await;
    }
    let _ = tls.shutdown().await;
}
