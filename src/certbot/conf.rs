//! `renewal/NAME.conf`: the ConfigObj format certbot writes and reads (not TOML, not INI).
//!
//! [`RenewalConf::parse`] follows ConfigObj 5's grammar as certbot uses it: `key = value`
//! lines, `[section]` and nested `[[subsection]]` markers, full-line and inline `#`
//! comments, 'single', "double" and '''triple''' quoted values, comma lists (`http-01,`
//! is a list of one, `,` the empty list), empty values; duplicate keys or sections, bad
//! nesting and badly quoted values are errors, as they are for certbot. Every entry keeps
//! its byte offsets, so that one value can be changed with every other byte of the file
//! left as it was ([`RenewalConf::set`], [`RenewalConf::enable_reuse_key`]).

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

/// The `[renewalparams]` section.
pub const RENEWALPARAMS: &str = "renewalparams";

/// Why a conf does not parse, with its line (1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ConfError {
    /// The line the problem is on (1-based; 0 for the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A value: ConfigObj has strings and lists of strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A single (possibly empty) string, unquoted.
    Single(String),
    /// A comma list (`a, b`, `a,`, `,`), each item unquoted.
    List(Vec<String>),
}

impl Value {
    /// The string, for single values.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Single(s) => Some(s),
            Value::List(_) => None,
        }
    }

    /// ConfigObj's `as_bool`: true/false, yes/no, on/off, 1/0 in any case; None otherwise
    /// (lists included).
    pub fn as_bool(&self) -> Option<bool> {
        as_bool(self.as_str()?)
    }
}

/// ConfigObj's `as_bool` vocabulary: true/false, yes/no, on/off, 1/0, in any case.
pub fn as_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// One `key = value` entry and where it sits in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// Section path: empty at the top, `["renewalparams", "webroot_map"]` in the subsection.
    section: Vec<String>,
    key: String,
    value: Value,
    /// The value's bytes (quotes included, inline comment excluded).
    value_span: Range<usize>,
    /// From the start of the entry's first line to the end of its last line (newline
    /// included when there is one).
    lines: Range<usize>,
    /// 1-based line of the key.
    line: usize,
}

/// A section marker and the end of the section's own entries.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SectionInfo {
    path: Vec<String>,
    /// End of the header line (newline included when there is one).
    header_end: usize,
    /// End of the last line of the last entry directly in this section, if any.
    last_entry_end: Option<usize>,
}

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
    /// Parse a renewal conf as ConfigObj does. Pure.
    pub fn parse(text: &str) -> Result<RenewalConf, ConfError> {
        Parser::new(text).run()
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

/// Python's `str.strip()` white space, close enough for config files.
fn is_space(c: char) -> bool {
    c.is_whitespace()
}

struct Line<'a> {
    /// 1-based number.
    number: usize,
    /// Offset of the first byte.
    start: usize,
    /// The line without its ending.
    text: &'a str,
    /// Offset just after the line ending (or the end of the file).
    end: usize,
}

