//! The live observer: finds each owner's zone and authoritative servers, asks every server
//! directly (no recursion, DO bit, AA required) for the TLSA RRset and the zone's SOA serial,
//! and reads the RRset through the validating path, everything concurrently.
//!
//! Phases (each one concurrent, so the wall time is about the slowest query of each phase,
//! not the sum of all queries): zones of the owners (SOA through the resolver), servers of
//! each distinct zone (override or NS + A/AAAA), then every (owner, server) TLSA query and
//! every (zone, server) SOA query at once; CNAMEs that leave the owner's zone are followed by
//! observing the target the same way. Every owner's validated read runs alongside all of it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::future::{BoxFuture, FutureExt, join, join_all};
use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RecordType};

use super::authenticated;
use super::resolve::{Resolver, parse_name, parse_server};
use super::reuse::{ZoneQuery, ZoneSerials};
use super::wire::{self, Flags};
use super::{
    ChainLink, DnsError, Observe, OwnerObservation, OwnerQuery, ServerAnswer, ServerOutcome,
    Validated, Validation, absolute, interpret, mark_chain_disagreement,
};
use crate::config::{Config, DnsConfig, ZoneConfig};

/// Where a server list comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    pub addr: SocketAddr,
    /// The NS name, when discovered through NS records.
    pub name: Option<String>,
}

/// One entry of a zone's server list: a server to ask, or an NS name whose address could
/// not be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Server(ServerSpec),
    Unresolved { ns: String, error: String },
}

/// The server lists of the zones, keyed by absolute lowercase zone name.
type Discovered = BTreeMap<String, Result<Vec<Found>, String>>;

/// How many queries (direct or through the resolver) one observer has in flight at most:
/// a pass over a thousand owners must not open thousands of sockets at once, nor flood a
/// server's receive queue.
pub const MAX_IN_FLIGHT: usize = 64;

/// The [`Observe`] implementation that asks real servers.
#[derive(Clone)]
pub struct LiveObserver {
    resolver: Resolver,
    timeout: Duration,
    /// `[zones."NAME"] nameservers`, keyed by absolute zone name.
    zone_servers: BTreeMap<String, Vec<SocketAddr>>,
    /// Bounds the queries in flight ([`MAX_IN_FLIGHT`]).
    in_flight: std::sync::Arc<tokio::sync::Semaphore>,
}

fn in_flight() -> std::sync::Arc<tokio::sync::Semaphore> {
    std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT))
}

impl LiveObserver {
    /// An observer for `[dns]` and the `[zones]` overrides.
    pub fn new(
        cfg: &DnsConfig,
        zones: &BTreeMap<String, ZoneConfig>,
    ) -> Result<LiveObserver, DnsError> {
        let mut zone_servers = BTreeMap::new();
        for (zone, zc) in zones {
            if zc.nameservers.is_empty() {
                continue;
            }
            let addrs = parse_servers(&zc.nameservers)
                .map_err(|e| DnsError::Config(format!("[zones.\"{zone}\"] nameservers: {e}")))?;
            zone_servers.insert(absolute(zone), addrs);
        }
        Ok(LiveObserver {
            resolver: Resolver::from_config(cfg)?,
            timeout: cfg.timeout,
            zone_servers,
            in_flight: in_flight(),
        })
    }

    /// An observer for a whole configuration.
    pub fn from_config(config: &Config) -> Result<LiveObserver, DnsError> {
        LiveObserver::new(&config.dns, &config.zones)
    }

    /// An observer using `resolver` (for tests and benchmarks).
    pub fn with_resolver(resolver: Resolver, timeout: Duration) -> LiveObserver {
        LiveObserver {
            resolver,
            timeout,
            zone_servers: BTreeMap::new(),
            in_flight: in_flight(),
        }
    }

    /// Run `f` once one of the [`MAX_IN_FLIGHT`] slots is free.
    async fn bounded<F: std::future::Future>(&self, f: F) -> F::Output {
        let _slot = self.in_flight.acquire().await;
        f.await
    }

    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// The configured override servers of `zone` (absolute), if any.
    pub fn zone_override(&self, zone: &str) -> Option<&[SocketAddr]> {
        self.zone_servers.get(&absolute(zone)).map(Vec::as_slice)
    }

