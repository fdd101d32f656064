//! Every `type = "dnsupdate"` service with a fake of its API, as a table: a row is the
//! service, its settings and its fake; the checks run over every row.
//!
//! The `dns-update` crate fixes each service's HTTPS base URL, so the fakes are reached the
//! way a client behind a proxy reaches the real one: `HTTPS_PROXY` names a CONNECT proxy on
//! 127.0.0.1 that ends TLS itself, with a certificate for the asked host made by a test CA
//! that `SSL_CERT_FILE` makes the only trusted root. Nothing leaves loopback. Both variables
//! are set once, before any client exists, by [`setup`], which every test calls first.
//!
//! The fakes keep a small zone (records with name, type, content, TTL) and answer the
//! requests the crate sends (shapes from the crate's source and the providers' API
//! documentation). The checks: our record added beside a foreign one keeps it, removing
//! ours removes only ours, a new RRset gets our TTL, and 401/403 fail at once while
//! 429/5xx are retried (an injected failure of the first request: a retried request
//! succeeds, so a wrong mapping fails the check).

mod services_fakes;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use danerollover::config::ProviderConfig;
use danerollover::provider::{self, Change, retry::RetryPolicy};
use danerollover::tlsa::TlsaRecord;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use services_fakes::{ROWS, Rec, Req, Resp, Row, World};

const ZONE: &str = "example.com";
const OWNER: &str = "_25._tcp.mail";
const FRESH: &str = "_25._tcp.mx2";

// ---------------------------------------------------------------------------------------
// The proxy: CONNECT, then TLS with a certificate for the asked host, then HTTP/1.1 to the
// fake of the running test (one world per test, found by the proxy-authorization-free
// route: each test has its own proxy port? No: one proxy per process, and the world is
// picked by the `Host` of the request, which names the fake's row).

struct Proxy {
    ca: CertifiedIssuer<'static, KeyPair>,
    worlds: Mutex<Vec<(String, Arc<World>)>>,
}

static PROXY: OnceLock<Arc<Proxy>> = OnceLock::new();
static SETUP: OnceLock<()> = OnceLock::new();

/// Start the proxy (once per process) and point the crate's clients at it.
fn setup() -> Arc<Proxy> {
    SETUP.get_or_init(|| {
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name
            .push(DnType::CommonName, "danerollover fake provider CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
        let dir = std::env::temp_dir().join(format!("danerollover-fakes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        // SAFETY: set before any test thread builds a client or reads these variables;
        // every test of this binary calls `setup` first and waits here.
        unsafe {
            std::env::set_var("HTTPS_PROXY", format!("http://{addr}"));
            std::env::set_var("SSL_CERT_FILE", &ca_file);
            std::env::remove_var("NO_PROXY");
            std::env::remove_var("no_proxy");
        }
        let proxy = Arc::new(Proxy {
            ca,
            worlds: Mutex::new(Vec::new()),
        });
        PROXY.set(proxy.clone()).ok();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((sock, _)) = listener.accept().await else {
                        return;
                    };
                    let proxy = proxy.clone();
                    tokio::spawn(async move {
                        let _ = serve(proxy, sock).await;
                    });
                }
            });
        });
    });
    PROXY.get().unwrap().clone()
}

