use std::net::SocketAddr;

use super::*;
use crate::dns::{Served, ServerAnswer};
use crate::probe::verdict::{Status, status_of};

const NOW: i64 = 1_800_000_000;

fn now() -> Timestamp {
    Timestamp::from_second(NOW).unwrap()
}

fn rec(byte: u8) -> TlsaRecord {
    format!("3 1 1 {}", hex::encode([byte; 32]))
        .parse()
        .unwrap()
}

fn valid() -> Signature {
    Signature::Valid {
        expires: Timestamp::from_second(NOW + 86400).unwrap(),
    }
}

/// One server's answer: `records` under `signature`, with or without the AA bit.
fn answer(i: u8, records: Vec<TlsaRecord>, signature: Signature, aa: bool) -> ServerAnswer {
    ServerAnswer {
        server: SocketAddr::from(([127, 0, 10, i], 53)),
        name: Some(format!("ns{i}.example.test.")),
        outcome: ServerOutcome::Answer(Served {
            ttl: (!records.is_empty()).then_some(300),
            negative_ttl: records.is_empty().then_some(60),
            records,
            serial: Some(1),
            authoritative: aa,
            cname: None,
            signature,
        }),
    }
}

fn signed(i: u8, records: Vec<TlsaRecord>) -> ServerAnswer {
    answer(i, records, valid(), true)
}

fn invalid(i: u8, reason: &str) -> ServerAnswer {
    answer(
        i,
        vec![rec(1)],
        Signature::Invalid {
            reason: reason.into(),
        },
        true,
    )
}

fn down(i: u8) -> ServerAnswer {
    ServerAnswer {
        server: SocketAddr::from(([127, 0, 10, i], 53)),
        name: None,
        outcome: ServerOutcome::Error {
            error: format!("127.0.10.{i}:53: no answer to TLSA within 5s"),
        },
    }
}

fn observed(servers: Vec<ServerAnswer>) -> Result<OwnerObservation, String> {
    Ok(OwnerObservation {
        owner: "_25._tcp.mail.example.test.".into(),
        zone: Some("example.test.".into()),
        servers,
        validated: resolver(Validation::Indeterminate, vec![]).unwrap(),
        chain: Vec::new(),
    })
}

fn resolver(state: Validation, records: Vec<TlsaRecord>) -> Result<Validated, String> {
    Ok(Validated {
        state,
        records,
        ttl: Some(42),
        detail: None,
    })
}

/// One row: what, the servers' observation, the resolver's read, the servers' verdict, a
/// word of the disagreement (None: they agree or cannot tell), the folded status.
type Row = (
    &'static str,
    Result<OwnerObservation, String>,
    Result<Validated, String>,
    Verdict,
    Option<&'static str>,
    Status,
);

