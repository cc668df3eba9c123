//! Versioned, append-only schema migrations, recorded in `PRAGMA user_version`.
//!
//! Migration N (1-based) moves a database from version N-1 to N inside one transaction,
//! so a crash mid-upgrade leaves the previous version intact. Never edit or reorder an
//! entry once released: add a new one.

use rusqlite::Connection;

use super::DbError;

const MIGRATIONS: &[&str] = &[
    // 1: tunes and per-database metadata (the device id).
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE tune (
        id               TEXT PRIMARY KEY NOT NULL,
        title            TEXT NOT NULL,
        type             TEXT,
        structure        TEXT,
        mode             TEXT,
        genre            TEXT,
        composer         TEXT,
        artist           TEXT,
        release_year     INTEGER,
        incipit          TEXT,
        user_id          TEXT,
        created_at       TEXT NOT NULL,
        last_modified_at TEXT NOT NULL,
        sync_version     INTEGER NOT NULL DEFAULT 1,
        device_id        TEXT NOT NULL,
        deleted          INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
    );

    -- The list shows live rows sorted by one column; each index serves one sort order
    -- and keeps the page query from scanning deleted rows.
    CREATE INDEX tune_by_title    ON tune (deleted, title COLLATE NOCASE, id);
    CREATE INDEX tune_by_type     ON tune (deleted, type COLLATE NOCASE, title COLLATE NOCASE);
    CREATE INDEX tune_by_mode     ON tune (deleted, mode COLLATE NOCASE, title COLLATE NOCASE);
    CREATE INDEX tune_by_genre    ON tune (deleted, genre COLLATE NOCASE, title COLLATE NOCASE);
    CREATE INDEX tune_by_modified ON tune (deleted, last_modified_at, id);
    "#,
    // 2: the outbox. Every local write queues its change in the same transaction.
    r#"
    CREATE TABLE sync_queue (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        table_name      TEXT NOT NULL,
        record_id       TEXT NOT NULL,
        operation       TEXT NOT NULL CHECK (operation IN ('insert', 'update', 'delete')),
        data            TEXT,
        created_at      TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_attempt_at TEXT,
        error           TEXT,
        status          TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'syncing', 'synced', 'failed'))
    );
    CREATE INDEX sync_queue_by_status ON sync_queue (status, id);
    CREATE INDEX sync_queue_by_record ON sync_queue (table_name, record_id, status);

    -- Tunes written before the outbox existed are queued too, so they reach the server.
    INSERT INTO sync_queue (table_name, record_id, operation, data, created_at)
    SELECT 'tune', id,
           CASE WHEN deleted THEN 'delete' ELSE 'insert' END,
           CASE WHEN deleted THEN NULL ELSE json_object(
               'id', id, 'title', title, 'tune_type', type, 'structure', structure,
               'mode', mode, 'genre', genre, 'composer', composer, 'artist', artist,
               'release_year', release_year, 'incipit', incipit, 'user_id', user_id,
               'created_at', created_at, 'last_modified_at', last_modified_at,
               'sync_version', sync_version, 'device_id', device_id,
               'deleted', json(CASE WHEN deleted THEN 'true' ELSE 'false' END)) END,
           last_modified_at
    FROM tune ORDER BY rowid;
    "#,
    // 3: pulling and conflicts. The server's content as last known for each tune (the
    // common base of a three-way merge), conflicts waiting for the musician, and how far
    // each table has been pulled.
    r#"
    CREATE TABLE tune_base (
        id           TEXT PRIMARY KEY NOT NULL,
        sync_version INTEGER NOT NULL,
        content      TEXT NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE sync_conflict (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        table_name     TEXT NOT NULL,
        record_id      TEXT NOT NULL,
        base           TEXT,
        mine           TEXT NOT NULL,
        theirs         TEXT NOT NULL,
        theirs_version INTEGER NOT NULL,
        parts          TEXT NOT NULL,
        detected_at    TEXT NOT NULL,
        UNIQUE (table_name, record_id)
    );

    CREATE TABLE sync_cursor (
        table_name    TEXT PRIMARY KEY NOT NULL,
        change_number INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 4: pulled rows this device could not read, set aside so the pull goes on; a later
    // readable version of the same row takes its place.
    r#"
    CREATE TABLE sync_quarantine (
        table_name    TEXT NOT NULL,
        record_id     TEXT NOT NULL,
        change_number INTEGER NOT NULL,
        reason        TEXT NOT NULL,
        raw           TEXT NOT NULL,
        received_at   TEXT NOT NULL,
        PRIMARY KEY (table_name, record_id)
    ) WITHOUT ROWID;
    "#,
    // 5: every table a musician keeps, on one sync engine (crates/core/src/tables.rs).
    // Each synced table has the same bookkeeping columns as `tune`. No foreign keys: a
    // pull may bring a child before its parent's latest version, and a child may
    // outlive a parent deleted on another device until the musician decides; the sync
    // engine and the queries keep them consistent instead. Base versions of every table
    // in one `sync_base`; one pull cursor for all tables (the server's change numbers
    // are per account, across tables).
    r#"
    CREATE TABLE repertoire (
        id               TEXT PRIMARY KEY NOT NULL,
        name             TEXT NOT NULL,
        instrument       TEXT,
        description      TEXT,
        user_id          TEXT,
        created_at       TEXT NOT NULL,
        last_modified_at TEXT NOT NULL,
        sync_version     INTEGER NOT NULL DEFAULT 1,
        device_id        TEXT NOT NULL,
        deleted          INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
    );
    CREATE INDEX repertoire_by_name ON repertoire (deleted, name COLLATE NOCASE);

    CREATE TABLE repertoire_tune (
        id               TEXT PRIMARY KEY NOT NULL,
        repertoire_id    TEXT NOT NULL,
        tune_id          TEXT NOT NULL,
        user_id          TEXT,
        created_at       TEXT NOT NULL,
        last_modified_at TEXT NOT NULL,
        sync_version     INTEGER NOT NULL DEFAULT 1,
        device_id        TEXT NOT NULL,
        deleted          INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
    );
    CREATE INDEX repertoire_tune_by_repertoire ON repertoire_tune (repertoire_id, deleted, tune_id);
    CREATE INDEX repertoire_tune_by_tune ON repertoire_tune (tune_id);

    CREATE TABLE note (
        id               TEXT PRIMARY KEY NOT NULL,
        tune_id          TEXT NOT NULL,
        body             TEXT NOT NULL,
        user_id          TEXT,
        created_at       TEXT NOT NULL,
        last_modified_at TEXT NOT NULL,
        sync_version     INTEGER NOT NULL DEFAULT 1,
        device_id        TEXT NOT NULL,
        deleted          INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
    );
    CREATE INDEX note_by_tune ON note (tune_id, deleted, last_modified_at);

    CREATE TABLE reference (
        id               TEXT PRIMARY KEY NOT NULL,
        tune_id          TEXT NOT NULL,
        url              TEXT NOT NULL,
        kind             TEXT NOT NULL,
        title            TEXT,
        comment          TEXT,
        user_id          TEXT,
        created_at       TEXT NOT NULL,
        last_modified_at TEXT NOT NULL,
        sync_version     INTEGER NOT NULL DEFAULT 1,
        device_id        TEXT NOT NULL,
        deleted          INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
    );
    CREATE INDEX reference_by_tune ON reference (tune_id, deleted);

    CREATE TABLE tag (
        id               TEXT PRIMARY KEY NOT NULL,
        tune_id          TEXT NOT NULL,
        name             TEXT NOT NULL,
        user_id          TEXT,
        created_at       TEXT NOT NULL,
        last_modified_at TEXT NOT NULL,
        sync_version     INTEGER NOT NULL DEFAULT 1,
        device_id        TEXT NOT NULL,
        deleted          INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
    );
    CREATE INDEX tag_by_tune ON tag (tune_id, deleted);
    CREATE INDEX tag_by_name ON tag (deleted, name COLLATE NOCASE, tune_id);

    CREATE TABLE sync_base (
        table_name   TEXT NOT NULL,
        id           TEXT NOT NULL,
        sync_version INTEGER NOT NULL,
        content      TEXT NOT NULL,
        PRIMARY KEY (table_name, id)
    ) WITHOUT ROWID;

    -- Tune contents are now keyed by column name: the field `tune_type` is the column `type`.
    INSERT INTO sync_base (table_name, id, sync_version, content)
    SELECT 'tune', id, sync_version,
           json_remove(json_set(content, '$.fields.type', json_extract(content, '$.fields.tune_type')),
                       '$.fields.tune_type')
    FROM tune_base;
    DROP TABLE tune_base;
    UPDATE sync_conflict SET
        base = CASE WHEN base IS NULL THEN NULL ELSE
            json_remove(json_set(base, '$.fields.type', json_extract(base, '$.fields.tune_type')), '$.fields.tune_type') END,
        mine = json_remove(json_set(mine, '$.fields.type', json_extract(mine, '$.fields.tune_type')), '$.fields.tune_type'),
        theirs = json_remove(json_set(theirs, '$.fields.type', json_extract(theirs, '$.fields.tune_type')), '$.fields.tune_type')
    WHERE table_name = 'tune';

    UPDATE sync_cursor SET table_name = '*' WHERE table_name = 'tune';
    "#,
    // 6: practice. Records are synced history (insert-only); practice_schedule is this
    // device's cache of each tune's schedule, folded from the records, so today's queue
    // reads one row per tune instead of every record. Repertoires gain their practice
    // settings (empty = the default).
    r#"
    ALTER TABLE repertoire ADD COLUMN desired_retention REAL;
    ALTER TABLE repertoire ADD COLUMN max_reviews_per_day INTEGER;
    ALTER TABLE repertoire ADD COLUMN new_per_day INTEGER;
    ALTER TABLE repertoire ADD COLUMN max_interval INTEGER;

    CREATE TABLE practice_record (
        id               TEXT PRIMARY KEY NOT NULL,
        repertoire_id    TEXT NOT NULL,
        tune_id          TEXT NOT NULL,
        kind             TEXT NOT NULL,
        practised_at     INTEGER NOT NULL,
        rating           INTEGER,
        undoes           TEXT,
        due              INTEGER,
        interval_days    INTEGER,
        stability        REAL,
        difficulty       REAL,
        state            TEXT,
        reps             INTEGER,
        lapses           INTEGER,
        user_id          TEXT,
        created_at       TEXT NOT NULL,
        last_modified_at TEXT NOT NULL,
        sync_version     INTEGER NOT NULL DEFAULT 1,
        device_id        TEXT NOT NULL,
        deleted          INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
    );
    CREATE INDEX practice_record_by_tune ON practice_record (tune_id, repertoire_id, practised_at);
    CREATE INDEX practice_record_by_repertoire ON practice_record (repertoire_id, practised_at);
    CREATE INDEX practice_record_undoes ON practice_record (undoes) WHERE undoes IS NOT NULL;

    CREATE TABLE practice_schedule (
        repertoire_id TEXT NOT NULL,
        tune_id       TEXT NOT NULL,
        -- core::practice::Schedule as JSON, and its due date for range queries.
        due           INTEGER NOT NULL,
        schedule      TEXT NOT NULL,
        -- The latest record in force (time, id): a newer one updates the row directly.
        latest_at     INTEGER NOT NULL,
        latest_id     TEXT NOT NULL,
        PRIMARY KEY (repertoire_id, tune_id)
    ) WITHOUT ROWID;
    "#,
    // 7: a tune's whole ABC (notation, playback, import and export).
    r#"
    ALTER TABLE tune ADD COLUMN abc TEXT;
    "#,
    // 8: requests relayed from other tabs that wrote something, by key, with the answer
    // given: one sent again to a new leader tab is answered, not applied twice.
    r#"
    CREATE TABLE applied_request (
        key        TEXT PRIMARY KEY NOT NULL,
        response   TEXT,
        applied_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
];

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`SCHEMA_VERSION`].
pub fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    migrate_to(conn, SCHEMA_VERSION)
}

