//! The whole story with the other ACME clients from Debian against the lab's pebble: lego
//! (4.9), dehydrated (0.7) and uacme (1.7) each issue a certificate for a host of its own
//! (its A record points at an address of its own, where its http-01 server and a Postfix of
//! its own listen), run `danerollover hook` as their hook (lego's `LEGO_CERT_*`
//! environment, dehydrated's `deploy_cert` arguments; uacme has none: `hook --lineage`
//! after it), and then: prepublish, wait, `rollover --wait` switches through the client,
//! the reload command gives Postfix the new files, posttls-finger verifies DANE, `run`
//! retires the old record. Then the switch's surprises, through the real client: a command
//! that does nothing, the client renewing with a key of its own, and danerollover killed
//! while a slowed-down client runs (the switch the client completes afterwards is kept).
//!
//! Lab settings as in e2e_rollover: TTL 5 s, ttl_factor 2, margin 1 s.

mod common;
mod e2e_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::Lab;
use danerollover::tlsa::{Matching, TlsaRecord};
use e2e_support::*;
use serde_json::Value;

/// Which client a story runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Lego,
    Dehydrated,
    Uacme,
}

/// One client's lineage under test.
struct Client {
    kind: Kind,
    /// The lineage name danerollover uses.
    lineage: String,
    host: String,
    addr: &'static str,
    /// The client's directory.
    dir: PathBuf,
    /// The command danerollover runs (its `command`).
    command: Vec<String>,
    /// The http-01 server (dehydrated, uacme).
    http: Option<Child>,
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(c) = &mut self.http {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

fn run(cmd: &mut Command, what: &str) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_ok(&out, what);
    out
}

/// The `3 1 1` record of the key of the first certificate in `path`.
fn cert_record(path: &Path) -> String {
    let pem = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (spki, _) = danerollover::acme::client::cert_facts(&pem).expect("a certificate");
    TlsaRecord::dane_ee_spki(Matching::Sha256, &spki).to_string()
}

/// The `3 1 1` record of the private key in `path`.
fn key_record(path: &Path) -> String {
    let pem = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spki = danerollover::acme::client::spki_of_key_pem(&pem).expect("a private key");
    TlsaRecord::dane_ee_spki(Matching::Sha256, &spki).to_string()
}

/// Point `host`'s A record at `addr` (PowerDNS API).
fn a_record(lab: &Lab, host: &str, addr: &str) {
    let key = std::fs::read_to_string(lab.path("LAB_PDNS_API_KEY_FILE")).unwrap();
    let zone = lab.var("LAB_PDNS_ZONE");
    let body = format!(
        r#"{{"rrsets": [{{"name": "{host}.", "type": "A", "ttl": 5, "changetype": "REPLACE", "records": [{{"content": "{addr}", "disabled": false}}]}}]}}"#
    );
    run(
        Command::new("curl")
            .args(["-fsS", "-X", "PATCH", "-H"])
            .arg(format!("X-API-Key: {}", key.trim()))
            .arg(format!(
                "{}/api/v1/servers/{}/zones/{zone}.",
                lab.var("LAB_PDNS_API"),
                lab.var("LAB_PDNS_SERVER_ID")
            ))
            .args(["--data", &body]),
        "PATCH A record",
    );
    // pebble resolves the http-01 name through the lab's resolver: issue only once that
    // resolver answers with the new address (a lagging second server or a negative answer
    // cached from an earlier look would make the CA's validation fail).
    let start = std::time::Instant::now();
    loop {
        let out = Command::new("dig")
            .args([
                "+short",
                &format!("@{}", lab.var("LAB_RESOLVER_ADDR")),
                host,
                "A",
            ])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.trim() == addr)
        {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "the lab resolver never answered {host} A {addr}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// An http-01 server: files under `root` on `addr`:PORT.
fn http01(lab: &Lab, addr: &str, root: &Path) -> Child {
    std::fs::create_dir_all(root.join(".well-known/acme-challenge")).unwrap();
    let port = lab.var("LAB_ACME_HTTP01_PORT");
    let child = Command::new("python3")
        .args(["-m", "http.server", port, "--bind", addr, "--directory"])
        .arg(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 -m http.server");
    let start = Instant::now();
    while std::net::TcpStream::connect(format!("{addr}:{port}")).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no http-01 server"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

/// `env DANEROLLOVER_CONFIG=CFG danerollover hook` (no spaces: lego splits at them).
fn hook_command(s: &Setup) -> String {
    format!(
        "env DANEROLLOVER_CONFIG={} {} hook",
        s.cfg.display(),
        env!("CARGO_BIN_EXE_danerollover")
    )
}

impl Client {
    fn new(kind: Kind, s: &Setup) -> Client {
        let host = format!("{}.{}", s.name, s.zone);
        let addr = match kind {
            Kind::Lego => "127.0.10.31",
            Kind::Dehydrated => "127.0.10.32",
            Kind::Uacme => "127.0.10.33",
        };
        let dir = s.dir.path().join(format!("{kind:?}").to_lowercase());
        std::fs::create_dir_all(&dir).unwrap();
        let lab = &s.lab;
        let ca = lab.var("LAB_ACME_CA_BUNDLE").to_string();
        let url = lab.var("LAB_ACME_DIRECTORY").to_string();
        let port = lab.var("LAB_ACME_HTTP01_PORT").to_string();
        let d = s_(&dir);
        let (lineage, command, http) = match kind {
            Kind::Lego => {
                let mut c = strs(&["env"]);
                c.push(format!("LEGO_CA_CERTIFICATES={ca}"));
                c.extend(strs(&["lego", "--server", &url, "--path", &d]));
                c.extend(strs(&[
                    "--email",
                    "admin@example.test",
                    "--accept-tos",
                    "--http",
                ]));
                c.extend(strs(&["--http.port", &format!("{addr}:{port}")]));
                c.extend(strs(&["--key-type", "ec256"]));
                (host.clone(), c, None)
            }
            Kind::Dehydrated => {
                let hook = dir.join("hook.sh");
                std::fs::write(
                    &hook,
                    format!("#!/bin/sh\nexec {} \"$@\"\n", hook_command(s)),
                )
                .unwrap();
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
                std::fs::write(
                    dir.join("config"),
                    format!(
                        "CA=\"{url}\"\nBASEDIR=\"{d}\"\nWELLKNOWN=\"{d}/www/.well-known/acme-challenge\"\n\
                         CHALLENGETYPE=\"http-01\"\nKEY_ALGO=\"prime256v1\"\nPRIVATE_KEY_RENEW=\"no\"\n\
                         HOOK=\"{}\"\nCONTACT_EMAIL=\"admin@example.test\"\nCURL_OPTS=\"--cacert {ca}\"\n",
                        hook.display()
                    ),
                )
                .unwrap();
                let http = http01(lab, addr, &dir.join("www"));
                let c = strs(&["dehydrated", "--config", &format!("{d}/config")]);
                (s.name.clone(), c, Some(http))
            }
            Kind::Uacme => {
                // uacme trusts the system's CA bundle only: give it one with pebble's CA, in
                // a mount namespace of its own.
                let bundle = dir.join("ca-bundle.crt");
                let mut b = std::fs::read("/etc/ssl/certs/ca-certificates.crt").unwrap_or_default();
                b.extend(std::fs::read(&ca).unwrap());
                std::fs::write(&bundle, b).unwrap();
                let http = http01(lab, addr, &dir.join("www"));
                let mut c = strs(&["env"]);
                c.push(format!(
                    "UACME_CHALLENGE_PATH={d}/www/.well-known/acme-challenge"
                ));
                c.extend(strs(&["unshare", "-m", "sh", "-c"]));
                c.push(format!(
                    "mount --bind {} /etc/ssl/certs/ca-certificates.crt && exec \"$@\"",
                    bundle.display()
                ));
                c.extend(strs(&[
                    "uacme-ns",
                    "uacme",
                    "--confdir",
                    &d,
                    "--acme-url",
                    &url,
                ]));
                c.extend(strs(&["--type", "EC", "--yes", "--hook"]));
                c.push("/usr/share/uacme/uacme.sh".into());
                (host.clone(), c, Some(http))
            }
        };
        a_record(lab, &host, addr);
        Client {
            kind,
            lineage,
            host,
            addr,
            dir,
            command,
            http,
        }
    }

    /// The certificate and key files.
    fn files(&self) -> (PathBuf, PathBuf) {
        match self.kind {
            Kind::Lego => {
                let c = self.dir.join("certificates");
                (
                    c.join(format!("{}.crt", self.lineage)),
                    c.join(format!("{}.key", self.lineage)),
                )
            }
            Kind::Dehydrated => {
                let c = self.dir.join("certs").join(&self.lineage);
                (c.join("fullchain.pem"), c.join("privkey.pem"))
            }
            Kind::Uacme => (
                self.dir.join(&self.lineage).join("cert.pem"),
                self.dir.join("private").join(&self.lineage).join("key.pem"),
            ),
        }
    }

    fn live(&self) -> String {
        cert_record(&self.files().0)
    }

    fn key(&self) -> String {
        key_record(&self.files().1)
    }

    /// The first issuance, with danerollover as the client's hook.
    fn issue(&self, s: &Setup) {
        let argv: Vec<String> = match self.kind {
            Kind::Lego => {
                let mut a = self.command.clone();
                a.extend(strs(&["--domains", &self.host, "run", "--run-hook"]));
                a.push(hook_command(s));
                a
            }
            Kind::Dehydrated => {
                let mut reg = self.command.clone();
                reg.extend(strs(&["--register", "--accept-terms"]));
                run(
                    Command::new(&reg[0]).args(&reg[1..]),
                    "dehydrated --register",
                );
                let mut a = self.command.clone();
                a.extend(strs(&[
                    "--cron",
                    "--domain",
                    &self.host,
                    "--alias",
                    &self.lineage,
                ]));
                a
            }
            Kind::Uacme => {
                let mut reg = self.command.clone();
                reg.extend(strs(&["new", "admin@example.test"]));
                run(Command::new(&reg[0]).args(&reg[1..]), "uacme new");
                let mut a = self.command.clone();
                a.extend(strs(&["issue", &self.host]));
                a
            }
        };
        let out = Command::new(&argv[0])
            .args(&argv[1..])
            .env_remove("DANEROLLOVER_SWITCHING")
            .output()
            .unwrap();
        assert_ok(&out, &format!("{:?} issue", self.kind));
        if self.kind == Kind::Uacme {
            // No hook: the documented way is `hook --lineage NAME` after uacme exits 0.
            assert_ok(
                &s.dr(&["hook", "--lineage", &self.lineage]),
                "hook --lineage",
            );
        }
    }

    /// The configuration lines of the lineage's client.
    fn config_lines(&self) -> String {
        let command: Vec<String> = self.command.iter().map(|a| format!("{a:?}")).collect();
        let mut t = format!(
            "client = \"{}\"\nclient_dir = \"{}\"\ncommand = [{}]\n",
            format!("{:?}", self.kind).to_lowercase(),
            self.dir.display(),
            command.join(", ")
        );
        if self.kind == Kind::Dehydrated {
            t.push_str(&format!(
                "client_config = \"{}\"\n",
                self.dir.join("config").display()
            ));
        }
        t
    }
}

fn s_(p: &Path) -> String {
    p.display().to_string()
}

/// Replace the lineage section's `command`.
fn set_command(s: &Setup, argv: &[String]) {
    let text = std::fs::read_to_string(&s.cfg).unwrap();
    let items: Vec<String> = argv.iter().map(|a| format!("{a:?}")).collect();
    let line = format!("command = [{}]", items.join(", "));
    let text: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("command = ") {
                line.clone()
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(&s.cfg, text.join("\n") + "\n").unwrap();
}

fn status(s: &Setup, lineage: &str) -> Value {
    let out = s.dr(&["status", lineage, "--json"]);
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "status: {}",
        text(&out)
    );
    Setup::json(&out)["lineages"][0].clone()
}

fn wait_until_safe(s: &Setup, lineage: &str) {
    let start = Instant::now();
    loop {
        s.dr(&["run"]);
        let out = s.dr(&["rollover", lineage, "--dry-run"]);
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

/// posttls-finger with DANE to `[host]:25` through the lab resolver: verified?
fn dane_verified(lab: &Lab, host: &str) -> (bool, String) {
    let out = Command::new(lab.path("LAB_BIN").join("with-resolver"))
        .arg(lab.var("LAB_DIR"))
        .args(["posttls-finger", "-c", "-l", "dane"])
        .arg(format!("[{host}]:25"))
        .env("MAIL_CONFIG", lab.var("LAB_POSTFIX_CONFIG_DIR"))
        .output()
        .expect("posttls-finger");
    let t = text(&out);
    (t.contains("Verified TLS connection established"), t)
}

fn assert_dane(lab: &Lab, host: &str) {
    // The resolver caches for 5 s at most: a changed RRset shows within a few seconds.
    let start = Instant::now();
    loop {
        let (ok, t) = dane_verified(lab, host);
        if ok {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "not verified: {t}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn story(kind: Kind, test: &str, prefix: &str) {
    let Some(lab) = Lab::get(test) else { return };
    let s = Setup::new(lab, Backend::Pdns, prefix, &[]);
    let c = Client::new(kind, &s);
    // The configuration: the lineage under the client's name, with its client settings.
    let cfg = std::fs::read_to_string(&s.cfg).unwrap().replace(
        &format!("[lineages.\"{}\"]", s.name),
        &format!("[lineages.\"{}\"]\n{}", c.lineage, c.config_lines()),
    );
    std::fs::write(&s.cfg, cfg).unwrap();
    let name = c.lineage.clone();

    // Issue, with danerollover as the client's hook: current and next published.
    c.issue(&s);
    let current = c.live();
    assert_eq!(c.key(), current, "the key file holds the certificate's key");
    let st = status(&s, &name);
    assert_eq!(rec(&st["current"]), current, "{st}");
    let next = rec(&st["next"]);
    wait_served(
        &s,
        &[current.clone(), next.clone()],
        Duration::from_secs(30),
    );
    let out = s.dr(&["lineages", "--json"]);
    let rows = Setup::json(&out);
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name.as_str())
        .unwrap_or_else(|| panic!("{name} not listed: {rows}"));
    assert_eq!(row["key_matches_cert"], true, "{row}");
    let doctor = s.dr(&["doctor", "--json"]);
    assert!(
        String::from_utf8_lossy(&doctor.stdout).contains("switch command"),
        "{}",
        text(&doctor)
    );

    // A Postfix of its own serves copies; the reload command copies the new files.
    let (cert, key) = c.files();
    let pf = OwnPostfix::start(&s.lab, c.addr, &c.host, &key, &cert);
    let reload = format!(
        "reload = [[\"sh\", \"-c\", \"cp {} {}/key.pem && cp {} {}/fullchain.pem && postfix -c {} reload\"]]",
        key.display(),
        pf.dir.display(),
        cert.display(),
        pf.dir.display(),
        pf.dir.display()
    );
    let cfg = std::fs::read_to_string(&s.cfg)
        .unwrap()
        .replace("reload = []", &reload);
    std::fs::write(&s.cfg, cfg).unwrap();
    assert_dane(&s.lab, &c.host);

    // Wait and switch through the client; the reload gives Postfix the new key.
    let out = s.dr(&["rollover", &name, "--wait", "--max-wait", "300s", "--json"]);
    assert_ok(&out, "rollover --wait");
    assert_eq!(
        Setup::json(&out)["outcome"]["result"],
        "switched",
        "{}",
        text(&out)
    );
    assert_eq!(c.live(), next, "the new certificate carries the next key");
    assert_eq!(c.key(), next, "the key file is the next key");
    let next2 = rec(&status(&s, &name)["next"]);
    assert!(next2 != next && next2 != current);

    // run retires the old record after its wait; Postfix still verifies.
    let start = Instant::now();
    while s.served_primary().contains(&current) {
        let out = s.dr(&["run"]);
        assert_eq!(out.status.code(), Some(0), "run: {}", text(&out));
        assert!(start.elapsed() < Duration::from_secs(120), "never retired");
        std::thread::sleep(Duration::from_secs(2));
    }
    wait_served(&s, &[next.clone(), next2.clone()], Duration::from_secs(30));
    assert_dane(&s.lab, &c.host);

    // 1. A command that exits 0 and renews nothing: undone, the key file matches.
    wait_until_safe(&s, &name);
    set_command(&s, &strs(&["true"]));
    let out = s.dr(&["rollover", &name]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("did not renew"), "{}", text(&out));
    assert_eq!((c.live(), c.key()), (next.clone(), next.clone()));

    // 2. The client renewing with a key of its own: kept, published at once.
    let own: Vec<String> = match kind {
        // lego without --reuse-key makes a new key.
        Kind::Lego => {
            let mut w = strs(&[
                "sh",
                "-c",
                "for a in \"$@\"; do shift; [ \"$a\" = --reuse-key ] || set -- \"$@\" \"$a\"; done; exec \"$@\"",
                "lego-new-key",
            ]);
            w.extend(c.command.iter().cloned());
            w
        }
        // dehydrated with PRIVATE_KEY_RENEW="yes" in the certificate's config.
        Kind::Dehydrated => {
            let conf = c.dir.join("certs").join(&name).join("config");
            let mut w = strs(&["sh", "-c"]);
            w.push(format!(
                "echo 'PRIVATE_KEY_RENEW=\"yes\"' > {0}; \"$@\"; r=$?; rm -f {0}; exit $r",
                conf.display()
            ));
            w.push("dehydrated-new-key".into());
            w.extend(c.command.iter().cloned());
            w
        }
        // uacme makes a key when there is none.
        Kind::Uacme => {
            let mut w = strs(&["sh", "-c"]);
            w.push(format!("rm -f {}; exec \"$@\"", key.display()));
            w.push("uacme-new-key".into());
            w.extend(c.command.iter().cloned());
            w
        }
    };
    set_command(&s, &own);
    let out = s.dr(&["rollover", &name]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("a key of its own"), "{}", text(&out));
    let theirs = c.live();
    assert!(theirs != next && theirs != next2, "{theirs}");
    assert_eq!(c.key(), theirs, "the key file matches the certificate");
    assert_eq!(rec(&status(&s, &name)["next"]), next2, "the next key stays");

    // 3. danerollover killed while a slowed-down client runs: a run meanwhile touches
    // nothing; the switch the client completes is kept.
    let mut slow = strs(&["sh", "-c", "sleep 8; exec \"$@\"", "slow-client"]);
    slow.extend(c.command.iter().cloned());
    set_command(&s, &slow);
    wait_until_safe(&s, &name);
    let mut child = Command::new(env!("CARGO_BIN_EXE_danerollover"))
        .env("DANEROLLOVER_CONFIG", &s.cfg)
        .env_remove("DANEROLLOVER_SWITCHING")
        .args(["rollover", &name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state_file = s.state_dir().join("state.json");
    let start = Instant::now();
    let pid = loop {
        let state: Value = std::fs::read(&state_file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        let pid = state["lineages"][&name]["intent"]["certbot"]["pid"].as_u64();
        if let Some(pid) = pid {
            break pid;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no pid: {state}");
        std::thread::sleep(Duration::from_millis(100));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    assert!(proc_dir.exists(), "the client died with danerollover");
    let out = s.dr(&["run"]);
    assert_eq!(out.status.code(), Some(1), "run meanwhile: {}", text(&out));
    assert!(text(&out).contains("still runs"), "{}", text(&out));
    let start = Instant::now();
    while proc_dir.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "the client never finished"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let out = s.dr(&["run"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "run after the client: {}",
        text(&out)
    );
    assert_eq!(
        c.live(),
        next2,
        "the switch the client completed was undone"
    );
    assert_eq!(c.key(), next2);
    assert_eq!(rec(&status(&s, &name)["current"]), next2);
    assert_dane(&s.lab, &c.host);
    drop(pf);
}

#[test]
fn e2e_lego_issue_prepublish_switch_retire_and_surprises() {
    story(Kind::Lego, "e2e_lego", "e2e-lego");
}

#[test]
fn e2e_dehydrated_issue_prepublish_switch_retire_and_surprises() {
    story(Kind::Dehydrated, "e2e_dehydrated", "e2e-dehy");
}

#[test]
fn e2e_uacme_issue_prepublish_switch_retire_and_surprises() {
    story(Kind::Uacme, "e2e_uacme", "e2e-uacme");
}
