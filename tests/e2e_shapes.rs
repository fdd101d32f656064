//! The shapes of issue 9 against the lab, each through a whole rollover on real servers:
//!
//! - a CNAME'd owner (RFC 7671 7) whose target lies in another zone and another provider
//!   (`_25._tcp.NAME.example.test` at PowerDNS, CNAME to `_dane-NAME.example2.test` at
//!   BIND through RFC 2136, `[zones."example2.test"] provider = "bind"`): the hook
//!   publishes at the target, `status` shows the chain, asks every address of every NS
//!   name (ns1.example.test has an A and an AAAA) and exits 0, `rollover --wait` switches,
//!   `run` retires at the target, the CNAME is never touched and nothing is ever put beside
//!   it; without the `[zones]` section the same lineage is a clear error naming the zone;
//! - two lineages at one owner: an ECDSA lineage and one issued with `--key-type rsa` for
//!   the same host, Postfix serving both (`smtpd_tls_chain_files`); each rolls over in
//!   turn, posttls-finger verifies after each switch, the RSA certificate Postfix hands
//!   out is the one whose record is served, both stay healthy in `status` throughout, and
//!   neither removes the other's current or next record.
//!
//! Lab settings as in `e2e_rollover`: TTL 5 s, ttl_factor 2, margin 1 s, new owners (the
//! zone's 60 s negative TTL counts once).

mod common;
mod e2e_support;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::Lab;
use e2e_support::*;
use serde_json::{Value, json};

/// The tests change the lab's Postfix or share the PowerDNS zone: one at a time.
static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The PowerDNS API of the lab zone (for what danerollover does not write: CNAME, A).
struct Pdns {
    zone_url: String,
    key: String,
}

impl Pdns {
    fn new(lab: &Lab) -> Self {
        Pdns::of(lab, lab.var("LAB_PDNS_ZONE"))
    }

    /// The API of another zone of the lab's PowerDNS.
    fn of(lab: &Lab, zone: &str) -> Self {
        Pdns {
            zone_url: format!(
                "{}/api/v1/servers/{}/zones/{}.",
                lab.var("LAB_PDNS_API"),
                lab.var("LAB_PDNS_SERVER_ID"),
                zone.trim_end_matches('.')
            ),
            key: std::fs::read_to_string(lab.path("LAB_PDNS_API_KEY_FILE"))
                .unwrap()
                .trim()
                .to_string(),
        }
    }

    /// The contents of the RRset at `name`/`rtype` the API holds (empty: none).
    fn rrset(&self, name: &str, rtype: &str) -> Vec<String> {
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
        zone["rrsets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["name"] == name && r["type"] == rtype)
            .flat_map(|r| r["records"].as_array().cloned().unwrap_or_default())
            .filter_map(|x| x["content"].as_str().map(str::to_string))
            .collect()
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
            assert!(status.is_success(), "PATCH: {status} {body}");
        });
    }
}

/// An RRset put at the lab zone for one test, deleted when dropped (also on panic).
struct Put<'a> {
    pdns: &'a Pdns,
    name: String,
    rtype: &'static str,
}

fn put<'a>(pdns: &'a Pdns, name: &str, rtype: &'static str, content: &str) -> Put<'a> {
    pdns.patch(json!({
        "name": name, "type": rtype, "ttl": 5, "changetype": "REPLACE",
        "records": [{ "content": content, "disabled": false }]
    }));
    Put {
        pdns,
        name: name.to_string(),
        rtype,
    }
}

impl Drop for Put<'_> {
    fn drop(&mut self) {
        self.pdns
            .patch(json!({ "name": self.name, "type": self.rtype, "changetype": "DELETE" }));
    }
}

/// `danerollover status --json` (all lineages of the configuration): its exit code and
/// report.
fn status_all(s: &Setup) -> (i32, Value) {
    let out = s.dr(&["status", "--json"]);
    (out.status.code().unwrap_or(-1), Setup::json(&out))
}

fn lineage<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["lineages"]
        .as_array()
        .and_then(|a| a.iter().find(|l| l["name"] == name))
        .unwrap_or_else(|| panic!("no lineage {name} in {v:#}"))
}

