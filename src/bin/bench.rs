//! The browser half of the benchmarks (benches/foundation.rs and benches/sync.rs), built
//! by Trunk from benches/browser/index.html. Through the real worker protocol and OPFS:
//! - by default, it times a 10,000-tune import (three times) and 200 single edits, and
//!   seeds the app's own database with the same tunes;
//! - with `?mode=push&url=…&key=…&token=…`, it queues 10,000 tunes and times pushing them
//!   to that Supabase project (three rounds), then times single edits pushed at once;
//! - with `?mode=pull&url=…&key=…&token=…`, it pulls that account's tunes into a fresh
//!   database and times it;
//! - with `?mode=practice&url=…&key=…&token=…`, it pulls that account (a repertoire
//!   with a long practice history) into a fresh database, then times building today's
//!   practice queue and rating tunes;
//! - with `?mode=abc`, it reads Ryan's Mammoth Collection twice over (2,118 tunes) with
//!   the ABC parser and imports it through the worker in the Import page's batches,
//!   timing both, then seeds the app's database with it for the notation timing;
//! - with `?mode=seed&count=N`, it only fills the app's database with N tunes.
//!
//! Results are left in `window.__tunebookBench` as JSON.

#[cfg(target_arch = "wasm32")]
fn main() {
    use wasm_bindgen::JsValue;
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(async {
        let query = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
        let param = |name: &str| {
            query.trim_start_matches('?').split('&').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                (k == name)
                    .then(|| js_sys::decode_uri_component(v).ok().and_then(|s| s.as_string()))
                    .flatten()
            })
        };
        let result = match (param("mode").as_deref(), param("url"), param("key"), param("token")) {
            (Some("push"), Some(url), Some(anon_key), Some(token)) => {
                run_push(tunebook_core::supabase::SupabaseConfig { url, anon_key }, token).await
            }
            (Some("pull"), Some(url), Some(anon_key), Some(token)) => {
                run_pull(tunebook_core::supabase::SupabaseConfig { url, anon_key }, token).await
            }
            (Some("practice"), Some(url), Some(anon_key), Some(token)) => {
                run_practice(tunebook_core::supabase::SupabaseConfig { url, anon_key }, token).await
            }
            (Some("abc"), ..) => run_abc().await,
            (Some("seed"), ..) => seed(param("count").and_then(|c| c.parse().ok()).unwrap_or(1_000)).await,
            _ => run().await,
        };
        let text = match result {
            Ok(v) => v.to_string(),
            Err(e) => serde_json::json!({ "error": e }).to_string(),
        };
        if let Some(window) = web_sys::window() {
            let _ = js_sys::Reflect::set(&window, &"__tunebookBench".into(), &JsValue::from_str(&text));
        }
    });
}

#[cfg(target_arch = "wasm32")]
async fn run() -> Result<serde_json::Value, String> {
    use tunebook::ui::db_client::DbClient;
    use tunebook_core::list::ListQuery;

    let now = || web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or_default();
    let drafts = tunebook_core::sample::drafts(10_000, 1);
    let drafts_len = drafts.len();

    // Three imports into fresh databases (the machine is noisy; the harness takes the median).
    let mut insert_ms = Vec::new();
    let mut storage = String::new();
    for run in 1..=3 {
        let db = DbClient::spawn().map_err(|e| e.to_string())?;
        let info = db.open(&format!("bench-insert-{run}.db"), None).await.map_err(|e| e.to_string())?;
        storage = format!("{:?}", info.storage);
        let started = now();
        db.import_tunes(drafts.clone()).await.map_err(|e| e.to_string())?;
        insert_ms.push(now() - started);
        db.terminate("measured");
    }

    let db = DbClient::spawn().map_err(|e| e.to_string())?;
    db.open("bench-insert-1.db", None).await.map_err(|e| e.to_string())?;
    let page =
        db.list_tunes(ListQuery { limit: 200, ..ListQuery::default() }).await.map_err(|e| e.to_string())?;
    let mut edits_ms = Vec::with_capacity(page.rows.len());
    for (i, row) in page.rows.iter().enumerate() {
        let mut draft = drafts[i].clone();
        draft.title = format!("{} (edited)", row.title);
        let started = now();
        db.save_tune(Some(row.id), draft).await.map_err(|e| e.to_string())?;
        edits_ms.push(now() - started);
    }
    db.terminate("benchmark done");

    // Seed the app's database so the harness can time the list with 10,000 tunes.
    let app_db = DbClient::spawn().map_err(|e| e.to_string())?;
    app_db.open("tunebook.db", None).await.map_err(|e| e.to_string())?;
    let existing = app_db.list_tunes(ListQuery::default()).await.map_err(|e| e.to_string())?.total;
    if existing == 0 {
        app_db.import_tunes(drafts).await.map_err(|e| e.to_string())?;
    }
    app_db.terminate("seeded");

    Ok(serde_json::json!({
        "storage": storage,
        "inserted": drafts_len,
        "insert_ms": insert_ms,
        "edits_ms": edits_ms,
    }))
}

