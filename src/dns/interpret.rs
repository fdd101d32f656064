//! Pure interpretation of DNS messages: an authoritative server's answer becomes a
//! [`Served`] (or the reason it cannot count), a validating resolver's answer or an
//! in-process validation becomes a [`Validated`]. No sockets here.

use std::net::IpAddr;

use hickory_proto::dnssec::Proof;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::tlsa::TLSA;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::{Served, Validated, Validation};
use crate::tlsa::TlsaRecord;

/// The longest CNAME chain followed (RFC 1034 does not bound it; resolvers use ~8-16).
pub const MAX_CNAME_CHAIN: usize = 12;

/// A TLSA RDATA as the crate's typed record; None for values RFC 6698 does not define
/// (such a record is unusable to a DANE client anyway).
pub fn to_tlsa(t: &TLSA) -> Option<TlsaRecord> {
    let usage = u8::from(t.cert_usage).try_into().ok()?;
    let selector = u8::from(t.selector).try_into().ok()?;
    let matching = u8::from(t.matching).try_into().ok()?;
    Some(TlsaRecord {
        usage,
        selector,
        matching,
        data: t.cert_data.clone(),
    })
}

/// Follow CNAME records from `owner` through `answers`. Returns the chain of targets (empty
/// when `owner` is not an alias); the last one is where the TLSA RRset is.
pub fn follow_cnames(owner: &Name, answers: &[Record]) -> Result<Vec<Name>, String> {
    let mut chain: Vec<Name> = Vec::new();
    let mut at = owner.clone();
    loop {
        let next = answers.iter().find_map(|r| match &r.data {
            RData::CNAME(c) if r.name.eq_ignore_root(&at) => Some(c.0.clone()),
            _ => None,
        });
        let Some(next) = next else {
            return Ok(chain);
        };
        if next.eq_ignore_root(owner) || chain.iter().any(|c| c.eq_ignore_root(&next)) {
            return Err(format!("CNAME loop at {next}"));
        }
        if chain.len() >= MAX_CNAME_CHAIN {
            return Err(format!(
                "CNAME chain from {owner} longer than {MAX_CNAME_CHAIN} links"
            ));
        }
        chain.push(next.clone());
        at = next;
    }
}

/// The TLSA records at `name` in `records`, and the RRset's TTL (the smallest, should the
/// records disagree). Records with values RFC 6698 does not define are left out.
pub fn tlsa_at(name: &Name, records: &[Record]) -> (Vec<TlsaRecord>, Option<u32>) {
    let mut out = Vec::new();
    let mut ttl: Option<u32> = None;
    for r in records {
        if let RData::TLSA(t) = &r.data
            && r.name.eq_ignore_root(name)
        {
            ttl = Some(ttl.map_or(r.ttl, |t| t.min(r.ttl)));
            if let Some(rec) = to_tlsa(t)
                && !out.contains(&rec)
            {
                out.push(rec);
            }
        }
    }
    out.sort();
    (out, ttl)
}

/// The SOA record of a negative answer's authority section: (zone, serial, negative TTL =
/// min(SOA minimum, SOA TTL), RFC 2308 5).
pub fn negative_soa(authorities: &[Record]) -> Option<(Name, u32, u32)> {
    authorities.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some((r.name.clone(), soa.serial, soa.minimum.min(r.ttl))),
        _ => None,
    })
}

/// The error text for a response code that is not an answer (anything but NOERROR and
/// NXDOMAIN).
pub fn rcode_problem(m: &Message) -> Option<String> {
    match m.metadata.response_code {
        ResponseCode::NoError | ResponseCode::NXDomain => None,
        ResponseCode::Refused => Some("REFUSED (the server does not serve this zone)".into()),
        ResponseCode::ServFail => Some("SERVFAIL".into()),
        other => Some(other.to_str().to_string()),
    }
}

