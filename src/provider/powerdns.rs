//! PowerDNS authoritative server, through its HTTP API (`X-API-Key`).
//!
//! A change is: GET the zone's TLSA RRset at the owner, merge (existing - remove + add,
//! keeping every record the change does not name, disabled ones included), then one PATCH
//! that REPLACEs the RRset with the merged set (or DELETEs it when empty). PowerDNS applies
//! a PATCH atomically. The RRset's TTL becomes the change's TTL. The RRset is then read
//! back ([`super::verify`]): a record another writer added between our GET and our PATCH
//! is lost by the REPLACE, so every writer checks its own change and merges again.
//!
//! The GET asks for `rrset_name`/`rrset_type` filtering, which Debian 12's PowerDNS 4.7.3
//! honours (checked in the lab); a server that ignores the parameters sends the whole zone,
//! and the RRset is picked out here either way. RRset comments are left as they are (a
//! REPLACE without `comments` keeps them, also checked on 4.7.3).

use std::time::Duration;

use async_trait::async_trait;
use reqwest::Url;
use serde::{Deserialize, Serialize};

use super::http::{Api, HttpError};
use super::verify;
use super::{
    Change, Provider, ProviderError, ProviderView, fqdn, merge, parse_records, relative_name,
    same_name, same_set,
};
use crate::secrets::Secret;

pub const KIND: &str = "powerdns";

pub struct PowerDns {
    name: String,
    base: Url,
    server_id: String,
    api: Api,
}

/// One record of an RRset, as the API has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PdnsRecord {
    pub content: String,
    #[serde(default)]
    pub disabled: bool,
}

#[derive(Debug, Deserialize)]
struct Zone {
    #[serde(default)]
    rrsets: Vec<RRset>,
}

#[derive(Debug, Deserialize)]
struct RRset {
    name: String,
    #[serde(rename = "type")]
    rtype: String,
    ttl: Option<u32>,
    #[serde(default)]
    records: Vec<PdnsRecord>,
}

/// The TLSA RRset at an owner: records and TTL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub records: Vec<PdnsRecord>,
    pub ttl: Option<u32>,
}

impl PowerDns {
    pub fn new(
        name: &str,
        url: &str,
        server_id: &str,
        api_key: Secret,
        timeout: Duration,
    ) -> Result<PowerDns, ProviderError> {
        let base = super::http::base_url(name, url)?;
        Ok(PowerDns {
            name: name.to_string(),
            base,
            server_id: server_id.to_string(),
            api: Api::new(name, timeout, api_key)?,
        })
    }

    /// Replace the retry policy (tests use a quick one).
    pub fn with_retry(mut self, policy: super::retry::RetryPolicy) -> Self {
        self.api.policy = policy;
        self
    }

    fn fail(&self, owner: &str, cause: String) -> ProviderError {
        ProviderError::failed(&self.name, KIND, owner, cause)
    }

    fn http_fail(&self, owner: &str, zone: &str, what: &str, e: HttpError) -> ProviderError {
        let hint = match e.status {
            Some(401) | Some(403) => {
                " (the API key was refused: check api_key_file / api_key_env and the server's api-key)"
                    .to_string()
            }
            Some(404) => format!(
                " (no zone {zone} on server_id {:?}: check the zone name and server_id)",
                self.server_id
            ),
            _ => String::new(),
        };
        self.fail(owner, format!("{what}: {e}{hint}"))
    }

    /// One PATCH of the zone carrying `body`, not retried: a retry is a new round that
    /// reads the RRset again ([`verify::write_again`]).
    async fn patch(&self, zone: &str, body: &serde_json::Value) -> Result<(), HttpError> {
        let url = self.zone_url(zone);
        let key = self.api.secret().expose().to_string();
        self.api
            .send_once(&[], |c| {
                c.patch(url.clone()).header("X-API-Key", &key).json(body)
            })
            .await
            .map(|_| ())
    }

    /// `{url}/api/v1/servers/{server_id}/zones/{zone}`.
    pub fn zone_url(&self, zone: &str) -> Url {
        zone_url(&self.base, &self.server_id, zone)
    }

