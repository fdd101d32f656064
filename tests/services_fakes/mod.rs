//! The fakes of `tests/provider_services.rs`: a small zone per test and, per service, the
//! answers its API gives (request shapes from the `dns-update` crate's source and the
//! providers' API documentation). One row per service in [`ROWS`].

use std::sync::Mutex;

use serde_json::{Value, json};

mod group_a;
mod group_b;
mod rest;

/// One request as the fake sees it.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Req {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
    pub fn segments(&self) -> Vec<String> {
        self.path()
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect()
    }
    pub fn query(&self, key: &str) -> Option<String> {
        let q = self.target.split_once('?')?.1;
        reqwest::Url::parse(&format!("http://x/?{q}"))
            .ok()?
            .query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn is(&self, method: &str) -> bool {
        self.method == method
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub struct Resp {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(status: u16, body: Value) -> Resp {
        Resp {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: if body.is_null() {
                String::new()
            } else {
                body.to_string()
            },
        }
    }
    pub fn ok(body: Value) -> Resp {
        Resp::json(200, body)
    }
    pub fn empty(status: u16) -> Resp {
        Resp::json(status, Value::Null)
    }
    pub fn not_found() -> Resp {
        Resp::json(404, json!({"error": "not found"}))
    }
}

/// One record of the fake zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rec {
    pub id: u64,
    /// Relative to the zone, "@" for the apex.
    pub name: String,
    pub rtype: String,
    /// The RDATA as zone-file text.
    pub content: String,
    pub ttl: u32,
}

impl Rec {
    pub fn new(name: &str, rtype: &str, content: &str, ttl: u32) -> Rec {
        Rec {
            id: 0,
            name: name.to_string(),
            rtype: rtype.to_string(),
            content: content.to_string(),
            ttl,
        }
    }
}

pub type Fake = fn(&World, &Req) -> Resp;

struct State {
    records: Vec<Rec>,
    next_id: u64,
    fail: Option<u16>,
    injected: bool,
    seen: Vec<Req>,
}

/// A fake zone `example.com` and the fake that serves it.
pub struct World {
    fake: Fake,
    state: Mutex<State>,
}

impl World {
    pub fn new(fake: Fake) -> World {
        World {
            fake,
            state: Mutex::new(State {
                records: Vec::new(),
                next_id: 1000,
                fail: None,
                injected: false,
                seen: Vec::new(),
            }),
        }
    }

    /// Answer the next request with `status` (once).
    pub fn fail_next(&self, status: u16) {
        self.state.lock().unwrap().fail = Some(status);
    }

    pub fn injected(&self) -> bool {
        self.state.lock().unwrap().injected
    }

    pub fn answer(&self, req: &Req) -> Resp {
        let fail = {
            let mut s = self.state.lock().unwrap();
            s.seen.push(req.clone());
            if group_b::ignored_probe(req) {
                None
            } else {
                s.fail.take()
            }
        };
        if let Some(status) = fail {
            self.state.lock().unwrap().injected = true;
            let mut r = Resp::json(status, json!({"message": format!("injected {status}")}));
            if status == 429 {
                r.headers.push(("Retry-After", "0".to_string()));
            }
            return r;
        }
        (self.fake)(self, req)
    }

    pub fn records(&self) -> Vec<Rec> {
        self.state.lock().unwrap().records.clone()
    }

    /// Add a record (a new id); returns it.
    pub fn put(&self, mut rec: Rec) -> Rec {
        let mut s = self.state.lock().unwrap();
        s.next_id += 1;
        rec.id = s.next_id;
        s.records.push(rec.clone());
        rec
    }

    /// The records of one name and type.
    pub fn rrset(&self, name: &str, rtype: &str) -> Vec<Rec> {
        self.records()
            .into_iter()
            .filter(|r| r.name == name && r.rtype.eq_ignore_ascii_case(rtype))
            .collect()
    }

    /// Remove the records `pred` picks; how many went.
    pub fn remove(&self, pred: impl Fn(&Rec) -> bool) -> usize {
        let mut s = self.state.lock().unwrap();
        let before = s.records.len();
        s.records.retain(|r| !pred(r));
        before - s.records.len()
    }

    /// Change the records `pred` picks.
    pub fn update(&self, pred: impl Fn(&Rec) -> bool, f: impl Fn(&mut Rec)) -> usize {
        let mut s = self.state.lock().unwrap();
        let mut n = 0;
        for r in s.records.iter_mut().filter(|r| pred(r)) {
            f(r);
            n += 1;
        }
        n
    }

    /// Replace the RRset `name`/`rtype` by these contents at `ttl` (none: delete it).
    pub fn set_rrset(&self, name: &str, rtype: &str, contents: &[String], ttl: u32) {
        self.remove(|r| r.name == name && r.rtype.eq_ignore_ascii_case(rtype));
        for c in contents {
            self.put(Rec::new(name, &rtype.to_ascii_uppercase(), c, ttl));
        }
    }
}

/// RDATA text compared as a TLSA record where it parses (hex case, spacing), else as text.
pub fn same_content(a: &str, b: &str) -> bool {
    use danerollover::tlsa::TlsaRecord;
    match (a.parse::<TlsaRecord>(), b.parse::<TlsaRecord>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a.trim() == b.trim(),
    }
}

/// One service, its settings (plain values as TOML, secrets put in files) and its fake.
pub struct Row {
    pub service: &'static str,
    /// The API hosts the fake answers for.
    pub hosts: &'static [&'static str],
    pub plain: &'static [(&'static str, &'static str)],
    pub secrets: &'static [(&'static str, &'static str)],
    pub fake: Fake,
    /// The TTL a new RRset gets: `None` for the change's own, or the service's fixed one
    /// (netcup: one TTL per zone; the crate does not send ours).
    pub fixed_ttl: Option<u32>,
}

