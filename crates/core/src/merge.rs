//! Three-way merge of a row edited on two devices: fields changed on only one side merge
//! by themselves; a field changed on both sides (to different values) is a conflict the
//! musician decides. Deleting on one side while editing on the other is always a
//! conflict: nothing is resurrected or deleted silently. Works on any synced table
//! ([`crate::tables`]); rows of union tables never conflict.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::tables::{Kind, MergePolicy, TableId, TableSpec};

/// What can conflict: a column, or whether the row is deleted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// A column, by its SQL name.
    Field(String),
    Deleted,
    /// The parent this column points at was deleted while this row was changed (an
    /// orphan): keep the row and restore the parent ([`Side::Mine`]), or delete the row
    /// too ([`Side::Theirs`]).
    Parent(String),
}

impl Part {
    /// What the musician sees for it.
    pub fn label(&self, table: TableId) -> &'static str {
        match self {
            Part::Field(f) => table.spec().label(f),
            Part::Deleted => "Deleted",
            Part::Parent(_) => "Deleted elsewhere",
        }
    }

    /// A stable identifier, for element ids.
    pub fn key(&self) -> &str {
        match self {
            Part::Field(f) | Part::Parent(f) => f,
            Part::Deleted => "deleted",
        }
    }
}

/// A row's content: what the musician controls (the table's columns, by name, and
/// whether it is deleted). Built through [`Content::new`], so every column is present
/// and empty text is `null`: two contents compare equal exactly when they read the same.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    pub fields: BTreeMap<String, Value>,
    pub deleted: bool,
}

impl Content {
    /// `fields` normalised for `table`: unknown keys dropped, missing columns and empty
    /// text `null`, whole numbers kept as numbers, fractional columns as floats.
    pub fn new(table: TableId, mut fields: BTreeMap<String, Value>, deleted: bool) -> Content {
        let fields = table
            .spec()
            .columns
            .iter()
            .map(|c| {
                let value = match (c.kind, fields.remove(c.name).unwrap_or(Value::Null)) {
                    (Kind::Text, Value::String(s)) if s.is_empty() => Value::Null,
                    // 1 and 1.0 are the same stored value (SQLite's REAL, PostgreSQL's
                    // double precision), and must compare equal in merges.
                    (Kind::Real, Value::Number(n)) => n.as_f64().map(Value::from).unwrap_or(Value::Null),
                    (_, v) => v,
                };
                (c.name.to_string(), value)
            })
            .collect();
        Content { fields, deleted }
    }

    /// The value of one column (`null` when empty or unknown).
    pub fn get(&self, column: &str) -> &Value {
        self.fields.get(column).unwrap_or(&Value::Null)
    }

    /// The text of one column ("" when empty), for display.
    pub fn text(&self, column: &str) -> String {
        match self.get(column) {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    /// This content with `part` taken from `other`.
    pub fn with(mut self, part: &Part, other: &Content) -> Content {
        match part {
            Part::Field(f) => {
                self.fields.insert(f.clone(), other.get(f).clone());
            }
            Part::Deleted => self.deleted = other.deleted,
            Part::Parent(_) => {}
        }
        self
    }

    fn same(&self, other: &Content, column: &str) -> bool {
        self.get(column) == other.get(column)
    }

    fn fields_equal(&self, other: &Content) -> bool {
        self.fields.keys().chain(other.fields.keys()).all(|c| self.same(other, c))
    }
}

/// The outcome of a merge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merge {
    /// Every part that merged cleanly; conflicting parts hold "mine" until decided.
    pub merged: Content,
    /// The parts changed on both sides, in form order (empty: a clean merge).
    pub conflicts: Vec<Part>,
}

/// Merges `mine` and `theirs` of a row of `table`, which both started from `base`
/// (`None` when the common version is unknown: then every difference is a conflict).
pub fn three_way(table: TableId, base: Option<&Content>, mine: &Content, theirs: &Content) -> Merge {
    let spec: &TableSpec = table.spec();
    // Both deleted: nothing left to disagree about.
    if mine.deleted && theirs.deleted {
        return Merge { merged: theirs.clone(), conflicts: Vec::new() };
    }
    match spec.merge {
        // A fact: the local change is the later one (it is about to be pushed on top).
        MergePolicy::Union => return Merge { merged: mine.clone(), conflicts: Vec::new() },
        // History is written once: the server's copy is the record.
        MergePolicy::Append => return Merge { merged: theirs.clone(), conflicts: Vec::new() },
        MergePolicy::ThreeWay => {}
    }
    let mut merged = mine.clone();
    let mut conflicts = Vec::new();
    let mut delete_conflict = false;
    if mine.deleted != theirs.deleted {
        // One side deleted. If the other side left the fields as they were, the delete
        // stands; if it edited them (or we cannot tell), the musician decides.
        let (deleter, keeper) = if mine.deleted { (mine, theirs) } else { (theirs, mine) };
        let keeper_edited = base.is_none_or(|b| !keeper.fields_equal(b));
        if !keeper_edited {
            return Merge { merged: deleter.clone(), conflicts: Vec::new() };
        }
        delete_conflict = true;
    }
    for column in spec.columns.iter().map(|c| c.name) {
        if mine.same(theirs, column) {
            continue;
        }
        match base {
            Some(b) if mine.same(b, column) => {
                merged.fields.insert(column.to_string(), theirs.get(column).clone());
            }
            Some(b) if theirs.same(b, column) => {}
            _ => conflicts.push(Part::Field(column.to_string())),
        }
    }
    if delete_conflict {
        conflicts.push(Part::Deleted);
    }
    Merge { merged, conflicts }
}

/// Which side the musician kept for a part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    Mine,
    Theirs,
}

