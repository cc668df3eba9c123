//! The ABC benchmark: prints a table and writes `target/bench/abc.json`.
//!
//! Run it with `scripts/bench.sh`. In headless Chromium with the release build:
//! - import: Ryan's Mammoth Collection read twice over (2,118 tunes) by the parser and
//!   stored through the worker in the Import page's batches of 100 (goal: under 2 s for
//!   a 2,000-tune file), as tunes per second;
//! - notation: from clicking a tune in the list to its staff drawn (the SVG in the page,
//!   then two animation frames), abcjs already loaded (warm), p50 of 15 tunes;
//! - what notation costs and when: the first visit must not fetch it (checked against
//!   the static server's log), and its files' size, gzipped, fetched on first use.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;

use serde_json::{Value, json};
use support::bench::percentile;
use support::static_server::StaticServer;
use support::webdriver::Browser;

/// Clicks the n-th tune link of the list and times until its staff is on screen, then
/// goes back; for each of `n` tunes.
const STAFF_SCRIPT: &str = r#"
const done = arguments[arguments.length - 1];
const n = arguments[0];
const frame = () => new Promise(r => requestAnimationFrame(() => r()));
const until = (test, what) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => { observer.disconnect(); reject('timed out: ' + what); }, 10000);
  const observer = new MutationObserver(() => { if (test()) { observer.disconnect(); clearTimeout(timer); resolve(); } });
  observer.observe(document.body, { childList: true, subtree: true });
  if (test()) { observer.disconnect(); clearTimeout(timer); resolve(); }
});
(async () => {
  const times = [];
  for (let i = 0; i < n; i++) {
    await until(() => document.querySelectorAll('table a').length > i, 'the list');
    const link = document.querySelectorAll('table a')[i];
    const t0 = performance.now();
    link.click();
    await until(() => document.querySelector('.staff svg'), 'a staff');
    await frame();
    await frame();
    times.push(performance.now() - t0);
    history.back();
    await until(() => !document.querySelector('.staff'), 'the list again');
  }
  done(times);
})().catch(e => done({ error: String(e) }));
"#;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dist = root.join("target/bench/dist");
    assert!(dist.join("bench/index.html").is_file(), "run scripts/bench.sh (it builds the benchmark page)");
    let server = StaticServer::start(&dist);

    // A first visit: nothing of notation is fetched.
    server.take_served();
    let first = Browser::start();
    first.goto(&format!("{}/", server.url));
    first.wait_for_text("0 tunes");
    let ready = first.execute_async(
        "const done = arguments[arguments.length - 1];
         navigator.serviceWorker.ready.then(r => done(!!r.active)).catch(e => done(String(e)));",
        vec![],
    );
    assert_eq!(ready, json!(true), "the service worker installed");
    let fetched: Vec<String> = server.take_served().into_iter().map(|(path, _)| path).collect();
    let notation_on_first_visit = fetched.iter().filter(|p| p.contains("/notation/")).count();
    assert_eq!(notation_on_first_visit, 0, "a first visit fetches no notation: {fetched:?}");
    drop(first);

    // Import through the worker (this profile's app database gets the tunes). A fresh
    // profile: once the app's service worker runs, it answers every navigation with the app.
    let first = Browser::start();
    let results = first.bench_results(&format!("{}/bench/?mode=abc", server.url));
    assert!(results.get("error").is_none(), "{results}");
    let tunes = results["tunes"].as_f64().unwrap_or_default();
    let parse_ms = results["parse_ms"].as_f64().unwrap_or(f64::NAN);
    let store_ms = results["store_ms"].as_f64().unwrap_or(f64::NAN);
    assert_eq!(results["unreadable"].as_u64(), Some(0), "{results}");

    // Opening tunes: the staff drawn, abcjs warm (one tune opened first).
    first.goto(&format!("{}/", server.url));
    first.wait_for_text("2118 tunes");
    let warm = first.execute_async(STAFF_SCRIPT, vec![json!(1)]);
    assert!(warm.is_array(), "{warm}");
    let times = first.execute_async(STAFF_SCRIPT, vec![json!(15)]);
    let times: Vec<f64> = times
        .as_array()
        .unwrap_or_else(|| panic!("staff timing failed: {times}"))
        .iter()
        .filter_map(Value::as_f64)
        .collect();

    let notation_gzip: u64 = walk(&dist.join("notation"))
        .iter()
        .map(|f| {
            std::process::Command::new("gzip").args(["-9", "-c"]).arg(f).output().expect("gzip").stdout.len()
                as u64
        })
        .sum();

    let total_ms = parse_ms + store_ms;
    let report = json!({
        "import_2118_tunes": {"parse_ms": parse_ms, "store_ms": store_ms, "total_ms": total_ms,
            "tunes_per_sec": tunes / (total_ms / 1000.0), "target_ms": "< 2000 for 2,000 tunes",
            "what": "Ryan's Mammoth Collection twice over: parse in the page, store through the worker into OPFS in batches of 100"},
        "tune_page_to_staff_ms": {"p50": percentile(&times, 50.0), "p95": percentile(&times, 95.0), "runs": times, "warm": true},
        "notation_on_first_visit_files": notation_on_first_visit,
        "notation_files_gzip_bytes": notation_gzip,
        "notes": "release build; 2-core shared machine; notation files are fetched on first use and then kept by the service worker",
    });
    println!("Tunebook ABC benchmark (release build, headless Chromium, this machine)");
    println!("{:<56} {:>14}", "measure", "value");
    let row = |name: &str, value: String| println!("{name:<56} {value:>14}");
    row("import 2,118 tunes: parse + store, ms (target < 2000)", format!("{parse_ms:.0} + {store_ms:.0}"));
    row("import throughput, tunes/s", format!("{:.0}", tunes / (total_ms / 1000.0)));
    row(
        "tune page to staff drawn, warm, p50/p95 ms",
        format!("{:.0} / {:.0}", percentile(&times, 50.0), percentile(&times, 95.0)),
    );
    row("notation files fetched by a first visit", notation_on_first_visit.to_string());
    row("notation files (abcjs + samples), gzip bytes", notation_gzip.to_string());
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out).expect("target/bench");
    let file = out.join("abc.json");
    std::fs::write(&file, serde_json::to_string_pretty(&report).expect("json")).expect("write report");
    println!("wrote {}", file.display());
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
