//! DNS observation against the lab's real servers (PowerDNS primary + second server,
//! BIND, validating Unbound). Each test creates its own fresh owner names and deletes them.

mod common;
mod dns_lab;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use danerollover::dns::live::LiveObserver;
use danerollover::dns::resolve::{self, Resolver};
use danerollover::dns::wire::{self, Flags};
use danerollover::dns::{Observe, OwnerObservation, OwnerQuery, Served, ServerOutcome, Validation};
use hickory_proto::rr::{Name, RData, RecordType};

use common::Lab;
use dns_lab::*;

fn observer(lab: &Lab, in_process: bool, timeout: Duration) -> LiveObserver {
    let cfg = if in_process {
        in_process_config(lab, timeout)
    } else {
        ad_config(lab, timeout)
    };
    LiveObserver::new(&cfg, &Default::default()).expect("observer")
}

fn query(owner: &str, nameservers: &[SocketAddr]) -> OwnerQuery {
    OwnerQuery {
        owner: abs(owner),
        zone: None,
        nameservers: nameservers.to_vec(),
    }
}

fn answers(o: &OwnerObservation) -> Vec<(SocketAddr, &Served)> {
    o.servers
        .iter()
        .filter_map(|s| match &s.outcome {
            ServerOutcome::Answer(a) => Some((s.server, a)),
            ServerOutcome::Error { .. } => None,
        })
        .collect()
}

fn error_of(o: &OwnerObservation, server: SocketAddr) -> Option<&str> {
    o.servers
        .iter()
        .find(|s| s.server == server)
        .and_then(|s| match &s.outcome {
            ServerOutcome::Error { error } => Some(error.as_str()),
            ServerOutcome::Answer(_) => None,
        })
}

#[tokio::test]
async fn published_records_are_secure_through_ad_and_in_process() {
    let Some(lab) = Lab::get("published_records_are_secure_through_ad_and_in_process") else {
        return;
    };
    let zone = lab.var("LAB_PDNS_ZONE").to_string();
    let owner = format!("_25._tcp.{}.{zone}", fresh("secure"));
    let (r1, r2) = (record(), record());
    pdns_tlsa(&lab, &zone, &owner, 120, &[r1.clone(), r2.clone()]);
    let _cleanup = PdnsCleanup {
        lab: &lab,
        rrsets: vec![(zone.clone(), owner.clone(), "TLSA".into())],
    };

    for in_process in [false, true] {
        let cfg = if in_process {
            in_process_config(&lab, Duration::from_secs(3))
        } else {
            ad_config(&lab, Duration::from_secs(3))
        };
        let v = eventually("validated read", Duration::from_secs(15), || async {
            let v = resolve::validated_tlsa(&cfg, &owner).await;
            if v.state == Validation::Secure && v.records.len() == 2 {
                Ok(v)
            } else {
                Err(format!("{v:?}"))
            }
        })
        .await;
        assert!(v.records.contains(&r1) && v.records.contains(&r2), "{v:?}");
        assert!(v.ttl.is_some_and(|t| t <= 120), "{v:?}");

        let obs = observer(&lab, in_process, Duration::from_secs(3))
            .observe(&[query(&owner, &[])])
            .await;
        let o = &obs[0];
        assert_eq!(o.zone.as_deref(), Some(abs(&zone).as_str()));
        // Every address of every NS name: ns1 (A and AAAA) and ns2.
        assert_eq!(o.servers.len(), 3, "{o:#?}");
        let v6: std::net::SocketAddr = "[::1]:53".parse().unwrap();
        let ns1: Vec<_> = o
            .servers
            .iter()
            .filter(|s| s.name.as_deref() == Some(abs(&format!("ns1.{zone}")).as_str()))
            .map(|s| s.server)
            .collect();
        assert_eq!(ns1.len(), 2, "{o:#?}");
        assert!(ns1.contains(&v6), "ns1's IPv6 address is asked too: {o:#?}");
        assert!(o.all_servers_serve(&[r1.clone(), r2.clone()]), "{o:#?}");
        assert!(o.servers_agree());
        assert!(
            o.secure_with(&[r1.clone(), r2.clone()]),
            "in_process={in_process}: {o:#?}"
        );
        for (_, a) in answers(o) {
            assert!(a.authoritative);
            assert_eq!(a.ttl, Some(120));
            assert!(a.serial.is_some(), "{a:?}");
            assert_eq!(a.negative_ttl, None);
        }
        assert_eq!(o.max_ttl(), Some(120));
    }
}

