//! Repertoires: the sets of tunes a musician plays on an instrument or for a session.
//! `/repertoires` lists them and creates new ones (Name required, at most 100
//! characters; Instrument; Description). `/repertoires/:id` shows one: rename, delete
//! (asks first; its tunes stay), "Add tunes" (pick several from the whole list at once)
//! and its tunes in the sortable, filterable list with "Remove" per tune.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_params_map};
use tunebook_core::domain::Uuid;
use tunebook_core::domain::library::{InputError, Repertoire, RepertoireDraft};
use tunebook_core::list::ListQuery;
use tunebook_core::protocol::Request;
use tunebook_core::tables::TableId;

use super::list::TuneList;
use super::{Load, LoadFailed};
use crate::ui::context::use_app;
use crate::ui::db_client::DbClient;
use crate::ui::form::input_failure;
use crate::ui::format::set_page_title;
use crate::ui::paths;

/// Name, Instrument and Description, each with its message beneath.
#[component]
fn RepertoireFields(draft: RwSignal<RepertoireDraft>, error: RwSignal<Option<InputError>>) -> impl IntoView {
    let field = move |key: &'static str, label: &'static str| {
        let about = move || error.get().filter(|e| e.field == key).map(|e| e.message);
        let get = move || {
            draft.with(|d| match key {
                "name" => d.name.clone(),
                "instrument" => d.instrument.clone(),
                _ => d.description.clone(),
            })
        };
        let set = move |ev| {
            let value = event_target_value(&ev);
            draft.update(|d| match key {
                "name" => d.name = value,
                "instrument" => d.instrument = value,
                _ => d.description = value,
            })
        };
        let error_id = format!("{key}-error");
        let described = error_id.clone();
        let required = key == "name";
        view! {
            <div class="field" class:invalid=move || about().is_some()>
                <label for=key>
                    {label}
                    {required.then_some(view! { <span class="required">" (required)"</span> })}
                </label>
                <input id=key name=key type="text" required=required prop:value=get on:input=set
                    aria-invalid=move || about().map(|_| "true")
                    aria-describedby=move || about().map(|_| described.clone()) />
                <p class="field-error" id=error_id hidden=move || about().is_none()>{about}</p>
            </div>
        }
    };
    view! {
        {field("name", "Name")}
        {field("instrument", "Instrument")}
        {field("description", "Description")}
        <p class="error" role="alert" hidden=move || error.get().is_none_or(|e| !e.field.is_empty())>
            {move || error.get().map(|e| e.message)}
        </p>
    }
}

