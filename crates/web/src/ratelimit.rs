//! Per-key rate limit of the management API: Statuspage's 1 request/second per key measured
//! over a rolling 60 s window, i.e. a budget of N requests per minute that refills evenly
//! (GCRA, via `governor`). The limit is per node; with several nodes behind a balancer a key
//! gets up to N per node, which is documented in the README.
//!
//! Rate limiting measures elapsed time with a monotonic clock (governor's), not herald's
//! `Clock`: it is about wall-time spacing of requests, not about domain time.

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;

/// A rate limiter keyed by API key id.
pub(crate) struct KeyLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl KeyLimiter {
    /// `per_minute` requests per key per minute, all of which may come in a burst.
    pub(crate) fn new(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(n).allow_burst(n)),
            clock: DefaultClock::default(),
        }
    }

    /// `Ok` when the key may make a request now, else the whole seconds to wait.
    pub(crate) fn check(&self, key_id: &str) -> Result<(), u64> {
        self.limiter
            .check_key(&key_id.to_owned())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(self.clock.now());
                wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_budget_then_a_wait() {
        let l = KeyLimiter::new(3);
        for _ in 0..3 {
            assert!(l.check("a").is_ok());
        }
        let wait = l.check("a").unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(l.check("b").is_ok(), "keys have separate budgets");
    }
}
