//! The rollover commands' edges that need no lab: the deploy hook without a lineage, for a
//! lineage the configuration does not manage, and unknown lineages.

mod sandbox;

use assert_cmd::Command;

fn config(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("config.toml");
    std::fs::write(
        &p,
        format!(
            "state_dir = \"{}\"\n[providers.me]\ntype = \"manual\"\n[lineages.\"mail.example.test\"]\nprovider = \"me\"\ntlsa = [\"_25._tcp.mail.example.test\"]\n",
            dir.join("state").display()
        ),
    )
    .unwrap();
    p
}

fn bin(cfg: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("danerollover").unwrap();
    c.env("DANEROLLOVER_CONFIG", cfg)
        .env_remove("RENEWED_LINEAGE")
        .env_remove("DANEROLLOVER_SWITCHING");
    c
}

#[test]
fn hook_without_a_lineage_is_bad_usage() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let out = bin(&cfg).arg("hook").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RENEWED_LINEAGE"));
    let out = bin(&cfg)
        .arg("hook")
        .env("RENEWED_LINEAGE", "/etc/letsencrypt/archive/x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a certbot live directory"));
}

#[test]
fn hook_leaves_an_unmanaged_lineage_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let out = bin(&cfg)
        .arg("hook")
        .env(
            "RENEWED_LINEAGE",
            tmp.path().join("le/live/other.example.test"),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("other.example.test: not in the configuration"));
    assert!(!tmp.path().join("state").exists(), "the hook wrote state");
}

#[test]
fn unknown_lineages_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    for args in [
        vec!["prepublish", "nope.example.test"],
        vec!["rollover", "nope.example.test"],
        vec!["status", "nope.example.test"],
    ] {
        let out = bin(&cfg).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("nope.example.test"),
            "{args:?}: {out:?}"
        );
    }
}

#[test]
fn a_damaged_state_file_is_exit_2_naming_the_file_never_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let state = tmp.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let path = state.join("state.json");
    for text in [
        "[1]".to_string(),
        r#"{"version": 2, "lineages": {"mail.example.test": {"current": {"id": "ééééééééé", "spki": "00", "since": "2023-11-14T22:13:20Z"}}}}"#.to_string(),
    ] {
        std::fs::write(&path, &text).unwrap();
        for args in [
            vec!["status"],
            vec!["run"],
            vec!["rollover", "mail.example.test"],
            vec!["prepublish", "mail.example.test"],
        ] {
            let out = bin(&cfg).args(&args).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{text}: {args:?}: {stderr}");
            assert!(
                stderr.contains(&path.display().to_string())
                    && !stderr.contains("panicked")
                    && (text.starts_with('[') || stderr.contains("64 lowercase hex")),
                "{text}: {args:?}: {stderr}"
            );
        }
    }
}

/// In the shipped unit's sandbox (emulated: `/proc` without `locks`, `uptime`, boot id),
/// the boot clock reads and certbot's lock is asked of the kernel: `doctor` sees a POSIX
/// lock another process holds on `LETSENCRYPT_DIR/.certbot.lock` (as certbot takes it:
/// `fcntl.lockf`), and calls a lock file that cannot be opened unknown, a failure naming
/// the input (the switch then holds: tests/rollover_engine.rs).
#[test]
fn in_the_units_sandbox_doctor_reads_the_boot_clock_and_asks_the_kernel_about_the_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let le = tmp.path().join("le");
    std::fs::create_dir_all(&le).unwrap();
    let lock = le.join(".certbot.lock");
    let doctor = || {
        let out = sandbox::sandboxed(
            None,
            env!("CARGO_BIN_EXE_danerollover"),
            &["--letsencrypt-dir", &le.display().to_string(), "doctor"],
        )
        .env("DANEROLLOVER_CONFIG", &cfg)
        .output()
        .unwrap();
        let code = out.status.code();
        assert!(
            code != Some(97) && code != Some(98),
            "the sandbox did not take: {out:?}"
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = doctor();
    assert!(
        text.contains("ok   boot clock: clock_gettime(CLOCK_BOOTTIME)"),
        "{text}"
    );
    assert!(
        text.contains("ok   certbot's lock") && text.contains("not held"),
        "{text}"
    );
    let mut holder = std::process::Command::new("python3")
        .args([
            "-c",
            "import fcntl, sys, time\nf = open(sys.argv[1], 'a')\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(60)",
        ])
        .arg(&lock)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(holder.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "locked");
    }
    let held = doctor();
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert!(held.contains("held: certbot runs"), "{held}");
    // A lock file that cannot be opened (a link to itself): unknown.
    std::fs::remove_file(&lock).unwrap();
    std::os::unix::fs::symlink(".certbot.lock", &lock).unwrap();
    let text = doctor();
    assert!(
        text.contains("FAIL certbot's lock: unknown: cannot open certbot's lock file"),
        "{text}"
    );
}
