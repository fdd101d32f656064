//! DNS observation: which zone holds an owner, which servers are authoritative for it, what
//! each of them serves, and whether a validating read comes back Secure.
//!
//! The types here are what the pure core consumes; the querying lives in the submodules:
//! - [`wire`]: one exchange with one server (UDP, TCP on truncation, bounded by a timeout);
//! - [`interpret`]: pure functions from DNS messages to [`Served`] / [`Validated`];
//! - [`resolve`]: reads through the configured resolver (zone, NS, addresses, validated TLSA);
//! - [`rrset`]: validated reads of other RRsets (MX, A, AAAA) for `check --mx`;
//! - [`validate`]: in-process DNSSEC validation (hickory) from trust anchors;
//! - [`authenticated`]: each server's answer checked against its zone's authenticated
//!   DNSKEY RRset ([`Served::signature`]: Secure from the servers themselves);
//! - [`live`]: [`live::LiveObserver`], the [`Observe`] implementation used by the commands.

pub mod authenticated;
pub mod crosszone;
pub mod delegation;
pub mod interpret;
pub mod live;
pub mod resolve;
pub mod reuse;
pub mod rrset;
pub mod validate;
pub mod wire;

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::tlsa::TlsaRecord;

pub use authenticated::Signature;

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
    /// One address family's lookup failed while the other answered: the host's address
    /// list is unknown (never the shorter list of the family that answered). `found` holds
    /// the other family's addresses, which may still be probed.
    #[error("{host}: the {family} lookup failed ({detail}); its {family} addresses are unknown")]
    FamilyFailed {
        host: String,
        family: &'static str,
        detail: String,
        found: Vec<std::net::IpAddr>,
    },
    /// No enclosing zone (SOA) found for an owner.
    #[error("cannot find the zone of {owner}: {detail}")]
    NoZone { owner: String, detail: String },
    #[error("{0}")]
    Other(String),
}

/// The DNSSEC state of a validated read (RFC 4035 4.3). Only Secure counts as published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Validation {
    Secure,
    Insecure,
    Bogus,
    Indeterminate,
}

/// What one authoritative server answered for an owner's TLSA RRset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
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
    /// Whether the answer's RRsets carry valid signatures ([`authenticated::check`]);
    /// unknown in observations made before signatures were checked.
    #[serde(default)]
    pub signature: Signature,
}

/// One server's answer, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ServerAnswer {
    pub server: SocketAddr,
    /// The name server's host name, when discovered through NS records.
    pub name: Option<String>,
    #[serde(flatten)]
    pub outcome: ServerOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "result", rename_all = "lowercase")]
pub enum ServerOutcome {
    Answer(Served),
    /// Timeout, refused connection, SERVFAIL, REFUSED, answer without AA, ...
    Error {
        error: String,
    },
}

/// The validated read of an owner's TLSA RRset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Validated {
    pub state: Validation,
    pub records: Vec<TlsaRecord>,
    pub ttl: Option<u32>,
    /// Why, when not Secure.
    pub detail: Option<String>,
}

/// Everything observed about one owner at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct OwnerObservation {
    /// Absolute, lowercase, trailing dot.
    pub owner: String,
    pub zone: Option<String>,
    pub servers: Vec<ServerAnswer>,
    pub validated: Validated,
    /// When the owner is an alias (RFC 7671 7): the CNAME chain every server agreed on,
    /// one link per target, the last one where the TLSA RRset is (and where records are
    /// published and retired). Empty when the owner is not an alias, or when its servers
    /// disagree on the chain (they are then error entries in `servers`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<ChainLink>,
}

/// One target of a CNAME chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChainLink {
    /// The target name (absolute, lowercase).
    pub target: String,
    /// The zone holding it, when known.
    pub zone: Option<String>,
}

/// Where records for an owner go: the final target of its CNAME chain, or the owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishAt {
    pub name: String,
    /// The zone holding `name`, when the observation knows it.
    pub zone: Option<String>,
    /// Whether `name` is a CNAME target (not the owner itself).
    pub via_cname: bool,
}

