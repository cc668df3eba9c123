//! The parser against a real tune book (Ryan's Mammoth Collection, 1,059 tunes), small
//! hand-written edge cases, and the export → import round trip.

use super::*;

const MAMMOTH: &str = include_str!("../../tests/fixtures/ryans-mammoth.abc");

#[test]
fn every_tune_of_a_real_book_is_read_with_its_title_key_and_type() {
    let book = parse_book(MAMMOTH);
    let x_lines = MAMMOTH.lines().filter(|l| l.starts_with("X:")).count();
    assert_eq!(x_lines, 1_059);
    assert_eq!(book.unreadable, [], "every tune is read");
    assert_eq!(book.tunes.len(), 1_059);
    // Spot checks, as the file says them.
    let first = &book.tunes[0];
    assert_eq!(first.line, 1);
    assert_eq!(first.titles, ["42d Highland Regiment -- Strathspey"]);
    assert_eq!(first.key.as_ref().map(Key::to_string).as_deref(), Some("A minor"));
    assert_eq!(first.rhythm.as_deref(), Some("strathspey"));
    assert_eq!(first.meter.as_deref(), Some("C"));
    assert_eq!(first.first_line.as_deref(), Some("u\"4\"e|"));
    let second = &book.tunes[1];
    assert_eq!(second.titles, ["7th Regiment -- Reel"]);
    assert_eq!(second.composer.as_deref(), Some("CONN. HIGGINS."));
    assert_eq!(second.key.as_ref().map(Key::to_string).as_deref(), Some("A major"));
    assert_eq!(second.notes, ["Similar to Flowing Tide Hornpipe", "363"]);
    // Every K: of a tune's header names a key, and every R: maps to a type the app lists.
    for tune in &book.tunes {
        let header_key = tune.text.lines().find(|l| l.starts_with("K:")).unwrap();
        let expected = Key::parse(&header_key[2..]);
        assert_eq!(tune.key, expected, "{:?}", tune.titles);
        if let Some(r) = &tune.rhythm {
            assert!(crate::domain::TUNE_TYPES.contains(&r.as_str()), "{r}");
        }
        let draft = tune.to_draft();
        assert!(
            crate::domain::validate(&draft).is_ok(),
            "{:?}: {:?}",
            tune.titles,
            crate::domain::validate(&draft)
        );
    }
    let reels = book.tunes.iter().filter(|t| t.rhythm.as_deref() == Some("reel")).count();
    let jigs = book.tunes.iter().filter(|t| t.rhythm.as_deref() == Some("jig")).count();
    assert_eq!((reels, jigs), (369 + 54 + 16, 118 + 112 + 4), "R:reel, R: reel, R: REEL; the jigs likewise");
}

#[test]
fn file_headers_comments_continuations_and_free_text() {
    let text = "%abc-2.1\r\nR:reel\r\nC:Trad.\r\n%%titlefont Times 16\r\n\r\nSome words about the book.\r\n\r\nX:1\r\nT:The Kesh\r\nT:The Kesh Jig % also\r\n+: (the Castle)\r\nR:Jig\r\nM:6/8\r\nK:G % comment\r\n|:GAG GAB|\r\n\r\nThis is text between tunes.\r\nX:2\r\nT:Out on the Ocean\r\nN:from \\% Jim\r\nK:Edor\r\n% a comment first\r\nB2E E2D|\r\n\r\nX:3\r\nT:No key here\r\n|:abc|\r\n\r\nX:4\r\nK:D\r\nDFA|\r\n\r\nX:5\r\nT:Last, no newline\r\nK:Ador\r\neAA";
    let book = parse_book(text);
    let titles: Vec<_> = book.tunes.iter().map(|t| t.titles.clone()).collect();
    assert_eq!(
        titles,
        [
            vec!["The Kesh".to_string(), "The Kesh Jig (the Castle)".to_string()],
            vec!["Out on the Ocean".to_string()],
            vec!["Last, no newline".to_string()],
        ]
    );
    let kesh = &book.tunes[0];
    assert_eq!(kesh.rhythm.as_deref(), Some("jig"), "the tune's R: wins over the file's");
    assert_eq!(kesh.composer.as_deref(), Some("Trad."), "the file header's C: applies");
    assert_eq!(kesh.key.as_ref().map(Key::to_string).as_deref(), Some("G major"));
    assert!(kesh.text.starts_with("X:1\nC:Trad.\n%%titlefont Times 16\nT:The Kesh\n"), "{}", kesh.text);
    assert!(!kesh.text.contains('\r'));
    let ocean = &book.tunes[1];
    assert_eq!(ocean.rhythm.as_deref(), Some("reel"), "inherited from the file header");
    assert_eq!(ocean.notes, ["from % Jim"]);
    assert_eq!(ocean.first_line.as_deref(), Some("B2E E2D|"));
    assert_eq!(book.tunes[2].first_line.as_deref(), Some("eAA"));
    let reasons: Vec<_> =
        book.unreadable.iter().map(|u| (u.line, u.title.clone(), u.reason.clone())).collect();
    assert_eq!(
        reasons,
        [
            (
                25,
                Some("No key here".to_string()),
                "it has no K: (key) line, which ends a tune's header".to_string()
            ),
            (29, None, "it has no title (T:)".to_string()),
        ]
    );
}

