//! Reads through the configured resolver: the validated TLSA RRset, addresses, the zone of
//! an owner (closest enclosing SOA), and the zone's name servers.
//!
//! Which resolver and how DNSSEC is decided (`[dns]`):
//! - `trust_anchor_file` set: validate in process (hickory) from those DNSKEY records, asking
//!   `validating_resolver` (or the system's first name server) with the CD bit;
//! - otherwise, `validating_resolver` set: trust that resolver's AD bit;
//! - neither: validate in process from the built-in root trust anchors, asking the system's
//!   first name server (/etc/resolv.conf) with the CD bit.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::future::join_all;
use hickory_proto::dnssec::TrustAnchors;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use super::interpret::{self, ResolverStep};
use super::rrset::{self, ValidatedRrset};
use super::validate::{self, InProcess};
use super::wire::{self, Flags};
use super::{DnsError, Validated, Validation};
use crate::config::DnsConfig;

/// The validated TLSA RRset at `owner` (Secure/Insecure/Bogus/Indeterminate, records, ttl,
/// detail).
pub async fn validated_tlsa(cfg: &DnsConfig, owner: &str) -> Validated {
    let name = match parse_name(owner) {
        Ok(n) => n,
        Err(e) => return indeterminate(e.to_string()),
    };
    match Resolver::from_config(cfg) {
        Ok(r) => r.validated_tlsa(&name).await,
        Err(e) => indeterminate(e.to_string()),
    }
}

/// Every A and AAAA address of `host` (through the configured resolver).
pub async fn addresses(cfg: &DnsConfig, host: &str) -> Result<Vec<IpAddr>, DnsError> {
    let name = parse_name(host)?;
    Resolver::from_config(cfg)?.addresses(&name).await
}

/// The zone holding `owner` (closest enclosing SOA), absolute, through the configured
/// resolver.
pub async fn find_zone(cfg: &DnsConfig, owner: &str) -> Result<String, DnsError> {
    let name = parse_name(owner)?;
    let zone = Resolver::from_config(cfg)?.find_zone(&name).await?;
    Ok(super::absolute(&zone.to_ascii()))
}

fn indeterminate(detail: String) -> Validated {
    Validated {
        state: Validation::Indeterminate,
        records: vec![],
        ttl: None,
        detail: Some(detail),
    }
}

/// A domain name from user or configuration text, made absolute.
pub fn parse_name(text: &str) -> Result<Name, DnsError> {
    let abs = super::absolute(text);
    if abs == "." || abs.contains("..") || abs.chars().any(char::is_whitespace) {
        return Err(DnsError::BadName(format!("{text:?} is not a domain name")));
    }
    Name::from_ascii(&abs)
        .map_err(|e| DnsError::BadName(format!("{text:?} is not a domain name: {e}")))
}

/// "address:port", "address" (port 53), "[v6]:port" or a bare IPv6 address.
pub fn parse_server(text: &str) -> Result<SocketAddr, DnsError> {
    let t = text.trim();
    if let Ok(sa) = t.parse::<SocketAddr>() {
        return Ok(sa);
    }
    if let Ok(ip) = t
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(DnsError::BadName(format!(
        "{text:?} is not a server address: write \"address:port\", e.g. \"192.0.2.1:53\" or \"[2001:db8::1]:53\""
    )))
}

/// The first `nameserver` of resolv.conf text (port 53).
pub fn first_nameserver(resolv_conf: &str) -> Option<SocketAddr> {
    resolv_conf.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        match (words.next(), words.next()) {
            (Some("nameserver"), Some(addr)) => {
                // Drop an IPv6 zone index (fe80::1%eth0): not usable for a SocketAddr here.
                let addr = addr.split('%').next().unwrap_or(addr);
                addr.parse::<IpAddr>()
                    .ok()
                    .map(|ip| SocketAddr::new(ip, 53))
            }
            _ => None,
        }
    })
}

