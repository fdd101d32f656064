//! `check`'s second view of a TLSA owner: Secure from the authoritative servers themselves
//! (every server's answer and its signature, the observation `status` makes:
//! [`crate::dns::OwnerObservation`] with [`crate::dns::Signature`]), and the cross-check of
//! that view against the validating resolver's (what senders see). Pure: the observation,
//! the resolver's read and `now` in, verdicts and sentences out.
//!
//! The servers' verdict on an owner, worst first:
//! - [`Verdict::ServersUnsigned`] (CRITICAL): some server serves the records unsigned, under
//!   an expired signature or one that does not verify: a resolver that asks it gets Bogus
//!   and DANE senders defer mail.
//! - [`Verdict::ServersUnknown`] (UNKNOWN): some server gave no usable answer (no answer,
//!   an error code, no AA bit), or its signature cannot be checked (the zone's keys cannot
//!   be authenticated), or no server was found: what it serves is unknown.
//! - [`Verdict::ServersNoRecords`] (CRITICAL): every server answers that there is no TLSA
//!   record.
//! - [`Verdict::ServersDiffer`] (WARNING): every server answers, validly signed, but not
//!   all the same RRset (a change still reaching a secondary, or one stuck).
//! - [`Verdict::ServersSigned`] (OK): every server serves the same RRset, validly signed.
//!
//! The cross-check ([`Verdict::ViewsDisagree`], WARNING) is made only where both views are
//! known: the servers serve one RRset signed and the resolver is not Secure or answers
//! other records; every server answers none and the resolver still has records; or the
//! resolver is Secure while some server's answer does not validate.

use std::fmt::Write as _;

use jiff::Timestamp;
use serde::Serialize;

use crate::dns::{OwnerObservation, ServerOutcome, Signature, Validated, Validation};
use crate::tlsa::TlsaRecord;

use super::super::verdict::{Status, Verdict, shorts};

/// What one authoritative server's answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerState {
    /// Records, with signatures valid now.
    Signed,
    /// Records without an RRSIG, in a signed zone.
    Unsigned,
    /// Records under an RRSIG whose validity has ended (or not begun).
    Expired,
    /// Records under an RRSIG that does not verify with the zone's keys.
    Bogus,
    /// Records whose signature cannot be checked (the zone's keys are not authenticated).
    SignatureUnknown,
    /// An authoritative answer without TLSA records (NODATA or NXDOMAIN).
    NoRecords,
    /// An answer without the AA bit (a lame server).
    NotAuthoritative,
    /// No answer, or an error code (timeout, refused, SERVFAIL, ...).
    NoAnswer,
    /// A CNAME leaving the server's zone: the target's servers answer (listed after it).
    Alias,
}

impl ServerState {
    /// Whether a resolver asking this server gets data that does not validate.
    fn invalid(self) -> bool {
        matches!(
            self,
            ServerState::Unsigned | ServerState::Expired | ServerState::Bogus
        )
    }

    /// Whether what this server serves, signed, cannot be told.
    fn unknown(self) -> bool {
        matches!(
            self,
            ServerState::SignatureUnknown | ServerState::NotAuthoritative | ServerState::NoAnswer
        )
    }

    fn text(self) -> &'static str {
        match self {
            ServerState::Signed => "signed",
            ServerState::Unsigned => "UNSIGNED",
            ServerState::Expired => "SIGNATURE EXPIRED",
            ServerState::Bogus => "BOGUS SIGNATURE",
            ServerState::SignatureUnknown => "signature unknown",
            ServerState::NoRecords => "no TLSA records",
            ServerState::NotAuthoritative => "NOT AUTHORITATIVE",
            ServerState::NoAnswer => "NO ANSWER",
            ServerState::Alias => "CNAME",
        }
    }
}

/// One server's answer in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerView {
    /// Host name and address, as `status` names it.
    pub server: String,
    pub state: ServerState,
    pub records: Vec<TlsaRecord>,
    /// RFC 3339: when the earliest of its valid signatures expires.
    pub signed_until: Option<String>,
    /// Why (the error, the signature's fault), or the CNAME target.
    pub detail: Option<String>,
}

