//! The pure part of `check`: from what was observed (the validated TLSA RRset, the
//! addresses, the chain each address served) to verdicts, the monitoring status, and the
//! three renderings (text for people and monitoring plugins, JSON for scripts, Prometheus
//! text-file metrics).
//!
//! The status is a pure function of the verdicts ([`status_of`]), each verdict mapping to
//! one status ([`Verdict::status`]); the worst wins with the order of monitoring-plugins'
//! `max_state_alt`: CRITICAL > WARNING > UNKNOWN > OK.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;

use serde::Serialize;

use crate::dane::{self, LeafInfo, Peer, Profile, RecordResult};
use crate::dns::{Validated, Validation};
use crate::tlsa::{TlsaRecord, Usage};

use super::Protocol;

/// Exit status as monitoring plugins report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl Status {
    /// The process exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }

    /// Severity for aggregation (monitoring-plugins `max_state_alt`).
    pub(crate) fn severity(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Unknown => 1,
            Status::Warning => 2,
            Status::Critical => 3,
        }
    }
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

/// The verdict on one address (or, for the DNS variants, on one owner).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A usable record matches what the address served.
    Match,
    /// A record matches, but the certificate expires within the warning period.
    Expiring,
    /// TLS worked, but no usable record matches the served chain.
    NoMatch,
    /// The server answered, but the STARTTLS dialogue or the TLS handshake failed.
    TlsFailed,
    /// Nothing answered: connection refused, no route, or no answer in time.
    Unreachable,
    /// The chain was served, but there was no RRset to match it against (the TLSA lookup
    /// failed).
    Unchecked,
    /// Owner: the TLSA RRset validated Secure.
    Secure,
    /// Owner: the RRset is Insecure: no DANE (RFC 7672 2.2).
    NotSecure,
    /// Owner: the validation state could not be determined (the resolver failed or timed
    /// out): SMTP clients defer delivery then (RFC 7672 2.2), and the check cannot tell.
    Indeterminate,
    /// Owner: the RRset failed validation.
    Bogus,
    /// Owner: Secure, but there is no TLSA record.
    NoRecords,
    /// Owner: the TLSA lookup or the address lookup failed.
    DnsFailed,
    /// Owner: the host has no A or AAAA record.
    NoAddresses,
}

impl Verdict {
    pub fn status(self) -> Status {
        match self {
            Verdict::Match | Verdict::Secure => Status::Ok,
            Verdict::Expiring => Status::Warning,
            Verdict::NoMatch
            | Verdict::TlsFailed
            | Verdict::NotSecure
            | Verdict::Bogus
            | Verdict::NoRecords => Status::Critical,
            Verdict::Unreachable
            | Verdict::Unchecked
            | Verdict::Indeterminate
            | Verdict::DnsFailed
            | Verdict::NoAddresses => Status::Unknown,
        }
    }
}

/// The overall status of a set of verdicts: the worst one; UNKNOWN when there is none
/// (nothing was checked).
pub fn status_of(verdicts: impl IntoIterator<Item = Verdict>) -> Status {
    verdicts
        .into_iter()
        .map(Verdict::status)
        .max_by_key(|s| s.severity())
        .unwrap_or(Status::Unknown)
}

/// One service to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The TLSA owner, absolute (`_25._tcp.mail.example.com.`).
    pub owner: String,
    /// The host to resolve and to send as SNI.
    pub host: String,
    pub port: u16,
    pub protocol: Protocol,
    /// A fixed address to probe instead of the host's A and AAAA addresses (an endpoint
    /// listed as "address:port").
    pub address: Option<IpAddr>,
    /// The lineage whose configuration names this owner (None for `--target`).
    pub lineage: Option<String>,
    /// The lineage's next key's records, when known (see `next_key_hashes`).
    pub next_key: Option<Vec<TlsaRecord>>,
}

/// Why one probe failed, in the form the report needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeFailure {
    pub unreachable: bool,
    pub message: String,
}

impl From<&super::ProbeError> for ProbeFailure {
    fn from(e: &super::ProbeError) -> Self {
        ProbeFailure {
            unreachable: e.is_unreachable(),
            message: e.to_string(),
        }
    }
}

/// A served chain (DER, leaf first), or why the probe failed.
pub type ProbeResult = Result<Vec<Vec<u8>>, ProbeFailure>;

