//! Folding what was just seen into the state: which key is live (from the certificate),
//! and what every authoritative server serves at each owner (first-seen bookkeeping).
//!
//! Both functions are pure: the caller passes the facts and `now`.

use jiff::Timestamp;
use serde::Serialize;

use super::key::KeyInfo;
use super::policy::Policy;
use super::state::{CurrentKey, LineageState, OwnedRecord, Propagation, Sighting};
use crate::dns::{OwnerObservation, ServerOutcome, absolute};
use crate::tlsa::TlsaRecord;

/// How the live certificate's key relates to the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveChange {
    /// The live key is the current key.
    Unchanged,
    /// First sight of this lineage: the live key becomes current.
    Adopted,
    /// The live key is the next key: a switch went through, the next key is promoted.
    Promoted,
    /// The live key is one this lineage retired (a certificate was restored): it is
    /// current again.
    Restored,
    /// The live key is one this lineage never saw: the certificate was renewed without
    /// `reuse_key` (or with `--new-key`). Its records were never pre-published.
    Unknown,
}

/// Make the state's current key the key of the live certificate. The live certificate is
/// the truth: whatever the state believed, this is the key TLS clients see after a reload.
pub fn reconcile_live(state: &mut LineageState, live: &KeyInfo, now: Timestamp) -> LiveChange {
    if state.current.as_ref().is_some_and(|c| c.key.id == live.id) {
        return LiveChange::Unchanged;
    }
    if state.next.as_ref().is_some_and(|n| n.key.id == live.id) {
        state.promote(now);
        return LiveChange::Promoted;
    }
    let change = if state.current.is_none() && state.retired.is_empty() {
        LiveChange::Adopted
    } else if state.retired.iter().any(|r| r.key.id == live.id) {
        LiveChange::Restored
    } else {
        LiveChange::Unknown
    };
    if let Some(old) = state.current.take() {
        state.retire(old.key, now);
    }
    state.retired.retain(|r| r.key.id != live.id);
    state.current = Some(CurrentKey {
        key: live.clone(),
        since: now,
    });
    if change != LiveChange::Adopted {
        state.reload_pending = true;
    }
    change
}

/// Every record an observation shows at an owner: all servers' answers and the validated
/// read.
pub fn observed_records(obs: &OwnerObservation) -> Vec<TlsaRecord> {
    let mut all: Vec<TlsaRecord> = obs
        .servers
        .iter()
        .filter_map(|s| match &s.outcome {
            ServerOutcome::Answer(a) => Some(a.records.iter().cloned()),
            ServerOutcome::Error { .. } => None,
        })
        .flatten()
        .chain(obs.validated.records.iter().cloned())
        .collect();
    all.sort();
    all.dedup();
    all
}

/// The records the authoritative servers themselves serve at an owner (answers with
/// authority, in the zone): what a provider change acts on. Unlike [`observed_records`],
/// never the validating resolver's copy, which it caches until its TTL runs out whatever
/// the servers hold: a retirement, and a report that records stay, rest on these only.
pub fn served_records(obs: &OwnerObservation) -> Vec<TlsaRecord> {
    let mut all: Vec<TlsaRecord> = obs
        .servers
        .iter()
        .filter_map(|s| match &s.outcome {
            ServerOutcome::Answer(a) if a.authoritative && !a.leaves_zone() => {
                Some(a.records.iter().cloned())
            }
            _ => None,
        })
        .flatten()
        .collect();
    all.sort();
    all.dedup();
    all
}

/// Whether at least one server answered (with or without records).
pub fn any_answer(obs: &OwnerObservation) -> bool {
    obs.servers
        .iter()
        .any(|s| matches!(s.outcome, ServerOutcome::Answer(_)))
}

/// Find the observation of `owner` (names compared case-insensitively, absolute).
pub fn find<'a>(observations: &'a [OwnerObservation], owner: &str) -> Option<&'a OwnerObservation> {
    let want = absolute(owner);
    observations.iter().find(|o| absolute(&o.owner) == want)
}

