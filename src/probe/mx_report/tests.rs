use super::*;
use crate::dane::testing::chain;
use crate::probe::verdict::ProbeFailure;
use crate::probe::verdict::testing::{ee, ta};
use crate::tlsa::{Matching, Selector};
use x509_parser::prelude::{FromDer, X509Certificate};

const NOW: i64 = 1_767_225_600; // 2026-01-01

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn secure_mx(hosts: &[(u16, &str)]) -> MxLookup {
    MxLookup {
        state: Validation::Secure,
        detail: None,
        nxdomain: false,
        records: hosts.iter().map(|(p, h)| (*p, h.to_string())).collect(),
    }
}

fn addrs(state: Validation, ips: &[&str]) -> AddressLookup {
    AddressLookup {
        state,
        detail: None,
        cnames: vec![],
        ips: ips.iter().map(|s| ip(s)).collect(),
    }
}

fn tlsa(host: &str, state: Validation, records: Vec<TlsaRecord>) -> Option<TlsaLookup> {
    Some(TlsaLookup {
        base: host.to_string(),
        owner: format!("_25._tcp.{host}."),
        validated: Validated {
            state,
            records,
            ttl: Some(60),
            detail: None,
        },
        tried: vec![],
        servers: None,
    })
}

fn ok(address: &str, chain: Vec<Vec<u8>>) -> ProbeObserved {
    ProbeObserved {
        address: ip(address),
        algorithms: Algorithms::All,
        result: Ok(chain),
    }
}

fn refused(address: &str) -> ProbeObserved {
    ProbeObserved {
        address: ip(address),
        algorithms: Algorithms::All,
        result: Err(ProbeFailure {
            unreachable: true,
            message: format!("{address}:25: cannot connect: Connection refused"),
        }),
    }
}

fn opts() -> MxOptions {
    MxOptions {
        warn_days: 14,
        days: None,
        rollover_scheme: false,
    }
}

fn host(
    name: &str,
    pref: u16,
    a: AddressLookup,
    t: Option<TlsaLookup>,
    probes: Vec<ProbeObserved>,
) -> HostObserved {
    HostObserved {
        host: name.to_string(),
        preference: Some(pref),
        addresses: a,
        tlsa: t,
        probes,
    }
}

