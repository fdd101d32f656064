//! Providers spoken through the `dns-update` crate: every TLSA-capable service of its table
//! (`type = "dnsupdate"`, `service = "NAME"`, see [`super::services`]), and the older
//! types `route53`, `gandi`, `ovh` and `googlecloud`.
//!
//! A change is two steps, not atomic: the additions are added to the RRset, then the
//! removals are removed from it; records the change does not name stay. Many services
//! do this per record; some (Gcore, Google Cloud DNS, Route 53, ...) read the RRset and
//! write it whole, so another writer's record added in between can be lost: the RRset is
//! listed before and after each change and checked ([`super::verify`]); a failed check
//! writes again, within the retry policy. Services differ on TTLs: some keep an existing
//! RRset's TTL when they add, so the change's TTL applies to a new RRset at least.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use dns_update::{
    DnsRecord, DnsRecordType, DnsUpdater, TLSARecord, TlsaCertUsage, TlsaMatching, TlsaSelector,
};

use super::retry::{Decision, Failure, RetryPolicy};
use super::verify;
use super::{
    Change, Provider, ProviderError, ProviderView, parse_records, relative_name, sanitize,
};
use crate::secrets::Secret;
use crate::tlsa::{Matching, Selector, TlsaRecord, Usage};

pub struct DnsUpdate {
    name: String,
    kind: &'static str,
    updater: DnsUpdater,
    secrets: Vec<Secret>,
    timeout: Duration,
    policy: RetryPolicy,
}

fn config_error(name: &str, what: &str, e: dns_update::Error) -> ProviderError {
    ProviderError::Config {
        provider: name.to_string(),
        message: format!("cannot set up the {what} client: {e}"),
    }
}

impl DnsUpdate {
    fn wrap(
        name: &str,
        kind: &'static str,
        updater: DnsUpdater,
        secrets: Vec<Secret>,
        timeout: Duration,
    ) -> DnsUpdate {
        DnsUpdate {
            name: name.to_string(),
            kind,
            updater,
            secrets,
            timeout,
            policy: RetryPolicy::default(),
        }
    }

    pub fn route53(
        name: &str,
        access_key_id: &str,
        secret_access_key: Secret,
        region: Option<String>,
        hosted_zone_id: Option<String>,
        endpoint: Option<String>,
        timeout: Duration,
    ) -> Result<DnsUpdate, ProviderError> {
        let config = dns_update::providers::route53::Route53Config {
            access_key_id: access_key_id.to_string(),
            secret_access_key: secret_access_key.expose().to_string(),
            session_token: None,
            region,
            hosted_zone_id,
            private_zone_only: None,
            endpoint,
        };
        let updater =
            DnsUpdater::new_route53(config).map_err(|e| config_error(name, "Route 53", e))?;
        Ok(Self::wrap(
            name,
            "route53",
            updater,
            vec![secret_access_key],
            timeout,
        ))
    }

    pub fn gandi(name: &str, token: Secret, timeout: Duration) -> Result<DnsUpdate, ProviderError> {
        let updater = DnsUpdater::new_gandiv5(token.expose(), Some(timeout))
            .map_err(|e| config_error(name, "Gandi", e))?;
        Ok(Self::wrap(name, "gandi", updater, vec![token], timeout))
    }

