//! The outbox (`sync_queue`): every local write queues its change in the same
//! transaction; the push takes changes oldest first and records how each went.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params, params_from_iter};
use tunebook_core::domain::{Timestamp, Uuid};
use tunebook_core::record::Record;
use tunebook_core::sync::{Coalesce, Operation, QueueItem, QueueStats, QueueStatus, coalesce};
use tunebook_core::tables::TableId;

use super::records::parse_col;
use super::{Database, DbError};

const ITEM_COLUMNS: &str =
    "id, table_name, record_id, operation, data, created_at, attempts, last_attempt_at, error, status";

/// Queues a change to one record, coalescing it with the record's open item (see
/// [`coalesce`]). Runs inside the caller's transaction: the write and its queue entry
/// commit together or not at all.
pub(super) fn enqueue(
    tx: &Connection,
    table: TableId,
    record_id: Uuid,
    operation: Operation,
    data: Option<&str>,
    now: Timestamp,
) -> Result<(), DbError> {
    let (table, record_id) = (table.name(), record_id.to_string());
    let open: Option<(i64, String, u32)> = tx
        .prepare_cached(
            "SELECT id, operation, attempts FROM sync_queue
             WHERE table_name = ?1 AND record_id = ?2 AND status IN ('pending', 'failed')
             ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![table, record_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let open_op = open.as_ref().and_then(|(_, op, attempts)| Operation::parse(op).map(|op| (op, *attempts)));
    match (coalesce(open_op, operation), open) {
        (Coalesce::Replace(op), Some((id, _, _))) => {
            // The item keeps its place in the queue; a refused item gets a fresh chance.
            tx.prepare_cached(
                "UPDATE sync_queue SET operation = ?2, data = ?3, status = 'pending', error = NULL WHERE id = ?1",
            )?
            .execute(params![id, op.as_str(), data])?;
        }
        (Coalesce::Drop, Some((id, _, _))) => {
            tx.prepare_cached("DELETE FROM sync_queue WHERE id = ?1")?.execute([id])?;
        }
        (Coalesce::Append(op), _) | (Coalesce::Replace(op), None) => {
            tx.prepare_cached(
                "INSERT INTO sync_queue (table_name, record_id, operation, data, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![table, record_id, op.as_str(), data, now.to_string()])?;
        }
        (Coalesce::Drop, None) => {}
    }
    Ok(())
}

/// Queues a change to `record` as it now stands (deletes carry no data).
pub(super) fn enqueue_record(
    tx: &Connection,
    record: &Record,
    operation: Operation,
    now: Timestamp,
) -> Result<(), DbError> {
    let data = (operation != Operation::Delete).then(|| record.push_change().to_string());
    enqueue(tx, record.table, record.id, operation, data.as_deref(), now)
}

/// The row's queued change that has not reached the server, if any.
pub(super) fn open_item(tx: &Connection, table: TableId, id: Uuid) -> Result<Option<i64>, DbError> {
    Ok(tx
        .prepare_cached(
            "SELECT id FROM sync_queue WHERE table_name = ?1 AND record_id = ?2
             AND status IN ('pending', 'syncing', 'failed') ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![table.name(), id.to_string()], |r| r.get(0))
        .optional()?)
}

/// A text column that must hold one of an enum's names.
fn text_enum<T>(idx: usize, value: Option<T>) -> rusqlite::Result<T> {
    value.ok_or_else(|| rusqlite::Error::InvalidColumnType(idx, "enum".into(), rusqlite::types::Type::Text))
}

fn item_from_row(row: &Row<'_>) -> rusqlite::Result<QueueItem> {
    Ok(QueueItem {
        id: row.get(0)?,
        table_name: row.get(1)?,
        record_id: row.get(2)?,
        operation: text_enum(3, Operation::parse(&row.get::<_, String>(3)?))?,
        data: row.get(4)?,
        created_at: parse_col(row, 5)?,
        attempts: row.get(6)?,
        last_attempt_at: row.get::<_, Option<String>>(7)?.and_then(|s| s.parse().ok()),
        error: row.get(8)?,
        status: text_enum(9, QueueStatus::parse(&row.get::<_, String>(9)?))?,
    })
}

impl Database {
    /// Counts of queued changes by status, and the oldest pending change's time.
    pub fn queue_stats(&self) -> Result<QueueStats, DbError> {
        let mut stats = QueueStats::default();
        let mut stmt = self.conn.prepare_cached("SELECT status, count(*) FROM sync_queue GROUP BY status")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (status, n) = row?;
            match QueueStatus::parse(&status) {
                Some(QueueStatus::Pending) => stats.pending = n as u64,
                Some(QueueStatus::Syncing) => stats.syncing = n as u64,
                Some(QueueStatus::Failed) => stats.failed = n as u64,
                _ => {}
            }
        }
        stats.conflicts = self
            .conn
            .prepare_cached("SELECT count(*) FROM sync_conflict")?
            .query_row([], |r| r.get::<_, i64>(0).map(|n| n as u64))?;
        stats.pull_cursor = self.pull_cursor()?;
        stats.oldest_pending_at = self
            .conn
            .prepare_cached("SELECT min(created_at) FROM sync_queue WHERE status = 'pending'")?
            .query_row([], |r| r.get::<_, Option<String>>(0))?
            .and_then(|s| s.parse().ok());
        Ok(stats)
    }

    /// Pending changes, oldest first, at most `limit` (default page: 100).
    pub fn pending_items(&self, limit: u32) -> Result<Vec<QueueItem>, DbError> {
        self.items("WHERE status = 'pending' ORDER BY id LIMIT ?1", Some(limit))
    }

    /// Changes the server refused, oldest first.
    pub fn failed_items(&self) -> Result<Vec<QueueItem>, DbError> {
        self.items("WHERE status = 'failed' ORDER BY id", None)
    }

    fn items(&self, clause: &str, limit: Option<u32>) -> Result<Vec<QueueItem>, DbError> {
        let mut stmt =
            self.conn.prepare_cached(&format!("SELECT {ITEM_COLUMNS} FROM sync_queue {clause}"))?;
        let rows = match limit {
            Some(limit) => stmt.query_map([limit], item_from_row)?.collect::<Result<Vec<_>, _>>()?,
            None => stmt.query_map([], item_from_row)?.collect::<Result<Vec<_>, _>>()?,
        };
        Ok(rows)
    }

    /// Marks items as being pushed now: one more attempt, at `now`.
    pub fn mark_syncing(&mut self, ids: &[i64]) -> Result<(), DbError> {
        let now = self.now().to_string();
        self.update_items(
            ids,
            "UPDATE sync_queue SET status = 'syncing', attempts = attempts + 1, last_attempt_at = ?",
            &now,
        )
    }

    /// Puts items back in line after a failure worth retrying, noting why.
    pub fn mark_pending(&mut self, ids: &[i64], error: &str) -> Result<(), DbError> {
        self.update_items(ids, "UPDATE sync_queue SET status = 'pending', error = ?", error)
    }

    /// Marks items refused for good, with the server's message. They are no longer
    /// pushed until retried, and never hold up the items behind them.
    pub fn mark_failed(&mut self, ids: &[i64], error: &str) -> Result<(), DbError> {
        self.update_items(ids, "UPDATE sync_queue SET status = 'failed', error = ?", error)
    }

    /// Removes pushed items.
    pub fn mark_synced(&mut self, ids: &[i64]) -> Result<(), DbError> {
        let tx = self.conn.transaction()?;
        delete_items(&tx, ids)?;
        tx.commit()?;
        Ok(())
    }

    /// Sends a refused item again on the next push.
    pub fn retry_failed(&mut self, id: i64) -> Result<(), DbError> {
        let changed = self.conn.execute(
            "UPDATE sync_queue SET status = 'pending', error = NULL WHERE id = ?1 AND status = 'failed'",
            [id],
        )?;
        if changed == 0 { Err(DbError::NotFound) } else { Ok(()) }
    }

    /// Drops a refused item: its change will never reach the server.
    pub fn discard_failed(&mut self, id: i64) -> Result<(), DbError> {
        let changed =
            self.conn.execute("DELETE FROM sync_queue WHERE id = ?1 AND status = 'failed'", [id])?;
        if changed == 0 { Err(DbError::NotFound) } else { Ok(()) }
    }

    /// Removes items left marked synced (pushes remove them at once; this tidies up
    /// after older versions or manual edits). Returns how many.
    pub fn clear_synced(&mut self) -> Result<usize, DbError> {
        Ok(self.conn.execute("DELETE FROM sync_queue WHERE status = 'synced'", [])?)
    }

    /// Items a crash or a closed tab left in flight go back in line (called at open).
    pub(super) fn recover_interrupted(&mut self) -> Result<usize, DbError> {
        Ok(self.conn.execute("UPDATE sync_queue SET status = 'pending' WHERE status = 'syncing'", [])?)
    }

    /// Starts pushing: takes up to `limit` pending items, oldest first and at most one per
    /// record, none of a record already in flight (its next change waits for the server's
    /// version, or it would be sent against a stale base and meet itself as a conflict),
    /// marks them in flight, and returns each with the record's current local
    /// row (what gets sent: the latest state, deletes included as tombstones), parents'
    /// tables before children's. `None`: the item names no synced row here. Items in
    /// `skip` (already tried in this run: waiting for a parent) are left for the next run.
    pub fn begin_push(
        &mut self,
        limit: u32,
        skip: &[i64],
    ) -> Result<Vec<(QueueItem, Option<Record>)>, DbError> {
        let skip = serde_json::to_string(skip).unwrap_or_else(|_| "[]".into());
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ITEM_COLUMNS} FROM sync_queue
             WHERE status = 'pending' AND id NOT IN (SELECT value FROM json_each(?2))
               AND NOT EXISTS (SELECT 1 FROM sync_queue s WHERE s.table_name = sync_queue.table_name
                               AND s.record_id = sync_queue.record_id AND s.status = 'syncing')
             ORDER BY id LIMIT ?1"
        ))?;
        let candidates =
            stmt.query_map(params![limit, skip], item_from_row)?.collect::<Result<Vec<_>, _>>()?;
        drop(stmt);
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let mut seen = std::collections::HashSet::new();
        let mut batch = Vec::with_capacity(candidates.len());
        for item in candidates {
            if !seen.insert((item.table_name.clone(), item.record_id.clone())) {
                continue;
            }
            let row = match (TableId::parse(&item.table_name), item.record_id.parse()) {
                (Some(table), Ok(id)) => super::records::read(&self.conn, table, id)?,
                _ => None,
            };
            batch.push((item, row));
        }
        // Stable: within a table, oldest first.
        batch.sort_by_key(|(_, row)| row.as_ref().map_or(usize::MAX, |r| r.table.rank()));
        let ids: Vec<i64> = batch.iter().map(|(item, _)| item.id).collect();
        self.mark_syncing(&ids)?;
        Ok(batch)
    }

    /// Finishes a successful push in one transaction: removes the pushed items and takes
    /// the server's bookkeeping (version, owner) into the local rows. `server_rows` are
    /// the rows as the server now stores them (what was sent, at the server's version).
    /// The musician's fields are left alone: they may have been edited while the request
    /// was out.
    pub fn complete_push(&mut self, ids: &[i64], server_rows: &[Record]) -> Result<(), DbError> {
        let tx = self.conn.transaction()?;
        delete_items(&tx, ids)?;
        for r in server_rows {
            super::records::set_server_meta(&tx, r.table, r.id, r.sync_version, r.user_id)?;
            // The server's content at this version: the base for later merges.
            super::records::set_base(&tx, r)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Runs `update` (whose one `?` takes `value`) on the given items, in one transaction.
    fn update_items(&mut self, ids: &[i64], update: &str, value: &str) -> Result<(), DbError> {
        let tx = self.conn.transaction()?;
        for chunk in ids.chunks(500) {
            // Anonymous `?` parameters bind left to right: the value, then the ids.
            let marks = vec!["?"; chunk.len()].join(",");
            let mut values: Vec<rusqlite::types::Value> = vec![value.to_string().into()];
            values.extend(chunk.iter().map(|id| rusqlite::types::Value::Integer(*id)));
            tx.execute(&format!("{update} WHERE id IN ({marks})"), params_from_iter(values))?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// Deletes queue items by id inside a transaction.
pub(super) fn delete_items(tx: &Transaction<'_>, ids: &[i64]) -> Result<(), DbError> {
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(",");
        tx.execute(&format!("DELETE FROM sync_queue WHERE id IN ({marks})"), params_from_iter(chunk))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tunebook_core::domain::{TuneDraft, Uuid};

    fn draft(title: &str) -> TuneDraft {
        TuneDraft { title: title.into(), ..TuneDraft::default() }
    }

    fn queue(db: &Database) -> Vec<(Operation, QueueStatus, Option<String>)> {
        db.items("ORDER BY id", None)
            .unwrap()
            .into_iter()
            .map(|i| {
                let title = i
                    .data
                    .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
                    .and_then(|d| d["title"].as_str().map(str::to_string));
                (i.operation, i.status, title)
            })
            .collect()
    }

    /// Pushes everything queued as if the server accepted it.
    fn push_all(db: &mut Database) {
        let batch = db.begin_push(100, &[]).unwrap();
        let ids: Vec<i64> = batch.iter().map(|(i, _)| i.id).collect();
        db.complete_push(&ids, &[]).unwrap();
    }

    #[test]
    fn every_write_queues_its_change() {
        let mut db = Database::open_in_memory().unwrap();
        let t = db.create_tune(&draft("A")).unwrap();
        assert_eq!(queue(&db), [(Operation::Insert, QueueStatus::Pending, Some("A".into()))]);
        push_all(&mut db);
        db.update_tune(t.id, &draft("B")).unwrap();
        assert_eq!(queue(&db), [(Operation::Update, QueueStatus::Pending, Some("B".into()))]);
        push_all(&mut db);
        db.delete_tune(t.id).unwrap();
        assert_eq!(queue(&db), [(Operation::Delete, QueueStatus::Pending, None)]);
        db.import_tunes(&[draft("C"), draft("D")]).unwrap();
        assert_eq!(queue(&db).len(), 3);
    }

    #[test]
    fn changes_coalesce_before_they_are_pushed() {
        let mut db = Database::open_in_memory().unwrap();
        // insert, then updates: one insert of the latest row.
        let a = db.create_tune(&draft("A1")).unwrap();
        db.update_tune(a.id, &draft("A2")).unwrap();
        db.update_tune(a.id, &draft("A3")).unwrap();
        assert_eq!(queue(&db), [(Operation::Insert, QueueStatus::Pending, Some("A3".into()))]);
        // insert then delete of a never-pushed row: nothing to send.
        db.delete_tune(a.id).unwrap();
        assert_eq!(queue(&db), []);

        let b = db.create_tune(&draft("B1")).unwrap();
        push_all(&mut db);
        // updates: one update; update then delete: one delete.
        db.update_tune(b.id, &draft("B2")).unwrap();
        db.update_tune(b.id, &draft("B3")).unwrap();
        assert_eq!(queue(&db), [(Operation::Update, QueueStatus::Pending, Some("B3".into()))]);
        db.delete_tune(b.id).unwrap();
        assert_eq!(queue(&db), [(Operation::Delete, QueueStatus::Pending, None)]);
    }

    #[test]
    fn an_insert_that_may_have_reached_the_server_is_deleted_there() {
        let mut db = Database::open_in_memory().unwrap();
        let t = db.create_tune(&draft("Maybe sent")).unwrap();
        let batch = db.begin_push(100, &[]).unwrap();
        // The reply was lost: the item goes back in line with one attempt behind it.
        db.mark_pending(&[batch[0].0.id], "connection closed").unwrap();
        db.delete_tune(t.id).unwrap();
        assert_eq!(queue(&db), [(Operation::Delete, QueueStatus::Pending, None)]);
    }

    #[test]
    fn an_edit_during_a_push_queues_behind_it() {
        let mut db = Database::open_in_memory().unwrap();
        let t = db.create_tune(&draft("A1")).unwrap();
        let batch = db.begin_push(100, &[]).unwrap();
        db.update_tune(t.id, &draft("A2")).unwrap();
        assert_eq!(
            queue(&db),
            [
                (Operation::Insert, QueueStatus::Syncing, Some("A1".into())),
                (Operation::Update, QueueStatus::Pending, Some("A2".into())),
            ]
        );
        // A push reading ahead while the first change is out leaves the second alone: sent
        // now it would carry a base version the server has already moved past.
        let other = db.create_tune(&draft("B1")).unwrap();
        let ahead = db.begin_push(100, &[]).unwrap();
        assert_eq!(
            ahead.iter().map(|(i, _)| i.record_id.clone()).collect::<Vec<_>>(),
            [other.id.to_string()]
        );
        db.complete_push(&[batch[0].0.id], &[]).unwrap();
        let next = db.begin_push(100, &[]).unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!((next[0].0.operation, next[0].0.record_id.clone()), (Operation::Update, t.id.to_string()));
    }

    #[test]
    fn the_write_and_its_queue_entry_commit_together() {
        let mut db = Database::open_in_memory().unwrap();
        db.connection()
            .execute_batch(
                "CREATE TEMP TRIGGER outbox_down BEFORE INSERT ON sync_queue
                 BEGIN SELECT RAISE(ABORT, 'outbox unavailable'); END;",
            )
            .unwrap();
        assert!(db.create_tune(&draft("Lost?")).is_err());
        assert!(db.import_tunes(&[draft("x"), draft("y")]).is_err());
        let tunes: i64 = db.connection().query_row("SELECT count(*) FROM tune", [], |r| r.get(0)).unwrap();
        assert_eq!(tunes, 0, "no tune without its queue entry");
    }

    #[test]
    fn push_bookkeeping_and_failure_states() {
        let mut db = Database::open_in_memory().unwrap();
        db.set_clock(|| Timestamp(1_000));
        let a = db.create_tune(&draft("A")).unwrap();
        let b = db.create_tune(&draft("B")).unwrap();
        let batch = db.begin_push(100, &[]).unwrap();
        assert_eq!(batch.len(), 2);
        assert_eq!(batch[0].1.as_ref().map(|t| t.id), Some(a.id), "the current row travels with its item");
        let stats = db.queue_stats().unwrap();
        assert_eq!((stats.pending, stats.syncing, stats.failed), (0, 2, 0));
        let items = db.items("ORDER BY id", None).unwrap();
        assert!(items.iter().all(|i| i.attempts == 1 && i.last_attempt_at == Some(Timestamp(1_000))));

        // A refused item is kept with the server's message and skipped afterwards.
        db.mark_failed(&[batch[1].0.id], "new row violates row-level security policy").unwrap();
        let mut server_a = Record::from(&db.get_tune(a.id).unwrap().unwrap());
        server_a.sync_version = 4;
        server_a.user_id = Some(Uuid::now_v7());
        db.complete_push(&[batch[0].0.id], std::slice::from_ref(&server_a)).unwrap();
        let local_a = db.get_tune(a.id).unwrap().unwrap();
        assert_eq!((local_a.sync_version, local_a.user_id), (4, server_a.user_id));
        assert!(
            db.begin_push(100, &[]).unwrap().is_empty(),
            "failed items are not pushed again by themselves"
        );
        let failed = db.failed_items().unwrap();
        assert_eq!((failed.len(), failed[0].record_id.clone()), (1, b.id.to_string()));
        assert!(failed[0].error.as_deref().unwrap().contains("row-level security"));

        // Retry puts it back in line; discard drops it.
        db.retry_failed(failed[0].id).unwrap();
        assert_eq!(db.pending_items(100).unwrap().len(), 1);
        assert_eq!(
            db.discard_failed(failed[0].id),
            Err(DbError::NotFound),
            "only failed items are discarded"
        );
        let batch = db.begin_push(100, &[]).unwrap();
        db.mark_failed(&[batch[0].0.id], "still no").unwrap();
        db.discard_failed(failed[0].id).unwrap();
        assert_eq!(db.queue_stats().unwrap(), QueueStats::default());
    }

    #[test]
    fn interrupted_pushes_resume_after_reopening() {
        let dir = std::env::temp_dir().join(format!("tunebook-outbox-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.db");
        let mut db = Database::open(rusqlite::Connection::open(&path).unwrap()).unwrap();
        db.create_tune(&draft("In flight")).unwrap();
        db.begin_push(100, &[]).unwrap();
        drop(db); // the tab closed mid-request
        let db = Database::open(rusqlite::Connection::open(&path).unwrap()).unwrap();
        let stats = db.queue_stats().unwrap();
        assert_eq!((stats.pending, stats.syncing), (1, 0));
        assert!(stats.oldest_pending_at.is_some());
        drop(db);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn synced_items_can_be_cleared() {
        let mut db = Database::open_in_memory().unwrap();
        db.create_tune(&draft("A")).unwrap();
        db.connection().execute("UPDATE sync_queue SET status = 'synced'", []).unwrap();
        assert_eq!(db.clear_synced().unwrap(), 1);
        assert_eq!(db.queue_stats().unwrap(), QueueStats::default());
    }
}