/// Two MX hosts: the first matches on its IPv4 address and nothing listens on its IPv6
/// one (WARNING), the second serves a key its record does not pin (CRITICAL).
#[test]
fn two_hosts_one_wrong_one_half_unreachable() {
    let c = chain(&["mx1.example.test"], (2025, 2030));
    let other = chain(&["x"], (2025, 2030));
    let served = vec![c.leaf.clone(), c.intermediate.clone()];
    let o = MxObserved {
        domain: "example.test".into(),
        mx: secure_mx(&[(10, "mx1.example.test"), (20, "mx2.example.test")]),
        hosts: vec![
            host(
                "mx1.example.test",
                10,
                addrs(Validation::Secure, &["192.0.2.1", "2001:db8::1"]),
                tlsa("mx1.example.test", Validation::Secure, vec![ee(&c.leaf)]),
                vec![ok("192.0.2.1", served.clone()), refused("2001:db8::1")],
            ),
            host(
                "mx2.example.test",
                20,
                addrs(Validation::Secure, &["192.0.2.2"]),
                tlsa(
                    "mx2.example.test",
                    Validation::Secure,
                    vec![ee(&other.leaf)],
                ),
                vec![ok("192.0.2.2", served.clone())],
            ),
        ],
    };
    let rep = build(std::slice::from_ref(&o), &opts(), NOW);
    assert_eq!(rep.status, Status::Critical);
    let d = &rep.domains[0];
    assert_eq!(d.hosts[0].status, Status::Warning);
    assert_eq!(d.hosts[0].addresses[0].verdict, AddressVerdict::Match);
    assert_eq!(d.hosts[0].addresses[1].verdict, AddressVerdict::Unreachable);
    assert_eq!(d.hosts[0].addresses[1].status, Status::Warning);
    assert!(d.hosts[0].addresses[1].reasons[0].contains("2001:db8::1"));
    assert_eq!(d.hosts[1].status, Status::Critical);
    assert_eq!(d.hosts[1].addresses[0].verdict, AddressVerdict::NoMatch);
    assert!(
        rep.summary.starts_with(
            "DANE CRITICAL - example.test: 2 MX hosts (MX Secure), 1/3 addresses authenticated; 192.0.2.2 of mx2.example.test: no TLSA record authenticates"
        ),
        "{}",
        rep.summary
    );
    // Chain: the leaf expires 2030-01-01, the CA later: 1461 days.
    assert!(
        rep.summary
            .ends_with("| days_left=1461;14: mx_hosts=2 addresses=3 authenticated=1"),
        "{}",
        rep.summary
    );
    let text = render_text(&rep);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[1],
        "example.test: CRITICAL: MX Secure: 10 mx1.example.test, 20 mx2.example.test"
    );
    assert!(lines[2].starts_with("  mx1.example.test (MX 10): WARNING: addresses Secure, TLSA _25._tcp.mx1.example.test Secure: 3 1 1 "), "{text}");
    assert!(
        lines[3].starts_with("    192.0.2.1: OK: match, matched 3 1 1 "),
        "{text}"
    );
    assert!(
        lines[4].starts_with(
            "    2001:db8::1: WARNING: UNREACHABLE: 2001:db8::1 of mx1.example.test does not answer"
        ),
        "{text}"
    );
    assert!(
        lines[6].starts_with("    192.0.2.2: CRITICAL: NO MATCH"),
        "{text}"
    );

    // Without the IPv4 address working, the IPv6 failure is CRITICAL.
    let mut only_dead = o;
    only_dead.hosts[0].probes.remove(0);
    let rep = build(&[only_dead], &opts(), NOW);
    let a = &rep.domains[0].hosts[0].addresses[0];
    assert_eq!(a.status, Status::Critical);
    assert!(a.reasons[0].contains("no other address"), "{:?}", a.reasons);
}

#[test]
fn mx_rrset_states() {
    let c = chain(&["mx1.example.test"], (2025, 2030));
    let good_host = host(
        "mx1.example.test",
        10,
        addrs(Validation::Secure, &["192.0.2.1"]),
        tlsa("mx1.example.test", Validation::Secure, vec![ee(&c.leaf)]),
        vec![ok("192.0.2.1", vec![c.leaf.clone()])],
    );
    let table = [
        (Validation::Secure, Status::Ok, ""),
        (Validation::Insecure, Status::Critical, "DANE cannot apply"),
        (Validation::Bogus, Status::Critical, "defer all mail"),
        (
            Validation::Indeterminate,
            Status::Unknown,
            "could not be validated",
        ),
    ];
    for (state, want, says) in table {
        let mut mx = secure_mx(&[(10, "mx1.example.test")]);
        mx.state = state;
        let hosts = if state == Validation::Bogus {
            vec![]
        } else {
            vec![good_host.clone()]
        };
        let rep = build(
            &[MxObserved {
                domain: "example.test".into(),
                mx,
                hosts,
            }],
            &opts(),
            NOW,
        );
        assert_eq!(rep.status, want, "{state:?}: {}", rep.summary);
        assert_eq!(rep.exit_code, want.code());
        assert!(rep.summary.contains(says), "{state:?}: {}", rep.summary);
    }
    // Null MX: nothing to check. NXDOMAIN: CRITICAL.
    let rep = build(
        &[MxObserved {
            domain: "example.test".into(),
            mx: secure_mx(&[(0, "")]),
            hosts: vec![],
        }],
        &opts(),
        NOW,
    );
    assert_eq!(rep.status, Status::Unknown, "{}", rep.summary);
    assert!(rep.summary.contains("null MX"), "{}", rep.summary);
    let mut mx = secure_mx(&[]);
    mx.nxdomain = true;
    let rep = build(
        &[MxObserved {
            domain: "nope.example.test".into(),
            mx,
            hosts: vec![],
        }],
        &opts(),
        NOW,
    );
    assert_eq!(rep.status, Status::Critical);
    assert!(rep.summary.contains("NXDOMAIN"), "{}", rep.summary);
    // No MX and no address: the implicit MX has nothing.
    let rep = build(
        &[MxObserved {
            domain: "example.test".into(),
            mx: secure_mx(&[]),
            hosts: vec![],
        }],
        &opts(),
        NOW,
    );
    assert_eq!(rep.status, Status::Critical);
    assert!(rep.domains[0].mx.implicit);
}

