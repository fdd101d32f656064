//! `danerollover tlsa` against the reference tools, for every key type and every usage x
//! selector x matching: openssl pipelines, GnuTLS `danetool --tlsa-rr` and
//! `ldns-dane create`. Keys and certificates are made at test time.

mod tlsa_support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tlsa_support::*;

/// One key type's material: a CA of that type, a leaf of that type, the chain.
struct Set {
    t: KeyType,
    ca: PathBuf,
    leaf: PathBuf,
    chain: PathBuf,
    leaf_key: PathBuf,
}

fn fixture() -> &'static Vec<Set> {
    static SETS: OnceLock<Vec<Set>> = OnceLock::new();
    SETS.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tlsa_reference");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        KeyType::ALL
            .iter()
            .map(|&t| {
                let dir = root.join(t.label());
                std::fs::create_dir_all(&dir).unwrap();
                let ca_key = genkey(&dir, "ca", t);
                let ca = self_signed(&dir, "ca", &ca_key, &format!("Test CA {}", t.label()));
                let leaf_key = genkey(&dir, "leaf", t);
                let leaf = issue(
                    &dir,
                    "leaf",
                    &leaf_key,
                    &["mail.example.test", "mx.example.test"],
                    &ca,
                    &ca_key,
                );
                let chain = dir.join("chain.pem");
                let mut bytes = std::fs::read(&leaf).unwrap();
                bytes.extend(std::fs::read(&ca).unwrap());
                std::fs::write(&chain, bytes).unwrap();
                Set {
                    t,
                    ca,
                    leaf,
                    chain,
                    leaf_key,
                }
            })
            .collect()
    })
}

/// The openssl pipeline for one certificate, selector and matching type.
fn openssl_reference(cert: &Path, selector: u8, matching: u8) -> String {
    let c = cert.display();
    let der = match selector {
        0 => format!("openssl x509 -in {c} -outform der"),
        _ => format!("openssl x509 -in {c} -pubkey -noout | openssl pkey -pubin -outform der"),
    };
    let hash = match matching {
        0 => "od -An -v -tx1 | tr -d ' \\n'",
        1 => "sha256sum | cut -d' ' -f1",
        _ => "sha512sum | cut -d' ' -f1",
    };
    sh(&format!("{der} | {hash}"))
}

/// Usages 0 and 2 name the top of the chain, 1 and 3 the leaf.
fn cert_for(set: &Set, usage: u8) -> &Path {
    if usage == 0 || usage == 2 {
        &set.ca
    } else {
        &set.leaf
    }
}

fn args(u: u8, s: u8, m: u8) -> Vec<String> {
    vec![
        "--usage".into(),
        u.to_string(),
        "--selector".into(),
        s.to_string(),
        "--matching".into(),
        m.to_string(),
    ]
}

#[test]
fn every_combination_matches_openssl_pipelines() {
    if !have("openssl", "every_combination_matches_openssl_pipelines") {
        return;
    }
    for set in fixture() {
        for s in 0..=1u8 {
            for m in 0..=2u8 {
                let leaf_ref = openssl_reference(&set.leaf, s, m);
                let ca_ref = openssl_reference(&set.ca, s, m);
                assert!(leaf_ref.len() >= 64 && leaf_ref != ca_ref);
                for u in 0..=3u8 {
                    let mut a = args(u, s, m);
                    a.push(set.chain.display().to_string());
                    a.push(set.leaf.display().to_string());
                    let a: Vec<&str> = a.iter().map(String::as_str).collect();
                    let (lines, err, code) = tlsa(&a);
                    assert_eq!(code, 0, "{:?} {a:?}: {err}", set.t);
                    let want_chain = if u == 0 || u == 2 { &ca_ref } else { &leaf_ref };
                    assert_eq!(
                        lines,
                        vec![
                            format!("{u} {s} {m} {want_chain}"),
                            format!("{u} {s} {m} {leaf_ref}")
                        ],
                        "{:?} {a:?}",
                        set.t
                    );
                }
                // --depth picks any certificate of the chain, whatever the usage.
                let mut a = args(3, s, m);
                a.extend([
                    "--depth".into(),
                    "1".into(),
                    set.chain.display().to_string(),
                ]);
                let a: Vec<&str> = a.iter().map(String::as_str).collect();
                assert_eq!(tlsa(&a).0, vec![format!("3 {s} {m} {ca_ref}")]);
            }
        }
    }
}

