//! Bringing the server's versions of tunes into this device: rows pulled from the
//! server, and pushes the server answered with a newer version. A row never overwrites a
//! local change that has not reached the server: the two are merged (fields changed on
//! one side only), and what cannot be merged becomes a conflict, with both versions kept
//! until the musician decides.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tunebook_core::domain::{Timestamp, Tune, Uuid};
use tunebook_core::merge::{Conflict, Content, Part, Side, resolve, three_way};
use tunebook_core::supabase::rest::{PulledPage, ServerTune};
use tunebook_core::sync::{Operation, PullReport, UnreadableRow};

use super::outbox::{TUNE_TABLE, enqueue};
use super::tunes::{get, insert, replace};
use super::{Database, DbError};

/// How a server version met a local change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reconciled {
    /// Merged by itself; what is left to send (if anything) is queued.
    Merged,
    /// Needs the musician.
    Conflict,
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Plain data types: serializing cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

fn from_json<T: serde::de::DeserializeOwned>(idx: usize, text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e)))
}

/// The server's content as last known for a tune, if it is the version `at`.
fn base_at(tx: &Connection, id: &str, at: i64) -> Result<Option<Content>, DbError> {
    let row: Option<(i64, String)> = tx
        .prepare_cached("SELECT sync_version, content FROM tune_base WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match row {
        Some((version, content)) if version == at => Some(from_json(1, &content)?),
        _ => None,
    })
}

/// Remembers the server's content at a version (the base for later merges).
pub(super) fn set_base(
    tx: &Transaction<'_>,
    id: &str,
    version: i64,
    content: &Content,
) -> Result<(), DbError> {
    tx.prepare_cached("INSERT OR REPLACE INTO tune_base (id, sync_version, content) VALUES (?1, ?2, ?3)")?
        .execute(params![id, version, to_json(content)])?;
    Ok(())
}

/// The record's queued change that has not reached the server, if any.
fn open_item(tx: &Connection, id: &str) -> Result<Option<i64>, DbError> {
    Ok(tx
        .prepare_cached(
            "SELECT id FROM sync_queue WHERE table_name = ?1 AND record_id = ?2
             AND status IN ('pending', 'syncing', 'failed') ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![TUNE_TABLE, id], |r| r.get(0))
        .optional()?)
}

/// Writes content and server bookkeeping into a local tune.
fn write_local(tx: &Transaction<'_>, id: &str, content: &Content, server: &Tune) -> Result<(), DbError> {
    let f = &content.fields;
    tx.prepare_cached(
        "UPDATE tune SET title = ?2, type = ?3, structure = ?4, mode = ?5, genre = ?6, composer = ?7,
             artist = ?8, release_year = ?9, incipit = ?10, deleted = ?11, sync_version = ?12,
             user_id = ?13
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        f.title,
        f.tune_type,
        f.structure,
        f.mode,
        f.genre,
        f.composer,
        f.artist,
        f.release_year,
        f.incipit,
        content.deleted,
        server.sync_version,
        server.user_id.map(|u| u.to_string()),
    ])?;
    Ok(())
}

/// Takes the server's row as this device's, whole (no local change to keep).
fn take_theirs(tx: &Transaction<'_>, theirs: &Tune) -> Result<(), DbError> {
    replace(tx, theirs)?;
    set_base(tx, &theirs.id.to_string(), theirs.sync_version, &Content::from(theirs))
}

/// Merges a newer server version into a local tune that has an unsent change.
fn reconcile(
    tx: &Transaction<'_>,
    mine: &Tune,
    theirs: &Tune,
    item: Option<i64>,
    now: Timestamp,
) -> Result<Reconciled, DbError> {
    let id = mine.id.to_string();
    let base = base_at(tx, &id, mine.sync_version)?;
    let (mine_content, theirs_content) = (Content::from(mine), Content::from(theirs));
    let merge = three_way(base.as_ref(), &mine_content, &theirs_content);
    if !merge.conflicts.is_empty() {
        tx.prepare_cached(
            "INSERT INTO sync_conflict (table_name, record_id, base, mine, theirs, theirs_version, parts, detected_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (table_name, record_id) DO UPDATE SET base = excluded.base, mine = excluded.mine,
                 theirs = excluded.theirs, theirs_version = excluded.theirs_version, parts = excluded.parts,
                 detected_at = excluded.detected_at",
        )?
        .execute(params![
            TUNE_TABLE,
            id,
            base.as_ref().map(to_json),
            to_json(&mine_content),
            to_json(&theirs_content),
            theirs.sync_version,
            to_json(&merge.conflicts),
            now.to_string(),
        ])?;
        // Both versions are kept (mine in the tune, theirs in the conflict); nothing is
        // sent until the musician decides.
        if let Some(item) = item {
            tx.prepare_cached("DELETE FROM sync_queue WHERE id = ?1")?.execute([item])?;
        }
        return Ok(Reconciled::Conflict);
    }
    apply_merge(tx, mine.id, &merge.merged, theirs, item, now)?;
    Ok(Reconciled::Merged)
}

