//! `check`'s observation: for every target, the validated TLSA RRset and the host's
//! addresses, then a probe of every address, all concurrently and each bounded by the
//! timeout. DNS sits behind [`CheckDns`] so tests can use a fake. [`observe_servers`]:
//! every authoritative server's answer with its signature, the observation `status` makes
//! ([`crate::dns::Observe`]), once per owner.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::task::JoinSet;

use crate::dns::{DnsError, Observe, OwnerObservation, OwnerQuery, Validated};

use super::report::{Observed, Target};
use super::verdict::{ProbeFailure, ProbeResult};
use super::{ProbeOptions, probe};

/// The DNS lookups `check` needs.
#[async_trait::async_trait]
pub trait CheckDns: Send + Sync {
    /// The validated TLSA RRset at `owner` (absolute). Failures show as a non-Secure state.
    async fn validated_tlsa(&self, owner: &str) -> Validated;
    /// Every A and AAAA address of `host`.
    async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, DnsError>;
}

fn no_answer(opts: &ProbeOptions) -> String {
    format!(
        "no answer within {}",
        humantime::format_duration(opts.timeout)
    )
}

/// Observe every target; the result is in the order of `targets`.
pub async fn observe(
    dns: Arc<dyn CheckDns>,
    targets: Vec<Target>,
    opts: &ProbeOptions,
) -> Vec<Observed> {
    let mut set = JoinSet::new();
    for (i, t) in targets.iter().cloned().enumerate() {
        let dns = dns.clone();
        let opts = opts.clone();
        set.spawn(async move { (i, observe_one(dns, t, opts).await) });
    }
    let mut done: Vec<Option<Observed>> = vec![None; targets.len()];
    while let Some(joined) = set.join_next().await {
        if let Ok((i, o)) = joined {
            done[i] = Some(o);
        }
    }
    done.into_iter()
        .zip(targets)
        .map(|(o, target)| {
            o.unwrap_or_else(|| Observed {
                target,
                tlsa: Err("internal error: the check task failed".to_string()),
                addresses: Err("internal error: the check task failed".to_string()),
                probes: Vec::new(),
                servers: None,
            })
        })
        .collect()
}

async fn observe_one(dns: Arc<dyn CheckDns>, target: Target, opts: ProbeOptions) -> Observed {
    let tlsa = async {
        tokio::time::timeout(opts.timeout, dns.validated_tlsa(&target.owner))
            .await
            .map_err(|_| format!("TLSA {}: {}", target.owner, no_answer(&opts)))
    };
    let addresses_and_probes = async {
        let lookup = async {
            match target.address {
                Some(a) => Ok(Ok(vec![a])),
                None => tokio::time::timeout(opts.timeout, dns.addresses(&target.host)).await,
            }
        };
        // One family's lookup failed: the host's addresses are unknown (UNKNOWN, naming the
        // family), and the addresses the other family found are still probed.
        let mut partial: Vec<IpAddr> = Vec::new();
        let addresses = match lookup.await {
            Err(_) => Err(format!("{}: {}", target.host, no_answer(&opts))),
            Ok(Err(DnsError::FamilyFailed {
                host,
                family,
                detail,
                found,
            })) => {
                partial = found;
                Err(DnsError::FamilyFailed {
                    host,
                    family,
                    detail,
                    found: Vec::new(),
                }
                .to_string())
            }
            Ok(Err(e)) => Err(format!("{}: {e}", target.host)),
            Ok(Ok(mut a)) => {
                let mut seen = std::collections::HashSet::new();
                a.retain(|ip| seen.insert(*ip));
                Ok(a)
            }
        };
        let probes = match &addresses {
            Ok(a) => probe_all(a, &target, &opts).await,
            Err(_) => probe_all(&partial, &target, &opts).await,
        };
        (addresses, probes)
    };
    let (tlsa, (addresses, probes)) = tokio::join!(tlsa, addresses_and_probes);
    Observed {
        target,
        tlsa,
        addresses,
        probes,
        servers: None,
    }
}

/// Observe every owner of `queries` at its authoritative servers through `observer`
/// (each distinct owner once, concurrently, each bounded by `timeout`); the result is in
/// the order of `queries`, Err naming why an owner could not be observed in time.
pub async fn observe_servers(
    observer: &dyn Observe,
    queries: &[OwnerQuery],
    timeout: std::time::Duration,
) -> Vec<Result<OwnerObservation, String>> {
    let mut distinct: Vec<&OwnerQuery> = Vec::new();
    for q in queries {
        if !distinct.contains(&q) {
            distinct.push(q);
        }
    }
    let observed = futures_util::future::join_all(distinct.iter().map(|q| async move {
        match tokio::time::timeout(timeout, observer.observe(std::slice::from_ref(*q))).await {
            Err(_) => Err(format!(
                "{}: no observation within {}",
                q.owner,
                humantime::format_duration(timeout)
            )),
            Ok(mut v) if v.len() == 1 => Ok(v.remove(0)),
            Ok(_) => Err(format!("{}: internal error: no observation", q.owner)),
        }
    }))
    .await;
    queries
        .iter()
        .map(|q| {
            let i = distinct.iter().position(|d| *d == q).unwrap_or(0);
            observed[i].clone()
        })
        .collect()
}

async fn probe_all(
    addresses: &[IpAddr],
    target: &Target,
    opts: &ProbeOptions,
) -> Vec<(IpAddr, ProbeResult)> {
    let mut set = JoinSet::new();
    for (i, ip) in addresses.iter().copied().enumerate() {
        let host = target.host.clone();
        let protocol = target.protocol;
        let port = target.port;
        let opts = opts.clone();
        set.spawn(async move {
            let r = probe(SocketAddr::new(ip, port), &host, protocol, &opts).await;
            (i, r.map(|p| p.chain).map_err(|e| ProbeFailure::from(&e)))
        });
    }
    let mut results: Vec<Option<ProbeResult>> = vec![None; addresses.len()];
    while let Some(joined) = set.join_next().await {
        if let Ok((i, r)) = joined {
            results[i] = Some(r);
        }
    }
    addresses
        .iter()
        .copied()
        .zip(results)
        .map(|(ip, r)| {
            (
                ip,
                r.unwrap_or_else(|| {
                    Err(ProbeFailure {
                        unreachable: false,
                        message: "internal error: the probe task failed".to_string(),
                    })
                }),
            )
        })
        .collect()
}

/// [`CheckDns`] through the configured resolver ([`crate::dns::resolve`]).
#[derive(Debug, Clone)]
pub struct ResolverDns {
    cfg: crate::config::DnsConfig,
}

impl ResolverDns {
    pub fn new(cfg: crate::config::DnsConfig) -> Self {
        ResolverDns { cfg }
    }
}

#[async_trait::async_trait]
impl CheckDns for ResolverDns {
    async fn validated_tlsa(&self, owner: &str) -> Validated {
        crate::dns::resolve::validated_tlsa(&self.cfg, owner).await
    }

    async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, DnsError> {
        crate::dns::resolve::addresses(&self.cfg, host).await
    }
}
