//! Table tests of the pure core: the wait formula cases, every phase transition, and the
//! safety invariants, on hand-made observations. This file holds the hand-made observations
//! and the lineage driven as the engine would; the tests are in `tests/`, one file a topic.

use std::net::SocketAddr;
use std::time::Duration;

use jiff::Timestamp;

use super::*;
use crate::dns::{OwnerObservation, Served, ServerAnswer, ServerOutcome, Validated, Validation};
use crate::tlsa::{Matching, TlsaRecord};

const OWNER: &str = "_25._tcp.mail.example.test.";

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).unwrap()
}

fn key(name: &str) -> KeyInfo {
    KeyInfo::from_spki(format!("spki-{name}").as_bytes())
}

fn r311(k: &KeyInfo) -> TlsaRecord {
    k.records(&[Matching::Sha256]).remove(0)
}

fn addr(i: usize) -> SocketAddr {
    format!("127.0.10.{}:53", i + 1).parse().unwrap()
}

/// What one server serves: Some(records) (empty = NODATA) or None (error).
type Srv = Option<Vec<TlsaRecord>>;

/// The servers' signatures as the zone's DNSSEC state makes them: valid when Secure,
/// invalid when Bogus, unknown otherwise.
fn signature_of(v: Validation) -> crate::dns::Signature {
    match v {
        Validation::Secure => crate::dns::Signature::Valid {
            expires: Timestamp::MAX,
        },
        Validation::Bogus => crate::dns::Signature::Invalid {
            reason: "RRSIG does not verify".into(),
        },
        _ => crate::dns::Signature::Unknown {
            reason: "the zone is insecure".into(),
        },
    }
}

fn observation(servers: &[Srv], ttl: u32, neg: u32, v: Validation) -> OwnerObservation {
    let answers = servers
        .iter()
        .enumerate()
        .map(|(i, s)| ServerAnswer {
            server: addr(i),
            name: Some(format!("ns{}.example.test.", i + 1)),
            outcome: match s {
                Some(records) => ServerOutcome::Answer(Served {
                    records: records.clone(),
                    ttl: (!records.is_empty()).then_some(ttl),
                    serial: Some(1),
                    authoritative: true,
                    cname: None,
                    negative_ttl: records.is_empty().then_some(neg),
                    signature: signature_of(v),
                }),
                None => ServerOutcome::Error {
                    error: "timed out".into(),
                },
            },
        })
        .collect();
    let validated_records = servers.iter().flatten().next().cloned().unwrap_or_default();
    OwnerObservation {
        owner: OWNER.into(),
        chain: Vec::new(),
        zone: Some("example.test.".into()),
        servers: answers,
        validated: Validated {
            state: v,
            ttl: (!validated_records.is_empty()).then_some(ttl),
            records: validated_records,
            detail: (v != Validation::Secure).then(|| "test".to_string()),
        },
    }
}

/// Both servers serve `records` with `ttl`, Secure.
fn all(records: &[TlsaRecord], ttl: u32) -> OwnerObservation {
    let s = Some(records.to_vec());
    observation(&[s.clone(), s], ttl, 3600, Validation::Secure)
}

/// A lineage with one owner, driven step by step as the engine would.
struct Lineage {
    state: LineageState,
    policy: Policy,
    live: KeyInfo,
}

impl Lineage {
    fn new(live: &KeyInfo) -> Lineage {
        Lineage {
            state: LineageState::default(),
            // The tables' records were never re-TTL'd before the first look (the default
            // `prior_ttl` has its own tests, in `first_look`).
            policy: Policy {
                prior_ttl: 0,
                ..Policy::default()
            },
            live: live.clone(),
        }
    }

    /// Reconcile the live key and fold in one observation at `now`.
    fn see(&mut self, obs: Option<OwnerObservation>, now: Timestamp) -> LiveChange {
        let change = reconcile_live(&mut self.state, &self.live, now);
        let list: Vec<OwnerObservation> = obs.into_iter().collect();
        update_observations(
            &mut self.state,
            &[OWNER.to_string()],
            &list,
            now,
            &self.policy,
        );
        change
    }

    fn plan(&self, obs: &OwnerObservation, now: Timestamp, goal: Goal) -> Plan {
        plan(
            &self.state,
            std::slice::from_ref(obs),
            true,
            now,
            &self.policy,
            goal,
        )
    }

    fn verdict(&self, obs: &OwnerObservation, now: Timestamp) -> Verdict {
        switch_verdict(&self.state, std::slice::from_ref(obs), now, &self.policy)
    }

    /// Carry out the plan's GenerateNextKey and Publish actions as an engine would.
    fn act(&mut self, plan: &Plan, next: &KeyInfo, now: Timestamp) {
        for a in &plan.actions {
            match a {
                Action::GenerateNextKey => self.state.set_next(
                    next.clone(),
                    format!("/s/{}.pem", next.id.short()).into(),
                    now,
                ),
                Action::Publish { owner, records } => {
                    self.state.record_published(owner, records, now)
                }
                Action::Retire { owner, records } => self.state.record_retired(owner, records, now),
                Action::Reload => self.state.reload_pending = false,
                _ => {}
            }
        }
    }

    fn next(&self) -> &KeyInfo {
        &self.state.next.as_ref().unwrap().key
    }
}

fn publishes(plan: &Plan) -> Vec<TlsaRecord> {
    plan.actions
        .iter()
        .filter_map(|a| match a {
            Action::Publish { records, .. } => Some(records.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn retires(plan: &Plan) -> Vec<TlsaRecord> {
    plan.actions
        .iter()
        .filter_map(|a| match a {
            Action::Retire { records, .. } => Some(records.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn switches(plan: &Plan) -> bool {
    plan.actions
        .iter()
        .any(|a| matches!(a, Action::Switch { .. }))
}

/// A lineage whose current key `a` is published (TTL `ttl`) and whose next key `b` was
/// just generated and published at t(10), after an observation at t(0) of `before`.
fn prepublished(before: OwnerObservation, ttl: u32) -> (Lineage, KeyInfo, KeyInfo) {
    let a = key("a");
    let b = key("b");
    let mut l = Lineage::new(&a);
    l.see(Some(before.clone()), t(0));
    let p = l.plan(&before, t(0), Goal::Maintain);
    assert!(p.actions.contains(&Action::GenerateNextKey));
    l.act(&p, &b, t(0));
    let p = l.plan(&before, t(0), Goal::Maintain);
    assert!(publishes(&p).contains(&r311(&b)), "{p:?}");
    l.act(&p, &b, t(0));
    let _ = ttl;
    (l, a, b)
}

// The topics, each in its file.
mod drift;
mod invariants;
mod phases;
// Secure from the servers themselves (their signatures), the resolver as the cross-check.
mod first_look;
mod signed;
mod wait;
