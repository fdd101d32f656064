//! The fault matrix, on the lab's real servers: for each fault, the exit code, a message
//! naming what failed and where (never a secret), a time bound, nothing half-applied (the
//! RRset on every authoritative server, the lineage's files, the state file), and
//! convergence on the next clean run. The README's "Fault matrix" table points here.
//!
//! Provider API faults go through [`FaultProxy`], an HTTP proxy in front of the real
//! PowerDNS API that answers some requests itself (500, 429, 503, a hang, a dropped
//! connection); the wrong key is the real server's 401. RFC 2136 refusals come from the
//! real BIND. Servers are stopped in the lab and restarted with `tests/lab/up`.
//!
//! The tests of this binary take one lock each ([`serial`]): one of them stops servers
//! the others need.

mod common;
mod e2e_support;

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::Lab;
use e2e_support::*;

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------
// The HTTP fault proxy

/// What the proxy does with one request.
#[derive(Debug, Clone, PartialEq)]
enum Fault {
    /// Forward it to the real API and relay the answer.
    Pass,
    /// Answer this status itself, with a Retry-After (seconds) when given.
    Status(u16, Option<u64>),
    /// Read the request and never answer (the connection is held for 20 s at most).
    Hang,
    /// Read the request and close the connection without a word.
    Drop,
}

/// An HTTP/1.1 proxy in front of the real PowerDNS API: each request takes the next fault
/// of the script, or the default one when the script is empty.
struct FaultProxy {
    url: String,
    script: Arc<Mutex<VecDeque<Fault>>>,
    default: Arc<Mutex<Fault>>,
    seen: Arc<Mutex<Vec<(String, Fault)>>>,
}

impl FaultProxy {
    fn start(upstream: &str) -> FaultProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let script = Arc::new(Mutex::new(VecDeque::new()));
        let default = Arc::new(Mutex::new(Fault::Pass));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s, d, n) = (script.clone(), default.clone(), seen.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (s, d, n, up) = (s.clone(), d.clone(), n.clone(), upstream.clone());
                std::thread::spawn(move || handle(conn, &up, &s, &d, &n));
            }
        });
        FaultProxy {
            url,
            script,
            default,
            seen,
        }
    }

    /// The next requests get these faults, then every one gets `default`.
    fn set(&self, script: &[Fault], default: Fault) {
        *self.script.lock().unwrap() = script.iter().cloned().collect();
        *self.default.lock().unwrap() = default;
        self.seen.lock().unwrap().clear();
    }

    fn seen(&self) -> Vec<(String, Fault)> {
        self.seen.lock().unwrap().clone()
    }
}

