//! What the lab benchmarks share: the lab's environment file and a PowerDNS API PATCH.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

/// The lab's `env` file (`DANEROLLOVER_LAB`) as a map, or None outside the lab.
pub fn lab_env() -> Option<HashMap<String, String>> {
    let path = std::env::var("DANEROLLOVER_LAB").ok()?;
    let text = std::fs::read_to_string(&path).ok()?;
    Some(
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
            .collect(),
    )
}

/// PATCH `rrsets` into `zone` through the lab's PowerDNS API (curl; the key on stdin).
pub fn patch(env: &HashMap<String, String>, zone: &str, rrsets: Vec<serde_json::Value>) {
    let key = std::fs::read_to_string(&env["LAB_PDNS_API_KEY_FILE"]).expect("API key");
    let url = format!(
        "{}/api/v1/servers/{}/zones/{zone}.",
        env["LAB_PDNS_API"], env["LAB_PDNS_SERVER_ID"]
    );
    let body = serde_json::json!({ "rrsets": rrsets }).to_string();
    let mut child = Command::new("curl")
        .args([
            "-sS",
            "--fail-with-body",
            "-X",
            "PATCH",
            "-H",
            "@-",
            "--data-binary",
        ])
        .arg(&body)
        .arg(&url)
        .stdin(Stdio::piped())
        .spawn()
        .expect("curl");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("X-API-Key: {}\n", key.trim()).as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "PATCH {url}");
}