struct Parser<'a> {
    text: &'a str,
    lines: Vec<Line<'a>>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        let mut lines = Vec::new();
        let mut start = 0;
        let mut number = 1;
        // A byte order mark is not part of the first line.
        if text.starts_with('\u{feff}') {
            start = '\u{feff}'.len_utf8();
        }
        while start < text.len() {
            let (content_end, end) = match text[start..].find('\n') {
                Some(i) => (start + i, start + i + 1),
                None => (text.len(), text.len()),
            };
            let content = &text[start..content_end];
            let content = content.strip_suffix('\r').unwrap_or(content);
            lines.push(Line {
                number,
                start,
                text: content,
                end,
            });
            number += 1;
            start = end;
        }
        Parser { text, lines }
    }

    fn run(self) -> Result<RenewalConf, ConfError> {
        let newline = if self.text.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let mut entries: Vec<Entry> = Vec::new();
        let mut sections: Vec<SectionInfo> = Vec::new();
        // The current section path; its length is the depth.
        let mut current: Vec<String> = Vec::new();
        let mut i = 0;
        while i < self.lines.len() {
            let line = &self.lines[i];
            let err = |message: String| ConfError {
                line: line.number,
                message,
            };
            let stripped = line.text.trim_matches(is_space);
            if stripped.is_empty() || stripped.starts_with('#') {
                i += 1;
                continue;
            }
            if let Some((depth, name)) = section_marker(line.text).map_err(err)? {
                if depth > current.len() + 1 {
                    return Err(err("section too nested".into()));
                }
                current.truncate(depth - 1);
                current.push(name);
                if sections.iter().any(|s| s.path == current)
                    || entries.iter().any(|e| {
                        e.section[..] == current[..depth - 1] && e.key == current[depth - 1]
                    })
                {
                    return Err(err(format!(
                        "duplicate section name [{}]",
                        current[depth - 1]
                    )));
                }
                sections.push(SectionInfo {
                    path: current.clone(),
                    header_end: line.end,
                    last_entry_end: None,
                });
                i += 1;
                continue;
            }
            let (key, value_start) = keyword(line.text).ok_or_else(|| {
                err(format!(
                    "invalid line {:?} (neither a [section] nor a key = value line)",
                    line.text
                ))
            })?;
            let value_text = &line.text[value_start..];
            let abs = |offset_in_line: usize| line.start + offset_in_line;
            let (value, span, last_line) =
                if value_text.starts_with("'''") || value_text.starts_with("\"\"\"") {
                    self.multiline(i, value_start)?
                } else {
                    let (value, range) = parse_value(value_text).ok_or_else(|| {
                        err(format!("bad value for {key} (check its quotes and commas)"))
                    })?;
                    (
                        value,
                        abs(value_start + range.start)..abs(value_start + range.end),
                        i,
                    )
                };
            if entries.iter().any(|e| e.section == current && e.key == key)
                || sections.iter().any(|s| {
                    s.path.len() == current.len() + 1
                        && s.path[..current.len()] == current[..]
                        && s.path[current.len()] == key
                })
            {
                return Err(err(format!("duplicate key {key}")));
            }
            let lines = line.start..self.lines[last_line].end;
            if let Some(s) = sections.iter_mut().rev().find(|s| s.path == current) {
                s.last_entry_end = Some(lines.end);
            }
            entries.push(Entry {
                section: current.clone(),
                key,
                value,
                value_span: span,
                lines,
                line: line.number,
            });
            i = last_line + 1;
        }
        Ok(RenewalConf {
            text: self.text.to_string(),
            entries,
            sections,
            newline,
        })
    }

    /// A triple-quoted value starting at `value_start` of line `i`: the value, the span
    /// of its bytes (quotes included) and the index of its last line.
    fn multiline(
        &self,
        i: usize,
        value_start: usize,
    ) -> Result<(Value, Range<usize>, usize), ConfError> {
        let line = &self.lines[i];
        let value_text = &line.text[value_start..];
        let quote = &value_text[..3];
        let err = |n: usize, m: &str| ConfError {
            line: n,
            message: m.to_string(),
        };
        let after = &value_text[3..];
        // On one line: '''...''' then only a comment.
        for (pos, _) in after.match_indices(quote) {
            if rest_is_comment(&after[pos + 3..]) {
                let end = line.start + value_start + 3 + pos + 3;
                return Ok((
                    Value::Single(after[..pos].to_string()),
                    line.start + value_start..end,
                    i,
                ));
            }
        }
        if after.contains(quote) {
            return Err(err(line.number, "bad triple-quoted value"));
        }
        let mut value = after.to_string();
        for (j, next) in self.lines.iter().enumerate().skip(i + 1) {
            value.push('\n');
            if !next.text.contains(quote) {
                value.push_str(next.text);
                continue;
            }
            // The closing line: (.*?) and the quotes, then only a comment.
            match next
                .text
                .match_indices(quote)
                .map(|(pos, _)| pos)
                .find(|pos| rest_is_comment(&next.text[pos + 3..]))
            {
                None => return Err(err(next.number, "bad end of a triple-quoted value")),
                Some(pos) => {
                    value.push_str(&next.text[..pos]);
                    let end = next.start + pos + 3;
                    return Ok((Value::Single(value), line.start + value_start..end, j));
                }
            }
        }
        Err(err(line.number, "triple-quoted value never closed"))
    }
}

/// `\s*(#.*)?$`
fn rest_is_comment(s: &str) -> bool {
    let t = s.trim_start_matches(is_space);
    t.is_empty() || t.starts_with('#')
}

