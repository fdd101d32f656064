//! deSEC's and Cloudflare's request shapes, against a small HTTP mock on 127.0.0.1 built
//! from their API documentation: method, path, headers, JSON body; retries on 429 with
//! Retry-After and on 5xx; no retries where they cannot help; no secret in errors.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use danerollover::config::ProviderConfig;
use danerollover::provider::{self, Change, Provider};
use danerollover::tlsa::TlsaRecord;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TOKEN: &str = "tok-0123456789-SECRET-abcdef";

// ---------------------------------------------------------------------------------------
// The mock: answers requests in order from a script, and records them.

#[derive(Debug, Clone)]
struct Req {
    method: String,
    /// Path and query, as sent.
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body of {} {} is not JSON: {e}", self.method, self.target))
    }
    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
    fn query(&self) -> Vec<(String, String)> {
        let q = self.target.split_once('?').map(|(_, q)| q).unwrap_or("");
        url_pairs(q)
    }
}

fn url_pairs(q: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{q}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[derive(Debug, Clone)]
struct Resp {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn resp(status: u16, body: Value) -> Resp {
    Resp {
        status,
        headers: Vec::new(),
        body: if body.is_null() {
            String::new()
        } else {
            body.to_string()
        },
    }
}

fn retry_after(status: u16, secs: u64) -> Resp {
    Resp {
        status,
        headers: vec![("Retry-After", secs.to_string())],
        body: json!({"detail": "Request was throttled."}).to_string(),
    }
}

struct Mock {
    url: String,
    seen: Arc<Mutex<Vec<Req>>>,
}

impl Mock {
    async fn start(script: Vec<Resp>) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script.into_iter()));
        let seen2 = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let seen = seen2.clone();
                let script = script.clone();
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut sock).await else {
                        return;
                    };
                    seen.lock().unwrap().push(req);
                    let next =
                        script.lock().unwrap().next().unwrap_or_else(|| {
                            resp(599, json!({"mock": "no more scripted answers"}))
                        });
                    let mut head = format!(
                        "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                        next.status,
                        next.body.len()
                    );
                    for (k, v) in &next.headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(next.body.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Mock { url, seen }
    }

    fn requests(&self) -> Vec<Req> {
        self.seen.lock().unwrap().clone()
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Req> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Req {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    })
}

// ---------------------------------------------------------------------------------------
// Helpers.

fn rec(n: u8) -> TlsaRecord {
    format!("3 1 1 {}", format!("{n:02x}").repeat(32))
        .parse()
        .unwrap()
}

fn foreign_ta() -> TlsaRecord {
    format!("2 0 1 {}", "ee".repeat(32)).parse().unwrap()
}

fn change(ttl: u32, add: Vec<TlsaRecord>, remove: Vec<TlsaRecord>) -> Change {
    Change {
        zone: "example.com.".into(),
        owner: "_25._tcp.mail.example.com.".into(),
        ttl,
        add,
        remove,
    }
}

struct Secrets {
    _dir: tempfile::TempDir,
    token: PathBuf,
}

fn token_file() -> Secrets {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    Secrets { _dir: dir, token }
}

/// A back end with a 3 s retry budget: with the 0.5 s, 1 s, 2 s backoff that makes three
/// attempts of fast failures (0 s, 0.5 s, 1.5 s; the next would start at 3.5 s).
fn build_quick(
    name: &str,
    config: &ProviderConfig,
    timeout: Duration,
) -> Result<Box<dyn Provider>, provider::ProviderError> {
    provider::build_with_retry(
        name,
        config,
        timeout,
        provider::retry::RetryPolicy::with_budget(Duration::from_secs(3)),
    )
}

fn desec(mock: &Mock, s: &Secrets) -> Box<dyn Provider> {
    build_quick(
        "d",
        &ProviderConfig::Desec {
            token_file: Some(s.token.clone()),
            token_env: None,
            url: Some(format!("{}/api/v1", mock.url)),
        },
        Duration::from_secs(5),
    )
    .unwrap()
}

