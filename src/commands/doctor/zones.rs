//! `doctor`: is each configured zone signed and does it validate Secure? DANE needs a
//! Secure TLSA RRset, and a provider can store TLSA records in a zone nobody signs.
//!
//! Per zone (each lineage's owners' zones and every `[zones."NAME"]` with a provider): the
//! DNSKEY RRset at the zone through the validating resolver, and the DS RRset at the
//! parent. Secure DNSKEY: signed and chained (from the parent's DS or a trust anchor).
//! DNSKEY present but Insecure: signed, but the parent has no DS. No DNSKEY: not signed,
//! and a provider known to store records without signing is named with what to do. A
//! lookup that fails is unknown, reported as a failure (never as signed).

use std::collections::BTreeMap;

use hickory_proto::rr::RecordType;

use super::{Item, Level};
use crate::config::{Config, ProviderConfig};
use crate::dns::Validation;
use crate::dns::resolve::Resolver;
use crate::dns::rrset::ValidatedRrset;

/// What the resolver said about a zone's keys.
#[derive(Debug, Clone)]
pub struct ZoneKeys {
    /// The DNSKEY RRset at the zone.
    pub dnskey: ValidatedRrset,
    /// The DS RRset for the zone (served by the parent).
    pub ds: ValidatedRrset,
}

/// Ask the resolver for the zone's DNSKEY and DS RRsets.
pub async fn observe(resolver: &Resolver, zone: &str) -> Result<ZoneKeys, String> {
    let name = crate::dns::resolve::parse_name(zone).map_err(|e| e.to_string())?;
    let dnskey = resolver.validated_rrset(&name, RecordType::DNSKEY).await;
    let ds = resolver.validated_rrset(&name, RecordType::DS).await;
    Ok(ZoneKeys { dnskey, ds })
}

/// The report line for `zone`, written through `provider` (its configuration, when
/// known), from what the resolver said.
pub fn signing_item(
    zone: &str,
    provider: &str,
    config: Option<&ProviderConfig>,
    keys: &ZoneKeys,
) -> Item {
    let label = format!("zone {zone}: DNSSEC");
    let why = |v: &ValidatedRrset| v.detail.clone().unwrap_or_default();
    let ds_note = match (keys.ds.state, keys.ds.records.len()) {
        (Validation::Secure, n) if n > 0 => format!(", {n} DS record(s) in the parent"),
        _ => String::new(),
    };
    let unsigned_fix = || match cannot_sign(config) {
        Some(why) => format!(
            "provider {provider} {why}: host the zone's DNS where it is signed (docs/providers.md lists providers that sign), or sign it on a primary of your own and let the provider serve it as secondary only if it keeps the signatures"
        ),
        None => format!(
            "turn DNSSEC signing on for {zone} at provider {provider} (or on its primary server), then publish the DS record it shows at the registrar"
        ),
    };
    let item = |level, detail: String, fix: Option<String>| Item {
        item: label.clone(),
        level,
        detail,
        fix,
    };
    let keys_there = !keys.dnskey.records.is_empty();
    match keys.dnskey.state {
        Validation::Secure | Validation::Insecure if !keys_there => item(
            Level::Fail,
            format!("not signed: no DNSKEY at {zone}; TLSA records there cannot be Secure"),
            Some(unsigned_fix()),
        ),
        Validation::Secure => item(
            Level::Ok,
            format!(
                "signed: {} DNSKEY record(s), validated Secure{ds_note}",
                keys.dnskey.records.len()
            ),
            None,
        ),
        Validation::Insecure => item(
            Level::Fail,
            format!(
                "signed ({} DNSKEY record(s)) but Insecure: the parent has no DS for {zone}, so the chain of trust stops above it{}",
                keys.dnskey.records.len(),
                match keys.ds.state {
                    Validation::Indeterminate =>
                        format!(" (the DS lookup failed: {})", why(&keys.ds)),
                    _ => String::new(),
                }
            ),
            Some(format!(
                "publish the zone's DS record (from provider {provider}'s DNSSEC settings) at the registrar of {zone}"
            )),
        ),
        Validation::Bogus => item(
            Level::Fail,
            format!(
                "Bogus: the DNSKEY RRset does not validate: {}",
                why(&keys.dnskey)
            ),
            Some(format!(
                "the DS at the parent does not match the zone's keys, or the signatures expired: fix the DS at the registrar or the signing at provider {provider}"
            )),
        ),
        Validation::Indeterminate => item(
            Level::Fail,
            format!("unknown: the DNSKEY lookup failed: {}", why(&keys.dnskey)),
            Some("check [dns] validating_resolver and that the zone's servers answer".to_string()),
        ),
    }
}