/// ConfigObj's section marker: `[name]`, `[[name]]`, quoted names, an optional comment.
/// Ok(None) when the line is not a marker; an error when the brackets do not balance.
fn section_marker(line: &str) -> Result<Option<(usize, String)>, String> {
    let s = line.trim_start_matches(is_space);
    if !s.starts_with('[') {
        return Ok(None);
    }
    // Opening: (\[\s*)+
    let mut pos = 0;
    let mut open = 0;
    let bytes: Vec<char> = s.chars().collect();
    while pos < bytes.len() && bytes[pos] == '[' {
        open += 1;
        pos += 1;
        while pos < bytes.len() && is_space(bytes[pos]) {
            pos += 1;
        }
    }
    let name_start = pos;
    // The closers from `at`: (\s*\])+ \s* (#.*)? $ ; returns the number of ']'.
    let closers = |mut at: usize| -> Option<usize> {
        let mut count = 0;
        loop {
            let mut p = at;
            while p < bytes.len() && is_space(bytes[p]) {
                p += 1;
            }
            if p < bytes.len() && bytes[p] == ']' {
                count += 1;
                at = p + 1;
            } else {
                break;
            }
        }
        if count == 0 {
            return None;
        }
        let rest: String = bytes[at..].iter().collect();
        rest_is_comment(&rest).then_some(count)
    };
    let first = match bytes.get(name_start) {
        Some(c) => *c,
        None => return Ok(None),
    };
    let mut found = None;
    if first == '"' || first == '\'' {
        // "\s*\S.*?\s*" : a quoted name with at least one non-space.
        for end in name_start + 1..bytes.len() {
            if bytes[end] == first {
                let inner = &bytes[name_start + 1..end];
                if inner.iter().any(|c| !is_space(*c))
                    && let Some(n) = closers(end + 1)
                {
                    found = Some((inner.iter().collect::<String>(), n));
                    break;
                }
            }
        }
    } else if !is_space(first) {
        for end in name_start + 1..=bytes.len() {
            if let Some(n) = closers(end) {
                found = Some((bytes[name_start..end].iter().collect::<String>(), n));
                break;
            }
        }
    }
    match found {
        None => Ok(None),
        Some((_, n)) if n != open => {
            Err("cannot compute the section depth: the [ and ] do not balance".into())
        }
        Some((name, _)) => Ok(Some((open, name))),
    }
}

/// ConfigObj's keyword line: indentation, a key (quoted or up to the first `=`), `=`, the
/// value. Returns the unquoted key and the byte offset of the value in the line.
fn keyword(line: &str) -> Option<(String, usize)> {
    let indent = line.len() - line.trim_start_matches(is_space).len();
    let s = &line[indent..];
    let first = s.chars().next()?;
    let (key, after_key) = if first == '"' || first == '\'' {
        // ".*?" then \s*= ; the first closing quote that is followed by `=`.
        let mut found = None;
        for (pos, _) in s[1..].match_indices(first) {
            let after = &s[1 + pos + 1..];
            if after.trim_start_matches(is_space).starts_with('=') {
                found = Some((s[1..1 + pos].to_string(), indent + 1 + pos + 1));
                break;
            }
        }
        found?
    } else if first == '=' {
        return None;
    } else {
        let eq = s.find('=')?;
        (s[..eq].trim_end_matches(is_space).to_string(), indent + eq)
    };
    let rest = &line[after_key..];
    let rest_trimmed = rest.trim_start_matches(is_space);
    let eq_pos = after_key + (rest.len() - rest_trimmed.len());
    if !line[eq_pos..].starts_with('=') {
        return None;
    }
    let after_eq = &line[eq_pos + 1..];
    let value_start = eq_pos + 1 + (after_eq.len() - after_eq.trim_start_matches(is_space).len());
    Some((key, value_start))
}

/// ConfigObj's single-line value grammar (`_valueexp` and `_handle_value`): the value and
/// the byte range of its text in `s` (quotes included, trailing space and comment not).
fn parse_value(s: &str) -> Option<(Value, Range<usize>)> {
    if let Some((items, single, end)) = value_items(s, 0) {
        let value = if items.is_empty() {
            Value::Single(single.map(|x| unquote(&x)).unwrap_or_default())
        } else {
            let mut list: Vec<String> = items.iter().map(|x| unquote(x)).collect();
            if let Some(single) = single.filter(|x| !x.is_empty()) {
                list.push(unquote(&single));
            }
            Value::List(list)
        };
        return Some((value, 0..end));
    }
    // A single comma: the empty list.
    if let Some(rest) = s.strip_prefix(',')
        && rest_is_comment(rest)
    {
        return Some((Value::List(Vec::new()), 0..1));
    }
    None
}

/// From `pos`: list items (each followed by a comma), then an optional last item, then
/// only space and a comment. Tries longer lists first, as the regular expression does.
/// Returns the raw list items, the raw last item and the end of the value text.
///
/// The search backtracks like the regular expression, but remembers what each position
/// gave: without that, a line of many quotes and commas took exponential time (a fuzzed
/// 764-byte file ran for 26 s; Python's backtracking `re` has the same blow-up).
fn value_items(s: &str, pos: usize) -> Option<(Vec<String>, Option<String>, usize)> {
    items_from(s, pos, true, &mut HashMap::new())
}

