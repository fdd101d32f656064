//! The files in examples/ and hooks/ stay usable: the example configuration parses with the
//! documented defaults, and the deploy hook is an executable script that runs `hook`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use danerollover::config::Config;

#[test]
fn example_config_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/config.toml");
    let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let lineage = &config.lineages["mail.example.com"];
    assert_eq!(lineage.provider, "home");
    assert_eq!(lineage.tlsa, vec!["_25._tcp.mail.example.com"]);
    assert_eq!(config.dns.ttl_factor, 2);
    assert_eq!(config.dns.margin.as_secs(), 60);
}

#[test]
fn deploy_hook_is_executable_and_runs_hook() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks/danerollover-deploy");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert!(
        mode & 0o111 != 0,
        "hooks/danerollover-deploy is not executable"
    );
    // With DANEROLLOVER pointing at `echo`, the hook prints the arguments it would run.
    let out = std::process::Command::new(&path)
        .env("DANEROLLOVER", "echo")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "hook");
}
