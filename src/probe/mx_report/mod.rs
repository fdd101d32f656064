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

use std::net::IpAddr;

use serde::Serialize;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::dane::{Peer, Profile};
use crate::dns::{Validated, Validation};
use crate::tlsa::{TlsaRecord, Usage};

use super::Algorithms;
use super::report::servers::{self, ServersReport};
use super::verdict::{
    self, ProbeResult, Served, Status, Verdict, days_until, outcome_text, rfc3339, short,
};
pub use render::{render_json, render_metrics, render_text};
pub use scheme::rollover_scheme_of;

mod render;
mod scheme;
#[cfg(test)]
mod tests;

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
    /// Every authoritative server's answer at `owner` with its signature, or why they
    /// could not be observed; None when not asked (DANE does not apply).
    pub servers: Option<Result<crate::dns::OwnerObservation, String>>,
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

/// The verdict on one probe of one address: the one model of [`crate::probe::verdict`]
/// (`Match`, `NoMatch`, `NoDane`, `Unchecked`, `TlsFailed`, `NoCertificate`, `Unreachable`).
pub type AddressVerdict = Verdict;

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
    /// The authoritative servers' view ([`crate::probe::report::servers`]); null when they
    /// were not asked (DANE does not apply).
    pub servers: Option<ServersReport>,
    /// When the validating resolver and the servers disagree: both sides, the likely cause.
    pub disagreement: Option<String>,
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

/// The worst of `statuses` (OK when there is none: no finding is nothing wrong).
fn worst(statuses: impl IntoIterator<Item = Status>) -> Status {
    verdict::worst(statuses).unwrap_or(Status::Ok)
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
    let summary = render::summary_line(status, &domains, opts);
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
    findings.sort_by_key(|f| std::cmp::Reverse(f.0.severity()));
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
            servers: None,
            disagreement: None,
        }
    });
    let tlsa = tlsa.map(|mut r| {
        if let Some(s) = h.tlsa.as_ref().and_then(|t| t.servers.as_ref()) {
            let at = jiff::Timestamp::from_second(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            let view = servers::servers_report(s, at);
            let resolver = h.tlsa.as_ref().map(|t| Ok(t.validated.clone()));
            r.disagreement = resolver.and_then(|v| servers::disagreement(&v, &view));
            findings.extend(servers::mx_findings(
                &r.owner,
                &view,
                r.disagreement.as_deref(),
            ));
            r.servers = Some(view);
        }
        r
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
        let leaves = verdict::served_leaves(h.probes.iter().map(|p| &p.result));
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
                days_left: days_until(not_after, now),
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
    let s = Served::judge(chain, cx.records, cx.peer);
    let verdict = if cx.applies {
        if s.authenticated {
            AddressVerdict::Match
        } else {
            let why: Vec<String> = s
                .outcomes
                .iter()
                .map(|r| format!("{}: {}", short(&r.record), outcome_text(r)))
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
        leaf_spki_sha256: s.leaf_spki_sha256(),
        matched: s.matched,
        chain_not_after: earliest.as_ref().map(|e| e.not_after.clone()),
        days_left: earliest.as_ref().map(|e| e.days_left),
        chain: certs,
        error: None,
    }
}
