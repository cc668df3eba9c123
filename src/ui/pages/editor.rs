//! The tune editor at `/tunes/new` and `/tunes/:id/edit`. Messages appear next to their
//! fields; nothing is saved until every field is valid; leaving with unsaved edits asks.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;

use super::{Load, LoadFailed, TuneNotFound, route_tune_id};
use crate::ui::context::use_app;
use crate::ui::db_client::DbClient;
use crate::ui::notation::Notation;
use send_wrapper::SendWrapper;
use tunebook_core::domain::{Field, FieldErrors, TUNE_TYPES, TuneDraft, Uuid, validate};
use tunebook_core::error::DbError;
use tunebook_core::protocol::WorkerError;

/// What the form starts from: the tune's id (none for a new tune), its fields, its title.
#[derive(Clone, Debug, PartialEq)]
struct EditStart {
    id: Option<Uuid>,
    draft: TuneDraft,
    title: String,
}

#[component]
pub fn TuneEditor(db: DbClient, editing: bool) -> impl IntoView {
    let id = route_tune_id();
    // The draft the form starts from: empty for a new tune, the stored tune when editing.
    let initial: RwSignal<Load<Option<EditStart>>> = RwSignal::new(Load::Loading);
    {
        let db = db.clone();
        Effect::new(move || {
            if !editing {
                initial.set(Load::Ready(Some(EditStart {
                    id: None,
                    draft: TuneDraft::default(),
                    title: String::new(),
                })));
                return;
            }
            let Some(id) = id.get() else {
                initial.set(Load::Ready(None));
                return;
            };
            let db = db.clone();
            spawn_local(async move {
                initial.set(match db.get_tune(id).await {
                    Ok(t) => Load::Ready(t.map(|t| EditStart {
                        id: Some(t.id),
                        draft: t.fields.to_draft(),
                        title: t.fields.title,
                    })),
                    Err(e) => Load::Failed(e.to_string()),
                });
            });
        });
    }

    move || match initial.get() {
        Load::Loading => view! { <p class="loading" role="status">"Loading tune…"</p> }.into_any(),
        Load::Failed(message) => view! { <LoadFailed message=message /> }.into_any(),
        Load::Ready(None) => view! { <TuneNotFound /> }.into_any(),
        Load::Ready(Some(start)) => view! { <EditorForm db=db.clone() start=start /> }.into_any(),
    }
}