#[test]
fn host_level_dns_findings() {
    let c = chain(&["mx1.example.test"], (2025, 2030));
    let probe = vec![ok("192.0.2.1", vec![c.leaf.clone()])];
    let case = |a: AddressLookup, t: Option<TlsaLookup>| {
        let rep = build(
            &[MxObserved {
                domain: "example.test".into(),
                mx: secure_mx(&[(10, "mx1.example.test")]),
                hosts: vec![host("mx1.example.test", 10, a, t, probe.clone())],
            }],
            &opts(),
            NOW,
        );
        rep.domains[0].hosts[0].clone()
    };
    let h = case(
        addrs(Validation::Secure, &["192.0.2.1"]),
        tlsa("mx1.example.test", Validation::Secure, vec![]),
    );
    assert_eq!(h.status, Status::Warning);
    assert!(h.reasons[0].contains("no TLSA record"), "{:?}", h.reasons);
    assert_eq!(h.addresses[0].verdict, AddressVerdict::NoDane);
    assert_eq!(h.addresses[0].status, Status::Ok);

    let h = case(addrs(Validation::Insecure, &["192.0.2.1"]), None);
    assert_eq!(h.status, Status::Warning);
    assert!(
        h.reasons[0].contains("not DNSSEC-signed"),
        "{:?}",
        h.reasons
    );

    let h = case(addrs(Validation::Bogus, &[]), None);
    assert_eq!(h.status, Status::Critical);

    let h = case(
        addrs(Validation::Secure, &["192.0.2.1"]),
        tlsa("mx1.example.test", Validation::Bogus, vec![]),
    );
    assert_eq!(h.status, Status::Critical);
    assert_eq!(h.addresses[0].verdict, AddressVerdict::Unchecked);

    let h = case(
        addrs(Validation::Secure, &["192.0.2.1"]),
        tlsa("mx1.example.test", Validation::Insecure, vec![ee(&c.leaf)]),
    );
    assert_eq!(h.status, Status::Critical, "{:?}", h.reasons);

    let pkix = TlsaRecord::compute(Usage::PkixEe, Selector::Spki, Matching::Sha256, b"x");
    let h = case(
        addrs(Validation::Secure, &["192.0.2.1"]),
        tlsa("mx1.example.test", Validation::Secure, vec![pkix]),
    );
    assert_eq!(h.status, Status::Warning);
    assert!(h.reasons[0].contains("RFC 7672 3.1.3"), "{:?}", h.reasons);

    let h = case(addrs(Validation::Secure, &[]), None);
    assert_eq!(h.status, Status::Critical);
    assert!(h.reasons[0].contains("no A or AAAA"), "{:?}", h.reasons);
}

