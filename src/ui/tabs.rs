//! Every tab live: the browser edge of `tunebook_core::tabs`. This tab's conversation with
//! the others on one `BroadcastChannel`: as a follower it sends its database requests to
//! the leader and waits for the answers (sending them again when a new leader announces
//! itself); as the leader it answers the others' requests from its worker, tells every
//! tab which tables each write changed, and pushes their writes. Who leads is settled by
//! a Web Lock (`tab_lock`): the tabs queue for it, so when the leader's tab closes the
//! next one takes over by itself (`promote`, in `app`). The leader also tells the others
//! what its sync is doing, and they show it ([`share_sync_state`]).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures_channel::oneshot;
use leptos::prelude::*;
use leptos::task::spawn_local;
use tunebook_core::domain::Uuid;
use tunebook_core::protocol::{self, Request, Response, WorkerError};
use tunebook_core::tables::TableId;
use tunebook_core::tabs::{CHANNEL, Outstanding, TabMessage, request_key};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, MessageEvent};

use super::context::AppContext;

/// Where the leader's answer goes: the worker's `result`, still encoded.
type Reply = oneshot::Sender<String>;

/// This tab's end of the channel.
struct Hub {
    tab: String,
    channel: BroadcastChannel,
    /// Answers this tab's own database requests from its worker, and the others'.
    leading: Cell<bool>,
    outstanding: RefCell<Outstanding>,
    replies: RefCell<HashMap<u64, Reply>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

thread_local! {
    static HUB: RefCell<Option<Rc<Hub>>> = const { RefCell::new(None) };
}

fn hub() -> Option<Rc<Hub>> {
    HUB.with(|h| h.borrow().clone())
}

/// Joins the tabs' channel (once per page).
pub fn join(app: AppContext) -> Result<(), String> {
    if hub().is_some() {
        return Ok(());
    }
    let channel = BroadcastChannel::new(CHANNEL).map_err(|e| super::db_client::js_error_text(&e))?;
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        if let Some(message) = event.data().as_string().as_deref().and_then(TabMessage::decode) {
            receive(app, message);
        }
    });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    let tab = Uuid::now_v7().to_string();
    let hub = Hub {
        tab: tab.clone(),
        channel,
        leading: Cell::new(false),
        outstanding: RefCell::new(Outstanding::new(tab)),
        replies: RefCell::new(HashMap::new()),
        _on_message: on_message,
    };
    HUB.with(|h| *h.borrow_mut() = Some(Rc::new(hub)));
    Ok(())
}

fn post(hub: &Hub, message: &TabMessage) {
    let _ = hub.channel.post_message(&JsValue::from_str(&message.encode()));
}

/// This tab now answers for the database: tells the others, which send again whatever
/// they were waiting on.
pub fn now_leading() {
    if let Some(hub) = hub() {
        hub.leading.set(true);
        post(&hub, &TabMessage::Leader { tab: hub.tab.clone() });
        // For tests and benchmarks: which tab leads shows on the page (`data-tab-role`).
        if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            let _ = root.set_attribute("data-tab-role", "leader");
        }
    }
}

/// Tells the other tabs that rows of these tables changed here.
pub fn changed(tables: &[TableId]) {
    if let Some(hub) = hub() {
        post(&hub, &TabMessage::Changed { tables: tables.to_vec(), from: hub.tab.clone() });
    }
}

/// While this tab leads, tells the others whenever what its sync shows changes (a run
/// starts or ends, a pull makes progress, the live channel connects or fails). Called
/// once, from the root component (the effect lives as long as the page).
pub fn share_sync_state(app: AppContext) {
    let shown = Memo::new(move |_| app.sync.shown());
    Effect::new(move |_| {
        let state = shown.get();
        if let Some(hub) = hub().filter(|hub| hub.leading.get()) {
            post(&hub, &TabMessage::SyncState(state));
        }
    });
}

/// Asks the leader tab what its sync is doing (it answers with a `SyncState`).
pub fn ask_sync_state() {
    if let Some(hub) = hub() {
        post(&hub, &TabMessage::Hello);
    }
}

/// Tells the other tabs that the account changed here (they reload to follow).
pub fn account_changed() {
    if let Some(hub) = hub() {
        post(&hub, &TabMessage::Account);
    }
}

