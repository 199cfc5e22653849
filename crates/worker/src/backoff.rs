//! Retry delays: exponential backoff with full jitter (a random delay between zero and the
//! exponential bound, as AWS's analysis recommends, so retries of many jobs spread out
//! instead of stampeding), and a destination's `Retry-After` honoured when it asks for more.

use rand::RngExt;
use std::time::Duration;

/// The delay before retrying after failed attempt number `attempt` (1-based).
pub fn retry_delay(
    attempt: i64,
    base: Duration,
    cap: Duration,
    retry_after: Option<Duration>,
    rng: &mut impl rand::Rng,
) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let bound = base.saturating_mul(2u32.saturating_pow(exp)).min(cap);
    let bound_ms = u64::try_from(bound.as_millis()).unwrap_or(u64::MAX).max(1);
    let jittered = Duration::from_millis(rng.random_range(0..=bound_ms));
    match retry_after {
        Some(ra) if ra > jittered => ra.min(Duration::from_secs(7 * 24 * 3600)),
        _ => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_under_the_doubling_bound_and_the_cap() {
        let mut rng = rand::rng();
        let (base, cap) = (Duration::from_secs(10), Duration::from_secs(3600));
        for attempt in 1..=30 {
            let bound = (base * 2u32.pow((attempt as u32 - 1).min(20))).min(cap);
            for _ in 0..200 {
                let d = retry_delay(attempt, base, cap, None, &mut rng);
                assert!(d <= bound, "attempt {attempt}: {d:?} > {bound:?}");
            }
        }
    }

    #[test]
    fn delays_are_spread_not_fixed() {
        let mut rng = rand::rng();
        let ds: std::collections::HashSet<Duration> = (0..100)
            .map(|_| {
                retry_delay(
                    5,
                    Duration::from_secs(10),
                    Duration::from_secs(3600),
                    None,
                    &mut rng,
                )
            })
            .collect();
        assert!(
            ds.len() > 50,
            "full jitter should spread delays; got {} distinct",
            ds.len()
        );
    }

    #[test]
    fn retry_after_wins_when_longer() {
        let mut rng = rand::rng();
        let d = retry_delay(
            1,
            Duration::from_secs(1),
            Duration::from_secs(10),
            Some(Duration::from_secs(120)),
            &mut rng,
        );
        assert_eq!(d, Duration::from_secs(120));
        let d = retry_delay(
            1,
            Duration::from_secs(1),
            Duration::from_secs(10),
            Some(Duration::from_millis(1)),
            &mut rng,
        );
        assert!(d <= Duration::from_secs(1));
    }
}
