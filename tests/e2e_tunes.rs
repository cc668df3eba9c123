//! End-to-end: the Trunk-built app in headless Chromium, driven through WebDriver by
//! labels and visible text, as a musician would use it.
//!
//! Ignored by a plain `cargo test` (they need `trunk build` and chromedriver);
//! `scripts/test.sh` builds the app and runs them with `--ignored`.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use support::static_server::StaticServer;
use support::webdriver::Browser;
use support::{create_tune, dist_dir};

/// Fills the editor's fields (label, value).
fn fill(browser: &Browser, fields: &[(&str, &str)]) {
    for (label, value) in fields {
        browser.fill(label, value);
    }
}

/// The text shown next to a field (its `aria-describedby` message), if any.
fn field_message(browser: &Browser, label: &str) -> Option<String> {
    let field = browser.field(label)?;
    let id = browser.attribute(&field, "aria-describedby")?;
    let message = browser.execute("return document.getElementById(arguments[0])?.innerText", vec![id.into()]);
    message.as_str().map(str::to_string)
}

#[test]
#[ignore = "needs the built app and chromedriver: run scripts/test.sh"]
fn create_edit_reload_delete_a_tune() {
    let server = StaticServer::start(&dist_dir());
    let browser = Browser::start();
    browser.goto(&server.url);
    browser.wait_for_text("0 tunes");

    // Invalid input: messages next to the fields, nothing saved.
    browser.click_link("New tune");
    fill(&browser, &[("Release year", "98"), ("Mode", "D major")]);
    browser.click_button("Save");
    let title_message = browser.wait_for("title message", |b| field_message(b, "Title"));
    assert_eq!(title_message, "Title is required.");
    assert_eq!(
        field_message(&browser, "Release year").as_deref(),
        Some("Release year must be 4 digits, like 1998.")
    );
    assert!(browser.current_url().ends_with("/tunes/new"));

    // Fixing the input clears the messages and saves once.
    fill(
        &browser,
        &[
            ("Title", "The Silver Spear"),
            ("Type", "reel"),
            ("Release year", "1998"),
            ("Incipit", "X:1\nK:D\n|:FA~A2 BAFA|"),
        ],
    );
    assert_eq!(field_message(&browser, "Title"), None, "message clears once fixed");
    browser.click_button("Save");
    browser.wait_for("detail page", |b| b.xpath("//h1[normalize-space()='The Silver Spear']"));
    let incipit = browser.wait_for("incipit block", |b| b.css_all("pre.incipit").into_iter().next());
    assert_eq!(browser.text(&incipit), "X:1\nK:D\n|:FA~A2 BAFA|");
    let detail_url = browser.current_url();

    // Edit.
    browser.click_link("Edit");
    let mode = browser.wait_for_field("Mode");
    assert_eq!(browser.property(&mode, "value"), "D major");
    fill(&browser, &[("Mode", "D mixolydian")]);
    browser.click_button("Save");
    browser.wait_for_text("D mixolydian");

    // A reload (the tab reopens the database from OPFS) keeps it.
    browser.refresh();
    browser.wait_for_text("D mixolydian");
    browser.click_link("Back to your tunes");
    browser.wait_for_text("1 tune");
    assert!(browser.body_text().contains("The Silver Spear"));

    // Filter by part of the title, then by something absent.
    let filter = browser.wait_for_field("Filter");
    browser.replace_text(&filter, "silver");
    browser.wait_for_text("1 tune");
    browser.replace_text(&filter, "zzz");
    browser.wait_for_text("0 of 1 tune");
    browser.replace_text(&filter, "");
    browser.wait_for_text("1 tune");

    // Delete asks first; cancelling keeps the tune.
    browser.click_link("The Silver Spear");
    browser.click_button("Delete");
    browser.wait_for_text("Delete “The Silver Spear”?");
    browser.click_button("Cancel");
    browser.wait_for("dialog closed", |b| b.button("Yes, delete").is_none().then_some(()));
    browser.click_button("Delete");
    browser.click_button("Yes, delete");
    browser.wait_for_text("0 tunes");
    assert!(!browser.body_text().contains("The Silver Spear"));

    // The old address now says so, with a way back.
    browser.goto(&detail_url);
    browser.wait_for_text("Tune not found");
    browser.wait_for_link("Back to your tunes");
}

