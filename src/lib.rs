//! Tunebook: an offline-first practice companion for traditional musicians.
//!
//! The domain, the SQLite data layer and the worker protocol are plain Rust that builds
//! for the browser (`wasm32-unknown-unknown`) and the host, so they are tested natively.
//! The browser edges (the database worker's OPFS glue and the Leptos UI) build for wasm only.

pub mod db;
pub mod domain;
pub mod platform;
pub mod protocol;
pub mod text;

#[cfg(target_arch = "wasm32")]
pub mod ui;
#[cfg(target_arch = "wasm32")]
pub mod worker;
