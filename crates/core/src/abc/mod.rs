//! ABC notation: reading tune books into tunes (with what could not be read, and why),
//! and writing tunes back out as a book. The parser follows ABC 2.1's file structure and
//! header fields; the music itself is kept as text (abcjs draws and plays it).

mod key;
mod parse;

pub use key::{Key, Mode};
pub use parse::{AbcBook, AbcTune, TUNE_MAX_BYTES, Unreadable, decode, parse_book};

use crate::domain::{TUNE_TYPES, TuneDraft, TuneFields};

/// Longest incipit taken from a tune's first line of music, in characters.
const INCIPIT_FROM_ABC: usize = 200;

/// An `R:` value as one of the app's tune types ("Slip-jig" → "slip jig"); a rhythm
/// the app does not list becomes "other" (the tune's ABC keeps the original).
pub fn normalise_type(rhythm: &str) -> Option<String> {
    let r = rhythm.trim().to_lowercase().replace(['-', '_'], " ");
    let r = r.split_whitespace().collect::<Vec<_>>().join(" ");
    if r.is_empty() {
        return None;
    }
    let r = match r.as_str() {
        "slipjig" | "slip jig" => "slip jig",
        "barn dance" | "barndance" => "barndance",
        "reels" => "reel",
        "jigs" | "double jig" | "single jig" => "jig",
        "hornpipes" => "hornpipe",
        "polkas" => "polka",
        "slides" => "slide",
        "waltzes" => "waltz",
        "marches" => "march",
        "strathspeys" => "strathspey",
        other if TUNE_TYPES.contains(&other) => other,
        _ => "other",
    };
    Some(r.to_string())
}

impl AbcTune {
    /// The editor's draft for this tune: its first title, type, key as mode ("D major"),
    /// composer, the first line of music as incipit, and the whole text as its ABC.
    pub fn to_draft(&self) -> TuneDraft {
        let first_line: String =
            self.first_line.as_deref().unwrap_or("").chars().take(INCIPIT_FROM_ABC).collect();
        TuneDraft {
            title: self.titles.first().cloned().unwrap_or_default(),
            tune_type: self.rhythm.clone().unwrap_or_default(),
            mode: self.key.as_ref().map(Key::to_string).unwrap_or_default(),
            composer: self.composer.clone().unwrap_or_default(),
            incipit: first_line,
            abc: self.text.trim_end().to_string(),
            ..TuneDraft::default()
        }
    }

    /// What makes two tunes "the same" for import: title (case and spacing ignored) and
    /// key.
    pub fn identity(&self) -> (String, String) {
        identity(
            self.titles.first().map(String::as_str).unwrap_or(""),
            self.key.as_ref().map(Key::to_string).as_deref(),
        )
    }
}

/// Normalised (title, key) of a tune: how an import spots a tune already there.
pub fn identity(title: &str, mode: Option<&str>) -> (String, String) {
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    let key = mode.and_then(Key::from_text).map(|k| k.to_string()).unwrap_or_default();
    (title, key)
}

