//! `danerollover lineages` on the lab's real certbot directory (certbot + pebble): every
//! lineage reads, and its live record is what openssl computes from the live certificate.
//! Read-only.

mod common;
mod tlsa_support;

use common::Lab;
use tlsa_support::*;

#[test]
fn lab_lineages_read_like_openssl() {
    let Some(lab) = Lab::get("lab_lineages_read_like_openssl") else {
        return;
    };
    let le = lab.path("LAB_LETSENCRYPT_DIR");
    let name = lab.var("LAB_LINEAGE");
    let v = common::lineages_json(&le);
    let rows = v.as_array().unwrap();
    let row = rows
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {v}"));
    let cert = le.join("live").join(name).join("cert.pem");
    let sha = sh(&format!(
        "openssl x509 -in {} -pubkey -noout | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1",
        cert.display()
    ));
    assert_eq!(row["tlsa_3_1_1"], format!("3 1 1 {sha}"));
    assert_eq!(row["key_matches_cert"], true);
    assert!(
        row["domains"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == lab.var("LAB_MAIL_HOST")),
        "{row}"
    );
    let lineage = danerollover::acme::certbot::load(&le, name).unwrap();
    assert!(lineage.highest_version.is_some());
    assert!(lineage.cert.in_archive && lineage.privkey.in_archive);
    assert_eq!(lineage.conf.server(), Some(lab.var("LAB_ACME_DIRECTORY")));
}

/// A copy of the lab's certbot tree (the lab's own stays untouched), with reuse_key off.
fn copied_tree(lab: &Lab, dir: &std::path::Path) -> std::path::PathBuf {
    let le = dir.join("letsencrypt");
    sh(&format!(
        "cp -a {} {} && sed -i 's/^reuse_key *=.*$/reuse_key = False/' {}/renewal/{}.conf",
        lab.path("LAB_LETSENCRYPT_DIR").display(),
        le.display(),
        le.display(),
        lab.var("LAB_LINEAGE")
    ));
    le
}

