//! What every handler can reach: the store, the clock, settings and the rate limiter.

use chrono::{DateTime, Utc};
use herald_domain::clock::Clock;
use herald_store::Store;
use herald_worker::{Metrics, RunnerStatus};
use std::sync::Arc;

use crate::ratelimit::KeyLimiter;

/// Settings of the HTTP surface, from herald's configuration.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Where herald is reached from outside, e.g. `https://status.example.com`; used to build
    /// page URLs and incident shortlinks.
    pub public_url: String,
    /// Management API requests allowed per key per minute (Statuspage: 60).
    pub api_requests_per_minute: u32,
    /// What webhook and chat URLs may point at (checked when a subscriber saves one).
    pub egress: herald_notify::egress::EgressPolicy,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".to_owned(),
            api_requests_per_minute: 60,
            egress: herald_notify::egress::EgressPolicy::default(),
        }
    }
}

/// Shared state of the web tier; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    config: WebConfig,
    limiter: KeyLimiter,
    metrics: Arc<Metrics>,
    runner: Option<Arc<RunnerStatus>>,
}

impl AppState {
    /// Builds the state. `runner` is this process's job runner, when it runs one: readiness
    /// then also covers the worker tier.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        config: WebConfig,
        metrics: Arc<Metrics>,
        runner: Option<Arc<RunnerStatus>>,
    ) -> Self {
        let limiter = KeyLimiter::new(config.api_requests_per_minute);
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                config,
                limiter,
                metrics,
                runner,
            }),
        }
    }

    /// Every metric family.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// This process's job runner, if it runs one.
    pub fn runner(&self) -> Option<&RunnerStatus> {
        self.inner.runner.as_deref()
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The current time, from the injected clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Settings.
    pub fn config(&self) -> &WebConfig {
        &self.inner.config
    }

    /// Called by every handler after it commits a change to `page_id`, before it answers.
    /// This is where the page's public snapshot is re-rendered, in the request that made
    /// the change and never through a background job, so the public page is current the
    /// moment the API answers (the lesson of Statuspage's 2017 incident).
    pub async fn page_changed(&self, page_id: &str) {
        tracing::debug!(page.id = %page_id, "page changed");
    }

    /// The per-key rate limiter.
    pub(crate) fn limiter(&self) -> &KeyLimiter {
        &self.inner.limiter
    }
}
