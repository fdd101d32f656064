//! The kind of a key (RSA and its size, ECDSA and its curve, Ed25519), and reading it from
//! a DER SubjectPublicKeyInfo. What certbot's renewal.conf asks for is [`crate::keys`]'s.

use std::fmt;

use super::{MaterialError, der};

/// An elliptic curve certbot can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Curve {
    /// NIST P-256 (certbot: secp256r1).
    P256,
    /// NIST P-384 (certbot: secp384r1).
    P384,
    /// NIST P-521 (certbot: secp521r1).
    P521,
}

impl Curve {
    /// The name certbot uses in renewal.conf (`elliptic_curve`).
    pub fn certbot_name(self) -> &'static str {
        match self {
            Curve::P256 => "secp256r1",
            Curve::P384 => "secp384r1",
            Curve::P521 => "secp521r1",
        }
    }

    /// The NIST name: `P-256`, `P-384`, `P-521`.
    pub fn nist_name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// From certbot's (`secp256r1`), OpenSSL's (`prime256v1`) or NIST's (`P-256`) name,
    /// in any case.
    pub fn from_name(name: &str) -> Option<Curve> {
        match name.trim().to_ascii_lowercase().as_str() {
            "secp256r1" | "prime256v1" | "p-256" | "p256" => Some(Curve::P256),
            "secp384r1" | "p-384" | "p384" => Some(Curve::P384),
            "secp521r1" | "p-521" | "p521" => Some(Curve::P521),
            _ => None,
        }
    }
}

/// The kind of a key: what a lineage's next key must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum KeySpec {
    /// RSA with this modulus size in bits.
    Rsa(u32),
    /// ECDSA on this curve.
    Ecdsa(Curve),
    /// Ed25519 (hashable; certbot itself does not make such keys).
    Ed25519,
}

/// certbot's `rsa_key_size` default.
pub const CERTBOT_DEFAULT_RSA_BITS: u32 = 2048;
/// certbot's `elliptic_curve` default.
pub const CERTBOT_DEFAULT_CURVE: Curve = Curve::P256;

impl KeySpec {
    /// certbot's `key_type` value for this spec (`rsa`, `ecdsa`; `ed25519` has none).
    pub fn certbot_key_type(self) -> &'static str {
        match self {
            KeySpec::Rsa(_) => "rsa",
            KeySpec::Ecdsa(_) => "ecdsa",
            KeySpec::Ed25519 => "ed25519",
        }
    }

    /// Whether a renewal.conf that asks for `conf` is satisfied by a key of this spec
    /// (same type; same size or curve).
    pub fn matches(self, conf: KeySpec) -> bool {
        self == conf
    }
}

impl fmt::Display for KeySpec {
    /// `RSA 2048`, `ECDSA P-256`, `Ed25519`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySpec::Rsa(bits) => write!(f, "RSA {bits}"),
            KeySpec::Ecdsa(c) => write!(f, "ECDSA {}", c.nist_name()),
            KeySpec::Ed25519 => f.write_str("Ed25519"),
        }
    }
}

/// The kind of key a DER SubjectPublicKeyInfo holds; an error for algorithms outside
/// RSA (any size), ECDSA P-256/P-384/P-521 and Ed25519.
pub fn spec_of_spki(spki: &[u8]) -> Result<KeySpec, MaterialError> {
    let bad = |what: &str| MaterialError::BadPublicKey(what.to_string());
    let (seq, rest) = der::read(spki).ok_or_else(|| bad("not DER"))?;
    if seq.tag != der::SEQUENCE || !rest.is_empty() {
        return Err(bad("not a SubjectPublicKeyInfo"));
    }
    let items = der::items(seq.value).ok_or_else(|| bad("not a SubjectPublicKeyInfo"))?;
    let [alg, key] = items.as_slice() else {
        return Err(bad("not a SubjectPublicKeyInfo"));
    };
    if alg.tag != der::SEQUENCE || key.tag != der::BIT_STRING {
        return Err(bad("not a SubjectPublicKeyInfo"));
    }
    let alg_items = der::items(alg.value).ok_or_else(|| bad("bad algorithm identifier"))?;
    let oid = alg_items
        .first()
        .filter(|o| o.tag == der::OID)
        .ok_or_else(|| bad("bad algorithm identifier"))?;
    let key_bits = match key.value {
        [0, rest @ ..] => rest,
        _ => return Err(bad("bad public key bit string")),
    };
    match oid.value {
        der::OID_RSA => {
            let (pk, _) = der::read(key_bits).ok_or_else(|| bad("bad RSA public key"))?;
            let parts = der::items(pk.value).ok_or_else(|| bad("bad RSA public key"))?;
            match parts.as_slice() {
                [n, _e] if n.tag == der::INTEGER => Ok(KeySpec::Rsa(der::bit_length(n.value))),
                _ => Err(bad("bad RSA public key")),
            }
        }
        der::OID_EC => {
            let curve = alg_items
                .get(1)
                .ok_or_else(|| bad("EC key without curve"))?;
            if curve.tag != der::OID {
                return Err(MaterialError::UnsupportedKey(
                    "ECDSA with explicit curve parameters".into(),
                ));
            }
            match curve.value {
                der::OID_P256 => Ok(KeySpec::Ecdsa(Curve::P256)),
                der::OID_P384 => Ok(KeySpec::Ecdsa(Curve::P384)),
                der::OID_P521 => Ok(KeySpec::Ecdsa(Curve::P521)),
                other => Err(MaterialError::UnsupportedKey(format!(
                    "ECDSA on curve {}",
                    der::oid_name(other)
                ))),
            }
        }
        der::OID_ED25519 => Ok(KeySpec::Ed25519),
        other => Err(MaterialError::UnsupportedKey(der::oid_name(other))),
    }
}
