//! Every output of a page at one version ([`PageSnapshot`]), and the set of current page
//! snapshots ([`Snapshots`]) behind one atomic pointer, so a request reads it with no lock
//! and no database.

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use super::cold::{ColdKey, ColdPage};
pub use super::output::{Kind, Output, Variant, accepts, tag_of};
use super::render::{Hot, Source, render_cold};

/// Every output of one page at one version: the outputs every request may ask for, ready;
/// the rarely read ones in the page's [`ColdPage`], rendered from `source` when first asked.
#[derive(Debug)]
pub struct PageSnapshot {
    /// The page's id.
    pub page_id: String,
    /// Its slug (`/p/<slug>/`).
    pub slug: String,
    /// Its custom domain.
    pub domain: Option<String>,
    /// Hidden pages are never the default page.
    pub hidden: bool,
    /// The page version the snapshot shows.
    pub version: i64,
    /// When it was rendered.
    pub rendered_at: DateTime<Utc>,
    /// When the snapshot was last known to be current (rendered, or its version checked).
    checked_at_ms: AtomicI64,
    /// Fixed paths (`/`, `/uptime`, `/api/v2/summary.json`, ...) to outputs.
    pub outputs: HashMap<String, Arc<Output>>,
    /// The page's own 404 page.
    pub not_found: Arc<Output>,
    /// 404 under `/api/`.
    pub api_not_found: Arc<Output>,
    /// The model and the moment the snapshot shows, for the rarely read outputs.
    pub source: Arc<Source>,
    /// The rarely read outputs.
    pub cold: Arc<ColdPage>,
    /// Metric charts and their data, rendered from `source` on first request.
    charts: std::sync::Mutex<HashMap<ColdKey, Arc<Output>>>,
}

