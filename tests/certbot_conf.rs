//! renewal.conf parsing and editing: the files exactly as certbot 2.x writes them, every
//! boolean spelling, and a differential check against ConfigObj itself (the Python library
//! certbot reads these files with) on thousands of generated files.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use danerollover::acme::certbot::{RenewalConf, ReuseKey, Value};
use danerollover::keys::{Curve, KeySpec};

/// What certbot 2.1.0 (Debian 12) wrote for `certbot certonly --webroot --webroot-map ...
/// -d mail.example.test -d mx.example.test --reuse-key --preferred-challenges http`
/// (captured from a real run of certbot's storage.write_renewal_config, ACME calls stubbed).
const WEBROOT_ECDSA: &str = "# renew_before_expiry = 30 days
version = 2.1.0
archive_dir = /etc/letsencrypt/archive/mail.example.test
cert = /etc/letsencrypt/live/mail.example.test/cert.pem
privkey = /etc/letsencrypt/live/mail.example.test/privkey.pem
chain = /etc/letsencrypt/live/mail.example.test/chain.pem
fullchain = /etc/letsencrypt/live/mail.example.test/fullchain.pem

# Options used in the renewal process
[renewalparams]
reuse_key = True
account = 0123456789abcdef0123456789abcdef
pref_challs = http-01,
authenticator = webroot
server = https://acme-v02.api.letsencrypt.org/directory
key_type = ecdsa
[[webroot_map]]
mail.example.test = /var/www/html
mx.example.test = /var/www/html
";

/// `certbot certonly --standalone --key-type rsa --rsa-key-size 3072 -d rsa.example.test`.
const STANDALONE_RSA: &str = "# renew_before_expiry = 30 days
version = 2.1.0
archive_dir = /etc/letsencrypt/archive/rsa.example.test
cert = /etc/letsencrypt/live/rsa.example.test/cert.pem
privkey = /etc/letsencrypt/live/rsa.example.test/privkey.pem
chain = /etc/letsencrypt/live/rsa.example.test/chain.pem
fullchain = /etc/letsencrypt/live/rsa.example.test/fullchain.pem

# Options used in the renewal process
[renewalparams]
account = 0123456789abcdef0123456789abcdef
rsa_key_size = 3072
key_type = rsa
authenticator = standalone
server = https://acme-v02.api.letsencrypt.org/directory
";

/// `--elliptic-curve secp384r1 --webroot -w /var/www/html --must-staple --deploy-hook ...`.
const WEBROOT_P384_HOOK: &str = "# renew_before_expiry = 30 days
version = 2.1.0
archive_dir = /etc/letsencrypt/archive/ec384.example.test
cert = /etc/letsencrypt/live/ec384.example.test/cert.pem
privkey = /etc/letsencrypt/live/ec384.example.test/privkey.pem
chain = /etc/letsencrypt/live/ec384.example.test/chain.pem
fullchain = /etc/letsencrypt/live/ec384.example.test/fullchain.pem

# Options used in the renewal process
[renewalparams]
account = 0123456789abcdef0123456789abcdef
elliptic_curve = secp384r1
must_staple = True
renew_hook = systemctl reload postfix
authenticator = webroot
webroot_path = /var/www/html,
server = https://acme-v02.api.letsencrypt.org/directory
key_type = ecdsa
[[webroot_map]]
ec384.example.test = /var/www/html
";

/// A conf from certbot before 1.25 (no key_type), as still found on old servers.
const OLD_CERTBOT: &str = "# renew_before_expiry = 30 days
version = 1.12.0
archive_dir = /etc/letsencrypt/archive/old.example.test
cert = /etc/letsencrypt/live/old.example.test/cert.pem
privkey = /etc/letsencrypt/live/old.example.test/privkey.pem
chain = /etc/letsencrypt/live/old.example.test/chain.pem
fullchain = /etc/letsencrypt/live/old.example.test/fullchain.pem

# Options used in the renewal process
[renewalparams]
account = 0123456789abcdef0123456789abcdef
authenticator = nginx
installer = nginx
server = https://acme-v02.api.letsencrypt.org/directory
";

