#![no_main]
// Structure-aware: a renewal conf built from sections, keys certbot uses and values in
// every ConfigObj spelling (bare, quoted, triple-quoted, lists, comments, CRLF), rendered
// to text and fed to danerollover::fuzzing::renewal_conf. Reaches the editing code far
// more often than raw bytes do.
use arbitrary::Arbitrary;

const KEYS: &[&str] = &[
    "version", "archive_dir", "cert", "privkey", "chain", "fullchain", "reuse_key",
    "key_type", "rsa_key_size", "elliptic_curve", "renew_hook", "authenticator", "account",
    "server", "webroot_path",
];
const SECTIONS: &[&str] = &["renewalparams", "webroot_map", "acme_renewal_info", "x"];
const BOOLS: &[&str] = &["True", "true", "TRUE", "False", "yes", "on", "1", "0", "off", "Tru"];

#[derive(Arbitrary, Debug)]
struct Conf {
    crlf: bool,
    top: Vec<Entry>,
    sections: Vec<Section>,
    trailing: Option<String>,
}

#[derive(Arbitrary, Debug)]
struct Section {
    name: u8,
    depth: u8,
    indent: u8,
    entries: Vec<Entry>,
}

#[derive(Arbitrary, Debug)]
enum Key {
    Known(u8),
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Value {
    Bare(String),
    Single(String),
    Double(String),
    Triple(String),
    List(Vec<String>),
    Empty,
    Bool(u8),
}

#[derive(Arbitrary, Debug)]
struct Entry {
    key: Key,
    value: Value,
    comment: Option<String>,
    indent: u8,
    tight: bool,
}

fn pick<'a>(list: &[&'a str], i: u8) -> &'a str {
    list[usize::from(i) % list.len()]
}

fn render(c: &Conf) -> String {
    let nl = if c.crlf { "\r\n" } else { "\n" };
    let mut out = String::new();
    let entry = |out: &mut String, e: &Entry| {
        out.push_str(&" ".repeat(usize::from(e.indent % 9)));
        match &e.key {
            Key::Known(i) => out.push_str(pick(KEYS, *i)),
            Key::Other(s) => out.push_str(s),
        }
        out.push_str(if e.tight { "=" } else { " = " });
        match &e.value {
            Value::Bare(s) => out.push_str(s),
            Value::Single(s) => out.push_str(&format!("'{s}'")),
            Value::Double(s) => out.push_str(&format!("\"{s}\"")),
            Value::Triple(s) => out.push_str(&format!("\"\"\"{s}\"\"\"")),
            Value::List(items) => out.push_str(&format!("{},", items.join(", "))),
            Value::Empty => {}
            Value::Bool(i) => out.push_str(pick(BOOLS, *i)),
        }
        if let Some(comment) = &e.comment {
            out.push_str(&format!(" # {comment}"));
        }
        out.push_str(nl);
    };
    for e in &c.top {
        entry(&mut out, e);
    }
    for s in &c.sections {
        let depth = usize::from(s.depth % 3) + 1;
        out.push_str(&" ".repeat(usize::from(s.indent % 5)));
        out.push_str(&"[".repeat(depth));
        out.push_str(pick(SECTIONS, s.name));
        out.push_str(&"]".repeat(depth));
        out.push_str(nl);
        for e in &s.entries {
            entry(&mut out, e);
        }
    }
    if let Some(t) = &c.trailing {
        out.push_str(t);
    }
    out
}

libfuzzer_sys::fuzz_target!(|conf: Conf| {
    danerollover::fuzzing::renewal_conf(render(&conf).as_bytes());
});