/// The servers' view of one owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServersReport {
    /// One of the `servers_*` verdicts.
    pub verdict: Verdict,
    /// The servers at fault, each named with why; null when the verdict is
    /// `servers_signed`.
    pub detail: Option<String>,
    /// The RRset every server serves, when they agree.
    pub records: Vec<TlsaRecord>,
    pub answers: Vec<ServerView>,
}

/// Classify one server's answer at `now`.
fn server_view(s: &crate::dns::ServerAnswer, now: Timestamp) -> ServerView {
    let server = s.label();
    let a = match &s.outcome {
        ServerOutcome::Error { error } => {
            return ServerView {
                server,
                state: ServerState::NoAnswer,
                records: Vec::new(),
                signed_until: None,
                detail: Some(error.clone()),
            };
        }
        ServerOutcome::Answer(a) => a,
    };
    let (state, signed_until, detail) = if a.leaves_zone() {
        (ServerState::Alias, None, a.cname.clone())
    } else if !a.authoritative {
        (
            ServerState::NotAuthoritative,
            None,
            Some("its answer lacks the AA bit (is it authoritative for the zone?)".to_string()),
        )
    } else if a.records.is_empty() {
        (ServerState::NoRecords, None, None)
    } else {
        match &a.signature {
            Signature::Valid { expires } if *expires > now => {
                (ServerState::Signed, Some(expires.to_string()), None)
            }
            Signature::Valid { expires } => (
                ServerState::Expired,
                None,
                Some(format!("its RRSIG expired at {expires}")),
            ),
            // The reasons are `dns::authenticated::check`'s.
            Signature::Invalid { reason } if reason.contains("carries no RRSIG") => {
                (ServerState::Unsigned, None, Some(reason.clone()))
            }
            Signature::Invalid { reason }
                if reason.contains(" expired at ") || reason.contains("is not valid before") =>
            {
                (ServerState::Expired, None, Some(reason.clone()))
            }
            Signature::Invalid { reason } => (ServerState::Bogus, None, Some(reason.clone())),
            Signature::Unknown { reason } => {
                (ServerState::SignatureUnknown, None, Some(reason.clone()))
            }
        }
    };
    ServerView {
        server,
        state,
        records: a.records.clone(),
        signed_until,
        detail,
    }
}

/// The servers' view of an owner from its observation at `now`; `Err` (the observation
/// failed as a whole: timed out, no observer) is UNKNOWN naming why.
pub fn servers_report(obs: &Result<OwnerObservation, String>, now: Timestamp) -> ServersReport {
    let obs = match obs {
        Ok(o) => o,
        Err(e) => {
            return ServersReport {
                verdict: Verdict::ServersUnknown,
                detail: Some(format!("the authoritative servers were not observed: {e}")),
                records: Vec::new(),
                answers: Vec::new(),
            };
        }
    };
    let answers: Vec<ServerView> = obs.servers.iter().map(|s| server_view(s, now)).collect();
    let holding: Vec<&ServerView> = answers
        .iter()
        .filter(|a| a.state != ServerState::Alias)
        .collect();
    let named = |keep: &dyn Fn(ServerState) -> bool| -> Vec<String> {
        holding
            .iter()
            .filter(|a| keep(a.state))
            .map(|a| match &a.detail {
                Some(d) => format!("{} ({}: {d})", a.server, a.state.text()),
                None => format!("{} ({})", a.server, a.state.text()),
            })
            .collect()
    };
    let invalid = named(&ServerState::invalid);
    let unknown = named(&ServerState::unknown);
    let mut sets: Vec<Vec<TlsaRecord>> = holding
        .iter()
        .map(|a| {
            let mut r = a.records.clone();
            r.sort();
            r
        })
        .collect();
    sets.sort();
    sets.dedup();
    let (verdict, detail) = if !invalid.is_empty() {
        let mut d = format!(
            "served without a valid signature (resolvers asking get Bogus) by {}",
            invalid.join(", ")
        );
        if !unknown.is_empty() {
            let _ = write!(d, "; unknown at {}", unknown.join(", "));
        }
        (Verdict::ServersUnsigned, Some(d))
    } else if !unknown.is_empty() {
        (
            Verdict::ServersUnknown,
            Some(format!(
                "what these servers serve, signed, is unknown: {}",
                unknown.join(", ")
            )),
        )
    } else if holding.is_empty() {
        let why = if obs.servers.is_empty() {
            "no authoritative server found"
        } else {
            "no server of the CNAME target answered"
        };
        (Verdict::ServersUnknown, Some(why.to_string()))
    } else if sets.len() > 1 {
        let each: Vec<String> = holding
            .iter()
            .map(|a| {
                let what = if a.records.is_empty() {
                    "no TLSA records".to_string()
                } else {
                    shorts(&a.records)
                };
                format!("{}: {what}", a.server)
            })
            .collect();
        (
            Verdict::ServersDiffer,
            Some(format!(
                "the servers serve different RRsets (a change still reaching a secondary, or one stuck): {}",
                each.join("; ")
            )),
        )
    } else if holding.iter().all(|a| a.state == ServerState::NoRecords) {
        (
            Verdict::ServersNoRecords,
            Some("every authoritative server answers that there is no TLSA record".to_string()),
        )
    } else {
        (Verdict::ServersSigned, None)
    };
    let records = if sets.len() == 1 {
        sets.remove(0)
    } else {
        Vec::new()
    };
    ServersReport {
        verdict,
        detail,
        records,
        answers,
    }
}