/// Everything observed for one target.
#[derive(Debug, Clone)]
pub struct Observed {
    pub target: Target,
    /// The validated RRset, or why there is none (e.g. the lookup timed out).
    pub tlsa: Result<Validated, String>,
    /// The host's addresses, or why there are none.
    pub addresses: Result<Vec<IpAddr>, String>,
    /// Per address: the served chain (leaf first) or why not.
    pub probes: Vec<(IpAddr, ProbeResult)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressReport {
    pub address: IpAddr,
    /// The records that authenticate this address's chain.
    pub matched: Vec<TlsaRecord>,
    pub verdict: Verdict,
    pub error: Option<String>,
    pub leaf_spki_sha256: Option<String>,
    /// RFC 3339.
    pub not_after: Option<String>,
    pub days_left: Option<i64>,
    /// Every record's outcome against this chain.
    pub outcomes: Vec<RecordResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerReport {
    pub owner: String,
    pub host: String,
    pub port: u16,
    pub protocol: Protocol,
    pub lineage: Option<String>,
    /// The DNSSEC state of the TLSA RRset; null when the lookup failed.
    pub validation: Option<Validation>,
    pub validation_detail: Option<String>,
    /// The owner-level verdict on the TLSA RRset.
    pub verdict: Verdict,
    /// Why the TLSA lookup failed.
    pub error: Option<String>,
    pub records: Vec<TlsaRecord>,
    /// Why there are no addresses to probe (lookup failure or no A/AAAA).
    pub address_error: Option<String>,
    pub addresses: Vec<AddressReport>,
    /// DANE-EE records that match no served leaf (not counting the next key's).
    pub stale: Vec<TlsaRecord>,
    /// Whether the lineage's next key's records are in the RRset; null when unknown.
    pub next_published: Option<bool>,
    #[serde(skip)]
    address_verdict: Option<Verdict>,
}

impl OwnerReport {
    /// Every verdict about this owner: the RRset's, the address lookup's, each address's.
    pub fn verdicts(&self) -> impl Iterator<Item = Verdict> + '_ {
        std::iter::once(self.verdict)
            .chain(self.address_verdict)
            .chain(self.addresses.iter().map(|a| a.verdict))
    }

    pub fn status(&self) -> Status {
        status_of(self.verdicts())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub status: Status,
    pub exit_code: u8,
    pub summary: String,
    /// RFC 3339.
    pub checked_at: String,
    pub warn_days: u32,
    pub owners: Vec<OwnerReport>,
}

/// Build the report from observations; `now` in Unix seconds.
pub fn build(observed: &[Observed], warn_days: u32, now: i64) -> Report {
    let owners: Vec<OwnerReport> = observed
        .iter()
        .map(|o| owner_report(o, warn_days, now))
        .collect();
    let status = status_of(owners.iter().flat_map(|o| o.verdicts()));
    let summary = if owners.is_empty() {
        format!("DANE {} - nothing to check", status.label())
    } else {
        let parts: Vec<String> = owners.iter().map(owner_summary).collect();
        format!("DANE {} - {}", status.label(), parts.join("; "))
    };
    Report {
        status,
        exit_code: status.code(),
        summary,
        checked_at: rfc3339(now),
        warn_days,
        owners,
    }
}

pub(crate) fn rfc3339(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| secs.to_string())
}

/// The profile a service's records are judged by.
fn profile_of(target: &Target) -> Profile {
    if target.protocol == Protocol::Smtp || matches!(target.port, 25 | 465 | 587) {
        Profile::Smtp
    } else {
        Profile::Other
    }
}

fn owner_report(o: &Observed, warn_days: u32, now: i64) -> OwnerReport {
    let t = &o.target;
    let (validation, validation_detail, records, verdict, error) = match &o.tlsa {
        Ok(v) => {
            let verdict = match v.state {
                Validation::Secure if v.records.is_empty() => Verdict::NoRecords,
                Validation::Secure => Verdict::Secure,
                Validation::Bogus => Verdict::Bogus,
                Validation::Insecure => Verdict::NotSecure,
                Validation::Indeterminate => Verdict::Indeterminate,
            };
            (
                Some(v.state),
                v.detail.clone(),
                v.records.clone(),
                verdict,
                None,
            )
        }
        Err(e) => (None, None, Vec::new(), Verdict::DnsFailed, Some(e.clone())),
    };
    let (address_error, address_verdict) = match &o.addresses {
        Err(e) => (Some(e.clone()), Some(Verdict::DnsFailed)),
        Ok(a) if a.is_empty() => (
            Some(format!("{} has no A or AAAA record", t.host)),
            Some(Verdict::NoAddresses),
        ),
        Ok(_) => (None, None),
    };
    let names = vec![t.host.trim_end_matches('.').to_string()];
    let peer = Peer {
        names: &names,
        now,
        profile: profile_of(t),
    };
    // Without an RRset to judge by (lookup failed, state unknown), a served chain is
    // reported but not judged.
    let lookup_ok = matches!(&o.tlsa, Ok(v) if v.state != Validation::Indeterminate);
    let addresses: Vec<AddressReport> = o
        .probes
        .iter()
        .map(|(ip, probe)| address_report(*ip, probe, &records, lookup_ok, &peer, warn_days))
        .collect();

    let leaves: Vec<&[u8]> = o
        .probes
        .iter()
        .filter_map(|(_, p)| p.as_ref().ok().and_then(|c| c.first()).map(Vec::as_slice))
        .collect();
    let next = t.next_key.as_deref().unwrap_or(&[]);
    let stale = if leaves.is_empty() {
        Vec::new()
    } else {
        records
            .iter()
            .filter(|r| r.usage == Usage::DaneEe && !next.contains(r))
            .filter(|r| !leaves.iter().any(|leaf| dane::ee_matches_leaf(r, leaf)))
            .cloned()
            .collect()
    };
    let next_published = t
        .next_key
        .as_ref()
        .map(|n| !n.is_empty() && n.iter().all(|r| records.contains(r)));
    OwnerReport {
        owner: t.owner.clone(),
        host: t.host.clone(),
        port: t.port,
        protocol: t.protocol,
        lineage: t.lineage.clone(),
        validation,
        validation_detail,
        verdict,
        error,
        records,
        address_error,
        addresses,
        stale,
        next_published,
        address_verdict,
    }
}

fn address_report(
    address: IpAddr,
    probe: &ProbeResult,
    records: &[TlsaRecord],
    lookup_ok: bool,
    peer: &Peer<'_>,
    warn_days: u32,
) -> AddressReport {
    let chain = match probe {
        Err(f) => {
            return AddressReport {
                address,
                matched: Vec::new(),
                verdict: if f.unreachable {
                    Verdict::Unreachable
                } else {
                    Verdict::TlsFailed
                },
                error: Some(f.message.clone()),
                leaf_spki_sha256: None,
                not_after: None,
                days_left: None,
                outcomes: Vec::new(),
            };
        }
        Ok(chain) => chain,
    };
    let m = dane::match_chain(chain, records, peer);
    let leaf: Option<LeafInfo> = chain.first().and_then(|l| dane::leaf_info(l));
    let days_left = leaf
        .as_ref()
        .map(|l| (l.not_after - peer.now).div_euclid(86400));
    let verdict = if !lookup_ok {
        Verdict::Unchecked
    } else if !m.authenticated() {
        Verdict::NoMatch
    } else if days_left.is_some_and(|d| d < i64::from(warn_days)) {
        Verdict::Expiring
    } else {
        Verdict::Match
    };
    AddressReport {
        address,
        matched: m.matched().cloned().collect(),
        verdict,
        error: None,
        leaf_spki_sha256: leaf.as_ref().map(|l| l.spki_sha256.clone()),
        not_after: leaf.as_ref().map(|l| rfc3339(l.not_after)),
        days_left,
        outcomes: m.results,
    }
}

/// A record in short form: `3 1 1 abcd1234…`.
pub fn short(r: &TlsaRecord) -> String {
    let hex = r.data_hex();
    let cut: String = hex.chars().take(8).collect();
    format!(
        "{} {} {} {}{}",
        r.usage as u8,
        r.selector as u8,
        r.matching as u8,
        cut,
        if hex.len() > 8 { "…" } else { "" }
    )
}

pub(crate) fn validation_name(v: Validation) -> &'static str {
    match v {
        Validation::Secure => "Secure",
        Validation::Insecure => "Insecure",
        Validation::Bogus => "Bogus",
        Validation::Indeterminate => "Indeterminate",
    }
}