async fn read_head(sock: &mut (impl AsyncReadExt + Unpin), buf: &mut Vec<u8>) -> Option<usize> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(i);
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn serve(proxy: Arc<Proxy>, mut sock: TcpStream) -> Option<()> {
    let mut buf = Vec::new();
    let end = read_head(&mut sock, &mut buf).await?;
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let target = head.split_whitespace().nth(1)?.to_string();
    let host = target.split(':').next()?.to_string();
    sock.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .ok()?;
    let key = KeyPair::generate().ok()?;
    let leaf = CertificateParams::new(vec![host.clone()])
        .ok()?
        .signed_by(&key, &proxy.ca)
        .ok()?;
    let chain = vec![
        CertificateDer::from(leaf.der().to_vec()),
        CertificateDer::from(proxy.ca.der().to_vec()),
    ];
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .ok()?
    .with_no_client_auth()
    .with_single_cert(
        chain,
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .ok()?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let mut tls = tokio_rustls::TlsAcceptor::from(Arc::new(config))
        .accept(sock)
        .await
        .ok()?;
    loop {
        let mut buf = Vec::new();
        let end = read_head(&mut tls, &mut buf).await?;
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        let mut lines = head.split("\r\n");
        let mut first = lines.next()?.split(' ');
        let method = first.next()?.to_string();
        let target = first.next()?.to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = buf[end + 4..].to_vec();
        let mut chunk = [0u8; 4096];
        while body.len() < len {
            let n = tls.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        let req = Req {
            method,
            target,
            headers,
            body: String::from_utf8_lossy(&body).to_string(),
        };
        let world = proxy
            .worlds
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(h, _)| *h == host)
            .map(|(_, w)| w.clone());
        let resp = match world {
            Some(w) => w.answer(&req),
            None => Resp::json(
                599,
                serde_json::json!({"fake": format!("no fake for {host}")}),
            ),
        };
        let mut out = format!(
            "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
            resp.status,
            resp.content_type,
            resp.body.len()
        );
        for (k, v) in &resp.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        tls.write_all(out.as_bytes()).await.ok()?;
        tls.write_all(resp.body.as_bytes()).await.ok()?;
        tls.flush().await.ok()?;
    }
}

// ---------------------------------------------------------------------------------------
// One row's provider, with its secrets in files.

/// Serialises the tests: the proxy routes by host, so two worlds of one service at once
/// would mix.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Setup {
    world: Arc<World>,
    provider: Box<dyn provider::Provider>,
    _dir: tempdir::Dir,
}