/// Make the servers of one zone that disagree on the CNAME chain error entries, each named
/// with what it answered: a chain some servers do not serve is not published everywhere,
/// and nobody can tell where records belong. Returns whether they agreed.
pub fn mark_chain_disagreement(servers: &mut [ServerAnswer]) -> bool {
    let targets: Vec<Option<String>> = servers
        .iter()
        .filter_map(|s| match &s.outcome {
            ServerOutcome::Answer(a) => Some(a.cname.clone()),
            ServerOutcome::Error { .. } => None,
        })
        .collect();
    if targets.windows(2).all(|w| w[0] == w[1]) {
        return true;
    }
    let said: Vec<String> = servers
        .iter()
        .filter_map(|s| match &s.outcome {
            ServerOutcome::Answer(a) => Some(format!(
                "{}: {}",
                s.label(),
                a.cname
                    .as_deref()
                    .map_or("no CNAME".to_string(), |c| format!("CNAME -> {c}"))
            )),
            ServerOutcome::Error { .. } => None,
        })
        .collect();
    let said = said.join("; ");
    for s in servers.iter_mut() {
        if matches!(s.outcome, ServerOutcome::Answer(_)) {
            s.outcome = ServerOutcome::Error {
                error: format!("the servers disagree on the CNAME chain ({said})"),
            };
        }
    }
    false
}

impl Served {
    /// Whether this answer is a CNAME whose chain leaves the server's zone: the server
    /// cannot serve the target's records, which the observer then asks the target's servers
    /// for (their answers follow in [`OwnerObservation::servers`]).
    pub fn leaves_zone(&self) -> bool {
        self.cname.is_some() && self.records.is_empty() && self.negative_ttl.is_none()
    }
}

impl ServerAnswer {
    /// The name of the server for messages: its host name and address when known.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} ({})", self.server),
            None => self.server.to_string(),
        }
    }
}

impl OwnerObservation {
    /// The one answer to "which servers lack the wanted records" (every caller asks
    /// through here: the switch verdict, the dangers, drift, `status`, `dns add`).
    ///
    /// `holds` says whether an RRset is what is wanted. Returns the labels of the servers
    /// that do not hold it: errors (timeouts, refusals, NS names without an address), answers
    /// without AA, and answers whose RRset fails `holds`. An answer that is a CNAME leaving
    /// the zone counts through the answers of the target's servers (RFC 7671 7), which then
    /// follow in `servers`. When no server holds an RRset at all (no server, or only
    /// aliases whose target's servers are missing), one entry says so: never an empty list
    /// for an owner nobody was able to ask.
    pub fn lacking(&self, holds: impl Fn(&[TlsaRecord]) -> bool) -> Vec<String> {
        let mut holding = 0;
        let mut out: Vec<String> = self
            .servers
            .iter()
            .filter(|s| match &s.outcome {
                ServerOutcome::Answer(a) if a.leaves_zone() => false,
                ServerOutcome::Answer(a) => {
                    holding += 1;
                    !a.authoritative || !holds(&a.records)
                }
                ServerOutcome::Error { .. } => true,
            })
            .map(ServerAnswer::label)
            .collect();
        if holding == 0 && out.is_empty() {
            out.push(if self.servers.is_empty() {
                "(no authoritative server found)".to_string()
            } else {
                "(no server of the CNAME target answered)".to_string()
            });
        }
        out
    }

    /// [`OwnerObservation::lacking`] for "contains every record of `want`".
    pub fn lacking_all(&self, want: &[TlsaRecord]) -> Vec<String> {
        self.lacking(|records| want.iter().all(|w| records.contains(w)))
    }

    /// Whether some server answering with authority serves every record of `want`.
    pub fn served_anywhere(&self, want: &[TlsaRecord]) -> bool {
        self.served()
            .any(|a| a.authoritative && want.iter().all(|w| a.records.contains(w)))
    }

    /// Whether no server holds `want` ([`OwnerObservation::lacking`] names every server).
    pub fn held_nowhere(&self, want: &[TlsaRecord]) -> bool {
        self.lacking_all(want).len() >= self.lacking(|_| false).len()
    }

