//! `danerollover lineages`: every certbot lineage with its names, expiry, key, reuse_key,
//! live `3 1 1` record, whether the key matches the certificate, and its problems; then the
//! configured lineages of the other ACME clients (or, with `--client`, one client's own).
//!

use std::io::Write;

use serde::Serialize;

use super::Context;
use crate::acme::certbot::{self, Listed};
use crate::acme::{AcmeClient, ClientKind, ClientSettings, ReuseSetting};
use crate::cli::LineagesArgs;
use crate::error::{Error, exit};
use crate::tlsa::{Matching, TlsaRecord};

/// One lineage in the JSON output.
#[derive(Debug, Serialize)]
struct Row {
    name: String,
    /// The ACME client.
    client: String,
    /// The certificate and key files (other clients than certbot).
    #[serde(skip_serializing_if = "Option::is_none")]
    cert_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_file: Option<String>,
    /// Whether the client keeps the key, and what says so (other clients than certbot).
    #[serde(skip_serializing_if = "Option::is_none")]
    reuse: Option<String>,
    conf: String,
    domains: Vec<String>,
    /// RFC 3339.
    not_after: Option<String>,
    /// The key in use, e.g. "ECDSA P-256", "RSA 2048".
    key_type: Option<String>,
    /// What renewal.conf asks a new key to be.
    conf_key_type: Option<String>,
    reuse_key: Option<bool>,
    tlsa_3_1_1: Option<String>,
    key_matches_cert: Option<bool>,
    cert_version: Option<u32>,
    privkey_version: Option<u32>,
    highest_version: Option<u32>,
    archive_dir: Option<String>,
    problems: Vec<String>,
}

fn row(entry: &Listed) -> Row {
    match &entry.lineage {
        Ok(l) => Row {
            name: l.name.clone(),
            client: "certbot".into(),
            cert_file: None,
            key_file: None,
            reuse: None,
            conf: l.conf_path.display().to_string(),
            domains: l
                .live_cert
                .as_ref()
                .map(|c| c.domains.clone())
                .unwrap_or_default(),
            not_after: l.live_cert.as_ref().map(|c| c.not_after.to_string()),
            key_type: l.key_spec().map(|s| s.to_string()),
            conf_key_type: l.conf_spec.as_ref().ok().map(|s| s.to_string()),
            reuse_key: l.reuse_key().reported(),
            tlsa_3_1_1: l.tlsa_3_1_1().map(|r| r.to_string()),
            key_matches_cert: l.key_matches_cert(),
            cert_version: l.cert.version,
            privkey_version: l.privkey.version,
            highest_version: l.highest_version,
            archive_dir: Some(l.archive_dir.display().to_string()),
            problems: l.problems.iter().map(|p| p.message.clone()).collect(),
        },
        Err(e) => Row {
            name: entry.name.clone(),
            client: "certbot".into(),
            cert_file: None,
            key_file: None,
            reuse: None,
            conf: String::new(),
            domains: Vec::new(),
            not_after: None,
            key_type: None,
            conf_key_type: None,
            reuse_key: None,
            tlsa_3_1_1: None,
            key_matches_cert: None,
            cert_version: None,
            privkey_version: None,
            highest_version: None,
            archive_dir: None,
            problems: vec![crate::error::render(e)],
        },
    }
}

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "unknown",
    }
}