fn cloudflare(mock: &Mock, s: &Secrets) -> Box<dyn Provider> {
    build_quick(
        "cf",
        &ProviderConfig::Cloudflare {
            token_file: Some(s.token.clone()),
            token_env: None,
            url: Some(format!("{}/client/v4", mock.url)),
        },
        Duration::from_secs(5),
    )
    .unwrap()
}

fn desec_rrset(records: &[&TlsaRecord], ttl: u32) -> Value {
    json!({
        "created": "2024-01-01T00:00:00Z",
        "domain": "example.com",
        "subname": "_25._tcp.mail",
        "name": "_25._tcp.mail.example.com.",
        "type": "TLSA",
        "records": records.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        "ttl": ttl,
        "touched": "2024-01-01T00:00:00Z",
    })
}

const DESEC_RRSET: &str = "/api/v1/domains/example.com/rrsets/_25._tcp.mail/TLSA/";

// ---------------------------------------------------------------------------------------
// deSEC

#[tokio::test]
async fn desec_patches_the_merged_rrset_in_one_request() {
    let (old, next, ta) = (rec(1), rec(2), foreign_ta());
    let mock = Mock::start(vec![
        resp(200, desec_rrset(&[&old, &ta], 3600)),
        resp(200, desec_rrset(&[&ta, &next], 3600)),
        resp(200, desec_rrset(&[&ta, &next], 3600)),
        resp(200, desec_rrset(&[&ta, &next], 3600)),
    ])
    .await;
    let s = token_file();
    desec(&mock, &s)
        .apply(&change(3600, vec![next.clone()], vec![old.clone()]))
        .await
        .unwrap();
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 4, "{reqs:#?}");
    // The write is read back, and again a moment later.
    for r in &reqs[2..] {
        assert_eq!(r.method, "GET");
        assert_eq!(r.target, DESEC_RRSET);
    }
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].target, DESEC_RRSET);
    assert_eq!(reqs[1].method, "PATCH");
    assert_eq!(reqs[1].target, DESEC_RRSET);
    for r in &reqs {
        assert_eq!(r.header("authorization"), Some(&*format!("Token {TOKEN}")));
    }
    assert!(
        reqs[1]
            .header("content-type")
            .is_some_and(|v| v.starts_with("application/json"))
    );
    assert_eq!(
        reqs[1].json(),
        json!({"ttl": 3600, "records": [ta.to_string(), next.to_string()]})
    );
}

#[tokio::test]
async fn desec_creates_a_missing_rrset_with_post() {
    let next = rec(2);
    let mock = Mock::start(vec![
        resp(404, json!({"detail": "Not found."})),
        resp(201, desec_rrset(&[&next], 3600)),
        resp(200, desec_rrset(&[&next], 3600)),
        resp(200, desec_rrset(&[&next], 3600)),
    ])
    .await;
    let s = token_file();
    desec(&mock, &s)
        .apply(&change(3600, vec![next.clone()], vec![rec(1)]))
        .await
        .unwrap();
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 4, "{reqs:#?}");
    assert_eq!(reqs[1].method, "POST");
    assert_eq!(reqs[1].target, "/api/v1/domains/example.com/rrsets/");
    assert_eq!(
        reqs[1].json(),
        json!({"subname": "_25._tcp.mail", "type": "TLSA", "ttl": 3600, "records": [next.to_string()]})
    );
}

#[tokio::test]
async fn desec_deletes_the_rrset_when_the_last_record_goes() {
    let old = rec(1);
    let mock = Mock::start(vec![
        resp(200, desec_rrset(&[&old], 3600)),
        resp(204, Value::Null),
        resp(404, json!({"detail": "Not found."})),
        resp(404, json!({"detail": "Not found."})),
    ])
    .await;
    let s = token_file();
    desec(&mock, &s)
        .apply(&change(3600, vec![], vec![old]))
        .await
        .unwrap();
    let reqs = mock.requests();
    assert_eq!(reqs[1].method, "PATCH");
    assert_eq!(reqs[1].json(), json!({"records": []}));
}

