//! The tune record in its three shapes: the editor's raw draft, validated fields, and
//! the stored row with its sync bookkeeping; plus the per-field error map.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Timestamp, Uuid};

/// The tune types offered in the editor, in the order musicians expect to see them.
pub const TUNE_TYPES: &[&str] = &[
    "reel",
    "jig",
    "slip jig",
    "hornpipe",
    "polka",
    "slide",
    "waltz",
    "strathspey",
    "barndance",
    "march",
    "mazurka",
    "air",
    "other",
];

/// An editable field of a tune, used to attach validation messages to form inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Title,
    Type,
    Structure,
    Mode,
    Genre,
    Composer,
    Artist,
    ReleaseYear,
    Incipit,
    Abc,
}

impl Field {
    /// Every field, in form order.
    pub const ALL: [Field; 10] = [
        Field::Title,
        Field::Type,
        Field::Structure,
        Field::Mode,
        Field::Genre,
        Field::Composer,
        Field::Artist,
        Field::ReleaseYear,
        Field::Incipit,
        Field::Abc,
    ];

    /// The label shown next to the input (and used by tests and screen readers to find it).
    pub fn label(self) -> &'static str {
        match self {
            Field::Title => "Title",
            Field::Type => "Type",
            Field::Structure => "Structure",
            Field::Mode => "Mode",
            Field::Genre => "Genre",
            Field::Composer => "Composer",
            Field::Artist => "Artist",
            Field::ReleaseYear => "Release year",
            Field::Incipit => "Incipit",
            Field::Abc => "ABC",
        }
    }

    /// A stable identifier, used for element ids.
    pub fn key(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Type => "type",
            Field::Structure => "structure",
            Field::Mode => "mode",
            Field::Genre => "genre",
            Field::Composer => "composer",
            Field::Artist => "artist",
            Field::ReleaseYear => "release_year",
            Field::Incipit => "incipit",
            Field::Abc => "abc",
        }
    }
}

/// Validation messages keyed by field; empty means the input is valid.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldErrors(BTreeMap<Field, String>);

impl FieldErrors {
    /// Records a message for a field (the first message for a field wins).
    pub fn add(&mut self, field: Field, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    /// The message for one field, if it has one.
    pub fn get(&self, field: Field) -> Option<&str> {
        self.0.get(&field).map(String::as_str)
    }

    /// True when no field has a message.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields with messages, in form order.
    pub fn iter(&self) -> impl Iterator<Item = (Field, &str)> {
        self.0.iter().map(|(f, m)| (*f, m.as_str()))
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for (field, message) in self.iter() {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{}: {message}", field.label())?;
        }
        Ok(())
    }
}

/// What the editor holds: every field as the raw text the musician typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TuneDraft {
    pub title: String,
    pub tune_type: String,
    pub structure: String,
    pub mode: String,
    pub genre: String,
    pub composer: String,
    pub artist: String,
    pub release_year: String,
    pub incipit: String,
    /// The whole tune in ABC (older drafts have none).
    #[serde(default)]
    pub abc: String,
}

impl TuneDraft {
    /// The raw text of one field.
    pub fn get(&self, field: Field) -> &str {
        match field {
            Field::Title => &self.title,
            Field::Type => &self.tune_type,
            Field::Structure => &self.structure,
            Field::Mode => &self.mode,
            Field::Genre => &self.genre,
            Field::Composer => &self.composer,
            Field::Artist => &self.artist,
            Field::ReleaseYear => &self.release_year,
            Field::Incipit => &self.incipit,
            Field::Abc => &self.abc,
        }
    }

    /// Mutable access to the raw text of one field.
    pub fn get_mut(&mut self, field: Field) -> &mut String {
        match field {
            Field::Title => &mut self.title,
            Field::Type => &mut self.tune_type,
            Field::Structure => &mut self.structure,
            Field::Mode => &mut self.mode,
            Field::Genre => &mut self.genre,
            Field::Composer => &mut self.composer,
            Field::Artist => &mut self.artist,
            Field::ReleaseYear => &mut self.release_year,
            Field::Incipit => &mut self.incipit,
            Field::Abc => &mut self.abc,
        }
    }
}

/// Validated tune content: everything the musician controls. Empty optional fields are `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TuneFields {
    pub title: String,
    pub tune_type: Option<String>,
    pub structure: Option<String>,
    pub mode: Option<String>,
    pub genre: Option<String>,
    pub composer: Option<String>,
    pub artist: Option<String>,
    pub release_year: Option<u16>,
    pub incipit: Option<String>,
    /// The whole tune in ABC, at most 64 KB (rows from before the field have none).
    #[serde(default)]
    pub abc: Option<String>,
}

impl TuneFields {
    /// The draft an editor starts from when editing these fields.
    pub fn to_draft(&self) -> TuneDraft {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        TuneDraft {
            title: self.title.clone(),
            tune_type: text(&self.tune_type),
            structure: text(&self.structure),
            mode: text(&self.mode),
            genre: text(&self.genre),
            composer: text(&self.composer),
            artist: text(&self.artist),
            release_year: self.release_year.map(|y| y.to_string()).unwrap_or_default(),
            incipit: text(&self.incipit),
            abc: text(&self.abc),
        }
    }
}

/// A stored tune: its content plus identity, ownership and sync bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tune {
    pub id: Uuid,
    #[serde(flatten)]
    pub fields: TuneFields,
    /// The owning account; `None` while the musician is signed out.
    pub user_id: Option<Uuid>,
    pub created_at: Timestamp,
    pub last_modified_at: Timestamp,
    /// Starts at 1; the server bumps it on every accepted write.
    pub sync_version: i64,
    /// The browser profile that made the last change.
    pub device_id: String,
    /// Soft-delete flag: deleted rows stay so the delete can be synced.
    pub deleted: bool,
}

/// One row of the tune list: just the columns the table shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TuneSummary {
    pub id: Uuid,
    pub title: String,
    pub tune_type: Option<String>,
    pub mode: Option<String>,
    pub genre: Option<String>,
    pub last_modified_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draft_accessors_cover_every_field() {
        let mut draft = TuneDraft::default();
        for (i, field) in Field::ALL.into_iter().enumerate() {
            *draft.get_mut(field) = format!("value {i}");
        }
        for (i, field) in Field::ALL.into_iter().enumerate() {
            assert_eq!(draft.get(field), format!("value {i}"));
        }
    }

    #[test]
    fn field_errors_keep_first_message_and_serialize_by_key() {
        let mut errors = FieldErrors::default();
        errors.add(Field::ReleaseYear, "first");
        errors.add(Field::ReleaseYear, "second");
        errors.add(Field::Title, "required");
        assert_eq!(errors.get(Field::ReleaseYear), Some("first"));
        let json = serde_json::to_string(&errors).unwrap();
        assert_eq!(json, r#"{"title":"required","release_year":"first"}"#);
        assert_eq!(serde_json::from_str::<FieldErrors>(&json).unwrap(), errors);
        assert_eq!(errors.to_string(), "Title: required; Release year: first");
    }
}
