//! What every handler can reach: the store, the clock, settings, the rate limiter and the
//! public snapshots.

use chrono::{DateTime, Utc};
use herald_domain::clock::Clock;
use herald_domain::id::PageId;
use herald_domain::uptime::UptimeWeights;
use herald_store::Store;
use herald_worker::{Metrics, RunnerStatus};
use std::sync::Arc;

use crate::public::{Assets, Publisher, SnapshotOptions, Snapshots};
use crate::ratelimit::KeyLimiter;

/// Settings of the HTTP surface, from herald's configuration.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Where herald is reached from outside, e.g. `https://status.example.com`; used to build
    /// page URLs and incident shortlinks.
    pub public_url: String,
    /// The address herald listens on (`host:port`); its host is one of herald's own.
    pub listen: String,
    /// Management API requests allowed per key per minute (Statuspage: 60).
    pub api_requests_per_minute: u32,
    /// What webhook and chat URLs may point at (checked when a subscriber saves one).
    pub egress: herald_notify::egress::EgressPolicy,
    /// The page served at `/` (id or slug); without it, the only page that is not hidden.
    pub default_page: Option<String>,
    /// The header with the client's address behind a proxy (its last entry); unset: the
    /// connection's address.
    pub client_ip_header: Option<String>,
    /// How uptime weighs each status.
    pub uptime_weights: UptimeWeights,
    /// How public snapshots are kept fresh.
    pub snapshots: SnapshotOptions,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".to_owned(),
            listen: "127.0.0.1:8080".to_owned(),
            api_requests_per_minute: 60,
            egress: herald_notify::egress::EgressPolicy::default(),
            default_page: None,
            client_ip_header: None,
            uptime_weights: UptimeWeights::default(),
            snapshots: SnapshotOptions::default(),
        }
    }
}

impl WebConfig {
    /// The host names herald itself answers on: the host of `public_url` and of `listen`,
    /// lowercase. No page may take one as its custom domain.
    pub fn own_hosts(&self) -> Vec<String> {
        let from_url = self
            .public_url
            .parse::<axum::http::Uri>()
            .ok()
            .and_then(|u| u.host().map(str::to_owned));
        let from_listen = self
            .listen
            .parse::<axum::http::uri::Authority>()
            .ok()
            .map(|a| a.host().to_owned());
        from_url
            .into_iter()
            .chain(from_listen)
            .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
            .collect()
    }

    /// Whether herald is reached over https: then every response carries HSTS.
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
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
    publisher: Arc<Publisher>,
    assets: Arc<Assets>,
    /// The instance's link-signing key, read from the database on first use.
    link_key: tokio::sync::OnceCell<String>,
    /// Set when shutdown begins: `/readyz` answers 503 so balancers stop sending.
    draining: std::sync::atomic::AtomicBool,
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
        let assets = Arc::new(Assets::new());
        let snapshots = Arc::new(Snapshots::new(config.default_page.clone()));
        let publisher = Arc::new(
            Publisher::new(
                store.clone(),
                clock.clone(),
                config.public_url.clone(),
                config.uptime_weights,
                snapshots,
                assets.clone(),
                config.snapshots.cache_bytes,
            )
            .with_metrics(metrics.clone()),
        );
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                config,
                limiter,
                metrics,
                runner,
                publisher,
                assets,
                link_key: tokio::sync::OnceCell::new(),
                draining: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// Shutdown has begun: from now on `/readyz` answers 503 (requests are still served).
    pub fn start_draining(&self) {
        self.inner
            .draining
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.inner
            .draining
            .load(std::sync::atomic::Ordering::Relaxed)
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
    pub async fn page_changed(&self, page_id: &PageId) {
        if let Err(e) = self.inner.publisher.refresh(page_id.as_str()).await {
            // The write is committed; the version poll re-renders once the database answers.
            tracing::warn!(error = %e, page.id = %page_id, "could not re-render the public page");
        }
    }

    /// Called after a write of metric points: the page's charts are re-rendered within
    /// `public::publisher::METRICS_EVERY`, batched however fast points arrive (the API
    /// does not wait for it).
    pub fn metrics_changed(&self, _page_id: &PageId) {
        self.inner.publisher.metrics_changed();
    }

    /// Signs and checks the links sent to subscribers (the same key as the worker's, shared
    /// by every node through the database).
    pub async fn link_signer(
        &self,
    ) -> Result<herald_notify::links::Links, herald_store::StoreError> {
        let key = self
            .inner
            .link_key
            .get_or_try_init(|| {
                self.inner.store.instance_secret(
                    herald_notify::links::LINK_KEY,
                    herald_notify::signing::new_secret,
                    self.now(),
                )
            })
            .await?;
        Ok(herald_notify::links::Links::new(key))
    }

    /// The public snapshots (and, through `ages`, their freshness for `/metrics`).
    pub fn snapshots(&self) -> &Arc<Snapshots> {
        self.inner.publisher.snapshots()
    }

    /// Renders and refreshes the public snapshots.
    pub fn publisher(&self) -> &Arc<Publisher> {
        &self.inner.publisher
    }

    /// Outputs shared by every page.
    pub(crate) fn assets(&self) -> &Arc<Assets> {
        &self.inner.assets
    }

    /// The per-key rate limiter.
    pub(crate) fn limiter(&self) -> &KeyLimiter {
        &self.inner.limiter
    }
}
