//! The data layer's error type; it crosses the worker boundary, so it is plain data.

use serde::{Deserialize, Serialize};

use crate::domain::FieldErrors;
use crate::domain::library::InputError;

/// Why a database operation did not happen. Nothing was changed in any of these cases.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum DbError {
    /// The input broke a rule; the messages belong next to the form fields.
    #[error("invalid tune: {0}")]
    Invalid(FieldErrors),
    /// One input of another form (a repertoire, note, reference or tag) broke a rule.
    #[error("{0}")]
    Input(InputError),
    /// No live row has that id (it never existed, or it was deleted).
    #[error("not found (it may have been deleted)")]
    NotFound,
    /// The file was written by a newer Tunebook; opening it here could damage it.
    #[error(
        "this database was written by a newer version of Tunebook (schema {found}, this version knows up to {known}); update the app"
    )]
    TooNew { found: i64, known: i64 },
    /// The practice scheduler could not compute a tune's next state.
    #[error("{0}")]
    Practice(String),
    /// SQLite or the storage under it failed.
    #[error("storage error: {message}")]
    Storage { message: String, retryable: bool },
}

impl DbError {
    /// Whether trying the same operation again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, DbError::Storage { retryable: true, .. })
    }
}

#[cfg(feature = "sqlite")]
impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        // Busy and locked clear up by themselves; I/O errors in OPFS are usually a handle
        // lost to another tab, which a reopen fixes. Corruption, a full disk and misuse do not.
        let retryable = matches!(
            e.sqlite_error_code(),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::SystemIoFailure)
        );
        DbError::Storage { message: e.to_string(), retryable }
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;

    #[test]
    fn retryable_only_for_transient_storage_errors() {
        let busy =
            rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY), None);
        assert!(DbError::from(busy).is_retryable());
        let corrupt =
            rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT), None);
        assert!(!DbError::from(corrupt).is_retryable());
        assert!(!DbError::NotFound.is_retryable());
        assert!(!DbError::Invalid(FieldErrors::default()).is_retryable());
    }
}
