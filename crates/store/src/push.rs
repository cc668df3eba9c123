//! The push: sends queued changes of every synced table to Supabase through the
//! conditional `push_changes` RPC and records the outcome of each. No database work
//! waits on the network (the worker keeps answering the UI meanwhile): while a request
//! is out, the answer before it is settled and the next changes are read.

use std::cell::RefCell;
use std::collections::VecDeque;

use futures_util::future::join;

use tunebook_core::record::Record;
use tunebook_core::supabase::rest::{self, MISSING_PARENT, PushResult, RestError, RowKey};
use tunebook_core::supabase::{HttpResponse, NetworkError, SupabaseConfig, Transport};
use tunebook_core::sync::{PushOutcome, PushReport, QueueItem};

use crate::db::{Database, DbError, Reconciled};

/// Changes taken from the queue per round: the most the server takes per call. Fewer,
/// larger requests are what makes a big push fast (the server writes a batch in a few
/// set-based statements).
pub const BATCH_SIZE: u32 = 1000;

/// The most JSON one request carries: three quarters of the gateway's 1 MB body limit,
/// so a round of long incipits goes as several requests instead of one refused one.
pub const MAX_REQUEST_BYTES: usize = 768 * 1024;

/// One queued change on its way: its queue item, the row as sent, and the change encoded
/// once as JSON (which also sizes the requests).
struct InFlight {
    item: i64,
    row: Record,
    change: String,
}

/// Changes sent in one request, in queue order.
type Batch = Vec<InFlight>;

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
    let mut run = Run::default();
    // The request answered last, not settled yet: it is settled while the next one is out.
    let mut answered: Option<(Batch, Reply)> = None;
    loop {
        if run.work.is_empty() && answered.is_none() {
            match take_changes(db, &run.waiting) {
                Ok(Some(batches)) => run.take(batches),
                Ok(None) => return run.report,
                Err(e) => {
                    run.report.outcome = PushOutcome::local(&e);
                    return run.report;
                }
            }
        }
        let sending = run.work.pop_front();
        let request = sending.as_ref().map(|batch| {
            let changes: Vec<&str> = batch.iter().map(|c| c.change.as_str()).collect();
            rest::push_changes(config, access_token, &changes)
        });
        if request.is_some() {
            run.report.requests += 1;
        }
        // While a request is out, the answer before it is settled and the next changes
        // are read from the queue, so the server and this device work at the same time.
        // (In the browser the fetch is under way once first polled; a blocking transport
        // just does one after the other.)
        let (reply, settled) = join(
            async {
                match request {
                    Some(request) => Some(transport.send(request).await),
                    None => None,
                }
            },
            async {
                if let Some((batch, reply)) = answered.take() {
                    run.settle(db, batch, reply)?;
                }
                // Only after a full take: a small one (an edit or two) emptied the queue.
                if run.work.is_empty() && run.queue_left {
                    match take_changes(db, &run.waiting) {
                        Ok(Some(batches)) => run.take(batches),
                        Ok(None) => run.queue_left = false,
                        Err(e) => {
                            return Err(Stop { outcome: PushOutcome::local(&e), unsettled: Vec::new() });
                        }
                    }
                }
                Ok(())
            },
        )
        .await;
        match (settled, sending, reply) {
            (Ok(()), Some(batch), Some(reply)) => answered = Some((batch, reply)),
            (Ok(()), _, _) => {}
            (Err(stop), sending, reply) => {
                let mut unsettled = stop.unsettled;
                // The request sent meanwhile: settled if it was answered, else back in line.
                if let (Some(batch), Some(reply)) = (sending, reply)
                    && let Err(also) = run.settle(db, batch, reply)
                {
                    unsettled.extend(also.unsettled);
                }
                unsettled.extend(run.work.iter().flatten().map(|c| c.item));
                let reason = match &stop.outcome {
                    PushOutcome::Retry { reason }
                    | PushOutcome::Unauthorized { reason }
                    | PushOutcome::Stopped { reason } => reason.clone(),
                    _ => String::new(),
                };
                let _ = db.borrow_mut().mark_pending(&unsettled, &reason);
                run.report.outcome = stop.outcome;
                return run.report;
            }
        }
    }
}

/// What a request's transport returned.
type Reply = Result<HttpResponse, NetworkError>;

