//! Cloudflare DNS, through its v4 API (`Authorization: Bearer ...`).
//!
//! Cloudflare keeps one object per record, each with an id, so a change is not atomic:
//! the zone id is looked up by name (`GET /zones?name=`, cached), the TLSA records at the
//! owner are listed, each addition is POSTed (TLSA as structured `data: {usage, selector,
//! matching_type, certificate}`), and only then is each removed record DELETEd by id.
//! Records the change does not name are never touched. A failure part-way says how far
//! it got.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Url;
use serde::Deserialize;

use super::http::{Api, HttpError};
use super::{Change, Provider, ProviderError, ProviderView, relative_name};
use crate::secrets::Secret;
use crate::tlsa::{TlsaError, TlsaRecord};

pub const KIND: &str = "cloudflare";
pub const DEFAULT_URL: &str = "https://api.cloudflare.com/client/v4";
/// "An identical record already exists": an addition that is already done.
const IDENTICAL_RECORD_EXISTS: i64 = 81058;
/// Pages of 100 records read at most when listing one owner.
const MAX_PAGES: u32 = 20;

pub struct Cloudflare {
    name: String,
    base: Url,
    api: Api,
    zone_ids: Mutex<HashMap<String, String>>,
}

#[derive(Debug, Deserialize)]
struct Envelope<T> {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    errors: Vec<CfMessage>,
    result: Option<T>,
    result_info: Option<ResultInfo>,
}

#[derive(Debug, Deserialize)]
struct CfMessage {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
}

#[derive(Debug, Deserialize)]
struct ResultInfo {
    #[serde(default)]
    total_pages: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct ZoneItem {
    id: String,
}

/// A DNS record as Cloudflare lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct CfRecord {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(rename = "type", default)]
    pub rtype: String,
    pub ttl: Option<u32>,
    pub data: Option<TlsaData>,
    pub content: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct TlsaData {
    pub usage: u8,
    pub selector: u8,
    pub matching_type: u8,
    pub certificate: String,
}

impl CfRecord {
    /// The TLSA record this is, from `data` (or `content` when `data` is absent).
    pub fn tlsa(&self) -> Option<TlsaRecord> {
        if let Some(d) = &self.data {
            return tlsa_from_data(d).ok();
        }
        self.content.as_deref()?.parse().ok()
    }
}

fn tlsa_from_data(d: &TlsaData) -> Result<TlsaRecord, TlsaError> {
    format!(
        "{} {} {} {}",
        d.usage, d.selector, d.matching_type, d.certificate
    )
    .parse()
}

/// The POST body creating one TLSA record.
pub fn create_body(owner: &str, ttl: u32, record: &TlsaRecord) -> serde_json::Value {
    serde_json::json!({
        "type": "TLSA",
        "name": owner.trim_end_matches('.').to_ascii_lowercase(),
        "ttl": ttl,
        "data": TlsaData {
            usage: record.usage.into(),
            selector: record.selector.into(),
            matching_type: record.matching.into(),
            certificate: record.data_hex(),
        },
    })
}

/// What to do at an owner: the records to POST and the ids to DELETE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub add: Vec<TlsaRecord>,
    pub delete: Vec<String>,
}

/// Additions not there yet (once each), and the ids of the listed records the change
/// removes. Records that are not TLSA or not named are left out of both.
pub fn plan(listed: &[CfRecord], change: &Change) -> Plan {
    let present: Vec<Option<TlsaRecord>> = listed.iter().map(CfRecord::tlsa).collect();
    let mut add: Vec<TlsaRecord> = Vec::new();
    for r in &change.add {
        if !present.iter().flatten().any(|p| p == r) && !add.contains(r) {
            add.push(r.clone());
        }
    }
    let delete = listed
        .iter()
        .zip(&present)
        .filter(|(_, p)| p.as_ref().is_some_and(|p| change.remove.contains(p)))
        .map(|(l, _)| l.id.clone())
        .collect();
    Plan { add, delete }
}

