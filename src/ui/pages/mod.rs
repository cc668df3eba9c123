//! One module per route, plus the small views they share.

mod account;
mod conflicts;
mod detail;
mod editor;
mod import;
mod list;
mod practice;
mod progress;
mod repertoires;
mod settings;
mod sync;
mod tune_extras;
mod tune_practice;
mod your_data;

pub use account::{SignIn, SignUp};
pub use conflicts::ConflictsPage;
pub use detail::TuneDetail;
pub use editor::TuneEditor;
pub use import::ImportPage;
pub use list::TuneList;
pub use practice::PracticePage;
pub use progress::ProgressPage;
pub use repertoires::{RepertoirePage, RepertoiresPage};
pub use settings::SettingsPage;
pub use sync::SyncPage;

use leptos::prelude::*;

use crate::ui::paths;
use leptos_router::hooks::use_params_map;

use tunebook_core::domain::Uuid;

/// Data a page is waiting for.
#[derive(Clone, Debug, PartialEq)]
enum Load<T> {
    Loading,
    Ready(T),
    Failed(String),
}

/// The `:id` route parameter as a tune id; `None` when absent or not a UUID.
fn route_tune_id() -> Memo<Option<Uuid>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("id").and_then(|s| s.parse().ok()))
}

/// Shown for an unknown or deleted tune.
#[component]
fn TuneNotFound() -> impl IntoView {
    crate::ui::format::set_page_title("Tune not found");
    view! {
        <section class="notice">
            <h1>"Tune not found"</h1>
            <p>"This tune does not exist, or it was deleted."</p>
            <p><a href=paths::href("/")>"Back to your tunes"</a></p>
        </section>
    }
}

/// A failure message with the error text.
#[component]
fn LoadFailed(message: String) -> impl IntoView {
    view! {
        <section class="notice error" role="alert">
            <h1>"Something went wrong"</h1>
            <p>{message}</p>
            <p><a href=paths::href("/")>"Back to your tunes"</a></p>
        </section>
    }
}
