//! CNAME targets in another zone served by the same servers.
//!
//! An authoritative server that also hosts the target's zone (a child delegated to the same
//! servers, or a sibling zone) answers a CNAME together with the target's records, or the
//! target's denial, with the AA bit (PowerDNS resolves across its zones, BIND does the same
//! for zones it serves). Such an answer looks like a chain that stays in the owner's zone,
//! but the records are the other zone's: they are published through that zone's provider
//! and served by that zone's servers, which may not be the owner's. So the target's zone is
//! found by asking (its closest enclosing SOA, [`super::resolve::Resolver::find_zone`]); when
//! it is not the owner's zone, the owner's answers keep only their CNAME (the chain leaves
//! the zone, [`super::Served::leaves_zone`]) and the target is observed at its own zone's
//! servers like any target in another zone. When the target's zone cannot be found, the
//! owner's answers become errors: where the records belong is unknown.

use std::collections::BTreeMap;

use futures_util::future::join_all;

use super::resolve::{Resolver, parse_name};
use super::{OwnerObservation, ServerOutcome, absolute};

/// The CNAME target of `obs` that its servers answered inside their zone (records or a
/// denial for it in the answer), when the servers agree on it.
fn target_answered_inside(obs: &OwnerObservation) -> Option<String> {
    obs.zone.as_ref()?;
    obs.servers.iter().find_map(|s| match &s.outcome {
        ServerOutcome::Answer(a) if a.cname.is_some() && !a.leaves_zone() => a.cname.clone(),
        _ => None,
    })
}

/// Apply what was found about the zone of `obs`'s CNAME target (`target_zone`): nothing
/// when it is the owner's zone; otherwise the answers keep only their CNAME (records, TTLs
/// and the denial's serial are the other zone's) and the chain is left for the caller to
/// follow; when it cannot be found, every answer with the CNAME becomes an error naming the
/// target. Returns whether the chain now leaves the zone.
pub fn cut_at_zone(obs: &mut OwnerObservation, target_zone: &Result<String, String>) -> bool {
    let Some(target) = target_answered_inside(obs) else {
        return false;
    };
    let own = obs
        .zone
        .as_deref()
        .map(|z| absolute(z).to_ascii_lowercase());
    let other = match target_zone {
        Ok(z) if Some(absolute(z).to_ascii_lowercase()) == own => return false,
        Ok(z) => Ok(absolute(z)),
        Err(e) => Err(e.clone()),
    };
    for s in &mut obs.servers {
        let ServerOutcome::Answer(a) = &mut s.outcome else {
            continue;
        };
        if a.cname.is_none() {
            continue;
        }
        match &other {
            Ok(_) => {
                a.records.clear();
                a.ttl = None;
                a.negative_ttl = None;
                a.serial = None;
            }
            Err(e) => {
                s.outcome = ServerOutcome::Error {
                    error: format!(
                        "the CNAME chain to {target} is answered as if in this zone, but the \
                         target's zone cannot be found: {e}"
                    ),
                };
            }
        }
    }
    obs.chain.clear();
    other.is_ok()
}

/// Find the zone of every CNAME target the owners' servers answered inside their zone, and
/// cut the observations whose target is in another zone ([`cut_at_zone`]). Each distinct
/// target is asked once.
pub async fn split_cross_zone(resolver: &Resolver, observations: &mut [OwnerObservation]) {
    let targets: Vec<String> = {
        let mut t: Vec<String> = observations
            .iter()
            .filter_map(target_answered_inside)
            .collect();
        t.sort();
        t.dedup();
        t
    };
    if targets.is_empty() {
        return;
    }
    let found = join_all(targets.iter().map(|t| async move {
        match parse_name(t) {
            Ok(name) => resolver
                .find_zone(&name)
                .await
                .map(|z| absolute(&z.to_ascii()))
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }))
    .await;
    let zones: BTreeMap<String, Result<String, String>> = targets.into_iter().zip(found).collect();
    for obs in observations.iter_mut() {
        if let Some(t) = target_answered_inside(obs)
            && let Some(z) = zones.get(&t)
        {
            cut_at_zone(obs, z);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{ChainLink, Served, ServerAnswer, Validated, Validation};
    use crate::tlsa::TlsaRecord;

    fn rec() -> TlsaRecord {
        format!("3 1 1 {}", hex::encode([7u8; 32])).parse().unwrap()
    }

    fn obs(records: Vec<TlsaRecord>, negative: Option<u32>) -> OwnerObservation {
        let answer = |i: u8| ServerAnswer {
            server: std::net::SocketAddr::from(([127, 0, 10, i], 53)),
            name: None,
            outcome: ServerOutcome::Answer(Served {
                records: records.clone(),
                ttl: (!records.is_empty()).then_some(60),
                serial: Some(9),
                authoritative: true,
                cname: Some("_dane.shared.example.test.".into()),
                negative_ttl: negative,
                signature: Default::default(),
            }),
        };
        OwnerObservation {
            owner: "_25._tcp.mail.example.test.".into(),
            zone: Some("example.test.".into()),
            servers: vec![answer(1), answer(2)],
            validated: Validated {
                state: Validation::Secure,
                records: vec![],
                ttl: None,
                detail: None,
            },
            chain: vec![ChainLink {
                target: "_dane.shared.example.test.".into(),
                zone: Some("example.test.".into()),
            }],
        }
    }

    #[test]
    fn a_target_in_the_owner_s_zone_stays() {
        let mut o = obs(vec![rec()], None);
        let before = o.clone();
        assert!(!cut_at_zone(&mut o, &Ok("example.test".into())));
        assert_eq!(o, before);
    }

    #[test]
    fn a_target_in_another_zone_on_the_same_servers_leaves_the_zone() {
        for o in [obs(vec![rec()], None), obs(vec![], Some(60))] {
            let mut o = o;
            assert!(cut_at_zone(&mut o, &Ok("shared.example.test.".into())));
            assert!(o.chain.is_empty());
            for s in &o.servers {
                let ServerOutcome::Answer(a) = &s.outcome else {
                    panic!("{s:?}")
                };
                assert!(a.leaves_zone(), "{a:?}");
                assert_eq!(a.serial, None);
            }
            // Followed like any target in another zone.
            assert_eq!(
                crate::dns::live::leaving_target(Some(&parse_name("example.test").unwrap()), &o),
                Some("_dane.shared.example.test.".into())
            );
        }
    }

    #[test]
    fn a_target_whose_zone_is_unknown_makes_the_answers_errors() {
        let mut o = obs(vec![rec()], None);
        assert!(!cut_at_zone(&mut o, &Err("SERVFAIL".into())));
        assert!(o.chain.is_empty());
        assert!(o.servers.iter().all(|s| matches!(
            &s.outcome,
            ServerOutcome::Error { error } if error.contains("_dane.shared.example.test.") && error.contains("SERVFAIL")
        )));
        // Nothing may be published: no agreed chain, the servers answered a CNAME.
        assert!(o.publish_at().is_err());
        assert!(!o.all_servers_serve(&[rec()]));
    }
}