    /// The TLSA RRset at `owner` (None when there is none).
    async fn fetch(&self, zone: &str, owner: &str) -> Result<Option<Existing>, ProviderError> {
        let mut url = self.zone_url(zone);
        url.query_pairs_mut()
            .append_pair("rrsets", "true")
            .append_pair("rrset_name", &fqdn(owner))
            .append_pair("rrset_type", "TLSA");
        let key = self.api.secret().expose().to_string();
        let reply = self
            .api
            .send(&[], |c| {
                c.get(url.clone())
                    .header("X-API-Key", &key)
                    .header("Accept", "application/json")
            })
            .await
            .map_err(|e| self.http_fail(owner, zone, &format!("GET zone {zone}"), e))?;
        parse_zone_answer(&reply.body, owner).map_err(|e| {
            self.fail(
                owner,
                format!("GET zone {zone}: the answer is not a PowerDNS zone: {e}"),
            )
        })
    }
}

/// The TLSA RRset at `owner` in the body of a `GET zones/ZONE?rrsets=true` answer (None
/// when there is none); Err with the JSON error when the body is not a zone.
pub fn parse_zone_answer(body: &str, owner: &str) -> Result<Option<Existing>, String> {
    let parsed: Zone = serde_json::from_str(body).map_err(|e| e.to_string())?;
    Ok(find_tlsa(parsed.rrsets, owner))
}

impl PowerDns {
    /// Every TLSA RRset of `zone`, by owner (absolute, lowercase).
    async fn fetch_zone(
        &self,
        zone: &str,
    ) -> Result<std::collections::BTreeMap<String, Existing>, ProviderError> {
        let mut url = self.zone_url(zone);
        url.query_pairs_mut().append_pair("rrsets", "true");
        let key = self.api.secret().expose().to_string();
        let reply = self
            .api
            .send(&[], |c| {
                c.get(url.clone())
                    .header("X-API-Key", &key)
                    .header("Accept", "application/json")
            })
            .await
            .map_err(|e| self.http_fail(zone, zone, &format!("GET zone {zone}"), e))?;
        let parsed: Zone = serde_json::from_str(&reply.body).map_err(|e| {
            self.fail(
                zone,
                format!("GET zone {zone}: the answer is not a PowerDNS zone: {e}"),
            )
        })?;
        Ok(parsed
            .rrsets
            .into_iter()
            .filter(|r| r.rtype.eq_ignore_ascii_case("TLSA"))
            .map(|r| {
                (
                    fqdn(&r.name).to_ascii_lowercase(),
                    Existing {
                        records: r.records,
                        ttl: r.ttl,
                    },
                )
            })
            .collect())
    }

    /// Several changes in one zone: one GET, one PATCH (see [`Provider::apply_all`]).
    async fn apply_zone(&self, zone: &str, changes: &[&Change]) -> Vec<Result<(), ProviderError>> {
        let original = match self.fetch_zone(zone).await {
            Ok(r) => r,
            Err(e) => {
                let text = match e {
                    ProviderError::Failed { cause, .. } => cause,
                    other => other.to_string(),
                };
                return changes
                    .iter()
                    .map(|c| Err(self.fail(&c.owner, text.clone())))
                    .collect();
            }
        };
        let mut rrsets = original.clone();
        // Merge change after change (two changes may name the same owner), then send the
        // final RRset of every owner whose RRset changed.
        let mut touched: Vec<(String, u32)> = Vec::new();
        for c in changes {
            let key = fqdn(&c.owner).to_ascii_lowercase();
            match plan(rrsets.get(&key), c) {
                Plan::Nothing => continue,
                Plan::Delete => {
                    rrsets.remove(&key);
                }
                Plan::Replace(records) => {
                    rrsets.insert(
                        key.clone(),
                        Existing {
                            records,
                            ttl: Some(c.ttl),
                        },
                    );
                }
            }
            touched.retain(|(o, _)| *o != key);
            touched.push((key, c.ttl));
        }
        if touched.is_empty() {
            return changes.iter().map(|_| Ok(())).collect();
        }
        let body: Vec<serde_json::Value> = touched
            .iter()
            .map(|(owner, ttl)| match rrsets.get(owner) {
                None => serde_json::json!({"name": owner, "type": "TLSA", "changetype": "DELETE"}),
                Some(e) => serde_json::json!({
                    "name": owner,
                    "type": "TLSA",
                    "ttl": ttl,
                    "changetype": "REPLACE",
                    "records": e.records,
                }),
            })
            .collect();
        let body = serde_json::json!({ "rrsets": body });
        let url = self.zone_url(zone);
        let key = self.api.secret().expose().to_string();
        match self
            .api
            .send_once(&[], |c| {
                c.patch(url.clone()).header("X-API-Key", &key).json(&body)
            })
            .await
        {
            Ok(_) => self.verify_zone(zone, &original, changes).await,
            // Not sent again as it is (made from a read that may be stale by now): each
            // owner not as it should be is applied on its own, from a fresh read.
            Err(e) if super::retry::RetryPolicy::retryable(&e.failure) => {
                self.verify_zone(zone, &original, changes).await
            }
            Err(e) => {
                let what = format!("PATCH zone {zone} ({} RRsets)", touched.len());
                let text = match self.http_fail(zone, zone, &what, e) {
                    ProviderError::Failed { cause, .. } => cause,
                    other => other.to_string(),
                };
                changes
                    .iter()
                    .map(|c| Err(self.fail(&c.owner, text.clone())))
                    .collect()
            }
        }
    }
}

