//! The plan: given the state (already holding the latest observations), the observations,
//! `now` and the policy, what to do next. Pure; the engine carries the actions out one by
//! one, saving the state after each.
//!
//! The safety rules the plan enforces, each tested in `tests.rs` and by the simulation:
//! 1. Records of the current and next keys are never retired, nor those of a retired key
//!    before one full wait after it stopped being live, nor while the reload that makes the
//!    server present the new key is still pending (RFC 7671 8.1: the old record stays until
//!    no client can meet the old key).
//! 2. A switch is only planned when [`switch_verdict`] is Safe.
//! 3. Only records matching one of this lineage's keys are ever published or removed:
//!    another lineage's key, a DANE-TA record or a hand-made record of some other key is
//!    never touched.

use std::fmt;

use jiff::Timestamp;
use serde::Serialize;

use super::key::KeyId;
use super::observe::{LiveChange, any_answer, find, served_records};
use super::policy::{Policy, after};
use super::serving::{self, EndpointFinding, EndpointState};
use super::state::LineageState;
use super::verdict::{Reason, Verdict, switch_verdict};
use crate::dns::{OwnerObservation, ServerOutcome, Validation};
use crate::endpoint::EndpointProbe;
use crate::tlsa::TlsaRecord;

/// What the caller wants beyond keeping records right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// Keep the records right: next key, publication, drift, retirement (hook, prepublish).
    Maintain,
    /// Also switch to the next key if that is safe (`rollover`).
    Switch,
    /// Also switch if the lineage's `rollover_every` is due and the switch is safe (`run`).
    Scheduled,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Generate a next key matching the lineage's renewal.conf and keep it under the state
    /// directory. The plan must be made again afterwards (it depends on the key).
    GenerateNextKey,
    /// Add these records at `owner` (records not named are left alone).
    Publish {
        owner: String,
        records: Vec<TlsaRecord>,
    },
    /// Remove these records at `owner`: all of them belong to keys retired long enough.
    Retire {
        owner: String,
        records: Vec<TlsaRecord>,
    },
    /// Plant the next key and renew with it.
    Switch { key: KeyId },
    /// Run the lineage's reload commands (the server must pick up the new key).
    Reload,
    /// Tell the operator, loudly.
    Alert(Danger),
    /// Nothing to do about the switch until `until` (if known), for `reason`.
    Wait {
        until: Option<Timestamp>,
        reason: String,
    },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::GenerateNextKey => write!(f, "generate a next key"),
            Action::Publish { owner, records } => {
                write!(f, "publish at {owner}: ")?;
                list(f, records)
            }
            Action::Retire { owner, records } => {
                write!(f, "retire at {owner}: ")?;
                list(f, records)
            }
            Action::Switch { key } => write!(f, "switch to the next key 3 1 1 {key}"),
            Action::Reload => write!(f, "run the reload commands"),
            Action::Alert(d) => write!(f, "ALERT: {d}"),
            Action::Wait { until, reason } => match until {
                Some(u) => write!(f, "wait until {u}: {reason}"),
                None => write!(f, "wait: {reason}"),
            },
        }
    }
}

fn list(f: &mut fmt::Formatter<'_>, records: &[TlsaRecord]) -> fmt::Result {
    let texts: Vec<String> = records.iter().map(ToString::to_string).collect();
    f.write_str(&texts.join(", "))
}

/// A state in which DANE clients fail, or may fail, to reach the server now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "danger", rename_all = "snake_case")]
pub enum Danger {
    /// The owner carries TLSA records and none is for the live key: every DANE client
    /// fails now (the certificate was renewed with a key that was not pre-published).
    Outage { owner: String, live: KeyId },
    /// These servers (or the validating resolver) do not serve a record of the live key;
    /// `unanswered`: the servers that could not be asked (unreachable, an error answer),
    /// each with its error: whether they serve it is unknown.
    LiveNotServed {
        owner: String,
        servers: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        unanswered: Vec<String>,
    },
    /// These servers serve the owner's TLSA RRset under a signature that does not verify,
    /// is missing or has expired: resolvers fetching from them get Bogus data and senders
    /// defer mail.
    BadSignature { owner: String, servers: Vec<String> },
    /// The owner's TLSA RRset does not validate Secure.
    NotSecure {
        owner: String,
        validation: Validation,
        detail: Option<String>,
    },
    /// An endpoint serves a key no published record matches.
    EndpointUnmatched { endpoint: String, text: String },
    /// The CA refuses the live key (`badPublicKey`): every renewal fails until the key
    /// changes, and the certificate then expires.
    KeyBlocked { key: KeyId, text: String },
}

