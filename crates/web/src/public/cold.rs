//! The rarely read outputs of a page — incident pages, `/history?page=N`, `/uptime?page=N` —
//! rendered from the page's in-memory model on first request and kept under a memory budget
//! (`snapshot_cache_mb`), so a page with years of history neither renders them on every
//! write nor holds them all in memory. They are still served without the database: a miss
//! renders from the model the snapshot holds, which stays in memory when the database is down.
//!
//! One [`ColdCache`] (a size-bounded concurrent cache, `moka`) holds every page's outputs. A
//! write invalidates the outputs that show what it changed ([`ColdPage::invalidate`]). An
//! output is tagged with the model version it was rendered from, and a page remembers the
//! version at which each output last went stale, so a render that raced a write (it read
//! the model before the write, and finishes after) is answered but never cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::output::Output;

/// A rarely read output of a page.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ColdKey {
    /// `/incidents/<id>`.
    Incident(String),
    /// `/history?page=N`, N from 1.
    History(u32),
    /// `/uptime?page=N`, N from 1.
    Uptime(u32),
    /// `/metrics/{id}/{day|week|month}.{json|svg}` (`true`: JSON). Kept per snapshot, not
    /// in this cache: points change charts without a page version (`PageSnapshot::charts`).
    Chart(String, herald_domain::metric::points::Period, bool),
}

#[derive(Clone)]
struct Entry {
    output: Arc<Output>,
    version: i64,
}

/// Every page's rarely read outputs, under one memory budget.
pub struct ColdCache {
    cache: moka::sync::Cache<(Arc<str>, ColdKey), Entry>,
}

impl std::fmt::Debug for ColdCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ColdCache")
            .field("bytes", &self.cache.weighted_size())
            .finish()
    }
}

/// What an entry costs: its bodies, and 1 KiB for the rest (the output, its tag and ETags,
/// the key, the cache's own entry: about 0.7 KB measured with heaptrack on a 10k page).
fn weight(o: &Output) -> u32 {
    let n = o.held_bytes() + 1024;
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl ColdCache {
    /// A cache holding at most `budget_bytes` of output bodies.
    pub fn new(budget_bytes: u64) -> Self {
        Self {
            cache: moka::sync::Cache::builder()
                .max_capacity(budget_bytes)
                .weigher(|_, e: &Entry| weight(&e.output))
                .support_invalidation_closures()
                .build(),
        }
    }

    /// Bytes held now (after pending evictions are applied).
    pub fn bytes(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.weighted_size()
    }
}

/// When outputs of one page last went stale.
#[derive(Debug, Default)]
struct Stale {
    /// Per output: the model version that last changed what it shows.
    from: HashMap<ColdKey, i64>,
    /// The version that last changed what every output shows.
    all_from: i64,
}

impl Stale {
    fn since(&self, key: &ColdKey) -> i64 {
        self.from.get(key).copied().unwrap_or(0).max(self.all_from)
    }
}

/// One page's view of the [`ColdCache`], shared by all its snapshots.
#[derive(Debug)]
pub struct ColdPage {
    page_id: Arc<str>,
    cache: Arc<ColdCache>,
    stale: Mutex<Stale>,
}

impl ColdPage {
    /// Page `page_id`'s outputs in `cache`.
    pub fn new(page_id: &str, cache: Arc<ColdCache>) -> Self {
        Self {
            page_id: page_id.into(),
            cache,
            stale: Mutex::new(Stale::default()),
        }
    }

    fn stale(&self) -> std::sync::MutexGuard<'_, Stale> {
        self.stale.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached output for `key`, if it is still current.
    pub fn get(&self, key: &ColdKey) -> Option<Arc<Output>> {
        let e = self.cache.cache.get(&(self.page_id.clone(), key.clone()))?;
        (e.version >= self.stale().since(key)).then_some(e.output)
    }

    /// Keeps `output`, rendered from the model at `version`, unless a later version has
    /// changed what it shows.
    pub fn put(&self, key: ColdKey, version: i64, output: Arc<Output>) {
        let stale = self.stale();
        if version >= stale.since(&key) {
            self.cache
                .cache
                .insert((self.page_id.clone(), key), Entry { output, version });
        }
    }

    /// Outputs `keys` show what the model at `version` changed.
    pub fn invalidate(&self, keys: impl IntoIterator<Item = ColdKey>, version: i64) {
        let mut stale = self.stale();
        for key in keys {
            self.cache
                .cache
                .invalidate(&(self.page_id.clone(), key.clone()));
            let v = stale.from.entry(key).or_insert(version);
            *v = (*v).max(version);
        }
    }

    /// Every output of the page shows what the model at `version` changed.
    pub fn invalidate_all(&self, version: i64) {
        let mut stale = self.stale();
        stale.from.clear();
        stale.all_from = stale.all_from.max(version);
        let page = self.page_id.clone();
        // Entries of other pages stay; this page's go now, not at eviction.
        let _ = self
            .cache
            .cache
            .invalidate_entries_if(move |(p, _), _| *p == page);
    }
}
