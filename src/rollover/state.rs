//! One lineage's rollover state: its keys, what it owns at each TLSA owner, what it has
//! seen there, and the write-ahead intent of a step in progress.
//!
//! Everything here is data plus the pure transitions that follow a completed action
//! (`record_published`, `promote`, ...). The engine saves the state after each of them, so
//! the file always says what is true on disk and in DNS, or names the step in progress
//! ([`Intent`]) so that the next run repairs it before doing anything else.

use std::collections::BTreeMap;
use std::path::PathBuf;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::key::{KeyId, KeyInfo};
use crate::tlsa::TlsaRecord;

/// The rollover state of one lineage, as saved in the state file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineageState {
    /// The key in the live certificate, as last seen.
    pub current: Option<CurrentKey>,
    /// The pre-generated key the next switch will plant. Its private key file is the only
    /// copy until it is planted: it is never deleted before that.
    pub next: Option<NextKey>,
    /// Keys that were live before, with the time they stopped being live. Kept after their
    /// records are gone, so that records of them are still recognised as this lineage's.
    #[serde(default)]
    pub retired: Vec<RetiredKey>,
    /// Per TLSA owner (absolute name): what this lineage owns and has seen there.
    #[serde(default)]
    pub owners: BTreeMap<String, OwnerState>,
    /// A step in progress (write-ahead): repaired before anything else happens.
    pub intent: Option<Intent>,
    /// The reload commands must run (a switch happened and they have not run since).
    #[serde(default)]
    pub reload_pending: bool,
    /// When the last switch to a new key happened.
    pub last_switch: Option<Timestamp>,
    /// Copies of planted next keys to delete (their key now lives in certbot's archive).
    #[serde(default)]
    pub cleanup: Vec<PathBuf>,
    /// When probes first showed, after a switch without reload commands, every endpoint
    /// serving the new key (they pick up new files on their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints_follow_files: Option<Timestamp>,
    /// After an emergency switch: until then resolvers may hold RRsets from before it
    /// (the wait it skipped), so no later switch may happen before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency_until: Option<Timestamp>,
    /// When switches forced a renewal within the last 7 days (the forced-renewal budget,
    /// [`super::budget`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forced_renewals: Vec<Timestamp>,
    /// Keys of this lineage the CA refused (`badPublicKey`, [`super::blocked`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked_keys: Vec<super::blocked::BlockedKey>,
    /// An emergency rollover under way (write-ahead, saved before its switch): a pass
    /// after one killed or stopped half-way finishes it as an emergency (the compromised
    /// key's records withdrawn at once once its switch went through).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency: Option<EmergencyPending>,
}

/// An emergency rollover that has not finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencyPending {
    /// The compromised key (live when the emergency decided).
    pub compromised: KeyInfo,
    /// The key it switches to.
    pub to: KeyId,
    /// When it decided.
    pub at: Timestamp,
}

/// The live key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurrentKey {
    #[serde(flatten)]
    pub key: KeyInfo,
    /// Since when it is live (or since danerollover first saw it live).
    pub since: Timestamp,
}

/// The next key: generated, not yet live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextKey {
    #[serde(flatten)]
    pub key: KeyInfo,
    /// Its private key file (0600, under the state directory).
    pub path: PathBuf,
    pub created_at: Timestamp,
}

/// A key that was live before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetiredKey {
    #[serde(flatten)]
    pub key: KeyInfo,
    /// When it stopped being live. Its records stay for one full wait after this.
    pub retired_at: Timestamp,
    /// When its records were last removed.
    pub removed_at: Option<Timestamp>,
}

/// What one lineage owns and has seen at one TLSA owner name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerState {
    /// The records this lineage owns here (published by it, or adopted because they match
    /// one of its keys).
    #[serde(default)]
    pub records: Vec<OwnedRecord>,
    /// The last observation where at least one server answered.
    pub last: Option<Sighting>,
    /// How far the next key's records have got here.
    pub propagation: Option<Propagation>,
    /// TTLs the RRset was served with that resolvers may still hold, remembered across
    /// switches (RFC 7671 8.1): someone lowering the TTL shortly before a switch must not
    /// shorten the next key's wait. Each is forgotten once its TTL has passed since it was
    /// last served.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ttl_history: Vec<TtlSeen>,
}