impl fmt::Display for Danger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Danger::Outage { owner, live } => write!(
                f,
                "{owner}: no TLSA record matches the live key 3 1 1 {live}: DANE clients fail now"
            ),
            Danger::LiveNotServed {
                owner,
                servers,
                unanswered,
            } => {
                if !servers.is_empty() {
                    write!(
                        f,
                        "{owner}: the live key's record is not served by {}",
                        servers.join(", ")
                    )?;
                }
                if !unanswered.is_empty() {
                    if servers.is_empty() {
                        write!(f, "{owner}: ")?;
                    } else {
                        f.write_str("; ")?;
                    }
                    write!(
                        f,
                        "unreachable or failing, so whether it serves the live key's record is \
                         unknown: {}",
                        unanswered.join("; ")
                    )?;
                }
                Ok(())
            }
            Danger::BadSignature { owner, servers } => write!(
                f,
                "{owner}: the TLSA RRset is served without a valid signature by {}: resolvers asking them get Bogus data",
                servers.join(", ")
            ),
            Danger::NotSecure {
                owner,
                validation,
                detail,
            } => {
                write!(
                    f,
                    "{owner}: the TLSA RRset is {} (DANE needs Secure)",
                    format!("{validation:?}").to_lowercase()
                )?;
                if let Some(d) = detail {
                    write!(f, ": {d}")?;
                }
                Ok(())
            }
            Danger::EndpointUnmatched { text, .. } => f.write_str(text),
            Danger::KeyBlocked { text, .. } => write!(
                f,
                "{text}: every renewal fails until the key changes (the emergency rollover to the next key fixes it: `danerollover rollover --emergency`, run by `run` with on_key_blocked = \"emergency\")"
            ),
        }
    }
}

/// Something the operator should fix or know, that is not (yet) a danger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// renewal.conf does not say `reuse_key = True`: the next renewal changes the key
    /// without warning (and without a pre-published record).
    ReuseKeyOff,
    /// No server has ever answered for this owner, so nothing is published there yet (the
    /// previous RRset's TTL must be known to compute the wait).
    NotObserved { owner: String },
    /// The cross-check of what senders see: the next key's wait is over, yet the validating
    /// resolver still does not return its record Secure (it holds an answer longer than its
    /// TTL, or cannot validate). The switch does not wait for it.
    ResolverDisagrees { owner: String, text: String },
    /// A scheduled rollover is due but not safe yet.
    RolloverDue { since: Timestamp },
    /// `probe = false`: nothing checks what the endpoints serve.
    ProbeOff,
    /// No reload commands, and no switch has shown the endpoints pick up new files alone.
    NoReload,
    /// An endpoint worth knowing about (its key is unknown, or it is covered by someone
    /// else's record).
    Endpoint { text: String },
    /// The time is unknown (the boot clock could not be read): the switch and every
    /// retirement hold until it can be read again.
    TimeUnknown { detail: String },
    /// The old key's records stay: these endpoints serve it or cannot be probed.
    RetirementHeld { key: KeyId, endpoints: Vec<String> },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::ReuseKeyOff => write!(
                f,
                "the ACME client is not set to keep the key at renewal (certbot: renewal.conf lacks reuse_key = True): the next renewal will change the key without a published record (run `danerollover init`, or see `danerollover lineages`)"
            ),
            Problem::NotObserved { owner } => write!(
                f,
                "{owner}: no authoritative server has answered yet; records are published once the owner has been observed"
            ),
            Problem::ResolverDisagrees { owner, text } => write!(
                f,
                "{owner}: the wait is over, but the validating resolver still disagrees with the servers: {text}"
            ),
            Problem::RolloverDue { since } => {
                write!(f, "a scheduled rollover has been due since {since}")
            }
            Problem::ProbeOff => write!(
                f,
                "endpoint probing is off (probe = false): old records are retired after the wait without checking what the servers serve"
            ),
            Problem::NoReload => write!(
                f,
                "no reload commands: after a switch, a server holding the key in memory or in its own copy keeps serving the old one; set reload = [[\"systemctl\", \"reload\", \"postfix\"]] (or what fits), or let a switch show that the endpoints pick up new files on their own"
            ),
            Problem::Endpoint { text } => f.write_str(text),
            Problem::TimeUnknown { detail } => write!(
                f,
                "the time is unknown, so the switch and retirements hold: {detail}"
            ),
            Problem::RetirementHeld { key, endpoints } => write!(
                f,
                "the old key {}'s records stay while {} {}",
                serving::short(key),
                endpoints.join(", "),
                if endpoints.len() == 1 {
                    "serves it or cannot be probed"
                } else {
                    "serve it or cannot be probed"
                }
            ),
        }
    }
}

