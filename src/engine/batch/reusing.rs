//! The engine's half of reusing observations ([`crate::dns::reuse`]) in `run` and `status`:
//! which lineages may rest on kept observations (a quiet plan only), probing endpoints at
//! their hosts' kept addresses, and settling freshly looked-up hosts with a zone server's
//! authoritative answer before keeping them.

use super::*;
use crate::dns::reuse;

impl Engine<'_> {
    /// Observe the queries `which` (indexes into `unique`); none: nothing asked.
    pub(super) async fn observe_some(
        &self,
        unique: &[OwnerQuery],
        which: &[usize],
    ) -> Vec<OwnerObservation> {
        if which.is_empty() {
            return Vec::new();
        }
        let queries: Vec<OwnerQuery> = which.iter().map(|&i| unique[i].clone()).collect();
        self.io.observer.observe(&queries).await
    }

    /// Check every kept observation against a validated read made now (the validating
    /// resolver only, one query per owner instead of one per server and owner): one whose
    /// RRset no longer validates Secure with the same records is not reused
    /// ([`reuse::still_validates`]), so an RRSIG that expired while the zone's SOA still
    /// validates is seen within one pass.
    pub(super) async fn revalidate_kept(
        &self,
        unique: &[OwnerQuery],
        kept: &mut [Option<(OwnerObservation, Timestamp)>],
    ) {
        let which: Vec<usize> = (0..kept.len()).filter(|&i| kept[i].is_some()).collect();
        if which.is_empty() {
            return;
        }
        let owners: Vec<String> = which.iter().map(|&i| unique[i].owner.clone()).collect();
        let reads = self.io.observer.validated_reads(&owners).await;
        for (k, &i) in which.iter().enumerate() {
            let holds = match (&kept[i], reads.get(k)) {
                (Some((o, _)), Some(v)) => reuse::still_validates(o, v),
                _ => false,
            };
            if !holds {
                kept[i] = None;
            }
        }
    }

    /// Probe `endpoints`, those whose host is in `known` at the kept addresses (none:
    /// nothing to probe), the others looking their addresses up; results in endpoint order,
    /// each naming the endpoint as given.
    pub(super) async fn probe_known(
        &self,
        endpoints: &[Endpoint],
        known: &BTreeMap<String, Vec<IpAddr>>,
    ) -> Vec<EndpointProbe> {
        if endpoints.is_empty() {
            return Vec::new();
        }
        // Each endpoint as probed: itself, or one endpoint per kept address.
        let mut asked: Vec<Endpoint> = Vec::new();
        let mut from: Vec<usize> = Vec::new();
        for (i, ep) in endpoints.iter().enumerate() {
            match known.get(&ep.host).filter(|_| ep.address.is_none()) {
                Some(addrs) => {
                    for a in addrs {
                        asked.push(Endpoint {
                            address: Some(*a),
                            ..ep.clone()
                        });
                        from.push(i);
                    }
                }
                None => {
                    asked.push(ep.clone());
                    from.push(i);
                }
            }
        }
        let results = if asked.is_empty() {
            Vec::new()
        } else {
            self.io.prober.probe(&asked).await
        };
        // The prober answers in the order asked; anything out of order is matched by search.
        let mut per: Vec<Vec<EndpointProbe>> = vec![Vec::new(); endpoints.len()];
        let mut rest = results.into_iter().peekable();
        let mut stray: Vec<EndpointProbe> = Vec::new();
        for (a, &i) in asked.iter().zip(&from) {
            while let Some(p) = rest.next_if(|p| p.endpoint == *a) {
                per[i].push(p);
            }
        }
        stray.extend(rest);
        for p in stray {
            if let Some(j) = asked.iter().position(|a| p.endpoint == *a) {
                per[from[j]].push(p);
            }
        }
        let mut out = Vec::with_capacity(asked.len());
        for (ep, mine) in endpoints.iter().zip(per) {
            if mine.is_empty() {
                out.push(EndpointProbe {
                    endpoint: ep.clone(),
                    address: None,
                    serving: Serving::NoAddress,
                });
            } else {
                out.extend(mine.into_iter().map(|p| EndpointProbe {
                    endpoint: ep.clone(),
                    ..p
                }));
            }
        }
        out
    }

    /// For each endpoint host looked up afresh in this pass whose records are in the zone
    /// of one of its lineage's owners (`_PORT._tcp.HOST`), asked just before: the host,
    /// what the zone served then, the addresses the lookup found, and what the zone's first
    /// server serves there with authority (None: it cannot tell).
    pub(super) async fn settle_hosts(
        &self,
        entries: &[Entry<'_>],
        endpoints: &[Endpoint],
        known: &BTreeMap<String, Vec<IpAddr>>,
        probes: &[EndpointProbe],
        checked: &[ZoneSerials],
    ) -> Vec<(String, ZoneSerials, Vec<IpAddr>, Option<Vec<IpAddr>>)> {
        // (host, what its zone served before, the lookup's addresses, the server to ask)
        // Each host once: its first endpoint looked up afresh, and that endpoint's probes.
        let mut first: BTreeMap<&str, (&Endpoint, Vec<&EndpointProbe>)> = BTreeMap::new();
        for ep in endpoints
            .iter()
            .filter(|ep| ep.address.is_none() && !known.contains_key(&ep.host))
        {
            first.entry(ep.host.as_str()).or_insert((ep, Vec::new()));
        }
        for p in probes {
            if let Some((ep, mine)) = first.get_mut(p.endpoint.host.as_str())
                && **ep == p.endpoint
            {
                mine.push(p);
            }
        }
        // The zone of each host on the path of a lineage's owner (`_PORT._tcp.HOST`) there.
        let mut zones: BTreeMap<String, reuse::ZoneQuery> = BTreeMap::new();
        for (q, o) in entries
            .iter()
            .flat_map(|e| e.queries.iter().zip(&e.observations))
        {
            let (Some(z), Some((host, _, proto))) =
                (o.zone.as_deref(), crate::tlsa::service_of_owner(&o.owner))
            else {
                continue;
            };
            let host = host.to_ascii_lowercase();
            if proto == "tcp" && reuse::host_in_zone(&host, &o.owner, z) {
                zones.entry(host).or_insert_with(|| reuse::zone_query(q, z));
            }
        }
        // (host, what its zone served before, the lookup's addresses, the server to ask)
        let mut found: Vec<(String, ZoneSerials, Vec<IpAddr>, std::net::SocketAddr)> = Vec::new();
        for (host, (_, mine)) in first {
            let mut resolved: Vec<IpAddr> = Vec::new();
            let mut usable = !mine.is_empty();
            for p in &mine {
                match (&p.serving, p.address) {
                    (Serving::NoAddress, _) => {}
                    (Serving::LookupFailed { .. }, _) | (_, None) => usable = false,
                    (_, Some(a)) => resolved.push(a.ip()),
                }
            }
            let before = zones
                .get(host)
                .and_then(|zq| checked.iter().find(|z| z.zone == *zq));
            let Some(before) = before.filter(|_| usable) else {
                continue;
            };
            let server = before.serials.as_ref().and_then(|s| s.first()).map(|s| s.0);
            if let Some(server) = server.filter(|_| before.secure) {
                found.push((host.to_string(), before.clone(), resolved, server));
            }
        }
        let asks: Vec<(std::net::SocketAddr, String)> = found
            .iter()
            .map(|(host, _, _, server)| (*server, format!("{host}.")))
            .collect();
        let answers = if asks.is_empty() {
            Vec::new()
        } else {
            self.io.observer.authoritative_addresses(&asks).await
        };
        found
            .into_iter()
            .zip(answers)
            .map(|((host, before, resolved, _), auth)| (host, before, resolved, auth))
            .collect()
    }
}

