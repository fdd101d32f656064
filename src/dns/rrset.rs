//! Validated reads of any RRset (MX, A, AAAA), not only TLSA: what `check --mx` needs to
//! follow RFC 7672 section 2.2 (the MX RRset, the MX hosts' addresses and their CNAME
//! expansion must be Secure before TLSA records count).
//!
//! Pure: the functions here turn a validating resolver's answer, or an in-process
//! validation, into a [`ValidatedRrset`]; the asking is [`super::resolve::Resolver::validated_rrset`].

use hickory_proto::dnssec::Proof;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::Validation;
use super::interpret::{follow_cnames, proof_of_answer, rcode_problem, state_of};

/// The validated read of one RRset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedRrset {
    pub state: Validation,
    /// The CNAME targets followed from the name asked (empty when it is not an alias),
    /// absolute and lowercase.
    pub cnames: Vec<String>,
    /// The records of the asked type at the end of the CNAME chain (empty for NODATA,
    /// NXDOMAIN, and for Bogus data, which must not be used).
    pub records: Vec<RData>,
    /// The name (or the end of its CNAME chain) does not exist.
    pub nxdomain: bool,
    /// Why, when not Secure, or what a Secure empty answer means.
    pub detail: Option<String>,
}

impl ValidatedRrset {
    pub fn failed(state: Validation, detail: String) -> Self {
        ValidatedRrset {
            state,
            cnames: Vec::new(),
            records: Vec::new(),
            nxdomain: false,
            detail: Some(detail),
        }
    }
}

fn abs(n: &Name) -> String {
    super::absolute(&n.to_ascii())
}

/// The records of `rtype` at `name` in `records`, without duplicates.
fn rdata_at(name: &Name, rtype: RecordType, records: &[Record]) -> Vec<RData> {
    let mut out: Vec<RData> = Vec::new();
    for r in records {
        if r.record_type() == rtype && r.name.eq_ignore_root(name) && !out.contains(&r.data) {
            out.push(r.data.clone());
        }
    }
    out
}

fn insecure_detail(name: &Name, rtype: RecordType) -> String {
    format!(
        "{rtype} {}: no chain of trust from the trust anchors: the zone is unsigned or has no \
         DS at its parent",
        abs(name)
    )
}

/// Interpret an in-process validation (hickory's DNSSEC handle, every record carrying its
/// proof) of `name`/`rtype`. `outcome` is Err((proof, why)) when the validator refused the
/// answer.
pub fn read_in_process(
    name: &Name,
    rtype: RecordType,
    outcome: Result<&Message, (Proof, String)>,
) -> ValidatedRrset {
    let m = match outcome {
        Ok(m) => m,
        Err((proof, why)) => return ValidatedRrset::failed(state_of(proof), why),
    };
    if let Some(problem) = rcode_problem(m) {
        return ValidatedRrset::failed(
            Validation::Indeterminate,
            format!(
                "{rtype} {}: the upstream resolver answered {problem}",
                abs(name)
            ),
        );
    }
    let chain = match follow_cnames(name, &m.answers) {
        Ok(c) => c,
        Err(e) => return ValidatedRrset::failed(Validation::Indeterminate, e),
    };
    let at = chain.last().unwrap_or(name);
    let records = rdata_at(at, rtype, &m.answers);
    let proof = proof_of_answer(m, name, rtype, &chain, records.is_empty());
    finish(
        name,
        rtype,
        state_of(proof),
        &chain,
        records,
        m.metadata.response_code == ResponseCode::NXDomain,
    )
}

