//! Settings (`/settings`): the Supabase project to sync with and how often, the theme,
//! and the browser's storage.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use tunebook_core::supabase::SupabaseConfig;
use tunebook_core::text::bytes;

use crate::ui::context::use_app;
use crate::ui::form::LabeledInput;
use crate::ui::pwa;
use crate::ui::settings::{INTERVAL_RANGE, Settings};
use crate::ui::theme::Theme;

use super::your_data::YourData;

#[component]
pub fn SettingsPage() -> impl IntoView {
    crate::ui::format::set_page_title("Settings");
    let current_theme = RwSignal::new(Theme::load());
    let app = use_app();
    let current = app.settings.get_untracked();
    let url = RwSignal::new(current.supabase.url.clone());
    let key = RwSignal::new(current.supabase.anon_key.clone());
    let interval = RwSignal::new(current.sync_interval_secs.to_string());
    let project_error = RwSignal::new(None::<String>);
    let interval_error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(None::<String>);
    // The session belongs to the project it was made with.
    let signed_in = Signal::derive(move || app.account.with(|a| a.user().is_some()));

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        saved.set(None);
        let supabase = SupabaseConfig {
            url: url.get_untracked().trim().into(),
            anon_key: key.get_untracked().trim().into(),
        };
        let project = supabase.validate();
        let secs = interval.get_untracked().trim().parse::<u32>().ok().filter(|s| INTERVAL_RANGE.contains(s));
        project_error.set(project.clone().err());
        interval_error.set(secs.is_none().then(|| {
            format!(
                "Enter a whole number of seconds from {} to {}.",
                INTERVAL_RANGE.start(),
                INTERVAL_RANGE.end()
            )
        }));
        let (Ok(()), Some(secs)) = (project, secs) else { return };
        let settings = Settings { supabase, sync_interval_secs: secs };
        if !settings.save() {
            saved.set(Some("This browser would not store the settings (is storage blocked?).".into()));
            return;
        }
        app.settings.set(settings);
        if app.sync.is_started() {
            app.sync.start(app);
        }
        saved.set(Some("Settings saved.".into()));
    };
    let on_reset = move |_| {
        Settings::reset();
        let defaults = Settings::default();
        url.set(defaults.supabase.url.clone());
        key.set(defaults.supabase.anon_key.clone());
        interval.set(defaults.sync_interval_secs.to_string());
        app.settings.set(defaults);
        saved.set(Some("Back to the defaults.".into()));
    };

    let storage = RwSignal::new(None::<pwa::StorageStatus>);
    spawn_local(async move { storage.set(Some(pwa::status().await)) });
    let ask_persist = move |_| {
        spawn_local(async move {
            pwa::persist().await;
            storage.set(Some(pwa::status().await));
        })
    };
    let storage_view = move || {
        storage.get().map(|s| {
            let persisted = if s.persisted {
                "Yes: the browser will not clear your tunes to make room."
            } else {
                "Not granted: the browser may clear your tunes when space runs low (installing Tunebook usually helps)."
            };
            let usage = match (s.usage, s.quota) {
                (Some(used), Some(quota)) => format!("{} of {} available", bytes(used), bytes(quota)),
                (Some(used), None) => bytes(used),
                _ => "Unknown".into(),
            };
            view! {
                <dl class="fields">
                    <dt>"Persistent storage"</dt><dd class="persisted">{persisted}</dd>
                    <dt>"Storage used"</dt><dd>{usage}</dd>
                </dl>
                {(!s.persisted).then(|| view! {
                    <div class="actions"><button type="button" on:click=ask_persist>"Ask to keep my tunes"</button></div>
                })}
            }
        })
    };

    view! {
        <section class="settings">
            <h1>"Settings"</h1>
            <form on:submit=on_submit novalidate=true>
                <h2>"Sync"</h2>
                <p class="hint">
                    "Your Supabase project's URL and public key, from its API settings: the publishable key "
                    "(sb_publishable_…) on newer projects, or the anon key. "
                    {move || signed_in.get().then_some("Sign out to change the project.")}
                </p>
                <LabeledInput id="supabase-url" label="Supabase URL" kind="url" value=url disabled=signed_in />
                <LabeledInput
                    id="supabase-key"
                    label="Supabase anon key"
                    value=key
                    error=project_error
                    disabled=signed_in
                />
                <LabeledInput
                    id="sync-interval"
                    label="Sync every (seconds)"
                    kind="number"
                    value=interval
                    error=interval_error
                />
                {move || saved.get().map(|text| view! { <p class="notice-ok" role="status">{text}</p> })}
                <div class="actions">
                    <button type="submit" class="primary">"Save settings"</button>
                    <button type="button" on:click=on_reset disabled=move || signed_in.get()>
                        "Reset to defaults"
                    </button>
                </div>
            </form>
            <h2>"Appearance"</h2>
            <div class="field">
                <label for="theme">"Theme"</label>
                <select
                    id="theme"
                    on:change=move |ev| {
                        let theme = Theme::from_key(&event_target_value(&ev));
                        theme.save();
                        current_theme.set(theme);
                    }
                >
                    {Theme::ALL
                        .map(|t| view! {
                            <option value=t.key() selected=move || current_theme.get() == t>{t.label()}</option>
                        })
                        .collect_view()}
                </select>
            </div>
            <h2>"Storage"</h2>
            {storage_view}
            <YourData />
        </section>
    }
}
