//! `check` against the lab's Postfix and DNS, every verdict cross-checked with Postfix's own
//! DANE client (posttls-finger) and with ldns-dane on the same target.
//!
//! danetool (gnutls-bin) cannot be pointed at the lab: libunbound's built-in `test.` zone
//! answers NXDOMAIN ("No DANE data were found"), so ldns-dane is the second reference: it
//! chases signatures itself from the lab's DS anchors (`-S -k`), and checks either the
//! chain Postfix is configured with against the port-25 records (`-c fullchain.pem`, since
//! ldns-dane has no STARTTLS) or a live TLS connection to port 465.
//!
//! The tests change `_25._tcp.mail.example.test` and a few other names through the
//! PowerDNS API and restore them afterwards (a guard, also on panic). They run one at a
//! time (a lock), since they share those names.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::Lab;
use danerollover::config::DnsConfig;
use danerollover::dns::Validation;
use danerollover::tlsa::{Matching, TlsaRecord};
use serde_json::{Value, json};

static LAB_LOCK: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    LAB_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The PowerDNS API of the lab zone.
struct Pdns {
    zone_url: String,
    key: String,
    zone: String,
}

impl Pdns {
    fn new(lab: &Lab) -> Self {
        Pdns::for_zone(lab, lab.var("LAB_PDNS_ZONE"))
    }

    /// The API of another zone the lab's PowerDNS serves (the child zones).
    fn for_zone(lab: &Lab, zone: &str) -> Self {
        let zone = format!("{}.", zone.trim_end_matches('.'));
        Pdns {
            zone_url: format!(
                "{}/api/v1/servers/{}/zones/{zone}",
                lab.var("LAB_PDNS_API"),
                lab.var("LAB_PDNS_SERVER_ID")
            ),
            key: std::fs::read_to_string(lab.path("LAB_PDNS_API_KEY_FILE"))
                .unwrap()
                .trim()
                .to_string(),
            zone,
        }
    }

    /// The RRset (ttl, contents) at `name`/`rtype`, if any.
    fn rrset(&self, name: &str, rtype: &str) -> Option<(u64, Vec<String>)> {
        let zone: Value = rt().block_on(async {
            let resp = reqwest::Client::new()
                .get(&self.zone_url)
                .header("X-API-Key", &self.key)
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success(), "GET zone: {}", resp.status());
            resp.json().await.unwrap()
        });
        zone["rrsets"].as_array()?.iter().find_map(|r| {
            (r["name"] == name && r["type"] == rtype).then(|| {
                (
                    r["ttl"].as_u64().unwrap_or(60),
                    r["records"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x["content"].as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                )
            })
        })
    }

    fn patch(&self, rrset: Value) {
        rt().block_on(async {
            let resp = reqwest::Client::new()
                .patch(&self.zone_url)
                .header("X-API-Key", &self.key)
                .json(&json!({ "rrsets": [rrset] }))
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            assert!(status.is_success(), "PATCH {}: {status} {body}", self.zone);
        });
    }

    fn replace(&self, name: &str, rtype: &str, ttl: u64, contents: &[String]) {
        let records: Vec<Value> = contents
            .iter()
            .map(|c| json!({ "content": c, "disabled": false }))
            .collect();
        self.patch(json!({
            "name": name, "type": rtype, "ttl": ttl, "changetype": "REPLACE", "records": records
        }));
    }

    fn delete(&self, name: &str, rtype: &str) {
        self.patch(json!({ "name": name, "type": rtype, "changetype": "DELETE" }));
    }
}

/// An RRset published for a test; the old one (or nothing) comes back when dropped.
struct Published<'a> {
    pdns: &'a Pdns,
    name: String,
    rtype: &'static str,
    old: Option<(u64, Vec<String>)>,
}

fn publish<'a>(
    pdns: &'a Pdns,
    name: &str,
    rtype: &'static str,
    contents: &[String],
) -> Published<'a> {
    let old = pdns.rrset(name, rtype);
    pdns.replace(name, rtype, 60, contents);
    Published {
        pdns,
        name: name.to_string(),
        rtype,
        old,
    }
}

impl Drop for Published<'_> {
    fn drop(&mut self) {
        match &self.old {
            Some((ttl, contents)) => self.pdns.replace(&self.name, self.rtype, *ttl, contents),
            None => self.pdns.delete(&self.name, self.rtype),
        }
    }
}

fn dns_config(lab: &Lab) -> DnsConfig {
    DnsConfig {
        validating_resolver: Some(lab.var("LAB_RESOLVER").to_string()),
        ..DnsConfig::default()
    }
}