/// A TTL the RRset at an owner was served with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TtlSeen {
    pub ttl: u32,
    /// The last observation that showed it, or the first one that no longer did (a resolver
    /// may have fetched it just before): it may be cached until `until + ttl`.
    pub until: Timestamp,
    /// Whether the last observation still showed it.
    #[serde(default)]
    pub current: bool,
    /// Not seen: `[dns] prior_ttl`, assumed at the first look at an owner that already had
    /// records (their TTL before that look is unknown).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub assumed: bool,
}

impl OwnerState {
    /// Fold the TTL an observation at `now` showed (None: no RRset or nothing answered)
    /// into the history, and forget TTLs no resolver can hold any more.
    pub fn remember_ttl(&mut self, ttl: Option<u32>, now: Timestamp) {
        for t in &mut self.ttl_history {
            if t.current && Some(t.ttl) != ttl {
                t.current = false;
                t.until = t.until.max(now);
            }
        }
        if let Some(ttl) = ttl {
            match self.ttl_history.iter_mut().find(|t| t.ttl == ttl) {
                Some(t) => {
                    t.until = t.until.max(now);
                    t.current = true;
                    t.assumed = false;
                }
                None => self.ttl_history.push(TtlSeen {
                    ttl,
                    until: now,
                    current: true,
                    assumed: false,
                }),
            }
        }
        self.ttl_history.retain(|t| {
            t.current
                || super::policy::after(t.until, std::time::Duration::from_secs(t.ttl.into())) > now
        });
    }

    /// At the first look at this owner (nothing seen here before, by this lineage or one
    /// sharing the owner) that finds an RRset with TTL `seen`: its TTL before this look is
    /// unknown, so a resolver may hold it for up to `prior_ttl` (`[dns] prior_ttl`) from
    /// now. Remembered as an assumed TTL; returns it when one was assumed.
    pub fn assume_prior_ttl(
        &mut self,
        seen: Option<u32>,
        prior_ttl: u32,
        now: Timestamp,
    ) -> Option<u32> {
        let seen = seen?;
        if self.last.is_some() || !self.ttl_history.is_empty() || prior_ttl <= seen {
            return None;
        }
        self.ttl_history.push(TtlSeen {
            ttl: prior_ttl,
            until: now,
            current: false,
            assumed: true,
        });
        Some(prior_ttl)
    }

    /// The largest TTL still assumed (not seen) at `now`, see [`Self::assume_prior_ttl`].
    pub fn assumed_ttl(&self, now: Timestamp) -> Option<u32> {
        self.ttl_history
            .iter()
            .filter(|t| {
                t.assumed
                    && super::policy::after(t.until, std::time::Duration::from_secs(t.ttl.into()))
                        > now
            })
            .map(|t| t.ttl)
            .max()
    }

    /// The largest TTL a resolver may still hold at `now` (None: none remembered).
    pub fn cached_ttl(&self, now: Timestamp) -> Option<u32> {
        self.ttl_history
            .iter()
            .filter(|t| {
                t.current
                    || super::policy::after(t.until, std::time::Duration::from_secs(t.ttl.into()))
                        > now
            })
            .map(|t| t.ttl)
            .max()
    }
}

/// A record this lineage owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnedRecord {
    /// The record.
    pub record: TlsaRecord,
    /// The key it is for.
    pub key: KeyId,
    /// When it was published (or adopted).
    pub since: Timestamp,
    /// True when danerollover found it in DNS rather than published it.
    #[serde(default)]
    pub adopted: bool,
}

/// A summary of one observation of an owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sighting {
    /// When.
    pub at: Timestamp,
    /// The largest TTL any server (or the validated read) gave for the RRset.
    pub ttl: Option<u32>,
    /// The largest negative TTL, when some server had no TLSA RRset here.
    pub negative_ttl: Option<u32>,
}

