//! When to try a provider request again: a pure decision from the failure and the attempt
//! number, so the policy is tested as a table. The async loop that sleeps lives with the
//! back ends.

use std::time::Duration;

/// What went wrong with one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The server answered with this HTTP status (4xx or 5xx) and maybe a Retry-After.
    Http {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No answer within the timeout.
    Timeout,
    /// The connection was refused (nothing listening, or a restart in progress).
    ConnectionRefused,
    /// Another failure to connect (unreachable network, name resolution).
    Connect,
    /// The connection was closed or reset before a whole answer came (a proxy or server
    /// restart): retried, every request of the back ends can be sent again safely (a
    /// PATCH/REPLACE, an UPDATE, or a POST whose duplicate the API names as such).
    Dropped,
    /// A DNS answer with this failure (RFC 2136 updates).
    Dns(DnsFailure),
    /// Anything else (a malformed answer, a local error): not retried.
    Other,
}

/// The DNS-level failures an UPDATE can meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsFailure {
    /// SERVFAIL: the server could not do it now.
    ServFail,
    /// REFUSED: policy (the key may not update this zone).
    Refused,
    /// NOTAUTH without a TSIG error: not authoritative for the zone.
    NotAuth,
    /// TSIG BADKEY: the server does not know the key (name or algorithm).
    BadKey,
    /// TSIG BADSIG: the secret does not match.
    BadSig,
    /// TSIG BADTIME: the clocks disagree.
    BadTime,
    /// Any other response code (FORMERR, NOTZONE, NOTIMP, ...).
    Other,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Stop: retrying cannot help, or the attempts are used up.
    GiveUp,
}

/// Retries bounded by a time budget per change, with exponential backoff, honouring
/// Retry-After.
///
/// The rule: a failure that retrying cannot help (a 4xx other than 408/425/429, a TSIG or
/// policy refusal, a malformed answer) gives up at once. Otherwise the wait is the backoff
/// (`backoff` doubled after each failure, at most `max_backoff`) or the server's
/// Retry-After when that is longer; the next attempt is made only when it would start
/// within `budget` of the first one, and at most `attempts` attempts are made in all. So a
/// change gives up after at most `budget` plus one request timeout, and a rate limit that
/// asks for less than the budget is ridden out instead of failing the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included, at most (20): a cap so that a server failing
    /// at once is not hammered for the whole budget.
    pub attempts: u32,
    /// No attempt starts later than this after the first one (60 s, `[dns] retry_budget`).
    pub budget: Duration,
    /// The wait after the first failure; doubled after each further one (0.5 s, 1 s, ...).
    pub backoff: Duration,
    /// The longest wait the backoff grows to (8 s); a Retry-After may ask for longer.
    pub max_backoff: Duration,
}

/// The default time budget of one change's retries (the configuration's default).
pub use crate::config::DEFAULT_RETRY_BUDGET as DEFAULT_BUDGET;

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 20,
            budget: DEFAULT_BUDGET,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The default policy with another time budget.
    pub fn with_budget(budget: Duration) -> Self {
        RetryPolicy {
            budget,
            ..RetryPolicy::default()
        }
    }

    /// Whether retrying can help with this failure at all (independent of the count).
    pub fn retryable(failure: &Failure) -> bool {
        match failure {
            Failure::Http { status, .. } => matches!(status, 408 | 425 | 429 | 500..=599),
            Failure::Timeout | Failure::ConnectionRefused | Failure::Connect | Failure::Dropped => {
                true
            }
            Failure::Dns(DnsFailure::ServFail) => true,
            Failure::Dns(_) | Failure::Other => false,
        }
    }

    /// The decision after attempt number `attempt` (1 for the first) failed with `failure`,
    /// `elapsed` after the first attempt started.
    pub fn decide(&self, attempt: u32, elapsed: Duration, failure: &Failure) -> Decision {
        if attempt >= self.attempts || !Self::retryable(failure) {
            return Decision::GiveUp;
        }
        let doubling = 2u32.saturating_pow(attempt.saturating_sub(1).min(31));
        let backoff = self.backoff.saturating_mul(doubling).min(self.max_backoff);
        let wait = match failure {
            Failure::Http {
                retry_after: Some(asked),
                ..
            } => (*asked).max(backoff),
            _ => backoff,
        };
        if elapsed.saturating_add(wait) > self.budget {
            return Decision::GiveUp;
        }
        Decision::RetryAfter(wait)
    }
}

/// How a give-up after retries is told in an error: `" (after 3 attempts in 2.5 s, retry
/// budget 60 s)"`, or nothing after a single attempt.
pub fn after_attempts(attempts: u32, elapsed: Duration, budget: Duration) -> String {
    if attempts <= 1 {
        return String::new();
    }
    format!(
        " (after {attempts} attempts in {:.1} s, retry budget {} s)",
        elapsed.as_secs_f64(),
        budget.as_secs()
    )
}