/// `/repertoires`: every repertoire, and the form for a new one.
#[component]
pub fn RepertoiresPage() -> impl IntoView {
    set_page_title("Repertoires");
    let app = use_app();
    let list: RwSignal<Load<Vec<Repertoire>>> = RwSignal::new(Load::Loading);
    let draft = RwSignal::new(RepertoireDraft::default());
    let error = RwSignal::new(None::<InputError>);
    let reload = RwSignal::new(0_u64);
    Effect::new(move || {
        app.changes.track(&[TableId::Tune, TableId::Repertoire, TableId::RepertoireTune]);
        reload.track();
        if let Some(db) = app.db() {
            spawn_local(async move {
                list.set(match db.repertoires().await {
                    Ok(l) => Load::Ready(l),
                    Err(e) => Load::Failed(e.to_string()),
                });
            });
        }
    });
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(db) = app.db() else { return };
        spawn_local(async move {
            match db.save_repertoire(None, draft.get_untracked()).await {
                Ok(_) => {
                    error.set(None);
                    draft.set(RepertoireDraft::default());
                    reload.update(|v| *v += 1);
                    app.sync.soon(app);
                }
                Err(e) => error.set(Some(input_failure(e))),
            }
        });
    };
    let rows = move || {
        match list.get() {
        Load::Loading => view! { <p class="loading" role="status">"Loading repertoires…"</p> }.into_any(),
        Load::Failed(message) => view! { <LoadFailed message /> }.into_any(),
        Load::Ready(l) if l.is_empty() => {
            view! { <p class="empty">"No repertoires yet. Make one below for an instrument, a session or a gig."</p> }
                .into_any()
        }
        Load::Ready(l) => view! {
            <ul class="repertoire-list">
                {l.into_iter()
                    .map(|r| {
                        let count = tunebook_core::text::tune_count(u64::from(r.tune_count), u64::from(r.tune_count));
                        view! {
                            <li class="repertoire-item">
                                <a href=paths::href(&format!("/repertoires/{}", r.id))>{r.fields.name}</a>
                                {r.fields.instrument.map(|i| view! { " " <span class="badge">{i}</span> })}
                                " " <span class="hint">{count}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
        .into_any(),
    }
    };
    view! {
        <section class="repertoires">
            <h1>"Repertoires"</h1>
            {rows}
            <h2>"New repertoire"</h2>
            <form on:submit=create novalidate=true>
                <RepertoireFields draft error />
                <button type="submit" class="primary">"Create repertoire"</button>
            </form>
        </section>
    }
}

/// `/repertoires/:id`: one repertoire and its tunes.
#[component]
pub fn RepertoirePage(db: DbClient) -> impl IntoView {
    let app = use_app();
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|s| s.parse::<Uuid>().ok()));
    let repertoire: RwSignal<Load<Option<Repertoire>>> = RwSignal::new(Load::Loading);
    let reload = RwSignal::new(0_u64);
    {
        let db = db.clone();
        Effect::new(move || {
            app.changes.track(&[TableId::Tune, TableId::Repertoire, TableId::RepertoireTune]);
            reload.track();
            let (db, id) = (db.clone(), id.get());
            spawn_local(async move {
                let loaded = match id {
                    None => Load::Ready(None),
                    Some(id) => match db.get_repertoire(id).await {
                        Ok(r) => Load::Ready(r),
                        Err(e) => Load::Failed(e.to_string()),
                    },
                };
                // Unless the page is gone by now (the musician moved on).
                if repertoire.try_with_untracked(|r| *r != loaded).unwrap_or(false) {
                    repertoire.set(loaded);
                }
            });
        });
    }
    move || match repertoire.get() {
        Load::Loading => view! { <p class="loading" role="status">"Loading repertoire…"</p> }.into_any(),
        Load::Failed(message) => view! { <LoadFailed message /> }.into_any(),
        Load::Ready(None) => {
            set_page_title("Repertoire not found");
            view! {
                <section class="notice">
                    <h1>"Repertoire not found"</h1>
                    <p>"This repertoire does not exist, or it was deleted."</p>
                    <p><a href=paths::href("/repertoires")>"Back to your repertoires"</a></p>
                </section>
            }
            .into_any()
        }
        Load::Ready(Some(r)) => view! { <RepertoireView repertoire=r db=db.clone() reload /> }.into_any(),
    }
}

#[component]
fn RepertoireView(repertoire: Repertoire, db: DbClient, reload: RwSignal<u64>) -> impl IntoView {
    let app = use_app();
    set_page_title(&repertoire.fields.name);
    let navigate = use_navigate();
    let id = repertoire.id;
    let name = repertoire.fields.name.clone();
    let editing = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let picking = RwSignal::new(false);
    let draft = RwSignal::new(repertoire.to_draft());
    let error = RwSignal::new(None::<InputError>);
    let save = {
        let db = db.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let db = db.clone();
            spawn_local(async move {
                match db.save_repertoire(Some(id), draft.get_untracked()).await {
                    Ok(_) => {
                        error.set(None);
                        editing.set(false);
                        reload.update(|v| *v += 1);
                        app.sync.soon(app);
                    }
                    Err(e) => error.set(Some(input_failure(e))),
                }
            });
        }
    };
    let delete = {
        let db = db.clone();
        move |_| {
            let (db, navigate) = (db.clone(), navigate.clone());
            spawn_local(async move {
                match db.run(Request::DeleteRepertoire { id }).await {
                    Ok(()) => {
                        app.sync.soon(app);
                        navigate(
                            &paths::href("/repertoires"),
                            NavigateOptions { replace: true, ..Default::default() },
                        );
                    }
                    Err(e) => error.set(Some(input_failure(e))),
                }
            });
        }
    };
    let (list_db, picker_db) = (db.clone(), db.clone());
    let details = [repertoire.fields.instrument.clone(), repertoire.fields.description.clone()];
    let count =
        tunebook_core::text::tune_count(u64::from(repertoire.tune_count), u64::from(repertoire.tune_count));
    view! {
        <section class="repertoire">
            <div class="list-toolbar">
                <h1>{name.clone()}</h1>
                <button type="button" class="primary" on:click=move |_| picking.update(|p| *p = !*p)>"Add tunes"</button>
            </div>
            {details.into_iter().flatten().map(|d| view! { <p>{d}</p> }).collect_view()}
            <p class="hint">{count}</p>
            <Show when=move || picking.get()>
                <TunePicker repertoire=id db=picker_db.clone() picking reload />
            </Show>
            <Show when=move || editing.get()>
                <form on:submit=save.clone() novalidate=true>
                    <RepertoireFields draft error />
                    <button type="submit" class="primary">"Save"</button>
                    <button type="button" on:click=move |_| editing.set(false)>"Cancel"</button>
                </form>
            </Show>
            <Show when=move || !editing.get()>
                <div class="actions">
                    <button type="button" on:click=move |_| editing.set(true)>"Rename"</button>
                    <button type="button" class="danger" on:click=move |_| confirming.set(true)>"Delete"</button>
                    <a href=paths::href("/repertoires")>"Back to your repertoires"</a>
                </div>
            </Show>
            <Show when=move || confirming.get()>
                <div class="dialog" role="alertdialog" aria-modal="true" aria-labelledby="confirm-delete-repertoire">
                    <h2 id="confirm-delete-repertoire">{format!("Delete “{name}”?")}</h2>
                    <p>"The repertoire goes; its tunes stay in your tunebook."</p>
                    <div class="actions">
                        <button type="button" class="danger" on:click=delete.clone()>"Yes, delete"</button>
                        <button type="button" on:click=move |_| confirming.set(false)>"Cancel"</button>
                    </div>
                </div>
            </Show>
            <h2>"Tunes"</h2>
            <TuneList db=list_db repertoire=id />
        </section>
    }
}

/// "Add tunes": find tunes in the whole list and add the ticked ones at once.
#[component]
fn TunePicker(
    repertoire: Uuid,
    db: DbClient,
    picking: RwSignal<bool>,
    reload: RwSignal<u64>,
) -> impl IntoView {
    let app = use_app();
    let find = RwSignal::new(String::new());
    let found = RwSignal::new(Vec::<(Uuid, String)>::new());
    let chosen = RwSignal::new(Vec::<Uuid>::new());
    let error = RwSignal::new(None::<String>);
    {
        let db = db.clone();
        Effect::new(move || {
            let filter = find.get();
            let db = db.clone();
            spawn_local(async move {
                let query = ListQuery { filter, limit: 200, ..ListQuery::default() };
                if let Ok(page) = db.list_tunes(query).await {
                    found.set(page.rows.into_iter().map(|r| (r.id, r.title)).collect());
                }
            });
        });
    }
    let add = move |_| {
        let (db, tunes) = (db.clone(), chosen.get_untracked());
        spawn_local(async move {
            match db.add_to_repertoire(repertoire, tunes).await {
                Ok(_) => {
                    chosen.set(Vec::new());
                    picking.set(false);
                    reload.update(|v| *v += 1);
                    app.data_changed();
                    app.sync.soon(app);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    view! {
        <div class="picker" role="group" aria-labelledby="picker-heading">
            <h2 id="picker-heading">"Add tunes"</h2>
            <div class="field">
                <label for="find-tunes">"Find tunes"</label>
                <input id="find-tunes" type="search" autocomplete="off" prop:value=move || find.get()
                    on:input=move |ev| find.set(event_target_value(&ev)) />
            </div>
            <ul>
                {move || {
                    found
                        .get()
                        .into_iter()
                        .map(|(tune, title)| {
                            let box_id = format!("pick-{tune}");
                            let checked = move || chosen.with(|c| c.contains(&tune));
                            let toggle = move |_| chosen.update(|c| if c.contains(&tune) { c.retain(|t| *t != tune) } else { c.push(tune) });
                            view! {
                                <li>
                                    <input type="checkbox" id=box_id.clone() prop:checked=checked on:change=toggle />
                                    <label for=box_id>{title}</label>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <div class="actions">
                <button type="button" class="primary" disabled=move || chosen.with(Vec::is_empty) on:click=add>
                    "Add selected tunes"
                </button>
                <span class="hint" role="status">{move || format!("{} selected", chosen.with(Vec::len))}</span>
                <button type="button" on:click=move |_| picking.set(false)>"Close"</button>
            </div>
        </div>
    }
}