/// Sends a request to the leader tab and waits for its answer (however many leaders
/// that takes).
pub async fn relay(request: &Request) -> Result<Response, WorkerError> {
    let hub =
        hub().ok_or_else(|| WorkerError::WorkerStopped("this tab is not connected to the others".into()))?;
    let (reply, answer) = oneshot::channel();
    let (id, text) = hub.outstanding.borrow_mut().send(request);
    hub.replies.borrow_mut().insert(id, reply);
    let _ = hub.channel.post_message(&JsValue::from_str(&text));
    let result = answer.await;
    hub.outstanding.borrow_mut().forget(id);
    match result {
        Ok(raw) => super::db_client::decode_result(&raw),
        Err(_) => Err(WorkerError::WorkerStopped("the request was dropped".into())),
    }
}

/// A failure as the encoded `result` the worker would have written.
fn failed(error: &WorkerError) -> String {
    format!(r#"{{"Err":{}}}"#, protocol::encode(error))
}

/// A request this tab relayed that no leader answered.
pub struct Unanswered {
    /// The key it was relayed under: a leader that applied it before answers it from there.
    pub key: String,
    /// The request, encoded.
    pub request: String,
    reply: Option<Reply>,
}

impl Unanswered {
    /// Hands the worker's answer (encoded `result`) to whoever is waiting for it.
    pub fn answer(self, result: Result<String, WorkerError>) {
        if let Some(reply) = self.reply {
            let _ = reply.send(result.unwrap_or_else(|e| failed(&e)));
        }
    }
}

/// The requests this tab relayed that no leader answered, taken to be answered by this
/// tab's own worker (it has just become the leader).
pub fn take_unanswered() -> Vec<Unanswered> {
    let Some(hub) = hub() else {
        return Vec::new();
    };
    let taken = hub.outstanding.borrow_mut().take_all();
    taken
        .into_iter()
        .map(|(id, key, request)| Unanswered { key, request, reply: hub.replies.borrow_mut().remove(&id) })
        .collect()
}

fn receive(app: AppContext, message: TabMessage) {
    let Some(hub) = hub() else {
        return;
    };
    match message {
        TabMessage::Request { from, id, request, writes } if hub.leading.get() => {
            spawn_local(answer(app, hub, from, id, request, writes));
        }
        TabMessage::Request { .. } => {}
        response @ TabMessage::Response { .. } => {
            let answered = hub.outstanding.borrow_mut().answer(response);
            if let Some((id, result)) = answered
                && let Some(reply) = hub.replies.borrow_mut().remove(&id)
            {
                let _ = reply.send(result);
            }
        }
        TabMessage::Changed { tables, from } if from != hub.tab => {
            app.changes.bump(&tables);
            spawn_local(async move { app.sync.refresh_stats(app).await });
        }
        TabMessage::Changed { .. } => {}
        TabMessage::Leader { tab } if tab != hub.tab => {
            for text in hub.outstanding.borrow().replay() {
                let _ = hub.channel.post_message(&JsValue::from_str(&text));
            }
        }
        TabMessage::Leader { .. } => {}
        TabMessage::SyncState(state) if !hub.leading.get() => app.sync.follow(app, state),
        TabMessage::SyncState(_) => {}
        TabMessage::Hello if hub.leading.get() => {
            post(&hub, &TabMessage::SyncState(untrack(|| app.sync.shown())));
        }
        TabMessage::Hello => {}
        TabMessage::Account => {
            if let Some(window) = web_sys::window() {
                let _ = window.location().reload();
            }
        }
    }
}

/// The leader answers another tab's request from its worker, under the request's key so
/// that a replay is never applied twice; a write is announced and pushed.
async fn answer(app: AppContext, hub: Rc<Hub>, from: String, id: u64, request: String, writes: Vec<TableId>) {
    let result = match app.db() {
        Some(db) => db.request_relayed(request, &request_key(&from, id)).await,
        None => Err(WorkerError::NotOpen),
    };
    let result = result.unwrap_or_else(|e| failed(&e));
    let wrote = result.starts_with(r#"{"Ok""#) && !writes.is_empty();
    post(&hub, &TabMessage::Response { to: from.clone(), id, result });
    if wrote {
        app.changes.bump(&writes);
        post(&hub, &TabMessage::Changed { tables: writes, from });
        app.sync.soon(app);
    }
}
