//! The installed-app benchmark: prints a table and writes `target/bench/pwa.json`.
//!
//! Run it with `scripts/bench.sh`. With 1,000 tunes in a fresh browser profile, the
//! release build served from a local server that counts what it sends:
//! - cold start from the service-worker cache: a new browser process on the profile,
//!   page load to first rows painted (median of 3);
//! - warm start: reloads in a running browser (median of 5);
//! - bytes a repeat visit fetches from the network, as the page's own resource timing
//!   reports them (target: 0 for the app shell), and what the server saw (Chromium may race
//!   a network request for a navigation while the service worker starts up).

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use support::static_server::StaticServer;
use support::webdriver::Browser;

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dist = root.join("target/bench/dist");
    assert!(
        dist.join("bench/index.html").is_file(),
        "run scripts/bench.sh (it builds the app and the bench page)"
    );
    let server = StaticServer::start(&dist);
    let profile = std::env::temp_dir().join(format!("tunebook-bench-pwa-{}", std::process::id()));
    let app = format!("{}/", server.url);

    let (first_visit, warm) = {
        let browser = Browser::start_with_profile(&profile);
        browser.bench_results(&format!("{}/bench/?mode=seed&count=1000", server.url));
        let first_visit = browser.first_rows_painted(&app);
        browser.wait_for_text("1000 tunes");
        browser.wait_for("the service worker", |b| {
            b.execute("return !!navigator.serviceWorker.controller", vec![]).as_bool().filter(|c| *c)
        });
        let warm: Vec<f64> = (0..5).map(|_| browser.first_rows_painted(&app)).collect();
        (first_visit, warm)
    };

    let mut cold = Vec::new();
    let mut repeat_bytes = Vec::new();
    let mut page_view = serde_json::Value::Null;
    for _ in 0..3 {
        let browser = Browser::start_with_profile(&profile);
        server.take_served();
        cold.push(browser.first_rows_painted(&app));
        browser.wait_for_text("1000 tunes");
        std::thread::sleep(Duration::from_millis(500));
        repeat_bytes.push(server.take_served());
        // What the page itself fetched over the network (0 when served from the cache).
        page_view = browser.execute(
            "const nav = performance.getEntriesByType('navigation')[0];
             const res = performance.getEntriesByType('resource');
             return {navigation_delivery: nav.deliveryType, navigation_bytes: nav.transferSize,
                     resource_bytes: res.reduce((n, r) => n + r.transferSize, 0), resources: res.length};",
            vec![],
        );
    }
    let _ = std::fs::remove_dir_all(&profile);

    let last = repeat_bytes.last().cloned().unwrap_or_default();
    let shell_bytes: u64 = last.iter().filter(|(p, _)| p != "/sw.js").map(|(_, b)| b).sum();
    let sw_bytes: u64 = last.iter().filter(|(p, _)| p == "/sw.js").map(|(_, b)| b).sum();
    let report = json!({
        "tunes": 1000,
        "first_visit_first_rows_ms": first_visit,
        "cold_start_from_service_worker_ms": {"median": median(&cold), "runs": cold},
        "warm_start_ms": {"median": median(&warm), "runs": warm},
        "repeat_visit_bytes": {"page_transfer": page_view, "server_saw_app_shell": shell_bytes, "server_saw_sw_js": sw_bytes,
            "server_requests": last, "target_app_shell": 0,
            "note": "the page's own transfer sizes; Chromium may also race a network request for a navigation while the service worker starts (the server sees it, the page uses the cached copy)"},
    });
    println!("Tunebook installed-app benchmark (release build, 1,000 tunes, headless Chromium)");
    println!("{:<56} {:>12}", "measure", "value");
    println!("{:<56} {:>12.0}", "first visit: load to first rows (ms)", first_visit);
    println!("{:<56} {:>12.0}", "cold start from service worker: load to first rows (ms)", median(&cold));
    println!("{:<56} {:>12.0}", "warm start: load to first rows (ms)", median(&warm));
    let page_bytes = page_view["navigation_bytes"].as_u64().unwrap_or(u64::MAX)
        + page_view["resource_bytes"].as_u64().unwrap_or(u64::MAX);
    println!("{:<56} {:>12}", "repeat visit: bytes the page fetched from the network", page_bytes);
    println!(
        "{:<56} {:>12}",
        "  (navigation served from)",
        page_view["navigation_delivery"].as_str().unwrap_or("?")
    );
    println!(
        "{:<56} {:>12}",
        "  (server saw: raced navigation / sw.js bytes)",
        format!("{shell_bytes} / {sw_bytes}")
    );
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out).expect("target/bench");
    let file = out.join("pwa.json");
    std::fs::write(&file, serde_json::to_string_pretty(&report).expect("json")).expect("write report");
    println!("wrote {}", file.display());
}