    pub fn ovh(
        name: &str,
        endpoint: &str,
        application_key: &str,
        application_secret: Secret,
        consumer_key: Secret,
        timeout: Duration,
    ) -> Result<DnsUpdate, ProviderError> {
        use dns_update::providers::ovh::OvhEndpoint;
        let endpoint = match endpoint {
            "ovh-eu" => OvhEndpoint::OvhEu,
            "ovh-us" => OvhEndpoint::OvhUs,
            "ovh-ca" => OvhEndpoint::OvhCa,
            "kimsufi-eu" => OvhEndpoint::KimsufiEu,
            "kimsufi-ca" => OvhEndpoint::KimsufiCa,
            "soyoustart-eu" => OvhEndpoint::SoyoustartEu,
            "soyoustart-ca" => OvhEndpoint::SoyoustartCa,
            other => {
                return Err(ProviderError::Config {
                    provider: name.to_string(),
                    message: format!(
                        "endpoint {other:?}: use one of {}",
                        crate::config::OVH_ENDPOINTS.join(", ")
                    ),
                });
            }
        };
        let updater = DnsUpdater::new_ovh(
            application_key,
            application_secret.expose(),
            consumer_key.expose(),
            endpoint,
            Some(timeout),
        )
        .map_err(|e| config_error(name, "OVH", e))?;
        Ok(Self::wrap(
            name,
            "ovh",
            updater,
            vec![application_secret, consumer_key],
            timeout,
        ))
    }

    pub fn google_cloud(
        name: &str,
        service_account_json: Secret,
        project_id: &str,
        managed_zone: Option<String>,
        timeout: Duration,
    ) -> Result<DnsUpdate, ProviderError> {
        let config = dns_update::providers::google_cloud_dns::GoogleCloudDnsConfig {
            service_account_json: service_account_json.expose().to_string(),
            project_id: project_id.to_string(),
            managed_zone,
            private_zone: false,
            impersonate_service_account: None,
            request_timeout: Some(timeout),
        };
        let updater = DnsUpdater::new_google_cloud_dns(config)
            .map_err(|e| config_error(name, "Google Cloud DNS", e))?;
        Ok(Self::wrap(
            name,
            "googlecloud",
            updater,
            vec![service_account_json],
            timeout,
        ))
    }

    /// A service of the crate's table ([`super::services::SERVICES`]), `type = "dnsupdate"`:
    /// its secrets resolved from their files or variables, the rest as configured.
    pub fn service(
        name: &str,
        service: &str,
        settings: &std::collections::BTreeMap<String, String>,
        timeout: Duration,
    ) -> Result<DnsUpdate, ProviderError> {
        use super::services::{self, Kind};
        let config = |message: String| ProviderError::Config {
            provider: name.to_string(),
            message,
        };
        let row = services::find(service).ok_or_else(|| {
            config(services::refusal(service).unwrap_or_else(|| format!("service {service}")))
        })?;
        let mut secrets = std::collections::BTreeMap::new();
        for s in row.settings.iter().filter(|s| s.kind == Kind::Secret) {
            let file = settings.get(&format!("{}_file", s.key));
            let env = settings.get(&format!("{}_env", s.key));
            if file.is_none() && env.is_none() {
                continue;
            }
            let secret =
                crate::secrets::resolve(file.map(std::path::Path::new), env.map(String::as_str))
                    .map_err(|e| config(format!("{}: {e}", s.key)))?;
            secrets.insert(s.key, secret);
        }
        let values = services::Values {
            plain: settings,
            secrets,
            timeout,
        };
        let updater = (row.build)(&values).map_err(|e| config_error(name, row.title, e))?;
        let secrets = values.secrets.into_values().collect();
        Ok(Self::wrap(name, row.name, updater, secrets, timeout))
    }

