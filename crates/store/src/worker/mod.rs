//! The database worker: a dedicated Web Worker that owns the SQLite connection.
//!
//! Requests arrive as JSON text. Data requests are answered strictly in arrival order,
//! so writes never interleave; a push runs alongside them (it touches the database only
//! between network requests) and answers when it ends. Only the storage ([`storage`])
//! and the `postMessage` plumbing here are browser code; the rest is [`crate::service`]
//! and [`crate::push`].

pub mod storage;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Waker};

use futures_channel::oneshot;
use futures_util::StreamExt;
use tunebook_core::protocol::{
    self, OpenInfo, Request, RequestEnvelope, Response, ResponseEnvelope, WorkerError,
};
use tunebook_core::supabase::fetch::FetchTransport;
use tunebook_core::supabase::{SupabaseConfig, Transport};
use tunebook_core::sync::{PushOutcome, PushReport};
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::db::Database;
use crate::service::Answer;
use crate::{pull, push, service};
use storage::Backing;

/// The open database.
struct OpenDb {
    name: String,
    db: Rc<RefCell<Database>>,
    /// The pull's next page, asked for while the one before is applied.
    ahead: Rc<pull::ReadAhead>,
}

/// One network job (push or pull) at a time; database switches wait for it to finish.
#[derive(Default)]
struct NetGate {
    running: Cell<bool>,
    waiting: RefCell<Vec<oneshot::Sender<()>>>,
}

impl NetGate {
    async fn idle(&self) {
        if !self.running.get() {
            return;
        }
        let (done, wait) = oneshot::channel();
        self.waiting.borrow_mut().push(done);
        let _ = wait.await;
    }

    fn finish(&self) {
        self.running.set(false);
        for waiter in self.waiting.borrow_mut().drain(..) {
            let _ = waiter.send(());
        }
    }
}

/// How a message is answered.
pub enum Reply {
    /// The answer, now.
    Now(String),
    /// The answer, when this future ends (a push).
    Later(Pin<Box<dyn Future<Output = String>>>),
}

/// The worker's state: where databases live, and the open one.
#[derive(Default)]
pub struct WorkerState {
    backing: Option<Backing>,
    open: Option<OpenDb>,
    net: Rc<NetGate>,
}

impl WorkerState {
    /// Answers one message (JSON text in, JSON text out).
    pub async fn handle_text(&mut self, text: &str) -> Reply {
        match protocol::decode_request(text) {
            Ok(RequestEnvelope { id, request: Request::Push { config, access_token }, .. }) => {
                Reply::Later(self.network_task(id, Job::Push, config, access_token))
            }
            Ok(RequestEnvelope { id, request: Request::Pull { config, access_token }, .. }) => {
                Reply::Later(self.network_task(id, Job::Pull, config, access_token))
            }
            Ok(RequestEnvelope { id, request, key }) => {
                Reply::Now(self.handle(request, key.as_deref()).await.envelope(id))
            }
            Err((id, error)) => {
                Reply::Now(protocol::encode(&ResponseEnvelope { id: id.unwrap_or(0), result: Err(error) }))
            }
        }
    }

    /// The files OPFS holds (tests check that deleted databases are gone).
    pub fn files(&self) -> Vec<String> {
        self.backing.as_ref().map(Backing::files).unwrap_or_default()
    }

    async fn handle(&mut self, request: Request, key: Option<&str>) -> Answer {
        match request {
            Request::Open { .. } | Request::Adopt { .. } | Request::DeleteDatabase { .. } => {
                Answer::Now(self.handle_files(request).await)
            }
            // Data requests, keyed when relayed from another tab.
            request => match self.open_db() {
                Ok((open, _)) => service::handle_keyed(&mut open.db.borrow_mut(), request, key),
                Err(e) => Answer::Now(Err(e)),
            },
        }
    }

    /// Opening, adopting and deleting database files.
    async fn handle_files(&mut self, request: Request) -> Result<Response, WorkerError> {
        match request {
            Request::Open { name, device_id } => self.open(name, device_id).await,
            Request::Adopt { from } => {
                self.net.idle().await;
                let (open, backing) = self.open_db()?;
                if matches!(backing, Backing::Memory { .. }) || open.name == from {
                    // In memory there is one database for the whole session.
                    return Ok(Response::Adopted { tunes: 0 });
                }
                let tunes = open.db.borrow_mut().adopt_from(&from)?;
                backing.delete(&from)?;
                Ok(Response::Adopted { tunes })
            }
            Request::DeleteDatabase { name } => {
                self.net.idle().await;
                if self.open.as_ref().is_some_and(|o| o.name == name) {
                    self.close()?;
                }
                self.backing()?.delete(&name)?;
                Ok(Response::Done)
            }
            _ => Err(WorkerError::BadMessage("not a request about database files".into())),
        }
    }

