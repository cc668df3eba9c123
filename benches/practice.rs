//! The practice benchmark: prints a table and writes `target/bench/practice.json`.
//!
//! Run it with `scripts/bench.sh`. An account on a throwaway local stack holds one
//! repertoire of 2,000 tunes with 200,000 practice records (100 ratings per tune over
//! the last ~200 days, the latest leaving tunes due before, on and after today). Then,
//! in headless Chromium with the release build:
//! - the benchmark page pulls the account into a fresh database through the real worker
//!   and times building today's queue for the repertoire (20 times; the worker's reply
//!   includes every card's tune, note and four previews) and single ratings;
//! - the app, signed in to the account, practises by keyboard: from the key press to
//!   the next card painted (the DOM change, then two animation frames), 15 times;
//! - the worker's wasm, gzipped (the scheduler's share is measured separately: see the
//!   README).

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::bench::{encode, ms_list, percentile};
use support::static_server::StaticServer;
use support::webdriver::Browser;
use tunebook_backend::testing::TestStack;
use tunebook_core::supabase::SupabaseConfig;
use tunebook_core::supabase::auth::{self, SignUpOutcome};
use tunebook_store::native::{BlockingTransport, block_on};

const TUNES: u32 = 2_000;
const RECORDS_PER_TUNE: u32 = 100;

/// Fills the account: tunes, one repertoire holding them all, and each tune's history.
/// The writes run as the account (its JWT claims set for the transaction), so change
/// numbers come from its counter the way the app's own pushes take them.
fn seed(stack: &TestStack, user: &str) {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let day = 86_400_000i64;
    stack
        .sql(&format!(
            "select set_config('request.jwt.claims', '{{\"sub\": \"{user}\", \"role\": \"authenticated\"}}', true);
             insert into public.tune (id, user_id, title, type, mode, incipit)
             select gen_random_uuid(), '{user}', 'Practice tune ' || n, 'reel', 'D major', '|:DFA dAF|GBd gfe|'
             from generate_series(1, {TUNES}) n;
             insert into public.repertoire (id, user_id, name, instrument)
             values (gen_random_uuid(), '{user}', 'Session', 'Fiddle');
             insert into public.repertoire_tune (id, user_id, repertoire_id, tune_id)
             select gen_random_uuid(), '{user}', r.id, t.id
             from public.repertoire r cross join public.tune t where r.user_id = '{user}' and t.user_id = '{user}';
             insert into public.practice_record (id, user_id, repertoire_id, tune_id, kind, practised_at, rating,
                                                 due, interval_days, stability, difficulty, state, reps, lapses)
             select gen_random_uuid(), '{user}', m.repertoire_id, m.tune_id, 'rating', at, 3,
                    at + (2 + m.i % 5) * {day}, 2 + m.i % 5, 2.5 + k * 0.1, 5.0, 'review', k + 1, 0
             from (select repertoire_id, tune_id, row_number() over (order by tune_id) as i
                   from public.repertoire_tune where user_id = '{user}') m
             cross join generate_series(0, {RECORDS_PER_TUNE} - 1) k
             cross join lateral (select {now_ms} - (({RECORDS_PER_TUNE} - k) * 2 + m.i % 7) * {day} + m.i * 1000 as at) t;"
        ))
        .expect("seed the server");
    let records: i64 = stack
        .sql(&format!("select count(*) from public.practice_record where user_id = '{user}'"))
        .expect("sql")[0]
        .as_deref()
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    assert_eq!(records, i64::from(TUNES * RECORDS_PER_TUNE), "every practice record on the server");
}

