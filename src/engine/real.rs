//! Real implementations that need nothing but the standard library and tokio: the system
//! clock, reload commands, and certbot run as a program. (Lineage files, key generation,
//! providers and DNS observation come from their own modules.)

use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

use super::SWITCHING_ENV;
use super::traits::{Certbot, Clock, Reloader};
use crate::error::Error;

/// The machine's clock.
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
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

    #[test]
    fn system_clock_is_now() {
        let before = Timestamp::now();
        let t = SystemClock.now();
        assert!(t >= before && t <= Timestamp::now());
    }
}
