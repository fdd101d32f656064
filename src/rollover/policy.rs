//! What the configuration says about one lineage's rollover, and the wait formulas.
//!
//! RFC 7671 8.1 (and 8.4 for TLSA RRsets): a new key may only go live once every resolver
//! that could have cached the RRset *without* its record has forgotten that copy. A resolver
//! may have cached the previous RRset for its TTL, or the absence of any RRset (NODATA) for
//! the zone's negative TTL (RFC 2308 5). The wait is counted from the first observation at
//! which every authoritative server served the new RRset and it validated Secure, so:
//!
//! `wait = ttl_factor x max(TTL of the previous RRset, TTL of the new one)
//!         + negative TTL (when the owner had no TLSA RRset before) + margin`.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::config::{Config, LineageConfig};
use crate::tlsa::Matching;

/// One lineage's rollover settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// TTL of the records danerollover publishes.
    pub ttl: u32,
    /// Matching types published for each key (`3 1 1`, and `3 1 2` when asked).
    pub matching: Vec<Matching>,
    /// The wait is this many TTLs (RFC 7671 8.1 asks for at least 2).
    pub ttl_factor: u32,
    /// Added to every wait, for clock skew and slow resolvers.
    pub margin: Duration,
    /// Switch keys this often (done by `run`); None: only on request.
    pub rollover_every: Option<Duration>,
    /// The lineage has reload commands (an empty list is a problem until a switch shows
    /// the endpoints pick up new files on their own).
    pub reload_configured: bool,
    /// At most this many forced renewals (switches) per [`super::budget::WINDOW`].
    pub max_forced_renewals: u32,
    /// What a refused live key triggers.
    pub on_key_blocked: crate::config::OnKeyBlocked,
    /// `[dns] prior_ttl` in seconds: the TTL a resolver may hold an RRset with that was
    /// already there at danerollover's first look at its owner (see
    /// [`super::observe::update_observations`]).
    pub prior_ttl: u32,
    /// Not a setting: the shell's word that the time given to the core this pass may run
    /// ahead of real time (the boot clock could not be read; why, and the fix). While set,
    /// no wait counts as over: the switch and every retirement hold.
    pub time_unknown: Option<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            ttl: 300,
            matching: vec![Matching::Sha256],
            ttl_factor: 2,
            margin: Duration::from_secs(60),
            rollover_every: None,
            reload_configured: true,
            max_forced_renewals: 3,
            on_key_blocked: crate::config::OnKeyBlocked::Emergency,
            prior_ttl: 7 * 86_400,
            time_unknown: None,
        }
    }
}

impl Policy {
    /// The policy of `lineage` under `config`'s `[dns]` settings. Matching types other than
    /// 1 and 2 are refused by the configuration's validation; any that slip through are
    /// ignored here, and an empty list falls back to SHA2-256.
    pub fn of(config: &Config, lineage: &LineageConfig) -> Policy {
        let mut matching: Vec<Matching> = lineage
            .matching
            .iter()
            .filter_map(|m| match m {
                1 => Some(Matching::Sha256),
                2 => Some(Matching::Sha512),
                _ => None,
            })
            .collect();
        matching.dedup();
        if matching.is_empty() {
            matching.push(Matching::Sha256);
        }
        Policy {
            ttl: lineage.ttl,
            matching,
            ttl_factor: config.dns.ttl_factor.max(1),
            margin: config.dns.margin,
            rollover_every: lineage.rollover_every,
            reload_configured: !lineage.reload.is_empty(),
            max_forced_renewals: lineage.max_forced_renewals,
            on_key_blocked: lineage.on_key_blocked,
            prior_ttl: u32::try_from(config.dns.prior_ttl.as_secs()).unwrap_or(u32::MAX),
            time_unknown: None,
        }
    }

    /// The wait before a key whose records were first seen everywhere (and Secure) may go
    /// live: see the module documentation. `previous_ttl` is the largest TTL observed for
    /// the RRset before the new record was served everywhere (None when never observed:
    /// then only the new TTL counts), `new_ttl` the largest TTL observed since, and
    /// `negative_ttl` is set when some server answered with no TLSA RRset at all before.
    pub fn propagation_wait(
        &self,
        previous_ttl: Option<u32>,
        new_ttl: Option<u32>,
        negative_ttl: Option<u32>,
    ) -> Duration {
        let ttl = previous_ttl
            .unwrap_or(0)
            .max(new_ttl.unwrap_or(0))
            .max(self.ttl);
        Duration::from_secs(u64::from(self.ttl_factor) * u64::from(ttl))
            + Duration::from_secs(u64::from(negative_ttl.unwrap_or(0)))
            + self.margin
    }

    /// How long a retired key's records stay after it stopped being live: one full wait
    /// at the largest TTL seen at the owner, so that a resolver that cached the RRset just
    /// before the switch, and a server still presenting the old certificate until its
    /// reload, both keep finding the old key's record (RFC 7671 8.1, last step).
    pub fn retire_wait(&self, max_ttl_seen: Option<u32>) -> Duration {
        self.propagation_wait(max_ttl_seen, None, None)
    }
}

/// `at + d`, saturating at the largest timestamp instead of failing.
pub fn after(at: Timestamp, d: Duration) -> Timestamp {
    let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    at.checked_add(SignedDuration::from_secs(secs))
        .unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_formula_cases() {
        let p = Policy::default(); // ttl 300, factor 2, margin 60s
        let s = |d: Duration| d.as_secs();
        // Plain case: 2 x 300 + 60.
        assert_eq!(s(p.propagation_wait(Some(300), Some(300), None)), 660);
        // The previous RRset had a larger TTL: it counts.
        assert_eq!(s(p.propagation_wait(Some(3600), Some(300), None)), 7260);
        // The new RRset is served with a larger TTL than configured: it counts.
        assert_eq!(s(p.propagation_wait(Some(300), Some(900), None)), 1860);
        // The owner had no TLSA before: the negative TTL is added.
        assert_eq!(s(p.propagation_wait(None, Some(300), Some(3600))), 4260);
        // Never observed before: only the configured/new TTL counts.
        assert_eq!(s(p.propagation_wait(None, None, None)), 660);
        // Factor and margin come from the policy.
        let q = Policy {
            ttl_factor: 3,
            margin: Duration::from_secs(5),
            ..Policy::default()
        };
        assert_eq!(s(q.propagation_wait(Some(100), Some(100), None)), 905);
        assert_eq!(s(p.retire_wait(Some(7200))), 14460);
    }

    #[test]
    fn policy_from_config() {
        let text = r#"
[dns]
ttl_factor = 3
margin = "10s"
[providers.p]
type = "manual"
[lineages."a"]
provider = "p"
tlsa = ["_25._tcp.a"]
ttl = 120
matching = [1, 2]
rollover_every = "30d"
"#;
        let c = Config::parse(text, std::path::Path::new("t.toml")).unwrap();
        let p = Policy::of(&c, &c.lineages["a"]);
        assert_eq!(p.ttl, 120);
        assert_eq!(p.ttl_factor, 3);
        assert_eq!(p.margin, Duration::from_secs(10));
        assert_eq!(p.matching, vec![Matching::Sha256, Matching::Sha512]);
        assert_eq!(p.rollover_every, Some(Duration::from_secs(30 * 86400)));
    }

    #[test]
    fn after_saturates() {
        assert_eq!(
            after(Timestamp::MAX, Duration::from_secs(10)),
            Timestamp::MAX
        );
        let t = Timestamp::from_second(1000).unwrap();
        assert_eq!(after(t, Duration::from_secs(5)).as_second(), 1005);
    }
}
