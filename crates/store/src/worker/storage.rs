//! Opens the database in the origin private file system (OPFS) through SQLite's
//! sync-access-handle pool VFS, or in memory where the browser offers no OPFS.

use rusqlite::Connection;
use sqlite_wasm_rs::WasmOsCallback;
use sqlite_wasm_rs::vfs::VfsFilesManager;
use sqlite_wasm_vfs::sahpool::{OpfsSAHError, OpfsSAHPoolCfgBuilder, OpfsSAHPoolUtil, install};
use tunebook_core::error::DbError;
use tunebook_core::protocol::{OpenInfo, Storage, WorkerError};

use crate::db::Database;

/// How long to keep retrying while another tab's worker is still letting go of the files.
const BUSY_RETRY_MS: i32 = 5_000;

/// Slots in the pool: each database file and its journal take one (the signed-out
/// database, an account's, and one being adopted or deleted, with room to spare).
const POOL_CAPACITY: usize = 12;

/// Where databases live: the OPFS pool, or memory when the browser has no OPFS.
pub enum Backing {
    Opfs(OpfsSAHPoolUtil),
    Memory { reason: String },
}

impl Backing {
    /// Installs the OPFS pool, falling back to memory (and saying why) only when OPFS is
    /// missing altogether. Files held by another worker are retried, then reported as
    /// [`WorkerError::StorageBusy`]: silently using memory then would lose the musician's work.
    pub async fn acquire() -> Result<Self, WorkerError> {
        match install_pool().await {
            Ok(pool) => Ok(Backing::Opfs(pool)),
            Err(PoolError::Busy(message)) => Err(WorkerError::StorageBusy(message)),
            Err(PoolError::Unavailable(reason)) => Ok(Backing::Memory { reason }),
        }
    }

    /// What the UI is told about where its data lives.
    pub fn storage(&self) -> Storage {
        match self {
            Backing::Opfs(_) => Storage::Opfs,
            Backing::Memory { reason } => Storage::Memory { reason: reason.clone() },
        }
    }

    /// Opens (creating if needed) a database.
    pub fn open(&self, name: &str, device_id: Option<&str>) -> Result<Database, WorkerError> {
        let conn = match self {
            Backing::Opfs(_) => Connection::open(name),
            Backing::Memory { .. } => Connection::open_in_memory(),
        }
        .map_err(DbError::from)?;
        Ok(Database::open_for_device(conn, device_id)?)
    }

    /// Deletes a (closed) database's files; a missing file is not an error.
    pub fn delete(&self, name: &str) -> Result<(), WorkerError> {
        if let Backing::Opfs(pool) = self {
            for file in [name.to_string(), format!("{name}-journal")] {
                pool.remove(&file).map_err(|e| WorkerError::StorageBusy(format!("deleting {file}: {e}")))?;
            }
        }
        Ok(())
    }

    /// The files in the pool (empty in memory).
    pub fn files(&self) -> Vec<String> {
        match self {
            Backing::Opfs(pool) => pool.names().unwrap_or_default(),
            Backing::Memory { .. } => Vec::new(),
        }
    }
}

/// Opens `name` where [`Backing::acquire`] says (tests and simple callers).
pub async fn open(name: &str) -> Result<(Database, OpenInfo), WorkerError> {
    let backing = Backing::acquire().await?;
    let db = backing.open(name, None)?;
    let info = OpenInfo { storage: backing.storage(), device_id: db.device_id().to_string() };
    Ok((db, info))
}

enum PoolError {
    Busy(String),
    Unavailable(String),
}

/// Installs the OPFS pool as SQLite's default VFS, retrying while it is locked elsewhere.
async fn install_pool() -> Result<OpfsSAHPoolUtil, PoolError> {
    let mut waited = 0;
    let mut delay = 50;
    loop {
        let config = OpfsSAHPoolCfgBuilder::new().initial_capacity(POOL_CAPACITY).build();
        match install::<WasmOsCallback>(&config, true).await {
            Ok(pool) => return Ok(pool),
            Err(e) if is_busy(&e) && waited < BUSY_RETRY_MS => {
                sleep_ms(delay).await;
                waited += delay;
                delay = (delay * 2).min(800);
            }
            Err(e) if is_busy(&e) => return Err(PoolError::Busy(e.to_string())),
            Err(e) => return Err(PoolError::Unavailable(e.to_string())),
        }
    }
}

/// A sync access handle is exclusive: while another worker holds one, creating it fails
/// with one of these DOMException names.
fn is_busy(e: &OpfsSAHError) -> bool {
    matches!(e, OpfsSAHError::Opfs { message, .. }
        if message.starts_with("NoModificationAllowedError") || message.starts_with("InvalidStateError"))
}

async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let scope: web_sys::WorkerGlobalScope = wasm_bindgen::JsCast::unchecked_into(js_sys::global());
        // If the timer cannot be set the promise never resolves; that cannot happen in a worker.
        let _ = scope.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