/// What an authoritative server serves at `owner`, from its answer to a TLSA query (asked
/// without recursion). Err (the text of the problem) when the answer cannot count: an error
/// code, or no AA bit.
pub fn served(owner: &Name, answer: &Message) -> Result<Served, String> {
    if let Some(problem) = rcode_problem(answer) {
        return Err(problem);
    }
    if !answer.metadata.authoritative {
        let referral = answer
            .authorities
            .iter()
            .any(|r| r.record_type() == RecordType::NS);
        return Err(if referral {
            "a referral, not an answer (no AA bit): the server is not authoritative for the zone \
             (lame delegation, or the owner is in a delegated child zone)"
                .to_string()
        } else {
            "answer without the AA bit: the server is not authoritative for this zone".to_string()
        });
    }
    let chain = follow_cnames(owner, &answer.answers)?;
    let at = chain.last().unwrap_or(owner);
    let (records, ttl) = tlsa_at(at, &answer.answers);
    let negative = negative_soa(&answer.authorities);
    Ok(Served {
        negative_ttl: if records.is_empty() {
            negative.as_ref().map(|n| n.2)
        } else {
            None
        },
        serial: negative.map(|n| n.1),
        records,
        ttl,
        authoritative: true,
        cname: chain.last().map(|c| super::absolute(&c.to_ascii())),
        // Checked by the observer, which has the zone's keys (`authenticated::check`).
        signature: super::Signature::default(),
    })
}

/// The addresses an authoritative server serves at `host` in its zone, from its answer to
/// an A or AAAA query (asked without recursion). Err when the answer cannot count: an error
/// code, no AA bit, or a CNAME (the addresses would then come from another name, perhaps
/// another zone).
pub fn authoritative_addresses(host: &Name, answer: &Message) -> Result<Vec<IpAddr>, String> {
    if let Some(problem) = rcode_problem(answer) {
        return Err(problem);
    }
    if !answer.metadata.authoritative {
        return Err("answer without the AA bit".to_string());
    }
    let mut out = Vec::new();
    for r in &answer.answers {
        match &r.data {
            RData::CNAME(_) => return Err(format!("{host} is an alias (CNAME)")),
            RData::A(a) if r.name.eq_ignore_root(host) => out.push(IpAddr::V4(a.0)),
            RData::AAAA(a) if r.name.eq_ignore_root(host) => out.push(IpAddr::V6(a.0)),
            _ => {}
        }
    }
    Ok(out)
}

/// The zone serial from an authoritative server's answer to an SOA query for `zone`.
pub fn soa_serial(zone: &Name, answer: &Message) -> Result<u32, String> {
    if let Some(problem) = rcode_problem(answer) {
        return Err(problem);
    }
    if !answer.metadata.authoritative {
        return Err("SOA answer without the AA bit".to_string());
    }
    answer
        .answers
        .iter()
        .find_map(|r| match &r.data {
            RData::SOA(soa) if r.name.eq_ignore_root(zone) => Some(soa.serial),
            _ => None,
        })
        .ok_or_else(|| format!("no SOA record for {zone} in the answer"))
}

/// The zone of `name` from a resolver's answer to an SOA query for `name`: the owner of the
/// SOA in the answer (name is the apex) or in the authority section (name is below it).
pub fn zone_from_soa_answer(name: &Name, answer: &Message) -> Result<Option<Name>, String> {
    if let Some(problem) = rcode_problem(answer) {
        return Err(problem);
    }
    let chain = follow_cnames(name, &answer.answers)?;
    let at = chain.last().unwrap_or(name);
    let in_answer = answer.answers.iter().find_map(|r| match &r.data {
        RData::SOA(_) if r.name.eq_ignore_root(at) => Some(r.name.clone()),
        _ => None,
    });
    if in_answer.is_some() || !chain.is_empty() {
        // Behind a CNAME the SOA in the answer, if any, is the target's zone, which says
        // nothing about the zone of `name` itself: let the caller walk up.
        return Ok(in_answer.filter(|_| chain.is_empty()));
    }
    Ok(answer.authorities.iter().find_map(|r| match &r.data {
        RData::SOA(_) if r.name.zone_of(name) => Some(r.name.clone()),
        _ => None,
    }))
}

