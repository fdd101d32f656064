//! Whether the next key may go live now (RFC 7671 8.1 / 8.4).
//!
//! Safe only when, at every owner, the RRset holding the next key's records has been served
//! by every authoritative server, each answer signed with a valid signature (Secure from
//! the servers themselves, [`crate::dns::authenticated`]), for the full wait
//! ([`Policy::propagation_wait`]), counted from the first observation of an unbroken run
//! of such observations, and the latest observation still shows it. The validating
//! resolver's cached view is not on this path: the wait covers every cache (that is what
//! `ttl_factor x TTL` is for); it is the cross-check reported beside
//! ([`resolver_disagrees`]).

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use super::observe::{any_answer, find};
use super::policy::{Policy, after};
use super::state::LineageState;
use crate::dns::{OwnerObservation, Validation};

/// The verdict on switching to the next key now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// The next key's records have been served everywhere, Secure, for the full wait.
    Safe,
    /// Not yet.
    NotYet {
        /// Everything that is missing.
        reasons: Vec<Reason>,
        /// The earliest switch time, when every owner is already served and Secure and
        /// only time is missing.
        earliest: Option<Timestamp>,
    },
}

impl Verdict {
    /// Whether the switch may happen now.
    pub fn is_safe(&self) -> bool {
        matches!(self, Verdict::Safe)
    }

    /// When the switch is (or becomes) allowed: now for Safe, the earliest time otherwise.
    pub fn allowed_at(&self, now: Timestamp) -> Option<Timestamp> {
        match self {
            Verdict::Safe => Some(now),
            Verdict::NotYet { earliest, .. } => *earliest,
        }
    }
}

/// Why a switch is not safe yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// There is no next key yet.
    NoNextKey,
    /// A switch is already in progress (or must be repaired first).
    SwitchInProgress,
    /// The lineage has no TLSA owner.
    NoOwners,
    /// No authoritative server answered for this owner.
    NotObserved { owner: String },
    /// These servers do not serve all of the next key's records (or did not answer).
    NotServed { owner: String, servers: Vec<String> },
    /// These servers serve the next key's records without a valid signature (missing,
    /// invalid, expired, or their zone's keys cannot be authenticated): each named with why.
    NotSigned { owner: String, servers: Vec<String> },
    /// The validated read is not Secure with the next key's records (kept for reports made
    /// before signatures were checked at the servers).
    NotSecure {
        owner: String,
        validation: Validation,
        detail: Option<String>,
    },
    /// Served and Secure now, but the state has not recorded it: the wait has not started.
    NotRecorded { owner: String },
    /// An endpoint serves neither the current nor the next key.
    Endpoint { endpoint: String, text: String },
    /// An emergency switch skipped a wait: resolvers may hold RRsets from before it until
    /// `until`, so no switch before.
    AfterEmergency { until: Timestamp },
    /// The forced-renewal budget is spent: `used` switches forced a renewal within the
    /// last `window_days` days (at most `max`); one more fits at `frees_at` (null: never,
    /// `max_forced_renewals = 0`).
    RenewalBudget {
        used: u32,
        max: u32,
        window_days: u32,
        frees_at: Option<Timestamp>,
    },
    /// The time cannot be trusted (the boot clock could not be read): no wait is over.
    TimeUnknown { detail: String },
    /// Served and Secure since `since`; the wait ends at `until`.
    Waiting {
        owner: String,
        since: Timestamp,
        until: Timestamp,
        /// The whole wait, in seconds in JSON.
        #[serde(with = "secs")]
        wait: Duration,
        /// What is left of it, in seconds in JSON.
        #[serde(with = "secs")]
        left: Duration,
        /// Set when the wait counts `[dns] prior_ttl` (this TTL, in seconds): the records
        /// were there at danerollover's first look, their TTL before it is unknown.
        #[serde(skip_serializing_if = "Option::is_none")]
        unseen_ttl: Option<u32>,
    },
}

