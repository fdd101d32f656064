//! The first look at an owner: records already there have an unknown TTL history, and
//! `[dns] prior_ttl` is assumed for them (the 10,000-history run's TTL lowered before the
//! first look).

use super::*;

fn with_prior_ttl(prior_ttl: u32) -> Lineage {
    let mut l = Lineage::new(&key("a"));
    l.policy.prior_ttl = prior_ttl;
    l
}

/// Prepublish `b` over `before`, seen first at t(0).
fn prepublish(l: &mut Lineage, before: &OwnerObservation, b: &KeyInfo) {
    l.see(Some(before.clone()), t(0));
    let p = l.plan(before, t(0), Goal::Maintain);
    l.act(&p, b, t(0));
    let p = l.plan(before, t(0), Goal::Maintain);
    l.act(&p, b, t(0));
}

#[test]
fn records_there_at_the_first_look_wait_for_prior_ttl_and_say_so() {
    let (a, b) = (key("a"), key("b"));
    let mut l = with_prior_ttl(3600);
    // A hand-made record of the live key, served with TTL 60 at the first look: it may
    // have been served with 3600 just before.
    prepublish(&mut l, &all(&[r311(&a)], 60), &b);
    let both = all(&[r311(&a), r311(&b)], 60);
    l.see(Some(both.clone()), t(10));
    let v = l.verdict(&both, t(10));
    // 2 x 3600 + 60 from t(10), not 2 x 300 + 60.
    assert_eq!(v.allowed_at(t(10)), Some(t(10 + 7260)));
    let Verdict::NotYet { reasons, .. } = &v else {
        unreachable!()
    };
    let text = reasons
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.contains("[dns] prior_ttl = 1h"), "{text}");
    assert!(reasons.iter().any(|r| matches!(
        r,
        Reason::Waiting {
            unseen_ttl: Some(3600),
            ..
        }
    )));
    l.see(Some(both.clone()), t(7269));
    assert!(!switches(&l.plan(&both, t(7269), Goal::Switch)));
    l.see(Some(both.clone()), t(7270));
    assert!(switches(&l.plan(&both, t(7270), Goal::Switch)));
}

#[test]
fn an_owner_empty_at_the_first_look_assumes_nothing() {
    let b = key("b");
    let mut l = with_prior_ttl(86_400);
    let empty = observation(&[Some(vec![]), Some(vec![])], 300, 60, Validation::Secure);
    prepublish(&mut l, &empty, &b);
    let a = key("a");
    let both = all(&[r311(&a), r311(&b)], 300);
    l.see(Some(both.clone()), t(10));
    // 2 x 300 + the negative TTL 60 + 60.
    let v = l.verdict(&both, t(10));
    assert_eq!(v.allowed_at(t(10)), Some(t(10 + 720)));
    let Verdict::NotYet { reasons, .. } = &v else {
        unreachable!()
    };
    assert!(reasons.iter().all(|r| !r.to_string().contains("prior_ttl")));
}

#[test]
fn only_the_first_look_assumes_and_prior_ttl_no_larger_than_seen_adds_nothing() {
    let (a, b) = (key("a"), key("b"));
    // prior_ttl no larger than the TTL seen: the seen TTL rules.
    let mut l = with_prior_ttl(300);
    prepublish(&mut l, &all(&[r311(&a)], 300), &b);
    let both = all(&[r311(&a), r311(&b)], 300);
    l.see(Some(both.clone()), t(10));
    assert_eq!(l.verdict(&both, t(10)).allowed_at(t(10)), Some(t(670)));
    // Seen before: a later look at the same records assumes nothing new.
    let mut l = with_prior_ttl(0);
    l.see(Some(all(&[r311(&a)], 300)), t(0));
    l.policy.prior_ttl = 86_400;
    prepublish(&mut l, &all(&[r311(&a)], 300), &b);
    l.see(Some(both.clone()), t(10));
    assert_eq!(l.verdict(&both, t(10)).allowed_at(t(10)), Some(t(670)));
}