/// Lineages at one owner share what was seen there: the TTLs other lineages saw the RRset
/// served with are folded into lineage `name`'s history at the same owners (as seen until
/// their last sighting), so a lineage new at an owner, or one that did not look while
/// another lineage's change lowered the TTL, still waits for the largest TTL a resolver may
/// hold. Call before [`update_observations`].
pub fn share_ttl_history(
    lineages: &mut std::collections::BTreeMap<String, LineageState>,
    name: &str,
    owners: &[String],
) {
    for owner in owners.iter().map(|o| absolute(o)) {
        let seen: Vec<super::state::TtlSeen> = lineages
            .iter()
            .filter(|(n, _)| n.as_str() != name)
            .filter_map(|(_, l)| l.owners.get(&owner))
            .flat_map(|o| o.ttl_history.iter().cloned())
            .collect();
        if seen.is_empty() {
            continue;
        }
        let entry = lineages
            .entry(name.to_string())
            .or_default()
            .owners
            .entry(owner)
            .or_default();
        for t in seen {
            match entry.ttl_history.iter_mut().find(|x| x.ttl == t.ttl) {
                Some(x) => x.until = x.until.max(t.until),
                None => entry.ttl_history.push(super::state::TtlSeen {
                    current: false,
                    ..t
                }),
            }
        }
    }
}

/// Fold one round of observations into the state.
///
/// - The owners are made exactly `owners` (absolute names); owners no longer configured
///   are forgotten (their records are left alone in DNS).
/// - Records seen in DNS that match the current or next key are adopted as owned (a
///   hand-made record of the current key, or a record published just before a crash).
/// - The next key's propagation clock: it starts at the first observation where every
///   server serves all its records, each answer signed with a valid signature (Secure from
///   the servers themselves; the validating resolver's cache is not on this path), and
///   restarts as soon as one observation falls short (or the observation is missing, or
///   the clock went backwards past the start). Before that, the largest TTL and negative
///   TTL seen are remembered: resolvers may have cached that RRset (RFC 7671 8.1).
pub fn update_observations(
    state: &mut LineageState,
    owners: &[String],
    observations: &[OwnerObservation],
    now: Timestamp,
    policy: &Policy,
) {
    let owners: Vec<String> = owners.iter().map(|o| absolute(o)).collect();
    state.owners.retain(|name, _| owners.contains(name));
    let current = state.current.as_ref().map(|c| c.key.clone());
    let next = state.next.as_ref().map(|n| n.key.clone());
    for name in &owners {
        let entry = state.owners.entry(name.clone()).or_default();
        let obs = find(observations, name);
        // The first look at an owner that already has records: how long resolvers may hold
        // them is unknown, `[dns] prior_ttl` is assumed.
        if let Some(assumed) = obs
            .filter(|o| any_answer(o))
            .and_then(|o| entry.assume_prior_ttl(o.max_ttl(), policy.prior_ttl, now))
            && let Some(p) = &mut entry.propagation
        {
            p.previous_ttl = p.previous_ttl.max(Some(assumed));
            p.unseen_ttl = Some(assumed);
        }
        // A new next key starts its propagation from what was seen before it.
        match &next {
            Some(n) if entry.propagation.as_ref().is_none_or(|p| p.key != n.id) => {
                let last = entry.last.as_ref();
                entry.propagation = Some(Propagation {
                    key: n.id.clone(),
                    // The last TTL seen, or a larger one resolvers may still hold.
                    previous_ttl: last.and_then(|l| l.ttl).max(entry.cached_ttl(now)),
                    negative_ttl: last.and_then(|l| l.negative_ttl),
                    served_ttl: None,
                    since: None,
                    unseen_ttl: entry.assumed_ttl(now),
                });
            }
            Some(_) => {}
            None => entry.propagation = None,
        }
        let Some(obs) = obs else {
            if let Some(p) = &mut entry.propagation {
                p.since = None;
                p.served_ttl = None;
            }
            continue;
        };
        // Adopt records of our live and next keys found in DNS.
        for record in observed_records(obs) {
            let key = [&current, &next]
                .into_iter()
                .flatten()
                .find(|k| k.matches(&record));
            if let Some(key) = key.filter(|_| !entry.records.iter().any(|x| x.record == record)) {
                entry.records.push(OwnedRecord {
                    record,
                    key: key.id.clone(),
                    since: now,
                    adopted: true,
                });
            }
        }
        if let (Some(n), Some(p)) = (&next, &mut entry.propagation) {
            let want = n.records(&policy.matching);
            let served = obs.signed_everywhere(&want, now);
            if served {
                p.since = Some(match p.since {
                    Some(s) if s <= now => s,
                    _ => now,
                });
                p.served_ttl = p.served_ttl.max(obs.max_ttl());
            } else {
                p.since = None;
                p.served_ttl = None;
                p.previous_ttl = p.previous_ttl.max(obs.max_ttl());
                p.negative_ttl = p.negative_ttl.max(obs.max_negative_ttl());
            }
        }
        if any_answer(obs) {
            entry.remember_ttl(obs.max_ttl(), now);
            entry.last = Some(Sighting {
                at: now,
                ttl: obs.max_ttl(),
                negative_ttl: obs.max_negative_ttl(),
            });
        }
    }
}

