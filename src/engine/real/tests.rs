//! Tests of the real implementations: reload commands, the ACME client run as a program,
//! certbot's lock and process, the next keys' files.

use super::*;

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn argv(v: &[&str]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

/// certbot run as `prefix` over the letsencrypt directory `le`.
fn certbot(prefix: &[String], le: &Path) -> CommandRenewer {
    CommandRenewer::new(Arc::new(
        crate::engine::lineage_files::Clients::certbot_run_as(le, prefix),
    ))
}

#[test]
fn reload_runs_each_command_and_stops_at_the_first_failure() {
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("ran");
    let r = CommandReloader::default();
    block(r.reload("x", &[argv(&["touch", mark.to_str().unwrap()])])).unwrap();
    assert!(mark.exists());
    let second = dir.path().join("second");
    let err = block(r.reload(
        "x",
        &[
            argv(&["sh", "-c", "echo postfix is not running >&2; exit 3"]),
            argv(&["touch", second.to_str().unwrap()]),
        ],
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("postfix is not running"), "{err}");
    assert!(err.contains("exit status: 3"), "{err}");
    assert!(!second.exists());
    let err = block(r.reload("x", &[argv(&["/nonexistent/reload"])]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/reload"), "{err}");
}

#[test]
fn a_lock_file_that_cannot_be_asked_about_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("lock");
    assert_eq!(
        client_lock_held(&ClientLock::Exists(lock.clone())),
        Ok(false)
    );
    std::fs::write(&lock, "").unwrap();
    assert_eq!(
        client_lock_held(&ClientLock::Exists(lock.clone())),
        Ok(true)
    );
    // Below a file: neither there nor not there (ENOTDIR), so unknown, never free.
    let err = client_lock_held(&ClientLock::Exists(lock.join("inner"))).unwrap_err();
    assert!(err.contains("cannot tell whether the lock file"), "{err}");
}

#[test]
fn commands_that_hang_are_killed() {
    let r = CommandReloader {
        timeout: Duration::from_millis(200),
    };
    let start = std::time::Instant::now();
    let err = block(r.reload("x", &[argv(&["sleep", "10"])]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("did not finish"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn certbot_gets_the_renew_arguments_and_the_switching_marker() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("args");
    let script = format!(
        "printf '%s\\n' \"$@\" \"env=${SWITCHING_ENV}\" > {}",
        out.display()
    );
    let c = certbot(&argv(&["sh", "-c", &script, "certbot"]), dir.path());
    block(c.renew("mail.example.test")).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        text,
        "renew\n--cert-name\nmail.example.test\n--force-renewal\n--reuse-key\nenv=mail.example.test\n"
    );
    let failing = certbot(
        &argv(&["sh", "-c", "echo 'Challenge failed' >&2; exit 1", "certbot"]),
        dir.path(),
    );
    let err = block(failing.renew("m")).unwrap_err().to_string();
    assert!(
        err.contains("Challenge failed") && err.contains("--reuse-key"),
        "{err}"
    );
}

#[test]
fn certbot_runs_are_seen_by_pid_and_by_lock_and_log_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let c = certbot(
        &argv(&[
            "sh",
            "-c",
            "echo working; sleep 1; echo 'rate limited' >&2; exit 1",
            "certbot",
        ]),
        dir.path(),
    )
    .logging_to(dir.path());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let run = rt.block_on(c.start("m")).unwrap();
    assert!(run.start.is_some());
    assert!(c.running("m", Some(&run)).unwrap(), "a live pid is running");
    // Another process with the same pid but another start time is not it.
    let other = CertbotRun {
        pid: run.pid,
        start: run.start.map(|s| s + 1),
    };
    assert!(!c.running("m", Some(&other)).unwrap());
    let err = rt.block_on(c.wait("m", &run)).unwrap_err().to_string();
    assert!(
        err.contains("rate limited") && err.contains("certbot-m.log"),
        "{err}"
    );
    assert!(
        !c.running("m", Some(&run)).unwrap(),
        "an exited pid is not running"
    );
    let log = dir.path().join("certbot-m.log");
    assert_eq!(
        fs::metadata(&log).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(fs::read_to_string(&log).unwrap().contains("working"));
    // Any certbot holding the letsencrypt directory's lock is running.
    let lock = dir.path().join(".certbot.lock");
    fs::write(&lock, b"").unwrap();
    assert!(
        !c.running("m", None).unwrap(),
        "an unlocked lock file left by a killed certbot"
    );
    // A POSIX lock, as certbot takes it (`fcntl.lockf` in certbot/_internal/lock.py).
    let mut holder = std::process::Command::new("python3")
        .args([
            "-c",
            "import fcntl, sys, time\nf = open(sys.argv[1], 'a')\nfcntl.lockf(f, fcntl.LOCK_EX)\ntime.sleep(30)",
        ])
        .arg(&lock)
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    // python takes the lock a moment after it starts: on a loaded machine, seconds.
    while !c.running("m", None).unwrap() && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        c.running("m", None).unwrap(),
        "the held lock is not seen after {:?}",
        t0.elapsed()
    );
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert!(!c.running("m", None).unwrap());
    // A lock file that cannot be opened is unknown (never "not running"), and says so.
    let blocked = certbot(&argv(&["true"]), &lock);
    let err = blocked.running("m", None).unwrap_err();
    assert!(
        err.contains(".certbot.lock") && err.contains("cannot open"),
        "{err}"
    );
}

#[test]
fn a_pid_that_is_gone_is_not_running_without_proc() {
    // A pid far above pid_max exists nowhere: kill(pid, 0) says so.
    let run = CertbotRun {
        pid: 0x7fff_fff0,
        start: Some(1),
    };
    assert_eq!(alive(&run), Ok(false));
    // This process exists: with its start time, it is alive.
    let me = std::process::id();
    let run = CertbotRun {
        pid: me,
        start: process_start(me),
    };
    assert_eq!(alive(&run), Ok(true));
}

#[test]
fn the_boot_clock_is_read_without_proc() {
    let a = SystemClock.monotonic().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let b = SystemClock.monotonic().unwrap();
    assert!(b.since_boot_ms >= a.since_boot_ms + 20, "{a:?} {b:?}");
}

fn rcgen_spki(pem: &[u8]) -> Result<Vec<u8>, Error> {
    use rcgen::PublicKeyData;
    let text = std::str::from_utf8(pem).map_err(|e| Error::BadInput(e.to_string()))?;
    let key = rcgen::KeyPair::from_pem(text).map_err(|e| Error::BadInput(e.to_string()))?;
    Ok(key.subject_public_key_info())
}

#[test]
fn next_key_files_are_private_complete_and_never_replaced() {
    use rcgen::PublicKeyData;
    let dir = tempfile::tempdir().unwrap();
    let keys = NextKeyDir::new(Box::new(rcgen_spki));
    let path = dir
        .path()
        .join("keys")
        .join("mail.example.test")
        .join("next-ab.pem");
    assert_eq!(keys.spki(&path).unwrap(), None);
    let key = rcgen::KeyPair::generate().unwrap();
    let pem = PrivateKeyPem(key.serialize_pem().into_bytes());
    keys.write(&path, &pem).unwrap();
    assert_eq!(
        keys.spki(&path).unwrap(),
        Some(key.subject_public_key_info())
    );
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    // Never replaced, and nothing left behind by the refused write.
    let other = PrivateKeyPem(
        rcgen::KeyPair::generate()
            .unwrap()
            .serialize_pem()
            .into_bytes(),
    );
    assert!(keys.write(&path, &other).is_err());
    assert_eq!(
        keys.spki(&path).unwrap(),
        Some(key.subject_public_key_info())
    );
    assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    // A file that is not a key is an error, not "absent".
    let junk = path.with_file_name("junk.pem");
    fs::write(&junk, b"not a key").unwrap();
    assert!(keys.spki(&junk).is_err());
    keys.remove(&path).unwrap();
    keys.remove(&path).unwrap();
    assert_eq!(keys.spki(&path).unwrap(), None);
    // The PEM never shows in Debug output.
    assert!(!format!("{pem:?}").contains("PRIVATE"));
}

#[test]
fn system_clock_is_now() {
    let before = Timestamp::now();
    let t = SystemClock.now();
    assert!(t >= before && t <= Timestamp::now());
}
