//! Table tests of the pure core: the wait formula cases, every phase transition, and the
//! safety invariants, on hand-made observations.

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

// ---------------------------------------------------------------------------------------
// The wait formula, case by case.

#[test]
fn wait_plain_case_counts_from_first_seen_everywhere() {
    let a = key("a");
    let (mut l, _, b) = prepublished(all(&[r311(&a)], 300), 300);
    let both = all(&[r311(&a), r311(&b)], 300);
    l.see(Some(both.clone()), t(100));
    l.see(Some(both.clone()), t(400));
    // First seen at t(100): 2 x 300 + 60 later.
    let v = l.verdict(&both, t(400));
    assert_eq!(v.allowed_at(t(400)), Some(t(760)));
    assert!(!v.is_safe());
    let Verdict::NotYet { reasons, .. } = &v else {
        unreachable!()
    };
    assert!(
        reasons
            .iter()
            .all(|r| r.to_string().contains("ends at") && r.to_string().contains("6m left")),
        "{reasons:?}"
    );
    l.see(Some(both.clone()), t(759));
    assert!(!l.verdict(&both, t(759)).is_safe());
    l.see(Some(both.clone()), t(760));
    assert_eq!(l.verdict(&both, t(760)), Verdict::Safe);
}

#[test]
fn wait_new_owner_adds_the_negative_ttl() {
    // The owner had no TLSA at all: resolvers may cache NODATA for the negative TTL.
    let empty = observation(&[Some(vec![]), Some(vec![])], 300, 3600, Validation::Secure);
    let (mut l, a, b) = prepublished(empty, 300);
    let both = all(&[r311(&a), r311(&b)], 300);
    l.see(Some(both.clone()), t(100));
    let v = l.verdict(&both, t(100));
    assert_eq!(v.allowed_at(t(100)), Some(t(100 + 600 + 3600 + 60)));
    l.see(Some(both.clone()), t(100 + 660));
    assert!(!l.verdict(&both, t(100 + 660)).is_safe());
    l.see(Some(both.clone()), t(100 + 4260));
    assert!(l.verdict(&both, t(100 + 4260)).is_safe());
}

#[test]
fn wait_previous_rrset_ttl_larger_than_new() {
    let a = key("a");
    let (mut l, _, b) = prepublished(all(&[r311(&a)], 3600), 300);
    let both = all(&[r311(&a), r311(&b)], 300);
    l.see(Some(both.clone()), t(100));
    assert_eq!(
        l.verdict(&both, t(100)).allowed_at(t(100)),
        Some(t(100 + 7200 + 60))
    );
}

#[test]
fn wait_previous_ttl_seen_while_propagating_counts_too() {
    // The old RRset (TTL 3600) is still served by one server after publication.
    let a = key("a");
    let (mut l, _, b) = prepublished(all(&[r311(&a)], 300), 300);
    let mixed = observation(
        &[Some(vec![r311(&a), r311(&b)]), Some(vec![r311(&a)])],
        3600,
        3600,
        Validation::Secure,
    );
    l.see(Some(mixed), t(50));
    let both = all(&[r311(&a), r311(&b)], 300);
    l.see(Some(both.clone()), t(100));
    assert_eq!(
        l.verdict(&both, t(100)).allowed_at(t(100)),
        Some(t(100 + 7200 + 60))
    );
}

#[test]
fn wait_new_ttl_larger_than_configured() {
    let a = key("a");
    let (mut l, _, b) = prepublished(all(&[r311(&a)], 300), 300);
    let both = all(&[r311(&a), r311(&b)], 900);
    l.see(Some(both.clone()), t(100));
    assert_eq!(
        l.verdict(&both, t(100)).allowed_at(t(100)),
        Some(t(100 + 1800 + 60))
    );
}

#[test]
fn wait_margin_and_factor_come_from_the_policy() {
    let a = key("a");
    let (mut l, _, b) = prepublished(all(&[r311(&a)], 300), 300);
    l.policy.ttl_factor = 3;
    l.policy.margin = Duration::from_secs(500);
    let both = all(&[r311(&a), r311(&b)], 300);
    l.see(Some(both.clone()), t(100));
    assert_eq!(
        l.verdict(&both, t(100)).allowed_at(t(100)),
        Some(t(100 + 900 + 500))
    );
    l.see(Some(both.clone()), t(100 + 1399));
    assert!(!l.verdict(&both, t(100 + 1399)).is_safe());
    l.see(Some(both.clone()), t(100 + 1400));
    assert!(l.verdict(&both, t(100 + 1400)).is_safe());
}

