//! Any program as a provider: it is run (argv, no shell) with the change as JSON on stdin:
//!
//! ```json
//! {"action":"apply","zone":"example.com.","owner":"_25._tcp.mail.example.com.","ttl":300,
//!  "add":["3 1 1 ..."],"remove":["3 1 1 ..."]}
//! ```
//!
//! Exit status 0 means done. Anything else is a failure whose message carries the end of
//! the program's stderr (bounded). A run longer than the timeout is killed and failed.
//! The program must apply the change as one unit or additions first, and leave records the
//! change does not name alone.

use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::{Change, Provider, ProviderError, ProviderView, sanitize};

pub const KIND: &str = "exec";
/// Most characters of stderr quoted in an error.
const STDERR_MAX: usize = 2000;
/// Most bytes of stdout/stderr kept from a run.
const OUTPUT_MAX: usize = 64 * 1024;

pub struct Exec {
    name: String,
    command: Vec<String>,
    timeout: Duration,
}

/// The JSON document a program receives.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ExecRequest<'a> {
    pub action: &'static str,
    pub zone: &'a str,
    pub owner: &'a str,
    pub ttl: u32,
    pub add: Vec<String>,
    pub remove: Vec<String>,
}

impl<'a> ExecRequest<'a> {
    pub fn apply(change: &'a Change) -> Self {
        ExecRequest {
            action: "apply",
            zone: &change.zone,
            owner: &change.owner,
            ttl: change.ttl,
            add: change.add.iter().map(ToString::to_string).collect(),
            remove: change.remove.iter().map(ToString::to_string).collect(),
        }
    }
}

impl Exec {
    pub fn new(name: &str, command: Vec<String>, timeout: Duration) -> Result<Exec, ProviderError> {
        if command.first().is_none_or(|c| c.is_empty()) {
            return Err(ProviderError::Config {
                provider: name.to_string(),
                message: "command must name a program".to_string(),
            });
        }
        Ok(Exec {
            name: name.to_string(),
            command,
            timeout,
        })
    }

    fn fail(&self, owner: &str, cause: String) -> ProviderError {
        ProviderError::failed(&self.name, KIND, owner, cause)
    }
}

/// The last `max` characters of `text`, cleaned for an error message.
fn tail(text: &str, max: usize) -> String {
    let count = text.chars().count();
    let cut: String = if count > max {
        let skip = count - max;
        format!("...{}", text.chars().skip(skip).collect::<String>())
    } else {
        text.to_string()
    };
    sanitize(&cut, &[], max + 3)
}

async fn read_bounded<R: AsyncReadExt + Unpin>(mut r: R) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                // Keep the last OUTPUT_MAX bytes: the end is where errors are.
                out.extend_from_slice(&buf[..n]);
                if out.len() > OUTPUT_MAX {
                    let drop = out.len() - OUTPUT_MAX;
                    out.drain(..drop);
                }
            }
        }
    }
    out
}

#[async_trait]
impl Provider for Exec {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        KIND
    }

    async fn apply(&self, change: &Change) -> Result<(), ProviderError> {
        let owner = &change.owner;
        if change.is_empty() {
            return Ok(());
        }
        let input = serde_json::to_vec(&ExecRequest::apply(change))
            .map_err(|e| self.fail(owner, format!("cannot encode the change: {e}")))?;
        let program = &self.command[0];
        let mut child = Command::new(program)
            .args(&self.command[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| self.fail(owner, format!("cannot run {program:?}: {e}")))?;
        let mut stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let run = async {
            if let Some(mut s) = stdin.take() {
                // A program that does not read its input is not an error by itself.
                let _ = s.write_all(&input).await;
                let _ = s.shutdown().await;
            }
            let out = async {
                match stdout {
                    Some(s) => read_bounded(s).await,
                    None => Vec::new(),
                }
            };
            let err = async {
                match stderr {
                    Some(s) => read_bounded(s).await,
                    None => Vec::new(),
                }
            };
            let (_, err) = tokio::join!(out, err);
            let status = child.wait().await;
            (status, err)
        };
        match tokio::time::timeout(self.timeout, run).await {
            Err(_) => Err(self.fail(
                owner,
                format!(
                    "{program:?} did not finish within {} and was stopped",
                    humantime::format_duration(self.timeout)
                ),
            )),
            Ok((Err(e), _)) => Err(self.fail(owner, format!("waiting for {program:?}: {e}"))),
            Ok((Ok(status), err)) if status.success() => {
                let _ = err;
                Ok(())
            }
            Ok((Ok(status), err)) => {
                let text = String::from_utf8_lossy(&err);
                let how = match status.code() {
                    Some(code) => format!("exited with status {code}"),
                    None => "was killed by a signal".to_string(),
                };
                let stderr = tail(text.trim(), STDERR_MAX);
                Err(self.fail(
                    owner,
                    if stderr.is_empty() {
                        format!("{program:?} {how}")
                    } else {
                        format!("{program:?} {how}: {stderr}")
                    },
                ))
            }
        }
    }

    async fn read(&self, _zone: &str, _owner: &str) -> Result<Option<ProviderView>, ProviderError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail("short", 10), "short");
        assert_eq!(tail("0123456789abc", 3), "...abc");
        assert_eq!(tail("a\nb", 10), "a b");
    }

    #[test]
    fn empty_command_is_refused() {
        assert!(Exec::new("x", vec![], Duration::from_secs(1)).is_err());
        assert!(Exec::new("x", vec![String::new()], Duration::from_secs(1)).is_err());
    }
}
