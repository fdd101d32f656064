//! The pure part of `check`: from what was observed (the validated TLSA RRset, the
//! addresses, the chain each address served) to verdicts, the monitoring status, and the
//! three renderings (text for people and monitoring plugins, JSON for scripts, Prometheus
//! text-file metrics).
//!
//! The status is a pure function of the verdicts ([`status_of`]), each verdict mapping to
//! one status ([`Verdict::status`]); the worst wins with the order of monitoring-plugins'
//! `max_state_alt`: CRITICAL > WARNING > UNKNOWN > OK. The model of a probed address, the
//! folding and the rendering pieces are [`super::verdict`]'s, shared with `check --mx`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;

use serde::Serialize;

use crate::dane::{self, Peer, Profile, RecordResult};
use crate::dns::{Validated, Validation};
use crate::tlsa::{TlsaRecord, Usage};

use super::Protocol;
use super::verdict::{
    self, Served, days_until, label, metric_family, outcome_text, plugin_line, rfc3339, shorts,
    validation_name, write_matched,
};
pub use super::verdict::{ProbeFailure, ProbeResult, Status, Verdict, short, status_of};

pub mod servers;

#[cfg(test)]
mod tests;

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
    /// Every authoritative server's answer with its signature (the observation `status`
    /// makes), or why the servers could not be observed; None when not asked (`doctor`).
    pub servers: Option<Result<crate::dns::OwnerObservation, String>>,
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
    /// Secure from the authoritative servers themselves: each server's answer and whether
    /// it is validly signed ([`servers`]); null when the servers were not asked.
    pub servers: Option<servers::ServersReport>,
    /// When the validating resolver (`validation`, `records`) and the servers disagree:
    /// both sides and the likely cause (verdict `views_disagree`, WARNING).
    pub disagreement: Option<String>,
    #[serde(skip)]
    address_verdict: Option<Verdict>,
}

impl OwnerReport {
    /// Every verdict about this owner: the RRset's, the address lookup's, each address's.
    pub fn verdicts(&self) -> impl Iterator<Item = Verdict> + '_ {
        std::iter::once(self.verdict)
            .chain(self.servers.as_ref().map(|s| s.verdict))
            .chain(self.disagreement.as_ref().map(|_| Verdict::ViewsDisagree))
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
    let parts: Vec<String> = owners.iter().map(owner_summary).collect();
    let summary = plugin_line(status, &parts);
    Report {
        status,
        exit_code: status.code(),
        summary,
        checked_at: rfc3339(now),
        warn_days,
        owners,
    }
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

