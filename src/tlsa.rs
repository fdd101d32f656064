//! Typed TLSA records (RFC 6698 section 2.1) and computing their data from DER.
//!
//! Pure: given the DER of a certificate or of a SubjectPublicKeyInfo, [`association_data`]
//! returns what a record of a given selector and matching type carries.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

/// Certificate usage (RFC 6698 2.1.1, names from RFC 7218).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Usage {
    PkixTa = 0,
    PkixEe = 1,
    DaneTa = 2,
    DaneEe = 3,
}

/// Selector (RFC 6698 2.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Selector {
    /// The full certificate (DER).
    Cert = 0,
    /// The SubjectPublicKeyInfo (DER).
    Spki = 1,
}

/// Matching type (RFC 6698 2.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Matching {
    Full = 0,
    Sha256 = 1,
    Sha512 = 2,
}

macro_rules! u8_enum {
    ($t:ident, $what:literal, $($n:literal => $v:ident),+) => {
        impl TryFrom<u8> for $t {
            type Error = TlsaError;
            fn try_from(n: u8) -> Result<Self, TlsaError> {
                match n {
                    $($n => Ok($t::$v),)+
                    other => Err(TlsaError::Field { what: $what, value: other.to_string() }),
                }
            }
        }
        impl From<$t> for u8 {
            fn from(v: $t) -> u8 { v as u8 }
        }
    };
}
u8_enum!(Usage, "usage", 0 => PkixTa, 1 => PkixEe, 2 => DaneTa, 3 => DaneEe);
u8_enum!(Selector, "selector", 0 => Cert, 1 => Spki);
u8_enum!(Matching, "matching type", 0 => Full, 1 => Sha256, 2 => Sha512);

impl Usage {
    /// Usages 0 and 1 need the PKIX path, which RFC 7672 says SMTP does not use.
    pub fn is_pkix(self) -> bool {
        matches!(self, Usage::PkixTa | Usage::PkixEe)
    }
    /// Usages 0 and 2 name a trust anchor (the top of the chain as given).
    pub fn is_trust_anchor(self) -> bool {
        matches!(self, Usage::PkixTa | Usage::DaneTa)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsaError {
    #[error("{what} {value} is not defined (RFC 6698)")]
    Field { what: &'static str, value: String },
    #[error(
        "{0:?} is not TLSA data: expected \"USAGE SELECTOR MATCHING HEX\", e.g. \"3 1 1 <64 hex digits>\""
    )]
    Syntax(String),
    #[error("TLSA {matching} data must be {expected} bytes, got {got}")]
    Length {
        matching: u8,
        expected: usize,
        got: usize,
    },
}

/// One TLSA record's RDATA.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TlsaRecord {
    pub usage: Usage,
    pub selector: Selector,
    pub matching: Matching,
    pub data: Vec<u8>,
}

impl TlsaRecord {
    /// A record whose data is computed from `der` (a certificate for selector 0, an SPKI for
    /// selector 1).
    pub fn compute(usage: Usage, selector: Selector, matching: Matching, der: &[u8]) -> Self {
        TlsaRecord {
            usage,
            selector,
            matching,
            data: association_data(matching, der),
        }
    }

    /// The DANE-EE SPKI record (`3 1 1` for SHA2-256) of an SPKI.
    pub fn dane_ee_spki(matching: Matching, spki_der: &[u8]) -> Self {
        Self::compute(Usage::DaneEe, Selector::Spki, matching, spki_der)
    }

    pub fn data_hex(&self) -> String {
        hex::encode(&self.data)
    }

    /// Whether this record's data is what `der` hashes to under its matching type.
    pub fn matches_der(&self, der: &[u8]) -> bool {
        association_data(self.matching, der) == self.data
    }
}

/// The certificate association data for `der` under `matching`.
pub fn association_data(matching: Matching, der: &[u8]) -> Vec<u8> {
    match matching {
        Matching::Full => der.to_vec(),
        Matching::Sha256 => Sha256::digest(der).to_vec(),
        Matching::Sha512 => Sha512::digest(der).to_vec(),
    }
}

impl fmt::Display for TlsaRecord {
    /// RDATA in presentation form with plain numbers and lowercase hex: `3 1 1 ab12...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.usage as u8,
            self.selector as u8,
            self.matching as u8,
            hex::encode(&self.data)
        )
    }
}

impl FromStr for TlsaRecord {
    type Err = TlsaError;