/// The propagation of the next key's records at one owner (RFC 7671 8.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Propagation {
    /// The next key this is about (a new next key starts a new propagation).
    pub key: KeyId,
    /// The largest TTL of the RRset as observed before the next records were served
    /// everywhere: resolvers may hold that copy this long.
    pub previous_ttl: Option<u32>,
    /// The largest negative TTL observed before: resolvers may hold "no TLSA here" this
    /// long (only set when some server had no TLSA RRset).
    pub negative_ttl: Option<u32>,
    /// The largest TTL observed since `since`.
    pub served_ttl: Option<u32>,
    /// Set when `previous_ttl` counts `[dns] prior_ttl` (this TTL) because the RRset was
    /// already there at danerollover's first look, with an unknown TTL before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unseen_ttl: Option<u32>,
    /// The first observation of the current unbroken run where every authoritative server
    /// served all the next key's records and the validated read was Secure with them. Reset
    /// to None as soon as one observation falls short: the clock restarts.
    pub since: Option<Timestamp>,
}

/// A step in progress, written before it starts (write-ahead), cleared when done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Intent {
    /// Writing a new next key's private key file to `path`.
    NewNextKey {
        /// The key being written (its public half: enough to recognise the file).
        key: KeyInfo,
        /// Where its private key goes.
        path: PathBuf,
        /// When the step began.
        at: Timestamp,
    },
    /// Switching to the next key: planting it as `archive_path`, repointing
    /// `live/NAME/privkey.pem` (which pointed to `previous_target`), renewing.
    Switch {
        /// The next key being switched to.
        key: KeyInfo,
        /// Its private key file under the state directory (the copy that stays).
        key_path: PathBuf,
        /// `archive/NAME/privkey{N+1}.pem`, where it is planted.
        archive_path: PathBuf,
        /// Where `live/NAME/privkey.pem` pointed before: restored if the switch fails.
        previous_target: PathBuf,
        /// When the switch began.
        at: Timestamp,
        /// The certbot process the switch started (saved once it runs): while it is still
        /// running, the next run must neither undo nor complete the switch.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        certbot: Option<CertbotRun>,
    },
}

/// A certbot process started by a switch: its pid and its start time (clock ticks after
/// boot, `/proc/PID/stat` field 22), so that a reused pid is not taken for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertbotRun {
    /// Its process id.
    pub pid: u32,
    /// Its start time, when known.
    #[serde(default)]
    pub start: Option<u64>,
}

impl LineageState {
    /// Every key this lineage knows: current, next and retired.
    pub fn known_keys(&self) -> impl Iterator<Item = &KeyInfo> {
        self.current
            .iter()
            .map(|c| &c.key)
            .chain(self.next.iter().map(|n| &n.key))
            .chain(self.retired.iter().map(|r| &r.key))
    }

    /// The known key a record belongs to, if any.
    pub fn key_of(&self, record: &TlsaRecord) -> Option<&KeyInfo> {
        self.known_keys().find(|k| k.matches(record))
    }

    /// Whether `id` is the current or the next key (records that must never be removed).
    pub fn is_protected(&self, id: &KeyId) -> bool {
        self.current.as_ref().is_some_and(|c| &c.key.id == id)
            || self.next.as_ref().is_some_and(|n| &n.key.id == id)
    }

    /// The records were published at `owner`: they are now owned.
    pub fn record_published(&mut self, owner: &str, records: &[TlsaRecord], now: Timestamp) {
        let keys: Vec<(TlsaRecord, KeyId)> = records
            .iter()
            .filter_map(|r| self.key_of(r).map(|k| (r.clone(), k.id.clone())))
            .collect();
        let o = self.owners.entry(owner.to_string()).or_default();
        for (record, key) in keys {
            if !o.records.iter().any(|x| x.record == record) {
                o.records.push(OwnedRecord {
                    record,
                    key,
                    since: now,
                    adopted: false,
                });
            }
        }
    }