#[tokio::test]
async fn bogus_and_insecure_children_are_reported_as_such() {
    let Some(lab) = Lab::get("bogus_and_insecure_children_are_reported_as_such") else {
        return;
    };
    let bogus_zone = lab.var("LAB_BOGUS_ZONE").to_string();
    let insecure_zone = lab.var("LAB_INSECURE_ZONE").to_string();
    let bogus = format!("_25._tcp.{}.{bogus_zone}", fresh("bogus"));
    let insecure = format!("_25._tcp.{}.{insecure_zone}", fresh("insecure"));
    let r = record();
    pdns_tlsa(&lab, &bogus_zone, &bogus, 60, std::slice::from_ref(&r));
    pdns_tlsa(
        &lab,
        &insecure_zone,
        &insecure,
        60,
        std::slice::from_ref(&r),
    );
    let _cleanup = PdnsCleanup {
        lab: &lab,
        rrsets: vec![
            (bogus_zone.clone(), bogus.clone(), "TLSA".into()),
            (insecure_zone.clone(), insecure.clone(), "TLSA".into()),
        ],
    };

    for in_process in [false, true] {
        let obs = eventually("observation", Duration::from_secs(15), || async {
            let obs = observer(&lab, in_process, Duration::from_secs(3))
                .observe(&[query(&bogus, &[]), query(&insecure, &[])])
                .await;
            // The servers serve both (they do not validate); wait for the resolver to see
            // the new records in the insecure zone.
            if obs[1].validated.records.contains(&r)
                && obs
                    .iter()
                    .all(|o| o.all_servers_serve(std::slice::from_ref(&r)))
            {
                Ok(obs)
            } else {
                Err(format!("{obs:#?}"))
            }
        })
        .await;
        let (b, i) = (&obs[0], &obs[1]);
        assert_eq!(
            b.zone.as_deref(),
            Some(abs(&bogus_zone).as_str()),
            "the zone of a bogus child is still found"
        );
        assert_eq!(
            b.validated.state,
            Validation::Bogus,
            "in_process={in_process}: {b:#?}"
        );
        assert!(
            b.validated.records.is_empty(),
            "bogus data must not count: {b:#?}"
        );
        assert!(!b.secure_with(std::slice::from_ref(&r)));
        assert_eq!(i.zone.as_deref(), Some(abs(&insecure_zone).as_str()));
        assert_eq!(
            i.validated.state,
            Validation::Insecure,
            "in_process={in_process}: {i:#?}"
        );
        assert!(!i.secure_with(std::slice::from_ref(&r)));
    }
}

#[tokio::test]
async fn a_stopped_server_is_an_error_for_that_server_bounded_by_the_timeout() {
    let Some(lab) = Lab::get("a_stopped_server_is_an_error_for_that_server_bounded_by_the_timeout")
    else {
        return;
    };
    let zone = lab.var("LAB_PDNS_ZONE").to_string();
    let primary = lab.addr("LAB_PDNS_DNS");
    let unused: SocketAddr = "127.0.10.99:53".parse().unwrap();
    // A server that receives queries and never answers (a hung daemon, a dropping
    // firewall): this one must end in a timeout.
    let silent_socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let silent = silent_socket.local_addr().unwrap();
    let timeout = Duration::from_millis(1500);
    let o = observer(&lab, false, timeout);
    let owners: Vec<OwnerQuery> = (0..3)
        .map(|_| {
            query(
                &format!("_25._tcp.{}.{zone}", fresh("stopped")),
                &[primary, unused, silent],
            )
        })
        .collect();
    let started = Instant::now();
    let obs = o.observe(&owners).await;
    let took = started.elapsed();
    // Three owners, two dead servers each: the timeouts run concurrently, not one after
    // the other (which would be 3 x 2 x 1.5 s).
    assert!(
        took < timeout + Duration::from_millis(1500),
        "took {took:?}"
    );
    for ob in &obs {
        assert_eq!(ob.servers.len(), 3);
        assert!(
            matches!(ob.servers[0].outcome, ServerOutcome::Answer(_)),
            "{ob:#?}"
        );
        let e = error_of(ob, unused).expect("an error for the stopped server");
        assert!(e.contains("127.0.10.99:53"), "{e}");
        let e = error_of(ob, silent).expect("an error for the silent server");
        assert!(
            e.contains(&silent.to_string()) && e.contains("no answer"),
            "{e}"
        );
        assert!(!ob.all_servers_serve(&[]));
        assert!(!ob.servers_agree());
    }
    assert!(
        took >= timeout - Duration::from_millis(100),
        "a timeout that fired early: {took:?}"
    );
}

