//! ConfigObj 5's line grammar as certbot uses it: section markers, keyword lines, single-line
//! values (quoted, bare, comma lists) with the byte ranges [`RenewalConf`] edits by.

use std::collections::HashMap;
use std::ops::Range;

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
pub(super) struct Entry {
    /// Section path: empty at the top, `["renewalparams", "webroot_map"]` in the subsection.
    pub(super) section: Vec<String>,
    pub(super) key: String,
    pub(super) value: Value,
    /// The value's bytes (quotes included, inline comment excluded).
    pub(super) value_span: Range<usize>,
    /// From the start of the entry's first line to the end of its last line (newline
    /// included when there is one).
    pub(super) lines: Range<usize>,
    /// 1-based line of the key.
    pub(super) line: usize,
}

/// A section marker and the end of the section's own entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SectionInfo {
    pub(super) path: Vec<String>,
    /// End of the header line (newline included when there is one).
    pub(super) header_end: usize,
    /// End of the last line of the last entry directly in this section, if any.
    pub(super) last_entry_end: Option<usize>,
}

/// What the grammar made of a text: its entries and sections, and its line ending.
pub(super) struct Parsed {
    pub(super) entries: Vec<Entry>,
    pub(super) sections: Vec<SectionInfo>,
    pub(super) newline: &'static str,
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

pub(super) struct Parser<'a> {
    text: &'a str,
    lines: Vec<Line<'a>>,
}

impl<'a> Parser<'a> {
    pub(super) fn new(text: &'a str) -> Self {
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

    pub(super) fn run(self) -> Result<Parsed, ConfError> {
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
        Ok(Parsed {
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
pub(super) fn parse_value(s: &str) -> Option<(Value, Range<usize>)> {
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
    pub(super) static SEARCHES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
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
