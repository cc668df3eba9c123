//! End to end, every table a musician keeps: repertoires, tags, notes and references made
//! in one browser reach a second browser on the same account, and deleting a tune there
//! removes its note, reference, tag and repertoire place here. The built app in headless
//! Chromium against the real local backend, driven by labels and button text.
//!
//! Ignored by a plain `cargo test`; `scripts/test.sh` runs it with `--ignored`.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use support::static_server::StaticServer;
use support::webdriver::Browser;
use support::{dist_dir, signed_in_browser};
use tunebook_backend::testing::TestStack;

fn create_tune(browser: &Browser, app: &str, title: &str) {
    browser.goto(&format!("{app}/tunes/new"));
    browser.fill("Title", title);
    browser.click_button("Save");
    browser.wait_for(title, |b| b.xpath(&format!("//h1[normalize-space()=\"{title}\"]")));
}

fn count(stack: &TestStack, sql: &str) -> i64 {
    stack.sql(sql).expect("sql")[0].as_deref().unwrap_or("-1").parse().unwrap_or(-1)
}

#[test]
#[ignore = "needs the built app, chromedriver and PostgreSQL: run scripts/test.sh"]
fn repertoires_tags_notes_and_references_sync_and_go_with_their_tune() {
    let stack = TestStack::start(|_| {}).expect("backend starts");
    let server = StaticServer::start(&dist_dir());
    let app = server.url.clone();
    let api = stack.stack().api_url.clone();
    let here = signed_in_browser(&app, &api, 2, "library@example.org", true);
    for title in ["The Kesh", "Out on the Ocean", "The Silver Spear"] {
        create_tune(&here, &app, title);
    }

    // A repertoire with the three tunes, picked at once.
    here.click_link("Repertoires");
    here.wait_for_text("No repertoires yet");
    here.fill("Name", "");
    here.click_button("Create repertoire");
    here.wait_for_text("Name is required.");
    here.fill("Name", "Fiddle — session tunes");
    here.fill("Instrument", "Fiddle");
    here.click_button("Create repertoire");
    here.click_link("Fiddle — session tunes");
    here.click_button("Add tunes");
    for title in ["The Kesh", "Out on the Ocean", "The Silver Spear"] {
        here.click_field(title);
    }
    here.wait_for_text("3 selected");
    here.click_button("Add selected tunes");
    here.wait_for_text("3 tunes");
    here.wait_for_link("The Silver Spear");

    // A tag, a note and a reference on The Kesh; bad input is refused next to its field.
    here.click_link("The Kesh");
    here.fill("Add tag", "Session");
    here.click_button("Add tag");
    here.wait_for_link("Session");
    here.fill("URL", "javascript:alert(1)");
    here.click_button("Add reference");
    here.wait_for_text("Enter a link starting with http:// or https://.");
    here.fill("URL", "https://thesession.org/tunes/55");
    here.fill("Kind", "Sheet music");
    here.fill("Title", "The Kesh on The Session");
    here.click_button("Add reference");
    let link = here.wait_for_link("The Kesh on The Session");
    assert_eq!(here.attribute(&link, "target").as_deref(), Some("_blank"));
    assert!(here.attribute(&link, "rel").is_some_and(|r| r.contains("noopener")));
    here.fill("Add note", "Slower in the B part");
    here.click_button("Add note");
    here.wait_for_text("Slower in the B part");
    here.wait_for_status("Synced");
    assert_eq!(count(&stack, "select count(*) from public.repertoire_tune where not deleted"), 3);
    assert_eq!(count(&stack, "select count(*) from public.note where not deleted"), 1);

    // The main list narrowed by the tag.
    here.goto(&format!("{app}/?tag=session"));
    here.wait_for_text("1 of 3 tunes");

    // A second browser on the same account sees all of it.
    let there = signed_in_browser(&app, &api, 2, "library@example.org", false);
    there.click_link("Repertoires");
    there.click_link("Fiddle — session tunes");
    there.wait_for_text("3 tunes");
    there.click_link("The Kesh");
    there.wait_for_text("Slower in the B part");
    there.wait_for_link("The Kesh on The Session");
    there.wait_for_link("Session");

    // Deleting the tune there takes its note, reference, tag and repertoire place along.
    there.click_button("Delete");
    there.click_button("Yes, delete");
    there.wait_for_text("2 tunes");
    there.wait_for_status("Synced");
    for table in ["note", "reference", "tag", "repertoire_tune"] {
        let live = count(
            &stack,
            &format!(
                "select count(*) from public.{table} t join public.tune u on u.id = t.tune_id where u.title = 'The Kesh' and not t.deleted"
            ),
        );
        assert_eq!(live, 0, "{table} of the deleted tune");
    }
    here.goto(&format!("{app}/repertoires"));
    here.wait_for_text("2 tunes");
    here.goto(&format!("{app}/?tag=session"));
    here.wait_for_text("No tunes match this tag.");
}