/// The next step after asking a validating resolver for the TLSA RRset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolverStep {
    Done(Validated),
    /// SERVFAIL: ask again with the CD bit to tell bogus data from a dead zone.
    AskWithCheckingDisabled,
}

fn validated(
    state: Validation,
    records: Vec<TlsaRecord>,
    ttl: Option<u32>,
    detail: Option<String>,
) -> Validated {
    Validated {
        state,
        records,
        ttl,
        detail,
    }
}

/// Interpret a validating resolver's answer (asked with RD, DO and AD). AD set = Secure;
/// an answer without AD = Insecure; SERVFAIL = ask again with CD.
pub fn read_validating(owner: &Name, answer: Result<&Message, String>) -> ResolverStep {
    let m = match answer {
        Ok(m) => m,
        Err(e) => {
            return ResolverStep::Done(validated(
                Validation::Indeterminate,
                vec![],
                None,
                Some(format!("the validating resolver did not answer: {e}")),
            ));
        }
    };
    match m.metadata.response_code {
        ResponseCode::NoError | ResponseCode::NXDomain => {}
        ResponseCode::ServFail => return ResolverStep::AskWithCheckingDisabled,
        _ => {
            return ResolverStep::Done(validated(
                Validation::Indeterminate,
                vec![],
                None,
                Some(format!(
                    "the validating resolver answered {}",
                    rcode_problem(m).unwrap_or_default()
                )),
            ));
        }
    }
    let chain = match follow_cnames(owner, &m.answers) {
        Ok(c) => c,
        Err(e) => {
            return ResolverStep::Done(validated(Validation::Indeterminate, vec![], None, Some(e)));
        }
    };
    let at = chain.last().unwrap_or(owner);
    let (records, ttl) = tlsa_at(at, &m.answers);
    if m.metadata.authentic_data {
        let detail = records
            .is_empty()
            .then(|| format!("no TLSA records at {at} (authenticated denial)"));
        ResolverStep::Done(validated(Validation::Secure, records, ttl, detail))
    } else {
        ResolverStep::Done(validated(
            Validation::Insecure,
            records,
            ttl,
            Some(
                "the resolver did not set the AD bit: the zone is unsigned, has no DS record at \
                 its parent, or the resolver does not validate"
                    .to_string(),
            ),
        ))
    }
}

/// Interpret the answer to the same question asked again with CD after a SERVFAIL: data
/// that comes back now failed validation (Bogus); another failure means the zone could not
/// be reached (Indeterminate).
pub fn read_checking_disabled(owner: &Name, answer: Result<&Message, String>) -> Validated {
    match answer {
        Ok(m) if rcode_problem(m).is_none() => {
            let chain = follow_cnames(owner, &m.answers).unwrap_or_default();
            let at = chain.last().unwrap_or(owner);
            let (records, _) = tlsa_at(at, &m.answers);
            validated(
                Validation::Bogus,
                vec![],
                None,
                Some(format!(
                    "the validating resolver answers SERVFAIL, but serves the data ({} TLSA \
                     record(s)) with checking disabled: DNSSEC validation fails (bogus: bad or \
                     missing signatures, or a DS that matches no DNSKEY)",
                    records.len()
                )),
            )
        }
        Ok(m) => validated(
            Validation::Indeterminate,
            vec![],
            None,
            Some(format!(
                "the validating resolver answers SERVFAIL, also with checking disabled ({}): the \
                 zone's servers cannot be reached or are broken",
                rcode_problem(m).unwrap_or_default()
            )),
        ),
        Err(e) => validated(
            Validation::Indeterminate,
            vec![],
            None,
            Some(format!(
                "the validating resolver answers SERVFAIL, and nothing with checking disabled: {e}"
            )),
        ),
    }
}

