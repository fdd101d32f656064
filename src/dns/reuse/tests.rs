use super::*;
use crate::dns::{ChainLink, Served, ServerAnswer, Validated};

fn rec(byte: u8) -> TlsaRecord {
    format!("3 1 1 {}", hex::encode([byte; 32]))
        .parse()
        .unwrap()
}

fn addr(i: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 10, i], 53))
}

fn query() -> OwnerQuery {
    OwnerQuery {
        owner: "_25._tcp.mail.example.test.".into(),
        zone: None,
        nameservers: vec![],
    }
}

fn answer(i: u8, serial: u32, records: Vec<TlsaRecord>) -> ServerAnswer {
    ServerAnswer {
        server: addr(i),
        name: Some("ns.example.test.".into()),
        outcome: ServerOutcome::Answer(Served {
            ttl: Some(300),
            records,
            serial: Some(serial),
            authoritative: true,
            cname: None,
            negative_ttl: None,
            signature: crate::dns::Signature::default(),
        }),
    }
}

fn obs(serial: u32) -> OwnerObservation {
    OwnerObservation {
        owner: "_25._tcp.mail.example.test.".into(),
        zone: Some("example.test.".into()),
        servers: vec![
            answer(1, serial, vec![rec(1), rec(2)]),
            answer(2, serial, vec![rec(2), rec(1)]),
        ],
        validated: Validated {
            state: Validation::Secure,
            records: vec![rec(1), rec(2)],
            ttl: Some(300),
            detail: None,
        },
        chain: vec![],
    }
}

