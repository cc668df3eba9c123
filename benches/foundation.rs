//! The foundation benchmark: prints a table and writes `target/bench/foundation.json`.
//!
//! Run it with `scripts/bench.sh` (which builds the release app and the benchmark page
//! first). It measures, in one run:
//! - 10,000 tunes inserted in one transaction through the worker into OPFS (median of 3),
//!   and the same tunes into native SQLite on this machine (median of 5): rows/s and ratio;
//! - one tune edit from the UI's request to the worker's reply: p50 and p95 of 200;
//! - with 10,000 tunes: page load to first rows painted, and per-keystroke filter
//!   latency (keystroke to updated list on screen), p50 and p95;
//! - what a first visit downloads (every file fetched, the service worker's precache
//!   included), gzipped.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Value, json};
use support::bench::{ms_list, percentile};
use support::static_server::StaticServer;
use support::webdriver::Browser;
use tunebook_store::db::Database;

/// Milliseconds to import the sample tunes into a fresh file database, five times.
fn native_insert_ms() -> Vec<f64> {
    let drafts = tunebook_core::sample::drafts(10_000, 1);
    let dir = std::env::temp_dir().join(format!("tunebook-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let times = (0..5)
        .map(|run| {
            let conn =
                tunebook_store::db::Connection::open(dir.join(format!("bench-{run}.db"))).expect("open file");
            let mut db = Database::open(conn).expect("open");
            let started = Instant::now();
            let stored = db.import_tunes(&drafts).expect("import");
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(stored, drafts.len(), "every tune stored");
            assert_eq!(db.list_tunes(&Default::default()).expect("list").total, drafts.len() as u64);
            elapsed
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    times
}

/// What a first visit downloads: a fresh browser loads the app and waits until the service
/// worker has precached everything; the static server's log says what was fetched. Each
/// distinct file counts once, gzipped (-9) as a server would send it. Returns
/// (path, gzipped bytes) per file.
fn first_visit_downloads(server: &StaticServer, dist: &Path) -> Vec<(String, u64)> {
    server.take_served();
    let browser = Browser::start();
    browser.goto(&format!("{}/", server.url));
    browser.wait_for_text("0 tunes");
    let ready = browser.execute_async(
        "const done = arguments[arguments.length - 1];
         navigator.serviceWorker.ready.then(r => done(!!r.active)).catch(e => done(String(e)));",
        vec![],
    );
    assert_eq!(ready, json!(true), "the service worker installed");
    drop(browser);
    let mut paths: Vec<String> = server.take_served().into_iter().map(|(path, _)| path).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .map(|path| {
            let relative = path.trim_start_matches('/');
            let file = dist.join(relative);
            let file = if relative.is_empty() || !file.is_file() { dist.join("index.html") } else { file };
            let output =
                std::process::Command::new("gzip").args(["-9", "-c"]).arg(&file).output().expect("gzip");
            (path, output.stdout.len() as u64)
        })
        .collect()
}

/// Types words into the filter one key at a time; for each key, the ms until the list
/// on screen reflects it: the first DOM change, then two animation frames (a frame's
/// callbacks run before it is painted, so the second runs once the change is on screen).
const FILTER_SCRIPT: &str = r#"
const done = arguments[arguments.length - 1];
const words = arguments[0];
const input = document.getElementById('filter');
const main = document.querySelector('main');
const frame = () => new Promise(r => requestAnimationFrame(() => r()));
const type = (value) => new Promise((resolve, reject) => {
  const t0 = performance.now();
  const timer = setTimeout(() => { observer.disconnect(); reject('no update for ' + value); }, 10000);
  const observer = new MutationObserver(async () => {
    observer.disconnect();
    clearTimeout(timer);
    await frame();
    await frame();
    resolve(performance.now() - t0);
  });
  observer.observe(main, { childList: true, subtree: true, characterData: true });
  input.value = value;
  input.dispatchEvent(new Event('input', { bubbles: true }));
});
(async () => {
  const times = [];
  for (const word of words) {
    for (let i = 1; i <= word.length; i++) times.push(await type(word.slice(0, i)));
    await type('');
  }
  done(times);
})().catch(e => done({ error: String(e) }));
"#;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dist = std::env::var_os("TUNEBOOK_BENCH_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/bench/dist"));
    assert!(
        dist.join("index.html").is_file() && dist.join("bench/index.html").is_file(),
        "{} lacks the release app and bench page: run scripts/bench.sh",
        dist.display()
    );

    let server = StaticServer::start(&dist);
    let browser = Browser::start();

    // Browser: import and edits through the worker into OPFS; seeds the app database.
    let results = browser.bench_results(&format!("{}/bench/", server.url));
    assert_eq!(results["storage"], "Opfs", "the benchmark must run on OPFS: {results}");
    assert_eq!(results["inserted"].as_u64(), Some(10_000), "the browser stored every tune: {results}");
    let rows = results["inserted"].as_f64().unwrap_or_default();
    let browser_insert_ms = ms_list(&results["insert_ms"]);
    let browser_rows_per_sec = rows / (percentile(&browser_insert_ms, 50.0) / 1000.0);
    let edits = ms_list(&results["edits_ms"]);
    assert_eq!(edits.len(), 200, "every edit ran: {results}");

    let native_ms = native_insert_ms();
    let native_rows_per_sec = rows / (percentile(&native_ms, 50.0) / 1000.0);

    // The app with 10,000 tunes: first rows painted (five loads), then filtering.
    let app_url = format!("{}/", server.url);
    let loads: Vec<f64> = (0..5).map(|_| browser.first_rows_painted(&app_url)).collect();
    browser.wait_for_text("10000 tunes");
    let words = json!(["the", "kesh", "banks of", "no. 99", "zzz", "reel", "|:a2"]);
    let keys = browser.execute_async(FILTER_SCRIPT, vec![words]);
    let keys: Vec<f64> = keys
        .as_array()
        .unwrap_or_else(|| panic!("filter timing failed: {keys}"))
        .iter()
        .filter_map(Value::as_f64)
        .collect();

    let sizes = first_visit_downloads(&server, &dist);
    let total_gzip: u64 = sizes.iter().map(|(_, s)| s).sum();
    assert!(sizes.iter().any(|(p, _)| p.ends_with("_bg.wasm")), "the app's wasm was fetched: {sizes:?}");

    let report = json!({
        "insert_10000": {
            "browser_opfs_rows_per_sec": browser_rows_per_sec,
            "native_rows_per_sec": native_rows_per_sec,
            "browser_to_native_ratio": browser_rows_per_sec / native_rows_per_sec,
            "browser_runs_ms": browser_insert_ms,
            "native_runs_ms": native_ms,
            "note": "medians of 3 browser and 5 native runs",
            "target_ratio": ">= 0.333",
        },
        "edit_commit_ms": {"p50": percentile(&edits, 50.0), "p95": percentile(&edits, 95.0), "count": edits.len(), "target_p50": "< 5"},
        "first_rows_painted_ms": {"first_load": loads[0], "median_of_5": percentile(&loads, 50.0), "all": loads, "target": "< 1000"},
        "filter_keystroke_ms": {"p50": percentile(&keys, 50.0), "p95": percentile(&keys, 95.0), "count": keys.len(), "target": "< 50"},
        "download_gzip_bytes": {"total": total_gzip, "what": "every file a first visit fetches, service worker precache included, each once, gzip -9", "files": sizes.iter().map(|(n, s)| json!({"file": n, "bytes": s})).collect::<Vec<_>>(), "target": "< 700000"},
    });

    println!("Tunebook foundation benchmark (release build, headless Chromium, this machine)");
    println!("{:<52} {:>14}", "measure", "value");
    let row = |name: &str, value: String| println!("{name:<52} {value:>14}");
    row("insert 10,000 via worker into OPFS (rows/s, median)", format!("{browser_rows_per_sec:.0}"));
    row("insert 10,000 native SQLite (rows/s, median)", format!("{native_rows_per_sec:.0}"));
    row("browser / native (target >= 0.33)", format!("{:.2}", browser_rows_per_sec / native_rows_per_sec));
    row(
        "edit commit p50 / p95, ms (target p50 < 5)",
        format!("{:.2} / {:.2}", percentile(&edits, 50.0), percentile(&edits, 95.0)),
    );
    row(
        "first rows painted, 10,000 tunes, ms (target < 1000)",
        format!("{:.0} (med {:.0})", loads[0], percentile(&loads, 50.0)),
    );
    row(
        "filter per keystroke p50 / p95, ms (target < 50)",
        format!("{:.1} / {:.1}", percentile(&keys, 50.0), percentile(&keys, 95.0)),
    );
    row("first visit download, gzip bytes (target < 700,000)", format!("{total_gzip}"));

    let out = root.join("target/bench");
    std::fs::create_dir_all(&out).expect("target/bench");
    let file = out.join("foundation.json");
    std::fs::write(&file, serde_json::to_string_pretty(&report).expect("json")).expect("write report");
    println!("wrote {}", file.display());
}
