//! Helpers of the tlsa_* and certbot_* tests: reference tools (openssl, danetool,
//! ldns-dane) and keys and certificates of every type, made at test time.
//!
//! A missing reference tool skips the test with a message, except under CI (`CI=true`),
//! where it is a failure (`tests/lab/install` installs openssl, gnutls-bin, ldnsutils).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Whether a reference tool is installed; under CI a missing tool panics.
pub fn have(tool: &str, test: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()));
    if !found {
        let ci = std::env::var("CI")
            .map(|v| v == "true" || v == "1")
            .unwrap_or(false);
        if ci {
            panic!("{test}: {tool} is not installed; under CI it is required (tests/lab/install)");
        }
        eprintln!("{test}: skipped: {tool} is not installed");
    }
    found
}

/// Run a command; its stdout, or a panic with its stderr.
pub fn run(program: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Run a shell pipeline; its stdout as text, trimmed.
pub fn sh(script: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", &format!("set -e; {script}")])
        .stdin(Stdio::null())
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "`{script}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

pub fn openssl(args: &[&str]) -> Vec<u8> {
    run("openssl", args)
}

/// The key types the tests make, with openssl genpkey's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Rsa(u32),
    P256,
    P384,
    P521,
    Ed25519,
}

impl KeyType {
    /// Every supported type; RSA 1024 (hashable, if weak) and 4096 included.
    pub const ALL: [KeyType; 8] = [
        KeyType::Rsa(2048),
        KeyType::Rsa(3072),
        KeyType::Rsa(4096),
        KeyType::Rsa(1024),
        KeyType::P256,
        KeyType::P384,
        KeyType::P521,
        KeyType::Ed25519,
    ];

    pub fn label(self) -> String {
        match self {
            KeyType::Rsa(b) => format!("rsa{b}"),
            KeyType::P256 => "p256".into(),
            KeyType::P384 => "p384".into(),
            KeyType::P521 => "p521".into(),
            KeyType::Ed25519 => "ed25519".into(),
        }
    }

    pub fn genpkey_args(self) -> Vec<String> {
        match self {
            KeyType::Rsa(b) => vec![
                "-algorithm".into(),
                "RSA".into(),
                "-pkeyopt".into(),
                format!("rsa_keygen_bits:{b}"),
            ],
            KeyType::P256 => vec![
                "-algorithm".into(),
                "EC".into(),
                "-pkeyopt".into(),
                "ec_paramgen_curve:P-256".into(),
            ],
            KeyType::P384 => vec![
                "-algorithm".into(),
                "EC".into(),
                "-pkeyopt".into(),
                "ec_paramgen_curve:P-384".into(),
            ],
            KeyType::P521 => vec![
                "-algorithm".into(),
                "EC".into(),
                "-pkeyopt".into(),
                "ec_paramgen_curve:P-521".into(),
            ],
            KeyType::Ed25519 => vec!["-algorithm".into(), "ED25519".into()],
        }
    }

    pub fn is_rsa(self) -> bool {
        matches!(self, KeyType::Rsa(_))
    }

    pub fn is_ec(self) -> bool {
        matches!(self, KeyType::P256 | KeyType::P384 | KeyType::P521)
    }
}

/// A PKCS#8 private key of this type at `dir/NAME.key`.
pub fn genkey(dir: &Path, name: &str, t: KeyType) -> PathBuf {
    let path = dir.join(format!("{name}.key"));
    let mut args: Vec<String> = vec!["genpkey".into()];
    args.extend(t.genpkey_args());
    args.extend(["-out".into(), path.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    openssl(&args);
    path
}

/// A private key from genpkey with arbitrary options (for unsupported types).
pub fn genkey_with(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(format!("{name}.key"));
    let p = path.display().to_string();
    let mut all = vec!["genpkey"];
    all.extend_from_slice(args);
    all.extend(["-out", &p]);
    openssl(&all);
    path
}

/// A self-signed certificate (a CA) for `key`.
pub fn self_signed(dir: &Path, name: &str, key: &Path, cn: &str) -> PathBuf {
    let path = dir.join(format!("{name}.pem"));
    openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        &key.display().to_string(),
        "-subj",
        &format!("/CN={cn}"),
        "-days",
        "30",
        "-addext",
        "basicConstraints=critical,CA:true",
        "-out",
        &path.display().to_string(),
    ]);
    path
}

/// A leaf certificate for `key` with DNS names, issued by `ca` / `ca_key`.
pub fn issue(
    dir: &Path,
    name: &str,
    key: &Path,
    names: &[&str],
    ca: &Path,
    ca_key: &Path,
) -> PathBuf {
    let csr = csr(dir, name, key, names);
    let path = dir.join(format!("{name}.pem"));
    let ext = dir.join(format!("{name}.ext"));
    let san: Vec<String> = names.iter().map(|n| format!("DNS:{n}")).collect();
    std::fs::write(&ext, format!("subjectAltName={}\n", san.join(","))).unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr.display().to_string(),
        "-CA",
        &ca.display().to_string(),
        "-CAkey",
        &ca_key.display().to_string(),
        "-days",
        "30",
        "-extfile",
        &ext.display().to_string(),
        "-out",
        &path.display().to_string(),
    ]);
    path
}