    /// Parses `3 1 1 <hex>`; the hex may be split by white space (as zone files do) and
    /// may be in either case.
    fn from_str(s: &str) -> Result<Self, TlsaError> {
        let syntax = || TlsaError::Syntax(s.to_string());
        let mut parts = s.split_whitespace();
        let num = |parts: &mut std::str::SplitWhitespace<'_>| -> Result<u8, TlsaError> {
            parts
                .next()
                .ok_or_else(syntax)?
                .parse::<u8>()
                .map_err(|_| syntax())
        };
        let usage = Usage::try_from(num(&mut parts)?)?;
        let selector = Selector::try_from(num(&mut parts)?)?;
        let matching = Matching::try_from(num(&mut parts)?)?;
        let hex_text: String = parts.collect();
        if hex_text.is_empty() {
            return Err(syntax());
        }
        let data = hex::decode(&hex_text).map_err(|_| syntax())?;
        let expected = match matching {
            Matching::Full => None,
            Matching::Sha256 => Some(32),
            Matching::Sha512 => Some(64),
        };
        if let Some(expected) = expected
            && data.len() != expected
        {
            return Err(TlsaError::Length {
                matching: matching as u8,
                expected,
                got: data.len(),
            });
        }
        Ok(TlsaRecord {
            usage,
            selector,
            matching,
            data,
        })
    }
}

impl Serialize for TlsaRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TlsaRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The owner name of a service's TLSA records: `_PORT._PROTO.HOST.` (RFC 6698 3).
pub fn owner_name(host: &str, port: u16, proto: &str) -> String {
    let host = host.trim_end_matches('.');
    format!("_{port}._{proto}.{host}.")
}

/// The host and port a TLSA owner name stands for: `_25._tcp.mx.example.com` gives
/// (`mx.example.com`, 25). None for names not of that form.
pub fn service_of_owner(owner: &str) -> Option<(String, u16, String)> {
    let owner = owner.trim_end_matches('.');
    let mut labels = owner.splitn(3, '.');
    let port = labels.next()?.strip_prefix('_')?.parse::<u16>().ok()?;
    let proto = labels.next()?.strip_prefix('_')?.to_ascii_lowercase();
    let host = labels.next()?;
    if host.is_empty() {
        return None;
    }
    Some((host.to_string(), port, proto))
}

/// A `3 1 1` record whose 32 data bytes are all `byte`, for tests.
#[cfg(test)]
pub(crate) fn sample_3_1_1(byte: u8) -> TlsaRecord {
    TlsaRecord {
        usage: Usage::DaneEe,
        selector: Selector::Spki,
        matching: Matching::Sha256,
        data: vec![byte; 32],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        let text = format!("3 1 1 {}", "AB".repeat(32));
        let r: TlsaRecord = text.parse().unwrap();
        assert_eq!(r.usage, Usage::DaneEe);
        assert_eq!(r.to_string(), format!("3 1 1 {}", "ab".repeat(32)));
        let split: TlsaRecord = format!("3 1 1 {} {}", "ab".repeat(16), "ab".repeat(16))
            .parse()
            .unwrap();
        assert_eq!(split, r);
    }

    #[test]
    fn parse_rejects_bad_fields_and_lengths() {
        assert!(matches!(
            "4 1 1 00".parse::<TlsaRecord>(),
            Err(TlsaError::Field { .. })
        ));
        assert!(matches!(
            "3 1 1 abcd".parse::<TlsaRecord>(),
            Err(TlsaError::Length { .. })
        ));
        assert!(matches!(
            "3 1 1".parse::<TlsaRecord>(),
            Err(TlsaError::Syntax(_))
        ));
        assert!(matches!(
            "3 1 1 zz".parse::<TlsaRecord>(),
            Err(TlsaError::Syntax(_))
        ));
        assert!("3 0 0 0102".parse::<TlsaRecord>().is_ok());
    }

    #[test]
    fn sha256_matches_known_vector() {
        let r = TlsaRecord::compute(Usage::DaneEe, Selector::Spki, Matching::Sha256, b"abc");
        assert_eq!(
            r.data_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(r.matches_der(b"abc"));
        assert!(!r.matches_der(b"abd"));
    }

    #[test]
    fn owner_names() {
        assert_eq!(
            owner_name("mail.example.com.", 25, "tcp"),
            "_25._tcp.mail.example.com."
        );
        assert_eq!(
            service_of_owner("_25._tcp.mx.example.com"),
            Some(("mx.example.com".into(), 25, "tcp".into()))
        );
        assert_eq!(service_of_owner("mx.example.com"), None);
    }
}
