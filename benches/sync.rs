//! The push benchmark: prints a table and writes `target/bench/sync.json`.
//!
//! Run it with `scripts/bench.sh`. Against a throwaway local stack (PostgreSQL with
//! fsync off), from the release benchmark page in headless Chromium, through the real
//! worker and `fetch`:
//! - 10,000 queued tunes pushed, three rounds: rows/s of the median round (and of each)
//!   and the number of requests;
//! - one edit committed locally and pushed at once (worker otherwise idle) until the row
//!   is in PostgreSQL: p50 and p95 of 50. (In the app, the push starts 0.8 s after the
//!   last edit, to batch bursts of typing.)
//! - the initial pull of a realistic account into a fresh browser profile — 2,000 tunes,
//!   5 repertoires holding 3,000 tunes, 2,000 notes, 1,000 references, 4,000 tags (12,005
//!   rows of six tables): pull time, rows/s, and from navigation to every row stored
//!   (row counts asserted);
//! - live: two browsers running the app, signed in to one account, with an hour between
//!   interval syncs so that only Realtime change hints move edits: from saving an edit on
//!   one to seeing it on the other, p50 and p95 of 20 edits made at random moments.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::bench::{encode, percentile};
use support::static_server::StaticServer;
use support::webdriver::Browser;
use tunebook_backend::testing::TestStack;
use tunebook_core::supabase::SupabaseConfig;
use tunebook_core::supabase::auth::{self, SignUpOutcome};
use tunebook_store::native::{BlockingTransport, block_on};

