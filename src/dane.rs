//! Matching a served certificate chain against a TLSA RRset by RFC 7671 / RFC 7672 rules.
//!
//! Pure: given the chain as the server sent it (DER, leaf first), the records and the
//! moment, [`match_chain`] says, record by record, whether it authenticates the chain.
//!
//! The rules applied:
//! - **DANE-EE(3)** matches the leaf certificate (selector 0) or its SubjectPublicKeyInfo
//!   (selector 1). Names and validity dates are ignored (RFC 7672 3.1.1, RFC 7671 5.1).
//! - **DANE-TA(2)** matches an issuer certificate the server sent (depth 1 and up; the leaf is
//!   never its own trust anchor here) by the certificate or its key. The chain from the leaf
//!   up to that element must then hold: every certificate below the TA is signed by the next
//!   one's key, the issuers are not marked "not a CA", the certificates below the TA are
//!   within their validity dates, and the leaf names the service host (RFC 7672 3.2.2,
//!   subjectAltName dNSName, `*.` wildcards in the leftmost label only; the subject CN only
//!   when there is no dNSName at all). The TA must be in the served chain: a `2 1 x` record
//!   for a key the server does not send does not match (RFC 7672 3.1.2 asks servers to send
//!   the TA certificate; a `2 1 0` key above the chain is not chased).
//! - **PKIX-TA(0)** and **PKIX-EE(1)** are unusable: SMTP does not use them (RFC 7672 3.1.3),
//!   and for other protocols this check does not do the PKIX validation they need.
//! - Records with usages, selectors or matching types that are not defined cannot be
//!   represented by [`TlsaRecord`]; they are unusable (RFC 7671 5) and are reported by the
//!   DNS layer, not here.

use serde::Serialize;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::tlsa::{Selector, TlsaRecord, Usage};

/// Which rules the client follows for usages 0 and 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// SMTP (RFC 7672): PKIX-TA(0) and PKIX-EE(1) are not used.
    Smtp,
    /// Any other protocol (RFC 7671): PKIX usages are reported as unsupported by this check.
    Other,
}

/// What the client knows about the peer, beyond the chain.
#[derive(Debug, Clone)]
pub struct Peer<'a> {
    /// Reference identifiers for DANE-TA(2) name checks: the TLSA base domain (and the MX
    /// host name where it differs).
    pub names: &'a [String],
    /// Now, in Unix seconds (validity dates under DANE-TA(2)).
    pub now: i64,
    pub profile: Profile,
}

/// The outcome of one record against one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum RecordOutcome {
    /// The record authenticates the chain; `depth` is the matched element (0 = leaf).
    Match { depth: usize },
    /// The record matches nothing the server sent.
    NoMatch,
    /// A DANE-TA(2) record matched a served issuer, but the chain up to it does not hold.
    ChainInvalid { depth: usize, reason: String },
    /// A record this client cannot use (RFC 7671 5, RFC 7672 3.1.3).
    Unusable { reason: String },
}

/// One record and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordResult {
    pub record: TlsaRecord,
    #[serde(flatten)]
    pub outcome: RecordOutcome,
}

/// Every record's outcome against one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainMatch {
    pub results: Vec<RecordResult>,
}

impl ChainMatch {
    /// Whether at least one record authenticates the chain.
    pub fn authenticated(&self) -> bool {
        self.matched().next().is_some()
    }

    /// The records that authenticate the chain.
    pub fn matched(&self) -> impl Iterator<Item = &TlsaRecord> {
        self.results
            .iter()
            .filter(|r| matches!(r.outcome, RecordOutcome::Match { .. }))
            .map(|r| &r.record)
    }

    /// Whether the RRset holds at least one record this client can use.
    pub fn any_usable(&self) -> bool {
        self.results
            .iter()
            .any(|r| !matches!(r.outcome, RecordOutcome::Unusable { .. }))
    }
}

/// Match `chain` (DER certificates as served, leaf first) against `records`.
pub fn match_chain<C: AsRef<[u8]>>(
    chain: &[C],
    records: &[TlsaRecord],
    peer: &Peer<'_>,
) -> ChainMatch {
    let parsed: Vec<Option<X509Certificate<'_>>> = chain
        .iter()
        .map(|der| X509Certificate::from_der(der.as_ref()).ok().map(|(_, c)| c))
        .collect();
    let results = records
        .iter()
        .map(|record| RecordResult {
            record: record.clone(),
            outcome: match_record(chain, &parsed, record, peer),
        })
        .collect();
    ChainMatch { results }
}

