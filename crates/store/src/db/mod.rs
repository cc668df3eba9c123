//! The local SQLite data layer: schema migrations, the synced tables (tunes, repertoires,
//! notes, references, tags, practice records), the outbox, reconciling server versions, and the list queries.
//!
//! Everything here is synchronous rusqlite, the same code in the browser worker (over
//! the OPFS VFS) and in native tests (over a temp-file or in-memory database).

// One-way stack, bottom first: records (rows by declaration) → outbox (the queue) →
// changes (local writes) → tunes / library / practice (the musician's operations) →
// reconcile (server versions in) → adopt, export; requests (keys of relayed requests)
// stands aside, on the outbox table alone.
mod adopt;
mod changes;
mod export;
mod library;
mod list;
mod migrations;
mod outbox;
mod practice;
mod reconcile;
mod records;
mod requests;
mod tunes;

pub use reconcile::Reconciled;
pub use requests::Applied;

pub use migrations::{SCHEMA_VERSION, migrate, migrate_to};
pub use rusqlite::Connection;
pub use tunebook_core::error::DbError;
pub use tunebook_core::list::{ListQuery, SortColumn, TunePage};

use rusqlite::OptionalExtension;

use tunebook_core::domain::{Timestamp, Uuid};

/// An open, migrated Tunebook database and the identity of this device.
pub struct Database {
    conn: Connection,
    device_id: String,
    clock: fn() -> Timestamp,
}

impl Database {
    /// Migrates `conn` to the current schema and loads (or creates) the device id.
    pub fn open(conn: Connection) -> Result<Self, DbError> {
        Self::open_for_device(conn, None)
    }

    /// Like [`Database::open`]; a new database takes `device_id` (the browser profile's
    /// id, so every database in one profile stamps the same device). An existing
    /// database keeps the id it has.
    pub fn open_for_device(mut conn: Connection, device_id: Option<&str>) -> Result<Self, DbError> {
        // synchronous=FULL: a committed edit survives a crash or a closed tab.
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")?;
        migrate(&mut conn)?;
        let device_id = load_device_id(&conn, device_id)?;
        let mut db = Self { conn, device_id, clock: Timestamp::now };
        db.recover_interrupted()?;
        db.prepare_request_keys()?;
        Ok(db)
    }

    /// A fresh database in memory (used where OPFS is unavailable, and in tests).
    pub fn open_in_memory() -> Result<Self, DbError> {
        Self::open(Connection::open_in_memory()?)
    }

    /// The id stamped on every change made here: stable for the life of this database.
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// Replaces the clock (tests use it to control timestamps).
    pub fn set_clock(&mut self, clock: fn() -> Timestamp) {
        self.clock = clock;
    }

    /// The underlying connection, for integration tests and benchmarks.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Closes the database, reporting any error SQLite has on close.
    pub fn close(self) -> Result<(), DbError> {
        self.conn.close().map_err(|(_, e)| e.into())
    }

    fn now(&self) -> Timestamp {
        (self.clock)()
    }
}

/// Reads the device id from `meta`, storing `preferred` (or a new id) on first open.
fn load_device_id(conn: &Connection, preferred: Option<&str>) -> Result<String, DbError> {
    let existing: Option<String> =
        conn.query_row("SELECT value FROM meta WHERE key = 'device_id'", [], |r| r.get(0)).optional()?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let id =
        preferred.filter(|p| !p.is_empty()).map(str::to_string).unwrap_or_else(|| Uuid::now_v7().to_string());
    conn.execute("INSERT INTO meta (key, value) VALUES ('device_id', ?1)", [&id])?;
    Ok(id)
}