impl PageSnapshot {
    /// A snapshot of `source` with its ready outputs `hot`.
    pub fn new(source: Arc<Source>, hot: Hot, cold: Arc<ColdPage>) -> Self {
        let page = &source.page;
        Self {
            page_id: page.id.to_string(),
            slug: page.slug.clone(),
            domain: page.domain.clone(),
            hidden: page.hidden,
            version: page.version,
            rendered_at: source.now,
            checked_at_ms: AtomicI64::new(source.now.timestamp_millis()),
            outputs: hot.outputs,
            not_found: hot.not_found,
            api_not_found: hot.api_not_found,
            source,
            cold,
            charts: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// This snapshot with every output assembled from pieces compressed as one stream
    /// ([`Output::settled`]): the same bytes once decoded, about a third as many sent.
    /// `None` if no output was made of pieces. Costs a whole compression of each: for the
    /// publisher's background, once the page has kept its version for a moment.
    pub fn settled(&self) -> Option<PageSnapshot> {
        let mut done: HashMap<*const Output, Arc<Output>> = HashMap::new();
        let mut outputs = HashMap::with_capacity(self.outputs.len());
        for (path, o) in &self.outputs {
            let o = match done.get(&Arc::as_ptr(o)) {
                Some(s) => s.clone(),
                None => {
                    let s = o.settled().map_or_else(|| o.clone(), Arc::new);
                    done.insert(Arc::as_ptr(o), s.clone());
                    s
                }
            };
            outputs.insert(path.clone(), o);
        }
        let changed = done
            .iter()
            .any(|(old, new)| !std::ptr::eq(*old, Arc::as_ptr(new)));
        changed.then(|| Self {
            page_id: self.page_id.clone(),
            slug: self.slug.clone(),
            domain: self.domain.clone(),
            hidden: self.hidden,
            version: self.version,
            rendered_at: self.rendered_at,
            checked_at_ms: AtomicI64::new(self.checked_at_ms.load(Ordering::Relaxed)),
            outputs,
            not_found: self.not_found.clone(),
            api_not_found: self.api_not_found.clone(),
            source: self.source.clone(),
            cold: self.cold.clone(),
            charts: std::sync::Mutex::new(
                self.charts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone(),
            ),
        })
    }

    /// Records that the snapshot was found current at `at`.
    pub fn mark_checked(&self, at: DateTime<Utc>) {
        self.checked_at_ms
            .fetch_max(at.timestamp_millis(), Ordering::Relaxed);
    }

    /// When the snapshot was last known to be current.
    pub fn checked_at(&self) -> DateTime<Utc> {
        herald_domain::clock::from_ms(self.checked_at_ms.load(Ordering::Relaxed))
    }

    /// Every ready output, for reuse of unchanged ones by the next render.
    pub fn all_outputs(&self) -> impl Iterator<Item = &Arc<Output>> {
        self.outputs
            .values()
            .chain(std::iter::once(&self.not_found))
    }

    /// The rarely read output `key` if it is cached (no render).
    pub fn cached(&self, key: &ColdKey) -> Option<Arc<Output>> {
        match key {
            ColdKey::Chart(..) => self
                .charts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(key)
                .cloned(),
            _ => self.cold.get(key),
        }
    }

    /// The rarely read output `key`: from the cache, or rendered from the model now (and
    /// cached). `None` when the page has no such output.
    pub fn cold_output(&self, key: &ColdKey) -> Option<Arc<Output>> {
        if let ColdKey::Chart(..) = key {
            let mut charts = self.charts.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(o) = charts.get(key) {
                return Some(o.clone());
            }
            let o = render_cold(&self.source, key)?;
            charts.insert(key.clone(), o.clone());
            return Some(o);
        }
        if let Some(o) = self.cold.get(key) {
            return Some(o);
        }
        let o = render_cold(&self.source, key)?;
        self.cold.put(key.clone(), self.version, o.clone());
        Some(o)
    }
}

/// The current snapshots, indexed every way a request can name a page.
#[derive(Debug, Default)]
pub struct Index {
    /// By page id.
    pub by_id: HashMap<String, Arc<PageSnapshot>>,
    /// By slug.
    pub by_slug: HashMap<String, Arc<PageSnapshot>>,
    /// By custom domain.
    pub by_domain: HashMap<String, Arc<PageSnapshot>>,
    /// The page served at `/`.
    pub default: Option<Arc<PageSnapshot>>,
}

/// Every page's current snapshot, readable without locks.
#[derive(Debug)]
pub struct Snapshots {
    index: ArcSwap<Index>,
    writer: std::sync::Mutex<()>,
    /// The configured default page (id or slug).
    default_page: Option<String>,
}

/// A snapshot's age, for the metrics endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotAge {
    /// The page's id.
    pub page_id: String,
    /// Its slug.
    pub slug: String,
    /// The version shown.
    pub version: i64,
    /// Seconds since the snapshot was last known to be current.
    pub age_seconds: f64,
}

impl Snapshots {
    /// No snapshots yet. `default_page` (id or slug) names the page served at `/`; without
    /// it, `/` serves the only page that is not hidden.
    pub fn new(default_page: Option<String>) -> Self {
        Self {
            index: ArcSwap::from_pointee(Index::default()),
            writer: std::sync::Mutex::new(()),
            default_page,
        }
    }

    /// The current index (a cheap, lock-free load).
    pub fn load(&self) -> arc_swap::Guard<Arc<Index>> {
        self.index.load()
    }

    /// The snapshot of one page.
    pub fn get(&self, page_id: &str) -> Option<Arc<PageSnapshot>> {
        self.index.load().by_id.get(page_id).cloned()
    }

    /// Installs `snap`, unless a newer version of the page is already in place.
    pub fn install(&self, snap: PageSnapshot) {
        self.install_arc(Arc::new(snap));
    }

    /// Installs `snap`, unless a newer version of the page is already in place.
    pub fn install_arc(&self, snap: Arc<PageSnapshot>) {
        self.update(|by_id| {
            let newer = by_id
                .get(&snap.page_id)
                .is_some_and(|cur| cur.version > snap.version);
            if !newer {
                by_id.insert(snap.page_id.clone(), snap.clone());
            }
        });
    }

    /// Puts `new` in place of `old` if `old` is still the page's snapshot (a newer render
    /// may have replaced it meanwhile; then nothing changes). Returns whether it did.
    pub fn replace(&self, old: &Arc<PageSnapshot>, new: Arc<PageSnapshot>) -> bool {
        let mut replaced = false;
        self.update(|by_id| {
            if by_id
                .get(&old.page_id)
                .is_some_and(|cur| Arc::ptr_eq(cur, old))
            {
                by_id.insert(new.page_id.clone(), new);
                replaced = true;
            }
        });
        replaced
    }

