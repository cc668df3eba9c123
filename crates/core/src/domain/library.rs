//! What a musician keeps around their tunes: repertoires (the sets of tunes they play
//! on an instrument or for a session), notes, references (links to recordings, videos,
//! sheet music) and tags. Each comes as a draft the form holds, the rules it must obey
//! (run by the form and again by the database), and the stored row the pages show.

use serde::{Deserialize, Serialize};

use super::{Timestamp, Uuid};

/// Longest repertoire name, in characters.
pub const REPERTOIRE_NAME_MAX: usize = 100;
/// Longest instrument name, in characters.
pub const INSTRUMENT_MAX: usize = 100;
/// Longest repertoire description, in characters.
pub const DESCRIPTION_MAX: usize = 2_000;
/// Longest note, in characters.
pub const NOTE_MAX: usize = 10_000;
/// Longest tag, in characters.
pub const TAG_MAX: usize = 50;
/// Longest reference URL, in characters.
pub const URL_MAX: usize = 2_000;
/// Longest reference title, in characters.
pub const REFERENCE_TITLE_MAX: usize = 200;
/// Longest reference comment, in characters.
pub const COMMENT_MAX: usize = 2_000;

/// What a reference points at: (stored value, label).
pub const REFERENCE_KINDS: &[(&str, &str)] = &[
    ("website", "Website"),
    ("audio", "Audio"),
    ("video", "Video"),
    ("sheet-music", "Sheet music"),
    ("article", "Article"),
    ("lesson", "Lesson"),
    ("other", "Other"),
];

/// One input's problem: the field's key (its element id suffix) and the message shown
/// next to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct InputError {
    pub field: String,
    pub message: String,
}

fn invalid<T>(field: &str, message: impl Into<String>) -> Result<T, InputError> {
    Err(InputError { field: field.into(), message: message.into() })
}

/// Trimmed text of at most `max` characters (`None` when empty).
fn optional(field: &str, label: &str, text: &str, max: usize) -> Result<Option<String>, InputError> {
    let text = text.trim();
    let len = text.chars().count();
    if len > max {
        return invalid(field, format!("{label} must be at most {max} characters (it has {len})."));
    }
    Ok((!text.is_empty()).then(|| text.to_string()))
}

fn required(field: &str, label: &str, text: &str, max: usize) -> Result<String, InputError> {
    match optional(field, label, text, max)? {
        Some(text) => Ok(text),
        None => invalid(field, format!("{label} is required.")),
    }
}

/// A repertoire's form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepertoireDraft {
    pub name: String,
    pub instrument: String,
    pub description: String,
}

/// A repertoire's checked values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepertoireFields {
    pub name: String,
    pub instrument: Option<String>,
    pub description: Option<String>,
}

impl RepertoireDraft {
    /// Checks the form: a name (at most 100 characters), an optional instrument and
    /// description.
    pub fn validate(&self) -> Result<RepertoireFields, InputError> {
        Ok(RepertoireFields {
            name: required("name", "Name", &self.name, REPERTOIRE_NAME_MAX)?,
            instrument: optional("instrument", "Instrument", &self.instrument, INSTRUMENT_MAX)?,
            description: optional("description", "Description", &self.description, DESCRIPTION_MAX)?,
        })
    }
}

/// A stored repertoire, with how many live tunes it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repertoire {
    pub id: Uuid,
    #[serde(flatten)]
    pub fields: RepertoireFields,
    pub tune_count: u32,
    pub last_modified_at: Timestamp,
}

impl Repertoire {
    /// The form for editing it.
    pub fn to_draft(&self) -> RepertoireDraft {
        RepertoireDraft {
            name: self.fields.name.clone(),
            instrument: self.fields.instrument.clone().unwrap_or_default(),
            description: self.fields.description.clone().unwrap_or_default(),
        }
    }
}

/// The id of "this tune is in that repertoire": the same on every device.
pub fn membership_id(repertoire: Uuid, tune: Uuid) -> Uuid {
    Uuid::derived(&["repertoire_tune", &repertoire.to_string(), &tune.to_string()])
}

/// A note's checked text (at most 10,000 characters, not blank).
pub fn validate_note(body: &str) -> Result<String, InputError> {
    // Inner line breaks and indentation are the musician's; only the ends are trimmed.
    required("body", "Note", body, NOTE_MAX)
}

/// A stored note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub id: Uuid,
    pub tune_id: Uuid,
    pub body: String,
    pub created_at: Timestamp,
    pub last_modified_at: Timestamp,
}

/// A reference's form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceDraft {
    pub url: String,
    pub kind: String,
    pub title: String,
    pub comment: String,
}

impl Default for ReferenceDraft {
    fn default() -> Self {
        Self { url: String::new(), kind: "website".into(), title: String::new(), comment: String::new() }
    }
}

/// A reference's checked values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceFields {
    pub url: String,
    pub kind: String,
    pub title: Option<String>,
    pub comment: Option<String>,
}

impl ReferenceDraft {
    /// Checks the form: an http(s) URL with a host, a known kind, an optional title and
    /// comment.
    pub fn validate(&self) -> Result<ReferenceFields, InputError> {
        let url = required("url", "URL", &self.url, URL_MAX)?;
        check_url(&url)?;
        if !REFERENCE_KINDS.iter().any(|(value, _)| *value == self.kind) {
            return invalid("kind", "Choose a kind from the list.");
        }
        Ok(ReferenceFields {
            url,
            kind: self.kind.clone(),
            title: optional("title", "Title", &self.title, REFERENCE_TITLE_MAX)?,
            comment: optional("comment", "Comment", &self.comment, COMMENT_MAX)?,
        })
    }
}