#[tokio::test]
async fn desec_honours_retry_after_on_429() {
    let (old, next) = (rec(1), rec(2));
    let mock = Mock::start(vec![
        retry_after(429, 1),
        resp(200, desec_rrset(&[&old], 3600)),
        resp(200, desec_rrset(&[&next], 3600)),
        resp(200, desec_rrset(&[&next], 3600)),
        resp(200, desec_rrset(&[&next], 3600)),
    ])
    .await;
    let s = token_file();
    let start = Instant::now();
    desec(&mock, &s)
        .apply(&change(3600, vec![next], vec![old]))
        .await
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "waited only {:?}",
        start.elapsed()
    );
    let methods: Vec<String> = mock.requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["GET", "GET", "PATCH", "GET", "GET"]);
}

#[tokio::test]
async fn desec_merges_again_when_another_writer_replaced_the_rrset() {
    // Another host replaced the RRset between our GET and our PATCH (it had read it
    // without our record): the read-back lacks ours, so we read, merge and write again,
    // keeping the other host's record.
    let (ours, theirs) = (rec(2), rec(7));
    let mock = Mock::start(vec![
        resp(200, desec_rrset(&[], 3600)),
        resp(200, desec_rrset(&[&ours], 3600)),
        resp(200, desec_rrset(&[&theirs], 3600)),
        resp(200, desec_rrset(&[&theirs], 3600)),
        resp(200, desec_rrset(&[&theirs, &ours], 3600)),
        resp(200, desec_rrset(&[&theirs, &ours], 3600)),
        resp(200, desec_rrset(&[&theirs, &ours], 3600)),
    ])
    .await;
    let s = token_file();
    desec(&mock, &s)
        .apply(&change(3600, vec![ours.clone()], vec![]))
        .await
        .unwrap();
    let reqs = mock.requests();
    let methods: Vec<&str> = reqs.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(
        methods,
        ["GET", "PATCH", "GET", "GET", "PATCH", "GET", "GET"]
    );
    assert_eq!(
        reqs[4].json(),
        json!({"ttl": 3600, "records": [theirs.to_string(), ours.to_string()]})
    );
}

#[tokio::test]
async fn desec_second_read_back_catches_a_stale_write_landing_late() {
    // Our first read-back holds; then a writer that had read before our write lands its
    // stale merge (without ours): the second read-back lacks ours, so we write again.
    let (ours, theirs) = (rec(2), rec(7));
    let mock = Mock::start(vec![
        resp(200, desec_rrset(&[], 3600)),
        resp(200, desec_rrset(&[&ours], 3600)),
        resp(200, desec_rrset(&[&ours], 3600)),
        resp(200, desec_rrset(&[&theirs], 3600)),
        resp(200, desec_rrset(&[&theirs], 3600)),
        resp(200, desec_rrset(&[&theirs, &ours], 3600)),
        resp(200, desec_rrset(&[&theirs, &ours], 3600)),
        resp(200, desec_rrset(&[&theirs, &ours], 3600)),
    ])
    .await;
    let s = token_file();
    desec(&mock, &s)
        .apply(&change(3600, vec![ours.clone()], vec![]))
        .await
        .unwrap();
    let methods: Vec<String> = mock.requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(
        methods,
        ["GET", "PATCH", "GET", "GET", "GET", "PATCH", "GET", "GET"]
    );
}

