//! The shipped unit's sandbox, emulated for tests: a private mount namespace whose `/proc`
//! is mounted with the options the unit file asks for.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// The `/proc` mount options of the unit the package ships (`examples/danerollover.service`),
/// read from the unit file so that the unit and the tests cannot drift:
/// `ProtectProc=invisible|noaccess|ptraceable` is `hidepid=...`, `ProcSubset=pid` is
/// `subset=pid` (systemd.exec(5)).
pub fn unit_proc_options() -> String {
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/danerollover.service");
    let text = std::fs::read_to_string(&unit).expect("the shipped unit");
    let mut opts = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("ProtectProc=") {
            if v != "default" {
                opts.push(format!("hidepid={v}"));
            }
        } else if line.strip_prefix("ProcSubset=") == Some("pid") {
            opts.push("subset=pid".to_string());
        }
    }
    assert!(
        !opts.is_empty(),
        "{} sets neither ProtectProc nor ProcSubset: the sandbox test has nothing to emulate",
        unit.display()
    );
    opts.join(",")
}

/// `PROGRAM ARGS` in a private mount namespace whose `/proc` is mounted as the shipped unit
/// mounts it ([`unit_proc_options`]); under `faketime FAKE` when given (only the wall
/// clock moves: `DONT_FAKE_MONOTONIC=1`). The shell checks the emulation took: `/proc`
/// shows neither `uptime` nor `locks` (exit 98 otherwise; 97 when the mount fails).
pub fn sandboxed(fake: Option<&str>, program: &str, args: &[&str]) -> Command {
    let script = r#"
mount -t proc -o "$PROC_OPTS" proc /proc || exit 97
if [ -e /proc/uptime ] || [ -e /proc/locks ] || [ -e /proc/sys/kernel/random/boot_id ]; then exit 98; fi
exec "$@"
"#;
    let mut c = Command::new("unshare");
    c.args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        "sandbox",
    ]);
    if let Some(f) = fake {
        c.args(["faketime", "-f", f])
            .env("DONT_FAKE_MONOTONIC", "1");
    }
    c.arg(program)
        .args(args)
        .env("PROC_OPTS", unit_proc_options());
    c
}
