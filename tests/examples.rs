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

/// The Debian package, end to end on this machine (root only; CI runs as root): built with
/// `packaging/build-deb --profile dev --fast` (fast compression) from the binary `cargo test` already built, installed
/// with `dpkg -i`, checked (files, modes, man pages, completions, the hardened units through
/// `systemd-analyze verify` and `systemd-analyze security --offline=true`, the monitoring
/// group), and purged, after which nothing of it is left.
#[test]
fn debian_package_installs_checks_and_purges() {
    use std::process::Command;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if effective_uid() != 0 {
        assert!(!ci, "the package test needs root under CI");
        eprintln!("skipped: the package test installs into the system and needs root");
        return;
    }
    let sh = |script: &str| -> (bool, String) {
        let out = Command::new("bash")
            .args(["-c", script])
            .current_dir(root)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    let (installed, _) =
        sh("dpkg-query -W -f='${db:Status-Status}' danerollover | grep -qx installed");
    assert!(
        !installed,
        "a danerollover package is installed already: purge it first (dpkg --purge danerollover)"
    );

    let t = std::time::Instant::now();
    let (ok, out) = sh("packaging/build-deb --profile dev --fast 2>&1");
    assert!(ok, "packaging/build-deb failed:\n{out}");
    eprintln!("package built in {:.1} s", t.elapsed().as_secs_f64());
    let deb = out
        .lines()
        .rev()
        .find(|l| l.ends_with(".deb"))
        .unwrap_or_else(|| panic!("no .deb path in:\n{out}"))
        .trim()
        .to_string();

    // Purge whatever happens below.
    struct Purge;
    impl Drop for Purge {
        fn drop(&mut self) {
            let _ = std::process::Command::new("dpkg")
                .args(["--purge", "danerollover"])
                .output();
        }
    }
    let purge = Purge;
    let (ok, out) = sh(&format!("dpkg -i {deb} 2>&1"));
    assert!(ok, "dpkg -i failed:\n{out}");

    // Files and modes.
    let mode = |p: &str| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{p}: {e}"))
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("/usr/bin/danerollover"), 0o755);
    assert_eq!(mode("/etc/danerollover/config.toml"), 0o600);
    assert_eq!(mode("/var/lib/danerollover"), 0o700);
    assert_eq!(mode("/etc/danerollover"), 0o700);
    assert_eq!(
        mode("/etc/letsencrypt/renewal-hooks/deploy/danerollover"),
        0o755
    );
    for f in [
        "/lib/systemd/system/danerollover.service",
        "/lib/systemd/system/danerollover.timer",
        "/usr/share/bash-completion/completions/danerollover",
        "/usr/share/zsh/vendor-completions/_danerollover",
        "/usr/share/fish/vendor_completions.d/danerollover.fish",
    ] {
        assert!(Path::new(f).is_file(), "{f} not installed");
    }
    let (ok, conffiles) = sh("cat /var/lib/dpkg/info/danerollover.conffiles");
    assert!(
        ok && conffiles.contains("/etc/danerollover/config.toml"),
        "{conffiles}"
    );
    // One man page per command, generated from the command line.
    let help = Command::new("/usr/bin/danerollover")
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout).to_string();
    let commands: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(
        commands.contains(&"rollover") && commands.contains(&"doctor"),
        "{help}"
    );
    for c in &commands {
        let page = format!("/usr/share/man/man1/danerollover-{c}.1.gz");
        assert!(Path::new(&page).is_file(), "{page} missing");
    }
    let (ok, page) = sh("MANPAGER=cat MANWIDTH=100 man danerollover-rollover 2>&1");
    assert!(
        ok && page.contains("max-wait"),
        "man danerollover-rollover:\n{page}"
    );
    let (ok, page) = sh("MANPAGER=cat man danerollover 2>&1");
    assert!(
        ok && page.contains("danerollover-rollover(1)"),
        "man danerollover:\n{page}"
    );
    // Bash completes the commands.
    let (ok, words) = sh(
        "source /usr/share/bash-completion/completions/danerollover; \
         COMP_WORDS=(danerollover roll); COMP_CWORD=1; COMP_LINE='danerollover roll'; COMP_POINT=17; \
         _danerollover danerollover roll danerollover; echo \"${COMPREPLY[*]}\"",
    );
    assert!(
        ok && words.trim() == "rollover",
        "bash completion: {words:?}"
    );
    let zsh = std::fs::read_to_string("/usr/share/zsh/vendor-completions/_danerollover").unwrap();
    let fish =
        std::fs::read_to_string("/usr/share/fish/vendor_completions.d/danerollover.fish").unwrap();
    assert!(zsh.starts_with("#compdef danerollover") && zsh.contains("doctor"));
    assert!(fish.contains("complete -c danerollover") && fish.contains("doctor"));

    // The units: verify clean, exposure at most 5.0, the timer enabled.
    let (ok, out) = sh(
        "systemd-analyze verify /lib/systemd/system/danerollover.service /lib/systemd/system/danerollover.timer 2>&1",
    );
    assert!(
        ok && out.trim().is_empty(),
        "systemd-analyze verify:\n{out}"
    );
    let (_, out) =
        sh("systemd-analyze security --offline=true /lib/systemd/system/danerollover.service 2>&1");
    let exposure: f64 = out
        .lines()
        .find_map(|l| l.split("danerollover.service: ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{out}"));
    eprintln!("systemd-analyze security: exposure {exposure}");
    assert!(exposure <= 5.0, "exposure {exposure} > 5.0:\n{out}");
    assert!(
        Path::new("/etc/systemd/system/timers.target.wants/danerollover.timer").exists(),
        "the timer is not enabled"
    );

    // doctor finds what the package installed: the deploy hook and the enabled timer.
    let (_, out) = sh("danerollover doctor --json");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    for want in ["deploy hook", "timer", "config"] {
        let it = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["item"] == want)
            .unwrap_or_else(|| panic!("no {want} in {v:#}"));
        assert_eq!(it["level"], "ok", "{v:#}");
    }

    // Monitoring: the group exists; by default nobody else reads anything; after the
    // opt-in of docs/operations.md, a member of the group (not root) runs `status` and `config`
    // without access to the secrets.
    let (ok, _) = sh("getent group danerollover");
    assert!(ok, "no danerollover group");
    let (ok, _) = sh(
        "install -m 0600 /dev/null /etc/danerollover/pdns.key && echo secret > /etc/danerollover/pdns.key && \
        cat >> /etc/danerollover/config.toml <<'E'\n[providers.home]\ntype = \"powerdns\"\nurl = \"http://127.0.0.1:1\"\napi_key_file = \"/etc/danerollover/pdns.key\"\nE",
    );
    assert!(ok);
    let as_monitor = "setpriv --reuid=65534 --regid=$(getent group danerollover | cut -d: -f3) --clear-groups --";
    let (ok, out) = sh(&format!("{as_monitor} danerollover status 2>&1"));
    assert!(
        !ok && out.contains("/etc/danerollover/config.toml"),
        "{out}"
    );
    let (ok, out) = sh(
        "chgrp danerollover /etc/danerollover /etc/danerollover/config.toml /var/lib/danerollover && \
         chmod 0750 /etc/danerollover && chmod 0640 /etc/danerollover/config.toml && \
         chmod 2750 /var/lib/danerollover",
    );
    assert!(ok, "{out}");
    let (ok, out) = sh(&format!("{as_monitor} danerollover status 2>&1"));
    assert!(ok, "status as a member of the danerollover group:\n{out}");
    let (_, out) = sh(&format!("{as_monitor} cat /etc/danerollover/pdns.key 2>&1"));
    assert!(
        !out.contains("secret"),
        "the monitoring user read the secret"
    );

    // Purge: nothing left.
    drop(purge);
    for p in [
        "/usr/bin/danerollover",
        "/etc/danerollover",
        "/var/lib/danerollover",
        "/etc/letsencrypt/renewal-hooks/deploy/danerollover",
        "/lib/systemd/system/danerollover.service",
        "/etc/systemd/system/timers.target.wants/danerollover.timer",
        "/usr/share/man/man1/danerollover.1.gz",
    ] {
        assert!(
            !Path::new(p).exists() && std::fs::symlink_metadata(p).is_err(),
            "{p} left after purge"
        );
    }
    let (ok, _) = sh("getent group danerollover");
    assert!(!ok, "the danerollover group is left after purge");
}