#[test]
fn days_and_warn_days_judge_the_whole_chain() {
    // The leaf runs to 2030, but the chain's CA certificates? rcgen's CA certificates
    // run to 4096: the leaf is the earliest. A leaf to 2026-03-01 is 59 days away.
    let c = chain(&["mx1.example.test"], (2025, 2030));
    let short_leaf = chain(&["mx1.example.test"], (2025, 2026));
    let run = |leaf: &[u8], o: MxOptions| {
        build(
            &[MxObserved {
                domain: "example.test".into(),
                mx: secure_mx(&[(10, "mx1.example.test")]),
                hosts: vec![host(
                    "mx1.example.test",
                    10,
                    addrs(Validation::Secure, &["192.0.2.1"]),
                    tlsa("mx1.example.test", Validation::Secure, vec![ee(leaf)]),
                    vec![ok("192.0.2.1", vec![leaf.to_vec(), c.intermediate.clone()])],
                )],
            }],
            &o,
            NOW,
        )
    };
    let mut o = opts();
    let rep = run(&c.leaf, o);
    assert_eq!(rep.status, Status::Ok);
    assert_eq!(rep.domains[0].days_left, Some(1461));
    o.days = Some(1500);
    let rep = run(&c.leaf, o);
    assert_eq!(rep.status, Status::Critical, "{}", rep.summary);
    assert!(
        rep.summary.contains("within the 1500 days of --days"),
        "{}",
        rep.summary
    );
    assert!(
        rep.summary.contains("days_left=1461;14:;1500:"),
        "{}",
        rep.summary
    );
    o.days = Some(30);
    assert_eq!(run(&c.leaf, o).status, Status::Ok);
    // Expires 2026-01-01 = NOW: 0 days left: WARNING under --warn-days, CRITICAL under --days.
    let rep = run(&short_leaf.leaf, opts());
    assert_eq!(rep.status, Status::Warning, "{}", rep.summary);
    assert_eq!(run(&short_leaf.leaf, o).status, Status::Critical);
    let chain_certs = &rep.domains[0].hosts[0].addresses[0].chain;
    assert_eq!(chain_certs.len(), 2);
    assert_eq!(chain_certs[0].days_left, 0);
    // Expired a year ago: said so; DANE-EE still matches it.
    let old = chain(&["mx1.example.test"], (2020, 2025));
    let rep = run(&old.leaf, opts());
    assert_eq!(rep.status, Status::Warning, "{}", rep.summary);
    assert!(
        rep.summary
            .contains("expired 2025-01-01T00:00:00Z (365 days ago"),
        "{}",
        rep.summary
    );
    assert_eq!(
        rep.domains[0].hosts[0].addresses[0].verdict,
        AddressVerdict::Match
    );
}

#[test]
fn dane_ta_checks_the_chain_and_the_base_name() {
    let c = chain(&["mx1.example.test"], (2025, 2030));
    let served = vec![c.leaf.clone(), c.intermediate.clone()];
    let run = |host_name: &str| {
        build(
            &[MxObserved {
                domain: "example.test".into(),
                mx: secure_mx(&[(10, host_name)]),
                hosts: vec![host(
                    host_name,
                    10,
                    addrs(Validation::Secure, &["192.0.2.1"]),
                    tlsa(host_name, Validation::Secure, vec![ta(&c.intermediate)]),
                    vec![ok("192.0.2.1", served.clone())],
                )],
            }],
            &opts(),
            NOW,
        )
    };
    assert_eq!(run("mx1.example.test").status, Status::Ok);
    let rep = run("mx9.example.test");
    assert_eq!(rep.status, Status::Critical);
    assert!(rep.summary.contains("name check"), "{}", rep.summary);
}

