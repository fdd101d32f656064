//! The TOML configuration. `parse(&str)` is separate from `load(path)`; every default is
//! written down here, next to its key.
//!
//! ```toml
//! letsencrypt_dir = "/etc/letsencrypt"   # certbot's config dir
//! state_dir = "/var/lib/danerollover"    # state file, lock, next keys
//! certbot = ["certbot"]                  # argv prefix for the key switch
//! certbot_logs_dir = "/var/log/letsencrypt"   # read by `run` for refused keys
//!
//! [dns]
//! validating_resolver = "127.0.0.1:53"   # trust this resolver's AD bit
//! # trust_anchor_file = "/usr/share/dns/root.key"   # or validate in process
//! timeout = "5s"
//! retry_budget = "60s"                   # retries of one provider change stop after this
//! ttl_factor = 2
//! margin = "60s"
//! reuse_observations = "1d"              # reuse while a zone's serials stay; "0s": never
//! prior_ttl = "7d"                       # TTL assumed before the first look at an RRset
//!
//! [zones."example.com"]                  # optional per-zone overrides
//! nameservers = ["192.0.2.1:53"]
//! [zones."example.net"]                  # where CNAME'd owners point (RFC 7671 7)
//! provider = "home"                      # the provider that writes this zone
//!
//! [providers.home]
//! type = "powerdns"
//! url = "http://127.0.0.1:8081"
//! api_key_file = "/etc/danerollover/pdns.key"
//!
//! [lineages."mail.example.com"]
//! provider = "home"
//! tlsa = ["_25._tcp.mail.example.com"]
//! ttl = 300
//! matching = [1]
//! reload = [["systemctl", "reload", "postfix"]]
//! on_key_blocked = "emergency"           # or "alarm"
//! max_forced_renewals = 3                # switches per 7 days
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub mod client;
mod provider;
pub mod services;

pub use client::{ClientKind, ClientSettings};
pub use provider::{OVH_ENDPOINTS, ProviderConfig, SecretSource, refused_provider_type};

/// How long the retries of one provider change go on by default (`dns.retry_budget`).
pub const DEFAULT_RETRY_BUDGET: Duration = Duration::from_secs(60);

/// Where the configuration is read from when neither `--config` nor `$DANEROLLOVER_CONFIG`
/// names a file.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/danerollover/config.toml";
/// certbot's default configuration directory.
pub const DEFAULT_LETSENCRYPT_DIR: &str = "/etc/letsencrypt";
/// certbot's configuration directory on systems that install it under /usr/local.
pub const ALT_LETSENCRYPT_DIR: &str = "/usr/local/etc/letsencrypt";
/// certbot's log directory by default (its `--logs-dir`).
pub const DEFAULT_CERTBOT_LOGS_DIR: &str = "/var/log/letsencrypt";
/// Where danerollover keeps its state by default.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/danerollover";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("configuration {}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

/// The whole configuration file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// certbot's configuration directory (default: /etc/letsencrypt, or
    /// /usr/local/etc/letsencrypt where only that exists).
    pub letsencrypt_dir: Option<PathBuf>,
    /// danerollover's state directory (default: /var/lib/danerollover).
    pub state_dir: Option<PathBuf>,
    /// The argv prefix used to run certbot for the key switch (default: `["certbot"]`).
    #[serde(default = "default_certbot")]
    pub certbot: Vec<String>,
    /// certbot's log directory (its `--logs-dir`, default `/var/log/letsencrypt`): `run`
    /// reads the logs written since its last pass for renewals the CA refused because of
    /// the key (`badPublicKey`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certbot_logs_dir: Option<PathBuf>,
    #[serde(default)]
    pub dns: DnsConfig,
    /// Per-zone overrides, keyed by zone name.
    #[serde(default)]
    pub zones: BTreeMap<String, ZoneConfig>,
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Managed lineages, keyed by certbot lineage name.
    #[serde(default)]
    pub lineages: BTreeMap<String, LineageConfig>,
}

fn default_certbot() -> Vec<String> {
    vec!["certbot".to_string()]
}

