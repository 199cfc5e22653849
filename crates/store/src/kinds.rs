//! The kinds of job herald runs, with their queue and retry policy. Defined here, next to
//! the queue's storage, because the store enqueues some of them inside the transactions of
//! the writes that cause them; the worker crate registers a handler for each.

use serde_json::Value;
use std::time::Duration;

use crate::jobs::NewJob;

/// A job kind and its defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindSpec {
    /// Stored in `jobs.kind`.
    pub name: &'static str,
    /// The queue that runs it.
    pub queue: &'static str,
    /// Attempts before it is discarded.
    pub max_attempts: i64,
    /// How long one attempt may run.
    pub timeout: Duration,
    /// First retry delay (doubling, with full jitter).
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_cap: Duration,
}

impl KindSpec {
    /// A job of this kind.
    pub fn job(&self, page_id: Option<&str>, payload: Value) -> NewJob {
        NewJob {
            queue: self.queue.to_owned(),
            kind: self.name.to_owned(),
            page_id: page_id.map(str::to_owned),
            payload,
            max_attempts: self.max_attempts,
            timeout: self.timeout,
            run_at: None,
            unique_key: None,
        }
    }
}

/// The queue of housekeeping jobs.
pub const SYSTEM_QUEUE: &str = "system";

/// Proves the worker tier runs jobs end to end: `herald verify` enqueues one and waits for
/// its record in `canary_runs`. Its payload may ask it to take a while (`sleep_ms`), which
/// the kill -9 tests use to catch workers mid-job.
pub const CANARY: KindSpec = KindSpec {
    name: "canary",
    queue: SYSTEM_QUEUE,
    max_attempts: 10,
    timeout: Duration::from_secs(30),
    backoff_base: Duration::from_secs(1),
    backoff_cap: Duration::from_secs(30),
};

/// The queue of subscriber notifications.
pub const NOTIFY_QUEUE: &str = "notify";

/// Tells a maintenance's subscribers that it starts within the hour; enqueued once per
/// maintenance by the maintenance reconciler, in the transaction that marks it reminded.
pub const MAINTENANCE_REMINDER: KindSpec = KindSpec {
    name: "maintenance.reminder",
    queue: NOTIFY_QUEUE,
    max_attempts: 25,
    timeout: Duration::from_secs(60),
    backoff_base: Duration::from_secs(10),
    backoff_cap: Duration::from_secs(3600),
};

/// Every kind herald knows.
pub const ALL: &[KindSpec] = &[CANARY, MAINTENANCE_REMINDER];

/// The spec of a stored kind name.
pub fn spec(name: &str) -> Option<&'static KindSpec> {
    ALL.iter().find(|k| k.name == name)
}

/// Every queue, once.
pub fn queues() -> Vec<&'static str> {
    let mut q: Vec<&'static str> = ALL.iter().map(|k| k.queue).collect();
    q.sort_unstable();
    q.dedup();
    q
}
