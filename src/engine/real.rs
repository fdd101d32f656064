//! Real implementations that need nothing but the standard library and tokio: the system
//! clock, reload commands, the ACME client run as a program, and the next keys' files under
//! the state directory. (Lineage files, key generation, providers and DNS observation come from
//! their own modules.)

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

use super::SWITCHING_ENV;
use super::traits::{
    CertbotRun, Clock, NextKeyFiles, PrivateKeyPem, Refusals, Reloader, RenewSpecs, Renewer,
};
use crate::acme::ClientLock;
use crate::error::Error;

/// The machine's clock. Its sleep ends early on SIGTERM or SIGINT once
/// [`watch_stop_signals`] runs, and [`Clock::stop_requested`] then names the signal.
pub struct SystemClock;

/// The signal that asked this process to stop, once one did.
static STOP: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
/// Wakes a sleeping `--wait` when a stop signal arrives.
static STOP_NOTIFY: std::sync::OnceLock<tokio::sync::Notify> = std::sync::OnceLock::new();

fn stop_notify() -> &'static tokio::sync::Notify {
    STOP_NOTIFY.get_or_init(tokio::sync::Notify::new)
}

/// From now on, SIGTERM and SIGINT no longer kill the process: they are recorded, wake
/// [`SystemClock::sleep`], and the command stops at the next point where nothing is in
/// progress (a switch under way is finished first, so that a `systemctl stop` never
/// leaves a half-planted key). Call inside the runtime.
pub fn watch_stop_signals() -> Result<(), Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let installed = |kind: SignalKind, name: &'static str| {
        signal(kind).map_err(|e| Error::Failed(format!("cannot handle {name}: {e}")))
    };
    let mut term = installed(SignalKind::terminate(), "SIGTERM")?;
    let mut int = installed(SignalKind::interrupt(), "SIGINT")?;
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        let _ = STOP.set(name);
        stop_notify().notify_waiters();
    });
    Ok(())
}

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    /// `clock_gettime(CLOCK_BOOTTIME)` (suspend included, never stepped, no `/proc`
    /// needed), and the boot id where `/proc` shows it (not under `ProcSubset=pid`).
    fn monotonic(&self) -> Result<crate::rollover::clock::Monotonic, String> {
        use rustix::time::{DynamicClockId, clock_gettime_dynamic};
        let t = clock_gettime_dynamic(DynamicClockId::Boottime).map_err(|e| {
            format!(
                "the boot clock cannot be read (clock_gettime(CLOCK_BOOTTIME): {e}); it needs Linux 2.6.39 or later, and a seccomp filter that allows clock_gettime (the shipped unit's @system-service does)"
            )
        })?;
        let ms = u64::try_from(t.tv_sec)
            .unwrap_or(0)
            .saturating_mul(1000)
            .saturating_add(u64::try_from(t.tv_nsec / 1_000_000).unwrap_or(0));
        let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        Ok(crate::rollover::clock::Monotonic {
            boot_id,
            since_boot_ms: ms,
        })
    }

    async fn sleep(&self, d: Duration) {
        if STOP.get().is_some() {
            return;
        }
        let woken = stop_notify().notified();
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = woken => {}
        }
    }

    fn stop_requested(&self) -> Option<&'static str> {
        STOP.get().copied()
    }
}

/// Runs each reload command (an argv, no shell) in turn.
pub struct CommandReloader {
    /// How long one command may take.
    pub timeout: Duration,
}

impl Default for CommandReloader {
    fn default() -> Self {
        CommandReloader {
            timeout: Duration::from_secs(120),
        }
    }
}

#[async_trait]
impl Reloader for CommandReloader {
    async fn reload(&self, _lineage: &str, commands: &[Vec<String>]) -> Result<(), Error> {
        for argv in commands {
            run(argv, &[], self.timeout).await?;
        }
        Ok(())
    }
}

