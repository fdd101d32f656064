//! `doctor`: each lineage: its ACME client's files and settings, what DNS serves at its
//! owners, and what its endpoints serve.

use std::path::Path;
use std::sync::Arc;

use super::{Item, Level, item};
use crate::acme::certbot;
use crate::config::Config;
use crate::dns::live::LiveObserver;
use crate::dns::{Observe, OwnerQuery, ServerOutcome, Validation};
use crate::probe::ProbeOptions;
use crate::probe::check::{ResolverDns, observe};
use crate::probe::report::{self, Status};

pub(super) async fn lineage_items(
    config: &Config,
    le_dir: &Path,
    name: &str,
    observer: Option<&LiveObserver>,
    version: Option<certbot::version::CertbotVersion>,
) -> Vec<Item> {
    let lc = &config.lineages[name];
    let mut items = Vec::new();
    let current = if lc.client != crate::acme::ClientKind::Certbot {
        client_items(config, le_dir, name, &mut items)
    } else {
        super::certbot::lineage_items(config, le_dir, name, version, &mut items)
    };
    if let Some(observer) = observer {
        let queries: Result<Vec<OwnerQuery>, _> = lc
            .tlsa
            .iter()
            .map(|o| OwnerQuery::for_lineage(o, lc))
            .collect();
        match queries {
            Ok(q) => {
                for obs in observer.observe(&q).await {
                    items.extend(dns_items(name, &obs, current.as_ref()));
                }
            }
            Err(e) => items.push(item(format!("{name}: dns"), Level::Fail, e.to_string())),
        }
    }
    items.extend(endpoint_items(config, name, current.as_ref()).await);
    items
}

/// What DNS says about one owner: every server answering, signed and validated, the
/// current key's record there.
pub fn dns_items(
    name: &str,
    obs: &crate::dns::OwnerObservation,
    current: Option<&crate::tlsa::TlsaRecord>,
) -> Vec<Item> {
    let owner = &obs.owner;
    let mut items = Vec::new();
    let failing: Vec<String> = obs
        .servers
        .iter()
        .filter_map(|s| match &s.outcome {
            ServerOutcome::Error { error } => Some(format!(
                "{} ({}): {error}",
                s.name.as_deref().unwrap_or("?"),
                s.server
            )),
            ServerOutcome::Answer(a) if !a.authoritative => Some(format!(
                "{} ({}): not authoritative",
                s.name.as_deref().unwrap_or("?"),
                s.server
            )),
            ServerOutcome::Answer(_) => None,
        })
        .collect();
    let label = format!("{name}: {owner} servers");
    items.push(if obs.servers.is_empty() {
        item(label, Level::Fail, "no authoritative server found")
            .fix("check the zone's NS records or set nameservers in the configuration")
    } else if failing.is_empty() {
        item(
            label,
            Level::Ok,
            format!("all {} authoritative server(s) answer", obs.servers.len()),
        )
    } else {
        item(label, Level::Fail, failing.join("; "))
            .fix("bring the server up or fix its zone transfer; a rollover waits for every server")
    });
    let label = format!("{name}: {owner} DNSSEC");
    items.push(match obs.validated.state {
        Validation::Secure => item(label, Level::Ok, "signed and validated (Secure)"),
        other => item(
            label,
            Level::Fail,
            format!(
                "{other:?}{}",
                obs.validated
                    .detail
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            ),
        )
        .fix("sign the zone and publish its DS in the parent; DANE needs a Secure TLSA RRset"),
    });
    if let Some(cur) = current {
        let label = format!("{name}: {owner} current key");
        items.push(if obs.validated.records.contains(cur) {
            item(label, Level::Ok, format!("{cur} published"))
        } else {
            item(
                label,
                Level::Fail,
                format!("{cur} is not in the validated RRset"),
            )
            .fix(format!("danerollover prepublish {name}"))
        });
    }
    items
}

