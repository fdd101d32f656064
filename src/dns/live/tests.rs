use super::*;
use crate::dns::Served;

fn answer(cname: Option<&str>, negative_ttl: Option<u32>) -> ServerAnswer {
    ServerAnswer {
        server: "127.0.0.1:53".parse().unwrap(),
        name: None,
        outcome: ServerOutcome::Answer(Served {
            records: vec![],
            ttl: None,
            serial: None,
            authoritative: true,
            cname: cname.map(String::from),
            negative_ttl,
            signature: crate::dns::Signature::default(),
        }),
    }
}

fn obs(servers: Vec<ServerAnswer>) -> OwnerObservation {
    OwnerObservation {
        owner: "_25._tcp.mail.example.test.".into(),
        chain: Vec::new(),
        zone: Some("example.test.".into()),
        servers,
        validated: Validated {
            state: Validation::Secure,
            records: vec![],
            ttl: None,
            detail: None,
        },
    }
}

#[test]
fn cname_leaving_the_zone_is_followed() {
    let zone = Name::from_ascii("example.test.").unwrap();
    let o = obs(vec![answer(Some("dane.example.net."), None)]);
    assert_eq!(
        leaving_target(Some(&zone), &o).as_deref(),
        Some("dane.example.net.")
    );
    assert_eq!(leaving_target(None, &o), None);
    // A target in a child zone delegated away: also followed.
    let o = obs(vec![answer(Some("dane.child.example.test."), None)]);
    assert_eq!(
        leaving_target(Some(&zone), &o).as_deref(),
        Some("dane.child.example.test.")
    );
    // In the zone, without records: the server says so (SOA, negative TTL).
    let o = obs(vec![answer(Some("dane.example.test."), Some(60))]);
    assert_eq!(leaving_target(Some(&zone), &o), None);
    let o = obs(vec![answer(None, Some(60))]);
    assert_eq!(leaving_target(Some(&zone), &o), None);
}

#[test]
fn plan_uses_explicit_servers_then_discovered_ones() {
    let q = OwnerQuery {
        owner: "_25._tcp.mail.example.test".into(),
        zone: None,
        nameservers: vec!["127.0.0.9:5301".parse().unwrap()],
    };
    let z = Name::from_ascii("example.test.").unwrap();
    let resolver: SocketAddr = "127.0.0.53:53".parse().unwrap();
    let p = plan(&q, Ok(z.clone()), &BTreeMap::new(), resolver);
    assert_eq!(p.owner, "_25._tcp.mail.example.test.");
    assert_eq!(p.servers.len(), 1);
    assert_eq!(
        p.servers[0],
        Target::Ask(ServerSpec {
            addr: "127.0.0.9:5301".parse().unwrap(),
            name: None
        })
    );

    let q = OwnerQuery {
        nameservers: vec![],
        ..q
    };
    let mut d = BTreeMap::new();
    d.insert(
        "example.test.".to_string(),
        Ok(vec![
            Found::Server(ServerSpec {
                addr: "127.0.10.1:53".parse().unwrap(),
                name: Some("ns1.example.test.".into()),
            }),
            Found::Unresolved {
                ns: "ns3.example.test.".to_string(),
                error: "NXDOMAIN".to_string(),
            },
        ]),
    );
    let p = plan(&q, Ok(z), &d, resolver);
    assert_eq!(p.servers.len(), 2);
    let Target::Failed(e) = &p.servers[1] else {
        panic!("expected an error entry: {:?}", p.servers[1])
    };
    assert_eq!(e.name.as_deref(), Some("ns3.example.test."));
    assert!(
        matches!(&e.outcome, ServerOutcome::Error { error } if error.contains("ns3.example.test."))
    );

    // No zone, no servers: one error entry, so nothing reads as "all servers serve".
    let p = plan(&q, Err("SERVFAIL".into()), &d, resolver);
    assert_eq!(p.zone, None);
    assert_eq!(p.servers.len(), 1);
    assert!(matches!(p.servers[0], Target::Failed(_)));
}

#[test]
fn overrides_parse_or_name_the_zone() {
    let mut zones = BTreeMap::new();
    zones.insert(
        "Example.Test".to_string(),
        ZoneConfig {
            nameservers: vec!["127.0.0.1:5301".into()],
            provider: None,
        },
    );
    let cfg = DnsConfig {
        validating_resolver: Some("127.0.0.1:53".into()),
        ..DnsConfig::default()
    };
    let o = LiveObserver::new(&cfg, &zones).unwrap();
    assert_eq!(
        o.zone_override("example.test."),
        Some(&["127.0.0.1:5301".parse().unwrap()][..])
    );
    zones.insert(
        "bad.test".to_string(),
        ZoneConfig {
            nameservers: vec!["ns1.bad.test".into()],
            provider: None,
        },
    );
    let e = LiveObserver::new(&cfg, &zones).err().unwrap().to_string();
    assert!(e.contains("bad.test"), "{e}");
}
