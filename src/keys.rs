//! Generating next keys that match a lineage's renewal.conf (key type, size, curve).
//!
//! [`KeySpec`] says what kind of key a lineage uses: from its renewal.conf
//! ([`KeySpec::from_renewal_params`], with certbot's own defaults) or from an existing key
//! ([`spec_of_spki`]). [`generate`] makes a new key of a spec, as PKCS#8 PEM (what certbot
//! itself writes) with its SubjectPublicKeyInfo, and [`write_new_key`] stores it, mode 0600
//! from the first byte.

use std::fmt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::material::{self, MaterialError};
pub use crate::material::{CERTBOT_DEFAULT_CURVE, CERTBOT_DEFAULT_RSA_BITS, Curve, KeySpec};
use crate::tlsa::{Matching, TlsaRecord};

/// Errors of key handling.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key algorithm outside RSA, ECDSA P-256/P-384/P-521 and Ed25519.
    #[error("unsupported key type: {0} (supported: RSA, ECDSA P-256, P-384, P-521, Ed25519)")]
    Unsupported(String),
    /// A SubjectPublicKeyInfo that does not parse.
    #[error("malformed public key: {0}")]
    Malformed(String),
    /// A renewal.conf value that names no key certbot can make.
    #[error("renewal.conf: {0}")]
    Conf(String),
    /// A spec this module cannot generate (e.g. RSA 1024).
    #[error("cannot generate a {spec} key: {reason}")]
    CannotGenerate {
        /// What was asked for.
        spec: KeySpec,
        /// Why not.
        reason: String,
    },
    /// Writing the key failed.
    #[error("cannot write the new key {}: {source}", path.display())]
    Write {
        /// The key file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl KeySpec {
    /// The key a renewal makes when it makes a new key, from renewal.conf's `key_type`,
    /// `rsa_key_size` and `elliptic_curve` with certbot's defaults (certbot 2.x, `renewal.py` /
    /// `constants.py`): an absent `key_type` means `rsa` on renewal (certbot before 1.25 did
    /// not write it, and renewal restores it as rsa; only brand-new certificates default to
    /// ecdsa), `rsa_key_size` 2048, `elliptic_curve` secp256r1
    /// (certbot's `RenewalConf::key_spec` reads them from a renewal conf).
    pub fn from_renewal_params(
        key_type: Option<&str>,
        rsa_key_size: Option<&str>,
        elliptic_curve: Option<&str>,
    ) -> Result<KeySpec, KeyError> {
        let key_type = key_type
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("rsa");
        match key_type.to_ascii_lowercase().as_str() {
            "rsa" => {
                let bits = match rsa_key_size.map(str::trim).filter(|s| !s.is_empty()) {
                    None => CERTBOT_DEFAULT_RSA_BITS,
                    Some(s) => s.parse::<u32>().map_err(|_| {
                        KeyError::Conf(format!("rsa_key_size = {s} is not a number of bits"))
                    })?,
                };
                Ok(KeySpec::Rsa(bits))
            }
            "ecdsa" => match elliptic_curve.map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(KeySpec::Ecdsa(CERTBOT_DEFAULT_CURVE)),
                Some(name) => Curve::from_name(name).map(KeySpec::Ecdsa).ok_or_else(|| {
                    KeyError::Conf(format!(
                        "elliptic_curve = {name} is not a curve certbot supports (secp256r1, secp384r1, secp521r1)"
                    ))
                }),
            },
            other => Err(KeyError::Conf(format!(
                "key_type = {other} is not a key type certbot knows (rsa, ecdsa)"
            ))),
        }
    }
}

/// The kind of key a DER SubjectPublicKeyInfo holds ([`material::spec_of_spki`]), with the
/// errors of key handling.
pub fn spec_of_spki(spki: &[u8]) -> Result<KeySpec, KeyError> {
    material::spec_of_spki(spki).map_err(|e| match e {
        MaterialError::UnsupportedKey(a) => KeyError::Unsupported(a),
        MaterialError::BadPublicKey(m) => KeyError::Malformed(m),
        other => KeyError::Malformed(other.to_string()),
    })
}

/// A freshly generated private key. The PEM is wiped from memory when dropped and never
/// shown by `Debug`.
pub struct GeneratedKey {
    pem: Zeroizing<String>,
    spki_der: Vec<u8>,
    spec: KeySpec,
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("spec", &self.spec)
            .field("spki_der", &hex::encode(&self.spki_der))
            .field("pem", &"<redacted>")
            .finish()
    }
}

impl GeneratedKey {
    /// The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). Secret.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// The public key's SubjectPublicKeyInfo, as a certificate for it will carry it.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// What kind of key this is.
    pub fn spec(&self) -> KeySpec {
        self.spec
    }

    /// Its DANE-EE SPKI SHA2-256 record (`3 1 1 <hex>`).
    pub fn tlsa_3_1_1(&self) -> TlsaRecord {
        TlsaRecord::dane_ee_spki(Matching::Sha256, &self.spki_der)
    }
}