mod tempdir {
    /// A directory removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn provider_of(row: &Row, world: &Arc<World>, policy: RetryPolicy) -> Setup {
    use std::os::unix::fs::PermissionsExt;
    let proxy = setup();
    {
        let mut worlds = proxy.worlds.lock().unwrap();
        worlds.retain(|(h, _)| !row.hosts.contains(&h.as_str()));
        for h in row.hosts {
            worlds.push((h.to_string(), world.clone()));
        }
    }
    let dir = std::env::temp_dir().join(format!(
        "danerollover-svc-{}-{}-{}",
        row.service,
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut toml = format!("type = \"dnsupdate\"\nservice = \"{}\"\n", row.service);
    for (k, v) in row.plain {
        toml.push_str(&format!("{k} = {v}\n"));
    }
    for (k, v) in row.secrets {
        let path: PathBuf = dir.join(k);
        std::fs::write(&path, v).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        toml.push_str(&format!("{k}_file = \"{}\"\n", path.display()));
    }
    let config: ProviderConfig =
        toml::from_str(&toml).unwrap_or_else(|e| panic!("{}: {e}\n{toml}", row.service));
    let provider =
        provider::build_with_retry(row.service, &config, Duration::from_secs(10), policy)
            .unwrap_or_else(|e| panic!("{}: {e}", row.service));
    Setup {
        world: world.clone(),
        provider,
        _dir: tempdir::Dir(dir),
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn quick() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        budget: Duration::from_secs(20),
        backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
    }
}

fn ours(n: u8) -> TlsaRecord {
    format!("3 1 1 {}", format!("{n:02x}").repeat(32))
        .parse()
        .unwrap()
}

fn foreign() -> TlsaRecord {
    format!("2 1 1 {}", "ee".repeat(32)).parse().unwrap()
}

fn change_at(owner: &str, ttl: u32, add: Vec<TlsaRecord>, remove: Vec<TlsaRecord>) -> Change {
    Change {
        zone: format!("{ZONE}."),
        owner: format!("{owner}.{ZONE}."),
        ttl,
        add,
        remove,
    }
}

/// The TLSA records the fake holds at `name` (relative), parsed, with their TTLs.
fn held(world: &World, name: &str) -> Vec<(TlsaRecord, u32)> {
    world
        .records()
        .into_iter()
        .filter(|r| r.name == name && r.rtype == "TLSA")
        .map(|r| {
            (
                r.content
                    .parse::<TlsaRecord>()
                    .unwrap_or_else(|e| panic!("fake holds {:?}: {e}", r.content)),
                r.ttl,
            )
        })
        .collect()
}

fn seeded(row: &Row) -> Arc<World> {
    let world = Arc::new(World::new(row.fake));
    world.put(Rec::new(OWNER, "TLSA", &foreign().to_string(), 3600));
    world.put(Rec::new("mail", "A", "192.0.2.25", 3600));
    world
}

// ---------------------------------------------------------------------------------------
// The checks, over every row.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_adds_beside_a_foreign_record_and_removes_only_its_own() {
    setup();
    let _one = ONE_AT_A_TIME.lock().await;
    let mut failed = Vec::new();
    for row in ROWS {
        let world = seeded(row);
        let s = provider_of(row, &world, quick());
        let add = change_at(OWNER, 3600, vec![ours(1), ours(2)], vec![]);
        if let Err(e) = s.provider.apply(&add).await {
            failed.push(format!("{}: add: {e}", row.service));
            continue;
        }
        let mut now: Vec<TlsaRecord> = held(&s.world, OWNER).into_iter().map(|(r, _)| r).collect();
        now.sort_by_key(|r| r.to_string());
        let mut want = vec![foreign(), ours(1), ours(2)];
        want.sort_by_key(|r| r.to_string());
        if now != want {
            failed.push(format!(
                "{}: after the addition {now:?}, want {want:?}",
                row.service
            ));
            continue;
        }
        let remove = change_at(OWNER, 3600, vec![], vec![ours(1)]);
        if let Err(e) = s.provider.apply(&remove).await {
            failed.push(format!("{}: remove: {e}", row.service));
            continue;
        }
        let mut now: Vec<TlsaRecord> = held(&s.world, OWNER).into_iter().map(|(r, _)| r).collect();
        now.sort_by_key(|r| r.to_string());
        let mut want = vec![foreign(), ours(2)];
        want.sort_by_key(|r| r.to_string());
        if now != want {
            failed.push(format!(
                "{}: after the removal {now:?}, want {want:?}",
                row.service
            ));
        }
        if !s
            .world
            .records()
            .iter()
            .any(|r| r.name == "mail" && r.rtype == "A")
        {
            failed.push(format!("{}: the A record at mail is gone", row.service));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_gives_a_new_rrset_our_ttl() {
    setup();
    let _one = ONE_AT_A_TIME.lock().await;
    let mut failed = Vec::new();
    for row in ROWS {
        for ttl in [300, 1800] {
            let world = seeded(row);
            let s = provider_of(row, &world, quick());
            if let Err(e) = s
                .provider
                .apply(&change_at(FRESH, ttl, vec![ours(3)], vec![]))
                .await
            {
                failed.push(format!("{}: add with TTL {ttl}: {e}", row.service));
                continue;
            }
            let now = held(&s.world, FRESH);
            let want = row.fixed_ttl.unwrap_or(ttl);
            if now != vec![(ours(3), want)] {
                failed.push(format!("{}: holds {now:?}, want TTL {want}", row.service));
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_maps_statuses_to_the_retry_rules() {
    setup();
    let _one = ONE_AT_A_TIME.lock().await;
    let mut failed = Vec::new();
    for row in ROWS {
        for status in [401u16, 403, 429, 500, 502] {
            let world = seeded(row);
            world.fail_next(status);
            let s = provider_of(row, &world, quick());
            let result = s
                .provider
                .apply(&change_at(OWNER, 3600, vec![ours(4)], vec![]))
                .await;
            let retried = matches!(status, 429 | 500..=599);
            match (&result, retried) {
                (Ok(()), true) => {
                    if !held(&s.world, OWNER).iter().any(|(r, _)| *r == ours(4)) {
                        failed.push(format!("{}: {status}: Ok but no record", row.service));
                    }
                }
                (Err(e), false) => {
                    let text = e.to_string();
                    if row.secrets.iter().any(|(_, v)| text.contains(v)) {
                        failed.push(format!("{}: {status}: a secret in {text}", row.service));
                    }
                    if !text.contains(row.service) || !text.contains("mail.example.com") {
                        failed.push(format!(
                            "{}: {status}: the error names neither provider nor owner: {text}",
                            row.service
                        ));
                    }
                }
                (Ok(()), false) => failed.push(format!(
                    "{}: {status} was retried (or ignored): it must fail at once",
                    row.service
                )),
                (Err(e), true) => {
                    failed.push(format!("{}: {status} was not retried: {e}", row.service))
                }
            }
            if !world.injected() {
                failed.push(format!(
                    "{}: {status}: the injected failure was never sent",
                    row.service
                ));
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn every_row_is_a_tlsa_capable_service_and_each_is_tested_or_listed() {
    let tested: Vec<&str> = ROWS.iter().map(|r| r.service).collect();
    for s in provider::services::SERVICES {
        assert!(
            tested.contains(&s.name) || services_fakes::UNTESTED.iter().any(|(n, _)| *n == s.name),
            "{}: neither a fake nor a reason in UNTESTED",
            s.name
        );
    }
    for r in ROWS {
        assert!(
            provider::services::find(r.service).is_some(),
            "{}",
            r.service
        );
    }
}

/// docs/providers.md lists every service with each of its settings, and says "fake API"
/// exactly for the services with a row here.
#[test]
fn the_docs_list_every_service_its_settings_and_how_it_is_tested() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/providers.md")).unwrap();
    for s in provider::services::SERVICES {
        let row = docs
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", s.name)))
            .unwrap_or_else(|| panic!("{}: no settings row in docs/providers.md", s.name));
        for setting in s.settings {
            assert!(
                row.contains(&format!("`{}`", setting.key)),
                "{}: the docs' row lacks {}",
                s.name,
                setting.key
            );
        }
        let table = docs
            .lines()
            .find(|l| l.starts_with("| ") && l.contains(&format!("(`{}`)", s.name)))
            .unwrap_or_else(|| panic!("{}: not in the provider table", s.name));
        let faked = ROWS.iter().any(|r| r.service == s.name);
        assert_eq!(table.contains("| fake API"), faked, "{}: {table}", s.name);
    }
}

#[test]
fn tlsa_less_and_unknown_services_are_refused_with_a_sentence() {
    for (service, want) in [
        ("digitalocean", "cannot write TLSA records"),
        ("linode", "cannot write TLSA records"),
        ("namecheap", "cannot write TLSA records"),
        ("azure", "cannot write TLSA records"),
        ("edgedns", "cannot write TLSA records"),
        ("desec", "type = \\\"desec\\\""),
        ("nosuch", "unknown service"),
    ] {
        let text = format!(
            "[providers.p]\ntype = \"dnsupdate\"\nservice = \"{service}\"\ntoken_file = \"/x\"\n"
        );
        let e = toml::from_str::<danerollover::config::Config>(&format!(
            "certbot = [\"certbot\"]\n{text}"
        ));
        let e = e.err().map(|e| e.to_string()).unwrap_or_default();
        let e2 = danerollover::config::Config::parse(&text, std::path::Path::new("c.toml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains(&want.replace("\\\"", "\"")) || e2.contains(&want.replace("\\\"", "\"")),
            "{service}: {e} / {e2}"
        );
    }
}

#[test]
fn unknown_settings_are_refused_with_their_line() {
    let text = "[providers.p]\ntype = \"dnsupdate\"\nservice = \"hetzner\"\ntoken_file = \"/x\"\nzone_id = \"42\"\n";
    let e = danerollover::config::Config::parse(text, std::path::Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 5") && e.contains("zone_id"), "{e}");
    let text =
        "[providers.p]\ntype = \"dnsupdate\"\nservice = \"hetzner\"\ntoken = \"inline-secret\"\n";
    let e = danerollover::config::Config::parse(text, std::path::Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 4") && e.contains("token_file"), "{e}");
    assert!(!e.contains("inline-secret"), "{e}");
}
