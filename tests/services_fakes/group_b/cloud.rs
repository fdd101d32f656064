//! Fakes of the cloud APIs of [`super`]'s group: Route 53 (SigV4), Google Cloud DNS
//! (service-account JWT and token endpoint) and Oracle Cloud DNS (request signatures).

use serde_json::{Value, json};

use super::{ZONE, absolute, hex, relative, rsa_signed, segments};
use crate::services_fakes::{Rec, Req, Resp, World, same_content};

/// The texts of every `<tag>...</tag>` in `xml` (no attributes, no nesting of `tag`).
fn xml_all(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(after[..j].to_string());
        rest = &after[j + close.len()..];
    }
    out
}

fn xml_one(xml: &str, tag: &str) -> Option<String> {
    xml_all(xml, tag).into_iter().next()
}

fn xml(status: u16, body: String) -> Resp {
    Resp {
        status,
        content_type: "text/xml",
        headers: Vec::new(),
        body: format!("<?xml version=\"1.0\"?>\n{body}"),
    }
}

const R53_NS: &str = "https://route53.amazonaws.com/doc/2013-04-01/";

/// Whether the request carries a valid AWS Signature Version 4 for route53 in us-east-1
/// by `AKIDEXAMPLE` (its signed headers: content-type, host, x-amz-date).
fn sigv4_ok(r: &Req) -> bool {
    use aws_lc_rs::{digest, hmac};
    let sha = |b: &[u8]| hex(digest::digest(&digest::SHA256, b).as_ref());
    let mac = |k: &[u8], m: &str| {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, k), m.as_bytes())
            .as_ref()
            .to_vec()
    };
    let (Some(auth), Some(date)) = (r.header("authorization"), r.header("x-amz-date")) else {
        return false;
    };
    let day = date.get(..8).unwrap_or("");
    let scope = format!("{day}/us-east-1/route53/aws4_request");
    let Some(sig) = auth
        .strip_prefix(&format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{scope}, SignedHeaders=content-type;host;x-amz-date, Signature="
        ))
    else {
        return false;
    };
    let mut query: Vec<&str> = r
        .target
        .split_once('?')
        .map(|(_, q)| q.split('&').filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    query.sort();
    let canonical = format!(
        "{}\n{}\n{}\ncontent-type:{}\nhost:{}\nx-amz-date:{date}\n\ncontent-type;host;x-amz-date\n{}",
        r.method,
        r.path(),
        query.join("&"),
        r.header("content-type").unwrap_or(""),
        r.header("host").unwrap_or(""),
        sha(r.body.as_bytes())
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        sha(canonical.as_bytes())
    );
    let key = mac(b"AWS4r53-SECRET-key", day);
    let key = mac(&key, "us-east-1");
    let key = mac(&key, "route53");
    let key = mac(&key, "aws4_request");
    hex(&mac(&key, &to_sign)) == sig
}

