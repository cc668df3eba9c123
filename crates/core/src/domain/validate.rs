//! The rules a tune must obey before it is stored. The editor runs them for instant
//! feedback and the database worker runs them again, so bad input can never be saved.

use super::{Field, FieldErrors, TUNE_TYPES, TuneDraft, TuneFields};

/// Longest title, in characters.
pub const TITLE_MAX: usize = 200;
/// Longest incipit, in characters.
pub const INCIPIT_MAX: usize = 4_000;
/// Longest full ABC, in bytes (what a tune book of a few pages needs).
pub const ABC_MAX_BYTES: usize = crate::abc::TUNE_MAX_BYTES;
/// Longest value of the other one-line text fields, in characters.
pub const SHORT_TEXT_MAX: usize = 200;

/// Checks a draft and returns the cleaned fields, or a message for every invalid field.
pub fn validate(draft: &TuneDraft) -> Result<TuneFields, FieldErrors> {
    let mut errors = FieldErrors::default();

    let title = one_line(&mut errors, Field::Title, &draft.title, TITLE_MAX);
    if title.is_none() && errors.get(Field::Title).is_none() {
        errors.add(Field::Title, "Title is required.");
    }

    let tune_type = one_line(&mut errors, Field::Type, &draft.tune_type, SHORT_TEXT_MAX);
    if let Some(t) = &tune_type
        && !TUNE_TYPES.contains(&t.as_str())
    {
        errors.add(Field::Type, "Choose a type from the list.");
    }

    let release_year = release_year(&mut errors, &draft.release_year);

    let incipit = draft.incipit.trim();
    let incipit_len = incipit.chars().count();
    if incipit_len > INCIPIT_MAX {
        errors.add(
            Field::Incipit,
            format!("Incipit must be at most {INCIPIT_MAX} characters (it has {incipit_len})."),
        );
    }

    // Trailing blank lines carry nothing; leading whitespace may be the music's layout.
    let abc = draft.abc.trim_end();
    if abc.len() > ABC_MAX_BYTES {
        errors
            .add(Field::Abc, format!("ABC must be at most 64 KB (it has {} KB).", abc.len().div_ceil(1024)));
    }

    let fields = TuneFields {
        title: title.unwrap_or_default(),
        tune_type,
        structure: one_line(&mut errors, Field::Structure, &draft.structure, SHORT_TEXT_MAX),
        // A key the app can read is stored the one way ("Edor", "E Dorian" → "E dorian"),
        // so the list can filter by it; anything else stays as typed.
        mode: one_line(&mut errors, Field::Mode, &draft.mode, SHORT_TEXT_MAX)
            .map(|m| crate::abc::Key::from_text(&m).map(|k| k.to_string()).unwrap_or(m)),
        genre: one_line(&mut errors, Field::Genre, &draft.genre, SHORT_TEXT_MAX),
        composer: one_line(&mut errors, Field::Composer, &draft.composer, SHORT_TEXT_MAX),
        artist: one_line(&mut errors, Field::Artist, &draft.artist, SHORT_TEXT_MAX),
        release_year,
        incipit: (!incipit.is_empty()).then(|| incipit.to_string()),
        abc: (!abc.trim().is_empty()).then(|| abc.to_string()),
    };
    if errors.is_empty() { Ok(fields) } else { Err(errors) }
}

/// Trims a one-line text field; empty becomes `None`. Records a message when the value
/// is too long or holds control characters (a text input cannot produce them, so they
/// signal a damaged or hostile request).
fn one_line(errors: &mut FieldErrors, field: Field, raw: &str, max: usize) -> Option<String> {
    let value = raw.trim();
    let len = value.chars().count();
    if len > max {
        errors.add(field, format!("{} must be at most {max} characters (it has {len}).", field.label()));
    } else if value.chars().any(char::is_control) {
        errors.add(field, format!("{} cannot contain line breaks or control characters.", field.label()));
    }
    (!value.is_empty()).then(|| value.to_string())
}

