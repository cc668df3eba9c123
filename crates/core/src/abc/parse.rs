//! Reading ABC 2.1 tune books: the optional file header (its fields and `%%` directives
//! apply to every tune), tunes from `X:` to the next blank line, the header fields the
//! library keeps (`T:` repeated as alternate titles, `R:`, `M:`, `L:`, `K:`, `C:`, `O:`,
//! `S:`, `N:`, `+:` continuations), `%` comments, free text between tunes, CRLF, a
//! missing final newline. Bytes that are not UTF-8 are read as Latin-1.

use super::key::Key;
use super::normalise_type;

/// The longest tune text kept (the synced `abc` field's limit).
pub const TUNE_MAX_BYTES: usize = 64 * 1024;

/// One tune read from a book.
#[derive(Clone, Debug, PartialEq)]
pub struct AbcTune {
    /// The line of its `X:` in the file (1-based).
    pub line: usize,
    /// Its titles: the first is the tune's name, the rest alternate titles.
    pub titles: Vec<String>,
    /// `R:`, normalised ("reel", "slip jig").
    pub rhythm: Option<String>,
    pub meter: Option<String>,
    pub unit: Option<String>,
    /// `K:` as read; `key` is `None` when it names no key ("none").
    pub key_field: String,
    pub key: Option<Key>,
    pub composer: Option<String>,
    pub origin: Option<String>,
    pub source: Option<String>,
    pub notes: Vec<String>,
    /// The first line of music, for the tune's incipit.
    pub first_line: Option<String>,
    /// The whole tune as ABC that stands alone: its own lines, with the file header's
    /// fields and directives it relies on placed after `X:`.
    pub text: String,
}

/// A tune that could not be read, with why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    pub line: usize,
    /// Its first title, when it has one.
    pub title: Option<String>,
    pub reason: String,
}

/// A whole book: the tunes read and the ones that could not be.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AbcBook {
    pub tunes: Vec<AbcTune>,
    pub unreadable: Vec<Unreadable>,
}

/// The text of a file: UTF-8 when it is (a byte-order mark dropped), else Latin-1 (every
/// byte is that code point), as older ABC files are.
pub fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.strip_prefix('\u{feff}').unwrap_or(text).to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// `X:`-style field line: (letter, value). Directives (`%%`) and comments are not fields.
fn field(line: &str) -> Option<(char, &str)> {
    let mut chars = line.chars();
    let letter = chars.next()?;
    (letter.is_ascii_alphabetic() || letter == '+').then_some(())?;
    let value = chars.as_str().strip_prefix(':')?;
    Some((letter, value))
}