    /// The authoritative servers of `zone`: the override, or NS + every A/AAAA. An NS name
    /// without an address is returned as an error entry (it cannot be asked, and resolvers
    /// cannot ask it either).
    pub async fn servers_of(&self, zone: &Name) -> Result<Vec<Found>, DnsError> {
        if let Some(addrs) = self.zone_override(&zone.to_ascii()) {
            return Ok(addrs
                .iter()
                .map(|a| {
                    Found::Server(ServerSpec {
                        addr: *a,
                        name: None,
                    })
                })
                .collect());
        }
        let found = self.resolver.nameservers(zone).await?;
        let mut out = Vec::new();
        for (ns, addrs) in found {
            let ns = absolute(&ns.to_ascii());
            match addrs {
                Ok(addrs) => out.extend(addrs.into_iter().map(|addr| {
                    Found::Server(ServerSpec {
                        addr,
                        name: Some(ns.clone()),
                    })
                })),
                Err(e) => out.push(Found::Unresolved {
                    ns,
                    error: e.to_string(),
                }),
            }
        }
        Ok(out)
    }

    async fn zone_of(&self, q: &OwnerQuery) -> Result<Name, String> {
        if let Some(z) = &q.zone {
            return parse_name(z).map_err(|e| e.to_string());
        }
        let owner = parse_name(&q.owner).map_err(|e| e.to_string())?;
        match self.resolver.find_zone(&owner).await {
            Ok(z) => Ok(z),
            Err(e) => {
                // Fall back on the longest configured zone enclosing the owner.
                let configured = self
                    .zone_servers
                    .keys()
                    .filter_map(|z| parse_name(z).ok())
                    .filter(|z| z.zone_of(&owner))
                    .max_by_key(|z| z.num_labels());
                configured.ok_or_else(|| e.to_string())
            }
        }
    }

    /// Every owner's servers and validated read; the validated reads do not depend on the
    /// zones and servers, so they run alongside all the phases.
    async fn observe_all(&self, owners: &[OwnerQuery]) -> Vec<OwnerObservation> {
        let validations = join_all(owners.iter().map(|q| self.bounded(self.validate(&q.owner))));
        let (validated, mut observations) =
            join(validations, self.observe_servers(owners, 0)).await;
        for (o, v) in observations.iter_mut().zip(validated) {
            o.validated = v;
        }
        observations
    }

    async fn validate(&self, owner: &str) -> Validated {
        match parse_name(owner) {
            Ok(name) => self.resolver.validated_tlsa(&name).await,
            Err(e) => Validated {
                state: Validation::Indeterminate,
                records: vec![],
                ttl: None,
                detail: Some(e.to_string()),
            },
        }
    }

