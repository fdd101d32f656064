//! Keys the CA refuses. A key revoked as compromised is blocked for all future issuance
//! (the CA answers `urn:ietf:params:acme:error:badPublicKey`); with `reuse_key`, every
//! renewal of the lineage then fails until the key changes, and the certificate expires.
//!
//! The ACME client's side (certbot's log, its output in a switch) is read by the leaves and
//! handed here as a client-neutral [`RenewalRefusal`]; what follows is decided here:
//! - the live key refused: a danger ([`super::Danger::KeyBlocked`]) and, with
//!   `on_key_blocked = "emergency"`, the emergency rollover to the pre-published next key
//!   ([`blocked_current`] says when);
//! - the next key refused (a switch's renewal, which certifies the planted next key): it
//!   is dropped (retired: it never went live) and a fresh next key is generated and
//!   published; its wait starts again;
//! - a retired key refused: remembered, so that it is never taken for a safe key again;
//! - a refusal whose evidence does not name the key (no CSR in the log): reported, nothing
//!   decided on it ([`Noted::KeyUnknown`]): the account key can be refused with the same
//!   problem type.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::key::KeyId;
use super::state::LineageState;

/// The URN of the ACME problem a CA answers for a key it will not certify (RFC 8555 6.7).
pub const BAD_PUBLIC_KEY: &str = "urn:ietf:params:acme:error:badPublicKey";

/// A renewal the CA refused, as the ACME client's evidence shows it (client-neutral).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenewalRefusal {
    /// The CA refuses the key (`badPublicKey`).
    KeyBlocked {
        /// The lineage whose renewal failed.
        lineage: String,
        /// The key of the refused request (from the CSR the client sent), when the
        /// evidence shows it.
        key: Option<KeyId>,
        /// When (the evidence's time: the log file's modification time).
        at: Timestamp,
        /// Where it was seen (a file, "the switch's certbot run").
        evidence: String,
        /// The CA's words.
        detail: String,
    },
}

impl RenewalRefusal {
    /// The lineage the refusal is about.
    pub fn lineage(&self) -> &str {
        match self {
            RenewalRefusal::KeyBlocked { lineage, .. } => lineage,
        }
    }
}

/// A key the CA refused, remembered in the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockedKey {
    /// The refused key.
    pub key: KeyId,
    /// When the refusal happened (first seen).
    pub at: Timestamp,
    /// Where it was seen.
    pub evidence: String,
    /// The CA's words.
    pub detail: String,
}

impl fmt::Display for BlockedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the CA refuses the key 3 1 1 {} ({}; seen in {} at {})",
            self.key, self.detail, self.evidence, self.at
        )
    }
}

/// What a refusal means for the lineage (after [`note_refusal`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Noted {
    /// The live key is refused: every renewal fails until the key changes.
    Current(BlockedKey),
    /// The next key is refused: it was dropped; a new one is generated.
    NextDropped(BlockedKey),
    /// A retired key is refused: remembered.
    Retired(BlockedKey),
    /// Noted before (or the switch under way handles it): nothing new.
    Stale,
    /// The evidence does not say which key was refused.
    KeyUnknown { evidence: String, detail: String },
    /// A key this lineage does not know (someone else's renewal of the name).
    NotOurs { key: KeyId },
}

impl fmt::Display for Noted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Noted::Current(b) => write!(
                f,
                "{b}: it is the live key, so every renewal fails until the key changes"
            ),
            Noted::NextDropped(b) => write!(
                f,
                "{b}: it was the next key; it is dropped for a new next key, published by this pass or the next (its wait starts again)"
            ),
            Noted::Retired(b) => write!(f, "{b}: a retired key; it stays retired"),
            Noted::Stale => write!(f, "a refusal already noted"),
            Noted::KeyUnknown { evidence, detail } => write!(
                f,
                "the CA refused a key ({detail}; seen in {evidence}) but the evidence does not name it (the account key can be refused the same way): if it is the certificate's key, run `danerollover rollover --emergency`"
            ),
            Noted::NotOurs { key } => write!(
                f,
                "the CA refused the key 3 1 1 {key}, which is none of this lineage's keys"
            ),
        }
    }
}