fn system_nameserver() -> Result<SocketAddr, DnsError> {
    let text = std::fs::read_to_string("/etc/resolv.conf").map_err(|e| {
        DnsError::Config(format!(
            "no [dns] validating_resolver configured and /etc/resolv.conf cannot be read: {e}"
        ))
    })?;
    first_nameserver(&text).ok_or_else(|| {
        DnsError::Config(
            "no [dns] validating_resolver configured and /etc/resolv.conf names no nameserver"
                .to_string(),
        )
    })
}

#[derive(Clone)]
enum Mode {
    /// Trust the resolver's AD bit.
    AdBit,
    /// Validate in process.
    InProcess(InProcess),
}

/// The configured resolver, ready to ask. Cheap to clone.
#[derive(Clone)]
pub struct Resolver {
    server: SocketAddr,
    timeout: Duration,
    validation: Mode,
}

impl Resolver {
    /// The resolver `[dns]` describes; reads the trust anchor file when one is configured.
    pub fn from_config(cfg: &DnsConfig) -> Result<Resolver, DnsError> {
        let server = match &cfg.validating_resolver {
            Some(s) => parse_server(s)
                .map_err(|e| DnsError::Config(format!("[dns] validating_resolver: {e}")))?,
            None => system_nameserver()?,
        };
        let anchors = match (&cfg.trust_anchor_file, &cfg.validating_resolver) {
            (Some(path), _) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    DnsError::Config(format!("[dns] trust_anchor_file {}: {e}", path.display()))
                })?;
                Some(validate::parse_anchors(&text, &path.display().to_string())?)
            }
            (None, Some(_)) => None,
            (None, None) => Some(TrustAnchors::default()),
        };
        Ok(Resolver::new(server, anchors, cfg.timeout))
    }

    /// A resolver at `server`; with `anchors`, validation is done in process, otherwise the
    /// server's AD bit is trusted.
    pub fn new(server: SocketAddr, anchors: Option<TrustAnchors>, timeout: Duration) -> Resolver {
        Resolver {
            server,
            timeout,
            validation: match anchors {
                Some(a) => Mode::InProcess(InProcess::new(server, a, timeout)),
                None => Mode::AdBit,
            },
        }
    }

    pub fn server(&self) -> SocketAddr {
        self.server
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether validation happens in process (true) or through the resolver's AD bit.
    pub fn validates_in_process(&self) -> bool {
        matches!(self.validation, Mode::InProcess(_))
    }

    async fn ask(&self, name: &Name, rtype: RecordType, flags: Flags) -> Result<Message, DnsError> {
        wire::exchange(self.server, &wire::query(name, rtype, flags), self.timeout).await
    }

    /// The validated TLSA RRset at `owner`.
    pub async fn validated_tlsa(&self, owner: &Name) -> Validated {
        match &self.validation {
            Mode::InProcess(v) => v.validated_tlsa(owner).await,
            Mode::AdBit => {
                let first = self.ask(owner, RecordType::TLSA, Flags::VALIDATING).await;
                let step =
                    interpret::read_validating(owner, first.as_ref().map_err(|e| e.to_string()));
                match step {
                    ResolverStep::Done(v) => v,
                    ResolverStep::AskWithCheckingDisabled => {
                        let second = self
                            .ask(owner, RecordType::TLSA, Flags::CHECKING_DISABLED)
                            .await;
                        interpret::read_checking_disabled(
                            owner,
                            second.as_ref().map_err(|e| e.to_string()),
                        )
                    }
                }
            }
        }
    }

    /// The validated RRset `name`/`rtype` (MX, A, AAAA, ...), CNAMEs followed: in process
    /// from the trust anchors, or from the resolver's AD bit (SERVFAIL asked again with CD to
    /// tell Bogus from unreachable).
    pub async fn validated_rrset(&self, name: &Name, rtype: RecordType) -> ValidatedRrset {
        match &self.validation {
            Mode::InProcess(v) => {
                let outcome = v.lookup(name, rtype).await;
                rrset::read_in_process(name, rtype, outcome.as_ref().map_err(Clone::clone))
            }
            Mode::AdBit => {
                let first = self.ask(name, rtype, Flags::VALIDATING).await;
                match rrset::read_validating(name, rtype, first.as_ref().map_err(|e| e.to_string()))
                {
                    Some(v) => v,
                    None => {
                        let second = self.ask(name, rtype, Flags::CHECKING_DISABLED).await;
                        rrset::read_checking_disabled(
                            name,
                            rtype,
                            second.as_ref().map_err(|e| e.to_string()),
                        )
                    }
                }
            }
        }
    }

    /// A recursive question whose answer must not be an error code.
    async fn ask_ok(
        &self,
        name: &Name,
        rtype: RecordType,
        flags: Flags,
    ) -> Result<Message, DnsError> {
        let m = self.ask(name, rtype, flags).await?;
        match interpret::rcode_problem(&m) {
            None => Ok(m),
            Some(problem) => Err(DnsError::Rcode {
                server: self.server,
                what: format!("{rtype} {name}"),
                rcode: problem,
            }),
        }
    }

    /// Every A and AAAA address of `host`, CNAMEs followed.
    pub async fn addresses(&self, host: &Name) -> Result<Vec<IpAddr>, DnsError> {
        self.addresses_with(host, Flags::RECURSIVE).await
    }

    async fn addresses_with(&self, host: &Name, flags: Flags) -> Result<Vec<IpAddr>, DnsError> {
        let (out, errors, nxdomain) = self.address_families(host, flags).await?;
        addresses_or_unknown(host, out, errors, || self.no_address(host, nxdomain))
    }

    fn no_address(&self, host: &Name, nxdomain: bool) -> DnsError {
        DnsError::NoAddress {
            host: super::absolute(&host.to_ascii()),
            detail: if nxdomain {
                format!("NXDOMAIN from {}", self.server)
            } else {
                format!("no A or AAAA records, asked {}", self.server)
            },
        }
    }

    /// A and AAAA of `host`, asked apart: the addresses found, the error of each family
    /// that could not be read (named "A" or "AAAA"), and whether the name does not exist.
    async fn address_families(
        &self,
        host: &Name,
        flags: Flags,
    ) -> Result<(Vec<IpAddr>, Vec<(&'static str, DnsError)>, bool), DnsError> {
        let (a, aaaa) = futures_util::join!(
            self.ask_ok(host, RecordType::A, flags),
            self.ask_ok(host, RecordType::AAAA, flags)
        );
        let mut out = Vec::new();
        let mut nxdomain = false;
        let mut errors = Vec::new();
        for (family, answer) in [("A", a), ("AAAA", aaaa)] {
            match answer {
                Ok(m) => {
                    nxdomain |= m.metadata.response_code == ResponseCode::NXDomain;
                    let chain =
                        interpret::follow_cnames(host, &m.answers).map_err(DnsError::Other)?;
                    let at = chain.last().unwrap_or(host);
                    for r in &m.answers {
                        if !r.name.eq_ignore_root(at) {
                            continue;
                        }
                        let ip = match &r.data {
                            RData::A(a) => IpAddr::V4(a.0),
                            RData::AAAA(a) => IpAddr::V6(a.0),
                            _ => continue,
                        };
                        if !out.contains(&ip) {
                            out.push(ip);
                        }
                    }
                }
                Err(e) => errors.push((family, e)),
            }
        }
        Ok((out, errors, nxdomain))
    }

    /// The zone holding `owner`: the closest enclosing SOA.
    pub async fn find_zone(&self, owner: &Name) -> Result<Name, DnsError> {
        let mut at = owner.clone();
        loop {
            let m = self
                .ask_ok(&at, RecordType::SOA, Flags::DISCOVERY)
                .await
                .map_err(|e| DnsError::NoZone {
                    owner: super::absolute(&owner.to_ascii()),
                    detail: e.to_string(),
                })?;
            match interpret::zone_from_soa_answer(&at, &m) {
                Ok(Some(zone)) => return Ok(zone.to_lowercase()),
                Ok(None) => {}
                Err(e) => {
                    return Err(DnsError::NoZone {
                        owner: super::absolute(&owner.to_ascii()),
                        detail: e,
                    });
                }
            }
            if at.is_root() {
                return Err(DnsError::NoZone {
                    owner: super::absolute(&owner.to_ascii()),
                    detail: format!("{} gave no SOA record up to the root", self.server),
                });
            }
            at = at.base_name();
        }
    }

    /// The NS names of `zone`.
    pub async fn ns_names(&self, zone: &Name) -> Result<Vec<Name>, DnsError> {
        let m = self.ask_ok(zone, RecordType::NS, Flags::DISCOVERY).await?;
        let mut names: Vec<Name> = m
            .answers
            .iter()
            .filter(|r| r.name.eq_ignore_root(zone))
            .filter_map(|r| match &r.data {
                RData::NS(ns) => Some(ns.0.to_lowercase()),
                _ => None,
            })
            .collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Err(DnsError::Rcode {
                server: self.server,
                what: format!("NS {zone}"),
                rcode: "no NS records".to_string(),
            });
        }
        Ok(names)
    }

    /// The authoritative servers of `zone`: every address of every NS name (port 53), each
    /// with its NS name. An NS name whose A or AAAA lookup failed comes with an error entry
    /// for that lookup, besides the addresses the other lookup found: a server that could
    /// not be asked is never just left out of the list.
    pub async fn nameservers(
        &self,
        zone: &Name,
    ) -> Result<Vec<(Name, Result<Vec<SocketAddr>, DnsError>)>, DnsError> {
        // The zone's own NS set and the parent's delegation (a server listed only there
        // is asked by resolvers too: see `delegation`).
        let (apex, delegated) = futures_util::join!(
            self.ns_names(zone),
            super::delegation::delegation_ns(self, zone)
        );
        let (names, delegation_error) = match delegated {
            Ok(d) => (super::delegation::merge(apex?, d), None),
            Err(e) => (apex?, Some(e)),
        };
        let found = join_all(
            names
                .iter()
                .map(|n| self.address_families(n, Flags::DISCOVERY)),
        )
        .await;
        let mut out = Vec::new();
        for (n, f) in names.into_iter().zip(found) {
            let f = f.map(|(ips, errors, nx)| {
                let errors = errors
                    .into_iter()
                    .map(|(family, e)| {
                        DnsError::Other(format!(
                            "the {family} lookup of {} failed: {e}",
                            super::absolute(&n.to_ascii())
                        ))
                    })
                    .collect();
                (ips, errors, self.no_address(&n, nx))
            });
            out.extend(ns_entries(&n, f));
        }
        if let Some(e) = delegation_error {
            out.push((zone.clone(), Err(e)));
        }
        Ok(out)
    }

    /// Every address of the name server `ns` (A and AAAA through the resolver); an error
    /// when neither lookup gave one.
    pub async fn addresses_of_server(&self, ns: &Name) -> Result<Vec<IpAddr>, DnsError> {
        let (ips, errors, nx) = self.address_families(ns, Flags::DISCOVERY).await?;
        if !ips.is_empty() {
            return Ok(ips);
        }
        match errors.into_iter().next() {
            Some((_, e)) => Err(e),
            None => Err(self.no_address(ns, nx)),
        }
    }
}