fn same(a: &[TlsaRecord], b: &[TlsaRecord]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort();
    b.sort();
    a == b
}

/// The cross-check of the two views: a sentence naming both sides and the likely cause
/// when they disagree (verdict [`Verdict::ViewsDisagree`]); None when they agree, or when
/// either side is unknown.
pub fn disagreement(
    resolver: &Result<Validated, String>,
    servers: &ServersReport,
) -> Option<String> {
    let Ok(v) = resolver else {
        return None;
    };
    let ttl = v
        .ttl
        .map(|t| format!(" (its answer's TTL: {t} s)"))
        .unwrap_or_default();
    match servers.verdict {
        Verdict::ServersSigned => {
            let served = format!(
                "every authoritative server serves {} with a valid signature",
                shorts(&servers.records)
            );
            match v.state {
                Validation::Secure if same(&v.records, &servers.records) => None,
                Validation::Secure if v.records.is_empty() => Some(format!(
                    "{served}, but the validating resolver answers Secure that there is no TLSA record: it likely holds an older negative answer in its cache, until it expires{ttl}"
                )),
                Validation::Secure => {
                    let lacks: Vec<&TlsaRecord> = servers
                        .records
                        .iter()
                        .filter(|r| !v.records.contains(r))
                        .collect();
                    let extra: Vec<&TlsaRecord> = v
                        .records
                        .iter()
                        .filter(|r| !servers.records.contains(r))
                        .collect();
                    let mut diff = Vec::new();
                    if !lacks.is_empty() {
                        diff.push(format!("lacks {}", shorts(lacks)));
                    }
                    if !extra.is_empty() {
                        diff.push(format!("still has {}", shorts(extra)));
                    }
                    Some(format!(
                        "{served}, but the validating resolver's Secure answer {}: it likely holds an older answer in its cache, until it expires{ttl}",
                        diff.join(" and ")
                    ))
                }
                Validation::Insecure => Some(format!(
                    "{served}, but the validating resolver finds it Insecure: likely a resolver without the root trust anchor (or one that does not validate DNSSEC); senders using it do not use DANE"
                )),
                Validation::Bogus => Some(format!(
                    "{served}, but the validating resolver finds it Bogus: it likely holds older data in its cache (signatures since expired, a DNSKEY since rolled) or has another trust anchor"
                )),
                Validation::Indeterminate => None,
            }
        }
        Verdict::ServersNoRecords if v.state == Validation::Secure && !v.records.is_empty() => {
            Some(format!(
                "no authoritative server serves a TLSA record, but the validating resolver still answers {}: it likely holds an older answer in its cache, until it expires{ttl}",
                shorts(&v.records)
            ))
        }
        Verdict::ServersUnsigned if v.state == Validation::Secure => Some(format!(
            "the validating resolver answers Secure, but the RRset is {}: the resolver likely holds an older answer in its cache or asked another server; resolvers asking those servers get Bogus",
            servers
                .detail
                .as_deref()
                .unwrap_or("served without a valid signature")
        )),
        _ => None,
    }
}

