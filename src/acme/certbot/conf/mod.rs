//! `renewal/NAME.conf`: the ConfigObj format certbot writes and reads (not TOML, not INI).
//!
//! [`RenewalConf::parse`] follows ConfigObj 5's grammar as certbot uses it: `key = value`
//! lines, `[section]` and nested `[[subsection]]` markers, full-line and inline `#`
//! comments, 'single', "double" and '''triple''' quoted values, comma lists (`http-01,`
//! is a list of one, `,` the empty list), empty values; duplicate keys or sections, bad
//! nesting and badly quoted values are errors, as they are for certbot. Every entry keeps
//! its byte offsets, so that one value can be changed with every other byte of the file
//! left as it was ([`RenewalConf::set`], [`RenewalConf::enable_reuse_key`]).

use std::fmt;

/// The `[renewalparams]` section.
pub const RENEWALPARAMS: &str = "renewalparams";

/// A parsed renewal conf, with the text it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalConf {
    text: String,
    entries: Vec<Entry>,
    sections: Vec<SectionInfo>,
    newline: &'static str,
}

/// `reuse_key` in `[renewalparams]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReuseKey {
    /// No `reuse_key` line: certbot's default, False.
    Absent,
    /// A value: its text and what ConfigObj's `as_bool` makes of it (None: not a boolean).
    Set {
        /// The value as written (unquoted).
        raw: String,
        /// ConfigObj's reading.
        as_bool: Option<bool>,
    },
}

impl ReuseKey {
    /// Whether certbot keeps the key on renewal: true only for a value that both of
    /// certbot's readers accept as true (`True`, `true`, `TRUE`...). certbot 2.x reads the
    /// option through ConfigObj's `as_bool` in one place and demands "True or False" (any
    /// case) in another, skipping the lineage on renewal otherwise.
    pub fn is_on(&self) -> bool {
        matches!(self, ReuseKey::Set { raw, .. } if raw.eq_ignore_ascii_case("true"))
    }

    /// true/false as ConfigObj reads it, None when absent (for reports). Values that are
    /// not booleans read as false.
    pub fn reported(&self) -> Option<bool> {
        match self {
            ReuseKey::Absent => None,
            ReuseKey::Set { as_bool, .. } => Some(as_bool.unwrap_or(false)),
        }
    }
}

/// One changed line: the text to write and the lines as they were and will be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The line(s) replaced, without line ending; None when the line is new.
    pub old_line: Option<String>,
    /// The new line, without line ending.
    pub new_line: String,
    /// The whole new file.
    pub text: String,
}

impl fmt::Display for Edit {
    /// `- old` / `+ new`, like a diff.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(old) = &self.old_line {
            for l in old.lines() {
                writeln!(f, "- {l}")?;
            }
        }
        write!(f, "+ {}", self.new_line)
    }
}

impl RenewalConf {
    /// The key a renewal with this conf makes when it makes a new key
    /// ([`crate::keys::KeySpec::from_renewal_params`], with certbot's defaults).
    pub fn key_spec(&self) -> Result<crate::keys::KeySpec, crate::keys::KeyError> {
        crate::keys::KeySpec::from_renewal_params(
            self.param("key_type"),
            self.param("rsa_key_size"),
            self.param("elliptic_curve"),
        )
    }

    /// Parse a renewal conf as ConfigObj does. Pure.
    pub fn parse(text: &str) -> Result<RenewalConf, ConfError> {
        let parsed = Parser::new(text).run()?;
        Ok(RenewalConf {
            text: text.to_string(),
            entries: parsed.entries,
            sections: parsed.sections,
            newline: parsed.newline,
        })
    }

    /// The text this conf was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// A value by section path (`&[]` for the top, `&["renewalparams"]`, ...) and key.
    pub fn get(&self, section: &[&str], key: &str) -> Option<&Value> {
        self.entry(section, key).map(|e| &e.value)
    }

