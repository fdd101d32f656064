//! acme.sh as an [`AcmeClient`], from its source (it is in no package registry this project
//! installs from, so it is not run in CI): `HOME/DOMAIN/` (RSA) or `HOME/DOMAIN_ecc/` with
//! `DOMAIN.key`, `DOMAIN.cer`, `fullchain.cer`, `ca.cer` and the `Le_*` settings of
//! `DOMAIN.conf` (`KEY='value'` lines). acme.sh keeps `DOMAIN.key` at renewal unless
//! `Le_ForceNewDomainKey='1'`; with that it copies its own pre-generated `DOMAIN.key.next`
//! over the key at each renewal and makes a new one. danerollover never touches
//! `DOMAIN.key.next`: keeping the key means no `Le_ForceNewDomainKey` line (what acme.sh
//! itself writes when the option is off), and the next key is staged as
//! `DOMAIN.key.danerollover-next`. The switch runs `--renew --domain DOMAIN --force
//! [--ecc]`, which keeps the key (`--force` makes a new key only on `--issue`).
//!
//! A lineage name is the domain (its RSA directory, or the `_ecc` one when only that
//! exists) or the directory name itself (`DOMAIN_ecc`).

use std::path::PathBuf;

use super::client::{
    AcmeClient, ClientKind, ClientLineage, ClientSettings, ReuseSetting, check_component,
    lineage_from_files,
};
use super::dehydrated::shell_setting;
use super::error::AcmeError;
use super::keyfile;

/// acme.sh's suffix of ECC certificates' directories.
pub const ECC_SUFFIX: &str = "_ecc";

/// acme.sh with its home and command.
#[derive(Debug, Clone)]
pub struct AcmeSh {
    dir: PathBuf,
    command: Vec<String>,
}

/// Where one lineage is.
struct Place {
    /// `HOME/DOMAIN[_ecc]`.
    dir: PathBuf,
    /// The main domain (`Le_Domain`).
    domain: String,
    ecc: bool,
}

impl Place {
    fn file(&self, ext: &str) -> PathBuf {
        self.dir.join(format!("{}.{ext}", self.domain))
    }
}

impl AcmeSh {
    /// From `client_dir` (acme.sh's home, default /root/.acme.sh) and `command` (default
    /// `["acme.sh", "--home", DIR]`).
    pub fn new(settings: &ClientSettings) -> AcmeSh {
        let dir = settings
            .dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("/root/.acme.sh"));
        let command = settings.command.clone().unwrap_or_else(|| {
            vec![
                "acme.sh".to_string(),
                "--home".to_string(),
                dir.display().to_string(),
            ]
        });
        AcmeSh { dir, command }
    }

    fn place(&self, name: &str) -> Result<Place, AcmeError> {
        check_component(ClientKind::Acmesh, name)?;
        if let Some(domain) = name.strip_suffix(ECC_SUFFIX) {
            return Ok(Place {
                dir: self.dir.join(name),
                domain: domain.to_string(),
                ecc: true,
            });
        }
        let rsa = self.dir.join(name);
        let ecc = self.dir.join(format!("{name}{ECC_SUFFIX}"));
        let ecc_only = !rsa.is_dir() && ecc.is_dir();
        Ok(Place {
            dir: if ecc_only { ecc } else { rsa },
            domain: name.to_string(),
            ecc: ecc_only,
        })
    }

    fn key(&self, name: &str) -> Result<PathBuf, AcmeError> {
        Ok(self.place(name)?.file("key"))
    }

    /// `Le_ForceNewDomainKey` of the domain's conf.
    fn reuse(&self, p: &Place) -> ReuseSetting {
        let conf = p.file("conf");
        let by = format!("Le_ForceNewDomainKey in {}", conf.display());
        let text = match std::fs::read_to_string(&conf) {
            Ok(t) => t,
            Err(e) => {
                return ReuseSetting::Unknown {
                    why: format!("{}: {e}", conf.display()),
                };
            }
        };
        match shell_setting(&text, "Le_ForceNewDomainKey") {
            Some(Ok(v)) if v == "1" => ReuseSetting::Off {
                by,
                fix: format!(
                    "remove the Le_ForceNewDomainKey line of {} (`danerollover init` does it; acme.sh's own DOMAIN.key.next is then unused)",
                    conf.display()
                ),
            },
            Some(Err(raw)) => ReuseSetting::Unknown {
                why: format!("{}: {raw} is not a plain value", conf.display()),
            },
            _ => ReuseSetting::On { by },
        }
    }
}

impl AcmeClient for AcmeSh {
    fn kind(&self) -> ClientKind {
        ClientKind::Acmesh
    }

    fn lineage(&self, name: &str) -> Result<ClientLineage, AcmeError> {
        let p = self.place(name)?;
        lineage_from_files(
            ClientKind::Acmesh,
            name,
            p.file("cer"),
            p.file("key"),
            Some(p.dir.join("fullchain.cer")),
            self.reuse(&p),
        )
    }

    fn list(&self) -> Result<Vec<String>, AcmeError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(AcmeError::io(&self.dir, e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| {
                let domain = n.strip_suffix(ECC_SUFFIX).unwrap_or(n);
                self.dir.join(n).join(format!("{domain}.conf")).is_file()
            })
            .collect();
        names.sort();
        Ok(names)
    }

    fn enable_reuse_key(&self, name: &str, dry_run: bool) -> Result<Option<String>, AcmeError> {
        let p = self.place(name)?;
        if !matches!(self.reuse(&p), ReuseSetting::Off { .. }) {
            return Ok(None);
        }
        let conf = p.file("conf");
        let text = std::fs::read_to_string(&conf).map_err(|e| AcmeError::io(&conf, e))?;
        // As acme.sh's own _clear_conf: every `Le_ForceNewDomainKey *=` line goes.
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| {
                !l.strip_prefix("Le_ForceNewDomainKey")
                    .is_some_and(|r| r.trim_start().starts_with('='))
            })
            .collect();
        let mut new = kept.join("\n");
        new.push('\n');
        if !dry_run {
            let mode = crate::fsutil::mode_of(&conf).map_err(|e| AcmeError::io(&conf, e))?;
            crate::fsutil::write_atomic(&conf, new.as_bytes(), mode, true)
                .map_err(|e| AcmeError::io(&conf, e))?;
        }
        Ok(Some(format!(
            "{}: removed Le_ForceNewDomainKey='1'",
            conf.display()
        )))
    }

    keyfile::switch_steps!(key);

    fn renew_argv(&self, name: &str) -> Result<Vec<String>, AcmeError> {
        let p = self.place(name)?;
        let mut argv = self.command.clone();
        argv.extend(
            ["--renew", "--domain", &p.domain, "--force"]
                .iter()
                .map(ToString::to_string),
        );
        if p.ecc {
            argv.push("--ecc".into());
        }
        Ok(argv)
    }
}
