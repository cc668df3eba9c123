//! End-to-end sync: the built app in headless Chromium against a real local backend
//! (PostgreSQL + PostgREST + the auth stand-in), driven by labels and button text.
//!
//! Ignored by a plain `cargo test`; `scripts/test.sh` runs it with `--ignored`.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::time::{Duration, Instant};

use support::dist_dir;
use support::static_server::StaticServer;
use support::webdriver::Browser;
use tunebook_backend::testing::TestStack;

fn click_button(browser: &Browser, text: &str) {
    let button = browser.wait_for_button(text);
    browser.click(&button);
}

fn click_link(browser: &Browser, text: &str) {
    let link = browser.wait_for_link(text);
    browser.click(&link);
}

fn fill(browser: &Browser, label: &str, value: &str) {
    let field = browser.wait_for_field(label);
    browser.replace_text(&field, value);
}

fn create_tune(browser: &Browser, title: &str) {
    click_link(browser, "New tune");
    fill(browser, "Title", title);
    click_button(browser, "Save");
    browser.wait_for(title, |b| b.xpath(&format!("//h1[normalize-space()=\"{title}\"]")));
    click_link(browser, "Back to your tunes");
}

/// The sync status in the header.
fn status(browser: &Browser) -> String {
    browser.css_all(".sync-status").first().map(|e| browser.text(e)).unwrap_or_default()
}

fn wait_for_status(browser: &Browser, wanted: &str) {
    browser.wait_for(&format!("sync status {wanted:?}"), |b| (status(b) == wanted).then_some(()));
}

/// Titles of the tunes PostgreSQL holds for the one account in this stack.
fn server_titles(stack: &TestStack) -> Vec<String> {
    stack
        .sql("select title from public.tune where not deleted order by title")
        .expect("sql")
        .into_iter()
        .flatten()
        .collect()
}

#[test]
#[ignore = "needs the built app, chromedriver and PostgreSQL: run scripts/test.sh"]
fn sign_up_sync_through_an_outage_and_sign_out() {
    let stack = TestStack::start(|_| {}).expect("backend starts");
    let server = StaticServer::start(&dist_dir());
    let browser = Browser::start();
    browser.goto(&server.url);
    browser.wait_for_text("0 tunes");
    assert_eq!(status(&browser), "Local only");

    // Point the app at this test's backend, syncing every 2 seconds.
    click_link(&browser, "Settings");
    fill(&browser, "Supabase URL", &stack.stack().api_url);
    fill(&browser, "Supabase anon key", &stack.stack().anon_key);
    fill(&browser, "Sync every (seconds)", "2");
    click_button(&browser, "Save settings");
    browser.wait_for_text("Settings saved.");

    // A tune made while signed out is adopted by the new account and pushed.
    click_link(&browser, "Tunebook");
    create_tune(&browser, "Made before signing in");
    click_link(&browser, "Sign in");
    click_link(&browser, "Create an account");
    fill(&browser, "Email", "fiddler@example.org");
    fill(&browser, "Password", "a-long-password");
    click_button(&browser, "Create account");
    browser.wait_for_text("fiddler@example.org");
    browser.wait_for_text("1 tune");
    wait_for_status(&browser, "Synced");
    assert_eq!(server_titles(&stack), ["Made before signing in"]);
    let owner = stack.sql("select user_id::text from public.tune").unwrap();
    let user = stack.sql("select id::text from auth.users where email = 'fiddler@example.org'").unwrap();
    assert_eq!(owner, user, "the account owns the adopted tune");

    // The session survives a reload.
    browser.refresh();
    browser.wait_for_text("fiddler@example.org");
    wait_for_status(&browser, "Synced");

    // The backend goes down; a tune made meanwhile waits in the outbox.
    let config = stack.stop();
    create_tune(&browser, "Written during the outage");
    browser.wait_for("a failed attempt", |b| (status(b) == "1 pending").then_some(()));

    // Back up: the tune arrives without anyone doing anything.
    let stack = TestStack::start_with(config).expect("backend restarts");
    let restarted = Instant::now();
    let deadline = restarted + Duration::from_secs(30);
    while server_titles(&stack).len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the tune never reached PostgreSQL; status {:?}",
            status(&browser)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("tune reached PostgreSQL {:?} after the backend restarted", restarted.elapsed());
    assert_eq!(server_titles(&stack), ["Made before signing in", "Written during the outage"]);
    wait_for_status(&browser, "Synced");

    // Signing out with nothing unsynced: the device's copy is deleted.
    click_button(&browser, "Sign out");
    browser.wait_for_link("Sign in");
    browser.wait_for_text("0 tunes");
    assert_eq!(status(&browser), "Local only");
    browser.refresh();
    browser.wait_for_text("0 tunes");
    browser.wait_for_link("Sign in");
    assert_eq!(server_titles(&stack).len(), 2, "the account's tunes are safe on the server");
}

