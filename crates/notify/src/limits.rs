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
//! A delivery that finds its destination saturated waits briefly for a slot only if the
//! destination may be making progress: a slot was freed in the last [`BUSY_WAIT`], or the
//! destination became saturated less than [`BUSY_WAIT`] ago (a busy but fast receiver frees
//! slots within milliseconds, so a fan-out of thousands to one fast receiver does not
//! churn, even as it starts). Otherwise — the destination is slow or hung — it gives its
//! worker slot back at once: the job is *snoozed* ([`herald_worker::JobError::Snooze`]).
//! Snoozes grow with the number of deliveries the destination has turned away since it last
//! had a free slot (2 s per `limit` of them, plus jitter, at most [`MAX_SNOOZE`]), so a
//! thousand messages queued for a hung host come back a few per second, not all of them
//! every few seconds. A snooze is not an attempt: it spends none of the job's attempts,
//! counts as no failure of the endpoint and writes nothing to the delivery log, because
//! nothing was sent.
//!
//! The limit is per process, not cluster-wide: with `n` worker nodes a destination sees at
//! most `n × limit` concurrent requests. That bounds what one destination can take from
//! each node, which is the point; a global limit would need a shared counter on the hot path.
//! Repeated failures are handled by the circuit breaker in [`crate::deliver`] (pause, then
//! quarantine), which is cluster-wide because it lives on the subscriber row.

use rand::RngExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

/// How long a delivery waits for a busy destination that is making progress.
pub const BUSY_WAIT: Duration = Duration::from_millis(500);
/// A snooze, per `limit` deliveries turned away (plus up to as much again of jitter).
pub const BUSY_SNOOZE: Duration = Duration::from_secs(2);
/// Longest snooze.
pub const MAX_SNOOZE: Duration = Duration::from_secs(300);
/// Destinations remembered before idle ones are forgotten.
const PRUNE_ABOVE: usize = 1024;

/// The per-destination limiter of one process.
#[derive(Debug)]
pub struct Destinations {
    limit: usize,
    epoch: Instant,
    slots: Mutex<HashMap<String, Arc<Destination>>>,
}

/// One destination's slots.
#[derive(Debug)]
struct Destination {
    sem: Arc<Semaphore>,
    /// When a slot was last freed (ms since the limiter's epoch, +1; 0: never).
    freed_at: AtomicU64,
    /// When every slot was found taken, since no slot was freed (as `freed_at`; 0: not).
    saturated_at: AtomicU64,
    /// Deliveries turned away since a slot was last free at once.
    turned_away: AtomicU64,
}

/// A slot at a destination, held for the duration of one request.
#[derive(Debug)]
pub struct Slot {
    dest: Arc<Destination>,
    epoch: Instant,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.dest
            .freed_at
            .store(ms_since(self.epoch) + 1, Ordering::Relaxed);
        self.dest.saturated_at.store(0, Ordering::Relaxed);
    }
}

fn ms_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Why no slot was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    /// How long the delivery should snooze.
    pub snooze: Duration,
}

impl Destinations {
    /// A limiter allowing `limit` (at least 1) concurrent deliveries per destination.
    pub fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            epoch: Instant::now(),
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

