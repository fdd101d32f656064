//! `check` without the lab: the concurrent observation against local TLS / STARTTLS test
//! servers with a fake DNS, and the command line's failure modes.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use danerollover::dns::{DnsError, Validated, Validation};
use danerollover::probe::check::{CheckDns, observe};
use danerollover::probe::report::{self, Status, Target, Verdict};
use danerollover::probe::testserver::{Behaviour, TestCert, TestServer};
use danerollover::probe::{ProbeOptions, Protocol};
use danerollover::tlsa::TlsaRecord;

/// DNS as a table; owners or hosts not in it hang forever (to test the timeouts).
#[derive(Default)]
struct FakeDns {
    tlsa: HashMap<String, Validated>,
    addrs: HashMap<String, Vec<IpAddr>>,
}

#[async_trait::async_trait]
impl CheckDns for FakeDns {
    async fn validated_tlsa(&self, owner: &str) -> Validated {
        match self.tlsa.get(owner) {
            Some(v) => v.clone(),
            None => std::future::pending().await,
        }
    }
    async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, DnsError> {
        match self.addrs.get(host) {
            Some(a) => Ok(a.clone()),
            None => std::future::pending().await,
        }
    }
}

fn secure(records: Vec<TlsaRecord>) -> Validated {
    Validated {
        state: Validation::Secure,
        records,
        ttl: Some(60),
        detail: None,
    }
}