/// One request: the head (up to the blank line) and the body (Content-Length).
fn read_request(conn: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

fn handle(
    mut conn: TcpStream,
    upstream: &str,
    script: &Mutex<VecDeque<Fault>>,
    default: &Mutex<Fault>,
    seen: &Mutex<Vec<(String, Fault)>>,
) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(20)));
    let Some((head, body)) = read_request(&mut conn) else {
        return;
    };
    let request_line = head.lines().next().unwrap_or("").to_string();
    let fault = script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| default.lock().unwrap().clone());
    seen.lock().unwrap().push((request_line, fault.clone()));
    match fault {
        Fault::Pass => {
            // Forward with `Connection: close`, relay the whole answer, close.
            let mut head_out = String::new();
            for line in head.split("\r\n").filter(|l| !l.is_empty()) {
                let name = line.split(':').next().unwrap_or("").trim();
                if name.eq_ignore_ascii_case("connection") || name.eq_ignore_ascii_case("host") {
                    continue;
                }
                head_out.push_str(line);
                head_out.push_str("\r\n");
            }
            head_out.push_str(&format!("Host: {upstream}\r\nConnection: close\r\n\r\n"));
            let Ok(mut up) = TcpStream::connect(upstream) else {
                return;
            };
            let _ = up.set_read_timeout(Some(Duration::from_secs(20)));
            let _ = up.write_all(head_out.as_bytes());
            let _ = up.write_all(&body);
            let mut answer = Vec::new();
            let _ = up.read_to_end(&mut answer);
            let _ = conn.write_all(&answer);
        }
        Fault::Status(status, retry_after) => {
            let body = format!("{{\"error\": \"injected {status}\"}}");
            let mut out = format!(
                "HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            if let Some(s) = retry_after {
                out.push_str(&format!("Retry-After: {s}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(&body);
            let _ = conn.write_all(out.as_bytes());
        }
        Fault::Hang => {
            std::thread::sleep(Duration::from_secs(20));
        }
        Fault::Drop => {}
    }
    let _ = conn.shutdown(Shutdown::Both);
}

// ---------------------------------------------------------------------------------------
// Helpers

fn dr(cfg: &Path, args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_danerollover"))
        .env("DANEROLLOVER_CONFIG", cfg)
        .env_remove("DANEROLLOVER_SWITCHING")
        .env_remove("RENEWED_LINEAGE")
        .args(args)
        .output()
        .expect("run danerollover");
    (out, start.elapsed())
}

/// A copy of the setup's configuration with `edit` applied to its text.
fn config_variant(setup: &Setup, file: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(&setup.cfg).unwrap();
    let path = setup.dir.path().join(file);
    std::fs::write(&path, edit(text)).unwrap();
    path
}

/// Quick `[dns]` settings: a 1 s request timeout and a 3 s retry budget.
fn quick(text: String) -> String {
    text.replacen(
        "[dns]\n",
        "[dns]\ntimeout = \"1s\"\nretry_budget = \"3s\"\n",
        1,
    )
}

fn record(byte: u8) -> String {
    format!("3 1 1 {}", hex::encode([byte; 32]))
}

fn secret_file(dir: &Path, name: &str, value: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("{value}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

/// Every authoritative server of the setup serves exactly `want` at its owner.
fn assert_served(setup: &Setup, want: &[String], what: &str) {
    let mut want = want.to_vec();
    want.sort();
    for server in setup.servers() {
        // BIND signs UPDATEs a moment later and PowerDNS serves at once; poll briefly.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let got = setup.served(&server);
            if got == want {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: {server} serves {got:?}, expected {want:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

struct Expect<'a> {
    code: i32,
    within: Duration,
    says: &'a [&'a str],
}

fn check(what: &str, out: &Output, took: Duration, e: &Expect, secrets: &[&str]) {
    let all = text(out);
    eprintln!(
        "--- {what}: exit {:?} in {took:.1?}\n{all}",
        out.status.code()
    );
    assert_eq!(out.status.code(), Some(e.code), "{what}: exit code\n{all}");
    assert!(
        took <= e.within,
        "{what}: took {took:?}, more than {:?}",
        e.within
    );
    for s in e.says {
        assert!(
            all.contains(s),
            "{what}: the output does not say {s:?}\n{all}"
        );
    }
    for s in secrets {
        assert!(!all.contains(s), "{what}: a secret is in the output\n{all}");
    }
}

// ---------------------------------------------------------------------------------------
// Provider API faults

#[test]
fn provider_api_faults_through_a_proxy_in_front_of_the_real_powerdns() {
    let _serial = serial();
    let Some(lab) = Lab::get("provider_api_faults") else {
        return;
    };
    let api_key = std::fs::read_to_string(lab.var("LAB_PDNS_API_KEY_FILE"))
        .unwrap()
        .trim()
        .to_string();
    let proxy = FaultProxy::start(lab.var("LAB_PDNS_API"));
    let setup = Setup::new(lab, Backend::Pdns, "faultapi", &[]);
    let api = setup.lab.var("LAB_PDNS_API").to_string();
    let faulty = config_variant(&setup, "proxied.toml", |t| {
        quick(t.replace(
            &format!("url = \"{api}\""),
            &format!("url = \"{}\"", proxy.url),
        ))
    });
    let owner = setup.owner.clone();
    let rec = record(0xa1);
    let add = [
        "dns",
        "add",
        "--provider",
        "lab",
        "--ttl",
        "5",
        &owner,
        &rec,
    ];
    let names = ["provider lab (powerdns)", owner.as_str()];
    // Budget 3 s + one 1 s timeout, plus process start and slack.
    let bound = Duration::from_secs(8);

    // (what, script, default, expected exit, extra texts, time bound, at least)
    type Case<'a> = (
        &'a str,
        Vec<Fault>,
        Fault,
        i32,
        Vec<&'a str>,
        Duration,
        Duration,
    );
    let cases: Vec<Case> = vec![
        (
            "HTTP 500 on every request",
            vec![],
            Fault::Status(500, None),
            1,
            vec!["HTTP 500", "attempts in", "retry budget 3 s"],
            bound,
            Duration::from_millis(1400),
        ),
        (
            "429 with Retry-After 1, twice, then the server",
            vec![Fault::Status(429, Some(1)), Fault::Status(429, Some(1))],
            Fault::Pass,
            0,
            vec![],
            bound,
            Duration::from_secs(2),
        ),
        (
            "429 with a Retry-After longer than the budget",
            vec![],
            Fault::Status(429, Some(30)),
            1,
            vec!["HTTP 429", "Retry-After 30 s"],
            Duration::from_secs(3),
            Duration::ZERO,
        ),
        (
            "flaky 503s, then the server",
            vec![
                Fault::Status(503, None),
                Fault::Pass,
                Fault::Status(503, None),
            ],
            Fault::Pass,
            0,
            vec![],
            bound,
            Duration::from_millis(900),
        ),
        (
            "a hang, bounded by the timeout and the budget",
            vec![],
            Fault::Hang,
            1,
            vec!["no answer within the timeout", "attempts in"],
            bound,
            Duration::from_secs(2),
        ),
        (
            "one dropped connection, then the server",
            vec![Fault::Drop],
            Fault::Pass,
            0,
            vec![],
            bound,
            Duration::ZERO,
        ),
        (
            "every connection dropped",
            vec![],
            Fault::Drop,
            1,
            vec!["closed before a whole answer", "attempts in"],
            bound,
            Duration::from_millis(1400),
        ),
    ];
    for (what, script, default, code, says, within, at_least) in cases {
        assert_served(&setup, &[], &format!("{what}: before"));
        proxy.set(&script, default);
        let (out, took) = dr(&faulty, &add);
        let mut all_says: Vec<&str> = says.clone();
        if code != 0 {
            all_says.extend(names);
        }
        check(
            what,
            &out,
            took,
            &Expect {
                code,
                within,
                says: &all_says,
            },
            &[&api_key],
        );
        assert!(took >= at_least, "{what}: gave up after only {took:?}");
        let seen = proxy.seen();
        assert!(
            seen.iter().all(|(line, _)| !line.contains(&api_key)),
            "{what}: {seen:?}"
        );
        if code == 0 {
            assert_served(&setup, std::slice::from_ref(&rec), what);
        } else {
            // Nothing half-applied: the owner is as it was on every server.
            assert_served(&setup, &[], &format!("{what}: after the failure"));
            // The next clean run converges.
            proxy.set(&[], Fault::Pass);
            let (out, _) = dr(&faulty, &add);
            assert_ok(&out, &format!("{what}: the clean run"));
            assert_served(
                &setup,
                std::slice::from_ref(&rec),
                &format!("{what}: clean run"),
            );
        }
        setup.dns("remove", &rec);
    }

    // A wrong API key: the real server's 401, not retried, the key not echoed.
    let wrong = "not-the-key-0123456789";
    let wrong_file = secret_file(setup.dir.path(), "wrong.key", wrong);
    let bad_key = config_variant(&setup, "wrongkey.toml", |t| {
        let real = setup.lab.var("LAB_PDNS_API_KEY_FILE");
        quick(t.replace(real, &wrong_file.display().to_string()))
    });
    let (out, took) = dr(&bad_key, &add);
    check(
        "a wrong API key (401)",
        &out,
        took,
        &Expect {
            code: 1,
            within: Duration::from_secs(3),
            says: &["HTTP 401", "provider lab (powerdns)", &owner],
        },
        &[wrong, &api_key],
    );
    assert!(
        !text(&out).contains("attempts"),
        "401 retried: {}",
        text(&out)
    );
    assert_served(&setup, &[], "wrong key");
}

// ---------------------------------------------------------------------------------------
// RFC 2136 refusals from the real BIND

#[test]
fn rfc2136_refusals_from_the_real_bind() {
    let _serial = serial();
    let Some(lab) = Lab::get("rfc2136_refusals") else {
        return;
    };
    let secret = std::fs::read_to_string(lab.var("LAB_TSIG_SECRET_FILE"))
        .unwrap()
        .trim()
        .to_string();
    let rndc_key = std::fs::read_to_string(lab.path("LAB_BIND_RNDC_KEY")).unwrap();
    let rndc_secret = rndc_key
        .split('"')
        .collect::<Vec<_>>()
        .windows(2)
        .find(|w| w[0].trim_end().ends_with("secret"))
        .map(|w| w[1].to_string())
        .expect("rndc.key has a secret");
    let rndc_name = rndc_key
        .split('"')
        .nth(1)
        .expect("rndc.key names its key")
        .to_string();
    let setup = Setup::new(lab, Backend::Bind, "faulttsig", &[]);
    let dir = setup.dir.path().to_path_buf();
    let real_secret_file = setup.lab.var("LAB_TSIG_SECRET_FILE").to_string();
    let tsig_name = setup.lab.var("LAB_TSIG_NAME").to_string();
    let bind = setup.lab.var("LAB_BIND_DNS").to_string();
    let owner = setup.owner.clone();
    let rec = record(0xb2);
    let add = |owner: &str| {
        vec![
            "dns".to_string(),
            "add".into(),
            "--provider".into(),
            "lab".into(),
            "--ttl".into(),
            "5".into(),
            owner.to_string(),
            rec.clone(),
        ]
    };
    let wrong_secret = "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE=";
    let wrong_file = secret_file(&dir, "wrong.secret", wrong_secret);
    let rndc_file = secret_file(&dir, "rndc.secret", &rndc_secret);
    let badsig = config_variant(&setup, "badsig.toml", |t| {
        quick(t.replace(&real_secret_file, &wrong_file.display().to_string()))
    });
    let refused = config_variant(&setup, "refused.toml", |t| {
        quick(
            t.replace(&real_secret_file, &rndc_file.display().to_string())
                .replace(
                    &format!("tsig_name = \"{tsig_name}\""),
                    &format!("tsig_name = \"{rndc_name}\""),
                ),
        )
    });
    let badkey = config_variant(&setup, "badkey.toml", |t| {
        quick(t.replace(
            &format!("tsig_name = \"{tsig_name}\""),
            "tsig_name = \"no-such-key.\"",
        ))
    });
    let good = config_variant(&setup, "good.toml", quick);
    let notauth_owner = format!(
        "_25._tcp.{}.{}.",
        setup.name,
        setup.lab.var("LAB_PDNS_ZONE")
    );
    let pdns_servers = [
        setup.lab.var("LAB_PDNS_DNS").to_string(),
        setup.lab.var("LAB_PDNS2_DNS").to_string(),
    ];

    let faketime = Command::new("faketime")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        faketime || std::env::var("CI").is_err(),
        "faketime is missing (tests/lab/install installs it)"
    );

    let cases: Vec<(&str, &Path, String, Vec<&str>, bool)> = vec![
        (
            "a wrong TSIG secret (BADSIG)",
            &badsig,
            owner.clone(),
            vec!["BADSIG", &bind, &tsig_name],
            false,
        ),
        (
            "an unknown TSIG key (BADKEY)",
            &badkey,
            owner.clone(),
            vec!["BADKEY", &bind, "no-such-key."],
            false,
        ),
        (
            "a key BIND knows but may not update with (REFUSED)",
            &refused,
            owner.clone(),
            vec!["REFUSED", &bind],
            false,
        ),
        (
            "a zone BIND does not serve (NOTAUTH)",
            &good,
            notauth_owner.clone(),
            vec!["NOTAUTH", &bind],
            false,
        ),
        (
            "the clock an hour behind (BADTIME)",
            &good,
            owner.clone(),
            vec!["BADTIME", &bind, "NTP"],
            true,
        ),
    ];
    for (what, cfg, at, says, skewed) in cases {
        if skewed && !faketime {
            eprintln!("{what}: skipped: no faketime here");
            continue;
        }
        let args = add(&at);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let start = Instant::now();
        let out = if skewed {
            Command::new("faketime")
                .arg("-f")
                .arg("-1h")
                .arg(env!("CARGO_BIN_EXE_danerollover"))
                .env("DANEROLLOVER_CONFIG", cfg)
                .args(&args)
                .output()
                .unwrap()
        } else {
            dr(cfg, &args).0
        };
        let took = start.elapsed();
        let mut says = says.clone();
        says.push("provider lab (rfc2136)");
        check(
            what,
            &out,
            took,
            &Expect {
                code: 1,
                within: Duration::from_secs(5),
                says: &says,
            },
            &[&secret, wrong_secret, &rndc_secret],
        );
        assert!(
            !text(&out).contains("attempts"),
            "{what}: retried\n{}",
            text(&out)
        );
        assert_served(&setup, &[], what);
        for s in &pdns_servers {
            assert!(served(s, &notauth_owner).is_empty(), "{what}: {s}");
        }
    }
    // The next clean run converges.
    let (out, _) = dr(
        &good,
        &add(&owner).iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_ok(&out, "the clean UPDATE");
    assert_served(&setup, std::slice::from_ref(&rec), "clean run");
    setup.dns("remove", &rec);
}

// ---------------------------------------------------------------------------------------
// One issued lineage through state-file faults, a full disk, servers down, two rollovers
// at once and SIGTERM during `rollover --wait`.

/// Restarts whatever a test stopped in the lab (`tests/lab/up` is idempotent), also when
/// the test fails half-way.
struct Restore<'a>(&'a Lab);

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        let up = Path::new(self.0.var("LAB_BIN")).join("up");
        let out = Command::new(up).arg(self.0.var("LAB_DIR")).output();
        if let Ok(out) = out
            && !out.status.success()
        {
            eprintln!("tests/lab/up failed:\n{}", text(&out));
        }
    }
}

fn lab_stop(lab: &Lab, daemon: &str) {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(". \"$0/lib.sh\" && lab_stop \"$1\" {daemon}"))
        .arg(lab.var("LAB_BIN"))
        .arg(lab.var("LAB_DIR"))
        .output()
        .unwrap();
    assert_ok(&out, &format!("stop {daemon}"));
}

/// What must not change when a run fails: the state file, where the live key points,
/// certbot's archive, and the records served.
#[derive(Debug, PartialEq)]
struct Snapshot {
    state: Vec<u8>,
    privkey_link: PathBuf,
    archive: Vec<String>,
    served: Vec<String>,
}

fn snapshot(setup: &Setup) -> Snapshot {
    let le = setup.lab.path("LAB_LETSENCRYPT_DIR");
    let mut archive: Vec<String> = std::fs::read_dir(le.join("archive").join(&setup.name))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    archive.sort();
    Snapshot {
        state: std::fs::read(setup.state_dir().join("state.json")).unwrap(),
        privkey_link: std::fs::read_link(le.join("live").join(&setup.name).join("privkey.pem"))
            .unwrap(),
        archive,
        served: setup.served_primary(),
    }
}

fn assert_consistent(setup: &Setup, what: &str) {
    assert_eq!(
        setup.live_record(),
        setup.live_key_record(),
        "{what}: live/privkey.pem does not match cert.pem"
    );
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(setup.state_dir().join("state.json")).unwrap())
            .unwrap();
    let intent = &state["lineages"][&setup.name]["intent"];
    assert!(
        intent.is_null(),
        "{what}: a step left in progress: {intent}"
    );
}

