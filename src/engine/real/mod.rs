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
mod tests;