/// The crate's state for a hickory proof.
pub fn state_of(proof: Proof) -> Validation {
    match proof {
        Proof::Secure => Validation::Secure,
        Proof::Insecure => Validation::Insecure,
        Proof::Bogus => Validation::Bogus,
        _ => Validation::Indeterminate,
    }
}

/// The proof an in-process validated answer (every record carrying its proof) gives for the
/// `rtype` RRset at the end of `chain`, the CNAMEs followed from `owner`: the weakest proof
/// among the chain's CNAMEs and the RRset. For an empty RRset (`empty`), a negative answer
/// possibly behind CNAMEs, the validator returned it, so its NSEC/NSEC3 proof held, unless
/// every authority record is insecure.
pub(crate) fn proof_of_answer(
    m: &Message,
    owner: &Name,
    rtype: RecordType,
    chain: &[Name],
    empty: bool,
) -> Proof {
    let at = chain.last().unwrap_or(owner);
    let names: Vec<&Name> = std::iter::once(owner).chain(chain.iter()).collect();
    let relevant: Vec<&Record> = m
        .answers
        .iter()
        .filter(|r| {
            (r.record_type() == RecordType::CNAME
                && names.iter().any(|n| n.eq_ignore_root(&r.name)))
                || (r.record_type() == rtype && r.name.eq_ignore_root(at))
        })
        .collect();
    let chain_proof = relevant.iter().map(|r| r.proof).min();
    if !empty {
        return chain_proof.unwrap_or(Proof::Indeterminate);
    }
    let denial_secure = m.authorities.iter().any(|r| {
        matches!(r.record_type(), RecordType::NSEC | RecordType::NSEC3) && r.proof == Proof::Secure
    });
    match (denial_secure, chain_proof) {
        (true, Some(p)) => p,
        (true, None) => Proof::Secure,
        (false, Some(p)) => p.min(Proof::Insecure),
        (false, None) => Proof::Insecure,
    }
}

