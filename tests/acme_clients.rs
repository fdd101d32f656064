//! The ACME clients that need no lab: acme.sh on trees written exactly as acme.sh writes
//! them (acme.sh is in no registry this project installs from, so it is not run here), and
//! the `command` client driven through the switch's real plumbing (plant, rename over the
//! key file, run the command, restore) with a renew script that signs with openssl.

use std::path::Path;
use std::sync::Arc;

use danerollover::acme::client::{cert_facts, spki_of_key_pem};
use danerollover::acme::{self, ClientKind, ClientSettings, ReuseSetting};
use danerollover::engine::LineageFiles;
use danerollover::engine::lineage_files::Clients;
use danerollover::engine::real::CommandRenewer;
use danerollover::engine::{PlantPlan, Renewer};
use danerollover::keys::{self, Curve, KeySpec};

fn key_pem() -> (String, Vec<u8>) {
    let k = keys::generate(KeySpec::Ecdsa(Curve::P256)).unwrap();
    (k.pem().to_string(), k.spki_der().to_vec())
}

/// A self-signed certificate for the key in `key` (openssl), at `cert`.
fn sign(key: &Path, cert: &Path, cn: &str) {
    let st = std::process::Command::new("openssl")
        .args(["req", "-x509", "-new", "-days", "2", "-subj"])
        .arg(format!("/CN={cn}"))
        .arg("-key")
        .arg(key)
        .arg("-out")
        .arg(cert)
        .status()
        .expect("openssl");
    assert!(st.success());
}

fn spki_of_cert(path: &Path) -> Vec<u8> {
    cert_facts(&std::fs::read(path).unwrap()).unwrap().0
}

fn spki_of_key(path: &Path) -> Vec<u8> {
    spki_of_key_pem(&std::fs::read(path).unwrap()).unwrap()
}

/// `HOME/DOMAIN_ecc/` as acme.sh 3.x writes it after `--issue --ecc` with
/// `--always-force-new-domain-key` (`Le_ForceNewDomainKey='1'` and its pre-generated
/// `DOMAIN.key.next`).
fn acmesh_tree(home: &Path, domain: &str) -> (Vec<u8>, Vec<u8>) {
    let dir = home.join(format!("{domain}_ecc"));
    std::fs::create_dir_all(&dir).unwrap();
    let (pem, spki) = key_pem();
    let key = dir.join(format!("{domain}.key"));
    std::fs::write(&key, &pem).unwrap();
    sign(&key, &dir.join(format!("{domain}.cer")), domain);
    std::fs::copy(dir.join(format!("{domain}.cer")), dir.join("fullchain.cer")).unwrap();
    std::fs::write(dir.join("ca.cer"), "").unwrap();
    let (next_pem, next_spki) = key_pem();
    std::fs::write(dir.join(format!("{domain}.key.next")), &next_pem).unwrap();
    std::fs::write(
        dir.join(format!("{domain}.conf")),
        format!(
            "Le_Domain='{domain}'\nLe_Alt='no'\nLe_Webroot='no'\nLe_PreHook=''\nLe_PostHook=''\n\
             Le_RenewHook='__ACME_BASE64__START_ZGFuZXJvbGxvdmVyIGhvb2s=__ACME_BASE64__END_'\n\
             Le_API='https://acme-v02.api.letsencrypt.org/directory'\nLe_Keylength='ec-256'\n\
             Le_OrderFinalize='https://acme.example/finalize/1'\nLe_LinkOrder='https://acme.example/order/1'\n\
             Le_LinkCert='https://acme.example/cert/1'\nLe_CertCreateTime='1767225600'\n\
             Le_CertCreateTimeStr='2026-01-01T00:00:00Z'\nLe_NextRenewTimeStr='2026-02-28T00:00:00Z'\n\
             Le_NextRenewTime='1772236800'\nLe_ForceNewDomainKey='1'\n"
        ),
    )
    .unwrap();
    (spki, next_spki)
}