#[test]
#[ignore = "needs the built app and chromedriver: run scripts/test.sh"]
fn leaving_the_editor_with_unsaved_changes_asks_first() {
    let server = StaticServer::start(&dist_dir());
    let browser = Browser::start();
    browser.goto(&format!("{}/tunes/new", server.url));
    fill(&browser, &[("Title", "Half-typed")]);

    browser.click_button("Cancel");
    let question = browser.wait_for("confirm dialog", Browser::alert_text);
    assert!(question.contains("unsaved changes"), "{question}");
    browser.dismiss_alert();
    assert!(browser.current_url().ends_with("/tunes/new"), "staying keeps the editor");
    assert_eq!(browser.property(&browser.wait_for_field("Title"), "value"), "Half-typed");

    // The header link is guarded too.
    browser.click_link("Tunebook");
    browser.wait_for("confirm dialog", Browser::alert_text);
    browser.accept_alert();
    browser.wait_for_text("0 tunes");

    // An untouched editor leaves without asking.
    browser.click_link("New tune");
    browser.click_button("Cancel");
    browser.wait_for_text("0 tunes");
    assert_eq!(browser.alert_text(), None);
}

#[test]
#[ignore = "needs the built app and chromedriver: run scripts/test.sh"]
fn sorting_by_a_header_and_reversing() {
    let server = StaticServer::start(&dist_dir());
    let browser = Browser::start();
    browser.goto(&server.url);
    for (title, tune_type) in
        [("Banish Misfortune", "jig"), ("Ashokan Farewell", "waltz"), ("Cooley's", "reel")]
    {
        browser.click_link("New tune");
        fill(&browser, &[("Title", title), ("Type", tune_type)]);
        browser.click_button("Save");
        browser.wait_for(title, |b| b.xpath(&format!("//h1[normalize-space()=\"{title}\"]")));
        browser.click_link("Back to your tunes");
    }
    browser.wait_for_text("3 tunes");
    let titles = |b: &Browser| -> Vec<String> {
        b.css_all("tbody tr td:first-child").iter().map(|e| b.text(e)).collect()
    };
    assert_eq!(titles(&browser), ["Ashokan Farewell", "Banish Misfortune", "Cooley's"]);

    browser.click_button("Type");
    browser.wait_for("sorted by type", |b| {
        (titles(b) == ["Banish Misfortune", "Cooley's", "Ashokan Farewell"]).then_some(())
    });
    let header = browser.xpath("//th[.//button[normalize-space()='Type ▲']]").expect("type header");
    assert_eq!(browser.attribute(&header, "aria-sort").as_deref(), Some("ascending"));

    browser.click(&browser.wait_for("Type ▲ button", |b| b.button("Type ▲")));
    browser.wait_for("reversed", |b| {
        (titles(b) == ["Ashokan Farewell", "Cooley's", "Banish Misfortune"]).then_some(())
    });
}

/// One browser with two tabs on the app's empty list: the first (leading) and the second.
fn two_tabs(server: &StaticServer) -> (Browser, String, String) {
    let browser = Browser::start();
    browser.goto(&server.url);
    browser.wait_for_text("0 tunes");
    let first = browser.tab();
    let second = browser.new_tab();
    browser.goto(&server.url);
    browser.wait_for_text("0 tunes");
    (browser, first, second)
}

#[test]
#[ignore = "needs the built app and chromedriver: run scripts/test.sh"]
fn every_tab_works_and_the_next_one_leads_when_the_leader_closes() {
    let server = StaticServer::start(&dist_dir());
    // A second tab works at once, through the first one's database.
    let (browser, leader, follower) = two_tabs(&server);
    create_tune(&browser, "Made in the second tab");
    browser.switch_to(&leader);
    browser.wait_for_text("Made in the second tab");
    create_tune(&browser, "Made in the first tab");
    browser.switch_to(&follower);
    browser.wait_for_text("Made in the first tab");

    // A third tab, in line after the second.
    let third = browser.new_tab();
    browser.goto(&server.url);
    browser.wait_for_text("2 tunes");
    browser.click_link("New tune");
    fill(&browser, &[("Title", "Saved as the leader changed")]);

    // The leader's tab closes: the second tab leads by itself; the third tab's save, sent
    // while there was no leader or to the new one, is answered; both keep working.
    browser.switch_to(&leader);
    browser.close_tab();
    browser.switch_to(&third);
    browser.click_button("Save");
    browser.wait_for("the third tab's tune", |b| {
        b.xpath("//h1[normalize-space()='Saved as the leader changed']")
    });
    browser.switch_to(&follower);
    create_tune(&browser, "After the first tab closed");
    browser.wait_for_text("4 tunes");
    browser.goto(&server.url);
    browser.wait_for_text("4 tunes");
    for title in [
        "Made in the second tab",
        "Made in the first tab",
        "Saved as the leader changed",
        "After the first tab closed",
    ] {
        assert!(browser.body_text().contains(title), "{title} kept");
    }

    // A tab opened later works at once.
    browser.new_tab();
    browser.goto(&server.url);
    browser.wait_for_text("4 tunes");
    create_tune(&browser, "From a later tab");
    browser.switch_to(&follower);
    browser.wait_for_text("From a later tab");
}