/// Makes `merged` this device's tune on top of the server's version `theirs`, and queues
/// whatever it adds to that version (nothing, if they are the same).
fn apply_merge(
    tx: &Transaction<'_>,
    id: Uuid,
    merged: &Content,
    theirs: &Tune,
    item: Option<i64>,
    now: Timestamp,
) -> Result<(), DbError> {
    let key = id.to_string();
    let theirs_content = Content::from(theirs);
    write_local(tx, &key, merged, theirs)?;
    set_base(tx, &key, theirs.sync_version, &theirs_content)?;
    if let Some(item) = item {
        tx.prepare_cached("DELETE FROM sync_queue WHERE id = ?1")?.execute([item])?;
    }
    if *merged != theirs_content {
        let local = get(tx, id)?.ok_or(DbError::NotFound)?;
        let op = if merged.deleted { Operation::Delete } else { Operation::Update };
        let data = (!local.deleted).then(|| to_json(&local));
        enqueue(tx, TUNE_TABLE, &key, op, data.as_deref(), now)?;
    }
    Ok(())
}

/// Re-evaluates an open conflict against a newer server version; settles it if the newer
/// version removes the disagreement.
fn refresh_conflict(
    tx: &Transaction<'_>,
    conflict: &Conflict,
    theirs: &Tune,
    now: Timestamp,
) -> Result<bool, DbError> {
    let mut updated = conflict.clone();
    updated.theirs = Content::from(theirs);
    updated.theirs_version = theirs.sync_version;
    let merge = updated.merge();
    if merge.conflicts.is_empty() {
        tx.prepare_cached("DELETE FROM sync_conflict WHERE id = ?1")?.execute([conflict.id])?;
        apply_merge(tx, conflict.record_id, &merge.merged, theirs, None, now)?;
        return Ok(true);
    }
    tx.prepare_cached("UPDATE sync_conflict SET theirs = ?2, theirs_version = ?3, parts = ?4 WHERE id = ?1")?
        .execute(params![
            conflict.id,
            to_json(&updated.theirs),
            theirs.sync_version,
            to_json(&merge.conflicts)
        ])?;
    Ok(false)
}

fn conflict_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Conflict> {
    Ok(Conflict {
        id: row.get(0)?,
        record_id: super::tunes::parse_col(row, 1)?,
        base: row.get::<_, Option<String>>(2)?.map(|b| from_json(2, &b)).transpose()?,
        mine: from_json(3, &row.get::<_, String>(3)?)?,
        theirs: from_json(4, &row.get::<_, String>(4)?)?,
        theirs_version: row.get(5)?,
        parts: from_json::<Vec<Part>>(6, &row.get::<_, String>(6)?)?,
        detected_at: super::tunes::parse_col(row, 7)?,
    })
}

const CONFLICT_COLUMNS: &str = "id, record_id, base, mine, theirs, theirs_version, parts, detected_at";

fn conflict_for(tx: &Connection, record_id: &str) -> Result<Option<Conflict>, DbError> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {CONFLICT_COLUMNS} FROM sync_conflict WHERE table_name = ?1 AND record_id = ?2"
        ))?
        .query_row(params![TUNE_TABLE, record_id], conflict_from_row)
        .optional()?)
}

impl Database {
    /// A pushed change met a newer server version: merge, or keep both for the musician.
    pub fn push_conflict(&mut self, item_id: i64, theirs: &ServerTune) -> Result<Reconciled, DbError> {
        let now = self.now();
        let tx = self.conn.transaction()?;
        let Some(mine) = get(&tx, theirs.tune.id)? else {
            tx.execute("DELETE FROM sync_queue WHERE id = ?1", [item_id])?;
            insert(&tx, &theirs.tune)?;
            set_base(
                &tx,
                &theirs.tune.id.to_string(),
                theirs.tune.sync_version,
                &Content::from(&theirs.tune),
            )?;
            tx.commit()?;
            return Ok(Reconciled::Merged);
        };
        let outcome = reconcile(&tx, &mine, &theirs.tune, Some(item_id), now)?;
        tx.commit()?;
        Ok(outcome)
    }

