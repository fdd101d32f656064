//! Reports built from state and observations (pure), for `status` and `run`: per lineage
//! its phase, its keys' `3 1 1` records, per owner what every server serves and how it
//! validates, when the next record was first seen everywhere, the earliest switch time,
//! and its problems. JSON (serde) and text.

use std::fmt::Write as _;
use std::path::PathBuf;

use jiff::Timestamp;
use serde::Serialize;

use crate::dns::{OwnerObservation, ServerOutcome, Validation};
use crate::rollover::observe::{find, observed_records};
use crate::rollover::verdict::server_label;
use crate::rollover::{Danger, LineageState, Plan, Policy, phase};
use crate::tlsa::TlsaRecord;

/// One lineage's status. The JSON fields `name`, `phase`, `current`, `next` (SHA-256 of the
/// keys' SPKI, the `3 1 1` data), `switch_allowed_at` (RFC 3339 or null) and `problems` are
/// the stable part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineageStatus {
    pub name: String,
    /// `unpublished`, `publishing`, `propagating`, `ready`, `switching` or `switched`.
    pub phase: String,
    /// The phase in words, with its times.
    pub phase_text: String,
    pub current: Option<String>,
    pub next: Option<String>,
    /// The next key's private key file.
    pub next_key_file: Option<PathBuf>,
    /// When the switch to the next key is (or becomes) allowed; null when it depends on
    /// something other than time (a server lacking the record, validation, no next key).
    pub switch_allowed_at: Option<Timestamp>,
    /// Why the switch is not allowed now.
    pub not_yet: Vec<String>,
    /// Per owner: what every server serves and how it validates.
    pub owners: Vec<OwnerStatus>,
    /// Dangers (DANE clients fail, or may fail, now).
    pub dangers: Vec<String>,
    /// Dangers first, then everything else worth fixing.
    pub problems: Vec<String>,
    /// Whether DANE clients fail, or may fail, now (the live key's record is not served everywhere, or not Secure).
    pub in_danger: bool,
    /// When the last switch happened.
    pub last_switch: Option<Timestamp>,
    /// What each endpoint serves; null when probing is off (`probe = false`).
    pub endpoints: Option<Vec<crate::rollover::EndpointFinding>>,
    /// Endpoints that need the operator (an old key still served, a key no record
    /// matches, an endpoint that cannot be probed while the old records wait): `status` and
    /// `run` exit 1 while there are any.
    pub endpoint_alerts: Vec<String>,
    /// When the DNS observation shown was made, when it is an earlier pass's reused because
    /// every server of the zone still serves the same SOA serial (`[dns]
    /// reuse_observations`); null: made now.
    pub observed_at: Option<Timestamp>,
}

impl LineageStatus {
    /// Whether `status` and `run` must exit 1 for this lineage.
    pub fn needs_attention(&self) -> bool {
        self.in_danger || !self.endpoint_alerts.is_empty()
    }
}

/// One owner's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerStatus {
    pub owner: String,
    /// The CNAME chain from the owner (RFC 7671 7), each target with its zone; records are
    /// published at the last one. Empty when the owner is not an alias.
    pub chain: Vec<crate::dns::ChainLink>,
    /// Every authoritative server's answer.
    pub servers: Vec<ServerStatus>,
    /// The validating read: `secure`, `insecure`, `bogus`, `indeterminate`; null when not
    /// observed.
    pub validation: Option<Validation>,
    /// The records the validating read returned.
    pub validated_records: Vec<TlsaRecord>,
    /// The cross-check: whether the validating resolver's answer has a record of the
    /// current key and of the next key (what senders using it see now; it may hold an
    /// older answer up to its TTL, which the wait covers).
    pub resolver_current: bool,
    pub resolver_next: bool,
    /// The records this lineage owns here.
    pub owned: Vec<TlsaRecord>,
    /// Records here that belong to no key of this lineage: never touched.
    pub foreign: Vec<TlsaRecord>,
    /// When the next key's records were first seen on every server, Secure (this run of
    /// unbroken observations).
    pub next_first_seen: Option<Timestamp>,
}

