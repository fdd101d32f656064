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

/// Bounded retries with exponential backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (3).
    pub attempts: u32,
    /// The wait after the first failure; doubled after each further one (0.5 s, 1 s, ...).
    pub backoff: Duration,
    /// The longest Retry-After honoured (30 s); a server asking for more is given up on.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(30),
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

    /// Whether retrying can help with this failure at all (independent of the count).
    pub fn retryable(failure: &Failure) -> bool {
        match failure {
            Failure::Http { status, .. } => matches!(status, 408 | 425 | 429 | 500..=599),
            Failure::Timeout | Failure::ConnectionRefused | Failure::Connect => true,
            Failure::Dns(DnsFailure::ServFail) => true,
            Failure::Dns(_) | Failure::Other => false,
        }
    }

    /// The decision after attempt number `attempt` (1 for the first) failed with `failure`.
    pub fn decide(&self, attempt: u32, failure: &Failure) -> Decision {
        if attempt >= self.attempts || !Self::retryable(failure) {
            return Decision::GiveUp;
        }
        let backoff = self
            .backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        match failure {
            Failure::Http {
                retry_after: Some(wait),
                ..
            } => {
                if *wait > self.max_retry_after {
                    Decision::GiveUp
                } else {
                    Decision::RetryAfter((*wait).max(backoff))
                }
            }
            _ => Decision::RetryAfter(backoff),
        }
    }
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

    #[test]
    fn decision_table() {
        use Decision::*;
        let p = RetryPolicy::default();
        let table: &[(u32, Failure, Decision)] = &[
            // server trouble: backoff 0.5 s then 1 s, then give up (3 attempts in all)
            (1, http(500), RetryAfter(ms(500))),
            (2, http(502), RetryAfter(ms(1000))),
            (3, http(503), GiveUp),
            (1, http(504), RetryAfter(ms(500))),
            // rate limits: honour Retry-After up to the cap
            (1, http_after(429, 2), RetryAfter(ms(2000))),
            (2, http_after(429, 0), RetryAfter(ms(1000))),
            (1, http_after(429, 30), RetryAfter(ms(30_000))),
            (1, http_after(429, 31), GiveUp),
            (1, http_after(503, 3), RetryAfter(ms(3000))),
            (1, http(429), RetryAfter(ms(500))),
            (3, http_after(429, 1), GiveUp),
            (1, http(408), RetryAfter(ms(500))),
            // client errors: retrying cannot help
            (1, http(400), GiveUp),
            (1, http(401), GiveUp),
            (1, http(403), GiveUp),
            (1, http(404), GiveUp),
            (1, http(409), GiveUp),
            (1, http(422), GiveUp),
            // transport
            (1, Failure::Timeout, RetryAfter(ms(500))),
            (2, Failure::Timeout, RetryAfter(ms(1000))),
            (3, Failure::Timeout, GiveUp),
            (1, Failure::ConnectionRefused, RetryAfter(ms(500))),
            (1, Failure::Connect, RetryAfter(ms(500))),
            (1, Failure::Other, GiveUp),
            // DNS
            (1, Failure::Dns(DnsFailure::ServFail), RetryAfter(ms(500))),
            (1, Failure::Dns(DnsFailure::Refused), GiveUp),
            (1, Failure::Dns(DnsFailure::NotAuth), GiveUp),
            (1, Failure::Dns(DnsFailure::BadKey), GiveUp),
            (1, Failure::Dns(DnsFailure::BadSig), GiveUp),
            (1, Failure::Dns(DnsFailure::BadTime), GiveUp),
            (1, Failure::Dns(DnsFailure::Other), GiveUp),
        ];
        for (attempt, failure, want) in table {
            assert_eq!(
                p.decide(*attempt, failure),
                *want,
                "attempt {attempt}, {failure:?}"
            );
        }
    }

    #[test]
    fn no_retry_policy_gives_up_at_once() {
        let p = RetryPolicy::none();
        assert_eq!(p.decide(1, &Failure::Timeout), Decision::GiveUp);
        assert_eq!(p.decide(1, &http(503)), Decision::GiveUp);
    }

    #[test]
    fn more_attempts_keep_doubling() {
        let p = RetryPolicy {
            attempts: 5,
            ..RetryPolicy::default()
        };
        let waits: Vec<Decision> = (1..=5).map(|a| p.decide(a, &Failure::Timeout)).collect();
        assert_eq!(
            waits,
            vec![
                Decision::RetryAfter(ms(500)),
                Decision::RetryAfter(ms(1000)),
                Decision::RetryAfter(ms(2000)),
                Decision::RetryAfter(ms(4000)),
                Decision::GiveUp
            ]
        );
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