/// The distinct queries (indexes into the pass's unique queries) of the entries whose flag
/// is false, not observed yet.
pub(super) fn round(
    wanted: &[Vec<usize>],
    flags: &[bool],
    observed: &[Option<OwnerObservation>],
) -> Vec<usize> {
    let mut out: Vec<usize> = wanted
        .iter()
        .zip(flags)
        .filter(|(_, f)| !**f)
        .flat_map(|(mine, _)| mine.iter().copied())
        .filter(|&i| observed[i].is_none())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether `e` may rest on the reused observations `obs`: it has a state with nothing to
/// repair or reload, and its plan on a copy of that state with `obs` folded in is quiet
/// ([`crate::rollover::quiet`]).
pub(super) fn quiet_on(
    state: &State,
    e: &Entry<'_>,
    obs: &[OwnerObservation],
    now: Timestamp,
    even_near_switch: bool,
) -> bool {
    let Some(before) = state.lineages.get(&e.name) else {
        return false;
    };
    if before.intent.is_some() || !before.cleanup.is_empty() || before.reload_pending {
        return false;
    }
    if !even_near_switch && near_switch(before, obs, now, &e.policy) {
        return false;
    }
    let mut after = before.clone();
    let live = reconcile_live(&mut after, &KeyInfo::from_spki(&e.live_spki), now);
    update_observations(&mut after, &e.owners, obs, now, &e.policy);
    let p = plan_probed(
        &after,
        obs,
        e.probes.as_deref(),
        e.reuse_key,
        now,
        &e.policy,
        Goal::Scheduled,
    );
    crate::rollover::quiet(before, &after, &live, &p)
}

/// The hosts of the endpoints of the entries whose flag is false.
pub(super) fn hosts_of<'e>(
    probed: &'e [Option<Vec<Endpoint>>],
    flags: &[bool],
) -> std::collections::BTreeSet<&'e str> {
    probed
        .iter()
        .zip(flags)
        .filter(|(_, f)| !**f)
        .filter_map(|(eps, _)| eps.as_ref())
        .flatten()
        .map(|ep| ep.host.as_str())
        .collect()
}