#[test]
fn lineage_faults_state_disk_servers_concurrency_and_sigterm() {
    let _serial = serial();
    let Some(lab) = Lab::get("lineage_faults") else {
        return;
    };
    let _restore = Restore(&lab);
    let mut setup = Setup::new(
        Lab::get("lineage_faults").unwrap(),
        Backend::Pdns,
        "faultlin",
        &[],
    );
    // A foreign record at the owner first (never touched by danerollover): the owner is
    // then not new, so the wait before a switch is 2 x TTL + margin (11 s), without the
    // zone's 60 s negative TTL.
    setup.dns("add", &record(0xee));
    assert_ok(&setup.issue(), "certbot certonly");
    let name = setup.name.clone();
    let state_path = setup.state_dir().join("state.json");
    let state_text = state_path.display().to_string();
    let rollover = ["rollover", name.as_str()];
    let (out, _) = dr(&setup.cfg, &rollover);
    assert_eq!(out.status.code(), Some(75), "baseline: {}", text(&out));
    assert_consistent(&setup, "baseline");

    // --- The state file corrupt, truncated, from a newer version: exit 2 naming the file,
    // the file left as it is, nothing else touched; the good file back converges.
    let good = std::fs::read(&state_path).unwrap();
    let version = format!("\"version\": {}", danerollover::store::VERSION);
    let good_text = String::from_utf8(good.clone()).unwrap();
    assert!(good_text.contains(&version), "{good_text}");
    let newer = good_text.replacen(&version, "\"version\": 99", 1);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "corrupt",
            b"{\"version\": 1, \"lineages\": {\"x\": [}}".to_vec(),
            "not JSON",
        ),
        ("truncated", good[..good.len() / 2].to_vec(), "not JSON"),
        ("binary garbage", vec![0xff, 0x00, 0x8b, 0x1f], "not UTF-8"),
        (
            "from a newer version",
            newer.into_bytes(),
            "upgrade danerollover",
        ),
    ];
    for (what, bytes, says) in cases {
        std::fs::write(&state_path, &bytes).unwrap();
        let before = snapshot(&setup);
        // `run` loads the state once for all lineages (a batched pass): bad input, exit 2.
        for (args, code) in [
            (&rollover[..], 2),
            (&["prepublish", &name][..], 2),
            (&["run"][..], 2),
        ] {
            let (out, took) = dr(&setup.cfg, args);
            check(
                &format!("state file {what}: {args:?}"),
                &out,
                took,
                &Expect {
                    code,
                    within: Duration::from_secs(10),
                    says: &[&state_text, says],
                },
                &[],
            );
            assert_eq!(
                snapshot(&setup),
                before,
                "state file {what}: {args:?} changed something"
            );
        }
        std::fs::write(&state_path, &good).unwrap();
        let (out, _) = dr(&setup.cfg, &rollover);
        assert_eq!(
            out.status.code(),
            Some(75),
            "{what}: restored: {}",
            text(&out)
        );
    }

    // --- A full disk when saving: the state directory on a full tmpfs, in a private mount
    // namespace. The old state file stays whole, no temporary file is left, exit 1 naming
    // the file; with space again the next run saves.
    let saved = setup.dir.path().join("saved-state");
    let cp = Command::new("cp")
        .arg("-a")
        .arg(setup.state_dir())
        .arg(&saved)
        .status()
        .unwrap();
    assert!(cp.success());
    let script = r#"
