//! Reads for the nodes' in-memory models of public pages (`web/src/public/model.rs`): a page
//! in full ([`Store::page_state`]), or only what changed since a version the node holds
//! ([`Store::page_delta`], from `page_changes`, which every write on a page fills in). Each
//! is one read transaction, so a model never mixes two states of the page.

use chrono::{DateTime, Utc};
use herald_domain::component::Component;
use herald_domain::id::PageId;
use herald_domain::incident::Incident;
use herald_domain::page::Page;
use std::collections::BTreeSet;

use crate::columns::cols;
use crate::components::{ComponentRow, rows_to_components, to_components};
use crate::db::{One, Reads, SqlBuilder, args};
use crate::incidents::{IncidentRow, Timelines, attach};
use crate::pages::PageRow;
use crate::status_log::{StatusLogEntry, log_since};
use crate::{Result, Store};

/// Everything a page's public outputs show.
#[derive(Debug, Clone)]
pub struct PageState {
    /// The page (its `version` is the state's).
    pub page: Page,
    /// Components and groups in display order, group statuses derived.
    pub components: Vec<Component>,
    /// Every incident and maintenance, newest first (created, then id, descending).
    pub incidents: Vec<Incident>,
    /// The status history from `since` on, oldest first, preceded by each component's last
    /// change before `since`.
    pub log: Vec<StatusLogEntry>,
}

/// What changed on a page since a version.
#[derive(Debug, Clone)]
pub enum PageDelta {
    /// The page no longer exists.
    Gone,
    /// Nothing: the page is still at that version.
    Unchanged,
    /// The changes cannot be told from `page_changes` (a write said "anything", or the rows
    /// are pruned, or a version has none): read the page in full.
    Reload,
    /// These changes bring the page from the version to `page.version`.
    Changes(Box<Changes>),
}

/// The parts of a page that changed between two versions.
#[derive(Debug, Clone)]
pub struct Changes {
    /// The page row now (its version is the new one).
    pub page: Page,
    /// Every component, when their set, order or grouping changed.
    pub components: Option<Vec<Component>>,
    /// Otherwise, the rows of the components that changed (groups' statuses not derived).
    pub component_rows: Vec<Component>,
    /// The incidents that changed: `None` for one that was deleted.
    pub incidents: Vec<(String, Option<Incident>)>,
    /// Status history rows written since the version, oldest first.
    pub log: Vec<StatusLogEntry>,
    /// The page's metrics (their set or definitions) changed.
    pub metrics: bool,
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    version: i64,
    target: String,
}

async fn page_row(r: &mut Reads<'_>, page_id: &str) -> Result<Option<Page>> {
    let rows: Vec<PageRow> = r
        .fetch_all(
            concat!("SELECT ", cols!(pages), " FROM pages WHERE id = $1"),
            args![page_id],
        )
        .await?;
    rows.into_iter().next().map(PageRow::into_page).transpose()
}

async fn components(r: &mut Reads<'_>, page_id: &str) -> Result<Vec<Component>> {
    let rows: Vec<ComponentRow> = r
        .fetch_all(
            concat!(
                "SELECT ",
                cols!(components),
                " FROM components WHERE page_id = $1"
            ),
            args![page_id],
        )
        .await?;
    to_components(rows)
}

impl Store {
    /// Everything page `page_id`'s public outputs show, its status history from `since`.
    /// `None` if the page does not exist.
    pub async fn page_state(
        &self,
        page_id: &PageId,
        since: DateTime<Utc>,
    ) -> Result<Option<PageState>> {
        let mut tx = self.db.snapshot().await?;
        let mut r = Reads::Snapshot(&mut tx);
        let Some(page) = page_row(&mut r, page_id.as_str()).await? else {
            return Ok(None);
        };
        let components = components(&mut r, page_id.as_str()).await?;
        let rows: Vec<IncidentRow> = r
            .fetch_all(
                concat!(
                    "SELECT ",
                    cols!(incidents),
                    " FROM incidents WHERE page_id = $1 ORDER BY created_at DESC, id DESC"
                ),
                args![page_id],
            )
            .await?;
        let incidents = attach(&mut r, rows, Timelines::OfPage(page_id.as_str())).await?;
        let log = log_since(&mut r, page_id.as_str(), since).await?;
        tx.finish().await?;
        Ok(Some(PageState {
            page,
            components,
            incidents,
            log,
        }))
    }

