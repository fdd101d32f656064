//! lego as an [`AcmeClient`] (Debian 12: 4.9.1; v5 renamed the hook's flag and variables,
//! see [`super::hook_env`]): files in `PATH/certificates/NAME.{crt,key,issuer.crt,json}`
//! (`NAME.crt` holds the certificate and its issuers), the key kept with `renew
//! --reuse-key` (a flag of each run, in no file: [`ReuseSetting::Flag`]), forced with a
//! `--days` beyond any certificate's life, no lock.

use std::path::{Path, PathBuf};

use super::client::{
    AcmeClient, ClientKind, ClientLineage, ClientSettings, ReuseSetting, check_component,
    lineage_from_files,
};
use super::error::AcmeError;
use super::keyfile;

/// lego with its `--path` directory and the command that runs it.
#[derive(Debug, Clone)]
pub struct Lego {
    dir: PathBuf,
    command: Vec<String>,
}

/// `--days` of the switch's renewal: more than any certificate lives, so lego renews.
pub const FORCE_DAYS: &str = "36500";

pub use crate::config::client::flag_value;

impl Lego {
    /// From `client_dir` (lego's `--path`, else the command's `--path`) and `command`
    /// (`lego --path DIR --email ADDRESS --http ...`: everything but the domains and `renew`).
    pub fn new(settings: &ClientSettings) -> Result<Lego, AcmeError> {
        let (command, dir) =
            crate::config::client::lego_settings(settings).map_err(AcmeError::Settings)?;
        Ok(Lego { dir, command })
    }

    fn certificates(&self) -> PathBuf {
        self.dir.join("certificates")
    }

    fn file(&self, name: &str, ext: &str) -> PathBuf {
        self.certificates().join(format!("{name}.{ext}"))
    }

    fn key(&self, name: &str) -> Result<PathBuf, AcmeError> {
        check_component(ClientKind::Lego, name)?;
        Ok(self.file(name, "key"))
    }
}

/// lego's file name for a domain (4.9: `*` becomes `_`).
pub fn file_stem(domain: &str) -> String {
    domain.replace('*', "_")
}

impl AcmeClient for Lego {
    fn kind(&self) -> ClientKind {
        ClientKind::Lego
    }

    fn lineage(&self, name: &str) -> Result<ClientLineage, AcmeError> {
        let key = self.key(name)?;
        lineage_from_files(
            ClientKind::Lego,
            name,
            self.file(name, "crt"),
            key,
            None,
            ReuseSetting::Flag {
                note:
                    "lego keeps the key only when its renewal job runs `lego ... renew --reuse-key`"
                        .into(),
            },
        )
    }

    fn list(&self) -> Result<Vec<String>, AcmeError> {
        list_with_suffix(&self.certificates(), ".crt", &[".issuer.crt"])
    }

    fn enable_reuse_key(&self, _name: &str, _dry_run: bool) -> Result<Option<String>, AcmeError> {
        Ok(Some(
            "lego has no setting to change: add --reuse-key to the `lego ... renew` of its renewal job (cron or systemd timer)".into(),
        ))
    }

    keyfile::switch_steps!(key);

    fn renew_argv(&self, name: &str) -> Result<Vec<String>, AcmeError> {
        let mut argv = self.command.clone();
        if flag_value(&argv, &["--domains", "-d"]).is_none() {
            let l = self.lineage(name)?;
            if l.domains.is_empty() {
                return Err(AcmeError::Failed(format!(
                    "{}: cannot read the certificate's names for --domains",
                    l.cert.display()
                )));
            }
            for d in &l.domains {
                argv.push("--domains".into());
                argv.push(d.clone());
            }
        }
        argv.extend(
            [
                "renew",
                "--days",
                FORCE_DAYS,
                "--reuse-key",
                "--no-random-sleep",
            ]
            .iter()
            .map(ToString::to_string),
        );
        Ok(argv)
    }
}

/// The stems of the files in `dir` ending in `suffix` but in none of `except`, sorted.
pub(crate) fn list_with_suffix(
    dir: &Path,
    suffix: &str,
    except: &[&str],
) -> Result<Vec<String>, AcmeError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AcmeError::io(dir, e)),
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(suffix) && !except.iter().any(|x| n.ends_with(x)))
        .map(|n| n[..n.len() - suffix.len()].to_string())
        .filter(|n| !n.is_empty() && !n.starts_with('.'))
        .collect();
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_switch_renews_with_the_key_it_has_whatever_the_days() {
        let l = Lego::new(&ClientSettings {
            command: Some(strs(&[
                "lego",
                "--path",
                "/x",
                "--email",
                "a@b",
                "--http",
                "-d",
                "m.example",
            ])),
            ..ClientSettings::default()
        })
        .unwrap();
        assert_eq!(l.dir, PathBuf::from("/x"));
        let argv = l.renew_argv("m.example").unwrap();
        assert_eq!(
            argv[8..],
            strs(&[
                "renew",
                "--days",
                FORCE_DAYS,
                "--reuse-key",
                "--no-random-sleep"
            ])
        );
        assert!(Lego::new(&ClientSettings::default()).is_err());
        assert!(l.key("../x").is_err());
    }
}
