//! An in-memory world implementing every trait the engine acts through: a certbot
//! lineage (archive versions and live links), next key files, a key generator, DNS
//! servers that lag behind the provider (each with its own delay, and freezes), a
//! validating resolver whose verdict can be set, a provider that can be made to fail,
//! certbot, reload commands and a clock. For tests and simulations: nothing touches the
//! disk or the network, and the world's history (every RRset version, every change of
//! the live key) is kept so that tests can check what resolvers could have cached.
//!
//! The zone's SOA serial at a server is the number of RRset versions it serves (every
//! owner's, [`World::serial`]): a change through the provider moves it as each server picks
//! the change up, a version marked [`RrsetVersion::silent`] (an edit straight in the
//! backend's database) does not. Observations carry it, and [`Observe::zone_serials`]
//! answers with it, so passes reuse observations here as they do against real servers
//! ([`crate::dns::reuse`]).
//!
//! Keys are fake but consistent: key `n` has the SPKI `SPKI-n` and the PEM `PEM-n`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};

use super::traits::{
    CertbotRun, Clock, FailPoint, KeyGen, LineageFacts, LineageFiles, NewKey, NextKeyFiles,
    PlantPlan, PrivateKeyPem, Reloader, Renewer, Step,
};
use crate::dns::reuse::{ZoneQuery, ZoneSerials};
use crate::dns::{
    DnsError, Observe, OwnerObservation, OwnerQuery, Served, ServerAnswer, ServerOutcome,
    Validated, Validation, absolute,
};
use crate::endpoint::{Endpoint, EndpointProbe, Serving};
use crate::error::Error;
use crate::probe::endpoint::EndpointProber;
use crate::provider::{Change, Provider, ProviderError, ProviderView};
use crate::rollover::KeyInfo;
use crate::tlsa::TlsaRecord;

/// One authoritative server.
#[derive(Debug, Clone)]
pub struct MemServer {
    /// Its address, as observations name it.
    pub addr: SocketAddr,
    /// Its host name (absolute).
    pub name: String,
    /// It serves the provider's data as of this many seconds ago.
    pub lag: i64,
    /// Periods (from, until) during which it serves what it had at `from` (a frozen
    /// secondary); `until` None: still frozen.
    pub freezes: Vec<(Timestamp, Option<Timestamp>)>,
    /// It answers nothing (timeout).
    pub down: bool,
    /// The lookup of its address (its NS name's A or AAAA) fails: it cannot be asked.
    pub lookup_fails: bool,
}

impl MemServer {
    /// The moment of the provider's history this server serves at `t`. Never decreases.
    pub fn view_time(&self, t: Timestamp) -> Timestamp {
        let mut v = t - SignedDuration::from_secs(self.lag);
        for (from, until) in &self.freezes {
            if *from <= t && until.is_none_or(|u| t < u) {
                v = v.min(*from - SignedDuration::from_secs(self.lag));
            }
        }
        v
    }
}

/// How an endpoint picks up a new certificate and key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// When the reload commands run (or it restarts).
    Reload,
    /// On its own, reading the live files this many seconds after they change.
    Files { lag: i64 },
    /// Never by itself: it serves copies; only [`World::fix_endpoint`] (someone copies the
    /// files and reloads it) changes what it serves.
    Copies,
}

/// A server presenting a lineage's certificate (an endpoint).
#[derive(Debug, Clone)]
pub struct MemEndpoint {
    /// The lineage whose certificate it presents.
    pub lineage: String,
    /// Host name (no trailing dot) and port, as the endpoint lists name them.
    pub host: String,
    pub port: u16,
    /// Its address.
    pub addr: SocketAddr,
    pub follow: Follow,
    /// Every change of the key it serves: (true time, SPKI). For [`Follow::Files`] the
    /// key follows the lineage's live log instead.
    pub log: Vec<(Timestamp, Vec<u8>)>,
    /// Nothing answers (it keeps what it loaded).
    pub down: bool,
    /// The lookup of its address's family fails (SERVFAIL or timeout for, say, the AAAA
    /// of its host while the A answers): a probe by host name cannot know this address.
    pub family_fails: bool,
}

/// One version of an owner's RRset at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrsetVersion {
    /// When the provider made this version (true time).
    pub at: Timestamp,
    /// The RRset (empty: no TLSA records).
    pub records: Vec<TlsaRecord>,
    /// Its TTL.
    pub ttl: u32,
    /// Made without a new zone serial (someone edited the backend's database directly):
    /// servers serve it, but their SOA serial does not move ([`World::serial`]).
    pub silent: bool,
}

/// How a lineage's ACME client keeps its key (see [`crate::acme`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyStore {
    /// Behind a link (certbot, dehydrated): the next key is a new version, the link is
    /// repointed, and pointed back on undo.
    #[default]
    Linked,
    /// In a plain file (lego, uacme, acme.sh, a command): the key file is copied aside,
    /// the next key renamed over it, and the copy renamed back on undo. The key file is
    /// `privkeys[privkey_link]` (each write of it a new version).
    KeyFile,
}

