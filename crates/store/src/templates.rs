//! Incident templates.

use chrono::{DateTime, Utc};
use herald_domain::Invalid;
use herald_domain::actor::Actor;
use herald_domain::clock::from_ms;
use herald_domain::id::PageId;
use herald_domain::template::Template;
use serde_json::json;

use crate::columns::cols;
use crate::components::page_components_tx;
use crate::db::{One, Tx, args};
use crate::write::{Touched, Write};
use crate::{Result, Store, StoreError};

#[derive(sqlx::FromRow)]
struct TemplateRow {
    id: String,
    page_id: String,
    name: String,
    title: String,
    body: String,
    group_id: Option<String>,
    update_status: Option<String>,
    should_tweet: bool,
    should_send_notifications: bool,
    component_ids: String,
    created_at: i64,
    updated_at: i64,
}

impl TemplateRow {
    fn into_template(self) -> Result<Template> {
        Ok(Template {
            update_status: self.update_status.as_deref().and_then(|s| s.parse().ok()),
            component_ids: serde_json::from_str(&self.component_ids).map_err(|e| {
                StoreError::Internal(format!("template {} component_ids: {e}", self.id))
            })?,
            id: self.id,
            page_id: PageId::from(self.page_id),
            name: self.name,
            title: self.title,
            body: self.body,
            group_id: self.group_id,
            should_tweet: self.should_tweet,
            should_send_notifications: self.should_send_notifications,
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
        })
    }
}

/// The ids of a page's templates, inside a write.
pub(crate) async fn template_ids_tx(tx: &mut Tx, page_id: &str) -> Result<Vec<String>> {
    let rows: Vec<One<String>> = tx
        .fetch_all(
            "SELECT id AS v FROM incident_templates WHERE page_id = $1",
            args![page_id],
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.v).collect())
}

/// One template of a page, inside a write.
pub(crate) async fn template_tx(tx: &mut Tx, page_id: &str, id: &str) -> Result<Option<Template>> {
    let row: Option<TemplateRow> = tx
        .fetch_optional(
            concat!(
                "SELECT ",
                cols!(incident_templates),
                " FROM incident_templates WHERE id = $1 AND page_id = $2"
            ),
            args![id, page_id],
        )
        .await?;
    row.map(TemplateRow::into_template).transpose()
}

impl Store {
    /// A page's templates, by name.
    pub async fn list_templates(&self, page_id: &PageId) -> Result<Vec<Template>> {
        let rows: Vec<TemplateRow> = self
            .db
            .read(
                concat!(
                    "SELECT ",
                    cols!(incident_templates),
                    " FROM incident_templates WHERE page_id = $1 ORDER BY name, id"
                ),
                args![page_id],
            )
            .await?;
        rows.into_iter().map(TemplateRow::into_template).collect()
    }

    /// One template.
    pub async fn get_template(&self, page_id: &PageId, id: &str) -> Result<Option<Template>> {
        let row: Option<TemplateRow> = self
            .db
            .read_opt(
                concat!(
                    "SELECT ",
                    cols!(incident_templates),
                    " FROM incident_templates WHERE id = $1 AND page_id = $2"
                ),
                args![id, page_id],
            )
            .await?;
        row.map(TemplateRow::into_template).transpose()
    }

    /// Saves a new template; every component it names must be a component of the page.
    pub async fn create_template(
        &self,
        t: &Template,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Template> {
        let mut w = Write::on_page(self, &t.page_id, actor, now).await?;
        // Not on the public page: only the page row (its version) changes there.
        w.touch(Touched::Nothing);
        let components = page_components_tx(&mut w.tx, &t.page_id).await?;
        for cid in &t.component_ids {
            if !components.iter().any(|c| c.id == *cid && !c.is_group) {
                return Err(Invalid::new(
                    "template.component_ids",
                    format!("template.component_ids: no component {cid:?} on this page"),
                )
                .into());
            }
        }
        let ids = serde_json::to_string(&t.component_ids)
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        w.tx.execute(
            "INSERT INTO incident_templates (id, page_id, name, title, body, group_id, update_status, should_tweet, \
               should_send_notifications, component_ids, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
            args![
                &t.id, &t.page_id, &t.name, &t.title, &t.body, t.group_id.as_deref(),
                t.update_status.map(|s| s.as_str()), t.should_tweet, t.should_send_notifications, ids, now
            ],
        )
        .await?;
        w.audit(
            Some(&t.page_id),
            "template.create",
            "template",
            &t.id,
            json!({"name": [null, t.name]}),
        )
        .await?;
        w.commit().await?;
        self.get_template(&t.page_id, &t.id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Replaces a template's name, title, body and components (its id and page stay).
    pub async fn update_template(
        &self,
        t: &Template,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Template> {
        let before = self
            .get_template(&t.page_id, &t.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut w = Write::on_page(self, &t.page_id, actor, now).await?;
        // Not on the public page: only the page row (its version) changes there.
        w.touch(Touched::Nothing);
        let components = page_components_tx(&mut w.tx, &t.page_id).await?;
        for cid in &t.component_ids {
            if !components.iter().any(|c| c.id == *cid && !c.is_group) {
                return Err(Invalid::new(
                    "template.component_ids",
                    format!("template.component_ids: no component {cid:?} on this page"),
                )
                .into());
            }
        }
        let ids = serde_json::to_string(&t.component_ids)
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        let n = w
            .tx
            .execute(
                "UPDATE incident_templates SET name = $3, title = $4, body = $5, update_status = $6, \
                 should_send_notifications = $7, component_ids = $8, updated_at = $9 WHERE id = $1 AND page_id = $2",
                args![
                    &t.id, &t.page_id, &t.name, &t.title, &t.body,
                    t.update_status.map(|s| s.as_str()), t.should_send_notifications, ids, now
                ],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        w.audit(
            Some(&t.page_id),
            "template.update",
            "template",
            &t.id,
            crate::write::diff(&[
                ("name", json!(before.name), json!(t.name)),
                ("title", json!(before.title), json!(t.title)),
                ("body", json!(before.body), json!(t.body)),
            ]),
        )
        .await?;
        w.commit().await?;
        self.get_template(&t.page_id, &t.id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Deletes a template; returns it as it was.
    pub async fn delete_template(
        &self,
        page_id: &PageId,
        id: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Template> {
        let t = self
            .get_template(page_id, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        // Not on the public page: only the page row (its version) changes there.
        w.touch(Touched::Nothing);
        w.tx.execute(
            "DELETE FROM incident_templates WHERE id = $1 AND page_id = $2",
            args![id, page_id],
        )
        .await?;
        w.audit(
            Some(page_id),
            "template.delete",
            "template",
            id,
            json!({"name": [t.name, null]}),
        )
        .await?;
        w.commit().await?;
        Ok(t)
    }
}
