//! The backend's error type for starting and running the stack.

/// Why the local stack could not start or keep running.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// A required program is missing (PostgreSQL, PostgREST).
    #[error("{what} not found at {path}: {hint}")]
    MissingProgram { what: &'static str, path: String, hint: &'static str },
    /// A child process or command failed; `log` points at its output.
    #[error("{what} failed: {detail}")]
    Process { what: String, detail: String },
    /// A service did not become ready in time.
    #[error("{0} did not become ready in time")]
    Timeout(&'static str),
    #[error("database error: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl BackendError {
    /// Whether starting again (for example after a port frees up) may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, BackendError::Timeout(_) | BackendError::Io(_) | BackendError::Database(_))
    }
}
