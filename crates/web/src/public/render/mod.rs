//! Rendering a page's outputs from its in-memory model ([`Source`], a [`Model`] at a moment)
//! with no I/O. The outputs every request may ask for (the home page, the v2 documents, the
//! feeds, the badge) are rendered whenever the page changes ([`render_hot`]); outputs whose
//! bytes did not change are reused from the previous snapshot, compressed variants included.
//! The rarely read ones (incident pages, history and uptime months) are rendered one at a
//! time, when asked for ([`render_cold`], `super::cold`).

mod assets;
mod bars;
pub mod charts;
mod feeds;
pub(crate) mod html;
mod html_pages;
mod rows;
mod timeline;
mod v2;

pub use assets::{Assets, css_path};
pub use v2::LIST_CAP;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use herald_domain::component::Component;
use herald_domain::incident::{Incident, IncidentKind};
use herald_domain::page::Page;
use herald_domain::status::{IncidentStatus, PageStatus, RollupInput, page_status};
use herald_domain::uptime::UptimeWeights;
use std::collections::HashMap;
use std::sync::Arc;

use super::cold::ColdKey;
use super::fragments::{self, Fragment, Pieces};
use super::model::{Charted, Held, Histories, Model, Revs};
use super::snapshot::{Kind, Output, PageSnapshot};

/// Months of uptime history `/uptime` offers (three per page).
pub const UPTIME_MONTHS: u32 = 12;
/// Months per `/history` or `/uptime` page.
pub const MONTHS_PER_PAGE: u32 = 3;
/// Most `/history` pages.
pub const MAX_HISTORY_PAGES: u32 = 40;

/// A page's model at a moment: everything its outputs show.
#[derive(Debug, Clone)]
pub struct Source {
    /// The page.
    pub page: Page,
    /// Components and groups in display order, group statuses derived.
    pub components: Arc<Vec<Component>>,
    /// Incidents and maintenances, newest first.
    pub incidents: Arc<Vec<Arc<Held>>>,
    /// Each component's status history, oldest first.
    pub histories: Arc<Histories>,
    /// Revisions of the page's fields and the components.
    pub revs: Revs,
    /// The displayed metrics with their chart data.
    pub metrics: Arc<Vec<Arc<Charted>>>,
    /// The metrics' data revision the model read.
    pub metrics_rev: i64,
    /// The time of the render.
    pub now: DateTime<Utc>,
    /// Herald's public base URL.
    pub base_url: String,
    /// Uptime weights.
    pub weights: UptimeWeights,
    /// The page's overall status.
    pub status: PageStatus,
}

impl Source {
    /// `model` at `now`. `weights` are the instance's, used unless the page has its own.
    pub fn new(
        model: &Model,
        now: DateTime<Utc>,
        base_url: &str,
        weights: UptimeWeights,
    ) -> Source {
        let status = page_status(&RollupInput {
            components: model
                .components
                .iter()
                .filter(|c| !c.is_group)
                .map(|c| c.status)
                .collect(),
            open_incident_impacts: model
                .incidents
                .iter()
                .filter(|i| i.kind == IncidentKind::Realtime && i.is_open())
                .map(|i| i.impact)
                .collect(),
            maintenance_in_progress: model.incidents.iter().any(|i| in_progress(i)),
        });
        Source {
            page: model.page.clone(),
            components: model.components.clone(),
            incidents: model.incidents.clone(),
            histories: model.histories.clone(),
            revs: model.revs,
            metrics: model.metrics.clone(),
            metrics_rev: model.metrics_rev,
            now,
            base_url: base_url.to_owned(),
            // The page's own weights, if it set them, else the instance's.
            weights: model.page.settings.uptime_weights.unwrap_or(weights),
            status,
        }
    }

    /// The model this source shows.
    pub fn model(&self) -> Model {
        Model {
            page: self.page.clone(),
            components: self.components.clone(),
            incidents: self.incidents.clone(),
            histories: self.histories.clone(),
            revs: self.revs,
            metrics: self.metrics.clone(),
            metrics_rev: self.metrics_rev,
        }
    }

    /// The page's public address.
    pub fn page_url(&self) -> String {
        self.page.public_url(&self.base_url)
    }

    /// An incident's public address.
    pub fn incident_url(&self, id: &str) -> String {
        format!("{}/incidents/{id}", self.page_url())
    }

    /// Whether the page is private (team members only): then nothing is published.
    pub fn is_private(&self) -> bool {
        self.page.settings.viewers_must_be_team_members
    }

    /// The incident `id`.
    pub fn incident(&self, id: &str) -> Option<&Incident> {
        self.incidents
            .iter()
            .find(|i| i.id == id)
            .map(|i| &i.incident)
    }
}

/// Builds outputs, reusing those of the previous snapshot whose bytes are unchanged.
struct Builder {
    previous: HashMap<(String, u16), Arc<Output>>,
}