/// The alert of a lineage that probes endpoints but has none: its owners name no
/// `_PORT._tcp.HOST` and it lists no `endpoints`. Old records are not retired meanwhile.
pub const NO_ENDPOINTS: &str = "endpoint probing is on, but no owner names an endpoint (_PORT._tcp.HOST) and `endpoints` is empty: nothing shows what the servers serve, so old records stay; set endpoints = [\"HOST:PORT\"] for the lineage, or probe = false to retire without looking";

/// The plan for one lineage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// What to do, in order (alerts first).
    pub actions: Vec<Action>,
    /// Whether switching to the next key is safe now.
    pub verdict: Verdict,
    /// When the switch to the next key is (or becomes) allowed.
    pub switch_allowed_at: Option<Timestamp>,
    /// What endangers DANE clients now.
    pub dangers: Vec<Danger>,
    /// What the operator should fix or know.
    pub problems: Vec<Problem>,
    /// What each endpoint serves; None when probing is off (or no probe was made).
    pub endpoints: Option<Vec<EndpointFinding>>,
    /// Endpoint findings that need the operator (`run` and `status` exit 1).
    pub endpoint_alerts: Vec<String>,
}

/// The records of ours at an owner to publish again because a server serves them with a
/// TTL below the configured one (`ttl` raised after they were published); None when every
/// server serves the configured TTL or more. Only raising is applied: a server serving
/// more than configured may be a provider's minimum, and the waits use the largest TTL
/// seen anyway.
fn ttl_to_raise(
    obs: &OwnerObservation,
    owned: &[super::state::OwnedRecord],
    policy: &Policy,
) -> Option<Vec<TlsaRecord>> {
    let ours: Vec<TlsaRecord> = owned
        .iter()
        .map(|x| x.record.clone())
        .filter(|r| obs.served_anywhere(std::slice::from_ref(r)))
        .collect();
    let low = obs.servers.iter().any(|s| match &s.outcome {
        ServerOutcome::Answer(a) if a.authoritative && !a.leaves_zone() => {
            a.ttl.is_some_and(|t| t < policy.ttl) && ours.iter().any(|r| a.records.contains(r))
        }
        _ => false,
    });
    (low && !ours.is_empty()).then_some(ours)
}

/// The servers of `obs` that gave no answer (unreachable, an error code, no address), by
/// label, with their errors.
fn unanswered(obs: &OwnerObservation) -> std::collections::BTreeMap<String, String> {
    obs.servers
        .iter()
        .filter_map(|s| match &s.outcome {
            ServerOutcome::Error { error } => Some((s.label(), error.clone())),
            ServerOutcome::Answer(_) => None,
        })
        .collect()
}

