//! What the endpoints serve, as evidence for the rollover (pure): the probes of a lineage's
//! endpoints ([`crate::probe::endpoint`]) are observations like DNS answers, and decide
//! two irreversible steps:
//! - retiring a key's records: never while an endpoint serves that key, nor while an
//!   endpoint cannot be probed (what it serves is unknown);
//! - switching: never while an endpoint serves neither the current nor the next key (a
//!   server left behind by the previous switch, or one with a different key entirely).
//!
//! [`emergency_verdict`] is the key-compromise switch: the next key's records served by
//! every authoritative server, each with a valid signature, suffice; neither the wait nor
//! the validating resolver's cached view is required.

use std::fmt;

use jiff::Timestamp;
use serde::Serialize;

use super::key::{KeyId, KeyInfo};
use super::observe::{any_answer, find, observed_records};
use super::policy::{Policy, after};
use super::state::LineageState;
use super::verdict::{Reason, server_label};
use crate::dns::{OwnerObservation, ServerOutcome};
use crate::endpoint::{EndpointProbe, Serving};

/// What one probed address serves, as the rollover sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "serves", rename_all = "snake_case")]
pub enum EndpointState {
    /// The current (live) key.
    Current,
    /// The next key (installed before its switch).
    Next,
    /// A key this lineage switched away from; `published`: its records are still owned.
    Old { key: KeyId, published: bool },
    /// A key that is none of this lineage's; `matched`: a `3 1 x` record seen at one of
    /// the lineage's owners matches it.
    Other { key: KeyId, matched: bool },
    /// The probe failed, or the address lookup did: what it serves is unknown.
    Unknown { error: String },
    /// The host has no address: nothing to probe.
    NoAddress,
}

/// One probed address and what it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointFinding {
    /// `127.0.0.1:25 (mail.example.com)`.
    pub endpoint: String,
    #[serde(flatten)]
    pub state: EndpointState,
}

/// `3 1 1 ab12cd34…`.
pub fn short(key: &KeyId) -> String {
    format!("3 1 1 {}…", key.prefix(8))
}

impl fmt::Display for EndpointFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.endpoint;
        match &self.state {
            EndpointState::Current => write!(f, "{e}: serves the current key"),
            EndpointState::Next => write!(f, "{e}: serves the next key already"),
            EndpointState::Old {
                key,
                published: true,
            } => write!(
                f,
                "{e}: still serves the old key {}; run its reload",
                short(key)
            ),
            EndpointState::Old {
                key,
                published: false,
            } => write!(
                f,
                "{e}: serves the old key {}, whose records are gone: DANE clients fail there now; run its reload",
                short(key)
            ),
            EndpointState::Other { key, matched } => write!(
                f,
                "{e}: serves a key that is neither the current nor the next key ({}){}",
                short(key),
                if *matched {
                    ""
                } else {
                    ", and no TLSA record matches it: DANE clients fail there now"
                }
            ),
            EndpointState::Unknown { error } => {
                write!(f, "{e}: cannot tell which key it serves: {error}")
            }
            EndpointState::NoAddress => write!(f, "{e}: no A or AAAA address, nothing to probe"),
        }
    }
}

/// What each probe shows, judged against the lineage's keys and the records observed.
pub fn assess(
    state: &LineageState,
    probes: &[EndpointProbe],
    observations: &[OwnerObservation],
) -> Vec<EndpointFinding> {
    let seen: Vec<crate::tlsa::TlsaRecord> = state
        .owners
        .keys()
        .filter_map(|o| find(observations, o))
        .flat_map(observed_records)
        .collect();
    probes
        .iter()
        .map(|p| {
            let state = match &p.serving {
                Serving::Key { spki } => {
                    let k = KeyInfo::from_spki(spki);
                    if state.current.as_ref().is_some_and(|c| c.key.id == k.id) {
                        EndpointState::Current
                    } else if state.next.as_ref().is_some_and(|n| n.key.id == k.id) {
                        EndpointState::Next
                    } else if state.retired.iter().any(|r| r.key.id == k.id) {
                        let published = state
                            .owners
                            .values()
                            .any(|o| o.records.iter().any(|x| x.key == k.id))
                            || seen.iter().any(|r| k.matches(r));
                        EndpointState::Old {
                            key: k.id,
                            published,
                        }
                    } else {
                        EndpointState::Other {
                            matched: seen.iter().any(|r| k.matches(r)),
                            key: k.id,
                        }
                    }
                }
                Serving::Failed { error, .. } | Serving::LookupFailed { error } => {
                    EndpointState::Unknown {
                        error: error.clone(),
                    }
                }
                Serving::NoAddress => EndpointState::NoAddress,
            };
            EndpointFinding {
                endpoint: p.label(),
                state,
            }
        })
        .collect()
}

/// Why the records of retired key `key` may not be retired now (empty: they may): the
/// endpoints that serve it, and those whose key is unknown.
pub fn retirement_blockers<'a>(
    findings: &'a [EndpointFinding],
    key: &KeyId,
) -> Vec<&'a EndpointFinding> {
    findings
        .iter()
        .filter(|f| match &f.state {
            EndpointState::Old { key: k, .. } => k == key,
            EndpointState::Unknown { .. } => true,
            _ => false,
        })
        .collect()
}