/// The RDATA texts of an RRset (none when there is none).
fn contents(existing: Option<&Existing>) -> Vec<String> {
    existing
        .map(|e| e.records.iter().map(|r| r.content.clone()).collect())
        .unwrap_or_default()
}

impl PowerDns {
    /// After one PATCH of several changes: read the zone back; a change whose check fails
    /// (another writer replaced its RRset meanwhile) is applied again on its own, with the
    /// per-owner read-back rounds.
    async fn verify_zone(
        &self,
        zone: &str,
        original: &std::collections::BTreeMap<String, Existing>,
        changes: &[&Change],
    ) -> Vec<Result<(), ProviderError>> {
        // A failed read counts as an empty zone: every owner is then applied on its own.
        let after = self.fetch_zone(zone).await.unwrap_or_default();
        // Each owner's changes of the batch as one change, checked against the RRset
        // before the batch; an owner whose check fails is applied again on its own.
        let mut owners: Vec<String> = Vec::new();
        for c in changes {
            let key = fqdn(&c.owner).to_ascii_lowercase();
            if !owners.contains(&key) {
                owners.push(key);
            }
        }
        let mut by_owner = std::collections::BTreeMap::new();
        for key in owners {
            let mine: Vec<&Change> = changes
                .iter()
                .copied()
                .filter(|c| fqdn(&c.owner).eq_ignore_ascii_case(&key))
                .collect();
            let Some(folded) = verify::fold(&mine) else {
                continue;
            };
            let holds = verify::check(
                &contents(original.get(&key)),
                &folded,
                &contents(after.get(&key)),
            )
            .holds();
            let result = if holds {
                Ok(())
            } else {
                self.apply(&folded).await
            };
            by_owner.insert(key, result);
        }
        let mut out = Vec::with_capacity(changes.len());
        for c in changes {
            let key = fqdn(&c.owner).to_ascii_lowercase();
            out.push(match by_owner.get(&key) {
                Some(Ok(())) | None => Ok(()),
                Some(Err(e)) => Err(self.fail(&c.owner, e.to_string())),
            });
        }
        out
    }
}

fn zone_url(base: &Url, server_id: &str, zone: &str) -> Url {
    let mut url = base.clone();
    url.set_query(None);
    if let Ok(mut segs) = url.path_segments_mut() {
        segs.pop_if_empty()
            .extend(["api", "v1", "servers", server_id, "zones", &fqdn(zone)]);
    }
    url
}

fn find_tlsa(rrsets: Vec<RRset>, owner: &str) -> Option<Existing> {
    rrsets
        .into_iter()
        .find(|r| r.rtype.eq_ignore_ascii_case("TLSA") && same_name(&r.name, owner))
        .map(|r| Existing {
            records: r.records,
            ttl: r.ttl,
        })
}

/// What a change makes of an RRset: nothing to do, a REPLACE, or a DELETE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Nothing,
    Replace(Vec<PdnsRecord>),
    Delete,
}

/// Decide the PATCH for `change` given the RRset there now.
pub fn plan(existing: Option<&Existing>, change: &Change) -> Plan {
    let current: &[PdnsRecord] = existing.map(|e| e.records.as_slice()).unwrap_or(&[]);
    let merged = merge(
        current,
        |r| r.content.as_str(),
        change,
        |t| PdnsRecord {
            content: t.to_string(),
            disabled: false,
        },
    );
    let unchanged = same_set(current, &merged, |r| r.content.as_str())
        && current.len() == merged.len()
        && current
            .iter()
            .zip(&merged)
            .all(|(a, b)| a.disabled == b.disabled);
    if merged.is_empty() {
        if current.is_empty() {
            Plan::Nothing
        } else {
            Plan::Delete
        }
    } else if unchanged && existing.and_then(|e| e.ttl) == Some(change.ttl) {
        Plan::Nothing
    } else {
        Plan::Replace(merged)
    }
}

