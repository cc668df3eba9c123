//! The database worker: a dedicated Web Worker that owns the SQLite connection.
//!
//! Requests arrive as JSON text and are answered strictly in arrival order, so the UI
//! never blocks and writes never interleave. Only the storage opening ([`storage`]) and
//! the `postMessage` plumbing here are browser code; the handling is [`crate::service`].

pub mod storage;

use futures_util::StreamExt;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use tunebook_core::protocol::{self, Request, Response, ResponseEnvelope, WorkerError};

use crate::db::Database;
use crate::service;

/// The worker's state: the open database, once `Open` succeeded.
#[derive(Default)]
pub struct WorkerState {
    db: Option<Database>,
}

impl WorkerState {
    /// Answers one message (JSON text in, JSON text out).
    pub async fn handle_text(&mut self, text: &str) -> String {
        let reply = match protocol::decode_request(text) {
            Ok(envelope) => ResponseEnvelope {
                id: envelope.id,
                result: self.handle(envelope.request).await,
            },
            Err((id, error)) => ResponseEnvelope {
                id: id.unwrap_or(0),
                result: Err(error),
            },
        };
        protocol::encode(&reply)
    }

    async fn handle(&mut self, request: Request) -> Result<Response, WorkerError> {
        match (request, &mut self.db) {
            (Request::Open { name }, None) => {
                let (db, info) = storage::open(&name).await?;
                self.db = Some(db);
                Ok(Response::Opened(info))
            }
            (request, Some(db)) => service::handle(db, request),
            (_, None) => Err(WorkerError::NotOpen),
        }
    }
}

/// The worker's entry point: wires `onmessage` to a sequential request loop.
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
            let reply = state.handle_text(&text).await;
            // Posting a string cannot fail while the worker is alive.
            let _ = scope.post_message(&JsValue::from_str(&reply));
        }
    });
}