type ItemsFrom = Option<(Vec<String>, Option<String>, usize)>;

/// `value_items` from `pos`, reached after `top` (the value's start) or after a comma; the
/// items found from `pos` on, memoised per position (the answer does not depend on the
/// items before).
fn items_from(s: &str, pos: usize, top: bool, memo: &mut HashMap<usize, ItemsFrom>) -> ItemsFrom {
    if !top && let Some(known) = memo.get(&pos) {
        return known.clone();
    }
    let found = items_from_uncached(s, pos, top, memo);
    if !top {
        memo.insert(pos, found.clone());
    }
    found
}

#[cfg(test)]
thread_local! {
    /// How many positions `items_from_uncached` searched (a test bounds it).
    static SEARCHES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn items_from_uncached(
    s: &str,
    pos: usize,
    top: bool,
    memo: &mut HashMap<usize, ItemsFrom>,
) -> ItemsFrom {
    #[cfg(test)]
    SEARCHES.with(|n| n.set(n.get() + 1));
    let rest = &s[pos..];
    let first = rest.chars().next();
    let with = |item: String, (more, last, end): (Vec<String>, Option<String>, usize)| {
        let mut items = Vec::with_capacity(more.len() + 1);
        items.push(item);
        items.extend(more);
        (items, last, end)
    };
    // 1. This item as a list item, then the rest recursively.
    match first {
        Some(q @ ('"' | '\'')) => {
            for (i, _) in rest[1..].match_indices(q) {
                let item_end = pos + 1 + i + 1;
                if let Some(next) = after_comma(s, item_end)
                    && let Some(r) = items_from(s, next, false, memo)
                {
                    return Some(with(s[pos..item_end].to_string(), r));
                }
            }
        }
        Some(c) if c != ',' && c != '#' => {
            // [^'",\#][^,\#]*? then \s*,
            if let Some(stop) = rest.find([',', '#'])
                && rest.as_bytes()[stop] == b','
            {
                let item = rest[..stop].trim_end_matches(is_space);
                if let Some(next) = after_comma(s, pos + stop)
                    && let Some(r) = items_from(s, next, false, memo)
                {
                    return Some(with(item.to_string(), r));
                }
            }
        }
        _ => {}
    }
    // 2. This item as the last one.
    match first {
        Some(q @ ('"' | '\'')) => {
            for (i, _) in rest[1..].match_indices(q) {
                let item_end = pos + 1 + i + 1;
                if rest_is_comment(&s[item_end..]) {
                    return Some((vec![], Some(s[pos..item_end].to_string()), item_end));
                }
            }
        }
        Some(c) if c != ',' && c != '#' && !is_space(c) => {
            // [^,]*? then \s*(#.*)?$ : the shortest item after which only a comment follows.
            for (i, ch) in rest.char_indices().skip(1) {
                if rest_is_comment(&rest[i..]) {
                    return Some((vec![], Some(rest[..i].to_string()), pos + i));
                }
                if ch == ',' {
                    break;
                }
            }
            if !rest.contains(',') {
                return Some((vec![], Some(rest.to_string()), s.len()));
            }
        }
        _ => {}
    }
    // 3. No last item.
    if rest_is_comment(rest) {
        let end = if top {
            pos
        } else {
            // The value text ends at the last comma.
            s[..pos].trim_end_matches(is_space).len()
        };
        return Some((vec![], None, end));
    }
    None
}

/// After an item ending at `at`: `\s*,\s*`; the position after it.
fn after_comma(s: &str, at: usize) -> Option<usize> {
    let rest = &s[at..];
    let t = rest.trim_start_matches(is_space);
    let t2 = t.strip_prefix(',')?;
    let t3 = t2.trim_start_matches(is_space);
    Some(s.len() - t3.len())
}

/// ConfigObj's `_unquote`: strip matching outer quotes.
fn unquote(v: &str) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_line_of_many_quotes_and_commas_searches_each_position_once() {
        // Found by fuzzing (renewal_conf): 26 s of CPU before the search was memoised.
        let input = include_str!("../../fuzz/regressions/renewal_conf/slow-unit-quotes-and-commas");
        super::SEARCHES.with(|n| n.set(0));
        let _ = super::RenewalConf::parse(input);
        let searches = super::SEARCHES.with(|n| n.get());
        let bound = input.len() + input.lines().count();
        assert!(
            searches <= bound,
            "{searches} value searches for {} bytes (at most {bound})",
            input.len()
        );
    }

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
