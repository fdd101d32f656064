//! Read-back after a whole-RRset write (PowerDNS REPLACE, deSEC PATCH): such a write is
//! read-merge-replace, so a record another writer adds between our read and our write is
//! lost by our write. After every write the RRset is read again and [`check`]ed: every
//! record the change adds is there, every record it removes is gone, and every other
//! record seen at our read is still there. When the check fails, the writer merges again
//! from a fresh read and writes again, for as many rounds as [`again`] allows; then it
//! fails naming the owner. The writer whose record was lost sees it missing at its own
//! read-back and writes it again. A writer that read before our write may land its stale
//! merge after our first read-back, so the RRset is read a second time after
//! [`settle`]; a write delayed longer than that (a stalled request) can still replace our
//! change unseen: docs/providers.md says which providers change records one by one.

use std::time::Duration;

use super::retry::RetryPolicy;
use super::{Change, content_is};

/// What a read-back found wrong; empty when the write holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Check {
    /// Records the change adds that are not there.
    pub missing: Vec<String>,
    /// Records the change removes that are still there.
    pub lingering: Vec<String>,
    /// Records neither added nor removed, seen at our read, that are gone.
    pub lost: Vec<String>,
}

impl Check {
    pub fn holds(&self) -> bool {
        self.missing.is_empty() && self.lingering.is_empty() && self.lost.is_empty()
    }

    /// One sentence for an error message.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            parts.push(format!("lacks {}", self.missing.join(", ")));
        }
        if !self.lingering.is_empty() {
            parts.push(format!("still has {}", self.lingering.join(", ")));
        }
        if !self.lost.is_empty() {
            parts.push(format!("lost {}", self.lost.join(", ")));
        }
        format!("the RRset read back {}", parts.join("; "))
    }
}

/// Whether `contents` (RDATA texts) hold `text` (compared as TLSA where it parses).
fn holds(contents: &[String], text: &str) -> bool {
    match text.parse::<crate::tlsa::TlsaRecord>() {
        Ok(r) => contents.iter().any(|c| content_is(c, &r)),
        Err(_) => contents.iter().any(|c| c.trim() == text.trim()),
    }
}

/// Check the RRset read back (`after`) against the one read before the write (`before`)
/// and the change.
pub fn check(before: &[String], change: &Change, after: &[String]) -> Check {
    let named = |c: &str| {
        change
            .add
            .iter()
            .chain(&change.remove)
            .any(|r| content_is(c, r))
    };
    Check {
        missing: change
            .add
            .iter()
            .map(|r| r.to_string())
            .filter(|r| !holds(after, r))
            .collect(),
        lingering: change
            .remove
            .iter()
            .map(|r| r.to_string())
            .filter(|r| holds(after, r))
            .collect(),
        lost: before
            .iter()
            .filter(|c| !named(c) && !holds(after, c))
            .cloned()
            .collect(),
    }
}

/// Whether to merge and write once more after round `round` (1 for the first) failed its
/// check, `elapsed` after the first round started, and how long to wait first: the retry
/// policy's backoff, bounded by its attempts and budget, with a jitter taken from `seed`
/// so that two writers do not stay in step.
pub fn again(policy: &RetryPolicy, round: u32, elapsed: Duration, seed: u64) -> Option<Duration> {
    if round >= policy.attempts {
        return None;
    }
    let doubling = 2u32.saturating_pow(round.saturating_sub(1).min(31));
    let base = policy
        .backoff
        .saturating_mul(doubling)
        .min(policy.max_backoff);
    let jitter = base.mul_f64((seed % 1000) as f64 / 1000.0);
    let wait = base / 2 + jitter / 2;
    (elapsed.saturating_add(wait) <= policy.budget).then_some(wait)
}

/// After round `round`'s write failed with `failure` (sent once, not retried as it was):
/// how long to wait before a new round reads and merges again, by the retry policy's
/// rules (Retry-After honoured, budget and attempts bounded); `None` to give up.
pub fn write_again(
    policy: &RetryPolicy,
    round: u32,
    elapsed: Duration,
    failure: &super::retry::Failure,
) -> Option<Duration> {
    match policy.decide(round, elapsed, failure) {
        super::retry::Decision::RetryAfter(wait) => Some(wait),
        super::retry::Decision::GiveUp => None,
    }
}

/// How long to wait before the second read-back. A writer that read the RRset before our
/// write and writes after it replaces our change with its stale merge, and our first
/// read-back may come before that: so the RRset is read again once such a write has had
/// time to land. `span` is how long our own read-to-write took (another writer's is
/// about as long): four times that, between 100 ms and 2 s (or the policy's longest
/// backoff, if shorter: a writer told to be quick), plus up to half again.
pub fn settle(span: Duration, seed: u64, policy: &RetryPolicy) -> Duration {
    let floor = Duration::from_millis(100);
    let cap = policy.max_backoff.clamp(floor, Duration::from_secs(2));
    let base = span.saturating_mul(4).clamp(floor, cap);
    base + base.mul_f64((seed % 1000) as f64 / 2000.0)
}

/// The changes of one batch at one owner as one change (in order: a later change's
/// removal undoes an earlier addition and the other way round), at the last TTL.
pub fn fold(changes: &[&Change]) -> Option<Change> {
    let first = changes.first()?;
    let mut out = Change {
        zone: first.zone.clone(),
        owner: first.owner.clone(),
        ttl: first.ttl,
        add: Vec::new(),
        remove: Vec::new(),
    };
    for c in changes {
        out.ttl = c.ttl;
        for r in &c.remove {
            out.add.retain(|a| a != r);
            if !out.remove.contains(r) {
                out.remove.push(r.clone());
            }
        }
        for r in &c.add {
            out.remove.retain(|a| a != r);
            if !out.add.contains(r) {
                out.add.push(r.clone());
            }
        }
    }
    Some(out)
}

