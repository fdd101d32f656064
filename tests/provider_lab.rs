//! Providers against the lab's real servers: PowerDNS's HTTP API (zone example.test) and
//! RFC 2136 to BIND (zone example2.test). Each change is checked by asking the
//! authoritative server itself. Owners are unique per test run and cleaned up.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::Lab;
use danerollover::config::ProviderConfig;
use danerollover::provider::{self, Change, Provider};
use danerollover::tlsa::TlsaRecord;
use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RData, RecordType};

const TIMEOUT: Duration = Duration::from_secs(5);

fn unique(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{test}-{}-{nanos}", std::process::id()).replace('_', "-")
}

/// A distinct DANE-EE SPKI SHA-256 record.
fn rec(tag: &str, n: u8) -> TlsaRecord {
    use sha2::Digest;
    let data = sha2::Sha256::digest(format!("{tag}/{n}").as_bytes()).to_vec();
    format!("3 1 1 {}", hex::encode(data)).parse().unwrap()
}

/// A DANE-TA record (usage 2), as another tool might publish at the same owner.
fn dane_ta(tag: &str) -> TlsaRecord {
    use sha2::Digest;
    let data = sha2::Sha256::digest(format!("ta/{tag}").as_bytes()).to_vec();
    format!("2 0 1 {}", hex::encode(data)).parse().unwrap()
}

fn change(zone: &str, owner: &str, add: Vec<TlsaRecord>, remove: Vec<TlsaRecord>) -> Change {
    Change {
        zone: format!("{}.", zone.trim_end_matches('.')),
        owner: owner.to_string(),
        ttl: 120,
        add,
        remove,
    }
}

/// The TLSA records `server` itself serves at `owner` (no recursion).
async fn served(server: SocketAddr, owner: &str) -> BTreeSet<String> {
    let mut query = Message::query();
    query.metadata.recursion_desired = false;
    query.add_query(Query::query(
        Name::from_ascii(owner).unwrap(),
        RecordType::TLSA,
    ));
    let bytes = query.to_vec().unwrap();
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(server).await.unwrap();
    socket.send(&bytes).await.unwrap();
    let mut buf = vec![0u8; 65535];
    let n = tokio::time::timeout(TIMEOUT, socket.recv(&mut buf))
        .await
        .expect("the server answers")
        .unwrap();
    let answer = Message::from_vec(&buf[..n]).unwrap();
    let answer = if answer.metadata.truncation {
        // Ask again over TCP.
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tcp = tokio::net::TcpStream::connect(server).await.unwrap();
        let mut out = (bytes.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(&bytes);
        tcp.write_all(&out).await.unwrap();
        let mut len = [0u8; 2];
        tcp.read_exact(&mut len).await.unwrap();
        let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
        tcp.read_exact(&mut body).await.unwrap();
        Message::from_vec(&body).unwrap()
    } else {
        answer
    };
    answer
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::TLSA(t) => Some(
                format!(
                    "{} {} {} {}",
                    u8::from(t.cert_usage),
                    u8::from(t.selector),
                    u8::from(t.matching),
                    hex::encode(&t.cert_data)
                )
                .parse::<TlsaRecord>()
                .unwrap()
                .to_string(),
            ),
            _ => None,
        })
        .collect()
}

fn set(records: &[&TlsaRecord]) -> BTreeSet<String> {
    records.iter().map(|r| r.to_string()).collect()
}

