//! Guards unsaved edits: while the editor holds changes, leaving through a link, the
//! Cancel button or the browser's Back button asks first, and closing or reloading the
//! tab triggers the browser's own "leave site?" prompt.
//!
//! Back cannot be cancelled once the browser has gone back, so while there are unsaved
//! edits the page adds one history entry for the same address: Back then only removes
//! that entry (the page stays as it is), and the question decides whether to really go.

use leptos::ev::{self, MouseEvent};
use leptos::prelude::*;

/// Whether the editor currently holds edits that are not saved (provided at the root),
/// and whether a guard entry for Back is on top of the history.
#[derive(Clone, Copy, Default)]
pub struct UnsavedChanges(RwSignal<bool>, RwSignal<bool>);

/// The question asked before unsaved edits are thrown away.
pub const DISCARD_QUESTION: &str = "You have unsaved changes. Leave and discard them?";

impl UnsavedChanges {
    /// Records whether there are unsaved edits.
    pub fn set(&self, dirty: bool) {
        self.0.set(dirty);
    }

    /// True when leaving is fine: nothing unsaved, or the musician agreed to discard it.
    pub fn confirm_leave(&self) -> bool {
        if !self.0.get_untracked() {
            return true;
        }
        let agreed = window().confirm_with_message(DISCARD_QUESTION).unwrap_or(false);
        if agreed {
            self.0.set(false);
        }
        agreed
    }

    /// Keeps the browser's "leave site?" prompt armed while there are unsaved edits.
    /// The listener is removed when the calling component unmounts.
    pub fn arm_before_unload(&self) {
        let dirty = self.0;
        let handle = window_event_listener(ev::beforeunload, move |event| {
            if dirty.get_untracked() {
                event.prevent_default();
                event.set_return_value("");
            }
        });
        on_cleanup(move || {
            handle.remove();
            dirty.set(false);
        });
    }

    /// Guards the Back button while the calling component is mounted (see the module
    /// notes).
    pub fn arm_back_button(&self) {
        let (dirty, guarded) = (self.0, self.1);
        let push_guard = move || {
            if let Ok(history) = window().history() {
                let here = window().location().href().unwrap_or_default();
                if history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&here)).is_ok() {
                    guarded.set(true);
                }
            }
        };
        Effect::new(move || {
            if dirty.get() && !guarded.get_untracked() {
                push_guard();
            }
        });
        let handle = window_event_listener(ev::popstate, move |_| {
            if !guarded.get_untracked() {
                return;
            }
            // The guard entry is gone: this is the editor's own entry again.
            guarded.set(false);
            let stay =
                dirty.get_untracked() && !window().confirm_with_message(DISCARD_QUESTION).unwrap_or(false);
            if stay {
                push_guard();
            } else {
                dirty.set(false);
                if let Ok(history) = window().history() {
                    let _ = history.back();
                }
            }
        });
        on_cleanup(move || {
            handle.remove();
            // An entry left behind (the musician agreed to leave by a link) is just a
            // second entry for the editor's address: harmless, and no longer ours.
            guarded.set(false);
        });
    }

    /// Whether a Back guard entry is on top of the history (a navigation away should
    /// then replace it rather than add to it); forgets it.
    pub fn take_back_guard(&self) -> bool {
        let guarded = self.1.get_untracked();
        self.1.set(false);
        guarded
    }

    /// A click handler for in-app links: cancels the navigation if the musician chooses
    /// to keep their unsaved edits (the router skips clicks whose default was prevented).
    pub fn guard_click(&self, event: MouseEvent) {
        if !self.confirm_leave() {
            event.prevent_default();
        }
    }
}
