//! The root component: joins the other tabs, leads (starts the worker and opens the
//! account's database) or follows the tab that does, shows the header and the storage
//! banner, and routes to the pages.

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;
use tunebook_core::protocol::{OpenInfo, Storage};

use super::auth_flow::open_current;
use super::context::AppContext;
use super::db_client::DbClient;
use super::header::Header;
use super::pages::{
    ConflictsPage, ImportPage, PracticePage, ProgressPage, RepertoirePage, RepertoiresPage, SettingsPage,
    SignIn, SignUp, SyncPage, TuneDetail, TuneEditor, TuneList,
};
use super::paths;
use super::pwa;
use super::shortcuts::KeyboardShortcuts;
use super::tab_lock::{self, Ask, TabLock};
use super::tabs;

/// Where startup stands.
#[derive(Clone, Debug, PartialEq)]
enum Startup {
    /// Joining the other tabs and opening the database (here, or through the leader tab).
    Opening,
    Ready(OpenInfo),
    Failed(String),
}

#[component]
pub fn App() -> impl IntoView {
    let app = AppContext::new();
    provide_context(app);
    let startup = RwSignal::new(Startup::Opening);
    tabs::share_sync_state(app);

    let start = move || {
        startup.set(Startup::Opening);
        spawn_local(start_tab(startup, app));
    };
    start();

    let update_ready = RwSignal::new(false);
    let shortcuts_open = RwSignal::new(false);
    pwa::register(move || update_ready.set(true));

    let online = window_event_listener(ev::online, move |_| app.sync.online(app));
    let offline = window_event_listener(ev::offline, move |_| app.sync.offline());
    // Coming back to the window: see what the other devices did meanwhile.
    let focus = window_event_listener(ev::focus, move |_| {
        if app.sync.is_started() {
            spawn_local(app.sync.run(app, false));
        }
    });
    on_cleanup(move || {
        online.remove();
        offline.remove();
        focus.remove();
    });

    view! {
        <Router base=paths::base()>
            <Header />
            <Show when=move || update_ready.get()>
                <div class="banner update" role="status">
                    "A new version of Tunebook is available. "
                    <button type="button" on:click=move |_| if app.unsaved.confirm_leave() { pwa::reload_to_update() }>
                        "Reload"
                    </button>
                </div>
            </Show>
            <main id="main">
                {move || match startup.get() {
                    Startup::Opening => {
                        view! { <p class="loading" role="status">"Opening your tunebook…"</p> }.into_any()
                    }
                    Startup::Failed(message) => {
                        view! {
                            <section class="notice error" role="alert">
                                <h1>"Tunebook could not open your tunes"</h1>
                                <p>{message}</p>
                                <button type="button" on:click=move |_| start()>
                                    "Try again"
                                </button>
                            </section>
                        }
                            .into_any()
                    }
                    Startup::Ready(info) => {
                        match app.db.get_untracked() {
                            Some(db) => view! { <Ready info=info db=db /> }.into_any(),
                            None => view! { <p class="loading">"Opening your tunebook…"</p> }.into_any(),
                        }
                    }
                }}
            </main>
            <footer class="site-footer">
                <button type="button" class="link-like" on:click=move |_| shortcuts_open.set(true)>
                    "Keyboard shortcuts"
                </button>
            </footer>
            <KeyboardShortcuts open=shortcuts_open />
        </Router>
    }
}

/// Joins the other tabs, then leads if no tab does (its own worker opens the database)
/// or follows the leader and waits in line to lead after it.
async fn start_tab(startup: RwSignal<Startup>, app: AppContext) {
    if let Err(e) = tabs::join(app) {
        startup.set(Startup::Failed(format!("Could not reach the other Tunebook tabs: {e}")));
        return;
    }
    match tab_lock::acquire(Ask::IfFree).await {
        Err(e) => startup.set(Startup::Failed(format!("Could not coordinate with other tabs: {e}"))),
        Ok(Some(lock)) => {
            let opened = match DbClient::spawn() {
                Ok(db) => {
                    app.db.set(Some(db.clone()));
                    open_current(app).await.inspect_err(|_| db.terminate("could not open"))
                }
                Err(e) => Err(e),
            };
            match opened {
                Ok(info) => {
                    led(&info);
                    startup.set(Startup::Ready(info));
                }
                Err(e) => {
                    app.db.set(None);
                    // Let another tab (or a retry here) have a clean start.
                    lock.release();
                    startup.set(Startup::Failed(e.to_string()));
                }
            }
        }
        Ok(None) => {
            // Trying again after a failure while following: already in line.
            let following = app.db.get_untracked().is_some_and(|db| !db.leads());
            if !following {
                app.db.set(Some(DbClient::relayed()));
                let promote_then = Box::new(move |lock| spawn_local(promote(lock, startup, app)));
                if let Err(e) = tab_lock::acquire(Ask::Queue(promote_then)).await {
                    startup.set(Startup::Failed(format!("Could not coordinate with other tabs: {e}")));
                    return;
                }
            }
            // Answered by the leader (or by this tab, should it lead before the answer).
            match open_current(app).await {
                Ok(info) => startup.set(Startup::Ready(info)),
                Err(e) => startup.set(Startup::Failed(e.to_string())),
            }
        }
    }
}

