//! Limits on failed password attempts, per e-mail address and per client IP, in fixed
//! windows (GoTrue answers 429 `over_request_rate_limit` once a limit is reached).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many failed attempts are allowed per window.
#[derive(Clone, Debug)]
pub struct RateLimits {
    pub failed_per_email: u32,
    pub failed_per_ip: u32,
    pub window: Duration,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self { failed_per_email: 10, failed_per_ip: 30, window: Duration::from_secs(300) }
    }
}

/// Counts of recent failures by key (`email:…` or `ip:…`).
#[derive(Debug, Default)]
pub struct Limiter {
    limits: RateLimits,
    counts: Mutex<HashMap<String, (Instant, u32)>>,
}

/// Entries kept before expired ones are swept (bounds memory under a flood of keys).
const SWEEP_AT: usize = 10_000;

impl Limiter {
    pub fn new(limits: RateLimits) -> Self {
        Self { limits, counts: Mutex::new(HashMap::new()) }
    }

    /// Whether another attempt for this e-mail from this IP may be tried now.
    pub fn allows(&self, email: &str, ip: &str, now: Instant) -> bool {
        let counts = self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let under = |key: String, limit: u32| match counts.get(&key) {
            Some((start, n)) if now.duration_since(*start) < self.limits.window => *n < limit,
            _ => true,
        };
        under(format!("email:{email}"), self.limits.failed_per_email)
            && under(format!("ip:{ip}"), self.limits.failed_per_ip)
    }

    /// Records a failed attempt.
    pub fn failed(&self, email: &str, ip: &str, now: Instant) {
        let mut counts = self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if counts.len() >= SWEEP_AT {
            counts.retain(|_, (start, _)| now.duration_since(*start) < self.limits.window);
        }
        for key in [format!("email:{email}"), format!("ip:{ip}")] {
            let entry = counts.entry(key).or_insert((now, 0));
            if now.duration_since(entry.0) >= self.limits.window {
                *entry = (now, 0);
            }
            entry.1 += 1;
        }
    }

    /// A successful sign-in clears the address's failures (not the IP's).
    pub fn succeeded(&self, email: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        counts.remove(&format!("email:{email}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> Limiter {
        Limiter::new(RateLimits { failed_per_email: 3, failed_per_ip: 5, window: Duration::from_secs(60) })
    }

    #[test]
    fn per_email_limit_then_window_resets() {
        let l = limiter();
        let t = Instant::now();
        for _ in 0..3 {
            assert!(l.allows("a@x.org", "1.1.1.1", t));
            l.failed("a@x.org", "1.1.1.1", t);
        }
        assert!(!l.allows("a@x.org", "2.2.2.2", t), "the address is limited from any IP");
        assert!(l.allows("b@x.org", "1.1.1.1", t), "another address from the same IP is not yet");
        assert!(l.allows("a@x.org", "1.1.1.1", t + Duration::from_secs(61)));
    }

    #[test]
    fn per_ip_limit_across_addresses() {
        let l = limiter();
        let t = Instant::now();
        for i in 0..5 {
            l.failed(&format!("u{i}@x.org"), "1.1.1.1", t);
        }
        assert!(!l.allows("new@x.org", "1.1.1.1", t));
        assert!(l.allows("new@x.org", "9.9.9.9", t));
    }

    #[test]
    fn success_clears_the_address() {
        let l = limiter();
        let t = Instant::now();
        for _ in 0..3 {
            l.failed("a@x.org", "1.1.1.1", t);
        }
        l.succeeded("a@x.org");
        assert!(l.allows("a@x.org", "2.2.2.2", t));
    }
}