#[test]
fn certbot_written_confs_read_as_certbot_reads_them() {
    let c = RenewalConf::parse(WEBROOT_ECDSA).unwrap();
    assert_eq!(c.version(), Some("2.1.0"));
    assert_eq!(
        c.archive_dir(),
        Some("/etc/letsencrypt/archive/mail.example.test")
    );
    assert_eq!(
        c.cert(),
        Some("/etc/letsencrypt/live/mail.example.test/cert.pem")
    );
    assert_eq!(
        c.privkey(),
        Some("/etc/letsencrypt/live/mail.example.test/privkey.pem")
    );
    assert_eq!(
        c.chain(),
        Some("/etc/letsencrypt/live/mail.example.test/chain.pem")
    );
    assert_eq!(
        c.fullchain(),
        Some("/etc/letsencrypt/live/mail.example.test/fullchain.pem")
    );
    assert_eq!(c.key_type(), Some("ecdsa"));
    assert_eq!(c.authenticator(), Some("webroot"));
    assert_eq!(c.account(), Some("0123456789abcdef0123456789abcdef"));
    assert_eq!(
        c.server(),
        Some("https://acme-v02.api.letsencrypt.org/directory")
    );
    assert_eq!(
        c.get(&["renewalparams"], "pref_challs"),
        Some(&Value::List(vec!["http-01".into()]))
    );
    assert_eq!(
        c.get(&["renewalparams", "webroot_map"], "mx.example.test")
            .and_then(Value::as_str),
        Some("/var/www/html")
    );
    assert_eq!(
        c.get(&[], "renew_before_expiry"),
        None,
        "the first line is a comment"
    );
    assert!(c.reuse_key().is_on());
    assert_eq!(c.key_spec().unwrap(), KeySpec::Ecdsa(Curve::P256));
    assert_eq!(c.enable_reuse_key().unwrap(), None);

    let c = RenewalConf::parse(STANDALONE_RSA).unwrap();
    assert_eq!(c.reuse_key(), ReuseKey::Absent);
    assert_eq!(c.rsa_key_size(), Some("3072"));
    assert_eq!(c.key_spec().unwrap(), KeySpec::Rsa(3072));

    let c = RenewalConf::parse(WEBROOT_P384_HOOK).unwrap();
    assert_eq!(c.renew_hook(), Some("systemctl reload postfix"));
    assert_eq!(c.elliptic_curve(), Some("secp384r1"));
    assert_eq!(c.key_spec().unwrap(), KeySpec::Ecdsa(Curve::P384));
    assert_eq!(
        c.get(&["renewalparams"], "must_staple")
            .and_then(Value::as_bool),
        Some(true)
    );

    // certbot's renewal reads an absent key_type as rsa (renewal.py, certbot >= 2.0).
    let c = RenewalConf::parse(OLD_CERTBOT).unwrap();
    assert_eq!(c.key_spec().unwrap(), KeySpec::Rsa(2048));
}

#[test]
fn reuse_key_in_every_spelling() {
    // (spelling, ConfigObj as_bool, certbot renewal accepts it as true)
    let cases: &[(&str, Option<bool>, bool)] = &[
        ("True", Some(true), true),
        ("true", Some(true), true),
        ("TRUE", Some(true), true),
        ("\"True\"", Some(true), true),
        ("'true'", Some(true), true),
        ("True# keep the key", Some(true), true), // how certbot rewrites an inline comment
        ("yes", Some(true), false),
        ("Yes", Some(true), false),
        ("on", Some(true), false),
        ("ON", Some(true), false),
        ("1", Some(true), false),
        ("False", Some(false), false),
        ("false", Some(false), false),
        ("no", Some(false), false),
        ("Off", Some(false), false),
        ("0", Some(false), false),
        ("maybe", None, false),
        ("", None, false),
        ("True,", None, false),
    ];
    for &(spelling, as_bool, on) in cases {
        let text = WEBROOT_ECDSA.replace("reuse_key = True", &format!("reuse_key = {spelling}"));
        let c = RenewalConf::parse(&text).unwrap_or_else(|e| panic!("{spelling}: {e}"));
        match c.reuse_key() {
            ReuseKey::Set { as_bool: got, .. } => assert_eq!(got, as_bool, "{spelling}"),
            ReuseKey::Absent => panic!("{spelling}: absent"),
        }
        assert_eq!(c.reuse_key().is_on(), on, "{spelling}");
        let edit = c.enable_reuse_key().unwrap();
        if on {
            assert_eq!(edit, None, "{spelling}: nothing to change");
            continue;
        }
        let edit = edit.unwrap();
        assert_eq!(
            edit.text, WEBROOT_ECDSA,
            "{spelling}: only the value changes, to True"
        );
        assert_eq!(edit.old_line, Some(format!("reuse_key = {spelling}")));
        assert_eq!(edit.new_line, "reuse_key = True");
    }
    // Absent: added as the last line of [renewalparams], before [[webroot_map]].
    let text = WEBROOT_ECDSA.replace("reuse_key = True\n", "");
    let edit = RenewalConf::parse(&text)
        .unwrap()
        .enable_reuse_key()
        .unwrap()
        .unwrap();
    assert_eq!(edit.old_line, None);
    assert_eq!(
        edit.text,
        WEBROOT_ECDSA
            .replace("reuse_key = True\n", "")
            .replace("key_type = ecdsa\n", "key_type = ecdsa\nreuse_key = True\n")
    );
    let edit = RenewalConf::parse(STANDALONE_RSA)
        .unwrap()
        .enable_reuse_key()
        .unwrap()
        .unwrap();
    assert_eq!(edit.text, format!("{STANDALONE_RSA}reuse_key = True\n"));
}

