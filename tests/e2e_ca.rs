//! The CA's side against the lab (issue: a blocked key, renewals during a rollover, what
//! doctor says about certbot):
//! - a key the CA refuses: pebble 2.4 cannot block keys, so certbot's own renewal goes
//!   through a small ACME fault proxy (in this process, loopback) in front of the lab's
//!   pebble that answers the finalize request carrying a chosen key's CSR with the
//!   `badPublicKey` problem document and forwards everything else. `run` reads certbot's
//!   log, says so plainly and runs the emergency rollover to the pre-published next key;
//!   without a served next key it says what is missing and `status` exits 1;
//! - certbot renewing the lineage (`renew --force-renewal`) during each phase of one
//!   rollover: waiting, switching (concurrently with `rollover --wait`), just switched,
//!   retiring, retired: the key never changes by a renewal and the live key's record is
//!   always served;
//! - `doctor` with Debian's certbot 2.1 and the newest one (`LAB_CERTBOT_LATEST`).

mod common;
mod e2e_support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::Lab;
use e2e_support::*;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

// ---------------------------------------------------------------------------------------
// The ACME fault proxy.

/// An HTTPS proxy in front of pebble's ACME API that refuses the keys in `blocked` at
/// finalize (`badPublicKey`). It presents pebble's own HTTPS certificate (the lab's CA
/// signs it for 127.0.0.1), and forwards the Host header so that pebble builds every URL
/// (directory, orders, nonces) pointing back at the proxy.
struct FaultProxy {
    addr: SocketAddr,
    /// SPKIs (DER) refused.
    blocked: Arc<Mutex<Vec<Vec<u8>>>>,
    /// Finalize requests refused so far.
    refused: Arc<AtomicUsize>,
    _rt: tokio::runtime::Runtime,
}

impl FaultProxy {
    fn start(lab: &Lab) -> FaultProxy {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let directory = lab.var("LAB_ACME_DIRECTORY").to_string();
        let base = directory.trim_end_matches("/dir").to_string();
        let ca = std::fs::read(lab.var("LAB_ACME_CA_BUNDLE")).unwrap();
        let pebble_dir = lab.path("LAB_DIR").join("pebble");
        let certs: Vec<rustls::pki_types::CertificateDer<'static>> =
            rustls::pki_types::pem::PemObject::pem_file_iter(pebble_dir.join("cert.pem"))
                .unwrap()
                .map(|c| c.unwrap())
                .collect();
        let key: rustls::pki_types::PrivateKeyDer<'static> =
            rustls::pki_types::pem::PemObject::from_pem_file(pebble_dir.join("key.pem")).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls::pki_types::pem::PemObject::pem_slice_iter(&ca) {
            roots.add(c.unwrap()).unwrap();
        }
        let client_config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let up = Upstream {
            addr: base.trim_start_matches("https://").to_string(),
            tls: tokio_rustls::TlsConnector::from(Arc::new(client_config)),
        };
        let blocked = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(AtomicUsize::new(0));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (b, r) = (blocked.clone(), refused.clone());
        rt.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, up, b, r) = (acceptor.clone(), up.clone(), b.clone(), r.clone());
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ = serve(tls, &up, &b, &r).await;
                    }
                });
            }
        });
        FaultProxy {
            addr,
            blocked,
            refused,
            _rt: rt,
        }
    }

    fn directory(&self) -> String {
        format!("https://{}/dir", self.addr)
    }

    fn block(&self, spki: &[u8]) {
        self.blocked.lock().unwrap().push(spki.to_vec());
    }
}

/// Where the proxy forwards to: pebble's address, and a TLS client trusting its CA.
#[derive(Clone)]
struct Upstream {
    addr: String,
    tls: tokio_rustls::TlsConnector,
}

impl Upstream {
    /// Send one request (its head and body as received, with `Connection: close`) to
    /// pebble and return the whole raw response (read to EOF), chunked or not.
    async fn exchange(&self, head: &str, body: &[u8]) -> std::io::Result<Vec<u8>> {
        let tcp = tokio::net::TcpStream::connect(&self.addr).await?;
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let mut tls = self.tls.connect(name, tcp).await?;
        tls.write_all(head.as_bytes()).await?;
        tls.write_all(body).await?;
        tls.flush().await?;
        let mut out = Vec::new();
        // pebble closes after answering (Connection: close); a TLS close without
        // close_notify still ends the response.
        let _ = tls.read_to_end(&mut out).await;
        Ok(out)
    }
}

