//! Secure from the servers themselves: each authoritative server's TLSA answer is checked in
//! process, its RRSIGs against the DNSKEY RRset of the zone that signed it, that DNSKEY
//! RRset itself authenticated through the chain of trust read via the validating resolver
//! ([`super::resolve::Resolver::validated_rrset`]: in process from the trust anchors, or the
//! resolver's AD bit).
//!
//! The result is one fact per server answer, [`Signature`]: valid (until when), invalid (why:
//! no RRSIG, a key not in the DNSKEY RRset, outside its validity window, a signature that
//! does not verify) or unknown (the zone's keys could not be authenticated). The rollover
//! core decides with it ([`crate::dns::OwnerObservation::unsigned`]); the validating
//! resolver's cached view is then only the cross-check of what senders see.
//!
//! [`check`] is pure (the answer, the authenticated keys and the time in); [`zone_keys`]
//! is the one read.

use std::collections::BTreeMap;

use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, RRSIG};
use hickory_proto::dnssec::{Algorithm, Verifier};
use hickory_proto::op::Message;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::Validation;
use super::interpret;
use super::resolve::Resolver;

/// Whether one server's answer is signed with a valid signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Signature {
    /// Every RRset of the answer (the CNAMEs on the way and the TLSA RRset) carries an RRSIG
    /// that verifies with a key of its zone's authenticated DNSKEY RRset; `expires`: the
    /// earliest end of validity among them.
    Valid { expires: Timestamp },
    /// A resolver fetching this answer gets Bogus data: why.
    Invalid { reason: String },
    /// Cannot tell (the zone's keys could not be authenticated, or nothing was checked).
    Unknown { reason: String },
}

impl Default for Signature {
    /// What an observation made before signatures were checked carries: unknown.
    fn default() -> Self {
        Signature::Unknown {
            reason: "the signature was not checked".to_string(),
        }
    }
}

impl Signature {
    /// Ok when valid at `now` (its RRSIGs not expired); Err with why not.
    pub fn valid_at(&self, now: Timestamp) -> Result<(), String> {
        match self {
            Signature::Valid { expires } if *expires > now => Ok(()),
            Signature::Valid { expires } => Err(format!("its RRSIG expired at {expires}")),
            Signature::Invalid { reason } => Err(reason.clone()),
            Signature::Unknown { reason } => Err(format!("cannot tell: {reason}")),
        }
    }

    /// Whether a resolver fetching this answer gets Bogus data.
    pub fn is_invalid(&self, now: Timestamp) -> bool {
        match self {
            Signature::Valid { expires } => *expires <= now,
            Signature::Invalid { .. } => true,
            Signature::Unknown { .. } => false,
        }
    }
}

/// A zone's authenticated DNSKEY RRset, or why there is none.
pub type ZoneKeys = Result<Vec<DNSKEY>, String>;

/// The DNSKEY RRset of `zone`, authenticated through the chain of trust by the configured
/// resolver; Err naming why when it is not Secure.
pub async fn zone_keys(resolver: &Resolver, zone: &Name) -> ZoneKeys {
    let read = resolver.validated_rrset(zone, RecordType::DNSKEY).await;
    let detail = read.detail.clone().unwrap_or_default();
    match read.state {
        Validation::Secure => {
            let keys: Vec<DNSKEY> = read
                .records
                .into_iter()
                .filter_map(|r| match r {
                    RData::DNSSEC(DNSSECRData::DNSKEY(k)) => Some(k),
                    _ => None,
                })
                .collect();
            if keys.is_empty() {
                Err(format!(
                    "{zone} has no DNSKEY RRset (the zone is not signed)"
                ))
            } else {
                Ok(keys)
            }
        }
        Validation::Insecure => Err(format!(
            "the DNSKEY RRset of {zone} is insecure (no chain of trust: DS missing at the parent?) {detail}"
        )),
        Validation::Bogus => Err(format!("the DNSKEY RRset of {zone} is bogus: {detail}")),
        Validation::Indeterminate => Err(format!(
            "the DNSKEY RRset of {zone} could not be authenticated: {detail}"
        )),
    }
}