/// Why a provider cannot sign zones, when it is known not to.
pub fn cannot_sign(config: Option<&ProviderConfig>) -> Option<&'static str> {
    match config? {
        ProviderConfig::Dnsupdate { service, .. } => crate::provider::services::CANNOT_SIGN
            .iter()
            .find(|(s, _)| s == service)
            .map(|(_, why)| *why),
        _ => None,
    }
}

/// The zones to look at and the provider writing each: every lineage's owners' zones
/// (the lineage's `zone`, or the one found through the resolver) and every
/// `[zones."NAME"]` naming a provider.
pub async fn zones_of(
    config: &Config,
    names: &[String],
    find_zone: impl AsyncFn(&str) -> Result<String, String>,
) -> (BTreeMap<String, String>, Vec<Item>) {
    let mut zones = BTreeMap::new();
    let mut problems = Vec::new();
    for name in names {
        let Some(lc) = config.lineages.get(name) else {
            continue;
        };
        for owner in &lc.tlsa {
            let zone = match &lc.zone {
                Some(z) => Ok(crate::dns::absolute(z)),
                None => find_zone(&crate::dns::absolute(owner)).await,
            };
            match zone {
                Ok(z) => {
                    zones.entry(z).or_insert_with(|| lc.provider.clone());
                }
                Err(e) => problems.push(Item {
                    item: format!("{name}: zone of {owner}"),
                    level: Level::Fail,
                    detail: format!("unknown: {e}"),
                    fix: Some("set zone in the lineage's section".to_string()),
                }),
            }
        }
    }
    for (zone, zc) in &config.zones {
        if let Some(p) = &zc.provider {
            zones
                .entry(crate::dns::absolute(zone))
                .or_insert_with(|| p.clone());
        }
    }
    (zones, problems)
}

/// Every zone's line.
pub async fn zone_items(
    config: &Config,
    names: &[String],
    observer: &crate::dns::live::LiveObserver,
) -> Vec<Item> {
    use crate::dns::Observe;
    let (zones, mut items) = zones_of(config, names, async |owner: &str| {
        observer.find_zone(owner).await.map_err(|e| e.to_string())
    })
    .await;
    for (zone, provider) in zones {
        let pc = config.providers.get(&provider);
        items.push(match observe(observer.resolver(), &zone).await {
            Ok(keys) => signing_item(&zone, &provider, pc, &keys),
            Err(e) => Item {
                item: format!("zone {zone}: DNSSEC"),
                level: Level::Fail,
                detail: format!("unknown: {e}"),
                fix: None,
            },
        });
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::RData;
    use hickory_proto::rr::rdata::A;

    fn v(state: Validation, n: usize) -> ValidatedRrset {
        ValidatedRrset {
            state,
            cnames: Vec::new(),
            records: (0..n).map(|_| RData::A(A::new(192, 0, 2, 1))).collect(),
            nxdomain: false,
            detail: Some("because".into()),
        }
    }

    fn hetzner() -> ProviderConfig {
        ProviderConfig::Dnsupdate {
            service: "hetzner".into(),
            settings: BTreeMap::new(),
        }
    }

    #[test]
    fn each_state_has_its_line() {
        let keys = |dk, ds| ZoneKeys { dnskey: dk, ds };
        let i = signing_item(
            "example.com.",
            "p",
            None,
            &keys(v(Validation::Secure, 2), v(Validation::Secure, 1)),
        );
        assert_eq!(i.level, Level::Ok);
        assert!(
            i.detail.contains("2 DNSKEY") && i.detail.contains("1 DS"),
            "{}",
            i.detail
        );

        let i = signing_item(
            "example.com.",
            "p",
            None,
            &keys(v(Validation::Insecure, 2), v(Validation::Insecure, 0)),
        );
        assert_eq!(i.level, Level::Fail);
        assert!(i.detail.contains("no DS"), "{}", i.detail);
        assert!(i.fix.unwrap().contains("registrar"));

        let i = signing_item(
            "example.com.",
            "h",
            Some(&hetzner()),
            &keys(v(Validation::Insecure, 0), v(Validation::Insecure, 0)),
        );
        assert_eq!(i.level, Level::Fail);
        assert!(i.detail.contains("not signed"), "{}", i.detail);
        let fix = i.fix.unwrap();
        assert!(
            fix.contains("provider h") && fix.contains("does not sign"),
            "{fix}"
        );

        let i = signing_item(
            "example.com.",
            "p",
            None,
            &keys(v(Validation::Insecure, 0), v(Validation::Insecure, 0)),
        );
        assert!(i.fix.unwrap().contains("turn DNSSEC signing on"));

        for state in [Validation::Bogus, Validation::Indeterminate] {
            let i = signing_item("example.com.", "p", None, &keys(v(state, 0), v(state, 0)));
            assert_eq!(i.level, Level::Fail, "{state:?}");
        }
    }
}