    /// Phases 1 to 4 (see the module documentation), without the validated reads.
    fn observe_servers<'a>(
        &'a self,
        owners: &'a [OwnerQuery],
        depth: usize,
    ) -> BoxFuture<'a, Vec<OwnerObservation>> {
        async move {
            // Phase 1: zones.
            let zones: Vec<Result<Name, String>> =
                join_all(owners.iter().map(|q| self.bounded(self.zone_of(q)))).await;

            // Phase 2: the servers of each distinct (zone, explicit servers) pair.
            let mut wanted: BTreeSet<(String, Vec<SocketAddr>)> = BTreeSet::new();
            for (q, z) in owners.iter().zip(&zones) {
                if let Ok(z) = z
                    && q.nameservers.is_empty()
                {
                    wanted.insert((z.to_ascii().to_ascii_lowercase(), vec![]));
                }
            }
            let wanted: Vec<(String, Vec<SocketAddr>)> = wanted.into_iter().collect();
            let lists = join_all(wanted.iter().map(|(z, _)| async move {
                match parse_name(z) {
                    Ok(name) => self.servers_of(&name).await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                }
            }))
            .await;
            let discovered: Discovered = wanted.into_iter().map(|(z, _)| z).zip(lists).collect();

            let plans: Vec<Plan> = owners
                .iter()
                .zip(zones)
                .map(|(q, z)| plan(q, z, &discovered, self.resolver.server()))
                .collect();

            // Phase 3: every TLSA query and every SOA query at once.
            let mut soa_pairs: BTreeSet<(String, SocketAddr)> = BTreeSet::new();
            for p in &plans {
                if let Some(z) = &p.zone {
                    for t in &p.servers {
                        if let Target::Ask(s) = t {
                            soa_pairs.insert((z.to_ascii().to_ascii_lowercase(), s.addr));
                        }
                    }
                }
            }
            let soa_pairs: Vec<(String, SocketAddr)> = soa_pairs.into_iter().collect();
            let soa_queries = join_all(
                soa_pairs
                    .iter()
                    .map(|(z, addr)| self.bounded(self.serial(z, *addr))),
            );
            let owner_queries = join_all(plans.iter().map(|p| self.observe_planned(p)));
            let (serials, asked) = join(soa_queries, owner_queries).await;
            let (mut observations, answers): (Vec<OwnerObservation>, Vec<Vec<Option<Message>>>) =
                asked.into_iter().unzip();
            self.check_signatures(&plans, &mut observations, &answers)
                .await;
            let serials: BTreeMap<(String, SocketAddr), u32> = soa_pairs
                .into_iter()
                .zip(serials)
                .filter_map(|(k, s)| s.map(|s| (k, s)))
                .collect();
            for (p, obs) in plans.iter().zip(observations.iter_mut()) {
                let Some(z) = &p.zone else { continue };
                let z = z.to_ascii().to_ascii_lowercase();
                for s in &mut obs.servers {
                    if let ServerOutcome::Answer(a) = &mut s.outcome
                        && a.serial.is_none()
                    {
                        a.serial = serials.get(&(z.clone(), s.server)).copied();
                    }
                }
            }

            // The owner's servers must agree on the chain (else each is an error entry);
            // a chain that stays in the zone ends here.
            for obs in observations.iter_mut() {
                if !mark_chain_disagreement(&mut obs.servers) {
                    continue;
                }
                let target = obs.servers.iter().find_map(|s| match &s.outcome {
                    ServerOutcome::Answer(a) => a.cname.clone(),
                    ServerOutcome::Error { .. } => None,
                });
                if let Some(target) = target {
                    obs.chain = vec![ChainLink {
                        target,
                        zone: obs.zone.clone(),
                    }];
                }
            }

            // A target answered inside the zone may be in another zone the same servers
            // serve (a child, a sibling): find its zone by asking (see `crosszone`).
            super::crosszone::split_cross_zone(&self.resolver, &mut observations).await;

            // Phase 4: CNAMEs leaving the zone: observe the targets, append their servers.
            if depth < interpret::MAX_CNAME_CHAIN {
                let mut follow: Vec<(usize, String)> = Vec::new();
                for (i, (p, obs)) in plans.iter().zip(&observations).enumerate() {
                    if let Some(t) = leaving_target(p.zone.as_ref(), obs) {
                        follow.push((i, t));
                    }
                }
                if !follow.is_empty() {
                    let targets: Vec<OwnerQuery> = follow
                        .iter()
                        .map(|(_, t)| OwnerQuery {
                            owner: t.clone(),
                            zone: None,
                            nameservers: vec![],
                        })
                        .collect();
                    let seen = self.observe_servers(&targets, depth + 1).await;
                    for ((i, target), t_obs) in follow.into_iter().zip(seen) {
                        let obs = &mut observations[i];
                        // The target's zone is the one its own servers were found for.
                        obs.chain = std::iter::once(ChainLink {
                            target: target.clone(),
                            zone: t_obs.zone.clone(),
                        })
                        .chain(t_obs.chain.iter().cloned())
                        .collect();
                        obs.servers.extend(t_obs.servers.into_iter().map(|mut s| {
                            s.name = Some(match s.name {
                                Some(n) => format!("{n} (CNAME target {target})"),
                                None => format!("(CNAME target {target})"),
                            });
                            s
                        }));
                    }
                }
            }
            observations
        }
        .boxed()
    }

    /// The zone serial at one server, from its SOA answer.
    async fn serial(&self, zone: &str, server: SocketAddr) -> Option<u32> {
        let zone = parse_name(zone).ok()?;
        let m = wire::exchange(
            server,
            &wire::query(&zone, RecordType::SOA, Flags::AUTHORITATIVE),
            self.timeout,
        )
        .await
        .ok()?;
        interpret::soa_serial(&zone, &m).ok()
    }

    /// Secure from the servers themselves: every answer's RRSIGs checked against the
    /// authenticated DNSKEY RRsets of their signers and of the owner's zone, each read once
    /// per observation ([`authenticated`]).
    async fn check_signatures(
        &self,
        plans: &[Plan],
        observations: &mut [OwnerObservation],
        answers: &[Vec<Option<Message>>],
    ) {
        let mut zones: BTreeSet<Name> = BTreeSet::new();
        for (p, msgs) in plans.iter().zip(answers) {
            if msgs.iter().all(Option::is_none) {
                continue;
            }
            zones.extend(p.zone.iter().map(Name::to_lowercase));
            zones.extend(msgs.iter().flatten().flat_map(authenticated::signers));
        }
        let zones: Vec<Name> = zones.into_iter().collect();
        let keys = join_all(
            zones
                .iter()
                .map(|z| self.bounded(authenticated::zone_keys(&self.resolver, z))),
        )
        .await;
        let keys: BTreeMap<Name, authenticated::ZoneKeys> = zones.into_iter().zip(keys).collect();
        let now = jiff::Timestamp::now();
        for ((p, obs), msgs) in plans.iter().zip(observations.iter_mut()).zip(answers) {
            let Some(owner) = &p.name else { continue };
            for (s, m) in obs.servers.iter_mut().zip(msgs) {
                if let (ServerOutcome::Answer(a), Some(m)) = (&mut s.outcome, m) {
                    a.signature = authenticated::check(owner, p.zone.as_ref(), m, &keys, now);
                }
            }
        }
    }

    /// Every server's answer for one planned owner, and the messages they came in (for
    /// the signature check).
    async fn observe_planned(&self, p: &Plan) -> (OwnerObservation, Vec<Option<Message>>) {
        let (servers, messages): (Vec<ServerAnswer>, Vec<Option<Message>>) = {
            match &p.name {
                None => (vec![], vec![]),
                Some(owner) => join_all(p.servers.iter().map(|s| async move {
                    match s {
                        Target::Ask(spec) => {
                            let (outcome, m) =
                                self.bounded(self.ask_server(owner, spec.addr)).await;
                            (
                                ServerAnswer {
                                    server: spec.addr,
                                    name: spec.name.clone(),
                                    outcome,
                                },
                                m,
                            )
                        }
                        Target::Failed(entry) => ((**entry).clone(), None),
                    }
                }))
                .await
                .into_iter()
                .unzip(),
            }
        };
        let obs = OwnerObservation {
            owner: p.owner.clone(),
            chain: Vec::new(),
            zone: p.zone.as_ref().map(|z| absolute(&z.to_ascii())),
            servers,
            // Filled in by `observe_all`.
            validated: Validated {
                state: Validation::Indeterminate,
                records: vec![],
                ttl: None,
                detail: Some("not read".to_string()),
            },
        };
        (obs, messages)
    }

    /// One server's answer, and the message when it is one (its signatures are checked
    /// once the zones' keys are read).
    async fn ask_server(
        &self,
        owner: &Name,
        server: SocketAddr,
    ) -> (ServerOutcome, Option<Message>) {
        let q = wire::query(owner, RecordType::TLSA, Flags::AUTHORITATIVE);
        match wire::exchange(server, &q, self.timeout).await {
            Err(e) => (
                ServerOutcome::Error {
                    error: e.to_string(),
                },
                None,
            ),
            Ok(m) => match interpret::served(owner, &m) {
                Ok(s) => (ServerOutcome::Answer(s), Some(m)),
                Err(error) => (
                    ServerOutcome::Error {
                        error: format!("{server}: TLSA {owner}: {error}"),
                    },
                    None,
                ),
            },
        }
    }
}