#[tokio::test]
async fn desec_names_the_owner_when_the_rrset_keeps_changing_under_it() {
    let ours = rec(2);
    // Every read-back lacks our record.
    let mut script = Vec::new();
    for _ in 0..20 {
        script.push(resp(200, desec_rrset(&[], 3600)));
        script.push(resp(200, desec_rrset(&[&ours], 3600)));
        script.push(resp(200, desec_rrset(&[], 3600)));
    }
    let mock = Mock::start(script).await;
    let s = token_file();
    let err = desec(&mock, &s)
        .apply(&change(3600, vec![ours.clone()], vec![]))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("_25._tcp.mail.example.com")
            && err.contains("lacks")
            && err.contains("another writer"),
        "{err}"
    );
    // Bounded: the quick policy's attempts, three requests a round.
    assert_eq!(mock.requests().len() % 3, 0);
    assert!(mock.requests().len() <= 3 * 20);
}

#[tokio::test]
async fn desec_gives_up_at_once_when_retry_after_is_too_long() {
    let mock = Mock::start(vec![retry_after(429, 3600)]).await;
    let s = token_file();
    let start = Instant::now();
    let err = desec(&mock, &s)
        .apply(&change(3600, vec![rec(2)], vec![]))
        .await
        .unwrap_err()
        .to_string();
    eprintln!("error: {err}");
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(err.contains("429") && err.contains("3600"), "{err}");
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn desec_retries_5xx_then_succeeds() {
    let (old, next) = (rec(1), rec(2));
    let mock = Mock::start(vec![
        resp(503, json!({"detail": "unavailable"})),
        resp(200, desec_rrset(&[&old], 3600)),
        resp(502, Value::Null),
        resp(200, desec_rrset(&[&old], 3600)),
        resp(200, desec_rrset(&[&next], 3600)),
        resp(200, desec_rrset(&[&next], 3600)),
        resp(200, desec_rrset(&[&next], 3600)),
    ])
    .await;
    let s = token_file();
    desec(&mock, &s)
        .apply(&change(3600, vec![next.clone()], vec![old]))
        .await
        .unwrap();
    let reqs = mock.requests();
    let methods: Vec<&str> = reqs.iter().map(|r| r.method.as_str()).collect();
    // The failed PATCH is not sent again as it was: the RRset is read again first.
    assert_eq!(
        methods,
        ["GET", "GET", "PATCH", "GET", "PATCH", "GET", "GET"]
    );
    assert_eq!(reqs[2].json(), reqs[4].json());
}

#[tokio::test]
async fn desec_5xx_three_times_is_a_failure_naming_provider_and_owner() {
    let mock = Mock::start(vec![
        resp(500, Value::Null),
        resp(500, Value::Null),
        resp(500, Value::Null),
        resp(200, desec_rrset(&[], 3600)),
    ])
    .await;
    let s = token_file();
    let err = desec(&mock, &s)
        .apply(&change(3600, vec![rec(2)], vec![]))
        .await
        .unwrap_err()
        .to_string();
    eprintln!("error: {err}");
    assert!(err.contains("provider d (desec)"), "{err}");
    assert!(err.contains("_25._tcp.mail.example.com."), "{err}");
    assert!(err.contains("500") && err.contains("3 attempts"), "{err}");
    assert_eq!(mock.requests().len(), 3);
}

#[tokio::test]
async fn desec_low_ttl_is_reported_with_the_minimum() {
    let mock = Mock::start(vec![
        resp(404, json!({"detail": "Not found."})),
        resp(
            400,
            json!({"ttl": ["Ensure this value is greater than or equal to 3600."]}),
        ),
    ])
    .await;
    let s = token_file();
    let err = desec(&mock, &s)
        .apply(&change(300, vec![rec(2)], vec![]))
        .await
        .unwrap_err()
        .to_string();
    eprintln!("error: {err}");
    assert!(err.contains("TTL 300") && err.contains("3600"), "{err}");
    assert_eq!(mock.requests().len(), 2, "a 400 is not retried");
}

#[tokio::test]
async fn desec_bad_token_is_not_retried_and_not_echoed() {
    // A server that (badly) echoes the Authorization header in its error body.
    let mock = Mock::start(vec![resp(
        401,
        json!({"detail": format!("Invalid token: Token {TOKEN}")}),
    )])
    .await;
    let s = token_file();
    let err = desec(&mock, &s)
        .apply(&change(3600, vec![rec(2)], vec![]))
        .await
        .unwrap_err()
        .to_string();
    eprintln!("error: {err}");
    assert!(err.contains("401") && err.contains("token"), "{err}");
    assert!(!err.contains(TOKEN), "the token leaked: {err}");
    assert!(err.contains("<redacted>"), "{err}");
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn desec_read_gives_records_and_ttl() {
    let (a, ta) = (rec(1), foreign_ta());
    let mock = Mock::start(vec![resp(200, desec_rrset(&[&a, &ta], 7200))]).await;
    let s = token_file();
    let view = desec(&mock, &s)
        .read("example.com.", "_25._tcp.mail.example.com.")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.ttl, Some(7200));
    assert_eq!(view.records, vec![a, ta]);
    assert_eq!(mock.requests()[0].target, DESEC_RRSET);
}

#[tokio::test]
async fn connection_refused_is_retried_then_named() {
    // A port with nothing listening.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = token_file();
    let p = build_quick(
        "d",
        &ProviderConfig::Desec {
            token_file: Some(s.token.clone()),
            token_env: None,
            url: Some(format!("http://127.0.0.1:{port}/api/v1")),
        },
        Duration::from_secs(2),
    )
    .unwrap();
    let start = Instant::now();
    let err = p
        .apply(&change(3600, vec![rec(2)], vec![]))
        .await
        .unwrap_err()
        .to_string();
    eprintln!("error: {err}");
    assert!(
        start.elapsed() >= Duration::from_millis(1400),
        "backoff 0.5 s + 1 s: {:?}",
        start.elapsed()
    );
    assert!(err.contains("connection refused"), "{err}");
    assert!(err.contains("3 attempts"), "{err}");
    assert!(!err.contains(TOKEN), "{err}");
}

// ---------------------------------------------------------------------------------------
// Cloudflare

fn cf_ok(result: Value) -> Value {
    json!({"success": true, "errors": [], "messages": [], "result": result,
           "result_info": {"page": 1, "per_page": 100, "count": 1, "total_count": 1, "total_pages": 1}})
}

fn cf_record(id: &str, r: &TlsaRecord) -> Value {
    json!({
        "id": id,
        "zone_id": "z1",
        "name": "_25._tcp.mail.example.com",
        "type": "TLSA",
        "content": format!("{}\t{}\t{}\t{}", u8::from(r.usage), u8::from(r.selector), u8::from(r.matching), r.data_hex()),
        "data": {
            "usage": u8::from(r.usage),
            "selector": u8::from(r.selector),
            "matching_type": u8::from(r.matching),
            "certificate": r.data_hex(),
        },
        "ttl": 300,
        "proxied": false,
    })
}

fn cf_error(code: i64, message: &str) -> Value {
    json!({"success": false, "errors": [{"code": code, "message": message}], "messages": [], "result": null})
}

#[tokio::test]
async fn cloudflare_adds_before_it_deletes_and_only_what_is_named() {
    let (old, next, ta) = (rec(1), rec(2), foreign_ta());
    let mock = Mock::start(vec![
        resp(200, cf_ok(json!([{"id": "z1", "name": "example.com"}]))),
        resp(
            200,
            cf_ok(json!([cf_record("r-old", &old), cf_record("r-ta", &ta)])),
        ),
        resp(200, cf_ok(cf_record("r-next", &next))),
        resp(200, cf_ok(json!({"id": "r-old"}))),
    ])
    .await;
    let s = token_file();
    let p = cloudflare(&mock, &s);
    p.apply(&change(300, vec![next.clone()], vec![old.clone()]))
        .await
        .unwrap();
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 4, "{reqs:#?}");
    for r in &reqs {
        assert_eq!(r.header("authorization"), Some(&*format!("Bearer {TOKEN}")));
    }
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path(), "/client/v4/zones");
    assert_eq!(
        reqs[0].query(),
        [("name".to_string(), "example.com".to_string())]
    );
    assert_eq!(reqs[1].method, "GET");
    assert_eq!(reqs[1].path(), "/client/v4/zones/z1/dns_records");
    let q = reqs[1].query();
    assert!(q.contains(&("type".into(), "TLSA".into())), "{q:?}");
    assert!(
        q.contains(&("name".into(), "_25._tcp.mail.example.com".into())),
        "{q:?}"
    );
    assert_eq!(reqs[2].method, "POST");
    assert_eq!(reqs[2].path(), "/client/v4/zones/z1/dns_records");
    assert_eq!(
        reqs[2].json(),
        json!({
            "type": "TLSA",
            "name": "_25._tcp.mail.example.com",
            "ttl": 300,
            "data": {"usage": 3, "selector": 1, "matching_type": 1, "certificate": next.data_hex()},
        })
    );
    assert_eq!(reqs[3].method, "DELETE");
    assert_eq!(reqs[3].path(), "/client/v4/zones/z1/dns_records/r-old");
}

