//! The whole story against the lab, once with PowerDNS's HTTP API (two authoritative
//! servers, NS discovery) and once with RFC 2136 updates to BIND: certbot issues a
//! certificate with `danerollover hook` as its deploy hook, the hook publishes the current
//! and the next key's records, an early `rollover` is refused (75), `rollover --wait`
//! switches once the wait is over and the renewed certificate carries the former next key,
//! a new next key is published, `run` retires the old record after its wait, `check` sees
//! the next key published, and a record someone else put at the owner survives it all.
//!
//! Lab settings: record TTL 5 s, ttl_factor 2, margin 1 s; each owner is new, so the
//! zone's negative TTL (60 s in the lab) counts once: a test takes about a minute and a half.

mod common;
mod e2e_support;

use std::time::{Duration, Instant};

use common::Lab;
use e2e_support::*;
use serde_json::Value;

/// A record nobody's key matches: the "foreign" one (a hand-made entry, another host's key).
fn foreign_record() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let data = format!("{:064x}", nanos ^ 0x5a5a_5a5a_5a5a_5a5a_5a5a_5a5a_5a5a_5a5a);
    format!("3 1 1 {}", &data[data.len() - 64..])
}

/// The first value of `key` anywhere in `v`.
fn find<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => m.get(key).or_else(|| m.values().find_map(|x| find(x, key))),
        Value::Array(a) => a.iter().find_map(|x| find(x, key)),
        _ => None,
    }
}

fn status(s: &Setup) -> Value {
    let out = s.dr(&["status", &s.name, "--json"]);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "status: {}",
        text(&out)
    );
    Setup::json(&out)["lineages"][0].clone()
}

fn rec(hex: &Value) -> String {
    format!("3 1 1 {}", hex.as_str().expect("a key's hex"))
}

/// Wait (up to `limit`) until every authoritative server serves exactly `want`.
fn wait_served(s: &Setup, want: &[String], limit: Duration) {
    let mut want = want.to_vec();
    want.sort();
    let start = Instant::now();
    loop {
        let all: Vec<Vec<String>> = s.servers().iter().map(|srv| s.served(srv)).collect();
        if all.iter().all(|got| *got == want) {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "servers serve {all:?}, expected {want:?} at {}",
            s.owner
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn story(backend: Backend, test: &str, prefix: &str) {
    let Some(lab) = Lab::get(test) else { return };
    let mut s = Setup::new(lab, backend, prefix, &[&["true"]]);

    // Someone else's record at the owner, before danerollover comes.
    let foreign = foreign_record();
    s.dns("add", &foreign);

    // Issue: the deploy hook publishes the current key and a next key.
    let out = s.issue();
    assert_ok(&out, "certbot certonly");
    let current = s.live_record();
    assert_eq!(current, s.live_key_record());
    let st = status(&s);
    assert_eq!(rec(&st["current"]), current, "status: {st}");
    let next = rec(&st["next"]);
    assert_ne!(next, current);
    let key_file = st["next_key_file"]
        .as_str()
        .expect("next key file")
        .to_string();
    let meta = std::fs::metadata(&key_file).expect("next key file exists");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );
    wait_served(
        &s,
        &[current.clone(), next.clone(), foreign.clone()],
        Duration::from_secs(20),
    );

    // check: the next key's record is published (once the resolver's cache, 5 s at
    // most in the lab, has let go of the answer from before the hook).
    let start = Instant::now();
    loop {
        let out = s.dr(&["check", &s.name, "--json"]);
        let v = Setup::json(&out);
        let published = find(&v, "next_published");
        if published == Some(&Value::Bool(true)) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "check never saw the next key published: {v}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }

    // Too early: 75, with the reason and the earliest time.
    let out = s.dr(&["rollover", &s.name]);
    assert_eq!(
        out.status.code(),
        Some(75),
        "early rollover: {}",
        text(&out)
    );
    assert!(
        text(&out).contains("not safe to switch yet"),
        "{}",
        text(&out)
    );
    assert_eq!(
        s.live_record(),
        current,
        "an early rollover changed the key"
    );

    // Wait and switch.
    let out = s.dr(&[
        "rollover",
        &s.name,
        "--wait",
        "--max-wait",
        "300s",
        "--json",
    ]);
    assert_ok(&out, "rollover --wait");
    let v = Setup::json(&out);
    assert_eq!(v["outcome"]["result"], "switched", "{v}");
    let safe: jiff::Timestamp = v["switch_safe_at"].as_str().unwrap().parse().unwrap();
    let started: jiff::Timestamp = v["switch_started_at"].as_str().unwrap().parse().unwrap();
    assert!(started >= safe, "switched at {started}, before {safe}");
    assert_eq!(
        s.live_record(),
        next,
        "the new certificate carries the next key"
    );
    assert_eq!(s.live_key_record(), next, "privkey.pem is the next key");
    let st = status(&s);
    assert_eq!(rec(&st["current"]), next);
    let next2 = rec(&st["next"]);
    assert!(next2 != next && next2 != current);
    // The old record stays until its retire wait is over.
    wait_served(
        &s,
        &[
            current.clone(),
            next.clone(),
            next2.clone(),
            foreign.clone(),
        ],
        Duration::from_secs(20),
    );

    // run after the retire wait removes the old record; the foreign one stays.
    let start = Instant::now();
    loop {
        let out = s.dr(&["run", "--json"]);
        assert!(out.status.code() == Some(0), "run: {}", text(&out));
        if !s.served_primary().contains(&current) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "run never removed {current}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    wait_served(
        &s,
        &[next.clone(), next2.clone(), foreign.clone()],
        Duration::from_secs(20),
    );

    // A hook for a lineage the configuration does not manage leaves it alone.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_danerollover"))
        .env("DANEROLLOVER_CONFIG", &s.cfg)
        .env(
            "RENEWED_LINEAGE",
            s.lab
                .path("LAB_LETSENCRYPT_DIR")
                .join("live")
                .join(s.lab.var("LAB_LINEAGE")),
        )
        .arg("hook")
        .output()
        .unwrap();
    assert_ok(&out, "hook for an unmanaged lineage");
    assert!(text(&out).contains("left alone"), "{}", text(&out));
}

#[test]
fn e2e_powerdns_issue_prepublish_switch_retire() {
    story(Backend::Pdns, "e2e_powerdns", "e2e-pdns");
}

#[test]
fn e2e_bind_rfc2136_issue_prepublish_switch_retire() {
    story(Backend::Bind, "e2e_bind", "e2e-bind");
}