#[test]
fn both_algorithms_missing_rsa_is_a_note_and_a_wrong_rsa_key_is_critical() {
    let e = chain(&["mx1.example.test"], (2025, 2030));
    let r = chain(&["mx1.example.test"], (2025, 2030));
    let probe = |alg, result| ProbeObserved {
        address: ip("192.0.2.1"),
        algorithms: alg,
        result,
    };
    let run = |records: Vec<TlsaRecord>, rsa: ProbeResult| {
        build(
            &[MxObserved {
                domain: "example.test".into(),
                mx: secure_mx(&[(10, "mx1.example.test")]),
                hosts: vec![host(
                    "mx1.example.test",
                    10,
                    addrs(Validation::Secure, &["192.0.2.1"]),
                    tlsa("mx1.example.test", Validation::Secure, records),
                    vec![
                        probe(Algorithms::Ecdsa, Ok(vec![e.leaf.clone()])),
                        probe(Algorithms::Rsa, rsa),
                    ],
                )],
            }],
            &opts(),
            NOW,
        )
    };
    let failed = Err(ProbeFailure {
        unreachable: false,
        message: "received fatal alert: HandshakeFailure".into(),
    });
    let rep = run(vec![ee(&e.leaf)], failed);
    assert_eq!(rep.status, Status::Ok, "{}", rep.summary);
    let a = &rep.domains[0].hosts[0].addresses[1];
    assert_eq!(a.verdict, AddressVerdict::NoCertificate);
    assert!(
        a.reasons[0].starts_with("no RSA certificate"),
        "{:?}",
        a.reasons
    );
    assert!(render_text(&rep).contains("192.0.2.1 (rsa): OK: no certificate of this kind"));
    let rep = run(vec![ee(&e.leaf)], Ok(vec![r.leaf.clone()]));
    assert_eq!(rep.status, Status::Critical);
    assert!(rep.summary.contains("offering only RSA"), "{}", rep.summary);
    let rep = run(vec![ee(&e.leaf), ee(&r.leaf)], Ok(vec![r.leaf.clone()]));
    assert_eq!(rep.status, Status::Ok);
}

#[test]
fn rollover_schemes() {
    let cur = chain(&["mx1.example.test"], (2025, 2030));
    let next = chain(&["mx1.example.test"], (2025, 2030));
    let leaf = [cur.leaf.as_slice()];
    let r = rollover_scheme_of(&[ee(&cur.leaf)], &leaf);
    assert!(!r.ready);
    let r = rollover_scheme_of(&[ee(&cur.leaf), ee(&next.leaf)], &leaf);
    assert_eq!(
        (r.ready, r.scheme.as_deref()),
        (true, Some("3 1 1 + 3 1 1"))
    );
    let r = rollover_scheme_of(&[ee(&cur.leaf), ta(&cur.intermediate)], &leaf);
    assert_eq!(
        (r.ready, r.scheme.as_deref()),
        (true, Some("3 1 1 + 2 1 1"))
    );
    // Two records of the same key (3 1 1 + 3 1 2): nothing to roll to.
    let sha512 = TlsaRecord::compute(
        Usage::DaneEe,
        Selector::Spki,
        Matching::Sha512,
        X509Certificate::from_der(&cur.leaf)
            .unwrap()
            .1
            .public_key()
            .raw,
    );
    assert!(!rollover_scheme_of(&[ee(&cur.leaf), sha512.clone()], &leaf).ready);
    // Without a served chain, two DANE-EE records count.
    assert!(rollover_scheme_of(&[ee(&cur.leaf), sha512], &[]).ready);

    let mut o = opts();
    o.rollover_scheme = true;
    let rep = build(
        &[MxObserved {
            domain: "example.test".into(),
            mx: secure_mx(&[(10, "mx1.example.test")]),
            hosts: vec![host(
                "mx1.example.test",
                10,
                addrs(Validation::Secure, &["192.0.2.1"]),
                tlsa("mx1.example.test", Validation::Secure, vec![ee(&cur.leaf)]),
                vec![ok("192.0.2.1", vec![cur.leaf.clone()])],
            )],
        }],
        &o,
        NOW,
    );
    assert_eq!(rep.status, Status::Warning);
    assert!(
        rep.summary.contains("no second record to roll to"),
        "{}",
        rep.summary
    );
    let m = render_metrics(&rep, NOW);
    assert!(m.contains("danerollover_mx_host_rollover_ready{domain=\"example.test\",mx_host=\"mx1.example.test\"} 0\n"), "{m}");
}

