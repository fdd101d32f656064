//! `check --mx`'s renderings: the Nagios line with its perfdata, the text report, JSON and
//! Prometheus metrics, from the pieces [`crate::probe::verdict`] shares with `check`.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::{AddressReport, DomainReport, HostReport, MxOptions, MxReport};
use crate::dns::Validation;
use crate::probe::Algorithms;
use crate::probe::report::servers;
use crate::probe::verdict::{
    self, Status, Verdict, label, metric_family, plugin_line, shorts, validation_name,
    write_matched,
};

/// How `check --mx` names an address's verdict.
fn verdict_text(v: Verdict) -> &'static str {
    match v {
        Verdict::Match => "match",
        Verdict::NoMatch => "NO MATCH",
        Verdict::NoDane => "no DANE",
        Verdict::Unchecked => "unchecked",
        Verdict::TlsFailed => "TLS FAILED",
        Verdict::NoCertificate => "no certificate of this kind",
        Verdict::Unreachable => "UNREACHABLE",
        // Not verdicts `check --mx` gives an address.
        other => other.status().label(),
    }
}

pub(super) fn summary_line(status: Status, domains: &[DomainReport], opts: &MxOptions) -> String {
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
    let mut line = plugin_line(status, &parts);
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
            let matched = probes.iter().any(|x| x.verdict == Verdict::Match);
            let bad = probes
                .iter()
                .any(|x| !matches!(x.verdict, Verdict::Match | Verdict::NoCertificate));
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
                        let _ = write!(out, ": {}", shorts(&t.records));
                    }
                    if let Some(s) = &t.servers {
                        let _ = write!(out, "; {}", servers::summary(s, t.disagreement.is_some()));
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
                let _ = write!(out, ": {}: {}", a.status.label(), verdict_text(a.verdict));
                write_matched(&mut out, &a.matched);
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
    verdict::render_json(report)
}

/// Prometheus text-file-collector metrics, labelled by domain, MX host and address; `now`
/// in Unix seconds. The names start with `danerollover_mx_`, apart from `check`'s, so that
/// both can feed one collector.
pub fn render_metrics(report: &MxReport, now: i64) -> String {
    let mut out = String::new();
    verdict::status_families(
        &mut out,
        (
            "danerollover_mx_check_status",
            "danerollover_mx_check_last_run_timestamp_seconds",
        ),
        "check --mx",
        report.status,
        now,
    );
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
            verdict::address_label(&a.address),
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
                    u8::from(a.verdict == Verdict::Match).to_string(),
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
                    u8::from(a.verdict != Verdict::Unreachable).to_string(),
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
