//! Keeping snapshots current. [`Publisher::refresh`] brings one page's snapshot up to date:
//! it is called by every write handler through `AppState::page_changed` before it answers,
//! by the change listener (PostgreSQL `LISTEN/NOTIFY`) and by the version poll for other
//! nodes' writes. [`Publisher::tick`] re-renders for the passing of time (today's bars, the
//! day rollover).
//!
//! A refresh reads only what changed since the version the page's model holds
//! (`Store::page_delta`), applies it to the model, re-renders the outputs every request may
//! ask for and drops the cached rarely read ones that show what changed (`super::cold`);
//! a change it cannot explain reloads the page in full. Renders of one page take turns, and
//! writes that arrive while one runs share the next (group rendering, as commits share a
//! WAL flush): each caller waits for the first render that *started* after it asked, which
//! therefore reads its write. When the database is unreachable the current snapshot stays
//! in place and keeps being served.

use chrono::Datelike;
use herald_domain::clock::Clock;
use herald_domain::id::PageId;
use herald_domain::incident::Incident;
use herald_domain::uptime::{self, UptimeWeights};
use herald_store::{PageDelta, Store, StoreError};
use herald_worker::metrics::Metrics;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::cold::{ColdCache, ColdKey, ColdPage};
use super::fragments::Pieces;
use super::model::{Change, Model};
use super::render::{Assets, MONTHS_PER_PAGE, Source, UPTIME_MONTHS, history_pages, render_hot};
use super::snapshot::{PageSnapshot, Snapshots};

/// How snapshots are kept fresh.
#[derive(Debug, Clone)]
pub struct SnapshotOptions {
    /// Re-render every page this often, for time-dependent parts (default 60 s).
    pub refresh_every: Duration,
    /// Compare page versions with the database this often (default 1 s).
    pub poll_every: Duration,
    /// Listen for other nodes' changes with PostgreSQL `LISTEN` (default true).
    pub listen: bool,
    /// Shortest time between the starts of two renders of one page that other nodes'
    /// changes ask for (default 20 ms; longer for a page whose renders take long, up to
    /// 50 ms: `remote_gap`). The first change after a quiet spell renders at once; during a
    /// write storm on another node one render here covers every change that arrived in the
    /// gap, so this node's renders stop competing with the writing node for CPU. It adds
    /// at most the gap to how far this node lags behind a NOTIFY (the target is 100 ms) and
    /// never delays this node's own writes.
    pub remote_gap: Duration,
    /// Memory for rarely read outputs (incident pages, history and uptime months), in bytes.
    pub cache_bytes: u64,
}

impl Default for SnapshotOptions {
    fn default() -> Self {
        Self {
            refresh_every: Duration::from_secs(60),
            poll_every: Duration::from_secs(1),
            listen: true,
            remote_gap: Duration::from_millis(20),
            cache_bytes: 64 << 20,
        }
    }
}

/// How long a page must keep a version before the incident pages its write touched are
/// rendered ahead of their first request.
const PRERENDER_AFTER: Duration = Duration::from_millis(100);
/// `snap` after `delay`, if anything else still holds it. Tasks that act on a snapshot
/// later hold it weakly meanwhile: a write storm replaces hundreds of snapshots a second,
/// and holding each for the delay would keep all their bodies in memory.
async fn alive_after(delay: Duration, snap: Weak<PageSnapshot>) -> Option<Arc<PageSnapshot>> {
    tokio::time::sleep(delay).await;
    snap.upgrade()
}

/// How long a page keeps a version before its outputs made of pieces are compressed whole
/// (`PageSnapshot::settled`): long enough that a burst of writes is over, as each would
/// make the work stale.
const SETTLE_AFTER: Duration = Duration::from_millis(1000);

/// Renders that other nodes' changes asked for (`Publisher::refresh_remote`).
#[derive(Debug, Default)]
struct Remote {
    /// A render is waiting for its gap: it will read any change that arrives meanwhile.
    waiting: bool,
    /// When the last one started.
    last: Option<tokio::time::Instant>,
    /// How long the page's last render took (for whatever cause).
    took: Duration,
}