/// Brings the database up to `target` (tests use it to build older databases).
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<(), DbError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(DbError::TooNew { found: current, known: SCHEMA_VERSION });
    }
    for version in current + 1..=target.min(SCHEMA_VERSION) {
        let tx = conn.transaction()?;
        tx.execute_batch(MIGRATIONS[(version - 1) as usize])?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn fresh_database_reaches_current_version_and_reopening_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn), SCHEMA_VERSION);
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn), SCHEMA_VERSION);
    }

    #[test]
    fn every_step_upgrades_in_place_keeping_rows() {
        // Build a database at each older version, put a tune in it, upgrade, check the tune.
        for start in 1..=SCHEMA_VERSION {
            let mut conn = Connection::open_in_memory().unwrap();
            migrate_to(&mut conn, start).unwrap();
            conn.execute(
                "INSERT INTO tune (id, title, created_at, last_modified_at, device_id)
                 VALUES ('01901234-5678-7fff-bfff-ffffffffffff', 'Kept',
                         '2026-11-26T05:00:00.000Z', '2026-11-26T05:00:00.000Z', 'd')",
                [],
            )
            .unwrap();
            migrate(&mut conn).unwrap();
            let title: String = conn.query_row("SELECT title FROM tune", [], |r| r.get(0)).unwrap();
            assert_eq!(title, "Kept");
            assert_eq!(version(&conn), SCHEMA_VERSION);
        }
    }

    #[test]
    fn tunes_from_before_the_outbox_are_queued_with_their_row() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 1).unwrap();
        conn.execute_batch(
            "INSERT INTO tune (id, title, type, release_year, created_at, last_modified_at, device_id)
             VALUES ('01901234-5678-7fff-bfff-ffffffffffff', 'Old', 'reel', 1998,
                     '2026-11-26T05:00:00.000Z', '2026-11-26T05:00:00.000Z', 'd');
             INSERT INTO tune (id, title, created_at, last_modified_at, device_id, deleted)
             VALUES ('01901234-5678-7fff-bfff-fffffffffff0', 'Gone',
                     '2026-11-26T05:00:00.000Z', '2026-11-26T05:00:00.000Z', 'd', 1);",
        )
        .unwrap();
        migrate_to(&mut conn, 2).unwrap();
        let queued: Vec<(String, Option<String>)> = conn
            .prepare("SELECT operation, data FROM sync_queue ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(queued.len(), 2);
        assert_eq!((queued[0].0.as_str(), queued[1].0.as_str()), ("insert", "delete"));
        let tune: tunebook_core::domain::Tune =
            serde_json::from_str(queued[0].1.as_deref().unwrap()).unwrap();
        assert_eq!(
            (tune.fields.title.as_str(), tune.fields.release_year, tune.deleted),
            ("Old", Some(1998), false)
        );
        assert_eq!(queued[1].1, None);
    }

    #[test]
    fn newer_database_is_refused_untouched() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert_eq!(err, DbError::TooNew { found: SCHEMA_VERSION + 1, known: SCHEMA_VERSION });
        assert_eq!(version(&conn), SCHEMA_VERSION + 1);
    }

    #[test]
    fn failed_migration_rolls_back() {
        let mut conn = Connection::open_in_memory().unwrap();
        // A table in the way makes migration 1 fail half-way through its batch.
        conn.execute_batch("CREATE TABLE tune (x)").unwrap();
        assert!(migrate(&mut conn).is_err());
        assert_eq!(version(&conn), 0);
        let meta_exists: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE name = 'meta'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(meta_exists, 0);
    }
}