/// The addresses of `host` from its two lookups: every address when both families
/// answered; when one failed, [`DnsError::FamilyFailed`] naming it (with the addresses the
/// other found), never the shorter list; when both failed, the first error; when neither
/// has an address, `none()`.
fn addresses_or_unknown(
    host: &Name,
    out: Vec<IpAddr>,
    errors: Vec<(&'static str, DnsError)>,
    none: impl FnOnce() -> DnsError,
) -> Result<Vec<IpAddr>, DnsError> {
    let both_failed = errors.len() > 1;
    match errors.into_iter().next() {
        None if out.is_empty() => Err(none()),
        None => Ok(out),
        Some((_, e)) if both_failed => Err(e),
        Some((family, e)) => Err(DnsError::FamilyFailed {
            host: super::absolute(&host.to_ascii()),
            family,
            detail: e.to_string(),
            found: out,
        }),
    }
}

/// The server list entries of one NS name from its A and AAAA lookups (addresses found,
/// one error per failed lookup, the error to give when there is neither): the addresses
/// (port 53), then one error entry per failed lookup.
type Families = (Vec<IpAddr>, Vec<DnsError>, DnsError);

fn ns_entries(
    name: &Name,
    found: Result<Families, DnsError>,
) -> Vec<(Name, Result<Vec<SocketAddr>, DnsError>)> {
    let (ips, errors, none) = match found {
        Ok(f) => f,
        Err(e) => return vec![(name.clone(), Err(e))],
    };
    let mut out = Vec::new();
    if !ips.is_empty() {
        let addrs = ips.into_iter().map(|ip| SocketAddr::new(ip, 53)).collect();
        out.push((name.clone(), Ok(addrs)));
    }
    out.extend(errors.into_iter().map(|e| (name.clone(), Err(e))));
    if out.is_empty() {
        out.push((name.clone(), Err(none)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_parse() {
        assert_eq!(
            parse_server("127.0.0.1:5301").unwrap(),
            "127.0.0.1:5301".parse().unwrap()
        );
        assert_eq!(
            parse_server("127.0.0.1").unwrap(),
            "127.0.0.1:53".parse().unwrap()
        );
        assert_eq!(parse_server("::1").unwrap(), "[::1]:53".parse().unwrap());
        assert_eq!(
            parse_server("[::1]:54").unwrap(),
            "[::1]:54".parse().unwrap()
        );
        let e = parse_server("ns1.example.com").unwrap_err().to_string();
        assert!(e.contains("address:port"), "{e}");
    }

    #[test]
    fn names_parse() {
        assert_eq!(
            parse_name("_25._tcp.Mail.example.test").unwrap().to_ascii(),
            "_25._tcp.mail.example.test."
        );
        assert!(parse_name("").is_err());
        assert!(parse_name("a..b").is_err());
        assert!(parse_name("a b.example").is_err());
    }

    #[test]
    fn a_failed_address_lookup_is_an_entry_not_a_shorter_list() {
        let ns = Name::from_ascii("ns1.example.test.").unwrap();
        let none = || DnsError::NoAddress {
            host: "ns1.example.test.".into(),
            detail: "no A or AAAA records".into(),
        };
        let v4: IpAddr = "127.0.10.1".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        // Both families answered: one entry with both addresses.
        let e = ns_entries(&ns, Ok((vec![v4, v6], vec![], none())));
        assert_eq!(e.len(), 1);
        assert_eq!(
            e[0].1.as_ref().unwrap(),
            &vec![SocketAddr::new(v4, 53), SocketAddr::new(v6, 53)]
        );
        // The AAAA lookup failed: the A address, and an error entry naming the lookup.
        let failed = DnsError::Other("the AAAA lookup of ns1.example.test. failed: timeout".into());
        let e = ns_entries(&ns, Ok((vec![v4], vec![failed], none())));
        assert_eq!(e.len(), 2);
        assert!(e[0].1.is_ok());
        let err = e[1].1.as_ref().unwrap_err().to_string();
        assert!(
            err.contains("AAAA") && err.contains("ns1.example.test."),
            "{err}"
        );
        // Neither: the "no address" error.
        let e = ns_entries(&ns, Ok((vec![], vec![], none())));
        assert_eq!(e.len(), 1);
        assert!(matches!(e[0].1, Err(DnsError::NoAddress { .. })));
    }

    #[test]
    fn a_failed_family_makes_the_host_s_addresses_unknown() {
        let host = Name::from_ascii("mail.example.test.").unwrap();
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        let none = || DnsError::NoAddress {
            host: "mail.example.test.".into(),
            detail: "none".into(),
        };
        let servfail = || DnsError::Rcode {
            server: "127.0.0.1:53".parse().unwrap(),
            what: "AAAA mail.example.test.".into(),
            rcode: "SERVFAIL".into(),
        };
        assert_eq!(
            addresses_or_unknown(&host, vec![v4, v6], vec![], none).unwrap(),
            vec![v4, v6]
        );
        // The AAAA lookup failed: not [v4] alone, but unknown, naming the family.
        let e =
            addresses_or_unknown(&host, vec![v4], vec![("AAAA", servfail())], none).unwrap_err();
        match &e {
            DnsError::FamilyFailed { family, found, .. } => {
                assert_eq!(*family, "AAAA");
                assert_eq!(found, &vec![v4]);
            }
            other => panic!("{other:?}"),
        }
        let text = e.to_string();
        assert!(
            text.contains("AAAA lookup failed") && text.contains("SERVFAIL"),
            "{text}"
        );
        // The AAAA lookup failed and A has no record: still unknown, not "no address".
        let e = addresses_or_unknown(&host, vec![], vec![("AAAA", servfail())], none).unwrap_err();
        assert!(
            matches!(e, DnsError::FamilyFailed { family: "AAAA", .. }),
            "{e:?}"
        );
        // Both failed: the first error as it is.
        let e = addresses_or_unknown(
            &host,
            vec![],
            vec![("A", servfail()), ("AAAA", servfail())],
            none,
        )
        .unwrap_err();
        assert!(matches!(e, DnsError::Rcode { .. }), "{e:?}");
        // Neither has an address.
        let e = addresses_or_unknown(&host, vec![], vec![], none).unwrap_err();
        assert!(matches!(e, DnsError::NoAddress { .. }), "{e:?}");
    }

    #[test]
    fn resolv_conf() {
        let text = "# comment\nsearch example.com\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n";
        assert_eq!(
            first_nameserver(text),
            Some("192.0.2.53:53".parse().unwrap())
        );
        assert_eq!(
            first_nameserver("nameserver fe80::1%eth0\n"),
            Some("[fe80::1]:53".parse().unwrap())
        );
        assert_eq!(first_nameserver("search x\n"), None);
    }

    #[test]
    fn config_modes() {
        let mut cfg = DnsConfig {
            validating_resolver: Some("127.0.0.1:53".into()),
            ..DnsConfig::default()
        };
        let r = Resolver::from_config(&cfg).unwrap();
        assert!(!r.validates_in_process());
        assert_eq!(r.server(), "127.0.0.1:53".parse().unwrap());
        cfg.trust_anchor_file = Some("/nonexistent/anchors.key".into());
        let e = Resolver::from_config(&cfg).err().unwrap().to_string();
        assert!(e.contains("/nonexistent/anchors.key"), "{e}");
        cfg.validating_resolver = Some("resolver.example".into());
        cfg.trust_anchor_file = None;
        let e = Resolver::from_config(&cfg).err().unwrap().to_string();
        assert!(e.contains("validating_resolver"), "{e}");
    }

    #[tokio::test]
    async fn unreachable_resolver_is_indeterminate_not_a_hang() {
        let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let cfg = DnsConfig {
            validating_resolver: Some(silent.local_addr().unwrap().to_string()),
            timeout: Duration::from_millis(200),
            ..DnsConfig::default()
        };
        let started = std::time::Instant::now();
        let v = validated_tlsa(&cfg, "_25._tcp.mail.example.test").await;
        assert_eq!(v.state, Validation::Indeterminate);
        assert!(v.detail.unwrap().contains("did not answer"));
        assert!(started.elapsed() < Duration::from_secs(1));
        let e = addresses(&cfg, "mail.example.test").await.unwrap_err();
        assert!(matches!(e, DnsError::Timeout { .. }), "{e}");
    }
}
