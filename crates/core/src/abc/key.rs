//! ABC keys (`K:` fields) as a tonic and a mode, normalised for display and search
//! ("Am" → "A minor", "Edor" → "E dorian", "HP" → "A mixolydian").

use std::fmt;

/// The seven modes ABC names, major and minor included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    Major,
    Minor,
    Dorian,
    Mixolydian,
    Phrygian,
    Lydian,
    Locrian,
}

impl Mode {
    const ALL: [Mode; 7] = [
        Mode::Major,
        Mode::Minor,
        Mode::Dorian,
        Mode::Mixolydian,
        Mode::Phrygian,
        Mode::Lydian,
        Mode::Locrian,
    ];

    /// The word musicians use ("dorian").
    pub fn name(self) -> &'static str {
        match self {
            Mode::Major => "major",
            Mode::Minor => "minor",
            Mode::Dorian => "dorian",
            Mode::Mixolydian => "mixolydian",
            Mode::Phrygian => "phrygian",
            Mode::Lydian => "lydian",
            Mode::Locrian => "locrian",
        }
    }

    /// ABC's spelling after the tonic ("" for major, "m", "dor", …).
    fn abc(self) -> &'static str {
        match self {
            Mode::Major => "",
            Mode::Minor => "m",
            Mode::Dorian => "dor",
            Mode::Mixolydian => "mix",
            Mode::Phrygian => "phr",
            Mode::Lydian => "lyd",
            Mode::Locrian => "loc",
        }
    }

    /// The mode a `K:` field names after its tonic: ABC compares the first three letters,
    /// case-insensitively; "m" alone is minor and nothing is major.
    fn parse(word: &str) -> Option<Mode> {
        let w = word.to_ascii_lowercase();
        if w.is_empty() {
            return Some(Mode::Major);
        }
        if w == "m" {
            return Some(Mode::Minor);
        }
        let prefix = w.get(..3)?;
        match prefix {
            // "exp": explicit accidentals follow instead of a mode; read as the tonic's major.
            "maj" | "ion" | "exp" => Some(Mode::Major),
            "min" | "aeo" => Some(Mode::Minor),
            _ => Self::ALL.into_iter().find(|m| m.abc() == prefix),
        }
    }
}

/// A key: tonic ("D", "Bb", "F#") and mode.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub tonic: String,
    pub mode: Mode,
}

impl Key {
    /// Reads a `K:` field's value. `None` for "none" and anything that names no key (the
    /// caller then keeps the text as it is).
    pub fn parse(field: &str) -> Option<Key> {
        let text = field.split('%').next().unwrap_or("").trim();
        // Highland pipe music: A mixolydian with the pipes' own signature.
        if text.eq_ignore_ascii_case("hp") {
            return Some(Key { tonic: "A".into(), mode: Mode::Mixolydian });
        }
        let mut chars = text.chars();
        let letter = chars.next()?.to_ascii_uppercase();
        if !('A'..='G').contains(&letter) {
            return None;
        }
        let rest = chars.as_str();
        let (accidental, rest) = match rest.chars().next() {
            Some('#') => ("#", &rest[1..]),
            // No mode word starts with "b": a "b" here is a flat.
            Some('b') => ("b", &rest[1..]),
            _ => ("", rest),
        };
        // The mode word ends at a space (explicit accidentals, clef=… and such follow).
        let word = rest.trim_start().split(|c: char| c.is_whitespace()).next().unwrap_or("");
        let word = if word.contains('=') || word.starts_with(['^', '_', '=']) { "" } else { word };
        Some(Key { tonic: format!("{letter}{accidental}"), mode: Mode::parse(word)? })
    }

    /// Reads a key as the app shows it ("E dorian"), or as ABC writes it ("Edor").
    pub fn from_text(text: &str) -> Option<Key> {
        let text = text.trim();
        let mut words = text.split_whitespace();
        let tonic = words.next()?;
        let mode = words.next();
        if words.next().is_some() {
            return None;
        }
        match mode {
            Some(m) => {
                let key = Key::parse(tonic)?;
                let mode = Mode::ALL
                    .into_iter()
                    .find(|x| x.name().eq_ignore_ascii_case(m))
                    .or_else(|| Mode::parse(m))?;
                (key.mode == Mode::Major).then_some(Key { tonic: key.tonic, mode })
            }
            None => Key::parse(tonic),
        }
    }

    /// The key as ABC writes it in `K:` ("Edor", "Bbm", "D").
    pub fn to_abc(&self) -> String {
        format!("{}{}", self.tonic, self.mode.abc())
    }
}

impl fmt::Display for Key {
    /// "D major", "E dorian", "Bb minor".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.tonic, self.mode.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_normalise_as_musicians_say_them() {
        let cases = [
            ("G", Some("G major")),
            (" D", Some("D major")),
            ("Am", Some("A minor")),
            ("Amin", Some("A minor")),
            ("A minor", Some("A minor")),
            ("Edor", Some("E dorian")),
            ("E Dorian", Some("E dorian")),
            ("Dmix", Some("D mixolydian")),
            ("Bb", Some("Bb major")),
            ("Bbm", Some("Bb minor")),
            ("F#m", Some("F# minor")),
            ("Eb maj", Some("Eb major")),
            ("HP", Some("A mixolydian")),
            ("D exp ^f ^c", Some("D major")),
            ("G clef=treble", Some("G major")),
            ("Ador % the old way", Some("A dorian")),
            ("bm", Some("B minor")),
            ("none", None),
            ("", None),
            ("H", None),
            ("Dxyz", None),
        ];
        for (text, want) in cases {
            assert_eq!(Key::parse(text).map(|k| k.to_string()).as_deref(), want, "K:{text}");
        }
    }

    #[test]
    fn keys_round_trip_between_display_and_abc() {
        for text in ["D major", "E dorian", "Bb minor", "F# mixolydian", "C lydian"] {
            let key = Key::from_text(text).unwrap();
            assert_eq!(key.to_string(), text);
            assert_eq!(Key::parse(&key.to_abc()), Some(key));
        }
        assert_eq!(Key::from_text("Edor").map(|k| k.to_string()).as_deref(), Some("E dorian"));
        assert_eq!(Key::from_text("sort of D"), None);
    }
}