#[cfg(target_arch = "wasm32")]
async fn seed(count: usize) -> Result<serde_json::Value, String> {
    let db = tunebook::ui::db_client::DbClient::spawn().map_err(|e| e.to_string())?;
    db.open("tunebook.db", None).await.map_err(|e| e.to_string())?;
    let seeded = db.import_tunes(tunebook_core::sample::drafts(count, 3)).await.map_err(|e| e.to_string())?;
    db.terminate("seeded");
    Ok(serde_json::json!({ "seeded": seeded }))
}

#[cfg(target_arch = "wasm32")]
async fn run_abc() -> Result<serde_json::Value, String> {
    let now = || web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or_default();
    let one = include_str!("../../crates/core/tests/fixtures/ryans-mammoth.abc");
    let text = format!("{one}\n\n{one}");
    let started = now();
    let book = tunebook_core::abc::parse_book(&text);
    let parse_ms = now() - started;
    let drafts: Vec<_> = book.tunes.iter().map(|t| t.to_draft()).collect();
    let db = tunebook::ui::db_client::DbClient::spawn().map_err(|e| e.to_string())?;
    db.open("tunebook.db", None).await.map_err(|e| e.to_string())?;
    let started = now();
    // The Import page's batches.
    for batch in drafts.chunks(100) {
        db.import_into(batch.to_vec(), None).await.map_err(|e| e.to_string())?;
    }
    let store_ms = now() - started;
    db.terminate("done");
    Ok(
        serde_json::json!({ "tunes": drafts.len(), "unreadable": book.unreadable.len(), "parse_ms": parse_ms, "store_ms": store_ms }),
    )
}

/// Pulls every page of the account: (rows, pages, the server's total).
#[cfg(target_arch = "wasm32")]
async fn pull_all(
    db: &tunebook::ui::db_client::DbClient,
    config: &tunebook_core::supabase::SupabaseConfig,
    token: &str,
) -> Result<(u64, u32, Option<u64>), String> {
    use tunebook_core::sync::PullOutcome;
    let (mut rows, mut pages, mut total) = (0u64, 0u32, None);
    loop {
        match db.pull(config.clone(), token.to_string()).await.map_err(|e| e.to_string())? {
            PullOutcome::Page(page) => {
                rows += u64::from(page.rows);
                pages += 1;
                total = page.total.or(total);
                if !page.more {
                    return Ok((rows, pages, total));
                }
            }
            other => return Err(format!("pull failed: {other:?}")),
        }
    }
}

#[cfg(target_arch = "wasm32")]
async fn run_practice(
    config: tunebook_core::supabase::SupabaseConfig,
    token: String,
) -> Result<serde_json::Value, String> {
    use tunebook_core::practice::Rating;

    let now = || web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or_default();
    let db = tunebook::ui::db_client::DbClient::spawn().map_err(|e| e.to_string())?;
    db.open("bench-practice.db", None).await.map_err(|e| e.to_string())?;
    let started = now();
    let (rows, pages, _) = pull_all(&db, &config, &token).await?;
    let pull_ms = now() - started;
    let repertoire =
        db.repertoires().await.map_err(|e| e.to_string())?.first().cloned().ok_or("no repertoire")?;

    // Today's queue from the whole repertoire and its history, as the Practice page asks.
    let mut queue_ms = Vec::new();
    let mut day = None;
    for _ in 0..20 {
        let started = now();
        day = Some(db.practice_day(repertoire.id).await.map_err(|e| e.to_string())?);
        queue_ms.push(now() - started);
    }
    let day = day.ok_or("no queue")?;
    // Ratings: each stored with its record, queued, and the tune's schedule updated.
    let mut rate_ms = Vec::new();
    for card in day.cards.iter().take(10) {
        let started = now();
        db.rate_tune(repertoire.id, card.tune_id, Rating::Good).await.map_err(|e| e.to_string())?;
        rate_ms.push(now() - started);
    }
    db.terminate("done");
    Ok(serde_json::json!({
        "rows": rows, "pages": pages, "pull_ms": pull_ms, "tunes": repertoire.tune_count,
        "cards": day.cards.len(), "queue_ms": queue_ms, "rate_ms": rate_ms,
    }))
}

