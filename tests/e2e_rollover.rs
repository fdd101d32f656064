//! The whole story against the lab, once with PowerDNS's HTTP API (two authoritative
//! servers, NS discovery) and once with RFC 2136 updates to BIND: certbot issues a
//! certificate with `danerollover hook` as its deploy hook, the hook publishes the current
//! and the next key's records, an early `rollover` is refused (75), `rollover --wait`
//! switches once the wait is over and the renewed certificate carries the former next key,
//! a new next key is published, `run` retires the old record after its wait, `check` sees
//! the next key published, and a record someone else put at the owner survives it all.
//!
//! The PowerDNS story runs twice: with Debian's certbot 2.1 and with the newest certbot
//! from PyPI (the lab's `LAB_CERTBOT_LATEST`); both also renew twice after the switch
//! and must keep the key and every record. `e2e_certbot_surprises` makes certbot do
//! what the switch did not ask (exit 0 without renewing, renew with a key of its own) and
//! kills danerollover while a slowed-down real certbot runs.
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

/// The lab's newest certbot from PyPI (`LAB_CERTBOT_LATEST`, installed by
/// tests/lab/install); None outside CI when the lab has none (under CI that is a failure).
fn newest_certbot(lab: &Lab, test: &str) -> Option<String> {
    match lab.vars().get("LAB_CERTBOT_LATEST") {
        Some(p) => Some(p.clone()),
        None if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
            panic!(
                "{test}: the lab has no LAB_CERTBOT_LATEST: run tests/lab/install, then tests/lab/up"
            )
        }
        None => {
            eprintln!("{test}: skipped: the lab has no newest certbot (tests/lab/install)");
            None
        }
    }
}

fn story(backend: Backend, test: &str, prefix: &str, newest: bool) {
    let Some(lab) = Lab::get(test) else { return };
    let certbot = if newest {
        match newest_certbot(&lab, test) {
            Some(p) => Some(p),
            None => return,
        }
    } else {
        None
    };
    let mut s = Setup::new(lab, backend, prefix, &[&["true"]]);
    if let Some(p) = certbot {
        s = s.with_certbot(&p);
    }
    eprintln!("{test}: {}", s.certbot_version());

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
    let all_four = [
        current.clone(),
        next.clone(),
        next2.clone(),
        foreign.clone(),
    ];
    wait_served(&s, &all_four, Duration::from_secs(20));

    // Renewals (certbot's timer, or ARI / short-lived profiles every few days) keep the key,
    // and the hook they run changes no record.
    for _ in 0..2 {
        let out = s.certbot(&["renew", "--force-renewal", "--cert-name", &s.name]);
        assert_ok(&out, "certbot renew");
        assert_eq!(s.live_record(), next, "a renewal changed the key");
        assert_eq!(s.live_key_record(), next);
        assert_eq!(
            rec(&status(&s)["next"]),
            next2,
            "a renewal changed the next key"
        );
    }
    wait_served(&s, &all_four, Duration::from_secs(20));

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
    story(Backend::Pdns, "e2e_powerdns", "e2e-pdns", false);
}

#[test]
fn e2e_powerdns_newest_certbot_from_pypi() {
    story(Backend::Pdns, "e2e_newest_certbot", "e2e-new", true);
}

#[test]
fn e2e_bind_rfc2136_issue_prepublish_switch_retire() {
    story(Backend::Bind, "e2e_bind", "e2e-bind", false);
}

