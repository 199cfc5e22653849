//! Bulk import (`herald import statuspage`): objects read from another Statuspage-compatible
//! API written with their ids, times and history kept.
//!
//! Each call is one resource in one transaction (a page, the component set, one incident with
//! its timeline, one template, one metrics provider or metric definition, one batch of
//! subscribers), so a run that is killed leaves only whole resources behind and a re-run
//! finds them by id and writes only what is missing or changed. Every write on the page
//! records `Touched::Everything`: imported history lands in the past, out of the order a
//! page model's deltas assume, so every node reloads the page.
//! Nothing here enqueues a job: an import sends no confirmation and no notification.
//!
//! `bulk.rs` is the exception to both: a page's subscriber list uploaded to the API or the
//! admin UI, written in one transaction through the same multi-row inserts, with new ids,
//! nothing public touched, and confirmations enqueued unless the upload skips them.

mod bulk;
mod incidents;
mod metrics;
mod subscribers;

pub use bulk::{BulkCreated, BulkImported};
pub use incidents::IncidentImport;
pub use subscribers::{ImportedSubscriber, SubscriberImport};

use chrono::{DateTime, Utc};
use herald_domain::actor::Actor;
use herald_domain::component::Component;
use herald_domain::id::PageId;
use herald_domain::page::{NewPage, Page, PageSettings};
use herald_domain::status::ComponentStatus;
use herald_domain::template::Template;
use serde_json::json;
use std::collections::HashMap;

use crate::columns::cols;
use crate::components::ComponentRow;
use crate::db::{SqlBuilder, Tx, args};
use crate::write::{Touched, Write};
use crate::{Result, Store, StoreError};

/// What became of one imported object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imported {
    /// It was not there: written.
    Created,
    /// It was there and differed: overwritten with the source's version.
    Updated,
    /// It was there as the source has it: nothing written.
    Unchanged,
}

/// Counts of one resource's import, and what was left out with the reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// `(id, why)` of each object not written.
    pub skipped: Vec<(String, String)>,
}

impl ImportCounts {
    /// Counts one outcome.
    pub fn add(&mut self, what: Imported) {
        match what {
            Imported::Created => self.created += 1,
            Imported::Updated => self.updated += 1,
            Imported::Unchanged => self.unchanged += 1,
        }
    }
}

/// Appends a status to a component's history at `at`, stamped with the write's version.
pub(crate) async fn log_at(
    w: &mut Write<'_>,
    page_id: &str,
    component_id: &str,
    status: ComponentStatus,
    at: DateTime<Utc>,
) -> Result<()> {
    let version = w.version();
    w.tx.execute(
        "INSERT INTO component_status_log (component_id, page_id, status, at, version) VALUES ($1, $2, $3, $4, $5)",
        args![component_id, page_id, status.as_str(), at, version],
    )
    .await?;
    Ok(())
}

/// The ids among `ids` that exist in `table`, with the page each is on.
async fn owners(tx: &mut Tx, table: &'static str, ids: &[&str]) -> Result<HashMap<String, String>> {
    #[derive(sqlx::FromRow)]
    struct Owner {
        id: String,
        page_id: String,
    }
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let mut sql = SqlBuilder::new("SELECT id, page_id FROM ");
        sql.push(table).push(" WHERE id IN ");
        sql.bind_list(chunk.iter().copied());
        let (text, a) = sql.finish();
        let rows: Vec<Owner> = tx.fetch_all(text, a).await?;
        out.extend(rows.into_iter().map(|o| (o.id, o.page_id)));
    }
    Ok(out)
}

/// Refuses `id` when another page already has an object of that id in `table` (ids are
/// kept on import, and one page's import must never take over another's object).
async fn claim(
    w: &mut Write<'_>,
    table: &'static str,
    what: &str,
    id: &str,
    page_id: &PageId,
) -> Result<()> {
    let owner = owners(&mut w.tx, table, &[id]).await?;
    if owner.get(id).is_some_and(|p| p != page_id) {
        return Err(StoreError::Conflict(format!(
            "{what} {id} exists on another page"
        )));
    }
    Ok(())
}

