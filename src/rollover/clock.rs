//! A clock stepped forward must not shorten a wait (RFC 7671 8.1 counts real time).
//!
//! The wall clock can jump: an NTP step after a VM resume or a wrong RTC, an operator's
//! `date -s`. A jump backwards only makes waits longer (a `since` in the future restarts
//! the clock). A jump forwards would make a wait look over before it is. So the time the
//! core is given is the wall clock *bounded by the time that really passed*: the state
//! keeps an anchor (the time handed to the core and the boot clock then), and each pass uses
//!
//! ```text
//! now = min(wall clock, anchor.wall + (since_boot - anchor.since_boot))
//! ```
//!
//! The boot clock is `clock_gettime(CLOCK_BOOTTIME)`: it counts suspended time, is never
//! stepped, and needs no `/proc` (the shipped unit's `ProcSubset=pid` hides
//! `/proc/uptime`). Sub-second readings are kept: passes half a second apart move the
//! time by half a second each.
//!
//! After a forward step, `now` keeps lagging the wall clock by the step (waits get longer,
//! never shorter) until the next reboot. A reboot restarts the boot clock: nothing bounds
//! the wall clock across it, so every propagation clock restarts (a reboot costs one wait,
//! never safety). A reboot is certain when the boot clock reads less than at the anchor,
//! or when the boot id (`/proc/sys/kernel/random/boot_id`, read only where `/proc` shows
//! it) differs. A reboot that neither shows (the machine was up longer now than at the
//! last pass, and no boot id) is taken for the same boot: the bound then counts only this
//! boot's time, less than what really passed, so waits get longer, never shorter.
//!
//! When the boot clock cannot be read, the time is **unknown**: the wall clock is used for
//! what is recorded, but the switch and every retirement hold ([`Steady::unknown`]), and
//! the anchor is dropped, so that the next pass with a boot clock restarts every
//! propagation clock counted on the wall clock alone.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// A reading of the boot clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monotonic {
    /// `/proc/sys/kernel/random/boot_id`, where `/proc` shows it: a different one is a
    /// reboot for sure. None in the shipped unit's sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// Time since boot, suspended time included (`CLOCK_BOOTTIME`), in milliseconds.
    pub since_boot_ms: u64,
}

/// The last time handed to the core, with the boot clock reading it was taken at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockAnchor {
    pub wall: Timestamp,
    #[serde(flatten)]
    pub mono: Monotonic,
}

/// What [`steady_now`] decided for one pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Steady {
    /// The time to give the core.
    pub now: Timestamp,
    /// The anchor to keep in the state (None when the boot clock could not be read).
    pub anchor: Option<ClockAnchor>,
    /// Nothing bounds the wall clock since the anchor (a reboot, or no anchor): every
    /// propagation clock must restart.
    pub restart: bool,
    /// Why `now` may run ahead of real time (the boot clock could not be read, and the
    /// fix): the switch and retirements hold while this is set.
    pub unknown: Option<String>,
}

/// The time to give the core now, given the anchor the state keeps, the wall clock and
/// the boot clock's reading (Err: why it could not be read).
pub fn steady_now(
    anchor: Option<&ClockAnchor>,
    wall: Timestamp,
    mono: Result<Monotonic, String>,
) -> Steady {
    let mono = match mono {
        Ok(m) => m,
        Err(why) => {
            return Steady {
                now: wall,
                anchor: None,
                restart: false,
                unknown: Some(why),
            };
        }
    };
    let (now, restart) = match anchor {
        Some(a) if !rebooted(&a.mono, &mono) => {
            let passed = mono.since_boot_ms - a.mono.since_boot_ms;
            let passed = SignedDuration::from_millis(i64::try_from(passed).unwrap_or(i64::MAX));
            let bound = a.wall.checked_add(passed).unwrap_or(Timestamp::MAX);
            (wall.min(bound), false)
        }
        // A reboot, or nothing to bound from: the propagation clocks restart.
        _ => (wall, true),
    };
    Steady {
        now,
        anchor: Some(ClockAnchor { wall: now, mono }),
        restart,
        unknown: None,
    }
}