/// The mapping, as a table: what the servers serve and what the resolver answers, to the
/// servers' verdict, whether the views disagree (with a word the sentence must hold), and
/// the status these two verdicts fold to beside the resolver's own.
#[test]
fn verdict_mapping_table() {
    use Validation::*;
    let secure = |r| resolver(Secure, r);
    let both = || {
        vec![
            signed(1, vec![rec(1), rec(2)]),
            signed(2, vec![rec(2), rec(1)]),
        ]
    };
    let table: Vec<Row> = vec![
        (
            "agree",
            observed(both()),
            secure(vec![rec(2), rec(1)]),
            Verdict::ServersSigned,
            None,
            Status::Ok,
        ),
        (
            "resolver cached the old RRset",
            observed(both()),
            secure(vec![rec(1)]),
            Verdict::ServersSigned,
            Some(
                "lacks 3 1 1 02020202…: it likely holds an older answer in its cache, until it expires (its answer's TTL: 42 s)",
            ),
            Status::Warning,
        ),
        (
            "resolver still has a retired record",
            observed(vec![signed(1, vec![rec(1)]), signed(2, vec![rec(1)])]),
            secure(vec![rec(1), rec(3)]),
            Verdict::ServersSigned,
            Some("still has 3 1 1 03030303…"),
            Status::Warning,
        ),
        (
            "resolver cached a negative answer",
            observed(both()),
            secure(vec![]),
            Verdict::ServersSigned,
            Some("older negative answer"),
            Status::Critical, // NoRecords from the resolver's own verdict
        ),
        (
            "resolver without the trust anchor",
            observed(both()),
            resolver(Insecure, vec![rec(1), rec(2)]),
            Verdict::ServersSigned,
            Some("without the root trust anchor"),
            Status::Critical, // NotSecure from the resolver's own verdict
        ),
        (
            "resolver finds it Bogus",
            observed(both()),
            resolver(Bogus, vec![]),
            Verdict::ServersSigned,
            Some("finds it Bogus"),
            Status::Critical,
        ),
        (
            "resolver cannot tell: no claim",
            observed(both()),
            resolver(Indeterminate, vec![]),
            Verdict::ServersSigned,
            None,
            Status::Unknown,
        ),
        (
            "resolver lookup failed: no claim",
            observed(both()),
            Err("TLSA: no answer within 5s".into()),
            Verdict::ServersSigned,
            None,
            Status::Unknown,
        ),
        (
            "a server without RRSIG, resolver Secure: the reverse",
            observed(vec![
                signed(1, vec![rec(1)]),
                invalid(2, "TLSA _25._tcp.mail.example.test. carries no RRSIG"),
            ]),
            secure(vec![rec(1)]),
            Verdict::ServersUnsigned,
            Some(
                "ns2.example.test. (127.0.10.2:53) (UNSIGNED: TLSA _25._tcp.mail.example.test. carries no RRSIG)",
            ),
            Status::Critical,
        ),
        (
            "an expired signature, resolver Bogus too",
            observed(vec![invalid(
                1,
                "the RRSIG of TLSA x expired at 2027-01-01T00:00:00Z",
            )]),
            resolver(Bogus, vec![]),
            Verdict::ServersUnsigned,
            None,
            Status::Critical,
        ),
        (
            "a signature valid when observed, expired now",
            observed(vec![answer(
                1,
                vec![rec(1)],
                Signature::Valid { expires: now() },
                true,
            )]),
            resolver(Bogus, vec![]),
            Verdict::ServersUnsigned,
            None,
            Status::Critical,
        ),
        (
            "a server unreachable: unknown, no claim",
            observed(vec![signed(1, vec![rec(1)]), down(2)]),
            secure(vec![rec(9)]),
            Verdict::ServersUnknown,
            None,
            Status::Unknown,
        ),
        (
            "a lame server",
            observed(vec![
                signed(1, vec![rec(1)]),
                answer(2, vec![rec(1)], valid(), false),
            ]),
            secure(vec![rec(1)]),
            Verdict::ServersUnknown,
            None,
            Status::Unknown,
        ),
        (
            "the zone's keys cannot be authenticated",
            observed(vec![answer(
                1,
                vec![rec(1)],
                Signature::Unknown {
                    reason: "the DNSKEY RRset of example.test. is insecure".into(),
                },
                true,
            )]),
            resolver(Insecure, vec![rec(1)]),
            Verdict::ServersUnknown,
            None,
            Status::Critical,
        ),
        (
            "no server found",
            observed(vec![]),
            secure(vec![rec(1)]),
            Verdict::ServersUnknown,
            None,
            Status::Unknown,
        ),
        (
            "the servers were not observed in time",
            Err("no observation within 10s".into()),
            secure(vec![rec(1)]),
            Verdict::ServersUnknown,
            None,
            Status::Unknown,
        ),
        (
            "a secondary lags",
            observed(vec![
                signed(1, vec![rec(1), rec(2)]),
                signed(2, vec![rec(1)]),
            ]),
            secure(vec![rec(1)]),
            Verdict::ServersDiffer,
            None,
            Status::Warning,
        ),
        (
            "records removed everywhere, resolver still has them",
            observed(vec![signed(1, vec![]), signed(2, vec![])]),
            secure(vec![rec(1)]),
            Verdict::ServersNoRecords,
            Some("still answers 3 1 1 01010101…"),
            Status::Critical,
        ),
        (
            "no records anywhere",
            observed(vec![signed(1, vec![])]),
            secure(vec![]),
            Verdict::ServersNoRecords,
            None,
            Status::Critical,
        ),
    ];
    for (what, obs, res, want, says, status) in table {
        let s = servers_report(&obs, now());
        assert_eq!(s.verdict, want, "{what}: {s:?}");
        let d = disagreement(&res, &s);
        match (says, &d) {
            (None, None) => {}
            (Some(w), Some(d)) => assert!(d.contains(w), "{what}: {d}"),
            _ => panic!("{what}: disagreement {d:?}, want {says:?}"),
        }
        // The resolver's own verdict, as `check` gives it, beside these two.
        let own = match &res {
            Ok(v) if v.state == Secure && v.records.is_empty() => Verdict::NoRecords,
            Ok(v) if v.state == Secure => Verdict::Secure,
            Ok(v) if v.state == Bogus => Verdict::Bogus,
            Ok(v) if v.state == Insecure => Verdict::NotSecure,
            Ok(_) => Verdict::Indeterminate,
            Err(_) => Verdict::DnsFailed,
        };
        let verdicts = [
            Some(own),
            Some(s.verdict),
            d.map(|_| Verdict::ViewsDisagree),
        ];
        assert_eq!(status_of(verdicts.into_iter().flatten()), status, "{what}");
    }
}