impl Builder {
    fn new(prev: Option<&PageSnapshot>) -> Self {
        let previous = prev
            .map(|p| {
                p.all_outputs()
                    .map(|o| ((o.tag.clone(), o.status.as_u16()), o.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Self { previous }
    }

    fn output(&self, kind: Kind, status: StatusCode, body: Vec<u8>) -> Arc<Output> {
        let tag = super::snapshot::tag_of(&body);
        if let Some(o) = self.previous.get(&(tag, status.as_u16())) {
            return o.clone();
        }
        Arc::new(Output::new(kind, status, body, true))
    }

    /// The output `parts` make: the previous render's if it had the same (as made then, or
    /// as settled since), else assembled now.
    fn assembled(&self, kind: Kind, status: StatusCode, parts: &[Arc<Fragment>]) -> Arc<Output> {
        let digest = fragments::digest(parts);
        let tag = super::output::tag_of_digest(&digest);
        if let Some(o) = self.previous.get(&(tag, status.as_u16())) {
            return o.clone();
        }
        Arc::new(fragments::assemble_digested(kind, status, parts, &digest))
    }
}

/// The outputs rendered whenever the page changes.
#[derive(Debug)]
pub struct Hot {
    /// Fixed paths (`/`, `/api/v2/summary.json`, ...) to outputs.
    pub outputs: HashMap<String, Arc<Output>>,
    /// The page's own 404 page.
    pub not_found: Arc<Output>,
    /// 404 under `/api/`.
    pub api_not_found: Arc<Output>,
}

/// Renders the outputs every request may ask for, reusing those of `prev` whose bytes are
/// unchanged and, for the large ones, the unchanged pieces in `pieces` (kept from the page's
/// previous render). A private page publishes nothing.
pub fn render_hot(
    src: &Source,
    prev: Option<&PageSnapshot>,
    assets: &Assets,
    pieces: &Pieces,
) -> Hot {
    let mut outputs = HashMap::new();
    if src.is_private() {
        return Hot {
            outputs,
            not_found: assets.private.clone(),
            api_not_found: assets.private.clone(),
        };
    }
    let b = Builder::new(prev);
    for (path, parts) in v2::documents(src, pieces) {
        let out = b.assembled(Kind::Json, StatusCode::OK, &parts);
        outputs.insert(path.to_owned(), out);
    }
    let (parts, style) = html::index(src, pieces);
    let index = b.assembled(Kind::Html(style), StatusCode::OK, &parts);
    outputs.insert("/".to_owned(), index.clone());
    outputs.insert("/index.html".to_owned(), index);
    if src.page.settings.allow_rss_atom_feeds {
        let feed =
            |kind: Kind, parts: Vec<Arc<Fragment>>| b.assembled(kind, StatusCode::OK, &parts);
        outputs.insert(
            "/history.atom".to_owned(),
            feed(Kind::Atom, feeds::atom(src, pieces)),
        );
        outputs.insert(
            "/history.rss".to_owned(),
            feed(Kind::Rss, feeds::rss(src, pieces)),
        );
    }
    outputs.insert(
        "/badge.svg".to_owned(),
        b.output(Kind::Svg, StatusCode::OK, assets::badge(src).into_bytes()),
    );
    outputs.insert("/embed/script.js".to_owned(), assets.embed.clone());
    outputs.insert(
        "/embed/config.json".to_owned(),
        b.output(
            Kind::Json,
            StatusCode::OK,
            crate::api::v1::embed::public_config(&src.page),
        ),
    );
    pieces.end_render();
    let (body, style) = html::not_found(src);
    Hot {
        outputs,
        not_found: b.output(Kind::Html(style), StatusCode::NOT_FOUND, body.into_bytes()),
        api_not_found: assets.api_not_found.clone(),
    }
}

/// How many `/history` pages there are.
pub fn history_pages(src: &Source) -> u32 {
    html_pages::history_pages(src)
}

/// Renders one rarely read output; `None` when there is no such output (an unknown incident,
/// a page number past the last). Private pages have none.
pub fn render_cold(src: &Source, key: &ColdKey) -> Option<Arc<Output>> {
    if src.is_private() {
        return None;
    }
    let html = |(body, style): (String, String)| {
        Arc::new(Output::compact(
            Kind::Html(style),
            StatusCode::OK,
            body.into_bytes(),
        ))
    };
    match key {
        ColdKey::Incident(id) => src.incident(id).map(|i| html(html_pages::incident(src, i))),
        ColdKey::History(n) => (1..=history_pages(src))
            .contains(n)
            .then(|| html(html_pages::history(src, *n))),
        ColdKey::Uptime(n) => (1..=UPTIME_MONTHS / MONTHS_PER_PAGE)
            .contains(n)
            .then(|| html(html_pages::uptime(src, *n))),
        ColdKey::Chart(id, period, json) => {
            let c = src.metrics.iter().find(|c| c.metric.id == *id)?;
            let (kind, body) = if *json {
                (Kind::Json, charts::json(src, c, *period))
            } else {
                (Kind::Svg, charts::svg_document(src, c, *period))
            };
            Some(Arc::new(Output::compact(kind, StatusCode::OK, body)))
        }
    }
}

/// Every rarely read output `src` has.
pub fn cold_keys(src: &Source) -> Vec<ColdKey> {
    if src.is_private() {
        return Vec::new();
    }
    let mut keys: Vec<ColdKey> = src
        .incidents
        .iter()
        .map(|i| ColdKey::Incident(i.id.clone()))
        .collect();
    keys.extend((1..=history_pages(src)).map(ColdKey::History));
    keys.extend((1..=UPTIME_MONTHS / MONTHS_PER_PAGE).map(ColdKey::Uptime));
    keys
}

/// Whether an incident is a maintenance that is under way.
pub(crate) fn in_progress(i: &Incident) -> bool {
    matches!(
        i.status,
        IncidentStatus::InProgress | IncidentStatus::Verifying
    )
}
