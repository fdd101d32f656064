use super::*;
use crate::dane::testing::chain;
use crate::dns::Validated;
use crate::probe::verdict::label;
use crate::probe::verdict::testing::ee;

const NOW: i64 = 1_767_225_600; // 2026-01-01

#[test]
fn status_table() {
    use Status::*;
    use Verdict::*;
    let table: &[(&[Verdict], Status)] = &[
        (&[], Unknown),
        (&[Secure, Match], Ok),
        (&[Secure, Match, Match], Ok),
        (&[Secure, Match, Expiring], Warning),
        (&[Secure, Match, NoMatch], Critical),
        (&[Secure, Match, TlsFailed], Critical),
        (&[Secure, Match, Unreachable], Unknown),
        (&[Secure, Unreachable, Unreachable], Unknown),
        (&[Secure, Expiring, Unreachable], Warning),
        (&[Secure, NoMatch, Unreachable], Critical),
        (&[NotSecure, Match], Critical),
        (&[Indeterminate, Match], Unknown),
        (&[Indeterminate, NoMatch], Critical),
        (&[Bogus, Match], Critical),
        (&[Bogus, Unreachable], Critical),
        (&[NoRecords, NoMatch], Critical),
        (&[DnsFailed, Unchecked], Unknown),
        (&[Secure, NoAddresses], Unknown),
        (&[Secure, DnsFailed], Unknown),
        (&[Secure, Match, Secure, NoMatch], Critical),
        (&[Secure, Expiring, Secure, NoAddresses], Warning),
    ];
    for (verdicts, want) in table {
        assert_eq!(status_of(verdicts.iter().copied()), *want, "{verdicts:?}");
    }
    assert_eq!(
        [Ok, Warning, Critical, Unknown].map(Status::code),
        [0, 1, 2, 3]
    );
}

fn target(next: Option<Vec<TlsaRecord>>) -> Target {
    Target {
        owner: "_25._tcp.mail.example.test.".into(),
        host: "mail.example.test".into(),
        port: 25,
        protocol: Protocol::Smtp,
        address: None,
        lineage: Some("mail.example.test".into()),
        next_key: next,
    }
}

