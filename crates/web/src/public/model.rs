//! A page's public model, kept in memory and brought up to date by deltas.
//!
//! [`Model`] holds everything a page's public outputs show: the page, its components, every
//! incident and maintenance, and each component's status history. It is read from the
//! database in full once ([`Model::load`]), and after that each write is applied as a delta
//! ([`Model::apply`], from `Store::page_delta`): the incidents it touched, the components if
//! any changed, the status history rows it added. Nothing the write did not change is read
//! again, so a write costs the same on a page with ten years of history as on a new one.
//!
//! A model is immutable and cheap to share: its parts are behind `Arc`s, and a delta makes a
//! new model that shares every part it did not change with the old one (a snapshot being
//! served keeps the model it was rendered from). [`Change`] says what a delta changed, so
//! the publisher re-renders only the outputs that show it.

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::component::{Component, derive_group_statuses};
use herald_domain::id::PageId;
use herald_domain::incident::Incident;
use herald_domain::metric::Metric;
use herald_domain::page::Page;
use herald_domain::uptime::StatusChange;
use herald_store::{Changes, ChartData, PageState, StatusLogEntry, Store, StoreError};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::render::UPTIME_MONTHS;

/// Each component's status changes, oldest first.
pub type Histories = HashMap<String, Arc<Vec<StatusChange>>>;

/// A revision number no other state of any part of any model in this process shares: what
/// caches of rendered pieces are keyed by (never a pointer, which a later value may reuse).
fn next_rev() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// An incident as a model holds it, with its revision.
#[derive(Debug)]
pub struct Held {
    /// The incident.
    pub incident: Incident,
    /// Its revision: a new one whenever the incident is read anew.
    pub rev: u64,
    /// Hashes of what each run of its timeline shows (`render::timeline`), computed once.
    pub runs: std::sync::OnceLock<Vec<u64>>,
}

impl Held {
    fn new(incident: Incident) -> Arc<Held> {
        Arc::new(Held {
            incident,
            rev: next_rev(),
            runs: std::sync::OnceLock::new(),
        })
    }
}

impl std::ops::Deref for Held {
    type Target = Incident;

    fn deref(&self) -> &Incident {
        &self.incident
    }
}

/// A displayed metric with what its charts show (read at `read_at`).
#[derive(Debug)]
pub struct Charted {
    /// The metric's definition.
    pub metric: Metric,
    /// Its day points and week and month rollups.
    pub data: ChartData,
}

/// Revisions of the parts of a model that every rendered incident shows: the page's own
/// fields (zone, address) and the components (names, statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Revs {
    /// Of the page's fields.
    pub page: u64,
    /// Of the components.
    pub components: u64,
}

/// Everything a page's public outputs show, at one version.
#[derive(Debug, Clone)]
pub struct Model {
    /// The page; its `version` is the model's.
    pub page: Page,
    /// Components and groups in display order, group statuses derived.
    pub components: Arc<Vec<Component>>,
    /// Every incident and maintenance, newest first (created, then id, descending).
    pub incidents: Arc<Vec<Arc<Held>>>,
    /// Each component's status history, oldest first, from about a year before the model
    /// was loaded.
    pub histories: Arc<Histories>,
    /// Revisions of the page's fields and of the components.
    pub revs: Revs,
    /// The displayed metrics, in display order, with their chart data.
    pub metrics: Arc<Vec<Arc<Charted>>>,
    /// The sum of the page's metrics' `data_rev` when they were read (-1: never read).
    pub metrics_rev: i64,
}

/// An incident touched by a delta: as it was, and as it is (`None`: absent).
pub type Touched = (Option<Arc<Held>>, Option<Arc<Held>>);

/// What a delta changed, for deciding which outputs to render again.
#[derive(Debug, Default)]
pub struct Change {
    /// The page's own fields (name, branding, settings, zone), not just its version.
    pub page: bool,
    /// Components or groups, beyond their statuses (names, order, grouping, settings).
    pub structure: bool,
    /// Components whose status changed.
    pub statuses: Vec<String>,
    /// The incidents touched: as they were, and as they are (`None`: absent).
    pub incidents: Vec<Touched>,
    /// Status history rows added.
    pub log: Vec<StatusLogEntry>,
    /// The metrics' set or definitions.
    pub metrics: bool,
}

impl Change {
    /// Whether anything a public output shows changed beyond the page's version and time.
    pub fn is_empty(&self) -> bool {
        !self.page
            && !self.structure
            && self.statuses.is_empty()
            && self.incidents.is_empty()
            && self.log.is_empty()
            && !self.metrics
    }
}

/// How far back the status history of a freshly loaded model reaches: the oldest day
/// `/uptime` shows, and one more.
pub fn history_since(now: DateTime<Utc>) -> DateTime<Utc> {
    now - TimeDelta::days(i64::from(UPTIME_MONTHS) * 31 + 1)
}

fn histories(log: Vec<StatusLogEntry>) -> Histories {
    let mut by: HashMap<String, Vec<StatusChange>> = HashMap::new();
    for e in log {
        by.entry(e.component_id).or_default().push(StatusChange {
            at: e.at,
            status: e.status,
        });
    }
    by.into_iter().map(|(k, v)| (k, Arc::new(v))).collect()
}

