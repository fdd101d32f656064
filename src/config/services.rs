//! The services of the `dns-update` crate (0.6.1) that `type = "dnsupdate"` can speak, as
//! one table: each row names the service, its settings (plain values and secrets, which
//! come from `KEY_file` or `KEY_env`), and how the crate's client is built from them.
//!
//! Only services whose client really writes TLSA records are rows here: the crate's other
//! clients answer "Unsupported" for TLSA ([`REFUSED`]), and the four back ends danerollover
//! has of its own are named in [`NATIVE`] so that a `service` naming one points at it.

use std::collections::BTreeMap;
use std::time::Duration;

use dns_update::DnsUpdater;

/// What kind of value a setting takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A plain value in the configuration (an account name, an id).
    Plain,
    /// A secret: `KEY_file` (mode 0600) or `KEY_env`, never the value itself.
    Secret,
    /// `true` or `false`.
    Flag,
    /// A non-negative integer.
    Number,
}

/// One setting of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub key: &'static str,
    pub kind: Kind,
    pub required: bool,
}

const fn req(key: &'static str, kind: Kind) -> Setting {
    Setting {
        key,
        kind,
        required: true,
    }
}

const fn opt(key: &'static str, kind: Kind) -> Setting {
    Setting {
        key,
        kind,
        required: false,
    }
}

use Kind::{Flag, Number, Plain, Secret};

/// The values a service's client is built from, already checked against its settings.
pub struct Values<'a> {
    pub plain: &'a BTreeMap<String, String>,
    pub secrets: BTreeMap<&'static str, crate::secrets::Secret>,
    pub timeout: Duration,
}

impl Values<'_> {
    fn get(&self, key: &str) -> Option<String> {
        self.plain.get(key).cloned()
    }
    /// A required plain value (checked present when the configuration was read).
    fn must(&self, key: &str) -> String {
        self.get(key).unwrap_or_default()
    }
    fn secret(&self, key: &str) -> &str {
        self.secrets.get(key).map(|s| s.expose()).unwrap_or("")
    }
    fn flag(&self, key: &str) -> bool {
        self.get(key).as_deref() == Some("true")
    }
    fn t(&self) -> Option<Duration> {
        Some(self.timeout)
    }
}

type Build = fn(&Values) -> dns_update::Result<DnsUpdater>;

/// One service of the crate that writes TLSA records.
pub struct Service {
    /// The `service = "..."` value.
    pub name: &'static str,
    /// Its name for people.
    pub title: &'static str,
    pub settings: &'static [Setting],
    pub build: Build,
}