#[cfg(target_arch = "wasm32")]
async fn run_pull(
    config: tunebook_core::supabase::SupabaseConfig,
    token: String,
) -> Result<serde_json::Value, String> {
    let now = || web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or_default();
    let db = tunebook::ui::db_client::DbClient::spawn().map_err(|e| e.to_string())?;
    db.open("bench-pull.db", None).await.map_err(|e| e.to_string())?;
    let started = now();
    let (rows, pages, total) = pull_all(&db, &config, &token).await?;
    let finished = now();
    let pull_ms = finished - started;
    let listed =
        db.list_tunes(tunebook_core::list::ListQuery::default()).await.map_err(|e| e.to_string())?.total;
    db.terminate("done");
    Ok(
        // performance.now() counts from the navigation: the page, the wasm, the worker
        // and opening the database are all in `from_navigation_ms`.
        serde_json::json!({ "rows": rows, "pages": pages, "total": total, "pull_ms": pull_ms,
                            "from_navigation_ms": finished, "listed": listed }),
    )
}

/// How many times the push benchmark queues and pushes 10,000 tunes.
#[cfg(target_arch = "wasm32")]
const PUSH_ROUNDS: usize = 3;

#[cfg(target_arch = "wasm32")]
async fn run_push(
    config: tunebook_core::supabase::SupabaseConfig,
    token: String,
) -> Result<serde_json::Value, String> {
    use tunebook::ui::db_client::DbClient;
    use tunebook_core::list::ListQuery;

    let now = || web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or_default();
    let db = DbClient::spawn().map_err(|e| e.to_string())?;
    db.open("bench-push.db", None).await.map_err(|e| e.to_string())?;
    let drafts = tunebook_core::sample::drafts(10_000, 2);
    // Three rounds of 10,000 new tunes each: the machine is noisy, the median is reported.
    let (mut push_ms, mut requests, mut queued) = (Vec::new(), Vec::new(), 0);
    let mut edit_to_server_ms = Vec::new();
    for round in 0..PUSH_ROUNDS {
        db.import_tunes(drafts.clone()).await.map_err(|e| e.to_string())?;
        queued = db.queue_stats().await.map_err(|e| e.to_string())?.pending;
        let started = now();
        let report = db.push(config.clone(), token.clone()).await.map_err(|e| e.to_string())?;
        push_ms.push(now() - started);
        requests.push(report.requests);
        if report.pushed as u64 != queued {
            return Err(format!("pushed {} of {queued}: {report:?}", report.pushed));
        }
        if round > 0 {
            continue;
        }
        // After the first round (10,000 tunes here and on the server): one edit, then a
        // push straight away (the worker otherwise idle); when the push returns, the row
        // is committed in PostgreSQL.
        let rows = db
            .list_tunes(ListQuery { limit: 50, ..ListQuery::default() })
            .await
            .map_err(|e| e.to_string())?
            .rows;
        for (i, row) in rows.iter().enumerate() {
            let mut draft = drafts[i].clone();
            draft.title = format!("{} (edited)", row.title);
            let started = now();
            db.save_tune(Some(row.id), draft).await.map_err(|e| e.to_string())?;
            let report = db.push(config.clone(), token.clone()).await.map_err(|e| e.to_string())?;
            edit_to_server_ms.push(now() - started);
            if report.pushed != 1 {
                return Err(format!("edit push: {report:?}"));
            }
        }
    }
    db.terminate("done");
    Ok(serde_json::json!({
        "queued": queued,
        "push_ms": push_ms,
        "requests": requests,
        "edit_to_server_ms": edit_to_server_ms,
    }))
}

/// The benchmark only runs in a browser; natively this binary does nothing.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
