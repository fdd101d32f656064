//! Helpers for the DNS tests against the lab: create and delete records through the
//! PowerDNS HTTP API (curl, the API key on stdin, never on the command line) and through
//! RFC 2136 updates to BIND (nsupdate with the lab's TSIG key file), fresh owner names, and
//! waiting for a condition. `mod common; mod dns_lab;` in the `dns_*` test files.

#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use danerollover::config::DnsConfig;
use danerollover::tlsa::TlsaRecord;

use crate::common::Lab;

/// A fresh label, unique across test processes and calls: `dnsobs-TAG-PID-N-NANOS`.
pub fn fresh(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "dnsobs-{tag}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A random-looking `3 1 1` record (the data is a hash of a fresh label).
pub fn record() -> TlsaRecord {
    use sha2::{Digest, Sha256};
    let seed = fresh("rec");
    TlsaRecord::dane_ee_spki(
        danerollover::tlsa::Matching::Sha256,
        &Sha256::digest(seed.as_bytes()),
    )
}

/// `[dns]` trusting the lab resolver's AD bit.
pub fn ad_config(lab: &Lab, timeout: Duration) -> DnsConfig {
    DnsConfig {
        validating_resolver: Some(lab.var("LAB_RESOLVER").to_string()),
        timeout,
        ..DnsConfig::default()
    }
}

/// `[dns]` validating in process from the lab's trust anchors, asking the lab resolver
/// with CD.
pub fn in_process_config(lab: &Lab, timeout: Duration) -> DnsConfig {
    DnsConfig {
        validating_resolver: Some(lab.var("LAB_RESOLVER").to_string()),
        trust_anchor_file: Some(lab.path("LAB_TRUST_ANCHOR_FILE")),
        timeout,
        ..DnsConfig::default()
    }
}

/// One RRset change through the PowerDNS API (`REPLACE` with `contents`, or `DELETE` when
/// `contents` is empty).
pub fn pdns_set(lab: &Lab, zone: &str, owner: &str, rtype: &str, ttl: u32, contents: &[String]) {
    let zone = abs(zone);
    let owner = abs(owner);
    let records: Vec<serde_json::Value> = contents
        .iter()
        .map(|c| serde_json::json!({"content": c, "disabled": false}))
        .collect();
    let rrset = if contents.is_empty() {
        serde_json::json!({"name": owner, "type": rtype, "changetype": "DELETE"})
    } else {
        serde_json::json!({"name": owner, "type": rtype, "ttl": ttl, "changetype": "REPLACE", "records": records})
    };
    let body = serde_json::json!({ "rrsets": [rrset] }).to_string();
    let key = std::fs::read_to_string(lab.path("LAB_PDNS_API_KEY_FILE"))
        .expect("read the PowerDNS API key");
    let url = format!(
        "{}/api/v1/servers/{}/zones/{zone}",
        lab.var("LAB_PDNS_API"),
        lab.var("LAB_PDNS_SERVER_ID")
    );
    // The lab is shared: concurrent writers may find the database busy. Try a few times.
    let mut last = String::new();
    for attempt in 0..6 {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(250 * attempt));
        }
        let mut child = Command::new("curl")
            .args([
                "-sS",
                "--fail-with-body",
                "-X",
                "PATCH",
                "-H",
                "@-",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
            ])
            .arg(&body)
            .arg(&url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run curl");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("X-API-Key: {}\n", key.trim()).as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            return;
        }
        last = format!(
            "{} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    panic!("PowerDNS API PATCH {url} {body}: {last}");
}

/// Set the TLSA RRset at `owner` in the PowerDNS zone (empty = delete).
pub fn pdns_tlsa(lab: &Lab, zone: &str, owner: &str, ttl: u32, records: &[TlsaRecord]) {
    let contents: Vec<String> = records.iter().map(ToString::to_string).collect();
    pdns_set(lab, zone, owner, "TLSA", ttl, &contents);
}

/// An RFC 2136 update to BIND, signed with the lab's TSIG key: `commands` are nsupdate
/// lines such as `update add x.example2.test. 60 IN TLSA 3 1 1 ...`.
pub fn bind_update(lab: &Lab, commands: &[String]) {
    let server = lab.addr("LAB_BIND_DNS");
    let mut script = format!(
        "server {} {}\nzone {}\n",
        server.ip(),
        server.port(),
        lab.var("LAB_BIND_ZONE")
    );
    for c in commands {
        script.push_str(c);
        script.push('\n');
    }
    script.push_str("send\n");
    let mut child = Command::new("nsupdate")
        .arg("-k")
        .arg(lab.path("LAB_TSIG_KEY_FILE"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nsupdate");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "nsupdate {script}: {} {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Deletes PowerDNS RRsets when dropped (also when the test fails).
pub struct PdnsCleanup<'a> {
    pub lab: &'a Lab,
    pub rrsets: Vec<(String, String, String)>, // zone, owner, type
}

impl Drop for PdnsCleanup<'_> {
    fn drop(&mut self) {
        for (zone, owner, rtype) in &self.rrsets {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pdns_set(self.lab, zone, owner, rtype, 0, &[])
            }));
            if r.is_err() {
                eprintln!("cleanup: could not delete {owner} {rtype} in {zone}");
            }
        }
    }
}

pub fn abs(name: &str) -> String {
    danerollover::dns::absolute(name)
}

/// Poll `f` until it returns Some, for at most `limit`; the last value or a panic naming
/// `what` and the last state.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let started = Instant::now();
    loop {
        match f().await {
            Ok(v) => return v,
            Err(state) if started.elapsed() > limit => {
                panic!("{what}: not reached within {limit:?}; last: {state}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}