#[test]
#[ignore = "needs the built app, chromedriver and PostgreSQL: run scripts/test.sh"]
fn signing_out_with_unsynced_changes_asks_first() {
    let stack = TestStack::start(|_| {}).expect("backend starts");
    let server = StaticServer::start(&dist_dir());
    let browser = Browser::start();
    browser.goto(&format!("{}/settings", server.url));
    fill(&browser, "Supabase URL", &stack.stack().api_url);
    fill(&browser, "Sync every (seconds)", "2");
    click_button(&browser, "Save settings");
    browser.wait_for_text("Settings saved.");
    browser.goto(&format!("{}/signup", server.url));
    fill(&browser, "Email", "piper@example.org");
    fill(&browser, "Password", "a-long-password");
    click_button(&browser, "Create account");
    browser.wait_for_text("piper@example.org");
    wait_for_status(&browser, "Synced");

    let _stopped = stack.stop();
    create_tune(&browser, "Not yet synced");
    click_button(&browser, "Sign out");
    browser.wait_for_text("Sign out and lose unsynced changes?");
    browser.wait_for_text("1 change has not reached your account yet");
    click_button(&browser, "Stay signed in");
    browser.wait_for_text("piper@example.org");
    assert!(browser.body_text().contains("Not yet synced"), "nothing was deleted");

    click_button(&browser, "Sign out");
    click_button(&browser, "Sign out and discard 1 change");
    browser.wait_for_link("Sign in");
    browser.wait_for_text("0 tunes");
}

#[test]
#[ignore = "needs the built app, chromedriver and PostgreSQL: run scripts/test.sh"]
fn an_ended_session_keeps_the_data_until_the_musician_signs_in_again() {
    // Access tokens live one minute, so every sync run refreshes first.
    let stack = TestStack::start(|c| c.jwt_expiry = 60).expect("backend starts");
    let server = StaticServer::start(&dist_dir());
    let browser = Browser::start();
    browser.goto(&format!("{}/settings", server.url));
    fill(&browser, "Supabase URL", &stack.stack().api_url);
    fill(&browser, "Sync every (seconds)", "2");
    click_button(&browser, "Save settings");
    browser.wait_for_text("Settings saved.");
    browser.goto(&format!("{}/signup", server.url));
    fill(&browser, "Email", "singer@example.org");
    fill(&browser, "Password", "a-long-password");
    click_button(&browser, "Create account");
    browser.wait_for_text("singer@example.org");
    wait_for_status(&browser, "Synced");

    // Signed out everywhere (say, from another device): the refresh token is dead.
    stack.sql("delete from auth.sessions").expect("end sessions");
    create_tune(&browser, "Kept through it all");
    browser.wait_for_text("Your session has ended.");
    browser.wait_for_link("Sign in again");
    assert!(browser.body_text().contains("Kept through it all"), "the data stays");
    assert!(server_titles(&stack).is_empty());

    // Signing in again picks up where it left off.
    click_link(&browser, "Sign in again");
    fill(&browser, "Email", "singer@example.org");
    fill(&browser, "Password", "a-long-password");
    click_button(&browser, "Sign in");
    browser.wait_for_text("Kept through it all");
    wait_for_status(&browser, "Synced");
    assert_eq!(server_titles(&stack), ["Kept through it all"]);
}

