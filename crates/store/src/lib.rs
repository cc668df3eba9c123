//! Tunebook's local store: the SQLite data layer (migrations, tunes, list queries), the
//! handler that answers the worker protocol, and, in the browser, the database worker
//! that runs them over OPFS.

pub mod db;
pub mod pull;
pub mod push;
pub mod run;
pub mod service;

#[cfg(not(target_arch = "wasm32"))]
pub mod native;
#[cfg(target_arch = "wasm32")]
pub mod worker;
