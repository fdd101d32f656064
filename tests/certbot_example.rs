//! examples/make-letsencrypt-tree makes a certbot-like tree whose problems
//! `danerollover lineages` shows.

mod common;

mod tlsa_support;

use std::path::Path;
use std::process::Command;

use tlsa_support::*;

#[test]
fn example_tree_shows_its_problems() {
    if !have("openssl", "example_tree_shows_its_problems") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("letsencrypt");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/make-letsencrypt-tree");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Relative live links, like certbot's.
    let link = std::fs::read_link(dir.join("live/mail.example.test/cert.pem")).unwrap();
    assert_eq!(link, Path::new("../../archive/mail.example.test/cert2.pem"));

    let v = common::lineages_json(&dir);
    let by_name = |n: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == n)
            .unwrap_or_else(|| panic!("no {n} in {v}"))
            .clone()
    };

    let mail = by_name("mail.example.test");
    assert_eq!(mail["problems"], serde_json::json!([]));
    assert_eq!(mail["reuse_key"], true);
    assert_eq!(mail["key_type"], "ECDSA P-256");
    assert_eq!(mail["key_matches_cert"], true);
    let live = dir
        .join("live/mail.example.test/cert.pem")
        .display()
        .to_string();
    assert_eq!(
        tlsa(&[&live]).0,
        vec![mail["tlsa_3_1_1"].as_str().unwrap().to_string()]
    );

    let legacy = by_name("legacy.example.test");
    assert_eq!(legacy["key_type"], "RSA 2048");
    assert!(legacy["reuse_key"].is_null());
    let p = legacy["problems"].as_array().unwrap();
    assert_eq!(p.len(), 1);
    assert!(
        p[0].as_str()
            .unwrap()
            .contains("danerollover init legacy.example.test")
    );

    let broken = by_name("broken.example.test");
    assert_eq!(broken["key_matches_cert"], false);
    assert!(
        broken["problems"][0]
            .as_str()
            .unwrap()
            .contains("is not the key of cert.pem")
    );

    // init fixes legacy: the problem is gone, nothing else in the conf changed.
    let conf = dir.join("renewal/legacy.example.test.conf");
    let before = std::fs::read_to_string(&conf).unwrap();
    let out = bin()
        .args([
            "--letsencrypt-dir",
            &dir.display().to_string(),
            "init",
            "legacy.example.test",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let after = std::fs::read_to_string(&conf).unwrap();
    assert_eq!(
        after,
        before.replace("key_type = rsa\n", "key_type = rsa\nreuse_key = True\n")
    );
    let out = bin()
        .args([
            "--letsencrypt-dir",
            &dir.display().to_string(),
            "lineages",
            "--json",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let legacy = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "legacy.example.test")
        .unwrap();
    assert_eq!(legacy["problems"], serde_json::json!([]));
    assert_eq!(legacy["reuse_key"], true);
}
