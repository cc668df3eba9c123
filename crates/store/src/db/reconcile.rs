//! Bringing the server's versions of rows into this device, for every synced table:
//! rows pulled from the server, and pushes the server answered with a newer version. A
//! row never overwrites a local change that has not reached the server: the two are
//! merged (fields changed on one side only), and what cannot be merged becomes a
//! conflict, with both versions kept until the musician decides. What to do with each
//! pulled row is decided by [`plan_pulled`]; this module carries it out.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tunebook_core::domain::{Timestamp, Uuid};
use tunebook_core::merge::{Conflict, Content, Part, Side, resolve, three_way};
use tunebook_core::reconcile::{PullAction, plan_pulled};
use tunebook_core::record::{Record, ServerRecord};
use tunebook_core::supabase::rest::PulledPage;
use tunebook_core::sync::{Operation, PullReport, UnreadableRow};
use tunebook_core::tables::{MergePolicy, TableId};

use super::changes::{delete_cascade, put_new};
use super::outbox::{enqueue_record, open_item};
use super::practice;
use super::records::{self, parse_col, read, set_base, upsert, write_content};
use super::{Database, DbError};

/// The key of the one pull cursor (the server's change numbers span every table).
pub(super) const CURSOR_KEY: &str = "*";

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

/// Stored content, normalised for its table (older rows may lack newer columns).
fn content_json(table: TableId, idx: usize, text: &str) -> rusqlite::Result<Content> {
    let c: Content = from_json(idx, text)?;
    Ok(Content::new(table, c.fields, c.deleted))
}

/// The server's content as last known for a row, if it is the version `at`.
fn base_at(tx: &Connection, table: TableId, id: Uuid, at: i64) -> Result<Option<Content>, DbError> {
    let row: Option<(i64, String)> = tx
        .prepare_cached("SELECT sync_version, content FROM sync_base WHERE table_name = ?1 AND id = ?2")?
        .query_row(params![table.name(), id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match row {
        Some((version, content)) if version == at => Some(content_json(table, 1, &content)?),
        _ => None,
    })
}

fn delete_item(tx: &Connection, item: Option<i64>) -> Result<(), DbError> {
    if let Some(item) = item {
        tx.prepare_cached("DELETE FROM sync_queue WHERE id = ?1")?.execute([item])?;
    }
    Ok(())
}

/// Keeps both versions of a row for the musician (mine in the row, theirs here); the
/// row's queued change is held back until they decide.
fn store_conflict(
    tx: &Transaction<'_>,
    mine: &Record,
    base: Option<&Content>,
    theirs: &Record,
    parts: &[Part],
    item: Option<i64>,
    now: Timestamp,
) -> Result<(), DbError> {
    tx.prepare_cached(
        "INSERT INTO sync_conflict (table_name, record_id, base, mine, theirs, theirs_version, parts, detected_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (table_name, record_id) DO UPDATE SET base = excluded.base, mine = excluded.mine,
             theirs = excluded.theirs, theirs_version = excluded.theirs_version, parts = excluded.parts,
             detected_at = excluded.detected_at",
    )?
    .execute(params![
        mine.table.name(),
        mine.id.to_string(),
        base.map(to_json),
        to_json(&mine.content),
        to_json(&theirs.content),
        theirs.sync_version,
        to_json(&parts),
        now.to_string(),
    ])?;
    delete_item(tx, item)
}

/// Merges a newer server version into a local row that has an unsent change.
fn reconcile(
    tx: &Transaction<'_>,
    mine: &Record,
    theirs: &Record,
    item: Option<i64>,
    now: Timestamp,
) -> Result<Reconciled, DbError> {
    let base = base_at(tx, mine.table, mine.id, mine.sync_version)?;
    let merge = three_way(mine.table, base.as_ref(), &mine.content, &theirs.content);
    if !merge.conflicts.is_empty() {
        store_conflict(tx, mine, base.as_ref(), theirs, &merge.conflicts, item, now)?;
        return Ok(Reconciled::Conflict);
    }
    apply_merge(tx, &merge.merged, theirs, item, now)?;
    Ok(Reconciled::Merged)
}

/// Makes `merged` this device's row on top of the server's version `theirs`, and queues
/// whatever it adds to that version (nothing, if they are the same).
fn apply_merge(
    tx: &Transaction<'_>,
    merged: &Content,
    theirs: &Record,
    item: Option<i64>,
    now: Timestamp,
) -> Result<(), DbError> {
    write_content(tx, theirs.table, theirs.id, merged, theirs.sync_version, theirs.user_id)?;
    set_base(tx, theirs)?;
    delete_item(tx, item)?;
    if *merged != theirs.content {
        let local = read(tx, theirs.table, theirs.id)?.ok_or(DbError::NotFound)?;
        let op = if merged.deleted { Operation::Delete } else { Operation::Update };
        enqueue_record(tx, &local, op, now)?;
    }
    Ok(())
}

/// Re-evaluates an open conflict against a newer server version; settles it if the newer
/// version removes the disagreement. Returns whether it was settled.
fn refresh_conflict(
    tx: &Transaction<'_>,
    conflict: &Conflict,
    theirs: &Record,
    now: Timestamp,
) -> Result<bool, DbError> {
    if conflict.orphan_of().is_some() {
        // The question is about the parent, which this version does not answer.
        return Ok(false);
    }
    let mut updated = conflict.clone();
    updated.theirs = theirs.content.clone();
    updated.theirs_version = theirs.sync_version;
    let merge = updated.merge();
    if merge.conflicts.is_empty() {
        tx.prepare_cached("DELETE FROM sync_conflict WHERE id = ?1")?.execute([conflict.id])?;
        apply_merge(tx, &merge.merged, theirs, None, now)?;
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
    let table_name: String = row.get(1)?;
    let table = TableId::parse(&table_name).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, "unknown table".into())
    })?;
    Ok(Conflict {
        id: row.get(0)?,
        table,
        record_id: parse_col(row, 2)?,
        base: row.get::<_, Option<String>>(3)?.map(|b| content_json(table, 3, &b)).transpose()?,
        mine: content_json(table, 4, &row.get::<_, String>(4)?)?,
        theirs: content_json(table, 5, &row.get::<_, String>(5)?)?,
        theirs_version: row.get(6)?,
        parts: from_json::<Vec<Part>>(7, &row.get::<_, String>(7)?)?,
        detected_at: parse_col(row, 8)?,
        parent_title: None,
    })
}