/// List every lineage of the letsencrypt directory.
pub fn run(ctx: &Context, args: &LineagesArgs) -> Result<u8, Error> {
    let config = ctx.config_if_any()?;
    let dir = ctx.letsencrypt_dir(config.as_ref());
    let mut rows: Vec<Row> = Vec::new();
    match args.client.filter(|c| *c != ClientKind::Certbot) {
        Some(kind) => {
            let settings = ClientSettings {
                dir: args.client_dir.clone(),
                ..ClientSettings::default()
            };
            // lego needs a command to be built; listing does not run it.
            let settings = ClientSettings {
                command: Some(vec![kind.name().to_string()]),
                ..settings
            };
            let client = crate::acme::build(kind, &settings, &dir, &[])?;
            for name in client.list()? {
                rows.push(client_row(&name, client.as_ref()));
            }
        }
        None => {
            // Without a certbot lineage configured, a missing letsencrypt directory is
            // no error: the lineages are other clients'.
            let certbot_only_listing = config.as_ref().is_none_or(|c| {
                c.lineages.is_empty()
                    || c.lineages.values().any(|l| l.client == ClientKind::Certbot)
            });
            match certbot::list(&dir) {
                Ok(listed) => rows.extend(listed.iter().map(row)),
                Err(e) if certbot_only_listing => return Err(e.into()),
                Err(_) => {}
            }
            if let Some(config) = &config {
                for (name, lc) in &config.lineages {
                    if lc.client == ClientKind::Certbot {
                        continue;
                    }
                    let client = crate::acme::build(
                        lc.client,
                        &lc.client_settings(),
                        &dir,
                        &config.certbot,
                    )?;
                    rows.push(client_row(name, client.as_ref()));
                }
            }
        }
    }
    if let Some(config) = &config {
        let state = crate::store::Store::new(ctx.state_dir(Some(config)))
            .read()
            .ok();
        for r in &mut rows {
            if let Some(lc) = config.lineages.get(&r.name) {
                let ls = state.as_ref().and_then(|s| s.lineages.get(&r.name));
                if let Some(p) = crate::rollover::serving::no_reload_problem(&r.name, lc, ls) {
                    r.problems.push(p);
                }
            }
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let w = |e: std::io::Error| Error::io("<stdout>", e);
    if args.json {
        serde_json::to_writer_pretty(&mut out, &rows)
            .map_err(|e| Error::Failed(format!("cannot write JSON: {e}")))?;
        writeln!(out).map_err(w)?;
        return Ok(exit::OK);
    }
    if rows.is_empty() {
        writeln!(out, "no lineages in {} (no renewal/*.conf)", dir.display()).map_err(w)?;
        return Ok(exit::OK);
    }
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            writeln!(out).map_err(w)?;
        }
        if r.client == "certbot" {
            writeln!(out, "{}", r.name).map_err(w)?;
        } else {
            writeln!(out, "{} ({})", r.name, r.client).map_err(w)?;
            let or_unknown = |s: &Option<String>| s.clone().unwrap_or_else(|| "unknown".into());
            writeln!(out, "  certificate:      {}", or_unknown(&r.cert_file)).map_err(w)?;
            writeln!(out, "  key file:         {}", or_unknown(&r.key_file)).map_err(w)?;
            writeln!(out, "  domains:          {}", r.domains.join(", ")).map_err(w)?;
            writeln!(out, "  key:              {}", or_unknown(&r.key_type)).map_err(w)?;
            writeln!(out, "  reuse:            {}", or_unknown(&r.reuse)).map_err(w)?;
            writeln!(out, "  TLSA:             {}", or_unknown(&r.tlsa_3_1_1)).map_err(w)?;
            writeln!(out, "  key matches cert: {}", yes_no(r.key_matches_cert)).map_err(w)?;
        }
        if !r.conf.is_empty() {
            let or_unknown = |s: &Option<String>| s.clone().unwrap_or_else(|| "unknown".into());
            writeln!(
                out,
                "  domains:          {}",
                if r.domains.is_empty() {
                    "unknown".into()
                } else {
                    r.domains.join(", ")
                }
            )
            .map_err(w)?;
            writeln!(out, "  expires:          {}", or_unknown(&r.not_after)).map_err(w)?;
            writeln!(
                out,
                "  key:              {} (renewal.conf: {})",
                or_unknown(&r.key_type),
                or_unknown(&r.conf_key_type)
            )
            .map_err(w)?;
            let reuse = match r.reuse_key {
                Some(true) => "True",
                Some(false) => "False",
                None => "absent (False)",
            };
            writeln!(out, "  reuse_key:        {reuse}").map_err(w)?;
            writeln!(out, "  TLSA:             {}", or_unknown(&r.tlsa_3_1_1)).map_err(w)?;
            writeln!(out, "  key matches cert: {}", yes_no(r.key_matches_cert)).map_err(w)?;
        }
        if r.problems.is_empty() {
            writeln!(out, "  problems:         none").map_err(w)?;
        }
        for p in &r.problems {
            writeln!(out, "  problem: {p}").map_err(w)?;
        }
    }
    Ok(exit::OK)
}

/// One lineage of another client than certbot.
fn client_row(name: &str, client: &dyn AcmeClient) -> Row {
    let empty = |problem: String| Row {
        name: name.to_string(),
        client: client.kind().to_string(),
        cert_file: None,
        key_file: None,
        reuse: None,
        conf: String::new(),
        domains: Vec::new(),
        not_after: None,
        key_type: None,
        conf_key_type: None,
        reuse_key: None,
        tlsa_3_1_1: None,
        key_matches_cert: None,
        cert_version: None,
        privkey_version: None,
        highest_version: None,
        archive_dir: None,
        problems: vec![problem],
    };
    let l = match client.lineage(name) {
        Ok(l) => l,
        Err(e) => return empty(e.to_string()),
    };
    let mut problems = Vec::new();
    if let ReuseSetting::Off { fix, .. } | ReuseSetting::Unknown { why: fix } = &l.reuse {
        problems.push(format!("the next renewal will change the key: {fix}"));
    }
    let matches = match (&l.key_spki, &l.cert_spki) {
        (Some(k), Some(c)) => Some(k == c),
        _ => None,
    };
    if matches == Some(false) {
        problems.push(client.key_mismatch(name));
    }
    if l.cert_spki.is_none() {
        problems.push(format!("{}: not a certificate", l.cert.display()));
    }
    Row {
        name: name.to_string(),
        client: client.kind().to_string(),
        cert_file: Some(l.cert.display().to_string()),
        key_file: Some(l.key.display().to_string()),
        reuse: Some(l.reuse.to_string()),
        conf: String::new(),
        domains: l.domains.clone(),
        not_after: None,
        key_type: l
            .cert_spki
            .as_deref()
            .and_then(|s| crate::keys::spec_of_spki(s).ok())
            .map(|s| s.to_string()),
        conf_key_type: None,
        reuse_key: Some(l.reuse.is_on()),
        tlsa_3_1_1: l
            .cert_spki
            .as_deref()
            .map(|s| TlsaRecord::dane_ee_spki(Matching::Sha256, s).to_string()),
        key_matches_cert: matches,
        cert_version: None,
        privkey_version: None,
        highest_version: None,
        archive_dir: None,
        problems,
    }
}
