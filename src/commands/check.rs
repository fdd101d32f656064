//! `danerollover check`: does every configured TLSA owner (or `--target`) authenticate what
//! its servers serve? Exit codes as monitoring plugins expect: 0 OK, 1 WARNING,
//! 2 CRITICAL, 3 UNKNOWN; the first line of output is the plugin summary.
//!
//! Load (configuration, targets), observe (DNS and probes, and every authoritative
//! server's signed answer, concurrently), decide ([`crate::probe::report::build`]),
//! report (text or JSON, metrics file).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use super::Context;
use crate::cli::{CheckArgs, StartTls};
use crate::config::{Config, DnsConfig};
use crate::dns::OwnerQuery;
use crate::dns::live::LiveObserver;
use crate::error::Error;
use crate::probe::check::{CheckDns, ResolverDns, observe, observe_servers};
use crate::probe::report::{self, Target};
use crate::probe::verdict::Status;
use crate::probe::{ProbeOptions, Protocol};
use crate::tlsa::{TlsaRecord, service_of_owner};

pub fn run(ctx: &Context, args: &CheckArgs) -> Result<u8, Error> {
    let config = if args.targets.is_empty() {
        Some(ctx.config()?)
    } else {
        ctx.config_if_any()?
    };
    let state_dir = ctx.state_dir(config.as_ref());
    let targets = if args.targets.is_empty() {
        let config = config.as_ref().ok_or_else(|| {
            Error::Usage("check needs a configuration or --target HOST:PORT".to_string())
        })?;
        lineage_targets(
            config,
            &ctx.config_path(),
            &args.names,
            args.starttls,
            |l| next_key_hashes(&state_dir, l, &next_key_matching(config, l)),
        )?
    } else {
        args.targets
            .iter()
            .map(|t| target_of(t, args.starttls))
            .collect::<Result<Vec<_>, _>>()?
    };
    let mut dns_cfg: DnsConfig = config.as_ref().map(|c| c.dns.clone()).unwrap_or_default();
    dns_cfg.timeout = dns_cfg.timeout.min(args.timeout);
    let queries: Vec<Result<OwnerQuery, String>> = targets
        .iter()
        .map(|t| owner_query(config.as_ref(), t))
        .collect();
    let zones = config.as_ref().map(|c| c.zones.clone()).unwrap_or_default();
    let observer = LiveObserver::new(&dns_cfg, &zones).map_err(|e| e.to_string());
    let dns: Arc<dyn CheckDns> = Arc::new(ResolverDns::new(dns_cfg));
    let opts = ProbeOptions::new(args.timeout);

    let rt = super::runtime()?;
    let (mut observed, servers) = rt.block_on(async {
        let servers = async {
            let ok: Vec<OwnerQuery> = queries.iter().filter_map(|q| q.clone().ok()).collect();
            let mut seen = match &observer {
                Ok(o) => observe_servers(o, &ok, args.timeout).await,
                Err(_) => Vec::new(),
            }
            .into_iter();
            queries
                .iter()
                .map(|q| match (q, &observer) {
                    (Err(e), _) | (Ok(_), Err(e)) => Err(e.clone()),
                    (Ok(_), Ok(_)) => seen
                        .next()
                        .unwrap_or_else(|| Err("internal error: no observation".to_string())),
                })
                .collect::<Vec<_>>()
        };
        tokio::join!(observe(dns, targets, &opts), servers)
    });
    for (o, s) in observed.iter_mut().zip(servers) {
        o.servers = Some(s);
    }
    let now = jiff::Timestamp::now().as_second();
    let mut rep = report::build(&observed, args.warn_days, now);
    if args.targets.is_empty()
        && let Some(config) = &config
    {
        key_refused(&mut rep, &blocked_keys(&state_dir, config, &args.names));
    }

    if args.json {
        crate::outln!("{}", report::render_json(&rep))?;
    } else {
        crate::out!("{}", report::render_text(&rep))?;
    }
    let code = match &args.metrics {
        Some(path) => super::write_metrics(path, &report::render_metrics(&rep, now), rep.status),
        None => rep.status.code(),
    };
    Ok(code)
}

/// What to observe at the authoritative servers for `target`: the owner with its
/// lineage's `zone` and `nameservers` when the lineage lists the owner (as the rollover
/// observes it), else the owner alone (zone and servers discovered).
fn owner_query(config: Option<&Config>, target: &Target) -> Result<OwnerQuery, String> {
    let lineage = target
        .lineage
        .as_ref()
        .and_then(|l| config.and_then(|c| c.lineages.get(l)))
        .filter(|lc| {
            lc.tlsa
                .iter()
                .any(|o| crate::dns::absolute(o) == target.owner)
        });
    match lineage {
        Some(lc) => OwnerQuery::for_lineage(&target.owner, lc).map_err(|e| {
            format!(
                "lineage {}: nameservers: {e}",
                target.lineage.as_deref().unwrap_or_default()
            )
        }),
        None => Ok(OwnerQuery {
            owner: target.owner.clone(),
            zone: None,
            nameservers: Vec::new(),
        }),
    }
}

