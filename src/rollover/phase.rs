//! The phase of a lineage, for people: derived from the state, never stored as truth.
//!
//! Unpublished -> Publishing -> Propagating(since) -> Ready -> Switching -> Switched(at),
//! and from Switched back to Propagating for the new next key once the old key's records
//! are retired (one wait after the switch).

use std::fmt;

use jiff::Timestamp;
use serde::Serialize;

use super::policy::{Policy, after};
use super::state::{Intent, LineageState};
use super::verdict::Verdict;

/// Where a lineage stands in its rollover cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// No next key, or its records are not published yet.
    Unpublished,
    /// The next key's records are published but not yet served by every server and
    /// Secure at every owner.
    Publishing,
    /// Served everywhere and Secure since `since`; the switch is allowed at `until`.
    Propagating {
        /// Served everywhere and Secure since (the latest of all owners).
        since: Timestamp,
        /// The switch is allowed from then on.
        until: Option<Timestamp>,
    },
    /// The switch is safe now.
    Ready,
    /// A switch is in progress (or was interrupted and will be repaired).
    Switching,
    /// A switch happened at `at`; the old key's records are still published.
    Switched {
        /// When the switch happened.
        at: Timestamp,
    },
}

impl Phase {
    /// The phase's name, as in the JSON `phase` field.
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Unpublished => "unpublished",
            Phase::Publishing => "publishing",
            Phase::Propagating { .. } => "propagating",
            Phase::Ready => "ready",
            Phase::Switching => "switching",
            Phase::Switched { .. } => "switched",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Phase::Propagating { since, until } => {
                write!(f, "propagating (served everywhere since {since}")?;
                if let Some(u) = until {
                    write!(f, ", switch allowed at {u}")?;
                }
                write!(f, ")")
            }
            Phase::Switched { at } => write!(f, "switched at {at} (old records not yet retired)"),
            other => f.write_str(other.name()),
        }
    }
}

/// The phase of `state`, given the switch verdict computed for it.
pub fn phase(state: &LineageState, verdict: &Verdict, now: Timestamp, policy: &Policy) -> Phase {
    if matches!(state.intent, Some(Intent::Switch { .. })) {
        return Phase::Switching;
    }
    // The most recent retirement whose records are still owned somewhere, or whose wait
    // has not run out.
    let pending = state
        .retired
        .iter()
        .filter(|r| {
            let owned = state
                .owners
                .values()
                .any(|o| o.records.iter().any(|x| x.key == r.key.id));
            let wait = policy.retire_wait(
                state
                    .owners
                    .values()
                    .filter_map(|o| o.last.as_ref().and_then(|l| l.ttl))
                    .max(),
            );
            owned || (r.removed_at.is_none() && after(r.retired_at, wait) > now)
        })
        .map(|r| r.retired_at)
        .max();
    if let Some(at) = pending {
        return Phase::Switched { at };
    }
    let Some(next) = &state.next else {
        return Phase::Unpublished;
    };
    let published = state
        .owners
        .values()
        .any(|o| o.records.iter().any(|x| x.key == next.key.id));
    if !published {
        return Phase::Unpublished;
    }
    if verdict.is_safe() {
        return Phase::Ready;
    }
    let sinces: Vec<Option<Timestamp>> = state
        .owners
        .values()
        .map(|o| {
            o.propagation
                .as_ref()
                .filter(|p| p.key == next.key.id)
                .and_then(|p| p.since)
        })
        .collect();
    if !sinces.is_empty() && sinces.iter().all(Option::is_some) {
        Phase::Propagating {
            since: sinces.into_iter().flatten().max().unwrap_or(now),
            until: verdict.allowed_at(now),
        }
    } else {
        Phase::Publishing
    }
}
