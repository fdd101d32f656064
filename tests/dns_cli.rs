//! `danerollover dns show|add|remove` from the command line: input errors without any
//! network, then against the lab.

mod common;
mod dns_lab;

use std::path::Path;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::Lab;
use dns_lab::*;

fn write_config(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn offline_config(dir: &Path) -> std::path::PathBuf {
    write_config(
        dir,
        r#"
[dns]
validating_resolver = "127.0.0.1:9"
timeout = "1s"

[providers.home]
type = "manual"

[lineages."mail.example.com"]
provider = "home"
tlsa = ["_25._tcp.mail.example.com"]
zone = "example.com"
"#,
    )
}

fn lab_config(lab: &Lab, dir: &Path) -> std::path::PathBuf {
    write_config(
        dir,
        &format!(
            r#"
[dns]
validating_resolver = "{}"
timeout = "2s"

[providers.lab]
type = "powerdns"
url = "{}"
api_key_file = "{}"
server_id = "{}"
"#,
            lab.var("LAB_RESOLVER"),
            lab.var("LAB_PDNS_API"),
            lab.var("LAB_PDNS_API_KEY_FILE"),
            lab.var("LAB_PDNS_SERVER_ID"),
        ),
    )
}

fn bin() -> Command {
    Command::cargo_bin("danerollover").unwrap()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn dry_run_prints_the_change_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_config(dir.path());
    let r = record();
    let o = bin()
        .arg("--config")
        .arg(&config)
        .args([
            "dns",
            "add",
            "--provider",
            "home",
            "--ttl",
            "120",
            "_25._tcp.MAIL.example.com",
            &r.to_string(),
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains(&format!("+ _25._tcp.mail.example.com. 120 IN TLSA {r}")),
        "{out}"
    );
    assert!(out.contains("dry run"), "{out}");

    let o = bin()
        .arg("--config")
        .arg(&config)
        .args([
            "dns",
            "remove",
            "--provider",
            "home",
            "_25._tcp.mail.example.com",
            &r.to_string(),
            "--dry-run",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["zone"], "example.com.");
    assert_eq!(v["remove"][0], r.to_string());
    assert_eq!(v["add"].as_array().unwrap().len(), 0);
}

#[test]
fn bad_input_exits_2_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_config(dir.path());
    let run = |args: &[&str]| {
        bin()
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
    };

    let o = run(&[
        "dns",
        "add",
        "--provider",
        "home",
        "_25._tcp.mail.example.com",
        "3 1 1 nothex",
        "--dry-run",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("3 1 1 nothex"), "{}", stderr(&o));

    let r = record().to_string();
    let o = run(&[
        "dns",
        "add",
        "--provider",
        "away",
        "_25._tcp.mail.example.com",
        &r,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("away") && stderr(&o).contains("home"),
        "{}",
        stderr(&o)
    );

    let o = run(&[
        "dns",
        "show",
        "--nameserver",
        "ns1.example.com",
        "_25._tcp.mail.example.com",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("ns1.example.com"), "{}", stderr(&o));

    let o = run(&["dns", "show", "bad..name"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad..name"), "{}", stderr(&o));
}

#[test]
fn show_reports_servers_validation_and_exit_status() {
    let Some(lab) = Lab::get("show_reports_servers_validation_and_exit_status") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = lab_config(&lab, dir.path());
    let zone = lab.var("LAB_PDNS_ZONE").to_string();
    let owner = format!("_25._tcp.{}.{zone}", fresh("cli"));
    let r = record();
    pdns_tlsa(&lab, &zone, &owner, 300, std::slice::from_ref(&r));
    let _cleanup = PdnsCleanup {
        lab: &lab,
        rrsets: vec![(zone.clone(), owner.clone(), "TLSA".into())],
    };

    // Published and secure: exit 0, both servers listed with the record.
    let started = Instant::now();
    let o = loop {
        let o = bin()
            .arg("--config")
            .arg(&config)
            .args(["dns", "show", &owner])
            .output()
            .unwrap();
        if o.status.code() == Some(0) || started.elapsed() > Duration::from_secs(15) {
            break o;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(
        out.contains(&format!("ns1.{zone}. {}", lab.var("LAB_PDNS_DNS"))),
        "{out}"
    );
    assert!(
        out.contains(&format!("ns2.{zone}. {}", lab.var("LAB_PDNS2_DNS"))),
        "{out}"
    );
    assert_eq!(
        out.matches(&r.to_string()).count(),
        3,
        "ns1 (A, AAAA), ns2: {out}"
    );
    assert!(
        out.contains("DNSSEC: secure") && out.contains("all servers agree"),
        "{out}"
    );

    // JSON: an array, one element per owner.
    let bogus = format!("_25._tcp.{}.{}", fresh("cli"), lab.var("LAB_BOGUS_ZONE"));
    let o = bin()
        .arg("--config")
        .arg(&config)
        .args(["dns", "show", "--json", &owner, &bogus])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "the bogus owner makes it 1: {}",
        stdout(&o)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["owner"], abs(&owner));
    assert_eq!(arr[0]["validated"]["state"], "secure");
    assert_eq!(arr[0]["servers"].as_array().unwrap().len(), 3);
    assert_eq!(arr[0]["servers"][0]["records"][0], r.to_string());
    assert_eq!(arr[1]["validated"]["state"], "bogus");

    // A dead server named on the command line: an error line for it, exit 1, no hang.
    let started = Instant::now();
    let o = bin()
        .arg("--config")
        .arg(&config)
        .args([
            "dns",
            "show",
            "--nameserver",
            lab.var("LAB_PDNS_DNS"),
            "--nameserver",
            "127.0.10.99:53",
            &owner,
        ])
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("127.0.10.99:53  ERROR"), "{out}");
    assert!(out.contains("NOT ALL SERVERS ANSWERED"), "{out}");
}

#[test]
fn add_and_remove_through_the_provider() {
    let Some(lab) = Lab::get("add_and_remove_through_the_provider") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = lab_config(&lab, dir.path());
    let zone = lab.var("LAB_PDNS_ZONE").to_string();
    let owner = format!("_25._tcp.{}.{zone}", fresh("add"));
    let _cleanup = PdnsCleanup {
        lab: &lab,
        rrsets: vec![(zone.clone(), owner.clone(), "TLSA".into())],
    };
    let (r1, r2) = (record(), record());
    let o = bin()
        .arg("--config")
        .arg(&config)
        .args([
            "dns",
            "add",
            "--provider",
            "lab",
            "--ttl",
            "60",
            &owner,
            &r1.to_string(),
            &r2.to_string(),
        ])
        .output()
        .unwrap();
    if stderr(&o).contains("is not built yet") {
        // The provider back ends come from another branch; without them nothing was applied.
        assert_eq!(o.status.code(), Some(1));
        assert!(!stdout(&o).contains("applied"), "{}", stdout(&o));
        eprintln!(
            "add_and_remove_through_the_provider: provider not built yet: only the failure path checked"
        );
        return;
    }
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("applied through provider lab"), "{out}");
    assert_eq!(
        out.matches(&r1.to_string()).count(),
        1 + 3,
        "the change and every server address (ns1 A and AAAA, ns2): {out}"
    );

    let o = bin()
        .arg("--config")
        .arg(&config)
        .args([
            "dns",
            "remove",
            "--provider",
            "lab",
            "--json",
            &owner,
            &r1.to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for s in v[0]["servers"].as_array().unwrap() {
        assert_eq!(s["records"], serde_json::json!([r2.to_string()]), "{v:#}");
    }
}