/// The longest a page's own render time stretches the gap between renders for other
/// nodes' changes (`remote_gap`).
const MAX_SCALED_GAP: Duration = Duration::from_millis(50);

/// The gap between two renders of a page for other nodes' changes: at least `least` (the
/// setting), and at least ten times as long as the page's last render took, up to
/// [`MAX_SCALED_GAP`]. So during another node's write storm this node spends at most about a
/// tenth of a core re-rendering a page (a 10k-incident page's render takes 5–10 ms under
/// load), and a small page, whose renders take a millisecond, keeps the setting's gap. A
/// setting of zero turns the gap off: every change is rendered at once.
fn remote_gap(least: Duration, took: Duration) -> Duration {
    if least.is_zero() {
        return least;
    }
    least.max((took * 10).min(MAX_SCALED_GAP))
}

/// Whose turn it is to render a page, and how far renders have got.
#[derive(Debug, Default)]
struct Turns {
    /// Refreshes asked for so far (each caller's ticket).
    asked: u64,
    /// A render is running.
    running: bool,
    /// A time-driven re-render is due.
    time_due: bool,
    /// The metrics' points changed: read them again.
    metrics_due: bool,
}

/// Renders of one page.
#[derive(Debug)]
struct PageRenders {
    turns: Mutex<Turns>,
    /// The highest ticket a finished render covered, and how many renders have ended.
    done: watch::Sender<(u64, u64)>,
    cold: Arc<ColdPage>,
    /// The pieces of the page's large outputs, kept from its last render.
    pieces: Pieces,
    remote: Mutex<Remote>,
}

impl PageRenders {
    fn turns(&self) -> std::sync::MutexGuard<'_, Turns> {
        self.turns.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn remote(&self) -> std::sync::MutexGuard<'_, Remote> {
        self.remote.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Ends a render however its task ends (even by a panic): the next caller may lead.
struct Running(Arc<PageRenders>, u64, bool);

impl Drop for Running {
    fn drop(&mut self) {
        let (covers, ok) = (self.1, self.2);
        self.0.turns().running = false;
        self.0.done.send_modify(|(covered, ended)| {
            *ended += 1;
            if ok {
                *covered = (*covered).max(covers);
            }
        });
    }
}

/// Ends a wait for `PageRenders::remote`'s gap however it ends (a cancelled task too), so
/// a later change is never left to a render that will not come.
struct Waiting<'a>(&'a PageRenders);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.remote().waiting = false;
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
    cold: Arc<ColdCache>,
    pages: Mutex<HashMap<String, Arc<PageRenders>>>,
    /// Poked when this node writes metric points (`metrics_changed`).
    metrics_wake: tokio::sync::Notify,
    /// Where renders are counted (`/metrics`), if anywhere.
    metrics: Option<Arc<Metrics>>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").finish_non_exhaustive()
    }
}