/// One connection: one HTTP/1.1 request, forwarded byte for byte (certbot's Host header
/// included, so that pebble's URLs point at the proxy), or refused; then closed.
async fn serve<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: S,
    up: &Upstream,
    blocked: &Mutex<Vec<Vec<u8>>>,
    refused: &AtomicUsize,
) -> std::io::Result<()> {
    let mut stream = BufReader::new(stream);
    let mut line = String::new();
    if stream.read_line(&mut line).await? == 0 {
        return Ok(());
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        return Ok(());
    };
    let (method, path) = (method.to_string(), path.to_string());
    let mut head = line.clone();
    let mut len = 0usize;
    let mut host = String::new();
    loop {
        let mut h = String::new();
        stream.read_line(&mut h).await?;
        let t = h.trim_end();
        if t.is_empty() {
            break;
        }
        if let Some((k, v)) = t.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            match k.as_str() {
                "content-length" => len = v.trim().parse().unwrap_or(0),
                "host" => host = v.trim().to_string(),
                "connection" | "keep-alive" => continue,
                _ => {}
            }
        }
        head.push_str(&h);
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut body = vec![0; len];
    stream.read_exact(&mut body).await?;
    if std::env::var_os("PROXY_DEBUG").is_some() {
        eprintln!("fault proxy: {method} {path} (Host {host})");
    }
    let response = if method == "POST" && refuses(&body, blocked) {
        refused.fetch_add(1, Ordering::SeqCst);
        // certbot wants a fresh nonce with every answer, errors included.
        let nonce_req =
            format!("HEAD /nonce-plz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let raw = up.exchange(&nonce_req, &[]).await?;
        let raw = String::from_utf8_lossy(&raw);
        let nonce = raw
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("replay-nonce")
                    .then(|| v.trim().to_string())
            })
            .unwrap_or_default();
        let body = r#"{"type": "urn:ietf:params:acme:error:badPublicKey", "detail": "the key is blocked (the lab's ACME fault proxy)", "status": 400}"#;
        format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/problem+json\r\nReplay-Nonce: {nonce}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    } else {
        up.exchange(&head, &body).await?
    };
    let s = stream.get_mut();
    s.write_all(&response).await?;
    s.flush().await?;
    s.shutdown().await
}

/// Whether a JWS request body carries a CSR for a blocked key.
fn refuses(body: &[u8], blocked: &Mutex<Vec<Vec<u8>>>) -> bool {
    let b64 = |s: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .ok()
    };
    let Ok(jws) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    let Some(payload) = jws["payload"].as_str().and_then(b64) else {
        return false;
    };
    let Ok(payload) = serde_json::from_slice::<Value>(&payload) else {
        return false;
    };
    let Some(csr) = payload["csr"].as_str().and_then(b64) else {
        return false;
    };
    let m = match danerollover::material::parse(&csr) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("fault proxy: a CSR it cannot read: {e}");
            return false;
        }
    };
    blocked.lock().unwrap().iter().any(|k| k == m.spki())
}

// ---------------------------------------------------------------------------------------
// Helpers.

fn status(s: &Setup) -> (i32, Value) {
    let out = s.dr(&["status", &s.name, "--json"]);
    (
        out.status.code().unwrap_or(-1),
        Setup::json(&out)["lineages"][0].clone(),
    )
}

/// Put `line` among the configuration's top-level keys (before the first table).
fn add_top_level(s: &Setup, line: &str) {
    let text = std::fs::read_to_string(&s.cfg).unwrap();
    std::fs::write(&s.cfg, format!("{line}\n{text}")).unwrap();
}

/// The SPKI of the lineage's live certificate.
fn live_spki(s: &Setup) -> Vec<u8> {
    danerollover::acme::certbot::load(&s.lab.path("LAB_LETSENCRYPT_DIR"), &s.name)
        .unwrap()
        .current_spki()
        .unwrap()
        .to_vec()
}

