//! Reusing an owner's last observation while its zone has not changed.
//!
//! A pass over a thousand owners asks every authoritative server once per owner and the
//! validating resolver once more: thousands of queries, nearly all answered exactly as an
//! hour before. A zone's SOA serial says whether its data changed (RFC 1035 3.3.13, RFC
//! 1996: a change is published under a new serial), so a pass first asks every server of
//! each zone it knows for its serial ([`super::Observe::zone_serials`]). An owner whose zone
//! serves the same serials at the same servers as just before its last observation, and
//! whose zone's SOA still validates Secure, may be given that observation again instead of
//! being asked anew.
//!
//! What keeps this safe (the engine's half is in `engine::batch::reusing`):
//! - **Only a quiet plan rests on a reused observation.** A lineage whose plan from reused
//!   observations has anything to do (publish, retire, switch, a next key, an alert) is
//!   observed afresh and planned again, and a reused observation is never folded into the
//!   state. Every step that changes something is decided on fresh evidence, as without reuse.
//! - **Only a settled observation is kept** ([`settled`]): every server answered with
//!   authority, they agree, the validated read is Secure and holds exactly the servers'
//!   records, a CNAME chain stays in the zone, and every server's serial in it equals the
//!   one it served *before* the owner was asked (a change between the two queries then
//!   shows as a new serial next time). A resolver still holding an older RRset changes as
//!   its cache expires, not with the serial: such an observation is never kept, so a wait
//!   that starts when the resolver catches up is never held back by reuse.
//! - **Endpoint hosts' addresses** (the probes' lookups) are kept the same way ([`HostEntry`]):
//!   when the host is on an owner's path inside the zone and one of the zone's servers
//!   serves, with authority and without a CNAME, what the resolver answered. What an
//!   endpoint serves is always probed.
//! - **Checked against a validated read every pass** ([`still_validates`]): one resolver
//!   query per kept owner; an RRset turned Bogus (an expired RRSIG while the zone's SOA
//!   still validates) or changed is seen within one pass.
//! - **Never near a switch** (`engine::batch::reusing::near_switch`): within one wait plus
//!   one pass of a scheduled switch falling due, every look is fresh.
//! - **Silent zones are never reused again** ([`SilentZone`], [`Cache::note_silent`]): a
//!   fresh look differing from the kept one under the same serials means the zone changes
//!   without new serials; it is kept in the file and named by `status`, `run` and `doctor`.
//! - **At most `[dns] reuse_observations` old** (default one day; `0s` turns reuse off): a
//!   change a server made without a new serial that the resolver does not show either is
//!   seen at the latest then. See docs/dns-seams.md.
//!
//! The cache is a file beside the state ([`crate::store::Store::observations_path`]); losing
//! it only costs one pass of fresh queries.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{OwnerObservation, OwnerQuery, ServerOutcome, Validation};
use crate::tlsa::TlsaRecord;

/// The cache file's format version; another version is ignored (and replaced).
pub const VERSION: u32 = 1;

/// A zone to ask for its serials: its name and, when a lineage names them, its servers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ZoneQuery {
    /// Absolute, lowercase.
    pub zone: String,
    /// The lineage's `nameservers` (empty: the zone's NS records, or `[zones."Z"]
    /// nameservers`).
    pub nameservers: Vec<SocketAddr>,
}

/// What a zone's servers serve now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneSerials {
    pub zone: ZoneQuery,
    /// Every server's serial, sorted by server; None when a server could not be found or
    /// asked, or gave no serial.
    pub serials: Option<Vec<(SocketAddr, u32)>>,
    /// Whether the zone's SOA validates Secure through the validating resolver.
    pub secure: bool,
}

/// One owner's last observation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub query: OwnerQuery,
    /// When it was made (the pass's time).
    pub at: Timestamp,
    /// The serials its zone served just before it was made, when it is [`settled`]; None:
    /// it is kept only for its zone, to be asked about before the next pass.
    pub serials: Option<Vec<(SocketAddr, u32)>>,
    pub observation: OwnerObservation,
}

