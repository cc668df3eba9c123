//! Tunebook's core: the tune domain, the list query types, the worker protocol and its
//! error types, the Supabase client (requests and replies as values) and the sync
//! engine's decisions. Plain Rust with no storage, shared by the UI, the database
//! worker and native tests; the only browser code is the `fetch` transport.

pub mod abc;
pub mod domain;
pub mod error;
pub mod list;
pub mod merge;
pub mod platform;
pub mod practice;
pub mod protocol;
pub mod reconcile;
pub mod record;
pub mod sample;
pub mod supabase;
pub mod sync;
pub mod sync_run;
pub mod tables;
pub mod tabs;
pub mod text;