set -u
mount -t tmpfs -o size=512k tmpfs "$STATE" || exit 99
cp -a "$SAVED"/. "$STATE"/
dd if=/dev/zero of="$STATE/filler" bs=4k >/dev/null 2>&1
"$BIN" rollover "$NAME" >"$OUT/full.out" 2>&1; echo "full=$?"
cmp -s "$SAVED/state.json" "$STATE/state.json" && echo "state=unchanged"
ls -A "$STATE" | grep -c '\.tmp$' | sed 's/^/tmpfiles=/'
rm "$STATE/filler"
"$BIN" rollover "$NAME" >"$OUT/space.out" 2>&1; echo "space=$?"
cmp -s "$SAVED/state.json" "$STATE/state.json" || echo "state=saved"
"#;
    let start = Instant::now();
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "bash", "-c", script])
        .env("STATE", setup.state_dir())
        .env("SAVED", &saved)
        .env("OUT", setup.dir.path())
        .env("BIN", env!("CARGO_BIN_EXE_danerollover"))
        .env("NAME", &name)
        .env("DANEROLLOVER_CONFIG", &setup.cfg)
        .output()
        .unwrap();
    let report = text(&out);
    let full = std::fs::read_to_string(setup.dir.path().join("full.out")).unwrap_or_default();
    eprintln!(
        "--- full disk in {:.1?}:\n{report}\n{full}",
        start.elapsed()
    );
    assert_ne!(
        out.status.code(),
        Some(99),
        "cannot mount a tmpfs here: {report}"
    );
    assert!(report.contains("full=1"), "{report}\n{full}");
    assert!(
        full.contains(&state_text) && full.contains("No space left"),
        "{full}"
    );
    assert!(report.contains("state=unchanged"), "{report}");
    assert!(report.contains("tmpfiles=0"), "{report}");
    assert!(report.contains("space=75"), "{report}");
    assert!(report.contains("state=saved"), "{report}");
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_consistent(&setup, "after the full disk");

    // --- Convergence (the wait after issuance), then two rollovers at once: exactly one
    // switches.
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        // `run` records what it sees (a dry run saves nothing), the dry run says when.
        // (exit 1 while the resolver still caches "no TLSA here": a danger it reports)
        let _ = dr(&setup.cfg, &["run"]);
        let (out, _) = dr(&setup.cfg, &["rollover", "--dry-run", &name]);
        if out.status.code() == Some(0) {
            break;
        }
        assert!(Instant::now() < deadline, "never safe: {}", text(&out));
        std::thread::sleep(Duration::from_secs(2));
    }
    let before = snapshot(&setup);
    let spawn = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_danerollover"))
            .env("DANEROLLOVER_CONFIG", &setup.cfg)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let start = Instant::now();
    let a = spawn(&rollover);
    let b = spawn(&rollover);
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let took = start.elapsed();
    eprintln!("--- two at once in {took:.1?}:\n{}\n{}", text(&a), text(&b));
    let mut codes = vec![a.status.code(), b.status.code()];
    codes.sort();
    assert!(
        codes == vec![Some(0), Some(75)] || codes == vec![Some(0), Some(1)],
        "two rollovers: {codes:?}\n{}\n{}",
        text(&a),
        text(&b)
    );
    let loser = if a.status.code() == Some(0) { &b } else { &a };
    if loser.status.code() == Some(1) {
        assert!(
            text(loser).contains("another danerollover"),
            "{}",
            text(loser)
        );
    }
    assert!(took < Duration::from_secs(120), "{took:?}");
    let after = snapshot(&setup);
    let certs = |s: &Snapshot| s.archive.iter().filter(|f| f.starts_with("cert")).count();
    assert_eq!(
        certs(&after),
        certs(&before) + 1,
        "exactly one renewal: {:?} -> {:?}",
        before.archive,
        after.archive
    );
    assert_ne!(after.privkey_link, before.privkey_link);
    assert_consistent(&setup, "after two rollovers");

    // --- SIGTERM during `rollover --wait`: a clean exit (75, saying so) in bounded time,
    // the lock released, nothing changed.
    let before = snapshot(&setup);
    let child = spawn(&["rollover", "--wait", "--max-wait", "120s", &name]);
    std::thread::sleep(Duration::from_secs(3));
    let pid = child.id().to_string();
    let start = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    let took = start.elapsed();
    check(
        "SIGTERM during rollover --wait",
        &out,
        took,
        &Expect {
            code: 75,
            within: Duration::from_secs(5),
            says: &["stopped by SIGTERM"],
        },
        &[],
    );
    let after = snapshot(&setup);
    assert_eq!(
        (&after.privkey_link, &after.archive),
        (&before.privkey_link, &before.archive),
        "SIGTERM"
    );
    // The lock is free: the next run does not wait for it.
    let (out, took) = dr(&setup.cfg, &rollover);
    assert_eq!(out.status.code(), Some(75), "after SIGTERM: {}", text(&out));
    assert!(took < Duration::from_secs(10), "after SIGTERM: {took:?}");
    assert_consistent(&setup, "after SIGTERM");

    // --- An authoritative server down: not safe, naming it; nothing changes.
    lab_stop(&setup.lab, "pdns2");
    let before = snapshot(&setup);
    let (out, took) = dr(&setup.cfg, &rollover);
    check(
        "pdns2 down",
        &out,
        took,
        &Expect {
            code: 75,
            within: Duration::from_secs(30),
            says: &[setup.lab.var("LAB_PDNS2_DNS")],
        },
        &[],
    );
    let after = snapshot(&setup);
    assert_eq!(
        (&after.privkey_link, &after.archive, &after.served),
        (&before.privkey_link, &before.archive, &before.served),
        "pdns2 down"
    );
    drop(Restore(&setup.lab));

    // --- The validating resolver down: not safe, naming it.
    lab_stop(&setup.lab, "unbound");
    let (out, took) = dr(&setup.cfg, &rollover);
    check(
        "unbound down",
        &out,
        took,
        &Expect {
            code: 75,
            within: Duration::from_secs(30),
            says: &[setup.lab.var("LAB_RESOLVER")],
        },
        &[],
    );
    assert_eq!(snapshot(&setup).privkey_link, before.privkey_link);
    drop(Restore(&setup.lab));

    // Both back: the next clean look converges (no danger, every server answers).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (out, _) = dr(&setup.cfg, &["status", &name]);
        if out.status.code() == Some(0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no convergence after the servers came back: {}",
            text(&out)
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}
