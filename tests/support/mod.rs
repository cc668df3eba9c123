//! Shared helpers for the native integration and end-to-end tests.
#![allow(dead_code)] // each test binary uses a different subset

pub mod bench;
#[path = "../../crates/store/tests/common/fault_proxy.rs"]
pub mod fault_proxy;
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

/// Creates a tune from the list (title only) and goes back to the list.
pub fn create_tune(browser: &webdriver::Browser, title: &str) {
    browser.click_link("New tune");
    browser.fill("Title", title);
    browser.click_button("Save");
    browser.wait_for(title, |b| b.xpath(&format!("//h1[normalize-space()=\"{title}\"]")));
    browser.click_link("Back to your tunes");
}

/// A browser on the app at `app_url`, its Settings pointed at the backend `api_url`
/// (syncing every `interval_secs`), signed up (or in) as `email`.
pub fn signed_in_browser(
    app_url: &str,
    api_url: &str,
    interval_secs: u32,
    email: &str,
    sign_up: bool,
) -> webdriver::Browser {
    let browser = webdriver::Browser::start();
    browser.goto(&format!("{app_url}/settings"));
    browser.fill("Supabase URL", api_url);
    browser.fill("Sync every (seconds)", &interval_secs.to_string());
    browser.click_button("Save settings");
    browser.wait_for_text("Settings saved.");
    browser.goto(&format!("{app_url}/{}", if sign_up { "signup" } else { "signin" }));
    browser.fill("Email", email);
    browser.fill("Password", "a-long-password");
    browser.click_button(if sign_up { "Create account" } else { "Sign in" });
    browser.wait_for_text(email);
    browser
}