/// `run` (which records what the servers serve) and `rollover --dry-run` until the switch
/// is safe (exit 0).
fn wait_until_safe(s: &Setup) {
    let start = Instant::now();
    loop {
        s.dr(&["run"]);
        let out = s.dr(&["rollover", &s.name, "--dry-run"]);
        match out.status.code() {
            Some(0) => return,
            Some(75) => {}
            _ => panic!("rollover --dry-run: {}", text(&out)),
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "never safe: {}",
            text(&out)
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

#[test]
fn e2e_certbot_surprises_and_a_kill_while_certbot_runs() {
    let Some(lab) = Lab::get("e2e_certbot_surprises") else {
        return;
    };
    let mut s = Setup::new(lab, Backend::Pdns, "e2e-surprise", &[&["true"]]);
    assert_ok(&s.issue(), "certbot certonly");
    let old = s.live_record();
    let next = rec(&status(&s)["next"]);
    wait_until_safe(&s);
    let real = s.certbot_prefix();

    // 1. A certbot command that exits 0 and renews nothing.
    s.set_certbot(&strs(&["true"]));
    let out = s.dr(&["rollover", &s.name]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("did not renew"), "{}", text(&out));
    assert_eq!(s.live_record(), old);
    assert_eq!(
        s.live_key_record(),
        old,
        "privkey.pem does not match cert.pem"
    );
    let out = s.dr(&["run"]);
    assert_eq!(out.status.code(), Some(0), "run: {}", text(&out));
    assert_eq!(s.live_key_record(), old);

    // 1b. The real certbot, but a dry run: it talks to the CA and saves nothing.
    let mut dry = strs(&["sh", "-c", "exec \"$0\" \"$@\" --dry-run"]);
    dry.extend(real.iter().cloned());
    s.set_certbot(&dry);
    let out = s.dr(&["rollover", &s.name]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("did not renew"), "{}", text(&out));
    assert_eq!(s.live_record(), old);
    assert_eq!(
        s.live_key_record(),
        old,
        "privkey.pem does not match cert.pem"
    );

    // 1c. certbot dying after writing the new archive version, before relinking live/:
    // the real certbot runs, then the wrapper puts every live link back as it was.
    let live = s.lab.path("LAB_LETSENCRYPT_DIR").join("live").join(&s.name);
    let script = format!(
        "l={live}; c=$(readlink $l/cert.pem); k=$(readlink $l/privkey.pem); \
         h=$(readlink $l/chain.pem); f=$(readlink $l/fullchain.pem); \"$@\" || exit; \
         ln -sfn $c $l/cert.pem; ln -sfn $k $l/privkey.pem; ln -sfn $h $l/chain.pem; \
         ln -sfn $f $l/fullchain.pem; echo 'certbot: killed' >&2; exit 137",
        live = live.display()
    );
    let mut crash = strs(&["sh", "-c", &script, "crashing-certbot"]);
    crash.extend(real.iter().cloned());
    s.set_certbot(&crash);
    let out = s.dr(&["rollover", &s.name]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("certbot renew failed") && text(&out).contains("killed"),
        "{}",
        text(&out)
    );
    assert_eq!(s.live_record(), old);
    assert_eq!(
        s.live_key_record(),
        old,
        "privkey.pem does not match cert.pem"
    );

    // 2. certbot renewing with a key of its own (--new-key added by a wrapper).
    let mut own = strs(&["sh", "-c", "exec \"$0\" \"$@\" --new-key"]);
    own.extend(real.iter().cloned());
    s.set_certbot(&own);
    let out = s.dr(&["rollover", &s.name]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("a key of its own"), "{}", text(&out));
    let theirs = s.live_record();
    assert!(theirs != old && theirs != next, "{theirs}");
    assert_eq!(
        s.live_key_record(),
        theirs,
        "privkey.pem does not match cert.pem"
    );
    wait_served(
        &s,
        &[old.clone(), next.clone(), theirs.clone()],
        Duration::from_secs(20),
    );
    assert_eq!(rec(&status(&s)["next"]), next, "the next key stays");

    // 3. kill -9 of danerollover while a slowed-down real certbot runs: a run meanwhile
    // touches nothing, and the switch certbot completes afterwards is kept.
    let mut slow = strs(&["sh", "-c", "sleep 8; exec \"$@\"", "slow-certbot"]);
    slow.extend(real.iter().cloned());
    s.set_certbot(&slow);
    wait_until_safe(&s);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_danerollover"))
        .env("DANEROLLOVER_CONFIG", &s.cfg)
        .env_remove("DANEROLLOVER_SWITCHING")
        .args(["rollover", &s.name])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let state_file = s.state_dir().join("state.json");
    let start = Instant::now();
    let pid = loop {
        let state: Value = std::fs::read(&state_file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        if let Some(pid) = find(&state, "certbot").and_then(|c| c["pid"].as_u64()) {
            break pid;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no certbot pid in the intent: {state}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let proc_dir = std::path::PathBuf::from(format!("/proc/{pid}"));
    assert!(
        proc_dir.exists(),
        "certbot (pid {pid}) died with danerollover"
    );
    let key_before = s.live_key_record();
    let out = s.dr(&["run"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "run while certbot runs: {}",
        text(&out)
    );
    assert!(text(&out).contains("still runs"), "{}", text(&out));
    assert_eq!(s.live_key_record(), key_before, "a run touched privkey.pem");
    let start = Instant::now();
    while proc_dir.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "certbot never finished"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // Other tests' certbots share the lab's letsencrypt directory: while one holds its
    // lock, the pass still holds off (certbot may be at work on this lineage).
    let start = Instant::now();
    let out = loop {
        let out = s.dr(&["run"]);
        if !text(&out).contains("still runs") || start.elapsed() > Duration::from_secs(120) {
            break out;
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    assert_eq!(
        out.status.code(),
        Some(0),
        "run after certbot: {}",
        text(&out)
    );
    assert!(text(&out).contains("CompleteSwitch"), "{}", text(&out));
    assert_eq!(
        s.live_record(),
        next,
        "the switch certbot completed was undone"
    );
    assert_eq!(s.live_key_record(), next);
    assert_eq!(rec(&status(&s)["current"]), next);
    s.set_certbot(&real);
}

/// Postfix (an instance of its own on 127.0.10.26:25) serves copies of the key and
/// certificate, and the lineage has no reload command: after the switch `run` keeps the
/// old record past its wait and exits 1 naming the endpoint; once Postfix is given the new
/// files and reloaded, the next `run` retires the record and exits 0.
#[test]
fn e2e_endpoint_serving_copies_holds_the_old_record_until_reloaded() {
    let Some(lab) = Lab::get("e2e_endpoint_copies") else {
        return;
    };
    let mut s = Setup::new(lab, Backend::Pdns, "e2e-ep", &[]);
    let addr = "127.0.10.26";
    let mut cfg = std::fs::read_to_string(&s.cfg).unwrap();
    cfg.push_str(&format!("endpoints = [\"{addr}:25\"]\n"));
    std::fs::write(&s.cfg, cfg).unwrap();
    assert_ok(&s.issue(), "certbot certonly");
    let live = s.lab.path("LAB_LETSENCRYPT_DIR").join("live").join(&s.name);
    let host = format!("{}.{}", s.name, s.zone);
    let pf = OwnPostfix::start(
        &s.lab,
        addr,
        &host,
        &live.join("privkey.pem"),
        &live.join("fullchain.pem"),
    );
    let old = s.live_record();
    let st = status(&s);
    let next = rec(&st["next"]);
    assert!(
        st["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().contains("no reload commands")),
        "{st}"
    );
    let ours = st["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["endpoint"].as_str().unwrap().starts_with(addr))
        .cloned()
        .unwrap_or_default();
    assert_eq!(ours["serves"], "current", "the endpoint is probed: {st}");

    let out = s.dr(&["rollover", &s.name, "--wait", "--max-wait", "300s"]);
    assert_ok(&out, "rollover --wait");
    let label = format!(
        "{addr}:25 ({host}): still serves the old key 3 1 1 {}",
        &old[6..14]
    );
    assert!(text(&out).contains(&label), "{}", text(&out));
    assert_eq!(s.live_record(), next);

    // Past the retire wait (2 x 5 s + 1 s): the record stays, run exits 1 naming Postfix.
    std::thread::sleep(Duration::from_secs(15));
    for _ in 0..2 {
        let out = s.dr(&["run"]);
        assert_eq!(out.status.code(), Some(1), "run: {}", text(&out));
        assert!(text(&out).contains(&label), "{}", text(&out));
        assert!(text(&out).contains("run its reload"), "{}", text(&out));
        assert!(
            s.served_primary().contains(&old),
            "retired while Postfix serves it"
        );
        let out = s.dr(&["status", &s.name]);
        assert_eq!(out.status.code(), Some(1), "status: {}", text(&out));
        assert!(text(&out).contains(&label), "{}", text(&out));
        std::thread::sleep(Duration::from_secs(2));
    }

    // The operator copies the new files and reloads Postfix: the next run retires.
    pf.install(&live.join("privkey.pem"), &live.join("fullchain.pem"));
    pf.reload();
    let start = Instant::now();
    loop {
        let out = s.dr(&["run"]);
        if out.status.code() == Some(0) && !s.served_primary().contains(&old) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "run never retired {old} after the reload: {}",
            text(&out)
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    let st = status(&s);
    assert!(st["endpoint_alerts"].as_array().unwrap().is_empty(), "{st}");
    // The endpoint now serves the current key; check probes the same endpoint.
    let out = s.dr(&["check", &s.name, "--json"]);
    let v = Setup::json(&out);
    let probed: Vec<String> = v["owners"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| o["addresses"].as_array().cloned().unwrap_or_default())
        .map(|a| a["address"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(probed.contains(&addr.to_string()), "{v}");
    drop(pf);
}

/// With TTL 300 a normal switch waits over ten minutes; an emergency switch goes at once
/// once the next key's record is served everywhere and Secure, and withdraws the old
/// record. Without a served next key it refuses and changes nothing.
#[test]
fn e2e_emergency_rollover_switches_at_once_and_refuses_without_a_next_record() {
    let Some(lab) = Lab::get("e2e_emergency") else {
        return;
    };
    let mut s = Setup::new(lab, Backend::Pdns, "e2e-emerg", &[&["true"]]);
    let cfg = std::fs::read_to_string(&s.cfg)
        .unwrap()
        .replace("ttl = 5\n", "ttl = 300\n");
    std::fs::write(&s.cfg, cfg).unwrap();
    assert_ok(&s.issue(), "certbot certonly");
    let old = s.live_record();
    let next = rec(&status(&s)["next"]);
    wait_served(&s, &[old.clone(), next.clone()], Duration::from_secs(20));

    // The next key's record withdrawn by hand: refused, nothing changes.
    s.dns("remove", &next);
    wait_served(&s, std::slice::from_ref(&old), Duration::from_secs(20));
    let state_file = s.state_dir().join("state.json");
    let before = std::fs::read(&state_file).unwrap();
    let out = s.dr(&["rollover", "--emergency", &s.name]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("REFUSED") && text(&out).contains("not served by"),
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::read(&state_file).unwrap(),
        before,
        "the state changed"
    );
    assert_eq!(s.live_record(), old);
    for srv in s.servers() {
        assert_eq!(s.served(&srv), vec![old.clone()], "DNS changed at {srv}");
    }

    // Published again: the emergency switch goes as soon as the resolver sees it Secure.
    assert_ok(&s.dr(&["prepublish", &s.name]), "prepublish");
    wait_served(&s, &[old.clone(), next.clone()], Duration::from_secs(20));
    let start = Instant::now();
    loop {
        let out = s.dr(&["rollover", "--emergency", "--dry-run", &s.name, "--json"]);
        if out.status.code() == Some(0) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "never possible: {}",
            text(&out)
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    let t0 = Instant::now();
    let out = s.dr(&["rollover", "--emergency", &s.name, "--json"]);
    let took = t0.elapsed();
    assert_ok(&out, "rollover --emergency");
    let v = Setup::json(&out);
    assert_eq!(v["outcome"]["result"], "switched", "{v}");
    eprintln!("emergency rollover with TTL 300: switched and withdrew in {took:?}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert_eq!(s.live_record(), next);
    let until: jiff::Timestamp = v["old_rrset_cached_until"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        until > jiff::Timestamp::now() + jiff::SignedDuration::from_secs(600),
        "{until}"
    );
    let next2 = rec(&status(&s)["next"]);
    wait_served(&s, &[next.clone(), next2], Duration::from_secs(20));
}

/// The shipped unit's sandbox, emulated: every danerollover runs in a private mount
/// namespace whose `/proc` has the unit's options (`hidepid=invisible,subset=pid`, read
/// from examples/danerollover.service), where `/proc/uptime`, `/proc/locks` and the boot id
/// do not exist. 1. The wall clock stepped 3 h ahead (libfaketime) 10 s into the wait:
/// `rollover` is refused (75; it once switched here, the wall clock trusted). 2. kill -9
/// while a slowed-down real certbot runs: a `run` meanwhile touches nothing (the pid is
/// asked about without `/proc`); once certbot has ended, the switch it made is kept.
#[test]
fn e2e_in_the_units_sandbox_a_clock_step_and_a_kill_while_certbot_runs() {
    let Some(lab) = Lab::get("e2e_sandbox") else {
        return;
    };
    let mut s = Setup::new(lab, Backend::Pdns, "e2e-sandbox", &[&["true"]]);
    assert_ok(&s.issue(), "certbot certonly");
    let old = s.live_record();
    let next = rec(&status(&s)["next"]);
    let sb = |args: &[&str]| s.dr_sandboxed(None, args);

    // 1. Into the wait, then a step of the wall clock.
    let start = Instant::now();
    loop {
        let out = sb(&["run"]);
        assert_ne!(
            out.status.code(),
            Some(98),
            "the sandbox shows /proc/uptime"
        );
        let out = sb(&["rollover", &s.name, "--dry-run"]);
        let t = text(&out);
        if t.contains("the wait of") {
            assert_eq!(out.status.code(), Some(75), "{t}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "no wait: {t}");
        std::thread::sleep(Duration::from_secs(2));
    }
    let out = s.dr_sandboxed(Some("+3h"), &["rollover", &s.name]);
    let t = text(&out);
    eprintln!("--- rollover with the wall clock 3 h ahead, in the sandbox:\n{t}");
    assert_eq!(out.status.code(), Some(75), "{t}");
    assert!(t.contains("the wait of"), "{t}");
    assert!(!t.contains("time is unknown"), "{t}");
    assert_eq!(s.live_record(), old, "switched on the stepped wall clock");
    let out = sb(&["doctor", &s.name]);
    let t = text(&out);
    assert!(
        t.contains("ok   boot clock: clock_gettime(CLOCK_BOOTTIME)")
            && t.contains("ok   certbot's lock"),
        "{t}"
    );

    // 2. Safe (counted in the sandbox), then kill -9 while a slow real certbot runs.
    let start = Instant::now();
    loop {
        sb(&["run"]);
        let out = sb(&["rollover", &s.name, "--dry-run"]);
        match out.status.code() {
            Some(0) => break,
            Some(75) => {}
            _ => panic!("rollover --dry-run: {}", text(&out)),
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "never safe: {}",
            text(&out)
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    let real = s.certbot_prefix();
    let mut slow = strs(&["sh", "-c", "sleep 8; exec \"$@\"", "slow-certbot"]);
    slow.extend(real.iter().cloned());
    s.set_certbot(&slow);
    let mut child = e2e_support::sandboxed(
        None,
        env!("CARGO_BIN_EXE_danerollover"),
        &["rollover", &s.name],
    )
    .env("DANEROLLOVER_CONFIG", &s.cfg)
    .env_remove("DANEROLLOVER_SWITCHING")
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let state_file = s.state_dir().join("state.json");
    let start = Instant::now();
    let pid = loop {
        let state: Value = std::fs::read(&state_file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        if let Some(pid) = find(&state, "certbot").and_then(|c| c["pid"].as_u64()) {
            break pid;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no certbot pid: {state}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // unshare and sh exec danerollover: the child is danerollover itself.
    child.kill().unwrap();
    child.wait().unwrap();
    let proc_dir = std::path::PathBuf::from(format!("/proc/{pid}"));
    assert!(
        proc_dir.exists(),
        "certbot (pid {pid}) died with danerollover"
    );
    // (The switch planted the next key before it started certbot.)
    let key_before = s.live_key_record();
    let out = sb(&["run"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "run while certbot runs: {}",
        text(&out)
    );
    assert!(text(&out).contains("still runs"), "{}", text(&out));
    assert_eq!(s.live_key_record(), key_before, "a run touched privkey.pem");
    let start = Instant::now();
    while proc_dir.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "certbot never finished"
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    // (certbot's lock held by another process, and one that cannot be asked: in
    // tests/rollover_cli.rs, not on the lab's letsencrypt directory, whose lock the other
    // tests' certbots take.) While one of those holds it, the pass still holds off.
    let start = Instant::now();
    let out = loop {
        let out = sb(&["run"]);
        if !text(&out).contains("still runs") || start.elapsed() > Duration::from_secs(120) {
            break out;
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    assert_eq!(
        out.status.code(),
        Some(0),
        "run after certbot: {}",
        text(&out)
    );
    assert!(text(&out).contains("CompleteSwitch"), "{}", text(&out));
    assert_eq!(
        s.live_record(),
        next,
        "the switch certbot completed was undone"
    );
    assert_eq!(s.live_key_record(), next);
    s.set_certbot(&real);
}

/// The TTL `server` (address:port) serves the TLSA RRset at `owner` with, asked without
/// recursion; None without an RRset.
fn served_ttl(server: &str, owner: &str) -> Option<u32> {
    let (addr, port) = server.rsplit_once(':').expect("address:port");
    let out = std::process::Command::new("dig")
        .args([
            &format!("@{addr}"),
            "-p",
            port,
            "+norec",
            "+noall",
            "+answer",
            owner,
            "TLSA",
        ])
        .output()
        .expect("dig");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.split_whitespace().nth(3) == Some("TLSA"))
        .find_map(|l| l.split_whitespace().nth(1)?.parse().ok())
}

/// Raising a lineage's `ttl` after its records exist is applied on the servers by the
/// next `prepublish` (the records published again with the new TTL), on PowerDNS (API
/// RRset replace) and BIND (RFC 2136: an added RR with another TTL sets the RRset's).
fn raised_ttl_is_applied(backend: Backend, test: &str, prefix: &str) {
    let Some(lab) = Lab::get(test) else {
        return;
    };
    let mut s = Setup::new(lab, backend, prefix, &[&["true"]]);
    assert_ok(&s.issue(), "certbot certonly");
    let current = s.live_record();
    let start = Instant::now();
    while !s
        .servers()
        .iter()
        .all(|srv| s.served(srv).contains(&current))
    {
        assert!(start.elapsed() < Duration::from_secs(20), "never published");
        std::thread::sleep(Duration::from_millis(500));
    }
    for srv in s.servers() {
        assert_eq!(served_ttl(&srv, &s.owner), Some(5), "{srv}");
    }
    let cfg = std::fs::read_to_string(&s.cfg)
        .unwrap()
        .replace("ttl = 5\n", "ttl = 30\n");
    std::fs::write(&s.cfg, cfg).unwrap();
    let out = s.dr(&["prepublish", &s.name]);
    assert_ok(&out, "prepublish");
    let start = Instant::now();
    loop {
        let ttls: Vec<Option<u32>> = s
            .servers()
            .iter()
            .map(|srv| served_ttl(srv, &s.owner))
            .collect();
        if ttls.iter().all(|t| *t == Some(30)) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the raised TTL is not served: {ttls:?}; prepublish said: {}",
            text(&out)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // The records are the same; a second prepublish has nothing more to do for the TTL.
    assert!(s.served_primary().contains(&current));
    let out = s.dr(&["prepublish", &s.name, "--json"]);
    assert_ok(&out, "prepublish again");
    let v = Setup::json(&out);
    assert!(
        !v.to_string().contains("publish _"),
        "published again although the TTL is applied: {v:#}"
    );
}

#[test]
fn e2e_powerdns_a_raised_ttl_is_applied() {
    raised_ttl_is_applied(
        Backend::Pdns,
        "e2e_powerdns_a_raised_ttl_is_applied",
        "ttlp",
    );
}

#[test]
fn e2e_bind_a_raised_ttl_is_applied() {
    raised_ttl_is_applied(Backend::Bind, "e2e_bind_a_raised_ttl_is_applied", "ttlb");
}
