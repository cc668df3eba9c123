//! Tunebook's local Supabase-compatible backend: a real PostgreSQL and a real PostgREST,
//! plus the one hand-written piece, a small stand-in for Supabase's gateway (Kong) and
//! auth server (GoTrue) that honours their contract for everything Tunebook uses.

pub mod auth;
pub mod data_dir;
pub mod error;
pub mod gateway;
pub mod jwt;
pub mod migrations;
pub mod pool;
pub mod postgres;
pub mod postgrest;
pub mod process;
pub mod realtime;
pub mod stack;
pub mod supervisor;
pub mod testing;

pub use error::BackendError;
pub use stack::{Stack, StackConfig};
