//! End-to-end sync: the built app in headless Chromium against a real local backend
//! (PostgreSQL + PostgREST + the auth stand-in), driven by labels and button text.
//!
//! Ignored by a plain `cargo test`; `scripts/test.sh` runs it with `--ignored`.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::time::{Duration, Instant};

use support::fault_proxy::{Fault, FaultProxy};
use support::static_server::StaticServer;
use support::webdriver::Browser;
use support::{create_tune, dist_dir, signed_in_browser};
use tunebook_backend::testing::TestStack;

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
    assert_eq!(browser.sync_status(), "Local only");

    // Point the app at this test's backend, syncing every 2 seconds.
    browser.click_link("Settings");
    browser.fill("Supabase URL", &stack.stack().api_url);
    browser.fill("Supabase anon key", &stack.stack().anon_key);
    browser.fill("Sync every (seconds)", "2");
    browser.click_button("Save settings");
    browser.wait_for_text("Settings saved.");

    // A tune made while signed out is adopted by the new account and pushed.
    browser.click_link("Tunebook");
    create_tune(&browser, "Made before signing in");
    browser.click_link("Sign in");
    browser.click_link("Create an account");
    browser.fill("Email", "fiddler@example.org");
    browser.fill("Password", "a-long-password");
    browser.click_button("Create account");
    browser.wait_for_text("fiddler@example.org");
    browser.wait_for_text("1 tune");
    browser.wait_for_status("Synced");
    assert_eq!(server_titles(&stack), ["Made before signing in"]);
    let owner = stack.sql("select user_id::text from public.tune").unwrap();
    let user = stack.sql("select id::text from auth.users where email = 'fiddler@example.org'").unwrap();
    assert_eq!(owner, user, "the account owns the adopted tune");

    // The session survives a reload.
    browser.refresh();
    browser.wait_for_text("fiddler@example.org");
    browser.wait_for_status("Synced");

    // The backend goes down; a tune made meanwhile waits in the outbox, and a sync
    // attempt really fails (the Sync page's last run says it will retry).
    let stopped = stack.stop();
    create_tune(&browser, "Written during the outage");
    browser.wait_for("1 pending", |b| (b.sync_status() == "1 pending").then_some(()));
    browser.click_link("1 pending");
    browser.wait_for_text("Will retry:");
    assert!(browser.body_text().contains("Waiting to sync\n1"), "{}", browser.body_text());
    browser.click_link("Tunebook");
    browser.wait_for_field("Filter");

    // Back up: the tune arrives without anyone doing anything.
    let stack = stopped.restart().expect("backend restarts");
    let restarted = Instant::now();
    let deadline = restarted + Duration::from_secs(30);
    while server_titles(&stack).len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the tune never reached PostgreSQL; status {:?}",
            browser.sync_status()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("tune reached PostgreSQL {:?} after the backend restarted", restarted.elapsed());
    assert_eq!(server_titles(&stack), ["Made before signing in", "Written during the outage"]);
    browser.wait_for_status("Synced");

    // Signing out with nothing unsynced: the device's copy is deleted, down to the bytes
    // in the browser's storage (which held it until now).
    let needle = b"Written during the outage";
    assert!(!browser.opfs_files_containing(needle).is_empty(), "the account's database is in OPFS");
    browser.click_button("Sign out");
    browser.wait_for_link("Sign in");
    browser.wait_for_text("0 tunes");
    browser.wait_for("the account's database gone from OPFS", |b| {
        b.opfs_files_containing(needle).is_empty().then_some(())
    });
    assert_eq!(browser.sync_status(), "Local only");
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
    let browser = signed_in_browser(&server.url, &stack.stack().api_url, 2, "piper@example.org", true);
    browser.wait_for_status("Synced");

    let _stopped = stack.stop();
    create_tune(&browser, "Not yet synced");
    browser.click_button("Sign out");
    browser.wait_for_text("Sign out and lose unsynced changes?");
    browser.wait_for_text("1 change has not reached your account yet");
    browser.click_button("Stay signed in");
    browser.wait_for_text("piper@example.org");
    assert!(browser.body_text().contains("Not yet synced"), "nothing was deleted");

    browser.click_button("Sign out");
    browser.click_button("Sign out and discard 1 change");
    browser.wait_for_link("Sign in");
    browser.wait_for_text("0 tunes");
}