/// A CSR for `key` at `dir/NAME.csr`.
pub fn csr(dir: &Path, name: &str, key: &Path, names: &[&str]) -> PathBuf {
    let path = dir.join(format!("{name}.csr"));
    openssl(&[
        "req",
        "-new",
        "-key",
        &key.display().to_string(),
        "-subj",
        &format!("/CN={}", names[0]),
        "-out",
        &path.display().to_string(),
    ]);
    path
}

/// The danerollover binary under test.
pub fn bin() -> assert_cmd::Command {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_danerollover"))
}

/// `danerollover tlsa ARGS...`: stdout lines, stderr and exit code.
pub fn tlsa(args: &[&str]) -> (Vec<String>, String, i32) {
    let out = bin().arg("tlsa").args(args).output().unwrap();
    (
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A renewal conf exactly as certbot 2.x writes it, for a lineage under `le`, with these
/// `[renewalparams]` lines (each ending in a newline) before `server` and `key_type`.
pub fn certbot_conf(le: &Path, name: &str, params: &str, key_type: Option<&str>) -> String {
    let le = le.display();
    let key_type = key_type
        .map(|k| format!("key_type = {k}\n"))
        .unwrap_or_default();
    format!(
        "# renew_before_expiry = 30 days\nversion = 2.1.0\narchive_dir = {le}/archive/{name}\n\
         cert = {le}/live/{name}/cert.pem\nprivkey = {le}/live/{name}/privkey.pem\n\
         chain = {le}/live/{name}/chain.pem\nfullchain = {le}/live/{name}/fullchain.pem\n\n\
         # Options used in the renewal process\n[renewalparams]\n{params}\
         account = 0123456789abcdef0123456789abcdef\nauthenticator = webroot\n\
         webroot_path = /var/www/html,\nserver = https://acme-v02.api.letsencrypt.org/directory\n\
         {key_type}[[webroot_map]]\n{name} = /var/www/html\n"
    )
}

/// A certbot-like lineage: `versions` versions in archive/NAME (each with a fresh key
/// unless `same_key`), live/NAME links (relative, like certbot's) to the last one, and
/// renewal/NAME.conf. Returns the archive dir.
pub fn make_lineage(le: &Path, name: &str, t: KeyType, versions: u32, conf: &str) -> PathBuf {
    let archive = le.join("archive").join(name);
    let live = le.join("live").join(name);
    std::fs::create_dir_all(&archive).unwrap();
    std::fs::create_dir_all(&live).unwrap();
    std::fs::create_dir_all(le.join("renewal")).unwrap();
    let work = le.join("work").join(name);
    std::fs::create_dir_all(&work).unwrap();
    let ca_key = genkey(&work, "ca", KeyType::P256);
    let ca = self_signed(&work, "ca", &ca_key, "Test CA");
    for v in 1..=versions {
        let key = genkey(&work, &format!("k{v}"), t);
        let cert = issue(
            &work,
            &format!("c{v}"),
            &key,
            &[name, &format!("www.{name}")],
            &ca,
            &ca_key,
        );
        let cert_pem = std::fs::read(&cert).unwrap();
        let chain_pem = std::fs::read(&ca).unwrap();
        std::fs::write(archive.join(format!("cert{v}.pem")), &cert_pem).unwrap();
        std::fs::write(archive.join(format!("chain{v}.pem")), &chain_pem).unwrap();
        std::fs::write(
            archive.join(format!("fullchain{v}.pem")),
            [cert_pem, chain_pem].concat(),
        )
        .unwrap();
        std::fs::copy(&key, archive.join(format!("privkey{v}.pem"))).unwrap();
    }
    for kind in ["cert", "privkey", "chain", "fullchain"] {
        let link = live.join(format!("{kind}.pem"));
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(format!("../../archive/{name}/{kind}{versions}.pem"), &link)
            .unwrap();
    }
    std::fs::write(le.join("renewal").join(format!("{name}.conf")), conf).unwrap();
    archive
}

/// Point a live link somewhere else.
pub fn relink(le: &Path, name: &str, kind: &str, target: &str) {
    let link = le.join("live").join(name).join(format!("{kind}.pem"));
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(target, &link).unwrap();
}
