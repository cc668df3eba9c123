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
/// Bytes come from the platform's CSPRNG (`crypto.getRandomValues` in browsers, the OS
/// elsewhere) through a small per-thread buffer: in wasm each call crosses into
/// JavaScript, and an import of thousands of tunes would otherwise make thousands.
pub fn fill_random(buf: &mut [u8]) {
    use std::cell::RefCell;
    const POOL: usize = 4096;
    thread_local!(static POOL_BYTES: RefCell<(Vec<u8>, usize)> = const { RefCell::new((Vec::new(), 0)) });
    if buf.len() > POOL {
        os_random(buf);
        return;
    }
    POOL_BYTES.with(|pool| {
        let mut pool = pool.borrow_mut();
        let (bytes, used) = &mut *pool;
        if bytes.len() - *used < buf.len() {
            bytes.resize(POOL, 0);
            os_random(bytes);
            *used = 0;
        }
        buf.copy_from_slice(&bytes[*used..*used + buf.len()]);
        // Never hand out the same bytes twice.
        bytes[*used..*used + buf.len()].fill(0);
        *used += buf.len();
    });
}

/// The platform CSPRNG. It is always present where Tunebook runs, so a failure is a
/// broken platform; the fallback then only keeps ids unique in practice.
fn os_random(buf: &mut [u8]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_do_not_repeat_across_refills() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2_000 {
            let mut id = [0u8; 10];
            fill_random(&mut id);
            assert!(seen.insert(id), "repeated random bytes");
        }
        let mut big = vec![0u8; 10_000];
        fill_random(&mut big);
        assert!(big.iter().any(|b| *b != 0));
    }
}
