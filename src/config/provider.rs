//! `[providers.NAME]`: the DNS provider accounts of the configuration, their types and
//! where each one's secrets come from.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::humantime_serde_compat;

/// `[providers.NAME]`: one DNS provider account. The `type` key picks the back end.
///
/// Secrets never sit in this file: each is read from a `*_file` (mode 0600 or stricter)
/// or from the environment variable a `*_env` key names.
///
/// Types that cannot carry DANE records are refused with the reason, naming the line
/// (see [`refused_provider_type`]).
///
/// ```toml
/// [providers.home]                 # PowerDNS HTTP API
/// type = "powerdns"
/// url = "http://127.0.0.1:8081"
/// api_key_file = "/etc/danerollover/pdns.key"    # or api_key_env = "PDNS_API_KEY"
/// # server_id = "localhost"
///
/// [providers.bind]                 # RFC 2136 + TSIG
/// type = "rfc2136"
/// server = "192.0.2.1:53"
/// tsig_name = "danerollover."
/// tsig_algorithm = "hmac-sha256"   # hmac-sha384, hmac-sha512
/// tsig_secret_file = "/etc/danerollover/tsig.secret"   # base64, as tsig-keygen prints it
///
/// [providers.desec]                # also: type = "cloudflare", "gandi"
/// type = "desec"
/// token_file = "/etc/danerollover/desec.token"
/// # url = "https://desec.io/api/v1"
///
/// [providers.aws]
/// type = "route53"
/// access_key_id = "AKIA..."
/// secret_access_key_file = "/etc/danerollover/aws.secret"
///
/// [providers.ovh]
/// type = "ovh"
/// endpoint = "ovh-eu"
/// application_key = "..."
/// application_secret_file = "/etc/danerollover/ovh.secret"
/// consumer_key_file = "/etc/danerollover/ovh.consumer"
///
/// [providers.gcp]
/// type = "googlecloud"
/// service_account_file = "/etc/danerollover/gcp.json"
/// project_id = "my-project"
///
/// [providers.netcup]              # any TLSA-capable service of dns-update:
/// type = "dnsupdate"               # see docs/providers.md for each one's settings
/// service = "netcup"
/// customer_number = "12345"
/// api_key_file = "/etc/danerollover/netcup.key"
/// api_password_file = "/etc/danerollover/netcup.password"
///
/// [providers.script]
/// type = "exec"
/// command = ["/usr/local/bin/dns-hook"]   # the change as JSON on stdin
/// # timeout = "60s"
///
/// [providers.me]
/// type = "manual"                  # prints the records to add and remove
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(
    remote = "Self",
    tag = "type",
    rename_all = "lowercase",
    deny_unknown_fields
)]
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
        /// The primary server, "address:port" (port 53 when left out).
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
    /// Amazon Route 53 (through the dns-update crate).
    Route53 {
        /// The access key id (not secret by itself).
        access_key_id: String,
        /// The secret access key, from a file (mode 0600) ...
        secret_access_key_file: Option<PathBuf>,
        /// ... or from this environment variable.
        secret_access_key_env: Option<String>,
        /// AWS region for signing (default us-east-1).
        region: Option<String>,
        /// The hosted zone id (default: found by the zone's name).
        hosted_zone_id: Option<String>,
        /// API endpoint (default https://route53.amazonaws.com).
        url: Option<String>,
    },
    /// Gandi LiveDNS v5 (through the dns-update crate), with a personal access token.
    Gandi {
        token_file: Option<PathBuf>,
        token_env: Option<String>,
    },
    /// OVHcloud (through the dns-update crate).
    Ovh {
        /// ovh-eu (default), ovh-us, ovh-ca, kimsufi-eu, kimsufi-ca, soyoustart-eu, soyoustart-ca.
        #[serde(default = "default_ovh_endpoint")]
        endpoint: String,
        /// The application key (not secret by itself).
        application_key: String,
        application_secret_file: Option<PathBuf>,
        application_secret_env: Option<String>,
        consumer_key_file: Option<PathBuf>,
        consumer_key_env: Option<String>,
    },
    /// Google Cloud DNS (through the dns-update crate), with a service account.
    Googlecloud {
        /// The service account's JSON key file (mode 0600).
        service_account_file: PathBuf,
        project_id: String,
        /// The managed zone's name (default: found by the longest matching DNS name).
        managed_zone: Option<String>,
    },
    /// Any program (argv, no shell): receives each change as JSON on stdin; a non-zero
    /// exit is a failure.
    Exec {
        command: Vec<String>,
        /// The longest a run may take (default 60s).
        #[serde(default = "default_exec_timeout", with = "humantime_serde_compat")]
        timeout: Duration,
    },
    /// A person: danerollover prints the records to add and remove, and observes DNS.
    Manual {},
    /// Any TLSA-capable service of the `dns-update` crate: `service = "NAME"` and that
    /// service's own settings (see `provider::services::SERVICES`); secrets as `KEY_file`
    /// or `KEY_env`. Read by hand in [`ProviderConfig::deserialize`] (the keys depend on
    /// the service); the settings hold the plain values and the secret sources as text.
    #[serde(skip_deserializing)]
    Dnsupdate {
        service: String,
        #[serde(flatten)]
        settings: BTreeMap<String, String>,
    },
}

