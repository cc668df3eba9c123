//! The push: sends queued changes of every synced table to Supabase through the
//! conditional `push_changes` RPC and records the outcome of each. Database work happens between requests, never
//! across one, so the worker keeps answering the UI while a push waits on the network.

use std::cell::RefCell;

use serde_json::Value;
use tunebook_core::record::Record;
use tunebook_core::supabase::rest::{self, MISSING_PARENT, PushResult, RestError, RowKey};
use tunebook_core::supabase::{SupabaseConfig, Transport};
use tunebook_core::sync::{PushOutcome, PushReport, QueueItem};

use crate::db::{Database, DbError, Reconciled};

/// Changes taken from the queue per round: the most the server takes per call. Fewer,
/// larger requests are what makes a big push fast (the server writes a batch in a few
/// set-based statements).
pub const BATCH_SIZE: u32 = 1000;

/// The most JSON one request carries: three quarters of the gateway's 1 MB body limit,
/// so a round of long incipits goes as several requests instead of one refused one.
pub const MAX_REQUEST_BYTES: usize = 768 * 1024;

/// A batch in flight: queue item ids, their rows (table and id), and the changes to send.
struct Batch {
    ids: Vec<i64>,
    records: Vec<RowKey>,
    changes: Vec<Value>,
}

/// Pushes every pending change, batch by batch, oldest first.
///
/// - Each change is applied only if the server's row still has the version the edit
///   started from. Applied changes leave the queue and the server's version comes back
///   into the rows. A change that meets a newer server version is merged (and sent again)
///   or, where both sides changed the same field, kept as a conflict for the musician.
/// - A change the server refuses (row level security, a constraint) is marked failed
///   with the server's message and never blocks the others; a batch refused as a whole
///   is split in halves until the refused changes stand alone. A change whose parent
///   (a note's tune) has not reached the server yet stays pending, saying so, and goes
///   again on the next run.
/// - A network failure, a server error or a rate limit stops the run; the changes stay
///   pending (with one more attempt counted) for the next run.
/// - A refused token stops the run with [`PushOutcome::Unauthorized`]: refresh and push again.
/// - A local database failure that retrying cannot fix (a damaged file, a newer schema)
///   ends it with [`PushOutcome::Stopped`] instead of backing off forever.
///
/// Pushing the same change twice (a lost reply, a closed tab) is harmless: the server
/// finds its row identical and answers "applied", so it keeps one row.
pub async fn push<T: Transport>(
    db: &RefCell<Database>,
    transport: &T,
    config: &SupabaseConfig,
    access_token: &str,
) -> PushReport {
    let mut report = PushReport::default();
    // Changes waiting for their parent: sent again next run, not again in this one.
    let mut waiting = Vec::new();
    loop {
        let batch = match db.borrow_mut().begin_push(BATCH_SIZE, &waiting) {
            Ok(batch) => batch,
            Err(e) => {
                report.outcome = PushOutcome::local(&e);
                return report;
            }
        };
        if batch.is_empty() {
            return report;
        }
        let batch = match prepare(db, batch) {
            Ok(Some(batch)) => batch,
            Ok(None) => continue,
            Err(e) => {
                report.outcome = PushOutcome::local(&e);
                return report;
            }
        };
        // Work list of batches; a refused batch is replaced by its two halves.
        let mut work = by_size(batch, MAX_REQUEST_BYTES);
        work.reverse();
        while let Some(batch) = work.pop() {
            report.requests += 1;
            let request = rest::push_changes(config, access_token, &batch.changes);
            let failure = match transport.send(request).await {
                Ok(response) if response.is_success() => match rest::parse_push_results(&response.body) {
                    Ok(results) => match settle(db, &batch, results, &mut report, &mut waiting) {
                        Ok(()) => continue,
                        Err(e) => PushOutcome::local(&e),
                    },
                    // Unreadable: sending again is safe (the server skips what it has).
                    Err(e) => PushOutcome::Retry { reason: format!("unreadable reply: {e}") },
                },
                Ok(response) => match rest::classify(&response) {
                    RestError::Rejected(_) if batch.ids.len() > 1 => {
                        let (left, right) = split(batch);
                        work.push(right);
                        work.push(left);
                        continue;
                    }
                    RestError::Rejected(message) => {
                        if let Err(e) = db.borrow_mut().mark_failed(&batch.ids, &message) {
                            PushOutcome::local(&e)
                        } else {
                            report.failed += 1;
                            continue;
                        }
                    }
                    RestError::Unauthorized(reason) => PushOutcome::Unauthorized { reason },
                    RestError::Retryable(reason) => PushOutcome::Retry { reason },
                },
                Err(e) => PushOutcome::Retry { reason: e.to_string() },
            };
            // Stop: everything not yet settled goes back in line with the reason.
            let reason = match &failure {
                PushOutcome::Retry { reason }
                | PushOutcome::Unauthorized { reason }
                | PushOutcome::Stopped { reason } => reason.clone(),
                _ => String::new(),
            };
            let unsettled: Vec<i64> = std::iter::once(batch).chain(work).flat_map(|b| b.ids).collect();
            let _ = db.borrow_mut().mark_pending(&unsettled, &reason);
            report.outcome = failure;
            return report;
        }
    }
}

