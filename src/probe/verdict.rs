//! One model for `check` ([`super::report`]) and `check --mx` ([`super::mx_report`]): the
//! monitoring status and its one folding, the verdict on a probed address, the probe's
//! outcome, the served chain judged against a TLSA RRset, and the pieces every rendering
//! shares (the plugin line, JSON, Prometheus families, records in short form).
//!
//! The status of a set is the worst one, in the order of monitoring-plugins'
//! `max_state_alt`: CRITICAL > WARNING > UNKNOWN > OK ([`worst`]). Which status a verdict
//! carries is each command's rule: `check` maps each verdict to one ([`Verdict::status`]),
//! `check --mx` weighs an address against the host's others (an unreachable address is a
//! WARNING while another one works).

use std::fmt::Write as _;
use std::net::IpAddr;

use serde::Serialize;

use crate::dane::{self, LeafInfo, Peer, RecordOutcome, RecordResult};
use crate::dns::Validation;
use crate::tlsa::TlsaRecord;

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

/// The one folding: the worst of `statuses` (CRITICAL > WARNING > UNKNOWN > OK); None when
/// there is none (each command says what an empty set means).
pub fn worst(statuses: impl IntoIterator<Item = Status>) -> Option<Status> {
    statuses.into_iter().max_by_key(|s| s.severity())
}

/// The verdict on one probed address (or, for `check`'s DNS variants, on one owner).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A usable record matches (authenticates) what the address served.
    Match,
    /// `check`: a record matches, but the certificate expires within the warning period.
    Expiring,
    /// TLS worked, but no usable record matches the served chain.
    NoMatch,
    /// `check --mx`: TLS worked; DANE does not apply to the host (no usable TLSA, insecure
    /// DNS).
    NoDane,
    /// The server answered, but the STARTTLS dialogue or the TLS handshake failed.
    TlsFailed,
    /// `check --mx --both-algorithms`: the handshake offering only this family failed while
    /// the other family's worked: the server has no certificate of this kind.
    NoCertificate,
    /// Nothing answered: connection refused, no route, or no answer in time.
    Unreachable,
    /// The chain was served, but there was no RRset to match it against (the TLSA lookup
    /// failed, or its state is unknown or Bogus).
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
    /// Owner, `check`'s servers' view: every authoritative server serves the same RRset
    /// with a valid signature ([`crate::probe::report::servers`]).
    ServersSigned,
    /// Owner: some server serves the records unsigned, under an expired signature or one
    /// that does not verify (a resolver asking it gets Bogus).
    ServersUnsigned,
    /// Owner: the servers answer, validly signed, but not all the same RRset.
    ServersDiffer,
    /// Owner: every server answers that there is no TLSA record.
    ServersNoRecords,
    /// Owner: what some server serves, signed, is unknown (no answer, no AA bit, keys not
    /// authenticated, or the servers were not observed).
    ServersUnknown,
    /// Owner: the validating resolver and the servers disagree (a cache holding an older
    /// answer, a resolver without the trust anchor).
    ViewsDisagree,
}

impl Verdict {
    /// The status `check` gives this verdict.
    pub fn status(self) -> Status {
        match self {
            Verdict::Match
            | Verdict::Secure
            | Verdict::NoDane
            | Verdict::NoCertificate
            | Verdict::ServersSigned => Status::Ok,
            Verdict::Expiring | Verdict::ServersDiffer | Verdict::ViewsDisagree => Status::Warning,
            Verdict::NoMatch
            | Verdict::TlsFailed
            | Verdict::NotSecure
            | Verdict::Bogus
            | Verdict::NoRecords
            | Verdict::ServersUnsigned
            | Verdict::ServersNoRecords => Status::Critical,
            Verdict::Unreachable
            | Verdict::Unchecked
            | Verdict::Indeterminate
            | Verdict::DnsFailed
            | Verdict::NoAddresses
            | Verdict::ServersUnknown => Status::Unknown,
        }
    }

    /// Whether a record authenticated what the address served.
    pub fn authenticated(self) -> bool {
        matches!(self, Verdict::Match | Verdict::Expiring)
    }
}

/// The overall status of a set of verdicts by `check`'s rule: the worst one; UNKNOWN when
/// there is none (nothing was checked).
pub fn status_of(verdicts: impl IntoIterator<Item = Verdict>) -> Status {
    worst(verdicts.into_iter().map(Verdict::status)).unwrap_or(Status::Unknown)
}