/// The lineages (of `names`, all when empty) whose live key the CA refuses, as the state
/// says (`run` reads certbot's log, [`crate::rollover::blocked`]): one line each.
fn blocked_keys(state_dir: &Path, config: &Config, names: &[String]) -> Vec<String> {
    let Ok(state) = crate::store::Store::new(state_dir).read() else {
        return Vec::new();
    };
    state
        .lineages
        .iter()
        .filter(|(n, _)| config.lineages.contains_key(*n))
        .filter(|(n, _)| names.is_empty() || names.contains(n))
        .filter_map(|(n, l)| crate::rollover::blocked_current(l).map(|b| format!("{n}: {b}")))
        .collect()
}

/// A live key the CA refuses makes the check CRITICAL: the certificate cannot be renewed
/// and mail stops when it expires.
fn key_refused(rep: &mut report::Report, blocked: &[String]) {
    if blocked.is_empty() {
        return;
    }
    rep.status = Status::Critical;
    rep.exit_code = Status::Critical.code();
    let rest = rep
        .summary
        .split_once(" - ")
        .map(|(_, r)| r.to_string())
        .unwrap_or_default();
    rep.summary = format!(
        "DANE CRITICAL - {} (run `danerollover run`: the emergency rollover to the next key); {rest}",
        blocked.join("; ")
    );
}

/// The next key's records of a lineage, from its state file under `state_dir`.
///
/// The records the lineage pre-publishes for its next key (`3 1 x` of the next SPKI, one per
/// matching type in `matching`), from the state file; None when there is no state or no next key (the report then
/// says "next key: unknown").
pub fn next_key_hashes(
    state_dir: &Path,
    lineage: &str,
    matching: &[crate::tlsa::Matching],
) -> Option<Vec<TlsaRecord>> {
    let state = crate::store::Store::new(state_dir).read().ok()?;
    let next = state.lineages.get(lineage)?.next.as_ref()?;
    Some(next.key.records(matching))
}

/// The matching types the lineage publishes (its `matching`, as the rollover reads it).
fn next_key_matching(config: &Config, lineage: &str) -> Vec<crate::tlsa::Matching> {
    config
        .lineages
        .get(lineage)
        .map(|lc| crate::rollover::Policy::of(config, lc).matching)
        .unwrap_or_else(|| vec![crate::tlsa::Matching::Sha256])
}

