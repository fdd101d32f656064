//! A lineage's endpoints: the servers that present its certificate, derived from its TLSA
//! owners (`_PORT._tcp.HOST`: every A and AAAA address of HOST on PORT) or listed in its
//! configuration, and what each one serves now (the key of the leaf certificate it
//! presents), observed through [`EndpointProber`] so that the rollover's decisions stay
//! pure and testable with fakes.

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::task::JoinSet;

use super::check::CheckDns;
use super::{Algorithms, ProbeOptions, Protocol, probe};
use crate::config::LineageConfig;
use crate::endpoint::{Endpoint, EndpointProbe, Serving, Target, parse_endpoint};
use crate::tlsa::service_of_owner;

/// The endpoints of a lineage: those derived from its TLSA owners (unless
/// `endpoints_only`), then its listed ones; a listed host:port replaces the derived one.
/// A fixed address is named after the first owner's host (its SNI). Empty when `probe`
/// is false. Entries that do not parse were refused when the configuration was loaded,
/// and are skipped here.
pub fn lineage_endpoints(name: &str, lc: &LineageConfig) -> Vec<Endpoint> {
    if !lc.probe {
        return Vec::new();
    }
    let derived: Vec<Endpoint> = lc
        .tlsa
        .iter()
        .filter_map(|o| service_of_owner(o))
        .filter(|(_, _, proto)| proto == "tcp")
        .map(|(host, port, _)| Endpoint {
            host: host.trim_end_matches('.').to_ascii_lowercase(),
            address: None,
            port,
            protocol: Protocol::for_port(port),
            algorithms: Algorithms::All,
        })
        .collect();
    let default_host = derived
        .first()
        .map(|e| e.host.clone())
        .unwrap_or_else(|| name.trim_end_matches('.').to_ascii_lowercase());
    let listed: Vec<Endpoint> = lc
        .endpoints
        .iter()
        .filter_map(|e| parse_endpoint(e).ok())
        .map(|s| match s.target {
            Target::Host(h) => Endpoint {
                host: h,
                address: None,
                port: s.port,
                protocol: s.protocol,
                algorithms: Algorithms::All,
            },
            Target::Address(a) => Endpoint {
                host: default_host.clone(),
                address: Some(a),
                port: s.port,
                protocol: s.protocol,
                algorithms: Algorithms::All,
            },
        })
        .collect();
    let mut out: Vec<Endpoint> = Vec::new();
    if !lc.endpoints_only {
        for d in derived {
            let replaced = listed
                .iter()
                .any(|l| l.address.is_none() && l.host == d.host && l.port == d.port);
            if !replaced && !out.contains(&d) {
                out.push(d);
            }
        }
    }
    for l in listed {
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

/// Probing endpoints: what each address of each endpoint serves.
#[async_trait]
pub trait EndpointProber: Send + Sync {
    /// Probe every endpoint (every address of each), concurrently; one result per address
    /// (one per endpoint when it has none or its lookup failed), in endpoint order.
    async fn probe(&self, endpoints: &[Endpoint]) -> Vec<EndpointProbe>;
}

/// How many endpoints [`LiveProber`] probes at once.
pub const MAX_PROBES_IN_FLIGHT: usize = 64;

/// The real prober: addresses through the configured resolver, then `check`'s TLS /
/// STARTTLS probe of each.
pub struct LiveProber {
    dns: Arc<dyn CheckDns>,
    opts: ProbeOptions,
}

impl LiveProber {
    pub fn new(dns: Arc<dyn CheckDns>, opts: ProbeOptions) -> LiveProber {
        LiveProber { dns, opts }
    }
}

/// The SPKI of the first certificate of a served chain.
pub fn leaf_spki(chain: &[Vec<u8>]) -> Option<Vec<u8>> {
    let leaf = chain.first()?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf).ok()?;
    Some(cert.tbs_certificate.subject_pki.raw.to_vec())
}

#[async_trait]
impl EndpointProber for LiveProber {
    async fn probe(&self, endpoints: &[Endpoint]) -> Vec<EndpointProbe> {
        // `run` over many lineages probes all their endpoints in one call: bound how many
        // are probed at once.
        let permits = Arc::new(tokio::sync::Semaphore::new(MAX_PROBES_IN_FLIGHT));
        let mut set = JoinSet::new();
        for (i, ep) in endpoints.iter().cloned().enumerate() {
            let dns = self.dns.clone();
            let opts = self.opts.clone();
            let permits = permits.clone();
            set.spawn(async move {
                let _permit = permits.acquire_owned().await;
                (i, probe_endpoint(dns, ep, opts).await)
            });
        }
        let mut done: Vec<Vec<EndpointProbe>> = vec![Vec::new(); endpoints.len()];
        while let Some(joined) = set.join_next().await {
            if let Ok((i, r)) = joined {
                done[i] = r;
            }
        }
        done.into_iter()
            .zip(endpoints)
            .flat_map(|(r, ep)| {
                if r.is_empty() {
                    vec![EndpointProbe {
                        endpoint: ep.clone(),
                        address: None,
                        serving: Serving::LookupFailed {
                            error: "internal error: the probe task failed".into(),
                        },
                    }]
                } else {
                    r
                }
            })
            .collect()
    }
}

async fn probe_endpoint(
    dns: Arc<dyn CheckDns>,
    ep: Endpoint,
    opts: ProbeOptions,
) -> Vec<EndpointProbe> {
    // One address family's lookup failed: the addresses the other found are probed, and
    // the failed family is an entry of its own (unknown), never left out.
    let mut unknown_family: Option<EndpointProbe> = None;
    let addresses = match ep.address {
        Some(a) => vec![a],
        None => match tokio::time::timeout(opts.timeout, dns.addresses(&ep.host)).await {
            Err(_) => {
                return vec![EndpointProbe {
                    endpoint: ep.clone(),
                    address: None,
                    serving: Serving::LookupFailed {
                        error: format!(
                            "no answer within {}",
                            humantime::format_duration(opts.timeout)
                        ),
                    },
                }];
            }
            Ok(Err(crate::dns::DnsError::NoAddress { .. })) => Vec::new(),
            Ok(Err(crate::dns::DnsError::FamilyFailed {
                host,
                family,
                detail,
                mut found,
            })) => {
                let e = crate::dns::DnsError::FamilyFailed {
                    host,
                    family,
                    detail,
                    found: Vec::new(),
                };
                let mut seen = std::collections::HashSet::new();
                found.retain(|ip| seen.insert(*ip));
                unknown_family = Some(EndpointProbe {
                    endpoint: ep.clone(),
                    address: None,
                    serving: Serving::LookupFailed {
                        error: e.to_string(),
                    },
                });
                if found.is_empty() {
                    return unknown_family.into_iter().collect();
                }
                found
            }
            Ok(Err(e)) => {
                return vec![EndpointProbe {
                    endpoint: ep.clone(),
                    address: None,
                    serving: Serving::LookupFailed {
                        error: e.to_string(),
                    },
                }];
            }
            Ok(Ok(mut a)) => {
                let mut seen = std::collections::HashSet::new();
                a.retain(|ip| seen.insert(*ip));
                a
            }
        },
    };
    if addresses.is_empty() {
        return vec![EndpointProbe {
            endpoint: ep,
            address: None,
            serving: Serving::NoAddress,
        }];
    }
    let mut set = JoinSet::new();
    for (i, ip) in addresses.iter().copied().enumerate() {
        let ep = ep.clone();
        let opts = opts.clone();
        set.spawn(async move {
            let addr = SocketAddr::new(ip, ep.port);
            let opts = ProbeOptions {
                algorithms: ep.algorithms,
                ..opts
            };
            let serving = match probe(addr, &ep.host, ep.protocol, &opts).await {
                Ok(p) => match leaf_spki(&p.chain) {
                    Some(spki) => Serving::Key { spki },
                    None => Serving::Failed {
                        unreachable: false,
                        error: format!("{addr}: the served certificate does not parse"),
                    },
                },
                Err(e) => Serving::Failed {
                    unreachable: e.is_unreachable(),
                    error: e.to_string(),
                },
            };
            (i, serving)
        });
    }
    let mut results: Vec<Option<Serving>> = vec![None; addresses.len()];
    while let Some(joined) = set.join_next().await {
        if let Ok((i, s)) = joined {
            results[i] = Some(s);
        }
    }
    addresses
        .into_iter()
        .zip(results)
        .map(|(ip, s)| EndpointProbe {
            endpoint: ep.clone(),
            address: Some(SocketAddr::new(ip, ep.port)),
            serving: s.unwrap_or(Serving::Failed {
                unreachable: false,
                error: "internal error: the probe task failed".into(),
            }),
        })
        .chain(unknown_family)
        .collect()
}

/// A prober for when nothing is to be probed (every endpoint comes back as failed).
pub struct NoProber;

#[async_trait]
impl EndpointProber for NoProber {
    async fn probe(&self, endpoints: &[Endpoint]) -> Vec<EndpointProbe> {
        endpoints
            .iter()
            .map(|e| EndpointProbe {
                endpoint: e.clone(),
                address: None,
                serving: Serving::LookupFailed {
                    error: "no prober".into(),
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lc(text: &str) -> LineageConfig {
        let full =
            format!("[providers.p]\ntype = \"manual\"\n[lineages.\"m\"]\nprovider = \"p\"\n{text}");
        crate::config::Config::parse(&full, std::path::Path::new("t.toml"))
            .unwrap()
            .lineages["m"]
            .clone()
    }

    #[test]
    fn parse_entries() {
        let e = parse_endpoint("Mail.Example.com.:25").unwrap();
        assert_eq!(e.target, Target::Host("mail.example.com".into()));
        assert_eq!((e.port, e.protocol), (25, Protocol::Smtp));
        let e = parse_endpoint("127.0.0.1:2525/smtp").unwrap();
        assert_eq!(e.target, Target::Address("127.0.0.1".parse().unwrap()));
        assert_eq!(e.protocol, Protocol::Smtp);
        let e = parse_endpoint("[::1]:993").unwrap();
        assert_eq!(e.target, Target::Address("::1".parse().unwrap()));
        assert_eq!(e.protocol, Protocol::Tls);
        assert_eq!(
            parse_endpoint("imap.example.com:10143/imap")
                .unwrap()
                .protocol,
            Protocol::Imap
        );
        for bad in [
            "mail",
            "mail:0",
            "mail:x",
            "::1:25",
            "mail:25/ftp",
            ":25",
            "a b:25",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn derived_added_replaced_only_and_off() {
        let owners = "tlsa = [\"_25._tcp.mail.example.com\", \"_465._tcp.mail.example.com\", \"_443._udp.x.example.com\"]\n";
        let labels = |c: &LineageConfig| -> Vec<(String, Protocol)> {
            lineage_endpoints("m", c)
                .iter()
                .map(|e| (e.label(), e.protocol))
                .collect()
        };
        assert_eq!(
            labels(&lc(owners)),
            vec![
                ("mail.example.com:25".to_string(), Protocol::Smtp),
                ("mail.example.com:465".to_string(), Protocol::Tls)
            ]
        );
        let c = lc(&format!(
            "{owners}endpoints = [\"127.0.0.1:2525/smtp\", \"mail.example.com:465/smtp\"]\n"
        ));
        assert_eq!(
            labels(&c),
            vec![
                ("mail.example.com:25".to_string(), Protocol::Smtp),
                (
                    "127.0.0.1:2525 (mail.example.com)".to_string(),
                    Protocol::Smtp
                ),
                ("mail.example.com:465".to_string(), Protocol::Smtp),
            ]
        );
        let c = lc(&format!(
            "{owners}endpoints = [\"127.0.0.1:25\"]\nendpoints_only = true\n"
        ));
        assert_eq!(
            labels(&c),
            vec![(
                "127.0.0.1:25 (mail.example.com)".to_string(),
                Protocol::Smtp
            )]
        );
        assert!(lineage_endpoints("m", &lc(&format!("{owners}probe = false\n"))).is_empty());
    }

    #[test]
    fn bad_entries_are_refused_with_the_lineage() {
        let full = "[providers.p]\ntype = \"manual\"\n[lineages.\"m\"]\nprovider = \"p\"\ntlsa = [\"_25._tcp.m.example\"]\nendpoints = [\"m.example\"]\n";
        let err = crate::config::Config::parse(full, std::path::Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("lineages.\"m\".endpoints") && err.contains("no port"),
            "{err}"
        );
        let full = "[providers.p]\ntype = \"manual\"\n[lineages.\"m\"]\nprovider = \"p\"\ntlsa = [\"_25._tcp.m.example\"]\nendpoints_only = true\n";
        assert!(crate::config::Config::parse(full, std::path::Path::new("t.toml")).is_err());
    }
}