#[test]
fn edits_keep_every_other_byte() {
    // Comments everywhere, odd spacing, CRLF, a value with quotes, a triple-quoted hook.
    let text = "# renew_before_expiry = 30 days\r\nversion = 2.1.0\r\n  archive_dir   =   /etc/le/archive/x   # moved\r\n\r\n# Options used in the renewal process\r\n[renewalparams]  # params\r\nreuse_key = off  # was off\r\nrenew_hook = '''systemctl reload postfix; echo \"a, b\" # x'''\r\npref_challs = http-01, dns-01\r\n\t# a tabbed comment\r\n[[webroot_map]]\r\nx = /var/www\r\n";
    let c = RenewalConf::parse(text).unwrap();
    assert_eq!(
        c.renew_hook(),
        Some("systemctl reload postfix; echo \"a, b\" # x")
    );
    assert_eq!(c.archive_dir(), Some("/etc/le/archive/x"));
    let edit = c.enable_reuse_key().unwrap().unwrap();
    assert_eq!(
        edit.text,
        text.replace("reuse_key = off  # was off", "reuse_key = True  # was off")
    );
    assert_eq!(
        edit.to_string(),
        "- reuse_key = off  # was off\n+ reuse_key = True  # was off"
    );
}

/// Nested sections as JSON: {"scalars": {key: value}, "sections": {name: ...}}.
fn tree_of(c: &RenewalConf) -> serde_json::Value {
    fn node(c: &RenewalConf, path: &[&str]) -> serde_json::Value {
        let mut scalars = serde_json::Map::new();
        for k in c.keys(path) {
            let v = match c.get(path, k).unwrap() {
                Value::Single(s) => serde_json::Value::String(s.clone()),
                Value::List(l) => serde_json::Value::Array(
                    l.iter()
                        .map(|s| serde_json::Value::String(s.clone()))
                        .collect(),
                ),
            };
            scalars.insert(k.to_string(), v);
        }
        let mut sections = serde_json::Map::new();
        for s in c.sections() {
            if s.len() == path.len() + 1 && s[..path.len()] == *path {
                sections.insert(s[path.len()].to_string(), node(c, &s));
            }
        }
        serde_json::json!({"scalars": scalars, "sections": sections})
    }
    node(c, &[])
}

const CONFIGOBJ_DUMP: &str = r#"
import json, sys, configobj
def tree(sec):
    return {"scalars": {k: dict.__getitem__(sec, k) for k in sec.scalars},
            "sections": {k: tree(dict.__getitem__(sec, k)) for k in sec.sections}}
out = []
for path in json.load(sys.stdin):
    try:
        c = configobj.ConfigObj(path, encoding='utf-8', default_encoding='utf-8')
        out.append({"ok": tree(c)})
    except configobj.ConfigObjError as e:
        out.append({"error": str(e)})
json.dump(out, sys.stdout)
"#;

