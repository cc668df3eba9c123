//! Three-way merge of a tune edited on two devices: fields changed on only one side merge
//! by themselves; a field changed on both sides (to different values) is a conflict the
//! musician decides. Deleting on one side while editing on the other is always a
//! conflict: nothing is resurrected or deleted silently.

use serde::{Deserialize, Serialize};

use crate::domain::{Field, Tune, TuneFields};

/// What can conflict: a field, or whether the tune is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Field(Field),
    Deleted,
}

impl Part {
    /// What the musician sees for it.
    pub fn label(self) -> &'static str {
        match self {
            Part::Field(f) => f.label(),
            Part::Deleted => "Deleted",
        }
    }
}

/// A tune's content: what the musician controls (fields, and whether it is deleted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    pub fields: TuneFields,
    pub deleted: bool,
}

impl From<&Tune> for Content {
    fn from(t: &Tune) -> Self {
        Self { fields: t.fields.clone(), deleted: t.deleted }
    }
}

impl Content {
    /// The text of one field ("" when empty), for comparison and display.
    pub fn text(&self, field: Field) -> String {
        self.fields.to_draft().get(field).to_string()
    }

    fn set(&mut self, field: Field, from: &Content) {
        let f = &mut self.fields;
        let g = &from.fields;
        match field {
            Field::Title => f.title = g.title.clone(),
            Field::Type => f.tune_type = g.tune_type.clone(),
            Field::Structure => f.structure = g.structure.clone(),
            Field::Mode => f.mode = g.mode.clone(),
            Field::Genre => f.genre = g.genre.clone(),
            Field::Composer => f.composer = g.composer.clone(),
            Field::Artist => f.artist = g.artist.clone(),
            Field::ReleaseYear => f.release_year = g.release_year,
            Field::Incipit => f.incipit = g.incipit.clone(),
        }
    }

    /// This content with `part` taken from `other`.
    pub fn with(mut self, part: Part, other: &Content) -> Content {
        match part {
            Part::Field(f) => self.set(f, other),
            Part::Deleted => self.deleted = other.deleted,
        }
        self
    }

    fn same(&self, other: &Content, field: Field) -> bool {
        self.text(field) == other.text(field)
    }

    fn fields_equal(&self, other: &Content) -> bool {
        Field::ALL.iter().all(|f| self.same(other, *f))
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

/// Merges `mine` and `theirs`, which both started from `base` (`None` when the common
/// version is unknown: then every difference is a conflict).
pub fn three_way(base: Option<&Content>, mine: &Content, theirs: &Content) -> Merge {
    // Both deleted: nothing left to disagree about.
    if mine.deleted && theirs.deleted {
        return Merge { merged: theirs.clone(), conflicts: Vec::new() };
    }
    let mut merged = mine.clone();
    let mut conflicts = Vec::new();
    if mine.deleted != theirs.deleted {
        // One side deleted. If the other side left the fields as they were, the delete
        // stands; if it edited them (or we cannot tell), the musician decides.
        let (deleter, keeper) = if mine.deleted { (mine, theirs) } else { (theirs, mine) };
        let keeper_edited = base.is_none_or(|b| !keeper.fields_equal(b));
        if !keeper_edited {
            return Merge { merged: deleter.clone(), conflicts: Vec::new() };
        }
        conflicts.push(Part::Deleted);
    }
    for field in Field::ALL {
        if mine.same(theirs, field) {
            continue;
        }
        match base {
            Some(b) if mine.same(b, field) => merged.set(field, theirs),
            Some(b) if theirs.same(b, field) => {}
            _ => conflicts.push(Part::Field(field)),
        }
    }
    conflicts.sort();
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
            content = content.with(*part, theirs);
        }
    }
    // Agreeing to their delete: a deleted tune's fields no longer matter, so it is theirs.
    if content.deleted && theirs.deleted { theirs.clone() } else { content }
}

/// A tune changed on this device and elsewhere in ways that need the musician: both
/// versions are kept until they decide.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub id: i64,
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
}

impl Conflict {
    /// The merge as it stands (recomputed, so it is always consistent with the versions).
    pub fn merge(&self) -> Merge {
        three_way(self.base.as_ref(), &self.mine, &self.theirs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(title: &str, mode: &str, year: Option<u16>) -> Content {
        Content {
            fields: TuneFields {
                title: title.into(),
                mode: (!mode.is_empty()).then(|| mode.into()),
                release_year: year,
                ..TuneFields::default()
            },
            deleted: false,
        }
    }

    fn deleted(c: Content) -> Content {
        Content { deleted: true, ..c }
    }

    #[test]
    fn merge_table() {
        let base = content("Kesh", "G major", None);
        let title = Part::Field(Field::Title);
        let mode = Part::Field(Field::Mode);
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
                vec![title],
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
            let m = three_way(base.as_ref(), &mine, &theirs);
            assert_eq!(m.conflicts, conflicts, "case {i}");
            assert_eq!(m.merged, merged, "case {i}");
        }
    }

    #[test]
    fn resolution_takes_each_part_from_the_chosen_side() {
        let base = content("Kesh", "G major", None);
        let mine = content("The Kesh", "A dorian", Some(1990));
        let theirs = content("Kesh Jig", "E minor", None);
        let m = three_way(Some(&base), &mine, &theirs);
        assert_eq!(m.conflicts, [Part::Field(Field::Title), Part::Field(Field::Mode)]);
        let title = Part::Field(Field::Title);
        let mode = Part::Field(Field::Mode);
        assert_eq!(resolve(&m, &theirs, &[]), content("The Kesh", "A dorian", Some(1990)), "keep mine");
        assert_eq!(
            resolve(&m, &theirs, &[(title, Side::Theirs), (mode, Side::Theirs)]),
            content("Kesh Jig", "E minor", Some(1990))
        );
        assert_eq!(resolve(&m, &theirs, &[(mode, Side::Theirs)]), content("The Kesh", "E minor", Some(1990)));
        // A choice for a part that did not conflict changes nothing.
        let year = Part::Field(Field::ReleaseYear);
        assert_eq!(resolve(&m, &theirs, &[(year, Side::Theirs)]), resolve(&m, &theirs, &[]));
    }

    #[test]
    fn parts_serialize_readably() {
        let json = serde_json::to_string(&[Part::Field(Field::ReleaseYear), Part::Deleted]).unwrap();
        assert_eq!(json, r#"[{"field":"release_year"},"deleted"]"#);
    }
}