/// `check --mx`'s findings (status, what to say) from the servers' view of a host's TLSA
/// owner, asked only where DANE applies (a Secure RRset with records). Its rule: a server
/// serving it without a valid signature is CRITICAL (senders whose resolver asks it defer
/// mail), servers that cannot be told UNKNOWN, servers serving different RRsets or none
/// WARNING (senders may get an RRset without the record that matters, or no DANE), and a
/// disagreement with the validating resolver WARNING.
pub fn mx_findings(
    owner: &str,
    servers: &ServersReport,
    disagreement: Option<&str>,
) -> Vec<(Status, String)> {
    let o = owner.trim_end_matches('.');
    let detail = servers.detail.as_deref().unwrap_or_default();
    let mut out = Vec::new();
    match servers.verdict {
        Verdict::ServersUnsigned => out.push((Status::Critical, format!("TLSA {o}: {detail}"))),
        Verdict::ServersUnknown => out.push((
            Status::Unknown,
            format!("TLSA {o}: the authoritative servers cannot be told: {detail}"),
        )),
        Verdict::ServersDiffer | Verdict::ServersNoRecords => {
            out.push((Status::Warning, format!("TLSA {o}: {detail}")))
        }
        _ => {}
    }
    if let Some(d) = disagreement {
        out.push((Status::Warning, format!("TLSA {o}: {d}")));
    }
    out
}

/// The servers' lines of the text report.
pub fn write_text(out: &mut String, servers: &ServersReport, disagreement: Option<&str>) {
    let head = match servers.verdict {
        Verdict::ServersSigned => "every one serves the RRset with a valid signature",
        Verdict::ServersUnsigned => "NOT EVERY ONE SERVES IT VALIDLY SIGNED",
        Verdict::ServersDiffer => "THEY SERVE DIFFERENT RRSETS",
        Verdict::ServersNoRecords => "NO TLSA RECORDS",
        _ => "UNKNOWN",
    };
    let _ = write!(out, "  authoritative servers: {head}");
    // The answers below name each server; a view without any says why here.
    if let (Some(d), true) = (&servers.detail, servers.answers.is_empty()) {
        let _ = write!(out, " ({d})");
    }
    let _ = writeln!(out);
    for a in &servers.answers {
        let _ = write!(out, "    {}: {}", a.server, a.state.text());
        match (&a.signed_until, &a.detail) {
            (Some(t), _) => {
                let _ = write!(out, " until {t}");
            }
            (None, Some(d)) if a.state == ServerState::Alias => {
                let _ = write!(out, " -> {d} (records at the target's servers)");
            }
            (None, Some(d)) => {
                let _ = write!(out, ": {d}");
            }
            (None, None) => {}
        }
        if !a.records.is_empty() {
            let _ = write!(out, ", {}", shorts(&a.records));
        }
        let _ = writeln!(out);
    }
    if let Some(d) = disagreement {
        let _ = writeln!(out, "  resolver and servers DISAGREE: {d}");
    }
}

/// The servers' part of the plugin summary: `servers signed`, or what is wrong.
pub fn summary(servers: &ServersReport, disagreement: bool) -> String {
    let s = match servers.verdict {
        Verdict::ServersSigned => "servers signed",
        Verdict::ServersUnsigned => "servers NOT VALIDLY SIGNED",
        Verdict::ServersDiffer => "servers DIFFER",
        Verdict::ServersNoRecords => "servers serve NO TLSA",
        _ => "servers unknown",
    };
    if disagreement {
        format!("{s}, resolver DISAGREES")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
#[path = "servers_tests.rs"]
mod tests;