fn effective_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    // The owner of a file this process just created is its effective uid.
    let dir = std::env::temp_dir().join(format!("danerollover-euid-{}", std::process::id()));
    std::fs::write(&dir, b"").unwrap();
    let uid = std::fs::metadata(&dir).unwrap().uid();
    let _ = std::fs::remove_file(&dir);
    uid
}

#[test]
fn packaged_config_parses_and_manages_nothing_yet() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/config.toml");
    let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.lineages.is_empty() && config.providers.is_empty());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("danerollover init"),
        "the file says how to start"
    );
}

/// promtool, or None (with a note) when it is missing outside CI; under CI
/// (`CI=true`, where tests/lab/install puts it there through Debian's prometheus package)
/// a missing promtool is a failure.
fn promtool(test: &str) -> Option<std::process::Command> {
    let found = std::process::Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(std::process::Command::new("promtool"));
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "{test}: promtool is missing; tests/lab/install installs it (Debian package prometheus)"
    );
    eprintln!("{test}: skipped: no promtool (tests/lab/install installs it)");
    None
}

/// The example alerting rules load (`promtool check rules`), their unit tests pass
/// (`promtool test rules`: the alerts fire on the series `check` and `check --mx` write,
/// with the labels and texts expected), and every metric they name is one the program
/// writes.
#[test]
fn prometheus_alert_rules_check_and_their_tests_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/prometheus");
    let rules = dir.join("danerollover-alerts.yml");
    let text = std::fs::read_to_string(&rules).unwrap();
    // The reports of `check` and `check --mx` (src/probe/report/, src/probe/mx_report/).
    let sources: String = ["src/probe/report", "src/probe/mx_report"]
        .iter()
        .flat_map(|d| std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(d)).unwrap())
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let mut names: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("danerollover_"))
        .collect();
    names.sort();
    names.dedup();
    assert!(names.len() >= 10, "{names:?}");
    for n in &names {
        assert!(
            sources.contains(&format!("\"{n}\"")),
            "examples/prometheus/danerollover-alerts.yml names {n}, which no check writes"
        );
    }

    let Some(mut check) = promtool("prometheus_alert_rules_check_and_their_tests_pass") else {
        return;
    };
    let out = check.args(["check", "rules"]).arg(&rules).output().unwrap();
    assert!(
        out.status.success(),
        "promtool check rules: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new("promtool")
        .current_dir(&dir)
        .args(["test", "rules", "danerollover-alerts.test.yml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool test rules: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ------------------------------------------------------------------ docs' examples --
//
// Every `danerollover ...` command in the README's and docs/*.md's ```sh and ```console
// examples is parsed with the real command line (`danerollover::cli::Cli`, the clap types
// the binary uses), so a command, subcommand or flag that does not exist, a flag given a
// value it does not take, or a missing required argument fails this test, naming the file
// and line.
//
// What it cannot check: whether a placeholder (NAME, DIR, `<hex>`) or an example value
// means anything (clap accepts any string where a value goes; values with their own parser,
// such as durations, are checked), whether the output shown under a `$` line is what the
// command prints today, commands inside quotes given to another program (`certbot
// --deploy-hook "danerollover hook"`), the synopses in plain ``` blocks (`[--dry-run]`,
// `add|remove`: not shell), and prose.

/// Shell words of one command line: quotes and backslashes as sh reads them, `$(...)`
/// and `$VAR` kept as text. Stops at a comment (`#` starting a word). Control operators
/// (`&&`, `||`, `;`, `|`) and redirections come back as their own words.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => cur.extend(chars.next()),
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.extend(chars.next());
            }
            '#' if !in_word => break,
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            ';' | '&' | '|' | '>' | '<' => {
                if in_word {
                    // `2>`: the descriptor belongs to the redirection.
                    let fd = matches!(c, '>' | '<') && cur.chars().all(|d| d.is_ascii_digit());
                    let word = std::mem::take(&mut cur);
                    if !fd {
                        words.push(word);
                    }
                    in_word = false;
                }
                let mut op = c.to_string();
                while let Some(&n) = chars.peek() {
                    if matches!(n, ';' | '&' | '|' | '>' | '<') {
                        op.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                words.push(op);
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// The danerollover invocations of one shell line: split at control operators, without
/// environment assignments before the command and without redirections (and their targets).
fn danerollover_commands(line: &str) -> Vec<Vec<String>> {
    let is_op = |w: &str| matches!(w, "&&" | "||" | ";" | "|" | "&");
    let is_redirect = |w: &str| w.starts_with(['>', '<']);
    let mut out = Vec::new();
    let words = shell_words(line);
    for cmd in words.split(|w| is_op(w)) {
        let mut argv = Vec::new();
        let mut skip_target = false;
        for w in cmd {
            if std::mem::take(&mut skip_target) {
                continue; // the file (or descriptor) of a redirection
            }
            if is_redirect(w) {
                skip_target = true;
                continue;
            }
            if argv.is_empty() && w.contains('=') && !w.starts_with('-') {
                continue; // VAR=value before the command
            }
            argv.push(w.clone());
        }
        let program = argv.first().map(String::as_str).unwrap_or("");
        if program == "danerollover" || program.ends_with("/danerollover") {
            out.push(argv);
        }
    }
    out
}

/// Why `argv` does not parse with the real command line, or None when it does (`--help`
/// and `--version` count as parsing).
fn cli_rejects(argv: &[String]) -> Option<String> {
    use clap::Parser;
    use clap::error::ErrorKind;
    match danerollover::cli::Cli::try_parse_from(argv) {
        Ok(_) => None,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => None,
        Err(e) => Some(e.to_string().lines().next().unwrap_or_default().to_string()),
    }
}

/// Every `danerollover` command of the shell examples in `text`, with its line number:
/// in ```sh / ```bash / ```shell blocks every line (`\` continues a line), in ```console
/// blocks the lines after a `$ ` or `# ` prompt.
fn doc_commands(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut block: Option<&str> = None;
    let mut pending = String::new();
    let mut pending_line = 0;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            block = match block {
                Some(_) => None,
                None => Some(info.trim()),
            };
            continue;
        }
        let command = match block {
            Some("sh" | "bash" | "shell") => Some(line),
            Some("console") => line.strip_prefix("$ ").or_else(|| line.strip_prefix("# ")),
            _ => None,
        };
        let Some(command) = command.or(if pending.is_empty() { None } else { Some(line) }) else {
            continue;
        };
        if pending.is_empty() {
            pending_line = i + 1;
        }
        match command.strip_suffix('\\') {
            Some(head) => {
                pending.push_str(head);
                pending.push(' ');
            }
            None => {
                pending.push_str(command);
                for argv in danerollover_commands(&pending) {
                    out.push((pending_line, argv));
                }
                pending.clear();
            }
        }
    }
    out
}

/// The problems of a document: `file:line: command: what clap says`.
fn doc_problems(name: &str, text: &str) -> Vec<String> {
    doc_commands(text)
        .into_iter()
        .filter_map(|(line, argv)| {
            cli_rejects(&argv).map(|why| format!("{name}:{line}: {}: {why}", argv.join(" ")))
        })
        .collect()
}

#[test]
fn shell_words_and_commands_of_a_line() {
    assert_eq!(
        shell_words(r#"a 'b c' "d \"e\"" f\ g # comment"#),
        ["a", "b c", "d \"e\"", "f g"]
    );
    assert_eq!(
        danerollover_commands(
            "RENEWED_LINEAGE=/x danerollover hook && danerollover status --json | jq . >/dev/null 2>&1"
        ),
        vec![
            vec!["danerollover", "hook"],
            vec!["danerollover", "status", "--json"]
        ]
    );
    assert_eq!(
        danerollover_commands("danerollover generate complete-zsh > /tmp/_danerollover; echo $?"),
        vec![vec!["danerollover", "generate", "complete-zsh"]]
    );
    assert!(danerollover_commands(r#"certbot renew --deploy-hook "danerollover hook""#).is_empty());
}

/// The checker finds what is wrong: a flag, a command or a value that does not exist, in
/// both kinds of block and across a continued line; and passes what is right.
#[test]
fn the_docs_checker_fails_on_a_bad_line() {
    let doc = "\
text `danerollover rollover --no-such-flag` in prose is not checked
```sh
danerollover rollover --wait mail.example.com     # fine
danerollover rollover --no-such-flag mail.example.com
danerollover frobnicate
danerollover check --mx example.com \\
    --warn-days many
```

```console
$ danerollover status --jsonn
output line: danerollover --bogus is not a command
```

```toml
command = \"danerollover --bogus\"
```
";
    let problems = doc_problems("bad.md", doc);
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(
        problems[0].starts_with("bad.md:4: danerollover rollover --no-such-flag"),
        "{problems:#?}"
    );
    assert!(problems[0].contains("--no-such-flag"), "{problems:#?}");
    assert!(
        problems[1].starts_with("bad.md:5: danerollover frobnicate"),
        "{problems:#?}"
    );
    assert!(problems[2].starts_with("bad.md:6: "), "{problems:#?}");
    assert!(problems[2].contains("many"), "{problems:#?}");
    assert!(
        problems[3].starts_with("bad.md:11: danerollover status --jsonn"),
        "{problems:#?}"
    );
}

#[test]
fn every_documented_danerollover_command_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut problems = Vec::new();
    let mut checked = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.strip_prefix(root).unwrap().display().to_string();
        checked += doc_commands(&text).len();
        problems.extend(doc_problems(&name, &text));
    }
    // The README's quick start alone has nine; fewer means the reader stopped finding them.
    assert!(
        checked >= 30,
        "only {checked} danerollover commands found in {files:?}"
    );
    assert!(
        problems.is_empty(),
        "documented commands the command line rejects:\n{}",
        problems.join("\n")
    );
}

/// packaging/generated/ (the man pages and completions a plain `cargo deb` packs) is what
/// the binary generates now: a change to the command line that left it behind fails here,
/// saying what to run.
#[test]
fn packaged_man_pages_and_completions_are_current() {
    use std::process::Command;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let generated = root.join("packaging/generated");
    let bin = env!("CARGO_BIN_EXE_danerollover");
    let fix = "packaging/generated/ is out of date with the command line: run `packaging/build-deb --assets` and commit it";
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin)
        .args(["generate", "man"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap_or_else(|e| panic!("{}: {e}; {fix}", d.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let want = names(dir.path());
    assert_eq!(names(&generated.join("man")), want, "{fix}");
    for name in &want {
        let now = std::fs::read(dir.path().join(name)).unwrap();
        let kept = std::fs::read(generated.join("man").join(name)).unwrap();
        assert!(now == kept, "man/{name} differs; {fix}");
    }
    for (shell, file) in [
        ("complete-bash", "danerollover.bash"),
        ("complete-zsh", "_danerollover"),
        ("complete-fish", "danerollover.fish"),
    ] {
        let out = Command::new(bin)
            .args(["generate", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        let kept = std::fs::read(generated.join("completions").join(file))
            .unwrap_or_else(|e| panic!("completions/{file}: {e}; {fix}"));
        assert!(out.stdout == kept, "completions/{file} differs; {fix}");
    }
}
