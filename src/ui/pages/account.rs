//! Sign in (`/signin`) and create an account (`/signup`) with e-mail and password.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::ui::paths;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;
use tunebook_core::supabase::auth::{self, SignUpOutcome};
use tunebook_core::supabase::fetch::FetchTransport;

use crate::ui::auth_flow::{auth_message, enter_account};
use crate::ui::context::use_app;
use crate::ui::form::LabeledInput;

/// Which form.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AccountForm {
    SignIn,
    SignUp,
}

#[component]
pub fn SignIn() -> impl IntoView {
    view! { <AccountPage form=AccountForm::SignIn /> }
}

#[component]
pub fn SignUp() -> impl IntoView {
    view! { <AccountPage form=AccountForm::SignUp /> }
}

#[component]
fn AccountPage(form: AccountForm) -> impl IntoView {
    let app = use_app();
    crate::ui::format::set_page_title(match form {
        AccountForm::SignIn => "Sign in",
        AccountForm::SignUp => "Create account",
    });
    let navigate = use_navigate();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let email_error = RwSignal::new(None::<String>);
    let password_error = RwSignal::new(None::<String>);
    let message = RwSignal::new(None::<(bool, String)>);
    let busy = RwSignal::new(false);

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let (address, secret) = (email.get_untracked().trim().to_string(), password.get_untracked());
        email_error.set(address.is_empty().then(|| "Enter your e-mail address.".to_string()));
        password_error.set(secret.is_empty().then(|| "Enter your password.".to_string()));
        if address.is_empty() || secret.is_empty() {
            return;
        }
        message.set(None);
        busy.set(true);
        let navigate = navigate.clone();
        spawn_local(async move {
            let transport = FetchTransport::default();
            let config = app.supabase();
            let session = match form {
                AccountForm::SignIn => auth::sign_in(&transport, &config, &address, &secret).await.map(Some),
                AccountForm::SignUp => {
                    auth::sign_up(&transport, &config, &address, &secret).await.map(|o| match o {
                        SignUpOutcome::SignedIn(session) => Some(session),
                        SignUpOutcome::ConfirmationSent { .. } => None,
                    })
                }
            };
            let result = match session {
                Ok(Some(session)) => enter_account(app, session).await.map(|()| true),
                Ok(None) => Ok(false),
                Err(e) => Err(auth_message(&e)),
            };
            busy.set(false);
            match result {
                Ok(true) => navigate("/", NavigateOptions::default()),
                Ok(false) => message.set(Some((
                    true,
                    format!(
                        "Check your e-mail ({address}) for a link to confirm your account, then sign in."
                    ),
                ))),
                Err(text) => message.set(Some((false, text))),
            }
        });
    };

    let (heading, button, busy_label) = match form {
        AccountForm::SignIn => ("Sign in", "Sign in", "Signing in…"),
        AccountForm::SignUp => ("Create an account", "Create account", "Creating…"),
    };
    let other = match form {
        AccountForm::SignIn => {
            view! { <p>"New here? " <a href=paths::href("/signup")>"Create an account"</a></p> }
        }
        AccountForm::SignUp => {
            view! { <p>"Already have an account? " <a href=paths::href("/signin")>"Sign in"</a></p> }
        }
    };
    let password_autocomplete = if form == AccountForm::SignIn { "current-password" } else { "new-password" };
    view! {
        <section class="account-form">
            <h1>{heading}</h1>
            <p class="hint">
                "Signing in keeps your tunes in your own Supabase project, in sync across your devices. "
                "Tunes you made on this device come with you."
            </p>
            <form on:submit=on_submit novalidate=true>
                <LabeledInput id="email" label="Email" kind="email" autocomplete="email" value=email error=email_error />
                <LabeledInput
                    id="password"
                    label="Password"
                    kind="password"
                    autocomplete=password_autocomplete
                    value=password
                    error=password_error
                />
                {move || message.get().map(|(ok, text)| {
                    view! { <p class=if ok { "notice-ok" } else { "error" } role="alert">{text}</p> }
                })}
                <div class="actions">
                    <button type="submit" class="primary" disabled=move || busy.get()>
                        {move || if busy.get() { busy_label } else { button }}
                    </button>
                </div>
            </form>
            {other}
        </section>
    }
}