#[test]
#[ignore = "needs the built app and chromedriver: run scripts/test.sh"]
fn when_the_leaders_tab_crashes_the_next_one_leads() {
    let server = StaticServer::start(&dist_dir());
    let (browser, leader, follower) = two_tabs(&server);
    create_tune(&browser, "Before the crash");

    let leads =
        |b: &Browser| b.execute("return document.documentElement.dataset.tabRole === 'leader'", vec![]);
    assert_eq!(leads(&browser), serde_json::json!(false), "the second tab follows");

    // The leader's renderer process dies: the browser frees its lock with it.
    browser.switch_to(&leader);
    let crashed = browser.try_cmd("POST", "/url", Some(serde_json::json!({"url": "chrome://crash"})));
    assert!(crashed.is_err(), "the tab crashed: {crashed:?}");
    assert!(browser.try_cmd("GET", "/title", None).is_err(), "the crashed tab answers nothing");
    browser.switch_to(&follower);
    browser.wait_for("the second tab to lead", |b| leads(b).as_bool().filter(|l| *l));
    create_tune(&browser, "After the crash");
    browser.wait_for_text("2 tunes");
    browser.goto(&server.url);
    browser.wait_for_text("2 tunes");
}

#[test]
#[ignore = "needs the built app and chromedriver: run scripts/test.sh"]
fn tunes_survive_a_browser_restart() {
    let server = StaticServer::start(&dist_dir());
    let profile =
        std::env::temp_dir().join(format!("tunebook-e2e-restart-{}", tunebook_core::domain::Uuid::now_v7()));
    {
        let browser = Browser::start_with_profile(&profile);
        browser.goto(&format!("{}/tunes/new", server.url));
        fill(&browser, &[("Title", "The Kesh"), ("Type", "jig")]);
        browser.click_button("Save");
        browser.wait_for("detail page", |b| b.xpath("//h1[normalize-space()='The Kesh']"));
    }
    let browser = Browser::start_with_profile(&profile);
    browser.goto(&server.url);
    browser.wait_for_text("1 tune");
    assert!(browser.body_text().contains("The Kesh"));
    drop(browser);
    let _ = std::fs::remove_dir_all(&profile);
}

#[test]
#[ignore = "needs the built app and chromedriver: run scripts/test.sh"]
fn a_crashed_worker_fails_what_was_waiting_clearly_and_the_app_recovers() {
    let server = StaticServer::start(&dist_dir());
    let browser = Browser::start();
    browser.goto(&server.url);
    browser.wait_for_text("0 tunes");
    browser.click_link("New tune");
    fill(&browser, &[("Title", "Before the crash")]);
    browser.click_button("Save");
    browser.wait_for("saved", |b| b.xpath("//h1[normalize-space()='Before the crash']"));

    browser.click_link("Back to your tunes");
    browser.click_link("New tune");
    fill(&browser, &[("Title", "After the crash")]);
    // The next message the worker gets (this Save) makes it throw before its own handler
    // runs, as a panic in the handler would.
    browser.run_in_worker(
        "const handler = self.onmessage; self.onmessage = () => { self.onmessage = handler; throw new Error('injected crash'); }; 1",
    );
    browser.click_button("Save");
    browser.wait_for_text("injected crash");
    assert!(browser.body_text().contains("Your changes are still here"), "{}", browser.body_text());
    let title = browser.wait_for_field("Title");
    assert_eq!(browser.property(&title, "value"), "After the crash", "the edit is kept");
    // A new worker has reopened the database: trying again works.
    browser.click_button("Save");
    browser.wait_for("saved after the crash", |b| b.xpath("//h1[normalize-space()='After the crash']"));
    browser.click_link("Back to your tunes");
    browser.wait_for_text("2 tunes");
    assert!(browser.body_text().contains("Before the crash"), "the reopened database has the earlier tune");
}

/// Leaving pages quickly, while each page's database worker is still starting or busy,
/// never crashes the tab and loses nothing. Chromium 156 used to segfault tearing such a
/// worker down after its page was gone (most runs crashed by the 20th navigation); the
/// app now stops its worker on `pagehide`.
#[test]
#[ignore = "needs the built app and chromedriver: run scripts/test.sh"]
fn leaving_pages_quickly_never_crashes_the_tab() {
    let server = StaticServer::start(&dist_dir());
    let browser = Browser::start();
    browser.goto(&format!("{}/tunes/new", server.url));
    browser.fill("Title", "The Maid Behind the Bar");
    browser.click_button("Save");
    browser.wait_for_link("Edit");
    let pages = ["/tunes/new", "/", "/practice", "/repertoires"];
    for i in 0..40u64 {
        browser.goto(&format!("{}{}", server.url, pages[i as usize % pages.len()]));
        // Varied stays (50 ms to 1.5 s) land the next navigation in every phase of the
        // worker's start: loading, opening the database, waiting for the last page's files.
        std::thread::sleep(std::time::Duration::from_millis(50 + (i * 7919) % 1500));
    }
    browser.goto(&server.url);
    browser.wait_for_link("The Maid Behind the Bar");
}