    /// The records were removed at `owner`. A retired key none of whose records is owned
    /// anywhere any more is marked removed.
    pub fn record_retired(&mut self, owner: &str, records: &[TlsaRecord], now: Timestamp) {
        if let Some(o) = self.owners.get_mut(owner) {
            o.records.retain(|x| !records.contains(&x.record));
        }
        for r in &mut self.retired {
            let still = self
                .owners
                .values()
                .any(|o| o.records.iter().any(|x| x.key == r.key.id));
            if !still && records.iter().any(|rec| r.key.matches(rec)) {
                r.removed_at = Some(now);
            }
        }
    }

    /// A new next key exists (its file is written).
    pub fn set_next(&mut self, key: KeyInfo, path: PathBuf, now: Timestamp) {
        self.retired.retain(|r| r.key.id != key.id);
        self.next = Some(NextKey {
            key,
            path,
            created_at: now,
        });
        if matches!(self.intent, Some(Intent::NewNextKey { .. })) {
            self.intent = None;
        }
    }

    /// The next key is live (the switch went through): it becomes current, the old current
    /// key is retired as of `now` (its records stay one more wait), the reload commands
    /// are due, and the planted next key's copy can go.
    pub fn promote(&mut self, now: Timestamp) {
        let Some(next) = self.next.take() else {
            return;
        };
        if let Some(old) = self.current.take() {
            self.retire(old.key, now);
        }
        self.retired.retain(|r| r.key.id != next.key.id);
        self.current = Some(CurrentKey {
            key: next.key,
            since: now,
        });
        if !self.cleanup.contains(&next.path) {
            self.cleanup.push(next.path);
        }
        self.intent = None;
        self.reload_pending = true;
        self.last_switch = Some(now);
        for o in self.owners.values_mut() {
            o.propagation = None;
        }
    }

    /// Nothing bounds how far the wall clock moved since the last pass (a reboot, or the
    /// boot clock could not be read: [`super::clock`]), so every wait starts again at
    /// `now`: the next key's, and the retirement wait of every retired key whose records
    /// were not removed yet (a retirement wait counted across a forward step would end
    /// early).
    pub fn clock_restarted(&mut self, now: Timestamp) {
        for o in self.owners.values_mut() {
            if let Some(p) = &mut o.propagation {
                p.since = None;
                p.served_ttl = None;
            }
        }
        for r in self.retired.iter_mut().filter(|r| r.removed_at.is_none()) {
            r.retired_at = r.retired_at.max(now);
        }
    }

