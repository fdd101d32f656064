//! The `exec` provider (a program given the change as JSON on stdin) and the `manual`
//! provider (records printed for a person).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use danerollover::config::ProviderConfig;
use danerollover::provider::manual::Manual;
use danerollover::provider::{self, Change, Provider};
use danerollover::tlsa::TlsaRecord;
use serde_json::json;

fn rec(n: u8) -> TlsaRecord {
    format!("3 1 1 {}", format!("{n:02x}").repeat(32))
        .parse()
        .unwrap()
}

fn change() -> Change {
    Change {
        zone: "example.com.".into(),
        owner: "_25._tcp.mail.example.com.".into(),
        ttl: 300,
        add: vec![rec(2)],
        remove: vec![rec(1)],
    }
}

fn exec(argv: &[&str], timeout: Duration) -> Box<dyn Provider> {
    provider::build(
        "script",
        &ProviderConfig::Exec {
            command: argv.iter().map(|s| s.to_string()).collect(),
            timeout,
        },
        Duration::from_secs(5),
    )
    .unwrap()
}

#[tokio::test]
async fn exec_gets_the_change_as_json_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("stdin.json");
    let args = dir.path().join("args");
    // argv, no shell on our side: the test's program happens to be sh.
    let p = exec(
        &[
            "/bin/sh",
            "-c",
            "cat > \"$1\"; printf '%s\\n' \"$#\" > \"$2\"",
            "sh",
            input.to_str().unwrap(),
            args.to_str().unwrap(),
        ],
        Duration::from_secs(10),
    );
    assert_eq!(p.kind(), "exec");
    p.apply(&change()).await.unwrap();
    let got: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&input).unwrap()).unwrap();
    assert_eq!(
        got,
        json!({
            "action": "apply",
            "zone": "example.com.",
            "owner": "_25._tcp.mail.example.com.",
            "ttl": 300,
            "add": [rec(2).to_string()],
            "remove": [rec(1).to_string()],
        })
    );
    // The arguments arrive as given (two of them), not re-split by a shell.
    assert_eq!(std::fs::read_to_string(&args).unwrap().trim(), "2");
    assert!(
        p.read("example.com.", "_25._tcp.mail.example.com.")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn exec_failure_carries_status_and_stderr() {
    let p = exec(
        &[
            "/bin/sh",
            "-c",
            "cat >/dev/null; echo 'zone example.com not found' >&2; exit 3",
        ],
        Duration::from_secs(10),
    );
    let err = p.apply(&change()).await.unwrap_err().to_string();
    assert!(err.contains("provider script (exec)"), "{err}");
    assert!(err.contains("_25._tcp.mail.example.com."), "{err}");
    assert!(err.contains("status 3"), "{err}");
    assert!(err.contains("zone example.com not found"), "{err}");
}

#[tokio::test]
async fn exec_stderr_in_the_error_is_bounded() {
    let p = exec(
        &[
            "/bin/sh",
            "-c",
            "i=0; while [ $i -lt 3000 ]; do echo \"line $i of noise\" >&2; i=$((i+1)); done; echo LAST-LINE >&2; exit 1",
        ],
        Duration::from_secs(20),
    );
    let err = p.apply(&change()).await.unwrap_err().to_string();
    assert!(err.len() < 2500, "{} bytes", err.len());
    assert!(err.contains("LAST-LINE"), "the end of stderr is kept");
}

#[tokio::test]
async fn exec_timeout_stops_the_program() {
    let p = exec(&["/bin/sleep", "30"], Duration::from_secs(1));
    let start = Instant::now();
    let err = p.apply(&change()).await.unwrap_err().to_string();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(err.contains("did not finish within 1s"), "{err}");
}

#[tokio::test]
async fn exec_missing_program_is_named() {
    let p = exec(&["/nonexistent/dns-hook"], Duration::from_secs(5));
    let err = p.apply(&change()).await.unwrap_err().to_string();
    assert!(
        err.contains("cannot run") && err.contains("/nonexistent/dns-hook"),
        "{err}"
    );
}

#[tokio::test]
async fn exec_is_not_run_for_an_empty_change() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let p = exec(
        &[
            "/bin/sh",
            "-c",
            "touch \"$1\"",
            "sh",
            marker.to_str().unwrap(),
        ],
        Duration::from_secs(5),
    );
    let mut c = change();
    c.add.clear();
    c.remove.clear();
    p.apply(&c).await.unwrap();
    assert!(!marker.exists());
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn manual_prints_exactly_the_records_in_zone_file_form() {
    let out = Shared::default();
    let p = Manual::with_writer("by-hand", Box::new(out.clone()));
    assert_eq!(p.kind(), "manual");
    p.apply(&change()).await.unwrap();
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let expected = format!(
        "; provider by-hand (manual): change these TLSA records in zone example.com. by hand\n\
         ; add:\n\
         _25._tcp.mail.example.com. 300 IN TLSA {}\n\
         ; remove:\n\
         _25._tcp.mail.example.com. 300 IN TLSA {}\n",
        rec(2),
        rec(1)
    );
    assert_eq!(text, expected);
    assert!(
        p.read("example.com.", "x.example.com.")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn manual_prints_only_the_sections_it_needs() {
    let out = Shared::default();
    let p = Manual::with_writer("by-hand", Box::new(out.clone()));
    let mut c = change();
    c.remove.clear();
    p.apply(&c).await.unwrap();
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("; add:\n"), "{text}");
    assert!(!text.contains("; remove:"), "{text}");
    let records: Vec<&str> = text.lines().filter(|l| !l.starts_with(';')).collect();
    assert_eq!(
        records,
        [format!("_25._tcp.mail.example.com. 300 IN TLSA {}", rec(2))]
    );
}

#[test]
fn build_refuses_a_secret_file_others_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, "sup3r-s3cret-value").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = provider::build(
        "home",
        &ProviderConfig::Powerdns {
            url: "http://127.0.0.1:8081".into(),
            api_key_file: Some(key.clone()),
            api_key_env: None,
            server_id: "localhost".into(),
        },
        Duration::from_secs(5),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("provider home") && err.contains("chmod 600"),
        "{err}"
    );
    assert!(!err.contains("sup3r-s3cret-value"), "{err}");
}