/// A small deterministic generator of ConfigObj-ish files, tricky parts included.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn file(&mut self) -> String {
        let keys = [
            "reuse_key",
            "key_type",
            "a",
            "b b",
            "webroot_path",
            "\"q k\"",
            "'s'",
            "x=y",
            "pref_challs",
        ];
        let values = [
            "True",
            "yes",
            "",
            "http-01,",
            ",",
            "a, b",
            "a,b,",
            "'quoted, with comma'",
            "\"dq # hash\"",
            "plain # comment",
            "a # b, c",
            "'''triple'''",
            "'''one\ntwo'''",
            "\"\"\"x\n\"\"\" # c",
            "'bad",
            "\"x\" y",
            "a, 'b",
            "  spaced  ",
            "True# keep",
            ", # c",
            "/var/www/html",
            "'a' , \"b\",",
            "'''a''' b",
            "v = w",
            "[not a section]",
            "a ,",
            "'it''s'",
            "\"\"",
            "'', ''",
        ];
        let mut out = String::new();
        let lines = 1 + self.next() % 9;
        for _ in 0..lines {
            let line = match self.next() % 10 {
                0 => self
                    .pick(&["# comment", "", "   ", "\t# indented comment"])
                    .to_string(),
                1 => format!(
                    "{}[{}]{}",
                    self.pick(&["", "  "]),
                    self.pick(&["renewalparams", "s", "\"q s\"", " sp ", "a]b"]),
                    self.pick(&["", " # c", "]", " x"])
                ),
                2 => format!("[[{}]]", self.pick(&["webroot_map", "sub", "s"])),
                3 => self
                    .pick(&[
                        "[[[deep]]]",
                        "[a]]",
                        "[[b]",
                        "[]",
                        "novalue",
                        "= v",
                        "[ s ]",
                    ])
                    .to_string(),
                _ => format!(
                    "{}{}{}={}{}",
                    self.pick(&["", " ", "    "]),
                    self.pick(&keys),
                    self.pick(&[" ", "", "  "]),
                    self.pick(&[" ", "", "   "]),
                    self.pick(&values)
                ),
            };
            out.push_str(&line);
            out.push_str(if self.next().is_multiple_of(7) {
                "\r\n"
            } else {
                "\n"
            });
        }
        out
    }
}

#[test]
fn reads_like_configobj_itself() {
    let python = "/usr/bin/python3";
    let has_configobj = Command::new(python)
        .args(["-c", "import configobj"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_configobj {
        // Debian's certbot depends on python3-configobj; tests/lab/install installs certbot.
        let ci = std::env::var("CI")
            .map(|v| v == "true" || v == "1")
            .unwrap_or(false);
        assert!(!ci, "python3-configobj is required under CI");
        eprintln!("reads_like_configobj_itself: skipped: no python3-configobj");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut generator = Gen(0x9e37_79b9_7f4a_7c15);
    let mut texts: Vec<String> = vec![
        WEBROOT_ECDSA.into(),
        STANDALONE_RSA.into(),
        WEBROOT_P384_HOOK.into(),
        OLD_CERTBOT.into(),
    ];
    texts.extend((0..3000).map(|_| generator.file()));
    let paths: Vec<String> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let p = dir.path().join(format!("{i}.conf"));
            std::fs::write(&p, t).unwrap();
            p.display().to_string()
        })
        .collect();
    let mut child = Command::new(python)
        .args(["-c", CONFIGOBJ_DUMP])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    serde_json::to_writer(child.stdin.take().unwrap(), &paths).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let results: Vec<BTreeMap<String, serde_json::Value>> =
        serde_json::from_slice(&out.stdout).unwrap();
    let (mut ok, mut errors) = (0, 0);
    for (text, result) in texts.iter().zip(&results) {
        let ours = RenewalConf::parse(text);
        match (result.get("ok"), ours) {
            (Some(tree), Ok(c)) => {
                assert_eq!(&tree_of(&c), tree, "different reading of {text:?}");
                ok += 1;
            }
            (None, Err(_)) => errors += 1,
            (Some(tree), Err(e)) => panic!("ConfigObj reads {text:?} as {tree}, we fail: {e}"),
            (None, Ok(c)) => panic!(
                "ConfigObj refuses {text:?} ({:?}), we read {}",
                result.get("error"),
                tree_of(&c)
            ),
        }
    }
    // The generator must exercise both sides.
    assert!(ok > 500 && errors > 500, "ok {ok}, errors {errors}");
}
