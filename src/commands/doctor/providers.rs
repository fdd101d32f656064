//! `doctor`: each provider: its secret usable, and a read-only call answered at the first
//! owner of a lineage using it (an RFC 2136 provider's primary: its SOA).

use super::{Item, Level, item};
use crate::config::Config;
use crate::dns::Observe;
use crate::dns::live::LiveObserver;

pub(super) async fn provider_items(
    config: &Config,
    names: &[String],
    provider: &str,
    observer: Option<&LiveObserver>,
) -> Vec<Item> {
    let label = format!("provider {provider}");
    let Some(pc) = config.providers.get(provider) else {
        return vec![
            item(&label, Level::Fail, "not defined in the configuration")
                .fix(format!("add [providers.{provider}]")),
        ];
    };
    let built = match crate::provider::build(provider, pc, config.dns.timeout) {
        Ok(p) => p,
        Err(e) => {
            return vec![item(format!("{label}: secret"), Level::Fail, e.to_string())
                .fix("make the secret file readable by root only (chmod 600) and not empty, or set its variable")];
        }
    };
    let mut items = vec![item(format!("{label}: secret"), Level::Ok, "usable")];
    let owner = names
        .iter()
        .map(|n| &config.lineages[n])
        .find(|l| l.provider == provider)
        .and_then(|l| l.tlsa.first().map(|o| (l, o)));
    let (Some((lc, owner)), Some(observer)) = (owner, observer) else {
        return items;
    };
    let owner = crate::dns::absolute(owner);
    let zone = match &lc.zone {
        Some(z) => crate::dns::absolute(z),
        None => match observer.find_zone(&owner).await {
            Ok(z) => z,
            Err(e) => {
                items.push(item(
                    format!("{label}: API"),
                    Level::Skip,
                    format!("no zone to ask about: {e}"),
                ));
                return items;
            }
        },
    };
    items.push(match built.read(&zone, &owner).await {
        Ok(Some(view)) => item(
            format!("{label}: API"),
            Level::Ok,
            format!(
                "answered a read of {owner} ({} TLSA record(s))",
                view.records.len()
            ),
        ),
        Ok(None) => match pc {
            crate::config::ProviderConfig::Rfc2136 { server, .. } => {
                primary_soa(&label, server, &zone, config.dns.timeout).await
            }
            _ => item(
                format!("{label}: API"),
                Level::Skip,
                format!("a {} provider has no read-only call", built.kind()),
            ),
        },
        Err(e) => item(format!("{label}: API"), Level::Fail, e.to_string())
            .fix("check the provider's url and credentials; `danerollover config` shows them"),
    });
    items
}

/// An RFC 2136 provider's primary: does it answer for the zone (SOA, authoritative)? A
/// read-only stand-in for the update, which has no read.
async fn primary_soa(label: &str, server: &str, zone: &str, timeout: std::time::Duration) -> Item {
    use crate::dns::{interpret, resolve, wire};
    let name = format!("{label}: primary");
    let fix = "check the provider's server and that it is the primary of the zone";
    let (addr, zname) = match (resolve::parse_server(server), resolve::parse_name(zone)) {
        (Ok(a), Ok(z)) => (a, z),
        (Err(e), _) | (_, Err(e)) => return item(name, Level::Fail, e.to_string()).fix(fix),
    };
    let q = wire::query(
        &zname,
        hickory_proto::rr::RecordType::SOA,
        wire::Flags::AUTHORITATIVE,
    );
    match wire::exchange(addr, &q, timeout).await {
        Ok(m) if !m.metadata.authoritative => item(
            name,
            Level::Fail,
            format!("{addr} is not authoritative for {zone}"),
        )
        .fix(fix),
        Ok(m) => match interpret::soa_serial(&zname, &m) {
            Ok(serial) => item(
                name,
                Level::Ok,
                format!("{addr} serves {zone} (SOA serial {serial})"),
            ),
            Err(e) => item(name, Level::Fail, format!("{addr}: SOA {zone}: {e}")).fix(fix),
        },
        Err(e) => item(name, Level::Fail, e.to_string()).fix(fix),
    }
}