/// One tune as ABC, numbered `n`: its own ABC when it has some (`X:` set to `n`, and the
/// header's first `T:`, `R:`, `C:` and `K:` set from the fields, which the musician may
/// have edited since), otherwise a header built from its fields with the incipit as the
/// music.
pub fn write_tune(n: usize, fields: &TuneFields) -> String {
    if let Some(abc) = fields.abc.as_deref() {
        return patch_header(n, abc, fields);
    }
    let mut out = format!("X:{n}\nT:{}\n", fields.title);
    if let Some(t) = &fields.tune_type {
        out.push_str(&format!("R:{t}\n"));
    }
    if let Some(c) = &fields.composer {
        out.push_str(&format!("C:{c}\n"));
    }
    let key = fields.mode.as_deref().and_then(Key::from_text).map(|k| k.to_abc());
    out.push_str(&format!("K:{}\n", key.as_deref().unwrap_or("none")));
    if let Some(incipit) = &fields.incipit {
        // The incipit may hold its own little header (X:, K:…): only its music goes here.
        for l in incipit.lines().filter(|l| !l.trim().is_empty() && !is_field_line(l)) {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// What to do with a header field the app also holds.
enum Slot {
    /// Write this value (once).
    Set(String),
    /// Already written, or the app holds none: drop the tune's own line.
    Drop,
    /// Keep the tune's own line (a key the app's mode text does not name).
    Keep,
}

/// The tune's own ABC with its number and the header fields the app also holds taken
/// from `fields` (alternate titles, other fields and the music stay as written).
fn patch_header(n: usize, abc: &str, fields: &TuneFields) -> String {
    let set = |v: &Option<String>| v.clone().map(Slot::Set).unwrap_or(Slot::Drop);
    let key = fields.mode.as_deref().and_then(Key::from_text).map(|k| Slot::Set(k.to_abc()));
    let mut slots = [
        ('T', Slot::Set(fields.title.clone())),
        ('R', set(&fields.tune_type)),
        ('C', set(&fields.composer)),
        ('K', key.unwrap_or(Slot::Keep)),
    ];
    let mut out = format!("X:{n}\n");
    let mut in_header = true;
    for line in abc.lines().skip_while(|l| l.trim().is_empty()) {
        if line.starts_with("X:") {
            continue;
        }
        let letter = line.chars().next().filter(|_| in_header && is_field_line(line));
        let Some(letter) = letter else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        if letter == 'K' {
            // What the header lacks goes before the key, which ends it.
            for (l, slot) in slots.iter_mut().filter(|(l, _)| *l != 'K') {
                if let Slot::Set(v) = std::mem::replace(slot, Slot::Drop) {
                    out.push_str(&format!("{l}:{v}\n"));
                }
            }
            in_header = false;
        }
        match slots.iter_mut().find(|(l, _)| *l == letter) {
            Some((_, slot)) => match std::mem::replace(slot, Slot::Drop) {
                Slot::Set(v) => out.push_str(&format!("{letter}:{v}\n")),
                Slot::Keep => {
                    out.push_str(line);
                    out.push('\n');
                }
                // Alternate titles stay; a field the app cleared goes.
                Slot::Drop if letter == 'T' => {
                    out.push_str(line);
                    out.push('\n');
                }
                Slot::Drop => {}
            },
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

fn is_field_line(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// The meter a tune type is usually written in.
fn meter_of(tune_type: Option<&str>) -> &'static str {
    match tune_type {
        Some("jig") => "6/8",
        Some("slip jig") => "9/8",
        Some("slide") => "12/8",
        Some("polka") | Some("march") => "2/4",
        Some("waltz") | Some("mazurka") => "3/4",
        _ => "4/4",
    }
}

/// What the staff shows for a tune: its whole ABC, or else its incipit under a header
/// built from the title, type (meter) and mode (key). An incipit that carries its own
/// `K:` is whole ABC already. `None` when there is no music at all.
pub fn notation_text(
    title: &str,
    tune_type: Option<&str>,
    mode: Option<&str>,
    incipit: Option<&str>,
    abc: Option<&str>,
) -> Option<String> {
    if let Some(abc) = abc.filter(|a| !a.trim().is_empty()) {
        return Some(abc.to_string());
    }
    let incipit = incipit.filter(|i| !i.trim().is_empty())?;
    if incipit.lines().any(|l| l.starts_with("K:")) {
        let has_x = incipit.starts_with("X:");
        return Some(if has_x { incipit.to_string() } else { format!("X:1\n{incipit}") });
    }
    let key = mode.and_then(Key::from_text).map(|k| k.to_abc()).unwrap_or_else(|| "C".into());
    Some(format!("X:1\nT:{title}\nM:{}\nL:1/8\nK:{key}\n{incipit}\n", meter_of(tune_type)))
}

/// A whole book: the tunes one after another, numbered from 1, a blank line between.
pub fn write_book<'a>(tunes: impl IntoIterator<Item = &'a TuneFields>) -> String {
    let mut out = String::from("%abc-2.1\n\n");
    for (i, t) in tunes.into_iter().enumerate() {
        out.push_str(&write_tune(i + 1, t));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