/// The order of `incidents`: newest created first, then by id, descending.
fn newer_first(a: &Incident, b: &Incident) -> std::cmp::Ordering {
    (b.created_at, &b.id).cmp(&(a.created_at, &a.id))
}

/// The page's fields that its outputs show, without its version and last-write time.
fn page_fields(p: &Page) -> impl PartialEq + '_ {
    (
        &p.id,
        &p.slug,
        &p.name,
        &p.domain,
        p.zone.name(),
        &p.settings,
        p.hidden,
    )
}

/// A component without its status and last-change time.
fn structure(c: &Component) -> impl PartialEq + '_ {
    (
        &c.id,
        &c.name,
        &c.description,
        &c.group_id,
        c.is_group,
        c.position,
        c.showcase,
        c.only_show_if_degraded,
        c.start_date,
        c.created_at,
    )
}

impl Model {
    /// A model of everything in `state`.
    pub fn new(state: PageState) -> Model {
        Model {
            page: state.page,
            components: Arc::new(state.components),
            incidents: Arc::new(state.incidents.into_iter().map(Held::new).collect()),
            histories: Arc::new(histories(state.log)),
            revs: Revs {
                page: next_rev(),
                components: next_rev(),
            },
            metrics: Arc::new(Vec::new()),
            metrics_rev: -1,
        }
    }

    /// This model with its metrics read again at `now`: a metric whose points did not
    /// change since this model read them keeps its chart data.
    pub async fn with_metrics(
        mut self,
        store: &Store,
        now: DateTime<Utc>,
    ) -> Result<Model, StoreError> {
        let (rev, shown) = store.page_metric_defs(&self.page.id).await?;
        let mut metrics = Vec::with_capacity(shown.len());
        for m in shown {
            let held = self
                .metrics
                .iter()
                .find(|c| c.metric.id == m.id && c.metric.data_rev == m.data_rev);
            let data = match held {
                Some(c) => c.data.clone(),
                None => store.chart_data(&m.id, now).await?,
            };
            metrics.push(Arc::new(Charted { metric: m, data }));
        }
        self.metrics = Arc::new(metrics);
        self.metrics_rev = rev;
        Ok(self)
    }

    /// Reads page `page_id` in full at `now`; `None` if it does not exist.
    pub async fn load(
        store: &Store,
        page_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Model>, StoreError> {
        match store
            .page_state(&PageId::from(page_id), history_since(now))
            .await?
        {
            Some(state) => Ok(Some(Model::new(state).with_metrics(store, now).await?)),
            None => Ok(None),
        }
    }

    /// This model with `changes` applied, and what they changed.
    pub fn apply(&self, changes: Changes) -> (Model, Change) {
        let mut change = Change {
            page: page_fields(&self.page) != page_fields(&changes.page),
            metrics: changes.metrics,
            ..Change::default()
        };
        let mut next = Model {
            page: changes.page,
            ..self.clone()
        };
        if change.page {
            next.revs.page = next_rev();
        }
        let components = changes.components.or_else(|| {
            // Only some rows changed, in place: patch them in and derive the groups again.
            (!changes.component_rows.is_empty()).then(|| {
                let mut all: Vec<Component> = self.components.as_ref().clone();
                for row in changes.component_rows {
                    if let Some(c) = all.iter_mut().find(|c| c.id == row.id) {
                        *c = row;
                    }
                }
                derive_group_statuses(&mut all);
                all
            })
        });
        if let Some(components) = components {
            let old = &self.components;
            change.structure = old.len() != components.len()
                || old
                    .iter()
                    .zip(&components)
                    .any(|(a, b)| structure(a) != structure(b));
            change.statuses = components
                .iter()
                .filter(|c| {
                    old.iter()
                        .find(|o| o.id == c.id)
                        .is_none_or(|o| o.status != c.status)
                })
                .map(|c| c.id.clone())
                .collect();
            // A deleted component's history goes with it.
            if components.len() < old.len() {
                Arc::make_mut(&mut next.histories)
                    .retain(|id, _| components.iter().any(|c| c.id == *id));
            }
            next.components = Arc::new(components);
            next.revs.components = next_rev();
        }
        if !changes.incidents.is_empty() {
            let list = Arc::make_mut(&mut next.incidents);
            for (id, now) in changes.incidents {
                let before = list
                    .iter()
                    .position(|i| i.id == id)
                    .map(|at| list.remove(at));
                let after = now.map(Held::new);
                if let Some(i) = &after {
                    let at = list
                        .binary_search_by(|x| newer_first(x, i))
                        .unwrap_or_else(|at| at);
                    list.insert(at, i.clone());
                }
                change.incidents.push((before, after));
            }
        }
        if !changes.log.is_empty() {
            let h = Arc::make_mut(&mut next.histories);
            for e in &changes.log {
                // In time order, as a full load reads them, even when a later delta brings
                // an earlier change (writes commit in another order than their clocks').
                let v = Arc::make_mut(h.entry(e.component_id.clone()).or_default());
                let at = v.partition_point(|x| x.at <= e.at);
                v.insert(
                    at,
                    StatusChange {
                        at: e.at,
                        status: e.status,
                    },
                );
            }
            change.log = changes.log;
        }
        (next, change)
    }

    /// The page's version.
    pub fn version(&self) -> i64 {
        self.page.version
    }
}