/// Every TLSA-capable service of `dns-update` 0.6.1 that danerollover does not speak itself.
pub const SERVICES: &[Service] = &[
    Service {
        name: "arvancloud",
        title: "ArvanCloud",
        settings: &[req("api_key", Secret)],
        build: |v| DnsUpdater::new_arvancloud(v.secret("api_key"), v.t()),
    },
    Service {
        name: "bunny",
        title: "Bunny DNS",
        settings: &[req("api_key", Secret)],
        build: |v| DnsUpdater::new_bunny(v.secret("api_key"), v.t()),
    },
    Service {
        name: "cloudns",
        title: "ClouDNS",
        settings: &[
            opt("auth_id", Plain),
            opt("sub_auth_id", Plain),
            req("password", Secret),
        ],
        build: |v| {
            DnsUpdater::new_cloudns(
                v.get("auth_id"),
                v.get("sub_auth_id"),
                v.secret("password"),
                v.t(),
            )
        },
    },
    Service {
        name: "dnsimple",
        title: "DNSimple",
        settings: &[req("token", Secret), req("account_id", Plain)],
        build: |v| DnsUpdater::new_dnsimple(v.secret("token"), v.must("account_id"), v.t()),
    },
    Service {
        name: "dynu",
        title: "Dynu",
        settings: &[req("api_key", Secret)],
        build: |v| DnsUpdater::new_dynu(v.secret("api_key"), v.t()),
    },
    Service {
        name: "gandi",
        title: "Gandi LiveDNS",
        settings: &[req("token", Secret)],
        build: |v| DnsUpdater::new_gandiv5(v.secret("token"), v.t()),
    },
    Service {
        name: "gcore",
        title: "Gcore DNS",
        settings: &[req("token", Secret)],
        build: |v| DnsUpdater::new_gcore(v.secret("token"), v.t()),
    },
    Service {
        name: "googlecloud",
        title: "Google Cloud DNS",
        settings: &[
            req("service_account", Secret),
            req("project_id", Plain),
            opt("managed_zone", Plain),
        ],
        build: |v| {
            DnsUpdater::new_google_cloud_dns(
                dns_update::providers::google_cloud_dns::GoogleCloudDnsConfig {
                    service_account_json: v.secret("service_account").to_string(),
                    project_id: v.must("project_id"),
                    managed_zone: v.get("managed_zone"),
                    private_zone: false,
                    impersonate_service_account: None,
                    request_timeout: v.t(),
                },
            )
        },
    },
    Service {
        name: "hetzner",
        title: "Hetzner DNS",
        settings: &[req("token", Secret)],
        build: |v| DnsUpdater::new_hetzner(v.secret("token"), v.t()),
    },
    Service {
        name: "hostingde",
        title: "hosting.de",
        settings: &[req("api_key", Secret)],
        build: |v| DnsUpdater::new_hostingde(v.secret("api_key"), v.t()),
    },
    Service {
        name: "hostinger",
        title: "Hostinger",
        settings: &[req("token", Secret)],
        build: |v| DnsUpdater::new_hostinger(v.secret("token"), v.t()),
    },
    Service {
        name: "infoblox",
        title: "Infoblox NIOS (WAPI)",
        settings: &[
            req("host", Plain),
            opt("port", Number),
            req("username", Plain),
            req("password", Secret),
            opt("wapi_version", Plain),
            opt("dns_view", Plain),
        ],
        build: |v| {
            DnsUpdater::new_infoblox(dns_update::providers::infoblox::InfobloxConfig {
                host: v.must("host"),
                port: v.get("port"),
                username: v.must("username"),
                password: v.secret("password").to_string(),
                wapi_version: v.get("wapi_version"),
                dns_view: v.get("dns_view"),
                request_timeout: v.t(),
            })
        },
    },
    Service {
        name: "infomaniak",
        title: "Infomaniak",
        settings: &[req("token", Secret)],
        build: |v| DnsUpdater::new_infomaniak(v.secret("token"), v.t()),
    },
    Service {
        name: "inwx",
        title: "INWX",
        settings: &[
            req("username", Plain),
            req("password", Secret),
            opt("sandbox", Flag),
        ],
        build: |v| {
            DnsUpdater::new_inwx(
                v.must("username"),
                v.secret("password"),
                v.flag("sandbox"),
                v.t(),
            )
        },
    },
    Service {
        name: "luadns",
        title: "LuaDNS",
        settings: &[req("username", Plain), req("token", Secret)],
        build: |v| DnsUpdater::new_luadns(v.must("username"), v.secret("token"), v.t()),
    },
    Service {
        name: "mythicbeasts",
        title: "Mythic Beasts",
        settings: &[req("key_id", Plain), req("secret", Secret)],
        build: |v| DnsUpdater::new_mythicbeasts(v.must("key_id"), v.secret("secret"), v.t()),
    },
    Service {
        name: "netcup",
        title: "netcup",
        settings: &[
            req("customer_number", Plain),
            req("api_key", Secret),
            req("api_password", Secret),
        ],
        build: |v| {
            DnsUpdater::new_netcup(
                v.must("customer_number"),
                v.secret("api_key"),
                v.secret("api_password"),
                v.t(),
            )
        },
    },
    Service {
        name: "ns1",
        title: "NS1 (IBM NS1 Connect)",
        settings: &[req("api_key", Secret)],
        build: |v| DnsUpdater::new_ns1(v.secret("api_key"), v.t()),
    },
    Service {
        name: "oraclecloud",
        title: "Oracle Cloud Infrastructure DNS",
        settings: &[
            req("tenancy_ocid", Plain),
            req("user_ocid", Plain),
            req("fingerprint", Plain),
            req("private_key", Secret),
            req("region", Plain),
            req("compartment_ocid", Plain),
        ],
        build: |v| {
            DnsUpdater::new_oraclecloud(dns_update::providers::oraclecloud::OracleCloudConfig {
                tenancy_ocid: v.must("tenancy_ocid"),
                user_ocid: v.must("user_ocid"),
                fingerprint: v.must("fingerprint"),
                private_key_pem: v.secret("private_key").to_string(),
                private_key_password: None,
                region: v.must("region"),
                compartment_ocid: v.must("compartment_ocid"),
                request_timeout: v.t(),
            })
        },
    },
    Service {
        name: "ovh",
        title: "OVHcloud",
        settings: &[
            opt("endpoint", Plain),
            req("application_key", Plain),
            req("application_secret", Secret),
            req("consumer_key", Secret),
        ],
        build: |v| {
            use dns_update::providers::ovh::OvhEndpoint as E;
            let endpoint = match v.get("endpoint").as_deref().unwrap_or("ovh-eu") {
                "ovh-us" => E::OvhUs,
                "ovh-ca" => E::OvhCa,
                "kimsufi-eu" => E::KimsufiEu,
                "kimsufi-ca" => E::KimsufiCa,
                "soyoustart-eu" => E::SoyoustartEu,
                "soyoustart-ca" => E::SoyoustartCa,
                "ovh-eu" => E::OvhEu,
                other => {
                    return Err(dns_update::Error::Parse(format!(
                        "endpoint {other:?}: use one of {}",
                        crate::config::OVH_ENDPOINTS.join(", ")
                    )));
                }
            };
            DnsUpdater::new_ovh(
                v.must("application_key"),
                v.secret("application_secret"),
                v.secret("consumer_key"),
                endpoint,
                v.t(),
            )
        },
    },
    Service {
        name: "porkbun",
        title: "Porkbun",
        settings: &[req("api_key", Secret), req("secret_api_key", Secret)],
        build: |v| DnsUpdater::new_porkbun(v.secret("api_key"), v.secret("secret_api_key"), v.t()),
    },
    Service {
        name: "route53",
        title: "Amazon Route 53",
        settings: &[
            req("access_key_id", Plain),
            req("secret_access_key", Secret),
            opt("region", Plain),
            opt("hosted_zone_id", Plain),
            opt("url", Plain),
        ],
        build: |v| {
            DnsUpdater::new_route53(dns_update::providers::route53::Route53Config {
                access_key_id: v.must("access_key_id"),
                secret_access_key: v.secret("secret_access_key").to_string(),
                session_token: None,
                region: v.get("region"),
                hosted_zone_id: v.get("hosted_zone_id"),
                private_zone_only: None,
                endpoint: v.get("url"),
            })
        },
    },
    Service {
        name: "scaleway",
        title: "Scaleway Domains and DNS",
        settings: &[req("token", Secret)],
        build: |v| DnsUpdater::new_scaleway(v.secret("token"), v.t()),
    },
    Service {
        name: "simplycom",
        title: "Simply.com",
        settings: &[req("account_name", Plain), req("api_key", Secret)],
        build: |v| DnsUpdater::new_simplycom(v.must("account_name"), v.secret("api_key"), v.t()),
    },
    Service {
        name: "spaceship",
        title: "Spaceship",
        settings: &[req("api_key", Secret), req("api_secret", Secret)],
        build: |v| DnsUpdater::new_spaceship(v.secret("api_key"), v.secret("api_secret"), v.t()),
    },
    Service {
        name: "transip",
        title: "TransIP",
        settings: &[
            req("login", Plain),
            req("private_key", Secret),
            opt("global_key", Flag),
        ],
        build: |v| {
            DnsUpdater::new_transip(
                v.must("login"),
                v.secret("private_key"),
                v.flag("global_key"),
                v.t(),
            )
        },
    },
    Service {
        name: "ultradns",
        title: "Vercara UltraDNS",
        settings: &[
            req("username", Plain),
            req("password", Secret),
            opt("url", Plain),
        ],
        build: |v| {
            DnsUpdater::new_ultradns(
                v.must("username"),
                v.secret("password"),
                v.get("url"),
                v.t(),
            )
        },
    },
    Service {
        name: "zoneeu",
        title: "Zone.eu",
        settings: &[req("username", Plain), req("api_key", Secret)],
        build: |v| DnsUpdater::new_zoneeu(v.must("username"), v.secret("api_key"), v.t()),
    },
];