#[test]
fn clock_restarts_when_a_server_stops_serving() {
    let a = key("a");
    let (mut l, _, b) = prepublished(all(&[r311(&a)], 300), 300);
    let both = all(&[r311(&a), r311(&b)], 300);
    l.see(Some(both.clone()), t(100));
    let lapse = observation(
        &[Some(vec![r311(&a), r311(&b)]), Some(vec![r311(&a)])],
        300,
        3600,
        Validation::Secure,
    );
    l.see(Some(lapse.clone()), t(500));
    let v = l.verdict(&lapse, t(500));
    match &v {
        Verdict::NotYet { reasons, earliest } => {
            assert_eq!(*earliest, None);
            assert!(reasons.iter().any(|r| matches!(r,
                Reason::NotServed { servers, .. } if servers.len() == 1 && servers[0].contains("ns2"))), "{reasons:?}");
        }
        Verdict::Safe => panic!("a lagging server must block"),
    }
    let since = |l: &Lineage| {
        l.state.owners[OWNER]
            .propagation
            .as_ref()
            .and_then(|p| p.since)
    };
    assert_eq!(since(&l), None, "the lapse restarted the clock");
    l.see(Some(both.clone()), t(800));
    assert_eq!(since(&l), Some(t(800)));
    // Would have been safe at t(760) without the lapse; the clock restarted at t(800).
    assert_eq!(l.verdict(&both, t(800)).allowed_at(t(800)), Some(t(1460)));
    l.see(Some(both.clone()), t(1459));
    assert!(!l.verdict(&both, t(1459)).is_safe());
}

#[test]
fn clock_restarts_when_the_owner_is_not_observed() {
    let a = key("a");
    let (mut l, _, b) = prepublished(all(&[r311(&a)], 300), 300);
    let both = all(&[r311(&a), r311(&b)], 300);
    l.see(Some(both.clone()), t(100));
    l.see(None, t(200));
    l.see(Some(both.clone()), t(300));
    assert_eq!(l.verdict(&both, t(300)).allowed_at(t(300)), Some(t(960)));
}

#[test]
fn not_secure_blocks_and_restarts_the_clock() {
    let a = key("a");
    let (mut l, _, b) = prepublished(all(&[r311(&a)], 300), 300);
    let both = all(&[r311(&a), r311(&b)], 300);
    l.see(Some(both.clone()), t(100));
    for v in [
        Validation::Bogus,
        Validation::Insecure,
        Validation::Indeterminate,
    ] {
        let s = Some(vec![r311(&a), r311(&b)]);
        let bad = observation(&[s.clone(), s], 300, 3600, v);
        l.see(Some(bad.clone()), t(1000));
        let verdict = l.verdict(&bad, t(1000));
        match verdict {
            Verdict::NotYet { reasons, earliest } => {
                assert_eq!(earliest, None);
                assert!(
                    reasons.iter().any(
                        |r| matches!(r, Reason::NotSigned { servers, .. } if servers.len() == 2)
                    )
                );
            }
            Verdict::Safe => panic!("{v:?} must block"),
        }
        assert_eq!(
            l.state.owners[OWNER].propagation.as_ref().unwrap().since,
            None
        );
    }
}

#[test]
fn one_lagging_or_failing_server_blocks() {
    let a = key("a");
    let (mut l, _, b) = prepublished(all(&[r311(&a)], 300), 300);
    let lag = observation(
        &[Some(vec![r311(&a), r311(&b)]), None],
        300,
        3600,
        Validation::Secure,
    );
    for now in [100, 10_000, 100_000] {
        l.see(Some(lag.clone()), t(now));
        assert!(!l.verdict(&lag, t(now)).is_safe());
        assert_eq!(l.verdict(&lag, t(now)).allowed_at(t(now)), None);
    }
    let phase = phase(
        &l.state,
        &l.verdict(&lag, t(100_000)),
        t(100_000),
        &l.policy,
    );
    assert_eq!(phase, Phase::Publishing);
}

#[test]
fn clock_going_backwards_restarts_the_wait() {
    let a = key("a");
    let (mut l, _, b) = prepublished(all(&[r311(&a)], 300), 300);
    let both = all(&[r311(&a), r311(&b)], 300);
    l.see(Some(both.clone()), t(1000));
    // The clock jumps back before the first sighting: the wait counts again from here.
    l.see(Some(both.clone()), t(500));
    assert_eq!(l.verdict(&both, t(500)).allowed_at(t(500)), Some(t(1160)));
    // A first sighting in the future never makes a switch safe.
    l.state
        .owners
        .get_mut(OWNER)
        .unwrap()
        .propagation
        .as_mut()
        .unwrap()
        .since = Some(t(200_000));
    assert!(!l.verdict(&both, t(100_000)).is_safe());
}

