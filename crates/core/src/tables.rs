//! Every synced table, declared once: its name, the columns the musician controls, its
//! parents and how concurrent edits merge. The outbox, base versions, push, pull,
//! reconcile, adoption and the Conflicts page all work from these declarations, so a new
//! synced table is a new entry here (plus its SQL), not a copy of the engine.
//!
//! Every table also has the same bookkeeping columns, not listed here: `id` (uuid),
//! `user_id`, `created_at`, `last_modified_at`, `sync_version`, `device_id`, `deleted`
//! and, on the server only, `change_number`.

use serde::{Deserialize, Serialize};

/// A synced table. The order of [`TableId::ALL`] is parents first: pushes and adoption
/// walk it in that order so a child never reaches the server before its parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableId {
    Tune,
    Repertoire,
    RepertoireTune,
    Note,
    Reference,
    Tag,
    PracticeRecord,
}

/// How a column's values are typed (in SQLite, on the wire and in merges).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Text; empty text is stored as NULL.
    Text,
    /// A whole number.
    Int,
    /// A number with a fraction (a scheduler's stability, a retention).
    Real,
}

/// A column the musician controls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// The SQL column name, the same locally and on the server; also the JSON key.
    pub name: &'static str,
    /// What the musician reads for it (form labels, the Conflicts page).
    pub label: &'static str,
    pub kind: Kind,
    /// NOT NULL: a pulled row without it cannot be read.
    pub required: bool,
}

const fn text(name: &'static str, label: &'static str) -> Column {
    Column { name, label, kind: Kind::Text, required: false }
}

const fn int(name: &'static str, label: &'static str) -> Column {
    Column { name, label, kind: Kind::Int, required: false }
}

const fn real(name: &'static str, label: &'static str) -> Column {
    Column { name, label, kind: Kind::Real, required: false }
}

const fn required(name: &'static str, label: &'static str) -> Column {
    Column { name, label, kind: Kind::Text, required: true }
}

/// A reference to a parent row: deleting the parent deletes this row too (in the same
/// local transaction), and a row whose parent is gone is an orphan to resolve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parent {
    /// The column holding the parent's id.
    pub column: &'static str,
    pub table: TableId,
}

/// How a row edited on two devices merges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergePolicy {
    /// Field by field against the common base; a field changed on both sides (or an
    /// edit against a delete) waits for the musician.
    ThreeWay,
    /// The row is a fact (this tune is in that repertoire, has that tag) with a
    /// deterministic id: the same fact added on two devices is one row, and whether it
    /// holds is the latest push's answer. Never a conflict.
    Union,
    /// The row is history (a practice rating): written once, never changed or deleted,
    /// so it can never conflict. It stays when its parent is deleted (the parent's
    /// pages hide it) instead of following the delete.
    Append,
}

/// One synced table's declaration.
#[derive(Debug, PartialEq, Eq)]
pub struct TableSpec {
    pub id: TableId,
    /// The SQL table name (local and server).
    pub name: &'static str,
    /// The row as the musician would name it ("note").
    pub noun: &'static str,
    /// The musician's columns, in form order.
    pub columns: &'static [Column],
    pub parents: &'static [Parent],
    pub merge: MergePolicy,
    /// The column that best names a row in messages ("the note 'Play it slower'").
    pub title_column: &'static str,
}

static TUNE: TableSpec = TableSpec {
    id: TableId::Tune,
    name: "tune",
    noun: "tune",
    columns: &[
        required("title", "Title"),
        text("type", "Type"),
        text("structure", "Structure"),
        text("mode", "Mode"),
        text("genre", "Genre"),
        text("composer", "Composer"),
        text("artist", "Artist"),
        Column { name: "release_year", label: "Release year", kind: Kind::Int, required: false },
        text("incipit", "Incipit"),
        text("abc", "ABC"),
    ],
    parents: &[],
    merge: MergePolicy::ThreeWay,
    title_column: "title",
};

static REPERTOIRE: TableSpec = TableSpec {
    id: TableId::Repertoire,
    name: "repertoire",
    noun: "repertoire",
    columns: &[
        required("name", "Name"),
        text("instrument", "Instrument"),
        text("description", "Description"),
        // Practice settings; empty means the default (crate::practice::Settings).
        real("desired_retention", "Desired retention"),
        int("max_reviews_per_day", "Maximum reviews per day"),
        int("new_per_day", "New tunes per day"),
        int("max_interval", "Maximum interval"),
    ],
    parents: &[],
    merge: MergePolicy::ThreeWay,
    title_column: "name",
};

static REPERTOIRE_TUNE: TableSpec = TableSpec {
    id: TableId::RepertoireTune,
    name: "repertoire_tune",
    noun: "repertoire membership",
    columns: &[required("repertoire_id", "Repertoire"), required("tune_id", "Tune")],
    parents: &[
        Parent { column: "repertoire_id", table: TableId::Repertoire },
        Parent { column: "tune_id", table: TableId::Tune },
    ],
    merge: MergePolicy::Union,
    title_column: "tune_id",
};

static NOTE: TableSpec = TableSpec {
    id: TableId::Note,
    name: "note",
    noun: "note",
    columns: &[required("tune_id", "Tune"), required("body", "Note")],
    parents: &[Parent { column: "tune_id", table: TableId::Tune }],
    merge: MergePolicy::ThreeWay,
    title_column: "body",
};

