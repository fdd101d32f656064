//! `danerollover init NAME`: reuse_key = True in renewal/NAME.conf, nothing else changed,
//! a backup beside it that certbot does not read, idempotent, --dry-run writes nothing.

mod tlsa_support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tlsa_support::*;

fn init(le: &Path, args: &[&str]) -> (String, String, i32) {
    let out = bin()
        .args(["--letsencrypt-dir", &le.display().to_string(), "init"])
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

fn setup(conf: &str, mode: u32) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let renewal = tmp.path().join("renewal");
    std::fs::create_dir_all(&renewal).unwrap();
    let path = renewal.join("mail.example.test.conf");
    std::fs::write(&path, conf).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    (tmp, path)
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn replaces_any_spelling_keeps_everything_else_and_backs_up() {
    let le = PathBuf::from("/etc/letsencrypt");
    let original = certbot_conf(
        &le,
        "mail.example.test",
        "reuse_key = no  # for now\n",
        Some("ecdsa"),
    )
    .replace("\n", "\r\n");
    let (tmp, path) = setup(&original, 0o640);
    let (out, err, code) = init(tmp.path(), &["mail.example.test"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("- reuse_key = no  # for now\n+ reuse_key = True  # for now\n"),
        "{out}"
    );
    let now = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        now,
        original.replace("reuse_key = no  # for now", "reuse_key = True  # for now")
    );
    assert_eq!(mode(&path), 0o640);
    // The backup: the old bytes, beside the conf, not named *.conf.
    let backup = tmp
        .path()
        .join("renewal/mail.example.test.conf.danerollover-bak");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), original);
    assert!(out.contains(&backup.display().to_string()));
    let confs: Vec<_> = std::fs::read_dir(tmp.path().join("renewal"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter(|n| n.ends_with(".conf"))
        .collect();
    assert_eq!(
        confs,
        ["mail.example.test.conf"],
        "certbot reads every *.conf"
    );

    // Again: nothing changes, no new backup.
    std::fs::remove_file(&backup).unwrap();
    let (out, _, code) = init(tmp.path(), &["mail.example.test"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("already True") && out.contains("nothing to change"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), now);
    assert!(!backup.exists());
}

#[test]
fn adds_the_line_when_absent_and_dry_run_writes_nothing() {
    let le = PathBuf::from("/etc/letsencrypt");
    let original = certbot_conf(&le, "mail.example.test", "", Some("rsa"));
    let (tmp, path) = setup(&original, 0o644);
    let (out, _, code) = init(tmp.path(), &["mail.example.test", "--dry-run"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("+ reuse_key = True") && !out.contains("- ") && out.contains("dry run"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    assert_eq!(
        std::fs::read_dir(tmp.path().join("renewal"))
            .unwrap()
            .count(),
        1,
        "no backup in a dry run"
    );

    let (_, _, code) = init(tmp.path(), &["mail.example.test"]);
    assert_eq!(code, 0);
    let want = original.replace(
        "key_type = rsa\n[[webroot_map]]",
        "key_type = rsa\nreuse_key = True\n[[webroot_map]]",
    );
    assert_ne!(want, original);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), want);
    let conf = danerollover::acme::certbot::RenewalConf::parse(&want).unwrap();
    assert!(conf.reuse_key().is_on());
    assert_eq!(
        conf.get(&["renewalparams", "webroot_map"], "reuse_key"),
        None
    );
}

#[test]
fn unknown_lineage_and_unparsable_conf_exit_2_untouched() {
    let (tmp, path) = setup("version = 2.1.0\n[renewalparams\nreuse_key = no\n", 0o644);
    let before = std::fs::read(&path).unwrap();
    let (_, err, code) = init(tmp.path(), &["mail.example.test"]);
    assert_eq!(code, 2);
    assert!(
        err.contains(&path.display().to_string()) && err.contains("line 2"),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(
        std::fs::read_dir(tmp.path().join("renewal"))
            .unwrap()
            .count(),
        1
    );

    let (_, err, code) = init(tmp.path(), &["other.example.test"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("other.example.test") && err.contains("danerollover lineages"),
        "{err}"
    );
    let (_, _, code) = init(tmp.path(), &["../renewal/mail.example.test"]);
    assert_eq!(code, 2);

    // A conf without [renewalparams] cannot be renewed by certbot: refused, untouched.
    std::fs::write(&path, "version = 2.1.0\n").unwrap();
    let (_, err, code) = init(tmp.path(), &["mail.example.test"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "version = 2.1.0\n");
}

/// Run `danerollover ARGS` with stdout a pipe nobody reads (`| head` that has exited):
/// the exit code and stderr.
fn with_closed_stdout(cmd: &mut std::process::Command) -> (i32, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = cmd
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_is_no_panic_and_never_half_an_edit() {
    let le = PathBuf::from("/etc/letsencrypt");
    let original = certbot_conf(&le, "mail.example.test", "", Some("ecdsa"));
    let (tmp, path) = setup(&original, 0o640);
    let cfg = tmp.path().join("config.toml");
    std::fs::write(&cfg, "[providers.me]\ntype = \"manual\"\n").unwrap();
    let (code, err) = with_closed_stdout(
        std::process::Command::new(env!("CARGO_BIN_EXE_danerollover"))
            .env("DANEROLLOVER_CONFIG", &cfg)
            .args([
                "--letsencrypt-dir",
                &tmp.path().display().to_string(),
                "init",
            ])
            .args(["mail.example.test", "--provider", "me"])
            .args(["--owner", "_25._tcp.mail.example.test"]),
    );
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // Both edits were made, not the first alone.
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("reuse_key = True")
    );
    assert!(
        std::fs::read_to_string(&cfg)
            .unwrap()
            .contains("[lineages.\"mail.example.test\"]")
    );
    // A command's own exit code stands (the hook of an unmanaged lineage: 0, not a
    // panic's 101).
    let (code, err) = with_closed_stdout(
        std::process::Command::new(env!("CARGO_BIN_EXE_danerollover"))
            .env("DANEROLLOVER_CONFIG", &cfg)
            .env(
                "RENEWED_LINEAGE",
                tmp.path().join("live/other.example.test"),
            )
            .env_remove("DANEROLLOVER_SWITCHING")
            .arg("hook"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