#[tokio::test]
async fn cloudflare_caches_the_zone_id() {
    let a = rec(1);
    let mock = Mock::start(vec![
        resp(200, cf_ok(json!([{"id": "z1", "name": "example.com"}]))),
        resp(200, cf_ok(json!([]))),
        resp(200, cf_ok(cf_record("r-a", &a))),
        resp(200, cf_ok(json!([cf_record("r-a", &a)]))),
        resp(200, cf_ok(json!({"id": "r-a"}))),
    ])
    .await;
    let s = token_file();
    let p = cloudflare(&mock, &s);
    p.apply(&change(300, vec![a.clone()], vec![]))
        .await
        .unwrap();
    p.apply(&change(300, vec![], vec![a.clone()]))
        .await
        .unwrap();
    let paths: Vec<String> = mock
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path()))
        .collect();
    assert_eq!(
        paths,
        [
            "GET /client/v4/zones",
            "GET /client/v4/zones/z1/dns_records",
            "POST /client/v4/zones/z1/dns_records",
            "GET /client/v4/zones/z1/dns_records",
            "DELETE /client/v4/zones/z1/dns_records/r-a",
        ]
    );
}

#[tokio::test]
async fn cloudflare_retries_5xx_and_429_then_succeeds() {
    let (old, next) = (rec(1), rec(2));
    let mock = Mock::start(vec![
        resp(200, cf_ok(json!([{"id": "z1", "name": "example.com"}]))),
        resp(200, cf_ok(json!([cf_record("r-old", &old)]))),
        resp(502, Value::Null),
        resp(200, cf_ok(cf_record("r-next", &next))),
        retry_after(429, 1),
        resp(200, cf_ok(json!({"id": "r-old"}))),
    ])
    .await;
    let s = token_file();
    let start = Instant::now();
    cloudflare(&mock, &s)
        .apply(&change(300, vec![next], vec![old]))
        .await
        .unwrap();
    assert!(start.elapsed() >= Duration::from_millis(1400));
    let methods: Vec<String> = mock.requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["GET", "GET", "POST", "POST", "DELETE", "DELETE"]);
}

