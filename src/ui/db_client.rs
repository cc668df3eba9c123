//! The UI's handle on the database: this tab's own worker when it leads, else the leader
//! tab's, through `tabs` (a follower that becomes leader switches over, and every clone
//! of the client with it). With its own worker it sends typed requests, matches each
//! response to its request by id, and fails every waiting request if the worker dies. A worker
//! that crashes (an uncaught error: a panic, say) is replaced by a new one that reopens
//! the same database, so the musician's next try works; every clone of the client keeps
//! working through it. When the page goes away the client stops its worker itself (see
//! [`Inner::page_hidden`]).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use futures_channel::oneshot;
use send_wrapper::SendWrapper;
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, PageTransitionEvent, Worker, WorkerOptions, WorkerType};

use tunebook_core::domain::{Tune, TuneDraft, Uuid};
use tunebook_core::list::{ListQuery, TunePage};
use tunebook_core::merge::{Conflict, Part, Side};
use tunebook_core::protocol::{self, OpenInfo, Request, Response, WorkerError};
use tunebook_core::supabase::SupabaseConfig;
use tunebook_core::sync::{PullOutcome, PushReport, QueueItem, QueueStats, UnreadableRow};

use super::tabs;

/// Where Trunk puts the worker's loader (worker files are never content-hashed).
const WORKER_PATH: &str = "/tunebook-worker_loader.js";
/// Crashed workers replaced in one client's life before it gives up (a worker that
/// crashes at every start must not loop).
const MAX_RESTARTS: u32 = 3;

/// Where a worker's answer goes: its `result`, still encoded (see [`ask`]).
type Reply = oneshot::Sender<Result<String, WorkerError>>;

struct Inner {
    worker: RefCell<Worker>,
    next_id: Cell<u64>,
    /// The last `Open` sent: a replacement worker reopens the same database.
    last_open: RefCell<Option<Request>>,
    restarts: Cell<u32>,
    pending: RefCell<HashMap<u64, Reply>>,
    /// Requests written before the worker said it is ready; sent when it does.
    held_back: RefCell<Option<Vec<String>>>,
    /// Set once the worker is gone; later requests fail at once with this reason.
    stopped: RefCell<Option<String>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
    /// `pagehide` and `pageshow` on the window, removed when the client goes.
    on_page_hide: Closure<dyn FnMut(PageTransitionEvent)>,
    on_page_show: Closure<dyn FnMut(PageTransitionEvent)>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            for (kind, listener) in
                [("pagehide", self.on_page_hide.as_ref()), ("pageshow", self.on_page_show.as_ref())]
            {
                let _ = window.remove_event_listener_with_callback(kind, listener.unchecked_ref());
            }
        }
    }
}

impl Inner {
    /// Stops for good: this and every later request fail with `reason`.
    fn stop(&self, reason: String) {
        self.worker.borrow().terminate();
        *self.stopped.borrow_mut() = Some(reason.clone());
        self.fail_pending(&reason);
    }

    /// The page is being left (navigation, reload, tab closed). The worker is stopped now,
    /// while the document still exists: when Chromium (156) tears a dedicated worker down
    /// itself after the document is gone, its worker thread sometimes segfaults (a null
    /// dereference) and takes the renderer, and with it the next page, down: 5 of 7 runs of
    /// quick navigations crashed by the 20th, none of 6 runs of 120 once the page stopped
    /// its worker here. Stopping it early also frees the database files sooner for the
    /// next page's worker. A write in flight is a SQLite transaction: it commits or rolls
    /// back, as after any crash. What is waiting is left waiting, not failed: failing it
    /// would set the page's error paths running while it unloads (a page that asks again at
    /// once kept the main thread busy and the navigation never finished).
    fn page_hidden(&self) {
        self.worker.borrow().terminate();
    }

    fn fail_pending(&self, reason: &str) {
        for (_, reply) in self.pending.borrow_mut().drain() {
            let _ = reply.send(Err(WorkerError::WorkerStopped(reason.to_string())));
        }
    }