/// Whether `now` was read in another boot than `then`: the boot clock went back, or both
/// boot ids are known and differ.
pub fn rebooted(then: &Monotonic, now: &Monotonic) -> bool {
    now.since_boot_ms < then.since_boot_ms
        || matches!((&then.boot_id, &now.boot_id), (Some(a), Some(b)) if a != b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn ms(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(1_700_000_000_000 + ms).unwrap()
    }

    fn m(boot: Option<&str>, millis: u64) -> Result<Monotonic, String> {
        Ok(Monotonic {
            boot_id: boot.map(Into::into),
            since_boot_ms: millis,
        })
    }

    /// One pass after another: (wall, boot clock) -> (now, restart, unknown).
    fn passes(steps: &[(Timestamp, Result<Monotonic, String>)]) -> Vec<(Timestamp, bool, bool)> {
        let mut anchor = None;
        let mut out = Vec::new();
        for (wall, mono) in steps {
            let s = steady_now(anchor.as_ref(), *wall, mono.clone());
            out.push((s.now, s.restart, s.unknown.is_some()));
            anchor = s.anchor;
        }
        out
    }

    #[test]
    fn a_forward_step_is_bounded_by_the_time_that_passed() {
        let b = Some("b1");
        let got = passes(&[
            (t(0), m(b, 100_000)),
            // 60 s pass, the wall clock jumps an hour ahead.
            (t(3660), m(b, 160_000)),
            // It keeps lagging the wall clock by the step.
            (t(3720), m(b, 220_000)),
            // A step back is taken as it is (waits only get longer).
            (t(50), m(b, 230_000)),
            // Another boot id: the wall clock, and the propagation clocks restart.
            (t(9000), m(Some("b2"), 300_000)),
        ]);
        assert_eq!(
            got,
            vec![
                (t(0), true, false),
                (t(60), false, false),
                (t(120), false, false),
                (t(50), false, false),
                (t(9000), true, false),
            ]
        );
    }

    #[test]
    fn a_reboot_shows_without_boot_ids_when_the_boot_clock_goes_back() {
        let got = passes(&[
            (t(0), m(None, 100_000)),
            (t(3600), m(None, 30_000)),
            // Up longer than at the last pass and no boot id: taken for the same boot,
            // bounded by this boot's count (never more than what passed).
            (t(7200), m(None, 40_000)),
        ]);
        assert_eq!(
            got,
            vec![
                (t(0), true, false),
                (t(3600), true, false),
                (t(3610), false, false)
            ]
        );
        // An old state's boot id against a reading without one: only the count decides.
        let old = ClockAnchor {
            wall: t(0),
            mono: Monotonic {
                boot_id: Some("b1".into()),
                since_boot_ms: 1000,
            },
        };
        let s = steady_now(Some(&old), t(100), m(None, 11_000));
        assert_eq!((s.now, s.restart), (t(10), false));
    }

    #[test]
    fn sub_second_passes_move_the_time() {
        // Passes half a second apart, the wall clock right: each moves the time by 500 ms.
        let steps: Vec<_> = (0..5)
            .map(|i| (ms(500 * i), m(Some("b"), 1_000 + 500 * i as u64)))
            .collect();
        let got: Vec<Timestamp> = passes(&steps).into_iter().map(|p| p.0).collect();
        assert_eq!(got, vec![ms(0), ms(500), ms(1000), ms(1500), ms(2000)]);
        // The wall clock 1.7 s ahead after a step: the bound, to the millisecond.
        let got = passes(&[(ms(0), m(None, 10)), (ms(2_000), m(None, 310))]);
        assert_eq!(got[1].0, ms(300));
    }

    #[test]
    fn an_unreadable_boot_clock_is_unknown_and_restarts_the_clocks_once_back() {
        let got = passes(&[
            (t(0), m(None, 1_000)),
            (t(100), Err("clock_gettime(CLOCK_BOOTTIME): EPERM".into())),
            // Back: nothing bounds the wall clock since the anchor was dropped.
            (t(200), m(None, 201_000)),
            (t(260), m(None, 261_000)),
        ]);
        assert_eq!(
            got,
            vec![
                (t(0), true, false),
                (t(100), false, true),
                (t(200), true, false),
                (t(260), false, false),
            ]
        );
    }
}