/// An endpoint host's addresses, kept while its zone is unchanged: the host's A and AAAA
/// records are in the zone (it is on the path of an owner `_PORT._tcp.HOST` there, and no
/// CNAME is involved), and the resolver's answer was the one a server of the zone served
/// with authority just after its serial was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostEntry {
    /// Lowercase, no trailing dot (as endpoints name it).
    pub host: String,
    pub zone: ZoneQuery,
    /// What the zone served just before.
    pub serials: Vec<(SocketAddr, u32)>,
    pub at: Timestamp,
    /// Empty: no A or AAAA record.
    pub addresses: Vec<IpAddr>,
}

/// A zone seen changing its data without a new serial: a fresh look at an owner differed
/// from the kept observation while every server served the serials kept with it (PowerDNS
/// without `SOA-EDIT-API`, hand edits of a zone file without a serial bump). Its serials
/// say nothing, so nothing in it is reused again (kept across passes; removing the cache
/// file forgets it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilentZone {
    /// Absolute, lowercase.
    pub zone: String,
    /// When it was first seen.
    pub at: Timestamp,
    /// The owner whose look differed, and how.
    pub detail: String,
}

impl SilentZone {
    /// The problem text, with the fix, for `status`, `run` and `doctor`.
    pub fn problem(&self) -> String {
        format!(
            "zone {} changed its data without a new SOA serial ({}, seen {}): its serials \
             cannot tell a change, so its observations are no longer reused; make every change \
             raise the serial (PowerDNS: `pdnsutil set-meta {} SOA-EDIT-API INCREASE`; zone \
             files: bump the serial with each edit), then remove the observation cache file \
             to reuse again",
            self.zone,
            self.detail,
            self.at,
            self.zone.trim_end_matches('.')
        )
    }
}

/// The observations kept for reuse.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Cache {
    pub version: u32,
    /// The validating resolver the validated reads came from: another one starts afresh.
    pub resolver: String,
    pub entries: Vec<Entry>,
    /// Endpoint hosts' addresses (the probes' lookups).
    #[serde(default)]
    pub hosts: Vec<HostEntry>,
    /// Zones seen changing without a new serial: never reused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub silent: Vec<SilentZone>,
}

/// Whether `host` (no trailing dot) is on the path of `owner` (`_PORT._tcp.HOST.`, as
/// endpoints are derived) inside `zone`: its records are then in the zone.
pub fn host_in_zone(host: &str, owner: &str, zone: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let zone = zone.trim_end_matches('.').to_ascii_lowercase();
    crate::tlsa::service_of_owner(owner).is_some_and(|(h, _, proto)| {
        proto == "tcp"
            && h.to_ascii_lowercase() == host
            && (zone.is_empty() || host == zone || host.ends_with(&format!(".{zone}")))
    })
}

/// What the validated reads come from (the `[dns]` resolver and trust anchors): a cache made
/// with another is not used.
pub fn resolver_of(dns: &crate::config::DnsConfig) -> String {
    format!("{:?} {:?}", dns.validating_resolver, dns.trust_anchor_file)
}

/// The zone query for `q`'s owner found in `zone`.
pub fn zone_query(q: &OwnerQuery, zone: &str) -> ZoneQuery {
    ZoneQuery {
        zone: zone.to_ascii_lowercase(),
        nameservers: q.nameservers.clone(),
    }
}

impl Cache {
    /// An empty cache for observations read through `resolver`.
    pub fn new(resolver: &str) -> Cache {
        Cache {
            version: VERSION,
            resolver: resolver.to_string(),
            entries: Vec::new(),
            hosts: Vec::new(),
            silent: Vec::new(),
        }
    }

    /// Whether `zone` was seen changing without a new serial.
    pub fn is_silent(&self, zone: &str) -> bool {
        let zone = super::absolute(zone).to_ascii_lowercase();
        self.silent.iter().any(|s| s.zone == zone)
    }