#[test]
fn each_server_is_named_with_its_state() {
    let s = servers_report(
        &observed(vec![
            signed(1, vec![rec(1)]),
            invalid(2, "the RRSIG of TLSA x expired at 2027-01-01T00:00:00Z"),
            invalid(
                3,
                "the RRSIG of TLSA x does not verify with key tag 1 of example.test.",
            ),
            down(4),
        ]),
        now(),
    );
    let states: Vec<ServerState> = s.answers.iter().map(|a| a.state).collect();
    assert_eq!(
        states,
        [
            ServerState::Signed,
            ServerState::Expired,
            ServerState::Bogus,
            ServerState::NoAnswer
        ]
    );
    assert_eq!(
        s.answers[0].signed_until.as_deref(),
        Some("2027-01-16T08:00:00Z")
    );
    let d = s.detail.unwrap();
    for want in [
        "ns2.example.test. (127.0.10.2:53) (SIGNATURE EXPIRED",
        "ns3.example.test. (127.0.10.3:53) (BOGUS SIGNATURE",
        "unknown at 127.0.10.4:53 (NO ANSWER: 127.0.10.4:53: no answer to TLSA within 5s)",
    ] {
        assert!(d.contains(want), "{want}: {d}");
    }
    assert!(!d.contains("ns1"), "{d}");
}

#[test]
fn a_cname_leaving_the_zone_counts_through_the_target_servers() {
    let alias = ServerAnswer {
        server: SocketAddr::from(([127, 0, 10, 1], 53)),
        name: None,
        outcome: ServerOutcome::Answer(Served {
            records: vec![],
            ttl: None,
            serial: Some(1),
            authoritative: true,
            cname: Some("dane.example.net.".into()),
            negative_ttl: None,
            signature: Signature::default(),
        }),
    };
    let s = servers_report(
        &observed(vec![alias.clone(), signed(2, vec![rec(1)])]),
        now(),
    );
    assert_eq!(s.verdict, Verdict::ServersSigned, "{s:?}");
    assert_eq!(s.records, vec![rec(1)]);
    assert_eq!(s.answers[0].state, ServerState::Alias);
    let mut text = String::new();
    write_text(&mut text, &s, None);
    assert!(
        text.contains(
            "127.0.10.1:53: CNAME -> dane.example.net. (records at the target's servers)"
        ),
        "{text}"
    );
    // Without the target's servers nothing is known.
    let s = servers_report(&observed(vec![alias]), now());
    assert_eq!(s.verdict, Verdict::ServersUnknown);
}
