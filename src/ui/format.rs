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

/// A time (milliseconds since the epoch) as its local date, e.g. "2026-11-26".
pub fn local_date(millis: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(millis as f64));
    format!("{:04}-{:02}-{:02}", d.get_full_year(), d.get_month() + 1, d.get_date())
}

/// The start of a local date typed as "YYYY-MM-DD" (a date input's value), in
/// milliseconds since the epoch; `None` unless it is a real date.
pub fn parse_local_date(text: &str) -> Option<i64> {
    let mut parts = text.trim().splitn(3, '-').map(|p| p.parse::<u32>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let date = js_sys::Date::new_with_year_month_day(y, m as i32 - 1, d as i32);
    // 31 February rolls over into March: not a real date.
    (date.get_date() == d && date.get_month() == m - 1).then(|| date.get_time() as i64)
}

/// Names the browser tab (and the history entry) after the page: "Tunes – Tunebook".
pub fn set_page_title(page: &str) {
    leptos::prelude::document().set_title(&format!("{page} – Tunebook"));
}