mod secs {
    use serde::Serializer;
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NoNextKey => write!(
                f,
                "there is no next key yet (run `danerollover prepublish`)"
            ),
            Reason::SwitchInProgress => write!(f, "a switch is in progress"),
            Reason::NoOwners => write!(f, "the lineage has no TLSA owner"),
            Reason::NotObserved { owner } => {
                write!(f, "{owner}: no authoritative server answered")
            }
            Reason::NotServed { owner, servers } => write!(
                f,
                "{owner}: the next key's record is not served by {}",
                servers.join(", ")
            ),
            Reason::NotSigned { owner, servers } => write!(
                f,
                "{owner}: the next key's record is not served with a valid signature by {}",
                servers.join(", ")
            ),
            Reason::NotSecure {
                owner,
                validation,
                detail,
            } => {
                let state = format!("{validation:?}").to_lowercase();
                write!(f, "{owner}: the validated answer is {state}")?;
                if *validation == Validation::Secure {
                    write!(f, " but lacks the next key's record")?;
                }
                if let Some(d) = detail {
                    write!(f, " ({d})")?;
                }
                Ok(())
            }
            Reason::Endpoint { text, .. } => write!(f, "{text}: the switch waits until it does"),
            Reason::AfterEmergency { until } => write!(
                f,
                "an emergency switch skipped a wait: resolvers may hold older RRsets until {until}"
            ),
            Reason::RenewalBudget {
                used,
                max,
                window_days,
                frees_at,
            } => {
                write!(
                    f,
                    "the forced-renewal budget is spent: {used} switches forced a renewal in the last {window_days} days (max_forced_renewals = {max}), and each counts against the CA's limits; "
                )?;
                match frees_at {
                    Some(at) => write!(
                        f,
                        "the next switch may force one at {at}, or raise max_forced_renewals for this lineage (a key compromise: `rollover --emergency` is not held)"
                    ),
                    None => write!(
                        f,
                        "max_forced_renewals = 0 forbids switches: raise it for this lineage (a key compromise: `rollover --emergency` is not held)"
                    ),
                }
            }
            Reason::TimeUnknown { detail } => write!(
                f,
                "the time is unknown, so no wait counts as over: {detail}"
            ),
            Reason::NotRecorded { owner } => write!(
                f,
                "{owner}: served everywhere, signed, but not yet recorded: the wait starts now"
            ),
            Reason::Waiting {
                owner,
                since,
                until,
                wait,
                left,
                unseen_ttl,
            } => {
                write!(
                    f,
                    "{owner}: served everywhere and Secure (signed at every server) since {since}; the wait of {} ends at {until} ({} left)",
                    humantime::format_duration(*wait),
                    humantime::format_duration(*left)
                )?;
                if let Some(ttl) = unseen_ttl {
                    write!(
                        f,
                        "; it counts [dns] prior_ttl = {}: the records were there at danerollover's first look and their TTL before it is unknown (set prior_ttl to the TTL they had, if lower)",
                        humantime::format_duration(Duration::from_secs((*ttl).into()))
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// The cross-check of what senders see: the owners where, although the next key's wait is
/// over (every server has served its records, signed, for the whole wait), the validating
/// resolver still does not return them Secure. Not on the clock's path: reported (a
/// resolver holding an answer longer than its TTL, or one that cannot validate).
pub fn resolver_disagrees(
    state: &LineageState,
    observations: &[OwnerObservation],
    now: Timestamp,
    policy: &Policy,
) -> Vec<(String, String)> {
    let Some(next) = &state.next else {
        return Vec::new();
    };
    let want = next.key.records(&policy.matching);
    let mut out = Vec::new();
    for (name, owner) in &state.owners {
        let Some(obs) = find(observations, name) else {
            continue;
        };
        let Some(p) = owner.propagation.as_ref().filter(|p| p.key == next.key.id) else {
            continue;
        };
        let Some(since) = p.since.filter(|s| *s <= now) else {
            continue;
        };
        let wait = policy.propagation_wait(p.previous_ttl, p.served_ttl, p.negative_ttl);
        if after(since, wait) > now || obs.secure_with(&want) {
            continue;
        }
        let state = format!("{:?}", obs.validated.state).to_lowercase();
        let mut text = if obs.validated.state == Validation::Secure {
            "its answer is secure but lacks the next key's record".to_string()
        } else {
            format!("its answer is {state}")
        };
        if let Some(d) = &obs.validated.detail {
            text.push_str(&format!(" ({d})"));
        }
        out.push((name.clone(), text));
    }
    out
}

/// The name of a server for messages: its host name and address when known.
pub fn server_label(answer: &crate::dns::ServerAnswer) -> String {
    answer.label()
}

/// Decide whether the next key may go live now. `state` must already hold these
/// observations (see [`super::update_observations`]); `observations` are checked again so
/// that a stale state can never make a switch safe.
pub fn switch_verdict(
    state: &LineageState,
    observations: &[OwnerObservation],
    now: Timestamp,
    policy: &Policy,
) -> Verdict {
    let not_yet = |reasons| Verdict::NotYet {
        reasons,
        earliest: None,
    };
    if state.intent.is_some() {
        return not_yet(vec![Reason::SwitchInProgress]);
    }
    let Some(next) = &state.next else {
        return not_yet(vec![Reason::NoNextKey]);
    };
    if state.owners.is_empty() {
        return not_yet(vec![Reason::NoOwners]);
    }
    let want = next.key.records(&policy.matching);
    let mut reasons = Vec::new();
    let mut earliest: Option<Timestamp> = None;
    let mut all_ready = true;
    for (name, owner) in &state.owners {
        let Some(obs) = find(observations, name).filter(|o| any_answer(o)) else {
            reasons.push(Reason::NotObserved {
                owner: name.clone(),
            });
            all_ready = false;
            continue;
        };
        let lacking = obs.lacking_all(&want);
        let served = lacking.is_empty();
        if !served {
            reasons.push(Reason::NotServed {
                owner: name.clone(),
                servers: lacking,
            });
        }
        let unsigned = obs.unsigned(&want, now);
        let secure = unsigned.is_empty();
        if !secure {
            reasons.push(Reason::NotSigned {
                owner: name.clone(),
                servers: unsigned,
            });
        }
        let prop = owner.propagation.as_ref().filter(|p| p.key == next.key.id);
        let since = prop.and_then(|p| p.since).filter(|s| *s <= now);
        match (served && secure, prop, since) {
            (true, Some(p), Some(since)) => {
                let wait = policy.propagation_wait(p.previous_ttl, p.served_ttl, p.negative_ttl);
                let until = after(since, wait);
                earliest = earliest.max(Some(until));
                if now < until {
                    reasons.push(Reason::Waiting {
                        owner: name.clone(),
                        since,
                        until,
                        wait,
                        left: until.duration_since(now).unsigned_abs(),
                        unseen_ttl: p.unseen_ttl,
                    });
                }
            }
            (true, _, _) => {
                // Served now but not recorded in the state: the clock has not started.
                all_ready = false;
                reasons.push(Reason::NotRecorded {
                    owner: name.clone(),
                });
            }
            _ => all_ready = false,
        }
    }
    if let Some(detail) = &policy.time_unknown {
        all_ready = false;
        reasons.push(Reason::TimeUnknown {
            detail: detail.clone(),
        });
    }
    if reasons.is_empty() {
        Verdict::Safe
    } else {
        Verdict::NotYet {
            reasons,
            earliest: if all_ready { earliest } else { None },
        }
    }
}