/// What to ask for one owner.
struct Plan {
    owner: String,
    name: Option<Name>,
    zone: Option<Name>,
    servers: Vec<Target>,
}

/// A server to ask, or an entry that is already an error.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Ask(ServerSpec),
    Failed(Box<ServerAnswer>),
}

fn plan(
    q: &OwnerQuery,
    zone: Result<Name, String>,
    discovered: &Discovered,
    resolver: SocketAddr,
) -> Plan {
    let owner = absolute(&q.owner);
    let name = parse_name(&owner).ok();
    let error_entry = |name: Option<String>, server: SocketAddr, error: String| {
        Target::Failed(Box::new(ServerAnswer {
            server,
            name,
            outcome: ServerOutcome::Error { error },
        }))
    };
    let (zone, servers) = match zone {
        Err(e) if q.nameservers.is_empty() => (
            None,
            vec![error_entry(
                None,
                resolver,
                format!("no authoritative servers known: {e}"),
            )],
        ),
        Err(_) => (None, explicit(&q.nameservers)),
        Ok(z) if !q.nameservers.is_empty() => (Some(z), explicit(&q.nameservers)),
        Ok(z) => {
            let key = z.to_ascii().to_ascii_lowercase();
            let servers = match discovered.get(&key) {
                Some(Ok(list)) if !list.is_empty() => list
                    .iter()
                    .map(|s| match s {
                        Found::Server(spec) => Target::Ask(spec.clone()),
                        Found::Unresolved { ns, error: e } => error_entry(
                            Some(ns.clone()),
                            SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), 53),
                            format!("cannot find the address of {ns}: {e}"),
                        ),
                    })
                    .collect(),
                Some(Ok(_)) => vec![error_entry(
                    None,
                    resolver,
                    format!("no authoritative servers found for {key}"),
                )],
                Some(Err(e)) => vec![error_entry(
                    None,
                    resolver,
                    format!("cannot find the servers of {key}: {e}"),
                )],
                None => vec![],
            };
            (Some(z), servers)
        }
    };
    Plan {
        owner,
        name,
        zone,
        servers,
    }
}

