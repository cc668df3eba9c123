//! End-to-end: Tunebook as an installable, offline app. The built app in headless
//! Chromium: it meets the installability criteria, starts from its service worker with
//! the network off, shows its sync status honestly, and offers (never forces) updates.
//!
//! Ignored by a plain `cargo test`; `scripts/test.sh` runs it with `--ignored`.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::static_server::StaticServer;
use support::webdriver::Browser;
use support::{dist_dir, signed_in_browser};
use tunebook_backend::testing::TestStack;

/// Waits until the service worker controls the page.
fn wait_for_service_worker(browser: &Browser) {
    browser.wait_for("the service worker to control the page", |b| {
        b.execute("return !!(navigator.serviceWorker && navigator.serviceWorker.controller)", vec![])
            .as_bool()
            .filter(|c| *c)
    });
}

/// The service worker's caches.
fn cache_names(browser: &Browser) -> Vec<String> {
    let names = browser.execute_async("caches.keys().then(arguments[arguments.length - 1])", vec![]);
    serde_json::from_value(names).unwrap_or_default()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
#[ignore = "needs the built app and chromedriver: run scripts/test.sh"]
fn meets_the_installability_criteria() {
    let server = StaticServer::start(&dist_dir());
    let browser = Browser::start();
    browser.goto(&server.url);
    browser.wait_for_text("0 tunes");
    wait_for_service_worker(&browser);
    let manifest = browser.cdp("Page.getAppManifest", json!({}));
    assert_eq!(manifest["errors"], json!([]), "{manifest}");
    let parsed = &manifest["manifest"];
    assert_eq!(parsed["name"], "Tunebook", "{manifest}");
    assert_eq!(parsed["display"], "kStandalone");
    let sizes: Vec<&str> =
        parsed["icons"].as_array().into_iter().flatten().filter_map(|i| i["sizes"].as_str()).collect();
    assert!(sizes.contains(&"192x192") && sizes.contains(&"512x512"), "{sizes:?}");
    let source: Value = serde_json::from_str(manifest["data"].as_str().unwrap_or("{}")).unwrap();
    assert!(
        source["icons"].as_array().into_iter().flatten().any(|i| i["purpose"] == "maskable"),
        "a maskable icon"
    );
    let errors = browser.cdp("Page.getInstallabilityErrors", json!({}));
    assert_eq!(errors["installabilityErrors"], json!([]), "{errors}");
}

#[test]
#[ignore = "needs the built app, chromedriver and PostgreSQL: run scripts/test.sh"]
fn starts_offline_from_the_service_worker_and_syncs_when_back_online() {
    let stack = TestStack::start(|_| {}).expect("backend starts");
    let server = StaticServer::start(&dist_dir());
    let browser = signed_in_browser(&server.url, &stack.stack().api_url, 2, "offline@example.org", true);
    browser.click_link("New tune");
    browser.fill("Title", "Learnt at home");
    browser.click_button("Save");
    browser.wait_for("detail", |b| b.xpath("//h1[normalize-space()='Learnt at home']"));
    browser.wait_for_status("Synced");
    wait_for_service_worker(&browser);

    // In the pub: no network at all. The app still starts and lists the tunes.
    browser.set_offline(true);
    browser.goto(&server.url);
    browser.wait_for_text("Learnt at home");
    browser.wait_for_text("1 tune");
    browser.click_link("New tune");
    browser.fill("Title", "Learnt at the session");
    browser.click_button("Save");
    browser.wait_for("detail", |b| b.xpath("//h1[normalize-space()='Learnt at the session']"));
    browser.wait_for_status("Offline – 1 pending");

    // Home again: the change goes up by itself.
    browser.set_offline(false);
    browser.wait_for_status("Synced");
    let titles = stack.sql("select title from public.tune order by title").unwrap();
    assert_eq!(titles, [Some("Learnt at home".to_string()), Some("Learnt at the session".to_string())]);
}

#[test]
#[ignore = "needs the built app and chromedriver: run scripts/test.sh"]
fn a_new_version_is_offered_and_applied_only_on_request() {
    // A deploy of our own: a copy of the build that the test changes like a new release.
    let site =
        std::env::temp_dir().join(format!("tunebook-deploy-{}", tunebook_core::domain::Uuid::now_v7()));
    copy_dir(&dist_dir(), &site);
    let server = StaticServer::start(&site);
    let browser = Browser::start();
    browser.goto(&server.url);
    browser.wait_for_text("0 tunes");
    wait_for_service_worker(&browser);
    let first_caches = cache_names(&browser);
    assert_eq!(first_caches.len(), 1, "{first_caches:?}");
    browser.execute("window.__sameDocument = true", vec![]);

    // The new release: a changed stylesheet, and the service worker regenerated for it.
    let css = std::fs::read_dir(&site)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "css"))
        .expect("stylesheet");
    let mut text = std::fs::read_to_string(&css).unwrap();
    text.push_str("\n/* release 2 */\n");
    std::fs::write(&css, text).unwrap();
    let status = std::process::Command::new("sh")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/service-worker.sh"))
        .arg(&site)
        .status()
        .unwrap();
    assert!(status.success());

    // The page notices (as it does on its own every half hour and when shown again).
    browser.execute("navigator.serviceWorker.getRegistration().then(r => r.update())", vec![]);
    browser.wait_for_text("A new version of Tunebook is available.");
    assert_eq!(
        browser.execute("return window.__sameDocument === true", vec![]),
        Value::Bool(true),
        "no reload by itself"
    );

    browser.click_button("Reload");
    let deadline = Instant::now() + Duration::from_secs(20);
    while browser.execute("return window.__sameDocument === true", vec![]) == Value::Bool(true) {
        assert!(Instant::now() < deadline, "Reload did not reload");
        std::thread::sleep(Duration::from_millis(50));
    }
    browser.wait_for_text("0 tunes");
    assert!(!browser.body_text().contains("A new version"), "the new version is running");
    let caches = browser.wait_for("old cache deleted", |b| {
        let names = cache_names(b);
        (names.len() == 1 && names != first_caches).then_some(names)
    });
    assert_ne!(caches, first_caches);
    drop(browser);
    let _ = std::fs::remove_dir_all(site);
}