/// The least time one pass is taken to last until the next: the shipped timer's interval
/// (`examples/danerollover.timer`: `OnUnitActiveSec=10min`, `RandomizedDelaySec=60`).
pub(super) const ONE_PASS: std::time::Duration = std::time::Duration::from_secs(11 * 60);

/// Whether a scheduled switch of the lineage falls due within one wait plus one pass of
/// `now` (or is due already): its observations are then always fresh, so that everything
/// the switch rests on in its last wait (the next key's records served everywhere, Secure,
/// without a gap) was seen by passes that asked the servers, never taken from a kept
/// observation of a zone that may have changed without a new serial.
pub(super) fn near_switch(
    state: &crate::rollover::LineageState,
    obs: &[OwnerObservation],
    now: Timestamp,
    policy: &Policy,
) -> bool {
    let (Some(every), Some(current)) = (policy.rollover_every, state.current.as_ref()) else {
        return false;
    };
    let due = crate::rollover::policy::after(current.since, every);
    let max_ttl = obs.iter().filter_map(OwnerObservation::max_ttl).max();
    let window = policy.propagation_wait(max_ttl, None, None) + ONE_PASS;
    crate::rollover::policy::after(now, window) >= due
}

/// The silent zones ([`reuse::SilentZone`]) among those of `observations`, as problems.
pub(super) fn silent_problems(
    silent: &[reuse::SilentZone],
    observations: &[OwnerObservation],
) -> Vec<String> {
    let zones: std::collections::BTreeSet<String> = observations
        .iter()
        .flat_map(|o| {
            o.zone
                .iter()
                .chain(o.chain.iter().filter_map(|l| l.zone.as_ref()))
                .map(|z| crate::dns::absolute(z).to_ascii_lowercase())
        })
        .collect();
    silent
        .iter()
        .filter(|s| zones.contains(&s.zone))
        .map(reuse::SilentZone::problem)
        .collect()
}