    fn destination(&self, key: String) -> Arc<Destination> {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slots.len() > PRUNE_ABOVE {
            // Forget destinations nobody is talking to (only the map holds them).
            slots.retain(|_, d| Arc::strong_count(d) > 1 || d.sem.available_permits() < self.limit);
        }
        slots
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Destination {
                    sem: Arc::new(Semaphore::new(self.limit)),
                    freed_at: AtomicU64::new(0),
                    saturated_at: AtomicU64::new(0),
                    turned_away: AtomicU64::new(0),
                })
            })
            .clone()
    }

    /// A slot at `url`'s destination. If it is saturated, waits up to `wait` for one, but
    /// only while the destination may be making progress (a slot freed, or saturation
    /// begun, within `wait`); a slow or hung destination turns the delivery away at once,
    /// with how long to snooze.
    pub async fn acquire(&self, url: &str, wait: Duration) -> Result<Slot, Busy> {
        let key = Self::key(url).unwrap_or_else(|| url.to_owned());
        let dest = self.destination(key);
        let slot = |permit| Slot {
            dest: dest.clone(),
            epoch: self.epoch,
            _permit: permit,
        };
        if let Ok(p) = dest.sem.clone().try_acquire_owned() {
            dest.turned_away.store(0, Ordering::Relaxed);
            return Ok(slot(p));
        }
        let now = ms_since(self.epoch) + 1;
        let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        let recent = |at: u64| at > 0 && now.saturating_sub(at) <= wait_ms;
        let saturated =
            match dest
                .saturated_at
                .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => now,
                Err(since) => since,
            };
        let progressing = recent(dest.freed_at.load(Ordering::Relaxed)) || recent(saturated);
        if progressing
            && let Ok(Ok(p)) = tokio::time::timeout(wait, dest.sem.clone().acquire_owned()).await
        {
            return Ok(slot(p));
        }
        let n = dest.turned_away.fetch_add(1, Ordering::Relaxed) + 1;
        Err(Busy {
            snooze: self.snooze_for(n),
        })
    }

    /// The snooze of the `n`th delivery turned away in a row: [`BUSY_SNOOZE`] per `limit` of
    /// them, plus up to as much again of jitter, at most [`MAX_SNOOZE`].
    fn snooze_for(&self, n: u64) -> Duration {
        let rounds = u32::try_from(n.div_ceil(self.limit as u64)).unwrap_or(u32::MAX);
        let base = BUSY_SNOOZE.saturating_mul(rounds.max(1)).min(MAX_SNOOZE);
        let jitter_ms = u64::try_from(base.as_millis()).unwrap_or(0);
        (base + Duration::from_millis(rand::rng().random_range(0..=jitter_ms))).min(MAX_SNOOZE)
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
        assert!(a1.is_ok() && a2.is_ok());
        assert!(d.acquire("http://a.test/3", BUSY_WAIT).await.is_err());
        assert!(d.acquire("http://b.test/1", Duration::ZERO).await.is_ok());
        drop(a1);
        assert!(d.acquire("http://a.test/3", Duration::ZERO).await.is_ok());
    }

    #[tokio::test]
    async fn a_hung_destination_turns_deliveries_away_at_once_with_growing_snoozes() {
        let d = Destinations::new(2);
        let _held = (
            d.acquire("http://hung.test/", Duration::ZERO).await,
            d.acquire("http://hung.test/", Duration::ZERO).await,
        );
        let t = Instant::now();
        let mut snoozes = Vec::new();
        for _ in 0..200 {
            snoozes.push(
                d.acquire("http://hung.test/", BUSY_WAIT)
                    .await
                    .unwrap_err()
                    .snooze,
            );
        }
        // Only deliveries in the first BUSY_WAIT of the saturation waited.
        assert!(
            t.elapsed() < BUSY_WAIT * 3,
            "waited {:?} for a destination that frees nothing",
            t.elapsed()
        );
        assert!(snoozes[0] >= BUSY_SNOOZE && snoozes[0] <= 2 * BUSY_SNOOZE);
        assert!(snoozes[199] >= BUSY_SNOOZE * 100 && snoozes[199] <= MAX_SNOOZE);
    }

    #[tokio::test]
    async fn a_waiting_delivery_gets_the_slot_a_progressing_destination_frees() {
        let d = Arc::new(Destinations::new(1));
        let held = d.acquire("http://a.test/", Duration::ZERO).await;
        let d2 = d.clone();
        let waiter =
            tokio::spawn(async move { d2.acquire("http://a.test/", BUSY_WAIT).await.is_ok() });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(held);
        assert!(waiter.await.unwrap());
    }
}
