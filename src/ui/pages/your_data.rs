//! "Your data" in Settings: "Export my data" (every tune, repertoire, note, reference
//! and tag on this device as a JSON file)
//! and, when signed in, "Delete my account" (after typing the e-mail address again).

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;

use crate::ui::auth_flow;
use crate::ui::context::use_app;
use crate::ui::download::download;
use crate::ui::form::LabeledInput;

#[component]
pub fn YourData() -> impl IntoView {
    let app = use_app();
    let navigate = StoredValue::new(use_navigate());
    let export_message = RwSignal::new(None::<String>);
    let deleting = RwSignal::new(false);
    let confirm_email = RwSignal::new(String::new());
    let confirm_error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let email = move || app.account.with(|a| a.user().map(|u| u.email.clone()));

    let export = move |_| {
        export_message.set(None);
        spawn_local(async move {
            let Some(db) = app.db() else { return };
            let result = db.export().await.map_err(|e| e.to_string()).and_then(|json| {
                let day = tunebook_core::domain::Timestamp::now().to_string();
                let name = format!("tunebook-export-{}.json", day.get(..10).unwrap_or("today"));
                download(&name, "application/json", &json).map(|()| name)
            });
            export_message.set(Some(match result {
                Ok(name) => format!("Saved {name}."),
                Err(e) => format!("Could not export: {e}"),
            }));
        });
    };

    let delete = move |_| {
        let typed = confirm_email.get_untracked().trim().to_string();
        let matches = email().is_some_and(|e| e.eq_ignore_ascii_case(&typed));
        if !matches {
            confirm_error.set(Some("Type this account's e-mail address exactly to confirm.".into()));
            return;
        }
        confirm_error.set(None);
        busy.set(true);
        spawn_local(async move {
            let result = auth_flow::delete_account(app, &typed).await;
            busy.set(false);
            match result {
                Ok(()) => {
                    deleting.set(false);
                    navigate.with_value(|go| go("/", NavigateOptions::default()));
                }
                Err(message) => confirm_error.set(Some(message)),
            }
        });
    };

    view! {
        <h2>"Your data"</h2>
        <p class="hint">"A copy of every tune, repertoire, note, reference and tag on this device, as a JSON file."</p>
        <div class="actions">
            <button type="button" on:click=export>"Export my data"</button>
            <Show when=move || email().is_some()>
                <button type="button" class="danger" on:click=move |_| deleting.set(true)>"Delete my account"</button>
            </Show>
        </div>
        {move || export_message.get().map(|m| view! { <p class="notice-ok" role="status">{m}</p> })}
        <Show when=move || deleting.get()>
            <div class="dialog" role="alertdialog" aria-modal="true" aria-labelledby="delete-account-title">
                <h2 id="delete-account-title">"Delete your account?"</h2>
                <p>
                    "Your account " <strong>{email}</strong>
                    " and everything in it will be deleted from the server and from this device. "
                    "Other devices keep what they have until they sign in again. This cannot be undone."
                </p>
                <LabeledInput
                    id="confirm-email"
                    label="Type your e-mail address to confirm"
                    kind="email"
                    value=confirm_email
                    error=confirm_error
                />
                <div class="actions">
                    <button type="button" on:click=move |_| deleting.set(false)>"Keep my account"</button>
                    <button type="button" class="danger" on:click=delete disabled=move || busy.get()>
                        "Delete my account permanently"
                    </button>
                </div>
            </div>
        </Show>
    }
}
