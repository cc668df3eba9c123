//! End-to-end: what a new user trips over. The list's state in the address, page titles,
//! Back while editing, keyboard shortcuts, dark mode, a phone-sized screen, axe-core on
//! every page, and exporting data and deleting the account.
//!
//! Ignored by a plain `cargo test`; `scripts/test.sh` runs it with `--ignored`.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::{Value, json};
use support::static_server::StaticServer;
use support::webdriver::Browser;
use support::{dist_dir, signed_in_browser};
use tunebook_backend::testing::TestStack;

const ESCAPE: &str = "\u{E00C}";

fn create_tune(browser: &Browser, title: &str, tune_type: &str) -> String {
    browser.click_link("New tune");
    browser.fill("Title", title);
    browser.fill("Type", tune_type);
    browser.click_button("Save");
    browser.wait_for(title, |b| b.xpath(&format!("//h1[normalize-space()=\"{title}\"]")));
    let url = browser.current_url();
    browser.click_link("Back to your tunes");
    browser.wait_for_field("Filter");
    url
}

/// The titles in the list, top to bottom.
fn listed_titles(browser: &Browser) -> Vec<String> {
    browser
        .execute("return [...document.querySelectorAll('.tune-table tbody td:first-child')].map(td => td.innerText)", vec![])
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn wait_for_titles(browser: &Browser, wanted: &[&str]) {
    browser.wait_for(&format!("titles {wanted:?}"), |b| (listed_titles(b) == wanted).then_some(()));
}

#[test]
#[ignore = "needs the built app and chromedriver: run scripts/test.sh"]
fn the_list_keeps_filter_sort_and_page_in_its_address() {
    let server = StaticServer::start(&dist_dir());
    let browser = Browser::start();
    browser.goto(&server.url);
    browser.wait_for_text("0 tunes");
    assert_eq!(browser.title(), "Tunes – Tunebook");
    for (title, kind) in [("Alpha", "reel"), ("Bravo", "jig"), ("Charlie", "hornpipe")] {
        create_tune(&browser, title, kind);
    }
    wait_for_titles(&browser, &["Alpha", "Bravo", "Charlie"]);

    let filter = browser.wait_for_field("Filter");
    browser.replace_text(&filter, "ar");
    wait_for_titles(&browser, &["Charlie"]);
    assert!(browser.current_url().ends_with("/?q=ar"), "{}", browser.current_url());
    browser.refresh();
    wait_for_titles(&browser, &["Charlie"]);
    let filter = browser.wait_for_field("Filter");
    assert_eq!(browser.property(&filter, "value"), "ar", "the filter survives a reload");

    browser.replace_text(&filter, "");
    wait_for_titles(&browser, &["Alpha", "Bravo", "Charlie"]);
    let sort_by_type = |b: &Browser| {
        let button =
            b.wait_for("Type header", |b| b.xpath("//th//button[starts-with(normalize-space(), 'Type')]"));
        b.click(&button);
    };
    sort_by_type(&browser);
    wait_for_titles(&browser, &["Charlie", "Bravo", "Alpha"]);
    assert!(browser.current_url().contains("sort=type"), "{}", browser.current_url());
    sort_by_type(&browser);
    wait_for_titles(&browser, &["Alpha", "Bravo", "Charlie"]);
    assert!(browser.current_url().contains("order=desc"), "{}", browser.current_url());
    browser.back();
    wait_for_titles(&browser, &["Charlie", "Bravo", "Alpha"]);
    browser.back();
    wait_for_titles(&browser, &["Alpha", "Bravo", "Charlie"]);

    // A link typed or shared opens the list as it says.
    browser.goto(&format!("{}/?sort=title&order=desc&q=a", server.url));
    wait_for_titles(&browser, &["Charlie", "Bravo", "Alpha"]);
    let filter = browser.wait_for_field("Filter");
    assert_eq!(browser.property(&filter, "value"), "a");
    let title_header = browser.xpath("//th[.//button[starts-with(normalize-space(), 'Title')]]").unwrap();
    assert_eq!(browser.attribute(&title_header, "aria-sort").as_deref(), Some("descending"));

    // Each page has its own title.
    browser.click_link("Alpha");
    browser.wait_for("tune title", |b| (b.title() == "Alpha – Tunebook").then_some(()));
    browser.click_link("Edit");
    browser.wait_for("editor title", |b| (b.title() == "Edit Alpha – Tunebook").then_some(()));
    for (path, title) in [
        ("/settings", "Settings"),
        ("/sync", "Sync"),
        ("/conflicts", "Conflicts"),
        ("/nowhere", "Page not found"),
    ] {
        browser.goto(&format!("{}{path}", server.url));
        browser.wait_for(title, |b| (b.title() == format!("{title} – Tunebook")).then_some(()));
    }
}

#[test]
#[ignore = "needs the built app and chromedriver: run scripts/test.sh"]
fn back_asks_before_discarding_edits() {
    let server = StaticServer::start(&dist_dir());
    let browser = Browser::start();
    browser.goto(&server.url);
    browser.wait_for_text("0 tunes");
    let tune_url = create_tune(&browser, "The Kesh", "jig");
    browser.goto(&tune_url);
    browser.click_link("Edit");
    let title = browser.wait_for_field("Title");
    browser.replace_text(&title, "The Kesh Jig");

    browser.back();
    let question = browser.wait_for("the question", Browser::alert_text);
    assert!(question.contains("unsaved changes"), "{question}");
    browser.dismiss_alert();
    assert!(browser.current_url().ends_with("/edit"), "still editing: {}", browser.current_url());
    let title = browser.wait_for_field("Title");
    assert_eq!(browser.property(&title, "value"), "The Kesh Jig", "the edit is kept");

    browser.back();
    browser.wait_for("the question again", Browser::alert_text);
    browser.accept_alert();
    browser.wait_for("left the editor", |b| (!b.current_url().ends_with("/edit")).then_some(()));
    browser.goto(&tune_url);
    browser.wait_for_text("The Kesh");
    assert!(!browser.body_text().contains("The Kesh Jig"), "nothing was saved");

    // With nothing changed, Back just goes back.
    browser.click_link("Edit");
    browser.wait_for_field("Title");
    browser.back();
    browser.wait_for("back without asking", |b| (!b.current_url().ends_with("/edit")).then_some(()));
    assert_eq!(browser.alert_text(), None);
}

#[test]
#[ignore = "needs the built app and chromedriver: run scripts/test.sh"]
fn keyboard_shortcuts() {
    let server = StaticServer::start(&dist_dir());
    let browser = Browser::start();
    browser.goto(&server.url);
    browser.wait_for_text("0 tunes");

    browser.press_key("n");
    browser.wait_for("new tune", |b| b.current_url().ends_with("/tunes/new").then_some(()));
    browser.wait_for_field("Title");
    browser.press_key(ESCAPE);
    browser.wait_for("cancelled", |b| b.current_url().ends_with('/').then_some(()));

    let tune_url = create_tune(&browser, "Cooley's", "reel");
    browser.press_key("/");
    browser.wait_for("filter focused", |b| {
        (b.execute("return document.activeElement && document.activeElement.id", vec![]) == json!("filter"))
            .then_some(())
    });
    // Typed into the filter, letters are text, not shortcuts.
    browser.press_key("n");
    assert!(!browser.current_url().contains("/tunes/new"));

    browser.goto(&tune_url);
    browser.wait_for_text("Cooley's");
    browser.press_key("e");
    browser.wait_for("editing", |b| b.current_url().ends_with("/edit").then_some(()));
    browser.wait_for_field("Title");

    browser.goto(&server.url);
    browser.wait_for_field("Filter");
    browser.press_key("?");
    browser
        .wait_for("dialog", |b| b.xpath("//*[@role='dialog']//h2[normalize-space()='Keyboard shortcuts']"));
    let text = browser.body_text();
    for key in ["New tune", "Filter the list", "Edit the tune shown", "Show these shortcuts"] {
        assert!(text.contains(key), "{key} listed");
    }
    browser.press_key(ESCAPE);
    browser.wait_for("dialog closed", |b| b.xpath("//*[@role='dialog']").is_none().then_some(()));
    browser.click_button("Keyboard shortcuts");
    browser.wait_for("dialog from the footer", |b| b.xpath("//*[@role='dialog']"));
    browser.click_button("Close");
}

fn background(browser: &Browser) -> String {
    browser
        .execute("return getComputedStyle(document.body).backgroundColor", vec![])
        .as_str()
        .unwrap_or_default()
        .into()
}

#[test]
#[ignore = "needs the built app and chromedriver: run scripts/test.sh"]
fn dark_mode_follows_the_system_unless_settings_say_otherwise() {
    const LIGHT: &str = "rgb(250, 248, 243)";
    const DARK: &str = "rgb(21, 27, 25)";
    let server = StaticServer::start(&dist_dir());
    let browser = Browser::start();
    browser.goto(&server.url);
    browser.wait_for_text("0 tunes");
    assert_eq!(background(&browser), LIGHT);
    browser.cdp(
        "Emulation.setEmulatedMedia",
        json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
    );
    browser.wait_for("dark", |b| (background(b) == DARK).then_some(()));

    browser.click_link("Settings");
    let theme = browser.wait_for_field("Theme");
    browser.select_option(&theme, "Light");
    browser.wait_for("light by choice", |b| (background(b) == LIGHT).then_some(()));
    browser.refresh();
    browser.wait_for_field("Theme");
    assert_eq!(background(&browser), LIGHT, "the choice survives a reload");
    let theme = browser.wait_for_field("Theme");
    browser.select_option(&theme, "Dark");
    browser.cdp(
        "Emulation.setEmulatedMedia",
        json!({"features": [{"name": "prefers-color-scheme", "value": "light"}]}),
    );
    browser.wait_for("dark by choice", |b| (background(b) == DARK).then_some(()));
}

/// Waits until the page has painted what it rendered (two animation frames).
fn after_next_paint(browser: &Browser) {
    browser.execute_async(
        "const done = arguments[arguments.length - 1];
         requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
        vec![],
    );
}

/// Problems a phone user would meet on the current page: horizontal scrolling, and
/// controls smaller than 44 × 44 CSS pixels.
fn phone_problems(browser: &Browser) -> Vec<String> {
    let found = browser.execute(
        "const problems = [];
         const root = document.documentElement;
         if (root.scrollWidth > window.innerWidth) problems.push(`scrolls sideways: ${root.scrollWidth} > ${window.innerWidth}`);
         const targets = document.querySelectorAll('button, input, select, textarea, .site-header a, .tune-table a, a.button');
         for (const el of targets) {
           const r = el.getBoundingClientRect();
           if (r.width === 0 && r.height === 0) continue;
           if (el.type === 'checkbox' || el.type === 'radio') continue;
           if (r.height < 44 || r.width < 44) problems.push(`${el.tagName} “${(el.innerText || el.id || el.name || '').trim()}” is ${r.width.toFixed(0)}×${r.height.toFixed(0)}`);
         }
         return problems;",
        vec![],
    );
    found
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

#[test]
#[ignore = "needs the built app and chromedriver: run scripts/test.sh"]
fn a_360_pixel_phone_needs_no_sideways_scrolling_and_targets_are_large() {
    let server = StaticServer::start(&dist_dir());
    let browser = Browser::start();
    browser.cdp(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 360, "height": 740, "deviceScaleFactor": 2, "mobile": true}),
    );
    browser.goto(&server.url);
    browser.wait_for_text("0 tunes");
    let long = "The Longest Named Reel In The Whole Of Connacht And Beyond Its Borders";
    let tune_url = create_tune(&browser, long, "reel");
    let mut problems = Vec::new();
    for path in [
        "/",
        "/tunes/new",
        &tune_url.replace(&server.url, ""),
        "/settings",
        "/sync",
        "/conflicts",
        "/signin",
        "/signup",
    ] {
        browser.goto(&format!("{}{path}", server.url));
        browser.wait_for(&format!("{path} rendered"), |b| b.xpath("//h1"));
        after_next_paint(&browser);
        problems.extend(phone_problems(&browser).into_iter().map(|p| format!("{path}: {p}")));
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Runs axe-core on the current page; returns its violations as readable lines.
fn axe_violations(browser: &Browser) -> Vec<String> {
    let axe =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/node_modules/axe-core/axe.min.js"))
            .expect("axe-core installed by scripts/setup.sh");
    browser.execute(&format!("if (!window.axe) {{ {axe} }}"), vec![]);
    let result = browser.execute_async(
        "const done = arguments[arguments.length - 1];
         axe.run(document, {resultTypes: ['violations']})
           .then(r => done(r.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' ') + ' ' + (n.failureSummary || ''))}))))
           .catch(e => done([{id: 'axe-error', help: String(e), nodes: []}]));",
        vec![],
    );
    result
        .as_array()
        .map(|list| {
            list.iter().map(|v: &Value| format!("{} ({}): {}", v["id"], v["help"], v["nodes"])).collect()
        })
        .unwrap_or_default()
}