/// Names what a conflicting row belongs to, for the page: the deleted parent an orphan
/// asks about, or else its first parent.
fn with_parent_title(conn: &Connection, mut conflict: Conflict) -> Result<Conflict, DbError> {
    let parent = conflict.orphan_of().or_else(|| {
        let first = conflict.table.spec().parents.first()?;
        Some((first.table, conflict.mine.get(first.column).as_str()?.parse().ok()?))
    });
    if let Some((table, id)) = parent {
        conflict.parent_title = read(conn, table, id)?.map(|p| p.content.text(table.spec().title_column));
    }
    Ok(conflict)
}

const CONFLICT_COLUMNS: &str =
    "id, table_name, record_id, base, mine, theirs, theirs_version, parts, detected_at";

fn conflict_for(tx: &Connection, table: TableId, id: Uuid) -> Result<Option<Conflict>, DbError> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {CONFLICT_COLUMNS} FROM sync_conflict WHERE table_name = ?1 AND record_id = ?2"
        ))?
        .query_row(params![table.name(), id.to_string()], conflict_from_row)
        .optional()?)
}

/// After `row` landed: rows whose parent is gone while they were changed here become
/// orphan conflicts ("restore the tune, or delete the note?"). Two ways in: a pulled
/// parent delete meets local children with unsent changes, or a pulled live child meets
/// its parent deleted here. Returns how many conflicts were found.
fn find_orphans(tx: &Transaction<'_>, row: &Record, now: Timestamp) -> Result<u32, DbError> {
    let mut found = 0;
    if row.deleted() {
        for (child, column) in row.table.children() {
            for child_id in records::live_children(tx, child, column, row.id)? {
                let Some(item) = open_item(tx, child, child_id)? else { continue };
                let Some(mine) = read(tx, child, child_id)? else { continue };
                let parts = [Part::Parent(column.to_string())];
                store_conflict(tx, &mine, None, &mine, &parts, Some(item), now)?;
                found += 1;
            }
        }
        return Ok(found);
    }
    if row.table.spec().parents.is_empty() || row.table.spec().merge == MergePolicy::Append {
        // History stays under a deleted parent (its pages hide it): never an orphan.
        return Ok(0);
    }
    // Only a row that is live here after the pull can be an orphan (one deleted here,
    // with its delete still to send, is not).
    let Some(mine) = read(tx, row.table, row.id)?.filter(|r| !r.deleted()) else { return Ok(0) };
    for parent in row.table.spec().parents {
        let Some(parent_id) = mine.parent_id(parent.column) else { continue };
        let gone = read(tx, parent.table, parent_id)?.is_some_and(|p| p.deleted());
        if gone && conflict_for(tx, row.table, row.id)?.is_none() {
            let parts = [Part::Parent(parent.column.to_string())];
            store_conflict(tx, &mine, None, &mine, &parts, open_item(tx, row.table, row.id)?, now)?;
            found += 1;
        }
    }
    Ok(found)
}