#[test]
fn json_and_metrics_carry_the_labels() {
    let c = chain(&["mx1.example.test"], (2025, 2030));
    let rep = build(
        &[MxObserved {
            domain: "example.test".into(),
            mx: secure_mx(&[(10, "mx1.example.test")]),
            hosts: vec![host(
                "mx1.example.test",
                10,
                addrs(Validation::Secure, &["192.0.2.1", "2001:db8::1"]),
                tlsa("mx1.example.test", Validation::Secure, vec![ee(&c.leaf)]),
                vec![
                    ok("192.0.2.1", vec![c.leaf.clone()]),
                    refused("2001:db8::1"),
                ],
            )],
        }],
        &opts(),
        NOW,
    );
    let v: serde_json::Value = serde_json::from_str(&render_json(&rep)).unwrap();
    assert_eq!(v["status"], "WARNING");
    assert_eq!(v["exit_code"], 1);
    let d = &v["domains"][0];
    assert_eq!(d["domain"], "example.test");
    assert_eq!(d["mx"]["validation"], "secure");
    let h = &d["hosts"][0];
    assert_eq!(h["preference"], 10);
    assert_eq!(h["tlsa"]["validation"], "secure");
    assert_eq!(h["tlsa"]["usable"], true);
    assert_eq!(h["addresses"][0]["verdict"], "match");
    assert_eq!(h["addresses"][0]["chain_not_after"], "2030-01-01T00:00:00Z");
    assert_eq!(h["addresses"][1]["verdict"], "unreachable");
    assert_eq!(h["addresses"][1]["status"], "WARNING");
    let m = render_metrics(&rep, NOW);
    assert!(m.contains("danerollover_mx_check_status 1\n"), "{m}");
    assert!(m.contains("danerollover_mx_address_match{domain=\"example.test\",mx_host=\"mx1.example.test\",address=\"192.0.2.1\",algorithms=\"all\"} 1\n"), "{m}");
    assert!(m.contains("danerollover_mx_address_reachable{domain=\"example.test\",mx_host=\"mx1.example.test\",address=\"2001:db8::1\",algorithms=\"all\"} 0\n"), "{m}");
    assert!(m.contains("danerollover_mx_chain_expiry_timestamp_seconds{domain=\"example.test\",mx_host=\"mx1.example.test\",address=\"192.0.2.1\",algorithms=\"all\"} 1893456000\n"), "{m}");
    assert!(
        m.contains(
            "danerollover_mx_host_dane{domain=\"example.test\",mx_host=\"mx1.example.test\"} 1\n"
        ),
        "{m}"
    );
}

