//! `check --mx`'s observation: for every domain, the validated MX RRset; for every MX host
//! (in preference order), its validated A and AAAA RRsets, then, when they are Secure, its
//! TLSA RRset at the TLSA base domain (RFC 7672 2.2.2); then a STARTTLS probe of every
//! address on port 25 (twice with `--both-algorithms`). Domains, hosts and probes run
//! concurrently; probes are bounded by a semaphore, every lookup and probe by the timeout.
//! DNS sits behind [`MxDns`] so tests can use a fake.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hickory_proto::rr::{RData, RecordType};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::dns::resolve::{Resolver, parse_name};
use crate::dns::rrset::ValidatedRrset;
use crate::dns::{DnsError, Validated, Validation};

use super::mx_report::{
    AddressLookup, HostObserved, MxLookup, MxObserved, ProbeObserved, TlsaLookup,
};
use super::verdict::{ProbeFailure, ProbeResult};
use super::{Algorithms, ProbeOptions, Protocol, probe};

/// The validated lookups `check --mx` needs.
#[async_trait::async_trait]
pub trait MxDns: Send + Sync {
    /// The validated RRset `name`/`rtype` (MX, A, AAAA), CNAMEs followed.
    async fn rrset(&self, name: &str, rtype: RecordType) -> ValidatedRrset;
    /// The validated TLSA RRset at `owner` (absolute).
    async fn tlsa(&self, owner: &str) -> Validated;
}

/// [`MxDns`] through the configured resolver (one [`Resolver`], so the in-process
/// validator's cache is shared by every lookup).
#[derive(Clone)]
pub struct ResolverMxDns {
    resolver: Resolver,
}

impl ResolverMxDns {
    pub fn from_config(cfg: &crate::config::DnsConfig) -> Result<Self, DnsError> {
        Ok(ResolverMxDns {
            resolver: Resolver::from_config(cfg)?,
        })
    }
}

#[async_trait::async_trait]
impl MxDns for ResolverMxDns {
    async fn rrset(&self, name: &str, rtype: RecordType) -> ValidatedRrset {
        match parse_name(name) {
            Ok(n) => self.resolver.validated_rrset(&n, rtype).await,
            Err(e) => ValidatedRrset::failed(Validation::Indeterminate, e.to_string()),
        }
    }

    async fn tlsa(&self, owner: &str) -> Validated {
        match parse_name(owner) {
            Ok(n) => self.resolver.validated_tlsa(&n).await,
            Err(e) => Validated {
                state: Validation::Indeterminate,
                records: vec![],
                ttl: None,
                detail: Some(e.to_string()),
            },
        }
    }
}

/// How to observe.
#[derive(Debug, Clone)]
pub struct MxProbeOptions {
    /// Timeout of each probe and of each lookup, EHLO name.
    pub probe: ProbeOptions,
    /// Probe each address twice: offering only ECDSA, then only RSA signatures.
    pub both_algorithms: bool,
    /// At most this many probes at once.
    pub parallel: usize,
}

impl MxProbeOptions {
    fn families(&self) -> Vec<Algorithms> {
        if self.both_algorithms {
            vec![Algorithms::Ecdsa, Algorithms::Rsa]
        } else {
            vec![Algorithms::All]
        }
    }
}

