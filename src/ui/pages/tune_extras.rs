//! The tune page's Tags, Notes and References: chips with ×, "Add tag" with suggestions
//! from the tags already in use; notes newest first with when they last changed, "Add
//! note", "Edit note" and "Delete note" (asks first); links to recordings, videos and
//! sheet music that open in a new tab, "Add reference", "Edit reference" and "Delete
//! reference" (asks first). Every write is queued and synced like a tune; a refusal
//! shows its message next to the field.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tunebook_core::domain::Uuid;
use tunebook_core::domain::library::{
    InputError, Note, REFERENCE_KINDS, Reference, ReferenceDraft, TuneExtras,
};
use tunebook_core::protocol::Request;
use tunebook_core::tables::TableId;

use crate::ui::context::{AppContext, use_app};
use crate::ui::db_client::DbClient;
use crate::ui::form::{ConfirmDelete, input_failure};
use crate::ui::format::local_date_time;

type Failure = RwSignal<Option<InputError>>;

/// The message text, for forms with one field.
fn shown(error: Failure) -> Option<String> {
    error.get().map(|e| e.message)
}

/// Sends a write; on success reloads the sections and schedules a sync, on failure
/// puts the message in `error`. `done` runs after success (clearing the form).
fn write(
    app: AppContext,
    db: DbClient,
    request: Request,
    error: Failure,
    reload: RwSignal<u64>,
    done: impl FnOnce() + 'static,
) {
    spawn_local(async move {
        match db.run(request).await {
            Ok(()) => {
                error.set(None);
                done();
                reload.update(|v| *v += 1);
                app.sync.soon(app);
            }
            Err(e) => error.set(Some(input_failure(e))),
        }
    });
}