    fn entry(&self, section: &[&str], key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| {
            e.key == key
                && e.section
                    .iter()
                    .map(String::as_str)
                    .eq(section.iter().copied())
        })
    }

    /// Whether the section exists.
    pub fn has_section(&self, section: &[&str]) -> bool {
        self.sections.iter().any(|s| {
            s.path
                .iter()
                .map(String::as_str)
                .eq(section.iter().copied())
        })
    }

    /// Every section's path, in file order (`["renewalparams"]`,
    /// `["renewalparams", "webroot_map"]`, ...).
    pub fn sections(&self) -> Vec<Vec<&str>> {
        self.sections
            .iter()
            .map(|s| s.path.iter().map(String::as_str).collect())
            .collect()
    }

    /// The keys of a section, in file order.
    pub fn keys(&self, section: &[&str]) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|e| {
                e.section
                    .iter()
                    .map(String::as_str)
                    .eq(section.iter().copied())
            })
            .map(|e| e.key.as_str())
            .collect()
    }

    /// A top-level single value.
    pub fn top(&self, key: &str) -> Option<&str> {
        self.get(&[], key).and_then(Value::as_str)
    }

    /// A single value of `[renewalparams]`.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.get(&[RENEWALPARAMS], key).and_then(Value::as_str)
    }

    /// `version`: the certbot version that last wrote the file.
    pub fn version(&self) -> Option<&str> {
        self.top("version")
    }
    /// `archive_dir`: the lineage's archive directory.
    pub fn archive_dir(&self) -> Option<&str> {
        self.top("archive_dir")
    }
    /// `cert`: the live cert.pem link.
    pub fn cert(&self) -> Option<&str> {
        self.top("cert")
    }
    /// `privkey`: the live privkey.pem link.
    pub fn privkey(&self) -> Option<&str> {
        self.top("privkey")
    }
    /// `chain`: the live chain.pem link.
    pub fn chain(&self) -> Option<&str> {
        self.top("chain")
    }
    /// `fullchain`: the live fullchain.pem link.
    pub fn fullchain(&self) -> Option<&str> {
        self.top("fullchain")
    }
    /// `[renewalparams] key_type` (rsa, ecdsa).
    pub fn key_type(&self) -> Option<&str> {
        self.param("key_type")
    }
    /// `[renewalparams] rsa_key_size`.
    pub fn rsa_key_size(&self) -> Option<&str> {
        self.param("rsa_key_size")
    }
    /// `[renewalparams] elliptic_curve`.
    pub fn elliptic_curve(&self) -> Option<&str> {
        self.param("elliptic_curve")
    }
    /// `[renewalparams] renew_hook` (what `--deploy-hook` is saved as).
    pub fn renew_hook(&self) -> Option<&str> {
        self.param("renew_hook")
    }
    /// `[renewalparams] authenticator`.
    pub fn authenticator(&self) -> Option<&str> {
        self.param("authenticator")
    }
    /// `[renewalparams] account`.
    pub fn account(&self) -> Option<&str> {
        self.param("account")
    }
    /// `[renewalparams] server` (the ACME directory URL).
    pub fn server(&self) -> Option<&str> {
        self.param("server")
    }

    /// `[renewalparams] reuse_key`.
    pub fn reuse_key(&self) -> ReuseKey {
        match self.get(&[RENEWALPARAMS], "reuse_key") {
            None => ReuseKey::Absent,
            Some(Value::Single(s)) => ReuseKey::Set {
                raw: s.clone(),
                as_bool: as_bool(s),
            },
            Some(Value::List(items)) => ReuseKey::Set {
                raw: format!("{},", items.join(", ")),
                as_bool: None,
            },
        }
    }

    /// Set `key` in `section` to `value`, changing nothing else: an existing value is
    /// replaced in place (its inline comment kept), a new key is added after the last
    /// entry of the section (before any subsection). The value is quoted as ConfigObj
    /// would when it needs to be. The section must exist.
    pub fn set(&self, section: &[&str], key: &str, value: &str) -> Result<Edit, ConfError> {
        let written = quote_value(value).ok_or_else(|| ConfError {
            line: 0,
            message: format!("{value:?} cannot be written as a ConfigObj value"),
        })?;
        if key.is_empty()
            || key.contains(['=', '#', '\n', '\r', '[', '"', '\''])
            || key.trim() != key
        {
            return Err(ConfError {
                line: 0,
                message: format!("{key:?} is not a key that can be written"),
            });
        }
        let (text, old_line, new_line) = if let Some(e) = self.entry(section, key) {
            let mut span = e.value_span.clone();
            let mut replacement = written.clone();
            if span.is_empty() && self.text[..span.start].ends_with('=') {
                replacement.insert(0, ' ');
            }
            if span.is_empty() {
                span = span.start..span.start;
            }
            let mut text = String::with_capacity(self.text.len() + replacement.len());
            text.push_str(&self.text[..span.start]);
            text.push_str(&replacement);
            text.push_str(&self.text[span.end..]);
            let old = trim_newline(&self.text[e.lines.clone()]).to_string();
            let new_end = e.lines.end + text.len() - self.text.len();
            let new = trim_newline(&text[e.lines.start..new_end]).to_string();
            (text, Some(old), new)
        } else {
            let info = self
                .sections
                .iter()
                .find(|s| {
                    s.path
                        .iter()
                        .map(String::as_str)
                        .eq(section.iter().copied())
                })
                .ok_or_else(|| ConfError {
                    line: 0,
                    message: format!("no [{}] section", section.join("].[")),
                })?;
            let at = info.last_entry_end.unwrap_or(info.header_end);
            let indent = "    ".repeat(section.len().saturating_sub(1));
            let line = format!("{indent}{key} = {written}");
            let mut insert = String::new();
            if at > 0 && !self.text[..at].ends_with('\n') {
                insert.push_str(self.newline);
            }
            insert.push_str(&line);
            insert.push_str(self.newline);
            let mut text = String::with_capacity(self.text.len() + insert.len());
            text.push_str(&self.text[..at]);
            text.push_str(&insert);
            text.push_str(&self.text[at..]);
            (text, None, line)
        };
        // The edit must read back as intended, with every other entry as it was.
        let check = RenewalConf::parse(&text).map_err(|e| ConfError {
            line: e.line,
            message: format!("the edited file would not parse ({})", e.message),
        })?;
        if check.get(section, key) != Some(&Value::Single(value.to_string()))
            || check.entries.len() != self.entries.len() + usize::from(old_line.is_none())
        {
            return Err(ConfError {
                line: 0,
                message: format!("setting {key} = {value} would not read back as written"),
            });
        }
        Ok(Edit {
            old_line,
            new_line,
            text,
        })
    }

    /// Turn on `reuse_key` in `[renewalparams]`: None when it is already `True` (any case),
    /// else the edit that writes `reuse_key = True` (replacing any other spelling, or
    /// adding the line).
    pub fn enable_reuse_key(&self) -> Result<Option<Edit>, ConfError> {
        if self.reuse_key().is_on() {
            return Ok(None);
        }
        if !self.has_section(&[RENEWALPARAMS]) {
            return Err(ConfError {
                line: 0,
                message:
                    "no [renewalparams] section: this is not a renewal conf certbot can renew with"
                        .into(),
            });
        }
        self.set(&[RENEWALPARAMS], "reuse_key", "True").map(Some)
    }
}

