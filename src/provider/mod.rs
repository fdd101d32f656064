//! DNS providers behind one small trait: change the records danerollover owns at an owner
//! name, and read what the provider's API says is there where it can.
//!
//! The rule every back end keeps: records at an owner that a [`Change`] does not name are
//! never touched (another lineage's key, a DANE-TA record, a hand-made entry). Where the API
//! is atomic, one change is one request; where it is not, additions go before removals.
//!
//! Back ends ([`build`] picks one from a `[providers.NAME]` section):
//! - [`powerdns`]: PowerDNS HTTP API, one PATCH replacing the merged TLSA RRset (atomic).
//! - [`rfc2136`]: one TSIG-signed UPDATE message per change (atomic at the server).
//! - [`desec`]: deSEC's RRset API, one PATCH of the merged RRset (atomic).
//! - [`cloudflare`]: per-record POST / DELETE (not atomic: additions first).
//! - [`dnsupdate`]: every TLSA-capable service of the `dns-update` crate ([`services`]:
//!   Route 53, Gandi, OVH, Google Cloud DNS, Hetzner, INWX, netcup, ...): add to the
//!   RRset, then remove from it.
//! - [`exec`]: a program given the change as JSON on stdin.
//! - [`manual`]: prints the records for a person to enter.
//!
//! Failures are retried only where retrying can help ([`retry::RetryPolicy`]); every error
//! names the provider, the owner and the cause, never a secret.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use crate::config::ProviderConfig;
use crate::secrets::{self, Secret};
use crate::tlsa::TlsaRecord;

pub mod cloudflare;
pub mod desec;
pub mod dnsupdate;
pub mod exec;
mod http;
pub mod manual;
pub mod powerdns;
pub mod retry;
pub mod rfc2136;
pub use crate::config::services;
pub mod verify;

/// One change at one owner: records to add and records to remove, applied as one unit
/// where the API allows it, and otherwise additions first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The zone holding the owner, absolute with a trailing dot (`example.com.`).
    pub zone: String,
    /// The owner name, absolute with a trailing dot (`_25._tcp.mail.example.com.`).
    pub owner: String,
    /// TTL for added records (and for the RRset, where the API sets one TTL per RRset).
    pub ttl: u32,
    pub add: Vec<TlsaRecord>,
    pub remove: Vec<TlsaRecord>,
}

impl Change {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

impl fmt::Display for Change {
    /// Zone-file style lines, `+` for additions and `-` for removals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.add {
            writeln!(f, "+ {} {} IN TLSA {}", self.owner, self.ttl, r)?;
        }
        for r in &self.remove {
            writeln!(f, "- {} IN TLSA {}", self.owner, r)?;
        }
        Ok(())
    }
}

/// What a provider's API says an owner carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderView {
    pub records: Vec<TlsaRecord>,
    pub ttl: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused or failed; `cause` never contains a secret.
    #[error("provider {provider} ({kind}): {owner}: {cause}")]
    Failed {
        provider: String,
        kind: &'static str,
        owner: String,
        cause: String,
    },
    #[error("provider {provider}: {message}")]
    Config { provider: String, message: String },
}

impl ProviderError {
    /// A failure of `provider` (of type `kind`) at `owner`.
    pub fn failed(provider: &str, kind: &'static str, owner: &str, cause: String) -> Self {
        ProviderError::Failed {
            provider: provider.to_string(),
            kind,
            owner: owner.to_string(),
            cause,
        }
    }
}

#[async_trait]
pub trait Provider: Send + Sync {
    /// The provider's name in the configuration.
    fn name(&self) -> &str;
    /// The back end's type name (`powerdns`, `rfc2136`, ...).
    fn kind(&self) -> &'static str;
    /// Apply one change. Records not named in the change are left alone.
    async fn apply(&self, change: &Change) -> Result<(), ProviderError>;
    /// Apply several changes (at different owners), one result per change in the same
    /// order. The same rule as [`Provider::apply`] holds for each: records a change does
    /// not name are left alone. Back ends whose API takes many RRsets in one request
    /// (PowerDNS) override this to send one request per zone; the default applies the
    /// changes one after the other.
    async fn apply_all(&self, changes: &[Change]) -> Vec<Result<(), ProviderError>> {
        let mut out = Vec::with_capacity(changes.len());
        for c in changes {
            out.push(self.apply(c).await);
        }
        out
    }
    /// The TLSA records the provider's API holds at `owner`, where the API can tell
    /// (`Ok(None)` where it cannot: RFC 2136, exec, manual).
    async fn read(&self, zone: &str, owner: &str) -> Result<Option<ProviderView>, ProviderError>;
}

