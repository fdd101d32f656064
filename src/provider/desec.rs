//! deSEC (desec.io), through its RRset API (`Authorization: Token ...`).
//!
//! A change is: GET `/domains/{domain}/rrsets/{subname}/TLSA/`, merge (existing - remove +
//! add, keeping records the change does not name), then one request that deSEC applies
//! atomically: PATCH of that RRset with the merged records and the change's TTL (an empty
//! list deletes the RRset), or POST to `/domains/{domain}/rrsets/` when there was none.
//!
//! deSEC refuses TTLs below the domain's `minimum_ttl` (3600 unless deSEC lowered it for the
//! account); such a refusal is reported with that advice.
//!
//! The RRset is read back after every write ([`super::verify`]): a record another writer
//! added between our GET and our write is lost by it, so every writer checks its own
//! change and merges again.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::Url;
use serde::Deserialize;

use super::http::{Api, HttpError};
use super::verify;
use super::{
    Change, Provider, ProviderError, ProviderView, merge, parse_records, relative_name, same_set,
};
use crate::secrets::Secret;

pub const KIND: &str = "desec";
pub const DEFAULT_URL: &str = "https://desec.io/api/v1";
/// deSEC's default minimum TTL.
pub const DEFAULT_MINIMUM_TTL: u32 = 3600;

pub struct Desec {
    name: String,
    base: Url,
    api: Api,
}

#[derive(Debug, Deserialize)]
struct RRset {
    #[serde(default)]
    records: Vec<String>,
    ttl: Option<u32>,
}

/// The request that applies a change, if any.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Nothing,
    /// PATCH the existing RRset (records may be empty: deletes it).
    Patch(serde_json::Value),
    /// POST a new RRset.
    Create(serde_json::Value),
}

/// Decide the request for `change` given the RRset there now (records and TTL).
pub fn plan(existing: Option<(&[String], Option<u32>)>, subname: &str, change: &Change) -> Request {
    let current: &[String] = existing.map(|e| e.0).unwrap_or(&[]);
    let merged = merge(current, |s| s.as_str(), change, |r| r.to_string());
    match existing {
        None if merged.is_empty() => Request::Nothing,
        None => Request::Create(serde_json::json!({
            "subname": subname,
            "type": "TLSA",
            "ttl": change.ttl,
            "records": merged,
        })),
        Some((_, ttl)) => {
            let unchanged = same_set(current, &merged, |s| s.as_str());
            if unchanged && (merged.is_empty() || ttl == Some(change.ttl)) {
                Request::Nothing
            } else if merged.is_empty() {
                Request::Patch(serde_json::json!({ "records": [] }))
            } else {
                Request::Patch(serde_json::json!({
                    "ttl": change.ttl,
                    "records": merged,
                }))
            }
        }
    }
}