/// Amazon Route 53 (route53.amazonaws.com/2013-04-01, XML, SigV4): `GET
/// /hostedzonesbyname` finds the zone, `GET /hostedzone/{id}/rrset?name=&type=` lists
/// RRsets from that name and type on, `POST /hostedzone/{id}/rrset` applies a
/// `ChangeBatch`: `CREATE` (refused when the RRset exists), `UPSERT` (replaces it),
/// `DELETE` (refused unless name, type, TTL and every value match the RRset).
pub fn route53(w: &World, r: &Req) -> Resp {
    let error = |status: u16, code: &str| {
        xml(
            status,
            format!(
                "<ErrorResponse xmlns=\"{R53_NS}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{code}</Message></Error></ErrorResponse>"
            ),
        )
    };
    if !sigv4_ok(r) {
        return error(403, "SignatureDoesNotMatch");
    }
    let rrset_xml = |name: &str, rtype: &str, set: &[Rec]| {
        let values: String = set
            .iter()
            .map(|x| {
                format!(
                    "<ResourceRecord><Value>{}</Value></ResourceRecord>",
                    x.content
                )
            })
            .collect();
        format!(
            "<ResourceRecordSet><Name>{}.</Name><Type>{rtype}</Type><TTL>{}</TTL><ResourceRecords>{values}</ResourceRecords></ResourceRecordSet>",
            absolute(name),
            set[0].ttl
        )
    };
    let seg = segments(r);
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    match (r.method.as_str(), seg.as_slice()) {
        ("GET", ["2013-04-01", "hostedzonesbyname"]) => xml(
            200,
            format!(
                "<ListHostedZonesByNameResponse xmlns=\"{R53_NS}\"><HostedZones><HostedZone><Id>/hostedzone/Z1EXAMPLE</Id><Name>{ZONE}.</Name><CallerReference>x</CallerReference><Config><PrivateZone>false</PrivateZone></Config><ResourceRecordSetCount>4</ResourceRecordSetCount></HostedZone></HostedZones><IsTruncated>false</IsTruncated><MaxItems>100</MaxItems></ListHostedZonesByNameResponse>"
            ),
        ),
        ("GET", ["2013-04-01", "hostedzone", "Z1EXAMPLE", "rrset"]) => {
            let name = relative(&r.query("name").unwrap_or_default());
            let rtype = r.query("type").unwrap_or_default();
            // The asked RRset first, then the zone's others (the API goes on in its order).
            let mut keys: Vec<(String, String)> = Vec::new();
            for x in w.records() {
                let k = (x.name.clone(), x.rtype.clone());
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
            keys.sort_by_key(|(n, t)| !(*n == name && *t == rtype));
            let sets: String = keys
                .iter()
                .map(|(n, t)| rrset_xml(n, t, &w.rrset(n, t)))
                .collect();
            xml(
                200,
                format!(
                    "<ListResourceRecordSetsResponse xmlns=\"{R53_NS}\"><ResourceRecordSets>{sets}</ResourceRecordSets><IsTruncated>false</IsTruncated><MaxItems>300</MaxItems></ListResourceRecordSetsResponse>"
                ),
            )
        }
        ("POST", ["2013-04-01", "hostedzone", "Z1EXAMPLE", "rrset"]) => {
            if !r.body.contains(&format!(
                "<ChangeResourceRecordSetsRequest xmlns=\"{R53_NS}\">"
            )) {
                return error(400, "InvalidInput");
            }
            let changes = xml_all(&r.body, "Change");
            if changes.is_empty() {
                return error(400, "InvalidChangeBatch");
            }
            for c in &changes {
                let (Some(action), Some(name), Some(rtype), Some(ttl)) = (
                    xml_one(c, "Action"),
                    xml_one(c, "Name"),
                    xml_one(c, "Type"),
                    xml_one(c, "TTL").and_then(|t| t.parse::<u32>().ok()),
                ) else {
                    return error(400, "InvalidInput");
                };
                let values = xml_all(c, "Value");
                let name = relative(&name);
                let set = w.rrset(&name, &rtype);
                match action.as_str() {
                    "CREATE" if set.is_empty() => w.set_rrset(&name, &rtype, &values, ttl),
                    "UPSERT" => w.set_rrset(&name, &rtype, &values, ttl),
                    "DELETE"
                        if !set.is_empty()
                            && set[0].ttl == ttl
                            && set.len() == values.len()
                            && set
                                .iter()
                                .all(|x| values.iter().any(|v| same_content(&x.content, v))) =>
                    {
                        w.set_rrset(&name, &rtype, &[], ttl)
                    }
                    _ => return error(400, "InvalidChangeBatch"),
                }
            }
            xml(
                200,
                format!(
                    "<ChangeResourceRecordSetsResponse xmlns=\"{R53_NS}\"><ChangeInfo><Id>/change/C1</Id><Status>PENDING</Status><SubmittedAt>2026-01-01T00:00:00Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>"
                ),
            )
        }
        _ => error(404, "NoSuchHostedZone"),
    }
}

/// A service account key file (JSON) holding [`super::TEST_RSA_KEY`].
pub const GOOGLE_SERVICE_ACCOUNT: &str = r#"{"type": "service_account", "project_id": "proj-1", "private_key_id": "k1", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCSZ9VUPBktN5f8\nRob+hGfXkoX4Hbw4WD+gcxVEo58xMoAcX51tbfQej7S2zy9tr0kvLrv/+9jcVRZz\nwOyqUBwEmvYyBl0jaA5PVBzUyqNw7z0K1lZIHYHeACT9258xTyOlWN360QQ4/who\nwO3fK+aKG+TVy/tCDzzvn2EbkryUJcJze6DjiJ7OHeq2AC7OE+IKT28sWM18nNmE\neQ5N/sIgrbpPMZek2X8uxJchehV4BcKLb3sc6egM81AFeftmvF8NK/iCkAufl6sA\nWRkMVFQHPa3GXpwSq79Z9b01V5jpS96lDRG0drKfFph2IdYbDB3sGpQIGcYmKRdk\nkb8uVuyxAgMBAAECggEACQCHz0mQd/17C7rTsDzIlIqMsKFV7l49P86xtiYsKrqO\n4me96qGMFRC7oTG3Oiqg8KzyR/q2pnIYKsMIHk8FkQIs/Q2TfqLGXfn3WZ1x3Cbm\nsUbVeHLRhlqqi54sYTwbLk6a/BIL7Rv/2q6RtcMpllCBoyR7KSA+HEMH1dnhfOen\nZU+QnZquGp73+OhWZjfeU5kNgfjoFY8vnnyhjL47gipxsCSqUcENWInlCHzN2uUM\n1q9fE9OfoJ3jiJ5rJeyxpiUCqiuCgvUuR0DnMb4gR2U9XOEaYdA0yVA0+gxwRrKW\n3qzC/IBhfytVT1+2JfMqaVHXJQjI/ASpmlPrKZd/wQKBgQDIR8JTepowX0ZzFmE4\nMUp8x2viThxvtHvi8ZTYWvx8LL05utcsJbA6ZyBZaqi4dbao4yP1bpL+h25Ogvum\nyyaXO3TV1GnAsO5t/FL9iDtwaFT4oVnMcGmv4ctWFIv4EfHNq62LGjaONyR0T9yv\nCZSffp7E5bOY05r/1Jn1+IAEwQKBgQC7Iwrz/Z/25JZOEFs+B+QB1lywPW9K8ZmE\nW8GzVa+60vGCFjPulLu7MvtEPsVuEdX345PcSh9X81nypcZRsgZPBKKfuH9jSR0L\nMppAVl9A5yzruVH/Wl60mDhcVfpmfllX5hiGw7YaU12Qs9ufV1wlTVWJFA3Y7/ch\n+EGrlOAz8QKBgFb8U7pOFYnM15xErBTr054+Pu0bX95kVSpMIomVevOzurvIGoxi\nEhhLkhFD8eOrvJm9jXCbhdxmldIjsYjP0wL8H9J/Xy8BqYy7epADC03XApC6A3Z3\nnG93cgkBA4nKwWrCla1ExU0fRgX+aarcTmC3bd22pjpKLZfPjs72DyQBAoGBALeL\ndFfBP98xbracVlGt/ZVLwddeOkVAV/k44fBaL6TG9vdHfaIYoVTHeSkDhDMkLUAY\nJ1MeJEXoOiXDMJO6T3O7MSIFHHSuJl1wQVivHngTBb0iI+mXomHxFv6BmbpjXI/Y\n799mH7sMXy3pKpTLY2Z2xllPoRFQs4zO6OI4f/qRAoGAemAS00HC4plQN09BLIl7\nc5UMpnuiqfHpMXcsCAWfVQ8qrV3agWWZIbx5DDfR+7MGi2z3NXPwD3txmxlvZME0\nXVSFRr/BbLt6HnOrrAcAyfFKugrD+D4Frie9psRbpCvEIM5Q9DOOSP0hJJaQm/Gw\nrtFRwZvxlaA3mRVZ3apK4oo=\n-----END PRIVATE KEY-----\n", "client_email": "dane@proj-1.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token"}"#;

/// The claims of a JWT signed RS256 by [`super::TEST_RSA_KEY`]; `None` when it is not one.
fn jwt_claims(jwt: &str) -> Option<Value> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = jwt.split('.').collect();
    let [head, claims, sig] = parts.as_slice() else {
        return None;
    };
    let header: Value = serde_json::from_slice(&b64.decode(head).ok()?).ok()?;
    let signed = rsa_signed(
        format!("{head}.{claims}").as_bytes(),
        &b64.decode(sig).ok()?,
        false,
    );
    (header["alg"] == "RS256" && signed)
        .then(|| serde_json::from_slice(&b64.decode(claims).ok()?).ok())
        .flatten()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Google Cloud DNS (dns.googleapis.com/dns/v1) with OAuth 2 (oauth2.googleapis.com): `POST
/// /token` takes the service account's RS256 JWT (`iss` its email, `aud` the token URI,
/// the Cloud DNS scope) for an access token; with it as `Bearer`: `GET
/// /projects/{p}/managedZones`, `GET .../managedZones/{z}/rrsets?name=&type=`, `POST
/// .../changes` with `deletions` (each must equal the RRset as it is: 412 otherwise) and
/// `additions` (409 when the RRset exists and is not deleted in the same change).
pub fn googlecloud(w: &World, r: &Req) -> Resp {
    if r.header("host") == Some("oauth2.googleapis.com") {
        let form = |k: &str| {
            reqwest::Url::parse(&format!("http://x/?{}", r.body))
                .ok()?
                .query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
        };
        let claims = form("assertion").and_then(|a| jwt_claims(&a));
        let ok = r.is("POST")
            && r.path() == "/token"
            && form("grant_type").as_deref() == Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
            && claims.as_ref().is_some_and(|c| {
                c["iss"] == "dane@proj-1.iam.gserviceaccount.com"
                    && c["aud"] == "https://oauth2.googleapis.com/token"
                    && c["scope"]
                        .as_str()
                        .is_some_and(|s| s.contains("auth/ndev.clouddns.readwrite"))
                    && c["exp"].as_u64().is_some_and(|e| e > unix_now())
            });
        if !ok {
            return Resp::json(
                400,
                json!({"error": "invalid_grant", "error_description": "Invalid JWT"}),
            );
        }
        return Resp::ok(
            json!({"access_token": "ya29.fake-token", "expires_in": 3599, "token_type": "Bearer"}),
        );
    }
    if r.header("authorization") != Some("Bearer ya29.fake-token") {
        return Resp::json(
            401,
            json!({"error": {"code": 401, "status": "UNAUTHENTICATED"}}),
        );
    }
    let rrset = |name: &str, rtype: &str| -> Option<Value> {
        let set = w.rrset(name, rtype);
        (!set.is_empty()).then(|| {
            json!({"kind": "dns#resourceRecordSet", "name": format!("{}.", absolute(name)),
                "type": rtype, "ttl": set[0].ttl,
                "rrdatas": set.iter().map(|x| x.content.clone()).collect::<Vec<_>>()})
        })
    };
    let seg = segments(r);
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    match (r.method.as_str(), seg.as_slice()) {
        ("GET", ["dns", "v1", "projects", "proj-1", "managedZones"]) => {
            Resp::ok(json!({"managedZones": [
            {"kind": "dns#managedZone", "name": "other-zone", "dnsName": "example.org.", "visibility": "public"},
            {"kind": "dns#managedZone", "name": "example-zone", "dnsName": format!("{ZONE}."), "visibility": "public"}]}))
        }
        (
            "GET",
            [
                "dns",
                "v1",
                "projects",
                "proj-1",
                "managedZones",
                "example-zone",
                "rrsets",
            ],
        ) => {
            let name = relative(&r.query("name").unwrap_or_default());
            let rtype = r.query("type").unwrap_or_default();
            Resp::ok(json!({"rrsets": rrset(&name, &rtype).into_iter().collect::<Vec<_>>()}))
        }
        (
            "POST",
            [
                "dns",
                "v1",
                "projects",
                "proj-1",
                "managedZones",
                "example-zone",
                "changes",
            ],
        ) => {
            let b = r.json();
            let list = |k: &str| b[k].as_array().cloned().unwrap_or_default();
            let key = |x: &Value| {
                (
                    relative(x["name"].as_str().unwrap_or("")),
                    x["type"].as_str().unwrap_or("").to_string(),
                )
            };
            let mut deleted = Vec::new();
            for d in list("deletions") {
                let (name, rtype) = key(&d);
                let Some(now) = rrset(&name, &rtype) else {
                    return Resp::json(404, json!({"error": {"code": 404, "message": "notFound"}}));
                };
                let same = now["ttl"] == d["ttl"]
                    && now["rrdatas"].as_array().map(Vec::len)
                        == d["rrdatas"].as_array().map(Vec::len)
                    && now["rrdatas"].as_array().into_iter().flatten().all(|x| {
                        d["rrdatas"].as_array().into_iter().flatten().any(|y| {
                            same_content(x.as_str().unwrap_or(""), y.as_str().unwrap_or(""))
                        })
                    });
                if !same {
                    return Resp::json(
                        412,
                        json!({"error": {"code": 412, "message": "conditionNotMet"}}),
                    );
                }
                deleted.push((name, rtype));
            }
            let mut added = Vec::new();
            for a in list("additions") {
                let (name, rtype) = key(&a);
                let (Some(ttl), Some(datas)) = (a["ttl"].as_u64(), a["rrdatas"].as_array()) else {
                    return Resp::json(400, json!({"error": {"code": 400, "message": "invalid"}}));
                };
                if rrset(&name, &rtype).is_some()
                    && !deleted.contains(&(name.clone(), rtype.clone()))
                {
                    return Resp::json(
                        409,
                        json!({"error": {"code": 409, "message": "alreadyExists"}}),
                    );
                }
                let datas: Vec<String> = datas
                    .iter()
                    .filter_map(|d| d.as_str().map(str::to_string))
                    .collect();
                added.push((name, rtype, datas, ttl as u32));
            }
            for (name, rtype) in &deleted {
                w.set_rrset(name, rtype, &[], 0);
            }
            for (name, rtype, datas, ttl) in &added {
                w.set_rrset(name, rtype, datas, *ttl);
            }
            Resp::ok(json!({"kind": "dns#change", "id": "1", "status": "pending"}))
        }
        _ => Resp::json(404, json!({"error": {"code": 404, "message": "notFound"}})),
    }
}

const OCI_COMPARTMENT: &str = "ocid1.compartment.oc1..c1";

/// Whether the request carries a valid OCI request signature (`Signature version="1"`,
/// key `tenancy/user/fingerprint`, rsa-sha256 over `(request-target) host date`, and for a
/// body also `x-content-sha256 content-type content-length`, the body's hash matching).
fn oci_signed(r: &Req) -> bool {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let Some(auth) = r.header("authorization") else {
        return false;
    };
    let field = |k: &str| {
        auth.split(&format!("{k}=\""))
            .nth(1)
            .and_then(|v| v.split('"').next())
            .unwrap_or("")
    };
    let mut names = vec!["(request-target)", "host", "date"];
    if !r.body.is_empty() || matches!(r.method.as_str(), "POST" | "PUT" | "PATCH") {
        names.extend(["x-content-sha256", "content-type", "content-length"]);
        let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, r.body.as_bytes());
        if r.header("x-content-sha256") != Some(b64.encode(hash.as_ref()).as_str()) {
            return false;
        }
    }
    if !auth.starts_with("Signature version=\"1\",")
        || field("keyId") != "ocid1.tenancy.oc1..t1/ocid1.user.oc1..u1/aa:bb:cc"
        || field("algorithm") != "rsa-sha256"
        || field("headers") != names.join(" ")
    {
        return false;
    }
    let signing: Vec<String> = names
        .iter()
        .map(|n| match *n {
            "(request-target)" => format!("{n}: {} {}", r.method.to_lowercase(), r.target),
            h => format!("{n}: {}", r.header(h).unwrap_or("")),
        })
        .collect();
    let sig = b64.decode(field("signature")).unwrap_or_default();
    rsa_signed(signing.join("\n").as_bytes(), &sig, false)
}