/// Build the back end a `[providers.NAME]` section describes. Secrets are read here (from
/// their files or environment variables), so a bad secret file fails before any change.
/// `timeout` bounds each request (HTTP request, DNS exchange); `exec` has its own
/// `timeout` key for the whole run.
pub fn build(
    name: &str,
    config: &ProviderConfig,
    timeout: Duration,
) -> Result<Box<dyn Provider>, ProviderError> {
    build_with_retry(name, config, timeout, retry::RetryPolicy::default())
}

/// [`build`] with a retry policy of its own (`[dns] retry_budget` sets its time budget).
pub fn build_with_retry(
    name: &str,
    config: &ProviderConfig,
    timeout: Duration,
    policy: retry::RetryPolicy,
) -> Result<Box<dyn Provider>, ProviderError> {
    let secret = |file: &Option<std::path::PathBuf>, env: &Option<String>| {
        secrets::resolve(file.as_deref(), env.as_deref()).map_err(|e| ProviderError::Config {
            provider: name.to_string(),
            message: e.to_string(),
        })
    };
    Ok(match config {
        ProviderConfig::Powerdns {
            url,
            api_key_file,
            api_key_env,
            server_id,
        } => Box::new(
            powerdns::PowerDns::new(
                name,
                url,
                server_id,
                secret(api_key_file, api_key_env)?,
                timeout,
            )?
            .with_retry(policy),
        ),
        ProviderConfig::Rfc2136 {
            server,
            tsig_name,
            tsig_algorithm,
            tsig_secret_file,
            tsig_secret_env,
        } => Box::new(
            rfc2136::Rfc2136::new(
                name,
                server,
                tsig_name,
                tsig_algorithm,
                &secret(tsig_secret_file, tsig_secret_env)?,
                timeout,
            )?
            .with_retry(policy),
        ),
        ProviderConfig::Desec {
            token_file,
            token_env,
            url,
        } => Box::new(
            desec::Desec::new(
                name,
                url.as_deref().unwrap_or(desec::DEFAULT_URL),
                secret(token_file, token_env)?,
                timeout,
            )?
            .with_retry(policy),
        ),
        ProviderConfig::Cloudflare {
            token_file,
            token_env,
            url,
        } => Box::new(
            cloudflare::Cloudflare::new(
                name,
                url.as_deref().unwrap_or(cloudflare::DEFAULT_URL),
                secret(token_file, token_env)?,
                timeout,
            )?
            .with_retry(policy),
        ),
        ProviderConfig::Route53 {
            access_key_id,
            secret_access_key_file,
            secret_access_key_env,
            region,
            hosted_zone_id,
            url,
        } => Box::new(
            dnsupdate::DnsUpdate::route53(
                name,
                access_key_id,
                secret(secret_access_key_file, secret_access_key_env)?,
                region.clone(),
                hosted_zone_id.clone(),
                url.clone(),
                timeout,
            )?
            .with_retry(policy),
        ),
        ProviderConfig::Gandi {
            token_file,
            token_env,
        } => Box::new(
            dnsupdate::DnsUpdate::gandi(name, secret(token_file, token_env)?, timeout)?
                .with_retry(policy),
        ),
        ProviderConfig::Ovh {
            endpoint,
            application_key,
            application_secret_file,
            application_secret_env,
            consumer_key_file,
            consumer_key_env,
        } => Box::new(
            dnsupdate::DnsUpdate::ovh(
                name,
                endpoint,
                application_key,
                secret(application_secret_file, application_secret_env)?,
                secret(consumer_key_file, consumer_key_env)?,
                timeout,
            )?
            .with_retry(policy),
        ),
        ProviderConfig::Googlecloud {
            service_account_file,
            project_id,
            managed_zone,
        } => Box::new(
            dnsupdate::DnsUpdate::google_cloud(
                name,
                secret(&Some(service_account_file.clone()), &None)?,
                project_id,
                managed_zone.clone(),
                timeout,
            )?
            .with_retry(policy),
        ),
        ProviderConfig::Exec { command, timeout } => {
            Box::new(exec::Exec::new(name, command.clone(), *timeout)?)
        }
        ProviderConfig::Manual {} => Box::new(manual::Manual::stdout(name)),
        ProviderConfig::Dnsupdate { service, settings } => Box::new(
            dnsupdate::DnsUpdate::service(name, service, settings, timeout)?.with_retry(policy),
        ),
    })
}