#[component]
pub fn TuneExtrasView(tune: Uuid, db: DbClient) -> impl IntoView {
    let app = use_app();
    let extras = RwSignal::new(None::<TuneExtras>);
    let suggestions = RwSignal::new(Vec::<String>::new());
    let load_error = RwSignal::new(None::<String>);
    // Bumped after each write here; synced changes bump the app's data version.
    let reload = RwSignal::new(0_u64);
    {
        let db = db.clone();
        Effect::new(move || {
            app.changes.track(&[TableId::Note, TableId::Reference, TableId::Tag]);
            reload.track();
            let db = db.clone();
            spawn_local(async move {
                match db.tune_extras(tune).await {
                    Ok(x) => extras.set(Some(x)),
                    Err(e) => load_error.set(Some(e.to_string())),
                }
                if let Ok(tags) = db.all_tags().await {
                    suggestions.set(tags.into_iter().map(|(name, _)| name).collect());
                }
            });
        });
    }
    let tags =
        Signal::derive(move || extras.with(|x| x.as_ref().map(|x| x.tags.clone()).unwrap_or_default()));
    let notes =
        Signal::derive(move || extras.with(|x| x.as_ref().map(|x| x.notes.clone()).unwrap_or_default()));
    let references =
        Signal::derive(move || extras.with(|x| x.as_ref().map(|x| x.references.clone()).unwrap_or_default()));

    view! {
        {move || load_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <TagsSection tune db=db.clone() tags suggestions reload />
        <NotesSection tune db=db.clone() notes reload />
        <ReferencesSection tune db references reload />
    }
}

#[component]
fn TagsSection(
    tune: Uuid,
    db: DbClient,
    tags: Signal<Vec<String>>,
    suggestions: RwSignal<Vec<String>>,
    reload: RwSignal<u64>,
) -> impl IntoView {
    let app = use_app();
    let draft = RwSignal::new(String::new());
    let error: Failure = RwSignal::new(None);
    let add = {
        let db = db.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let name = draft.get_untracked();
            let request = Request::AddTag { tune, name };
            write(app, db.clone(), request, error, reload, move || draft.set(String::new()));
        }
    };
    let chips = move || {
        let db = db.clone();
        tags.get()
            .into_iter()
            .map(|name| {
                let db = db.clone();
                let label = format!("Remove tag {name}");
                let request = Request::RemoveTag { tune, name: name.clone() };
                view! {
                    <li class="chip">
                        <a href=crate::ui::paths::href(&format!("/?tag={}", encode(&name)))>{name.clone()}</a>
                        <button type="button" class="chip-remove" aria-label=label
                            on:click=move |_| write(app, db.clone(), request.clone(), error, reload, || {})>
                            "×"
                        </button>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <section class="tags" aria-labelledby="tags-heading">
            <h2 id="tags-heading">"Tags"</h2>
            <ul class="chips">{chips}</ul>
            <form class="inline-form" on:submit=add novalidate=true>
                <div class="field" class:invalid=move || error.get().is_some()>
                    <label for="add-tag">"Add tag"</label>
                    <input id="add-tag" name="add-tag" type="text" list="tag-suggestions" autocomplete="off"
                        maxlength="50"
                        aria-invalid=move || error.get().map(|_| "true")
                        aria-describedby=move || error.get().map(|_| "add-tag-error")
                        prop:value=move || draft.get()
                        on:input=move |ev| draft.set(event_target_value(&ev)) />
                    <datalist id="tag-suggestions">
                        {move || suggestions.get().into_iter().map(|s| view! { <option value=s></option> }).collect_view()}
                    </datalist>
                    <p class="field-error" id="add-tag-error" hidden=move || error.get().is_none()>{move || shown(error)}</p>
                </div>
                <button type="submit">"Add tag"</button>
            </form>
        </section>
    }
}

/// A tag in a link's query string.
fn encode(text: &str) -> String {
    tunebook_core::list::ListQuery { tag: Some(text.into()), ..Default::default() }
        .to_query_string()
        .trim_start_matches("tag=")
        .to_string()
}

#[component]
fn NotesSection(tune: Uuid, db: DbClient, notes: Signal<Vec<Note>>, reload: RwSignal<u64>) -> impl IntoView {
    let app = use_app();
    let draft = RwSignal::new(String::new());
    let error: Failure = RwSignal::new(None);
    let add = {
        let db = db.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let request = Request::AddNote { tune, body: draft.get_untracked() };
            write(app, db.clone(), request, error, reload, move || draft.set(String::new()));
        }
    };
    let list = move || {
        let db = db.clone();
        notes.get().into_iter().map(|note| view! { <NoteItem note db=db.clone() reload /> }).collect_view()
    };
    view! {
        <section class="notes" aria-labelledby="notes-heading">
            <h2 id="notes-heading">"Notes"</h2>
            <form on:submit=add novalidate=true>
                <div class="field" class:invalid=move || error.get().is_some()>
                    <label for="add-note">"Add note"</label>
                    <textarea id="add-note" name="add-note" rows="3"
                        aria-invalid=move || error.get().map(|_| "true")
                        aria-describedby=move || error.get().map(|_| "add-note-error")
                        prop:value=move || draft.get()
                        on:input=move |ev| draft.set(event_target_value(&ev))></textarea>
                    <p class="field-error" id="add-note-error" hidden=move || error.get().is_none()>{move || shown(error)}</p>
                </div>
                <button type="submit">"Add note"</button>
            </form>
            <ul class="note-list">{list}</ul>
        </section>
    }
}

/// "Edit note" and "Delete note" (which asks first), for one item of a list.
#[component]
fn ItemActions(
    noun: &'static str,
    editing: RwSignal<bool>,
    confirming: RwSignal<bool>,
    on_delete: impl Fn() + Clone + Send + Sync + 'static,
    error: Failure,
) -> impl IntoView {
    view! {
        <Show when=move || !editing.get() && !confirming.get()>
            <div class="actions">
                <button type="button" on:click=move |_| editing.set(true)>{format!("Edit {noun}")}</button>
                <button type="button" class="danger" on:click=move |_| confirming.set(true)>{format!("Delete {noun}")}</button>
            </div>
        </Show>
        <ConfirmDelete noun open=confirming on_confirm=on_delete error=Signal::derive(move || shown(error)) />
    }
}

#[component]
fn NoteItem(note: Note, db: DbClient, reload: RwSignal<u64>) -> impl IntoView {
    let app = use_app();
    let id = note.id;
    let editing = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let draft = RwSignal::new(note.body.clone());
    let error: Failure = RwSignal::new(None);
    let field_id = format!("note-{id}");
    let save = {
        let db = db.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let request = Request::UpdateNote { id, body: draft.get_untracked() };
            write(app, db.clone(), request, error, reload, move || editing.set(false));
        }
    };
    let delete = move || write(app, db.clone(), Request::DeleteNote { id }, error, reload, || {});
    let body = note.body.clone();
    view! {
        <li class="note">
            <Show when=move || editing.get() fallback=move || view! { <p class="note-body">{body.clone()}</p> }>
                <form on:submit=save.clone() novalidate=true>
                    <div class="field" class:invalid=move || error.get().is_some()>
                        <label for=field_id.clone()>"Note text"</label>
                        <textarea id=field_id.clone() rows="3" prop:value=move || draft.get()
                            on:input=move |ev| draft.set(event_target_value(&ev))></textarea>
                    </div>
                    <button type="submit" class="primary">"Save"</button>
                    <button type="button" on:click=move |_| editing.set(false)>"Cancel"</button>
                </form>
            </Show>
            {move || shown(error).map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
            <p class="hint">
                "Changed " <time datetime=note.last_modified_at.to_string()>{local_date_time(note.last_modified_at)}</time>
            </p>
            <ItemActions noun="note" editing confirming on_delete=delete error />
        </li>
    }
}

/// The URL, Kind, Title and Comment inputs, with ids made unique by `prefix`; a refusal
/// shows next to the field it is about.
#[component]
fn ReferenceFields(prefix: String, draft: RwSignal<ReferenceDraft>, error: Failure) -> impl IntoView {
    let id = |name: &str| format!("{prefix}{name}");
    let about = move |name: &'static str| move || error.get().filter(|e| e.field == name).map(|e| e.message);
    let text_field = move |name: &'static str, label: &'static str, kind: &'static str| {
        let field_id = id(name);
        let error_id = format!("{field_id}-error");
        let described = error_id.clone();
        let get = move || {
            draft.with(|d| match name {
                "url" => d.url.clone(),
                "title" => d.title.clone(),
                _ => d.comment.clone(),
            })
        };
        let set = move |ev| {
            let value = event_target_value(&ev);
            draft.update(|d| match name {
                "url" => d.url = value,
                "title" => d.title = value,
                _ => d.comment = value,
            })
        };
        view! {
            <div class="field" class:invalid=move || about(name)().is_some()>
                <label for=field_id.clone()>{label}</label>
                <input id=field_id type=kind prop:value=get on:input=set
                    aria-invalid=move || about(name)().map(|_| "true")
                    aria-describedby=move || about(name)().map(|_| described.clone()) />
                <p class="field-error" id=error_id hidden=move || about(name)().is_none()>{about(name)}</p>
            </div>
        }
    };
    let kind_id = id("kind");
    view! {
        {text_field("url", "URL", "url")}
        <div class="field" class:invalid=move || about("kind")().is_some()>
            <label for=kind_id.clone()>"Kind"</label>
            <select id=kind_id on:change=move |ev| draft.update(|d| d.kind = event_target_value(&ev))>
                {REFERENCE_KINDS
                    .iter()
                    .map(|(value, label)| {
                        view! { <option value=*value selected=move || draft.with(|d| d.kind == *value)>{*label}</option> }
                    })
                    .collect_view()}
            </select>
            <p class="field-error" hidden=move || about("kind")().is_none()>{about("kind")}</p>
        </div>
        {text_field("title", "Title", "text")}
        {text_field("comment", "Comment", "text")}
        <p class="error" role="alert" hidden=move || about("")().is_none()>{about("")}</p>
    }
}

#[component]
fn ReferencesSection(
    tune: Uuid,
    db: DbClient,
    references: Signal<Vec<Reference>>,
    reload: RwSignal<u64>,
) -> impl IntoView {
    let app = use_app();
    let draft = RwSignal::new(ReferenceDraft::default());
    let error: Failure = RwSignal::new(None);
    let add = {
        let db = db.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let request = Request::AddReference { tune, draft: draft.get_untracked() };
            write(app, db.clone(), request, error, reload, move || draft.set(ReferenceDraft::default()));
        }
    };
    let list = move || {
        let db = db.clone();
        references
            .get()
            .into_iter()
            .map(|reference| view! { <ReferenceItem reference db=db.clone() reload /> })
            .collect_view()
    };
    view! {
        <section class="references" aria-labelledby="references-heading">
            <h2 id="references-heading">"References"</h2>
            <ul class="reference-list">{list}</ul>
            <form class="reference-form" on:submit=add novalidate=true>
                <ReferenceFields prefix="reference-".into() draft error />
                <button type="submit">"Add reference"</button>
            </form>
        </section>
    }
}