    /// Replace the retry policy.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    fn fail(&self, owner: &str, cause: String) -> ProviderError {
        ProviderError::failed(&self.name, self.kind, owner, cause)
    }

    /// Run one crate call with the timeout and the retry policy.
    async fn call<T, F, Fut>(&self, owner: &str, what: &str, f: F) -> Result<T, ProviderError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = dns_update::Result<T>>,
    {
        let secrets: Vec<&Secret> = self.secrets.iter().collect();
        let mut attempt = 0;
        let started = std::time::Instant::now();
        loop {
            attempt += 1;
            let (failure, text) = match tokio::time::timeout(self.timeout, f()).await {
                Ok(Ok(value)) => return Ok(value),
                Err(_) => (Failure::Timeout, "no answer within the timeout".to_string()),
                Ok(Err(e)) => (failure_of(&e), sanitize(&e.to_string(), &secrets, 300)),
            };
            match self.policy.decide(attempt, started.elapsed(), &failure) {
                Decision::RetryAfter(wait) => tokio::time::sleep(wait).await,
                Decision::GiveUp => {
                    let hint = match failure {
                        Failure::Http { status: 401, .. } | Failure::Http { status: 403, .. } => {
                            " (the credentials were refused)"
                        }
                        _ => "",
                    };
                    let after = super::retry::after_attempts(
                        attempt,
                        started.elapsed(),
                        self.policy.budget,
                    );
                    return Err(self.fail(owner, format!("{what}: {text}{hint}{after}")));
                }
            }
        }
    }
}

/// How a crate error counts for the retry policy.
fn failure_of(e: &dns_update::Error) -> Failure {
    use dns_update::Error as E;
    let http = |status| Failure::Http {
        status,
        retry_after: None,
    };
    match e {
        E::Unauthorized => http(401),
        E::NotFound => http(404),
        E::BadRequest => http(400),
        E::Client(_) => Failure::Connect,
        E::Api(text) | E::Response(text) | E::Protocol(text) => {
            status_in(text).map(http).unwrap_or(
                if text.contains("Failed to send request") || text.contains("error sending request")
                {
                    Failure::Connect
                } else {
                    Failure::Other
                },
            )
        }
        _ => Failure::Other,
    }
}

/// The HTTP status a crate error's text reports: the crate renders a non-2xx answer as
/// `HTTP 503: body`, `BadRequest body` (400), or a provider's own words with the code
/// (`... status 429 ...`, Route 53's `API error: 503 Service Unavailable`).
fn status_in(text: &str) -> Option<u16> {
    if text.starts_with("BadRequest") {
        return Some(400);
    }
    let words: Vec<&str> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(2).find_map(|w| {
        let lead = w[0].to_ascii_lowercase();
        let code: u16 = w[1].parse().ok()?;
        (matches!(lead.as_str(), "http" | "status" | "code" | "error")
            && (400..600).contains(&code))
        .then_some(code)
    })
}

/// Our record in the crate's terms.
pub fn to_crate(r: &TlsaRecord) -> DnsRecord {
    DnsRecord::TLSA(TLSARecord {
        cert_usage: match r.usage {
            Usage::PkixTa => TlsaCertUsage::PkixTa,
            Usage::PkixEe => TlsaCertUsage::PkixEe,
            Usage::DaneTa => TlsaCertUsage::DaneTa,
            Usage::DaneEe => TlsaCertUsage::DaneEe,
        },
        selector: match r.selector {
            Selector::Cert => TlsaSelector::Full,
            Selector::Spki => TlsaSelector::Spki,
        },
        matching: match r.matching {
            Matching::Full => TlsaMatching::Raw,
            Matching::Sha256 => TlsaMatching::Sha256,
            Matching::Sha512 => TlsaMatching::Sha512,
        },
        cert_data: r.data.clone(),
    })
}

#[async_trait]
impl Provider for DnsUpdate {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        self.kind
    }

    async fn apply(&self, change: &Change) -> Result<(), ProviderError> {
        let owner = change.owner.as_str();
        if relative_name(owner, &change.zone).is_none() {
            return Err(self.fail(owner, format!("the owner is not in zone {}", change.zone)));
        }
        if change.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let mut round = 0;
        loop {
            round += 1;
            let read_at = std::time::Instant::now();
            let before = self.list(change).await?;
            self.write(change).await?;
            let failed =
                verify::read_back(&before, change, read_at, &self.policy, || self.list(change))
                    .await?;
            let Some(failed) = failed else {
                return Ok(());
            };
            verify::next_round(&self.policy, round, started, &failed)
                .await
                .map_err(|cause| self.fail(owner, cause))?;
        }
    }

    async fn read(&self, zone: &str, owner: &str) -> Result<Option<ProviderView>, ProviderError> {
        let records = self
            .call(owner, "listing the TLSA RRset", || {
                self.updater.list_rrset(owner, DnsRecordType::TLSA, zone)
            })
            .await?;
        Ok(Some(ProviderView {
            records: parse_records(contents(&records).iter().map(String::as_str)),
            ttl: None,
        }))
    }
}

