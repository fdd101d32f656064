//! The network's side of the memory world: the provider, the authoritative servers and the
//! validating resolver, and the endpoints.

use std::net::SocketAddr;

use async_trait::async_trait;

use super::{MemoryWorld, RrsetVersion, World};
use crate::dns::reuse::{ZoneQuery, ZoneSerials};
use crate::dns::{
    DnsError, Observe, OwnerObservation, OwnerQuery, Served, ServerAnswer, ServerOutcome,
    Validated, Validation, absolute,
};
use crate::endpoint::{Endpoint, EndpointProbe, Serving};
use crate::probe::endpoint::EndpointProber;
use crate::provider::{Change, Provider, ProviderError, ProviderView};

#[async_trait]
impl Provider for MemoryWorld {
    fn name(&self) -> &str {
        &self.provider
    }

    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn apply(&self, change: &Change) -> Result<(), ProviderError> {
        let mut w = self.world();
        if w.provider_failures > 0 {
            w.provider_failures -= 1;
            return Err(ProviderError::Failed {
                provider: w.provider_name.clone(),
                kind: "memory",
                owner: change.owner.clone(),
                cause: "HTTP 503".into(),
            });
        }
        let now = w.now;
        let owner = absolute(&change.owner);
        if let Some(target) = w.aliases.get(&owner) {
            return Err(ProviderError::Failed {
                provider: w.provider_name.clone(),
                kind: "memory",
                owner: change.owner.clone(),
                cause: format!("{owner} is a CNAME (to {target}): no other data may sit beside it"),
            });
        }
        if w.misplaced_change(change) {
            w.misplaced.push(change.clone());
            return Ok(());
        }
        let mut records = w
            .rrset_at(&owner, now)
            .map(|v| v.records.clone())
            .unwrap_or_default();
        records.retain(|r| !change.remove.contains(r));
        for r in &change.add {
            if !records.contains(r) {
                records.push(r.clone());
            }
        }
        let version = RrsetVersion {
            at: now,
            records,
            ttl: change.ttl,
            silent: false,
        };
        let history = w.rrsets.entry(owner).or_default();
        if history
            .last()
            .is_none_or(|v| v.records != version.records || v.ttl != version.ttl)
        {
            history.push(version);
        }
        w.changes.push((now, change.clone()));
        Ok(())
    }

    async fn read(&self, _zone: &str, owner: &str) -> Result<Option<ProviderView>, ProviderError> {
        let w = self.world();
        Ok(w.rrset_at(owner, w.now).map(|v| ProviderView {
            records: v.records.clone(),
            ttl: Some(v.ttl),
        }))
    }
}

#[async_trait]
impl Observe for MemoryWorld {
    async fn find_zone(&self, _owner: &str) -> Result<String, DnsError> {
        Ok(self.world().zone.clone())
    }

    async fn observe(&self, owners: &[OwnerQuery]) -> Vec<OwnerObservation> {
        let w = self.world();
        owners
            .iter()
            .map(|q| {
                let owner = absolute(&q.owner);
                let target = w.aliases.get(&owner).cloned();
                let at = target.clone().unwrap_or_else(|| owner.clone());
                let views: Vec<Option<&RrsetVersion>> = w
                    .servers
                    .iter()
                    .map(|s| w.rrset_at(&at, s.view_time(w.now)))
                    .collect();
                let servers: Vec<ServerAnswer> = w
                    .servers
                    .iter()
                    .zip(&views)
                    .enumerate()
                    .map(|(i, (s, v))| ServerAnswer {
                        server: s.addr,
                        name: Some(s.name.clone()),
                        outcome: if s.lookup_fails {
                            ServerOutcome::Error {
                                error: format!(
                                    "cannot find the address of {}: the AAAA lookup failed: timed out",
                                    s.name
                                ),
                            }
                        } else if s.down {
                            ServerOutcome::Error {
                                error: "timed out".into(),
                            }
                        } else {
                            let records = v.map(|v| v.records.clone()).unwrap_or_default();
                            ServerOutcome::Answer(Served {
                                ttl: (!records.is_empty()).then(|| v.map_or(0, |v| v.ttl)),
                                negative_ttl: records.is_empty().then_some(w.negative_ttl),
                                records,
                                serial: Some(w.serial(i)),
                                authoritative: true,
                                cname: target.clone(),
                                signature: w.signature(),
                            })
                        },
                    })
                    .collect();
                // The validating resolver asks the first server that is up.
                let first = w
                    .servers
                    .iter()
                    .zip(&views)
                    .find(|(s, _)| !s.down && !s.lookup_fails);
                let (records, ttl) = match first {
                    Some((_, Some(v))) if !v.records.is_empty() => (v.records.clone(), Some(v.ttl)),
                    _ => (Vec::new(), None),
                };
                let shown = matches!(w.validation, Validation::Secure | Validation::Insecure);
                OwnerObservation {
                    owner,
                    chain: target
                        .iter()
                        .map(|t| crate::dns::ChainLink {
                            target: t.clone(),
                            zone: Some(w.zone_of_target(t)),
                        })
                        .collect(),
                    zone: Some(w.zone.clone()),
                    servers,
                    validated: Validated {
                        state: if first.is_some() {
                            w.validation
                        } else {
                            Validation::Indeterminate
                        },
                        records: if shown { records } else { Vec::new() },
                        ttl: if shown { ttl } else { None },
                        detail: (w.validation != Validation::Secure)
                            .then(|| "(memory world) validation off".to_string()),
                    },
                }
            })
            .collect()
    }

