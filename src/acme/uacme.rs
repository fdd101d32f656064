//! uacme as an [`AcmeClient`] (Debian 12: 1.7.4): the key at `CONFDIR/private/NAME/key.pem`,
//! kept across renewals (uacme makes one only when there is none), the certificate and its
//! chain at `CONFDIR/NAME/cert.pem`; the switch runs `--force issue NAME ALTNAME...`. uacme
//! has no deploy hook (its exit code says whether it issued: 0 issued, 1 not due, 2 failed)
//! and no lock: run `danerollover hook --lineage NAME` after it when it exits 0 (a wrapper,
//! or `danerollover run` after each uacme run).

use std::path::PathBuf;

use super::client::{
    AcmeClient, ClientKind, ClientLineage, ClientSettings, ReuseSetting, check_component,
    lineage_from_files,
};
use super::error::AcmeError;
use super::keyfile;

/// uacme's default configuration directory.
pub const DEFAULT_CONFDIR: &str = "/etc/ssl/uacme";

/// uacme with its configuration directory and command.
#[derive(Debug, Clone)]
pub struct Uacme {
    dir: PathBuf,
    command: Vec<String>,
}

impl Uacme {
    /// From `client_dir` (default /etc/ssl/uacme) and `command` (default
    /// `["uacme", "--confdir", DIR]`; give the challenge hook there: `--hook PROG`).
    pub fn new(settings: &ClientSettings) -> Uacme {
        let dir = settings
            .dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFDIR));
        let command = settings.command.clone().unwrap_or_else(|| {
            vec![
                "uacme".to_string(),
                "--confdir".to_string(),
                dir.display().to_string(),
            ]
        });
        Uacme { dir, command }
    }

    fn key(&self, name: &str) -> Result<PathBuf, AcmeError> {
        check_component(ClientKind::Uacme, name)?;
        Ok(self.dir.join("private").join(name).join("key.pem"))
    }
}

impl AcmeClient for Uacme {
    fn kind(&self) -> ClientKind {
        ClientKind::Uacme
    }

    fn lineage(&self, name: &str) -> Result<ClientLineage, AcmeError> {
        let key = self.key(name)?;
        lineage_from_files(
            ClientKind::Uacme,
            name,
            self.dir.join(name).join("cert.pem"),
            key.clone(),
            None,
            ReuseSetting::On {
                by: format!("uacme keeps {} while it exists", key.display()),
            },
        )
    }

    fn list(&self) -> Result<Vec<String>, AcmeError> {
        let private = self.dir.join("private");
        let entries = match std::fs::read_dir(&private) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(AcmeError::io(&private, e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| self.dir.join(n).join("cert.pem").exists())
            .collect();
        names.sort();
        Ok(names)
    }

    fn enable_reuse_key(&self, _name: &str, _dry_run: bool) -> Result<Option<String>, AcmeError> {
        Ok(None)
    }

    keyfile::switch_steps!(key);

    fn renew_argv(&self, name: &str) -> Result<Vec<String>, AcmeError> {
        let l = self.lineage(name)?;
        let mut argv = self.command.clone();
        argv.extend(["--force", "issue", name].iter().map(ToString::to_string));
        argv.extend(l.domains.iter().filter(|d| *d != name).cloned());
        Ok(argv)
    }
}
