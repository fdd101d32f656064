//! Editing the configuration file without losing a byte of what the operator wrote: adding
//! a `[lineages."NAME"]` section (for `init --provider`) through `toml_edit`, which keeps
//! comments, order and formatting. Pure: text in, text out; the command writes the file.

use std::path::Path;

use toml_edit::{Array, DocumentMut, Item, Table, value};

/// What `init --provider` adds for one lineage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLineage {
    pub name: String,
    pub provider: String,
    /// TLSA owner names, e.g. `_25._tcp.mail.example.com`.
    pub owners: Vec<String>,
    /// The TTL, when given (else the configuration's default applies).
    pub ttl: Option<u32>,
    /// Keys with a string value after the others (`client`, `client_dir`, ...).
    pub strings: Vec<(String, String)>,
    /// Keys with a list value (`command`).
    pub lists: Vec<(String, Vec<String>)>,
}

/// The outcome of [`add_lineage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// The new text of the configuration file.
    Changed(String),
    /// `[lineages."NAME"]` exists already: nothing to do.
    Present,
}

/// Add `[lineages."NAME"]` to the configuration text `text` (of the file `path`, for
/// messages). Refuses a provider the configuration does not define, naming those it does.
pub fn add_lineage(text: &str, path: &Path, new: &NewLineage) -> Result<Edit, String> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| format!("{}: not valid TOML: {e}", path.display()))?;
    let providers: Vec<String> = doc
        .get("providers")
        .and_then(Item::as_table_like)
        .map(|t| t.iter().map(|(k, _)| k.to_string()).collect())
        .unwrap_or_default();
    if !providers.contains(&new.provider) {
        return Err(if providers.is_empty() {
            format!(
                "{}: there is no provider {:?}: the configuration defines no [providers.NAME] yet; add one (see the commented examples in the file), then run init again",
                path.display(),
                new.provider
            )
        } else {
            format!(
                "{}: there is no provider {:?}; configured providers: {}",
                path.display(),
                new.provider,
                providers.join(", ")
            )
        });
    }
    if new.owners.is_empty() {
        return Err(format!(
            "lineage {}: no TLSA owner: give --owner _25._tcp.HOST",
            new.name
        ));
    }
    let lineages = doc
        .entry("lineages")
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_like_mut()
        .ok_or_else(|| format!("{}: `lineages` is not a table", path.display()))?;
    if lineages.contains_key(&new.name) {
        return Ok(Edit::Present);
    }
    let mut t = Table::new();
    t.decor_mut()
        .set_prefix("\n# Added by `danerollover init`.\n");
    t.insert("provider", value(new.provider.as_str()));
    let mut owners = Array::new();
    for o in &new.owners {
        owners.push(o.as_str());
    }
    t.insert("tlsa", value(owners));
    if let Some(ttl) = new.ttl {
        t.insert("ttl", value(i64::from(ttl)));
    }
    for (k, v) in &new.strings {
        t.insert(k, value(v.as_str()));
    }
    for (k, v) in &new.lists {
        let mut a = Array::new();
        for x in v {
            a.push(x.as_str());
        }
        t.insert(k, value(a));
    }
    lineages.insert(&new.name, Item::Table(t));
    let mut out = doc.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(Edit::Changed(out))
}

/// The default owners of a lineage: `_PORT._tcp.NAME` for every port and every DNS name of
/// the certificate (wildcard names have no TLSA owner and are skipped).
pub fn default_owners(domains: &[String], ports: &[u16]) -> Vec<String> {
    let ports: &[u16] = if ports.is_empty() { &[25] } else { ports };
    let mut out = Vec::new();
    for port in ports {
        for d in domains {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if d.starts_with("*.") || d.is_empty() {
                continue;
            }
            let owner = format!("_{port}._tcp.{d}");
            if !out.contains(&owner) {
                out.push(owner);
            }
        }
    }
    out
}

/// A line diff of `old` -> `new` as `-`/`+` lines with a line of context either side:
/// enough to show an edit that inserts or replaces one contiguous block.
pub fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let max_suffix = a.len().min(b.len()) - prefix;
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    let mut out = String::new();
    let mut line = |mark: char, l: &str| {
        out.push_str(format!("{mark} {l}").trim_end());
        out.push('\n');
    };
    if prefix > 0 {
        line(' ', a[prefix - 1]);
    }
    for l in &a[prefix..a.len() - suffix] {
        line('-', l);
    }
    for l in &b[prefix..b.len() - suffix] {
        line('+', l);
    }
    if suffix > 0 {
        line(' ', a[a.len() - suffix]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = r#"# my config: keep this comment
state_dir = "/var/lib/danerollover"   # trailing comment

[providers.home]
type = "manual"

[providers.bind]   # the hidden primary
type = "manual"

[lineages."old.example.com"]
provider = "home"
tlsa = ["_25._tcp.old.example.com"]
# a comment at the end
"#;

    fn new(provider: &str) -> NewLineage {
        NewLineage {
            name: "mail.example.com".into(),
            provider: provider.into(),
            owners: default_owners(
                &[
                    "mail.example.com".into(),
                    "*.example.com".into(),
                    "mx.example.com".into(),
                ],
                &[],
            ),
            ttl: Some(600),
            strings: Vec::new(),
            lists: Vec::new(),
        }
    }

    #[test]
    fn adds_the_section_and_keeps_every_byte_before() {
        let Edit::Changed(out) = add_lineage(CONF, Path::new("c.toml"), &new("bind")).unwrap()
        else {
            panic!("no change")
        };
        // Every line of the file is still there, in order (the new section goes at the end,
        // before the file's trailing comments).
        let mut lines = out.lines();
        for l in CONF.lines() {
            assert!(lines.any(|o| o == l), "{l:?} lost or moved:\n{out}");
        }
        let cfg = crate::config::Config::parse(&out, Path::new("c.toml")).unwrap();
        let l = &cfg.lineages["mail.example.com"];
        assert_eq!(l.provider, "bind");
        assert_eq!(
            l.tlsa,
            ["_25._tcp.mail.example.com", "_25._tcp.mx.example.com"]
        );
        assert_eq!(l.ttl, 600);
        assert_eq!(cfg.lineages.len(), 2);
        let diff = line_diff(CONF, &out);
        assert!(diff.contains("+ [lineages.\"mail.example.com\"]"), "{diff}");
        assert!(!diff.lines().any(|l| l.starts_with('-')), "{diff}");
        // Running it again changes nothing.
        assert_eq!(
            add_lineage(&out, Path::new("c.toml"), &new("bind")).unwrap(),
            Edit::Present
        );
    }

    #[test]
    fn unknown_provider_names_the_configured_ones() {
        let err = add_lineage(CONF, Path::new("c.toml"), &new("cloud")).unwrap_err();
        assert!(
            err.contains("\"cloud\"") && err.contains("home, bind"),
            "{err}"
        );
        let err = add_lineage("# empty\n", Path::new("c.toml"), &new("x")).unwrap_err();
        assert!(err.contains("no [providers.NAME]"), "{err}");
    }

    #[test]
    fn owners_per_port_skip_wildcards() {
        assert_eq!(
            default_owners(&["A.example.".into(), "*.example".into()], &[25, 465]),
            ["_25._tcp.a.example", "_465._tcp.a.example"]
        );
    }
}