/// A push under way: its report, what waits for a parent, and the requests to send.
#[derive(Default)]
struct Run {
    report: PushReport,
    /// Changes waiting for their parent: sent again next run, not again in this one.
    waiting: Vec<i64>,
    /// Requests to send, in order; a refused one is replaced by its two halves.
    work: VecDeque<Batch>,
    /// The last read from the queue took all it could: more may be waiting.
    queue_left: bool,
}

/// Why a run stops, and the queue items it leaves unsettled (they go back in line).
struct Stop {
    outcome: PushOutcome,
    unsettled: Vec<i64>,
}

impl Run {
    /// Lines up changes read from the queue.
    fn take(&mut self, batches: Vec<Batch>) {
        self.queue_left = batches.iter().map(Vec::len).sum::<usize>() >= BATCH_SIZE as usize;
        self.work.extend(batches);
    }

    /// Deals with the answer to one request: records what the server did with each
    /// change, splits a batch refused as a whole, or says why the run stops.
    fn settle(&mut self, db: &RefCell<Database>, batch: Batch, reply: Reply) -> Result<(), Stop> {
        let stop = |outcome| Err(Stop { outcome, unsettled: items(&batch) });
        let response = match reply {
            Ok(response) => response,
            Err(e) => return stop(PushOutcome::Retry { reason: e.to_string() }),
        };
        if response.is_success() {
            return match rest::parse_push_results(&response.body) {
                Ok(results) => match record_results(db, &batch, results, &mut self.report, &mut self.waiting)
                {
                    Ok(()) => Ok(()),
                    Err(e) => stop(PushOutcome::local(&e)),
                },
                // Unreadable: sending again is safe (the server skips what it has).
                Err(e) => stop(PushOutcome::Retry { reason: format!("unreadable reply: {e}") }),
            };
        }
        match rest::classify(&response) {
            RestError::Rejected(_) if batch.len() > 1 => {
                let (left, right) = split(batch);
                self.work.push_front(right);
                self.work.push_front(left);
                Ok(())
            }
            RestError::Rejected(message) => match db.borrow_mut().mark_failed(&items(&batch), &message) {
                Ok(()) => {
                    self.report.failed += 1;
                    Ok(())
                }
                Err(e) => stop(PushOutcome::local(&e)),
            },
            RestError::Unauthorized(reason) => stop(PushOutcome::Unauthorized { reason }),
            RestError::Retryable(reason) => stop(PushOutcome::Retry { reason }),
        }
    }
}

/// Takes the next changes from the queue (marking them in flight) and cuts them into
/// requests under the size cap; `None` when nothing is left to send in this run.
fn take_changes(db: &RefCell<Database>, waiting: &[i64]) -> Result<Option<Vec<Batch>>, DbError> {
    loop {
        let taken = db.borrow_mut().begin_push(BATCH_SIZE, waiting)?;
        if taken.is_empty() {
            return Ok(None);
        }
        // Only items whose row is missing: marked failed, look further.
        if let Some(batch) = prepare(db, taken)? {
            return Ok(Some(by_size(batch, MAX_REQUEST_BYTES)));
        }
    }
}

/// Records what the server did with each change of an answered batch.
fn record_results(
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
    let sent: std::collections::HashMap<RowKey, &InFlight> =
        batch.iter().map(|c| ((c.row.table, c.row.id.to_string()), c)).collect();
    for (key, result) in results {
        let Some(&change) = sent.get(&key) else { continue };
        answered.insert(change.item);
        match result {
            PushResult::Applied(applied) => {
                // The server's row now holds exactly what was sent.
                let mut row = change.row.clone();
                row.sync_version = applied.sync_version;
                row.user_id = applied.user_id;
                applied_ids.push(change.item);
                applied_rows.push(row);
            }
            PushResult::Conflict(theirs) => {
                if db.push_conflict(change.item, &theirs)? == Reconciled::Conflict {
                    report.conflicts += 1;
                }
            }
            PushResult::Refused { code, message } if code == MISSING_PARENT => {
                db.mark_pending(
                    &[change.item],
                    &format!("waiting for its parent to reach the server: {message}"),
                )?;
                waiting.push(change.item);
                report.waiting += 1;
            }
            PushResult::Refused { code, message } => {
                db.mark_failed(&[change.item], &format!("{message} [{code}]"))?;
                report.failed += 1;
            }
        }
    }
    report.pushed += applied_ids.len() as u32;
    db.complete_push(&applied_ids, &applied_rows)?;
    let unanswered: Vec<i64> = batch.iter().map(|c| c.item).filter(|id| !answered.contains(id)).collect();
    db.mark_pending(&unanswered, "the server did not answer for this change")
}

