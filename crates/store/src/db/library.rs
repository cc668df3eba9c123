//! Repertoires, their tunes, and each tune's notes, references and tags: validated
//! writes through the generic [`super::changes`] (so each is queued and syncs like a
//! tune) and the reads the pages need. Rows under a deleted tune or repertoire are never
//! shown, even before their own deletes arrive from another device.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, Row};
use serde_json::Value;
use tunebook_core::domain::Uuid;
use tunebook_core::domain::library::{
    Note, Reference, ReferenceDraft, ReferenceFields, Repertoire, RepertoireDraft, RepertoireFields,
    TuneExtras, membership_id, tag_id, validate_note, validate_tag,
};
use tunebook_core::domain::{TuneDraft, validate};
use tunebook_core::record::Record;
use tunebook_core::sync::Operation;
use tunebook_core::tables::TableId;

use super::changes::{Fields, delete_cascade, edit, put_new};
use super::outbox::enqueue_record;
use super::records::parse_col;
use super::{Database, DbError};

fn fields_of<const N: usize>(pairs: [(&str, Value); N]) -> Fields {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<BTreeMap<_, _>>()
}

fn text(value: &Option<String>) -> Value {
    value.clone().map(Value::from).unwrap_or(Value::Null)
}

fn repertoire_fields(f: &RepertoireFields) -> Fields {
    fields_of([
        ("name", Value::from(f.name.clone())),
        ("instrument", text(&f.instrument)),
        ("description", text(&f.description)),
    ])
}

fn reference_fields(f: &ReferenceFields) -> Fields {
    fields_of([
        ("url", Value::from(f.url.clone())),
        ("kind", Value::from(f.kind.clone())),
        ("title", text(&f.title)),
        ("comment", text(&f.comment)),
    ])
}

// language=SQLite
const REPERTOIRE_SELECT: &str = "SELECT r.id, r.name, r.instrument, r.description, r.last_modified_at,
        (SELECT count(*) FROM repertoire_tune m JOIN tune t ON t.id = m.tune_id AND t.deleted = 0
         WHERE m.repertoire_id = r.id AND m.deleted = 0)
     FROM repertoire r WHERE r.deleted = 0";

fn repertoire_from_row(r: &Row<'_>) -> rusqlite::Result<Repertoire> {
    Ok(Repertoire {
        id: parse_col(r, 0)?,
        fields: RepertoireFields { name: r.get(1)?, instrument: r.get(2)?, description: r.get(3)? },
        last_modified_at: parse_col(r, 4)?,
        tune_count: r.get(5)?,
    })
}

// language=SQLite
const REFERENCE_SELECT: &str =
    "SELECT id, tune_id, url, kind, title, comment, last_modified_at FROM reference WHERE deleted = 0";

fn reference_from_row(r: &Row<'_>) -> rusqlite::Result<Reference> {
    Ok(Reference {
        id: parse_col(r, 0)?,
        tune_id: parse_col(r, 1)?,
        fields: ReferenceFields { url: r.get(2)?, kind: r.get(3)?, title: r.get(4)?, comment: r.get(5)? },
        last_modified_at: parse_col(r, 6)?,
    })
}

impl Database {
    /// Fails with `NotFound` unless `id` is a live row of `table` (a parent for a new row).
    fn require_live(&self, table: TableId, id: Uuid) -> Result<(), DbError> {
        let live = self
            .conn
            .prepare_cached(&format!("SELECT 1 FROM {} WHERE id = ?1 AND deleted = 0", table.name()))?
            .query_row([id.to_string()], |_| Ok(()))
            .optional()?;
        live.ok_or(DbError::NotFound)
    }

    // ----- Repertoires -----

