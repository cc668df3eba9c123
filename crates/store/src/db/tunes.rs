//! Creating, reading, editing and soft-deleting tunes.

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::outbox::enqueue_record;
use super::records::parse_col;
use super::{Database, DbError};
use tunebook_core::domain::{Timestamp, Tune, TuneDraft, TuneFields, Uuid, validate};
use tunebook_core::record::Record;
use tunebook_core::sync::Operation;
use tunebook_core::tables::TableId;

/// Columns in the order [`tune_from_row`] reads them.
pub(super) const TUNE_COLUMNS: &str = "id, title, type, structure, mode, genre, composer, artist, \
     release_year, incipit, abc, user_id, created_at, last_modified_at, sync_version, device_id, deleted";

impl Database {
    /// Validates and stores a new tune with a fresh id; returns the stored row.
    pub fn create_tune(&mut self, draft: &TuneDraft) -> Result<Tune, DbError> {
        let fields = validate(draft).map_err(DbError::Invalid)?;
        let tune = new_tune(fields, self.now(), &self.device_id);
        let tx = self.conn.transaction()?;
        insert(&tx, &tune)?;
        enqueue_record(&tx, &Record::from(&tune), Operation::Insert, tune.created_at)?;
        tx.commit()?;
        Ok(tune)
    }

    /// Validates and stores many new tunes in one transaction: all or none.
    /// Returns how many were stored. An invalid draft fails the whole batch and names it.
    pub fn import_tunes(&mut self, drafts: &[TuneDraft]) -> Result<usize, DbError> {
        let now = self.now();
        let tx = self.conn.transaction()?;
        for draft in drafts {
            let fields = validate(draft).map_err(DbError::Invalid)?;
            let tune = new_tune(fields, now, &self.device_id);
            insert(&tx, &tune)?;
            enqueue_record(&tx, &Record::from(&tune), Operation::Insert, now)?;
        }
        tx.commit()?;
        Ok(drafts.len())
    }

    /// Validates and replaces a live tune's content; returns the stored row.
    ///
    /// `sync_version` is left alone: it records the server version this edit started
    /// from, which is what conflict detection needs.
    pub fn update_tune(&mut self, id: Uuid, draft: &TuneDraft) -> Result<Tune, DbError> {
        let fields = validate(draft).map_err(DbError::Invalid)?;
        let now = self.now();
        let tx = self.conn.transaction()?;
        let changed = tx.execute(
            "UPDATE tune SET title = ?2, type = ?3, structure = ?4, mode = ?5, genre = ?6,
                 composer = ?7, artist = ?8, release_year = ?9, incipit = ?10, abc = ?13,
                 last_modified_at = ?11, device_id = ?12
             WHERE id = ?1 AND deleted = 0",
            params![
                id.to_string(),
                fields.title,
                fields.tune_type,
                fields.structure,
                fields.mode,
                fields.genre,
                fields.composer,
                fields.artist,
                fields.release_year,
                fields.incipit,
                now.to_string(),
                self.device_id,
                fields.abc,
            ],
        )?;
        if changed == 0 {
            return Err(DbError::NotFound);
        }
        let tune = get(&tx, id)?.ok_or(DbError::NotFound)?;
        enqueue_record(&tx, &Record::from(&tune), Operation::Update, now)?;
        tx.commit()?;
        Ok(tune)
    }

    /// Marks a live tune deleted, with its notes, references, tags and repertoire
    /// memberships, in one transaction. The rows stay so the deletes reach other devices.
    pub fn delete_tune(&mut self, id: Uuid) -> Result<(), DbError> {
        self.delete_row(TableId::Tune, id)
    }

    /// A live tune by id; `None` if it does not exist or was deleted.
    pub fn get_tune(&self, id: Uuid) -> Result<Option<Tune>, DbError> {
        Ok(get(&self.conn, id)?.filter(|t| !t.deleted))
    }

    /// A tune by id including deleted ones (sync and tests need to see tombstones).
    pub fn get_tune_any(&self, id: Uuid) -> Result<Option<Tune>, DbError> {
        get(&self.conn, id)
    }
}

/// A never-synced tune made on this device.
pub(super) fn new_tune(fields: TuneFields, now: Timestamp, device_id: &str) -> Tune {
    Tune {
        id: Uuid::now_v7(),
        fields,
        user_id: None,
        created_at: now,
        last_modified_at: now,
        sync_version: 1,
        device_id: device_id.to_string(),
        deleted: false,
    }
}

/// Stores a new tune row (fails if the id exists).
pub(super) fn insert(tx: &Transaction<'_>, t: &Tune) -> Result<(), DbError> {
    let f = &t.fields;
    let created_at = t.created_at.to_string();
    // Usually equal (a new tune): format once.
    let last_modified_at =
        if t.last_modified_at == t.created_at { created_at.clone() } else { t.last_modified_at.to_string() };
    tx.prepare_cached(&format!(
        "INSERT INTO tune ({TUNE_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
    ))?
    .execute(params![
        t.id.to_string(),
        f.title,
        f.tune_type,
        f.structure,
        f.mode,
        f.genre,
        f.composer,
        f.artist,
        f.release_year,
        f.incipit,
        f.abc,
        t.user_id.map(|u| u.to_string()),
        created_at,
        last_modified_at,
        t.sync_version,
        t.device_id,
        t.deleted,
    ])?;
    Ok(())
}

pub(super) fn get(conn: &rusqlite::Connection, id: Uuid) -> Result<Option<Tune>, DbError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {TUNE_COLUMNS} FROM tune WHERE id = ?1"))?
        .query_row([id.to_string()], tune_from_row)
        .optional()?)
}

