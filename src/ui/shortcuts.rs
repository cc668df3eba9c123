//! Keyboard shortcuts: `n` new tune, `/` the list's filter, `e` edit the tune shown, `Esc`
//! cancels (the editor, a dialog), `1`–`4` rate on the Practice page (handled there), `?`
//! lists them in the "Keyboard shortcuts" dialog.
//! Letters are ignored while typing in a field or with a modifier held.

use leptos::ev;
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_location, use_navigate};
use wasm_bindgen::JsCast;

use super::context::use_app;
use super::paths;

/// The shortcuts as the dialog lists them.
const SHORTCUTS: [(&str, &str); 6] = [
    ("n", "New tune"),
    ("/", "Filter the list"),
    ("e", "Edit the tune shown"),
    ("Esc", "Cancel editing, close a dialog"),
    ("1–4", "Practice: rate Again, Hard, Good, Easy"),
    ("?", "Show these shortcuts"),
];

/// Whether keys typed now go into a text field (where letters are text, not commands).
fn typing_in_field(event: &web_sys::KeyboardEvent) -> bool {
    let Some(element) = event.target().and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) else {
        return false;
    };
    matches!(element.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT") || element.is_content_editable()
}

/// Clicks the element with this id, if the page has one.
fn click(id: &str) -> bool {
    let element = document().get_element_by_id(id).and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    element.map(|e| e.click()).is_some()
}

/// Focuses the element with this id, if the page has one.
fn focus(id: &str) -> bool {
    let element = document().get_element_by_id(id).and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    element.map(|e| e.focus()).is_some()
}

/// The tune id in `/tunes/<id>` (the tune page, not the editor).
fn tune_page_id(path: &str) -> Option<&str> {
    let id = path.strip_prefix("/tunes/")?;
    (!id.is_empty() && !id.contains('/') && id != "new").then_some(id)
}

/// Listens for the shortcuts and shows their dialog; place once inside the router.
#[component]
pub fn KeyboardShortcuts(open: RwSignal<bool>) -> impl IntoView {
    let app = use_app();
    let navigate = use_navigate();
    let location = use_location();
    let handle = window_event_listener(ev::keydown, move |event| {
        if event.default_prevented() || event.ctrl_key() || event.meta_key() || event.alt_key() {
            return;
        }
        let key = event.key();
        if key == "Escape" {
            if open.get_untracked() {
                open.set(false);
                event.prevent_default();
            } else if click("cancel-edit") {
                event.prevent_default();
            }
            return;
        }
        if typing_in_field(&event) {
            return;
        }
        let pathname = location.pathname.get_untracked();
        let path = paths::app_path(&pathname);
        let go = |to: &str| {
            if app.unsaved.confirm_leave() {
                navigate(to, NavigateOptions::default());
            }
        };
        match key.as_str() {
            "?" => open.set(true),
            "n" => go("/tunes/new"),
            "e" => match tune_page_id(path) {
                Some(id) => go(&format!("/tunes/{id}/edit")),
                None => return,
            },
            "/" => {
                if !focus("filter") {
                    go("/");
                    // The list renders its filter on the next frames.
                    leptos::task::spawn_local(async {
                        for _ in 0..20 {
                            gloo_timers::future::TimeoutFuture::new(25).await;
                            if focus("filter") {
                                break;
                            }
                        }
                    });
                }
            }
            _ => return,
        }
        event.prevent_default();
    });
    on_cleanup(move || handle.remove());

    // Focus the dialog's button when it opens, so Enter or Esc closes it.
    Effect::new(move || {
        if open.get() {
            request_animation_frame(|| {
                focus("close-shortcuts");
            });
        }
    });

    view! {
        <Show when=move || open.get()>
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="shortcuts-title">
                <h2 id="shortcuts-title">"Keyboard shortcuts"</h2>
                <dl class="shortcuts">
                    {SHORTCUTS
                        .map(|(keys, what)| view! { <dt><kbd>{keys}</kbd></dt><dd>{what}</dd> })
                        .collect_view()}
                </dl>
                <div class="actions">
                    <button type="button" id="close-shortcuts" on:click=move |_| open.set(false)>"Close"</button>
                </div>
            </div>
        </Show>
    }
}
