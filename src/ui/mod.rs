//! The Leptos single-page app (browser only): startup, routing and the pages.

mod app;
pub mod db_client;
mod format;
mod pages;
pub mod tab_lock;
mod unsaved;

pub use app::App;

/// Mounts the app into the page body.
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