async fn endpoint_items(
    config: &Config,
    name: &str,
    current: Option<&crate::tlsa::TlsaRecord>,
) -> Vec<Item> {
    let targets = match crate::commands::check::lineage_targets(
        config,
        Path::new("config"),
        &[name.to_string()],
        None,
        |_| None,
    ) {
        Ok(t) => t,
        Err(e) => {
            return vec![item(
                format!("{name}: endpoints"),
                Level::Fail,
                e.to_string(),
            )];
        }
    };
    let dns: Arc<dyn crate::probe::check::CheckDns> =
        Arc::new(ResolverDns::new(config.dns.clone()));
    let opts = ProbeOptions::new(config.dns.timeout.max(std::time::Duration::from_secs(5)));
    let observed = observe(dns, targets, &opts).await;
    let rep = report::build(&observed, 14, jiff::Timestamp::now().as_second());
    let mut items = Vec::new();
    for o in &rep.owners {
        let label = format!("{name}: endpoint {}:{}", o.host, o.port);
        if o.addresses.is_empty() {
            items.push(
                item(
                    label,
                    Level::Fail,
                    o.address_error
                        .clone()
                        .unwrap_or_else(|| "no address".into()),
                )
                .fix(format!("danerollover check {name}")),
            );
            continue;
        }
        let mut bad = Vec::new();
        for a in &o.addresses {
            let serves_current = match (current, &a.leaf_spki_sha256) {
                (Some(cur), Some(k)) => cur.to_string().ends_with(k.as_str()),
                _ => false,
            };
            if !serves_current {
                bad.push(format!(
                    "{}: {}",
                    a.address,
                    a.error
                        .clone()
                        .unwrap_or_else(|| "does not serve the current key".into())
                ));
            }
        }
        items.push(if bad.is_empty() && o.status() == Status::Ok {
            item(label, Level::Ok, format!("{} address(es) serve the current key and match DNS", o.addresses.len()))
        } else if bad.is_empty() {
            item(label, Level::Warn, format!("serves the current key; check says {}", o.status().label()))
                .fix(format!("danerollover check {name}"))
        } else {
            item(label, Level::Fail, bad.join("; "))
                .fix("reload the service so it serves the live certificate (the lineage's reload commands)")
        });
    }
    items
}

/// The checks of a lineage of another ACME client than certbot: its files, whether it keeps
/// the key, whether the key file matches the certificate, whether it is running; the live
/// record when the certificate can be read.
fn client_items(
    config: &Config,
    le_dir: &Path,
    name: &str,
    items: &mut Vec<Item>,
) -> Option<crate::tlsa::TlsaRecord> {
    use crate::acme::ReuseSetting;
    let lc = &config.lineages[name];
    let label = format!("{name}: {}", lc.client);
    let client = match crate::acme::build(lc.client, &lc.client_settings(), le_dir, &config.certbot)
    {
        Ok(c) => c,
        Err(e) => {
            items.push(item(label, Level::Fail, e.to_string()));
            return None;
        }
    };
    let l = match client.lineage(name) {
        Ok(l) => l,
        Err(e) => {
            items.push(item(label, Level::Fail, e.to_string()));
            return None;
        }
    };
    items.push(item(
        label.clone(),
        Level::Ok,
        format!("{} with {}", l.cert.display(), l.key.display()),
    ));
    let reuse = format!("{name}: keeps the key");
    items.push(match &l.reuse {
        ReuseSetting::On { by } => item(reuse, Level::Ok, by.clone()),
        ReuseSetting::Flag { note } => item(reuse, Level::Warn, note.clone()),
        ReuseSetting::Off { by, fix } => {
            item(reuse, Level::Fail, format!("no ({by})")).fix(fix.clone())
        }
        ReuseSetting::Unknown { why } => item(reuse, Level::Fail, why.clone()),
    });
    if let (Some(k), Some(c)) = (&l.key_spki, &l.cert_spki)
        && k != c
    {
        items.push(item(
            format!("{name}: key matches certificate"),
            Level::Fail,
            client.key_mismatch(name),
        ));
    }
    match client.renew_argv(name) {
        Ok(argv) => items.push(item(
            format!("{name}: switch command"),
            Level::Ok,
            argv.join(" "),
        )),
        Err(e) => items.push(item(
            format!("{name}: switch command"),
            Level::Fail,
            e.to_string(),
        )),
    }
    l.cert_spki
        .as_deref()
        .map(|s| crate::tlsa::TlsaRecord::dane_ee_spki(crate::tlsa::Matching::Sha256, s))
}
