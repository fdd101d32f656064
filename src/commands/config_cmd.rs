//! `danerollover config [--json]`: the effective configuration (defaults filled in, the
//! resolved letsencrypt_dir and state_dir), and for each provider secret where it comes
//! from and whether it can be used, never its value.
//!
//! Exit status: 0 when the configuration parses and every provider can be set up with its
//! secrets, 1 when a secret cannot be used or a provider cannot be set up (named in the
//! output), 2 when the configuration is bad (the error names the file and the line).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Context;
use crate::cli::ConfigArgs;
use crate::config::{Config, ProviderConfig, SecretSource};
use crate::error::{Error, exit};
use crate::secrets;

/// Where one secret comes from and whether it can be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretReport {
    pub provider: String,
    /// The key stem: `api_key` for `api_key_file` / `api_key_env`.
    pub key: String,
    /// "file" or "env".
    pub source: &'static str,
    /// The file's path or the variable's name.
    pub location: String,
    pub ok: bool,
    /// "mode 0600", or what is wrong and how to fix it.
    pub detail: String,
}

/// The whole report `config` prints.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The configuration file, or None when there is none (defaults).
    pub config_file: Option<PathBuf>,
    pub letsencrypt_dir: PathBuf,
    pub state_dir: PathBuf,
    pub config: Config,
    pub secrets: Vec<SecretReport>,
    /// Providers that cannot be set up although their secrets can be read (a TSIG secret
    /// that is not base64, a URL that does not parse, ...).
    pub problems: Vec<String>,
    pub notes: Vec<String>,
}

pub fn run(ctx: &Context, args: &ConfigArgs) -> Result<u8, Error> {
    let loaded = ctx.config_if_any()?;
    let config_file = loaded.as_ref().map(|_| ctx.config_path());
    let mut config = match loaded {
        Some(c) => c,
        None => defaults()?,
    };
    let letsencrypt_dir = ctx.letsencrypt_dir(Some(&config));
    let state_dir = ctx.state_dir(Some(&config));
    config.letsencrypt_dir = Some(letsencrypt_dir.clone());
    config.state_dir = Some(state_dir.clone());
    let secrets: Vec<SecretReport> = config
        .providers
        .iter()
        .flat_map(|(name, p)| p.secret_sources().into_iter().map(move |s| check(name, &s)))
        .collect();
    let problems: Vec<String> = config
        .providers
        .iter()
        .filter(|(name, _)| secrets.iter().all(|s| &s.provider != *name || s.ok))
        .filter_map(|(name, p)| {
            crate::provider::build(name, p, config.dns.timeout)
                .err()
                .map(|e| e.to_string())
        })
        .collect();
    let mut notes = notes(&config);
    let state = crate::store::Store::new(state_dir.clone()).read().ok();
    for (name, lc) in &config.lineages {
        let ls = state.as_ref().and_then(|s| s.lineages.get(name));
        if let Some(p) = crate::rollover::serving::no_reload_problem(name, lc, ls) {
            notes.push(format!("PROBLEM: {p}"));
        }
    }
    let report = Report {
        config_file,
        letsencrypt_dir,
        state_dir,
        config,
        secrets,
        problems,
        notes,
    };
    let text = if args.json {
        serde_json::to_string_pretty(&report)
            .map_err(|e| Error::Failed(format!("cannot encode the report: {e}")))?
    } else {
        render(&report, &ctx.config_path())?
    };
    crate::outln!("{}", text.trim_end())?;
    Ok(
        if report.secrets.iter().all(|s| s.ok) && report.problems.is_empty() {
            exit::OK
        } else {
            exit::FAILURE
        },
    )
}

/// The configuration an empty file gives: every default.
fn defaults() -> Result<Config, Error> {
    Ok(Config::parse("", Path::new("(defaults)"))?)
}

/// Check one secret source without revealing its value.
pub fn check(provider: &str, source: &SecretSource) -> SecretReport {
    let mut report = SecretReport {
        provider: provider.to_string(),
        key: source.key.to_string(),
        source: "file",
        location: String::new(),
        ok: false,
        detail: String::new(),
    };
    match (&source.file, &source.env) {
        (Some(path), env) => {
            report.location = path.display().to_string();
            match std::fs::metadata(path) {
                Err(e) => report.detail = format!("cannot read: {e}"),
                Ok(meta) => {
                    let mode = meta.permissions().mode() & 0o777;
                    match secrets::from_file(path) {
                        Ok(_) => {
                            report.ok = true;
                            report.detail = format!("readable, mode {mode:04o}");
                        }
                        Err(e) => report.detail = e.to_string(),
                    }
                }
            }
            if let Some(env) = env {
                report.detail.push_str(&format!(
                    " ({}_env = {env:?} is ignored: the file wins)",
                    source.key
                ));
            }
        }
        (None, Some(env)) => {
            report.source = "env";
            report.location = env.clone();
            match secrets::from_env(env) {
                Ok(_) => {
                    report.ok = true;
                    report.detail = "set".to_string();
                }
                Err(e) => report.detail = e.to_string(),
            }
        }
        (None, None) => report.detail = "no source configured".to_string(),
    }
    report
}

