//! The pure part of `check --mx`: from what was observed for a mail domain (the validated
//! MX RRset, each MX host's validated addresses and TLSA RRset, the chain each address
//! served) to findings, the monitoring status, and the three renderings (text with a
//! Nagios-plugin first line, JSON, Prometheus metrics).
//!
//! The rules are a DANE-validating sender's (RFC 7672):
//! - the MX RRset must be Secure (2.2.1): Bogus means deferred mail, Insecure means DANE
//!   cannot apply to the domain at all; no MX RRset means the implicit MX (the domain itself,
//!   RFC 5321 5.1);
//! - an MX host's addresses must be Secure before its TLSA RRset counts (2.2.2); the TLSA
//!   base domain is the CNAME-expanded host name when that has TLSA records, else the MX
//!   host name;
//! - DANE-EE ignores names and dates, DANE-TA checks the chain to the matched issuer, PKIX
//!   usages are unusable ([`crate::dane`]).
//!
//! Each finding carries its own status; every level's status is the worst of its findings
//! and of the levels below it (CRITICAL > WARNING > UNKNOWN > OK, as `check`).

use std::fmt::Write as _;
use std::net::IpAddr;

use serde::Serialize;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::dane::{self, Peer, Profile, RecordOutcome};
use crate::dns::{Validated, Validation};
use crate::tlsa::{TlsaRecord, Usage};

use super::Algorithms;
use super::report::{ProbeResult, Status, label, metric_family, rfc3339, short, validation_name};

/// The validated MX RRset of a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxLookup {
    pub state: Validation,
    pub detail: Option<String>,
    pub nxdomain: bool,
    /// (preference, exchange), the exchange lowercase without the trailing dot ("" for the
    /// root, the null MX of RFC 7505).
    pub records: Vec<(u16, String)>,
}

/// The validated A and AAAA RRsets of an MX host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressLookup {
    /// The weakest state of the two lookups.
    pub state: Validation,
    pub detail: Option<String>,
    /// CNAME targets followed from the host name (absolute).
    pub cnames: Vec<String>,
    pub ips: Vec<IpAddr>,
}

/// The TLSA RRset used for an MX host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsaLookup {
    /// The TLSA base domain (RFC 7672 2.2.2), without the trailing dot: SNI and the DANE-TA
    /// reference identifier.
    pub base: String,
    /// `_25._tcp.BASE.`
    pub owner: String,
    pub validated: Validated,
    /// The owners asked before this one that did not give a Secure RRset (the expanded name
    /// of a CNAME'd host), with their state.
    pub tried: Vec<(String, Validation)>,
}

/// One probe of one address.
#[derive(Debug, Clone)]
pub struct ProbeObserved {
    pub address: IpAddr,
    pub algorithms: Algorithms,
    pub result: ProbeResult,
}

/// Everything observed for one MX host.
#[derive(Debug, Clone)]
pub struct HostObserved {
    /// Lowercase, without the trailing dot.
    pub host: String,
    /// None for the implicit MX (the domain itself).
    pub preference: Option<u16>,
    pub addresses: AddressLookup,
    /// None when not looked up (the addresses are not Secure, RFC 7672 2.2.2).
    pub tlsa: Option<TlsaLookup>,
    pub probes: Vec<ProbeObserved>,
}

/// Everything observed for one domain.
#[derive(Debug, Clone)]
pub struct MxObserved {
    /// Lowercase, without the trailing dot.
    pub domain: String,
    pub mx: MxLookup,
    /// In preference order.
    pub hosts: Vec<HostObserved>,
}

/// What the command line asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MxOptions {
    /// WARNING when a chain expires within this many days.
    pub warn_days: u32,
    /// CRITICAL when a certificate of a chain is not valid this many days from now.
    pub days: Option<u32>,
    /// WARNING when a host's TLSA RRset has no second record to roll to.
    pub rollover_scheme: bool,
}

/// The verdict on one probe of one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressVerdict {
    /// A usable TLSA record authenticates the served chain.
    Match,
    /// A usable TLSA record exists, none authenticates the served chain.
    NoMatch,
    /// TLS worked; DANE does not apply to the host (no usable TLSA, insecure DNS).
    NoDane,
    /// TLS worked; the TLSA state could not be determined or is Bogus.
    Unchecked,
    /// The server answered, but STARTTLS or the TLS handshake failed.
    TlsFailed,
    /// With `--both-algorithms`: the handshake offering only this family failed while the
    /// other family's worked: the server has no certificate of this kind.
    NoCertificate,
    /// Nothing answered: refused, no route, or no answer in time.
    Unreachable,
}

impl AddressVerdict {
    fn text(self) -> &'static str {
        match self {
            AddressVerdict::Match => "match",
            AddressVerdict::NoMatch => "NO MATCH",
            AddressVerdict::NoDane => "no DANE",
            AddressVerdict::Unchecked => "unchecked",
            AddressVerdict::TlsFailed => "TLS FAILED",
            AddressVerdict::NoCertificate => "no certificate of this kind",
            AddressVerdict::Unreachable => "UNREACHABLE",
        }
    }
}

/// One certificate of a served chain, for expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainCert {
    pub depth: usize,
    pub subject: String,
    /// RFC 3339.
    pub not_after: String,
    pub days_left: i64,
    #[serde(skip)]
    not_after_secs: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressReport {
    pub address: IpAddr,
    /// The signature algorithms offered: "all", or "ecdsa" / "rsa" with `--both-algorithms`.
    pub algorithms: Algorithms,
    pub verdict: AddressVerdict,
    pub status: Status,
    /// Why the status is not OK (empty when OK); notes when OK.
    pub reasons: Vec<String>,
    pub matched: Vec<TlsaRecord>,
    pub leaf_spki_sha256: Option<String>,
    /// The earliest notAfter of the served chain (RFC 3339), and the days until then.
    pub chain_not_after: Option<String>,
    pub days_left: Option<i64>,
    pub chain: Vec<ChainCert>,
    pub error: Option<String>,
}