#[test]
fn build_reads_secrets_from_env_vars() {
    // SAFETY: this test binary sets this variable only here.
    unsafe { std::env::set_var("DANEROLLOVER_TEST_TOKEN_EXEC", "env-token-value") };
    let p = provider::build(
        "cf",
        &ProviderConfig::Cloudflare {
            token_file: None,
            token_env: Some("DANEROLLOVER_TEST_TOKEN_EXEC".into()),
            url: None,
        },
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(p.kind(), "cloudflare");
    let err = provider::build(
        "cf",
        &ProviderConfig::Cloudflare {
            token_file: None,
            token_env: Some("DANEROLLOVER_TEST_UNSET_VARIABLE".into()),
            url: None,
        },
        Duration::from_secs(5),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("DANEROLLOVER_TEST_UNSET_VARIABLE"), "{err}");
}

#[test]
fn build_makes_the_dns_update_back_ends() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("s");
    std::fs::write(&secret, "abcdefabcdef").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cases = [
        (
            ProviderConfig::Route53 {
                access_key_id: "AKIAEXAMPLE".into(),
                secret_access_key_file: Some(secret.clone()),
                secret_access_key_env: None,
                region: Some("eu-west-1".into()),
                hosted_zone_id: None,
                url: None,
            },
            "route53",
        ),
        (
            ProviderConfig::Gandi {
                token_file: Some(secret.clone()),
                token_env: None,
            },
            "gandi",
        ),
        (
            ProviderConfig::Ovh {
                endpoint: "ovh-eu".into(),
                application_key: "ak".into(),
                application_secret_file: Some(secret.clone()),
                application_secret_env: None,
                consumer_key_file: Some(secret.clone()),
                consumer_key_env: None,
            },
            "ovh",
        ),
    ];
    // Built only: their read lists the RRset at the real service (tests/provider_services.rs
    // reads through fakes on loopback).
    for (config, kind) in cases {
        let p = provider::build("x", &config, Duration::from_secs(5)).unwrap();
        assert_eq!(p.kind(), kind);
    }
}
