//! Opens the database in the origin private file system (OPFS) through SQLite's
//! sync-access-handle pool VFS, or in memory where the browser offers no OPFS.

use rusqlite::Connection;
use sqlite_wasm_rs::WasmOsCallback;
use sqlite_wasm_vfs::sahpool::{OpfsSAHError, OpfsSAHPoolCfg, OpfsSAHPoolUtil, install};

use tunebook_core::protocol::{OpenInfo, Storage, WorkerError};

use crate::db::Database;

/// How long to keep retrying while another tab's worker is still letting go of the files.
const BUSY_RETRY_MS: i32 = 5_000;

/// Opens `name` in OPFS, falling back to memory (and saying why) only when OPFS is
/// missing altogether. Files held by another worker are retried, then reported as
/// [`WorkerError::StorageBusy`]: silently using memory then would lose the musician's work.
pub async fn open(name: &str) -> Result<(Database, OpenInfo), WorkerError> {
    match install_pool().await {
        Ok(_pool) => {
            let conn = Connection::open(name).map_err(tunebook_core::error::DbError::from)?;
            let db = Database::open(conn)?;
            let info = OpenInfo {
                storage: Storage::Opfs,
                device_id: db.device_id().to_string(),
            };
            Ok((db, info))
        }
        Err(PoolError::Busy(message)) => Err(WorkerError::StorageBusy(message)),
        Err(PoolError::Unavailable(reason)) => {
            let db = Database::open_in_memory()?;
            let info = OpenInfo {
                storage: Storage::Memory { reason },
                device_id: db.device_id().to_string(),
            };
            Ok((db, info))
        }
    }
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
        match install::<WasmOsCallback>(&OpfsSAHPoolCfg::default(), true).await {
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
        let scope: web_sys::WorkerGlobalScope =
            wasm_bindgen::JsCast::unchecked_into(js_sys::global());
        // If the timer cannot be set the promise never resolves; that cannot happen in a worker.
        let _ = scope.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