/// Oracle Cloud Infrastructure DNS (dns.{region}.oraclecloud.com/20180115, signed requests):
/// `GET /zones?compartmentId=&name=` finds the zone, `GET
/// /zones/{zone}/records/{domain}/{rtype}` lists the RRset (`items` with `domain`, `rtype`,
/// `rdata`, `ttl`), `PATCH` there applies `ADD` (with a TTL) and `REMOVE` operations.
pub fn oraclecloud(w: &World, r: &Req) -> Resp {
    if !oci_signed(r) {
        return Resp::json(
            401,
            json!({"code": "NotAuthenticated", "message": "The required information to complete authentication was not provided or was incorrect."}),
        );
    }
    if r.query("compartmentId").as_deref() != Some(OCI_COMPARTMENT) {
        return Resp::json(
            404,
            json!({"code": "NotAuthorizedOrNotFound", "message": "compartment"}),
        );
    }
    let seg = segments(r);
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    let item = |x: &Rec| {
        json!({"domain": absolute(&x.name), "rtype": x.rtype, "rdata": x.content, "ttl": x.ttl,
            "isProtected": false, "recordHash": format!("h{}", x.id), "rrsetVersion": "1"})
    };
    match (r.method.as_str(), seg.as_slice()) {
        ("GET", ["20180115", "zones"]) if r.query("name").as_deref() == Some(ZONE) => {
            Resp::ok(json!([{"name": ZONE, "id": "ocid1.dns-zone.oc1..z1", "zoneType": "PRIMARY"}]))
        }
        ("GET", ["20180115", "zones"]) => Resp::ok(json!([])),
        (
            "GET",
            [
                "20180115",
                "zones",
                "ocid1.dns-zone.oc1..z1",
                "records",
                domain,
                rtype,
            ],
        ) => {
            let items: Vec<Value> = w.rrset(&relative(domain), rtype).iter().map(item).collect();
            Resp::ok(json!({"items": items}))
        }
        (
            "PATCH",
            [
                "20180115",
                "zones",
                "ocid1.dns-zone.oc1..z1",
                "records",
                domain,
                rtype,
            ],
        ) => {
            let name = relative(domain);
            let ops = r.json()["items"].as_array().cloned().unwrap_or_default();
            if ops.is_empty() {
                return Resp::json(400, json!({"code": "InvalidParameter", "message": "items"}));
            }
            for op in &ops {
                let Some(rdata) = op["rdata"].as_str() else {
                    return Resp::json(
                        400,
                        json!({"code": "InvalidParameter", "message": "rdata"}),
                    );
                };
                match op["operation"].as_str() {
                    Some("ADD") => {
                        let Some(ttl) = op["ttl"].as_u64() else {
                            return Resp::json(
                                400,
                                json!({"code": "InvalidParameter", "message": "ttl"}),
                            );
                        };
                        if !w
                            .rrset(&name, rtype)
                            .iter()
                            .any(|x| same_content(&x.content, rdata))
                        {
                            w.put(Rec::new(&name, rtype, rdata, ttl as u32));
                        }
                    }
                    Some("REMOVE") => {
                        w.remove(|x| {
                            x.name == name && x.rtype == *rtype && same_content(&x.content, rdata)
                        });
                    }
                    _ => {
                        return Resp::json(
                            400,
                            json!({"code": "InvalidParameter", "message": "operation"}),
                        );
                    }
                }
            }
            let items: Vec<Value> = w.rrset(&name, rtype).iter().map(item).collect();
            Resp::ok(json!({"items": items}))
        }
        _ => Resp::json(
            404,
            json!({"code": "NotAuthorizedOrNotFound", "message": "not found"}),
        ),
    }
}