/// A lineage: archive versions and where the live links point (or, for a key-file
/// client, the successive contents of its key and certificate files).
#[derive(Debug, Clone)]
pub struct MemLineage {
    /// archive/NAME/privkeyN.pem contents, by N.
    pub privkeys: BTreeMap<u32, Vec<u8>>,
    /// archive/NAME/certN.pem, as the SPKI of its key, by N.
    pub certs: BTreeMap<u32, Vec<u8>>,
    /// live/NAME/privkey.pem points at this version.
    pub privkey_link: u32,
    /// live/NAME/cert.pem (and chain, fullchain) point at this version.
    pub cert_link: u32,
    /// renewal.conf's reuse_key.
    pub reuse_key: bool,
    /// Every change of the certificate's key: (true time, SPKI, by a danerollover switch).
    pub live_log: Vec<(Timestamp, Vec<u8>, bool)>,
    /// How the client keeps the key.
    pub store: KeyStore,
    /// Key-file clients: the copy of the key file a switch made (`.danerollover-previous`).
    pub key_copy: Option<Vec<u8>>,
    /// Key-file clients: the staged next key (`.danerollover-next`).
    pub key_staged: Option<Vec<u8>>,
    /// fullchain.pem and chain.pem still point at this older version (certbot between
    /// relinking cert.pem and them); None: they follow cert.pem.
    pub chain_link: Option<u32>,
}

impl MemLineage {
    fn highest(&self) -> u32 {
        self.privkeys
            .keys()
            .chain(self.certs.keys())
            .copied()
            .max()
            .unwrap_or(0)
    }
}

/// What the next certbot run does (certbot surprising the switch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertbotBehaviour {
    /// Renews with the key `privkey.pem` points at (what `--reuse-key` asks).
    Renew,
    /// Fails without writing anything.
    Fail,
    /// Exits 0 and changes nothing (a wrapper, a dry run).
    NoOp,
    /// Renews with a key of its own (`--new-key`, a key-type mismatch).
    OwnKey,
    /// Writes the next archive version (key and certificate), then fails before
    /// relinking `live/`.
    FailAfterArchive,
    /// Renews and relinks, then fails (exit 1 after the certificate is installed).
    FailAfterLinks,
}

/// A certbot run that was started and has not finished (danerollover may have been
/// killed meanwhile: the run finishes with [`World::finish_certbot`]).
#[derive(Debug, Clone)]
pub struct PendingCertbot {
    /// The lineage it renews.
    pub lineage: String,
    /// Its pid.
    pub pid: u32,
    /// The key it read through `privkey.pem` when it started.
    pub pem: Option<Vec<u8>>,
    /// What it does.
    pub behaviour: CertbotBehaviour,
}

/// Everything in the world. Public so that tests can arrange and inspect it.
#[derive(Debug, Clone)]
pub struct World {
    /// True time.
    pub now: Timestamp,
    /// Seconds the machine's clock is off from true time (jumps change it).
    pub clock_offset: i64,
    /// True time of the last boot, and which boot it is (the boot clock counts true time
    /// since then); None: the boot clock cannot be read (the time is unknown).
    pub boot: Option<(Timestamp, u32)>,
    /// Whether the boot id can be read (false: the shipped unit's `/proc`, where a reboot
    /// shows only as the boot clock going back).
    pub boot_ids: bool,
    /// Whether the boot clock cannot be read (the time is unknown; `boot` is kept for
    /// when it can be read again).
    pub clock_unknown: bool,
    /// Whether certbot's lock cannot be asked about (a pass cannot tell whether certbot
    /// runs).
    pub lock_unknown: bool,
    /// The shell before issue 19, for tests that show the simulation finds the hole: an
    /// unreadable boot clock reads as a count that follows the wall clock (the wall clock
    /// trusted), and an unknown lock reads as not held.
    pub permissive_unknowns: bool,
    /// The zone holding every owner (absolute).
    pub zone: String,
    /// The authoritative servers.
    pub servers: Vec<MemServer>,
    /// The provider's RRset history per owner (absolute names).
    pub rrsets: BTreeMap<String, Vec<RrsetVersion>>,
    /// Owners that are CNAMEs (absolute owner -> absolute target in the same zone, RFC 7671
    /// 7): servers answer the CNAME with the target's records, and the provider refuses
    /// TLSA records beside a CNAME.
    pub aliases: BTreeMap<String, String>,
    /// The negative TTL (SOA minimum) servers give with NODATA answers.
    pub negative_ttl: u32,
    /// What the validating resolver concludes about every owner.
    pub validation: Validation,
    /// The provider's name, for its errors.
    pub provider_name: String,
    /// The next this many provider changes fail.
    pub provider_failures: u32,
    /// Every change the provider applied, with the true time.
    pub changes: Vec<(Timestamp, Change)>,
    /// certbot lineages by name.
    pub lineages: BTreeMap<String, MemLineage>,
    /// Next key files under the state directory.
    pub key_files: BTreeMap<PathBuf, Vec<u8>>,
    /// Next key files removed, with their content.
    pub removed_key_files: Vec<(PathBuf, Vec<u8>)>,
    /// Keys generated so far (the next key is number `keys_made + 1`).
    pub keys_made: u64,
    /// The next this many certbot runs fail.
    pub certbot_failures: u32,
    /// What the next certbot run does (when it does not fail); then back to renewing.
    pub certbot_next: Option<CertbotBehaviour>,
    /// A certbot run still in progress.
    pub certbot_pending: Option<PendingCertbot>,
    /// certbot runs started so far (their pids are 1000 + n).
    pub certbot_runs: u32,
    /// The next this many reloads fail.
    pub reload_failures: u32,
    /// Reloads run: (true time, lineage).
    pub reloads: Vec<(Timestamp, String)>,
    /// Each lineage's key family (the fake keys have none): All unless set. An endpoint
    /// probe offering one family reaches only the endpoints of lineages of that family (a
    /// server with an ECDSA and an RSA certificate).
    pub key_families: BTreeMap<String, crate::probe::Algorithms>,
    /// The endpoints (none: every endpoint lookup finds no address).
    pub endpoints: Vec<MemEndpoint>,
    /// SPKIs of keys the CA refuses (`badPublicKey`): a renewal certifying one fails.
    pub blocked_keys: Vec<Vec<u8>>,
    /// certbot's log of refused renewals (what [`Certbot::refusals_since`] reads), by
    /// true time.
    pub refusal_log: Vec<crate::rollover::RenewalRefusal>,
    /// Test-only model of the shell before a failed address family made a host unknown:
    /// an endpoint whose family lookup fails is left out of the host's addresses (a shorter
    /// list) instead of being an unknown entry. What a test turns on to show the
    /// simulation finds that hole.
    pub drop_failed_family: bool,
    /// CNAME targets in another zone the same servers serve (absolute target -> zone): the
    /// servers answer the CNAME with the target's records, with authority, as if in the
    /// owner's zone; records for the target belong in its zone.
    pub target_zones: BTreeMap<String, String>,
    /// Test-only model of the observer before it asked for a target's zone: the chain's
    /// target is taken to be in the owner's zone (what a test turns on to show the hole).
    pub target_zone_as_owner: bool,
    /// Changes a provider accepted for a zone that does not hold the name (written below a
    /// delegation, or refused by a real server): never served.
    pub misplaced: Vec<Change>,
}