/// `( 03 01 01 abcd... )` of danetool's output, as `3 1 1 abcd...`.
fn danetool_rdata(out: &str) -> String {
    let inner = out
        .split('(')
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap_or_else(|| panic!("danetool printed {out:?}"));
    let parts: Vec<&str> = inner.split_whitespace().collect();
    let nums: Vec<String> = parts[..3]
        .iter()
        .map(|p| p.parse::<u8>().unwrap().to_string())
        .collect();
    format!("{} {}", nums.join(" "), parts[3..].concat().to_lowercase())
}

#[test]
fn every_combination_matches_danetool() {
    if !have("danetool", "every_combination_matches_danetool") {
        return;
    }
    for set in fixture() {
        for u in 0..=3u8 {
            for s in 0..=1u8 {
                for m in 1..=2u8 {
                    // danetool reads the first certificate of a file, so it gets the one
                    // the usage names; danerollover gets the chain.
                    let cert = cert_for(set, u).display().to_string();
                    let mut d = vec![
                        "--tlsa-rr",
                        "--quiet",
                        "--host",
                        "mail.example.test",
                        "--load-certificate",
                        &cert,
                    ];
                    d.extend(["--hash", if m == 1 { "sha256" } else { "sha512" }]);
                    if s == 0 {
                        d.push("--x509");
                    }
                    if u == 0 || u == 2 {
                        d.push("--ca");
                    }
                    if u < 2 {
                        d.push("--no-domain");
                    }
                    let want = danetool_rdata(&String::from_utf8(run("danetool", &d)).unwrap());
                    let mut a = args(u, s, m);
                    a.push(set.chain.display().to_string());
                    let a: Vec<&str> = a.iter().map(String::as_str).collect();
                    assert_eq!(tlsa(&a).0, vec![want], "{:?} {d:?}", set.t);
                }
            }
        }
        // danetool's public-key input: the leaf key's public key.
        let pubkey = set.leaf_key.with_extension("pub");
        openssl(&[
            "pkey",
            "-in",
            &set.leaf_key.display().to_string(),
            "-pubout",
            "-out",
            &pubkey.display().to_string(),
        ]);
        let want = danetool_rdata(
            &String::from_utf8(run(
                "danetool",
                &[
                    "--tlsa-rr",
                    "--quiet",
                    "--host",
                    "h.example",
                    "--load-pubkey",
                    &pubkey.display().to_string(),
                ],
            ))
            .unwrap(),
        );
        let (lines, err, _) = tlsa(&[
            &pubkey.display().to_string(),
            &set.leaf_key.display().to_string(),
        ]);
        assert_eq!(lines, vec![want.clone(), want], "{:?}: {err}", set.t);
    }
}

#[test]
fn every_combination_matches_ldns_dane() {
    if !have("ldns-dane", "every_combination_matches_ldns_dane") {
        return;
    }
    for set in fixture() {
        if set.t == KeyType::Rsa(1024) {
            continue; // ldns-dane's OpenSSL refuses to load it ("ee key too small")
        }
        let chain = set.chain.display().to_string();
        for u in 0..=3u8 {
            for s in 0..=1u8 {
                for m in 0..=2u8 {
                    let (us, ss, ms) = (u.to_string(), s.to_string(), m.to_string());
                    // -n: no name check, -s: assume PKIX validity (usages 0 and 1).
                    let out = String::from_utf8(run(
                        "ldns-dane",
                        &[
                            "-n",
                            "-s",
                            "-c",
                            &chain,
                            "create",
                            "mail.example.test",
                            "25",
                            &us,
                            &ss,
                            &ms,
                        ],
                    ))
                    .unwrap();
                    let line = out
                        .lines()
                        .find(|l| l.contains("TLSA"))
                        .unwrap_or_else(|| panic!("ldns-dane printed {out:?}"));
                    let (owner, rdata) = line.split_once("TLSA").unwrap();
                    assert!(owner.starts_with("_25._tcp.mail.example.test."));
                    let want = rdata.split_whitespace().collect::<Vec<_>>().join(" ");
                    let mut a = args(u, s, m);
                    a.extend(["--host".into(), "mail.example.test".into(), chain.clone()]);
                    let a: Vec<&str> = a.iter().map(String::as_str).collect();
                    assert_eq!(
                        tlsa(&a).0,
                        vec![format!("_25._tcp.mail.example.test. IN TLSA {want}")],
                        "{:?}",
                        set.t
                    );
                }
            }
        }
    }
}

