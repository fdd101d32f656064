//! The parent's delegation NS set of a zone.
//!
//! Resolvers find a zone's servers through the parent's referral, and may ask any name
//! listed there before they learn the zone's own (apex) NS set. A server listed only at
//! the parent (a stale delegation, a server being added or removed) is asked by resolvers
//! all the same, so it is observed too: [`delegation_ns`] asks the parent zone's servers
//! for the zone's NS set (without recursion: the referral), and
//! [`super::resolve::Resolver::nameservers`] adds every name found there to the apex set.
//!
//! What is known and what is not: when the parent zone cannot be found (the lab's `test.`
//! has no SOA; a private zone without a public parent), only the apex set is used. When the
//! parent is found but none of its servers answers the question, the result is an error,
//! which the caller turns into an error entry: a server that may exist and could not be
//! asked is never just left out.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RData, RecordType};

use super::DnsError;
use super::resolve::Resolver;
use super::wire::{self, Flags};

/// The NS names a parent's server gives for `zone` (absolute), from its answer to an NS
/// question asked without recursion: the referral's authority section, or the answer
/// section when the server also serves the zone itself. Empty when it has none.
pub fn delegation_names(zone: &Name, answer: &Message) -> Vec<Name> {
    let mut names: Vec<Name> = answer
        .answers
        .iter()
        .chain(answer.authorities.iter())
        .filter(|r| r.name.eq_ignore_root(zone))
        .filter_map(|r| match &r.data {
            RData::NS(ns) => Some(ns.0.to_lowercase()),
            _ => None,
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Every name of `apex` and of `delegation`, each once, sorted.
pub fn merge(apex: Vec<Name>, delegation: Vec<Name>) -> Vec<Name> {
    let mut all = apex;
    all.extend(delegation);
    all.sort();
    all.dedup();
    all
}

/// The NS names the parent of `zone` delegates it to. Ok(empty) when `zone` has no parent
/// in reach (see the module documentation); Err when the parent is known but none of its
/// servers answered.
pub async fn delegation_ns(resolver: &Resolver, zone: &Name) -> Result<Vec<Name>, DnsError> {
    if zone.num_labels() < 2 {
        return Ok(Vec::new());
    }
    let Ok(parent) = resolver.find_zone(&zone.base_name()).await else {
        return Ok(Vec::new());
    };
    let parent_ns = resolver.ns_names(&parent).await?;
    let mut errors: Vec<String> = Vec::new();
    for ns in &parent_ns {
        let ips = match resolver.addresses_of_server(ns).await {
            Ok(ips) => ips,
            Err(e) => {
                errors.push(e.to_string());
                continue;
            }
        };
        for ip in ips {
            match ask(SocketAddr::new(ip, 53), zone, resolver.timeout()).await {
                Ok(m) => return Ok(delegation_names(zone, &m)),
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    Err(DnsError::Other(format!(
        "the delegation of {zone} at its parent {parent} could not be read: {}",
        errors.join("; ")
    )))
}

async fn ask(server: SocketAddr, zone: &Name, timeout: Duration) -> Result<Message, DnsError> {
    let m = wire::exchange(
        server,
        &wire::query(zone, RecordType::NS, Flags::AUTHORITATIVE),
        timeout,
    )
    .await?;
    match super::interpret::rcode_problem(&m) {
        None => Ok(m),
        Some(problem) => Err(DnsError::Rcode {
            server,
            what: format!("NS {zone}"),
            rcode: problem,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Message, MessageType, OpCode};
    use hickory_proto::rr::Record;
    use hickory_proto::rr::rdata::NS;

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    #[test]
    fn a_referral_s_names_are_read_and_merged_with_the_apex_set() {
        let zone = n("shared.example.test.");
        let mut m = Message::new(1, MessageType::Response, OpCode::Query);
        for ns in ["ns1.example.test.", "ns3.example.test."] {
            m.authorities
                .push(Record::from_rdata(zone.clone(), 60, RData::NS(NS(n(ns)))));
        }
        // Another owner's NS records are not the zone's.
        m.authorities.push(Record::from_rdata(
            n("other.example.test."),
            60,
            RData::NS(NS(n("ns9.example.test."))),
        ));
        let got = delegation_names(&zone, &m);
        assert_eq!(got, vec![n("ns1.example.test."), n("ns3.example.test.")]);
        // ns3 is listed only at the parent: it is observed too.
        let all = merge(vec![n("ns1.example.test."), n("ns2.example.test.")], got);
        assert_eq!(
            all,
            vec![
                n("ns1.example.test."),
                n("ns2.example.test."),
                n("ns3.example.test.")
            ]
        );
    }
}