/// This tab's turn to lead came (the leader's tab closed): it starts its own worker,
/// opens the database, answers what it was waiting on itself, and tells the others.
async fn promote(lock: TabLock, startup: RwSignal<Startup>, app: AppContext) {
    let Some(db) = app.db.get_untracked() else {
        return;
    };
    if let Err(e) = db.lead() {
        lock.release();
        startup.set(Startup::Failed(e.to_string()));
        return;
    }
    let info = match open_current(app).await {
        Ok(info) => info,
        Err(e) => {
            db.terminate("could not open");
            lock.release();
            startup.set(Startup::Failed(e.to_string()));
            return;
        }
    };
    for waiting in tabs::take_unanswered() {
        let db = db.clone();
        spawn_local(async move {
            let result = db.request_relayed(waiting.request.clone(), &waiting.key).await;
            waiting.answer(result);
        });
    }
    led(&info);
    if matches!(startup.get_untracked(), Startup::Failed(_)) {
        startup.set(Startup::Ready(info));
    }
    app.data_changed();
}

/// After this tab's worker opened the database: keep it from being evicted (OPFS), and
/// answer the other tabs from now on.
fn led(info: &OpenInfo) {
    if info.storage == Storage::Opfs {
        // The answer shows in Settings.
        spawn_local(async {
            pwa::persist().await;
        });
    }
    tabs::now_leading();
}

/// The app proper, once the database is open.
#[component]
fn Ready(info: OpenInfo, db: DbClient) -> impl IntoView {
    let banner = match info.storage {
        Storage::Opfs => None,
        Storage::Memory { reason } => Some(view! {
            <div class="banner warning" role="alert">
                <strong>"Your tunes are not being saved."</strong>
                " This browser gives Tunebook no persistent storage here (for example in a private window), so everything you add will be lost when this tab closes. "
                <span class="reason">"(" {reason} ")"</span>
            </div>
        }),
    };
    let (list_db, detail_db, new_db, edit_db) = (db.clone(), db.clone(), db.clone(), db.clone());
    let repertoire_db = db;
    view! {
        {banner}
        <Routes fallback=|| view! { <NotFound /> }>
            <Route path=path!("/") view=move || view! { <TuneList db=list_db.clone() /> } />
            <Route path=path!("/tunes/new") view=move || view! { <TuneEditor db=new_db.clone() editing=false /> } />
            <Route path=path!("/tunes/:id") view=move || view! { <TuneDetail db=detail_db.clone() /> } />
            <Route path=path!("/tunes/:id/edit") view=move || view! { <TuneEditor db=edit_db.clone() editing=true /> } />
            <Route path=path!("/signin") view=SignIn />
            <Route path=path!("/signup") view=SignUp />
            <Route path=path!("/settings") view=SettingsPage />
            <Route path=path!("/sync") view=SyncPage />
            <Route path=path!("/conflicts") view=ConflictsPage />
            <Route path=path!("/repertoires") view=RepertoiresPage />
            <Route path=path!("/practice") view=PracticePage />
            <Route path=path!("/import") view=ImportPage />
            <Route path=path!("/progress") view=ProgressPage />
            <Route path=path!("/repertoires/:id") view=move || view! { <RepertoirePage db=repertoire_db.clone() /> } />
        </Routes>
    }
}

/// Shown for addresses that match no page.
#[component]
pub fn NotFound() -> impl IntoView {
    super::format::set_page_title("Page not found");
    view! {
        <section class="notice">
            <h1>"Page not found"</h1>
            <p><a href=paths::href("/")>"Back to your tunes"</a></p>
        </section>
    }
}