// ---------------------------------------------------------------------------------------
// Pure helpers shared by the back ends.

/// `name` made absolute (one trailing dot).
pub fn fqdn(name: &str) -> String {
    let trimmed = name.trim().trim_end_matches('.');
    format!("{trimmed}.")
}

/// Whether two domain names are the same (case-insensitive, trailing dot optional).
pub fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// The owner relative to the zone: `_25._tcp.mail` for `_25._tcp.mail.example.com.` in
/// `example.com.`, "" for the apex, `None` when the owner is not in the zone.
pub fn relative_name(owner: &str, zone: &str) -> Option<String> {
    let owner = owner.trim_end_matches('.');
    let zone = zone.trim_end_matches('.');
    if owner.eq_ignore_ascii_case(zone) {
        return Some(String::new());
    }
    if zone.is_empty() {
        return Some(owner.to_string());
    }
    let cut = owner.len().checked_sub(zone.len() + 1)?;
    let (head, tail) = owner.split_at(cut);
    (tail.len() == zone.len() + 1 && tail.starts_with('.') && tail[1..].eq_ignore_ascii_case(zone))
        .then(|| head.to_string())
}

/// Whether the RDATA text `content` is `record` (compared as parsed records, so case and
/// spacing of the hex do not matter; text that does not parse is never equal).
pub fn content_is(content: &str, record: &TlsaRecord) -> bool {
    content
        .parse::<TlsaRecord>()
        .map(|r| &r == record)
        .unwrap_or(false)
}

/// The RRset after a change: the existing records (kept as they are, in order, even those
/// that do not parse as TLSA) minus the ones the change removes, plus the additions not
/// already there. Generic over the provider's record type (`content` gives its RDATA text)
/// and builds new entries with `make`.
pub fn merge<T: Clone>(
    existing: &[T],
    content: impl Fn(&T) -> &str,
    change: &Change,
    make: impl Fn(&TlsaRecord) -> T,
) -> Vec<T> {
    let mut out: Vec<T> = existing
        .iter()
        .filter(|e| !change.remove.iter().any(|r| content_is(content(e), r)))
        .cloned()
        .collect();
    for add in &change.add {
        if !out.iter().any(|e| content_is(content(e), add)) {
            out.push(make(add));
        }
    }
    out
}

/// Whether two RRsets hold the same records (as parsed TLSA where possible, as text
/// otherwise), ignoring order.
pub fn same_set<T>(a: &[T], b: &[T], content: impl Fn(&T) -> &str) -> bool {
    let key = |t: &T| {
        let text = content(t);
        text.parse::<TlsaRecord>()
            .map(|r| r.to_string())
            .unwrap_or_else(|_| text.trim().to_string())
    };
    let mut ka: Vec<String> = a.iter().map(key).collect();
    let mut kb: Vec<String> = b.iter().map(key).collect();
    ka.sort();
    ka.dedup();
    kb.sort();
    kb.dedup();
    ka == kb
}

/// Records of a view, from RDATA texts (texts that are not TLSA are left out).
pub fn parse_records<'a>(contents: impl IntoIterator<Item = &'a str>) -> Vec<TlsaRecord> {
    contents
        .into_iter()
        .filter_map(|c| c.parse::<TlsaRecord>().ok())
        .collect()
}

/// `text` with every secret value replaced by `<redacted>` (also as a URL query or form
/// body carries it: a client that puts a password in the query, as ClouDNS's does, names
/// the URL when a request fails), control characters turned into spaces, and cut to `max`
/// characters: fit for an error message.
pub fn sanitize(text: &str, secrets: &[&Secret], max: usize) -> String {
    let mut out = text.to_string();
    for s in secrets {
        let v = s.expose();
        if !v.is_empty() {
            out = out.replace(v, "<redacted>");
            out = out.replace(&form_encoded(v), "<redacted>");
        }
    }
    let cleaned: String = out
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if cleaned.chars().count() > max {
        let cut: String = cleaned.chars().take(max).collect();
        format!("{cut}...")
    } else {
        cleaned
    }
}