#[tokio::test]
async fn ns_discovery_matches_the_explicit_servers() {
    let Some(lab) = Lab::get("ns_discovery_matches_the_explicit_servers") else {
        return;
    };
    let zone = lab.var("LAB_PDNS_ZONE").to_string();
    let (primary, secondary) = (lab.addr("LAB_PDNS_DNS"), lab.addr("LAB_PDNS2_DNS"));
    let owner = format!("_25._tcp.{}.{zone}", fresh("ns"));
    let r = record();
    pdns_tlsa(&lab, &zone, &owner, 300, std::slice::from_ref(&r));
    let _cleanup = PdnsCleanup {
        lab: &lab,
        rrsets: vec![(zone.clone(), owner.clone(), "TLSA".into())],
    };
    let o = observer(&lab, false, Duration::from_secs(3));
    let found = o.observe(&[query(&owner, &[])]).await;
    let v6: SocketAddr = "[::1]:53".parse().unwrap();
    let explicit = o.observe(&[query(&owner, &[primary, v6, secondary])]).await;
    let mut discovered: Vec<(SocketAddr, Option<String>)> = found[0]
        .servers
        .iter()
        .map(|s| (s.server, s.name.clone()))
        .collect();
    discovered.sort();
    assert_eq!(
        discovered,
        vec![
            (primary, Some(format!("ns1.{zone}."))),
            (secondary, Some(format!("ns2.{zone}."))),
            (v6, Some(format!("ns1.{zone}."))),
        ]
    );
    let strip = |o: &OwnerObservation| {
        let mut v: Vec<(SocketAddr, ServerOutcome)> = o
            .servers
            .iter()
            .map(|s| (s.server, s.outcome.clone()))
            .collect();
        v.sort_by_key(|x| x.0);
        v
    };
    assert_eq!(strip(&found[0]), strip(&explicit[0]));
    assert!(found[0].all_servers_serve(std::slice::from_ref(&r)));

    // The same through a [zones] override in the configuration.
    let mut zones = std::collections::BTreeMap::new();
    zones.insert(
        zone.clone(),
        danerollover::config::ZoneConfig {
            nameservers: vec![primary.to_string()],
            provider: None,
        },
    );
    let configured = LiveObserver::new(&ad_config(&lab, Duration::from_secs(3)), &zones).unwrap();
    let obs = configured.observe(&[query(&owner, &[])]).await;
    assert_eq!(obs[0].servers.len(), 1);
    assert_eq!(obs[0].servers[0].server, primary);
    assert_eq!(obs[0].servers[0].name, None);
    assert_eq!(configured.find_zone(&owner).await.unwrap(), abs(&zone));
}