/// The PATCH body for a plan.
pub fn patch_body(owner: &str, ttl: u32, plan: &Plan) -> Option<serde_json::Value> {
    let owner = fqdn(owner);
    match plan {
        Plan::Nothing => None,
        Plan::Delete => Some(serde_json::json!({
            "rrsets": [{"name": owner, "type": "TLSA", "changetype": "DELETE"}]
        })),
        Plan::Replace(records) => Some(serde_json::json!({
            "rrsets": [{
                "name": owner,
                "type": "TLSA",
                "ttl": ttl,
                "changetype": "REPLACE",
                "records": records,
            }]
        })),
    }
}

#[async_trait]
impl Provider for PowerDns {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        KIND
    }

    async fn apply(&self, change: &Change) -> Result<(), ProviderError> {
        if relative_name(&change.owner, &change.zone).is_none() {
            return Err(self.fail(
                &change.owner,
                format!("the owner is not in zone {}", change.zone),
            ));
        }
        if change.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let mut round = 0;
        loop {
            round += 1;
            let read_at = std::time::Instant::now();
            let existing = self.fetch(&change.zone, &change.owner).await?;
            let plan = plan(existing.as_ref(), change);
            let Some(body) = patch_body(&change.owner, change.ttl, &plan) else {
                return Ok(());
            };
            if let Err(e) = self.patch(&change.zone, &body).await {
                match verify::write_again(&self.api.policy, round, started.elapsed(), &e.failure) {
                    Some(wait) => {
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    None => {
                        let e = e.after_rounds(round, started.elapsed());
                        let what = format!("PATCH zone {}", change.zone);
                        return Err(self.http_fail(&change.owner, &change.zone, &what, e));
                    }
                }
            }
            let before = contents(existing.as_ref());
            let failed = verify::read_back(&before, change, read_at, &self.api.policy, || async {
                Ok::<_, ProviderError>(contents(
                    self.fetch(&change.zone, &change.owner).await?.as_ref(),
                ))
            })
            .await?;
            let Some(failed) = failed else {
                return Ok(());
            };
            verify::next_round(&self.api.policy, round, started, &failed)
                .await
                .map_err(|cause| self.fail(&change.owner, cause))?;
        }
    }

    /// One GET of each zone's RRsets and one PATCH per zone carrying every changed TLSA
    /// RRset (PowerDNS applies a PATCH atomically). Each RRset is merged exactly as
    /// [`Provider::apply`] merges it: records a change does not name stay. A zone with a
    /// single change takes the per-owner path.
    async fn apply_all(&self, changes: &[Change]) -> Vec<Result<(), ProviderError>> {
        let mut out: Vec<Option<Result<(), ProviderError>>> =
            changes.iter().map(|_| None).collect();
        let mut zones: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, c) in changes.iter().enumerate() {
            if relative_name(&c.owner, &c.zone).is_none() {
                out[i] = Some(Err(
                    self.fail(&c.owner, format!("the owner is not in zone {}", c.zone))
                ));
                continue;
            }
            if c.is_empty() {
                out[i] = Some(Ok(()));
                continue;
            }
            match zones.iter_mut().find(|(z, _)| same_name(z, &c.zone)) {
                Some((_, v)) => v.push(i),
                None => zones.push((c.zone.clone(), vec![i])),
            }
        }
        for (zone, idx) in zones {
            if idx.len() == 1 {
                out[idx[0]] = Some(self.apply(&changes[idx[0]]).await);
                continue;
            }
            let results = self
                .apply_zone(&zone, &idx.iter().map(|&i| &changes[i]).collect::<Vec<_>>())
                .await;
            for (i, r) in idx.into_iter().zip(results) {
                out[i] = Some(r);
            }
        }
        out.into_iter().map(|r| r.unwrap_or(Ok(()))).collect()
    }

    async fn read(&self, zone: &str, owner: &str) -> Result<Option<ProviderView>, ProviderError> {
        let existing = self.fetch(zone, owner).await?;
        Ok(Some(match existing {
            None => ProviderView {
                records: Vec::new(),
                ttl: None,
            },
            Some(e) => ProviderView {
                records: parse_records(
                    e.records
                        .iter()
                        .filter(|r| !r.disabled)
                        .map(|r| r.content.as_str()),
                ),
                ttl: e.ttl,
            },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlsa::TlsaRecord;

    use crate::tlsa::sample_3_1_1 as rec;
    fn pr(r: &TlsaRecord) -> PdnsRecord {
        PdnsRecord {
            content: r.to_string(),
            disabled: false,
        }
    }
    fn change(add: Vec<TlsaRecord>, remove: Vec<TlsaRecord>) -> Change {
        Change {
            zone: "example.test.".into(),
            owner: "_25._tcp.mail.example.test.".into(),
            ttl: 300,
            add,
            remove,
        }
    }

    #[test]
    fn urls() {
        let base = Url::parse("http://127.0.0.1:8081/").unwrap();
        assert_eq!(
            zone_url(&base, "localhost", "example.test").as_str(),
            "http://127.0.0.1:8081/api/v1/servers/localhost/zones/example.test."
        );
        let base = Url::parse("https://dns.example/pdns").unwrap();
        assert_eq!(
            zone_url(&base, "localhost", "example.test.").as_str(),
            "https://dns.example/pdns/api/v1/servers/localhost/zones/example.test."
        );
    }

    #[test]
    fn plans() {
        let foreign = PdnsRecord {
            content: rec(9).to_string(),
            disabled: true,
        };
        let existing = Existing {
            records: vec![pr(&rec(1)), foreign.clone()],
            ttl: Some(300),
        };
        // rollover step: add next, remove old; the foreign (disabled) record stays as it is
        assert_eq!(
            plan(Some(&existing), &change(vec![rec(2)], vec![rec(1)])),
            Plan::Replace(vec![foreign.clone(), pr(&rec(2))])
        );
        // already there with the right TTL: nothing
        assert_eq!(
            plan(Some(&existing), &change(vec![rec(1)], vec![rec(5)])),
            Plan::Nothing
        );
        // same records, other TTL: replace to set the TTL
        let mut c = change(vec![rec(1)], vec![]);
        c.ttl = 600;
        assert_eq!(
            plan(Some(&existing), &c),
            Plan::Replace(existing.records.clone())
        );
        // last records go: delete the RRset
        let only = Existing {
            records: vec![pr(&rec(1))],
            ttl: Some(300),
        };
        assert_eq!(
            plan(Some(&only), &change(vec![], vec![rec(1)])),
            Plan::Delete
        );
        // nothing there, nothing to remove
        assert_eq!(plan(None, &change(vec![], vec![rec(1)])), Plan::Nothing);
        assert_eq!(
            plan(None, &change(vec![rec(3)], vec![])),
            Plan::Replace(vec![pr(&rec(3))])
        );
    }

    #[test]
    fn bodies() {
        let body = patch_body(
            "_25._tcp.mail.example.test",
            300,
            &Plan::Replace(vec![pr(&rec(2))]),
        )
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"rrsets": [{
                "name": "_25._tcp.mail.example.test.",
                "type": "TLSA",
                "ttl": 300,
                "changetype": "REPLACE",
                "records": [{"content": rec(2).to_string(), "disabled": false}],
            }]})
        );
        let body = patch_body("_25._tcp.mail.example.test.", 300, &Plan::Delete).unwrap();
        assert_eq!(body["rrsets"][0]["changetype"], "DELETE");
        assert!(patch_body("x.", 1, &Plan::Nothing).is_none());
    }

    #[test]
    fn finds_the_tlsa_rrset_among_others() {
        let zone: Zone = serde_json::from_value(serde_json::json!({
            "name": "example.test.",
            "rrsets": [
                {"name": "_25._tcp.mail.example.test.", "type": "TXT", "ttl": 60,
                 "records": [{"content": "\"x\"", "disabled": false}], "comments": []},
                {"name": "_25._TCP.mail.example.test.", "type": "TLSA", "ttl": 120,
                 "records": [{"content": rec(4).to_string(), "disabled": false}], "comments": []},
                {"name": "_443._tcp.mail.example.test.", "type": "TLSA", "ttl": 60,
                 "records": [{"content": rec(5).to_string(), "disabled": false}], "comments": []}
            ]
        }))
        .unwrap();
        let found = find_tlsa(zone.rrsets, "_25._tcp.mail.example.test.").unwrap();
        assert_eq!(found.ttl, Some(120));
        assert_eq!(found.records, vec![pr(&rec(4))]);
    }
}