/// The in-memory world behind a lock, implementing all the engine's traits.
#[derive(Debug)]
pub struct MemoryWorld {
    /// The world; lock it with [`MemoryWorld::world`].
    pub inner: Mutex<World>,
    /// The provider's name (a lineage's `provider` key must name it).
    pub provider: String,
}

/// The fake SPKI of key `n`.
pub fn spki_of(n: u64) -> Vec<u8> {
    format!("SPKI-{n}").into_bytes()
}

/// The fake PEM of key `n`.
pub fn pem_of(n: u64) -> Vec<u8> {
    format!("PEM-{n}").into_bytes()
}

/// The SPKI of a fake PEM.
pub fn spki_of_pem(pem: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(pem).ok()?;
    let n: u64 = text.strip_prefix("PEM-")?.parse().ok()?;
    Some(spki_of(n))
}

fn version_of(path: &Path) -> Option<u32> {
    let name = path.file_name()?.to_str()?;
    name.strip_prefix("privkey")?
        .strip_suffix(".pem")?
        .parse()
        .ok()
}

fn archive_path(lineage: &str, v: u32) -> PathBuf {
    PathBuf::from(format!("/etc/letsencrypt/archive/{lineage}/privkey{v}.pem"))
}

fn link_target(lineage: &str, v: u32) -> PathBuf {
    PathBuf::from(format!("../../archive/{lineage}/privkey{v}.pem"))
}

/// certbot's log entry of a renewal of `lineage` refused for the key `spki`.
fn refusal(lineage: &str, spki: &[u8], at: Timestamp) -> crate::rollover::RenewalRefusal {
    crate::rollover::RenewalRefusal::KeyBlocked {
        lineage: lineage.to_string(),
        key: Some(KeyInfo::from_spki(spki).id),
        at,
        evidence: "certbot's log (memory)".into(),
        detail: "key is blocked".into(),
    }
}

/// A key-file client's key file, staged next key and copy.
fn key_file(lineage: &str) -> PathBuf {
    PathBuf::from(format!("/var/lib/client/{lineage}/key.pem"))
}

fn staged_path(lineage: &str) -> PathBuf {
    PathBuf::from(format!(
        "/var/lib/client/{lineage}/key.pem.danerollover-next"
    ))
}

fn copy_path(lineage: &str) -> PathBuf {
    PathBuf::from(format!(
        "/var/lib/client/{lineage}/key.pem.danerollover-previous"
    ))
}

fn failed(what: &str) -> Error {
    Error::Failed(format!("(memory world) {what}"))
}

