//! DNS observation: which zone holds an owner, which servers are authoritative for it, what
//! each of them serves, and whether a validating read comes back Secure.
//!
//! The types here are what the pure core consumes; the querying lives in the submodules:
//! - [`wire`]: one exchange with one server (UDP, TCP on truncation, bounded by a timeout);
//! - [`interpret`]: pure functions from DNS messages to [`Served`] / [`Validated`];
//! - [`resolve`]: reads through the configured resolver (zone, NS, addresses, validated TLSA);
//! - [`validate`]: in-process DNSSEC validation (hickory) from trust anchors;
//! - [`live`]: [`live::LiveObserver`], the [`Observe`] implementation used by the commands.

pub mod interpret;
pub mod live;
pub mod resolve;
pub mod validate;
pub mod wire;

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::tlsa::TlsaRecord;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// No answer within the configured `[dns] timeout`.
    #[error("{server}: no answer to {what} within {}", humantime::format_duration(*after))]
    Timeout {
        server: SocketAddr,
        what: String,
        after: Duration,
    },
    /// The socket failed (connection refused, network unreachable, ...).
    #[error("{server}: {what}: {message}")]
    Io {
        server: SocketAddr,
        what: String,
        message: String,
    },
    /// An answer that does not parse or cannot be used.
    #[error("{server}: {what}: {message}")]
    Malformed {
        server: SocketAddr,
        what: String,
        message: String,
    },
    /// An error response code (SERVFAIL, REFUSED, NXDOMAIN where a name must exist, ...).
    #[error("{server}: {what}: {rcode}")]
    Rcode {
        server: SocketAddr,
        what: String,
        rcode: String,
    },
    /// A name that is not a valid domain name, or a server that is not "address:port".
    #[error("{0}")]
    BadName(String),
    /// A configuration value that cannot be used (resolver address, trust anchor file).
    #[error("{0}")]
    Config(String),
    /// A host without any A or AAAA address.
    #[error("{host} has no A or AAAA address ({detail})")]
    NoAddress { host: String, detail: String },
    /// No enclosing zone (SOA) found for an owner.
    #[error("cannot find the zone of {owner}: {detail}")]
    NoZone { owner: String, detail: String },
    #[error("{0}")]
    Other(String),
}

/// The DNSSEC state of a validated read (RFC 4035 4.3). Only Secure counts as published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Validation {
    Secure,
    Insecure,
    Bogus,
    Indeterminate,
}

/// What one authoritative server answered for an owner's TLSA RRset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Served {
    /// The TLSA records (empty for NODATA / NXDOMAIN).
    pub records: Vec<TlsaRecord>,
    /// The RRset's TTL, when there are records.
    pub ttl: Option<u32>,
    /// The zone's SOA serial, when the server gave it.
    pub serial: Option<u32>,
    /// The AA bit.
    pub authoritative: bool,
    /// The CNAME target, when the owner is an alias (RFC 7671 7).
    pub cname: Option<String>,
    /// The negative TTL (SOA minimum) when there are no records: resolvers may cache the
    /// absence this long.
    pub negative_ttl: Option<u32>,
}

/// One server's answer, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerAnswer {
    pub server: SocketAddr,
    /// The name server's host name, when discovered through NS records.
    pub name: Option<String>,
    #[serde(flatten)]
    pub outcome: ServerOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "lowercase")]
pub enum ServerOutcome {
    Answer(Served),
    /// Timeout, refused connection, SERVFAIL, REFUSED, answer without AA, ...
    Error {
        error: String,
    },
}

/// The validated read of an owner's TLSA RRset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Validated {
    pub state: Validation,
    pub records: Vec<TlsaRecord>,
    pub ttl: Option<u32>,
    /// Why, when not Secure.
    pub detail: Option<String>,
}

/// Everything observed about one owner at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerObservation {
    /// Absolute, lowercase, trailing dot.
    pub owner: String,
    pub zone: Option<String>,
    pub servers: Vec<ServerAnswer>,
    pub validated: Validated,
}

impl OwnerObservation {
    /// Whether every authoritative server answered, with AA, an RRset containing every
    /// record of `want`. False when there is no server at all.
    pub fn all_servers_serve(&self, want: &[TlsaRecord]) -> bool {
        !self.servers.is_empty()
            && self.servers.iter().all(|s| match &s.outcome {
                ServerOutcome::Answer(a) => {
                    a.authoritative && want.iter().all(|w| a.records.contains(w))
                }
                ServerOutcome::Error { .. } => false,
            })
    }

    /// Whether the validated read is Secure and contains every record of `want`.
    pub fn secure_with(&self, want: &[TlsaRecord]) -> bool {
        self.validated.state == Validation::Secure
            && want.iter().all(|w| self.validated.records.contains(w))
    }

    /// The largest TTL any server gave for the RRset.
    pub fn max_ttl(&self) -> Option<u32> {
        self.served()
            .filter_map(|a| a.ttl)
            .chain(self.validated.ttl)
            .max()
    }

    /// The largest negative TTL any server gave (the owner had no records there).
    pub fn max_negative_ttl(&self) -> Option<u32> {
        self.served().filter_map(|a| a.negative_ttl).max()
    }

    /// Whether all servers answered and agree on the same record set.
    pub fn servers_agree(&self) -> bool {
        let mut sets = self.servers.iter().map(|s| match &s.outcome {
            ServerOutcome::Answer(a) => {
                let mut r = a.records.clone();
                r.sort();
                Some(r)
            }
            ServerOutcome::Error { .. } => None,
        });
        match sets.next() {
            Some(Some(first)) => sets.all(|s| s.as_ref() == Some(&first)),
            _ => false,
        }
    }

    fn served(&self) -> impl Iterator<Item = &Served> {
        self.servers.iter().filter_map(|s| match &s.outcome {
            ServerOutcome::Answer(a) => Some(a),
            ServerOutcome::Error { .. } => None,
        })
    }
}

/// Normalise an owner or zone name: lowercase, absolute (trailing dot).
pub fn absolute(name: &str) -> String {
    let mut n = name.trim().to_ascii_lowercase();
    if !n.ends_with('.') {
        n.push('.');
    }
    n
}

/// One owner to observe, with its zone and servers where the configuration names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerQuery {
    /// Absolute owner name.
    pub owner: String,
    /// The zone, when configured (discovered from SOA otherwise).
    pub zone: Option<String>,
    /// Authoritative servers to ask instead of the zone's NS records.
    pub nameservers: Vec<SocketAddr>,
}

/// Observation of DNS, behind a trait so the shell can be tested with a simulated world.
#[async_trait::async_trait]
pub trait Observe: Send + Sync {
    /// The zone holding `owner` (the closest enclosing SOA), absolute.
    async fn find_zone(&self, owner: &str) -> Result<String, DnsError>;
    /// Observe every owner concurrently: each authoritative server's answer and a validated
    /// read. Failures are recorded per server, never returned as an error.
    async fn observe(&self, owners: &[OwnerQuery]) -> Vec<OwnerObservation>;
}