#[test]
fn acmesh_trees_read_switch_and_leave_its_own_next_key_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join(".acme.sh");
    let domain = "mail.example.test";
    let (spki, their_next) = acmesh_tree(&home, domain);
    let c = acme::build(
        ClientKind::Acmesh,
        &ClientSettings {
            dir: Some(home.clone()),
            ..ClientSettings::default()
        },
        Path::new("/nonexistent"),
        &[],
    )
    .unwrap();
    assert_eq!(c.list().unwrap(), vec![format!("{domain}_ecc")]);
    // The domain alone finds its only (ECC) directory.
    let l = c.lineage(domain).unwrap();
    assert_eq!(l.cert_spki.as_deref(), Some(spki.as_slice()));
    assert_eq!(l.key_spki.as_deref(), Some(spki.as_slice()));
    assert_eq!(l.domains, vec![domain.to_string()]);
    assert!(matches!(l.reuse, ReuseSetting::Off { .. }), "{:?}", l.reuse);
    assert_eq!(
        c.renew_argv(domain).unwrap(),
        [
            "acme.sh",
            "--home",
            &home.display().to_string(),
            "--renew",
            "--domain",
            domain,
            "--force",
            "--ecc"
        ]
    );

    // init removes Le_ForceNewDomainKey, nothing else.
    let dir = home.join(format!("{domain}_ecc"));
    let conf = dir.join(format!("{domain}.conf"));
    let before = std::fs::read_to_string(&conf).unwrap();
    assert!(c.enable_reuse_key(domain, true).unwrap().is_some());
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), before, "dry run");
    assert!(c.enable_reuse_key(domain, false).unwrap().is_some());
    let after = std::fs::read_to_string(&conf).unwrap();
    assert_eq!(
        after,
        before.replace("Le_ForceNewDomainKey='1'\n", ""),
        "only that line goes"
    );
    assert!(c.lineage(domain).unwrap().reuse.is_on());
    assert_eq!(c.enable_reuse_key(domain, false).unwrap(), None);

    // Plant, rename over DOMAIN.key, restore: DOMAIN.key.next is never touched.
    let next_file = dir.join(format!("{domain}.key.next"));
    let next_before = std::fs::read(&next_file).unwrap();
    let (ours_pem, ours) = key_pem();
    let plan = c.plant_plan(domain).unwrap();
    assert!(plan.planted != next_file && plan.previous != next_file);
    c.plant(domain, &plan, ours_pem.as_bytes()).unwrap();
    c.repoint(domain, &plan).unwrap();
    assert_eq!(c.lineage(domain).unwrap().key_spki, Some(ours.clone()));
    c.restore(domain, &plan, &ours).unwrap();
    assert_eq!(c.lineage(domain).unwrap().key_spki, Some(spki.clone()));
    assert_eq!(std::fs::read(&next_file).unwrap(), next_before);
    assert_ne!(their_next, ours);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "ca.cer".to_string(),
            "fullchain.cer".into(),
            format!("{domain}.cer"),
            format!("{domain}.conf"),
            format!("{domain}.key"),
            format!("{domain}.key.next"),
        ]
    );
    // The hook's environment names the lineage (the _ecc directory).
    let call = acme::hook_env::recognise(None, &[], |k| match k {
        "CERT_KEY_PATH" => Some(dir.join(format!("{domain}.key")).display().to_string()),
        "Le_Domain" => Some(domain.to_string()),
        _ => None,
    });
    assert_eq!(
        call,
        Some(acme::hook_env::HookCall::Lineage {
            name: format!("{domain}_ecc"),
            client: Some(ClientKind::Acmesh)
        })
    );
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// One switch through the real plumbing: plant, rename over the key file, run the command,
/// then what the engine does: keep when the certificate carries the next key, else restore.
fn switch(files: &Clients, renewer: &CommandRenewer, name: &str, next: &Path) -> bool {
    let next_spki = spki_of_key(next);
    let plan: PlantPlan = files.plant_plan(name).unwrap();
    files.plant(name, &plan, next).unwrap();
    files.repoint(name, &plan).unwrap();
    let _ = block(renewer.renew(name));
    let facts = files.facts(name).unwrap();
    if facts.live_spki == next_spki {
        return true;
    }
    files.restore(name, &plan, &next_spki).unwrap();
    false
}