fn zone(serial: u32, secure: bool) -> ZoneSerials {
    ZoneSerials {
        zone: ZoneQuery {
            zone: "example.test.".into(),
            nameservers: vec![],
        },
        serials: Some(vec![(addr(1), serial), (addr(2), serial)]),
        secure,
    }
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

const DAY: Duration = Duration::from_secs(86_400);

fn cache_with(o: &OwnerObservation, before: &ZoneSerials) -> Cache {
    let mut c = Cache::new("127.0.0.1:53");
    c.record(&query(), o, t(0), std::slice::from_ref(before));
    c
}

#[test]
fn a_settled_observation_is_reused_while_every_serial_is_the_same() {
    let c = cache_with(&obs(7), &zone(7, true));
    assert_eq!(c.zones_to_check(&[query()]), vec![zone(7, true).zone]);
    let got = c.reusable(&[query()], &[zone(7, true)], t(3600), DAY);
    assert_eq!(got, vec![Some((obs(7), t(0)))]);
}

#[test]
fn a_new_serial_at_any_server_or_an_insecure_zone_means_a_fresh_look() {
    let c = cache_with(&obs(7), &zone(7, true));
    let mut one_moved = zone(7, true);
    one_moved.serials = Some(vec![(addr(1), 7), (addr(2), 8)]);
    let mut server_added = zone(7, true);
    server_added.serials = Some(vec![(addr(1), 7), (addr(2), 7), (addr(3), 7)]);
    let mut unknown = zone(7, true);
    unknown.serials = None;
    for checked in [one_moved, server_added, unknown, zone(7, false)] {
        assert_eq!(
            c.reusable(&[query()], std::slice::from_ref(&checked), t(60), DAY),
            vec![None],
            "{checked:?}"
        );
    }
    // Not asked at all.
    assert_eq!(c.reusable(&[query()], &[], t(60), DAY), vec![None]);
}

#[test]
fn too_old_or_from_the_future_is_not_reused() {
    let c = cache_with(&obs(7), &zone(7, true));
    assert!(c.reusable(&[query()], &[zone(7, true)], t(86_400), DAY)[0].is_some());
    assert_eq!(
        c.reusable(&[query()], &[zone(7, true)], t(86_401), DAY),
        vec![None]
    );
    assert_eq!(
        c.reusable(&[query()], &[zone(7, true)], t(-1), DAY),
        vec![None]
    );
    assert_eq!(
        c.reusable(&[query()], &[zone(7, true)], t(1), Duration::ZERO),
        vec![None]
    );
}

#[test]
fn an_unsettled_observation_is_kept_for_its_zone_only() {
    let mut lagging_resolver = obs(7);
    lagging_resolver.validated.records = vec![rec(1)];
    let mut disagreeing = obs(7);
    disagreeing.servers[1] = answer(2, 7, vec![rec(1)]);
    let mut error = obs(7);
    error.servers[1].outcome = ServerOutcome::Error {
        error: "timed out".into(),
    };
    let mut not_secure = obs(7);
    not_secure.validated.state = Validation::Insecure;
    let mut serial_moved_meanwhile = obs(7);
    serial_moved_meanwhile.servers[0] = answer(1, 8, vec![rec(1), rec(2)]);
    let mut leaves_zone = obs(7);
    leaves_zone.chain = vec![ChainLink {
        target: "tlsa.other.test.".into(),
        zone: Some("other.test.".into()),
    }];
    let mut no_serial = obs(7);
    if let ServerOutcome::Answer(a) = &mut no_serial.servers[0].outcome {
        a.serial = None;
    }
    for o in [
        lagging_resolver,
        disagreeing,
        error,
        not_secure,
        serial_moved_meanwhile,
        leaves_zone,
        no_serial,
    ] {
        assert!(!settled(&o, &zone(7, true)), "{o:?}");
        let c = cache_with(&o, &zone(7, true));
        assert_eq!(c.entries[0].serials, None);
        assert_eq!(
            c.zones_to_check(&[query()]).len(),
            1,
            "the zone is remembered"
        );
        assert_eq!(
            c.reusable(&[query()], &[zone(7, true)], t(60), DAY),
            vec![None]
        );
    }
    // Settled, but the zone was not asked before: kept for the zone only.
    let mut c = Cache::new("r");
    c.record(&query(), &obs(7), t(0), &[]);
    assert_eq!(c.entries[0].serials, None);
    // A CNAME inside the zone is fine.
    let mut inside = obs(7);
    inside.chain = vec![ChainLink {
        target: "tlsa.example.test.".into(),
        zone: Some("example.test.".into()),
    }];
    assert!(settled(&inside, &zone(7, true)));
}

#[test]
fn another_resolver_or_version_starts_afresh_and_the_file_round_trips() {
    let c = cache_with(&obs(7), &zone(7, true));
    let text = c.render();
    assert_eq!(Cache::parse(&text, "127.0.0.1:53"), c);
    assert!(Cache::parse(&text, "127.0.0.2:53").entries.is_empty());
    assert!(
        Cache::parse(
            &text.replacen("\"version\":1", "\"version\":0", 1),
            "127.0.0.1:53"
        )
        .entries
        .is_empty()
    );
    assert!(Cache::parse("{not json", "127.0.0.1:53").entries.is_empty());
}

#[test]
fn host_addresses_are_kept_only_when_the_zone_served_the_same() {
    let ip: IpAddr = "192.0.2.25".parse().unwrap();
    let mut c = Cache::new("r");
    c.record_host(
        "mail.example.test",
        &zone(7, true),
        t(0),
        &[ip],
        Some(&[ip]),
    );
    assert_eq!(
        c.host_addresses("mail.example.test", &[zone(7, true)], t(60), DAY),
        Some(vec![ip])
    );
    for checked in [zone(8, true), zone(7, false)] {
        assert_eq!(
            c.host_addresses("mail.example.test", &[checked], t(60), DAY),
            None
        );
    }
    assert_eq!(
        c.host_addresses("mail.example.test", &[zone(7, true)], t(86_401), DAY),
        None
    );
    assert_eq!(
        c.host_addresses("other.example.test", &[zone(7, true)], t(60), DAY),
        None
    );
    // The resolver lagging behind the zone's server, or no authoritative answer (an
    // alias, an error): nothing kept, and what was kept is forgotten.
    c.record_host("mail.example.test", &zone(7, true), t(1), &[], Some(&[ip]));
    assert!(c.hosts.is_empty());
    c.record_host("mail.example.test", &zone(7, true), t(1), &[ip], None);
    assert!(c.hosts.is_empty());
    // No address at all is kept too (nothing to probe).
    c.record_host("mail.example.test", &zone(7, true), t(2), &[], Some(&[]));
    assert_eq!(
        c.host_addresses("mail.example.test", &[zone(7, true)], t(60), DAY),
        Some(vec![])
    );
}

#[test]
fn a_host_is_in_the_zone_when_it_is_on_its_owner_s_path() {
    assert!(host_in_zone(
        "mail.example.test",
        "_25._tcp.mail.example.test.",
        "example.test."
    ));
    assert!(host_in_zone(
        "example.test",
        "_25._tcp.example.test.",
        "example.test."
    ));
    assert!(!host_in_zone(
        "mail.example.test",
        "_25._tcp.mx.example.test.",
        "example.test."
    ));
    // The owner in a child zone below the host: the host is not in it.
    assert!(!host_in_zone(
        "example.test",
        "_25._tcp.example.test.",
        "_tcp.example.test."
    ));
    assert!(!host_in_zone(
        "mail.example.test",
        "mail.example.test.",
        "example.test."
    ));
}

#[test]
fn a_zone_changing_without_a_new_serial_is_silent_for_good() {
    let mut c = cache_with(&obs(7), &zone(7, true));
    // A fresh look under other serials, or the same records: nothing proven.
    let mut changed = obs(7);
    changed.servers[1] = answer(2, 7, vec![rec(1)]);
    assert_eq!(
        c.note_silent(&query(), &changed, &[zone(8, true)], t(5)),
        None
    );
    assert_eq!(
        c.note_silent(&query(), &obs(7), &[zone(7, true)], t(5)),
        None
    );
    // A server that fails now says nothing either.
    let mut failing = obs(7);
    failing.servers[1].outcome = ServerOutcome::Error {
        error: "timed out".into(),
    };
    assert_eq!(
        c.note_silent(&query(), &failing, &[zone(7, true)], t(5)),
        None
    );
    assert!(c.silent.is_empty());
    // Other records under the very serials kept: silent, once.
    let s = c
        .note_silent(&query(), &changed, &[zone(7, true)], t(5))
        .expect("silent");
    assert_eq!(s.zone, "example.test.");
    let text = s.problem();
    assert!(
        text.contains("SOA-EDIT-API INCREASE") && text.contains("example.test"),
        "{text}"
    );
    assert_eq!(
        c.note_silent(&query(), &changed, &[zone(7, true)], t(6)),
        None
    );
    assert_eq!(c.silent.len(), 1);
    // Never reused again, even when recorded anew under steady serials; and persisted.
    c.record(&query(), &obs(7), t(10), &[zone(7, true)]);
    assert_eq!(
        c.reusable(&[query()], &[zone(7, true)], t(20), DAY),
        vec![None]
    );
    let back = Cache::parse(&c.render(), "127.0.0.1:53");
    assert!(back.is_silent("example.test"));
    assert_eq!(
        back.reusable(&[query()], &[zone(7, true)], t(20), DAY),
        vec![None]
    );
}

#[test]
fn a_kept_observation_holds_only_while_its_rrset_validates_the_same() {
    let kept = obs(7);
    assert!(still_validates(&kept, &kept.validated));
    let mut bogus = kept.validated.clone();
    bogus.state = Validation::Bogus;
    assert!(!still_validates(&kept, &bogus));
    let mut other = kept.validated.clone();
    other.records = vec![rec(1)];
    assert!(!still_validates(&kept, &other));
    let mut reordered = kept.validated.clone();
    reordered.records.reverse();
    assert!(still_validates(&kept, &reordered));
}

#[test]
fn recording_replaces_and_pruning_drops_old_entries() {
    let mut c = cache_with(&obs(7), &zone(7, true));
    c.record(&query(), &obs(8), t(10), &[zone(8, true)]);
    assert_eq!(c.entries.len(), 1);
    assert_eq!(c.entries[0].at, t(10));
    c.prune(t(70), Duration::from_secs(60));
    assert_eq!(c.entries.len(), 1);
    c.prune(t(71), Duration::from_secs(60));
    assert!(c.entries.is_empty());
}