/// Runs each lineage's ACME client for the switch (the argv of its [`RenewSpecs`]), with
/// `DANEROLLOVER_SWITCHING=NAME` in its environment so that the hook it runs knows the
/// switch is in progress.
pub struct CommandRenewer {
    /// The argv and locks of each lineage.
    pub specs: Arc<dyn RenewSpecs>,
    /// How long the renewal may take (ACME validation can be slow).
    pub timeout: Duration,
    /// Where the client's output goes (`DIR/CLIENT-LINEAGE.log`, 0600, replaced by each
    /// run): a file rather than a pipe, so that the client finishes its work even when
    /// danerollover is killed while it runs (a pipe without reader would break it at its
    /// next line).
    pub log_dir: Option<PathBuf>,
    children: Mutex<HashMap<u32, tokio::process::Child>>,
}

impl CommandRenewer {
    /// Clients run as `specs` says (15 minutes at most).
    pub fn new(specs: Arc<dyn RenewSpecs>) -> CommandRenewer {
        CommandRenewer {
            specs,
            timeout: Duration::from_secs(900),
            log_dir: None,
            children: Mutex::new(HashMap::new()),
        }
    }

    /// Send the client's output to `DIR/CLIENT-LINEAGE.log` instead of a pipe.
    pub fn logging_to(mut self, dir: &Path) -> CommandRenewer {
        self.log_dir = Some(dir.to_path_buf());
        self
    }

    fn log_path(&self, lineage: &str) -> Option<PathBuf> {
        let client = self.specs.client(lineage);
        self.log_dir
            .as_ref()
            .map(|d| d.join(format!("{client}-{lineage}.log")))
    }

    /// The full argv for `lineage`.
    pub fn argv(&self, lineage: &str) -> Result<Vec<String>, Error> {
        self.specs.argv(lineage)
    }
}