/// Every key format, public keys and CSRs give the SubjectPublicKeyInfo that
/// `openssl pkey -pubout -outform der` gives, which is what the certificate carries.
#[test]
fn keys_public_keys_and_csrs_give_the_certificates_spki() {
    if !have(
        "openssl",
        "keys_public_keys_and_csrs_give_the_certificates_spki",
    ) {
        return;
    }
    for set in fixture() {
        let dir = set.leaf_key.parent().unwrap();
        let k = set.leaf_key.display().to_string();
        let spki = openssl(&["pkey", "-in", &k, "-pubout", "-outform", "der"]);
        let want_raw = format!("3 1 0 {}", hex(&spki));
        let mut files: Vec<(String, PathBuf)> = vec![("pkcs8".into(), set.leaf_key.clone())];
        let mut add = |what: &str, args: &[&str]| {
            let p = dir.join(format!("leaf.{what}"));
            let mut a = args.to_vec();
            let ps = p.display().to_string();
            a.extend(["-out", &ps]);
            openssl(&a);
            files.push((what.to_string(), p));
        };
        add(
            "p8.der",
            &["pkcs8", "-topk8", "-nocrypt", "-in", &k, "-outform", "der"],
        );
        // PKCS#1 or SEC1 in DER for RSA and EC keys, PKCS#8 for Ed25519.
        add("trad.der", &["pkey", "-in", &k, "-outform", "der"]);
        add("pub.pem", &["pkey", "-in", &k, "-pubout"]);
        add(
            "pub.der",
            &["pkey", "-in", &k, "-pubout", "-outform", "der"],
        );
        if set.t.is_rsa() {
            add("pkcs1.pem", &["rsa", "-in", &k, "-traditional"]);
            add("rsapub.pem", &["rsa", "-in", &k, "-RSAPublicKey_out"]);
        }
        if set.t.is_ec() {
            add("sec1.pem", &["ec", "-in", &k]);
            // Without the public key inside: derived from the private scalar.
            add("sec1-nopub.pem", &["ec", "-in", &k, "-no_public"]);
            add(
                "p8-nopub.pem",
                &[
                    "pkey",
                    "-in",
                    &dir.join("leaf.sec1-nopub.pem").display().to_string(),
                ],
            );
        }
        files.push((
            "csr".into(),
            csr(dir, "leaf2", &set.leaf_key, &["mail.example.test"]),
        ));
        files.push(("cert".into(), set.leaf.clone()));
        let der = dir.join("leaf.der");
        openssl(&[
            "x509",
            "-in",
            &set.leaf.display().to_string(),
            "-outform",
            "der",
            "-out",
            &der.display().to_string(),
        ]);
        files.push(("cert.der".into(), der));

        let paths: Vec<String> = files.iter().map(|(_, p)| p.display().to_string()).collect();
        let mut a = vec!["--matching", "0"];
        a.extend(paths.iter().map(String::as_str));
        let (lines, err, code) = tlsa(&a);
        assert_eq!(code, 0, "{:?}: {err}", set.t);
        for ((what, _), line) in files.iter().zip(&lines) {
            assert_eq!(line, &want_raw, "{:?} {what}", set.t);
        }
        assert_eq!(lines.len(), files.len());
        let sha = sh(&format!(
            "openssl pkey -in {k} -pubout -outform der | sha256sum | cut -d' ' -f1"
        ));
        let a: Vec<&str> = paths.iter().map(String::as_str).collect();
        assert!(
            tlsa(&a).0.iter().all(|l| *l == format!("3 1 1 {sha}")),
            "{:?}",
            set.t
        );
    }
}

/// `openssl ecparam -genkey` writes EC PARAMETERS before the key: still one key.
#[test]
fn ecparam_genkey_output_is_one_key() {
    if !have("openssl", "ecparam_genkey_output_is_one_key") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("k.pem");
    let ks = k.display().to_string();
    openssl(&["ecparam", "-name", "prime256v1", "-genkey", "-out", &ks]);
    assert!(
        std::fs::read_to_string(&k)
            .unwrap()
            .contains("EC PARAMETERS")
    );
    let sha = sh(&format!(
        "openssl pkey -in {ks} -pubout -outform der | sha256sum | cut -d' ' -f1"
    ));
    assert_eq!(tlsa(&[&ks]).0, vec![format!("3 1 1 {sha}")]);
}