/// Whether `a` and `b` differ at most in when their owners' RRsets were last seen (the
/// sighting times, and how long a TTL still served was served): what folding an observation
/// showing the same as the one before changes.
pub fn same_but_sighting_times(a: &LineageState, b: &LineageState) -> bool {
    fn plain(s: &LineageState) -> LineageState {
        let mut s = s.clone();
        for o in s.owners.values_mut() {
            if let Some(l) = &mut o.last {
                l.at = Timestamp::UNIX_EPOCH;
            }
            for t in o.ttl_history.iter_mut().filter(|t| t.current) {
                t.until = Timestamp::UNIX_EPOCH;
            }
        }
        s
    }
    plain(a) == plain(b)
}

#[cfg(test)]
mod share_tests {
    use super::*;
    use crate::rollover::state::TtlSeen;

    #[test]
    fn a_lineage_new_at_a_shared_owner_learns_the_ttls_another_saw() {
        let t = |s: i64| Timestamp::from_second(1_700_000_000 + s).unwrap();
        let owner = "_25._tcp.mail.example.test.".to_string();
        let mut lineages = std::collections::BTreeMap::new();
        let mut rsa = LineageState::default();
        rsa.owners.entry(owner.clone()).or_default().ttl_history = vec![
            TtlSeen {
                ttl: 3600,
                until: t(0),
                current: true,
                assumed: false,
            },
            TtlSeen {
                ttl: 300,
                until: t(50),
                current: false,
                assumed: false,
            },
        ];
        lineages.insert("rsa".to_string(), rsa);
        let mut ecdsa = LineageState::default();
        ecdsa.owners.entry(owner.clone()).or_default().ttl_history = vec![TtlSeen {
            ttl: 300,
            until: t(10),
            current: true,
            assumed: false,
        }];
        lineages.insert("ecdsa".to_string(), ecdsa);
        // Elsewhere: nothing shared.
        share_ttl_history(
            &mut lineages,
            "other",
            &["_25._tcp.other.example.test".into()],
        );
        assert!(!lineages.contains_key("other"));
        share_ttl_history(
            &mut lineages,
            "ecdsa",
            &["_25._tcp.mail.example.test".into()],
        );
        let o = &lineages["ecdsa"].owners[&owner];
        assert_eq!(o.cached_ttl(t(100)), Some(3600));
        let h = &o.ttl_history;
        assert_eq!(h.len(), 2, "{h:?}");
        assert!(h.contains(&TtlSeen {
            ttl: 300,
            until: t(50),
            current: true,
            assumed: false,
        }));
        assert!(h.contains(&TtlSeen {
            ttl: 3600,
            until: t(0),
            current: false,
            assumed: false,
        }));
        // The other lineage's history is left as it was.
        assert_eq!(lineages["rsa"].owners[&owner].ttl_history.len(), 2);
    }
}
