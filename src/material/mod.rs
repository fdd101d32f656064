//! Certificates, chains, private keys, public keys and CSRs read from PEM or DER bytes,
//! down to the DER a TLSA record hashes (the certificate or its SubjectPublicKeyInfo).
//!
//! Pure: [`parse`] takes the bytes of one file and returns a [`Material`]; reading files is
//! the caller's business. The SubjectPublicKeyInfo derived from a private key is byte for
//! byte what `openssl pkey -pubout -outform der` prints for it, which is also what a
//! certificate for that key carries, so a next key's record can be published before any
//! certificate for it exists.

use crate::tlsa::{Matching, Selector, TlsaRecord, Usage};

pub(crate) mod der;
mod keyspec;
mod pem;
mod spki;
#[cfg(test)]
mod tests;

pub use keyspec::{CERTBOT_DEFAULT_CURVE, CERTBOT_DEFAULT_RSA_BITS, Curve, KeySpec, spec_of_spki};
pub(crate) use pem::base64_pem_body;
use pem::parse_pem_file;
use spki::{cert_spki, parse_der_file};

/// Why bytes are not usable material. Messages say what is wrong, not which file: the
/// caller names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaterialError {
    /// A file with nothing in it.
    #[error("empty file")]
    Empty,
    /// Neither PEM nor a DER structure this tool reads.
    #[error(
        "not a certificate, key or CSR: no PEM \"-----BEGIN ...-----\" line and not DER either"
    )]
    Unrecognized,
    /// A PEM block whose END line is missing.
    #[error(
        "truncated PEM: \"-----BEGIN {label}-----\" at line {line} has no \"-----END {label}-----\" line"
    )]
    TruncatedPem {
        /// The block's label, e.g. `CERTIFICATE`.
        label: String,
        /// The line of the BEGIN line (1-based).
        line: usize,
    },
    /// A PEM block whose body is not base64.
    #[error("PEM block \"{label}\" at line {line} is not valid base64")]
    BadBase64 {
        /// The block's label.
        label: String,
        /// The line of the BEGIN line (1-based).
        line: usize,
    },
    /// A PEM block whose DER content does not parse.
    #[error("{what} at line {line} is not valid DER ({detail})")]
    BadDer {
        /// What the block claims to be (its label).
        what: String,
        /// The line of the BEGIN line (1-based), 1 for DER files.
        line: usize,
        /// What is wrong.
        detail: String,
    },
    /// A PEM file without any block this tool reads.
    #[error("no certificate, private key, public key or CSR in the file (PEM blocks found: {0})")]
    NothingUsable(String),
    /// A private key protected by a passphrase.
    #[error("encrypted private key: decrypt it first, e.g. `openssl pkey -in FILE -out PLAIN.pem`")]
    Encrypted,
    /// More than one key, public key or CSR (and no certificate).
    #[error("more than one key or CSR in the file ({0}): give each in a file of its own")]
    Ambiguous(String),
    /// A key algorithm outside RSA, ECDSA P-256/P-384/P-521 and Ed25519.
    #[error("unsupported key type: {0} (supported: RSA, ECDSA P-256, P-384, P-521, Ed25519)")]
    UnsupportedKey(String),
    /// A SubjectPublicKeyInfo that does not parse.
    #[error("malformed public key: {0}")]
    BadPublicKey(String),
    /// Selector 0 (full certificate) asked of a key, public key or CSR.
    #[error(
        "a {0} has no certificate: selector 0 (full certificate) needs one; use --selector 1 (SubjectPublicKeyInfo)"
    )]
    NeedsCertificate(&'static str),
    /// `--depth` beyond the certificates in the file.
    #[error("--depth {depth} is out of range: the file has {count} certificate(s) (depth 0 to {last})", last = count.saturating_sub(1))]
    DepthOutOfRange {
        /// The depth asked for.
        depth: usize,
        /// How many certificates there are (1 for keys and CSRs).
        count: usize,
    },
}

/// One certificate: its DER and the DER of its SubjectPublicKeyInfo, as carried in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cert {
    /// The whole certificate (selector 0).
    pub der: Vec<u8>,
    /// Its SubjectPublicKeyInfo (selector 1), byte for byte as in the certificate.
    pub spki: Vec<u8>,
}

impl Cert {
    /// Parse one DER certificate (trailing bytes are an error).
    pub fn from_der(der: &[u8]) -> Result<Cert, String> {
        let (cert, rest) = der::read(der).ok_or("not a DER structure")?;
        if !rest.is_empty() {
            return Err("trailing bytes after the certificate".into());
        }
        let spki = cert_spki(&cert)?;
        Ok(Cert {
            der: cert.raw.to_vec(),
            spki: spki.to_vec(),
        })
    }
}

