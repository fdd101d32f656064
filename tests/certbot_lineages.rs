//! Lineages on disk: `certbot::load` / `certbot::list` and `danerollover lineages`, on
//! certbot-like trees made at test time (openssl keys and certificates, relative live
//! links, renewal confs in certbot 2.x's format).

mod common;

mod tlsa_support;

use std::path::Path;

use danerollover::acme::certbot::{self, Kind, ProblemKind};
use danerollover::keys::{Curve, KeySpec};
use tlsa_support::*;

fn kinds(l: &certbot::Lineage) -> Vec<ProblemKind> {
    l.problems.iter().map(|p| p.kind).collect()
}

fn openssl_sha(file: &Path) -> String {
    sh(&format!(
        "openssl x509 -in {} -pubkey -noout | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1",
        file.display()
    ))
}

#[test]
fn a_good_lineage_has_everything_the_engine_needs() {
    if !have("openssl", "a_good_lineage_has_everything_the_engine_needs") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let le = tmp.path();
    let conf = certbot_conf(le, "mail.example.test", "reuse_key = True\n", Some("ecdsa"));
    let archive = make_lineage(le, "mail.example.test", KeyType::P256, 2, &conf);
    let l = certbot::load(le, "mail.example.test").unwrap();
    assert!(l.problems.is_empty(), "{:?}", l.problems);
    assert_eq!(l.archive_dir, archive);
    for kind in Kind::ALL {
        let link = l.link(kind);
        assert_eq!(link.version, Some(2), "{kind:?}");
        assert!(link.exists && link.in_archive, "{kind:?}");
        assert_eq!(
            link.target.as_deref(),
            Some(archive.join(format!("{}2.pem", kind.name())).as_path())
        );
    }
    assert_eq!(l.highest_version, Some(2));
    assert_eq!(l.next_free_version(), 3);
    assert_eq!(l.next_privkey_path(), archive.join("privkey3.pem"));
    assert_eq!(l.live_dir(), le.join("live/mail.example.test"));
    let cert = l.live_cert.as_ref().unwrap();
    assert_eq!(
        cert.domains,
        vec![
            "mail.example.test".to_string(),
            "www.mail.example.test".to_string()
        ]
    );
    // notAfter as openssl prints it.
    let end = sh(&format!(
        "openssl x509 -in {} -noout -enddate -dateopt iso_8601",
        archive.join("cert2.pem").display()
    ));
    let end = end.trim_start_matches("notAfter=").replace(' ', "T");
    assert_eq!(cert.not_after.to_string(), end);
    let sha = openssl_sha(&archive.join("cert2.pem"));
    assert_eq!(l.tlsa_3_1_1().unwrap().to_string(), format!("3 1 1 {sha}"));
    let spki = openssl(&[
        "pkey",
        "-in",
        &archive.join("privkey2.pem").display().to_string(),
        "-pubout",
        "-outform",
        "der",
    ]);
    assert_eq!(l.current_spki(), Some(&spki[..]));
    assert_eq!(l.key_spki.as_deref(), Some(&spki[..]));
    assert_eq!(l.key_matches_cert(), Some(true));
    assert_eq!(l.key_spec(), Some(KeySpec::Ecdsa(Curve::P256)));
    assert_eq!(l.conf_spec, Ok(KeySpec::Ecdsa(Curve::P256)));
    assert!(l.reuse_key().is_on());
}