    /// Every live repertoire, by name.
    pub fn repertoires(&self) -> Result<Vec<Repertoire>, DbError> {
        let mut stmt =
            self.conn.prepare_cached(&format!("{REPERTOIRE_SELECT} ORDER BY r.name COLLATE NOCASE, r.id"))?;
        let rows = stmt.query_map([], repertoire_from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// A live repertoire.
    pub fn get_repertoire(&self, id: Uuid) -> Result<Option<Repertoire>, DbError> {
        Ok(self
            .conn
            .prepare_cached(&format!("{REPERTOIRE_SELECT} AND r.id = ?1"))?
            .query_row([id.to_string()], repertoire_from_row)
            .optional()?)
    }

    /// Validates and stores a new repertoire.
    pub fn create_repertoire(&mut self, draft: &RepertoireDraft) -> Result<Repertoire, DbError> {
        let f = draft.validate().map_err(DbError::Input)?;
        let (now, id) = (self.now(), Uuid::now_v7());
        let tx = self.conn.transaction()?;
        put_new(&tx, TableId::Repertoire, id, repertoire_fields(&f), now, &self.device_id)?;
        tx.commit()?;
        self.get_repertoire(id)?.ok_or(DbError::NotFound)
    }

    /// Validates and replaces a live repertoire's name, instrument and description.
    pub fn update_repertoire(&mut self, id: Uuid, draft: &RepertoireDraft) -> Result<Repertoire, DbError> {
        let f = draft.validate().map_err(DbError::Input)?;
        let now = self.now();
        let tx = self.conn.transaction()?;
        edit(&tx, TableId::Repertoire, id, repertoire_fields(&f), now, &self.device_id)?;
        tx.commit()?;
        self.get_repertoire(id)?.ok_or(DbError::NotFound)
    }

    /// Deletes a repertoire and its memberships (never the tunes).
    pub fn delete_repertoire(&mut self, id: Uuid) -> Result<(), DbError> {
        self.delete_row(TableId::Repertoire, id)
    }

    /// Puts live tunes into a live repertoire, in one transaction; tunes already in it
    /// are left alone. Returns how many were added.
    pub fn add_to_repertoire(&mut self, repertoire: Uuid, tunes: &[Uuid]) -> Result<usize, DbError> {
        self.require_live(TableId::Repertoire, repertoire)?;
        for tune in tunes {
            self.require_live(TableId::Tune, *tune)?;
        }
        let now = self.now();
        let tx = self.conn.transaction()?;
        let mut added = 0;
        for tune in tunes {
            let id = membership_id(repertoire, *tune);
            let live_before =
                super::records::read(&tx, TableId::RepertoireTune, id)?.is_some_and(|m| !m.deleted());
            let f = fields_of([
                ("repertoire_id", Value::from(repertoire.to_string())),
                ("tune_id", Value::from(tune.to_string())),
            ]);
            put_new(&tx, TableId::RepertoireTune, id, f, now, &self.device_id)?;
            added += usize::from(!live_before);
        }
        tx.commit()?;
        Ok(added)
    }

    /// Stores imported tunes (each validated and queued) and, given a live repertoire,
    /// puts them in it: all in one transaction, all or none. Returns how many.
    pub fn import_tunes_into(
        &mut self,
        drafts: &[TuneDraft],
        repertoire: Option<Uuid>,
    ) -> Result<usize, DbError> {
        if let Some(r) = repertoire {
            self.require_live(TableId::Repertoire, r)?;
        }
        let now = self.now();
        let tx = self.conn.transaction()?;
        for draft in drafts {
            let fields = validate(draft).map_err(DbError::Invalid)?;
            let tune = super::tunes::new_tune(fields, now, &self.device_id);
            super::tunes::insert(&tx, &tune)?;
            enqueue_record(&tx, &Record::from(&tune), Operation::Insert, now)?;
            if let Some(r) = repertoire {
                let f = fields_of([
                    ("repertoire_id", Value::from(r.to_string())),
                    ("tune_id", Value::from(tune.id.to_string())),
                ]);
                put_new(&tx, TableId::RepertoireTune, membership_id(r, tune.id), f, now, &self.device_id)?;
            }
        }
        tx.commit()?;
        Ok(drafts.len())
    }

    /// Takes a tune out of a repertoire (the tune stays).
    pub fn remove_from_repertoire(&mut self, repertoire: Uuid, tune: Uuid) -> Result<(), DbError> {
        self.delete_row(TableId::RepertoireTune, membership_id(repertoire, tune))
    }

    /// What the tune page shows under a tune.
    pub fn tune_extras(&self, tune: Uuid) -> Result<TuneExtras, DbError> {
        Ok(TuneExtras {
            notes: self.notes(tune)?,
            references: self.references(tune)?,
            tags: self.tags(tune)?,
        })
    }

    // ----- Notes -----

    /// A live tune's notes, newest change first.
    pub fn notes(&self, tune: Uuid) -> Result<Vec<Note>, DbError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, tune_id, body, created_at, last_modified_at FROM note
             WHERE tune_id = ?1 AND deleted = 0 ORDER BY last_modified_at DESC, id DESC",
        )?;
        let rows = stmt
            .query_map([tune.to_string()], |r| {
                Ok(Note {
                    id: parse_col(r, 0)?,
                    tune_id: parse_col(r, 1)?,
                    body: r.get(2)?,
                    created_at: parse_col(r, 3)?,
                    last_modified_at: parse_col(r, 4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Adds a note to a live tune.
    pub fn add_note(&mut self, tune: Uuid, body: &str) -> Result<Uuid, DbError> {
        let body = validate_note(body).map_err(DbError::Input)?;
        self.require_live(TableId::Tune, tune)?;
        let (now, id) = (self.now(), Uuid::now_v7());
        let tx = self.conn.transaction()?;
        let f = fields_of([("tune_id", Value::from(tune.to_string())), ("body", Value::from(body))]);
        put_new(&tx, TableId::Note, id, f, now, &self.device_id)?;
        tx.commit()?;
        Ok(id)
    }

    /// Replaces a live note's text.
    pub fn update_note(&mut self, id: Uuid, body: &str) -> Result<(), DbError> {
        let body = validate_note(body).map_err(DbError::Input)?;
        let now = self.now();
        let tx = self.conn.transaction()?;
        edit(&tx, TableId::Note, id, fields_of([("body", Value::from(body))]), now, &self.device_id)?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes a note.
    pub fn delete_note(&mut self, id: Uuid) -> Result<(), DbError> {
        self.delete_row(TableId::Note, id)
    }

    // ----- References -----

    /// A live tune's references, oldest first.
    pub fn references(&self, tune: Uuid) -> Result<Vec<Reference>, DbError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{REFERENCE_SELECT} AND tune_id = ?1 ORDER BY created_at, id"))?;
        let rows = stmt.query_map([tune.to_string()], reference_from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Adds a reference to a live tune.
    pub fn add_reference(&mut self, tune: Uuid, draft: &ReferenceDraft) -> Result<Uuid, DbError> {
        let f = draft.validate().map_err(DbError::Input)?;
        self.require_live(TableId::Tune, tune)?;
        let (now, id) = (self.now(), Uuid::now_v7());
        let mut values = reference_fields(&f);
        values.insert("tune_id".into(), Value::from(tune.to_string()));
        let tx = self.conn.transaction()?;
        put_new(&tx, TableId::Reference, id, values, now, &self.device_id)?;
        tx.commit()?;
        Ok(id)
    }

    /// Validates and replaces a live reference.
    pub fn update_reference(&mut self, id: Uuid, draft: &ReferenceDraft) -> Result<(), DbError> {
        let f = draft.validate().map_err(DbError::Input)?;
        let now = self.now();
        let tx = self.conn.transaction()?;
        edit(&tx, TableId::Reference, id, reference_fields(&f), now, &self.device_id)?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes a reference.
    pub fn delete_reference(&mut self, id: Uuid) -> Result<(), DbError> {
        self.delete_row(TableId::Reference, id)
    }

    // ----- Tags -----

    /// A live tune's tags, alphabetically.
    pub fn tags(&self, tune: Uuid) -> Result<Vec<String>, DbError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT name FROM tag WHERE tune_id = ?1 AND deleted = 0 ORDER BY name COLLATE NOCASE",
        )?;
        let rows = stmt.query_map([tune.to_string()], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
        Ok(rows)
    }

    /// Every tag on a live tune, once each (case-insensitively), with how many tunes
    /// carry it: suggestions for "Add tag" and the list's tag filter.
    pub fn all_tags(&self) -> Result<Vec<(String, u32)>, DbError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT min(g.name), count(DISTINCT g.tune_id) FROM tag g JOIN tune t ON t.id = g.tune_id AND t.deleted = 0
             WHERE g.deleted = 0 GROUP BY lower(g.name) ORDER BY lower(g.name)",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Tags a live tune (tags are case-insensitive: "Session" and "session" are one).
    /// Returns the tag as stored.
    pub fn add_tag(&mut self, tune: Uuid, name: &str) -> Result<String, DbError> {
        let name = validate_tag(name).map_err(DbError::Input)?;
        self.require_live(TableId::Tune, tune)?;
        let now = self.now();
        let tx = self.conn.transaction()?;
        let id = tag_id(tune, &name);
        // Spelled as the musician first spelled it, if the tag exists already.
        let existing = super::records::read(&tx, TableId::Tag, id)?
            .filter(|t| !t.deleted())
            .map(|t| t.content.text("name"));
        let name = existing.unwrap_or(name);
        let f = fields_of([("tune_id", Value::from(tune.to_string())), ("name", Value::from(name.clone()))]);
        put_new(&tx, TableId::Tag, id, f, now, &self.device_id)?;
        tx.commit()?;
        Ok(name)
    }

    /// Removes a tag from a tune.
    pub fn remove_tag(&mut self, tune: Uuid, name: &str) -> Result<(), DbError> {
        let now = self.now();
        let tx = self.conn.transaction()?;
        if !delete_cascade(&tx, TableId::Tag, tag_id(tune, name), now, &self.device_id)? {
            return Err(DbError::NotFound);
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use tunebook_core::domain::TuneDraft;
    use tunebook_core::sync::Operation;

    fn db_with_tune(title: &str) -> (Database, Uuid) {
        let mut db = Database::open_in_memory().unwrap();
        let t = db.create_tune(&TuneDraft { title: title.into(), ..TuneDraft::default() }).unwrap();
        (db, t.id)
    }

    fn queued(db: &Database) -> Vec<(String, Operation)> {
        db.pending_items(1000).unwrap().into_iter().map(|i| (i.table_name, i.operation)).collect()
    }

    fn live(db: &Database, table: &str) -> i64 {
        db.connection()
            .query_row(&format!("SELECT count(*) FROM {table} WHERE deleted = 0"), [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn an_import_lands_whole_in_its_repertoire_or_not_at_all() {
        let (mut db, _) = db_with_tune("Already here");
        let rep = db
            .create_repertoire(&RepertoireDraft { name: "Imported".into(), ..Default::default() })
            .unwrap()
            .id;
        let drafts: Vec<TuneDraft> = ["The Kesh", "Out on the Ocean"]
            .iter()
            .map(|t| TuneDraft {
                title: (*t).into(),
                abc: format!("X:1\nT:{t}\nK:G\nGAB|"),
                ..TuneDraft::default()
            })
            .collect();
        assert_eq!(db.import_tunes_into(&drafts, Some(rep)).unwrap(), 2);
        assert_eq!(db.get_repertoire(rep).unwrap().map(|r| r.tune_count), Some(2));
        assert_eq!(live(&db, "tune"), 3);
        let queued_members = queued(&db).iter().filter(|(t, _)| t == "repertoire_tune").count();
        assert_eq!(queued_members, 2, "each membership is queued with its tune");
        // One bad draft: nothing of the batch is stored.
        let bad = vec![drafts[0].clone(), TuneDraft::default()];
        assert!(matches!(db.import_tunes_into(&bad, Some(rep)), Err(DbError::Invalid(_))));
        assert_eq!(live(&db, "tune"), 3);
        assert_eq!(db.import_tunes_into(&drafts, Some(Uuid::now_v7())), Err(DbError::NotFound));
    }

    #[test]
    fn repertoires_hold_tunes_once_and_delete_without_touching_them() {
        let (mut db, kesh) = db_with_tune("The Kesh");
        let other =
            db.create_tune(&TuneDraft { title: "Out on the Ocean".into(), ..Default::default() }).unwrap();
        let draft = RepertoireDraft {
            name: "Fiddle — session tunes".into(),
            instrument: "Fiddle".into(),
            ..Default::default()
        };
        let rep = db.create_repertoire(&draft).unwrap();
        assert_eq!(db.add_to_repertoire(rep.id, &[kesh, other.id]).unwrap(), 2);
        assert_eq!(db.add_to_repertoire(rep.id, &[kesh]).unwrap(), 0, "already in it");
        assert_eq!(db.get_repertoire(rep.id).unwrap().unwrap().tune_count, 2);
        let only = tunebook_core::list::ListQuery {
            repertoire: Some(rep.id),
            filter: "kesh".into(),
            ..Default::default()
        };
        assert_eq!(db.list_tunes(&only).unwrap().matched, 1, "the main list narrowed to one repertoire");
        let renamed = db
            .update_repertoire(rep.id, &RepertoireDraft { name: "Wedding gig".into(), ..Default::default() })
            .unwrap();
        assert_eq!((renamed.fields.name.as_str(), renamed.fields.instrument), ("Wedding gig", None));

        db.remove_from_repertoire(rep.id, other.id).unwrap();
        assert_eq!(db.get_repertoire(rep.id).unwrap().unwrap().tune_count, 1);
        db.add_to_repertoire(rep.id, &[other.id]).unwrap();
        assert_eq!(db.get_repertoire(rep.id).unwrap().unwrap().tune_count, 2, "added back");

        db.delete_repertoire(rep.id).unwrap();
        assert!(db.repertoires().unwrap().is_empty());
        assert_eq!(live(&db, "repertoire_tune"), 0, "its memberships went with it");
        assert_eq!(live(&db, "tune"), 2, "the tunes stay");
        assert!(db.add_to_repertoire(rep.id, &[kesh]).is_err(), "a deleted repertoire takes no tunes");
    }

    #[test]
    fn deleting_a_tune_deletes_everything_under_it_in_one_queue() {
        let (mut db, kesh) = db_with_tune("The Kesh");
        let rep =
            db.create_repertoire(&RepertoireDraft { name: "Session".into(), ..Default::default() }).unwrap();
        db.add_to_repertoire(rep.id, &[kesh]).unwrap();
        db.add_note(kesh, "Slower in the B part").unwrap();
        let draft = ReferenceDraft { url: "https://thesession.org/tunes/55".into(), ..Default::default() };
        db.add_reference(kesh, &draft).unwrap();
        db.add_tag(kesh, "Session").unwrap();
        // Everything went up once already.
        let batch = db.begin_push(100, &[]).unwrap();
        db.complete_push(&batch.iter().map(|(i, _)| i.id).collect::<Vec<_>>(), &[]).unwrap();

        db.delete_tune(kesh).unwrap();
        for table in ["tune", "repertoire_tune", "note", "reference", "tag"] {
            assert_eq!(live(&db, table), 0, "{table}");
        }
        assert_eq!(live(&db, "repertoire"), 1, "the repertoire stays");
        let mut deletes = queued(&db);
        deletes.sort_by(|a, b| a.0.cmp(&b.0));
        let expected: Vec<(String, Operation)> = ["note", "reference", "repertoire_tune", "tag", "tune"]
            .into_iter()
            .map(|t| (t.to_string(), Operation::Delete))
            .collect();
        assert_eq!(deletes, expected, "every delete reaches the other devices");
        assert_eq!(db.get_repertoire(rep.id).unwrap().unwrap().tune_count, 0);
    }

    #[test]
    fn tags_are_case_insensitive_and_suggested() {
        let (mut db, kesh) = db_with_tune("The Kesh");
        let other =
            db.create_tune(&TuneDraft { title: "Out on the Ocean".into(), ..Default::default() }).unwrap();
        assert_eq!(db.add_tag(kesh, "  Session ").unwrap(), "Session");
        assert_eq!(db.add_tag(kesh, "session").unwrap(), "Session", "one tag, first spelling kept");
        db.add_tag(kesh, "jigs").unwrap();
        db.add_tag(other.id, "SESSION").unwrap();
        assert_eq!(db.tags(kesh).unwrap(), ["jigs", "Session"]);
        assert_eq!(db.all_tags().unwrap(), [("jigs".to_string(), 1), ("SESSION".to_string(), 2)]);
        let tagged = |db: &Database, tag: &str| {
            let q = tunebook_core::list::ListQuery { tag: Some(tag.into()), ..Default::default() };
            let page = db.list_tunes(&q).unwrap();
            (page.matched, page.total, page.rows.into_iter().map(|r| r.title).collect::<Vec<_>>())
        };
        assert_eq!(tagged(&db, "sEsSiOn"), (2, 2, vec!["Out on the Ocean".into(), "The Kesh".into()]));
        assert_eq!(tagged(&db, "jigs"), (1, 2, vec!["The Kesh".into()]));
        db.remove_tag(kesh, "SESSION").unwrap();
        assert_eq!(db.tags(kesh).unwrap(), ["jigs"]);
        assert_eq!(db.remove_tag(kesh, "nope"), Err(DbError::NotFound));
        let Err(DbError::Input(e)) = db.add_tag(kesh, &"x".repeat(51)) else { panic!("long tag accepted") };
        assert_eq!(e.field, "tag");
        assert_eq!(db.add_tag(Uuid::now_v7(), "x"), Err(DbError::NotFound), "no tag on a missing tune");
    }

    #[test]
    fn notes_and_references_edit_and_refuse_bad_input_changing_nothing() {
        let (mut db, kesh) = db_with_tune("The Kesh");
        let first = db.add_note(kesh, "First").unwrap();
        db.set_clock(|| tunebook_core::domain::Timestamp(4_000_000_000_000));
        let second = db.add_note(kesh, "Second").unwrap();
        assert_eq!(
            db.notes(kesh).unwrap().iter().map(|n| n.id).collect::<Vec<_>>(),
            [second, first],
            "newest first"
        );
        db.set_clock(|| tunebook_core::domain::Timestamp(4_000_000_001_000));
        db.update_note(first, "First, edited").unwrap();
        assert!(matches!(db.update_note(first, "  "), Err(DbError::Input(_))));
        assert_eq!(db.notes(kesh).unwrap()[0].body, "First, edited");
        db.delete_note(second).unwrap();
        assert_eq!(db.notes(kesh).unwrap().len(), 1);

        let bad = ReferenceDraft { url: "javascript:alert(1)".into(), ..Default::default() };
        assert!(matches!(db.add_reference(kesh, &bad), Err(DbError::Input(e)) if e.field == "url"));
        assert!(db.references(kesh).unwrap().is_empty());
        let draft = ReferenceDraft {
            url: "https://www.youtube.com/watch?v=x".into(),
            kind: "video".into(),
            title: "Live at the Cobblestone".into(),
            comment: String::new(),
        };
        let id = db.add_reference(kesh, &draft).unwrap();
        db.update_reference(id, &ReferenceDraft { kind: "audio".into(), ..draft }).unwrap();
        let refs = db.references(kesh).unwrap();
        assert_eq!((refs.len(), refs[0].kind_label()), (1, "Audio"));
        db.delete_reference(id).unwrap();
        assert!(db.references(kesh).unwrap().is_empty());
    }
}
