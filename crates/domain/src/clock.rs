//! Time as an input. Domain code never reads the system clock: it is handed a [`Clock`].
//!
//! Herald keeps time at millisecond precision everywhere (Statuspage's timestamps carry
//! exactly three fractional digits), so a clock's reading is truncated to the millisecond:
//! what is stored, compared and printed is the same instant.

use chrono::{DateTime, TimeDelta, Utc};
use std::sync::atomic::{AtomicI64, Ordering};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current instant, truncated to the millisecond.
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(
        clippy::disallowed_methods,
        reason = "the one place herald reads the real clock"
    )]
    fn now(&self) -> DateTime<Utc> {
        truncate_ms(Utc::now())
    }
}

/// A clock that only moves when told to; for tests and for seeding history.
#[derive(Debug)]
pub struct ManualClock {
    ms: AtomicI64,
}

impl ManualClock {
    /// A clock stopped at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self {
            ms: AtomicI64::new(at.timestamp_millis()),
        }
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        self.ms.store(at.timestamp_millis(), Ordering::SeqCst);
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: TimeDelta) {
        self.ms.fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        from_ms(self.ms.load(Ordering::SeqCst))
    }
}

/// Drops sub-millisecond precision.
pub fn truncate_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    from_ms(t.timestamp_millis())
}

/// The instant `ms` milliseconds after the Unix epoch (clamped to chrono's range).
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(from_ms(1_000));
        assert_eq!(c.now().timestamp_millis(), 1_000);
        c.advance(TimeDelta::seconds(2));
        assert_eq!(c.now().timestamp_millis(), 3_000);
        c.set(from_ms(5));
        assert_eq!(c.now().timestamp_millis(), 5);
    }

    #[test]
    fn system_clock_has_millisecond_precision() {
        let t = SystemClock.now();
        assert_eq!(t.timestamp_subsec_nanos() % 1_000_000, 0);
    }
}