#[tokio::test]
async fn a_cname_is_followed_within_and_across_zones() {
    let Some(lab) = Lab::get("a_cname_is_followed_within_and_across_zones") else {
        return;
    };
    let zone = lab.var("LAB_PDNS_ZONE").to_string();
    let zone2 = lab.var("LAB_BIND_ZONE").to_string();
    let label = fresh("cname");
    let owner = format!("_25._tcp.{label}.{zone}");
    let target = format!("_dane.{label}.{zone}");
    let far_owner = format!("_465._tcp.{label}.{zone}");
    let far_target = format!("_dane.{label}.{zone2}");
    let (r, far) = (record(), record());
    pdns_tlsa(&lab, &zone, &target, 300, std::slice::from_ref(&r));
    pdns_set(&lab, &zone, &owner, "CNAME", 300, &[abs(&target)]);
    pdns_set(&lab, &zone, &far_owner, "CNAME", 300, &[abs(&far_target)]);
    let _cleanup = PdnsCleanup {
        lab: &lab,
        rrsets: vec![
            (zone.clone(), owner.clone(), "CNAME".into()),
            (zone.clone(), far_owner.clone(), "CNAME".into()),
            (zone.clone(), target.clone(), "TLSA".into()),
        ],
    };
    bind_update(
        &lab,
        &[format!("update add {} 300 IN TLSA {far}", abs(&far_target))],
    );
    struct BindCleanup<'a>(&'a Lab, String);
    impl Drop for BindCleanup<'_> {
        fn drop(&mut self) {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                bind_update(self.0, &[format!("update delete {} TLSA", self.1)])
            }));
        }
    }
    let _bind_cleanup = BindCleanup(&lab, abs(&far_target));

    for in_process in [false, true] {
        let o = observer(&lab, in_process, Duration::from_secs(3));
        let obs = eventually("aliases observed", Duration::from_secs(15), || async {
            let obs = o
                .observe(&[query(&owner, &[]), query(&far_owner, &[])])
                .await;
            if obs[0].secure_with(std::slice::from_ref(&r))
                && obs[1].secure_with(std::slice::from_ref(&far))
            {
                Ok(obs)
            } else {
                Err(format!("{obs:#?}"))
            }
        })
        .await;
        // Within the zone: each server answers the chain and the target's records.
        let near = &obs[0];
        assert_eq!(near.servers.len(), 3, "ns1 (A, AAAA) and ns2: {near:#?}");
        for (_, a) in answers(near) {
            assert_eq!(a.cname.as_deref(), Some(abs(&target).as_str()));
            assert_eq!(a.records, vec![r.clone()]);
        }
        assert!(near.all_servers_serve(std::slice::from_ref(&r)) && near.servers_agree());
        // Across zones: the owner's servers answer the CNAME, the target's server the records.
        let far_obs = &obs[1];
        let list = answers(far_obs);
        assert_eq!(list.len(), 4, "{far_obs:#?}");
        let aliases: Vec<&Served> = list
            .iter()
            .filter(|(_, a)| a.leaves_zone())
            .map(|x| x.1)
            .collect();
        assert_eq!(aliases.len(), 3, "{far_obs:#?}");
        assert!(
            aliases
                .iter()
                .all(|a| a.cname.as_deref() == Some(abs(&far_target).as_str()))
        );
        let holder = list.iter().find(|(_, a)| !a.leaves_zone()).unwrap();
        assert_eq!(holder.0, lab.addr("LAB_BIND_DNS"));
        assert_eq!(holder.1.records, vec![far.clone()]);
        assert!(
            far_obs.all_servers_serve(std::slice::from_ref(&far)) && far_obs.servers_agree(),
            "{far_obs:#?}"
        );
        assert!(!far_obs.all_servers_serve(std::slice::from_ref(&r)));
    }
}

#[tokio::test]
async fn no_tlsa_gives_the_negative_ttl() {
    let Some(lab) = Lab::get("no_tlsa_gives_the_negative_ttl") else {
        return;
    };
    let zone = lab.var("LAB_PDNS_ZONE").to_string();
    let primary = lab.addr("LAB_PDNS_DNS");
    // The expected value, from the zone's SOA record as the primary serves it.
    let zname = Name::from_ascii(abs(&zone)).unwrap();
    let soa = wire::exchange(
        primary,
        &wire::query(&zname, RecordType::SOA, Flags::AUTHORITATIVE),
        Duration::from_secs(3),
    )
    .await
    .unwrap();
    let (ttl, minimum, serial) = soa
        .answers
        .iter()
        .find_map(|r| match &r.data {
            RData::SOA(s) => Some((r.ttl, s.minimum, s.serial)),
            _ => None,
        })
        .expect("SOA");
    let owner = format!("_25._tcp.{}.{zone}", fresh("negative"));
    let obs = observer(&lab, false, Duration::from_secs(3))
        .observe(&[query(&owner, &[])])
        .await;
    let o = &obs[0];
    assert_eq!(answers(o).len(), 3, "{o:#?}");
    for (_, a) in answers(o) {
        assert!(a.records.is_empty());
        assert_eq!(a.negative_ttl, Some(ttl.min(minimum)), "{a:?}");
        assert!(a.serial.is_some_and(|s| s >= serial), "{a:?}");
    }
    assert_eq!(o.max_negative_ttl(), Some(ttl.min(minimum)));
    // The absence itself is proven.
    assert_eq!(o.validated.state, Validation::Secure, "{o:#?}");
    assert!(o.validated.records.is_empty());
    assert!(!o.all_servers_serve(&[record()]));
}

