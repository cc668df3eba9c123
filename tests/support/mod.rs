//! Shared helpers for the native integration and end-to-end tests.
#![allow(dead_code)] // each test binary uses a different subset

pub mod static_server;
pub mod webdriver;

use std::path::PathBuf;

/// The Trunk-built app to test: `TUNEBOOK_DIST`, or `dist/` in the repository.
pub fn dist_dir() -> PathBuf {
    let dir = std::env::var_os("TUNEBOOK_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dist"));
    assert!(
        dir.join("index.html").is_file(),
        "{} has no built app: run `trunk build` first (scripts/test.sh does)",
        dir.display()
    );
    dir
}
