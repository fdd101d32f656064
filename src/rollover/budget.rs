//! The forced-renewal budget: every switch forces a renewal (`--force-renewal`), which
//! counts against the CA's limits (Let's Encrypt: five certificates per exact set of names
//! per 7 days, failed validations per hour). A switch that keeps failing must not burn
//! them and then block the ordinary renewals, so at most `max_forced_renewals` switches per
//! lineage start certbot within [`WINDOW`]; beyond that the switch waits for the budget
//! ([`super::Reason::RenewalBudget`], with the count, the window and when it frees).
//!
//! The times of the forced renewals are kept in the state ([`super::LineageState::forced_renewals`]).
//! A time ahead of `now` (the clock was set back) still counts: it is a renewal that happened.
//! The emergency switch (key compromise, a key the CA blocks) is not held by the budget,
//! but is counted: mail that stops because a certificate expires is worse than a refused
//! duplicate.

use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use super::policy::after;

/// The window the budget counts in: the CA's duplicate-certificate limit is per 7 days.
pub const WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// What the budget says about forcing one more renewal now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "budget", rename_all = "snake_case")]
pub enum Budget {
    /// Allowed: `used` forced renewals in the window so far (of `max`).
    Allowed { used: u32, max: u32 },
    /// Spent: `used` forced renewals in the window already (at most `max`); one more fits
    /// at `frees_at` (None with `max` 0: never by waiting).
    Spent {
        used: u32,
        max: u32,
        frees_at: Option<Timestamp>,
    },
}

/// The budget at `now`, given the times of the forced renewals so far. `max` 0 means no
/// switch may force a renewal at all (switches only by hand, with `rollover --emergency`).
pub fn budget(history: &[Timestamp], now: Timestamp, max: u32, window: Duration) -> Budget {
    let mut inside: Vec<Timestamp> = history
        .iter()
        .copied()
        .filter(|t| after(*t, window) > now)
        .collect();
    inside.sort_unstable();
    let used = u32::try_from(inside.len()).unwrap_or(u32::MAX);
    if used < max {
        return Budget::Allowed { used, max };
    }
    // The budget frees when enough of the oldest have left the window that one more fits:
    // the (used - max + 1)-th oldest; with max 0 never by waiting.
    let frees_at = (max > 0).then(|| after(inside[(used - max) as usize], window));
    Budget::Spent {
        used,
        max,
        frees_at,
    }
}

/// `history` with a forced renewal at `now` added, and those that left the window at `now`
/// dropped (the state keeps no more than the window needs).
pub fn record(history: &mut Vec<Timestamp>, now: Timestamp, window: Duration) {
    history.retain(|t| after(*t, window) > now);
    history.push(now);
    history.sort_unstable();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + h * 3600).unwrap()
    }

    #[test]
    fn budget_table() {
        let w = WINDOW; // 168 h
        struct Case {
            history: Vec<i64>,
            now: i64,
            max: u32,
            want: Budget,
        }
        let cases = [
            Case {
                history: vec![],
                now: 0,
                max: 3,
                want: Budget::Allowed { used: 0, max: 3 },
            },
            Case {
                history: vec![0, 1],
                now: 2,
                max: 3,
                want: Budget::Allowed { used: 2, max: 3 },
            },
            // Three within the week: spent until the oldest is a week old.
            Case {
                history: vec![0, 10, 20],
                now: 30,
                max: 3,
                want: Budget::Spent {
                    used: 3,
                    max: 3,
                    frees_at: Some(t(168)),
                },
            },
            // The oldest left the window exactly now: allowed again.
            Case {
                history: vec![0, 10, 20],
                now: 168,
                max: 3,
                want: Budget::Allowed { used: 2, max: 3 },
            },
            Case {
                history: vec![0, 10, 20],
                now: 167,
                max: 3,
                want: Budget::Spent {
                    used: 3,
                    max: 3,
                    frees_at: Some(t(168)),
                },
            },
            // Unsorted history, more than max (emergencies counted beyond it): frees when
            // two have left.
            Case {
                history: vec![20, 0, 10, 5],
                now: 30,
                max: 3,
                want: Budget::Spent {
                    used: 4,
                    max: 3,
                    frees_at: Some(t(5 + 168)),
                },
            },
            // A time ahead of now (clock set back) still counts.
            Case {
                history: vec![100, 101, 102],
                now: 50,
                max: 3,
                want: Budget::Spent {
                    used: 3,
                    max: 3,
                    frees_at: Some(t(268)),
                },
            },
            // Old ones do not count.
            Case {
                history: vec![-500, -200, -169],
                now: 0,
                max: 1,
                want: Budget::Allowed { used: 0, max: 1 },
            },
            Case {
                history: vec![-500, -100],
                now: 0,
                max: 1,
                want: Budget::Spent {
                    used: 1,
                    max: 1,
                    frees_at: Some(t(68)),
                },
            },
            // max 0: never by waiting.
            Case {
                history: vec![],
                now: 0,
                max: 0,
                want: Budget::Spent {
                    used: 0,
                    max: 0,
                    frees_at: None,
                },
            },
        ];
        for (i, c) in cases.iter().enumerate() {
            let history: Vec<Timestamp> = c.history.iter().map(|h| t(*h)).collect();
            assert_eq!(budget(&history, t(c.now), c.max, w), c.want, "case {i}");
        }
    }

    #[test]
    fn record_keeps_only_the_window() {
        let mut h = vec![t(0), t(100), t(160)];
        record(&mut h, t(200), WINDOW);
        assert_eq!(h, vec![t(100), t(160), t(200)]);
        assert_eq!(
            budget(&h, t(200), 3, WINDOW),
            Budget::Spent {
                used: 3,
                max: 3,
                frees_at: Some(t(268))
            }
        );
    }
}
