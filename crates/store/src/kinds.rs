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

/// The queue of fan-out jobs (one per notification event).
pub const NOTIFY_QUEUE: &str = "notify";

/// Turns one notification event into one delivery job per concerned subscriber and channel,
/// in large batches. Enqueued in the transaction that records the event.
pub const NOTIFY_FANOUT: KindSpec = KindSpec {
    name: "notify.fanout",
    queue: NOTIFY_QUEUE,
    max_attempts: 50,
    timeout: Duration::from_secs(300),
    backoff_base: Duration::from_secs(1),
    backoff_cap: Duration::from_secs(60),
};

/// Delivery retries span about three days: 25 attempts with full jitter, doubling from
/// 30 s up to a 6-hour cap (expected total ≈ 2.5 days, at most ≈ 5 days).
const DELIVERY_ATTEMPTS: i64 = 25;
const DELIVERY_BASE: Duration = Duration::from_secs(30);
const DELIVERY_CAP: Duration = Duration::from_secs(6 * 3600);

/// One e-mail to one subscriber.
pub const DELIVER_EMAIL: KindSpec = KindSpec {
    name: "deliver.email",
    queue: "email",
    max_attempts: DELIVERY_ATTEMPTS,
    timeout: Duration::from_secs(60),
    backoff_base: DELIVERY_BASE,
    backoff_cap: DELIVERY_CAP,
};

/// One text message to one subscriber.
pub const DELIVER_SMS: KindSpec = KindSpec {
    name: "deliver.sms",
    queue: "sms",
    max_attempts: DELIVERY_ATTEMPTS,
    timeout: Duration::from_secs(40),
    backoff_base: DELIVERY_BASE,
    backoff_cap: DELIVERY_CAP,
};

/// One POST to a subscriber's webhook, Slack, Teams or Discord URL.
pub const DELIVER_HTTP: KindSpec = KindSpec {
    name: "deliver.http",
    queue: "webhook",
    max_attempts: DELIVERY_ATTEMPTS,
    timeout: Duration::from_secs(40),
    backoff_base: DELIVERY_BASE,
    backoff_cap: DELIVERY_CAP,
};

/// Every kind herald knows.
pub const ALL: &[KindSpec] = &[
    CANARY,
    NOTIFY_FANOUT,
    DELIVER_EMAIL,
    DELIVER_SMS,
    DELIVER_HTTP,
];
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