    /// The worker crashed: what was waiting fails with `reason`, and a new worker takes
    /// its place, reopening the database before anything else is sent to it.
    fn crashed(&self, reason: String) {
        self.worker.borrow().terminate();
        self.fail_pending(&reason);
        if self.stopped.borrow().is_some() {
            return;
        }
        if self.restarts.get() >= MAX_RESTARTS {
            return self.stop(format!("{reason} (the database worker keeps failing; reload the page)"));
        }
        self.restarts.set(self.restarts.get() + 1);
        let worker = match new_worker() {
            Ok(worker) => worker,
            Err(e) => return self.stop(format!("{reason}; a new database worker could not start: {e}")),
        };
        worker.set_onmessage(Some(self._on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(self._on_error.as_ref().unchecked_ref()));
        *self.worker.borrow_mut() = worker;
        // Held back until the new worker is ready, the reopening first.
        let mut held_back = Vec::new();
        if let Some(open) = self.last_open.borrow().clone() {
            let id = self.next_id.get();
            self.next_id.set(id + 1);
            held_back.push(protocol::envelope_text(id, &protocol::encode(&open), None));
        }
        *self.held_back.borrow_mut() = Some(held_back);
    }
}

fn new_worker() -> Result<Worker, WorkerError> {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    Worker::new_with_options(&super::paths::href(WORKER_PATH), &options)
        .map_err(|e| WorkerError::WorkerStopped(js_error_text(&e)))
}

/// Where this tab's requests go.
#[derive(Clone)]
enum Mode {
    /// This tab's own worker (it leads).
    Worker(Rc<Inner>),
    /// The leader tab, over the tabs' channel.
    Relayed,
}

/// A cloneable handle on the database (single-threaded; safe to keep in signals).
#[derive(Clone)]
pub struct DbClient(SendWrapper<Rc<RefCell<Mode>>>);

/// Starts a worker. It does nothing until it is sent `Open`.
fn spawn_worker() -> Result<Rc<Inner>, WorkerError> {
    let worker = new_worker()?;
    let inner = Rc::new_cyclic(|weak: &Weak<Inner>| {
        let on_message = {
            let weak = weak.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                if let Some(inner) = weak.upgrade() {
                    deliver(&inner, event);
                }
            })
        };
        let on_error = {
            let weak = weak.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                // A script error is an ErrorEvent with a message; a worker that fails
                // to load gets a plain Event.
                let detail = event
                    .dyn_ref::<ErrorEvent>()
                    .map(|e| e.message())
                    .unwrap_or_else(|| "its code could not be loaded".into());
                if let Some(inner) = weak.upgrade() {
                    inner.crashed(format!("the database worker failed: {detail}"));
                }
            })
        };
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let on_page_hide = {
            let weak = weak.clone();
            Closure::<dyn FnMut(PageTransitionEvent)>::new(move |_: PageTransitionEvent| {
                if let Some(inner) = weak.upgrade() {
                    inner.page_hidden();
                }
            })
        };
        // A page kept in the back/forward cache comes back without its worker: load it
        // afresh rather than show a page whose every request fails.
        let on_page_show = Closure::<dyn FnMut(PageTransitionEvent)>::new(|event: PageTransitionEvent| {
            if event.persisted()
                && let Some(window) = web_sys::window()
            {
                let _ = window.location().reload();
            }
        });
        if let Some(window) = web_sys::window() {
            for (kind, listener) in [("pagehide", &on_page_hide), ("pageshow", &on_page_show)] {
                let _ = window.add_event_listener_with_callback(kind, listener.as_ref().unchecked_ref());
            }
        }
        Inner {
            worker: RefCell::new(worker),
            next_id: Cell::new(1),
            last_open: RefCell::new(None),
            restarts: Cell::new(0),
            pending: RefCell::new(HashMap::new()),
            held_back: RefCell::new(Some(Vec::new())),
            stopped: RefCell::new(None),
            _on_message: on_message,
            _on_error: on_error,
            on_page_hide,
            on_page_show,
        }
    });
    Ok(inner)
}

/// Sends one request to a worker and waits for its answer.
async fn ask(inner: &Inner, request: Request) -> Result<Response, WorkerError> {
    if matches!(request, Request::Open { .. }) {
        *inner.last_open.borrow_mut() = Some(request.clone());
    }
    let raw = ask_raw(inner, protocol::encode(&request), None).await?;
    let result = decode_result(&raw);
    // A reply we cannot read means UI and worker disagree on the protocol (a stale
    // cached worker after a deploy); nothing later can be trusted, so stop cleanly.
    if let Err(WorkerError::BadMessage(e)) = &result {
        inner.stop(format!("unreadable reply from the database worker: {e}"));
    }
    result
}

/// A worker's `result` text as the typed answer.
pub(super) fn decode_result(raw: &str) -> Result<Response, WorkerError> {
    serde_json::from_str::<Result<Response, WorkerError>>(raw)
        .unwrap_or_else(|e| Err(WorkerError::BadMessage(e.to_string())))
}