/// The content a resolution produces: the clean merge, with each conflicting part
/// taken from the side chosen for it (parts without a choice keep "mine").
pub fn resolve(merge: &Merge, theirs: &Content, choices: &[(Part, Side)]) -> Content {
    let mut content = merge.merged.clone();
    for (part, side) in choices {
        if *side == Side::Theirs && merge.conflicts.contains(part) {
            content = content.with(part, theirs);
        }
    }
    // Agreeing to their delete: a deleted row's fields no longer matter, so it is theirs.
    if content.deleted && theirs.deleted { theirs.clone() } else { content }
}

/// A row changed on this device and elsewhere in ways that need the musician: both
/// versions are kept until they decide.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub id: i64,
    pub table: TableId,
    pub record_id: crate::domain::Uuid,
    /// The version both sides started from, when known.
    pub base: Option<Content>,
    pub mine: Content,
    pub theirs: Content,
    /// The server's version of `theirs`.
    pub theirs_version: i64,
    /// What conflicts (the rest merges by itself).
    pub parts: Vec<Part>,
    pub detected_at: crate::domain::Timestamp,
    /// What the row belongs to, named for the musician (a note's tune title), when it
    /// has a parent. Filled in when conflicts are read.
    #[serde(default)]
    pub parent_title: Option<String>,
}

impl Conflict {
    /// The merge as it stands (recomputed, so it is always consistent with the versions).
    pub fn merge(&self) -> Merge {
        three_way(self.table, self.base.as_ref(), &self.mine, &self.theirs)
    }

    /// For a row whose parent was deleted elsewhere: the parent's table and id.
    pub fn orphan_of(&self) -> Option<(TableId, crate::domain::Uuid)> {
        self.parts.iter().find_map(|p| match p {
            Part::Parent(column) => {
                let parent = self.table.spec().parents.iter().find(|q| q.column == column)?;
                let id = self.mine.get(column).as_str()?.parse().ok()?;
                Some((parent.table, id))
            }
            _ => None,
        })
    }