#[tokio::test]
async fn cloudflare_failed_addition_removes_nothing_and_says_so() {
    let (old, next) = (rec(1), rec(2));
    let mock = Mock::start(vec![
        resp(200, cf_ok(json!([{"id": "z1", "name": "example.com"}]))),
        resp(200, cf_ok(json!([cf_record("r-old", &old)]))),
        resp(400, cf_error(9005, "Content for TLSA record is invalid.")),
    ])
    .await;
    let s = token_file();
    let err = cloudflare(&mock, &s)
        .apply(&change(300, vec![next], vec![old]))
        .await
        .unwrap_err()
        .to_string();
    eprintln!("error: {err}");
    assert!(err.contains("provider cf (cloudflare)"), "{err}");
    assert!(err.contains("_25._tcp.mail.example.com."), "{err}");
    assert!(err.contains("400") && err.contains("invalid"), "{err}");
    assert!(
        err.contains("added 0 of 1") && err.contains("removed none"),
        "{err}"
    );
    let methods: Vec<String> = mock.requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(
        methods,
        ["GET", "GET", "POST"],
        "no DELETE after a failed POST"
    );
}

#[tokio::test]
async fn cloudflare_identical_record_counts_as_added() {
    let (old, next) = (rec(1), rec(2));
    let mock = Mock::start(vec![
        resp(200, cf_ok(json!([{"id": "z1", "name": "example.com"}]))),
        resp(200, cf_ok(json!([cf_record("r-old", &old)]))),
        resp(400, cf_error(81058, "An identical record already exists.")),
        resp(200, cf_ok(json!({"id": "r-old"}))),
    ])
    .await;
    let s = token_file();
    cloudflare(&mock, &s)
        .apply(&change(300, vec![next], vec![old]))
        .await
        .unwrap();
    assert_eq!(mock.requests().last().unwrap().method, "DELETE");
}

