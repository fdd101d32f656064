//! `danerollover dns show|add|remove`.
//!
//! `show` observes owners (every authoritative server directly, plus a validated read) and
//! prints what each server serves. Exit code: 0 when, for every owner, all servers answered
//! and agree and the validated read is Secure; 1 otherwise (2 for bad input).
//!
//! `add` / `remove` apply one [`Change`] through a configured provider, then show the owner.
//! `--dry-run` prints the change and changes nothing.

use std::fmt::Write as _;
use std::net::SocketAddr;

use super::Context;
use crate::cli::{DnsChangeArgs, DnsShowArgs};
use crate::config::Config;
use crate::dns::live::{LiveObserver, parse_servers};
use crate::dns::resolve::parse_name;
use crate::dns::{Observe, OwnerObservation, OwnerQuery, ServerOutcome, Validation, absolute};
use crate::error::{Error, exit};
use crate::provider::Change;
use crate::tlsa::TlsaRecord;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Add,
    Remove,
}

pub fn show(ctx: &Context, args: &DnsShowArgs) -> Result<u8, Error> {
    let config = ctx.config_if_any()?.unwrap_or_default();
    let explicit =
        parse_servers(&args.nameservers).map_err(|e| Error::Usage(format!("--nameserver: {e}")))?;
    let mut queries = Vec::new();
    for owner in &args.owners {
        queries.push(owner_query(&config, owner, &explicit)?);
    }
    let observer = LiveObserver::from_config(&config)?;
    let observations = super::runtime()?.block_on(observer.observe(&queries));
    print_observations(&observations, args.json)?;
    Ok(if observations.iter().all(is_good) {
        exit::OK
    } else {
        exit::FAILURE
    })
}

pub fn change(ctx: &Context, args: &DnsChangeArgs, direction: Direction) -> Result<u8, Error> {
    let config = ctx.config()?;
    let provider_config = config.providers.get(&args.provider).ok_or_else(|| {
        let known: Vec<&str> = config.providers.keys().map(String::as_str).collect();
        Error::Usage(format!(
            "--provider {}: no [providers.{}] in {} (defined: {})",
            args.provider,
            args.provider,
            ctx.config_path().display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ))
    })?;
    let records = parse_records(&args.records)?;
    let explicit =
        parse_servers(&args.nameservers).map_err(|e| Error::Usage(format!("--nameserver: {e}")))?;
    let query = owner_query(&config, &args.owner, &explicit)?;
    let observer = LiveObserver::from_config(&config)?;
    let rt = super::runtime()?;

    let zone = match &query.zone {
        Some(z) => z.clone(),
        None => rt.block_on(observer.find_zone(&query.owner))?,
    };
    let change = build_change(zone, query.owner.clone(), args.ttl, records, direction);
    if args.dry_run {
        if args.json {
            crate::outln!("{}", to_json(&change)?)?;
        } else {
            crate::out!("{change}")?;
            crate::outln!("dry run: nothing changed")?;
        }
        return Ok(exit::OK);
    }

    let provider = crate::provider::build_with_retry(
        &args.provider,
        provider_config,
        config.dns.timeout,
        crate::provider::retry::RetryPolicy::with_budget(config.dns.retry_budget),
    )?;
    rt.block_on(provider.apply(&change))?;
    if !args.json {
        crate::out!("{change}")?;
        crate::outln!(
            "applied through provider {} ({})",
            provider.name(),
            provider.kind()
        )?;
    }
    let query = OwnerQuery {
        zone: Some(change.zone.clone()),
        ..query
    };
    let observations = rt.block_on(observer.observe(std::slice::from_ref(&query)));
    print_observations(&observations, args.json)?;
    if !args.json
        && let Some(o) = observations.first()
    {
        let wanted = match direction {
            Direction::Add => o.all_servers_serve(&change.add),
            Direction::Remove => !serves_any(o, &change.remove),
        };
        if !wanted {
            crate::outln!(
                "note: not every authoritative server shows the change yet (secondaries may \
                     lag); check again with `danerollover dns show {}`",
                change.owner
            )?;
        }
    }
    Ok(exit::OK)
}