/// Services danerollover speaks with a back end of its own, and the type to use instead.
pub const NATIVE: &[(&str, &str)] = &[
    ("cloudflare", "cloudflare"),
    ("desec", "desec"),
    ("pdns", "powerdns"),
    ("powerdns", "powerdns"),
    ("rfc2136", "rfc2136"),
];

/// Services of the crate whose client cannot write TLSA records (it answers
/// "Unsupported"), with the provider's name.
pub const REFUSED: &[(&str, &str)] = &[
    ("akamai", "Akamai Edge DNS"),
    ("alidns", "Alibaba Cloud DNS"),
    ("azure", "Azure DNS"),
    ("azuredns", "Azure DNS"),
    ("baiducloud", "Baidu Cloud DNS"),
    ("bluecat", "BlueCat"),
    ("constellix", "Constellix"),
    ("cpanel", "cPanel"),
    ("ddnss", "DDNSS"),
    ("digitalocean", "DigitalOcean"),
    ("dnsmadeeasy", "DNS Made Easy"),
    ("domeneshop", "Domeneshop"),
    ("dreamhost", "DreamHost"),
    ("duckdns", "Duck DNS"),
    ("easydns", "easyDNS"),
    ("edgedns", "Akamai Edge DNS"),
    ("exoscale", "Exoscale"),
    ("freemyip", "FreeMyIP"),
    ("glesys", "Glesys"),
    ("godaddy", "GoDaddy"),
    ("huaweicloud", "Huawei Cloud DNS"),
    ("hurricane", "Hurricane Electric"),
    ("ibmcloud", "IBM Cloud DNS"),
    ("ionos", "IONOS"),
    ("ipv64", "IPv64"),
    ("joker", "Joker.com"),
    ("lightsail", "Amazon Lightsail"),
    ("linode", "Linode (Akamai)"),
    ("namecheap", "Namecheap"),
    ("namedotcom", "Name.com"),
    ("namesilo", "NameSilo"),
    ("netlify", "Netlify"),
    ("nifcloud", "NIFCLOUD"),
    ("plesk", "Plesk"),
    ("safedns", "ANS SafeDNS"),
    ("selectel", "Selectel"),
    ("tencentcloud", "Tencent Cloud DNSPod"),
    ("vercel", "Vercel"),
    ("volcengine", "Volcengine"),
    ("vultr", "Vultr"),
    ("websupport", "WebSupport"),
    ("yandexcloud", "Yandex Cloud DNS"),
];