/// The targets of the named lineages (all when `names` is empty), one per TLSA owner,
/// without duplicates.
pub fn lineage_targets(
    config: &Config,
    config_path: &Path,
    names: &[String],
    starttls: Option<StartTls>,
    next_key: impl Fn(&str) -> Option<Vec<TlsaRecord>>,
) -> Result<Vec<Target>, Error> {
    if config.lineages.is_empty() {
        return Err(Error::Usage(format!(
            "nothing to check: {} configures no [lineages.\"NAME\"]; add one or use --target HOST:PORT",
            config_path.display()
        )));
    }
    let chosen: Vec<&String> = if names.is_empty() {
        config.lineages.keys().collect()
    } else {
        for n in names {
            if !config.lineages.contains_key(n) {
                let known: Vec<&str> = config.lineages.keys().map(String::as_str).collect();
                return Err(Error::Usage(format!(
                    "no lineage {n:?} in {} (configured: {})",
                    config_path.display(),
                    known.join(", ")
                )));
            }
        }
        names.iter().collect()
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for name in chosen {
        let lineage = &config.lineages[name];
        let next = next_key(name);
        let mut owners = Vec::new();
        for owner in &lineage.tlsa {
            let Some((host, port, proto)) = service_of_owner(owner) else {
                return Err(Error::BadInput(format!(
                    "{}: lineages.\"{name}\".tlsa: {owner:?} is not a TLSA owner like _25._tcp.mail.example.com",
                    config_path.display()
                )));
            };
            if proto != "tcp" {
                return Err(Error::BadInput(format!(
                    "{}: lineages.\"{name}\".tlsa: {owner:?}: check probes TLS over TCP only",
                    config_path.display()
                )));
            }
            owners.push((
                crate::dns::absolute(owner),
                host.trim_end_matches('.').to_ascii_lowercase(),
                port,
            ));
        }
        // The endpoints retirement probes (`probe = false` only stops the rollover's
        // probes, not monitoring): each is judged by the RRset of its own owner when the
        // lineage has one, else by the lineage's first owner.
        for ep in crate::probe::endpoint::lineage_endpoints(name, lineage) {
            let owner = owners
                .iter()
                .find(|(_, h, p)| *h == ep.host && *p == ep.port)
                .or(owners.first())
                .map(|(o, _, _)| o.clone())
                .unwrap_or_else(|| crate::tlsa::owner_name(&ep.host, ep.port, "tcp"));
            if !seen.insert((owner.clone(), ep.address, ep.port, ep.host.clone())) {
                continue;
            }
            out.push(Target {
                owner,
                host: ep.host,
                port: ep.port,
                protocol: match starttls {
                    Some(_) => Protocol::choose(starttls, ep.port),
                    None => ep.protocol,
                },
                address: ep.address,
                lineage: Some(name.clone()),
                next_key: next.clone(),
            });
        }
    }
    Ok(out)
}

/// The target of `--target HOST:PORT`: owner `_PORT._tcp.HOST.`.
pub fn target_of(text: &str, starttls: Option<StartTls>) -> Result<Target, Error> {
    let bad = |why: &str| {
        Error::Usage(format!(
            "--target {text:?}: {why}; give HOST:PORT, e.g. mail.example.com:25"
        ))
    };
    let (host, port) = text.rsplit_once(':').ok_or_else(|| bad("no port"))?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?;
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() || host.contains(':') || host.contains(char::is_whitespace) {
        return Err(bad("no host name"));
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Err(bad(
            "an address has no TLSA owner name; give the host name the records are published for",
        ));
    }
    Ok(Target {
        owner: crate::tlsa::owner_name(&host, port, "tcp"),
        host,
        port,
        protocol: Protocol::choose(starttls, port),
        address: None,
        lineage: None,
        next_key: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
[providers.p]
type = "manual"

[lineages."mail.example.com"]
provider = "p"
tlsa = ["_25._tcp.mail.example.com", "_465._tcp.mail.example.com", "_143._tcp.imap.example.com."]

[lineages."www.example.com"]
provider = "p"
tlsa = ["_443._tcp.www.example.com", "_25._tcp.mail.example.com"]
"#;

    fn config() -> Config {
        Config::parse(CONFIG, Path::new("/c.toml")).unwrap()
    }

    #[test]
    fn a_live_key_the_ca_refuses_is_critical() {
        use crate::rollover::{CurrentKey, KeyInfo, LineageState, RenewalRefusal, note_refusal};
        let dir = tempfile::tempdir().unwrap();
        let t = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let key = KeyInfo::from_spki(b"live");
        let mut ls = LineageState {
            current: Some(CurrentKey {
                key: key.clone(),
                since: t,
            }),
            ..Default::default()
        };
        let ok = |state: &crate::store::State| {
            let store = crate::store::Store::new(dir.path());
            let lock = store.lock(std::time::Duration::from_secs(1)).unwrap();
            lock.save(state).unwrap();
        };
        let mut state = crate::store::State::default();
        state.lineages.insert("mail.example.com".into(), ls.clone());
        ok(&state);
        assert!(blocked_keys(dir.path(), &config(), &[]).is_empty());
        note_refusal(
            &mut ls,
            &RenewalRefusal::KeyBlocked {
                lineage: "mail.example.com".into(),
                key: Some(key.id.clone()),
                at: t,
                evidence: "certbot's log".into(),
                detail: "key is blocked".into(),
            },
            t,
        );
        state.lineages.insert("mail.example.com".into(), ls);
        ok(&state);
        let blocked = blocked_keys(dir.path(), &config(), &[]);
        assert_eq!(blocked.len(), 1, "{blocked:?}");
        assert!(blocked_keys(dir.path(), &config(), &["www.example.com".into()]).is_empty());
        let mut rep = report::build(&[], 14, t.as_second());
        assert_ne!(rep.status, Status::Critical);
        key_refused(&mut rep, &blocked);
        assert_eq!(rep.status, Status::Critical);
        assert_eq!(rep.exit_code, 2);
        assert!(
            rep.summary
                .starts_with("DANE CRITICAL - mail.example.com: the CA refuses the key"),
            "{}",
            rep.summary
        );
    }

    #[test]
    fn lineage_owners_become_targets_with_protocols_from_ports() {
        let t = lineage_targets(&config(), Path::new("/c.toml"), &[], None, |_| None).unwrap();
        let got: Vec<(&str, &str, u16, Protocol, Option<&str>)> = t
            .iter()
            .map(|t| {
                (
                    t.owner.as_str(),
                    t.host.as_str(),
                    t.port,
                    t.protocol,
                    t.lineage.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "_25._tcp.mail.example.com.",
                    "mail.example.com",
                    25,
                    Protocol::Smtp,
                    Some("mail.example.com")
                ),
                (
                    "_465._tcp.mail.example.com.",
                    "mail.example.com",
                    465,
                    Protocol::Tls,
                    Some("mail.example.com")
                ),
                (
                    "_143._tcp.imap.example.com.",
                    "imap.example.com",
                    143,
                    Protocol::Imap,
                    Some("mail.example.com")
                ),
                (
                    "_443._tcp.www.example.com.",
                    "www.example.com",
                    443,
                    Protocol::Tls,
                    Some("www.example.com")
                ),
            ]
        );
    }

    #[test]
    fn named_lineages_starttls_override_and_next_key() {
        let next: TlsaRecord = format!("3 1 1 {}", "ab".repeat(32)).parse().unwrap();
        let t = lineage_targets(
            &config(),
            Path::new("/c.toml"),
            &["www.example.com".to_string()],
            Some(StartTls::None),
            |l| (l == "www.example.com").then(|| vec![next.clone()]),
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert!(t.iter().all(|t| t.protocol == Protocol::Tls));
        assert!(t.iter().all(|t| t.next_key == Some(vec![next.clone()])));
        let err = lineage_targets(
            &config(),
            Path::new("/c.toml"),
            &["nope".to_string()],
            None,
            |_| None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("nope") && err.contains("www.example.com"),
            "{err}"
        );
    }

    #[test]
    fn bad_owner_in_config_is_bad_input() {
        let text = CONFIG.replace("_443._tcp.www.example.com", "www.example.com");
        let c = Config::parse(&text, Path::new("/c.toml")).unwrap();
        let err = lineage_targets(&c, Path::new("/c.toml"), &[], None, |_| None).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::BAD_INPUT);
        assert!(err.to_string().contains("www.example.com"), "{err}");
    }

    /// The servers' observation of a lineage's owner uses its `zone` and `nameservers`, as
    /// the rollover does; an owner the lineage does not list, or `--target`'s, is discovered.
    #[test]
    fn owner_queries_follow_the_lineage() {
        let text = CONFIG.replace(
            "tlsa = [\"_443._tcp.www.example.com\", \"_25._tcp.mail.example.com\"]",
            "tlsa = [\"_443._tcp.www.example.com\", \"_25._tcp.mail.example.com\"]\nzone = \"example.com\"\nnameservers = [\"192.0.2.53\", \"192.0.2.54:5353\"]",
        );
        let c = Config::parse(&text, Path::new("/c.toml")).unwrap();
        let targets = lineage_targets(&c, Path::new("/c.toml"), &[], None, |_| None).unwrap();
        let www = targets
            .iter()
            .find(|t| t.owner == "_443._tcp.www.example.com.")
            .unwrap();
        let q = owner_query(Some(&c), www).unwrap();
        assert_eq!(q.owner, "_443._tcp.www.example.com.");
        assert_eq!(q.zone.as_deref(), Some("example.com."));
        assert_eq!(
            q.nameservers,
            vec![
                "192.0.2.53:53".parse().unwrap(),
                "192.0.2.54:5353".parse().unwrap()
            ]
        );
        // The mail lineage sets neither.
        let mail = targets
            .iter()
            .find(|t| t.lineage.as_deref() == Some("mail.example.com"))
            .unwrap();
        let q = owner_query(Some(&c), mail).unwrap();
        assert_eq!((q.zone, q.nameservers), (None, Vec::new()));
        // An owner the lineage does not list (an endpoint's own), and --target.
        let mut other = www.clone();
        other.owner = "_587._tcp.www.example.com.".into();
        assert_eq!(owner_query(Some(&c), &other).unwrap().zone, None);
        let t = target_of("www.example.com:443", None).unwrap();
        let q = owner_query(None, &t).unwrap();
        assert_eq!(q.owner, "_443._tcp.www.example.com.");
        assert_eq!((q.zone, q.nameservers), (None, Vec::new()));
    }

    #[test]
    fn targets_from_host_port() {
        let t = target_of("Mail.Example.com.:25", None).unwrap();
        assert_eq!(t.owner, "_25._tcp.mail.example.com.");
        assert_eq!(t.host, "mail.example.com");
        assert_eq!(t.protocol, Protocol::Smtp);
        assert_eq!(
            target_of("mail.example.com:2525", Some(StartTls::Smtp))
                .unwrap()
                .protocol,
            Protocol::Smtp
        );
        assert_eq!(
            target_of("imap.example.com:993", None).unwrap().protocol,
            Protocol::Tls
        );
        for bad in [
            "mail.example.com",
            "mail.example.com:0",
            ":25",
            "127.0.0.1:25",
            "[::1]:25",
            "x:99999",
        ] {
            assert!(target_of(bad, None).is_err(), "{bad}");
        }
    }
}
