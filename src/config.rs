//! The TOML configuration. `parse(&str)` is separate from `load(path)`; every default is
//! written down here, next to its key.
//!
//! ```toml
//! letsencrypt_dir = "/etc/letsencrypt"   # certbot's config dir
//! state_dir = "/var/lib/danerollover"    # state file, lock, next keys
//! certbot = ["certbot"]                  # argv prefix for the key switch
//!
//! [dns]
//! validating_resolver = "127.0.0.1:53"   # trust this resolver's AD bit
//! # trust_anchor_file = "/usr/share/dns/root.key"   # or validate in process
//! timeout = "5s"
//! ttl_factor = 2
//! margin = "60s"
//!
//! [zones."example.com"]                  # optional per-zone overrides
//! nameservers = ["192.0.2.1:53"]
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
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where the configuration is read from when neither `--config` nor `$DANEROLLOVER_CONFIG`
/// names a file.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/danerollover/config.toml";
/// certbot's default configuration directory.
pub const DEFAULT_LETSENCRYPT_DIR: &str = "/etc/letsencrypt";
/// certbot's configuration directory on systems that install it under /usr/local.
pub const ALT_LETSENCRYPT_DIR: &str = "/usr/local/etc/letsencrypt";
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
    /// The wait before a switch is `ttl_factor` x the largest TTL (default 2, RFC 7671 8.1).
    #[serde(default = "default_ttl_factor")]
    pub ttl_factor: u32,
    /// Added to every wait (default 60s).
    #[serde(default = "default_margin", with = "humantime_serde_compat")]
    pub margin: Duration,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            validating_resolver: None,
            trust_anchor_file: None,
            timeout: default_timeout(),
            ttl_factor: default_ttl_factor(),
            margin: default_margin(),
        }
    }
}

fn default_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_ttl_factor() -> u32 {
    2
}
fn default_margin() -> Duration {
    Duration::from_secs(60)
}

/// `[zones."NAME"]`: overrides for one zone.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    /// The zone's authoritative servers ("address:port"), instead of its NS records.
    #[serde(default)]
    pub nameservers: Vec<String>,
}

/// `[providers.NAME]`: one DNS provider account. The `type` key picks the back end.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ProviderConfig {
    /// PowerDNS authoritative server's HTTP API.
    Powerdns {
        url: String,
        /// The API key, from a file (mode 0600) ...
        api_key_file: Option<PathBuf>,
        /// ... or from this environment variable.
        api_key_env: Option<String>,
        /// The PowerDNS server id (default "localhost").
        #[serde(default = "default_server_id")]
        server_id: String,
    },
    /// RFC 2136 dynamic updates signed with TSIG (BIND, Knot, ...).
    Rfc2136 {
        /// The primary server, "address:port".
        server: String,
        tsig_name: String,
        /// hmac-sha256 (default), hmac-sha384 or hmac-sha512.
        #[serde(default = "default_tsig_algorithm")]
        tsig_algorithm: String,
        /// The base64 TSIG secret, from a file (mode 0600) ...
        tsig_secret_file: Option<PathBuf>,
        /// ... or from this environment variable.
        tsig_secret_env: Option<String>,
    },
    /// deSEC (desec.io) API.
    Desec {
        token_file: Option<PathBuf>,
        token_env: Option<String>,
        /// API base URL (default https://desec.io/api/v1).
        url: Option<String>,
    },
    /// Cloudflare API.
    Cloudflare {
        token_file: Option<PathBuf>,
        token_env: Option<String>,
        /// API base URL (default https://api.cloudflare.com/client/v4).
        url: Option<String>,
    },
    /// Any program: receives each change as JSON on stdin.
    Exec { command: Vec<String> },
    /// A person: danerollover prints the records to add and remove, and observes DNS.
    Manual {},
}

fn default_server_id() -> String {
    "localhost".to_string()
}
fn default_tsig_algorithm() -> String {
    "hmac-sha256".to_string()
}

impl ProviderConfig {
    pub fn type_name(&self) -> &'static str {
        match self {
            ProviderConfig::Powerdns { .. } => "powerdns",
            ProviderConfig::Rfc2136 { .. } => "rfc2136",
            ProviderConfig::Desec { .. } => "desec",
            ProviderConfig::Cloudflare { .. } => "cloudflare",
            ProviderConfig::Exec { .. } => "exec",
            ProviderConfig::Manual {} => "manual",
        }
    }
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

impl Config {
    /// Parse configuration text. `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let config: Config =
            toml::from_str(text).map_err(|e| invalid(e.to_string().trim_end().to_string()))?;
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
        }
        for (name, provider) in &self.providers {
            let need_one = |file: &Option<PathBuf>, env: &Option<String>, what: &str| {
                if file.is_none() && env.is_none() {
                    Err(format!(
                        "providers.{name}: set {what}_file (a file readable only by root) or {what}_env"
                    ))
                } else {
                    Ok(())
                }
            };
            match provider {
                ProviderConfig::Powerdns {
                    api_key_file,
                    api_key_env,
                    ..
                } => need_one(api_key_file, api_key_env, "api_key")?,
                ProviderConfig::Rfc2136 {
                    tsig_secret_file,
                    tsig_secret_env,
                    tsig_algorithm,
                    ..
                } => {
                    need_one(tsig_secret_file, tsig_secret_env, "tsig_secret")?;
                    if !matches!(
                        tsig_algorithm.to_ascii_lowercase().as_str(),
                        "hmac-sha256" | "hmac-sha384" | "hmac-sha512"
                    ) {
                        return Err(format!(
                            "providers.{name}.tsig_algorithm = {tsig_algorithm:?}: use hmac-sha256, hmac-sha384 or hmac-sha512"
                        ));
                    }
                }
                ProviderConfig::Desec {
                    token_file,
                    token_env,
                    ..
                }
                | ProviderConfig::Cloudflare {
                    token_file,
                    token_env,
                    ..
                } => need_one(token_file, token_env, "token")?,
                ProviderConfig::Exec { command } if command.is_empty() => {
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
