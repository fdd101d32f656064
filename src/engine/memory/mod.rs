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
//! backend's database) does not. Observations carry it, and [`Observe::zone_serials`](crate::dns::Observe::zone_serials)
//! answers with it, so passes reuse observations here as they do against real servers
//! ([`crate::dns::reuse`]).
//!
//! Keys are fake but consistent: key `n` has the SPKI `SPKI-n` and the PEM `PEM-n`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

use crate::dns::{Validation, absolute};
use crate::error::Error;
use crate::provider::Change;
use crate::rollover::KeyInfo;
use crate::tlsa::TlsaRecord;

mod faults;
mod machine;
mod network;

pub use faults::CrashAfter;

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