fn trim_newline(s: &str) -> &str {
    let s = s.strip_suffix('\n').unwrap_or(s);
    s.strip_suffix('\r').unwrap_or(s)
}

/// How ConfigObj writes a string value: bare when it can be, else quoted.
fn quote_value(v: &str) -> Option<String> {
    if v.contains(['\n', '\r']) {
        return None;
    }
    if v.is_empty() {
        return Some("\"\"".into());
    }
    let needs_quotes = v.contains([',', '#', '"', '\''])
        || v.trim() != v
        || v.starts_with("'''")
        || v.starts_with("\"\"\"");
    if !needs_quotes {
        Some(v.to_string())
    } else if !v.contains('"') {
        Some(format!("\"{v}\""))
    } else if !v.contains('\'') {
        Some(format!("'{v}'"))
    } else {
        None
    }
}

mod grammar;
pub use grammar::{ConfError, Value, as_bool};
use grammar::{Entry, Parser, SectionInfo};

#[cfg(test)]
mod tests {
    #[test]
    fn a_line_of_many_quotes_and_commas_searches_each_position_once() {
        // Found by fuzzing (renewal_conf): 26 s of CPU before the search was memoised.
        let input =
            include_str!("../../../../fuzz/regressions/renewal_conf/slow-unit-quotes-and-commas");
        super::grammar::SEARCHES.with(|n| n.set(0));
        let _ = super::RenewalConf::parse(input);
        let searches = super::grammar::SEARCHES.with(|n| n.get());
        let bound = input.len() + input.lines().count();
        assert!(
            searches <= bound,
            "{searches} value searches for {} bytes (at most {bound})",
            input.len()
        );
    }

