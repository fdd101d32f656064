//! Drift: records changed behind the rollover's back, observations reused or missing, TTLs
//! raised.

use super::*;

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