#[test]
#[ignore = "needs the built app, chromedriver and PostgreSQL: run scripts/test.sh"]
fn an_ended_session_keeps_the_data_until_the_musician_signs_in_again() {
    // Access tokens live one minute, so every sync run refreshes first.
    let stack = TestStack::start(|c| c.jwt_expiry = 60).expect("backend starts");
    let server = StaticServer::start(&dist_dir());
    let browser = signed_in_browser(&server.url, &stack.stack().api_url, 2, "singer@example.org", true);
    browser.wait_for_status("Synced");

    // Signed out everywhere (say, from another device): the refresh token is dead.
    stack.sql("delete from auth.sessions").expect("end sessions");
    create_tune(&browser, "Kept through it all");
    browser.wait_for_text("Your session has ended.");
    browser.wait_for_link("Sign in again");
    assert!(browser.body_text().contains("Kept through it all"), "the data stays");
    assert!(server_titles(&stack).is_empty());

    // Signing in again picks up where it left off.
    browser.click_link("Sign in again");
    browser.fill("Email", "singer@example.org");
    browser.fill("Password", "a-long-password");
    browser.click_button("Sign in");
    browser.wait_for_text("Kept through it all");
    browser.wait_for_status("Synced");
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
    let browser = signed_in_browser(&server.url, &stack.stack().api_url, 2, "harper@example.org", true);

    create_tune(&browser, "The Forbidden Reel");
    create_tune(&browser, "An Allowed Jig");
    // The refused change does not block the other. (The status reads "1 failed" as soon as
    // the first run refuses the reel, which can be before the jig's run: wait for the jig.)
    browser
        .wait_for("the jig on the server", |_| (server_titles(&stack) == ["An Allowed Jig"]).then_some(()));
    browser.wait_for_status("1 failed");

    browser.click_link("1 failed");
    browser.wait_for_text("Changes the server refused");
    browser.wait_for_text("The Forbidden Reel");
    browser.wait_for_text("no_forbidden_title");
    browser.click_button("Retry");
    browser.wait_for_status("1 failed");

    browser.click_button("Discard");
    browser.wait_for_text("Discard this change?");
    browser.click_button("Keep it");
    assert!(browser.body_text().contains("The Forbidden Reel"));
    browser.click_button("Discard");
    browser.click_button("Discard change");
    browser.wait_for_status("Synced");
    browser.wait_for_text("None.");
}

fn edit_fields(browser: &Browser, title: &str, fields: &[(&str, &str)]) {
    browser.click_link(title);
    browser.click_link("Edit");
    for (label, value) in fields {
        browser.fill(label, value);
    }
    browser.click_button("Save");
    browser.wait_for_text(fields[0].1);
    browser.click_link("Back to your tunes");
}

