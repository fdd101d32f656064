//! The wait formula, case by case: when the clock starts, restarts, and what it adds up.

use super::*;

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