pub const ROWS: &[Row] = &[
    Row {
        service: "arvancloud",
        hosts: &["napi.arvancloud.ir"],
        plain: &[],
        secrets: &[("api_key", "Apikey arvan-SECRET-key")],
        fixed_ttl: None,
        fake: group_a::arvancloud,
    },
    Row {
        service: "cloudns",
        hosts: &["api.cloudns.net"],
        plain: &[("auth_id", "\"4242\"")],
        secrets: &[("password", "cloudns-SECRET-password")],
        fixed_ttl: None,
        fake: group_a::cloudns,
    },
    Row {
        service: "dynu",
        hosts: &["api.dynu.com"],
        plain: &[],
        secrets: &[("api_key", "dynu-SECRET-key")],
        fixed_ttl: None,
        fake: group_a::dynu,
    },
    Row {
        service: "gandi",
        hosts: &["api.gandi.net"],
        plain: &[],
        secrets: &[("token", "gandi-SECRET-token")],
        fixed_ttl: None,
        fake: group_a::gandi,
    },
    Row {
        service: "hostinger",
        hosts: &["developers.hostinger.com"],
        plain: &[],
        secrets: &[("token", "hostinger-SECRET-token")],
        fixed_ttl: None,
        fake: group_a::hostinger,
    },
    Row {
        service: "infoblox",
        hosts: &["infoblox.example.net"],
        plain: &[
            ("host", "\"infoblox.example.net\""),
            ("username", "\"admin\""),
        ],
        secrets: &[("password", "infoblox-SECRET-password")],
        fixed_ttl: None,
        fake: group_a::infoblox,
    },
    Row {
        service: "inwx",
        hosts: &["api.domrobot.com"],
        plain: &[("username", "\"inwx-user\"")],
        secrets: &[("password", "inwx-SECRET-password")],
        fixed_ttl: None,
        fake: group_a::inwx,
    },
    Row {
        service: "mythicbeasts",
        hosts: &["auth.mythic-beasts.com", "api.mythic-beasts.com"],
        plain: &[("key_id", "\"mb-key-id\"")],
        secrets: &[("secret", "mb-SECRET-secret")],
        fixed_ttl: None,
        fake: group_a::mythicbeasts,
    },
    Row {
        service: "ns1",
        hosts: &["api.nsone.net"],
        plain: &[],
        secrets: &[("api_key", "ns1-SECRET-key")],
        fixed_ttl: None,
        fake: group_a::ns1,
    },
    Row {
        service: "bunny",
        hosts: &["api.bunny.net"],
        plain: &[],
        secrets: &[("api_key", "bunny-SECRET-key")],
        fixed_ttl: None,
        fake: rest::bunny,
    },
    Row {
        service: "dnsimple",
        hosts: &["api.dnsimple.com"],
        plain: &[("account_id", "\"4711\"")],
        secrets: &[("token", "dnsimple-SECRET-token")],
        fixed_ttl: None,
        fake: rest::dnsimple,
    },
    Row {
        service: "gcore",
        hosts: &["api.gcore.com"],
        plain: &[],
        secrets: &[("token", "gcore-SECRET-token")],
        fixed_ttl: None,
        fake: rest::gcore,
    },
    Row {
        service: "googlecloud",
        hosts: &["oauth2.googleapis.com", "dns.googleapis.com"],
        plain: &[("project_id", "\"proj-1\"")],
        secrets: &[("service_account", group_b::GOOGLE_SERVICE_ACCOUNT)],
        fixed_ttl: None,
        fake: group_b::googlecloud,
    },
    Row {
        service: "hetzner",
        hosts: &["api.hetzner.cloud"],
        plain: &[],
        secrets: &[("token", "hetzner-SECRET-token")],
        fixed_ttl: None,
        fake: rest::hetzner,
    },
    Row {
        service: "hostingde",
        hosts: &["secure.hosting.de"],
        plain: &[],
        secrets: &[("api_key", "hostingde-SECRET-key")],
        fixed_ttl: None,
        fake: rest::hostingde,
    },
    Row {
        service: "infomaniak",
        hosts: &["api.infomaniak.com"],
        plain: &[],
        secrets: &[("token", "infomaniak-SECRET-token")],
        fixed_ttl: None,
        fake: rest::infomaniak,
    },
    Row {
        service: "luadns",
        hosts: &["api.luadns.com"],
        plain: &[("username", "\"lua@example.com\"")],
        secrets: &[("token", "luadns-SECRET-token")],
        fixed_ttl: None,
        fake: rest::luadns,
    },
    Row {
        service: "netcup",
        hosts: &["ccp.netcup.net"],
        plain: &[("customer_number", "\"12345\"")],
        secrets: &[
            ("api_key", "netcup-key"),
            ("api_password", "netcup-SECRET-password"),
        ],
        fixed_ttl: Some(86400),
        fake: rest::netcup,
    },
    Row {
        service: "oraclecloud",
        hosts: &["dns.eu-frankfurt-1.oraclecloud.com"],
        plain: &[
            ("tenancy_ocid", "\"ocid1.tenancy.oc1..t1\""),
            ("user_ocid", "\"ocid1.user.oc1..u1\""),
            ("fingerprint", "\"aa:bb:cc\""),
            ("region", "\"eu-frankfurt-1\""),
            ("compartment_ocid", "\"ocid1.compartment.oc1..c1\""),
        ],
        secrets: &[("private_key", group_b::TEST_RSA_KEY)],
        fixed_ttl: None,
        fake: group_b::oraclecloud,
    },
    Row {
        service: "ovh",
        hosts: &["eu.api.ovh.com"],
        plain: &[("application_key", "\"ovh-application-key\"")],
        secrets: &[
            ("application_secret", "ovh-SECRET-application"),
            ("consumer_key", "ovh-SECRET-consumer"),
        ],
        fixed_ttl: None,
        fake: group_b::ovh,
    },
    Row {
        service: "porkbun",
        hosts: &["api.porkbun.com"],
        plain: &[],
        secrets: &[
            ("api_key", "pk1_porkbun"),
            ("secret_api_key", "sk1_porkbun-SECRET"),
        ],
        fixed_ttl: None,
        fake: rest::porkbun,
    },
    Row {
        service: "route53",
        hosts: &["route53.amazonaws.com"],
        plain: &[("access_key_id", "\"AKIDEXAMPLE\"")],
        secrets: &[("secret_access_key", "r53-SECRET-key")],
        fixed_ttl: None,
        fake: group_b::route53,
    },
    Row {
        service: "scaleway",
        hosts: &["api.scaleway.com"],
        plain: &[],
        secrets: &[("token", "scw-SECRET-token")],
        fixed_ttl: None,
        fake: rest::scaleway,
    },
    Row {
        service: "simplycom",
        hosts: &["api.simply.com"],
        plain: &[("account_name", "\"S123456\"")],
        secrets: &[("api_key", "simplycom-SECRET-key")],
        fixed_ttl: None,
        fake: group_b::simplycom,
    },
    Row {
        service: "spaceship",
        hosts: &["spaceship.dev"],
        plain: &[],
        secrets: &[
            ("api_key", "spaceship-key"),
            ("api_secret", "spaceship-SECRET"),
        ],
        fixed_ttl: None,
        fake: group_b::spaceship,
    },
    Row {
        service: "transip",
        hosts: &["api.transip.nl"],
        plain: &[("login", "\"transipuser\"")],
        secrets: &[("private_key", group_b::TEST_RSA_KEY)],
        fixed_ttl: None,
        fake: group_b::transip,
    },
    Row {
        service: "zoneeu",
        hosts: &["api.zone.eu"],
        plain: &[("username", "\"zoneuser\"")],
        secrets: &[("api_key", "zoneeu-SECRET-key")],
        fixed_ttl: Some(3600),
        fake: group_b::zoneeu,
    },
];

/// Services with no fake here, and why (docs/providers.md says the same).
pub const UNTESTED: &[(&str, &str)] = &[(
    "ultradns",
    "the crate creates a new RRset with PUT, which UltraDNS takes for an existing one only \
         (POST creates): the first TLSA record at an owner fails; adding beside and removing \
         work (group_b::ultradns_cannot_create_an_rrset)",
)];