#[test]
fn problems_are_spelled_out_with_their_fix() {
    if !have("openssl", "problems_are_spelled_out_with_their_fix") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let le = tmp.path();

    // reuse_key absent, RSA, key_type absent (rsa by default): only reuse_key.
    make_lineage(
        le,
        "rsa.example.test",
        KeyType::Rsa(2048),
        1,
        &certbot_conf(le, "rsa.example.test", "", None),
    );
    let l = certbot::load(le, "rsa.example.test").unwrap();
    assert_eq!(kinds(&l), vec![ProblemKind::ReuseKeyOff]);
    let m = &l.problems[0].message;
    assert!(
        m.contains("every renewal will change the key and break the TLSA record")
            && m.contains("danerollover init rsa.example.test"),
        "{m}"
    );
    assert_eq!(l.reuse_key().reported(), None);

    // reuse_key = False and = yes.
    make_lineage(
        le,
        "off.example.test",
        KeyType::P256,
        1,
        &certbot_conf(le, "off.example.test", "reuse_key = False\n", Some("ecdsa")),
    );
    let l = certbot::load(le, "off.example.test").unwrap();
    assert_eq!(kinds(&l), vec![ProblemKind::ReuseKeyOff]);
    assert_eq!(l.reuse_key().reported(), Some(false));
    make_lineage(
        le,
        "yes.example.test",
        KeyType::P256,
        1,
        &certbot_conf(le, "yes.example.test", "reuse_key = yes\n", Some("ecdsa")),
    );
    let l = certbot::load(le, "yes.example.test").unwrap();
    assert_eq!(kinds(&l), vec![ProblemKind::ReuseKeyUnreadable]);
    assert!(l.problems[0].message.contains("True or False"));

    // privkey.pem pointing at another version's key.
    make_lineage(
        le,
        "mismatch.example.test",
        KeyType::P256,
        2,
        &certbot_conf(
            le,
            "mismatch.example.test",
            "reuse_key = True\n",
            Some("ecdsa"),
        ),
    );
    relink(
        le,
        "mismatch.example.test",
        "privkey",
        "../../archive/mismatch.example.test/privkey1.pem",
    );
    let l = certbot::load(le, "mismatch.example.test").unwrap();
    assert_eq!(kinds(&l), vec![ProblemKind::KeyMismatch]);
    assert_eq!(l.key_matches_cert(), Some(false));
    assert!(
        l.problems[0].message.contains("privkey1.pem")
            && l.problems[0].message.contains("cert2.pem")
    );

    // A live link outside the archive.
    make_lineage(
        le,
        "outside.example.test",
        KeyType::P256,
        1,
        &certbot_conf(
            le,
            "outside.example.test",
            "reuse_key = True\n",
            Some("ecdsa"),
        ),
    );
    let elsewhere = le.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::copy(
        le.join("archive/outside.example.test/cert1.pem"),
        elsewhere.join("cert1.pem"),
    )
    .unwrap();
    relink(
        le,
        "outside.example.test",
        "cert",
        &elsewhere.join("cert1.pem").display().to_string(),
    );
    let l = certbot::load(le, "outside.example.test").unwrap();
    assert_eq!(kinds(&l), vec![ProblemKind::LinkOutsideArchive]);
    assert!(
        l.problems[0]
            .message
            .contains("outside the archive directory")
            && l.problems[0].message.contains("certbot update_symlinks")
    );

    // The key's type differs from renewal.conf (P-384 key, conf says ecdsa / secp256r1).
    make_lineage(
        le,
        "p384.example.test",
        KeyType::P384,
        1,
        &certbot_conf(le, "p384.example.test", "reuse_key = True\n", Some("ecdsa")),
    );
    let l = certbot::load(le, "p384.example.test").unwrap();
    assert_eq!(kinds(&l), vec![ProblemKind::KeyTypeDiffers]);
    assert!(
        l.problems[0].message.contains("ECDSA P-384")
            && l.problems[0].message.contains("ECDSA P-256"),
        "{}",
        l.problems[0].message
    );

    // Not a link at all, and a missing target.
    make_lineage(
        le,
        "files.example.test",
        KeyType::P256,
        1,
        &certbot_conf(
            le,
            "files.example.test",
            "reuse_key = True\n",
            Some("ecdsa"),
        ),
    );
    let chain = le.join("live/files.example.test/chain.pem");
    std::fs::remove_file(&chain).unwrap();
    std::fs::copy(le.join("archive/files.example.test/chain1.pem"), &chain).unwrap();
    relink(
        le,
        "files.example.test",
        "fullchain",
        "../../archive/files.example.test/fullchain7.pem",
    );
    let l = certbot::load(le, "files.example.test").unwrap();
    assert_eq!(kinds(&l), vec![ProblemKind::BadLink, ProblemKind::BadLink]);
    assert_eq!(l.key_matches_cert(), Some(true));

    // Unknown lineages and bad names are the user's input.
    let e = certbot::load(le, "nope.example.test").unwrap_err();
    assert!(e.is_bad_input() && e.to_string().contains("nope.example.test"));
    assert!(certbot::load(le, "../etc").unwrap_err().is_bad_input());
}

