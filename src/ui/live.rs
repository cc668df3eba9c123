//! Live updates: the browser edge of core's [`LiveChannel`]. While signed in it keeps a
//! WebSocket to the project's Realtime service, joined to the musician's private channel,
//! and hands every change hint to sync, which pulls if the hint is news. Opening sockets,
//! sending frames, the one timer and the status shown on the Sync page are all here;
//! what to do when is the machine's.

use gloo_timers::callback::Timeout;
use leptos::prelude::*;
use tunebook_core::supabase::realtime::{LiveAction, LiveChannel, LiveEvent, LiveStatus};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{MessageEvent, WebSocket};

use super::context::AppContext;

/// An open WebSocket and the handlers it calls (dropped with it).
struct Socket {
    socket: WebSocket,
    _handlers: [Closure<dyn FnMut(web_sys::Event)>; 3],
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl Socket {
    /// Stops reporting and closes: a socket closed on purpose tells the machine nothing.
    fn detach(&self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        self.socket.set_onerror(None);
        let _ = self.socket.close();
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.detach();
    }
}

/// The live channel of the signed-in musician, if any.
#[derive(Clone, Copy)]
pub struct LiveUpdates {
    machine: StoredValue<Option<LiveChannel>, LocalStorage>,
    socket: StoredValue<Option<Socket>, LocalStorage>,
    timer: StoredValue<Option<Timeout>, LocalStorage>,
    /// `None` while signed out.
    pub status: RwSignal<Option<LiveStatus>>,
}

impl LiveUpdates {
    pub fn new() -> Self {
        Self {
            machine: StoredValue::new_local(None),
            socket: StoredValue::new_local(None),
            timer: StoredValue::new_local(None),
            status: RwSignal::new(None),
        }
    }

    /// Joins the signed-in musician's channel (replacing any other).
    pub fn start(&self, app: AppContext) {
        self.stop();
        let Some(session) = app.account.with_untracked(|a| a.session().cloned()) else {
            return;
        };
        let (machine, actions) =
            LiveChannel::start(&app.supabase(), &session.user.id.to_string(), session.access_token.clone());
        self.machine.set_value(Some(machine));
        self.apply(app, actions);
    }

    /// Leaves the channel and closes the socket.
    pub fn stop(&self) {
        self.timer.set_value(None);
        self.socket.set_value(None);
        self.machine.set_value(None);
        self.status.set(None);
    }

    /// The session was refreshed.
    pub fn token(&self, app: AppContext, access_token: String) {
        self.handle(app, LiveEvent::Token(access_token));
    }

    /// The browser came back online.
    pub fn online(&self, app: AppContext) {
        self.handle(app, LiveEvent::Online);
    }

    fn handle(&self, app: AppContext, event: LiveEvent) {
        let random = js_sys::Math::random();
        let actions = self.machine.try_update_value(|m| m.as_mut().map(|m| m.handle(event, random)));
        if let Some(Some(actions)) = actions {
            self.apply(app, actions);
        }
    }

    fn apply(&self, app: AppContext, actions: Vec<LiveAction>) {
        for action in actions {
            match action {
                LiveAction::Open(url) => {
                    self.discard_socket();
                    match self.open(app, &url) {
                        Ok(socket) => self.socket.set_value(Some(socket)),
                        // A URL the browser refuses: like a socket that closed at once.
                        Err(()) => {
                            let this = *self;
                            let later = Timeout::new(0, move || this.handle(app, LiveEvent::Closed));
                            self.timer.set_value(Some(later));
                            return;
                        }
                    }
                }
                LiveAction::Send(text) => {
                    self.socket.with_value(|s| {
                        if let Some(s) = s {
                            let _ = s.socket.send_with_str(&text);
                        }
                    });
                }
                LiveAction::Close => self.discard_socket(),
                LiveAction::Wait(ms) => {
                    let this = *self;
                    let ms = u32::try_from(ms).unwrap_or(u32::MAX);
                    self.timer.set_value(Some(Timeout::new(ms, move || this.handle(app, LiveEvent::Timer))));
                }
                LiveAction::Hint(change_number) => app.sync.hint(app, change_number),
            }
        }
        let status = self.machine.with_value(|m| m.as_ref().map(|m| m.status().clone()));
        if self.status.try_get_untracked().flatten() != status {
            self.status.try_set(status);
        }
    }

    /// Closes the socket. It is dropped a moment later, not now: this may run inside one
    /// of its own handlers, which must not be freed while running.
    fn discard_socket(&self) {
        if let Some(socket) = self.socket.try_update_value(Option::take).flatten() {
            socket.detach();
            Timeout::new(0, move || drop(socket)).forget();
        }
    }

    fn open(&self, app: AppContext, url: &str) -> Result<Socket, ()> {
        let socket = WebSocket::new(url).map_err(|_| ())?;
        let this = *self;
        let on = move |event: LiveEvent| {
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| this.handle(app, event.clone()))
        };
        let on_open = on(LiveEvent::Opened);
        let on_close = on(LiveEvent::Closed);
        let on_error = on(LiveEvent::Closed);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(text) = event.data().as_string() {
                this.handle(app, LiveEvent::Frame(text));
            }
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        socket.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Ok(Socket { socket, _handlers: [on_open, on_close, on_error], _on_message: on_message })
    }
}

impl Default for LiveUpdates {
    fn default() -> Self {
        Self::new()
    }
}