/// Read the RRset back after a write made from `before` at `read_at`, check it, and after
/// [`settle`] read and check it again. `None` when the write holds, else what is wrong.
pub async fn read_back<E, Fut>(
    before: &[String],
    change: &Change,
    read_at: std::time::Instant,
    policy: &RetryPolicy,
    read: impl Fn() -> Fut,
) -> Result<Option<Check>, E>
where
    Fut: std::future::Future<Output = Result<Vec<String>, E>>,
{
    let first = check(before, change, &read().await?);
    if !first.holds() {
        return Ok(Some(first));
    }
    tokio::time::sleep(settle(read_at.elapsed(), seed(), policy)).await;
    let second = check(before, change, &read().await?);
    Ok((!second.holds()).then_some(second))
}

/// After round `round`'s check failed: wait and return `Ok` for another round, or give
/// the cause to report for the owner.
pub async fn next_round(
    policy: &RetryPolicy,
    round: u32,
    started: std::time::Instant,
    failed: &Check,
) -> Result<(), String> {
    match again(policy, round, started.elapsed(), seed()) {
        Some(wait) => {
            tokio::time::sleep(wait).await;
            Ok(())
        }
        None => Err(format!(
            "{} after {round} write(s): another writer keeps changing this RRset at the same time; run again, or let one host write it (docs/providers.md)",
            failed.describe()
        )),
    }
}

/// A jitter seed: the clock's nanoseconds and the process id.
pub fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    nanos ^ (std::process::id() as u64).wrapping_mul(0x9e37_79b9)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlsa::TlsaRecord;

    fn rec(n: u8) -> TlsaRecord {
        format!("3 1 1 {}", format!("{n:02x}").repeat(32))
            .parse()
            .unwrap()
    }

    fn texts(rs: &[TlsaRecord]) -> Vec<String> {
        rs.iter().map(|r| r.to_string()).collect()
    }

    fn change(add: Vec<TlsaRecord>, remove: Vec<TlsaRecord>) -> Change {
        Change {
            zone: "example.com.".into(),
            owner: "_25._tcp.mail.example.com.".into(),
            ttl: 300,
            add,
            remove,
        }
    }

    #[test]
    fn a_write_that_holds() {
        let c = change(vec![rec(2)], vec![rec(1)]);
        let before = texts(&[rec(1), rec(9)]);
        let after = texts(&[rec(9), rec(2), rec(7)]);
        assert!(check(&before, &c, &after).holds());
    }

    #[test]
    fn each_way_a_write_can_fail() {
        let c = change(vec![rec(2)], vec![rec(1)]);
        let before = texts(&[rec(1), rec(9)]);
        // Another writer replaced the RRset after ours: our addition is gone.
        let r = check(&before, &c, &texts(&[rec(9)]));
        assert_eq!(r.missing, texts(&[rec(2)]));
        assert!(r.lingering.is_empty() && r.lost.is_empty());
        // A writer that read before our removal wrote it back.
        let r = check(&before, &c, &texts(&[rec(1), rec(2), rec(9)]));
        assert_eq!(r.lingering, texts(&[rec(1)]));
        // A record we saw and kept is gone.
        let r = check(&before, &c, &texts(&[rec(2)]));
        assert_eq!(r.lost, texts(&[rec(9)]));
        assert!(r.describe().contains("lost 3 1 1 0909"), "{}", r.describe());
        // Hex case does not matter.
        let upper = rec(2).to_string().to_uppercase();
        assert!(check(&[], &change(vec![rec(2)], vec![]), &[upper]).holds());
    }

    #[test]
    fn a_batch_folds_in_order() {
        let a = change(vec![rec(1)], vec![]);
        let b = change(vec![rec(2)], vec![rec(1)]);
        let f = fold(&[&a, &b]).unwrap();
        assert_eq!((f.add, f.remove), (vec![rec(2)], vec![rec(1)]));
        let f = fold(&[&b, &a]).unwrap();
        assert_eq!((f.add, f.remove), (vec![rec(2), rec(1)], vec![]));
        assert!(fold(&[]).is_none());
    }

    #[test]
    fn settling_grows_with_the_span_within_bounds() {
        let p = RetryPolicy::default();
        assert_eq!(settle(Duration::ZERO, 0, &p), Duration::from_millis(100));
        assert_eq!(
            settle(Duration::from_millis(50), 0, &p),
            Duration::from_millis(200)
        );
        assert_eq!(
            settle(Duration::from_secs(10), 0, &p),
            Duration::from_secs(2)
        );
        assert_eq!(
            settle(Duration::from_secs(10), 999, &p),
            Duration::from_millis(2999)
        );
        // A quick policy (the longest backoff 50 ms) settles for the floor only.
        let quick = RetryPolicy {
            max_backoff: Duration::from_millis(50),
            ..RetryPolicy::default()
        };
        assert_eq!(
            settle(Duration::from_secs(10), 0, &quick),
            Duration::from_millis(100)
        );
    }

    #[test]
    fn rounds_are_bounded_by_attempts_and_budget() {
        let p = RetryPolicy {
            attempts: 3,
            budget: Duration::from_secs(2),
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        };
        let w = again(&p, 1, Duration::ZERO, 0).unwrap();
        assert!(w >= Duration::from_millis(50) && w <= Duration::from_millis(100));
        let w = again(&p, 2, Duration::ZERO, 999).unwrap();
        assert!(w >= Duration::from_millis(100) && w <= Duration::from_millis(200));
        assert_eq!(again(&p, 3, Duration::ZERO, 0), None);
        assert_eq!(again(&p, 1, Duration::from_secs(2), 0), None);
    }
}
