//! The files in examples/ and hooks/ stay usable: the example configuration parses with the
//! documented defaults, and the deploy hook is an executable script that runs `hook`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use danerollover::config::Config;

#[test]
fn example_config_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/config.toml");
    let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let lineage = &config.lineages["mail.example.com"];
    assert_eq!(lineage.provider, "home");
    assert_eq!(lineage.tlsa, vec!["_25._tcp.mail.example.com"]);
    assert_eq!(config.dns.ttl_factor, 2);
    assert_eq!(config.dns.margin.as_secs(), 60);
}

#[test]
fn deploy_hook_is_executable_and_runs_hook() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks/danerollover-deploy");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert!(
        mode & 0o111 != 0,
        "hooks/danerollover-deploy is not executable"
    );
    // With DANEROLLOVER pointing at `echo`, the hook prints the arguments it would run.
    let out = std::process::Command::new(&path)
        .env("DANEROLLOVER", "echo")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "hook");
}

/// promtool, or None (with a note) when it is missing outside CI; under CI
/// (`CI=true`, where tests/lab/install puts it there through Debian's prometheus package)
/// a missing promtool is a failure.
fn promtool(test: &str) -> Option<std::process::Command> {
    let found = std::process::Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(std::process::Command::new("promtool"));
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "{test}: promtool is missing; tests/lab/install installs it (Debian package prometheus)"
    );
    eprintln!("{test}: skipped: no promtool (tests/lab/install installs it)");
    None
}

/// The example alerting rules load (`promtool check rules`), their unit tests pass
/// (`promtool test rules`: the alerts fire on the series `check` and `check --mx` write,
/// with the labels and texts expected), and every metric they name is one the program
/// writes.
#[test]
fn prometheus_alert_rules_check_and_their_tests_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/prometheus");
    let rules = dir.join("danerollover-alerts.yml");
    let text = std::fs::read_to_string(&rules).unwrap();
    let sources: String = ["src/probe/report.rs", "src/probe/mx_report.rs"]
        .iter()
        .map(|p| std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(p)).unwrap())
        .collect();
    let mut names: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("danerollover_"))
        .collect();
    names.sort();
    names.dedup();
    assert!(names.len() >= 10, "{names:?}");
    for n in &names {
        assert!(
            sources.contains(&format!("\"{n}\"")),
            "examples/prometheus/danerollover-alerts.yml names {n}, which no check writes"
        );
    }

    let Some(mut check) = promtool("prometheus_alert_rules_check_and_their_tests_pass") else {
        return;
    };
    let out = check.args(["check", "rules"]).arg(&rules).output().unwrap();
    assert!(
        out.status.success(),
        "promtool check rules: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new("promtool")
        .current_dir(&dir)
        .args(["test", "rules", "danerollover-alerts.test.yml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool test rules: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