    let leaves = verdict::served_leaves(o.probes.iter().map(|(_, p)| p));
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
    let servers = o.servers.as_ref().map(|s| {
        servers::servers_report(
            s,
            jiff::Timestamp::from_second(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        )
    });
    let disagreement = servers
        .as_ref()
        .and_then(|s| servers::disagreement(&o.tlsa, s));
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
        servers,
        disagreement,
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
    let s = Served::judge(chain, records, peer);
    let days_left = s.leaf.as_ref().map(|l| days_until(l.not_after, peer.now));
    let verdict = if !lookup_ok {
        Verdict::Unchecked
    } else if !s.authenticated {
        Verdict::NoMatch
    } else if days_left.is_some_and(|d| d < i64::from(warn_days)) {
        Verdict::Expiring
    } else {
        Verdict::Match
    };
    AddressReport {
        address,
        verdict,
        error: None,
        leaf_spki_sha256: s.leaf_spki_sha256(),
        not_after: s.leaf.as_ref().map(|l| rfc3339(l.not_after)),
        days_left,
        matched: s.matched,
        outcomes: s.outcomes,
    }
}

fn owner_summary(o: &OwnerReport) -> String {
    let name = o.owner.trim_end_matches('.');
    if let Some(e) = &o.error {
        return format!("{name}: TLSA lookup failed: {e}");
    }
    let state = o.validation.map(validation_name).unwrap_or("unvalidated");
    let servers = o
        .servers
        .as_ref()
        .map(|v| format!("; {}", servers::summary(v, o.disagreement.is_some())))
        .unwrap_or_default();
    if let Some(e) = &o.address_error {
        return format!("{name}: cannot resolve: {e} (TLSA {state}{servers})");
    }
    let count = |v: Verdict| o.addresses.iter().filter(|a| a.verdict == v).count();
    let total = o.addresses.len();
    let ok = o
        .addresses
        .iter()
        .filter(|a| a.verdict.authenticated())
        .count();
    let matched: BTreeSet<&TlsaRecord> = o.addresses.iter().flat_map(|a| &a.matched).collect();
    let mut s = format!("{name}: {ok}/{total} addresses match");
    if !matched.is_empty() {
        s.push(' ');
        s.push_str(&shorts(matched));
    }
    if o.verdict == Verdict::NoRecords {
        let _ = write!(s, " ({state}, no TLSA records{servers})");
    } else {
        let _ = write!(s, " ({state}{servers})");
    }
    let unreachable = count(Verdict::Unreachable);
    if unreachable > 0 {
        let _ = write!(s, ", {unreachable} unreachable");
    }
    let failed = count(Verdict::TlsFailed);
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
        // `check --mx`'s, not given by `check`.
        Verdict::NoDane => "no DANE",
        Verdict::NoCertificate => "no certificate of this kind",
        // The servers' view, rendered by `servers::write_text`.
        Verdict::ServersSigned => "servers signed",
        Verdict::ServersUnsigned => "SERVERS NOT VALIDLY SIGNED",
        Verdict::ServersDiffer => "SERVERS DIFFER",
        Verdict::ServersNoRecords => "SERVERS SERVE NO TLSA",
        Verdict::ServersUnknown => "SERVERS UNKNOWN",
        Verdict::ViewsDisagree => "RESOLVER AND SERVERS DISAGREE",
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
                    "  validating resolver: TLSA {}: {}",
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
        if let Some(s) = &o.servers {
            servers::write_text(&mut out, s, o.disagreement.as_deref());
        }
        if let Some(e) = &o.address_error {
            let _ = writeln!(out, "  addresses: {e}");
        }
        for a in &o.addresses {
            let _ = write!(out, "  {}: {}", a.address, verdict_text(a.verdict));
            write_matched(&mut out, &a.matched);
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
            let _ = writeln!(
                out,
                "  stale records (match no served key): {}",
                shorts(&o.stale)
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
    verdict::render_json(report)
}

/// Prometheus text-file-collector metrics; `now` in Unix seconds.
pub fn render_metrics(report: &Report, now: i64) -> String {
    let mut out = String::new();
    verdict::status_families(
        &mut out,
        (
            "danerollover_check_status",
            "danerollover_check_last_run_timestamp_seconds",
        ),
        "check",
        report.status,
        now,
    );
    let mut family = |name: &str, help: &str, samples: Vec<(String, String)>| {
        metric_family(&mut out, name, help, samples)
    };
    let owner_label = |o: &OwnerReport| format!("owner=\"{}\"", label(&o.owner));
    let addr_label = |o: &OwnerReport, a: &AddressReport| {
        format!(
            "owner=\"{}\",address=\"{}\"",
            label(&o.owner),
            verdict::address_label(&a.address)
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
        "danerollover_check_servers_signed",
        "Whether every authoritative server serves the same TLSA RRset with a valid signature (1) or not (0); only when the servers were observed.",
        report
            .owners
            .iter()
            .filter_map(|o| {
                o.servers.as_ref().map(|s| {
                    let signed = s.verdict == Verdict::ServersSigned;
                    (owner_label(o), u8::from(signed).to_string())
                })
            })
            .collect(),
    );
    family(
        "danerollover_check_resolver_disagrees",
        "Whether the validating resolver and the authoritative servers disagree (1) or not (0); only when the servers were observed.",
        report
            .owners
            .iter()
            .filter(|o| o.servers.is_some())
            .map(|o| {
                let d = o.disagreement.is_some();
                (owner_label(o), u8::from(d).to_string())
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
                    let ok = a.verdict.authenticated();
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