/// What is dangerous right now at the lineage's owners, judged against the live key. A
/// validating resolver that has no TLSA RRset for the owner yet (it still holds the
/// negative answer from before the first publication) is no danger: senders asking it
/// see no DANE, and fail nothing.
pub fn dangers(
    state: &LineageState,
    observations: &[OwnerObservation],
    now: Timestamp,
) -> Vec<Danger> {
    let Some(live) = state.current.as_ref().map(|c| &c.key) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(b) = super::blocked::blocked_current(state) {
        out.push(Danger::KeyBlocked {
            key: b.key.clone(),
            text: b.to_string(),
        });
    }
    for name in state.owners.keys() {
        let Some(obs) = find(observations, name) else {
            out.push(Danger::LiveNotServed {
                owner: name.clone(),
                servers: vec!["(not observed)".into()],
                unanswered: Vec::new(),
            });
            continue;
        };
        let has_live = |records: &[TlsaRecord]| records.iter().any(|r| live.matches(r));
        let outage = obs.servers.iter().any(|s| match &s.outcome {
            ServerOutcome::Answer(a) => !a.records.is_empty() && !has_live(&a.records),
            ServerOutcome::Error { .. } => false,
        }) || (!obs.validated.records.is_empty() && !has_live(&obs.validated.records));
        if outage {
            out.push(Danger::Outage {
                owner: name.clone(),
                live: live.id.clone(),
            });
        }
        let lacking = obs.lacking(has_live);
        if !lacking.is_empty() && !outage {
            // A server that could not be asked is named as such, with its error, never as
            // one that does not serve the record.
            let failed = unanswered(obs);
            let (unanswered, servers): (Vec<String>, Vec<String>) =
                lacking.into_iter().partition(|l| failed.contains_key(l));
            out.push(Danger::LiveNotServed {
                owner: name.clone(),
                servers,
                unanswered: unanswered
                    .into_iter()
                    .map(|l| format!("{l}: {}", failed[&l]))
                    .collect(),
            });
        }
        let bad = obs.badly_signed(now);
        if !bad.is_empty() {
            out.push(Danger::BadSignature {
                owner: name.clone(),
                servers: bad,
            });
        }
        if obs.validated.state != Validation::Secure {
            out.push(Danger::NotSecure {
                owner: name.clone(),
                validation: obs.validated.state,
                detail: obs.validated.detail.clone(),
            });
        }
    }
    out
}

/// Whether a lineage may rest on reused observations (see `dns::reuse`): `plan`, made on
/// `after` (`before` with those observations folded in; `live` what that found of the live
/// key), has nothing to do but wait, no danger and no endpoint alert, the live key is the
/// one `before` knew, and the fold changed nothing but when the RRsets were last seen. A
/// fresh observation showing the same would then have left the same state and the same
/// plan.
pub fn quiet(before: &LineageState, after: &LineageState, live: &LiveChange, plan: &Plan) -> bool {
    *live == LiveChange::Unchanged
        && plan.dangers.is_empty()
        && plan.endpoint_alerts.is_empty()
        && plan
            .actions
            .iter()
            .all(|a| matches!(a, Action::Wait { .. }))
        && super::observe::same_but_sighting_times(before, after)
}

/// Whether a scheduled rollover is due: the current key has been live for
/// `rollover_every`.
pub fn rollover_due(state: &LineageState, now: Timestamp, policy: &Policy) -> Option<Timestamp> {
    let every = policy.rollover_every?;
    let since = state.current.as_ref()?.since;
    let due = after(since, every);
    (due <= now).then_some(due)
}

/// Plan the next steps for one lineage without endpoint evidence (as with `probe = false`).
/// `state` must already hold `observations` (see [`super::update_observations`]) and the
/// live key ([`super::reconcile_live`]).
pub fn plan(
    state: &LineageState,
    observations: &[OwnerObservation],
    reuse_key: bool,
    now: Timestamp,
    policy: &Policy,
    goal: Goal,
) -> Plan {
    plan_probed(state, observations, None, reuse_key, now, policy, goal)
}