/// Ends the import of one object: its audit entry (`import.<kind>`), the commit, and
/// whether it was new.
async fn finish(
    mut w: Write<'_>,
    (page_id, kind, id): (&PageId, &str, &str),
    changes: serde_json::Value,
    existed: bool,
) -> Result<Imported> {
    w.audit(Some(page_id), &format!("import.{kind}"), kind, id, changes)
        .await?;
    w.commit().await?;
    Ok(if existed {
        Imported::Updated
    } else {
        Imported::Created
    })
}

fn same_component(a: &Component, b: &Component) -> bool {
    a.name == b.name
        && a.description == b.description
        && (a.is_group || a.status == b.status)
        && a.group_id == b.group_id
        && a.is_group == b.is_group
        && a.position == b.position
        && a.showcase == b.showcase
        && a.only_show_if_degraded == b.only_show_if_degraded
        && a.start_date == b.start_date
        && a.created_at == b.created_at
        && a.updated_at == b.updated_at
}

impl Store {
    /// Creates a page with the given id and creation time (the source's), or returns the page
    /// that already has that id.
    pub async fn import_page(
        &self,
        id: &PageId,
        new: &NewPage,
        created_at: DateTime<Utc>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Page, Imported)> {
        if let Some(p) = self.get_page(id).await? {
            return Ok((p, Imported::Unchanged));
        }
        let mut w = Write::begin(self, actor, now).await?;
        let settings = serde_json::to_string(&PageSettings::new_page())
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        w.tx.execute(
            "INSERT INTO pages (id, slug, name, domain, time_zone, settings, hidden, version, created_at, updated_at) \
             VALUES ($1, $2, $3, NULL, $4, $5, FALSE, 1, $6, $7)",
            args![id, &new.slug, &new.name, new.zone.name(), settings, created_at, now],
        )
        .await?;
        w.audit(
            Some(id),
            "page.import",
            "page",
            id.as_str(),
            json!({"name": [null, new.name], "slug": [null, new.slug]}),
        )
        .await?;
        w.commit().await?;
        let page = self.get_page(id).await?.ok_or(StoreError::NotFound)?;
        Ok((page, Imported::Created))
    }

    /// Writes a page's components and groups as the source has them (ids, order, grouping,
    /// settings, status, times), in one transaction. A new component's history starts
    /// operational at its creation time and takes its current status now; incidents imported
    /// afterwards fill in the history between. Groups must come before their components in
    /// `all`, and every `group_id` must name a group in `all` or on the page.
    pub async fn import_components(
        &self,
        page_id: &PageId,
        all: &[Component],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<ImportCounts> {
        let mut counts = ImportCounts::default();
        if all.is_empty() {
            return Ok(counts);
        }
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        w.touch(Touched::Everything);
        let ids: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
        let owners = owners(&mut w.tx, "components", &ids).await?;
        let rows: Vec<ComponentRow> =
            w.tx.fetch_all(
                concat!(
                    "SELECT ",
                    cols!(components),
                    " FROM components WHERE page_id = $1"
                ),
                args![page_id],
            )
            .await?;
        let current = crate::components::rows_to_components(rows)?;
        for c in all {
            match owners.get(&c.id) {
                Some(p) if p != page_id => {
                    counts.skipped.push((
                        c.id.clone(),
                        "the id is taken by a component of another page".to_owned(),
                    ));
                }
                Some(_) => {
                    let Some(before) = current.iter().find(|x| x.id == c.id) else {
                        continue;
                    };
                    if same_component(before, c) {
                        counts.add(Imported::Unchanged);
                        continue;
                    }
                    w.tx.execute(
                        "UPDATE components SET group_id = $2, is_group = $3, name = $4, description = $5, status = $6, \
                           position = $7, showcase = $8, only_show_if_degraded = $9, start_date = $10, created_at = $11, \
                           updated_at = $12 WHERE id = $1",
                        args![
                            &c.id, c.group_id.as_deref(), c.is_group, &c.name, c.description.as_deref(),
                            c.status.as_str(), c.position, c.showcase, c.only_show_if_degraded,
                            c.start_date.map(|d| d.to_string()), c.created_at, c.updated_at
                        ],
                    )
                    .await?;
                    if !c.is_group && before.status != c.status {
                        log_at(&mut w, page_id.as_str(), &c.id, c.status, now).await?;
                    }
                    counts.add(Imported::Updated);
                }
                None => {
                    w.tx.execute(
                        "INSERT INTO components (id, page_id, group_id, is_group, name, description, status, position, showcase, \
                           only_show_if_degraded, start_date, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                        args![
                            &c.id, page_id, c.group_id.as_deref(), c.is_group, &c.name, c.description.as_deref(),
                            c.status.as_str(), c.position, c.showcase, c.only_show_if_degraded,
                            c.start_date.map(|d| d.to_string()), c.created_at, c.updated_at
                        ],
                    )
                    .await?;
                    if !c.is_group {
                        let born = c.created_at.min(now);
                        log_at(
                            &mut w,
                            page_id.as_str(),
                            &c.id,
                            ComponentStatus::Operational,
                            born,
                        )
                        .await?;
                        if c.status != ComponentStatus::Operational {
                            log_at(&mut w, page_id.as_str(), &c.id, c.status, now).await?;
                        }
                    }
                    counts.add(Imported::Created);
                }
            }
        }
        if counts.created + counts.updated == 0 {
            // Nothing changed: the transaction is dropped (rolled back), no version is spent.
            return Ok(counts);
        }
        w.audit(
            Some(page_id),
            "import.components",
            "page",
            page_id.as_str(),
            json!({"created": counts.created, "updated": counts.updated}),
        )
        .await?;
        w.commit().await?;
        Ok(counts)
    }

