//! Local writes to any synced table, through its declaration: each row and its outbox
//! entry in the caller's transaction, and deletes that cascade from a parent to every
//! row under it (a tune's notes, references, tags and memberships), each delete queued
//! so it reaches the other devices.

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde_json::Value;
use tunebook_core::domain::{Timestamp, Uuid};
use tunebook_core::merge::Content;
use tunebook_core::record::Record;
use tunebook_core::sync::Operation;
use tunebook_core::tables::TableId;

use super::outbox::enqueue_record;
use super::records::{live_children, read, soft_delete, upsert};
use super::{Database, DbError};

/// Column values by name, as the domain modules build them.
pub(super) type Fields = BTreeMap<String, Value>;

/// Stores a row made on this device (or brings back a deleted one with that id, for the
/// tables whose ids are derived from their content) and queues it. Returns the row.
pub(super) fn put_new(
    tx: &Connection,
    table: TableId,
    id: Uuid,
    fields: Fields,
    now: Timestamp,
    device_id: &str,
) -> Result<Record, DbError> {
    let content = Content::new(table, fields, false);
    let (record, operation) = match read(tx, table, id)? {
        Some(existing) if !existing.deleted() && existing.content == content => return Ok(existing),
        Some(existing) => (
            Record { content, last_modified_at: now, device_id: device_id.to_string(), ..existing },
            Operation::Update,
        ),
        None => (
            Record {
                table,
                id,
                content,
                user_id: None,
                created_at: now,
                last_modified_at: now,
                sync_version: 1,
                device_id: device_id.to_string(),
            },
            Operation::Insert,
        ),
    };
    upsert(tx, &record)?;
    enqueue_record(tx, &record, operation, now)?;
    Ok(record)
}

/// Replaces the given columns of a live row and queues the change. `sync_version` is
/// kept: it is the server version the edit started from. Returns the row.
pub(super) fn edit(
    tx: &Connection,
    table: TableId,
    id: Uuid,
    changes: Fields,
    now: Timestamp,
    device_id: &str,
) -> Result<Record, DbError> {
    let mut record = read(tx, table, id)?.filter(|r| !r.deleted()).ok_or(DbError::NotFound)?;
    let mut fields = record.content.fields.clone();
    fields.extend(changes);
    record.content = Content::new(table, fields, false);
    record.last_modified_at = now;
    record.device_id = device_id.to_string();
    upsert(tx, &record)?;
    enqueue_record(tx, &record, Operation::Update, now)?;
    Ok(record)
}

/// Soft-deletes a live row and, first, every live row under it; each delete is queued.
/// Returns whether the row was live.
pub(super) fn delete_cascade(
    tx: &Connection,
    table: TableId,
    id: Uuid,
    now: Timestamp,
    device_id: &str,
) -> Result<bool, DbError> {
    for (child, column) in table.children() {
        for child_id in live_children(tx, child, column, id)? {
            delete_cascade(tx, child, child_id, now, device_id)?;
        }
    }
    if !soft_delete(tx, table, id, now, device_id)? {
        return Ok(false);
    }
    let record = read(tx, table, id)?.ok_or(DbError::NotFound)?;
    enqueue_record(tx, &record, Operation::Delete, now)?;
    Ok(true)
}

impl Database {
    /// Deletes a live row of `table` with everything under it, in one transaction.
    pub(super) fn delete_row(&mut self, table: TableId, id: Uuid) -> Result<(), DbError> {
        let now = self.now();
        let tx = self.conn.transaction()?;
        if !delete_cascade(&tx, table, id, now, &self.device_id)? {
            return Err(DbError::NotFound);
        }
        tx.commit()?;
        Ok(())
    }
}