/// A field's value without its trailing comment (`\%` is a literal percent).
fn value(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'%') => {
                out.push('%');
                chars.next();
            }
            '%' => break,
            c => out.push(c),
        }
    }
    out.trim().to_string()
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Reads a whole tune book.
pub fn parse_book(text: &str) -> AbcBook {
    let lines: Vec<&str> = text.lines().map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let mut book = AbcBook::default();
    let mut i = 0;
    // The file header: from the start (after an optional `%abc` line) to the first blank
    // line, when it holds fields or directives and no `X:`.
    let mut header: Vec<String> = Vec::new();
    let first_x = lines.iter().position(|l| l.starts_with("X:"));
    let header_end = lines.iter().position(|l| is_blank(l)).unwrap_or(lines.len());
    if first_x.is_none_or(|x| x > header_end) {
        for line in &lines[..header_end] {
            if line.starts_with("%%") || field(line).is_some_and(|(l, _)| l != 'X' && l != '+') {
                header.push(line.to_string());
            }
        }
        i = header_end;
    }
    while i < lines.len() {
        if !lines[i].starts_with("X:") {
            // Free text between tunes.
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i + 1;
        while end < lines.len() && !is_blank(lines[end]) && !lines[end].starts_with("X:") {
            end += 1;
        }
        match read_tune(&lines[start..end], start + 1, &header) {
            Ok(tune) => book.tunes.push(tune),
            Err(bad) => book.unreadable.push(bad),
        }
        i = end;
    }
    book
}

/// Reads one tune's lines (the first is its `X:`).
fn read_tune(lines: &[&str], line: usize, header: &[String]) -> Result<AbcTune, Unreadable> {
    let mut tune = AbcTune {
        line,
        titles: Vec::new(),
        rhythm: None,
        meter: None,
        unit: None,
        key_field: String::new(),
        key: None,
        composer: None,
        origin: None,
        source: None,
        notes: Vec::new(),
        first_line: None,
        text: String::new(),
    };
    let mut in_header = true;
    let mut last: Option<char> = None;
    let mut own_fields: Vec<char> = Vec::new();
    for raw in &lines[1..] {
        if in_header {
            let Some((letter, rest)) = field(raw) else {
                if raw.starts_with('%') {
                    continue;
                }
                // Music before any K: — the header ended without a key.
                break;
            };
            let v = value(rest);
            let letter = if letter == '+' { last.unwrap_or('+') } else { letter };
            let continued = raw.starts_with("+:");
            own_fields.push(letter);
            match letter {
                'T' if continued => {
                    if let Some(t) = tune.titles.last_mut() {
                        t.push(' ');
                        t.push_str(&v);
                    }
                }
                'T' if !v.is_empty() => tune.titles.push(v),
                'R' => tune.rhythm = normalise_type(&v),
                'M' => tune.meter = Some(v),
                'L' => tune.unit = Some(v),
                'C' if !v.is_empty() => append(&mut tune.composer, &v, continued),
                'O' if !v.is_empty() => append(&mut tune.origin, &v, continued),
                'S' if !v.is_empty() => append(&mut tune.source, &v, continued),
                'N' if !v.is_empty() => tune.notes.push(v),
                'K' => {
                    tune.key = Key::parse(&v);
                    tune.key_field = v;
                    in_header = false;
                }
                _ => {}
            }
            last = Some(letter);
        } else if tune.first_line.is_none() && !raw.starts_with('%') && field(raw).is_none() {
            let music = value(raw);
            if !music.is_empty() {
                tune.first_line = Some(music.trim_end_matches('\\').trim().to_string());
            }
        }
    }
    let title = tune.titles.first().cloned();
    let refuse = |reason: &str| Unreadable { line, title: title.clone(), reason: reason.to_string() };
    if in_header {
        return Err(refuse("it has no K: (key) line, which ends a tune's header"));
    }
    if tune.titles.is_empty() {
        return Err(refuse("it has no title (T:)"));
    }
    // The tune stands alone: the file header's fields it does not set itself follow X:.
    let inherited = header.iter().filter(|h| {
        h.starts_with("%%") || field(h).is_some_and(|(l, _)| !own_fields.contains(&l) && l != 'T' && l != 'K')
    });
    let mut text = String::from(lines[0]);
    for l in inherited.map(String::as_str).chain(lines[1..].iter().copied()) {
        text.push('\n');
        text.push_str(l);
    }
    text.push('\n');
    for h in header {
        if let Some(('R', v)) = field(h)
            && tune.rhythm.is_none()
        {
            tune.rhythm = normalise_type(&value(v));
        }
        if let Some(('C', v)) = field(h)
            && tune.composer.is_none()
        {
            tune.composer = Some(value(v)).filter(|c| !c.is_empty());
        }
    }
    if text.len() > TUNE_MAX_BYTES {
        return Err(refuse("it is longer than 64 KB"));
    }
    tune.text = text;
    Ok(tune)
}

fn append(slot: &mut Option<String>, v: &str, continued: bool) {
    match slot {
        Some(s) if continued => {
            s.push(' ');
            s.push_str(v);
        }
        Some(s) => {
            s.push_str("; ");
            s.push_str(v);
        }
        None => *slot = Some(v.to_string()),
    }
}
