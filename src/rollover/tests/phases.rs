//! Phases, from start to the next cycle.

use super::*;

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