impl World {
    /// What checking each server's signature shows: valid (signatures that never expire:
    /// the world re-signs nothing) when the world's zone validates Secure, invalid when
    /// Bogus, unknown otherwise.
    pub fn signature(&self) -> crate::dns::Signature {
        match self.validation {
            Validation::Secure => crate::dns::Signature::Valid {
                expires: Timestamp::MAX,
            },
            Validation::Bogus => crate::dns::Signature::Invalid {
                reason: "(memory world) the RRSIG does not verify".into(),
            },
            _ => crate::dns::Signature::Unknown {
                reason: "(memory world) the zone is not signed".into(),
            },
        }
    }

    /// The RRset the provider held at `owner` at time `t` (before any version: empty).
    pub fn rrset_at(&self, owner: &str, t: Timestamp) -> Option<&RrsetVersion> {
        self.rrsets
            .get(&absolute(owner))?
            .iter()
            .rev()
            .find(|v| v.at <= t)
    }

    /// The zone's SOA serial at server `i` now: how many RRset versions (of every owner)
    /// it serves, not counting the silent ones ([`RrsetVersion::silent`]). Every change
    /// made through the provider moves it when the server picks the change up.
    pub fn serial(&self, i: usize) -> u32 {
        let t = self.servers[i].view_time(self.now);
        let n = self
            .rrsets
            .values()
            .flatten()
            .filter(|v| !v.silent && v.at <= t)
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Where `owner`'s TLSA RRset is: the CNAME target when it is an alias.
    pub fn resolve(&self, owner: &str) -> String {
        let owner = absolute(owner);
        self.aliases.get(&owner).cloned().unwrap_or(owner)
    }

    /// What server `i` serves at `owner` now (through its CNAME, if any).
    pub fn served(&self, i: usize, owner: &str) -> Vec<TlsaRecord> {
        let t = self.servers[i].view_time(self.now);
        self.rrset_at(&self.resolve(owner), t)
            .map(|v| v.records.clone())
            .unwrap_or_default()
    }

    /// The key of the lineage's live certificate.
    pub fn live_spki(&self, lineage: &str) -> Option<Vec<u8>> {
        let l = self.lineages.get(lineage)?;
        l.certs.get(&l.cert_link).cloned()
    }

    /// Whether the live private key is the certificate's key (a server can use the pair).
    pub fn consistent(&self, lineage: &str) -> bool {
        let Some(l) = self.lineages.get(lineage) else {
            return false;
        };
        let key = l.privkeys.get(&l.privkey_link).and_then(|p| spki_of_pem(p));
        key.is_some() && key == l.certs.get(&l.cert_link).cloned()
    }

    /// The key family of `lineage`'s keys (All unless set in `key_families`).
    pub fn key_family(&self, lineage: &str) -> crate::probe::Algorithms {
        self.key_families
            .get(lineage)
            .copied()
            .unwrap_or(crate::probe::Algorithms::All)
    }

    /// The key endpoint `i` serves at true time `t` (None: nothing loaded yet).
    pub fn endpoint_key(&self, i: usize, t: Timestamp) -> Option<Vec<u8>> {
        let e = &self.endpoints[i];
        match e.follow {
            Follow::Files { lag } => {
                let seen = t - SignedDuration::from_secs(lag);
                let log = &self.lineages.get(&e.lineage)?.live_log;
                log.iter()
                    .rev()
                    .find(|x| x.0 <= seen)
                    .or(log.first())
                    .map(|x| x.1.clone())
            }
            Follow::Reload | Follow::Copies => e
                .log
                .iter()
                .rev()
                .find(|x| x.0 <= t)
                .or(e.log.first())
                .map(|x| x.1.clone()),
        }
    }

    /// Endpoint `i` loads its lineage's live certificate now (a reload or a restart, or
    /// for copies: someone copies the new files and reloads it).
    pub fn fix_endpoint(&mut self, i: usize) {
        let now = self.now;
        let lineage = self.endpoints[i].lineage.clone();
        if let Some(spki) = self.live_spki(&lineage) {
            let e = &mut self.endpoints[i];
            if e.log.last().is_none_or(|x| x.1 != spki) {
                e.log.push((now, spki));
            }
        }
    }

    fn new_key(&mut self) -> u64 {
        self.keys_made += 1;
        self.keys_made
    }

    /// certbot renewing on its own (its timer), outside danerollover: with the live key
    /// when reuse_key is on (and `new_key` is false), with a brand-new key otherwise.
    /// The caller then runs the deploy hook. False when the CA refused the key (the
    /// refusal is in certbot's log, no hook runs).
    pub fn external_renew(&mut self, lineage: &str, new_key: bool) -> bool {
        let n = self.new_key();
        let now = self.now;
        let Some(l) = self.lineages.get_mut(lineage) else {
            return false;
        };
        let pem = if l.reuse_key && !new_key {
            l.privkeys
                .get(&l.privkey_link)
                .cloned()
                .unwrap_or_else(|| pem_of(n))
        } else {
            pem_of(n)
        };
        let v = l.highest() + 1;
        let spki = spki_of_pem(&pem).unwrap_or_default();
        if self.blocked_keys.contains(&spki) {
            self.refusal_log.push(refusal(lineage, &spki, now));
            return false;
        }
        let changed = l.certs.get(&l.cert_link) != Some(&spki);
        l.privkeys.insert(v, pem);
        l.certs.insert(v, spki.clone());
        l.privkey_link = v;
        l.cert_link = v;
        if changed {
            l.live_log.push((now, spki, false));
        }
        true
    }

    /// Finish the certbot run in progress (one started by a switch whose danerollover was
    /// killed): None when there is none, else its result.
    pub fn finish_certbot(&mut self) -> Option<Result<(), Error>> {
        let p = self.certbot_pending.take()?;
        Some(self.complete(p))
    }

    fn complete(&mut self, p: PendingCertbot) -> Result<(), Error> {
        let now = self.now;
        let own = match p.behaviour {
            CertbotBehaviour::OwnKey => Some(pem_of(self.new_key())),
            _ => None,
        };
        let l = self
            .lineages
            .get_mut(&p.lineage)
            .ok_or_else(|| failed("no such lineage"))?;
        let write = |l: &mut MemLineage, pem: Vec<u8>, link: bool, by_switch: bool| {
            let spki = spki_of_pem(&pem).unwrap_or_default();
            let v = l.highest() + 1;
            l.privkeys.insert(v, pem);
            l.certs.insert(v, spki.clone());
            if link {
                let changed = l.certs.get(&l.cert_link) != Some(&spki);
                l.privkey_link = v;
                l.cert_link = v;
                if changed {
                    l.live_log.push((now, spki, by_switch));
                }
            }
        };
        let read = || {
            p.pem
                .clone()
                .ok_or_else(|| failed("privkey.pem points at nothing"))
        };
        let certifies = matches!(
            p.behaviour,
            CertbotBehaviour::Renew
                | CertbotBehaviour::FailAfterArchive
                | CertbotBehaviour::FailAfterLinks
        );
        if certifies
            && let Some(spki) = p.pem.as_deref().and_then(spki_of_pem)
            && self.blocked_keys.contains(&spki)
        {
            self.refusal_log.push(refusal(&p.lineage, &spki, now));
            return Err(failed(&format!(
                "certbot: Failed to renew certificate {} with error: {} :: The JWS was signed by a public key the server does not support :: key is blocked",
                p.lineage,
                crate::rollover::blocked::BAD_PUBLIC_KEY
            )));
        }
        match p.behaviour {
            CertbotBehaviour::Fail => Err(failed("certbot: the ACME server said no")),
            CertbotBehaviour::NoOp => Ok(()),
            CertbotBehaviour::Renew => {
                write(l, read()?, true, true);
                Ok(())
            }
            CertbotBehaviour::OwnKey => {
                write(l, own.unwrap_or_default(), true, false);
                Ok(())
            }
            CertbotBehaviour::FailAfterArchive => {
                write(l, read()?, false, true);
                Err(failed("certbot: crashed after writing the archive"))
            }
            CertbotBehaviour::FailAfterLinks => {
                write(l, read()?, true, true);
                Err(failed("certbot: failed after installing the certificate"))
            }
        }
    }
}

impl MemoryWorld {
    /// A world at `now` with servers of the given lags, zone `example.test.`, the
    /// provider named `provider`, TTL-less empty owners and a negative TTL of 300.
    pub fn new(now: Timestamp, lags: &[i64], provider: &str) -> MemoryWorld {
        let servers = lags
            .iter()
            .enumerate()
            .map(|(i, lag)| MemServer {
                addr: SocketAddr::from(([127, 0, 10, (i + 1) as u8], 53)),
                name: format!("ns{}.example.test.", i + 1),
                lag: *lag,
                freezes: Vec::new(),
                down: false,
                lookup_fails: false,
            })
            .collect();
        MemoryWorld {
            provider: provider.to_string(),
            inner: Mutex::new(World {
                now,
                clock_offset: 0,
                boot: Some((now, 1)),
                boot_ids: true,
                clock_unknown: false,
                lock_unknown: false,
                permissive_unknowns: false,
                zone: "example.test.".into(),
                servers,
                rrsets: BTreeMap::new(),
                aliases: BTreeMap::new(),
                negative_ttl: 300,
                validation: Validation::Secure,
                provider_name: provider.into(),
                provider_failures: 0,
                changes: Vec::new(),
                lineages: BTreeMap::new(),
                key_files: BTreeMap::new(),
                removed_key_files: Vec::new(),
                keys_made: 0,
                certbot_failures: 0,
                certbot_next: None,
                certbot_pending: None,
                certbot_runs: 0,
                reload_failures: 0,
                reloads: Vec::new(),
                endpoints: Vec::new(),
                drop_failed_family: false,
                target_zones: BTreeMap::new(),
                target_zone_as_owner: false,
                misplaced: Vec::new(),
                key_families: BTreeMap::new(),
                blocked_keys: Vec::new(),
                refusal_log: Vec::new(),
            }),
        }
    }