/// The servers' view of a host's TLSA owner under `check --mx`'s rule: signed and agreeing
/// adds nothing but its word on the host's line; a server serving the records unsigned is
/// CRITICAL (with the resolver's Secure answer the reverse disagreement); a resolver
/// holding an older RRset is a WARNING; servers that could not be observed are UNKNOWN.
#[test]
fn the_servers_view_of_a_tlsa_owner() {
    use crate::dns::{OwnerObservation, Served as Answer, ServerAnswer, ServerOutcome, Signature};
    let c = chain(&["mx1.example.test"], (2025, 2030));
    let live = ee(&c.leaf);
    let next = ee(&chain(&["next"], (2025, 2030)).leaf);
    let valid = Signature::Valid {
        expires: jiff::Timestamp::from_second(NOW + 86400).unwrap(),
    };
    let answer = |i: u8, records: Vec<TlsaRecord>, signature: Signature| ServerAnswer {
        server: std::net::SocketAddr::from(([192, 0, 2, 50 + i], 53)),
        name: None,
        outcome: ServerOutcome::Answer(Answer {
            records,
            ttl: Some(300),
            serial: Some(1),
            authoritative: true,
            cname: None,
            negative_ttl: None,
            signature,
        }),
    };
    let observe = |servers: Result<Vec<ServerAnswer>, String>| {
        let mut t = tlsa("mx1.example.test", Validation::Secure, vec![live.clone()]);
        if let Some(t) = t.as_mut() {
            t.servers = Some(servers.map(|servers| OwnerObservation {
                owner: t.owner.clone(),
                zone: Some("example.test.".into()),
                servers,
                validated: t.validated.clone(),
                chain: vec![],
            }));
        }
        let o = MxObserved {
            domain: "example.test".into(),
            mx: secure_mx(&[(10, "mx1.example.test")]),
            hosts: vec![host(
                "mx1.example.test",
                10,
                addrs(Validation::Secure, &["192.0.2.1"]),
                t,
                vec![ok(
                    "192.0.2.1",
                    vec![c.leaf.clone(), c.intermediate.clone()],
                )],
            )],
        };
        build(&[o], &opts(), NOW)
    };

    let rep = observe(Ok(vec![
        answer(1, vec![live.clone()], valid.clone()),
        answer(2, vec![live.clone()], valid.clone()),
    ]));
    assert_eq!(rep.status, Status::Ok, "{}", render_text(&rep));
    let h = &rep.domains[0].hosts[0];
    let t = h.tlsa.as_ref().unwrap();
    assert_eq!(t.servers.as_ref().unwrap().verdict, Verdict::ServersSigned);
    assert_eq!(t.disagreement, None);
    assert!(
        render_text(&rep).contains(&format!(
            "TLSA _25._tcp.mx1.example.test Secure: {}; servers signed\n",
            short(&live)
        )),
        "{}",
        render_text(&rep)
    );
    let v: serde_json::Value = serde_json::from_str(&render_json(&rep)).unwrap();
    let s = &v["domains"][0]["hosts"][0]["tlsa"]["servers"];
    assert_eq!(s["verdict"], "servers_signed", "{v:#}");
    assert_eq!(s["answers"][1]["server"], "192.0.2.52:53");
    assert_eq!(s["answers"][1]["state"], "signed");

    let unsigned = Signature::Invalid {
        reason: "TLSA _25._tcp.mx1.example.test. carries no RRSIG".into(),
    };
    let rep = observe(Ok(vec![
        answer(1, vec![live.clone()], valid.clone()),
        answer(2, vec![live.clone()], unsigned),
    ]));
    assert_eq!(rep.status, Status::Critical, "{}", rep.summary);
    let h = &rep.domains[0].hosts[0];
    assert_eq!(h.status, Status::Critical);
    assert!(
        h.reasons.iter().any(|r| r.starts_with(
            "TLSA _25._tcp.mx1.example.test: served without a valid signature (resolvers asking get Bogus) by 192.0.2.52:53 (UNSIGNED: "
        )),
        "{:?}",
        h.reasons
    );
    assert!(
        h.reasons
            .iter()
            .any(|r| r.contains("the validating resolver answers Secure, but")),
        "{:?}",
        h.reasons
    );

    let rep = observe(Ok(vec![answer(
        1,
        vec![live.clone(), next.clone()],
        valid.clone(),
    )]));
    assert_eq!(rep.status, Status::Warning, "{}", rep.summary);
    let t = rep.domains[0].hosts[0].tlsa.as_ref().unwrap();
    assert!(
        t.disagreement
            .as_deref()
            .is_some_and(|d| d.contains(&format!("lacks {}", short(&next)))),
        "{t:?}"
    );
    assert!(render_text(&rep).contains("; servers signed, resolver DISAGREES"));

    let rep = observe(Err(
        "_25._tcp.mx1.example.test.: no observation within 10s".into()
    ));
    assert_eq!(rep.status, Status::Unknown, "{}", rep.summary);
    assert!(
        rep.domains[0].hosts[0]
            .reasons
            .iter()
            .any(|r| r.contains("no observation within 10s")),
        "{:?}",
        rep.domains[0].hosts[0].reasons
    );
}
