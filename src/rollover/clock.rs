//! A clock stepped forward must not shorten a wait (RFC 7671 8.1 counts real time).
//!
//! The wall clock can jump: an NTP step after a VM resume or a wrong RTC, an operator's
//! `date -s`. A jump backwards only makes waits longer (a `since` in the future restarts
//! the clock). A jump forwards would make a wait look over before it is. So the time the
//! core is given is the wall clock *bounded by the time that really passed*: the state
//! keeps an anchor (wall time, boot id, seconds since boot from `CLOCK_BOOTTIME`, which
//! counts suspended time and is never stepped), and each pass uses
//!
//! ```text
//! now = min(wall clock, anchor.wall + (since_boot - anchor.since_boot))
//! ```
//!
//! After a forward step, `now` keeps lagging the wall clock by the step (waits get longer,
//! never shorter) until the next boot. A different boot id means the monotonic count
//! restarted: nothing bounds the wall clock across the reboot, so every propagation clock
//! restarts (the wait is counted again from the first observation after the boot; a
//! reboot costs one wait, never safety). Without a monotonic clock (not Linux), the wall
//! clock is used as it is.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::policy::after;

/// A reading of the monotonic clock: which boot, and how long since it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monotonic {
    /// `/proc/sys/kernel/random/boot_id`.
    pub boot_id: String,
    /// Time since boot, suspended time included (`CLOCK_BOOTTIME`), in milliseconds.
    pub since_boot_ms: u64,
}

/// The last time handed to the core, with the monotonic reading it was taken at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockAnchor {
    pub wall: Timestamp,
    #[serde(flatten)]
    pub mono: Monotonic,
}

/// The time to give the core now, the new anchor, and whether the boot changed since the
/// anchor (every propagation clock must then restart).
pub fn steady_now(
    anchor: Option<&ClockAnchor>,
    wall: Timestamp,
    mono: Option<Monotonic>,
) -> (Timestamp, Option<ClockAnchor>, bool) {
    let Some(mono) = mono else {
        return (wall, anchor.cloned(), false);
    };
    let (now, rebooted) = match anchor {
        Some(a) if a.mono.boot_id == mono.boot_id => {
            let passed = mono.since_boot_ms.saturating_sub(a.mono.since_boot_ms);
            let bound = after(a.wall, Duration::from_millis(passed));
            (wall.min(bound), false)
        }
        Some(_) => (wall, true),
        None => (wall, false),
    };
    (now, Some(ClockAnchor { wall: now, mono }), rebooted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn m(boot: &str, secs: u64) -> Monotonic {
        Monotonic {
            boot_id: boot.into(),
            since_boot_ms: secs * 1000,
        }
    }

    #[test]
    fn a_forward_step_is_bounded_by_the_time_that_passed() {
        let (now, a, rebooted) = steady_now(None, t(0), Some(m("b1", 100)));
        assert_eq!((now, rebooted), (t(0), false));
        // 60 s pass, the wall clock jumps an hour ahead.
        let (now, a, _) = steady_now(a.as_ref(), t(3660), Some(m("b1", 160)));
        assert_eq!(now, t(60));
        // It keeps lagging the wall clock by the step.
        let (now, a, _) = steady_now(a.as_ref(), t(3720), Some(m("b1", 220)));
        assert_eq!(now, t(120));
        // A step back is taken as it is (waits only get longer).
        let (now, a, _) = steady_now(a.as_ref(), t(50), Some(m("b1", 230)));
        assert_eq!(now, t(50));
        // Another boot: the wall clock, and the caller restarts the propagation clocks.
        let (now, _, rebooted) = steady_now(a.as_ref(), t(9000), Some(m("b2", 30)));
        assert_eq!((now, rebooted), (t(9000), true));
        // No monotonic clock: the wall clock.
        assert_eq!(steady_now(None, t(5), None).0, t(5));
    }
}