fn target(host: &str, port: u16, protocol: Protocol) -> Target {
    Target {
        owner: format!("_{port}._tcp.{host}."),
        host: host.to_string(),
        port,
        protocol,
        address: None,
        lineage: None,
        next_key: None,
    }
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_wrong_and_expiring_against_a_local_smtp_server() {
    let cert = TestCert::new(&["mail.example.test"], Duration::from_secs(90 * 86400));
    let srv = TestServer::start("127.0.0.1:0", Behaviour::Smtp, &cert)
        .await
        .unwrap();
    let t = target("mail.example.test", srv.addr.port(), Protocol::Smtp);
    let other = TestCert::new(&["mail.example.test"], Duration::from_secs(90 * 86400));
    let opts = ProbeOptions::new(Duration::from_secs(5));

    let run = |records: Vec<TlsaRecord>| {
        let mut dns = FakeDns::default();
        dns.tlsa.insert(t.owner.clone(), secure(records));
        dns.addrs.insert(t.host.clone(), vec![ip("127.0.0.1")]);
        let dns: Arc<dyn CheckDns> = Arc::new(dns);
        let t = t.clone();
        let opts = opts.clone();
        async move { observe(dns, vec![t], &opts).await }
    };

    // The right key: OK; the certificate lasts 90 days.
    let obs = run(vec![cert.dane_ee()]).await;
    let rep = report::build(&obs, 14, now());
    assert_eq!(rep.status, Status::Ok, "{}", report::render_text(&rep));
    let a = &rep.owners[0].addresses[0];
    assert_eq!(a.matched, vec![cert.dane_ee()]);
    assert!(matches!(a.days_left, Some(89..=90)), "{:?}", a.days_left);
    assert!(
        rep.summary.contains("1/1 addresses match 3 1 1"),
        "{}",
        rep.summary
    );

    // 90 days left under --warn-days 100: WARNING.
    let rep = report::build(&obs, 100, now());
    assert_eq!(rep.status, Status::Warning, "{}", rep.summary);

    // Another key only: CRITICAL, and that record is stale.
    let obs = run(vec![other.dane_ee()]).await;
    let rep = report::build(&obs, 14, now());
    assert_eq!(rep.status, Status::Critical, "{}", rep.summary);
    assert_eq!(rep.owners[0].stale, vec![other.dane_ee()]);

    // Both: OK (one match is enough), the other is stale.
    let obs = run(vec![other.dane_ee(), cert.dane_ee()]).await;
    let rep = report::build(&obs, 14, now());
    assert_eq!(rep.status, Status::Ok, "{}", rep.summary);
    assert_eq!(rep.owners[0].stale, vec![other.dane_ee()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lived_certificate_warns() {
    let cert = TestCert::new(&["mail.example.test"], Duration::from_secs(3 * 86400));
    let srv = TestServer::start("127.0.0.1:0", Behaviour::Tls, &cert)
        .await
        .unwrap();
    let t = target("mail.example.test", srv.addr.port(), Protocol::Tls);
    let mut dns = FakeDns::default();
    dns.tlsa
        .insert(t.owner.clone(), secure(vec![cert.dane_ee()]));
    dns.addrs.insert(t.host.clone(), vec![ip("127.0.0.1")]);
    let obs = observe(
        Arc::new(dns),
        vec![t],
        &ProbeOptions::new(Duration::from_secs(5)),
    )
    .await;
    let rep = report::build(&obs, 14, now());
    assert_eq!(rep.status, Status::Warning, "{}", rep.summary);
    assert_eq!(rep.owners[0].addresses[0].verdict, Verdict::Expiring);
    let days = rep.owners[0].addresses[0].days_left;
    assert!(matches!(days, Some(2..=3)), "{days:?}");
    assert!(
        rep.summary.contains(&format!(
            "certificate expires in {} days",
            days.unwrap_or(-1)
        )),
        "{}",
        rep.summary
    );
}

/// A live server, a listener that never answers and an address nothing listens on, all
/// on the same port: the check ends after about one timeout, UNKNOWN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_and_silent_addresses_never_hang_the_check() {
    let cert = TestCert::new(&["mail.example.test"], Duration::from_secs(90 * 86400));
    let (live, silent) = loop {
        let live = TestServer::start("127.0.0.1:0", Behaviour::Smtp, &cert)
            .await
            .unwrap();
        let port = live.addr.port();
        if let Ok(silent) =
            TestServer::start(&format!("127.0.0.2:{port}"), Behaviour::Silent, &cert).await
        {
            break (live, silent);
        }
    };
    let port = live.addr.port();
    let t = target("mail.example.test", port, Protocol::Smtp);
    let mut dns = FakeDns::default();
    dns.tlsa
        .insert(t.owner.clone(), secure(vec![cert.dane_ee()]));
    dns.addrs.insert(
        t.host.clone(),
        vec![ip("127.0.0.1"), silent.addr.ip(), ip("127.0.10.99")],
    );
    // Twenty more owners whose DNS never answers: concurrency keeps this at one timeout.
    let mut targets = vec![t];
    for i in 0..20 {
        targets.push(target(&format!("h{i}.example.test"), 25, Protocol::Smtp));
    }
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let obs = observe(Arc::new(dns), targets, &ProbeOptions::new(timeout)).await;
    let took = started.elapsed();
    eprintln!(
        "check of 21 owners (1 live, 1 silent, 1 refused address; 20 hanging DNS) with a 2 s timeout: {took:?}"
    );
    assert!(took >= timeout, "{took:?}");
    assert!(took < timeout + Duration::from_millis(1500), "{took:?}");

    let rep = report::build(&obs, 14, now());
    let verdicts: Vec<(SocketAddr, Verdict)> = rep.owners[0]
        .addresses
        .iter()
        .map(|a| (SocketAddr::new(a.address, port), a.verdict))
        .collect();
    assert_eq!(
        verdicts,
        vec![
            (live.addr, Verdict::Match),
            (silent.addr, Verdict::Unreachable),
            (
                SocketAddr::new(ip("127.0.10.99"), port),
                Verdict::Unreachable
            ),
        ]
    );
    let errors: Vec<&str> = rep.owners[0]
        .addresses
        .iter()
        .filter_map(|a| a.error.as_deref())
        .collect();
    assert!(
        errors[0].contains("no answer within 2s (SMTP dialogue)"),
        "{errors:?}"
    );
    assert!(errors[1].contains("cannot connect"), "{errors:?}");
    assert_eq!(rep.owners[1].verdict, Verdict::DnsFailed);
    assert!(
        rep.owners[1]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("no answer within 2s")),
        "{:?}",
        rep.owners[1].error
    );
    assert_eq!(rep.status, Status::Unknown, "{}", rep.summary);
    assert_eq!(rep.status.code(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_without_starttls_is_critical() {
    let cert = TestCert::new(&["mail.example.test"], Duration::from_secs(90 * 86400));
    let srv = TestServer::start("127.0.0.1:0", Behaviour::SmtpNoStarttls, &cert)
        .await
        .unwrap();
    let t = target("mail.example.test", srv.addr.port(), Protocol::Smtp);
    let mut dns = FakeDns::default();
    dns.tlsa
        .insert(t.owner.clone(), secure(vec![cert.dane_ee()]));
    dns.addrs.insert(t.host.clone(), vec![ip("127.0.0.1")]);
    let obs = observe(
        Arc::new(dns),
        vec![t],
        &ProbeOptions::new(Duration::from_secs(5)),
    )
    .await;
    let rep = report::build(&obs, 14, now());
    assert_eq!(rep.status, Status::Critical, "{}", rep.summary);
    assert_eq!(rep.owners[0].addresses[0].verdict, Verdict::TlsFailed);
    assert!(
        rep.owners[0].addresses[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("does not offer STARTTLS"))
    );
}

fn cli() -> Command {
    Command::cargo_bin("danerollover").unwrap()
}

#[test]
fn cli_rejects_an_address_as_target() {
    let out = cli()
        .args([
            "--config",
            "/nonexistent/c.toml",
            "check",
            "--target",
            "127.0.0.1:25",
        ])
        .output()
        .unwrap();
    // The explicitly named configuration is missing: bad input before any probe.
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "").unwrap();
    let out = cli()
        .arg("--config")
        .arg(&cfg)
        .args(["check", "--target", "127.0.0.1:25"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("host name"), "{err}");
}

#[test]
fn cli_without_lineages_or_with_an_unknown_one() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "").unwrap();
    let out = cli()
        .arg("--config")
        .arg(&cfg)
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to check"));
    std::fs::write(
        &cfg,
        "[providers.p]\ntype = \"manual\"\n[lineages.\"a.example\"]\nprovider = \"p\"\ntlsa = [\"_25._tcp.a.example\"]\n",
    )
    .unwrap();
    let out = cli()
        .arg("--config")
        .arg(&cfg)
        .args(["check", "b.example"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("b.example") && err.contains("a.example"),
        "{err}"
    );
}

/// With a resolver that does not answer, the check is UNKNOWN (3), within the timeout,
/// and still writes JSON and metrics.
#[test]
fn cli_dead_resolver_is_unknown_with_json_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "[dns]\nvalidating_resolver = \"127.0.0.1:1\"\ntimeout = \"1s\"\n",
    )
    .unwrap();
    let metrics = dir.path().join("check.prom");
    let started = Instant::now();
    let out = cli()
        .arg("--config")
        .arg(&cfg)
        .args([
            "check",
            "--target",
            "mail.example.test:25",
            "--json",
            "--timeout",
            "2s",
            "--metrics",
        ])
        .arg(&metrics)
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "UNKNOWN");
    assert_eq!(v["owners"][0]["owner"], "_25._tcp.mail.example.test.");
    // The servers' view: unknown too (nothing answers), never OK.
    let servers = &v["owners"][0]["servers"];
    assert_eq!(servers["verdict"], "servers_unknown", "{v:#}");
    assert!(
        servers["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{v:#}"
    );
    assert_eq!(v["owners"][0]["disagreement"], serde_json::Value::Null);
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .starts_with("DANE UNKNOWN - ")
    );
    let m = std::fs::read_to_string(&metrics).unwrap();
    assert!(m.contains("danerollover_check_status 3\n"), "{m}");
    assert!(
        m.contains("danerollover_check_servers_signed{owner=\"_25._tcp.mail.example.test.\"} 0\n"),
        "{m}"
    );
    assert!(
        m.contains("danerollover_check_last_run_timestamp_seconds "),
        "{m}"
    );
}

/// `check --mx` refuses what is not a mail domain and options that need --mx, before any
/// lookup (exit 2, the option named).
#[test]
fn check_mx_usage_errors_name_the_option() {
    for (args, says) in [
        (vec!["check", "--mx", "192.0.2.1"], "--mx"),
        (vec!["check", "--mx", "a..b"], "--mx"),
        (vec!["check", "--days", "30"], "--days"),
        (vec!["check", "--both-algorithms"], "--both-algorithms"),
        (
            vec![
                "check",
                "--mx",
                "example.com",
                "--target",
                "mail.example.com:25",
            ],
            "--target",
        ),
    ] {
        let out = assert_cmd::Command::cargo_bin("danerollover")
            .unwrap()
            .args(["--config", "/nonexistent/danerollover.toml"])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
