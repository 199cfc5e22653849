//! Keeping snapshots current: [`Publisher::refresh`] re-renders one page (called by every
//! write handler through `AppState::page_changed`, before it answers), and the background
//! tasks of [`spawn_tasks`] re-render for the passing of time (day rollover, maintenance
//! windows), and learn of other nodes' writes through PostgreSQL `LISTEN/NOTIFY` and a
//! version poll. Renders of one page are serialised and each reads the database after taking
//! the page's lock, so the last render to finish always shows the latest committed state.
//! When the database is unreachable the current snapshot stays in place and keeps being
//! served.

use herald_domain::clock::Clock;
use herald_domain::uptime::UptimeWeights;
use herald_store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use super::render::{Assets, Source, render};
use super::snapshot::Snapshots;

/// How snapshots are kept fresh.
#[derive(Debug, Clone)]
pub struct SnapshotOptions {
    /// Re-render every page this often, for time-dependent parts (default 60 s).
    pub refresh_every: Duration,
    /// Compare page versions with the database this often (default 1 s).
    pub poll_every: Duration,
    /// Listen for other nodes' changes with PostgreSQL `LISTEN` (default true).
    pub listen: bool,
}

impl Default for SnapshotOptions {
    fn default() -> Self {
        Self {
            refresh_every: Duration::from_secs(60),
            poll_every: Duration::from_secs(1),
            listen: true,
        }
    }
}

/// Renders snapshots and installs them.
pub struct Publisher {
    store: Store,
    clock: Arc<dyn Clock>,
    base_url: String,
    weights: UptimeWeights,
    snapshots: Arc<Snapshots>,
    assets: Arc<Assets>,
    locks: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").finish_non_exhaustive()
    }
}

impl Publisher {
    /// A publisher writing into `snapshots`.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        base_url: String,
        weights: UptimeWeights,
        snapshots: Arc<Snapshots>,
        assets: Arc<Assets>,
    ) -> Self {
        Self {
            store,
            clock,
            base_url,
            weights,
            snapshots,
            assets,
            locks: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn lock_for(&self, page_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(page_id.to_owned()).or_default().clone()
    }

    /// Re-renders `page_id` if its version moved past its snapshot's (`force`: even if not,
    /// for time-dependent parts).
    async fn render_page(&self, page_id: &str, force: bool) -> Result<(), StoreError> {
        let lock = self.lock_for(page_id);
        let _guard = lock.lock().await;
        let now = self.clock.now();
        let current = self.snapshots.get(page_id);
        if !force && let Some(cur) = &current {
            match self.store.get_page(page_id).await? {
                Some(p) if p.version <= cur.version => {
                    cur.mark_checked(now);
                    return Ok(());
                }
                Some(_) => {}
                None => {
                    self.snapshots.remove(page_id);
                    return Ok(());
                }
            }
        }
        match Source::load(&self.store, page_id, now, &self.base_url, self.weights).await? {
            None => self.snapshots.remove(page_id),
            Some(src) => {
                let started = std::time::Instant::now();
                let snap = render(&src, current.as_deref(), &self.assets, force);
                tracing::debug!(
                    page.id = %page_id,
                    version = snap.version,
                    duration_ms = started.elapsed().as_secs_f64() * 1000.0,
                    "public snapshot rendered"
                );
                self.snapshots.install(snap);
            }
        }
        Ok(())
    }

    /// Brings `page_id`'s snapshot up to date with the database.
    pub async fn refresh(&self, page_id: &str) -> Result<(), StoreError> {
        self.render_page(page_id, false).await
    }

    /// Re-renders every page (and drops snapshots of deleted pages).
    pub async fn refresh_all(&self) -> Result<(), StoreError> {
        let pages = self.store.page_versions().await?;
        self.drop_missing(&pages);
        for (id, _) in &pages {
            self.render_page(id, true).await?;
        }
        Ok(())
    }

    /// Compares every page's version with its snapshot's and re-renders the stale ones.
    pub async fn poll(&self) -> Result<(), StoreError> {
        let pages = self.store.page_versions().await?;
        let now = self.clock.now();
        self.drop_missing(&pages);
        for (id, version) in &pages {
            match self.snapshots.get(id) {
                Some(s) if s.version >= *version => s.mark_checked(now),
                _ => self.render_page(id, false).await?,
            }
        }
        Ok(())
    }

    fn drop_missing(&self, pages: &[(String, i64)]) {
        let index = self.snapshots.load();
        for id in index.by_id.keys() {
            if !pages.iter().any(|(p, _)| p == id) {
                self.snapshots.remove(id);
            }
        }
    }

    /// The snapshots this publisher keeps.
    pub fn snapshots(&self) -> &Arc<Snapshots> {
        &self.snapshots
    }
}

/// Starts the background tasks: periodic re-render, version poll and (on PostgreSQL, unless
/// disabled) the change listener. They stop when `shutdown` is cancelled.
pub fn spawn_tasks(
    publisher: Arc<Publisher>,
    options: &SnapshotOptions,
    shutdown: CancellationToken,
) {
    let every = |p: Arc<Publisher>, period: Duration, what: &'static str, force: bool| {
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            let mut failing = false;
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let r = if force {
                    p.refresh_all().await
                } else {
                    p.poll().await
                };
                match r {
                    Err(e) if !failing => {
                        tracing::warn!(error = %e, task = what, "snapshot task failed; serving the last snapshots");
                        failing = true;
                    }
                    Err(_) => {}
                    Ok(()) if failing => {
                        tracing::info!(task = what, "snapshot task recovered");
                        failing = false;
                    }
                    Ok(()) => {}
                }
            }
        });
    };
    every(publisher.clone(), options.refresh_every, "refresh", true);
    every(publisher.clone(), options.poll_every, "poll", false);
    if options.listen {
        let stop = shutdown.clone();
        tokio::spawn(async move { listen(publisher, stop).await });
    }
}

async fn listen(p: Arc<Publisher>, stop: CancellationToken) {
    let mut warned = false;
    loop {
        let mut listener = match p.store.listen_changes().await {
            Ok(Some(l)) => {
                if warned {
                    tracing::info!("listening for page changes again");
                    warned = false;
                }
                l
            }
            Ok(None) => return,
            Err(e) => {
                if !warned {
                    tracing::warn!(error = %e, "cannot LISTEN for page changes; relying on the version poll");
                    warned = true;
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                r = listener.recv() => match r {
                    Ok(page_id) => {
                        if let Err(e) = p.refresh(&page_id).await {
                            tracing::warn!(error = %e, page.id = %page_id, "re-render after NOTIFY failed");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "page-change listener failed; reconnecting");
                        break;
                    }
                },
            }
        }
    }
}
