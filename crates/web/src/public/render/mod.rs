//! Rendering a page's snapshot: load everything the public outputs show in a few reads
//! ([`Source::load`]), then turn it into bytes with no further I/O ([`render`]). Outputs whose
//! bytes did not change since the previous snapshot are reused as they are, compressed
//! variants included, so a write re-renders a page in a few milliseconds.

mod assets;
mod bars;
mod feeds;
pub(crate) mod html;
mod html_pages;
mod memo;
mod v2;

pub use assets::{Assets, css_path};
pub use v2::LIST_CAP;

use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::component::Component;
use herald_domain::incident::{Incident, IncidentKind};
use herald_domain::page::Page;
use herald_domain::status::{IncidentStatus, PageStatus, RollupInput, page_status};
use herald_domain::uptime::UptimeWeights;
use herald_store::{IncidentQuery, StatusLogEntry, Store, StoreError};
use std::collections::HashMap;
use std::sync::Arc;

use super::snapshot::{Kind, Output, PageSnapshot};

/// Most incidents a snapshot holds (history pages, incident pages, feeds).
pub const MAX_INCIDENTS: i64 = 1000;
/// Months of uptime history `/uptime` offers (three per page).
pub const UPTIME_MONTHS: u32 = 12;
/// Months per `/history` or `/uptime` page.
pub const MONTHS_PER_PAGE: u32 = 3;
/// Most `/history` pages.
pub const MAX_HISTORY_PAGES: u32 = 40;

/// Everything a page's public outputs show, read from the store.
#[derive(Debug, Clone)]
pub struct Source {
    /// The page.
    pub page: Page,
    /// Components and groups in display order, group statuses derived.
    pub components: Vec<Component>,
    /// Incidents and maintenances, newest first.
    pub incidents: Vec<Incident>,
    /// Status changes since the oldest day shown, oldest first.
    pub log: Vec<StatusLogEntry>,
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
    /// Reads page `page_id` (its version first, so a change racing this read is never
    /// missed: it bumps the version past the snapshot's). `None` if the page is gone.
    ///
    /// The page, its components, incidents and status log are separate reads; a write that
    /// commits between them would mix two states in one snapshot (a new incident listed on
    /// a page whose status and `updated` are from before it). So the version is read again
    /// after them, and the reads are redone while it moved: every write bumps it in its own
    /// transaction, so an unchanged version means no write landed in between. After a few
    /// tries under a stream of writes the last reads stand; the next render follows them.
    pub async fn load(
        store: &Store,
        page_id: &str,
        now: DateTime<Utc>,
        base_url: &str,
        weights: UptimeWeights,
    ) -> Result<Option<Source>, StoreError> {
        let mut tries = 0;
        loop {
            let Some(source) = Self::read(store, page_id, now, base_url, weights).await? else {
                return Ok(None);
            };
            tries += 1;
            if tries >= 5 || store.page_version(page_id).await? == Some(source.page.version) {
                return Ok(Some(source));
            }
        }
    }

