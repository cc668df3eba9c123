//! Requests applied for other tabs, by key (see `tunebook_core::tabs`): a write made for
//! a relayed request records its key in the same transaction as the write itself, so a
//! request sent again (to a new leader tab, after the old one went mid-request) finds it
//! and is answered from the stored answer instead of being applied a second time.
//!
//! The key is recorded by a temporary trigger on the outbox: every local write queues a
//! change in its own transaction, so "a change was queued" is "the request wrote
//! something", and the marker commits or rolls back with it. The connection's
//! `current_request` names the key while the request runs.

use rusqlite::OptionalExtension;

use super::{Database, DbError};

/// Keys older than this are forgotten when the database opens: a replay comes within
/// seconds of the first attempt.
const KEEP_MS: i64 = 7 * 24 * 3600 * 1000;

/// What is known of a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Never applied (or it wrote nothing): run the request.
    No,
    /// Applied; its answer as stored (JSON), if it was stored.
    Yes(Option<String>),
}

impl Database {
    /// The connection's temporary trigger and table (once per open connection), and old
    /// keys dropped.
    pub(super) fn prepare_request_keys(&self) -> Result<(), DbError> {
        self.conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS current_request (key TEXT NOT NULL);
             CREATE TEMP TRIGGER IF NOT EXISTS request_wrote_insert AFTER INSERT ON main.sync_queue BEGIN
                 INSERT OR IGNORE INTO applied_request (key, applied_at)
                 SELECT key, CAST(unixepoch('subsec') * 1000 AS INTEGER) FROM current_request;
             END;
             CREATE TEMP TRIGGER IF NOT EXISTS request_wrote_update AFTER UPDATE ON main.sync_queue BEGIN
                 INSERT OR IGNORE INTO applied_request (key, applied_at)
                 SELECT key, CAST(unixepoch('subsec') * 1000 AS INTEGER) FROM current_request;
             END;",
        )?;
        let cutoff = self.now().millis() - KEEP_MS;
        self.conn.execute("DELETE FROM applied_request WHERE applied_at < ?1", [cutoff])?;
        Ok(())
    }

    /// Whether a request was applied under `key`.
    pub fn applied(&self, key: &str) -> Result<Applied, DbError> {
        let row: Option<Option<String>> = self
            .conn
            .query_row("SELECT response FROM applied_request WHERE key = ?1", [key], |r| r.get(0))
            .optional()?;
        Ok(row.map_or(Applied::No, Applied::Yes))
    }

    /// Marks the writes from now until [`Database::end_request`] as made for `key`.
    pub fn begin_request(&self, key: &str) -> Result<(), DbError> {
        self.conn.execute("DELETE FROM current_request", [])?;
        self.conn.execute("INSERT INTO current_request (key) VALUES (?1)", [key])?;
        Ok(())
    }

    /// Ends [`Database::begin_request`]; if the request wrote something, keeps its answer.
    pub fn end_request(&self, key: &str, response: Option<&str>) -> Result<(), DbError> {
        self.conn.execute("DELETE FROM current_request", [])?;
        if let Some(response) = response {
            self.conn.execute("UPDATE applied_request SET response = ?2 WHERE key = ?1", [key, response])?;
        }
        Ok(())
    }
}