    /// Lock the world to arrange or inspect it.
    pub fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Add a lineage with a fresh key at version 1; returns its key.
    pub fn add_lineage(&self, name: &str, reuse_key: bool) -> KeyInfo {
        let mut w = self.world();
        let n = w.new_key();
        let now = w.now;
        w.lineages.insert(
            name.to_string(),
            MemLineage {
                privkeys: BTreeMap::from([(1, pem_of(n))]),
                certs: BTreeMap::from([(1, spki_of(n))]),
                privkey_link: 1,
                cert_link: 1,
                reuse_key,
                live_log: vec![(now, spki_of(n), false)],
                store: KeyStore::Linked,
                key_copy: None,
                key_staged: None,
                chain_link: None,
            },
        );
        KeyInfo::from_spki(&spki_of(n))
    }

    /// Make `lineage`'s client keep its key in a plain file ([`KeyStore::KeyFile`]).
    pub fn set_key_store(&self, lineage: &str, store: KeyStore) {
        if let Some(l) = self.world().lineages.get_mut(lineage) {
            l.store = store;
        }
    }

    /// Add an endpoint of `lineage` at `host:port` (address 127.0.0.N), serving the
    /// lineage's live key from the start; returns its index.
    pub fn add_endpoint(&self, lineage: &str, host: &str, port: u16, follow: Follow) -> usize {
        let mut w = self.world();
        let i = w.endpoints.len();
        let spki = w.live_spki(lineage).unwrap_or_default();
        w.endpoints.push(MemEndpoint {
            lineage: lineage.to_string(),
            host: host.trim_end_matches('.').to_ascii_lowercase(),
            port,
            addr: SocketAddr::from(([127, 0, 0, (i + 1) as u8], port)),
            follow,
            log: vec![(Timestamp::MIN, spki)],
            down: false,
            family_fails: false,
        });
        i
    }