/// Advice about settings a provider will refuse or that defeat their purpose.
pub fn notes(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for (name, lineage) in &config.lineages {
        match config.providers.get(&lineage.provider) {
            Some(ProviderConfig::Desec { .. })
                if lineage.ttl < crate::provider::desec::DEFAULT_MINIMUM_TTL =>
            {
                out.push(format!(
                    "lineages.\"{name}\".ttl = {} but deSEC (providers.{}) refuses TTLs below the domain's minimum_ttl, {} unless lowered for the account",
                    lineage.ttl,
                    lineage.provider,
                    crate::provider::desec::DEFAULT_MINIMUM_TTL
                ));
            }
            Some(ProviderConfig::Cloudflare { .. }) if lineage.ttl < 60 => {
                out.push(format!(
                    "lineages.\"{name}\".ttl = {} but Cloudflare (providers.{}) accepts 60 s at least (30 s on Enterprise plans)",
                    lineage.ttl, lineage.provider
                ));
            }
            Some(ProviderConfig::Manual {}) => out.push(format!(
                "lineages.\"{name}\" uses a manual provider: changes are printed for you to make by hand"
            )),
            _ => {}
        }
    }
    out
}

/// The text form: comments with the file and the resolved directories, the effective
/// configuration as TOML, then the secrets and notes as comments.
pub fn render(report: &Report, default_path: &Path) -> Result<String, Error> {
    let mut out = String::new();
    match &report.config_file {
        Some(p) => out.push_str(&format!("# configuration: {}\n", p.display())),
        None => out.push_str(&format!(
            "# configuration: none ({} does not exist): defaults\n",
            default_path.display()
        )),
    }
    out.push_str("# defaults filled in; secrets are never shown, only where they come from\n");
    out.push_str(&format!(
        "# letsencrypt_dir (resolved): {}\n# state_dir (resolved): {}\n\n",
        report.letsencrypt_dir.display(),
        report.state_dir.display()
    ));
    let toml = toml::to_string_pretty(&report.config)
        .map_err(|e| Error::Failed(format!("cannot print the configuration: {e}")))?;
    out.push_str(toml.trim_end());
    out.push('\n');
    if !report.secrets.is_empty() {
        out.push_str("\n# secrets:\n");
        for s in &report.secrets {
            let source = if s.source == "file" {
                format!("file {}", s.location)
            } else {
                format!("environment variable {}", s.location)
            };
            out.push_str(&format!(
                "#   providers.{}.{}: {source}: {}{}\n",
                s.provider,
                s.key,
                if s.ok { "ok, " } else { "PROBLEM: " },
                s.detail
            ));
        }
    }
    if !report.problems.is_empty() {
        out.push_str("\n# problems:\n");
        for p in &report.problems {
            out.push_str(&format!("#   PROBLEM: {p}\n"));
        }
    }
    if !report.notes.is_empty() {
        out.push_str("\n# notes:\n");
        for n in &report.notes {
            out.push_str(&format!("#   {n}\n"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(file: Option<PathBuf>, env: Option<&str>) -> SecretSource {
        SecretSource {
            key: "token",
            file,
            env: env.map(str::to_string),
        }
    }

    #[test]
    fn file_secrets_are_checked_without_showing_them() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t");
        std::fs::write(&p, "very-secret-token").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let r = check("cf", &source(Some(p.clone()), None));
        assert!(r.ok, "{r:?}");
        assert_eq!(r.detail, "readable, mode 0600");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let r = check("cf", &source(Some(p.clone()), Some("X")));
        assert!(!r.ok);
        assert!(r.detail.contains("chmod 600"), "{r:?}");
        assert!(r.detail.contains("ignored"), "{r:?}");
        assert!(!format!("{r:?}").contains("very-secret-token"));
        let r = check("cf", &source(Some(dir.path().join("missing")), None));
        assert!(!r.ok && r.detail.contains("cannot read"), "{r:?}");
    }

    #[test]
    fn env_secrets_are_checked() {
        let r = check(
            "cf",
            &source(None, Some("DANEROLLOVER_TEST_NOT_SET_ANYWHERE")),
        );
        assert!(!r.ok);
        assert_eq!(r.source, "env");
        assert!(r.detail.contains("not set"), "{r:?}");
    }

    #[test]
    fn notes_on_ttls_providers_refuse() {
        let c = Config::parse(
            r#"
[providers.d]
type = "desec"
token_file = "/t"
[providers.cf]
type = "cloudflare"
token_file = "/t"
[lineages."a.example"]
provider = "d"
tlsa = ["_25._tcp.a.example"]
ttl = 300
[lineages."b.example"]
provider = "d"
tlsa = ["_25._tcp.b.example"]
ttl = 3600
[lineages."c.example"]
provider = "cf"
tlsa = ["_25._tcp.c.example"]
ttl = 30
"#,
            Path::new("t.toml"),
        )
        .unwrap();
        let n = notes(&c);
        assert_eq!(n.len(), 2, "{n:?}");
        assert!(n[0].contains("a.example") && n[0].contains("3600"), "{n:?}");
        assert!(n[1].contains("c.example") && n[1].contains("60"), "{n:?}");
    }
}
