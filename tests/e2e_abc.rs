//! End to end, ABC: a real tune book (Ryan's Mammoth Collection, 1,059 tunes) imported
//! through the file input, the list filtered by type and key, a tune's staff drawn as SVG
//! and played (the audio context runs), the ABC editor's live preview and warnings,
//! and the whole tunebook exported and read back. The built app in headless Chromium,
//! signed out (import and notation need no backend), driven by labels and button text.
//!
//! Ignored by a plain `cargo test`; `scripts/test.sh` runs it with `--ignored`.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use support::dist_dir;
use support::static_server::StaticServer;
use support::webdriver::Browser;
use tunebook_core::abc::parse_book;

fn book() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("crates/core/tests/fixtures/ryans-mammoth.abc")
}

#[test]
#[ignore = "needs the built app and chromedriver: run scripts/test.sh"]
fn a_tune_book_imports_filters_draws_plays_and_exports() {
    let server = StaticServer::start(&dist_dir());
    let app = server.url.clone();
    let browser = Browser::start();
    let downloads = std::env::temp_dir().join(format!("tunebook-abc-{}", std::process::id()));
    std::fs::create_dir_all(&downloads).expect("download dir");
    browser.cdp(
        "Browser.setDownloadBehavior",
        json!({"behavior": "allow", "downloadPath": downloads.to_string_lossy()}),
    );

    // Import through the file input.
    browser.goto(&format!("{app}/"));
    browser.wait_for_text("0 tunes");
    browser.click_link("Import");
    let input = browser.wait_for_field("ABC files");
    browser.type_text(&input, &book().to_string_lossy());
    browser.wait_for_text("1,059 tunes found; 0 already in your tunebook (not ticked); 0 could not be read.");
    browser.click_button("Import 1,059 tunes");
    browser.wait_for_text("Imported 1,059 tunes.");

    // Importing the same book again finds every tune already there.
    browser.click_link("See your tunes");
    browser.wait_for_text("1059 tunes");
    browser.click_link("Import");
    let input = browser.wait_for_field("ABC files");
    browser.type_text(&input, &book().to_string_lossy());
    browser.wait_for_text(
        "1,059 tunes found; 1,059 already in your tunebook (not ticked); 0 could not be read.",
    );
    browser.wait_for_button("Import 0 tunes");

    // The list narrowed by structured type and key.
    browser.goto(&format!("{app}/"));
    browser.wait_for_text("1059 tunes");
    browser.fill("Type", "reel");
    browser.wait_for_text("439 of 1059 tunes");
    browser.fill("Type", "All types");
    browser.fill("Key", "E dorian");
    browser.wait_for_text("10 of 1059 tunes");
    browser.fill("Key", "All keys");
    browser.wait_for_text("1059 tunes");

    // A tune's staff, drawn by abcjs, and playback through the app's own samples.
    browser.fill("Filter", "42d Highland");
    browser.click_link("42d Highland Regiment -- Strathspey");
    browser.wait_for("the staff's SVG", |b| b.css_all(".staff svg").into_iter().next());
    browser.click_button("Transpose up");
    browser.wait_for_text("Transposed +1 semitones");
    browser.click_button("Play");
    browser.wait_for("the audio context running", |b| {
        b.xpath("//div[contains(@class,'notation')][@data-audio-state='running']")
    });
    browser.click_button("Stop");
    browser.wait_for_button("Play");

    // The editor: the ABC box, its live preview and the parser's warnings.
    browser.click_link("Edit");
    let abc = browser.wait_for_field("ABC");
    browser.replace_text(&abc, "X:1\nT:Scratch\nabc|");
    browser.wait_for_text("Line 1: it has no K: (key) line, which ends a tune's header.");
    browser.replace_text(&abc, "X:1\nT:Scratch\nK:D\nDFA dAF|");
    browser.wait_for("the preview's staff", |b| b.css_all(".tune-editor .staff svg").into_iter().next());
    browser.click_button("Cancel");
    if browser.alert_text().is_some() {
        browser.accept_alert();
    }

    // Everything exported as one .abc file, read back: the same tunes, titles and keys.
    browser.goto(&format!("{app}/"));
    browser.wait_for_text("1059 tunes");
    browser.click_button("Export ABC");
    browser.wait_for_text("Exported 1059 tunes to tunebook.abc.");
    let file = downloads.join("tunebook.abc");
    let exported = (0..50)
        .find_map(|_| {
            std::thread::sleep(Duration::from_millis(100));
            std::fs::read_to_string(&file).ok().filter(|t| t.matches("\nX:").count() >= 1_058)
        })
        .expect("the export was downloaded");
    let original = parse_book(&std::fs::read_to_string(book()).expect("book"));
    let back = parse_book(&exported);
    assert!(back.unreadable.is_empty(), "{:?}", back.unreadable);
    let summary = |b: &tunebook_core::abc::AbcBook| {
        let mut v: Vec<_> =
            b.tunes.iter().map(|t| (t.titles[0].clone(), t.key.clone(), t.rhythm.clone())).collect();
        v.sort();
        v
    };
    assert_eq!(summary(&back), summary(&original));
    let _ = std::fs::remove_dir_all(&downloads);
}
