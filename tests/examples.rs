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

/// The Debian package, end to end on this machine (root only; CI runs as root): built with
/// `packaging/build-deb --profile dev --fast` (fast compression) from the binary `cargo test` already built, installed
/// with `dpkg -i`, checked (files, modes, man pages, completions, the hardened units through
/// `systemd-analyze verify` and `systemd-analyze security --offline=true`, the monitoring
/// group), and purged, after which nothing of it is left.
#[test]
fn debian_package_installs_checks_and_purges() {
    use std::process::Command;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if effective_uid() != 0 {
        assert!(!ci, "the package test needs root under CI");
        eprintln!("skipped: the package test installs into the system and needs root");
        return;
    }
    let sh = |script: &str| -> (bool, String) {
        let out = Command::new("bash")
            .args(["-c", script])
            .current_dir(root)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    let (installed, _) =
        sh("dpkg-query -W -f='${db:Status-Status}' danerollover | grep -qx installed");
    assert!(
        !installed,
        "a danerollover package is installed already: purge it first (dpkg --purge danerollover)"
    );

    let t = std::time::Instant::now();
    let (ok, out) = sh("packaging/build-deb --profile dev --fast 2>&1");
    assert!(ok, "packaging/build-deb failed:\n{out}");
    eprintln!("package built in {:.1} s", t.elapsed().as_secs_f64());
    let deb = out
        .lines()
        .rev()
        .find(|l| l.ends_with(".deb"))
        .unwrap_or_else(|| panic!("no .deb path in:\n{out}"))
        .trim()
        .to_string();

    // Purge whatever happens below.
    struct Purge;
    impl Drop for Purge {
        fn drop(&mut self) {
            let _ = std::process::Command::new("dpkg")
                .args(["--purge", "danerollover"])
                .output();
        }
    }
    let purge = Purge;
    let (ok, out) = sh(&format!("dpkg -i {deb} 2>&1"));
    assert!(ok, "dpkg -i failed:\n{out}");

    // Files and modes.
    let mode = |p: &str| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{p}: {e}"))
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("/usr/bin/danerollover"), 0o755);
    assert_eq!(mode("/etc/danerollover/config.toml"), 0o600);
    assert_eq!(mode("/var/lib/danerollover"), 0o700);
    assert_eq!(mode("/etc/danerollover"), 0o700);
    assert_eq!(
        mode("/etc/letsencrypt/renewal-hooks/deploy/danerollover"),
        0o755
    );
    for f in [
        "/lib/systemd/system/danerollover.service",
        "/lib/systemd/system/danerollover.timer",
        "/usr/share/bash-completion/completions/danerollover",
        "/usr/share/zsh/vendor-completions/_danerollover",
        "/usr/share/fish/vendor_completions.d/danerollover.fish",
    ] {
        assert!(Path::new(f).is_file(), "{f} not installed");
    }
    let (ok, conffiles) = sh("cat /var/lib/dpkg/info/danerollover.conffiles");
    assert!(
        ok && conffiles.contains("/etc/danerollover/config.toml"),
        "{conffiles}"
    );
    // One man page per command, generated from the command line.
    let help = Command::new("/usr/bin/danerollover")
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout).to_string();
    let commands: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(
        commands.contains(&"rollover") && commands.contains(&"doctor"),
        "{help}"
    );
    for c in &commands {
        let page = format!("/usr/share/man/man1/danerollover-{c}.1.gz");
        assert!(Path::new(&page).is_file(), "{page} missing");
    }
    let (ok, page) = sh("MANPAGER=cat MANWIDTH=100 man danerollover-rollover 2>&1");
    assert!(
        ok && page.contains("max-wait"),
        "man danerollover-rollover:\n{page}"
    );
    let (ok, page) = sh("MANPAGER=cat man danerollover 2>&1");
    assert!(
        ok && page.contains("danerollover-rollover(1)"),
        "man danerollover:\n{page}"
    );
    // Bash completes the commands.
    let (ok, words) = sh(
        "source /usr/share/bash-completion/completions/danerollover; \
         COMP_WORDS=(danerollover roll); COMP_CWORD=1; COMP_LINE='danerollover roll'; COMP_POINT=17; \
         _danerollover danerollover roll danerollover; echo \"${COMPREPLY[*]}\"",
    );
    assert!(
        ok && words.trim() == "rollover",
        "bash completion: {words:?}"
    );
    let zsh = std::fs::read_to_string("/usr/share/zsh/vendor-completions/_danerollover").unwrap();
    let fish =
        std::fs::read_to_string("/usr/share/fish/vendor_completions.d/danerollover.fish").unwrap();
    assert!(zsh.starts_with("#compdef danerollover") && zsh.contains("doctor"));
    assert!(fish.contains("complete -c danerollover") && fish.contains("doctor"));

    // The units: verify clean, exposure at most 5.0, the timer enabled.
    let (ok, out) = sh(
        "systemd-analyze verify /lib/systemd/system/danerollover.service /lib/systemd/system/danerollover.timer 2>&1",
    );
    assert!(
        ok && out.trim().is_empty(),
        "systemd-analyze verify:\n{out}"
    );
    let (_, out) =
        sh("systemd-analyze security --offline=true /lib/systemd/system/danerollover.service 2>&1");
    let exposure: f64 = out
        .lines()
        .find_map(|l| l.split("danerollover.service: ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{out}"));
    eprintln!("systemd-analyze security: exposure {exposure}");
    assert!(exposure <= 5.0, "exposure {exposure} > 5.0:\n{out}");
    assert!(
        Path::new("/etc/systemd/system/timers.target.wants/danerollover.timer").exists(),
        "the timer is not enabled"
    );

    // doctor finds what the package installed: the deploy hook and the enabled timer.
    let (_, out) = sh("danerollover doctor --json");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    for want in ["deploy hook", "timer", "config"] {
        let it = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["item"] == want)
            .unwrap_or_else(|| panic!("no {want} in {v:#}"));
        assert_eq!(it["level"], "ok", "{v:#}");
    }

    // Monitoring: the group exists; by default nobody else reads anything; after the
    // README's opt-in, a member of the group (not root) runs `status` and `config`
    // without access to the secrets.
    let (ok, _) = sh("getent group danerollover");
    assert!(ok, "no danerollover group");
    let (ok, _) = sh(
        "install -m 0600 /dev/null /etc/danerollover/pdns.key && echo secret > /etc/danerollover/pdns.key && \
        cat >> /etc/danerollover/config.toml <<'E'\n[providers.home]\ntype = \"powerdns\"\nurl = \"http://127.0.0.1:1\"\napi_key_file = \"/etc/danerollover/pdns.key\"\nE",
    );
    assert!(ok);
    let as_monitor = "setpriv --reuid=65534 --regid=$(getent group danerollover | cut -d: -f3) --clear-groups --";
    let (ok, out) = sh(&format!("{as_monitor} danerollover status 2>&1"));
    assert!(
        !ok && out.contains("/etc/danerollover/config.toml"),
        "{out}"
    );
    let (ok, out) = sh(
        "chgrp danerollover /etc/danerollover /etc/danerollover/config.toml /var/lib/danerollover && \
         chmod 0750 /etc/danerollover && chmod 0640 /etc/danerollover/config.toml && \
         chmod 2750 /var/lib/danerollover",
    );
    assert!(ok, "{out}");
    let (ok, out) = sh(&format!("{as_monitor} danerollover status 2>&1"));
    assert!(ok, "status as a member of the danerollover group:\n{out}");
    let (_, out) = sh(&format!("{as_monitor} cat /etc/danerollover/pdns.key 2>&1"));
    assert!(
        !out.contains("secret"),
        "the monitoring user read the secret"
    );

    // Purge: nothing left.
    drop(purge);
    for p in [
        "/usr/bin/danerollover",
        "/etc/danerollover",
        "/var/lib/danerollover",
        "/etc/letsencrypt/renewal-hooks/deploy/danerollover",
        "/lib/systemd/system/danerollover.service",
        "/etc/systemd/system/timers.target.wants/danerollover.timer",
        "/usr/share/man/man1/danerollover.1.gz",
    ] {
        assert!(
            !Path::new(p).exists() && std::fs::symlink_metadata(p).is_err(),
            "{p} left after purge"
        );
    }
    let (ok, _) = sh("getent group danerollover");
    assert!(!ok, "the danerollover group is left after purge");
}

fn effective_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    // The owner of a file this process just created is its effective uid.
    let dir = std::env::temp_dir().join(format!("danerollover-euid-{}", std::process::id()));
    std::fs::write(&dir, b"").unwrap();
    let uid = std::fs::metadata(&dir).unwrap().uid();
    let _ = std::fs::remove_file(&dir);
    uid
}

#[test]
fn packaged_config_parses_and_manages_nothing_yet() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/config.toml");
    let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.lineages.is_empty() && config.providers.is_empty());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("danerollover init"),
        "the file says how to start"
    );
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
