//! The header on every page: the name, navigation, the sync status, the account, and
//! the sign-out confirmation when changes would be lost.

use leptos::prelude::*;

use crate::ui::paths;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;
use tunebook_core::text::{ago, changes, conflicts, download_progress, sync_status};

use super::account::Account;
use super::auth_flow::{cancel_sign_out, finish_sign_out, prepare_sign_out};
use super::context::use_app;
use super::format::local_date_time;

#[component]
pub fn Header() -> impl IntoView {
    let app = use_app();
    let navigate = use_navigate();
    let unsaved = app.unsaved;
    // Some(n): signing out would lose n changes; the musician must choose.
    let confirm_loss = RwSignal::new(None::<u64>);
    let signing_out = RwSignal::new(false);
    let sign_out_error = RwSignal::new(None::<String>);

    let finish = {
        let navigate = navigate.clone();
        move || {
            let navigate = navigate.clone();
            spawn_local(async move {
                match finish_sign_out(app).await {
                    Ok(()) => {
                        confirm_loss.set(None);
                        navigate("/", NavigateOptions::default());
                    }
                    Err(e) => sign_out_error.set(Some(format!("Could not sign out: {e}"))),
                }
                signing_out.set(false);
            });
        }
    };
    let start_sign_out = {
        let finish = finish.clone();
        move |_| {
            if signing_out.get_untracked() || !unsaved.confirm_leave() {
                return;
            }
            signing_out.set(true);
            sign_out_error.set(None);
            let finish = finish.clone();
            spawn_local(async move {
                match prepare_sign_out(app).await {
                    0 => finish(),
                    lost => {
                        confirm_loss.set(Some(lost));
                        signing_out.set(false);
                    }
                }
            });
        }
    };
    let discard_and_sign_out = move |_| {
        signing_out.set(true);
        finish();
    };
    let keep_signed_in = move |_| {
        confirm_loss.set(None);
        cancel_sign_out(app);
    };

    let status = move || {
        let signed_in = app.account.with(|a| a.session().is_some());
        app.sync.status.with(|s| match (s.run.pulling, &s.stats_error) {
            (Some((done, total)), _) => download_progress(done, total),
            // Counts that could not be read must not pass for "Synced".
            (None, Some(_)) if !s.run.running => "Sync status unknown".to_string(),
            (None, _) => sync_status(signed_in, s.online, s.run.running, &s.stats),
        })
    };
    let conflict_count = move || app.sync.status.with(|s| s.stats.conflicts);
    let status_title = move || {
        app.sync.status.with(|s| match s.run.last_success {
            Some(at) => format!(
                "Last synced {} ({})",
                ago((tunebook_core::domain::Timestamp::now().millis() - at.millis()) / 1000),
                local_date_time(at)
            ),
            None => "Not synced yet".to_string(),
        })
    };
    let status_class = move || {
        app.sync.status.with(|s| {
            if s.stats.failed > 0 {
                "sync-status failed"
            } else if !s.online {
                "sync-status offline"
            } else {
                "sync-status"
            }
        })
    };

    let account_area = move || {
        match app.account.get() {
        Account::SignedOut => view! { <a class="button" href=paths::href("/signin") on:click=move |ev| unsaved.guard_click(ev)>"Sign in"</a> }.into_any(),
        Account::SignedIn(session) => view! {
            <span class="who">{session.user.email}</span>
            <button type="button" on:click=start_sign_out.clone() disabled=move || signing_out.get()>
                {move || if signing_out.get() { "Signing out…" } else { "Sign out" }}
            </button>
        }
        .into_any(),
        Account::Ended { user } => view! {
            <span class="who">{user.email}</span>
            <a class="button" href=paths::href("/signin")>"Sign in again"</a>
            <button type="button" on:click=start_sign_out.clone() disabled=move || signing_out.get()>
                "Sign out"
            </button>
        }
        .into_any(),
    }
    };

    view! {
        <header class="site-header">
            <a class="brand" href=paths::href("/") on:click=move |ev| unsaved.guard_click(ev)>"Tunebook"</a>
            <nav aria-label="Main">
                <a href=paths::href("/practice") on:click=move |ev| unsaved.guard_click(ev)>"Practice"</a>
                <a href=paths::href("/progress") on:click=move |ev| unsaved.guard_click(ev)>"Progress"</a>
                <a href=paths::href("/repertoires") on:click=move |ev| unsaved.guard_click(ev)>"Repertoires"</a>
                <a href=paths::href("/settings") on:click=move |ev| unsaved.guard_click(ev)>"Settings"</a>
            </nav>
            <a href=paths::href("/sync") class=status_class title=status_title on:click=move |ev| unsaved.guard_click(ev)>
                // A link may not be a live region itself; its text is.
                <span role="status">{status}</span>
            </a>
            {move || (conflict_count() > 0).then(|| view! {
                <a href=paths::href("/conflicts") class="conflicts-link" on:click=move |ev| unsaved.guard_click(ev)>
                    {conflicts(conflict_count())}
                </a>
            })}
            <div class="account">{account_area}</div>
        </header>
        {move || app.account.with(|a| matches!(a, Account::Ended { .. })).then(|| {
            let pending = app.sync.status.with(|s| s.stats.unsynced());
            view! {
                <div class="banner warning" role="alert">
                    <strong>"Your session has ended."</strong>
                    " Sign in again to keep syncing. Your tunes and " {changes(pending)}
                    " not yet synced are kept on this device."
                </div>
            }
        })}
        {move || sign_out_error.get().map(|e| view! { <div class="banner warning" role="alert">{e}</div> })}
        <Show when=move || confirm_loss.get().is_some()>
            <div class="dialog" role="alertdialog" aria-modal="true" aria-labelledby="sign-out-title">
                <h2 id="sign-out-title">"Sign out and lose unsynced changes?"</h2>
                <p>
                    {move || {
                        let n = confirm_loss.get().unwrap_or_default();
                        format!("{} {} not reached your account yet", changes(n), if n == 1 { "has" } else { "have" })
                    }}
                    " (the sync server could not be reached, or refused them). "
                    "Signing out deletes this device's copy, so they would be lost."
                </p>
                <div class="actions">
                    <button type="button" on:click=keep_signed_in>"Stay signed in"</button>
                    <button type="button" class="danger" on:click=discard_and_sign_out.clone() disabled=move || signing_out.get()>
                        {move || format!("Sign out and discard {}", changes(confirm_loss.get().unwrap_or_default()))}
                    </button>
                </div>
            </div>
        </Show>
    }
}