fn owner_summary(o: &OwnerReport) -> String {
    let name = o.owner.trim_end_matches('.');
    if let Some(e) = &o.error {
        return format!("{name}: TLSA lookup failed: {e}");
    }
    let state = o.validation.map(validation_name).unwrap_or("unvalidated");
    if let Some(e) = &o.address_error {
        return format!("{name}: cannot resolve: {e} (TLSA {state})");
    }
    let total = o.addresses.len();
    let ok = o
        .addresses
        .iter()
        .filter(|a| matches!(a.verdict, Verdict::Match | Verdict::Expiring))
        .count();
    let matched: BTreeSet<&TlsaRecord> = o.addresses.iter().flat_map(|a| &a.matched).collect();
    let mut s = format!("{name}: {ok}/{total} addresses match");
    if !matched.is_empty() {
        s.push(' ');
        s.push_str(
            &matched
                .iter()
                .map(|r| short(r))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    if o.verdict == Verdict::NoRecords {
        let _ = write!(s, " ({state}, no TLSA records)");
    } else {
        let _ = write!(s, " ({state})");
    }
    let unreachable = o
        .addresses
        .iter()
        .filter(|a| a.verdict == Verdict::Unreachable)
        .count();
    if unreachable > 0 {
        let _ = write!(s, ", {unreachable} unreachable");
    }
    let failed = o
        .addresses
        .iter()
        .filter(|a| a.verdict == Verdict::TlsFailed)
        .count();
    if failed > 0 {
        let _ = write!(s, ", {failed} TLS failed");
    }
    if let Some(d) = o
        .addresses
        .iter()
        .filter(|a| a.verdict == Verdict::Expiring)
        .filter_map(|a| a.days_left)
        .min()
    {
        let _ = write!(s, ", certificate expires in {d} days");
    }
    s
}

fn verdict_text(v: Verdict) -> &'static str {
    match v {
        Verdict::Match => "OK",
        Verdict::Expiring => "EXPIRING",
        Verdict::NoMatch => "NO MATCH",
        Verdict::TlsFailed => "TLS FAILED",
        Verdict::Unreachable => "UNREACHABLE",
        Verdict::Unchecked => "UNCHECKED",
        Verdict::Secure => "secure",
        Verdict::NotSecure => "NOT SECURE (no DANE)",
        Verdict::Indeterminate => "INDETERMINATE",
        Verdict::Bogus => "BOGUS",
        Verdict::NoRecords => "NO TLSA RECORDS",
        Verdict::DnsFailed => "DNS FAILED",
        Verdict::NoAddresses => "NO ADDRESSES",
    }
}

fn outcome_text(r: &RecordResult) -> String {
    match &r.outcome {
        dane::RecordOutcome::Match { depth } => format!("matches (depth {depth})"),
        dane::RecordOutcome::NoMatch => "no match".to_string(),
        dane::RecordOutcome::ChainInvalid { depth, reason } => {
            format!("matches depth {depth}, but {reason}")
        }
        dane::RecordOutcome::Unusable { reason } => format!("unusable: {reason}"),
    }
}

/// The text report: the summary line, then details per owner and address.
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", report.summary);
    for o in &report.owners {
        let _ = write!(
            out,
            "{} ({} port {}, {}",
            o.owner,
            o.host,
            o.port,
            o.protocol.name()
        );
        if let Some(l) = &o.lineage {
            let _ = write!(out, ", lineage {l}");
        }
        let _ = writeln!(out, "): {}", o.status().label());
        match (&o.error, o.validation) {
            (Some(e), _) => {
                let _ = writeln!(out, "  TLSA: lookup failed: {e}");
            }
            (None, Some(v)) => {
                let _ = write!(
                    out,
                    "  TLSA {}: {}",
                    validation_name(v),
                    verdict_text(o.verdict)
                );
                if let Some(d) = &o.validation_detail {
                    let _ = write!(out, " ({d})");
                }
                let _ = writeln!(out);
                for r in &o.records {
                    let _ = writeln!(out, "    {r}");
                }
            }
            (None, None) => {}
        }
        if let Some(e) = &o.address_error {
            let _ = writeln!(out, "  addresses: {e}");
        }
        for a in &o.addresses {
            let _ = write!(out, "  {}: {}", a.address, verdict_text(a.verdict));
            if !a.matched.is_empty() {
                let m: Vec<String> = a.matched.iter().map(short).collect();
                let _ = write!(out, ", matched {}", m.join(", "));
            }
            if let Some(e) = &a.error {
                let _ = write!(out, ": {e}");
            }
            let _ = writeln!(out);
            if let Some(k) = &a.leaf_spki_sha256 {
                let _ = write!(out, "    leaf key sha256 {k}");
                if let (Some(na), Some(d)) = (&a.not_after, a.days_left) {
                    let _ = write!(out, ", expires {na} ({d} days)");
                }
                let _ = writeln!(out);
            }
            // Matching records are listed above; show why the others do not count, except
            // plain non-matches next to a match (e.g. the next key's record).
            let authenticated = !a.matched.is_empty();
            for r in &a.outcomes {
                let show = match r.outcome {
                    dane::RecordOutcome::Match { .. } => false,
                    dane::RecordOutcome::NoMatch => !authenticated,
                    _ => true,
                };
                if show {
                    let _ = writeln!(out, "    {}: {}", short(&r.record), outcome_text(r));
                }
            }
        }
        if o.stale.is_empty() {
            let _ = writeln!(out, "  stale records: none");
        } else {
            let s: Vec<String> = o.stale.iter().map(short).collect();
            let _ = writeln!(
                out,
                "  stale records (match no served key): {}",
                s.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "  next key: {}",
            match o.next_published {
                None => "unknown",
                Some(true) => "published",
                Some(false) => "NOT published",
            }
        );
    }
    out
}

/// The JSON report (a stable object for scripts).
pub fn render_json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| {
        format!("{{\"status\":\"UNKNOWN\",\"summary\":\"cannot render the report: {e}\"}}")
    })
}

