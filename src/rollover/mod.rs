//! The rollover as data: per lineage, its keys, the records it owns at each owner, what it
//! has seen there, and the plan (state + observations + now -> actions). Pure: no files,
//! sockets or clock; the engine ([`crate::engine`]) does the I/O.
//!
//! The cycle (RFC 7671 8.1 "key rollover with fixed TLSA parameters", 8.4 for TTLs):
//! 1. A next key is generated ahead of time and its `3 1 1` record published next to the
//!    current key's ("current + next").
//! 2. Once every authoritative server serves the RRset with the next key's record and it
//!    validates Secure, a clock starts ([`update_observations`]); it restarts whenever
//!    that stops being true.
//! 3. After `ttl_factor x max(previous TTL, new TTL) (+ negative TTL if the owner had no
//!    TLSA before) + margin` ([`Policy::propagation_wait`]), every resolver that could have
//!    cached an RRset without the next key has forgotten it: the switch is safe
//!    ([`switch_verdict`]).
//! 4. The switch plants the next key and renews with it; the old key is retired and its
//!    records removed one full wait later ([`plan()`]).
//!
//! Modules: [`clock`] (a clock stepped forward never shortens a wait), [`key`] (keys by SPKI), [`state`] (the saved model and its transitions),
//! [`policy`] (settings and wait formulas), [`observe`] (folding observations in; lineages at one owner share its TTLs),
//! [`verdict`] (is the switch safe), [`mod@plan`] (what to do), [`mod@phase`] (for people),
//! [`mod@repair`] (interrupted steps), [`budget`] (forced renewals per week), [`blocked`]
//! (keys the CA refuses).

pub mod blocked;
pub mod budget;
pub mod clock;
pub mod key;
pub mod observe;
pub mod phase;
pub mod plan;
pub mod policy;
pub mod repair;
pub mod serving;
pub mod state;
pub mod verdict;

#[cfg(test)]
mod tests;

pub use blocked::{BlockedKey, Noted, RenewalRefusal, blocked_current, note_refusal};
pub use budget::Budget;
pub use key::{KeyId, KeyInfo};
pub use observe::{LiveChange, reconcile_live, share_ttl_history, update_observations};
pub use phase::{Phase, phase};
pub use plan::{Action, Danger, Goal, Plan, Problem, plan, plan_probed, quiet};
pub use policy::Policy;
pub use repair::{Repair, RepairFacts, repair};
pub use serving::{EndpointFinding, EndpointState, emergency_verdict};
pub use state::{
    CertbotRun, CurrentKey, Intent, LineageState, NextKey, OwnedRecord, OwnerState, Propagation,
    RetiredKey, Sighting, TtlSeen,
};
pub use verdict::{Reason, Verdict, switch_verdict};