#[component]
fn ReferenceItem(reference: Reference, db: DbClient, reload: RwSignal<u64>) -> impl IntoView {
    let app = use_app();
    let id = reference.id;
    let editing = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let draft = RwSignal::new(reference.to_draft());
    let error: Failure = RwSignal::new(None);
    let save = {
        let db = db.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let request = Request::UpdateReference { id, draft: draft.get_untracked() };
            write(app, db.clone(), request, error, reload, move || editing.set(false));
        }
    };
    let delete = move || write(app, db.clone(), Request::DeleteReference { id }, error, reload, || {});
    let f = reference.fields.clone();
    let text = f.title.clone().unwrap_or_else(|| f.url.clone());
    let kind = reference.kind_label();
    view! {
        <li class="reference">
            <Show when=move || editing.get() fallback=move || {
                view! {
                    <a href=f.url.clone() target="_blank" rel="noopener noreferrer">{text.clone()}</a>
                    " " <span class="badge">{kind}</span>
                    {f.comment.clone().map(|c| view! { <p class="hint">{c}</p> })}
                }
            }>
                <form on:submit=save.clone() novalidate=true>
                    <ReferenceFields prefix=format!("reference-{id}-") draft error />
                    <button type="submit" class="primary">"Save"</button>
                    <button type="button" on:click=move |_| editing.set(false)>"Cancel"</button>
                </form>
            </Show>
            <ItemActions noun="reference" editing confirming on_delete=delete error />
        </li>
    }
}