/// Wait (BIND signs inline, a moment after the update) until `server` serves `want`.
async fn expect_served(server: SocketAddr, owner: &str, want: BTreeSet<String>) {
    let start = Instant::now();
    loop {
        let got = served(server, owner).await;
        if got == want {
            return;
        }
        if start.elapsed() > Duration::from_secs(10) {
            panic!("{server} serves at {owner}:\n{got:#?}\nexpected:\n{want:#?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A secret file (mode 0600) in `dir`.
fn secret_file(dir: &Path, name: &str, value: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, value).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

fn pdns_config(lab: &Lab, key_file: PathBuf) -> ProviderConfig {
    ProviderConfig::Powerdns {
        url: lab.var("LAB_PDNS_API").to_string(),
        api_key_file: Some(key_file),
        api_key_env: None,
        server_id: lab.var("LAB_PDNS_SERVER_ID").to_string(),
    }
}

/// The lab's PowerDNS API, with its real API key.
fn lab_pdns(lab: &Lab) -> Box<dyn Provider> {
    provider::build(
        "lab-pdns",
        &pdns_config(lab, lab.path("LAB_PDNS_API_KEY_FILE")),
        TIMEOUT,
    )
    .unwrap()
}

/// The lab's BIND, through RFC 2136 with its real TSIG key.
fn lab_bind(lab: &Lab) -> Box<dyn Provider> {
    let config = bind_config(
        lab,
        lab.var("LAB_TSIG_NAME"),
        lab.path("LAB_TSIG_SECRET_FILE"),
    );
    provider::build("lab-bind", &config, TIMEOUT).unwrap()
}

fn bind_config(lab: &Lab, tsig_name: &str, secret_file: PathBuf) -> ProviderConfig {
    ProviderConfig::Rfc2136 {
        server: lab.var("LAB_BIND_DNS").to_string(),
        tsig_name: tsig_name.to_string(),
        tsig_algorithm: lab.var("LAB_TSIG_ALGORITHM").to_string(),
        tsig_secret_file: Some(secret_file),
        tsig_secret_env: None,
    }
}

/// The shared scenario: a foreign record and a DANE-TA record sit at the owner; our key
/// is added, rolled (next added, old removed), and removed; the others survive each step.
async fn add_roll_remove(p: &dyn Provider, server: SocketAddr, zone: &str, owner: &str, tag: &str) {
    let foreign = rec(tag, 100);
    let ta = dane_ta(tag);
    let (old, next) = (rec(tag, 1), rec(tag, 2));

    // Someone else's records first (one change), then ours (another change).
    p.apply(&change(
        zone,
        owner,
        vec![foreign.clone(), ta.clone()],
        vec![],
    ))
    .await
    .unwrap();
    p.apply(&change(zone, owner, vec![old.clone()], vec![]))
        .await
        .unwrap();
    expect_served(server, owner, set(&[&foreign, &ta, &old])).await;

    // The rollover step: next in, old out, in one change.
    p.apply(&change(zone, owner, vec![next.clone()], vec![old.clone()]))
        .await
        .unwrap();
    expect_served(server, owner, set(&[&foreign, &ta, &next])).await;

    // Applying the same change again changes nothing.
    p.apply(&change(zone, owner, vec![next.clone()], vec![old.clone()]))
        .await
        .unwrap();
    expect_served(server, owner, set(&[&foreign, &ta, &next])).await;

    // Removing ours leaves the others.
    p.apply(&change(zone, owner, vec![], vec![next.clone()]))
        .await
        .unwrap();
    expect_served(server, owner, set(&[&foreign, &ta])).await;

    // Clean up.
    p.apply(&change(zone, owner, vec![], vec![foreign, ta]))
        .await
        .unwrap();
    expect_served(server, owner, BTreeSet::new()).await;
}

#[tokio::test]
async fn powerdns_adds_rolls_and_removes_leaving_foreign_records() {
    let Some(lab) = Lab::get("powerdns_adds_rolls_and_removes_leaving_foreign_records") else {
        return;
    };
    let zone = lab.var("LAB_PDNS_ZONE");
    let tag = unique("pdns-roll");
    let owner = format!("_25._tcp.{tag}.{zone}.");
    let p = lab_pdns(&lab);
    assert_eq!(p.kind(), "powerdns");
    add_roll_remove(p.as_ref(), lab.addr("LAB_PDNS_DNS"), zone, &owner, &tag).await;
}

#[tokio::test]
async fn powerdns_read_shows_the_api_view_and_ttl() {
    let Some(lab) = Lab::get("powerdns_read_shows_the_api_view_and_ttl") else {
        return;
    };
    let zone = lab.var("LAB_PDNS_ZONE");
    let tag = unique("pdns-read");
    let owner = format!("_25._tcp.{tag}.{zone}.");
    let p = lab_pdns(&lab);
    let zone_dot = format!("{zone}.");
    let view = p.read(&zone_dot, &owner).await.unwrap().unwrap();
    assert!(view.records.is_empty() && view.ttl.is_none(), "{view:?}");

    let (a, b) = (rec(&tag, 1), rec(&tag, 2));
    let mut c = change(zone, &owner, vec![a.clone(), b.clone()], vec![]);
    c.ttl = 240;
    p.apply(&c).await.unwrap();
    let view = p.read(&zone_dot, &owner).await.unwrap().unwrap();
    assert_eq!(view.ttl, Some(240));
    let got: BTreeSet<String> = view.records.iter().map(|r| r.to_string()).collect();
    assert_eq!(got, set(&[&a, &b]));

    p.apply(&change(zone, &owner, vec![], vec![a, b]))
        .await
        .unwrap();
    let view = p.read(&zone_dot, &owner).await.unwrap().unwrap();
    assert!(view.records.is_empty(), "{view:?}");
}

#[tokio::test]
async fn powerdns_wrong_api_key_is_a_clear_error_and_changes_nothing() {
    let Some(lab) = Lab::get("powerdns_wrong_api_key_is_a_clear_error_and_changes_nothing") else {
        return;
    };
    let zone = lab.var("LAB_PDNS_ZONE");
    let tag = unique("pdns-badkey");
    let owner = format!("_25._tcp.{tag}.{zone}.");
    let dir = tempfile::tempdir().unwrap();
    let wrong = "wrong-api-key-0123456789abcdef";
    let p = provider::build(
        "lab-pdns",
        &pdns_config(&lab, secret_file(dir.path(), "pdns.key", wrong)),
        TIMEOUT,
    )
    .unwrap();
    let err = p
        .apply(&change(zone, &owner, vec![rec(&tag, 1)], vec![]))
        .await
        .unwrap_err()
        .to_string();
    eprintln!("error: {err}");
    assert!(err.contains("lab-pdns"), "{err}");
    assert!(err.contains(&owner), "{err}");
    assert!(err.contains("401"), "{err}");
    assert!(err.contains("API key"), "{err}");
    assert!(!err.contains(wrong), "the key leaked: {err}");
    let real_key = std::fs::read_to_string(lab.path("LAB_PDNS_API_KEY_FILE")).unwrap();
    assert!(!err.contains(real_key.trim()), "the real key leaked: {err}");
    assert!(served(lab.addr("LAB_PDNS_DNS"), &owner).await.is_empty());
}

#[tokio::test]
async fn powerdns_unknown_zone_is_named() {
    let Some(lab) = Lab::get("powerdns_unknown_zone_is_named") else {
        return;
    };
    let p = lab_pdns(&lab);
    let err = p
        .apply(&change(
            "nosuchzone.test",
            "_25._tcp.mail.nosuchzone.test.",
            vec![rec("nz", 1)],
            vec![],
        ))
        .await
        .unwrap_err()
        .to_string();
    eprintln!("error: {err}");
    assert!(err.contains("nosuchzone.test"), "{err}");
}

#[tokio::test]
async fn rfc2136_adds_rolls_and_removes_leaving_foreign_records() {
    let Some(lab) = Lab::get("rfc2136_adds_rolls_and_removes_leaving_foreign_records") else {
        return;
    };
    let zone = lab.var("LAB_BIND_ZONE");
    let tag = unique("bind-roll");
    let owner = format!("_25._tcp.{tag}.{zone}.");
    let p = lab_bind(&lab);
    assert_eq!(p.kind(), "rfc2136");
    assert!(p.read(zone, &owner).await.unwrap().is_none());
    add_roll_remove(p.as_ref(), lab.addr("LAB_BIND_DNS"), zone, &owner, &tag).await;
}

#[tokio::test]
async fn rfc2136_large_update_goes_over_tcp() {
    let Some(lab) = Lab::get("rfc2136_large_update_goes_over_tcp") else {
        return;
    };
    let zone = lab.var("LAB_BIND_ZONE");
    let tag = unique("bind-tcp");
    let owner = format!("_25._tcp.{tag}.{zone}.");
    let p = lab_bind(&lab);
    // 16 records of 35 bytes of RDATA: well over 512 bytes.
    let many: Vec<TlsaRecord> = (0..16).map(|n| rec(&tag, n)).collect();
    p.apply(&change(zone, &owner, many.clone(), vec![]))
        .await
        .unwrap();
    let want: BTreeSet<String> = many.iter().map(|r| r.to_string()).collect();
    expect_served(lab.addr("LAB_BIND_DNS"), &owner, want).await;
    p.apply(&change(zone, &owner, vec![], many)).await.unwrap();
    expect_served(lab.addr("LAB_BIND_DNS"), &owner, BTreeSet::new()).await;
}

#[tokio::test]
async fn rfc2136_wrong_secret_is_badsig_and_changes_nothing() {
    let Some(lab) = Lab::get("rfc2136_wrong_secret_is_badsig_and_changes_nothing") else {
        return;
    };
    let zone = lab.var("LAB_BIND_ZONE");
    let tag = unique("bind-badsig");
    let owner = format!("_25._tcp.{tag}.{zone}.");
    let dir = tempfile::tempdir().unwrap();
    // A well-formed base64 secret that is not the server's.
    let wrong = "bm90LXRoZS1yaWdodC1zZWNyZXQtYXQtYWxsLTEyMzQ=";
    let p = provider::build(
        "lab-bind",
        &bind_config(
            &lab,
            lab.var("LAB_TSIG_NAME"),
            secret_file(dir.path(), "tsig", wrong),
        ),
        TIMEOUT,
    )
    .unwrap();
    let started = Instant::now();
    let err = p
        .apply(&change(zone, &owner, vec![rec(&tag, 1)], vec![]))
        .await
        .unwrap_err()
        .to_string();
    eprintln!("error: {err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "BADSIG must not be retried"
    );
    assert!(err.contains("lab-bind") && err.contains(&owner), "{err}");
    assert!(err.contains("BADSIG"), "{err}");
    assert!(err.contains(lab.var("LAB_BIND_DNS")), "{err}");
    assert!(
        err.contains(zone) && err.contains(lab.var("LAB_TSIG_NAME")),
        "{err}"
    );
    assert!(!err.contains(wrong), "the secret leaked: {err}");
    assert!(served(lab.addr("LAB_BIND_DNS"), &owner).await.is_empty());
}

#[tokio::test]
async fn rfc2136_unknown_key_is_badkey() {
    let Some(lab) = Lab::get("rfc2136_unknown_key_is_badkey") else {
        return;
    };
    let zone = lab.var("LAB_BIND_ZONE");
    let tag = unique("bind-badkey");
    let owner = format!("_25._tcp.{tag}.{zone}.");
    let p = provider::build(
        "lab-bind",
        &bind_config(&lab, "no-such-key.", lab.path("LAB_TSIG_SECRET_FILE")),
        TIMEOUT,
    )
    .unwrap();
    let err = p
        .apply(&change(zone, &owner, vec![rec(&tag, 1)], vec![]))
        .await
        .unwrap_err()
        .to_string();
    eprintln!("error: {err}");
    assert!(
        err.contains("BADKEY") && err.contains("no-such-key."),
        "{err}"
    );
    let secret = std::fs::read_to_string(lab.path("LAB_TSIG_SECRET_FILE")).unwrap();
    assert!(!err.contains(secret.trim()), "the secret leaked: {err}");
    assert!(served(lab.addr("LAB_BIND_DNS"), &owner).await.is_empty());
}

#[tokio::test]
async fn rfc2136_zone_the_server_does_not_serve_is_refused_clearly() {
    let Some(lab) = Lab::get("rfc2136_zone_the_server_does_not_serve_is_refused_clearly") else {
        return;
    };
    // BIND is not authoritative for example.test (PowerDNS is).
    let zone = lab.var("LAB_PDNS_ZONE");
    let owner = format!("_25._tcp.{}.{zone}.", unique("bind-notauth"));
    let p = lab_bind(&lab);
    let err = p
        .apply(&change(zone, &owner, vec![rec("x", 1)], vec![]))
        .await
        .unwrap_err()
        .to_string();
    eprintln!("error: {err}");
    assert!(err.contains("NOTAUTH") || err.contains("REFUSED"), "{err}");
    assert!(err.contains(zone), "{err}");
}

/// Several changes in one call (`run` batches a zone's changes): each owner's foreign and
/// DANE-TA records stay, two changes at the same owner apply in order, an owner outside
/// the zone fails alone, and a repeat changes nothing.
async fn batch_of_changes(p: &dyn Provider, server: SocketAddr, zone: &str, tag: &str) {
    let owners: Vec<String> = (0..3)
        .map(|i| format!("_25._tcp.{tag}-{i}.{zone}."))
        .collect();
    let (foreign, ta) = (rec(tag, 100), dane_ta(tag));
    p.apply(&change(
        zone,
        &owners[0],
        vec![foreign.clone(), ta.clone()],
        vec![],
    ))
    .await
    .unwrap();
    let (old, next) = (rec(tag, 1), rec(tag, 2));
    let batch = vec![
        change(zone, &owners[0], vec![old.clone(), next.clone()], vec![]),
        change(zone, &owners[1], vec![old.clone()], vec![]),
        change(zone, &owners[1], vec![next.clone()], vec![old.clone()]),
        change(
            zone,
            &format!("_25._tcp.{tag}.example.invalid."),
            vec![old.clone()],
            vec![],
        ),
        change(zone, &owners[2], vec![next.clone()], vec![]),
    ];
    let results = p.apply_all(&batch).await;
    assert_eq!(results.len(), batch.len());
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.is_err(), i == 3, "change {i}: {r:?}");
    }
    expect_served(server, &owners[0], set(&[&foreign, &ta, &old, &next])).await;
    expect_served(server, &owners[1], set(&[&next])).await;
    expect_served(server, &owners[2], set(&[&next])).await;
    let again: Vec<Change> = batch
        .into_iter()
        .filter(|c| !c.owner.contains(".invalid."))
        .collect();
    assert!(p.apply_all(&again).await.iter().all(Result::is_ok));
    expect_served(server, &owners[1], set(&[&next])).await;

    // Retire ours everywhere in one call; the others stay.
    let retire: Vec<Change> = owners
        .iter()
        .map(|o| change(zone, o, vec![], vec![old.clone(), next.clone()]))
        .collect();
    assert!(p.apply_all(&retire).await.iter().all(Result::is_ok));
    expect_served(server, &owners[0], set(&[&foreign, &ta])).await;
    for o in &owners[1..] {
        expect_served(server, o, BTreeSet::new()).await;
    }
    p.apply(&change(zone, &owners[0], vec![], vec![foreign, ta]))
        .await
        .unwrap();
    expect_served(server, &owners[0], BTreeSet::new()).await;
}

#[tokio::test]
async fn powerdns_applies_a_batch_per_zone_leaving_foreign_records() {
    let Some(lab) = Lab::get("powerdns_applies_a_batch_per_zone_leaving_foreign_records") else {
        return;
    };
    let zone = lab.var("LAB_PDNS_ZONE");
    let p = lab_pdns(&lab);
    batch_of_changes(
        p.as_ref(),
        lab.addr("LAB_PDNS_DNS"),
        zone,
        &unique("pdns-batch"),
    )
    .await;
}

#[tokio::test]
async fn rfc2136_applies_a_batch_leaving_foreign_records() {
    let Some(lab) = Lab::get("rfc2136_applies_a_batch_leaving_foreign_records") else {
        return;
    };
    let zone = lab.var("LAB_BIND_ZONE");
    let p = lab_bind(&lab);
    batch_of_changes(
        p.as_ref(),
        lab.addr("LAB_BIND_DNS"),
        zone,
        &unique("bind-batch"),
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// Two writers racing on one owner of the real PowerDNS: each PATCH replaces the whole
// RRset, so a writer that read before the other's PATCH would drop the other's record;
// the read-back after every write finds that and merges again. Every round both writers
// roll their own record (add the next, remove the previous) at the same time; after each
// round both records of the round, and the foreign record, are there and the previous
// ones gone.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn powerdns_two_writers_racing_on_one_owner_lose_no_record() {
    let Some(lab) = Lab::get("powerdns_two_writers_racing_on_one_owner_lose_no_record") else {
        return;
    };
    const ROUNDS: u8 = 30;
    let zone = lab.var("LAB_PDNS_ZONE");
    let tag = unique("pdns-race");
    let owner = format!("_25._tcp.{tag}.{zone}.");
    let (a, b) = (lab_pdns(&lab), lab_pdns(&lab));
    let foreign = dane_ta(&tag);
    a.apply(&change(zone, &owner, vec![foreign.clone()], vec![]))
        .await
        .unwrap();
    let (mut prev_a, mut prev_b): (Vec<TlsaRecord>, Vec<TlsaRecord>) = (vec![], vec![]);
    for round in 0..ROUNDS {
        let (ra, rb) = (
            rec(&format!("{tag}/a"), round),
            rec(&format!("{tag}/b"), round),
        );
        let ca = change(zone, &owner, vec![ra.clone()], prev_a.clone());
        let cb = change(zone, &owner, vec![rb.clone()], prev_b.clone());
        let (x, y) = tokio::join!(a.apply(&ca), b.apply(&cb));
        x.unwrap_or_else(|e| panic!("round {round}: writer a: {e}"));
        y.unwrap_or_else(|e| panic!("round {round}: writer b: {e}"));
        let view = a.read(zone, &owner).await.unwrap().unwrap();
        let got: BTreeSet<String> = view.records.iter().map(|r| r.to_string()).collect();
        assert_eq!(got, set(&[&foreign, &ra, &rb]), "round {round}");
        (prev_a, prev_b) = (vec![ra], vec![rb]);
    }
    let mut all = prev_a;
    all.extend(prev_b);
    all.push(foreign);
    a.apply(&change(zone, &owner, vec![], all)).await.unwrap();
    expect_served(lab.addr("LAB_PDNS_DNS"), &owner, BTreeSet::new()).await;
}

// ---------------------------------------------------------------------------------------
// doctor's zone check against the lab: example.test is signed and Secure (a trust
// anchor), insecure.example.test is signed but has no DS in its parent, and a zone
// written through a provider that cannot sign is named with what to do.

#[tokio::test]
async fn doctor_tells_a_secure_zone_from_one_without_ds() {
    use danerollover::commands::doctor::Level;
    use danerollover::commands::doctor_zones::{observe, signing_item};
    use danerollover::config::DnsConfig;
    use danerollover::dns::resolve::Resolver;
    let Some(lab) = Lab::get("doctor_tells_a_secure_zone_from_one_without_ds") else {
        return;
    };
    let zone = lab.var("LAB_PDNS_ZONE");
    for anchors in [None, Some(lab.path("LAB_TRUST_ANCHOR_FILE"))] {
        let how = if anchors.is_some() {
            "in process"
        } else {
            "AD bit"
        };
        let resolver = Resolver::from_config(&DnsConfig {
            validating_resolver: Some(lab.var("LAB_RESOLVER").to_string()),
            trust_anchor_file: anchors,
            ..DnsConfig::default()
        })
        .unwrap();
        let keys = observe(&resolver, &format!("{zone}.")).await.unwrap();
        let i = signing_item(zone, "lab-pdns", None, &keys);
        assert_eq!(i.level, Level::Ok, "{how}: {i:?}");
        assert!(i.detail.contains("validated Secure"), "{how}: {i:?}");

        let child = format!("insecure.{zone}.");
        let keys = observe(&resolver, &child).await.unwrap();
        let i = signing_item(&child, "lab-pdns", None, &keys);
        assert_eq!(i.level, Level::Fail, "{how}: {i:?}");
        assert!(i.detail.contains("no DS"), "{how}: {i:?}");
        assert!(
            i.fix.as_deref().unwrap_or("").contains("registrar"),
            "{how}: {i:?}"
        );

        // A name with no zone cut, no DNSKEY: unsigned; a Hetzner provider is named.
        let none = format!("mail.{zone}.");
        let keys = observe(&resolver, &none).await.unwrap();
        let hetzner = ProviderConfig::Dnsupdate {
            service: "hetzner".into(),
            settings: Default::default(),
        };
        let i = signing_item(&none, "h", Some(&hetzner), &keys);
        assert_eq!(i.level, Level::Fail, "{how}: {i:?}");
        let fix = i.fix.clone().unwrap_or_default();
        assert!(
            i.detail.contains("not signed")
                && fix.contains("provider h")
                && fix.contains("does not sign"),
            "{how}: {i:?}"
        );
    }
}