    /// What changed on page `page_id` since `version`.
    pub async fn page_delta(&self, page_id: &PageId, version: i64) -> Result<PageDelta> {
        let mut tx = self.db.snapshot().await?;
        let mut r = Reads::Snapshot(&mut tx);
        let Some(page) = page_row(&mut r, page_id.as_str()).await? else {
            return Ok(PageDelta::Gone);
        };
        if page.version <= version {
            return Ok(PageDelta::Unchanged);
        }
        let rows: Vec<ChangeRow> = r
            .fetch_all(
                "SELECT version, target FROM page_changes WHERE page_id = $1 AND version > $2 \
                 AND version <= $3 ORDER BY version",
                args![page_id, version, page.version],
            )
            .await?;
        // Every version in between must have said what it changed.
        let said: BTreeSet<i64> = rows.iter().map(|c| c.version).collect();
        if said.len() as i64 != page.version - version || rows.iter().any(|c| c.target == "*") {
            return Ok(PageDelta::Reload);
        }
        let mut incident_ids = BTreeSet::new();
        let mut component_ids = BTreeSet::new();
        let mut any_component = false;
        let mut metrics = false;
        for c in &rows {
            if c.target == "metrics" {
                metrics = true;
            } else if c.target == "components" {
                any_component = true;
            } else if let Some(id) = c.target.strip_prefix("incident:") {
                incident_ids.insert(id.to_owned());
            } else if let Some(id) = c.target.strip_prefix("component:") {
                component_ids.insert(id.to_owned());
            }
        }
        let (components, component_rows) = if any_component {
            (
                Some(components(&mut r, page_id.as_str()).await?),
                Vec::new(),
            )
        } else if component_ids.is_empty() {
            (None, Vec::new())
        } else {
            let mut sql = SqlBuilder::new(concat!(
                "SELECT ",
                cols!(components),
                " FROM components WHERE page_id = "
            ));
            sql.bind(page_id)
                .push(" AND id IN ")
                .bind_list(component_ids.iter());
            let (text, a) = sql.finish();
            let rows: Vec<ComponentRow> = r.fetch_all(text, a).await?;
            (None, rows_to_components(rows)?)
        };
        let mut incidents = Vec::with_capacity(incident_ids.len());
        for id in incident_ids {
            let rows: Vec<IncidentRow> = r
                .fetch_all(
                    concat!(
                        "SELECT ",
                        cols!(incidents),
                        " FROM incidents WHERE id = $1 AND page_id = $2"
                    ),
                    args![&id, page_id],
                )
                .await?;
            let found = attach(&mut r, rows, Timelines::OfRows).await?.pop();
            incidents.push((id, found));
        }
        let log =
            crate::status_log::log_after(&mut r, page_id.as_str(), version, page.version).await?;
        tx.finish().await?;
        Ok(PageDelta::Changes(Box::new(Changes {
            page,
            components,
            component_rows,
            incidents,
            log,
            metrics,
        })))
    }

    /// The oldest version of page `page_id` whose changes are still recorded (for tests of
    /// the pruning).
    pub async fn oldest_recorded_change(&self, page_id: &PageId) -> Result<Option<i64>> {
        let row: Option<One<Option<i64>>> = self
            .db
            .read_opt(
                "SELECT MIN(version) AS v FROM page_changes WHERE page_id = $1",
                args![page_id],
            )
            .await?;
        Ok(row.and_then(|r| r.v))
    }
}