/// Fold a refusal into the lineage's state. A refusal of the next key drops it: it
/// becomes retired as of `now` (its records go after one wait, as any retired key's) and
/// its file is cleaned up; the plan then generates a new next key.
pub fn note_refusal(state: &mut LineageState, refusal: &RenewalRefusal, now: Timestamp) -> Noted {
    let RenewalRefusal::KeyBlocked {
        key,
        at,
        evidence,
        detail,
        ..
    } = refusal;
    let Some(key) = key else {
        return Noted::KeyUnknown {
            evidence: evidence.clone(),
            detail: detail.clone(),
        };
    };
    if state.blocked_keys.iter().any(|b| &b.key == key) {
        return Noted::Stale;
    }
    let blocked = BlockedKey {
        key: key.clone(),
        at: *at,
        evidence: evidence.clone(),
        detail: detail.clone(),
    };
    let is_current = state.current.as_ref().is_some_and(|c| &c.key.id == key);
    let is_next = state.next.as_ref().is_some_and(|n| &n.key.id == key);
    let is_retired = state.retired.iter().any(|r| &r.key.id == key);
    if is_next {
        // A switch under way owns the next key: the switch's own failure handling drops it.
        if state.intent.is_some() {
            return Noted::Stale;
        }
        state.blocked_keys.push(blocked.clone());
        if let Some(next) = state.next.take() {
            state.retire(next.key, now);
            if !state.cleanup.contains(&next.path) {
                state.cleanup.push(next.path);
            }
        }
        for o in state.owners.values_mut() {
            o.propagation = None;
        }
        return Noted::NextDropped(blocked);
    }
    if is_current || is_retired {
        state.blocked_keys.push(blocked.clone());
        return if is_current {
            Noted::Current(blocked)
        } else {
            Noted::Retired(blocked)
        };
    }
    Noted::NotOurs { key: key.clone() }
}

/// The live key's refusal, when the CA refuses it: the lineage needs the emergency
/// rollover (or, with `on_key_blocked = "alarm"`, the operator).
pub fn blocked_current(state: &LineageState) -> Option<&BlockedKey> {
    let current = &state.current.as_ref()?.key.id;
    state.blocked_keys.iter().find(|b| &b.key == current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollover::{CurrentKey, KeyInfo, NextKey};

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn state() -> (LineageState, KeyInfo, KeyInfo) {
        let a = KeyInfo::from_spki(b"a");
        let b = KeyInfo::from_spki(b"b");
        let s = LineageState {
            current: Some(CurrentKey {
                key: a.clone(),
                since: t(0),
            }),
            next: Some(NextKey {
                key: b.clone(),
                path: "/s/keys/x/next-b.pem".into(),
                created_at: t(1),
            }),
            ..Default::default()
        };
        (s, a, b)
    }

    fn refusal(key: Option<&KeyInfo>, at: i64) -> RenewalRefusal {
        RenewalRefusal::KeyBlocked {
            lineage: "x".into(),
            key: key.map(|k| k.id.clone()),
            at: t(at),
            evidence: "letsencrypt.log".into(),
            detail: "key is blocked".into(),
        }
    }

    #[test]
    fn the_live_key_refused_is_a_danger_once() {
        let (mut s, a, _) = state();
        assert!(blocked_current(&s).is_none());
        assert!(matches!(
            note_refusal(&mut s, &refusal(Some(&a), 100), t(200)),
            Noted::Current(_)
        ));
        assert_eq!(blocked_current(&s).unwrap().key, a.id);
        // The same key again: nothing new.
        assert_eq!(
            note_refusal(&mut s, &refusal(Some(&a), 300), t(300)),
            Noted::Stale
        );
        // After the switch (the next key is current), the old key's refusal no longer
        // endangers the lineage.
        s.promote(t(400));
        assert!(blocked_current(&s).is_none());
    }

    #[test]
    fn the_next_key_refused_is_dropped_for_a_new_one() {
        let (mut s, _, b) = state();
        let noted = note_refusal(&mut s, &refusal(Some(&b), 100), t(200));
        assert!(matches!(noted, Noted::NextDropped(_)), "{noted:?}");
        assert!(s.next.is_none());
        assert_eq!(s.retired[0].key, b);
        assert_eq!(
            s.cleanup,
            vec![std::path::PathBuf::from("/s/keys/x/next-b.pem")]
        );
        assert!(blocked_current(&s).is_none());
    }

    #[test]
    fn unnamed_foreign_and_in_switch_refusals_decide_nothing() {
        let (mut s, _, b) = state();
        let before = s.clone();
        assert!(matches!(
            note_refusal(&mut s, &refusal(None, 100), t(200)),
            Noted::KeyUnknown { .. }
        ));
        let other = KeyInfo::from_spki(b"other");
        assert!(matches!(
            note_refusal(&mut s, &refusal(Some(&other), 100), t(200)),
            Noted::NotOurs { .. }
        ));
        assert_eq!(s, before);
        s.intent = Some(crate::rollover::Intent::Switch {
            key: b.clone(),
            key_path: "/k".into(),
            archive_path: "/a".into(),
            previous_target: "/p".into(),
            at: t(150),
            certbot: None,
        });
        assert_eq!(
            note_refusal(&mut s, &refusal(Some(&b), 100), t(200)),
            Noted::Stale
        );
        assert!(s.next.is_some());
    }
}
