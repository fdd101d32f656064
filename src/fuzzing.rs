//! Fuzz entry points: one `fn(&[u8])` per parser fed from outside, pure and total.
//!
//! Each takes arbitrary bytes, runs them through the same code the commands use (parse,
//! then what the commands do with the result) and checks the invariants that must hold
//! for any input (a parsed record prints and parses back to itself, a state file renders
//! and reads back equal, an edit of a renewal conf reads back as written). Any panic is a
//! bug. The cargo-fuzz targets under `fuzz/` are thin wrappers over these; the stable test
//! `tests/fuzz_corpus.rs` runs every one of them over the committed seed corpus, the
//! regressions and a bounded run of random mutations, so CI needs no nightly toolchain.

use std::path::Path;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use crate::tlsa::{Matching, Selector, TlsaRecord, Usage};

/// An entry point: bytes in, a panic on a bug.
pub type Target = fn(&[u8]);

/// Every target, by the name of its cargo-fuzz target and corpus directory.
pub const TARGETS: &[(&str, Target)] = &[
    ("material", material),
    ("renewal_conf", renewal_conf),
    ("config_toml", config_toml),
    ("state_json", state_json),
    ("tlsa_text", tlsa_text),
    ("dns_answer", dns_answer),
    ("provider_powerdns", provider_powerdns),
    ("provider_cloudflare", provider_cloudflare),
    ("provider_desec", provider_desec),
    ("starttls_reply", starttls_reply),
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// Certificates, keys, public keys, CSRs (PEM or DER) as `tlsa` and `lineages` read them:
/// every usage x selector x matching of what parses, at every depth.
pub fn material(data: &[u8]) {
    let Ok(m) = crate::material::parse(data) else {
        return;
    };
    let _ = m.kind();
    let _ = m.key_spec();
    let depths = m.certs().len().max(1) + 1;
    for usage in [Usage::PkixTa, Usage::PkixEe, Usage::DaneTa, Usage::DaneEe] {
        for selector in [Selector::Cert, Selector::Spki] {
            for matching in [Matching::Full, Matching::Sha256, Matching::Sha512] {
                if let Ok(r) = m.tlsa(usage, selector, matching, None) {
                    check_record_roundtrip(&r);
                }
                for depth in 0..depths {
                    let _ = m.tlsa(usage, selector, matching, Some(depth));
                }
            }
        }
    }
}

/// `renewal/NAME.conf` (ConfigObj): every accessor, and the `init` edit, which must read
/// back with reuse_key on.
pub fn renewal_conf(data: &[u8]) {
    use crate::acme::certbot::conf::RenewalConf;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(conf) = RenewalConf::parse(text) else {
        return;
    };
    assert_eq!(conf.text(), text);
    for section in conf.sections() {
        for key in conf.keys(&section) {
            let _ = conf.get(&section, key).map(|v| (v.as_str(), v.as_bool()));
        }
    }
    let _ = (
        conf.version(),
        conf.archive_dir(),
        conf.cert(),
        conf.privkey(),
    );
    let _ = (conf.key_type(), conf.rsa_key_size(), conf.elliptic_curve());
    let _ = (conf.renew_hook(), conf.authenticator(), conf.account());
    let reuse = conf.reuse_key();
    let _ = reuse.reported();
    if let Ok(Some(edit)) = conf.enable_reuse_key() {
        let again = RenewalConf::parse(&edit.text)
            .unwrap_or_else(|e| panic!("the init edit does not parse: {e}"));
        assert!(
            again.reuse_key().is_on(),
            "the init edit left reuse_key off"
        );
        assert_eq!(again.enable_reuse_key().ok(), Some(None));
        let _ = edit.to_string();
    } else if reuse.is_on() {
        assert_eq!(conf.enable_reuse_key().ok(), Some(None));
    }
}

/// The TOML configuration.
pub fn config_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match crate::config::Config::parse(text, Path::new("/fuzz/config.toml")) {
        Ok(config) => {
            for p in config.providers.values() {
                let _ = p.type_name();
                let _ = p.secret_sources();
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// `state.json`: what parses renders and parses back equal.
pub fn state_json(data: &[u8]) {
    let path = Path::new("/fuzz/state.json");
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match crate::store::parse(text, path) {
        Ok(state) => {
            let rendered = crate::store::render(&state);
            let back = crate::store::parse(&rendered, path)
                .unwrap_or_else(|e| panic!("a rendered state does not parse: {e}"));
            assert_eq!(back, state, "state render/parse round trip");
            // What reports do with a state's keys (short ids in messages).
            for ls in state.lineages.values() {
                let keys = ls.current.iter().map(|c| &c.key.id);
                let keys = keys.chain(ls.next.iter().map(|n| &n.key.id));
                for id in keys.chain(ls.retired.iter().map(|r| &r.key.id)) {
                    let _ = (id.short(), crate::rollover::serving::short(id));
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// TLSA presentation text (`3 1 1 <hex>`), as the config, providers and `dns` read it.
pub fn tlsa_text(data: &[u8]) {
    let text = text(data);
    if let Ok(r) = text.parse::<TlsaRecord>() {
        check_record_roundtrip(&r);
        assert!(crate::provider::content_is(&text, &r));
    }
    let _ = crate::tlsa::service_of_owner(&text);
}

fn check_record_roundtrip(r: &TlsaRecord) {
    let shown = r.to_string();
    let back: TlsaRecord = shown
        .parse()
        .unwrap_or_else(|e| panic!("{shown:?} does not parse back: {e}"));
    assert_eq!(&back, r, "TLSA display/parse round trip");
}

/// A DNS answer in wire format, as the observation reads an authoritative server's answer
/// and a validating resolver's. The owner asked about is the query's name when there is
/// one.
pub fn dns_answer(data: &[u8]) {
    use crate::dns::interpret;
    use hickory_proto::op::Message;
    use hickory_proto::rr::Name;
    let Ok(message) = Message::from_vec(data) else {
        return;
    };
    let fallback = Name::from_ascii("_25._tcp.mail.example.test.").expect("a valid name");
    let owner = message
        .queries
        .first()
        .map(|q| q.name().clone())
        .unwrap_or(fallback);
    let _ = interpret::served(&owner, &message);
    let _ = interpret::soa_serial(&owner, &message);
    let _ = interpret::zone_from_soa_answer(&owner, &message);
    let _ = interpret::read_validating(&owner, Ok(&message));
    let _ = interpret::read_checking_disabled(&owner, Ok(&message));
    let _ = interpret::follow_cnames(&owner, &message.answers);
    let _ = interpret::tlsa_at(&owner, &message.answers);
    let _ = interpret::rcode_problem(&message);
    let _ = crate::dns::wire::describe(&message);
}

fn record_3_1_1(byte: u8) -> TlsaRecord {
    TlsaRecord {
        usage: Usage::DaneEe,
        selector: Selector::Spki,
        matching: Matching::Sha256,
        data: vec![byte; 32],
    }
}

fn sample_change(body: &str) -> crate::provider::Change {
    // Records that may or may not be in the answer: the first bytes decide which.
    let pick = body.bytes().next().unwrap_or(0);
    crate::provider::Change {
        zone: "example.test.".into(),
        owner: "_25._tcp.mail.example.test.".into(),
        ttl: 60,
        add: vec![record_3_1_1(pick)],
        remove: vec![record_3_1_1(pick.wrapping_add(1))],
    }
}

/// A PowerDNS `GET zones/ZONE?rrsets=true` answer, then the PATCH planned from it.
pub fn provider_powerdns(data: &[u8]) {
    use crate::provider::powerdns;
    let body = text(data);
    let owner = "_25._tcp.mail.example.test.";
    if let Ok(existing) = powerdns::parse_zone_answer(&body, owner) {
        let change = sample_change(&body);
        let plan = powerdns::plan(existing.as_ref(), &change);
        if let Some(patch) = powerdns::patch_body(owner, change.ttl, &plan) {
            let _ = patch.to_string();
        }
        if let powerdns::Plan::Replace(records) = &plan {
            for add in &change.add {
                assert!(
                    records
                        .iter()
                        .any(|r| crate::provider::content_is(&r.content, add)),
                    "a planned REPLACE lost an addition"
                );
            }
            for remove in &change.remove {
                assert!(
                    !records
                        .iter()
                        .any(|r| crate::provider::content_is(&r.content, remove)),
                    "a planned REPLACE kept a removal"
                );
            }
        }
    }
}

/// A Cloudflare list answer (the envelope with records), then the plan from it; and the
/// error reading of a failed POST.
pub fn provider_cloudflare(data: &[u8]) {
    use crate::provider::cloudflare;
    let body = text(data);
    let _ = cloudflare::identical_exists(&body);
    if let Ok((records, _pages)) = cloudflare::unwrap_envelope::<Vec<cloudflare::CfRecord>>(&body) {
        let records = records.unwrap_or_default();
        for r in &records {
            if let Some(t) = r.tlsa() {
                check_record_roundtrip(&t);
            }
        }
        let change = sample_change(&body);
        let plan = cloudflare::plan(&records, &change);
        for id in &plan.delete {
            assert!(
                records.iter().any(|r| &r.id == id),
                "deletes an unlisted id"
            );
        }
    }
}

/// A deSEC RRset answer, then the request planned from it.
pub fn provider_desec(data: &[u8]) {
    use crate::provider::desec;
    let body = text(data);
    if let Ok((records, ttl)) = desec::parse_rrset(&body) {
        let change = sample_change(&body);
        let request = desec::plan(Some((&records, ttl)), "_25._tcp.mail", &change);
        if let desec::Request::Patch(v) | desec::Request::Create(v) = request {
            let _ = v.to_string();
        }
        let _ = crate::provider::parse_records(records.iter().map(String::as_str));
    }
}

/// What a server says before TLS, for SMTP, IMAP and POP3: the dialogue runs against the
/// bytes as the server's side of the connection (our side's writes are dropped).
pub fn starttls_reply(data: &[u8]) {
    use crate::probe::Protocol;
    use crate::probe::starttls::negotiate;
    for protocol in [Protocol::Smtp, Protocol::Imap, Protocol::Pop3] {
        let stream = Scripted { input: data, at: 0 };
        let outcome = poll_to_end(negotiate(stream, protocol, "fuzz.example"));
        if let Some(Ok(rest)) = outcome {
            // Nothing may be left over after the go-ahead.
            assert!(
                rest.at == rest.input.len(),
                "bytes after the go-ahead accepted"
            );
        }
    }
}

/// The server's side of a connection, read from a byte string; writes go nowhere.
struct Scripted<'a> {
    input: &'a [u8],
    at: usize,
}

impl tokio::io::AsyncRead for Scripted<'_> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let rest = &self.input[self.at..];
        let n = rest.len().min(buf.remaining());
        buf.put_slice(&rest[..n]);
        self.at += n;
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Scripted<'_> {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Drive a future whose I/O is always ready (no runtime needed); None if it keeps
/// returning Pending.
fn poll_to_end<F: std::future::Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return Some(out);
        }
    }
    None
}

/// A small deterministic mutator (xorshift), for the stable test's bounded random run:
/// flips, inserts, deletes and splices bytes of a seed.
pub fn mutate(seed: &[u8], state: &mut u64, max_len: usize) -> Vec<u8> {
    let mut next = || {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    };
    let mut out = seed.to_vec();
    let rounds = 1 + next() % 8;
    for _ in 0..rounds {
        let r = next();
        let at = if out.is_empty() {
            0
        } else {
            (r >> 8) as usize % out.len()
        };
        match r % 6 {
            0 if !out.is_empty() => out[at] ^= 1 << ((r >> 40) % 8),
            1 if !out.is_empty() => out[at] = (r >> 32) as u8,
            2 => out.insert(at.min(out.len()), (r >> 24) as u8),
            3 if !out.is_empty() => {
                out.remove(at);
            }
            4 if !out.is_empty() => {
                // duplicate a slice
                let len = ((r >> 32) as usize % 16).min(out.len() - at);
                let piece = out[at..at + len].to_vec();
                let to = (r >> 48) as usize % (out.len() + 1);
                out.splice(to..to, piece);
            }
            _ => {
                // interesting bytes
                let special: &[u8] = &[0, 0xff, b'\n', b'"', b'=', b'[', b'#', b'-', 0x80, b' '];
                let b = special[(r >> 16) as usize % special.len()];
                if out.is_empty() {
                    out.push(b);
                } else {
                    out[at] = b;
                }
            }
        }
    }
    out.truncate(max_len);
    out
}
