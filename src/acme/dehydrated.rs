//! dehydrated as an [`AcmeClient`] (Debian 12: 0.7.0): `BASEDIR/certs/NAME/` with
//! timestamped files behind the `privkey.pem`, `cert.pem`, `chain.pem` and `fullchain.pem`
//! links; the key is kept when `PRIVATE_KEY_RENEW="no"` (in the configuration, a
//! `CONFIG_D/*.sh` file, or the certificate's own config, which wins); the hook gets
//! `deploy_cert DOMAIN KEYFILE CERTFILE FULLCHAINFILE CHAINFILE TIMESTAMP`; the switch runs
//! `--cron --force --domain D... --alias NAME`; `BASEDIR/lock` exists while it runs.
//!
//! The next key is planted as `certs/NAME/privkey-TIMESTAMP.pem` (dehydrated's own naming)
//! and `privkey.pem` repointed at it; with `PRIVATE_KEY_RENEW="no"` dehydrated signs with
//! whatever `privkey.pem` leads to.

use std::path::{Path, PathBuf};

use super::client::{
    AcmeClient, ClientKind, ClientLineage, ClientLock, ClientSettings, Plant, ReuseSetting,
    check_component, lineage_from_files,
};
use super::error::AcmeError;
use super::linked;

/// dehydrated's BASEDIR in Debian's configuration.
pub const DEFAULT_BASEDIR: &str = "/var/lib/dehydrated";
/// dehydrated's configuration in Debian.
pub const DEFAULT_CONFIG: &str = "/etc/dehydrated/config";

/// dehydrated with its BASEDIR, configuration and command.
#[derive(Debug, Clone)]
pub struct Dehydrated {
    dir: PathBuf,
    config: PathBuf,
    command: Vec<String>,
}

/// One assignment of a shell configuration: `NAME=value`, `NAME="value"`, `NAME='value'`
/// (optionally after `export`); Err when the value is more than a plain word (an expansion,
/// a command), which only the shell could read.
fn assignment(line: &str, name: &str) -> Option<Result<String, String>> {
    let t = line.trim();
    let t = t.strip_prefix("export ").map(str::trim_start).unwrap_or(t);
    let rest = t.strip_prefix(name)?.strip_prefix('=')?;
    let rest = match rest.find(" #") {
        Some(i) => &rest[..i],
        None => rest,
    }
    .trim();
    let v = if rest.len() >= 2
        && ((rest.starts_with('"') && rest.ends_with('"'))
            || (rest.starts_with('\'') && rest.ends_with('\'')))
    {
        &rest[1..rest.len() - 1]
    } else {
        rest
    };
    if v.contains(['$', '`', '"', '\'', ';', '(', ' ']) {
        return Some(Err(format!("{name}={rest}")));
    }
    Some(Ok(v.to_string()))
}

/// The last value a shell configuration text gives `name` (None: not set there).
pub fn shell_setting(text: &str, name: &str) -> Option<Result<String, String>> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| assignment(l, name))
        .next_back()
}