/// Which kinds of bookkeeping a pulled row may meet on this device. Each `false` saves a
/// lookup per pulled row; anything a page adds sets them again.
struct Held {
    quarantined: bool,
    conflicts: bool,
    /// Queue items not yet settled (pending, in flight or refused).
    open_items: bool,
    /// A deleted row of a table that has children: a pulled live child may be an orphan.
    deleted_parents: bool,
}

impl Held {
    fn read(conn: &Connection) -> Result<Held, DbError> {
        let any = |sql: &str| -> Result<bool, DbError> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
        let mut deleted_parents = false;
        for table in TableId::ALL.iter().filter(|t| t.children().next().is_some()) {
            deleted_parents |=
                any(&format!("SELECT EXISTS (SELECT 1 FROM {} WHERE deleted = 1)", table.name()))?;
        }
        Ok(Held {
            quarantined: any("SELECT EXISTS (SELECT 1 FROM sync_quarantine)")?,
            conflicts: any("SELECT EXISTS (SELECT 1 FROM sync_conflict)")?,
            open_items: any(
                "SELECT EXISTS (SELECT 1 FROM sync_queue WHERE status IN ('pending', 'syncing', 'failed'))",
            )?,
            deleted_parents,
        })
    }

    fn everything() -> Held {
        Held { quarantined: true, conflicts: true, open_items: true, deleted_parents: true }
    }
}

impl Database {
    /// A pushed change met a newer server version: merge, or keep both for the musician.
    pub fn push_conflict(&mut self, item_id: i64, theirs: &ServerRecord) -> Result<Reconciled, DbError> {
        let now = self.now();
        let theirs = &theirs.record;
        let tx = self.conn.transaction()?;
        let Some(mine) = read(&tx, theirs.table, theirs.id)? else {
            delete_item(&tx, Some(item_id))?;
            upsert(&tx, theirs)?;
            set_base(&tx, theirs)?;
            tx.commit()?;
            return Ok(Reconciled::Merged);
        };
        let outcome = reconcile(&tx, &mine, theirs, Some(item_id), now)?;
        tx.commit()?;
        Ok(outcome)
    }