    /// Whether every authoritative server answered, with AA, an RRset containing every
    /// record of `want` (see [`OwnerObservation::lacking`]). False when there is no server
    /// at all.
    pub fn all_servers_serve(&self, want: &[TlsaRecord]) -> bool {
        self.lacking_all(want).is_empty()
    }

    /// Where records for this owner are published and retired: the final target of the
    /// chain when the owner is an alias (never beside a CNAME, RFC 7671 7), else the owner.
    /// Err when a server answers with a CNAME but no chain is agreed (the servers disagree:
    /// nothing may be published until they agree).
    pub fn publish_at(&self) -> Result<PublishAt, String> {
        if let Some(last) = self.chain.last() {
            return Ok(PublishAt {
                name: last.target.clone(),
                zone: last.zone.clone(),
                via_cname: true,
            });
        }
        let alias = self.servers.iter().any(|s| {
            matches!(&s.outcome, ServerOutcome::Answer(a) if a.cname.is_some())
                || matches!(&s.outcome, ServerOutcome::Error { error } if error.contains("CNAME chain"))
        });
        if alias {
            return Err(format!(
                "{}: the authoritative servers do not agree on its CNAME chain: {}",
                self.owner,
                self.lacking(|_| false).join(", ")
            ));
        }
        Ok(PublishAt {
            name: self.owner.clone(),
            zone: self.zone.clone(),
            via_cname: false,
        })
    }

    /// The servers holding every record of `want` whose answer is not signed with a
    /// signature valid at `now` (see [`Signature::valid_at`]), each labelled with why: what
    /// holds the clock at them, whatever the validating resolver has cached. Servers that
    /// do not hold `want` are [`OwnerObservation::lacking_all`]'s.
    pub fn unsigned(&self, want: &[TlsaRecord], now: jiff::Timestamp) -> Vec<String> {
        self.servers
            .iter()
            .filter_map(|s| match &s.outcome {
                ServerOutcome::Answer(a)
                    if !a.leaves_zone() && want.iter().all(|w| a.records.contains(w)) =>
                {
                    a.signature
                        .valid_at(now)
                        .err()
                        .map(|why| format!("{} ({why})", s.label()))
                }
                _ => None,
            })
            .collect()
    }

    /// Whether every authoritative server serves every record of `want` with a signature
    /// valid at `now`: Secure from the servers themselves.
    pub fn signed_everywhere(&self, want: &[TlsaRecord], now: jiff::Timestamp) -> bool {
        self.all_servers_serve(want) && self.unsigned(want, now).is_empty()
    }