/// Records what the server did with each change of an answered batch.
fn settle(
    db: &RefCell<Database>,
    batch: &Batch,
    results: Vec<(RowKey, PushResult)>,
    report: &mut PushReport,
    waiting: &mut Vec<i64>,
) -> Result<(), DbError> {
    let mut db = db.borrow_mut();
    let mut applied_ids = Vec::new();
    let mut applied_rows = Vec::new();
    let mut answered = std::collections::HashSet::new();
    // Results name their row; a batch holds up to a thousand.
    let item_of: std::collections::HashMap<&RowKey, i64> =
        batch.records.iter().zip(batch.ids.iter().copied()).collect();
    for (record, result) in results {
        let Some(&item) = item_of.get(&record) else { continue };
        answered.insert(item);
        match result {
            PushResult::Applied(row) => {
                applied_ids.push(item);
                applied_rows.push(row);
            }
            PushResult::Conflict(theirs) => {
                if db.push_conflict(item, &theirs)? == Reconciled::Conflict {
                    report.conflicts += 1;
                }
            }
            PushResult::Refused { code, message } if code == MISSING_PARENT => {
                db.mark_pending(&[item], &format!("waiting for its parent to reach the server: {message}"))?;
                waiting.push(item);
                report.waiting += 1;
            }
            PushResult::Refused { code, message } => {
                db.mark_failed(&[item], &format!("{message} [{code}]"))?;
                report.failed += 1;
            }
        }
    }
    report.pushed += applied_ids.len() as u32;
    db.complete_push(&applied_ids, &applied_rows)?;
    let unanswered: Vec<i64> = batch.ids.iter().copied().filter(|id| !answered.contains(id)).collect();
    db.mark_pending(&unanswered, "the server did not answer for this change")
}

/// Builds the changes to send: each row with the version its edit started from. An item
/// whose local row is gone (which no write path produces) cannot be pushed; it is marked
/// failed rather than retried forever.
fn prepare(
    db: &RefCell<Database>,
    batch: Vec<(QueueItem, Option<Record>)>,
) -> Result<Option<Batch>, DbError> {
    let mut out = Batch { ids: Vec::new(), records: Vec::new(), changes: Vec::new() };
    let mut orphans = Vec::new();
    for (item, row) in batch {
        match row {
            Some(record) => {
                out.ids.push(item.id);
                out.records.push((record.table, item.record_id));
                out.changes.push(record.push_change());
            }
            None => orphans.push(item.id),
        }
    }
    if !orphans.is_empty() {
        db.borrow_mut().mark_failed(&orphans, "the local row for this change is missing")?;
    }
    Ok((!out.ids.is_empty()).then_some(out))
}

/// Splits a batch into consecutive batches of at most `max_bytes` of JSON each (a single
/// larger change goes alone), keeping their order.
fn by_size(batch: Batch, max_bytes: usize) -> Vec<Batch> {
    let mut out: Vec<Batch> = Vec::new();
    let mut bytes = 0;
    for ((id, record), change) in batch.ids.into_iter().zip(batch.records).zip(batch.changes) {
        let size = change.to_string().len() + 1;
        match out.last_mut() {
            Some(current) if bytes + size <= max_bytes => {
                bytes += size;
                current.ids.push(id);
                current.records.push(record);
                current.changes.push(change);
            }
            _ => {
                bytes = size;
                out.push(Batch { ids: vec![id], records: vec![record], changes: vec![change] });
            }
        }
    }
    out
}