/// `[dns]`: how records are observed and validated, and how long a rollover waits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsConfig {
    /// A validating resolver whose AD bit is trusted ("address:port"). When neither this nor
    /// `trust_anchor_file` is set, the system's first name server is asked (with CD) and
    /// validation is done in process from the built-in root trust anchors.
    pub validating_resolver: Option<String>,
    /// Validate in process (hickory) from these trust anchors (DNSKEY records, zone-file
    /// text), asking `validating_resolver` (or the system resolver) with checking disabled.
    pub trust_anchor_file: Option<PathBuf>,
    /// Timeout of one DNS query (default 5s).
    #[serde(default = "default_timeout", with = "humantime_serde_compat")]
    pub timeout: Duration,
    /// The time budget of one provider change's retries (default 60s): failures that
    /// retrying can help (5xx, 429 with its Retry-After, timeouts, refused connections,
    /// SERVFAIL) are retried with backoff until the next attempt would start later than
    /// this after the first; so a change gives up within `retry_budget` + `timeout`.
    #[serde(default = "default_retry_budget", with = "humantime_serde_compat")]
    pub retry_budget: Duration,
    /// The wait before a switch is `ttl_factor` x the largest TTL (default 2, RFC 7671 8.1).
    #[serde(default = "default_ttl_factor")]
    pub ttl_factor: u32,
    /// Added to every wait (default 60s).
    #[serde(default = "default_margin", with = "humantime_serde_compat")]
    pub margin: Duration,
    /// How long `run` and `status` may reuse an owner's last observation while every server
    /// of its zone serves the same SOA serial and the zone validates Secure (default 1d;
    /// `0s`: always ask every server). Only a pass with nothing to do rests on a reused
    /// observation: anything to change is decided on a fresh one (see `dns::reuse`).
    #[serde(
        default = "default_reuse_observations",
        with = "humantime_serde_compat"
    )]
    pub reuse_observations: Duration,
    /// The largest TTL an owner's TLSA RRset may have been served with before danerollover
    /// first looked at it (default 7d: BIND's `max-cache-ttl`, the largest cap of the
    /// common resolvers). No observation can show a TTL lowered before the first look, so
    /// when that look finds records there, a resolver may hold them this long: the first
    /// wait counts it. Set it to the TTL you served before, if you know it was lower.
    #[serde(default = "default_prior_ttl", with = "humantime_serde_compat")]
    pub prior_ttl: Duration,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            validating_resolver: None,
            trust_anchor_file: None,
            timeout: default_timeout(),
            retry_budget: default_retry_budget(),
            ttl_factor: default_ttl_factor(),
            margin: default_margin(),
            reuse_observations: default_reuse_observations(),
            prior_ttl: default_prior_ttl(),
        }
    }
}

fn default_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_retry_budget() -> Duration {
    DEFAULT_RETRY_BUDGET
}
fn default_ttl_factor() -> u32 {
    2
}
fn default_margin() -> Duration {
    Duration::from_secs(60)
}
fn default_reuse_observations() -> Duration {
    Duration::from_secs(86_400)
}
fn default_prior_ttl() -> Duration {
    Duration::from_secs(7 * 86_400)
}

/// `[zones."NAME"]`: overrides for one zone.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    /// The zone's authoritative servers ("address:port"), instead of its NS records.
    #[serde(default)]
    pub nameservers: Vec<String>,
    /// The provider (a key of `[providers]`) that writes this zone: needed when a
    /// lineage's owner is a CNAME whose target lies in this zone, another zone than the
    /// owner's (records are published at the target, RFC 7671 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

