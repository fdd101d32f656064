//! Real implementations that need nothing but the standard library and tokio: the system
//! clock, reload commands, certbot run as a program, and the next keys' files under the
//! state directory. (Lineage files, key generation, providers and DNS observation come from
//! their own modules.)

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

use super::SWITCHING_ENV;
use super::traits::{Certbot, Clock, NextKeyFiles, PrivateKeyPem, Reloader};
use crate::error::Error;

/// The machine's clock.
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    /// Linux: the boot id and `/proc/uptime` (`CLOCK_BOOTTIME`, suspend included).
    fn monotonic(&self) -> Option<crate::rollover::clock::Monotonic> {
        let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
        let uptime = std::fs::read_to_string("/proc/uptime").ok()?;
        let secs: f64 = uptime.split_whitespace().next()?.parse().ok()?;
        Some(crate::rollover::clock::Monotonic {
            boot_id: boot_id.trim().to_string(),
            since_boot_ms: (secs * 1000.0) as u64,
        })
    }

    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
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

/// Runs `PREFIX renew --cert-name NAME --force-renewal --reuse-key` (PREFIX is the
/// configuration's `certbot`, e.g. `["certbot"]`), with `DANEROLLOVER_SWITCHING=NAME` in
/// its environment so that the deploy hook it runs knows the switch is in progress.
pub struct CommandCertbot {
    /// The argv prefix (the configuration's `certbot`).
    pub prefix: Vec<String>,
    /// How long the renewal may take (ACME validation can be slow).
    pub timeout: Duration,
}

impl CommandCertbot {
    /// certbot run as `prefix` (15 minutes at most).
    pub fn new(prefix: &[String]) -> CommandCertbot {
        CommandCertbot {
            prefix: prefix.to_vec(),
            timeout: Duration::from_secs(900),
        }
    }

    /// The full argv for `lineage`.
    pub fn argv(&self, lineage: &str) -> Vec<String> {
        let mut argv = self.prefix.clone();
        argv.extend(
            [
                "renew",
                "--cert-name",
                lineage,
                "--force-renewal",
                "--reuse-key",
            ]
            .iter()
            .map(ToString::to_string),
        );
        argv
    }
}

#[async_trait]
impl Certbot for CommandCertbot {
    async fn renew(&self, lineage: &str) -> Result<(), Error> {
        run(
            &self.argv(lineage),
            &[(SWITCHING_ENV, lineage)],
            self.timeout,
        )
        .await
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

/// Run `argv` (no shell), stdin closed, with `env` added; fail with the program, its exit
/// status and the end of its output when it does not succeed within `timeout`.
async fn run(argv: &[String], env: &[(&str, &str)], timeout: Duration) -> Result<(), Error> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::Usage("an empty command was configured".into()));
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .spawn()
        .map_err(|e| Error::Failed(format!("cannot run `{}`: {e}", shown(argv))))?;
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
        let c = CommandCertbot::new(&argv(&["sh", "-c", &script, "certbot"]));
        block(c.renew("mail.example.test")).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            text,
            "renew\n--cert-name\nmail.example.test\n--force-renewal\n--reuse-key\nenv=mail.example.test\n"
        );
        let failing = CommandCertbot::new(&argv(&[
            "sh",
            "-c",
            "echo 'Challenge failed' >&2; exit 1",
            "certbot",
        ]));
        let err = block(failing.renew("m")).unwrap_err().to_string();
        assert!(
            err.contains("Challenge failed") && err.contains("--reuse-key"),
            "{err}"
        );
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