/// What one authoritative server serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerStatus {
    /// The server (host name and address).
    pub server: String,
    /// The records it serves.
    pub records: Vec<TlsaRecord>,
    /// Their TTL.
    pub ttl: Option<u32>,
    /// Why it gave no answer.
    pub error: Option<String>,
    /// The CNAME target it answered with (the owner is an alias, RFC 7671 7).
    pub cname: Option<String>,
    /// Whether it serves a record of the current key (an alias whose chain leaves the
    /// zone counts through the target's servers, listed after it).
    pub serves_current: bool,
    /// Whether it serves a record of the next key.
    pub serves_next: bool,
    /// Whether its answer is signed with a valid signature (Secure from the server
    /// itself); null when it gave no answer.
    pub signature: Option<crate::dns::Signature>,
}

/// The status of lineage `name` from its state (already holding `observations`) and the
/// plan made from them.
pub fn lineage_status(
    name: &str,
    state: &LineageState,
    observations: &[OwnerObservation],
    plan: &Plan,
    now: Timestamp,
    policy: &Policy,
) -> LineageStatus {
    let ph = phase(state, &plan.verdict, now, policy);
    let current = state.current.as_ref().map(|c| &c.key);
    let next = state.next.as_ref().map(|n| &n.key);
    let owners = state
        .owners
        .iter()
        .map(|(owner, os)| {
            let obs = find(observations, owner);
            let servers = obs
                .map(|o| {
                    let lacking_current =
                        o.lacking(|rs| current.is_some_and(|k| rs.iter().any(|r| k.matches(r))));
                    let lacking_next =
                        o.lacking(|rs| next.is_some_and(|k| rs.iter().any(|r| k.matches(r))));
                    o.servers
                        .iter()
                        .map(|s| {
                            let label = server_label(s);
                            let (records, ttl, error, cname, signature) = match &s.outcome {
                                ServerOutcome::Answer(a) => (
                                    a.records.clone(),
                                    a.ttl,
                                    None,
                                    a.cname.clone(),
                                    Some(a.signature.clone()),
                                ),
                                ServerOutcome::Error { error } => {
                                    (Vec::new(), None, Some(error.clone()), None, None)
                                }
                            };
                            ServerStatus {
                                serves_current: !lacking_current.contains(&label),
                                serves_next: !lacking_next.contains(&label),
                                server: label,
                                records,
                                ttl,
                                error,
                                cname,
                                signature,
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            let foreign = obs
                .map(observed_records)
                .unwrap_or_default()
                .into_iter()
                .filter(|r| state.key_of(r).is_none())
                .collect();
            OwnerStatus {
                owner: owner.clone(),
                chain: obs.map(|o| o.chain.clone()).unwrap_or_default(),
                servers,
                validation: obs.map(|o| o.validated.state),
                validated_records: obs.map(|o| o.validated.records.clone()).unwrap_or_default(),
                resolver_current: obs.is_some_and(|o| {
                    o.validated.state == Validation::Secure
                        && current.is_some_and(|k| o.validated.records.iter().any(|r| k.matches(r)))
                }),
                resolver_next: obs.is_some_and(|o| {
                    o.validated.state == Validation::Secure
                        && next.is_some_and(|k| o.validated.records.iter().any(|r| k.matches(r)))
                }),
                owned: os.records.iter().map(|x| x.record.clone()).collect(),
                foreign,
                next_first_seen: os
                    .propagation
                    .as_ref()
                    .filter(|p| next.is_some_and(|k| k.id == p.key))
                    .and_then(|p| p.since),
            }
        })
        .collect();
    let dangers: Vec<String> = plan.dangers.iter().map(ToString::to_string).collect();
    let mut problems = dangers.clone();
    problems.extend(plan.problems.iter().map(ToString::to_string));
    let not_yet = match &plan.verdict {
        crate::rollover::Verdict::Safe => Vec::new(),
        crate::rollover::Verdict::NotYet { reasons, .. } => {
            reasons.iter().map(ToString::to_string).collect()
        }
    };
    LineageStatus {
        name: name.to_string(),
        phase: ph.name().to_string(),
        phase_text: ph.to_string(),
        current: current.map(|k| k.id.to_string()),
        next: next.map(|k| k.id.to_string()),
        next_key_file: state.next.as_ref().map(|n| n.path.clone()),
        switch_allowed_at: plan.switch_allowed_at,
        not_yet,
        owners,
        in_danger: !plan.dangers.is_empty(),
        dangers,
        problems,
        last_switch: state.last_switch,
        endpoints: plan.endpoints.clone(),
        endpoint_alerts: plan.endpoint_alerts.clone(),
        observed_at: None,
    }
}

/// Whether any of these dangers means DANE clients fail right now.
pub fn has_outage(dangers: &[Danger]) -> bool {
    dangers.iter().any(|d| matches!(d, Danger::Outage { .. }))
}

/// How a server's answer is signed, for the text report: empty for an answer without
/// records (nothing to sign that the rollover uses).
fn signature_text(s: Option<&crate::dns::Signature>, empty: bool) -> String {
    use crate::dns::Signature;
    match s {
        _ if empty => String::new(),
        None => String::new(),
        Some(Signature::Valid { expires }) => format!(", signed until {expires}"),
        Some(Signature::Invalid { reason }) => format!(", SIGNATURE INVALID: {reason}"),
        Some(Signature::Unknown { reason }) => format!(", signature unknown: {reason}"),
    }
}

/// The status as text for people.
pub fn render_text(s: &LineageStatus) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", s.name, s.phase_text);
    let key = |k: &Option<String>| {
        k.as_ref()
            .map(|h| format!("3 1 1 {h}"))
            .unwrap_or_else(|| "(none)".into())
    };
    let _ = writeln!(out, "  current: {}", key(&s.current));
    let _ = writeln!(out, "  next:    {}", key(&s.next));
    match s.switch_allowed_at {
        Some(at) => {
            let _ = writeln!(out, "  switch allowed at: {at}");
        }
        None => {
            let _ = writeln!(out, "  switch allowed at: (not yet known)");
        }
    }
    for reason in &s.not_yet {
        let _ = writeln!(out, "    not yet: {reason}");
    }
    if let Some(at) = s.observed_at {
        let _ = writeln!(
            out,
            "  DNS as observed at {at} (the zone's serials have not changed since; --fresh asks again)"
        );
    }
    for o in &s.owners {
        let v = o
            .validation
            .map(|v| format!("{v:?}").to_lowercase())
            .unwrap_or_else(|| "not observed".into());
        let _ = writeln!(out, "  {}", o.owner);
        for link in &o.chain {
            let _ = writeln!(
                out,
                "    CNAME -> {} (zone {})",
                link.target,
                link.zone.as_deref().unwrap_or("unknown")
            );
        }
        if let Some(last) = o.chain.last() {
            let _ = writeln!(out, "    records are published at {}", last.target);
        }
        for srv in &o.servers {
            match &srv.error {
                Some(e) => {
                    let _ = writeln!(out, "    {}: error: {e}", srv.server);
                }
                None if srv.records.is_empty() && srv.cname.is_some() => {
                    let _ = writeln!(
                        out,
                        "    {}: CNAME -> {} (records at the target's servers)",
                        srv.server,
                        srv.cname.as_deref().unwrap_or_default()
                    );
                }
                None => {
                    if let Some(c) = &srv.cname {
                        let _ = writeln!(out, "    {}: CNAME -> {c}", srv.server);
                    }
                    let _ = writeln!(
                        out,
                        "    {}: current {}, next {} ({} records{})",
                        srv.server,
                        if srv.serves_current { "yes" } else { "NO" },
                        if srv.serves_next { "yes" } else { "no" },
                        srv.records.len(),
                        signature_text(srv.signature.as_ref(), srv.records.is_empty())
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "    validating resolver (what senders see, cached up to the TTL): {v}{}",
            if o.validation == Some(Validation::Secure) {
                format!(
                    ", current {}, next {}",
                    if o.resolver_current { "yes" } else { "no" },
                    if o.resolver_next { "yes" } else { "no" }
                )
            } else {
                String::new()
            }
        );
        if let Some(at) = o.next_first_seen {
            let _ = writeln!(out, "    next first seen everywhere: {at}");
        }
        for r in &o.foreign {
            let _ = writeln!(out, "    left alone (not this lineage's): {r}");
        }
    }
    match &s.endpoints {
        None => {
            let _ = writeln!(out, "  endpoints: not probed (probe = false)");
        }
        Some(list) => {
            for f in list.iter().filter(|f| {
                let t = f.to_string();
                !s.endpoint_alerts
                    .iter()
                    .chain(&s.dangers)
                    .any(|a| a.starts_with(&t))
            }) {
                let _ = writeln!(out, "  endpoint {f}");
            }
        }
    }
    for a in &s.endpoint_alerts {
        let _ = writeln!(out, "  ENDPOINT: {a}");
    }
    for d in &s.dangers {
        let _ = writeln!(out, "  DANGER: {d}");
    }
    for p in s.problems.iter().skip(s.dangers.len()) {
        let _ = writeln!(out, "  problem: {p}");
    }
    out
}
