//! The root component: claims the database for this tab, starts the worker, opens the
//! account's database, shows the header and the storage banner, and routes to the pages.

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
use super::tab_lock;

/// Where startup stands.
#[derive(Clone, Debug, PartialEq)]
enum Startup {
    /// Asking the other tabs whether one of them owns the database.
    Claiming,
    /// Another tab owns the database.
    OtherTab,
    /// This tab owns it; the worker is opening the database.
    Opening,
    Ready(OpenInfo),
    Failed(String),
}

#[component]
pub fn App() -> impl IntoView {
    let app = AppContext::new();
    provide_context(app);
    let startup = RwSignal::new(Startup::Claiming);

    let claim = move |steal: bool| {
        startup.set(Startup::Claiming);
        spawn_local(claim_database(steal, startup, app));
    };
    claim(false);

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
                    Startup::Claiming | Startup::Opening => {
                        view! { <p class="loading" role="status">"Opening your tunebook…"</p> }.into_any()
                    }
                    Startup::OtherTab => {
                        view! {
                            <section class="notice" role="alert">
                                <h1>"Tunebook is open in another tab"</h1>
                                <p>
                                    "Only one tab can use your tunebook at a time. Switch to the other tab, or use Tunebook here instead (the other tab will stop)."
                                </p>
                                <button type="button" on:click=move |_| claim(true)>
                                    "Use Tunebook here"
                                </button>
                            </section>
                        }
                            .into_any()
                    }
                    Startup::Failed(message) => {
                        view! {
                            <section class="notice error" role="alert">
                                <h1>"Tunebook could not open your tunes"</h1>
                                <p>{message}</p>
                                <button type="button" on:click=move |_| claim(false)>
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

/// Takes (or steals) the tab lock, then starts the worker and opens the database.
async fn claim_database(steal: bool, startup: RwSignal<Startup>, app: AppContext) {
    let on_lost = move || {
        app.sync.stop();
        if let Some(db) = app.db.get_untracked() {
            db.terminate("Tunebook was opened in another tab");
        }
        app.db.set(None);
        startup.set(Startup::OtherTab);
    };
    // A page reloading in this very tab may still be letting go of the lock: give it a
    // moment before deciding another tab has Tunebook open.
    let mut acquired = tab_lock::acquire(steal, on_lost).await;
    for delay_ms in [150, 300, 600, 1200] {
        if !matches!(acquired, Ok(None)) {
            break;
        }
        gloo_timers::future::TimeoutFuture::new(delay_ms).await;
        acquired = tab_lock::acquire(steal, on_lost).await;
    }
    match acquired {
        Ok(None) => startup.set(Startup::OtherTab),
        Err(e) => startup.set(Startup::Failed(format!("Could not coordinate with other tabs: {e}"))),
        Ok(Some(lock)) => {
            startup.set(Startup::Opening);
            let opened = match DbClient::spawn() {
                Ok(db) => {
                    app.db.set(Some(db.clone()));
                    open_current(app).await.inspect_err(|_| db.terminate("could not open"))
                }
                Err(e) => Err(e),
            };
            match opened {
                Ok(info) => {
                    if info.storage == Storage::Opfs {
                        // Keep the tunes from being evicted; the answer shows in Settings.
                        spawn_local(async {
                            pwa::persist().await;
                        });
                    }
                    startup.set(Startup::Ready(info))
                }
                Err(e) => {
                    app.db.set(None);
                    // Let another tab (or a retry here) have a clean start.
                    lock.release();
                    startup.set(Startup::Failed(e.to_string()));
                }
            }
        }
    }
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
