//! Light or dark: follows the system (`prefers-color-scheme`) unless the musician picks
//! one in Settings. The choice is kept in localStorage and set on the root element as
//! `data-theme`, which the stylesheet reads.

use super::storage;

const KEY: &str = "tunebook.theme";

/// The musician's choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    /// The option's text in Settings.
    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "Same as the system",
            Theme::Light => "Light",
            Theme::Dark => "Dark",
        }
    }

    /// The stored (and `<option value>`) name.
    pub fn key(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn from_key(key: &str) -> Theme {
        Theme::ALL.into_iter().find(|t| t.key() == key).unwrap_or_default()
    }

    /// The saved choice.
    pub fn load() -> Theme {
        storage::load::<String>(KEY).map(|k| Theme::from_key(&k)).unwrap_or_default()
    }

    /// Saves the choice and applies it at once.
    pub fn save(self) {
        let _ = storage::save(KEY, &self.key());
        self.apply();
    }

    /// Sets `data-theme` on the root element (none: follow the system).
    pub fn apply(self) {
        let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element())
        else {
            return;
        };
        let _ = match self {
            Theme::System => root.remove_attribute("data-theme"),
            Theme::Light | Theme::Dark => root.set_attribute("data-theme", self.key()),
        };
    }
}