/// Generate a new key of `spec`: RSA 2048, 3072 or 4096 bits, ECDSA P-256, P-384 or
/// P-521, or Ed25519 (aws-lc-rs). Its SubjectPublicKeyInfo is derived from the PEM the
/// same way `danerollover tlsa` reads a key file, so both always agree.
pub fn generate(spec: KeySpec) -> Result<GeneratedKey, KeyError> {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature;
    let fail = |reason: String| KeyError::CannotGenerate { spec, reason };
    let pkcs8: Zeroizing<Vec<u8>> = match spec {
        KeySpec::Rsa(bits) => {
            let size = match bits {
                2048 => aws_lc_rs::rsa::KeySize::Rsa2048,
                3072 => aws_lc_rs::rsa::KeySize::Rsa3072,
                4096 => aws_lc_rs::rsa::KeySize::Rsa4096,
                other => {
                    return Err(fail(format!(
                        "{other}-bit RSA keys are not made here (2048, 3072 or 4096 bits)"
                    )));
                }
            };
            let pair = aws_lc_rs::rsa::KeyPair::generate(size).map_err(|e| fail(e.to_string()))?;
            let der = pair.as_der().map_err(|e| fail(e.to_string()))?;
            Zeroizing::new(der.as_ref().to_vec())
        }
        KeySpec::Ecdsa(curve) => {
            let alg = match curve {
                Curve::P256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                Curve::P384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                Curve::P521 => &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
            };
            let pair = signature::EcdsaKeyPair::generate(alg).map_err(|e| fail(e.to_string()))?;
            let doc = pair.to_pkcs8v1().map_err(|e| fail(e.to_string()))?;
            Zeroizing::new(doc.as_ref().to_vec())
        }
        KeySpec::Ed25519 => {
            let pair = signature::Ed25519KeyPair::generate().map_err(|e| fail(e.to_string()))?;
            let doc = pair.to_pkcs8v1().map_err(|e| fail(e.to_string()))?;
            Zeroizing::new(doc.as_ref().to_vec())
        }
    };
    let body = Zeroizing::new(material::base64_pem_body(&pkcs8));
    let pem = Zeroizing::new(format!(
        "-----BEGIN PRIVATE KEY-----\n{}-----END PRIVATE KEY-----\n",
        body.as_str()
    ));
    let parsed = material::parse(pem.as_bytes()).map_err(|e| fail(e.to_string()))?;
    let spki_der = parsed.spki().to_vec();
    let got = spec_of_spki(&spki_der)?;
    if got != spec {
        return Err(fail(format!("the generated key is {got}")));
    }
    Ok(GeneratedKey {
        pem,
        spki_der,
        spec,
    })
}

/// Store a new key at `path`, which must not exist yet, with mode 0600 from the first byte.
pub fn write_new_key(path: &Path, key: &GeneratedKey) -> Result<(), KeyError> {
    crate::fsutil::create_new(path, key.pem.as_bytes(), 0o600).map_err(|source| KeyError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_defaults_follow_certbot() {
        assert_eq!(
            KeySpec::from_renewal_params(None, None, None).unwrap(),
            KeySpec::Rsa(2048)
        );
        assert_eq!(
            KeySpec::from_renewal_params(Some("ecdsa"), None, None).unwrap(),
            KeySpec::Ecdsa(Curve::P256)
        );
        assert_eq!(
            KeySpec::from_renewal_params(Some("ECDSA"), Some("4096"), Some("secp384r1")).unwrap(),
            KeySpec::Ecdsa(Curve::P384)
        );
        assert_eq!(
            KeySpec::from_renewal_params(Some("rsa"), Some("3072"), Some("secp521r1")).unwrap(),
            KeySpec::Rsa(3072)
        );
        assert!(KeySpec::from_renewal_params(Some("dsa"), None, None).is_err());
        assert!(KeySpec::from_renewal_params(Some("rsa"), Some("big"), None).is_err());
        assert!(KeySpec::from_renewal_params(Some("ecdsa"), None, Some("secp256k1")).is_err());
    }

    #[test]
    fn generated_keys_have_their_spec_and_parse_back() {
        for spec in [
            KeySpec::Ecdsa(Curve::P256),
            KeySpec::Ecdsa(Curve::P384),
            KeySpec::Ecdsa(Curve::P521),
            KeySpec::Ed25519,
            KeySpec::Rsa(2048),
        ] {
            let key = generate(spec).unwrap();
            assert_eq!(key.spec(), spec);
            assert_eq!(spec_of_spki(key.spki_der()).unwrap(), spec);
            assert!(key.pem().starts_with("-----BEGIN PRIVATE KEY-----\n"));
            let debug = format!("{key:?}");
            assert!(
                debug.contains("<redacted>") && !debug.contains("BEGIN"),
                "{debug}"
            );
            assert_eq!(key.tlsa_3_1_1().data.len(), 32);
        }
        let a = generate(KeySpec::Ecdsa(Curve::P256)).unwrap();
        let b = generate(KeySpec::Ecdsa(Curve::P256)).unwrap();
        assert_ne!(a.spki_der(), b.spki_der());
        assert!(generate(KeySpec::Rsa(1024)).is_err());
    }

    #[test]
    fn write_new_key_is_private_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("privkey2.pem");
        let key = generate(KeySpec::Ecdsa(Curve::P256)).unwrap();
        write_new_key(&path, &key).unwrap();
        assert_eq!(crate::fsutil::mode_of(&path).unwrap(), 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), key.pem());
        let other = generate(KeySpec::Ecdsa(Curve::P256)).unwrap();
        assert!(write_new_key(&path, &other).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), key.pem());
    }
}