/// The endpoints that make a switch unsafe: they serve neither the current nor the next
/// key.
pub fn switch_blockers(findings: &[EndpointFinding]) -> Vec<&EndpointFinding> {
    findings
        .iter()
        .filter(|f| {
            matches!(
                f.state,
                EndpointState::Old { .. } | EndpointState::Other { .. }
            )
        })
        .collect()
}

/// Whether some retired key's records are still owned (a retirement is pending).
pub fn retirement_pending(state: &LineageState) -> bool {
    state.retired.iter().any(|r| {
        !state.is_protected(&r.key.id)
            && state
                .owners
                .values()
                .any(|o| o.records.iter().any(|x| x.key == r.key.id))
    })
}

/// The findings that need the operator (`run` and `status` exit 1): an endpoint still
/// serving an old key whose records are still published, and, while a retirement is
/// pending, one whose key is unknown. (One serving a key no record matches is a danger.)
pub fn alerts(state: &LineageState, findings: &[EndpointFinding]) -> Vec<String> {
    let pending = retirement_pending(state);
    findings
        .iter()
        .filter(|f| match &f.state {
            EndpointState::Old { published, .. } => *published,
            EndpointState::Unknown { .. } => pending,
            _ => false,
        })
        .map(|f| {
            if matches!(f.state, EndpointState::Unknown { .. }) {
                format!("{f}; the old key's records stay until it can be probed")
            } else {
                f.to_string()
            }
        })
        .collect()
}

/// Fold the probes into the state: after a switch without reload commands, endpoints that
/// all serve the new key prove that they pick up new files on their own (the "no reload
/// commands" problem is then no longer reported); one still serving the old key disproves it.
pub fn note_endpoints(
    state: &mut LineageState,
    findings: &[EndpointFinding],
    policy: &Policy,
    now: Timestamp,
) {
    if policy.reload_configured || state.last_switch.is_none() {
        return;
    }
    let probed: Vec<&EndpointFinding> = findings
        .iter()
        .filter(|f| !matches!(f.state, EndpointState::NoAddress))
        .collect();
    if probed
        .iter()
        .any(|f| matches!(f.state, EndpointState::Old { .. }))
    {
        state.endpoints_follow_files = None;
    } else if !probed.is_empty()
        && probed
            .iter()
            .all(|f| matches!(f.state, EndpointState::Current))
        && state.endpoints_follow_files.is_none()
    {
        state.endpoints_follow_files = Some(now);
    }
}

/// The emergency switch's verdict: Ok with the time until which some resolvers may still
/// hold an RRset without the next key's record (when the normal wait would have ended),
/// or the reasons to refuse.
pub fn emergency_verdict(
    state: &LineageState,
    observations: &[OwnerObservation],
    now: Timestamp,
    policy: &Policy,
) -> Result<Timestamp, Vec<Reason>> {
    if state.intent.is_some() {
        return Err(vec![Reason::SwitchInProgress]);
    }
    let Some(next) = &state.next else {
        return Err(vec![Reason::NoNextKey]);
    };
    if state.owners.is_empty() {
        return Err(vec![Reason::NoOwners]);
    }
    let want = next.key.records(&policy.matching);
    let mut reasons = Vec::new();
    let mut until = now;
    for (name, owner) in &state.owners {
        let Some(obs) = find(observations, name).filter(|o| any_answer(o)) else {
            reasons.push(Reason::NotObserved {
                owner: name.clone(),
            });
            continue;
        };
        if !obs.all_servers_serve(&want) {
            reasons.push(Reason::NotServed {
                owner: name.clone(),
                servers: obs
                    .servers
                    .iter()
                    .filter(|s| match &s.outcome {
                        ServerOutcome::Answer(a) => {
                            !a.authoritative || !want.iter().all(|w| a.records.contains(w))
                        }
                        ServerOutcome::Error { .. } => true,
                    })
                    .map(server_label)
                    .collect(),
            });
        }
        let unsigned = obs.unsigned(&want, now);
        if !unsigned.is_empty() {
            reasons.push(Reason::NotSigned {
                owner: name.clone(),
                servers: unsigned,
            });
        }
        let prop = owner.propagation.as_ref().filter(|p| p.key == next.key.id);
        let wait = policy.propagation_wait(
            prop.and_then(|p| p.previous_ttl)
                .or(owner.last.as_ref().and_then(|l| l.ttl)),
            prop.and_then(|p| p.served_ttl).or(obs.max_ttl()),
            prop.and_then(|p| p.negative_ttl),
        );
        let since = prop
            .and_then(|p| p.since)
            .filter(|s| *s <= now)
            .unwrap_or(now);
        until = until.max(after(since, wait));
    }
    if reasons.is_empty() {
        Ok(until)
    } else {
        Err(reasons)
    }
}

/// The "no reload commands" problem of a configured lineage, as `lineages`, `config` and
/// `status` report it: None when it has reload commands, or when a switch showed that its
/// endpoints pick up new files on their own.
pub fn no_reload_problem(
    name: &str,
    lineage: &crate::config::LineageConfig,
    state: Option<&LineageState>,
) -> Option<String> {
    if !lineage.reload.is_empty() || state.is_some_and(|s| s.endpoints_follow_files.is_some()) {
        return None;
    }
    Some(format!(
        "lineages.\"{name}\" has no reload commands: after a switch, a server holding the key in memory or in its own copy keeps serving the old one (its old record then stays, and `run` exits 1, until it is reloaded); set reload = [[\"systemctl\", \"reload\", \"postfix\"]] (or what fits), or let a switch show that the endpoints pick up new files on their own"
    ))
}
