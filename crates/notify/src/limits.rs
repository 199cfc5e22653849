//! Per-destination concurrency: how herald keeps one slow or dead endpoint from delaying
//! everyone else's notifications.
//!
//! A *destination* is a URL's scheme, host and port (`https://hooks.example.com:443`): what
//! a slow server, or an attacker who saves many subscriber URLs on one host, has in common.
//! Each process lets at most `limit` deliveries talk to one destination at once
//! (`HERALD_DELIVERY_PER_DESTINATION`, default 4). The webhook queue runs 16 jobs at a time
//! by default, so a destination that hangs holds at most `limit` of them, each for at most the
//! delivery timeout, and every other destination keeps the rest.
//!
//! A delivery that finds its destination saturated waits briefly for a slot
//! ([`BUSY_WAIT`]: a healthy but busy receiver frees one within milliseconds, so a fan-out of
//! thousands to one fast receiver does not churn), then gives its worker slot back: the job
//! is *snoozed* ([`herald_worker::JobError::Snooze`]) for a few seconds. A snooze is not an
//! attempt: it spends none of the job's attempts, counts as no failure of the endpoint and
//! writes nothing to the delivery log, because nothing was sent.
//!
//! The limit is per process, not cluster-wide: with `n` worker nodes a destination sees at
//! most `n × limit` concurrent requests. That bounds what one destination can take from
//! each node, which is the point; a global limit would need a shared counter on the hot path.
//! Repeated failures are handled by the circuit breaker in [`crate::deliver`] (pause, then
//! quarantine), which is cluster-wide because it lives on the subscriber row.

use rand::RngExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

/// How long a delivery waits for a busy destination before it snoozes.
pub const BUSY_WAIT: Duration = Duration::from_millis(500);
/// A snoozed delivery comes back after this long plus up to as much again of jitter.
pub const BUSY_SNOOZE: Duration = Duration::from_secs(2);
/// Destinations remembered before idle ones are forgotten.
const PRUNE_ABOVE: usize = 1024;

/// The per-destination limiter of one process.
#[derive(Debug)]
pub struct Destinations {
    limit: usize,
    slots: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// A slot at a destination, held for the duration of one request.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
}

impl Destinations {
    /// A limiter allowing `limit` (at least 1) concurrent deliveries per destination.
    pub fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The destination of a URL: scheme, host and port. `None` for what is not a URL (the
    /// egress guard refuses those anyway).
    pub fn key(url: &str) -> Option<String> {
        let u = Url::parse(url).ok()?;
        Some(format!(
            "{}://{}:{}",
            u.scheme(),
            u.host_str()?.to_ascii_lowercase(),
            u.port_or_known_default()?
        ))
    }

    fn semaphore(&self, key: String) -> Arc<Semaphore> {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slots.len() > PRUNE_ABOVE {
            // Forget destinations nobody is talking to (their semaphore is only in the map).
            slots.retain(|_, s| Arc::strong_count(s) > 1 || s.available_permits() < self.limit);
        }
        slots
            .entry(key)
            .or_insert_with(|| Arc::new(Semaphore::new(self.limit)))
            .clone()
    }

    /// A slot at `url`'s destination, waiting at most `wait` for one; `None` if the
    /// destination stayed saturated.
    pub async fn acquire(&self, url: &str, wait: Duration) -> Option<Slot> {
        let key = Self::key(url).unwrap_or_else(|| url.to_owned());
        let sem = self.semaphore(key);
        let permit = match sem.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => tokio::time::timeout(wait, sem.acquire_owned())
                .await
                .ok()?
                .ok()?,
        };
        Some(Slot { _permit: permit })
    }

    /// How long a delivery that found its destination busy should snooze.
    pub fn snooze() -> Duration {
        let jitter_ms = u64::try_from(BUSY_SNOOZE.as_millis()).unwrap_or(2000);
        BUSY_SNOOZE + Duration::from_millis(rand::rng().random_range(0..=jitter_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_destination_is_scheme_host_and_port() {
        assert_eq!(
            Destinations::key("https://Hooks.Example.com/a/b?c").as_deref(),
            Some("https://hooks.example.com:443")
        );
        assert_eq!(
            Destinations::key("http://127.0.0.1:9000/x").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(
            Destinations::key("http://127.0.0.1:9000/x"),
            Destinations::key("http://127.0.0.1:9000/other/path")
        );
    }

    #[tokio::test]
    async fn at_most_the_limit_per_destination_and_others_unaffected() {
        let d = Destinations::new(2);
        let a1 = d.acquire("http://a.test/1", Duration::ZERO).await;
        let a2 = d.acquire("http://a.test/2", Duration::ZERO).await;
        assert!(a1.is_some() && a2.is_some());
        let t = std::time::Instant::now();
        assert!(
            d.acquire("http://a.test/3", Duration::from_millis(50))
                .await
                .is_none()
        );
        assert!(t.elapsed() < Duration::from_secs(2));
        assert!(d.acquire("http://b.test/1", Duration::ZERO).await.is_some());
        drop(a1);
        assert!(d.acquire("http://a.test/3", Duration::ZERO).await.is_some());
    }

    #[tokio::test]
    async fn a_waiting_delivery_gets_the_slot_freed_while_it_waits() {
        let d = Arc::new(Destinations::new(1));
        let held = d.acquire("http://a.test/", Duration::ZERO).await;
        let d2 = d.clone();
        let waiter =
            tokio::spawn(async move { d2.acquire("http://a.test/", BUSY_WAIT).await.is_some() });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(held);
        assert!(waiter.await.unwrap());
    }
}