#[async_trait]
impl Renewer for CommandRenewer {
    async fn start(&self, lineage: &str) -> Result<CertbotRun, Error> {
        let argv = self.argv(lineage)?;
        let log = match self.log_path(lineage) {
            Some(path) => Some((open_log(&path)?, path)),
            None => None,
        };
        let child = spawn(&argv, &[(SWITCHING_ENV, lineage)], log.map(|l| l.0))?;
        let pid = child
            .id()
            .ok_or_else(|| Error::Failed(format!("`{}` exited at once", shown(&argv))))?;
        self.children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pid, child);
        Ok(CertbotRun {
            pid,
            start: process_start(pid),
        })
    }

    async fn wait(&self, lineage: &str, run: &CertbotRun) -> Result<(), Error> {
        let client = self.specs.client(lineage);
        let child = self
            .children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&run.pid)
            .ok_or_else(|| {
                Error::Failed(format!("{client} (pid {}) was not started here", run.pid))
            })?;
        let log = self.log_path(lineage);
        finish(&self.argv(lineage)?, child, self.timeout, log.as_deref()).await
    }

    fn running(&self, lineage: &str, run: Option<&CertbotRun>) -> Result<bool, String> {
        if let Some(run) = run
            && alive(run)?
        {
            return Ok(true);
        }
        for l in self.specs.locks(lineage) {
            if client_lock_held(&l)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn client(&self, lineage: &str) -> String {
        self.specs.client(lineage)
    }

    fn command(&self, lineage: &str) -> String {
        self.argv(lineage).map(|a| shown(&a)).unwrap_or_default()
    }

    /// The clients' records (certbot's log directory), as [`RenewSpecs`] reads them.
    fn refusals_since(&self, mark: Option<Timestamp>) -> Result<Refusals, Error> {
        self.specs.refusals_since(mark)
    }
}

/// The start time of process `pid` (field 22 of `/proc/PID/stat`, clock ticks after boot);
/// None when it cannot be read (no such process, a zombie, or `/proc` hides it).
fn process_start(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (the state); field 22 is fields[19].
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Whether the process of `run` is alive (and not a zombie), and is the same process
/// (same start time) when the start time was recorded. Where `/proc` does not show the
/// process (the sandbox's `hidepid`, no `/proc`), the kernel is asked whether the pid
/// exists (`kill(pid, 0)`): gone is gone; present but unverifiable is unknown.
fn alive(run: &CertbotRun) -> Result<bool, String> {
    match (process_start(run.pid), run.start) {
        (Some(now), Some(then)) => return Ok(now == then),
        (Some(_), None) => return Ok(true),
        (None, _) => {}
    }
    let Some(pid) = i32::try_from(run.pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return Ok(false);
    };
    if proc_shows(run.pid) {
        // Listed but no start time: a zombie, not at work.
        return Ok(false);
    }
    match rustix::process::test_kill_process(pid) {
        Err(rustix::io::Errno::SRCH) => Ok(false),
        Ok(()) | Err(rustix::io::Errno::PERM) => Err(format!(
            "process {} (the certbot of the interrupted switch, or a process that took its pid) exists but /proc/{}/stat cannot be read to tell which: let /proc show it (ProtectProc=invisible hides other users' processes only), or wait until it exits",
            run.pid, run.pid
        )),
        Err(e) => Err(format!(
            "cannot ask whether process {} exists: {e}",
            run.pid
        )),
    }
}

/// Whether `/proc` lists `pid`.
fn proc_shows(pid: u32) -> bool {
    fs::metadata(format!("/proc/{pid}")).is_ok()
}

/// Whether a running client holds `lock` (Err: it cannot be told, why and the fix): a
/// POSIX lock some process other than this one holds (see [`lock_held`]), or a lock file
/// that exists. For the switch's repair and `doctor`.
pub fn client_lock_held(lock: &ClientLock) -> Result<bool, String> {
    match lock {
        ClientLock::Posix(p) => lock_held(p),
        // A lock that is a file's existence: there is held, not there is free, and a
        // file that cannot be asked about (a directory danerollover cannot search) is
        // unknown, never free.
        ClientLock::Exists(p) => match p.symlink_metadata() {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(format!(
                "cannot tell whether the lock file {} is there ({e}): make its directory readable to danerollover",
                p.display()
            )),
        },
    }
}

/// Whether another process holds a lock on `path`: asked of the kernel with
/// `fcntl(F_GETLK)` on the file (certbot takes a POSIX `lockf` lock on its lock files and
/// removes them when it exits; one killed leaves the file, unlocked). No `/proc` needed.
/// F_GETLK reports POSIX and OFD locks of other processes, never this process's own.
/// A file that is not there is not held; one that cannot be opened or asked is unknown.
fn lock_held(path: &Path) -> Result<bool, String> {
    use rustix::process::{Flock, FlockOffsetType, FlockType, fcntl_getlk};
    let file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => {
            return Err(format!(
                "cannot open certbot's lock file {} to ask whether certbot holds it ({e}): make it readable to danerollover",
                path.display()
            ));
        }
    };
    let probe = Flock {
        start: 0,
        length: 0,
        pid: None,
        typ: FlockType::WriteLock,
        offset_type: FlockOffsetType::Set,
    };
    match fcntl_getlk(&file, &probe) {
        Ok(held) => Ok(held.is_some()),
        Err(e) => Err(format!(
            "cannot ask the kernel whether certbot holds {} (fcntl F_GETLK: {e}): allow fcntl in the seccomp filter",
            path.display()
        )),
    }
}

/// How to get a private key's SPKI (DER) from its PEM: provided by the key module.
pub type SpkiOfPem = dyn Fn(&[u8]) -> Result<Vec<u8>, Error> + Send + Sync;

/// Next keys' private key files on disk (under `STATE_DIR/keys/NAME/`).
///
/// A next key is the only copy of its private key until it is planted, and its record may
/// already be published: the file is written so that a crash leaves it absent or
/// complete (temporary file, fsync, hard link into place, which refuses to replace an
/// existing file, fsync of the directory), readable by root only from the first byte.
pub struct NextKeyDir {
    spki_of: Box<SpkiOfPem>,
}

impl NextKeyDir {
    /// Next key files whose SPKI is read with `spki_of`.
    pub fn new(spki_of: Box<SpkiOfPem>) -> NextKeyDir {
        NextKeyDir { spki_of }
    }
}

fn io_err(path: &Path, e: io::Error) -> Error {
    Error::io(path, e)
}

impl NextKeyFiles for NextKeyDir {
    fn write(&self, path: &Path, pem: &PrivateKeyPem) -> Result<(), Error> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .ok_or_else(|| Error::BadInput(format!("{}: no directory", path.display())))?;
        if !dir.is_dir() {
            fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        }
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| io_err(dir, e))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".next-key-")
            .suffix(".tmp")
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)
            .map_err(|e| io_err(dir, e))?;
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o600))
            .map_err(|e| io_err(tmp.path(), e))?;
        tmp.write_all(&pem.0).map_err(|e| io_err(tmp.path(), e))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| io_err(tmp.path(), e))?;
        tmp.persist_noclobber(path)
            .map_err(|e| io_err(path, e.error))?;
        crate::fsutil::sync_dir(dir).map_err(|e| io_err(dir, e))
    }

    fn spki(&self, path: &Path) -> Result<Option<Vec<u8>>, Error> {
        match fs::read(path) {
            Ok(pem) => (self.spki_of)(&pem).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(path, e)),
        }
    }

    fn remove(&self, path: &Path) -> Result<(), Error> {
        match fs::remove_file(path) {
            Ok(()) => {
                if let Some(dir) = path.parent() {
                    crate::fsutil::sync_dir(dir).map_err(|e| io_err(dir, e))?;
                }
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(path, e)),
        }
    }
}