/// `s` as application/x-www-form-urlencoded writes it (space as `+`, other bytes outside
/// `A-Za-z0-9*-._` as `%XX`).
fn form_encoded(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::tlsa::sample_3_1_1 as rec;

    fn change(add: Vec<TlsaRecord>, remove: Vec<TlsaRecord>) -> Change {
        Change {
            zone: "example.com.".into(),
            owner: "_25._tcp.mail.example.com.".into(),
            ttl: 300,
            add,
            remove,
        }
    }

    #[test]
    fn relative_names() {
        assert_eq!(
            relative_name("_25._tcp.mail.example.com.", "example.com.").as_deref(),
            Some("_25._tcp.mail")
        );
        assert_eq!(
            relative_name("_25._tcp.Mail.Example.COM", "example.com.").as_deref(),
            Some("_25._tcp.Mail")
        );
        assert_eq!(
            relative_name("example.com.", "example.com").as_deref(),
            Some("")
        );
        assert_eq!(relative_name("mail.badexample.com.", "example.com."), None);
        assert_eq!(relative_name("example.org.", "example.com."), None);
        assert_eq!(relative_name("com.", "example.com."), None);
        assert_eq!(fqdn("example.com"), "example.com.");
        assert_eq!(fqdn("example.com.."), "example.com.");
        assert!(same_name("Example.com.", "example.COM"));
    }

    #[test]
    fn merge_keeps_foreign_records_and_unparsable_text() {
        let foreign = rec(0xaa).to_string();
        let dane_ta = format!("2 0 1 {}", "bb".repeat(32));
        let odd = "3 1 1 ZZZ".to_string();
        let old = rec(1).to_string().to_uppercase();
        let existing = vec![foreign.clone(), dane_ta.clone(), odd.clone(), old];
        let c = change(vec![rec(2), rec(0xaa)], vec![rec(1), rec(9)]);
        let merged = merge(&existing, |s| s.as_str(), &c, |r| r.to_string());
        assert_eq!(merged, vec![foreign, dane_ta, odd, rec(2).to_string()]);
    }

    #[test]
    fn merge_of_an_empty_set_is_the_additions() {
        let c = change(vec![rec(2), rec(2)], vec![rec(1)]);
        let merged = merge(&[] as &[String], |s| s.as_str(), &c, |r| r.to_string());
        assert_eq!(merged, vec![rec(2).to_string()]);
    }

    #[test]
    fn same_set_ignores_order_case_and_duplicates() {
        let a = vec![rec(1).to_string(), rec(2).to_string()];
        let b = vec![rec(2).to_string().to_uppercase(), rec(1).to_string()];
        assert!(same_set(&a, &b, |s| s.as_str()));
        let c = vec![rec(2).to_string()];
        assert!(!same_set(&a, &c, |s| s.as_str()));
    }

    #[test]
    fn sanitize_redacts_bounds_and_flattens() {
        let s = Secret::new("hunter2hunter2");
        let text = "error: key hunter2hunter2 refused\r\nmore\tlines";
        let out = sanitize(text, &[&s], 200);
        assert_eq!(out, "error: key <redacted> refused more lines");
        let long = "x".repeat(500);
        assert_eq!(sanitize(&long, &[], 10), format!("{}...", "x".repeat(10)));
        let s = Secret::new("p@ss+w rd!é");
        let text = "Failed to send request to https://api.cloudns.net/dns/records.json\
                    ?auth-id=1&auth-password=p%40ss%2Bw+rd%21%C3%A9&host=x: timed out";
        let out = sanitize(text, &[&s], 300);
        assert_eq!(
            out,
            "Failed to send request to https://api.cloudns.net/dns/records.json\
             ?auth-id=1&auth-password=<redacted>&host=x: timed out"
        );
        // The same as the URL crate's form encoder writes it.
        let url = reqwest::Url::parse_with_params("https://x/", &[("auth-password", s.expose())])
            .unwrap();
        assert_eq!(
            sanitize(url.as_str(), &[&s], 300),
            "https://x/?auth-password=<redacted>"
        );
    }

    #[test]
    fn display_of_a_change() {
        let c = change(vec![rec(2)], vec![rec(1)]);
        let text = c.to_string();
        assert!(text.starts_with(&format!(
            "+ _25._tcp.mail.example.com. 300 IN TLSA {}",
            rec(2)
        )));
        assert!(text.contains(&format!("- _25._tcp.mail.example.com. IN TLSA {}", rec(1))));
    }
}
