//! `danerollover check --mx DOMAIN...`: each mail domain as a DANE-validating sender sees
//! it (RFC 7672): the MX RRset, every MX host's TLSA RRset, every address. Exit codes as
//! monitoring plugins expect: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
//!
//! Load (the `[dns]` configuration when there is one), observe ([`crate::probe::mx`], then
//! the authoritative servers of every TLSA owner where DANE applies, as `check` does),
//! decide ([`crate::probe::mx_report::build`]), report (text, JSON, metrics file).

use std::sync::Arc;

use super::Context;
use crate::cli::CheckArgs;
use crate::config::DnsConfig;
use crate::dns::live::LiveObserver;
use crate::dns::{OwnerQuery, Validation};
use crate::error::Error;
use crate::probe::ProbeOptions;
use crate::probe::check::observe_servers;
use crate::probe::mx::{MxDns, MxProbeOptions, ResolverMxDns, domain_of, observe};
use crate::probe::mx_report::{self, MxObserved, MxOptions, TlsaLookup};

/// At most this many probes at once.
pub const PARALLEL_PROBES: usize = 32;

pub fn run(ctx: &Context, args: &CheckArgs) -> Result<u8, Error> {
    let domains = args
        .mx
        .iter()
        .map(|d| parse_domain(d))
        .collect::<Result<Vec<_>, _>>()?;
    let config = ctx.config_if_any()?;
    let zones = config.as_ref().map(|c| c.zones.clone()).unwrap_or_default();
    let mut dns_cfg: DnsConfig = config.map(|c| c.dns).unwrap_or_default();
    dns_cfg.timeout = dns_cfg.timeout.min(args.timeout);
    let observer = LiveObserver::new(&dns_cfg, &zones).map_err(|e| e.to_string());
    let dns: Arc<dyn MxDns> = Arc::new(
        ResolverMxDns::from_config(&dns_cfg)
            .map_err(|e| Error::Usage(format!("check --mx: the resolver cannot be used: {e}")))?,
    );
    let opts = MxProbeOptions {
        probe: ProbeOptions::new(args.timeout),
        both_algorithms: args.both_algorithms,
        parallel: PARALLEL_PROBES,
    };

    let rt = super::runtime()?;
    let mut observed = rt.block_on(observe(dns, domains, &opts));
    rt.block_on(observe_tlsa_servers(
        observer.as_ref(),
        &mut observed,
        args.timeout,
    ));
    let now = jiff::Timestamp::now().as_second();
    let rep = mx_report::build(
        &observed,
        &MxOptions {
            warn_days: args.warn_days,
            days: args.days,
            rollover_scheme: args.rollover_scheme,
        },
        now,
    );

    if args.json {
        crate::outln!("{}", mx_report::render_json(&rep))?;
    } else {
        crate::out!("{}", mx_report::render_text(&rep))?;
    }
    let code = match &args.metrics {
        Some(path) => super::write_metrics(path, &mx_report::render_metrics(&rep, now), rep.status),
        None => rep.status.code(),
    };
    Ok(code)
}

/// Observe the authoritative servers of every host's TLSA owner where DANE applies (a
/// Secure RRset with records), each owner once, bounded by `timeout`; `observer` Err (it
/// cannot be made) is each one's reason.
async fn observe_tlsa_servers(
    observer: Result<&LiveObserver, &String>,
    observed: &mut [MxObserved],
    timeout: std::time::Duration,
) {
    let mut lookups: Vec<&mut TlsaLookup> = observed
        .iter_mut()
        .flat_map(|d| d.hosts.iter_mut())
        .filter_map(|h| h.tlsa.as_mut())
        .filter(|t| t.validated.state == Validation::Secure && !t.validated.records.is_empty())
        .collect();
    let queries: Vec<OwnerQuery> = lookups
        .iter()
        .map(|t| OwnerQuery {
            owner: t.owner.clone(),
            zone: None,
            nameservers: Vec::new(),
        })
        .collect();
    let seen = match observer {
        Ok(o) => observe_servers(o, &queries, timeout).await,
        Err(e) => vec![Err(e.clone()); queries.len()],
    };
    for (t, s) in lookups.iter_mut().zip(seen) {
        t.servers = Some(s);
    }
}

/// A mail domain from the command line: a host name, not an address or an owner name.
pub fn parse_domain(text: &str) -> Result<String, Error> {
    let d = domain_of(text);
    let bad = |why: &str| {
        Error::Usage(format!(
            "--mx {text:?}: {why}; give a mail domain, e.g. --mx example.com"
        ))
    };
    if d.is_empty() || d.contains(char::is_whitespace) || d.contains("..") {
        return Err(bad("not a domain name"));
    }
    if d.parse::<std::net::IpAddr>().is_ok() || d.contains(':') {
        return Err(bad("an address is not a mail domain"));
    }
    crate::dns::resolve::parse_name(&d).map_err(|e| bad(&e.to_string()))?;
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_parse_or_say_why() {
        assert_eq!(parse_domain("Example.COM.").unwrap(), "example.com");
        for bad in ["", "a..b", "192.0.2.1", "::1", "a b", "mail.example.com:25"] {
            let e = parse_domain(bad).unwrap_err();
            assert_eq!(e.exit_code(), crate::error::exit::BAD_INPUT, "{bad}");
            assert!(e.to_string().contains("--mx"), "{bad}: {e}");
        }
    }
}
