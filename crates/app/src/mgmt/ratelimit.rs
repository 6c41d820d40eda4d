//! Per-key rate limits (docs/design/management-api.md §6): fixed windows aligned to multiples
//! of the window since the epoch, counted in process under sharded mutexes. Check-and-increment
//! happens under one lock, so of any number of concurrent requests in a window exactly
//! `min(limit, requests)` pass. Accepted trade-off: up to 2 × limit across a window boundary.
//! With several nodes each node enforces the limit (documented).

use quorate_domain::Millis;
use std::collections::HashMap;
use std::sync::Mutex;

const SHARDS: usize = 64;
/// Past windows are swept from a shard once it holds this many keys.
const SWEEP_AT: usize = 4096;

/// The deployment's default limits by key type (`--rate-limit-secret 100/1s`, …); a key's own
/// `rate_limit` overrides them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// (requests, window ms)
    pub secret: (i64, i64),
    pub publishable: (i64, i64),
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            secret: (100, 1_000),
            publishable: (20, 1_000),
        }
    }
}

/// The outcome of one request against its key's limit (what the rate-limit headers say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    pub limit: i64,
    pub remaining: i64,
    /// When the current window ends (ms since the epoch).
    pub reset_at: Millis,
}

impl RateDecision {
    /// Whole seconds until the window ends, at least 1 (`Retry-After`).
    pub fn retry_after_secs(&self, now: Millis) -> i64 {
        ((self.reset_at - now + 999) / 1000).max(1)
    }
}

#[derive(Default)]
pub struct RateLimiter {
    shards: Vec<Mutex<HashMap<String, (Millis, i64)>>>,
}

impl RateLimiter {
    pub fn new() -> Self {
        RateLimiter {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn shard(&self, key: &str) -> Option<&Mutex<HashMap<String, (Millis, i64)>>> {
        // FNV-1a: cheap and stable; keys are random ids, so any mixing will do.
        let h = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        self.shards
            .get((h % self.shards.len().max(1) as u64) as usize)
    }

    /// Counts one request of `key` against `limit` per `window_ms` at `now`; refused requests
    /// are not counted.
    pub fn check(&self, key: &str, limit: i64, window_ms: i64, now: Millis) -> RateDecision {
        let window_ms = window_ms.max(1);
        let start = now - now.rem_euclid(window_ms);
        let reset_at = start + window_ms;
        let Some(shard) = self.shard(key) else {
            return RateDecision {
                allowed: true,
                limit,
                remaining: limit,
                reset_at,
            };
        };
        let mut map = match shard.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if map.len() >= SWEEP_AT && !map.contains_key(key) {
            map.retain(|_, (s, _)| *s + window_ms > now);
        }
        let entry = map.entry(key.to_string()).or_insert((start, 0));
        if entry.0 != start {
            *entry = (start, 0);
        }
        let allowed = entry.1 < limit;
        if allowed {
            entry.1 += 1;
        }
        RateDecision {
            allowed,
            limit,
            remaining: (limit - entry.1).max(0),
            reset_at,
        }
    }
}

impl crate::App {
    /// Counts one request of the key against its limit (its own, else the deployment default
    /// for its type).
    pub fn v1_rate_check(&self, key: &quorate_domain::BearerKeyRecord) -> RateDecision {
        let (limit, window) = key.rate_limit.unwrap_or_else(|| {
            let d = self.setting::<RateLimits>().map(|s| *s).unwrap_or_default();
            if key.key_type == "publishable" {
                d.publishable
            } else {
                d.secret
            }
        });
        self.limiter
            .check(&key.id, limit, window, self.clock.now_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_within_a_window_and_reset_after() {
        let l = RateLimiter::new();
        let now = 1_000_500;
        let passed = (0..10)
            .filter(|_| l.check("k", 3, 1_000, now).allowed)
            .count();
        assert_eq!(passed, 3);
        let d = l.check("k", 3, 1_000, now);
        assert_eq!((d.allowed, d.remaining, d.reset_at), (false, 0, 1_001_000));
        assert_eq!(d.retry_after_secs(now), 1);
        assert!(l.check("k", 3, 1_000, 1_001_000).allowed);
        assert!(l.check("other", 3, 1_000, now).allowed);
    }

    #[test]
    fn exact_under_contention() {
        let l = std::sync::Arc::new(RateLimiter::new());
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let l = l.clone();
                std::thread::spawn(move || {
                    (0..32)
                        .filter(|_| l.check("hot", 100, 60_000, 5).allowed)
                        .count()
                })
            })
            .collect();
        let total: usize = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
        assert_eq!(total, 100);
    }
}
