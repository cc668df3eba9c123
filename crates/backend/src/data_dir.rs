//! The stack's data directory: claimed with a lock for as long as a stack runs on it,
//! marked as the stack's own, and only ever reset (deleted) when it carries that mark.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::BackendError;

/// The file that says "a tunebook-backend stack made this directory".
pub const MARKER: &str = ".tunebook-stack";
/// The file a running stack holds an exclusive lock on.
pub const LOCK: &str = ".tunebook-stack.lock";
/// What a stack from before the marker existed left in its directory.
const LEGACY_ENTRIES: &[&str] = &["postgres", "postgrest.log"];

/// A data directory held by one running stack; the lock is released on drop.
#[derive(Debug)]
pub struct DataDir {
    pub path: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Creates `path` if needed, locks it against other stacks and marks it. With `reset`,
    /// first deletes everything in it, which is allowed only for a directory the stack
    /// made. A non-empty directory the stack did not make is refused either way.
    pub fn claim(path: &Path, reset: bool) -> Result<Self, BackendError> {
        std::fs::create_dir_all(path)?;
        let path = path.canonicalize()?;
        let lock = OpenOptions::new().create(true).truncate(false).write(true).open(path.join(LOCK))?;
        if lock.try_lock().is_err() {
            return Err(BackendError::Config(format!(
                "another tunebook-backend is running on {} (stop it first)",
                path.display()
            )));
        }
        let ours = is_stack_dir(&path)?;
        if !ours {
            return Err(BackendError::Config(format!(
                "{} is not empty and was not made by tunebook-backend (no {MARKER} file); \
                 refusing to use{} it: choose a new or empty directory",
                path.display(),
                if reset { " or reset" } else { "" }
            )));
        }
        if reset {
            for entry in std::fs::read_dir(&path)? {
                let entry = entry?;
                if entry.file_name() == LOCK {
                    continue;
                }
                if entry.file_type()?.is_dir() {
                    std::fs::remove_dir_all(entry.path())?;
                } else {
                    std::fs::remove_file(entry.path())?;
                }
            }
        }
        std::fs::write(path.join(MARKER), "Made by tunebook-backend; --reset may delete this directory.\n")?;
        Ok(Self { path, _lock: lock })
    }
}

/// Whether a directory is the stack's: it has the marker, or holds nothing but what a
/// stack (old or new) puts there.
fn is_stack_dir(path: &Path) -> Result<bool, BackendError> {
    if path.join(MARKER).is_file() {
        return Ok(true);
    }
    for entry in std::fs::read_dir(path)? {
        let name = entry?.file_name();
        let known = name == LOCK || LEGACY_ENTRIES.iter().any(|legacy| name == *legacy);
        if !known {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tunebook-datadir-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_foreign_directory_is_never_reset_or_used() {
        let dir = temp("foreign");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("thesis.tex"), "precious").unwrap();
        for reset in [true, false] {
            let err = DataDir::claim(&dir, reset).unwrap_err();
            assert!(err.to_string().contains("not made by tunebook-backend"), "{err}");
        }
        assert_eq!(std::fs::read_to_string(dir.join("thesis.tex")).unwrap(), "precious");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_held_directory_cannot_be_claimed_or_reset() {
        let dir = temp("held");
        let held = DataDir::claim(&dir, false).unwrap();
        std::fs::write(dir.join("postgres-data"), "live").unwrap();
        let err = DataDir::claim(&dir, true).unwrap_err();
        assert!(err.to_string().contains("another tunebook-backend"), "{err}");
        assert!(dir.join("postgres-data").exists(), "nothing was deleted");
        drop(held);
        // Released: now the stack's own directory resets.
        let again = DataDir::claim(&dir, true).unwrap();
        assert!(!dir.join("postgres-data").exists());
        assert!(dir.join(MARKER).is_file());
        drop(again);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_from_an_older_stack_is_recognised() {
        let dir = temp("legacy");
        std::fs::create_dir_all(dir.join("postgres")).unwrap();
        std::fs::write(dir.join("postgrest.log"), "").unwrap();
        let claimed = DataDir::claim(&dir, true).unwrap();
        assert!(!dir.join("postgres").exists());
        drop(claimed);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