pub(crate) fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One gauge family in the Prometheus text format: HELP, TYPE, then each sample (labels
/// already rendered, e.g. `owner="x"`; empty for none).
pub(crate) fn metric_family(
    out: &mut String,
    name: &str,
    help: &str,
    samples: Vec<(String, String)>,
) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

/// Prometheus text-file-collector metrics; `now` in Unix seconds.
pub fn render_metrics(report: &Report, now: i64) -> String {
    let mut out = String::new();
    let mut family = |name: &str, help: &str, samples: Vec<(String, String)>| {
        metric_family(&mut out, name, help, samples)
    };
    family(
        "danerollover_check_status",
        "Overall status of the last check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        vec![(String::new(), report.status.code().to_string())],
    );
    family(
        "danerollover_check_last_run_timestamp_seconds",
        "When the last check ran (Unix seconds).",
        vec![(String::new(), now.to_string())],
    );
    let owner_label = |o: &OwnerReport| format!("owner=\"{}\"", label(&o.owner));
    let addr_label = |o: &OwnerReport, a: &AddressReport| {
        format!(
            "owner=\"{}\",address=\"{}\"",
            label(&o.owner),
            label(&a.address.to_string())
        )
    };
    family(
        "danerollover_check_owner_status",
        "Status per TLSA owner: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        report
            .owners
            .iter()
            .map(|o| (owner_label(o), o.status().code().to_string()))
            .collect(),
    );
    family(
        "danerollover_check_secure",
        "Whether the TLSA RRset validated Secure (1) or not (0).",
        report
            .owners
            .iter()
            .map(|o| {
                let secure = o.validation == Some(Validation::Secure);
                (owner_label(o), u8::from(secure).to_string())
            })
            .collect(),
    );
    family(
        "danerollover_check_match",
        "Whether the address served a chain that a usable TLSA record authenticates (1) or not (0).",
        report
            .owners
            .iter()
            .flat_map(|o| {
                o.addresses.iter().map(move |a| {
                    let ok = matches!(a.verdict, Verdict::Match | Verdict::Expiring);
                    (addr_label(o, a), u8::from(ok).to_string())
                })
            })
            .collect(),
    );
    family(
        "danerollover_cert_days_left",
        "Days until the served leaf certificate expires.",
        report
            .owners
            .iter()
            .flat_map(|o| {
                o.addresses
                    .iter()
                    .filter_map(move |a| a.days_left.map(|d| (addr_label(o, a), d.to_string())))
            })
            .collect(),
    );
    family(
        "danerollover_check_stale_records",
        "DANE-EE records that match no served key (not counting the next key's).",
        report
            .owners
            .iter()
            .map(|o| (owner_label(o), o.stale.len().to_string()))
            .collect(),
    );
    family(
        "danerollover_check_next_published",
        "Whether the next key's records are published (only when the next key is known).",
        report
            .owners
            .iter()
            .filter_map(|o| {
                o.next_published
                    .map(|p| (owner_label(o), u8::from(p).to_string()))
            })
            .collect(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dane::testing::chain;
    use crate::tlsa::{Matching, Selector};
    use x509_parser::prelude::{FromDer, X509Certificate};

    const NOW: i64 = 1_767_225_600; // 2026-01-01

    #[test]
    fn status_table() {
        use Status::*;
        use Verdict::*;
        let table: &[(&[Verdict], Status)] = &[
            (&[], Unknown),
            (&[Secure, Match], Ok),
            (&[Secure, Match, Match], Ok),
            (&[Secure, Match, Expiring], Warning),
            (&[Secure, Match, NoMatch], Critical),
            (&[Secure, Match, TlsFailed], Critical),
            (&[Secure, Match, Unreachable], Unknown),
            (&[Secure, Unreachable, Unreachable], Unknown),
            (&[Secure, Expiring, Unreachable], Warning),
            (&[Secure, NoMatch, Unreachable], Critical),
            (&[NotSecure, Match], Critical),
            (&[Indeterminate, Match], Unknown),
            (&[Indeterminate, NoMatch], Critical),
            (&[Bogus, Match], Critical),
            (&[Bogus, Unreachable], Critical),
            (&[NoRecords, NoMatch], Critical),
            (&[DnsFailed, Unchecked], Unknown),
            (&[Secure, NoAddresses], Unknown),
            (&[Secure, DnsFailed], Unknown),
            (&[Secure, Match, Secure, NoMatch], Critical),
            (&[Secure, Expiring, Secure, NoAddresses], Warning),
        ];
        for (verdicts, want) in table {
            assert_eq!(status_of(verdicts.iter().copied()), *want, "{verdicts:?}");
        }
        assert_eq!(
            [Ok, Warning, Critical, Unknown].map(Status::code),
            [0, 1, 2, 3]
        );
    }

    fn target(next: Option<Vec<TlsaRecord>>) -> Target {
        Target {
            owner: "_25._tcp.mail.example.test.".into(),
            host: "mail.example.test".into(),
            port: 25,
            protocol: Protocol::Smtp,
            address: None,
            lineage: Some("mail.example.test".into()),
            next_key: next,
        }
    }

    fn ee(leaf: &[u8]) -> TlsaRecord {
        let spki = X509Certificate::from_der(leaf)
            .unwrap()
            .1
            .public_key()
            .raw
            .to_vec();
        TlsaRecord::compute(Usage::DaneEe, Selector::Spki, Matching::Sha256, &spki)
    }

    fn secure(records: Vec<TlsaRecord>) -> Result<Validated, String> {
        Ok(Validated {
            state: Validation::Secure,
            records,
            ttl: Some(60),
            detail: None,
        })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn two_addresses_match_gives_ok_with_summary() {
        let c = chain(&["mail.example.test"], (2025, 2030));
        let r = ee(&c.leaf);
        let served = vec![c.leaf.clone(), c.intermediate.clone()];
        let obs = Observed {
            target: target(None),
            tlsa: secure(vec![r.clone()]),
            addresses: Ok(vec![ip("192.0.2.1"), ip("2001:db8::1")]),
            probes: vec![
                (ip("192.0.2.1"), Ok(served.clone())),
                (ip("2001:db8::1"), Ok(served)),
            ],
        };
        let rep = build(&[obs], 14, NOW);
        assert_eq!(rep.status, Status::Ok);
        assert_eq!(
            rep.summary,
            format!(
                "DANE OK - _25._tcp.mail.example.test: 2/2 addresses match {} (Secure)",
                short(&r)
            )
        );
        let a = &rep.owners[0].addresses[0];
        assert_eq!(a.matched, vec![r.clone()]);
        assert_eq!(a.leaf_spki_sha256.as_deref(), Some(r.data_hex().as_str()));
        assert_eq!(a.days_left, Some(1461));
        assert_eq!(a.not_after.as_deref(), Some("2030-01-01T00:00:00Z"));
        assert!(rep.owners[0].stale.is_empty());
        assert_eq!(rep.owners[0].next_published, None);
        let text = render_text(&rep);
        assert!(text.starts_with("DANE OK - "), "{text}");
        assert!(text.contains("next key: unknown"), "{text}");
    }

    #[test]
    fn expiring_warns_and_wrong_key_is_critical() {
        let c = chain(&["mail.example.test"], (2025, 2026));
        let served = vec![c.leaf.clone()];
        let obs = |records| Observed {
            target: target(None),
            tlsa: secure(records),
            addresses: Ok(vec![ip("192.0.2.1")]),
            probes: vec![(ip("192.0.2.1"), Ok(served.clone()))],
        };
        // Expires 2026-01-01 = NOW: 0 days left.
        let rep = build(&[obs(vec![ee(&c.leaf)])], 14, NOW);
        assert_eq!(rep.status, Status::Warning, "{}", rep.summary);
        assert!(rep.summary.contains("expires in 0 days"), "{}", rep.summary);
        let rep = build(&[obs(vec![ee(&c.leaf)])], 0, NOW);
        assert_eq!(rep.status, Status::Ok, "{}", rep.summary);

        let other = chain(&["mail.example.test"], (2025, 2030));
        let rep = build(&[obs(vec![ee(&other.leaf)])], 14, NOW);
        assert_eq!(rep.status, Status::Critical);
        assert!(
            rep.summary.contains("0/1 addresses match (Secure)"),
            "{}",
            rep.summary
        );
        // The wrong record matches no served key: stale.
        assert_eq!(rep.owners[0].stale, vec![ee(&other.leaf)]);
    }

    #[test]
    fn not_secure_and_bogus_are_critical_even_when_the_key_matches() {
        let c = chain(&["mail.example.test"], (2025, 2030));
        for (state, want) in [
            (Validation::Insecure, Status::Critical),
            (Validation::Bogus, Status::Critical),
            (Validation::Indeterminate, Status::Unknown),
        ] {
            let obs = Observed {
                target: target(None),
                tlsa: Ok(Validated {
                    state,
                    records: vec![ee(&c.leaf)],
                    ttl: None,
                    detail: Some("why".into()),
                }),
                addresses: Ok(vec![ip("192.0.2.1")]),
                probes: vec![(ip("192.0.2.1"), Ok(vec![c.leaf.clone()]))],
            };
            let rep = build(&[obs], 14, NOW);
            assert_eq!(rep.status, want, "{state:?}");
            assert!(
                rep.summary.contains(validation_name(state)),
                "{}",
                rep.summary
            );
        }
    }

    #[test]
    fn unreachable_and_dns_failures_are_unknown() {
        let c = chain(&["mail.example.test"], (2025, 2030));
        let obs = Observed {
            target: target(None),
            tlsa: secure(vec![ee(&c.leaf)]),
            addresses: Ok(vec![ip("192.0.2.1")]),
            probes: vec![(
                ip("192.0.2.1"),
                Err(ProbeFailure {
                    unreachable: true,
                    message: "192.0.2.1:25: cannot connect: refused".into(),
                }),
            )],
        };
        let rep = build(std::slice::from_ref(&obs), 14, NOW);
        assert_eq!(rep.status, Status::Unknown);
        assert!(
            rep.summary
                .contains("0/1 addresses match (Secure), 1 unreachable")
        );
        let mut tls_failed = obs.clone();
        tls_failed.probes[0].1 = Err(ProbeFailure {
            unreachable: false,
            message: "no STARTTLS".into(),
        });
        assert_eq!(build(&[tls_failed], 14, NOW).status, Status::Critical);
        let mut no_tlsa = obs.clone();
        no_tlsa.tlsa = Err("timeout".into());
        no_tlsa.probes[0].1 = Ok(vec![c.leaf.clone()]);
        let rep = build(&[no_tlsa], 14, NOW);
        assert_eq!(rep.status, Status::Unknown);
        assert_eq!(rep.owners[0].addresses[0].verdict, Verdict::Unchecked);
        let mut no_addr = obs;
        no_addr.addresses = Ok(vec![]);
        no_addr.probes.clear();
        let rep = build(&[no_addr], 14, NOW);
        assert_eq!(rep.status, Status::Unknown);
        assert!(rep.summary.contains("no A or AAAA"), "{}", rep.summary);
    }

    #[test]
    fn secure_without_records_is_critical() {
        let c = chain(&["mail.example.test"], (2025, 2030));
        let obs = Observed {
            target: target(None),
            tlsa: secure(vec![]),
            addresses: Ok(vec![ip("192.0.2.1")]),
            probes: vec![(ip("192.0.2.1"), Ok(vec![c.leaf.clone()]))],
        };
        let rep = build(&[obs], 14, NOW);
        assert_eq!(rep.status, Status::Critical);
        assert!(rep.summary.contains("no TLSA records"), "{}", rep.summary);
    }

    #[test]
    fn next_key_is_not_stale_and_its_publication_is_reported() {
        let c = chain(&["mail.example.test"], (2025, 2030));
        let next = chain(&["mail.example.test"], (2025, 2030));
        let old = chain(&["mail.example.test"], (2025, 2030));
        let records = vec![ee(&c.leaf), ee(&next.leaf), ee(&old.leaf)];
        let obs = |next_key| Observed {
            target: target(next_key),
            tlsa: secure(records.clone()),
            addresses: Ok(vec![ip("192.0.2.1")]),
            probes: vec![(ip("192.0.2.1"), Ok(vec![c.leaf.clone()]))],
        };
        let rep = build(&[obs(Some(vec![ee(&next.leaf)]))], 14, NOW);
        assert_eq!(rep.owners[0].stale, vec![ee(&old.leaf)]);
        assert_eq!(rep.owners[0].next_published, Some(true));
        let unpublished = chain(&["mail.example.test"], (2025, 2030));
        let rep = build(&[obs(Some(vec![ee(&unpublished.leaf)]))], 14, NOW);
        assert_eq!(rep.owners[0].next_published, Some(false));
        assert_eq!(rep.owners[0].stale.len(), 2);
    }

    #[test]
    fn json_has_the_stable_fields() {
        let c = chain(&["mail.example.test"], (2025, 2030));
        let obs = Observed {
            target: target(None),
            tlsa: secure(vec![ee(&c.leaf)]),
            addresses: Ok(vec![ip("192.0.2.1")]),
            probes: vec![(ip("192.0.2.1"), Ok(vec![c.leaf.clone()]))],
        };
        let rep = build(&[obs], 14, NOW);
        let v: serde_json::Value = serde_json::from_str(&render_json(&rep)).unwrap();
        assert_eq!(v["status"], "OK");
        assert_eq!(v["exit_code"], 0);
        assert!(v["summary"].as_str().unwrap().starts_with("DANE OK"));
        let o = &v["owners"][0];
        for k in [
            "owner",
            "host",
            "port",
            "protocol",
            "validation",
            "records",
            "addresses",
            "stale",
            "next_published",
        ] {
            assert!(o.get(k).is_some(), "owner lacks {k}: {o}");
        }
        assert_eq!(o["protocol"], "smtp");
        assert_eq!(o["validation"], "secure");
        let a = &o["addresses"][0];
        for k in [
            "address",
            "matched",
            "verdict",
            "error",
            "leaf_spki_sha256",
            "not_after",
            "days_left",
        ] {
            assert!(a.get(k).is_some(), "address lacks {k}: {a}");
        }
        assert_eq!(a["address"], "192.0.2.1");
        assert_eq!(a["verdict"], "match");
        assert_eq!(a["matched"][0], ee(&c.leaf).to_string());
    }

    #[test]
    fn metrics_lines() {
        let c = chain(&["mail.example.test"], (2025, 2030));
        let obs = Observed {
            target: target(None),
            tlsa: secure(vec![ee(&c.leaf)]),
            addresses: Ok(vec![ip("192.0.2.1"), ip("192.0.2.2")]),
            probes: vec![
                (ip("192.0.2.1"), Ok(vec![c.leaf.clone()])),
                (
                    ip("192.0.2.2"),
                    Err(ProbeFailure {
                        unreachable: true,
                        message: "x".into(),
                    }),
                ),
            ],
        };
        let rep = build(&[obs], 14, NOW);
        let m = render_metrics(&rep, NOW);
        assert!(m.contains("danerollover_check_status 3\n"), "{m}");
        assert!(m.contains(&format!(
            "danerollover_check_last_run_timestamp_seconds {NOW}\n"
        )));
        assert!(m.contains(
            "danerollover_check_match{owner=\"_25._tcp.mail.example.test.\",address=\"192.0.2.1\"} 1\n"
        ));
        assert!(m.contains(
            "danerollover_check_match{owner=\"_25._tcp.mail.example.test.\",address=\"192.0.2.2\"} 0\n"
        ));
        assert!(m.contains(
            "danerollover_cert_days_left{owner=\"_25._tcp.mail.example.test.\",address=\"192.0.2.1\"} 1461\n"
        ));
        assert!(!m.contains("address=\"192.0.2.2\"} 1461"));
        assert!(m.contains("danerollover_check_secure{owner=\"_25._tcp.mail.example.test.\"} 1\n"));
        assert!(!m.contains("danerollover_check_next_published{"));
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
