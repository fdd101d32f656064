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
/// must not shorten a wait) and the ACME clients' locks (a pass must not act while the
/// client runs). Either unreadable holds every switch: a failure, naming the input and the
/// fix.
pub(super) fn safety_inputs(
    config: &Config,
    le_dir: &Path,
    state_dir: &Path,
    names: &[String],
) -> Vec<Item> {
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
    items.extend(client_lock_items(config, le_dir, names));
    items
}

/// The locks of the lineages' ACME clients (a pass must not switch while the client runs):
/// one item per lock, named after its client and shared by the lineages whose client holds
/// it; a client without a lock file is named as such. With no lineage, certbot's (the
/// default client). A lock that cannot be asked holds the repair of an interrupted switch:
/// a failure, naming the input and the fix.
pub(super) fn client_lock_items(config: &Config, le_dir: &Path, names: &[String]) -> Vec<Item> {
    use crate::acme::{ClientKind, ClientLock, ClientSettings};
    let mut clients = Vec::new();
    if names.is_empty()
        && let Ok(c) = crate::acme::build(
            ClientKind::Certbot,
            &ClientSettings::default(),
            le_dir,
            &config.certbot,
        )
    {
        clients.push(c);
    }
    for name in names {
        let lc = &config.lineages[name.as_str()];
        // A client that cannot be built is reported with the lineage's own checks.
        if let Ok(c) = crate::acme::build(lc.client, &lc.client_settings(), le_dir, &config.certbot)
        {
            clients.push(c);
        }
    }
    let mut seen: Vec<ClientLock> = Vec::new();
    let mut lockless: Vec<ClientKind> = Vec::new();
    let mut items = Vec::new();
    for client in &clients {
        let kind = client.kind();
        let locks = client.locks();
        if locks.is_empty() && !lockless.contains(&kind) {
            lockless.push(kind);
            items.push(item(
                format!("{kind}'s lock"),
                Level::Skip,
                format!(
                    "{kind} takes no lock file: a pass knows it runs only by the run it started"
                ),
            ));
        }
        for lock in locks {
            if seen.contains(&lock) {
                continue;
            }
            items.push(lock_item(&kind.to_string(), &lock));
            seen.push(lock);
        }
    }
    items
}

/// What `client`'s `lock` says now.
fn lock_item(client: &str, lock: &crate::acme::ClientLock) -> Item {
    use crate::acme::ClientLock;
    let name = format!("{client}'s lock");
    match (lock, crate::engine::real::client_lock_held(lock)) {
        (ClientLock::Posix(p), Ok(held)) => item(
            name,
            Level::Ok,
            format!(
                "{} is {} (asked with fcntl F_GETLK)",
                p.display(),
                if held {
                    format!("held: {client} runs")
                } else {
                    "not held".to_string()
                }
            ),
        ),
        (ClientLock::Exists(p), Ok(true)) => item(
            name,
            Level::Warn,
            format!(
                "{} exists: {client} is running, or was killed and left it",
                p.display()
            ),
        )
        .fix(format!("remove {} once no {client} runs", p.display())),
        (ClientLock::Exists(p), Ok(false)) => item(
            name,
            Level::Ok,
            format!("{} does not exist: {client} is not running", p.display()),
        ),
        (_, Err(why)) => item(name, Level::Fail, format!("unknown: {why}"))
            .fix("until it can be asked, an interrupted switch is left alone"),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path) -> Config {
        let text = format!(
            r#"
[providers.me]
type = "manual"

[lineages."lego.example.test"]
provider = "me"
tlsa = ["_25._tcp.lego.example.test"]
client = "lego"
command = ["lego", "--path", "{dir}/lego", "--email", "a@example.test", "--http"]

[lineages."dehydrated.example.test"]
provider = "me"
tlsa = ["_25._tcp.dehydrated.example.test"]
client = "dehydrated"
client_dir = "{dir}/dehydrated"
client_config = "{dir}/dehydrated/config"

[lineages."certbot.example.test"]
provider = "me"
tlsa = ["_25._tcp.certbot.example.test"]

[lineages."certbot2.example.test"]
provider = "me"
tlsa = ["_25._tcp.certbot2.example.test"]
"#,
            dir = dir.display()
        );
        Config::parse(&text, &dir.join("config.toml")).unwrap()
    }

    /// Each lineage's client is asked for its own locks: a lego lineage's item names lego
    /// (which takes none), not certbot's lock; a dehydrated lineage's names its lock file;
    /// certbot's lock, shared by its lineages, is one item.
    #[test]
    fn each_lineages_client_names_its_own_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let config = config(dir);
        let le = dir.join("le");
        let lego = vec!["lego.example.test".to_string()];
        let items = client_lock_items(&config, &le, &lego);
        assert_eq!(items.len(), 1, "{items:?}");
        assert_eq!(items[0].item, "lego's lock");
        assert_eq!(items[0].level, Level::Skip);
        assert!(!items[0].detail.contains(".certbot.lock"), "{items:?}");

        let dehydrated = vec!["dehydrated.example.test".to_string()];
        std::fs::create_dir_all(dir.join("dehydrated")).unwrap();
        let items = client_lock_items(&config, &le, &dehydrated);
        let lock = dir.join("dehydrated/lock");
        assert_eq!(items.len(), 1, "{items:?}");
        assert_eq!(
            (items[0].item.as_str(), items[0].level),
            ("dehydrated's lock", Level::Ok)
        );
        assert!(
            items[0].detail.contains(&lock.display().to_string()),
            "{items:?}"
        );
        std::fs::write(&lock, "").unwrap();
        let items = client_lock_items(&config, &le, &dehydrated);
        assert_eq!(items[0].level, Level::Warn, "{items:?}");
        assert!(
            items[0]
                .fix
                .as_deref()
                .is_some_and(|f| f.contains("remove"))
        );

        let all: Vec<String> = config.lineages.keys().cloned().collect();
        let items = client_lock_items(&config, &le, &all);
        let names: Vec<&str> = items.iter().map(|i| i.item.as_str()).collect();
        assert_eq!(
            names.iter().filter(|n| **n == "certbot's lock").count(),
            1,
            "{items:?}"
        );
        assert!(names.contains(&"lego's lock") && names.contains(&"dehydrated's lock"));
        let certbot = items.iter().find(|i| i.item == "certbot's lock").unwrap();
        assert!(
            certbot
                .detail
                .contains(&le.join(".certbot.lock").display().to_string())
                && certbot.detail.contains("not held"),
            "{certbot:?}"
        );
        // No lineage yet: certbot's, the default client.
        let items = client_lock_items(&config, &le, &[]);
        assert_eq!(items.len(), 1, "{items:?}");
        assert_eq!(items[0].item, "certbot's lock");
    }
}