/// The signer names of the RRSIGs in an answer section, and the zone the answer came from:
/// the zones whose keys [`check`] needs.
pub fn signers(answer: &Message) -> Vec<Name> {
    let mut out: Vec<Name> = Vec::new();
    for r in &answer.answers {
        if let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &r.data {
            let s = sig.input().signer_name.to_lowercase();
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// Check an authoritative server's answer for `owner`'s TLSA RRset: each CNAME on the way
/// and the TLSA RRset at its end must carry an RRSIG that verifies with a key of the
/// authenticated DNSKEY RRset of its signer, a zone enclosing the RRset (`keys`, by
/// lowercase zone name; `zone` the server's zone, whose keys say whether a missing RRSIG is
/// expected). RFC 4035 5.3.1: signer, key tag, algorithm, zone key flag, labels, validity
/// window (serial number arithmetic, RFC 4034 3.1.5), signature.
pub fn check(
    owner: &Name,
    zone: Option<&Name>,
    answer: &Message,
    keys: &BTreeMap<Name, ZoneKeys>,
    now: Timestamp,
) -> Signature {
    let chain = match interpret::follow_cnames(owner, &answer.answers) {
        Ok(c) => c,
        Err(e) => return Signature::Invalid { reason: e },
    };
    let mut rrsets: Vec<(Name, RecordType)> = Vec::new();
    let mut at = owner.clone();
    for next in &chain {
        rrsets.push((at.clone(), RecordType::CNAME));
        at = next.clone();
    }
    let has_tlsa = answer
        .answers
        .iter()
        .any(|r| r.record_type() == RecordType::TLSA && r.name.eq_ignore_root(&at));
    if has_tlsa {
        rrsets.push((at, RecordType::TLSA));
    }
    if rrsets.is_empty() {
        return Signature::Unknown {
            reason: "no TLSA records to check".to_string(),
        };
    }
    let mut expires: Option<Timestamp> = None;
    for (name, rtype) in &rrsets {
        match check_rrset(name, *rtype, zone, answer, keys, now) {
            Ok(until) => expires = Some(expires.map_or(until, |e| e.min(until))),
            Err(s) => return s,
        }
    }
    match expires {
        Some(expires) => Signature::Valid { expires },
        None => Signature::default(),
    }
}

/// One RRset: the latest expiration among its RRSIGs that verify, or why none does.
fn check_rrset(
    name: &Name,
    rtype: RecordType,
    zone: Option<&Name>,
    answer: &Message,
    keys: &BTreeMap<Name, ZoneKeys>,
    now: Timestamp,
) -> Result<Timestamp, Signature> {
    let records: Vec<&Record> = answer
        .answers
        .iter()
        .filter(|r| r.record_type() == rtype && r.name.eq_ignore_root(name))
        .collect();
    let sigs: Vec<&RRSIG> = answer
        .answers
        .iter()
        .filter(|r| r.name.eq_ignore_root(name))
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(s)) if s.input().type_covered == rtype => Some(s),
            _ => None,
        })
        .collect();
    if sigs.is_empty() {
        // In a zone whose keys cannot be authenticated (unsigned, insecure), no RRSIG is
        // expected: unknown rather than invalid.
        if let Some(Err(e)) = zone.and_then(|z| keys.get(&z.to_lowercase())) {
            return Err(Signature::Unknown { reason: e.clone() });
        }
        return Err(Signature::Invalid {
            reason: format!("{rtype} {name} carries no RRSIG"),
        });
    }
    let mut invalid: Vec<String> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut best: Option<Timestamp> = None;
    for sig in sigs {
        match check_sig(name, sig, &records, keys, now) {
            Ok(until) => best = Some(best.map_or(until, |b| b.max(until))),
            Err(Checked::Invalid(r)) => invalid.push(r),
            Err(Checked::Unknown(r)) => unknown.push(r),
        }
    }
    if let Some(b) = best {
        return Ok(b);
    }
    if let Some(r) = unknown.into_iter().next() {
        return Err(Signature::Unknown { reason: r });
    }
    Err(Signature::Invalid {
        reason: invalid.join("; "),
    })
}