    /// What names the row for the musician: its title column, from whichever side has it.
    pub fn title(&self) -> String {
        let column = self.table.spec().title_column;
        let mine = self.mine.text(column);
        if mine.is_empty() { self.theirs.text(column) } else { mine }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(title: &str, mode: &str, year: Option<u16>) -> Content {
        let fields = [
            ("title".to_string(), Value::from(title)),
            ("mode".to_string(), Value::from(mode)),
            ("release_year".to_string(), year.map(Value::from).unwrap_or(Value::Null)),
        ];
        Content::new(TableId::Tune, fields.into_iter().collect(), false)
    }

    fn field(name: &str) -> Part {
        Part::Field(name.into())
    }

    fn deleted(c: Content) -> Content {
        Content { deleted: true, ..c }
    }

    #[test]
    fn merge_table() {
        let base = content("Kesh", "G major", None);
        let title = field("title");
        let mode = field("mode");
        type Case = (Option<Content>, Content, Content, Content, Vec<Part>);
        let cases: Vec<Case> = vec![
            // Nothing changed.
            (Some(base.clone()), base.clone(), base.clone(), base.clone(), vec![]),
            // Different fields on each side merge.
            (
                Some(base.clone()),
                content("The Kesh", "G major", None),
                content("Kesh", "G mixolydian", Some(1990)),
                content("The Kesh", "G mixolydian", Some(1990)),
                vec![],
            ),
            // The same field to different values conflicts; the rest still merges.
            (
                Some(base.clone()),
                content("The Kesh", "G major", Some(1990)),
                content("Kesh Jig", "A dorian", None),
                content("The Kesh", "A dorian", Some(1990)),
                vec![title.clone()],
            ),
            // The same field to the same value is agreement.
            (
                Some(base.clone()),
                content("The Kesh", "", None),
                content("The Kesh", "", None),
                content("The Kesh", "", None),
                vec![],
            ),
            // Without a base, every difference is a conflict.
            (
                None,
                content("A", "G major", None),
                content("B", "D major", None),
                content("A", "G major", None),
                vec![title, mode],
            ),
            // A delete on one side, no edit on the other: the delete stands.
            (Some(base.clone()), deleted(base.clone()), base.clone(), deleted(base.clone()), vec![]),
            (Some(base.clone()), base.clone(), deleted(base.clone()), deleted(base.clone()), vec![]),
            // Delete versus edit: ask.
            (
                Some(base.clone()),
                deleted(base.clone()),
                content("The Kesh", "G major", None),
                deleted(content("The Kesh", "G major", None)),
                vec![Part::Deleted],
            ),
            (
                Some(base.clone()),
                content("Kesh", "A dorian", None),
                deleted(base.clone()),
                content("Kesh", "A dorian", None),
                vec![Part::Deleted],
            ),
            // Both deleted.
            (
                Some(base.clone()),
                deleted(content("x", "", None)),
                deleted(base.clone()),
                deleted(base.clone()),
                vec![],
            ),
        ];
        for (i, (base, mine, theirs, merged, conflicts)) in cases.into_iter().enumerate() {
            let m = three_way(TableId::Tune, base.as_ref(), &mine, &theirs);
            assert_eq!(m.conflicts, conflicts, "case {i}");
            assert_eq!(m.merged, merged, "case {i}");
        }
    }

    #[test]
    fn resolution_takes_each_part_from_the_chosen_side() {
        let base = content("Kesh", "G major", None);
        let mine = content("The Kesh", "A dorian", Some(1990));
        let theirs = content("Kesh Jig", "E minor", None);
        // Union rows (tags, memberships) never conflict: the local change wins.
        let union = |deleted| Content::new(TableId::Tag, BTreeMap::new(), deleted);
        let m = three_way(TableId::Tag, Some(&union(false)), &union(true), &union(false));
        assert_eq!((m.merged, m.conflicts), (union(true), vec![]));
        let m = three_way(TableId::Tune, Some(&base), &mine, &theirs);
        assert_eq!(m.conflicts, [field("title"), field("mode")]);
        let title = field("title");
        let mode = field("mode");
        assert_eq!(resolve(&m, &theirs, &[]), content("The Kesh", "A dorian", Some(1990)), "keep mine");
        assert_eq!(
            resolve(&m, &theirs, &[(title, Side::Theirs), (mode.clone(), Side::Theirs)]),
            content("Kesh Jig", "E minor", Some(1990))
        );
        assert_eq!(resolve(&m, &theirs, &[(mode, Side::Theirs)]), content("The Kesh", "E minor", Some(1990)));
        // A choice for a part that did not conflict changes nothing.
        let year = field("release_year");
        assert_eq!(resolve(&m, &theirs, &[(year, Side::Theirs)]), resolve(&m, &theirs, &[]));
    }

    #[test]
    fn parts_serialize_readably() {
        let json = serde_json::to_string(&[field("release_year"), Part::Deleted]).unwrap();
        assert_eq!(json, r#"[{"field":"release_year"},"deleted"]"#);
    }
}