impl Publisher {
    /// A publisher writing into `snapshots`, keeping rarely read outputs in `cache_bytes`.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        base_url: String,
        weights: UptimeWeights,
        snapshots: Arc<Snapshots>,
        assets: Arc<Assets>,
        cache_bytes: u64,
    ) -> Self {
        Self {
            store,
            clock,
            base_url,
            weights,
            snapshots,
            assets,
            cold: Arc::new(ColdCache::new(cache_bytes)),
            pages: Mutex::new(HashMap::new()),
            metrics_wake: tokio::sync::Notify::new(),
            metrics: None,
        }
    }

    /// Counts each render in `metrics` (`herald_snapshot_renders_total`).
    #[must_use]
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Self {
        Self {
            metrics: Some(metrics),
            ..self
        }
    }

    fn renders(&self, page_id: &str) -> Arc<PageRenders> {
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        pages
            .entry(page_id.to_owned())
            .or_insert_with(|| {
                Arc::new(PageRenders {
                    turns: Mutex::new(Turns::default()),
                    done: watch::Sender::new((0, 0)),
                    cold: Arc::new(ColdPage::new(page_id, self.cold.clone())),
                    pieces: Pieces::default(),
                    remote: Mutex::new(Remote::default()),
                })
            })
            .clone()
    }

    /// Brings `page_id`'s snapshot up to date with the database: returns once a render
    /// that started after this call has finished (or failed: then with its error).
    pub async fn refresh(self: &Arc<Self>, page_id: &str) -> Result<(), StoreError> {
        self.turn(page_id, false, false).await
    }

    /// Brings `page_id` up to date after another node's change (a NOTIFY): at once if no
    /// such render started in the last gap, else when the gap is over (`gap`, or longer for
    /// a page whose renders take long: `remote_gap`). A change that arrives while a render
    /// waits is left to it (returns at once): that render has not started, so it reads the
    /// change.
    pub async fn refresh_remote(
        self: &Arc<Self>,
        page_id: &str,
        gap: Duration,
    ) -> Result<(), StoreError> {
        let r = self.renders(page_id);
        let at = {
            let mut g = r.remote();
            if g.waiting {
                return Ok(());
            }
            g.waiting = true;
            let gap = remote_gap(gap, g.took);
            g.last.map(|last| last + gap)
        };
        let waiting = Waiting(&r);
        if let Some(at) = at {
            tokio::time::sleep_until(at).await;
        }
        r.remote().last = Some(tokio::time::Instant::now());
        drop(waiting);
        self.refresh(page_id).await
    }

    /// Re-renders `page_id` for the passing of time, bringing it up to date on the way.
    pub async fn tick(self: &Arc<Self>, page_id: &str) -> Result<(), StoreError> {
        self.turn(page_id, true, false).await
    }

    /// Reads `page_id`'s metric points again and re-renders its charts.
    pub async fn refresh_metrics(self: &Arc<Self>, page_id: &str) -> Result<(), StoreError> {
        self.turn(page_id, false, true).await
    }

    /// Says this node wrote metric points: the metrics task looks for them at once (it
    /// still renders each page at most once per `METRICS_EVERY`).
    pub fn metrics_changed(&self) {
        self.metrics_wake.notify_one();
    }

    /// Re-renders the charts of every page whose metrics' points changed since its model
    /// read them (points written by this node, another web node or a poller).
    pub async fn poll_metrics(self: &Arc<Self>) -> Result<(), StoreError> {
        for (page_id, rev) in self.store.metric_revs().await? {
            match self.snapshots.get(&page_id) {
                Some(s) if s.source.metrics_rev != rev => self.refresh_metrics(&page_id).await?,
                _ => {}
            }
        }
        Ok(())
    }

    async fn turn(
        self: &Arc<Self>,
        page_id: &str,
        time: bool,
        metrics: bool,
    ) -> Result<(), StoreError> {
        let r = self.renders(page_id);
        let mut done = r.done.subscribe();
        let ticket = {
            let mut t = r.turns();
            t.asked += 1;
            t.time_due |= time;
            t.metrics_due |= metrics;
            t.asked
        };
        loop {
            if done.borrow_and_update().0 >= ticket {
                return Ok(());
            }
            let lead = {
                let mut t = r.turns();
                (!t.running).then(|| {
                    t.running = true;
                    (
                        t.asked,
                        std::mem::take(&mut t.time_due),
                        std::mem::take(&mut t.metrics_due),
                    )
                })
            };
            let Some((covers, time, metrics)) = lead else {
                if done.changed().await.is_err() {
                    return Ok(());
                }
                continue;
            };
            // The render runs in its own task, so that a caller that goes away (a client
            // that hung up) never leaves it half done.
            let (me, page, renders) = (self.clone(), page_id.to_owned(), r.clone());
            let outcome = tokio::spawn(async move {
                let mut running = Running(renders.clone(), covers, false);
                let r = me.catch_up(&page, &renders, time, metrics).await;
                if r.is_err() {
                    let mut t = renders.turns();
                    t.time_due |= time;
                    t.metrics_due |= metrics;
                }
                running.2 = r.is_ok();
                r
            })
            .await
            .unwrap_or_else(|e| Err(StoreError::Internal(format!("render failed: {e}"))));
            outcome?;
        }
    }

    /// One render: the delta since the model's version (or the page in full), applied,
    /// the ready outputs re-rendered, the stale rarely read ones dropped.
    async fn catch_up(
        &self,
        page_id: &str,
        renders: &PageRenders,
        time: bool,
        metrics: bool,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let current = self.snapshots.get(page_id);
        let started = std::time::Instant::now();
        let (model, change) = match &current {
            None => match Model::load(&self.store, page_id, now).await? {
                Some(m) => (m, None),
                None => return Ok(()),
            },
            Some(cur) => match self
                .store
                .page_delta(&PageId::from(page_id), cur.version)
                .await?
            {
                PageDelta::Gone => {
                    self.snapshots.remove(page_id);
                    return Ok(());
                }
                PageDelta::Unchanged if !time && !metrics => {
                    cur.mark_checked(now);
                    return Ok(());
                }
                PageDelta::Unchanged => (cur.source.model(), Some(Change::default())),
                PageDelta::Reload => match Model::load(&self.store, page_id, now).await? {
                    Some(m) => (m, None),
                    None => {
                        self.snapshots.remove(page_id);
                        return Ok(());
                    }
                },
                PageDelta::Changes(c) => {
                    let (m, change) = cur.source.model().apply(*c);
                    (m, Some(change))
                }
            },
        };
        // A full load read the metrics; a delta reads them when they changed.
        let model = match &change {
            Some(c) if metrics || c.metrics => model.with_metrics(&self.store, now).await?,
            _ => model,
        };
        let src = Arc::new(Source::new(&model, now, &self.base_url, self.weights));
        match (&change, &current) {
            (Some(change), Some(cur)) => {
                let stale = stale_outputs(&cur.source, &src, change);
                match stale {
                    None => renders.cold.invalidate_all(model.version()),
                    Some(keys) => renders.cold.invalidate(keys, model.version()),
                }
            }
            _ => renders.cold.invalidate_all(model.version()),
        }
        let made = renders.pieces.made_bytes();
        let hot = render_hot(&src, current.as_deref(), &self.assets, &renders.pieces);
        let compressed = renders.pieces.made_bytes() - made;
        let snap = Arc::new(PageSnapshot::new(src, hot, renders.cold.clone()));
        self.snapshots.install_arc(snap.clone());
        if let Some(m) = &self.metrics {
            m.snapshot_rendered(&snap.slug, compressed);
        }
        // The incidents just written are the pages subscribers open next: render them soon,
        // off the writer's path (a request before then renders its own). Not at once: in a
        // burst of writes to one incident each render would be made stale by the next, so
        // they are rendered once the page has kept this version for a moment.
        let touched: Vec<ColdKey> = change
            .iter()
            .flat_map(|c| &c.incidents)
            .filter_map(|(_, after)| after.as_ref())
            .map(|i| ColdKey::Incident(i.id.clone()))
            .collect();
        let version = snap.version;
        self.settle_later(snap.clone());
        if !touched.is_empty() {
            let (weak, snapshots) = (Arc::downgrade(&snap), self.snapshots.clone());
            tokio::spawn(async move {
                let Some(snap) = alive_after(PRERENDER_AFTER, weak).await else {
                    return;
                };
                let current = snapshots
                    .get(&snap.page_id)
                    .is_some_and(|now| now.version == snap.version);
                if current {
                    tokio::task::spawn_blocking(move || {
                        for key in &touched {
                            snap.cold_output(key);
                        }
                    });
                }
            });
        }
        renders.remote().took = started.elapsed();
        tracing::debug!(
            page.id = %page_id,
            version,
            full = change.is_none(),
            compressed_bytes = compressed,
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "public snapshot rendered"
        );
        Ok(())
    }

    /// Once `snap` has stayed the page's snapshot for [`SETTLE_AFTER`], replaces it by its
    /// settled form (smaller compressed bodies, the same content), off the async threads.
    fn settle_later(&self, snap: Arc<PageSnapshot>) {
        let snapshots = self.snapshots.clone();
        let weak = Arc::downgrade(&snap);
        drop(snap);
        tokio::spawn(async move {
            let Some(snap) = alive_after(SETTLE_AFTER, weak).await else {
                return;
            };
            let current = |s: &Arc<PageSnapshot>| {
                snapshots
                    .get(&s.page_id)
                    .is_some_and(|now| Arc::ptr_eq(&now, s))
            };
            if !current(&snap) {
                return;
            }
            let old = snap.clone();
            let settled = tokio::task::spawn_blocking(move || snap.settled()).await;
            if let Ok(Some(new)) = settled {
                let replaced = snapshots.replace(&old, Arc::new(new));
                tracing::debug!(page.id = %old.page_id, version = old.version, replaced, "public snapshot settled");
            }
        });
    }

    /// Re-renders every page for the passing of time (and drops snapshots of deleted pages).
    pub async fn tick_all(self: &Arc<Self>) -> Result<(), StoreError> {
        let pages = self.store.page_versions().await?;
        self.drop_missing(&pages);
        for (id, _) in &pages {
            self.tick(id).await?;
        }
        Ok(())
    }

    /// Compares every page's version with its snapshot's and brings the stale ones up to date.
    pub async fn poll(self: &Arc<Self>) -> Result<(), StoreError> {
        let pages = self.store.page_versions().await?;
        let now = self.clock.now();
        self.drop_missing(&pages);
        for (id, version) in &pages {
            match self.snapshots.get(id) {
                Some(s) if s.version >= *version => s.mark_checked(now),
                _ => self.refresh(id).await?,
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

    /// The cache of rarely read outputs.
    pub fn cold_cache(&self) -> &Arc<ColdCache> {
        &self.cold
    }
}

/// The months-back index (0: this month) of `date` from `today`.
fn months_back(today: chrono::NaiveDate, date: chrono::NaiveDate) -> i64 {
    i64::from(today.year() - date.year()) * 12 + i64::from(today.month()) - i64::from(date.month())
}

/// The `/history` or `/uptime` page (from 1) showing the month `months_back` months ago.
fn page_of(months_back: i64) -> Option<u32> {
    u32::try_from(months_back)
        .ok()
        .map(|m| m / MONTHS_PER_PAGE + 1)
}

/// The rarely read outputs that show what `change` changed between `old` and `new`, or
/// `None` for all of them.
fn stale_outputs(old: &Source, new: &Source, change: &Change) -> Option<HashSet<ColdKey>> {
    let zone = new.page.zone;
    let today = zone.date(new.now);
    if change.page || change.structure || zone.date(old.now) != today {
        return None;
    }
    let mut keys = HashSet::new();
    // Today's figures grow with time: the uptime page holding this month shows them.
    keys.insert(ColdKey::Uptime(1));
    let uptime_pages = UPTIME_MONTHS / MONTHS_PER_PAGE;
    let mut months = |from: chrono::NaiveDate, to: chrono::NaiveDate, history: bool| {
        let (a, b) = (months_back(today, to), months_back(today, from));
        for m in a.max(0)..=b {
            match page_of(m) {
                Some(p) if history => {
                    keys.insert(ColdKey::History(p));
                }
                Some(p) if p <= uptime_pages => {
                    keys.insert(ColdKey::Uptime(p));
                }
                _ => {}
            }
        }
    };
    let incident = |i: &Incident| {
        let (first, last) = uptime::incident_dates(zone, i.started_at, i.resolved_at, new.now);
        (first, last, zone.date(i.started_at))
    };
    for (before, after) in &change.incidents {
        for i in before.iter().chain(after) {
            let (first, last, started) = incident(i);
            // Its card on the history month it started in; its name in the uptime bars'
            // tooltips of every day it was open.
            months(started, started, true);
            months(first, last, false);
        }
    }
    for e in &change.log {
        // A status holds from its change until now.
        months(zone.date(e.at), today, false);
    }
    for (before, after) in &change.incidents {
        let id = before.as_ref().or(after.as_ref()).map(|i| i.id.clone());
        keys.extend(id.map(ColdKey::Incident));
    }
    if !change.incidents.is_empty() && history_pages(old) != history_pages(new) {
        // The pager of every history page names the last page.
        keys.extend((1..=history_pages(old).max(history_pages(new))).map(ColdKey::History));
    }
    Some(keys)
}

/// Starts the background tasks: periodic re-render, version poll and (on PostgreSQL, unless
/// disabled) the change listener. They stop when `shutdown` is cancelled.
pub fn spawn_tasks(
    publisher: Arc<Publisher>,
    options: &SnapshotOptions,
    shutdown: CancellationToken,
) {
    let every = |p: Arc<Publisher>, period: Duration, what: &'static str, time: bool| {
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
                let r = if time {
                    p.tick_all().await
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
    {
        let (p, stop) = (publisher.clone(), shutdown.clone());
        tokio::spawn(async move { metrics_task(p, stop).await });
    }
    if options.listen {
        let stop = shutdown.clone();
        let gap = options.remote_gap;
        tokio::spawn(async move { listen(publisher, gap, stop).await });
    }
}

/// Longest a page's charts wait for new points, and shortest time between two of its
/// chart renders however fast points arrive.
pub const METRICS_EVERY: Duration = Duration::from_secs(2);

/// Re-renders charts whose points changed: woken by this node's writes, and every
/// `METRICS_EVERY` for other nodes' (the pollers may run on worker nodes).
async fn metrics_task(p: Arc<Publisher>, stop: CancellationToken) {
    let mut failing = false;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = p.metrics_wake.notified() => {}
            () = tokio::time::sleep(METRICS_EVERY) => {}
        }
        match p.poll_metrics().await {
            Err(e) if !failing => {
                tracing::warn!(error = %e, "metric charts could not be refreshed; serving the last ones");
                failing = true;
            }
            Err(_) => {}
            Ok(()) => failing = false,
        }
        // At most one chart render per page per METRICS_EVERY.
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(METRICS_EVERY) => {}
        }
    }
}