    /// Compare a fresh observation of `q` (`fresh`, made at `at`) with the kept one, made
    /// while its zone served the serials it serves now (`checked`, asked before `fresh`):
    /// when what the servers serve differs, the zone changed without a new serial and is
    /// remembered as silent (returned when newly so). A kept observation made under other
    /// serials, or not settled, proves nothing.
    pub fn note_silent(
        &mut self,
        q: &OwnerQuery,
        fresh: &OwnerObservation,
        checked: &[ZoneSerials],
        at: Timestamp,
    ) -> Option<SilentZone> {
        let e = self.index().get(q).copied()?;
        let kept = e.serials.as_ref()?;
        let zone = e.observation.zone.as_deref()?;
        let zq = zone_query(q, zone);
        let now = checked.iter().find(|z| z.zone == zq)?;
        if now.serials.as_ref() != Some(kept) || self.is_silent(zone) {
            return None;
        }
        let (was, is) = (served_records(&e.observation), served_records(fresh));
        // A server that now fails to answer says nothing about the data.
        let differs = was.iter().any(|(server, records)| {
            is.iter()
                .find(|(s, _)| s == server)
                .is_some_and(|(_, r)| r != records)
        });
        if !differs {
            return None;
        }
        let silent = SilentZone {
            zone: super::absolute(zone).to_ascii_lowercase(),
            at,
            detail: format!(
                "{} served other TLSA records under the same serials",
                fresh.owner
            ),
        };
        self.silent.push(silent.clone());
        Some(silent)
    }

    /// The cache in `text`, when it is one of this version for `resolver`; anything else
    /// (another version, another resolver, not a cache) is an empty cache.
    pub fn parse(text: &str, resolver: &str) -> Cache {
        match serde_json::from_str::<Cache>(text) {
            Ok(c) if c.version == VERSION && c.resolver == resolver => c,
            _ => Cache::new(resolver),
        }
    }

