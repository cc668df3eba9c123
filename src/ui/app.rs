//! The root component: claims the database for this tab, starts the worker, shows the
//! storage banner, and routes to the pages once the database is open.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use super::db_client::DbClient;
use super::pages::{ListState, TuneDetail, TuneEditor, TuneList};
use super::tab_lock;
use super::unsaved::UnsavedChanges;
use tunebook_core::protocol::{OpenInfo, Storage};

/// The database file used while signed out.
const DATABASE_NAME: &str = "tunebook.db";

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
    let startup = RwSignal::new(Startup::Claiming);
    let client: RwSignal<Option<DbClient>> = RwSignal::new(None);
    provide_context(ListState::default());
    let unsaved = UnsavedChanges::default();
    provide_context(unsaved);

    let claim = move |steal: bool| {
        startup.set(Startup::Claiming);
        spawn_local(claim_database(steal, startup, client));
    };
    claim(false);

    view! {
        <Router>
            <header class="site-header">
                <a class="brand" href="/" on:click=move |ev| unsaved.guard_click(ev)>"Tunebook"</a>
            </header>
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
                        match client.get_untracked() {
                            Some(db) => view! { <Ready info=info db=db /> }.into_any(),
                            None => view! { <p class="loading">"Opening your tunebook…"</p> }.into_any(),
                        }
                    }
                }}
            </main>
        </Router>
    }
}

/// Takes (or steals) the tab lock, then starts the worker and opens the database.
async fn claim_database(steal: bool, startup: RwSignal<Startup>, client: RwSignal<Option<DbClient>>) {
    let on_lost = move || {
        if let Some(db) = client.get_untracked() {
            db.terminate("Tunebook was opened in another tab");
        }
        client.set(None);
        startup.set(Startup::OtherTab);
    };
    match tab_lock::acquire(steal, on_lost).await {
        Ok(None) => startup.set(Startup::OtherTab),
        Err(e) => startup.set(Startup::Failed(format!("Could not coordinate with other tabs: {e}"))),
        Ok(Some(lock)) => {
            startup.set(Startup::Opening);
            let opened = match DbClient::spawn() {
                Ok(db) => db.open(DATABASE_NAME, None).await.map(|info| (db, info)),
                Err(e) => Err(e),
            };
            match opened {
                Ok((db, info)) => {
                    client.set(Some(db));
                    startup.set(Startup::Ready(info));
                }
                Err(e) => {
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
    let (list_db, detail_db, new_db, edit_db) = (db.clone(), db.clone(), db.clone(), db);
    view! {
        {banner}
        <Routes fallback=|| view! { <NotFound /> }>
            <Route path=path!("/") view=move || view! { <TuneList db=list_db.clone() /> } />
            <Route path=path!("/tunes/new") view=move || view! { <TuneEditor db=new_db.clone() editing=false /> } />
            <Route path=path!("/tunes/:id") view=move || view! { <TuneDetail db=detail_db.clone() /> } />
            <Route path=path!("/tunes/:id/edit") view=move || view! { <TuneEditor db=edit_db.clone() editing=true /> } />
        </Routes>
    }
}

/// Shown for addresses that match no page.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="notice">
            <h1>"Page not found"</h1>
            <p><a href="/">"Back to your tunes"</a></p>
        </section>
    }
}