enum Checked {
    Invalid(String),
    Unknown(String),
}

fn check_sig(
    name: &Name,
    sig: &RRSIG,
    records: &[&Record],
    keys: &BTreeMap<Name, ZoneKeys>,
    now: Timestamp,
) -> Result<Timestamp, Checked> {
    let input = sig.input();
    let what = format!("the RRSIG of {} {name}", input.type_covered);
    let signer = input.signer_name.to_lowercase();
    if !signer.zone_of(&name.to_lowercase()) {
        return Err(Checked::Invalid(format!(
            "{what} names signer {signer}, which does not enclose it"
        )));
    }
    if usize::from(input.num_labels) > usize::from(name.num_labels()) {
        return Err(Checked::Invalid(format!(
            "{what} has a label count above the name's"
        )));
    }
    let zone_keys = match keys.get(&signer) {
        Some(Ok(k)) => k,
        Some(Err(e)) => return Err(Checked::Unknown(e.clone())),
        None => {
            return Err(Checked::Unknown(format!(
                "the DNSKEY RRset of {signer} was not read"
            )));
        }
    };
    let candidates: Vec<&DNSKEY> = zone_keys
        .iter()
        .filter(|k| k.zone_key() && !k.revoke())
        .filter(|k| Verifier::algorithm(*k) == input.algorithm)
        .filter(|k| k.calculate_key_tag().ok() == Some(input.key_tag))
        .collect();
    if candidates.is_empty() {
        return Err(Checked::Invalid(format!(
            "{what} is made with key tag {} ({}), which is not in the DNSKEY RRset of {signer}",
            input.key_tag,
            algorithm_name(input.algorithm)
        )));
    }
    // RFC 4034 3.1.5: serial number arithmetic around the 32-bit time.
    let now_secs = now.as_second();
    let now32 = now_secs as u32;
    let expiration = input.sig_expiration.get();
    let inception = input.sig_inception.get();
    let to_expiry = expiration.wrapping_sub(now32) as i32;
    let since_inception = now32.wrapping_sub(inception) as i32;
    let expires_at = Timestamp::from_second(now_secs + i64::from(to_expiry))
        .map_err(|e| Checked::Invalid(format!("{what}: {e}")))?;
    if to_expiry < 0 {
        return Err(Checked::Invalid(format!("{what} expired at {expires_at}")));
    }
    if since_inception < 0 {
        let from = Timestamp::from_second(now_secs - i64::from(since_inception))
            .map_or_else(|_| "a later time".to_string(), |t| t.to_string());
        return Err(Checked::Invalid(format!(
            "{what} is not valid before {from}"
        )));
    }
    for key in candidates {
        if key
            .verify_rrsig(name, DNSClass::IN, sig, records.iter().copied())
            .is_ok()
        {
            return Ok(expires_at);
        }
    }
    Err(Checked::Invalid(format!(
        "{what} does not verify with key tag {} of {signer}",
        input.key_tag
    )))
}

