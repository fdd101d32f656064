//! `danerollover doctor [NAME]`: a read-only look at everything a safe rollover depends
//! on, one line per item, each problem with its fix: the configuration and the secrets,
//! each provider reachable through a read-only call, the zone signed and validating, every
//! authoritative server answering, certbot's version and `reuse_key`, the deploy hook, the
//! timer, and the endpoints serving the current key. Exit 0 when nothing failed (warnings
//! allowed), 1 otherwise. It never writes, never takes the lock and never calls a
//! provider's write API.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use super::Context;
use crate::acme::certbot;
use crate::cli::DoctorArgs;
use crate::config::Config;
use crate::dns::live::LiveObserver;
use crate::dns::{Observe, OwnerQuery, ServerOutcome, Validation};
use crate::error::{Error, exit};
use crate::probe::ProbeOptions;
use crate::probe::check::{ResolverDns, observe};
use crate::probe::report::{self, Status};

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
    items.push(state_item(&state_dir));
    items.extend(silent_zone_items(&state_dir, &config));
    // certbot's own checks, when some lineage (or none yet: the default) is certbot's.
    let certbot_names: Vec<String> = names
        .iter()
        .filter(|n| config.lineages[n.as_str()].client == crate::acme::ClientKind::Certbot)
        .cloned()
        .collect();
    let mut version = None;
    if names.is_empty() || !certbot_names.is_empty() {
        let (certbot_item, v) = certbot_version(&config).await;
        version = v;
        items.push(certbot_item);
        items.push(deploy_hook(&le_dir, &certbot_names));
    }
    items.push(timer(&args.systemd_dir));
    items.extend(safety_inputs(&le_dir, &state_dir));
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
        items.extend(provider_items(&config, &names, p, observer.as_ref()).await);
    }
    // Zones: signed, and validating Secure (DNSKEY at the zone, DS at the parent).
    if let Some(o) = observer.as_ref() {
        items.extend(super::doctor_zones::zone_items(&config, &names, o).await);
    }
    for name in &names {
        items.extend(lineage_items(&config, &le_dir, name, observer.as_ref(), version).await);
    }
    items
}