    /// Where the pull has got to: the server's change number of the last row applied
    /// (0: from the start). One cursor covers every table.
    pub fn pull_cursor(&self) -> Result<i64, DbError> {
        Ok(self
            .conn
            .prepare_cached("SELECT change_number FROM sync_cursor WHERE table_name = ?1")?
            .query_row([CURSOR_KEY], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }

    /// Applies one page of pulled rows (of any tables) and advances the cursor, in one
    /// transaction. Unreadable rows are set aside in `sync_quarantine`; the cursor moves
    /// past them too.
    pub fn apply_pulled(&mut self, page: &PulledPage) -> Result<PullReport, DbError> {
        let now = self.now();
        let cursor = page.cursor_after(self.pull_cursor()?);
        let tx = self.conn.transaction()?;
        let mut report = PullReport {
            rows: page.len() as u32,
            quarantined: page.unreadable.len() as u32,
            total: page.total,
            ..PullReport::default()
        };
        for bad in &page.unreadable {
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
        // What this device holds besides plain rows; a first pull into a fresh device
        // holds none of it, and skips their lookups for every row.
        let mut held = Held::read(&tx)?;
        for row in &page.rows {
            let theirs = &row.record;
            if held.quarantined {
                tx.prepare_cached("DELETE FROM sync_quarantine WHERE table_name = ?1 AND record_id = ?2")?
                    .execute(params![theirs.table.name(), theirs.id.to_string()])?;
            }
            let conflict = if held.conflicts { conflict_for(&tx, theirs.table, theirs.id)? } else { None };
            let mine = read(&tx, theirs.table, theirs.id)?;
            let item = if held.open_items { open_item(&tx, theirs.table, theirs.id)? } else { None };
            let action = plan_pulled(mine.as_ref(), item.is_some(), conflict.is_some(), theirs);
            if matches!(action, PullAction::Merge | PullAction::RefreshConflict) {
                // Merging may queue a change or keep a conflict: look everything up again.
                held = Held::everything();
            }
            match action {
                PullAction::RefreshConflict => {
                    if let Some(conflict) = conflict
                        && refresh_conflict(&tx, &conflict, theirs, now)?
                    {
                        report.applied += 1;
                    }
                }
                PullAction::Insert | PullAction::TakeTheirs => {
                    upsert(&tx, theirs)?;
                    set_base(&tx, theirs)?;
                    practice::after_write(&tx, theirs)?;
                    report.applied += 1;
                }
                PullAction::Echo | PullAction::KeepMine { rebase: true } => set_base(&tx, theirs)?,
                PullAction::KeepMine { rebase: false } => {}
                PullAction::Merge => {
                    let mine = mine.ok_or(DbError::NotFound)?;
                    match reconcile(&tx, &mine, theirs, item, now)? {
                        Reconciled::Merged => report.applied += 1,
                        Reconciled::Conflict => report.conflicts += 1,
                    }
                }
            }
            if theirs.deleted() && theirs.table.children().next().is_some() {
                held.deleted_parents = true;
            }
            if held.deleted_parents || theirs.deleted() {
                let orphans = find_orphans(&tx, theirs, now)?;
                if orphans > 0 {
                    held = Held::everything();
                }
                report.conflicts += orphans;
            }
        }
        tx.prepare_cached("INSERT OR REPLACE INTO sync_cursor (table_name, change_number) VALUES (?1, ?2)")?
            .execute(params![CURSOR_KEY, cursor])?;
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
        rows.into_iter().map(|c| with_parent_title(&self.conn, c)).collect()
    }

    /// Settles a conflict: each conflicting part from the chosen side (the rest merged).
    /// The result becomes this device's row, on top of the server's version, and is
    /// pushed like any other change. For an orphan, [`Side::Mine`] restores the parent
    /// and keeps the row; [`Side::Theirs`] deletes the row.
    pub fn resolve_conflict(&mut self, id: i64, choices: &[(Part, Side)]) -> Result<(), DbError> {
        let now = self.now();
        let device = self.device_id.clone();
        let tx = self.conn.transaction()?;
        let conflict = tx
            .prepare_cached(&format!("SELECT {CONFLICT_COLUMNS} FROM sync_conflict WHERE id = ?1"))?
            .query_row([id], conflict_from_row)
            .optional()?
            .ok_or(DbError::NotFound)?;
        let mine = read(&tx, conflict.table, conflict.record_id)?.ok_or(DbError::NotFound)?;
        tx.execute("DELETE FROM sync_conflict WHERE id = ?1", [id])?;
        if let Some((parent_table, parent_id)) = conflict.orphan_of() {
            let keep = choices.iter().any(|(p, side)| matches!(p, Part::Parent(_)) && *side == Side::Mine);
            if keep {
                if let Some(parent) = read(&tx, parent_table, parent_id)?
                    && parent.deleted()
                {
                    // Brought back as it was, and queued.
                    put_new(&tx, parent_table, parent_id, parent.content.fields, now, &device)?;
                }
                enqueue_record(&tx, &mine, Operation::Update, now)?;
            } else {
                delete_cascade(&tx, conflict.table, conflict.record_id, now, &device)?;
            }
        } else {
            let content = resolve(&conflict.merge(), &conflict.theirs, choices);
            // The resolution sits on top of the server's version, so it pushes cleanly.
            let theirs =
                Record { content: conflict.theirs.clone(), sync_version: conflict.theirs_version, ..mine };
            apply_merge(&tx, &content, &theirs, None, now)?;
            // Kept alive under a parent deleted meanwhile: that becomes the next question.
            if let Some(local) = read(&tx, conflict.table, conflict.record_id)? {
                find_orphans(&tx, &local, now)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The conflict for a row, if there is one.
    pub fn conflict_for(&self, table: TableId, id: Uuid) -> Result<Option<Conflict>, DbError> {
        conflict_for(&self.conn, table, id)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use tunebook_core::domain::{Tune, TuneDraft};
    use tunebook_core::sync::QueueStatus;

    fn draft(title: &str, mode: &str) -> TuneDraft {
        TuneDraft { title: title.into(), mode: mode.into(), ..TuneDraft::default() }
    }

    /// The server's copy of a local tune after `edit`, at `version`, with a change number.
    /// A pulled page of readable rows.
    fn pulled(rows: Vec<ServerRecord>) -> PulledPage {
        PulledPage { rows, ..PulledPage::default() }
    }

    fn server(local: &Tune, version: i64, change: i64, edit: impl FnOnce(&mut Tune)) -> ServerRecord {
        let mut tune = Tune { sync_version: version, device_id: "other-device".into(), ..local.clone() };
        edit(&mut tune);
        ServerRecord { record: Record::from(&tune), change_number: change }
    }

    fn title() -> Part {
        Part::Field("title".into())
    }

    /// A device with one tune that the server has at version 2 (pushed and confirmed).
    fn synced_device(title: &str, mode: &str) -> (Database, Tune) {
        let mut db = Database::open_in_memory().unwrap();
        let t = db.create_tune(&draft(title, mode)).unwrap();
        let batch = db.begin_push(10, &[]).unwrap();
        let confirmed = server(&t, 2, 1, |_| {});
        db.complete_push(&[batch[0].0.id], std::slice::from_ref(&confirmed.record)).unwrap();
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
            table_name: "tune".into(),
            record_id: "01930000-0000-7000-8000-0000000000ff".into(),
            change_number: 6,
            reason: "created_at: not a timestamp".into(),
            raw: r#"{"created_at":"infinity"}"#.into(),
        };
        let page = PulledPage { rows: vec![good.clone()], unreadable: vec![bad.clone()], total: None };
        let report = db.apply_pulled(&page).unwrap();
        assert_eq!((report.rows, report.applied, report.quarantined, report.cursor), (2, 1, 1, 6));
        assert_eq!(db.get_tune(other.id).unwrap().unwrap().fields.title, "Good");
        assert_eq!(db.quarantined().unwrap(), vec![bad.clone()]);
        assert_eq!(db.pull_cursor().unwrap(), 6);

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
        assert_eq!(db.pull_cursor().unwrap(), 9);
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
        assert_eq!(conflicts[0].parts, [title()]);
        assert_eq!(conflicts[0].theirs.text("title"), "Kesh Jig");
        assert_eq!(conflicts[0].base.as_ref().map(|b| b.text("title")), Some("Kesh".to_string()));

        // Keep mine: queued on top of the server's version.
        db.resolve_conflict(conflicts[0].id, &[(title(), Side::Mine)]).unwrap();
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
        db.resolve_conflict(id, &[(title(), Side::Theirs)]).unwrap();
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
        let item = db.begin_push(10, &[]).unwrap()[0].0.id;
        let theirs = server(&t, 3, 5, |s| s.fields.release_year = Some(1990));
        assert_eq!(db.push_conflict(item, &theirs).unwrap(), Reconciled::Merged);
        let local = db.get_tune(t.id).unwrap().unwrap();
        assert_eq!((local.fields.title.as_str(), local.fields.release_year), ("The Kesh", Some(1990)));
        assert_eq!(queue(&db), [(Operation::Update, QueueStatus::Pending)], "the merge goes up next");

        let item = db.begin_push(10, &[]).unwrap()[0].0.id;
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

    #[test]
    fn a_pulled_child_under_a_tune_deleted_here_is_an_orphan_unless_deleted_here_too() {
        let (mut db, t) = synced_device("Kesh", "G major");
        let note = db.add_note(t.id, "Slower in the B part").unwrap();
        // The note reached the server at version 2.
        let batch = db.begin_push(10, &[]).unwrap();
        let mut server_note = batch[0].1.clone().unwrap();
        server_note.sync_version = 2;
        db.complete_push(&[batch[0].0.id], std::slice::from_ref(&server_note)).unwrap();

        // Deleted here (the note with its tune); an old copy of the note comes back: not
        // an orphan, it is deleted here too.
        db.delete_tune(t.id).unwrap();
        let echo = ServerRecord { record: server_note.clone(), change_number: 3 };
        assert_eq!(db.apply_pulled(&pulled(vec![echo])).unwrap().conflicts, 0);

        // Another device edited the note meanwhile (version 3): still deleted here, so a
        // conflict about the note itself (edit against delete), not about its tune.
        let mut edited = server_note.clone();
        edited.sync_version = 3;
        edited.content.fields.insert("body".into(), "Slower, and swing it".into());
        let report =
            db.apply_pulled(&pulled(vec![ServerRecord { record: edited, change_number: 4 }])).unwrap();
        let conflicts = db.conflicts().unwrap();
        assert_eq!((report.conflicts, conflicts.len()), (1, 1));
        assert_eq!(conflicts[0].record_id, note);
        assert_eq!(conflicts[0].orphan_of(), None, "{:?}", conflicts[0].parts);
        assert_eq!(conflicts[0].parts, [Part::Deleted]);

        // Keeping their edit brings the note back under a tune deleted here: that is
        // asked next, rather than leaving the note hidden under a deleted tune.
        db.resolve_conflict(conflicts[0].id, &[(Part::Deleted, Side::Theirs)]).unwrap();
        let next = db.conflicts().unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].orphan_of(), Some((TableId::Tune, t.id)));
        assert!(
            db.pending_items(10).unwrap().iter().all(|i| i.record_id != note.to_string()),
            "held meanwhile"
        );
    }

    #[test]
    fn an_orphaned_membership_names_the_deleted_tune_not_its_repertoire() {
        let (mut db, t) = synced_device("Kesh", "G major");
        let draft =
            tunebook_core::domain::library::RepertoireDraft { name: "Session".into(), ..Default::default() };
        let rep = db.create_repertoire(&draft).unwrap();
        db.delete_tune(t.id).unwrap();
        // Another device put the tune in the repertoire meanwhile.
        let mut fields = std::collections::BTreeMap::new();
        fields.insert("repertoire_id".to_string(), serde_json::Value::from(rep.id.to_string()));
        fields.insert("tune_id".to_string(), serde_json::Value::from(t.id.to_string()));
        let id = tunebook_core::domain::library::membership_id(rep.id, t.id);
        let member = Record {
            table: TableId::RepertoireTune,
            id,
            content: Content::new(TableId::RepertoireTune, fields, false),
            user_id: None,
            created_at: Timestamp(1),
            last_modified_at: Timestamp(1),
            sync_version: 1,
            device_id: "other-device".into(),
        };
        let report =
            db.apply_pulled(&pulled(vec![ServerRecord { record: member, change_number: 9 }])).unwrap();
        assert_eq!(report.conflicts, 1);
        let conflict = db.conflicts().unwrap().remove(0);
        assert_eq!(conflict.orphan_of(), Some((TableId::Tune, t.id)));
        assert_eq!(conflict.parent_title.as_deref(), Some("Kesh"));
    }
}