/// Wait (up to `limit`) until `ok` holds for what each of `servers` serves at `owner`.
fn wait_until_served(
    servers: &[String],
    owner: &str,
    limit: Duration,
    ok: impl Fn(&[String]) -> bool,
) -> Vec<Vec<String>> {
    let start = Instant::now();
    loop {
        let all: Vec<Vec<String>> = servers.iter().map(|srv| served(srv, owner)).collect();
        if all.iter().all(|got| ok(got)) {
            return all;
        }
        assert!(
            start.elapsed() < limit,
            "servers {servers:?} serve {all:?} at {owner}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn append(cfg: &Path, text: &str) {
    let mut t = std::fs::read_to_string(cfg).unwrap();
    t.push_str(text);
    std::fs::write(cfg, t).unwrap();
}

#[test]
fn lab_cnamed_owner_into_another_zone_is_published_and_retired_at_its_target() {
    let Some(lab) =
        Lab::get("lab_cnamed_owner_into_another_zone_is_published_and_retired_at_its_target")
    else {
        return;
    };
    let _l = lock();
    let pdns = Pdns::new(&lab);
    let mut s = Setup::new(lab, Backend::Pdns, "cname", &[&["true"]]);
    let bind_zone = s.lab.var("LAB_BIND_ZONE").to_string();
    let target = format!("_dane-{}.{bind_zone}.", s.name);
    let bind = s.lab.var("LAB_BIND_DNS").to_string();
    let provider_bind = format!(
        "\n[providers.bind]\ntype = \"rfc2136\"\nserver = \"{}\"\ntsig_name = \"{}\"\ntsig_algorithm = \"{}\"\ntsig_secret_file = \"{}\"\n",
        bind,
        s.lab.var("LAB_TSIG_NAME"),
        s.lab.var("LAB_TSIG_ALGORITHM"),
        s.lab.var("LAB_TSIG_SECRET_FILE")
    );
    // The same configuration without [zones."example2.test"], with its own state.
    let bare = s.dir.path().join("bare.toml");
    let config = std::fs::read_to_string(&s.cfg).unwrap().replace(
        &s.state_dir().display().to_string(),
        &s.dir.path().join("bare-state").display().to_string(),
    );
    std::fs::write(&bare, format!("{config}{provider_bind}")).unwrap();
    append(
        &s.cfg,
        &format!("{provider_bind}\n[zones.\"{bind_zone}\"]\nprovider = \"bind\"\n"),
    );
    let cname = put(&pdns, &s.owner, "CNAME", &target);

    // Issue: the deploy hook publishes the current and next key's records at the target.
    let out = s.issue();
    assert_ok(&out, "certbot certonly");
    let current = s.live_record();
    let (_, v) = status_all(&s);
    let st = lineage(&v, &s.name).clone();
    let next = rec(&st["next"]);
    assert_eq!(rec(&st["current"]), current, "{st:#}");
    let has = |want: Vec<String>| move |got: &[String]| want.iter().all(|w| got.contains(w));
    wait_until_served(
        std::slice::from_ref(&bind),
        &target,
        Duration::from_secs(20),
        has(vec![current.clone(), next.clone()]),
    );
    assert!(
        pdns.rrset(&s.owner, "TLSA").is_empty(),
        "nothing beside the CNAME"
    );
    assert_eq!(pdns.rrset(&s.owner, "CNAME"), vec![target.clone()]);

    // status: the chain, every address of every NS name of the alias's zone (ns1 has an
    // A and an AAAA), healthy once the resolver's cache lets go of the empty answer.
    let start = Instant::now();
    let (code, v) = loop {
        let (c, v) = status_all(&s);
        if c == 0 {
            break (c, v);
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "status never healthy: {v:#}"
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    assert_eq!(code, 0);
    let st = lineage(&v, &s.name);
    assert_eq!(st["in_danger"], false, "{st:#}");
    let o = &st["owners"][0];
    assert_eq!(o["chain"][0]["target"], target.as_str(), "{o:#}");
    assert_eq!(o["chain"][0]["zone"], format!("{bind_zone}."), "{o:#}");
    let servers: Vec<String> = o["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["server"].as_str().unwrap().to_string())
        .collect();
    let ns1 = s.lab.var("LAB_PDNS_DNS").to_string();
    for want in [ns1.as_str(), "[::1]:53", s.lab.var("LAB_PDNS2_DNS"), &bind] {
        assert!(
            servers.iter().any(|x| x.contains(&format!("({want})"))),
            "{want} not asked: {servers:?}"
        );
    }
    let out = s.dr(&["status", &s.name]);
    assert!(
        text(&out).contains(&format!("CNAME -> {target}")),
        "{}",
        text(&out)
    );

    // A target zone no provider writes: a clear error naming the zone and the fix.
    let out = Command::new(env!("CARGO_BIN_EXE_danerollover"))
        .env("DANEROLLOVER_CONFIG", &bare)
        .args(["prepublish", &s.name])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&bind_zone) && text(&out).contains("[zones."),
        "{}",
        text(&out)
    );

    // Switch, then retire the old record at the target.
    let out = s.dr(&[
        "rollover",
        &s.name,
        "--wait",
        "--max-wait",
        "300s",
        "--json",
    ]);
    assert_ok(&out, "rollover --wait");
    let r = Setup::json(&out);
    assert_eq!(r["outcome"]["result"], "switched", "{r:#}");
    assert_eq!(s.live_record(), next);
    let (_, v) = status_all(&s);
    let next2 = rec(&lineage(&v, &s.name)["next"]);
    let start = Instant::now();
    loop {
        assert_ok(&s.dr(&["run"]), "run");
        let got = served(&bind, &target);
        if !got.contains(&current) {
            assert!(got.contains(&next) && got.contains(&next2), "{got:?}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the old record is never retired at {target}: {got:?}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    assert!(
        pdns.rrset(&s.owner, "TLSA").is_empty(),
        "nothing beside the CNAME"
    );
    assert_eq!(pdns.rrset(&s.owner, "CNAME"), vec![target.clone()]);
    let (code, v) = status_all(&s);
    assert_eq!(code, 0, "{v:#}");

    // Clean up the target (the alias goes with `cname`).
    for r in served(&bind, &target) {
        let _ = s.dr(&["dns", "remove", &target, &r, "--provider", "bind"]);
    }
    drop(cname);
}

/// Postfix serving the certificates of two lineages (`smtpd_tls_chain_files`); the lab's
/// own chain comes back when dropped.
struct DualPostfix<'a> {
    lab: &'a Lab,
    original: String,
}

fn postconf(lab: &Lab, args: &[&str]) -> String {
    let out = Command::new("postconf")
        .arg("-c")
        .arg(lab.var("LAB_POSTFIX_CONFIG_DIR"))
        .args(args)
        .output()
        .expect("postconf runs");
    assert_ok(&out, "postconf");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn postfix_reload(lab: &Lab) {
    let out = Command::new(lab.path("LAB_BIN").join("postfix-reload"))
        .arg(lab.var("LAB_DIR"))
        .output()
        .expect("postfix-reload runs");
    assert_ok(&out, "postfix-reload");
}

impl<'a> DualPostfix<'a> {
    fn start(lab: &'a Lab, lineages: &[&str]) -> Self {
        let original = postconf(lab, &["-h", "smtpd_tls_chain_files"]);
        let live = lab.path("LAB_LETSENCRYPT_DIR").join("live");
        let files: Vec<String> = lineages
            .iter()
            .flat_map(|n| {
                [
                    live.join(n).join("privkey.pem").display().to_string(),
                    live.join(n).join("fullchain.pem").display().to_string(),
                ]
            })
            .collect();
        postconf(
            lab,
            &[
                "-e",
                &format!("smtpd_tls_chain_files = {}", files.join(", ")),
            ],
        );
        postfix_reload(lab);
        DualPostfix { lab, original }
    }
}

impl Drop for DualPostfix<'_> {
    fn drop(&mut self) {
        postconf(
            self.lab,
            &["-e", &format!("smtpd_tls_chain_files = {}", self.original)],
        );
        postfix_reload(self.lab);
    }
}

/// The `3 1 1` record of the certificate `openssl s_client` gets on port 25 of `addr`
/// offering only `sigalgs`.
fn served_key_with(addr: &str, sigalgs: &str) -> Option<String> {
    let out = Command::new("timeout")
        .args(["10", "openssl", "s_client", "-starttls", "smtp"])
        .args(["-sigalgs", sigalgs, "-connect", &format!("{addr}:25")])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let (_, pem) = x509_parser::pem::parse_x509_pem(text.as_bytes()).ok()?;
    let cert = pem.parse_x509().ok()?;
    Some(
        danerollover::tlsa::TlsaRecord::dane_ee_spki(
            danerollover::tlsa::Matching::Sha256,
            cert.public_key().raw,
        )
        .to_string(),
    )
}

/// posttls-finger (Postfix's DANE client) to `[host]:25` through the lab resolver, until it
/// verifies (the resolver caches answers up to 5 s, Postfix's processes take a reload).
fn posttls_finger_verifies(lab: &Lab, host: &str) {
    let start = Instant::now();
    loop {
        let out: Output = Command::new(lab.path("LAB_BIN").join("with-resolver"))
            .arg(lab.var("LAB_DIR"))
            .args(["posttls-finger", "-c", "-l", "dane"])
            .arg(format!("[{host}]:25"))
            .env("MAIL_CONFIG", lab.var("LAB_POSTFIX_CONFIG_DIR"))
            .output()
            .expect("posttls-finger (tests/lab/install) runs");
        let t = text(&out);
        if t.contains("Verified TLS connection established") {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "posttls-finger does not verify {host}: {t}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn lab_two_lineages_at_one_owner_roll_over_in_turn_with_postfix_serving_both() {
    let Some(lab) =
        Lab::get("lab_two_lineages_at_one_owner_roll_over_in_turn_with_postfix_serving_both")
    else {
        return;
    };
    let _l = lock();
    let pdns = Pdns::new(&lab);
    let lab_dir = lab.var("LAB_DIR").to_string();
    let reload = lab
        .path("LAB_BIN")
        .join("postfix-reload")
        .display()
        .to_string();
    let mut s = Setup::new(
        lab,
        Backend::Pdns,
        "shared",
        &[&[reload.as_str(), &lab_dir]],
    );
    let rsa = format!("{}-rsa", s.name);
    append(
        &s.cfg,
        &format!(
            "\n[lineages.\"{rsa}\"]\nprovider = \"lab\"\ntlsa = [\"{}\"]\nttl = 5\nreload = [[\"{reload}\", \"{lab_dir}\"]]\n",
            s.owner
        ),
    );
    // The host whose owner the two lineages share, on the lab's Postfix address.
    let host = s
        .owner
        .trim_start_matches("_25._tcp.")
        .trim_end_matches('.')
        .to_string();
    let mail_addr = s.lab.var("LAB_MAIL_ADDR").to_string();
    let _a = put(&pdns, &format!("{host}."), "A", &mail_addr);

    // Issue both: ECDSA (the default of `issue`) and RSA, both with the hook.
    let out = s.issue();
    assert_ok(&out, "certbot certonly (ecdsa)");
    let hook = format!(
        "env DANEROLLOVER_CONFIG={} {} hook",
        s.cfg.display(),
        env!("CARGO_BIN_EXE_danerollover")
    );
    let port = s.lab.var("LAB_ACME_HTTP01_PORT").to_string();
    let addr = s.lab.var("LAB_ACME_HTTP01_ADDR").to_string();
    let domain = format!("mail.{}", s.zone);
    let out = s.certbot(&[
        "certonly",
        "--standalone",
        "--http-01-address",
        &addr,
        "--http-01-port",
        &port,
        "--cert-name",
        &rsa,
        "-d",
        &domain,
        "--reuse-key",
        "--key-type",
        "rsa",
        "--deploy-hook",
        &hook,
    ]);
    let _rsa_lineage = RsaLineage { s: &s, name: &rsa };
    assert_ok(&out, "certbot certonly --key-type rsa");

    let keys = |v: &Value| -> [String; 4] {
        let (e, r) = (lineage(v, &s.name), lineage(v, &rsa));
        [
            rec(&e["current"]),
            rec(&e["next"]),
            rec(&r["current"]),
            rec(&r["next"]),
        ]
    };
    // Healthy, both lineages, and every record of both served by every server.
    let healthy = |why: &str| -> [String; 4] {
        let start = Instant::now();
        loop {
            let (code, v) = status_all(&s);
            let k = keys(&v);
            let all = s.servers().iter().all(|srv| {
                let got = served(srv, &s.owner);
                k.iter().all(|r| got.contains(r))
            });
            if code == 0 && all {
                for n in [s.name.as_str(), rsa.as_str()] {
                    assert_eq!(lineage(&v, n)["in_danger"], false, "{why}: {v:#}");
                }
                return k;
            }
            assert!(
                start.elapsed() < Duration::from_secs(40),
                "{why}: not healthy (exit {code}): {v:#}"
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    };
    // Postfix serves both certificates before anything is judged: `status` probes the
    // owner's host once per key family, and each lineage must find its own key there.
    let _postfix = DualPostfix::start(&s.lab, &[&s.name, &rsa]);
    let [e_cur, e_next, r_cur, r_next] = healthy("after issuing both");
    assert_ne!(e_cur, r_cur);
    posttls_finger_verifies(&s.lab, &host);
    assert_eq!(
        served_key_with(&mail_addr, "RSA-PSS+SHA256:RSA+SHA256").as_deref(),
        Some(r_cur.as_str()),
        "Postfix hands out the RSA lineage's certificate"
    );

    // The ECDSA lineage switches; the RSA lineage's records stay.
    let out = s.dr(&[
        "rollover",
        &s.name,
        "--wait",
        "--max-wait",
        "300s",
        "--json",
    ]);
    assert_ok(&out, "rollover --wait (ecdsa)");
    assert_eq!(Setup::json(&out)["outcome"]["result"], "switched");
    assert_eq!(s.live_record(), e_next);
    posttls_finger_verifies(&s.lab, &host);
    let [e_cur2, e_next2, r_cur2, r_next2] = healthy("after the ECDSA switch");
    assert_eq!(
        (&e_cur2, &r_cur2, &r_next2),
        (&e_next, &r_cur, &r_next),
        "the RSA lineage is untouched"
    );
    // The old ECDSA record goes after its wait; the RSA records do not.
    let start = Instant::now();
    loop {
        assert_ok(&s.dr(&["run"]), "run");
        let got = served(&s.servers()[0], &s.owner);
        if !got.contains(&e_cur) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the old ECDSA record is never retired: {got:?}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }

    // The RSA lineage switches; the ECDSA lineage's records stay.
    let out = s.dr(&["rollover", &rsa, "--wait", "--max-wait", "300s", "--json"]);
    assert_ok(&out, "rollover --wait (rsa)");
    assert_eq!(Setup::json(&out)["outcome"]["result"], "switched");
    posttls_finger_verifies(&s.lab, &host);
    let start = Instant::now();
    while served_key_with(&mail_addr, "RSA-PSS+SHA256:RSA+SHA256").as_deref() != Some(&r_next) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "Postfix does not hand out the RSA lineage's new certificate"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let [e_cur3, e_next3, r_cur3, _] = healthy("after the RSA switch");
    assert_eq!(
        (&e_cur3, &e_next3, &r_cur3),
        (&e_cur2, &e_next2, &r_next),
        "the ECDSA lineage is untouched"
    );
    let start = Instant::now();
    loop {
        assert_ok(&s.dr(&["run"]), "run");
        let got = served(&s.servers()[0], &s.owner);
        if !got.contains(&r_cur) {
            for r in [&e_cur3, &e_next3, &r_cur3] {
                assert!(got.contains(r), "{r} removed: {got:?}");
            }
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the old RSA record is never retired: {got:?}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    healthy("at the end");
    posttls_finger_verifies(&s.lab, &host);
}

/// Deletes the RSA lineage at the end (the setup deletes its own).
struct RsaLineage<'a> {
    s: &'a Setup,
    name: &'a str,
}

impl Drop for RsaLineage<'_> {
    fn drop(&mut self) {
        let _ = self.s.certbot(&["delete", "--cert-name", self.name]);
    }
}

/// Issue 13: `run` and `status` reuse the observation of an unchanged zone (every server
/// serving the same SOA serial) and the kept address of an endpoint host in it, and ask
/// again at once after any change in the zone, with `--fresh`, or when reuse is off. The
/// endpoint (a Postfix of its own on 127.0.10.27, the host's A record) is probed at its
/// kept address in every pass.
#[test]
fn lab_an_unchanged_zone_is_not_asked_again_and_a_change_is_seen_at_once() {
    let Some(lab) = Lab::get("e2e_shapes_reuse") else {
        return;
    };
    let _guard = lock();
    let mut s = Setup::new(lab, Backend::Pdns, "reuse", &[]);
    assert_ok(&s.issue(), "certbot certonly");
    let pdns = Pdns::new(&s.lab);
    let host = format!("{}.{}", s.name, s.zone);
    let addr = "127.0.10.27";
    let live = s.lab.path("LAB_LETSENCRYPT_DIR").join("live").join(&s.name);
    let _pf = OwnPostfix::start(
        &s.lab,
        addr,
        &host,
        &live.join("privkey.pem"),
        &live.join("fullchain.pem"),
    );
    let _a = put(&pdns, &format!("{host}."), "A", addr);

    // Kept once the validating resolver serves what the servers serve (TTL 5 s).
    let deadline = Instant::now() + Duration::from_secs(90);
    let reused = loop {
        let _ = s.dr(&["run"]);
        let (_, v) = status_all(&s);
        if !lineage(&v, &s.name)["observed_at"].is_null() {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "status never reused an observation: {v:#}"
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    let l = lineage(&reused, &s.name).clone();
    assert_eq!(l["dangers"], json!([]), "{l:#}");
    let endpoint = l["endpoints"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|e| e["endpoint"].as_str().unwrap_or("").starts_with(addr))
        })
        .cloned()
        .unwrap_or_else(|| panic!("the endpoint at its kept address: {l:#}"));
    assert_eq!(endpoint["serves"], "current", "{l:#}");
    // The host's address is kept (its zone's server serves the same with authority).
    let kept: Value = serde_json::from_str(
        &std::fs::read_to_string(s.state_dir().join("observations.json")).unwrap(),
    )
    .unwrap();
    let hosts = kept["hosts"].as_array().cloned().unwrap_or_default();
    assert!(
        hosts
            .iter()
            .any(|h| h["host"] == host.as_str() && h["addresses"] == json!([addr])),
        "{hosts:#?}"
    );

    // What it shows is what every server serves now.
    let fresh = Setup::json(&s.dr(&["status", "--json", "--fresh"]));
    let f = lineage(&fresh, &s.name);
    assert!(f["observed_at"].is_null(), "--fresh reused: {f:#}");
    assert_eq!(l["owners"][0]["servers"], f["owners"][0]["servers"]);
    let shown: Vec<String> = l["owners"][0]["servers"][0]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    let mut shown = shown;
    shown.sort();
    assert_eq!(shown, s.served_primary());
    let out = s.dr(&["status"]);
    assert!(text(&out).contains("DNS as observed at"), "{}", text(&out));

    // Any change in the zone is a new serial: the next pass asks every server again.
    let bump = put(&pdns, &format!("bump.{host}."), "TXT", "\"bump\"");
    let (_, v) = status_all(&s);
    assert!(
        lineage(&v, &s.name)["observed_at"].is_null(),
        "reused after a change in the zone: {v:#}"
    );
    drop(bump);

    // A dry run keeps nothing; `status` keeps what it saw.
    let kept_file = s.state_dir().join("observations.json");
    std::fs::remove_file(&kept_file).unwrap();
    let _ = s.dr(&["run", "--dry-run"]);
    assert!(
        !kept_file.exists(),
        "run --dry-run wrote {}",
        kept_file.display()
    );
    let _ = s.dr(&["status"]);
    assert!(kept_file.exists(), "status kept nothing");

    // Reuse off: every pass asks.
    let cfg = std::fs::read_to_string(&s.cfg).unwrap().replace(
        "margin = \"1s\"\n",
        "margin = \"1s\"\nreuse_observations = \"0s\"\n",
    );
    std::fs::write(&s.cfg, cfg).unwrap();
    for _ in 0..2 {
        let _ = s.dr(&["run"]);
        let (_, v) = status_all(&s);
        assert!(
            lineage(&v, &s.name)["observed_at"].is_null(),
            "reused with reuse_observations = \"0s\": {v:#}"
        );
    }
}

/// A CNAME'd owner whose target is in another zone the same PowerDNS serves (`zone`: a
/// signed child delegated to the same servers, or a signed sibling): PowerDNS answers the
/// CNAME with the target's records and the AA bit, as if the target were in the owner's
/// zone. The records go into the target's zone (through `[zones."ZONE"] provider`), never
/// into the owner's zone below a delegation; `status` shows the chain in the target's
/// zone, healthy; `rollover --wait` switches.
fn cname_target_in_a_zone_of_the_same_servers(lab: Lab, zone_var: &str, prefix: &str) {
    let _l = lock();
    let pdns = Pdns::new(&lab);
    let mut s = Setup::new(lab, Backend::Pdns, prefix, &[&["true"]]);
    let zone = s.lab.var(zone_var).to_string();
    let target_pdns = Pdns::of(&s.lab, &zone);
    let target = format!("_dane-{}.{zone}.", s.name);
    append(
        &s.cfg,
        &format!("\n[zones.\"{zone}\"]\nprovider = \"lab\"\n"),
    );
    let cname = put(&pdns, &s.owner, "CNAME", &target);
    struct Clean<'a>(&'a Pdns, String);
    impl Drop for Clean<'_> {
        fn drop(&mut self) {
            self.0
                .patch(json!({ "name": self.1, "type": "TLSA", "changetype": "DELETE" }));
        }
    }
    let _clean_target = Clean(&target_pdns, target.clone());

    let out = s.issue();
    assert_ok(&out, "certbot certonly");
    let current = s.live_record();
    let (_, v) = status_all(&s);
    let next = rec(&lineage(&v, &s.name)["next"]);
    // In the target's zone, nowhere else.
    let mut held = target_pdns.rrset(&target, "TLSA");
    held.sort();
    let mut want = vec![current.clone(), next.clone()];
    want.sort();
    assert_eq!(held, want, "the records are not in zone {zone}");
    assert!(
        pdns.rrset(&target, "TLSA").is_empty(),
        "records written into the owner's zone at {target}"
    );
    assert!(pdns.rrset(&s.owner, "TLSA").is_empty(), "beside the CNAME");
    let servers = [
        s.lab.var("LAB_PDNS_DNS").to_string(),
        s.lab.var("LAB_PDNS2_DNS").to_string(),
    ];
    let has = |want: Vec<String>| move |got: &[String]| want.iter().all(|w| got.contains(w));
    wait_until_served(
        &servers,
        &target,
        Duration::from_secs(20),
        has(vec![current.clone(), next.clone()]),
    );

    // status: the chain ends in the target's zone; healthy once the resolver lets go of
    // the empty answer.
    let start = Instant::now();
    let v = loop {
        let (c, v) = status_all(&s);
        if c == 0 {
            break v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "status never healthy: {v:#}"
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    let o = &lineage(&v, &s.name)["owners"][0];
    assert_eq!(o["chain"][0]["target"], target.as_str(), "{o:#}");
    assert_eq!(o["chain"][0]["zone"], format!("{zone}."), "{o:#}");

    // The switch happens once the wait is over.
    let out = s.dr(&[
        "rollover",
        &s.name,
        "--wait",
        "--max-wait",
        "300s",
        "--json",
    ]);
    assert_ok(&out, "rollover --wait");
    let r = Setup::json(&out);
    assert_eq!(r["outcome"]["result"], "switched", "{r:#}");
    assert_eq!(s.live_record(), next);
    assert!(pdns.rrset(&target, "TLSA").is_empty());
    drop(cname);
}

#[test]
fn lab_cname_target_in_a_signed_child_on_the_same_servers_is_published_in_the_child() {
    let Some(lab) = Lab::get("e2e_shapes_cname_child") else {
        return;
    };
    cname_target_in_a_zone_of_the_same_servers(lab, "LAB_SHARED_CHILD_ZONE", "xchild");
}

#[test]
fn lab_cname_target_in_a_sibling_zone_on_the_same_servers_is_published_there() {
    let Some(lab) = Lab::get("e2e_shapes_cname_sibling") else {
        return;
    };
    cname_target_in_a_zone_of_the_same_servers(lab, "LAB_SHARED_ZONE", "xsib");
}
