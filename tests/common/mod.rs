//! Shared helpers for integration tests.
//!
//! Tests against real servers find the lab (started by `tests/lab/up DIR`) through
//! `DANEROLLOVER_LAB`, the path of the lab's `DIR/env` file. Without it a lab test is
//! skipped with a message, except under CI (`CI=true`), where a missing lab is a failure.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub struct Lab {
    vars: HashMap<String, String>,
}

impl Lab {
    /// The lab, or None (with a note on stderr) when none is configured outside CI.
    pub fn get(test: &str) -> Option<Lab> {
        let ci = std::env::var("CI")
            .map(|v| v == "true" || v == "1")
            .unwrap_or(false);
        let path = match std::env::var("DANEROLLOVER_LAB") {
            Ok(p) if !p.is_empty() => PathBuf::from(p),
            _ => {
                if ci {
                    panic!(
                        "{test}: DANEROLLOVER_LAB is not set; under CI the lab is required (tests/lab/up DIR)"
                    );
                }
                eprintln!(
                    "{test}: skipped: no lab (set DANEROLLOVER_LAB=DIR/env after tests/lab/up DIR)"
                );
                return None;
            }
        };
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{test}: cannot read lab env {}: {e}", path.display()));
        let vars = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
            .collect();
        Some(Lab { vars })
    }

    /// A variable of the lab's env file; panics with its name when absent.
    pub fn var(&self, key: &str) -> &str {
        self.vars
            .get(key)
            .unwrap_or_else(|| panic!("lab env has no {key}"))
    }

    pub fn addr(&self, key: &str) -> SocketAddr {
        self.var(key)
            .parse()
            .unwrap_or_else(|e| panic!("lab env {key}={} is not address:port: {e}", self.var(key)))
    }

    pub fn path(&self, key: &str) -> PathBuf {
        PathBuf::from(self.var(key))
    }

    /// All variables, to pass on to child processes.
    pub fn vars(&self) -> &HashMap<String, String> {
        &self.vars
    }
}

/// `danerollover --letsencrypt-dir DIR lineages --json`, which must succeed, as JSON.
pub fn lineages_json(letsencrypt_dir: &Path) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_danerollover"))
        .arg("--letsencrypt-dir")
        .arg(letsencrypt_dir)
        .args(["lineages", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "lineages: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