    /// Drops the snapshot of a page that no longer exists.
    pub fn remove(&self, page_id: &str) {
        self.update(|by_id| {
            by_id.remove(page_id);
        });
    }

    fn update(&self, change: impl FnOnce(&mut HashMap<String, Arc<PageSnapshot>>)) {
        let _guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut by_id = self.index.load().by_id.clone();
        change(&mut by_id);
        let mut by_slug = HashMap::with_capacity(by_id.len());
        let mut by_domain = HashMap::new();
        for s in by_id.values() {
            by_slug.insert(s.slug.clone(), s.clone());
            if let Some(d) = &s.domain {
                by_domain.insert(d.clone(), s.clone());
            }
        }
        let default = match &self.default_page {
            Some(want) => by_id.get(want).or_else(|| by_slug.get(want)).cloned(),
            None => {
                let mut visible = by_id.values().filter(|s| !s.hidden);
                match (visible.next(), visible.next()) {
                    (Some(only), None) => Some(only.clone()),
                    _ => None,
                }
            }
        };
        self.index.store(Arc::new(Index {
            by_id,
            by_slug,
            by_domain,
            default,
        }));
    }

    /// Each page's snapshot age at `now`: what `/metrics` exports.
    pub fn ages(&self, now: DateTime<Utc>) -> Vec<SnapshotAge> {
        let mut v: Vec<SnapshotAge> = self
            .index
            .load()
            .by_id
            .values()
            .map(|s| SnapshotAge {
                page_id: s.page_id.clone(),
                slug: s.slug.clone(),
                version: s.version,
                age_seconds: ((now - s.checked_at()).num_milliseconds().max(0)) as f64 / 1000.0,
            })
            .collect();
        v.sort_by(|a, b| a.slug.cmp(&b.slug));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::public::cold::ColdCache;
    use crate::public::model::Model;
    use axum::http::StatusCode;
    use herald_domain::clock::from_ms;

    fn page(version: i64) -> herald_domain::page::Page {
        herald_domain::page::Page {
            id: "pageid".into(),
            slug: "acme".into(),
            name: "Acme".into(),
            domain: Some("status.acme.example".into()),
            zone: herald_domain::time::PageZone::UTC,
            settings: Default::default(),
            hidden: false,
            version,
            created_at: from_ms(0),
            updated_at: from_ms(0),
        }
    }

    fn snapshot(version: i64, at: i64) -> PageSnapshot {
        let o = Arc::new(Output::new(Kind::Json, StatusCode::OK, Vec::new(), true));
        let model = Model::new(herald_store::PageState {
            page: page(version),
            components: Vec::new(),
            incidents: Vec::new(),
            log: Vec::new(),
        });
        let source = Source::new(&model, from_ms(at), "http://h", Default::default());
        let hot = Hot {
            outputs: HashMap::new(),
            not_found: o.clone(),
            api_not_found: o,
        };
        let cold = Arc::new(ColdPage::new("pageid", Arc::new(ColdCache::new(1 << 20))));
        PageSnapshot::new(Arc::new(source), hot, cold)
    }

    #[test]
    fn snapshots_are_indexed_aged_and_never_go_back() {
        let snaps = Snapshots::new(None);
        snaps.install(snapshot(3, 1_000));
        let index = snaps.load();
        assert!(index.by_slug.contains_key("acme"));
        assert!(index.by_domain.contains_key("status.acme.example"));
        assert!(index.default.is_some(), "the only page is the default page");
        assert_eq!(snaps.ages(from_ms(4_000))[0].age_seconds, 3.0);
        snaps.get("pageid").unwrap().mark_checked(from_ms(3_500));
        assert_eq!(snaps.ages(from_ms(4_000))[0].age_seconds, 0.5);
        snaps.install(snapshot(2, 5_000));
        assert_eq!(
            snaps.get("pageid").unwrap().version,
            3,
            "an older render lost the race"
        );
        snaps.remove("pageid");
        assert!(snaps.ages(from_ms(0)).is_empty());
        let configured = Snapshots::new(Some("other".into()));
        configured.install(snapshot(1, 0));
        assert!(
            configured.load().default.is_none(),
            "the configured default is not this page"
        );
    }
}