fn run_cli(cfg: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_danerollover"))
        .arg("--config")
        .arg(cfg)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `init NAME --provider P` on the lab's certbot lineage: an unknown provider is refused
/// naming the configured ones (nothing changed), `--dry-run` shows the diff, the real run
/// turns on reuse_key and adds `[lineages."NAME"]` keeping comments and the file's mode;
/// then `doctor` reports every item against the lab's real servers, and the read-only
/// commands work with the provider's secret gone.
#[test]
fn lab_init_provider_then_doctor() {
    use std::os::unix::fs::PermissionsExt;
    let Some(lab) = Lab::get("lab_init_provider_then_doctor") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let le = copied_tree(&lab, dir.path());
    let name = lab.var("LAB_LINEAGE");
    let key_file = dir.path().join("pdns.key");
    std::fs::copy(lab.path("LAB_PDNS_API_KEY_FILE"), &key_file).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = dir.path().join("config.toml");
    let original = format!(
        r#"# the operator's comment, kept
letsencrypt_dir = "{le}"
state_dir = "{state}"
certbot = ["flock", "{lab_dir}/certbot.lock", "{bin}/certbot", "{lab_dir}"]

[dns]
validating_resolver = "{resolver}"   # Unbound

[providers.lab]
type = "powerdns"
url = "{api}"
api_key_file = "{key}"

[providers.paper]
type = "manual"
"#,
        le = le.display(),
        state = dir.path().join("state").display(),
        lab_dir = lab.var("LAB_DIR"),
        bin = lab.var("LAB_BIN"),
        resolver = lab.var("LAB_RESOLVER"),
        api = lab.var("LAB_PDNS_API"),
        key = key_file.display(),
    );
    std::fs::write(&cfg, &original).unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o640)).unwrap();
    let conf = le.join(format!("renewal/{name}.conf"));
    let conf_before = std::fs::read_to_string(&conf).unwrap();

    // Unknown provider: refused, names the configured ones, changes nothing.
    let (code, _, err) = run_cli(&cfg, &["init", name, "--provider", "cloud"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("\"cloud\"") && err.contains("lab, paper"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), original);
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), conf_before);

    // Dry run: both diffs, nothing written.
    let (code, out, err) = run_cli(&cfg, &["init", name, "--provider", "lab", "--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    let owner = format!("_25._tcp.{}", lab.var("LAB_MAIL_HOST"));
    assert!(out.contains("+ reuse_key = True"), "{out}");
    assert!(out.contains(&format!("+ [lineages.\"{name}\"]")), "{out}");
    assert!(out.contains(&format!("+ tlsa = [\"{owner}\"]")), "{out}");
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), original);
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), conf_before);

    // The real run, with the owners given (one of them in the lab's insecure child zone,
    // where Postfix's name also points).
    let insecure = format!("_25._tcp.mail.{}", lab.var("LAB_INSECURE_ZONE"));
    let (code, out, err) = run_cli(
        &cfg,
        &[
            "init",
            name,
            "--provider",
            "lab",
            "--owner",
            &owner,
            "--owner",
            &insecure,
            "--ttl",
            "60",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let written = std::fs::read_to_string(&cfg).unwrap();
    for line in original.lines() {
        assert!(written.contains(line), "{line:?} lost:\n{written}");
    }
    let mode = std::fs::metadata(&cfg).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    let config = danerollover::config::Config::load(&cfg).unwrap();
    let l = &config.lineages[name];
    assert_eq!((l.provider.as_str(), l.ttl), ("lab", 60));
    assert_eq!(l.tlsa, [owner.clone(), insecure.clone()]);
    assert!(
        danerollover::acme::certbot::load(&le, name)
            .unwrap()
            .reuse_key()
            .is_on()
    );
    // Again: nothing to do.
    let (code, out, _) = run_cli(&cfg, &["init", name, "--provider", "lab"]);
    assert_eq!(code, 0);
    assert!(out.contains("already"), "{out}");
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), written);

    // doctor: no hook, no timer yet.
    let systemd = dir.path().join("systemd");
    std::fs::create_dir_all(systemd.join("timers.target.wants")).unwrap();
    let doctor = |extra: &[&str]| {
        let mut args = vec!["doctor", name, "--json", "--systemd-dir"];
        let s = systemd.to_str().unwrap().to_string();
        args.push(Box::leak(s.into_boxed_str()));
        args.extend_from_slice(extra);
        let (code, out, err) = run_cli(&cfg, &args);
        let v: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
        (code, v)
    };
    let level = |v: &serde_json::Value, item: &str| -> String {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["item"].as_str().unwrap().contains(item))
            .unwrap_or_else(|| panic!("no item {item} in {v:#}"))["level"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (code, v) = doctor(&[]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(level(&v, "config"), "ok");
    assert_eq!(level(&v, "provider lab: secret"), "ok", "{v:#}");
    assert_eq!(level(&v, "provider lab: API"), "ok", "{v:#}");
    assert_eq!(level(&v, "certbot"), "ok", "{v:#}");
    assert_eq!(level(&v, "reuse_key"), "ok", "{v:#}");
    assert_eq!(level(&v, "deploy hook"), "fail", "{v:#}");
    assert_eq!(level(&v, "timer"), "warn", "{v:#}");
    assert_eq!(level(&v, &format!("{owner}. servers")), "ok", "{v:#}");
    assert_eq!(level(&v, &format!("{owner}. DNSSEC")), "ok", "{v:#}");
    assert_eq!(level(&v, &format!("{insecure}. servers")), "ok", "{v:#}");
    assert_eq!(level(&v, &format!("{insecure}. DNSSEC")), "fail", "{v:#}");
    // Postfix serves the lineage's current key at mail.insecure...; DANE cannot use it.
    assert_eq!(
        level(
            &v,
            &format!("endpoint mail.{}:25", lab.var("LAB_INSECURE_ZONE"))
        ),
        "warn",
        "{v:#}"
    );
    let text = run_cli(
        &cfg,
        &["doctor", name, "--systemd-dir", systemd.to_str().unwrap()],
    )
    .1;
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAIL deploy hook") && l.contains("fix: install")),
        "{text}"
    );
    // Hook and timer in place.
    let hooks = le.join("renewal-hooks/deploy");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks/danerollover-deploy"),
        hooks.join("danerollover"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "/lib/systemd/system/danerollover.timer",
        systemd.join("timers.target.wants/danerollover.timer"),
    )
    .unwrap();
    let (_, v) = doctor(&[]);
    assert_eq!(level(&v, "deploy hook"), "ok", "{v:#}");
    assert_eq!(level(&v, "timer"), "ok", "{v:#}");

    // The secret gone: doctor says so; status and a rollover of an unknown lineage never
    // read it.
    std::fs::remove_file(&key_file).unwrap();
    let (code, v) = doctor(&[]);
    assert_eq!(code, 1);
    assert_eq!(level(&v, "provider lab: secret"), "fail", "{v:#}");
    let (code, out, err) = run_cli(&cfg, &["status", name]);
    assert!(code == 0 || code == 1, "{out}{err}");
    assert!(
        !err.contains("pdns.key") && out.contains(name),
        "{out}{err}"
    );
    let (code, out, err) = run_cli(&cfg, &["rollover", "no-such-lineage", "--dry-run"]);
    assert_ne!(code, 0);
    assert!(
        !err.contains("pdns.key") && err.contains("no-such-lineage"),
        "{out}{err}"
    );

    // An RFC 2136 provider has no read: doctor asks its primary for the zone's SOA instead.
    let bind = format!(
        "\n[providers.bind]\ntype = \"rfc2136\"\nserver = \"{}\"\ntsig_name = \"{}\"\ntsig_secret_file = \"{}\"\n",
        lab.var("LAB_BIND_DNS"),
        lab.var("LAB_TSIG_NAME"),
        lab.var("LAB_TSIG_SECRET_FILE")
    );
    let with_bind = |owner: &str| {
        let text = written.replace("provider = \"lab\"", "provider = \"bind\"");
        let text = text.replacen("tlsa = [", &format!("tlsa = [\"{owner}\"]\n# was: ["), 1);
        std::fs::write(&cfg, text + &bind).unwrap();
    };
    // The lineage's zone is PowerDNS's: BIND is not its primary.
    with_bind(&owner);
    let (_, v) = doctor(&[]);
    assert_eq!(level(&v, "provider bind: secret"), "ok", "{v:#}");
    assert_eq!(level(&v, "provider bind: primary"), "fail", "{v:#}");
    let bind_owner = format!("_25._tcp.mail.{}", lab.var("LAB_BIND_ZONE"));
    with_bind(&bind_owner);
    let (_, v) = doctor(&[]);
    assert_eq!(level(&v, "provider bind: primary"), "ok", "{v:#}");
    assert_eq!(level(&v, &format!("{bind_owner}. DNSSEC")), "ok", "{v:#}");
}