fn match_record<C: AsRef<[u8]>>(
    chain: &[C],
    parsed: &[Option<X509Certificate<'_>>],
    record: &TlsaRecord,
    peer: &Peer<'_>,
) -> RecordOutcome {
    match record.usage {
        Usage::PkixTa | Usage::PkixEe => RecordOutcome::Unusable {
            reason: match peer.profile {
                Profile::Smtp => {
                    "PKIX-TA(0) and PKIX-EE(1) are not used for SMTP (RFC 7672 3.1.3)".into()
                }
                Profile::Other => {
                    "PKIX-TA(0) and PKIX-EE(1) need PKIX validation, which this check does not do"
                        .into()
                }
            },
        },
        Usage::DaneEe => match chain.first() {
            Some(leaf) if element_matches(leaf.as_ref(), parsed.first(), record) => {
                RecordOutcome::Match { depth: 0 }
            }
            _ => RecordOutcome::NoMatch,
        },
        Usage::DaneTa => {
            let Some(depth) = (1..chain.len())
                .find(|&d| element_matches(chain[d].as_ref(), parsed.get(d), record))
            else {
                return RecordOutcome::NoMatch;
            };
            match check_chain_to(parsed, depth, peer) {
                Ok(()) => RecordOutcome::Match { depth },
                Err(reason) => RecordOutcome::ChainInvalid { depth, reason },
            }
        }
    }
}

/// Whether a chain element matches a record's selector and matching type.
fn element_matches(
    der: &[u8],
    parsed: Option<&Option<X509Certificate<'_>>>,
    record: &TlsaRecord,
) -> bool {
    match record.selector {
        Selector::Cert => record.matches_der(der),
        Selector::Spki => match parsed {
            Some(Some(cert)) => record.matches_der(cert.public_key().raw),
            _ => false,
        },
    }
}

/// The DANE-TA(2) checks of the chain from the leaf up to the TA at `ta_depth`.
fn check_chain_to(
    parsed: &[Option<X509Certificate<'_>>],
    ta_depth: usize,
    peer: &Peer<'_>,
) -> Result<(), String> {
    let cert = |d: usize| -> Result<&X509Certificate<'_>, String> {
        parsed
            .get(d)
            .and_then(Option::as_ref)
            .ok_or_else(|| format!("certificate at depth {d} does not parse"))
    };
    for depth in 0..ta_depth {
        let child = cert(depth)?;
        let issuer = cert(depth + 1)?;
        child
            .verify_signature(Some(issuer.public_key()))
            .map_err(|e| {
                format!(
                    "certificate at depth {depth} is not signed by the key at depth {}: {e}",
                    depth + 1
                )
            })?;
        if let Ok(Some(bc)) = issuer.basic_constraints()
            && !bc.value.ca
        {
            return Err(format!(
                "certificate at depth {} is not a CA (basicConstraints CA:FALSE)",
                depth + 1
            ));
        }
        let validity = child.validity();
        if peer.now < validity.not_before.timestamp() {
            return Err(format!(
                "certificate at depth {depth} is not valid before {}",
                validity.not_before
            ));
        }
        if peer.now > validity.not_after.timestamp() {
            return Err(format!(
                "certificate at depth {depth} expired on {}",
                validity.not_after
            ));
        }
    }
    let leaf = cert(0)?;
    let presented = leaf_names(leaf);
    if peer
        .names
        .iter()
        .any(|want| presented.iter().any(|have| name_matches(have, want)))
    {
        Ok(())
    } else {
        Err(format!(
            "the leaf certificate names {} but not {} (RFC 7672 3.2.2 name check)",
            if presented.is_empty() {
                "nothing".to_string()
            } else {
                presented.join(", ")
            },
            peer.names.join(" or ")
        ))
    }
}

/// The DNS names a certificate presents: its subjectAltName dNSNames, or its subject CNs
/// when it has none.
fn leaf_names(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut names: Vec<String> = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|g| match g {
                GeneralName::DNSName(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    if names.is_empty() {
        names = cert
            .subject()
            .iter_common_name()
            .filter_map(|cn| cn.as_str().ok().map(str::to_string))
            .collect();
    }
    names
}

/// Whether a presented name (possibly `*.example.com`) matches a reference identifier.
pub fn name_matches(presented: &str, reference: &str) -> bool {
    let p = presented.trim_end_matches('.').to_ascii_lowercase();
    let r = reference.trim_end_matches('.').to_ascii_lowercase();
    if p.is_empty() || r.is_empty() {
        return false;
    }
    match p.strip_prefix("*.") {
        Some(rest) => match r.split_once('.') {
            Some((first, parent)) => !first.is_empty() && parent == rest && rest.contains('.'),
            None => false,
        },
        None => p == r,
    }
}

/// What a check reports about a served leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeafInfo {
    /// SHA2-256 of the leaf's SubjectPublicKeyInfo, hex (the data of its `3 1 1` record).
    pub spki_sha256: String,
    /// notAfter, Unix seconds.
    pub not_after: i64,
}

/// The leaf's key digest and expiry, when it parses.
pub fn leaf_info(der: &[u8]) -> Option<LeafInfo> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some(LeafInfo {
        spki_sha256: hex::encode(crate::tlsa::association_data(
            crate::tlsa::Matching::Sha256,
            cert.public_key().raw,
        )),
        not_after: cert.validity().not_after.timestamp(),
    })
}

/// Whether a DANE-EE(3) record matches a leaf certificate (for stale-record reports).
pub fn ee_matches_leaf(record: &TlsaRecord, leaf_der: &[u8]) -> bool {
    if record.usage != Usage::DaneEe {
        return false;
    }
    let parsed = X509Certificate::from_der(leaf_der).ok().map(|(_, c)| c);
    element_matches(leaf_der, Some(&parsed), record)
}

#[cfg(test)]
pub(crate) mod testing {
    //! Certificate chains for tests: root -> intermediate -> leaf, made with rcgen.

    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, Issuer, KeyPair,
        date_time_ymd,
    };

    pub struct Chain {
        pub leaf: Vec<u8>,
        pub intermediate: Vec<u8>,
        pub root: Vec<u8>,
    }

    fn ca_params(cn: &str) -> CertificateParams {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p
    }

    /// A three-certificate chain whose leaf names `names` and is valid in `years` (from,
    /// to).
    pub fn chain(names: &[&str], years: (i32, i32)) -> Chain {
        let root_key = KeyPair::generate().unwrap();
        let root = CertifiedIssuer::self_signed(ca_params("Test Root"), root_key).unwrap();
        let int_key = KeyPair::generate().unwrap();
        let intermediate =
            CertifiedIssuer::signed_by(ca_params("Test Intermediate"), int_key, &root).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let mut lp =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        lp.not_before = date_time_ymd(years.0, 1, 1);
        lp.not_after = date_time_ymd(years.1, 1, 1);
        let leaf = lp.signed_by(&leaf_key, &intermediate).unwrap();
        Chain {
            leaf: leaf.der().to_vec(),
            intermediate: intermediate.der().to_vec(),
            root: root.der().to_vec(),
        }
    }

    /// A leaf signed by a CA that is not in `chain` (to break signatures).
    pub fn foreign_leaf(names: &[&str]) -> Vec<u8> {
        let key = KeyPair::generate().unwrap();
        let ca = Issuer::new(ca_params("Other CA"), KeyPair::generate().unwrap());
        let lp = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
        lp.signed_by(&key, &ca).unwrap().der().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{chain, foreign_leaf};
    use super::*;
    use crate::tlsa::Matching;
    use x509_parser::prelude::{FromDer, X509Certificate};

    const NOW: i64 = 1_767_225_600; // 2026-01-01

    fn spki(der: &[u8]) -> Vec<u8> {
        X509Certificate::from_der(der)
            .unwrap()
            .1
            .public_key()
            .raw
            .to_vec()
    }

    fn rec(usage: Usage, selector: Selector, matching: Matching, cert: &[u8]) -> TlsaRecord {
        let der = match selector {
            Selector::Cert => cert.to_vec(),
            Selector::Spki => spki(cert),
        };
        TlsaRecord::compute(usage, selector, matching, &der)
    }

    fn peer(names: &[String], profile: Profile) -> Peer<'_> {
        Peer {
            names,
            now: NOW,
            profile,
        }
    }

    fn outcome(chain: &[Vec<u8>], r: TlsaRecord, p: &Peer<'_>) -> RecordOutcome {
        match_chain(chain, &[r], p).results.remove(0).outcome
    }

    #[test]
    fn dane_ee_matches_leaf_by_key_or_cert_ignoring_names_and_dates() {
        // Expired and for another name: DANE-EE does not care (RFC 7672 3.1.1).
        let c = chain(&["other.example"], (2000, 2001));
        let served = vec![c.leaf.clone(), c.intermediate.clone()];
        let names = vec!["mail.example.test".to_string()];
        let p = peer(&names, Profile::Smtp);
        for (sel, m) in [
            (Selector::Spki, Matching::Sha256),
            (Selector::Spki, Matching::Sha512),
            (Selector::Spki, Matching::Full),
            (Selector::Cert, Matching::Sha256),
            (Selector::Cert, Matching::Full),
        ] {
            assert_eq!(
                outcome(&served, rec(Usage::DaneEe, sel, m, &c.leaf), &p),
                RecordOutcome::Match { depth: 0 },
                "{sel:?} {m:?}"
            );
        }
        // A DANE-EE record for the intermediate does not match: EE is the leaf only.
        assert_eq!(
            outcome(
                &served,
                rec(
                    Usage::DaneEe,
                    Selector::Spki,
                    Matching::Sha256,
                    &c.intermediate
                ),
                &p
            ),
            RecordOutcome::NoMatch
        );
    }

    #[test]
    fn dane_ee_other_key_does_not_match() {
        let c = chain(&["mail.example.test"], (2025, 2030));
        let other = chain(&["mail.example.test"], (2025, 2030));
        let names = vec!["mail.example.test".to_string()];
        let m = match_chain(
            std::slice::from_ref(&c.leaf),
            &[rec(
                Usage::DaneEe,
                Selector::Spki,
                Matching::Sha256,
                &other.leaf,
            )],
            &peer(&names, Profile::Smtp),
        );
        assert!(!m.authenticated());
        assert!(m.any_usable());
    }

    #[test]
    fn dane_ta_on_served_intermediate_or_root() {
        let c = chain(&["mail.example.test"], (2025, 2030));
        let served = vec![c.leaf.clone(), c.intermediate.clone(), c.root.clone()];
        let names = vec!["mail.example.test".to_string()];
        let p = peer(&names, Profile::Smtp);
        assert_eq!(
            outcome(
                &served,
                rec(
                    Usage::DaneTa,
                    Selector::Spki,
                    Matching::Sha256,
                    &c.intermediate
                ),
                &p
            ),
            RecordOutcome::Match { depth: 1 }
        );
        assert_eq!(
            outcome(
                &served,
                rec(Usage::DaneTa, Selector::Cert, Matching::Sha256, &c.root),
                &p
            ),
            RecordOutcome::Match { depth: 2 }
        );
    }

    #[test]
    fn dane_ta_not_in_served_chain_does_not_match() {
        let c = chain(&["mail.example.test"], (2025, 2030));
        let served = vec![c.leaf.clone(), c.intermediate.clone()];
        let names = vec!["mail.example.test".to_string()];
        assert_eq!(
            outcome(
                &served,
                rec(Usage::DaneTa, Selector::Spki, Matching::Sha256, &c.root),
                &peer(&names, Profile::Smtp)
            ),
            RecordOutcome::NoMatch
        );
    }

    #[test]
    fn dane_ta_never_matches_the_leaf_itself() {
        let c = chain(&["mail.example.test"], (2025, 2030));
        let names = vec!["mail.example.test".to_string()];
        assert_eq!(
            outcome(
                &[c.leaf.clone(), c.intermediate.clone()],
                rec(Usage::DaneTa, Selector::Spki, Matching::Sha256, &c.leaf),
                &peer(&names, Profile::Smtp)
            ),
            RecordOutcome::NoMatch
        );
    }

    #[test]
    fn dane_ta_checks_names() {
        let c = chain(&["*.example.test"], (2025, 2030));
        let served = vec![c.leaf.clone(), c.intermediate.clone()];
        let r = rec(
            Usage::DaneTa,
            Selector::Spki,
            Matching::Sha256,
            &c.intermediate,
        );
        let good = vec!["mail.example.test".to_string()];
        assert_eq!(
            outcome(&served, r.clone(), &peer(&good, Profile::Smtp)),
            RecordOutcome::Match { depth: 1 }
        );
        let bad = vec!["a.mail.example.test".to_string()];
        assert!(matches!(
            outcome(&served, r, &peer(&bad, Profile::Smtp)),
            RecordOutcome::ChainInvalid { depth: 1, reason } if reason.contains("name check")
        ));
    }

    #[test]
    fn dane_ta_checks_dates_below_the_ta() {
        let c = chain(&["mail.example.test"], (2000, 2001));
        let names = vec!["mail.example.test".to_string()];
        assert!(matches!(
            outcome(
                &[c.leaf.clone(), c.intermediate.clone()],
                rec(Usage::DaneTa, Selector::Spki, Matching::Sha256, &c.intermediate),
                &peer(&names, Profile::Smtp)
            ),
            RecordOutcome::ChainInvalid { reason, .. } if reason.contains("expired")
        ));
    }

    #[test]
    fn dane_ta_checks_signatures_up_to_the_ta() {
        let c = chain(&["mail.example.test"], (2025, 2030));
        // A leaf from another CA served with this intermediate: the TA matches the
        // intermediate, but the leaf is not signed by it.
        let served = vec![foreign_leaf(&["mail.example.test"]), c.intermediate.clone()];
        let names = vec!["mail.example.test".to_string()];
        assert!(matches!(
            outcome(
                &served,
                rec(Usage::DaneTa, Selector::Spki, Matching::Sha256, &c.intermediate),
                &peer(&names, Profile::Smtp)
            ),
            RecordOutcome::ChainInvalid { depth: 1, reason } if reason.contains("not signed")
        ));
        // Root TA with the intermediate swapped out for the root itself: leaf -> root is
        // not a signature the root made.
        let served = vec![c.leaf.clone(), c.root.clone()];
        assert!(matches!(
            outcome(
                &served,
                rec(Usage::DaneTa, Selector::Cert, Matching::Sha256, &c.root),
                &peer(&names, Profile::Smtp)
            ),
            RecordOutcome::ChainInvalid { .. }
        ));
    }

    #[test]
    fn pkix_usages_are_unusable() {
        let c = chain(&["mail.example.test"], (2025, 2030));
        let names = vec!["mail.example.test".to_string()];
        for profile in [Profile::Smtp, Profile::Other] {
            let m = match_chain(
                std::slice::from_ref(&c.leaf),
                &[
                    rec(Usage::PkixEe, Selector::Spki, Matching::Sha256, &c.leaf),
                    rec(Usage::PkixTa, Selector::Cert, Matching::Sha256, &c.root),
                ],
                &peer(&names, profile),
            );
            assert!(!m.authenticated());
            assert!(!m.any_usable());
            assert!(
                m.results
                    .iter()
                    .all(|r| matches!(r.outcome, RecordOutcome::Unusable { .. }))
            );
        }
    }

    #[test]
    fn one_matching_record_is_enough_and_the_rest_are_reported() {
        let c = chain(&["mail.example.test"], (2025, 2030));
        let next = chain(&["mail.example.test"], (2025, 2030));
        let names = vec!["mail.example.test".to_string()];
        let m = match_chain(
            &[c.leaf.clone(), c.intermediate.clone()],
            &[
                rec(Usage::DaneEe, Selector::Spki, Matching::Sha256, &next.leaf),
                rec(Usage::DaneEe, Selector::Spki, Matching::Sha256, &c.leaf),
            ],
            &peer(&names, Profile::Smtp),
        );
        assert!(m.authenticated());
        assert_eq!(m.matched().count(), 1);
        assert_eq!(m.results[0].outcome, RecordOutcome::NoMatch);
    }

    #[test]
    fn empty_or_garbage_chain_matches_nothing() {
        let c = chain(&["mail.example.test"], (2025, 2030));
        let names = vec!["mail.example.test".to_string()];
        let r = rec(Usage::DaneEe, Selector::Spki, Matching::Sha256, &c.leaf);
        let empty: Vec<Vec<u8>> = vec![];
        assert!(
            !match_chain(
                &empty,
                std::slice::from_ref(&r),
                &peer(&names, Profile::Smtp)
            )
            .authenticated()
        );
        assert!(
            !match_chain(&[b"junk".to_vec()], &[r], &peer(&names, Profile::Smtp)).authenticated()
        );
        assert_eq!(leaf_info(b"junk"), None);
    }

    #[test]
    fn leaf_info_and_ee_matches() {
        let c = chain(&["mail.example.test"], (2025, 2030));
        let info = leaf_info(&c.leaf).unwrap();
        let r = rec(Usage::DaneEe, Selector::Spki, Matching::Sha256, &c.leaf);
        assert_eq!(info.spki_sha256, r.data_hex());
        assert_eq!(info.not_after, 1_893_456_000); // 2030-01-01
        assert!(ee_matches_leaf(&r, &c.leaf));
        let ta = rec(Usage::DaneTa, Selector::Spki, Matching::Sha256, &c.leaf);
        assert!(!ee_matches_leaf(&ta, &c.leaf));
    }

    #[test]
    fn wildcard_names() {
        assert!(name_matches("mail.example.test", "MAIL.example.test."));
        assert!(name_matches("*.example.test", "mail.example.test"));
        assert!(!name_matches("*.example.test", "example.test"));
        assert!(!name_matches("*.example.test", "a.mail.example.test"));
        assert!(!name_matches("*.test", "example.test"));
        assert!(!name_matches("", "example.test"));
    }
}
