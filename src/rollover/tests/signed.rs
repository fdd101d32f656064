//! Secure from the servers themselves: the clock, the switch and the emergency follow each
//! server's signature; the validating resolver's cached view is only the cross-check.

use super::*;
use crate::dns::Signature;

/// `o` as seen through a validating resolver that returns `records`, Secure (an older
/// cached answer, or the negative answer from before the first publication).
fn resolver_holds(mut o: OwnerObservation, records: Vec<TlsaRecord>) -> OwnerObservation {
    o.validated.records = records;
    o
}

fn sign(o: &mut OwnerObservation, server: usize, s: Signature) {
    if let ServerOutcome::Answer(a) = &mut o.servers[server].outcome {
        a.signature = s;
    }
}

#[test]
fn the_clock_starts_at_the_servers_not_at_the_resolver_cache() {
    let a = key("a");
    let (mut l, _, b) = prepublished(all(&[r311(&a)], 300), 300);
    // Every server serves current + next, signed; the resolver still holds the old RRset.
    let both = resolver_holds(all(&[r311(&a), r311(&b)], 300), vec![r311(&a)]);
    l.see(Some(both.clone()), t(100));
    assert_eq!(
        l.state.owners[OWNER].propagation.as_ref().unwrap().since,
        Some(t(100))
    );
    assert_eq!(l.verdict(&both, t(100)).allowed_at(t(100)), Some(t(760)));
    let p = l.plan(&both, t(100), Goal::Switch);
    assert!(p.dangers.is_empty(), "{:?}", p.dangers);
    // While the wait runs, a resolver behind is expected: nothing reported.
    assert!(
        !p.problems
            .iter()
            .any(|p| matches!(p, Problem::ResolverDisagrees { .. }))
    );
    l.see(Some(both.clone()), t(759));
    assert!(!switches(&l.plan(&both, t(759), Goal::Switch)));
    // Once the wait is over the switch goes ahead, and a resolver still without the next
    // key's record is reported (it holds an answer longer than its TTL).
    l.see(Some(both.clone()), t(760));
    let p = l.plan(&both, t(760), Goal::Switch);
    assert!(switches(&p));
    assert!(
        p.problems.iter().any(
            |p| matches!(p, Problem::ResolverDisagrees { owner, text } if owner == OWNER && text.contains("lacks the next key"))
        ),
        "{:?}",
        p.problems
    );
    // A resolver that agrees is not reported.
    let agreeing = all(&[r311(&a), r311(&b)], 300);
    let p = l.plan(&agreeing, t(760), Goal::Switch);
    assert!(
        !p.problems
            .iter()
            .any(|p| matches!(p, Problem::ResolverDisagrees { .. }))
    );
}

#[test]
fn a_forged_expired_or_unknown_signature_holds_the_clock_at_that_server() {
    let a = key("a");
    let (mut l, _, b) = prepublished(all(&[r311(&a)], 300), 300);
    let both = all(&[r311(&a), r311(&b)], 300);
    l.see(Some(both.clone()), t(100));
    let cases = [
        (
            Signature::Invalid {
                reason:
                    "the RRSIG of TLSA _25._tcp.mail.example.test. does not verify with key tag 7"
                        .into(),
            },
            "does not verify",
            true,
        ),
        (Signature::Valid { expires: t(300) }, "expired", true),
        (
            Signature::Unknown {
                reason: "the DNSKEY RRset of example.test. could not be authenticated".into(),
            },
            "cannot tell",
            false,
        ),
    ];
    for (sig, why, danger) in cases {
        let mut bad = both.clone();
        sign(&mut bad, 1, sig);
        l.see(Some(bad.clone()), t(400));
        assert_eq!(
            l.state.owners[OWNER].propagation.as_ref().unwrap().since,
            None,
            "{why}"
        );
        let Verdict::NotYet { reasons, earliest } = l.verdict(&bad, t(400)) else {
            panic!("{why}: must not be safe");
        };
        assert_eq!(earliest, None);
        assert!(
            reasons
                .iter()
                .any(|r| matches!(r, Reason::NotSigned { servers, .. }
                if servers.len() == 1 && servers[0].contains("ns2") && servers[0].contains(why))),
            "{why}: {reasons:?}"
        );
        let p = l.plan(&bad, t(400), Goal::Switch);
        assert_eq!(
            p.dangers
                .iter()
                .any(|d| matches!(d, Danger::BadSignature { servers, .. }
                if servers.len() == 1 && servers[0].contains("ns2"))),
            danger,
            "{why}: {:?}",
            p.dangers
        );
        assert!(
            crate::rollover::emergency_verdict(
                &l.state,
                std::slice::from_ref(&bad),
                t(400),
                &l.policy
            )
            .is_err(),
            "{why}"
        );
        // Signed again: the clock starts over.
        l.see(Some(both.clone()), t(500));
        assert_eq!(
            l.state.owners[OWNER].propagation.as_ref().unwrap().since,
            Some(t(500))
        );
    }
}

#[test]
fn the_emergency_goes_ahead_when_every_server_signs_whatever_the_resolver_holds() {
    let a = key("a");
    let (mut l, _, b) = prepublished(all(&[r311(&a)], 300), 300);
    let both = resolver_holds(all(&[r311(&a), r311(&b)], 300), vec![r311(&a)]);
    l.see(Some(both.clone()), t(100));
    // Allowed at once; resolvers may hold the older RRset until the wait would have ended.
    assert_eq!(
        crate::rollover::emergency_verdict(
            &l.state,
            std::slice::from_ref(&both),
            t(100),
            &l.policy
        ),
        Ok(t(760))
    );
    // One server without the record: refused, naming it.
    let lagging = observation(
        &[Some(vec![r311(&a), r311(&b)]), Some(vec![r311(&a)])],
        300,
        3600,
        Validation::Secure,
    );
    let e = crate::rollover::emergency_verdict(
        &l.state,
        std::slice::from_ref(&lagging),
        t(100),
        &l.policy,
    )
    .unwrap_err();
    assert!(
        e.iter().any(
            |r| matches!(r, Reason::NotServed { servers, .. } if servers[0].contains("127.0.10.2"))
        ),
        "{e:?}"
    );
}

#[test]
fn a_resolver_still_holding_its_negative_answer_is_no_danger() {
    let a = key("a");
    let mut l = Lineage::new(&a);
    let empty = observation(&[Some(vec![]), Some(vec![])], 300, 60, Validation::Secure);
    l.see(Some(empty.clone()), t(0));
    let p = l.plan(&empty, t(0), Goal::Maintain);
    l.act(&p, &key("b"), t(0));
    // Right after the publication: every server serves the live key's record, signed; the
    // resolver still has "no TLSA here" cached (senders using it see no DANE, fail nothing).
    let published = resolver_holds(all(&[r311(&a)], 300), vec![]);
    l.see(Some(published.clone()), t(1));
    let p = l.plan(&published, t(1), Goal::Maintain);
    assert!(p.dangers.is_empty(), "{:?}", p.dangers);
    // A resolver holding records none of which is the live key's is an outage, as before.
    let stale = resolver_holds(all(&[r311(&a)], 300), vec![r311(&key("z"))]);
    let p = l.plan(&stale, t(2), Goal::Maintain);
    assert!(
        p.dangers.iter().any(|d| matches!(d, Danger::Outage { .. })),
        "{:?}",
        p.dangers
    );
}
