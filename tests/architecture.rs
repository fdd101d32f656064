//! The shape of the source tree, checked: the module graph read from every `crate::` and
//! `super::` path in `src/**/*.rs` (code only: comments, strings and `#[cfg(test)]`
//! modules are left out) has no circle, and the pure core never imports from a leaf or from
//! the shell.
//!
//! Nodes are top-level modules (`config`, `probe`, ...), except the submodules named in
//! [`SPLIT`], which are nodes of their own (a circle between two of them, or between one and
//! the rest of its parent, is still a circle). What it cannot see: paths written without
//! `crate::`/`super::` (a `use` of a name imported by a glob, macros that expand to paths),
//! and imports inside test modules (on purpose: tests may reach anywhere).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Submodules that are nodes of their own: those the issue on the module graph names, and
/// the I/O halves of `dns` (its root holds the observation types the core may use).
const SPLIT: &[&str] = &[
    "commands::check",
    "commands::check_mx",
    "engine::pass",
    "engine::switch",
    "probe::endpoint",
    "rollover::plan",
    "rollover::serving",
    "dns::live",
    "dns::resolve",
    "dns::reuse",
    "dns::rrset",
    "dns::validate",
    "dns::wire",
];

/// The pure core: decisions from state, observations and `now`.
const CORE: &[&str] = &["rollover", "tlsa", "dane", "status", "endpoint"];

/// What the core must never import: leaves that do I/O, and the shell above it. `config`
/// is not here: the core's policy is read from the typed configuration (`rollover::policy`),
/// which does no I/O once loaded; `dns`'s root holds the observation types.
const NOT_FOR_THE_CORE: &[&str] = &[
    "probe",
    "dns::live",
    "dns::resolve",
    "dns::reuse",
    "dns::rrset",
    "dns::validate",
    "dns::wire",
    "provider",
    "certbot",
    "store",
    "keys",
    "secrets",
    "fsutil",
    "config_edit",
    "engine",
    "commands",
    "cli",
];

/// Circles that are known and not yet removed. This list may only shrink: the test fails
/// when a circle is missing from it, and also when one listed here no longer exists (then
/// delete its line).
const KNOWN_CIRCLES: &[&[&str]] = &[];

fn node_of(path: &[&str]) -> Option<String> {
    let first = *path.first()?;
    if let Some(second) = path.get(1) {
        let two = format!("{first}::{second}");
        if SPLIT.contains(&two.as_str()) {
            return Some(two);
        }
    }
    Some(first.to_string())
}

/// The module path of a source file: `src/dns/live.rs` is `["dns", "live"]`,
/// `src/dns/mod.rs` is `["dns"]`, `src/lib.rs` is `[]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The code of a file with comments, string and char literals blanked out and
/// `#[cfg(test)]` items (test modules, test-only functions) removed.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').map_or(b.len(), |n| i + n);
            i = end;
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map_or(b.len(), |n| i + n + 2);
            i = end;
        } else if let Some(hashes) = raw_string_start(rest) {
            let close = format!("\"{}", "#".repeat(hashes));
            let body = i + 2 + hashes;
            let end = text[body..]
                .find(&close)
                .map_or(b.len(), |n| body + n + close.len());
            out.push_str("\"\"");
            i = end;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            i += 1;
        } else if b[i] == b'\'' && is_char_literal(rest) {
            let len = rest[1..].find('\'').map_or(1, |n| n + 2);
            out.push_str("' '");
            i += len;
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    strip_cfg_test(&out)
}

/// `r"`, `r#"`, `br##"`...: the number of hashes.
fn raw_string_start(s: &str) -> Option<usize> {
    let s = s.strip_prefix('b').unwrap_or(s);
    let s = s.strip_prefix('r')?;
    let hashes = s.chars().take_while(|c| *c == '#').count();
    s[hashes..].starts_with('"').then_some(hashes)
}

/// `'a'`, `'\n'`, `'\''` (not a lifetime `'a`).
fn is_char_literal(s: &str) -> bool {
    let mut c = s[1..].chars();
    match c.next() {
        Some('\\') => true,
        Some(_) => c.next() == Some('\''),
        None => false,
    }
}