fn finish(
    name: &Name,
    rtype: RecordType,
    state: Validation,
    chain: &[Name],
    records: Vec<RData>,
    nxdomain: bool,
) -> ValidatedRrset {
    let at = chain.last().unwrap_or(name);
    let detail = match state {
        Validation::Secure if nxdomain => Some(format!("{} does not exist (NXDOMAIN)", abs(at))),
        Validation::Secure if records.is_empty() => Some(format!(
            "no {rtype} records at {} (authenticated denial)",
            abs(at)
        )),
        Validation::Secure => None,
        Validation::Insecure => Some(insecure_detail(name, rtype)),
        Validation::Bogus => Some(format!(
            "{rtype} {}: DNSSEC validation fails: bad or missing signatures, or a DS that \
             matches no DNSKEY",
            abs(name)
        )),
        Validation::Indeterminate => Some(format!(
            "{rtype} {}: the DNSSEC records needed to decide could not be obtained",
            abs(name)
        )),
    };
    ValidatedRrset {
        state,
        cnames: chain.iter().map(abs).collect(),
        records: if state == Validation::Bogus {
            Vec::new()
        } else {
            records
        },
        nxdomain,
        detail,
    }
}

/// Interpret a validating resolver's answer (asked with RD, DO and AD): AD set = Secure, no
/// AD = Insecure. None for SERVFAIL: ask again with CD ([`read_checking_disabled`]).
pub fn read_validating(
    name: &Name,
    rtype: RecordType,
    answer: Result<&Message, String>,
) -> Option<ValidatedRrset> {
    let m = match answer {
        Ok(m) => m,
        Err(e) => {
            return Some(ValidatedRrset::failed(
                Validation::Indeterminate,
                format!(
                    "{rtype} {}: the validating resolver did not answer: {e}",
                    abs(name)
                ),
            ));
        }
    };
    match m.metadata.response_code {
        ResponseCode::NoError | ResponseCode::NXDomain => {}
        ResponseCode::ServFail => return None,
        _ => {
            return Some(ValidatedRrset::failed(
                Validation::Indeterminate,
                format!(
                    "{rtype} {}: the validating resolver answered {}",
                    abs(name),
                    rcode_problem(m).unwrap_or_default()
                ),
            ));
        }
    }
    let chain = match follow_cnames(name, &m.answers) {
        Ok(c) => c,
        Err(e) => return Some(ValidatedRrset::failed(Validation::Indeterminate, e)),
    };
    let at = chain.last().unwrap_or(name);
    let records = rdata_at(at, rtype, &m.answers);
    let state = if m.metadata.authentic_data {
        Validation::Secure
    } else {
        Validation::Insecure
    };
    let mut v = finish(
        name,
        rtype,
        state,
        &chain,
        records,
        m.metadata.response_code == ResponseCode::NXDomain,
    );
    if state == Validation::Insecure {
        v.detail = Some(format!(
            "{rtype} {}: the resolver did not set the AD bit: the zone is unsigned, has no DS \
             record at its parent, or the resolver does not validate",
            abs(name)
        ));
    }
    Some(v)
}