fn default_server_id() -> String {
    "localhost".to_string()
}
fn default_tsig_algorithm() -> String {
    "hmac-sha256".to_string()
}
fn default_exec_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_ovh_endpoint() -> String {
    "ovh-eu".to_string()
}

/// OVH endpoint names `type = "ovh"` accepts.
pub const OVH_ENDPOINTS: &[&str] = &[
    "ovh-eu",
    "ovh-us",
    "ovh-ca",
    "kimsufi-eu",
    "kimsufi-ca",
    "soyoustart-eu",
    "soyoustart-ca",
];

/// Provider types that exist but cannot do DANE, with the reason; `None` for other names.
pub fn refused_provider_type(type_name: &str) -> Option<&'static str> {
    match type_name.to_ascii_lowercase().as_str() {
        "digitalocean" => {
            Some("DigitalOcean DNS cannot serve TLSA records (see docs/providers.md)")
        }
        "hetzner" => Some(
            "Hetzner DNS does not sign zones with DNSSEC (its documentation: DS records only), so TLSA records there cannot be Secure; type = \"dnsupdate\" with service = \"hetzner\" writes them, and `danerollover doctor` tells whether the zone validates",
        ),
        _ => None,
    }
}

impl Serialize for ProviderConfig {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ProviderConfig::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for ProviderConfig {
    /// The derived, tagged deserialization, after refusing the types in
    /// [`refused_provider_type`] with their reason (the error carries the section's line).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = toml::Value::deserialize(deserializer)?;
        if let Some(type_name) = value.get("type").and_then(toml::Value::as_str)
            && let Some(reason) = refused_provider_type(type_name)
        {
            return Err(D::Error::custom(format!(
                "provider type `{type_name}` is not supported: {reason}"
            )));
        }
        if value.get("type").and_then(toml::Value::as_str) == Some("dnsupdate") {
            return dnsupdate_from(value).map_err(D::Error::custom);
        }
        ProviderConfig::deserialize(value).map_err(|e| D::Error::custom(e.message()))
    }
}