/// An ACME account at the proxy (certbot keeps accounts per server URL); removed on drop.
struct ProxyAccount {
    dir: std::path::PathBuf,
    id: String,
}

impl ProxyAccount {
    fn register(s: &Setup, proxy: &FaultProxy) -> ProxyAccount {
        let out = s.certbot(&["register", "--server", &proxy.directory()]);
        assert_ok(&out, "certbot register at the fault proxy");
        let dir = s
            .lab
            .path("LAB_LETSENCRYPT_DIR")
            .join("accounts")
            .join(proxy.addr.to_string());
        let id = std::fs::read_dir(dir.join("dir"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .file_name()
            .to_string_lossy()
            .into_owned();
        ProxyAccount { dir, id }
    }
}

impl Drop for ProxyAccount {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------------
// A blocked key.

/// certbot's own renewal is refused for the live key (through the fault proxy): no hook
/// runs, `run` finds the refusal in certbot's log. First with the next key's record
/// withdrawn by hand: the emergency cannot run, `run` and `status` exit 1 naming the
/// refusal and what is missing; then, the record published again, `run` switches at once
/// (TTL 300: a normal switch would wait over ten minutes) and withdraws the refused key's
/// record.
#[test]
fn e2e_a_key_the_ca_refuses_runs_the_emergency_rollover() {
    let Some(lab) = Lab::get("e2e_a_key_the_ca_refuses") else {
        return;
    };
    let mut s = Setup::new(lab, Backend::Pdns, "e2e-blocked", &[&["true"]]);
    let cfg = std::fs::read_to_string(&s.cfg)
        .unwrap()
        .replace("ttl = 5\n", "ttl = 300\n");
    std::fs::write(&s.cfg, cfg).unwrap();
    let logs = s.dir.path().join("certbot-logs");
    add_top_level(&s, &format!("certbot_logs_dir = {:?}", s_(&logs)));
    assert_ok(&s.issue(), "certbot certonly");
    let old = s.live_record();
    let (_, st) = status(&s);
    let next = rec(&st["next"]);
    wait_served(&s, &[old.clone(), next.clone()], Duration::from_secs(20));

    let proxy = FaultProxy::start(&s.lab);
    proxy.block(&live_spki(&s));
    let account = ProxyAccount::register(&s, &proxy);

    // The next key's record withdrawn by hand, then certbot's timer renews: refused.
    s.dns("remove", &next);
    wait_served(&s, std::slice::from_ref(&old), Duration::from_secs(20));
    let renew = |s: &Setup| {
        s.certbot(&[
            "renew",
            "--cert-name",
            &s.name,
            "--force-renewal",
            "--server",
            &proxy.directory(),
            "--account",
            &account.id,
            "--logs-dir",
            &s_(&logs),
        ])
    };
    let out = renew(&s);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("badPublicKey"), "{}", text(&out));
    assert_eq!(proxy.refused.load(Ordering::SeqCst), 1);
    assert_eq!(s.live_record(), old);

    let out = s.dr(&["run"]);
    let t = text(&out);
    eprintln!("run, next record withdrawn:\n{t}");
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("the CA refuses the key"), "{t}");
    assert!(
        t.contains("the emergency rollover to the next key cannot run")
            && t.contains("not served by"),
        "{t}"
    );
    assert_eq!(s.live_record(), old);
    let (code, st) = status(&s);
    assert_eq!(code, 1, "{st}");
    assert_eq!(st["in_danger"], true, "{st}");
    assert!(
        st["dangers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d.as_str().unwrap().contains("the CA refuses the key")),
        "{st}"
    );

    // check (monitoring) is CRITICAL, naming the refusal first.
    let out = s.dr(&["check", &s.name]);
    let first = text(&out).lines().next().unwrap_or("").to_string();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        first.starts_with(&format!(
            "DANE CRITICAL - {}: the CA refuses the key",
            s.name
        )),
        "{first}"
    );

    // The next key's record back: the next run switches at once.
    assert_ok(&s.dr(&["prepublish", &s.name]), "prepublish");
    wait_served(&s, &[old.clone(), next.clone()], Duration::from_secs(20));
    let start = Instant::now();
    let t = loop {
        let out = s.dr(&["run"]);
        let t = text(&out);
        if s.live_record() == next {
            break t;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "never switched: {t}"
        );
        std::thread::sleep(Duration::from_secs(2));
    };
    eprintln!("run, next record served:\n{t}");
    assert!(t.contains("emergency rollover to the next key"), "{t}");
    assert_eq!(s.live_key_record(), next, "privkey.pem and cert.pem agree");
    // The refused key's record is gone, a fresh next key is published. The refusal is no
    // danger any more; what may still be one is the validating resolver holding the RRset
    // from before the emergency (its accepted cost: it skipped the wait).
    let (code, st) = status(&s);
    let dangers: Vec<String> = st["dangers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    assert!(
        !dangers.iter().any(|d| d.contains("the CA refuses the key")),
        "{st}"
    );
    assert!(
        code == 0 || dangers.iter().all(|d| d.contains("DANE clients fail now")),
        "{st}"
    );
    let next2 = rec(&st["next"]);
    wait_served(&s, &[next.clone(), next2], Duration::from_secs(30));
    // The new key is accepted through the proxy too (only the old one is blocked).
    let out = renew(&s);
    assert_ok(&out, "certbot renew with the new key");
    assert_eq!(s.live_record(), next);

    // The CA refuses the next key too: a switch's certbot (through the proxy) fails on
    // it, the switch is undone, that key is dropped and a fresh one published.
    let (_, st) = status(&s);
    let next2 = rec(&st["next"]);
    wait_served(&s, &[next.clone(), next2.clone()], Duration::from_secs(30));
    let next2_spki = {
        let path = st["next_key_file"].as_str().unwrap();
        let pem = std::fs::read(path).unwrap();
        danerollover::engine::lineage_files::spki_of_private_pem(&pem).unwrap()
    };
    proxy.block(&next2_spki);
    let script = s.dir.path().join("certbot-via-proxy");
    let mut prefix = s.certbot_prefix();
    prefix.push("\"$@\"".into());
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexec {} --server {} --account {} --logs-dir {}\n",
            prefix.join(" "),
            proxy.directory(),
            account.id,
            s_(&logs)
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    s.set_certbot(&[s_(&script)]);
    let refused_before = proxy.refused.load(Ordering::SeqCst);
    let out = s.dr(&["rollover", "--emergency", &s.name]);
    let t = text(&out);
    eprintln!("emergency to a next key the CA refuses:\n{t}");
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert_eq!(
        proxy.refused.load(Ordering::SeqCst),
        refused_before + 1,
        "{t}"
    );
    assert!(t.contains("it was the next key; it is dropped"), "{t}");
    assert_eq!(s.live_record(), next);
    assert_eq!(s.live_key_record(), next);
    s.set_certbot(&s.certbot_prefix());
    assert_ok(&s.dr(&["prepublish", &s.name]), "prepublish");
    let (_, st) = status(&s);
    let next3 = rec(&st["next"]);
    assert_ne!(next3, next2);
    s.set_certbot(&s.certbot_prefix());
}

fn s_(p: &std::path::Path) -> String {
    p.display().to_string()
}

// ---------------------------------------------------------------------------------------
// Renewals during a rollover.

fn wait_until_safe(s: &Setup) {
    let start = Instant::now();
    loop {
        s.dr(&["run"]);
        let out = s.dr(&["rollover", &s.name, "--dry-run"]);
        match out.status.code() {
            Some(0) => return,
            Some(75) => {}
            _ => panic!("rollover --dry-run: {}", text(&out)),
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "never safe: {}",
            text(&out)
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// certbot's own renewal (with its deploy hook, danerollover hook) of the lineage now:
/// it succeeds, the key stays `key`, privkey.pem matches the certificate, and every
/// server keeps serving `records` (the hook changes nothing), and status sees no danger.
fn renew_keeps(s: &Setup, phase: &str, key: &str, records: &[String]) {
    let out = s.certbot(&["renew", "--cert-name", &s.name, "--force-renewal"]);
    assert_ok(&out, &format!("certbot renew while {phase}"));
    assert_eq!(s.live_record(), key, "{phase}: the renewal changed the key");
    assert_eq!(s.live_key_record(), key, "{phase}: privkey.pem");
    wait_served(s, records, Duration::from_secs(20));
    // The validating resolver caches for at most 5 s in the lab.
    let start = Instant::now();
    loop {
        let (code, st) = status(s);
        if code == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{phase}: status {code}: {st}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// certbot renews the lineage (`renew --force-renewal`, as its timer does for a short-lived
/// certificate or when ARI says so) during each phase of one rollover: while the next
/// key's wait runs, at the same moment as the switch (both start together; certbot's lock
/// puts one after the other), just after the switch, while the old record waits to be
/// retired, and after. No renewal changes the key or a record.
#[test]
fn e2e_certbot_renews_during_every_phase_of_a_rollover() {
    let Some(lab) = Lab::get("e2e_certbot_renews_during_every_phase") else {
        return;
    };
    let mut s = Setup::new(lab, Backend::Pdns, "e2e-phases", &[&["true"]]);
    assert_ok(&s.issue(), "certbot certonly");
    let old = s.live_record();
    let (_, st) = status(&s);
    let next = rec(&st["next"]);
    wait_served(&s, &[old.clone(), next.clone()], Duration::from_secs(20));

    // Waiting: the next key's record is out, its wait runs.
    renew_keeps(&s, "waiting", &old, &[old.clone(), next.clone()]);
    let out = s.dr(&["rollover", &s.name]);
    assert_eq!(out.status.code(), Some(75), "{}", text(&out));

    // Switching: the renewal and the switch start together. certbot's own lock refuses a
    // second certbot at once ("Another instance of Certbot is already running"), so one of
    // them may fail; with the lab's flock (which waits instead) the timer's deploy hook
    // would wait for danerollover's lock held by the switch waiting for that flock. So for
    // this moment the lab's flock is held here, and both certbots run without it.
    wait_until_safe(&s);
    let lab_dir = s.lab.var("LAB_DIR").to_string();
    let wrapper = s_(&s.lab.path("LAB_BIN").join("certbot"));
    s.set_certbot(&[wrapper.clone(), lab_dir.clone()]);
    let both = format!(
        "{bin} rollover {name} > {d}/switch.out 2>&1 & {wrapper} {lab_dir} renew --cert-name {name} --force-renewal > {d}/renew.out 2>&1; echo renew=$?; wait $!; echo switch=$?",
        bin = env!("CARGO_BIN_EXE_danerollover"),
        name = s.name,
        d = s_(s.dir.path()),
    );
    let out = std::process::Command::new("flock")
        .arg(format!("{lab_dir}/certbot.lock"))
        .args(["sh", "-c", &both])
        .env("DANEROLLOVER_CONFIG", &s.cfg)
        .env_remove("DANEROLLOVER_SWITCHING")
        .output()
        .unwrap();
    let codes = text(&out);
    let switch_out = std::fs::read_to_string(s.dir.path().join("switch.out")).unwrap_or_default();
    let renew_out = std::fs::read_to_string(s.dir.path().join("renew.out")).unwrap_or_default();
    eprintln!("together: {codes}");
    s.set_certbot(&s.certbot_prefix());
    // Whatever the order, privkey.pem matches the certificate; a refused switch is undone
    // and the next attempt switches.
    assert_eq!(
        s.live_record(),
        s.live_key_record(),
        "{codes}{switch_out}{renew_out}"
    );
    if s.live_record() != next {
        assert!(codes.contains("switch=1"), "{codes}{switch_out}{renew_out}");
        assert_ok(&s.dr(&["rollover", &s.name]), "rollover after the renewal");
    }
    assert_eq!(s.live_record(), next, "{codes}{switch_out}{renew_out}");
    assert_eq!(s.live_key_record(), next);
    let (_, st) = status(&s);
    let next2 = rec(&st["next"]);

    // Just switched: the old record stays for one wait.
    let three = [old.clone(), next.clone(), next2.clone()];
    renew_keeps(&s, "just switched", &next, &three);
    // Retiring: a run later (the reload done), the old record still waits.
    assert_ok(&s.dr(&["run"]), "run");
    if s.served_primary().contains(&old) {
        renew_keeps(&s, "retiring", &next, &three);
    }
    // Retired: after the wait, run removes the old record; renewals go on.
    let start = Instant::now();
    while s.served_primary().contains(&old) {
        assert!(start.elapsed() < Duration::from_secs(120), "never retired");
        std::thread::sleep(Duration::from_secs(2));
        s.dr(&["run"]);
    }
    renew_keeps(&s, "retired", &next, &[next.clone(), next2.clone()]);
}

// ---------------------------------------------------------------------------------------
// doctor and certbot's version.

/// The line of `doctor`'s output about `item` of the lineage.
fn doctor_line(out: &str, name: &str, item: &str) -> String {
    out.lines()
        .find(|l| l.contains(&format!("{name}: certbot {item}:")))
        .unwrap_or_else(|| panic!("no {item} line in:\n{out}"))
        .to_string()
}

/// `doctor` names certbot's version and what it lacks for the lineage's settings: with
/// Debian's certbot 2.1 a `preferred_profile` in renewal.conf is ignored (profiles need
/// 4.0) and there is no ARI (4.1); with the newest certbot both are there. Both report the
/// certificate's lifetime and when certbot renews it, and that the rollover's wait fits.
#[test]
fn e2e_doctor_reports_what_each_certbot_lacks() {
    let Some(lab) = Lab::get("e2e_doctor_reports_what_each_certbot_lacks") else {
        return;
    };
    let mut s = Setup::new(lab, Backend::Pdns, "e2e-doctor", &[&["true"]]);
    assert_ok(&s.issue(), "certbot certonly");
    let conf = s
        .lab
        .path("LAB_LETSENCRYPT_DIR")
        .join(format!("renewal/{}.conf", s.name));
    let text_conf = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(
        &conf,
        text_conf.replace(
            "[renewalparams]\n",
            "[renewalparams]\npreferred_profile = shortlived\n",
        ),
    )
    .unwrap();

    let out = text(&s.dr(&["doctor", &s.name]));
    eprintln!("doctor with Debian's certbot:\n{out}");
    let debian = s.certbot_version();
    assert!(out.contains(&debian), "{debian}: {out}");
    let profile = doctor_line(&out, &s.name, "profile");
    assert!(
        profile.starts_with("WARN")
            && profile.contains("certbot >= 4.0")
            && profile.contains("shortlived"),
        "{profile}"
    );
    let ari = doctor_line(&out, &s.name, "ari");
    assert!(ari.contains("ARI needs certbot >= 4.1"), "{ari}");
    let lifetime = doctor_line(&out, &s.name, "lifetime");
    assert!(
        lifetime.contains("the certificate lasts") && lifetime.contains("30.0 days before expiry"),
        "{lifetime}"
    );
    let wait = doctor_line(&out, &s.name, "wait");
    assert!(wait.starts_with("ok") && wait.contains("fits"), "{wait}");

    let Some(newest) = s.lab.vars().get("LAB_CERTBOT_LATEST").cloned() else {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true" || v == "1"),
            "the lab has no LAB_CERTBOT_LATEST"
        );
        eprintln!("no newest certbot in the lab: its half skipped");
        return;
    };
    let mut prefix = vec!["env".to_string(), format!("LAB_CERTBOT={newest}")];
    prefix.extend(s.certbot_prefix());
    s.set_certbot(&prefix);
    let out = text(&s.dr(&["doctor", &s.name]));
    eprintln!("doctor with the newest certbot:\n{out}");
    let profile = doctor_line(&out, &s.name, "profile");
    assert!(
        profile.starts_with("ok") && profile.contains("preferred_profile = shortlived"),
        "{profile}"
    );
    let ari = doctor_line(&out, &s.name, "ari");
    assert!(
        ari.starts_with("ok") && ari.contains("follows the CA's renewal window"),
        "{ari}"
    );
    let lifetime = doctor_line(&out, &s.name, "lifetime");
    assert!(lifetime.contains("a third of the lifetime"), "{lifetime}");
    s.set_certbot(&s.certbot_prefix());
}
