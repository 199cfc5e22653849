//! The job handlers and reconcilers this binary runs, and the runner's settings.

use herald_domain::clock::Clock;
use herald_store::Store;
use herald_worker::reconcilers::{Maintenance, PruneJobs};
use herald_worker::{Driver, Metrics, Registry, RunnerConfig};
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;

/// Every job kind's handler.
pub fn registry() -> Registry {
    let mut r = Registry::default();
    herald_worker::canary::register(&mut r);
    r
}

/// The runner's settings from the configuration.
pub fn runner_config(config: &Config) -> RunnerConfig {
    RunnerConfig {
        worker_id: config
            .worker_id
            .clone()
            .unwrap_or_else(herald_domain::id::generate),
        hostname: std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".to_owned()),
        default_concurrency: config.worker_concurrency,
        ack_batch: config.worker_ack_batch,
        poll_interval: Duration::from_millis(config.worker_poll_ms.max(10)),
        heartbeat_interval: Duration::from_millis(config.worker_heartbeat_ms.max(10)),
        stale_after: Duration::from_millis(config.worker_stale_ms),
        sweep_interval: Duration::from_millis((config.worker_stale_ms / 4).clamp(100, 5000)),
        never_claim: config.fault.as_deref() == Some("worker_never_claims"),
        ..RunnerConfig::default()
    }
}

/// Every reconciler.
pub fn driver(store: &Store, clock: Arc<dyn Clock>, node: &str, metrics: Arc<Metrics>) -> Driver {
    let mut d = Driver::new(store.clone(), clock, node, metrics);
    d.add(Maintenance {
        store: store.clone(),
    });
    d.add(PruneJobs {
        store: store.clone(),
    });
    d
}