/// Two browsers on one account, live updates on and interval syncs an hour apart: ms
/// from saving an edit on A until B shows it, twenty times.
fn live_edits(server: &StaticServer, config: &SupabaseConfig) -> Vec<f64> {
    let (a, b) = (
        support::signed_in_browser(&server.url, &config.url, 3600, "steady@example.org", true),
        support::signed_in_browser(&server.url, &config.url, 3600, "steady@example.org", false),
    );
    a.goto(&format!("{}/tunes/new", server.url));
    a.fill("Title", "Steady 0");
    a.click_button("Save");
    b.wait_for_text("Steady 0");
    let mut times = Vec::new();
    // Edits land at arbitrary moments (of B's heartbeats, say), as a musician's would.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for n in 1..=20 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(seed % 2_000));
        a.click_link("Edit");
        a.fill("Title", &format!("Steady {n}"));
        a.click_button("Save");
        let saved = Instant::now();
        b.wait_for(&format!("Steady {n} on B"), |b| {
            b.body_text().contains(&format!("Steady {n}")).then_some(())
        });
        times.push(saved.elapsed().as_secs_f64() * 1000.0);
        a.wait_for_text(&format!("Steady {n}"));
    }
    times
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dist = root.join("target/bench/dist");
    assert!(dist.join("bench/index.html").is_file(), "run scripts/bench.sh (it builds the benchmark page)");
    let stack = TestStack::start(|_| {}).expect("backend starts");
    let config =
        SupabaseConfig { url: stack.stack().api_url.clone(), anon_key: stack.stack().anon_key.clone() };
    let session = match block_on(auth::sign_up(
        &BlockingTransport::default(),
        &config,
        "bench@example.org",
        "bench-password",
    )) {
        Ok(SignUpOutcome::SignedIn(session)) => session,
        other => panic!("sign-up: {other:?}"),
    };

    let server = StaticServer::start(&dist);
    let browser = Browser::start();
    let results = browser.bench_results(&format!(
        "{}/bench/?mode=push&url={}&key={}&token={}",
        server.url,
        encode(&config.url),
        encode(&config.anon_key),
        encode(&session.access_token)
    ));
    let on_server: i64 = stack.sql("select count(*) from public.tune").expect("sql")[0]
        .as_deref()
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);

    let queued = results["queued"].as_f64().unwrap_or_default();
    let push_runs: Vec<f64> = results["push_ms"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let push_ms = percentile(&push_runs, 50.0);
    let requests = results["requests"].clone();
    let rows_per_sec = |ms: &f64| (queued / (ms / 1000.0)).round();
    let edits: Vec<f64> = results["edit_to_server_ms"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    // Initial pull: a second account with a realistic tunebook on the server.
    let puller = match block_on(auth::sign_up(
        &BlockingTransport::default(),
        &config,
        "puller@example.org",
        "bench-password",
    )) {
        Ok(SignUpOutcome::SignedIn(session)) => session,
        other => panic!("sign-up: {other:?}"),
    };
    let user = puller.user.id;
    stack
        .sql(&format!(
            "insert into public.tune (id, user_id, title, type, mode, incipit)
             select gen_random_uuid(), '{user}', 'Pulled tune ' || n, 'reel', 'D major', '|:DFA dAF|GBd gfe|'
             from generate_series(1, 2000) n;
             insert into public.repertoire (id, user_id, name, instrument)
             select gen_random_uuid(), '{user}', 'Repertoire ' || n, 'Fiddle' from generate_series(1, 5) n;
             insert into public.repertoire_tune (id, user_id, repertoire_id, tune_id)
             select gen_random_uuid(), '{user}', r.id, t.id
             from (select id, row_number() over (order by id) - 1 as i from public.repertoire where user_id = '{user}') r
             join (select id, row_number() over (order by id) - 1 as i from public.tune where user_id = '{user}') t
               on t.i % 5 = r.i or (t.i < 1000 and (t.i + 1) % 5 = r.i)
             where true limit 3000;
             insert into public.note (id, user_id, tune_id, body)
             select gen_random_uuid(), '{user}', id, 'Learnt at the Tuesday session; watch the turn in the B part.'
             from public.tune where user_id = '{user}';
             insert into public.reference (id, user_id, tune_id, url, kind, title)
             select gen_random_uuid(), '{user}', id, 'https://thesession.org/tunes/' || n, 'website', 'The Session'
             from (select id, row_number() over (order by id) as n from public.tune where user_id = '{user}') t
             where n <= 1000;
             insert into public.tag (id, user_id, tune_id, name)
             select gen_random_uuid(), '{user}', t.id, g.name
             from public.tune t cross join (values ('session'), ('reel')) as g(name) where t.user_id = '{user}';"
        ))
        .expect("seed the server");
    let seeded: i64 = stack
        .sql(&format!(
            "select (select count(*) from public.tune where user_id = '{user}')
                  + (select count(*) from public.repertoire where user_id = '{user}')
                  + (select count(*) from public.repertoire_tune where user_id = '{user}')
                  + (select count(*) from public.note where user_id = '{user}')
                  + (select count(*) from public.reference where user_id = '{user}')
                  + (select count(*) from public.tag where user_id = '{user}')"
        ))
        .expect("sql")[0]
        .as_deref()
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    assert_eq!(seeded, 12_005, "2,000 + 5 + 3,000 + 2,000 + 1,000 + 4,000 rows on the server");
    // A fresh profile, as a new device would be (not the one that just pushed).
    drop(browser);
    let fresh = Browser::start();
    let pulled = fresh.bench_results(&format!(
        "{}/bench/?mode=pull&url={}&key={}&token={}",
        server.url,
        encode(&config.url),
        encode(&config.anon_key),
        encode(&puller.access_token)
    ));
    let pull_ms = pulled["pull_ms"].as_f64().unwrap_or(f64::NAN);
    let from_navigation_ms = pulled["from_navigation_ms"].as_f64().unwrap_or(f64::NAN);
    let pull_rows = pulled["rows"].as_f64().unwrap_or_default();
    assert_eq!((pulled["rows"].as_u64(), pulled["listed"].as_u64()), (Some(12_005), Some(2_000)), "{pulled}");
    assert_eq!(on_server, 30_000, "every pushed row of the three rounds reached PostgreSQL");
    drop(fresh);

    let live = live_edits(&server, &config);

    let report = json!({
        "initial_pull_realistic": {"rows": pull_rows, "pages": pulled["pages"], "ms": pull_ms, "rows_per_sec": pull_rows / (pull_ms / 1000.0),
                              "from_navigation_ms": from_navigation_ms, "tunes_listed_afterwards": pulled["listed"],
                              "account": "2,000 tunes, 5 repertoires with 3,000 memberships, 2,000 notes, 1,000 references, 4,000 tags",
                              "fresh_profile": true, "target_ms": "< 1500"},
        "edit_on_a_seen_on_b_ms": {"p50": percentile(&live, 50.0), "p95": percentile(&live, 95.0), "runs": live,
                                   "interval_s": 3600, "via": "Realtime change hints", "target_ms": "p50 < 1000, p95 < 2000"},
        "push_10000": {"rows": queued, "ms": push_ms, "rows_per_sec": queued / (push_ms / 1000.0),
                       "rounds_ms": push_runs, "rounds_rows_per_sec": push_runs.iter().map(rows_per_sec).collect::<Vec<_>>(),
                       "requests": requests, "rows_in_postgres": on_server, "target_rows_per_sec": ">= 5000",
                       "note": "median of three rounds of 10,000 new tunes"},
        "edit_to_postgres_ms": {"p50": percentile(&edits, 50.0), "p95": percentile(&edits, 95.0), "count": edits.len(),
                                 "note": "edit, then push at once with the worker idle; the app waits 0.1 s after an edit before pushing"},
        "notes": "throwaway PostgreSQL with fsync off; release build; 2-core shared machine",
    });
    println!("Tunebook sync benchmark (browser worker ↔ local stack, this machine)");
    println!("{:<52} {:>14}", "measure", "value");
    println!(
        "{:<52} {:>14.0}",
        "push 10,000 queued tunes, median of 3 (rows/s, target >= 5000)",
        queued / (push_ms / 1000.0)
    );
    println!(
        "{:<52} {:>14}",
        "  each round (rows/s)",
        push_runs.iter().map(|ms| format!("{:.0}", rows_per_sec(ms))).collect::<Vec<_>>().join(" ")
    );
    println!("{:<52} {:>14}", "requests used per round", requests.to_string());
    println!("{:<52} {:>14}", "rows in PostgreSQL afterwards", on_server);
    println!(
        "{:<52} {:>14}",
        "edit to PostgreSQL p50 / p95 (ms)",
        format!("{:.1} / {:.1}", percentile(&edits, 50.0), percentile(&edits, 95.0))
    );
    println!("{:<52} {:>14.0}", "initial pull of 12,005 rows, 6 tables (ms, target < 1500)", pull_ms);
    println!("{:<52} {:>14.0}", "initial pull (rows/s)", pull_rows / (pull_ms / 1000.0));
    println!("{:<52} {:>14.0}", "  the same from navigation, fresh profile (ms)", from_navigation_ms);
    println!(
        "{:<52} {:>14}",
        "edit on A seen on B, live, p50 / p95 (ms)",
        format!("{:.0} / {:.0}", percentile(&live, 50.0), percentile(&live, 95.0))
    );
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out).expect("target/bench");
    let file = out.join("sync.json");
    std::fs::write(&file, serde_json::to_string_pretty(&report).expect("json")).expect("write report");
    println!("wrote {}", file.display());
}