#[test]
#[ignore = "needs the built app and chromedriver: run scripts/test.sh"]
fn every_page_passes_axe_core() {
    let server = StaticServer::start(&dist_dir());
    let browser = Browser::start();
    browser.goto(&server.url);
    browser.wait_for_text("0 tunes");
    let tune_url = create_tune(&browser, "The Silver Spear", "reel");
    let mut violations = Vec::new();
    let mut check = |what: &str, browser: &Browser| {
        after_next_paint(browser);
        violations.extend(axe_violations(browser).into_iter().map(|v| format!("{what}: {v}")));
    };
    for theme in ["light", "dark"] {
        browser.cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": theme}]}),
        );
        for path in [
            "/",
            &tune_url.replace(&server.url, ""),
            "/tunes/new",
            "/settings",
            "/sync",
            "/conflicts",
            "/signin",
            "/signup",
            "/nowhere",
        ] {
            browser.goto(&format!("{}{path}", server.url));
            browser.wait_for(&format!("{path} rendered"), |b| b.xpath("//h1"));
            check(&format!("{theme} {path}"), &browser);
        }
        // The editor showing its messages, and the shortcuts dialog.
        browser.goto(&format!("{}/tunes/new", server.url));
        browser.wait_for_field("Title");
        browser.click_button("Save");
        browser.wait_for_text("Title is required.");
        check(&format!("{theme} editor with messages"), &browser);
        browser.click_button("Keyboard shortcuts");
        browser.wait_for("dialog", |b| b.xpath("//*[@role='dialog']"));
        check(&format!("{theme} shortcuts dialog"), &browser);
    }
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
#[ignore = "needs the built app, chromedriver and PostgreSQL: run scripts/test.sh"]
fn export_my_data_then_delete_my_account() {
    let stack = TestStack::start(|_| {}).expect("backend starts");
    let server = StaticServer::start(&dist_dir());
    let address = "leaving@example.org";
    let browser = signed_in_browser(&server.url, &stack.stack().api_url, 2, address, true);
    browser.goto(&server.url);
    create_tune(&browser, "The Musical Priest", "reel");
    browser.wait_for_status("Synced");
    let count = |sql: &str| stack.sql(sql).unwrap()[0].clone().unwrap_or_default();
    assert_eq!(count("select count(*) from public.tune"), "1");

    let downloads =
        std::env::temp_dir().join(format!("tunebook-downloads-{}", tunebook_core::domain::Uuid::now_v7()));
    std::fs::create_dir_all(&downloads).unwrap();
    browser.cdp(
        "Browser.setDownloadBehavior",
        json!({"behavior": "allow", "downloadPath": downloads.to_str().unwrap()}),
    );
    browser.click_link("Settings");
    browser.click_button("Export my data");
    browser.wait_for_text("Saved tunebook-export-");
    let file = browser.wait_for("the downloaded file", |_| {
        std::fs::read_dir(&downloads)
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "json"))
    });
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(exported["format"], "tunebook-export");
    assert_eq!(exported["tunes"][0]["title"], "The Musical Priest");
    let _ = std::fs::remove_dir_all(&downloads);

    browser.click_button("Delete my account");
    browser.fill("Type your e-mail address to confirm", "someone@example.org");
    browser.click_button("Delete my account permanently");
    browser.wait_for_text("Type this account's e-mail address exactly to confirm.");
    assert_eq!(count("select count(*) from auth.users"), "1", "nothing deleted");
    browser.fill("Type your e-mail address to confirm", address);
    browser.click_button("Delete my account permanently");
    browser.wait_for_text("0 tunes");
    browser.wait_for_status("Local only");
    assert_eq!(count("select count(*) from auth.users"), "0");
    assert_eq!(count("select count(*) from public.tune"), "0");
}