/// Plan the next steps for one lineage, with what its endpoints serve (`probes`; None when
/// probing is off). A retired key's records are only retired when no endpoint serves that
/// key and every endpoint could be probed; a switch only when every endpoint serves the
/// current or the next key.
pub fn plan_probed(
    state: &LineageState,
    observations: &[OwnerObservation],
    probes: Option<&[EndpointProbe]>,
    reuse_key: bool,
    now: Timestamp,
    policy: &Policy,
    goal: Goal,
) -> Plan {
    let findings = probes.map(|p| serving::assess(state, p, observations));
    let mut verdict = switch_verdict(state, observations, now, policy);
    let blockers: Vec<Reason> = findings
        .as_deref()
        .map(serving::switch_blockers)
        .unwrap_or_default()
        .into_iter()
        .map(|f| Reason::Endpoint {
            endpoint: f.endpoint.clone(),
            text: f.to_string(),
        })
        .collect();
    if !blockers.is_empty() {
        verdict = match verdict {
            Verdict::Safe => Verdict::NotYet {
                reasons: blockers,
                earliest: None,
            },
            Verdict::NotYet { mut reasons, .. } => {
                reasons.extend(blockers);
                Verdict::NotYet {
                    reasons,
                    earliest: None,
                }
            }
        };
    }
    if let Some(until) = state.emergency_until.filter(|u| *u > now) {
        verdict = match verdict {
            Verdict::Safe => Verdict::NotYet {
                reasons: vec![Reason::AfterEmergency { until }],
                earliest: Some(until),
            },
            Verdict::NotYet {
                mut reasons,
                earliest,
            } => {
                reasons.push(Reason::AfterEmergency { until });
                Verdict::NotYet {
                    reasons,
                    earliest: earliest.map(|e| e.max(until)),
                }
            }
        };
    }
    if let super::Budget::Spent {
        used,
        max,
        frees_at,
    } = super::budget::budget(
        &state.forced_renewals,
        now,
        policy.max_forced_renewals,
        super::budget::WINDOW,
    ) {
        let reason = Reason::RenewalBudget {
            used,
            max,
            window_days: (super::budget::WINDOW.as_secs() / 86_400) as u32,
            frees_at,
        };
        verdict = match verdict {
            Verdict::Safe => Verdict::NotYet {
                reasons: vec![reason],
                earliest: frees_at,
            },
            Verdict::NotYet {
                mut reasons,
                earliest,
            } => {
                reasons.push(reason);
                Verdict::NotYet {
                    reasons,
                    earliest: earliest.zip(frees_at).map(|(e, f)| e.max(f)),
                }
            }
        };
    }
    let switch_allowed_at = verdict.allowed_at(now);
    let mut dangers = dangers(state, observations, now);
    let mut problems: Vec<Problem> =
        super::verdict::resolver_disagrees(state, observations, now, policy)
            .into_iter()
            .map(|(owner, text)| Problem::ResolverDisagrees { owner, text })
            .collect();
    let mut endpoint_alerts = findings
        .as_deref()
        .map(|f| serving::alerts(state, f))
        .unwrap_or_default();
    // Probing is on, but there is nothing to probe: no evidence of what the servers serve,
    // never "every endpoint is fine".
    let no_endpoints = probes.is_some_and(<[EndpointProbe]>::is_empty);
    if no_endpoints {
        endpoint_alerts.push(NO_ENDPOINTS.to_string());
    }
    match &findings {
        None => problems.push(Problem::ProbeOff),
        Some(fs) => {
            for f in fs {
                match &f.state {
                    EndpointState::Old {
                        published: false, ..
                    }
                    | EndpointState::Other { matched: false, .. } => {
                        dangers.push(Danger::EndpointUnmatched {
                            endpoint: f.endpoint.clone(),
                            text: f.to_string(),
                        })
                    }
                    EndpointState::Unknown { .. } | EndpointState::Other { matched: true, .. }
                        if !endpoint_alerts
                            .iter()
                            .any(|a| a.starts_with(&f.to_string())) =>
                    {
                        problems.push(Problem::Endpoint {
                            text: f.to_string(),
                        })
                    }
                    _ => {}
                }
            }
        }
    }
    if !policy.reload_configured && state.endpoints_follow_files.is_none() {
        problems.push(Problem::NoReload);
    }
    let mut actions: Vec<Action> = dangers.iter().cloned().map(Action::Alert).collect();
    if !reuse_key {
        problems.push(Problem::ReuseKeyOff);
    }
    if state.intent.is_some() {
        actions.push(Action::Wait {
            until: None,
            reason: "an interrupted step must be repaired first".into(),
        });
        return Plan {
            actions,
            verdict,
            switch_allowed_at,
            dangers,
            problems,
            endpoints: findings,
            endpoint_alerts,
        };
    }
    if state.next.is_none() {
        actions.push(Action::GenerateNextKey);
    }

    // Publish what is missing: never-published records of the current and next keys, and
    // records that drifted away (no answering server serves them any more).
    let current = state.current.as_ref().map(|c| &c.key);
    let next = state.next.as_ref().map(|n| &n.key);
    for (name, owner) in &state.owners {
        // Nothing is published at an owner never observed: replacing an RRset whose TTL
        // nobody saw would make the wait formula blind to what resolvers may have cached.
        if owner.last.is_none() {
            problems.push(Problem::NotObserved {
                owner: name.clone(),
            });
            continue;
        }
        let obs = find(observations, name).filter(|o| any_answer(o));
        let want: Vec<TlsaRecord> = [current, next]
            .into_iter()
            .flatten()
            .flat_map(|k| k.records(&policy.matching))
            .collect();
        let missing: Vec<TlsaRecord> = want
            .into_iter()
            .filter(|r| {
                // Never published, or published and gone from every server that answered
                // (drift). Adding a record that is there already changes nothing, so no
                // grace period: the live key's record must come back at once.
                !owner.records.iter().any(|x| &x.record == r)
                    || obs.is_some_and(|o| o.held_nowhere(std::slice::from_ref(r)))
            })
            .collect();
        if !missing.is_empty() {
            actions.push(Action::Publish {
                owner: name.clone(),
                records: missing,
            });
        } else if let Some(records) = obs.and_then(|o| ttl_to_raise(o, &owner.records, policy)) {
            // The configured TTL was raised after the records were published: publishing
            // them again with it sets the RRset's TTL (RFC 2136 3.4.2.2; a provider's
            // RRset replace).
            actions.push(Action::Publish {
                owner: name.clone(),
                records,
            });
        }
    }

    // Retire the records of keys retired one full wait ago, once the reload has run and
    // only while the time can be trusted.
    if let Some(detail) = &policy.time_unknown {
        problems.push(Problem::TimeUnknown {
            detail: detail.clone(),
        });
    }
    if !state.reload_pending && policy.time_unknown.is_none() && !no_endpoints {
        for (name, owner) in &state.owners {
            let obs = find(observations, name);
            // What the servers serve (never the resolver's cached copy: once they hold
            // nothing, there is nothing to retire and nothing that stays).
            let seen = obs.map(served_records).unwrap_or_default();
            let wait = policy.retire_wait(owner.last.as_ref().and_then(|l| l.ttl));
            let mut records: Vec<TlsaRecord> = Vec::new();
            for r in &state.retired {
                if state.is_protected(&r.key.id) || after(r.retired_at, wait) > now {
                    continue;
                }
                let blockers = findings
                    .as_deref()
                    .map(|f| serving::retirement_blockers(f, &r.key.id))
                    .unwrap_or_default();
                if !blockers.is_empty() {
                    let endpoints: Vec<String> =
                        blockers.iter().map(|b| b.endpoint.clone()).collect();
                    let held = Problem::RetirementHeld {
                        key: r.key.id.clone(),
                        endpoints,
                    };
                    let owned = owner.records.iter().any(|x| x.key == r.key.id)
                        || seen.iter().any(|x| r.key.matches(x));
                    if owned && !problems.contains(&held) {
                        problems.push(held);
                    }
                    continue;
                }
                let owned = owner
                    .records
                    .iter()
                    .filter(|x| x.key == r.key.id)
                    .map(|x| x.record.clone());
                let found = seen.iter().filter(|x| r.key.matches(x)).cloned();
                for rec in owned.chain(found) {
                    if !records.contains(&rec) {
                        records.push(rec);
                    }
                }
            }
            // Never a record of the current or next key, whatever the state says.
            records.retain(|rec| {
                !current.is_some_and(|k| k.matches(rec)) && !next.is_some_and(|k| k.matches(rec))
            });
            if !records.is_empty() {
                actions.push(Action::Retire {
                    owner: name.clone(),
                    records,
                });
            }
        }
    }

    // The switch.
    let wanted = match goal {
        Goal::Maintain => false,
        Goal::Switch => true,
        Goal::Scheduled => match rollover_due(state, now, policy) {
            Some(since) => {
                if !verdict.is_safe() {
                    problems.push(Problem::RolloverDue { since });
                }
                true
            }
            None => false,
        },
    };
    if wanted {
        match (&verdict, next) {
            (Verdict::Safe, Some(k)) => actions.push(Action::Switch { key: k.id.clone() }),
            (Verdict::NotYet { reasons, earliest }, _) => {
                let text: Vec<String> = reasons.iter().map(ToString::to_string).collect();
                actions.push(Action::Wait {
                    until: *earliest,
                    reason: text.join("; "),
                });
            }
            (Verdict::Safe, None) => {}
        }
    }
    if state.reload_pending {
        actions.push(Action::Reload);
    }
    Plan {
        actions,
        verdict,
        switch_allowed_at,
        dangers,
        problems,
        endpoints: findings,
        endpoint_alerts,
    }
}