/// Interpret the same question asked again with CD after a SERVFAIL: data that comes back
/// now failed validation (Bogus); another failure means the zone could not be reached.
pub fn read_checking_disabled(
    name: &Name,
    rtype: RecordType,
    answer: Result<&Message, String>,
) -> ValidatedRrset {
    match answer {
        Ok(m) if rcode_problem(m).is_none() => ValidatedRrset::failed(
            Validation::Bogus,
            format!(
                "{rtype} {}: the validating resolver answers SERVFAIL, but serves the data with \
                 checking disabled: DNSSEC validation fails (bogus: bad or missing signatures, \
                 or a DS that matches no DNSKEY)",
                abs(name)
            ),
        ),
        Ok(m) => ValidatedRrset::failed(
            Validation::Indeterminate,
            format!(
                "{rtype} {}: the validating resolver answers SERVFAIL, also with checking \
                 disabled ({}): the zone's servers cannot be reached or are broken",
                abs(name),
                rcode_problem(m).unwrap_or_default()
            ),
        ),
        Err(e) => ValidatedRrset::failed(
            Validation::Indeterminate,
            format!(
                "{rtype} {}: the validating resolver answers SERVFAIL, and nothing with checking \
                 disabled: {e}",
                abs(name)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;
    use hickory_proto::rr::rdata::{A, CNAME, MX};

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn answer(q: &str, rtype: RecordType, records: Vec<Record>, ad: bool) -> Message {
        let mut m = Message::query();
        m.add_query(Query::query(name(q), rtype));
        let mut m = m.into_response();
        m.metadata.authentic_data = ad;
        for r in records {
            m.add_answer(r);
        }
        m
    }

    #[test]
    fn ad_bit_answers_follow_cnames_and_keep_only_the_asked_type() {
        let m = answer(
            "mx.example.test.",
            RecordType::A,
            vec![
                Record::from_rdata(
                    name("mx.example.test."),
                    60,
                    RData::CNAME(CNAME(name("Real.Example.test."))),
                ),
                Record::from_rdata(
                    name("real.example.test."),
                    60,
                    RData::A(A::new(192, 0, 2, 1)),
                ),
            ],
            true,
        );
        let v = read_validating(&name("mx.example.test."), RecordType::A, Ok(&m)).unwrap();
        assert_eq!(v.state, Validation::Secure);
        assert_eq!(v.cnames, vec!["real.example.test.".to_string()]);
        assert_eq!(v.records, vec![RData::A(A::new(192, 0, 2, 1))]);
        assert!(!v.nxdomain);

        let m = answer(
            "example.test.",
            RecordType::MX,
            vec![Record::from_rdata(
                name("example.test."),
                60,
                RData::MX(MX::new(10, name("mx.example.test."))),
            )],
            false,
        );
        let v = read_validating(&name("example.test."), RecordType::MX, Ok(&m)).unwrap();
        assert_eq!(v.state, Validation::Insecure);
        assert!(v.detail.unwrap().contains("AD bit"));
        assert_eq!(v.records.len(), 1);
    }

    #[test]
    fn servfail_asks_again_and_data_with_cd_is_bogus() {
        let mut m = answer("example.test.", RecordType::MX, vec![], false);
        m.metadata.response_code = ResponseCode::ServFail;
        assert!(read_validating(&name("example.test."), RecordType::MX, Ok(&m)).is_none());
        let ok = answer("example.test.", RecordType::MX, vec![], false);
        let v = read_checking_disabled(&name("example.test."), RecordType::MX, Ok(&ok));
        assert_eq!(v.state, Validation::Bogus);
        let v = read_checking_disabled(&name("example.test."), RecordType::MX, Ok(&m));
        assert_eq!(v.state, Validation::Indeterminate);
        let v = read_validating(
            &name("example.test."),
            RecordType::MX,
            Err("timeout".into()),
        )
        .unwrap();
        assert_eq!(v.state, Validation::Indeterminate);
        assert!(v.detail.unwrap().contains("timeout"));
    }

    #[test]
    fn secure_nxdomain_and_nodata_are_said() {
        let mut m = answer("nope.example.test.", RecordType::MX, vec![], true);
        m.metadata.response_code = ResponseCode::NXDomain;
        let v = read_validating(&name("nope.example.test."), RecordType::MX, Ok(&m)).unwrap();
        assert_eq!(v.state, Validation::Secure);
        assert!(v.nxdomain);
        assert!(v.detail.unwrap().contains("NXDOMAIN"));
        let m = answer("example.test.", RecordType::MX, vec![], true);
        let v = read_validating(&name("example.test."), RecordType::MX, Ok(&m)).unwrap();
        assert!(!v.nxdomain && v.records.is_empty());
        assert!(v.detail.unwrap().contains("no MX records"));
    }

    #[test]
    fn in_process_takes_the_weakest_proof() {
        let mut m = answer(
            "example.test.",
            RecordType::MX,
            vec![Record::from_rdata(
                name("example.test."),
                60,
                RData::MX(MX::new(10, name("mx.example.test."))),
            )],
            false,
        );
        m.answers[0].proof = Proof::Secure;
        let v = read_in_process(&name("example.test."), RecordType::MX, Ok(&m));
        assert_eq!(v.state, Validation::Secure);
        m.answers[0].proof = Proof::Bogus;
        let v = read_in_process(&name("example.test."), RecordType::MX, Ok(&m));
        assert_eq!(v.state, Validation::Bogus);
        assert!(v.records.is_empty(), "bogus data is not used");
        let v = read_in_process(
            &name("example.test."),
            RecordType::MX,
            Err((Proof::Insecure, "why".into())),
        );
        assert_eq!(v.state, Validation::Insecure);
    }
}
