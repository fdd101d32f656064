//! Fakes of ArvanCloud, ClouDNS, Dynu, Gandi, Hostinger, Infoblox, INWX, Mythic Beasts and
//! NS1 (request shapes from the `dns-update` crate's source, answers as the providers'
//! API documentation gives them).

use serde_json::{Value, json};

use super::{Rec, Req, Resp, World, same_content};

const ZONE: &str = "example.com";

/// `name` (relative, "@" for the apex) made absolute, without the final dot.
fn fqdn(name: &str) -> String {
    if name == "@" {
        ZONE.to_string()
    } else {
        format!("{name}.{ZONE}")
    }
}

/// An absolute name (final dot or not) relative to the zone, "@" for the apex; `None`
/// outside the zone.
fn relative(fqdn: &str) -> Option<String> {
    let f = fqdn.trim_end_matches('.');
    if f == ZONE {
        return Some("@".to_string());
    }
    f.strip_suffix(&format!(".{ZONE}")).map(str::to_string)
}

/// A TLSA record's text split into usage, selector, matching type and hex data.
fn tlsa_parts(content: &str) -> Option<(u8, u8, u8, String)> {
    let mut it = content.split_whitespace();
    let u = it.next()?.parse().ok()?;
    let s = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    let hex: String = it.collect();
    (!hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some((u, s, m, hex))
}

/// A TLSA record's text from its fields (each a number or a numeric string).
fn tlsa_text(u: &Value, s: &Value, m: &Value, hex: &Value) -> Option<String> {
    let n = |v: &Value| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|t| t.parse().ok()))
            .filter(|n| *n <= 3)
    };
    let hex = hex.as_str().filter(|h| {
        !h.is_empty() && h.len() % 2 == 0 && h.chars().all(|c| c.is_ascii_hexdigit())
    })?;
    Some(format!("{} {} {} {hex}", n(u)?, n(s)?, n(m)?))
}

/// Add a record unless the same one is there (providers refuse or ignore duplicates).
fn put_new(w: &World, rec: Rec) {
    if !w
        .rrset(&rec.name, &rec.rtype)
        .iter()
        .any(|x| same_content(&x.content, &rec.content))
    {
        w.put(rec);
    }
}

fn segs(r: &Req) -> Vec<String> {
    r.segments()
}

fn bad(status: u16, what: &str) -> Resp {
    Resp::json(status, json!({"message": what}))
}

/// Gandi LiveDNS (api.gandi.net/v5/livedns, `Bearer` personal access token): whole RRsets
/// at `/domains/{zone}/records/{name}/{type}`: `GET` (404 when none), `PUT` replaces
/// (`rrset_ttl` at least 300, `rrset_values`), `DELETE`.
pub fn gandi(w: &World, r: &Req) -> Resp {
    if r.header("authorization") != Some("Bearer gandi-SECRET-token") {
        return Resp::json(401, json!({"code": 401, "message": "Unauthorized"}));
    }
    let seg = segs(r);
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    let ["v5", "livedns", "domains", ZONE, "records", name, rtype] = seg.as_slice() else {
        return Resp::not_found();
    };
    let set = w.rrset(name, rtype);
    match r.method.as_str() {
        "GET" if set.is_empty() => Resp::not_found(),
        "GET" => Resp::ok(json!({"rrset_name": name, "rrset_type": rtype,
            "rrset_ttl": set[0].ttl, "rrset_values": set.iter().map(|x| x.content.clone()).collect::<Vec<_>>()})),
        "PUT" => {
            let b = r.json();
            let (Some(ttl), Some(values)) = (b["rrset_ttl"].as_u64(), b["rrset_values"].as_array())
            else {
                return bad(400, "rrset_ttl and rrset_values are required");
            };
            let values: Vec<String> = values
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            if !(300..=2_592_000).contains(&ttl) || values.is_empty() {
                return bad(400, "invalid rrset");
            }
            if *rtype == "TLSA" && values.iter().any(|v| tlsa_parts(v).is_none()) {
                return bad(400, "invalid TLSA value");
            }
            w.set_rrset(name, rtype, &values, ttl as u32);
            Resp::json(201, json!({"message": "DNS Record Created"}))
        }
        "DELETE" if set.is_empty() => Resp::not_found(),
        "DELETE" => {
            w.set_rrset(name, rtype, &[], 0);
            Resp::empty(204)
        }
        _ => Resp::not_found(),
    }
}