/// Sends an encoded request to a worker and returns its encoded `result`: how the
/// leader passes the other tabs' requests on without decoding them.
async fn ask_raw(inner: &Inner, request_json: String, key: Option<&str>) -> Result<String, WorkerError> {
    if let Some(reason) = inner.stopped.borrow().clone() {
        return Err(WorkerError::WorkerStopped(reason));
    }
    let id = inner.next_id.get();
    inner.next_id.set(id + 1);
    let (reply, answer) = oneshot::channel();
    inner.pending.borrow_mut().insert(id, reply);
    let text = protocol::envelope_text(id, &request_json, key);
    if let Some(held_back) = inner.held_back.borrow_mut().as_mut() {
        held_back.push(text);
    } else if let Err(e) = inner.worker.borrow().post_message(&JsValue::from_str(&text)) {
        inner.pending.borrow_mut().remove(&id);
        return Err(WorkerError::WorkerStopped(js_error_text(&e)));
    }
    answer.await.unwrap_or_else(|_| Err(WorkerError::WorkerStopped("the request was dropped".into())))
}

impl DbClient {
    /// Starts this tab's own worker (the tab leads).
    pub fn spawn() -> Result<Self, WorkerError> {
        Ok(Self(SendWrapper::new(Rc::new(RefCell::new(Mode::Worker(spawn_worker()?))))))
    }

    /// A client for a tab that follows: its requests go to the leader tab.
    pub fn relayed() -> Self {
        Self(SendWrapper::new(Rc::new(RefCell::new(Mode::Relayed))))
    }

    /// This tab takes the lead: from now on its requests go to its own new worker.
    pub fn lead(&self) -> Result<(), WorkerError> {
        if matches!(*self.0.borrow(), Mode::Relayed) {
            let worker = spawn_worker()?;
            *self.0.borrow_mut() = Mode::Worker(worker);
        }
        Ok(())
    }

    /// Whether this tab's own worker answers (the tab leads).
    pub fn leads(&self) -> bool {
        matches!(*self.0.borrow(), Mode::Worker(_))
    }

    /// Sends one request and waits for its answer. A write made by the leader's own
    /// pages is announced to the other tabs (the leader announces the followers' writes
    /// as it answers them).
    pub async fn request(&self, request: Request) -> Result<Response, WorkerError> {
        let tables = request.writes();
        let mode = self.0.borrow().clone();
        match mode {
            Mode::Worker(inner) => {
                let result = ask(&inner, request).await;
                if result.is_ok() && !tables.is_empty() {
                    tabs::changed(tables);
                }
                result
            }
            Mode::Relayed => tabs::relay(&request).await,
        }
    }

    /// The leader answers another tab's request (encoded) under its key (see
    /// `tunebook_core::tabs`), with the worker's encoded `result`.
    pub async fn request_relayed(&self, request_json: String, key: &str) -> Result<String, WorkerError> {
        let mode = self.0.borrow().clone();
        match mode {
            Mode::Worker(inner) => ask_raw(&inner, request_json, Some(key)).await,
            Mode::Relayed => Err(WorkerError::NotOpen),
        }
    }

    /// Stops the worker (releasing its storage) and fails anything still waiting.
    pub fn terminate(&self, reason: &str) {
        if let Mode::Worker(inner) = &*self.0.borrow() {
            inner.stop(reason.to_string());
        }
    }

    /// Opens the named database (closing the open one); a new database takes `device_id`.
    pub async fn open(&self, name: &str, device_id: Option<String>) -> Result<OpenInfo, WorkerError> {
        match self.request(Request::Open { name: name.into(), device_id }).await? {
            Response::Opened(info) => Ok(info),
            other => Err(unexpected(other)),
        }
    }

    /// One page of the tune list.
    pub async fn list_tunes(&self, query: ListQuery) -> Result<TunePage, WorkerError> {
        match self.request(Request::ListTunes(query)).await? {
            Response::Page(page) => Ok(page),
            other => Err(unexpected(other)),
        }
    }

    /// A live tune, or `None`.
    pub async fn get_tune(&self, id: Uuid) -> Result<Option<Tune>, WorkerError> {
        match self.request(Request::GetTune { id }).await? {
            Response::Tune(tune) => Ok(tune),
            other => Err(unexpected(other)),
        }
    }

    /// Creates a tune (`id: None`) or updates one; returns the stored row.
    pub async fn save_tune(&self, id: Option<Uuid>, draft: TuneDraft) -> Result<Tune, WorkerError> {
        let request = match id {
            Some(id) => Request::UpdateTune { id, draft },
            None => Request::CreateTune { draft },
        };
        match self.request(request).await? {
            Response::Saved(tune) => Ok(tune),
            other => Err(unexpected(other)),
        }
    }