/// A `type = "dnsupdate"` table: the service checked against the crate's table, then its
/// settings (an unknown key is named as serde names one, so its line is found).
fn dnsupdate_from(value: toml::Value) -> Result<ProviderConfig, String> {
    use super::services;
    let toml::Value::Table(table) = value else {
        return Err("a provider must be a table".to_string());
    };
    let mut rest: BTreeMap<String, toml::Value> = table.into_iter().collect();
    rest.remove("type");
    let service = match rest.remove("service") {
        Some(toml::Value::String(s)) => s,
        Some(_) => return Err("service must be a string, e.g. service = \"hetzner\"".into()),
        None => {
            return Err(format!(
                "type = \"dnsupdate\" needs service = \"NAME\", one of {}",
                services::SERVICES
                    .iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    };
    if let Some(why) = services::refusal(&service) {
        return Err(why);
    }
    let row = services::find(&service).ok_or_else(|| format!("unknown service `{service}`"))?;
    let settings = services::check_settings(row, &rest)?;
    Ok(ProviderConfig::Dnsupdate {
        service: row.name.to_string(),
        settings,
    })
}

impl ProviderConfig {
    pub fn type_name(&self) -> &'static str {
        match self {
            ProviderConfig::Powerdns { .. } => "powerdns",
            ProviderConfig::Rfc2136 { .. } => "rfc2136",
            ProviderConfig::Desec { .. } => "desec",
            ProviderConfig::Cloudflare { .. } => "cloudflare",
            ProviderConfig::Route53 { .. } => "route53",
            ProviderConfig::Gandi { .. } => "gandi",
            ProviderConfig::Ovh { .. } => "ovh",
            ProviderConfig::Googlecloud { .. } => "googlecloud",
            ProviderConfig::Exec { .. } => "exec",
            ProviderConfig::Manual {} => "manual",
            ProviderConfig::Dnsupdate { .. } => "dnsupdate",
        }
    }

    /// Where each of this provider's secrets comes from (no values).
    pub fn secret_sources(&self) -> Vec<SecretSource> {
        let pair = |key: &'static str, file: &Option<PathBuf>, env: &Option<String>| SecretSource {
            key,
            file: file.clone(),
            env: env.clone(),
        };
        match self {
            ProviderConfig::Powerdns {
                api_key_file,
                api_key_env,
                ..
            } => vec![pair("api_key", api_key_file, api_key_env)],
            ProviderConfig::Rfc2136 {
                tsig_secret_file,
                tsig_secret_env,
                ..
            } => vec![pair("tsig_secret", tsig_secret_file, tsig_secret_env)],
            ProviderConfig::Desec {
                token_file,
                token_env,
                ..
            }
            | ProviderConfig::Cloudflare {
                token_file,
                token_env,
                ..
            }
            | ProviderConfig::Gandi {
                token_file,
                token_env,
            } => vec![pair("token", token_file, token_env)],
            ProviderConfig::Route53 {
                secret_access_key_file,
                secret_access_key_env,
                ..
            } => vec![pair(
                "secret_access_key",
                secret_access_key_file,
                secret_access_key_env,
            )],
            ProviderConfig::Ovh {
                application_secret_file,
                application_secret_env,
                consumer_key_file,
                consumer_key_env,
                ..
            } => vec![
                pair(
                    "application_secret",
                    application_secret_file,
                    application_secret_env,
                ),
                pair("consumer_key", consumer_key_file, consumer_key_env),
            ],
            ProviderConfig::Googlecloud {
                service_account_file,
                ..
            } => vec![SecretSource {
                key: "service_account",
                file: Some(service_account_file.clone()),
                env: None,
            }],
            ProviderConfig::Exec { .. } | ProviderConfig::Manual {} => Vec::new(),
            ProviderConfig::Dnsupdate { service, settings } => super::services::find(service)
                .map(|row| {
                    row.settings
                        .iter()
                        .filter(|s| s.kind == super::services::Kind::Secret)
                        .map(|s| SecretSource {
                            key: s.key,
                            file: settings.get(&format!("{}_file", s.key)).map(PathBuf::from),
                            env: settings.get(&format!("{}_env", s.key)).cloned(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// One secret of a provider: its key stem (`api_key` for `api_key_file`/`api_key_env`)
/// and where it comes from. The file wins when both are set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretSource {
    pub key: &'static str,
    pub file: Option<PathBuf>,
    pub env: Option<String>,
}

#[cfg(test)]
mod provider_type_tests {
    use super::*;
    use crate::config::{Config, ConfigError};
    use std::path::Path;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/danerollover/config.toml"))
    }

    const BASE: &str = r#"
[dns]
timeout = "2s"

[providers.p]
type = "TYPE"
EXTRA

[lineages."mail.example.com"]
provider = "p"
tlsa = ["_25._tcp.mail.example.com"]
"#;

    fn with(type_name: &str, extra: &str) -> String {
        BASE.replace("TYPE", type_name).replace("EXTRA", extra)
    }

    #[test]
    fn refused_types_name_the_reason_and_line() {
        for (t, words) in [
            ("digitalocean", "cannot serve TLSA"),
            ("hetzner", "does not sign zones with DNSSEC"),
        ] {
            let err = parse(&with(t, "token_file = \"/x\""))
                .unwrap_err()
                .to_string();
            assert!(err.contains(words), "{err}");
            assert!(err.contains(t), "{err}");
            assert!(err.contains("line 5"), "{err}");
        }
    }

    #[test]
    fn new_types_parse() {
        let c = parse(&with(
            "route53",
            "access_key_id = \"AKIA\"\nsecret_access_key_file = \"/k\"\nregion = \"eu-west-1\"",
        ))
        .unwrap();
        assert_eq!(c.providers["p"].type_name(), "route53");
        let c = parse(&with("gandi", "token_env = \"GANDI_TOKEN\"")).unwrap();
        assert_eq!(c.providers["p"].type_name(), "gandi");
        let c = parse(&with(
            "ovh",
            "application_key = \"ak\"\napplication_secret_file = \"/s\"\nconsumer_key_file = \"/c\"",
        ))
        .unwrap();
        assert!(
            matches!(&c.providers["p"], ProviderConfig::Ovh { endpoint, .. } if endpoint == "ovh-eu")
        );
        let c = parse(&with(
            "googlecloud",
            "service_account_file = \"/sa.json\"\nproject_id = \"proj\"",
        ))
        .unwrap();
        assert_eq!(c.providers["p"].type_name(), "googlecloud");
        let c = parse(&with("manual", "")).unwrap();
        assert_eq!(c.providers["p"].type_name(), "manual");
        let c = parse(&with("exec", "command = [\"/bin/true\"]")).unwrap();
        assert_eq!(c.providers["p"].type_name(), "exec");
    }

    #[test]
    fn ovh_needs_both_secrets_and_a_known_endpoint() {
        let err = parse(&with(
            "ovh",
            "application_key = \"ak\"\napplication_secret_file = \"/s\"",
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("consumer_key_file"), "{err}");
        let err = parse(&with(
            "ovh",
            "endpoint = \"ovh-mars\"\napplication_key = \"ak\"\napplication_secret_file = \"/s\"\nconsumer_key_file = \"/c\"",
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("ovh-mars") && err.contains("ovh-eu"), "{err}");
    }

    #[test]
    fn unknown_key_in_new_type_is_refused_with_a_line() {
        let err = parse(&with("gandi", "token_file = \"/t\"\ntoken = \"s3cret\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("token") && err.contains("line"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn unknown_key_in_a_provider_names_its_own_line() {
        let err = parse(&with(
            "powerdns",
            "url = \"http://x\"\napi_key_file = \"/k\"\napikey = \"s3cret\"",
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 9: unknown field `apikey`"), "{err}");
        assert!(err.contains("[providers.p] at line 5"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn documented_provider_examples_parse() {
        let source = include_str!("provider.rs");
        let start = source
            .find("/// [providers.home]                 # PowerDNS HTTP API")
            .expect("the example is in the doc comment");
        let block: String = source[start..]
            .lines()
            .take_while(|l| !l.trim_start().starts_with("/// ```"))
            .map(|l| l.trim_start().trim_start_matches("///").trim_start())
            .collect::<Vec<_>>()
            .join("\n");
        let c = parse(&block).unwrap();
        let types: Vec<(&str, &str)> = c
            .providers
            .iter()
            .map(|(n, p)| (n.as_str(), p.type_name()))
            .collect();
        assert_eq!(
            types,
            [
                ("aws", "route53"),
                ("bind", "rfc2136"),
                ("desec", "desec"),
                ("gcp", "googlecloud"),
                ("home", "powerdns"),
                ("me", "manual"),
                ("netcup", "dnsupdate"),
                ("ovh", "ovh"),
                ("script", "exec"),
            ]
        );
    }

    #[test]
    fn manual_takes_no_keys() {
        let err = parse(&with("manual", "url = \"http://x\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("url"), "{err}");
    }

    #[test]
    fn powerdns_url_must_be_http() {
        let err = parse(&with(
            "powerdns",
            "url = \"127.0.0.1:8081\"\napi_key_file = \"/k\"",
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("http"), "{err}");
    }

    #[test]
    fn serializes_back_with_its_type() {
        let c = parse(&with(
            "powerdns",
            "url = \"http://127.0.0.1:8081\"\napi_key_file = \"/k\"",
        ))
        .unwrap();
        let text = toml::to_string(&c).unwrap();
        assert!(text.contains("type = \"powerdns\""), "{text}");
        assert!(text.contains("server_id = \"localhost\""), "{text}");
        let again = parse(&text).unwrap();
        assert_eq!(again.providers["p"].type_name(), "powerdns");
    }
}