/// The private key formats this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    /// `PRIVATE KEY` (PKCS#8 PrivateKeyInfo, RFC 5208/5958).
    Pkcs8,
    /// `RSA PRIVATE KEY` (PKCS#1 RSAPrivateKey).
    Pkcs1,
    /// `EC PRIVATE KEY` (SEC1 ECPrivateKey, RFC 5915).
    Sec1,
}

/// What one file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Material {
    /// One or more certificates, in file order (the leaf first in a certbot fullchain).
    Certs(Vec<Cert>),
    /// A private key, with the SubjectPublicKeyInfo of its public key.
    PrivateKey {
        /// The public key's SubjectPublicKeyInfo, as a certificate for the key carries it.
        spki: Vec<u8>,
        /// The format the key was read from.
        format: KeyFormat,
    },
    /// A public key (`PUBLIC KEY` SubjectPublicKeyInfo or `RSA PUBLIC KEY`).
    PublicKey {
        /// The SubjectPublicKeyInfo.
        spki: Vec<u8>,
    },
    /// A certificate signing request.
    Csr {
        /// The SubjectPublicKeyInfo the request carries.
        spki: Vec<u8>,
    },
}

impl Material {
    /// What this is, for messages: "certificate", "private key", "public key", "CSR".
    pub fn kind(&self) -> &'static str {
        match self {
            Material::Certs(_) => "certificate",
            Material::PrivateKey { .. } => "private key",
            Material::PublicKey { .. } => "public key",
            Material::Csr { .. } => "CSR",
        }
    }

    /// The certificates (empty for keys and CSRs).
    pub fn certs(&self) -> &[Cert] {
        match self {
            Material::Certs(c) => c,
            _ => &[],
        }
    }

    /// The SubjectPublicKeyInfo of the key, public key or CSR, or of the first certificate.
    pub fn spki(&self) -> &[u8] {
        match self {
            // parse() never returns an empty chain.
            Material::Certs(c) => c.first().map(|c| c.spki.as_slice()).unwrap_or(&[]),
            Material::PrivateKey { spki, .. }
            | Material::PublicKey { spki }
            | Material::Csr { spki } => spki,
        }
    }

    /// The DER a record of this usage and selector hashes. Usages 3 and 1 take the first
    /// certificate (the leaf), usages 2 and 0 the last one (the top of the chain as given);
    /// `depth` picks the N-th certificate instead (0 = first). Keys, public keys and CSRs
    /// only have selector 1. The key of the chosen item must be of a supported type.
    pub fn der_for(
        &self,
        usage: Usage,
        selector: Selector,
        depth: Option<usize>,
    ) -> Result<&[u8], MaterialError> {
        let (der, spki) = match self {
            Material::Certs(certs) => {
                let index = match depth {
                    Some(d) => d,
                    None if usage.is_trust_anchor() => certs.len().saturating_sub(1),
                    None => 0,
                };
                let cert = certs.get(index).ok_or(MaterialError::DepthOutOfRange {
                    depth: index,
                    count: certs.len(),
                })?;
                let der = match selector {
                    Selector::Cert => cert.der.as_slice(),
                    Selector::Spki => cert.spki.as_slice(),
                };
                (der, cert.spki.as_slice())
            }
            other => {
                if let Some(d) = depth.filter(|d| *d > 0) {
                    return Err(MaterialError::DepthOutOfRange { depth: d, count: 1 });
                }
                if selector == Selector::Cert {
                    return Err(MaterialError::NeedsCertificate(other.kind()));
                }
                (other.spki(), other.spki())
            }
        };
        spec_of(spki)?;
        Ok(der)
    }

    /// The TLSA record of this material (see [`Material::der_for`] for which DER).
    pub fn tlsa(
        &self,
        usage: Usage,
        selector: Selector,
        matching: Matching,
        depth: Option<usize>,
    ) -> Result<TlsaRecord, MaterialError> {
        let der = self.der_for(usage, selector, depth)?;
        Ok(TlsaRecord::compute(usage, selector, matching, der))
    }

    /// The key type of [`Material::spki`].
    pub fn key_spec(&self) -> Result<KeySpec, MaterialError> {
        spec_of(self.spki())
    }
}

fn spec_of(spki: &[u8]) -> Result<KeySpec, MaterialError> {
    spec_of_spki(spki)
}

/// Read certificates, a private key, a public key or a CSR from the bytes of one file: PEM
/// (any number of blocks, text around them ignored) or DER (certificates, a CSR, a
/// SubjectPublicKeyInfo or a PKCS#8, PKCS#1 or SEC1 private key). When a PEM file holds certificates and
/// a key (as some servers want them), the certificates count.
pub fn parse(bytes: &[u8]) -> Result<Material, MaterialError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(MaterialError::Empty);
    }
    if contains(bytes, b"-----BEGIN ") {
        parse_pem_file(bytes)
    } else {
        parse_der_file(bytes)
    }
}

pub(super) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
