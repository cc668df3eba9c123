//! The tune page at `/tunes/:id`: every field, the incipit in monospace, the tune's tags,
//! notes and references, Edit and Delete (with a confirmation step).

use leptos::html;
use leptos::prelude::*;

use crate::ui::paths;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;

use super::tune_extras::TuneExtrasView;
use super::tune_practice::TunePracticeSection;
use super::{Load, LoadFailed, TuneNotFound, route_tune_id};
use crate::ui::context::use_app;
use crate::ui::db_client::DbClient;
use crate::ui::format::local_date_time;
use crate::ui::notation::Notation;
use tunebook_core::domain::{Field, Tune};
use tunebook_core::tables::TableId;

#[component]
pub fn TuneDetail(db: DbClient) -> impl IntoView {
    let id = route_tune_id();
    let tune: RwSignal<Load<Option<Tune>>> = RwSignal::new(Load::Loading);
    {
        let db = db.clone();
        let app = use_app();
        Effect::new(move || {
            // Reload when synced changes arrive.
            app.changes.track(&[TableId::Tune]);
            let Some(id) = id.get() else {
                tune.set(Load::Ready(None));
                return;
            };
            let db = db.clone();
            spawn_local(async move {
                let loaded = match db.get_tune(id).await {
                    Ok(t) => Load::Ready(t),
                    Err(e) => Load::Failed(e.to_string()),
                };
                // Only a real change re-renders the page: a note being typed below must
                // survive a sync that did not touch this tune.
                // Unless the page is gone by now (the musician moved on).
                if tune.try_with_untracked(|t| *t != loaded).unwrap_or(false) {
                    tune.set(loaded);
                }
            });
        });
    }

    move || match tune.get() {
        Load::Loading => view! { <p class="loading" role="status">"Loading tune…"</p> }.into_any(),
        Load::Failed(message) => view! { <LoadFailed message=message /> }.into_any(),
        Load::Ready(None) => view! { <TuneNotFound /> }.into_any(),
        Load::Ready(Some(t)) => view! { <TuneView tune=t db=db.clone() /> }.into_any(),
    }
}

#[component]
fn TuneView(tune: Tune, db: DbClient) -> impl IntoView {
    let app = use_app();
    crate::ui::format::set_page_title(&tune.fields.title);
    let navigate = use_navigate();
    let confirming = RwSignal::new(false);
    let deleting = RwSignal::new(false);
    let delete_error = RwSignal::new(None::<String>);
    let id = tune.id;
    let draft = tune.fields.to_draft();
    let rows = Field::ALL
        .into_iter()
        .filter(|f| !matches!(f, Field::Title | Field::Incipit | Field::Abc))
        .map(|f| {
            let value = draft.get(f).to_string();
            let empty = value.is_empty();
            view! {
                <dt>{f.label()}</dt>
                <dd class:empty=empty>{if empty { "—".to_string() } else { value }}</dd>
            }
        })
        .collect_view();
    let incipit = tune.fields.incipit.clone();
    let title = tune.fields.title.clone();
    let f = &tune.fields;
    let notation = tunebook_core::abc::notation_text(
        &f.title,
        f.tune_type.as_deref(),
        f.mode.as_deref(),
        f.incipit.as_deref(),
        f.abc.as_deref(),
    );
    let abc_text = f.abc.clone();
    let export_fields = tune.fields.clone();
    let export_message = RwSignal::new(None::<String>);
    let export = move |_| {
        let name = crate::ui::download::file_name(&export_fields.title, "abc");
        let text = tunebook_core::abc::write_book([&export_fields]);
        let said = match crate::ui::download::download(&name, "text/vnd.abc", &text) {
            Ok(()) => format!("Exported to {name}."),
            Err(e) => format!("Could not export: {e}"),
        };
        export_message.set(Some(said));
    };

    let extras_db = db.clone();
    let practice_db = db.clone();
    let confirm_delete = move |_| {
        let db = db.clone();
        let navigate = navigate.clone();
        deleting.set(true);
        spawn_local(async move {
            match db.delete_tune(id).await {
                Ok(()) => {
                    app.sync.soon(app);
                    navigate("/", NavigateOptions { replace: true, ..Default::default() })
                }
                Err(e) => {
                    deleting.set(false);
                    delete_error.set(Some(e.to_string()));
                }
            }
        });
    };

    let cancel_ref = NodeRef::<html::Button>::new();
    Effect::new(move || {
        if let Some(button) = cancel_ref.get() {
            let _ = button.focus();
        }
    });

    view! {
        <article class="tune-detail">
            <h1>{title.clone()}</h1>
            <dl class="fields">
                {rows}
                <dt>"Last modified"</dt>
                <dd>
                    <time datetime=tune.last_modified_at.to_string()>
                        {local_date_time(tune.last_modified_at)}
                    </time>
                </dd>
            </dl>
            <h2>"Notation"</h2>
            {match notation {
                Some(text) => view! { <Notation abc=Some(text) label=title.clone() /> }.into_any(),
                None => view! { <p class="empty">"No music yet: add the tune's ABC or an incipit with Edit."</p> }.into_any(),
            }}
            <h2>"Incipit"</h2>
            {match incipit {
                Some(abc) => view! { <pre class="incipit">{abc}</pre> }.into_any(),
                None => view! { <p class="empty">"No incipit yet."</p> }.into_any(),
            }}
            {abc_text.map(|abc| view! {
                <details class="abc-source">
                    <summary>"ABC"</summary>
                    <pre class="incipit">{abc}</pre>
                </details>
            })}
            <div class="actions">
                <a class="button" href=paths::href(&format!("/tunes/{id}/edit"))>"Edit"</a>
                <button type="button" on:click=export>"Export ABC"</button>
                {move || export_message.get().map(|m| view! { <span role="status" class="hint">{m}</span> })}
                <button type="button" class="danger" on:click=move |_| confirming.set(true)>
                    "Delete"
                </button>
                <a href=paths::href("/")>"Back to your tunes"</a>
            </div>
            <Show when=move || confirming.get()>
                <div class="dialog" role="alertdialog" aria-modal="true" aria-labelledby="confirm-delete-title">
                    <h2 id="confirm-delete-title">"Delete “" {title.clone()} "”?"</h2>
                    <p>"The tune will disappear from your tunebook, with its notes, references, tags and repertoire places."</p>
                    {move || delete_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                    <div class="actions">
                        <button
                            type="button"
                            class="danger"
                            disabled=move || deleting.get()
                            on:click=confirm_delete.clone()
                        >
                            "Yes, delete"
                        </button>
                        <button type="button" node_ref=cancel_ref on:click=move |_| confirming.set(false)>
                            "Cancel"
                        </button>
                    </div>
                </div>
            </Show>
            <TunePracticeSection tune=id db=practice_db />
            <TuneExtrasView tune=id db=extras_db />
        </article>
    }
}