/// NS1 (api.nsone.net/v1, header `X-NSONE-Key`): one record object per name and type at
/// `/zones/{zone}/{fqdn}/{type}` with `answers` (each the RDATA fields as strings): `GET`
/// (404 when none), `PUT` creates (400 when it exists), `POST` updates (404 when none),
/// `DELETE`.
pub fn ns1(w: &World, r: &Req) -> Resp {
    if r.header("x-nsone-key") != Some("ns1-SECRET-key") {
        return bad(401, "Unauthorized");
    }
    let seg = segs(r);
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    let ["v1", "zones", ZONE, domain, rtype] = seg.as_slice() else {
        return Resp::not_found();
    };
    let Some(name) = relative(domain) else {
        return bad(400, "record is not in the zone");
    };
    let set = w.rrset(&name, rtype);
    match r.method.as_str() {
        "GET" if set.is_empty() => bad(404, "record not found"),
        "GET" => Resp::ok(
            json!({"zone": ZONE, "domain": domain, "type": rtype, "ttl": set[0].ttl,
            "answers": set.iter().map(|x| json!({"answer": x.content.split_whitespace().collect::<Vec<_>>()})).collect::<Vec<_>>()}),
        ),
        m @ ("PUT" | "POST") => {
            if m == "PUT" && !set.is_empty() {
                return bad(400, "record already exists");
            }
            if m == "POST" && set.is_empty() {
                return bad(404, "record not found");
            }
            let b = r.json();
            if b["zone"] != ZONE || b["domain"] != *domain || b["type"] != *rtype {
                return bad(400, "zone, domain and type must match the path");
            }
            let ttl = b["ttl"].as_u64().unwrap_or(3600);
            let mut values = Vec::new();
            for a in b["answers"].as_array().cloned().unwrap_or_default() {
                let f: Vec<&str> = a["answer"]
                    .as_array()
                    .map(|f| f.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let text = f.join(" ");
                if f.len() != 4 || tlsa_parts(&text).is_none() {
                    return bad(400, "invalid TLSA answer");
                }
                values.push(text);
            }
            if values.is_empty() {
                return bad(400, "answers are required");
            }
            w.set_rrset(&name, rtype, &values, ttl as u32);
            Resp::ok(json!({"zone": ZONE, "domain": domain, "type": rtype}))
        }
        "DELETE" if set.is_empty() => bad(404, "record not found"),
        "DELETE" => {
            w.set_rrset(&name, rtype, &[], 0);
            Resp::ok(json!({}))
        }
        _ => Resp::not_found(),
    }
}

/// Dynu (api.dynu.com/v2, header `API-Key`): `GET /dns/getroot/{hostname}` finds the
/// domain, `GET /dns/record/{hostname}?recordType=` lists, `POST /dns/{id}/record` adds one
/// (TLSA: `certificateUsage`, `selector`, `matchingType`, `certificate`), `DELETE
/// /dns/{id}/record/{rid}` removes one.
pub fn dynu(w: &World, r: &Req) -> Resp {
    if r.header("api-key") != Some("dynu-SECRET-key") {
        return Resp::json(
            401,
            json!({"statusCode": 401, "type": "Authentication Exception", "message": "Invalid API key."}),
        );
    }
    let entry = |x: &Rec| {
        let node = if x.name == "@" { "" } else { x.name.as_str() };
        let mut e = json!({"id": x.id, "domainId": 98765, "domainName": ZONE, "nodeName": node,
            "hostname": fqdn(&x.name), "recordType": x.rtype, "ttl": x.ttl, "state": true});
        if let Some((u, s, m, hex)) = tlsa_parts(&x.content).filter(|_| x.rtype == "TLSA") {
            e["certificateUsage"] = json!(u);
            e["selector"] = json!(s);
            e["matchingType"] = json!(m);
            e["certificate"] = json!(hex);
        } else if x.rtype == "A" {
            e["ipv4Address"] = json!(x.content);
        }
        e
    };
    let seg = segs(r);
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    match (r.method.as_str(), seg.as_slice()) {
        ("GET", ["v2", "dns", "getroot", host]) => match relative(host) {
            Some(node) => Resp::ok(json!({"statusCode": 200, "id": 98765, "domainName": ZONE,
                "hostname": host, "node": if node == "@" { "" } else { node.as_str() }})),
            None => Resp::json(
                501,
                json!({"statusCode": 501, "type": "Argument Exception", "message": "Invalid hostname."}),
            ),
        },
        ("GET", ["v2", "dns", "record", host]) => {
            let rtype = r.query("recordType").unwrap_or_default();
            let records: Vec<Value> = relative(host)
                .map(|n| w.rrset(&n, &rtype))
                .unwrap_or_default()
                .iter()
                .map(entry)
                .collect();
            Resp::ok(json!({"statusCode": 200, "dnsRecords": records}))
        }
        ("POST", ["v2", "dns", "98765", "record"]) => {
            let b = r.json();
            let node = b["nodeName"].as_str().unwrap_or("-");
            let name = if node.is_empty() { "@" } else { node };
            let content = tlsa_text(
                &b["certificateUsage"],
                &b["selector"],
                &b["matchingType"],
                &b["certificate"],
            );
            let (Some(ttl), Some(content)) = (b["ttl"].as_u64(), content) else {
                return Resp::json(
                    501,
                    json!({"statusCode": 501, "type": "Argument Exception", "message": "Invalid record."}),
                );
            };
            if b["recordType"] != "TLSA"
                || b["domainName"] != ZONE
                || b["hostname"] != fqdn(name)
                || b["state"] != true
            {
                return Resp::json(
                    501,
                    json!({"statusCode": 501, "type": "Argument Exception", "message": "Invalid record."}),
                );
            }
            let x = w.put(Rec::new(name, "TLSA", &content, ttl as u32));
            Resp::ok(entry(&x))
        }
        ("DELETE", ["v2", "dns", "98765", "record", id]) => {
            let id: u64 = id.parse().unwrap_or(0);
            if w.remove(|x| x.id == id) == 0 {
                return Resp::not_found();
            }
            Resp::ok(json!({"statusCode": 200}))
        }
        _ => Resp::not_found(),
    }
}

/// Hostinger DNS (developers.hostinger.com/api/dns/v1, `Bearer` token): `GET
/// /zones/{zone}` gives the zone as RRsets; `PUT` there with `overwrite` and `zone` (RRsets:
/// name, type, ttl, records) replaces (overwrite) or extends those RRsets; `DELETE` there
/// with `filters` (name, type) deletes RRsets.
pub fn hostinger(w: &World, r: &Req) -> Resp {
    if r.header("authorization") != Some("Bearer hostinger-SECRET-token") {
        return bad(401, "Unauthenticated.");
    }
    let seg = segs(r);
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    if seg.as_slice() != ["api", "dns", "v1", "zones", ZONE] {
        return Resp::not_found();
    }
    let b = r.json();
    match r.method.as_str() {
        "GET" => {
            let mut sets: Vec<(String, String)> = Vec::new();
            for x in w.records() {
                if !sets.contains(&(x.name.clone(), x.rtype.clone())) {
                    sets.push((x.name.clone(), x.rtype.clone()));
                }
            }
            Resp::ok(Value::Array(
                sets.iter()
                    .map(|(n, t)| {
                        let set = w.rrset(n, t);
                        json!({"name": n, "type": t, "ttl": set[0].ttl, "records": set.iter()
                            .map(|x| json!({"content": x.content, "is_disabled": false})).collect::<Vec<_>>()})
                    })
                    .collect(),
            ))
        }
        "PUT" => {
            let (Some(overwrite), Some(zone)) = (b["overwrite"].as_bool(), b["zone"].as_array())
            else {
                return bad(422, "overwrite and zone are required");
            };
            for set in zone {
                let (Some(name), Some(rtype), Some(ttl), Some(records)) = (
                    set["name"].as_str(),
                    set["type"].as_str(),
                    set["ttl"].as_u64(),
                    set["records"].as_array(),
                ) else {
                    return bad(422, "name, type, ttl and records are required");
                };
                let values: Vec<String> = records
                    .iter()
                    .filter_map(|x| x["content"].as_str().map(str::to_string))
                    .collect();
                if values.is_empty()
                    || (rtype == "TLSA" && values.iter().any(|v| tlsa_parts(v).is_none()))
                {
                    return bad(422, "invalid records");
                }
                if overwrite {
                    w.set_rrset(name, rtype, &values, ttl as u32);
                } else {
                    for v in values {
                        put_new(w, Rec::new(name, rtype, &v, ttl as u32));
                    }
                    w.update(
                        |x| x.name == name && x.rtype == rtype,
                        |x| x.ttl = ttl as u32,
                    );
                }
            }
            Resp::ok(json!({"message": "Request accepted"}))
        }
        "DELETE" => {
            let Some(filters) = b["filters"].as_array() else {
                return bad(422, "filters are required");
            };
            for f in filters {
                let (name, rtype) = (
                    f["name"].as_str().unwrap_or(""),
                    f["type"].as_str().unwrap_or(""),
                );
                w.remove(|x| x.name == name && x.rtype == rtype);
            }
            Resp::ok(json!({"message": "Request accepted"}))
        }
        _ => Resp::not_found(),
    }
}

/// ArvanCloud CDN DNS (napi.arvancloud.ir/cdn/4.0, `Authorization: Apikey ...` as the
/// panel gives it): `GET /domains/{zone}/dns-records?page=&per_page=` lists (paged, types
/// lower case, TLSA `value` an object), `POST` there adds one, `DELETE
/// /domains/{zone}/dns-records/{id}` removes one.
pub fn arvancloud(w: &World, r: &Req) -> Resp {
    if r.header("authorization") != Some("Apikey arvan-SECRET-key") {
        return bad(401, "Unauthenticated.");
    }
    let seg = segs(r);
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    match (r.method.as_str(), seg.as_slice()) {
        ("GET", ["cdn", "4.0", "domains", ZONE, "dns-records"]) => {
            let data: Vec<Value> = w
                .records()
                .iter()
                .map(|x| {
                    let value = match tlsa_parts(&x.content).filter(|_| x.rtype == "TLSA") {
                        Some((u, s, m, hex)) => json!({"usage": u, "selector": s,
                            "matching_type": m, "certificate": hex}),
                        None => {
                            json!([{"ip": x.content, "port": null, "weight": null, "country": ""}])
                        }
                    };
                    json!({"id": format!("rec-{}", x.id), "type": x.rtype.to_ascii_lowercase(),
                        "name": x.name, "value": value, "ttl": x.ttl, "cloud": false,
                        "upstream_https": "default", "can_delete": true})
                })
                .collect();
            Resp::ok(
                json!({"data": data, "meta": {"current_page": 1, "last_page": 1,
                "per_page": 300, "total": data.len()}}),
            )
        }
        ("POST", ["cdn", "4.0", "domains", ZONE, "dns-records"]) => {
            let b = r.json();
            let v = &b["value"];
            let content = tlsa_text(
                &v["usage"],
                &v["selector"],
                &v["matching_type"],
                &v["certificate"],
            );
            let (Some(name), Some(ttl), Some(content)) =
                (b["name"].as_str(), b["ttl"].as_u64(), content)
            else {
                return bad(422, "The given data was invalid.");
            };
            if b["type"] != "tlsa" || name.is_empty() {
                return bad(422, "The given data was invalid.");
            }
            let x = w.put(Rec::new(name, "TLSA", &content, ttl as u32));
            Resp::json(
                201,
                json!({"data": {"id": format!("rec-{}", x.id)}, "message": "DNS record created"}),
            )
        }
        ("DELETE", ["cdn", "4.0", "domains", ZONE, "dns-records", id]) => {
            let id: u64 = id
                .strip_prefix("rec-")
                .and_then(|i| i.parse().ok())
                .unwrap_or(0);
            if w.remove(|x| x.id == id) == 0 {
                return Resp::not_found();
            }
            Resp::ok(json!({"message": "DNS record deleted"}))
        }
        _ => Resp::not_found(),
    }
}

/// ClouDNS (api.cloudns.net/dns): `auth-id` and `auth-password` in the query (GET) or the
/// form body (POST, `application/x-www-form-urlencoded`); `records.json` lists (an object
/// keyed by id, `[]` when none), `add-record.json` adds one (TTL one of ClouDNS's values),
/// `delete-record.json` removes one; failures are HTTP 200 with `"status": "Failed"`.
pub fn cloudns(w: &World, r: &Req) -> Resp {
    let form = if r.is("POST") {
        if r.headers
            .iter()
            .filter(|(k, _)| k == "content-type")
            .count()
            != 1
            || r.header("content-type") != Some("application/x-www-form-urlencoded")
        {
            return Resp::ok(
                json!({"status": "Failed", "statusDescription": "Invalid authentication, incorrect auth-id or auth-password."}),
            );
        }
        format!("/?{}", r.body)
    } else {
        r.target.clone()
    };
    let q = Req {
        method: String::new(),
        target: form,
        headers: Vec::new(),
        body: String::new(),
    };
    let p = |k: &str| q.query(k).unwrap_or_default();
    let failed = |text: &str| Resp::ok(json!({"status": "Failed", "statusDescription": text}));
    if p("auth-id") != "4242" || p("auth-password") != "cloudns-SECRET-password" {
        return failed("Invalid authentication, incorrect auth-id or auth-password.");
    }
    if p("domain-name") != ZONE {
        return failed("Missing domain-name");
    }
    let name = |host: &str| {
        if host.is_empty() {
            "@".to_string()
        } else {
            host.to_string()
        }
    };
    match (r.method.as_str(), r.path()) {
        ("GET", "/dns/records.json") => {
            let set = w.rrset(&name(&p("host")), &p("type"));
            if set.is_empty() {
                return Resp::ok(json!([]));
            }
            let mut out = serde_json::Map::new();
            for x in set {
                let mut e = json!({"id": x.id.to_string(), "type": x.rtype, "host": p("host"),
                    "ttl": x.ttl.to_string(), "status": 1, "failover": "0"});
                match tlsa_parts(&x.content).filter(|_| x.rtype == "TLSA") {
                    Some((u, s, m, hex)) => {
                        e["record"] = json!(hex);
                        e["tlsa_usage"] = json!(u.to_string());
                        e["tlsa_selector"] = json!(s.to_string());
                        e["tlsa_matching_type"] = json!(m.to_string());
                    }
                    None => e["record"] = json!(x.content),
                }
                out.insert(x.id.to_string(), e);
            }
            Resp::ok(Value::Object(out))
        }
        ("POST", "/dns/add-record.json") => {
            let ttl: u32 = p("ttl").parse().unwrap_or(0);
            if ![
                60, 300, 900, 1800, 3600, 21600, 43200, 86400, 172800, 259200, 604800, 1209600,
                2592000,
            ]
            .contains(&ttl)
            {
                return failed("Invalid TTL. Choose from the list of the values we support.");
            }
            let content = tlsa_text(
                &json!(p("tlsa_usage")),
                &json!(p("tlsa_selector")),
                &json!(p("tlsa_matching_type")),
                &json!(p("record")),
            );
            let Some(content) = content.filter(|_| p("record-type") == "TLSA") else {
                return failed("Invalid record.");
            };
            let x = w.put(Rec::new(&name(&p("host")), "TLSA", &content, ttl));
            Resp::ok(
                json!({"status": "Success", "statusDescription": "The record was added successfully.", "data": {"id": x.id}}),
            )
        }
        ("POST", "/dns/delete-record.json") => {
            let id: u64 = p("record-id").parse().unwrap_or(0);
            if w.remove(|x| x.id == id) == 0 {
                return failed("Invalid record-id param.");
            }
            Resp::ok(
                json!({"status": "Success", "statusDescription": "The record was deleted successfully."}),
            )
        }
        _ => Resp::not_found(),
    }
}

/// INWX DomRobot JSON-RPC (api.domrobot.com/jsonrpc/): `account.login` (user, pass) sets
/// the session cookie every other call needs; `nameserver.info` (domain, name, type) lists,
/// `nameserver.createRecord` adds one (TTL at least 300), `nameserver.deleteRecord` (id)
/// removes one; results are HTTP 200 with `code` 1000 or an error code.
pub fn inwx(w: &World, r: &Req) -> Resp {
    if !r.is("POST") || r.path() != "/jsonrpc/" {
        return Resp::not_found();
    }
    let b = r.json();
    let p = &b["params"];
    let done = |data: Value| {
        Resp::ok(json!({"code": 1000, "msg": "Command completed successfully", "resData": data}))
    };
    let refuse = |code: u32, msg: &str| Resp::ok(json!({"code": code, "msg": msg}));
    if b["method"] == "account.login" {
        if p["user"] != "inwx-user" || p["pass"] != "inwx-SECRET-password" {
            return refuse(2200, "Authentication error");
        }
        let mut resp = done(json!({"customerId": 1, "accountId": 1, "tfa": "0"}));
        resp.headers.push((
            "Set-Cookie",
            "domrobot=sess-1; path=/; HttpOnly".to_string(),
        ));
        return resp;
    }
    if r.header("cookie") != Some("domrobot=sess-1") {
        return refuse(2200, "Authentication error");
    }
    match b["method"].as_str().unwrap_or("") {
        "nameserver.info" => {
            if p["domain"] != ZONE {
                return refuse(2303, "Object does not exist");
            }
            let Some(name) = p["name"].as_str().and_then(relative) else {
                return done(json!({"domain": ZONE, "count": 0, "record": []}));
            };
            let records: Vec<Value> = w
                .rrset(&name, p["type"].as_str().unwrap_or(""))
                .iter()
                .map(|x| {
                    json!({"id": x.id, "name": fqdn(&x.name), "type": x.rtype,
                    "content": x.content, "ttl": x.ttl, "prio": 0})
                })
                .collect();
            done(
                json!({"roId": 77, "domain": ZONE, "type": "MASTER", "count": records.len(), "record": records}),
            )
        }
        "nameserver.createRecord" => {
            let name = p["name"].as_str().and_then(relative);
            let ttl = p["ttl"].as_u64().unwrap_or(3600);
            let content = p["content"].as_str().filter(|c| tlsa_parts(c).is_some());
            match (name, content) {
                (Some(name), Some(c))
                    if p["domain"] == ZONE && p["type"] == "TLSA" && ttl >= 300 =>
                {
                    let x = w.put(Rec::new(&name, "TLSA", c, ttl as u32));
                    done(json!({"id": x.id}))
                }
                _ => refuse(2005, "Parameter value policy error"),
            }
        }
        "nameserver.deleteRecord" => {
            let id = p["id"]
                .as_u64()
                .or_else(|| p["id"].as_str().and_then(|i| i.parse().ok()))
                .unwrap_or(0);
            if w.remove(|x| x.id == id) == 0 {
                return refuse(2303, "Object does not exist");
            }
            done(Value::Null)
        }
        _ => refuse(2000, "Unknown command"),
    }
}

/// Mythic Beasts DNS API v2: a token from `POST auth.mythic-beasts.com/login` (HTTP Basic
/// key id and secret, client credentials); then `Bearer` at
/// api.mythic-beasts.com/dns/v2: `GET /zones`, and per name and type
/// `/zones/{zone}/records/{host}/{type}`: `GET`, `POST` adds, `PUT` replaces, `DELETE`.
pub fn mythicbeasts(w: &World, r: &Req) -> Resp {
    if r.path() == "/login" {
        // base64("mb-key-id:mb-SECRET-secret")
        if !r.is("POST")
            || r.header("authorization") != Some("Basic bWIta2V5LWlkOm1iLVNFQ1JFVC1zZWNyZXQ=")
            || r.body != "grant_type=client_credentials"
        {
            return Resp::json(401, json!({"error": "invalid_client"}));
        }
        return Resp::ok(
            json!({"access_token": "mb-token", "expires_in": 300, "token_type": "bearer"}),
        );
    }
    if r.header("authorization") != Some("Bearer mb-token") {
        return Resp::json(401, json!({"error": "Invalid token"}));
    }
    let seg = segs(r);
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    let out = |x: &Rec| {
        let mut e = json!({"host": x.name, "ttl": x.ttl, "type": x.rtype, "data": x.content});
        if let Some((u, s, m, hex)) = tlsa_parts(&x.content).filter(|_| x.rtype == "TLSA") {
            e["data"] = json!(hex);
            e["tlsa_usage"] = json!(u);
            e["tlsa_selector"] = json!(s);
            e["tlsa_matching"] = json!(m);
        }
        e
    };
    match (r.method.as_str(), seg.as_slice()) {
        ("GET", ["dns", "v2", "zones"]) => Resp::ok(json!({"zones": [ZONE]})),
        (m, ["dns", "v2", "zones", ZONE, "records", host, rtype]) => {
            let set = w.rrset(host, rtype);
            if m == "GET" {
                return Resp::ok(json!({"records": set.iter().map(out).collect::<Vec<_>>()}));
            }
            if m == "DELETE" {
                w.set_rrset(host, rtype, &[], 0);
                return Resp::ok(json!({"records_removed": set.len()}));
            }
            let mut new = Vec::new();
            for x in r.json()["records"].as_array().cloned().unwrap_or_default() {
                let content = tlsa_text(
                    &x["tlsa_usage"],
                    &x["tlsa_selector"],
                    &x["tlsa_matching"],
                    &x["data"],
                );
                match (content, x["ttl"].as_u64()) {
                    (Some(c), Some(ttl)) if x["host"] == *host && x["type"] == *rtype => {
                        new.push(Rec::new(host, rtype, &c, ttl as u32))
                    }
                    _ => return Resp::json(400, json!({"error": "Invalid record"})),
                }
            }
            match m {
                "POST" => {
                    let n = new.len();
                    new.into_iter().for_each(|x| put_new(w, x));
                    Resp::ok(json!({"records_added": n, "message": "1 records added"}))
                }
                "PUT" => {
                    w.remove(|x| x.name == *host && x.rtype == *rtype);
                    let n = new.len();
                    new.into_iter().for_each(|x| {
                        w.put(x);
                    });
                    Resp::ok(json!({"records_added": n, "records_removed": set.len()}))
                }
                _ => Resp::not_found(),
            }
        }
        _ => Resp::not_found(),
    }
}

/// Infoblox NIOS WAPI (https://{host}/wapi/v2.11, HTTP Basic): `GET
/// /record:tlsa?name=&view=` lists (each with its `_ref`), `POST /record:tlsa` adds one
/// (`ttl` applies with `use_ttl`, else the zone's default, here 28800), `DELETE /{_ref}`
/// removes one. The listing carries the TLSA fields without `_return_fields` (the crate asks
/// for none) and gives the hex in capitals (the crate compares it without case).
pub fn infoblox(w: &World, r: &Req) -> Resp {
    // base64("admin:infoblox-SECRET-password")
    if r.header("authorization") != Some("Basic YWRtaW46aW5mb2Jsb3gtU0VDUkVULXBhc3N3b3Jk") {
        return Resp::json(
            401,
            json!({"Error": "AdmConProtoError: Authentication failed"}),
        );
    }
    let seg = segs(r);
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    let wapi_error = |text: &str| {
        Resp::json(
            400,
            json!({"Error": format!("AdmConDataError: {text}"), "code": "Client.Ibap.Data", "text": text}),
        )
    };
    let reference = |x: &Rec| {
        format!(
            "record:tlsa/ZG5zLmJpbmRfdGxzYSQ{}:{}/External",
            x.id,
            fqdn(&x.name)
        )
    };
    match (r.method.as_str(), seg.as_slice()) {
        ("GET", ["wapi", "v2.11", "record:tlsa"]) => {
            if r.query("view").as_deref() != Some("External") {
                return wapi_error("view not found");
            }
            let set = r
                .query("name")
                .and_then(|n| relative(&n))
                .map(|n| w.rrset(&n, "TLSA"))
                .unwrap_or_default();
            Resp::ok(Value::Array(
                set.iter()
                    .filter_map(|x| {
                        let (u, s, m, hex) = tlsa_parts(&x.content)?;
                        Some(
                            json!({"_ref": reference(x), "name": fqdn(&x.name), "view": "External",
                            "certificate_usage": u, "selector": s, "matched_type": m,
                            "certificate_data": hex.to_ascii_uppercase()}),
                        )
                    })
                    .collect(),
            ))
        }
        ("POST", ["wapi", "v2.11", "record:tlsa"]) => {
            let b = r.json();
            let content = tlsa_text(
                &b["certificate_usage"],
                &b["selector"],
                &b["matched_type"],
                &b["certificate_data"],
            );
            let name = b["name"].as_str().and_then(relative);
            let (Some(content), Some(name)) = (content, name) else {
                return wapi_error("invalid record");
            };
            if b["view"] != "External" {
                return wapi_error("view not found");
            }
            let ttl = match (b["use_ttl"].as_bool(), b["ttl"].as_u64()) {
                (Some(true), Some(ttl)) => ttl as u32,
                _ => 28800,
            };
            let x = w.put(Rec::new(&name, "TLSA", &content, ttl));
            Resp::json(201, json!(reference(&x)))
        }
        ("DELETE", ["wapi", "v2.11", "record:tlsa", id_name, "External"]) => {
            let id = id_name
                .strip_prefix("ZG5zLmJpbmRfdGxzYSQ")
                .and_then(|s| s.split(':').next())
                .and_then(|i| i.parse::<u64>().ok())
                .unwrap_or(0);
            if w.remove(|x| x.id == id) == 0 {
                return Resp::json(
                    404,
                    json!({"Error": "AdmConDataNotFoundError: Reference not found"}),
                );
            }
            Resp::ok(json!(format!("record:tlsa/{id_name}/External")))
        }
        _ => Resp::not_found(),
    }
}