/// Services whose client can write TLSA records but cannot be trusted to, and why: a
/// change through them could report success while the zone is not as it says.
pub const UNSAFE: &[(&str, &str, &str)] = &[(
    "autodns",
    "AutoDNS (InterNetX)",
    "turns every failed read of the RRset (refused credentials, 429, 5xx, an unreadable answer) into an empty RRset, so a removal after a failed read reports success and removes nothing, and danerollover's read-back cannot tell an empty RRset from a failed read",
)];

/// Services that store records in zones they do not sign, and why (from the provider's
/// documentation): `doctor` names them when a zone is unsigned.
pub const CANNOT_SIGN: &[(&str, &str)] = &[(
    "hetzner",
    "(Hetzner DNS) does not sign zones: its DNSSEC support is DS records only, no DNSKEY",
)];

/// The row of `name` (case-insensitive).
pub fn find(name: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|s| s.name.eq_ignore_ascii_case(name))
}

/// Why `service = "name"` cannot be used, as a sentence; `None` for a usable service.
pub fn refusal(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    if find(&lower).is_some() {
        return None;
    }
    if let Some((_, ty)) = NATIVE.iter().find(|(n, _)| *n == lower) {
        return Some(format!(
            "service `{name}` has a back end of danerollover's own, which reads the RRset back: use type = \"{ty}\""
        ));
    }
    if let Some((_, title)) = REFUSED.iter().find(|(n, _)| *n == lower) {
        return Some(format!(
            "service `{name}` cannot be used: the dns-update client for {title} cannot write TLSA records, so it cannot publish DANE keys; move the zone to a provider that can (see docs/providers.md)"
        ));
    }
    if let Some((_, title, why)) = UNSAFE.iter().find(|(n, _, _)| *n == lower) {
        return Some(format!(
            "service `{name}` cannot be used: the dns-update client for {title} {why}; use the `exec` provider with the provider's own tool, or move the zone (see docs/providers.md)"
        ));
    }
    Some(format!(
        "unknown service `{name}`: use one of {}",
        SERVICES
            .iter()
            .map(|s| s.name)
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The configuration keys a setting accepts: the key itself for plain values, `KEY_file`
/// and `KEY_env` for secrets.
pub fn keys_of(s: &Setting) -> Vec<String> {
    match s.kind {
        Kind::Secret => vec![format!("{}_file", s.key), format!("{}_env", s.key)],
        _ => vec![s.key.to_string()],
    }
}

/// Check a `[providers.NAME]` table of `type = "dnsupdate"` (without `type` and `service`)
/// against the service's settings; the plain values as text. An unknown key is reported as
/// serde does (`unknown field `KEY``), so the configuration's error names its line.
pub fn check_settings(
    service: &Service,
    table: &BTreeMap<String, toml::Value>,
) -> Result<BTreeMap<String, String>, String> {
    let known: Vec<String> = service.settings.iter().flat_map(keys_of).collect();
    let mut out = BTreeMap::new();
    for (key, value) in table {
        let Some(setting) = service.settings.iter().find(|s| keys_of(s).contains(key)) else {
            if service
                .settings
                .iter()
                .any(|s| s.kind == Kind::Secret && s.key == key)
            {
                return Err(format!(
                    "unknown field `{key}`: service {} takes this secret from `{key}_file` (mode 0600) or `{key}_env`, never inline",
                    service.name
                ));
            }
            return Err(format!(
                "unknown field `{key}` for service {}, expected one of {}",
                service.name,
                known.join(", ")
            ));
        };
        let text = match (setting.kind, value) {
            (Kind::Flag, toml::Value::Boolean(b)) => b.to_string(),
            (Kind::Number, toml::Value::Integer(n)) if *n >= 0 => n.to_string(),
            (Kind::Plain | Kind::Secret, toml::Value::String(s)) if !s.trim().is_empty() => {
                s.clone()
            }
            _ => {
                let want = match setting.kind {
                    Kind::Flag => "true or false",
                    Kind::Number => "a non-negative integer",
                    _ => "a non-empty string",
                };
                return Err(format!("{key} (service {}) must be {want}", service.name));
            }
        };
        out.insert(key.clone(), text);
    }
    for s in service.settings.iter().filter(|s| s.required) {
        if !keys_of(s).iter().any(|k| out.contains_key(k)) {
            return Err(format!(
                "service {} needs {}",
                service.name,
                keys_of(s).join(" or ")
            ));
        }
    }
    if service.name == "cloudns" && !out.contains_key("auth_id") && !out.contains_key("sub_auth_id")
    {
        return Err("service cloudns needs auth_id or sub_auth_id".to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_disjoint() {
        let names: Vec<&str> = SERVICES.iter().map(|s| s.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted, "SERVICES sorted, no duplicates");
        for (n, _) in REFUSED.iter().chain(NATIVE) {
            assert!(find(n).is_none(), "{n} both usable and refused");
        }
        for (n, _, _) in UNSAFE {
            assert!(find(n).is_none(), "{n} both usable and refused");
        }
        for s in SERVICES {
            assert!(
                s.settings.iter().any(|x| x.kind == Kind::Secret),
                "{}: every service authenticates with a secret",
                s.name
            );
        }
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(refusal("hetzner"), None);
        let r = refusal("DigitalOcean").unwrap();
        assert!(r.contains("cannot write TLSA"), "{r}");
        let r = refusal("autodns").unwrap();
        assert!(
            r.contains("cannot be used") && r.contains("failed read"),
            "{r}"
        );
        let r = refusal("desec").unwrap();
        assert!(r.contains("type = \"desec\""), "{r}");
        let r = refusal("nosuch").unwrap();
        assert!(
            r.contains("unknown service") && r.contains("porkbun"),
            "{r}"
        );
    }

    #[test]
    fn settings_checked() {
        let table = |pairs: &[(&str, toml::Value)]| -> BTreeMap<String, toml::Value> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
        };
        let s = find("netcup").unwrap();
        let ok = check_settings(
            s,
            &table(&[
                ("customer_number", "12345".into()),
                ("api_key_file", "/k".into()),
                ("api_password_env", "NETCUP_PW".into()),
            ]),
        )
        .unwrap();
        assert_eq!(ok["customer_number"], "12345");
        let e = check_settings(s, &table(&[("api_key", "inline".into())])).unwrap_err();
        assert!(
            e.starts_with("unknown field `api_key`") && e.contains("never inline"),
            "{e}"
        );
        let e = check_settings(s, &table(&[("colour", "red".into())])).unwrap_err();
        assert!(e.starts_with("unknown field `colour`"), "{e}");
        let e = check_settings(s, &table(&[("customer_number", "1".into())])).unwrap_err();
        assert!(e.contains("needs api_key_file or api_key_env"), "{e}");
        let s = find("inwx").unwrap();
        let e = check_settings(s, &table(&[("sandbox", "yes".into())])).unwrap_err();
        assert!(e.contains("true or false"), "{e}");
    }
}
