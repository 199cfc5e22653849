//! Herald's worker tier: the job [`runner`] that drains the durable queue (stored by
//! `herald-store`), the job [`handler`]s, the [`reconcile`] driver with its reconcilers, and
//! the Prometheus [`metrics`] every tier records into.
//!
//! The queue's guarantees are herald's promise that no notification is ever lost: a job is
//! enqueued in the same transaction as the change that causes it; a worker claims it under a
//! lease and heartbeats; a worker that dies or hangs loses its lease to the sweeper and the
//! job runs again (at least once), while the dead worker's late acknowledgement is refused by
//! the fencing check.
#![forbid(unsafe_code)]

pub mod backoff;
pub mod canary;
pub mod handler;
pub mod metrics;
pub mod reconcile;
pub mod reconcilers;
pub mod runner;

pub use handler::{BoxFuture, Handler, JobContext, JobError, Registry};
pub use metrics::Metrics;
pub use reconcile::{Activator, Driver, Reconciler};
pub use runner::{Runner, RunnerConfig, RunnerStatus};