impl Dehydrated {
    /// From `client_dir` (BASEDIR, default /var/lib/dehydrated), `client_config` (default
    /// /etc/dehydrated/config) and `command` (default `["dehydrated"]`).
    pub fn new(settings: &ClientSettings) -> Dehydrated {
        let config = settings
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
        let mut command = settings
            .command
            .clone()
            .unwrap_or_else(|| vec!["dehydrated".to_string()]);
        if settings.config.is_some() && !command.iter().any(|a| a == "--config" || a == "-f") {
            command.push("--config".into());
            command.push(config.display().to_string());
        }
        Dehydrated {
            dir: settings
                .dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_BASEDIR)),
            config,
            command,
        }
    }

    fn certdir(&self, name: &str) -> Result<PathBuf, AcmeError> {
        check_component(ClientKind::Dehydrated, name)?;
        Ok(self.dir.join("certs").join(name))
    }

    fn privkey(&self, name: &str) -> Result<PathBuf, AcmeError> {
        Ok(self.certdir(name)?.join("privkey.pem"))
    }

    fn global_text(&self) -> Result<Option<String>, AcmeError> {
        match std::fs::read_to_string(&self.config) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AcmeError::io(&self.config, e)),
        }
    }

    /// The certificate's own config: `DOMAINS_D/NAME` when the configuration sets
    /// DOMAINS_D, else `certs/NAME/config`.
    fn cert_config(&self, name: &str) -> Result<PathBuf, AcmeError> {
        let domains_d = self
            .global_text()?
            .and_then(|t| shell_setting(&t, "DOMAINS_D"))
            .and_then(Result::ok)
            .filter(|d| !d.is_empty());
        Ok(match domains_d {
            Some(d) => Path::new(&d).join(name),
            None => self.certdir(name)?.join("config"),
        })
    }

    /// The files that may set PRIVATE_KEY_RENEW, in the order dehydrated reads them.
    fn setting_files(&self, name: &str) -> Result<Vec<PathBuf>, AcmeError> {
        let mut files = vec![self.config.clone()];
        if let Some(Ok(d)) = self
            .global_text()?
            .and_then(|t| shell_setting(&t, "CONFIG_D"))
            && !d.is_empty()
        {
            let mut extra: Vec<PathBuf> = match std::fs::read_dir(&d) {
                Ok(entries) => entries
                    .filter_map(|e| Some(e.ok()?.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "sh"))
                    .collect(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(AcmeError::io(&d, e)),
            };
            extra.sort();
            files.extend(extra);
        }
        files.push(self.cert_config(name)?);
        Ok(files)
    }

    /// PRIVATE_KEY_RENEW as dehydrated would read it for `name`.
    pub fn reuse(&self, name: &str) -> ReuseSetting {
        let files = match self.setting_files(name) {
            Ok(f) => f,
            Err(e) => return ReuseSetting::Unknown { why: e.to_string() },
        };
        let mut value = ("yes".to_string(), "dehydrated's default".to_string());
        for f in files {
            let text = match std::fs::read_to_string(&f) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return ReuseSetting::Unknown {
                        why: format!("{}: {e}", f.display()),
                    };
                }
            };
            match shell_setting(&text, "PRIVATE_KEY_RENEW") {
                None => {}
                Some(Ok(v)) => value = (v, format!("PRIVATE_KEY_RENEW in {}", f.display())),
                Some(Err(raw)) => {
                    return ReuseSetting::Unknown {
                        why: format!(
                            "{}: {raw} is not a plain yes or no (write PRIVATE_KEY_RENEW=\"no\")",
                            f.display()
                        ),
                    };
                }
            }
        }
        match value.0.as_str() {
            "no" => ReuseSetting::On { by: value.1 },
            _ => ReuseSetting::Off {
                by: value.1,
                fix: format!(
                    "set PRIVATE_KEY_RENEW=\"no\" in {} (`danerollover init {name}` does it)",
                    self.cert_config(name)
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                ),
            },
        }
    }
}

impl AcmeClient for Dehydrated {
    fn kind(&self) -> ClientKind {
        ClientKind::Dehydrated
    }

    fn lineage(&self, name: &str) -> Result<ClientLineage, AcmeError> {
        let dir = self.certdir(name)?;
        lineage_from_files(
            ClientKind::Dehydrated,
            name,
            dir.join("cert.pem"),
            dir.join("privkey.pem"),
            Some(dir.join("fullchain.pem")),
            self.reuse(name),
        )
    }