/// Why one probe failed, in the form the reports need.
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

/// What one probed address served, judged against the records that count.
#[derive(Debug, Clone)]
pub struct Served {
    /// A usable record authenticates the chain.
    pub authenticated: bool,
    /// The records that authenticate it.
    pub matched: Vec<TlsaRecord>,
    /// Every record's outcome against the chain.
    pub outcomes: Vec<RecordResult>,
    /// The leaf's key and expiry, when it parses.
    pub leaf: Option<LeafInfo>,
}

impl Served {
    /// Judge `chain` (leaf first) against `records` for `peer`.
    pub fn judge(chain: &[Vec<u8>], records: &[TlsaRecord], peer: &Peer<'_>) -> Served {
        let m = dane::match_chain(chain, records, peer);
        Served {
            authenticated: m.authenticated(),
            matched: m.matched().cloned().collect(),
            leaf: chain.first().and_then(|l| dane::leaf_info(l)),
            outcomes: m.results,
        }
    }

    /// The leaf key's SHA-256, hex.
    pub fn leaf_spki_sha256(&self) -> Option<String> {
        self.leaf.as_ref().map(|l| l.spki_sha256.clone())
    }
}

/// The leaf certificates of a set of probes (those that served a chain).
pub fn served_leaves<'a>(probes: impl IntoIterator<Item = &'a ProbeResult>) -> Vec<&'a [u8]> {
    probes
        .into_iter()
        .filter_map(|p| p.as_ref().ok().and_then(|c| c.first()).map(Vec::as_slice))
        .collect()
}

// ---------------------------------------------------------------------------- rendering --

pub(crate) fn rfc3339(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| secs.to_string())
}

/// Whole days from `now` to `then` (negative when past).
pub(crate) fn days_until(then: i64, now: i64) -> i64 {
    (then - now).div_euclid(86400)
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

/// Records in short form, comma-separated.
pub(crate) fn shorts<'a>(records: impl IntoIterator<Item = &'a TlsaRecord>) -> String {
    records
        .into_iter()
        .map(short)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `, matched 3 1 1 abcd1234…` after an address's verdict; nothing when none matched.
pub(crate) fn write_matched(out: &mut String, matched: &[TlsaRecord]) {
    if !matched.is_empty() {
        let _ = write!(out, ", matched {}", shorts(matched));
    }
}

pub(crate) fn validation_name(v: Validation) -> &'static str {
    match v {
        Validation::Secure => "Secure",
        Validation::Insecure => "Insecure",
        Validation::Bogus => "Bogus",
        Validation::Indeterminate => "Indeterminate",
    }
}

/// What one record's outcome against a chain says.
pub(crate) fn outcome_text(r: &RecordResult) -> String {
    match &r.outcome {
        RecordOutcome::Match { depth } => format!("matches (depth {depth})"),
        RecordOutcome::NoMatch => "no match".to_string(),
        RecordOutcome::ChainInvalid { depth, reason } => {
            format!("matches depth {depth}, but {reason}")
        }
        RecordOutcome::Unusable { reason } => format!("unusable: {reason}"),
    }
}

/// The monitoring plugin's first line: `DANE STATUS - part; part`, or that there was
/// nothing to check.
pub(crate) fn plugin_line(status: Status, parts: &[String]) -> String {
    if parts.is_empty() {
        format!("DANE {} - nothing to check", status.label())
    } else {
        format!("DANE {} - {}", status.label(), parts.join("; "))
    }
}

/// A report as JSON (a stable object for scripts).
pub(crate) fn render_json(report: &impl Serialize) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| {
        format!("{{\"status\":\"UNKNOWN\",\"summary\":\"cannot render the report: {e}\"}}")
    })
}

/// A Prometheus label value, escaped.
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

/// The two families every report starts with: its status (`names.0`) and when it ran
/// (`names.1`), for the command `what`. The names are spelt out where they are used, so
/// that a search (and tests/examples.rs's check of the alerting rules) finds them.
pub(crate) fn status_families(
    out: &mut String,
    names: (&str, &str),
    what: &str,
    status: Status,
    now: i64,
) {
    metric_family(
        out,
        names.0,
        &format!("Overall status of the last {what}: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."),
        vec![(String::new(), status.code().to_string())],
    );
    metric_family(
        out,
        names.1,
        &format!("When the last {what} ran (Unix seconds)."),
        vec![(String::new(), now.to_string())],
    );
}