fn algorithm_name(a: Algorithm) -> String {
    format!("{a:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::dnssec::crypto::EcdsaSigningKey;
    use hickory_proto::dnssec::rdata::sig::SigInput;
    use hickory_proto::dnssec::{SigningKey, TBS};
    use hickory_proto::op::Query;
    use hickory_proto::rr::SerialNumber;
    use hickory_proto::rr::rdata::TLSA;
    use hickory_proto::rr::rdata::tlsa::{CertUsage, Matching, Selector};

    const NOW: i64 = 1_800_000_000;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn key() -> EcdsaSigningKey {
        let pkcs8 = EcdsaSigningKey::generate_pkcs8(Algorithm::ECDSAP256SHA256).unwrap();
        EcdsaSigningKey::from_pkcs8(&pkcs8, Algorithm::ECDSAP256SHA256).unwrap()
    }

    fn dnskey(k: &EcdsaSigningKey) -> DNSKEY {
        DNSKEY::new(true, true, false, k.to_public_key().unwrap())
    }

    fn tlsa(owner: &str, byte: u8) -> Record {
        Record::from_rdata(
            name(owner),
            30,
            RData::TLSA(TLSA::new(
                CertUsage::DaneEe,
                Selector::Spki,
                Matching::Sha256,
                vec![byte; 32],
            )),
        )
    }

    /// An RRSIG over `records` by `k` for `zone`, valid from `from` to `until` (seconds
    /// from NOW).
    fn sign(k: &EcdsaSigningKey, zone: &str, records: &[Record], from: i64, until: i64) -> Record {
        let first = &records[0];
        let input = SigInput {
            type_covered: first.record_type(),
            algorithm: Algorithm::ECDSAP256SHA256,
            num_labels: first.name.num_labels(),
            original_ttl: first.ttl,
            sig_expiration: SerialNumber::new((NOW + until) as u32),
            sig_inception: SerialNumber::new((NOW + from) as u32),
            key_tag: dnskey(k).calculate_key_tag().unwrap(),
            signer_name: name(zone),
        };
        let tbs = TBS::from_input(&first.name, DNSClass::IN, &input, records.iter()).unwrap();
        let sig = k.sign(&tbs).unwrap();
        Record::from_rdata(
            first.name.clone(),
            first.ttl,
            RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, sig))),
        )
    }

    fn answer(records: Vec<Record>) -> Message {
        let owner = "_25._tcp.mail.example.test.";
        let mut m = Message::query();
        m.add_query(Query::query(name(owner), RecordType::TLSA));
        let mut m = m.into_response();
        m.metadata.authoritative = true;
        for r in records {
            m.add_answer(r);
        }
        m
    }

    fn keys_of(zone: &str, ks: Vec<DNSKEY>) -> BTreeMap<Name, ZoneKeys> {
        BTreeMap::from([(name(zone), Ok(ks))])
    }

    fn now() -> Timestamp {
        Timestamp::from_second(NOW).unwrap()
    }

    const OWNER: &str = "_25._tcp.mail.example.test.";
    const ZONE: &str = "example.test.";

    fn run(m: &Message, keys: &BTreeMap<Name, ZoneKeys>) -> Signature {
        check(&name(OWNER), Some(&name(ZONE)), m, keys, now())
    }

    #[test]
    fn a_signed_answer_is_valid_until_its_rrsig_expires() {
        let k = key();
        let rrset = vec![tlsa(OWNER, 1), tlsa(OWNER, 2)];
        let sig = sign(&k, ZONE, &rrset, -3600, 86400);
        let m = answer([rrset, vec![sig]].concat());
        let s = run(&m, &keys_of(ZONE, vec![dnskey(&k)]));
        assert_eq!(
            s,
            Signature::Valid {
                expires: Timestamp::from_second(NOW + 86400).unwrap()
            }
        );
        assert!(s.valid_at(now()).is_ok());
        // The core's own check: after its expiry it no longer counts.
        let later = Timestamp::from_second(NOW + 86400).unwrap();
        assert!(s.valid_at(later).unwrap_err().contains("expired"));
        assert!(s.is_invalid(later));
    }

    #[test]
    fn forged_expired_missing_or_foreign_signatures_are_invalid() {
        let k = key();
        let keys = keys_of(ZONE, vec![dnskey(&k)]);
        let rrset = vec![tlsa(OWNER, 1)];
        // Forged: the signature covers another record than the one served.
        let sig = sign(&k, ZONE, &[tlsa(OWNER, 9)], -3600, 86400);
        let s = run(&answer(vec![rrset[0].clone(), sig]), &keys);
        assert!(
            matches!(&s, Signature::Invalid { reason } if reason.contains("does not verify")),
            "{s:?}"
        );
        // Expired.
        let sig = sign(&k, ZONE, &rrset, -7200, -60);
        let s = run(&answer(vec![rrset[0].clone(), sig]), &keys);
        assert!(
            matches!(&s, Signature::Invalid { reason } if reason.contains("expired")),
            "{s:?}"
        );
        // Not yet valid.
        let sig = sign(&k, ZONE, &rrset, 600, 86400);
        let s = run(&answer(vec![rrset[0].clone(), sig]), &keys);
        assert!(
            matches!(&s, Signature::Invalid { reason } if reason.contains("not valid before")),
            "{s:?}"
        );
        // Missing.
        let s = run(&answer(rrset.clone()), &keys);
        assert!(
            matches!(&s, Signature::Invalid { reason } if reason.contains("no RRSIG")),
            "{s:?}"
        );
        // Made by a key that is not in the authenticated DNSKEY RRset.
        let other = key();
        let sig = sign(&other, ZONE, &rrset, -3600, 86400);
        let s = run(&answer(vec![rrset[0].clone(), sig]), &keys);
        assert!(
            matches!(&s, Signature::Invalid { reason } if reason.contains("not in the DNSKEY RRset")),
            "{s:?}"
        );
        // A signer that does not enclose the name.
        let sig = sign(&k, "other.test.", &rrset, -3600, 86400);
        let s = run(&answer(vec![rrset[0].clone(), sig]), &keys);
        assert!(
            matches!(&s, Signature::Invalid { reason } if reason.contains("does not enclose")),
            "{s:?}"
        );
        // One good signature among bad ones suffices (as for a resolver).
        let good = sign(&k, ZONE, &rrset, -3600, 86400);
        let bad = sign(&k, ZONE, &rrset, -7200, -60);
        let s = run(&answer(vec![rrset[0].clone(), bad, good]), &keys);
        assert!(matches!(s, Signature::Valid { .. }), "{s:?}");
    }

    #[test]
    fn keys_that_cannot_be_authenticated_leave_it_unknown() {
        let k = key();
        let rrset = vec![tlsa(OWNER, 1)];
        let sig = sign(&k, ZONE, &rrset, -3600, 86400);
        let keys = BTreeMap::from([(
            name(ZONE),
            Err("the DNSKEY RRset of example.test. is bogus".to_string()),
        )]);
        let s = run(&answer(vec![rrset[0].clone(), sig]), &keys);
        assert!(
            matches!(&s, Signature::Unknown { reason } if reason.contains("bogus")),
            "{s:?}"
        );
        assert!(!s.is_invalid(now()));
        assert!(s.valid_at(now()).is_err());
        // An insecure zone: no RRSIG expected, unknown (not invalid).
        let s = run(&answer(rrset), &keys);
        assert!(matches!(s, Signature::Unknown { .. }), "{s:?}");
        // Nothing to check.
        assert!(matches!(
            run(&answer(vec![]), &keys),
            Signature::Unknown { .. }
        ));
        assert_eq!(signers(&answer(vec![])), Vec::<Name>::new());
    }

    #[test]
    fn a_cname_on_the_way_must_be_signed_too() {
        let k = key();
        let keys = keys_of(ZONE, vec![dnskey(&k)]);
        let target = "_dane.example.test.";
        let cname = Record::from_rdata(
            name(OWNER),
            30,
            RData::CNAME(hickory_proto::rr::rdata::CNAME(name(target))),
        );
        let rrset = vec![tlsa(target, 1)];
        let tlsa_sig = sign(&k, ZONE, &rrset, -3600, 86400);
        let unsigned_alias = answer(vec![cname.clone(), rrset[0].clone(), tlsa_sig.clone()]);
        let s = run(&unsigned_alias, &keys);
        assert!(
            matches!(&s, Signature::Invalid { reason } if reason.contains("CNAME")),
            "{s:?}"
        );
        let cname_sig = sign(&k, ZONE, std::slice::from_ref(&cname), -3600, 3600);
        let m = answer(vec![cname, cname_sig, rrset[0].clone(), tlsa_sig]);
        assert_eq!(signers(&m), vec![name(ZONE)]);
        // The earliest expiry of the chain.
        assert_eq!(
            run(&m, &keys),
            Signature::Valid {
                expires: Timestamp::from_second(NOW + 3600).unwrap()
            }
        );
    }
}