/// Wait until the lab resolver serves exactly `want` at `owner`, Secure (its cache keeps
/// old answers up to 5 s).
fn wait_for_tlsa(lab: &Lab, owner: &str, want: &[TlsaRecord]) {
    let cfg = dns_config(lab);
    let mut want = want.to_vec();
    want.sort();
    let started = Instant::now();
    loop {
        let v = rt().block_on(danerollover::dns::resolve::validated_tlsa(&cfg, owner));
        let mut got = v.records.clone();
        got.sort();
        if v.state == Validation::Secure && got == want {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{owner}: the resolver still serves {v:?}, want {want:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn wait_for_address(lab: &Lab, host: &str, want: &str) {
    let cfg = dns_config(lab);
    let started = Instant::now();
    loop {
        let got = rt().block_on(danerollover::dns::resolve::addresses(&cfg, host));
        if got
            .as_ref()
            .is_ok_and(|a| a.iter().any(|ip| ip.to_string() == want))
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{host}: the resolver still says {got:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The DER of the lab certificate's SubjectPublicKeyInfo and its `3 1 1` record.
fn lab_key(lab: &Lab) -> (Vec<u8>, TlsaRecord) {
    let pem = std::fs::read(
        lab.path("LAB_LETSENCRYPT_DIR")
            .join("live")
            .join(lab.var("LAB_LINEAGE"))
            .join("cert.pem"),
    )
    .unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    let cert = pem.parse_x509().unwrap();
    let spki = cert.public_key().raw.to_vec();
    let rec = TlsaRecord::dane_ee_spki(Matching::Sha256, &spki);
    (spki, rec)
}

/// A `3 1 1` record for no key at all.
fn random_record(seed: &str) -> TlsaRecord {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    TlsaRecord::dane_ee_spki(Matching::Sha256, format!("{seed}{nanos}").as_bytes())
}

struct Configs {
    _dir: tempfile::TempDir,
    /// Resolver's AD bit, and a lineage with the lab's two owners.
    resolver: PathBuf,
    /// In-process validation from the lab's trust anchors.
    anchors: PathBuf,
}

fn configs(lab: &Lab) -> Configs {
    let dir = tempfile::tempdir().unwrap();
    let resolver = dir.path().join("resolver.toml");
    std::fs::write(
        &resolver,
        format!(
            r#"[dns]
validating_resolver = "{r}"

[providers.lab]
type = "manual"

[lineages."{l}"]
provider = "lab"
tlsa = ["_25._tcp.{h}", "_465._tcp.{h}"]
"#,
            r = lab.var("LAB_RESOLVER"),
            l = lab.var("LAB_LINEAGE"),
            h = lab.var("LAB_MAIL_HOST"),
        ),
    )
    .unwrap();
    let anchors = dir.path().join("anchors.toml");
    std::fs::write(
        &anchors,
        format!(
            "[dns]\nvalidating_resolver = \"{}\"\ntrust_anchor_file = \"{}\"\n",
            lab.var("LAB_RESOLVER"),
            lab.var("LAB_TRUST_ANCHOR_FILE")
        ),
    )
    .unwrap();
    Configs {
        _dir: dir,
        resolver,
        anchors,
    }
}

/// Run `danerollover --config CFG check ARGS --json`: exit code and the JSON report.
fn check_json(cfg: &Path, args: &[&str]) -> (i32, Value) {
    let out = Command::cargo_bin("danerollover")
        .unwrap()
        .arg("--config")
        .arg(cfg)
        .arg("check")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "check {args:?}: not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

fn check_text(cfg: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("danerollover")
        .unwrap()
        .arg("--config")
        .arg(cfg)
        .arg("check")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[derive(Debug, PartialEq, Eq)]
enum PostTls {
    Verified,
    Untrusted,
    NoTls,
}

/// Postfix's DANE client on `[host]:port`, through the lab resolver.
fn posttls_finger(lab: &Lab, host: &str, port: u16) -> (PostTls, String) {
    posttls_finger_with(lab, host, port, &[])
}

fn posttls_finger_with(lab: &Lab, host: &str, port: u16, extra: &[&str]) -> (PostTls, String) {
    posttls_finger_to(lab, &format!("[{host}]:{port}"), extra)
}

/// posttls-finger to `destination`: `[host]:port`, or a mail domain (it resolves the MX
/// RRset itself and tries the hosts in preference order).
fn posttls_finger_to(lab: &Lab, destination: &str, extra: &[&str]) -> (PostTls, String) {
    let out = Process::new(lab.path("LAB_BIN").join("with-resolver"))
        .arg(lab.var("LAB_DIR"))
        .args(["posttls-finger", "-c", "-l", "dane"])
        .args(extra)
        .arg(destination)
        .env("MAIL_CONFIG", lab.var("LAB_POSTFIX_CONFIG_DIR"))
        .output()
        .expect("posttls-finger (tests/lab/install) runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let verdict = if text.contains("Verified TLS connection established") {
        PostTls::Verified
    } else if text.contains("TLS connection established") {
        PostTls::Untrusted
    } else {
        PostTls::NoTls
    };
    (verdict, text)
}

/// ldns-dane, chasing signatures from the lab DS anchors: with `chain`, the chain in that
/// file against the records of host:port; without, a TLS connection to host:port.
fn ldns_dane(lab: &Lab, host: &str, port: u16, chain: Option<&Path>) -> (bool, String) {
    // ldns-dane has no timeout of its own: bound it (a silent server would hang it).
    let mut cmd = Process::new("timeout");
    cmd.args([
        "5",
        "ldns-dane",
        "-r",
        lab.var("LAB_RESOLVER_ADDR"),
        "-S",
        "-k",
    ])
    .arg(lab.path("LAB_TRUST_ANCHOR_DS_FILE"));
    if let Some(c) = chain {
        cmd.arg("-c").arg(c);
    }
    let out = cmd
        .args(["verify", host, &port.to_string()])
        .output()
        .expect("ldns-dane (tests/lab/install) runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.success() && text.contains("dane-validated successfully"),
        text,
    )
}

fn fullchain(lab: &Lab) -> PathBuf {
    lab.path("LAB_LETSENCRYPT_DIR")
        .join("live")
        .join(lab.var("LAB_LINEAGE"))
        .join("fullchain.pem")
}

/// Whether an owner of the JSON report says "authenticated": every address matched.
fn owner<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["owners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["owner"] == name)
        .unwrap_or_else(|| panic!("no owner {name} in {v}"))
}

fn verdicts(o: &Value) -> Vec<String> {
    o["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["verdict"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn lab_matching_record_is_ok_and_the_reference_clients_agree() {
    let Some(lab) = Lab::get("lab_matching_record_is_ok_and_the_reference_clients_agree") else {
        return;
    };
    let _l = lock();
    let pdns = Pdns::new(&lab);
    let host = lab.var("LAB_MAIL_HOST");
    let (spki, right) = lab_key(&lab);
    let stale = random_record("stale");
    let o25 = format!("_25._tcp.{host}.");
    let o465 = format!("_465._tcp.{host}.");
    let _p25 = publish(&pdns, &o25, "TLSA", &[right.to_string(), stale.to_string()]);
    let _p465 = publish(&pdns, &o465, "TLSA", &[right.to_string()]);
    wait_for_tlsa(&lab, &o25, &[right.clone(), stale.clone()]);
    wait_for_tlsa(&lab, &o465, std::slice::from_ref(&right));
    let cfg = configs(&lab);

    // The lineage from the configuration: both owners.
    let metrics = cfg._dir.path().join("check.prom");
    let (code, v) = check_json(&cfg.resolver, &["--metrics", metrics.to_str().unwrap()]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["status"], "OK");
    let o = owner(&v, &o25);
    assert_eq!(o["lineage"], lab.var("LAB_LINEAGE"));
    assert_eq!(o["protocol"], "smtp");
    assert_eq!(o["validation"], "secure");
    assert_eq!(verdicts(o), vec!["match"]);
    let a = &o["addresses"][0];
    assert_eq!(a["address"], lab.var("LAB_MAIL_ADDR"));
    assert_eq!(a["matched"], json!([right.to_string()]));
    assert_eq!(
        a["leaf_spki_sha256"],
        hex::encode(danerollover::tlsa::association_data(
            Matching::Sha256,
            &spki
        ))
    );
    assert_eq!(o["stale"], json!([stale.to_string()]));
    assert_eq!(o["next_published"], Value::Null);
    assert_eq!(owner(&v, &o465)["protocol"], "tls");
    assert_eq!(verdicts(owner(&v, &o465)), vec!["match"]);
    let m = std::fs::read_to_string(&metrics).unwrap();
    assert!(m.contains("danerollover_check_status 0\n"), "{m}");
    assert!(
        m.contains(&format!(
            "danerollover_check_match{{owner=\"{o25}\",address=\"{}\"}} 1\n",
            lab.var("LAB_MAIL_ADDR")
        )),
        "{m}"
    );

    // The plugin's first line.
    let (code, text) = check_text(&cfg.resolver, &["--target", &format!("{host}:25")]);
    assert_eq!(code, 0, "{text}");
    let first = text.lines().next().unwrap();
    assert_eq!(
        first,
        format!(
            "DANE OK - _25._tcp.{host}: 1/1 addresses match 3 1 1 {}… (Secure; servers signed)",
            &right.data_hex()[..8]
        )
    );

    // pebble certificates last 5 years: under --warn-days 3650 that is WARNING.
    let (code, v) = check_json(
        &cfg.resolver,
        &["--target", &format!("{host}:25"), "--warn-days", "3650"],
    );
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["status"], "WARNING");
    assert_eq!(verdicts(owner(&v, &o25)), vec!["expiring"]);

    // In-process validation from the trust anchors agrees.
    let (code, v) = check_json(&cfg.anchors, &["--target", &format!("{host}:25")]);
    assert_eq!(code, 0, "{v:#}");

    // The reference clients: authenticated too.
    let (pf, out) = posttls_finger(&lab, host, 25);
    assert_eq!(pf, PostTls::Verified, "{out}");
    let (ok, out) = ldns_dane(&lab, host, 25, Some(&fullchain(&lab)));
    assert!(ok, "ldns-dane -c fullchain.pem {host} 25: {out}");
    let (ok, out) = ldns_dane(&lab, host, 465, None);
    assert!(ok, "ldns-dane {host} 465: {out}");
}

/// `check` shows both views of an owner: every authoritative server's answer with its
/// signature (Secure from the servers themselves, checked in process) beside the validating
/// resolver's; a resolver still holding the older RRset after a change at the servers is a
/// WARNING naming both sides, and once its cache expires they agree again.
#[test]
fn lab_check_shows_the_servers_signed_view_beside_the_resolver_and_their_disagreement() {
    let Some(lab) = Lab::get(
        "lab_check_shows_the_servers_signed_view_beside_the_resolver_and_their_disagreement",
    ) else {
        return;
    };
    let _l = lock();
    let pdns = Pdns::new(&lab);
    let host = lab.var("LAB_MAIL_HOST");
    let (_, right) = lab_key(&lab);
    let o25 = format!("_25._tcp.{host}.");
    let target = format!("{host}:25");
    let _p25 = publish(&pdns, &o25, "TLSA", &[right.to_string()]);
    wait_for_tlsa(&lab, &o25, std::slice::from_ref(&right));
    let cfg = configs(&lab);

    // Both views agree: OK, every server named and signed (through the resolver's AD bit
    // and in process from the lab's trust anchors alike).
    for c in [&cfg.resolver, &cfg.anchors] {
        let (code, v) = check_json(c, &["--target", &target]);
        assert_eq!(code, 0, "{}: {v:#}", c.display());
        let o = owner(&v, &o25);
        assert_eq!(o["validation"], "secure");
        assert_eq!(o["servers"]["verdict"], "servers_signed", "{v:#}");
        assert_eq!(o["servers"]["records"], json!([right.to_string()]));
        assert_eq!(o["disagreement"], Value::Null, "{v:#}");
        let answers = o["servers"]["answers"].as_array().unwrap();
        for addr in [lab.var("LAB_PDNS_DNS"), lab.var("LAB_PDNS2_DNS")] {
            assert!(
                answers
                    .iter()
                    .any(|a| a["server"].as_str().unwrap().contains(addr)),
                "{addr} not among {answers:#?}"
            );
        }
        for a in answers {
            assert_eq!(a["state"], "signed", "{a}");
            assert!(a["signed_until"].is_string(), "{a}");
        }
    }
    let (code, text) = check_text(&cfg.resolver, &["--target", &target]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.lines()
            .next()
            .unwrap()
            .ends_with("(Secure; servers signed)"),
        "{text}"
    );
    assert!(
        text.contains(
            "  authoritative servers: every one serves the RRset with a valid signature\n"
        ),
        "{text}"
    );

    // A record added at the servers while the resolver holds the older answer (its cache
    // keeps it up to 5 s: filled just before the change). Should the cache have expired
    // before `check` asked, the two agree and the next attempt tries again.
    let resolver_cfg = dns_config(&lab);
    let mut seen = None;
    for attempt in 0..5 {
        let added = random_record(&format!("added{attempt}"));
        let before = rt().block_on(danerollover::dns::resolve::validated_tlsa(
            &resolver_cfg,
            &o25,
        ));
        assert_eq!(before.records, vec![right.clone()], "{before:?}");
        pdns.replace(&o25, "TLSA", 60, &[right.to_string(), added.to_string()]);
        let (code, v) = check_json(&cfg.resolver, &["--target", &target]);
        let o = owner(&v, &o25).clone();
        let mut served = vec![right.to_string(), added.to_string()];
        served.sort();
        assert_eq!(o["servers"]["verdict"], "servers_signed", "{v:#}");
        assert_eq!(o["servers"]["records"], json!(served), "{v:#}");
        if o["records"] == json!([right.to_string()]) {
            seen = Some((code, v, added));
            break;
        }
        // The cache had expired: back to the one record, and once more.
        pdns.replace(&o25, "TLSA", 60, &[right.to_string()]);
        wait_for_tlsa(&lab, &o25, std::slice::from_ref(&right));
    }
    let (code, v, added) = seen.expect("the resolver never held the older answer during check");
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["status"], "WARNING");
    let o = owner(&v, &o25);
    assert_eq!(o["verdict"], "secure");
    assert_eq!(verdicts(o), vec!["match"]);
    let d = o["disagreement"].as_str().unwrap();
    assert!(
        d.contains(&format!(
            "the validating resolver's Secure answer lacks 3 1 1 {}…",
            &added.data_hex()[..8]
        )) && d.contains("older answer in its cache"),
        "{d}"
    );
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .ends_with("(Secure; servers signed, resolver DISAGREES)"),
        "{v:#}"
    );

    // Once the resolver's cache has expired, the views agree again: OK.
    wait_for_tlsa(&lab, &o25, &[right.clone(), added.clone()]);
    let (code, v) = check_json(&cfg.resolver, &["--target", &target]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(owner(&v, &o25)["disagreement"], Value::Null, "{v:#}");
}

/// A UDP relay to an authoritative server that strips the RRSIGs from every answer: a
/// server serving the RRset unsigned. Stops when dropped.
struct UnsigningProxy {
    addr: std::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl UnsigningProxy {
    fn start(upstream: std::net::SocketAddr) -> UnsigningProxy {
        use hickory_proto::op::Message;
        use hickory_proto::rr::RecordType;
        use std::sync::atomic::Ordering;
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let st = stop.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65_535];
            while !st.load(Ordering::Relaxed) {
                let Ok((n, client)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let up = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                up.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
                let _ = up.send_to(&buf[..n], upstream);
                let mut answer = vec![0u8; 65_535];
                let Ok((m, _)) = up.recv_from(&mut answer) else {
                    continue;
                };
                let Ok(mut msg) = Message::from_vec(&answer[..m]) else {
                    continue;
                };
                msg.answers.retain(|r| r.record_type() != RecordType::RRSIG);
                if let Ok(bytes) = msg.to_vec() {
                    let _ = socket.send_to(&bytes, client);
                }
            }
        });
        UnsigningProxy { addr, stop }
    }
}

impl Drop for UnsigningProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// `check` names the server at fault: one serving the RRset without RRSIG is CRITICAL
/// (resolvers asking it get Bogus) while the validating resolver, which asked the others,
/// says Secure (the reverse disagreement); one not answering leaves the servers' view
/// UNKNOWN, naming it.
#[test]
fn lab_check_names_a_server_serving_the_rrset_unsigned_or_not_answering() {
    let Some(lab) =
        Lab::get("lab_check_names_a_server_serving_the_rrset_unsigned_or_not_answering")
    else {
        return;
    };
    let _l = lock();
    let pdns = Pdns::new(&lab);
    let host = lab.var("LAB_MAIL_HOST");
    let (_, right) = lab_key(&lab);
    let o25 = format!("_25._tcp.{host}.");
    let _p25 = publish(&pdns, &o25, "TLSA", &[right.to_string()]);
    wait_for_tlsa(&lab, &o25, std::slice::from_ref(&right));
    let proxy = UnsigningProxy::start(lab.addr("LAB_PDNS2_DNS"));
    let dir = tempfile::tempdir().unwrap();
    let config = |nameservers: &[String]| {
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            format!(
                r#"[dns]
validating_resolver = "{r}"

[providers.lab]
type = "manual"

[lineages."{l}"]
provider = "lab"
tlsa = ["_25._tcp.{host}"]
zone = "{z}"
nameservers = {ns:?}
"#,
                r = lab.var("LAB_RESOLVER"),
                l = lab.var("LAB_LINEAGE"),
                z = lab.var("LAB_PDNS_ZONE"),
                ns = nameservers,
            ),
        )
        .unwrap();
        path
    };
    let good = lab.var("LAB_PDNS_DNS").to_string();
    let silent = "127.0.10.98:53".to_string();

    // One server serves the records unsigned: CRITICAL, that server named.
    let cfg = config(&[good.clone(), proxy.addr.to_string()]);
    let (code, v) = check_json(&cfg, &[]);
    assert_eq!(code, 2, "{v:#}");
    let o = owner(&v, &o25);
    assert_eq!(o["validation"], "secure");
    assert_eq!(verdicts(o), vec!["match"]);
    assert_eq!(o["servers"]["verdict"], "servers_unsigned", "{v:#}");
    let state = |o: &Value, server: &str| {
        o["servers"]["answers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["server"].as_str().unwrap().contains(server))
            .unwrap_or_else(|| panic!("no answer of {server}: {o:#}"))
            .clone()
    };
    assert_eq!(state(o, &good)["state"], "signed");
    let bad = state(o, &proxy.addr.to_string());
    assert_eq!(bad["state"], "unsigned", "{bad}");
    assert!(
        bad["detail"].as_str().unwrap().contains("carries no RRSIG"),
        "{bad}"
    );
    let detail = o["servers"]["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("by {} (UNSIGNED: ", proxy.addr)) && !detail.contains(&good),
        "{detail}"
    );
    let d = o["disagreement"].as_str().unwrap();
    assert!(
        d.starts_with("the validating resolver answers Secure, but the RRset is served without a valid signature"),
        "{d}"
    );
    let (code, text) = check_text(&cfg, &[]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.lines()
            .next()
            .unwrap()
            .ends_with("(Secure; servers NOT VALIDLY SIGNED, resolver DISAGREES)"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "    {}: UNSIGNED: TLSA {o25} carries no RRSIG",
            proxy.addr
        )),
        "{text}"
    );

    // A server that does not answer: the servers' view is UNKNOWN, naming it; no claim
    // of disagreement.
    let cfg = config(&[good.clone(), silent.clone()]);
    let (code, v) = check_json(&cfg, &["--timeout", "2s"]);
    assert_eq!(code, 3, "{v:#}");
    let o = owner(&v, &o25);
    assert_eq!(o["servers"]["verdict"], "servers_unknown", "{v:#}");
    assert_eq!(state(o, &silent)["state"], "no_answer");
    assert!(
        o["servers"]["detail"].as_str().unwrap().contains(&silent),
        "{v:#}"
    );
    assert_eq!(o["disagreement"], Value::Null);
}

#[test]
fn lab_wrong_record_is_critical_and_the_reference_clients_agree() {
    let Some(lab) = Lab::get("lab_wrong_record_is_critical_and_the_reference_clients_agree") else {
        return;
    };
    let _l = lock();
    let pdns = Pdns::new(&lab);
    let host = lab.var("LAB_MAIL_HOST");
    let wrong = random_record("wrong");
    let o25 = format!("_25._tcp.{host}.");
    let o465 = format!("_465._tcp.{host}.");
    let _p25 = publish(&pdns, &o25, "TLSA", &[wrong.to_string()]);
    let _p465 = publish(&pdns, &o465, "TLSA", &[wrong.to_string()]);
    wait_for_tlsa(&lab, &o25, std::slice::from_ref(&wrong));
    wait_for_tlsa(&lab, &o465, std::slice::from_ref(&wrong));
    let cfg = configs(&lab);

    let (code, v) = check_json(
        &cfg.resolver,
        &[
            "--target",
            &format!("{host}:25"),
            "--target",
            &format!("{host}:465"),
        ],
    );
    assert_eq!(code, 2, "{v:#}");
    assert_eq!(v["status"], "CRITICAL");
    for o in [&o25, &o465] {
        let o = owner(&v, o);
        assert_eq!(o["validation"], "secure");
        assert_eq!(verdicts(o), vec!["no_match"]);
        assert_eq!(o["stale"], json!([wrong.to_string()]));
    }
    assert!(
        v["summary"].as_str().unwrap().starts_with(&format!(
            "DANE CRITICAL - _25._tcp.{host}: 0/1 addresses match (Secure; servers signed)"
        )),
        "{}",
        v["summary"]
    );

    let (pf, out) = posttls_finger(&lab, host, 25);
    assert_eq!(pf, PostTls::Untrusted, "{out}");
    let (ok, out) = ldns_dane(&lab, host, 25, Some(&fullchain(&lab)));
    assert!(!ok, "ldns-dane -c fullchain.pem {host} 25: {out}");
    let (ok, out) = ldns_dane(&lab, host, 465, None);
    assert!(!ok, "ldns-dane {host} 465: {out}");
}

#[test]
fn lab_bogus_child_is_critical_and_the_reference_clients_agree() {
    let Some(lab) = Lab::get("lab_bogus_child_is_critical_and_the_reference_clients_agree") else {
        return;
    };
    let _l = lock();
    let host = format!("mail.{}", lab.var("LAB_BOGUS_ZONE"));
    let cfg = configs(&lab);
    for c in [&cfg.resolver, &cfg.anchors] {
        let (code, v) = check_json(c, &["--target", &format!("{host}:25")]);
        assert_eq!(code, 2, "{}: {v:#}", c.display());
        let o = owner(&v, &format!("_25._tcp.{host}."));
        assert_eq!(o["validation"], "bogus", "{}: {v:#}", c.display());
        assert_eq!(o["verdict"], "bogus");
    }
    let (pf, out) = posttls_finger(&lab, &host, 25);
    assert_ne!(pf, PostTls::Verified, "{out}");
    let (ok, out) = ldns_dane(&lab, &host, 25, Some(&fullchain(&lab)));
    assert!(!ok, "ldns-dane -c fullchain.pem {host} 25: {out}");
}

#[test]
fn lab_insecure_child_is_critical_and_the_reference_clients_agree() {
    let Some(lab) = Lab::get("lab_insecure_child_is_critical_and_the_reference_clients_agree")
    else {
        return;
    };
    let _l = lock();
    let host = format!("mail.{}", lab.var("LAB_INSECURE_ZONE"));
    let (_, right) = lab_key(&lab);
    let cfg = configs(&lab);
    // The record matches the served key (whatever key the lab's lineage has now): the key
    // matches, but without DNSSEC there is no DANE (RFC 7672 2.2).
    let child = Pdns::for_zone(&lab, lab.var("LAB_INSECURE_ZONE"));
    let _t = publish(
        &child,
        &format!("_25._tcp.{host}."),
        "TLSA",
        &[right.to_string()],
    );
    // The resolver may hold the previous (insecure) answer for up to its 5 s cache.
    let started = Instant::now();
    let (code, v) = loop {
        let (code, v) = check_json(&cfg.resolver, &["--target", &format!("{host}:25")]);
        let o = owner(&v, &format!("_25._tcp.{host}."));
        if o["records"] == json!([right.to_string()]) || started.elapsed() > Duration::from_secs(30)
        {
            break (code, v);
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(code, 2, "{v:#}");
    let o = owner(&v, &format!("_25._tcp.{host}."));
    assert_eq!(o["validation"], "insecure");
    assert_eq!(o["verdict"], "not_secure");
    assert_eq!(o["records"], json!([right.to_string()]));
    assert_eq!(verdicts(o), vec!["match"]);
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .contains("(Insecure; servers unknown)"),
        "{v:#}"
    );
    // The servers cannot sign for a zone without a chain of trust: unknown, and why.
    assert_eq!(o["servers"]["verdict"], "servers_unknown", "{v:#}");
    for a in o["servers"]["answers"].as_array().unwrap() {
        assert_eq!(a["state"], "signature_unknown", "{a}");
        assert!(a["detail"].as_str().unwrap().contains("insecure"), "{a}");
    }

    let (pf, out) = posttls_finger(&lab, &host, 25);
    assert_eq!(pf, PostTls::Untrusted, "{out}");
    let (ok, out) = ldns_dane(&lab, &host, 25, Some(&fullchain(&lab)));
    assert!(!ok, "ldns-dane -c fullchain.pem {host} 25: {out}");
}

#[test]
fn lab_unreachable_servers_are_unknown_and_the_reference_clients_agree() {
    let Some(lab) = Lab::get("lab_unreachable_servers_are_unknown_and_the_reference_clients_agree")
    else {
        return;
    };
    let _l = lock();
    let pdns = Pdns::new(&lab);
    let (_, right) = lab_key(&lab);
    let zone = lab.var("LAB_PDNS_ZONE");
    let mail = lab.var("LAB_MAIL_HOST");
    // A host whose address has nothing listening, and a port of the mail host nothing
    // listens on; both with a Secure record (else they would be CRITICAL for that).
    let dead = format!("check-dead.{zone}");
    let _a = publish(
        &pdns,
        &format!("{dead}."),
        "A",
        &["127.0.10.99".to_string()],
    );
    let _t = publish(
        &pdns,
        &format!("_25._tcp.{dead}."),
        "TLSA",
        &[right.to_string()],
    );
    let _p = publish(
        &pdns,
        &format!("_2526._tcp.{mail}."),
        "TLSA",
        &[right.to_string()],
    );
    wait_for_address(&lab, &dead, "127.0.10.99");
    wait_for_tlsa(
        &lab,
        &format!("_25._tcp.{dead}."),
        std::slice::from_ref(&right),
    );
    wait_for_tlsa(
        &lab,
        &format!("_2526._tcp.{mail}."),
        std::slice::from_ref(&right),
    );
    let cfg = configs(&lab);

    let started = Instant::now();
    let (code, v) = check_json(
        &cfg.resolver,
        &[
            "--target",
            &format!("{dead}:25"),
            "--target",
            &format!("{mail}:2526"),
            "--starttls",
            "smtp",
            "--timeout",
            "2s",
        ],
    );
    let took = started.elapsed();
    eprintln!("lab check of 2 unreachable targets, --timeout 2s: {took:?}");
    assert_eq!(code, 3, "{v:#}");
    assert_eq!(v["status"], "UNKNOWN");
    assert_eq!(
        verdicts(owner(&v, &format!("_25._tcp.{dead}."))),
        vec!["unreachable"]
    );
    assert_eq!(
        verdicts(owner(&v, &format!("_2526._tcp.{mail}."))),
        vec!["unreachable"]
    );
    assert!(took < Duration::from_secs(4), "{took:?}");

    for (h, port) in [(dead.as_str(), 25), (mail, 2526)] {
        let (pf, out) = posttls_finger(&lab, h, port);
        assert_eq!(pf, PostTls::NoTls, "{out}");
        assert!(out.contains("Connection refused"), "{out}");
        let (ok, out) = ldns_dane(&lab, h, port, None);
        assert!(!ok, "ldns-dane {h} {port}: {out}");
    }
}

/// One address answers, the other accepts connections and never speaks: the check ends
/// after one timeout with UNKNOWN, and says which address is which.
#[test]
fn lab_silent_address_is_unknown_within_the_timeout_and_the_reference_clients_agree() {
    let Some(lab) = Lab::get(
        "lab_silent_address_is_unknown_within_the_timeout_and_the_reference_clients_agree",
    ) else {
        return;
    };
    let _l = lock();
    // The kernel completes connections to a listener nobody accepts from: a server that
    // never sends its banner.
    let silent = std::net::TcpListener::bind("127.0.0.2:25")
        .expect("bind 127.0.0.2:25 for a silent SMTP listener (is something else there?)");
    let pdns = Pdns::new(&lab);
    let (_, right) = lab_key(&lab);
    let zone = lab.var("LAB_PDNS_ZONE");
    let mixed = format!("check-mixed.{zone}");
    let lone = format!("check-silent.{zone}");
    let _a1 = publish(
        &pdns,
        &format!("{mixed}."),
        "A",
        &[
            lab.var("LAB_MAIL_ADDR").to_string(),
            "127.0.0.2".to_string(),
        ],
    );
    let _a2 = publish(&pdns, &format!("{lone}."), "A", &["127.0.0.2".to_string()]);
    let _t1 = publish(
        &pdns,
        &format!("_25._tcp.{mixed}."),
        "TLSA",
        &[right.to_string()],
    );
    let _t2 = publish(
        &pdns,
        &format!("_25._tcp.{lone}."),
        "TLSA",
        &[right.to_string()],
    );
    wait_for_address(&lab, &mixed, "127.0.0.2");
    wait_for_address(&lab, &mixed, lab.var("LAB_MAIL_ADDR"));
    wait_for_address(&lab, &lone, "127.0.0.2");
    wait_for_tlsa(
        &lab,
        &format!("_25._tcp.{mixed}."),
        std::slice::from_ref(&right),
    );
    wait_for_tlsa(
        &lab,
        &format!("_25._tcp.{lone}."),
        std::slice::from_ref(&right),
    );
    let cfg = configs(&lab);

    let started = Instant::now();
    let (code, v) = check_json(
        &cfg.resolver,
        &[
            "--target",
            &format!("{mixed}:25"),
            "--target",
            &format!("{lone}:25"),
            "--timeout",
            "2s",
        ],
    );
    let took = started.elapsed();
    eprintln!(
        "lab check, 1 live + 1 silent address and 1 silent-only host, --timeout 2s: {took:?}"
    );
    assert_eq!(code, 3, "{v:#}");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(4),
        "{took:?}"
    );
    let by_address: std::collections::BTreeMap<String, String> =
        owner(&v, &format!("_25._tcp.{mixed}."))["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["address"].as_str().unwrap().to_string(),
                    a["verdict"].as_str().unwrap().to_string(),
                )
            })
            .collect();
    assert_eq!(by_address[lab.var("LAB_MAIL_ADDR")], "match", "{v:#}");
    assert_eq!(by_address["127.0.0.2"], "unreachable", "{v:#}");
    assert_eq!(
        verdicts(owner(&v, &format!("_25._tcp.{lone}."))),
        vec!["unreachable"]
    );

    // posttls-finger on the silent-only host: no TLS session within its 2 s banner timeout;
    // ldns-dane (TLS from the first byte) gets no handshake either.
    let (pf, out) = posttls_finger_with(&lab, &lone, 25, &["-t", "2", "-T", "2"]);
    assert_eq!(pf, PostTls::NoTls, "{out}");
    let (ok, out) = ldns_dane(&lab, &lone, 25, None);
    assert!(!ok, "ldns-dane {lone} 25: {out}");
    drop(silent);
}

// ---------------------------------------------------------------------------------------
// check --mx: whole mail domains, each verdict cross-checked with posttls-finger on the
// domain (it resolves the MX RRset itself) or on the MX host.

/// `check --mx` until `done` holds for its JSON report (the resolver caches up to 5 s).
fn check_mx_until(cfg: &Path, args: &[&str], done: impl Fn(&Value) -> bool) -> (i32, Value) {
    let started = Instant::now();
    loop {
        let (code, v) = check_json(cfg, args);
        if done(&v) || started.elapsed() > Duration::from_secs(30) {
            return (code, v);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn mx_domain<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["domain"] == name)
        .unwrap_or_else(|| panic!("no domain {name} in {v:#}"))
}

fn mx_host<'a>(d: &'a Value, name: &str) -> &'a Value {
    d["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host"] == name)
        .unwrap_or_else(|| panic!("no MX host {name} in {d:#}"))
}

/// (address, algorithms) -> (verdict, status) of an MX host's probes.
fn mx_probes(h: &Value) -> std::collections::BTreeMap<(String, String), (String, String)> {
    h["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                (
                    a["address"].as_str().unwrap().to_string(),
                    a["algorithms"].as_str().unwrap().to_string(),
                ),
                (
                    a["verdict"].as_str().unwrap().to_string(),
                    a["status"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

/// Two MX hosts: the first with a matching record, an A where Postfix listens and an AAAA
/// (::1) where nothing does; the second with a record for no key. Then `--days`,
/// `--both-algorithms`, `--rollover-scheme`, the metrics, the text form.
#[test]
fn lab_mx_two_hosts_one_wrong_and_a_dead_aaaa_and_posttls_finger_agrees() {
    let Some(lab) =
        Lab::get("lab_mx_two_hosts_one_wrong_and_a_dead_aaaa_and_posttls_finger_agrees")
    else {
        return;
    };
    let _l = lock();
    let pdns = Pdns::new(&lab);
    let (_, right) = lab_key(&lab);
    let wrong = random_record("mx-wrong");
    let standby = random_record("mx-next");
    let zone = lab.var("LAB_PDNS_ZONE");
    let domain = format!("checkmx.{zone}");
    let mx_a = format!("mx-a.{domain}");
    let mx_b = format!("mx-b.{domain}");
    let mail_addr = lab.var("LAB_MAIL_ADDR");
    let _mx = publish(
        &pdns,
        &format!("{domain}."),
        "MX",
        &[format!("10 {mx_a}."), format!("20 {mx_b}.")],
    );
    let _a1 = publish(&pdns, &format!("{mx_a}."), "A", &[mail_addr.to_string()]);
    let _a6 = publish(&pdns, &format!("{mx_a}."), "AAAA", &["::1".to_string()]);
    let _b1 = publish(&pdns, &format!("{mx_b}."), "A", &[mail_addr.to_string()]);
    let _ta = publish(
        &pdns,
        &format!("_25._tcp.{mx_a}."),
        "TLSA",
        &[right.to_string()],
    );
    let _tb = publish(
        &pdns,
        &format!("_25._tcp.{mx_b}."),
        "TLSA",
        &[wrong.to_string()],
    );
    let cfg = configs(&lab);
    let dir = cfg._dir.path();
    let metrics = dir.join("mx.prom");

    let started = Instant::now();
    let (code, v) = check_mx_until(
        &cfg.resolver,
        &["--mx", &domain, "--metrics", metrics.to_str().unwrap()],
        |v| {
            v["domains"][0]["hosts"].as_array().is_some_and(|h| {
                h.len() == 2
                    && h.iter().all(|h| {
                        h["addresses"].as_array().is_some_and(|a| !a.is_empty())
                            && h["tlsa"]["records"]
                                .as_array()
                                .is_some_and(|r| !r.is_empty())
                    })
                    && h[0]["addresses"].as_array().unwrap().len() == 2
            })
        },
    );
    eprintln!("check --mx {domain}: {:?}", started.elapsed());
    assert_eq!(code, 2, "{v:#}");
    assert_eq!(v["status"], "CRITICAL");
    let d = mx_domain(&v, &domain);
    assert_eq!(d["mx"]["validation"], "secure");
    assert_eq!(d["mx"]["implicit"], false);
    let hosts: Vec<(&str, u64)> = d["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["host"].as_str().unwrap(),
                h["preference"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(hosts, vec![(mx_a.as_str(), 10), (mx_b.as_str(), 20)]);
    let a = mx_host(d, &mx_a);
    assert_eq!(a["status"], "WARNING", "{a:#}");
    assert_eq!(a["tlsa"]["validation"], "secure");
    assert_eq!(a["tlsa"]["owner"], format!("_25._tcp.{mx_a}."));
    let pa = mx_probes(a);
    assert_eq!(pa[&pair(mail_addr, "all")], pair("match", "OK"), "{a:#}");
    assert_eq!(
        pa[&pair("::1", "all")],
        pair("unreachable", "WARNING"),
        "{a:#}"
    );
    let b = mx_host(d, &mx_b);
    assert_eq!(b["status"], "CRITICAL");
    assert_eq!(
        mx_probes(b)[&pair(mail_addr, "all")],
        pair("no_match", "CRITICAL"),
        "{b:#}"
    );
    // The chain's expiry is reported (pebble: 5 years).
    let days_left = a["addresses"][0]["days_left"].as_i64().unwrap();
    assert!(days_left > 365, "{a:#}");

    // posttls-finger on the domain, IPv6 first (the lab's main.cf says inet_protocols =
    // ipv4): ::1 of mx-a is refused, then mx-a's IPv4 address is Verified (it stops at the
    // first session); on mx-b alone: not Verified.
    let (pf, out) = posttls_finger_to(&lab, &domain, &["-a", "ipv6", "-o", "inet_protocols=all"]);
    assert_eq!(pf, PostTls::Verified, "{out}");
    assert!(
        out.contains(&format!("{mx_a}[::1]:25")) && out.contains("Connection refused"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "Verified TLS connection established to {mx_a}[{mail_addr}]:25"
        )),
        "{out}"
    );
    let (pf, out) = posttls_finger(&lab, &mx_b, 25);
    assert_eq!(pf, PostTls::Untrusted, "{out}");

    // The metrics: labelled by domain, MX host and address; promtool accepts them.
    let m = std::fs::read_to_string(&metrics).unwrap();
    assert!(m.contains("danerollover_mx_check_status 2\n"), "{m}");
    assert!(
        m.contains(&format!(
            "danerollover_mx_address_match{{domain=\"{domain}\",mx_host=\"{mx_a}\",address=\"{mail_addr}\",algorithms=\"all\"}} 1\n"
        )),
        "{m}"
    );
    assert!(
        m.contains(&format!(
            "danerollover_mx_address_reachable{{domain=\"{domain}\",mx_host=\"{mx_a}\",address=\"::1\",algorithms=\"all\"}} 0\n"
        )),
        "{m}"
    );
    promtool_check_metrics(&m);

    // In-process validation from the trust anchors agrees.
    let (code, v2) = check_json(&cfg.anchors, &["--mx", &domain]);
    assert_eq!(code, 2, "{v2:#}");
    let d2 = mx_domain(&v2, &domain);
    assert_eq!(mx_probes(mx_host(d2, &mx_a)), pa);

    // The text form: the Nagios line with perfdata, then domain, host and address lines.
    let (code, text) = check_text(&cfg.resolver, &["--mx", &domain]);
    assert_eq!(code, 2, "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with(&format!(
            "DANE CRITICAL - {domain}: 2 MX hosts (MX Secure), 1/3 addresses authenticated; {mail_addr} of {mx_b}: no TLSA record authenticates the served chain"
        )),
        "{text}"
    );
    assert!(
        lines[0].ends_with(&format!(
            " | days_left={days_left};14: mx_hosts=2 addresses=3 authenticated=1"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "  {mx_a} (MX 10): WARNING: addresses Secure, TLSA _25._tcp.{mx_a} Secure: 3 1 1 "
        )),
        "{text}"
    );
    assert!(
        text.contains("    ::1: WARNING: UNREACHABLE: ::1 of "),
        "{text}"
    );

    // --days beyond the certificate's life: CRITICAL on the matching address too.
    let (code, v) = check_json(
        &cfg.resolver,
        &["--mx", &domain, "--days", &(days_left + 1).to_string()],
    );
    assert_eq!(code, 2);
    let pa = mx_probes(mx_host(mx_domain(&v, &domain), &mx_a));
    assert_eq!(
        pa[&pair(mail_addr, "all")],
        pair("match", "CRITICAL"),
        "{v:#}"
    );
    let (_, v) = check_json(
        &cfg.resolver,
        &["--mx", &domain, "--days", &days_left.to_string()],
    );
    let pa = mx_probes(mx_host(mx_domain(&v, &domain), &mx_a));
    assert_eq!(pa[&pair(mail_addr, "all")], pair("match", "OK"), "{v:#}");

    // --both-algorithms: the lab's Postfix has an ECDSA certificate only. openssl offering
    // only RSA signature algorithms gets no session either.
    let (_, v) = check_json(&cfg.resolver, &["--mx", &domain, "--both-algorithms"]);
    let pa = mx_probes(mx_host(mx_domain(&v, &domain), &mx_a));
    assert_eq!(pa[&pair(mail_addr, "ecdsa")], pair("match", "OK"), "{v:#}");
    assert_eq!(
        pa[&pair(mail_addr, "rsa")],
        pair("no_certificate", "OK"),
        "{v:#}"
    );
    for (sigalgs, works) in [
        ("ECDSA+SHA256:ECDSA+SHA384", true),
        ("RSA-PSS+SHA256:RSA+SHA256:rsa_pss_pss_sha256", false),
    ] {
        let out = Process::new("timeout")
            .args(["10", "openssl", "s_client", "-brief", "-starttls", "smtp"])
            .args(["-connect", &format!("{mail_addr}:25"), "-sigalgs", sigalgs])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("openssl runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            text.contains("CONNECTION ESTABLISHED"),
            works,
            "openssl -sigalgs {sigalgs}: {text}"
        );
    }

    // --rollover-scheme: one record is no scheme (WARNING); with a standby key's record
    // beside it, "3 1 1 + 3 1 1" is.
    let (_, v) = check_json(&cfg.resolver, &["--mx", &domain, "--rollover-scheme"]);
    let a = mx_host(mx_domain(&v, &domain), &mx_a);
    assert_eq!(a["rollover_scheme"]["ready"], false, "{a:#}");
    let _ta2 = publish(
        &pdns,
        &format!("_25._tcp.{mx_a}."),
        "TLSA",
        &[right.to_string(), standby.to_string()],
    );
    let (_, v) = check_mx_until(
        &cfg.resolver,
        &["--mx", &domain, "--rollover-scheme"],
        |v| {
            mx_host(mx_domain(v, &domain), &mx_a)["tlsa"]["records"]
                .as_array()
                .is_some_and(|r| r.len() == 2)
        },
    );
    let a = mx_host(mx_domain(&v, &domain), &mx_a);
    assert_eq!(a["rollover_scheme"]["ready"], true, "{a:#}");
    assert_eq!(a["rollover_scheme"]["scheme"], "3 1 1 + 3 1 1");
}

/// `promtool check metrics` on a metrics text (the Prometheus package's linter).
fn promtool_check_metrics(text: &str) {
    use std::io::Write;
    let mut child = Process::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (tests/lab/install: prometheus) runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// RRsets added to the BIND zone with RFC 2136 (nsupdate, TSIG); deleted when dropped.
struct BindRecords<'a> {
    lab: &'a Lab,
    rrsets: Vec<(String, &'static str)>,
}

fn nsupdate(lab: &Lab, commands: &str) {
    use std::io::Write;
    let (host, port) = lab.var("LAB_BIND_DNS").rsplit_once(':').unwrap();
    let script = format!(
        "server {host} {port}\nzone {}\n{commands}send\n",
        lab.var("LAB_BIND_ZONE")
    );
    let mut child = Process::new("nsupdate")
        .arg("-k")
        .arg(lab.path("LAB_TSIG_KEY_FILE"))
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("nsupdate (bind9-dnsutils) runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "nsupdate: {}\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn bind_add<'a>(lab: &'a Lab, records: &[(&str, &'static str, String)]) -> BindRecords<'a> {
    let mut cmds = String::new();
    for (name, rtype, _) in records {
        cmds.push_str(&format!("update delete {name} {rtype}\n"));
    }
    for (name, rtype, data) in records {
        cmds.push_str(&format!("update add {name} 60 {rtype} {data}\n"));
    }
    nsupdate(lab, &cmds);
    BindRecords {
        lab,
        rrsets: records
            .iter()
            .map(|(n, t, _)| (n.to_string(), *t))
            .collect(),
    }
}

impl Drop for BindRecords<'_> {
    fn drop(&mut self) {
        let cmds: String = self
            .rrsets
            .iter()
            .map(|(n, t)| format!("update delete {n} {t}\n"))
            .collect();
        nsupdate(self.lab, &cmds);
    }
}

/// The BIND-served domain (records added with RFC 2136): one MX host whose record matches:
/// OK, and posttls-finger verifies the domain.
#[test]
fn lab_mx_bind_domain_is_ok_and_posttls_finger_agrees() {
    let Some(lab) = Lab::get("lab_mx_bind_domain_is_ok_and_posttls_finger_agrees") else {
        return;
    };
    let _l = lock();
    let (_, right) = lab_key(&lab);
    let domain = lab.var("LAB_BIND_ZONE").trim_end_matches('.').to_string();
    let mail = format!("mail.{domain}");
    let _r = bind_add(
        &lab,
        &[
            (&format!("{domain}."), "MX", format!("10 {mail}.")),
            (&format!("_25._tcp.{mail}."), "TLSA", right.to_string()),
        ],
    );
    let cfg = configs(&lab);
    // BIND signs the new records a moment later; the resolver caches up to 5 s.
    let (code, v) = check_mx_until(&cfg.resolver, &["--mx", &domain], |v| v["status"] == "OK");
    assert_eq!(code, 0, "{v:#}");
    let d = mx_domain(&v, &domain);
    assert_eq!(d["mx"]["validation"], "secure");
    let h = mx_host(d, &mail);
    assert_eq!(h["preference"], 10);
    assert_eq!(h["tlsa"]["records"], json!([right.to_string()]));
    // The servers' view: BIND serves the record with a valid signature.
    assert_eq!(h["tlsa"]["servers"]["verdict"], "servers_signed", "{v:#}");
    let answers = h["tlsa"]["servers"]["answers"].as_array().unwrap();
    assert!(
        answers.iter().any(|a| a["server"]
            .as_str()
            .unwrap()
            .contains(lab.var("LAB_BIND_DNS"))),
        "{answers:#?}"
    );
    assert!(
        answers.iter().all(|a| a["state"] == "signed"),
        "{answers:#?}"
    );
    assert_eq!(h["tlsa"]["disagreement"], Value::Null);
    assert_eq!(
        mx_probes(h)[&pair(lab.var("LAB_MAIL_ADDR"), "all")],
        pair("match", "OK")
    );
    assert!(
        v["summary"].as_str().unwrap().starts_with(&format!(
            "DANE OK - {domain}: 1 MX host (MX Secure), 1/1 addresses authenticated |"
        )),
        "{v:#}"
    );
    let (code, _) = check_json(&cfg.anchors, &["--mx", &domain]);
    assert_eq!(code, 0);

    let (pf, out) = posttls_finger_to(&lab, &domain, &[]);
    assert_eq!(pf, PostTls::Verified, "{out}");
    assert!(out.contains(&format!("to {mail}[")), "{out}");
}

/// The insecure child (MX RRset without DNSSEC: DANE cannot apply) and the bogus child
/// (MX RRset fails validation): both CRITICAL; posttls-finger does not verify either.
#[test]
fn lab_mx_insecure_and_bogus_children_are_critical_and_posttls_finger_agrees() {
    let Some(lab) =
        Lab::get("lab_mx_insecure_and_bogus_children_are_critical_and_posttls_finger_agrees")
    else {
        return;
    };
    let _l = lock();
    let insecure = lab.var("LAB_INSECURE_ZONE").to_string();
    let bogus = lab.var("LAB_BOGUS_ZONE").to_string();
    let ci = Pdns::for_zone(&lab, &insecure);
    let cb = Pdns::for_zone(&lab, &bogus);
    let _mi = publish(
        &ci,
        &format!("{insecure}."),
        "MX",
        &[format!("10 mail.{insecure}.")],
    );
    let _mb = publish(
        &cb,
        &format!("{bogus}."),
        "MX",
        &[format!("10 mail.{bogus}.")],
    );
    let cfg = configs(&lab);
    let (code, v) = check_mx_until(&cfg.resolver, &["--mx", &insecure, &bogus], |v| {
        mx_domain(v, &insecure)["hosts"][0]["host"] == format!("mail.{insecure}")
    });
    assert_eq!(code, 2, "{v:#}");
    let di = mx_domain(&v, &insecure);
    assert_eq!(di["status"], "CRITICAL");
    assert_eq!(di["mx"]["validation"], "insecure");
    assert!(
        di["reasons"][0]
            .as_str()
            .unwrap()
            .contains("DANE cannot apply"),
        "{di:#}"
    );
    // Behind an insecure MX RRset the host's addresses are insecure too: no TLSA lookup,
    // but the address is still probed.
    let h = &di["hosts"][0];
    assert_eq!(h["address_validation"], "insecure");
    assert_eq!(h["tlsa"], Value::Null);
    assert_eq!(
        mx_probes(h)[&pair(lab.var("LAB_MAIL_ADDR"), "all")],
        pair("no_dane", "OK")
    );
    let db = mx_domain(&v, &bogus);
    assert_eq!(db["status"], "CRITICAL");
    assert_eq!(db["mx"]["validation"], "bogus");
    assert_eq!(db["hosts"], json!([]));
    let first = v["summary"].as_str().unwrap();
    assert!(first.starts_with("DANE CRITICAL - "), "{first}");
    assert!(
        first.contains("(MX Insecure)") && first.contains("(MX Bogus)"),
        "{first}"
    );

    // In-process validation agrees.
    let (code, v) = check_json(&cfg.anchors, &["--mx", &insecure, &bogus]);
    assert_eq!(code, 2, "{v:#}");
    assert_eq!(mx_domain(&v, &insecure)["mx"]["validation"], "insecure");
    assert_eq!(mx_domain(&v, &bogus)["mx"]["validation"], "bogus");

    // posttls-finger: TLS without DANE authentication to the insecure domain's host; no
    // connection at all for the bogus one (the MX lookup fails).
    let (pf, out) = posttls_finger_to(&lab, &insecure, &[]);
    assert_eq!(pf, PostTls::Untrusted, "{out}");
    let (pf, out) = posttls_finger_to(&lab, &bogus, &[]);
    assert_eq!(pf, PostTls::NoTls, "{out}");
}

/// An MX host that is an alias (RFC 7672 2.2.2): the TLSA RRset at the CNAME-expanded name
/// wins and becomes the TLSA base domain; without one there, the MX host name's is used.
/// posttls-finger, applying the same rule, verifies both.
#[test]
fn lab_mx_cnamed_host_uses_the_expanded_name_then_the_mx_name_and_posttls_finger_agrees() {
    let Some(lab) = Lab::get(
        "lab_mx_cnamed_host_uses_the_expanded_name_then_the_mx_name_and_posttls_finger_agrees",
    ) else {
        return;
    };
    let _l = lock();
    let pdns = Pdns::new(&lab);
    let (_, right) = lab_key(&lab);
    let zone = lab.var("LAB_PDNS_ZONE");
    let domain = format!("cnamemx.{zone}");
    let alias = format!("alias.{domain}");
    let real = format!("real.{domain}");
    let _mx = publish(
        &pdns,
        &format!("{domain}."),
        "MX",
        &[format!("10 {alias}.")],
    );
    let _c = publish(&pdns, &format!("{alias}."), "CNAME", &[format!("{real}.")]);
    let _a = publish(
        &pdns,
        &format!("{real}."),
        "A",
        &[lab.var("LAB_MAIL_ADDR").to_string()],
    );
    let cfg = configs(&lab);
    {
        let _t = publish(
            &pdns,
            &format!("_25._tcp.{real}."),
            "TLSA",
            &[right.to_string()],
        );
        let (code, v) = check_mx_until(&cfg.resolver, &["--mx", &domain], |v| v["status"] == "OK");
        assert_eq!(code, 0, "{v:#}");
        let h = mx_host(mx_domain(&v, &domain), &alias);
        assert_eq!(h["cnames"], json!([format!("{real}.")]));
        assert_eq!(h["tlsa"]["base"], real.as_str());
        assert_eq!(h["tlsa"]["owner"], format!("_25._tcp.{real}."));
        assert_eq!(h["tlsa"]["tried"], json!([]));
        let (code, v) = check_json(&cfg.anchors, &["--mx", &domain]);
        assert_eq!(code, 0, "{v:#}");
        let (pf, out) = posttls_finger_to(&lab, &domain, &[]);
        assert_eq!(pf, PostTls::Verified, "{out}");
    }
    // No TLSA at the expanded name: the MX host name's RRset is used.
    let _t = publish(
        &pdns,
        &format!("_25._tcp.{alias}."),
        "TLSA",
        &[right.to_string()],
    );
    let (code, v) = check_mx_until(&cfg.resolver, &["--mx", &domain], |v| {
        v["status"] == "OK"
            && mx_host(mx_domain(v, &domain), &alias)["tlsa"]["base"] == alias.as_str()
    });
    assert_eq!(code, 0, "{v:#}");
    let h = mx_host(mx_domain(&v, &domain), &alias);
    assert_eq!(h["tlsa"]["owner"], format!("_25._tcp.{alias}."));
    assert_eq!(
        h["tlsa"]["tried"],
        json!([{ "owner": format!("_25._tcp.{real}."), "validation": "secure" }])
    );
    let (pf, out) = posttls_finger_to(&lab, &domain, &[]);
    assert_eq!(pf, PostTls::Verified, "{out}");
}

/// The lab's Postfix with a second, RSA certificate (30 days) beside its ECDSA one, for as
/// long as this lives; the original configuration comes back (and Postfix reloads) on drop.
struct DualCertPostfix<'a> {
    lab: &'a Lab,
    original: String,
    _dir: tempfile::TempDir,
    /// The RSA certificate's `3 1 1` record.
    rsa: TlsaRecord,
}

fn postconf(lab: &Lab, args: &[&str]) -> String {
    let out = Process::new("postconf")
        .arg("-c")
        .arg(lab.var("LAB_POSTFIX_CONFIG_DIR"))
        .args(args)
        .output()
        .expect("postconf runs");
    assert!(
        out.status.success(),
        "postconf {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn postfix_reload(lab: &Lab) {
    let out = Process::new(lab.path("LAB_BIN").join("postfix-reload"))
        .arg(lab.var("LAB_DIR"))
        .output()
        .expect("postfix-reload runs");
    assert!(
        out.status.success(),
        "postfix-reload: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The SPKI `3 1 1` of the certificate `openssl s_client` gets offering only `sigalgs`.
fn served_key_with(lab: &Lab, sigalgs: &str) -> Option<TlsaRecord> {
    let out = Process::new("timeout")
        .args([
            "10",
            "openssl",
            "s_client",
            "-starttls",
            "smtp",
            "-sigalgs",
            sigalgs,
        ])
        .args(["-connect", &format!("{}:25", lab.var("LAB_MAIL_ADDR"))])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let (_, pem) = x509_parser::pem::parse_x509_pem(text.as_bytes()).ok()?;
    let cert = pem.parse_x509().ok()?;
    Some(TlsaRecord::dane_ee_spki(
        Matching::Sha256,
        cert.public_key().raw,
    ))
}

impl<'a> DualCertPostfix<'a> {
    fn start(lab: &'a Lab) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("rsa.key");
        let cert = dir.path().join("rsa.pem");
        let out = Process::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
            ])
            .args(["-subj", &format!("/CN={}", lab.var("LAB_MAIL_HOST"))])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pem = std::fs::read(&cert).unwrap();
        let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
        let rsa =
            TlsaRecord::dane_ee_spki(Matching::Sha256, pem.parse_x509().unwrap().public_key().raw);
        let original = postconf(lab, &["-h", "smtpd_tls_chain_files"]);
        let dual = format!("{original}, {}, {}", key.display(), cert.display());
        postconf(lab, &["-e", &format!("smtpd_tls_chain_files = {dual}")]);
        postfix_reload(lab);
        let this = DualCertPostfix {
            lab,
            original,
            _dir: dir,
            rsa,
        };
        // New smtpd processes take the new configuration.
        let started = Instant::now();
        while served_key_with(lab, "RSA-PSS+SHA256:RSA+SHA256").as_ref() != Some(&this.rsa) {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "Postfix does not serve the RSA certificate"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        this
    }
}

impl Drop for DualCertPostfix<'_> {
    fn drop(&mut self) {
        postconf(
            self.lab,
            &["-e", &format!("smtpd_tls_chain_files = {}", self.original)],
        );
        postfix_reload(self.lab);
    }
}

/// A dual-certificate Postfix (ECDSA + RSA): `--both-algorithms` checks both; with only the
/// ECDSA key's record the RSA probe is CRITICAL, which a client negotiating ECDSA
/// (posttls-finger) never sees; openssl offering only RSA gets exactly that certificate.
#[test]
fn lab_mx_both_algorithms_check_both_certificates_of_a_dual_certificate_server() {
    let Some(lab) =
        Lab::get("lab_mx_both_algorithms_check_both_certificates_of_a_dual_certificate_server")
    else {
        return;
    };
    let _l = lock();
    let pdns = Pdns::new(&lab);
    let (_, ecdsa) = lab_key(&lab);
    let zone = lab.var("LAB_PDNS_ZONE");
    let domain = format!("dualmx.{zone}");
    let host = format!("mx.{domain}");
    let addr = lab.var("LAB_MAIL_ADDR");
    let _mx = publish(&pdns, &format!("{domain}."), "MX", &[format!("10 {host}.")]);
    let _a = publish(&pdns, &format!("{host}."), "A", &[addr.to_string()]);
    let dual = DualCertPostfix::start(&lab);
    assert_eq!(
        served_key_with(&lab, "ECDSA+SHA256"),
        Some(ecdsa.clone()),
        "openssl offering ECDSA gets the ECDSA certificate"
    );
    let cfg = configs(&lab);
    let owner = format!("_25._tcp.{host}.");
    {
        let _t = publish(
            &pdns,
            &owner,
            "TLSA",
            &[ecdsa.to_string(), dual.rsa.to_string()],
        );
        let (code, v) = check_mx_until(
            &cfg.resolver,
            &["--mx", &domain, "--both-algorithms"],
            |v| v["status"] == "OK",
        );
        assert_eq!(code, 0, "{v:#}");
        let p = mx_probes(mx_host(mx_domain(&v, &domain), &host));
        assert_eq!(p[&pair(addr, "ecdsa")], pair("match", "OK"));
        assert_eq!(p[&pair(addr, "rsa")], pair("match", "OK"));
        let h = mx_host(mx_domain(&v, &domain), &host);
        let rsa_probe = h["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["algorithms"] == "rsa")
            .unwrap();
        assert_eq!(rsa_probe["matched"], json!([dual.rsa.to_string()]));
        // The RSA certificate lasts 30 days: --days 60 is CRITICAL for it only.
        let (code, v) = check_json(
            &cfg.resolver,
            &["--mx", &domain, "--both-algorithms", "--days", "60"],
        );
        assert_eq!(code, 2, "{v:#}");
        let p = mx_probes(mx_host(mx_domain(&v, &domain), &host));
        assert_eq!(p[&pair(addr, "ecdsa")], pair("match", "OK"));
        assert_eq!(p[&pair(addr, "rsa")], pair("match", "CRITICAL"));
    }
    // Only the ECDSA key's record: the RSA certificate is unauthenticated.
    let _t = publish(&pdns, &owner, "TLSA", &[ecdsa.to_string()]);
    let (code, v) = check_mx_until(
        &cfg.resolver,
        &["--mx", &domain, "--both-algorithms"],
        |v| {
            mx_host(mx_domain(v, &domain), &host)["tlsa"]["records"]
                .as_array()
                .is_some_and(|r| r.len() == 1)
        },
    );
    assert_eq!(code, 2, "{v:#}");
    let p = mx_probes(mx_host(mx_domain(&v, &domain), &host));
    assert_eq!(p[&pair(addr, "ecdsa")], pair("match", "OK"));
    assert_eq!(p[&pair(addr, "rsa")], pair("no_match", "CRITICAL"));
    // Without --both-algorithms the check negotiates ECDSA, as posttls-finger does.
    let (code, v) = check_json(&cfg.resolver, &["--mx", &domain]);
    assert_eq!(code, 0, "{v:#}");
    let (pf, out) = posttls_finger_to(&lab, &domain, &[]);
    assert_eq!(pf, PostTls::Verified, "{out}");
    assert_eq!(
        served_key_with(&lab, "RSA-PSS+SHA256:RSA+SHA256"),
        Some(dual.rsa.clone())
    );
    drop(dual);
}

/// A domain without MX RRset is its own mail host (the implicit MX, RFC 5321 5.1); with no
/// TLSA record there, mail to it goes without DANE: WARNING. posttls-finger on the domain
/// gets TLS, not DANE-verified.
#[test]
fn lab_mx_implicit_mx_without_tlsa_is_a_warning_and_posttls_finger_agrees() {
    let Some(lab) =
        Lab::get("lab_mx_implicit_mx_without_tlsa_is_a_warning_and_posttls_finger_agrees")
    else {
        return;
    };
    let _l = lock();
    let pdns = Pdns::new(&lab);
    let host = lab.var("LAB_MAIL_HOST");
    let owner = format!("_25._tcp.{host}.");
    // Whatever another test left there is back when this ends.
    let old = pdns.rrset(&owner, "TLSA");
    if old.is_some() {
        pdns.delete(&owner, "TLSA");
    }
    let _restore = Published {
        pdns: &pdns,
        name: owner.clone(),
        rtype: "TLSA",
        old,
    };
    let _no_mx = {
        let old = pdns.rrset(&format!("{host}."), "MX");
        if old.is_some() {
            pdns.delete(&format!("{host}."), "MX");
        }
        Published {
            pdns: &pdns,
            name: format!("{host}."),
            rtype: "MX",
            old,
        }
    };
    let cfg = configs(&lab);
    let (code, v) = check_mx_until(&cfg.resolver, &["--mx", host], |v| {
        mx_host(mx_domain(v, host), host)["tlsa"]["records"] == json!([])
    });
    assert_eq!(code, 1, "{v:#}");
    let d = mx_domain(&v, host);
    assert_eq!(d["mx"]["implicit"], true);
    let h = mx_host(d, host);
    assert_eq!(h["preference"], Value::Null);
    assert_eq!(h["tlsa"]["validation"], "secure");
    assert!(
        h["reasons"][0].as_str().unwrap().contains("no TLSA record"),
        "{h:#}"
    );
    assert_eq!(
        mx_probes(h)[&pair(lab.var("LAB_MAIL_ADDR"), "all")],
        pair("no_dane", "OK")
    );
    let (code, _) = check_json(&cfg.anchors, &["--mx", host]);
    assert_eq!(code, 1);

    let (pf, out) = posttls_finger_to(&lab, host, &[]);
    assert_eq!(pf, PostTls::Untrusted, "{out}");
}

// ---------------------------------------------------------------------------------------
// A failed address lookup of one family: a DNS fault in front of the validating resolver.

/// What the fault proxy does with AAAA questions for its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Pass = 0,
    ServFail = 1,
    Drop = 2,
}

/// A UDP DNS proxy between danerollover and the lab's resolver that answers AAAA
/// questions for one host with SERVFAIL, or never, as set; everything else is relayed.
/// Stops when dropped.
struct FaultProxy {
    addr: std::net::SocketAddr,
    fault: std::sync::Arc<std::sync::atomic::AtomicU8>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl FaultProxy {
    fn start(upstream: std::net::SocketAddr, host: &str) -> FaultProxy {
        use hickory_proto::op::{Message, MessageType, ResponseCode};
        use hickory_proto::rr::RecordType;
        use std::sync::atomic::Ordering;
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let fault = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(Fault::Pass as u8));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (f, st) = (fault.clone(), stop.clone());
        let host = format!("{}.", host.trim_end_matches('.')).to_ascii_lowercase();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65_535];
            while !st.load(Ordering::Relaxed) {
                let Ok((n, client)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let query = buf[..n].to_vec();
                let faulty = Message::from_vec(&query).ok().filter(|m| {
                    m.queries.iter().any(|q| {
                        q.query_type() == RecordType::AAAA
                            && q.name().to_ascii().to_ascii_lowercase() == host
                    })
                });
                match (faulty, f.load(Ordering::Relaxed)) {
                    (Some(_), 2) => continue,
                    (Some(mut m), 1) => {
                        m.metadata.message_type = MessageType::Response;
                        m.metadata.response_code = ResponseCode::ServFail;
                        m.metadata.recursion_available = true;
                        if let Ok(bytes) = m.to_vec() {
                            let _ = socket.send_to(&bytes, client);
                        }
                    }
                    _ => {
                        // Relay (one question at a time is enough here).
                        let up = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                        up.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
                        let _ = up.send_to(&query, upstream);
                        let mut answer = vec![0u8; 65_535];
                        if let Ok((m, _)) = up.recv_from(&mut answer) {
                            let _ = socket.send_to(&answer[..m], client);
                        }
                    }
                }
            }
        });
        FaultProxy { addr, fault, stop }
    }

    fn set(&self, fault: Fault) {
        self.fault
            .store(fault as u8, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A host with A 127.0.10.25 (the lab's Postfix) and AAAA ::1: while its AAAA lookup fails
/// (SERVFAIL, then no answer at all), `check`, `check --mx` and `status` say its addresses
/// are unknown, naming the family, never a shorter list that looks fine; once the lookup
/// answers again, [::1] is probed like any address.
#[test]
fn lab_a_failed_aaaa_lookup_makes_the_host_unknown_never_a_shorter_list() {
    let Some(lab) =
        Lab::get("lab_a_failed_aaaa_lookup_makes_the_host_unknown_never_a_shorter_list")
    else {
        return;
    };
    let _l = lock();
    let pdns = Pdns::new(&lab);
    let (_, right) = lab_key(&lab);
    let zone = lab.var("LAB_PDNS_ZONE").to_string();
    let host = format!("check-family.{zone}");
    let domain = format!("check-family-mx.{zone}");
    let _a = publish(
        &pdns,
        &format!("{host}."),
        "A",
        &[lab.var("LAB_MAIL_ADDR").to_string()],
    );
    let _aaaa = publish(&pdns, &format!("{host}."), "AAAA", &["::1".to_string()]);
    let _mx = publish(&pdns, &format!("{domain}."), "MX", &[format!("10 {host}.")]);
    let _t = publish(
        &pdns,
        &format!("_25._tcp.{host}."),
        "TLSA",
        &[right.to_string()],
    );
    wait_for_address(&lab, &host, "::1");
    wait_for_address(&lab, &host, lab.var("LAB_MAIL_ADDR"));
    wait_for_tlsa(
        &lab,
        &format!("_25._tcp.{host}."),
        std::slice::from_ref(&right),
    );

    let proxy = FaultProxy::start(lab.addr("LAB_RESOLVER"), &host);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"state_dir = "{state}"
[dns]
validating_resolver = "{proxy}"
timeout = "2s"

[providers.lab]
type = "manual"

[lineages."{l}"]
provider = "lab"
tlsa = ["_25._tcp.{h}"]
endpoints = ["{host}:25"]
endpoints_only = true
"#,
            state = dir.path().join("state").display(),
            proxy = proxy.addr,
            l = lab.var("LAB_LINEAGE"),
            h = lab.var("LAB_MAIL_HOST"),
        ),
    )
    .unwrap();
    let target = format!("{host}:25");
    let status = || {
        let out = Command::cargo_bin("danerollover")
            .unwrap()
            .args(["--config"])
            .arg(&cfg)
            .args([
                "--letsencrypt-dir",
                lab.var("LAB_LETSENCRYPT_DIR"),
                "status",
                "--json",
            ])
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "status: not JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    };

    for (fault, why) in [(Fault::ServFail, "SERVFAIL"), (Fault::Drop, "no answer")] {
        proxy.set(fault);
        // check: UNKNOWN, naming the family; the A address is still probed and matches.
        let (code, v) = check_json(&cfg, &["--target", &target, "--timeout", "3s"]);
        let text = v.to_string();
        assert_eq!(code, 3, "{why}: {v:#}");
        assert!(text.contains("AAAA lookup failed"), "{why}: {v:#}");
        let o = owner(&v, &format!("_25._tcp.{host}."));
        let probed: Vec<&str> = o["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["address"].as_str())
            .collect();
        assert_eq!(probed, vec![lab.var("LAB_MAIL_ADDR")], "{why}: {v:#}");
        let (code, out) = check_text(&cfg, &["--target", &target, "--timeout", "3s"]);
        assert_eq!(code, 3, "{out}");
        assert!(out.contains("AAAA"), "{why}: {out}");

        // check --mx: the host's address records cannot be validated, naming AAAA.
        let (code, v) = check_json(&cfg, &["--mx", &domain, "--timeout", "3s"]);
        assert!(code == 3 || code == 2, "{why}: {code} {v:#}");
        assert!(v.to_string().contains("the AAAA lookup"), "{why}: {v:#}");

        // status: the endpoint's AAAA addresses are unknown (what holds a retirement).
        let v = status();
        let endpoints = v["lineages"][0]["endpoints"].to_string();
        assert!(
            endpoints.contains("AAAA lookup failed") && endpoints.contains("unknown"),
            "{why}: {v:#}"
        );
    }

    // Recovery: every address is probed again, [::1]:25 among them (nothing listens there
    // in the lab: unreachable, never left out).
    proxy.set(Fault::Pass);
    let (_, v) = check_json(&cfg, &["--target", &target, "--timeout", "3s"]);
    assert!(!v.to_string().contains("AAAA lookup failed"), "{v:#}");
    let o = owner(&v, &format!("_25._tcp.{host}."));
    let probed: Vec<&str> = o["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["address"].as_str())
        .collect();
    assert!(
        probed.contains(&"::1") && probed.contains(&lab.var("LAB_MAIL_ADDR")),
        "{v:#}"
    );
}