    async fn open(&mut self, name: String, device_id: Option<String>) -> Result<Response, WorkerError> {
        self.net.idle().await;
        if self.backing.is_none() {
            self.backing = Some(Backing::acquire().await?);
        }
        let in_memory = matches!(self.backing, Some(Backing::Memory { .. }));
        match self.open.as_mut() {
            // In memory, switching would throw away what the musician did this session.
            Some(open) if in_memory => open.name = name,
            // Already open (another tab opening the database this worker serves for it).
            Some(open) if open.name == name => {}
            _ => {
                self.close()?;
                let db = self.backing()?.open(&name, device_id.as_deref())?;
                self.open =
                    Some(OpenDb { name, db: Rc::new(RefCell::new(db)), ahead: Rc::new(read_ahead()) });
            }
        }
        let (open, backing) = self.open_db()?;
        let device_id = open.db.borrow().device_id().to_string();
        Ok(Response::Opened(OpenInfo { storage: backing.storage(), device_id }))
    }

    /// Closes the open database (a push holding it has finished: callers wait first).
    fn close(&mut self) -> Result<(), WorkerError> {
        if let Some(open) = self.open.take() {
            match Rc::try_unwrap(open.db) {
                Ok(db) => db.into_inner().close()?,
                Err(_) => return Err(WorkerError::StorageBusy("the database is still in use".into())),
            }
        }
        Ok(())
    }

    fn backing(&self) -> Result<&Backing, WorkerError> {
        self.backing.as_ref().ok_or(WorkerError::NotOpen)
    }

    fn open_db(&self) -> Result<(&OpenDb, &Backing), WorkerError> {
        match (&self.open, &self.backing) {
            (Some(open), Some(backing)) => Ok((open, backing)),
            _ => Err(WorkerError::NotOpen),
        }
    }

    /// A push or a pull: one at a time (they touch the same rows), alongside data requests.
    fn network_task(
        &self,
        id: u64,
        job: Job,
        config: SupabaseConfig,
        token: String,
    ) -> Pin<Box<dyn Future<Output = String>>> {
        let db = self.open.as_ref().map(|o| o.db.clone());
        let ahead = self.open.as_ref().map(|o| o.ahead.clone());
        let gate = self.net.clone();
        // A push is claimed now, not when the task first runs, so two quick requests
        // cannot both push; the second reports that one is running. A pull waits its turn.
        let claimed = db.is_some() && job == Job::Push && !gate.running.replace(true);
        Box::pin(async move {
            let result = match (db, job) {
                (None, _) => Err(WorkerError::NotOpen),
                (Some(_), Job::Push) if !claimed => Ok(Response::Pushed(PushReport {
                    outcome: PushOutcome::AlreadyRunning,
                    ..PushReport::default()
                })),
                (Some(db), Job::Push) => {
                    // A page read before this push could predate what it changes.
                    if let Some(ahead) = &ahead {
                        ahead.forget();
                    }
                    let report = push::push(&db, &FetchTransport::default(), &config, &token).await;
                    gate.finish();
                    Ok(Response::Pushed(report))
                }
                (Some(db), Job::Pull) => {
                    while gate.running.replace(true) {
                        gate.idle().await;
                    }
                    let outcome =
                        pull::pull_page(&db, &FetchTransport::default(), &config, &token, ahead.as_deref())
                            .await;
                    gate.finish();
                    Ok(Response::Pulled(outcome))
                }
            };
            protocol::encode(&ResponseEnvelope { id, result })
        })
    }
}

/// Reads pull pages ahead with `fetch`, in the background.
fn read_ahead() -> pull::ReadAhead {
    pull::ReadAhead::new(|request| {
        let (reply, pending) = oneshot::channel();
        let mut fetch = Box::pin(async move {
            // Nobody waits any more when the page was forgotten: nothing to do.
            let _ = reply.send(FetchTransport::default().send(request).await);
        });
        // Start the request now: applying the page before it keeps this thread busy, and a
        // spawned task would only make its first step (the fetch) after that.
        let started = fetch.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        if started.is_pending() {
            wasm_bindgen_futures::spawn_local(fetch);
        }
        pending
    })
}

/// The network jobs the worker runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Job {
    Push,
    Pull,
}

/// The worker's entry point: wires `onmessage` to the request loop.
pub fn start() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let (sender, mut receiver) = futures_channel::mpsc::unbounded::<String>();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        // Anything but text is not ours; the sender only fails once the loop has ended.
        if let Some(text) = event.data().as_string() {
            let _ = sender.unbounded_send(text);
        }
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
    let _ = scope.post_message(&JsValue::from_str(protocol::WORKER_READY));
    wasm_bindgen_futures::spawn_local(async move {
        let mut state = WorkerState::default();
        while let Some(text) = receiver.next().await {
            match state.handle_text(&text).await {
                // Posting a string cannot fail while the worker is alive.
                Reply::Now(reply) => {
                    let _ = scope.post_message(&JsValue::from_str(&reply));
                }
                Reply::Later(task) => {
                    let scope = scope.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        let reply = task.await;
                        let _ = scope.post_message(&JsValue::from_str(&reply));
                    });
                }
            }
        }
    });
}