#[test]
#[ignore = "needs the built app, chromedriver and PostgreSQL: run scripts/test.sh"]
fn two_browsers_share_tunes_and_resolve_a_conflict() {
    let stack = TestStack::start(|_| {}).expect("backend starts");
    let server = StaticServer::start(&dist_dir());
    let phone = signed_in_browser(&server.url, &stack.stack().api_url, 2, "duo@example.org", true);
    let laptop = signed_in_browser(&server.url, &stack.stack().api_url, 2, "duo@example.org", false);

    // Made on one, it appears on the other.
    create_tune(&phone, "The Shared Reel");
    laptop.wait_for_text("The Shared Reel");
    laptop.wait_for_status("Synced");

    // Apart (the laptop is offline), both change the mode and the composer.
    laptop.set_offline(true);
    edit_fields(&laptop, "The Shared Reel", &[("Mode", "D mixolydian"), ("Composer", "Laptop's composer")]);
    edit_fields(&phone, "The Shared Reel", &[("Mode", "D major"), ("Composer", "Phone's composer")]);
    phone.wait_for_status("Synced");
    assert_eq!(stack.sql("select mode from public.tune").unwrap(), [Some("D major".to_string())]);

    // Back online, the laptop finds the conflict and keeps both until asked.
    laptop.set_offline(false);
    laptop.click_link("1 conflict");
    laptop.wait_for_text("Conflicts");
    laptop.wait_for_text("The Shared Reel");
    let mine = laptop.wait_for_field("This device: D mixolydian");
    let theirs = laptop.wait_for_field("Other device: D major");
    assert_eq!(
        laptop.property(&mine, "checked"),
        serde_json::Value::Bool(true),
        "this device's version is the default"
    );
    assert_eq!(laptop.property(&theirs, "checked"), serde_json::Value::Bool(false));
    // A mix: the other device's mode, this device's composer.
    laptop.click(&theirs);
    let my_composer = laptop.wait_for_field("This device: Laptop's composer");
    laptop.click(&my_composer);
    laptop.click_button("Use my choices");
    laptop.wait_for_text("No conflicts.");
    laptop.wait_for_status("Synced");

    // The choice reaches the server and the phone, field by field.
    let wanted = [Some("D major".to_string()), Some("Laptop's composer".to_string())];
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while stack.sql("select unnest(array[mode, composer]) from public.tune").unwrap() != wanted {
        assert!(std::time::Instant::now() < deadline, "the resolution never reached the server");
        std::thread::sleep(Duration::from_millis(100));
    }
    laptop.click_link("Tunebook");
    laptop.click_link("The Shared Reel");
    laptop.wait_for_text("Laptop's composer");
    assert!(laptop.body_text().contains("D major"), "{}", laptop.body_text());
    phone.click_link("The Shared Reel");
    phone.wait_for_text("Laptop's composer");
    assert!(phone.body_text().contains("D major"), "{}", phone.body_text());
}

#[test]
#[ignore = "needs the built app, chromedriver and PostgreSQL: run scripts/test.sh"]
fn coming_back_to_the_window_syncs() {
    let stack = TestStack::start(|_| {}).expect("backend starts");
    let server = StaticServer::start(&dist_dir());
    // An hour between ticks, and behind a proxy that cannot carry WebSockets (so no live
    // updates): only sign-in, edits and focus make this laptop sync.
    let proxy = FaultProxy::start(stack.stack().api_url.trim_start_matches("http://"));
    let laptop = signed_in_browser(&server.url, &proxy.url, 3600, "focus@example.org", true);
    let phone = signed_in_browser(&server.url, &stack.stack().api_url, 3600, "focus@example.org", false);
    laptop.wait_for_status("Synced");

    create_tune(&phone, "Seen when the laptop is looked at");
    let deadline = Instant::now() + Duration::from_secs(20);
    while server_titles(&stack).is_empty() {
        assert!(Instant::now() < deadline, "the phone's tune never reached the server");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(3));
    assert!(!laptop.body_text().contains("Seen when the laptop"), "nothing synced the laptop yet");
    laptop.execute("window.dispatchEvent(new Event('focus'))", vec![]);
    laptop.wait_for_text("Seen when the laptop is looked at");
    laptop.goto(&format!("{}/sync", server.url));
    laptop.wait_for_text("live updates unavailable");
}