    /// Put an RRset at `owner` (as if it had always been there).
    pub fn seed_rrset(&self, owner: &str, records: Vec<TlsaRecord>, ttl: u32) {
        let mut w = self.world();
        w.rrsets.insert(
            absolute(owner),
            vec![RrsetVersion {
                at: Timestamp::MIN,
                records,
                ttl,
                silent: false,
            }],
        );
    }

    /// Let `secs` of true time pass.
    pub fn advance(&self, secs: i64) {
        let mut w = self.world();
        w.now += SignedDuration::from_secs(secs);
    }
}

impl KeyGen for MemoryWorld {
    fn generate(&self, lineage: &str) -> Result<NewKey, Error> {
        let mut w = self.world();
        if !w.lineages.contains_key(lineage) {
            return Err(failed("keygen: no such lineage"));
        }
        let n = w.new_key();
        Ok(NewKey {
            pem: PrivateKeyPem(pem_of(n)),
            spki_der: spki_of(n),
        })
    }
}

impl NextKeyFiles for MemoryWorld {
    fn write(&self, path: &Path, pem: &PrivateKeyPem) -> Result<(), Error> {
        let mut w = self.world();
        if w.key_files.contains_key(path) {
            return Err(failed("next key file exists"));
        }
        w.key_files.insert(path.to_path_buf(), pem.0.clone());
        Ok(())
    }

    fn spki(&self, path: &Path) -> Result<Option<Vec<u8>>, Error> {
        let w = self.world();
        Ok(w.key_files.get(path).and_then(|p| spki_of_pem(p)))
    }

    fn remove(&self, path: &Path) -> Result<(), Error> {
        let mut w = self.world();
        // A key-file client's copy of the key before a switch that went through.
        for (name, l) in w.lineages.iter_mut() {
            if l.store == KeyStore::KeyFile && path == copy_path(name) {
                l.key_copy = None;
                return Ok(());
            }
        }
        if let Some(content) = w.key_files.remove(path) {
            w.removed_key_files.push((path.to_path_buf(), content));
        }
        Ok(())
    }
}

impl LineageFiles for MemoryWorld {
    fn facts(&self, lineage: &str) -> Result<LineageFacts, Error> {
        let w = self.world();
        let l = w
            .lineages
            .get(lineage)
            .ok_or_else(|| failed("no such lineage"))?;
        Ok(LineageFacts {
            live_spki: l
                .certs
                .get(&l.cert_link)
                .cloned()
                .ok_or_else(|| failed("cert.pem points at nothing"))?,
            reuse_key: l.reuse_key,
            key_spki: l.privkeys.get(&l.privkey_link).and_then(|p| spki_of_pem(p)),
            key_family: w.key_family(lineage),
            chain_lag: l
                .chain_link
                .filter(|v| *v != l.cert_link)
                .map(|v| format!("fullchain.pem is version {v}, cert.pem {}", l.cert_link)),
        })
    }

    fn plant_plan(&self, lineage: &str) -> Result<PlantPlan, Error> {
        let w = self.world();
        let l = w
            .lineages
            .get(lineage)
            .ok_or_else(|| failed("no such lineage"))?;
        if l.store == KeyStore::KeyFile {
            return Ok(PlantPlan {
                archive_path: staged_path(lineage),
                previous_target: copy_path(lineage),
            });
        }
        Ok(PlantPlan {
            archive_path: archive_path(lineage, l.highest() + 1),
            previous_target: link_target(lineage, l.privkey_link),
        })
    }