#[test]
#[ignore = "needs the built app, chromedriver and PostgreSQL: run scripts/test.sh"]
fn refused_changes_are_listed_with_the_servers_message_and_can_be_retried_or_discarded() {
    let stack = TestStack::start(|_| {}).expect("backend starts");
    // This project refuses one particular title (a stand-in for any permanent refusal).
    stack
        .sql(
            "alter table public.tune add constraint no_forbidden_title check (title <> 'The Forbidden Reel')",
        )
        .expect("constraint");
    let server = StaticServer::start(&dist_dir());
    let browser = Browser::start();
    browser.goto(&format!("{}/settings", server.url));
    fill(&browser, "Supabase URL", &stack.stack().api_url);
    fill(&browser, "Sync every (seconds)", "2");
    click_button(&browser, "Save settings");
    browser.wait_for_text("Settings saved.");
    browser.goto(&format!("{}/signup", server.url));
    fill(&browser, "Email", "harper@example.org");
    fill(&browser, "Password", "a-long-password");
    click_button(&browser, "Create account");
    browser.wait_for_text("harper@example.org");

    create_tune(&browser, "The Forbidden Reel");
    create_tune(&browser, "An Allowed Jig");
    wait_for_status(&browser, "1 failed");
    assert_eq!(server_titles(&stack), ["An Allowed Jig"], "the refused change does not block the other");

    click_link(&browser, "1 failed");
    browser.wait_for_text("Changes the server refused");
    browser.wait_for_text("The Forbidden Reel");
    browser.wait_for_text("no_forbidden_title");
    click_button(&browser, "Retry");
    wait_for_status(&browser, "1 failed");

    click_button(&browser, "Discard");
    browser.wait_for_text("Discard this change?");
    click_button(&browser, "Keep it");
    assert!(browser.body_text().contains("The Forbidden Reel"));
    click_button(&browser, "Discard");
    click_button(&browser, "Discard change");
    wait_for_status(&browser, "Synced");
    browser.wait_for_text("None.");
}

/// A browser pointed at the stack (sync every 2 s) and signed in: signs up when
/// `sign_up`, else signs in.
fn signed_in_browser(stack: &TestStack, server: &StaticServer, email: &str, sign_up: bool) -> Browser {
    let browser = Browser::start();
    browser.goto(&format!("{}/settings", server.url));
    fill(&browser, "Supabase URL", &stack.stack().api_url);
    fill(&browser, "Sync every (seconds)", "2");
    click_button(&browser, "Save settings");
    browser.wait_for_text("Settings saved.");
    browser.goto(&format!("{}/{}", server.url, if sign_up { "signup" } else { "signin" }));
    fill(&browser, "Email", email);
    fill(&browser, "Password", "a-long-password");
    click_button(&browser, if sign_up { "Create account" } else { "Sign in" });
    browser.wait_for_text(email);
    browser
}

fn edit_mode(browser: &Browser, title: &str, mode: &str) {
    click_link(browser, title);
    click_link(browser, "Edit");
    fill(browser, "Mode", mode);
    click_button(browser, "Save");
    browser.wait_for_text(mode);
    click_link(browser, "Back to your tunes");
}

#[test]
#[ignore = "needs the built app, chromedriver and PostgreSQL: run scripts/test.sh"]
fn two_browsers_share_tunes_and_resolve_a_conflict() {
    let stack = TestStack::start(|_| {}).expect("backend starts");
    let server = StaticServer::start(&dist_dir());
    let phone = signed_in_browser(&stack, &server, "duo@example.org", true);
    let laptop = signed_in_browser(&stack, &server, "duo@example.org", false);

    // Made on one, it appears on the other.
    create_tune(&phone, "The Shared Reel");
    laptop.wait_for_text("The Shared Reel");
    wait_for_status(&laptop, "Synced");

    // Apart (the laptop is offline), both change the mode.
    laptop.set_offline(true);
    edit_mode(&laptop, "The Shared Reel", "D mixolydian");
    edit_mode(&phone, "The Shared Reel", "D major");
    wait_for_status(&phone, "Synced");
    assert_eq!(stack.sql("select mode from public.tune").unwrap(), [Some("D major".to_string())]);

    // Back online, the laptop finds the conflict and keeps both until asked.
    laptop.set_offline(false);
    click_link(&laptop, "1 conflict");
    laptop.wait_for_text("Conflicts");
    laptop.wait_for_text("The Shared Reel");
    let mine = laptop.wait_for_field("This device: D mixolydian");
    let theirs = laptop.wait_for_field("Other device: D major");
    assert_eq!(
        laptop.property(&mine, "checked"),
        serde_json::Value::Bool(true),
        "this device's version is the default"
    );
    laptop.click(&theirs);
    laptop.click(&mine);
    click_button(&laptop, "Use my choices");
    laptop.wait_for_text("No conflicts.");
    wait_for_status(&laptop, "Synced");

    // The laptop's choice reaches the server and the phone.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while stack.sql("select mode from public.tune").unwrap() != [Some("D mixolydian".to_string())] {
        assert!(std::time::Instant::now() < deadline, "the resolution never reached the server");
        std::thread::sleep(Duration::from_millis(100));
    }
    click_link(&phone, "The Shared Reel");
    phone.wait_for_text("D mixolydian");
}
