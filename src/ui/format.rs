//! Display formatting for the UI, and the document title of each page.

use tunebook_core::domain::Timestamp;

/// A timestamp as local date and time, e.g. "2026-11-26 14:05".
pub fn local_date_time(ts: Timestamp) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ts.millis() as f64));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}

/// Names the browser tab (and the history entry) after the page: "Tunes – Tunebook".
pub fn set_page_title(page: &str) {
    leptos::prelude::document().set_title(&format!("{page} – Tunebook"));
}
