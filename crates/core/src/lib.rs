//! Tunebook's core: the tune domain, the list query types, the worker protocol and its
//! error types. Plain Rust with no storage and no browser APIs, shared by the UI, the
//! database worker, the sync engine and native tests.

pub mod domain;
pub mod error;
pub mod list;
pub mod platform;
pub mod protocol;
pub mod sample;
pub mod text;