/// A domain name as given: lowercase, without the trailing dot.
pub fn domain_of(text: &str) -> String {
    text.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Observe every domain; the result is in the order of `domains`.
pub async fn observe(
    dns: Arc<dyn MxDns>,
    domains: Vec<String>,
    opts: &MxProbeOptions,
) -> Vec<MxObserved> {
    let permits = Arc::new(Semaphore::new(opts.parallel.max(1)));
    let mut set = JoinSet::new();
    for (i, d) in domains.iter().cloned().enumerate() {
        let dns = dns.clone();
        let opts = opts.clone();
        let permits = permits.clone();
        set.spawn(async move { (i, observe_domain(dns, d, opts, permits).await) });
    }
    let mut done: Vec<Option<MxObserved>> = vec![None; domains.len()];
    while let Some(joined) = set.join_next().await {
        if let Ok((i, o)) = joined {
            done[i] = Some(o);
        }
    }
    done.into_iter()
        .zip(domains)
        .map(|(o, domain)| {
            o.unwrap_or_else(|| MxObserved {
                domain,
                mx: MxLookup {
                    state: Validation::Indeterminate,
                    detail: Some("internal error: the check task failed".to_string()),
                    nxdomain: false,
                    records: vec![],
                },
                hosts: vec![],
            })
        })
        .collect()
}

async fn bounded_rrset(
    dns: &Arc<dyn MxDns>,
    name: &str,
    rtype: RecordType,
    opts: &MxProbeOptions,
) -> ValidatedRrset {
    match tokio::time::timeout(opts.probe.timeout, dns.rrset(name, rtype)).await {
        Ok(v) => v,
        Err(_) => ValidatedRrset::failed(
            Validation::Indeterminate,
            format!(
                "{rtype} {name}: no answer within {}",
                humantime::format_duration(opts.probe.timeout)
            ),
        ),
    }
}

async fn bounded_tlsa(dns: &Arc<dyn MxDns>, owner: &str, opts: &MxProbeOptions) -> Validated {
    match tokio::time::timeout(opts.probe.timeout, dns.tlsa(owner)).await {
        Ok(v) => v,
        Err(_) => Validated {
            state: Validation::Indeterminate,
            records: vec![],
            ttl: None,
            detail: Some(format!(
                "TLSA {owner}: no answer within {}",
                humantime::format_duration(opts.probe.timeout)
            )),
        },
    }
}

/// The MX hosts to check, in preference order (a host listed twice once, at its best
/// preference); the implicit MX when there is no MX RRset.
pub fn hosts_of(domain: &str, mx: &MxLookup) -> Vec<(Option<u16>, String)> {
    if mx.records.is_empty() {
        let usable = !mx.nxdomain && matches!(mx.state, Validation::Secure | Validation::Insecure);
        return if usable {
            vec![(None, domain.to_string())]
        } else {
            vec![]
        };
    }
    let mut hosts: Vec<(u16, String)> = mx
        .records
        .iter()
        .filter(|(_, h)| !h.is_empty())
        .cloned()
        .collect();
    hosts.sort();
    let mut seen = std::collections::HashSet::new();
    hosts
        .into_iter()
        .filter(|(_, h)| seen.insert(h.clone()))
        .map(|(p, h)| (Some(p), h))
        .collect()
}

async fn observe_domain(
    dns: Arc<dyn MxDns>,
    domain: String,
    opts: MxProbeOptions,
    permits: Arc<Semaphore>,
) -> MxObserved {
    let v = bounded_rrset(&dns, &domain, RecordType::MX, &opts).await;
    let records = v
        .records
        .iter()
        .filter_map(|r| match r {
            RData::MX(mx) => Some((mx.preference, domain_of(&mx.exchange.to_ascii()))),
            _ => None,
        })
        .collect();
    let mx = MxLookup {
        state: v.state,
        detail: v.detail,
        nxdomain: v.nxdomain,
        records,
    };
    let hosts = hosts_of(&domain, &mx);
    let mut set = JoinSet::new();
    for (i, (pref, host)) in hosts.iter().cloned().enumerate() {
        let dns = dns.clone();
        let opts = opts.clone();
        let permits = permits.clone();
        set.spawn(async move { (i, observe_host(dns, host, pref, opts, permits).await) });
    }
    let mut done: Vec<Option<HostObserved>> = vec![None; hosts.len()];
    while let Some(joined) = set.join_next().await {
        if let Ok((i, h)) = joined {
            done[i] = Some(h);
        }
    }
    let hosts = done
        .into_iter()
        .zip(hosts)
        .map(|(h, (preference, host))| {
            h.unwrap_or_else(|| HostObserved {
                host,
                preference,
                addresses: AddressLookup {
                    state: Validation::Indeterminate,
                    detail: Some("internal error: the check task failed".to_string()),
                    cnames: vec![],
                    ips: vec![],
                },
                tlsa: None,
                probes: vec![],
            })
        })
        .collect();
    MxObserved { domain, mx, hosts }
}

/// Weakest first: the state that decides when two lookups disagree.
fn weakness(v: Validation) -> u8 {
    match v {
        Validation::Secure => 0,
        Validation::Insecure => 1,
        Validation::Indeterminate => 2,
        Validation::Bogus => 3,
    }
}

/// The A and AAAA reads of a host as one: both address lists, and the weakest state of
/// the reads that count: a Bogus or failed read always counts (a sender defers), an empty
/// one (NODATA) only when the other is empty too, since it gives no address to trust or
/// distrust (the denial behind a CNAME is not always provable in process).
pub fn merge_addresses(a: ValidatedRrset, aaaa: ValidatedRrset) -> AddressLookup {
    let failed =
        |v: &ValidatedRrset| matches!(v.state, Validation::Bogus | Validation::Indeterminate);
    let counting: Vec<(&str, &ValidatedRrset)> = [("A", &a), ("AAAA", &aaaa)]
        .into_iter()
        .filter(|(_, v)| failed(v) || !v.records.is_empty())
        .collect();
    let counting = if counting.is_empty() {
        vec![("A", &a), ("AAAA", &aaaa)]
    } else {
        counting
    };
    let (family, weakest) = counting
        .iter()
        .copied()
        .max_by_key(|(_, v)| weakness(v.state))
        .unwrap_or(("A", &a));
    // A failed read names its family: "the AAAA lookup: SERVFAIL ..." (the host's other
    // addresses are then not all it has).
    let detail = match (&weakest.detail, failed(weakest)) {
        (Some(d), true) => Some(format!("the {family} lookup: {d}")),
        (d, _) => d.clone(),
    };
    let state = weakest.state;
    let cnames = if a.cnames.is_empty() {
        aaaa.cnames.clone()
    } else {
        a.cnames.clone()
    };
    let mut ips: Vec<IpAddr> = Vec::new();
    for r in a.records.iter().chain(aaaa.records.iter()) {
        let ip = match r {
            RData::A(x) => IpAddr::V4(x.0),
            RData::AAAA(x) => IpAddr::V6(x.0),
            _ => continue,
        };
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    AddressLookup {
        state,
        detail,
        cnames,
        ips,
    }
}

async fn observe_host(
    dns: Arc<dyn MxDns>,
    host: String,
    preference: Option<u16>,
    opts: MxProbeOptions,
    permits: Arc<Semaphore>,
) -> HostObserved {
    let (a, aaaa) = tokio::join!(
        bounded_rrset(&dns, &host, RecordType::A, &opts),
        bounded_rrset(&dns, &host, RecordType::AAAA, &opts)
    );
    let addresses = merge_addresses(a, aaaa);
    // RFC 7672 2.2.2: TLSA records count only behind Secure address records; for an alias,
    // first at the expanded name, then at the MX host name.
    let tlsa = if addresses.state == Validation::Secure && !addresses.ips.is_empty() {
        Some(find_tlsa(&dns, &host, &addresses.cnames, &opts).await)
    } else {
        None
    };
    // SNI: the TLSA base domain (RFC 7672 8.1).
    let sni = tlsa
        .as_ref()
        .map(|t| t.base.clone())
        .unwrap_or_else(|| host.clone());
    let probes = probe_all(&addresses.ips, &sni, &opts, &permits).await;
    HostObserved {
        host,
        preference,
        addresses,
        tlsa,
        probes,
    }
}

async fn find_tlsa(
    dns: &Arc<dyn MxDns>,
    host: &str,
    cnames: &[String],
    opts: &MxProbeOptions,
) -> TlsaLookup {
    let mut tried = Vec::new();
    if let Some(expanded) = cnames.last() {
        let base = domain_of(expanded);
        let owner = crate::tlsa::owner_name(&base, 25, "tcp");
        let v = bounded_tlsa(dns, &owner, opts).await;
        let use_it = match v.state {
            Validation::Secure => !v.records.is_empty(),
            Validation::Bogus | Validation::Indeterminate => true,
            Validation::Insecure => false,
        };
        if use_it {
            return TlsaLookup {
                base,
                owner,
                validated: v,
                tried,
                servers: None,
            };
        }
        tried.push((owner, v.state));
    }
    let owner = crate::tlsa::owner_name(host, 25, "tcp");
    let validated = bounded_tlsa(dns, &owner, opts).await;
    TlsaLookup {
        base: host.to_string(),
        owner,
        validated,
        tried,
        servers: None,
    }
}

async fn probe_all(
    ips: &[IpAddr],
    sni: &str,
    opts: &MxProbeOptions,
    permits: &Arc<Semaphore>,
) -> Vec<ProbeObserved> {
    let jobs: Vec<(IpAddr, Algorithms)> = ips
        .iter()
        .flat_map(|ip| opts.families().into_iter().map(move |f| (*ip, f)))
        .collect();
    let mut set = JoinSet::new();
    for (i, (ip, family)) in jobs.iter().copied().enumerate() {
        let sni = sni.to_string();
        let mut popts = opts.probe.clone();
        popts.algorithms = family;
        let permits = permits.clone();
        set.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let r = probe(SocketAddr::new(ip, 25), &sni, Protocol::Smtp, &popts).await;
            (i, r.map(|p| p.chain).map_err(|e| ProbeFailure::from(&e)))
        });
    }
    let mut results: Vec<Option<ProbeResult>> = vec![None; jobs.len()];
    while let Some(joined) = set.join_next().await {
        if let Ok((i, r)) = joined {
            results[i] = Some(r);
        }
    }
    jobs.into_iter()
        .zip(results)
        .map(|((address, algorithms), r)| ProbeObserved {
            address,
            algorithms,
            result: r.unwrap_or_else(|| {
                Err(ProbeFailure {
                    unreachable: false,
                    message: "internal error: the probe task failed".to_string(),
                })
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testserver::{Behaviour, TestCert, TestServer};
    use std::time::Duration;

    #[test]
    fn hosts_in_preference_order_and_the_implicit_mx() {
        let mx = |records: Vec<(u16, &str)>| MxLookup {
            state: Validation::Secure,
            detail: None,
            nxdomain: false,
            records: records
                .into_iter()
                .map(|(p, h)| (p, h.to_string()))
                .collect(),
        };
        assert_eq!(
            hosts_of(
                "example.test",
                &mx(vec![
                    (20, "b.example.test"),
                    (10, "c.example.test"),
                    (10, "a.example.test"),
                    (30, "a.example.test")
                ])
            ),
            vec![
                (Some(10), "a.example.test".to_string()),
                (Some(10), "c.example.test".to_string()),
                (Some(20), "b.example.test".to_string()),
            ]
        );
        assert_eq!(
            hosts_of("example.test", &mx(vec![])),
            vec![(None, "example.test".to_string())]
        );
        assert!(hosts_of("example.test", &mx(vec![(0, "")])).is_empty());
        let mut bogus = mx(vec![]);
        bogus.state = Validation::Bogus;
        assert!(hosts_of("example.test", &bogus).is_empty());
        let mut gone = mx(vec![]);
        gone.nxdomain = true;
        assert!(hosts_of("example.test", &gone).is_empty());
        assert_eq!(domain_of(" Example.TEST. "), "example.test");
    }

    #[test]
    fn address_states_merge_to_the_weakest() {
        use hickory_proto::rr::rdata::{A, AAAA};
        let read = |state, records: Vec<RData>| ValidatedRrset {
            state,
            cnames: vec![],
            records,
            nxdomain: false,
            detail: None,
        };
        let a = read(Validation::Secure, vec![RData::A(A::new(192, 0, 2, 1))]);
        let aaaa = read(
            Validation::Secure,
            vec![RData::AAAA(AAAA::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))],
        );
        let m = merge_addresses(a.clone(), aaaa.clone());
        assert_eq!(m.state, Validation::Secure);
        assert_eq!(m.ips.len(), 2);
        let m = merge_addresses(a.clone(), read(Validation::Bogus, vec![]));
        assert_eq!(m.state, Validation::Bogus);
        let insecure_a = read(Validation::Insecure, vec![RData::A(A::new(192, 0, 2, 9))]);
        let m = merge_addresses(insecure_a, aaaa);
        assert_eq!(m.state, Validation::Insecure);
        let m = merge_addresses(a.clone(), read(Validation::Secure, vec![]));
        assert_eq!(m.state, Validation::Secure);
        // An empty AAAA read that cannot be proven (behind a CNAME) does not taint a
        // Secure A RRset; an Insecure one with addresses does.
        let m = merge_addresses(a.clone(), read(Validation::Insecure, vec![]));
        assert_eq!(m.state, Validation::Secure);
        let m = merge_addresses(
            read(Validation::Insecure, vec![]),
            read(Validation::Secure, vec![]),
        );
        assert_eq!(m.state, Validation::Insecure);
        let m = merge_addresses(a, read(Validation::Indeterminate, vec![]));
        assert_eq!(m.state, Validation::Indeterminate);
        // A failed read names its family.
        let mut servfail = read(Validation::Indeterminate, vec![]);
        servfail.detail = Some("SERVFAIL".into());
        let m = merge_addresses(
            read(Validation::Secure, vec![RData::A(A::new(192, 0, 2, 1))]),
            servfail,
        );
        assert_eq!(m.detail.as_deref(), Some("the AAAA lookup: SERVFAIL"));
    }

    /// A dual-certificate server shows its ECDSA certificate to a client offering only
    /// ECDSA signatures and its RSA certificate to one offering only RSA.
    #[tokio::test]
    async fn both_algorithms_see_both_certificates() {
        let ecdsa = TestCert::new(&["mx.example.test"], Duration::from_secs(90 * 86400));
        let rsa = TestCert::new_rsa(&["mx.example.test"], Duration::from_secs(90 * 86400));
        let srv = TestServer::start_dual("127.0.0.1:0", Behaviour::Smtp, &ecdsa, &rsa)
            .await
            .unwrap();
        let mut got = Vec::new();
        for family in [Algorithms::All, Algorithms::Ecdsa, Algorithms::Rsa] {
            let mut o = ProbeOptions::new(Duration::from_secs(5));
            o.algorithms = family;
            let p = probe(srv.addr, "mx.example.test", Protocol::Smtp, &o)
                .await
                .unwrap_or_else(|e| panic!("{family:?}: {e}"));
            got.push(p.chain[0].clone());
        }
        assert_eq!(got[0], ecdsa.chain[0]);
        assert_eq!(got[1], ecdsa.chain[0]);
        assert_eq!(got[2], rsa.chain[0]);

        // An ECDSA-only server: offering only RSA fails the handshake.
        let only = TestServer::start("127.0.0.1:0", Behaviour::Smtp, &ecdsa)
            .await
            .unwrap();
        let mut o = ProbeOptions::new(Duration::from_secs(5));
        o.algorithms = Algorithms::Rsa;
        let err = probe(only.addr, "mx.example.test", Protocol::Smtp, &o)
            .await
            .unwrap_err();
        assert!(matches!(err, crate::probe::ProbeError::Tls { .. }), "{err}");
    }
}
