//! One tab leads: the OPFS files can be held by only one worker, so tabs agree through
//! the Web Locks API on which tab runs it. A tab that finds the lock taken follows the
//! leader (see `tabs`) and queues for the lock; the browser grants it to the next tab in
//! the queue as soon as the leader's tab closes or crashes. Where the browser denies Web
//! Locks (site data blocked), it denies OPFS too, so there is nothing to coordinate: the
//! tab leads without a lock and the worker falls back to memory.

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;
use js_sys::{Function, Object, Promise, Reflect};
use send_wrapper::SendWrapper;
use wasm_bindgen::prelude::*;

const LOCK_NAME: &str = "tunebook-database-owner";

/// The held lock. Dropping it does not release the lock (the page keeps it until it
/// closes); call [`TabLock::release`] to give it up.
#[derive(Clone)]
pub struct TabLock(SendWrapper<Rc<RefCell<Option<Function>>>>);

impl TabLock {
    /// Gives the lock up so another tab can take it.
    pub fn release(&self) {
        if let Some(resolve) = self.0.borrow_mut().take() {
            let _ = resolve.call0(&JsValue::NULL);
        }
    }
}

/// How to ask for the lock.
pub enum Ask {
    /// Only if no tab holds it: the answer says whether this tab got it.
    IfFree,
    /// In line: the answer is `None` at once unless the lock is granted before the
    /// request returns; `on_granted` runs with the lock when this tab's turn comes.
    Queue(Box<dyn FnOnce(TabLock)>),
}

/// Asks for the leader's lock. Returns `None` when another tab leads.
pub async fn acquire(ask: Ask) -> Result<Option<TabLock>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let locks = Reflect::get(&window.navigator(), &"locks".into()).map_err(|e| format!("{e:?}"))?;
    let uncoordinated = || TabLock(SendWrapper::new(Rc::new(RefCell::new(None))));
    if locks.is_undefined() {
        // Without Web Locks (very old browsers) there is no way to coordinate; the worker's
        // exclusive file handles still keep a second tab from corrupting anything.
        return Ok(Some(uncoordinated()));
    }

    // The callback's promise keeps the lock held until `release` resolves it.
    let resolver: Rc<RefCell<Option<Function>>> = Rc::new(RefCell::new(None));
    let held = {
        let resolver = resolver.clone();
        Promise::new(&mut |resolve, _| *resolver.borrow_mut() = Some(resolve))
    };
    // Answered by the lock callback (granted or not), or by the request failing before
    // it calls back (a denied request never calls it: waiting for the callback alone
    // would wait forever), or, in line, at once.
    let (answer_tx, answer_rx) = oneshot::channel::<Result<bool, JsValue>>();
    let answer = Rc::new(RefCell::new(Some(answer_tx)));
    let (if_free, mut on_granted) = match ask {
        Ask::IfFree => (true, None),
        Ask::Queue(on_granted) => (false, Some(on_granted)),
    };
    let callback = {
        let answer = answer.clone();
        let resolver = resolver.clone();
        Closure::once_into_js(move |lock: JsValue| -> Promise {
            let granted = !lock.is_null();
            if let Some(tx) = answer.borrow_mut().take() {
                let _ = tx.send(Ok(granted));
            } else if let (true, Some(on_granted)) = (granted, on_granted.take()) {
                on_granted(TabLock(SendWrapper::new(resolver)));
            }
            if granted { held } else { Promise::resolve(&JsValue::UNDEFINED) }
        })
    };

    let options = Object::new();
    if if_free {
        Reflect::set(&options, &"ifAvailable".into(), &JsValue::TRUE).map_err(|e| format!("{e:?}"))?;
    }
    let request: Function = Reflect::get(&locks, &"request".into())
        .map_err(|e| format!("{e:?}"))?
        .dyn_into()
        .map_err(|_| "navigator.locks.request is not a function".to_string())?;
    let outcome: Promise = request
        .call3(&locks, &LOCK_NAME.into(), &options, &callback)
        .map_err(|e| format!("{e:?}"))?
        .dyn_into()
        .map_err(|_| "navigator.locks.request did not return a promise".to_string())?;

    let on_failure = {
        let answer = answer.clone();
        Closure::once(move |error: JsValue| {
            if let Some(tx) = answer.borrow_mut().take() {
                let _ = tx.send(Err(error));
            }
        })
    };
    let _ = outcome.catch(&on_failure);
    // Called at most once, at the page's lifetime's scale: let JavaScript own it.
    on_failure.forget();
    if !if_free && let Some(tx) = answer.borrow_mut().take() {
        // In line: this tab follows until its turn comes.
        let _ = tx.send(Ok(false));
    }
    match answer_rx.await {
        Ok(Ok(true)) => Ok(Some(TabLock(SendWrapper::new(resolver)))),
        Ok(Ok(false)) => Ok(None),
        Ok(Err(error)) if error_name(&error) == "SecurityError" => Ok(Some(uncoordinated())),
        Ok(Err(error)) => Err(format!("{error:?}")),
        Err(_) => Err("the lock request was dropped".into()),
    }
}

/// A DOMException's name ("SecurityError", "AbortError"…), or "".
fn error_name(error: &JsValue) -> String {
    Reflect::get(error, &"name".into()).ok().and_then(|n| n.as_string()).unwrap_or_default()
}
