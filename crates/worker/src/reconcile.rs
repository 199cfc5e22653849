//! Reconcilers: background work that makes the world match the database ("start the
//! maintenances whose window opened", "prune old jobs"). A reconciler takes no input, is
//! idempotent, and does not retry internally: the driver runs it on a period, and at once
//! when an [`Activator`] is poked. On PostgreSQL exactly one node runs each reconciler (the
//! one holding its advisory lock); when that node dies another takes over within
//! `LEADERSHIP_RETRY`. Each run's outcome is recorded (`reconciler_runs`) and counted.

use chrono::{DateTime, Utc};
use herald_domain::clock::Clock;
use herald_store::{Leadership, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::handler::BoxFuture;
use crate::metrics::{Metrics, OutcomeLabels};

/// How often a node that does not lead a reconciler tries to take it over.
pub const LEADERSHIP_RETRY: Duration = Duration::from_secs(5);

/// One reconciler.
pub trait Reconciler: Send + Sync + 'static {
    /// A stable name (metrics, the leadership lock, `reconciler_runs`).
    fn name(&self) -> &'static str;
    /// How often it runs when nothing activates it.
    fn period(&self) -> Duration;
    /// Makes the world match the database as of `now`; returns a summary for the log.
    fn reconcile(&self, now: DateTime<Utc>) -> BoxFuture<'_, Result<String, String>>;
}

/// Pokes a reconciler to run now (e.g. after an admin schedules a maintenance).
#[derive(Debug, Clone, Default)]
pub struct Activator(Arc<Notify>);

impl Activator {
    /// Runs the reconciler as soon as it is free.
    pub fn activate(&self) {
        self.0.notify_one();
    }
}

/// Runs reconcilers.
pub struct Driver {
    store: Store,
    clock: Arc<dyn Clock>,
    node: String,
    metrics: Arc<Metrics>,
    reconcilers: Vec<(Arc<dyn Reconciler>, Activator)>,
}

impl Driver {
    /// A driver for this node.
    pub fn new(store: Store, clock: Arc<dyn Clock>, node: &str, metrics: Arc<Metrics>) -> Self {
        Self {
            store,
            clock,
            node: node.to_owned(),
            metrics,
            reconcilers: Vec::new(),
        }
    }

    /// Adds a reconciler; returns its activator.
    pub fn add(&mut self, r: impl Reconciler) -> Activator {
        let a = Activator::default();
        self.reconcilers.push((Arc::new(r), a.clone()));
        a
    }

    /// Runs every reconciler until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut tasks = tokio::task::JoinSet::new();
        for (r, activator) in self.reconcilers {
            let ctx = (
                self.store.clone(),
                self.clock.clone(),
                self.node.clone(),
                self.metrics.clone(),
            );
            tasks.spawn(drive(r, activator, ctx, shutdown.clone()));
        }
        while tasks.join_next().await.is_some() {}
    }
}

async fn drive(
    r: Arc<dyn Reconciler>,
    activator: Activator,
    (store, clock, node, metrics): (Store, Arc<dyn Clock>, String, Arc<Metrics>),
    shutdown: CancellationToken,
) {
    let name = r.name();
    let mut leadership: Option<Leadership> = None;
    // A node that is stopping takes no leadership (a sleep and a stop can end together).
    while !shutdown.is_cancelled() {
        let held = match leadership.as_mut() {
            Some(l) => l.is_held().await,
            None => false,
        };
        if !held {
            leadership = match store.try_lead(name).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(reconciler = name, error = %e, "could not try for leadership");
                    None
                }
            };
            if leadership.is_some() {
                tracing::info!(reconciler = name, node = %node, "leading reconciler");
            }
        }
        let wait = if leadership.is_some() {
            let now = clock.now();
            let result = match tokio::time::timeout(
                r.period().max(Duration::from_secs(30)),
                r.reconcile(now),
            )
            .await
            {
                Ok(r) => r,
                Err(_) => Err("timed out".to_owned()),
            };
            let outcome = if result.is_ok() { "success" } else { "error" };
            metrics
                .reconciler_runs
                .get_or_create(&OutcomeLabels {
                    name: name.to_owned(),
                    outcome: outcome.to_owned(),
                })
                .inc();
            match &result {
                Ok(summary) if !summary.is_empty() => {
                    tracing::info!(reconciler = name, "{summary}")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(reconciler = name, error = %e, "reconciler failed"),
            }
            if let Err(e) = store
                .record_reconciler_run(name, &node, clock.now(), result.err().as_deref())
                .await
            {
                tracing::warn!(reconciler = name, error = %e, "could not record the reconciler run");
            }
            r.period()
        } else {
            r.period().min(LEADERSHIP_RETRY)
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = activator.0.notified() => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