/// Reads a row selected with [`TUNE_COLUMNS`].
pub(super) fn tune_from_row(row: &Row<'_>) -> rusqlite::Result<Tune> {
    Ok(Tune {
        id: parse_col(row, 0)?,
        fields: TuneFields {
            title: row.get(1)?,
            tune_type: row.get(2)?,
            structure: row.get(3)?,
            mode: row.get(4)?,
            genre: row.get(5)?,
            composer: row.get(6)?,
            artist: row.get(7)?,
            release_year: row.get(8)?,
            incipit: row.get(9)?,
            abc: row.get(10)?,
        },
        user_id: row.get::<_, Option<String>>(11)?.and_then(|s| s.parse().ok()),
        created_at: parse_col(row, 12)?,
        last_modified_at: parse_col(row, 13)?,
        sync_version: row.get(14)?,
        device_id: row.get(15)?,
        deleted: row.get(16)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tunebook_core::domain::Field;

    fn fixed_clock() -> Timestamp {
        Timestamp(1_795_238_939_123)
    }

    fn db() -> Database {
        let mut db = Database::open_in_memory().unwrap();
        db.set_clock(fixed_clock);
        db
    }

    fn draft(title: &str) -> TuneDraft {
        TuneDraft { title: title.into(), tune_type: "reel".into(), ..TuneDraft::default() }
    }

    fn count(db: &Database, sql: &str) -> i64 {
        db.connection().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn create_then_get_returns_the_same_row() {
        let mut db = db();
        let created = db.create_tune(&draft("The Silver Spear")).unwrap();
        assert_eq!(created.sync_version, 1);
        assert_eq!(created.device_id, db.device_id());
        assert_eq!(created.created_at, fixed_clock());
        assert_eq!(created.user_id, None);
        assert_eq!(created.id.version(), 7);
        assert_eq!(db.get_tune(created.id).unwrap(), Some(created));
    }

    #[test]
    fn invalid_input_changes_nothing() {
        let mut db = db();
        let kept = db.create_tune(&draft("Kept")).unwrap();
        let bad = TuneDraft { release_year: "12".into(), ..draft("") };
        let Err(DbError::Invalid(errors)) = db.create_tune(&bad) else { panic!("invalid draft accepted") };
        assert!(errors.get(Field::Title).is_some() && errors.get(Field::ReleaseYear).is_some());
        assert!(matches!(db.update_tune(kept.id, &bad), Err(DbError::Invalid(_))));
        assert_eq!(db.get_tune(kept.id).unwrap(), Some(kept));
        assert_eq!(count(&db, "SELECT count(*) FROM tune"), 1);
    }

    #[test]
    fn update_replaces_content_and_keeps_identity() {
        let mut db = db();
        let created = db.create_tune(&draft("Old")).unwrap();
        db.set_clock(|| Timestamp(1_795_238_999_000));
        let updated =
            db.update_tune(created.id, &TuneDraft { mode: "D major".into(), ..draft("New") }).unwrap();
        assert_eq!(updated.fields.title, "New");
        assert_eq!(updated.fields.mode.as_deref(), Some("D major"));
        assert_eq!(updated.created_at, created.created_at);
        assert_eq!(updated.last_modified_at, Timestamp(1_795_238_999_000));
        assert_eq!(updated.sync_version, 1, "local edits keep the base version");
        assert_eq!(db.get_tune(created.id).unwrap(), Some(updated));
    }

    #[test]
    fn delete_is_soft_and_hides_the_tune() {
        let mut db = db();
        let t = db.create_tune(&draft("Gone")).unwrap();
        db.delete_tune(t.id).unwrap();
        assert_eq!(db.get_tune(t.id).unwrap(), None);
        let tombstone = db.get_tune_any(t.id).unwrap().unwrap();
        assert!(tombstone.deleted);
        assert_eq!(tombstone.fields.title, "Gone");
        assert_eq!(db.delete_tune(t.id), Err(DbError::NotFound));
        assert_eq!(db.update_tune(t.id, &draft("Back")), Err(DbError::NotFound));
    }

    #[test]
    fn unknown_ids_are_not_found() {
        let mut db = db();
        let id = Uuid::now_v7();
        assert_eq!(db.get_tune(id).unwrap(), None);
        assert_eq!(db.update_tune(id, &draft("x")), Err(DbError::NotFound));
        assert_eq!(db.delete_tune(id), Err(DbError::NotFound));
    }

    #[test]
    fn import_is_all_or_nothing() {
        let mut db = db();
        let drafts = vec![draft("A"), draft("B"), draft("")];
        assert!(matches!(db.import_tunes(&drafts), Err(DbError::Invalid(_))));
        assert_eq!(count(&db, "SELECT count(*) FROM tune"), 0);
        assert_eq!(db.import_tunes(&drafts[..2]).unwrap(), 2);
        assert_eq!(count(&db, "SELECT count(*) FROM tune"), 2);
    }

    #[test]
    fn data_and_device_id_survive_reopening_a_file() {
        let dir = std::env::temp_dir().join(format!("tunebook-test-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tunebook.db");
        let mut db = Database::open(rusqlite::Connection::open(&path).unwrap()).unwrap();
        let t = db.create_tune(&draft("Persistent")).unwrap();
        let device = db.device_id().to_string();
        db.close().unwrap();
        let db = Database::open(rusqlite::Connection::open(&path).unwrap()).unwrap();
        assert_eq!(db.device_id(), device);
        assert_eq!(db.get_tune(t.id).unwrap().unwrap().fields.title, "Persistent");
        drop(db);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
