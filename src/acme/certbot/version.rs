//! certbot's version and what it means for a lineage's settings: profiles
//! (`preferred_profile`/`required_profile` in renewal.conf need certbot >= 4.0), ARI
//! (RFC 9773: certbot >= 4.1 renews when the CA's renewal window says so), and when it
//! renews (`renew_before_expiry`, else 30 days before expiry up to 3.x, and from 4.0 a
//! third of the lifetime before expiry, half under 10 days). Pure: `doctor` runs
//! `certbot --version` and reads the lineage, this says what follows.

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;

use super::conf::RenewalConf;

/// A certbot version, e.g. 2.1.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CertbotVersion(pub u32, pub u32, pub u32);

impl fmt::Display for CertbotVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

impl CertbotVersion {
    /// Profiles (`--preferred-profile`, `--required-profile`) exist from 4.0.
    pub fn has_profiles(self) -> bool {
        self >= CertbotVersion(4, 0, 0)
    }

    /// ARI (RFC 9773) is followed from 4.1.
    pub fn has_ari(self) -> bool {
        self >= CertbotVersion(4, 1, 0)
    }
}

/// The version in `certbot --version` output (`certbot 2.1.0`); None when there is none.
pub fn parse_version(output: &str) -> Option<CertbotVersion> {
    output.split_whitespace().find_map(|word| {
        let mut parts = word.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = parts
            .next()
            .map(|p| {
                p.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        Some(CertbotVersion(major, minor, patch))
    })
}

/// certbot's `renew_before_expiry` (e.g. "30 days", "1 week", "36 hours"); None when it
/// is not of that simple form.
pub fn parse_interval(text: &str) -> Option<Duration> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() || !words.len().is_multiple_of(2) {
        return None;
    }
    let mut total = 0u64;
    for pair in words.chunks(2) {
        let n: u64 = pair[0].parse().ok()?;
        let unit = match pair[1].trim_end_matches('s') {
            "second" | "sec" => 1,
            "minute" | "min" => 60,
            "hour" => 3600,
            "day" => 86_400,
            "week" => 7 * 86_400,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    Some(Duration::from_secs(total))
}

/// When certbot renews a certificate of `lifetime`: how long before expiry, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cadence {
    /// certbot renews once this much (or less) is left.
    pub before_expiry: Duration,
    /// Where that comes from.
    pub source: String,
    /// The time between renewals: lifetime minus `before_expiry`; zero when certbot
    /// renews at every run of its timer (twice a day).
    pub every: Duration,
}

/// certbot's renewal schedule for a certificate of `lifetime` (without ARI).
pub fn cadence(version: Option<CertbotVersion>, conf: &RenewalConf, lifetime: Duration) -> Cadence {
    let configured = conf.top("renew_before_expiry");
    let (before_expiry, source) = match configured.and_then(parse_interval) {
        Some(d) => (
            d,
            format!("renew_before_expiry = {}", configured.unwrap_or("")),
        ),
        None => match version {
            Some(v) if v.has_profiles() => {
                let d = if lifetime < Duration::from_secs(10 * 86_400) {
                    lifetime / 2
                } else {
                    lifetime / 3
                };
                (
                    d,
                    format!("certbot {v}'s default: a third of the lifetime, half under 10 days"),
                )
            }
            Some(v) => (
                Duration::from_secs(30 * 86_400),
                format!("certbot {v}'s default: 30 days before expiry"),
            ),
            None => (
                Duration::from_secs(30 * 86_400),
                "certbot's default before 4.0: 30 days before expiry (the version is unknown)"
                    .to_string(),
            ),
        },
    };
    Cadence {
        every: lifetime.saturating_sub(before_expiry),
        before_expiry,
        source,
    }
}

/// One finding about the ACME client and the lineage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Something to fix or know (a warning), rather than information.
    pub warn: bool,
    /// What it is about: `profile`, `ari`, `lifetime`, `wait`.
    pub topic: &'static str,
    pub detail: String,
    pub fix: Option<String>,
}

/// What `doctor` reports about certbot for one lineage: what the version lacks for the
/// lineage's settings, the certificate's lifetime and the renewal cadence, and whether the
/// rollover's wait fits in what is left of the certificate.
pub fn findings(
    version: Option<CertbotVersion>,
    conf: &RenewalConf,
    not_before: Option<Timestamp>,
    not_after: Timestamp,
    now: Timestamp,
    wait: Duration,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let shown = |v: Option<CertbotVersion>| {
        v.map(|v| format!("certbot {v}"))
            .unwrap_or_else(|| "certbot (version unknown)".to_string())
    };
    for key in ["preferred_profile", "required_profile"] {
        if let Some(profile) = conf.param(key) {
            let lacks = version.is_none_or(|v| !v.has_profiles());
            out.push(Finding {
                warn: lacks,
                topic: "profile",
                detail: if lacks {
                    format!(
                        "renewal.conf asks for {key} = {profile}, but {} has no profiles (they need certbot >= 4.0): renewals get the CA's default profile",
                        shown(version)
                    )
                } else {
                    format!("{key} = {profile}")
                },
                fix: lacks.then(|| {
                    "install certbot >= 4.0 (e.g. from PyPI in a venv, or snap) and point `certbot` in the configuration at it".to_string()
                }),
            });
        }
    }
    let lifetime = not_before.map(|nb| not_after.duration_since(nb).unsigned_abs());
    let short = lifetime.is_some_and(|l| l <= Duration::from_secs(10 * 86_400));
    let ari = version.is_some_and(CertbotVersion::has_ari);
    out.push(Finding {
        warn: !ari && short,
        topic: "ari",
        detail: if ari {
            format!(
                "{} follows the CA's renewal window (ARI, RFC 9773): a renewal can come on any day, so during any phase of a rollover",
                shown(version)
            )
        } else {
            format!(
                "{} does not follow the CA's renewal window (ARI needs certbot >= 4.1): a CA revoking certificates early (a mass revocation) is not noticed before they expire",
                shown(version)
            )
        },
        fix: (!ari && short).then(|| {
            "short-lived certificates need ARI: install certbot >= 4.1".to_string()
        }),
    });
    if let Some(lifetime) = lifetime {
        let c = cadence(version, conf, lifetime);
        let every = if c.every.is_zero() {
            "at every run of its timer (twice a day): the renewal window is longer than the lifetime".to_string()
        } else {
            format!("about every {}", days(c.every))
        };
        out.push(Finding {
            warn: c.every.is_zero(),
            topic: "lifetime",
            detail: format!(
                "the certificate lasts {} (until {not_after}); certbot renews it {} before expiry ({}), so {every}",
                days(lifetime),
                days(c.before_expiry),
                c.source
            ),
            fix: c.every.is_zero().then(|| {
                "set renew_before_expiry in renewal.conf below the lifetime (or use certbot >= 4.0, whose default follows the lifetime)".to_string()
            }),
        });
    }
    let left = if not_after > now {
        not_after.duration_since(now).unsigned_abs()
    } else {
        Duration::ZERO
    };
    let too_long = wait >= left;
    out.push(Finding {
        warn: too_long,
        topic: "wait",
        detail: if too_long {
            format!(
                "the rollover's wait ({}: ttl_factor x TTL + margin) is longer than what is left of the certificate ({}): a next key published now cannot be switched to in the normal way before it expires; only the emergency rollover (no wait) is in time",
                days(wait),
                days(left)
            )
        } else {
            format!(
                "the rollover's wait ({}) fits in what is left of the certificate ({})",
                days(wait),
                days(left)
            )
        },
        fix: too_long.then(|| {
            "lower the lineage's ttl (and the TLSA RRset's TTL) or [dns] ttl_factor / margin so that a rollover fits well within one certificate".to_string()
        }),
    });
    out
}

/// A duration for people: days with one decimal, or hours below a day.
fn days(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 86_400 {
        format!("{:.1} days", s as f64 / 86_400.0)
    } else if s >= 3600 {
        format!("{:.1} hours", s as f64 / 3600.0)
    } else {
        format!("{} s", s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    fn conf(extra_top: &str, params: &str) -> RenewalConf {
        RenewalConf::parse(&format!(
            "version = 2.1.0\n{extra_top}archive_dir = /a\ncert = /c\nprivkey = /p\nchain = /ch\nfullchain = /f\n\n[renewalparams]\nauthenticator = standalone\n{params}"
        ))
        .unwrap()
    }

    fn t(d: f64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + (d * DAY as f64) as i64).unwrap()
    }

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("certbot 2.1.0\n"),
            Some(CertbotVersion(2, 1, 0))
        );
        assert_eq!(
            parse_version("certbot 5.8.0"),
            Some(CertbotVersion(5, 8, 0))
        );
        assert_eq!(
            parse_version("certbot 4.1.0.dev0"),
            Some(CertbotVersion(4, 1, 0))
        );
        assert_eq!(parse_version("certbot 4.0"), Some(CertbotVersion(4, 0, 0)));
        assert_eq!(parse_version("command not found"), None);
        assert!(!CertbotVersion(3, 3, 0).has_profiles());
        assert!(CertbotVersion(4, 0, 0).has_profiles() && !CertbotVersion(4, 0, 0).has_ari());
        assert!(CertbotVersion(4, 1, 0).has_ari());
    }

    #[test]
    fn intervals() {
        assert_eq!(
            parse_interval("30 days"),
            Some(Duration::from_secs(30 * DAY))
        );
        assert_eq!(parse_interval("1 week"), Some(Duration::from_secs(7 * DAY)));
        assert_eq!(
            parse_interval("1 day 12 hours"),
            Some(Duration::from_secs(DAY + 12 * 3600))
        );
        assert_eq!(parse_interval("soon"), None);
        assert_eq!(parse_interval(""), None);
    }

    #[test]
    fn cadence_table() {
        let plain = conf("", "");
        let set = conf("renew_before_expiry = 2 days\n", "");
        let cases: [(Option<CertbotVersion>, &RenewalConf, u64, u64, u64); 6] = [
            // version, conf, lifetime days, before expiry days, every days
            (Some(CertbotVersion(2, 1, 0)), &plain, 90, 30, 60),
            (Some(CertbotVersion(2, 1, 0)), &plain, 6, 30, 0),
            (Some(CertbotVersion(5, 8, 0)), &plain, 90, 30, 60),
            (Some(CertbotVersion(5, 8, 0)), &plain, 6, 3, 3),
            (Some(CertbotVersion(5, 8, 0)), &plain, 45, 15, 30),
            (Some(CertbotVersion(2, 1, 0)), &set, 6, 2, 4),
        ];
        for (i, (v, c, life, before, every)) in cases.into_iter().enumerate() {
            let got = cadence(v, c, Duration::from_secs(life * DAY));
            assert_eq!(
                got.before_expiry,
                Duration::from_secs(before * DAY),
                "case {i}"
            );
            assert_eq!(got.every, Duration::from_secs(every * DAY), "case {i}");
        }
    }

    #[test]
    fn what_an_old_certbot_lacks() {
        let c = conf("", "preferred_profile = shortlived\n");
        let old = findings(
            Some(CertbotVersion(2, 1, 0)),
            &c,
            Some(t(0.0)),
            t(6.0),
            t(1.0),
            Duration::from_secs(660),
        );
        let topic = |fs: &[Finding], t: &str| fs.iter().find(|f| f.topic == t).cloned().unwrap();
        assert!(topic(&old, "profile").warn);
        assert!(topic(&old, "profile").detail.contains("certbot >= 4.0"));
        assert!(topic(&old, "ari").warn, "six-day certificates without ARI");
        assert!(
            topic(&old, "lifetime").warn,
            "{:?}",
            topic(&old, "lifetime")
        );
        assert!(topic(&old, "lifetime").detail.contains("every run"));
        assert!(!topic(&old, "wait").warn);
        let new = findings(
            Some(CertbotVersion(5, 8, 0)),
            &c,
            Some(t(0.0)),
            t(6.0),
            t(1.0),
            Duration::from_secs(660),
        );
        assert!(!topic(&new, "profile").warn);
        assert!(!topic(&new, "ari").warn);
        assert!(!topic(&new, "lifetime").warn);
        assert!(
            topic(&new, "lifetime")
                .detail
                .contains("about every 3.0 days")
        );
        // No profile asked: no profile finding.
        let none = findings(None, &conf("", ""), None, t(90.0), t(0.0), Duration::ZERO);
        assert!(none.iter().all(|f| f.topic != "profile"));
    }

    #[test]
    fn a_wait_longer_than_the_certificate_warns() {
        let c = conf("", "");
        let v = Some(CertbotVersion(5, 8, 0));
        let wait = Duration::from_secs(2 * DAY + 60);
        let fits = findings(v, &c, Some(t(0.0)), t(6.0), t(1.0), wait);
        assert!(!fits.iter().find(|f| f.topic == "wait").unwrap().warn);
        let late = findings(v, &c, Some(t(0.0)), t(6.0), t(4.5), wait);
        let w = late.iter().find(|f| f.topic == "wait").unwrap();
        assert!(w.warn, "{w:?}");
        assert!(w.fix.is_some());
        let expired = findings(v, &c, Some(t(0.0)), t(6.0), t(7.0), Duration::ZERO);
        assert!(expired.iter().find(|f| f.topic == "wait").unwrap().warn);
    }
}