async fn listen(p: Arc<Publisher>, gap: Duration, stop: CancellationToken) {
    let mut warned = false;
    loop {
        let mut listener = match p.store.listen_changes().await {
            Ok(Some(l)) => {
                if warned {
                    tracing::info!("listening for page changes again");
                    warned = false;
                }
                // A write that committed before LISTEN took hold sent its NOTIFY to no one:
                // one version poll now catches it, whatever the poll interval.
                if let Err(e) = p.poll().await {
                    tracing::warn!(error = %e, "catching up after LISTEN failed; the version poll will");
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
                    Ok(Some(page_id)) => {
                        // Each change is its own task, so a slow page never holds up the
                        // notifications of others.
                        let p = p.clone();
                        tokio::spawn(async move {
                            if let Err(e) = p.refresh_remote(&page_id, gap).await {
                                tracing::warn!(error = %e, page.id = %page_id, "re-render after NOTIFY failed");
                            }
                        });
                    }
                    Ok(None) => {
                        tracing::warn!("page-change listener lost its connection; reconnecting");
                        break;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gap_for_other_nodes_changes_grows_with_the_render_time_up_to_a_bound() {
        let ms = Duration::from_millis;
        assert_eq!(
            remote_gap(ms(20), ms(1)),
            ms(20),
            "a small page keeps the setting"
        );
        assert_eq!(remote_gap(ms(20), ms(3)), ms(30), "ten renders' time");
        assert_eq!(remote_gap(ms(20), ms(40)), ms(50), "bounded");
        assert_eq!(
            remote_gap(ms(3000), ms(40)),
            ms(3000),
            "the setting is a floor"
        );
        assert_eq!(remote_gap(ms(0), ms(40)), ms(0), "no gap at all when asked");
    }
}