#[component]
fn EditorForm(db: DbClient, start: EditStart) -> impl IntoView {
    let EditStart { id, draft: start, title } = start;
    crate::ui::format::set_page_title(&if id.is_some() {
        format!("Edit {title}")
    } else {
        "New tune".into()
    });
    let navigate = use_navigate();
    let saved_draft = RwSignal::new(start.clone());
    let draft = RwSignal::new(start);
    let errors = RwSignal::new(FieldErrors::default());
    // After a rejected Save, messages follow the input as the musician fixes it.
    let submitted = RwSignal::new(false);
    let saving = RwSignal::new(false);
    let save_error = RwSignal::new(None::<String>);

    let app = use_app();
    let unsaved = app.unsaved;
    unsaved.arm_before_unload();
    unsaved.arm_back_button();
    Effect::new(move || unsaved.set(draft.get() != saved_draft.get()));

    let back_to = match id {
        Some(id) => format!("/tunes/{id}"),
        None => "/".to_string(),
    };

    let on_submit = {
        let navigate = navigate.clone();
        move |ev: SubmitEvent| {
            ev.prevent_default();
            if saving.get_untracked() {
                return;
            }
            submitted.set(true);
            let current = draft.get_untracked();
            if let Err(found) = validate(&current) {
                focus_first_invalid(&found);
                errors.set(found);
                return;
            }
            errors.set(FieldErrors::default());
            save_error.set(None);
            saving.set(true);
            let db = db.clone();
            let navigate = navigate.clone();
            spawn_local(async move {
                let result = db.save_tune(id, current.clone()).await;
                saving.set(false);
                match result {
                    Ok(tune) => {
                        saved_draft.set(current);
                        unsaved.set(false);
                        app.sync.soon(app);
                        let replace = unsaved.take_back_guard() || id.is_none();
                        navigate(
                            &format!("/tunes/{}", tune.id),
                            NavigateOptions { replace, ..Default::default() },
                        );
                    }
                    Err(WorkerError::Db(DbError::Invalid(found))) => {
                        focus_first_invalid(&found);
                        errors.set(found);
                    }
                    Err(WorkerError::Db(DbError::NotFound)) => save_error
                        .set(Some("This tune was deleted, so the changes could not be saved.".into())),
                    Err(e) => save_error.set(Some(format!(
                        "Could not save: {e}. Your changes are still here; try Save again."
                    ))),
                }
            });
        }
    };

    let on_cancel = {
        let back_to = back_to.clone();
        move |_| {
            if unsaved.confirm_leave() {
                let replace = unsaved.take_back_guard();
                navigate(&back_to, NavigateOptions { replace, ..NavigateOptions::default() });
            }
        }
    };

    let field_view = move |field: Field| {
        let key = field.key();
        let error_id = format!("{key}-error");
        let message = move || errors.with(|e| e.get(field).map(str::to_string));
        let invalid = move || message().is_some().then_some("true");
        let described = move || message().is_some().then(|| format!("{key}-error"));
        let value = move || draft.with(|d| d.get(field).to_string());
        let on_input = move |ev| {
            let text = event_target_value(&ev);
            draft.update(|d| *d.get_mut(field) = text);
            if submitted.get_untracked() {
                errors.set(validate(&draft.get_untracked()).err().unwrap_or_default());
            }
        };
        let is_title = field == Field::Title;
        let numeric = (field == Field::ReleaseYear).then_some("numeric");
        let input = match field {
            Field::Type => view! {
                <select id=key name=key aria-invalid=invalid aria-describedby=described on:change=on_input>
                    <option value="" selected=move || value().is_empty()>"—"</option>
                    {TUNE_TYPES
                        .iter()
                        .map(|t| view! { <option value=*t selected=move || value() == *t>{*t}</option> })
                        .collect_view()}
                </select>
            }
            .into_any(),
            Field::Incipit | Field::Abc => view! {
                <textarea
                    id=key
                    name=key
                    rows=if field == Field::Abc { "14" } else { "8" }
                    spellcheck="false"
                    class="incipit"
                    aria-invalid=invalid
                    aria-describedby=described
                    prop:value=value
                    on:input=on_input
                ></textarea>
            }
            .into_any(),
            _ => view! {
                <input
                    id=key
                    name=key
                    type="text"
                    inputmode=numeric
                    required=is_title
                    aria-invalid=invalid
                    aria-describedby=described
                    prop:value=value
                    on:input=on_input
                />
            }
            .into_any(),
        };
        view! {
            <div class="field" class:invalid=move || message().is_some()>
                <label for=key>
                    {field.label()}
                    {is_title.then_some(view! { <span class="required">" (required)"</span> })}
                </label>
                {input}
                <p class="field-error" id=error_id hidden=move || message().is_none()>
                    {message}
                </p>
                {(field == Field::Abc).then(|| view! { <AbcPreview draft /> })}
            </div>
        }
    };

    let heading = if id.is_some() { format!("Edit “{title}”") } else { "New tune".to_string() };
    view! {
        <section class="tune-editor">
            <h1>{heading}</h1>
            <form on:submit=on_submit novalidate=true>
                {Field::ALL.map(field_view)}
                {move || save_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <div class="actions">
                    <button type="submit" class="primary" disabled=move || saving.get()>
                        {move || if saving.get() { "Saving…" } else { "Save" }}
                    </button>
                    <button type="button" id="cancel-edit" on:click=on_cancel>
                        "Cancel"
                    </button>
                </div>
            </form>
        </section>
    }
}

/// Moves keyboard focus to the first field with a message, so it is read out and fixed.
fn focus_first_invalid(errors: &FieldErrors) {
    let Some((field, _)) = errors.iter().next() else {
        return;
    };
    if let Some(el) = document().get_element_by_id(field.key())
        && let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el)
    {
        let _ = el.focus();
    }
}

/// Beneath the ABC box: what the parser says about it (not blocking a save), and the
/// staff, redrawn once typing pauses.
#[component]
fn AbcPreview(draft: RwSignal<TuneDraft>) -> impl IntoView {
    let shown = RwSignal::new(None::<String>);
    let pending = StoredValue::new(None::<SendWrapper<gloo_timers::callback::Timeout>>);
    Effect::new(move || {
        let text = draft.with(|d| d.abc.clone());
        // Debounced: drawing a long tune on every keystroke would lag the typing.
        let timeout = gloo_timers::callback::Timeout::new(300, move || {
            shown.set(Some(text).filter(|t| !t.trim().is_empty()));
        });
        pending.set_value(Some(SendWrapper::new(timeout)));
    });
    let warnings = move || {
        let text = shown.get()?;
        let book = tunebook_core::abc::parse_book(&text);
        let mut notes: Vec<String> =
            book.unreadable.iter().map(|u| format!("Line {}: {}.", u.line, u.reason)).collect();
        if book.tunes.is_empty() && book.unreadable.is_empty() {
            notes.push("No tune found: a tune starts with an X: line.".into());
        }
        if book.tunes.len() > 1 {
            notes.push(format!(
                "This holds {} tunes; a tune's ABC should hold one (use Import for a book).",
                book.tunes.len()
            ));
        }
        for tune in &book.tunes {
            if tune.key.is_none() {
                notes.push(format!("K:{} names no key the list can filter by.", tune.key_field));
            }
        }
        (!notes.is_empty()).then(|| {
            view! {
                <ul class="abc-warnings" id="abc-warnings" aria-live="polite">
                    {notes.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}
                </ul>
            }
        })
    };
    view! {
        {warnings}
        <Show when=move || shown.with(Option::is_some)>
            <h2 class="preview-title">"Preview"</h2>
            <Notation abc=shown controls=false label="the ABC above" />
        </Show>
    }
}