    fn plant(&self, lineage: &str, plan: &PlantPlan, key_path: &Path) -> Result<(), Error> {
        let mut w = self.world();
        let pem = w
            .key_files
            .get(key_path)
            .cloned()
            .ok_or_else(|| failed("the next key file is missing"))?;
        if w.lineages.get(lineage).map(|l| l.store) == Some(KeyStore::KeyFile) {
            let l = w
                .lineages
                .get_mut(lineage)
                .ok_or_else(|| failed("no such lineage"))?;
            // Copies of an earlier switch are ours: cleared first (as keyfile::plant does).
            l.key_copy = l.privkeys.get(&l.privkey_link).cloned();
            l.key_staged = Some(pem);
            return Ok(());
        }
        let v = version_of(&plan.archive_path).ok_or_else(|| failed("bad archive path"))?;
        let l = w
            .lineages
            .get_mut(lineage)
            .ok_or_else(|| failed("no such lineage"))?;
        if l.privkeys.contains_key(&v) {
            return Err(failed("archive file exists"));
        }
        l.privkeys.insert(v, pem);
        Ok(())
    }

    fn repoint(&self, lineage: &str, plan: &PlantPlan) -> Result<(), Error> {
        let mut w = self.world();
        if let Some(l) = w
            .lineages
            .get_mut(lineage)
            .filter(|l| l.store == KeyStore::KeyFile)
        {
            let (Some(pem), Some(_)) = (l.key_staged.take(), &l.key_copy) else {
                return Err(failed(
                    "nothing planted (or no copy) to rename over the key file",
                ));
            };
            let v = l.highest() + 1;
            l.privkeys.insert(v, pem);
            l.privkey_link = v;
            return Ok(());
        }
        let v = version_of(&plan.archive_path).ok_or_else(|| failed("bad archive path"))?;
        let l = w
            .lineages
            .get_mut(lineage)
            .ok_or_else(|| failed("no such lineage"))?;
        if !l.privkeys.contains_key(&v) {
            return Err(failed("nothing planted to point at"));
        }
        l.privkey_link = v;
        Ok(())
    }

    fn restore(&self, lineage: &str, plan: &PlantPlan, key_spki: &[u8]) -> Result<(), Error> {
        let mut w = self.world();
        if let Some(l) = w
            .lineages
            .get_mut(lineage)
            .filter(|l| l.store == KeyStore::KeyFile)
        {
            let holds = |pem: Option<&Vec<u8>>| {
                pem.and_then(|p| spki_of_pem(p))
                    .is_some_and(|s| s == key_spki)
            };
            if holds(l.privkeys.get(&l.privkey_link)) {
                let copy = l.key_copy.take().ok_or_else(|| {
                    failed("the key file holds the next key and the copy is gone")
                })?;
                let v = l.highest() + 1;
                l.privkeys.insert(v, copy);
                l.privkey_link = v;
            } else {
                l.key_copy = None;
            }
            if holds(l.key_staged.as_ref()) {
                l.key_staged = None;
            }
            return Ok(());
        }
        let planted = version_of(&plan.archive_path).ok_or_else(|| failed("bad archive path"))?;
        let previous = version_of(&plan.previous_target).ok_or_else(|| failed("bad target"))?;
        let l = w
            .lineages
            .get_mut(lineage)
            .ok_or_else(|| failed("no such lineage"))?;
        let ours = l
            .privkeys
            .get(&planted)
            .and_then(|p| spki_of_pem(p))
            .is_some_and(|s| s == key_spki);
        if !ours {
            return Ok(());
        }
        if l.privkey_link == planted {
            l.privkey_link = previous;
        }
        if l.privkey_link != planted && l.cert_link != planted {
            l.privkeys.remove(&planted);
        }
        Ok(())
    }

    fn leftovers(&self, lineage: &str, plan: &PlantPlan) -> Vec<PathBuf> {
        let w = self.world();
        match w.lineages.get(lineage).map(|l| l.store) {
            Some(KeyStore::KeyFile) => vec![plan.previous_target.clone()],
            _ => Vec::new(),
        }
    }

    fn key_mismatch(&self, lineage: &str) -> String {
        match self.world().lineages.get(lineage).map(|l| l.store) {
            Some(KeyStore::KeyFile) => format!(
                "{} does not hold the key of the certificate (a server that reloads now cannot use the pair)",
                key_file(lineage).display()
            ),
            _ => crate::acme::certbot::client::mismatch(lineage),
        }
    }
}

#[async_trait]
impl Renewer for MemoryWorld {
    async fn start(&self, lineage: &str) -> Result<CertbotRun, Error> {
        let mut w = self.world();
        if w.certbot_pending.is_some() {
            return Err(failed(
                "certbot: another instance of certbot is already running",
            ));
        }
        let behaviour = if w.certbot_failures > 0 {
            w.certbot_failures -= 1;
            CertbotBehaviour::Fail
        } else {
            w.certbot_next.take().unwrap_or(CertbotBehaviour::Renew)
        };
        let pem = w
            .lineages
            .get(lineage)
            .and_then(|l| l.privkeys.get(&l.privkey_link).cloned());
        w.certbot_runs += 1;
        let pid = 1000 + w.certbot_runs;
        w.certbot_pending = Some(PendingCertbot {
            lineage: lineage.to_string(),
            pid,
            pem,
            behaviour,
        });
        Ok(CertbotRun {
            pid,
            start: Some(u64::from(pid)),
        })
    }

