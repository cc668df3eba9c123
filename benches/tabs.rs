//! The several-tabs benchmark: prints a table and writes `target/bench/tabs.json`.
//!
//! Run it with `scripts/bench.sh`. The release build in one headless Chromium, two
//! windows side by side on one database (signed out: no network involved):
//! - cross-tab: a tune saved in one window until the other window's list shows it, p50
//!   and p95 of 20, alternating which window writes (the leader's own writes, and a
//!   follower's, relayed to the leader);
//! - handover: the leader's window closes; until the next window leads (its worker has
//!   the database open and it said so), and until a tune saved in it right after the
//!   close is stored, median of 5 handovers.
//!
//! Times are taken in the pages (`Date.now()`, one clock for every window) and, for the
//! close, by this process just before it asks WebDriver to close the window.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;
use support::bench::percentile;
use support::static_server::StaticServer;
use support::webdriver::Browser;

/// Records in `window.__seen` when the page first shows `arguments[0]`.
const WATCH_TEXT: &str = "const wanted = arguments[0]; window.__seen = null;
    const check = () => { if (window.__seen === null && document.body.innerText.includes(wanted)) window.__seen = Date.now(); };
    new MutationObserver(check).observe(document.body, {subtree: true, childList: true, characterData: true});
    check();";
/// Records in `window.__led` when the page says this tab leads.
const WATCH_LEAD: &str = "window.__led = null;
    const check = () => { if (window.__led === null && document.documentElement.dataset.tabRole === 'leader') window.__led = Date.now(); };
    new MutationObserver(check).observe(document.documentElement, {attributes: true});
    check();";
/// Clicks the button `arguments[0]` and returns when, in the page's clock.
const CLICK: &str = "const button = [...document.querySelectorAll('button')].find(b => b.textContent.trim() === arguments[0]);
    const at = Date.now(); button.click(); return at;";

fn now_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(f64::NAN)
}

/// Opens another window on the app and waits until its list shows.
fn open_window(browser: &Browser, url: &str, listed: &str) -> String {
    let handle = browser.try_cmd("POST", "/window/new", Some(json!({"type": "window"}))).expect("new window");
    let handle = handle["handle"].as_str().unwrap_or_default().to_string();
    browser.switch_to(&handle);
    browser.goto(url);
    browser.wait_for_text(listed);
    handle
}

/// Fills the new-tune form in the current window, ready to save.
fn fill_new_tune(browser: &Browser, title: &str) {
    browser.click_link("New tune");
    browser.fill("Title", title);
}

fn saved(browser: &Browser, title: &str) {
    browser.wait_for(title, |b| b.xpath(&format!("//h1[normalize-space()=\"{title}\"]")));
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dist = root.join("target/bench/dist");
    assert!(dist.join("index.html").is_file(), "run scripts/bench.sh (it builds the app)");
    let server = StaticServer::start(&dist);
    let url = format!("{}/", server.url);
    let browser = Browser::start();
    browser.goto(&url);
    browser.wait_for_text("0 tunes");
    let first = browser.tab();
    let second = open_window(&browser, &url, "0 tunes");

    // Cross-tab: even rounds the leader (first) writes, odd rounds the follower.
    let mut cross = Vec::new();
    for n in 0..20 {
        let (writer, reader) = if n % 2 == 0 { (&first, &second) } else { (&second, &first) };
        let title = format!("Cross-tab {n}");
        browser.switch_to(writer);
        fill_new_tune(&browser, &title);
        browser.switch_to(reader);
        browser.execute(WATCH_TEXT, vec![json!(title)]);
        browser.switch_to(writer);
        let clicked = browser.execute(CLICK, vec![json!("Save")]).as_f64().unwrap_or(f64::NAN);
        saved(&browser, &title);
        browser.click_link("Back to your tunes");
        browser.switch_to(reader);
        let seen = browser.wait_for(&format!("{title} in the other window"), |b| {
            b.execute("return window.__seen", vec![]).as_f64()
        });
        cross.push(seen - clicked);
    }

    // Handover: close the leader; the next window in line leads and saves.
    let mut leader = first;
    let mut next = second;
    let mut tunes = 20;
    let (mut to_lead, mut to_save) = (Vec::new(), Vec::new());
    for round in 0..5 {
        let title = format!("After handover {round}");
        browser.switch_to(&next);
        browser.execute(WATCH_LEAD, vec![]);
        fill_new_tune(&browser, &title);
        browser.execute(WATCH_TEXT, vec![json!(title)]);
        browser.switch_to(&leader);
        let closed = now_ms();
        browser.close_tab();
        browser.switch_to(&next);
        browser.execute(CLICK, vec![json!("Save")]);
        saved(&browser, &title);
        let led = browser.wait_for("the new leader", |b| b.execute("return window.__led", vec![]).as_f64());
        let stored =
            browser.execute("return window.__seen ?? Date.now()", vec![]).as_f64().unwrap_or(f64::NAN);
        to_lead.push(led - closed);
        to_save.push(stored - closed);
        tunes += 1;
        browser.click_link("Back to your tunes");
        browser.wait_for_text(&format!("{tunes} tunes"));
        leader = next;
        next = open_window(&browser, &url, &format!("{tunes} tunes"));
    }

    let median = |v: &[f64]| percentile(v, 50.0);
    let report = json!({
        "cross_tab_ms": {"p50": percentile(&cross, 50.0), "p95": percentile(&cross, 95.0), "runs": cross,
                         "target_ms": "< 200", "note": "save in one window until the other window's list shows it; even runs written by the leader, odd by a follower"},
        "handover_to_new_leader_ms": {"median": median(&to_lead), "runs": to_lead, "target_ms": "< 1000"},
        "handover_to_saved_ms": {"median": median(&to_save), "runs": to_save,
                                 "note": "a tune saved in the next window right after the leader's window closed, until its page shows it stored"},
        "notes": "release build, headless Chromium, signed out; 2-core shared machine",
    });
    println!("Tunebook tabs benchmark (one browser, several windows, this machine)");
    println!("{:<52} {:>14}", "measure", "value");
    println!(
        "{:<52} {:>14}",
        "edit in one window seen in another, p50 / p95 (ms)",
        format!("{:.0} / {:.0}", percentile(&cross, 50.0), percentile(&cross, 95.0))
    );
    println!("{:<52} {:>14.0}", "leader closed until the next one leads, median (ms)", median(&to_lead));
    println!("{:<52} {:>14.0}", "leader closed until a save there is stored, median (ms)", median(&to_save));
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out).expect("target/bench");
    let file = out.join("tabs.json");
    std::fs::write(&file, serde_json::to_string_pretty(&report).expect("json")).expect("write report");
    println!("wrote {}", file.display());
}
