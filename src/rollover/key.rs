//! Keys as the rollover knows them: by their public half only.
//!
//! A key is named by the SHA-256 of its SubjectPublicKeyInfo (the data of its `3 1 1`
//! record, RFC 6698 2.1), and the state keeps the SPKI DER itself (public, harmless) so that
//! records of any matching type (`3 1 2` needs SHA-512) can be computed without the private
//! key. A record "matches" a key when it is a DANE-EE SPKI record (`3 1 x`) whose data is
//! what the key's SPKI hashes to: those are the only records this lineage ever calls its own
//! (RFC 7671 5.1: `3 1 x` pins the key, whatever certificate carries it).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::tlsa::{Matching, Selector, TlsaRecord, Usage};

/// The name of a key: lowercase hex SHA-256 of its SPKI (the `3 1 1` data). Read from
/// the state file only when it is 64 lowercase hex digits (anything else is a damaged
/// file, refused with its name, never a slice that panics later).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct KeyId(pub String);

impl TryFrom<String> for KeyId {
    type Error = String;

    fn try_from(s: String) -> Result<KeyId, String> {
        if s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(KeyId(s))
        } else {
            Err(format!(
                "key id {s:?} is not 64 lowercase hex digits (the SHA-256 of the key's SPKI)"
            ))
        }
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl KeyId {
    /// The first 16 hex digits, for file names and short messages.
    pub fn short(&self) -> &str {
        self.prefix(16)
    }

    /// The first `n` characters (all of it when shorter), never splitting a character.
    pub fn prefix(&self, n: usize) -> &str {
        self.0
            .char_indices()
            .nth(n)
            .map_or(self.0.as_str(), |(i, _)| &self.0[..i])
    }
}

/// A key known by its public half.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// SHA-256 of the SPKI.
    pub id: KeyId,
    /// The SubjectPublicKeyInfo, DER, hex in the state file.
    #[serde(with = "hex_der")]
    pub spki: Vec<u8>,
}

impl KeyInfo {
    /// The key whose SubjectPublicKeyInfo is `spki_der`.
    pub fn from_spki(spki_der: &[u8]) -> KeyInfo {
        let id = TlsaRecord::dane_ee_spki(Matching::Sha256, spki_der).data_hex();
        KeyInfo {
            id: KeyId(id),
            spki: spki_der.to_vec(),
        }
    }

    /// This key's DANE-EE SPKI records, one per matching type, in the order given.
    pub fn records(&self, matching: &[Matching]) -> Vec<TlsaRecord> {
        matching
            .iter()
            .map(|m| TlsaRecord::dane_ee_spki(*m, &self.spki))
            .collect()
    }

    /// Whether `record` is a DANE-EE SPKI record (`3 1 x`) of this key.
    pub fn matches(&self, record: &TlsaRecord) -> bool {
        record.usage == Usage::DaneEe
            && record.selector == Selector::Spki
            && record.matches_der(&self.spki)
    }

    /// The `3 1 1` record in presentation form, for reports.
    pub fn tlsa_311(&self) -> String {
        format!("3 1 1 {}", self.id)
    }
}

mod hex_der {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(der: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(der))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text.trim()).map_err(|e| serde::de::Error::custom(format!("spki: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_is_the_311_data_and_matching_types_all_match() {
        let k = KeyInfo::from_spki(b"abc");
        assert_eq!(
            k.id.0,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let recs = k.records(&[Matching::Sha256, Matching::Sha512]);
        assert_eq!(recs.len(), 2);
        assert!(recs.iter().all(|r| k.matches(r)));
        assert!(!KeyInfo::from_spki(b"abd").matches(&recs[0]));
        // A DANE-TA or full-certificate record with the same data is not this key's.
        let mut ta = recs[0].clone();
        ta.usage = Usage::DaneTa;
        assert!(!k.matches(&ta));
        let mut cert = recs[0].clone();
        cert.selector = Selector::Cert;
        assert!(!k.matches(&cert));
    }

    #[test]
    fn serde_round_trip() {
        let k = KeyInfo::from_spki(b"\x30\x03\x01\x02\x03");
        let text = serde_json::to_string(&k).unwrap();
        assert!(text.contains("\"spki\":\"3003010203\""), "{text}");
        let back: KeyInfo = serde_json::from_str(&text).unwrap();
        assert_eq!(back, k);
    }
}