    async fn wait(&self, _lineage: &str, run: &CertbotRun) -> Result<(), Error> {
        let mut w = self.world();
        match w.certbot_pending.take() {
            Some(p) if p.pid == run.pid => w.complete(p),
            other => {
                w.certbot_pending = other;
                Err(failed("certbot: no such run"))
            }
        }
    }

    fn running(&self, _lineage: &str, _run: Option<&CertbotRun>) -> Result<bool, String> {
        let w = self.world();
        if w.lock_unknown && w.permissive_unknowns {
            return Ok(false);
        }
        if w.lock_unknown {
            return Err(
                "cannot ask the kernel whether certbot holds its lock (memory world)".into(),
            );
        }
        // The one certbot of this world holds the lock while it runs.
        Ok(w.certbot_pending.is_some())
    }

    fn client(&self, _lineage: &str) -> String {
        "certbot".into()
    }

    fn command(&self, lineage: &str) -> String {
        format!("certbot renew --cert-name {lineage} --force-renewal --reuse-key")
    }

    fn refusals_since(&self, mark: Option<Timestamp>) -> Result<super::Refusals, Error> {
        let w = self.world();
        let at = |r: &crate::rollover::RenewalRefusal| match r {
            crate::rollover::RenewalRefusal::KeyBlocked { at, .. } => *at,
        };
        let refusals: Vec<_> = w
            .refusal_log
            .iter()
            .filter(|r| mark.is_none_or(|m| at(r) > m))
            .cloned()
            .collect();
        let newest = refusals.iter().map(at).max();
        Ok(super::Refusals {
            refusals,
            mark: mark.max(newest),
        })
    }
}

#[async_trait]
impl Reloader for MemoryWorld {
    async fn reload(&self, lineage: &str, _commands: &[Vec<String>]) -> Result<(), Error> {
        let mut w = self.world();
        if w.reload_failures > 0 {
            w.reload_failures -= 1;
            return Err(failed("reload: exit status 1"));
        }
        let now = w.now;
        w.reloads.push((now, lineage.to_string()));
        for i in 0..w.endpoints.len() {
            let e = &w.endpoints[i];
            if e.lineage == lineage && e.follow == Follow::Reload && !e.down {
                w.fix_endpoint(i);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Clock for MemoryWorld {
    fn now(&self) -> Timestamp {
        let w = self.world();
        w.now + SignedDuration::from_secs(w.clock_offset)
    }

    fn monotonic(&self) -> Result<crate::rollover::clock::Monotonic, String> {
        let w = self.world();
        if (w.clock_unknown || w.boot.is_none()) && w.permissive_unknowns {
            let wall = w.now + SignedDuration::from_secs(w.clock_offset);
            let ms = wall.as_millisecond() - 1_000_000_000_000;
            return Ok(crate::rollover::clock::Monotonic {
                boot_id: Some("wall".into()),
                since_boot_ms: u64::try_from(ms).unwrap_or(0),
            });
        }
        let (booted, n) = w
            .boot
            .filter(|_| !w.clock_unknown)
            .ok_or_else(|| "the boot clock cannot be read (memory world)".to_string())?;
        let ms = w.now.duration_since(booted).as_millis().max(0);
        Ok(crate::rollover::clock::Monotonic {
            boot_id: w.boot_ids.then(|| format!("memory-boot-{n}")),
            since_boot_ms: u64::try_from(ms).unwrap_or(0),
        })
    }

    async fn sleep(&self, d: Duration) {
        let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4).max(1);
        self.advance(secs);
    }
}

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

/// A failure point that "kills" the operation after its `crash_at`-th step (0-based
/// count of all steps seen), and records the steps.
#[derive(Debug, Default)]
pub struct CrashAfter {
    /// Fail at this step (0-based count); None: never.
    pub crash_at: Option<usize>,
    /// Every step seen, in order.
    pub seen: Mutex<Vec<Step>>,
}

impl CrashAfter {
    /// Kill after the `k`-th step (0-based).
    pub fn at(k: usize) -> CrashAfter {
        CrashAfter {
            crash_at: Some(k),
            seen: Mutex::new(Vec::new()),
        }
    }

    /// Never kill; only count the steps.
    pub fn never() -> CrashAfter {
        CrashAfter::default()
    }

    /// The steps seen so far.
    pub fn steps(&self) -> Vec<Step> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl FailPoint for CrashAfter {
    fn after(&self, step: Step) -> Result<(), Error> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let k = seen.len();
        seen.push(step);
        if self.crash_at == Some(k) {
            return Err(Error::Failed(format!("killed after step {k} ({step:?})")));
        }
        Ok(())
    }
}
