//! What a job handler is, and the registry of handlers by job kind.

use herald_domain::clock::Clock;
use herald_store::kinds::KindSpec;
use herald_store::{Job, Store, StoreError};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A boxed, sendable future (handlers are stored as trait objects).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq)]
pub enum JobError {
    /// Worth retrying (a timeout, a 5xx, a refused connection). `retry_after` is the
    /// destination's own request (`Retry-After`), honoured when longer than the backoff.
    Retryable {
        error: String,
        retry_after: Option<Duration>,
    },
    /// Retrying cannot help (a 4xx, an unknown subscriber): discard now.
    Permanent(String),
    /// Nothing was attempted (the destination is saturated or paused): run again after this
    /// long without spending an attempt. For waits that are no fault of the job.
    Snooze(Duration),
}

impl JobError {
    /// A retryable failure.
    pub fn retry(e: impl fmt::Display) -> Self {
        Self::Retryable {
            error: e.to_string(),
            retry_after: None,
        }
    }

    /// A permanent failure.
    pub fn permanent(e: impl fmt::Display) -> Self {
        Self::Permanent(e.to_string())
    }
}

/// A store call that failed (the database unreachable, a lost connection) is worth retrying.
impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        Self::retry(e)
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Retryable { error, .. } => write!(f, "{error}"),
            Self::Permanent(e) => write!(f, "permanent: {e}"),
            Self::Snooze(d) => write!(f, "snoozed for {} ms", d.as_millis()),
        }
    }
}

/// Everything a handler gets.
#[derive(Clone)]
pub struct JobContext {
    /// The claimed job (its `attempt` is the fencing token).
    pub job: Job,
    /// The worker process running it.
    pub worker_id: String,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
}

impl JobContext {
    /// The job's payload as its kind's type. A payload that does not read cannot be fixed by
    /// retrying: the job fails permanently, naming its kind and what is wrong.
    pub fn payload<P: DeserializeOwned>(&self) -> Result<P, JobError> {
        serde_json::from_value(self.job.payload.clone()).map_err(|e| {
            JobError::permanent(format!(
                "the payload of this {} job does not read: {e}",
                self.job.kind
            ))
        })
    }
}

/// Runs jobs of one kind. Handlers must be idempotent: a job runs at least once, and more
/// than once when a worker dies between doing the work and acknowledging it.
pub trait Handler: Send + Sync + 'static {
    /// Does the job.
    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<(), JobError>>;
}

/// A kind's spec and its handler.
#[derive(Clone)]
pub struct Registered {
    pub spec: KindSpec,
    pub handler: Arc<dyn Handler>,
}

/// Handlers by job kind.
#[derive(Clone, Default)]
pub struct Registry {
    kinds: HashMap<&'static str, Registered>,
}

impl Registry {
    /// Registers `handler` for `spec`'s kind.
    pub fn register(&mut self, spec: KindSpec, handler: impl Handler) -> &mut Self {
        self.kinds.insert(
            spec.name,
            Registered {
                spec,
                handler: Arc::new(handler),
            },
        );
        self
    }

    /// The handler of a kind.
    pub fn get(&self, kind: &str) -> Option<&Registered> {
        self.kinds.get(kind)
    }

    /// The queues that have at least one handler.
    pub fn queues(&self) -> Vec<&'static str> {
        let mut q: Vec<&'static str> = self.kinds.values().map(|r| r.spec.queue).collect();
        q.sort_unstable();
        q.dedup();
        q
    }
}