    /// Where the pull of `table` has got to (0: from the start).
    pub fn pull_cursor(&self, table: &str) -> Result<i64, DbError> {
        Ok(self
            .conn
            .prepare_cached("SELECT change_number FROM sync_cursor WHERE table_name = ?1")?
            .query_row([table], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }

    /// Applies one page of pulled rows and advances the cursor, in one transaction.
    /// Unreadable rows are set aside in `sync_quarantine`; the cursor moves past them too.
    pub fn apply_pulled(&mut self, page: &PulledPage) -> Result<PullReport, DbError> {
        let now = self.now();
        let rows = &page.rows;
        let tx = self.conn.transaction()?;
        let mut report = PullReport {
            rows: page.len() as u32,
            quarantined: page.unreadable.len() as u32,
            ..PullReport::default()
        };
        let mut cursor: i64 = tx
            .prepare_cached("SELECT change_number FROM sync_cursor WHERE table_name = ?1")?
            .query_row([TUNE_TABLE], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        for bad in &page.unreadable {
            cursor = cursor.max(bad.change_number);
            tx.prepare_cached(
                "INSERT OR REPLACE INTO sync_quarantine
                 (table_name, record_id, change_number, reason, raw, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                bad.table_name,
                bad.record_id,
                bad.change_number,
                bad.reason,
                bad.raw,
                now.to_string()
            ])?;
        }
        for row in rows {
            let theirs = &row.tune;
            let id = theirs.id.to_string();
            cursor = cursor.max(row.change_number);
            tx.prepare_cached("DELETE FROM sync_quarantine WHERE table_name = ?1 AND record_id = ?2")?
                .execute(params![TUNE_TABLE, id])?;
            if let Some(conflict) = conflict_for(&tx, &id)? {
                if refresh_conflict(&tx, &conflict, theirs, now)? {
                    report.applied += 1;
                }
                continue;
            }
            match get(&tx, theirs.id)? {
                None => {
                    insert(&tx, theirs)?;
                    set_base(&tx, &id, theirs.sync_version, &Content::from(theirs))?;
                    report.applied += 1;
                }
                Some(mine) => match open_item(&tx, &id)? {
                    None if theirs.sync_version == mine.sync_version
                        && Content::from(&mine) == Content::from(theirs) =>
                    {
                        // This device's own write coming back.
                        set_base(&tx, &id, theirs.sync_version, &Content::from(theirs))?;
                    }
                    None => {
                        take_theirs(&tx, theirs)?;
                        report.applied += 1;
                    }
                    Some(_) if theirs.sync_version <= mine.sync_version => {
                        // Not newer than what the local change started from.
                        if theirs.sync_version == mine.sync_version {
                            set_base(&tx, &id, theirs.sync_version, &Content::from(theirs))?;
                        }
                    }
                    Some(item) => match reconcile(&tx, &mine, theirs, Some(item), now)? {
                        Reconciled::Merged => report.applied += 1,
                        Reconciled::Conflict => report.conflicts += 1,
                    },
                },
            }
        }
        tx.prepare_cached("INSERT OR REPLACE INTO sync_cursor (table_name, change_number) VALUES (?1, ?2)")?
            .execute(params![TUNE_TABLE, cursor])?;
        tx.commit()?;
        report.cursor = cursor;
        Ok(report)
    }

    /// Pulled rows set aside as unreadable, newest change first.
    pub fn quarantined(&self) -> Result<Vec<UnreadableRow>, DbError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT table_name, record_id, change_number, reason, raw FROM sync_quarantine
             ORDER BY change_number DESC",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(UnreadableRow {
                    table_name: r.get(0)?,
                    record_id: r.get(1)?,
                    change_number: r.get(2)?,
                    reason: r.get(3)?,
                    raw: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Conflicts waiting for the musician, oldest first.
    pub fn conflicts(&self) -> Result<Vec<Conflict>, DbError> {
        let mut stmt =
            self.conn.prepare_cached(&format!("SELECT {CONFLICT_COLUMNS} FROM sync_conflict ORDER BY id"))?;
        let rows = stmt.query_map([], conflict_from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Settles a conflict: each conflicting part from the chosen side (the rest merged).
    /// The result becomes this device's tune, on top of the server's version, and is
    /// pushed like any other change.
    pub fn resolve_conflict(&mut self, id: i64, choices: &[(Part, Side)]) -> Result<(), DbError> {
        let now = self.now();
        let tx = self.conn.transaction()?;
        let conflict = tx
            .prepare_cached(&format!("SELECT {CONFLICT_COLUMNS} FROM sync_conflict WHERE id = ?1"))?
            .query_row([id], conflict_from_row)
            .optional()?
            .ok_or(DbError::NotFound)?;
        let merge = conflict.merge();
        let content = resolve(&merge, &conflict.theirs, choices);
        let mine = get(&tx, conflict.record_id)?.ok_or(DbError::NotFound)?;
        // The resolution sits on top of the server's version, so it pushes cleanly.
        let theirs = Tune {
            fields: conflict.theirs.fields.clone(),
            deleted: conflict.theirs.deleted,
            sync_version: conflict.theirs_version,
            ..mine
        };
        apply_merge(&tx, conflict.record_id, &content, &theirs, None, now)?;
        tx.execute("DELETE FROM sync_conflict WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(())
    }

    /// The conflict for a tune, if there is one.
    pub fn conflict_for_tune(&self, id: Uuid) -> Result<Option<Conflict>, DbError> {
        conflict_for(&self.conn, &id.to_string())
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use tunebook_core::domain::{Field, TuneDraft};
    use tunebook_core::sync::QueueStatus;

    fn draft(title: &str, mode: &str) -> TuneDraft {
        TuneDraft { title: title.into(), mode: mode.into(), ..TuneDraft::default() }
    }

    /// The server's copy of a local tune after `edit`, at `version`, with a change number.
    /// A pulled page of readable rows.
    fn pulled(rows: Vec<ServerTune>) -> PulledPage {
        PulledPage { rows, unreadable: Vec::new() }
    }

    fn server(local: &Tune, version: i64, change: i64, edit: impl FnOnce(&mut Tune)) -> ServerTune {
        let mut tune = Tune { sync_version: version, device_id: "other-device".into(), ..local.clone() };
        edit(&mut tune);
        ServerTune { tune, change_number: change }
    }

    /// A device with one tune that the server has at version 2 (pushed and confirmed).
    fn synced_device(title: &str, mode: &str) -> (Database, Tune) {
        let mut db = Database::open_in_memory().unwrap();
        let t = db.create_tune(&draft(title, mode)).unwrap();
        let batch = db.begin_push(10).unwrap();
        let confirmed = server(&t, 2, 1, |_| {});
        db.complete_push(&[batch[0].0.id], std::slice::from_ref(&confirmed)).unwrap();
        let t = db.get_tune(t.id).unwrap().unwrap();
        assert_eq!(t.sync_version, 2);
        (db, t)
    }

    #[test]
    fn unreadable_rows_are_set_aside_and_the_cursor_moves_past_them() {
        let mut db = Database::open_in_memory().unwrap();
        let local = db.create_tune(&draft("Template", "D major")).unwrap();
        let other = Tune { id: Uuid::now_v7(), ..local.clone() };
        let good = server(&other, 1, 5, |t| t.fields.title = "Good".into());
        let bad = UnreadableRow {
            table_name: TUNE_TABLE.into(),
            record_id: "01930000-0000-7000-8000-0000000000ff".into(),
            change_number: 6,
            reason: "created_at: not a timestamp".into(),
            raw: r#"{"created_at":"infinity"}"#.into(),
        };
        let page = PulledPage { rows: vec![good.clone()], unreadable: vec![bad.clone()] };
        let report = db.apply_pulled(&page).unwrap();
        assert_eq!((report.rows, report.applied, report.quarantined, report.cursor), (2, 1, 1, 6));
        assert_eq!(db.get_tune(other.id).unwrap().unwrap().fields.title, "Good");
        assert_eq!(db.quarantined().unwrap(), vec![bad.clone()]);
        assert_eq!(db.pull_cursor(TUNE_TABLE).unwrap(), 6);

        // The server fixes the row: its readable version replaces the quarantined one.
        let fixed_id: Uuid = bad.record_id.parse().unwrap();
        let fixed = server(&Tune { id: fixed_id, ..local }, 2, 7, |t| t.fields.title = "Fixed".into());
        db.apply_pulled(&pulled(vec![fixed])).unwrap();
        assert_eq!(db.quarantined().unwrap(), vec![]);
        assert_eq!(db.get_tune(fixed_id).unwrap().unwrap().fields.title, "Fixed");
    }

    fn queue(db: &Database) -> Vec<(Operation, QueueStatus)> {
        db.pending_items(100).unwrap().into_iter().map(|i| (i.operation, i.status)).collect()
    }

    #[test]
    fn pulled_rows_insert_and_advance_the_cursor() {
        let mut db = Database::open_in_memory().unwrap();
        let donor = Database::open_in_memory().unwrap().create_tune(&draft("From elsewhere", "")).unwrap();
        let gone = Tune { id: Uuid::now_v7(), deleted: true, ..donor.clone() };
        let rows = [server(&donor, 1, 7, |_| {}), server(&gone, 3, 9, |_| {})];
        let report = db.apply_pulled(&pulled(rows.to_vec())).unwrap();
        assert_eq!((report.rows, report.applied, report.conflicts, report.cursor), (2, 2, 0, 9));
        assert_eq!(db.pull_cursor(TUNE_TABLE).unwrap(), 9);
        assert_eq!(db.get_tune(donor.id).unwrap().unwrap().fields.title, "From elsewhere");
        assert!(db.get_tune(gone.id).unwrap().is_none(), "a remote delete is a local tombstone");
        assert!(db.get_tune_any(gone.id).unwrap().unwrap().deleted);
        assert!(queue(&db).is_empty(), "pulled rows are not pushed back");
    }

    #[test]
    fn a_newer_version_replaces_an_unchanged_tune_and_echoes_change_nothing() {
        let (mut db, t) = synced_device("Kesh", "G major");
        let echo = server(&t, 2, 1, |_| {});
        assert_eq!(
            db.apply_pulled(&pulled(vec![echo])).unwrap().applied,
            0,
            "this device's own write coming back"
        );
        let newer = server(&t, 3, 4, |s| s.fields.mode = Some("G mixolydian".into()));
        assert_eq!(db.apply_pulled(&pulled(vec![newer])).unwrap().applied, 1);
        let local = db.get_tune(t.id).unwrap().unwrap();
        assert_eq!((local.fields.mode.as_deref(), local.sync_version), (Some("G mixolydian"), 3));
        assert!(queue(&db).is_empty());
    }

    #[test]
    fn different_fields_merge_and_the_merge_is_sent() {
        let (mut db, t) = synced_device("Kesh", "G major");
        db.update_tune(t.id, &draft("The Kesh", "G major")).unwrap();
        let theirs = server(&t, 3, 5, |s| s.fields.mode = Some("A dorian".into()));
        let report = db.apply_pulled(&pulled(vec![theirs])).unwrap();
        assert_eq!((report.applied, report.conflicts), (1, 0));
        let local = db.get_tune(t.id).unwrap().unwrap();
        assert_eq!(
            (local.fields.title.as_str(), local.fields.mode.as_deref()),
            ("The Kesh", Some("A dorian"))
        );
        assert_eq!(local.sync_version, 3, "the merge sits on top of the server's version");
        assert_eq!(queue(&db), [(Operation::Update, QueueStatus::Pending)]);
    }

    #[test]
    fn the_same_field_on_both_sides_waits_for_the_musician() {
        let (mut db, t) = synced_device("Kesh", "G major");
        db.update_tune(t.id, &draft("The Kesh Jig", "G major")).unwrap();
        let theirs = server(&t, 3, 5, |s| s.fields.title = "Kesh Jig".into());
        assert_eq!(db.apply_pulled(&pulled(vec![theirs.clone()])).unwrap().conflicts, 1);
        assert!(queue(&db).is_empty(), "nothing is sent until decided");
        let local = db.get_tune(t.id).unwrap().unwrap();
        assert_eq!(local.fields.title, "The Kesh Jig", "mine is kept");
        let stats = db.queue_stats().unwrap();
        assert_eq!((stats.conflicts, stats.unsynced()), (1, 1));
        let conflicts = db.conflicts().unwrap();
        assert_eq!(conflicts[0].parts, [Part::Field(Field::Title)]);
        assert_eq!(conflicts[0].theirs.fields.title, "Kesh Jig");
        assert_eq!(conflicts[0].base.as_ref().map(|b| b.fields.title.as_str()), Some("Kesh"));

        // Keep mine: queued on top of the server's version.
        db.resolve_conflict(conflicts[0].id, &[(Part::Field(Field::Title), Side::Mine)]).unwrap();
        assert!(db.conflicts().unwrap().is_empty());
        let local = db.get_tune(t.id).unwrap().unwrap();
        assert_eq!((local.fields.title.as_str(), local.sync_version), ("The Kesh Jig", 3));
        assert_eq!(queue(&db), [(Operation::Update, QueueStatus::Pending)]);
    }

    #[test]
    fn keeping_theirs_takes_the_server_version_and_sends_nothing() {
        let (mut db, t) = synced_device("Kesh", "G major");
        db.update_tune(t.id, &draft("Mine", "G major")).unwrap();
        db.apply_pulled(&pulled(vec![server(&t, 3, 5, |s| s.fields.title = "Theirs".into())])).unwrap();
        let id = db.conflicts().unwrap()[0].id;
        db.resolve_conflict(id, &[(Part::Field(Field::Title), Side::Theirs)]).unwrap();
        let local = db.get_tune(t.id).unwrap().unwrap();
        assert_eq!((local.fields.title.as_str(), local.sync_version), ("Theirs", 3));
        assert!(queue(&db).is_empty());
        assert_eq!(db.queue_stats().unwrap().unsynced(), 0);
    }

    #[test]
    fn edit_versus_delete_asks_and_either_answer_holds() {
        for keep in [Side::Mine, Side::Theirs] {
            let (mut db, t) = synced_device("Kesh", "G major");
            db.update_tune(t.id, &draft("Kesh", "A dorian")).unwrap();
            db.apply_pulled(&pulled(vec![server(&t, 3, 5, |s| s.deleted = true)])).unwrap();
            let conflict = db.conflicts().unwrap().remove(0);
            assert_eq!(conflict.parts, [Part::Deleted]);
            db.resolve_conflict(conflict.id, &[(Part::Deleted, keep)]).unwrap();
            let local = db.get_tune_any(t.id).unwrap().unwrap();
            match keep {
                Side::Mine => {
                    assert!(!local.deleted && local.fields.mode.as_deref() == Some("A dorian"));
                    assert_eq!(
                        queue(&db),
                        [(Operation::Update, QueueStatus::Pending)],
                        "restored on purpose"
                    );
                }
                Side::Theirs => {
                    assert!(local.deleted);
                    assert!(queue(&db).is_empty());
                }
            }
        }
    }

    #[test]
    fn a_push_that_meets_a_newer_version_merges_or_conflicts() {
        let (mut db, t) = synced_device("Kesh", "G major");
        db.update_tune(t.id, &draft("The Kesh", "G major")).unwrap();
        let item = db.begin_push(10).unwrap()[0].0.id;
        let theirs = server(&t, 3, 5, |s| s.fields.release_year = Some(1990));
        assert_eq!(db.push_conflict(item, &theirs).unwrap(), Reconciled::Merged);
        let local = db.get_tune(t.id).unwrap().unwrap();
        assert_eq!((local.fields.title.as_str(), local.fields.release_year), ("The Kesh", Some(1990)));
        assert_eq!(queue(&db), [(Operation::Update, QueueStatus::Pending)], "the merge goes up next");

        let item = db.begin_push(10).unwrap()[0].0.id;
        let newer = server(&local, 4, 6, |s| s.fields.title = "Kesh Jig".into());
        assert_eq!(db.push_conflict(item, &newer).unwrap(), Reconciled::Conflict);
        assert!(db.pending_items(10).unwrap().is_empty());
        assert_eq!(db.queue_stats().unwrap().conflicts, 1);
    }

    #[test]
    fn a_newer_server_version_can_settle_a_conflict() {
        let (mut db, t) = synced_device("Kesh", "G major");
        db.update_tune(t.id, &draft("Mine", "G major")).unwrap();
        db.apply_pulled(&pulled(vec![server(&t, 3, 5, |s| s.fields.title = "Theirs".into())])).unwrap();
        assert_eq!(db.queue_stats().unwrap().conflicts, 1);
        // The other device changed its mind and took my title.
        db.apply_pulled(&pulled(vec![server(&t, 4, 6, |s| s.fields.title = "Mine".into())])).unwrap();
        assert_eq!(db.queue_stats().unwrap().conflicts, 0);
        let local = db.get_tune(t.id).unwrap().unwrap();
        assert_eq!((local.fields.title.as_str(), local.sync_version), ("Mine", 4));
        assert!(queue(&db).is_empty(), "nothing left to send");
    }
}