fn split(batch: Batch) -> (Batch, Batch) {
    let mid = batch.ids.len() / 2;
    let (mut ids, mut records, mut changes) = (batch.ids, batch.records, batch.changes);
    let right =
        Batch { ids: ids.split_off(mid), records: records.split_off(mid), changes: changes.split_off(mid) };
    (Batch { ids, records, changes }, right)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::native::block_on;
    use serde_json::json;
    use std::cell::Cell;
    use tunebook_core::domain::TuneDraft;
    use tunebook_core::supabase::{HttpRequest, HttpResponse, NetworkError};

    /// A scripted server: answers upserts like PostgREST, refusing any batch that holds
    /// a row titled "POISON", or failing the whole request as told.
    struct FakeServer {
        requests: Cell<u32>,
        max_body: Cell<usize>,
        fail_with: Cell<Option<u16>>,
        network_down: Cell<bool>,
    }

    impl FakeServer {
        fn new() -> Self {
            Self {
                requests: Cell::new(0),
                max_body: Cell::new(0),
                fail_with: Cell::new(None),
                network_down: Cell::new(false),
            }
        }
    }

    impl Transport for FakeServer {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, NetworkError> {
            self.requests.set(self.requests.get() + 1);
            let size = request.body.as_deref().map_or(0, str::len);
            self.max_body.set(self.max_body.get().max(size));
            if self.network_down.get() {
                return Err(NetworkError::Unreachable("connection refused".into()));
            }
            if let Some(status) = self.fail_with.get() {
                return Ok(HttpResponse::new(
                    status,
                    json!({"code": "PGRST301", "message": "boom"}).to_string(),
                ));
            }
            let body: Value = serde_json::from_str(request.body.as_deref().unwrap_or("{}")).unwrap();
            let changes = body["changes"].as_array().cloned().unwrap_or_default();
            if changes.iter().any(|r| r["title"] == "POISON-BATCH") {
                let body = json!({"code": "22P02", "message": "invalid input syntax"});
                return Ok(HttpResponse::new(400, body.to_string()));
            }
            let results: Vec<Value> = changes
                .into_iter()
                .map(|mut r| {
                    let (table, id) = (r["table"].clone(), r["id"].clone());
                    if r["title"] == "POISON" {
                        return json!({"table": table, "id": id, "status": "error", "code": "42501",
                                      "message": "new row violates row-level security policy"});
                    }
                    if r["body"] == "ORPHAN" {
                        return json!({"table": table, "id": id, "status": "error", "code": "23503",
                                      "message": "the tune of this note is not on the server"});
                    }
                    r["sync_version"] = json!(r["base_version"].as_i64().unwrap_or(1) + 1);
                    r["user_id"] = json!("4aaa98dd-b17c-4207-bbdf-7f455076a4a1");
                    r["change_number"] = json!(1);
                    json!({"table": table, "id": id, "status": "applied", "row": r})
                })
                .collect();
            Ok(HttpResponse::new(200, Value::Array(results).to_string()))
        }
    }

    fn db_with(titles: &[&str]) -> RefCell<Database> {
        let mut db = Database::open_in_memory().unwrap();
        let drafts: Vec<TuneDraft> =
            titles.iter().map(|t| TuneDraft { title: (*t).into(), ..TuneDraft::default() }).collect();
        db.import_tunes(&drafts).unwrap();
        RefCell::new(db)
    }

    fn run(db: &RefCell<Database>, server: &FakeServer) -> PushReport {
        block_on(push(db, server, &SupabaseConfig::default(), "token"))
    }

    #[test]
    fn accepted_changes_leave_the_queue_with_the_servers_version() {
        let db = db_with(&["A", "B", "C"]);
        let server = FakeServer::new();
        let report = run(&db, &server);
        assert_eq!(report, PushReport { pushed: 3, requests: 1, ..PushReport::default() });
        let db = db.borrow();
        assert_eq!(db.queue_stats().unwrap().unsynced(), 0);
        let page = db.list_tunes(&Default::default()).unwrap();
        let tune = db.get_tune(page.rows[0].id).unwrap().unwrap();
        assert_eq!(tune.sync_version, 2);
        assert!(tune.user_id.is_some(), "the account adopts the tune");
    }

    #[test]
    fn a_batch_refused_whole_is_split_until_the_bad_change_stands_alone() {
        let db = db_with(&["A", "B", "POISON-BATCH", "D", "E", "F", "G"]);
        let server = FakeServer::new();
        let report = run(&db, &server);
        assert_eq!((report.pushed, report.failed, report.outcome.clone()), (6, 1, PushOutcome::Complete));
        // 7 → 3+4 → (1+2 → 1+1) ...: a handful of requests, not one per row.
        assert!(report.requests <= 7, "{report:?}");
    }

    #[test]
    fn a_refused_row_fails_alone_and_the_rest_get_through() {
        let db = db_with(&["A", "B", "POISON", "D", "E", "F", "G"]);
        let server = FakeServer::new();
        let report = run(&db, &server);
        assert_eq!((report.pushed, report.failed, report.requests), (6, 1, 1), "{report:?}");
        let failed = db.borrow().failed_items().unwrap();
        assert_eq!(failed.len(), 1);
        assert!(failed[0].error.as_deref().unwrap().contains("row-level security"));
        // The failed item does not hold up later changes.
        db.borrow_mut().import_tunes(&[TuneDraft { title: "H".into(), ..TuneDraft::default() }]).unwrap();
        let report = run(&db, &server);
        assert_eq!((report.pushed, report.failed, report.requests), (1, 0, 1));
    }

    #[test]
    fn a_child_waiting_for_its_parent_stays_pending_and_blocks_nothing() {
        let db = db_with(&["A"]);
        let tune = db.borrow().list_tunes(&Default::default()).unwrap().rows[0].id;
        db.borrow_mut().add_note(tune, "ORPHAN").unwrap();
        db.borrow_mut().add_note(tune, "Fine").unwrap();
        let server = FakeServer::new();
        let report = run(&db, &server);
        assert_eq!((report.pushed, report.waiting, report.failed), (2, 1, 0), "{report:?}");
        let waiting = db.borrow().pending_items(10).unwrap();
        assert_eq!(waiting.len(), 1);
        assert!(waiting[0].error.as_deref().unwrap().contains("waiting for its parent"), "{waiting:?}");
    }

    #[test]
    fn network_and_server_failures_keep_everything_pending() {
        for (down, status) in [(true, None), (false, Some(500)), (false, Some(503)), (false, Some(429))] {
            let db = db_with(&["A", "B"]);
            let server = FakeServer::new();
            server.network_down.set(down);
            server.fail_with.set(status);
            let report = run(&db, &server);
            assert!(matches!(report.outcome, PushOutcome::Retry { .. }), "{report:?}");
            assert_eq!((report.pushed, report.failed), (0, 0));
            let items = db.borrow().pending_items(10).unwrap();
            assert_eq!(items.len(), 2);
            assert!(items.iter().all(|i| i.attempts == 1 && i.error.is_some()));
            // Next time it works, and nothing is duplicated.
            server.network_down.set(false);
            server.fail_with.set(None);
            assert_eq!(run(&db, &server).pushed, 2);
            assert_eq!(db.borrow().queue_stats().unwrap().unsynced(), 0);
        }
    }

    #[test]
    fn an_expired_token_asks_for_a_refresh() {
        let db = db_with(&["A"]);
        let server = FakeServer::new();
        server.fail_with.set(Some(401));
        let report = run(&db, &server);
        assert!(matches!(report.outcome, PushOutcome::Unauthorized { .. }), "{report:?}");
        assert_eq!(db.borrow().pending_items(10).unwrap().len(), 1);
    }

    #[test]
    fn long_rows_go_in_more_requests_each_under_the_size_cap() {
        let mut db = Database::open_in_memory().unwrap();
        let drafts: Vec<TuneDraft> = (0..600)
            .map(|i| TuneDraft { title: format!("T{i}"), incipit: "a".repeat(4000), ..TuneDraft::default() })
            .collect();
        db.import_tunes(&drafts).unwrap();
        let db = RefCell::new(db);
        let server = FakeServer::new();
        let report = run(&db, &server);
        assert_eq!(report.pushed, 600);
        assert!(report.requests >= 4, "{report:?}");
        assert!(server.max_body.get() <= MAX_REQUEST_BYTES + 64, "{}", server.max_body.get());
    }

    #[test]
    fn large_queues_go_in_batches_of_a_thousand() {
        let titles: Vec<String> = (0..2500).map(|i| format!("T{i}")).collect();
        let db = db_with(&titles.iter().map(String::as_str).collect::<Vec<_>>());
        let server = FakeServer::new();
        let report = run(&db, &server);
        assert_eq!((report.pushed, report.requests), (2500, 3));
        assert_eq!(server.requests.get(), 3);
    }
}