    /// The file's text.
    pub fn render(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    fn index(&self) -> BTreeMap<&OwnerQuery, &Entry> {
        self.entries.iter().map(|e| (&e.query, e)).collect()
    }

    /// The zones to ask before observing `queries`: where each known owner was last found.
    pub fn zones_to_check(&self, queries: &[OwnerQuery]) -> Vec<ZoneQuery> {
        let index = self.index();
        let mut out: Vec<ZoneQuery> = queries
            .iter()
            .filter_map(|q| {
                let e = index.get(q)?;
                Some(zone_query(q, e.observation.zone.as_deref()?))
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// For each of `queries`, the observation to reuse and when it was made: kept as
    /// settled, at most `max_age` old (and not from the future), its zone serving the same
    /// serials at the same servers now (`checked`) and validating Secure.
    pub fn reusable(
        &self,
        queries: &[OwnerQuery],
        checked: &[ZoneSerials],
        now: Timestamp,
        max_age: Duration,
    ) -> Vec<Option<(OwnerObservation, Timestamp)>> {
        let index = self.index();
        let checked: BTreeMap<&ZoneQuery, &ZoneSerials> =
            checked.iter().map(|z| (&z.zone, z)).collect();
        queries
            .iter()
            .map(|q| {
                let e = index.get(q)?;
                let kept = e.serials.as_ref()?;
                if e.at > now || age(e.at, now) > max_age {
                    return None;
                }
                let zone = e.observation.zone.as_deref()?;
                if self.is_silent(zone) {
                    return None;
                }
                let zq = zone_query(q, zone);
                let z = checked.get(&zq)?;
                (z.secure && z.serials.as_ref() == Some(kept))
                    .then(|| (e.observation.clone(), e.at))
            })
            .collect()
    }

    /// Remember a fresh observation of `q` made at `at`, with what its zone served just
    /// before it was made (`before`, when the zone was asked): kept for reuse when
    /// [`settled`], otherwise only for its zone. Entries older than `max_age` of owners
    /// not in this pass are dropped.
    pub fn record(
        &mut self,
        q: &OwnerQuery,
        obs: &OwnerObservation,
        at: Timestamp,
        before: &[ZoneSerials],
    ) {
        let serials = obs.zone.as_deref().and_then(|z| {
            let zq = zone_query(q, z);
            let b = before.iter().find(|b| b.zone == zq)?;
            settled(obs, b).then(|| b.serials.clone()).flatten()
        });
        let entry = Entry {
            query: q.clone(),
            at,
            serials,
            observation: obs.clone(),
        };
        match self.entries.iter_mut().find(|e| e.query == *q) {
            Some(e) => *e = entry,
            None => self.entries.push(entry),
        }
    }

    /// Drop the entries older than `max_age` at `now` (or from the future).
    pub fn prune(&mut self, now: Timestamp, max_age: Duration) {
        self.entries
            .retain(|e| e.at <= now && age(e.at, now) <= max_age);
        self.hosts
            .retain(|h| h.at <= now && age(h.at, now) <= max_age);
    }

    /// The kept addresses of `host` (lowercase, no trailing dot), when its zone serves the
    /// same serials at the same servers now (`checked`), validates Secure, and they are at
    /// most `max_age` old.
    pub fn host_addresses(
        &self,
        host: &str,
        checked: &[ZoneSerials],
        now: Timestamp,
        max_age: Duration,
    ) -> Option<Vec<IpAddr>> {
        let h = self.hosts.iter().find(|h| h.host == host)?;
        if h.at > now || age(h.at, now) > max_age {
            return None;
        }
        let z = checked.iter().find(|z| z.zone == h.zone)?;
        (z.secure && z.serials.as_ref() == Some(&h.serials)).then(|| h.addresses.clone())
    }

    /// Remember `host`'s addresses as the resolver gave them (`resolved`) at `at`, when one
    /// of its zone's servers served the same with authority (`authoritative`) just after the
    /// zone served `before`. Otherwise forget what was kept for it.
    pub fn record_host(
        &mut self,
        host: &str,
        before: &ZoneSerials,
        at: Timestamp,
        resolved: &[IpAddr],
        authoritative: Option<&[IpAddr]>,
    ) {
        self.hosts.retain(|h| h.host != host);
        let (Some(serials), Some(auth)) = (&before.serials, authoritative) else {
            return;
        };
        let set = |a: &[IpAddr]| {
            let mut v = a.to_vec();
            v.sort();
            v.dedup();
            v
        };
        if !before.secure || set(resolved) != set(auth) {
            return;
        }
        self.hosts.push(HostEntry {
            host: host.to_string(),
            zone: before.zone.clone(),
            serials: serials.clone(),
            at,
            addresses: set(resolved),
        });
    }
}

/// What each server answered with authority (the records, sorted), by server.
fn served_records(o: &OwnerObservation) -> Vec<(SocketAddr, Vec<String>)> {
    o.servers
        .iter()
        .filter_map(|s| match &s.outcome {
            ServerOutcome::Answer(a) if a.authoritative => {
                let mut r: Vec<String> = a.records.iter().map(ToString::to_string).collect();
                r.sort();
                r.dedup();
                Some((s.server, r))
            }
            _ => None,
        })
        .collect()
}

/// Whether a kept observation still holds by the validated read made in this pass
/// (`now`, through the validating resolver alone): Secure, with the same records. An RRset
/// turned Bogus (an expired RRSIG while the zone's SOA still validates) or changed is
/// thereby seen within one pass.
pub fn still_validates(kept: &OwnerObservation, now: &super::Validated) -> bool {
    let set = |v: &[TlsaRecord]| {
        let mut r: Vec<String> = v.iter().map(ToString::to_string).collect();
        r.sort();
        r.dedup();
        r
    };
    now.state == Validation::Secure && set(&now.records) == set(&kept.validated.records)
}

fn age(at: Timestamp, now: Timestamp) -> Duration {
    now.duration_since(at).unsigned_abs()
}

/// Whether `obs` may be reused while its zone serves `before` (what the zone served just
/// before the owner was asked): see the module documentation.
pub fn settled(obs: &OwnerObservation, before: &ZoneSerials) -> bool {
    let Some(zone) = obs.zone.as_deref().map(str::to_ascii_lowercase) else {
        return false;
    };
    let Some(serials) = &before.serials else {
        return false;
    };
    if before.zone.zone != zone || !before.secure || obs.servers.is_empty() {
        return false;
    }
    if !obs
        .chain
        .iter()
        .all(|l| l.zone.as_deref().map(str::to_ascii_lowercase).as_deref() == Some(&zone))
    {
        return false;
    }
    let mut seen: Vec<(SocketAddr, u32)> = Vec::with_capacity(obs.servers.len());
    let mut records: Vec<TlsaRecord> = Vec::new();
    for s in &obs.servers {
        let ServerOutcome::Answer(a) = &s.outcome else {
            return false;
        };
        let Some(serial) = a.serial.filter(|_| a.authoritative) else {
            return false;
        };
        seen.push((s.server, serial));
        records.extend(a.records.iter().cloned());
    }
    seen.sort();
    seen.dedup();
    if &seen != serials || !obs.servers_agree() {
        return false;
    }
    records.sort_by_key(ToString::to_string);
    records.dedup();
    let mut validated = obs.validated.records.clone();
    validated.sort_by_key(ToString::to_string);
    validated.dedup();
    obs.validated.state == Validation::Secure && validated == records
}

#[cfg(test)]
mod tests;