    /// The validated reads of a fresh observation (the resolver asks the first server up).
    async fn validated_reads(&self, owners: &[String]) -> Vec<Validated> {
        let queries: Vec<OwnerQuery> = owners
            .iter()
            .map(|o| OwnerQuery {
                owner: o.clone(),
                zone: None,
                nameservers: vec![],
            })
            .collect();
        self.observe(&queries)
            .await
            .into_iter()
            .map(|o| o.validated)
            .collect()
    }

    /// The world's zone: every server's serial (None when a server is down or its address
    /// cannot be looked up), Secure when the world's validation is; other zones: nothing
    /// known.
    async fn zone_serials(&self, zones: &[ZoneQuery]) -> Vec<ZoneSerials> {
        let w = self.world();
        zones
            .iter()
            .map(|z| {
                let ours = absolute(&z.zone) == absolute(&w.zone);
                let up = w.servers.iter().all(|s| !s.down && !s.lookup_fails);
                let serials = (ours && up && !w.servers.is_empty()).then(|| {
                    let mut v: Vec<(SocketAddr, u32)> = w
                        .servers
                        .iter()
                        .enumerate()
                        .map(|(i, s)| (s.addr, w.serial(i)))
                        .collect();
                    v.sort();
                    v
                });
                ZoneSerials {
                    zone: z.clone(),
                    serials,
                    secure: ours && up && w.validation == Validation::Secure,
                }
            })
            .collect()
    }

    /// A server that is up serves, for a host, the addresses of the world's endpoints with
    /// that host name (endpoints never move).
    async fn authoritative_addresses(
        &self,
        asks: &[(SocketAddr, String)],
    ) -> Vec<Option<Vec<std::net::IpAddr>>> {
        let w = self.world();
        asks.iter()
            .map(|(server, host)| {
                let s = w.servers.iter().find(|s| s.addr == *server)?;
                if s.down || s.lookup_fails {
                    return None;
                }
                let host = host.trim_end_matches('.');
                let mut v: Vec<std::net::IpAddr> = w
                    .endpoints
                    .iter()
                    .filter(|e| e.host == host)
                    .map(|e| e.addr.ip())
                    .collect();
                v.sort();
                v.dedup();
                Some(v)
            })
            .collect()
    }
}

#[async_trait]
impl EndpointProber for MemoryWorld {
    async fn probe(&self, endpoints: &[Endpoint]) -> Vec<EndpointProbe> {
        let w = self.world();
        let mut out = Vec::new();
        for ep in endpoints {
            let found: Vec<usize> = (0..w.endpoints.len())
                .filter(|&i| {
                    let e = &w.endpoints[i];
                    e.port == ep.port
                        && ep.algorithms.reaches(w.key_family(&e.lineage))
                        && match ep.address {
                            Some(a) => e.addr.ip() == a,
                            None => e.host == ep.host,
                        }
                })
                .collect();
            let (found, unknown) = w.family_lookups(ep, found);
            out.extend(unknown);
            if found.is_empty() && out.last().is_none_or(|p| p.endpoint != *ep) {
                out.push(EndpointProbe {
                    endpoint: ep.clone(),
                    address: None,
                    serving: Serving::NoAddress,
                });
            }
            for i in found {
                let e = &w.endpoints[i];
                let serving = match w.endpoint_key(i, w.now) {
                    _ if e.down => Serving::Failed {
                        unreachable: true,
                        error: format!("{}: cannot connect: connection refused", e.addr),
                    },
                    Some(spki) => Serving::Key { spki },
                    None => Serving::Failed {
                        unreachable: false,
                        error: format!("{}: no certificate loaded", e.addr),
                    },
                };
                out.push(EndpointProbe {
                    endpoint: ep.clone(),
                    address: Some(e.addr),
                    serving,
                });
            }
        }
        out
    }
}

impl World {
    /// The zone a CNAME target is observed in: its own (`target_zones`), or, under
    /// [`World::target_zone_as_owner`], the owner's as the observer once assumed.
    fn zone_of_target(&self, target: &str) -> String {
        match self.target_zones.get(target) {
            Some(z) if !self.target_zone_as_owner => z.clone(),
            _ => self.zone.clone(),
        }
    }

    /// Whether `change` is for a name in another zone than the one it was sent to (a CNAME
    /// target in a child or sibling zone, written to the owner's zone): the provider
    /// accepts it, no server ever serves it.
    fn misplaced_change(&self, change: &Change) -> bool {
        let owner = absolute(&change.owner);
        let belongs = self
            .target_zones
            .get(&owner)
            .cloned()
            .unwrap_or_else(|| self.zone.clone());
        absolute(&change.zone) != absolute(&belongs)
    }

    /// The endpoints found by a probe of `ep` (indexes into `endpoints`) split by their
    /// address family's lookup: those whose family lookup fails are, looked up by host
    /// name, one unknown entry (as `probe::endpoint` gives for a failed AAAA or A lookup),
    /// or left out under [`World::drop_failed_family`]. A probe at a fixed address is not
    /// looked up.
    fn family_lookups(&self, ep: &Endpoint, found: Vec<usize>) -> (Vec<usize>, Vec<EndpointProbe>) {
        if ep.address.is_some() {
            return (found, Vec::new());
        }
        let (failing, ok): (Vec<usize>, Vec<usize>) = found
            .into_iter()
            .partition(|&i| self.endpoints[i].family_fails);
        if failing.is_empty() || self.drop_failed_family {
            return (ok, Vec::new());
        }
        let unknown = EndpointProbe {
            endpoint: ep.clone(),
            address: None,
            serving: Serving::LookupFailed {
                error: format!(
                    "{}.: the AAAA lookup failed (timed out); its AAAA addresses are unknown",
                    ep.host
                ),
            },
        };
        (ok, vec![unknown])
    }
}
