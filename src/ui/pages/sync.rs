//! The Sync page (`/sync`): where the musician's changes stand, "Sync now", the changes
//! the server refused (each with its message, Retry and Discard), rows from the server
//! this device could not read, the last run, and the details support asks for.

use leptos::prelude::*;

use crate::ui::paths;
use leptos::task::spawn_local;
use tunebook_core::domain::Timestamp;
use tunebook_core::supabase::realtime::LiveStatus;
use tunebook_core::sync::{QueueItem, UnreadableRow};
use tunebook_core::tables::TableId;
use tunebook_core::text::{ago, row_label, sync_status};

use crate::ui::account;
use crate::ui::context::use_app;
use crate::ui::format::local_date_time;

/// A refused change's label, from its queued row (deletes carry none).
fn title_of(item: &QueueItem) -> String {
    row_label(&item.table_name, &item.record_id, item.data.as_deref())
}

#[component]
pub fn SyncPage() -> impl IntoView {
    crate::ui::format::set_page_title("Sync");
    let app = use_app();
    let failed = RwSignal::new(Vec::<QueueItem>::new());
    let unreadable = RwSignal::new(Vec::<UnreadableRow>::new());
    let discarding = RwSignal::new(None::<QueueItem>);
    let error = RwSignal::new(None::<String>);

    // The lists of refused and unreadable rows. Reading them writes nothing the effect
    // below tracks: when the reload also refreshed the sync status, it re-ran itself without
    // end (a request loop against the worker, and with the worker gone a main thread that
    // never yielded).
    let reload = move || {
        spawn_local(async move {
            if let Some(db) = app.db() {
                match db.failed_items().await {
                    Ok(items) => failed.set(items),
                    Err(e) => error.set(Some(e.to_string())),
                }
                match db.quarantined().await {
                    Ok(rows) => unreadable.set(rows),
                    Err(e) => error.set(Some(e.to_string())),
                }
            }
        })
    };
    // Reload whenever the sync status is written (a run starts, progresses or ends; the
    // counts are refreshed) or the data changes.
    Effect::new(move || {
        app.sync.status.track();
        app.changes.track(&TableId::ALL);
        reload();
    });
    // Fresh counts when the page opens (the effect then reloads the lists).
    spawn_local(async move { app.sync.refresh_stats(app).await });

    let signed_in = move || app.account.with(|a| a.session().is_some());
    let sync_now = move |_| spawn_local(app.sync.run(app, true));
    let retry = move |id: i64| {
        spawn_local(async move {
            if let Some(db) = app.db() {
                match db.retry_failed(id).await {
                    Ok(()) => app.sync.soon(app),
                    Err(e) => error.set(Some(e.to_string())),
                }
            }
            reload();
        })
    };
    let discard = move |_| {
        let Some(item) = discarding.get_untracked() else { return };
        spawn_local(async move {
            if let Some(db) = app.db()
                && let Err(e) = db.discard_failed(item.id).await
            {
                error.set(Some(e.to_string()));
            }
            discarding.set(None);
            app.sync.refresh_stats(app).await;
        })
    };

    let stats = move || app.sync.status.with(|s| s.stats.clone());
    let oldest = move || {
        stats()
            .oldest_pending_at
            .map(|at| ago((Timestamp::now().millis() - at.millis()) / 1000))
            .unwrap_or_else(|| "—".into())
    };
    let last_run = move || {
        app.sync.status.with(|s| match &s.run.last {
            Some(run) => format!(
                "{} ({}), took {:.0} ms: {}",
                local_date_time(run.finished_at),
                ago((Timestamp::now().millis() - run.finished_at.millis()) / 1000),
                run.duration_ms,
                run.result
            ),
            None => "No sync yet in this session.".into(),
        })
    };

    let live = move || {
        let every = app.settings.with(|s| s.sync_interval_secs);
        app.sync.live.status.with(|status| match status {
            None => "Off while signed out.".to_string(),
            Some(LiveStatus::Connecting) => "Connecting…".into(),
            Some(LiveStatus::Live) => "On: changes from your other devices show up as they are saved.".into(),
            Some(LiveStatus::Unavailable(reason)) => format!(
                "Off: live updates unavailable ({reason}). Changes from your other devices arrive with the sync every {every} s."
            ),
        })
    };

    view! {
        <section class="sync-page">
            <h1>"Sync"</h1>
            <p class="sync-summary">
                {move || {
                    let signed_in = signed_in();
                    app.sync.status.with(|s| sync_status(signed_in, s.online, s.run.running, &s.stats))
                }}
            </p>
            {move || (!signed_in()).then(|| view! {
                <p class="hint">"Your tunes stay on this device until you " <a href=paths::href("/signin")>"sign in"</a> "."</p>
            })}
            <div class="actions">
                <button type="button" class="primary" on:click=sync_now disabled=move || !signed_in() || app.sync.status.with(|s| s.run.running)>
                    "Sync now"
                </button>
            </div>
            <dl class="fields">
                <dt>"Waiting to sync"</dt><dd>{move || stats().pending}</dd>
                <dt>"Sending now"</dt><dd>{move || stats().syncing}</dd>
                <dt>"Refused by the server"</dt><dd>{move || stats().failed}</dd>
                <dt>"Oldest waiting change"</dt><dd>{oldest}</dd>
                <dt>"Last sync"</dt><dd>{last_run}</dd>
                <dt>"Live updates"</dt><dd class="live-status">{live}</dd>
            </dl>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <h2>"Changes the server refused"</h2>
            {move || {
                let items = failed.get();
                if items.is_empty() {
                    return view! { <p class="empty">"None."</p> }.into_any();
                }
                view! {
                    <ul class="failed-items">
                        {items.into_iter().map(|item| {
                            let id = item.id;
                            let title = title_of(&item);
                            let message = item.error.clone().unwrap_or_default();
                            let operation = item.operation.as_str();
                            let for_dialog = item.clone();
                            view! {
                                <li>
                                    <p><strong>{title}</strong> " (" {operation} ", " {item.attempts} " attempts)"</p>
                                    <p class="server-message">{message}</p>
                                    <div class="actions">
                                        <button type="button" on:click=move |_| retry(id)>"Retry"</button>
                                        <button type="button" class="danger" on:click=move |_| discarding.set(Some(for_dialog.clone()))>
                                            "Discard"
                                        </button>
                                    </div>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }
                .into_any()
            }}
            <Show when=move || discarding.get().is_some()>
                <div class="dialog" role="alertdialog" aria-modal="true" aria-labelledby="discard-title">
                    <h2 id="discard-title">"Discard this change?"</h2>
                    <p>
                        "The change to “" {move || discarding.get().map(|i| title_of(&i)).unwrap_or_default()}
                        "” will never reach your account. This device keeps it as it is now."
                    </p>
                    <div class="actions">
                        <button type="button" on:click=move |_| discarding.set(None)>"Keep it"</button>
                        <button type="button" class="danger" on:click=discard>"Discard change"</button>
                    </div>
                </div>
            </Show>
            <h2>"Rows this device could not read"</h2>
            {move || {
                let rows = unreadable.get();
                if rows.is_empty() {
                    return view! { <p class="empty">"None."</p> }.into_any();
                }
                view! {
                    <p class="hint">
                        "These came from your account but hold values this version of Tunebook cannot read. "
                        "They were set aside so everything else keeps syncing; a corrected version replaces them."
                    </p>
                    <ul class="unreadable-rows">
                        {rows.into_iter().map(|row| view! {
                            <li>
                                <p><strong>{row_label(&row.table_name, &row.record_id, Some(&row.raw))}</strong></p>
                                <p class="server-message">{row.reason.clone()}</p>
                            </li>
                        }).collect_view()}
                    </ul>
                }
                .into_any()
            }}
            <h2>"For support"</h2>
            <dl class="fields">
                <dt>"Device id"</dt><dd><code>{account::device_id().unwrap_or_else(|| "—".into())}</code></dd>
                <dt>"Pulled up to change"</dt><dd><code>{move || stats().pull_cursor}</code></dd>
                <dt>"Account"</dt><dd>{move || app.account.with(|a| a.user().map(|u| u.email.clone()).unwrap_or_else(|| "Signed out".into()))}</dd>
                <dt>"Server"</dt><dd><code>{move || app.settings.with(|s| s.supabase.url.clone())}</code></dd>
            </dl>
        </section>
    }
}