/// An address as a label value.
pub(crate) fn address_label(a: &IpAddr) -> String {
    label(&a.to_string())
}

#[cfg(test)]
pub(crate) mod testing {
    //! Records of test chains.
    use x509_parser::prelude::{FromDer, X509Certificate};

    use crate::tlsa::{Matching, Selector, TlsaRecord, Usage};

    fn spki_record(usage: Usage, cert: &[u8]) -> TlsaRecord {
        let spki = X509Certificate::from_der(cert)
            .unwrap()
            .1
            .public_key()
            .raw
            .to_vec();
        TlsaRecord::compute(usage, Selector::Spki, Matching::Sha256, &spki)
    }

    /// `3 1 1` of a certificate's key.
    pub fn ee(leaf: &[u8]) -> TlsaRecord {
        spki_record(Usage::DaneEe, leaf)
    }

    /// `2 1 1` of a CA certificate's key.
    pub fn ta(cert: &[u8]) -> TlsaRecord {
        spki_record(Usage::DaneTa, cert)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The folding, as a table: the worst wins in `max_state_alt` order, and each command
    /// says what nothing means.
    #[test]
    fn worst_folds_in_max_state_alt_order() {
        use Status::*;
        let table: &[(&[Status], Option<Status>)] = &[
            (&[], None),
            (&[Ok], Some(Ok)),
            (&[Ok, Unknown], Some(Unknown)),
            (&[Unknown, Ok], Some(Unknown)),
            (&[Unknown, Warning], Some(Warning)),
            (&[Warning, Unknown, Ok], Some(Warning)),
            (&[Warning, Critical], Some(Critical)),
            (&[Critical, Unknown], Some(Critical)),
            (&[Ok, Ok, Ok], Some(Ok)),
            (&[Unknown, Unknown], Some(Unknown)),
        ];
        for (statuses, want) in table {
            assert_eq!(worst(statuses.iter().copied()), *want, "{statuses:?}");
        }
    }

    /// Every verdict's status under `check`'s rule, and which ones count as authenticated.
    #[test]
    fn verdict_status_table() {
        use Status::*;
        use Verdict::*;
        let table = [
            (Match, Ok, true),
            (Expiring, Warning, true),
            (NoMatch, Critical, false),
            (NoDane, Ok, false),
            (TlsFailed, Critical, false),
            (NoCertificate, Ok, false),
            (Unreachable, Unknown, false),
            (Unchecked, Unknown, false),
            (Secure, Ok, false),
            (NotSecure, Critical, false),
            (Indeterminate, Unknown, false),
            (Bogus, Critical, false),
            (NoRecords, Critical, false),
            (DnsFailed, Unknown, false),
            (NoAddresses, Unknown, false),
            (ServersSigned, Ok, false),
            (ServersUnsigned, Critical, false),
            (ServersDiffer, Warning, false),
            (ServersNoRecords, Critical, false),
            (ServersUnknown, Unknown, false),
            (ViewsDisagree, Warning, false),
        ];
        for (v, status, authenticated) in table {
            assert_eq!(v.status(), status, "{v:?}");
            assert_eq!(v.authenticated(), authenticated, "{v:?}");
        }
    }

    #[test]
    fn plugin_line_and_short_forms() {
        assert_eq!(
            plugin_line(Status::Unknown, &[]),
            "DANE UNKNOWN - nothing to check"
        );
        assert_eq!(
            plugin_line(Status::Ok, &["a".into(), "b".into()]),
            "DANE OK - a; b"
        );
        let r: TlsaRecord = format!("3 1 1 {}", "ab".repeat(32)).parse().unwrap();
        assert_eq!(short(&r), "3 1 1 abababab…");
        let mut s = String::from("x");
        write_matched(&mut s, &[]);
        assert_eq!(s, "x");
        write_matched(&mut s, &[r.clone(), r]);
        assert_eq!(s, "x, matched 3 1 1 abababab…, 3 1 1 abababab…");
        assert_eq!(days_until(86400 * 2 - 1, 0), 1);
        assert_eq!(days_until(-1, 0), -1);
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