/// Parse a Retry-After header value: delay-seconds, or an HTTP-date (taken relative to
/// `now`; a date in the past means "now").
pub fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let delta = at.as_second() - now.as_second();
    Some(Duration::from_secs(delta.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }
    fn http(status: u16) -> Failure {
        Failure::Http {
            status,
            retry_after: None,
        }
    }
    fn http_after(status: u16, secs: u64) -> Failure {
        Failure::Http {
            status,
            retry_after: Some(Duration::from_secs(secs)),
        }
    }

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn decision_table() {
        use Decision::*;
        let p = RetryPolicy::default();
        let table: &[(u32, Duration, Failure, Decision)] = &[
            // server trouble: backoff 0.5 s, 1 s, 2 s, ... capped at 8 s
            (1, s(0), http(500), RetryAfter(ms(500))),
            (2, s(1), http(502), RetryAfter(ms(1000))),
            (3, s(2), http(503), RetryAfter(ms(2000))),
            (5, s(8), http(504), RetryAfter(ms(8000))),
            (9, s(40), http(500), RetryAfter(ms(8000))),
            // ... until the next attempt would start after the 60 s budget
            (9, s(52), http(500), RetryAfter(ms(8000))),
            (9, s(53), http(500), GiveUp),
            (3, s(60), http(503), GiveUp),
            // ... or the attempts are used up
            (20, s(0), http(500), GiveUp),
            // rate limits: honour Retry-After (longer than the backoff), within the budget
            (1, s(0), http_after(429, 2), RetryAfter(ms(2000))),
            (2, s(0), http_after(429, 0), RetryAfter(ms(1000))),
            (1, s(0), http_after(429, 30), RetryAfter(ms(30_000))),
            (1, s(0), http_after(429, 60), RetryAfter(ms(60_000))),
            (1, s(0), http_after(429, 61), GiveUp),
            (4, s(45), http_after(429, 15), RetryAfter(ms(15_000))),
            (4, s(45), http_after(429, 16), GiveUp),
            (1, s(0), http_after(503, 3), RetryAfter(ms(3000))),
            (1, s(0), http(429), RetryAfter(ms(500))),
            // today's "three attempts of 429 in 2 s" rides on
            (3, ms(1600), http_after(429, 1), RetryAfter(ms(2000))),
            (1, s(0), http(408), RetryAfter(ms(500))),
            // client errors: retrying cannot help, however much budget is left
            (1, s(0), http(400), GiveUp),
            (1, s(0), http(401), GiveUp),
            (1, s(0), http(403), GiveUp),
            (1, s(0), http(404), GiveUp),
            (1, s(0), http(409), GiveUp),
            (1, s(0), http(422), GiveUp),
            (1, s(0), http_after(401, 1), GiveUp),
            // transport: a hang costs its timeout per attempt, counted in `elapsed`
            (1, s(5), Failure::Timeout, RetryAfter(ms(500))),
            (2, s(11), Failure::Timeout, RetryAfter(ms(1000))),
            (6, s(59), Failure::Timeout, GiveUp),
            (1, s(0), Failure::ConnectionRefused, RetryAfter(ms(500))),
            (1, s(0), Failure::Connect, RetryAfter(ms(500))),
            (1, s(0), Failure::Dropped, RetryAfter(ms(500))),
            (7, s(59), Failure::Dropped, GiveUp),
            (1, s(0), Failure::Other, GiveUp),
            // DNS
            (
                1,
                s(0),
                Failure::Dns(DnsFailure::ServFail),
                RetryAfter(ms(500)),
            ),
            (1, s(0), Failure::Dns(DnsFailure::Refused), GiveUp),
            (1, s(0), Failure::Dns(DnsFailure::NotAuth), GiveUp),
            (1, s(0), Failure::Dns(DnsFailure::BadKey), GiveUp),
            (1, s(0), Failure::Dns(DnsFailure::BadSig), GiveUp),
            (1, s(0), Failure::Dns(DnsFailure::BadTime), GiveUp),
            (1, s(0), Failure::Dns(DnsFailure::Other), GiveUp),
        ];
        for (attempt, elapsed, failure, want) in table {
            assert_eq!(
                p.decide(*attempt, *elapsed, failure),
                *want,
                "attempt {attempt} at {elapsed:?}, {failure:?}"
            );
        }
    }

    #[test]
    fn a_small_budget_gives_up_sooner() {
        let p = RetryPolicy::with_budget(ms(1500));
        assert_eq!(
            p.decide(1, ms(0), &http_after(429, 1)),
            Decision::RetryAfter(ms(1000))
        );
        assert_eq!(p.decide(2, ms(1000), &http_after(429, 1)), Decision::GiveUp);
        assert_eq!(p.decide(1, ms(0), &http_after(429, 2)), Decision::GiveUp);
    }

    /// Simulated: every attempt fails the same way, each taking `cost`; the total time
    /// until giving up stays within budget + one attempt, whatever the failure.
    #[test]
    fn the_budget_bounds_the_whole_change() {
        for (failure, cost) in [
            (http(503), ms(10)),
            (http_after(429, 7), ms(10)),
            (Failure::Timeout, s(5)),
            (Failure::ConnectionRefused, ms(1)),
        ] {
            let p = RetryPolicy::default();
            let mut elapsed = Duration::ZERO;
            let mut attempt = 0;
            loop {
                attempt += 1;
                elapsed += cost;
                match p.decide(attempt, elapsed, &failure) {
                    Decision::RetryAfter(w) => elapsed += w,
                    Decision::GiveUp => break,
                }
            }
            assert!(
                elapsed <= p.budget + cost,
                "{failure:?}: gave up after {elapsed:?}"
            );
            assert!(
                elapsed >= p.budget - s(16),
                "{failure:?}: gave up early, after {elapsed:?} and {attempt} attempts"
            );
        }
    }

    #[test]
    fn no_retry_policy_gives_up_at_once() {
        let p = RetryPolicy::none();
        assert_eq!(p.decide(1, s(0), &Failure::Timeout), Decision::GiveUp);
        assert_eq!(p.decide(1, s(0), &http(503)), Decision::GiveUp);
    }

    #[test]
    fn retry_after_forms() {
        let now: jiff::Timestamp = "2024-05-01T12:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 01 May 2024 12:00:20 GMT", now),
            Some(Duration::from_secs(20))
        );
        assert_eq!(
            parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }
}