    /// Soft-deletes a tune.
    pub async fn delete_tune(&self, id: Uuid) -> Result<(), WorkerError> {
        match self.request(Request::DeleteTune { id }).await? {
            Response::Deleted => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Stores many tunes in one transaction.
    pub async fn import_tunes(&self, drafts: Vec<TuneDraft>) -> Result<usize, WorkerError> {
        match self.request(Request::ImportTunes { drafts }).await? {
            Response::Imported { count } => Ok(count),
            other => Err(unexpected(other)),
        }
    }
}

impl DbClient {
    /// Moves the tunes and unsynced changes of database `from` into the open one.
    pub async fn adopt(&self, from: &str) -> Result<usize, WorkerError> {
        match self.request(Request::Adopt { from: from.into() }).await? {
            Response::Adopted { tunes } => Ok(tunes),
            other => Err(unexpected(other)),
        }
    }

    /// Closes (if open) and deletes a database's files.
    pub async fn delete_database(&self, name: &str) -> Result<(), WorkerError> {
        self.run(Request::DeleteDatabase { name: name.into() }).await
    }

    /// Pushes queued changes to Supabase.
    pub async fn push(
        &self,
        config: SupabaseConfig,
        access_token: String,
    ) -> Result<PushReport, WorkerError> {
        match self.request(Request::Push { config, access_token }).await? {
            Response::Pushed(report) => Ok(report),
            other => Err(unexpected(other)),
        }
    }

    /// Pulls and applies one page of the account's changes.
    pub async fn pull(
        &self,
        config: SupabaseConfig,
        access_token: String,
    ) -> Result<PullOutcome, WorkerError> {
        match self.request(Request::Pull { config, access_token }).await? {
            Response::Pulled(outcome) => Ok(outcome),
            other => Err(unexpected(other)),
        }
    }

    /// Conflicts waiting for the musician.
    pub async fn conflicts(&self) -> Result<Vec<Conflict>, WorkerError> {
        match self.request(Request::Conflicts).await? {
            Response::Conflicts(conflicts) => Ok(conflicts),
            other => Err(unexpected(other)),
        }
    }

    /// Settles a conflict, each conflicting part from the chosen side.
    pub async fn resolve_conflict(&self, id: i64, choices: Vec<(Part, Side)>) -> Result<(), WorkerError> {
        self.run(Request::ResolveConflict { id, choices }).await
    }

    /// Counts of queued changes.
    pub async fn queue_stats(&self) -> Result<QueueStats, WorkerError> {
        match self.request(Request::QueueStats).await? {
            Response::Stats(stats) => Ok(stats),
            other => Err(unexpected(other)),
        }
    }

    /// Changes the server refused.
    pub async fn failed_items(&self) -> Result<Vec<QueueItem>, WorkerError> {
        match self.request(Request::FailedItems).await? {
            Response::Items(items) => Ok(items),
            other => Err(unexpected(other)),
        }
    }

    /// Pulled rows this device could not read.
    pub async fn quarantined(&self) -> Result<Vec<UnreadableRow>, WorkerError> {
        match self.request(Request::Quarantined).await? {
            Response::Quarantined(rows) => Ok(rows),
            other => Err(unexpected(other)),
        }
    }

    /// Every synced row on this device as a JSON document (for "Export my data").
    pub async fn export(&self) -> Result<String, WorkerError> {
        match self.request(Request::Export).await? {
            Response::Exported(json) => Ok(json),
            other => Err(unexpected(other)),
        }
    }

    /// Sends a refused change again on the next push.
    pub async fn retry_failed(&self, id: i64) -> Result<(), WorkerError> {
        self.run(Request::RetryFailed { id }).await
    }

    /// Drops a refused change for good.
    pub async fn discard_failed(&self, id: i64) -> Result<(), WorkerError> {
        self.run(Request::DiscardFailed { id }).await
    }
}

/// Routes a worker message to the request waiting for it.
fn deliver(inner: &Inner, event: MessageEvent) {
    let Some(text) = event.data().as_string() else {
        return;
    };
    if text == protocol::WORKER_READY {
        let held_back = inner.held_back.borrow_mut().take().unwrap_or_default();
        for text in held_back {
            if let Err(e) = inner.worker.borrow().post_message(&JsValue::from_str(&text)) {
                inner.stop(js_error_text(&e));
                return;
            }
        }
        return;
    }
    match protocol::split_response(&text) {
        Some((id, result)) => {
            if let Some(reply) = inner.pending.borrow_mut().remove(&id) {
                let _ = reply.send(Ok(result.to_string()));
            }
        }
        // A reply we cannot read means UI and worker disagree on the protocol (a stale
        // cached worker after a deploy); nothing later can be trusted, so stop cleanly.
        None => inner.stop("unreadable reply from the database worker".to_string()),
    }
}

/// The error for an answer of the wrong kind.
pub(super) fn unexpected(response: Response) -> WorkerError {
    WorkerError::BadMessage(format!("unexpected reply: {}", response.kind()))
}

/// The readable text of a JavaScript error value.
pub fn js_error_text(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}