#[tokio::test]
async fn cloudflare_forbidden_is_not_retried() {
    let mock = Mock::start(vec![resp(403, cf_error(9109, "Invalid access token"))]).await;
    let s = token_file();
    let err = cloudflare(&mock, &s)
        .apply(&change(300, vec![rec(2)], vec![]))
        .await
        .unwrap_err()
        .to_string();
    eprintln!("error: {err}");
    assert!(err.contains("403") && err.contains("token"), "{err}");
    assert!(!err.contains(TOKEN), "{err}");
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn cloudflare_unknown_zone_is_named() {
    let mock = Mock::start(vec![resp(200, cf_ok(json!([])))]).await;
    let s = token_file();
    let err = cloudflare(&mock, &s)
        .apply(&change(300, vec![rec(2)], vec![]))
        .await
        .unwrap_err()
        .to_string();
    eprintln!("error: {err}");
    assert!(
        err.contains("zone example.com is not in this Cloudflare account"),
        "{err}"
    );
}

#[tokio::test]
async fn cloudflare_read_gives_the_records() {
    let (a, ta) = (rec(1), foreign_ta());
    let mock = Mock::start(vec![
        resp(200, cf_ok(json!([{"id": "z1", "name": "example.com"}]))),
        resp(
            200,
            cf_ok(json!([cf_record("r-a", &a), cf_record("r-ta", &ta)])),
        ),
    ])
    .await;
    let s = token_file();
    let view = cloudflare(&mock, &s)
        .read("example.com.", "_25._tcp.mail.example.com.")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.records, vec![a, ta]);
    assert_eq!(view.ttl, Some(300));
}

// ---------------------------------------------------------------------------------------
// PowerDNS's request shape (the lab tests the real thing).