fn state_item(dir: &Path) -> Item {
    use std::os::unix::fs::PermissionsExt;
    let name = "state directory";
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => item(
            name,
            Level::Fail,
            format!("{} is not a directory", dir.display()),
        ),
        Ok(m) if m.permissions().mode() & 0o007 != 0 => item(
            name,
            Level::Fail,
            format!(
                "{} is open to others (mode {:o})",
                dir.display(),
                m.permissions().mode() & 0o7777
            ),
        )
        .fix(format!("chmod o= {}", dir.display())),
        Ok(_) => item(name, Level::Ok, format!("{}", dir.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => item(
            name,
            Level::Warn,
            format!(
                "{} does not exist yet (the first change creates it, mode 0700)",
                dir.display()
            ),
        )
        .fix(format!("install -d -m 0700 {}", dir.display())),
        Err(e) => item(name, Level::Fail, format!("{}: {e}", dir.display()))
            .fix("run as root or as a member of the danerollover group"),
    }
}

/// The zones seen changing without a new serial (kept in the observation cache): their
/// observations are never reused, which costs every pass a full look; the fix is in the
/// zone's serials.
fn silent_zone_items(state_dir: &Path, config: &Config) -> Vec<Item> {
    let store = crate::store::Store::new(state_dir);
    let cache = store.read_observations(&crate::dns::reuse::resolver_of(&config.dns));
    cache
        .silent
        .iter()
        .map(|s| {
            item(
                format!("zone {}", s.zone.trim_end_matches('.')),
                Level::Warn,
                s.problem(),
            )
            .fix(format!(
                "make each change raise the serial of {}, then rm {}",
                s.zone.trim_end_matches('.'),
                store.observations_path().display()
            ))
        })
        .collect()
}

/// The inputs of the switch the machine itself gives: the boot clock (a stepped wall clock
/// must not shorten a wait) and certbot's lock (a pass must not act while certbot runs).
/// Either unreadable holds every switch: a failure, naming the input and the fix.
fn safety_inputs(le_dir: &Path, state_dir: &Path) -> Vec<Item> {
    use crate::engine::traits::Clock;
    let mut items = Vec::new();
    let clock = crate::engine::real::SystemClock;
    match clock.monotonic() {
        Ok(m) => {
            let mut detail = format!(
                "clock_gettime(CLOCK_BOOTTIME) reads {:.3} s since boot",
                m.since_boot_ms as f64 / 1000.0
            );
            // How far the wall clock runs ahead of the time the last pass counted.
            if let Ok(state) = crate::store::Store::new(state_dir).read()
                && let Some(a) = &state.clock
                && !crate::rollover::clock::rebooted(&a.mono, &m)
            {
                let counted = m.since_boot_ms - a.mono.since_boot_ms;
                let wall = clock.now().duration_since(a.wall).as_millis();
                let ahead = wall - i128::from(counted);
                if ahead > 1000 {
                    let _ = write!(
                        detail,
                        "; the wall clock runs {} ahead of the time counted since the last pass (a step forward, or a reboot not seen): waits are counted by the boot clock",
                        humantime::format_duration(std::time::Duration::from_millis(
                            u64::try_from(ahead).unwrap_or(u64::MAX)
                        ))
                    );
                }
            }
            items.push(item("boot clock", Level::Ok, detail));
        }
        Err(why) => items.push(
            item("boot clock", Level::Fail, format!("unknown: {why}"))
                .fix("run on Linux with clock_gettime allowed; until then no switch or retirement happens"),
        ),
    }
    let lock = le_dir.join(".certbot.lock");
    match crate::engine::real::certbot_lock_held(&lock) {
        Ok(held) => items.push(item(
            "certbot's lock",
            Level::Ok,
            format!(
                "{} is {} (asked with fcntl F_GETLK)",
                lock.display(),
                if held {
                    "held: certbot runs"
                } else {
                    "not held"
                }
            ),
        )),
        Err(why) => items.push(
            item("certbot's lock", Level::Fail, format!("unknown: {why}"))
                .fix("until it can be asked, an interrupted switch is left alone"),
        ),
    }
    items
}

/// `certbot --version`, and the version it names (None when it cannot be read: then
/// the lineages' findings say "version unknown").
async fn certbot_version(config: &Config) -> (Item, Option<certbot::version::CertbotVersion>) {
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
fn deploy_hook(le_dir: &Path, names: &[String]) -> Item {
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

/// The timer's enablement symlink (an offline check: no systemd needed).
fn timer(systemd_dir: &Path) -> Item {
    let link = systemd_dir.join("timers.target.wants/danerollover.timer");
    // The symlink is what `systemctl enable` leaves; its target may live in a unit
    // directory of the running system that this check does not resolve.
    if std::fs::symlink_metadata(&link).is_ok() {
        item("timer", Level::Ok, format!("enabled ({})", link.display()))
    } else {
        item(
            "timer",
            Level::Warn,
            format!("not enabled (no {})", link.display()),
        )
        .fix("systemctl enable --now danerollover.timer")
    }
}

async fn provider_items(
    config: &Config,
    names: &[String],
    provider: &str,
    observer: Option<&LiveObserver>,
) -> Vec<Item> {
    let label = format!("provider {provider}");
    let Some(pc) = config.providers.get(provider) else {
        return vec![
            item(&label, Level::Fail, "not defined in the configuration")
                .fix(format!("add [providers.{provider}]")),
        ];
    };
    let built = match crate::provider::build(provider, pc, config.dns.timeout) {
        Ok(p) => p,
        Err(e) => {
            return vec![item(format!("{label}: secret"), Level::Fail, e.to_string())
                .fix("make the secret file readable by root only (chmod 600) and not empty, or set its variable")];
        }
    };
    let mut items = vec![item(format!("{label}: secret"), Level::Ok, "usable")];
    let owner = names
        .iter()
        .map(|n| &config.lineages[n])
        .find(|l| l.provider == provider)
        .and_then(|l| l.tlsa.first().map(|o| (l, o)));
    let (Some((lc, owner)), Some(observer)) = (owner, observer) else {
        return items;
    };
    let owner = crate::dns::absolute(owner);
    let zone = match &lc.zone {
        Some(z) => crate::dns::absolute(z),
        None => match observer.find_zone(&owner).await {
            Ok(z) => z,
            Err(e) => {
                items.push(item(
                    format!("{label}: API"),
                    Level::Skip,
                    format!("no zone to ask about: {e}"),
                ));
                return items;
            }
        },
    };
    items.push(match built.read(&zone, &owner).await {
        Ok(Some(view)) => item(
            format!("{label}: API"),
            Level::Ok,
            format!(
                "answered a read of {owner} ({} TLSA record(s))",
                view.records.len()
            ),
        ),
        Ok(None) => match pc {
            crate::config::ProviderConfig::Rfc2136 { server, .. } => {
                primary_soa(&label, server, &zone, config.dns.timeout).await
            }
            _ => item(
                format!("{label}: API"),
                Level::Skip,
                format!("a {} provider has no read-only call", built.kind()),
            ),
        },
        Err(e) => item(format!("{label}: API"), Level::Fail, e.to_string())
            .fix("check the provider's url and credentials; `danerollover config` shows them"),
    });
    items
}

/// An RFC 2136 provider's primary: does it answer for the zone (SOA, authoritative)? A
/// read-only stand-in for the update, which has no read.
async fn primary_soa(label: &str, server: &str, zone: &str, timeout: std::time::Duration) -> Item {
    use crate::dns::{interpret, resolve, wire};
    let name = format!("{label}: primary");
    let fix = "check the provider's server and that it is the primary of the zone";
    let (addr, zname) = match (resolve::parse_server(server), resolve::parse_name(zone)) {
        (Ok(a), Ok(z)) => (a, z),
        (Err(e), _) | (_, Err(e)) => return item(name, Level::Fail, e.to_string()).fix(fix),
    };
    let q = wire::query(
        &zname,
        hickory_proto::rr::RecordType::SOA,
        wire::Flags::AUTHORITATIVE,
    );
    match wire::exchange(addr, &q, timeout).await {
        Ok(m) if !m.metadata.authoritative => item(
            name,
            Level::Fail,
            format!("{addr} is not authoritative for {zone}"),
        )
        .fix(fix),
        Ok(m) => match interpret::soa_serial(&zname, &m) {
            Ok(serial) => item(
                name,
                Level::Ok,
                format!("{addr} serves {zone} (SOA serial {serial})"),
            ),
            Err(e) => item(name, Level::Fail, format!("{addr}: SOA {zone}: {e}")).fix(fix),
        },
        Err(e) => item(name, Level::Fail, e.to_string()).fix(fix),
    }
}

async fn lineage_items(
    config: &Config,
    le_dir: &Path,
    name: &str,
    observer: Option<&LiveObserver>,
    version: Option<certbot::version::CertbotVersion>,
) -> Vec<Item> {
    let lc = &config.lineages[name];
    let mut items = Vec::new();
    let current = if lc.client != crate::acme::ClientKind::Certbot {
        client_items(config, le_dir, name, &mut items)
    } else {
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
    };
    if let Some(observer) = observer {
        let queries: Result<Vec<OwnerQuery>, _> = lc
            .tlsa
            .iter()
            .map(|o| OwnerQuery::for_lineage(o, lc))
            .collect();
        match queries {
            Ok(q) => {
                for obs in observer.observe(&q).await {
                    items.extend(dns_items(name, &obs, current.as_ref()));
                }
            }
            Err(e) => items.push(item(format!("{name}: dns"), Level::Fail, e.to_string())),
        }
    }
    items.extend(endpoint_items(config, name, current.as_ref()).await);
    items
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

/// What DNS says about one owner: every server answering, signed and validated, the
/// current key's record there.
pub fn dns_items(
    name: &str,
    obs: &crate::dns::OwnerObservation,
    current: Option<&crate::tlsa::TlsaRecord>,
) -> Vec<Item> {
    let owner = &obs.owner;
    let mut items = Vec::new();
    let failing: Vec<String> = obs
        .servers
        .iter()
        .filter_map(|s| match &s.outcome {
            ServerOutcome::Error { error } => Some(format!(
                "{} ({}): {error}",
                s.name.as_deref().unwrap_or("?"),
                s.server
            )),
            ServerOutcome::Answer(a) if !a.authoritative => Some(format!(
                "{} ({}): not authoritative",
                s.name.as_deref().unwrap_or("?"),
                s.server
            )),
            ServerOutcome::Answer(_) => None,
        })
        .collect();
    let label = format!("{name}: {owner} servers");
    items.push(if obs.servers.is_empty() {
        item(label, Level::Fail, "no authoritative server found")
            .fix("check the zone's NS records or set nameservers in the configuration")
    } else if failing.is_empty() {
        item(
            label,
            Level::Ok,
            format!("all {} authoritative server(s) answer", obs.servers.len()),
        )
    } else {
        item(label, Level::Fail, failing.join("; "))
            .fix("bring the server up or fix its zone transfer; a rollover waits for every server")
    });
    let label = format!("{name}: {owner} DNSSEC");
    items.push(match obs.validated.state {
        Validation::Secure => item(label, Level::Ok, "signed and validated (Secure)"),
        other => item(
            label,
            Level::Fail,
            format!(
                "{other:?}{}",
                obs.validated
                    .detail
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            ),
        )
        .fix("sign the zone and publish its DS in the parent; DANE needs a Secure TLSA RRset"),
    });
    if let Some(cur) = current {
        let label = format!("{name}: {owner} current key");
        items.push(if obs.validated.records.contains(cur) {
            item(label, Level::Ok, format!("{cur} published"))
        } else {
            item(
                label,
                Level::Fail,
                format!("{cur} is not in the validated RRset"),
            )
            .fix(format!("danerollover prepublish {name}"))
        });
    }
    items
}

async fn endpoint_items(
    config: &Config,
    name: &str,
    current: Option<&crate::tlsa::TlsaRecord>,
) -> Vec<Item> {
    let targets = match super::check::lineage_targets(
        config,
        Path::new("config"),
        &[name.to_string()],
        None,
        |_| None,
    ) {
        Ok(t) => t,
        Err(e) => {
            return vec![item(
                format!("{name}: endpoints"),
                Level::Fail,
                e.to_string(),
            )];
        }
    };
    let dns: Arc<dyn crate::probe::check::CheckDns> =
        Arc::new(ResolverDns::new(config.dns.clone()));
    let opts = ProbeOptions::new(config.dns.timeout.max(std::time::Duration::from_secs(5)));
    let observed = observe(dns, targets, &opts).await;
    let rep = report::build(&observed, 14, jiff::Timestamp::now().as_second());
    let mut items = Vec::new();
    for o in &rep.owners {
        let label = format!("{name}: endpoint {}:{}", o.host, o.port);
        if o.addresses.is_empty() {
            items.push(
                item(
                    label,
                    Level::Fail,
                    o.address_error
                        .clone()
                        .unwrap_or_else(|| "no address".into()),
                )
                .fix(format!("danerollover check {name}")),
            );
            continue;
        }
        let mut bad = Vec::new();
        for a in &o.addresses {
            let serves_current = match (current, &a.leaf_spki_sha256) {
                (Some(cur), Some(k)) => cur.to_string().ends_with(k.as_str()),
                _ => false,
            };
            if !serves_current {
                bad.push(format!(
                    "{}: {}",
                    a.address,
                    a.error
                        .clone()
                        .unwrap_or_else(|| "does not serve the current key".into())
                ));
            }
        }
        items.push(if bad.is_empty() && o.status() == Status::Ok {
            item(label, Level::Ok, format!("{} address(es) serve the current key and match DNS", o.addresses.len()))
        } else if bad.is_empty() {
            item(label, Level::Warn, format!("serves the current key; check says {}", o.status().label()))
                .fix(format!("danerollover check {name}"))
        } else {
            item(label, Level::Fail, bad.join("; "))
                .fix("reload the service so it serves the live certificate (the lineage's reload commands)")
        });
    }
    items
}

/// The checks of a lineage of another ACME client than certbot: its files, whether it keeps
/// the key, whether the key file matches the certificate, whether it is running; the live
/// record when the certificate can be read.
fn client_items(
    config: &Config,
    le_dir: &Path,
    name: &str,
    items: &mut Vec<Item>,
) -> Option<crate::tlsa::TlsaRecord> {
    use crate::acme::{ClientLock, ReuseSetting};
    let lc = &config.lineages[name];
    let label = format!("{name}: {}", lc.client);
    let client = match crate::acme::build(lc.client, &lc.client_settings(), le_dir, &config.certbot)
    {
        Ok(c) => c,
        Err(e) => {
            items.push(item(label, Level::Fail, e.to_string()));
            return None;
        }
    };
    let l = match client.lineage(name) {
        Ok(l) => l,
        Err(e) => {
            items.push(item(label, Level::Fail, e.to_string()));
            return None;
        }
    };
    items.push(item(
        label.clone(),
        Level::Ok,
        format!("{} with {}", l.cert.display(), l.key.display()),
    ));
    let reuse = format!("{name}: keeps the key");
    items.push(match &l.reuse {
        ReuseSetting::On { by } => item(reuse, Level::Ok, by.clone()),
        ReuseSetting::Flag { note } => item(reuse, Level::Warn, note.clone()),
        ReuseSetting::Off { by, fix } => {
            item(reuse, Level::Fail, format!("no ({by})")).fix(fix.clone())
        }
        ReuseSetting::Unknown { why } => item(reuse, Level::Fail, why.clone()),
    });
    if let (Some(k), Some(c)) = (&l.key_spki, &l.cert_spki)
        && k != c
    {
        items.push(item(
            format!("{name}: key matches certificate"),
            Level::Fail,
            client.key_mismatch(name),
        ));
    }
    for lock in client.locks() {
        if let ClientLock::Exists(p) = &lock
            && p.exists()
        {
            items.push(
                item(
                    format!("{name}: {} lock", lc.client),
                    Level::Warn,
                    format!(
                        "{} exists: {} is running, or was killed and left it",
                        p.display(),
                        lc.client
                    ),
                )
                .fix(format!("remove {} once no {} runs", p.display(), lc.client)),
            );
        }
    }
    match client.renew_argv(name) {
        Ok(argv) => items.push(item(
            format!("{name}: switch command"),
            Level::Ok,
            argv.join(" "),
        )),
        Err(e) => items.push(item(
            format!("{name}: switch command"),
            Level::Fail,
            e.to_string(),
        )),
    }
    l.cert_spki
        .as_deref()
        .map(|s| crate::tlsa::TlsaRecord::dane_ee_spki(crate::tlsa::Matching::Sha256, s))
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