#[test]
#[ignore = "needs the built app, chromedriver and PostgreSQL: run scripts/test.sh"]
fn an_edit_on_one_device_shows_on_the_other_at_once() {
    let stack = TestStack::start(|_| {}).expect("backend starts");
    let server = StaticServer::start(&dist_dir());
    // An hour between ticks: only live updates can bring the laptop's edits to the phone.
    let laptop = signed_in_browser(&server.url, &stack.stack().api_url, 3600, "live@example.org", true);
    let phone = signed_in_browser(&server.url, &stack.stack().api_url, 3600, "live@example.org", false);
    phone.goto(&format!("{}/sync", server.url));
    phone.wait_for_text("On: changes from your other devices show up as they are saved.");
    phone.click_link("Tunebook");
    for n in 1..=3 {
        let title = format!("Live tune {n}");
        create_tune(&laptop, &title);
        let saved = Instant::now();
        phone.wait_for_text(&title);
        assert!(saved.elapsed() < Duration::from_secs(5), "{title} took {:?}", saved.elapsed());
    }
    // The phone's own edits reach the laptop the same way.
    create_tune(&phone, "From the phone");
    laptop.wait_for_text("From the phone");
}

#[test]
#[ignore = "needs the built app, chromedriver and PostgreSQL: run scripts/test.sh"]
fn the_token_is_renewed_before_it_expires_whatever_the_interval() {
    // Tokens for 125 s, renewed 120 s before they expire: every 5 s or so, although the
    // interval is an hour and nothing is edited (the live channel needs a valid token).
    let stack = TestStack::start(|c| c.jwt_expiry = 125).expect("backend starts");
    let proxy = FaultProxy::start(stack.stack().api_url.trim_start_matches("http://"));
    let server = StaticServer::start(&dist_dir());
    let browser = signed_in_browser(&server.url, &proxy.url, 3600, "renewed@example.org", true);
    browser.wait_for_status("Synced");
    const REFRESH: &str = "POST /auth/v1/token?grant_type=refresh_token";
    let before = proxy.count(REFRESH);
    std::thread::sleep(Duration::from_secs(16));
    let renewed = proxy.count(REFRESH) - before;
    assert!((2..=5).contains(&renewed), "{renewed} refreshes in 16 s");
    assert_eq!(browser.sync_status(), "Synced");
}

#[test]
#[ignore = "needs the built app, chromedriver and PostgreSQL: run scripts/test.sh"]
fn a_second_tab_syncs_through_the_first_and_says_so() {
    let stack = TestStack::start(|_| {}).expect("backend starts");
    let server = StaticServer::start(&dist_dir());
    let browser = signed_in_browser(&server.url, &stack.stack().api_url, 3600, "two-tabs@example.org", true);
    browser.wait_for_status("Synced");
    browser.new_tab();
    browser.goto(&server.url);
    browser.wait_for_status("Synced");
    // Saved in the second tab, pushed by the first, and the second tab's status follows.
    create_tune(&browser, "From the second tab");
    browser.wait_for("the tune on the server", |_| {
        (server_titles(&stack) == ["From the second tab"]).then_some(())
    });
    browser.wait_for_status("Synced");

    // Its Sync page shows the first tab's sync: the last run and the live channel.
    browser.click_link("Synced");
    browser.wait_for_text("On: changes from your other devices show up as they are saved.");
    assert!(browser.body_text().contains("All changes sent"), "{}", browser.body_text());

    // And follows it as it changes: the backend goes down, the first tab's live channel
    // drops and its push of the second tab's next tune fails.
    let _stopped = stack.stop();
    browser.wait_for("the live channel to drop", |b| {
        (!b.body_text().contains("On: changes from your other devices")).then_some(())
    });
    browser.click_link("Tunebook");
    create_tune(&browser, "While the server is away");
    browser.wait_for("1 pending", |b| (b.sync_status() == "1 pending").then_some(()));
    browser.click_link("1 pending");
    browser.wait_for_text("Will retry:");
}