    /// One read of everything [`Source::load`] reads.
    async fn read(
        store: &Store,
        page_id: &str,
        now: DateTime<Utc>,
        base_url: &str,
        weights: UptimeWeights,
    ) -> Result<Option<Source>, StoreError> {
        let Some(page) = store.get_page(page_id).await? else {
            return Ok(None);
        };
        let components = store.list_components(page_id).await?;
        let incidents = store
            .list_incidents(
                page_id,
                &IncidentQuery {
                    limit: MAX_INCIDENTS,
                    ..IncidentQuery::default()
                },
            )
            .await?;
        let since = now - TimeDelta::days(i64::from(UPTIME_MONTHS) * 31 + 1);
        let log = store.status_log(page_id, since).await?;
        let status = page_status(&RollupInput {
            components: components
                .iter()
                .filter(|c| !c.is_group)
                .map(|c| c.status)
                .collect(),
            open_incident_impacts: incidents
                .iter()
                .filter(|i| i.kind == IncidentKind::Realtime && i.is_open())
                .map(|i| i.impact)
                .collect(),
            maintenance_in_progress: incidents.iter().any(|i| {
                matches!(
                    i.status,
                    IncidentStatus::InProgress | IncidentStatus::Verifying
                )
            }),
        });
        // The page's own weights, if it set them, else the instance's.
        let weights = page.settings.uptime_weights.unwrap_or(weights);
        Ok(Some(Source {
            page,
            components,
            incidents,
            log,
            now,
            base_url: base_url.to_owned(),
            weights,
            status,
        }))
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
}

/// Renders every public output of `src`. Unless `force`, secondary pages whose content
/// cannot have changed are taken from `prev` as they are.
pub fn render(
    src: &Source,
    prev: Option<&PageSnapshot>,
    assets: &Assets,
    force: bool,
) -> PageSnapshot {
    let b = Builder::new(prev);
    let prints = memo::Prints::new(src);
    let mut memo = memo::Memo::new(prev, force);
    let mut outputs = HashMap::new();
    let mut history = Vec::new();
    let mut uptime = Vec::new();
    let mut incidents = HashMap::new();
    if src.is_private() {
        return PageSnapshot::new(
            &src.page,
            src.now,
            outputs,
            history,
            uptime,
            incidents,
            assets.private.clone(),
            assets.private.clone(),
        );
    }
    let html = |(body, style): (String, String)| {
        b.output(Kind::Html(style), StatusCode::OK, body.into_bytes())
    };
    for (path, json) in v2::documents(src) {
        outputs.insert(path.to_owned(), b.output(Kind::Json, StatusCode::OK, json));
    }
    let index = html(html::index(src));
    outputs.insert("/".to_owned(), index.clone());
    outputs.insert("/index.html".to_owned(), index);
    if src.page.settings.allow_rss_atom_feeds {
        outputs.insert(
            "/history.atom".to_owned(),
            b.output(Kind::Atom, StatusCode::OK, feeds::atom(src).into_bytes()),
        );
        outputs.insert(
            "/history.rss".to_owned(),
            b.output(Kind::Rss, StatusCode::OK, feeds::rss(src).into_bytes()),
        );
    }
    outputs.insert(
        "/badge.svg".to_owned(),
        b.output(Kind::Svg, StatusCode::OK, assets::badge(src).into_bytes()),
    );
    outputs.insert("/embed/script.js".to_owned(), assets.embed.clone());
    let key = prints.history(src);
    for n in 1..=html_pages::history_pages(src) {
        let i = n as usize - 1;
        history.push(memo.get(
            format!("history:{n}"),
            key,
            |p| p.history.get(i),
            || html(html_pages::history(src, n)),
        ));
    }
    let key = prints.uptime(src);
    for n in 1..=UPTIME_MONTHS / MONTHS_PER_PAGE {
        let i = n as usize - 1;
        uptime.push(memo.get(
            format!("uptime:{n}"),
            key,
            |p| p.uptime.get(i),
            || html(html_pages::uptime(src, n)),
        ));
    }
    if let Some(first) = uptime.first() {
        outputs.insert("/uptime".to_owned(), first.clone());
    }
    if let Some(first) = history.first() {
        outputs.insert("/history".to_owned(), first.clone());
    }
    for i in &src.incidents {
        let out = memo.get(
            format!("incident:{}", i.id),
            prints.incident(i),
            |p| p.incidents.get(&i.id),
            || html(html_pages::incident(src, i)),
        );
        incidents.insert(i.id.clone(), out);
    }
    let (body, style) = html::not_found(src);
    let not_found = b.output(Kind::Html(style), StatusCode::NOT_FOUND, body.into_bytes());
    let mut snap = PageSnapshot::new(
        &src.page,
        src.now,
        outputs,
        history,
        uptime,
        incidents,
        not_found,
        assets.api_not_found.clone(),
    );
    snap.keys = memo.keys;
    snap
}

/// Whether an incident is a maintenance that is under way.
pub(crate) fn in_progress(i: &Incident) -> bool {
    matches!(
        i.status,
        IncidentStatus::InProgress | IncidentStatus::Verifying
    )
}