/// Whether any server answer still holds one of `records`.
fn serves_any(o: &OwnerObservation, records: &[TlsaRecord]) -> bool {
    o.servers.iter().any(|s| match &s.outcome {
        ServerOutcome::Answer(a) => records.iter().any(|r| a.records.contains(r)),
        ServerOutcome::Error { .. } => false,
    })
}

fn build_change(
    zone: String,
    owner: String,
    ttl: u32,
    records: Vec<TlsaRecord>,
    direction: Direction,
) -> Change {
    let (add, remove) = match direction {
        Direction::Add => (records, vec![]),
        Direction::Remove => (vec![], records),
    };
    Change {
        zone: absolute(&zone),
        owner,
        ttl,
        add,
        remove,
    }
}

/// TLSA records from the command line, each "3 1 1 <hex>".
pub fn parse_records(texts: &[String]) -> Result<Vec<TlsaRecord>, Error> {
    let mut out: Vec<TlsaRecord> = Vec::new();
    for t in texts {
        let r: TlsaRecord = t
            .parse()
            .map_err(|e| Error::BadInput(format!("record {t:?}: {e}")))?;
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

/// The query for one owner: zone and servers from the lineage that lists the owner (if
/// any), servers given on the command line first.
pub fn owner_query(
    config: &Config,
    owner: &str,
    explicit: &[SocketAddr],
) -> Result<OwnerQuery, Error> {
    parse_name(owner).map_err(|e| Error::BadInput(e.to_string()))?;
    let owner = absolute(owner);
    let lineage = config
        .lineages
        .iter()
        .find(|(_, l)| l.tlsa.iter().any(|t| absolute(t) == owner));
    let mut query = match lineage {
        Some((name, l)) => OwnerQuery::for_lineage(&owner, l)
            .map_err(|e| Error::BadInput(format!("[lineages.\"{name}\"] nameservers: {e}")))?,
        None => OwnerQuery {
            owner,
            zone: None,
            nameservers: vec![],
        },
    };
    if !explicit.is_empty() {
        query.nameservers = explicit.to_vec();
    }
    Ok(query)
}

/// Whether an observation is good enough for exit 0: every server answered, they agree, and
/// the validated read is Secure.
pub fn is_good(o: &OwnerObservation) -> bool {
    o.servers_agree() && o.validated.state == Validation::Secure
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    serde_json::to_string_pretty(v).map_err(|e| Error::Failed(format!("cannot write JSON: {e}")))
}

fn print_observations(observations: &[OwnerObservation], json: bool) -> Result<(), Error> {
    if json {
        crate::outln!("{}", to_json(&observations)?)?;
    } else {
        for (i, o) in observations.iter().enumerate() {
            if i > 0 {
                crate::outln!()?;
            }
            crate::out!("{}", render(o))?;
        }
    }
    Ok(())
}

/// The human-readable report of one observation.
pub fn render(o: &OwnerObservation) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  (zone {})",
        o.owner,
        o.zone.as_deref().unwrap_or("unknown")
    );
    let labels: Vec<String> = o
        .servers
        .iter()
        .map(|s| match &s.name {
            Some(n) => format!("{n} {}", s.server),
            None => s.server.to_string(),
        })
        .collect();
    let width = labels.iter().map(String::len).max().unwrap_or(0);
    for (s, label) in o.servers.iter().zip(&labels) {
        match &s.outcome {
            ServerOutcome::Error { error } => {
                let _ = writeln!(out, "  {label:<width$}  ERROR {error}");
            }
            ServerOutcome::Answer(a) => {
                let mut facts: Vec<String> = Vec::new();
                facts.push(if a.authoritative {
                    "AA".into()
                } else {
                    "no AA".into()
                });
                if let Some(serial) = a.serial {
                    facts.push(format!("serial {serial}"));
                }
                if let Some(c) = &a.cname {
                    facts.push(format!("CNAME -> {c}"));
                }
                if a.records.is_empty() {
                    if a.leaves_zone() {
                        facts.push("records at the target (below)".into());
                    } else {
                        facts.push("no TLSA records".into());
                    }
                    if let Some(n) = a.negative_ttl {
                        facts.push(format!("negative TTL {n}"));
                    }
                } else {
                    facts.push(format!(
                        "{} record(s), TTL {}",
                        a.records.len(),
                        a.ttl.map_or("?".into(), |t| t.to_string())
                    ));
                }
                let _ = writeln!(out, "  {label:<width$}  {}", facts.join(", "));
                for r in &a.records {
                    let _ = writeln!(out, "  {:<width$}    {r}", "");
                }
            }
        }
    }
    let v = &o.validated;
    let state = match v.state {
        Validation::Secure => "secure",
        Validation::Insecure => "INSECURE",
        Validation::Bogus => "BOGUS",
        Validation::Indeterminate => "INDETERMINATE",
    };
    let mut line = format!("  DNSSEC: {state}");
    if v.state == Validation::Secure {
        let _ = write!(line, ", {} record(s)", v.records.len());
        if let Some(t) = v.ttl {
            let _ = write!(line, ", TTL {t}");
        }
    }
    if let Some(d) = &v.detail {
        let _ = write!(line, " ({d})");
    }
    let _ = writeln!(out, "{line}");
    let answered = o
        .servers
        .iter()
        .all(|s| matches!(s.outcome, ServerOutcome::Answer(_)));
    let verdict = if o.servers.is_empty() {
        "no servers"
    } else if !answered {
        "NOT ALL SERVERS ANSWERED"
    } else if o.servers_agree() {
        "all servers agree"
    } else {
        "SERVERS DISAGREE"
    };
    let _ = writeln!(out, "  servers: {verdict}");
    if v.state == Validation::Secure && answered && o.servers_agree() {
        // The validated read may lag behind the servers by the resolver's cache time.
        let mut served: Vec<TlsaRecord> = o
            .servers
            .iter()
            .find_map(|s| match &s.outcome {
                ServerOutcome::Answer(a) if !a.leaves_zone() => Some(a.records.clone()),
                _ => None,
            })
            .unwrap_or_default();
        served.sort();
        let mut validated = v.records.clone();
        validated.sort();
        if served != validated {
            let _ = writeln!(
                out,
                "  note: the validated read differs from what the servers serve (resolver cache, up to the TTL)"
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{Served, ServerAnswer, Validated};

    fn rec(byte: u8) -> TlsaRecord {
        format!("3 1 1 {}", hex::encode([byte; 32]))
            .parse()
            .unwrap()
    }

    fn obs(second: ServerOutcome, state: Validation) -> OwnerObservation {
        OwnerObservation {
            owner: "_25._tcp.mail.example.test.".into(),
            chain: Vec::new(),
            zone: Some("example.test.".into()),
            servers: vec![
                ServerAnswer {
                    server: "127.0.10.1:53".parse().unwrap(),
                    name: Some("ns1.example.test.".into()),
                    outcome: ServerOutcome::Answer(Served {
                        records: vec![rec(1)],
                        ttl: Some(300),
                        serial: Some(7),
                        authoritative: true,
                        cname: None,
                        negative_ttl: None,
                        signature: crate::dns::Signature::default(),
                    }),
                },
                ServerAnswer {
                    server: "127.0.10.2:53".parse().unwrap(),
                    name: Some("ns2.example.test.".into()),
                    outcome: second,
                },
            ],
            validated: Validated {
                state,
                records: vec![rec(1)],
                ttl: Some(5),
                detail: None,
            },
        }
    }

    fn empty_answer() -> ServerOutcome {
        ServerOutcome::Answer(Served {
            records: vec![],
            ttl: None,
            serial: Some(6),
            authoritative: true,
            cname: None,
            negative_ttl: Some(60),
            signature: crate::dns::Signature::default(),
        })
    }

    #[test]
    fn render_shows_each_server_and_the_verdict() {
        let text = render(&obs(empty_answer(), Validation::Secure));
        assert!(text.contains("ns1.example.test. 127.0.10.1:53"), "{text}");
        assert!(text.contains("serial 7"), "{text}");
        assert!(text.contains(&rec(1).to_string()), "{text}");
        assert!(text.contains("no TLSA records, negative TTL 60"), "{text}");
        assert!(text.contains("SERVERS DISAGREE"), "{text}");
        assert!(text.contains("DNSSEC: secure"), "{text}");

        let down = ServerOutcome::Error {
            error: "127.0.10.2:53: no answer to TLSA x within 1s".into(),
        };
        let text = render(&obs(down, Validation::Bogus));
        assert!(text.contains("ERROR 127.0.10.2:53: no answer"), "{text}");
        assert!(text.contains("NOT ALL SERVERS ANSWERED"), "{text}");
        assert!(text.contains("BOGUS"), "{text}");
    }

    #[test]
    fn good_means_agree_and_secure() {
        let same = || {
            ServerOutcome::Answer(Served {
                records: vec![rec(1)],
                ttl: Some(300),
                serial: Some(7),
                authoritative: true,
                cname: None,
                negative_ttl: None,
                signature: crate::dns::Signature::default(),
            })
        };
        assert!(is_good(&obs(same(), Validation::Secure)));
        assert!(!is_good(&obs(same(), Validation::Insecure)));
        assert!(!is_good(&obs(empty_answer(), Validation::Secure)));
        assert!(render(&obs(same(), Validation::Secure)).contains("all servers agree"));
    }

    #[test]
    fn records_parse_or_name_the_bad_one() {
        let good = rec(1).to_string();
        assert_eq!(
            parse_records(&[good.clone(), good.clone()]).unwrap(),
            vec![rec(1)]
        );
        let e = parse_records(&[good, "3 1 1 zz".into()]).unwrap_err();
        assert!(e.to_string().contains("3 1 1 zz"), "{e}");
        assert_eq!(e.exit_code(), exit::BAD_INPUT);
    }

    #[test]
    fn owner_query_takes_the_lineage_zone_and_servers() {
        let text = r#"
[providers.lab]
type = "manual"
[lineages."mail.example.test"]
provider = "lab"
tlsa = ["_25._tcp.mail.example.test"]
zone = "example.test"
nameservers = ["127.0.10.1:53"]
"#;
        let config = Config::parse(text, std::path::Path::new("t.toml")).unwrap();
        let q = owner_query(&config, "_25._TCP.mail.example.test.", &[]).unwrap();
        assert_eq!(q.owner, "_25._tcp.mail.example.test.");
        assert_eq!(q.zone.as_deref(), Some("example.test."));
        assert_eq!(
            q.nameservers,
            vec!["127.0.10.1:53".parse::<SocketAddr>().unwrap()]
        );
        let explicit: SocketAddr = "127.0.10.2:53".parse().unwrap();
        let q = owner_query(&config, "_25._tcp.mail.example.test", &[explicit]).unwrap();
        assert_eq!(q.nameservers, vec![explicit]);
        let q = owner_query(&config, "_443._tcp.www.example.test", &[]).unwrap();
        assert_eq!((q.zone, q.nameservers.len()), (None, 0));
        assert!(owner_query(&config, "a..b", &[]).is_err());
    }

    #[test]
    fn change_direction() {
        let c = build_change(
            "example.test".into(),
            "x.example.test.".into(),
            60,
            vec![rec(1)],
            Direction::Remove,
        );
        assert_eq!(c.zone, "example.test.");
        assert!(c.add.is_empty() && c.remove == vec![rec(1)]);
        assert!(c.to_string().starts_with("- x.example.test. IN TLSA 3 1 1"));
    }
}