fn explicit(addrs: &[SocketAddr]) -> Vec<Target> {
    addrs
        .iter()
        .map(|a| {
            Target::Ask(ServerSpec {
                addr: *a,
                name: None,
            })
        })
        .collect()
}

/// The CNAME target to follow when the owner's servers answer with a CNAME whose chain
/// leaves their zone ([`Served::leaves_zone`]: neither the target's records nor a denial
/// for it in the answer; another zone, or a child zone delegated away). `zone` is None when
/// the owner's zone is unknown: then nothing is followed.
pub fn leaving_target(zone: Option<&Name>, obs: &OwnerObservation) -> Option<String> {
    zone?;
    obs.servers.iter().find_map(|s| match &s.outcome {
        ServerOutcome::Answer(a) if a.leaves_zone() => a.cname.clone(),
        _ => None,
    })
}

/// Parse "address:port" strings (port 53 when absent).
pub fn parse_servers(texts: &[String]) -> Result<Vec<SocketAddr>, DnsError> {
    texts.iter().map(|t| parse_server(t)).collect()
}

#[async_trait::async_trait]
impl Observe for LiveObserver {
    async fn find_zone(&self, owner: &str) -> Result<String, DnsError> {
        let name = parse_name(owner)?;
        let zone = self.resolver.find_zone(&name).await?;
        Ok(absolute(&zone.to_ascii()))
    }

    async fn observe(&self, owners: &[OwnerQuery]) -> Vec<OwnerObservation> {
        self.observe_all(owners).await
    }

    async fn zone_serials(&self, zones: &[ZoneQuery]) -> Vec<ZoneSerials> {
        join_all(zones.iter().map(|z| self.zone_serials_of(z))).await
    }

    async fn validated_reads(&self, owners: &[String]) -> Vec<Validated> {
        join_all(owners.iter().map(|o| self.bounded(self.validate(o)))).await
    }

    async fn authoritative_addresses(
        &self,
        asks: &[(SocketAddr, String)],
    ) -> Vec<Option<Vec<std::net::IpAddr>>> {
        join_all(asks.iter().map(|(server, host)| async move {
            let name = parse_name(host).ok()?;
            let ask = |rtype| {
                let q = wire::query(&name, rtype, Flags::AUTHORITATIVE);
                async move {
                    self.bounded(wire::exchange(*server, &q, self.timeout))
                        .await
                }
            };
            let (a, aaaa) = join(ask(RecordType::A), ask(RecordType::AAAA)).await;
            let mut out = interpret::authoritative_addresses(&name, &a.ok()?).ok()?;
            out.extend(interpret::authoritative_addresses(&name, &aaaa.ok()?).ok()?);
            Some(out)
        }))
        .await
    }
}

impl LiveObserver {
    /// One zone's serials at every server (the lineage's, or the override's, or every
    /// address of every NS name) and whether its SOA validates Secure.
    async fn zone_serials_of(&self, z: &ZoneQuery) -> ZoneSerials {
        let unknown = |secure| ZoneSerials {
            zone: z.clone(),
            serials: None,
            secure,
        };
        let Ok(name) = parse_name(&z.zone) else {
            return unknown(false);
        };
        let servers = async {
            if !z.nameservers.is_empty() {
                return Some(z.nameservers.clone());
            }
            let found = self.bounded(self.servers_of(&name)).await.ok()?;
            found
                .into_iter()
                .map(|f| match f {
                    Found::Server(s) => Some(s.addr),
                    Found::Unresolved { .. } => None,
                })
                .collect::<Option<Vec<SocketAddr>>>()
        };
        let secure = self.bounded(self.resolver.validated_rrset(&name, RecordType::SOA));
        let (servers, secure) = join(servers, secure).await;
        let secure = secure.state == Validation::Secure && !secure.records.is_empty();
        let Some(mut servers) = servers.filter(|s| !s.is_empty()) else {
            return unknown(secure);
        };
        servers.sort();
        servers.dedup();
        let serials = join_all(
            servers
                .iter()
                .map(|a| self.bounded(self.serial(&z.zone, *a))),
        )
        .await;
        let serials: Option<Vec<(SocketAddr, u32)>> = servers
            .into_iter()
            .zip(serials)
            .map(|(a, s)| s.map(|s| (a, s)))
            .collect();
        ZoneSerials {
            zone: z.clone(),
            serials,
            secure,
        }
    }
}

#[cfg(test)]
mod tests;