#[test]
fn command_clients_switch_and_every_outcome_leaves_a_matching_pair() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("mail.key");
    let cert = tmp.path().join("mail.pem");
    let (pem, old) = key_pem();
    std::fs::write(&key, pem).unwrap();
    sign(&key, &cert, "mail.example.test");
    let build = |script: &str| {
        let c = acme::build(
            ClientKind::Command,
            &ClientSettings {
                key_file: Some(key.clone()),
                cert_file: Some(cert.clone()),
                command: Some(vec!["sh".into(), "-c".into(), script.to_string()]),
                ..ClientSettings::default()
            },
            Path::new("/nonexistent"),
            &[],
        )
        .unwrap();
        let files = Arc::new(Clients::certbot(tmp.path()).with("m", c));
        let renewer = CommandRenewer::new(files.clone());
        (files, renewer)
    };
    let next = tmp.path().join("next.pem");
    let fresh_next = || {
        let (p, s) = key_pem();
        std::fs::write(&next, p).unwrap();
        s
    };
    let pair = || (spki_of_cert(&cert), spki_of_key(&key));

    // Does nothing: restored.
    fresh_next();
    let (files, r) = build("exit 0");
    assert!(!switch(&files, &r, "m", &next));
    assert_eq!(pair(), (old.clone(), old.clone()));
    // Fails before writing: restored.
    let (files, r) = build("echo 'rate limited' >&2; exit 1");
    assert!(!switch(&files, &r, "m", &next));
    assert_eq!(pair(), (old.clone(), old.clone()));
    // Renews with a key of its own: kept (its key file and certificate match).
    let own = format!(
        "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out {k} 2>/dev/null && openssl req -x509 -new -days 2 -subj /CN=m -key {k} -out {c}",
        k = key.display(),
        c = cert.display()
    );
    let (files, r) = build(&own);
    assert!(!switch(&files, &r, "m", &next));
    let (c, k) = pair();
    assert_eq!(c, k);
    assert_ne!(c, old);
    let theirs = c;
    // Renews with the key in the key file, then fails: the switch went through.
    let renew = format!(
        "openssl req -x509 -new -days 2 -subj /CN=m -key {} -out {}",
        key.display(),
        cert.display()
    );
    let want = fresh_next();
    let (files, r) = build(&format!("{renew} && exit 3"));
    assert!(switch(&files, &r, "m", &next));
    assert_eq!(pair(), (want.clone(), want.clone()));
    // Killed: the renewer reports it, and nothing of ours is left behind on restore.
    let before = pair();
    let (files, r) = build("kill -9 $$");
    fresh_next();
    assert!(!switch(&files, &r, "m", &next));
    assert_eq!(pair(), before);
    assert_ne!(before.0, theirs);
    let mut names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("mail"))
        .collect();
    names.sort();
    // The copy of the key before the switch that went through (the engine removes it with
    // the planted copies, `leftovers`) was cleared by the next plant: nothing else is left.
    assert_eq!(names, ["mail.key", "mail.pem"]);
}

fn dr(cfg: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_danerollover"))
        .env("DANEROLLOVER_CONFIG", cfg)
        .env_remove("RENEWED_LINEAGE")
        .env_remove("DANEROLLOVER_SWITCHING")
        .args(args)
        .output()
        .unwrap()
}

