//! `danerollover tlsa` on the command line: output forms, and bad input (one stderr line
//! per bad file naming it, the good files still printed, exit 2, never a panic).

mod tlsa_support;

use std::path::{Path, PathBuf};

use tlsa_support::*;

fn p(path: &Path) -> String {
    path.display().to_string()
}

struct Files {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    key: PathBuf,
    cert: PathBuf,
    csr: PathBuf,
    sha: String,
}

fn files() -> Files {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let key = genkey(&dir, "k", KeyType::P256);
    let cert = self_signed(&dir, "c", &key, "mail.example.test");
    let csr = csr(&dir, "r", &key, &["mail.example.test"]);
    let sha = sh(&format!(
        "openssl pkey -in {} -pubout -outform der | sha256sum | cut -d' ' -f1",
        p(&key)
    ));
    Files {
        _dir: tmp,
        dir,
        key,
        cert,
        csr,
        sha,
    }
}

#[test]
fn host_and_json_output() {
    if !have("openssl", "host_and_json_output") {
        return;
    }
    let f = files();
    let (lines, _, code) = tlsa(&["--host", "mail.example.test", &p(&f.cert)]);
    assert_eq!(code, 0);
    assert_eq!(
        lines,
        vec![format!(
            "_25._tcp.mail.example.test. IN TLSA 3 1 1 {}",
            f.sha
        )]
    );
    let (lines, _, _) = tlsa(&[
        "--host",
        "mx.example.test.",
        "--port",
        "465",
        "--proto",
        "udp",
        &p(&f.key),
    ]);
    assert_eq!(
        lines,
        vec![format!(
            "_465._udp.mx.example.test. IN TLSA 3 1 1 {}",
            f.sha
        )]
    );

    let out = bin()
        .args(["tlsa", "--json", &p(&f.cert), &p(&f.key)])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["file"], p(&f.cert));
    assert_eq!(arr[1]["file"], p(&f.key));
    assert!(arr[0]["owner"].is_null());
    assert_eq!(
        (
            arr[0]["usage"].as_u64(),
            arr[0]["selector"].as_u64(),
            arr[0]["matching"].as_u64()
        ),
        (Some(3), Some(1), Some(1))
    );
    assert_eq!(arr[0]["data"], f.sha);

    let out = bin()
        .args([
            "tlsa",
            "--json",
            "--host",
            "mail.example.test",
            "--usage",
            "2",
            &p(&f.cert),
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["owner"], "_25._tcp.mail.example.test.");
    assert_eq!(v[0]["usage"], 2);
}

