//! Guards unsaved edits: while the editor holds changes, leaving through a link or the
//! Cancel button asks first, and closing or reloading the tab triggers the browser's
//! own "leave site?" prompt.

use leptos::ev::{self, MouseEvent};
use leptos::prelude::*;

/// Whether the editor currently holds edits that are not saved (provided at the root).
#[derive(Clone, Copy, Default)]
pub struct UnsavedChanges(RwSignal<bool>);

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

    /// A click handler for in-app links: cancels the navigation if the musician chooses
    /// to keep their unsaved edits (the router skips clicks whose default was prevented).
    pub fn guard_click(&self, event: MouseEvent) {
        if !self.confirm_leave() {
            event.prevent_default();
        }
    }
}
