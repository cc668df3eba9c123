//! One tab owns the database: the OPFS files can be held by only one worker, so tabs
//! agree through the Web Locks API. Another tab can take ownership ("steal" the lock);
//! the previous owner is told and must stop its worker. Where the browser denies Web
//! Locks (site data blocked), it denies OPFS too, so there is nothing to coordinate: the
//! tab goes on without a lock and the worker falls back to memory.

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;
use js_sys::{Function, Object, Promise, Reflect};
use send_wrapper::SendWrapper;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

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

/// Tries to become the owner tab. With `steal`, takes ownership from whichever tab has
/// it. Returns `None` when another tab owns the database. `on_lost` runs if another tab
/// later steals the lock from this one.
pub async fn acquire(steal: bool, on_lost: impl FnOnce() + 'static) -> Result<Option<TabLock>, String> {
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
    // would wait forever).
    let (answer_tx, answer_rx) = oneshot::channel::<Result<bool, JsValue>>();
    let answer = Rc::new(RefCell::new(Some(answer_tx)));
    let callback = {
        let answer = answer.clone();
        Closure::once_into_js(move |lock: JsValue| -> Promise {
            let granted = !lock.is_null();
            if let Some(tx) = answer.borrow_mut().take() {
                let _ = tx.send(Ok(granted));
            }
            if granted { held } else { Promise::resolve(&JsValue::UNDEFINED) }
        })
    };

    let options = Object::new();
    let flag = if steal { "steal" } else { "ifAvailable" };
    Reflect::set(&options, &flag.into(), &JsValue::TRUE).map_err(|e| format!("{e:?}"))?;
    let request: Function = Reflect::get(&locks, &"request".into())
        .map_err(|e| format!("{e:?}"))?
        .dyn_into()
        .map_err(|_| "navigator.locks.request is not a function".to_string())?;
    let outcome: Promise = request
        .call3(&locks, &LOCK_NAME.into(), &options, &callback)
        .map_err(|e| format!("{e:?}"))?
        .dyn_into()
        .map_err(|_| "navigator.locks.request did not return a promise".to_string())?;

    let on_failure = Closure::once(move |error: JsValue| {
        if let Some(tx) = answer.borrow_mut().take() {
            let _ = tx.send(Err(error));
        }
    });
    let _ = outcome.catch(&on_failure);
    // Called at most once, at the page's lifetime's scale: let JavaScript own it.
    on_failure.forget();
    match answer_rx.await {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => return Ok(None),
        Ok(Err(error)) if error_name(&error) == "SecurityError" => return Ok(Some(uncoordinated())),
        Ok(Err(error)) => return Err(format!("{error:?}")),
        Err(_) => return Err("the lock request was dropped".into()),
    }
    // The request's promise rejects (AbortError) when another tab steals the lock.
    let resolver_for_lost = resolver.clone();
    wasm_bindgen_futures::spawn_local(async move {
        if JsFuture::from(outcome).await.is_err() {
            resolver_for_lost.borrow_mut().take();
            on_lost();
        }
    });
    Ok(Some(TabLock(SendWrapper::new(resolver))))
}

/// A DOMException's name ("SecurityError", "AbortError"…), or "".
fn error_name(error: &JsValue) -> String {
    Reflect::get(error, &"name".into()).ok().and_then(|n| n.as_string()).unwrap_or_default()
}
