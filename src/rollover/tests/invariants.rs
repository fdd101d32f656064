//! The safety invariants: the live key's record is never removed, no switch before the
//! full wait, records of no key of this lineage are never changed.

use super::*;

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
            protocol: crate::endpoint::Protocol::Smtp,
            algorithms: crate::endpoint::Algorithms::All,
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