impl AddressReport {
    /// The earliest notAfter of the served chain, Unix seconds.
    pub fn chain_not_after_secs(&self) -> Option<i64> {
        self.chain.iter().map(|c| c.not_after_secs).min()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsaReport {
    pub owner: String,
    pub base: String,
    pub validation: Validation,
    pub detail: Option<String>,
    pub records: Vec<TlsaRecord>,
    /// Whether DANE applies: Secure, with at least one record usable for SMTP.
    pub usable: bool,
    /// Owners asked first (the CNAME-expanded name) and their state.
    pub tried: Vec<TriedOwner>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TriedOwner {
    pub owner: String,
    pub validation: Validation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RolloverScheme {
    pub ready: bool,
    /// "3 1 1 + 3 1 1", "3 1 1 + 2 1 1", ... when ready.
    pub scheme: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostReport {
    pub host: String,
    /// None for the implicit MX.
    pub preference: Option<u16>,
    pub implicit: bool,
    pub status: Status,
    /// The host's own findings (addresses and TLSA lookups, rollover scheme).
    pub reasons: Vec<String>,
    pub address_validation: Validation,
    pub address_detail: Option<String>,
    pub cnames: Vec<String>,
    /// Null when the TLSA RRset was not looked up (addresses not Secure).
    pub tlsa: Option<TlsaReport>,
    /// Only with `--rollover-scheme`, when DANE applies.
    pub rollover_scheme: Option<RolloverScheme>,
    pub addresses: Vec<AddressReport>,
    /// The worst status of the host's own findings.
    #[serde(skip)]
    own_status: Status,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MxState {
    pub validation: Validation,
    pub detail: Option<String>,
    /// No MX RRset: the domain itself is the mail host (RFC 5321 5.1).
    pub implicit: bool,
    /// `MX 0 .`: the domain accepts no mail (RFC 7505).
    pub null_mx: bool,
    pub nxdomain: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainReport {
    pub domain: String,
    pub status: Status,
    pub mx: MxState,
    /// The domain's own findings (the MX RRset).
    pub reasons: Vec<String>,
    pub hosts: Vec<HostReport>,
    /// The smallest days_left of any served chain.
    pub days_left: Option<i64>,
    /// The worst status of the domain's own findings.
    #[serde(skip)]
    own_status: Status,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MxReport {
    pub status: Status,
    pub exit_code: u8,
    /// The first line of the text output, perfdata included.
    pub summary: String,
    /// RFC 3339.
    pub checked_at: String,
    pub warn_days: u32,
    pub days: Option<u32>,
    pub domains: Vec<DomainReport>,
}

fn severity(s: Status) -> u8 {
    s.severity()
}

/// The worst of `statuses` (OK when there is none).
pub fn worst(statuses: impl IntoIterator<Item = Status>) -> Status {
    statuses
        .into_iter()
        .max_by_key(|s| severity(*s))
        .unwrap_or(Status::Ok)
}

/// A finding: its status and what to say.
type Finding = (Status, String);

/// Build the report; `now` in Unix seconds.
pub fn build(observed: &[MxObserved], opts: &MxOptions, now: i64) -> MxReport {
    let domains: Vec<DomainReport> = observed
        .iter()
        .map(|o| domain_report(o, opts, now))
        .collect();
    let status = if domains.is_empty() {
        Status::Unknown
    } else {
        worst(domains.iter().map(|d| d.status))
    };
    let summary = summary_line(status, &domains, opts);
    MxReport {
        status,
        exit_code: status.code(),
        summary,
        checked_at: rfc3339(now),
        warn_days: opts.warn_days,
        days: opts.days,
        domains,
    }
}

fn domain_report(o: &MxObserved, opts: &MxOptions, now: i64) -> DomainReport {
    let d = &o.domain;
    let mx = &o.mx;
    let null_mx = mx.records.len() == 1 && mx.records[0].1.is_empty();
    let implicit = mx.records.is_empty()
        && !mx.nxdomain
        && matches!(mx.state, Validation::Secure | Validation::Insecure);
    let mut findings: Vec<Finding> = Vec::new();
    match mx.state {
        Validation::Secure => {}
        Validation::Insecure => findings.push((
            Status::Critical,
            format!(
                "the MX RRset of {d} is not DNSSEC-signed (Insecure): DANE cannot apply to mail \
                 for {d}, whatever the TLSA records say (RFC 7672 2.2.1); sign the zone and \
                 publish its DS at the parent"
            ),
        )),
        Validation::Bogus => findings.push((
            Status::Critical,
            format!(
                "the MX RRset of {d} fails DNSSEC validation (Bogus): DANE senders defer all \
                 mail for {d}{}",
                mx.detail
                    .as_deref()
                    .map(|x| format!(" ({x})"))
                    .unwrap_or_default()
            ),
        )),
        Validation::Indeterminate => findings.push((
            Status::Unknown,
            format!(
                "the MX RRset of {d} could not be validated{}",
                mx.detail
                    .as_deref()
                    .map(|x| format!(": {x}"))
                    .unwrap_or_default()
            ),
        )),
    }
    if mx.nxdomain && mx.state != Validation::Bogus && mx.state != Validation::Indeterminate {
        findings.push((
            Status::Critical,
            format!("{d} does not exist (NXDOMAIN): no mail can be delivered to it"),
        ));
    }
    if null_mx {
        findings.push((
            Status::Unknown,
            format!("{d} accepts no mail (null MX, RFC 7505): nothing to check"),
        ));
    }
    let hosts: Vec<HostReport> = o.hosts.iter().map(|h| host_report(h, opts, now)).collect();
    if implicit && hosts.is_empty() && matches!(mx.state, Validation::Secure | Validation::Insecure)
    {
        findings.push((
            Status::Critical,
            format!("{d} has no MX RRset and is not a host itself: it accepts no mail"),
        ));
    }
    let status = worst(
        findings
            .iter()
            .map(|f| f.0)
            .chain(hosts.iter().map(|h| h.status)),
    );
    let days_left = hosts
        .iter()
        .flat_map(|h| h.addresses.iter().filter_map(|a| a.days_left))
        .min();
    DomainReport {
        domain: d.clone(),
        status,
        mx: MxState {
            validation: mx.state,
            detail: mx.detail.clone(),
            implicit,
            null_mx,
            nxdomain: mx.nxdomain,
        },
        own_status: worst(findings.iter().map(|f| f.0)),
        reasons: sorted_reasons(findings),
        hosts,
        days_left,
    }
}

/// The reasons, worst first (a stable sort keeps the order of equal ones).
fn sorted_reasons(mut findings: Vec<Finding>) -> Vec<String> {
    findings.sort_by_key(|f| std::cmp::Reverse(severity(f.0)));
    findings.into_iter().map(|f| f.1).collect()
}

/// Whether a record can authenticate anything for SMTP (RFC 7672 3.1.3).
fn usable_for_smtp(r: &TlsaRecord) -> bool {
    matches!(r.usage, Usage::DaneEe | Usage::DaneTa)
}

fn host_report(h: &HostObserved, opts: &MxOptions, now: i64) -> HostReport {
    let name = &h.host;
    let a = &h.addresses;
    let mut findings: Vec<Finding> = Vec::new();
    match a.state {
        Validation::Secure => {}
        Validation::Insecure => findings.push((
            Status::Warning,
            format!(
                "the address records of {name} are not DNSSEC-signed (Insecure): DANE does not \
                 apply to this host and mail to it goes without DANE (RFC 7672 2.2.2)"
            ),
        )),
        Validation::Bogus => findings.push((
            Status::Critical,
            format!(
                "the address records of {name} fail DNSSEC validation (Bogus): DANE senders \
                 defer mail to this host"
            ),
        )),
        Validation::Indeterminate => findings.push((
            Status::Unknown,
            format!(
                "the address records of {name} could not be validated{}",
                a.detail
                    .as_deref()
                    .map(|x| format!(": {x}"))
                    .unwrap_or_default()
            ),
        )),
    }
    if a.ips.is_empty() && matches!(a.state, Validation::Secure | Validation::Insecure) {
        findings.push((
            Status::Critical,
            if h.preference.is_none() {
                format!(
                    "{name} has neither an MX RRset nor an A or AAAA record: it accepts no mail"
                )
            } else {
                format!("{name} has no A or AAAA record: senders cannot deliver to this MX host")
            },
        ));
    }

    let tlsa = h.tlsa.as_ref().map(|t| {
        let usable = t.validated.state == Validation::Secure
            && t.validated.records.iter().any(usable_for_smtp);
        TlsaReport {
            owner: t.owner.clone(),
            base: t.base.clone(),
            validation: t.validated.state,
            detail: t.validated.detail.clone(),
            records: t.validated.records.clone(),
            usable,
            tried: t
                .tried
                .iter()
                .map(|(owner, validation)| TriedOwner {
                    owner: owner.clone(),
                    validation: *validation,
                })
                .collect(),
        }
    });
    if let Some(t) = &tlsa {
        let o = t.owner.trim_end_matches('.');
        let why = t
            .detail
            .as_deref()
            .map(|x| format!(" ({x})"))
            .unwrap_or_default();
        match t.validation {
            Validation::Secure if t.records.is_empty() => findings.push((
                Status::Warning,
                format!(
                    "{name} has no TLSA record at {o}: mail to it goes without DANE; publish \
                     a 3 1 1 record of its key"
                ),
            )),
            Validation::Secure if !t.usable => findings.push((
                Status::Warning,
                format!(
                    "{name} has no usable TLSA record at {o}: PKIX-TA(0) and PKIX-EE(1) are \
                     not used for SMTP (RFC 7672 3.1.3), so senders require TLS but \
                     authenticate nothing; publish a 3 1 1 record"
                ),
            )),
            Validation::Secure => {}
            Validation::Insecure if t.records.is_empty() => findings.push((
                Status::Warning,
                format!(
                    "{name} has no TLSA record (the lookup at {o} is Insecure): mail to it goes \
                     without DANE"
                ),
            )),
            Validation::Insecure => findings.push((
                Status::Critical,
                format!(
                    "the TLSA records at {o} are not DNSSEC-signed (Insecure): senders ignore \
                     them{why}"
                ),
            )),
            Validation::Bogus => findings.push((
                Status::Critical,
                format!(
                    "the TLSA RRset at {o} fails DNSSEC validation (Bogus): DANE senders defer \
                     mail to {name}{why}"
                ),
            )),
            Validation::Indeterminate => findings.push((
                Status::Unknown,
                format!("the TLSA RRset at {o} could not be validated{why}"),
            )),
        }
    }

    // The probes, judged against the RRset when DANE applies.
    let applies = tlsa.as_ref().is_some_and(|t| t.usable);
    let unjudged = tlsa
        .as_ref()
        .is_some_and(|t| matches!(t.validation, Validation::Bogus | Validation::Indeterminate));
    let records: &[TlsaRecord] = match (&h.tlsa, applies) {
        (Some(t), true) => &t.validated.records,
        _ => &[],
    };
    let mut names = vec![name.clone()];
    if let Some(t) = &tlsa
        && t.base != *name
    {
        names.insert(0, t.base.clone());
    }
    let peer = Peer {
        names: &names,
        now,
        profile: Profile::Smtp,
    };
    let tls_worked = |ip: IpAddr| h.probes.iter().any(|p| p.address == ip && p.result.is_ok());
    let addresses: Vec<AddressReport> = h
        .probes
        .iter()
        .map(|p| {
            address_report(
                p,
                &AddressContext {
                    host: name,
                    applies,
                    unjudged,
                    records,
                    peer: &peer,
                    other_address_works: h
                        .probes
                        .iter()
                        .any(|q| q.address != p.address && q.result.is_ok()),
                    same_address_works: tls_worked(p.address),
                },
                opts,
            )
        })
        .collect();

    let rollover_scheme = (opts.rollover_scheme && applies).then(|| {
        let leaves: Vec<&[u8]> = h
            .probes
            .iter()
            .filter_map(|p| p.result.as_ref().ok().and_then(|c| c.first()))
            .map(Vec::as_slice)
            .collect();
        rollover_scheme_of(records, &leaves)
    });
    if let (Some(r), Some(t)) = (&rollover_scheme, &tlsa)
        && !r.ready
    {
        findings.push((
            Status::Warning,
            format!(
                "the TLSA RRset at {} has no second record to roll to: publish the next key's \
                 3 1 1 beside the current one (\"3 1 1 + 3 1 1\", `danerollover prepublish`) or \
                 a 2 1 1 of the issuing CA (\"3 1 1 + 2 1 1\")",
                t.owner.trim_end_matches('.')
            ),
        ));
    }

    let status = worst(
        findings
            .iter()
            .map(|f| f.0)
            .chain(addresses.iter().map(|a| a.status)),
    );
    HostReport {
        host: name.clone(),
        preference: h.preference,
        implicit: h.preference.is_none(),
        status,
        own_status: worst(findings.iter().map(|f| f.0)),
        reasons: sorted_reasons(findings),
        address_validation: a.state,
        address_detail: a.detail.clone(),
        cnames: a.cnames.clone(),
        tlsa,
        rollover_scheme,
        addresses,
    }
}

/// Whether a TLSA RRset (the usable records) leaves room for a key rollover: internet.nl's
/// "3 1 1 + 3 1 1" (a DANE-EE record for a key not served now, beside the current one) or
/// "3 1 1 + 2 1 1" (a DANE-TA record beside the DANE-EE one). `leaves` are the served leaf
/// certificates; without any, two DANE-EE records count as a scheme.
pub fn rollover_scheme_of(records: &[TlsaRecord], leaves: &[&[u8]]) -> RolloverScheme {
    let ee: Vec<&TlsaRecord> = records
        .iter()
        .filter(|r| r.usage == Usage::DaneEe)
        .collect();
    let ta: Vec<&TlsaRecord> = records
        .iter()
        .filter(|r| r.usage == Usage::DaneTa)
        .collect();
    let params = |r: &TlsaRecord| {
        format!(
            "{} {} {}",
            r.usage as u8, r.selector as u8, r.matching as u8
        )
    };
    if let (Some(e), Some(t)) = (ee.first(), ta.first()) {
        return RolloverScheme {
            ready: true,
            scheme: Some(format!("{} + {}", params(e), params(t))),
        };
    }
    if ee.len() >= 2 {
        let standby = ee
            .iter()
            .find(|r| !leaves.iter().any(|l| dane::ee_matches_leaf(r, l)));
        let in_use = ee
            .iter()
            .find(|r| leaves.iter().any(|l| dane::ee_matches_leaf(r, l)));
        match (leaves.is_empty(), standby, in_use) {
            (true, _, _) => {
                return RolloverScheme {
                    ready: true,
                    scheme: Some(format!("{} + {}", params(ee[0]), params(ee[1]))),
                };
            }
            (false, Some(s), Some(u)) => {
                return RolloverScheme {
                    ready: true,
                    scheme: Some(format!("{} + {}", params(u), params(s))),
                };
            }
            _ => {}
        }
    }
    if ta.len() >= 2 {
        return RolloverScheme {
            ready: true,
            scheme: Some(format!("{} + {}", params(ta[0]), params(ta[1]))),
        };
    }
    RolloverScheme {
        ready: false,
        scheme: None,
    }
}

struct AddressContext<'a> {
    host: &'a str,
    applies: bool,
    unjudged: bool,
    records: &'a [TlsaRecord],
    peer: &'a Peer<'a>,
    /// Another address of the host completed a TLS handshake.
    other_address_works: bool,
    /// This address completed a TLS handshake in some probe (with another algorithm family).
    same_address_works: bool,
}

/// Every certificate of a chain with its expiry (those that parse).
pub fn chain_expiry(chain: &[Vec<u8>], now: i64) -> Vec<ChainCert> {
    chain
        .iter()
        .enumerate()
        .filter_map(|(depth, der)| {
            let (_, c) = X509Certificate::from_der(der).ok()?;
            let not_after = c.validity().not_after.timestamp();
            Some(ChainCert {
                depth,
                subject: c.subject().to_string(),
                not_after: rfc3339(not_after),
                days_left: (not_after - now).div_euclid(86400),
                not_after_secs: not_after,
            })
        })
        .collect()
}

fn address_report(p: &ProbeObserved, cx: &AddressContext<'_>, opts: &MxOptions) -> AddressReport {
    let family = match p.algorithms {
        Algorithms::All => String::new(),
        other => format!(" offering only {} signatures", other.name().to_uppercase()),
    };
    let chain = match &p.result {
        Err(f) => {
            let (verdict, status, reason) = if f.unreachable {
                if cx.other_address_works {
                    (
                        AddressVerdict::Unreachable,
                        Status::Warning,
                        format!(
                            "{} of {} does not answer ({}); another address of the host works",
                            p.address, cx.host, f.message
                        ),
                    )
                } else {
                    (
                        AddressVerdict::Unreachable,
                        Status::Critical,
                        format!(
                            "{} of {} does not answer ({}), and no other address of the host \
                             works",
                            p.address, cx.host, f.message
                        ),
                    )
                }
            } else if p.algorithms != Algorithms::All && cx.same_address_works {
                (
                    AddressVerdict::NoCertificate,
                    Status::Ok,
                    format!(
                        "no {} certificate: the handshake{family} failed ({})",
                        p.algorithms.name().to_uppercase(),
                        f.message
                    ),
                )
            } else {
                (
                    AddressVerdict::TlsFailed,
                    Status::Critical,
                    format!(
                        "{} of {}: STARTTLS or the TLS handshake{family} failed: {}",
                        p.address, cx.host, f.message
                    ),
                )
            };
            return AddressReport {
                address: p.address,
                algorithms: p.algorithms,
                verdict,
                status,
                reasons: vec![reason],
                matched: Vec::new(),
                leaf_spki_sha256: None,
                chain_not_after: None,
                days_left: None,
                chain: Vec::new(),
                error: Some(f.message.clone()),
            };
        }
        Ok(chain) => chain,
    };
    let mut findings: Vec<Finding> = Vec::new();
    let m = dane::match_chain(chain, cx.records, cx.peer);
    let verdict = if cx.applies {
        if m.authenticated() {
            AddressVerdict::Match
        } else {
            let why: Vec<String> = m
                .results
                .iter()
                .map(|r| {
                    format!(
                        "{}: {}",
                        short(&r.record),
                        match &r.outcome {
                            RecordOutcome::Match { depth } => format!("matches (depth {depth})"),
                            RecordOutcome::NoMatch => "no match".to_string(),
                            RecordOutcome::ChainInvalid { depth, reason } => {
                                format!("matches depth {depth}, but {reason}")
                            }
                            RecordOutcome::Unusable { reason } => format!("unusable: {reason}"),
                        }
                    )
                })
                .collect();
            findings.push((
                Status::Critical,
                format!(
                    "{} of {}: no TLSA record authenticates the served chain{family} ({}): DANE \
                     senders defer mail to it",
                    p.address,
                    cx.host,
                    why.join("; ")
                ),
            ));
            AddressVerdict::NoMatch
        }
    } else if cx.unjudged {
        AddressVerdict::Unchecked
    } else {
        AddressVerdict::NoDane
    };
    let leaf = chain.first().and_then(|l| dane::leaf_info(l));
    let certs = chain_expiry(chain, cx.peer.now);
    let earliest = certs.iter().min_by_key(|c| c.days_left).cloned();
    if let Some(e) = &earliest {
        let what = if e.depth == 0 {
            "the certificate".to_string()
        } else {
            format!(
                "the chain's certificate at depth {} ({})",
                e.depth, e.subject
            )
        };
        let when = if e.days_left < 0 {
            format!(
                "expired {} ({} days ago; DANE-EE still authenticates it, PKIX clients do not)",
                e.not_after, -e.days_left
            )
        } else {
            format!("expires {} ({} days)", e.not_after, e.days_left)
        };
        match opts.days {
            Some(n) if e.days_left < i64::from(n) => findings.push((
                Status::Critical,
                format!(
                    "{} of {}: {what} {when}, within the {n} days of --days",
                    p.address, cx.host
                ),
            )),
            _ if e.days_left < i64::from(opts.warn_days) => findings.push((
                Status::Warning,
                format!("{} of {}: {what} {when}", p.address, cx.host),
            )),
            _ => {}
        }
    }
    let status = worst(findings.iter().map(|f| f.0));
    AddressReport {
        address: p.address,
        algorithms: p.algorithms,
        verdict,
        status,
        reasons: sorted_reasons(findings),
        matched: m.matched().cloned().collect(),
        leaf_spki_sha256: leaf.as_ref().map(|l| l.spki_sha256.clone()),
        chain_not_after: earliest.as_ref().map(|e| e.not_after.clone()),
        days_left: earliest.as_ref().map(|e| e.days_left),
        chain: certs,
        error: None,
    }
}

fn summary_line(status: Status, domains: &[DomainReport], opts: &MxOptions) -> String {
    let mut parts = Vec::new();
    for d in domains {
        let (ok, total) = authenticated_addresses(d);
        let mut s = format!(
            "{}: {} MX host{} (MX {}{}), {ok}/{total} addresses authenticated",
            d.domain,
            d.hosts.len(),
            if d.hosts.len() == 1 { "" } else { "s" },
            validation_name(d.mx.validation),
            if d.mx.implicit { ", implicit" } else { "" },
        );
        if let Some(r) = first_problem(d) {
            let _ = write!(s, "; {r}");
        }
        parts.push(s);
    }
    let mut line = if parts.is_empty() {
        format!("DANE {} - nothing to check", status.label())
    } else {
        format!("DANE {} - {}", status.label(), parts.join("; "))
    };
    line.push_str(" |");
    let days_left = domains.iter().filter_map(|d| d.days_left).min();
    if let Some(dl) = days_left {
        let _ = write!(line, " days_left={dl};{}:", opts.warn_days);
        if let Some(n) = opts.days {
            let _ = write!(line, ";{n}:");
        }
    }
    let hosts: usize = domains.iter().map(|d| d.hosts.len()).sum();
    let (ok, total) = domains
        .iter()
        .map(authenticated_addresses)
        .fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
    let _ = write!(
        line,
        " mx_hosts={hosts} addresses={total} authenticated={ok}"
    );
    line
}

/// (authenticated, all) addresses of a domain's MX hosts: an address is authenticated when
/// a probe matched and none served a chain that does not match (with `--both-algorithms`,
/// a missing certificate of one kind does not count against it).
fn authenticated_addresses(d: &DomainReport) -> (usize, usize) {
    let mut ok = 0;
    let mut total = 0;
    for h in &d.hosts {
        let mut seen: Vec<IpAddr> = Vec::new();
        for a in &h.addresses {
            if seen.contains(&a.address) {
                continue;
            }
            seen.push(a.address);
            total += 1;
            let probes: Vec<&AddressReport> = h
                .addresses
                .iter()
                .filter(|x| x.address == a.address)
                .collect();
            let matched = probes.iter().any(|x| x.verdict == AddressVerdict::Match);
            let bad = probes.iter().any(|x| {
                !matches!(
                    x.verdict,
                    AddressVerdict::Match | AddressVerdict::NoCertificate
                )
            });
            if matched && !bad {
                ok += 1;
            }
        }
    }
    (ok, total)
}

/// The first reason of the worst status in a domain: its own (the MX RRset), else the
/// first host's at that status (its DNS, then its addresses).
fn first_problem(d: &DomainReport) -> Option<String> {
    if d.status == Status::Ok {
        return None;
    }
    if d.own_status == d.status {
        return d.reasons.first().cloned();
    }
    for h in d.hosts.iter().filter(|h| h.status == d.status) {
        if h.own_status == d.status {
            return h.reasons.first().cloned();
        }
        if let Some(a) = h.addresses.iter().find(|a| a.status == d.status) {
            return a.reasons.first().cloned();
        }
    }
    None
}

/// The text report: the Nagios line, then one line per domain, MX host and address probe.
pub fn render_text(report: &MxReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", report.summary);
    for d in &report.domains {
        let mx: Vec<String> = d
            .hosts
            .iter()
            .map(|h| match h.preference {
                Some(p) => format!("{p} {}", h.host),
                None => format!("{} (implicit MX)", h.host),
            })
            .collect();
        let _ = write!(
            out,
            "{}: {}: MX {}",
            d.domain,
            d.status.label(),
            validation_name(d.mx.validation)
        );
        if !mx.is_empty() {
            let _ = write!(out, ": {}", mx.join(", "));
        }
        let _ = writeln!(out);
        for r in &d.reasons {
            let _ = writeln!(out, "  ! {r}");
        }
        for h in &d.hosts {
            let _ = write!(out, "  {}", h.host);
            match h.preference {
                Some(p) => {
                    let _ = write!(out, " (MX {p})");
                }
                None => {
                    let _ = write!(out, " (implicit MX)");
                }
            }
            let _ = write!(out, ": {}: ", h.status.label());
            let _ = write!(out, "addresses {}", validation_name(h.address_validation));
            match &h.tlsa {
                None => {
                    let _ = write!(out, ", TLSA not looked up");
                }
                Some(t) => {
                    let _ = write!(
                        out,
                        ", TLSA {} {}",
                        t.owner.trim_end_matches('.'),
                        validation_name(t.validation)
                    );
                    if t.records.is_empty() {
                        let _ = write!(out, " (no records)");
                    } else {
                        let r: Vec<String> = t.records.iter().map(short).collect();
                        let _ = write!(out, ": {}", r.join(", "));
                    }
                }
            }
            if let Some(r) = &h.rollover_scheme {
                match &r.scheme {
                    Some(s) if r.ready => {
                        let _ = write!(out, "; rollover scheme {s}");
                    }
                    _ => {
                        let _ = write!(out, "; no rollover scheme");
                    }
                }
            }
            let _ = writeln!(out);
            for r in &h.reasons {
                let _ = writeln!(out, "    ! {r}");
            }
            for a in &h.addresses {
                let _ = write!(out, "    {}", a.address);
                if a.algorithms != Algorithms::All {
                    let _ = write!(out, " ({})", a.algorithms.name());
                }
                let _ = write!(out, ": {}: {}", a.status.label(), a.verdict.text());
                if !a.matched.is_empty() {
                    let m: Vec<String> = a.matched.iter().map(short).collect();
                    let _ = write!(out, ", matched {}", m.join(", "));
                }
                if let (Some(na), Some(dl)) = (&a.chain_not_after, a.days_left) {
                    let _ = write!(out, ", chain valid until {na} ({dl} days)");
                }
                if let Some(r) = a.reasons.first() {
                    let _ = write!(out, ": {r}");
                }
                let _ = writeln!(out);
                for r in a.reasons.iter().skip(1) {
                    let _ = writeln!(out, "      ! {r}");
                }
            }
        }
    }
    out
}

/// The JSON report (a stable object for scripts).
pub fn render_json(report: &MxReport) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| {
        format!("{{\"status\":\"UNKNOWN\",\"summary\":\"cannot render the report: {e}\"}}")
    })
}

/// Prometheus text-file-collector metrics, labelled by domain, MX host and address; `now`
/// in Unix seconds. The names start with `danerollover_mx_`, apart from `check`'s, so that
/// both can feed one collector.
pub fn render_metrics(report: &MxReport, now: i64) -> String {
    let mut out = String::new();
    let mut family = |name: &str, help: &str, samples: Vec<(String, String)>| {
        metric_family(&mut out, name, help, samples)
    };
    let dl = |d: &DomainReport| format!("domain=\"{}\"", label(&d.domain));
    let hl = |d: &DomainReport, h: &HostReport| {
        format!(
            "domain=\"{}\",mx_host=\"{}\"",
            label(&d.domain),
            label(&h.host)
        )
    };
    let al = |d: &DomainReport, h: &HostReport, a: &AddressReport| {
        format!(
            "domain=\"{}\",mx_host=\"{}\",address=\"{}\",algorithms=\"{}\"",
            label(&d.domain),
            label(&h.host),
            a.address,
            a.algorithms.name()
        )
    };
    let addresses = || {
        report.domains.iter().flat_map(|d| {
            d.hosts
                .iter()
                .flat_map(move |h| h.addresses.iter().map(move |a| (d, h, a)))
        })
    };
    let hosts = || {
        report
            .domains
            .iter()
            .flat_map(|d| d.hosts.iter().map(move |h| (d, h)))
    };
    family(
        "danerollover_mx_check_status",
        "Overall status of the last check --mx: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        vec![(String::new(), report.status.code().to_string())],
    );
    family(
        "danerollover_mx_check_last_run_timestamp_seconds",
        "When the last check --mx ran (Unix seconds).",
        vec![(String::new(), now.to_string())],
    );
    family(
        "danerollover_mx_domain_status",
        "Status per mail domain: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        report
            .domains
            .iter()
            .map(|d| (dl(d), d.status.code().to_string()))
            .collect(),
    );
    family(
        "danerollover_mx_secure",
        "Whether the domain's MX RRset (or its absence) validated Secure (1) or not (0).",
        report
            .domains
            .iter()
            .map(|d| {
                (
                    dl(d),
                    u8::from(d.mx.validation == Validation::Secure).to_string(),
                )
            })
            .collect(),
    );
    family(
        "danerollover_mx_host_status",
        "Status per MX host: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        hosts()
            .map(|(d, h)| (hl(d, h), h.status.code().to_string()))
            .collect(),
    );
    family(
        "danerollover_mx_host_dane",
        "Whether DANE applies to the MX host: Secure addresses and a Secure TLSA RRset with a usable record (1) or not (0).",
        hosts()
            .map(|(d, h)| {
                let on = h.tlsa.as_ref().is_some_and(|t| t.usable);
                (hl(d, h), u8::from(on).to_string())
            })
            .collect(),
    );
    family(
        "danerollover_mx_host_rollover_ready",
        "Whether the host's TLSA RRset has a second record to roll to (only with --rollover-scheme).",
        hosts()
            .filter_map(|(d, h)| {
                h.rollover_scheme
                    .as_ref()
                    .map(|r| (hl(d, h), u8::from(r.ready).to_string()))
            })
            .collect(),
    );
    family(
        "danerollover_mx_address_status",
        "Status per probe of an MX host's address: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        addresses()
            .map(|(d, h, a)| (al(d, h, a), a.status.code().to_string()))
            .collect(),
    );
    family(
        "danerollover_mx_address_match",
        "Whether a usable TLSA record authenticates the chain the address served (1) or not (0).",
        addresses()
            .map(|(d, h, a)| {
                (
                    al(d, h, a),
                    u8::from(a.verdict == AddressVerdict::Match).to_string(),
                )
            })
            .collect(),
    );
    family(
        "danerollover_mx_address_reachable",
        "Whether the address answered (1) or not (0: refused, no route, no answer in time).",
        addresses()
            .map(|(d, h, a)| {
                (
                    al(d, h, a),
                    u8::from(a.verdict != AddressVerdict::Unreachable).to_string(),
                )
            })
            .collect(),
    );
    family(
        "danerollover_mx_chain_expiry_timestamp_seconds",
        "When the first certificate of the served chain expires (notAfter, Unix seconds).",
        addresses()
            .filter_map(|(d, h, a)| {
                a.chain_not_after_secs()
                    .map(|x| (al(d, h, a), x.to_string()))
            })
            .collect(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dane::testing::chain;
    use crate::probe::report::ProbeFailure;
    use crate::tlsa::{Matching, Selector};

    const NOW: i64 = 1_767_225_600; // 2026-01-01

    fn ee(leaf: &[u8]) -> TlsaRecord {
        let spki = X509Certificate::from_der(leaf)
            .unwrap()
            .1
            .public_key()
            .raw
            .to_vec();
        TlsaRecord::compute(Usage::DaneEe, Selector::Spki, Matching::Sha256, &spki)
    }

    fn ta(cert: &[u8]) -> TlsaRecord {
        let spki = X509Certificate::from_der(cert)
            .unwrap()
            .1
            .public_key()
            .raw
            .to_vec();
        TlsaRecord::compute(Usage::DaneTa, Selector::Spki, Matching::Sha256, &spki)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn secure_mx(hosts: &[(u16, &str)]) -> MxLookup {
        MxLookup {
            state: Validation::Secure,
            detail: None,
            nxdomain: false,
            records: hosts.iter().map(|(p, h)| (*p, h.to_string())).collect(),
        }
    }

    fn addrs(state: Validation, ips: &[&str]) -> AddressLookup {
        AddressLookup {
            state,
            detail: None,
            cnames: vec![],
            ips: ips.iter().map(|s| ip(s)).collect(),
        }
    }

    fn tlsa(host: &str, state: Validation, records: Vec<TlsaRecord>) -> Option<TlsaLookup> {
        Some(TlsaLookup {
            base: host.to_string(),
            owner: format!("_25._tcp.{host}."),
            validated: Validated {
                state,
                records,
                ttl: Some(60),
                detail: None,
            },
            tried: vec![],
        })
    }

    fn ok(address: &str, chain: Vec<Vec<u8>>) -> ProbeObserved {
        ProbeObserved {
            address: ip(address),
            algorithms: Algorithms::All,
            result: Ok(chain),
        }
    }

    fn refused(address: &str) -> ProbeObserved {
        ProbeObserved {
            address: ip(address),
            algorithms: Algorithms::All,
            result: Err(ProbeFailure {
                unreachable: true,
                message: format!("{address}:25: cannot connect: Connection refused"),
            }),
        }
    }

    fn opts() -> MxOptions {
        MxOptions {
            warn_days: 14,
            days: None,
            rollover_scheme: false,
        }
    }

    fn host(
        name: &str,
        pref: u16,
        a: AddressLookup,
        t: Option<TlsaLookup>,
        probes: Vec<ProbeObserved>,
    ) -> HostObserved {
        HostObserved {
            host: name.to_string(),
            preference: Some(pref),
            addresses: a,
            tlsa: t,
            probes,
        }
    }

    /// Two MX hosts: the first matches on its IPv4 address and nothing listens on its IPv6
    /// one (WARNING), the second serves a key its record does not pin (CRITICAL).
    #[test]
    fn two_hosts_one_wrong_one_half_unreachable() {
        let c = chain(&["mx1.example.test"], (2025, 2030));
        let other = chain(&["x"], (2025, 2030));
        let served = vec![c.leaf.clone(), c.intermediate.clone()];
        let o = MxObserved {
            domain: "example.test".into(),
            mx: secure_mx(&[(10, "mx1.example.test"), (20, "mx2.example.test")]),
            hosts: vec![
                host(
                    "mx1.example.test",
                    10,
                    addrs(Validation::Secure, &["192.0.2.1", "2001:db8::1"]),
                    tlsa("mx1.example.test", Validation::Secure, vec![ee(&c.leaf)]),
                    vec![ok("192.0.2.1", served.clone()), refused("2001:db8::1")],
                ),
                host(
                    "mx2.example.test",
                    20,
                    addrs(Validation::Secure, &["192.0.2.2"]),
                    tlsa(
                        "mx2.example.test",
                        Validation::Secure,
                        vec![ee(&other.leaf)],
                    ),
                    vec![ok("192.0.2.2", served.clone())],
                ),
            ],
        };
        let rep = build(std::slice::from_ref(&o), &opts(), NOW);
        assert_eq!(rep.status, Status::Critical);
        let d = &rep.domains[0];
        assert_eq!(d.hosts[0].status, Status::Warning);
        assert_eq!(d.hosts[0].addresses[0].verdict, AddressVerdict::Match);
        assert_eq!(d.hosts[0].addresses[1].verdict, AddressVerdict::Unreachable);
        assert_eq!(d.hosts[0].addresses[1].status, Status::Warning);
        assert!(d.hosts[0].addresses[1].reasons[0].contains("2001:db8::1"));
        assert_eq!(d.hosts[1].status, Status::Critical);
        assert_eq!(d.hosts[1].addresses[0].verdict, AddressVerdict::NoMatch);
        assert!(
            rep.summary.starts_with(
                "DANE CRITICAL - example.test: 2 MX hosts (MX Secure), 1/3 addresses authenticated; 192.0.2.2 of mx2.example.test: no TLSA record authenticates"
            ),
            "{}",
            rep.summary
        );
        // Chain: the leaf expires 2030-01-01, the CA later: 1461 days.
        assert!(
            rep.summary
                .ends_with("| days_left=1461;14: mx_hosts=2 addresses=3 authenticated=1"),
            "{}",
            rep.summary
        );
        let text = render_text(&rep);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[1],
            "example.test: CRITICAL: MX Secure: 10 mx1.example.test, 20 mx2.example.test"
        );
        assert!(lines[2].starts_with("  mx1.example.test (MX 10): WARNING: addresses Secure, TLSA _25._tcp.mx1.example.test Secure: 3 1 1 "), "{text}");
        assert!(
            lines[3].starts_with("    192.0.2.1: OK: match, matched 3 1 1 "),
            "{text}"
        );
        assert!(lines[4].starts_with("    2001:db8::1: WARNING: UNREACHABLE: 2001:db8::1 of mx1.example.test does not answer"), "{text}");
        assert!(
            lines[6].starts_with("    192.0.2.2: CRITICAL: NO MATCH"),
            "{text}"
        );

        // Without the IPv4 address working, the IPv6 failure is CRITICAL.
        let mut only_dead = o;
        only_dead.hosts[0].probes.remove(0);
        let rep = build(&[only_dead], &opts(), NOW);
        let a = &rep.domains[0].hosts[0].addresses[0];
        assert_eq!(a.status, Status::Critical);
        assert!(a.reasons[0].contains("no other address"), "{:?}", a.reasons);
    }

    #[test]
    fn mx_rrset_states() {
        let c = chain(&["mx1.example.test"], (2025, 2030));
        let good_host = host(
            "mx1.example.test",
            10,
            addrs(Validation::Secure, &["192.0.2.1"]),
            tlsa("mx1.example.test", Validation::Secure, vec![ee(&c.leaf)]),
            vec![ok("192.0.2.1", vec![c.leaf.clone()])],
        );
        let table = [
            (Validation::Secure, Status::Ok, ""),
            (Validation::Insecure, Status::Critical, "DANE cannot apply"),
            (Validation::Bogus, Status::Critical, "defer all mail"),
            (
                Validation::Indeterminate,
                Status::Unknown,
                "could not be validated",
            ),
        ];
        for (state, want, says) in table {
            let mut mx = secure_mx(&[(10, "mx1.example.test")]);
            mx.state = state;
            let hosts = if state == Validation::Bogus {
                vec![]
            } else {
                vec![good_host.clone()]
            };
            let rep = build(
                &[MxObserved {
                    domain: "example.test".into(),
                    mx,
                    hosts,
                }],
                &opts(),
                NOW,
            );
            assert_eq!(rep.status, want, "{state:?}: {}", rep.summary);
            assert_eq!(rep.exit_code, want.code());
            assert!(rep.summary.contains(says), "{state:?}: {}", rep.summary);
        }
        // Null MX: nothing to check. NXDOMAIN: CRITICAL.
        let rep = build(
            &[MxObserved {
                domain: "example.test".into(),
                mx: secure_mx(&[(0, "")]),
                hosts: vec![],
            }],
            &opts(),
            NOW,
        );
        assert_eq!(rep.status, Status::Unknown, "{}", rep.summary);
        assert!(rep.summary.contains("null MX"), "{}", rep.summary);
        let mut mx = secure_mx(&[]);
        mx.nxdomain = true;
        let rep = build(
            &[MxObserved {
                domain: "nope.example.test".into(),
                mx,
                hosts: vec![],
            }],
            &opts(),
            NOW,
        );
        assert_eq!(rep.status, Status::Critical);
        assert!(rep.summary.contains("NXDOMAIN"), "{}", rep.summary);
        // No MX and no address: the implicit MX has nothing.
        let rep = build(
            &[MxObserved {
                domain: "example.test".into(),
                mx: secure_mx(&[]),
                hosts: vec![],
            }],
            &opts(),
            NOW,
        );
        assert_eq!(rep.status, Status::Critical);
        assert!(rep.domains[0].mx.implicit);
    }

    #[test]
    fn host_level_dns_findings() {
        let c = chain(&["mx1.example.test"], (2025, 2030));
        let probe = vec![ok("192.0.2.1", vec![c.leaf.clone()])];
        let case = |a: AddressLookup, t: Option<TlsaLookup>| {
            let rep = build(
                &[MxObserved {
                    domain: "example.test".into(),
                    mx: secure_mx(&[(10, "mx1.example.test")]),
                    hosts: vec![host("mx1.example.test", 10, a, t, probe.clone())],
                }],
                &opts(),
                NOW,
            );
            rep.domains[0].hosts[0].clone()
        };
        let h = case(
            addrs(Validation::Secure, &["192.0.2.1"]),
            tlsa("mx1.example.test", Validation::Secure, vec![]),
        );
        assert_eq!(h.status, Status::Warning);
        assert!(h.reasons[0].contains("no TLSA record"), "{:?}", h.reasons);
        assert_eq!(h.addresses[0].verdict, AddressVerdict::NoDane);
        assert_eq!(h.addresses[0].status, Status::Ok);

        let h = case(addrs(Validation::Insecure, &["192.0.2.1"]), None);
        assert_eq!(h.status, Status::Warning);
        assert!(
            h.reasons[0].contains("not DNSSEC-signed"),
            "{:?}",
            h.reasons
        );

        let h = case(addrs(Validation::Bogus, &[]), None);
        assert_eq!(h.status, Status::Critical);

        let h = case(
            addrs(Validation::Secure, &["192.0.2.1"]),
            tlsa("mx1.example.test", Validation::Bogus, vec![]),
        );
        assert_eq!(h.status, Status::Critical);
        assert_eq!(h.addresses[0].verdict, AddressVerdict::Unchecked);

        let h = case(
            addrs(Validation::Secure, &["192.0.2.1"]),
            tlsa("mx1.example.test", Validation::Insecure, vec![ee(&c.leaf)]),
        );
        assert_eq!(h.status, Status::Critical, "{:?}", h.reasons);

        let pkix = TlsaRecord::compute(Usage::PkixEe, Selector::Spki, Matching::Sha256, b"x");
        let h = case(
            addrs(Validation::Secure, &["192.0.2.1"]),
            tlsa("mx1.example.test", Validation::Secure, vec![pkix]),
        );
        assert_eq!(h.status, Status::Warning);
        assert!(h.reasons[0].contains("RFC 7672 3.1.3"), "{:?}", h.reasons);

        let h = case(addrs(Validation::Secure, &[]), None);
        assert_eq!(h.status, Status::Critical);
        assert!(h.reasons[0].contains("no A or AAAA"), "{:?}", h.reasons);
    }

    #[test]
    fn days_and_warn_days_judge_the_whole_chain() {
        // The leaf runs to 2030, but the chain's CA certificates? rcgen's CA certificates
        // run to 4096: the leaf is the earliest. A leaf to 2026-03-01 is 59 days away.
        let c = chain(&["mx1.example.test"], (2025, 2030));
        let short_leaf = chain(&["mx1.example.test"], (2025, 2026));
        let run = |leaf: &[u8], o: MxOptions| {
            build(
                &[MxObserved {
                    domain: "example.test".into(),
                    mx: secure_mx(&[(10, "mx1.example.test")]),
                    hosts: vec![host(
                        "mx1.example.test",
                        10,
                        addrs(Validation::Secure, &["192.0.2.1"]),
                        tlsa("mx1.example.test", Validation::Secure, vec![ee(leaf)]),
                        vec![ok("192.0.2.1", vec![leaf.to_vec(), c.intermediate.clone()])],
                    )],
                }],
                &o,
                NOW,
            )
        };
        let mut o = opts();
        let rep = run(&c.leaf, o);
        assert_eq!(rep.status, Status::Ok);
        assert_eq!(rep.domains[0].days_left, Some(1461));
        o.days = Some(1500);
        let rep = run(&c.leaf, o);
        assert_eq!(rep.status, Status::Critical, "{}", rep.summary);
        assert!(
            rep.summary.contains("within the 1500 days of --days"),
            "{}",
            rep.summary
        );
        assert!(
            rep.summary.contains("days_left=1461;14:;1500:"),
            "{}",
            rep.summary
        );
        o.days = Some(30);
        assert_eq!(run(&c.leaf, o).status, Status::Ok);
        // Expires 2026-01-01 = NOW: 0 days left: WARNING under --warn-days, CRITICAL under --days.
        let rep = run(&short_leaf.leaf, opts());
        assert_eq!(rep.status, Status::Warning, "{}", rep.summary);
        assert_eq!(run(&short_leaf.leaf, o).status, Status::Critical);
        let chain_certs = &rep.domains[0].hosts[0].addresses[0].chain;
        assert_eq!(chain_certs.len(), 2);
        assert_eq!(chain_certs[0].days_left, 0);
        // Expired a year ago: said so; DANE-EE still matches it.
        let old = chain(&["mx1.example.test"], (2020, 2025));
        let rep = run(&old.leaf, opts());
        assert_eq!(rep.status, Status::Warning, "{}", rep.summary);
        assert!(
            rep.summary
                .contains("expired 2025-01-01T00:00:00Z (365 days ago"),
            "{}",
            rep.summary
        );
        assert_eq!(
            rep.domains[0].hosts[0].addresses[0].verdict,
            AddressVerdict::Match
        );
    }

    #[test]
    fn dane_ta_checks_the_chain_and_the_base_name() {
        let c = chain(&["mx1.example.test"], (2025, 2030));
        let served = vec![c.leaf.clone(), c.intermediate.clone()];
        let run = |host_name: &str| {
            build(
                &[MxObserved {
                    domain: "example.test".into(),
                    mx: secure_mx(&[(10, host_name)]),
                    hosts: vec![host(
                        host_name,
                        10,
                        addrs(Validation::Secure, &["192.0.2.1"]),
                        tlsa(host_name, Validation::Secure, vec![ta(&c.intermediate)]),
                        vec![ok("192.0.2.1", served.clone())],
                    )],
                }],
                &opts(),
                NOW,
            )
        };
        assert_eq!(run("mx1.example.test").status, Status::Ok);
        let rep = run("mx9.example.test");
        assert_eq!(rep.status, Status::Critical);
        assert!(rep.summary.contains("name check"), "{}", rep.summary);
    }

    #[test]
    fn both_algorithms_missing_rsa_is_a_note_and_a_wrong_rsa_key_is_critical() {
        let e = chain(&["mx1.example.test"], (2025, 2030));
        let r = chain(&["mx1.example.test"], (2025, 2030));
        let probe = |alg, result| ProbeObserved {
            address: ip("192.0.2.1"),
            algorithms: alg,
            result,
        };
        let run = |records: Vec<TlsaRecord>, rsa: ProbeResult| {
            build(
                &[MxObserved {
                    domain: "example.test".into(),
                    mx: secure_mx(&[(10, "mx1.example.test")]),
                    hosts: vec![host(
                        "mx1.example.test",
                        10,
                        addrs(Validation::Secure, &["192.0.2.1"]),
                        tlsa("mx1.example.test", Validation::Secure, records),
                        vec![
                            probe(Algorithms::Ecdsa, Ok(vec![e.leaf.clone()])),
                            probe(Algorithms::Rsa, rsa),
                        ],
                    )],
                }],
                &opts(),
                NOW,
            )
        };
        let failed = Err(ProbeFailure {
            unreachable: false,
            message: "received fatal alert: HandshakeFailure".into(),
        });
        let rep = run(vec![ee(&e.leaf)], failed);
        assert_eq!(rep.status, Status::Ok, "{}", rep.summary);
        let a = &rep.domains[0].hosts[0].addresses[1];
        assert_eq!(a.verdict, AddressVerdict::NoCertificate);
        assert!(
            a.reasons[0].starts_with("no RSA certificate"),
            "{:?}",
            a.reasons
        );
        assert!(render_text(&rep).contains("192.0.2.1 (rsa): OK: no certificate of this kind"));
        let rep = run(vec![ee(&e.leaf)], Ok(vec![r.leaf.clone()]));
        assert_eq!(rep.status, Status::Critical);
        assert!(rep.summary.contains("offering only RSA"), "{}", rep.summary);
        let rep = run(vec![ee(&e.leaf), ee(&r.leaf)], Ok(vec![r.leaf.clone()]));
        assert_eq!(rep.status, Status::Ok);
    }

    #[test]
    fn rollover_schemes() {
        let cur = chain(&["mx1.example.test"], (2025, 2030));
        let next = chain(&["mx1.example.test"], (2025, 2030));
        let leaf = [cur.leaf.as_slice()];
        let r = rollover_scheme_of(&[ee(&cur.leaf)], &leaf);
        assert!(!r.ready);
        let r = rollover_scheme_of(&[ee(&cur.leaf), ee(&next.leaf)], &leaf);
        assert_eq!(
            (r.ready, r.scheme.as_deref()),
            (true, Some("3 1 1 + 3 1 1"))
        );
        let r = rollover_scheme_of(&[ee(&cur.leaf), ta(&cur.intermediate)], &leaf);
        assert_eq!(
            (r.ready, r.scheme.as_deref()),
            (true, Some("3 1 1 + 2 1 1"))
        );
        // Two records of the same key (3 1 1 + 3 1 2): nothing to roll to.
        let sha512 = TlsaRecord::compute(
            Usage::DaneEe,
            Selector::Spki,
            Matching::Sha512,
            X509Certificate::from_der(&cur.leaf)
                .unwrap()
                .1
                .public_key()
                .raw,
        );
        assert!(!rollover_scheme_of(&[ee(&cur.leaf), sha512.clone()], &leaf).ready);
        // Without a served chain, two DANE-EE records count.
        assert!(rollover_scheme_of(&[ee(&cur.leaf), sha512], &[]).ready);

        let mut o = opts();
        o.rollover_scheme = true;
        let rep = build(
            &[MxObserved {
                domain: "example.test".into(),
                mx: secure_mx(&[(10, "mx1.example.test")]),
                hosts: vec![host(
                    "mx1.example.test",
                    10,
                    addrs(Validation::Secure, &["192.0.2.1"]),
                    tlsa("mx1.example.test", Validation::Secure, vec![ee(&cur.leaf)]),
                    vec![ok("192.0.2.1", vec![cur.leaf.clone()])],
                )],
            }],
            &o,
            NOW,
        );
        assert_eq!(rep.status, Status::Warning);
        assert!(
            rep.summary.contains("no second record to roll to"),
            "{}",
            rep.summary
        );
        let m = render_metrics(&rep, NOW);
        assert!(m.contains("danerollover_mx_host_rollover_ready{domain=\"example.test\",mx_host=\"mx1.example.test\"} 0\n"), "{m}");
    }

    #[test]
    fn json_and_metrics_carry_the_labels() {
        let c = chain(&["mx1.example.test"], (2025, 2030));
        let rep = build(
            &[MxObserved {
                domain: "example.test".into(),
                mx: secure_mx(&[(10, "mx1.example.test")]),
                hosts: vec![host(
                    "mx1.example.test",
                    10,
                    addrs(Validation::Secure, &["192.0.2.1", "2001:db8::1"]),
                    tlsa("mx1.example.test", Validation::Secure, vec![ee(&c.leaf)]),
                    vec![
                        ok("192.0.2.1", vec![c.leaf.clone()]),
                        refused("2001:db8::1"),
                    ],
                )],
            }],
            &opts(),
            NOW,
        );
        let v: serde_json::Value = serde_json::from_str(&render_json(&rep)).unwrap();
        assert_eq!(v["status"], "WARNING");
        assert_eq!(v["exit_code"], 1);
        let d = &v["domains"][0];
        assert_eq!(d["domain"], "example.test");
        assert_eq!(d["mx"]["validation"], "secure");
        let h = &d["hosts"][0];
        assert_eq!(h["preference"], 10);
        assert_eq!(h["tlsa"]["validation"], "secure");
        assert_eq!(h["tlsa"]["usable"], true);
        assert_eq!(h["addresses"][0]["verdict"], "match");
        assert_eq!(h["addresses"][0]["chain_not_after"], "2030-01-01T00:00:00Z");
        assert_eq!(h["addresses"][1]["verdict"], "unreachable");
        assert_eq!(h["addresses"][1]["status"], "WARNING");
        let m = render_metrics(&rep, NOW);
        assert!(m.contains("danerollover_mx_check_status 1\n"), "{m}");
        assert!(m.contains("danerollover_mx_address_match{domain=\"example.test\",mx_host=\"mx1.example.test\",address=\"192.0.2.1\",algorithms=\"all\"} 1\n"), "{m}");
        assert!(m.contains("danerollover_mx_address_reachable{domain=\"example.test\",mx_host=\"mx1.example.test\",address=\"2001:db8::1\",algorithms=\"all\"} 0\n"), "{m}");
        assert!(m.contains("danerollover_mx_chain_expiry_timestamp_seconds{domain=\"example.test\",mx_host=\"mx1.example.test\",address=\"192.0.2.1\",algorithms=\"all\"} 1893456000\n"), "{m}");
        assert!(m.contains("danerollover_mx_host_dane{domain=\"example.test\",mx_host=\"mx1.example.test\"} 1\n"), "{m}");
    }
}
