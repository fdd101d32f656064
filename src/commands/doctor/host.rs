//! `doctor`: the machine's side: the state directory, the zones seen changing without a new
//! serial, the boot clock and the clients' locks the switch depends on, and the timer.

use std::fmt::Write as _;
use std::path::Path;

use super::{Item, Level, item};
use crate::config::Config;

pub(super) fn state_item(dir: &Path) -> Item {
    use std::os::unix::fs::PermissionsExt;
    let name = "state directory";
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => item(
            name,
            Level::Fail,
            format!("{} is not a directory", dir.display()),
        ),
        Ok(m) if m.permissions().mode() & 0o007 != 0 => item(
            name,
            Level::Fail,
            format!(
                "{} is open to others (mode {:o})",
                dir.display(),
                m.permissions().mode() & 0o7777
            ),
        )
        .fix(format!("chmod o= {}", dir.display())),
        Ok(_) => item(name, Level::Ok, format!("{}", dir.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => item(
            name,
            Level::Warn,
            format!(
                "{} does not exist yet (the first change creates it, mode 0700)",
                dir.display()
            ),
        )
        .fix(format!("install -d -m 0700 {}", dir.display())),
        Err(e) => item(name, Level::Fail, format!("{}: {e}", dir.display()))
            .fix("run as root or as a member of the danerollover group"),
    }
}

/// The zones seen changing without a new serial (kept in the observation cache): their
/// observations are never reused, which costs every pass a full look; the fix is in the
/// zone's serials.
pub(super) fn silent_zone_items(state_dir: &Path, config: &Config) -> Vec<Item> {
    let store = crate::store::Store::new(state_dir);
    let cache = store.read_observations(&crate::dns::reuse::resolver_of(&config.dns));
    cache
        .silent
        .iter()
        .map(|s| {
            item(
                format!("zone {}", s.zone.trim_end_matches('.')),
                Level::Warn,
                s.problem(),
            )
            .fix(format!(
                "make each change raise the serial of {}, then rm {}",
                s.zone.trim_end_matches('.'),
                store.observations_path().display()
            ))
        })
        .collect()
}

/// The inputs of the switch the machine itself gives: the boot clock (a stepped wall clock
/// must not shorten a wait) and certbot's lock (a pass must not act while certbot runs).
/// Either unreadable holds every switch: a failure, naming the input and the fix.
pub(super) fn safety_inputs(le_dir: &Path, state_dir: &Path) -> Vec<Item> {
    use crate::engine::traits::Clock;
    let mut items = Vec::new();
    let clock = crate::engine::real::SystemClock;
    match clock.monotonic() {
        Ok(m) => {
            let mut detail = format!(
                "clock_gettime(CLOCK_BOOTTIME) reads {:.3} s since boot",
                m.since_boot_ms as f64 / 1000.0
            );
            // How far the wall clock runs ahead of the time the last pass counted.
            if let Ok(state) = crate::store::Store::new(state_dir).read()
                && let Some(a) = &state.clock
                && !crate::rollover::clock::rebooted(&a.mono, &m)
            {
                let counted = m.since_boot_ms - a.mono.since_boot_ms;
                let wall = clock.now().duration_since(a.wall).as_millis();
                let ahead = wall - i128::from(counted);
                if ahead > 1000 {
                    let _ = write!(
                        detail,
                        "; the wall clock runs {} ahead of the time counted since the last pass (a step forward, or a reboot not seen): waits are counted by the boot clock",
                        humantime::format_duration(std::time::Duration::from_millis(
                            u64::try_from(ahead).unwrap_or(u64::MAX)
                        ))
                    );
                }
            }
            items.push(item("boot clock", Level::Ok, detail));
        }
        Err(why) => items.push(
            item("boot clock", Level::Fail, format!("unknown: {why}"))
                .fix("run on Linux with clock_gettime allowed; until then no switch or retirement happens"),
        ),
    }
    let lock = le_dir.join(".certbot.lock");
    match crate::engine::real::certbot_lock_held(&lock) {
        Ok(held) => items.push(item(
            "certbot's lock",
            Level::Ok,
            format!(
                "{} is {} (asked with fcntl F_GETLK)",
                lock.display(),
                if held {
                    "held: certbot runs"
                } else {
                    "not held"
                }
            ),
        )),
        Err(why) => items.push(
            item("certbot's lock", Level::Fail, format!("unknown: {why}"))
                .fix("until it can be asked, an interrupted switch is left alone"),
        ),
    }
    items
}

/// The timer's enablement symlink (an offline check: no systemd needed).
pub(super) fn timer(systemd_dir: &Path) -> Item {
    let link = systemd_dir.join("timers.target.wants/danerollover.timer");
    // The symlink is what `systemctl enable` leaves; its target may live in a unit
    // directory of the running system that this check does not resolve.
    if std::fs::symlink_metadata(&link).is_ok() {
        item("timer", Level::Ok, format!("enabled ({})", link.display()))
    } else {
        item(
            "timer",
            Level::Warn,
            format!("not enabled (no {})", link.display()),
        )
        .fix("systemctl enable --now danerollover.timer")
    }
}