fn secure(records: Vec<TlsaRecord>) -> Result<Validated, String> {
    Ok(Validated {
        state: Validation::Secure,
        records,
        ttl: Some(60),
        detail: None,
    })
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn two_addresses_match_gives_ok_with_summary() {
    let c = chain(&["mail.example.test"], (2025, 2030));
    let r = ee(&c.leaf);
    let served = vec![c.leaf.clone(), c.intermediate.clone()];
    let obs = Observed {
        target: target(None),
        tlsa: secure(vec![r.clone()]),
        addresses: Ok(vec![ip("192.0.2.1"), ip("2001:db8::1")]),
        servers: None,
        probes: vec![
            (ip("192.0.2.1"), Ok(served.clone())),
            (ip("2001:db8::1"), Ok(served)),
        ],
    };
    let rep = build(&[obs], 14, NOW);
    assert_eq!(rep.status, Status::Ok);
    assert_eq!(
        rep.summary,
        format!(
            "DANE OK - _25._tcp.mail.example.test: 2/2 addresses match {} (Secure)",
            short(&r)
        )
    );
    let a = &rep.owners[0].addresses[0];
    assert_eq!(a.matched, vec![r.clone()]);
    assert_eq!(a.leaf_spki_sha256.as_deref(), Some(r.data_hex().as_str()));
    assert_eq!(a.days_left, Some(1461));
    assert_eq!(a.not_after.as_deref(), Some("2030-01-01T00:00:00Z"));
    assert!(rep.owners[0].stale.is_empty());
    assert_eq!(rep.owners[0].next_published, None);
    let text = render_text(&rep);
    assert!(text.starts_with("DANE OK - "), "{text}");
    assert!(text.contains("next key: unknown"), "{text}");
}

#[test]
fn expiring_warns_and_wrong_key_is_critical() {
    let c = chain(&["mail.example.test"], (2025, 2026));
    let served = vec![c.leaf.clone()];
    let obs = |records| Observed {
        target: target(None),
        tlsa: secure(records),
        addresses: Ok(vec![ip("192.0.2.1")]),
        servers: None,
        probes: vec![(ip("192.0.2.1"), Ok(served.clone()))],
    };
    // Expires 2026-01-01 = NOW: 0 days left.
    let rep = build(&[obs(vec![ee(&c.leaf)])], 14, NOW);
    assert_eq!(rep.status, Status::Warning, "{}", rep.summary);
    assert!(rep.summary.contains("expires in 0 days"), "{}", rep.summary);
    let rep = build(&[obs(vec![ee(&c.leaf)])], 0, NOW);
    assert_eq!(rep.status, Status::Ok, "{}", rep.summary);

    let other = chain(&["mail.example.test"], (2025, 2030));
    let rep = build(&[obs(vec![ee(&other.leaf)])], 14, NOW);
    assert_eq!(rep.status, Status::Critical);
    assert!(
        rep.summary.contains("0/1 addresses match (Secure)"),
        "{}",
        rep.summary
    );
    // The wrong record matches no served key: stale.
    assert_eq!(rep.owners[0].stale, vec![ee(&other.leaf)]);
}

#[test]
fn not_secure_and_bogus_are_critical_even_when_the_key_matches() {
    let c = chain(&["mail.example.test"], (2025, 2030));
    for (state, want) in [
        (Validation::Insecure, Status::Critical),
        (Validation::Bogus, Status::Critical),
        (Validation::Indeterminate, Status::Unknown),
    ] {
        let obs = Observed {
            target: target(None),
            tlsa: Ok(Validated {
                state,
                records: vec![ee(&c.leaf)],
                ttl: None,
                detail: Some("why".into()),
            }),
            addresses: Ok(vec![ip("192.0.2.1")]),
            servers: None,
            probes: vec![(ip("192.0.2.1"), Ok(vec![c.leaf.clone()]))],
        };
        let rep = build(&[obs], 14, NOW);
        assert_eq!(rep.status, want, "{state:?}");
        assert!(
            rep.summary.contains(validation_name(state)),
            "{}",
            rep.summary
        );
    }
}

#[test]
fn unreachable_and_dns_failures_are_unknown() {
    let c = chain(&["mail.example.test"], (2025, 2030));
    let obs = Observed {
        target: target(None),
        tlsa: secure(vec![ee(&c.leaf)]),
        addresses: Ok(vec![ip("192.0.2.1")]),
        servers: None,
        probes: vec![(
            ip("192.0.2.1"),
            Err(ProbeFailure {
                unreachable: true,
                message: "192.0.2.1:25: cannot connect: refused".into(),
            }),
        )],
    };
    let rep = build(std::slice::from_ref(&obs), 14, NOW);
    assert_eq!(rep.status, Status::Unknown);
    assert!(
        rep.summary
            .contains("0/1 addresses match (Secure), 1 unreachable")
    );
    let mut tls_failed = obs.clone();
    tls_failed.probes[0].1 = Err(ProbeFailure {
        unreachable: false,
        message: "no STARTTLS".into(),
    });
    assert_eq!(build(&[tls_failed], 14, NOW).status, Status::Critical);
    let mut no_tlsa = obs.clone();
    no_tlsa.tlsa = Err("timeout".into());
    no_tlsa.probes[0].1 = Ok(vec![c.leaf.clone()]);
    let rep = build(&[no_tlsa], 14, NOW);
    assert_eq!(rep.status, Status::Unknown);
    assert_eq!(rep.owners[0].addresses[0].verdict, Verdict::Unchecked);
    let mut no_addr = obs;
    no_addr.addresses = Ok(vec![]);
    no_addr.probes.clear();
    let rep = build(&[no_addr], 14, NOW);
    assert_eq!(rep.status, Status::Unknown);
    assert!(rep.summary.contains("no A or AAAA"), "{}", rep.summary);
}

#[test]
fn secure_without_records_is_critical() {
    let c = chain(&["mail.example.test"], (2025, 2030));
    let obs = Observed {
        target: target(None),
        tlsa: secure(vec![]),
        addresses: Ok(vec![ip("192.0.2.1")]),
        servers: None,
        probes: vec![(ip("192.0.2.1"), Ok(vec![c.leaf.clone()]))],
    };
    let rep = build(&[obs], 14, NOW);
    assert_eq!(rep.status, Status::Critical);
    assert!(rep.summary.contains("no TLSA records"), "{}", rep.summary);
}

#[test]
fn next_key_is_not_stale_and_its_publication_is_reported() {
    let c = chain(&["mail.example.test"], (2025, 2030));
    let next = chain(&["mail.example.test"], (2025, 2030));
    let old = chain(&["mail.example.test"], (2025, 2030));
    let records = vec![ee(&c.leaf), ee(&next.leaf), ee(&old.leaf)];
    let obs = |next_key| Observed {
        target: target(next_key),
        tlsa: secure(records.clone()),
        addresses: Ok(vec![ip("192.0.2.1")]),
        servers: None,
        probes: vec![(ip("192.0.2.1"), Ok(vec![c.leaf.clone()]))],
    };
    let rep = build(&[obs(Some(vec![ee(&next.leaf)]))], 14, NOW);
    assert_eq!(rep.owners[0].stale, vec![ee(&old.leaf)]);
    assert_eq!(rep.owners[0].next_published, Some(true));
    let unpublished = chain(&["mail.example.test"], (2025, 2030));
    let rep = build(&[obs(Some(vec![ee(&unpublished.leaf)]))], 14, NOW);
    assert_eq!(rep.owners[0].next_published, Some(false));
    assert_eq!(rep.owners[0].stale.len(), 2);
}

#[test]
fn json_has_the_stable_fields() {
    let c = chain(&["mail.example.test"], (2025, 2030));
    let obs = Observed {
        target: target(None),
        tlsa: secure(vec![ee(&c.leaf)]),
        addresses: Ok(vec![ip("192.0.2.1")]),
        servers: None,
        probes: vec![(ip("192.0.2.1"), Ok(vec![c.leaf.clone()]))],
    };
    let rep = build(&[obs], 14, NOW);
    let v: serde_json::Value = serde_json::from_str(&render_json(&rep)).unwrap();
    assert_eq!(v["status"], "OK");
    assert_eq!(v["exit_code"], 0);
    assert!(v["summary"].as_str().unwrap().starts_with("DANE OK"));
    let o = &v["owners"][0];
    for k in [
        "owner",
        "host",
        "port",
        "protocol",
        "validation",
        "records",
        "addresses",
        "stale",
        "next_published",
    ] {
        assert!(o.get(k).is_some(), "owner lacks {k}: {o}");
    }
    assert_eq!(o["protocol"], "smtp");
    assert_eq!(o["validation"], "secure");
    let a = &o["addresses"][0];
    for k in [
        "address",
        "matched",
        "verdict",
        "error",
        "leaf_spki_sha256",
        "not_after",
        "days_left",
    ] {
        assert!(a.get(k).is_some(), "address lacks {k}: {a}");
    }
    assert_eq!(a["address"], "192.0.2.1");
    assert_eq!(a["verdict"], "match");
    assert_eq!(a["matched"][0], ee(&c.leaf).to_string());
}

#[test]
fn metrics_lines() {
    let c = chain(&["mail.example.test"], (2025, 2030));
    let obs = Observed {
        target: target(None),
        tlsa: secure(vec![ee(&c.leaf)]),
        addresses: Ok(vec![ip("192.0.2.1"), ip("192.0.2.2")]),
        servers: None,
        probes: vec![
            (ip("192.0.2.1"), Ok(vec![c.leaf.clone()])),
            (
                ip("192.0.2.2"),
                Err(ProbeFailure {
                    unreachable: true,
                    message: "x".into(),
                }),
            ),
        ],
    };
    let rep = build(&[obs], 14, NOW);
    let m = render_metrics(&rep, NOW);
    assert!(m.contains("danerollover_check_status 3\n"), "{m}");
    assert!(m.contains(&format!(
        "danerollover_check_last_run_timestamp_seconds {NOW}\n"
    )));
    assert!(m.contains(
        "danerollover_check_match{owner=\"_25._tcp.mail.example.test.\",address=\"192.0.2.1\"} 1\n"
    ));
    assert!(m.contains(
        "danerollover_check_match{owner=\"_25._tcp.mail.example.test.\",address=\"192.0.2.2\"} 0\n"
    ));
    assert!(m.contains(
        "danerollover_cert_days_left{owner=\"_25._tcp.mail.example.test.\",address=\"192.0.2.1\"} 1461\n"
    ));
    assert!(!m.contains("address=\"192.0.2.2\"} 1461"));
    assert!(m.contains("danerollover_check_secure{owner=\"_25._tcp.mail.example.test.\"} 1\n"));
    assert!(!m.contains("danerollover_check_next_published{"));
    assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

/// The servers' view beside the resolver's: in JSON (`servers`, `disagreement`), the
/// plugin line, the text and the metrics; a resolver holding an older RRset is a WARNING.
#[test]
fn servers_view_and_disagreement_shape() {
    use crate::dns::{OwnerObservation, Served as Answer, ServerAnswer, ServerOutcome, Signature};
    let c = chain(&["mail.example.test"], (2025, 2030));
    let live = ee(&c.leaf);
    let next: TlsaRecord = format!("3 1 1 {}", "ab".repeat(32)).parse().unwrap();
    let answer = |i: u8, signature: Signature| ServerAnswer {
        server: std::net::SocketAddr::from(([127, 0, 10, i], 53)),
        name: Some(format!("ns{i}.example.test.")),
        outcome: ServerOutcome::Answer(Answer {
            records: vec![live.clone(), next.clone()],
            ttl: Some(300),
            serial: Some(7),
            authoritative: true,
            cname: None,
            negative_ttl: None,
            signature,
        }),
    };
    let until = jiff::Timestamp::from_second(NOW + 86400).unwrap();
    let obs = |servers: Vec<ServerAnswer>| Observed {
        target: target(None),
        // The resolver still holds the RRset from before the next key's record.
        tlsa: secure(vec![live.clone()]),
        addresses: Ok(vec![ip("192.0.2.1")]),
        probes: vec![(ip("192.0.2.1"), Ok(vec![c.leaf.clone()]))],
        servers: Some(Ok(OwnerObservation {
            owner: "_25._tcp.mail.example.test.".into(),
            zone: Some("example.test.".into()),
            servers,
            validated: secure(vec![live.clone()]).unwrap(),
            chain: Vec::new(),
        })),
    };
    let signed = || Signature::Valid { expires: until };
    let rep = build(
        &[obs(vec![answer(1, signed()), answer(2, signed())])],
        14,
        NOW,
    );
    assert_eq!(rep.status, Status::Warning, "{}", rep.summary);
    assert_eq!(
        rep.summary,
        format!(
            "DANE WARNING - _25._tcp.mail.example.test: 1/1 addresses match {} (Secure; servers signed, resolver DISAGREES)",
            short(&live)
        )
    );
    let v: serde_json::Value = serde_json::from_str(&render_json(&rep)).unwrap();
    let o = &v["owners"][0];
    assert_eq!(o["validation"], "secure");
    assert_eq!(o["verdict"], "secure");
    assert_eq!(o["servers"]["verdict"], "servers_signed");
    assert_eq!(o["servers"]["detail"], serde_json::Value::Null);
    let mut both = vec![live.to_string(), next.to_string()];
    both.sort();
    assert_eq!(o["servers"]["records"], serde_json::json!(both));
    let a = &o["servers"]["answers"][1];
    assert_eq!(a["server"], "ns2.example.test. (127.0.10.2:53)");
    assert_eq!(a["state"], "signed");
    assert_eq!(a["signed_until"], until.to_string());
    let d = o["disagreement"].as_str().unwrap();
    assert!(
        d.starts_with("every authoritative server serves ")
            && d.contains(&format!(
                "the validating resolver's Secure answer lacks {}",
                short(&next)
            ))
            && d.contains("holds an older answer in its cache"),
        "{d}"
    );
    let text = render_text(&rep);
    for line in [
        "  validating resolver: TLSA Secure: secure\n",
        "  authoritative servers: every one serves the RRset with a valid signature\n",
        &format!(
            "    ns1.example.test. (127.0.10.1:53): signed until {until}, {}\n",
            shorts([&live, &next])
        ),
        &format!("  resolver and servers DISAGREE: {d}\n"),
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
    let m = render_metrics(&rep, NOW);
    let owner = "owner=\"_25._tcp.mail.example.test.\"";
    assert!(
        m.contains(&format!("danerollover_check_servers_signed{{{owner}}} 1\n")),
        "{m}"
    );
    assert!(
        m.contains(&format!(
            "danerollover_check_resolver_disagrees{{{owner}}} 1\n"
        )),
        "{m}"
    );

    // One server's signature expired: CRITICAL, naming it, and the resolver's Secure
    // answer is the reverse disagreement.
    let expired = Signature::Invalid {
        reason: "the RRSIG of TLSA _25._tcp.mail.example.test. expired at 2026-12-01T00:00:00Z"
            .into(),
    };
    let rep = build(
        &[obs(vec![answer(1, signed()), answer(2, expired)])],
        14,
        NOW,
    );
    assert_eq!(rep.status, Status::Critical, "{}", rep.summary);
    assert!(
        rep.summary
            .contains("(Secure; servers NOT VALIDLY SIGNED, resolver DISAGREES)"),
        "{}",
        rep.summary
    );
    let v: serde_json::Value = serde_json::from_str(&render_json(&rep)).unwrap();
    let o = &v["owners"][0];
    assert_eq!(o["servers"]["verdict"], "servers_unsigned");
    assert_eq!(o["servers"]["answers"][1]["state"], "expired");
    assert!(
        o["servers"]["detail"]
            .as_str()
            .unwrap()
            .contains("ns2.example.test. (127.0.10.2:53) (SIGNATURE EXPIRED: the RRSIG"),
        "{o}"
    );
    let m = render_metrics(&rep, NOW);
    assert!(
        m.contains(&format!("danerollover_check_servers_signed{{{owner}}} 0\n")),
        "{m}"
    );

    // Not asked (doctor): no servers' view, nothing added.
    let mut o = obs(vec![]);
    o.servers = None;
    let rep = build(&[o], 14, NOW);
    assert_eq!(rep.status, Status::Ok, "{}", rep.summary);
    assert!(!render_metrics(&rep, NOW).contains("danerollover_check_servers_signed{"));
    let v: serde_json::Value = serde_json::from_str(&render_json(&rep)).unwrap();
    assert_eq!(v["owners"][0]["servers"], serde_json::Value::Null);
}