/// The argv as one line for messages (quoted where needed).
fn shown(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"\\$`".contains(c)) {
                format!("{a:?}")
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last lines of a program's output, for an error message.
fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(5);
    lines[start..].join(" | ")
}

/// A fresh log file for a program's output (0600), for stdout and stderr.
fn open_log(path: &Path) -> Result<(fs::File, fs::File), Error> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    }
    let f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io_err(path, e))?;
    let g = f.try_clone().map_err(|e| io_err(path, e))?;
    Ok((f, g))
}

/// Start `argv` (no shell), stdin closed, with `env` added; output captured through pipes,
/// or into `log` (stdout, stderr) when given.
fn spawn(
    argv: &[String],
    env: &[(&str, &str)],
    log: Option<(fs::File, fs::File)>,
) -> Result<tokio::process::Child, Error> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::Usage("an empty command was configured".into()));
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).stdin(Stdio::null()).kill_on_drop(true);
    match log {
        Some((out, err)) => cmd.stdout(Stdio::from(out)).stderr(Stdio::from(err)),
        None => cmd.stdout(Stdio::piped()).stderr(Stdio::piped()),
    };
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn()
        .map_err(|e| Error::Failed(format!("cannot run `{}`: {e}", shown(argv))))
}

/// Wait for `child` (started from `argv`); fail with the program, its exit status and the
/// end of its output (from `log` when it wrote there) when it does not succeed within
/// `timeout`.
async fn finish(
    argv: &[String],
    child: tokio::process::Child,
    timeout: Duration,
    log: Option<&Path>,
) -> Result<(), Error> {
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => return Err(Error::Failed(format!("`{}`: {e}", shown(argv)))),
        Err(_) => {
            return Err(Error::Failed(format!(
                "`{}` did not finish within {} (killed)",
                shown(argv),
                humantime::format_duration(timeout)
            )));
        }
    };
    if output.status.success() {
        return Ok(());
    }
    let mut detail = tail(&output.stderr);
    if detail.is_empty() {
        detail = tail(&output.stdout);
    }
    let mut all = [output.stdout.as_slice(), output.stderr.as_slice()].concat();
    if let Some(path) = log {
        all = fs::read(path).unwrap_or_default();
        detail = tail(&all);
        if !detail.is_empty() {
            detail = format!("{detail} (all of it in {})", path.display());
        }
    }
    // The CA refusing the key is said early in certbot's output: keep it in the message
    // (the engine reads it there, crate::acme::certbot::refusal).
    if let Some(line) =
        crate::acme::certbot::refusal::refusal_in_output(&String::from_utf8_lossy(&all))
        && !detail.contains(&line)
    {
        detail = format!("{line} | {detail}");
    }
    Err(Error::Failed(format!(
        "`{}` failed ({}){}",
        shown(argv),
        output.status,
        if detail.is_empty() {
            String::new()
        } else {
            format!(": {detail}")
        }
    )))
}

/// Run `argv` (no shell), stdin closed, with `env` added; fail with the program, its exit
/// status and the end of its output when it does not succeed within `timeout`.
async fn run(argv: &[String], env: &[(&str, &str)], timeout: Duration) -> Result<(), Error> {
    finish(argv, spawn(argv, env, None)?, timeout, None).await
}

#[cfg(test)]
mod tests {
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
}