/// `[lineages."NAME"]`: a certbot lineage danerollover manages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineageConfig {
    /// The provider (a key of `[providers]`) that publishes this lineage's records.
    pub provider: String,
    /// Owner names that must carry this lineage's records, e.g. `_25._tcp.mail.example.com`.
    pub tlsa: Vec<String>,
    /// TTL of the published records (default 300).
    #[serde(default = "default_ttl")]
    pub ttl: u32,
    /// Matching types published for each key: 1 = `3 1 1`, 2 = `3 1 2` (default [1]).
    #[serde(default = "default_matching")]
    pub matching: Vec<u8>,
    /// The zone holding the owners (default: discovered from SOA).
    pub zone: Option<String>,
    /// The authoritative servers ("address:port") instead of the zone's NS records.
    #[serde(default)]
    pub nameservers: Vec<String>,
    /// Commands (argv lists) run after a key switch, e.g. `[["systemctl", "reload", "postfix"]]`.
    #[serde(default)]
    pub reload: Vec<Vec<String>>,
    /// Switch to a new key this often (done by `run`), e.g. "365d". Default: never.
    #[serde(default, with = "humantime_serde_compat::option")]
    pub rollover_every: Option<Duration>,
    /// Endpoints to probe besides those derived from `tlsa` (`_PORT._tcp.HOST`: every
    /// address of HOST on PORT): "host:port", "address:port" or "[v6]:port", each with an
    /// optional "/smtp", "/imap", "/pop3" or "/tls" (default: from the port). One naming a
    /// derived endpoint's host and port replaces it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<String>,
    /// Probe only `endpoints`, not those derived from `tlsa` (e.g. when this host reaches
    /// its servers by other addresses than the public ones).
    #[serde(default, skip_serializing_if = "is_false")]
    pub endpoints_only: bool,
    /// Probe the endpoints before a switch and before retiring the old key's records
    /// (default true). false: retire after the wait without looking.
    #[serde(default = "default_true")]
    pub probe: bool,
    /// The ACME client that renews this lineage (default certbot; docs/acme-clients.md).
    #[serde(default, skip_serializing_if = "ClientKind::is_default")]
    pub client: ClientKind,
    /// The client's own directory: lego's `--path`, dehydrated's BASEDIR, uacme's confdir,
    /// acme.sh's home (certbot: `letsencrypt_dir`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_dir: Option<PathBuf>,
    /// The client's configuration file (dehydrated's `config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_config: Option<PathBuf>,
    /// The argv that runs the client (danerollover appends the renewal's arguments);
    /// `client = "command"`: the whole renew command. certbot: the top-level `certbot`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// `client = "command"`: the private key file the client renews with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// `client = "command"`: the certificate file (leaf first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<PathBuf>,
    /// What to do when the CA refuses the live key (`badPublicKey`: a key revoked as
    /// compromised is blocked for all future issuance): `"emergency"` (default) runs the
    /// emergency rollover to the pre-published next key at once; `"alarm"` only reports.
    #[serde(default)]
    pub on_key_blocked: OnKeyBlocked,
    /// At most this many switches force a renewal per 7 days (default 3): the CA counts
    /// every certificate against its limits, and a switch that keeps failing must not
    /// use them up before the ordinary renewals.
    #[serde(default = "default_max_forced_renewals")]
    pub max_forced_renewals: u32,
}

impl LineageConfig {
    /// The client settings of this lineage.
    pub fn client_settings(&self) -> ClientSettings {
        ClientSettings {
            dir: self.client_dir.clone(),
            config: self.client_config.clone(),
            command: self.command.clone(),
            key_file: self.key_file.clone(),
            cert_file: self.cert_file.clone(),
        }
    }
}

/// `on_key_blocked`: the answer to a CA refusing the live key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnKeyBlocked {
    /// Run the emergency rollover to the next key at once.
    #[default]
    Emergency,
    /// Only report (exit 1, `status` in danger).
    Alarm,
}

fn default_max_forced_renewals() -> u32 {
    3
}

fn default_true() -> bool {
    true
}
fn is_false(b: &bool) -> bool {
    !*b
}

fn default_ttl() -> u32 {
    300
}
fn default_matching() -> Vec<u8> {
    vec![1]
}

/// Durations in the configuration are strings like "5s", "60s", "365d".
mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "{text:?} is not a duration like \"60s\" or \"365d\": {e}"
            ))
        })
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            super::deserialize(d).map(Some)
        }
    }
}

