//! The Leptos single-page app (browser only): startup, routing, the pages, the account
//! and the background sync.

mod abc_client;
mod account;
mod app;
mod auth_flow;
mod changes;
mod context;
pub mod db_client;
mod download;
mod form;
mod format;
mod header;
mod library_client;
mod live;
mod notation;
mod pages;
pub mod paths;
mod practice_client;
mod pwa;
mod settings;
mod shortcuts;
mod storage;
mod sync;
pub mod tab_lock;
mod tabs;
mod theme;
mod unsaved;

pub use app::App;

/// Mounts the app into the page body.
pub fn start() {
    console_error_panic_hook::set_once();
    theme::Theme::load().apply();
    leptos::mount::mount_to_body(App);
}
