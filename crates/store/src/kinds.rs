//! The kinds of job herald runs, with their queue and retry policy. Defined here, next to
//! the queue's storage, because the store enqueues some of them inside the transactions of
//! the writes that cause them; the worker crate registers a handler for each.

use herald_domain::id::{PageId, SubscriberId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::marker::PhantomData;
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
    /// A job of this kind with a payload as it is stored. Herald's own code enqueues through
    /// [`Kind::job`], which takes the kind's payload type; this is for tools and tests that
    /// write a stored shape on purpose (an older release's, or a broken one).
    pub fn raw_job(&self, page_id: Option<&PageId>, payload: Value) -> NewJob {
        NewJob {
            queue: self.queue.to_owned(),
            kind: self.name.to_owned(),
            page_id: page_id.map(|p| p.as_str().to_owned()),
            payload,
            max_attempts: self.max_attempts,
            timeout: self.timeout,
            run_at: None,
            unique_key: None,
        }
    }
}

/// A job kind with the type of what its jobs carry: one serde type per kind, so a handler
/// reads its payload once, whole, and a payload that does not read is a permanent failure
/// rather than empty strings.
#[derive(Debug, PartialEq, Eq)]
pub struct Kind<P> {
    pub spec: KindSpec,
    payload: PhantomData<fn() -> P>,
}

impl<P> Clone for Kind<P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P> Copy for Kind<P> {}

impl<P: Serialize + DeserializeOwned> Kind<P> {
    const fn new(spec: KindSpec) -> Self {
        Self {
            spec,
            payload: PhantomData,
        }
    }

    /// A job of this kind carrying `payload`.
    pub fn job(&self, page_id: Option<&PageId>, payload: &P) -> NewJob {
        // Payload types are plain structs of strings and numbers: they always serialize.
        let value = serde_json::to_value(payload).unwrap_or(Value::Null);
        self.spec.raw_job(page_id, value)
    }
}

impl<P> std::ops::Deref for Kind<P> {
    type Target = KindSpec;
    fn deref(&self) -> &KindSpec {
        &self.spec
    }
}

/// What a canary job carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanaryJob {
    /// Recorded with the run, so `herald verify` finds its own.
    #[serde(default)]
    pub nonce: String,
    /// How long the job takes (the kill -9 tests' slow canaries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sleep_ms: Option<u64>,
}

/// What a fan-out job carries: the notification event to fan out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FanoutJob {
    pub event_id: String,
}

/// What a delivery job carries: one of three messages to one subscriber. The stored shapes
/// are the ones earlier releases wrote, so a job enqueued before a deploy still reads after
/// it (and the other way round, for a rollback); fields a release does not know (the
/// `delivery_id` earlier releases added) are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DeliverJob {
    /// A notification event.
    Event {
        event_id: String,
        subscriber_id: SubscriberId,
    },
    /// The confirmation message of a new subscription.
    Confirmation { confirm_subscriber_id: SubscriberId },
    /// Tells a quarantined endpoint's contact address what happened.
    QuarantineNotice { quarantine_notice: SubscriberId },
}

/// The queue of housekeeping jobs.
pub const SYSTEM_QUEUE: &str = "system";

/// Proves the worker tier runs jobs end to end: `herald verify` enqueues one and waits for
/// its record in `canary_runs`. Its payload may ask it to take a while (`sleep_ms`), which
/// the kill -9 tests use to catch workers mid-job.
pub const CANARY: Kind<CanaryJob> = Kind::new(KindSpec {
    name: "canary",
    queue: SYSTEM_QUEUE,
    max_attempts: 10,
    timeout: Duration::from_secs(30),
    backoff_base: Duration::from_secs(1),
    backoff_cap: Duration::from_secs(30),
});

/// The queue of fan-out jobs (one per notification event).
pub const NOTIFY_QUEUE: &str = "notify";

/// Turns one notification event into one delivery job per concerned subscriber and channel,
/// in large batches. Enqueued in the transaction that records the event.
pub const NOTIFY_FANOUT: Kind<FanoutJob> = Kind::new(KindSpec {
    name: "notify.fanout",
    queue: NOTIFY_QUEUE,
    max_attempts: 50,
    timeout: Duration::from_secs(300),
    backoff_base: Duration::from_secs(1),
    backoff_cap: Duration::from_secs(60),
});

/// Delivery retries span about three days: 25 attempts with full jitter, doubling from
/// 30 s up to a 6-hour cap (expected total ≈ 2.5 days, at most ≈ 5 days).
const DELIVERY_ATTEMPTS: i64 = 25;
const DELIVERY_BASE: Duration = Duration::from_secs(30);
const DELIVERY_CAP: Duration = Duration::from_secs(6 * 3600);

/// One e-mail to one subscriber.
pub const DELIVER_EMAIL: Kind<DeliverJob> = Kind::new(KindSpec {
    name: "deliver.email",
    queue: "email",
    max_attempts: DELIVERY_ATTEMPTS,
    timeout: Duration::from_secs(60),
    backoff_base: DELIVERY_BASE,
    backoff_cap: DELIVERY_CAP,
});

/// One text message to one subscriber.
pub const DELIVER_SMS: Kind<DeliverJob> = Kind::new(KindSpec {
    name: "deliver.sms",
    queue: "sms",
    max_attempts: DELIVERY_ATTEMPTS,
    timeout: Duration::from_secs(40),
    backoff_base: DELIVERY_BASE,
    backoff_cap: DELIVERY_CAP,
});

/// One POST to a subscriber's webhook, Slack, Teams or Discord URL.
pub const DELIVER_HTTP: Kind<DeliverJob> = Kind::new(KindSpec {
    name: "deliver.http",
    queue: "webhook",
    max_attempts: DELIVERY_ATTEMPTS,
    timeout: Duration::from_secs(40),
    backoff_base: DELIVERY_BASE,
    backoff_cap: DELIVERY_CAP,
});

/// Every kind herald knows.
pub const ALL: &[KindSpec] = &[
    CANARY.spec,
    NOTIFY_FANOUT.spec,
    DELIVER_EMAIL.spec,
    DELIVER_SMS.spec,
    DELIVER_HTTP.spec,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn delivery_payloads_read_the_stored_shapes_and_refuse_others() {
        let read = |v: Value| serde_json::from_value::<DeliverJob>(v).ok();
        assert_eq!(
            read(json!({"event_id": "e", "subscriber_id": "s"})),
            Some(DeliverJob::Event {
                event_id: "e".into(),
                subscriber_id: "s".into()
            })
        );
        assert_eq!(
            read(json!({"confirm_subscriber_id": "s"})),
            Some(DeliverJob::Confirmation {
                confirm_subscriber_id: "s".into()
            })
        );
        assert_eq!(
            read(json!({"quarantine_notice": "s"})),
            Some(DeliverJob::QuarantineNotice {
                quarantine_notice: "s".into()
            })
        );
        assert_eq!(read(json!({"event_id": "e"})), None);
        assert_eq!(read(json!({"event_id": 5, "subscriber_id": "s"})), None);
        assert_eq!(read(json!({})), None);
        let job = DELIVER_HTTP.job(
            None,
            &DeliverJob::Confirmation {
                confirm_subscriber_id: "s".into(),
            },
        );
        assert_eq!(job.payload, json!({"confirm_subscriber_id": "s"}));
    }
}
