//! Small values kept in the browser's localStorage: settings, the session, the device id.
//! (The tunes themselves live in SQLite in OPFS.)

use serde::Serialize;
use serde::de::DeserializeOwned;

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// Reads a JSON value; `None` if absent, unreadable or storage is blocked.
pub fn load<T: DeserializeOwned>(key: &str) -> Option<T> {
    let text = local_storage()?.get_item(key).ok().flatten()?;
    serde_json::from_str(&text).ok()
}

/// Stores a JSON value. Returns false if the browser refused (storage blocked or full).
pub fn save<T: Serialize>(key: &str, value: &T) -> bool {
    let Ok(text) = serde_json::to_string(value) else { return false };
    local_storage().is_some_and(|s| s.set_item(key, &text).is_ok())
}

/// Removes a value.
pub fn remove(key: &str) {
    if let Some(s) = local_storage() {
        let _ = s.remove_item(key);
    }
}