/// Drops each item after `#[cfg(test)]`: up to its matching `}` (or `;` for a declaration).
fn strip_cfg_test(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let open = after.find('{');
        let semi = after.find(';');
        let end = match (open, semi) {
            (Some(o), Some(s)) if s < o => s + 1,
            (Some(o), _) => {
                let mut depth = 0;
                let mut end = after.len();
                for (k, ch) in after[o..].char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = o + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (None, Some(s)) => s + 1,
            (None, None) => after.len(),
        };
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Every module path named in `code` through `crate::` or `super::` (groups expanded),
/// resolved against `module` (the file's module path).
fn paths_in(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for (start, _) in code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
    {
        if start > 0 && code[..start].ends_with(|c: char| ident(c) || c == ':') {
            continue; // the second `super` of `super::super::`, read with the first
        }
        let (mut base, mut rest): (Vec<String>, &str) = if code[start..].starts_with("crate::") {
            (Vec::new(), &code[start + 7..])
        } else {
            // `super` is the parent of the file's module (`probe` for src/probe/mx.rs,
            // the crate root for src/probe/mod.rs).
            let mut base = module.to_vec();
            let mut rest = &code[start..];
            while let Some(r) = rest.strip_prefix("super::") {
                base.pop();
                rest = r;
            }
            (base, rest)
        };
        expand(&mut base, &mut rest, &mut out, &ident);
    }
    out
}

fn expand(
    base: &mut Vec<String>,
    rest: &mut &str,
    out: &mut Vec<Vec<String>>,
    ident: &dyn Fn(char) -> bool,
) {
    loop {
        let name: String = rest.chars().take_while(|c| ident(*c)).collect();
        if name.is_empty() {
            if let Some(group) = rest.strip_prefix('{') {
                // `{a, b::c, self}`: each entry from the same base.
                let mut depth = 1;
                let mut end = group.len();
                for (k, ch) in group.char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = k;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let inner = &group[..end];
                let mut depth = 0;
                let mut from = 0;
                let mut entries = Vec::new();
                for (k, ch) in inner.char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            entries.push(&inner[from..k]);
                            from = k + 1;
                        }
                        _ => {}
                    }
                }
                entries.push(&inner[from..]);
                for e in entries {
                    let mut b = base.clone();
                    let mut r = e.trim_start();
                    expand(&mut b, &mut r, out, ident);
                }
                return;
            }
            out.push(base.clone());
            return;
        }
        *rest = &rest[name.len()..];
        if name != "self" {
            base.push(name);
        }
        match rest.strip_prefix("::") {
            Some(r) => *rest = r,
            None => {
                out.push(base.clone());
                return;
            }
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module graph of `src`: node -> nodes it imports, with one file of each edge.
fn graph(src: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut top: BTreeSet<String> = BTreeSet::new();
    for f in &files {
        if let Some(first) = module_of(src, f).first() {
            top.insert(first.clone());
        }
    }
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for f in &files {
        let module = module_of(src, f);
        // main.rs is the binary (it uses the library by name); test files are tests.
        if module.is_empty() || module == ["main"] || module.last().is_some_and(|m| m == "tests") {
            continue;
        }
        let refs: Vec<&str> = module.iter().map(String::as_str).collect();
        let from = node_of(&refs).unwrap();
        let code = code_only(&std::fs::read_to_string(f).unwrap());
        for path in paths_in(&code, &module) {
            let refs: Vec<&str> = path.iter().map(String::as_str).collect();
            let Some(to) = node_of(&refs) else { continue };
            // A module and its own submodules are one room: the parent dispatches to them
            // and they share its helpers (`commands` <-> `commands::check`); only arrows
            // between rooms count.
            let nested = |a: &str, b: &str| b.starts_with(&format!("{a}::"));
            if to == from || !top.contains(refs[0]) || nested(&to, &from) || nested(&from, &to) {
                continue;
            }
            let rel = f.strip_prefix(src.parent().unwrap()).unwrap();
            edges
                .entry(from.clone())
                .or_default()
                .entry(to)
                .or_insert_with(|| rel.display().to_string());
        }
    }
    edges
}

/// The strongly connected components with more than one node (Tarjan), each sorted.
fn circles(edges: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        edges: &'a BTreeMap<String, BTreeMap<String, String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        t.on.insert(v);
        if let Some(next) = t.edges.get(v) {
            for w in next.keys() {
                let w = w.as_str();
                if !t.index.contains_key(w) {
                    visit(t, w);
                    let l = t.low[w].min(t.low[v]);
                    t.low.insert(v, l);
                } else if t.on.contains(w) {
                    let l = t.index[w].min(t.low[v]);
                    t.low.insert(v, l);
                }
            }
        }
        if t.low[v] == t.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                scc.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                t.out.push(scc);
            }
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    let nodes: BTreeSet<&str> = edges
        .iter()
        .flat_map(|(k, v)| std::iter::once(k.as_str()).chain(v.keys().map(String::as_str)))
        .collect();
    for n in nodes {
        if !t.index.contains_key(n) {
            visit(&mut t, n);
        }
    }
    t.out.sort();
    t.out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_circles_but_the_known_ones() {
    let edges = graph(&src());
    let found = circles(&edges);
    let known: Vec<Vec<String>> = KNOWN_CIRCLES
        .iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect();
    let describe = |c: &Vec<String>| {
        let mut lines = Vec::new();
        for a in c {
            for b in c {
                if let Some(file) = edges.get(a).and_then(|e| e.get(b)) {
                    lines.push(format!("    {a} -> {b} ({file})"));
                }
            }
        }
        format!("{c:?}:\n{}", lines.join("\n"))
    };
    let new: Vec<String> = found
        .iter()
        .filter(|c| !known.contains(c))
        .map(describe)
        .collect();
    assert!(new.is_empty(), "import circles:\n{}", new.join("\n"));
    let gone: Vec<&Vec<String>> = known.iter().filter(|c| !found.contains(c)).collect();
    assert!(
        gone.is_empty(),
        "these known circles are gone (or changed): delete (or shrink) their lines in KNOWN_CIRCLES: {gone:?}"
    );
}

#[test]
fn the_core_imports_no_leaf_and_nothing_above_it() {
    let edges = graph(&src());
    let mut bad = Vec::new();
    for (from, to) in &edges {
        let from_core = CORE.contains(&from.split("::").next().unwrap());
        if !from_core {
            continue;
        }
        for (t, file) in to {
            let top = t.split("::").next().unwrap();
            if NOT_FOR_THE_CORE.contains(&t.as_str()) || NOT_FOR_THE_CORE.contains(&top) {
                bad.push(format!("{from} -> {t} ({file})"));
            }
        }
    }
    assert!(bad.is_empty(), "the core imports:\n{}", bad.join("\n"));
}

/// The reader sees through comments, strings, groups, `super` and test modules; the
/// circle finder finds a circle and only a circle.
#[test]
fn the_reader_and_the_circle_finder() {
    let code = code_only(
        r##"
use crate::dns::{self, Validated, resolve::{parse_name}};
use super::report::Status; // crate::commands in a comment
/// [`crate::engine`] in a doc comment
const S: &str = "crate::cli";
const R: &str = r#"crate::cli"#;
#[cfg(test)]
mod tests { use crate::provider::Provider; }
fn f() { let c = '{'; crate::store::Store::new(); }
"##,
    );
    let module = vec!["probe".to_string(), "mx".to_string()];
    let mut got: Vec<String> = paths_in(&code, &module)
        .iter()
        .map(|p| p.join("::"))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            "dns",
            "dns::Validated",
            "dns::resolve::parse_name",
            "probe::report::Status",
            "store::Store::new",
        ]
    );
    let from_mod_rs = paths_in("use super::x::Y;", &["probe".to_string()]);
    assert_eq!(from_mod_rs, vec![vec!["x".to_string(), "Y".to_string()]]);

    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e")] {
        edges
            .entry(a.into())
            .or_default()
            .insert(b.into(), "f".into());
    }
    assert_eq!(circles(&edges), vec![vec!["a", "b", "c"]]);
    edges.get_mut("c").unwrap().remove("a");
    assert!(circles(&edges).is_empty());
}

/// A source file holds one concern a newcomer can read at once: none is over 800 lines
/// (split along its concerns, e.g. its tests into `MODULE/tests.rs`).
#[test]
fn no_source_file_is_over_800_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 50, "{} files under src/", files.len());
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > 800).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these along their concerns: {long:?}"
    );
}
