//! Tunebook's browser app: the Leptos single-page UI (wasm only). The domain, the
//! protocol and the store live in `crates/`; see README.md for the layout.

#[cfg(target_arch = "wasm32")]
pub mod ui;