    /// The servers whose answer holds records under a signature a resolver would find
    /// Bogus (invalid or expired at `now`), each labelled with why.
    pub fn badly_signed(&self, now: jiff::Timestamp) -> Vec<String> {
        self.servers
            .iter()
            .filter_map(|s| match &s.outcome {
                ServerOutcome::Answer(a)
                    if !a.records.is_empty() && a.signature.is_invalid(now) =>
                {
                    let why = a.signature.valid_at(now).err().unwrap_or_default();
                    Some(format!("{} ({why})", s.label()))
                }
                _ => None,
            })
            .collect()
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

    /// Whether all servers answered and agree on the same record set (and the servers
    /// answering with a CNAME leaving the zone on its target).
    pub fn servers_agree(&self) -> bool {
        let mut records: Option<Vec<TlsaRecord>> = None;
        let mut target: Option<&str> = None;
        let mut holding = 0;
        for s in &self.servers {
            let ServerOutcome::Answer(a) = &s.outcome else {
                return false;
            };
            if a.leaves_zone() {
                match target {
                    None => target = a.cname.as_deref(),
                    Some(t) if Some(t) == a.cname.as_deref() => {}
                    Some(_) => return false,
                }
                continue;
            }
            holding += 1;
            let mut r = a.records.clone();
            r.sort();
            match &records {
                None => records = Some(r),
                Some(first) if *first == r => {}
                Some(_) => return false,
            }
        }
        holding > 0
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
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct OwnerQuery {
    /// Absolute owner name.
    pub owner: String,
    /// The zone, when configured (discovered from SOA otherwise).
    pub zone: Option<String>,
    /// Authoritative servers to ask instead of the zone's NS records.
    pub nameservers: Vec<SocketAddr>,
}

impl OwnerQuery {
    /// The query for `owner` of a lineage: its `zone` and `nameservers` when configured.
    pub fn for_lineage(
        owner: &str,
        lineage: &crate::config::LineageConfig,
    ) -> Result<OwnerQuery, DnsError> {
        Ok(OwnerQuery {
            owner: absolute(owner),
            zone: lineage.zone.as_deref().map(absolute),
            nameservers: live::parse_servers(&lineage.nameservers)?,
        })
    }
}

/// Observation of DNS, behind a trait so the shell can be tested with a simulated world.
#[async_trait::async_trait]
pub trait Observe: Send + Sync {
    /// The zone holding `owner` (the closest enclosing SOA), absolute.
    async fn find_zone(&self, owner: &str) -> Result<String, DnsError>;
    /// Observe every owner concurrently: each authoritative server's answer and a validated
    /// read. Failures are recorded per server, never returned as an error.
    async fn observe(&self, owners: &[OwnerQuery]) -> Vec<OwnerObservation>;
    /// Each zone's SOA serial at every one of its servers now, and whether its SOA
    /// validates Secure: what tells a pass whether an earlier observation of an owner in
    /// the zone still holds ([`reuse`]). Failures are recorded per zone (`serials` None),
    /// never returned as an error. The default knows nothing, so nothing is reused.
    async fn zone_serials(&self, zones: &[reuse::ZoneQuery]) -> Vec<reuse::ZoneSerials> {
        zones
            .iter()
            .map(|z| reuse::ZoneSerials {
                zone: z.clone(),
                serials: None,
                secure: false,
            })
            .collect()
    }
    /// The validated read of each owner through the validating resolver alone (no
    /// authoritative server asked): what a kept observation is checked against before it
    /// is reused ([`reuse::still_validates`]), so that an RRset turned Bogus or changed is
    /// seen within one pass. The default knows nothing (Indeterminate): nothing is reused.
    async fn validated_reads(&self, owners: &[String]) -> Vec<Validated> {
        owners
            .iter()
            .map(|_| Validated {
                state: Validation::Indeterminate,
                records: vec![],
                ttl: None,
                detail: Some("not read".into()),
            })
            .collect()
    }
    /// For each (server, host): every A and AAAA address `server` serves at `host` with
    /// authority, no CNAME involved; None when it cannot tell (an error, no AA bit, a
    /// CNAME). What settles a host's addresses for reuse ([`reuse`]). The default knows
    /// nothing.
    async fn authoritative_addresses(
        &self,
        asks: &[(SocketAddr, String)],
    ) -> Vec<Option<Vec<std::net::IpAddr>>> {
        vec![None; asks.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(byte: u8) -> TlsaRecord {
        format!("3 1 1 {}", hex::encode([byte; 32]))
            .parse()
            .unwrap()
    }

    fn served(records: Vec<TlsaRecord>, cname: Option<&str>, negative_ttl: Option<u32>) -> Served {
        Served {
            ttl: (!records.is_empty()).then_some(300),
            records,
            serial: Some(1),
            authoritative: true,
            cname: cname.map(String::from),
            negative_ttl,
            signature: Signature::Valid {
                expires: jiff::Timestamp::MAX,
            },
        }
    }

    fn server(i: u8, outcome: ServerOutcome) -> ServerAnswer {
        ServerAnswer {
            server: SocketAddr::from(([127, 0, 10, i], 53)),
            name: None,
            outcome,
        }
    }

    fn obs(servers: Vec<ServerAnswer>) -> OwnerObservation {
        OwnerObservation {
            owner: "_25._tcp.mail.example.test.".into(),
            chain: Vec::new(),
            zone: Some("example.test.".into()),
            servers,
            validated: Validated {
                state: Validation::Secure,
                records: vec![rec(1)],
                ttl: Some(5),
                detail: None,
            },
        }
    }

    #[test]
    fn all_servers_must_serve_and_agree() {
        let both = obs(vec![
            server(
                1,
                ServerOutcome::Answer(served(vec![rec(1), rec(2)], None, None)),
            ),
            server(
                2,
                ServerOutcome::Answer(served(vec![rec(2), rec(1)], None, None)),
            ),
        ]);
        assert!(both.all_servers_serve(&[rec(1)]));
        assert!(both.all_servers_serve(&[rec(1), rec(2)]));
        assert!(!both.all_servers_serve(&[rec(3)]));
        assert!(both.servers_agree());
        assert_eq!(both.max_ttl(), Some(300));
        assert!(both.secure_with(&[rec(1)]));
        assert!(!both.secure_with(&[rec(2)]));

        let lagging = obs(vec![
            server(
                1,
                ServerOutcome::Answer(served(vec![rec(1), rec(2)], None, None)),
            ),
            server(2, ServerOutcome::Answer(served(vec![rec(1)], None, None))),
        ]);
        assert!(!lagging.all_servers_serve(&[rec(2)]));
        assert!(lagging.all_servers_serve(&[rec(1)]));
        assert!(!lagging.servers_agree());

        let down = obs(vec![
            server(1, ServerOutcome::Answer(served(vec![rec(1)], None, None))),
            server(
                2,
                ServerOutcome::Error {
                    error: "timeout".into(),
                },
            ),
        ]);
        assert!(!down.all_servers_serve(&[rec(1)]));
        assert!(!down.servers_agree());
        assert!(!obs(vec![]).all_servers_serve(&[]));
        assert!(!obs(vec![]).servers_agree());
    }

    #[test]
    fn negative_ttl_is_the_largest() {
        let o = obs(vec![
            server(1, ServerOutcome::Answer(served(vec![], None, Some(60)))),
            server(2, ServerOutcome::Answer(served(vec![], None, Some(300)))),
        ]);
        assert_eq!(o.max_negative_ttl(), Some(300));
        assert!(o.servers_agree());
        assert!(!o.all_servers_serve(&[rec(1)]));
    }

    #[test]
    fn a_cname_leaving_the_zone_counts_through_the_target_servers() {
        let alias = || ServerOutcome::Answer(served(vec![], Some("dane.example.net."), None));
        let o = obs(vec![
            server(1, alias()),
            server(2, alias()),
            server(3, ServerOutcome::Answer(served(vec![rec(1)], None, None))),
        ]);
        assert!(o.all_servers_serve(&[rec(1)]));
        assert!(o.servers_agree());
        // Without the target's servers, nothing holds the records.
        let o = obs(vec![server(1, alias())]);
        assert!(!o.all_servers_serve(&[]));
        assert!(!o.servers_agree());
        // Owners' servers disagreeing on the target.
        let o = obs(vec![
            server(1, alias()),
            server(
                2,
                ServerOutcome::Answer(served(vec![], Some("other.example.net."), None)),
            ),
            server(3, ServerOutcome::Answer(served(vec![rec(1)], None, None))),
        ]);
        assert!(!o.servers_agree());
        // An in-zone alias with no records at the target (negative TTL) does not leave.
        assert!(!served(vec![], Some("x.example.test."), Some(60)).leaves_zone());
    }

    #[test]
    fn json_shape() {
        let o = obs(vec![
            server(1, ServerOutcome::Answer(served(vec![rec(1)], None, None))),
            server(
                2,
                ServerOutcome::Error {
                    error: "127.0.10.2:53: timeout".into(),
                },
            ),
        ]);
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(v["servers"][0]["result"], "answer");
        assert_eq!(v["servers"][0]["records"][0], rec(1).to_string());
        assert_eq!(v["servers"][1]["result"], "error");
        assert_eq!(v["servers"][1]["server"], "127.0.10.2:53");
        assert_eq!(v["validated"]["state"], "secure");
    }
}