#[test]
fn latin1_files_are_read_as_latin1_and_utf8_as_utf8() {
    let latin1 = b"X:1\nT:An C\xf3ta Mh\xf3r\nK:G\nGAB|\n";
    assert_eq!(parse_book(&decode(latin1)).tunes[0].titles, ["An Cóta Mhór"]);
    let utf8 = "\u{feff}X:1\nT:An Cóta Mhór\nK:G\nGAB|\n";
    assert_eq!(parse_book(&decode(utf8.as_bytes())).tunes[0].titles, ["An Cóta Mhór"]);
}

#[test]
fn a_tune_over_the_limit_is_refused_with_its_reason() {
    let body = "abcd efga|".repeat(7_000);
    let book = parse_book(&format!("X:1\nT:Long\nK:D\n{body}\n"));
    assert_eq!(book.unreadable[0].reason, "it is longer than 64 KB");
}

#[test]
fn types_normalise_to_the_apps_list() {
    for (r, want) in [
        ("Reel", "reel"),
        (" slip-jig", "slip jig"),
        ("SlipJig", "slip jig"),
        ("Barn Dance", "barndance"),
        ("clog", "other"),
    ] {
        assert_eq!(normalise_type(r).as_deref(), Some(want), "{r}");
    }
    assert_eq!(normalise_type("  "), None);
}

#[test]
fn an_exported_tune_keeps_edited_fields_and_its_own_music() {
    let book = parse_book(MAMMOTH);
    let mut fields = crate::domain::validate(&book.tunes[1].to_draft()).unwrap();
    fields.title = "Seventh Regiment".into();
    fields.composer = None;
    fields.mode = Some("A dorian".into());
    let out = write_tune(9, &fields);
    assert!(out.starts_with("X:9\nT:Seventh Regiment\n"), "{out}");
    assert!(!out.contains("C:"), "the composer was cleared: {out}");
    assert!(out.contains("\nK:Ador\n") && out.contains("\"4\"eAc\"0\"e"), "{out}");
    let again = parse_book(&out).tunes.remove(0);
    assert_eq!(crate::domain::validate(&again.to_draft()).unwrap().abc, Some(out.trim_end().to_string()));
}

#[test]
fn a_tune_without_abc_shows_its_incipit_under_a_built_header() {
    let built = notation_text("The Kesh", Some("jig"), Some("G major"), Some("|:GAG GAB|"), None);
    assert_eq!(built.as_deref(), Some("X:1\nT:The Kesh\nM:6/8\nL:1/8\nK:G\n|:GAG GAB|\n"));
    let own = notation_text("x", None, None, Some("M:4/4\nK:Edor\nB2E|"), None);
    assert_eq!(own.as_deref(), Some("X:1\nM:4/4\nK:Edor\nB2E|"));
    assert_eq!(notation_text("x", None, None, None, Some("X:1\nK:D\nd|")).as_deref(), Some("X:1\nK:D\nd|"));
    assert_eq!(notation_text("x", None, None, Some("  "), None), None);
}

#[cfg(not(target_arch = "wasm32"))]
mod round_trip {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::{TuneFields, validate};

    fn fields() -> impl Strategy<Value = TuneFields> {
        let key = (0..7usize, 0..7usize, prop::bool::ANY).prop_map(|(t, m, sharp)| {
            let tonic = ["A", "B", "C", "D", "E", "F", "G"][t];
            let acc = if sharp && tonic != "B" && tonic != "E" { "#" } else { "" };
            format!(
                "{tonic}{acc} {}",
                ["major", "minor", "dorian", "mixolydian", "lydian", "phrygian", "locrian"][m]
            )
        });
        (
            "[A-Za-z][A-Za-z0-9 ',.()-]{0,40}[A-Za-z0-9]",
            prop::sample::select(crate::domain::TUNE_TYPES),
            key,
            prop::option::of("[A-Z][a-z]{1,10}( [A-Z][a-z]{1,10})?"),
            "[A-Ga-g]{1,4}( ?[A-Ga-g|]{1,6}){1,6}",
            prop::bool::ANY,
        )
            .prop_map(|(title, tune_type, mode, composer, music, with_abc)| {
                let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
                let abc =
                    with_abc.then(|| format!("X:1\nT:{title}\nT:Another name\nM:6/8\nK:D\n{music}\n{music}"));
                TuneFields {
                    title,
                    tune_type: Some(tune_type.to_string()),
                    mode: Some(mode),
                    composer,
                    incipit: Some(music),
                    abc,
                    ..TuneFields::default()
                }
            })
    }

    proptest! {
        #[test]
        fn importing_an_export_gives_back_the_same_tunes(tunes in prop::collection::vec(fields(), 1..8)) {
            let book = parse_book(&write_book(&tunes));
            prop_assert!(book.unreadable.is_empty(), "{:?}", book.unreadable);
            prop_assert_eq!(book.tunes.len(), tunes.len());
            for (original, read) in tunes.iter().zip(&book.tunes) {
                let back = validate(&read.to_draft()).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(&back.title, &original.title);
                prop_assert_eq!(&back.tune_type, &original.tune_type);
                prop_assert_eq!(&back.mode, &original.mode);
                prop_assert_eq!(&back.composer, &original.composer);
                prop_assert_eq!(&back.incipit, &original.incipit);
                if original.abc.is_some() {
                    // Its own ABC comes back as exported (numbered, header from the fields).
                    let exported = write_tune(1, original).trim_end().replacen("X:1", &format!("X:{}", read_number(read)), 1);
                    prop_assert_eq!(back.abc.as_deref(), Some(exported.as_str()));
                }
            }
        }
    }

    fn read_number(tune: &AbcTune) -> String {
        tune.text.lines().next().unwrap_or("").trim_start_matches("X:").to_string()
    }
}