impl DnsUpdate {
    /// The TLSA RRset at the change's owner, as RDATA texts.
    async fn list(&self, change: &Change) -> Result<Vec<String>, ProviderError> {
        let (owner, zone) = (change.owner.as_str(), change.zone.as_str());
        let records = self
            .call(owner, "listing the TLSA RRset", || {
                self.updater.list_rrset(owner, DnsRecordType::TLSA, zone)
            })
            .await?;
        Ok(contents(&records))
    }

    /// Additions first (the crate adds to the RRset), then removals.
    async fn write(&self, change: &Change) -> Result<(), ProviderError> {
        let (owner, zone) = (change.owner.as_str(), change.zone.as_str());
        if !change.add.is_empty() {
            let records: Vec<DnsRecord> = change.add.iter().map(to_crate).collect();
            self.call(owner, "adding records", || {
                self.updater.add_to_rrset(
                    owner,
                    DnsRecordType::TLSA,
                    change.ttl,
                    records.clone(),
                    zone,
                )
            })
            .await?;
        }
        if !change.remove.is_empty() {
            let records: Vec<DnsRecord> = change.remove.iter().map(to_crate).collect();
            let done = if change.add.is_empty() {
                ""
            } else {
                " (the additions are done)"
            };
            self.call(owner, &format!("removing records{done}"), || {
                self.updater
                    .remove_from_rrset(owner, DnsRecordType::TLSA, records.clone(), zone)
            })
            .await?;
        }
        Ok(())
    }
}

/// The RDATA texts of the crate's TLSA records (others left out).
fn contents(records: &[DnsRecord]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| match r {
            DnsRecord::TLSA(t) => Some(t.to_string().trim().to_string()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_convert() {
        let r: TlsaRecord = format!("3 1 1 {}", "ab".repeat(32)).parse().unwrap();
        let DnsRecord::TLSA(t) = to_crate(&r) else {
            panic!("not TLSA")
        };
        assert_eq!(t.to_string().trim(), r.to_string());
        let r: TlsaRecord = format!("2 0 2 {}", "cd".repeat(64)).parse().unwrap();
        let DnsRecord::TLSA(t) = to_crate(&r) else {
            panic!("not TLSA")
        };
        assert_eq!(t.to_string().trim(), r.to_string());
    }

    #[test]
    fn crate_errors_count_for_retries() {
        use dns_update::Error as E;
        assert_eq!(
            failure_of(&E::Unauthorized),
            Failure::Http {
                status: 401,
                retry_after: None
            }
        );
        assert_eq!(failure_of(&E::Client("reset".into())), Failure::Connect);
        assert_eq!(failure_of(&E::Api("x".into())), Failure::Other);
        for (text, status) in [
            ("HTTP 429: slow down", 429),
            ("HTTP 503", 503),
            ("HTTP 403: forbidden", 403),
            ("BadRequest {}", 400),
            ("Hetzner API error: status 500 Internal", 500),
            ("Route53 API error: 502 Bad Gateway - x", 502),
        ] {
            assert_eq!(
                failure_of(&E::Api(text.into())),
                Failure::Http {
                    status,
                    retry_after: None
                },
                "{text}"
            );
        }
        assert_eq!(
            failure_of(&E::Api(
                "Failed to send request to https://x/: connection refused".into()
            )),
            Failure::Connect
        );
        assert_eq!(
            failure_of(&E::Api("HTTP 200 OK but odd".into())),
            Failure::Other
        );
    }
}