/// Only `http://` and `https://` links with a plausible host and no spaces: anything
/// else (`javascript:`, `data:`, a bare word) could not be opened safely.
fn check_url(url: &str) -> Result<(), InputError> {
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://")) else {
        return invalid("url", "Enter a link starting with http:// or https://.");
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or_default();
    let host_name = host.split(':').next().unwrap_or_default();
    let plausible = !host_name.is_empty()
        && host_name.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-')
        && !host_name.starts_with('.')
        && !host_name.ends_with('.');
    if !plausible || url.chars().any(char::is_whitespace) {
        return invalid("url", "This link has no valid address after http(s)://.");
    }
    Ok(())
}

/// A stored reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    pub id: Uuid,
    pub tune_id: Uuid,
    #[serde(flatten)]
    pub fields: ReferenceFields,
    pub last_modified_at: Timestamp,
}

impl Reference {
    /// The form for editing it.
    pub fn to_draft(&self) -> ReferenceDraft {
        ReferenceDraft {
            url: self.fields.url.clone(),
            kind: self.fields.kind.clone(),
            title: self.fields.title.clone().unwrap_or_default(),
            comment: self.fields.comment.clone().unwrap_or_default(),
        }
    }

    /// The label of its kind ("Sheet music").
    pub fn kind_label(&self) -> &'static str {
        REFERENCE_KINDS.iter().find(|(v, _)| *v == self.fields.kind).map_or("Other", |(_, label)| label)
    }
}

/// What the tune page shows under a tune: its notes (newest first), references and tags.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TuneExtras {
    pub notes: Vec<Note>,
    pub references: Vec<Reference>,
    pub tags: Vec<String>,
}

/// A tag's checked text: trimmed, inner runs of spaces made one, 1–50 characters.
pub fn validate_tag(name: &str) -> Result<String, InputError> {
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    required("tag", "Tag", &name, TAG_MAX)
}

/// The id of "this tune has this tag" (tags are case-insensitive): the same on every
/// device.
pub fn tag_id(tune: Uuid, name: &str) -> Uuid {
    Uuid::derived(&["tag", &tune.to_string(), &name.to_lowercase()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repertoire_rules() {
        let ok = RepertoireDraft { name: "  Fiddle — session tunes ".into(), ..Default::default() };
        assert_eq!(ok.validate().unwrap().name, "Fiddle — session tunes");
        let cases = [
            (RepertoireDraft::default(), "name", "Name is required."),
            (RepertoireDraft { name: "x".repeat(101), ..Default::default() }, "name", "at most 100"),
            (
                RepertoireDraft { name: "ok".into(), instrument: "i".repeat(101), ..Default::default() },
                "instrument",
                "at most 100",
            ),
        ];
        for (draft, field, message) in cases {
            let err = draft.validate().unwrap_err();
            assert_eq!(err.field, field);
            assert!(err.message.contains(message), "{}", err.message);
        }
        assert!(RepertoireDraft { name: "é".repeat(100), ..Default::default() }.validate().is_ok());
    }

    #[test]
    fn reference_urls_must_be_web_links() {
        let draft = |url: &str| ReferenceDraft { url: url.into(), ..Default::default() };
        for good in [
            "https://thesession.org/tunes/55",
            "http://example.com",
            "HTTPS://a.b/c?d#e",
            "https://x.org:8080/",
        ] {
            assert!(draft(good).validate().is_ok(), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            "data:text/html,hi",
            "ftp://example.com",
            "thesession.org",
            "https://",
            "https:///path",
            "https://exa mple.com",
            "https://.com",
            "",
        ] {
            assert_eq!(draft(bad).validate().unwrap_err().field, "url", "{bad}");
        }
        let wrong_kind = ReferenceDraft { kind: "podcast".into(), ..draft("https://a.org") };
        assert_eq!(wrong_kind.validate().unwrap_err().field, "kind");
        for (kind, _) in REFERENCE_KINDS {
            assert!(ReferenceDraft { kind: kind.to_string(), ..draft("https://a.org") }.validate().is_ok());
        }
    }

    #[test]
    fn notes_and_tags() {
        assert_eq!(validate_note("  Slower in the B part\n").unwrap(), "Slower in the B part");
        assert_eq!(validate_note(" \n ").unwrap_err().field, "body");
        assert!(validate_note(&"n".repeat(NOTE_MAX)).is_ok());
        assert!(validate_note(&"n".repeat(NOTE_MAX + 1)).unwrap_err().message.contains("10000"));
        assert_eq!(validate_tag("  session   tunes ").unwrap(), "session tunes");
        assert_eq!(validate_tag("").unwrap_err().field, "tag");
        assert!(validate_tag(&"t".repeat(51)).is_err());
        let tune = Uuid::now_v7();
        assert_eq!(tag_id(tune, "Session"), tag_id(tune, "session"), "tags are case-insensitive");
        assert_ne!(tag_id(tune, "session"), tag_id(Uuid::now_v7(), "session"));
        let rep = Uuid::now_v7();
        assert_eq!(membership_id(rep, tune), membership_id(rep, tune));
        assert_ne!(membership_id(rep, tune), membership_id(tune, rep));
    }
}