static REFERENCE: TableSpec = TableSpec {
    id: TableId::Reference,
    name: "reference",
    noun: "reference",
    columns: &[
        required("tune_id", "Tune"),
        required("url", "URL"),
        required("kind", "Kind"),
        text("title", "Title"),
        text("comment", "Comment"),
    ],
    parents: &[Parent { column: "tune_id", table: TableId::Tune }],
    merge: MergePolicy::ThreeWay,
    title_column: "url",
};

static TAG: TableSpec = TableSpec {
    id: TableId::Tag,
    name: "tag",
    noun: "tag",
    columns: &[required("tune_id", "Tune"), required("name", "Tag")],
    parents: &[Parent { column: "tune_id", table: TableId::Tune }],
    merge: MergePolicy::Union,
    title_column: "name",
};

/// One practice event (see `crate::practice`): a rating with the scheduler's state
/// after it, a one-off "schedule for" date, or the undoing of an earlier rating. Times
/// are milliseconds since the epoch, so they compare and travel exactly.
static PRACTICE_RECORD: TableSpec = TableSpec {
    id: TableId::PracticeRecord,
    name: "practice_record",
    noun: "practice record",
    columns: &[
        required("repertoire_id", "Repertoire"),
        required("tune_id", "Tune"),
        required("kind", "Kind"),
        Column { name: "practised_at", label: "Practised at", kind: Kind::Int, required: true },
        int("rating", "Rating"),
        text("undoes", "Undoes"),
        int("due", "Due"),
        int("interval_days", "Interval"),
        real("stability", "Stability"),
        real("difficulty", "Difficulty"),
        text("state", "State"),
        int("reps", "Repetitions"),
        int("lapses", "Lapses"),
    ],
    parents: &[
        Parent { column: "repertoire_id", table: TableId::Repertoire },
        Parent { column: "tune_id", table: TableId::Tune },
    ],
    merge: MergePolicy::Append,
    title_column: "kind",
};

impl TableId {
    /// Every synced table, parents before children.
    pub const ALL: [TableId; 7] = [
        TableId::Tune,
        TableId::Repertoire,
        TableId::RepertoireTune,
        TableId::Note,
        TableId::Reference,
        TableId::Tag,
        TableId::PracticeRecord,
    ];

    /// The table's declaration.
    pub fn spec(self) -> &'static TableSpec {
        match self {
            TableId::Tune => &TUNE,
            TableId::Repertoire => &REPERTOIRE,
            TableId::RepertoireTune => &REPERTOIRE_TUNE,
            TableId::Note => &NOTE,
            TableId::Reference => &REFERENCE,
            TableId::Tag => &TAG,
            TableId::PracticeRecord => &PRACTICE_RECORD,
        }
    }

    /// The SQL table name.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The table named `name`, if it is a synced one.
    pub fn parse(name: &str) -> Option<TableId> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Position in push order (parents first).
    pub fn rank(self) -> usize {
        Self::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    /// The tables whose rows point at this one and follow its delete, with the pointing
    /// column (history, [`MergePolicy::Append`], stays).
    pub fn children(self) -> impl Iterator<Item = (TableId, &'static str)> {
        Self::ALL.into_iter().filter(|child| child.spec().merge != MergePolicy::Append).flat_map(
            move |child| {
                child.spec().parents.iter().filter(move |p| p.table == self).map(move |p| (child, p.column))
            },
        )
    }
}

impl TableSpec {
    /// The column called `name`, if the musician controls it.
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// What the musician reads for a column ("Release year").
    pub fn label(&self, name: &str) -> &'static str {
        self.column(name).map(|c| c.label).unwrap_or("Field")
    }
}

impl std::fmt::Display for TableId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_declared_once_and_consistently() {
        for (i, table) in TableId::ALL.into_iter().enumerate() {
            let spec = table.spec();
            assert_eq!(spec.id, table);
            assert_eq!(TableId::parse(spec.name), Some(table));
            assert_eq!(table.rank(), i);
            assert!(spec.column(spec.title_column).is_some(), "{table}: title column is a column");
            for parent in spec.parents {
                assert!(parent.table.rank() < i, "{table}: parents come first in push order");
                assert!(spec.column(parent.column).is_some_and(|c| c.required));
            }
        }
        assert_eq!(TableId::parse("sync_queue"), None);
    }

    #[test]
    fn children_follow_the_parent_declarations() {
        let tune_children: Vec<_> = TableId::Tune.children().collect();
        assert_eq!(
            tune_children,
            [
                (TableId::RepertoireTune, "tune_id"),
                (TableId::Note, "tune_id"),
                (TableId::Reference, "tune_id"),
                (TableId::Tag, "tune_id"),
            ]
        );
        assert_eq!(
            TableId::Repertoire.children().collect::<Vec<_>>(),
            [(TableId::RepertoireTune, "repertoire_id")]
        );
        assert_eq!(TableId::Tag.children().count(), 0);
    }

    #[test]
    fn table_ids_serialize_as_table_names() {
        for table in TableId::ALL {
            assert_eq!(serde_json::to_value(table).unwrap(), table.name());
        }
    }
}