fn out_text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `certs/NAME/` as dehydrated 0.7 writes it: timestamped files behind the four links.
fn dehydrated_tree(base: &Path, name: &str) -> Vec<u8> {
    let dir = base.join("certs").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let (pem, spki) = key_pem();
    let ts = "1767225600";
    std::fs::write(dir.join(format!("privkey-{ts}.pem")), pem).unwrap();
    sign(
        &dir.join(format!("privkey-{ts}.pem")),
        &dir.join(format!("cert-{ts}.pem")),
        name,
    );
    std::fs::copy(
        dir.join(format!("cert-{ts}.pem")),
        dir.join(format!("fullchain-{ts}.pem")),
    )
    .unwrap();
    std::fs::write(dir.join(format!("chain-{ts}.pem")), "").unwrap();
    for kind in ["privkey", "cert", "fullchain", "chain"] {
        std::os::unix::fs::symlink(format!("{kind}-{ts}.pem"), dir.join(format!("{kind}.pem")))
            .unwrap();
    }
    spki
}

#[test]
fn init_lineages_and_doctor_for_a_dehydrated_lineage() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("dehydrated");
    let name = "mail.example.test";
    dehydrated_tree(&base, name);
    let dconf = base.join("config");
    std::fs::write(&dconf, format!("BASEDIR={}\n", base.display())).unwrap();
    let cfg = tmp.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "state_dir = \"{}\"\n\n[providers.m]\ntype = \"manual\"\n",
            tmp.path().join("state").display()
        ),
    )
    .unwrap();
    let (d, c) = (base.display().to_string(), dconf.display().to_string());
    // Listed before it is configured.
    let out = dr(
        &cfg,
        &[
            "lineages",
            "--client",
            "dehydrated",
            "--client-dir",
            &d,
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", out_text(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["name"], name, "{rows}");
    assert_eq!(rows[0]["client"], "dehydrated", "{rows}");
    assert_eq!(rows[0]["key_matches_cert"], true, "{rows}");
    assert_eq!(
        rows[0]["reuse_key"], false,
        "dehydrated's default renews the key: {rows}"
    );
    // init: PRIVATE_KEY_RENEW="no" in the certificate's config, the section in ours.
    let args = [
        "init",
        name,
        "--client",
        "dehydrated",
        "--client-dir",
        &d,
        "--client-config",
        &c,
        "--provider",
        "m",
    ];
    let out = dr(&cfg, &args);
    assert!(out.status.success(), "{}", out_text(&out));
    assert_eq!(
        std::fs::read_to_string(base.join("certs").join(name).join("config")).unwrap(),
        "PRIVATE_KEY_RENEW=\"no\"\n"
    );
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(
        text.contains("client = \"dehydrated\"") && text.contains(&format!("client_dir = \"{d}\"")),
        "{text}"
    );
    let out = dr(&cfg, &["lineages", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{rows}"));
    assert_eq!(row["reuse_key"], true, "{row}");
    let problems = row["problems"].as_array().unwrap();
    assert!(
        problems.len() == 1 && problems[0].as_str().unwrap().contains("no reload commands"),
        "only the missing reload is left: {row}"
    );
    let out = dr(&cfg, &["doctor", "--json"]);
    let t = out_text(&out);
    assert!(
        t.contains("switch command") && t.contains("--alias mail.example.test"),
        "{t}"
    );
    // The hook for another dehydrated event does nothing; a name it does not manage is left.
    let out = dr(
        &cfg,
        &[
            "hook",
            "this_hookscript_is_broken__dehydrated_is_working_fine",
        ],
    );
    assert!(
        out.status.success() && out_text(&out).contains("nothing to do"),
        "{}",
        out_text(&out)
    );
    let out = dr(&cfg, &["hook", "--lineage", "other.example.test"]);
    assert!(
        out.status.success() && out_text(&out).contains("left alone"),
        "{}",
        out_text(&out)
    );
    // A hook from another client's environment for this lineage is refused.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_danerollover"))
        .env("DANEROLLOVER_CONFIG", &cfg)
        .env_remove("RENEWED_LINEAGE")
        .env("LEGO_CERT_DOMAIN", name)
        .arg("hook")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", out_text(&out));
}
