//! certbot as an [`AcmeClient`]: lineages under the letsencrypt directory, `reuse_key` in
//! `renewal/NAME.conf`, the next key planted as `archive/NAME/privkey{N+1}.pem` behind the
//! `live/NAME/privkey.pem` link, `renew --cert-name NAME --force-renewal --reuse-key`, and
//! the letsencrypt directory's `.certbot.lock`; refused renewals read from its log directory.

use std::path::{Path, PathBuf};

use super::conf::RenewalConf;
use super::lineage::{self, Kind, Lineage};
use crate::acme::client::{
    AcmeClient, ClientKind, ClientLineage, ClientLock, Plant, Refusals, ReuseSetting,
};
use crate::acme::error::{AcmeError, CertbotError};
use crate::acme::linked;
use crate::keys::KeySpec;

/// certbot over one letsencrypt directory, run as `prefix`.
#[derive(Debug, Clone)]
pub struct Certbot {
    dir: PathBuf,
    prefix: Vec<String>,
    /// certbot's own log directory (`--logs-dir`), read for renewals the CA refused.
    logs_dir: Option<PathBuf>,
}

impl Certbot {
    /// certbot's lineages under `dir`, renewed by running `prefix` (e.g. `["certbot"]`).
    pub fn new(dir: &Path, prefix: &[String]) -> Certbot {
        Certbot {
            dir: dir.to_path_buf(),
            prefix: prefix.to_vec(),
            logs_dir: None,
        }
    }

    /// Read certbot's own logs in `dir` (its `--logs-dir`) for renewals the CA refused.
    pub fn reading_logs(mut self, dir: &Path) -> Certbot {
        self.logs_dir = Some(dir.to_path_buf());
        self
    }

    /// The letsencrypt directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn load(&self, name: &str) -> Result<Lineage, AcmeError> {
        Ok(lineage::load(&self.dir, name)?)
    }
}

/// What `reuse_key` of a renewal conf means for the rollover.
pub fn reuse_setting(l: &Lineage) -> ReuseSetting {
    let by = format!("reuse_key in {}", l.conf_path.display());
    if l.reuse_key().is_on() {
        ReuseSetting::On { by }
    } else {
        ReuseSetting::Off {
            by,
            fix: format!(
                "set reuse_key = True in [renewalparams] (`danerollover init {}` does it)",
                l.name
            ),
        }
    }
}

impl AcmeClient for Certbot {
    fn kind(&self) -> ClientKind {
        ClientKind::Certbot
    }

    fn lineage(&self, name: &str) -> Result<ClientLineage, AcmeError> {
        let l = self.load(name)?;
        Ok(ClientLineage {
            name: l.name.clone(),
            client: ClientKind::Certbot,
            cert: l.cert.link.clone(),
            key: l.privkey.link.clone(),
            fullchain: Some(l.fullchain.link.clone()),
            cert_spki: l.current_spki().map(<[u8]>::to_vec),
            key_spki: l.key_spki.clone(),
            domains: l
                .live_cert
                .as_ref()
                .map(|c| c.domains.clone())
                .unwrap_or_default(),
            reuse: reuse_setting(&l),
        })
    }

    fn list(&self) -> Result<Vec<String>, AcmeError> {
        Ok(lineage::list(&self.dir)?
            .into_iter()
            .map(|l| l.name)
            .collect())
    }

    fn enable_reuse_key(&self, name: &str, dry_run: bool) -> Result<Option<String>, AcmeError> {
        let path = lineage::renewal_conf_path(&self.dir, name);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                AcmeError::Certbot(CertbotError::UnknownLineage {
                    name: name.to_string(),
                    conf: path.clone(),
                })
            } else {
                AcmeError::io(&path, e)
            }
        })?;
        let conf_err = |source| {
            AcmeError::Certbot(CertbotError::Conf {
                path: path.clone(),
                source,
            })
        };
        let conf = RenewalConf::parse(&text).map_err(conf_err)?;
        let Some(edit) = conf.enable_reuse_key().map_err(conf_err)? else {
            return Ok(None);
        };
        if !dry_run {
            let mode = crate::fsutil::mode_of(&path).map_err(|e| AcmeError::io(&path, e))?;
            crate::fsutil::write_atomic(&path, edit.text.as_bytes(), mode, true)
                .map_err(|e| AcmeError::io(&path, e))?;
        }
        Ok(Some(format!("{}:\n{edit}", path.display())))
    }

    fn key_spec(&self, name: &str) -> Result<KeySpec, AcmeError> {
        Ok(self.load(name)?.conf.key_spec()?)
    }

    fn plant_plan(&self, name: &str) -> Result<Plant, AcmeError> {
        let l = self.load(name)?;
        Ok(Plant {
            planted: l.next_privkey_path(),
            previous: linked::previous_target(&l.privkey.link)?,
        })
    }

    fn plant(&self, name: &str, plan: &Plant, key_pem: &[u8]) -> Result<(), AcmeError> {
        let l = self.load(name)?;
        linked::plant(&l.privkey.link, plan, key_pem)
    }

    fn repoint(&self, name: &str, plan: &Plant) -> Result<(), AcmeError> {
        let l = self.load(name)?;
        linked::repoint(&l.privkey.link, plan)
    }

    fn restore(&self, name: &str, plan: &Plant, key_spki: &[u8]) -> Result<(), AcmeError> {
        let l = self.load(name)?;
        let links: Vec<PathBuf> = Kind::ALL.iter().map(|k| l.link(*k).link.clone()).collect();
        linked::restore(&l.privkey.link, &links, plan, key_spki)
    }

    fn renew_argv(&self, name: &str) -> Result<Vec<String>, AcmeError> {
        let mut argv = self.prefix.clone();
        argv.extend(
            [
                "renew",
                "--cert-name",
                name,
                "--force-renewal",
                "--reuse-key",
            ]
            .iter()
            .map(ToString::to_string),
        );
        Ok(argv)
    }

    fn locks(&self) -> Vec<ClientLock> {
        vec![ClientLock::Posix(self.dir.join(".certbot.lock"))]
    }

    fn refusals_since(&self, mark: Option<jiff::Timestamp>) -> Result<Refusals, AcmeError> {
        let Some(dir) = &self.logs_dir else {
            return Ok(Refusals {
                refusals: Vec::new(),
                mark,
            });
        };
        let scan = super::refusal::scan(dir, mark).map_err(|e| AcmeError::Failed(e.to_string()))?;
        Ok(Refusals {
            refusals: scan.refusals,
            mark: scan.mark,
        })
    }

    fn key_mismatch(&self, name: &str) -> String {
        mismatch(name)
    }
}

/// What to say when `live/NAME/privkey.pem` does not hold the key of `cert.pem`.
pub fn mismatch(name: &str) -> String {
    format!(
        "live/{name}/privkey.pem does not match cert.pem (a server that reloads now cannot use the pair): point privkey.pem at the archive/{name}/privkeyN.pem with the N of cert.pem's target (certbot 2.x: `certbot update_symlinks`), then run `danerollover run`"
    )
}
