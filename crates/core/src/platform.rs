//! The two things the shared code needs from its host: the wall clock and randomness.
//! In the browser they come from JavaScript; natively from the operating system.

/// Milliseconds since the Unix epoch.
#[cfg(target_arch = "wasm32")]
pub fn now_millis() -> i64 {
    js_sys::Date::now() as i64
}

/// Milliseconds since the Unix epoch.
#[cfg(not(target_arch = "wasm32"))]
pub fn now_millis() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        // A clock set before 1970 is broken; negative time keeps ordering honest.
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

/// Fills `buf` with cryptographically secure random bytes.
///
/// `getrandom` uses `crypto.getRandomValues` in browsers (window or worker) and the
/// OS elsewhere; both are always present where Tunebook runs, so a failure is a broken
/// platform and the weaker fallback only keeps ids unique in practice.
pub fn fill_random(buf: &mut [u8]) {
    if getrandom::getrandom(buf).is_err() {
        let mut x = now_millis() as u64 ^ 0x9e37_79b9_7f4a_7c15;
        for b in buf.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    }
}
