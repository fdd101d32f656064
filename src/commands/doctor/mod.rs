//! `danerollover doctor [NAME]`: a read-only look at everything a safe rollover depends
//! on, one line per item, each problem with its fix: the configuration and the secrets,
//! each provider reachable through a read-only call, the zone signed and validating, every
//! authoritative server answering, certbot's version and `reuse_key`, the deploy hook, the
//! timer, and the endpoints serving the current key. Exit 0 when nothing failed (warnings
//! allowed), 1 otherwise. It never writes, never takes the lock and never calls a
//! provider's write API.

use std::fmt::Write as _;

use serde::Serialize;

use super::Context;
use crate::cli::DoctorArgs;
use crate::config::Config;
use crate::dns::live::LiveObserver;
use crate::error::{Error, exit};

mod certbot;
mod host;
mod lineage;
mod providers;
pub mod zones;

pub use lineage::dns_items;

/// How an item fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warn,
    Fail,
    /// Not checkable here (e.g. a provider type without a read-only call).
    Skip,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "WARN",
            Level::Fail => "FAIL",
            Level::Skip => "skip",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// What was looked at, e.g. `provider home: secret`.
    pub item: String,
    pub level: Level,
    /// What was found.
    pub detail: String,
    /// What to do about it (for warnings and failures).
    pub fix: Option<String>,
}

fn item(name: impl Into<String>, level: Level, detail: impl Into<String>) -> Item {
    Item {
        item: name.into(),
        level,
        detail: detail.into(),
        fix: None,
    }
}

impl Item {
    fn fix(mut self, fix: impl Into<String>) -> Item {
        self.fix = Some(fix.into());
        self
    }
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub items: Vec<Item>,
    pub failures: usize,
    pub warnings: usize,
}

impl Report {
    pub fn new(items: Vec<Item>) -> Report {
        let count = |l| items.iter().filter(|i| i.level == l).count();
        Report {
            failures: count(Level::Fail),
            warnings: count(Level::Warn),
            items,
        }
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        for i in &self.items {
            let _ = write!(out, "{:<4} {}: {}", i.level.label(), i.item, i.detail);
            if let Some(f) = &i.fix {
                let _ = write!(out, ": fix: {f}");
            }
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "{} failure(s), {} warning(s)",
            self.failures, self.warnings
        );
        out
    }

    pub fn exit_code(&self) -> u8 {
        if self.failures > 0 {
            exit::FAILURE
        } else {
            exit::OK
        }
    }
}

pub fn run(ctx: &Context, args: &DoctorArgs) -> Result<u8, Error> {
    let items = super::runtime()?.block_on(diagnose(ctx, args));
    let report = Report::new(items);
    super::wire::print(args.json, &report, || report.text())?;
    Ok(report.exit_code())
}

async fn diagnose(ctx: &Context, args: &DoctorArgs) -> Vec<Item> {
    let mut items = Vec::new();
    let path = ctx.config_path();
    let config = match Config::load(&path) {
        Ok(c) => {
            items.push(item(
                "config",
                Level::Ok,
                format!("{} loads", path.display()),
            ));
            c
        }
        Err(e) => {
            items.push(
                item("config", Level::Fail, e.to_string())
                    .fix(format!("edit {} (see `man danerollover`)", path.display())),
            );
            return items;
        }
    };
    let names: Vec<String> = match &args.name {
        Some(n) if config.lineages.contains_key(n) => vec![n.clone()],
        Some(n) => {
            items.push(
                item(
                    format!("lineage {n}"),
                    Level::Fail,
                    "not in the configuration",
                )
                .fix(format!("danerollover init {n} --provider PROVIDER")),
            );
            return items;
        }
        None => config.lineages.keys().cloned().collect(),
    };
    if names.is_empty() {
        items.push(
            item(
                "lineages",
                Level::Warn,
                "the configuration manages no lineage",
            )
            .fix("danerollover init NAME --provider PROVIDER"),
        );
    }
    let le_dir = ctx.letsencrypt_dir(Some(&config));
    let state_dir = ctx.state_dir(Some(&config));
    items.push(host::state_item(&state_dir));
    items.extend(host::silent_zone_items(&state_dir, &config));
    // certbot's own checks, when some lineage (or none yet: the default) is certbot's.
    let certbot_names: Vec<String> = names
        .iter()
        .filter(|n| config.lineages[n.as_str()].client == crate::acme::ClientKind::Certbot)
        .cloned()
        .collect();
    let mut version = None;
    if names.is_empty() || !certbot_names.is_empty() {
        let (certbot_item, v) = certbot::certbot_version(&config).await;
        version = v;
        items.push(certbot_item);
        items.push(certbot::deploy_hook(&le_dir, &certbot_names));
    }
    items.push(host::timer(&args.systemd_dir));
    items.extend(host::safety_inputs(&config, &le_dir, &state_dir, &names));
    let observer = match LiveObserver::from_config(&config) {
        Ok(o) => Some(o),
        Err(e) => {
            items.push(
                item("dns", Level::Fail, e.to_string())
                    .fix(format!("fix [dns] in {}", path.display())),
            );
            None
        }
    };
    // Providers: secret, then a read-only call at the first owner of a lineage using it.
    let mut providers: Vec<&str> = names
        .iter()
        .map(|n| config.lineages[n].provider.as_str())
        .collect();
    providers.sort_unstable();
    providers.dedup();
    for p in providers {
        items.extend(providers::provider_items(&config, &names, p, observer.as_ref()).await);
    }
    // Zones: signed, and validating Secure (DNSKEY at the zone, DS at the parent).
    if let Some(o) = observer.as_ref() {
        items.extend(zones::zone_items(&config, &names, o).await);
    }
    for name in &names {
        items.extend(
            lineage::lineage_items(&config, &le_dir, name, observer.as_ref(), version).await,
        );
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_counts_and_exit() {
        let r = Report::new(vec![
            item("a", Level::Ok, "fine"),
            item("b", Level::Warn, "meh").fix("do x"),
        ]);
        assert_eq!(r.exit_code(), exit::OK);
        assert!(r.text().contains("WARN b: meh: fix: do x"), "{}", r.text());
        let r = Report::new(vec![item("c", Level::Fail, "broken").fix("do y")]);
        assert_eq!((r.failures, r.exit_code()), (1, exit::FAILURE));
    }
}