    /// `key` stopped being live at `now`.
    pub fn retire(&mut self, key: KeyInfo, now: Timestamp) {
        self.retired.retain(|r| r.key.id != key.id);
        self.retired.push(RetiredKey {
            key,
            retired_at: now,
            removed_at: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlsa::Matching;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    #[test]
    fn promote_moves_keys_and_keeps_old_records_owned() {
        let a = KeyInfo::from_spki(b"a");
        let b = KeyInfo::from_spki(b"b");
        let mut s = LineageState {
            current: Some(CurrentKey {
                key: a.clone(),
                since: t(0),
            }),
            ..Default::default()
        };
        s.set_next(b.clone(), "/s/keys/x/next.pem".into(), t(1));
        let recs = [
            a.records(&[Matching::Sha256]),
            b.records(&[Matching::Sha256]),
        ]
        .concat();
        s.record_published("_25._tcp.x.", &recs, t(2));
        assert_eq!(s.owners["_25._tcp.x."].records.len(), 2);
        s.promote(t(10));
        assert_eq!(s.current.as_ref().unwrap().key, b);
        assert!(s.next.is_none());
        assert_eq!(s.retired.len(), 1);
        assert_eq!(s.retired[0].key, a);
        assert_eq!(s.retired[0].retired_at, t(10));
        assert!(s.reload_pending);
        assert_eq!(s.cleanup, vec![PathBuf::from("/s/keys/x/next.pem")]);
        // The old key's records are still owned (and so still recognised).
        assert_eq!(s.owners["_25._tcp.x."].records.len(), 2);
        s.record_retired("_25._tcp.x.", &a.records(&[Matching::Sha256]), t(20));
        assert_eq!(s.owners["_25._tcp.x."].records.len(), 1);
        assert_eq!(s.retired[0].removed_at, Some(t(20)));
    }

    #[test]
    fn the_first_look_at_records_already_there_assumes_prior_ttl() {
        // Records there at the first look: their TTL before it is unknown.
        let mut o = OwnerState::default();
        assert_eq!(o.assume_prior_ttl(Some(60), 86_400, t(0)), Some(86_400));
        o.remember_ttl(Some(60), t(0));
        assert_eq!(o.cached_ttl(t(0)), Some(86_400));
        assert_eq!(o.assumed_ttl(t(86_399)), Some(86_400));
        // Seen later with the same TTL: nothing new is assumed, and the assumption ends
        // once no resolver can hold what was there before the first look.
        o.last = Some(Sighting {
            at: t(0),
            ttl: Some(60),
            negative_ttl: None,
        });
        assert_eq!(o.assume_prior_ttl(Some(60), 86_400, t(10)), None);
        o.remember_ttl(Some(60), t(86_401));
        assert_eq!(o.cached_ttl(t(86_401)), Some(60));
        assert_eq!(o.assumed_ttl(t(86_401)), None);
        // Nothing there at the first look (a negative answer), a prior_ttl no larger than
        // the TTL seen, or a history another lineage at the owner shared: nothing assumed.
        assert_eq!(
            OwnerState::default().assume_prior_ttl(None, 86_400, t(0)),
            None
        );
        assert_eq!(
            OwnerState::default().assume_prior_ttl(Some(3600), 3600, t(0)),
            None
        );
        let mut shared = OwnerState::default();
        shared.remember_ttl(Some(300), t(0));
        assert_eq!(shared.assume_prior_ttl(Some(300), 86_400, t(5)), None);
        // A served TTL equal to the assumed one is seen, not assumed, from then on.
        let mut p = OwnerState::default();
        p.assume_prior_ttl(Some(60), 3600, t(0));
        p.remember_ttl(Some(3600), t(1));
        assert_eq!(p.assumed_ttl(t(1)), None);
        assert_eq!(p.cached_ttl(t(1)), Some(3600));
    }

    #[test]
    fn a_lowered_ttl_is_remembered_until_no_resolver_can_hold_the_old_one() {
        let mut o = OwnerState::default();
        o.remember_ttl(Some(3600), t(0));
        o.remember_ttl(Some(3600), t(100));
        assert_eq!(o.cached_ttl(t(100)), Some(3600));
        // Someone lowers the TTL; a resolver may have fetched the 3600 copy up to the first
        // observation showing 60 (t(200)), and hold it until t(3800).
        o.remember_ttl(Some(60), t(200));
        assert_eq!(o.cached_ttl(t(200)), Some(3600));
        o.remember_ttl(Some(60), t(3799));
        assert_eq!(o.cached_ttl(t(3799)), Some(3600));
        o.remember_ttl(Some(60), t(3801));
        assert_eq!(o.cached_ttl(t(3801)), Some(60));
        assert_eq!(o.ttl_history.len(), 1);
        // An observation without records: the 60 is kept for its TTL, then forgotten.
        o.remember_ttl(None, t(4000));
        assert_eq!(o.cached_ttl(t(4000)), Some(60));
        o.remember_ttl(None, t(4061));
        assert_eq!(o.cached_ttl(t(4061)), None);
    }

    #[test]
    fn unknown_records_are_not_owned() {
        let a = KeyInfo::from_spki(b"a");
        let mut s = LineageState {
            current: Some(CurrentKey {
                key: a,
                since: t(0),
            }),
            ..Default::default()
        };
        let foreign = KeyInfo::from_spki(b"other").records(&[Matching::Sha256]);
        s.record_published("o.", &foreign, t(1));
        assert!(s.owners["o."].records.is_empty());
    }
}
