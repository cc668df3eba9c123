//! What the benchmark harnesses share: percentiles, lists of timings, query values.

use serde_json::Value;

/// The `p`th percentile (nearest rank) of `values`; NaN when there are none.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(((p / 100.0) * (sorted.len().max(1) - 1) as f64).round() as usize).copied().unwrap_or(f64::NAN)
}

/// A JSON array of milliseconds as numbers (anything else left out).
pub fn ms_list(v: &Value) -> Vec<f64> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default()
}

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