#[test]
#[ignore = "needs the built app, chromedriver and PostgreSQL: run scripts/test.sh"]
fn failed_syncs_back_off() {
    let stack = TestStack::start(|_| {}).expect("backend starts");
    let server = StaticServer::start(&dist_dir());
    let browser = signed_in_browser(&server.url, &stack.stack().api_url, 2, "patient@example.org", true);
    browser.wait_for_status("Synced");

    // The API's port now only counts requests and closes them: every sync fails, and so
    // does every attempt to reopen the live channel.
    let stopped = stack.stop();
    let listener =
        std::net::TcpListener::bind(("127.0.0.1", stopped.config().api_port)).expect("the API port is free");
    let syncs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sockets = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (sync_counter, socket_counter) = (syncs.clone(), sockets.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = [0u8; 512];
            let n = std::io::Read::read(&mut stream, &mut head).unwrap_or(0);
            let counter = if String::from_utf8_lossy(&head[..n]).contains("/realtime/v1/websocket") {
                &socket_counter
            } else {
                &sync_counter
            };
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    create_tune(&browser, "Waits patiently");
    std::thread::sleep(Duration::from_secs(20));
    let (tried, reconnects) =
        (syncs.load(std::sync::atomic::Ordering::SeqCst), sockets.load(std::sync::atomic::Ordering::SeqCst));
    // Ticks every 2 s would try about 10 times; the backoff (2 s doubling, with jitter)
    // allows about 4 in 20 s. The live channel retries at 1 s doubling: about 5.
    eprintln!("{tried} sync requests and {reconnects} live channel attempts in 20 s with the backend down");
    assert!((2..=6).contains(&tried), "{tried} sync requests in 20 s");
    assert!((2..=7).contains(&reconnects), "{reconnects} live channel attempts in 20 s");
    assert_eq!(browser.sync_status(), "1 pending");
}

/// How many rows the server holds with this title.
fn server_count(stack: &TestStack, title: &str) -> usize {
    stack.sql(&format!("select count(*) from public.tune where title = '{title}'")).expect("sql")[0]
        .as_deref()
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX)
}

#[test]
#[ignore = "needs the built app, chromedriver and PostgreSQL: run scripts/test.sh"]
fn the_browser_sync_survives_lost_replies_server_errors_and_an_expired_token() {
    let stack = TestStack::start(|_| {}).expect("backend starts");
    let proxy = FaultProxy::start(stack.stack().api_url.trim_start_matches("http://"));
    let server = StaticServer::start(&dist_dir());
    let browser = signed_in_browser(&server.url, &proxy.url, 2, "faults@example.org", true);
    browser.wait_for_status("Synced");
    const PUSH: &str = "POST /rest/v1/rpc/push_changes";

    // The server applies the push, the reply is lost: the retry is "already so", no
    // duplicate and no conflict.
    proxy.on_next(PUSH, Fault::DropReply);
    create_tune(&browser, "Lost reply");
    browser.wait_for("the lost reply", |_| (proxy.pending() == 0).then_some(()));
    browser.wait_for_status("Synced");
    assert_eq!(server_count(&stack, "Lost reply"), 1);
    assert!(!browser.body_text().contains("conflict"), "{}", browser.body_text());

    // Two 500s in a row: kept, retried, delivered once.
    proxy.on_next(PUSH, Fault::ServerError);
    proxy.on_next(PUSH, Fault::ServerError);
    create_tune(&browser, "After two errors");
    browser.wait_for("the errors", |_| (proxy.pending() == 0).then_some(()));
    browser.wait_for_status("Synced");
    assert_eq!(server_count(&stack, "After two errors"), 1);

    // The token expires mid-sync: the app refreshes it and pushes again.
    let refreshes = proxy.count("POST /auth/v1/token?grant_type=refresh_token");
    proxy.on_next(PUSH, Fault::ExpiredToken);
    create_tune(&browser, "After a refresh");
    browser.wait_for_status("Synced");
    assert_eq!(proxy.pending(), 0, "the push met the expired token");
    assert_eq!(server_count(&stack, "After a refresh"), 1);
    assert!(proxy.count("POST /auth/v1/token?grant_type=refresh_token") > refreshes, "a refresh happened");
    assert_eq!(browser.sync_status(), "Synced");
}