/// The parser's error, made more precise where it can be: serde reports an unknown key of
/// a `[providers.NAME]` table (a tagged enum) at the table's header, so the key's own line
/// is looked up. The key's line is named, never shown (it may hold a secret put inline).
fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let default = e.to_string().trim_end().to_string();
    let (Some(span), Some(rest)) = (e.span(), e.message().strip_prefix("unknown field `")) else {
        return default;
    };
    let Some(field) = rest.split('`').next() else {
        return default;
    };
    let Some(head) = text.get(..span.start) else {
        return default;
    };
    let table_line = head.matches('\n').count() + 1;
    let table = text[span.start..].lines().next().unwrap_or("").trim();
    if !table.starts_with('[') {
        return default;
    }
    for (i, line) in text[span.start..].lines().enumerate().skip(1) {
        let t = line.trim_start();
        if t.starts_with('[') {
            break;
        }
        let key = t.split('=').next().unwrap_or("").trim().trim_matches('"');
        if t.contains('=') && key == field {
            return format!(
                "line {}: {} (in {table} at line {table_line})",
                table_line + i,
                e.message().trim_end()
            );
        }
    }
    default
}

fn is_http_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

impl Config {
    /// Parse configuration text. `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let config: Config =
            toml::from_str(text).map_err(|e| invalid(describe_toml_error(text, &e)))?;
        config.validate().map_err(invalid)?;
        Ok(config)
    }

    /// Read and parse the configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    fn validate(&self) -> Result<(), String> {
        if self.certbot.is_empty() {
            return Err("certbot must name a program, e.g. certbot = [\"certbot\"]".into());
        }
        if self.dns.ttl_factor < 1 {
            return Err("dns.ttl_factor must be at least 1 (RFC 7671 8.1 asks for 2)".into());
        }
        if self.dns.prior_ttl.as_secs() > i32::MAX as u64 {
            return Err(format!(
                "dns.prior_ttl = {}s is longer than any TTL (at most {}s, RFC 2181 8)",
                self.dns.prior_ttl.as_secs(),
                i32::MAX
            ));
        }
        for (name, lineage) in &self.lineages {
            if !self.providers.contains_key(&lineage.provider) {
                let known: Vec<&str> = self.providers.keys().map(String::as_str).collect();
                return Err(format!(
                    "lineages.\"{name}\".provider = {:?} names no [providers.{}] section (defined: {})",
                    lineage.provider,
                    lineage.provider,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ));
            }
            if lineage.tlsa.is_empty() {
                return Err(format!(
                    "lineages.\"{name}\".tlsa must list at least one owner, e.g. [\"_25._tcp.{name}\"]"
                ));
            }
            if lineage.matching.is_empty() || lineage.matching.iter().any(|m| !matches!(m, 1 | 2)) {
                return Err(format!(
                    "lineages.\"{name}\".matching must be a list of 1 (SHA2-256) and/or 2 (SHA2-512)"
                ));
            }
            if lineage.reload.iter().any(Vec::is_empty) {
                return Err(format!("lineages.\"{name}\".reload has an empty command"));
            }
            for e in &lineage.endpoints {
                crate::endpoint::parse_endpoint(e)
                    .map_err(|why| format!("lineages.\"{name}\".endpoints: {e:?}: {why}"))?;
            }
            if let Err(e) = lineage.client_settings().check(lineage.client) {
                return Err(format!("lineages.\"{name}\": {e}"));
            }
            if lineage.endpoints_only && lineage.endpoints.is_empty() {
                return Err(format!(
                    "lineages.\"{name}\".endpoints_only = true needs endpoints = [\"host:port\", ...]"
                ));
            }
        }
        for (zone, zc) in &self.zones {
            if let Some(p) = &zc.provider
                && !self.providers.contains_key(p)
            {
                return Err(format!(
                    "zones.\"{zone}\".provider = {p:?} names no [providers.{p}] section"
                ));
            }
        }
        for (name, provider) in &self.providers {
            for source in provider.secret_sources() {
                if source.file.is_none() && source.env.is_none() {
                    return Err(format!(
                        "providers.{name}: set {key}_file (a file readable only by root) or {key}_env",
                        key = source.key
                    ));
                }
            }
            match provider {
                ProviderConfig::Rfc2136 {
                    tsig_algorithm,
                    server,
                    tsig_name,
                    ..
                } => {
                    if !matches!(
                        tsig_algorithm.to_ascii_lowercase().as_str(),
                        "hmac-sha256" | "hmac-sha384" | "hmac-sha512"
                    ) {
                        return Err(format!(
                            "providers.{name}.tsig_algorithm = {tsig_algorithm:?}: use hmac-sha256, hmac-sha384 or hmac-sha512"
                        ));
                    }
                    if server.trim().is_empty() {
                        return Err(format!(
                            "providers.{name}.server must name the primary server, e.g. \"192.0.2.1:53\""
                        ));
                    }
                    if tsig_name.trim().is_empty() {
                        return Err(format!("providers.{name}.tsig_name must name the TSIG key"));
                    }
                }
                ProviderConfig::Powerdns { url, .. } if !is_http_url(url) => {
                    return Err(format!(
                        "providers.{name}.url = {url:?}: expected http(s)://host:port, e.g. \"http://127.0.0.1:8081\""
                    ));
                }
                ProviderConfig::Desec { url: Some(url), .. }
                | ProviderConfig::Cloudflare { url: Some(url), .. }
                | ProviderConfig::Route53 { url: Some(url), .. }
                    if !is_http_url(url) =>
                {
                    return Err(format!(
                        "providers.{name}.url = {url:?}: expected an http(s):// URL"
                    ));
                }
                ProviderConfig::Ovh { endpoint, .. }
                    if !OVH_ENDPOINTS.contains(&endpoint.as_str()) =>
                {
                    return Err(format!(
                        "providers.{name}.endpoint = {endpoint:?}: use one of {}",
                        OVH_ENDPOINTS.join(", ")
                    ));
                }
                ProviderConfig::Exec { command, .. } if command.is_empty() => {
                    return Err(format!("providers.{name}.command must name a program"));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
letsencrypt_dir = "/etc/letsencrypt"
state_dir = "/var/lib/danerollover"

[dns]
validating_resolver = "127.0.0.1:53"
timeout = "2s"
margin = "5s"

[providers.home]
type = "powerdns"
url = "http://127.0.0.1:8081"
api_key_file = "/etc/danerollover/pdns.key"

[lineages."mail.example.com"]
provider = "home"
tlsa = ["_25._tcp.mail.example.com"]
reload = [["systemctl", "reload", "postfix"]]
rollover_every = "365d"
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/danerollover/config.toml"))
    }

    #[test]
    fn parses_with_defaults() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.certbot, vec!["certbot"]);
        assert_eq!(c.dns.timeout, Duration::from_secs(2));
        assert_eq!(c.dns.ttl_factor, 2);
        let l = &c.lineages["mail.example.com"];
        assert_eq!(l.ttl, 300);
        assert_eq!(l.matching, vec![1]);
        assert_eq!(l.rollover_every, Some(Duration::from_secs(365 * 86400)));
        assert!(
            matches!(c.providers["home"], ProviderConfig::Powerdns { ref server_id, .. } if server_id == "localhost")
        );
    }

    #[test]
    fn unknown_key_names_the_line() {
        let text = GOOD.replace("margin = \"5s\"", "margn = \"5s\"");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("line 8"), "{err}");
        assert!(err.contains("margn"), "{err}");
    }

    #[test]
    fn unknown_key_in_provider_is_refused() {
        let text = GOOD.replace(
            "type = \"powerdns\"",
            "type = \"powerdns\"\napi_key = \"s3cret\"",
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("api_key"), "{err}");
        assert!(
            !err.contains("s3cret"),
            "a secret leaked into an error: {err}"
        );
    }

    #[test]
    fn unknown_provider_type_is_refused() {
        let err = parse(&GOOD.replace("\"powerdns\"", "\"pdns\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("pdns"), "{err}");
        assert!(err.contains("line"), "{err}");
    }

    #[test]
    fn dangling_provider_is_refused() {
        let err = parse(&GOOD.replace("provider = \"home\"", "provider = \"away\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("away") && err.contains("home"), "{err}");
    }

    #[test]
    fn secret_source_is_required() {
        let err = parse(&GOOD.replace("api_key_file = \"/etc/danerollover/pdns.key\"", ""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("api_key_file"), "{err}");
    }
}
