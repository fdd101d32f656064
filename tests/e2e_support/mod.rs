//! Helpers of the end-to-end tests: a lineage issued by the lab's certbot with danerollover
//! as its deploy hook, a configuration for it, the binary, and what the authoritative
//! servers serve. Each test uses its own lineage name and owner, and removes both at the end.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use danerollover::tlsa::{Matching, TlsaRecord};

use crate::common::Lab;

#[path = "../sandbox/mod.rs"]
pub mod sandbox;
pub use sandbox::sandboxed;

/// Which lab server publishes the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PowerDNS HTTP API, zone example.test (two authoritative servers).
    Pdns,
    /// RFC 2136 with TSIG to BIND, zone example2.test.
    Bind,
}

/// One lineage under test.
pub struct Setup {
    pub lab: Lab,
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    pub cfg: PathBuf,
    pub name: String,
    /// The owner, absolute.
    pub owner: String,
    pub zone: String,
    issued: bool,
    /// The certbot the lab wrapper runs (`LAB_CERTBOT`), None: Debian's.
    pub certbot_program: Option<String>,
}

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{:x}{:x}", std::process::id(), nanos)
}

impl Setup {
    /// A fresh lineage name, owner and configuration (nothing issued yet).
    pub fn new(lab: Lab, backend: Backend, prefix: &str, reload: &[&[&str]]) -> Setup {
        let id = unique();
        let name = format!("{prefix}-{id}");
        let zone = match backend {
            Backend::Pdns => lab.var("LAB_PDNS_ZONE").to_string(),
            Backend::Bind => lab.var("LAB_BIND_ZONE").to_string(),
        };
        let owner = format!("_25._tcp.{name}.{zone}.");
        let dir = tempfile::tempdir().expect("tempdir");
        let provider = match backend {
            Backend::Pdns => format!(
                "[providers.lab]\ntype = \"powerdns\"\nurl = \"{}\"\napi_key_file = \"{}\"\nserver_id = \"{}\"\n",
                lab.var("LAB_PDNS_API"),
                lab.var("LAB_PDNS_API_KEY_FILE"),
                lab.var("LAB_PDNS_SERVER_ID")
            ),
            Backend::Bind => format!(
                "[providers.lab]\ntype = \"rfc2136\"\nserver = \"{}\"\ntsig_name = \"{}\"\ntsig_algorithm = \"{}\"\ntsig_secret_file = \"{}\"\n",
                lab.var("LAB_BIND_DNS"),
                lab.var("LAB_TSIG_NAME"),
                lab.var("LAB_TSIG_ALGORITHM"),
                lab.var("LAB_TSIG_SECRET_FILE")
            ),
        };
        let reload_toml = reload
            .iter()
            .map(|argv| {
                let items: Vec<String> = argv.iter().map(|a| format!("{a:?}")).collect();
                format!("[{}]", items.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let lab_dir = lab.var("LAB_DIR");
        let cfg_text = format!(
            r#"letsencrypt_dir = "{le}"
state_dir = "{state}"
certbot = ["flock", "{lab_dir}/certbot.lock", "{bin}/certbot", "{lab_dir}"]

[dns]
validating_resolver = "{resolver}"
ttl_factor = 2
margin = "1s"
# The lab's records are never re-TTL'd before danerollover's first look at them.
prior_ttl = "0s"

{provider}
[lineages."{name}"]
provider = "lab"
tlsa = ["{owner}"]
ttl = 5
# The stories force more renewals than a week's budget allows (each surprise forces one);
# the budget itself is table- and engine-tested.
max_forced_renewals = 50
reload = [{reload_toml}]
"#,
            le = lab.var("LAB_LETSENCRYPT_DIR"),
            state = dir.path().join("state").display(),
            bin = lab.var("LAB_BIN"),
            resolver = lab.var("LAB_RESOLVER"),
        );
        let cfg = dir.path().join("config.toml");
        std::fs::write(&cfg, cfg_text).expect("write config");
        Setup {
            lab,
            backend,
            dir,
            cfg,
            name,
            owner,
            zone,
            issued: false,
            certbot_program: None,
        }
    }

    /// Use another certbot (e.g. the lab's `LAB_CERTBOT_LATEST`) for issuing and for the
    /// configuration's `certbot` command.
    pub fn with_certbot(mut self, program: &str) -> Setup {
        self.certbot_program = Some(program.to_string());
        let prefix = self.certbot_prefix();
        self.set_certbot(&prefix);
        self
    }

    /// The configuration's `certbot` command that runs the lab's certbot.
    pub fn certbot_prefix(&self) -> Vec<String> {
        let lab_dir = self.lab.var("LAB_DIR");
        let mut prefix = Vec::new();
        if let Some(p) = &self.certbot_program {
            prefix.push("env".to_string());
            prefix.push(format!("LAB_CERTBOT={p}"));
        }
        prefix.extend([
            "flock".to_string(),
            format!("{lab_dir}/certbot.lock"),
            self.lab
                .path("LAB_BIN")
                .join("certbot")
                .display()
                .to_string(),
            lab_dir.to_string(),
        ]);
        prefix
    }

    /// Replace the configuration's `certbot` command.
    pub fn set_certbot(&self, argv: &[String]) {
        let text = std::fs::read_to_string(&self.cfg).expect("read config");
        let items: Vec<String> = argv.iter().map(|a| format!("{a:?}")).collect();
        let line = format!("certbot = [{}]", items.join(", "));
        let text: Vec<String> = text
            .lines()
            .map(|l| {
                if l.starts_with("certbot = ") {
                    line.clone()
                } else {
                    l.to_string()
                }
            })
            .collect();
        std::fs::write(&self.cfg, text.join("\n") + "\n").expect("write config");
    }

    /// `certbot --version` of the certbot this setup uses.
    pub fn certbot_version(&self) -> String {
        let out = Command::new(self.certbot_program.as_deref().unwrap_or("certbot"))
            .arg("--version")
            .output()
            .expect("run certbot --version");
        text(&out).trim().to_string()
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The lab's certbot, serialised across test binaries by a lock file.
    pub fn certbot(&self, args: &[&str]) -> Output {
        let lab_dir = self.lab.var("LAB_DIR");
        let mut cmd = Command::new("flock");
        cmd.arg(format!("{lab_dir}/certbot.lock"))
            .arg(self.lab.path("LAB_BIN").join("certbot"))
            .arg(lab_dir)
            .args(args);
        if let Some(p) = &self.certbot_program {
            cmd.env("LAB_CERTBOT", p);
        }
        cmd.output().expect("run certbot")
    }

    /// Issue the lineage with `danerollover hook` as certbot's deploy hook.
    pub fn issue(&mut self) -> Output {
        let hook = format!(
            "env DANEROLLOVER_CONFIG={} {} hook",
            self.cfg.display(),
            env!("CARGO_BIN_EXE_danerollover")
        );
        let port = self.lab.var("LAB_ACME_HTTP01_PORT").to_string();
        let addr = self.lab.var("LAB_ACME_HTTP01_ADDR").to_string();
        let host = format!("mail.{}", self.zone);
        let name = self.name.clone();
        self.issued = true;
        self.certbot(&[
            "certonly",
            "--standalone",
            "--http-01-address",
            &addr,
            "--http-01-port",
            &port,
            "--cert-name",
            &name,
            "-d",
            &host,
            "--reuse-key",
            "--key-type",
            "ecdsa",
            "--deploy-hook",
            &hook,
        ])
    }

    /// `danerollover ARGS` with this configuration.
    pub fn dr(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_danerollover"))
            .env("DANEROLLOVER_CONFIG", &self.cfg)
            .env_remove("DANEROLLOVER_SWITCHING")
            .env_remove("RENEWED_LINEAGE")
            .args(args)
            .output()
            .expect("run danerollover")
    }

    /// `danerollover ARGS` inside the shipped unit's sandbox, emulated (see [`sandboxed`]),
    /// with `faketime FAKE` (libfaketime, the monotonic clocks left alone) when given.
    pub fn dr_sandboxed(&self, fake: Option<&str>, args: &[&str]) -> Output {
        sandboxed(fake, env!("CARGO_BIN_EXE_danerollover"), args)
            .env("DANEROLLOVER_CONFIG", &self.cfg)
            .env_remove("DANEROLLOVER_SWITCHING")
            .env_remove("RENEWED_LINEAGE")
            .output()
            .expect("run danerollover in the sandbox")
    }

    /// The `3 1 1` record of the live certificate's key.
    pub fn live_record(&self) -> String {
        let l =
            danerollover::acme::certbot::load(&self.lab.path("LAB_LETSENCRYPT_DIR"), &self.name)
                .expect("load lineage");
        let spki = l.current_spki().expect("live certificate");
        TlsaRecord::dane_ee_spki(Matching::Sha256, spki).to_string()
    }

    /// The `3 1 1` record of `live/NAME/privkey.pem`.
    pub fn live_key_record(&self) -> String {
        let l =
            danerollover::acme::certbot::load(&self.lab.path("LAB_LETSENCRYPT_DIR"), &self.name)
                .expect("load lineage");
        TlsaRecord::dane_ee_spki(Matching::Sha256, l.key_spki.as_deref().expect("key")).to_string()
    }

    /// The authoritative servers of the zone.
    pub fn servers(&self) -> Vec<String> {
        match self.backend {
            Backend::Pdns => vec![
                self.lab.var("LAB_PDNS_DNS").to_string(),
                self.lab.var("LAB_PDNS2_DNS").to_string(),
            ],
            Backend::Bind => vec![self.lab.var("LAB_BIND_DNS").to_string()],
        }
    }

    /// The TLSA records `server` serves at the owner, as `3 1 1 <hex>` lines, sorted.
    pub fn served(&self, server: &str) -> Vec<String> {
        served(server, &self.owner)
    }

    /// The records the primary server serves.
    pub fn served_primary(&self) -> Vec<String> {
        self.served(&self.servers()[0])
    }

    /// Add or remove a record with the provider through `danerollover dns`.
    pub fn dns(&self, verb: &str, record: &str) {
        let out = self.dr(&[
            "dns",
            verb,
            &self.owner,
            record,
            "--provider",
            "lab",
            "--ttl",
            "5",
        ]);
        assert_ok(&out, &format!("dns {verb}"));
    }

    /// The parsed JSON of a command's stdout.
    pub fn json(out: &Output) -> serde_json::Value {
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }
}

/// The TLSA records `server` (address:port) serves at `owner`, `3 1 1 <hex>`, sorted.
pub fn served(server: &str, owner: &str) -> Vec<String> {
    let (addr, port) = server.rsplit_once(':').expect("address:port");
    let out = Command::new("dig")
        .args(["+short", "+norec", "+time=2", "+tries=2", "-p", port])
        .arg(format!("@{addr}"))
        .arg(owner)
        .arg("TLSA")
        .output()
        .expect("run dig");
    let mut records: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let (u, s, m) = (parts.next()?, parts.next()?, parts.next()?);
            let data: String = parts.collect::<Vec<_>>().join("").to_lowercase();
            Some(format!("{u} {s} {m} {data}"))
        })
        .collect();
    records.sort();
    records
}

pub fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl Drop for Setup {
    /// Remove the records this test left at its owner and delete the lineage.
    fn drop(&mut self) {
        for r in self.served_primary() {
            let _ = self.dr(&["dns", "remove", &self.owner, &r, "--provider", "lab"]);
        }
        if self.issued {
            let _ = self.certbot(&["delete", "--cert-name", &self.name]);
        }
    }
}

/// A path's string.
pub fn s(p: &Path) -> String {
    p.display().to_string()
}

/// A Postfix instance of its own (not the lab's), serving copies of a key and certificate
/// on `addr:25` with STARTTLS, in a directory under the lab directory (Postfix's user must
/// reach it). Stopped and removed on drop.
pub struct OwnPostfix {
    pub dir: PathBuf,
    pub addr: String,
}

const MASTER_CF: &str = "\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
";

impl OwnPostfix {
    /// Start it with copies of `key` and `fullchain`.
    pub fn start(lab: &Lab, addr: &str, host: &str, key: &Path, fullchain: &Path) -> OwnPostfix {
        let dir = lab
            .path("LAB_DIR")
            .join(format!("own-postfix-{}", unique()));
        for d in ["", "queue", "data"] {
            std::fs::create_dir_all(dir.join(d)).expect("postfix dirs");
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(dir.join("queue"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let st = Command::new("chown")
            .args(["postfix:postfix", &s(&dir.join("data"))])
            .status()
            .expect("chown");
        assert!(st.success());
        let d = s(&dir);
        std::fs::write(
            dir.join("main.cf"),
            format!(
                "compatibility_level = 3.6\nmyhostname = {host}\nmydestination =\nrelay_domains =\n\
                 mynetworks = {addr}/32\nlocal_recipient_maps =\nalias_maps =\nalias_database =\n\
                 smtpd_relay_restrictions = reject_unauth_destination\nbiff = no\n\
                 inet_interfaces = loopback-only\ninet_protocols = ipv4\nsmtpd_peername_lookup = no\n\
                 queue_directory = {d}/queue\ndata_directory = {d}/data\nmaillog_file = {d}/postfix.log\n\
                 maillog_file_prefixes = {d}\n\
                 smtpd_tls_chain_files = {d}/key.pem, {d}/fullchain.pem\nsmtpd_tls_security_level = may\n"
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("master.cf"),
            format!("{addr}:25 inet n - n - - smtpd\n{MASTER_CF}"),
        )
        .unwrap();
        let pf = OwnPostfix {
            dir,
            addr: addr.to_string(),
        };
        pf.install(key, fullchain);
        let out = Command::new("postfix")
            .args(["-c", &d, "start"])
            .output()
            .expect("postfix start");
        assert!(
            out.status.success(),
            "postfix start: {}\n{}",
            text(&out),
            std::fs::read_to_string(pf.dir.join("postfix.log")).unwrap_or_default()
        );
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(format!("{addr}:25")).is_err() {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(15),
                "own Postfix never listened on {addr}:25: {}",
                std::fs::read_to_string(pf.dir.join("postfix.log")).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        pf
    }

    /// Copy a key and a chain into its directory (what an operator's copies are).
    pub fn install(&self, key: &Path, fullchain: &Path) {
        std::fs::copy(key, self.dir.join("key.pem")).expect("copy key");
        std::fs::copy(fullchain, self.dir.join("fullchain.pem")).expect("copy chain");
    }

    /// `postfix -c DIR reload`.
    pub fn reload(&self) {
        let out = Command::new("postfix")
            .args(["-c", &s(&self.dir), "reload"])
            .output()
            .expect("postfix reload");
        assert!(out.status.success(), "postfix reload: {}", text(&out));
    }
}

impl Drop for OwnPostfix {
    fn drop(&mut self) {
        let _ = Command::new("postfix")
            .args(["-c", &s(&self.dir), "stop"])
            .output();
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(format!("{}:25", self.addr)).is_ok()
            && start.elapsed() < std::time::Duration::from_secs(10)
        {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A key's `3 1 1` record from its hex in `status --json`.
pub fn rec(hex: &serde_json::Value) -> String {
    format!("3 1 1 {}", hex.as_str().expect("a key's hex"))
}

/// Wait (up to `limit`) until every authoritative server serves exactly `want`.
pub fn wait_served(s: &Setup, want: &[String], limit: std::time::Duration) {
    let mut want = want.to_vec();
    want.sort();
    let start = std::time::Instant::now();
    loop {
        let all: Vec<Vec<String>> = s.servers().iter().map(|srv| s.served(srv)).collect();
        if all.iter().all(|got| *got == want) {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "servers serve {all:?}, expected {want:?} at {}",
            s.owner
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}