#[test]
fn sha512_records_are_required_when_configured() {
    let a = key("a");
    let b = key("b");
    let mut l = Lineage::new(&a);
    l.policy.matching = vec![Matching::Sha256, Matching::Sha512];
    let a_all = a.records(&l.policy.matching);
    l.see(Some(all(&a_all, 300)), t(0));
    let p = l.plan(&all(&a_all, 300), t(0), Goal::Maintain);
    l.act(&p, &b, t(0));
    let p = l.plan(&all(&a_all, 300), t(0), Goal::Maintain);
    let published = publishes(&p);
    assert_eq!(published, b.records(&l.policy.matching));
    // Only the 3 1 1 record served: not enough.
    let partial = all(&[a_all.clone(), vec![r311(&b)]].concat(), 300);
    l.see(Some(partial.clone()), t(100));
    l.see(Some(partial.clone()), t(10_000));
    assert!(!l.verdict(&partial, t(10_000)).is_safe());
    let full = all(&[a_all, b.records(&l.policy.matching)].concat(), 300);
    l.see(Some(full.clone()), t(10_000));
    l.see(Some(full.clone()), t(10_660));
    assert!(l.verdict(&full, t(10_660)).is_safe());
}

// ---------------------------------------------------------------------------------------
// Phases, from start to the next cycle.

#[test]
fn phase_transitions_through_a_whole_cycle() {
    let a = key("a");
    let b = key("b");
    let c = key("c");
    let mut l = Lineage::new(&a);
    let ph = |l: &Lineage, obs: &OwnerObservation, now| {
        phase(&l.state, &l.verdict(obs, now), now, &l.policy)
    };
    let only_a = all(&[r311(&a)], 300);
    assert_eq!(l.see(Some(only_a.clone()), t(0)), LiveChange::Adopted);
    assert_eq!(ph(&l, &only_a, t(0)), Phase::Unpublished);
    let p = l.plan(&only_a, t(0), Goal::Maintain);
    l.act(&p, &b, t(0));
    // Key generated, records not yet published.
    assert_eq!(ph(&l, &only_a, t(0)), Phase::Unpublished);
    let p = l.plan(&only_a, t(0), Goal::Maintain);
    l.act(&p, &b, t(0));
    assert_eq!(ph(&l, &only_a, t(0)), Phase::Publishing);
    let both = all(&[r311(&a), r311(&b)], 300);
    l.see(Some(both.clone()), t(100));
    assert_eq!(
        ph(&l, &both, t(100)),
        Phase::Propagating {
            since: t(100),
            until: Some(t(760))
        }
    );
    l.see(Some(both.clone()), t(760));
    assert_eq!(ph(&l, &both, t(760)), Phase::Ready);
    let p = l.plan(&both, t(760), Goal::Switch);
    assert!(switches(&p));
    // The engine records its intent: Switching.
    l.state.intent = Some(Intent::Switch {
        key: b.clone(),
        key_path: "/s/b.pem".into(),
        archive_path: "/le/archive/x/privkey2.pem".into(),
        previous_target: "../../archive/x/privkey1.pem".into(),
        at: t(760),
        certbot: None,
    });
    assert_eq!(ph(&l, &both, t(760)), Phase::Switching);
    // The switch went through: the certificate carries b.
    l.state.intent = None;
    l.live = b.clone();
    assert_eq!(l.see(Some(both.clone()), t(770)), LiveChange::Promoted);
    assert_eq!(ph(&l, &both, t(770)), Phase::Switched { at: t(770) });
    let p = l.plan(&both, t(770), Goal::Maintain);
    assert!(p.actions.contains(&Action::GenerateNextKey));
    assert!(p.actions.contains(&Action::Reload));
    assert!(retires(&p).is_empty(), "old records must stay one wait");
    l.act(&p, &c, t(770));
    let p = l.plan(&both, t(770), Goal::Maintain);
    assert_eq!(publishes(&p), vec![r311(&c)]);
    l.act(&p, &c, t(770));
    let three = all(&[r311(&a), r311(&b), r311(&c)], 300);
    l.see(Some(three.clone()), t(800));
    assert_eq!(ph(&l, &three, t(800)), Phase::Switched { at: t(770) });
    // One full wait after the switch, the old key's record goes.
    l.see(Some(three.clone()), t(770 + 659));
    assert!(retires(&l.plan(&three, t(770 + 659), Goal::Maintain)).is_empty());
    l.see(Some(three.clone()), t(770 + 660));
    let p = l.plan(&three, t(770 + 660), Goal::Maintain);
    assert_eq!(retires(&p), vec![r311(&a)]);
    l.act(&p, &c, t(770 + 660));
    let two = all(&[r311(&b), r311(&c)], 300);
    l.see(Some(two.clone()), t(1500));
    assert_eq!(
        ph(&l, &two, t(1500)),
        Phase::Propagating {
            since: t(800),
            until: Some(t(1460))
        }
        .clone()
        .into_ready_if(t(1500))
    );
}