#[tokio::test]
async fn powerdns_request_shape() {
    let (old, next, ta) = (rec(1), rec(2), foreign_ta());
    let zone = json!({
        "name": "example.com.",
        "rrsets": [{
            "name": "_25._tcp.mail.example.com.", "type": "TLSA", "ttl": 300, "comments": [],
            "records": [{"content": old.to_string(), "disabled": false},
                        {"content": ta.to_string(), "disabled": true}]
        }]
    });
    let after = json!({
        "name": "example.com.",
        "rrsets": [{
            "name": "_25._tcp.mail.example.com.", "type": "TLSA", "ttl": 300, "comments": [],
            "records": [{"content": ta.to_string(), "disabled": true},
                        {"content": next.to_string(), "disabled": false}]
        }]
    });
    let mock = Mock::start(vec![
        resp(200, zone),
        resp(204, Value::Null),
        resp(200, after.clone()),
        resp(200, after),
    ])
    .await;
    let s = token_file();
    let p = build_quick(
        "home",
        &ProviderConfig::Powerdns {
            url: mock.url.clone(),
            api_key_file: Some(s.token.clone()),
            api_key_env: None,
            server_id: "localhost".into(),
        },
        Duration::from_secs(5),
    )
    .unwrap();
    p.apply(&change(300, vec![next.clone()], vec![old]))
        .await
        .unwrap();
    let reqs = mock.requests();
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(
        reqs[0].path(),
        "/api/v1/servers/localhost/zones/example.com."
    );
    assert!(
        reqs[0]
            .query()
            .contains(&("rrset_type".into(), "TLSA".into()))
    );
    assert_eq!(reqs[1].method, "PATCH");
    assert_eq!(reqs[1].header("x-api-key"), Some(TOKEN));
    assert_eq!(
        reqs[1].json(),
        json!({"rrsets": [{
            "name": "_25._tcp.mail.example.com.", "type": "TLSA", "ttl": 300, "changetype": "REPLACE",
            "records": [{"content": ta.to_string(), "disabled": true},
                        {"content": next.to_string(), "disabled": false}]
        }]})
    );
    assert_eq!(reqs.len(), 4, "the PATCH is read back, twice: {reqs:#?}");
    assert_eq!(reqs[2].method, "GET");
    assert_eq!(reqs[3].method, "GET");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_with_retries() {
    // Accepts connections and reads, but never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(Mutex::new(0u32));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            *counter.lock().unwrap() += 1;
            held.push(sock);
        }
    });
    let s = token_file();
    let p = build_quick(
        "cf",
        &ProviderConfig::Cloudflare {
            token_file: Some(s.token.clone()),
            token_env: None,
            url: Some(format!("http://{addr}/client/v4")),
        },
        Duration::from_millis(400),
    )
    .unwrap();
    let start = Instant::now();
    let err = p
        .apply(&change(300, vec![rec(2)], vec![]))
        .await
        .unwrap_err()
        .to_string();
    eprintln!("error: {err}");
    let took = start.elapsed();
    // 3 attempts of 0.4 s plus 0.5 s and 1 s of backoff.
    assert!(took >= Duration::from_millis(2600), "{took:?}");
    assert!(took < Duration::from_secs(6), "{took:?}");
    assert!(err.contains("no answer within the timeout"), "{err}");
    assert!(err.contains("3 attempts"), "{err}");
    assert_eq!(*accepted.lock().unwrap(), 3);
}

#[tokio::test]
async fn redirects_are_not_followed_so_keys_stay_home() {
    let elsewhere = Mock::start(vec![resp(200, json!({"rrsets": []}))]).await;
    let mock = Mock::start(vec![Resp {
        status: 302,
        headers: vec![(
            "Location",
            format!(
                "{}/api/v1/servers/localhost/zones/example.com.",
                elsewhere.url
            ),
        )],
        body: String::new(),
    }])
    .await;
    let s = token_file();
    let p = build_quick(
        "home",
        &ProviderConfig::Powerdns {
            url: mock.url.clone(),
            api_key_file: Some(s.token.clone()),
            api_key_env: None,
            server_id: "localhost".into(),
        },
        Duration::from_secs(5),
    )
    .unwrap();
    let err = p
        .apply(&change(300, vec![rec(2)], vec![]))
        .await
        .unwrap_err()
        .to_string();
    eprintln!("error: {err}");
    assert!(err.contains("302"), "{err}");
    assert!(
        elsewhere.requests().is_empty(),
        "the key went to another server"
    );
}
