//! `danerollover config [--json]`: effective configuration, resolved directories, secret
//! sources (never values), exit 2 for a bad configuration naming the file and line.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

const SECRET: &str = "pdns-api-key-VALUE-never-shown";

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn secret(&self, name: &str, mode: u32) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, format!("{SECRET}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }
    fn config(&self, text: &str) -> PathBuf {
        let p = self.path("config.toml");
        std::fs::write(&p, text).unwrap();
        p
    }
}

fn run(config: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("danerollover")
        .unwrap()
        .env_remove("DANEROLLOVER_CONFIG")
        .arg("--config")
        .arg(config)
        .arg("config")
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn good(s: &Setup, key: &Path) -> PathBuf {
    s.config(&format!(
        r#"
state_dir = "{state}"

[providers.home]
type = "powerdns"
url = "http://127.0.0.1:8081"
api_key_file = "{key}"

[lineages."mail.example.com"]
provider = "home"
tlsa = ["_25._tcp.mail.example.com"]
"#,
        state = s.path("state").display(),
        key = key.display()
    ))
}

#[test]
fn prints_the_effective_configuration_and_secret_sources() {
    let s = Setup::new();
    let key = s.secret("pdns.key", 0o600);
    let config = good(&s, &key);
    let (code, out, err) = run(&config, &["--letsencrypt-dir", "/srv/le"]);
    assert_eq!(code, 0, "{out}\n{err}");
    // defaults filled in
    assert!(out.contains("timeout = \"5s\""), "{out}");
    assert!(out.contains("ttl_factor = 2"), "{out}");
    assert!(out.contains("server_id = \"localhost\""), "{out}");
    assert!(out.contains("ttl = 300"), "{out}");
    assert!(out.contains("certbot = [\"certbot\"]"), "{out}");
    // resolved directories: the command line wins, the config's state_dir is used
    assert!(out.contains("letsencrypt_dir = \"/srv/le\""), "{out}");
    assert!(
        out.contains(&format!("state_dir = \"{}\"", s.path("state").display())),
        "{out}"
    );
    // the secret's source and state, not its value
    assert!(
        out.contains(&format!(
            "providers.home.api_key: file {}: ok, readable, mode 0600",
            key.display()
        )),
        "{out}"
    );
    assert!(!out.contains(SECRET) && !err.contains(SECRET));
}

#[test]
fn json_output() {
    let s = Setup::new();
    let key = s.secret("pdns.key", 0o600);
    let config = good(&s, &key);
    let (code, out, _) = run(&config, &["--json"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["state_dir"], s.path("state").display().to_string());
    assert_eq!(v["config"]["providers"]["home"]["type"], "powerdns");
    assert_eq!(v["config"]["dns"]["timeout"], "5s");
    assert_eq!(v["secrets"][0]["provider"], "home");
    assert_eq!(v["secrets"][0]["key"], "api_key");
    assert_eq!(v["secrets"][0]["source"], "file");
    assert_eq!(v["secrets"][0]["ok"], true);
    assert!(!out.contains(SECRET));
}

#[test]
fn a_secret_file_others_can_read_is_a_problem() {
    let s = Setup::new();
    let key = s.secret("pdns.key", 0o644);
    let config = good(&s, &key);
    let (code, out, _) = run(&config, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("PROBLEM") && out.contains("chmod 600"),
        "{out}"
    );
    assert!(!out.contains(SECRET));
}

#[test]
fn unknown_key_is_exit_2_naming_file_and_line() {
    let s = Setup::new();
    let key = s.secret("pdns.key", 0o600);
    let text = std::fs::read_to_string(good(&s, &key)).unwrap().replace(
        "url = \"http://127.0.0.1:8081\"",
        "url = \"http://127.0.0.1:8081\"\napi_key = \"inline-secret\"",
    );
    let config = s.config(&text);
    let (code, out, err) = run(&config, &[]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains(&config.display().to_string()), "{err}");
    assert!(err.contains("line 7") && err.contains("api_key"), "{err}");
    assert!(!err.contains("inline-secret"), "{err}");
}

#[test]
fn refused_provider_type_is_exit_2_with_the_reason() {
    let s = Setup::new();
    let config = s.config(
        r#"
[providers.cloud]
type = "digitalocean"
token_file = "/etc/danerollover/do.token"
"#,
    );
    let (code, _, err) = run(&config, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("DigitalOcean DNS cannot serve TLSA records"),
        "{err}"
    );
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn dangling_provider_is_exit_2() {
    let s = Setup::new();
    let key = s.secret("pdns.key", 0o600);
    let text = std::fs::read_to_string(good(&s, &key))
        .unwrap()
        .replace("provider = \"home\"", "provider = \"away\"");
    let config = s.config(&text);
    let (code, _, err) = run(&config, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("away") && err.contains("home"), "{err}");
}

#[test]
fn a_named_config_that_does_not_exist_is_exit_2() {
    let s = Setup::new();
    let (code, _, err) = run(&s.path("missing.toml"), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing.toml"), "{err}");
}

#[test]
fn a_tsig_secret_that_is_not_base64_is_a_problem() {
    let s = Setup::new();
    let secret = s.secret("tsig.secret", 0o600);
    let config = s.config(&format!(
        r#"
[providers.bind]
type = "rfc2136"
server = "127.0.0.1:53"
tsig_name = "k."
tsig_secret_file = "{}"
"#,
        secret.display()
    ));
    let (code, out, _) = run(&config, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("PROBLEM: provider bind") && out.contains("base64"),
        "{out}"
    );
    assert!(!out.contains(SECRET));
}
