//! The Leptos single-page app (browser only): startup, routing, the pages, the account
//! and the background sync.

mod account;
mod app;
mod auth_flow;
mod context;
pub mod db_client;
mod form;
mod format;
mod header;
mod pages;
mod pwa;
mod settings;
mod storage;
mod sync;
pub mod tab_lock;
mod unsaved;

pub use app::App;

/// Mounts the app into the page body.
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
