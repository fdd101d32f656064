//! Certificates, chains, private keys, public keys and CSRs read from PEM or DER bytes,
//! down to the DER a TLSA record hashes (the certificate or its SubjectPublicKeyInfo).

#[derive(Debug, thiserror::Error)]
pub enum MaterialError {
    #[error("{0}")]
    Other(String),
}