fn release_year(errors: &mut FieldErrors, raw: &str) -> Option<u16> {
    let value = raw.trim();
    if value.is_empty() {
        return None;
    }
    let year = (value.len() == 4 && value.bytes().all(|b| b.is_ascii_digit()))
        .then(|| value.parse::<u16>().ok())
        .flatten()
        .filter(|y| *y >= 1000);
    if year.is_none() {
        errors.add(Field::ReleaseYear, "Release year must be 4 digits, like 1998.");
    }
    year
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(title: &str) -> TuneDraft {
        TuneDraft { title: title.into(), ..TuneDraft::default() }
    }

    #[test]
    fn minimal_tune_is_valid_and_trimmed() {
        let fields = validate(&draft("  The Silver Spear ")).unwrap();
        assert_eq!(fields.title, "The Silver Spear");
        assert_eq!(fields.tune_type, None);
        assert_eq!(fields.release_year, None);
    }

    #[test]
    fn full_tune_round_trips_through_draft() {
        let input = TuneDraft {
            title: "Cooley's".into(),
            tune_type: "reel".into(),
            structure: "AABB".into(),
            mode: "E dorian".into(),
            genre: "Irish traditional".into(),
            composer: "Joe Cooley".into(),
            artist: "Joe Cooley".into(),
            release_year: "1975".into(),
            incipit: "X:1\nK:Edor\n|:D2|EBBA B2EB|".into(),
            abc: String::new(),
        };
        let fields = validate(&input).unwrap();
        assert_eq!(fields.release_year, Some(1975));
        assert_eq!(fields.to_draft(), input);
    }

    #[test]
    fn each_rule_reports_on_its_own_field() {
        let long = |n: usize| "x".repeat(n);
        type Case = (fn(&mut TuneDraft, String), String, Field, &'static str);
        let cases: Vec<Case> = vec![
            (|d, v| d.title = v, "".into(), Field::Title, "Title is required."),
            (|d, v| d.title = v, "   ".into(), Field::Title, "Title is required."),
            (|d, v| d.title = v, long(201), Field::Title, "at most 200 characters (it has 201)"),
            (|d, v| d.title = v, "a\u{7}b".into(), Field::Title, "control characters"),
            (|d, v| d.tune_type = v, "gavotte".into(), Field::Type, "Choose a type"),
            (|d, v| d.mode = v, long(201), Field::Mode, "Mode must be at most 200"),
            (|d, v| d.composer = v, "a\nb".into(), Field::Composer, "line breaks"),
            (|d, v| d.release_year = v, "98".into(), Field::ReleaseYear, "4 digits"),
            (|d, v| d.release_year = v, "19987".into(), Field::ReleaseYear, "4 digits"),
            (|d, v| d.release_year = v, "0999".into(), Field::ReleaseYear, "4 digits"),
            (|d, v| d.release_year = v, "١٩٩٨".into(), Field::ReleaseYear, "4 digits"),
            (|d, v| d.release_year = v, "+199".into(), Field::ReleaseYear, "4 digits"),
            (|d, v| d.incipit = v, long(4001), Field::Incipit, "at most 4000 characters"),
        ];
        for (set, value, field, expected) in cases {
            let mut d = draft("Title");
            set(&mut d, value.clone());
            let errors = validate(&d).expect_err(&format!("{field:?}={value:?} accepted"));
            let message = errors.get(field).unwrap_or_default();
            assert!(message.contains(expected), "{field:?}={value:?}: {message}");
            assert_eq!(errors.iter().count(), 1, "{errors}");
        }
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        assert!(validate(&draft(&"é".repeat(TITLE_MAX))).is_ok());
        let mut d = draft("t");
        d.incipit = "♪".repeat(INCIPIT_MAX);
        assert!(validate(&d).is_ok());
    }

    #[test]
    fn every_listed_type_is_accepted() {
        for t in TUNE_TYPES {
            let mut d = draft("t");
            d.tune_type = (*t).into();
            assert_eq!(validate(&d).unwrap().tune_type.as_deref(), Some(*t));
        }
    }

    #[test]
    fn several_errors_are_reported_together() {
        let d = TuneDraft { release_year: "abcd".into(), ..TuneDraft::default() };
        let errors = validate(&d).unwrap_err();
        assert!(errors.get(Field::Title).is_some());
        assert!(errors.get(Field::ReleaseYear).is_some());
    }
}
