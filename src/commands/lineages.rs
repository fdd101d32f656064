//! `danerollover lineages`: every certbot lineage with its names, expiry, key, reuse_key,
//! live `3 1 1` record, whether the key matches the certificate, and its problems.

use std::io::Write;

use serde::Serialize;

use super::Context;
use crate::acme::certbot::{self, Listed};
use crate::cli::LineagesArgs;
use crate::error::{Error, exit};

/// One lineage in the JSON output.
#[derive(Debug, Serialize)]
struct Row {
    name: String,
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
    let listed = certbot::list(&dir)?;
    let mut rows: Vec<Row> = listed.iter().map(row).collect();
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
        writeln!(out, "{}", r.name).map_err(w)?;
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