    fn list(&self) -> Result<Vec<String>, AcmeError> {
        let certs = self.dir.join("certs");
        let entries = match std::fs::read_dir(&certs) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(AcmeError::io(&certs, e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| {
                let e = e.ok()?;
                e.path()
                    .join("cert.pem")
                    .exists()
                    .then(|| e.file_name().into_string().ok())?
            })
            .collect();
        names.sort();
        Ok(names)
    }

    fn enable_reuse_key(&self, name: &str, dry_run: bool) -> Result<Option<String>, AcmeError> {
        if self.reuse(name).is_on() {
            return Ok(None);
        }
        let path = self.cert_config(name)?;
        let old = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(AcmeError::io(&path, e)),
        };
        let line = "PRIVATE_KEY_RENEW=\"no\"";
        let mut replaced = false;
        let mut text: String = old
            .lines()
            .map(|l| {
                if !l.trim_start().starts_with('#') && assignment(l, "PRIVATE_KEY_RENEW").is_some()
                {
                    replaced = true;
                    line.to_string()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        if !replaced {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(line);
        }
        text.push('\n');
        if !dry_run {
            let mode = crate::fsutil::mode_of(&path).unwrap_or(0o644);
            crate::fsutil::write_atomic(&path, text.as_bytes(), mode, true)
                .map_err(|e| AcmeError::io(&path, e))?;
        }
        Ok(Some(format!("{}: {line}", path.display())))
    }

    fn plant_plan(&self, name: &str) -> Result<Plant, AcmeError> {
        let dir = self.certdir(name)?;
        let previous = linked::previous_target(&dir.join("privkey.pem"))?;
        let mut t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        loop {
            let planted = dir.join(format!("privkey-{t}.pem"));
            if !planted.exists() && planted.symlink_metadata().is_err() {
                return Ok(Plant { planted, previous });
            }
            t += 1;
        }
    }

    fn plant(&self, name: &str, plan: &Plant, key_pem: &[u8]) -> Result<(), AcmeError> {
        linked::plant(&self.privkey(name)?, plan, key_pem)
    }

    fn repoint(&self, name: &str, plan: &Plant) -> Result<(), AcmeError> {
        linked::repoint(&self.privkey(name)?, plan)
    }

    fn restore(&self, name: &str, plan: &Plant, key_spki: &[u8]) -> Result<(), AcmeError> {
        let link = self.privkey(name)?;
        linked::restore(&link, std::slice::from_ref(&link), plan, key_spki)
    }

    fn renew_argv(&self, name: &str) -> Result<Vec<String>, AcmeError> {
        let l = self.lineage(name)?;
        if l.domains.is_empty() {
            return Err(AcmeError::Failed(format!(
                "{}: cannot read the certificate's names for --domain",
                l.cert.display()
            )));
        }
        let mut argv = self.command.clone();
        argv.extend(["--cron", "--force"].iter().map(ToString::to_string));
        for d in &l.domains {
            argv.push("--domain".into());
            argv.push(d.clone());
        }
        argv.push("--alias".into());
        argv.push(name.to_string());
        Ok(argv)
    }

    fn locks(&self) -> Vec<ClientLock> {
        let lockfile = self
            .global_text()
            .ok()
            .flatten()
            .and_then(|t| shell_setting(&t, "LOCKFILE"))
            .and_then(Result::ok)
            .filter(|l| !l.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| self.dir.join("lock"));
        vec![ClientLock::Exists(lockfile)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_settings_as_dehydrated_reads_them() {
        let t = "# PRIVATE_KEY_RENEW=\"no\"\nPRIVATE_KEY_RENEW=\"yes\"\nexport PRIVATE_KEY_RENEW='no' # keep\n";
        assert_eq!(shell_setting(t, "PRIVATE_KEY_RENEW"), Some(Ok("no".into())));
        assert_eq!(shell_setting("A=1\n", "PRIVATE_KEY_RENEW"), None);
        assert!(matches!(
            shell_setting("PRIVATE_KEY_RENEW=${X:-no}\n", "PRIVATE_KEY_RENEW"),
            Some(Err(_))
        ));
    }

    #[test]
    fn reuse_is_read_from_the_certificate_config_over_the_global_one() {
        let d = tempfile::tempdir().unwrap();
        let config = d.path().join("config");
        std::fs::write(&config, "BASEDIR=/x\n").unwrap();
        let c = Dehydrated::new(&ClientSettings {
            dir: Some(d.path().to_path_buf()),
            config: Some(config.clone()),
            ..ClientSettings::default()
        });
        std::fs::create_dir_all(d.path().join("certs/m")).unwrap();
        assert!(matches!(c.reuse("m"), ReuseSetting::Off { .. }));
        let edit = c.enable_reuse_key("m", false).unwrap().unwrap();
        assert!(edit.contains("certs/m/config"), "{edit}");
        assert!(c.reuse("m").is_on());
        assert_eq!(c.enable_reuse_key("m", false).unwrap(), None);
        std::fs::write(&config, "PRIVATE_KEY_RENEW=$(echo no)\n").unwrap();
        std::fs::write(d.path().join("certs/m/config"), "").unwrap();
        assert!(matches!(c.reuse("m"), ReuseSetting::Unknown { .. }));
    }
}