/// Presses "3" (Good) on the Practice page `n` times; for each, the ms until the next
/// card's title is on screen.
const KEY_SCRIPT: &str = r#"
const done = arguments[arguments.length - 1];
const n = arguments[0];
const frame = () => new Promise(r => requestAnimationFrame(() => r()));
const title = () => { const h = document.getElementById('practice-title'); return h ? h.textContent : null; };
(async () => {
  const times = [];
  for (let i = 0; i < n; i++) {
    const before = title();
    if (!before) break;
    const t0 = performance.now();
    const changed = new Promise((resolve, reject) => {
      const timer = setTimeout(() => { observer.disconnect(); reject('no next card after ' + before); }, 10000);
      const observer = new MutationObserver(() => {
        if (title() !== before) { observer.disconnect(); clearTimeout(timer); resolve(); }
      });
      observer.observe(document.querySelector('main'), { childList: true, subtree: true, characterData: true });
    });
    window.dispatchEvent(new KeyboardEvent('keydown', { key: '3', bubbles: true }));
    await changed;
    await frame();
    await frame();
    times.push(performance.now() - t0);
    // A musician's pace is seconds; this only lets the rating's store finish.
    await new Promise(r => setTimeout(r, 100));
  }
  done(times);
})().catch(e => done({ error: String(e) }));
"#;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dist = root.join("target/bench/dist");
    assert!(dist.join("bench/index.html").is_file(), "run scripts/bench.sh (it builds the benchmark page)");
    let stack = TestStack::start(|_| {}).expect("backend starts");
    let config =
        SupabaseConfig { url: stack.stack().api_url.clone(), anon_key: stack.stack().anon_key.clone() };
    let email = "practice-bench@example.org";
    let session =
        match block_on(auth::sign_up(&BlockingTransport::default(), &config, email, "a-long-password")) {
            Ok(SignUpOutcome::SignedIn(session)) => session,
            other => panic!("sign-up: {other:?}"),
        };
    let seeding = Instant::now();
    seed(&stack, &session.user.id.to_string());
    println!(
        "seeded {} practice records in {:.1} s",
        TUNES * RECORDS_PER_TUNE,
        seeding.elapsed().as_secs_f64()
    );

    let server = StaticServer::start(&dist);
    let browser = Browser::start();
    let results = browser.bench_results(&format!(
        "{}/bench/?mode=practice&url={}&key={}&token={}",
        server.url,
        encode(&config.url),
        encode(&config.anon_key),
        encode(&session.access_token)
    ));
    assert!(results.get("error").is_none(), "{results}");
    assert_eq!(results["tunes"].as_u64(), Some(u64::from(TUNES)), "{results}");
    let queue_ms = ms_list(&results["queue_ms"]);
    let rate_ms = ms_list(&results["rate_ms"]);
    let cards = results["cards"].as_u64().unwrap_or_default();
    assert!(cards > 0, "something is due today: {results}");
    drop(browser);

    // The app: signed in to the account (its first sync downloads everything), then
    // practising by keyboard.
    let app = support::signed_in_browser(&server.url, &config.url, 3_600, email, false);
    let synced = Instant::now();
    while app.sync_status() != "Synced" {
        assert!(synced.elapsed() < Duration::from_secs(600), "the app's first sync did not finish");
        std::thread::sleep(Duration::from_millis(500));
    }
    app.goto(&format!("{}/practice", server.url));
    app.wait_for("the first practice card", |b| b.xpath("//h2[@id='practice-title']"));
    let keys = app.execute_async(KEY_SCRIPT, vec![json!(15)]);
    let keys = keys.as_array().unwrap_or_else(|| panic!("key timing failed: {keys}")).clone();
    let keys: Vec<f64> = keys.iter().filter_map(Value::as_f64).collect();
    drop(app);

    let worker_gzip = std::fs::read_dir(&dist)
        .expect("dist")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("tunebook-worker") && n.ends_with("_bg.wasm"))
        })
        .map(|p| {
            std::process::Command::new("gzip").args(["-9", "-c"]).arg(&p).output().expect("gzip").stdout.len()
        })
        .unwrap_or_default();

    let report = json!({
        "queue_2000_tunes_200000_records_ms": {"p50": percentile(&queue_ms, 50.0), "p95": percentile(&queue_ms, 95.0),
            "runs": queue_ms, "cards": cards, "target_p50": "< 50",
            "what": "UI request to reply: the worker builds today's queue (default settings: up to 20 cards) with each card's details and four previews"},
        "rating_stored_ms": {"p50": percentile(&rate_ms, 50.0), "p95": percentile(&rate_ms, 95.0), "runs": rate_ms},
        "key_to_next_card_ms": {"p50": percentile(&keys, 50.0), "p95": percentile(&keys, 95.0), "runs": keys, "target_p50": "< 30"},
        "initial_pull": {"rows": results["rows"], "pages": results["pages"], "ms": results["pull_ms"]},
        "worker_wasm_gzip_bytes": worker_gzip,
        "notes": "throwaway PostgreSQL with fsync off; release build; 2-core shared machine",
    });
    println!("Tunebook practice benchmark (release build, headless Chromium, this machine)");
    println!("{:<58} {:>14}", "measure", "value");
    let row = |name: &str, value: String| println!("{name:<58} {value:>14}");
    row(
        "today's queue, 2,000 tunes / 200,000 records, p50/p95 ms",
        format!("{:.1} / {:.1}", percentile(&queue_ms, 50.0), percentile(&queue_ms, 95.0)),
    );
    row("  cards in it (default limit 20)", cards.to_string());
    row(
        "one rating stored, p50/p95 ms",
        format!("{:.1} / {:.1}", percentile(&rate_ms, 50.0), percentile(&rate_ms, 95.0)),
    );
    row(
        "key press to next card painted, p50/p95 ms (target p50 < 30)",
        format!("{:.1} / {:.1}", percentile(&keys, 50.0), percentile(&keys, 95.0)),
    );
    row(
        "initial pull of the account (rows / ms)",
        format!("{} / {:.0}", results["rows"], results["pull_ms"].as_f64().unwrap_or(f64::NAN)),
    );
    row("worker wasm, gzip bytes", worker_gzip.to_string());
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out).expect("target/bench");
    let file = out.join("practice.json");
    std::fs::write(&file, serde_json::to_string_pretty(&report).expect("json")).expect("write report");
    println!("wrote {}", file.display());
}