#[test]
fn bad_files_are_named_and_good_ones_still_printed() {
    if !have("openssl", "bad_files_are_named_and_good_ones_still_printed") {
        return;
    }
    let f = files();
    let d = &f.dir;
    let empty = d.join("empty.pem");
    std::fs::write(&empty, b"").unwrap();
    let pem = std::fs::read_to_string(&f.cert).unwrap();
    let truncated = d.join("truncated.pem");
    std::fs::write(&truncated, &pem[..pem.len() / 2]).unwrap();
    let garbage = d.join("garbage.bin");
    std::fs::write(&garbage, b"\x00\x01\x02this is not a certificate\xff\xfe").unwrap();
    let missing = d.join("missing.pem");
    let encrypted = d.join("enc.pem");
    openssl(&[
        "pkey",
        "-in",
        &p(&f.key),
        "-aes128",
        "-passout",
        "pass:secret",
        "-out",
        &p(&encrypted),
    ]);

    let (lines, err, code) = tlsa(&[
        &p(&f.cert),
        &p(&empty),
        &p(&f.key),
        &p(&truncated),
        &p(&garbage),
        &p(&missing),
        &p(&encrypted),
        &p(&f.csr),
    ]);
    assert_eq!(code, 2, "{err}");
    let want = format!("3 1 1 {}", f.sha);
    assert_eq!(
        lines,
        vec![want.clone(), want.clone(), want],
        "good files in order"
    );
    let err_lines: Vec<&str> = err.lines().collect();
    assert_eq!(err_lines.len(), 5, "{err}");
    for (line, (path, what)) in err_lines.iter().zip([
        (&empty, "empty file"),
        (&truncated, "truncated PEM"),
        (&garbage, "not a certificate, key or CSR"),
        (&missing, "no such file"),
        (&encrypted, "encrypted private key"),
    ]) {
        assert!(
            line.contains(&p(path)) && line.contains(what),
            "{line:?} should name {} and say {what:?}",
            p(path)
        );
    }
    assert!(!err.contains("panicked"));

    // Selector 0 of a key or CSR.
    let (lines, err, code) = tlsa(&["--selector", "0", &p(&f.key), &p(&f.csr), &p(&f.cert)]);
    assert_eq!(code, 2);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("3 0 1 "));
    let err_lines: Vec<&str> = err.lines().collect();
    assert_eq!(err_lines.len(), 2, "{err}");
    assert!(
        err_lines[0].contains(&p(&f.key))
            && err_lines[0].contains("private key has no certificate")
    );
    assert!(err_lines[1].contains(&p(&f.csr)) && err_lines[1].contains("CSR has no certificate"));

    // --depth out of range.
    let (lines, err, code) = tlsa(&["--depth", "1", &p(&f.cert)]);
    assert_eq!((lines.len(), code), (0, 2));
    assert!(
        err.contains("--depth 1 is out of range") && err.contains(&p(&f.cert)),
        "{err}"
    );
}

#[test]
fn unsupported_key_types_are_refused() {
    if !have("openssl", "unsupported_key_types_are_refused") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let k1 = genkey_with(
        d,
        "k1",
        &[
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:secp256k1",
        ],
    );
    let c1 = self_signed(d, "c1", &k1, "k1.example");
    let ed448 = genkey_with(d, "ed448", &["-algorithm", "ED448"]);
    let c448 = self_signed(d, "c448", &ed448, "ed448.example");
    let x25519 = genkey_with(d, "x25519", &["-algorithm", "X25519"]);
    let xpub = d.join("x25519.pub");
    openssl(&["pkey", "-in", &p(&x25519), "-pubout", "-out", &p(&xpub)]);
    let dsa_params = d.join("dsa.params");
    openssl(&[
        "genpkey",
        "-genparam",
        "-algorithm",
        "DSA",
        "-pkeyopt",
        "dsa_paramgen_bits:1024",
        "-out",
        &p(&dsa_params),
    ]);
    let dsa = d.join("dsa.key");
    openssl(&["genpkey", "-paramfile", &p(&dsa_params), "-out", &p(&dsa)]);
    let pss = genkey_with(
        d,
        "pss",
        &["-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048"],
    );

    let cases = [
        (&k1, "secp256k1"),
        (&c1, "secp256k1"),
        (&ed448, "Ed448"),
        (&c448, "Ed448"),
        (&x25519, "X25519"),
        (&xpub, "X25519"),
        (&dsa, "DSA"),
        (&pss, "RSASSA-PSS"),
    ];
    let args: Vec<String> = cases.iter().map(|(f, _)| p(f)).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (lines, err, code) = tlsa(&args);
    assert_eq!((lines.len(), code), (0, 2), "{lines:?}");
    let err_lines: Vec<&str> = err.lines().collect();
    assert_eq!(err_lines.len(), cases.len(), "{err}");
    for (line, (file, alg)) in err_lines.iter().zip(cases) {
        assert!(
            line.contains(&p(file)) && line.contains("unsupported key type") && line.contains(alg),
            "{line}"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let out = bin()
        .args(["tlsa", "--usage", "4", "x.pem"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin()
        .args(["tlsa", "--port", "25", "x.pem"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "--port needs --host");
    let out = bin().args(["tlsa"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "FILE is required");
}