/// The queue items of a batch.
fn items(batch: &Batch) -> Vec<i64> {
    batch.iter().map(|c| c.item).collect()
}

/// Builds the changes to send: each row with the version its edit started from. An item
/// whose local row is gone (which no write path produces) cannot be pushed; it is marked
/// failed rather than retried forever.
fn prepare(
    db: &RefCell<Database>,
    batch: Vec<(QueueItem, Option<Record>)>,
) -> Result<Option<Batch>, DbError> {
    let mut out = Batch::new();
    let mut orphans = Vec::new();
    for (item, row) in batch {
        match row {
            Some(row) => out.push(InFlight { item: item.id, change: row.push_change().to_string(), row }),
            None => orphans.push(item.id),
        }
    }
    if !orphans.is_empty() {
        db.borrow_mut().mark_failed(&orphans, "the local row for this change is missing")?;
    }
    Ok((!out.is_empty()).then_some(out))
}

/// Splits a batch into consecutive batches of at most `max_bytes` of JSON each (a single
/// larger change goes alone), keeping their order.
fn by_size(batch: Batch, max_bytes: usize) -> Vec<Batch> {
    let mut out: Vec<Batch> = Vec::new();
    let mut bytes = 0;
    for change in batch {
        let size = change.change.len() + 1;
        match out.last_mut() {
            Some(current) if bytes + size <= max_bytes => {
                bytes += size;
                current.push(change);
            }
            _ => {
                bytes = size;
                out.push(vec![change]);
            }
        }
    }
    out
}

fn split(mut batch: Batch) -> (Batch, Batch) {
    let right = batch.split_off(batch.len() / 2);
    (batch, right)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::native::block_on;
    use serde_json::{Value, json};
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
        /// The network fails for this request only (1: the first).
        drop_request: Cell<Option<u32>>,
    }

    impl FakeServer {
        fn new() -> Self {
            Self {
                requests: Cell::new(0),
                max_body: Cell::new(0),
                fail_with: Cell::new(None),
                network_down: Cell::new(false),
                drop_request: Cell::new(None),
            }
        }
    }

    impl Transport for FakeServer {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, NetworkError> {
            self.requests.set(self.requests.get() + 1);
            let size = request.body.as_deref().map_or(0, str::len);
            self.max_body.set(self.max_body.get().max(size));
            if self.network_down.get() || self.drop_request.get() == Some(self.requests.get()) {
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
                    let version = r["base_version"].as_i64().unwrap_or(1) + 1;
                    let user = "4aaa98dd-b17c-4207-bbdf-7f455076a4a1";
                    if body["versions_only"] == true {
                        json!({"table": table, "id": id, "status": "applied", "sync_version": version, "user_id": user})
                    } else {
                        r["sync_version"] = json!(version);
                        r["user_id"] = json!(user);
                        r["change_number"] = json!(1);
                        json!({"table": table, "id": id, "status": "applied", "row": r})
                    }
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
    fn a_failure_while_the_answer_before_is_settled_loses_nothing() {
        // Three requests. The second's failure is known only once the third is out (the
        // second's answer is settled while the third is in flight): the third is still
        // settled, the second's changes go back in line.
        let titles: Vec<String> = (0..2500).map(|i| format!("T{i}")).collect();
        let db = db_with(&titles.iter().map(String::as_str).collect::<Vec<_>>());
        let server = FakeServer::new();
        server.drop_request.set(Some(2));
        let report = run(&db, &server);
        assert!(matches!(report.outcome, PushOutcome::Retry { .. }), "{report:?}");
        assert_eq!((report.pushed, report.requests), (1500, 3), "{report:?}");
        let stats = db.borrow().queue_stats().unwrap();
        assert_eq!((stats.pending, stats.syncing), (1000, 0), "{stats:?}");
        server.drop_request.set(None);
        assert_eq!(run(&db, &server).pushed, 1000);
        assert_eq!(db.borrow().queue_stats().unwrap().unsynced(), 0);
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