    /// Writes a template as the source has it (id and times kept); its components must be on
    /// the page.
    pub async fn import_template(
        &self,
        t: &Template,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Imported> {
        let existing = self.get_template(&t.page_id, &t.id).await?;
        if existing.as_ref() == Some(t) {
            return Ok(Imported::Unchanged);
        }
        let mut w = Write::on_page(self, &t.page_id, actor, now).await?;
        w.touch(Touched::Nothing);
        claim(&mut w, "incident_templates", "template", &t.id, &t.page_id).await?;
        let ids = serde_json::to_string(&t.component_ids)
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        w.tx.execute(
            "INSERT INTO incident_templates (id, page_id, name, title, body, group_id, update_status, should_tweet, \
               should_send_notifications, component_ids, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, title = excluded.title, body = excluded.body, \
               group_id = excluded.group_id, update_status = excluded.update_status, should_tweet = excluded.should_tweet, \
               should_send_notifications = excluded.should_send_notifications, component_ids = excluded.component_ids, \
               created_at = excluded.created_at, updated_at = excluded.updated_at",
            args![
                &t.id, &t.page_id, &t.name, &t.title, &t.body, t.group_id.as_deref(),
                t.update_status.map(|s| s.as_str()), t.should_tweet, t.should_send_notifications, ids,
                t.created_at, t.updated_at
            ],
        )
        .await?;
        let what = (&t.page_id, "template", t.id.as_str());
        finish(w, what, json!({"name": [null, t.name]}), existing.is_some()).await
    }

    /// Ids of a page's incidents and maintenances.
    pub async fn incident_ids(&self, page_id: &PageId) -> Result<Vec<String>> {
        let rows: Vec<crate::db::One<String>> = self
            .db
            .read(
                "SELECT id AS v FROM incidents WHERE page_id = $1",
                args![page_id],
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.v).collect())
    }

    /// Ends each component's imported history in its current status: where the last entry
    /// of a component's history (derived from incidents) differs from its status, the status
    /// is logged now. Returns how many components it corrected.
    pub async fn settle_imported_history(
        &self,
        page_id: &PageId,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let far = now + chrono::TimeDelta::days(36_500);
        let log = self.status_log(page_id, far).await?;
        let last: HashMap<&str, ComponentStatus> = log
            .iter()
            .map(|e| (e.component_id.as_str(), e.status))
            .collect();
        let wrong: Vec<Component> = self
            .list_components(page_id)
            .await?
            .into_iter()
            .filter(|c| !c.is_group && last.get(c.id.as_str()) != Some(&c.status))
            .collect();
        if wrong.is_empty() {
            return Ok(0);
        }
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        w.touch(Touched::Everything);
        let at = w.now;
        for c in &wrong {
            log_at(&mut w, page_id.as_str(), &c.id, c.status, at).await?;
        }
        w.commit().await?;
        Ok(wrong.len() as u64)
    }
}
