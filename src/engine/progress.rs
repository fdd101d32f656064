//! Waiting, visibly and promptly: how `rollover --wait` paces its looks, and what it tells
//! the operator while it waits.
//!
//! - While the switch time is unknown (a server still lacks the next key's record, or
//!   serves it unsigned), it looks again every few seconds: [`FIRST_LOOK`], growing by half
//!   each time nothing changed, up to a cap that follows the smallest record TTL
//!   ([`backoff_cap`]); a change in what it waits for starts again at [`FIRST_LOOK`].
//! - Once the switch time is known, it sleeps to that exact moment (or the deadline).
//! - Before each sleep it hands the [`Clock`] a [`WaitNotice`] (what it waits for, until
//!   when, when it looks again): the command shows a live line on a terminal and plain
//!   lines in logs ([`NoticeLines`]).

use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use super::traits::Clock;

/// The first pause while the switch time is unknown.
pub const FIRST_LOOK: Duration = Duration::from_secs(2);

/// The longest pause while the switch time is unknown, for a poll interval `poll` (the
/// smallest record TTL, at most 60 s): a quarter of it, at least [`FIRST_LOOK`]. A record
/// reaching the last server is then noticed within a quarter TTL at worst.
pub fn backoff_cap(poll: Duration) -> Duration {
    (poll / 4).max(FIRST_LOOK)
}

/// The pause after `pause` when nothing changed: half as long again, up to `cap`.
pub fn next_pause(pause: Duration, cap: Duration) -> Duration {
    (pause + pause / 2).min(cap)
}

/// What `rollover --wait` waits for, handed to the clock before each sleep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaitNotice {
    pub lineage: String,
    /// The switch time, once known (the sleep then ends there).
    pub until: Option<Timestamp>,
    /// When it looks again.
    pub next_look: Timestamp,
    /// Why the switch is not safe now.
    pub reasons: Vec<String>,
}

impl WaitNotice {
    /// One line for people, as of `now`.
    pub fn line(&self, now: Timestamp) -> String {
        let left = |t: Timestamp| {
            let secs = t.duration_since(now).as_secs().max(0) as u64;
            humantime::format_duration(Duration::from_secs(secs)).to_string()
        };
        let why = self
            .reasons
            .first()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        match self.until {
            Some(u) => format!("{}: switching at {u} ({} left){why}", self.lineage, left(u)),
            None => format!(
                "{}: switch time not known yet, looking again in {}{why}",
                self.lineage,
                left(self.next_look)
            ),
        }
    }
}

/// Plain lines for logs: a line when what is waited for changes, not one per look.
#[derive(Debug, Default)]
pub struct NoticeLines {
    last: Option<(Option<Timestamp>, Vec<String>)>,
}

impl NoticeLines {
    /// The line to print for `notice`, if it says something new.
    pub fn line(&mut self, notice: &WaitNotice, now: Timestamp) -> Option<String> {
        let key = (notice.until, notice.reasons.clone());
        if self.last.as_ref() == Some(&key) {
            return None;
        }
        self.last = Some(key);
        Some(format!("{now} {}", notice.line(now)))
    }
}

/// Sleep `d` on `clock`, having told it what for.
pub async fn announced_sleep(clock: &dyn Clock, notice: &WaitNotice, d: Duration) {
    clock.waiting(notice);
    clock.sleep(d).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    #[test]
    fn the_pause_grows_to_a_cap_that_follows_the_ttl() {
        let cap = backoff_cap(Duration::from_secs(30));
        assert_eq!(cap, Duration::from_millis(7500));
        let mut p = FIRST_LOOK;
        let mut seen = vec![p];
        for _ in 0..6 {
            p = next_pause(p, cap);
            seen.push(p);
        }
        assert_eq!(
            seen.iter().map(|d| d.as_millis()).collect::<Vec<_>>(),
            vec![2000, 3000, 4500, 6750, 7500, 7500, 7500]
        );
        assert_eq!(backoff_cap(Duration::from_secs(5)), FIRST_LOOK);
        assert_eq!(
            backoff_cap(Duration::from_secs(60)),
            Duration::from_secs(15)
        );
    }

    #[test]
    fn lines_say_what_and_until_when_once_per_change() {
        let n = WaitNotice {
            lineage: "mail".into(),
            until: Some(t(61)),
            next_look: t(61),
            reasons: vec!["_25._tcp.mail.example.test.: served everywhere".into()],
        };
        let line = n.line(t(1));
        assert!(
            line.contains("switching at") && line.contains("1m left"),
            "{line}"
        );
        let mut lines = NoticeLines::default();
        assert!(lines.line(&n, t(1)).is_some());
        assert!(lines.line(&n, t(5)).is_none());
        let unknown = WaitNotice {
            until: None,
            next_look: t(3),
            ..n.clone()
        };
        let line = lines.line(&unknown, t(1)).unwrap();
        assert!(
            line.contains("not known yet, looking again in 2s"),
            "{line}"
        );
    }
}