    use super::grammar::parse_value;
    use super::*;

    fn single(s: &str) -> Value {
        Value::Single(s.into())
    }
    fn list(items: &[&str]) -> Value {
        Value::List(items.iter().map(|s| s.to_string()).collect())
    }

    /// Expected readings checked against ConfigObj 5.0.8 (Debian 12).
    #[test]
    fn values_read_like_configobj() {
        let cases: &[(&str, Value)] = &[
            ("1 # inline comment", single("1")),
            (
                "\"quoted # not comment\"  # comment",
                single("quoted # not comment"),
            ),
            ("'single'", single("single")),
            ("x, y, z", list(&["x", "y", "z"])),
            ("x,", list(&["x"])),
            ("http-01,", list(&["http-01"])),
            ("http-01, dns-01", list(&["http-01", "dns-01"])),
            ("", single("")),
            (",", list(&[])),
            (", # c", list(&[])),
            ("b c", single("b c")),
            ("True# keep the key", single("True")),
            ("\"\"", single("")),
            ("\"a#b\"", single("a#b")),
            ("\" lead\"", single(" lead")),
            (
                "'systemctl reload postfix && echo \"done, ok\" # x'",
                single("systemctl reload postfix && echo \"done, ok\" # x"),
            ),
            ("# only a comment", single("")),
            ("a, 'b, c' , d # x", list(&["a", "b, c", "d"])),
            ("/var/www/html,", list(&["/var/www/html"])),
        ];
        for (text, want) in cases {
            let (got, _) = parse_value(text).unwrap_or_else(|| panic!("{text:?} did not parse"));
            assert_eq!(&got, want, "value {text:?}");
        }
        for bad in ["'b", "\"b\" c", "a, 'b"] {
            assert!(parse_value(bad).is_none(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn file_structure_like_configobj() {
        let text = "a = 1 # inline comment\nb = \"quoted # not comment\"  # comment\n\
            h = \"\"\"triple\nline\"\"\"\n[sec]\nk = v\n[[sub]]\nz = 1\n[sec2]\n";
        let c = RenewalConf::parse(text).unwrap();
        assert_eq!(c.get(&[], "a"), Some(&single("1")));
        assert_eq!(c.get(&[], "h"), Some(&single("triple\nline")));
        assert_eq!(c.get(&["sec"], "k"), Some(&single("v")));
        assert_eq!(c.get(&["sec", "sub"], "z"), Some(&single("1")));
        assert!(c.has_section(&["sec2"]));
        assert_eq!(c.get(&["sec"], "z"), None);

        for (bad, line) in [
            ("a=b\na=c\n", 2),
            ("[r]\nx = 1\n[r]\n", 3),
            ("a = 'b\n", 1),
            ("[r\nx=1\n", 1),
            ("x\n", 1),
            ("a : b\n", 1),
            ("[a]\n[[[b]]]\n", 2),
            ("[a]]\n", 1),
            ("a = '''never\nclosed\n", 1),
            ("a = '''x''' y\n", 1),
        ] {
            let err = RenewalConf::parse(bad).unwrap_err();
            assert_eq!(err.line, line, "{bad:?}: {err}");
        }
        let c = RenewalConf::parse("  a   =   b  \n").unwrap();
        assert_eq!(c.top("a"), Some("b"));
        // A key named like a later subsection is a duplicate, as in ConfigObj.
        assert!(RenewalConf::parse("[r]\nsub = 1\n[[sub]]\n").is_err());
    }

    #[test]
    fn booleans_use_configobj_vocabulary() {
        for (s, b) in [
            ("True", Some(true)),
            ("yes", Some(true)),
            ("ON", Some(true)),
            ("1", Some(true)),
            ("false", Some(false)),
            ("No", Some(false)),
            ("off", Some(false)),
            ("0", Some(false)),
            ("maybe", None),
            ("", None),
        ] {
            assert_eq!(as_bool(s), b, "{s}");
        }
    }

    #[test]
    fn set_replaces_in_place_and_keeps_comments() {
        let text = "version = 2.1.0\r\n[renewalparams]\r\nreuse_key = yes  # keep\r\nkey_type = ecdsa\r\n[[webroot_map]]\r\nexample.org = /var/www\r\n";
        let c = RenewalConf::parse(text).unwrap();
        let edit = c.enable_reuse_key().unwrap().unwrap();
        assert_eq!(
            edit.text,
            text.replace("reuse_key = yes  # keep", "reuse_key = True  # keep")
        );
        assert_eq!(edit.old_line.as_deref(), Some("reuse_key = yes  # keep"));
        assert_eq!(edit.new_line, "reuse_key = True  # keep");
        assert_eq!(
            edit.to_string(),
            "- reuse_key = yes  # keep\n+ reuse_key = True  # keep"
        );
        let again = RenewalConf::parse(&edit.text).unwrap();
        assert_eq!(again.enable_reuse_key().unwrap(), None);
    }

    #[test]
    fn set_adds_before_subsections_with_the_files_line_endings() {
        let text = "[renewalparams]\r\nkey_type = ecdsa\r\n# comment of the map\r\n[[webroot_map]]\r\na = b\r\n";
        let c = RenewalConf::parse(text).unwrap();
        let edit = c.enable_reuse_key().unwrap().unwrap();
        assert_eq!(
            edit.text,
            "[renewalparams]\r\nkey_type = ecdsa\r\nreuse_key = True\r\n# comment of the map\r\n[[webroot_map]]\r\na = b\r\n"
        );
        assert_eq!(edit.old_line, None);
        // Empty section, no final newline.
        let c = RenewalConf::parse("a = 1\n[renewalparams]").unwrap();
        assert_eq!(
            c.enable_reuse_key().unwrap().unwrap().text,
            "a = 1\n[renewalparams]\nreuse_key = True\n"
        );
        // An empty value.
        let c = RenewalConf::parse("[renewalparams]\nreuse_key =\n").unwrap();
        assert_eq!(
            c.enable_reuse_key().unwrap().unwrap().text,
            "[renewalparams]\nreuse_key = True\n"
        );
        // A triple-quoted value over two lines is replaced whole.
        let c = RenewalConf::parse("[renewalparams]\nreuse_key = '''no\n'''\nx = 1\n").unwrap();
        let e = c.enable_reuse_key().unwrap().unwrap();
        assert_eq!(e.text, "[renewalparams]\nreuse_key = True\nx = 1\n");
        assert_eq!(e.old_line.as_deref(), Some("reuse_key = '''no\n'''"));
        // No renewalparams: refused.
        assert!(
            RenewalConf::parse("a = 1\n")
                .unwrap()
                .enable_reuse_key()
                .is_err()
        );
    }

    #[test]
    fn set_quotes_when_needed() {
        let c = RenewalConf::parse("[renewalparams]\nrenew_hook = a\n").unwrap();
        let e = c
            .set(&["renewalparams"], "renew_hook", "echo a, b # c")
            .unwrap();
        assert_eq!(e.new_line, "renew_hook = \"echo a, b # c\"");
        let e = c.set(&["renewalparams"], "renew_hook", "").unwrap();
        assert_eq!(e.new_line, "renew_hook = \"\"");
        assert!(c.set(&["renewalparams"], "renew_hook", "a\nb").is_err());
        assert!(c.set(&["nosuch"], "k", "v").is_err());
    }
}