impl Phase {
    /// Test helper: a Propagating phase whose wait is over is Ready.
    fn into_ready_if(self, now: Timestamp) -> Phase {
        match self {
            Phase::Propagating { until: Some(u), .. } if u <= now => Phase::Ready,
            other => other,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Invariant 1: the live key's record (and one live within the wait) is never removed.

#[test]
fn retire_never_touches_current_or_next_and_waits_for_reload() {
    let a = key("a");
    let b = key("b");
    let c = key("c");
    let mut l = Lineage::new(&b);
    l.state.current = Some(CurrentKey {
        key: b.clone(),
        since: t(0),
    });
    l.state.set_next(c.clone(), "/s/c.pem".into(), t(0));
    // The state wrongly lists the current and next keys as retired long ago, and a.
    for k in [&a, &b, &c] {
        l.state.retired.push(RetiredKey {
            key: k.clone(),
            retired_at: t(-1_000_000),
            removed_at: None,
        });
    }
    let recs = vec![r311(&a), r311(&b), r311(&c)];
    let obs = all(&recs, 300);
    l.see(Some(obs.clone()), t(0));
    l.state.record_published(OWNER, &recs, t(0));
    let p = l.plan(&obs, t(0), Goal::Maintain);
    assert_eq!(retires(&p), vec![r311(&a)]);
    // While a reload is pending, the server may still present an old key: nothing goes.
    l.state.reload_pending = true;
    let p = l.plan(&obs, t(0), Goal::Maintain);
    assert!(retires(&p).is_empty());
}

#[test]
fn retired_key_waits_the_larger_observed_ttl() {
    let a = key("a");
    let b = key("b");
    let mut l = Lineage::new(&b);
    l.see(Some(all(&[r311(&a), r311(&b)], 3600)), t(0));
    l.state.retired.push(RetiredKey {
        key: a.clone(),
        retired_at: t(0),
        removed_at: None,
    });
    let obs = all(&[r311(&a), r311(&b)], 3600);
    l.see(Some(obs.clone()), t(7259));
    assert!(retires(&l.plan(&obs, t(7259), Goal::Maintain)).is_empty());
    assert_eq!(
        retires(&l.plan(&obs, t(7260), Goal::Maintain)),
        vec![r311(&a)]
    );
}

#[test]
fn unknown_renewal_is_an_outage_and_is_published_at_once() {
    let a = key("a");
    let b = key("b");
    let x = key("x");
    let (mut l, _, _) = prepublished(all(&[r311(&a)], 300), 300);
    let both = all(&[r311(&a), r311(&b)], 300);
    l.see(Some(both.clone()), t(100));
    // certbot renewed without reuse_key: the certificate now carries x.
    l.live = x.clone();
    assert_eq!(l.see(Some(both.clone()), t(200)), LiveChange::Unknown);
    let p = l.plan(&both, t(200), Goal::Maintain);
    assert!(
        p.dangers
            .iter()
            .any(|d| matches!(d, Danger::Outage { live, .. } if *live == x.id))
    );
    assert!(
        p.actions
            .iter()
            .any(|a| matches!(a, Action::Alert(Danger::Outage { .. })))
    );
    assert!(publishes(&p).contains(&r311(&x)));
    // The next key stays next; a is retired (not removed yet).
    assert_eq!(l.next(), &b);
    assert!(retires(&p).is_empty());
    assert!(l.state.retired.iter().any(|r| r.key == a));
}

#[test]
fn first_publication_on_an_empty_owner_is_not_an_outage() {
    let a = key("a");
    let mut l = Lineage::new(&a);
    let empty = observation(&[Some(vec![]), Some(vec![])], 300, 60, Validation::Secure);
    l.see(Some(empty.clone()), t(0));
    let p = l.plan(&empty, t(0), Goal::Maintain);
    assert!(!p.dangers.iter().any(|d| matches!(d, Danger::Outage { .. })));
    assert!(
        p.dangers
            .iter()
            .any(|d| matches!(d, Danger::LiveNotServed { .. }))
    );
    assert_eq!(publishes(&p), vec![r311(&a)]);
}

// ---------------------------------------------------------------------------------------
// Invariant 2: no switch before the full wait.

#[test]
fn switch_is_planned_only_when_safe() {
    let a = key("a");
    let (mut l, _, b) = prepublished(all(&[r311(&a)], 300), 300);
    let both = all(&[r311(&a), r311(&b)], 300);
    for now in [100, 300, 759] {
        l.see(Some(both.clone()), t(now));
        let p = l.plan(&both, t(now), Goal::Switch);
        assert!(!switches(&p), "switch at {now}");
        assert!(
            p.actions
                .iter()
                .any(|a| matches!(a, Action::Wait { until: Some(u), .. } if *u == t(760)))
        );
        assert_eq!(p.switch_allowed_at, Some(t(760)));
    }
    l.see(Some(both.clone()), t(760));
    assert!(switches(&l.plan(&both, t(760), Goal::Switch)));
    // Maintain never switches.
    assert!(!switches(&l.plan(&both, t(760), Goal::Maintain)));
    // An open intent blocks.
    l.state.intent = Some(Intent::NewNextKey {
        key: key("z"),
        path: "/s/z.pem".into(),
        at: t(0),
    });
    let p = l.plan(&both, t(760), Goal::Switch);
    assert!(!switches(&p));
    assert!(publishes(&p).is_empty());
}

#[test]
fn scheduled_rollover_only_when_due_and_safe() {
    let a = key("a");
    let (mut l, _, b) = prepublished(all(&[r311(&a)], 300), 300);
    l.policy.rollover_every = Some(Duration::from_secs(10_000));
    let both = all(&[r311(&a), r311(&b)], 300);
    l.see(Some(both.clone()), t(100));
    // Safe at 760 but not due (current since t(0) + 10000).
    l.see(Some(both.clone()), t(5000));
    assert!(!switches(&l.plan(&both, t(5000), Goal::Scheduled)));
    l.see(Some(both.clone()), t(10_000));
    assert!(switches(&l.plan(&both, t(10_000), Goal::Scheduled)));
    // Due but not safe: a problem and a wait, no switch.
    let lag = observation(
        &[Some(vec![r311(&a), r311(&b)]), None],
        300,
        60,
        Validation::Secure,
    );
    l.see(Some(lag.clone()), t(10_001));
    let p = l.plan(&lag, t(10_001), Goal::Scheduled);
    assert!(!switches(&p));
    assert!(
        p.problems
            .iter()
            .any(|p| matches!(p, Problem::RolloverDue { .. }))
    );
}

// ---------------------------------------------------------------------------------------
// Invariant 3: records of no key of this lineage are never changed; hand-made records of
// the current key are adopted.

#[test]
fn foreign_records_are_never_touched_and_hand_made_current_is_adopted() {
    let a = key("a");
    let b = key("b");
    let other_lineage = r311(&key("other"));
    let dane_ta: TlsaRecord = format!("2 0 1 {}", "ab".repeat(32)).parse().unwrap();
    let cert_hash: TlsaRecord = format!("3 0 1 {}", r311(&a).data_hex()).parse().unwrap();
    let foreign = vec![other_lineage.clone(), dane_ta.clone(), cert_hash.clone()];
    let mut l = Lineage::new(&a);
    // The owner already has a hand-made record of the current key and foreign ones.
    let before = all(&[foreign.clone(), vec![r311(&a)]].concat(), 300);
    l.see(Some(before.clone()), t(0));
    let owned = &l.state.owners[OWNER].records;
    assert_eq!(owned.len(), 1);
    assert!(owned[0].adopted && owned[0].record == r311(&a));
    let p = l.plan(&before, t(0), Goal::Maintain);
    l.act(&p, &b, t(0));
    let p = l.plan(&before, t(0), Goal::Maintain);
    assert_eq!(
        publishes(&p),
        vec![r311(&b)],
        "the adopted record is not re-published"
    );
    l.act(&p, &b, t(0));
    // Switch, then long after: only a's record is retired, never the foreign ones.
    l.live = b.clone();
    let served = all(&[foreign.clone(), vec![r311(&a), r311(&b)]].concat(), 300);
    l.see(Some(served.clone()), t(100));
    l.state.reload_pending = false;
    let c = key("c");
    let p = l.plan(&served, t(100_000), Goal::Maintain);
    l.act(&p, &c, t(100_000));
    let p = l.plan(&served, t(100_000), Goal::Maintain);
    assert_eq!(retires(&p), vec![r311(&a)]);
    for rec in &foreign {
        assert!(!publishes(&p).contains(rec) && !retires(&p).contains(rec));
    }
    // A foreign record is not adopted either.
    assert!(
        l.state.owners[OWNER]
            .records
            .iter()
            .all(|x| !foreign.contains(&x.record))
    );
}

#[test]
fn hand_made_record_of_a_retired_key_is_retired_when_due() {
    let a = key("a");
    let b = key("b");
    let mut l = Lineage::new(&b);
    l.see(Some(all(&[r311(&b)], 300)), t(0));
    l.state.retired.push(RetiredKey {
        key: a.clone(),
        retired_at: t(0),
        removed_at: Some(t(1)),
    });
    let obs = all(&[r311(&a), r311(&b)], 300);
    l.see(Some(obs.clone()), t(10_000));
    assert_eq!(
        retires(&l.plan(&obs, t(10_000), Goal::Maintain)),
        vec![r311(&a)]
    );
}

/// After the servers dropped a retired key's record, the validating resolver may still
/// hold its cached copy for a TTL: that is no record to retire again, nor one that
/// "stays" (a `run` once printed "done: retire" again, and "the records stay", while the
/// servers held nothing).
#[test]
fn a_record_only_the_resolver_still_caches_is_neither_retired_nor_said_to_stay() {
    let a = key("a");
    let b = key("b");
    let mut l = Lineage::new(&b);
    l.see(Some(all(&[r311(&b)], 300)), t(0));
    l.state.retired.push(RetiredKey {
        key: a.clone(),
        retired_at: t(0),
        removed_at: Some(t(1)),
    });
    let mut cached = all(&[r311(&b)], 300);
    cached.validated.records.push(r311(&a));
    l.see(Some(cached.clone()), t(10_000));
    let p = l.plan(&cached, t(10_000), Goal::Maintain);
    assert!(retires(&p).is_empty(), "{p:?}");
    // Probed: an endpoint still serving a's key would hold a retirement of records that
    // are not there: no claim that they stay.
    let probe = crate::endpoint::EndpointProbe {
        endpoint: crate::endpoint::Endpoint {
            host: "mail.example.test".into(),
            port: 25,
            address: None,
            protocol: crate::probe::Protocol::Smtp,
            algorithms: crate::probe::Algorithms::All,
        },
        address: Some("127.0.0.1:25".parse().unwrap()),
        serving: crate::endpoint::Serving::Key {
            spki: a.spki.clone(),
        },
    };
    let p = plan_probed(
        &l.state,
        std::slice::from_ref(&cached),
        Some(std::slice::from_ref(&probe)),
        true,
        t(10_000),
        &l.policy,
        Goal::Maintain,
    );
    assert!(
        !p.problems
            .iter()
            .any(|x| matches!(x, Problem::RetirementHeld { .. })),
        "{:?}",
        p.problems
    );
    // Served again by a server: retired again.
    let back = all(&[r311(&a), r311(&b)], 300);
    l.see(Some(back.clone()), t(10_001));
    assert_eq!(
        retires(&l.plan(&back, t(10_001), Goal::Maintain)),
        vec![r311(&a)]
    );
}

/// A lineage that probes but has no endpoint is never probed against nothing: an alert
/// with the fix, and its old records stay (with `probe = false` they are retired).
#[test]
fn probing_with_no_endpoint_is_an_alert_and_holds_retirement() {
    let a = key("a");
    let b = key("b");
    let mut l = Lineage::new(&b);
    l.see(Some(all(&[r311(&b)], 300)), t(0));
    l.state.retired.push(RetiredKey {
        key: a.clone(),
        retired_at: t(0),
        removed_at: None,
    });
    let obs = all(&[r311(&a), r311(&b)], 300);
    l.see(Some(obs.clone()), t(10_000));
    let probed = |probes: Option<&[crate::endpoint::EndpointProbe]>| {
        plan_probed(
            &l.state,
            std::slice::from_ref(&obs),
            probes,
            true,
            t(10_000),
            &l.policy,
            Goal::Maintain,
        )
    };
    let p = probed(Some(&[]));
    assert!(retires(&p).is_empty(), "{p:?}");
    assert_eq!(
        p.endpoint_alerts,
        vec![super::plan::NO_ENDPOINTS.to_string()]
    );
    assert!(
        p.endpoint_alerts[0].contains("endpoints = ")
            && p.endpoint_alerts[0].contains("probe = false")
    );
    let p = probed(None);
    assert_eq!(retires(&p), vec![r311(&a)]);
    assert!(p.endpoint_alerts.is_empty());
}

// ---------------------------------------------------------------------------------------
// Drift.

#[test]
fn drifted_records_are_republished_but_lagging_servers_are_waited_for() {
    let a = key("a");
    let (mut l, _, b) = prepublished(all(&[r311(&a)], 300), 300);
    let both = all(&[r311(&a), r311(&b)], 300);
    l.see(Some(both.clone()), t(100));
    assert!(publishes(&l.plan(&both, t(100), Goal::Maintain)).is_empty());
    // One server lags: not drift.
    let lag = observation(
        &[Some(vec![r311(&a), r311(&b)]), Some(vec![r311(&a)])],
        300,
        60,
        Validation::Secure,
    );
    l.see(Some(lag.clone()), t(200));
    assert!(publishes(&l.plan(&lag, t(200), Goal::Maintain)).is_empty());
    // Every server lost b's record: republish.
    let lost = all(&[r311(&a)], 300);
    l.see(Some(lost.clone()), t(300));
    assert_eq!(
        publishes(&l.plan(&lost, t(300), Goal::Maintain)),
        vec![r311(&b)]
    );
    // The live key's record too, at once, whatever the clock says.
    let gone = all(&[r311(&b)], 300);
    l.see(Some(gone.clone()), t(-5000));
    assert_eq!(
        publishes(&l.plan(&gone, t(-5000), Goal::Maintain)),
        vec![r311(&a)]
    );
    // Not observed at all: nothing to judge drift by.
    l.see(None, t(400));
    let p = plan(&l.state, &[], true, t(400), &l.policy, Goal::Maintain);
    assert!(publishes(&p).is_empty());
}

#[test]
fn nothing_is_published_before_the_owner_was_observed() {
    let a = key("a");
    let b = key("b");
    let mut l = Lineage::new(&a);
    l.see(None, t(0));
    l.state.set_next(b.clone(), "/s/b.pem".into(), t(0));
    let p = plan(&l.state, &[], true, t(0), &l.policy, Goal::Maintain);
    assert!(publishes(&p).is_empty(), "{p:?}");
    assert!(
        p.problems
            .iter()
            .any(|p| matches!(p, Problem::NotObserved { .. }))
    );
    // Once a server answered (here: the old RRset, TTL 3600), both go out, and the wait
    // counts the TTL just seen.
    let old = all(&[r311(&a)], 3600);
    l.see(Some(old.clone()), t(10));
    let p = l.plan(&old, t(10), Goal::Maintain);
    assert_eq!(publishes(&p), vec![r311(&b)]);
    l.act(&p, &b, t(10));
    let both = all(&[r311(&a), r311(&b)], 300);
    l.see(Some(both.clone()), t(20));
    assert_eq!(
        l.verdict(&both, t(20)).allowed_at(t(20)),
        Some(t(20 + 7200 + 60))
    );
}

#[test]
fn reuse_key_off_is_a_problem() {
    let a = key("a");
    let mut l = Lineage::new(&a);
    let obs = all(&[r311(&a)], 300);
    l.see(Some(obs.clone()), t(0));
    let p = plan(
        &l.state,
        std::slice::from_ref(&obs),
        false,
        t(0),
        &l.policy,
        Goal::Maintain,
    );
    assert!(p.problems.contains(&Problem::ReuseKeyOff));
}

#[test]
fn restored_old_certificate_becomes_current_again() {
    let a = key("a");
    let b = key("b");
    let mut l = Lineage::new(&b);
    l.see(Some(all(&[r311(&b)], 300)), t(0));
    l.state.retired.push(RetiredKey {
        key: a.clone(),
        retired_at: t(-100),
        removed_at: None,
    });
    l.live = a.clone();
    assert_eq!(
        l.see(Some(all(&[r311(&a), r311(&b)], 300)), t(10)),
        LiveChange::Restored
    );
    assert_eq!(l.state.current.as_ref().unwrap().key, a);
    assert!(l.state.retired.iter().any(|r| r.key == b));
    assert!(!l.state.retired.iter().any(|r| r.key == a));
}

/// `quiet` (may a pass rest on a reused observation?): only when folding it into a copy of
/// the state changes nothing but sighting times and the plan on it only waits.
#[test]
fn quiet_only_when_the_fold_changes_nothing_but_sighting_times_and_nothing_is_to_do() {
    let cur = key("cur");
    let nxt = key("nxt");
    let mut l = Lineage::new(&cur);
    for s in 0..2 {
        l.see(Some(all(&[], 300)), t(s));
        let p = l.plan(&all(&[], 300), t(s), Goal::Maintain);
        l.act(&p, &nxt, t(s));
    }
    let both = all(&[r311(&cur), r311(&nxt)], 300);
    l.see(Some(both.clone()), t(10));
    let judge = |live: &KeyInfo, obs: &OwnerObservation, now: Timestamp| {
        let mut after = l.state.clone();
        let change = reconcile_live(&mut after, live, now);
        let list = std::slice::from_ref(obs);
        update_observations(&mut after, &[OWNER.to_string()], list, now, &l.policy);
        let p = plan(&after, list, true, now, &l.policy, Goal::Maintain);
        quiet(&l.state, &after, &change, &p)
    };
    // The same answers later: only the sighting time moves.
    assert!(judge(&cur, &both, t(100)));
    // One server lacking the next record: its propagation starts again.
    let lacking = observation(
        &[Some(vec![r311(&cur), r311(&nxt)]), Some(vec![r311(&cur)])],
        300,
        3600,
        Validation::Secure,
    );
    assert!(!judge(&cur, &lacking, t(100)));
    // Not Secure: a danger.
    let s = Some(vec![r311(&cur), r311(&nxt)]);
    let bogus = observation(&[s.clone(), s], 300, 3600, Validation::Bogus);
    assert!(!judge(&cur, &bogus, t(100)));
    // Another TTL: remembered in the state.
    assert!(!judge(&cur, &all(&[r311(&cur), r311(&nxt)], 3600), t(100)));
    // The current record gone everywhere: something to publish.
    assert!(!judge(&cur, &all(&[r311(&nxt)], 300), t(100)));
    // The certificate now carries the next key: promoted, not quiet.
    assert!(!judge(&nxt, &both, t(100)));
}

#[test]
fn an_unreachable_server_is_named_unreachable_not_as_lacking_the_record() {
    let a = key("a");
    let mut l = Lineage::new(&a);
    let served = Some(vec![r311(&a)]);
    let one_down = observation(&[served.clone(), None], 300, 60, Validation::Secure);
    l.see(Some(all(&[r311(&a)], 300)), t(0));
    l.see(Some(one_down.clone()), t(10));
    let p = l.plan(&one_down, t(10), Goal::Maintain);
    let text: Vec<String> = p.dangers.iter().map(ToString::to_string).collect();
    let d = p
        .dangers
        .iter()
        .find_map(|d| match d {
            Danger::LiveNotServed {
                servers,
                unanswered,
                ..
            } => Some((servers.clone(), unanswered.clone())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{text:?}"));
    assert!(d.0.is_empty(), "{d:?}");
    assert_eq!(d.1.len(), 1, "{d:?}");
    assert!(
        d.1[0].contains("ns2.example.test.") && d.1[0].contains("timed out"),
        "{d:?}"
    );
    let shown = text.join("; ");
    assert!(shown.contains("unreachable or failing"), "{shown}");
    assert!(!shown.contains("not served by"), "{shown}");
    // A server that answers without the record is still "not served by".
    let lacking = observation(&[served, Some(vec![])], 300, 60, Validation::Secure);
    let p = l.plan(&lacking, t(20), Goal::Maintain);
    let shown: Vec<String> = p.dangers.iter().map(ToString::to_string).collect();
    assert!(
        shown.iter().any(|d| d.contains("not served by ns2")),
        "{shown:?}"
    );
}

#[test]
fn a_raised_ttl_publishes_the_records_again_and_a_lower_one_does_not() {
    let a = key("a");
    let mut l = Lineage::new(&a);
    let empty = observation(&[Some(vec![]), Some(vec![])], 300, 60, Validation::Secure);
    l.see(Some(empty.clone()), t(0));
    let p = l.plan(&empty, t(0), Goal::Maintain);
    for a in &p.actions {
        if let Action::Publish { owner, records } = a {
            l.state.record_published(owner, records, t(0));
        }
    }
    let published: Vec<TlsaRecord> = l.state.owners[OWNER]
        .records
        .iter()
        .map(|x| x.record.clone())
        .collect();
    assert!(!published.is_empty());
    // Served with the configured TTL (300): nothing to publish.
    let at_300 = all(&published, 300);
    l.see(Some(at_300.clone()), t(10));
    assert!(publishes(&l.plan(&at_300, t(10), Goal::Maintain)).is_empty());
    // Served with 60 (the TTL was raised since): published again, the same records.
    let at_60 = all(&published, 60);
    l.see(Some(at_60.clone()), t(20));
    let mut again = publishes(&l.plan(&at_60, t(20), Goal::Maintain));
    again.sort();
    let mut want = published.clone();
    want.sort();
    assert_eq!(again, want);
    // Served with more than configured (a provider's minimum): left alone.
    let at_3600 = all(&published, 3600);
    l.see(Some(at_3600.clone()), t(30));
    assert!(publishes(&l.plan(&at_3600, t(30), Goal::Maintain)).is_empty());
}

// Secure from the servers themselves (their signatures), the resolver as the cross-check.
mod first_look;
mod signed;
