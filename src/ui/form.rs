//! What the forms share: a labelled input with its message beneath, the field a failed
//! write's message belongs next to, and the inline "Delete this …?" confirmation.

use leptos::prelude::*;
use tunebook_core::domain::library::InputError;
use tunebook_core::error::DbError;
use tunebook_core::protocol::WorkerError;

/// A failed write's message and the field it belongs next to ("" when it is about the
/// whole form, such as a storage failure).
pub fn input_failure(e: WorkerError) -> InputError {
    match e {
        WorkerError::Db(DbError::Input(input)) => input,
        other => InputError { field: String::new(), message: other.to_string() },
    }
}

/// "Delete this note?" with "Yes, delete" and "Cancel", shown while `open`.
#[component]
pub fn ConfirmDelete(
    /// What is deleted ("note").
    noun: &'static str,
    open: RwSignal<bool>,
    on_confirm: impl Fn() + Clone + Send + Sync + 'static,
    /// A failure of the delete itself.
    #[prop(into)]
    error: Signal<Option<String>>,
) -> impl IntoView {
    let question = format!("Delete this {noun}?");
    view! {
        <Show when=move || open.get()>
            <div class="confirm" role="alertdialog" aria-label=question.clone()>
                <p>{question.clone()}</p>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <button type="button" class="danger" on:click={
                    let on_confirm = on_confirm.clone();
                    move |_| on_confirm()
                }>"Yes, delete"</button>
                <button type="button" on:click=move |_| open.set(false)>"Cancel"</button>
            </div>
        </Show>
    }
}

/// `<label for>` + `<input>` + the field's message (announced, and linked with
/// `aria-describedby` while there is one).
#[component]
pub fn LabeledInput(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(into, default = Signal::stored(None))] error: Signal<Option<String>>,
    #[prop(into, default = Signal::stored(false))] disabled: Signal<bool>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let described = {
        let error_id = error_id.clone();
        move || error.get().map(|_| error_id.clone())
    };
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id>{label}</label>
            <input
                id=id
                name=id
                type=kind
                autocomplete=autocomplete
                disabled=move || disabled.get()
                aria-invalid=move || error.get().map(|_| "true")
                aria-describedby=described
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            <p class="field-error" id=error_id hidden=move || error.get().is_none()>
                {move || error.get()}
            </p>
        </div>
    }
}