impl Cloudflare {
    pub fn new(
        name: &str,
        url: &str,
        token: Secret,
        timeout: Duration,
    ) -> Result<Cloudflare, ProviderError> {
        let base = super::http::base_url(name, url)?;
        Ok(Cloudflare {
            name: name.to_string(),
            base,
            api: Api::new(name, timeout, token)?,
            zone_ids: Mutex::new(HashMap::new()),
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

    fn http_fail(&self, owner: &str, what: &str, progress: &str, e: &HttpError) -> ProviderError {
        let hint = match e.status {
            Some(401) | Some(403) => {
                " (the token was refused or lacks Zone.DNS edit permission: check token_file / token_env)"
            }
            _ => "",
        };
        self.fail(owner, format!("{what}: {e}{hint}{progress}"))
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.set_query(None);
        if let Ok(mut s) = url.path_segments_mut() {
            s.pop_if_empty().extend(segments);
        }
        url
    }

    fn auth(&self) -> String {
        format!("Bearer {}", self.api.secret().expose())
    }

    async fn zone_id(&self, zone: &str, owner: &str) -> Result<String, ProviderError> {
        let zone = zone.trim_end_matches('.').to_ascii_lowercase();
        if let Some(id) = self
            .zone_ids
            .lock()
            .ok()
            .and_then(|m| m.get(&zone).cloned())
        {
            return Ok(id);
        }
        let mut url = self.url(&["zones"]);
        url.query_pairs_mut().append_pair("name", &zone);
        let auth = self.auth();
        let reply = self
            .api
            .send(&[], |c| c.get(url.clone()).header("Authorization", &auth))
            .await
            .map_err(|e| self.http_fail(owner, &format!("GET zone {zone}"), "", &e))?;
        let (result, _) = unwrap_envelope::<Vec<ZoneItem>>(&reply.body)
            .map_err(|e| self.fail(owner, format!("GET zone {zone}: {}", self.api.clean(&e))))?;
        let id = result
            .unwrap_or_default()
            .into_iter()
            .next()
            .map(|z| z.id)
            .ok_or_else(|| {
                self.fail(
                    owner,
                    format!(
                        "zone {zone} is not in this Cloudflare account (or the token cannot read it)"
                    ),
                )
            })?;
        if let Ok(mut m) = self.zone_ids.lock() {
            m.insert(zone, id.clone());
        }
        Ok(id)
    }

    async fn list(&self, zone_id: &str, owner: &str) -> Result<Vec<CfRecord>, ProviderError> {
        let name = owner.trim_end_matches('.').to_ascii_lowercase();
        let auth = self.auth();
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let mut url = self.url(&["zones", zone_id, "dns_records"]);
            url.query_pairs_mut()
                .append_pair("type", "TLSA")
                .append_pair("name", &name)
                .append_pair("per_page", "100")
                .append_pair("page", &page.to_string());
            let reply = self
                .api
                .send(&[], |c| c.get(url.clone()).header("Authorization", &auth))
                .await
                .map_err(|e| self.http_fail(owner, "GET TLSA records", "", &e))?;
            let (result, pages) = unwrap_envelope::<Vec<CfRecord>>(&reply.body).map_err(|e| {
                self.fail(owner, format!("GET TLSA records: {}", self.api.clean(&e)))
            })?;
            let total = pages.unwrap_or(1);
            out.extend(result.unwrap_or_default().into_iter().filter(|r| {
                r.rtype.eq_ignore_ascii_case("TLSA") && super::same_name(&r.name, &name)
            }));
            if page >= total || page >= MAX_PAGES {
                break;
            }
            page += 1;
        }
        Ok(out)
    }
}

/// The `result` of an answer whose `success` is true; otherwise its error messages.
pub(crate) fn unwrap_envelope<T: serde::de::DeserializeOwned>(
    body: &str,
) -> Result<(Option<T>, Option<u32>), String> {
    let env: Envelope<T> =
        serde_json::from_str(body).map_err(|e| format!("unexpected answer: {e}"))?;
    if !env.success {
        let messages: Vec<String> = env
            .errors
            .iter()
            .map(|m| format!("{} ({})", m.message, m.code))
            .collect();
        return Err(format!(
            "Cloudflare reports failure: {}",
            messages.join("; ")
        ));
    }
    let pages = env.result_info.and_then(|i| i.total_pages);
    Ok((env.result, pages))
}

/// Whether a failed POST said the record exists already.
pub(crate) fn identical_exists(body: &str) -> bool {
    serde_json::from_str::<Envelope<serde_json::Value>>(body)
        .map(|e| e.errors.iter().any(|m| m.code == IDENTICAL_RECORD_EXISTS))
        .unwrap_or(false)
}

#[async_trait]
impl Provider for Cloudflare {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        KIND
    }

    async fn apply(&self, change: &Change) -> Result<(), ProviderError> {
        let owner = &change.owner;
        if relative_name(owner, &change.zone).is_none() {
            return Err(self.fail(owner, format!("the owner is not in zone {}", change.zone)));
        }
        if change.is_empty() {
            return Ok(());
        }
        let zone_id = self.zone_id(&change.zone, owner).await?;
        let listed = self.list(&zone_id, owner).await?;
        let plan = plan(&listed, change);
        let auth = self.auth();
        let (n_add, n_del) = (plan.add.len(), plan.delete.len());
        let records_url = self.url(&["zones", &zone_id, "dns_records"]);
        for (i, record) in plan.add.iter().enumerate() {
            let body = create_body(owner, change.ttl, record);
            let result = self
                .api
                .send(&[400], |c| {
                    c.post(records_url.clone())
                        .header("Authorization", &auth)
                        .json(&body)
                })
                .await;
            let progress = format!("; added {i} of {n_add} records, removed none of {n_del}");
            match result {
                Ok(reply) if reply.status == 400 && !identical_exists(&reply.body) => {
                    let detail = self.api.clean(&reply.body);
                    return Err(self.fail(
                        owner,
                        format!(
                            "POST TLSA record {record}: HTTP 400 Bad Request: {detail}{progress}"
                        ),
                    ));
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(self.http_fail(
                        owner,
                        &format!("POST TLSA record {record}"),
                        &progress,
                        &e,
                    ));
                }
            }
        }
        for (i, id) in plan.delete.iter().enumerate() {
            let url = self.url(&["zones", &zone_id, "dns_records", id]);
            let result = self
                .api
                .send(&[404], |c| {
                    c.delete(url.clone()).header("Authorization", &auth)
                })
                .await;
            if let Err(e) = result {
                return Err(self.http_fail(
                    owner,
                    &format!("DELETE record {id}"),
                    &format!("; added all {n_add} records, removed {i} of {n_del}"),
                    &e,
                ));
            }
        }
        Ok(())
    }

    async fn read(&self, zone: &str, owner: &str) -> Result<Option<ProviderView>, ProviderError> {
        let zone_id = self.zone_id(zone, owner).await?;
        let listed = self.list(&zone_id, owner).await?;
        let records = listed.iter().filter_map(CfRecord::tlsa).collect();
        // ttl 1 means "automatic" at Cloudflare: not a number of seconds.
        let ttl = listed.iter().filter_map(|r| r.ttl).filter(|t| *t > 1).min();
        Ok(Some(ProviderView { records, ttl }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::tlsa::sample_3_1_1 as rec;
    fn listed(id: &str, r: &TlsaRecord) -> CfRecord {
        CfRecord {
            id: id.into(),
            name: "_25._tcp.mail.example.com".into(),
            rtype: "TLSA".into(),
            ttl: Some(300),
            data: Some(TlsaData {
                usage: 3,
                selector: 1,
                matching_type: 1,
                certificate: r.data_hex().to_uppercase(),
            }),
            content: None,
        }
    }

    #[test]
    fn plans_only_what_the_change_names() {
        let list = vec![
            listed("a", &rec(1)),
            listed("b", &rec(9)),
            listed("c", &rec(2)),
        ];
        let change = Change {
            zone: "example.com.".into(),
            owner: "_25._tcp.mail.example.com.".into(),
            ttl: 300,
            add: vec![rec(2), rec(3), rec(3)],
            remove: vec![rec(1), rec(7)],
        };
        assert_eq!(
            plan(&list, &change),
            Plan {
                add: vec![rec(3)],
                delete: vec!["a".to_string()],
            }
        );
    }

    #[test]
    fn create_body_is_structured() {
        let r = rec(0xab);
        assert_eq!(
            create_body("_25._tcp.Mail.example.com.", 300, &r),
            serde_json::json!({
                "type": "TLSA",
                "name": "_25._tcp.mail.example.com",
                "ttl": 300,
                "data": {"usage": 3, "selector": 1, "matching_type": 1, "certificate": "ab".repeat(32)},
            })
        );
    }

    #[test]
    fn records_from_content_too() {
        let r = CfRecord {
            id: "x".into(),
            name: "n".into(),
            rtype: "TLSA".into(),
            ttl: None,
            data: None,
            content: Some(format!("3\t1\t1\t{}", rec(4).data_hex())),
        };
        assert_eq!(r.tlsa(), Some(rec(4)));
    }

    #[test]
    fn identical_record_error() {
        assert!(identical_exists(
            r#"{"success":false,"errors":[{"code":81058,"message":"An identical record already exists."}],"result":null}"#
        ));
        assert!(!identical_exists(
            r#"{"success":false,"errors":[{"code":9005,"message":"Content for TLSA record is invalid."}]}"#
        ));
        assert!(!identical_exists("not json"));
    }
}