#[tokio::test]
async fn zones_and_addresses_through_the_resolver() {
    let Some(lab) = Lab::get("zones_and_addresses_through_the_resolver") else {
        return;
    };
    let cfg = ad_config(&lab, Duration::from_secs(3));
    let zone = lab.var("LAB_PDNS_ZONE");
    let mail = lab.var("LAB_MAIL_HOST");
    assert_eq!(
        resolve::find_zone(&cfg, &format!("_25._tcp.{mail}"))
            .await
            .unwrap(),
        abs(zone)
    );
    assert_eq!(
        resolve::find_zone(&cfg, &format!("x.y.{}", lab.var("LAB_INSECURE_ZONE")))
            .await
            .unwrap(),
        abs(lab.var("LAB_INSECURE_ZONE"))
    );
    assert_eq!(resolve::find_zone(&cfg, zone).await.unwrap(), abs(zone));
    let addrs = resolve::addresses(&cfg, mail).await.unwrap();
    assert_eq!(
        addrs,
        vec![
            lab.var("LAB_MAIL_ADDR")
                .parse::<std::net::IpAddr>()
                .unwrap()
        ]
    );
    let e = resolve::addresses(&cfg, &format!("{}.{zone}", fresh("nohost")))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no A or AAAA"), "{e}");
    // The same through in-process validation settings (addresses do not depend on it).
    let r = Resolver::from_config(&in_process_config(&lab, Duration::from_secs(3))).unwrap();
    assert!(r.validates_in_process());
    assert_eq!(
        r.addresses(&Name::from_ascii(abs(mail)).unwrap())
            .await
            .unwrap(),
        addrs
    );
}