#[test]
fn lineages_command_lists_every_lineage_with_problems() {
    if !have(
        "openssl",
        "lineages_command_lists_every_lineage_with_problems",
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let le = tmp.path();
    make_lineage(
        le,
        "a.example.test",
        KeyType::P256,
        1,
        &certbot_conf(le, "a.example.test", "reuse_key = True\n", Some("ecdsa")),
    );
    make_lineage(
        le,
        "b.example.test",
        KeyType::Rsa(2048),
        1,
        &certbot_conf(le, "b.example.test", "", Some("rsa")),
    );
    // An unparsable conf is an entry of its own; the others are still listed.
    std::fs::write(
        le.join("renewal/c.example.test.conf"),
        "version = 2.1.0\n[renewalparams\n",
    )
    .unwrap();
    // Not a conf: ignored, as certbot does.
    std::fs::write(le.join("renewal/a.example.test.conf.danerollover-bak"), "x").unwrap();

    let v = common::lineages_json(le);
    let arr = v.as_array().unwrap();
    let names: Vec<&str> = arr.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["a.example.test", "b.example.test", "c.example.test"]
    );
    let a = &arr[0];
    assert_eq!(
        a["domains"],
        serde_json::json!(["a.example.test", "www.a.example.test"])
    );
    let not_after = a["not_after"].as_str().unwrap();
    assert!(not_after.parse::<jiff::Timestamp>().is_ok(), "{not_after}");
    assert_eq!(a["key_type"], "ECDSA P-256");
    assert_eq!(a["reuse_key"], true);
    assert_eq!(
        a["tlsa_3_1_1"],
        format!(
            "3 1 1 {}",
            openssl_sha(&le.join("archive/a.example.test/cert1.pem"))
        )
    );
    assert_eq!(a["key_matches_cert"], true);
    assert_eq!(a["problems"], serde_json::json!([]));
    let b = &arr[1];
    assert_eq!(b["key_type"], "RSA 2048");
    assert!(b["reuse_key"].is_null());
    assert!(
        b["problems"][0]
            .as_str()
            .unwrap()
            .contains("danerollover init b.example.test")
    );
    let c = &arr[2];
    assert!(c["problems"][0].as_str().unwrap().contains("line 2"), "{c}");
    assert!(c["tlsa_3_1_1"].is_null());

    // Text output says the same.
    let out = bin()
        .args(["--letsencrypt-dir", &le.display().to_string(), "lineages"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("a.example.test\n  domains:          a.example.test, www.a.example.test"),
        "{text}"
    );
    assert!(text.contains("reuse_key:        absent (False)"));
    assert!(text.contains("problem: reuse_key is absent"));

    // A missing letsencrypt directory: exit 1, a clear message.
    let missing = le.join("nonexistent");
    let out = bin()
        .args([
            "--letsencrypt-dir",
            &missing.display().to_string(),
            "lineages",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(&missing.display().to_string()) && err.contains("--letsencrypt-dir"),
        "{err}"
    );
    // A directory that is not certbot's.
    let out = bin()
        .args([
            "--letsencrypt-dir",
            &le.join("archive").display().to_string(),
            "lineages",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}