/// Interpret an in-process validation (hickory's DNSSEC handle): every record of the answer
/// carries its proof. `outcome` is Err((proof, why)) when the validator refused the answer
/// (an unproven negative answer, a network failure: Indeterminate).
pub fn read_in_process(owner: &Name, outcome: Result<&Message, (Proof, String)>) -> Validated {
    let m = match outcome {
        Ok(m) => m,
        Err((proof, why)) => {
            return validated(state_of(proof), vec![], None, Some(why));
        }
    };
    if let Some(problem) = rcode_problem(m) {
        return validated(
            Validation::Indeterminate,
            vec![],
            None,
            Some(format!("the upstream resolver answered {problem}")),
        );
    }
    let chain = match follow_cnames(owner, &m.answers) {
        Ok(c) => c,
        Err(e) => return validated(Validation::Indeterminate, vec![], None, Some(e)),
    };
    let at = chain.last().unwrap_or(owner);
    let (records, ttl) = tlsa_at(at, &m.answers);
    let proof = proof_of_answer(m, owner, RecordType::TLSA, &chain, records.is_empty());
    let state = state_of(proof);
    let detail = match state {
        Validation::Secure if records.is_empty() => {
            Some(format!("no TLSA records at {at} (authenticated denial)"))
        }
        Validation::Secure => None,
        Validation::Insecure => Some(
            "no chain of trust from the trust anchors: the zone is unsigned or has no DS at its \
             parent"
                .to_string(),
        ),
        Validation::Bogus => Some(
            "DNSSEC validation fails: bad or missing signatures, or a DS that matches no DNSKEY"
                .to_string(),
        ),
        Validation::Indeterminate => {
            Some("the DNSSEC records needed to decide could not be obtained".to_string())
        }
    };
    let records = if state == Validation::Bogus {
        vec![]
    } else {
        records
    };
    validated(state, records, ttl, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::dnssec::rdata::NSEC;
    use hickory_proto::op::Query;
    use hickory_proto::rr::rdata::tlsa::{CertUsage, Matching, Selector};
    use hickory_proto::rr::rdata::{CNAME, NS, SOA};

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn tlsa(owner: &str, ttl: u32, byte: u8) -> Record {
        Record::from_rdata(
            name(owner),
            ttl,
            RData::TLSA(TLSA::new(
                CertUsage::DaneEe,
                Selector::Spki,
                Matching::Sha256,
                vec![byte; 32],
            )),
        )
    }

    fn soa(zone: &str, ttl: u32, serial: u32, minimum: u32) -> Record {
        Record::from_rdata(
            name(zone),
            ttl,
            RData::SOA(SOA::new(
                name("ns1.example.test."),
                name("hostmaster.example.test."),
                serial,
                3600,
                600,
                86400,
                minimum,
            )),
        )
    }

    fn cname(from: &str, to: &str) -> Record {
        Record::from_rdata(name(from), 300, RData::CNAME(CNAME(name(to))))
    }

    fn response(owner: &str, aa: bool, rcode: ResponseCode) -> Message {
        let mut m = Message::query();
        m.add_query(Query::query(name(owner), RecordType::TLSA));
        let mut m = m.into_response();
        m.metadata.authoritative = aa;
        m.metadata.response_code = rcode;
        m
    }

    fn rec(byte: u8) -> TlsaRecord {
        format!("3 1 1 {}", hex::encode([byte; 32]))
            .parse()
            .unwrap()
    }

    const OWNER: &str = "_25._tcp.mail.example.test.";

    #[test]
    fn positive_answer() {
        let mut m = response(OWNER, true, ResponseCode::NoError);
        m.add_answer(tlsa(OWNER, 300, 2));
        m.add_answer(tlsa(OWNER, 300, 1));
        let s = served(&name(OWNER), &m).unwrap();
        assert_eq!(s.records, vec![rec(1), rec(2)]);
        assert_eq!(s.ttl, Some(300));
        assert_eq!(s.negative_ttl, None);
        assert_eq!(s.cname, None);
        assert!(s.authoritative);
        assert_eq!(s.serial, None);
    }

    #[test]
    fn owner_case_does_not_matter() {
        let mut m = response(OWNER, true, ResponseCode::NoError);
        m.add_answer(tlsa("_25._TCP.Mail.Example.Test.", 120, 1));
        let s = served(&name(OWNER), &m).unwrap();
        assert_eq!(s.records, vec![rec(1)]);
        assert_eq!(s.ttl, Some(120));
    }

    #[test]
    fn nodata_gives_serial_and_negative_ttl() {
        let mut m = response(OWNER, true, ResponseCode::NoError);
        m.add_authority(soa("example.test.", 3600, 2024010203, 60));
        let s = served(&name(OWNER), &m).unwrap();
        assert!(s.records.is_empty());
        assert_eq!(s.ttl, None);
        assert_eq!(s.serial, Some(2024010203));
        assert_eq!(s.negative_ttl, Some(60));
        // The SOA TTL caps the negative TTL too (RFC 2308 5).
        let mut m = response(OWNER, true, ResponseCode::NXDomain);
        m.add_authority(soa("example.test.", 30, 7, 3600));
        assert_eq!(served(&name(OWNER), &m).unwrap().negative_ttl, Some(30));
    }

    #[test]
    fn no_aa_is_an_error() {
        let mut m = response(OWNER, false, ResponseCode::NoError);
        m.add_answer(tlsa(OWNER, 300, 1));
        let e = served(&name(OWNER), &m).unwrap_err();
        assert!(e.contains("AA bit"), "{e}");
        let mut m = response(OWNER, false, ResponseCode::NoError);
        m.add_authority(Record::from_rdata(
            name("mail.example.test."),
            300,
            RData::NS(NS(name("ns.other.test."))),
        ));
        let e = served(&name(OWNER), &m).unwrap_err();
        assert!(e.contains("referral"), "{e}");
    }

    #[test]
    fn error_codes_are_errors() {
        let e = served(
            &name(OWNER),
            &response(OWNER, false, ResponseCode::ServFail),
        )
        .unwrap_err();
        assert_eq!(e, "SERVFAIL");
        let e = served(&name(OWNER), &response(OWNER, false, ResponseCode::Refused)).unwrap_err();
        assert!(e.starts_with("REFUSED"), "{e}");
    }

    #[test]
    fn cname_is_followed_and_reported() {
        let mut m = response(OWNER, true, ResponseCode::NoError);
        m.add_answer(cname(OWNER, "a.example.test."));
        m.add_answer(cname("a.example.test.", "dane.example.test."));
        m.add_answer(tlsa("dane.example.test.", 600, 9));
        m.add_answer(tlsa(OWNER, 600, 8)); // must not count: not at the end of the chain
        let s = served(&name(OWNER), &m).unwrap();
        assert_eq!(s.cname.as_deref(), Some("dane.example.test."));
        assert_eq!(s.records, vec![rec(9)]);
    }

    #[test]
    fn cname_loop_is_an_error() {
        let mut m = response(OWNER, true, ResponseCode::NoError);
        m.add_answer(cname(OWNER, "a.example.test."));
        m.add_answer(cname("a.example.test.", OWNER));
        assert!(served(&name(OWNER), &m).unwrap_err().contains("loop"));
    }

    #[test]
    fn soa_serial_from_answer() {
        let mut m = response("example.test.", true, ResponseCode::NoError);
        m.add_answer(soa("example.test.", 3600, 42, 60));
        assert_eq!(soa_serial(&name("example.test."), &m), Ok(42));
        let m = response("example.test.", true, ResponseCode::NoError);
        assert!(soa_serial(&name("example.test."), &m).is_err());
    }

    #[test]
    fn zone_from_soa() {
        let mut m = response(OWNER, false, ResponseCode::NoError);
        m.add_authority(soa("example.test.", 3600, 1, 60));
        assert_eq!(
            zone_from_soa_answer(&name(OWNER), &m),
            Ok(Some(name("example.test.")))
        );
        let mut m = response("example.test.", false, ResponseCode::NoError);
        m.add_answer(soa("example.test.", 3600, 1, 60));
        assert_eq!(
            zone_from_soa_answer(&name("example.test."), &m),
            Ok(Some(name("example.test.")))
        );
        // An SOA of an unrelated zone does not count.
        let mut m = response(OWNER, false, ResponseCode::NoError);
        m.add_authority(soa("other.test.", 3600, 1, 60));
        assert_eq!(zone_from_soa_answer(&name(OWNER), &m), Ok(None));
        assert!(
            zone_from_soa_answer(
                &name(OWNER),
                &response(OWNER, false, ResponseCode::ServFail)
            )
            .is_err()
        );
    }

    #[test]
    fn resolver_ad_means_secure_and_no_ad_insecure() {
        let mut m = response(OWNER, false, ResponseCode::NoError);
        m.add_answer(tlsa(OWNER, 5, 1));
        m.metadata.authentic_data = true;
        let ResolverStep::Done(v) = read_validating(&name(OWNER), Ok(&m)) else {
            panic!("expected a result")
        };
        assert_eq!(v.state, Validation::Secure);
        assert_eq!(v.records, vec![rec(1)]);
        assert_eq!(v.detail, None);
        m.metadata.authentic_data = false;
        let ResolverStep::Done(v) = read_validating(&name(OWNER), Ok(&m)) else {
            panic!("expected a result")
        };
        assert_eq!(v.state, Validation::Insecure);
        assert_eq!(v.records, vec![rec(1)]);
        assert!(v.detail.unwrap().contains("AD bit"));
    }

    #[test]
    fn resolver_servfail_asks_with_cd_then_bogus_or_indeterminate() {
        let m = response(OWNER, false, ResponseCode::ServFail);
        assert_eq!(
            read_validating(&name(OWNER), Ok(&m)),
            ResolverStep::AskWithCheckingDisabled
        );
        let mut cd = response(OWNER, false, ResponseCode::NoError);
        cd.add_answer(tlsa(OWNER, 5, 1));
        let v = read_checking_disabled(&name(OWNER), Ok(&cd));
        assert_eq!(v.state, Validation::Bogus);
        assert!(
            v.records.is_empty(),
            "bogus data must not be reported as published"
        );
        assert!(v.detail.unwrap().contains("1 TLSA"));
        let v = read_checking_disabled(&name(OWNER), Ok(&m));
        assert_eq!(v.state, Validation::Indeterminate);
        let v = read_checking_disabled(&name(OWNER), Err("timeout".into()));
        assert_eq!(v.state, Validation::Indeterminate);
        let ResolverStep::Done(v) = read_validating(&name(OWNER), Err("no answer".into())) else {
            panic!("expected a result")
        };
        assert_eq!(v.state, Validation::Indeterminate);
    }

    #[test]
    fn in_process_proofs() {
        let mut m = response(OWNER, false, ResponseCode::NoError);
        let mut r = tlsa(OWNER, 300, 1);
        r.proof = Proof::Secure;
        m.add_answer(r.clone());
        let v = read_in_process(&name(OWNER), Ok(&m));
        assert_eq!(
            (v.state, v.records.clone()),
            (Validation::Secure, vec![rec(1)])
        );

        // A CNAME that is only insecure makes the whole read insecure.
        let mut m = response(OWNER, false, ResponseCode::NoError);
        let mut c = cname(OWNER, "dane.example.test.");
        c.proof = Proof::Insecure;
        let mut t = tlsa("dane.example.test.", 300, 1);
        t.proof = Proof::Secure;
        m.add_answer(c);
        m.add_answer(t);
        assert_eq!(
            read_in_process(&name(OWNER), Ok(&m)).state,
            Validation::Insecure
        );

        let mut m = response(OWNER, false, ResponseCode::NoError);
        let mut b = tlsa(OWNER, 300, 1);
        b.proof = Proof::Bogus;
        m.add_answer(b);
        let v = read_in_process(&name(OWNER), Ok(&m));
        assert_eq!(v.state, Validation::Bogus);
        assert!(v.records.is_empty());

        let v = read_in_process(&name(OWNER), Err((Proof::Bogus, "nsec".into())));
        assert_eq!(v.state, Validation::Bogus);
        let v = read_in_process(&name(OWNER), Err((Proof::Indeterminate, "net".into())));
        assert_eq!(v.state, Validation::Indeterminate);
    }

    #[test]
    fn in_process_negative_answers() {
        // Proven absence: a secure NSEC in the authority section.
        let mut m = response(OWNER, false, ResponseCode::NoError);
        let mut n = Record::from_rdata(
            name(OWNER),
            60,
            RData::DNSSEC(hickory_proto::dnssec::rdata::DNSSECRData::NSEC(NSEC::new(
                name("z.example.test."),
                [RecordType::TXT],
            ))),
        );
        n.proof = Proof::Secure;
        m.add_authority(n);
        let v = read_in_process(&name(OWNER), Ok(&m));
        assert_eq!(v.state, Validation::Secure);
        assert!(v.records.is_empty());
        // Unsigned zone: nothing secure in the authority section.
        let mut m = response(OWNER, false, ResponseCode::NXDomain);
        let mut s = soa("insecure.example.test.", 60, 1, 60);
        s.proof = Proof::Insecure;
        m.add_authority(s);
        assert_eq!(
            read_in_process(&name(OWNER), Ok(&m)).state,
            Validation::Insecure
        );
    }
}