/// Secure from the servers themselves: every server's answer is checked against its zone's
/// DNSKEY RRset, authenticated through the resolver (its AD bit, or in process from the
/// trust anchors): PowerDNS live signing (example.test), BIND inline signing
/// (example2.test); a bogus child's and an insecure child's answers cannot be trusted; an
/// answer of the real server with its record changed (a forgery) does not verify.
#[tokio::test]
async fn each_server_answer_is_checked_against_its_zone_keys() {
    use danerollover::dns::Signature;
    use danerollover::dns::authenticated;
    let Some(lab) = Lab::get("each_server_answer_is_checked_against_its_zone_keys") else {
        return;
    };
    let zone = lab.var("LAB_PDNS_ZONE").to_string();
    let zone2 = lab.var("LAB_BIND_ZONE").to_string();
    let bogus_zone = lab.var("LAB_BOGUS_ZONE").to_string();
    let insecure_zone = lab.var("LAB_INSECURE_ZONE").to_string();
    let label = fresh("signed");
    let pdns_owner = format!("_25._tcp.{label}.{zone}");
    let bind_owner = format!("_25._tcp.{label}.{zone2}");
    let bogus = format!("_25._tcp.{label}.{bogus_zone}");
    let insecure = format!("_25._tcp.{label}.{insecure_zone}");
    let r = record();
    let one = std::slice::from_ref(&r);
    pdns_tlsa(&lab, &zone, &pdns_owner, 60, one);
    pdns_tlsa(&lab, &bogus_zone, &bogus, 60, one);
    pdns_tlsa(&lab, &insecure_zone, &insecure, 60, one);
    let _cleanup = PdnsCleanup {
        lab: &lab,
        rrsets: vec![
            (zone.clone(), pdns_owner.clone(), "TLSA".into()),
            (bogus_zone.clone(), bogus.clone(), "TLSA".into()),
            (insecure_zone.clone(), insecure.clone(), "TLSA".into()),
        ],
    };
    bind_update(
        &lab,
        &[format!("update add {} 60 IN TLSA {r}", abs(&bind_owner))],
    );
    struct BindCleanup<'a>(&'a Lab, String);
    impl Drop for BindCleanup<'_> {
        fn drop(&mut self) {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                bind_update(self.0, &[format!("update delete {} TLSA", self.1)])
            }));
        }
    }
    let _bind_cleanup = BindCleanup(&lab, abs(&bind_owner));
    let queries = [
        query(&pdns_owner, &[]),
        query(&bind_owner, &[]),
        query(&bogus, &[]),
        query(&insecure, &[]),
    ];

    for in_process in [false, true] {
        let o = observer(&lab, in_process, Duration::from_secs(3));
        // BIND signs inline a moment after the update.
        let obs = eventually("signed answers", Duration::from_secs(20), || async {
            let obs = o.observe(&queries).await;
            let now = jiff::Timestamp::now();
            if obs[..2].iter().all(|x| x.signed_everywhere(one, now))
                && obs[2..].iter().all(|x| x.all_servers_serve(one))
            {
                Ok(obs)
            } else {
                Err(format!("{obs:#?}"))
            }
        })
        .await;
        let now = jiff::Timestamp::now();
        for x in &obs[..2] {
            for (server, a) in answers(x) {
                match &a.signature {
                    Signature::Valid { expires } => assert!(
                        *expires > now,
                        "in_process={in_process}: {server}: {expires}"
                    ),
                    other => panic!("in_process={in_process}: {server}: {other:?}"),
                }
            }
        }
        // The servers serve the bogus child's record, but its keys do not authenticate:
        // it holds the clock at every server, named with why.
        let (b, i) = (&obs[2], &obs[3]);
        assert!(!b.signed_everywhere(one, now));
        let held = b.unsigned(one, now);
        assert_eq!(held.len(), b.servers.len(), "{held:?}");
        assert!(
            held.iter().all(|h| h.contains("bogus")),
            "in_process={in_process}: {held:?}"
        );
        assert!(!i.signed_everywhere(one, now));
        assert!(
            i.unsigned(one, now).iter().all(|h| h.contains("insecure")),
            "in_process={in_process}: {:?}",
            i.unsigned(one, now)
        );
        // Neither is "invalid" (no danger of its own: the resolver's Bogus/Insecure is).
        assert!(b.badly_signed(now).is_empty() && i.badly_signed(now).is_empty());
    }

    // A forgery: PowerDNS's real answer with its record's data changed.
    let resolver = Resolver::from_config(&ad_config(&lab, Duration::from_secs(3))).unwrap();
    let owner = Name::from_ascii(abs(&pdns_owner)).unwrap();
    let zname = Name::from_ascii(abs(&zone)).unwrap();
    let mut m = wire::exchange(
        lab.addr("LAB_PDNS_DNS"),
        &wire::query(&owner, RecordType::TLSA, Flags::AUTHORITATIVE),
        Duration::from_secs(3),
    )
    .await
    .unwrap();
    let keys = std::collections::BTreeMap::from([(
        zname.clone(),
        authenticated::zone_keys(&resolver, &zname).await,
    )]);
    let now = jiff::Timestamp::now();
    assert!(matches!(
        authenticated::check(&owner, Some(&zname), &m, &keys, now),
        Signature::Valid { .. }
    ));
    for rec in m.answers.iter_mut() {
        if let RData::TLSA(t) = &rec.data {
            let forged = hickory_proto::rr::rdata::TLSA::new(
                t.cert_usage,
                t.selector,
                t.matching,
                vec![0xab; 32],
            );
            rec.data = RData::TLSA(forged);
        }
    }
    let s = authenticated::check(&owner, Some(&zname), &m, &keys, now);
    assert!(
        matches!(&s, Signature::Invalid { reason } if reason.contains("does not verify")),
        "{s:?}"
    );
    // Its RRSIG checked ten years on: expired.
    let later = now + jiff::SignedDuration::from_hours(24 * 3650);
    let mut fresh_answer = wire::exchange(
        lab.addr("LAB_PDNS_DNS"),
        &wire::query(&owner, RecordType::TLSA, Flags::AUTHORITATIVE),
        Duration::from_secs(3),
    )
    .await
    .unwrap();
    fresh_answer.metadata.authoritative = true;
    let s = authenticated::check(&owner, Some(&zname), &fresh_answer, &keys, later);
    assert!(
        matches!(&s, Signature::Invalid { reason } if reason.contains("expired")),
        "{s:?}"
    );
}