impl Desec {
    pub fn new(
        name: &str,
        url: &str,
        token: Secret,
        timeout: Duration,
    ) -> Result<Desec, ProviderError> {
        let base = super::http::base_url(name, url)?;
        Ok(Desec {
            name: name.to_string(),
            base,
            api: Api::new(name, timeout, token)?,
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

    fn http_fail(
        &self,
        owner: &str,
        domain: &str,
        what: &str,
        ttl: u32,
        e: HttpError,
    ) -> ProviderError {
        let hint = match e.status {
            Some(401) | Some(403) => {
                " (the token was refused: check token_file / token_env)".to_string()
            }
            Some(404) => format!(" (domain {domain} is not in this deSEC account)"),
            Some(400) if e.detail.to_ascii_lowercase().contains("ttl") => format!(
                " (deSEC refuses TTL {ttl} below the domain's minimum_ttl, {DEFAULT_MINIMUM_TTL} unless lowered for the account: set ttl = {DEFAULT_MINIMUM_TTL} or more for the lineages using this provider)"
            ),
            Some(429) => " (deSEC's rate limit: try again later)".to_string(),
            _ => String::new(),
        };
        self.fail(owner, format!("{what}: {e}{hint}"))
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.set_query(None);
        if let Ok(mut s) = url.path_segments_mut() {
            s.pop_if_empty().extend(segments).push("");
        }
        url
    }

    fn names(&self, zone: &str, owner: &str) -> Result<(String, String), ProviderError> {
        let sub = relative_name(owner, zone)
            .ok_or_else(|| self.fail(owner, format!("the owner is not in zone {zone}")))?;
        Ok((zone.trim_end_matches('.').to_ascii_lowercase(), sub))
    }

    fn rrset_url(&self, domain: &str, sub: &str) -> Url {
        let path_sub = if sub.is_empty() { "@" } else { sub };
        self.url(&["domains", domain, "rrsets", path_sub, "TLSA"])
    }

    async fn fetch(
        &self,
        domain: &str,
        sub: &str,
        owner: &str,
    ) -> Result<Option<RRset>, ProviderError> {
        let url = self.rrset_url(domain, sub);
        let auth = format!("Token {}", self.api.secret().expose());
        let reply = self
            .api
            .send(&[404], |c| {
                c.get(url.clone())
                    .header("Authorization", &auth)
                    .header("Accept", "application/json")
            })
            .await
            .map_err(|e| self.http_fail(owner, domain, "GET TLSA RRset", 0, e))?;
        if reply.status == 404 {
            return Ok(None);
        }
        parse_rrset(&reply.body)
            .map(|(records, ttl)| Some(RRset { records, ttl }))
            .map_err(|e| {
                self.fail(
                    owner,
                    format!("GET TLSA RRset: the answer is not an RRset: {e}"),
                )
            })
    }
}

impl Desec {
    /// Send the request a plan made (not [`Request::Nothing`]), once: a retry is a new
    /// round that reads the RRset again. The error comes with what was sent.
    async fn send(
        &self,
        domain: &str,
        sub: &str,
        request: Request,
    ) -> Result<(), (&'static str, HttpError)> {
        let auth = format!("Token {}", self.api.secret().expose());
        let (what, result) = match request {
            Request::Nothing => return Ok(()),
            Request::Patch(body) => {
                let url = self.rrset_url(domain, sub);
                (
                    "PATCH TLSA RRset",
                    self.api
                        .send_once(&[], |c| {
                            c.patch(url.clone())
                                .header("Authorization", &auth)
                                .json(&body)
                        })
                        .await,
                )
            }
            Request::Create(body) => {
                let url = self.url(&["domains", domain, "rrsets"]);
                (
                    "POST TLSA RRset",
                    self.api
                        .send_once(&[], |c| {
                            c.post(url.clone())
                                .header("Authorization", &auth)
                                .json(&body)
                        })
                        .await,
                )
            }
        };
        result.map(|_| ()).map_err(|e| (what, e))
    }
}

/// The records (RDATA texts) and TTL of a `GET .../rrsets/SUB/TLSA/` answer body.
pub fn parse_rrset(body: &str) -> Result<(Vec<String>, Option<u32>), String> {
    let r: RRset = serde_json::from_str(body).map_err(|e| e.to_string())?;
    Ok((r.records, r.ttl))
}

#[async_trait]
impl Provider for Desec {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        KIND
    }

    async fn apply(&self, change: &Change) -> Result<(), ProviderError> {
        let (domain, sub) = self.names(&change.zone, &change.owner)?;
        if change.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let mut round = 0;
        loop {
            round += 1;
            let read_at = std::time::Instant::now();
            let existing = self.fetch(&domain, &sub, &change.owner).await?;
            let request = plan(
                existing.as_ref().map(|r| (r.records.as_slice(), r.ttl)),
                &sub,
                change,
            );
            if request == Request::Nothing {
                return Ok(());
            }
            if let Err(e) = self.send(&domain, &sub, request).await {
                let what = e.0;
                match verify::write_again(&self.api.policy, round, started.elapsed(), &e.1.failure)
                {
                    Some(wait) => {
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    None => {
                        let e = e.1.after_rounds(round, started.elapsed());
                        return Err(self.http_fail(&change.owner, &domain, what, change.ttl, e));
                    }
                }
            }
            let records = |r: Option<RRset>| r.map(|r| r.records).unwrap_or_default();
            let before = records(existing);
            let failed = verify::read_back(&before, change, read_at, &self.api.policy, || async {
                Ok::<_, ProviderError>(records(self.fetch(&domain, &sub, &change.owner).await?))
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

    async fn read(&self, zone: &str, owner: &str) -> Result<Option<ProviderView>, ProviderError> {
        let (domain, sub) = self.names(zone, owner)?;
        let existing = self.fetch(&domain, &sub, owner).await?;
        Ok(Some(match existing {
            None => ProviderView {
                records: Vec::new(),
                ttl: None,
            },
            Some(r) => ProviderView {
                records: parse_records(r.records.iter().map(String::as_str)),
                ttl: r.ttl,
            },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlsa::TlsaRecord;

    use crate::tlsa::sample_3_1_1 as rec;
    fn change(ttl: u32, add: Vec<TlsaRecord>, remove: Vec<TlsaRecord>) -> Change {
        Change {
            zone: "example.com.".into(),
            owner: "_25._tcp.mail.example.com.".into(),
            ttl,
            add,
            remove,
        }
    }

    #[test]
    fn plans() {
        let foreign = format!("2 0 1 {}", "cd".repeat(32));
        let existing = vec![rec(1).to_string(), foreign.clone()];
        assert_eq!(
            plan(
                Some((&existing, Some(3600))),
                "_25._tcp.mail",
                &change(3600, vec![rec(2)], vec![rec(1)])
            ),
            Request::Patch(serde_json::json!({
                "ttl": 3600,
                "records": [foreign, rec(2).to_string()],
            }))
        );
        assert_eq!(
            plan(
                Some((&existing, Some(3600))),
                "_25._tcp.mail",
                &change(3600, vec![rec(1)], vec![])
            ),
            Request::Nothing
        );
        let only = vec![rec(1).to_string()];
        assert_eq!(
            plan(
                Some((&only, Some(3600))),
                "_25._tcp.mail",
                &change(3600, vec![], vec![rec(1)])
            ),
            Request::Patch(serde_json::json!({ "records": [] }))
        );
        assert_eq!(
            plan(None, "_25._tcp.mail", &change(3600, vec![rec(3)], vec![])),
            Request::Create(serde_json::json!({
                "subname": "_25._tcp.mail",
                "type": "TLSA",
                "ttl": 3600,
                "records": [rec(3).to_string()],
            }))
        );
        assert_eq!(
            plan(None, "_25._tcp.mail", &change(3600, vec![], vec![rec(3)])),
            Request::Nothing
        );
    }

    #[test]
    fn urls() {
        let d = Desec::new(
            "d",
            "https://desec.io/api/v1",
            Secret::new("t"),
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(
            d.rrset_url("example.com", "_25._tcp.mail").as_str(),
            "https://desec.io/api/v1/domains/example.com/rrsets/_25._tcp.mail/TLSA/"
        );
        assert_eq!(
            d.rrset_url("example.com", "").as_str(),
            "https://desec.io/api/v1/domains/example.com/rrsets/@/TLSA/"
        );
        assert_eq!(
            d.url(&["domains", "example.com", "rrsets"]).as_str(),
            "https://desec.io/api/v1/domains/example.com/rrsets/"
        );
    }
}