/// The app built for a sub-path (`trunk build --public-url /tunebook/`, which
/// `scripts/test.sh` puts in `target/dist-subpath`).
fn subpath_dist() -> std::path::PathBuf {
    let dir = std::env::var_os("TUNEBOOK_DIST_SUBPATH")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/dist-subpath"));
    assert!(dir.join("index.html").is_file(), "{} has no app built for /tunebook/", dir.display());
    dir
}

#[test]
#[ignore = "needs the app built for a sub-path and chromedriver: run scripts/test.sh"]
fn served_under_a_sub_path() {
    let server = StaticServer::start_under(&subpath_dist(), "/tunebook");
    let browser = Browser::start();
    browser.goto(&format!("{}/", server.url));
    browser.wait_for_text("0 tunes");
    let tune_url = create_tune(&browser, "The Sally Gardens", "reel");
    assert!(tune_url.starts_with(&format!("{}/tunes/", server.url)), "{tune_url}");
    browser.goto(&tune_url);
    browser.wait_for_text("The Sally Gardens");
    browser.click_link("Back to your tunes");
    let filter = browser.wait_for_field("Filter");
    browser.replace_text(&filter, "sally");
    browser.wait_for("filtered address", |b| b.current_url().ends_with("/tunebook/?q=sally").then_some(()));
    browser.refresh();
    wait_for_titles(&browser, &["The Sally Gardens"]);
    browser.press_key("n");
    browser.wait_for("new tune", |b| b.current_url().ends_with("/tunebook/tunes/new").then_some(()));

    let scope = browser.execute_async(
        "const done = arguments[arguments.length - 1];
         navigator.serviceWorker.ready.then(r => done(r.scope)).catch(e => done(String(e)));",
        vec![],
    );
    assert_eq!(scope, json!(format!("{}/", server.url)), "the service worker covers the sub-path");
    let manifest = browser.cdp("Page.getAppManifest", json!({}));
    assert_eq!(manifest["errors"], json!([]), "{manifest}");
    let source: Value = serde_json::from_str(manifest["data"].as_str().unwrap_or("{}")).unwrap();
    assert_eq!(source["start_url"], "./", "relative to the manifest, so under the sub-path");
}

#[test]
#[ignore = "needs the built app and chromedriver: run scripts/test.sh"]
fn with_site_data_blocked_the_app_works_in_memory_and_says_so() {
    // A profile whose settings block all site data (as a musician can in the browser's
    // settings): no OPFS, no localStorage.
    let profile =
        std::env::temp_dir().join(format!("tunebook-blocked-{}", tunebook_core::domain::Uuid::now_v7()));
    std::fs::create_dir_all(profile.join("Default")).unwrap();
    std::fs::write(
        profile.join("Default/Preferences"),
        r#"{"profile": {"default_content_setting_values": {"cookies": 2}}}"#,
    )
    .unwrap();
    let server = StaticServer::start(&dist_dir());
    let browser = Browser::start_with_profile(&profile);
    browser.goto(&server.url);
    browser.wait_for_text("Your tunes are not being saved.");
    // Still usable for this visit.
    create_tune(&browser, "Only in memory", "reel");
    wait_for_titles(&browser, &["Only in memory"]);
    drop(browser);
    let _ = std::fs::remove_dir_all(&profile);
}
