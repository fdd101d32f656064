//! `doctor`: certbot's side: its version (and what it lacks for a lineage's settings), the
//! deploy hook, and each certbot lineage's `reuse_key` and problems.

use std::path::Path;

use super::{Item, Level, item};
use crate::acme::certbot;
use crate::config::Config;

/// `certbot --version`, and the version it names (None when it cannot be read: then
/// the lineages' findings say "version unknown").
pub(super) async fn certbot_version(
    config: &Config,
) -> (Item, Option<certbot::version::CertbotVersion>) {
    let name = "certbot";
    let Some((prog, rest)) = config.certbot.split_first() else {
        return (
            item(
                name,
                Level::Fail,
                "the configuration's certbot command is empty",
            )
            .fix("certbot = [\"certbot\"]"),
            None,
        );
    };
    let run = tokio::process::Command::new(prog)
        .args(rest)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output();
    let failed = match tokio::time::timeout(std::time::Duration::from_secs(60), run).await {
        Ok(Ok(out)) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr);
            let line = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim();
            let version = certbot::version::parse_version(line);
            let it = match version {
                Some(_) => item(name, Level::Ok, line.to_string()),
                None => item(
                    name,
                    Level::Warn,
                    format!("`{prog} --version` names no version: {line:?}"),
                ),
            };
            return (it, version);
        }
        Ok(Ok(out)) => item(
            name,
            Level::Fail,
            format!("`{prog} --version` failed ({})", out.status),
        )
        .fix("install certbot (apt install certbot) or set certbot = [...] in the configuration"),
        Ok(Err(e)) => item(name, Level::Fail, format!("cannot run {prog}: {e}")).fix(
            "install certbot (apt install certbot) or set certbot = [...] in the configuration",
        ),
        Err(_) => item(
            name,
            Level::Fail,
            format!("`{prog} --version` did not finish within 60 s"),
        ),
    };
    (failed, None)
}

/// The deploy hook: a script in `renewal-hooks/deploy/` that runs danerollover, or a
/// `renew_hook` in each lineage's renewal.conf.
pub(super) fn deploy_hook(le_dir: &Path, names: &[String]) -> Item {
    use std::os::unix::fs::PermissionsExt;
    let name = "deploy hook";
    let dir = le_dir.join("renewal-hooks/deploy");
    let in_dir = std::fs::read_dir(&dir).ok().and_then(|rd| {
        rd.filter_map(|e| e.ok()).map(|e| e.path()).find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                && std::fs::read_to_string(p).is_ok_and(|t| t.contains("danerollover"))
        })
    });
    if let Some(p) = in_dir {
        return item(name, Level::Ok, format!("{}", p.display()));
    }
    let per_lineage = !names.is_empty()
        && names.iter().all(|n| {
            std::fs::read_to_string(certbot::renewal_conf_path(le_dir, n)).is_ok_and(|t| {
                t.lines()
                    .any(|l| l.trim_start().starts_with("renew_hook") && l.contains("danerollover"))
            })
        });
    if per_lineage {
        return item(
            name,
            Level::Ok,
            "renew_hook in every lineage's renewal.conf",
        );
    }
    item(
        name,
        Level::Fail,
        format!("no executable script mentioning danerollover in {}", dir.display()),
    )
    .fix(format!(
        "install -D -m 0755 /usr/share/doc/danerollover/examples/danerollover-deploy {}/danerollover",
        dir.display()
    ))
}

/// The checks of a certbot lineage: its cadence against certbot's version, `reuse_key`,
/// the problems its renewal conf has; the live record when the certificate can be read.
pub(super) fn lineage_items(
    config: &Config,
    le_dir: &Path,
    name: &str,
    version: Option<certbot::version::CertbotVersion>,
    items: &mut Vec<Item>,
) -> Option<crate::tlsa::TlsaRecord> {
    match certbot::load(le_dir, name) {
        Ok(l) => {
            items.extend(certbot_cadence_items(config, name, &l, version));
            let rk = l.reuse_key();
            items.push(if rk.is_on() {
                item(format!("{name}: reuse_key"), Level::Ok, "True")
            } else {
                item(
                    format!("{name}: reuse_key"),
                    Level::Fail,
                    format!(
                        "not True in {}: a renewal would change the key",
                        l.conf_path.display()
                    ),
                )
                .fix(format!("danerollover init {name}"))
            });
            for p in &l.problems {
                items.push(item(
                    format!("{name}: certbot"),
                    Level::Warn,
                    p.message.clone(),
                ));
            }
            l.tlsa_3_1_1()
        }
        Err(e) => {
            items.push(
                item(
                    format!("{name}: certbot lineage"),
                    Level::Fail,
                    e.to_string(),
                )
                .fix(format!("certbot certonly --cert-name {name} ... first")),
            );
            None
        }
    }
}

/// What certbot's version lacks for the lineage's settings, the certificate's lifetime
/// and renewal cadence, and whether the rollover's wait fits in what is left of it
/// ([`certbot::version::findings`]).
fn certbot_cadence_items(
    config: &Config,
    name: &str,
    l: &certbot::Lineage,
    version: Option<certbot::version::CertbotVersion>,
) -> Vec<Item> {
    let Some(cert) = &l.live_cert else {
        return Vec::new();
    };
    let not_before = x509_parser::parse_x509_certificate(&cert.der)
        .ok()
        .and_then(|(_, c)| jiff::Timestamp::from_second(c.validity().not_before.timestamp()).ok());
    let policy = crate::rollover::Policy::of(config, &config.lineages[name]);
    let wait = policy.propagation_wait(None, None, None);
    certbot::version::findings(
        version,
        &l.conf,
        not_before,
        cert.not_after,
        jiff::Timestamp::now(),
        wait,
    )
    .into_iter()
    .map(|f| {
        let it = item(
            format!("{name}: certbot {}", f.topic),
            if f.warn { Level::Warn } else { Level::Ok },
            f.detail,
        );
        match f.fix {
            Some(fix) => it.fix(fix),
            None => it,
        }
    })
    .collect()
}
